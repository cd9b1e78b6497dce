/**
 * What crosses the chain boundary, byte for byte: the final-state opening the market checks at
 * `commit` (TaskState.open layout, docs/GAME.md), the descriptor and limits structs, and the false
 * (but consistent) claims the test behaviours of the solver commit. Shared by the nodes, the
 * contract tests (test/contracts/model.ts re-exports these) and the replay tool.
 */
import { getBytes, hexlify, solidityPackedKeccak256 } from "ethers";
import type { Limits } from "../interpreter/isa.js";
import { fullLimits } from "../interpreter/link.js";
import {
  P_AUX,
  P_COLD,
  P_STATE,
  Z,
  ZERO32,
  hashParts,
  inputRoot,
  limitsBytes,
  memInfoBytes,
  outputDepth,
  regsBytes,
  treeRoot,
  type Components,
  type ProgramDescriptor,
  type Regs,
} from "../interpreter/state.js";

/** 0x-prefixed lowercase hex. */
export type Hex = string;

// ------------------------------------------------------------------------------------------------
// Openings (the preimages of a state root, TaskState.open layout)

export interface Opening {
  regs: Regs;
  stackHash: Uint8Array;
  localsRoot: Uint8Array;
  codeRoot: Uint8Array;
  pages: number;
  outLen: number;
  memRoot: Uint8Array;
  framesHash: Uint8Array;
  limits: Uint8Array; // 20 bytes
  globalsRoot: Uint8Array;
  tableRoot: Uint8Array;
  inputRoot: Uint8Array;
  outputRoot: Uint8Array;
}

export const OPENING_LENGTH = 348;

/** Byte offsets of the opening's fields that claims rewrite. */
export const OPENING = {
  steps: 4, // regs.steps u48
  status: 28, // regs.status u8
  trap: 29, // regs.trap u8
  outLen: 132, // memInfo.outLen u32
  outputLimit: 212, // limits.outputBytes u32
  outputRoot: 316,
} as const;

export function encodeOpening(o: Opening): Uint8Array {
  const parts = [
    regsBytes(o.regs),
    o.stackHash,
    o.localsRoot,
    o.codeRoot,
    memInfoBytes(o.pages, o.outLen),
    o.memRoot,
    o.framesHash,
    o.limits,
    o.globalsRoot,
    o.tableRoot,
    o.inputRoot,
    o.outputRoot,
  ];
  return concatOpening(parts);
}

/** The state root of an encoded opening (docs/STATE.md §2). */
export function openingRoot(b: Uint8Array): Uint8Array {
  const aux = hashParts(P_AUX, b.subarray(200, 348));
  const cold = hashParts(P_COLD, b.subarray(128, 200), aux);
  return hashParts(P_STATE, b.subarray(0, 128), cold);
}

/** The opening of a real machine state from its components. */
export function openingOfComponents(c: Components): Uint8Array {
  return concatOpening([c.regs, c.stackHash, c.localsRoot, c.codeRoot, c.memInfo, c.memRoot, c.framesHash, c.limits, c.globalsRoot, c.tableRoot, c.inputRoot, c.outputRoot]);
}

function concatOpening(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(OPENING_LENGTH);
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  if (at !== OPENING_LENGTH) throw new Error(`opening of ${at} bytes`);
  return out;
}

/** The initial state of a task (docs/STATE.md §6) as an opening. */
export function initialOpening(d: ProgramDescriptor, input: Uint8Array, limitsIn: Partial<Limits>): Opening {
  const limits = fullLimits(limitsIn);
  const ceiling = Math.min(d.memMax, limits.memoryPages, 65536);
  return {
    regs: { pc: d.entryPc, steps: 0, stepLimit: limits.steps, sp: 0, depth: 1, exitCode: 0, status: 0, trap: 0, codeDepth: d.codeDepth },
    stackHash: ZERO32,
    localsRoot: Z[0],
    codeRoot: d.codeRoot,
    pages: d.initPages,
    outLen: 0,
    memRoot: d.memRoot,
    framesHash: ZERO32,
    limits: limitsBytes(limits, ceiling, input.length),
    globalsRoot: d.globalsRoot,
    tableRoot: d.tableRoot,
    inputRoot: inputRoot(input),
    outputRoot: Z[outputDepth(limits.outputBytes)],
  };
}

