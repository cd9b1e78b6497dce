/**
 * Fixed-depth binary Merkle trees of 32-byte leaves with keccak256 nodes:
 *
 *   node = keccak256(MERKLE_NODE_PREFIX ‖ left ‖ right),  MERKLE_NODE_PREFIX = 0x01
 *
 * Leaves are raw 32-byte words (not hashed). A tree of depth d has 2^d leaves; leaf i is
 * bytes[32 i .. 32 i + 32) of a backing byte array (the machine's memory), zero-padded past its end.
 * zeroHashes[k] is the root of an all-zero subtree of height k (zeroHashes[0] = 32 zero bytes).
 *
 * Storage: the tree keeps a high-water mark `hw` — every leaf at index >= hw is zero — and, for each
 * level l = 1..depth, a dense array of the ceil(hw / 2^l) nodes that cover the leaves [0, hw).
 * Everything to the right is a zero subtree and is never stored. Programs write memory from the
 * bottom up (data, stack, heap), so the touched prefix is what gets stored; a 64 MiB memory whose
 * first MiB is in use costs about 1 MiB of nodes, whatever the tree depth.
 *
 * Hashing: with the native hasher (native.ts), a full build and an update are one call each: a
 * build hashes every level straight from the one below, an update gathers, hashes (four or eight
 * nodes per permutation) and scatters every level, prefetching the children of upcoming parents.
 * Otherwise node hashing runs in batches through keccak.ts (one call per level per batch of up to
 * 32 Ki nodes): the JS side gathers child pairs into the module's scratch region and scatters the
 * results back.
 *
 * Change tracking: callers report changed leaves with markDirty / markDirtyBytes (or pass them to
 * update()); root() and proof() bring the tree up to date first, rehashing only dirty paths.
 */
import {
  WORD,
  hash2,
  hashPairsAt,
  scratch,
  subtreeRoot,
  zeroHashesFor,
} from "./keccak.js";
import { nativeHasher, offHeap } from "./native.js";

/** Domain prefix of Merkle interior nodes. */
export const MERKLE_NODE_PREFIX = 0x01;
/** Deepest supported tree (2^32 leaves: 128 GiB of leaf bytes, enough for any 32-bit memory). */
export const MAX_MERKLE_DEPTH = 32;

/** zeroHashes[k]: root of an all-zero subtree of height k, k = 0..32. Do not mutate. */
export const zeroHashes: readonly Uint8Array[] = Object.freeze(zeroHashesFor(MERKLE_NODE_PREFIX));

/** The leaves' bytes, or a function returning the current array (re-read on every update). */
export type LeafSource = Uint8Array | (() => Uint8Array);

/** Nodes hashed per call into WebAssembly; 64 B of input each, so 2 MiB of scratch. */
const BATCH = 1 << 15;

/**
 * The lowest stored level (of trees at least this deep). A node of height LOW is the root of its
 * 2^LOW leaves and is rehashed from them when one changes (three hashes for LOW = 2, where its path
 * costs two); the levels below it would be three quarters of the node memory, and first touching
 * that memory (page faults) took ~0.3 ms of a 1.8 ms first build of a 0.5 MiB memory.
 */
const LOW = 2;

function checkDepth(depth: number): void {
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_MERKLE_DEPTH) {
    throw new RangeError(`Merkle depth ${depth} outside 0..${MAX_MERKLE_DEPTH}`);
  }
}

function u32view(b: Uint8Array): Uint32Array | undefined {
  return b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : undefined;
}

/** Index one past the last 32-byte word of `bytes` that is not all zero (0 if all zero). */
export function lastNonZeroLeaf(bytes: Uint8Array): number {
  const n = Math.ceil(bytes.length / WORD);
  const full = Math.floor(bytes.length / WORD);
  for (let i = bytes.length - 1; i >= full * WORD; i--) if (bytes[i] !== 0) return n; // partial last word
  const v = u32view(bytes);
  if (v) {
    // whole words, 8 u32 at a time
    for (let w = full - 1; w >= 0; w--) {
      const o = w * 8;
      if ((v[o] | v[o + 1] | v[o + 2] | v[o + 3] | v[o + 4] | v[o + 5] | v[o + 6] | v[o + 7]) !== 0) return w + 1;
    }
    return 0;
  }
  for (let i = full * WORD - 1; i >= 0; i--) if (bytes[i] !== 0) return Math.floor(i / WORD) + 1;
  return 0;
}

