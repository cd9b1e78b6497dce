/**
 * Helpers of the state-commitment tests: WAT -> task programs, an independent naive state root
 * (plain recursion over full trees, keccak from the `keccak256` npm package: shares nothing with
 * state.ts but the provable-code adapter), and the per-step checker used by every property test.
 */
import keccakNpm from "keccak256";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { Status } from "../../interpreter/isa.js";
import type { Program } from "../../interpreter/program.js";
import { opName } from "../../interpreter/names.js";
import { provableCode, stateRoot } from "../../interpreter/state.js";
import { witness } from "../../interpreter/witness.js";
import { verifyStep, WitnessError } from "../../interpreter/verify.js";

// ------------------------------------------------------------------------------------------------
// WAT

type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
let wabtPromise: Promise<Wabt> | undefined;
async function wabt(): Promise<Wabt> {
  wabtPromise ??= import("wabt").then((m) => ((m as { default?: unknown }).default ?? m) as () => Promise<Wabt>).then((f) => f());
  return wabtPromise;
}

export async function wat2wasm(src: string): Promise<Uint8Array> {
  const w = await wabt();
  const mod = w.parseWat("test.wat", src, { bulk_memory: true, sign_extension: true, mutable_globals: true, reference_types: true, multi_value: true, sat_float_to_int: true });
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

export async function taskFromWat(src: string): Promise<Program> {
  return compile(await wat2wasm(src));
}

export { opName };

export const hexOf = (b: Uint8Array) => "0x" + Buffer.from(b).toString("hex");

// ------------------------------------------------------------------------------------------------
// Naive, independent state root.

const k256 = (b: Uint8Array): Uint8Array => new Uint8Array(keccakNpm(Buffer.from(b)));
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};
const pre = (p: number, ...parts: Uint8Array[]) => k256(cat(Uint8Array.of(p), ...parts));
const u32be = (v: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
};
const u64be = (hi: number, lo: number) => cat(u32be(hi), u32be(lo));
const depthOfN = (n: number) => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));

const zeroCache: Uint8Array[] = [new Uint8Array(32)];
function zero(h: number): Uint8Array {
  while (zeroCache.length <= h) {
    const z = zeroCache[zeroCache.length - 1];
    zeroCache.push(pre(1, z, z));
  }
  return zeroCache[h];
}

/** Root of a depth-d tree whose leaves are the 32-byte words of `bytes` (zero-padded), naive recursion. */
export function naiveTreeRoot(bytes: Uint8Array, depth: number): Uint8Array {
  const n = Math.ceil(bytes.length / 32);
  const leaf = (i: number) => {
    const w = new Uint8Array(32);
    w.set(bytes.subarray(i * 32, Math.min(bytes.length, i * 32 + 32)));
    return w;
  };
  const rec = (h: number, j: number): Uint8Array => {
    if (j * 2 ** h >= n) return zero(h);
    if (h === 0) return leaf(j);
    return pre(1, rec(h - 1, 2 * j), rec(h - 1, 2 * j + 1));
  };
  return rec(depth, 0);
}

function valuesBytes(lo: Int32Array, hi: Int32Array, off: number, n: number): Uint8Array {
  return cat(...Array.from({ length: n }, (_, i) => u64be(hi[off + i], lo[off + i])));
}
const valuesRootNaive = (lo: Int32Array, hi: Int32Array, off: number, n: number) =>
  naiveTreeRoot(valuesBytes(lo, hi, off, n), depthOfN(Math.ceil(n / 4)));

