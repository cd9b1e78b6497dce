/**
 * Invalid header batches rejected through the relay after a verification game, on an in-process
 * network with the node software (client/index.ts, relayer/relay.ts — as the demo, relayer/demo.ts):
 * the market and BtcRelay deployed on the embedded checkpoint (828,575), a LYING solver node and an
 * honest challenger node polling fast. For each of the three rules that can fail in dense mode
 * (docs/RELAY.md: pow, time, version) a 6-header slice of the embedded real batch is made invalid
 * at one index and submitted through BtcRelay. The solver commits a false output (`lieOutput`),
 * the challenger re-runs the task, challenges, bisects to the last step and proves it wrong; the
 * liar's bond is taken, the task reopens, the solver commits the true result (valid = 0, the rule,
 * the failed index), the window passes, the solver finalizes and the market calls the relay back:
 * BatchRejected, no tip stored, the best tip unchanged.
 *
 * The false output. `lieOutput` flips the first output byte (client/encoding.ts `falseClaim`): on an
 * invalid batch that makes `valid` 0x4c, which the relay would reject too, so a lie that won would
 * not show on the relay. Here the solver's falseOutput option makes it lie the way a
 * dishonest solver would: "the batch is valid" (valid = 1, rule 0, no failed index; the rest of the
 * true output: its valid prefix as the new tip, more chain work than the best tip). Had the liar
 * won, the relay would have stored that tip and made it best.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBytes, type Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gameEvents, taskEvents, type EventOf } from "../../client/chain.js";
import {
  compileProgram,
  Contracts,
  deploy,
  ensureRegistered,
  inProcessNetwork,
  startChallenger,
  startSolver,
  Stage,
  TxManager,
  waitForResult,
  type ChallengerNode,
  type Deployment,
  type InProcessNetwork,
  type NodeHandle,
  type SolverNode,
} from "../../client/index.js";
import { BTC_HEADERS_WASM, DEFAULT_RELAY_CONFIG, embeddedBatch, RelayClient } from "../../relayer/relay.js";
import { type BtcResult, decodeOutput, headerFields, Rule, type RuleName } from "../../wasm-tasks/btc-headers/encoding.js";
import { medianTime, validateHeaders, validateInput } from "../../wasm-tasks/btc-headers/reference.js";
import { balances, NodeLogs, payoutsSince } from "../client/nodes.js";

// The lying solver claims "valid": its false output is the true one with valid = 1, rule = 0 and
// failed index 0xffffffff (see the header comment). Applies to every falseClaim in this file's
// module graph, i.e. the solver node's.
/** The lie: "the batch is valid" (valid = 1, rule 0, no failed index; the rest of the true output). */
const claimValid = (truth: Uint8Array): Uint8Array => {
  const out = truth.slice();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint32(0, 1, true);
  dv.setUint32(4, 0, true);
  dv.setUint32(8, 0xffffffff, true);
  return out;
};

const COUNT = 6;
const REWARD = 10n ** 18n / 20n;
const config = { ...DEFAULT_RELAY_CONFIG };
const batch = embeddedBatch();
const cp = batch.checkpoint;
const slice = batch.headers.slice(0, COUNT);

/** A copy of header `h` with the u32 at `off` (little-endian) set to `v`. */
const withField = (h: Uint8Array, off: number, v: number): Uint8Array => {
  const c = Uint8Array.from(h);
  new DataView(c.buffer).setUint32(off, v >>> 0, true);
  return c;
};

/** The three invalid variants: [rule, index of the bad header, the bad header]. */
const VARIANTS: [RuleName, number, Uint8Array][] = (() => {
  const pow = 1;
  const time = 3;
  const version = 5;
  // the median of the 11 timestamps before header `time` (the checkpoint's and the batch's)
  const prev = [...cp.timestamps, ...slice.slice(0, time).map((h) => headerFields(h).time)].slice(-11);
  return [
    ["pow", pow, withField(slice[pow], 76, headerFields(slice[pow]).nonce + 1)],
    ["time", time, withField(slice[time], 68, medianTime(prev))],
    ["version", version, withField(slice[version], 0, 3)], // BIP65 height: version ≥ 4
  ];
})();