function flatten(words: readonly Uint8Array[]): Uint8Array {
  const b = new Uint8Array(words.length * WORD);
  words.forEach((w, i) => b.set(w, i * WORD));
  return b;
}
/** zeroHashes concatenated, 32 bytes per height 0..32 (the native update's layout). Do not mutate. */
export const zeroHashesFlat: Uint8Array = flatten(zeroHashes);

/** Options of a MerkleTree. */
export interface MerkleTreeOptions {
  /** node domain prefix; MERKLE_NODE_PREFIX unless another tree kind needs its own */
  prefix?: number;
  /**
   * A leaf index from which the caller knows every leaf is zero (e.g. the end of the initialised
   * data of a fresh memory): skips the initial scan for the last non-zero leaf, which reads the
   * whole backing array (~10-70 ms for 64 MiB). Leaves at and beyond it are treated as zero.
   */
  zeroFrom?: number;
}

export class MerkleTree {
  /** 0..32; raised (never lowered) by deepen(). */
  depth: number;
  readonly prefix: number;
  private readonly zh: readonly Uint8Array[];
  /** zh concatenated (heights 0..32), for the native update */
  private readonly zhFlat: Uint8Array;
  private source: LeafSource;
  private bytes: Uint8Array; // current leaf bytes
  /** every leaf at index >= hw is zero */
  private hw = 0;
  /** The lowest stored level: min(LOW, depth). */
  private low = 0;
  /**
   * levels[l] (low <= l <= depth, l >= 1): nodes 0 .. count[l]-1 of level l, 32 bytes each; capacity
   * levels[l].length/32 (the levels below low are empty). All levels are views of one block, level l
   * from node first[l] of it: the native hasher takes the block and the two small arrays in one call
   * (reading fourteen level arrays one by one through Node-API took ~4 us, more than hashing a state
   * root's few dirty paths).
   */
  private levels: Uint8Array[] = [];
  private levels32: Uint32Array[] = [];
  private block = new Uint8Array(0);
  // first and count share one array (a typed array's own backing store costs ~2.5 us to allocate:
  // a state root's first look creates several trees)
  private readonly layoutWords = new Uint32Array(2 * (MAX_MERKLE_DEPTH + 1));
  private readonly first = this.layoutWords.subarray(0, MAX_MERKLE_DEPTH + 1);
  private readonly count = this.layoutWords.subarray(MAX_MERKLE_DEPTH + 1);
  /** dirty leaf indices (deduplicated through dirtyBits for indices inside the backing array) */
  private dirtyList = new Uint32Array(64);
  private nDirty = 0;
  private dirtyBits = new Uint8Array(0);

