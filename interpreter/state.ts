/**
 * The state commitment (normative description: docs/STATE.md).
 *
 *   stateRoot = keccak(0x10 ‖ regs ‖ stackHash ‖ localsRoot ‖ codeRoot ‖ coldHash)
 *   coldHash  = keccak(0x11 ‖ memInfo ‖ memRoot ‖ framesHash ‖ auxHash)
 *   auxHash   = keccak(0x12 ‖ limits ‖ globalsRoot ‖ tableRoot ‖ inputRoot ‖ outputRoot)
 *   tableRoot = the tables tree: tables, element segments, data segments (keccak(0x14 ‖ len ‖ root) each)
 *
 * Everything here is lazy: the executor never hashes. A StateTracker attached to a machine
 * (tracker(m)) keeps what is expensive to recompute between two looks at the same machine:
 * - the memory tree (interpreter/hash/merkle.ts, deepened as memory grows), updated from the leaves
 *   the executor stamped in Machine.mark since the tracker's last look (marks above the epoch of
 *   that look: marksAbove in hash/native.ts);
 * - the operand-stack and frame hash chains as prefix caches: on each look the cached entries are
 *   compared (no hashing) with the machine's and only the suffix that changed is rehashed;
 * - the output tree (append-only: only the leaves past the last look are rehashed);
 * - per program (WeakMap): the code tree; per input array: the input tree; per table: its tree
 *   while its version (bumped on every write) is unchanged; per segment array: its tree.
 * Assumption (true for tasks): memory changes only through the machine's own steps. A machine
 * restored from a snapshot gets a fresh tracker (the first look hashes its whole memory); roots
 * depend on the state only, never on how the tracker got there.
 */
import { chainHashes, keccak256, rootOverNodes, zeroHashesFor } from "./hash/keccak.js";
import { MerkleTree, merkleRootOfBytes, zeroHashesFlat } from "./hash/merkle.js";
import { marksAbove, nativeHasher, offHeap } from "./hash/native.js";
import { Op, Status, type Limits } from "./isa.js";
import { fullLimits } from "./link.js";
import { Machine, type MachineEnv, type Snapshot } from "./machine.js";
import { tablesTreeSize, type Program } from "./program.js";
import { MAX_PAGES, MAX_TABLE_ELEMENTS, PAGE_BYTES, type FuncRef } from "./runtime.js";

// ------------------------------------------------------------------------------------------------
// Domain prefixes and constants (docs/STATE.md, "Hashes").

export const P_NODE = 0x01; // Merkle internal node: keccak(0x01 ‖ left ‖ right)
export const P_STACK = 0x02; // operand stack push: keccak(0x02 ‖ below ‖ value u64)
export const P_FRAME = 0x03; // frame push: keccak(0x03 ‖ below ‖ callerLocalsRoot ‖ returnPc u32)
export const P_STATE = 0x10; // state root
export const P_COLD = 0x11; // cold part
export const P_AUX = 0x12; // aux part
export const P_PROGRAM = 0x13; // program descriptor (what a task registers)
export const P_ENTRY = 0x14; // entry of the tables tree: keccak(0x14 ‖ len u32 ‖ root)

/** Zero-subtree roots: Z[0] = 32 zero bytes, Z[d+1] = node(Z[d], Z[d]). */
export const Z: readonly Uint8Array[] = zeroHashesFor(P_NODE);
export const ZERO32: Uint8Array = new Uint8Array(32);

/** Leaves of the memory tree per 64 KiB page, and the depth of a one-page tree. */
export const LEAVES_PER_PAGE = PAGE_BYTES / 32;
export const PAGE_DEPTH = 11;

/** Depth of a tree with n leaves: 0 for n <= 1, else ceil(log2(n)). */
export function depthOf(n: number): number {
  if (n <= 1) return 0;
  if (n > 2 ** 32) throw new RangeError(`tree of ${n} leaves is too large`);
  return n > 2 ** 31 ? 32 : 32 - Math.clz32(n - 1);
}

/** Depth of the memory tree for a memory of `pages` pages: 0 for no memory, else 11 + depthOf(pages). */
export function memDepth(pages: number): number {
  return pages === 0 ? 0 : PAGE_DEPTH + depthOf(pages);
}

/** Depth of a tree of 4 u64 values per leaf (locals, globals) holding n values. */
export function valuesDepth(n: number): number {
  return depthOf(Math.ceil(n / 4));
}

/** Depth of the output tree: fixed by the output limit. */
export function outputDepth(outputLimit: number): number {
  return depthOf(Math.ceil(outputLimit / 32));
}

/** Depth of the input tree for an input of `len` bytes. */
export function inputDepth(len: number): number {
  return depthOf(Math.ceil(len / 32));
}

// ------------------------------------------------------------------------------------------------
// Big-endian field encoding.

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Writes a 64-bit value given as (hi, lo) int32 halves, big-endian. */
export function put64(b: Uint8Array, o: number, hi: number, lo: number): void {
  put32(b, o, hi);
  put32(b, o + 4, lo);
}

export function hex(b: Uint8Array): string {
  return "0x" + Buffer.from(b).toString("hex");
}

// hashParts' message buffer, reused: a state root hashes up to three parts messages, and a fresh
// array for each showed in the per-root profile
let partsBuf = new Uint8Array(256);

/** keccak(prefix ‖ parts...) */
export function hashParts(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  return hashPartsInto(undefined, prefix, parts);
}

/** keccak(prefix ‖ parts...) into `out` (a fresh array when undefined). */
function hashPartsInto(out: Uint8Array | undefined, prefix: number, parts: Uint8Array[]): Uint8Array {
  // indexed loops: the for-of iterators were ~8% of a state root's garbage
  let n = 1;
  for (let i = 0; i < parts.length; i++) n += parts[i].length;
  if (n > partsBuf.length) partsBuf = new Uint8Array(n);
  const b = partsBuf;
  b[0] = prefix;
  for (let i = 0, o = 1; i < parts.length; o += parts[i].length, i++) b.set(parts[i], o);
  return keccak256(b.subarray(0, n), out);
}

// ------------------------------------------------------------------------------------------------
// Fixed-depth Merkle tree over a byte array of 32-byte leaves.

/**
 * A static fixed-depth binary Merkle tree (node = keccak(0x01 ‖ L ‖ R)) whose first `n` leaves are
 * the 32-byte words of `leaves` and whose other leaves are zero, with every node stored (nodes past
 * the stored range of a level are zero subtrees Z[h]). Used for the trees that never change or are
 * small (code, input, table, locals, globals); memory and output use the incremental MerkleTree of
 * interpreter/hash/merkle.ts.
 */
export class ZTree implements Tree {
  readonly depth: number;
  readonly n: number;
  readonly leaves: Uint8Array;
  /** The hash layer's tree over the n leaves (everything past them is zero subtrees). */
  private readonly tree: MerkleTree;

