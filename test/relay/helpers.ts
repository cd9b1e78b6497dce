/**
 * The Bitcoin relay on the in-process Hardhat network, driven by hand: deployment of the real
 * contracts (TaskMarket with the real OneStepProver, BtcRelay), registration of the real
 * btc-headers program, batch submission in the task's dense encoding, an honest solver (the task
 * run in the interpreter, the real final state committed with its opening), finalization, and the
 * Merkle branches verifyTx needs. Shared by test/relay/*.test.ts and bench/btc.ts. The node software
 * (client/, solver/, verifier/) will do the same from chain events.
 */
import hre from "hardhat";
import { DEFAULT_RELAY_CONFIG, checkpointStruct, type RelayConfig } from "../../relayer/relay.js";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getBytes, hexlify, keccak256, solidityPackedKeccak256, type Signer } from "ethers";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { DEFAULT_LIMITS, type Limits } from "../../interpreter/isa.js";
import type { Program } from "../../interpreter/program.js";
import { initialStateRoot, programDescriptor, programRoot, stateComponents, type ProgramDescriptor } from "../../interpreter/state.js";
import { descriptorStruct, openingOfComponents, openingRoot } from "../contracts/model.js";
import {
  type BtcResult,
  type Checkpoint,
  type CheckpointJson,
  decodeCheckpoint,
  decodeOutput,
  encodeCheckpoint,
  encodeDenseHeaders,
  hexToHash,
  normalizeCheckpoint,
  headerFields,
} from "../../wasm-tasks/btc-headers/encoding.js";
import { blockHash, blockWork, sha256d } from "../../wasm-tasks/btc-headers/reference.js";
import { merkleRootOf, parseBlock, type ParsedBlock } from "../../relayer/bitcoin.js";
import { fromHex, sharedBtc, sharedBtcLines } from "../tasks/helpers.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BTC_WASM = resolve(ROOT, "wasm-tasks/build/btc-headers.wasm");
export const ETH = 10n ** 18n;

export { DEFAULT_RELAY_CONFIG, type RelayConfig, checkpointStruct } from "../../relayer/relay.js";
export { expectRevert } from "../contracts/helpers.js";

export interface Market {
  ethers: Any;
  signers: Signer[];
  market: Any;
  prover: Any;
  proverName: string;
  program: Program;
  descriptor: ProgramDescriptor;
  programRoot: string;
  wasm: Uint8Array;
}

let connection: Promise<Any> | undefined;
export async function network(): Promise<Any> {
  connection ??= hre.network.connect();
  return connection;
}

let compiled: { program: Program; wasm: Uint8Array } | undefined;
/** The btc-headers program, compiled once per process. */
export function btcProgram(): { program: Program; wasm: Uint8Array } {
  if (!compiled) {
    const wasm = new Uint8Array(readFileSync(BTC_WASM));
    compiled = { wasm, program: compile(wasm, { imports: "task" }) };
  }
  return compiled;
}

/** Deploys the real prover and the market, and registers the btc-headers program. */
export async function deployMarket(opts: { callbackGas?: number; k?: number; clock?: number } = {}): Promise<Market> {
  const { ethers } = await network();
  const signers = await ethers.getSigners();
  const proverName = "OneStepProver";
  const prover = await ethers.deployContract(proverName);
  const market = await ethers.deployContract("TaskMarket", [await prover.getAddress(), opts.k ?? 16, opts.clock ?? 86_400, 5_000, opts.callbackGas ?? 500_000, 2_000_000_000]);
  const { program, wasm } = btcProgram();
  const descriptor = programDescriptor(program);
  const root = hexlify(programRoot(descriptor));
  await (await market.register(wasm, descriptorStruct(descriptor))).wait();
  return { ethers, signers, market, prover, proverName, program, descriptor, programRoot: root, wasm };
}

export interface Relay {
  m: Market;
  relay: Any;
  address: string;
  config: RelayConfig;
  /** Checkpoint of every stored tip, by tip id (from the TipStored events). */
  records: Map<bigint, Checkpoint>;
  /** Block-hash Merkle root of every stored batch, internal byte order (from the TipStored events). */
  blockRoots: Map<bigint, string>;
}

