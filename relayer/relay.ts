/**
 * The Bitcoin relay's client side (docs/RELAY.md): deploys `BtcRelay` on a TaskMarket, submits
 * batches of headers in the task's dense encoding (the parent tip's 124-byte checkpoint record is
 * taken from its `TipStored` event), follows the relay's events and reads its best tip. Also the
 * embedded real batch (wasm-tasks/btc-headers/fixtures: 2,016 mainnet headers 828,576..830,591 and
 * the checkpoint at 828,575) the demo and the benchmark use.
 *
 * Writes go through a `TxManager` (signed locally, never sent twice), like the nodes' moves.
 */
import { readFileSync } from "node:fs";
import { Contract, ContractFactory, getBytes, hexlify, Interface, type Log, type Provider, type Signer } from "ethers";
import { DEFAULT_LIMITS } from "../interpreter/isa.js";
import {
  type Checkpoint,
  type CheckpointJson,
  decodeCheckpoint,
  encodeCheckpoint,
  encodeDenseHeaders,
  hashToHex,
  hexToHash,
  normalizeCheckpoint,
  splitHeaders,
} from "../wasm-tasks/btc-headers/encoding.js";
import { marketInterface, REPO_ROOT, type Artifact } from "../client/contracts.js";
import type { Hex } from "../client/encoding.js";
import { retry, type RetryOptions } from "../client/rpc.js";
import type { TxManager } from "../client/txs.js";

const ETH = 10n ** 18n;
export const BTC_HEADERS_WASM = `${REPO_ROOT}wasm-tasks/build/btc-headers.wasm`;

/** BtcRelay.Config (docs/RELAY.md, "Configuration"). */
export interface RelayConfig {
  confirmations: number;
  /** Challenge window of the batches' tasks (s). */
  window: number;
  /** Seconds from submission to the solution deadline. */
  deadlineDelay: number;
  solverBond: bigint;
  challengerBond: bigint;
  stepsBase: bigint;
  stepsPerHeader: bigint;
  memoryPages: number;
  callDepth: number;
  stackHeight: number;
  /** The highest fee (wei) a submitter may set per proof against its batch. */
  maxFee: bigint;
}

export const DEFAULT_RELAY_CONFIG: RelayConfig = {
  confirmations: 6,
  window: 3600,
  deadlineDelay: 86_400,
  solverBond: ETH / 2n,
  challengerBond: ETH / 4n,
  stepsBase: 1_000_000n,
  stepsPerHeader: 40_000n, // the task needs ~27,900 per header
  memoryPages: DEFAULT_LIMITS.memoryPages,
  callDepth: DEFAULT_LIMITS.callDepth,
  stackHeight: DEFAULT_LIMITS.stackHeight,
  maxFee: ETH / 1000n,
};

export { embeddedBatch, type EmbeddedBatch } from "../wasm-tasks/btc-headers/fixtures.js";

let relayArtifact: Artifact | undefined;
export function btcRelayArtifact(): Artifact {
  relayArtifact ??= JSON.parse(readFileSync(`${REPO_ROOT}artifacts/contracts/relay/BtcRelay.sol/BtcRelay.json`, "utf8")) as Artifact;
  return relayArtifact;
}

/** BtcRelay.Checkpoint from a checkpoint (hash in internal byte order). */
export function checkpointStruct(cpIn: CheckpointJson | Checkpoint) {
  const cp = normalizeCheckpoint(cpIn);
  return { height: cp.height, hash: hexlify(hexToHash(cp.hash)), bits: cp.bits, periodStartTime: cp.periodStartTime, timestamps: cp.timestamps, chainWork: BigInt(cp.chainWork) };
}

/** A stored tip, from its TipStored event. */
export interface StoredTip {
  id: bigint;
  parent: bigint;
  /** Explorer byte order. */
  hash: string;
  height: number;
  chainWork: bigint;
  /** Merkle root of the batch's block hashes, explorer byte order. */
  blockRoot: string;
  record: Checkpoint;
  block: number;
  tx: Hex;
}

export interface SubmittedBatch {
  taskId: bigint;
  parent: bigint;
  count: number;
  /** Bytes of the task input the relay built (prefix, record, count, headers). */
  inputBytes: number;
  /** Bytes of the dense header encoding sent. */
  headerBytes: number;
  calldataBytes: number;
  initialRoot: Hex;
  tx: Hex;
  block: number;
  gasUsed: bigint;
  fee: bigint;
}