  constructor(leaves: Uint8Array, n: number, depth: number) {
    if (depth > 32 || n > 2 ** depth) throw new RangeError(`${n} leaves do not fit a tree of depth ${depth}`);
    if (leaves.length < n * 32) throw new RangeError("leaf buffer shorter than its leaves");
    this.leaves = leaves;
    this.n = n;
    this.depth = depth;
    this.tree = new MerkleTree(depth, leaves.subarray(0, n * 32));
  }

  /** Node j of level h (0 = leaves), or a zero subtree. */
  node(h: number, j: number): Uint8Array {
    return this.tree.node(h, j);
  }

  root(): Uint8Array {
    return this.tree.root();
  }

  proof(i: number): Uint8Array {
    return proofOf(this, i);
  }

  proof2(p: number, q: number): Uint8Array {
    return proof2Of(this, p, q);
  }
}

/** Anything with Merkle nodes: node(h, j) is node j of height h (0 = leaves), up to date. */
export interface Tree {
  readonly depth: number;
  node(h: number, j: number): Uint8Array;
}

/** The siblings of leaf i, bottom-up: depth × 32 bytes. */
export function proofOf(t: Tree, i: number): Uint8Array {
  const out = new Uint8Array(t.depth * 32);
  for (let h = 0; h < t.depth; h++) out.set(t.node(h, Math.floor(i / 2 ** h) ^ 1), h * 32);
  return out;
}

/**
 * Combined proof of two distinct leaves p < q (docs/STATE.md, "Two-leaf proofs"): with
 * t = bitlength(p xor q), the siblings of p at heights 0..t-2, those of q at heights 0..t-2, then
 * the shared siblings at heights t..depth-1.
 */
export function proof2Of(tr: Tree, p: number, q: number): Uint8Array {
  if (!(p < q)) throw new RangeError("proof2 needs p < q");
  const t = bitLength(p ^ q);
  const out = new Uint8Array((tr.depth + t - 2) * 32);
  let o = 0;
  for (let h = 0; h < t - 1; h++, o += 32) out.set(tr.node(h, Math.floor(p / 2 ** h) ^ 1), o);
  for (let h = 0; h < t - 1; h++, o += 32) out.set(tr.node(h, Math.floor(q / 2 ** h) ^ 1), o);
  for (let h = t; h < tr.depth; h++, o += 32) out.set(tr.node(h, Math.floor(p / 2 ** h) ^ 1), o);
  return out;
}

