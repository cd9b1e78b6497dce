/**
 * What the explorer's server sends its page (JSON): the task list, a task's detail, a game. Built
 * from the chain (explorer/chain.ts) or from transcripts (explorer/transcripts.ts), rendered by
 * explorer/page/. Amounts in wei and step numbers are decimal strings (they exceed 2^53); gas and
 * times (seconds, block timestamps) are numbers. Types and pure functions only: the page imports this file.
 */

export type Hex = string;

/** Where the data comes from. */
export interface Source {
  kind: "chain" | "transcript";
  /** The RPC URL or the transcript file names. */
  label: string;
  chainId: number | null;
  market: string | null;
  game: string | null;
  /** Market parameters (docs/GAME.md); null when transcripts of different markets differ. */
  k: number | null;
  clock: number | null;
  burnBps: number | null;
  /** First block read (the market's deployment). */
  fromBlock: number | null;
}

/** The chain's head as last seen, and the server's estimate of the chain's "now". */
export interface Head {
  block: number | null;
  /** Timestamp of the head block. */
  blockTime: number | null;
  /** Estimate of the chain's current time (seconds): wall clock plus the offset seen at the head. */
  chainNow: number;
  /** Server wall clock (ms) when this was computed: the page ticks from it. */
  wallMs: number;
}

/** A task's phase as a person reads it, derived from the market's stage and the solution held. */
export type TaskPhase =
  | "awaiting" //    open, no solution held, deadline ahead
  | "unsolved" //    open, no solution held, deadline passed: anyone may expire it
  | "window" //      a solution is held, its challenge window is open, no game running
  | "disputed" //    a solution is held and at least one game runs
  | "finalizable" // a solution is held, the window is over, no game running: anyone may finalize
  | "finalized"
  | "expired"
  | "recorded"; //   a transcript: only the game was recorded

/** The phase of a task at time `now` (the server's rows carry the market's stage; time moves on). */
export function taskPhase(r: TaskRow, now: number): TaskPhase {
  if (r.phase === "finalized" || r.phase === "expired" || r.phase === "recorded") return r.phase;
  if (!r.solver) return now > r.deadline ? "unsolved" : "awaiting";
  if (r.openGames > 0) return "disputed";
  return r.windowEnds !== null && now > r.windowEnds ? "finalizable" : "window";
}

export interface GameRef {
  id: string;
  phase: GamePhase;
  /** "solver" | "challenger" once decided; null while running or when aborted. */
  winner: Role | null;
  challenger: string;
  rounds: number;
}

export interface TaskRow {
  id: string;
  phase: TaskPhase;
  programRoot: Hex;
  /** Name of the program when known (wasm name section, or a project task with the same bytes). */
  programName: string | null;
  poster: string;
  reward: string;
  solverBond: string;
  challengerBond: string;
  /** Last second a solution may be committed. */
  deadline: number;
  /** Challenge window after a commitment (s). */
  window: number;
  inputBytes: number;
  stepLimit: string;
  /** The solution held (or that finalized). */
  solver: string | null;
  steps: string | null;
  status: "running" | "halted" | "trapped" | null;
  trap: number | null;
  trapName: string | null;
  output: Hex | null;
  /** The program's exit code when the market reports one (null when it does not). */
  exitCode: number | null;
  commitTime: number | null;
  /** commitTime + window: the last second a challenge is accepted. */
  windowEnds: number | null;
  /** Solutions committed over the task's life (a defeated one reopens the task). */
  commitments: number;
  /** Games running against the solution held. */
  openGames: number;
  games: GameRef[];
  postedBlock: number | null;
  postTx: Hex | null;
}

/** One event of a task or game, for the timeline (any event the market or game emits). */
export interface TimelineEntry {
  name: string;
  block: number | null;
  at: number | null;
  tx: Hex | null;
  /** The event's arguments as strings (hex, decimal), minus the bulky ones (input, wasm). */
  args: Record<string, string>;
}

export interface Commitment {
  solver: string;
  finalRoot: Hex;
  steps: string;
  status: "running" | "halted" | "trapped";
  trap: number;
  output: Hex;
  exitCode: number | null;
  /** The result is known (false for a commitment whose reveal is pending, in a commit-reveal market). */
  revealed: boolean;
  /** What else happened to it (forfeited …). */
  note: string | null;
  block: number | null;
  tx: Hex | null;
  /** Defeated in game N (null while it stands). */
  defeatedIn: string | null;
}

