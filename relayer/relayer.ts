/**
 * The relayer (`truewasm relayer`; docs/RELAY.md, "The relayer"): a long-running role that keeps a
 * BtcRelay's best tip within a configurable lag of Bitcoin's, like the solver and the challenger
 * keep the market's tasks honest.
 *
 * Each round it reads the relay's events (stored tips, batches, the best tip) and the chain its
 * Bitcoin sources agree on (sources.ts), finds the highest stored tip on that chain (the "anchor"),
 * and, unless a batch of its own already extends the anchor along that chain, submits the next
 * headers as a batch on it when one of the triggers says so:
 *
 *   - a full batch is there (`batchSize` headers after the anchor);
 *   - the relay's best tip trails Bitcoin's by more than `lag` blocks;
 *   - the oldest header after the anchor has waited `maxDelayMs`;
 *   - the relay's best tip is not on the sources' chain (a reorganisation): the heavier branch is
 *     submitted from the fork point, on the stored ancestor tip, once the sources' chain has more
 *     work than the relay's best tip.
 *
 * It never submits a header it has not checked itself: the headers of a batch must hash to the
 * hashes the sources agree on, pass Bitcoin Core's header rules on the anchor's checkpoint record
 * (reference.ts: link, nBits, time, version, proof of work), and the exact task input the relay will
 * build from them must make the btc-headers task itself (run in the interpreter) report them valid,
 * with the expected tip (`taskCheck`, on by default).
 *
 * Restarts: every submission has an intent key (parent tip, batch tip hash, attempt) recorded in the
 * store before its transaction is signed, and the transaction manager (client/txs.ts) never sends an
 * intent twice; pending batches are known from the relay's events. A relayer killed at any point and
 * started again finds its batch in flight and waits for it, or finishes sending the very same
 * transaction, never a second one.
 */
import { readFileSync } from "node:fs";
import { type Provider, type Wallet } from "ethers";
import { Machine } from "../interpreter/machine.js";
import { compile } from "../interpreter/lower.js";
import { Status } from "../interpreter/isa.js";
import type { Program } from "../interpreter/program.js";
import { decodeOutput, encodeInput, hashToHex } from "../wasm-tasks/btc-headers/encoding.js";
import { blockHash, validateHeaders } from "../wasm-tasks/btc-headers/reference.js";
import { Contract } from "ethers";
import { marketInterface } from "../client/contracts.js";
import { createLogger, errorMessage, type Logger } from "../client/log.js";
import { createRegistry, serveMetrics } from "../client/metrics.js";
import { AbortedError, sleep, type RetryOptions } from "../client/rpc.js";
import { Store } from "../client/store.js";
import { TxManager, TxWouldRevert } from "../client/txs.js";
import { RelayerExporter } from "./metrics.js";
import { BTC_HEADERS_WASM, RelayClient, type RelayParams, type StoredTip } from "./relay.js";
import { type AgreedChain, Sources } from "./sources.js";

export interface RelayerOptions {
  provider: Provider;
  wallet: Wallet;
  /** The BtcRelay's address. */
  relay: string;
  sources: Sources;
  /** The store's directory. */
  dataDir: string;
  /** Most headers per batch (default 144, a day of blocks; at most 2,016). */
  batchSize?: number;
  /** Submit once the relay's best tip trails the sources' tip by more than this many blocks (default 6). */
  lag?: number;
  /** Submit once the first header not yet relayed has waited this long (ms; default 3,600,000). */
  maxDelayMs?: number;
  /** Reward of a batch: rewardBase + rewardPerHeader × headers (wei). */
  rewardBase?: bigint;
  rewardPerHeader?: bigint;
  /** Fee of proofs against the relayer's batches (wei; at most the relay's maxFee). Default 0. */
  fee?: bigint;
  /** Withdraw the relay's balance (fees, refunds) once it reaches this (wei; default 0.01 ETH). */
  withdrawAbove?: bigint;
  /** Run the btc-headers task on each batch before submitting it (default true). */
  taskCheck?: boolean;
  /** Poll interval (ms; default 10,000). */
  pollMs?: number;
  /** Ethereum confirmations before the relay's events are acted on (default 0). */
  confirmations?: number;
  log?: Logger;
  retry?: RetryOptions;
  /** Called after every round with the relayer's figures. */
  onMetrics?: (m: RelayerMetrics) => void;
  /** Serve Prometheus metrics at /metrics and a health check at /healthz (relayer/metrics.ts; port 0: any). */
  metrics?: { host?: string; port: number } | null;
}

