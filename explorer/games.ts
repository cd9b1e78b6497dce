/**
 * A game's view from its sequence of moves, the same for both sources (the chain's events, a
 * transcript's moves): rounds with their points and choices, the chess clocks replayed from the
 * moves' times exactly as VerificationGame charges them, the phase, the party to move, gas by side.
 */
import { innerPoints } from "../client/game.js";
import type { Clock, GamePhase, GameView, Hex, Move, Role, Round, StepProof, TimelineEntry } from "./model.js";

interface TxFacts {
  at: number | null;
  block: number | null;
  tx: Hex | null;
  gas: number | null;
  /** Sender; null when not known yet (receipt pending). */
  from: string | null;
}

export type GameStep =
  | (TxFacts & { kind: "bisect"; lo: bigint; hi: bigint; roots: Hex[] })
  | (TxFacts & { kind: "select"; index: number; lo: bigint; hi: bigint })
  | (TxFacts & { kind: "resolved"; solverWon: boolean; timeout: boolean; /** proveStep's arguments when the game ended by a proof */ proof: { rootLo: Hex; rootHi: Hex; witness: Hex } | null })
  | (TxFacts & { kind: "aborted" });

export interface GameInput {
  id: string;
  taskId: string;
  solver: string;
  challenger: string;
  k: number;
  clock: number;
  burnBps: number;
  steps: bigint;
  rootLo: Hex;
  rootHi: Hex;
  bonds: { solver: string; challenger: string };
  opened: TxFacts;
  moves: GameStep[];
  /** The challenge was released (the solution lost elsewhere): the game is moot. */
  moot: boolean;
  marketEvents?: TimelineEntry[];
  /** Computes the disputed step's instruction and post root (the program lives with the caller). */
  describeStep?: (step: bigint, proof: { rootLo: Hex; rootHi: Hex; witness: Hex }) => Pick<StepProof, "rootPost" | "instruction" | "note">;
}

const same = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();

export function buildGame(g: GameInput): GameView {
  const roleOf = (from: string | null, expected: Role): Role | "other" => (from === null ? expected : same(from, g.solver) ? "solver" : same(from, g.challenger) ? "challenger" : "other");
  const rounds: Round[] = [];
  const moves: Move[] = [];
  const clocks: Record<Role, Clock> = { solver: { left: g.clock, used: 0, runningSince: null }, challenger: { left: g.clock, used: 0, runningSince: null } };
  let last = g.opened.at;
  const charge = (who: Role, at: number | null) => {
    if (at === null || last === null) return;
    const spent = Math.max(0, at - last);
    clocks[who].used += spent;
    clocks[who].left = Math.max(0, clocks[who].left - spent);
    last = at;
  };

  let lo = 0n;
  let hi = g.steps;
  let rootLo = g.rootLo;
  let rootHi = g.rootHi;
  let phase: GamePhase = hi - lo <= 1n ? "step" : "bisect";
  let outcome: GameView["outcome"] = null;
  let proof: StepProof | null = null;
  moves.push({ kind: "challenge", role: roleOf(g.opened.from, "challenger"), from: g.opened.from ?? g.challenger, at: g.opened.at, block: g.opened.block, tx: g.opened.tx, gas: g.opened.gas, round: null, lo: "0", hi: g.steps.toString(), index: null });

  for (const m of g.moves) {
    const base = { from: m.from ?? "", at: m.at, block: m.block, tx: m.tx, gas: m.gas };
    if (m.kind === "bisect") {
      charge("solver", m.at);
      const n = rounds.length + 1;
      const points = [m.lo, ...innerPoints(m.lo, m.hi, g.k), m.hi].map(String);
      rounds.push({ n, lo: m.lo.toString(), hi: m.hi.toString(), points, roots: [...m.roots], rootLo, rootHi, index: null });
      moves.push({ ...base, kind: "bisect", role: roleOf(m.from, "solver"), from: m.from ?? g.solver, round: n, lo: m.lo.toString(), hi: m.hi.toString(), index: null });
      phase = "select";
    } else if (m.kind === "select") {
      charge("challenger", m.at);
      const r = rounds[rounds.length - 1];
      if (r) {
        r.index = m.index;
        const ends = [r.rootLo, ...(r.roots ?? []), r.rootHi];
        rootLo = ends[m.index] ?? rootLo;
        rootHi = ends[m.index + 1] ?? rootHi;
      }
      lo = m.lo;
      hi = m.hi;
      moves.push({ ...base, kind: "select", role: roleOf(m.from, "challenger"), from: m.from ?? g.challenger, round: r?.n ?? null, lo: m.lo.toString(), hi: m.hi.toString(), index: m.index });
      phase = hi - lo <= 1n ? "step" : "bisect";
    } else if (m.kind === "resolved") {
      const toMove: Role = phase === "select" ? "challenger" : "solver";
      const by = roleOf(m.from, m.proof ? "solver" : toMove);
      if (m.timeout) {
        // the party to move let its clock run out
        clocks[toMove].used += clocks[toMove].left;
        clocks[toMove].left = 0;
        moves.push({ ...base, kind: "timeout", role: by, from: m.from ?? "", round: null, lo: lo.toString(), hi: hi.toString(), index: null });
      } else {
        charge("solver", m.at); // proveStep charges the solver's clock whoever calls it
        moves.push({ ...base, kind: "proveStep", role: by, from: m.from ?? "", round: null, lo: lo.toString(), hi: hi.toString(), index: null });
        if (m.proof) {
          const described = g.describeStep?.(lo, m.proof) ?? { rootPost: null, instruction: null, note: "the program is not available" };
          proof = { step: lo.toString(), by, rootLo: m.proof.rootLo, rootHiClaimed: m.proof.rootHi, witnessBytes: (m.proof.witness.length - 2) / 2, ...described };
        }
      }
      phase = m.solverWon ? "solverWon" : "challengerWon";
      outcome = { winner: m.solverWon ? "solver" : "challenger", timeout: m.timeout, aborted: false, at: m.at, by };
    } else {
      moves.push({ ...base, kind: "abort", role: "other", from: m.from ?? "", round: null, lo: lo.toString(), hi: hi.toString(), index: null });
      phase = "aborted";
      outcome = { winner: null, timeout: false, aborted: true, at: m.at, by: "other" };
    }
  }

  let toMove: Role | null = null;
  let deadline: number | null = null;
  if (!outcome) {
    toMove = phase === "select" ? "challenger" : "solver";
    clocks[toMove].runningSince = last;
    deadline = last === null ? null : last + clocks[toMove].left;
  }

  const gas = { challenge: g.opened.gas ?? 0, solver: 0, challenger: 0, other: 0, total: 0 };
  for (const m of moves.slice(1)) gas[m.role] += m.gas ?? 0;
  gas.total = gas.challenge + gas.solver + gas.challenger + gas.other;

  return {
    id: g.id,
    taskId: g.taskId,
    solver: g.solver,
    challenger: g.challenger,
    k: g.k,
    steps: g.steps.toString(),
    rootLo: g.rootLo,
    rootHi: g.rootHi,
    phase,
    toMove,
    deadline,
    lo: lo.toString(),
    hi: hi.toString(),
    clock: g.clock,
    clocks,
    bonds: g.bonds,
    burnBps: g.burnBps,
    rounds,
    moves,
    outcome,
    proof,
    gas,
    openedAt: g.opened.at,
    moot: g.moot,
    marketEvents: g.marketEvents ?? [],
  };
}