export interface TaskDetail {
  task: TaskRow;
  initialRoot: Hex;
  limits: Record<string, number | string>;
  commitments: Commitment[];
  timeline: TimelineEntry[];
  games: GameView[];
  /** Free-form note (a transcript's). */
  note: string | null;
}

export type Role = "solver" | "challenger";
export type GamePhase = "bisect" | "select" | "step" | "solverWon" | "challengerWon" | "aborted";

/** A move of a game: one transaction. */
export interface Move {
  kind: "challenge" | "bisect" | "select" | "proveStep" | "timeout" | "abort";
  /** Who sent it: solver, challenger, or someone else (a timeout may be claimed by anyone). */
  role: Role | "other";
  from: string;
  at: number | null;
  block: number | null;
  tx: Hex | null;
  gas: number | null;
  /** Round number (1-based) for bisect and select. */
  round: number | null;
  /** The segment the move acted on or produced ([lo, hi] as decimal strings). */
  lo: string | null;
  hi: string | null;
  /** select: the part chosen (0-based). */
  index: number | null;
}

/** A round: the solver cuts [lo, hi] into parts at its points, the challenger names one. */
export interface Round {
  n: number;
  lo: string;
  hi: string;
  /** lo, the k−1 (or fewer) inner points, hi. */
  points: string[];
  /** The solver's roots at the inner points (null before its bisect). */
  roots: Hex[] | null;
  rootLo: Hex;
  rootHi: Hex;
  /** The challenger's choice: the part [points[index], points[index+1]] (null before its select). */
  index: number | null;
}

export interface Clock {
  /** Seconds left as of `since` (the last move), before the running time is charged. */
  left: number;
  /** Seconds used so far (moves charged). */
  used: number;
  /** Running since this time (the party to move), or null. */
  runningSince: number | null;
}

/** The one-step proof that ended a game. */
export interface StepProof {
  /** The disputed step: from state `step` to state `step + 1`. */
  step: string;
  by: Role | "other";
  /** Agreed pre-state root. */
  rootLo: Hex;
  /** The solver's claimed post-state root. */
  rootHiClaimed: Hex;
  /** The post-state root the one-step prover computes from the witness (null when it cannot be computed). */
  rootPost: Hex | null;
  witnessBytes: number;
  instruction: { pc: number; op: string; func: string | null } | null;
  /** Why the instruction or post root are missing (program not found, witness not decodable). */
  note: string | null;
}

export interface GameView {
  id: string;
  taskId: string;
  solver: string;
  challenger: string;
  k: number;
  /** The claimed step count N: the game's first segment is [0, N]. */
  steps: string;
  /** Agreed initial root and the solver's claimed final root. */
  rootLo: Hex;
  rootHi: Hex;
  phase: GamePhase;
  /** The party whose clock runs (null once over). */
  toMove: Role | null;
  /** When the party to move times out (null once over). */
  deadline: number | null;
  /** Current segment. */
  lo: string;
  hi: string;
  clock: number;
  clocks: { solver: Clock; challenger: Clock };
  bonds: { solver: string; challenger: string };
  burnBps: number;
  rounds: Round[];
  moves: Move[];
  outcome: null | { winner: Role | null; timeout: boolean; aborted: boolean; at: number | null; by: Role | "other" | null };
  proof: StepProof | null;
  gas: { challenge: number; solver: number; challenger: number; other: number; total: number };
  openedAt: number | null;
  /** The solution was already defeated elsewhere: the game is moot (challenger refunded). */
  moot: boolean;
  /** The market's events that name this game (the challenge, a defeat, payouts, a release). */
  marketEvents: TimelineEntry[];
}

/** GET /api/state */
export interface StateResponse {
  source: Source;
  head: Head;
  version: number;
  syncing: boolean;
  error: string | null;
  tasks: TaskRow[];
  /** Server-side time to build the list (ms). */
  buildMs: number;
}

/** GET /api/task/:id */
export interface TaskResponse {
  source: Source;
  head: Head;
  version: number;
  detail: TaskDetail | null;
}

/** GET /api/game/:id */
export interface GameResponse {
  source: Source;
  head: Head;
  version: number;
  game: GameView | null;
  task: TaskRow | null;
}

/** Server-sent event `update`. */
export interface UpdateEvent {
  version: number;
  head: Head;
  syncing: boolean;
  error: string | null;
}