/** The state root recomputed from scratch from the machine's fields (docs/STATE.md §2). */
export function naiveStateRoot(m: Machine): Uint8Array {
  const p = m.program;
  const code = provableCode(p);
  const codeBytes = cat(
    ...Array.from({ length: p.length }, (_, i) => cat(Uint8Array.of(code[4 * i], 0, 0, 0), u32be(code[4 * i + 1]), u32be(code[4 * i + 2]), u32be(code[4 * i + 3]))),
  );
  const codeDepth = depthOfN(Math.ceil(p.length / 2));
  const codeRoot = naiveTreeRoot(codeBytes, codeDepth);
  const regs = new Uint8Array(32);
  const dv = new DataView(regs.buffer);
  dv.setUint32(0, m.pc);
  dv.setUint16(4, Math.floor(m.steps / 2 ** 32));
  dv.setUint32(6, m.steps >>> 0);
  dv.setUint16(10, Math.floor(m.limits.steps / 2 ** 32));
  dv.setUint32(12, m.limits.steps >>> 0);
  dv.setUint32(16, m.sp);
  dv.setUint32(20, m.depth);
  dv.setUint32(24, m.exitCode);
  regs[28] = m.status;
  regs[29] = m.trap;
  regs[30] = codeDepth;
  let stack: Uint8Array = new Uint8Array(32);
  for (let i = 0; i < m.sp; i++) stack = pre(2, stack, u64be(m.sh[i], m.sl[i]));
  const locals = valuesRootNaive(m.ll, m.lh, m.fp, m.nl);
  let frames: Uint8Array = new Uint8Array(32);
  for (let i = 0; i < m.depth - 1; i++) frames = pre(3, frames, valuesRootNaive(m.ll, m.lh, m.fFp[i], m.fNl[i]), u32be(m.fRet[i]));
  const mem = m.memoryBytes();
  const pages = mem.length / 65536;
  const memRoot = naiveTreeRoot(mem, pages === 0 ? 0 : 11 + depthOfN(pages));
  const memInfo = cat(u32be(pages), u32be(m.outLen));
  const gl = m.env.globalsLo, gh = m.env.globalsHi;
  const globals = valuesRootNaive(gl, gh, 0, gl.length);
  // tables tree: tables, element segments, data segments; an element is its function's stub code leaf
  const elementBytes = (vals: readonly number[]) =>
    cat(
      ...vals.map((v) => {
        if (v === 0) return new Uint8Array(32);
        const ref = m.env.refs.get(v) as { owner?: object; index?: number } | null;
        if (ref?.owner === m.env.owner && ref.index === v - 1) return codeBytes.subarray(32 * (v - 1), 32 * v);
        return cat(new Uint8Array(16), Uint8Array.of(2), new Uint8Array(7), u32be(v), new Uint8Array(4));
      }),
    );
  const entries = [
    ...m.env.tables.map((t) => pre(0x14, u32be(t.elements.length), naiveTreeRoot(elementBytes(t.elements), depthOfN(t.elements.length)))),
    ...m.env.elemSegs.map((s) => pre(0x14, u32be(s.length), naiveTreeRoot(elementBytes(s), depthOfN(s.length)))),
    ...m.env.dataSegs.map((d) => pre(0x14, u32be(d.length), naiveTreeRoot(d, depthOfN(Math.ceil(d.length / 32))))),
  ];
  const table = naiveTreeRoot(cat(...entries), depthOfN(entries.length));
  const input = naiveTreeRoot(m.env.input, depthOfN(Math.ceil(m.env.input.length / 32)));
  const output = naiveTreeRoot(m.output(), depthOfN(Math.ceil(m.limits.outputBytes / 32)));
  const ceiling = Math.min(m.env.memory?.max ?? 65536, m.limits.memoryPages, 65536);
  const limits = cat(u32be(m.limits.stackHeight), u32be(m.limits.callDepth), u32be(ceiling), u32be(m.limits.outputBytes), u32be(m.env.input.length));
  const aux = pre(0x12, limits, globals, table, input, output);
  const cold = pre(0x11, memInfo, memRoot, frames, aux);
  return pre(0x10, regs, stack, locals, codeRoot, cold);
}

// ------------------------------------------------------------------------------------------------
// The per-step checker.

export class Rand {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (this.s = x >>> 0);
  }
  int(n: number): number {
    return this.u32() % n;
  }
}

