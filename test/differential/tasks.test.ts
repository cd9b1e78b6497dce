/**
 * Differential test on the real task programs: every built AssemblyScript task
 * (wasm-tasks/build/*.wasm) runs natively on V8 (wasm-tasks/native.ts, the same host interface in
 * JavaScript) and on our machine (Machine.forTask), on a few inputs each. Trap-or-halt must agree;
 * on halt the output bytes and the final memory must be identical; on trap the trap kind must agree
 * (stack exhaustion may be reported as call-stack or value-stack exhaustion: native depth differs).
 * Each input runs in every machine mode (see Mode below), which must also agree on the step count.
 *
 * Env: DIFF_TASK_INPUTS (random inputs per task, default 5), DIFF_TASK_FULL=1 (btc-headers on the
 * whole embedded 2,016-header fixture instead of slices of it), DIFF_MODES (e.g. "exec").
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { Status, Trap, TRAP_MESSAGES } from "../../interpreter/isa.js";
import { BUILD_DIR, runNative, TaskTrap } from "../../wasm-tasks/native.js";
import { encodeInput } from "../../wasm-tasks/btc-headers/encoding.js";
import { embeddedBatch } from "../../wasm-tasks/btc-headers/fixtures.js";
import { Rng } from "./generator.js";
import { importsWasi } from "../../interpreter/wasi.js";

const RANDOM_INPUTS = Number(process.env.DIFF_TASK_INPUTS ?? 5);
const FULL = process.env.DIFF_TASK_FULL === "1";
const STEP_LIMIT = 2_000_000_000;
const TASKS_DIR = join(BUILD_DIR, "..");

// WASI tasks (wasm-tasks/stats) run under node:wasi, not this host: test/wasi/wasi.test.ts compares them
const tasks = existsSync(BUILD_DIR)
  ? readdirSync(BUILD_DIR)
      .filter((f) => f.endsWith(".wasm") && !importsWasi(new Uint8Array(readFileSync(join(BUILD_DIR, f)))))
      .map((f) => f.slice(0, -".wasm".length))
      .sort()
  : [];

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.chance(0.2) ? rng.pick([0, 0xff, 0x80, 0x7f]) : rng.int(256);
  return b;
}

/** Inputs that mean something for a given task, besides the generic random ones. */
function specificInputs(name: string, rng: Rng): [string, Uint8Array][] {
  switch (name) {
    case "trap": // byte 0 selects the trap
      return Array.from({ length: 14 }, (_, k) => [`select ${k}`, Uint8Array.of(k, ...randomBytes(rng, rng.int(4)))]);
    case "sha256d": // whole 80-byte messages (other lengths abort)
      return [0, 1, 2, 7].map((n) => [`${n} messages`, randomBytes(rng, 80 * n)]);
    case "sort":
      return [
        ["sorted", new Uint8Array(new Uint32Array(Array.from({ length: 50 }, (_, i) => i * 7)).buffer)],
        ["reversed + tail", Uint8Array.of(...new Uint8Array(new Uint32Array(Array.from({ length: 33 }, (_, i) => 1000 - i)).buffer), 1, 2, 3)],
      ];
    case "btc-headers":
      return btcInputs();
    default:
      return [];
  }
}

/** Slices of the embedded mainnet fixture, valid and corrupted, full and compact encodings. */
function btcInputs(): [string, Uint8Array][] {
  const { checkpoint: cp, headers: embedded } = embeddedBatch();
  const all = new Uint8Array(Buffer.concat(embedded)); // Uint8Array: slice() copies, the corruptions below stay local
  const headers = (n: number) => all.slice(0, 80 * n);
  const corrupt = (n: number, at: number, byte: number) => {
    const h = headers(n);
    h[80 * at + byte] ^= 0x01;
    return h;
  };
  const out: [string, Uint8Array][] = [
    ["btc: 1 header", encodeInput(cp, headers(1))],
    ["btc: 40 headers", encodeInput(cp, headers(40))],
    ["btc: 60 headers, compact", encodeInput(cp, headers(60), { compact: true })],
    ["btc: 20 headers, bad link at 7", encodeInput(cp, corrupt(20, 7, 10))],
    ["btc: 20 headers, bad time at 5", encodeInput(cp, corrupt(20, 5, 68))],
    ["btc: 20 headers, bad bits at 3", encodeInput(cp, corrupt(20, 3, 72))],
    ["btc: 20 headers, bad nonce at 12", encodeInput(cp, corrupt(20, 12, 76))],
    ["btc: truncated", encodeInput(cp, headers(3)).subarray(0, 136 + 100)],
  ];
  if (FULL) out.push(["btc: all 2016 headers", encodeInput(cp, all)]);
  return out;
}

/** Fixture inputs shipped with a task: wasm-tasks/<name>/fixtures/*.bin (raw) or *.hex. */
function fixtureInputs(name: string): [string, Uint8Array][] {
  const dir = join(TASKS_DIR, name, "fixtures");
  if (!existsSync(dir)) return [];
  const out: [string, Uint8Array][] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (f.endsWith(".bin")) out.push([`fixture ${f}`, new Uint8Array(readFileSync(p))]);
    else if (f.endsWith(".hex")) out.push([`fixture ${f}`, new Uint8Array(Buffer.from(readFileSync(p, "utf8").replace(/\s+/g, ""), "hex"))]);
  }
  return out.slice(0, 6);
}

