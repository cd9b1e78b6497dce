/**
 * The relayer end to end, with real processes: a `hardhat node`, `truewasm deploy` and `truewasm btc
 * deploy` (the market, the btc-headers program, a BtcRelay on the checkpoint at 829,580 derived
 * from the embedded real headers; window 3 s), a `truewasm solver` and a `truewasm challenger`, and
 * `truewasm relayer` reading a local server that speaks Bitcoin Core's JSON-RPC with cookie
 * authentication (bitcoind.ts) over real mainnet headers. The test plays Bitcoin:
 *
 *   1. the source's tip is 829,590: the relayer submits 829,581..829,588 (a full batch of 8) and,
 *      once it is stored, 829,589..829,590;
 *   2. the tip moves to 829,600: the relayer submits 829,591..829,598 and is killed (SIGKILL) as soon
 *      as it has logged the submission; started again (and bitcoind "restarted": a new cookie), it
 *      finds its batch in flight, waits for it, and goes on with 829,599..829,600;
 *   3. the tip moves to the real STALE block 829,613 (../shared/fixtures/btc/mainnet_stale.hex) on
 *      top of the main chain 829,601..829,612: the relay's best tip follows it onto the stale branch;
 *   4. the source reorganises back to the main chain, up to 829,616: the relay's best tip is no
 *      longer on the source's chain; the relayer submits the main branch from the stored tip below
 *      the fork (829,608), 829,609..829,616, and the best tip moves back to the main chain.
 *
 * At the end: the relay's best tip is the main chain's 829,616, and every batch the relayer's
 * account submitted (read back from the chain: its BatchSubmitted events and the headers in the
 * tasks' inputs) is distinct — the kill and the restart sent nothing twice.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getBytes, Interface, Wallet } from "ethers";
import { hardhatKey } from "../../client/inprocess.js";
import { marketInterface } from "../../client/contracts.js";
import { btcRelayArtifact, embeddedBatch } from "../../relayer/relay.js";
import { decodeInput, hashToHex } from "../../wasm-tasks/btc-headers/encoding.js";
import { blockHash, validateHeaders } from "../../wasm-tasks/btc-headers/reference.js";
import { fromHex, sharedBtcLines } from "../tasks/helpers.js";
import { keyEnv, removeTempDirs, startHardhatNode, tempDir, truewasm, truewasmRun, type HardhatNode, type LogLine, type Proc } from "../e2e/harness.js";
import { FakeBitcoind } from "./bitcoind.js";

const batch = embeddedBatch(); // 828,576..830,591
const FIRST = 828_576;
const at = (h: number) => batch.headers[h - FIRST];
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => at(a + i));
const CP = 829_580;
const BASE = 829_570; // the source's chain starts below the checkpoint
const stale = fromHex(sharedBtcLines("mainnet_stale.hex").get(829_613)!);
const hashOf = (h: Uint8Array) => hashToHex(blockHash(h));
const RELAYER_KEY = 3;

let hh: HardhatNode;
let dir: string;
let btc: FakeBitcoind;
let relayAddress: string;
const procs: Proc[] = [];

beforeAll(async () => {
  dir = tempDir("relayer-e2e");
  btc = await new FakeBitcoind({ cookieFile: join(dir, ".cookie") }).start();
  btc.setChain(BASE, range(BASE, 829_590));
  hh = await startHardhatNode();
  const deployment = join(dir, "deployment.json");
  const d = await truewasmRun(["deploy", "--rpc", hh.url, "--deployment", deployment, "--k", "4", "--clock", "600"], keyEnv(0));
  expect(d.code, d.stderr).toBe(0);
  const cp = validateHeaders(batch.checkpoint, range(FIRST, CP)).next;
  expect(cp.height).toBe(CP);
  writeFileSync(join(dir, "checkpoint.json"), JSON.stringify(cp));
  const r = await truewasmRun(["btc", "deploy", "--rpc", hh.url, "--deployment", deployment, "--checkpoint", join(dir, "checkpoint.json"), "--confirmations", "1", "--window", "3", "--deadline", "600", "--max-fee", "0.001"], keyEnv(0));
  expect(r.code, r.stderr + r.stdout).toBe(0);
  relayAddress = JSON.parse(r.stdout).relay;
  for (const [role, key] of [["solver", 1], ["challenger", 2]] as const) {
    const p = truewasm(role, [role, "--rpc", hh.url, "--deployment", deployment, "--data-dir", join(dir, role), "--poll-ms", "200"], keyEnv(key));
    procs.push(p);
    await p.waitLog((l) => l.msg === "started");
  }
}, 120_000);

afterAll(async () => {
  for (const p of procs) await p.stop();
  await btc?.stop();
  await hh?.stop();
  removeTempDirs();
});

function relayer(name: string): Proc {
  const p = truewasm(name, [
    "relayer",
    "--rpc", hh.url,
    "--relay", relayAddress,
    "--btc-rpc", btc.url,
    "--btc-rpc-cookie", join(dir, ".cookie"),
    "--batch-size", "8",
    "--lag", "0",
    "--max-delay", "0",
    "--reward", "0.01",
    "--fee", "0.0001",
    "--poll-ms", "200",
    "--data-dir", join(dir, "relayer"),
    "--metrics", "127.0.0.1:0",
  ], keyEnv(RELAYER_KEY));
  procs.push(p);
  return p;
}

async function bestTip(): Promise<{ id: bigint; hash: string; height: number }> {
  const relay = new (await import("ethers")).Contract(relayAddress, btcRelayArtifact().abi, hh.provider);
  const b = await relay.bestTip();
  return { id: b.id, hash: hashToHex(getBytes(b.hash)), height: Number(b.height) };
}

/** Waits until the relay's best tip is `hash`. */
async function bestIs(hash: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const b = await bestTip();
    if (b.hash === hash) return;
    if (Date.now() > until) throw new Error(`the relay's best tip is ${b.height} ${b.hash}, not ${hash}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const submitted = (p: Proc) => p.logs.filter((l) => l.msg === "batch submitted");
const range2 = (l: LogLine) => `${l.first}..${l.last}`;

describe("truewasm relayer against Bitcoin Core's JSON-RPC (real processes)", () => {
  it("follows the source through batches, a kill and restart, a stale branch and back", async () => {
    // 1.
    const r1 = relayer("relayer#1");
    await bestIs(hashOf(at(829_590)));
    expect(submitted(r1).map(range2)).toEqual(["829581..829588", "829589..829590"]);
    expect(submitted(r1).map((l) => l.reason)).toEqual(["full batch", "lag"]);

    // 2. killed right after its submission, started again
    btc.setChain(BASE, range(BASE, 829_600));
    await r1.waitLog((l) => l.msg === "batch submitted" && l.first === 829_591);
    r1.signal("SIGKILL");
    await r1.exit;
    btc.restart(); // a new cookie, as after a bitcoind restart
    const r2 = relayer("relayer#2");
    await bestIs(hashOf(at(829_600)));
    expect(submitted(r2).map(range2)).toEqual(["829599..829600"]);
    expect(r2.logs.some((l) => l.msg === "waiting" && /in flight/.test(String(l.why)))).toBe(true);

    // 3. onto the stale block 829,613
    btc.setChain(BASE, [...range(BASE, 829_612), stale]);
    await bestIs(hashOf(stale));
    expect(submitted(r2).map(range2).slice(1)).toEqual(["829601..829608", "829609..829613"]);

    // 4. back to the main chain, which has more work
    btc.setChain(BASE, range(BASE, 829_616));
    await bestIs(hashOf(at(829_616)));
    const reorg = await r2.waitLog((l) => l.msg === "reorg");
    expect([reorg.fromHeight, reorg.fromHash, reorg.forkHeight, reorg.toHeight]).toEqual([829_613, hashOf(stale), 829_608, 829_616]);
    expect(submitted(r2).map(range2).slice(3)).toEqual(["829609..829616"]);
    expect(submitted(r2).at(-1)!.reason).toBe("reorg");

    // its metrics and health, as a scraper sees them (this process's counts)
    const served = await r2.waitLog((l) => l.msg === "metrics served");
    const base = String(served.url).replace(/\/metrics$/, "");
    const metric = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1]);
    let text = "";
    for (const until = Date.now() + 30_000; ; ) {
      text = await (await fetch(`${base}/metrics`)).text();
      if (metric(text, "truewasm_relayer_relay_height") === 829_616 || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(metric(text, "truewasm_relayer_relay_height")).toBe(829_616);
    expect(metric(text, "truewasm_relayer_source_height")).toBe(829_616);
    expect(metric(text, "truewasm_relayer_lag_blocks")).toBe(0);
    expect(metric(text, "truewasm_relayer_batches_submitted_total")).toBe(submitted(r2).length);
    expect(metric(text, "truewasm_relayer_headers_submitted_total")).toBe(2 + 8 + 5 + 8);
    expect(metric(text, "truewasm_relayer_reorgs_total")).toBe(1);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect((await health.json()).ok).toBe(true);
    r2.signal("SIGTERM");
    expect(await r2.exit).toBe(0);

    // every batch of the relayer's account, from the chain: all distinct
    const iface = new Interface(btcRelayArtifact().abi);
    const market = marketInterface();
    const logs = await hh.provider.getLogs({ address: relayAddress, topics: [iface.getEvent("BatchSubmitted")!.topicHash], fromBlock: 0 });
    const me = new Wallet(hardhatKey(RELAYER_KEY)).address;
    const batches: string[] = [];
    for (const l of logs) {
      const ev = iface.parseLog(l)!;
      expect(ev.args.submitter).toBe(me);
      expect(ev.args.fee).toBe(10n ** 14n);
      const rc = (await hh.provider.getTransactionReceipt(l.transactionHash))!;
      const posted = rc.logs.map((x) => { try { return market.parseLog(x); } catch { return null; } }).find((x) => x?.name === "TaskPosted")!;
      const input = decodeInput(getBytes(posted.args.input));
      const v = validateHeaders(input.checkpoint, input.headers, { dense: true });
      batches.push(`${ev.args.parent}:${input.checkpoint.height + 1}..${v.height}:${v.tipHash}`);
    }
    expect(batches.length).toBe(7);
    expect(new Set(batches).size).toBe(batches.length);
    expect(btc.calls.get("getblockheader")).toBeGreaterThan(0);
  }, 240_000);
});
