/**
 * Helpers of the on-chain prover tests and benchmark: the contracts on Hardhat's in-process
 * network, batched eth_calls of `ProverHarness.stepMany`, step traces of machines (pre root,
 * witness, post root, each checked with the TypeScript verifier), and WAT -> task programs.
 */
import hre from "hardhat";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { Status, type Limits } from "../../interpreter/isa.js";
import { stateRoot } from "../../interpreter/state.js";
import { witness } from "../../interpreter/witness.js";
import { verifyStep, WitnessError } from "../../interpreter/verify.js";

export const hex = (b: Uint8Array): string => "0x" + Buffer.from(b).toString("hex");
export const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/^0x/, ""), "hex"));

/** Error selectors of the prover (ProverBase) by name, and back. */
export const ERRORS = ["Truncated", "BadLength", "BadField", "BadOpcode", "Unprovable", "RootMismatch"] as const;

// ------------------------------------------------------------------------------------------------
// Chain

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Contract = any;
export interface Chain {
  ethers: Awaited<ReturnType<typeof hre.network.connect>>["ethers"];
  prover: Contract;
  harness: Contract;
  /** selector (0x + 8 hex) -> error name */
  errorBySelector: Map<string, string>;
}

let chainPromise: Promise<Chain> | undefined;

/** The prover and its harness, deployed once per test file (process). */
export function chain(): Promise<Chain> {
  chainPromise ??= (async () => {
    const { ethers } = await hre.network.connect();
    const prover = await ethers.deployContract("OneStepProver", []);
    await prover.waitForDeployment();
    const harness = await ethers.deployContract("ProverHarness", [await prover.getAddress()]);
    await harness.waitForDeployment();
    const errorBySelector = new Map<string, string>();
    for (const name of ERRORS) errorBySelector.set(prover.interface.getError(name)!.selector, name);
    return { ethers, prover, harness, errorBySelector };
  })();
  return chainPromise;
}

export interface OnChainResult {
  /** post root (hex) or null when the step reverted */
  post: (string | null)[];
  /** error name when it reverted ("0x…" for an unknown selector) */
  error: (string | null)[];
  /** gas of the prover call inside the batch (execution only) */
  gas: number[];
}

const toBytes = (x: Uint8Array | string): Uint8Array => (typeof x === "string" ? unhex(x) : x);

/** ABI encoding of stepMany(bytes32[], bytes[]) (ethers' generic encoder is slow on large arrays). */
export function encodeStepMany(selector: string, pre: Uint8Array[], wit: Uint8Array[]): string {
  const n = pre.length;
  const word = (v: number) => v.toString(16).padStart(64, "0");
  const parts: string[] = [selector.slice(2), word(64), word(64 + 32 + 32 * n), word(n)];
  for (const p of pre) parts.push(Buffer.from(p).toString("hex"));
  parts.push(word(n));
  let off = 32 * n;
  const bodies: string[] = [];
  for (const w of wit) {
    parts.push(word(off));
    const padded = Math.ceil(w.length / 32) * 32;
    bodies.push(word(w.length) + Buffer.from(w).toString("hex") + "00".repeat(padded - w.length));
    off += 32 + padded;
  }
  return "0x" + parts.join("") + bodies.join("");
}

/** Decodes (bytes32[], bytes4[], uint256[]) returned by stepMany. */
function decodeStepMany(data: string, n: number): { post: string[]; err: string[]; gas: number[] } {
  const h = data.slice(2);
  const wordAt = (byteOff: number) => h.slice(2 * byteOff, 2 * byteOff + 64);
  const arr = (headIndex: number) => {
    const off = parseInt(wordAt(32 * headIndex), 16);
    const len = parseInt(wordAt(off), 16);
    if (len !== n) throw new Error("stepMany: bad result length");
    return Array.from({ length: len }, (_, i) => wordAt(off + 32 + 32 * i));
  };
  return {
    post: arr(0).map((x) => "0x" + x),
    err: arr(1).map((x) => "0x" + x.slice(0, 8)),
    gas: arr(2).map((x) => parseInt(x, 16)),
  };
}

/**
 * Runs prover.step on every (pre, witness) with batched eth_calls of ProverHarness.stepMany.
 * Batches are cut by count and calldata size so that each eth_call stays far below the gas cap.
 */
