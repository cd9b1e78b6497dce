/**
 * RPC access: a JSON-RPC provider that never hangs on start-up, and `retry`, which repeats an
 * operation with exponential back-off (and jitter) while it fails with a dropped connection, a
 * timeout or a server error — never on a revert or another answer of the node. Transactions are not
 * resent blindly by this layer: see txs.ts, which keeps the signed bytes and checks receipts.
 */
import { FetchRequest, JsonRpcProvider, Network, type Provider } from "ethers";
import { errorMessage, type Logger } from "./log.js";

export interface RetryOptions {
  /** First delay (ms); doubled after each failure up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this long (ms) of consecutive failures; Infinity: never. */
  giveUpAfterMs?: number;
  /** Aborting stops waiting and rethrows the last error. */
  signal?: AbortSignal;
  log?: Logger;
  what?: string;
}

const TRANSIENT_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
]);

const TRANSIENT_TEXT = /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|network error|timeout|timed out|missing response|other side closed|EPIPE|503|502|429|Too Many Requests/i;

/** A dropped connection, a timeout or a server-side failure: worth trying again. */
export function isTransient(e: unknown): boolean {
  for (let x = e as { code?: unknown; message?: unknown; error?: unknown; cause?: unknown } | undefined, i = 0; x && i < 6; i++) {
    if (typeof x.code === "string") {
      if (TRANSIENT_CODES.has(x.code)) return true;
      if (x.code === "CALL_EXCEPTION" || x.code === "INSUFFICIENT_FUNDS" || x.code === "NONCE_EXPIRED" || x.code === "INVALID_ARGUMENT") return false;
    }
    if (typeof x.message === "string" && TRANSIENT_TEXT.test(x.message) && !/revert/i.test(x.message)) return true;
    x = (x.error ?? x.cause) as typeof x;
  }
  return false;
}

export class AbortedError extends Error {
  constructor() {
    super("aborted");
  }
}

/** Sleeps `ms`, or less when `signal` aborts (then throws AbortedError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `fn`, retrying transient failures with exponential back-off. */
export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 10_000;
  const giveUp = opts.giveUpAfterMs ?? 120_000;
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || Date.now() - started > giveUp || opts.signal?.aborted) throw e;
      const delay = Math.min(max, base * 2 ** attempt) * (0.75 + Math.random() * 0.5);
      opts.log?.warn("rpc retry", { what: opts.what, attempt: attempt + 1, delayMs: Math.round(delay), error: errorMessage(e) });
      await sleep(delay, opts.signal);
    }
  }
}

export interface ConnectOptions {
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** Known chain id: skips the network detection round trip. */
  chainId?: number | bigint;
  retry?: RetryOptions;
}

/**
 * A provider for `url` whose network is fixed (so ethers never retries its detection in the
 * background); the chain id is asked once, with retries, unless given.
 */
export async function connectRpc(url: string, opts: ConnectOptions = {}): Promise<JsonRpcProvider> {
  const req = new FetchRequest(url);
  req.timeout = opts.timeoutMs ?? 30_000;
  let chainId = opts.chainId;
  if (chainId === undefined) {
    const probe = new JsonRpcProvider(req.clone(), undefined, { staticNetwork: Network.from(1), batchMaxCount: 1 });
    try {
      chainId = BigInt(await retry(() => probe.send("eth_chainId", []), { what: "eth_chainId", ...opts.retry }));
    } finally {
      probe.destroy();
    }
  }
  return new JsonRpcProvider(req, undefined, { staticNetwork: Network.from(chainId), batchMaxCount: 1, cacheTimeout: -1 });
}

export async function chainIdOf(provider: Provider): Promise<bigint> {
  return (await provider.getNetwork()).chainId;
}