export function bitLength(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/** Root of a fixed-depth tree over `bytes` (zero-padded to whole leaves). */
export function treeRoot(bytes: Uint8Array, depth: number): Uint8Array {
  return merkleRootOfBytes(bytes, depth);
}

/** A ZTree over `bytes` zero-padded to a whole number of leaves. */
export function padTree(bytes: Uint8Array, depth: number): ZTree {
  const n = Math.ceil(bytes.length / 32);
  let leaves = bytes;
  if (bytes.length !== n * 32) {
    leaves = new Uint8Array(n * 32);
    leaves.set(bytes);
  }
  return new ZTree(leaves, n, depth);
}

// ------------------------------------------------------------------------------------------------
// Values trees (locals, globals): 4 u64 per leaf.

/** Leaf bytes of n values (lo/hi halves from `off`), 4 per 32-byte leaf, big-endian. */
export function valueLeaves(lo: Int32Array, hi: Int32Array, off: number, n: number): Uint8Array {
  const b = new Uint8Array(Math.ceil(n / 4) * 32);
  for (let i = 0; i < n; i++) put64(b, i * 8, hi[off + i], lo[off + i]);
  return b;
}

export function valuesTree(lo: Int32Array, hi: Int32Array, off: number, n: number): ZTree {
  const leaves = valueLeaves(lo, hi, off, n);
  return new ZTree(leaves, leaves.length / 32, valuesDepth(n));
}

// The native valuesRoot's output, allocated off the JS heap once (a fresh 32-byte array per call
// would live on it: see offHeap).
const valuesOut = offHeap(Uint8Array, 32);

/**
 * Root of the values tree (no tree kept): one native call when the addon is loaded (a state root
 * computes one or two of these on every look), else the leaves packed here and hashed in scratch.
 * Written into `out` (from byte outOff) when given, else a fresh array (Z[0] itself for no values).
 */
export function valuesRoot(lo: Int32Array, hi: Int32Array, off: number, n: number, out?: Uint8Array, outOff = 0): Uint8Array {
  let r: Uint8Array;
  if (n === 0) r = Z[0];
  else if (nativeHasher !== null) {
    nativeHasher.valuesRoot(P_NODE, lo, hi, off, n, zeroHashesFlat, valuesDepth(n), valuesOut);
    r = valuesOut;
  } else r = merkleRootOfBytes(valueLeaves(lo, hi, off, n), valuesDepth(n));
  if (out) {
    out.set(r, outOff);
    return out;
  }
  return r === Z[0] ? r : r.slice();
}

// ------------------------------------------------------------------------------------------------
// The program: code tree (with the provable-immediates adapter) and descriptor.

const LOCAL_OPS = new Set<number>([Op.LocalGet, Op.LocalSet, Op.LocalTee]);
const GLOBAL_OPS = new Set<number>([Op.GlobalGet, Op.GlobalSet]);
const TABLE_OPS = new Set<number>([
  Op.CallIndirect, Op.TableGet, Op.TableSet, Op.TableSize, Op.TableGrow, Op.TableFill, Op.TableCopy, Op.TableInit, Op.SegmentDrop, Op.MemoryInit,
]);

/**
 * The code the state commits to: Program.code, checked for the immediates the on-chain step needs
 * but the executor does not read (docs/STATE.md §2.4): LocalGet/LocalSet/LocalTee b = numLocals of
 * the enclosing function; GlobalGet/GlobalSet b = number of defined globals; table and segment
 * instructions c = the tables tree's size N, TableGrow b = the table's ceiling; the invoke stub
 * of function f at pc 2f ends with Halt typeId, f + 1. lower.ts emits them; a mismatch throws.
 */
export function provableCode(program: Program): Int32Array {
  const code = program.code;
  const bodies = program.funcs.filter((f) => f.entry >= 0).sort((x, y) => x.entry - y.entry);
  const nGlobals = program.globals.filter((g) => !g.import).length;
  const N = tablesTreeSize(program);
  const check = (pc: number, slot: number, want: number) => {
    const have = code[pc * 4 + slot];
    if (have !== want) throw new Error(`pc ${pc}: immediate ${slot} is ${have}, expected ${want}`);
  };
  program.funcs.forEach((f, i) => {
    if (f.stub !== 2 * i || code[(2 * i + 1) * 4] !== Op.Halt) throw new Error(`function ${i}: no invoke stub at pc ${2 * i}`);
    check(2 * i + 1, 1, f.typeId);
    check(2 * i + 1, 2, i + 1);
  });
  let fi = -1;
  for (let pc = 0; pc < program.length; pc++) {
    while (fi + 1 < bodies.length && bodies[fi + 1].entry <= pc) fi++;
    const op = code[pc * 4];
    if (LOCAL_OPS.has(op)) {
      if (fi < 0) throw new Error(`local access outside any function at pc ${pc}`);
      check(pc, 2, bodies[fi].numLocals);
    } else if (GLOBAL_OPS.has(op)) check(pc, 2, nGlobals);
    else if (TABLE_OPS.has(op)) {
      check(pc, 3, N);
      if (op === Op.TableGrow) {
        const t = program.tables[code[pc * 4 + 1]];
        check(pc, 2, Math.min(t.max ?? MAX_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS));
      }
    }
  }
  return code;
}

/** Code leaves: 2 instructions per 32-byte leaf, each op u8, 3 zero bytes, a, b, c u32 big-endian. */
export function codeLeaves(code: Int32Array, length: number): Uint8Array {
  const b = new Uint8Array(Math.ceil(length / 2) * 32);
  for (let i = 0; i < length; i++) {
    const o = i * 16;
    b[o] = code[i * 4];
    put32(b, o + 4, code[i * 4 + 1]);
    put32(b, o + 8, code[i * 4 + 2]);
    put32(b, o + 12, code[i * 4 + 3]);
  }
  return b;
}

export interface ProgramCommit {
  code: Int32Array; // provable code (see provableCode)
  tree: ZTree;
  depth: number;
  root: Uint8Array;
}

const programCache = new WeakMap<Program, ProgramCommit>();

export function programCommit(program: Program): ProgramCommit {
  let c = programCache.get(program);
  if (!c) {
    const code = provableCode(program);
    const leaves = codeLeaves(code, program.length);
    const n = leaves.length / 32;
    const depth = depthOf(n);
    if (depth > 32) throw new RangeError("program too large");
    const tree = new ZTree(leaves, n, depth);
    c = { code, tree, depth, root: tree.root() };
    programCache.set(program, c);
  }
  return c;
}

/** The code root of a program. */
export function codeRoot(program: Program): Uint8Array {
  return programCommit(program).root;
}

// ------------------------------------------------------------------------------------------------
// Per-input and per-table caches.

// Roots and trees are cached separately: every state root needs the input root, but only a witness
// of an input read needs the tree's nodes (storing them costs as much memory as the input again).
const inputRoots = new WeakMap<Uint8Array, Uint8Array>();
const inputTrees = new WeakMap<Uint8Array, ZTree>();

/** The input tree of task input bytes (all nodes, for proofs). The bytes must not change. */
export function inputTree(input: Uint8Array): ZTree {
  let t = inputTrees.get(input);
  if (!t) {
    t = padTree(input, inputDepth(input.length));
    inputTrees.set(input, t);
  }
  return t;
}

function knownInputRoot(input: Uint8Array): Uint8Array | undefined {
  return inputRoots.get(input) ?? inputTrees.get(input)?.root();
}

/** Root of the input tree of task input bytes (hashed in place in scratch: nothing is stored). */
export function inputRoot(input: Uint8Array): Uint8Array {
  let r = knownInputRoot(input);
  if (!r) {
    r = treeRoot(input, inputDepth(input.length));
    inputRoots.set(input, r);
  }
  return r;
}

// ------------------------------------------------------------------------------------------------
// The input root from the task's copy of its input.

/** A copy is used only through subtrees of at least this height (16 leaves, 512 bytes). */
const MIN_COPY_HEIGHT = 4;

/** n memory subtrees of height `height` from node memFirst whose bytes equal the input subtrees from inFirst. */
export interface CopyRun {
  height: number;
  memFirst: number;
  inFirst: number;
  n: number;
}

/**
 * The longest run of memory subtrees equal to input subtrees that ends at the end of a completed
 * InputRead (Machine.inputCopyEnds: memory end, input end). When the copy moved the bytes by a
 * multiple of 32 * 2^h, the memory subtrees of height h line up with input subtrees; walking back
 * from the copy's end, whole subtrees are compared with the input (galloping: O(log n) compares
 * for a run of n, each over bytes not compared before, so each byte about once). Only the bytes
 * decide, so a stale hint costs a compare, never a wrong root.
 */
export function inputCopyRun(mem: Uint8Array, input: Uint8Array, ends: readonly number[], memTreeDepth: number): CopyRun | null {
  let best: CopyRun | null = null;
  for (let e = 0; e < ends.length; e += 2) {
    const shift = ends[e] - ends[e + 1];
    if (shift % 32 !== 0) continue;
    const leafShift = Math.abs(shift / 32);
    const height = Math.min(leafShift === 0 ? 32 : 31 - Math.clz32(leafShift & -leafShift), inputDepth(input.length), memTreeDepth);
    if (height < MIN_COPY_HEIGHT) continue;
    const size = 32 * 2 ** height;
    // memory subtree j = bytes [j size, (j + 1) size): up to the copy's end, inside both arrays
    const jEnd = Math.min(Math.floor(ends[e] / size), Math.floor((input.length + shift) / size), Math.floor(mem.length / size));
    const jMin = Math.max(0, Math.ceil(shift / size));
    // subtrees jEnd - r .. jEnd - n (the last n already compared equal)
    const sameBack = (n: number, r: number) =>
      Buffer.compare(mem.subarray((jEnd - r) * size, (jEnd - n) * size), input.subarray((jEnd - r) * size - shift, (jEnd - n) * size - shift)) === 0;
    let n = 0;
    for (let step = 1; n < jEnd - jMin; ) {
      const r = Math.min(jEnd - jMin, n + step);
      if (sameBack(n, r)) {
        n = r;
        step *= 2;
      } else if (step > 1) step = 1;
      else break;
    }
    if (n > 0 && (best === null || n * size > best.n * 32 * 2 ** best.height)) {
      best = { height, memFirst: jEnd - n, inFirst: jEnd - n - shift / size, n };
    }
  }
  return best;
}

/**
 * Root of the input tree, its nodes at the run's height taken from the memory tree (up to date)
 * where the run says memory holds the same bytes, the others hashed from the input: a task that
 * reads its input into memory (readInput) then pays for hashing it once, not twice.
 */
function inputRootViaCopy(input: Uint8Array, run: CopyRun, memTree: MerkleTree): Uint8Array {
  const h0 = run.height, size = 32 * 2 ** h0, n = Math.ceil(input.length / size);
  const level = new Uint8Array(n * 32);
  memTree.copyNodes(h0, run.memFirst, run.n, level, run.inFirst * 32);
  for (let j = 0; j < n; j++) {
    if (j >= run.inFirst && j < run.inFirst + run.n) continue;
    level.set(merkleRootOfBytes(input.subarray(j * size, Math.min(input.length, (j + 1) * size)), h0), j * 32);
  }
  return rootOverNodes(P_NODE, level, h0, inputDepth(input.length) - h0);
}

/**
 * Byte 16 of an element leaf (tables and element segments, docs/STATE.md §2.9): 0 null (the zero
 * leaf); Op.Halt for a function of the program (the leaf is its invoke stub's code leaf); ELEM_FOREIGN
 * for anything the embedding put there (a host value or another instance's function: unprovable).
 */
export const ELEM_FOREIGN = 2;

/**
 * Element leaves of reference values: 0 -> zero leaf; function f of the program (value f + 1) ->
 * the code leaf of its invoke stub [Call f][Halt typeId f+1]; anything else -> ELEM_FOREIGN at byte
 * 16 and the value at bytes 24..27.
 */
export function elementLeaves(program: Program, env: MachineEnv, values: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(values.length * 32);
  const code = programCommit(program).tree.leaves;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === 0) continue;
    const ref = env.refs.get(v) as FuncRef | null;
    const f = v - 1;
    if (ref !== null && ref.owner === env.owner && ref.index === f && program.funcs[f].entry >= 0) b.set(code.subarray(32 * f, 32 * f + 32), 32 * i);
    else {
      b[32 * i + 16] = ELEM_FOREIGN;
      put32(b, 32 * i + 24, v);
    }
  }
  return b;
}

