/**
 * The transaction manager: sends each intended transaction at most once.
 *
 * Every transaction has an intent key (e.g. "bisect:7:0-1000"). Before anything goes on the wire the
 * transaction is signed locally with an explicit nonce and the record {intent, nonce, hash, signed
 * bytes} is written to the store; only then is it broadcast. After a dropped connection, a timeout or
 * a restart, the manager looks the hash up (receipt, then the node's pool) and at most rebroadcasts
 * the same signed bytes, which cannot execute twice. A second `send` with an intent already in the
 * store returns that transaction's outcome instead of sending a new one.
 *
 * Gas is estimated first: a call that would revert is never sent (TxWouldRevert, with the custom
 * error's name), which is how the nodes learn "not yet" (a window still open, a clock not run out).
 */
import { Transaction, type Provider, type TransactionReceipt, type Wallet } from "ethers";
import type { Call, Contracts } from "./contracts.js";
import type { Hex } from "./encoding.js";
import { errorMessage, silentLogger, type Logger } from "./log.js";
import { retry, sleep, type RetryOptions } from "./rpc.js";
import type { Store } from "./store.js";

export interface TxRecord {
  intent: string;
  what: string;
  to: string;
  value: bigint;
  nonce: number;
  hash: Hex;
  raw: Hex;
  status: "sent" | "mined" | "reverted" | "dropped";
  sentAt: number;
  block?: number;
  gasUsed?: bigint;
  gasPrice?: bigint;
}

export interface TxOutcome {
  intent: string;
  hash: Hex;
  status: "mined" | "reverted";
  block: number;
  gasUsed: bigint;
  /** Fee paid (gasUsed × effective gas price). */
  fee: bigint;
  receipt: TransactionReceipt | null;
}

/** The call would revert: it was not sent. */
export class TxWouldRevert extends Error {
  constructor(
    readonly what: string,
    readonly errorName: string | null,
    readonly detail: string,
  ) {
    super(`${what} would revert: ${errorName ?? detail}`);
  }
}

export interface TxManagerOptions {
  pollMs?: number;
  confirmations?: number;
  /** Rebroadcast the signed bytes when no receipt shows up for this long (ms). */
  rebroadcastAfterMs?: number;
  /** Gas limit = estimate × (1 + gasMargin) + 10,000. */
  gasMargin?: number;
  signal?: AbortSignal;
  log?: Logger;
  retry?: RetryOptions;
  /** Decodes custom errors for TxWouldRevert. */
  contracts?: Contracts;
}

const COLLECTION = "txs";

export class TxManager {
  private nextNonce: number | null = null;
  private readonly memory = new Map<string, TxRecord>();
  private readonly log: Logger;
  private chainId: bigint | null = null;
  /** Fees paid by this manager's transactions, for benches and tests. */
  feesPaid = 0n;
  gasUsed = 0n;

  constructor(
    readonly provider: Provider,
    readonly wallet: Wallet,
    private readonly store: Store | null,
    private readonly opts: TxManagerOptions = {},
  ) {
    this.log = opts.log ?? silentLogger;
    if (store) for (const r of store.all<TxRecord>(COLLECTION).values()) this.memory.set(r.intent, r);
  }

  get address(): string {
    return this.wallet.address;
  }

