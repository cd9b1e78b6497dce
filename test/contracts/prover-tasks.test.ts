/**
 * Whole task runs proven on-chain: every one of the first 10,000 steps of the Bitcoin header task, and steps
 * sampled uniformly across complete runs of sha256d and btc-headers (with the halting step and the
 * step on the halted state). Each step: contract == verifyStep == machine.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { Status } from "../../interpreter/isa.js";
import type { Program } from "../../interpreter/program.js";
import { encodeInput, splitHeaders, type Checkpoint } from "../../wasm-tasks/btc-headers/encoding.js";
import { expectProven, traceSteps } from "./prover-helpers.js";
import { Rng } from "./prover-programs.js";

const load = (name: string): Program => compile(new Uint8Array(readFileSync(`wasm-tasks/build/${name}.wasm`)));
const HEADERS = new Uint8Array(readFileSync("wasm-tasks/btc-headers/fixtures/mainnet_828576_830591.bin"));

/** Steps sampled uniformly across a complete run (plus the last two: halt, and the terminal step). */
async function sampledRun(program: Program, input: Uint8Array, samples: number, seed: number) {
  const probe = Machine.forTask(program, input, {});
  probe.run();
  expect(probe.status).toBe(Status.Halted);
  const total = probe.steps; // steps of the run; step `total` is the one on the halted state
  const rng = new Rng(seed);
  const keep = new Set<number>([total - 1, total]);
  while (keep.size < samples + 2) keep.add(rng.int(total));
  const cases = traceSteps(Machine.forTask(program, input, {}), { keep: (i) => keep.has(i), label: "run" });
  expect(cases.length).toBe(keep.size);
  return { cases, total };
}

describe("whole task runs, proven on-chain", () => {
  const checkpoint = (): Checkpoint => JSON.parse(readFileSync("wasm-tasks/btc-headers/fixtures/checkpoint_828575.json", "utf8"));

  it("btc-headers: every one of the first 10,000 steps", async () => {
    const m = Machine.forTask(load("btc-headers"), encodeInput(checkpoint(), splitHeaders(HEADERS).slice(0, 4)), {});
    const cases = traceSteps(m, { maxSteps: 10_000, label: "btc-headers" });
    expect(cases.length).toBe(10_000);
    const { mismatches } = await expectProven(cases);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });

  it("sha256d: 300 steps sampled across a complete run (2 headers), the halt and the step after it", async () => {
    const { cases, total } = await sampledRun(load("sha256d"), HEADERS.subarray(0, 160), 300, 1);
    expect(total).toBeGreaterThan(30_000);
    const { mismatches } = await expectProven(cases);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });

  it("btc-headers: 300 steps sampled across a complete run (3 headers)", async () => {
    const input = encodeInput(checkpoint(), splitHeaders(HEADERS).slice(0, 3));
    const { cases } = await sampledRun(load("btc-headers"), input, 300, 2);
    const { mismatches } = await expectProven(cases);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});
