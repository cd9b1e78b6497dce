/**
 * contracts/market/InputTree.sol: an input folded in chunk by chunk has exactly the input root of
 * docs/STATE.md §2.9 (interpreter/state.ts inputRoot), whatever the chunk sizes and alignments;
 * the gas of a chunk.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hexlify } from "ethers";
import { inputRoot } from "../../interpreter/state.js";
import { network, type Any } from "../contracts/helpers.js";
import { byteSource, rng } from "../deterministic.js";

const rnd = byteSource(0x2468ace);
const next = rng(0x2468ace);
const rint = (n: number) => next() % n;

let harness: Any;
let nextId = 1;

beforeAll(async () => {
  const { ethers } = await network();
  harness = await ethers.deployContract("InputTreeHarness");
});

/** Uploads `input` in chunks of the given sizes (the rest in one last chunk); returns the tree's root. */
async function upload(input: Uint8Array, sizes: number[]): Promise<{ root: string; gas: bigint[] }> {
  const id = nextId++;
  const gas: bigint[] = [];
  let off = 0;
  for (const s of [...sizes, input.length]) {
    const end = Math.min(input.length, off + s);
    if (end === off && off !== 0) break;
    const r = await (await harness.append(id, input.subarray(off, end))).wait();
    gas.push(r.gasUsed);
    off = end;
    if (off === input.length) break;
  }
  return { root: await harness.root(id), gas };
}

describe("InputTree", () => {
  it("empty, one leaf, a partial leaf, exact powers of two", async () => {
    for (const n of [0, 1, 31, 32, 33, 64, 65, 96, 1024, 4096, 4097]) {
      const input = rnd(n);
      expect((await upload(input, [])).root, `length ${n}`).toBe(hexlify(inputRoot(input)));
    }
  });

  it("chunks of any multiple of 32 bytes, at any alignment, equal the one-shot root", async () => {
    for (let t = 0; t < 40; t++) {
      const n = rint(6000);
      const input = rnd(n);
      const sizes: number[] = [];
      for (let total = 0; total < n; ) {
        const s = 32 * (1 + rint(t % 2 ? 3 : 60));
        sizes.push(s);
        total += s;
      }
      expect((await upload(input, sizes)).root, `length ${n}, chunks ${sizes.join(",")}`).toBe(hexlify(inputRoot(input)));
    }
  });

  it("aligned and unaligned large chunks", async () => {
    const input = rnd(300_000);
    for (const sizes of [[65536, 65536, 65536, 65536], [32 * 1000, 32 * 3000, 32 * 24], [131072 + 32, 96]]) {
      expect((await upload(input, sizes)).root).toBe(hexlify(inputRoot(input)));
    }
  });

  it("refuses a chunk after one that ended inside a leaf", async () => {
    const id = nextId++;
    await (await harness.append(id, rnd(40))).wait();
    await expect(harness.append(id, rnd(32))).rejects.toThrow(/InputUnaligned/);
  });
});
