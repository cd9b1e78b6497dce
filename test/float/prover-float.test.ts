/**
 * The Solidity float unit (contracts/prover/ProverFloat.sol) against the TypeScript semantics
 * (interpreter/float.ts) on every float instruction: every pair of edge operands and thousands of
 * random ones per instruction (tens of thousands of cases per batched eth_call of execMany).
 * Results must be equal bit for bit (NaN included: both produce the canonical NaN), traps equal.
 * Also: the prover's routing table (ProverFloatStep.FLOAT_OPS) is the float opcode set.
 */
import { readFileSync } from "node:fs";
import hre from "hardhat";
import { beforeAll, describe, expect, it } from "vitest";
import { floatStepBig, IS_FLOAT_NUMERIC } from "../../interpreter/float.js";
import { edgesOf, FLOAT_OPS, Rng, randomOperand, type FloatOp } from "./ops.js";

const RANDOM = Number(process.env.FLOAT_PROVER_CASES ?? 600);
/** Edge operands of a binary op: a subset (every pair of the full sets: FLOAT_PROVER_ALL_EDGES=1). */
const ALL_EDGES = process.env.FLOAT_PROVER_ALL_EDGES === "1";
const BATCH = 6000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let unit: any;
beforeAll(async () => {
  const { ethers } = await hre.network.connect();
  unit = await ethers.deployContract("ProverFloat", []);
  await unit.waitForDeployment();
});

/** Cases of an op: [x (first operand), y (top)], as ProverFloat.exec takes them. */
function cases(o: FloatOp, seed: number): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  const e1 = edgesOf(o.ins[0]);
  const sub = (e: bigint[]) => (ALL_EDGES ? e : e.filter((_, i) => i % 2 === 0 || i < 20));
  if (o.ins.length === 2) for (const a of sub(e1)) for (const b of sub(edgesOf(o.ins[1]))) out.push([a, b]);
  else for (const a of e1) out.push([0n, a]);
  const rng = new Rng(seed);
  for (let i = 0; i < RANDOM; i++) {
    const a = randomOperand(rng, o.ins[0]);
    out.push(o.ins.length === 2 ? [a, randomOperand(rng, o.ins[1], a)] : [0n, a]);
  }
  return out;
}

describe("ProverFloat against float.ts", () => {
  it("the prover routes exactly the float opcodes to the float unit", () => {
    const src = readFileSync("contracts/prover/ProverFloatStep.sol", "utf8");
    let mask = 0n;
    for (let op = 0; op < 256; op++) if (IS_FLOAT_NUMERIC[op]) mask |= 1n << BigInt(op);
    expect(src).toContain(`FLOAT_OPS = 0x${mask.toString(16)};`);
  });

  FLOAT_OPS.forEach((o, k) => {
    it(`${o.name} (0x${o.op.toString(16)})`, async () => {
      const cs = cases(o, 7000 + k);
      for (let from = 0; from < cs.length; from += BATCH) {
        const chunk = cs.slice(from, from + BATCH);
        // packed cases (op ‖ x ‖ y) and results (r ‖ trap): ABI arrays of thousands of words are slow to encode
        const hex = chunk.map(([x, y]) => o.op.toString(16).padStart(2, "0") + x.toString(16).padStart(16, "0") + y.toString(16).padStart(16, "0")).join("");
        const res = Buffer.from(((await unit.execPacked("0x" + hex)) as string).slice(2), "hex");
        expect(res.length).toBe(9 * chunk.length);
        chunk.forEach(([x, y], i) => {
          const want = floatStepBig(o.op, x, y);
          const trap = res[9 * i + 8];
          const got = trap !== 0 ? { trap } : res.readBigUInt64BE(9 * i);
          if (typeof want === "bigint" ? got !== want : typeof got === "bigint" || got.trap !== want.trap) {
            const show = (v: bigint | { trap: number }) => (typeof v === "bigint" ? `0x${v.toString(16)}` : `trap ${v.trap}`);
            expect.fail(`${o.name}(0x${x.toString(16)}, 0x${y.toString(16)}): Solidity ${show(got)}, TypeScript ${show(want)}`);
          }
        });
      }
    });
  });
});