function inputsFor(name: string): [string, Uint8Array][] {
  const rng = new Rng(0x7a5c ^ name.length);
  const sizes = [0, 1, 80, 161, 1000, 4099];
  const generic: [string, Uint8Array][] = sizes.slice(0, Math.max(RANDOM_INPUTS, 1)).map((n) => [`${n} random bytes`, randomBytes(rng, n)]);
  for (let i = sizes.length; i < RANDOM_INPUTS; i++) {
    const n = rng.int(3000);
    generic.push([`${n} random bytes`, randomBytes(rng, n)]);
  }
  return [...generic, ...specificInputs(name, rng), ...fixtureInputs(name)];
}

/**
 * Machine modes: "jit" (run() with the compiled tier, the default), "exec" (reference loop only,
 * `jit = null`), "sliced" (random slices, each randomly with or without the compiled tier). All
 * must agree with V8 and on the exact number of steps.
 */
type Mode = "jit" | "exec" | "sliced";
const MODES: Mode[] = (process.env.DIFF_MODES ?? "jit,exec,sliced").split(",").map((m) => (m === "api" ? "jit" : m) as Mode);

function runMachine(program: ReturnType<typeof compile>, input: Uint8Array, mode: Mode, rng: Rng): Machine {
  const m = Machine.forTask(program, input, { steps: STEP_LIMIT });
  if (mode === "jit") m.run();
  else if (mode === "exec") {
    m.jit = null;
    m.run();
  } else {
    let compiled: Machine["jit"] = undefined;
    while (m.status === Status.Running) {
      const useJit = rng.chance(0.6);
      if (useJit) m.jit = compiled;
      else {
        if (m.jit !== null) compiled = m.jit;
        m.jit = null;
      }
      m.run(rng.chance(0.1) ? rng.range(1, 3) : rng.range(1, 20_000));
      if (useJit) compiled = m.jit;
    }
  }
  return m;
}

const STACK = [Trap.CallStackExhausted, Trap.ValueStackExhausted] as number[];
const trapName = (k: number) => `${k} (${TRAP_MESSAGES[k] ?? "?"})`;

function firstDiff(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  if (Buffer.compare(a, b) === 0) return null;
  let i = 0;
  while (a[i] === b[i]) i++;
  const hex = (m: Uint8Array) => Buffer.from(m.subarray(i, i + 16)).toString("hex");
  return `first difference at 0x${i.toString(16)}: native ${hex(a)} / ours ${hex(b)}`;
}

describe("tasks: native V8 and the machine agree", () => {
  test("tasks are built", () => {
    expect(tasks.length, `no task in ${BUILD_DIR}: run \`npm run build:tasks\` first`).toBeGreaterThan(0);
  });

  for (const name of tasks) {
    test(name, () => {
      const bytes = new Uint8Array(readFileSync(join(BUILD_DIR, `${name}.wasm`)));
      const program = compile(bytes, { imports: "task" });
      const problems: string[] = [];
      const rng = new Rng(0x51ce ^ name.length);
      let halted = 0;
      let steps = 0;
      const trapsSeen = new Set<number>();
      const inputs = inputsFor(name);
      for (const [label, input] of inputs) {
        let native: { output: Uint8Array; memory: Uint8Array } | null = null;
        let nativeTrap: number | null = null;
        try {
          const r = runNative(bytes, input);
          native = { output: r.output.slice(), memory: r.memory.slice() };
        } catch (e) {
          if (!(e instanceof TaskTrap)) throw e;
          nativeTrap = e.kind;
        }
        const where = `${name} on ${label} (input ${Buffer.from(input.subarray(0, 24)).toString("hex")}${input.length > 24 ? "..." : ""})`;
        let refSteps: { mode: string; steps: number } | null = null;
        for (const mode of MODES) {
          const m = runMachine(program, input, mode, rng);
          const at = `${where} [${mode}]`;
          if (refSteps === null) {
            steps += m.steps;
            if (m.status === Status.Halted) halted++;
            if (m.status === Status.Trapped) trapsSeen.add(m.trap);
            refSteps = { mode, steps: m.steps };
          } else if (m.steps !== refSteps.steps) {
            problems.push(`${at}: ${m.steps} steps, but ${refSteps.steps} in mode ${refSteps.mode}`);
          }
          if (m.status === Status.Running) {
            problems.push(`${at}: machine still running after ${m.steps} steps`);
            continue;
          }
          if (nativeTrap !== null) {
            if (m.status !== Status.Trapped) {
              problems.push(`${at}: native trapped with ${trapName(nativeTrap)}, machine halted`);
            } else if (m.trap !== nativeTrap && !(STACK.includes(m.trap) && STACK.includes(nativeTrap))) {
              problems.push(`${at}: native trapped with ${trapName(nativeTrap)}, machine with ${trapName(m.trap)}`);
            }
            continue;
          }
          if (m.status === Status.Trapped) {
            problems.push(`${at}: native halted, machine trapped with ${trapName(m.trap)} after ${m.steps} steps`);
            continue;
          }
          const dOut = firstDiff(native!.output, m.output());
          if (dOut) problems.push(`${at}: output differs: ${dOut}`);
          const dMem = firstDiff(native!.memory, m.memoryBytes());
          if (dMem) problems.push(`${at}: final memory differs: ${dMem}`);
        }
      }
      console.log(`${name}: ${inputs.length} inputs, ${halted} halted, traps [${[...trapsSeen].map((k) => TRAP_MESSAGES[k]).join(", ")}], ${steps} machine steps`);
      expect(problems, problems.join("\n")).toEqual([]);
      expect(halted, `${name}: no input ran to completion`).toBeGreaterThan(0);
    });
  }
});
