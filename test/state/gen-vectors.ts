/**
 * Generates test/vectors/step-vectors.json: (preRoot, witness, postRoot) cases for the Solidity
 * prover to replay (docs/STATE.md §7), covering every lowered opcode with edge operands, every trap,
 * memory growth, bulk memory, host I/O, calls, halting and steps on terminal states.
 *
 *   tsx test/state/gen-vectors.ts            writes the file
 *   tsx test/state/gen-vectors.ts --check    exits 1 if the committed file differs
 *
 * Deterministic: the same sources give the same bytes (test/state/vectors.test.ts checks it).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { OPCODE_NAMES } from "../../interpreter/decode.js";
import { Op, Status, TRAP_MESSAGES } from "../../interpreter/isa.js";
import { Machine } from "../../interpreter/machine.js";
import { stateRoot } from "../../interpreter/state.js";
import { witness } from "../../interpreter/witness.js";
import { POPS } from "../../interpreter/verify.js";
import {
  BULK_PROGRAM,
  CALLS_PROGRAM,
  EXIT_PROGRAM,
  GROW_MAX_PROGRAM,
  TABLES_PROGRAM,
  TABLE_TRAP_PROGRAMS,
  GROW_PROGRAM,
  I32_BIN,
  I32_UN,
  I64_BIN,
  I64_UN,
  IO_PROGRAM,
  MEMORY_PROGRAM,
  task,
  TRAP_PROGRAMS,
  unaryProgram,
  type TestProgram,
} from "./programs.js";
import { hexOf, opName, taskFromWat } from "./util.js";
import { FLOAT_MEMORY_PROGRAM, FLOAT_TRAP_PROGRAMS, floatVectorPrograms } from "../float/programs.js";

export const VECTORS_FILE = join(dirname(fileURLToPath(import.meta.url)), "../vectors/step-vectors.json");

export interface StepVector {
  program: string;
  step: number; // steps taken before this one
  op: string; // opcode at pc, hex
  opName: string;
  note: string;
  preRoot: string;
  witness: string;
  postRoot: string;
}

export interface VectorFile {
  version: 1;
  spec: string;
  generator: string;
  cases: StepVector[];
}

// Edge operands kept for the vectors (the property tests use more).
const V32 = [0n, 1n, 0xffffffffn, 0x80000000n, 0x7fffffffn, 31n, 32n, 33n];
const V64 = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 63n, 64n, 65n];
const PAIRS = (e: bigint[]) => [
  [e[0], e[0]], [e[1], e[2]], [e[2], e[1]], [e[3], e[2]], [e[4], e[1]], [e[3], e[4]], [e[2], e[2]], [e[4], e[5]], [e[2], e[6]], [e[1], e[7]], [e[3], e[0]],
];

function pairProgram(op: string): TestProgram {
  const is64 = op.startsWith("i64");
  const t = is64 ? "i64" : "i32";
  const pairs = PAIRS(is64 ? V64 : V32);
  const div = /div|rem/.test(op);
  const body = pairs
    .filter(([, b]) => !(div && b === 0n))
    .filter(([a, b]) => !(op.endsWith("div_s") && a === (is64 ? V64[3] : V32[3]) && b === (is64 ? V64[2] : V32[2])))
    .map(([a, b]) => `(drop (${op} (${t}.const ${is64 ? BigInt.asIntN(64, a) : BigInt.asIntN(32, a)}) (${t}.const ${is64 ? BigInt.asIntN(64, b) : BigInt.asIntN(32, b)})))`)
    .join("\n");
  return { name: `bin ${op}`, wat: task(body), expect: "halt" };
}

/** Which steps of a program become vectors. */
type Picker = (op: number, m: Machine, seen: Map<string, number>) => boolean;

const NOISE = new Set<number>([Op.I32Const, Op.I64Const, Op.Drop]);
/** At most `max` steps per opcode (2 for constants and drops). */
const interesting = (max: number): Picker => (op, m, seen) => {
  const key = `${op}`;
  const n = seen.get(key) ?? 0;
  seen.set(key, n + 1);
  return n < (NOISE.has(op) ? 2 : max);
};

function describeStep(m: Machine, op: number): string {
  if (m.status !== Status.Running) return m.status === Status.Halted ? "step on a halted state" : "step on a trapped state";
  if (m.steps >= m.limits.steps) return "step limit reached";
  const k = Math.max(POPS[op], 0);
  const vals = Array.from({ length: k }, (_, i) => "0x" + m.peek(k - 1 - i).toString(16));
  const code = m.program.code;
  const imm = [code[4 * m.pc + 1], code[4 * m.pc + 2], code[4 * m.pc + 3]];
  return `${opName(op)}${imm.some((x) => x !== 0) ? ` imm ${imm.join(",")}` : ""}${vals.length ? ` operands ${vals.join(" ")}` : ""}`;
}

