/**
 * The challenger node: checks every committed result by re-running the task, challenges the wrong
 * ones within their window, plays each game to the one-step proof (names the first segment it
 * disagrees with, proves the solver's last step wrong), claims timeouts, releases games made moot
 * by another game's win, and withdraws.
 *
 * Runs ahead of the reveal: a task is run as soon as it is seen (`prerun`), in the background
 * (below every move in a live game and every check of a revealed solution, client/runs.ts), so
 * that its true result is known when a solution is revealed and the check is a comparison. The
 * operator bounds this work (`prerunMaxSteps`, `prerunMaxMemoryPages`, `prerunRuns`, or off); a
 * task outside those bounds is run when a solution of it is revealed, as before.
 *
 * Test behaviour (off unless asked): `challengeCorrect` challenges correct results too (and then,
 * agreeing with every root, disputes the last segment of each round).
 */
import { keccak256 } from "ethers";
import { Stage } from "../client/contracts.js";
import { chooseSegment, Phase, roundPoints } from "../client/game.js";
import { BACKGROUND_PRIORITY, Node, type GameRecord, type NodeOptions, type TaskRecord } from "../client/node.js";
import type { NodeHandle } from "../solver/solver.js";

export interface ChallengerOptions extends NodeOptions {
  /** Test behaviour: challenge correct results too. */
  challengeCorrect?: boolean;
  /** Run tasks as soon as they are seen, before any solution is revealed. Default true. */
  prerun?: boolean;
  /** Run ahead only tasks whose step limit is at most this (the rest: when a solution is revealed). */
  prerunMaxSteps?: number;
  /** Run ahead only tasks whose memory limit is at most this many 64 KiB pages. */
  prerunMaxMemoryPages?: number;
  /** Runs ahead of a reveal at once (default: the worker threads, at least 1). */
  prerunRuns?: number;
}

export class ChallengerNode extends Node {
  constructor(private readonly challengerOpts: ChallengerOptions) {
    super("challenger", challengerOpts);
  }

