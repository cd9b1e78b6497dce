import keccak256Npm from "keccak256";
import { MerkleTree as MerkleTreeJS } from "merkletreejs";
import { describe, expect, it } from "vitest";
import {
  MERKLE_NODE_PREFIX,
  MerkleTree,
  lastNonZeroLeaf,
  merkleRootOfBytes,
  zeroHashes,
} from "../../interpreter/hash/merkle.js";
import { bytes, rng } from "../deterministic.js";

// Everything this file compares against is built from the `keccak256` npm package and merkletreejs,
// never from interpreter/hash.
const H = (a: Uint8Array, b: Uint8Array): Buffer => keccak256Npm(Buffer.concat([Buffer.from([0x01]), a, b]));
const nodeHashFn = (data: Buffer): Buffer => keccak256Npm(Buffer.concat([Buffer.from([0x01]), data]));
const hex = (u: Uint8Array) => Buffer.from(u).toString("hex");

function leafOf(b: Uint8Array, i: number): Buffer {
  const w = Buffer.alloc(32);
  if (i * 32 < b.length) w.set(b.subarray(i * 32, Math.min(b.length, i * 32 + 32)));
  return w;
}

/** merkletreejs over all 2^depth leaves (small depths only). */
function jsTree(b: Uint8Array, depth: number): MerkleTreeJS {
  const leaves: Buffer[] = [];
  for (let i = 0; i < 2 ** depth; i++) leaves.push(leafOf(b, i));
  return new MerkleTreeJS(leaves, nodeHashFn, { hashLeaves: false, sortPairs: false });
}

/** Independent sparse reference for any depth: recursion that stops at all-zero subtrees. */
const refZero: Buffer[] = [Buffer.alloc(32)];
for (let d = 0; d < 32; d++) refZero.push(H(refZero[d], refZero[d]));
function refRoot(b: Uint8Array, depth: number): Buffer {
  const nLeaves = Math.ceil(b.length / 32);
  const rec = (level: number, index: number): Buffer => {
    if (index * 2 ** level >= nLeaves) return refZero[level];
    if (level === 0) return leafOf(b, index);
    return H(rec(level - 1, 2 * index), rec(level - 1, 2 * index + 1));
  };
  return rec(depth, 0);
}

describe("zero hashes", () => {
  it("zeroHashes[0] = 0^32 and zeroHashes[d+1] = keccak256(0x01 ‖ z[d] ‖ z[d])", () => {
    expect(MERKLE_NODE_PREFIX).toBe(0x01);
    expect(zeroHashes.length).toBe(33);
    for (let d = 0; d <= 32; d++) expect(hex(zeroHashes[d]), `depth ${d}`).toBe(hex(refZero[d]));
  });
});

describe("MerkleTree vs merkletreejs", () => {
  it("roots agree for many lengths and depths 1..10", () => {
    for (const [len, depth] of [[0, 1], [1, 1], [32, 1], [64, 1], [33, 2], [100, 3], [256, 3], [257, 4], [1000, 6], [4096, 7], [5000, 9], [32768, 10], [3, 10]]) {
      const b = bytes(len, len * 31 + depth);
      const want = jsTree(b, depth).getHexRoot();
      expect("0x" + hex(new MerkleTree(depth, b).root()), `len ${len} depth ${depth}`).toBe(want);
      expect("0x" + hex(merkleRootOfBytes(b, depth)), `len ${len} depth ${depth}`).toBe(want);
    }
  });

  it("proofs equal merkletreejs proofs, verify, and any flipped byte fails", () => {
    const depth = 6, b = bytes(1500, 5); // 47 leaves used, 17 zero leaves
    const js = jsTree(b, depth);
    const t = new MerkleTree(depth, b);
    const root = t.root();
    expect("0x" + hex(root)).toBe(js.getHexRoot());
    for (const i of [0, 1, 2, 31, 46, 47, 48, 63]) {
      const proof = t.proof(i);
      const jsProof = js.getProof(leafOf(b, i), i);
      expect(proof.map(hex), `leaf ${i}`).toEqual(jsProof.map((p) => hex(p.data)));
      const leaf = t.leaf(i);
      expect(hex(leaf)).toBe(hex(leafOf(b, i)));
      expect(MerkleTree.verify(root, i, leaf, proof)).toBe(true);
      expect(js.verify(jsProof, leafOf(b, i), js.getRoot())).toBe(true);
      // wrong index, flipped leaf byte, flipped proof byte, flipped root byte
      // (a leaf equal to its sibling, e.g. two zero leaves, proves at either position)
      expect(MerkleTree.verify(root, i ^ 1, leaf, proof)).toBe(hex(leaf) === hex(proof[0]));
      for (let k = 0; k < 32; k += 7) {
        const l2 = leaf.slice();
        l2[k] ^= 0x80;
        expect(MerkleTree.verify(root, i, l2, proof)).toBe(false);
        const r2 = root.slice();
        r2[k] ^= 1;
        expect(MerkleTree.verify(r2, i, leaf, proof)).toBe(false);
      }
      for (let level = 0; level < depth; level++) {
        for (const k of [0, 13, 31]) {
          const p2 = proof.map((p) => p.slice());
          p2[level][k] ^= 0x01;
          expect(MerkleTree.verify(root, i, leaf, p2), `leaf ${i} level ${level} byte ${k}`).toBe(false);
        }
      }
      expect(MerkleTree.verify(root, i, leaf, proof.slice(0, depth - 1))).toBe(false);
    }
    expect(() => t.proof(64)).toThrow(RangeError);
  });
});

