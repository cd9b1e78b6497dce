/**
 * Everything the explorer reads from the chain, in one place. The market's and the game's logs are
 * read in block ranges (all events of both contracts, so events added to the contracts later appear
 * in the timelines without a change here), from the deployment block to the head, then from the last
 * block read at each poll. What the logs do not carry is read once and cached: `taskOf` for a task
 * when one of its events arrives (terms, stage, the solution held), the receipt of every game
 * transaction (gas, sender), the block timestamps of game events (of a task's other events when its
 * page is asked for), the calldata of the transaction that ended a game (the one-step proof's roots
 * and witness) and of each commitment (the exit code in its opening, when no event carries it). An
 * idle poll costs one `eth_getBlockByNumber`.
 */
import { getBytes, hexlify, type Log, type LogDescription, type Provider } from "ethers";
import { STATUS_NAMES, ZERO_ADDRESS, type Contracts, type TaskView } from "../client/contracts.js";
import type { Deployment } from "../client/deployment.js";
import { limitsFromStruct } from "../client/encoding.js";
import { errorMessage, silentLogger, type Logger } from "../client/log.js";
import { retry } from "../client/rpc.js";
import { TRAP_MESSAGES, type Limits } from "../interpreter/isa.js";
import { buildGame, type GameStep } from "./games.js";
import type { Commitment, GameRef, GameView, Head, Hex, Source, TaskDetail, TaskRow, TimelineEntry } from "./model.js";
import { taskPhase } from "./model.js";
import { Programs } from "./program.js";

/** What the server serves, from the chain or from transcripts. */
export interface ExplorerData {
  readonly source: Source;
  readonly version: number;
  readonly syncing: boolean;
  readonly error: string | null;
  head(): Head;
  rows(): TaskRow[];
  task(id: string): TaskDetail | null;
  /** Reads what a task's page needs beyond the list (lazily), before task(id). */
  prepareTask?(id: string): Promise<void>;
  game(id: string): GameView | null;
  /** Starts following (polling); `onChange` after each change. */
  start(onChange: () => void): void;
  stop(): Promise<void>;
}

export interface ChainIndexOptions {
  /** RPC URL, for display. */
  label: string;
  /** Blocks per eth_getLogs request. */
  chunk?: number;
  /** Parallel requests when filling caches. */
  concurrency?: number;
  pollMs?: number;
  /** How long a read is retried on dropped connections before the poll fails (ms; default 20,000). */
  retryGiveUpMs?: number;
  log?: Logger;
  programs?: Programs;
}

interface Loc {
  block: number;
  logIndex: number;
  tx: Hex;
}

interface TaskRec {
  id: bigint;
  posted: (Loc & { programRoot: Hex; poster: string; initialRoot: Hex; limits: Limits; inputLength: number }) | null;
  view: TaskView | null;
  commitments: (Commitment & { loc: Loc })[];
  timeline: (TimelineEntry & { loc: Loc })[];
  games: string[];
}

interface GameRec {
  id: string;
  taskId: string | null;
  opened: (Loc & { solver: string; challenger: string; rootLo: Hex; rootHi: Hex; steps: bigint }) | null;
  /** Market events naming the game (Challenged, SolutionDefeated, payouts …). */
  marketEvents: TimelineEntry[];
  moves: ({ loc: Loc } & (
    | { kind: "bisect"; lo: bigint; hi: bigint; roots: Hex[] }
    | { kind: "select"; index: number; lo: bigint; hi: bigint }
    | { kind: "resolved"; solverWon: boolean; timeout: boolean }
    | { kind: "aborted" }
  ))[];
  released: boolean;
  view: GameView | null;
}

const BULKY = new Set(["input", "wasm", "descriptor", "roots", "opening", "witness"]);

