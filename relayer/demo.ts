/**
 * The Bitcoin relay demo (`npm run demo`, `truewasm demo`; README "Demo"): everything in one process
 * on an in-process Hardhat network —
 *
 *   1. the prover, the market (k = 16, callbackGas 500,000) and its game deployed, the btc-headers
 *      program registered, BtcRelay deployed on the embedded checkpoint (block 828,575);
 *   2. a batch of the embedded real headers (828,576.., 2,016 by default) submitted to the relay,
 *      which posts it to the market as a btc-headers task;
 *   3. a solver node and a challenger node (solver/, verifier/: the same code as the daemons, each
 *      with its own store in a temporary directory, polling fast) play it out: by default the solver
 *      lies (a false result whose state roots are made up from the middle of the run on), the
 *      challenger re-runs the task, challenges, bisects to the first wrong step and proves it with
 *      the one-step prover; the liar's bond is taken, the task reopens and the solver commits the
 *      true result. With `honest`, the solver is honest and the challenger challenges the correct
 *      result anyway (`challengeCorrect`) and loses its bond;
 *   4. the chain's clock is moved past the challenge window (evm_increaseTime), the solver finalizes,
 *      the market calls the relay back and the relay stores the new tip; both nodes withdraw.
 *
 * `runDemo` narrates as it goes (a line per event, from the nodes' logs and the chain) and returns a
 * summary built from the chain: the task, the dispute (rounds, k, the disputed step and its
 * instruction, the winner), the gas of every transaction, the new tip and the balance changes.
 * bench/btc.ts reuses it for `disputeGas`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getBytes, type Provider } from "ethers";
import { compile } from "../interpreter/lower.js";
import { functionNames, instructionAt } from "../interpreter/names.js";
import { feesPaid, taskEvents, type EventOf } from "../client/chain.js";
import { Contracts, Stage, ZERO_ADDRESS } from "../client/contracts.js";
import { deploy } from "../client/index.js";
import { inProcessNetwork } from "../client/inprocess.js";
import { createLogger, errorMessage, type Logger } from "../client/log.js";
import { BTC_HEADERS_WASM, DEFAULT_RELAY_CONFIG, embeddedBatch, RelayClient, type RelayConfig, type StoredTip } from "./relay.js";
import { compileProgram, ensureRegistered } from "../client/tasks.js";
import { buildTranscript } from "../client/transcript.js";
import { TxManager } from "../client/txs.js";
import { startSolver } from "../solver/solver.js";
import { startChallenger } from "../verifier/challenger.js";

const ETH = 10n ** 18n;
/** Machine steps per header of the btc-headers task (dense mode, measured on the embedded batch). */
const STEPS_PER_HEADER = 27_885;

export interface DemoOptions {
  /** Headers of the embedded batch to submit (1..2,016; default all). */
  headers?: number;
  /** Honest solver, and a challenger that challenges the correct result (and loses). */
  honest?: boolean;
  /** The lying solver's made-up roots start at this step (default: about the middle of the run). */
  lieFromStep?: bigint;
  /** The game's degree (default 16). */
  k?: number;
  /** Node poll interval, ms (default 20). */
  pollMs?: number;
  /** Reward of the batch, wei (default 0.05 ETH). */
  reward?: bigint;
  /** Where the narration goes, a line at a time (default: stdout); null: nowhere. */
  print?: ((line: string) => void) | null;
  /** The nodes' raw JSON log lines too (to stderr). */
  verbose?: boolean;
  /** Keep the nodes' data directories (their stores and transcripts) instead of deleting them. */
  keepDirs?: boolean;
  /** Give up after this long (ms; default 10 minutes). */
  timeoutMs?: number;
}

export interface GasItem {
  what: string;
  by: "submitter" | "solver" | "challenger";
  gas: number;
}

