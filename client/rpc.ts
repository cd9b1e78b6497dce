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

const TRANSIENT_TEXT = /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|network error|timeout|timed out|missing response|other side closed|EPIPE|\b(?:502|503|504|429)\b|Too Many Requests/i;

type ErrorLike = { code?: unknown; message?: unknown; shortMessage?: unknown; error?: unknown; cause?: unknown; info?: { responseStatus?: unknown } };

/**
 * A dropped connection, a timeout or a server-side failure: worth trying again. Only short messages
 * are read (ethers' `shortMessage`, a JSON-RPC error's `message`): ethers' full `message` embeds the
 * request, whose hex payload may contain "503" or "429" anywhere.
 */
export function isTransient(e: unknown): boolean {
  for (let x = e as ErrorLike | undefined, i = 0; x && i < 6; i++) {
    if (typeof x.code === "string") {
      if (x.code === "SERVER_ERROR") {
        // an HTTP answer: 5xx and 429 are worth retrying, a 404 (wrong URL) or a 401 is not
        const status = typeof x.info?.responseStatus === "string" ? Number.parseInt(x.info.responseStatus, 10) : NaN;
        return Number.isNaN(status) || status >= 500 || status === 429;
      }
      if (TRANSIENT_CODES.has(x.code)) return true;
      if (x.code === "CALL_EXCEPTION" || x.code === "INSUFFICIENT_FUNDS" || x.code === "NONCE_EXPIRED" || x.code === "INVALID_ARGUMENT") return false;
    }
    const text = typeof x.shortMessage === "string" ? x.shortMessage : x.message;
    if (typeof text === "string" && TRANSIENT_TEXT.test(text) && !/revert/i.test(text)) return true;
    x = (x.error ?? x.cause) as typeof x;
  }
  return false;
}

/**
 * What the node said, for a person: the JSON-RPC error message of the node (a revert reason, "Transaction
 * gas limit is … and exceeds transaction gas cap of …", "Sender doesn't have enough funds …") when an
 * ethers error wraps one, else the error's short message. Never ethers' full message, which embeds
 * the whole request (a deployment's bytecode, a megabyte of calldata).
 */
export function nodeMessage(e: unknown): string {
  let fallback: string | null = null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  for (let x = e as any, i = 0; x && typeof x === "object" && i < 8; i++) {
    // a JSON-RPC error object {code, message, data}, as the node sent it
    if (!(x instanceof Error) && typeof x.code === "number" && typeof x.message === "string" && x.message) return x.message;
    const m = x.shortMessage ?? x.message;
    if (fallback === null && typeof m === "string") fallback = m;
    x = x.info?.error ?? x.error ?? x.cause;
  }
  return fallback ?? String(e);
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

/**
 * Defaults of every `retry` in this process that does not set them. The nodes keep the built-in
 * ones (give up after 2 minutes of failures, then try again next tick); the one-shot commands
 * (`truewasm post`, `status`, …) lower `giveUpAfterMs` to seconds, so that an unreachable endpoint
 * is reported at once rather than after minutes of silence.
 */
export const retryDefaults: { baseDelayMs: number; maxDelayMs: number; giveUpAfterMs: number } = { baseDelayMs: 200, maxDelayMs: 10_000, giveUpAfterMs: 120_000 };

/** Thrown by `retry` when an endpoint kept failing with transient errors for `giveUpAfterMs`. */
export class RpcUnavailable extends Error {
  constructor(
    readonly what: string | undefined,
    readonly afterMs: number,
    readonly last: unknown,
  ) {
    const endpoint = (last as { endpoint?: { url: string; reason: string } } | null)?.endpoint;
    const gaveUp = `gave up after ${(afterMs / 1000).toFixed(1)} s`;
    super(endpoint ? `no answer from the JSON-RPC endpoint ${endpoint.url} (${endpoint.reason}); ${gaveUp}` : `${errorMessage(last)}${what ? ` (${what})` : ""}; ${gaveUp}`);
    this.cause = last;
  }
  /** Keeps the last error's code, so that callers retrying at a higher level still see a transient failure. */
  get code(): unknown {
    return (this.last as { code?: unknown } | null)?.code;
  }
}

/** Runs `fn`, retrying transient failures with exponential back-off. */
export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const base = opts.baseDelayMs ?? retryDefaults.baseDelayMs;
  const max = opts.maxDelayMs ?? retryDefaults.maxDelayMs;
  const giveUp = opts.giveUpAfterMs ?? retryDefaults.giveUpAfterMs;
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || opts.signal?.aborted) throw e;
      if (Date.now() - started > giveUp) throw e instanceof RpcUnavailable ? e : new RpcUnavailable(opts.what, Date.now() - started, e);
      const delay = Math.min(max, base * 2 ** attempt, Math.max(giveUp - (Date.now() - started), 0) + 10) * (0.75 + Math.random() * 0.5);
      opts.log?.warn("rpc retry", { what: opts.what, attempt: attempt + 1, delayMs: Math.round(delay), error: errorMessage(e) });
      await sleep(delay, opts.signal);
    }
  }
}

