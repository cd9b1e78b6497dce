/**
 * End to end, with real processes (docs/GAME.md § Incentives): a Hardhat node, `truewasm deploy`, a
 * lying solver node and two honest challenger nodes as separate `truewasm` processes, a task posted
 * with `truewasm post --wait`. Both challengers dispute the false result; whichever game ends first
 * defeats it, the other challenger's game is released; the solver then commits the true result,
 * which is finalized.
 *
 * Checked from the chain: both challengers are paid (`ChallengerPaid`), each its bond back and exactly
 * the fees of every transaction it sent for its challenge (so that, after withdrawing, each is down
 * only its withdrawals' fees); the liar's bond pays those refunds and the rest is burnt; the poster
 * gets the true output; every account's ETH change is its payouts minus its fees.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexlify } from "ethers";
import type { Contracts } from "../../client/contracts.js";
import { taskEvents, type EventOf } from "../../client/chain.js";
import { accountAddress, deployedChain, ETH, expectedOutput, increaseTime, keyEnv, removeTempDirs, sleepMs, taskWasm, tempDir, truewasm, type HardhatNode, type LogLine } from "./harness.js";

const WINDOW = 120;
const REWARD = ETH;
const SOLVER_BOND = ETH / 2n;
const CHALLENGER_BOND = ETH / 4n;

let hh: HardhatNode;
let dir: string;
let deploymentPath: string;
let contracts: Contracts;

beforeAll(async () => {
  ({ hh, dir, deploymentPath, contracts } = await deployedChain("incentives"));
}, 120_000);

afterAll(async () => {
  await hh?.stop();
  removeTempDirs();
});

/** Every transaction each account sent in blocks (from, to]: its receipt and the market/game function called. */
async function sentBy(accounts: string[], from: number, to: number): Promise<Map<string, { fn: string; fee: bigint; ok: boolean }[]>> {
  const out = new Map(accounts.map((a) => [a.toLowerCase(), [] as { fn: string; fee: bigint; ok: boolean }[]]));
  for (let n = from + 1; n <= to; n++) {
    const block = await hh.provider.getBlock(n, true);
    for (const tx of block!.prefetchedTransactions) {
      const list = out.get(tx.from.toLowerCase());
      if (!list) continue;
      const r = (await hh.provider.getTransactionReceipt(tx.hash))!;
      let fn = "?";
      for (const iface of [contracts.marketIface, contracts.gameIface]) {
        try {
          fn = iface.parseTransaction({ data: tx.data })?.name ?? fn;
        } catch {
          // not this contract's
        }
      }
      list.push({ fn, fee: r.gasUsed * r.gasPrice, ok: r.status === 1 });
    }
  }
  return out;
}