export async function deployRelay(m: Market, cp: CheckpointJson | Checkpoint, config: Partial<RelayConfig> = {}): Promise<Relay> {
  const cfg = { ...DEFAULT_RELAY_CONFIG, ...config };
  const relay = await m.ethers.deployContract("BtcRelay", [await m.market.getAddress(), m.programRoot, checkpointStruct(cp), cfg]);
  await relay.waitForDeployment();
  const records = new Map<bigint, Checkpoint>([[0n, normalizeCheckpoint(cp)]]);
  return { m, relay, address: await relay.getAddress(), config: cfg, records, blockRoots: new Map() };
}

export interface Submitted {
  taskId: bigint;
  parent: bigint;
  input: Uint8Array;
  initialRoot: string;
  limits: Limits;
  gas: bigint[];
  calldataBytes: number;
}

/** Submits `headers` (80-byte headers) as a batch extending tip `parent`. */
export async function submitBatch(
  r: Relay,
  parent: bigint,
  headers: readonly Uint8Array[],
  opts: { reward?: bigint; from?: Signer; dense?: Uint8Array; fee?: bigint } = {},
): Promise<Submitted> {
  const cp = r.records.get(parent);
  if (!cp) throw new Error(`no checkpoint known for tip ${parent}`);
  const dense = opts.dense ?? encodeDenseHeaders(cp.timestamps.at(-1)!, headers);
  const relay = opts.from ? r.relay.connect(opts.from) : r.relay;
  const tx = await relay.submitBatch(parent, encodeCheckpoint(cp), headers.length, dense, opts.fee ?? 0n, { value: opts.reward ?? ETH / 100n });
  const rc = await tx.wait();
  const ev = rc.logs.map((l: Any) => safeParse(r.m.market, l)).find((x: Any) => x?.name === "TaskPosted");
  const l = ev.args.limits;
  const limits: Limits = { steps: Number(l.steps), memoryPages: Number(l.memoryPages), callDepth: Number(l.callDepth), stackHeight: Number(l.stackHeight), outputBytes: Number(l.outputBytes) };
  return { taskId: ev.args.taskId, parent, input: getBytes(ev.args.input), initialRoot: ev.args.initialRoot, limits, gas: [rc.gasUsed], calldataBytes: getBytes(tx.data).length };
}

function safeParse(c: Any, log: Any): Any {
  try {
    return c.interface.parseLog(log);
  } catch {
    return null;
  }
}

export interface Solution {
  finalRoot: string;
  steps: bigint;
  output: Uint8Array;
  opening: string;
  halted: boolean;
  result: BtcResult | null;
}

/** The honest solver's work: runs the task in the interpreter and opens its final state. */
export function solve(m: Market, input: Uint8Array, limits: Limits): Solution {
  const machine = Machine.forTask(m.program, input, limits);
  machine.run();
  const opening = openingOfComponents(stateComponents(machine));
  const output = machine.halted ? machine.output() : new Uint8Array(0);
  return {
    finalRoot: hexlify(openingRoot(opening)),
    steps: BigInt(machine.steps),
    output,
    opening: hexlify(opening),
    halted: machine.halted,
    result: machine.halted ? decodeOutput(output) : null,
  };
}

/** The initial state root the market computed must be the one the interpreter derives. */
export function expectedInitialRoot(m: Market, s: Submitted): string {
  return hexlify(initialStateRoot(m.descriptor, s.input, s.limits));
}

export async function advance(m: Market, seconds: number): Promise<void> {
  await m.ethers.provider.send("evm_increaseTime", [seconds]);
  await m.ethers.provider.send("evm_mine", []);
}

/**
 * Commits the honest solution (signer 1 by default), waits out the challenge window and finalizes
 * (signer 2): the relay's callback runs. Returns the solution and the gas of both transactions.
 */