  protected async act(): Promise<void> {
    for (const t of [...this.tasks.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (this.signal.aborted) return;
      if (t.stage !== "open" || t.program === "refused" || !t.solution) continue;
      if (t.solution.solver.toLowerCase() === this.address.toLowerCase()) continue;
      this.spawn(`task:${t.id}`, () => this.check(t), this.taskPriority(t));
    }
    for (const g of this.activeGames("challenger")) {
      if (this.signal.aborted) return;
      this.spawn(`game:${g.id}`, () => this.play(g), this.gamePriority(g));
    }
    this.prerunTasks();
  }

  private readonly prerunDeclined = new Set<string>();

  /** Why a task is not run ahead of its reveal (null: it is). */
  private prerunPolicy(t: TaskRecord): string | null {
    const o = this.challengerOpts;
    if (o.prerunMaxSteps !== undefined && t.limits.steps > o.prerunMaxSteps) return `step limit ${t.limits.steps} above ${o.prerunMaxSteps}`;
    if (o.prerunMaxMemoryPages !== undefined && t.limits.memoryPages > o.prerunMaxMemoryPages) return `memory limit ${t.limits.memoryPages} pages above ${o.prerunMaxMemoryPages}`;
    return null;
  }

  /**
   * Starts runs ahead of the reveal, up to `prerunRuns` at once, earliest deadline first: tasks open,
   * with no solution revealed yet (a revealed one is run by its check), no truth known, within the
   * policy, and still solvable (before the deadline, or held by a commitment still to be revealed).
   */
  private prerunTasks(): void {
    const o = this.challengerOpts;
    if (o.prerun === false) return;
    let free = Math.max(1, o.prerunRuns ?? this.pool.threads) - this.activitiesOf("prerun:");
    if (free <= 0) return;
    const now = this.chainNow();
    const todo = [...this.tasks.values()].filter((t) => t.stage === "open" && t.program !== "refused" && !t.solution && !this.truthOf(t) && (t.commitment || t.deadline === undefined || now <= t.deadline));
    todo.sort((a, b) => (a.deadline ?? Infinity) - (b.deadline ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const t of todo) {
      if (free <= 0 || this.signal.aborted) return;
      const key = t.id.toString();
      if (this.busy(`prerun:${key}`)) continue;
      const why = this.prerunPolicy(t);
      if (why) {
        if (!this.prerunDeclined.has(key)) {
          this.prerunDeclined.add(key);
          this.log.info("not run ahead", { taskId: t.id, reason: why });
        }
        continue;
      }
      free--;
      this.spawn(`prerun:${key}`, () => this.prerun(t), BACKGROUND_PRIORITY + (t.deadline ?? now + 86_400));
    }
  }

  /** Runs the task ahead of its reveal and records its true result. */
  private async prerun(t: TaskRecord): Promise<void> {
    if (this.truthOf(t)) return;
    const run = await this.taskRun(t);
    if (!run) return;
    const r = await run.run();
    const truth = this.recordTruth(t, r, "prerun");
    this.log.info("verdict ready", { taskId: t.id, finalRoot: truth.finalRoot, steps: truth.steps, exitCode: truth.exitCode, before: t.solution ? "check" : "reveal" });
  }

  /** Verifies the solution held by re-running the task; challenges it when wrong. */
  private async check(t: TaskRecord): Promise<void> {
    const sol = t.solution!;
    const intent = `challenge:${t.id}:${t.epoch}`;
    if (this.sent(intent)) return;
    const known = t.verdict && t.verdict.epoch === t.epoch && t.verdict.finalRoot.toLowerCase() === sol.finalRoot.toLowerCase() ? t.verdict : null;
    if (known && (known.correct === null || (known.correct && !this.challengerOpts.challengeCorrect))) return;
    const view = await this.contracts.taskOf(t.id);
    if (view.stage !== Stage.Open) {
      await this.stageOf(t);
      return;
    }
    if (view.solver.toLowerCase() !== sol.solver.toLowerCase()) return; // events to come
    if (this.chainNow() > view.commitTime + view.window) {
      if (!known) {
        this.log.info("window closed before the check", { taskId: t.id });
        t.verdict = { epoch: t.epoch, finalRoot: sol.finalRoot, correct: null };
        this.saveTask(t);
      }
      return;
    }
    let correct = known?.correct;
    if (correct == null) {
      // the true result: known when the task was run ahead of the reveal (then this is a comparison)
      let truth = this.truthOf(t);
      const ahead = truth !== null;
      if (!truth) {
        const run = await this.taskRun(t);
        if (!run) return;
        truth = this.recordTruth(t, await run.run(), "check");
      }
      correct = truth.finalRoot.toLowerCase() === sol.finalRoot.toLowerCase();
      t.verdict = { epoch: t.epoch, finalRoot: sol.finalRoot, correct };
      this.saveTask(t);
      this.log.info(correct ? "solution verified" : "solution wrong", { taskId: t.id, claimed: sol.finalRoot, computed: truth.finalRoot, claimedSteps: sol.steps, steps: truth.steps, ranAhead: ahead });
    }
    if (correct && !this.challengerOpts.challengeCorrect) return;
    const out = await this.send(intent, this.contracts.challenge(t.id, t.initialRoot, sol.finalRoot, keccak256(sol.output), view.challengerBond));
    if (out?.status === "mined") {
      t.challenged = [...(t.challenged ?? []), t.epoch];
      this.saveTask(t);
      this.log.info("challenged", { taskId: t.id, tx: out.hash, gasUsed: out.gasUsed });
    }
  }

  /**
   * A correct solution needs no run kept (unless it is challenged anyway, or a game needs it); nor a
   * task run ahead of its reveal, while no solution is held: its snapshots stay on disk (runs/<task>/),
   * and a game reopens the run from them. Without disk snapshots that run stays in memory.
   */
  protected needsRun(t: TaskRecord): boolean {
    if (t.verdict && t.verdict.epoch === t.epoch && t.verdict.correct === true && !this.challengerOpts.challengeCorrect) return false;
    if (!t.solution && this.truthOf(t) && this.opts.diskSnapshots !== false) return false;
    return true;
  }

  private async play(g: GameRecord): Promise<void> {
    const t = this.task(g.taskId!);
    if (!t) return;
    if (g.epoch !== null && (t.epoch !== g.epoch || t.stage !== "open")) {
      // the solution was defeated in another game (or the task ended): the game is moot
      const c = await this.contracts.challengeOf(g.id);
      if (c.live) {
        const out = await this.send(`release:${g.id}`, this.contracts.release(g.id));
        if (out?.status === "mined") this.log.info("moot game released", { gameId: g.id });
      }
      return;
    }
    const v = await this.liveGame(g);
    if (!v) return;
    const run = await this.taskRun(t);
    if (!run) return;
    const pos = g.position;
    if (v.phase === Phase.Select) {
      const pts = roundPoints(pos, this.k);
      const ends = [pos.rootLo, ...pos.roots!, pos.rootHi];
      const mine = await run.rootsAt(pts.slice(1));
      const index = chooseSegment(ends, [ends[0], ...mine]);
      const out = await this.send(`select:${g.id}:${pos.lo}-${pos.hi}`, this.contracts.select(g.id, pos.rootLo, pos.rootHi, pos.roots!, index));
      if (out?.status === "mined") this.log.info("selected", { gameId: g.id, lo: pts[index], hi: pts[index + 1], index, gasUsed: out.gasUsed });
    } else if (v.phase === Phase.Step) {
      const trueHi = await run.rootAt(pos.hi);
      if (trueHi.toLowerCase() === pos.rootHi.toLowerCase()) {
        // the solver's step is right: only its clock can decide now
        await this.claimTimeout(g, v);
        return;
      }
      const witness = await run.witnessAt(pos.lo);
      const out = await this.send(`prove:${g.id}`, this.contracts.proveStep(g.id, pos.rootLo, pos.rootHi, witness));
      if (out?.status === "mined") this.log.info("step proven wrong", { gameId: g.id, step: pos.lo, witnessBytes: (witness.length - 2) / 2, gasUsed: out.gasUsed });
    } else await this.claimTimeout(g, v);
  }
}

export function startChallenger(opts: ChallengerOptions): NodeHandle<ChallengerNode> {
  const node = new ChallengerNode(opts);
  const done = node.start();
  return { node, done, stop: () => node.stop() };
}
