/**
 * Property tests of the on-chain prover: seeded random programs (prover-programs.ts) stepped by the
 * Machine, every step proven on-chain (contract == verifyStep == machine); random operand states
 * (the stack values of the next instruction replaced by random u64s, so also non-canonical i32
 * slots, wild addresses, counts, indices) where the contract must equal verifyStep; and sampled
 * witness mutations of every opcode class, which both must reject identically.
 * Seed: PROVER_SEED (default fixed), printed on failure.
 */
import { describe, expect, it } from "vitest";
import { Machine } from "../../interpreter/machine.js";
import { Status } from "../../interpreter/isa.js";
import { POPS } from "../../interpreter/verify.js";
import { stateRoot } from "../../interpreter/state.js";
import { witness } from "../../interpreter/witness.js";
import { expectProven, expectSameAsVerify, mutations, taskFromWat, traceSteps, type StepCase } from "./prover-helpers.js";
import { propertyPrograms, Rng, type PropProgram } from "./prover-programs.js";

const SEED = Number(process.env.PROVER_SEED ?? 20261121);

async function machineOf(p: PropProgram): Promise<Machine> {
  try {
    return Machine.forTask(await taskFromWat(p.wat), p.input ?? new Uint8Array(0), p.limits ?? {});
  } catch (e) {
    throw new Error(`program "${p.name}": ${(e as Error).message}`);
  }
}

describe(`prover property tests (seed ${SEED})`, () => {
  const programs = propertyPrograms(SEED);
  const traced: StepCase[] = [];

  it(`every step of ${programs.length} random programs: contract == verifyStep == machine`, async () => {
    const traps = new Set<number>();
    for (const p of programs) {
      const m = await machineOf(p);
      traced.push(...traceSteps(m, { label: p.name, maxSteps: 50_000 }));
      if (m.status === Status.Trapped) traps.add(m.trap);
    }
    // every trap a task can reach: 1 unreachable .. 13 output limit, 16 out-of-bounds table access,
    // 17 invalid conversion to integer
    expect([...traps].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17]);
    const { mismatches } = await expectProven(traced);
    console.log(`${traced.length} steps of ${programs.length} programs`);
    expect(mismatches.slice(0, 20), `seed ${SEED}`).toEqual([]);
    const ops = new Set(traced.filter((c) => c.running).map((c) => c.op));
    // every provable opcode of the lowered instruction set occurs (all but the embedding-only ones)
    const missing: string[] = [];
    for (let op = 0; op < 256; op++) if (POPS[op] >= 0 && !ops.has(op)) missing.push("0x" + op.toString(16));
    expect(missing).toEqual([]);
    expect(traced.length).toBeGreaterThan(5000);
  });

  it("random operand states for every opcode: contract == verifyStep", async () => {
    const rng = new Rng(SEED ^ 0x5eed);
    const cases: { pre: Uint8Array; witness: Uint8Array; what: string }[] = [];
    const M32 = 0xffffffff;
    for (const p of programs) {
      const m = await machineOf(p);
      for (let i = 0; i < 20_000 && m.status === Status.Running; i++) {
        const op = m.program.code[m.pc * 4];
        const k = POPS[op];
        if (k > 0 && m.sp >= k && rng.chance(0.25)) {
          const saved: [number, number][] = [];
          for (let j = m.sp - k; j < m.sp; j++) {
            saved.push([m.sl[j], m.sh[j]]);
            switch (rng.int(4)) {
              case 0: // non-canonical: high half set, low half kept
                m.sh[j] = Number(rng.u64() & 0xffffffffn) | 0;
                break;
              case 1: // anything
                m.sl[j] = Number(rng.u64() & 0xffffffffn) | 0;
                m.sh[j] = Number(rng.u64() & 0xffffffffn) | 0;
                break;
              case 2: // small
                m.sl[j] = rng.int(70);
                m.sh[j] = rng.chance(0.5) ? 0 : -1;
                break;
              default: // low half near the edges
                m.sl[j] = [0, 1, -1, 0x7fffffff, -0x80000000, 31, 32, 63, 64][rng.int(9)] & M32;
            }
          }
          try {
            cases.push({ pre: stateRoot(m), witness: witness(m), what: `${p.name} step ${m.steps} op 0x${op.toString(16)}` });
          } finally {
            saved.forEach(([lo, hi], j) => ((m.sl[m.sp - k + j] = lo), (m.sh[m.sp - k + j] = hi)));
          }
        }
        m.step();
      }
    }
    expect(cases.length).toBeGreaterThan(1000);
    const { disagreements, rejected } = await expectSameAsVerify(cases);
    console.log(`${cases.length} random operand states, ${rejected} rejected by both`);
    expect(disagreements.slice(0, 20), `seed ${SEED}`).toEqual([]);
  });

  it("mutated witnesses of every opcode (sampled steps): rejected exactly as verifyStep rejects them", async () => {
    // up to 3 steps per (program, opcode), 3 byte flips + truncation + extension each
    const seen = new Map<string, number>();
    const sample = traced.filter((c) => {
      const key = `${c.label}/${c.op}/${c.running}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      return n < 3;
    });
    const muts = mutations(sample, 3, SEED);
    const { disagreements, rejected } = await expectSameAsVerify(muts);
    console.log(`${muts.length} mutated witnesses of ${sample.length} steps`);
    expect(disagreements.slice(0, 20), `seed ${SEED}`).toEqual([]);
    expect(rejected).toBe(muts.length); // single-byte changes never give a valid witness of the same pre root
  });
});