export class ChainIndex implements ExplorerData {
  readonly source: Source;
  version = 0;
  syncing = true;
  error: string | null = null;
  private cursor: number;
  private headBlock: number | null = null;
  private headTime: number | null = null;
  /** max(0, head timestamp − wall clock when it was first seen): Hardhat's time travel. */
  private offset = 0;
  private readonly tasks = new Map<string, TaskRec>();
  private readonly games = new Map<string, GameRec>();
  private readonly blockTimes = new Map<number, number>();
  private readonly receipts = new Map<string, { gas: number; from: string }>();
  private readonly proofs = new Map<string, { rootLo: Hex; rootHi: Hex; witness: Hex } | null>();
  /** Logs applied (block:index), and the records whose reads are not all done. */
  private readonly applied = new Set<string>();
  private readonly dirtyTasks = new Set<string>();
  private readonly dirtyGames = new Set<string>();
  /** Exit codes read from commit calldata (the final state's opening), by transaction. */
  private readonly exitCodes = new Map<string, number | null>();
  private readonly programs: Programs;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private rowsCache: { version: number; rows: TaskRow[] } | null = null;

  constructor(
    readonly provider: Provider,
    readonly contracts: Contracts,
    readonly deployment: Deployment,
    private readonly opts: ChainIndexOptions,
  ) {
    const p = deployment.parameters;
    this.source = { kind: "chain", label: opts.label, chainId: deployment.chainId, market: deployment.market, game: deployment.game, k: p.k, clock: p.clock, burnBps: p.burnBps, fromBlock: deployment.block };
    this.cursor = deployment.block - 1;
    this.programs = opts.programs ?? new Programs();
    this.log = opts.log ?? silentLogger;
  }

