/**
 * The reference one-step verifier: verifyStep(preRoot, witness) -> postRoot.
 *
 * This is the exact model of the Solidity prover (docs/STATE.md is the normative text; this file
 * and the step vectors are its executable form). It is written the way the contract will be:
 * it reads the witness at offsets computed from fields it has already read (a running offset `o`,
 * no variable-length encoding beyond what the opcode and the tree depths fix), keeps the state in
 * flat local variables, hashes fixed-size preimages, and never consults a machine object.
 *
 * Flow: (1) parse the witness and compute every pre-state component it opens, bottom-up, up to the
 * pre root; (2) compare with `preRoot`; (3) apply the step to the opened components and hash the post
 * root. Every byte of a well-formed witness is hashed into the pre root, so a witness that differs
 * from the honest one in any byte either fails here or (only for a different valid pre-state)
 * proves a different step.
 */
import { hash2, keccak256, zeroHashesFor } from "./hash/keccak.js";
import { FLOAT_POPS, floatStepBig } from "./float.js";
import { Op, Status, Trap } from "./isa.js";

export type WitnessErrorCode =
  | "Truncated" // the witness ends before the layout its fields imply
  | "BadLength" // bytes left over after the layout
  | "RootMismatch" // the opened state does not hash to the pre root (bad proof, wrong value, ...)
  | "BadField" // a field outside its range (reserved byte set, depth > 32, pc outside the code tree, ...)
  | "BadOpcode" // the instruction is not part of the lowered instruction set
  | "Unprovable"; // an embedding-only instruction (CallHost, GlobalGetExt/SetExt, foreign table entry)

export class WitnessError extends Error {
  constructor(
    readonly code: WitnessErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = "WitnessError";
  }
}

// ------------------------------------------------------------------------------------------------
// Constants (mirrored in Solidity).

const P_NODE = 0x01, P_STACK = 0x02, P_FRAME = 0x03, P_STATE = 0x10, P_COLD = 0x11, P_AUX = 0x12, P_ENTRY = 0x14;
const Z = zeroHashesFor(P_NODE); // Z[0..32]
const PAGE = 65536n;
const MAX_PAGES = 65536;
const M32 = 0xffffffffn;
const M64 = 0xffffffffffffffffn;

/** Values each opcode reads from the top of the operand stack; -1: not an instruction; -2: embedding only. */
export const POPS: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  const set = (k: number, ...ops: number[]) => ops.forEach((op) => (t[op] = k));
  const range = (k: number, from: number, to: number) => {
    for (let op = from; op <= to; op++) t[op] = k;
  };
  set(0, Op.LocalGet, Op.GlobalGet, Op.MemorySize, Op.I32Const, Op.I64Const, Op.Jump, Op.Call, Op.Return, Op.Halt, Op.InputSize, Op.Trap);
  set(0, Op.RefFunc, Op.TableSize, Op.SegmentDrop);
  set(1, Op.TableGet);
  set(2, Op.TableSet, Op.TableGrow);
  set(3, Op.TableFill, Op.TableCopy, Op.TableInit, Op.MemoryInit);
  set(1, Op.Exit, Op.Drop, Op.LocalSet, Op.LocalTee, Op.GlobalSet, Op.MemoryGrow, Op.JumpIf, Op.JumpUnless, Op.BrTable, Op.CallIndirect);
  set(1, 0x28, 0x29, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35); // loads
  set(1, 0x45, 0x50, 0x67, 0x68, 0x69, 0x79, 0x7a, 0x7b, 0xa7, 0xac, 0xad, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4); // unary
  set(2, 0x36, 0x37, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e); // stores
  range(2, 0x46, 0x4f);
  range(2, 0x51, 0x5a);
  range(2, 0x6a, 0x78);
  range(2, 0x7c, 0x8a);
  set(2, Op.Nip, Op.OutputWrite);
  set(3, Op.Select, Op.InputRead, Op.MemoryCopy, Op.MemoryFill);
  // floats: constants, loads, stores (the bits of their integer twins), numeric operations
  set(0, Op.F32Const, Op.F64Const);
  set(1, 0x2a, 0x2b);
  set(2, 0x38, 0x39);
  for (let op = 0; op < 256; op++) if (FLOAT_POPS[op]) t[op] = FLOAT_POPS[op];
  set(-2, Op.CallHost, Op.GlobalGetExt, Op.GlobalSetExt);
  return t;
})();

/** Access size in bytes of loads and stores (0 for other opcodes). */
export const ACCESS_SIZE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  const s: [number, number][] = [
    [0x28, 4], [0x29, 8], [0x2c, 1], [0x2d, 1], [0x2e, 2], [0x2f, 2], [0x30, 1], [0x31, 1], [0x32, 2], [0x33, 2], [0x34, 4], [0x35, 4],
    [0x36, 4], [0x37, 8], [0x3a, 1], [0x3b, 2], [0x3c, 1], [0x3d, 2], [0x3e, 4],
    [0x2a, 4], [0x2b, 8], [0x38, 4], [0x39, 8], // f32/f64 loads and stores
  ];
  for (const [op, n] of s) t[op] = n;
  return t;
})();

export function isLoad(op: number): boolean {
  return op >= 0x28 && op <= 0x35 && ACCESS_SIZE[op] > 0;
}
export function isStore(op: number): boolean {
  return op >= 0x36 && op <= 0x3e && ACCESS_SIZE[op] > 0;
}

/** Table and segment instructions: they open the TABLES section (one or two entries of the tables tree). */
export function isTableOp(op: number): boolean {
  return (
    op === Op.CallIndirect ||
    op === Op.TableGet ||
    op === Op.TableSet ||
    op === Op.TableSize ||
    op === Op.TableGrow ||
    op === Op.TableFill ||
    op === Op.TableCopy ||
    op === Op.TableInit ||
    op === Op.SegmentDrop ||
    op === Op.MemoryInit
  );
}

/** Opcodes whose step opens the cold part. */
export function opensCold(op: number): boolean {
  return (
    isTableOp(op) ||
    isLoad(op) ||
    isStore(op) ||
    op === Op.GlobalGet ||
    op === Op.GlobalSet ||
    op === Op.MemorySize ||
    op === Op.MemoryGrow ||
    op === Op.Call ||
    op === Op.CallIndirect ||
    op === Op.Return ||
    op === Op.InputSize ||
    op === Op.InputRead ||
    op === Op.OutputWrite ||
    op === Op.MemoryCopy ||
    op === Op.MemoryFill
  );
}

