/**
 * Interpreter speed on the SHA-256-heavy task: double SHA-256 of 2,016 80-byte messages (one
 * Bitcoin retarget period of headers), run on Node's own WebAssembly (V8's JIT) and on the step
 * machine (Machine.run) in the same process. Reports the best of a few runs of each. The same for
 * the float-heavy task (`float*` figures): the C n-body simulation (wasm-tasks/nbody, doubles,
 * FLOAT_STEPS steps of the five bodies).
 *
 * Machine.run uses the compiled tier (interpreter/jit.ts) unless TRUEWASM_JIT=0 (exec only).
 * Every run starts from a fresh Machine; the Jit is compiled once per Program, during the first
 * run, which is also reported on its own (`firstRunSeconds`: compilation plus V8's warm-up of the
 * generated code; `jitCompileSeconds`: the compilation alone).
 */
import { Status } from "../interpreter/isa.js";
import { compile } from "../interpreter/lower.js";
import { Jit } from "../interpreter/jit.js";
import { Machine } from "../interpreter/machine.js";
import { compileTask, loadTask, runNative } from "../wasm-tasks/native.js";

export const MESSAGES = 2016;
/** n-body steps of the float benchmark (about 1,520 machine steps each). */
export const FLOAT_STEPS = 200_000;

/** 2,016 deterministic 80-byte messages (header-shaped; the content does not change the work). */
export function sha256dInput(messages = MESSAGES): Uint8Array {
  const input = new Uint8Array(messages * 80);
  let x = 0x9e3779b9;
  for (let i = 0; i < input.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    input[i] = x & 0xff;
  }
  return input;
}

function best(runs: number, f: () => void, first?: { seconds: number }): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    const dt = performance.now() - t;
    if (i === 0 && first) first.seconds = dt / 1000;
    min = Math.min(min, dt);
  }
  return min / 1000;
}

/** A task on V8 and on the machine (best of `runs`), outputs compared. */
function race(name: string, wasm: Uint8Array, input: Uint8Array, runs: number) {
  const program = compile(wasm, { imports: "task" });
  const nativeModule = compileTask(wasm);
  let nativeOut: Uint8Array = new Uint8Array(0);
  const nativeSeconds = best(20, () => {
    nativeOut = runNative(nativeModule, input).output;
  });
  let steps = 0;
  let out: Uint8Array = new Uint8Array(0);
  let jit: Jit | null = null;
  const first = { seconds: 0 };
  const interpreterSeconds = best(runs, () => {
    const m = Machine.forTask(program, input);
    m.run();
    jit = m.jit ?? null;
    if (m.status !== Status.Halted) throw new Error(`${name} did not halt: status ${m.status} trap ${m.trap}`);
    steps = m.steps;
    out = m.output();
  }, first);
  if (Buffer.compare(Buffer.from(out), Buffer.from(nativeOut)) !== 0) throw new Error(`${name}: interpreter and native outputs differ`);
  return { steps, nativeSeconds, interpreterSeconds, jit: jit as Jit | null, firstSeconds: first.seconds };
}

export async function benchInterpreter(): Promise<Record<string, unknown>> {
  const exec = process.env.TRUEWASM_JIT === "0";
  const r = race("sha256d", loadTask("sha256d"), sha256dInput(), exec ? 3 : 5);
  return {
    task: "sha256d",
    messages: MESSAGES,
    steps: r.steps,
    stepsPerSecond: Math.round(r.steps / r.interpreterSeconds),
    nativeSeconds: Number(r.nativeSeconds.toFixed(6)),
    interpreterSeconds: Number(r.interpreterSeconds.toFixed(6)),
    slowdown: Number((r.interpreterSeconds / r.nativeSeconds).toFixed(2)),
    engine: r.jit ? "jit" : "exec",
    firstRunSeconds: Number(r.firstSeconds.toFixed(6)),
    jitCompileSeconds: r.jit ? Number((r.jit.compileMs / 1000).toFixed(6)) : 0,
    ...benchFloat(exec),
  };
}

/** The float-heavy task: n-body in C with doubles (wasm-tasks/nbody), V8 against the machine. */
function benchFloat(exec: boolean): Record<string, unknown> {
  const r = race("nbody", loadTask("nbody"), new TextEncoder().encode(String(FLOAT_STEPS)), exec ? 2 : 7);
  return {
    floatTask: "nbody",
    floatBodySteps: FLOAT_STEPS,
    floatSteps: r.steps,
    floatStepsPerSecond: Math.round(r.steps / r.interpreterSeconds),
    floatNativeSeconds: Number(r.nativeSeconds.toFixed(6)),
    floatInterpreterSeconds: Number(r.interpreterSeconds.toFixed(6)),
    floatSlowdown: Number((r.interpreterSeconds / r.nativeSeconds).toFixed(2)),
    floatEngine: r.jit ? (r.jit.compiled > 0 && r.jit.skipped === 0 ? "jit" : "jit (partly exec)") : "exec",
    floatFirstRunSeconds: Number(r.firstSeconds.toFixed(6)),
  };
}