describe("MerkleTree deep and sparse", () => {
  it("depth 21 and 32 roots agree with the sparse reference; node() and proofs at the far edge", () => {
    for (const depth of [21, 32]) {
      const b = bytes(6000, depth);
      const t = new MerkleTree(depth, b);
      expect(hex(t.root())).toBe(hex(refRoot(b, depth)));
      expect(hex(merkleRootOfBytes(b, depth))).toBe(hex(refRoot(b, depth)));
      const last = 2 ** depth - 1;
      const proof = t.proof(last);
      expect(proof.length).toBe(depth);
      expect(MerkleTree.verify(t.root(), last, new Uint8Array(32), proof)).toBe(true);
      expect(MerkleTree.verify(t.root(), 100, t.leaf(100), t.proof(100))).toBe(true);
      expect(hex(t.node(depth, 0))).toBe(hex(t.root()));
      expect(hex(t.node(depth - 1, 1))).toBe(hex(zeroHashes[depth - 1]));
    }
  });

  it("stores nodes only for the written prefix of a large memory", () => {
    const mem = new Uint8Array(64 << 20); // 64 MiB, depth 21
    mem.set(bytes(4096, 1), 1 << 16);
    const t = new MerkleTree(21, mem);
    expect(t.storedLeaves).toBe(((1 << 16) + 4096) / 32);
    expect(t.storedNodeBytes).toBeLessThan(1 << 20);
    expect(hex(t.root())).toBe(hex(refRoot(mem.subarray(0, (1 << 16) + 4096), 21)));
  });

  it("a write far above the stored prefix extends it (zero-subtree fill) and stays correct", () => {
    const mem = new Uint8Array(4 << 20); // depth 17
    mem.set(bytes(4096, 2), 1 << 16);
    const t = new MerkleTree(17, mem);
    mem[(4 << 20) - 1] = 7;
    t.markDirty((1 << 17) - 1);
    expect(hex(t.root())).toBe(hex(merkleRootOfBytes(mem, 17)));
    expect(t.storedLeaves).toBe(1 << 17);
    mem[(2 << 20) + 5] = 1;
    t.markDirtyBytes((2 << 20) + 5, 1);
    expect(hex(t.root())).toBe(hex(merkleRootOfBytes(mem, 17)));
  });

  it("a deeper tree contains the shallower one: node(d, 0) and proof(i).slice(0, d) (size-dependent depth)", () => {
    const b = bytes(2000, 21); // 63 leaves: fits depth 6
    const deep = new MerkleTree(27, b), shallow = new MerkleTree(6, b);
    expect(hex(deep.node(6, 0))).toBe(hex(shallow.root()));
    for (const i of [0, 17, 62, 63]) expect(deep.proof(i).slice(0, 6).map(hex)).toEqual(shallow.proof(i).map(hex));
  });

  it("copyNodes equals node() one by one: stored nodes, zero subtrees past them, leaves", () => {
    const b = new Uint8Array(100 * 32 + 5).map((_, i) => (i * 13) & 255);
    const t = new MerkleTree(10, b);
    for (const [level, first, n] of [[3, 0, 13], [3, 10, 6], [5, 2, 1], [0, 95, 12], [10, 0, 1], [4, 7, 0]]) {
      const out = new Uint8Array(32 * n + 64).fill(7);
      t.copyNodes(level, first, n, out, 32);
      const want = Array.from({ length: n }, (_, j) => hex(t.node(level, first + j)));
      expect(Array.from({ length: n }, (_, j) => hex(out.subarray(32 + 32 * j, 64 + 32 * j))), `level ${level} from ${first}`).toEqual(want);
      expect(out.subarray(0, 32).every((x) => x === 7) && out.subarray(32 + 32 * n).every((x) => x === 7)).toBe(true);
    }
    expect(() => t.copyNodes(3, 120, 9, new Uint8Array(9 * 32))).toThrow(RangeError);
  });

  it("an empty tree's root is zeroHashes[depth]; depth 0 is a single leaf", () => {
    for (const d of [0, 1, 5, 32]) expect(hex(new MerkleTree(d).root())).toBe(hex(zeroHashes[d]));
    const b = bytes(32, 3);
    const t0 = new MerkleTree(0, b);
    expect(hex(t0.root())).toBe(hex(b));
    b[5] ^= 1;
    t0.markDirty(0);
    expect(hex(t0.root())).toBe(hex(b));
    expect(t0.proof(0)).toEqual([]);
    expect(MerkleTree.verify(b, 0, b, [])).toBe(true);
    expect(() => new MerkleTree(0, new Uint8Array(33))).toThrow(RangeError);
    expect(() => new MerkleTree(33)).toThrow(RangeError);
  });

  it("options: zeroFrom skips the scan; another prefix gives its own tree", () => {
    const b = new Uint8Array(100_000);
    b.set(bytes(3000, 12), 1000);
    const want = hex(refRoot(b, 15));
    expect(hex(new MerkleTree(15, b, { zeroFrom: 4000 / 32 + 1 }).root())).toBe(want);
    expect(hex(new MerkleTree(15, b, { zeroFrom: 5000 }).root())).toBe(want);
    const t = new MerkleTree(15, b, { zeroFrom: 0 }); // caller asserted all-zero (wrongly) ...
    expect(hex(t.root())).toBe(hex(zeroHashes[15]));
    t.markDirtyBytes(1000, 3000); // ... until the written leaves are reported
    expect(hex(t.root())).toBe(want);

    const H7 = (x: Uint8Array, y: Uint8Array) => keccak256Npm(Buffer.concat([Buffer.from([0x07]), x, y]));
    const small = bytes(100, 13); // 4 leaves in a depth-2 tree
    const l = [0, 1, 2, 3].map((i) => leafOf(small, i));
    const want7 = H7(H7(l[0], l[1]), H7(l[2], l[3]));
    const t7 = new MerkleTree(2, small, { prefix: 0x07 });
    expect(hex(t7.root())).toBe(hex(want7));
    expect(MerkleTree.verify(t7.root(), 2, t7.leaf(2), t7.proof(2), 0x07)).toBe(true);
    expect(MerkleTree.verify(t7.root(), 2, t7.leaf(2), t7.proof(2))).toBe(false);
    expect(hex(new MerkleTree(3, new Uint8Array(0), { prefix: 0x07 }).root())).toBe(
      hex(H7(H7(H7(refZero[0], refZero[0]), H7(refZero[0], refZero[0])), H7(H7(refZero[0], refZero[0]), H7(refZero[0], refZero[0])))),
    );
  });

  it("lastNonZeroLeaf handles unaligned views and partial last words", () => {
    const buf = new Uint8Array(1000);
    expect(lastNonZeroLeaf(buf)).toBe(0);
    buf[999] = 1; // word 31 (partial: bytes 992..999)
    expect(lastNonZeroLeaf(buf)).toBe(32);
    expect(lastNonZeroLeaf(buf.subarray(1, 999))).toBe(0);
    buf[40] = 1;
    expect(lastNonZeroLeaf(buf.subarray(3, 900))).toBe(2); // byte 37 of the view: word 1
    expect(lastNonZeroLeaf(buf.subarray(0, 900))).toBe(2);
  });
});

