/**
 * The compiled tier (interpreter/jit.ts) against the reference step interpreter (Machine.exec).
 *
 * Every test runs two machines from the same initial state: one through Machine.run with the JIT,
 * one with `jit = null` (exec only), in slices of seeded random budgets (1, 2, 3, 17, 1000, up to
 * 1e6 steps), and after every slice compares the complete machine state: registers, every stack
 * slot below sp (lo and hi), every frame's locals, frame records, globals, memory, the memory leaf
 * stamps (`mark`), output. Also: snapshot/restore mid-run, traps and limits, random programs.
 *
 * Scale with JIT_DIFF_PROGRAMS (random programs, default 300) and JIT_DIFF_SEED.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { Jit } from "../../interpreter/jit.js";
import { Status, Trap, type Limits } from "../../interpreter/isa.js";
import { Global, instantiate, RefStore } from "../../interpreter/instance.js";
import type { Program } from "../../interpreter/program.js";
import { BUILD_DIR } from "../../wasm-tasks/native.js";
import { encodeInput } from "../../wasm-tasks/btc-headers/encoding.js";
import { embeddedBatch } from "../../wasm-tasks/btc-headers/fixtures.js";
import { generateModule, argSets, Rng } from "../differential/generator.js";
import { loadWabt, WABT_FEATURES_2_0 } from "../spec/script.js";
import { TABLES_PROGRAM } from "../state/programs.js";
import { taskFromWat } from "../state/util.js";

const PROGRAMS = Number(process.env.JIT_DIFF_PROGRAMS ?? 300);
const SEED0 = Number(process.env.JIT_DIFF_SEED ?? 1);

// ------------------------------------------------------------------------------------------------
// State comparison

/** Everything that makes up the machine state, as comparable values. */
function state(m: Machine): Record<string, unknown> {
  const depth = m.depth - 1;
  const hex = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
  return {
    pc: m.pc,
    status: m.status,
    trap: m.trap,
    steps: m.steps,
    sp: m.sp,
    stackLo: Array.from(m.sl.subarray(0, m.sp)),
    stackHi: Array.from(m.sh.subarray(0, m.sp)),
    fp: m.fp,
    nl: m.nl,
    depth: m.depth,
    localsLo: Array.from(m.ll.subarray(0, m.fp + m.nl)),
    localsHi: Array.from(m.lh.subarray(0, m.fp + m.nl)),
    fRet: Array.from(m.fRet.subarray(0, depth)),
    fFp: Array.from(m.fFp.subarray(0, depth)),
    fNl: Array.from(m.fNl.subarray(0, depth)),
    globalsLo: Array.from(m.env.globalsLo),
    globalsHi: Array.from(m.env.globalsHi),
    memoryLength: m.memoryBytes().length,
    memory: hashBytes(m.memoryBytes()),
    markLength: m.mark.length,
    mark: hashBytes(new Uint8Array(m.mark.buffer, m.mark.byteOffset, m.mark.byteLength)),
    epoch: m.epoch,
    output: hex(m.output()),
    outLen: m.outLen,
    exitCode: m.exitCode,
    tables: m.env.tables.map((t) => t.elements.join()),
    elemSegs: m.env.elemSegs.map((s) => s.length),
    dataSegs: m.env.dataSegs.map((s) => s.length),
  };
}

/** A cheap, collision-resistant-enough digest for large arrays (differences are then located). */
function hashBytes(b: Uint8Array): string {
  let h1 = 0x811c9dc5 | 0, h2 = 0x12345678 | 0;
  const n = b.length;
  const w = new Int32Array(b.buffer, b.byteOffset, n >>> 2);
  for (let i = 0; i < w.length; i++) {
    h1 = Math.imul(h1 ^ w[i], 0x01000193);
    h2 = Math.imul(h2 + w[i], 0x5bd1e995) ^ (h2 >>> 13);
  }
  for (let i = w.length << 2; i < n; i++) h1 = Math.imul(h1 ^ b[i], 0x01000193);
  return `${n}:${(h1 >>> 0).toString(16)}:${(h2 >>> 0).toString(16)}`;
}