  private rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, { what, log: this.log, giveUpAfterMs: this.opts.retryGiveUpMs ?? 20_000 });
  }

  head(): Head {
    const wallMs = Date.now();
    const chainNow = Math.max(this.headTime ?? 0, Math.floor(wallMs / 1000) + this.offset);
    return { block: this.headBlock, blockTime: this.headTime, chainNow, wallMs };
  }

  start(onChange: () => void): void {
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.poll()
        .then((changed) => {
          if (changed) onChange();
        })
        .catch((e) => {
          const msg = errorMessage(e);
          if (msg !== this.error) {
            this.error = msg;
            this.version++;
            onChange();
          }
          this.log.warn("explorer poll failed", { error: msg });
        });
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, this.opts.pollMs ?? 1000);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** True while some record still misses a read (after a failed poll). */
  get incomplete(): boolean {
    return this.dirtyTasks.size > 0 || this.dirtyGames.size > 0;
  }

  /** Reads what is new up to the head; true when anything changed. */
  async poll(): Promise<boolean> {
    const latest = await this.rpc("getBlock", () => this.provider.getBlock("latest"));
    if (!latest) throw new Error("no latest block");
    let changed = this.error !== null;
    this.error = null;
    if (latest.number !== this.headBlock) {
      this.offset = Math.max(0, latest.timestamp - Math.floor(Date.now() / 1000));
      this.headBlock = latest.number;
      this.headTime = latest.timestamp;
      this.blockTimes.set(latest.number, latest.timestamp);
      changed = true;
    }
    const chunk = this.opts.chunk ?? 5_000;
    // a poll that failed halfway left its records dirty: finish them first
    if (this.dirtyTasks.size || this.dirtyGames.size) {
      await this.fill();
      changed = true;
    }
    while (this.cursor < latest.number) {
      const from = this.cursor + 1;
      const to = Math.min(latest.number, from + chunk - 1);
      const logs = await this.rpc("getLogs", () => this.provider.getLogs({ address: [this.contracts.addresses.market, this.contracts.addresses.game], fromBlock: from, toBlock: to }));
      logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
      for (const l of logs) this.apply(l);
      await this.fill();
      this.cursor = to;
      changed = true;
    }
    if (this.syncing) {
      this.syncing = false;
      changed = true;
    }
    if (changed) this.version++;
    return changed;
  }

  /** Applies a log once (a range read again after a failure skips what it applied). */
  private apply(l: Log): void {
    const key = `${l.blockNumber}:${l.index}`;
    if (this.applied.has(key)) return;
    this.applied.add(key);
    const touchedTasks = this.dirtyTasks;
    const touchedGames = this.dirtyGames;
    const isGame = l.address.toLowerCase() === this.contracts.addresses.game.toLowerCase();
    let ev: LogDescription | null;
    try {
      ev = (isGame ? this.contracts.gameIface : this.contracts.marketIface).parseLog({ topics: [...l.topics], data: l.data });
    } catch {
      ev = null;
    }
    if (!ev) return;
    const loc: Loc = { block: l.blockNumber, logIndex: l.index, tx: l.transactionHash };
    const a = ev.args;
    const has = (name: string) => ev.fragment.inputs.some((i) => i.name === name);
    if (ev.name === "ProgramRegistered") {
      this.programs.register(a.programRoot, getBytes(a.wasm));
      return;
    }
    if (isGame) {
      const id = String(a.gameId);
      const g = this.gameRec(id);
      touchedGames.add(id);
      switch (ev.name) {
        case "GameOpened":
          g.opened = { ...loc, solver: a.solver, challenger: a.challenger, rootLo: a.rootLo, rootHi: a.rootHi, steps: a.steps };
          break;
        case "Bisected":
          g.moves.push({ loc, kind: "bisect", lo: a.lo, hi: a.hi, roots: [...a.roots] });
          break;
        case "Selected":
          g.moves.push({ loc, kind: "select", index: Number(a.index), lo: a.lo, hi: a.hi });
          break;
        case "GameResolved":
          g.moves.push({ loc, kind: "resolved", solverWon: a.solverWon, timeout: a.timeout });
          break;
        case "GameAborted":
          g.moves.push({ loc, kind: "aborted" });
          break;
      }
      if (g.taskId) touchedTasks.add(g.taskId);
      return;
    }
    if (!has("taskId")) return; // Withdrawal, …
    const taskId = String(a.taskId);
    const t = this.taskRec(taskId);
    touchedTasks.add(taskId);
    const args: Record<string, string> = {};
    for (const input of ev.fragment.inputs) if (!BULKY.has(input.name)) args[input.name] = stringify(a[input.name]);
    t.timeline.push({ name: ev.name, block: loc.block, at: null, tx: loc.tx, args, loc });
    switch (ev.name) {
      case "TaskPosted":
        t.posted = { ...loc, programRoot: a.programRoot, poster: a.poster, initialRoot: a.initialRoot, limits: limitsFromStruct(a.limits), inputLength: Number(a.inputLength) };
        break;
      case "Committed": {
        // today's market logs the result here; a commit-reveal market logs a hash here and the
        // result in a later event (patched in below)
        const c: TaskRec["commitments"][number] = { solver: a.solver, finalRoot: "", steps: "", status: "running", trap: 0, output: "0x", exitCode: null, revealed: false, note: null, block: loc.block, tx: loc.tx, defeatedIn: null, loc };
        patchResult(c, ev);
        t.commitments.push(c);
        break;
      }
      case "SolutionDefeated": {
        const c = [...t.commitments].reverse().find((x) => x.solver.toLowerCase() === String(a.solver).toLowerCase() && x.defeatedIn === null);
        if (c) c.defeatedIn = String(a.gameId);
        break;
      }
      case "Challenged": {
        const id = String(a.gameId);
        const g = this.gameRec(id);
        g.taskId = taskId;
        if (!t.games.includes(id)) t.games.push(id);
        touchedGames.add(id);
        break;
      }
      case "ChallengeReleased": {
        const g = this.gameRec(String(a.gameId));
        g.released = true;
        touchedGames.add(g.id);
        break;
      }
      default: {
        // events a later market may add: a reveal's result fields patch the solver's latest
        // commitment; a forfeit marks the latest unrevealed one
        const bySolver = has("solver") ? [...t.commitments].reverse().find((x) => x.solver.toLowerCase() === String(a.solver).toLowerCase()) : t.commitments.at(-1);
        if (bySolver && ["output", "finalRoot", "steps", "status"].some(has)) patchResult(bySolver, ev);
        if (/forfeit/i.test(ev.name)) {
          const c = [...t.commitments].reverse().find((x) => !x.revealed);
          if (c) c.note = "forfeited: not revealed in time";
        }
      }
    }
    // market events that name a game belong to its view too (payouts, releases …)
    if (has("gameId")) {
      const g = this.gameRec(String(a.gameId));
      g.marketEvents.push({ name: ev.name, block: loc.block, at: null, tx: loc.tx, args });
      touchedGames.add(g.id);
    }
  }

  private taskRec(id: string): TaskRec {
    let t = this.tasks.get(id);
    if (!t) this.tasks.set(id, (t = { id: BigInt(id), posted: null, view: null, commitments: [], timeline: [], games: [] }));
    return t;
  }

  private gameRec(id: string): GameRec {
    let g = this.games.get(id);
    if (!g) this.games.set(id, (g = { id, taskId: null, opened: null, marketEvents: [], moves: [], released: false, view: null }));
    return g;
  }

  /**
   * Reads what the records touched since the last complete fill need and the caches lack,
   * `concurrency` requests at a time; a record stays dirty until its reads have all succeeded.
   */
  private async fill(): Promise<void> {
    const c = this.contracts;
    const touchedTasks = new Set(this.dirtyTasks);
    const touchedGames = new Set(this.dirtyGames);
    for (const g of touchedGames) this.games.get(g)!.view = null;
    const jobs: (() => Promise<void>)[] = [];
    const blocks = new Set<number>();
    const claimed = new Set<string>();
    for (const id of touchedTasks) {
      const t = this.tasks.get(id);
      if (!t) continue;
      jobs.push(async () => {
        t.view = await this.rpc("taskOf", () => c.taskOf(t.id));
      });
      // a market whose Committed event does not carry the exit code: read it from the opening
      for (const cm of t.commitments) {
        const tx = cm.loc.tx;
        if (cm.exitCode !== null || cm.status !== "halted" || this.exitCodes.has(tx)) continue;
        jobs.push(async () => {
          const got = await this.rpc("getTransaction", () => this.provider.getTransaction(tx));
          this.exitCodes.set(tx, null);
          try {
            const call = got && got.to?.toLowerCase() === c.addresses.market.toLowerCase() ? c.marketIface.parseTransaction({ data: got.data }) : null;
            const opening = call?.fragment.inputs.some((i) => i.name === "opening") ? getBytes(call.args.opening) : null;
            if (opening) this.exitCodes.set(tx, exitCodeOfOpening(opening));
          } catch {
            // not a direct call with an opening: no exit code
          }
        });
      }
    }
    for (const id of touchedGames) {
      const g = this.games.get(id)!;
      const txs = [g.opened?.tx, ...g.moves.map((m) => m.loc.tx)].filter((x): x is Hex => !!x);
      for (const tx of new Set(txs)) {
        if (this.receipts.has(tx) || claimed.has(tx)) continue;
        claimed.add(tx); // one request per transaction
        jobs.push(async () => {
          const r = await this.rpc("getTransactionReceipt", () => this.provider.getTransactionReceipt(tx));
          if (!r) throw new Error(`no receipt for ${tx}`);
          this.receipts.set(tx, { gas: Number(r.gasUsed), from: r.from });
        });
      }
      for (const m of g.moves) {
        if (!this.blockTimes.has(m.loc.block)) blocks.add(m.loc.block);
        if (m.kind === "resolved" && !m.timeout && !this.proofs.has(m.loc.tx)) {
          const tx = m.loc.tx;
          jobs.push(async () => {
            const t = await this.rpc("getTransaction", () => this.provider.getTransaction(tx));
            this.proofs.set(tx, null);
            try {
              const call = t && t.to?.toLowerCase() === c.addresses.game.toLowerCase() ? c.gameIface.parseTransaction({ data: t.data }) : null;
              if (call?.name === "proveStep") this.proofs.set(tx, { rootLo: call.args.rootLo, rootHi: call.args.rootHi, witness: hexlify(getBytes(call.args.witness)) });
            } catch {
              // not a direct call: the proof's arguments are not known
            }
          });
        }
      }
      if (g.opened && !this.blockTimes.has(g.opened.block)) blocks.add(g.opened.block);
    }
    for (const n of blocks) {
      jobs.push(async () => {
        const b = await this.rpc("getBlock", () => this.provider.getBlock(n));
        if (b) this.blockTimes.set(n, b.timestamp);
      });
    }
    await runLimited(jobs, this.opts.concurrency ?? 32);
    for (const id of touchedTasks) {
      const t = this.tasks.get(id);
      if (!t) continue;
      for (const e of t.timeline) e.at = this.blockTimes.get(e.loc.block) ?? null;
      for (const cm of t.commitments) if (cm.exitCode === null && this.exitCodes.get(cm.loc.tx) != null) cm.exitCode = this.exitCodes.get(cm.loc.tx)!;
    }
    for (const id of touchedTasks) this.dirtyTasks.delete(id);
    for (const id of touchedGames) {
      this.dirtyGames.delete(id);
      this.games.get(id)!.view = null;
    }
  }

  rows(): TaskRow[] {
    if (this.rowsCache?.version !== this.version) {
      const rows: TaskRow[] = [];
      for (const t of this.tasks.values()) if (t.posted) rows.push(this.row(t));
      rows.sort((a, b) => Number(BigInt(b.id) - BigInt(a.id)));
      this.rowsCache = { version: this.version, rows };
    }
    // the phase depends on the time
    const now = this.head().chainNow;
    return this.rowsCache.rows.map((r) => ({ ...r, phase: taskPhase(r, now) }));
  }

  private row(t: TaskRec): TaskRow {
    const v = t.view;
    const p = t.posted!;
    const held = v && v.solver !== ZERO_ADDRESS ? v.solver : null;
    const current = held ? [...t.commitments].reverse().find((c) => c.solver.toLowerCase() === held.toLowerCase()) ?? null : null;
    const status = v && held ? (STATUS_NAMES[v.status] ?? null) : (current?.status ?? null);
    const trap = status === "trapped" ? (v?.trap ?? current?.trap ?? 0) : null;
    const games: GameRef[] = t.games.map((id) => {
      const g = this.game(id);
      return { id, phase: g?.phase ?? "bisect", winner: g?.outcome?.winner ?? null, challenger: g?.challenger ?? "", rounds: g?.rounds.length ?? 0 };
    });
    const stageName = v ? (["none", "open", "finalized", "expired"][v.stage] ?? "open") : "open";
    const row: TaskRow = {
      id: t.id.toString(),
      phase: stageName === "finalized" ? "finalized" : stageName === "expired" ? "expired" : "awaiting",
      programRoot: p.programRoot,
      programName: this.programs.name(p.programRoot),
      poster: p.poster,
      reward: (v?.reward ?? 0n).toString(),
      solverBond: (v?.solverBond ?? 0n).toString(),
      challengerBond: (v?.challengerBond ?? 0n).toString(),
      deadline: v?.deadline ?? 0,
      window: v?.window ?? 0,
      inputBytes: p.inputLength,
      stepLimit: String(p.limits.steps),
      solver: held,
      steps: held && v ? v.steps.toString() : null,
      status,
      trap,
      trapName: trap === null ? null : (TRAP_MESSAGES[trap] ?? `trap ${trap}`),
      output: current?.output ?? null,
      exitCode: current?.exitCode ?? null,
      commitTime: held && v ? v.commitTime : null,
      windowEnds: held && v ? v.commitTime + v.window : null,
      commitments: t.commitments.length,
      games,
      postedBlock: p.block,
      postTx: p.tx,
      openGames: v?.openGames ?? 0,
    };
    return row;
  }

  /** Reads the block times of a task's events (only its page shows them), once. */
  async prepareTask(id: string): Promise<void> {
    const t = this.tasks.get(id);
    if (!t) return;
    const missing = [...new Set(t.timeline.filter((e) => e.at === null).map((e) => e.loc.block))].filter((n) => !this.blockTimes.has(n));
    await runLimited(
      missing.map((n) => async () => {
        const b = await this.rpc("getBlock", () => this.provider.getBlock(n));
        if (b) this.blockTimes.set(n, b.timestamp);
      }),
      this.opts.concurrency ?? 32,
    );
    for (const e of t.timeline) e.at ??= this.blockTimes.get(e.loc.block) ?? null;
  }

  task(id: string): TaskDetail | null {
    const t = this.tasks.get(id);
    if (!t?.posted) return null;
    const row = this.rows().find((r) => r.id === id) ?? this.row(t);
    return {
      task: row,
      initialRoot: t.posted.initialRoot,
      limits: { ...t.posted.limits },
      commitments: t.commitments.map(({ loc: _loc, ...c }) => c),
      timeline: t.timeline.map(({ loc: _loc, ...e }) => e),
      games: t.games.map((g) => this.game(g)).filter((g): g is GameView => g !== null),
      note: null,
    };
  }

  game(id: string): GameView | null {
    const g = this.games.get(id);
    if (!g?.opened || !g.taskId) return null;
    if (g.view) return g.view;
    const t = this.tasks.get(g.taskId);
    const facts = (loc: Loc) => {
      const r = this.receipts.get(loc.tx);
      return { at: this.blockTimes.get(loc.block) ?? null, block: loc.block, tx: loc.tx, gas: r?.from ? r.gas : null, from: r?.from || null };
    };
    const programRoot = t?.posted?.programRoot ?? null;
    const moves: GameStep[] = g.moves.map((m) => {
      const f = facts(m.loc);
      if (m.kind === "resolved") return { ...f, kind: "resolved", solverWon: m.solverWon, timeout: m.timeout, proof: m.timeout ? null : (this.proofs.get(m.loc.tx) ?? null) };
      return { ...f, ...m };
    });
    const view = buildGame({
      id,
      taskId: g.taskId,
      solver: g.opened.solver,
      challenger: g.opened.challenger,
      k: this.deployment.parameters.k,
      clock: this.deployment.parameters.clock,
      burnBps: this.deployment.parameters.burnBps,
      steps: g.opened.steps,
      rootLo: g.opened.rootLo,
      rootHi: g.opened.rootHi,
      bonds: { solver: (t?.view?.solverBond ?? 0n).toString(), challenger: (t?.view?.challengerBond ?? 0n).toString() },
      opened: facts(g.opened),
      moves,
      moot: g.released,
      describeStep: programRoot ? (_step, proof) => this.programs.describeStep(programRoot, proof) : undefined,
      marketEvents: g.marketEvents.map((e) => ({ ...e, at: e.block === null ? null : (this.blockTimes.get(e.block) ?? null) })),
    });
    // cache only once every fact has arrived
    if (view.moves.every((m) => m.gas !== null && m.at !== null)) g.view = view;
    return view;
  }
}

