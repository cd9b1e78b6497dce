/**
 * What the solver and the challenger nodes share: the main loop (sync the chain's events from the
 * persisted cursor, then act), the records of tasks and games in the store, the machine runs, the
 * transaction manager, withdrawals, timeouts and transcripts. The roles (solver/, verifier/) only
 * decide which moves to make.
 *
 * Restarts: everything a node needs to carry on is either in its store (cursor, tasks, games, sent
 * transactions) or on the chain; machine state is rebuilt by re-running the task once (with
 * checkpoints) when a game needs it. Events are applied idempotently (each record keeps the
 * position of the last event applied), the cursor is written after its chunk, and every transaction
 * has an intent key, so a node killed at any point and started again neither misses nor repeats
 * anything.
 */
import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { hexlify, keccak256, type Provider, type Wallet } from "ethers";
import type { Limits } from "../interpreter/isa.js";
import { createRegistry, NodeMetrics, Rate, serveMetrics, type MetricsServer } from "./metrics.js";
import { ChainSync, checkInitialRoot, fetchProgram, taskInput, type ChainEvent, type EventOf, type VerifiedProgram } from "./chain.js";
import { Contracts, Stage, type Call, type GameView } from "./contracts.js";
import type { Deployment } from "./deployment.js";
import type { Hex } from "./encoding.js";
import type { RunOptions } from "./runs.js";
import { activity, MachinePool, type RunProxy } from "./workers.js";
import { afterBisect, afterSelect, isActive, openingPosition, Phase, positionPhase, type Position } from "./game.js";
import { toJson } from "./store.js";
import { createLogger, errorMessage, type Logger } from "./log.js";
import { AbortedError, retry, sleep, type RetryOptions } from "./rpc.js";
import { Store } from "./store.js";
import { buildTranscript } from "./transcript.js";
import { TxManager, TxWouldRevert, type TxOutcome } from "./txs.js";

export type Role = "solver" | "challenger";

export interface NodeOptions {
  provider: Provider;
  wallet: Wallet;
  deployment: Deployment;
  /** The store's directory. */
  dataDir: string;
  /** Poll interval (ms). Default 2000. */
  pollMs?: number;
  /** Confirmations before events are acted on. Default 0. */
  confirmations?: number;
  log?: Logger;
  run?: RunOptions;
  /** Machine worker threads (0: runs in the node's thread). Default 1. */
  workers?: number;
  /** Serve Prometheus metrics and a health check on this address (off when absent). */
  metrics?: { host?: string; port: number } | null;
  /** Call `expire` for tasks past their deadline with no solution, this many seconds after it (off when absent). */
  expireAfter?: number | null;
  /** On a first start, follow only tasks posted in the last this-many seconds (default: since the deployment). */
  gameWindow?: number | null;
  /** Block hashes and undo records kept for reorgs (blocks). Default 256. */
  reorgDepth?: number;
  /** Keep machine snapshots on disk (runs/<task>/), so a restart resumes from them. Default true. */
  diskSnapshots?: boolean;
  retry?: RetryOptions;
  /** Write a transcript of each finished game. Default true. */
  transcripts?: boolean;
}

/** A revealed solution (the Revealed event). */
export interface SolutionRecord {
  solver: string;
  finalRoot: Hex;
  steps: bigint;
  status: number;
  /** Exit code when halted. */
  exitCode: number;
  /** Trap code when trapped. */
  trap: number;
  output: Hex;
  tx: Hex;
  block: number;
  /** Chain time (estimated) when the node applied the commitment: its window runs from about then. */
  at?: number;
}

/** A commitment holding the task, not revealed yet (the Committed event). */
export interface CommitmentRecord {
  solver: string;
  commitment: Hex;
  tx: Hex;
  block: number;
}

/** A claim this node (the solver) committed, recorded before the transaction is sent. */
export interface CommittedClaim {
  epoch: number;
  finalRoot: Hex;
  steps: bigint;
  output: Hex;
  opening: Hex;
  /** The salt of its commitment (keccak256(solver ‖ finalRoot ‖ salt)). */
  salt: Hex;
  /** Commitments sent for it so far (a commitment lost to another one is sent again later). */
  attempts?: number;
  /** Test behaviour: the claim's roots are made up from this step on (null: an honest claim). */
  lieFrom: bigint | null;
}

export interface TaskRecord {
  id: bigint;
  programRoot: Hex;
  poster: string;
  initialRoot: Hex;
  limits: Limits;
  inputLength: number;
  postTx: Hex;
  postBlock: number;
  /** Input logged in the event (contract posters), else fetched from the post calldata when needed. */
  loggedInput: Hex | null;
  program: "unknown" | "ok" | "refused";
  refusal?: string;
  stage: "open" | "finalized" | "expired";
  /** Solutions defeated so far (the market's epoch). */
  epoch: number;
  /** The commitment holding the task while it is not revealed. */
  commitment?: CommitmentRecord | null;
  solution: SolutionRecord | null;
  games: bigint[];
  seen: string;
  /** Terms read once from taskOf (immutable): the deadline and the challenge window (seconds). */
  deadline?: number;
  window?: number;
  reward?: bigint;
  solverBond?: bigint;
  challengerBond?: bigint;
  /** Role data. */
  claims?: CommittedClaim[];
  /** The challenger's check of the solution held: null when its window closed before the check. */
  verdict?: { epoch: number; finalRoot: Hex; correct: boolean | null };
  /** The task's true result, from this node's own run (the challenger's, ahead of any reveal when it can). */
  truth?: TruthRecord;
  challenged?: number[];
  finalizeTried?: number;
}