function firstMemDiff(a: Uint8Array, b: Uint8Array): string {
  if (a.length !== b.length) return `memory length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `memory first differs at 0x${i.toString(16)}: jit ${a[i]} exec ${b[i]}`;
  return "memory equal";
}

function expectSame(jit: Machine, ref: Machine, where: string): void {
  const a = state(jit), b = state(ref);
  for (const k of Object.keys(b)) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) {
      const extra = k === "memory" ? ` (${firstMemDiff(jit.memoryBytes(), ref.memoryBytes())})` : "";
      expect.fail(`${where}: ${k} differs${extra}\n jit:  ${JSON.stringify(a[k]).slice(0, 400)}\n exec: ${JSON.stringify(b[k]).slice(0, 400)}\n(pc jit ${jit.pc} exec ${ref.pc}, steps ${ref.steps})`);
    }
  }
}

/** An eagerly compiled Jit per program (Jit.for would leave short runs to exec: warm-up). */
const eagerJits = new Map<Program, Jit>();
function eager(program: Program): Jit {
  let j = eagerJits.get(program);
  if (!j) eagerJits.set(program, (j = new Jit(program)));
  return j;
}

/** Seeded budgets: the fixed small ones often, random ones up to 1e6 otherwise. */
function budgetStream(rng: Rng, max = 1e6): () => number {
  const fixed = [1, 2, 3, 17, 1000];
  return () => (rng.chance(0.5) ? rng.pick(fixed) : 1 + rng.int(rng.chance(0.5) ? 5000 : max));
}

/**
 * Runs `jit` (JIT) and `ref` (exec only) in the same random slices until both stop, comparing
 * after every slice. Occasionally bumps the epoch (as a snapshot does) and, when `restore` is
 * set, replaces the JIT machine by a snapshot-restored copy of itself. Returns the JIT machine.
 */
function lockstep(jit: Machine, ref: Machine, rng: Rng, label: string, opts: { restore?: boolean; maxSlices?: number; max?: number } = {}): Machine {
  ref.jit = null;
  jit.jit ??= eager(jit.program);
  const next = budgetStream(rng, opts.max);
  let slices = 0;
  expectSame(jit, ref, `${label} initial`);
  while (ref.status === Status.Running || jit.status === Status.Running) {
    const budget = next();
    const na = jit.run(budget);
    const nb = ref.run(budget);
    slices++;
    expect(na, `${label}: steps run in slice ${slices} (budget ${budget})`).toBe(nb);
    expectSame(jit, ref, `${label} after slice ${slices} (budget ${budget})`);
    if (rng.chance(0.05)) {
      jit.nextEpoch();
      ref.nextEpoch();
    }
    if (opts.restore && rng.chance(0.04)) {
      // Both continue from restored copies (a restored machine starts a new epoch and stamp map).
      const j: Jit | null | undefined = jit.jit;
      jit = Machine.restore(jit.snapshot());
      jit.jit = j;
      ref = Machine.restore(ref.snapshot());
      ref.jit = null;
      expectSame(jit, ref, `${label} after restore at slice ${slices}`);
    }
    if (opts.maxSlices !== undefined && slices >= opts.maxSlices) break;
  }
  return jit;
}

// ------------------------------------------------------------------------------------------------
// Tasks

const tasks = existsSync(BUILD_DIR)
  ? readdirSync(BUILD_DIR)
      .filter((f) => f.endsWith(".wasm"))
      .map((f) => f.slice(0, -".wasm".length))
      .sort()
  : [];

const programs = new Map<string, Program>();
function taskProgram(name: string): Program {
  let p = programs.get(name);
  if (!p) programs.set(name, (p = compile(new Uint8Array(readFileSync(join(BUILD_DIR, `${name}.wasm`))), { imports: "task" })));
  return p;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function btcInputs(): [string, Uint8Array][] {
  const { checkpoint: cp, headers: embedded } = embeddedBatch();
  const all = new Uint8Array(Buffer.concat(embedded)); // Uint8Array: slice() copies, the corruptions below stay local
  const headers = (n: number) => all.slice(0, 80 * n);
  const bad = headers(12);
  bad[80 * 5 + 10] ^= 1;
  return [
    ["3 headers", encodeInput(cp, headers(3))],
    ["8 headers, compact", encodeInput(cp, headers(8), { compact: true })],
    ["12 headers, bad link", encodeInput(cp, bad)],
    ["truncated", encodeInput(cp, headers(3)).subarray(0, 200)],
  ];
}

function taskInputs(name: string, rng: Rng): [string, Uint8Array][] {
  const generic: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["37 random bytes", randomBytes(rng, 37)],
    ["400 random bytes", randomBytes(rng, 400)],
  ];
  switch (name) {
    case "sha256d":
      return [0, 1, 3, 6].map((n) => [`${n} messages`, randomBytes(rng, 80 * n)]);
    case "trap":
      return Array.from({ length: 13 }, (_, k) => [`selector ${k}`, Uint8Array.of(k, ...randomBytes(rng, rng.int(4)))]);
    case "btc-headers":
      return [...btcInputs(), ["random", randomBytes(rng, 300)]];
    default:
      return generic;
  }
}

describe("JIT vs exec on the tasks", () => {
  test("tasks are built", () => {
    expect(tasks.length, `no task in ${BUILD_DIR}: run \`npm run build:tasks\` first`).toBeGreaterThan(0);
  });

  for (const name of tasks) {
    test(`${name}: every function compiles`, () => {
      const jit = new Jit(taskProgram(name));
      expect([...jit.skippedReasons]).toEqual([]);
      expect(jit.compiled).toBeGreaterThan(0);
    });

    test(`${name}: random slices, state identical after every slice`, { timeout: 600_000 }, () => {
      const rng = new Rng(0x5eed ^ name.length);
      const program = taskProgram(name);
      const before = eager(program).stepsRun;
      let total = 0;
      for (const [label, input] of taskInputs(name, rng)) {
        const a = Machine.forTask(program, input);
        const b = Machine.forTask(program, input);
        const end = lockstep(a, b, rng, `${name} ${label}`, { restore: true });
        expect(end.status).not.toBe(Status.Running);
        total += b.steps;
      }
      // the compiled code did most of the work (exec only fills in around slice ends)
      const jit = eager(program);
      expect(jit.stepsRun - before, `${name}: steps run by compiled code`).toBeGreaterThan(total * 0.3);
    });
  }

  test("sha256d: whole run in one slice and in big slices (the benchmark input size)", { timeout: 600_000 }, () => {
    if (!tasks.includes("sha256d")) return;
    const program = taskProgram("sha256d");
    const rng = new Rng(99);
    const input = randomBytes(rng, 80 * 200);
    const a = Machine.forTask(program, input);
    const b = Machine.forTask(program, input);
    a.jit = eager(program);
    b.jit = null;
    expect(a.run()).toBe(b.run());
    expectSame(a, b, "sha256d one slice");
    const c = Machine.forTask(program, input);
    const d = Machine.forTask(program, input);
    lockstep(c, d, rng, "sha256d big slices", { max: 3e6 });
  });

  test("Jit.for: exec during the warm-up, then compiled code, same states", { timeout: 600_000 }, () => {
    if (!tasks.includes("sha256d")) return;
    const program = compile(new Uint8Array(readFileSync(join(BUILD_DIR, "sha256d.wasm"))), { imports: "task" }); // its own Program: a fresh cache entry
    const jit = Jit.for(program, 30_000);
    expect(jit.compiled).toBe(0);
    const rng = new Rng(17);
    const a = Machine.forTask(program, randomBytes(rng, 80 * 4));
    const b = Machine.forTask(program, randomBytes(new Rng(17), 80 * 4));
    expect(a.run(25_000)).toBe(25_000);
    expect(jit.compiled, "not compiled during the warm-up").toBe(0);
    b.jit = null;
    b.run(25_000);
    expectSame(a, b, "after the warm-up");
    lockstep(a, b, rng, "sha256d after warm-up", { max: 200_000 });
    expect(jit.compiled).toBeGreaterThan(0);
    expect(jit.stepsRun).toBeGreaterThan(0);
    expect(Jit.for(program)).toBe(jit);
  });

  test("tiny regions (region switches everywhere): sha256d, btc-headers, sort", { timeout: 600_000 }, () => {
    for (const name of ["sha256d", "btc-headers", "sort"]) {
      if (!tasks.includes(name)) continue;
      const program = taskProgram(name);
      const jit = new Jit(program, { regionSize: 60 });
      expect([...jit.skippedReasons]).toEqual([]);
      expect(jit.regionCount).toBeGreaterThan(program.funcs.filter((f) => f.entry >= 0).length);
      const rng = new Rng(0x7e9 ^ name.length);
      for (const [label, input] of taskInputs(name, rng).slice(0, 3)) {
        const a = Machine.forTask(program, input);
        const b = Machine.forTask(program, input);
        a.jit = jit;
        lockstep(a, b, rng, `${name} ${label} (tiny regions)`, { restore: true });
      }
    }
  });

  test("single steps through a task (step())", () => {
    const program = taskProgram(tasks.includes("sort") ? "sort" : tasks[0]);
    const rng = new Rng(5);
    const a = Machine.forTask(program, randomBytes(rng, 64));
    const b = Machine.forTask(program, randomBytes(new Rng(5), 64));
    a.jit = eager(program);
    b.jit = null;
    for (let i = 0; i < 5000 && b.status === Status.Running; i++) {
      a.step();
      b.step();
      if (i % 97 === 0) expectSame(a, b, `step ${i}`);
    }
    expectSame(a, b, "after single steps");
  });
});

