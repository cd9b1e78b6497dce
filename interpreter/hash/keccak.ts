/**
 * keccak256 (Ethereum's Keccak-256: pad byte 0x01, not FIPS-202 SHA3-256) backed by a small
 * WebAssembly module compiled from assembly/keccak.ts.
 *
 * Loading: the module is read from build/keccak.wasm; when that file is missing or older than its
 * AssemblyScript source it is built first (about 4 s, once; see build.ts). Building on first use,
 * rather than checking in base64 bytes, keeps a single source of truth for the hash that consensus
 * depends on — a checked-in blob could silently drift from the source it claims to come from.
 * The build runs synchronously in a child process, so importing this module never needs a top-level
 * await (it stays usable through require(esm)). The cost: AssemblyScript must be installed wherever
 * the build has not been run (`npm run build` produces the file ahead of time).
 *
 * Batches (hashPairs*, subtreeRoot*, hence every Merkle level), single messages (keccak256) and hash
 * chains (chainHashes) go to the native AVX-512 hasher when it is available (native.ts), else to the
 * module (its SIMD hashPairs, its scalar keccak); both compute the same bytes.
 *
 * All functions are synchronous and share one WebAssembly instance (one thread = one instance; a
 * worker thread that imports this module gets its own).
 *
 * Zero-copy access: `scratch(bytes)` returns a view of the module's scratch region; the *At functions
 * take offsets into that view. A view is invalidated (detached) whenever the module memory grows,
 * which only `scratch()` with a larger size (or a large keccak256 input) does.
 */
import { keccakWasmBytes } from "./build.js";
import { nativeHasher, offHeap } from "./native.js";

interface KeccakExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  scratchPtr(): number;
  statePtr(): number;
  ioPtr(): number;
  permute(state: number): void;
  permute2(state: number): void;
  keccak(ptr: number, len: number, out: number): void;
  hashNode(prefix: number, inp: number, out: number): void;
  hashPairs(prefix: number, inp: number, out: number, n: number): void;
  zeroHashes(prefix: number): number;
}

const wasmModule = new WebAssembly.Module(keccakWasmBytes() as Uint8Array<ArrayBuffer>);
const ex = new WebAssembly.Instance(wasmModule, {}).exports as unknown as KeccakExports;

const SCRATCH = ex.scratchPtr();
if (ex.heapBase() > ex.statePtr()) throw new Error("keccak.wasm: static data overlaps the fixed buffers");

// Fixed small buffers inside the module (below SCRATCH): 192 bytes of input and 32 of output for the
// single-call API.
const IO_IN = ex.ioPtr();
const IO_IN_BYTES = 192;
const IO_OUT = IO_IN + IO_IN_BYTES;

let mem = new Uint8Array(ex.memory.buffer);
let ioIn = new Uint8Array(ex.memory.buffer, IO_IN, IO_IN_BYTES);
let ioOut = new Uint8Array(ex.memory.buffer, IO_OUT, 32);

function refreshViews(): void {
  mem = new Uint8Array(ex.memory.buffer);
  ioIn = new Uint8Array(ex.memory.buffer, IO_IN, IO_IN_BYTES);
  ioOut = new Uint8Array(ex.memory.buffer, IO_OUT, 32);
}

/** Batches at least this long go to the native hasher (it hashes four or eight per permutation). */
const NATIVE_MIN_PAIRS = 4;

/**
 * n node hashes between absolute module-memory offsets (the one batch primitive every batch API
 * below uses): the native hasher when present (native.ts), else the module's SIMD hashPairs.
 */
function pairs(prefix: number, inPtr: number, outPtr: number, n: number): void {
  if (nativeHasher !== null && n >= NATIVE_MIN_PAIRS) nativeHasher.hashPairs(prefix, mem, inPtr, outPtr, n);
  else ex.hashPairs(prefix, inPtr, outPtr, n);
}

/** Grows the module memory so that the scratch region holds at least `bytes` bytes. */
function ensureScratch(bytes: number): void {
  const need = SCRATCH + bytes;
  const have = ex.memory.buffer.byteLength;
  if (need <= have) return;
  // grow geometrically so a sequence of growing requests stays linear
  const target = Math.max(need, Math.min(have * 2, have + (256 << 20)));
  const pages = Math.ceil((target - have) / 65536);
  ex.memory.grow(pages);
  refreshViews();
}

/** Bytes in one Merkle node / word. */
export const WORD = 32;

/**
 * A view of the scratch region of the module memory, at least `bytes` long (grows the memory when
 * needed). Offsets passed to the *At functions are relative to the start of this view.
 * Invalidated by any later call that grows the memory; re-fetch after calls that may grow.
 */
export function scratch(bytes: number = 0): Uint8Array {
  ensureScratch(bytes);
  return new Uint8Array(ex.memory.buffer, SCRATCH, ex.memory.buffer.byteLength - SCRATCH);
}

// Single messages go to the native hasher when it is loaded (one lane of its 256-bit permutation,
// ~0.35 us a block against ~0.8 us here: about even for one short message once the Node-API
// crossing is paid, ahead for longer ones), staged through arrays off the JS heap.
let stageIn = offHeap(Uint8Array, 256);
const stageOut = offHeap(Uint8Array, 32);