describe("BtcRelay: invalid batches rejected with the right rule after a game against a lying solver (in-process nodes)", () => {
  let net: InProcessNetwork;
  let d: Deployment;
  let contracts: Contracts;
  let relay: RelayClient;
  let submitterTxs: TxManager;
  let submitterW: Wallet, solverW: Wallet, challengerW: Wallet;
  let solver: NodeHandle<SolverNode>;
  let challenger: NodeHandle<ChallengerNode>;
  let dirs: string;
  const logs = new NodeLogs();

  beforeAll(async () => {
    net = await inProcessNetwork();
    dirs = mkdtempSync(join(tmpdir(), "truewasm-relay-dispute-"));
    [submitterW, solverW, challengerW] = [net.wallet(0), net.wallet(1), net.wallet(2)];
    d = await deploy(submitterW, { k: 16, clock: 86_400, burnBps: 5_000, callbackGas: 500_000 });
    contracts = new Contracts(net.provider, d);
    submitterTxs = new TxManager(net.provider, submitterW, null, { contracts, pollMs: 10 });
    const program = compileProgram(new Uint8Array(readFileSync(BTC_HEADERS_WASM)));
    await ensureRegistered(submitterTxs, contracts, program);
    ({ relay } = await RelayClient.deploy(submitterW, d.market, program.root, cp, config));
    const common = { provider: net.provider, deployment: d, pollMs: 20, log: logs.log };
    solver = startSolver({ ...common, wallet: solverW, dataDir: join(dirs, "solver"), acceptRoots: [program.root], lieOutput: true, falseOutput: claimValid });
    challenger = startChallenger({ ...common, wallet: challengerW, dataDir: join(dirs, "challenger") });
  });

  afterAll(async () => {
    await solver?.stop().catch(() => {});
    await challenger?.stop().catch(() => {});
    await net?.close();
    if (dirs) rmSync(dirs, { recursive: true, force: true });
  });

  /** BtcRelay's events from `fromBlock` on. */
  async function relayEvents(fromBlock: number) {
    const ls = await net.provider.getLogs({ address: relay.address, fromBlock, toBlock: "latest" });
    return ls.map((l) => relay.iface.parseLog({ topics: [...l.topics], data: l.data })!).filter(Boolean);
  }

  it.each(VARIANTS)("%s: bad header at index %i — the liar loses, the true verdict is finalized, the relay rejects the batch", async (rule, index, bad) => {
    const headers = slice.map((h, j) => (j === index ? bad : h));
    // the reference validator: dense mode names this rule and index; full mode agrees (the real
    // headers link, their nBits are the expected ones)
    const dense: BtcResult = validateHeaders(cp, headers, { dense: true });
    expect(dense).toMatchObject({ valid: false, rule, failedIndex: index, accepted: index, height: cp.height + index });
    expect(validateHeaders(cp, headers)).toMatchObject({ valid: false, rule, failedIndex: index });

    const bestBefore = await relay.bestTip();
    await relay.sync();
    const tipsBefore = relay.tips.size;
    const accounts = [submitterW.address, solverW.address, challengerW.address];
    const startBlock = await net.provider.getBlockNumber();
    const before = await balances(net.provider, accounts);
    const seen = logs.since();

    // submit through the relay, which posts the btc-headers task
    const submitted = await relay.submitBatch(submitterTxs, 0n, headers, REWARD, { intent: `submitBatch:${rule}` });
    const taskId = submitted.taskId;

    // the game: the liar is beaten, the task reopens, the true result is committed and checked
    await logs.until(`the lying solver's defeat on task ${taskId}`, () => seen("solver", "solution defeated", taskId));
    await logs.until(`the true result of task ${taskId} verified`, () => seen("challenger", "solution verified", taskId));
    const v = await contracts.taskOf(taskId);
    expect([v.stage, v.solver, v.openGames]).toEqual([Stage.Open, solverW.address, 0]);

    // past the window: the solver finalizes, the market calls the relay back
    await net.send("evm_increaseTime", [config.window + 1]);
    await net.send("evm_mine", []);
    const result = await waitForResult(net.provider, contracts, d, taskId, { pollMs: 25, timeoutMs: 30_000 });
    await logs.withdrawn(contracts, [solver.node, challenger.node]);

    // --- the game, from the chain: one challenge, the challenger won by the one-step proof
    const events = await taskEvents(net.provider, contracts, taskId, d.block);
    const posted = events.find((e): e is EventOf<"TaskPosted"> => e.kind === "TaskPosted")!;
    const commits = events.filter((e): e is EventOf<"Revealed"> => e.kind === "Revealed");
    const challenges = events.filter((e): e is EventOf<"Challenged"> => e.kind === "Challenged");
    expect(commits.map((c) => c.solver)).toEqual([solverW.address, solverW.address]);
    expect(challenges.map((c) => c.challenger)).toEqual([challengerW.address]);
    const game = await gameEvents(net.provider, contracts, challenges[0].gameId, d.block);
    expect(game.filter((e) => e.kind === "GameResolved").map((e) => ({ ...(e as EventOf<"GameResolved">) }))).toMatchObject([{ solverWon: false, timeout: false }]);
    // bisected down to one step: the last one (the Halt), the lie being in the output only
    const last = game.filter((e): e is EventOf<"Selected"> => e.kind === "Selected").at(-1)!;
    expect([last.hi - last.lo, last.hi]).toEqual([1n, commits[0].steps]);
    expect(events.filter((e) => e.kind === "SolutionDefeated").map((e) => (e as EventOf<"SolutionDefeated">).solver)).toEqual([solverW.address]);
    expect(events.filter((e) => e.kind === "Finalized").map((e) => (e as EventOf<"Finalized">).status)).toEqual([1]); // halted
    expect(seen("challenger", "step proven wrong")).toBe(true);

    // the lie: "the batch is valid" (its valid prefix as a tip heavier than the best one)
    const lie = decodeOutput(getBytes(commits[0].output));
    expect(lie).toMatchObject({ valid: true, rule: null, failedIndex: -1, accepted: index, height: cp.height + index });
    expect(BigInt(lie.chainWork)).toBeGreaterThan(bestBefore.chainWork);

    // --- the finalized output: the true verdict, the reference's on the very input the market logged
    expect(result).toMatchObject({ stage: "finalized", status: "halted", solver: solverW.address });
    expect(result.output).toBe(commits[1].output);
    const truth = decodeOutput(getBytes(result.output!));
    expect(truth).toMatchObject({ valid: false, rule, failedIndex: index, accepted: index });
    expect(truth).toEqual(dense);
    expect(truth).toEqual(validateInput(getBytes(posted.input)));

    // --- the relay: BatchRejected with the rule and index, nothing stored, the best tip unchanged
    const rEvents = (await relayEvents(submitted.block)).filter((e) => e.args[0] === taskId);
    expect(rEvents.map((e) => e.name)).toEqual(["BatchSubmitted", "BatchRejected"]);
    const rejected = rEvents[1];
    expect([rejected.args.status, rejected.args.rule, rejected.args.failedIndex]).toEqual([1n, BigInt(Rule[rule]), BigInt(index)]);
    expect((await relay.contract.tipOf(taskId)).state).toBe(0n);
    expect(await relay.sync()).toEqual([]);
    expect(relay.tips.size).toBe(tipsBefore);
    expect(await relay.bestTip()).toEqual(bestBefore);

    // --- the money: the liar lost its bond (the challenger's gas refunded from it, the rest burnt)
    const payouts = await payoutsSince(net.provider, accounts, startBlock, before);
    const refunds = events.filter((e): e is EventOf<"ChallengerPaid"> => e.kind === "ChallengerPaid").reduce((a, e) => a + e.refund, 0n);
    expect(refunds).toBeGreaterThan(0n);
    expect(payouts).toEqual([-REWARD, REWARD - config.solverBond, refunds]);
  });
});
