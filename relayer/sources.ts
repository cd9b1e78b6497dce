/**
 * Where the relayer reads Bitcoin (docs/RELAY.md, "The relayer"): Bitcoin Core's JSON-RPC
 * (`getblockchaininfo`, `getblockhash`, `getblockheader` with verbose=false; user/password or the
 * cookie file; JSON-RPC batches) and Esplora-style REST APIs (`/blocks/tip/height`,
 * `/block-height/:h`, `/block/:hash/header`). Several sources may be given: `Sources` asks all of
 * them and follows only the chain they agree on (their common best chain up to the lowest tip; a
 * disagreement below it stops the chain at the last height where they agree, and is logged).
 *
 * Nothing here is trusted: every header fetched is checked against the hash the source gave for
 * its height (SHA-256d), and the relayer validates every header it submits itself (relayer.ts).
 * Hashes are 64 hex digits in explorer byte order, as both APIs print them.
 */
import { readFileSync } from "node:fs";
import { hashToHex } from "../wasm-tasks/btc-headers/encoding.js";
import { blockHash } from "../wasm-tasks/btc-headers/reference.js";
import { errorMessage, silentLogger, type Logger } from "../client/log.js";
import { retry, type RetryOptions } from "../client/rpc.js";

export interface BitcoinSource {
  /** For logs: the URL without credentials. */
  readonly name: string;
  /** The source's best chain tip. */
  tip(): Promise<{ height: number; hash: string }>;
  /** Hashes of the source's best chain at `heights` (null above its tip). */
  hashesAt(heights: readonly number[]): Promise<(string | null)[]>;
  /** 80-byte headers by hash, each checked against its hash. */
  headers(hashes: readonly string[]): Promise<Uint8Array[]>;
}

/** The source answered, but not with what it should (a bad header, a malformed reply): not retried. */
export class SourceError extends Error {}

const HEX64 = /^[0-9a-f]{64}$/;

function checkedHeader(source: string, hex: unknown, hash: string): Uint8Array {
  if (typeof hex !== "string" || !/^[0-9a-fA-F]{160}$/.test(hex)) throw new SourceError(`${source}: header of ${hash} is not 80 bytes of hex: ${JSON.stringify(hex)?.slice(0, 60)}`);
  const h = new Uint8Array(Buffer.from(hex, "hex"));
  const got = hashToHex(blockHash(h));
  if (got !== hash) throw new SourceError(`${source}: the header given for ${hash} hashes to ${got}`);
  return h;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}

async function fetchWithTimeout(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: ctl.signal });
  } catch (e) {
    // fetch's "This operation was aborted" becomes a timeout (retried), its network errors stay
    // "fetch failed" (retried too)
    throw new Error(`${errorMessage(e)}${ctl.signal.aborted ? " (timeout)" : ""}`, { cause: e });
  } finally {
    clearTimeout(t);
  }
}

export interface CoreRpcOptions {
  /** http://host:port (credentials in the URL are used as user/password). */
  url: string;
  user?: string;
  password?: string;
  /** Path of Bitcoin Core's `.cookie` file (`__cookie__:<password>`), read again after a 401. */
  cookieFile?: string;
  /** JSON-RPC calls per HTTP request (Core's batches). Default 500. */
  batchSize?: number;
  timeoutMs?: number;
  retry?: RetryOptions;
}

/** Bitcoin Core's JSON-RPC. */
export class CoreRpcSource implements BitcoinSource {
  readonly name: string;
  private readonly endpoint: string;
  private auth: string | null = null;
  private id = 0;

  constructor(private readonly opts: CoreRpcOptions) {
    const u = new URL(opts.url);
    const user = opts.user ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const password = opts.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    u.username = "";
    u.password = "";
    this.endpoint = u.toString();
    this.name = `bitcoind ${redact(opts.url)}`;
    if (user !== undefined) this.auth = "Basic " + Buffer.from(`${user}:${password ?? ""}`).toString("base64");
    else if (!opts.cookieFile) throw new Error(`${this.name}: give a user and password (--btc-rpc http://user:pass@host:port or --btc-rpc-user/--btc-rpc-password) or a cookie file (--btc-rpc-cookie)`);
  }

  private cookieAuth(): string {
    let text: string;
    try {
      text = readFileSync(this.opts.cookieFile!, "utf8").trim();
    } catch (e) {
      throw new Error(`${this.name}: cannot read the cookie file ${this.opts.cookieFile}: ${errorMessage(e)}`);
    }
    if (!text.includes(":")) throw new Error(`${this.name}: ${this.opts.cookieFile} is not a Bitcoin Core cookie file (user:password)`);
    return "Basic " + Buffer.from(text).toString("base64");
  }