describe("incremental updates", () => {
  it("equal a from-scratch build after random writes (marked, bytes, update(list), zeroing leaves)", () => {
    const r = rng(42);
    for (const [size, depth] of [[4096, 7], [65536, 16], [200_000, 20]]) {
      const mem = bytes(size, size);
      mem.fill(0, size >> 1); // upper half zero: writes there move the high-water mark
      const t = new MerkleTree(depth, mem);
      for (let round = 0; round < 12; round++) {
        const writes = 1 + (r() % (round % 3 === 0 ? 3000 : 40));
        const list: number[] = [];
        for (let k = 0; k < writes; k++) {
          const off = r() % size, len = 1 + (r() % 40);
          const end = Math.min(size, off + len);
          const mode = r() % 4;
          for (let i = off; i < end; i++) mem[i] = mode === 0 ? 0 : r() & 255; // mode 0 zeroes bytes
          if (mode === 3) for (let i = Math.floor(off / 32); i <= Math.floor((end - 1) / 32); i++) list.push(i);
          else t.markDirtyBytes(off, end - off);
        }
        if (list.length) t.update(round % 2 ? list : new Set(list));
        expect(hex(t.root()), `size ${size} round ${round}`).toBe(hex(new MerkleTree(depth, mem).root()));
        if (depth <= 16) expect(hex(t.root())).toBe(hex(refRoot(mem, depth)));
      }
      const i = r() % (size / 32);
      expect(MerkleTree.verify(t.root(), i, t.leaf(i), t.proof(i))).toBe(true);
    }
  });

  it("marking clean leaves dirty changes nothing; marks after root() are picked up", () => {
    const mem = bytes(10_000, 8);
    const t = new MerkleTree(12, mem);
    const r0 = hex(t.root());
    for (let i = 0; i < 400; i++) t.markDirty(i * 3);
    t.markDirty(4000); // beyond the backing array: a zero leaf
    expect(hex(t.root())).toBe(r0);
    mem[77] ^= 0xff;
    t.markDirty(2);
    expect(hex(t.root())).not.toBe(r0);
    expect(hex(t.root())).toBe(hex(refRoot(mem, 12)));
    expect(() => t.markDirty(4096)).toThrow(RangeError);
  });
});

