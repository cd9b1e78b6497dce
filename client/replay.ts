/**
 * Dispute replay: plays a transcript again against freshly deployed contracts (the real prover) on
 * an in-process Hardhat network and reports whether the recorded outcome holds.
 *
 * The program is registered from the transcript's bytes (whose lowering must give the recorded
 * program root), the task posted with the recorded input, limits and terms as `truewasm post` would
 * (in one transaction, or uploaded in chunks when the input does not fit one: postAny; its initial
 * root must be the recorded one), the recorded claim committed, revealed and challenged, and every
 * move sent by the party
 * that made it, each at the same time after the game's opening as recorded (so clocks and timeouts
 * replay too). The outcome holds when the game ends exactly as recorded: same winner, same way
 * (proof or timeout).
 */
import { Contract, getBytes, keccak256, type TransactionReceipt, type Wallet } from "ethers";
import { artifact, Contracts, deployContracts } from "./contracts.js";
import { errorMessage } from "./log.js";
import { afterBisect, afterSelect, openingPosition, type Position } from "./game.js";
import { inProcessNetwork, type InProcessNetwork } from "./inprocess.js";
import { compileProgram } from "./tasks.js";
import { postAny } from "./inputs.js";
import { revertData, TxManager } from "./txs.js";
import type { Transcript } from "./transcript.js";
import { commitmentOf, descriptorStruct, type Hex } from "./encoding.js";

export interface ReplayReport {
  /** The recorded outcome holds on fresh contracts. */
  holds: boolean;
  recorded: Transcript["outcome"];
  replayed: { solverWon: boolean; timeout: boolean } | null;
  moves: number;
  movesReplayed: number;
  steps: string;
  /** Transactions of the input's chunked upload (0: the input went in the post itself). */
  inputChunks: number;
  gas: { challenge: number; moves: number; proveStep: number | null };
  problems: string[];
}

export interface ReplayOptions {
  /** A network to deploy on (default: a fresh in-process network, closed afterwards). */
  net?: InProcessNetwork;
}