  /** One HTTP request with `calls`; returns their results in order (a JSON-RPC error throws). */
  private async post(calls: { method: string; params: unknown[] }[]): Promise<unknown[]> {
    return retry(
      async () => {
        const body = calls.map((c) => ({ jsonrpc: "1.0", id: ++this.id, method: c.method, params: c.params }));
        let auth = this.opts.cookieFile ? (this.auth ??= this.cookieAuth()) : this.auth!;
        let res = await this.request(body, auth);
        if (res.status === 401 && this.opts.cookieFile) {
          // bitcoind writes a new cookie at every start: read it again once
          this.auth = auth = this.cookieAuth();
          res = await this.request(body, auth);
        }
        if (res.status === 401 || res.status === 403) throw new SourceError(`${this.name}: authentication refused (HTTP ${res.status})`);
        const text = await res.text();
        if (res.status >= 502) throw new Error(`${this.name}: HTTP ${res.status} ${text.slice(0, 200)}`); // transient
        let reply: unknown;
        try {
          reply = JSON.parse(text);
        } catch {
          throw new SourceError(`${this.name}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
        }
        const replies = Array.isArray(reply) ? reply : [reply];
        const byId = new Map<number, { result: unknown; error: { code: number; message: string } | null }>();
        for (const r of replies) byId.set((r as { id: number }).id, r as never);
        return body.map((b) => {
          const r = byId.get(b.id);
          if (!r) throw new SourceError(`${this.name}: no reply to ${b.method} (id ${b.id})`);
          if (r.error) throw new RpcError(`${this.name}: ${b.method}(${b.params.join(", ")}): ${r.error.message} (code ${r.error.code})`, r.error.code);
          return r.result;
        });
      },
      { what: `${this.name}`, giveUpAfterMs: 30_000, ...this.opts.retry },
    );
  }

  private request(body: unknown, auth: string): Promise<Response> {
    return fetchWithTimeout(this.endpoint, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify(body) }, this.opts.timeoutMs ?? 30_000);
  }

  private async batched<T>(calls: { method: string; params: unknown[] }[]): Promise<T[]> {
    const size = this.opts.batchSize ?? 500;
    const out: T[] = [];
    for (let i = 0; i < calls.length; i += size) out.push(...((await this.post(calls.slice(i, i + size))) as T[]));
    return out;
  }

  async tip(): Promise<{ height: number; hash: string }> {
    const [info] = (await this.post([{ method: "getblockchaininfo", params: [] }])) as { blocks: number; bestblockhash: string }[];
    if (!Number.isSafeInteger(info?.blocks) || !HEX64.test(info?.bestblockhash)) throw new SourceError(`${this.name}: getblockchaininfo without blocks/bestblockhash`);
    return { height: info.blocks, hash: info.bestblockhash };
  }

  async hashesAt(heights: readonly number[]): Promise<(string | null)[]> {
    if (!heights.length) return [];
    // one batch; a height above the tip answers -8 (out of range): asked one by one then
    try {
      const hs = await this.batched<string>(heights.map((h) => ({ method: "getblockhash", params: [h] })));
      for (const h of hs) if (!HEX64.test(h)) throw new SourceError(`${this.name}: getblockhash gave ${JSON.stringify(h)}`);
      return hs;
    } catch (e) {
      if (!(e instanceof RpcError && e.code === -8)) throw e;
    }
    const out: (string | null)[] = [];
    for (const h of heights) {
      try {
        out.push(((await this.post([{ method: "getblockhash", params: [h] }])) as string[])[0]);
      } catch (e) {
        if (e instanceof RpcError && e.code === -8) out.push(null);
        else throw e;
      }
    }
    return out;
  }

  async headers(hashes: readonly string[]): Promise<Uint8Array[]> {
    const hexes = await this.batched<string>(hashes.map((h) => ({ method: "getblockheader", params: [h, false] })));
    return hexes.map((x, i) => checkedHeader(this.name, x, hashes[i]));
  }
}

/** A JSON-RPC error answer (Core's codes: -8 out of range, -5 not found, -28 warming up). */
export class RpcError extends SourceError {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface EsploraOptions {
  /** Base URL, e.g. https://blockstream.info/api or http://127.0.0.1:3002 */
  url: string;
  /** Concurrent requests (default 8). */
  concurrency?: number;
  timeoutMs?: number;
  retry?: RetryOptions;
}

/** An Esplora-style REST API (Blockstream's esplora, mempool.space, electrs's HTTP server). */
export class EsploraSource implements BitcoinSource {
  readonly name: string;
  private readonly base: string;

  constructor(private readonly opts: EsploraOptions) {
    this.base = opts.url.replace(/\/+$/, "");
    this.name = `esplora ${redact(this.base)}`;
  }

  /** GET `path`: the body text, or null on 404. */
  private async get(path: string): Promise<string | null> {
    return retry(
      async () => {
        const res = await fetchWithTimeout(this.base + path, { method: "GET" }, this.opts.timeoutMs ?? 30_000);
        const text = await res.text();
        if (res.status === 404) return null;
        if (res.status === 429 || res.status >= 500) throw new Error(`${this.name}${path}: HTTP ${res.status} ${text.slice(0, 200)}`); // transient
        if (res.status !== 200) throw new SourceError(`${this.name}${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
        return text.trim();
      },
      { what: `${this.name}${path}`, giveUpAfterMs: 30_000, ...this.opts.retry },
    );
  }

  private async pool<T, U>(items: readonly T[], fn: (x: T) => Promise<U>): Promise<U[]> {
    const out = new Array<U>(items.length);
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency ?? 8, items.length) }, worker));
    return out;
  }

  async tip(): Promise<{ height: number; hash: string }> {
    // the hash first: a block found between the two requests then shows as a height whose hash
    // does not match, which the next round corrects, never as a hash at the wrong height
    const hash = await this.get("/blocks/tip/hash");
    const height = Number(await this.get("/blocks/tip/height"));
    if (!hash || !HEX64.test(hash) || !Number.isSafeInteger(height)) throw new SourceError(`${this.name}: bad tip (${hash}, ${height})`);
    const atHeight = (await this.hashesAt([height]))[0];
    return atHeight === hash ? { height, hash } : { height, hash: atHeight ?? hash };
  }

  async hashesAt(heights: readonly number[]): Promise<(string | null)[]> {
    return this.pool(heights, async (h) => {
      const x = await this.get(`/block-height/${h}`);
      if (x !== null && !HEX64.test(x)) throw new SourceError(`${this.name}: /block-height/${h} gave ${JSON.stringify(x.slice(0, 80))}`);
      return x;
    });
  }

  async headers(hashes: readonly string[]): Promise<Uint8Array[]> {
    return this.pool(hashes, async (hash) => {
      const x = await this.get(`/block/${hash}/header`);
      if (x === null) throw new SourceError(`${this.name}: no header for ${hash}`);
      return checkedHeader(this.name, x, hash);
    });
  }
}