  /**
   * @param depth 0..32; the tree has 2^depth leaves.
   * @param leaves the backing bytes (or a getter); omitted = all leaves zero.
   */
  constructor(depth: number, leaves: LeafSource = new Uint8Array(0), options: MerkleTreeOptions = {}) {
    const prefix = options.prefix ?? MERKLE_NODE_PREFIX;
    checkDepth(depth);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 255) throw new RangeError(`prefix ${prefix} is not a byte`);
    this.depth = depth;
    this.prefix = prefix;
    this.zh = prefix === MERKLE_NODE_PREFIX ? zeroHashes : zeroHashesFor(prefix);
    this.zhFlat = prefix === MERKLE_NODE_PREFIX ? zeroHashesFlat : flatten(this.zh);
    this.source = leaves;
    this.bytes = typeof leaves === "function" ? leaves() : leaves;
    this.rebuild(options.zeroFrom);
  }

  /** The current leaf bytes. */
  get leafBytes(): Uint8Array {
    return this.bytes;
  }

  /** Number of leaves below the high-water mark (the ones whose nodes are stored). */
  get storedLeaves(): number {
    return this.hw;
  }

  /** Bytes allocated for interior nodes (all levels, including spare capacity). */
  get storedNodeBytes(): number {
    return this.block.length;
  }

  /**
   * Replaces the backing array (e.g. after memory.grow). Bytes common to both arrays are assumed
   * unchanged and a longer array's tail zero — exactly memory.grow; report anything else with
   * markDirty or call rebuild(). A shorter array zeroes the leaves it no longer covers.
   */
  setLeaves(leaves: LeafSource): void {
    this.source = leaves;
    this.adopt(typeof leaves === "function" ? leaves() : leaves);
  }

  private adopt(b: Uint8Array): void {
    if (b === this.bytes) return;
    this.checkFits(b);
    const oldLen = this.bytes.length;
    this.bytes = b;
    if (b.length < oldLen) {
      // leaves that lost their bytes are zero now; rehash the ones that may not have been
      const from = Math.floor(b.length / WORD), to = Math.min(Math.ceil(oldLen / WORD), this.hw);
      for (let i = from; i < to; i++) this.markDirty(i);
    }
    this.resizeDirtyBits();
  }

  private checkFits(b: Uint8Array): void {
    if (Math.ceil(b.length / WORD) > 2 ** this.depth) {
      throw new RangeError(`${b.length} bytes do not fit in a depth-${this.depth} tree of 32-byte leaves`);
    }
  }

  private resizeDirtyBits(): void {
    const need = Math.ceil(Math.ceil(this.bytes.length / WORD) / 8);
    if (need > this.dirtyBits.length) {
      // never past 2^depth leaves: markDirty relies on the bitmap for its range check
      const nb = new Uint8Array(Math.max(need, Math.min(this.dirtyBits.length * 2, Math.ceil(2 ** this.depth / 8))));
      nb.set(this.dirtyBits);
      this.dirtyBits = nb;
    }
  }

  /** Records that leaf `index` may have changed. O(1); duplicates are free. */
  markDirty(index: number): void {
    const byte = index >>> 3;
    const bits = this.dirtyBits;
    if (byte < bits.length) {
      const m = 1 << (index & 7);
      const v = bits[byte];
      if (v & m) return;
      bits[byte] = v | m;
    } else if (!(index >= 0 && index < 2 ** this.depth && Number.isInteger(index))) {
      throw new RangeError(`leaf ${index} outside a depth-${this.depth} tree`);
    }
    if (this.nDirty === this.dirtyList.length) {
      const nl = new Uint32Array(this.dirtyList.length * 2);
      nl.set(this.dirtyList);
      this.dirtyList = nl;
    }
    this.dirtyList[this.nDirty++] = index;
  }

  /** Records that bytes [offset, offset + length) of the backing array may have changed. */
  markDirtyBytes(offset: number, length: number): void {
    if (length <= 0) return;
    const last = Math.floor((offset + length - 1) / WORD);
    for (let i = Math.floor(offset / WORD); i <= last; i++) this.markDirty(i);
  }

  /** Number of distinct dirty leaves not yet hashed (approximate for indices past the backing array). */
  get pendingDirty(): number {
    return this.nDirty;
  }

  /**
   * Discards all nodes and rebuilds the tree from the backing bytes (full root computation).
   * zeroFrom: see MerkleTreeOptions (default: scan for the last non-zero leaf).
   */
  rebuild(zeroFrom?: number): void {
    if (typeof this.source === "function") this.adopt(this.source());
    this.checkFits(this.bytes);
    this.resizeDirtyBits();
    this.dirtyBits.fill(0);
    this.nDirty = 0;
    const leaves = Math.ceil(this.bytes.length / WORD);
    if (zeroFrom !== undefined && !(Number.isInteger(zeroFrom) && zeroFrom >= 0)) throw new RangeError(`zeroFrom ${zeroFrom}`);
    this.hw = zeroFrom === undefined ? lastNonZeroLeaf(this.bytes) : Math.min(zeroFrom, leaves);
    // The block is uninitialised: the build below writes every stored node, and zeroing fourteen
    // fresh arrays took ~0.19 ms of a 1.5 ms build of a 0.5 MiB memory (one block: ~0.07 ms less).
    // Room for up to twice the stored leaves (within the backing array): a program's stack and heap
    // grow past the first root's high-water mark, and outgrowing the block moves every level.
    this.low = Math.min(LOW, this.depth);
    this.count.fill(0);
    this.count[0] = this.hw;
    const room = Math.max(this.hw, Math.min(leaves, 2 * this.hw + 1024));
    const caps = [0];
    for (let l = 1; l <= this.depth; l++) {
      if (l < this.low) caps.push(0);
      else {
        this.count[l] = Math.ceil(this.hw / 2 ** l);
        caps.push(Math.ceil(room / 2 ** l));
      }
    }
    this.layout(caps, false);
    if (this.depth === 0) return; // the root is leaf 0, read on demand
    // natively, each level is hashed straight from the one below (no copies through scratch)
    if (nativeHasher !== null) nativeHasher.buildLevels(this.prefix, this.bytes, this.block, this.first, this.count, this.zhFlat, this.depth, this.low);
    else for (let l = this.low; l <= this.depth; l++) this.buildLevel(l);
  }

  /**
   * Moves the levels into a new block with room for caps[l] nodes at level l (l = 1..caps.length-1),
   * copying the stored nodes when `keep` (the new block is otherwise uninitialised).
   */
  private layout(caps: number[], keep: boolean): void {
    let total = 0;
    for (let l = 1; l < caps.length; l++) total += caps[l];
    const block = offHeap(Uint8Array, total * WORD);
    const levels = [new Uint8Array(0)], levels32 = [new Uint32Array(0)];
    for (let l = 1, at = 0; l < caps.length; l++) {
      const lv = block.subarray(at * WORD, (at + caps[l]) * WORD);
      if (keep && l < this.levels.length) lv.set(this.levels[l].subarray(0, this.count[l] * WORD));
      levels.push(lv);
      levels32.push(new Uint32Array(block.buffer, at * WORD, caps[l] * (WORD >>> 2)));
      this.first[l] = at;
      at += caps[l];
    }
    this.block = block;
    this.levels = levels;
    this.levels32 = levels32;
  }

  /**
   * Computes all stored nodes of level l: level low from the leaves (the leaf bytes of k nodes
   * copied to scratch and hashed in place, low times), a level above from the one below (child
   * pairs copied to scratch). Leaves at and past hw are zero.
   */
  private buildLevel(l: number): void {
    const n = this.count[l];
    const span = l === this.low ? WORD << l : 64; // bytes below one node
    const childBytes = l === this.low ? this.bytes : this.levels[l - 1];
    const childLen = l === this.low ? Math.min(this.bytes.length, this.hw * WORD) : this.count[l - 1] * WORD;
    const out = this.levels[l];
    const batch = Math.max(1, (BATCH * 64) / span);
    for (let p0 = 0; p0 < n; p0 += batch) {
      const k = Math.min(batch, n - p0);
      const s = scratch(k * span);
      const from = p0 * span, to = Math.min((p0 + k) * span, childLen);
      s.set(childBytes.subarray(from, to), 0);
      if (to - from < k * span) {
        // the last node lacks some of its children: zero leaf bytes, or a zero subtree
        if (l === this.low) s.fill(0, to - from, k * span);
        else s.set(this.zh[l - 1], to - from);
      }
      for (let pairs = (k * span) / 64; pairs >= k; pairs /= 2) hashPairsAt(this.prefix, 0, 0, pairs);
      out.set(s.subarray(0, k * 32), p0 * WORD);
    }
  }

  /**
   * Makes this the tree of depth `depth` >= the current one whose leftmost subtree it was (a memory
   * that grew): the new levels each hold one node over the old root and zero subtrees. Pending
   * dirty leaves stay pending.
   */
  deepen(depth: number): void {
    checkDepth(depth);
    if (depth < this.depth) throw new RangeError(`cannot lower a depth-${this.depth} tree to ${depth}`);
    if (this.depth < LOW) {
      // a tree this small stores no level below the new one's lowest: build it anew from the leaves
      this.depth = depth;
      const pending = this.dirtyList.slice(0, this.nDirty);
      this.rebuild(this.hw);
      for (const i of pending) this.markDirty(i);
      return;
    }
    const caps = this.levels.map((lv) => lv.length / WORD);
    for (let l = this.depth + 1; l <= depth; l++) caps.push(Math.max(Math.ceil(this.hw / 2 ** l), 1));
    this.layout(caps, true);
    for (let l = this.depth + 1; l <= depth; l++) {
      const n = (this.count[l] = Math.ceil(this.hw / 2 ** l));
      if (n > 0) hash2(this.prefix, this.levels[l - 1].subarray(0, WORD), this.zh[l - 1], this.levels[l]);
    }
    this.depth = depth;
  }

  /** Raises the high-water mark so that leaves [0, newHw) have stored paths. */
  private growTo(newHw: number): void {
    if (newHw <= this.hw) return;
    let roomy = true;
    for (let l = this.low; l <= this.depth && roomy; l++) roomy = Math.ceil(newHw / 2 ** l) * WORD <= this.levels[l].length;
    if (!roomy) {
      // a new block with every level's room at least doubled (capped by the level's width)
      const caps = [0];
      for (let l = 1; l <= this.depth; l++) {
        if (l < this.low) caps.push(0);
        else caps.push(Math.min(Math.max(Math.ceil(newHw / 2 ** l), (this.levels[l].length / WORD) * 2, 16), 2 ** (this.depth - l)));
      }
      this.layout(caps, true);
    }
    for (let l = this.low; l <= this.depth; l++) {
      const old = this.count[l];
      const n = Math.ceil(newHw / 2 ** l);
      // the new nodes cover only leaves >= the old hw: zero subtrees until dirty paths rehash them
      fillWord(this.levels[l], this.zh[l], old, n);
      this.count[l] = n;
    }
    this.count[0] = newHw;
    this.hw = newHw;
  }

  /**
   * Rehashes the paths of all dirty leaves (those marked, plus `dirty` if given).
   * Cost: one hash per distinct node on the union of the dirty paths.
   */
  update(dirty?: Iterable<number> | ArrayLike<number>): void {
    if (typeof this.source === "function") this.adopt(this.source());
    if (dirty) {
      if (ArrayBuffer.isView(dirty) || Array.isArray(dirty) || !(Symbol.iterator in Object(dirty))) {
        const d = dirty as ArrayLike<number>;
        for (let j = 0; j < d.length; j++) this.markDirty(d[j]);
      } else for (const i of dirty as Iterable<number>) this.markDirty(i);
    }
    let m = this.nDirty;
    if (m === 0) return;
    const idx = this.dirtyList.subarray(0, m);
    // clear the dedup bits, sort, unique
    const bits = this.dirtyBits;
    for (let j = 0; j < m; j++) {
      const i = idx[j], byte = i >>> 3;
      if (byte < bits.length) bits[byte] = 0;
    }
    this.nDirty = 0;
    if (this.depth === 0) return; // the root is leaf 0 itself, read on demand
    idx.sort();
    m = unique(idx, m);
    this.growTo(idx[m - 1] + 1);
    if (nativeHasher !== null) {
      // one call for all levels, with the children of upcoming parents prefetched
      nativeHasher.updateLevels(this.prefix, this.bytes, this.block, this.first, this.count, this.zhFlat, idx, m, this.depth, this.low);
      return;
    }

    // level low from the leaves under its dirty nodes, then each level from its children; one
    // scratch view for all levels (hashing never grows the module memory)
    const low = this.low;
    const s = scratch(Math.min(BATCH, m * 2 ** (low - 1)) * 64);
    const s32 = new Uint32Array(s.buffer, s.byteOffset, s.length >>> 2);
    for (let l = low; l <= this.depth; l++) {
      // the dirty nodes of level l: ancestors of the dirty leaves (l = low) or nodes (l > low) below
      const shift = l === low ? low : 1, inBytes = l === low ? WORD << low : 64;
      let q = 0;
      for (let j = 0; j < m; j++) {
        const p = idx[j] >>> shift;
        if (q === 0 || idx[q - 1] !== p) idx[q++] = p;
      }
      m = q;
      const batch = (BATCH * 64) / inBytes;
      for (let b0 = 0; b0 < m; b0 += batch) {
        const k = Math.min(batch, m - b0);
        // runs of consecutive nodes (a written range) move as one block each way
        for (let j = 0; j < k; ) {
          const r = runLength(idx, b0 + j, k - j);
          if (l === low) this.gatherLeaves(idx[b0 + j], r, s, j);
          else this.gatherRun(l, idx[b0 + j], r, s, s32, j);
          j += r;
        }
        for (let pairs = (k * inBytes) / 64; pairs >= k; pairs /= 2) hashPairsAt(this.prefix, 0, 0, pairs);
        const out = this.levels[l], out32 = this.levels32[l];
        for (let j = 0; j < k; ) {
          const p = idx[b0 + j], r = runLength(idx, b0 + j, k - j);
          if (r >= RUN) out.set(s.subarray(j * WORD, (j + r) * WORD), p * WORD);
          else {
            for (let q = 0; q < r; q++) {
              const o = (p + q) * 8, i = (j + q) * 8;
              out32[o] = s32[i];
              out32[o + 1] = s32[i + 1];
              out32[o + 2] = s32[i + 2];
              out32[o + 3] = s32[i + 3];
              out32[o + 4] = s32[i + 4];
              out32[o + 5] = s32[i + 5];
              out32[o + 6] = s32[i + 6];
              out32[o + 7] = s32[i + 7];
            }
          }
          j += r;
        }
      }
    }
  }

  /** Copies the leaves under the r consecutive nodes p.. of level low to scratch from node slot j (zero past the bytes). */
  private gatherLeaves(p: number, r: number, s: Uint8Array, j: number): void {
    const per = 2 ** this.low, from = p * per * WORD, to = (p + r) * per * WORD;
    if (to <= this.bytes.length) s.set(this.bytes.subarray(from, to), j * per * WORD);
    else for (let i = 0; i < r * per; i++) this.copyLeaf(p * per + i, s, (j * per + i) * WORD);
  }

  /** Copies the children of the r consecutive nodes p.. of level l > low to scratch pairs j.. */
  private gatherRun(l: number, p: number, r: number, s: Uint8Array, s32: Uint32Array, j: number): void {
    if (r >= RUN) {
      const from = 2 * p * WORD, to = 2 * (p + r) * WORD;
      if (to <= this.count[l - 1] * WORD) {
        s.set(this.levels[l - 1].subarray(from, to), j * 64);
        return;
      }
    }
    for (let q = 0; q < r; q++) this.gatherPair(l, p + q, s, s32, (j + q) * 16);
  }

  /** Copies the two children of node p of level l > low to scratch word pair at u32 offset w. */
  private gatherPair(l: number, p: number, s: Uint8Array, s32: Uint32Array, w: number): void {
    const c = p * 2;
    const n = this.count[l - 1];
    const src = this.levels32[l - 1];
    if (c + 1 < n) {
      const o = c * 8;
      for (let i = 0; i < 16; i++) s32[w + i] = src[o + i];
      return;
    }
    const z = this.zh[l - 1];
    if (c < n) s.set(this.levels[l - 1].subarray(c * WORD, c * WORD + WORD), w * 4);
    else s.set(z, w * 4);
    s.set(z, w * 4 + WORD);
  }

  private copyLeaf(i: number, dst: Uint8Array, off: number): void {
    const b = this.bytes, from = i * WORD;
    if (from + WORD <= b.length) dst.set(b.subarray(from, from + WORD), off);
    else {
      dst.fill(0, off, off + WORD);
      if (from < b.length) dst.set(b.subarray(from), off);
    }
  }

  /** The current root (brings the tree up to date). Returns a copy. */
  root(out: Uint8Array = new Uint8Array(WORD)): Uint8Array {
    this.update();
    return this.nodeUnchecked(this.depth, 0, out);
  }

  /** Leaf i (32 bytes, zero past the backing array). Returns a copy. */
  leaf(i: number, out: Uint8Array = new Uint8Array(WORD)): Uint8Array {
    this.checkIndex(0, i);
    this.copyLeaf(i, out, 0);
    return out;
  }

  /** Node `index` at `level` (0 = leaves, depth = root), up to date. Returns a copy. */
  node(level: number, index: number, out: Uint8Array = new Uint8Array(WORD)): Uint8Array {
    this.checkIndex(level, index);
    this.update();
    return this.nodeUnchecked(level, index, out);
  }

  /** Nodes first .. first + n - 1 of `level`, 32 bytes each, into dst from dstOff (the stored ones in one copy). */
  copyNodes(level: number, first: number, n: number, dst: Uint8Array, dstOff = 0): void {
    if (n <= 0) return;
    this.checkIndex(level, first);
    this.checkIndex(level, first + n - 1);
    this.update();
    let j = 0;
    if (level > 0 && level >= this.low) {
      const stored = Math.max(0, Math.min(n, this.count[level] - first));
      dst.set(this.levels[level].subarray(first * WORD, (first + stored) * WORD), dstOff);
      j = stored;
    }
    for (; j < n; j++) this.nodeUnchecked(level, first + j, dst.subarray(dstOff + j * WORD, dstOff + (j + 1) * WORD));
  }

  private nodeUnchecked(level: number, index: number, out: Uint8Array): Uint8Array {
    if (level === 0) {
      this.copyLeaf(index, out, 0);
      return out;
    }
    if (level < this.low) {
      // not stored: the root of its leaves (zero past the bytes and, as in a build, past hw)
      const len = Math.min(this.bytes.length, this.hw * WORD), from = Math.min(len, index * (WORD << level)), to = Math.min(len, (index + 1) * (WORD << level));
      return subtreeRoot(this.prefix, this.bytes.subarray(from, to), level, out);
    }
    if (index < this.count[level]) out.set(this.levels[level].subarray(index * WORD, index * WORD + WORD));
    else out.set(this.zh[level]);
    return out;
  }

  private checkIndex(level: number, index: number): void {
    if (!Number.isInteger(level) || level < 0 || level > this.depth) throw new RangeError(`level ${level} outside 0..${this.depth}`);
    if (!Number.isInteger(index) || index < 0 || index >= 2 ** (this.depth - level)) {
      throw new RangeError(`node ${index} outside level ${level} of a depth-${this.depth} tree`);
    }
  }

  /** Sibling path of leaf `index`, bottom-up: proof[k] is the sibling at level k (proof[0] a leaf). */
  proof(index: number): Uint8Array[] {
    this.checkIndex(0, index);
    this.update();
    const out: Uint8Array[] = [];
    for (let l = 0; l < this.depth; l++) {
      const sib = Math.floor(index / 2 ** l) ^ 1; // floor, not >>>: depth 32 indices exceed int32
      out.push(this.nodeUnchecked(l, sib >>> 0, new Uint8Array(WORD)));
    }
    return out;
  }

  /**
   * True when `proof` (siblings bottom-up, depth = proof.length) proves that leaf `index` is `leaf`
   * under `root`. Malformed input (index outside the tree, wrong lengths) is just false.
   */
  static verify(
    root: Uint8Array,
    index: number,
    leaf: Uint8Array,
    proof: readonly Uint8Array[],
    prefix: number = MERKLE_NODE_PREFIX,
  ): boolean {
    const depth = proof.length;
    if (depth > MAX_MERKLE_DEPTH || !Number.isInteger(index) || index < 0 || index >= 2 ** depth) return false;
    if (root.length !== WORD || leaf.length !== WORD || proof.some((p) => p.length !== WORD)) return false;
    return eq(MerkleTree.rootFromProof(index, leaf, proof, prefix), root);
  }

  /** The root implied by `leaf` at `index` and its sibling path (depth = proof.length). */
  static rootFromProof(index: number, leaf: Uint8Array, proof: readonly Uint8Array[], prefix: number = MERKLE_NODE_PREFIX): Uint8Array {
    const depth = proof.length;
    if (depth > MAX_MERKLE_DEPTH || !Number.isInteger(index) || index < 0 || index >= 2 ** depth) {
      throw new RangeError(`leaf ${index} outside a depth-${depth} tree`);
    }
    if (leaf.length !== WORD || proof.some((p) => p.length !== WORD)) throw new RangeError("leaves and proof nodes are 32 bytes");
    let h = new Uint8Array(leaf);
    for (let l = 0; l < depth; l++) {
      if (Math.floor(index / 2 ** l) % 2 === 0) hash2(prefix, h, proof[l], h);
      else hash2(prefix, proof[l], h, h);
    }
    return h;
  }
}

