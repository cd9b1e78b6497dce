import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import keccak256Npm from "keccak256";
import { describe, expect, it } from "vitest";
import { KECCAK_AS_PATH, generateKeccakAS } from "../../interpreter/hash/gen-keccak.js";
import {
  chainHashes,
  chainHashesModule,
  hash2,
  hash2Into,
  hashPairsAt,
  hashPairsInPlace,
  keccak256,
  keccak256Hex,
  keccakAt,
  rootOverNodes,
  scratch,
  subtreeRoot,
  zeroHashesFor,
} from "../../interpreter/hash/keccak.js";
import { MerkleTree, zeroHashesFlat } from "../../interpreter/hash/merkle.js";
import { NATIVE_ADDON, marksAbove, marksAboveJs, nativeHasher, nativeStatus } from "../../interpreter/hash/native.js";
import { bytes, rng } from "../deterministic.js";

// Two references: the `keccak256` package (native `keccak` addon where its prebuild loads) and the
// pure-JS implementation of the same `keccak` package, so a bug shared with one native build cannot
// hide.
const req = createRequire(import.meta.url);
const createKeccakJs = req("keccak/js") as (alg: string) => { update(b: Buffer): { digest(): Buffer } };
const refNative = (d: Uint8Array) => new Uint8Array(keccak256Npm(Buffer.from(d)));
const refJs = (d: Uint8Array) => new Uint8Array(createKeccakJs("keccak256").update(Buffer.from(d)).digest());
const hex = (u: Uint8Array) => Buffer.from(u).toString("hex");


describe("keccak256", () => {
  it("matches known Ethereum vectors (Keccak, not SHA3)", () => {
    expect(keccak256Hex(new Uint8Array(0))).toBe("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect(keccak256Hex(new TextEncoder().encode("abc"))).toBe(
      "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
    );
  });

  it("matches both references at block boundaries", () => {
    for (const n of [0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 66, 127, 128, 134, 135, 136, 137, 200, 271, 272, 273, 407, 408, 409, 1000]) {
      const d = bytes(n, n + 1);
      const h = hex(keccak256(d));
      expect(h, `len ${n}`).toBe(hex(refNative(d)));
      expect(h, `len ${n}`).toBe(hex(refJs(d)));
    }
  });

  it("matches the reference on 500 random lengths 0..1000", () => {
    const r = rng(7);
    for (let k = 0; k < 500; k++) {
      const n = r() % 1001;
      const d = bytes(n, r());
      expect(hex(keccak256(d)), `len ${n}`).toBe(hex(refNative(d)));
    }
  });

  it("hashes large inputs (growing the module memory) and subarrays with offsets", () => {
    for (const n of [1 << 20, 3 * (1 << 20) + 17]) {
      const d = bytes(n, n);
      expect(hex(keccak256(d))).toBe(hex(refNative(d)));
    }
    const big = bytes(5000, 3);
    for (const [a, b] of [[1, 66], [3, 140], [17, 4000]]) {
      expect(hex(keccak256(big.subarray(a, b)))).toBe(hex(refNative(big.subarray(a, b))));
    }
  });

  it("writes into `out` and returns fresh arrays otherwise", () => {
    const d = bytes(65, 1);
    const out = new Uint8Array(32);
    expect(keccak256(d, out)).toBe(out);
    expect(hex(out)).toBe(hex(refNative(d)));
    const x = keccak256(d), y = keccak256(d);
    expect(x).not.toBe(y);
    x[0] ^= 1;
    expect(hex(y)).toBe(hex(refNative(d)));
  });

  it("the module's keccak (the path without the addon) matches the reference at block boundaries", () => {
    for (const n of [0, 1, 41, 69, 105, 134, 135, 136, 137, 161, 271, 272, 273]) {
      const d = bytes(n, n + 5);
      scratch(n + 32).set(d);
      keccakAt(0, n, n);
      expect(hex(scratch().subarray(n, n + 32)), `len ${n}`).toBe(hex(refNative(d)));
    }
  });

  it("hashes data that already lives in the scratch region", () => {
    const s = scratch(4096);
    s.set(bytes(300, 9));
    const copy = s.slice(0, 300);
    expect(hex(keccak256(s.subarray(0, 300)))).toBe(hex(refNative(copy)));
    expect(hex(keccak256(s.subarray(10, 50)))).toBe(hex(refNative(copy.subarray(10, 50))));
    keccakAt(0, 300, 1000);
    expect(hex(scratch().subarray(1000, 1032))).toBe(hex(refNative(copy)));
  });
});