// ------------------------------------------------------------------------------------------------
// Contract structs

export function descriptorStruct(d: ProgramDescriptor) {
  return {
    codeRoot: hexlify(d.codeRoot),
    memRoot: hexlify(d.memRoot),
    globalsRoot: hexlify(d.globalsRoot),
    tableRoot: hexlify(d.tableRoot),
    entryPc: d.entryPc,
    codeDepth: d.codeDepth,
    initPages: d.initPages,
    memMax: d.memMax,
  };
}

export function limitsStruct(l: Limits) {
  return { steps: BigInt(l.steps), memoryPages: l.memoryPages, callDepth: l.callDepth, stackHeight: l.stackHeight, outputBytes: l.outputBytes };
}

/** Limits from a decoded TaskState.Limits (a Result or an object with bigint fields). */
export function limitsFromStruct(s: { steps: bigint | number; memoryPages: bigint | number; callDepth: bigint | number; stackHeight: bigint | number; outputBytes: bigint | number }): Limits {
  return { steps: Number(s.steps), memoryPages: Number(s.memoryPages), callDepth: Number(s.callDepth), stackHeight: Number(s.stackHeight), outputBytes: Number(s.outputBytes) };
}

// ------------------------------------------------------------------------------------------------
// Claims

/** keccak256(solver ‖ finalRoot ‖ salt): what `commit` takes (TaskMarket.commit), bound to its solver. */
export function commitmentOf(solver: string, finalRoot: Hex, salt: Hex): Hex {
  return solidityPackedKeccak256(["address", "bytes32", "bytes32"], [solver, finalRoot, salt]);
}

/** A solution as committed: the final root, steps, output and opening. */
export interface Claim {
  finalRoot: Hex;
  steps: bigint;
  output: Hex;
  opening: Hex;
}

/** The claim of a final state from its opening and output. */
export function claimOf(opening: Uint8Array, output: Uint8Array): Claim {
  const dv = new DataView(opening.buffer, opening.byteOffset, opening.byteLength);
  const steps = (BigInt(dv.getUint16(OPENING.steps)) << 32n) | BigInt(dv.getUint32(OPENING.steps + 2)); // u48
  return { finalRoot: hexlify(openingRoot(opening)), steps, output: hexlify(output), opening: hexlify(opening) };
}

/**
 * A false claim that the market accepts (a consistent halted final state): the true final opening
 * with its step count set to `steps` (default: unchanged) and its output replaced by `output` (its
 * tree recomputed at the task's output depth). Throws when the result would be the true claim.
 */
export function falseClaim(trueOpening: Hex | Uint8Array, trueOutput: Hex | Uint8Array, opts: { steps?: bigint; output?: Uint8Array } = {}): Claim {
  const o = getBytes(trueOpening).slice();
  const dv = new DataView(o.buffer, o.byteOffset);
  const outputLimit = dv.getUint32(OPENING.outputLimit);
  const truth = getBytes(trueOutput);
  let output = opts.output;
  if (!output) {
    // the true output with its first byte changed; an empty output becomes one byte (or, when the
    // limit allows no output at all, stays empty: the status changes from trapped to halted)
    if (truth.length > 0) (output = truth.slice()), (output[0] ^= 0x4c);
    else output = outputLimit > 0 ? Uint8Array.of(0x4c) : new Uint8Array(0);
  }
  if (output.length > outputLimit) throw new RangeError(`a false output of ${output.length} bytes exceeds the output limit ${outputLimit}`);
  if (opts.steps !== undefined) {
    if (opts.steps < 0n || opts.steps >= 1n << 48n) throw new RangeError(`steps ${opts.steps} do not fit in u48`);
    dv.setUint16(OPENING.steps, Number(opts.steps >> 32n));
    dv.setUint32(OPENING.steps + 2, Number(opts.steps & 0xffffffffn));
  }
  o[OPENING.status] = 1; // halted
  o[OPENING.trap] = 0;
  dv.setUint32(OPENING.outLen, output.length);
  o.set(treeRoot(output, outputDepth(outputLimit)), OPENING.outputRoot);
  const claim = claimOf(o, output);
  if (claim.finalRoot === hexlify(openingRoot(getBytes(trueOpening)))) throw new Error("the false claim equals the true one");
  return claim;
}