export interface CheckOptions {
  maxSteps?: number;
  /** Mutate sampled witness bytes every `mutateEvery` steps (0: never). */
  mutateEvery?: number;
  /** Bytes mutated per sampled step. */
  mutations?: number;
  /** Compare with the naive root every `naiveEvery` steps (0: never). */
  naiveEvery?: number;
  seed?: number;
  /** Called with each step's opcode and witness size. */
  onStep?: (op: number, bytes: number, m: Machine) => void;
}

export interface CheckResult {
  steps: number;
  mutated: number;
  naive: number;
  ops: Map<number, number>;
  maxWitness: number;
}

/** Every step from the machine's state: verifyStep(root, witness) == root after; plus mutation and naive-root samples. */
export function checkSteps(m: Machine, opts: CheckOptions = {}): CheckResult {
  const max = opts.maxSteps ?? Number.MAX_SAFE_INTEGER;
  const rng = new Rand(opts.seed ?? 12345);
  const res: CheckResult = { steps: 0, mutated: 0, naive: 0, ops: new Map(), maxWitness: 0 };
  let r0 = stateRoot(m);
  while (res.steps < max) {
    const running = m.status === Status.Running;
    const op = m.program.code[m.pc * 4];
    const w = witness(m);
    opts.onStep?.(op, w.length, m);
    m.step();
    const r1 = stateRoot(m);
    let got: Uint8Array;
    try {
      got = verifyStep(r0, w);
    } catch (e) {
      throw new Error(`step ${m.steps} (pc ${m.pc}, ${opName(op)}): verifyStep threw ${(e as Error).message}`);
    }
    if (hexOf(got) !== hexOf(r1)) throw new Error(`step ${m.steps} (${opName(op)}): post root differs`);
    if (!running && hexOf(r1) !== hexOf(r0)) throw new Error("a step on a terminal state changed the root");
    if (opts.mutateEvery && res.steps % opts.mutateEvery === 0) {
      for (let j = 0; j < (opts.mutations ?? 3); j++) {
        const bad = w.slice();
        const i = rng.int(bad.length);
        bad[i] ^= 1 + rng.int(255);
        expectRejected(r0, bad, r1, `${opName(op)} byte ${i}`);
        res.mutated++;
      }
      expectRejected(r0, w.subarray(0, w.length - 1), r1, `${opName(op)} truncated`);
      expectRejected(r0, Uint8Array.of(...w, 0), r1, `${opName(op)} extended`);
    }
    if (opts.naiveEvery && res.steps % opts.naiveEvery === 0) {
      if (hexOf(naiveStateRoot(m)) !== hexOf(r1)) throw new Error(`step ${m.steps}: naive root differs from stateRoot`);
      res.naive++;
    }
    if (running) res.ops.set(op, (res.ops.get(op) ?? 0) + 1);
    res.maxWitness = Math.max(res.maxWitness, w.length);
    res.steps++;
    r0 = r1;
    if (!running) break; // checked one step on the terminal state
  }
  return res;
}

/** A bad witness must throw a WitnessError or prove a different post root. */
export function expectRejected(pre: Uint8Array, bad: Uint8Array, post: Uint8Array, what: string): void {
  let got: Uint8Array;
  try {
    got = verifyStep(pre, bad);
  } catch (e) {
    if (e instanceof WitnessError) return;
    throw new Error(`${what}: verifyStep threw a non-WitnessError: ${(e as Error).stack}`);
  }
  if (hexOf(got) === hexOf(post)) throw new Error(`${what}: a corrupted witness was accepted`);
}

/** Runs a task from its initial state to the end (or maxSteps), checking every step. */
export function checkTask(program: Program, input: Uint8Array, limits: Parameters<typeof Machine.forTask>[2] = {}, opts: CheckOptions = {}) {
  const m = Machine.forTask(program, input, limits);
  const r = checkSteps(m, opts);
  return { m, ...r };
}