export interface ConnectOptions {
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** Per-request timeout of the first request (eth_chainId), default timeoutMs. */
  probeTimeoutMs?: number;
  /** Known chain id: skips the network detection round trip. */
  chainId?: number | bigint;
  retry?: RetryOptions;
}

/**
 * A JSON-RPC provider whose transport failures (connection refused, timeout, an HTTP error) name
 * the endpoint: "http://127.0.0.1:8545: connect ECONNREFUSED 127.0.0.1:8545". The error keeps its
 * code, so `isTransient` and `retry` treat it as before.
 */
export class EndpointProvider extends JsonRpcProvider {
  constructor(
    readonly url: string,
    req: FetchRequest,
    network: Network,
    options: ConstructorParameters<typeof JsonRpcProvider>[2] = {},
  ) {
    super(req, undefined, { ...options, staticNetwork: network, batchMaxCount: 1 });
  }

  override async _send(payload: Parameters<JsonRpcProvider["_send"]>[0]): ReturnType<JsonRpcProvider["_send"]> {
    try {
      return await super._send(payload);
    } catch (e) {
      throw endpointError(this.url, e);
    }
  }
}

function endpointError(url: string, e: unknown): Error {
  const x = e as { code?: unknown; shortMessage?: unknown; message?: unknown; info?: unknown };
  const short = typeof x.shortMessage === "string" ? x.shortMessage : typeof x.message === "string" ? x.message : String(e);
  const err = new Error(`JSON-RPC endpoint ${url}: ${short}`, { cause: e });
  return Object.assign(err, { code: x.code, shortMessage: err.message, info: x.info, endpoint: { url, reason: short } });
}

/**
 * A provider for `url` whose network is fixed (so ethers never retries its detection in the
 * background); the chain id is asked once, with retries, unless given. An endpoint that does not
 * answer fails with its URL in the message (after `retry.giveUpAfterMs`, default `retryDefaults`).
 */
export async function connectRpc(url: string, opts: ConnectOptions = {}): Promise<JsonRpcProvider> {
  const req = new FetchRequest(url);
  req.timeout = opts.timeoutMs ?? 30_000;
  let chainId = opts.chainId;
  if (chainId === undefined) {
    const probeReq = req.clone();
    probeReq.timeout = opts.probeTimeoutMs ?? req.timeout;
    const probe = new EndpointProvider(url, probeReq, Network.from(1));
    try {
      chainId = BigInt(await retry(() => probe.send("eth_chainId", []), { what: "eth_chainId", ...opts.retry }));
    } finally {
      probe.destroy();
    }
  }
  return new EndpointProvider(url, req, Network.from(chainId), { cacheTimeout: -1 });
}

export async function chainIdOf(provider: Provider): Promise<bigint> {
  return (await provider.getNetwork()).chainId;
}
