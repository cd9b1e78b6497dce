/**
 * End to end: a Hardhat node process, `truewasm deploy`, then per scenario a solver and a challenger
 * as separate `truewasm` processes and a task posted with `truewasm post --wait`:
 *
 *   (a) honest solver, honest challenger: no dispute;
 *   (b) lying solver beaten by an honest challenger (then the solver commits the true result);
 *   (c) honest solver beating a lying challenger (--challenge-correct);
 *   (d) as (b), with the solver and then the challenger killed (SIGKILL) and restarted mid-game.
 *
 * Each checks the task's output against the interpreter, that nobody is owed anything at the end
 * (everything withdrawn), and every account's ETH balance change: exactly the expected payouts minus
 * the fees of the transactions it sent. The challenge window is jumped over with evm_increaseTime
 * once the relevant node has logged what it did.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexlify } from "ethers";
import type { Contracts } from "../../client/contracts.js";
import { taskEvents, type EventOf } from "../../client/chain.js";
import { accountAddress, deployedChain, ETH, expectedOutput, feesPaid, flakyProxy, increaseTime, keyEnv, sleepMs, removeTempDirs, taskWasm, tempDir, truewasm, truewasmRun, type HardhatNode, type LogLine, type Proc } from "./harness.js";

const WINDOW = 120;
const REWARD = ETH;
const SOLVER_BOND = ETH / 2n;
const CHALLENGER_BOND = ETH / 4n;
const BURN = 5000n;

let hh: HardhatNode;
let dir: string;
let deploymentPath: string;
let contracts: Contracts;

beforeAll(async () => {
  ({ hh, dir, deploymentPath, contracts } = await deployedChain("e2e"));
}, 120_000);

afterAll(async () => {
  await hh?.stop();
  removeTempDirs();
});

interface Roles {
  poster: number;
  solver: number;
  challenger: number;
}

interface Run {
  roles: Roles;
  taskId: string;
  startBlock: number;
  before: bigint[];
  solver: Proc;
  challenger: Proc;
  post: Proc;
  dataDir: string;
}

function nodeArgs(role: "solver" | "challenger", dataDir: string, extra: string[], rpc = hh.url): string[] {
  return [role, "--rpc", rpc, "--deployment", deploymentPath, "--data-dir", join(dataDir, role), "--poll-ms", "200", ...extra];
}

async function begin(name: string, roles: Roles, task: string, input: Uint8Array, solverArgs: string[], challengerArgs: string[], rpc = hh.url): Promise<Run> {
  const dataDir = tempDir(name);
  const startBlock = await hh.provider.getBlockNumber();
  const before = await Promise.all([roles.poster, roles.solver, roles.challenger].map((i) => hh.provider.getBalance(accountAddress(i))));
  const solver = truewasm(`${name}/solver`, nodeArgs("solver", dataDir, solverArgs, rpc), keyEnv(roles.solver));
  const challenger = truewasm(`${name}/challenger`, nodeArgs("challenger", dataDir, challengerArgs, rpc), keyEnv(roles.challenger));
  await Promise.all([solver.waitLog((l) => l.msg === "started"), challenger.waitLog((l) => l.msg === "started")]);
  const post = truewasm(
    `${name}/post`,
    ["post", "--rpc", hh.url, "--deployment", deploymentPath, "--program", taskWasm(task), "--input-hex", hexlify(input), "--reward", "1", "--solver-bond", "0.5", "--challenger-bond", "0.25", "--window", String(WINDOW), "--deadline", "3600", "--wait", "--poll-ms", "200", "--timeout", "150"],
    keyEnv(roles.poster),
  );
  const posted = await post.waitLog((l) => l.msg === "task posted");
  return { roles, taskId: String(posted.taskId), startBlock, before, solver, challenger, post, dataDir };
}

const forTask = (r: Run, msg: string) => (l: LogLine) => l.msg === msg && String(l.taskId) === r.taskId;

/** Waits for the post to report the output, for everyone to withdraw, stops the nodes; checks money. */
async function finish(r: Run, task: string, input: Uint8Array, expected: { solver: bigint; challenger: bigint }): Promise<void> {
  expect(await r.post.exit, r.post.stderrText + JSON.stringify(r.post.logs.slice(-5))).toBe(0);
  const result = JSON.parse(r.post.stdout);
  expect(result.result.stage).toBe("finalized");
  expect(result.result.status).toBe("halted");
  expect(result.result.output).toBe(expectedOutput(task, input));
  expect(result.result.solver).toBe(accountAddress(r.roles.solver));
  // nobody is owed anything once the nodes have withdrawn
  const until = Date.now() + 30_000;
  for (;;) {
    const owed = await Promise.all([r.roles.solver, r.roles.challenger].map((i) => contracts.balanceOf(accountAddress(i))));
    if (owed.every((x) => x === 0n)) break;
    if (Date.now() > until) throw new Error(`still owed: ${owed}`);
    await sleepMs(200);
  }
  expect(await r.solver.stop()).toBe(0);
  expect(await r.challenger.stop()).toBe(0);
  const end = await hh.provider.getBlockNumber();
  const accounts = [r.roles.poster, r.roles.solver, r.roles.challenger].map(accountAddress);
  const fees = await feesPaid(hh.provider, accounts, r.startBlock, end);
  const after = await Promise.all(accounts.map((a) => hh.provider.getBalance(a)));
  const fee = (i: number) => fees.get(accounts[i].toLowerCase())!;
  expect(after[0] - r.before[0]).toBe(-REWARD - fee(0));
  expect(after[1] - r.before[1]).toBe(expected.solver - fee(1));
  expect(after[2] - r.before[2]).toBe(expected.challenger - fee(2));
}