export interface DemoSummary {
  mode: "lying solver" | "challenger disputes a correct result";
  seconds: { total: number; setup: number; submitToDecision: number; decisionToTip: number };
  task: { id: string; headers: number; heights: [number, number]; inputBytes: number; headerBytes: number; steps: number; stepLimit: number };
  nodes: { solverStepsExecuted: number; challengerStepsExecuted: number };
  dispute: {
    gameId: string;
    k: number;
    rounds: number;
    lieFromStep: string | null;
    disputedStep: string;
    instruction: { pc: number; op: string; func: string | null };
    witnessBytes: number;
    proofBy: "solver" | "challenger";
    winner: "solver" | "challenger";
    loser: "solver" | "challenger";
    /** challenge + every move of both parties + the winner's withdrawal of its game payout. */
    gas: { challenge: number; solverMoves: number; challengerMoves: number; proveStep: number; payoutWithdraw: number; total: number };
    transcript: string | null;
  };
  gas: GasItem[];
  tip: { id: string; hash: string; height: number; chainWork: string; blockRoot: string; best: { id: string; hash: string; height: number; chainWork: string }; expected: boolean };
  /** ETH balances of the three accounts around the batch (from just before the submission to the end). */
  balances: { account: string; role: string; before: string; after: string; change: string; fees: string; payouts: string; expectedPayouts: string; why: string }[];
  burnt: string;
  dirs: { solver: string; challenger: string } | null;
}