describe("hash2 and batches", () => {
  const concat = (p: number, a: Uint8Array, b: Uint8Array) => {
    const m = new Uint8Array((p >= 0 ? 1 : 0) + 64);
    if (p >= 0) m[0] = p;
    m.set(a, p >= 0 ? 1 : 0);
    m.set(b, p >= 0 ? 33 : 32);
    return m;
  };

  it("hash2 = keccak256(prefix ‖ a ‖ b) for every prefix byte, and without prefix", () => {
    const r = rng(11);
    for (let p = -1; p < 256; p++) {
      const a = bytes(32, r()), b = bytes(32, r());
      expect(hex(hash2(p, a, b)), `prefix ${p}`).toBe(hex(refNative(concat(p, a, b))));
    }
  });

  it("hash2 allows out to alias an operand, and hash2Into works on slices", () => {
    const a = bytes(32, 1), b = bytes(32, 2);
    const want = hex(refNative(concat(1, a, b)));
    const a2 = a.slice();
    hash2(1, a2, b, a2);
    expect(hex(a2)).toBe(want);
    const src = new Uint8Array(100);
    src.set(a, 5);
    src.set(b, 37);
    const dst = new Uint8Array(50);
    hash2Into(1, src, 5, dst, 7);
    expect(hex(dst.subarray(7, 39))).toBe(want);
    expect(() => hash2(1, a, new Uint8Array(31))).toThrow(RangeError);
  });

  it("hashPairsInPlace = one hash2 per pair (odd counts, SIMD pairs, chunking past 16 Ki pairs)", () => {
    for (const prefix of [0x01, -1, 0xff]) {
      for (const n of [0, 1, 2, 3, 8, 33, 40001]) {
        const data = bytes(n * 64, n + prefix);
        const buf = data.slice();
        hashPairsInPlace(prefix, buf, n);
        const step = n > 100 ? 997 : 1; // spot-check the big one
        for (let i = 0; i < n; i += step) {
          const want = refNative(concat(prefix, data.subarray(64 * i, 64 * i + 32), data.subarray(64 * i + 32, 64 * i + 64)));
          expect(hex(buf.subarray(32 * i, 32 * i + 32)), `prefix ${prefix} n ${n} i ${i}`).toBe(hex(want));
        }
        if (n > 0) {
          const last = n - 1;
          const want = refNative(concat(prefix, data.subarray(64 * last, 64 * last + 32), data.subarray(64 * last + 32, 64 * n)));
          expect(hex(buf.subarray(32 * last, 32 * n))).toBe(hex(want));
        }
      }
    }
  });

  it("hashPairsInPlace on a scratch view is zero-copy and correct; hashPairsAt out of place", () => {
    const n = 5;
    const data = bytes(n * 64, 99);
    let s = scratch(n * 64 + n * 32 + 1024);
    s.set(data);
    hashPairsInPlace(1, s.subarray(0, n * 64), n);
    s = scratch();
    for (let i = 0; i < n; i++) expect(hex(s.subarray(32 * i, 32 * i + 32))).toBe(hex(hash2(1, data.subarray(64 * i, 64 * i + 32), data.subarray(64 * i + 32, 64 * i + 64))));
    s.set(data, 0);
    hashPairsAt(1, 0, 4096, n);
    s = scratch();
    for (let i = 0; i < n; i++) expect(hex(s.subarray(4096 + 32 * i, 4096 + 32 * i + 32))).toBe(hex(hash2(1, data.subarray(64 * i, 64 * i + 32), data.subarray(64 * i + 32, 64 * i + 64))));
  });

  it("subtreeRoot matches a naive tree built with the reference hash", () => {
    const H = (a: Uint8Array, b: Uint8Array) => refNative(concat(1, a, b));
    for (const [len, depth] of [[0, 0], [0, 5], [32, 0], [20, 1], [64, 1], [96, 2], [1000, 6], [4096, 7], [333, 12]]) {
      const d = bytes(len, len + depth);
      let level: Uint8Array[] = [];
      const leaves = Math.min(2 ** depth, Math.max(1, Math.ceil(len / 32)));
      for (let i = 0; i < 2 ** Math.min(depth, 12); i++) {
        const w = new Uint8Array(32);
        if (i < leaves) w.set(d.subarray(32 * i, 32 * i + 32));
        level.push(w);
      }
      while (level.length > 1) {
        const next: Uint8Array[] = [];
        for (let i = 0; i < level.length; i += 2) next.push(H(level[i], level[i + 1]));
        level = next;
      }
      expect(hex(subtreeRoot(1, d, depth)), `len ${len} depth ${depth}`).toBe(hex(level[0]));
    }
    expect(() => subtreeRoot(1, new Uint8Array(65), 1)).toThrow(RangeError);
  });

  it("zero hashes chain through the reference hash", () => {
    const z = zeroHashesFor(0x01);
    expect(z.length).toBe(33);
    expect(hex(z[0])).toBe("00".repeat(32));
    for (let d = 0; d < 32; d++) expect(hex(z[d + 1])).toBe(hex(refNative(concat(1, z[d], z[d]))));
  });
});