/** keccak256 of any byte string. Returns a new 32-byte array (or writes into `out`). */
export function keccak256(data: Uint8Array, out?: Uint8Array): Uint8Array {
  const len = data.length;
  if (nativeHasher !== null) {
    if (len > stageIn.length) stageIn = offHeap(Uint8Array, Math.max(len, 2 * stageIn.length));
    stageIn.set(data);
    nativeHasher.keccak(stageIn, len, stageOut);
    if (out) {
      out.set(stageOut);
      return out;
    }
    return stageOut.slice();
  }
  if (len <= IO_IN_BYTES) {
    ioIn.set(data);
    ex.keccak(IO_IN, len, IO_OUT);
  } else {
    ensureScratch(len);
    mem.set(data, SCRATCH);
    ex.keccak(SCRATCH, len, IO_OUT);
  }
  if (out) {
    out.set(ioOut);
    return out;
  }
  return ioOut.slice();
}

/** Longest chainHashes item: a push (prefix ‖ below ‖ item) stays in one 136-byte block. */
const CHAIN_MAX_ITEM = 135 - 33;

/**
 * The pushes of a hash chain: for from <= i < to,
 *   hashes[32 i ..] = keccak256(prefix ‖ below ‖ items[itemLen i .. itemLen (i + 1))),
 * below = hashes[32 (i - 1) ..], or 32 zero bytes for i = 0. One native call for them all when the
 * addon is loaded (pass arrays off the JS heap: see offHeap in native.ts).
 */
export function chainHashes(prefix: number, items: Uint8Array, itemLen: number, from: number, to: number, hashes: Uint8Array): void {
  if (nativeHasher !== null) nativeHasher.chainHashes(prefix, items, itemLen, from, to, hashes);
  else chainHashesModule(prefix, items, itemLen, from, to, hashes);
}

/** chainHashes in the WebAssembly module (without the addon; exported so tests compare the two). */
export function chainHashesModule(prefix: number, items: Uint8Array, itemLen: number, from: number, to: number, hashes: Uint8Array): void {
  if (!(prefix >= 0 && prefix <= 255) || itemLen > CHAIN_MAX_ITEM || from > to || itemLen * to > items.length || 32 * to > hashes.length) {
    throw new RangeError("chainHashes: argument out of range");
  }
  ioIn[0] = prefix;
  if (from === 0) ioIn.fill(0, 1, 33);
  else ioIn.set(hashes.subarray(32 * (from - 1), 32 * from), 1);
  for (let i = from; i < to; i++) {
    ioIn.set(items.subarray(itemLen * i, itemLen * (i + 1)), 33);
    ex.keccak(IO_IN, 33 + itemLen, IO_OUT);
    hashes.set(ioOut, 32 * i);
    ioIn.set(ioOut, 1);
  }
}

/** keccak256 of scratch[off .. off+len), written to scratch[outOff .. outOff+32). */
export function keccakAt(off: number, len: number, outOff: number): void {
  ex.keccak(SCRATCH + off, len, SCRATCH + outOff);
}

/**
 * keccak256(prefix ‖ a ‖ b) for 32-byte a and b: the Merkle node and hash-chain shape.
 * `prefix` is one byte 0..255; pass -1 for plain keccak256(a ‖ b).
 */
export function hash2(prefix: number, a: Uint8Array, b: Uint8Array, out?: Uint8Array): Uint8Array {
  if (a.length !== 32 || b.length !== 32) throw new RangeError("hash2: operands must be 32 bytes");
  ioIn.set(a, 0);
  ioIn.set(b, 32);
  ex.hashNode(prefix, IO_IN, IO_OUT);
  if (out) {
    out.set(ioOut);
    return out;
  }
  return ioOut.slice();
}

/**
 * keccak256(prefix ‖ src[off .. off+64)) written to dst[dstOff .. dstOff+32) — hash2 on slices of
 * larger arrays without creating subarrays. prefix -1: no prefix byte.
 */
export function hash2Into(prefix: number, src: Uint8Array, off: number, dst: Uint8Array, dstOff: number): void {
  const m = mem;
  for (let i = 0; i < 64; i++) m[IO_IN + i] = src[off + i];
  ex.hashNode(prefix, IO_IN, IO_OUT);
  for (let i = 0; i < 32; i++) dst[dstOff + i] = m[IO_OUT + i];
}

/**
 * One Merkle level (or n independent pair hashes) in place: for i < n,
 * buf[32i .. 32i+32) = keccak256(prefix ‖ buf[64i .. 64i+64)). buf holds n pairs (64 n bytes) on entry.
 * prefix -1: no prefix byte. A buf that is a view of scratch() is hashed without copying.
 */