async function vectorsOf(p: TestProgram, pick: Picker, out: StepVector[], terminal = true): Promise<void> {
  const m = Machine.forTask(await taskFromWat(p.wat), p.input ?? new Uint8Array(0), p.limits ?? {});
  const seen = new Map<string, number>();
  let pre = stateRoot(m);
  for (let guard = 0; guard < 100000; guard++) {
    const op = m.program.code[4 * m.pc];
    const ended = m.status !== Status.Running;
    const take = (ended && terminal) || (!ended && pick(op, m, seen));
    const note = take ? describeStep(m, op) : "";
    const w = take ? witness(m) : null;
    const step = m.steps;
    m.step();
    const post = stateRoot(m);
    if (take) {
      let outcome = "";
      if (!ended && m.status === Status.Trapped) outcome = ` -> trap ${m.trap} (${TRAP_MESSAGES[m.trap]})`;
      else if (!ended && m.status === Status.Halted) outcome = " -> halted";
      out.push({ program: p.name, step, op: "0x" + op.toString(16).padStart(2, "0"), opName: opName(op), note: note + outcome, preRoot: hexOf(pre), witness: hexOf(w!), postRoot: hexOf(post) });
    }
    pre = post;
    if (ended) return;
  }
  throw new Error(`${p.name}: did not end`);
}

export async function generateVectors(): Promise<VectorFile> {
  const cases: StepVector[] = [];
  const numericPick = (name: string): Picker => {
    const opcode = OPCODE_NAMES.indexOf(name);
    return (op) => op === opcode;
  };
  for (const op of [...I32_BIN, ...I64_BIN]) await vectorsOf(pairProgram(op), numericPick(op), cases, false);
  for (const op of [...I32_UN, ...I64_UN]) {
    await vectorsOf(unaryProgram(op, 6), numericPick(op), cases, false);
  }
  await vectorsOf(MEMORY_PROGRAM, interesting(6), cases);
  await vectorsOf(GROW_PROGRAM, interesting(12), cases);
  await vectorsOf(GROW_MAX_PROGRAM, interesting(8), cases);
  await vectorsOf(BULK_PROGRAM, interesting(24), cases);
  await vectorsOf(IO_PROGRAM, interesting(16), cases);
  await vectorsOf(CALLS_PROGRAM, interesting(4), cases);
  await vectorsOf(EXIT_PROGRAM, interesting(2), cases);
  await vectorsOf(TABLES_PROGRAM, interesting(12), cases);
  // floats (test/float/programs.ts): every float instruction on a few edge operands, float memory
  for (const { program, op: opcode } of floatVectorPrograms()) await vectorsOf(program, (op) => op === opcode, cases, false);
  await vectorsOf(FLOAT_MEMORY_PROGRAM, interesting(4), cases);
  for (const p of [...TRAP_PROGRAMS, ...TABLE_TRAP_PROGRAMS, ...FLOAT_TRAP_PROGRAMS]) {
    // the trapping step (and the step on the trapped state), plus one of each interesting opcode
    await vectorsOf(p, (op, m, seen) => {
      const key = `${op}`;
      if (seen.has(key) || NOISE.has(op)) return false;
      seen.set(key, 1);
      return true;
    }, cases);
  }
  return {
    version: 1,
    spec: "docs/STATE.md",
    generator: "tsx test/state/gen-vectors.ts",
    cases,
  };
}

/** One case per line: stable, diff-friendly. */
export function formatVectors(v: VectorFile): string {
  const head = JSON.stringify({ version: v.version, spec: v.spec, generator: v.generator, count: v.cases.length });
  return head.slice(0, -1) + `,"cases":[\n` + v.cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]}\n";
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = formatVectors(await generateVectors());
  if (process.argv.includes("--check")) {
    const old = readFileSync(VECTORS_FILE, "utf8");
    if (old !== text) {
      console.error(`${VECTORS_FILE} is stale: run tsx test/state/gen-vectors.ts`);
      process.exit(1);
    }
    console.log("vectors up to date");
  } else {
    writeFileSync(VECTORS_FILE, text);
    console.log(`wrote ${VECTORS_FILE}: ${JSON.parse(text).cases.length} cases, ${(text.length / 1024).toFixed(0)} KiB`);
  }
}