// ------------------------------------------------------------------------------------------------
// Traps and limits

describe("JIT vs exec: traps and limits", () => {
  const limitCases: [string, Partial<Limits>][] = [
    ["callDepth 2", { callDepth: 2 }],
    ["callDepth 3", { callDepth: 3 }],
    ["callDepth 7", { callDepth: 7 }],
    ["callDepth 40", { callDepth: 40 }],
    ["stackHeight 4", { stackHeight: 4 }],
    ["stackHeight 12", { stackHeight: 12 }],
    ["stackHeight 40", { stackHeight: 40 }],
    ["steps 1", { steps: 1 }],
    ["steps 777", { steps: 777 }],
    ["steps 20000", { steps: 20000 }],
    ["outputBytes 0", { outputBytes: 0 }],
    ["outputBytes 5", { outputBytes: 5 }],
    ["memoryPages 1", { memoryPages: 1 }],
    ["memoryPages 2", { memoryPages: 2 }],
  ];
  for (const name of ["trap", "sort", "echo", "sha256d", "bigint", "btc-headers"]) {
    test(`${name} under tight limits`, { timeout: 600_000 }, () => {
      if (!tasks.includes(name)) return;
      const program = taskProgram(name);
      const rng = new Rng(0xdead ^ name.length);
      const inputs = taskInputs(name, rng).slice(0, name === "trap" ? 13 : 2);
      for (const [lname, limits] of limitCases) {
        for (const [label, input] of inputs) {
          let a: Machine, b: Machine;
          try {
            a = Machine.forTask(program, input, limits);
            b = Machine.forTask(program, input, limits);
          } catch {
            continue; // e.g. initial memory above the page limit: not runnable at all
          }
          lockstep(a, b, rng, `${name} ${label} ${lname}`, { max: 20000 });
        }
      }
    });
  }

  test("the trap task reaches every trap kind through the JIT", () => {
    if (!tasks.includes("trap")) return;
    const program = taskProgram("trap");
    const kinds = new Set<number>();
    for (let k = 0; k < 13; k++) {
      const a = Machine.forTask(program, Uint8Array.of(k, 0, 0, 0));
      a.jit = eager(program);
      a.run();
      kinds.add(a.trap);
    }
    for (const t of [Trap.Unreachable, Trap.IntegerDivideByZero, Trap.IntegerOverflow, Trap.OutOfBoundsMemory, Trap.Abort, Trap.CallStackExhausted, Trap.InputOutOfBounds, Trap.OutputLimit])
      expect(kinds.has(t) || (t === Trap.CallStackExhausted && kinds.has(Trap.ValueStackExhausted)), `trap ${t}`).toBe(true);
  });

  test("deep recursion: JS stack budget yields keep exact state (trap task, selector 6, default limits)", { timeout: 600_000 }, () => {
    if (!tasks.includes("trap")) return;
    const program = taskProgram("trap");
    const a = Machine.forTask(program, Uint8Array.of(6));
    const b = Machine.forTask(program, Uint8Array.of(6));
    a.jit = eager(program);
    b.jit = null;
    expect(a.run()).toBe(b.run());
    expectSame(a, b, "recursion to exhaustion");
    expect([Trap.CallStackExhausted, Trap.ValueStackExhausted]).toContain(a.trap);
  });
});