/** Leaf keccak(0x14 ‖ len u32 ‖ root) of an entry of the tables tree. */
export function entryHash(len: number, root: Uint8Array): Uint8Array {
  const b = new Uint8Array(4);
  put32(b, 0, len);
  return hashParts(P_ENTRY, b, root);
}

/** Depth of a data segment's tree: 32-byte leaves. */
export function dataDepth(len: number): number {
  return depthOf(Math.ceil(len / 32));
}

/** One entry of the tables tree: its length and the tree of its elements (or data bytes). */
export interface TablesEntry {
  len: number;
  tree: ZTree;
  hash: Uint8Array;
}

// data segments' trees by bytes identity (the program's own arrays: they never change)
const dataTrees = new WeakMap<Uint8Array, TablesEntry>();
const EMPTY_ENTRY: TablesEntry = { len: 0, tree: new ZTree(new Uint8Array(0), 0, 0), hash: entryHash(0, ZERO32) };

/**
 * The tables tree of a machine (docs/STATE.md §2.9): entries 0..T-1 the tables, then the element
 * segments, then the data segments; dropped segments are empty. Kept between looks: a table's
 * entry is rebuilt when its version or length changed, a segment's when its array was replaced.
 */
class TablesCommit {
  private entries: TablesEntry[] = [];
  private keys: unknown[] = [];
  private versions: number[] = [];
  private tree: ZTree | null = null;

  sync(m: Machine): ZTree {
    const env = m.env;
    const T = env.tables.length, E = env.elemSegs.length, D = env.dataSegs.length;
    let changed = this.tree === null || this.entries.length !== T + E + D;
    for (let i = 0; i < T + E + D; i++) {
      let key: unknown, version = 0;
      if (i < T) (key = env.tables[i]), (version = env.tables[i].version);
      else key = i < T + E ? env.elemSegs[i - T] : env.dataSegs[i - T - E];
      if (this.keys[i] === key && this.versions[i] === version && this.entries[i] !== undefined) continue;
      this.keys[i] = key;
      this.versions[i] = version;
      this.entries[i] = i < T + E ? this.elements(m, i < T ? env.tables[i].elements : env.elemSegs[i - T]) : dataEntry(env.dataSegs[i - T - E]);
      changed = true;
    }
    if (changed) {
      this.entries.length = T + E + D;
      const leaves = new Uint8Array(32 * (T + E + D));
      this.entries.forEach((e, i) => leaves.set(e.hash, 32 * i));
      this.tree = new ZTree(leaves, T + E + D, depthOf(T + E + D));
    }
    return this.tree!;
  }

  private elements(m: Machine, values: number[]): TablesEntry {
    if (values.length === 0) return EMPTY_ENTRY;
    const leaves = elementLeaves(m.program, m.env, values);
    const tree = new ZTree(leaves, values.length, depthOf(values.length));
    return { len: values.length, tree, hash: entryHash(values.length, tree.root()) };
  }

  /** Entry i as of the last sync. */
  entry(i: number): TablesEntry {
    return this.entries[i];
  }
}

function dataEntry(bytes: Uint8Array): TablesEntry {
  if (bytes.length === 0) return EMPTY_ENTRY;
  let e = dataTrees.get(bytes);
  if (!e) {
    const tree = padTree(bytes, dataDepth(bytes.length));
    e = { len: bytes.length, tree, hash: entryHash(bytes.length, tree.root()) };
    dataTrees.set(bytes, e);
  }
  return e;
}

// ------------------------------------------------------------------------------------------------
// Limits word and registers.

