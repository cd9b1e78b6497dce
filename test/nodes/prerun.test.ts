/**
 * The challenger runs a task ahead of its reveal: as soon as it sees the task posted, in the
 * background, so that its true result is known when a solution is revealed and the check is a
 * comparison (no machine steps between the reveal and the challenge). A task outside the
 * operator's bounds (`prerunMaxSteps`) is not run ahead but still checked, when it is revealed.
 *
 * In-process Hardhat network, real contracts, a challenger node and a lying solver node (a false
 * output first, the truth after its defeat), both with their machines in the node's thread.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Contracts, Stage } from "../../client/contracts.js";
import { inProcessNetwork, type InProcessNetwork } from "../../client/inprocess.js";
import { createLogger } from "../../client/log.js";
import { compileProgram, DEFAULT_TERMS, ensureRegistered, postTask } from "../../client/tasks.js";
import { TxManager } from "../../client/txs.js";
import { deploy } from "../../client/index.js";
import type { TaskRecord } from "../../client/node.js";
import { startSolver } from "../../solver/solver.js";
import { startChallenger, type ChallengerOptions } from "../../verifier/challenger.js";
import { sleep, until } from "../client/nodes.js";

const ROOT = new URL("../../", import.meta.url).pathname;
let net: InProcessNetwork;
let dir: string;

beforeAll(async () => {
  net = await inProcessNetwork();
  dir = mkdtempSync(join(tmpdir(), "truewasm-prerun-"));
});

afterAll(async () => {
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Line = Record<string, unknown>;

/** The task's steps (sha256d over 8 messages). */
const STEPS = 137_079n;

/** A task (sha256d over 8 messages), a challenger with `opts`, then a lying solver. */
async function scenario(name: string, challengerOpts: Partial<ChallengerOptions>) {
  const d = await deploy(net.wallet(0), { k: 16, clock: 3600 });
  const contracts = new Contracts(net.provider, d);
  const poster = new TxManager(net.provider, net.wallet(0), null, { contracts, pollMs: 20 });
  const program = compileProgram(new Uint8Array(readFileSync(join(ROOT, "wasm-tasks/build/sha256d.wasm"))));
  await ensureRegistered(poster, contracts, program);
  const input = Uint8Array.from({ length: 80 * 8 }, (_, i) => (i * 7 + 3) & 255);
  const { taskId } = await postTask(poster, contracts, net.provider, program.root, input, { ...DEFAULT_TERMS, reward: 10n ** 18n, window: 600 });
  const lines: Line[] = [];
  const log = (who: string) => createLogger({ level: "info", fields: { who }, sink: (s) => void lines.push(JSON.parse(s)) });
  const challenger = startChallenger({ provider: net.provider, wallet: net.wallet(2), deployment: d, dataDir: join(dir, name, "challenger"), pollMs: 50, workers: 0, log: log("challenger"), transcripts: false, ...challengerOpts });
  const startLiar = () => startSolver({ provider: net.provider, wallet: net.wallet(1), deployment: d, dataDir: join(dir, name, "liar"), pollMs: 50, workers: 0, log: log("liar"), transcripts: false, lieOutput: true });
  const find = (who: string, msg: string, pred: (l: Line) => boolean = () => true) => lines.find((l) => l.who === who && l.msg === msg && pred(l));
  return { taskId, contracts, lines, challenger, startLiar, find, task: () => challenger.node.store.get<TaskRecord>("tasks", taskId.toString())! };
}

describe("the challenger runs a task ahead of its reveal", () => {
  it("has its verdict before the reveal; the reveal then costs a comparison (no steps) and the challenge follows", async () => {
    const s = await scenario("ahead", {});
    let liar: ReturnType<typeof s.startLiar> | null = null;
    try {
      // 1. the task is run as soon as it is seen, with no solution anywhere
      const ready = await until("the verdict ready", () => s.find("challenger", "verdict ready"));
      expect(ready.before).toBe("reveal");
      expect((await s.contracts.taskOf(s.taskId)).committed).toBe(false);
      const truth = s.task().truth!;
      expect(truth.by).toBe("prerun");
      expect(truth.steps).toBe(STEPS);
      const stepsBefore = s.challenger.node.stepsExecuted;
      expect(stepsBefore).toBe(Number(STEPS));

      // 2. a lying solver commits and reveals: the challenger challenges without running anything
      liar = s.startLiar();
      const wrong = await until("the solution found wrong", () => s.find("challenger", "solution wrong"));
      expect(wrong.ranAhead).toBe(true);
      const sent = await until("the challenge sent", () => s.find("challenger", "move sent", (l) => String(l.intent).startsWith("challenge:")));
      expect(sent.stepsExecuted).toBe(stepsBefore);

      // 3. the game is played from the run's stored snapshots (reopened from disk: no first pass) and won
      await until("the game won", () => s.find("challenger", "game won"), 120_000);
      expect(s.find("challenger", "snapshots loaded")).toBeTruthy();
      expect(s.lines.filter((l) => l.who === "challenger" && l.msg === "run done")).toHaveLength(1);
      // 4. the liar's recommitment (the truth) is verified by comparison too
      const verified = await until("the recommitment verified", () => s.find("challenger", "solution verified"), 60_000);
      expect(verified.ranAhead).toBe(true);
      expect(s.lines.filter((l) => l.who === "challenger" && l.msg === "run done")).toHaveLength(1);

      // 5. the task is finalized: the challenger's run directory (parked while the task was open) goes
      const runDir = join(s.challenger.node.store.dir, "runs", s.taskId.toString());
      expect(existsSync(runDir)).toBe(true);
      await net.send("evm_increaseTime", [601]);
      await net.send("evm_mine", []);
      await until("the task finalized", async () => (await s.contracts.taskOf(s.taskId)).stage === Stage.Finalized, 60_000);
      await until("the run directory deleted", () => !existsSync(runDir), 30_000);
    } finally {
      await liar?.stop();
      await s.challenger.stop();
    }
  });

  it("a task outside the operator's bounds is not run ahead, and its revealed solution is still checked", async () => {
    const s = await scenario("bounded", { prerunMaxSteps: 1_000_000 });
    let liar: ReturnType<typeof s.startLiar> | null = null;
    try {
      const declined = await until("not run ahead", () => s.find("challenger", "not run ahead"));
      expect(String(declined.reason)).toMatch(/step limit/);
      await sleep(300);
      expect(s.challenger.node.stepsExecuted).toBe(0);
      liar = s.startLiar();
      const wrong = await until("the solution found wrong", () => s.find("challenger", "solution wrong"));
      expect(wrong.ranAhead).toBe(false);
      expect(s.task().truth?.by).toBe("check");
      const sent = await until("the challenge sent", () => s.find("challenger", "move sent", (l) => String(l.intent).startsWith("challenge:")));
      expect(sent.stepsExecuted).toBe(Number(STEPS));
    } finally {
      await liar?.stop();
      await s.challenger.stop();
    }
  });
});
