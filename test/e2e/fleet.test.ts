/**
 * The fleet scenarios (test/e2e/fleet.ts) at test size, and reorgs: real `truewasm` processes on a
 * real `hardhat node`. The 10^8-step, 20-task versions are `npm run bench -- fleet`.
 *
 *   (a) a burst of 8 tasks of mixed sizes (up to 5·10^6 steps), an honest solver, a lying solver on
 *       3 of them, a challenger: every task ends with the right output, every balance is right;
 *   (b) a challenger killed mid-dispute over a 10^7-step task resumes from its snapshots on disk:
 *       the steps it runs before its next move are at most a quarter of the task's;
 *   (c) reorgs (evm_snapshot / evm_revert, then new blocks) across a commit and across a bisection:
 *       the nodes roll back, send the dropped moves again, and the game ends as it should;
 *   (d) a store from another chain (made on a fresh in-process chain) is refused at start.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileProgram } from "../../client/tasks.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexlify } from "ethers";
import { ETH, increaseTime, keyEnv, removeTempDirs, sleepMs, tempDir, truewasm, truewasmRun, type LogLine, type Proc } from "./harness.js";
import { inProcessNetwork } from "../../client/inprocess.js";
import { createLogger } from "../../client/log.js";
import { deploy, startChallenger } from "../../client/index.js";
import { expectedOutput, messagesInput, nodeProc, runFleet, runRestart, startChain, wasmPath, type Chain } from "./fleet.js";

let c: Chain;

beforeAll(async () => {
  c = await startChain(16);
}, 120_000);

afterAll(async () => {
  await c?.hh.stop();
  removeTempDirs();
});

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 11) & 255);

describe("fleet (Hardhat node, separate processes)", () => {
  it("(a) a burst of tasks, an honest solver, a liar on some, a challenger: all correct", async () => {
    const tasks = [
      { program: "sha256d" as const, input: messagesInput(300) },
      { program: "sort" as const, input: bytes(64, 151) },
      { program: "sha256d" as const, input: messagesInput(60) },
      { program: "echo" as const, input: bytes(40, 37) },
      { program: "sha256" as const, input: bytes(300, 13) },
      { program: "sha256d" as const, input: messagesInput(30) },
      { program: "sort" as const, input: bytes(48, 29) },
      { program: "sha256d" as const, input: messagesInput(5) },
    ];
    const r = await runFleet(c, tasks, { workers: 1, timeoutMs: 240_000 });
    expect(r.failures).toEqual([]);
    expect(r.finalizedCorrectly).toBe(tasks.length);
    expect(r.balancesCorrect).toBe(true);
    expect(r.lies).toBe(3);
    expect(r.forfeits).toBe(0);
    // the challenger's metrics endpoint and health check
    expect(r.metrics.healthStatus).toBe(200);
    expect(r.metrics.tasksSeen).toBe(tasks.length);
    expect(r.metrics.challengesSent).toBe(3);
    expect(r.metrics.gamesWon).toBe(3);
    expect(r.metrics.stepsExecuted).toBeGreaterThan(300 * 16_489);
  }, 300_000);

  it("(b) a challenger killed mid-dispute resumes from its snapshots, without a full re-run", async () => {
    const r = await runRestart(c, 600, { workers: 1 });
    expect(r.challengerWon).toBe(true);
    expect(r.restartTaskSteps).toBeGreaterThan(9_000_000);
    expect(r.stepsAfterRestart).toBeLessThanOrEqual(0.25 * r.restartTaskSteps);
  }, 300_000);

  it("(c) reorgs across a commit and across a bisection: rolled back, moves sent again, the game ends right", async () => {
    const dir = tempDir("reorg");
    const input = bytes(64, 97);
    const solverArgs = ["--lie-from-step", "1500", "--workers", "1", "--accept-root", compileProgram(new Uint8Array(readFileSync(wasmPath("sort")))).root];
    // the solver answers slowly (1 s polls), so the test can snapshot the chain before its moves
    const solver = truewasm("reorg/solver", ["solver", "--rpc", c.hh.url, "--deployment", c.deploymentPath, "--data-dir", join(dir, "solver"), "--poll-ms", "1000", ...solverArgs], keyEnv(8));
    const challenger = nodeProc(c, "reorg/challenger", "challenger", 9, join(dir, "challenger"), ["--workers", "1"]);
    const procs: Proc[] = [solver, challenger];
    try {
      await Promise.all(procs.map((p) => p.waitLog((l) => l.msg === "started")));
      const post = truewasm("reorg/post", ["post", "--rpc", c.hh.url, "--deployment", c.deploymentPath, "--program", wasmPath("sort"), "--input-hex", hexlify(input), "--reward", "1", "--solver-bond", "0.5", "--challenger-bond", "0.25", "--window", "600", "--deadline", "86400", "--wait", "--poll-ms", "250", "--timeout", "280"], keyEnv(10));
      const posted = await post.waitLog((l) => l.msg === "task posted");
      const taskId = String(posted.taskId);
      const snap1 = await c.hh.provider.send("evm_snapshot", []);
      // 1. across the commit: the commit (and the challenge) vanish
      await challenger.waitLog((l) => l.msg === "challenged" && String(l.taskId) === taskId, 60_000);
      await c.hh.provider.send("evm_revert", [snap1]);
      for (let i = 0; i < 3; i++) await c.hh.provider.send("evm_mine", []);
      await solver.waitLog((l) => l.msg === "chain reorganised", 30_000);
      await challenger.waitLog((l) => l.msg === "chain reorganised", 30_000);
      await solver.waitLog((l) => l.msg === "tx dropped by a reorg" && String(l.intent).startsWith("commit:"), 30_000);
      // the commit is sent again under the same intent
      const seen = solver.logs.length;
      await solver.waitLog((l) => l.msg === "move sent" && String(l.intent).startsWith("commit:") && solver.logs.indexOf(l) >= seen, 30_000);
      // 2. across a bisection: snapshot after the challenger's first selection, revert after the solver's next bisection
      const sel = challenger.logs.length;
      await challenger.waitLog((l) => l.msg === "selected" && challenger.logs.indexOf(l) >= sel, 60_000);
      const snap2 = await c.hh.provider.send("evm_snapshot", []);
      const bis = solver.logs.length;
      await solver.waitLog((l) => l.msg === "bisected" && solver.logs.indexOf(l) >= bis, 60_000);
      await c.hh.provider.send("evm_revert", [snap2]);
      for (let i = 0; i < 3; i++) await c.hh.provider.send("evm_mine", []);
      await solver.waitLog((l) => l.msg === "tx dropped by a reorg" && String(l.intent).startsWith("bisect:"), 30_000);
      const won = await challenger.waitLog((l) => l.msg === "game won", 120_000);
      expect(won.solverWon).toBe(false);
      await challenger.waitLog((l) => l.msg === "solution verified" && String(l.taskId) === taskId && solver.logs.length > 0, 60_000);
      // the second (true) commitment verified: jump over the window, the poster gets the right output
      const until = Date.now() + 60_000;
      while (!challenger.logs.some((l: LogLine) => l.msg === "solution verified" && String(l.taskId) === taskId && challenger.logs.indexOf(l) > challenger.logs.indexOf(won))) {
        if (Date.now() > until) throw new Error("no verdict on the second commitment");
        await sleepMs(200);
      }
      await increaseTime(c.hh.provider, 601);
      expect(await post.exit, post.stderrText).toBe(0);
      const result = JSON.parse(post.stdout);
      expect(result.result.stage).toBe("finalized");
      expect(result.result.output).toBe(expectedOutput("sort", input));
      // both rolled their records back at least once (the second reorg may come before a node has
      // applied the dropped block's events: then only the dropped transaction shows it, as above)
      const reorgs = [solver, challenger].map((p) => p.logs.filter((l) => l.msg === "chain reorganised").length);
      expect(Math.min(...reorgs)).toBeGreaterThanOrEqual(1);
      expect(solver.logs.filter((l) => l.msg === "tx dropped by a reorg").map((l) => String(l.intent).split(":")[0])).toEqual(expect.arrayContaining(["commit", "bisect"]));
    } finally {
      for (const p of procs) await p.stop();
    }
  }, 300_000);

  it("(d) a store from another chain is refused at start, saying what to do", async () => {
    // a store made on another chain (a fresh in-process one: its own genesis, as after a restarted
    // development node), then a challenger started with it on this chain
    const net = await inProcessNetwork();
    const dir = tempDir("mismatch");
    try {
      const d2 = await deploy(net.wallet(0), { k: 16 });
      let started = () => {};
      const log = createLogger({ sink: (line) => JSON.parse(line).msg === "started" && started() });
      const first = startChallenger({ provider: net.provider, wallet: net.wallet(11), deployment: d2, dataDir: join(dir, "store"), workers: 0, log });
      await new Promise<void>((r) => (started = r));
      await first.stop();
    } finally {
      await net.close();
    }
    const r = await truewasmRun(["challenger", "--rpc", c.hh.url, "--deployment", c.deploymentPath, "--data-dir", join(dir, "store"), "--workers", "0"], keyEnv(11));
    expect(r.code).not.toBe(0);
    expect(r.stderr + JSON.stringify(r.logs)).toMatch(/does not belong to this chain.*move the directory away/);
  }, 120_000);
});
void ETH;