describe("chainHashes", () => {
  // reference: h[i] = keccak256(prefix ‖ h[i - 1] ‖ item i), h[-1] = 0^32
  const refChain = (prefix: number, items: Uint8Array, itemLen: number, n: number) => {
    const out: string[] = [];
    let below = new Uint8Array(32);
    for (let i = 0; i < n; i++) {
      const msg = new Uint8Array(33 + itemLen);
      msg[0] = prefix;
      msg.set(below, 1);
      msg.set(items.subarray(itemLen * i, itemLen * (i + 1)), 33);
      below = refNative(msg);
      out.push(hex(below));
    }
    return out;
  };

  for (const [name, chain] of [["addon when loaded", chainHashes], ["module", chainHashesModule]] as const) {
    it(`${name}: whole chains and extensions from a valid prefix, items of 0, 8, 36 and 102 bytes`, () => {
      for (const itemLen of [0, 8, 36, 102]) {
        const n = 9, items = bytes(itemLen * n, itemLen + 3);
        const want = refChain(2, items, itemLen, n);
        const hashes = new Uint8Array(32 * n);
        chain(2, items, itemLen, 0, n, hashes);
        expect(Array.from({ length: n }, (_, i) => hex(hashes.subarray(32 * i, 32 * i + 32))), `itemLen ${itemLen}`).toEqual(want);
        hashes.fill(0xee, 32 * 4); // a stale tail: rehashed from entry 4 on the valid entries below it
        chain(2, items, itemLen, 4, n, hashes);
        expect(hex(hashes.subarray(32 * (n - 1))), `itemLen ${itemLen}`).toBe(want[n - 1]);
        chain(2, items, itemLen, 3, 3, hashes); // empty range: nothing written
        expect(hex(hashes.subarray(32 * 3, 32 * 4))).toBe(want[3]);
      }
    });

    it(`${name}: rejects items too long for one block and ranges past the arrays`, () => {
      expect(() => chain(2, new Uint8Array(103 * 2), 103, 0, 2, new Uint8Array(64))).toThrow(RangeError);
      expect(() => chain(2, new Uint8Array(8), 8, 0, 2, new Uint8Array(64))).toThrow(RangeError);
      expect(() => chain(2, new Uint8Array(16), 8, 0, 2, new Uint8Array(32))).toThrow(RangeError);
      expect(() => chain(2, new Uint8Array(16), 8, 2, 1, new Uint8Array(64))).toThrow(RangeError);
    });
  }
});

describe("generated AssemblyScript", () => {
  it("assembly/keccak.ts is exactly what gen-keccak.ts produces", () => {
    expect(readFileSync(KECCAK_AS_PATH, "utf8") === generateKeccakAS()).toBe(true);
  });
});

