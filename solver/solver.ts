/**
 * The solver node: takes the tasks whose programs it accepts (their registered bytes must lower to
 * the program root), runs them, commits to the results with bonds (a hash of its address, the final
 * root and a salt, recorded before it is sent) and reveals them once the commitment is mined,
 * defends every game against its claims (bisects, proves the last step), finalizes after the
 * challenge window and withdraws. A commitment of another solver that is not revealed in time is
 * forfeited, so that the task reopens.
 *
 * Test behaviours (off unless asked): `lieOutput` commits a false output; `lieFromStep: S` also makes
 * up every state root from step S on. They apply to the node's first commitment of a task; after a
 * defeat the node commits the true result.
 */
import { getBytes, hexlify, keccak256, randomBytes, solidityPacked } from "ethers";
import type { Hex } from "../client/encoding.js";
import { commitmentOf, falseClaim } from "../client/encoding.js";
import { Stage } from "../client/contracts.js";
import { innerPoints, Phase } from "../client/game.js";
import { Node, type CommittedClaim, type GameRecord, type NodeOptions, type RunHandle, type TaskRecord } from "../client/node.js";
import type { ChainEvent } from "../client/chain.js";

export interface SolverOptions extends NodeOptions {
  /** Test behaviour: commit a false output (the roots are true up to the last step). */
  lieOutput?: boolean;
  /** With lieOutput: the false output to claim, from the true one (default: its first byte flipped). */
  falseOutput?: (trueOutput: Uint8Array) => Uint8Array;
  /** Test behaviour: commit a false result whose roots are made up from this step on. */
  lieFromStep?: bigint | null;
  /** Only tasks of these program roots (default: any program whose bytes lower to its root). */
  acceptRoots?: string[] | null;
  /** Refuse tasks whose step limit exceeds this. */
  maxStepLimit?: number;
  /** Refuse tasks whose reward is below this (wei). */
  minReward?: bigint;
  /** Admission: refuse tasks paying less than this (wei) per million steps of their step limit. */
  minRewardPerMSteps?: bigint;
  /** Admission: refuse tasks whose memory limit exceeds this many 64 KiB pages. */
  maxMemoryPages?: number;
  /** Do not commit when fewer seconds than this remain before the deadline. */
  deadlineMargin?: number;
}

export class SolverNode extends Node {
  private readonly warned = new Set<bigint>();

  constructor(private readonly solverOpts: SolverOptions) {
    super("solver", solverOpts);
  }