/** Opcodes whose step opens the aux part (when it opens the cold part). */
export function opensAux(op: number): boolean {
  return (
    isTableOp(op) ||
    op === Op.GlobalGet ||
    op === Op.GlobalSet ||
    op === Op.MemoryGrow ||
    op === Op.Call ||
    op === Op.CallIndirect ||
    op === Op.InputSize ||
    op === Op.InputRead ||
    op === Op.OutputWrite
  );
}

/** Tree depth for n leaves: 0 for n <= 1, else ceil(log2 n). */
export function depthFor(n: number): number {
  return n <= 1 ? 0 : n > 2 ** 31 ? 32 : 32 - Math.clz32(n - 1);
}
/** Depth of a 4-values-per-leaf tree (locals, globals) of n values. */
function valuesDepth(n: number): number {
  return depthFor(Math.ceil(n / 4));
}
function memDepth(pages: number): number {
  return pages === 0 ? 0 : 11 + depthFor(pages);
}
function bitLength(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

// ------------------------------------------------------------------------------------------------
// Hashing helpers (each is one keccak256 over a fixed-size preimage).

/** Hashes computed by verifyStep so far (for gas estimates; not part of the verifier's logic). */
export const verifyStats = { hashes: 0 };

function node(l: Uint8Array, r: Uint8Array): Uint8Array {
  verifyStats.hashes++;
  return hash2(P_NODE, l, r);
}

function be(v: bigint, bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

function cat(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 1;
  for (const p of parts) n += p.length;
  const b = new Uint8Array(n);
  b[0] = prefix;
  let o = 1;
  for (const p of parts) (b.set(p, o), (o += p.length));
  verifyStats.hashes++;
  return keccak256(b);
}

/** Stack chain: push each value (deepest first) onto `below`. */
function chain(below: Uint8Array, vals: bigint[]): Uint8Array {
  let h = below;
  for (const v of vals) h = cat(P_STACK, h, be(v, 8));
  return h;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ------------------------------------------------------------------------------------------------
// The verifier.

// ---- calldata access. `w` is the witness being verified (the contract's calldata); every read is
// bounds-checked, so a short witness fails with "Truncated".
let w: Uint8Array = new Uint8Array(0);

function need(end: number): void {
  if (end > w.length) throw new WitnessError("Truncated", `witness of ${w.length} bytes, layout needs at least ${end}`);
}
function word(o: number): Uint8Array {
  need(o + 32);
  return w.subarray(o, o + 32);
}
function u32(o: number): number {
  need(o + 4);
  return ((w[o] << 24) | (w[o + 1] << 16) | (w[o + 2] << 8) | w[o + 3]) >>> 0;
}
function u64(o: number): bigint {
  return (BigInt(u32(o)) << 32n) | BigInt(u32(o + 4));
}
function u48(o: number): bigint {
  need(o + 6);
  return (BigInt((w[o] << 8) | w[o + 1]) << 32n) | BigInt(u32(o + 2));
}
/** Root of a fixed-depth tree from a leaf, its index and `depth` siblings at offset o. */
function climb(leaf: Uint8Array, index: number, o: number, depth: number): Uint8Array {
  return climbFrom(leaf, index, 0, o, depth);
}
/** Continues climbing from height `from` (the node above leaf index p) with siblings at o. */
function climbFrom(h: Uint8Array, p: number, from: number, o: number, depth: number): Uint8Array {
  need(o + 32 * (depth - from));
  for (let i = from; i < depth; i++) {
    const sib = w.subarray(o + 32 * (i - from), o + 32 * (i - from) + 32);
    h = Math.floor(p / 2 ** i) % 2 === 1 ? node(sib, h) : node(h, sib);
  }
  return h;
}
/** Root from two distinct leaves p < q and their combined proof at o (docs/STATE.md, "Two-leaf proofs"). */
function climb2(leafP: Uint8Array, leafQ: Uint8Array, p: number, q: number, o: number, depth: number): Uint8Array {
  const t = bitLength(p ^ q);
  const np = climb(leafP, p, o, t - 1);
  const nq = climb(leafQ, q, o + 32 * (t - 1), t - 1);
  return climbFrom(node(np, nq), p, t, o + 64 * (t - 1), depth);
}
function proof2Bytes(p: number, q: number, depth: number): number {
  return 32 * (depth + bitLength(p ^ q) - 2);
}
const ZERO_LEAF = new Uint8Array(32);

/** Keccak(0x14 ‖ len u32 ‖ root): a leaf of the tables tree. */
function entryLeaf(len: number, root: Uint8Array): Uint8Array {
  return cat(P_ENTRY, be(BigInt(len), 4), root);
}

/** One entry of the tables tree as the witness opens it (docs/STATE.md §4, TABLES). */
interface TEntry {
  index: number; // entry index in the tables tree
  len: number;
  depth: number; // depth of its elements (or data bytes) tree
  p: number; // element leaves opened: none (-1), one (p === q) or two (p < q)
  q: number;
  leafP: Uint8Array | null;
  leafQ: Uint8Array | null;
  proofAt: number; // offset of the elements proof
  root: Uint8Array; // the elements root: from the leaves, or sealed
}

/** The TABLES section: one entry (b null) or two (a.index < b.index), and the tables tree proof. */
interface Tables {
  a: TEntry;
  b: TEntry | null;
  proofAt: number;
  depth: number;
  root: Uint8Array;
}

/** ELEMS of an entry at o: the sealed root, one leaf and its proof, or two leaves p < q and their proof. */
function parseElems(o: number, e: TEntry): number {
  if (e.p < 0) {
    e.root = word(o);
    return o + 32;
  }
  e.leafP = word(o);
  if (e.p === e.q) {
    e.proofAt = o + 32;
    e.root = climb(e.leafP, e.p, e.proofAt, e.depth);
    return o + 32 + 32 * e.depth;
  }
  e.leafQ = word(o + 32);
  e.proofAt = o + 64;
  e.root = climb2(e.leafP, e.leafQ, e.p, e.q, e.proofAt, e.depth);
  return o + 64 + proof2Bytes(e.p, e.q, e.depth);
}

/**
 * Parses TABLES for a table or segment instruction: which entries (a, b = A, B immediates by op),
 * their lengths, which elements the step touches (none when it traps or moves nothing), and the
 * tables tree proof. Returns the section, the trap decided from the lengths (or 0), the chunk of a
 * MemoryInit and the offset after the section.
 */
function parseTables(o: number, op: number, A: number, B: number, C: number, v: bigint[], memLen: bigint): { tables: Tables; trap: number; chunk: number; end: number } {
  // entries: the instruction's table or segment, and the second one of TableCopy (x != y) / TableInit
  const e1 = op === Op.CallIndirect ? B : A;
  const e2 = op === Op.TableInit || (op === Op.TableCopy && A !== B) ? B : -1;
  if (e1 >= C || e2 >= C) bad("tables entry >= the tables tree's size");
  const mk = (index: number, len: number): TEntry => ({
    index, len, depth: op === Op.MemoryInit ? depthFor(Math.ceil(len / 32)) : depthFor(len), p: -1, q: -1, leafP: null, leafQ: null, proofAt: 0, root: Z[0],
  });
  let a: TEntry, b: TEntry | null = null;
  if (e2 < 0) {
    a = mk(e1, u32(o));
    o += 4;
  } else {
    a = mk(Math.min(e1, e2), u32(o));
    b = mk(Math.max(e1, e2), u32(o + 4));
    o += 8;
  }
  const entry = (i: number) => (a.index === i ? a : b!);
  const open = (e: TEntry, i: number, j = i) => ((e.p = Math.min(i, j)), (e.q = Math.max(i, j)));
  const val = (j: number) => v[j] & M32;
  let trap = 0, chunk = 0;
  switch (op) {
    case Op.CallIndirect:
    case Op.TableGet: {
      const i = val(v.length - 1);
      if (i < BigInt(a.len)) open(a, Number(i));
      else trap = op === Op.CallIndirect ? Trap.UndefinedElement : Trap.OutOfBoundsTable;
      break;
    }
    case Op.TableSet: {
      const i = val(0);
      if (i < BigInt(a.len)) open(a, Number(i));
      else trap = Trap.OutOfBoundsTable;
      break;
    }
    case Op.TableFill: {
      const i = val(0), n = val(2);
      if (i + n > BigInt(a.len)) trap = Trap.OutOfBoundsTable;
      else if (n > 0n) open(a, Number(i));
      break;
    }
    case Op.TableCopy:
    case Op.TableInit: {
      const x = entry(A), y = entry(B); // destination, source
      const d = val(0), s = val(1), n = val(2);
      if (s + n > BigInt(y.len) || d + n > BigInt(x.len)) trap = Trap.OutOfBoundsTable;
      else if (n > 0n) {
        const back = op === Op.TableCopy && d > s;
        const di = Number(back ? d + n - 1n : d), si = Number(back ? s + n - 1n : s);
        if (x === y) open(x, di, si);
        else (open(x, di), open(y, si));
      }
      break;
    }
    case Op.MemoryInit: {
      const d = val(0), s = val(1), n = val(2);
      if (s + n > BigInt(a.len) || d + n > memLen) trap = Trap.OutOfBoundsMemory;
      else if (n > 0n) {
        chunk = Math.min(Number(n), 32 - (Number(d) & 31), 32 - (Number(s) & 31));
        open(a, Number(s) >>> 5);
      }
      break;
    }
    // TableSize, TableGrow, SegmentDrop: no element
  }
  o = parseElems(o, a);
  if (b !== null) o = parseElems(o, b);
  const depth = depthFor(C);
  const proofAt = o;
  let root: Uint8Array;
  if (b === null) {
    root = climb(entryLeaf(a.len, a.root), a.index, o, depth);
    o += 32 * depth;
  } else {
    root = climb2(entryLeaf(a.len, a.root), entryLeaf(b.len, b.root), a.index, b.index, o, depth);
    o += proof2Bytes(a.index, b.index, depth);
  }
  return { tables: { a, b, proofAt, depth, root }, trap, chunk, end: o };
}

/**
 * The tables root after a step changed elements of the opened entries (`la`/`lb`: their new leaves
 * p, q; null: unchanged) or entry a's length and root (`setA`: table.grow, a drop), through the
 * same proofs.
 */
function tablesRootWith(t: Tables, la: [Uint8Array | null, Uint8Array | null] | null, lb: [Uint8Array | null, Uint8Array | null] | null, setA?: { len: number; root: Uint8Array }): Uint8Array {
  const rootOf = (e: TEntry, l: [Uint8Array | null, Uint8Array | null] | null) =>
    l === null ? e.root : e.p === e.q ? climb(l[0]!, e.p, e.proofAt, e.depth) : climb2(l[0]!, l[1]!, e.p, e.q, e.proofAt, e.depth);
  const ha = setA ? entryLeaf(setA.len, setA.root) : entryLeaf(t.a.len, rootOf(t.a, la));
  if (t.b === null) return climb(ha, t.a.index, t.proofAt, t.depth);
  return climb2(ha, entryLeaf(t.b.len, rootOf(t.b, lb)), t.a.index, t.b.index, t.proofAt, t.depth);
}

function bad(what: string): never {
  throw new WitnessError("BadField", what);
}

export function verifyStep(preRoot: Uint8Array, witness: Uint8Array): Uint8Array {
  w = witness;
  try {
    return step(preRoot);
  } finally {
    w = new Uint8Array(0);
  }
}

function step(preRoot: Uint8Array): Uint8Array {
  // ---- header: regs, code leaf, code proof
  need(64);
  const regs = w.subarray(0, 32);
  const pc = u32(0);
  const steps = u48(4);
  const stepLimit = u48(10);
  const sp = u32(16);
  const depth = u32(20);
  const status = w[28];
  const trapKind = w[29];
  const codeDepth = w[30];
  if (w[31] !== 0) bad("regs byte 31 is reserved");
  if (codeDepth > 32) bad("code depth > 32");
  if (pc >>> 1 >= 2 ** codeDepth) bad("pc outside the code tree");
  const codeLeaf = w.subarray(32, 64);
  const codeRoot = climb(codeLeaf, pc >>> 1, 64, codeDepth);
  let o = 64 + 32 * codeDepth;
  const io = (pc & 1) * 16;
  const op = codeLeaf[io];
  if (codeLeaf[io + 1] | codeLeaf[io + 2] | codeLeaf[io + 3]) bad("instruction padding");
  const A = ((codeLeaf[io + 4] << 24) | (codeLeaf[io + 5] << 16) | (codeLeaf[io + 6] << 8) | codeLeaf[io + 7]) >>> 0;
  const B = ((codeLeaf[io + 8] << 24) | (codeLeaf[io + 9] << 16) | (codeLeaf[io + 10] << 8) | codeLeaf[io + 11]) >>> 0;
  const C = ((codeLeaf[io + 12] << 24) | (codeLeaf[io + 13] << 16) | (codeLeaf[io + 14] << 8) | codeLeaf[io + 15]) >>> 0;

  const stateHash = (r: Uint8Array, stack: Uint8Array, locals: Uint8Array, cold: Uint8Array) => cat(P_STATE, r, stack, locals, codeRoot, cold);
  const checkPre = (r: Uint8Array) => {
    if (o !== w.length) throw new WitnessError("BadLength", `witness has ${w.length} bytes, layout ${o}`);
    if (!equal(r, preRoot)) throw new WitnessError("RootMismatch", "the witness does not open the pre-state root");
  };
  // steps + 1 wraps at 2^48 (unreachable: the market caps step limits at 2^48 - 2)
  const newRegs = (f: { pc?: number; steps?: bigint; sp?: number; depth?: number; exitCode?: number; status?: number; trap?: number }) => {
    const r = regs.slice();
    if (f.pc !== undefined) r.set(be(BigInt(f.pc), 4), 0);
    if (f.steps !== undefined) r.set(be(f.steps & 0xffffffffffffn, 6), 4);
    if (f.sp !== undefined) r.set(be(BigInt(f.sp), 4), 16);
    if (f.depth !== undefined) r.set(be(BigInt(f.depth), 4), 20);
    if (f.exitCode !== undefined) r.set(be(BigInt(f.exitCode), 4), 24);
    if (f.status !== undefined) r[28] = f.status;
    if (f.trap !== undefined) r[29] = f.trap;
    return r;
  };

  // ---- a step that does not execute the instruction: terminal state, or the step limit
  if (status !== Status.Running || steps >= stepLimit) {
    const stackHash = word(o);
    const localsRoot = word(o + 32);
    const coldHash = word(o + 64);
    o += 96;
    checkPre(stateHash(regs, stackHash, localsRoot, coldHash));
    if (status !== Status.Running) return preRoot.slice();
    return stateHash(newRegs({ steps: steps + 1n, status: Status.Trapped, trap: Trap.StepLimit }), stackHash, localsRoot, coldHash);
  }

  // ---- STACK: below ‖ k values (deepest first)
  const k = POPS[op];
  if (k === -2) throw new WitnessError("Unprovable", `opcode 0x${op.toString(16)} exists only in the embedding`);
  if (k < 0) throw new WitnessError("BadOpcode", `opcode 0x${op.toString(16)}`);
  if (sp < k) bad("stack shallower than the instruction's operands");
  const below = word(o);
  o += 32;
  const v: bigint[] = [];
  for (let j = 0; j < k; j++) v.push(u64(o + 8 * j));
  o += 8 * k;
  const stackHash = chain(below, v);
  const top = k > 0 ? v[k - 1] : 0n;

  // ---- LOCALS: root, or leaf ‖ proof for local.get/set/tee
  const localOp = op === Op.LocalGet || op === Op.LocalSet || op === Op.LocalTee;
  let localsRoot: Uint8Array, localLeaf: Uint8Array | null = null, localProofAt = 0, localDepth = 0;
  if (localOp) {
    if (A >= B) bad("local index >= numLocals");
    localDepth = valuesDepth(B);
    localLeaf = word(o);
    localProofAt = o + 32;
    localsRoot = climb(localLeaf, A >>> 2, localProofAt, localDepth);
    o += 32 + 32 * localDepth;
  } else {
    localsRoot = word(o);
    o += 32;
  }

  // ---- COLD
  const coldOpen = opensCold(op);
  let coldHash: Uint8Array;
  // cold fields (valid when coldOpen)
  let memPages = 0, outLen = 0, memRoot = Z[0], framesHash = Z[0], auxHash = Z[0];
  let limits: Uint8Array = new Uint8Array(20);
  let stackLimit = 0, callDepthLimit = 0, ceiling = 0, outputLimit = 0, inputLen = 0;
  let globalsRoot = Z[0], tablesRoot = Z[0], inputRoot = Z[0], outputRoot = Z[0];
  let globalLeaf: Uint8Array | null = null, globalProofAt = 0, globalDepth = 0;
  let tb: Tables | null = null; // the opened TABLES section
  let funcLeaf: Uint8Array | null = null; // FUNC: the stub leaf a reference stands for
  let inputLeaf: Uint8Array | null = null;
  let outLeaf: Uint8Array | null = null, outProofAt = 0, outDepth = 0;
  let frameBelow: Uint8Array | null = null, callerLocals: Uint8Array | null = null, returnPc = 0;
  // memory section: leaves p (and q > p), proof offset
  let memP = -1, memQ = -1, memLeafP: Uint8Array | null = null, memLeafQ: Uint8Array | null = null, memProofAt = 0, memD = 0;
  // the outcome decided while parsing (trap kind, or 0)
  let trapNow = 0;
  // resumable-operation chunk (bytes moved this step) and its addresses
  let chunk = 0;

  if (coldOpen) {
    memPages = u32(o);
    outLen = u32(o + 4);
    if (memPages > MAX_PAGES) bad("memory pages > 65536");
    const memInfo = w.subarray(o, o + 8);
    o += 8;
    const memLen = BigInt(memPages) * PAGE;
    memD = memDepth(memPages);

    // -- AUX
    if (opensAux(op)) {
      need(o + 20);
      limits = w.subarray(o, o + 20);
      stackLimit = u32(o);
      callDepthLimit = u32(o + 4);
      ceiling = u32(o + 8);
      outputLimit = u32(o + 12);
      inputLen = u32(o + 16);
      o += 20;
      // GLOBALS
      if (op === Op.GlobalGet || op === Op.GlobalSet) {
        if (A >= B) bad("global index >= number of globals");
        globalDepth = valuesDepth(B);
        globalLeaf = word(o);
        globalProofAt = o + 32;
        globalsRoot = climb(globalLeaf, A >>> 2, globalProofAt, globalDepth);
        o += 32 + 32 * globalDepth;
      } else {
        globalsRoot = word(o);
        o += 32;
      }
      // TABLES
      if (isTableOp(op)) {
        const r = parseTables(o, op, A, B, C, v, memLen);
        tb = r.tables;
        trapNow = r.trap;
        chunk = r.chunk;
        tablesRoot = tb.root;
        o = r.end;
      } else {
        tablesRoot = word(o);
        o += 32;
      }
      // INPUT
      let inputOpen = false, inOff = 0;
      if (op === Op.InputRead) {
        const dst = v[0] & M32, off = v[1] & M32, n = v[2] & M32;
        if (off + n > BigInt(inputLen)) trapNow = Trap.InputOutOfBounds;
        else if (dst + n > memLen) trapNow = Trap.OutOfBoundsMemory;
        else if (n > 0n) {
          inOff = Number(off);
          const d = Number(dst);
          chunk = Math.min(Number(n), 32 - (d & 31), 32 - (inOff & 31));
          inputOpen = true;
        }
      }
      if (inputOpen) {
        const d = depthFor(Math.ceil(inputLen / 32));
        inputLeaf = word(o);
        inputRoot = climb(inputLeaf, inOff >>> 5, o + 32, d);
        o += 32 + 32 * d;
      } else {
        inputRoot = word(o);
        o += 32;
      }
      // OUTPUT
      let outOpen = false;
      if (op === Op.OutputWrite) {
        const src = v[0] & M32, n = v[1] & M32;
        if (src + n > memLen) trapNow = Trap.OutOfBoundsMemory;
        else if (BigInt(outLen) + n > BigInt(outputLimit)) trapNow = Trap.OutputLimit;
        else if (n > 0n) {
          chunk = Math.min(Number(n), 32 - (Number(src) & 31), 32 - (outLen & 31));
          outOpen = true;
        }
      }
      if (outOpen) {
        outDepth = depthFor(Math.ceil(outputLimit / 32));
        outLeaf = word(o);
        outProofAt = o + 32;
        outputRoot = climb(outLeaf, outLen >>> 5, outProofAt, outDepth);
        o += 32 + 32 * outDepth;
      } else {
        outputRoot = word(o);
        o += 32;
      }
      auxHash = cat(P_AUX, limits, globalsRoot, tablesRoot, inputRoot, outputRoot);
    } else {
      auxHash = word(o);
      o += 32;
    }

    // -- FRAMES
    if (op === Op.Return) {
      if (depth < 2) bad("return from the entry frame");
      frameBelow = word(o);
      callerLocals = word(o + 32);
      returnPc = u32(o + 64);
      framesHash = cat(P_FRAME, frameBelow, callerLocals, w.subarray(o + 64, o + 68));
      o += 68;
    } else {
      framesHash = word(o);
      o += 32;
    }

    // -- MEM: which leaves this step touches (none when it traps or moves nothing)
    if (isLoad(op) || isStore(op)) {
      const addr = (isLoad(op) ? top : v[0]) & M32;
      const ea = addr + BigInt(A);
      const size = BigInt(ACCESS_SIZE[op]);
      if (ea + size > memLen) trapNow = Trap.OutOfBoundsMemory;
      else {
        memP = Number(ea >> 5n);
        memQ = Number((ea + size - 1n) >> 5n);
      }
    } else if (op === Op.InputRead) {
      if (trapNow === 0 && chunk > 0) memP = memQ = Number(v[0] & M32) >>> 5;
    } else if (op === Op.OutputWrite || op === Op.MemoryInit) {
      if (trapNow === 0 && chunk > 0) memP = memQ = Number(v[0] & M32) >>> 5;
    } else if (op === Op.MemoryCopy) {
      const dst = v[0] & M32, src = v[1] & M32, n = v[2] & M32;
      if (src + n > memLen || dst + n > memLen) trapNow = Trap.OutOfBoundsMemory;
      else if (n > 0n) {
        const d = Number(dst), s = Number(src), nn = Number(n);
        let dl: number, sl: number;
        if (d > s) {
          const de = d + nn, se = s + nn;
          chunk = Math.min(nn, ((de - 1) & 31) + 1, ((se - 1) & 31) + 1);
          dl = Math.floor((de - chunk) / 32);
          sl = Math.floor((se - chunk) / 32);
        } else {
          chunk = Math.min(nn, 32 - (d & 31), 32 - (s & 31));
          dl = Math.floor(d / 32);
          sl = Math.floor(s / 32);
        }
        memP = Math.min(dl, sl);
        memQ = Math.max(dl, sl);
      }
    } else if (op === Op.MemoryFill) {
      const dst = v[0] & M32, n = v[2] & M32;
      if (dst + n > memLen) trapNow = Trap.OutOfBoundsMemory;
      else if (n > 0n) {
        chunk = Math.min(Number(n), 32 - (Number(dst) & 31));
        memP = memQ = Number(dst) >>> 5;
      }
    }
    if (memP >= 0) {
      memLeafP = word(o);
      if (memP === memQ) {
        memProofAt = o + 32;
        memRoot = climb(memLeafP, memP, memProofAt, memD);
        o += 32 + 32 * memD;
      } else {
        memLeafQ = word(o + 32);
        memProofAt = o + 64;
        memRoot = climb2(memLeafP, memLeafQ, memP, memQ, memProofAt, memD);
        o += 64 + proof2Bytes(memP, memQ, memD);
      }
    } else {
      memRoot = word(o);
      o += 32;
    }
    coldHash = cat(P_COLD, memInfo, memRoot, framesHash, auxHash);

    // -- FUNC: the invoke stub of the function a reference stores (table.set, table.fill)
    const stored = op === Op.TableSet ? v[1] & M32 : op === Op.TableFill ? v[1] & M32 : 0n;
    const writes = op === Op.TableSet ? tb!.a.p >= 0 : op === Op.TableFill && tb!.a.p >= 0;
    if (writes && stored !== 0n) {
      const f = Number(stored) - 1;
      if (f >= 2 ** codeDepth) bad("reference outside the code tree");
      funcLeaf = word(o);
      const r = climb(funcLeaf, f, o + 32, codeDepth);
      o += 32 + 32 * codeDepth;
      if (!equal(r, codeRoot)) throw new WitnessError("RootMismatch", "the FUNC leaf is not in the code tree");
      if (funcLeaf[0] !== Op.Call || funcLeaf[16] !== Op.Halt || readBE4(funcLeaf, 24) !== Number(stored)) bad("the reference is not a function's invoke stub");
    }
  } else {
    coldHash = word(o);
    o += 32;
  }

  checkPre(stateHash(regs, stackHash, localsRoot, coldHash));

  // ================================================================================================
  // Execute. Defaults: pc + 1, the stack loses its k operands and gains `out`, nothing else changes.
  const steps1 = steps + 1n;
  const trapped = (kind: number) =>
    stateHash(newRegs({ steps: steps1, status: Status.Trapped, trap: kind }), stackHash, localsRoot, coldHash);
  if (trapNow !== 0) return trapped(trapNow);

  let nextPc = pc + 1;
  let out: bigint[] = [];
  let newDepth = depth;
  let newLocals = localsRoot;
  let newMemPages = memPages, newOutLen = outLen, newMemRoot = memRoot, newFrames = framesHash;
  let newGlobals = globalsRoot, newOutput = outputRoot, newTables = tablesRoot;
  let status1: number = Status.Running;
  let exitCode1: number | undefined;
  const a = k >= 2 ? v[k - 2] : 0n; // first operand of a binary op
  const b = top; // second operand (the top)
  const i32 = (x: bigint) => x & M32;
  const s32 = (x: bigint) => BigInt.asIntN(32, x & M32);
  const s64 = (x: bigint) => BigInt.asIntN(64, x);
  const bool = (c: boolean) => (c ? 1n : 0n);
  const clz = (x: bigint, bits: number) => {
    let n = 0;
    for (let i = bits - 1; i >= 0 && ((x >> BigInt(i)) & 1n) === 0n; i--) n++;
    return BigInt(n);
  };
  const ctz = (x: bigint, bits: number) => {
    let n = 0;
    for (let i = 0; i < bits && ((x >> BigInt(i)) & 1n) === 0n; i++) n++;
    return BigInt(n);
  };
  const popcnt = (x: bigint) => {
    let n = 0n;
    for (; x > 0n; x >>= 1n) n += x & 1n;
    return n;
  };
  const rotl = (x: bigint, r: bigint, bits: bigint, mask: bigint) => {
    r %= bits;
    return ((x << r) | (x >> ((bits - r) % bits))) & mask;
  };
  /** Leaf with `bytes` little-endian bytes of `value` written at byte offset `at`. */
  const writeLE = (leaf: Uint8Array, at: number, value: bigint, bytes: number) => {
    for (let i = 0; i < bytes; i++) leaf[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
  };
  const memRootWith = (p: Uint8Array, q: Uint8Array | null): Uint8Array =>
    q === null ? climb(p, memP, memProofAt, memD) : climb2(p, q, memP, memQ, memProofAt, memD);

  switch (op) {
    // ---------------------------------------------------------------- stack, locals, globals
    case Op.Drop:
      break;
    case Op.Select:
      out = [(v[2] & M32) !== 0n ? v[0] : v[1]];
      break;
    case Op.Nip:
      out = [v[1]];
      break;
    case Op.LocalGet:
      out = [readBE8(localLeaf!, (A & 3) * 8)];
      break;
    case Op.LocalSet:
    case Op.LocalTee: {
      const leaf = localLeaf!.slice();
      leaf.set(be(top, 8), (A & 3) * 8);
      newLocals = climb(leaf, A >>> 2, localProofAt, localDepth);
      if (op === Op.LocalTee) out = [top];
      break;
    }
    case Op.GlobalGet:
      out = [readBE8(globalLeaf!, (A & 3) * 8)];
      break;
    case Op.GlobalSet: {
      const leaf = globalLeaf!.slice();
      leaf.set(be(top, 8), (A & 3) * 8);
      newGlobals = climb(leaf, A >>> 2, globalProofAt, globalDepth);
      break;
    }
    case Op.I32Const:
    case Op.F32Const:
      out = [BigInt(A)];
      break;
    case Op.I64Const:
    case Op.F64Const:
      out = [(BigInt(B) << 32n) | BigInt(A)];
      break;
    case Op.RefFunc:
      out = [BigInt(A) + 1n];
      break;

    // ---------------------------------------------------------------- tables and segments
    case Op.TableGet:
      out = [BigInt(readBE4(tb!.a.leafP!, 24))];
      break;
    case Op.TableSet:
      newTables = tablesRootWith(tb!, [funcLeaf ?? ZERO_LEAF, null], null);
      break;
    case Op.TableSize:
      out = [BigInt(tb!.a.len)];
      break;
    case Op.TableGrow: {
      const e = tb!.a, n = v[1] & M32, init = v[0] & M32;
      if (BigInt(e.len) + n > BigInt(B)) {
        out = [M32, 0n, 0n, 0n];
        break;
      }
      const len1 = e.len + Number(n);
      let r = e.root;
      for (let h = depthFor(e.len); h < depthFor(len1); h++) r = node(r, Z[h]);
      newTables = tablesRootWith(tb!, null, null, { len: len1, root: r });
      out = [BigInt(e.len), BigInt(e.len), init, init === 0n ? 0n : n];
      break;
    }
    case Op.SegmentDrop:
      newTables = tablesRootWith(tb!, null, null, { len: 0, root: Z[0] });
      break;
    case Op.TableFill:
    case Op.TableCopy:
    case Op.TableInit: {
      const n = v[2] & M32;
      if (n === 0n) break; // pops its operands
      const x = tb!.a.index === A ? tb!.a : tb!.b!; // the destination table
      const d = Number(v[0] & M32), s = Number(v[1] & M32), nn = Number(n);
      // the element moved (TableCopy with d > s moves the last one) and its new value
      const back = op === Op.TableCopy && d > s;
      const dstIdx = back ? d + nn - 1 : d, srcIdx = back ? s + nn - 1 : s;
      let value: Uint8Array;
      if (op === Op.TableFill) value = funcLeaf ?? ZERO_LEAF;
      else {
        const src = tb!.b === null ? tb!.a : tb!.a === x ? tb!.b : tb!.a;
        value = src.p === srcIdx ? src.leafP! : src.leafQ!;
      }
      const leaves: [Uint8Array | null, Uint8Array | null] = [x.leafP, x.leafQ];
      if (x.p === dstIdx) leaves[0] = value;
      else leaves[1] = value;
      if (tb!.b === null) newTables = tablesRootWith(tb!, leaves, null);
      else if (x === tb!.a) newTables = tablesRootWith(tb!, leaves, [tb!.b.leafP, null]);
      else newTables = tablesRootWith(tb!, [tb!.a.leafP, null], leaves);
      if (nn > 1) {
        nextPc = pc;
        if (op === Op.TableFill) out = [i32(v[0] + 1n), v[1], n - 1n];
        else if (back) out = [v[0], v[1], n - 1n];
        else out = [i32(v[0] + 1n), i32(v[1] + 1n), n - 1n];
      }
      break;
    }

    // ---------------------------------------------------------------- memory
    case Op.MemorySize:
      out = [BigInt(memPages)];
      break;
    case Op.MemoryGrow: {
      const delta = Number(top & M32);
      if (delta > ceiling - memPages) out = [M32];
      else {
        out = [BigInt(memPages)];
        newMemPages = memPages + delta;
        let r = memRoot;
        for (let h = memDepth(memPages); h < memDepth(newMemPages); h++) r = node(r, Z[h]);
        newMemRoot = r;
      }
      break;
    }

    // ---------------------------------------------------------------- control
    case Op.Jump:
      nextPc = A;
      break;
    case Op.JumpIf:
      nextPc = (top & M32) !== 0n ? A : pc + 1;
      break;
    case Op.JumpUnless:
      nextPc = (top & M32) === 0n ? A : pc + 1;
      break;
    case Op.BrTable: {
      const i = Number(top & M32);
      nextPc = pc + 1 + Math.min(i, A);
      break;
    }
    case Op.Call:
    case Op.CallIndirect: {
      let entry = A, nLocals = B, maxHeight = C, spAfterPop = sp;
      if (op === Op.CallIndirect) {
        const t = tb!.a.leafP!;
        if (t[16] === 0) return trapped(Trap.UninitializedElement);
        if (t[16] !== Op.Halt) throw new WitnessError("Unprovable", "table element is not a function of this program");
        // the element is its function's invoke stub leaf: [Call entry numLocals maxHeight][Halt typeId f+1 0]
        const typeId = readBE4(t, 20);
        if (typeId !== A) return trapped(Trap.IndirectCallTypeMismatch);
        entry = readBE4(t, 4);
        nLocals = readBE4(t, 8);
        maxHeight = readBE4(t, 12);
        spAfterPop = sp - 1;
      }
      if (depth >= callDepthLimit) return trapped(Trap.CallStackExhausted);
      if (spAfterPop + maxHeight > stackLimit) return trapped(Trap.ValueStackExhausted);
      newFrames = cat(P_FRAME, framesHash, localsRoot, be(BigInt(pc + 1), 4));
      newLocals = Z[valuesDepth(nLocals)];
      newDepth = depth + 1;
      nextPc = entry;
      break;
    }
    case Op.Return:
      newFrames = frameBelow!;
      newLocals = callerLocals!;
      newDepth = depth - 1;
      nextPc = returnPc;
      break;
    case Op.Halt:
      status1 = Status.Halted;
      nextPc = pc;
      break;
    case Op.Exit:
      status1 = Status.Halted;
      exitCode1 = Number(top & M32);
      nextPc = pc;
      break;
    case Op.Trap:
      if (A !== 0) return trapped(A & 0xff);
      nextPc = pc; // kind 0 is never emitted; the machine then just counts the step
      break;

    // ---------------------------------------------------------------- host I/O and bulk memory
    case Op.InputSize:
      out = [BigInt(inputLen)];
      break;
    case Op.InputRead:
    case Op.MemoryInit:
    case Op.MemoryCopy:
    case Op.MemoryFill:
    case Op.OutputWrite: {
      const n = v[k - 1] & M32;
      if (n === 0n) break; // pops its operands
      const last = BigInt(chunk) === n;
      if (!last) nextPc = pc; // not finished: the same instruction runs again
      if (op === Op.OutputWrite) {
        const src = Number(v[0] & M32);
        const leaf = outLeaf!.slice();
        leaf.set(memLeafP!.subarray(src & 31, (src & 31) + chunk), outLen & 31);
        newOutput = climb(leaf, outLen >>> 5, outProofAt, outDepth);
        newOutLen = outLen + chunk;
        if (!last) out = [i32(v[0] + BigInt(chunk)), n - BigInt(chunk)];
        break;
      }
      const dst = Number(v[0] & M32);
      let dstAt: number, bytes: Uint8Array;
      if (op === Op.MemoryFill) {
        dstAt = dst;
        bytes = new Uint8Array(chunk).fill(Number(v[1] & 0xffn));
      } else if (op === Op.InputRead || op === Op.MemoryInit) {
        const off = Number(v[1] & M32);
        dstAt = dst;
        bytes = (op === Op.InputRead ? inputLeaf! : tb!.a.leafP!).slice(off & 31, (off & 31) + chunk);
      } else {
        const src = Number(v[1] & M32), nn = Number(n);
        const srcAt = dst > src ? src + nn - chunk : src;
        dstAt = dst > src ? dst + nn - chunk : dst;
        const srcLeaf = Math.floor(srcAt / 32) === memP ? memLeafP! : memLeafQ!;
        bytes = srcLeaf.slice(srcAt & 31, (srcAt & 31) + chunk);
      }
      const dstIsP = Math.floor(dstAt / 32) === memP;
      const lp = memLeafP!.slice();
      const lq = memLeafQ === null ? null : memLeafQ.slice();
      (dstIsP ? lp : lq!).set(bytes, dstAt & 31);
      newMemRoot = memRootWith(lp, lq);
      if (!last) {
        const c = BigInt(chunk);
        if (op === Op.MemoryCopy && dst > Number(v[1] & M32)) out = [v[0], v[1], n - c];
        else if (op === Op.MemoryFill) out = [i32(v[0] + c), v[1], n - c];
        else out = [i32(v[0] + c), i32(v[1] + c), n - c];
      }
      break;
    }

    default: {
      if (isLoad(op)) {
        const ea = Number((top & M32) + BigInt(A));
        const size = ACCESS_SIZE[op];
        let x = 0n;
        for (let i = size - 1; i >= 0; i--) {
          const at = ea + i;
          const leaf = Math.floor(at / 32) === memP ? memLeafP! : memLeafQ!;
          x = (x << 8n) | BigInt(leaf[at & 31]);
        }
        const signed = op === 0x2c || op === 0x2e || op === 0x30 || op === 0x32 || op === 0x34;
        const is64 = op === 0x29 || op === 0x2b || (op >= 0x30 && op <= 0x35);
        if (signed) x = BigInt.asIntN(size * 8, x);
        out = [x & (is64 ? M64 : M32)];
        break;
      }
      if (isStore(op)) {
        const ea = Number((v[0] & M32) + BigInt(A));
        const size = ACCESS_SIZE[op];
        const lp = memLeafP!.slice();
        const lq = memQ !== memP ? memLeafQ!.slice() : null;
        for (let i = 0; i < size; i++) {
          const at = ea + i;
          const leaf = Math.floor(at / 32) === memP ? lp : lq!;
          leaf[at & 31] = Number((top >> BigInt(8 * i)) & 0xffn);
        }
        newMemRoot = memRootWith(lp, lq);
        break;
      }
      // numeric
      let r: bigint;
      switch (op) {
        case 0x45: r = bool(i32(b) === 0n); break;
        case 0x46: r = bool(i32(a) === i32(b)); break;
        case 0x47: r = bool(i32(a) !== i32(b)); break;
        case 0x48: r = bool(s32(a) < s32(b)); break;
        case 0x49: r = bool(i32(a) < i32(b)); break;
        case 0x4a: r = bool(s32(a) > s32(b)); break;
        case 0x4b: r = bool(i32(a) > i32(b)); break;
        case 0x4c: r = bool(s32(a) <= s32(b)); break;
        case 0x4d: r = bool(i32(a) <= i32(b)); break;
        case 0x4e: r = bool(s32(a) >= s32(b)); break;
        case 0x4f: r = bool(i32(a) >= i32(b)); break;
        case 0x50: r = bool(b === 0n); break;
        case 0x51: r = bool(a === b); break;
        case 0x52: r = bool(a !== b); break;
        case 0x53: r = bool(s64(a) < s64(b)); break;
        case 0x54: r = bool(a < b); break;
        case 0x55: r = bool(s64(a) > s64(b)); break;
        case 0x56: r = bool(a > b); break;
        case 0x57: r = bool(s64(a) <= s64(b)); break;
        case 0x58: r = bool(a <= b); break;
        case 0x59: r = bool(s64(a) >= s64(b)); break;
        case 0x5a: r = bool(a >= b); break;
        case 0x67: r = clz(i32(b), 32); break;
        case 0x68: r = ctz(i32(b), 32); break;
        case 0x69: r = popcnt(i32(b)); break;
        case 0x6a: r = (a + b) & M32; break;
        case 0x6b: r = (a - b) & M32; break;
        case 0x6c: r = (i32(a) * i32(b)) & M32; break;
        case 0x6d:
        case 0x6e:
        case 0x6f:
        case 0x70: {
          if (i32(b) === 0n) return trapped(Trap.IntegerDivideByZero);
          const signed = op === 0x6d || op === 0x6f;
          const x = signed ? s32(a) : i32(a), y = signed ? s32(b) : i32(b);
          if (op === 0x6d && x === -(2n ** 31n) && y === -1n) return trapped(Trap.IntegerOverflow);
          r = (op === 0x6d || op === 0x6e ? x / y : x % y) & M32;
          break;
        }
        case 0x71: r = i32(a) & i32(b); break;
        case 0x72: r = i32(a) | i32(b); break;
        case 0x73: r = i32(a) ^ i32(b); break;
        case 0x74: r = (i32(a) << (b & 31n)) & M32; break;
        case 0x75: r = (s32(a) >> (b & 31n)) & M32; break;
        case 0x76: r = i32(a) >> (b & 31n); break;
        case 0x77: r = rotl(i32(a), b & 31n, 32n, M32); break;
        case 0x78: r = rotl(i32(a), (32n - (b & 31n)) & 31n, 32n, M32); break;
        case 0x79: r = clz(b, 64); break;
        case 0x7a: r = ctz(b, 64); break;
        case 0x7b: r = popcnt(b); break;
        case 0x7c: r = (a + b) & M64; break;
        case 0x7d: r = (a - b) & M64; break;
        case 0x7e: r = (a * b) & M64; break;
        case 0x7f:
        case 0x80:
        case 0x81:
        case 0x82: {
          if (b === 0n) return trapped(Trap.IntegerDivideByZero);
          const signed = op === 0x7f || op === 0x81;
          const x = signed ? s64(a) : a, y = signed ? s64(b) : b;
          if (op === 0x7f && x === -(2n ** 63n) && y === -1n) return trapped(Trap.IntegerOverflow);
          r = (op === 0x7f || op === 0x80 ? x / y : x % y) & M64;
          break;
        }
        case 0x83: r = a & b; break;
        case 0x84: r = a | b; break;
        case 0x85: r = a ^ b; break;
        case 0x86: r = (a << (b & 63n)) & M64; break;
        case 0x87: r = (s64(a) >> (b & 63n)) & M64; break;
        case 0x88: r = a >> (b & 63n); break;
        case 0x89: r = rotl(a, b & 63n, 64n, M64); break;
        case 0x8a: r = rotl(a, (64n - (b & 63n)) & 63n, 64n, M64); break;
        case 0xa7: r = i32(b); break;
        case 0xac: r = s32(b) & M64; break;
        case 0xad: r = i32(b); break;
        case 0xc0: r = BigInt.asIntN(8, b) & M32; break;
        case 0xc1: r = BigInt.asIntN(16, b) & M32; break;
        case 0xc2: r = BigInt.asIntN(8, b) & M64; break;
        case 0xc3: r = BigInt.asIntN(16, b) & M64; break;
        case 0xc4: r = BigInt.asIntN(32, b) & M64; break;
        default: {
          if (!FLOAT_POPS[op]) throw new WitnessError("BadOpcode", `opcode 0x${op.toString(16)}`);
          // floats (float.ts): comparisons, arithmetic, conversions
          const f = floatStepBig(op, a, b);
          if (typeof f !== "bigint") return trapped(f.trap);
          r = f;
        }
      }
      out = [r];
    }
  }

  // ---- post root
  const stack1 = chain(below, out);
  let cold1 = coldHash;
  if (coldOpen) {
    const aux1 = opensAux(op) ? cat(P_AUX, limits, newGlobals, newTables, inputRoot, newOutput) : auxHash;
    const memInfo1 = new Uint8Array(8);
    memInfo1.set(be(BigInt(newMemPages), 4), 0);
    memInfo1.set(be(BigInt(newOutLen), 4), 4);
    cold1 = cat(P_COLD, memInfo1, newMemRoot, newFrames, aux1);
  }
  const regs1 = newRegs({ pc: nextPc >>> 0, steps: steps1, sp: sp - k + out.length, depth: newDepth, exitCode: exitCode1, status: status1 });
  return stateHash(regs1, stack1, newLocals, cold1);
}

function readBE4(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function readBE8(b: Uint8Array, o: number): bigint {
  return (BigInt(readBE4(b, o)) << 32n) | BigInt(readBE4(b, o + 4));
}