// The native batch hasher (interpreter/hash/native.ts) is used for every batch of >= 4 pairs when it
// loads; these check it directly against hash2 (the WebAssembly module) on every batch shape.
describe(`native batch hasher (${nativeHasher ? "AVX-512" : "unavailable: " + nativeStatus})`, () => {
  it.runIf(nativeHasher)("hashPairs equals hash2 for every count 0..40, every prefix kind, in place and not", () => {
    const nat = nativeHasher!;
    for (const prefix of [-1, 0, 1, 0x42, 255]) {
      for (let n = 0; n <= 40; n++) {
        const src = bytes(64 * n + 96, 1000 * n + prefix + 7);
        const want = Array.from({ length: n }, (_, i) => hex(hash2(prefix, src.subarray(96 + 64 * i, 96 + 64 * i + 32), src.subarray(128 + 64 * i, 160 + 64 * i))));
        const out = src.slice();
        nat.hashPairs(prefix, out, 96, 0, n); // out of place, output below the input
        expect(Array.from({ length: n }, (_, i) => hex(out.subarray(32 * i, 32 * i + 32)))).toEqual(want);
        const inPlace = src.slice(96);
        nat.hashPairs(prefix, inPlace, 0, 0, n);
        expect(Array.from({ length: n }, (_, i) => hex(inPlace.subarray(32 * i, 32 * i + 32)))).toEqual(want);
      }
    }
  });

  it.runIf(nativeHasher)("hashPairs of a large batch (512-bit vectors past WIDE_MIN_NODES) equals hash2, with a short tail", () => {
    const n = 4096 + 13;
    const src = bytes(64 * n, 77);
    const out = new Uint8Array(32 * n);
    const both = new Uint8Array(64 * n + 32 * n);
    both.set(src);
    nativeHasher!.hashPairs(1, both, 0, 64 * n, n);
    for (let i = 0; i < n; i++) out.set(hash2(1, src.subarray(64 * i, 64 * i + 32), src.subarray(64 * i + 32, 64 * i + 64)), 32 * i);
    expect(hex(both.subarray(64 * n))).toBe(hex(out));
  });

  // 512-bit instructions slow the interpreter for ~2 ms after them (docs/HASHING.md, "Vector width"),
  // and a compiler may emit them for plain C in an avx512f function (a zeroed array did, once): only
  // the wide batch path may contain them. Needs binutils' objdump.
  const disassembly = (() => {
    try {
      return nativeHasher ? execFileSync("objdump", ["-d", "--no-show-raw-insn", NATIVE_ADDON], { encoding: "utf8", maxBuffer: 64 << 20 }) : null;
    } catch {
      return null;
    }
  })();
  it.runIf(disassembly)("512-bit registers appear only in the wide batch path (hash8, permute8)", () => {
    const wide = new Set<string>();
    let fn = "";
    for (const line of disassembly!.split("\n")) {
      const head = /^[0-9a-f]+ <([^>]+)>:/.exec(line);
      if (head) fn = head[1];
      else if (line.includes("%zmm")) wide.add(fn);
    }
    expect(wide.size).toBeGreaterThan(0); // the wide path itself
    expect([...wide].filter((f) => !/^(hash8|permute8)(\.|$)/.test(f))).toEqual([]);
  });

  it.runIf(nativeHasher)("rejects ranges outside the array and wrong argument types", () => {
    const nat = nativeHasher!;
    expect(() => nat.keccak(new Uint8Array(8), 9, new Uint8Array(32))).toThrow(RangeError);
    expect(() => nat.keccak(new Uint8Array(8), 8, new Uint8Array(31))).toThrow(RangeError);
    expect(() => nat.keccak(new Uint16Array(8) as unknown as Uint8Array, 8, new Uint8Array(32))).toThrow(TypeError);
    expect(() => nat.chainHashes(256, new Uint8Array(8), 8, 0, 1, new Uint8Array(32))).toThrow(RangeError);
    expect(() => nat.chainHashes(2, new Uint32Array(2) as unknown as Uint8Array, 8, 0, 1, new Uint8Array(32))).toThrow(TypeError);
    expect(() => nat.hashPairs(1, new Uint8Array(64 * 8), 0, 0, 9)).toThrow(RangeError);
    expect(() => nat.hashPairs(1, new Uint8Array(64 * 8), 64, 0, 8)).toThrow(RangeError);
    expect(() => nat.hashPairs(1, new Uint8Array(64 * 8), -1, 0, 1)).toThrow(RangeError);
    expect(() => nat.hashPairs(1, new Uint16Array(64) as unknown as Uint8Array, 0, 0, 1)).toThrow(TypeError);
  });

  // MerkleTree.update goes through updateLevels whenever the addon loads; the reference here is
  // subtreeRoot (a whole-tree build through the batch API, which never calls updateLevels).
  it("rootOverNodes over the roots of a tree's height-h subtrees equals the tree's root (odd counts, other prefix, none)", () => {
    for (const [prefix, leaves, h, depth] of [[1, 7 * 16 + 5, 4, 9], [1, 64, 6, 6], [0x42, 33, 1, 7], [1, 1, 3, 5]]) {
      const b = bytes(leaves * 32, leaves + h), size = 32 * 2 ** h;
      const nodes = new Uint8Array(Math.ceil(b.length / size) * 32);
      for (let j = 0; j * size < b.length; j++) nodes.set(subtreeRoot(prefix, b.subarray(j * size, (j + 1) * size), h), j * 32);
      expect(hex(rootOverNodes(prefix, nodes, h, depth - h)), `${leaves} leaves, height ${h}`).toBe(hex(subtreeRoot(prefix, b, depth)));
      expect(hex(rootOverNodes(prefix, b, 0, depth))).toBe(hex(subtreeRoot(prefix, b, depth)));
    }
    expect(hex(rootOverNodes(1, new Uint8Array(0), 5, 3))).toBe(hex(zeroHashesFor(1)[8]));
    expect(() => rootOverNodes(1, new Uint8Array(5 * 32), 2, 2)).toThrow(RangeError);
    expect(() => rootOverNodes(1, new Uint8Array(32), 30, 3)).toThrow(RangeError);
  });

  it("MerkleTree updates (native updateLevels when loaded) equal whole builds: scattered, partial last leaf, other prefix", () => {
    const next = rng(7);
    for (const [prefix, depth, size] of [[1, 12, 3000 * 32 + 7], [7, 20, 40_000], [1, 16, 400_000], [1, 3, 200]]) {
      const mem = bytes(size, prefix * 31 + depth);
      mem.fill(0, size >> 1); // writes in the zero half raise the stored prefix (counts grow)
      const t = new MerkleTree(depth, mem, { prefix });
      for (let round = 0; round < 6; round++) {
        const writes = round === 2 ? 2000 : 1 + (next() % 30); // 2,000 dirty leaves: past WIDE_MIN_NODES (512-bit vectors)
        for (let k = 0; k < writes; k++) {
          const off = next() % size;
          mem[off] = next() & 255;
          t.markDirty(off >>> 5);
        }
        if (round === 4) t.markDirty(Math.floor((size - 1) / 32)); // the partial last leaf
        expect(hex(t.root()), `prefix ${prefix} depth ${depth} round ${round}`).toBe(hex(subtreeRoot(prefix, mem, depth)));
      }
    }
  });

  // a depth-2 tree of four leaves in the native layout, levels from 1 stored (low = 1): level 1 = nodes
  // 0..1 of the block, level 2 = node 2
  const layout = () => ({ block: new Uint8Array(96), first: Uint32Array.of(0, 0, 2), count: Uint32Array.of(4, 2, 1) });
  type Layout = ReturnType<typeof layout>;

  it.runIf(nativeHasher)("updateLevels rejects bad calls before writing anything", () => {
    const nat = nativeHasher!;
    const zh = zeroHashesFlat;
    const mem = new Uint8Array(128).fill(5);
    const ok = layout();
    nat.updateLevels(1, mem, ok.block, ok.first, ok.count, zh, Uint32Array.of(0, 3), 2, 2, 1);
    expect(hex(ok.block.subarray(64))).toBe(hex(subtreeRoot(1, mem, 2)));
    // low = 2: only the root level is stored, rehashed from all four leaves
    const root = new Uint8Array(32);
    nat.updateLevels(1, mem, root, Uint32Array.of(0, 0, 0), Uint32Array.of(4, 0, 1), zh, Uint32Array.of(2), 1, 2, 2);
    expect(hex(root)).toBe(hex(subtreeRoot(1, mem, 2)));
    const bad: [string, (l: Layout) => void, ErrorConstructor][] = [
      ["decreasing indices", (l) => nat.updateLevels(1, mem, l.block, l.first, l.count, zh, Uint32Array.of(3, 0), 2, 2, 1), RangeError],
      ["a path past the stored nodes", (l) => nat.updateLevels(1, mem, l.block, l.first, l.count, zh, Uint32Array.of(0, 4), 2, 2, 1), RangeError],
      ["a level past the block", (l) => nat.updateLevels(1, mem, l.block, Uint32Array.of(0, 0, 3), l.count, zh, Uint32Array.of(0), 1, 2, 1), RangeError],
      ["a count past the block", (l) => nat.updateLevels(1, mem, l.block, l.first, Uint32Array.of(4, 2, 2), zh, Uint32Array.of(0), 1, 2, 1), RangeError],
      ["a layout shorter than the depth", (l) => nat.updateLevels(1, mem, l.block, l.first.subarray(0, 2), l.count, zh, Uint32Array.of(0), 1, 2, 1), RangeError],
      ["low 0", (l) => nat.updateLevels(1, mem, l.block, l.first, l.count, zh, Uint32Array.of(0), 1, 2, 0), RangeError],
      ["low past the depth", (l) => nat.updateLevels(1, mem, l.block, l.first, l.count, zh, Uint32Array.of(0), 1, 2, 3), RangeError],
      ["m past idx", (l) => nat.updateLevels(1, mem, l.block, l.first, l.count, zh, Uint32Array.of(0), 2, 2, 1), RangeError],
      ["zero hashes too short", (l) => nat.updateLevels(1, mem, l.block, l.first, l.count, zh.subarray(0, 64), Uint32Array.of(0), 1, 2, 1), RangeError],
      ["a block that is not bytes", (l) => nat.updateLevels(1, mem, new Uint32Array(24) as unknown as Uint8Array, l.first, l.count, zh, Uint32Array.of(0), 1, 2, 1), TypeError],
      ["counts that are not u32", (l) => nat.updateLevels(1, mem, l.block, l.first, [4, 2, 1] as unknown as Uint32Array, zh, Uint32Array.of(0), 1, 2, 1), TypeError],
    ];
    for (const [what, call, type] of bad) {
      const l = layout();
      expect(() => call(l), what).toThrow(type);
      expect(l.block.every((x) => x === 0), `${what}: nothing written`).toBe(true);
    }
  });

  it("MerkleTree builds (native buildLevels when loaded) equal subtreeRoot: partial last leaf, zero tail, zeroFrom, other prefix", () => {
    for (const [prefix, depth, size, zeroFrom] of [[1, 12, 3000 * 32 + 7, undefined], [1, 14, 496_000, undefined], [0x42, 9, 511 * 32, undefined], [1, 10, 8 * 32 + 1, 5], [1, 4, 0, undefined], [1, 0, 32, undefined]] as const) {
      const mem = bytes(size, size + prefix);
      mem.fill(0, (size * 3) >> 2); // a zero tail: the stored prefix ends at the last non-zero leaf
      const t = new MerkleTree(depth, mem, { prefix, zeroFrom });
      const want = zeroFrom === undefined ? mem : mem.subarray(0, 32 * zeroFrom);
      expect(hex(t.root()), `prefix ${prefix} depth ${depth} size ${size}`).toBe(hex(subtreeRoot(prefix, want, depth)));
      for (let l = 1; l <= depth; l += 3) {
        const j = Math.max(0, Math.ceil(t.storedLeaves / 2 ** l) - 1); // the last stored node: the odd-level edge
        expect(hex(t.node(l, j))).toBe(hex(subtreeRoot(prefix, want.subarray(j * 32 * 2 ** l, (j + 1) * 32 * 2 ** l), l)));
      }
    }
  });

  it.runIf(nativeHasher)("buildLevels rejects bad calls before writing anything", () => {
    const nat = nativeHasher!;
    const mem = new Uint8Array(128).fill(5);
    const ok = layout();
    nat.buildLevels(1, mem, ok.block, ok.first, ok.count, zeroHashesFlat, 2, 1);
    expect(hex(ok.block.subarray(64))).toBe(hex(subtreeRoot(1, mem, 2)));
    const root = new Uint8Array(32);
    nat.buildLevels(1, mem, root, Uint32Array.of(0, 0, 0), Uint32Array.of(4, 0, 1), zeroHashesFlat, 2, 2);
    expect(hex(root)).toBe(hex(subtreeRoot(1, mem, 2)));
    const bad: [string, (l: Layout) => void, ErrorConstructor][] = [
      ["low 0", (l) => nat.buildLevels(1, mem, l.block, l.first, l.count, zeroHashesFlat, 2, 0), RangeError],
      ["counts that do not halve", (l) => nat.buildLevels(1, mem, l.block, l.first, Uint32Array.of(4, 1, 1), zeroHashesFlat, 2, 1), RangeError],
      ["a count past the block", (l) => nat.buildLevels(1, mem, l.block, l.first, Uint32Array.of(6, 3, 2), zeroHashesFlat, 2, 1), RangeError],
      ["zero hashes too short", (l) => nat.buildLevels(1, mem, l.block, l.first, l.count, zeroHashesFlat.subarray(0, 64), 2, 1), RangeError],
      ["a block that is not bytes", (l) => nat.buildLevels(1, mem, new Uint32Array(24) as unknown as Uint8Array, l.first, l.count, zeroHashesFlat, 2, 1), TypeError],
    ];
    for (const [what, call, type] of bad) {
      const l = layout();
      expect(() => call(l), what).toThrow(type);
      expect(l.block.every((x) => x === 0), `${what}: nothing written`).toBe(true);
    }
  });

  it.runIf(nativeHasher)("valuesRoot equals the tree of the values packed big-endian, four per leaf (every count 0..70, offsets)", () => {
    const nat = nativeHasher!;
    const next = rng(5);
    const lo = Int32Array.from({ length: 80 }, () => next() | 0), hi = Int32Array.from({ length: 80 }, () => next() | 0);
    lo[3] = -1;
    hi[3] = -0x80000000;
    for (let n = 0; n <= 70; n++) {
      for (const off of [0, 3, 80 - n]) {
        const leaves = new Uint8Array(Math.ceil(n / 4) * 32), dv = new DataView(leaves.buffer);
        for (let i = 0; i < n; i++) (dv.setInt32(8 * i, hi[off + i]), dv.setInt32(8 * i + 4, lo[off + i]));
        const depth = n <= 4 ? 0 : 32 - Math.clz32(Math.ceil(n / 4) - 1);
        for (const d of [depth, depth + 2]) {
          const out = new Uint8Array(32);
          nat.valuesRoot(1, lo, hi, off, n, zeroHashesFlat, d, out);
          expect(hex(out), `n ${n} off ${off} depth ${d}`).toBe(hex(subtreeRoot(1, leaves, d)));
        }
      }
    }
    const out = new Uint8Array(32);
    expect(() => nat.valuesRoot(1, lo, hi, 70, 11, zeroHashesFlat, 2, out)).toThrow(RangeError); // past the arrays
    expect(() => nat.valuesRoot(1, lo, hi, 0, 17, zeroHashesFlat, 2, out)).toThrow(RangeError); // 5 leaves in depth 2
    expect(() => nat.valuesRoot(1, lo, hi, 0, 4, zeroHashesFlat, 0, new Uint8Array(31))).toThrow(RangeError);
    expect(() => nat.valuesRoot(1, new Uint32Array(8) as unknown as Int32Array, hi, 0, 4, zeroHashesFlat, 0, out)).toThrow(TypeError);
  });

  it("marksAbove finds exactly the marks above the epoch (native and JS agree; stamps past 2^31)", () => {
    const next = rng(99);
    for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 1000, 4099]) {
      const marks = new Uint32Array(n + 3);
      for (let i = 0; i < marks.length; i++) marks[i] = next() % 7 === 0 ? (next() % 2 ? 0x80000005 : 12) : next() % 10;
      for (const since of [0, 5, 9, 11, 0x80000000]) {
        const want = Array.from({ length: n }, (_, l) => l).filter((l) => marks[l] > since);
        const out = new Uint32Array(n);
        expect(Array.from(out.subarray(0, marksAbove(marks, n, since, out)))).toEqual(want);
        expect(Array.from(out.subarray(0, marksAboveJs(marks, n, since, out)))).toEqual(want);
        if (nativeHasher) expect(Array.from(out.subarray(0, nativeHasher.marksAbove(marks, n, since, out)))).toEqual(want);
      }
    }
  });
});