/** The chain every source agrees on: its tip, and hashes by height up to it. */
export interface AgreedChain {
  height: number;
  hash: string;
  /** The sources' own tips (for logs). */
  tips: { source: string; height: number; hash: string }[];
  /** When the sources disagree: the lowest height where they do, and where they part. */
  disagreement: { agreedHeight: number; firstDifferent: number } | null;
}

/**
 * All the sources together. Their common chain goes up to the lowest of their tips; below it they
 * must give the same hash at every height (checking the top height is enough: each hash commits to
 * all the headers below it). When they differ there, the highest height where they agree is found
 * by bisection down to `floor` and the chain stops there.
 */
export class Sources {
  constructor(
    readonly list: BitcoinSource[],
    private readonly log: Logger = silentLogger,
  ) {
    if (!list.length) throw new Error("no Bitcoin source");
  }

  async agreed(floor: number): Promise<AgreedChain> {
    const tips = await Promise.all(this.list.map(async (s) => ({ source: s.name, ...(await s.tip()) })));
    let height = Math.min(...tips.map((t) => t.height));
    const at = async (h: number) => Promise.all(this.list.map(async (s) => (await s.hashesAt([h]))[0]));
    const agree = (hs: (string | null)[]) => hs[0] !== null && hs.every((x) => x === hs[0]);
    let hashes = await at(height);
    if (agree(hashes)) return { height, hash: hashes[0]!, tips, disagreement: null };
    // they part somewhere in (lo, hi]: bisect
    let lo = Math.min(floor, height);
    let hi = height;
    let loHashes = await at(lo);
    if (!agree(loHashes)) throw new SourceError(`the Bitcoin sources disagree at height ${lo} (${this.list.map((s, i) => `${s.name}: ${loHashes[i]}`).join(", ")})`);
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const hs = await at(mid);
      if (agree(hs)) (lo = mid), (loHashes = hs);
      else hi = mid;
    }
    height = lo;
    hashes = loHashes;
    this.log.warn("bitcoin sources disagree", { agreedHeight: lo, firstDifferent: hi, tips });
    return { height, hash: hashes[0]!, tips, disagreement: { agreedHeight: lo, firstDifferent: hi } };
  }

  /** Hashes at `heights` from the first source, checked against every other source. */
  async hashesAt(heights: readonly number[]): Promise<string[]> {
    const all = await Promise.all(this.list.map((s) => s.hashesAt(heights)));
    return heights.map((h, i) => {
      const x = all[0][i];
      if (x === null) throw new SourceError(`${this.list[0].name} has no block at height ${h} any more`);
      for (let k = 1; k < all.length; k++) if (all[k][i] !== x) throw new SourceError(`the Bitcoin sources now disagree at height ${h} (${this.list[0].name}: ${x}, ${this.list[k].name}: ${all[k][i]})`);
      return x;
    });
  }

  /** Headers by hash from the first source that has them (each checked against its hash). */
  async headers(hashes: readonly string[]): Promise<Uint8Array[]> {
    let last: unknown;
    for (const s of this.list) {
      try {
        return await s.headers(hashes);
      } catch (e) {
        last = e;
        this.log.warn("header fetch failed", { source: s.name, error: errorMessage(e) });
      }
    }
    throw last;
  }
}