const burnt = (x: bigint) => x - (x * BURN) / 10_000n;

/** What the liar's bond refunded to the challengers of task r (their gas; docs/GAME.md). */
async function refunds(r: Run): Promise<bigint> {
  const events = await taskEvents(hh.provider, contracts, BigInt(r.taskId), r.startBlock);
  return events.filter((e): e is EventOf<"ChallengerPaid"> => e.kind === "ChallengerPaid").reduce((a, e) => a + e.refund, 0n);
}

describe("solver and challenger nodes (Hardhat node, separate processes)", () => {
  it("(a) honest solver: no dispute", async () => {
    const input = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 255);
    const r = await begin("a", { poster: 1, solver: 2, challenger: 3 }, "echo", input, [], []);
    await r.challenger.waitLog(forTask(r, "solution verified"));
    await increaseTime(hh.provider, WINDOW + 1);
    await finish(r, "echo", input, { solver: REWARD, challenger: 0n });
    expect(r.challenger.logs.some((l) => l.msg === "challenged")).toBe(false);
  }, 150_000);

  it("(b) lying solver beaten by an honest challenger", async () => {
    const input = Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 255);
    const r = await begin("b", { poster: 4, solver: 5, challenger: 6 }, "sort", input, ["--lie-from-step", "700"], []);
    await r.challenger.waitLog(forTask(r, "solution wrong"));
    await r.challenger.waitLog((l) => l.msg === "game won", 90_000);
    await r.challenger.waitLog(forTask(r, "solution verified"), 30_000); // the solver's second, true commitment
    await increaseTime(hh.provider, WINDOW + 1);
    await finish(r, "sort", input, { solver: REWARD - SOLVER_BOND, challenger: await refunds(r) });
    const status = await truewasmRun(["status", r.taskId, "--rpc", hh.url, "--deployment", deploymentPath]);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout);
    expect(s.stage).toBe("finalized");
    expect(s.games).toHaveLength(1);
    expect(s.games[0].result).toEqual({ solverWon: false, timeout: false });
    expect(s.commitments).toHaveLength(2);
  }, 150_000);

  it("(c) honest solver beating a lying challenger", async () => {
    const input = new TextEncoder().encode("the quick brown fox jumps");
    const r = await begin("c", { poster: 7, solver: 8, challenger: 9 }, "sha256", input, [], ["--challenge-correct"]);
    await r.challenger.waitLog(forTask(r, "challenged"));
    await r.solver.waitLog((l) => l.msg === "game won", 90_000);
    await increaseTime(hh.provider, WINDOW + 1);
    await finish(r, "sha256", input, { solver: REWARD + burnt(CHALLENGER_BOND), challenger: -CHALLENGER_BOND });
    expect(r.solver.logs.some((l) => l.msg === "step proven")).toBe(true);
  }, 150_000);

  it("(d) as (b), with the solver and then the challenger killed and restarted mid-game", async () => {
    const input = Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 3) & 255);
    const r = await begin("d", { poster: 10, solver: 11, challenger: 12 }, "sort", input, ["--lie-from-step", "1500"], []);
    const sArgs = nodeArgs("solver", r.dataDir, ["--lie-from-step", "1500"]);
    const cArgs = nodeArgs("challenger", r.dataDir, []);
    // kill the solver right after its first bisection, start it again
    await r.solver.waitLog((l) => l.msg === "bisected", 60_000);
    r.solver.signal("SIGKILL");
    await r.solver.exit;
    r.solver = truewasm("d/solver#2", sArgs, keyEnv(r.roles.solver));
    await r.solver.waitLog((l) => l.msg === "started");
    // then the challenger, right after its next selection
    const seen = r.challenger.logs.length;
    await r.challenger.waitLog((l) => l.msg === "selected" && r.challenger.logs.indexOf(l) >= seen, 60_000);
    r.challenger.signal("SIGKILL");
    await r.challenger.exit;
    expect(r.challenger.logs.some((l) => l.msg === "game won")).toBe(false); // killed mid-game
    r.challenger = truewasm("d/challenger#2", cArgs, keyEnv(r.roles.challenger));
    const won = await r.challenger.waitLog((l) => l.msg === "game won", 90_000);
    expect(won.solverWon).toBe(false);
    await r.challenger.waitLog(forTask(r, "solution verified"), 30_000);
    await increaseTime(hh.provider, WINDOW + 1);
    await finish(r, "sort", input, { solver: REWARD - SOLVER_BOND, challenger: await refunds(r) });
    // the restarted solver carried on from its store: no second lie, the game resumed where it was
    expect(r.solver.logs.some((l) => l.msg === "committing" && l.lie === true)).toBe(false);
    // the transcript written by the restarted challenger replays on fresh contracts
    const written = r.challenger.logs.find((l) => l.msg === "transcript written");
    expect(written).toBeDefined();
    const replay = await truewasmRun(["replay", String(written!.path)]);
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout).holds).toBe(true);
  }, 180_000);

  it("(e) dropped RPC connections: the game completes and no transaction is sent twice", async () => {
    const proxy = await flakyProxy(hh.url, { dropBefore: 0.08, dropAfter: 0.08, seed: 7 });
    try {
      const input = Uint8Array.from({ length: 48 }, (_, i) => (i * 29 + 5) & 255);
      const roles = { poster: 13, solver: 14, challenger: 15 };
      const nonces = await Promise.all([roles.solver, roles.challenger].map((i) => hh.provider.getTransactionCount(accountAddress(i))));
      const r = await begin("e", roles, "sort", input, ["--lie-from-step", "900"], [], proxy.url);
      await r.challenger.waitLog((l) => l.msg === "game won", 120_000);
      await r.challenger.waitLog(forTask(r, "solution verified"), 60_000);
      await increaseTime(hh.provider, WINDOW + 1);
      await finish(r, "sort", input, { solver: REWARD - SOLVER_BOND, challenger: await refunds(r) });
      expect(proxy.stats.droppedBefore + proxy.stats.droppedAfter).toBeGreaterThan(0);
      expect(proxy.stats.rawTxAnswersDropped).toBeGreaterThan(0);
      // every transaction on chain is one of the store's intents: nothing was sent twice
      for (const [i, role] of [[0, "solver"], [1, "challenger"]] as const) {
        const records = readdirSync(join(r.dataDir, role, "txs")).map((f) => JSON.parse(readFileSync(join(r.dataDir, role, "txs", f), "utf8")));
        const sent = (await hh.provider.getTransactionCount(accountAddress([roles.solver, roles.challenger][i]))) - nonces[i];
        // (a record may still say "sent" when the node stopped while waiting for an answer: its
        // receipt decides; the next start would settle it the same way)
        for (const x of records) expect((await hh.provider.getTransactionReceipt(x.hash))?.status, x.intent).toBe(1);
        expect(sent).toBe(records.length);
      }
      expect([...r.solver.logs, ...r.challenger.logs].some((l) => l.msg === "rpc retry")).toBe(true);
    } finally {
      await proxy.close();
    }
  }, 180_000);
});