export async function replayTranscript(t: Transcript, opts: ReplayOptions = {}): Promise<ReplayReport> {
  const net = opts.net ?? (await inProcessNetwork());
  const problems: string[] = [];
  const report: ReplayReport = { holds: false, recorded: t.outcome, replayed: null, moves: t.moves.length, movesReplayed: 0, steps: t.claim.steps, inputChunks: 0, gas: { challenge: 0, moves: 0, proveStep: null }, problems };
  try {
    if ("aborted" in t.outcome) {
      problems.push("the recorded game was aborted (its solution lost another game): nothing to replay");
      return report;
    }
    const [poster, solver, challenger, bystander] = [net.wallet(0), net.wallet(1), net.wallet(2), net.wallet(3)];
    const program = compileProgram(getBytes(t.program.wasm));
    if (program.root.toLowerCase() !== t.program.root.toLowerCase()) {
      problems.push(`the program bytes lower to ${program.root}, the transcript says ${t.program.root}`);
      return report;
    }
    const dep = await deployContracts(poster, { ...t.parameters, prover: "OneStepProver" });
    const c = new Contracts(net.provider, dep);
    const market = new Contract(dep.market, artifact("TaskMarket").abi, net.provider);
    const game = new Contract(dep.game, artifact("VerificationGame").abi, net.provider);
    const send = async (who: Wallet, target: Contract, fn: string, args: unknown[], value = 0n): Promise<TransactionReceipt> => {
      try {
        const tx = await (target.connect(who) as Contract).getFunction(fn)(...args, { value });
        const r = await tx.wait();
        return r!;
      } catch (e) {
        const data = revertData(e);
        const decoded = data ? c.decodeError(data) : null;
        throw new Error(`${fn} reverted: ${decoded ? `${decoded.name}(${decoded.args.join(", ")})` : errorMessage(e)}`);
      }
    };

    await send(poster, market, "register", [program.wasm, descriptorStruct(program.descriptor)]);
    const terms = {
      reward: BigInt(t.task.reward),
      solverBond: BigInt(t.task.solverBond),
      challengerBond: BigInt(t.task.challengerBond),
      window: t.task.window,
      deadlineIn: Math.max(t.task.deadline - t.task.postedAt, 1) + 1,
      limits: t.task.limits,
    };
    const posterTxs = new TxManager(net.provider, poster, null, { contracts: c, pollMs: 10 });
    const posted = await postAny(posterTxs, c, net.provider, program.root, getBytes(t.task.input), terms);
    report.inputChunks = posted.upload?.chunks ?? 0;
    const taskId = posted.taskId;
    if (posted.initialRoot.toLowerCase() !== t.task.initialRoot.toLowerCase()) {
      problems.push(`initial root ${posted.initialRoot} differs from the recorded ${t.task.initialRoot}`);
      return report;
    }
    // the claim is committed (bound to this network's solver account) and revealed
    const salt = keccak256(getBytes(t.claim.finalRoot));
    await send(solver, market, "commit", [taskId, commitmentOf(solver.address, t.claim.finalRoot, salt)], BigInt(t.task.solverBond));
    await send(solver, market, "reveal", [taskId, t.claim.finalRoot, BigInt(t.claim.steps), t.claim.output, t.claim.opening, salt]);
    const ch = await send(challenger, market, "challenge", [taskId, t.task.initialRoot, t.claim.finalRoot, keccak256(t.claim.output)], BigInt(t.task.challengerBond));
    report.gas.challenge = Number(ch.gasUsed);
    const gameId: bigint = ch.logs.map((l) => c.marketIface.parseLog({ topics: [...l.topics], data: l.data })).find((x) => x?.name === "Challenged")!.args.gameId;
    const openedAt = (await net.provider.getBlock(ch.blockNumber))!.timestamp;

    let pos: Position = openingPosition(t.task.initialRoot, t.claim.finalRoot, BigInt(t.claim.steps));
    let last = openedAt;
    const partyOf = (addr: string): Wallet => (same(addr, t.claim.solver) ? solver : same(addr, t.game.challenger) ? challenger : bystander);
    for (const m of t.moves) {
      // same time after the opening as recorded (clocks are part of the outcome)
      const at = Math.max(openedAt + (m.at - t.game.openedAt), last + 1);
      await net.send("evm_setNextBlockTimestamp", [at]);
      last = at;
      let r;
      if (m.kind === "bisect") {
        if (BigInt(m.lo) !== pos.lo || BigInt(m.hi) !== pos.hi) problems.push(`bisect of [${m.lo}, ${m.hi}] recorded where the position is [${pos.lo}, ${pos.hi}]`);
        r = await send(partyOf(m.by), game, "bisect", [gameId, m.roots]);
        pos = afterBisect(pos, pos.lo, pos.hi, m.roots);
      } else if (m.kind === "select") {
        r = await send(partyOf(m.by), game, "select", [gameId, pos.rootLo, pos.rootHi, pos.roots ?? [], m.index]);
        pos = afterSelect(pos, m.index, t.parameters.k);
        if (pos.lo !== BigInt(m.lo) || pos.hi !== BigInt(m.hi)) problems.push(`select ${m.index} gave [${pos.lo}, ${pos.hi}], recorded [${m.lo}, ${m.hi}]`);
      } else if (m.kind === "proveStep") {
        if (!same(m.rootLo, pos.rootLo) || !same(m.rootHi, pos.rootHi)) problems.push("the proof's roots differ from the position's");
        r = await send(partyOf(m.by), game, "proveStep", [gameId, pos.rootLo, pos.rootHi, m.witness]);
        report.gas.proveStep = Number(r.gasUsed);
      } else {
        r = await send(partyOf(m.by), game, "timeout", [gameId]);
      }
      report.gas.moves += Number(r.gasUsed);
      report.movesReplayed++;
      for (const l of r.logs) {
        if (!same(l.address, dep.game)) continue;
        const e = c.gameIface.parseLog({ topics: [...l.topics], data: l.data });
        if (e?.name === "GameResolved") report.replayed = { solverWon: e.args.solverWon, timeout: e.args.timeout };
      }
    }
    if (!report.replayed) problems.push("the game did not end after the recorded moves");
    else if (report.replayed.solverWon !== t.outcome.solverWon || report.replayed.timeout !== t.outcome.timeout)
      problems.push(`recorded ${describe(t.outcome)}, replayed ${describe(report.replayed)}`);
    report.holds = problems.length === 0;
    return report;
  } catch (e) {
    problems.push(errorMessage(e));
    return report;
  } finally {
    if (!opts.net) await net.close();
  }
}

function same(a: Hex, b: Hex): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function describe(o: { solverWon: boolean; timeout: boolean }): string {
  return `${o.solverWon ? "solver" : "challenger"} won${o.timeout ? " by timeout" : " by the one-step proof"}`;
}