/** What the relayer reports after each round (logs, `onMetrics`). */
export interface RelayerMetrics {
  rounds: number;
  batchesSubmitted: number;
  headersSubmitted: number;
  reorgsFollowed: number;
  /** Heights: the sources' agreed tip, the relay's best tip, and their difference. */
  sourceHeight: number;
  relayHeight: number;
  lagBlocks: number;
  /** Batches of this relayer waiting for their task. */
  pending: number;
  lastError: string | null;
}

/** A submission, recorded in the store (`batches/<intent>`) before its transaction is signed. */
export interface SubmissionRecord {
  intent: string;
  parent: bigint;
  /** Heights of the batch's first and last header, and the last one's hash (explorer order). */
  first: number;
  last: number;
  tipHash: string;
  reason: string;
  state: "sending" | "pending" | "stored" | "rejected" | "failed" | "abandoned";
  taskId: bigint | null;
  tx: string | null;
  at: number;
}

const ETH = 10n ** 18n;
const COLLECTION = "batches";

export class Relayer {
  readonly store: Store;
  readonly txs: TxManager;
  readonly log: Logger;
  readonly address: string;
  client!: RelayClient;
  params!: RelayParams;
  readonly metrics: RelayerMetrics = { rounds: 0, batchesSubmitted: 0, headersSubmitted: 0, reorgsFollowed: 0, sourceHeight: 0, relayHeight: 0, lagBlocks: 0, pending: 0, lastError: null };
  private readonly controller = new AbortController();
  private readonly records = new Map<string, SubmissionRecord>();
  /** When each header hash was first seen on the sources' chain (ms). */
  private readonly firstSeen = new Map<string, number>();
  private program: Program | null = null;
  private stopped: Promise<void> | null = null;
  private lastBest: bigint | null = null;
  private lastWaiting = "";
  private readonly retryOpts: RetryOptions;

