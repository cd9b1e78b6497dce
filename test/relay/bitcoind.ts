/**
 * A small local server that speaks Bitcoin Core's JSON-RPC (and an Esplora-style REST API) over a
 * chain of real headers the test controls: Bitcoin Core cannot be installed here, so the relayer's
 * tests run against this. What it reproduces of Core (v25..v28, JSON-RPC 1.0 over HTTP):
 *
 *   - HTTP basic authentication: a user/password (rpcuser/rpcpassword) or the cookie
 *     (`__cookie__:<hex>`, written to a `.cookie` file, changed by `restart()` as bitcoind does at
 *     every start); a missing or wrong one is HTTP 401 with an empty body;
 *   - single requests and batches (a JSON array: one reply per call, HTTP 200);
 *   - `getblockchaininfo` (chain, blocks, headers, bestblockhash, chainwork, …), `getblockcount`,
 *     `getbestblockhash`, `getblockhash h` (error -8 "Block height out of range"), `getblockheader
 *     hash verbose` (false: 160 hex digits; true: a JSON object; error -5 "Block not found" for an
 *     unknown hash — a stale block Core has seen stays known, as in Core); a single request's error
 *     is HTTP 500 (404 for an unknown method, -32601), its body {"result":null,"error":{…},"id"};
 *   - Esplora: GET /esplora/blocks/tip/height, /blocks/tip/hash, /block-height/:h (404 above the
 *     tip), /block/:hash/header.
 *
 * The chain is `base` (the height of the first header) and a list of 80-byte headers; `setChain`
 * replaces it (a reorganisation), and every header ever served stays known by hash.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { hashToHex, headerFields } from "../../wasm-tasks/btc-headers/encoding.js";
import { blockHash, blockWork } from "../../wasm-tasks/btc-headers/reference.js";

export interface FakeBitcoindOptions {
  /** rpcuser/rpcpassword; without them, cookie authentication (cookieFile must be given). */
  user?: string;
  password?: string;
  /** Where the cookie is written (as bitcoind writes <datadir>/.cookie). */
  cookieFile?: string;
  /** Chain work of the block before the first header (for getblockchaininfo's chainwork). */
  baseWork?: bigint;
}

export class FakeBitcoind {
  private server!: Server;
  url = "";
  private base = 0;
  private chain: Uint8Array[] = [];
  private hashes: string[] = [];
  private readonly known = new Map<string, { header: Uint8Array; height: number }>();
  private cookie = "";
  /** Requests served (HTTP requests, and JSON-RPC calls inside them), by method. */
  readonly calls = new Map<string, number>();
  httpRequests = 0;
  /** While set, every request fails with this HTTP status (e.g. 503: a node restarting). */
  failWith: number | null = null;
  /** A lying server: these headers are served for these hashes (explorer order). */
  readonly lies = new Map<string, Uint8Array>();

  constructor(private readonly opts: FakeBitcoindOptions = {}) {}