/** A task's true result as this node's run computed it (for the initial root it was computed from). */
export interface TruthRecord {
  initialRoot: Hex;
  finalRoot: Hex;
  steps: bigint;
  status: number;
  exitCode: number;
  trap: number;
  /** keccak256 of the output. */
  outputHash: Hex;
  /** Computed before any solution was revealed ("prerun") or when checking one ("check"). */
  by: "prerun" | "check";
}

/**
 * Priority of background work (added to its deadline): below every activity with a real deadline
 * (moves in live games, checks of revealed solutions, a solver's runs), ordered by deadline among itself.
 */
export const BACKGROUND_PRIORITY = 2 ** 40;

export interface GameRecord {
  id: bigint;
  taskId: bigint | null;
  solver: string;
  challenger: string;
  role: Role;
  steps: bigint;
  /** The solver's claimed final root (the game's root at `steps`). */
  claimRoot: Hex;
  openedBlock: number;
  /** The market's epoch of the task when the game was opened. */
  epoch: number | null;
  position: Position;
  result: null | { solverWon: boolean; timeout: boolean } | { aborted: true };
  transcript?: string;
  seen: string;
}

/** What the roles use of a task's machine run (client/execution.ts: TaskRun; or its worker proxy). */
export interface RunHandle {
  run(): Promise<{ steps: bigint; status: number; trap: number; exitCode?: number; finalRoot: Hex; output: Hex; opening: Hex }>;
  rootsAt(points: readonly bigint[]): Promise<Hex[]>;
  rootAt(t: bigint): Promise<Hex>;
  witnessAt(t: bigint): Promise<Hex>;
}

export { activity };

/** Task record fields the node decides itself (kept by a rollback; the rest comes from events). */
const TASK_DECISIONS = ["claims", "verdict", "truth", "challenged", "finalizeTried", "program", "refusal", "deadline", "window", "reward", "solverBond", "challengerBond"];

/** The store belongs to another chain or deployment (message says what to do). */
export class ChainMismatchError extends Error {}

/**
 * Puts `record` back to `before` in place (activities hold the record itself: a new object would
 * leave them writing a stale copy over the rolled-back one), keeping the fields in `keep`.
 */
function restore<T extends object>(record: T, before: T, keep: readonly string[]): T {
  const r = record as Record<string, unknown>;
  for (const f of Object.keys(r)) if (!keep.includes(f)) delete r[f];
  for (const [f, v] of Object.entries(before)) if (!keep.includes(f) || !(f in r)) r[f] = v;
  return record;
}

function eventKey(e: ChainEvent): string {
  return `${e.block}.${e.logIndex}`;
}
function after(key: string, seen: string): boolean {
  if (!seen) return true;
  const [b1, l1] = key.split(".").map(Number);
  const [b2, l2] = seen.split(".").map(Number);
  return b1 > b2 || (b1 === b2 && l1 > l2);
}

export abstract class Node {
  readonly store: Store;
  readonly contracts: Contracts;
  readonly txs: TxManager;
  readonly sync: ChainSync;
  readonly log: Logger;
  readonly address: string;
  readonly k: number;
  protected readonly provider: Provider;
  protected readonly deployment: Deployment;
  protected readonly tasks = new Map<string, TaskRecord>();
  protected readonly games = new Map<string, GameRecord>();
  protected readonly runs = new Map<string, RunProxy>();
  /** The machine runs, off the event loop. */
  readonly pool: MachinePool;
  readonly metrics: NodeMetrics;
  private metricsServer: MetricsServer | null = null;
  private readonly stepRate = new Rate();
  private lastTickOk = Date.now();
  private lastBalanceAt = 0;
  private head = 0;
  /** Per game: the deadline of the party to move and whether it is this node. */
  private readonly clocks = new Map<string, { deadline: number; mine: boolean }>();
  private readonly programs = new Map<string, VerifiedProgram | null>();
  private readonly controller = new AbortController();
  private readonly retryOpts: RetryOptions;
  private owedCheck = true;
  private stopped: Promise<void> | null = null;
  private clock: { block: number; timestamp: number; seenAt: number } | null = null;
  private failing = new Map<string, number>();
  private snapshotMeta = new Map<string, string>();
  /** Activities in progress (spawn), by key: at most one per task and one per game. */
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(
    readonly role: Role,
    protected readonly opts: NodeOptions,
  ) {
    this.provider = opts.provider;
    this.deployment = opts.deployment;
    this.store = new Store(opts.dataDir);
    this.log = (opts.log ?? createLogger()).child({ node: role });
    this.metrics = new NodeMetrics(createRegistry({ role }));
    const counting = (l: Logger): Logger => ({
      ...l,
      warn: (msg, f) => {
        if (msg === "rpc retry") this.metrics.rpcRetries.inc();
        l.warn(msg, f);
      },
      child: (f) => counting(l.child(f)),
    });
    this.retryOpts = { log: counting(this.log), signal: this.controller.signal, ...opts.retry };
    this.contracts = new Contracts(opts.provider, { market: opts.deployment.market, game: opts.deployment.game }, this.retryOpts);
    const wallet = opts.wallet.provider ? opts.wallet : opts.wallet.connect(opts.provider);
    this.address = wallet.address;
    this.k = opts.deployment.parameters.k;
    this.txs = new TxManager(opts.provider, wallet, this.store, {
      pollMs: Math.min(opts.pollMs ?? 2000, 500),
      confirmations: opts.confirmations ?? 0,
      log: this.log,
      signal: this.controller.signal,
      retry: this.retryOpts,
      contracts: this.contracts,
    });
    this.sync = new ChainSync(opts.provider, this.contracts, this.store, opts.deployment.block, opts.deployment.chainId, { confirmations: opts.confirmations ?? 0, reorgDepth: opts.reorgDepth, log: this.log, retry: this.retryOpts });
    const meta = this.store.getRoot<{ role: Role; address: string }>("meta");
    if (meta && (meta.role !== role || meta.address.toLowerCase() !== this.address.toLowerCase())) throw new Error(`the store at ${opts.dataDir} belongs to the ${meta.role} ${meta.address}`);
    this.store.putRoot("meta", { ...meta, role, address: this.address, market: opts.deployment.market, chainId: opts.deployment.chainId });
    this.journalKeys = [...this.store.all<{ block: number }>("journal")].map(([k, x]) => [x.block, k] as [number, string]).sort((a, b) => a[0] - b[0]);
    for (const [key, t] of this.store.all<TaskRecord>("tasks")) this.tasks.set(key, t);
    for (const [key, g] of this.store.all<GameRecord>("games")) this.games.set(key, g);
    // run directories left by an earlier process: deleted once their task is over (pruneRuns)
    if (opts.diskSnapshots !== false && existsSync(this.runsDir)) for (const key of readdirSync(this.runsDir)) this.parked.add(key);
    this.pool = new MachinePool({ workers: opts.workers ?? 1, log: this.log });
    this.pool.onSteps = (d) => this.metrics.stepsExecuted.inc(d);
    this.txs.onSent = (r) => {
      this.metrics.movesSent.inc({ kind: r.intent.split(":")[0] });
      this.log.info("move sent", { intent: r.intent, hash: r.hash, stepsExecuted: this.stepsExecuted });
    };
  }