// ------------------------------------------------------------------------------------------------
// Random programs (test/differential/generator.ts)

describe("JIT vs exec on random programs", () => {
  test(`${PROGRAMS} generated modules, every export called, random slices`, { timeout: 1_200_000 }, () => {
    let calls = 0, traps = 0, compiledFns = 0, skippedFns = 0;
    for (let seed = SEED0; seed < SEED0 + PROGRAMS; seed++) {
      const gen = generateModule(seed);
      const program = compile(gen.bytes);
      // every third module with tiny regions: many region switches inside functions
      const jit = seed % 3 === 0 ? new Jit(program, { regionSize: 8 + (seed % 40) }) : eager(program);
      compiledFns += jit.compiled;
      skippedFns += jit.skipped;
      expect([...jit.skippedReasons].filter(([, why]) => why.startsWith("codegen")), `seed ${seed}: codegen failures`).toEqual([]);
      let ia, ib;
      try {
        ia = instantiate(program, undefined, { steps: 5_000_000 }, new RefStore());
        ib = instantiate(program, undefined, { steps: 5_000_000 }, new RefStore());
      } catch {
        continue; // a trapping start function: covered by the call tests below on other seeds
      }
      const rng = new Rng(seed * 7919);
      for (const f of gen.funcs) {
        const info = program.funcs[f.index];
        for (const args of argSets(seed, f, 2)) {
          const a = new Machine(program, ia.env);
          const b = new Machine(program, ib.env);
          a.jit = jit;
          a.reset(info.stub, args, f.params);
          b.reset(info.stub, args, f.params);
          const end = lockstep(a, b, rng, `seed ${seed} ${f.name}(${args.join(", ")})`, { restore: false, max: 5000 });
          calls++;
          if (end.status === Status.Trapped) traps++;
        }
      }
    }
    expect(calls).toBeGreaterThan(0);
    expect(compiledFns).toBeGreaterThan(skippedFns);
    console.log(`jit random programs: ${PROGRAMS} modules, ${calls} calls (${traps} trapped), ${compiledFns} functions compiled, ${skippedFns} left to exec`);
  });
});