describe("growth of the backing array", () => {
  it("setLeaves with a longer array (memory.grow) keeps the root, then tracks writes in the new part", () => {
    const PAGE = 65536;
    let mem: Uint8Array = bytes(PAGE, 1);
    const t = new MerkleTree(16, mem); // 2 MiB of leaves
    const r1 = hex(t.root());
    const grown = new Uint8Array(3 * PAGE);
    grown.set(mem);
    mem = grown;
    t.setLeaves(mem);
    expect(hex(t.root())).toBe(r1);
    mem.set(bytes(100, 2), 2 * PAGE + 5);
    t.markDirtyBytes(2 * PAGE + 5, 100);
    mem[10] ^= 1;
    t.markDirty(0);
    expect(hex(t.root())).toBe(hex(refRoot(mem, 16)));
  });

  it("a getter source follows replacements of the array", () => {
    const m = { bytes: bytes(1000, 4) };
    const t = new MerkleTree(10, () => m.bytes);
    expect(hex(t.root())).toBe(hex(refRoot(m.bytes, 10)));
    const g = new Uint8Array(20_000);
    g.set(m.bytes);
    m.bytes = g;
    g[19_999] = 9;
    t.markDirty(Math.floor(19_999 / 32));
    expect(hex(t.root())).toBe(hex(refRoot(g, 10)));
    expect(t.leafBytes).toBe(g);
  });

  it("deepen (memory.grow past a power of two) equals a fresh tree of the new depth, pending writes included", () => {
    for (const [from, to] of [[0, 3], [0, 0], [4, 4], [4, 9], [11, 16]] as const) {
      const mem = new Uint8Array(Math.max(32, 32 * Math.min(2 ** from, 300)));
      mem.set(bytes(mem.length, from + to));
      const t = new MerkleTree(from, mem);
      t.root();
      mem[0] ^= 0xff; // a pending write across the deepening
      t.markDirty(0);
      t.deepen(to);
      expect(t.depth).toBe(to);
      expect(hex(t.root()), `${from} -> ${to}`).toBe(hex(refRoot(mem, to)));
      expect(hex(t.root())).toBe(hex(new MerkleTree(to, mem).root()));
    }
    const empty = new MerkleTree(5);
    empty.deepen(12);
    expect(hex(empty.root())).toBe(hex(zeroHashes[12]));
    expect(() => empty.deepen(11)).toThrow(RangeError);
  });

  it("a shorter array zeroes the leaves it drops; oversize arrays are rejected", () => {
    const mem = bytes(5000, 6);
    const t = new MerkleTree(8, mem);
    t.setLeaves(mem.subarray(0, 1234));
    expect(hex(t.root())).toBe(hex(refRoot(mem.subarray(0, 1234), 8)));
    expect(() => t.setLeaves(new Uint8Array(256 * 32 + 1))).toThrow(RangeError);
  });
});
