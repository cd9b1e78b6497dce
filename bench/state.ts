/**
 * State commitment figures (docs/STATE.md): hashing speed, full and incremental state roots, the
 * overhead of producing roots during a long run, and witness sizes.
 *
 *   npm run bench -- state        (or: tsx bench/state.ts)
 *
 * - keccakPerSecond: the hash layer's own measurement (bench/state-keccak.ts).
 * - fullRootMs: first state root of a machine whose 64 MiB memory is entirely written (a task that
 *   fills it with memory.fill), i.e. the whole memory tree hashed from scratch.
 * - incrementalRootMs: the next root on that machine after a run that wrote 1,000 consecutive
 *   leaves (32 KB: how a program's stack and heap traffic looks), mean over 8 such runs;
 *   incrementalRootMsScattered: the same with 1,000 leaves scattered pseudo-randomly over the
 *   64 MiB (worst case: ~12,000 distinct nodes to rehash, little path sharing).
 * - rootOverhead: time to run sha256d for >= 10^8 steps producing roots at 32 evenly spaced steps
 *   (rootsOnMachine), divided by the time of the same run without roots, on the default machine
 *   (compiled tier); rootOverheadExecOnly: the same on the interpreter loop alone (10^7 steps).
 * - maxWitnessBytes: max over the step vectors (test/vectors/step-vectors.json, every opcode);
 *   medianWitnessBytes: median over the opcode mix of a real sha256d run (witnesses at 20,000
 *   evenly spread steps), and the same for btc-headers. Gas: an estimate of one on-chain step
 *   (21,000 + max(standard calldata + execution, EIP-7623 floor 10/40 gas per zero/nonzero byte);
 *   execution ~ 4,000 + 150 per keccak256 the verifier computes).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Status } from "../interpreter/isa.js";
import { compile } from "../interpreter/lower.js";
import { Machine } from "../interpreter/machine.js";
import type { Program } from "../interpreter/program.js";
import { rootsOnMachine, stateRoot, tracker } from "../interpreter/state.js";
import { verifyStats, verifyStep } from "../interpreter/verify.js";
import { witness } from "../interpreter/witness.js";
import { clockName, clockSeconds, measureKeccak } from "./state-keccak.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const loadWasm = (name: string) => new Uint8Array(readFileSync(join(ROOT, "wasm-tasks/build", `${name}.wasm`)));

/** sha256d input of n deterministic 80-byte messages. */
function messages(n: number): Uint8Array {
  const b = new Uint8Array(80 * n);
  let x = 0x9e3779b9;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const ROUNDS = 10;

/** A task that fills 64 MiB, then writes 1,000 leaves (scattered or clustered) in each of ROUNDS rounds. */
async function memoryTask(scattered: boolean): Promise<Uint8Array> {
  const wabt = await (await import("wabt")).default();
  const addr = scattered
    ? `(i32.and (i32.mul (i32.add (local.get $i) (local.get $r)) (i32.const 0x9e3779b1)) (i32.const 0x3ffffe0))`
    : `(i32.add (i32.const 0x100000) (i32.shl (local.get $i) (i32.const 5)))`;
  const rounds = Array.from({ length: ROUNDS }, (_, k) => `(call $touch (i32.const ${1 + 1000 * k}))`).join(" ");
  const wat = `(module
    (memory (export "memory") 1024 1024)
    (func $fill (memory.fill (i32.const 0) (i32.const 0x5a) (i32.const 0x4000000)))
    (func $touch (param $r i32) (local $i i32)
      (loop $l
        (i64.store ${addr} (i64.extend_i32_u (i32.add (local.get $i) (local.get $r))))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 1000)))))
    (func (export "main") (call $fill) ${rounds}))`;
  const mod = wabt.parseWat("mem.wat", wat, { bulk_memory: true });
  const bytes = new Uint8Array(mod.toBinary({}).buffer);
  mod.destroy();
  return bytes;
}

/** Milliseconds of `f` on the bench clock (thread CPU time when available: the machine is shared). */
function ms(f: () => void): number {
  const t = clockSeconds();
  f();
  return (clockSeconds() - t) * 1000;
}

/**
 * Full root of 64 MiB, then the mean incremental root after a round that wrote 1,000 leaves (over
 * ROUNDS - 1 rounds after a warm-up one; the CPU clock ticks in milliseconds, so one-shot timings of
 * a few ms would be mostly quantisation).
 */
async function memoryFigures(scattered: boolean): Promise<{ fullMs: number; incMs: number; incWallMedianMs: number }> {
  const m = Machine.forTask(compile(await memoryTask(scattered)), new Uint8Array(0));
  const code = m.program.code;
  // pcs of main's `Call touch` instructions
  const touchEntry = m.program.funcs.find((f) => f.entry >= 0 && f.numLocals === 2)!.entry;
  const stubs = new Set(m.program.funcs.map((f) => f.stub));
  const calls: number[] = [];
  for (let pc = 0; pc < m.program.length; pc++) if (code[4 * pc] === 0xe5 && code[4 * pc + 1] === touchEntry && !stubs.has(pc)) calls.push(pc);
  const stepTo = (pc: number) => {
    while (m.pc !== pc) {
      if (m.status !== Status.Running) throw new Error("memory task ended early");
      m.step();
    }
  };
  // the fill is ~2M steps: run in big chunks until just before the first Call touch
  while (m.status === Status.Running && m.steps < 0x4000000 / 32) m.run(1 << 20);
  stepTo(calls[0]);
  const fullMs = ms(() => stateRoot(m));
  const s0 = m.steps;
  stepTo(calls[1]); // round 1: warms the incremental path
  const roundSteps = m.steps - s0;
  stateRoot(m);
  let cpu = 0;
  const wall: number[] = [];
  for (let r = 2; r < ROUNDS; r++) {
    m.run(roundSteps);
    if (m.pc !== calls[r]) throw new Error("memory task rounds differ in length");
    const w = performance.now();
    cpu += ms(() => stateRoot(m));
    wall.push(performance.now() - w);
  }
  return { fullMs, incMs: cpu / (ROUNDS - 2), incWallMedianMs: median(wall) };
}

/**
 * CPU ms of a whole run of `program` on `input`, with and without roots at 32 evenly spaced steps.
 * The runs alternate and each figure is the sum over `reps` runs: a 10^8-step sha256d run takes only
 * tens of ms on the compiled tier, where a one-shot reading of the CPU clock (which ticks in ms)
 * would be mostly noise.
 */
function runFigures(program: Program, input: Uint8Array, jit: boolean, reps = 40) {
  const probe = Machine.forTask(program, input);
  if (!jit) probe.jit = null;
  probe.run();
  const total = probe.steps;
  const points = Array.from({ length: 32 }, (_, i) => Math.round(((i + 1) * total) / 32));
  // the same run, stopping at the same 32 points without committing (on the interpreter loop a
  // single long run() is slower than 32 shorter ones, which would flatter the ratio)
  const plain = () => {
    const m = Machine.forTask(program, input);
    if (!jit) m.jit = null;
    for (const p of points) m.run(p - m.steps);
  };
  const withRoots = (taskInput: Uint8Array) => () => {
    // a fresh copy of the input (made before the clock starts) has no cached input root, so its
    // input root is computed in the run; `input` itself has one, as for a solver that computed the
    // task's input root when it took the task
    const m = Machine.forTask(program, taskInput);
    if (!jit) m.jit = null;
    rootsOnMachine(m, points);
  };
  plain();
  withRoots(input)(); // warm-up (also builds the cached code and input trees, as any first use would)
  let none = 0, roots = 0, rootsCached = 0;
  const wall: { none: number[]; roots: number[] } = { none: [], roots: [] };
  const timed = (f: () => void, w?: number[]) => {
    const t = performance.now();
    const cpu = ms(f);
    w?.push(performance.now() - t);
    return cpu;
  };
  for (let rep = 0; rep < reps; rep++) {
    none += timed(plain, wall.none);
    roots += timed(withRoots(input.slice()), wall.roots);
    rootsCached += timed(withRoots(input));
  }
  return {
    steps: total,
    runMs: Number((none / reps).toFixed(1)),
    runWithRootsMs: Number((roots / reps).toFixed(1)),
    overhead: Number((roots / none).toFixed(3)),
    overheadInputTreeCached: Number((rootsCached / none).toFixed(3)),
    /** the same ratio from median wall-clock times (a cross-check on a shared machine) */
    overheadWallMedian: Number((median(wall.roots) / median(wall.none)).toFixed(3)),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** Estimated gas of one on-chain step with this witness (see the header comment). */
export function estimateGas(w: Uint8Array, hashes: number): number {
  let zero = 4 + 32 + 64; // selector, preRoot, ABI offset and length words (mostly zero)
  let nonzero = 36;
  for (const b of w) b === 0 ? zero++ : nonzero++;
  const exec = 4000 + 150 * hashes;
  return 21000 + Math.max(4 * zero + 16 * nonzero + exec, 10 * (zero + 4 * nonzero));
}

/** Witness sizes and gas estimates at `samples` evenly spread steps of a whole run. */
function witnessMix(wasm: Uint8Array, input: Uint8Array, samples: number) {
  const program = compile(wasm);
  const probe = Machine.forTask(program, input);
  probe.run();
  const total = probe.steps;
  const m = Machine.forTask(program, input);
  const sizes: number[] = [], gas: number[] = [];
  const stride = Math.max(1, Math.floor(total / samples));
  while (m.status === Status.Running) {
    const pre = stateRoot(m);
    const w = witness(m);
    const h0 = verifyStats.hashes;
    verifyStep(pre, w);
    sizes.push(w.length);
    gas.push(estimateGas(w, verifyStats.hashes - h0));
    m.run(stride);
  }
  return {
    steps: total,
    codeDepth: tracker(m).prog.depth,
    samples: sizes.length,
    medianWitnessBytes: median(sizes),
    p90WitnessBytes: quantile(sizes, 0.9),
    maxWitnessBytes: Math.max(...sizes),
    medianGas: Math.round(median(gas)),
    p90Gas: Math.round(quantile(gas, 0.9)),
    maxGas: Math.max(...gas),
  };
}

export async function benchState(): Promise<Record<string, unknown>> {
  const keccak = measureKeccak();

  // ---- full and incremental roots over 64 MiB
  const scattered = await memoryFigures(true);
  const clustered = await memoryFigures(false);

  // ---- root overhead on >= 1e8 steps of sha256d (the default machine: compiled tier), and with
  // the interpreter loop only (exec), for scale
  const sha = compile(loadWasm("sha256d"));
  const overhead = runFigures(sha, messages(6200), true);
  const overheadExec = runFigures(sha, messages(620), false, 5);

  // ---- witness sizes
  const vectors = JSON.parse(readFileSync(join(ROOT, "test/vectors/step-vectors.json"), "utf8")) as { cases: { witness: string; opName: string }[] };
  let maxVec = 0, maxVecOp = "";
  for (const c of vectors.cases) {
    const n = (c.witness.length - 2) / 2;
    if (n > maxVec) (maxVec = n), (maxVecOp = c.opName);
  }
  const shaMix = witnessMix(loadWasm("sha256d"), messages(60), 20000);
  let btcMix: ReturnType<typeof witnessMix> | null = null;
  try {
    const { encodeInput, splitHeaders } = await import("../wasm-tasks/btc-headers/encoding.js");
    const fx = join(ROOT, "wasm-tasks/btc-headers/fixtures");
    const cp = JSON.parse(readFileSync(join(fx, "checkpoint_828575.json"), "utf8"));
    const headers = splitHeaders(new Uint8Array(readFileSync(join(fx, "mainnet_828576_830591.bin"))));
    btcMix = witnessMix(loadWasm("btc-headers"), encodeInput(cp, headers.slice(0, 200)), 20000);
  } catch (e) {
    console.error(`# btc-headers witness mix skipped: ${(e as Error).message}`);
  }

  return {
    keccakPerSecond: Math.round(keccak.keccakPerSecond),
    clock: clockName,
    fullRootMs: Number(scattered.fullMs.toFixed(1)),
    incrementalRootMs: Number(clustered.incMs.toFixed(2)),
    incrementalRootMsScattered: Number(scattered.incMs.toFixed(2)),
    incrementalRootWallMedianMs: { clustered: Number(clustered.incWallMedianMs.toFixed(2)), scattered: Number(scattered.incWallMedianMs.toFixed(2)) },
    rootOverhead: overhead.overhead,
    rootOverheadRun: overhead,
    rootOverheadExecOnly: overheadExec,
    maxWitnessBytes: maxVec,
    maxWitnessOp: maxVecOp,
    medianWitnessBytes: shaMix.medianWitnessBytes,
    sha256d: shaMix,
    btcHeaders: btcMix,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(await benchState(), null, 2));
}