/** Effective memory ceiling in pages: what memory.grow compares against. */
export function memCeiling(program: Program, limits: Limits, declaredMax?: number): number {
  const max = declaredMax ?? program.memory?.max ?? MAX_PAGES;
  return Math.min(max, limits.memoryPages, MAX_PAGES);
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} ${v} does not fit in u32`);
  return v;
}

/** limits (20 bytes): stackLimit, callDepthLimit, memCeiling, outputLimit, inputLen; u32 big-endian each. */
export function limitsBytes(limits: Limits, ceiling: number, inputLen: number): Uint8Array {
  const b = new Uint8Array(20);
  put32(b, 0, checkU32(limits.stackHeight, "stack limit"));
  put32(b, 4, checkU32(limits.callDepth, "call depth limit"));
  put32(b, 8, checkU32(ceiling, "memory ceiling"));
  put32(b, 12, checkU32(limits.outputBytes, "output limit"));
  put32(b, 16, checkU32(inputLen, "input length"));
  return b;
}

export interface Regs {
  pc: number;
  steps: number;
  stepLimit: number;
  sp: number;
  depth: number;
  exitCode: number;
  status: number;
  trap: number;
  codeDepth: number;
}

/** Steps and the step limit are u48 in regs; the step from the limit counts too, so steps never wrap. */
export const MAX_STEP_LIMIT = 2 ** 48 - 2;

/** Writes a safe integer below 2^48 as u48 big-endian. */
export function putU48(b: Uint8Array, o: number, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** 48) throw new RangeError(`${v} does not fit in u48`);
  const hi = Math.floor(v / 2 ** 32);
  b[o] = hi >>> 8;
  b[o + 1] = hi;
  put32(b, o + 2, v >>> 0);
}

/**
 * regs (32 bytes): pc u32, steps u48, stepLimit u48, sp u32, depth u32, exitCode u32, status u8,
 * trap u8, codeDepth u8, 0.
 */
export function regsBytes(r: Regs, out?: Uint8Array): Uint8Array {
  const b = out ?? new Uint8Array(32);
  put32(b, 0, r.pc);
  putU48(b, 4, r.steps);
  putU48(b, 10, r.stepLimit);
  put32(b, 16, r.sp);
  put32(b, 20, r.depth);
  put32(b, 24, r.exitCode);
  b[28] = r.status;
  b[29] = r.trap;
  b[30] = r.codeDepth;
  return b;
}

/** memInfo (8 bytes): memPages u32, outLen u32. */
export function memInfoBytes(pages: number, outLen: number, out?: Uint8Array): Uint8Array {
  const b = out ?? new Uint8Array(8);
  put32(b, 0, pages);
  put32(b, 4, outLen);
  return b;
}

// ------------------------------------------------------------------------------------------------
// Incremental memory and output trees.

/**
 * The memory tree: one MerkleTree (interpreter/hash/merkle.ts) of depth memDepth(pages) over the
 * live memory buffer. The tree of a smaller memory is the leftmost subtree of a larger one, so
 * memory.grow only adds levels on top (MerkleTree.deepen: one hash per new level); nodes right of
 * the touched prefix are never stored.
 */
class MemoryCommit {
  tree: MerkleTree | null = null;
  /**
   * The machine's epoch at the last look. Every write since carries a newer stamp in Machine.mark,
   * so the dirty leaves are exactly those whose mark is above it (found by marksAbove, eight
   * marks per compare natively).
   */
  since = 0;
  private dirty = new Uint32Array(0);

  /** Brings the tree up to date with the machine's memory. */
  sync(m: Machine): MerkleTree {
    const since = this.since;
    this.since = m.nextEpoch(); // writes from now on carry a newer stamp
    let t = this.tree;
    const depth = memDepth(m.memoryBytes().length / PAGE_BYTES);
    if (t === null) return (this.tree = new MerkleTree(depth, () => m.memoryBytes()));
    if (depth > t.depth) t.deepen(depth); // memory.grow: the old tree is the new one's leftmost subtree
    const n = Math.min(m.memoryBytes().length >>> 5, m.mark.length);
    if (this.dirty.length < n) this.dirty = offHeap(Uint32Array, n); // written before read: no zeroing
    const k = marksAbove(m.mark, n, since, this.dirty);
    t.update(this.dirty.subarray(0, k));
    return t;
  }
}

/** The output tree: append-only, fixed depth; leaves past the last look are rehashed. */
class OutputCommit {
  tree: MerkleTree | null = null;
  len = 0;
  depth = -1;

  /** The output root into out: the zero tree's while there is no output (no tree built for it). */
  root(m: Machine, out: Uint8Array): Uint8Array {
    if (m.outLen === 0) {
      out.set(Z[outputDepth(m.limits.outputBytes)]);
      return out;
    }
    const t = this.sync(m);
    return t.node(t.depth, 0, out);
  }

  sync(m: Machine): MerkleTree {
    const d = outputDepth(m.limits.outputBytes);
    if (this.tree === null || d !== this.depth || m.outLen < this.len) {
      this.depth = d;
      this.len = m.outLen;
      return (this.tree = new MerkleTree(d, () => m.out.subarray(0, m.outLen)));
    }
    if (m.outLen > this.len) {
      this.tree.markDirtyBytes(this.len, m.outLen - this.len);
      this.len = m.outLen;
      this.tree.update();
    }
    return this.tree;
  }
}

// ------------------------------------------------------------------------------------------------
// Hash chains with prefix caches.

/** Index of the first difference of a[0..n) and b[0..n) (n when equal); native compares in blocks. */
export function firstDiff(a: Int32Array, b: Int32Array, n: number): number {
  if (n <= 256) {
    // short arrays (the usual stack): a loop beats creating Buffer views
    for (let j = 0; j < n; j++) if (a[j] !== b[j]) return j;
    return n;
  }
  const BLOCK = 4096;
  for (let i = 0; i < n; i += BLOCK) {
    const e = Math.min(n, i + BLOCK);
    const x = Buffer.from(a.buffer, a.byteOffset + 4 * i, 4 * (e - i));
    const y = Buffer.from(b.buffer, b.byteOffset + 4 * i, 4 * (e - i));
    if (!x.equals(y)) {
      for (let j = i; j < e; j++) if (a[j] !== b[j]) return j;
    }
  }
  return n;
}

/** The operand stack chain: hashes[i] = chain of the first i + 1 values (docs/STATE.md, P_STACK). */
class StackChain {
  lo = new Int32Array(64);
  hi = new Int32Array(64);
  /** the chain's items: value i as a big-endian u64 at byte 8 i */
  items = new Uint8Array(64 * 8);
  hashes = new Uint8Array(64 * 32);
  valid = 0;

  /** Chain hash of the bottom `n` values of the machine's stack (n <= sp): a view, valid until the next call. */
  at(m: Machine, n: number): Uint8Array {
    const sl = m.sl, sh = m.sh;
    const lim = Math.min(this.valid, n);
    const v = Math.min(firstDiff(this.lo, sl, lim), firstDiff(this.hi, sh, lim));
    if (n > this.lo.length) {
      const size = roomFor(this.lo.length, n);
      this.lo = grown(this.lo, new Int32Array(size));
      this.hi = grown(this.hi, new Int32Array(size));
      this.items = grown(this.items, new Uint8Array(size * 8));
      this.hashes = grown(this.hashes, new Uint8Array(size * 32));
    }
    for (let i = v; i < n; i++) {
      this.lo[i] = sl[i];
      this.hi[i] = sh[i];
      put64(this.items, 8 * i, sh[i], sl[i]);
    }
    if (v < n) chainHashes(P_STACK, this.items, 8, v, n, this.hashes);
    // entries past n may be stale relative to the machine but are still a correct chain of their
    // own cached values, so keep them (a later look may re-validate them)
    this.valid = Math.max(n, v === n ? this.valid : n);
    return n === 0 ? ZERO32 : this.hashes.subarray((n - 1) * 32, n * 32);
  }
}

/** The capacity, doubled from `size` as often as needed, for `need` elements. */
function roomFor(size: number, need: number): number {
  while (size < need) size *= 2;
  return size;
}

/** `to` with `from` copied to its start. */
function grown<T extends Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * The frame chain: the saved caller frames (bottom first) as of the last look, their locals copied
 * to compare, and hashes[i] = the chain up to frame i (P_FRAME). Flat arrays, refilled in place: a
 * state root rehashes a frame or two, and per-frame objects outlived the young generation.
 */
class FrameChain {
  /** frames valid as of the last look */
  private n = 0;
  private ret = new Int32Array(16);
  private fp = new Int32Array(16);
  private nl = new Int32Array(16);
  /** frame i's locals are lo/hi[base[i] .. base[i] + nl[i]) */
  private base = new Int32Array(16);
  private lo = new Int32Array(256);
  private hi = new Int32Array(256);
  /** the chain's items: callerLocalsRoot ‖ returnPc (u32 big-endian), 36 bytes per frame */
  private items = new Uint8Array(16 * 36);
  private hashes = new Uint8Array(16 * 32);

  private same(m: Machine, i: number): boolean {
    if (this.ret[i] !== m.fRet[i] || this.fp[i] !== m.fFp[i] || this.nl[i] !== m.fNl[i]) return false;
    const ll = m.ll, lh = m.lh, fp = this.fp[i], a = this.base[i], nl = this.nl[i];
    for (let k = 0; k < nl; k++) if (this.lo[a + k] !== ll[fp + k] || this.hi[a + k] !== lh[fp + k]) return false;
    return true;
  }

  /** Chain hash of the bottom n saved frames (n <= depth - 1): a view, valid until the next call. */
  at(m: Machine, n: number): Uint8Array {
    let v = Math.min(this.n, n);
    for (let i = 0; i < v; i++) {
      if (!this.same(m, i)) {
        v = i;
        break;
      }
    }
    if (n > this.ret.length) {
      const size = roomFor(this.ret.length, n);
      this.ret = grown(this.ret, new Int32Array(size));
      this.fp = grown(this.fp, new Int32Array(size));
      this.nl = grown(this.nl, new Int32Array(size));
      this.base = grown(this.base, new Int32Array(size));
      this.items = grown(this.items, new Uint8Array(size * 36));
      this.hashes = grown(this.hashes, new Uint8Array(size * 32));
    }
    for (let i = v; i < n; i++) {
      const fp = m.fFp[i], nl = m.fNl[i], a = i === 0 ? 0 : this.base[i - 1] + this.nl[i - 1];
      if (a + nl > this.lo.length) {
        const size = roomFor(this.lo.length, a + nl);
        this.lo = grown(this.lo, new Int32Array(size));
        this.hi = grown(this.hi, new Int32Array(size));
      }
      this.ret[i] = m.fRet[i];
      this.fp[i] = fp;
      this.nl[i] = nl;
      this.base[i] = a;
      for (let k = 0; k < nl; k++) (this.lo[a + k] = m.ll[fp + k]), (this.hi[a + k] = m.lh[fp + k]);
      // hashed from the machine's arrays (off the JS heap), not the copies kept to compare
      valuesRoot(m.ll, m.lh, fp, nl, this.items, 36 * i);
      put32(this.items, 36 * i + 32, m.fRet[i]);
    }
    if (v < n) chainHashes(P_FRAME, this.items, 36, v, n, this.hashes);
    // frames past n, when the ones below are unchanged, are still a correct chain of their own
    // copies (a later look re-validates them)
    this.n = v === n ? Math.max(this.n, n) : n;
    return n === 0 ? ZERO32 : this.hashes.subarray((n - 1) * 32, n * 32);
  }

  /** Saved frame i's return pc and locals root (valid as of the last at(m, n) with n > i). */
  entry(i: number): { ret: number; localsRoot: Uint8Array } {
    return { ret: this.ret[i], localsRoot: this.items.slice(36 * i, 36 * i + 32) };
  }

  /** Chain hash up to and including saved frame i (valid as of the last at(m, n) with n > i). */
  hashAt(i: number): Uint8Array {
    return this.hashes.slice(32 * i, 32 * i + 32);
  }
}

// ------------------------------------------------------------------------------------------------
// The tracker.

export interface Components {
  regs: Uint8Array;
  stackHash: Uint8Array;
  localsRoot: Uint8Array;
  codeRoot: Uint8Array;
  coldHash: Uint8Array;
  memInfo: Uint8Array;
  memRoot: Uint8Array;
  framesHash: Uint8Array;
  auxHash: Uint8Array;
  limits: Uint8Array;
  globalsRoot: Uint8Array;
  tableRoot: Uint8Array; // the tables tree: tables, element and data segments (after instantiation)
  inputRoot: Uint8Array;
  outputRoot: Uint8Array;
  root: Uint8Array;
}

/** Lazily maintained commitment of one machine. Obtain it with tracker(machine). */
export class StateTracker {
  readonly prog: ProgramCommit;
  readonly mem = new MemoryCommit();
  readonly out = new OutputCommit();
  readonly stack = new StackChain();
  readonly frames = new FrameChain();
  private globalsCache: { lo: Int32Array; hi: Int32Array; root: Uint8Array; tree: ZTree | null } | null = null;
  // fixed for the machine's env (the limits, memory ceiling and input never change): looked
  // up once, as each lookup on a cold cache showed in the per-root profile
  private limits: Uint8Array | null = null;
  readonly tables = new TablesCommit();
  private inRoot: Uint8Array | null = null;
  /** The aux hash and the parts it was computed from (limits ‖ four roots). */
  private auxKey = new Uint8Array(20 + 4 * 32);
  private auxHash: Uint8Array | null = null;
  /** The current frame's locals as of the last look: their root, and their tree once a witness asked. */
  private localsCache: { fp: number; n: number; lo: Int32Array; hi: Int32Array; root: Uint8Array; tree: ZTree | null } | null = null;
  /** The parts of the last look (see look()); regs, memInfo, memRoot, outputRoot and coldHash are written in place. */
  private readonly parts: Components = {
    regs: new Uint8Array(32), stackHash: ZERO32, localsRoot: ZERO32, codeRoot: ZERO32, coldHash: new Uint8Array(32), memInfo: new Uint8Array(8),
    memRoot: new Uint8Array(32), framesHash: ZERO32, auxHash: ZERO32, limits: ZERO32, globalsRoot: ZERO32, tableRoot: ZERO32,
    inputRoot: ZERO32, outputRoot: new Uint8Array(32), root: ZERO32,
  };

  constructor(readonly m: Machine) {
    this.prog = programCommit(m.program);
  }

  regs(): Regs {
    const m = this.m;
    return {
      pc: m.pc,
      steps: m.steps,
      stepLimit: m.limits.steps,
      sp: m.sp,
      depth: m.depth,
      exitCode: m.exitCode,
      status: m.status,
      trap: m.trap,
      codeDepth: this.prog.depth,
    };
  }

  /** The memory tree of the current size (depth memDepth(pages)), up to date. */
  memTree(): MerkleTree {
    return this.mem.sync(this.m);
  }

  /** The output tree, up to date. */
  outTree(): MerkleTree {
    return this.out.sync(this.m);
  }

  inputTree(): ZTree {
    return inputTree(this.m.env.input);
  }

  /** The tables tree (tables, element segments, data segments), up to date; entries via tables.entry(i). */
  tablesTree(): ZTree {
    return this.tables.sync(this.m);
  }

  /**
   * The current frame's locals, cached while they are unchanged (compared, not hashed). The cache's
   * arrays are refilled in place (grown when a frame has more locals); the root is hashed from the
   * machine's arrays (off the JS heap), as the frame chain's are.
   */
  private locals(): NonNullable<StateTracker["localsCache"]> {
    const m = this.m, fp = m.fp, nl = m.nl, ll = m.ll, lh = m.lh;
    let c = this.localsCache;
    let k = 0;
    if (c !== null && c.n === nl && c.fp === fp) {
      while (k < nl && c.lo[k] === ll[fp + k] && c.hi[k] === lh[fp + k]) k++;
      if (k === nl) return c;
    }
    if (c === null || c.lo.length < nl) {
      const cap = roomFor(c?.lo.length ?? 16, nl);
      c = this.localsCache = { fp, n: nl, lo: new Int32Array(cap), hi: new Int32Array(cap), root: new Uint8Array(32), tree: null };
      k = 0;
    }
    // from the first difference (new values), or from 0 (another frame)
    for (; k < nl; k++) (c.lo[k] = ll[fp + k]), (c.hi[k] = lh[fp + k]);
    c.fp = fp;
    c.n = nl;
    valuesRoot(ll, lh, fp, nl, c.root);
    c.tree = null;
    return c;
  }

  /** Root of the current frame's locals. */
  localsRoot(): Uint8Array {
    return this.locals().root.slice();
  }

  /** Tree of the current frame's locals (for witnesses). */
  localsTree(): ZTree {
    const c = this.locals();
    return (c.tree ??= valuesTree(c.lo, c.hi, 0, c.n));
  }

  globalsTree(): ZTree {
    const c = this.globals();
    return (c.tree ??= valuesTree(c.lo, c.hi, 0, c.lo.length));
  }

  /** The globals' root (and their tree once a witness asked), cached while they are unchanged (compared, not hashed). */
  private globals(): NonNullable<StateTracker["globalsCache"]> {
    const gl = this.m.env.globalsLo, gh = this.m.env.globalsHi;
    const c = this.globalsCache;
    if (c && c.lo.length === gl.length) {
      let same = true;
      for (let k = 0; k < gl.length && same; k++) same = c.lo[k] === gl[k] && c.hi[k] === gh[k];
      if (same) return c;
    }
    const lo = gl.slice(), hi = gh.slice();
    return (this.globalsCache = { lo, hi, root: valuesRoot(lo, hi, 0, lo.length), tree: null });
  }

  limitsBytes(): Uint8Array {
    const m = this.m;
    return (this.limits ??= limitsBytes(m.limits, memCeiling(m.program, m.limits, m.env.memory?.max), m.env.input.length));
  }

  stackHashAt(n: number): Uint8Array {
    return this.stack.at(this.m, n).slice();
  }

  framesHashAt(n: number): Uint8Array {
    return this.frames.at(this.m, n).slice();
  }

  /** The input root: cached per input array, else from the task's copy in memory when it made one. */
  private inputRootNow(mt: MerkleTree): Uint8Array {
    const m = this.m, input = m.env.input;
    const run = knownInputRoot(input) === undefined && m.inputCopyEnds.length > 0 ? inputCopyRun(m.memoryBytes(), input, m.inputCopyEnds, mt.depth) : null;
    if (run !== null) inputRoots.set(input, inputRootViaCopy(input, run, mt));
    return inputRoot(input);
  }

  /** The aux hash, rehashed only when one of its parts changed (they rarely do: output, globals). */
  private aux(...parts: Uint8Array[]): Uint8Array {
    const key = this.auxKey;
    let o = 0, same = this.auxHash !== null;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k];
      for (let i = 0; i < p.length; i++, o++) {
        if (key[o] !== p[i]) {
          key[o] = p[i];
          same = false;
        }
      }
    }
    if (!same) this.auxHash = hashParts(P_AUX, ...parts);
    return this.auxHash!;
  }

  /**
   * Brings every part up to date. The parts it returns are the tracker's own (its caches and
   * buffers, overwritten by the next look): components() copies them, root() needs only the root,
   * which is fresh. A state root is taken many times per run, so this path allocates little.
   */
  private look(): Components {
    const m = this.m, c = this.parts;
    c.regs = regsBytes(this.regs(), c.regs);
    c.stackHash = this.stack.at(m, m.sp);
    c.localsRoot = this.locals().root;
    c.codeRoot = this.prog.root;
    c.limits = this.limitsBytes();
    c.globalsRoot = this.globals().root;
    c.tableRoot = this.tablesTree().root();
    // memory first: the input root may be read off the task's copy of its input (inputRootViaCopy)
    const mt = this.memTree();
    mt.node(mt.depth, 0, c.memRoot);
    c.inputRoot = this.inRoot ??= this.inputRootNow(mt);
    m.inputCopyEnds.length = 0; // a hint for this look only
    this.out.root(m, c.outputRoot);
    c.auxHash = this.aux(c.limits, c.globalsRoot, c.tableRoot, c.inputRoot, c.outputRoot);
    c.memInfo = memInfoBytes(m.memoryBytes().length / PAGE_BYTES, m.outLen, c.memInfo);
    c.framesHash = this.frames.at(m, m.depth - 1);
    hashPartsInto(c.coldHash, P_COLD, [c.memInfo, c.memRoot, c.framesHash, c.auxHash]);
    c.root = hashPartsInto(undefined, P_STATE, [c.regs, c.stackHash, c.localsRoot, c.codeRoot, c.coldHash]);
    return c;
  }

  components(): Components {
    const c = this.look();
    const out = {} as Components;
    for (const k of Object.keys(c) as (keyof Components)[]) out[k] = c[k].slice();
    return out;
  }

  root(): Uint8Array {
    return this.look().root;
  }
}

const trackers = new WeakMap<Machine, StateTracker>();

/** The tracker of a machine (created on first use; the first look hashes the whole memory). */
export function tracker(m: Machine): StateTracker {
  let t = trackers.get(m);
  if (!t) {
    t = new StateTracker(m);
    trackers.set(m, t);
  }
  return t;
}

/** The state root of a machine. */
export function stateRoot(m: Machine): Uint8Array {
  return tracker(m).root();
}

/** Component roots of a machine (for tests, tools and the witness). */
export function stateComponents(m: Machine): Components {
  return tracker(m).components();
}

/** Root of the current frame's locals. */
export function localsRoot(m: Machine): Uint8Array {
  return tracker(m).localsRoot();
}

/**
 * Locals root of frame `i` of the machine (0 = the entry frame, depth - 1 = the current one): the
 * current frame's is `localsRoot`, the callers' are the `callerLocalsRoot`s of the frame chain.
 */
export function frameLocalsRoot(m: Machine, i: number): Uint8Array {
  if (!(i >= 0 && i < m.depth)) throw new RangeError(`frame ${i} outside 0..${m.depth - 1}`);
  if (i === m.depth - 1) return localsRoot(m);
  return valuesRoot(m.ll, m.lh, m.fFp[i], m.fNl[i]);
}

/** Root of the program's own globals. */
export function globalsRoot(m: Machine): Uint8Array {
  return tracker(m).globalsTree().root();
}

/** Root of the tables tree (tables and segments). */
export function tableRoot(m: Machine): Uint8Array {
  return tracker(m).tablesTree().root();
}

/** Root of the memory (incremental). */
export function memoryRoot(m: Machine): Uint8Array {
  const t = tracker(m).memTree();
  return t.node(t.depth, 0);
}

/** Root of the output tree. */
export function outputRoot(m: Machine): Uint8Array {
  const t = tracker(m).outTree();
  return t.node(t.depth, 0);
}

// ------------------------------------------------------------------------------------------------
// Program descriptor and initial state (what the chain computes when a task is posted).

export interface ProgramDescriptor {
  codeRoot: Uint8Array;
  memRoot: Uint8Array; // initial memory (data segments applied)
  globalsRoot: Uint8Array; // initial globals
  tableRoot: Uint8Array; // the tables tree: tables, element and data segments (after instantiation)
  entryPc: number;
  codeDepth: number;
  initPages: number;
  memMax: number; // declared maximum in pages (65536 when none)
}

/** Bytes hashed into the program root: the four roots, then entryPc, codeDepth, initPages, memMax (u32 each). */
export function descriptorBytes(d: ProgramDescriptor): Uint8Array {
  const b = new Uint8Array(128 + 16);
  b.set(d.codeRoot, 0);
  b.set(d.memRoot, 32);
  b.set(d.globalsRoot, 64);
  b.set(d.tableRoot, 96);
  put32(b, 128, d.entryPc);
  put32(b, 132, d.codeDepth);
  put32(b, 136, d.initPages);
  put32(b, 140, d.memMax);
  return b;
}

/** The descriptor of a task program (its initial state without input and limits). */
export function programDescriptor(program: Program): ProgramDescriptor {
  const m = Machine.forTask(program, new Uint8Array(0), { memoryPages: MAX_PAGES });
  const t = tracker(m);
  return {
    codeRoot: t.prog.root,
    memRoot: memoryRoot(m),
    globalsRoot: t.globalsTree().root().slice(),
    tableRoot: t.tablesTree().root().slice(),
    entryPc: program.taskEntry,
    codeDepth: t.prog.depth,
    initPages: program.memory ? program.memory.min : 0,
    memMax: Math.min(program.memory?.max ?? MAX_PAGES, MAX_PAGES),
  };
}

/** keccak(0x13 ‖ descriptor): the program root a task registers. */
export function programRoot(program: Program | ProgramDescriptor): Uint8Array {
  const d = "code" in program ? programDescriptor(program) : program;
  return hashParts(P_PROGRAM, descriptorBytes(d));
}

/**
 * The initial state root of a task from its descriptor, input and limits, computed the way the
 * contract does it (docs/STATE.md, "Initial state"). Throws when initPages exceeds the page limit.
 */
export function initialStateRoot(d: ProgramDescriptor, input: Uint8Array, limitsIn: Partial<Limits> = {}): Uint8Array {
  const limits = fullLimits(limitsIn);
  if (d.initPages > limits.memoryPages) throw new RangeError("initial memory exceeds the page limit");
  if (limits.steps > MAX_STEP_LIMIT) throw new RangeError(`step limit ${limits.steps} exceeds ${MAX_STEP_LIMIT}`);
  const ceiling = Math.min(d.memMax, limits.memoryPages, MAX_PAGES);
  const regs = regsBytes({ pc: d.entryPc, steps: 0, stepLimit: limits.steps, sp: 0, depth: 1, exitCode: 0, status: Status.Running, trap: 0, codeDepth: d.codeDepth });
  const aux = hashParts(P_AUX, limitsBytes(limits, ceiling, input.length), d.globalsRoot, d.tableRoot, inputRoot(input), Z[outputDepth(limits.outputBytes)]);
  const cold = hashParts(P_COLD, memInfoBytes(d.initPages, 0), d.memRoot, ZERO32, aux);
  return hashParts(P_STATE, regs, ZERO32, Z[0], d.codeRoot, cold);
}

// ------------------------------------------------------------------------------------------------
// Roots at many steps in one pass.

export interface RootsOptions {
  /** Also return a snapshot of the machine at each requested step (same order as `steps`). */
  snapshots?: boolean;
}

export interface RootsResult {
  roots: Uint8Array[];
  snapshots?: Snapshot[];
  /** The machine after the last requested step (for continuing). */
  machine: Machine;
}

/**
 * State roots after each of `steps` steps from the initial state of a task, in one forward pass:
 * the machine runs at full speed (Machine.run) between requested steps and the commitment is
 * brought up to date only there. A step count past termination gives the terminal state's root.
 */
export function rootsAtSteps(program: Program, input: Uint8Array, limits: Partial<Limits>, steps: number[]): Uint8Array[];
export function rootsAtSteps(program: Program, input: Uint8Array, limits: Partial<Limits>, steps: number[], opts: RootsOptions): RootsResult;
export function rootsAtSteps(
  program: Program,
  input: Uint8Array,
  limits: Partial<Limits>,
  steps: number[],
  opts?: RootsOptions,
): Uint8Array[] | RootsResult {
  const m = Machine.forTask(program, input, limits);
  const r = rootsOnMachine(m, steps, opts?.snapshots ?? false);
  return opts ? { ...r, machine: m } : r.roots;
}

/** rootsAtSteps on an existing machine (step numbers are absolute: compared with machine.steps). */
export function rootsOnMachine(m: Machine, steps: number[], snapshots = false): { roots: Uint8Array[]; snapshots?: Snapshot[] } {
  const order = steps.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const roots: Uint8Array[] = new Array(steps.length);
  const snaps: Snapshot[] | undefined = snapshots ? new Array(steps.length) : undefined;
  const t = tracker(m);
  let last: Uint8Array | null = null;
  let lastSnap: Snapshot | null = null;
  let lastKey = -1;
  for (const [s, i] of order) {
    if (s < m.steps) throw new RangeError(`step ${s} is before the machine's current step ${m.steps}`);
    if (m.status === Status.Running && s > m.steps) m.run(s - m.steps);
    // a terminal machine no longer changes, so its step counter identifies the state
    if (last === null || m.steps !== lastKey) {
      last = t.root();
      lastSnap = snaps ? m.snapshot() : null;
      lastKey = m.steps;
    }
    roots[i] = last;
    if (snaps) snaps[i] = lastSnap!;
  }
  return snaps ? { roots, snapshots: snaps } : { roots };
}
