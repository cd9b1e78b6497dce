/**
 * Merkle tree figures for interpreter/hash/merkle.ts.
 *
 *   npx tsx bench/state-merkle.ts            # prints the JSON of measureMerkle()
 *
 * - fullRoot64MiBMs: new MerkleTree(21, 64 MiB of non-zero bytes) — every one of the 2^21 leaves
 *   written, 2^21 - 1 node hashes — best of 3.
 * - incremental{Scattered,Clustered}Ms: root() after 1,000 dirty leaves of that tree (bytes changed,
 *   markDirty called), scattered = uniformly random leaves, clustered = 1,000 consecutive leaves at a
 *   random place; 50 rounds each (mean on the CPU clock, median and best on the wall clock).
 * - sparse: a 64 MiB memory in a depth-21 tree with only its first MiB written: build time and the
 *   bytes of nodes stored.
 * Times are on the clock named by `clock` (thread CPU time when Node has it, see state-keccak.ts);
 * the wall-clock medians are given alongside.
 */
import { MerkleTree } from "../interpreter/hash/merkle.js";
import { clockName, clockSeconds } from "./state-keccak.js";
import { rng } from "../test/deterministic.js";

export interface MerkleFigures {
  clock: string;
  fullRoot64MiBMs: number;
  fullRoot64MiBWallMs: number;
  fullRootHashesPerSecond: number;
  /** mean per round on `clock` */
  incrementalScatteredMs: number;
  incrementalScatteredWallMedianMs: number;
  incrementalScatteredWallBestMs: number;
  incrementalClusteredMs: number;
  incrementalClusteredWallMedianMs: number;
  incrementalClusteredWallBestMs: number;
  sparseBuildMs: number;
  sparseStoredNodeBytes: number;
}

function time<T>(fn: () => T): { value: T; ms: number; wallMs: number } {
  const t = clockSeconds(), w = performance.now();
  const value = fn();
  return { value, ms: (clockSeconds() - t) * 1e3, wallMs: performance.now() - w };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const r2 = (x: number) => Math.round(x * 100) / 100;


export function measureMerkle(): MerkleFigures {
  const DEPTH = 21;
  const LEAVES = 1 << DEPTH;
  const mem = new Uint8Array(LEAVES * 32);
  const next = rng(12345);
  const m32 = new Uint32Array(mem.buffer);
  for (let i = 0; i < m32.length; i++) m32[i] = next();

  let tree!: MerkleTree;
  const builds: { ms: number; wallMs: number }[] = [];
  for (let k = 0; k < 3; k++) {
    const r = time(() => new MerkleTree(DEPTH, mem));
    tree = r.value;
    builds.push(r);
  }
  const full = builds.reduce((a, b) => (b.ms < a.ms ? b : a));

  // The CPU clock ticks coarsely (milliseconds), so the CPU figure is the total over all rounds
  // divided by the rounds; the wall figures are per round.
  const ROUNDS = 50;
  const incremental = (pick: (k: number) => number) => {
    const wall: number[] = [];
    let cpu = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < 1000; k++) {
        const leaf = pick(k);
        mem[leaf * 32 + (k & 31)] ^= 0x5a;
        tree.markDirty(leaf);
      }
      const r = time(() => tree.root());
      cpu += r.ms;
      wall.push(r.wallMs);
    }
    return { mean: cpu / ROUNDS, wallMedian: median(wall), wallBest: Math.min(...wall) };
  };
  const scattered = incremental(() => next() % LEAVES);
  let base = 0;
  const clustered = incremental((k) => {
    if (k === 0) base = next() % (LEAVES - 1000);
    return base + k;
  });

  // sparse: 64 MiB backing, first MiB written
  const sparseMem = new Uint8Array(LEAVES * 32);
  sparseMem.set(mem.subarray(0, 1 << 20));
  const sparse = time(() => new MerkleTree(DEPTH, sparseMem));
  const storedNodeBytes = sparse.value.storedNodeBytes;

  return {
    clock: clockName,
    fullRoot64MiBMs: r2(full.ms),
    fullRoot64MiBWallMs: r2(full.wallMs),
    fullRootHashesPerSecond: Math.round((LEAVES - 1) / (full.ms / 1e3)),
    incrementalScatteredMs: r2(scattered.mean),
    incrementalScatteredWallMedianMs: r2(scattered.wallMedian),
    incrementalScatteredWallBestMs: r2(scattered.wallBest),
    incrementalClusteredMs: r2(clustered.mean),
    incrementalClusteredWallMedianMs: r2(clustered.wallMedian),
    incrementalClusteredWallBestMs: r2(clustered.wallBest),
    sparseBuildMs: r2(sparse.ms),
    sparseStoredNodeBytes: storedNodeBytes,
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  console.log(JSON.stringify(measureMerkle(), null, 2));
}