/** A batch seen in the relay's events. */
export interface BatchRecord {
  taskId: bigint;
  parent: bigint;
  submitter: string;
  count: number;
  fee: bigint;
  state: "pending" | "stored" | "rejected";
  /** BatchRejected's status (0 expired, 1 invalid header, 2 trapped) and rule. */
  rejected?: { status: number; rule: number; failedIndex: number };
  block: number;
  tx: Hex;
}

/** The relay's immutable parameters (its Config, market, program root, deployment block). */
export interface RelayParams extends RelayConfig {
  market: string;
  programRoot: Hex;
  deployBlock: number;
}

export interface SyncOptions {
  /** Only events with this many confirmations (default 0). */
  confirmations?: number;
  retry?: RetryOptions;
}

export class RelayClient {
  readonly contract: Contract;
  readonly iface: Interface;
  /** Checkpoint record of every stored tip seen, by tip id (tip 0 = the initial checkpoint). */
  readonly tips = new Map<bigint, StoredTip>();
  /** Every batch submitted, by task id. */
  readonly batches = new Map<bigint, BatchRecord>();
  /** The best tip, from BestTipChanged (tip 0 until the first event is seen). */
  bestId = 0n;
  private cursor: number;

  constructor(
    readonly provider: Provider,
    readonly address: string,
    /** Block of the relay's deployment (its first TipStored). */
    readonly block: number,
    private readonly syncOpts: SyncOptions = {},
  ) {
    this.iface = new Interface(btcRelayArtifact().abi);
    this.contract = new Contract(address, this.iface, provider);
    this.cursor = block - 1;
  }

  /** A client for the relay at `address` (its deployment block read from the contract). */
  static async at(provider: Provider, address: string, opts: SyncOptions = {}): Promise<RelayClient> {
    const c = new Contract(address, new Interface(btcRelayArtifact().abi), provider);
    const block = Number(await retry(() => c.deployBlock(), { what: "deployBlock", ...opts.retry }));
    return new RelayClient(provider, address, block, opts);
  }

  /** The relay's parameters. */
  async params(): Promise<RelayParams> {
    const names = ["market", "programRoot", "confirmations", "window", "deadlineDelay", "solverBond", "challengerBond", "stepsBase", "stepsPerHeader", "memoryPages", "callDepth", "stackHeight", "maxFee", "deployBlock"] as const;
    const v = await Promise.all(names.map((n) => retry(() => this.contract[n]() as Promise<unknown>, { what: n, ...this.syncOpts.retry })));
    const o = Object.fromEntries(names.map((n, i) => [n, v[i]])) as Record<(typeof names)[number], never>;
    const num = (x: unknown) => Number(x as bigint);
    return {
      market: o.market,
      programRoot: o.programRoot,
      confirmations: num(o.confirmations),
      window: num(o.window),
      deadlineDelay: num(o.deadlineDelay),
      solverBond: o.solverBond,
      challengerBond: o.challengerBond,
      stepsBase: o.stepsBase,
      stepsPerHeader: o.stepsPerHeader,
      memoryPages: num(o.memoryPages),
      callDepth: num(o.callDepth),
      stackHeight: num(o.stackHeight),
      maxFee: o.maxFee,
      deployBlock: num(o.deployBlock),
    };
  }

  /** Deploys BtcRelay(market, programRoot, checkpoint, config) and reads tip 0. */
  static async deploy(signer: Signer, market: string, programRoot: Hex, checkpoint: CheckpointJson | Checkpoint, config: Partial<RelayConfig> = {}): Promise<{ relay: RelayClient; gasUsed: bigint }> {
    const cfg = { ...DEFAULT_RELAY_CONFIG, ...config };
    const a = btcRelayArtifact();
    const c = await new ContractFactory(a.abi, a.bytecode, signer).deploy(market, programRoot, checkpointStruct(checkpoint), cfg);
    const receipt = await c.deploymentTransaction()!.wait();
    const relay = new RelayClient(signer.provider!, await c.getAddress(), receipt!.blockNumber);
    await relay.sync();
    return { relay, gasUsed: receipt!.gasUsed };
  }

