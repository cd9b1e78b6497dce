/**
 * Floats as single machine steps vs soft-float (docs/MACHINE.md, "Floats: one step each").
 *
 *   npm run bench -- softfloat
 *
 * Builds the n-body task (wasm-tasks/nbody/main.c, every double operation a macro) twice with clang:
 * with the machine's float instructions, and (-DSOFTFLOAT) with compiler-rt's soft-float routines
 * (__adddf3, __subdf3, __muldf3, __divdf3, integer instructions only; Debian's
 * libclang-rt-14-dev-wasm32), which is how a machine without float instructions runs the same
 * program (Arbitrum lowers floats to Berkeley SoftFloat). Each build must give V8's output bit for
 * bit (the two builds' outputs may differ in the last bit: clang folds the float build's set-up at
 * compile time, the soft-float calls at run time). Reports the machine steps of each (per n-body step), the average steps one soft
 * float operation takes, and the interpreter's and V8's time for each.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile } from "../interpreter/lower.js";
import { IS_FLOAT_NUMERIC } from "../interpreter/float.js";
import { Status } from "../interpreter/isa.js";
import { Machine } from "../interpreter/machine.js";
import type { Program } from "../interpreter/program.js";
import { CLANG_FLAGS } from "../wasm-tasks/build.js";
import { compileTask, runNative } from "../wasm-tasks/native.js";

const BUILTINS = "/usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a";
const BODY_STEPS = 20_000;

function build(dir: string, mode: "hard" | "soft"): Uint8Array {
  const out = join(dir, `nbody-${mode}.wasm`);
  const soft = mode === "soft" ? ["-DSOFTFLOAT", BUILTINS] : [];
  execFileSync("clang", [...CLANG_FLAGS, "-I", "wasm-tasks/clib", "-o", out, "wasm-tasks/nbody/main.c", ...soft], { stdio: "pipe" });
  return new Uint8Array(readFileSync(out));
}

const input = (n: number) => new TextEncoder().encode(String(n));

function run(program: Program, n: number): Machine {
  const m = Machine.forTask(program, input(n), { steps: 2 ** 44 });
  m.run();
  if (m.status !== Status.Halted) throw new Error(`nbody did not halt: trap ${m.trap}`);
  return m;
}

/** Executed float numeric steps (comparisons, arithmetic, conversions) of a run, exec stepping. */
function floatSteps(program: Program, n: number): number {
  const m = Machine.forTask(program, input(n));
  m.jit = null;
  let k = 0;
  while (m.status === Status.Running) {
    if (IS_FLOAT_NUMERIC[program.code[4 * m.pc]]) k++;
    m.step();
  }
  return k;
}

function best(runs: number, f: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min / 1000;
}

export async function benchSoftfloat(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "softfloat-"));
  try {
    const hardWasm = build(dir, "hard"), softWasm = build(dir, "soft");
    const hard = compile(hardWasm), soft = compile(softWasm);
    const hardModule = compileTask(hardWasm), softModule = compileTask(softWasm);
    // the machine gives V8's output, bit for bit
    for (const [name, p, mod] of [["hard", hard, hardModule], ["soft", soft, softModule]] as const) {
      const want = runNative(mod, input(100)).output;
      if (Buffer.compare(Buffer.from(run(p, 100).output()), Buffer.from(want)) !== 0) throw new Error(`nbody (${name}): the machine's output differs from V8's`);
    }
    // steps per n-body step, from two run lengths (the set-up cancels out)
    const per = (p: Program) => (run(p, 120).steps - run(p, 20).steps) / 100;
    const hardPer = per(hard), softPer = per(soft);
    const floatOpsPer = (floatSteps(hard, 12) - floatSteps(hard, 2)) / 10;
    const sqrtPer = 10; // the 10 pairs' square roots stay single instructions in both builds
    const softOps = floatOpsPer - sqrtPer;
    // time: the machine (compiled tier) and V8 on the same run
    const machineSeconds = (p: Program) => best(3, () => run(p, BODY_STEPS));
    const nativeSeconds = (m: WebAssembly.Module) => best(10, () => runNative(m, input(BODY_STEPS)));
    const hardSeconds = machineSeconds(hard), softSeconds = machineSeconds(soft);
    return {
      bodySteps: BODY_STEPS,
      stepsPerBodyStep: { floatInstructions: hardPer, softFloat: softPer },
      stepRatio: Number((softPer / hardPer).toFixed(2)),
      floatOpsPerBodyStep: floatOpsPer,
      softOpsPerBodyStep: softOps,
      stepsPerSoftOp: Number(((softPer - hardPer) / softOps + 1).toFixed(1)),
      machineSeconds: { floatInstructions: Number(hardSeconds.toFixed(4)), softFloat: Number(softSeconds.toFixed(4)) },
      machineTimeRatio: Number((softSeconds / hardSeconds).toFixed(2)),
      nativeSeconds: { floatInstructions: Number(nativeSeconds(hardModule).toFixed(5)), softFloat: Number(nativeSeconds(softModule).toFixed(5)) },
      softFloatSlowdownVsV8: Number((softSeconds / nativeSeconds(hardModule)).toFixed(1)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchSoftfloat(), null, 2));
  process.exit(0);
}