// ------------------------------------------------------------------------------------------------
// Hand-written modules for the paths random programs rarely take

async function wat(text: string): Promise<Uint8Array> {
  const wabt = await loadWabt();
  const mod = wabt.parseWat("t.wat", text, WABT_FEATURES_2_0);
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/** Calls export `name` on two instances (JIT, exec) in lockstep slices. */
function lockstepCall(program: Program, imports: Parameters<typeof instantiate>[1], limits: Partial<Limits>, name: string, args: bigint[], seed: number): Machine {
  // each instance its own reference store: the same values in both (function f is f + 1)
  const ia = instantiate(program, imports, limits, new RefStore());
  const ib = instantiate(program, imports, limits, new RefStore());
  const e = program.exports.find((x) => x.name === name)!;
  const f = program.funcs[e.index];
  const types = program.types[f.typeIndex].params;
  const a = new Machine(program, ia.env);
  const b = new Machine(program, ib.env);
  a.jit = eager(program);
  a.reset(f.stub, args, types);
  b.reset(f.stub, args, types);
  return lockstep(a, b, new Rng(seed), `${name}(${args.join(", ")})`, { restore: false });
}

describe("JIT vs exec: hand-written edge cases", () => {
  test("tables, segments, references and multi-value (left to exec or compiled around them)", async () => {
    // the state tests' program of every table and segment instruction, as a task
    const tables = Machine.forTask(await taskFromWat(TABLES_PROGRAM.wat), new Uint8Array(0), {});
    const tablesRef = Machine.forTask(tables.program, new Uint8Array(0), {});
    tables.jit = eager(tables.program);
    expect(lockstep(tables, tablesRef, new Rng(7), "tables program").status).toBe(Status.Halted);
    // hot loops around them: a compiled caller of multi-result functions, table ops in a loop
    const bytes = await wat(`(module (memory 1)
      (type $v2i (func (result i32))) (type $pair (func (param i32) (result i32 i64)))
      (table $t 4 funcref) (table $u 4 64 funcref)
      (elem (table $t) (i32.const 0) func $one $two $pair)
      (elem $seg funcref (ref.func $one) (ref.null func) (ref.func $two))
      (data $d "abcdefghijklmnopqrstuvwxyz")
      (func $one (result i32) (i32.const 1))
      (func $two (result i32) (i32.const 2))
      (func $pair (param i32) (result i32 i64)
        (block $b (result i32 i64) (i32.const 5) (local.get 0) (i64.extend_i32_u (local.get 0)) (br_if $b (local.get 0)) (drop) (drop) (drop)
          (i32.const 9) (i64.const 9)))
      (func (export "run") (param i32) (result i64)
        (local $i i32) (local $acc i64) (local $x i32) (local $y i64)
        (loop $l
          (call $pair (i32.rem_u (local.get $i) (i32.const 3)))
          (local.set $y) (local.set $x)
          (local.set $acc (i64.add (local.get $acc) (i64.add (local.get $y) (i64.extend_i32_u (local.get $x)))))
          (drop (table.grow $u (ref.func $one) (i32.const 1)))
          (table.set $u (i32.rem_u (local.get $i) (table.size $u)) (table.get $t (i32.rem_u (local.get $i) (i32.const 2))))
          (table.init $u $seg (i32.const 0) (i32.const 0) (i32.const 3))
          (table.copy $t $u (i32.const 1) (i32.const 2) (i32.const 1))
          (table.fill $u (i32.const 3) (ref.null func) (i32.rem_u (local.get $i) (i32.const 2)))
          (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (call_indirect $t (type $v2i) (i32.rem_u (local.get $i) (i32.const 2))))))
          (memory.init $d (i32.mul (local.get $i) (i32.const 7)) (i32.const 3) (i32.const 20))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
        (local.get $acc)))`);
    const program = compile(bytes, { imports: "embed" });
    const jit = eager(program);
    expect([...jit.skippedReasons.entries()].map(([f, why]) => `${f}: ${why}`)).toEqual([`${program.funcs.findIndex((f) => program.types[f.typeIndex].results.length === 2)}: analysis: multi-value`]);
    for (const [n, seed] of [[3n, 1], [16n, 2]] as const) {
      const end = lockstepCall(program, undefined, {}, "run", [n], seed);
      expect(end.status, `run(${n})`).toBe(Status.Halted);
    }
  });

  test("callee with too many params is left to exec; deep recursion with many i64 locals", async () => {
    const params = Array.from({ length: 130 }, () => "i32").join(" ");
    const args = Array.from({ length: 130 }, (_, i) => `(i32.const ${i})`).join(" ");
    const locals = Array.from({ length: 300 }, () => "i64").join(" ");
    let body = "";
    for (let i = 0; i < 300; i++) body += `(local.set ${i + 1} (i64.add (local.get ${i}) (i64.const ${i * 7919})))\n`;
    const bytes = await wat(`(module
      (func $wide (param ${params}) (result i32) (i32.add (local.get 0) (local.get 129)))
      (func (export "callwide") (param i32) (result i32)
        (local $i i32) (local $s i32)
        (loop $l (local.set $s (i32.add (local.get $s) (call $wide ${args})))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
        (local.get $s))
      (func $deep (export "deep") (param i64) (result i64) (local ${locals})
        ${body}
        (if (result i64) (i64.eqz (local.get 0)) (then (local.get 300))
          (else (i64.add (local.get 300) (call $deep (i64.sub (local.get 0) (i64.const 1))))))))`);
    const program = compile(bytes, { imports: "embed" });
    const jit = eager(program);
    expect([...jit.skippedReasons.values()].join()).toMatch(/too many params/);
    lockstepCall(program, undefined, {}, "callwide", [50n], 1);
    const end = lockstepCall(program, undefined, { callDepth: 5000, stackHeight: 1 << 20 }, "deep", [3000n], 2);
    expect(end.status).toBe(Status.Halted);
    const ex = lockstepCall(program, undefined, { callDepth: 700 }, "deep", [3000n], 3);
    expect(ex.trap).toBe(Trap.CallStackExhausted);
  });

  test("host calls, imported globals, call_indirect to a host function, memory.grow, bulk memory", async () => {
    const bytes = await wat(`(module
      (import "env" "f" (func $f (param i32) (result i32)))
      (import "env" "g" (global $g (mut i64)))
      (type $t (func (param i32) (result i32)))
      (table 4 funcref)
      (elem (i32.const 0) $f $sq $f)
      (memory 1 4)
      (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
      (func (export "run") (param i32) (result i64)
        (local $i i32) (local $acc i64)
        (loop $l
          (local.set $acc (i64.add (local.get $acc)
            (i64.extend_i32_u (call_indirect (type $t) (local.get $i) (i32.rem_u (local.get $i) (i32.const 3))))))
          (global.set $g (i64.add (global.get $g) (local.get $acc)))
          (i32.store offset=3 (i32.mul (local.get $i) (i32.const 13)) (call $f (local.get $i)))
          (if (i32.eq (i32.rem_u (local.get $i) (i32.const 7)) (i32.const 6)) (then (drop (memory.grow (i32.const 1)))))
          (memory.fill (i32.mul (local.get $i) (i32.const 100)) (local.get $i) (i32.const 77))
          (memory.copy (i32.const 5) (i32.mul (local.get $i) (i32.const 50)) (i32.const 300))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
        (i64.add (local.get $acc) (i64.extend_i32_u (memory.size)))))`);
    const program = compile(bytes, { imports: "embed" });
    const mkImports = () => {
      const g = new Global("i64", true, 5n);
      return (m: string, n: string) =>
        n === "f"
          ? { type: { params: ["i32" as const], results: ["i32" as const] }, call: (a: bigint[]) => [BigInt.asIntN(32, a[0] * 3n + 1n)] }
          : n === "g"
            ? g
            : undefined;
    };
    for (const [n, seed] of [[5n, 1], [40n, 2], [400n, 3]] as const) {
      const ia = instantiate(program, mkImports(), {}, new RefStore());
      const ib = instantiate(program, mkImports(), {}, new RefStore());
      const e = program.exports.find((x) => x.name === "run")!;
      const f = program.funcs[e.index];
      const a = new Machine(program, ia.env);
      const b = new Machine(program, ib.env);
      a.jit = eager(program);
      a.reset(f.stub, [n], ["i32"]);
      b.reset(f.stub, [n], ["i32"]);
      const end = lockstep(a, b, new Rng(seed), `run(${n})`);
      expect(end.status, `run(${n})`).not.toBe(Status.Running);
    }
  });
});
