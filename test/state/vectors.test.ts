/**
 * test/vectors/step-vectors.json: reproducible by its generator, and every case verifies with the
 * reference verifier (the Solidity prover replays the same file). Every case with one byte of its
 * witness changed is rejected or proves a different post root.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { POPS, verifyStep } from "../../interpreter/verify.js";
import { formatVectors, generateVectors, VECTORS_FILE, type VectorFile } from "./gen-vectors.js";
import { expectRejected, hexOf, Rand } from "./util.js";

const fromHex = (h: string) => new Uint8Array(Buffer.from(h.slice(2), "hex"));

describe("step vectors", () => {
  const text = readFileSync(VECTORS_FILE, "utf8");
  const file = JSON.parse(text) as VectorFile & { count: number };

  test("the committed file is what the generator produces", async () => {
    const fresh = formatVectors(await generateVectors());
    expect(fresh === text, "test/vectors/step-vectors.json is stale: run tsx test/state/gen-vectors.ts").toBe(true);
  });

  test("every case verifies; corrupted witnesses are rejected", () => {
    expect(file.count).toBe(file.cases.length);
    const rng = new Rand(7);
    for (const c of file.cases) {
      const pre = fromHex(c.preRoot), w = fromHex(c.witness), post = fromHex(c.postRoot);
      expect(hexOf(verifyStep(pre, w)), `${c.program} step ${c.step}: ${c.note}`).toBe(c.postRoot);
      const bad = w.slice();
      const i = rng.int(bad.length);
      bad[i] ^= 1 + rng.int(255);
      expectRejected(pre, bad, post, `${c.program} step ${c.step} byte ${i}`);
    }
  });

  test("every provable opcode has a vector", () => {
    const have = new Set(file.cases.map((c) => Number(c.op)));
    const missing = [];
    for (let op = 0; op < 256; op++) if (POPS[op] >= 0 && !have.has(op)) missing.push("0x" + op.toString(16));
    expect(missing).toEqual([]);
  });
});