describe("a lying solver against two honest challenger nodes (Hardhat node, separate processes)", () => {
  it("both challengers are paid their bond and gas from the liar's bond; the true result is finalized", async () => {
    const roles = { poster: 16, solver: 17, challengers: [18, 19] };
    const data = tempDir("incentives-run");
    const nodeArgs = (role: "solver" | "challenger", name: string, extra: string[]) => [role, "--rpc", hh.url, "--deployment", deploymentPath, "--data-dir", join(data, name), "--poll-ms", "200", ...extra];
    const accounts = [roles.poster, roles.solver, ...roles.challengers].map(accountAddress);
    const startBlock = await hh.provider.getBlockNumber();
    const before = await Promise.all(accounts.map((a) => hh.provider.getBalance(a)));
    const burnt0: bigint = await contracts.market.burnt();

    const solver = truewasm("solver", nodeArgs("solver", "solver", ["--lie-from-step", "600"]), keyEnv(roles.solver));
    const challengers = roles.challengers.map((k, i) => truewasm(`challenger${i + 1}`, nodeArgs("challenger", `challenger${i + 1}`, []), keyEnv(k)));
    await Promise.all([solver, ...challengers].map((p) => p.waitLog((l) => l.msg === "started")));
    const input = Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 255);
    const post = truewasm(
      "post",
      ["post", "--rpc", hh.url, "--deployment", deploymentPath, "--program", taskWasm("sort"), "--input-hex", hexlify(input), "--reward", "1", "--solver-bond", "0.5", "--challenger-bond", "0.25", "--window", String(WINDOW), "--deadline", "3600", "--wait", "--poll-ms", "200", "--timeout", "200"],
      keyEnv(roles.poster),
    );
    const posted = await post.waitLog((l) => l.msg === "task posted");
    const taskId = String(posted.taskId);
    const forTask = (msg: string) => (l: LogLine) => l.msg === msg && String(l.taskId) === taskId;

    // both challengers dispute the false result; one wins its game, the other's is released
    await Promise.all(challengers.map((c) => c.waitLog(forTask("challenged"), 60_000)));
    await Promise.race(challengers.map((c) => c.waitLog((l) => l.msg === "game won", 120_000)));
    await Promise.all(challengers.map((c) => c.waitLog(forTask("paid for a challenge"), 60_000)));
    // the solver's second, true commitment is verified by both; the window is jumped over
    await Promise.all(challengers.map((c) => c.waitLog(forTask("solution verified"), 60_000)));
    await increaseTime(hh.provider, WINDOW + 1);
    expect(await post.exit, post.stderrText + JSON.stringify(post.logs.slice(-5))).toBe(0);
    const result = JSON.parse(post.stdout).result;
    expect(result).toMatchObject({ stage: "finalized", status: "halted", output: expectedOutput("sort", input), solver: accountAddress(roles.solver) });

    // everyone withdraws what it is owed
    for (let until = Date.now() + 30_000; ; ) {
      const owed = await Promise.all(accounts.slice(1).map((a) => contracts.balanceOf(a)));
      if (owed.every((x) => x === 0n)) break;
      if (Date.now() > until) throw new Error(`still owed: ${owed}`);
      await sleepMs(200);
    }
    for (const p of [solver, ...challengers]) expect(await p.stop()).toBe(0);
    const end = await hh.provider.getBlockNumber();

    // the chain: two challenges of the false result, one defeat, both challengers paid
    const events = await taskEvents(hh.provider, contracts, BigInt(taskId), startBlock);
    const challenged = events.filter((e): e is EventOf<"Challenged"> => e.kind === "Challenged");
    expect(challenged.map((e) => e.challenger).sort()).toEqual(accounts.slice(2).sort());
    expect(events.filter((e) => e.kind === "SolutionDefeated")).toHaveLength(1);
    const paid = events.filter((e): e is EventOf<"ChallengerPaid"> => e.kind === "ChallengerPaid");
    expect(paid.map((e) => e.challenger).sort()).toEqual(accounts.slice(2).sort());
    const refundOf = (a: string) => paid.filter((e) => e.challenger === a).reduce((x, e) => x + e.refund, 0n);

    // money: each challenger's refund is the fees of the transactions it sent for its challenge
    // (challenge, selections, proof or timeout, release); its ETH is down only its withdrawals' fees
    const sent = await sentBy(accounts, startBlock, end);
    const after = await Promise.all(accounts.map((a) => hh.provider.getBalance(a)));
    const fees = accounts.map((a) => sent.get(a.toLowerCase())!.reduce((x, t) => x + t.fee, 0n));
    const lines: string[] = [];
    for (const [j, a] of accounts.slice(2).entries()) {
      const i = j + 2;
      const txs = sent.get(a.toLowerCase())!;
      const forChallenge = txs.filter((t) => t.ok && t.fn !== "withdraw").reduce((x, t) => x + t.fee, 0n);
      const withdrawals = txs.filter((t) => t.fn === "withdraw").reduce((x, t) => x + t.fee, 0n);
      const reverted = txs.filter((t) => !t.ok);
      expect(refundOf(a), `challenger ${j + 1}: refund = fees of its challenge's transactions`).toBe(forChallenge);
      expect(after[i] - before[i], `challenger ${j + 1}: down only its withdrawals (and any reverted move)`).toBe(-withdrawals - reverted.reduce((x, t) => x + t.fee, 0n));
      lines.push(`challenger ${j + 1}: ${txs.filter((t) => t.ok && t.fn !== "withdraw").map((t) => t.fn).join(", ")}; refund ${refundOf(a)} wei = its fees; ${reverted.length} reverted`);
    }
    // the poster paid the reward; the solver got the reward and lost one bond
    expect(after[0] - before[0]).toBe(-REWARD - fees[0]);
    expect(after[1] - before[1]).toBe(REWARD - SOLVER_BOND - fees[1]);
    // the liar's bond paid both refunds, the rest was burnt
    const refunds = paid.reduce((x, e) => x + e.refund, 0n);
    expect((await contracts.market.burnt()) - burnt0).toBe(SOLVER_BOND - refunds);
    void CHALLENGER_BOND;
    console.log(`incentives e2e: ${lines.join("; ")}; burnt ${SOLVER_BOND - refunds} of the liar's ${SOLVER_BOND}`);
  }, 300_000);
});
