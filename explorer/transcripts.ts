/**
 * The explorer's data from transcript files (docs/NODES.md, "Transcripts"): each file is one task
 * with its one game, keyed by the file's base name (transcripts of different chains reuse ids). The
 * views are built by the same code as the chain's (explorer/games.ts), from the recorded moves.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { getBytes } from "ethers";
import { STATUS_NAMES } from "../client/contracts.js";
import { parseTranscript, type Transcript } from "../client/transcript.js";
import { TRAP_MESSAGES } from "../interpreter/isa.js";
import { exitCodeOfOpening, type ExplorerData } from "./chain.js";
import { buildGame, type GameStep } from "./games.js";
import type { GameView, Head, Source, TaskDetail, TaskRow } from "./model.js";
import { Programs } from "./program.js";

interface Entry {
  key: string;
  file: string;
  t: Transcript;
  game: GameView;
}

export class TranscriptData implements ExplorerData {
  readonly source: Source;
  readonly version = 1;
  readonly syncing = false;
  readonly error = null;
  private readonly entries = new Map<string, Entry>();

  constructor(files: string[], programs = new Programs()) {
    const used = new Set<string>();
    for (const file of files) {
      const t = parseTranscript(readFileSync(file, "utf8"));
      let key = basename(file).replace(/\.json$/, "").replace(/[^A-Za-z0-9_.-]/g, "_");
      for (let i = 2; used.has(key); i++) key = `${key}-${i}`;
      used.add(key);
      programs.register(t.program.root, getBytes(t.program.wasm));
      this.entries.set(key, { key, file, t, game: transcriptGame(key, t, programs) });
    }
    const first = [...this.entries.values()][0]?.t;
    const all = [...this.entries.values()].map((e) => e.t.parameters);
    const one = <K extends "k" | "clock" | "burnBps">(key: K) => (all.length && all.every((x) => x[key] === all[0][key]) ? all[0][key] : null);
    const sameChain = [...this.entries.values()].every((e) => e.t.source.market === first?.source.market);
    this.source = {
      kind: "transcript",
      label: files.map((f) => basename(f)).join(", "),
      chainId: first && sameChain ? first.source.chainId : null,
      market: first && sameChain ? first.source.market : null,
      game: first && sameChain ? first.source.game : null,
      k: one("k"),
      clock: one("clock"),
      burnBps: one("burnBps"),
      fromBlock: null,
    };
    this.programs = programs;
  }

  private readonly programs: Programs;

  head(): Head {
    const at = Math.max(0, ...[...this.entries.values()].map((e) => e.t.outcome.at));
    return { block: null, blockTime: at, chainNow: at, wallMs: Date.now() };
  }

  rows(): TaskRow[] {
    return [...this.entries.values()].map((e) => this.row(e));
  }

  private row(e: Entry): TaskRow {
    const { t, game } = e;
    const status = STATUS_NAMES[t.claim.status] ?? "running";
    const trap = status === "trapped" ? t.claim.trap : null;
    return {
      id: e.key,
      phase: "recorded",
      programRoot: t.program.root,
      programName: this.programs.name(t.program.root),
      poster: t.task.poster,
      reward: t.task.reward,
      solverBond: t.task.solverBond,
      challengerBond: t.task.challengerBond,
      deadline: t.task.deadline,
      window: t.task.window,
      inputBytes: (t.task.input.length - 2) / 2,
      stepLimit: String(t.task.limits.steps),
      solver: t.claim.solver,
      steps: t.claim.steps,
      status,
      trap,
      trapName: trap === null ? null : (TRAP_MESSAGES[trap] ?? `trap ${trap}`),
      output: t.claim.output,
      exitCode: exitCodeOf(t),
      commitTime: t.claim.committedAt,
      windowEnds: t.claim.committedAt + t.task.window,
      commitments: 1,
      openGames: game.outcome ? 0 : 1,
      games: [{ id: game.id, phase: game.phase, winner: game.outcome?.winner ?? null, challenger: game.challenger, rounds: game.rounds.length }],
      postedBlock: null,
      postTx: null,
    };
  }

  task(id: string): TaskDetail | null {
    const e = this.entries.get(id);
    if (!e) return null;
    const { t } = e;
    return {
      task: this.row(e),
      initialRoot: t.task.initialRoot,
      limits: { ...t.task.limits },
      commitments: [
        {
          solver: t.claim.solver,
          finalRoot: t.claim.finalRoot,
          steps: t.claim.steps,
          status: STATUS_NAMES[t.claim.status] ?? "running",
          trap: t.claim.trap,
          output: t.claim.output,
          exitCode: exitCodeOf(t),
          revealed: true,
          note: null,
          block: null,
          tx: t.claim.tx,
          defeatedIn: e.game.outcome?.winner === "challenger" ? e.game.id : null,
        },
      ],
      timeline: [
        { name: "TaskPosted", block: null, at: t.task.postedAt, tx: null, args: { taskId: t.task.id, poster: t.task.poster, initialRoot: t.task.initialRoot } },
        { name: "Committed", block: null, at: t.claim.committedAt, tx: t.claim.tx, args: { solver: t.claim.solver, finalRoot: t.claim.finalRoot, steps: t.claim.steps } },
        { name: "Challenged", block: null, at: t.game.openedAt, tx: t.game.tx, args: { gameId: t.game.id, challenger: t.game.challenger } },
      ],
      games: [e.game],
      note: [t.note, `task ${t.task.id}, game ${t.game.id} on chain ${t.source.chainId} (${basename(e.file)})`].filter(Boolean).join(" · "),
    };
  }

  game(id: string): GameView | null {
    return this.entries.get(id)?.game ?? null;
  }

  start(): void {}
  async stop(): Promise<void> {}
}

/** A transcript's game, built like a chain game from its recorded moves. */
export function transcriptGame(key: string, t: Transcript, programs: Programs): GameView {
  const moves: GameStep[] = [];
  for (const m of t.moves) {
    const f = { at: m.at, block: m.block, tx: m.tx, gas: Number(m.gasUsed), from: m.by };
    if (m.kind === "bisect") moves.push({ ...f, kind: "bisect", lo: BigInt(m.lo), hi: BigInt(m.hi), roots: m.roots });
    else if (m.kind === "select") moves.push({ ...f, kind: "select", index: m.index, lo: BigInt(m.lo), hi: BigInt(m.hi) });
    else if (m.kind === "proveStep" && "solverWon" in t.outcome) moves.push({ ...f, kind: "resolved", solverWon: t.outcome.solverWon, timeout: false, proof: { rootLo: m.rootLo, rootHi: m.rootHi, witness: m.witness } });
    else if (m.kind === "timeout" && "solverWon" in t.outcome) moves.push({ ...f, kind: "resolved", solverWon: t.outcome.solverWon, timeout: true, proof: null });
  }
  if ("aborted" in t.outcome) moves.push({ at: t.outcome.at, block: null, tx: null, gas: 0, from: null, kind: "aborted" });
  return buildGame({
    id: key,
    taskId: key,
    solver: t.claim.solver,
    challenger: t.game.challenger,
    k: t.parameters.k,
    clock: t.parameters.clock,
    burnBps: t.parameters.burnBps,
    steps: BigInt(t.game.steps),
    rootLo: t.task.initialRoot,
    rootHi: t.claim.finalRoot,
    bonds: { solver: t.task.solverBond, challenger: t.task.challengerBond },
    opened: { at: t.game.openedAt, block: null, tx: t.game.tx, gas: Number(t.game.gasUsed), from: t.game.challenger },
    moves,
    moot: false,
    describeStep: (_step, proof) => programs.describeStep(t.program.root, proof),
  });
}

/** The claim's exit code: recorded (a later format may), else from its final-state opening when it halted. */
function exitCodeOf(t: Transcript): number | null {
  const x = (t.claim as unknown as { exitCode?: unknown }).exitCode;
  if (typeof x === "number") return x;
  return t.claim.status === 1 ? exitCodeOfOpening(getBytes(t.claim.opening)) : null;
}