export async function solveAndFinalize(r: Relay, s: Submitted, opts: { solver?: Signer; finalizer?: Signer } = {}): Promise<{ solution: Solution; gas: bigint[]; finalizeReceipt: Any }> {
  const m = r.m;
  const solution = solve(m, s.input, s.limits);
  const solver = opts.solver ?? m.signers[1];
  const finalizer = opts.finalizer ?? m.signers[2];
  // commit to the solution (a hash bound to the solver), then reveal it; gas[0] is both
  const salt = keccak256(solution.finalRoot);
  const commitment = solidityPackedKeccak256(["address", "bytes32", "bytes32"], [await solver.getAddress(), solution.finalRoot, salt]);
  const c0 = await (await m.market.connect(solver).commit(s.taskId, commitment, { value: r.config.solverBond })).wait();
  const c1 = await (await m.market.connect(solver).reveal(s.taskId, solution.finalRoot, solution.steps, solution.output, solution.opening, salt)).wait();
  const c = { gasUsed: c0.gasUsed + c1.gasUsed };
  await advance(m, r.config.window + 1);
  const f = await (await m.market.connect(finalizer).finalize(s.taskId, s.initialRoot, solution.finalRoot, solution.output)).wait();
  for (const log of f.logs) {
    if (safeParse(m.market, log)?.name === "CallbackFailed") throw new Error(`the relay's callback failed for task ${s.taskId}`);
    const ev = safeParse(r.relay, log);
    if (ev?.name === "TipStored") {
      r.records.set(ev.args.id, decodeCheckpoint(getBytes(ev.args.record)));
      r.blockRoots.set(ev.args.id, ev.args.blockRoot);
    }
  }
  return { solution, gas: [c.gasUsed, f.gasUsed], finalizeReceipt: f };
}

/** Events of the relay in a receipt. */
export function relayEvents(r: Relay, receipt: Any): Any[] {
  return receipt.logs.map((l: Any) => safeParse(r.relay, l)).filter((x: Any) => x);
}

export { merkleBranch } from "../../relayer/bitcoin.js";

export const hex32 = (b: Uint8Array) => hexlify(b);

// ------------------------------------------------------------------------------------------------
// Block 100,000 (Dec 2010)

/**
 * Block 100,000: four transactions. Header and txids are public chain data, and so are the raw
 * bytes of its first two transactions (the coinbase, 50 BTC to a P2PK output; and a payment of
 * 5.56 BTC to P2PKH c398ef… with 44.44 BTC of change to P2PKH 948c76…). Nothing here can hold a
 * typo unnoticed: the header's hash meets its own nBits (proof of work), the txids hash to its
 * merkle root, and each raw transaction hashes to its txid (block100000 checks the last two).
 */
export const B100000 = {
  header: "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710",
  hash: "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
  txids: [
    "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
    "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
    "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
    "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
  ],
  rawTxs: [
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff08044c86041b020602ffffffff0100f2052a010000004341041b0e8c2567c12536aa13357b79a073dc4444acb83c4ec7a0e2f99dd7457516c5817242da796924ca4e99947d087fedf9ce467cb9f7c6287078f801df276fdf84ac00000000",
    "0100000001032e38e9c0a84c6046d687d10556dcacc41d275ec55fc00779ac88fdf357a187000000008c493046022100c352d3dd993a981beba4a63ad15c209275ca9470abfcd57da93b58e4eb5dce82022100840792bc1f456062819f15d33ee7055cf7b5ee1af1ebcc6028d9cdb1c3af7748014104f46db5e9d61a9dc27b8d64ad23e7383a4e6ca164593c2527c038c0857eb67ee8e825dca65046b82c9331586c82e0fd1f633f25f87c161bc6f8a630121df2b3d3ffffffff0200e32321000000001976a914c398efa9c392ba6013c5e04ee729755ef7f58b3288ac000fe208010000001976a914948c765a6914d43f2a7ac177da2c2f6b52de3d7c88ac00000000",
  ],
};