/** Runs the demo; throws when the game or the relay does not end as it should. */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const t0 = performance.now();
  const since = () => ((performance.now() - t0) / 1000).toFixed(1).padStart(5);
  const out = opts.print === null ? () => {} : (opts.print ?? ((l: string) => console.log(l)));
  const say = (line: string) => out(`[${since()} s] ${line}`);
  const honest = !!opts.honest;
  const batch = embeddedBatch();
  const count = opts.headers ?? batch.headers.length;
  if (!Number.isInteger(count) || count < 1 || count > batch.headers.length) throw new RangeError(`headers must be 1..${batch.headers.length}, got ${opts.headers}`);
  const headers = batch.headers.slice(0, count);
  const k = opts.k ?? 16;
  const reward = opts.reward ?? ETH / 20n;
  const config: RelayConfig = { ...DEFAULT_RELAY_CONFIG };
  const lieFromStep = honest ? null : (opts.lieFromStep ?? BigInt(Math.floor((count * STEPS_PER_HEADER) / 2) + 1));

  out(`truewasm demo: a Bitcoin relay whose headers are checked by the verification game (${honest ? "honest solver, challenger disputing a correct result" : "lying solver, honest challenger"})`);
  const net = await inProcessNetwork();
  const dirs = mkdtempSync(join(tmpdir(), "truewasm-demo-"));
  const nodes: { stop(): Promise<void> }[] = [];
  try {
    // ------------------------------------------------------------------------------------------
    // 1. contracts
    const [submitterW, solverW, challengerW] = [net.wallet(0), net.wallet(1), net.wallet(2)];
    const roleOf = new Map([
      [submitterW.address.toLowerCase(), "submitter" as const],
      [solverW.address.toLowerCase(), "solver" as const],
      [challengerW.address.toLowerCase(), "challenger" as const],
    ]);
    const d = await deploy(submitterW, { k, clock: 86_400, burnBps: 5_000, callbackGas: 500_000 });
    const contracts = new Contracts(net.provider, d);
    say(`deployed OneStepProver ${short(d.prover)}, TaskMarket ${short(d.market)} and its VerificationGame ${short(d.game)} (k ${d.parameters.k}, clock ${d.parameters.clock} s, burn ${d.parameters.burnBps / 100} %, callbackGas ${fmt(d.parameters.callbackGas)})`);
    const submitterTxs = new TxManager(net.provider, submitterW, null, { contracts, pollMs: 10 });
    const wasm = new Uint8Array(readFileSync(BTC_HEADERS_WASM));
    const program = compileProgram(wasm);
    await ensureRegistered(submitterTxs, contracts, program);
    say(`registered the btc-headers program (${fmt(wasm.length)} bytes of wasm, program root ${short(program.root)})`);
    const { relay } = await RelayClient.deploy(submitterW, d.market, program.root, batch.checkpoint, config);
    say(`deployed BtcRelay ${short(relay.address)} on the checkpoint: block ${fmt(batch.checkpoint.height)} ${batch.checkpoint.hash} (tip 0)`);
    say(`relay terms: window ${config.window} s, solver bond ${eth(config.solverBond)} ETH, challenger bond ${eth(config.challengerBond)} ETH, step limit ${fmt(config.stepsBase)} + ${fmt(config.stepsPerHeader)}/header`);

    const accounts = [submitterW.address, solverW.address, challengerW.address];
    const startBlock = await net.provider.getBlockNumber();
    const before = await Promise.all(accounts.map((a) => net.provider.getBalance(a)));
    const tSetup = performance.now();

    // ------------------------------------------------------------------------------------------
    // 2. the batch
    const submitted = await relay.submitBatch(submitterTxs, 0n, headers, reward, { intent: "submitBatch:demo" });
    const taskId = submitted.taskId;
    const limit = Number(config.stepsBase + config.stepsPerHeader * BigInt(count));
    say(`submitted ${fmt(count)} headers (${fmt(batch.checkpoint.height + 1)}..${fmt(batch.checkpoint.height + count)}) to the relay: ${fmt(submitted.headerBytes)} bytes dense, task input ${fmt(submitted.inputBytes)} bytes, reward ${eth(reward)} ETH — task ${taskId} posted, gas ${fmt(submitted.gasUsed)}`);

    // ------------------------------------------------------------------------------------------
    // 3. the nodes
    const state = new DemoState();
    const narrate = narrator(state, say);
    const sink = (line: string) => {
      if (opts.verbose) process.stderr.write(line + "\n");
      try {
        narrate(JSON.parse(line));
      } catch (e) {
        say(`(unreadable node log line: ${errorMessage(e)})`);
      }
    };
    const log: Logger = createLogger({ level: "info", sink });
    const pollMs = opts.pollMs ?? 20;
    const common = { provider: net.provider as Provider, deployment: d, pollMs, log };
    const solver = startSolver({ ...common, wallet: solverW, dataDir: join(dirs, "solver"), acceptRoots: [program.root], lieFromStep });
    nodes.push(solver);
    const challenger = startChallenger({ ...common, wallet: challengerW, dataDir: join(dirs, "challenger"), challengeCorrect: honest });
    nodes.push(challenger);
    say(`started a ${honest ? "honest" : "LYING"} solver node (${short(solverW.address)}${lieFromStep !== null ? `, false roots from step ${fmt(lieFromStep)} on` : ""}) and ${honest ? "a challenger node that challenges correct results too" : "an honest challenger node"} (${short(challengerW.address)}), polling every ${pollMs} ms`);

    // wait for the decision, move the clock past the window, wait for the tip and the payouts
    const deadline = Date.now() + (opts.timeoutMs ?? 10 * 60_000);
    let advanced = false;
    let tDecision = 0;
    let tip: StoredTip | undefined;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`no result after ${Math.round((opts.timeoutMs ?? 600_000) / 1000)} s`);
      if (state.errors.length) throw new Error(`a node failed: ${state.errors[0]}`);
      await sleep(50);
      const v = await contracts.taskOf(taskId);
      if (v.stage === Stage.Expired) throw new Error(`task ${taskId} expired`);
      if (!advanced) {
        const decided = honest ? state.gameOver && state.solverWon === true : state.gameOver && state.solverWon === false && state.verifiedAfterDefeat;
        if (honest && state.gameOver && state.solverWon === false) throw new Error("the honest solver lost its game");
        if (!honest && state.gameOver && state.solverWon === true) throw new Error("the lying solver won its game");
        if (decided && v.stage === Stage.Open && v.solver !== ZERO_ADDRESS && v.openGames === 0) {
          tDecision = performance.now();
          await net.send("evm_increaseTime", [config.window + 1]);
          await net.send("evm_mine", []);
          advanced = true;
          say(`moved the chain's clock ${fmt(config.window + 1)} s forward (evm_increaseTime): the challenge window of the ${honest ? "" : "true "}result is over`);
        }
        continue;
      }
      if (!tip) {
        for (const t of await relay.sync()) if (t.id === taskId) tip = t;
        if (tip) say(`BtcRelay stored tip ${tip.id}: block ${fmt(tip.height)} ${tip.hash}, chain work ${tip.chainWork} (0x${tip.chainWork.toString(16)})`);
        continue;
      }
      const owed = await Promise.all([contracts.balanceOf(solverW.address), contracts.balanceOf(challengerW.address)]);
      if (owed[0] === 0n && owed[1] === 0n && solver.node.txs.pending().length === 0 && challenger.node.txs.pending().length === 0 && state.transcripts.size === 2) break;
    }
    const tEnd = performance.now();
    for (const n of nodes.splice(0).reverse()) await n.stop();

    // ------------------------------------------------------------------------------------------
    // 4. the summary, from the chain
    const events = await taskEvents(net.provider, contracts, taskId, d.block);
    const posted = events.find((e): e is EventOf<"TaskPosted"> => e.kind === "TaskPosted")!;
    const challenged = events.find((e): e is EventOf<"Challenged"> => e.kind === "Challenged");
    if (!challenged) throw new Error("nobody challenged");
    const transcript = await buildTranscript({ provider: net.provider, contracts, deployment: d, gameId: challenged.gameId, taskId, input: getBytes(posted.input), wasm });
    if ("aborted" in transcript.outcome) throw new Error("the game was aborted");
    const solverWon = transcript.outcome.solverWon;
    if (solverWon !== honest) throw new Error(`the ${honest ? "honest solver" : "lying solver"} ${solverWon ? "won" : "lost"}`);

    const receiptGas = async (hash: string) => Number((await net.provider.getTransactionReceipt(hash))!.gasUsed);
    const gas: (GasItem & { block: number })[] = [{ what: `submitBatch → post (${fmt(submitted.calldataBytes)} calldata bytes)`, by: "submitter", gas: Number(submitted.gasUsed), block: submitted.block }];
    const commits = events.filter((e): e is EventOf<"Committed"> => e.kind === "Committed");
    const reveals = events.filter((e): e is EventOf<"Revealed"> => e.kind === "Revealed");
    for (const [i, c] of reveals.entries()) {
      const lie = !honest && c.finalRoot.toLowerCase() === transcript.claim.finalRoot.toLowerCase();
      const which = reveals.length > 1 ? (lie ? " (the false result)" : " (the true result)") : "";
      if (commits[i]) gas.push({ what: `commit${which}`, by: "solver", gas: await receiptGas(commits[i].tx), block: commits[i].block });
      gas.push({ what: `reveal${which}`, by: "solver", gas: await receiptGas(c.tx), block: c.block });
    }
    gas.push({ what: "challenge (opens the game)", by: "challenger", gas: Number(transcript.game.gasUsed), block: challenged.block });
    let round = 0;
    for (const m of transcript.moves) {
      const by = roleOf.get(m.by.toLowerCase())!;
      const item = (what: string) => gas.push({ what, by, gas: Number(m.gasUsed), block: m.block });
      if (m.kind === "bisect") item(`round ${++round}: bisect [${fmt(m.lo)}, ${fmt(m.hi)}] (${m.roots.length} root${m.roots.length === 1 ? "" : "s"})`);
      else if (m.kind === "select") item(`round ${round}: select part ${m.index} → [${fmt(m.lo)}, ${fmt(m.hi)}]`);
      else if (m.kind === "proveStep") item(`one-step proof of step ${fmt(m.lo)} (${fmt((m.witness.length - 2) / 2)}-byte witness)`);
      else item("timeout");
    }
    const finalized = events.find((e): e is EventOf<"Finalized"> => e.kind === "Finalized")!;
    const finalizeReceipt = await net.provider.getTransactionReceipt(finalized.tx);
    gas.push({ what: "finalize (→ BtcRelay.onTaskResult stores the tip)", by: roleOf.get(finalizeReceipt!.from.toLowerCase()) ?? "solver", gas: Number(finalizeReceipt!.gasUsed), block: finalized.block });
    const withdrawals = await withdrawalsOf(net.provider, contracts, d.block);
    for (const w of withdrawals) gas.push({ what: `withdraw ${eth(w.amount)} ETH`, by: roleOf.get(w.account.toLowerCase()) ?? "submitter", gas: w.gas, block: w.block });
    gas.sort((a, b) => a.block - b.block);

    // the dispute's own cost: the challenge, every move, and the winner's withdrawal of its payout
    const winner = solverWon ? "solver" : "challenger";
    const gameEnd = transcript.moves.at(-1)!.block;
    const payout = withdrawals.find((w) => roleOf.get(w.account.toLowerCase()) === winner && w.block > gameEnd);
    const proof = transcript.moves.at(-1)!;
    if (proof.kind !== "proveStep") throw new Error(`the game ended by ${proof.kind}, not by the one-step proof`);
    let solverMoves = 0;
    let challengerMoves = 0;
    for (const m of transcript.moves) {
      if (roleOf.get(m.by.toLowerCase()) === "solver") solverMoves += Number(m.gasUsed);
      else challengerMoves += Number(m.gasUsed);
    }
    const payoutWithdraw = payout?.gas ?? 0;
    const disputeGas = { challenge: Number(transcript.game.gasUsed), solverMoves, challengerMoves, proveStep: Number(proof.gasUsed), payoutWithdraw, total: Number(transcript.game.gasUsed) + solverMoves + challengerMoves + payoutWithdraw };

    const instruction = instructionAt(compile(wasm, { imports: "task" }), functionNames(wasm, BTC_HEADERS_WASM.replace(/\.wasm$/, ".wat")), getBytes(proof.witness));
    const best = await relay.bestTip();
    const endBlock = await net.provider.getBlockNumber();
    const after = await Promise.all(accounts.map((a) => net.provider.getBalance(a)));
    const fees = await feesPaid(net.provider, accounts, startBlock, endBlock);
    const burnt: bigint = await contracts.market.burnt();
    const steps = Number(transcript.claim.steps);
    const full = count === batch.headers.length;
    const expected =
      tip!.height === batch.checkpoint.height + count &&
      best.id === tip!.id &&
      (!full || (tip!.hash === batch.expected.tipHash && tip!.chainWork.toString() === batch.expected.chainWork && tip!.blockRoot === batch.expected.merkleRoot));
    if (!expected) throw new Error(`the relay's new tip is not the expected one: ${JSON.stringify({ ...tip, chainWork: tip!.chainWork.toString() })}`);
    // what each account should have been paid (ETH change + fees)
    const keep = (bond: bigint) => (bond * BigInt(10_000 - d.parameters.burnBps)) / 10_000n;
    // a challenger that defeats a solution gets its bond back and its gas from the solver's bond
    const refunds = events.filter((e): e is EventOf<"ChallengerPaid"> => e.kind === "ChallengerPaid").reduce((a, e) => a + e.refund, 0n);
    const expectedPayouts: [bigint, string][] = honest
      ? [
          [-reward, `reward −${eth(reward)}`],
          [reward + keep(config.challengerBond), `reward +${eth(reward)}, the challenger's bond less the burn +${eth(keep(config.challengerBond))}`],
          [-config.challengerBond, `bond lost −${eth(config.challengerBond)}`],
        ]
      : [
          [-reward, `reward −${eth(reward)}`],
          [reward - config.solverBond, `bond lost −${eth(config.solverBond)}, reward +${eth(reward)}`],
          [refunds, `its gas refunded from the liar's bond +${eth(refunds)}`],
        ];
    const balances = accounts.map((a, i) => {
      const change = after[i] - before[i];
      const fee = fees.get(a.toLowerCase()) ?? 0n;
      const [exp, why] = expectedPayouts[i];
      if (change + fee !== exp) throw new Error(`${["submitter", "solver", "challenger"][i]}: paid ${eth(change + fee)} ETH, expected ${eth(exp)}`);
      return { account: a, role: ["submitter", "solver", "challenger"][i], before: before[i].toString(), after: after[i].toString(), change: change.toString(), fees: fee.toString(), payouts: (change + fee).toString(), expectedPayouts: exp.toString(), why };
    });
    const summary: DemoSummary = {
      mode: honest ? "challenger disputes a correct result" : "lying solver",
      seconds: { total: +((tEnd - t0) / 1000).toFixed(1), setup: +((tSetup - t0) / 1000).toFixed(1), submitToDecision: +((tDecision - tSetup) / 1000).toFixed(1), decisionToTip: +((tEnd - tDecision) / 1000).toFixed(1) },
      task: { id: taskId.toString(), headers: count, heights: [batch.checkpoint.height + 1, batch.checkpoint.height + count], inputBytes: submitted.inputBytes, headerBytes: submitted.headerBytes, steps, stepLimit: limit },
      nodes: { solverStepsExecuted: solver.node.stepsExecuted, challengerStepsExecuted: challenger.node.stepsExecuted },
      dispute: {
        gameId: transcript.game.id,
        k: transcript.parameters.k,
        rounds: transcript.moves.filter((m) => m.kind === "select").length,
        lieFromStep: lieFromStep === null ? null : (lieFromStep > BigInt(steps) ? BigInt(steps) : lieFromStep).toString(),
        disputedStep: proof.lo,
        instruction,
        witnessBytes: (proof.witness.length - 2) / 2,
        proofBy: roleOf.get(proof.by.toLowerCase()) === "solver" ? "solver" : "challenger",
        winner,
        loser: solverWon ? "challenger" : "solver",
        gas: disputeGas,
        transcript: opts.keepDirs ? join(dirs, "challenger", "transcripts", `game-${transcript.game.id}.json`) : null,
      },
      gas: gas.map(({ what, by, gas }) => ({ what, by, gas })),
      tip: { id: tip!.id.toString(), hash: tip!.hash, height: tip!.height, chainWork: tip!.chainWork.toString(), blockRoot: tip!.blockRoot, best: { id: best.id.toString(), hash: best.hash, height: best.height, chainWork: best.chainWork.toString() }, expected },
      balances,
      burnt: burnt.toString(),
      dirs: opts.keepDirs ? { solver: join(dirs, "solver"), challenger: join(dirs, "challenger") } : null,
    };
    return summary;
  } finally {
    for (const n of nodes.reverse()) await n.stop().catch(() => {});
    await net.close();
    if (!opts.keepDirs) rmSync(dirs, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------
// Narration: the nodes' JSON log lines as readable lines

class DemoState {
  rounds = 0;
  gameOver = false;
  solverWon: boolean | null = null;
  defeated = false;
  verifiedAfterDefeat = false;
  errors: string[] = [];
  /** Nodes that wrote their transcript of the game. */
  transcripts = new Set<string>();
}

type LogLine = { level: string; node?: string; msg: string; [k: string]: unknown };

function narrator(s: DemoState, say: (l: string) => void): (l: LogLine) => void {
  const who = (l: LogLine) => (l.node ?? "node").padEnd(10);
  return (l) => {
    const f = (k: string) => l[k] as string;
    const as = (line: string) => say(`${who(l)} ${line}`);
    if (l.level === "error") {
      s.errors.push(`${l.node}: ${l.msg} ${l.error ?? ""}`);
      as(`ERROR ${l.msg} ${l.error ?? ""}`);
      return;
    }
    switch (l.msg) {
      case "task seen":
        if (l.node === "solver") as(`sees task ${f("taskId")} (${fmt(f("inputBytes"))} input bytes, step limit ${fmt(f("stepLimit"))})`);
        return;
      case "run done":
        as(`ran the task in the interpreter: ${fmt(f("steps"))} steps, ${f("status")}, ${(Number(l.ms) / 1000).toFixed(1)} s`);
        return;
      case "committing":
        if (l.lie) as(`commits a FALSE result: output byte 0 flipped (the relay would reject the valid batch), state roots made up from step ${fmt(f("lieFrom"))} on`);
        else as(`commits the true result (final root ${short(f("finalRoot"))}, ${fmt(f("steps"))} steps)`);
        return;
      case "committed":
        as(`  commit mined, bond posted (gas ${fmt(f("gasUsed"))})`);
        return;
      case "solution wrong":
        as(`re-ran the task: the claimed final root ${short(f("claimed"))} is WRONG (computed ${short(f("computed"))})`);
        return;
      case "solution verified":
        if (s.defeated) s.verifiedAfterDefeat = true;
        as(`re-ran the task: the claimed final root ${short(f("claimed"))} is correct`);
        return;
      case "challenged":
        as(`challenges, posting its bond (gas ${fmt(f("gasUsed"))})`);
        return;
      case "game opened":
        if (l.node === "challenger") as(`game ${f("gameId")} opened over steps [0, ${fmt(f("steps"))}]`);
        return;
      case "bisected":
        s.rounds++;
        as(`round ${s.rounds}: posts ${f("roots")} root${f("roots") === "1" ? "" : "s"} inside [${fmt(f("lo"))}, ${fmt(f("hi"))}] (gas ${fmt(f("gasUsed"))})`);
        return;
      case "selected":
        as(`round ${s.rounds}: disputes part ${f("index")} → [${fmt(f("lo"))}, ${fmt(f("hi"))}] (gas ${fmt(f("gasUsed"))})`);
        return;
      case "cannot prove the step (the claim is false there)":
        as(`cannot prove step ${fmt(f("lo"))}: its claimed post-state is false`);
        return;
      case "step proven":
        as(`proves step ${fmt(f("step"))} on-chain: the prover agrees with its root (${fmt(f("witnessBytes"))}-byte witness, gas ${fmt(f("gasUsed"))})`);
        return;
      case "step proven wrong":
        as(`proves step ${fmt(f("step"))} on-chain: the prover's post-state differs from the solver's (${fmt(f("witnessBytes"))}-byte witness, gas ${fmt(f("gasUsed"))})`);
        return;
      case "game won":
      case "game lost":
        if (l.node !== "challenger") return;
        s.gameOver = true;
        s.solverWon = l.solverWon === true;
        say(`${"game".padEnd(10)} ${f("gameId")} over: the ${l.solverWon ? "solver" : "challenger"} wins; ${l.solverWon ? "the challenger's bond is taken (half to the solver with its reward, half burnt)" : "the solver's bond pays the challenger's gas, the rest is burnt"}`);
        return;
      case "solution defeated":
        if (l.node !== "solver") return;
        s.defeated = true;
        as(`its false solution is defeated: the task reopens`);
        return;
      case "finalized":
        as(`finalizes the task after the window: the market pays it and calls the relay back`);
        return;
      case "withdrawn":
        as(`withdraws ${eth(BigInt(f("amount")))} ETH from the market`);
        return;
      case "transcript written":
        s.transcripts.add(l.node ?? "");
        return;
      case "opponent's clock ran out":
        as(`the opponent's clock ran out (game ${f("gameId")})`);
        return;
      default:
        if (l.level === "warn") as(`warning: ${l.msg}`);
    }
  };
}

// ------------------------------------------------------------------------------------------------
// The summary as text

export function formatSummary(s: DemoSummary): string {
  const L: string[] = [];
  const col = (a: string, b: string) => `  ${a.padEnd(24)} ${b}`;
  L.push("", "Summary", "=======");
  L.push(`Task       ${fmt(s.task.headers)} real Bitcoin headers ${fmt(s.task.heights[0])}..${fmt(s.task.heights[1])}: ${fmt(s.task.inputBytes)} input bytes (${fmt(s.task.headerBytes)} of headers, dense), ${fmt(s.task.steps)} machine steps (limit ${fmt(s.task.stepLimit)})`);
  L.push(`Nodes      steps executed: solver ${fmt(s.nodes.solverStepsExecuted)} (${(s.nodes.solverStepsExecuted / s.task.steps).toFixed(2)} N), challenger ${fmt(s.nodes.challengerStepsExecuted)} (${(s.nodes.challengerStepsExecuted / s.task.steps).toFixed(2)} N)`);
  const d = s.dispute;
  const ins = `${d.instruction.op}${d.instruction.func ? ` in ${d.instruction.func}` : ""}, pc ${d.instruction.pc}`;
  L.push(`Dispute    ${s.mode}: game ${d.gameId}, k = ${d.k}, ${d.rounds} rounds${d.lieFromStep ? `, false roots from step ${fmt(d.lieFromStep)}` : ""}`);
  L.push(`           disputed step ${fmt(d.disputedStep)} → ${fmt(BigInt(d.disputedStep) + 1n)}: ${ins}; one-step proof by the ${d.proofBy} (${fmt(d.witnessBytes)}-byte witness)`);
  L.push(`           winner: the ${d.winner}; the ${d.loser} lost its bond`);
  L.push(`Gas`);
  for (const g of s.gas) L.push(`  ${g.by.padEnd(11)} ${g.what.padEnd(56)} ${fmt(g.gas).padStart(10)}`);
  const sum = (by: string) => s.gas.filter((g) => g.by === by).reduce((a, g) => a + g.gas, 0);
  L.push(`  totals: submitter ${fmt(sum("submitter"))}, solver ${fmt(sum("solver"))}, challenger ${fmt(sum("challenger"))}`);
  L.push(`  dispute (challenge, every move of both parties, the winner's payout withdrawal): ${fmt(d.gas.total)} — challenge ${fmt(d.gas.challenge)}, solver moves ${fmt(d.gas.solverMoves)}, challenger moves ${fmt(d.gas.challengerMoves)}, of which the one-step proof ${fmt(d.gas.proveStep)}, withdrawal ${fmt(d.gas.payoutWithdraw)}`);
  L.push(`New tip    id ${s.tip.id}: block ${fmt(s.tip.height)} ${s.tip.hash}`);
  L.push(col("  chain work", `${s.tip.chainWork} (0x${BigInt(s.tip.chainWork).toString(16)})`));
  L.push(col("  block-hash Merkle root", s.tip.blockRoot));
  L.push(col("  best tip", `id ${s.tip.best.id}, block ${fmt(s.tip.best.height)} ${s.tip.best.hash}${s.tip.best.id === s.tip.id ? " (the new tip)" : ""}`));
  if (s.task.headers === 2016) L.push(col("  matches the fixture", s.tip.expected ? "yes (hash, chain work, Merkle root: wasm-tasks/btc-headers/fixtures/*.expected.json)" : "NO"));
  L.push(`Balances   ETH, from before the submission to the end: change = payouts − fees`);
  for (const b of s.balances) L.push(`  ${b.role.padEnd(11)} ${short(b.account)} ${signed(BigInt(b.change)).padStart(10)} = ${signed(BigInt(b.payouts)).padStart(10)} (${b.why}) − fees ${eth(BigInt(b.fees))}`);
  L.push(`  burnt in the market: ${eth(BigInt(s.burnt))}`);
  L.push(`Time       ${s.seconds.total} s (setup ${s.seconds.setup} s, submission to decision ${s.seconds.submitToDecision} s, to the stored tip and payouts ${s.seconds.decisionToTip} s)`);
  if (s.dirs) L.push(`Stores     ${s.dirs.solver}, ${s.dirs.challenger}${s.dispute.transcript ? `; transcript ${s.dispute.transcript}` : ""}`);
  return L.join("\n");
}

// ------------------------------------------------------------------------------------------------
// Helpers

async function withdrawalsOf(provider: Provider, c: Contracts, fromBlock: number): Promise<{ account: string; amount: bigint; gas: number; block: number }[]> {
  const topic = c.marketIface.getEvent("Withdrawal")!.topicHash;
  const logs = await provider.getLogs({ address: c.addresses.market, topics: [topic], fromBlock, toBlock: "latest" });
  const out = [];
  for (const l of logs) {
    const ev = c.marketIface.parseLog({ topics: [...l.topics], data: l.data })!;
    const r = await provider.getTransactionReceipt(l.transactionHash);
    out.push({ account: ev.args.account as string, amount: ev.args.amount as bigint, gas: Number(r!.gasUsed), block: l.blockNumber });
  }
  return out;
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function fmt(n: number | bigint | string | undefined): string {
  if (n === undefined || n === null) return "?";
  const s = String(n);
  return /^-?\d+$/.test(s) ? s.replace(/\B(?=(\d{3})+(?!\d))/g, ",") : s;
}

function short(h: string): string {
  return h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-4)}` : h;
}

function eth(wei: bigint): string {
  const neg = wei < 0n;
  const a = neg ? -wei : wei;
  const s = `${a / ETH}.${(a % ETH).toString().padStart(18, "0").slice(0, 6)}`;
  return neg ? `-${s}` : s;
}

function signed(wei: bigint): string {
  return wei >= 0n ? `+${eth(wei)}` : eth(wei);
}
