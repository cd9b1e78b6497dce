/**
 * The verification game's move logic, independent of any chain access (docs/GAME.md): the points of
 * a segment, the position as both parties track it, how a challenger picks the segment it disputes,
 * and how the position follows the game's events. Used by the nodes, the contract tests
 * (test/contracts/helpers.ts) and the replay tool.
 */
import type { Hex } from "./encoding.js";

/** VerificationGame.Phase. */
export const Phase = { None: 0, Bisect: 1, Select: 2, Step: 3, SolverWon: 4, ChallengerWon: 5, Aborted: 6 } as const;
export type PhaseCode = (typeof Phase)[keyof typeof Phase];
export const PHASE_NAMES = ["none", "bisect", "select", "step", "solverWon", "challengerWon", "aborted"] as const;

export function isActive(phase: number): boolean {
  return phase === Phase.Bisect || phase === Phase.Select || phase === Phase.Step;
}

/** The inner points of [lo, hi] for degree k (VerificationGame.points). */
export function innerPoints(lo: bigint, hi: bigint, k: number): bigint[] {
  const len = hi - lo;
  if (len <= 1n) return [];
  const d = len < BigInt(k) ? len : BigInt(k);
  const p: bigint[] = [];
  for (let j = 1n; j < d; j++) p.push(lo + (len * j) / d);
  return p;
}

/**
 * The challenger's choice: the first sub-segment [pts[i], pts[i+1]] whose end root `mine` disagrees
 * with (`ends` are the position's roots at `pts`: rootLo, the solver's inner roots, rootHi). When it
 * agrees with every end it disputes the last part all the same (a challenger that challenged a
 * correct result, or the test behaviour --challenge-correct).
 */
export function chooseSegment(ends: readonly Hex[], mine: readonly Hex[]): number {
  if (ends.length !== mine.length || ends.length < 2) throw new Error("chooseSegment: mismatched ends");
  for (let j = 1; j < ends.length; j++) if (mine[j].toLowerCase() !== ends[j].toLowerCase()) return j - 1;
  return ends.length - 2;
}

/**
 * Where a game stands, as both parties track it off-chain: the segment [lo, hi], the agreed root at
 * lo, the solver's root at hi, and the solver's inner roots once it has bisected (null before).
 */
export interface Position {
  lo: bigint;
  hi: bigint;
  rootLo: Hex;
  rootHi: Hex;
  roots: Hex[] | null;
}

export function openingPosition(rootLo: Hex, rootHi: Hex, steps: bigint): Position {
  return { lo: 0n, hi: steps, rootLo, rootHi, roots: null };
}

/** The phase a position implies while the game is running. */
export function positionPhase(p: Position): number {
  if (p.hi - p.lo <= 1n) return Phase.Step;
  return p.roots === null ? Phase.Bisect : Phase.Select;
}

/** The position after the solver's Bisected(lo, hi, roots). */
export function afterBisect(p: Position, lo: bigint, hi: bigint, roots: Hex[]): Position {
  if (lo !== p.lo || hi !== p.hi) throw new Error(`Bisected [${lo}, ${hi}] does not match the position [${p.lo}, ${p.hi}]`);
  return { ...p, roots: [...roots] };
}

/** The position after the challenger's Selected(index, newLo, newHi). */
export function afterSelect(p: Position, index: number, k: number, newLo?: bigint, newHi?: bigint): Position {
  if (p.roots === null) throw new Error("Selected before Bisected");
  const pts = [p.lo, ...innerPoints(p.lo, p.hi, k), p.hi];
  const ends = [p.rootLo, ...p.roots, p.rootHi];
  if (index < 0 || index >= pts.length - 1) throw new Error(`Selected index ${index} out of range`);
  const next: Position = { lo: pts[index], hi: pts[index + 1], rootLo: ends[index], rootHi: ends[index + 1], roots: null };
  if ((newLo !== undefined && newLo !== next.lo) || (newHi !== undefined && newHi !== next.hi)) throw new Error(`Selected [${newLo}, ${newHi}] does not match the points [${next.lo}, ${next.hi}]`);
  return next;
}

/** The points of the current round: lo, the inner points, hi. */
export function roundPoints(p: Position, k: number): bigint[] {
  return [p.lo, ...innerPoints(p.lo, p.hi, k), p.hi];
}