/**
 * A result's fields from an event onto a commitment: finalRoot, steps, status, output, and the code
 * (`exitCode`, or `code`: the exit code when halted, the trap when trapped) where the event has them.
 */
function patchResult(c: Commitment, ev: LogDescription): void {
  const has = (name: string) => ev.fragment.inputs.some((i) => i.name === name);
  const a = ev.args;
  if (has("finalRoot")) c.finalRoot = a.finalRoot;
  if (has("steps")) c.steps = String(a.steps);
  if (has("status")) c.status = STATUS_NAMES[Number(a.status)] ?? c.status;
  if (has("trap")) c.trap = Number(a.trap);
  if (has("output")) c.output = a.output;
  if (has("exitCode")) c.exitCode = Number(a.exitCode);
  if (has("code")) {
    if (c.status === "trapped") c.trap = Number(a.code);
    else c.exitCode = Number(a.code);
  }
  if (has("finalRoot") || has("status")) c.revealed = true;
}

/** The exit code in a final-state opening: regs (its first 32 bytes) holds it at bytes 24..27 (docs/STATE.md §2.1). */
export function exitCodeOfOpening(opening: Uint8Array): number | null {
  if (opening.length < 32) return null;
  return new DataView(opening.buffer, opening.byteOffset).getUint32(24);
}

function stringify(x: unknown): string {
  if (typeof x === "bigint") return x.toString();
  if (typeof x === "string") return x;
  if (typeof x === "boolean" || typeof x === "number") return String(x);
  if (Array.isArray(x)) return `[${x.map(stringify).join(", ")}]`;
  return JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

async function runLimited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
}
