/** Small pieces of the page: hashes and addresses, badges, the meaning of each phase, live time. */
import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import type { GamePhase, Head, TaskPhase } from "../model.js";
import { short } from "./format.js";

/** Live time: the chain's "now" ticking from the last head the server sent. */
export const NowContext = createContext<number>(0);
export const useNow = () => useContext(NowContext);

export function useChainNow(head: Head | null): number {
  const [, tick] = useState(0);
  const [base, setBase] = useState<{ chainNow: number; at: number } | null>(null);
  useEffect(() => {
    if (head) setBase({ chainNow: head.chainNow, at: performance.now() });
  }, [head?.chainNow, head?.wallMs]);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);
  if (!base) return Math.floor(Date.now() / 1000);
  return Math.floor(base.chainNow + (performance.now() - base.at) / 1000);
}

/** Roles of known addresses (solver, challenger, poster) for labels. */
export const RolesContext = createContext<Record<string, string>>({});

/**
 * Copies a hash's full value when clicked: one listener for the whole page (a list of hundreds of
 * tasks renders hashes as plain elements, not components with state).
 */
export function installCopyHandler(): void {
  document.addEventListener("click", async (e) => {
    const el = (e.target as HTMLElement).closest?.("button.hash") as HTMLElement | null;
    if (!el?.dataset.full) return;
    e.stopPropagation();
    e.preventDefault();
    try {
      await navigator.clipboard.writeText(el.dataset.full);
    } catch {
      return;
    }
    el.classList.add("copied");
    setTimeout(() => el.classList.remove("copied"), 900);
  }, true);
}

/** A hash or address shortened; the full value on hover, copied on click (a plain element: may be called as a function). */
export function Hash({ value, label, head = 6, tail = 4, class: cls }: { value: string | null | undefined; label?: string; head?: number; tail?: number; class?: string }) {
  if (!value) return <span class="muted">—</span>;
  return (
    <button type="button" class={cls ? `hash ${cls}` : "hash"} title={`${value}\n(click to copy)`} data-full={value}>
      {label ?? short(value, head, tail)}
    </button>
  );
}

/** An address with its role in the task when it has one. */
export function Addr({ value, role }: { value: string | null | undefined; role?: string }) {
  const roles = useContext(RolesContext);
  if (!value) return <span class="muted">—</span>;
  const r = role ?? roles[value.toLowerCase()];
  return (
    <span class="addr">
      {r && <span class={`role role-${r}`}>{r}</span>}
      <Hash value={value} />
    </span>
  );
}

export const TASK_PHASES: Record<TaskPhase, { label: string; tone: string; help: string }> = {
  awaiting: { label: "awaiting solution", tone: "blue", help: "Open: no solution yet. Any solver may commit one, with its bond, until the deadline." },
  unsolved: { label: "unsolved", tone: "gray", help: "The deadline passed without a solution held: anyone may expire the task and refund the reward to the poster." },
  window: { label: "challenge window", tone: "amber", help: "A solution is committed. Anyone may challenge it, with a bond, until its window ends." },
  disputed: { label: "in dispute", tone: "red", help: "A challenger disputes the solution: a verification game is running." },
  finalizable: { label: "finalizable", tone: "teal", help: "The window passed with no game running: anyone may finalize (the solver is paid, the poster gets the output)." },
  finalized: { label: "finalized", tone: "green", help: "The solution stood: the solver was paid the reward and its bond back, the poster has the output." },
  expired: { label: "expired", tone: "gray", help: "No solution by the deadline: the reward went back to the poster." },
  recorded: { label: "transcript", tone: "violet", help: "A game recorded in a transcript file: the task's terms, the claim and the game, not what happened after." },
};

export const GAME_PHASES: Record<GamePhase, { label: string; tone: string; help: string }> = {
  bisect: { label: "bisect · solver to move", tone: "blue", help: "The solver must post its state roots at the k−1 points that cut the disputed segment into k parts." },
  select: { label: "select · challenger to move", tone: "amber", help: "The challenger names the first part whose end root it disputes; the game narrows to that part." },
  step: { label: "one-step proof", tone: "red", help: "The segment is a single step: a player submits its witness and the on-chain prover re-executes that one step." },
  solverWon: { label: "solver won", tone: "green", help: "The solver's claim held: the challenger loses its bond." },
  challengerWon: { label: "challenger won", tone: "green", help: "The solver's claim was false: it loses its bond and its solution, and the task reopens." },
  aborted: { label: "aborted", tone: "gray", help: "The solution had already lost another game: this one was called off and the challenger's bond refunded." },
};

export function Badge({ tone, children, title, testid }: { tone: string; children: ComponentChildren; title?: string; testid?: string }) {
  return (
    <span class={`badge tone-${tone}`} title={title} data-testid={testid}>
      {children}
    </span>
  );
}

export function TaskBadge({ phase }: { phase: TaskPhase }) {
  const p = TASK_PHASES[phase];
  return (
    <Badge tone={p.tone} title={p.help} testid="task-phase">
      {p.label}
    </Badge>
  );
}

export function GameBadge({ phase, timeout }: { phase: GamePhase; timeout?: boolean }) {
  const p = GAME_PHASES[phase];
  return (
    <Badge tone={p.tone} title={p.help} testid="game-phase">
      {p.label}
      {timeout ? " (timeout)" : ""}
    </Badge>
  );
}

/** A one-line explanation under a heading. */
export function Help({ children }: { children: ComponentChildren }) {
  return <p class="help">{children}</p>;
}

/** A term with its meaning on hover. */
export function Term({ children, help }: { children: ComponentChildren; help: string }) {
  return (
    <span class="term" title={help}>
      {children}
    </span>
  );
}

export function Fact({ label, help, children, testid }: { label: string; help?: string; children: ComponentChildren; testid?: string }) {
  return (
    <div class="fact" data-testid={testid}>
      <dt title={help}>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}