  protected async act(): Promise<void> {
    for (const t of [...this.tasks.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (this.signal.aborted) return;
      if (t.stage !== "open" || t.program === "refused") continue;
      if (t.commitment) this.spawn(`task:${t.id}`, () => this.onCommitment(t), this.taskPriority(t));
      else if (t.solution === null) this.spawn(`task:${t.id}`, () => this.maybeCommit(t), this.taskPriority(t));
      else if (this.isMe(t.solution.solver)) this.spawn(`task:${t.id}`, () => this.maybeFinalize(t), this.taskPriority(t));
    }
    for (const g of this.activeGames("solver")) {
      if (this.signal.aborted) return;
      this.spawn(`game:${g.id}`, () => this.play(g), this.gamePriority(g));
    }
  }

  private isMe(a: string): boolean {
    return a.toLowerCase() === this.address.toLowerCase();
  }

  protected async onTaskEvent(t: TaskRecord, e: ChainEvent): Promise<void> {
    // a commitment of this node that was forfeited (not revealed in time): the claim may be committed again
    if (e.kind === "Forfeited") {
      const claim = (t.claims ?? []).find((c) => c.epoch === t.epoch);
      if (claim && this.sent(this.commitIntent(t, claim))) {
        claim.attempts = (claim.attempts ?? 0) + 1;
        this.saveTask(t);
      }
    }
  }

  private commitIntent(t: TaskRecord, claim: CommittedClaim): string {
    return `commit:${t.id}:${claim.epoch}:${claim.attempts ?? 0}`;
  }

  /**
   * The task is held by a commitment: reveal it if it is this node's, forfeit it once its window to
   * reveal is over — another solver's, or this node's own when it could not reveal in time (down,
   * slow, or the chain's clock moved past `revealBy`): the reveal would revert for ever and the task
   * stay held; the bond is lost either way, forfeiting reopens the task and the node commits again.
   */
  private async onCommitment(t: TaskRecord): Promise<void> {
    const c = t.commitment!;
    const view = await this.contracts.taskOf(t.id);
    if (view.stage !== Stage.Open) {
      await this.stageOf(t);
      return;
    }
    if (!view.committed || view.revealed) return; // events to come
    const late = this.chainNow() > view.revealBy;
    if (this.isMe(c.solver) && !late) {
      const claim = (t.claims ?? []).find((x) => commitmentOf(this.address, x.finalRoot, x.salt).toLowerCase() === c.commitment.toLowerCase());
      if (!claim) {
        if (!this.warned.has(t.id)) {
          this.warned.add(t.id);
          this.log.warn("a commitment of this node that its store does not know (it cannot be revealed; forfeited after its window)", { taskId: t.id, commitment: c.commitment });
        }
        return;
      }
      const intent = `reveal:${t.id}:${c.block}`;
      if (this.sent(intent)) return; // waiting for its Revealed event
      const out = await this.send(intent, this.contracts.reveal(t.id, claim.finalRoot, claim.steps, claim.output, claim.opening, claim.salt));
      if (out?.status === "mined") this.log.info("revealed", { taskId: t.id, tx: out.hash, gasUsed: out.gasUsed });
      return;
    }
    if (!late) return;
    if (this.isMe(c.solver) && !this.sent(`forfeit:${t.id}:${c.block}`)) this.log.warn("own commitment not revealed in time: forfeiting it, committing again", { taskId: t.id, revealBy: view.revealBy, commitBlock: c.block });
    const out = await this.send(`forfeit:${t.id}:${c.block}`, this.contracts.forfeit(t.id));
    if (out?.status === "mined") this.log.info("forfeited a commitment not revealed in time", { taskId: t.id, solver: c.solver, tx: out.hash });
  }

  private accepts(t: TaskRecord): string | null {
    const o = this.solverOpts;
    if (o.acceptRoots && o.acceptRoots.length && !o.acceptRoots.some((r) => r.toLowerCase() === t.programRoot.toLowerCase())) return "program not in the accepted list";
    if (o.maxStepLimit !== undefined && t.limits.steps > o.maxStepLimit) return `step limit ${t.limits.steps} above ${o.maxStepLimit}`;
    if (o.maxMemoryPages !== undefined && t.limits.memoryPages > o.maxMemoryPages) return `memory limit ${t.limits.memoryPages} pages above ${o.maxMemoryPages}`;
    // priced on the step limit: a run may go up to it (and trap there), so that is what the solver commits to
    if (o.minRewardPerMSteps !== undefined && t.reward !== undefined && t.reward * 1_000_000n < o.minRewardPerMSteps * BigInt(t.limits.steps)) return `reward ${t.reward} below ${o.minRewardPerMSteps} per million steps of the limit ${t.limits.steps}`;
    return null;
  }

  private async maybeCommit(t: TaskRecord): Promise<void> {
    let claim = (t.claims ?? []).find((c) => c.epoch === t.epoch);
    if (claim && this.sent(this.commitIntent(t, claim))) return; // waiting for its Committed event
    const why = this.accepts(t);
    if (why) {
      t.program = "refused";
      t.refusal = why;
      this.saveTask(t);
      this.log.info("task declined", { taskId: t.id, reason: why });
      return;
    }
    const view = await this.contracts.taskOf(t.id);
    if (view.stage !== Stage.Open) {
      await this.stageOf(t);
      return;
    }
    if (view.committed) return; // held by someone (event to come)
    if (view.reward < (this.solverOpts.minReward ?? 0n)) return;
    if (this.chainNow() + (this.solverOpts.deadlineMargin ?? 5) > view.deadline) return;
    const run = await this.taskRun(t);
    if (!run) return;
    const r = await run.run();
    if (!claim) {
      const first = (t.claims ?? []).length === 0;
      const lie = first && (this.solverOpts.lieOutput || this.solverOpts.lieFromStep != null);
      const salt = hexlify(randomBytes(32));
      if (lie) {
        const falseOutput = this.solverOpts.falseOutput?.(getBytes(r.output));
        const f = falseClaim(r.opening, r.output, falseOutput ? { output: falseOutput } : {});
        let from = this.solverOpts.lieFromStep ?? r.steps;
        if (from < 1n) from = 1n;
        if (from > r.steps) from = r.steps;
        claim = { epoch: t.epoch, finalRoot: f.finalRoot, steps: f.steps, output: f.output, opening: f.opening, salt, lieFrom: from };
      } else claim = { epoch: t.epoch, finalRoot: r.finalRoot, steps: r.steps, output: r.output, opening: r.opening, salt, lieFrom: null };
      // recorded before anything is sent: after a restart the node knows which claim it reveals and defends
      t.claims = [...(t.claims ?? []), claim];
      this.saveTask(t);
    }
    this.log.info("committing", { taskId: t.id, steps: claim.steps, finalRoot: claim.finalRoot, output: claim.output.length > 200 ? `${claim.output.slice(0, 200)}…` : claim.output, lie: claim.lieFrom !== null, lieFrom: claim.lieFrom });
    const out = await this.send(this.commitIntent(t, claim), this.contracts.commit(t.id, commitmentOf(this.address, claim.finalRoot, claim.salt), view.solverBond));
    if (out?.status === "mined") this.log.info("committed", { taskId: t.id, tx: out.hash, gasUsed: out.gasUsed });
    else if (out?.status === "reverted") {
      // another commitment came first: try again once the task is free
      claim.attempts = (claim.attempts ?? 0) + 1;
      this.saveTask(t);
    }
  }

  private async maybeFinalize(t: TaskRecord): Promise<void> {
    const sol = t.solution!;
    const intent = `finalize:${t.id}:${t.epoch}`;
    if (this.sent(intent)) return;
    if (this.activeGames("solver").some((g) => g.taskId === t.id)) return;
    const claim = await this.claimFor(t, sol.finalRoot);
    if (!claim) return;
    const view = await this.contracts.taskOf(t.id);
    if (view.stage !== Stage.Open) {
      await this.stageOf(t);
      return;
    }
    if (this.chainNow() <= view.commitTime + view.window || view.openGames > 0) return;
    const out = await this.send(intent, this.contracts.finalize(t.id, t.initialRoot, sol.finalRoot, sol.output));
    if (out?.status === "mined") this.log.info("finalized", { taskId: t.id, tx: out.hash });
  }

  /**
   * The claim this node committed with final root `root`. A store that lost it (wiped, or from
   * another machine) is rebuilt for an honest claim: the true result's root identifies it.
   */
  private async claimFor(t: TaskRecord, root: Hex): Promise<CommittedClaim | undefined> {
    const known = (t.claims ?? []).find((c) => c.finalRoot.toLowerCase() === root.toLowerCase());
    if (known) return known;
    const run = await this.taskRun(t);
    const r = run && (await run.run());
    if (!r || r.finalRoot.toLowerCase() !== root.toLowerCase()) return undefined;
    const claim: CommittedClaim = { epoch: t.epoch, finalRoot: r.finalRoot, steps: r.steps, output: r.output, opening: r.opening, salt: hexlify(randomBytes(32)), lieFrom: null };
    t.claims = [...(t.claims ?? []), claim];
    this.saveTask(t);
    return claim;
  }

  /** The roots this node stands by at `points`: the claim's (true before lieFrom, made up after). */
  private async claimRoots(t: TaskRecord, run: RunHandle, claim: CommittedClaim, points: bigint[]): Promise<Hex[]> {
    const lieFrom = claim.lieFrom ?? claim.steps + 1n;
    const honest = points.filter((p) => p < lieFrom && p < claim.steps);
    const truth = await run.rootsAt(honest);
    const byPoint = new Map(honest.map((p, i) => [p, truth[i]]));
    return points.map((p) => {
      if (p >= claim.steps) return claim.finalRoot;
      if (p >= lieFrom) return keccak256(solidityPacked(["string", "uint256", "uint256"], ["truewasm lie", t.id, p]));
      return byPoint.get(p)!;
    });
  }

  private async play(g: GameRecord): Promise<void> {
    const t = this.task(g.taskId!);
    if (!t) return;
    const claim = await this.claimFor(t, g.claimRoot);
    if (!claim) {
      this.log.warn("game against an unknown claim", { gameId: g.id, claimRoot: g.claimRoot });
      return;
    }
    const v = await this.liveGame(g);
    if (!v) return;
    const run = await this.taskRun(t);
    if (!run) return;
    const pos = g.position;
    if (v.phase === Phase.Bisect) {
      const roots = await this.claimRoots(t, run, claim, innerPoints(pos.lo, pos.hi, this.k));
      const out = await this.send(`bisect:${g.id}:${pos.lo}-${pos.hi}`, this.contracts.bisect(g.id, roots));
      if (out?.status === "mined") this.log.info("bisected", { gameId: g.id, lo: pos.lo, hi: pos.hi, roots: roots.length, gasUsed: out.gasUsed });
    } else if (v.phase === Phase.Step) {
      // the prover accepts the step only if the true post-state is the claimed one
      const [trueLo, trueHi] = await run.rootsAt([pos.lo, pos.hi]);
      if (trueLo.toLowerCase() !== pos.rootLo.toLowerCase() || trueHi.toLowerCase() !== pos.rootHi.toLowerCase()) {
        if (!this.warned.has(g.id)) {
          this.warned.add(g.id);
          this.log.warn("cannot prove the step (the claim is false there)", { gameId: g.id, lo: pos.lo });
        }
        return;
      }
      const witness = await run.witnessAt(pos.lo);
      const out = await this.send(`prove:${g.id}`, this.contracts.proveStep(g.id, pos.rootLo, pos.rootHi, witness));
      if (out?.status === "mined") this.log.info("step proven", { gameId: g.id, step: pos.lo, witnessBytes: (witness.length - 2) / 2, gasUsed: out.gasUsed });
    } else await this.claimTimeout(g, v);
  }
}

/** A running solver node (in-process API). */
export interface NodeHandle<N> {
  node: N;
  /** Resolves when the node has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export function startSolver(opts: SolverOptions): NodeHandle<SolverNode> {
  const node = new SolverNode(opts);
  const done = node.start();
  return { node, done, stop: () => node.stop() };
}