  private rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, { what, log: this.log, signal: this.opts.signal, ...this.opts.retry });
  }

  get(intent: string): TxRecord | undefined {
    return this.memory.get(intent);
  }

  private save(r: TxRecord): void {
    this.memory.set(r.intent, r);
    this.store?.put(COLLECTION, r.intent, r);
  }

  /** Every transaction of the store still waiting for a receipt. */
  pending(): TxRecord[] {
    return [...this.memory.values()].filter((r) => r.status === "sent");
  }

  /** After a restart: settles every transaction left "sent" (receipt, or rebroadcast). */
  async recover(): Promise<void> {
    for (const r of this.pending().sort((a, b) => a.nonce - b.nonce)) {
      this.log.info("recovering transaction", { intent: r.intent, hash: r.hash, nonce: r.nonce });
      await this.settle(r);
    }
  }

  /**
   * Sends `call` under `intent` unless a transaction for it exists (then waits for that one).
   * Throws TxWouldRevert when the call would revert (nothing sent).
   */
  send(intent: string, call: Call, opts: { gasLimit?: bigint } = {}): Promise<TxOutcome> {
    // concurrent sends of one intent share one transaction
    let p = this.sending.get(intent);
    if (!p) {
      p = this.sendOnce(intent, call, opts).finally(() => this.sending.delete(intent));
      this.sending.set(intent, p);
    }
    return p;
  }

  private readonly sending = new Map<string, Promise<TxOutcome>>();
  /** Nonce allocation, signing and the record's write are serialised (concurrent activities send). */
  private signing: Promise<unknown> = Promise.resolve();

  private async sendOnce(intent: string, call: Call, opts: { gasLimit?: bigint }): Promise<TxOutcome> {
    const existing = this.get(intent);
    if (existing && existing.status !== "dropped") return this.settle(existing);
    const from = this.wallet.address;
    let gasLimit = opts.gasLimit;
    if (gasLimit === undefined) {
      let estimate: bigint;
      try {
        estimate = await this.rpc("estimateGas", () => this.provider.estimateGas({ from, to: call.to, data: call.data, value: call.value }));
      } catch (e) {
        const data = revertData(e);
        if (data !== null || /revert|execution reverted/i.test(errorMessage(e))) {
          const decoded = data ? this.opts.contracts?.decodeError(data) : null;
          throw new TxWouldRevert(call.what, decoded?.name ?? null, errorMessage(e));
        }
        throw e;
      }
      gasLimit = (estimate * BigInt(Math.round((1 + (this.opts.gasMargin ?? 0.25)) * 1000))) / 1000n + 10_000n;
    }
    this.chainId ??= (await this.rpc("getNetwork", () => this.provider.getNetwork())).chainId;
    const fee = await this.rpc("getFeeData", () => this.provider.getFeeData());
    const signed = this.signing.then(() => this.signAndRecord(intent, call, gasLimit!, fee));
    this.signing = signed.catch(() => undefined);
    const record = await signed;
    this.log.info("tx sent", { intent, what: call.what, hash: record.hash, nonce: record.nonce });
    this.onSent?.(record);
    return this.settle(record);
  }

  /** Called after each new transaction went on the wire (metrics). */
  onSent?: (r: TxRecord) => void;

  private async signAndRecord(intent: string, call: Call, gasLimit: bigint, fee: { maxFeePerGas: bigint | null; gasPrice: bigint | null; maxPriorityFeePerGas: bigint | null }): Promise<TxRecord> {
    const nonce = await this.allocateNonce();
    const tx = Transaction.from({
      type: 2,
      chainId: this.chainId,
      nonce,
      to: call.to,
      data: call.data,
      value: call.value,
      gasLimit,
      maxFeePerGas: fee.maxFeePerGas ?? fee.gasPrice ?? 1_000_000_000n,
      maxPriorityFeePerGas: fee.maxPriorityFeePerGas ?? 0n,
    });
    const raw = await this.wallet.signTransaction(tx);
    const hash = Transaction.from(raw).hash!;
    const record: TxRecord = { intent, what: call.what, to: call.to, value: call.value, nonce, hash, raw, status: "sent", sentAt: Date.now() };
    this.save(record); // persisted before it goes on the wire
    this.nextNonce = nonce + 1;
    await this.broadcast(record);
    return record;
  }

  private async allocateNonce(): Promise<number> {
    const onChain = await this.rpc("getTransactionCount", () => this.provider.getTransactionCount(this.wallet.address, "pending"));
    let n = Math.max(onChain, this.nextNonce ?? 0);
    for (const r of this.memory.values()) if (r.status === "sent" && r.nonce >= n) n = r.nonce + 1;
    return n;
  }

  private async broadcast(r: TxRecord): Promise<void> {
    try {
      await this.rpc("broadcastTransaction", () => this.provider.broadcastTransaction(r.raw));
    } catch (e) {
      const msg = errorMessage(e);
      // the node already has it (a rebroadcast, or an answer lost with the connection)
      if (/already known|known transaction|already imported|nonce too low|nonce has already been used|NONCE_EXPIRED/i.test(msg) || (e as { code?: string }).code === "NONCE_EXPIRED") return;
      this.log.warn("broadcast failed", { intent: r.intent, hash: r.hash, error: msg });
      // let settle() decide from the chain whether it made it
    }
  }

  /** Waits for the receipt of `r` (rebroadcasting its signed bytes when needed). */
  private async settle(r: TxRecord): Promise<TxOutcome> {
    if (r.status === "mined" || r.status === "reverted") {
      return { intent: r.intent, hash: r.hash, status: r.status, block: r.block!, gasUsed: r.gasUsed ?? 0n, fee: (r.gasUsed ?? 0n) * (r.gasPrice ?? 0n), receipt: null };
    }
    const poll = this.opts.pollMs ?? 500;
    const confirmations = this.opts.confirmations ?? 0;
    let lastBroadcast = r.sentAt;
    for (;;) {
      const receipt = await this.rpc("getTransactionReceipt", () => this.provider.getTransactionReceipt(r.hash));
      if (receipt) {
        const head = confirmations > 0 ? await this.rpc("getBlockNumber", () => this.provider.getBlockNumber()) : receipt.blockNumber;
        if (head - receipt.blockNumber + 1 >= confirmations) {
          r.status = receipt.status === 1 ? "mined" : "reverted";
          r.block = receipt.blockNumber;
          r.gasUsed = receipt.gasUsed;
          r.gasPrice = receipt.gasPrice;
          this.save(r);
          const fee = receipt.gasUsed * receipt.gasPrice;
          this.feesPaid += fee;
          this.gasUsed += receipt.gasUsed;
          if (r.status === "reverted") this.log.warn("tx reverted", { intent: r.intent, hash: r.hash });
          else this.log.debug("tx mined", { intent: r.intent, hash: r.hash, block: r.block, gasUsed: r.gasUsed });
          return { intent: r.intent, hash: r.hash, status: r.status, block: receipt.blockNumber, gasUsed: receipt.gasUsed, fee, receipt };
        }
      } else {
        const known = await this.rpc("getTransaction", () => this.provider.getTransaction(r.hash));
        if (!known) {
          const latest = await this.rpc("getTransactionCount", () => this.provider.getTransactionCount(this.wallet.address, "latest"));
          if (latest > r.nonce) {
            // the nonce was used by another transaction of this account: ours can never be mined
            r.status = "dropped";
            this.save(r);
            this.nextNonce = null;
            throw new Error(`transaction ${r.hash} (${r.intent}) was replaced: nonce ${r.nonce} already used`);
          }
          if (Date.now() - lastBroadcast > (this.opts.rebroadcastAfterMs ?? 5_000) || lastBroadcast === r.sentAt) {
            this.log.info("rebroadcasting", { intent: r.intent, hash: r.hash });
            lastBroadcast = Date.now();
            await this.broadcast(r);
          }
        }
      }
      await sleep(poll, this.opts.signal);
    }
  }
}

/** Revert data (0x…) of an ethers error, if any. */
export function revertData(e: unknown): string | null {
  for (let x = e as { data?: unknown; error?: unknown; info?: { error?: unknown }; cause?: unknown } | undefined, i = 0; x && i < 8; i++) {
    if (typeof x.data === "string" && x.data.startsWith("0x") && x.data.length >= 10) return x.data;
    const inner = x.data as { data?: unknown } | undefined;
    if (inner && typeof inner.data === "string" && inner.data.startsWith("0x")) return inner.data;
    x = (x.error ?? x.info?.error ?? x.cause) as typeof x;
  }
  return null;
}
