/**
 * The relayer's parts in-process (relayer/sources.ts, relayer/relayer.ts), against the local
 * Bitcoin Core JSON-RPC / Esplora server (bitcoind.ts) over real mainnet headers: the sources
 * (authentication by password and by cookie, batches, heights above the tip, a lying server,
 * transient failures, several sources that must agree), and the relayer's decisions, one round at
 * a time on an in-process network with a BtcRelay (when to submit, what it refuses). Following the
 * chain through stored batches, reorganisations and restarts is relayer-e2e.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { hexlify } from "ethers";
import { Contracts, marketInterface } from "../../client/contracts.js";
import { deploy } from "../../client/index.js";
import { inProcessNetwork, type InProcessNetwork } from "../../client/inprocess.js";
import { createLogger } from "../../client/log.js";
import { compileProgram, ensureRegistered } from "../../client/tasks.js";
import { TxManager } from "../../client/txs.js";
import { BTC_HEADERS_WASM, embeddedBatch, RelayClient } from "../../relayer/relay.js";
import { Relayer } from "../../relayer/relayer.js";
import { CoreRpcSource, EsploraSource, SourceError, Sources } from "../../relayer/sources.js";
import { encodeInput, hashToHex } from "../../wasm-tasks/btc-headers/encoding.js";
import { blockHash, validateHeaders } from "../../wasm-tasks/btc-headers/reference.js";
import { fromHex, sharedBtcLines } from "../tasks/helpers.js";
import { FakeBitcoind } from "./bitcoind.js";

const batch = embeddedBatch();
const FIRST = 828_576;
const at = (h: number) => batch.headers[h - FIRST];
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => at(a + i));
const hashOf = (h: Uint8Array) => hashToHex(blockHash(h));
const stale = fromHex(sharedBtcLines("mainnet_stale.hex").get(829_613)!);
const quick = { retry: { baseDelayMs: 20, maxDelayMs: 50, giveUpAfterMs: 2_000 } };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "truewasm-relayer-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Bitcoin sources", () => {
  let core: FakeBitcoind;
  let cookie: FakeBitcoind;
  beforeAll(async () => {
    core = await new FakeBitcoind({ user: "alice", password: "s3cret" }).start();
    core.setChain(829_500, range(829_500, 829_600));
    cookie = await new FakeBitcoind({ cookieFile: join(dir, ".cookie") }).start();
    cookie.setChain(829_500, range(829_500, 829_600));
  });
  afterAll(async () => {
    await core.stop();
    await cookie.stop();
  });

  it("Bitcoin Core's JSON-RPC: tip, hashes in one batch (null above the tip), headers checked against their hash", async () => {
    const s = new CoreRpcSource({ url: core.url.replace("http://", "http://alice:s3cret@"), ...quick });
    expect(s.name).not.toContain("s3cret");
    expect(await s.tip()).toEqual({ height: 829_600, hash: hashOf(at(829_600)) });
    const before = core.httpRequests;
    const hs = (await s.hashesAt([829_590, 829_591, 829_592])) as string[];
    expect(core.httpRequests - before).toBe(1);
    expect(hs).toEqual([829_590, 829_591, 829_592].map((h) => hashOf(at(h))));
    expect(await s.hashesAt([829_600, 829_601])).toEqual([hashOf(at(829_600)), null]);
    const headers = await s.headers(hs);
    expect(headers.map((h) => Buffer.from(h).toString("hex"))).toEqual([829_590, 829_591, 829_592].map((h) => Buffer.from(at(h)).toString("hex")));
    // a server that serves another header than the one its hash names
    core.lies.set(hs[1], at(829_400));
    await expect(s.headers(hs)).rejects.toThrow(/hashes to/);
    core.lies.clear();
    // a stale header Core has seen stays known by hash
    core.setChain(829_500, [...range(829_500, 829_612), stale]);
    expect((await s.headers([hashOf(stale)]))[0]).toEqual(stale);
    core.setChain(829_500, range(829_500, 829_600));
  });

  it("authentication: a wrong password is refused by name; the cookie is read again after bitcoind restarts", async () => {
    const wrong = new CoreRpcSource({ url: core.url, user: "alice", password: "nope", ...quick });
    await expect(wrong.tip()).rejects.toThrow(/authentication refused \(HTTP 401\)/);
    expect(() => new CoreRpcSource({ url: core.url })).toThrow(/user and password|cookie/);
    const s = new CoreRpcSource({ url: cookie.url, cookieFile: join(dir, ".cookie"), ...quick });
    expect((await s.tip()).height).toBe(829_600);
    cookie.restart();
    expect((await s.tip()).height).toBe(829_600);
  });

  it("a transient failure (HTTP 503) is retried", async () => {
    const s = new CoreRpcSource({ url: core.url, user: "alice", password: "s3cret", ...quick });
    core.failWith = 503;
    setTimeout(() => (core.failWith = null), 150);
    expect((await s.tip()).height).toBe(829_600);
  });

  it("Esplora: the same answers", async () => {
    const e = new EsploraSource({ url: `${core.url}/esplora`, ...quick });
    expect(await e.tip()).toEqual({ height: 829_600, hash: hashOf(at(829_600)) });
    expect(await e.hashesAt([829_599, 829_601])).toEqual([hashOf(at(829_599)), null]);
    expect(await e.headers([hashOf(at(829_599))])).toEqual([at(829_599)]);
    core.lies.set(hashOf(at(829_599)), at(829_598));
    await expect(e.headers([hashOf(at(829_599))])).rejects.toBeInstanceOf(SourceError);
    core.lies.clear();
  });

  it("several sources: the chain they agree on (up to the lowest tip; below a disagreement)", async () => {
    const other = await new FakeBitcoind({ user: "bob", password: "x" }).start();
    try {
      other.setChain(829_500, range(829_500, 829_612));
      const srcs = new Sources([new CoreRpcSource({ url: core.url, user: "alice", password: "s3cret", ...quick }), new EsploraSource({ url: `${other.url}/esplora`, ...quick })]);
      expect(await srcs.agreed(829_500)).toMatchObject({ height: 829_600, hash: hashOf(at(829_600)), disagreement: null });
      core.setChain(829_500, [...range(829_500, 829_612), stale]);
      other.setChain(829_500, range(829_500, 829_616));
      expect(await srcs.agreed(829_500)).toMatchObject({ height: 829_612, hash: hashOf(at(829_612)), disagreement: { agreedHeight: 829_612, firstDifferent: 829_613 } });
      await expect(srcs.hashesAt([829_613])).rejects.toThrow(/disagree at height 829613/);
    } finally {
      core.setChain(829_500, range(829_500, 829_600));
      await other.stop();
    }
  });
});

describe("the relayer's rounds (in-process network, no solver)", () => {
  let net: InProcessNetwork;
  let btc: FakeBitcoind;
  let relay: RelayClient;
  const CP = 829_580;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", sink: (l) => lines.push(JSON.parse(l)) });

  beforeAll(async () => {
    net = await inProcessNetwork();
    const d = await deploy(net.wallet(0), { k: 4 });
    const program = compileProgram(new Uint8Array(readFileSync(BTC_HEADERS_WASM)));
    await ensureRegistered(new TxManager(net.provider, net.wallet(0), null, { contracts: new Contracts(net.provider, d), pollMs: 10 }), new Contracts(net.provider, d), program);
    relay = (await RelayClient.deploy(net.wallet(0), d.market, program.root, validateHeaders(batch.checkpoint, range(FIRST, CP)).next, { confirmations: 1 })).relay;
    btc = await new FakeBitcoind({ user: "u", password: "p" }).start();
  });
  afterAll(async () => {
    await btc?.stop();
    await net?.close();
  });

  const relayer = async (name: string, wallet: number, opts: Partial<ConstructorParameters<typeof Relayer>[0]> = {}) => {
    const r = new Relayer({ provider: net.provider, wallet: net.wallet(wallet), relay: relay.address, sources: new Sources([new CoreRpcSource({ url: btc.url, user: "u", password: "p", ...quick })]), dataDir: join(dir, name), pollMs: 10, log, ...opts });
    await r.init();
    return r;
  };
  const submittedBy = (n: number) => lines.filter((l) => l.msg === "batch submitted").slice(n);

  it("waits until a trigger fires: a full batch, the lag, the delay", async () => {
    btc.setChain(829_570, range(829_570, 829_585)); // 5 headers after the checkpoint
    const r = await relayer("triggers", 3, { batchSize: 8, lag: 6, maxDelayMs: 3_600_000 });
    await r.tick();
    expect(submittedBy(0)).toHaveLength(0);
    expect(lines.at(-1)).toMatchObject({ msg: "waiting" });
    expect(String(lines.at(-1)!.why)).toMatch(/5 header\(s\) after tip 0 \(829580\); the relay trails by 5 \(lag 6\)/);
    btc.setChain(829_570, range(829_570, 829_588)); // 8: a full batch
    await r.tick();
    expect(submittedBy(0).map((l) => [l.first, l.last, l.reason])).toEqual([[829_581, 829_588, "full batch"]]);
    // the input the relay built (logged by the market) is the one the relayer ran the task on
    const tx = await net.provider.getTransactionReceipt(String(submittedBy(0)[0].tx));
    const posted = tx!.logs.map((l) => marketInterface().parseLog(l)).find((e) => e?.name === "TaskPosted")!;
    const cp = validateHeaders(batch.checkpoint, range(FIRST, CP)).next;
    expect(posted.args.input).toBe(hexlify(encodeInput(cp, range(829_581, 829_588), { dense: true })));
    await r.tick(); // in flight: nothing more
    expect(submittedBy(0)).toHaveLength(1);
    expect(String(lines.filter((l) => l.msg === "waiting").at(-1)!.why)).toMatch(/in flight/);
    // another relayer (another account) with a zero delay submits its own batch at once
    const fast = await relayer("delay", 4, { batchSize: 100, lag: 100, maxDelayMs: 0 });
    await fast.tick();
    expect(submittedBy(1).map((l) => [l.first, l.last, l.reason])).toEqual([[829_581, 829_588, "delay"]]);
  });

  it("refuses a header that breaks the rules, and one the task would not accept, without submitting", async () => {
    const bad = Uint8Array.from(at(829_586));
    new DataView(bad.buffer).setUint32(76, new DataView(bad.buffer).getUint32(76, true) + 1, true); // nonce + 1: no proof of work
    btc.setChain(829_570, [...range(829_570, 829_585), bad]);
    const r = await relayer("refuses", 5, { batchSize: 6, lag: 0 });
    await r.tick();
    expect(submittedBy(2)).toHaveLength(0);
    expect(lines.filter((l) => l.msg === "headers refused").at(-1)).toMatchObject({ parent: "0", first: 829_581, last: 829_586, reason: "header 829586 breaks the pow rule" });
    // a source whose header does not hash to the hash it gave
    btc.setChain(829_570, range(829_570, 829_586));
    btc.lies.set(hashOf(at(829_583)), at(829_400));
    await expect(r.tick()).rejects.toThrow(/hashes to/);
    btc.lies.clear();
    expect(submittedBy(2)).toHaveLength(0);
  });
});