  /** The metrics server's address (when `metrics` was given and the node started). */
  get metricsUrl(): string | null {
    return this.metricsServer?.url ?? null;
  }

  /** Healthy: a tick completed recently, the node is not stopping. */
  health(): { ok: boolean; [k: string]: unknown } {
    const ago = (Date.now() - this.lastTickOk) / 1000;
    const limit = Math.max(60, (20 * (this.opts.pollMs ?? 2000)) / 1000);
    const mine = [...this.clocks.values()].filter((c) => c.mine).map((c) => c.deadline - this.chainNow());
    return {
      ok: !this.signal.aborted && ago <= limit,
      role: this.role,
      address: this.address,
      lastTickSecondsAgo: +ago.toFixed(1),
      cursor: this.sync.cursor.block,
      head: this.head,
      activities: this.inflight.size,
      runsInFlight: this.pool.inFlight,
      clockLeftSeconds: mine.length ? Math.min(...mine) : null,
    };
  }

  private async updateMetrics(): Promise<void> {
    const m = this.metrics;
    m.runsInFlight.set(this.pool.inFlight);
    m.stepsPerSecond.set(this.stepRate.sample(this.stepsExecuted));
    m.cursorBlock.set(this.sync.cursor.block);
    if (this.clock) m.headBlock.set((this.head = this.clock.block));
    m.lastTick.set(Date.now() / 1000);
    m.games.reset();
    let bonds = 0n;
    for (const g of this.games.values()) {
      const phase = g.result === null ? ["bisect", "select", "step"][positionPhase(g.position) - 1] ?? "other" : "aborted" in g.result ? "aborted" : g.result.solverWon === (g.role === "solver") ? "won" : "lost";
      m.games.inc({ phase });
      if (g.result !== null) this.clocks.delete(g.id.toString());
      else if (g.role === "challenger" && g.taskId !== null) bonds += this.task(g.taskId)?.challengerBond ?? 0n;
    }
    for (const t of this.tasks.values()) if (t.stage === "open" && t.solution && this.mine(t.solution.solver)) bonds += t.solverBond ?? 0n;
    m.bondsHeld.set(Number(bonds) / 1e18);
    const mine = [...this.clocks.values()].filter((c) => c.mine).map((c) => c.deadline - this.chainNow());
    m.clockLeft.set(mine.length ? Math.min(...mine) : Infinity);
    if (Date.now() - this.lastBalanceAt > 5_000) {
      this.lastBalanceAt = Date.now();
      m.balance.set(Number(await retry(() => this.provider.getBalance(this.address), { what: "getBalance", ...this.retryOpts })) / 1e18);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Steps executed by this node's machines (all tasks, since start). */
  get stepsExecuted(): number {
    return this.pool.stepsExecuted;
  }

  /** Runs until stop(): recovers pending transactions, then polls and acts. */
  start(): Promise<void> {
    this.stopped ??= this.loop();
    return this.stopped;
  }

  /** Asks the loop to stop: the current RPC call is abandoned, the store is already persisted. */
  async stop(): Promise<void> {
    this.controller.abort();
    await this.stopped;
  }

  private async loop(): Promise<void> {
    try {
      await this.checkChain();
    } catch (e) {
      await this.pool.close();
      if (e instanceof AbortedError) return;
      this.log.error("refused to start", { error: errorMessage(e) });
      throw e;
    }
    if (this.opts.metrics) this.metricsServer = await serveMetrics({ ...this.opts.metrics, registry: this.metrics.registry, health: () => this.health(), log: this.log });
    if (this.sync.cursor.block < this.deployment.block && this.opts.gameWindow) await this.startWindow(this.opts.gameWindow);
    this.log.info("started", { address: this.address, market: this.deployment.market, chainId: this.deployment.chainId, cursor: this.sync.cursor.block, tasks: this.tasks.size, games: this.games.size });
    try {
      await this.txs.recover();
    } catch (e) {
      if (!(e instanceof AbortedError)) this.log.error("recovery failed", { error: errorMessage(e) });
    }
    while (!this.signal.aborted) {
      try {
        await this.tick();
        this.lastTickOk = Date.now();
      } catch (e) {
        if (e instanceof AbortedError || this.signal.aborted) break;
        this.metrics.tickFailures.inc();
        this.log.error("tick failed", { error: errorMessage(e) });
      }
      try {
        await sleep(this.opts.pollMs ?? 2000, this.signal);
      } catch {
        break;
      }
    }
    await Promise.allSettled([...this.inflight.values()]);
    await this.pool.close();
    await this.metricsServer?.close();
    this.log.info("stopped", { cursor: this.sync.cursor.block, stepsExecuted: this.stepsExecuted });
  }

  /** One round: new events, then the role's moves, withdrawals and transcripts. */
  async tick(): Promise<void> {
    await this.sync.poll(
      async (events) => {
        for (const e of events) {
          this.journal(e);
          await this.apply(e);
        }
      },
      this.signal,
      (ancestor) => this.rollback(ancestor),
    );
    await this.refreshClock();
    await this.act();
    await this.withdrawIfOwed();
    await this.writeTranscripts();
    this.pruneRuns();
    this.housekeeping();
    await this.updateMetrics();
  }

  /**
   * `expire` for tasks past their deadline with no solution held, `expireAfter` seconds after it
   * (docs/GAME.md: anyone may; the poster gets its reward back and its callback; the caller pays
   * the gas, callback included, and is paid nothing: an operator's service, off by default).
   */
  private housekeeping(): void {
    const after = this.opts.expireAfter;
    if (after == null) return;
    for (const t of this.tasks.values()) {
      if (t.stage !== "open" || t.solution || t.commitment || t.deadline === undefined || this.chainNow() <= t.deadline + after) continue;
      const intent = `expire:${t.id}`;
      if (this.sent(intent)) continue;
      this.spawn(intent, async () => {
        const out = await this.send(intent, this.contracts.expire(t.id));
        if (out?.status === "mined") this.log.info("task expired by this node", { taskId: t.id, tx: out.hash });
      }, t.deadline);
    }
  }

  /** First start with a game window: the sync starts at the first block of the window. */
  private async startWindow(seconds: number): Promise<void> {
    const r = this.retryOpts;
    const head = await retry(() => this.provider.getBlock("latest"), { what: "getBlock", ...r });
    if (!head) return;
    const since = head.timestamp - seconds;
    let lo = this.deployment.block, hi = head.number;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const b = await retry(() => this.provider.getBlock(mid), { what: "getBlock", ...r });
      if (b && b.timestamp >= since) hi = mid;
      else lo = mid + 1;
    }
    this.sync.cursor = { ...this.sync.cursor, block: lo - 1 };
    this.log.info("game window", { seconds, fromBlock: lo });
  }

  // ----------------------------------------------------------------------------------------------
  // Events -> records

  /**
   * Records are shared by reference: the event application and every activity working on a task or
   * game hold the same object, so a write by one never overwrites another's (a rollback restores
   * records in place for the same reason). A record a rollback deleted is not written again.
   */
  protected saveTask(t: TaskRecord): void {
    if (this.dropped.has(t)) return;
    this.tasks.set(t.id.toString(), t);
    this.store.put("tasks", t.id.toString(), t);
  }

  protected saveGame(g: GameRecord): void {
    if (this.dropped.has(g)) return;
    this.games.set(g.id.toString(), g);
    this.store.put("games", g.id.toString(), g);
  }

  protected task(id: bigint): TaskRecord | undefined {
    return this.tasks.get(id.toString());
  }

  protected game(id: bigint): GameRecord | undefined {
    return this.games.get(id.toString());
  }

  protected mine(addr: string): boolean {
    return addr.toLowerCase() === this.address.toLowerCase();
  }

  private async apply(e: ChainEvent): Promise<void> {
    const key = eventKey(e);
    switch (e.kind) {
      case "TaskPosted": {
        if (this.task(e.taskId)) return;
        const terms = await this.contracts.taskOf(e.taskId);
        this.saveTask({
          id: e.taskId,
          programRoot: e.programRoot,
          poster: e.poster,
          initialRoot: e.initialRoot,
          limits: e.limits,
          inputLength: e.inputLength,
          postTx: e.tx,
          postBlock: e.block,
          loggedInput: e.input !== "0x" ? e.input : null,
          program: "unknown",
          stage: "open",
          epoch: 0,
          solution: null,
          games: [],
          seen: key,
          deadline: terms.deadline,
          window: terms.window,
          reward: terms.reward,
          solverBond: terms.solverBond,
          challengerBond: terms.challengerBond,
        });
        this.metrics.tasksSeen.inc();
        this.log.info("task seen", { taskId: e.taskId, programRoot: e.programRoot, inputBytes: e.inputLength, stepLimit: e.limits.steps });
        return;
      }
      case "Committed":
      case "Revealed":
      case "Forfeited":
      case "ChallengerPaid":
      case "SolutionDefeated":
      case "Finalized":
      case "Expired":
      case "Challenged":
      case "ChallengeReleased": {
        const t = this.task(e.taskId);
        if (!t || !after(key, t.seen)) return;
        t.seen = key;
        if (e.kind === "Committed") {
          t.commitment = { solver: e.solver, commitment: e.commitment, tx: e.tx, block: e.block };
          this.log.info("solution committed", { taskId: e.taskId, solver: e.solver, commitment: e.commitment, mine: this.mine(e.solver) });
        } else if (e.kind === "Revealed") {
          t.commitment = null;
          t.solution = { solver: e.solver, finalRoot: e.finalRoot, steps: e.steps, status: e.status, exitCode: e.exitCode, trap: e.trap, output: e.output, tx: e.tx, block: e.block, at: this.chainNow() };
          this.log.info("solution revealed", { taskId: e.taskId, solver: e.solver, finalRoot: e.finalRoot, steps: e.steps, mine: this.mine(e.solver) });
        } else if (e.kind === "Forfeited") {
          this.log.info("commitment forfeited", { taskId: e.taskId, solver: t.commitment?.solver, mine: !!t.commitment && this.mine(t.commitment.solver) });
          t.commitment = null;
        } else if (e.kind === "ChallengerPaid") {
          if (this.mine(e.challenger)) {
            this.owedCheck = true;
            this.log.info("paid for a challenge", { taskId: e.taskId, gameId: e.gameId, refund: e.refund });
          }
        } else if (e.kind === "SolutionDefeated") {
          t.commitment = null;
          t.solution = null;
          t.epoch += 1;
          this.log.info("solution defeated", { taskId: e.taskId, solver: e.solver, gameId: e.gameId, mine: this.mine(e.solver) });
        } else if (e.kind === "Finalized") {
          t.stage = "finalized";
          this.log.info("task finalized", { taskId: e.taskId, solver: e.solver, mine: this.mine(e.solver) });
          if (this.mine(e.solver)) this.owedCheck = true;
        } else if (e.kind === "Expired") {
          t.stage = "expired";
          this.log.info("task expired", { taskId: e.taskId });
        } else if (e.kind === "Challenged") {
          if (!t.games.includes(e.gameId)) t.games.push(e.gameId);
          const g = this.game(e.gameId);
          if (g && g.taskId === null) {
            g.taskId = e.taskId;
            g.epoch = t.epoch;
            this.saveGame(g);
          }
        } else if (e.kind === "ChallengeReleased") {
          const g = this.game(e.gameId);
          if (g) this.owedCheck = true;
        }
        this.saveTask(t);
        await this.onTaskEvent(t, e);
        return;
      }
      case "GameOpened": {
        if (this.game(e.gameId)) return;
        const role: Role | null = this.mine(e.solver) ? "solver" : this.mine(e.challenger) ? "challenger" : null;
        if (!role) return;
        this.saveGame({
          id: e.gameId,
          taskId: null,
          solver: e.solver,
          challenger: e.challenger,
          role,
          steps: e.steps,
          claimRoot: e.rootHi,
          openedBlock: e.block,
          epoch: null,
          position: openingPosition(e.rootLo, e.rootHi, e.steps),
          result: null,
          seen: key,
        });
        this.log.info("game opened", { gameId: e.gameId, role, solver: e.solver, challenger: e.challenger, steps: e.steps });
        return;
      }
      case "Bisected":
      case "Selected":
      case "GameResolved":
      case "GameAborted": {
        const g = this.game(e.gameId);
        if (!g || !after(key, g.seen)) return;
        g.seen = key;
        if (e.kind === "Bisected") g.position = afterBisect(g.position, e.lo, e.hi, e.roots);
        else if (e.kind === "Selected") {
          g.position = afterSelect(g.position, e.index, this.k, e.lo, e.hi);
          this.log.info("segment selected", { gameId: g.id, index: e.index, lo: e.lo, hi: e.hi });
        } else if (e.kind === "GameResolved") {
          g.result = { solverWon: e.solverWon, timeout: e.timeout };
          const won = (g.role === "solver") === e.solverWon;
          this.log.info(won ? "game won" : "game lost", { gameId: g.id, role: g.role, solverWon: e.solverWon, timeout: e.timeout });
          this.owedCheck = true;
        } else {
          g.result = { aborted: true };
          this.log.info("game aborted", { gameId: g.id });
          this.owedCheck = true;
        }
        this.saveGame(g);
        return;
      }
      case "Withdrawal":
        return;
    }
  }

  // ----------------------------------------------------------------------------------------------
  // Reorgs and the chain the store belongs to

  /**
   * Before an event is applied: the records it may change (its task, its game), as they are, go to
   * the journal (`journal/<block>.<log>.json`, null for a record the event creates). A reorg below
   * that block restores them (rollback). Kept for `reorgDepth` blocks.
   */
  private journal(e: ChainEvent): void {
    const entry: { block: number; task?: [string, TaskRecord | null]; game?: [string, GameRecord | null] } = { block: e.block };
    if ("taskId" in e) entry.task = [e.taskId.toString(), this.task(e.taskId) ?? null];
    if ("gameId" in e) entry.game = [e.gameId.toString(), this.game(e.gameId) ?? null];
    if (!entry.task && !entry.game) return;
    this.store.put("journal", eventKey(e), entry);
    this.journalKeys.push([e.block, eventKey(e)]);
    const depth = this.opts.reorgDepth ?? 256;
    while (this.journalKeys.length && this.journalKeys[0][0] < e.block - depth) this.store.delete("journal", this.journalKeys.shift()![1]);
  }

  private journalKeys: [number, string][] = [];
  /** Records deleted by a rollback (created by events of the abandoned branch). */
  private readonly dropped = new WeakSet<object>();

  /**
   * The chain reorganised below what was applied: every record goes back to its state at the
   * common ancestor (the journal, newest first). What the node decided itself stays: a solver's
   * claims (recorded before its commit), the challenger's verdicts (per root), refusals. The
   * transactions mined after the ancestor are checked on the new branch (txs.ts): those it lacks are
   * sent again under the same intent when the move is still to be made.
   */
  private async rollback(ancestor: number): Promise<void> {
    const entries = [...this.store.all<{ block: number; task?: [string, TaskRecord | null]; game?: [string, GameRecord | null] }>("journal")]
      .filter(([, x]) => x.block > ancestor)
      .sort(([a], [b]) => (after(a, b) ? -1 : 1));
    for (const [key, x] of entries) {
      if (x.task) {
        const [id, before] = x.task;
        const now = this.tasks.get(id);
        if (!before) {
          if (now) this.dropped.add(now);
          this.tasks.delete(id);
          this.store.delete("tasks", id);
          this.store.delete("inputs", id, ".bin");
          const run = this.runs.get(id);
          if (run) {
            this.runs.delete(id);
            void run.close(true).catch(() => undefined);
          }
        } else this.saveTask(now ? restore(now, before, TASK_DECISIONS) : before);
      }
      if (x.game) {
        const [id, before] = x.game;
        const now = this.games.get(id);
        if (!before) {
          if (now) this.dropped.add(now);
          this.games.delete(id);
          this.store.delete("games", id);
        } else {
          if (before.result === null) delete before.transcript;
          this.saveGame(now ? restore(now, before, []) : before);
        }
      }
      this.store.delete("journal", key);
    }
    this.journalKeys = this.journalKeys.filter(([b]) => b <= ancestor);
    this.snapshotMeta.clear();
    this.owedCheck = true;
    await this.txs.reorged(ancestor);
    this.metrics.reorgs.inc();
    this.log.warn("records rolled back", { ancestor, events: entries.length });
  }

  /**
   * The store must belong to this chain and this deployment: the genesis block's hash, the hash of
   * the deployment's block and the market's code are recorded at the first start and compared at
   * every start. A restarted development node or a reset test network fails this: the node refuses
   * to start rather than skip every event below its old cursor.
   */
  private async checkChain(): Promise<void> {
    const r = this.retryOpts;
    const [genesis, deployed, code] = await Promise.all([
      retry(() => this.provider.getBlock(0), { what: "getBlock", ...r }),
      retry(() => this.provider.getBlock(this.deployment.block), { what: "getBlock", ...r }),
      retry(() => this.provider.getCode(this.deployment.market), { what: "getCode", ...r }),
    ]);
    const now = { genesis: genesis?.hash ?? null, deploymentBlock: deployed?.hash ?? null, marketCode: keccak256(code) };
    const meta = this.store.getRoot<Record<string, unknown>>("meta") ?? {};
    const problems: string[] = [];
    if (code === "0x") problems.push(`the deployment's market ${this.deployment.market} has no code on this chain`);
    if (!deployed) problems.push(`the chain has no block ${this.deployment.block} (the deployment's block)`);
    const chain = meta.chain as typeof now | undefined;
    if (chain) {
      if (chain.genesis !== now.genesis) problems.push(`its genesis block is ${now.genesis}, the store's chain had ${chain.genesis}`);
      else if (chain.deploymentBlock !== now.deploymentBlock) problems.push(`its block ${this.deployment.block} (the deployment's) is ${now.deploymentBlock}, the store's chain had ${chain.deploymentBlock}`);
      if (chain.marketCode !== now.marketCode) problems.push(`the market's code differs from the store's (${chain.marketCode})`);
    }
    if (problems.length) {
      throw new ChainMismatchError(
        `the store ${this.store.dir} does not belong to this chain: ${problems.join("; ")}. The chain was probably reset (a restarted development node, a new test network) or --deployment names another deployment. ` +
          `Its cursor, tasks, games and transactions do not apply here: move the directory away (or pass another --data-dir), check that --deployment is a deployment on this chain (truewasm deploy writes one), and start again.`,
      );
    }
    if (!chain) this.store.putRoot("meta", { ...meta, chain: now });
  }

  /** Role hook: whether to keep a task's run (its checkpoints) while the task is open and no game is. */
  protected needsRun(_t: TaskRecord): boolean {
    return true;
  }

  /** Role hook, after a task record changed. */
  protected async onTaskEvent(_t: TaskRecord, _e: ChainEvent): Promise<void> {}

  /** The role's moves: spawns an activity per task and per game that needs one. */
  protected abstract act(): Promise<void>;

  /**
   * Starts `fn` as the activity `key` unless one is in progress: the loop does not wait for it, so
   * a long machine run on one task never delays a move on another. `priority` (a chain time in
   * seconds: the deadline the activity works against) orders the machine runs it asks for.
   */
  protected spawn(key: string, fn: () => Promise<void>, priority: number): void {
    if (this.inflight.has(key) || this.signal.aborted) return;
    const p = activity.run({ key, priority }, async () => {
      try {
        await fn();
      } catch (e) {
        if (e instanceof AbortedError || this.signal.aborted) return;
        this.log.error("activity failed", { activity: key, error: errorMessage(e) });
      } finally {
        this.inflight.delete(key);
      }
    });
    this.inflight.set(key, p);
  }

  /** Whether an activity is in progress. */
  protected busy(key: string): boolean {
    return this.inflight.has(key);
  }

  /** Activities in progress whose key starts with `prefix`. */
  protected activitiesOf(prefix: string): number {
    let n = 0;
    for (const k of this.inflight.keys()) if (k.startsWith(prefix)) n++;
    return n;
  }

  /** The task's true result, when this node's run computed it (for the task's initial root). */
  protected truthOf(t: TaskRecord): TruthRecord | null {
    return t.truth && t.truth.initialRoot.toLowerCase() === t.initialRoot.toLowerCase() ? t.truth : null;
  }

  /** Records the result of the task's run as its truth (in the store: a restart keeps it). */
  protected recordTruth(t: TaskRecord, r: Awaited<ReturnType<RunHandle["run"]>>, by: TruthRecord["by"]): TruthRecord {
    const known = this.truthOf(t);
    if (known) return known;
    t.truth = { initialRoot: t.initialRoot, finalRoot: r.finalRoot, steps: r.steps, status: r.status, exitCode: r.exitCode ?? 0, trap: r.trap, outputHash: keccak256(r.output), by };
    this.saveTask(t);
    return t.truth;
  }

  /** Deadlines learnt from state reads (game: the clock of the party to move). */
  protected readonly deadlines = new Map<string, number>();

  /** Urgency of a task's work: the task's deadline, or the end of the held solution's window. */
  protected taskPriority(t: TaskRecord): number {
    if (this.role === "challenger" && t.solution) return (t.solution.at ?? this.chainNow()) + (t.window ?? 3600);
    return t.deadline ?? this.chainNow() + 86_400;
  }

  /** Urgency of a game's work: the deadline of the party to move. */
  protected gamePriority(g: GameRecord): number {
    return this.deadlines.get(`game:${g.id}`) ?? this.chainNow() + this.deployment.parameters.clock;
  }

  // ----------------------------------------------------------------------------------------------
  // Programs, inputs, runs

  /** The program of a task when its registered bytes lower to its root (refuses it otherwise). */
  protected async program(t: TaskRecord): Promise<VerifiedProgram | null> {
    if (t.program === "refused") return null;
    let p = this.programs.get(t.programRoot);
    if (p === undefined) {
      const cached = this.store.getBytes("programs", t.programRoot, ".wasm");
      p = await fetchProgram(this.provider, this.contracts, t.programRoot, this.deployment.block, { retry: this.retryOpts, log: this.log, cached });
      this.programs.set(t.programRoot, p);
      if (p && !cached) this.store.putBytes("programs", t.programRoot, p.wasm, ".wasm");
    }
    if (!p) {
      t.program = "refused";
      t.refusal = "no registration of the program root has bytes that lower to it";
      this.log.warn("program refused", { taskId: t.id, programRoot: t.programRoot, reason: t.refusal });
      this.saveTask(t);
      return null;
    }
    if (t.program !== "ok") {
      t.program = "ok";
      this.saveTask(t);
    }
    return p;
  }

  protected async input(t: TaskRecord): Promise<Uint8Array> {
    const stored = this.store.getBytes("inputs", t.id.toString());
    if (stored && stored.length === t.inputLength) return stored;
    const ev: EventOf<"TaskPosted"> = {
      kind: "TaskPosted",
      block: t.postBlock,
      logIndex: 0,
      tx: t.postTx,
      taskId: t.id,
      programRoot: t.programRoot,
      poster: t.poster,
      initialRoot: t.initialRoot,
      limits: t.limits,
      inputLength: t.inputLength,
      input: t.loggedInput ?? "0x",
    };
    const input = await taskInput(this.provider, this.contracts, ev, this.retryOpts);
    this.store.putBytes("inputs", t.id.toString(), input);
    return input;
  }

  /** The task's run (opened on first use, its first pass started); null when the task is refused. */
  protected async taskRun(t: TaskRecord): Promise<RunHandle | null> {
    const key = t.id.toString();
    let run = this.runs.get(key);
    if (run) return run;
    let opening = this.opening.get(key);
    if (!opening) {
      opening = this.openRun(t).finally(() => this.opening.delete(key));
      this.opening.set(key, opening);
    }
    run = (await opening) ?? undefined;
    if (!run) return null;
    void run.run().catch(() => undefined); // the first pass starts now, whoever waits for it
    return run;
  }

  private readonly opening = new Map<string, Promise<RunProxy | null>>();

  private async openRun(t: TaskRecord): Promise<RunProxy | null> {
    const key = t.id.toString();
    const p = await this.program(t);
    if (!p) return null;
    let input: Uint8Array;
    try {
      input = await this.input(t);
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      return this.refuse(t, `input: ${errorMessage(e)}`);
    }
    const dir = this.opts.diskSnapshots === false ? null : join(this.runsDir, key);
    const r = await this.pool.open(key, { programRoot: t.programRoot, wasm: p.wasm, input, limits: t.limits, initialRoot: t.initialRoot, dir, options: this.opts.run ?? {} });
    if (!r.handle) return this.refuse(t, r.refused ?? "refused");
    if (r.resumed.snapshots > 0) this.log.info("snapshots loaded", { taskId: t.id, snapshots: r.resumed.snapshots, resultStored: r.resumed.result });
    this.runs.set(key, r.handle);
    return r.handle;
  }

  private refuse(t: TaskRecord, reason: string): null {
    t.program = "refused";
    t.refusal = reason;
    this.saveTask(t);
    this.log.warn("task refused", { taskId: t.id, reason });
    return null;
  }

  /** Drops the runs of tasks this node has nothing more to do with; prunes round snapshots. */
  private pruneRuns(): void {
    for (const [key, run] of this.runs) {
      if (this.inflight.has(`task:${key}`) || this.inflight.has(`prerun:${key}`) || [...this.games.values()].some((g) => g.taskId?.toString() === key && this.inflight.has(`game:${g.id}`))) continue;
      const t = this.tasks.get(key);
      const active = [...this.games.values()].filter((g) => g.taskId?.toString() === key && g.result === null);
      if (!t || (active.length === 0 && (t.stage !== "open" || !this.needsRun(t)))) {
        this.runs.delete(key);
        // the task is over for this node: its snapshots go (an open task keeps them for a restart)
        // (queued behind the run's requests: not awaited, the loop goes on)
        const over = !t || t.stage !== "open";
        void run.close(over).catch(() => undefined);
        if (over) this.parked.delete(key);
        else if (this.opts.diskSnapshots !== false) this.parked.add(key);
        continue;
      }
      const segments = active.map((g) => [g.position.lo, g.position.hi] as const);
      const meta = toJson(segments);
      if (this.snapshotMeta.get(key) === meta) continue;
      this.snapshotMeta.set(key, meta);
      void run
        .retain(segments)
        .then((kept) => this.log.debug("snapshots kept", { taskId: key, checkpoints: kept.checkpoints.length, rounds: kept.rounds.length, interval: kept.interval }))
        .catch(() => undefined);
    }
    // the snapshots of a parked run go once its task is over (and no activity reopens it)
    let playing: Set<string> | null = null;
    for (const key of this.parked) {
      const t = this.tasks.get(key);
      if (!t || t.stage === "open" || this.runs.has(key) || this.opening.has(key)) continue;
      playing ??= new Set([...this.games.values()].filter((g) => g.result === null && g.taskId !== null).map((g) => g.taskId!.toString()));
      if (this.inflight.has(`task:${key}`) || this.inflight.has(`prerun:${key}`) || playing.has(key)) continue;
      this.parked.delete(key);
      void rm(join(this.runsDir, key), { recursive: true, force: true }).catch((e) => this.log.warn("run directory not deleted", { taskId: key, error: errorMessage(e) }));
    }
  }

  /** Where the runs keep their snapshots on disk (`runs/<task>/`). */
  private get runsDir(): string {
    return join(this.store.dir, "runs");
  }

  /**
   * Tasks whose run directory stays on disk with no run open: closed while the task was open (a
   * correct solution, a challenger's run ahead of the reveal), or left by an earlier process.
   */
  private readonly parked = new Set<string>();

  // ----------------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends a call under an intent key. Returns null (and logs) when it would revert; a transient
   * failure is rethrown (the tick ends and the next one tries again).
   */
  protected async send(intent: string, call: Call): Promise<TxOutcome | null> {
    try {
      const out = await this.txs.send(intent, call);
      this.failing.delete(intent);
      if (out.status === "reverted") this.log.warn("move reverted", { intent });
      return out;
    } catch (e) {
      if (e instanceof TxWouldRevert) {
        const n = (this.failing.get(intent) ?? 0) + 1;
        this.failing.set(intent, n);
        // log the first refusal and then every 20th, not each poll
        if (n === 1 || n % 20 === 0) this.log.info("not sent", { intent, reason: e.errorName ?? e.detail, attempts: n });
        return null;
      }
      throw e;
    }
  }

  /** Whether a transaction for this intent was mined successfully (or is in flight). */
  protected sent(intent: string): boolean {
    const r = this.txs.get(intent);
    return !!r && (r.status === "sent" || r.status === "mined");
  }

  // ----------------------------------------------------------------------------------------------
  // Time, games, withdrawals

  /** Latest block number and timestamp, with the wall time when it was seen. */
  private async refreshClock(): Promise<void> {
    const b = await retry(() => this.provider.getBlock("latest"), { what: "getBlock", ...this.retryOpts });
    if (!b) return;
    if (!this.clock || b.number !== this.clock.block) this.clock = { block: b.number, timestamp: b.timestamp, seenAt: Date.now() };
  }

  /** The chain's time estimated from the latest block and the wall clock since it was seen. */
  protected chainNow(): number {
    if (!this.clock) return Math.floor(Date.now() / 1000);
    return this.clock.timestamp + Math.floor((Date.now() - this.clock.seenAt) / 1000);
  }

  /**
   * The game's on-chain view when it agrees with the position tracked from events (otherwise events
   * are still to come: wait). Null when the game is over or out of sync.
   */
  protected async liveGame(g: GameRecord): Promise<GameView | null> {
    const v = await this.contracts.gameOf(g.id);
    if (!isActive(v.phase)) return null;
    if (v.deadline) {
      this.deadlines.set(`game:${g.id}`, v.deadline);
      this.clocks.set(g.id.toString(), { deadline: v.deadline, mine: this.mine(v.toMove) });
    }
    if (v.lo !== g.position.lo || v.hi !== g.position.hi || v.phase !== positionPhase(g.position)) return null;
    return v;
  }

  /** Calls timeout when the opponent's clock has run out. */
  protected async claimTimeout(g: GameRecord, v: GameView): Promise<boolean> {
    if (v.toMove.toLowerCase() === this.address.toLowerCase() || v.deadline === 0 || this.chainNow() <= v.deadline) return false;
    this.log.info("opponent's clock ran out", { gameId: g.id, deadline: v.deadline });
    return (await this.send(`timeout:${g.id}`, this.contracts.timeout(g.id))) !== null;
  }

  private async withdrawIfOwed(): Promise<void> {
    if (!this.owedCheck) return;
    const owed = await this.contracts.balanceOf(this.address);
    if (owed === 0n) {
      this.owedCheck = false;
      return;
    }
    const n = (this.store.getRoot<{ withdrawals: number }>("withdrawals")?.withdrawals ?? 0) + 1;
    const out = await this.send(`withdraw:${n}`, this.contracts.withdraw());
    if (out?.status === "mined") {
      this.store.putRoot("withdrawals", { withdrawals: n });
      this.owedCheck = false;
      this.log.info("withdrawn", { amount: owed, tx: out.hash });
    }
  }

  private async writeTranscripts(): Promise<void> {
    if (this.opts.transcripts === false) return;
    for (const g of this.games.values()) {
      if (g.result === null || g.transcript || g.taskId === null) continue;
      const t = this.task(g.taskId);
      const p = t && (await this.program(t));
      if (!t || !p) continue;
      try {
        const transcript = await buildTranscript({ provider: this.provider, contracts: this.contracts, deployment: this.deployment, gameId: g.id, taskId: g.taskId, input: await this.input(t), wasm: p.wasm, retry: this.retryOpts });
        transcript.recordedBy = { role: this.role, address: this.address, at: new Date().toISOString() };
        this.store.put("transcripts", `game-${g.id}`, transcript);
        g.transcript = this.store.path("transcripts", `game-${g.id}`);
        this.saveGame(g);
        this.log.info("transcript written", { gameId: g.id, path: g.transcript, moves: transcript.moves.length });
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        this.log.warn("transcript failed", { gameId: g.id, error: errorMessage(e) });
        g.transcript = "";
        this.saveGame(g);
      }
    }
  }

  /** Task stage on chain, for deciding whether it is still worth any work. */
  protected async stageOf(t: TaskRecord): Promise<number> {
    const v = await this.contracts.taskOf(t.id);
    if (v.stage === Stage.Finalized && t.stage !== "finalized") (t.stage = "finalized"), this.saveTask(t);
    if (v.stage === Stage.Expired && t.stage !== "expired") (t.stage = "expired"), this.saveTask(t);
    return v.stage;
  }

  protected activeGames(role: Role): GameRecord[] {
    return [...this.games.values()].filter((g) => g.role === role && g.result === null && g.taskId !== null).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

export { Phase, hexlify };