export function hashPairsInPlace(prefix: number, buf: Uint8Array, n: number): void {
  if (buf.length < n * 64) throw new RangeError("hashPairsInPlace: buffer shorter than n pairs");
  if (buf.buffer === ex.memory.buffer && buf.byteOffset >= SCRATCH) {
    pairs(prefix, buf.byteOffset, buf.byteOffset, n);
    return;
  }
  const CHUNK = 1 << 14; // pairs per round trip (1 MiB in)
  ensureScratch(Math.min(n, CHUNK) * 64);
  for (let i = 0; i < n; i += CHUNK) {
    const k = Math.min(CHUNK, n - i);
    mem.set(buf.subarray(i * 64, (i + k) * 64), SCRATCH);
    pairs(prefix, SCRATCH, SCRATCH, k);
    buf.set(mem.subarray(SCRATCH, SCRATCH + k * 32), i * 32);
  }
}

/** hashPairs on scratch offsets: scratch[out + 32i ..] = H(prefix ‖ scratch[in + 64i .. +64)); out may equal in. */
export function hashPairsAt(prefix: number, inOff: number, outOff: number, n: number): void {
  pairs(prefix, SCRATCH + inOff, SCRATCH + outOff, n);
}

/**
 * Root of a fixed-depth binary tree with node = keccak256(prefix ‖ left ‖ right) whose first
 * leaves.length/32 leaves are the 32-byte words of `leaves` (its length is padded with zeros to a
 * multiple of 32) and whose remaining leaves are zero. Hashed entirely inside WebAssembly.
 */
export function subtreeRoot(prefix: number, leaves: Uint8Array, depth: number, out?: Uint8Array): Uint8Array {
  checkDepth(depth);
  const n = Math.ceil(leaves.length / 32);
  if (n > 2 ** depth) throw new RangeError(`subtreeRoot: ${n} leaves do not fit in depth ${depth}`);
  ensureScratch((n + 1) * 32);
  mem.set(leaves, SCRATCH);
  mem.fill(0, SCRATCH + leaves.length, SCRATCH + n * 32);
  rootOfLeaves(prefix, SCRATCH, n, depth, IO_OUT);
  const o = out ?? new Uint8Array(32);
  o.set(ioOut);
  return o;
}

/**
 * subtreeRoot one level of a tree higher up: the root `levels` levels above the nodes of height
 * `height` whose first nodes.length/32 are the words of `nodes` and whose others are zero subtrees
 * (of that height). subtreeRoot(prefix, leaves, depth) = rootOverNodes(prefix, leaves, 0, depth).
 */
export function rootOverNodes(prefix: number, nodes: Uint8Array, height: number, levels: number): Uint8Array {
  checkDepth(height + levels);
  if (nodes.length % 32 !== 0) throw new RangeError("rootOverNodes: nodes are 32-byte words");
  const n = nodes.length / 32;
  if (n > 2 ** levels) throw new RangeError(`rootOverNodes: ${n} nodes do not fit ${levels} levels`);
  ensureScratch((n + 1) * 32);
  mem.set(nodes, SCRATCH);
  rootOfLeaves(prefix, SCRATCH, n, levels, IO_OUT, height);
  return ioOut.slice();
}

/** subtreeRoot on n words already at scratch[off ..] (destroyed; needs room for n+1 words). Root to scratch[outOff..]. */
export function subtreeRootAt(prefix: number, off: number, n: number, depth: number, outOff: number): void {
  checkDepth(depth);
  if (n > 2 ** depth) throw new RangeError(`subtreeRootAt: ${n} leaves do not fit in depth ${depth}`);
  rootOfLeaves(prefix, SCRATCH + off, n, depth, SCRATCH + outOff);
}

/**
 * Root of a depth-`depth` tree whose first n leaves are the words at module offset ptr (destroyed;
 * room for n + 1 words) and whose other leaves are zero, written to offset out: level by level in
 * place, an odd level padded with the zero subtree of its height. With `height` > 0 the "leaves"
 * are nodes of that height (the zero ones are zero subtrees of it).
 */
function rootOfLeaves(prefix: number, ptr: number, n: number, depth: number, out: number, height = 0): void {
  const zh = ex.zeroHashes(prefix) + height * 32;
  if (n === 0) {
    mem.copyWithin(out, zh + depth * 32, zh + depth * 32 + 32);
    return;
  }
  for (let d = 0; d < depth; d++) {
    if (n & 1) {
      mem.copyWithin(ptr + n * 32, zh + d * 32, zh + d * 32 + 32);
      n++;
    }
    n >>= 1;
    pairs(prefix, ptr, ptr, n);
  }
  mem.copyWithin(out, ptr, ptr + 32);
}

/** zero-subtree hashes for `prefix`: z[0] = 32 zero bytes, z[d+1] = H(prefix ‖ z[d] ‖ z[d]), d <= 32. */
export function zeroHashesFor(prefix: number): Uint8Array[] {
  const p = ex.zeroHashes(prefix);
  const z: Uint8Array[] = [];
  for (let d = 0; d <= 32; d++) z.push(mem.slice(p + d * 32, p + d * 32 + 32));
  return z;
}

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 0 || depth > 32) throw new RangeError(`tree depth ${depth} outside 0..32`);
}

/** keccak256 as a 0x-prefixed hex string (convenience for tests and logs). */
export function keccak256Hex(data: Uint8Array): string {
  return "0x" + Buffer.from(keccak256(data)).toString("hex");
}
