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

export async function benchInterpreter(): Promise<Record<string, unknown>> {
  const wasm = loadTask("sha256d");
  const input = sha256dInput();
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
  const interpreterSeconds = best(process.env.TRUEWASM_JIT === "0" ? 3 : 5, () => {
    const m = Machine.forTask(program, input);
    m.run();
    jit = m.jit ?? null;
    if (m.status !== Status.Halted) throw new Error(`sha256d did not halt: status ${m.status} trap ${m.trap}`);
    steps = m.steps;
    out = m.output();
  }, first);
  if (Buffer.compare(Buffer.from(out), Buffer.from(nativeOut)) !== 0) throw new Error("interpreter and native outputs differ");

  return {
    task: "sha256d",
    messages: MESSAGES,
    steps,
    stepsPerSecond: Math.round(steps / interpreterSeconds),
    nativeSeconds: Number(nativeSeconds.toFixed(6)),
    interpreterSeconds: Number(interpreterSeconds.toFixed(6)),
    slowdown: Number((interpreterSeconds / nativeSeconds).toFixed(2)),
    engine: jit ? "jit" : "exec",
    firstRunSeconds: Number(first.seconds.toFixed(6)),
    jitCompileSeconds: jit ? Number(((jit as Jit).compileMs / 1000).toFixed(6)) : 0,
    ...benchFloat(),
  };
}

/** The float-heavy task: n-body in C with doubles (wasm-tasks/nbody), V8 against the machine. */
function benchFloat(): Record<string, unknown> {
  const wasm = loadTask("nbody");
  const input = new TextEncoder().encode(String(FLOAT_STEPS));
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
  const interpreterSeconds = best(process.env.TRUEWASM_JIT === "0" ? 2 : 7, () => {
    const m = Machine.forTask(program, input);
    m.run();
    jit = m.jit ?? null;
    if (m.status !== Status.Halted) throw new Error(`nbody did not halt: status ${m.status} trap ${m.trap}`);
    steps = m.steps;
    out = m.output();
  }, first);
  if (Buffer.compare(Buffer.from(out), Buffer.from(nativeOut)) !== 0) throw new Error("nbody: interpreter and native outputs differ");
  return {
    floatTask: "nbody",
    floatBodySteps: FLOAT_STEPS,
    floatSteps: steps,
    floatStepsPerSecond: Math.round(steps / interpreterSeconds),
    floatNativeSeconds: Number(nativeSeconds.toFixed(6)),
    floatInterpreterSeconds: Number(interpreterSeconds.toFixed(6)),
    floatSlowdown: Number((interpreterSeconds / nativeSeconds).toFixed(2)),
    floatEngine: jit ? ((jit as Jit).compiled > 0 && (jit as Jit).skipped === 0 ? "jit" : "jit (partly exec)") : "exec",
    floatFirstRunSeconds: Number(first.seconds.toFixed(6)),
  };
}