export async function proveMany(cases: { pre: Uint8Array | string; witness: Uint8Array | string }[], maxBatch = 100): Promise<OnChainResult> {
  const { harness, errorBySelector, ethers } = await chain();
  const to = await harness.getAddress();
  const selector = harness.interface.getFunction("stepMany")!.selector;
  const out: OnChainResult = { post: [], error: [], gas: [] };
  let i = 0;
  while (i < cases.length) {
    let j = i, bytes = 0;
    while (j < cases.length && j - i < maxBatch && bytes < 300_000) {
      bytes += toBytes(cases[j].witness).length;
      j++;
    }
    const slice = cases.slice(i, j);
    const data = encodeStepMany(selector, slice.map((c) => toBytes(c.pre)), slice.map((c) => toBytes(c.witness)));
    const res: string = await ethers.provider.send("eth_call", [{ to, data, gas: "0xf00000" }, "latest"]);
    const r = decodeStepMany(res, slice.length);
    for (let k = 0; k < slice.length; k++) {
      const e = r.err[k];
      if (e === "0x00000000") {
        out.post.push(r.post[k]);
        out.error.push(null);
      } else {
        out.post.push(null);
        out.error.push(errorBySelector.get(e) ?? e);
      }
      out.gas.push(r.gas[k]);
    }
    i = j;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Machines

export interface StepCase {
  pre: Uint8Array;
  witness: Uint8Array;
  post: Uint8Array;
  op: number; // opcode at pc (also for steps that do not execute)
  running: boolean; // the instruction executes (running, below the step limit)
  step: number; // step number (pre-state's `steps`)
  label?: string;
}

/**
 * Steps a machine and records every step (or the sampled ones) as a case: pre root, witness, post
 * root, each checked against the TypeScript verifier. Runs until the machine is terminal (plus
 * one step on the terminal state) or `maxSteps`.
 */
export function traceSteps(m: Machine, opts: { maxSteps?: number; keep?: (i: number, op: number) => boolean; label?: string } = {}): StepCase[] {
  const max = opts.maxSteps ?? Number.MAX_SAFE_INTEGER;
  const cases: StepCase[] = [];
  let r0: Uint8Array | null = null;
  for (let i = 0; i < max; i++) {
    const terminal = m.status !== Status.Running;
    const op = m.program.code[m.pc * 4];
    if (opts.keep && !opts.keep(i, op)) {
      m.step();
      r0 = null;
    } else {
      r0 ??= stateRoot(m);
      const w = witness(m);
      const running = !terminal && m.steps < m.limits.steps;
      const stepNo = m.steps;
      m.step();
      const r1 = stateRoot(m);
      const v = verifyStep(r0, w);
      if (hex(v) !== hex(r1)) throw new Error(`${opts.label ?? ""} step ${stepNo}: verifyStep disagrees with the machine`);
      cases.push({ pre: r0, witness: w, post: r1, op, running, step: stepNo, label: opts.label });
      r0 = r1;
    }
    if (terminal) break; // one step on the terminal state is recorded too
  }
  return cases;
}

/** verifyStep's outcome: the post root, or the WitnessError code. */
export function tsOutcome(pre: Uint8Array, w: Uint8Array): { post: string | null; error: string | null } {
  try {
    return { post: hex(verifyStep(pre, w)), error: null };
  } catch (e) {
    if (e instanceof WitnessError) return { post: null, error: e.code };
    return { post: null, error: `crash: ${(e as Error).message}` };
  }
}

// ------------------------------------------------------------------------------------------------
// WAT

import { taskFromWat } from "../state/util.js";
export { taskFromWat, wat2wasm } from "../state/util.js";

/** Runs a WAT task from its initial state and records every step (checked with verifyStep). */
export async function traceWat(src: string, input: Uint8Array = new Uint8Array(0), limits: Partial<Limits> = {}, label = ""): Promise<StepCase[]> {
  const program = await taskFromWat(src);
  return traceSteps(Machine.forTask(program, input, limits), { label, maxSteps: 200_000 });
}

// ------------------------------------------------------------------------------------------------
// Differential checks

/** Every case on-chain: the post root must be the recorded one. Returns readable mismatches. */
export async function expectProven(cases: StepCase[]): Promise<{ mismatches: string[]; gas: number[] }> {
  const r = await proveMany(cases);
  const mismatches: string[] = [];
  cases.forEach((c, i) => {
    if (r.post[i] !== hex(c.post))
      mismatches.push(`${c.label ?? ""} step ${c.step} op 0x${c.op.toString(16)}: ${r.error[i] ? "reverted " + r.error[i] : "different post root"}`);
  });
  return { mismatches, gas: r.gas };
}

/**
 * Arbitrary (pre, witness) pairs: the contract must do exactly what verifyStep does (same post root,
 * or a revert with the error verifyStep throws). Returns readable disagreements.
 */
export async function expectSameAsVerify(cases: { pre: Uint8Array; witness: Uint8Array; what: string }[]): Promise<{ disagreements: string[]; rejected: number }> {
  const r = await proveMany(cases);
  const disagreements: string[] = [];
  let rejected = 0;
  cases.forEach((c, i) => {
    const ts = tsOutcome(c.pre, c.witness);
    if (ts.error) rejected++;
    if (ts.post !== r.post[i] || ts.error !== r.error[i])
      disagreements.push(`${c.what}: verifyStep ${ts.error ?? ts.post}, contract ${r.error[i] ?? r.post[i]}`);
  });
  return { disagreements, rejected };
}

/** Single-byte mutations (sampled), a truncation and an extension of each case's witness. */
export function mutations(cases: { pre: Uint8Array; witness: Uint8Array; label?: string; op?: number }[], perCase: number, seed: number) {
  let s = seed >>> 0 || 1;
  const rnd = (n: number) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
  const out: { pre: Uint8Array; witness: Uint8Array; what: string; post?: Uint8Array }[] = [];
  cases.forEach((c, ci) => {
    const name = `${c.label ?? "case " + ci}${c.op !== undefined ? " op 0x" + c.op.toString(16) : ""}`;
    for (let j = 0; j < perCase; j++) {
      const w = c.witness.slice();
      const at = rnd(w.length);
      w[at] ^= 1 + rnd(255);
      out.push({ pre: c.pre, witness: w, what: `${name} byte ${at}` });
    }
    out.push({ pre: c.pre, witness: c.witness.subarray(0, c.witness.length - 1 - rnd(Math.min(40, c.witness.length))), what: `${name} truncated` });
    out.push({ pre: c.pre, witness: Uint8Array.of(...c.witness, ...new Uint8Array(1 + rnd(40))), what: `${name} extended` });
  });
  return out;
}