  constructor(readonly opts: RelayerOptions) {
    this.store = new Store(opts.dataDir);
    this.log = (opts.log ?? createLogger()).child({ node: "relayer" });
    this.retryOpts = { log: this.log, signal: this.controller.signal, giveUpAfterMs: Infinity, ...opts.retry };
    const wallet = opts.wallet.provider ? opts.wallet : opts.wallet.connect(opts.provider);
    this.address = wallet.address;
    this.txs = new TxManager(opts.provider, wallet, this.store, { pollMs: Math.min(opts.pollMs ?? 10_000, 500), log: this.log, signal: this.controller.signal, retry: this.retryOpts });
    const meta = this.store.getRoot<{ role: string; address: string; relay: string }>("meta");
    if (meta && (meta.role !== "relayer" || meta.address.toLowerCase() !== this.address.toLowerCase() || meta.relay.toLowerCase() !== opts.relay.toLowerCase()))
      throw new Error(`the store at ${opts.dataDir} belongs to the ${meta.role} ${meta.address} of relay ${meta.relay}`);
    this.store.putRoot("meta", { role: "relayer", address: this.address, relay: opts.relay });
    for (const r of this.store.all<SubmissionRecord>(COLLECTION).values()) this.records.set(r.intent, r);
    const size = this.batchSize;
    if (!Number.isInteger(size) || size < 1 || size > 2016) throw new RangeError(`batchSize must be 1..2016, got ${size}`);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get batchSize(): number {
    return this.opts.batchSize ?? 144;
  }

  get lag(): number {
    return this.opts.lag ?? 6;
  }

  get maxDelayMs(): number {
    return this.opts.maxDelayMs ?? 3_600_000;
  }

  start(): Promise<void> {
    this.stopped ??= this.loop();
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.stopped;
  }

  /** Reads the relay (its parameters and deployment block); `start` calls it, tests may call it and then `tick`. */
  async init(): Promise<void> {
    this.client = await RelayClient.at(this.opts.provider, this.opts.relay, { confirmations: this.opts.confirmations, retry: this.retryOpts });
    this.params = await this.client.params();
    if ((this.opts.fee ?? 0n) > this.params.maxFee) throw new Error(`the fee ${this.opts.fee} is above the relay's maxFee ${this.params.maxFee}`);
  }

  private async loop(): Promise<void> {
    const pollMs = this.opts.pollMs ?? 10_000;
    // unhealthy when no round completed for 3 polls + 60 s (a stuck loop)
    const exporter = this.opts.metrics ? new RelayerExporter(createRegistry({ role: "relayer" }), 3 * pollMs + 60_000) : null;
    const server = exporter && this.opts.metrics ? await serveMetrics({ ...this.opts.metrics, registry: exporter.registry, health: () => exporter.health(), log: this.log }) : null;
    try {
      await this.rounds(pollMs, exporter);
    } finally {
      await server?.close();
    }
  }

  private async rounds(pollMs: number, exporter: RelayerExporter | null): Promise<void> {
    try {
      await this.init();
      this.log.info("started", {
        address: this.address,
        relay: this.opts.relay,
        market: this.params.market,
        sources: this.opts.sources.list.map((s) => s.name),
        batchSize: this.batchSize,
        lag: this.lag,
        maxDelayMs: this.maxDelayMs,
        fee: this.opts.fee ?? 0n,
        submissions: this.records.size,
      });
      await this.txs.recover();
    } catch (e) {
      if (e instanceof AbortedError || this.signal.aborted) return;
      throw e;
    }
    while (!this.signal.aborted) {
      try {
        await this.tick();
        this.metrics.lastError = null;
      } catch (e) {
        if (e instanceof AbortedError || this.signal.aborted) break;
        this.metrics.lastError = errorMessage(e);
        this.log.error("round failed", { error: errorMessage(e) });
      }
      this.metrics.rounds++;
      exporter?.update(this.metrics);
      this.opts.onMetrics?.({ ...this.metrics });
      try {
        await sleep(pollMs, this.signal);
      } catch {
        break;
      }
    }
    this.log.info("stopped", { batchesSubmitted: this.metrics.batchesSubmitted });
  }

  private save(r: SubmissionRecord): void {
    this.records.set(r.intent, r);
    this.store.put(COLLECTION, r.intent, r);
  }

  /** One round. */
  async tick(): Promise<void> {
    const newTips = await this.client.sync();
    for (const t of newTips) this.log.info("tip stored", { id: t.id, parent: t.parent, height: t.height, hash: t.hash });
    this.settleRecords();
    const best = this.client.tips.get(this.client.bestId);
    if (!best) throw new Error(`best tip ${this.client.bestId} has no TipStored event`);
    if (this.lastBest !== null && this.lastBest !== best.id) this.log.info("best tip changed", { id: best.id, height: best.height, hash: best.hash });
    this.lastBest = best.id;

    const checkpoint = this.client.tips.get(0n)!;
    const chain = await this.opts.sources.agreed(checkpoint.height);
    this.metrics.sourceHeight = chain.height;
    this.metrics.relayHeight = best.height;
    this.metrics.lagBlocks = Math.max(0, chain.height - best.height);
    this.metrics.pending = [...this.records.values()].filter((r) => r.state === "pending" || r.state === "sending").length;

    const hashAt = await this.hashReader(chain);
    const anchor = await this.anchor(chain, best, hashAt);
    if (!anchor) {
      this.waiting(`no stored tip is on the sources' chain (tip ${chain.height} ${chain.hash}): not even the relay's checkpoint`, "error");
      return;
    }
    const bestOnChain = best.height <= chain.height && (await hashAt([best.height]))[0] === best.hash;
    const reorg = !bestOnChain;
    await this.expireStale();
    await this.withdrawIfOwed();

    // a batch of ours already extends the anchor along the sources' chain: wait for it
    const recorded = new Set([...this.records.values()].map((r) => r.taskId?.toString()));
    for (const b of this.client.batches.values()) {
      if (b.state === "pending" && b.parent === anchor.id && b.submitter.toLowerCase() === this.address.toLowerCase() && !recorded.has(b.taskId.toString())) {
        // not in the store (a lost data directory): what it holds is unknown, so wait for it
        this.waiting(`batch ${b.taskId} of this account, not in the store, extends tip ${anchor.id}: waiting for it`, "warn");
        return;
      }
    }
    for (const r of this.records.values()) {
      if ((r.state !== "pending" && r.state !== "sending") || r.parent !== anchor.id || r.last > chain.height) continue;
      if ((await hashAt([r.last]))[0] !== r.tipHash) continue;
      if (r.state === "sending") await this.resend(r);
      this.waiting(`batch ${r.taskId ?? "(sending)"} (${r.first}..${r.last}) in flight`);
      return;
    }

    const gap = chain.height - anchor.height;
    if (gap <= 0) {
      this.waiting(`the relay is at the sources' tip ${chain.height}`);
      return;
    }
    const count = Math.min(gap, this.batchSize);
    const firstHash = (await hashAt([anchor.height + 1]))[0];
    const now = Date.now();
    if (!this.firstSeen.has(firstHash)) this.firstSeen.set(firstHash, now);
    const waited = now - this.firstSeen.get(firstHash)!;
    const reason = reorg ? "reorg" : count >= this.batchSize ? "full batch" : chain.height - best.height > this.lag ? "lag" : waited >= this.maxDelayMs ? "delay" : null;
    if (!reason) {
      this.waiting(`${gap} header(s) after tip ${anchor.id} (${anchor.height}); the relay trails by ${chain.height - best.height} (lag ${this.lag}), the first waited ${Math.round(waited / 1000)} s`);
      return;
    }

    const heights = Array.from({ length: count }, (_, i) => anchor.height + 1 + i);
    const hashes = await hashAt(heights);
    const headers = await this.opts.sources.headers(hashes);
    const check = this.check(anchor, headers, hashes);
    if (check) {
      this.log.error("headers refused", { parent: anchor.id, first: heights[0], last: heights.at(-1), reason: check });
      return;
    }
    if (reorg) {
      // the sources' chain must be heavier than the relay's best tip, or following it loses the race
      const restHeights = Array.from({ length: chain.height - heights.at(-1)! }, (_, i) => heights.at(-1)! + 1 + i);
      const rest = restHeights.length ? await this.opts.sources.headers(await hashAt(restHeights)) : [];
      const whole = validateHeaders(anchor.record, [...headers, ...rest]);
      if (!whole.valid) {
        this.log.error("headers refused", { parent: anchor.id, reason: `the sources' chain after the fork is invalid (${whole.rule} at ${anchor.height + 1 + whole.failedIndex})` });
        return;
      }
      if (BigInt(whole.chainWork) <= best.chainWork) {
        this.waiting(`the relay's best tip ${best.height} ${best.hash} is not on the sources' chain, which is not heavier (yet): ${whole.chainWork} vs ${best.chainWork}`, "warn");
        return;
      }
      this.log.info("reorg", { fromTip: best.id, fromHeight: best.height, fromHash: best.hash, forkTip: anchor.id, forkHeight: anchor.height, toHeight: chain.height, toHash: chain.hash });
    }
    await this.submit(anchor, heights, hashes, headers, reason);
    if (reorg) this.metrics.reorgsFollowed++;
  }

  /** Logs why nothing is submitted, once per distinct reason. */
  private waiting(why: string, level: "debug" | "warn" | "error" = "debug"): void {
    if (why === this.lastWaiting) return;
    this.lastWaiting = why;
    this.log[level === "debug" ? "info" : level](level === "debug" ? "waiting" : "cannot relay", { why });
  }

  /** Hashes of the agreed chain by height (asked once per round per height, checked across sources). */
  private async hashReader(chain: AgreedChain): Promise<(heights: readonly number[]) => Promise<string[]>> {
    const cache = new Map<number, string>([[chain.height, chain.hash]]);
    return async (heights) => {
      const missing = [...new Set(heights.filter((h) => !cache.has(h)))];
      if (missing.some((h) => h > chain.height)) throw new Error(`height above the agreed tip ${chain.height}`);
      if (missing.length) {
        const got = await this.opts.sources.hashesAt(missing);
        missing.forEach((h, i) => cache.set(h, got[i]));
      }
      return heights.map((h) => cache.get(h)!);
    };
  }

  /**
   * The highest stored tip on the sources' chain (the best tip first among equals, then the
   * lowest id): where the next batch goes.
   */
  private async anchor(chain: AgreedChain, best: StoredTip, hashAt: (h: readonly number[]) => Promise<string[]>): Promise<StoredTip | null> {
    const tips = [...this.client.tips.values()].filter((t) => t.height <= chain.height).sort((a, b) => b.height - a.height || (a.id === best.id ? -1 : b.id === best.id ? 1 : a.id < b.id ? -1 : 1));
    for (let i = 0; i < tips.length; i += 64) {
      const group = tips.slice(i, i + 64);
      const hs = await hashAt(group.map((t) => t.height));
      const k = group.findIndex((t, j) => t.hash === hs[j]);
      if (k >= 0) return group[k];
    }
    return null;
  }

  /** Why `headers` must not be submitted on `anchor` (null: they pass every check). */
  private check(anchor: StoredTip, headers: Uint8Array[], hashes: string[]): string | null {
    for (let i = 0; i < headers.length; i++) if (hashToHex(blockHash(headers[i])) !== hashes[i]) return `header ${anchor.height + 1 + i} does not hash to ${hashes[i]}`;
    const ref = validateHeaders(anchor.record, headers);
    if (!ref.valid) return `header ${anchor.height + 1 + ref.failedIndex} breaks the ${ref.rule} rule`;
    if (ref.tipHash !== hashes.at(-1)) return `the batch ends at ${ref.tipHash}, not ${hashes.at(-1)}`;
    if (this.opts.taskCheck === false) return null;
    // the task on the very input the relay will build (dense mode), with the relay's step limit
    this.program ??= compile(new Uint8Array(readFileSync(BTC_HEADERS_WASM)), { imports: "task" });
    const input = encodeInput(anchor.record, headers, { dense: true });
    const p = this.params;
    const m = Machine.forTask(this.program, input, { steps: Number(p.stepsBase + p.stepsPerHeader * BigInt(headers.length)), memoryPages: p.memoryPages, callDepth: p.callDepth, stackHeight: p.stackHeight, outputBytes: 172 });
    m.run();
    if (m.status !== Status.Halted) return `the btc-headers task does not halt on the batch (status ${m.status}, trap ${m.trap}, ${m.steps} steps)`;
    const out = decodeOutput(m.output());
    if (!out.valid || out.tipHash !== ref.tipHash || out.chainWork !== ref.chainWork || out.merkleRoot !== ref.merkleRoot) return `the btc-headers task disagrees with the reference rules (${JSON.stringify({ valid: out.valid, rule: out.rule, tip: out.tipHash })})`;
    return null;
  }

  private async submit(anchor: StoredTip, heights: number[], hashes: string[], headers: Uint8Array[], reason: string): Promise<void> {
    const tipHash = hashes.at(-1)!;
    const attempt = [...this.records.values()].filter((r) => r.parent === anchor.id && r.tipHash === tipHash && (r.state === "rejected" || r.state === "failed" || r.state === "abandoned")).length;
    const intent = `submit:${anchor.id}:${tipHash}:${attempt}`;
    const existing = this.records.get(intent);
    if (existing && existing.state !== "sending") return; // already sent (its outcome is known)
    const record: SubmissionRecord = existing ?? { intent, parent: anchor.id, first: heights[0], last: heights.at(-1)!, tipHash, reason, state: "sending", taskId: null, tx: null, at: Date.now() };
    this.save(record); // recorded before the transaction is signed
    const reward = (this.opts.rewardBase ?? ETH / 100n) + (this.opts.rewardPerHeader ?? 0n) * BigInt(headers.length);
    try {
      const s = await this.client.submitBatch(this.txs, anchor.id, headers, reward, { intent, fee: this.opts.fee ?? 0n });
      record.state = "pending";
      record.taskId = s.taskId;
      record.tx = s.tx;
      this.save(record);
      this.metrics.batchesSubmitted++;
      this.metrics.headersSubmitted += headers.length;
      this.log.info("batch submitted", { taskId: s.taskId, parent: anchor.id, first: heights[0], last: heights.at(-1), count: headers.length, tipHash, reason, reward, fee: this.opts.fee ?? 0n, gasUsed: s.gasUsed, tx: s.tx, intent });
    } catch (e) {
      if (e instanceof TxWouldRevert) {
        record.state = "failed";
        this.save(record);
        this.log.error("batch not sent: it would revert", { intent, error: e.message });
        return;
      }
      throw e;
    }
  }

  /** A record left "sending" by a crash: the transaction manager knows whether it went out. */
  private async resend(r: SubmissionRecord): Promise<void> {
    const tx = this.txs.get(r.intent);
    if (!tx) {
      r.state = "abandoned"; // never signed: nothing can be in flight
      this.save(r);
      return;
    }
    await this.txs.recover();
    const settled = this.txs.get(r.intent)!;
    if (settled.status !== "mined") {
      r.state = settled.status === "sent" ? "sending" : "failed";
      this.save(r);
      return;
    }
    const receipt = await this.opts.provider.getTransactionReceipt(settled.hash);
    for (const l of receipt?.logs ?? []) {
      if (l.address.toLowerCase() !== this.opts.relay.toLowerCase()) continue;
      const ev = this.client.iface.parseLog({ topics: [...l.topics], data: l.data });
      if (ev?.name === "BatchSubmitted") {
        r.state = "pending";
        r.taskId = ev.args.taskId;
        r.tx = settled.hash;
        this.save(r);
        this.log.info("batch submitted", { taskId: r.taskId, parent: r.parent, first: r.first, last: r.last, count: r.last - r.first + 1, tipHash: r.tipHash, reason: r.reason, tx: settled.hash, intent: r.intent, recovered: true });
      }
    }
  }

  /** Brings the records' states up to date with the relay's events. */
  private settleRecords(): void {
    for (const r of this.records.values()) {
      if (r.state !== "pending" || r.taskId === null) continue;
      const b = this.client.batches.get(r.taskId);
      if (!b || b.state === "pending") continue;
      r.state = b.state;
      this.save(r);
      if (b.state === "rejected") this.log.warn("batch rejected", { taskId: r.taskId, first: r.first, last: r.last, ...b.rejected });
    }
  }

  /** Batches of ours whose task passed its deadline unsolved: expired, so the reward comes back. */
  private async expireStale(): Promise<void> {
    const market = new Contract(this.params.market, marketInterface(), this.opts.provider);
    for (const r of this.records.values()) {
      if (r.state !== "pending" || r.taskId === null) continue;
      const b = this.client.batches.get(r.taskId);
      if (!b || b.state !== "pending") continue;
      const t = await market.taskOf(r.taskId);
      const now = (await this.opts.provider.getBlock("latest"))!.timestamp;
      if (t.solver !== "0x0000000000000000000000000000000000000000" || Number(t.deadline) >= now || Number(t.stage) !== 1) continue;
      try {
        await this.txs.send(`expire:${r.taskId}`, { to: this.params.market, data: marketInterface().encodeFunctionData("expire", [r.taskId]), value: 0n, what: "expire" });
        this.log.warn("batch expired unsolved", { taskId: r.taskId });
      } catch (e) {
        if (!(e instanceof TxWouldRevert)) throw e;
      }
    }
  }

  private async withdrawIfOwed(): Promise<void> {
    const owed: bigint = await this.client.contract.balanceOf(this.address);
    if (owed === 0n || owed < (this.opts.withdrawAbove ?? ETH / 100n)) return;
    try {
      const out = await this.txs.send(`withdraw:${Date.now()}`, { to: this.opts.relay, data: this.client.iface.encodeFunctionData("withdraw", []), value: 0n, what: "withdraw" });
      this.log.info("withdrawn", { amount: owed, tx: out.hash });
    } catch (e) {
      if (!(e instanceof TxWouldRevert)) throw e;
    }
  }
}

export interface RelayerHandle {
  relayer: Relayer;
  done: Promise<void>;
  stop(): Promise<void>;
}

export function startRelayer(opts: RelayerOptions): RelayerHandle {
  const relayer = new Relayer(opts);
  const done = relayer.start();
  return { relayer, done, stop: () => relayer.stop() };
}