/**
 * The checkpoint at 99,999, derived: its hash is block 100,000's prev-hash, its nBits and period
 * start (block 98,784) come from the retarget-boundary fixture (the period runs 98,784..100,799
 * with one nBits), its chain work is Core's at 98,784 plus 1,215 blocks of that work. Block
 * 99,999's own time is not in the fixtures: the one timestamp is a placeholder, which the rules
 * never read here (the median rule waits for 11 timestamps; 100,000 is not a retarget height).
 */
export function checkpoint99999(): Checkpoint {
  const hdr = fromHex(B100000.header);
  const b = sharedBtcLines("mainnet_retarget_boundaries.hex");
  const cw = sharedBtcLines("mainnet_chainwork_boundaries.txt");
  const start = headerFields(fromHex(b.get(98784)!));
  const f = headerFields(hdr);
  if (start.bits !== f.bits || headerFields(fromHex(b.get(100799)!)).bits !== f.bits) throw new Error("100,000 is not in a one-nBits period 98,784..100,799");
  const work = blockWork(f.bits);
  const w98784 = BigInt("0x" + cw.get(98784)!);
  if (w98784 + 2015n * work !== BigInt("0x" + cw.get(100799)!)) throw new Error("chain work of the period does not add up"); // one nBits all period long
  return { height: 99999, hash: f.prevHash, bits: f.bits, periodStartTime: start.time, timestamps: [f.time - 600], chainWork: (w98784 + 1215n * work).toString() };
}

/**
 * Block 100,000 as a ParsedBlock whose `txs` hold the two raw transactions known (indices 0 and
 * 1); each must hash to its txid and the txids to the header's merkle root.
 */
export function block100000(): ParsedBlock {
  const header = fromHex(B100000.header);
  const txids = B100000.txids.map(hexToHash);
  const txs = B100000.rawTxs.map(fromHex);
  txs.forEach((t, i) => {
    if (hexlify(sha256d(t)) !== hexlify(txids[i])) throw new Error(`raw transaction ${i} of block 100,000 does not hash to its txid`);
  });
  if (hexlify(merkleRootOf(txids)) !== hexlify(header.subarray(36, 68))) throw new Error("block 100,000's txids do not hash to its merkle root");
  return { header, hash: blockHash(header), txs, txids };
}

// ------------------------------------------------------------------------------------------------
// Block 413,567 (../shared/fixtures/btc/block413567.raw): a real block with 1,557 transactions

/**
 * The checkpoint at 413,566, built from the shared fixtures: its hash is block 413,567's prev-hash;
 * its nBits and period start come from the retarget-boundary file (the period 413,280..415,295 has
 * one nBits, checked at both ends); its chain work is Core's at 413,280 plus 286 blocks of that work
 * (checked against Core's at 415,295). Block 413,566's own time is not in the fixtures: the one
 * timestamp is a placeholder 600 s before 413,567's, which the rules never read for this batch (the
 * median rule waits for 11 timestamps; 413,567 is not a retarget height).
 */
export function checkpoint413566(header413567: Uint8Array): Checkpoint {
  const b = sharedBtcLines("mainnet_retarget_boundaries.hex");
  const cw = sharedBtcLines("mainnet_chainwork_boundaries.txt");
  const f = headerFields(header413567);
  const start = headerFields(fromHex(b.get(413280)!));
  if (start.bits !== f.bits || headerFields(fromHex(b.get(415295)!)).bits !== f.bits) throw new Error("413,567 is not in a one-nBits period 413,280..415,295");
  const work = blockWork(f.bits);
  const w413280 = BigInt("0x" + cw.get(413280)!);
  if (w413280 + 2015n * work !== BigInt("0x" + cw.get(415295)!)) throw new Error("chain work of the period does not add up");
  return { height: 413566, hash: f.prevHash, bits: f.bits, periodStartTime: start.time, timestamps: [f.time - 600], chainWork: (w413280 + 286n * work).toString() };
}

let block413567Cache: ParsedBlock | undefined;
/** Block 413,567, parsed; its transactions must hash to its header's merkle root (parseBlock). */
export function block413567(): ParsedBlock {
  block413567Cache ??= parseBlock(new Uint8Array(sharedBtc("block413567.raw")));
  return block413567Cache;
}