  async start(): Promise<this> {
    this.newCookie();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    const port = await new Promise<number>((resolve) => this.server.listen(0, "127.0.0.1", () => resolve((this.server.address() as { port: number }).port)));
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  /** As bitcoind restarting: a new cookie. */
  restart(): void {
    this.newCookie();
  }

  private newCookie(): void {
    if (!this.opts.cookieFile) return;
    this.cookie = `__cookie__:${randomBytes(32).toString("hex")}`;
    writeFileSync(this.opts.cookieFile, this.cookie);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The best chain: header i is at height base + i. */
  setChain(base: number, headers: readonly Uint8Array[]): void {
    this.base = base;
    this.chain = [...headers];
    this.hashes = headers.map((h) => hashToHex(blockHash(h)));
    headers.forEach((h, i) => this.known.set(this.hashes[i], { header: h, height: base + i }));
  }

  get height(): number {
    return this.base + this.chain.length - 1;
  }

  get tipHash(): string {
    return this.hashes.at(-1)!;
  }

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  private authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    if (!h?.startsWith("Basic ")) return false;
    const given = Buffer.from(h.slice(6), "base64").toString();
    if (this.opts.user !== undefined) return given === `${this.opts.user}:${this.opts.password ?? ""}`;
    return given === this.cookie;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.httpRequests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.failWith !== null) {
      res.writeHead(this.failWith).end("unavailable");
      return;
    }
    if (req.method === "GET" && req.url?.startsWith("/esplora/")) return this.esplora(req.url.slice("/esplora".length), res);
    if (req.method !== "POST") {
      res.writeHead(405).end();
      return;
    }
    if (!this.authorized(req)) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="jsonrpc"' }).end();
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      return this.reply(res, 500, { result: null, error: { code: -32700, message: "Parse error" }, id: null });
    }
    if (Array.isArray(body)) {
      this.reply(res, 200, body.map((c) => this.call(c).reply));
      return;
    }
    const { status, reply } = this.call(body as never);
    this.reply(res, status, reply);
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body) + "\n");
  }

  private call(c: { method?: string; params?: unknown[]; id?: unknown }): { status: number; reply: unknown } {
    const id = c.id ?? null;
    const ok = (result: unknown) => ({ status: 200, reply: { result, error: null, id } });
    const err = (code: number, message: string, status = 500) => ({ status, reply: { result: null, error: { code, message }, id } });
    const params = c.params ?? [];
    this.count(c.method ?? "?");
    switch (c.method) {
      case "getblockchaininfo": {
        let work = this.opts.baseWork ?? 0n;
        for (const h of this.chain) work += blockWork(headerFields(h).bits);
        const tip = headerFields(this.chain.at(-1)!);
        return ok({
          chain: "main",
          blocks: this.height,
          headers: this.height,
          bestblockhash: this.tipHash,
          difficulty: 0,
          time: tip.time,
          mediantime: tip.time,
          verificationprogress: 1,
          initialblockdownload: false,
          chainwork: work.toString(16).padStart(64, "0"),
          size_on_disk: 0,
          pruned: false,
          warnings: "",
        });
      }
      case "getblockcount":
        return ok(this.height);
      case "getbestblockhash":
        return ok(this.tipHash);
      case "getblockhash": {
        const h = params[0];
        if (typeof h !== "number" || !Number.isInteger(h)) return err(-3, "JSON value of type string is not of expected type number");
        if (h < this.base || h > this.height) return err(-8, "Block height out of range");
        return ok(this.hashes[h - this.base]);
      }
      case "getblockheader": {
        const hash = params[0];
        const verbose = params[1] ?? true;
        if (typeof hash !== "string" || !/^[0-9a-f]{64}$/.test(hash)) return err(-8, `blockhash must be of length 64 (not ${String(hash).length}, for '${hash}')`);
        const k = this.known.get(hash);
        if (!k) return err(-5, "Block not found");
        if (verbose === false) return ok(Buffer.from(this.lies.get(hash) ?? k.header).toString("hex"));
        const f = headerFields(k.header);
        return ok({ hash, height: k.height, version: f.version, merkleroot: f.merkleRoot, time: f.time, nonce: f.nonce, bits: f.bits.toString(16), previousblockhash: f.prevHash });
      }
      default:
        return err(-32601, "Method not found", 404);
    }
  }

  private esplora(path: string, res: ServerResponse): void {
    const text = (status: number, body: string): void => void res.writeHead(status, { "content-type": "text/plain" }).end(body);
    this.count(`esplora ${path.replace(/[0-9a-f]{64}|\d+/g, ":x")}`);
    let m: RegExpExecArray | null;
    if (path === "/blocks/tip/height") return text(200, String(this.height));
    if (path === "/blocks/tip/hash") return text(200, this.tipHash);
    if ((m = /^\/block-height\/(\d+)$/.exec(path))) {
      const h = Number(m[1]);
      return h < this.base || h > this.height ? text(404, "Block not found") : text(200, this.hashes[h - this.base]);
    }
    if ((m = /^\/block\/([0-9a-f]{64})\/header$/.exec(path))) {
      const k = this.known.get(m[1]);
      return k ? text(200, Buffer.from(this.lies.get(m[1]) ?? k.header).toString("hex")) : text(404, "Block not found");
    }
    text(404, "Not found");
  }
}
