/**
 * A dispute over a C float task: wasm-tasks/stats (scanf, doubles, printf; a WASI command) posted
 * on an in-process network (the real-process protocol is covered by test/e2e/), a LYING solver
 * node and an honest challenger node. The liar's roots are made up from one chosen step on; the
 * challenger re-runs the task, bisects down to that step and proves it on-chain with the one-step
 * prover; the liar's bond is taken, the task reopens, the true result (output and exit code) is
 * committed, finalized and read back.
 *
 * - the lie starts at a float instruction (inside scanf's strtod), which the challenger proves with
 *   the prover's float unit;
 * - a lie in the output only: the game ends at the last step, the adapter's Exit (proc_exit(1):
 *   the input has a token that is not a number), and the finalized exit code is 1.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gameEvents, taskEvents, type EventOf } from "../../client/chain.js";
import {
  compileProgram,
  Contracts,
  DEFAULT_TERMS,
  deploy,
  ensureRegistered,
  inProcessNetwork,
  postTask,
  startChallenger,
  startSolver,
  TxManager,
  waitForResult,
  type ChallengerNode,
  type Deployment,
  type InProcessNetwork,
  type NodeHandle,
  type SolverNode,
  type SolverOptions,
} from "../../client/index.js";
import type { CompiledProgram } from "../../client/tasks.js";
import { IS_FLOAT_NUMERIC } from "../../interpreter/float.js";
import { Op, Status } from "../../interpreter/isa.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { balances, NodeLogs, payoutsSince } from "../client/nodes.js";
import { buildC, noToolchain } from "./helpers.js";

const REWARD = 10n ** 18n / 20n;
const WINDOW = 600;
const enc = (s: string) => new TextEncoder().encode(s);

describe.skipIf(noToolchain)("a C float task (WASI) disputed: the lying solver is slashed, the true output and exit code finalized (in-process nodes)", () => {
  let net: InProcessNetwork;
  let d: Deployment;
  let contracts: Contracts;
  let posterTxs: TxManager;
  let posterW: Wallet, solverW: Wallet, challengerW: Wallet;
  let program: CompiledProgram;
  let solver: NodeHandle<SolverNode> | undefined;
  let challenger: NodeHandle<ChallengerNode>;
  let dirs: string;
  const logs = new NodeLogs();

  beforeAll(async () => {
    net = await inProcessNetwork();
    dirs = mkdtempSync(join(tmpdir(), "truewasm-wasi-dispute-"));
    [posterW, solverW, challengerW] = [net.wallet(0), net.wallet(1), net.wallet(2)];
    d = await deploy(posterW, { k: 16, clock: 86_400, burnBps: 5_000 });
    contracts = new Contracts(net.provider, d);
    posterTxs = new TxManager(net.provider, posterW, null, { contracts, pollMs: 10 });
    program = compileProgram(buildC("wasm-tasks/stats/stats.c"));
    await ensureRegistered(posterTxs, contracts, program);
    challenger = startChallenger({ provider: net.provider, deployment: d, pollMs: 20, log: logs.log, wallet: challengerW, dataDir: join(dirs, "challenger") });
  });

  afterAll(async () => {
    await solver?.stop().catch(() => {});
    await challenger?.stop().catch(() => {});
    await net?.close();
    if (dirs) rmSync(dirs, { recursive: true, force: true });
  });

  /** Posts stats on `input` against a solver that lies as `lie` says; returns the game's facts. */
  async function dispute(input: Uint8Array, lie: Pick<SolverOptions, "lieOutput" | "lieFromStep">) {
    await solver?.stop();
    solver = startSolver({ provider: net.provider, deployment: d, pollMs: 20, log: logs.log, wallet: solverW, dataDir: join(dirs, `solver-${Date.now()}`), acceptRoots: [program.root], ...lie });
    const accounts = [posterW.address, solverW.address, challengerW.address];
    const startBlock = await net.provider.getBlockNumber();
    const before = await balances(net.provider, accounts);
    const seen = logs.since();

    const terms = { ...DEFAULT_TERMS, window: WINDOW, reward: REWARD };
    const { taskId } = await postTask(posterTxs, contracts, net.provider, program.root as `0x${string}`, input, terms);
    await logs.until(`the lying solver's defeat on task ${taskId}`, () => seen("solver", "solution defeated", taskId), 120_000);
    await logs.until(`the true result of task ${taskId} verified`, () => seen("challenger", "solution verified", taskId), 120_000);
    await net.send("evm_increaseTime", [WINDOW + 1]);
    await net.send("evm_mine", []);
    const result = await waitForResult(net.provider, contracts, d, taskId, { pollMs: 25, timeoutMs: 60_000 });
    await logs.withdrawn(contracts, [solver.node, challenger.node]);

    const events = await taskEvents(net.provider, contracts, taskId, d.block);
    const challenges = events.filter((e): e is EventOf<"Challenged"> => e.kind === "Challenged");
    expect(challenges.map((c) => c.challenger)).toEqual([challengerW.address]);
    const game = await gameEvents(net.provider, contracts, challenges[0].gameId, d.block);
    expect(game.filter((e) => e.kind === "GameResolved")).toMatchObject([{ solverWon: false, timeout: false }]);
    expect(events.filter((e) => e.kind === "SolutionDefeated").map((e) => (e as EventOf<"SolutionDefeated">).solver)).toEqual([solverW.address]);
    expect(seen("challenger", "step proven wrong")).toBe(true);
    const last = game.filter((e): e is EventOf<"Selected"> => e.kind === "Selected").at(-1)!;

    // the money: the liar lost its bond (the challenger's bond back and its gas refunded from it)
    const payouts = await payoutsSince(net.provider, accounts, startBlock, before);
    const refunds = events.filter((e): e is EventOf<"ChallengerPaid"> => e.kind === "ChallengerPaid").reduce((a, e) => a + e.refund, 0n);
    expect(refunds).toBeGreaterThan(0n);
    expect(payouts).toEqual([-REWARD, REWARD - terms.solverBond, refunds]);
    return { result, provenStep: last.hi, width: last.hi - last.lo };
  }

  /** The machine's run of the task: the number of the step (the pre-state's step count) that runs an instruction `pick` selects, and the result. */
  function locally(input: Uint8Array, pick: (op: number) => boolean, nth = 0) {
    const m = Machine.forTask(compile(program.wasm), input, DEFAULT_TERMS.limits);
    let found = -1;
    let seen = 0;
    while (m.status === Status.Running) {
      if (found < 0 && pick(m.program.code[m.pc * 4]) && seen++ === nth) found = m.steps;
      m.step();
    }
    return { found, exitCode: m.exitCode, output: new TextDecoder().decode(m.output()), steps: m.steps };
  }

  it("a lie from a float step: the game proves that very step", async () => {
    const input = enc("3.5 -2 7.25 1e3 0.125\n");
    // the 200th float instruction (inside scanf's strtod)
    const local = locally(input, (op) => IS_FLOAT_NUMERIC[op] === 1, 200);
    expect(local.found).toBeGreaterThan(0);
    expect(local.exitCode).toBe(0);
    const { result, provenStep, width } = await dispute(input, { lieFromStep: BigInt(local.found + 1) });
    // bisected to one step: the one from the last agreed state (local.found) to the first lie
    expect([width, provenStep]).toEqual([1n, BigInt(local.found + 1)]);
    expect(result).toMatchObject({ stage: "finalized", status: "halted", exitCode: 0, solver: solverW.address });
    expect(new TextDecoder().decode(Buffer.from(result.output!.slice(2), "hex"))).toBe(local.output);
    expect(local.output).toContain("sum 1008.875\nmean 201.77500000000001\n");
  });

  it("a lie in the output only: the game ends at proc_exit's Exit step; the finalized exit code is 1", async () => {
    const input = enc("1.5 2.25 oops\n");
    const local = locally(input, (op) => op === Op.Exit);
    expect(local.exitCode).toBe(1);
    expect(local.found).toBe(local.steps - 1); // Exit is the last step
    const { result, provenStep, width } = await dispute(input, { lieOutput: true });
    expect([width, provenStep]).toEqual([1n, BigInt(local.steps)]);
    expect(result).toMatchObject({ stage: "finalized", status: "halted", exitCode: 1, solver: solverW.address });
    expect(new TextDecoder().decode(Buffer.from(result.output!.slice(2), "hex"))).toBe("error: token 3 is not a number\n");
  });
});