  /**
   * Applies the relay's events since the last sync (TipStored, BatchSubmitted, BatchRejected,
   * BestTipChanged, in chain order); returns the new tips.
   */
  async sync(): Promise<StoredTip[]> {
    const r = { what: "relay events", ...this.syncOpts.retry };
    const head = (await retry(() => this.provider.getBlockNumber(), r)) - (this.syncOpts.confirmations ?? 0);
    if (head <= this.cursor) return [];
    const names = ["TipStored", "BatchSubmitted", "BatchRejected", "BestTipChanged"];
    const topics = names.map((n) => this.iface.getEvent(n)!.topicHash);
    const out: StoredTip[] = [];
    const step = 10_000;
    for (let from = this.cursor + 1; from <= head; from += step) {
      const to = Math.min(head, from + step - 1);
      const logs = await retry(() => this.provider.getLogs({ address: this.address, topics: [topics], fromBlock: from, toBlock: to }), r);
      logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
      for (const l of logs) {
        const ev = this.iface.parseLog({ topics: [...l.topics], data: l.data });
        if (!ev) continue;
        if (ev.name === "TipStored") {
          const t = this.decodeTip(l);
          if (t) (this.tips.set(t.id, t), out.push(t));
          const b = this.batches.get(ev.args.id);
          if (b) b.state = "stored";
        } else if (ev.name === "BatchSubmitted") {
          this.batches.set(ev.args.taskId, { taskId: ev.args.taskId, parent: ev.args.parent, submitter: ev.args.submitter, count: Number(ev.args.count), fee: ev.args.fee, state: "pending", block: l.blockNumber, tx: l.transactionHash });
        } else if (ev.name === "BatchRejected") {
          const b = this.batches.get(ev.args.taskId);
          if (b) (b.state = "rejected"), (b.rejected = { status: Number(ev.args.status), rule: Number(ev.args.rule), failedIndex: Number(ev.args.failedIndex) });
        } else if (ev.name === "BestTipChanged") this.bestId = ev.args.id;
      }
      this.cursor = to;
    }
    return out;
  }

  private decodeTip(l: Log): StoredTip | null {
    const ev = this.iface.parseLog({ topics: [...l.topics], data: l.data });
    if (ev?.name !== "TipStored") return null;
    return {
      id: ev.args.id,
      parent: ev.args.parent,
      hash: hashToHex(getBytes(ev.args.hash)),
      height: Number(ev.args.height),
      chainWork: ev.args.chainWork,
      blockRoot: hashToHex(getBytes(ev.args.blockRoot)),
      record: decodeCheckpoint(getBytes(ev.args.record)),
      block: l.blockNumber,
      tx: l.transactionHash,
    };
  }

  /**
   * Submits `headers` (80-byte headers) extending stored tip `parent`, with `reward` as msg.value
   * and `opts.fee` (default 0) as the fee of proofs against the batch. `opts.intent` is the
   * TxManager's intent key: a second call with the same key returns the first one's outcome.
   */
  async submitBatch(txs: TxManager, parent: bigint, headers: readonly Uint8Array[], reward: bigint, opts: { intent?: string; fee?: bigint } = {}): Promise<SubmittedBatch> {
    if (!this.tips.has(parent)) await this.sync();
    const tip = this.tips.get(parent);
    if (!tip) throw new Error(`no TipStored event for tip ${parent}`);
    const cp = tip.record;
    const dense = encodeDenseHeaders(cp.timestamps.at(-1)!, headers);
    const data = this.iface.encodeFunctionData("submitBatch", [parent, encodeCheckpoint(cp), headers.length, dense, opts.fee ?? 0n]);
    const out = await txs.send(opts.intent ?? `submitBatch:${parent}:${Date.now()}`, { to: this.address, data, value: reward, what: "submitBatch" });
    if (out.status !== "mined") throw new Error(`submitBatch reverted (${out.hash})`);
    const receipt = out.receipt ?? (await this.provider.getTransactionReceipt(out.hash));
    let taskId: bigint | null = null;
    let initialRoot: Hex = "0x";
    let inputBytes = 0;
    const market = marketInterface();
    for (const l of receipt!.logs) {
      if (l.address.toLowerCase() === this.address.toLowerCase()) {
        const ev = this.iface.parseLog({ topics: [...l.topics], data: l.data });
        if (ev?.name === "BatchSubmitted") taskId = ev.args.taskId;
        continue;
      }
      try {
        const ev = market.parseLog({ topics: [...l.topics], data: l.data });
        if (ev?.name === "TaskPosted") (initialRoot = ev.args.initialRoot), (inputBytes = Number(ev.args.inputLength));
      } catch {
        // another event
      }
    }
    if (taskId === null) throw new Error("no BatchSubmitted event in the submitBatch receipt");
    return { taskId, parent, count: headers.length, inputBytes, headerBytes: dense.length, calldataBytes: getBytes(data).length, initialRoot, tx: out.hash, block: out.block, gasUsed: out.gasUsed, fee: out.fee };
  }

  /** The heaviest stored tip. */
  async bestTip(): Promise<{ id: bigint; hash: string; height: number; chainWork: bigint }> {
    const r = await retry(() => this.contract.bestTip(), { what: "bestTip" });
    return { id: r.id, hash: hashToHex(getBytes(r.hash)), height: Number(r.height), chainWork: r.chainWork };
  }
}