/** Writes `word` into word slots [from, to) of `a` (doubling copies). */
function fillWord(a: Uint8Array, word: Uint8Array, from: number, to: number): void {
  if (to <= from) return;
  a.set(word, from * WORD);
  for (let done = 1; done < to - from; ) {
    const c = Math.min(done, to - from - done);
    a.copyWithin((from + done) * WORD, from * WORD, (from + c) * WORD);
    done += c;
  }
}

/** Runs of at least this many consecutive nodes are copied as blocks (shorter ones word by word). */
const RUN = 4;

/** Length of the run of consecutive values a[i], a[i] + 1, ... (at most max). */
function runLength(a: Uint32Array, i: number, max: number): number {
  let r = 1;
  while (r < max && a[i + r] === a[i] + r) r++;
  return r;
}

function unique(a: Uint32Array, m: number): number {
  let q = 0;
  for (let j = 0; j < m; j++) if (q === 0 || a[q - 1] !== a[j]) a[q++] = a[j];
  return q;
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Root of the depth-`depth` tree whose leaves are `bytes` zero-padded to 32-byte words (the input
 * and output trees). Hashed entirely inside WebAssembly.
 */
export function merkleRootOfBytes(bytes: Uint8Array, depth: number): Uint8Array {
  checkDepth(depth);
  return subtreeRoot(MERKLE_NODE_PREFIX, bytes, depth);
}
