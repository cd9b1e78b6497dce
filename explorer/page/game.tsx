/**
 * A verification game: the bisection as a picture (each round's segment stretched to the full width,
 * its k parts, the part the challenger chose zooming into the next round, down to the one disputed
 * step), the players with their bonds and chess clocks, every move with its gas, the outcome and the
 * one-step proof.
 */
import type { Clock, GameView as Game, Move, Role, Round, TaskRow } from "../model.js";
import { duration, eth, gas, num, plural, steps, when } from "./format.js";
import { Addr, Fact, GAME_PHASES, GameBadge, Hash, Help, RolesContext, Term, useNow } from "./ui.js";

/** Event arguments that are amounts of wei. */
const AMOUNT = /amount|refund|paid|payout|reward|bond|share|value/i;

const W = 1000;
const BAR = 26;
const LABEL = 18;
const GAP = 34;
const ROW = LABEL + BAR + GAP;

export function GamePage({ game, task }: { game: Game; task: TaskRow | null }) {
  const roles: Record<string, string> = { [game.solver.toLowerCase()]: "solver", [game.challenger.toLowerCase()]: "challenger" };
  if (task) roles[task.poster.toLowerCase()] ??= "poster";
  return (
    <RolesContext.Provider value={roles}>
      <nav class="crumbs">
        <a href="#/">Tasks</a> / <a href={`#/task/${game.taskId}`}>Task {game.taskId}</a> / Game {game.id}
      </nav>
      <GameView game={game} />
    </RolesContext.Provider>
  );
}

export function GameView({ game: g }: { game: Game }) {
  const now = useNow();
  const phase = GAME_PHASES[g.phase];
  const burn = g.burnBps / 10_000;
  const loserBond = g.outcome?.winner === "solver" ? BigInt(g.bonds.challenger) : g.outcome?.winner === "challenger" ? BigInt(g.bonds.solver) : 0n;
  const burnt = (loserBond * BigInt(g.burnBps)) / 10_000n;
  return (
    <div class="game" data-testid="game" data-game={g.id} data-phase={g.phase}>
      <div class="game-head">
        <h1>
          Game {g.id} <GameBadge phase={g.phase} timeout={g.outcome?.timeout} />
          {g.moot && <span class="badge tone-gray" title="the solution lost another game first: this game is moot">moot</span>}
        </h1>
        <span class="game-sub">
          task <a href={`#/task/${g.taskId}`}>{g.taskId}</a> · <Term help="the solver's claimed step count: the game starts on the segment [0, N]">{steps(g.steps)}</Term> · k = {g.k} ·{" "}
          <span data-testid="round-count">{plural(g.rounds.length, "round")}</span>
        </span>
      </div>
      <Help>{phase.help}</Help>

      <div class="players">
        <PlayerCard g={g} role="solver" now={now} />
        <PlayerCard g={g} role="challenger" now={now} />
        <div class={`panel outcome ${g.outcome ? "done" : "running"}`} data-testid="outcome">
          <h3>Outcome</h3>
          {g.outcome ? (
            g.outcome.aborted ? (
              <p>Aborted: the challenger's bond is refunded.</p>
            ) : (
              <>
                <p class="winner" data-testid="winner" data-winner={g.outcome.winner}>
                  <span class={`role role-${g.outcome.winner}`}>{g.outcome.winner}</span> won
                </p>
                <p class="muted">
                  {g.outcome.timeout ? "by timeout: the other side's clock ran out" : "by the one-step proof"} · {when(g.outcome.at)}
                </p>
                {!g.moot && <p class="small" data-testid="payout">{payoutText(g, loserBond, burnt, burn)}</p>}
              </>
            )
          ) : (
            <>
              <p class="winner running">
                <span class={`role role-${g.toMove}`}>{g.toMove}</span> to move
              </p>
              <p class="muted small">{g.deadline !== null ? (g.deadline >= now ? `times out in ${duration(g.deadline - now)}` : `clock ran out ${duration(now - g.deadline)} ago: anyone may claim the timeout`) : ""}</p>
            </>
          )}
          {g.marketEvents.filter((e) => !["Challenged", "SolutionDefeated"].includes(e.name)).length > 0 && (
            <ul class="market-events" data-testid="market-events">
              {g.marketEvents
                .filter((e) => !["Challenged", "SolutionDefeated"].includes(e.name))
                .map((e) => (
                  <li>
                    <b>{e.name}</b>{" "}
                    {Object.entries(e.args)
                      .filter(([k]) => k !== "taskId" && k !== "gameId")
                      .map(([k, v]) => (
                        <span class="arg">
                          {k} {/^0x[0-9a-fA-F]{16,}$/.test(v) ? <Hash value={v} /> : AMOUNT.test(k) && /^\d+$/.test(v) ? <b>{eth(v)}</b> : <b>{v}</b>}{" "}
                        </span>
                      ))}
                  </li>
                ))}
            </ul>
          )}
          <dl class="facts compact">
            <Fact label="Gas, whole game" help="the challenge and every move: what the chain's receipts say" testid="gas-total">
              <b data-gas={g.gas.total}>{gas(g.gas.total)}</b>
            </Fact>
            <Fact label="breakdown">
              challenge {num(g.gas.challenge)} · solver {num(g.gas.solver)} · challenger {num(g.gas.challenger)}
              {g.gas.other ? ` · others ${num(g.gas.other)}` : ""}
            </Fact>
          </dl>
        </div>
      </div>

      <section class="panel">
        <h2>Bisection</h2>
        <Help>
          Each round the solver posts its state roots at the k−1 points that cut the disputed segment into parts; the challenger names the first part whose end root it disputes (the parts before it are agreed), and the next round zooms into that part, down to a single step.
        </Help>
        <Bisection g={g} />
        <div class="legend-row">
          <span class="key agreed" /> agreed <span class="key chosen" /> disputed (chosen) <span class="key later" /> not examined <span class="key pending" /> waiting for a move <span class="dotkey" /> solver's root at a point
        </div>
      </section>

      {(g.proof || g.phase === "step") && <StepPanel g={g} />}

      <section class="panel">
        <h2>Moves</h2>
        <MovesTable g={g} />
      </section>
    </div>
  );
}

/**
 * What the outcome did to the bonds. A market that pays challengers of a defeated solution their bond
 * and their gas says so in an event naming the game (ChallengerPaid: `refund`); without one, the
 * loser's bond goes to the winner less the burnt share.
 */
function payoutText(g: Game, loserBond: bigint, burnt: bigint, burn: number): string {
  const paid = g.marketEvents.find((e) => /paid/i.test(e.name) && e.args.refund !== undefined);
  if (g.outcome?.winner === "challenger" && paid)
    return `The solver loses its bond of ${eth(g.bonds.solver)}. The challenger got its bond of ${eth(g.bonds.challenger)} back and ${eth(paid.args.refund)} for its gas; what the challengers are not refunded is burnt.`;
  return `The ${g.outcome?.winner === "solver" ? "challenger" : "solver"} loses its bond of ${eth(loserBond)}: ${eth(loserBond - burnt)} to the ${g.outcome?.winner}, ${eth(burnt)} burnt (${burn * 100} %).`;
}

function PlayerCard({ g, role, now }: { g: Game; role: Role; now: number }) {
  const addr = role === "solver" ? g.solver : g.challenger;
  const c: Clock = g.clocks[role];
  const running = c.runningSince !== null && !g.outcome;
  const left = running ? Math.max(0, c.left - (now - c.runningSince!)) : c.left;
  const frac = g.clock > 0 ? left / g.clock : 0;
  const moves = g.moves.filter((m) => m.role === role && m.kind !== "challenge");
  const won = g.outcome?.winner === role;
  return (
    <div class={`panel player player-${role} ${won ? "won" : ""} ${running ? "to-move" : ""}`} data-testid={`player-${role}`}>
      <h3>
        <span class={`role role-${role}`}>{role}</span> {won && <span class="crown" title="winner">★ winner</span>}
      </h3>
      <dl class="facts compact">
        <Fact label="Address">
          <Hash value={addr} />
        </Fact>
        <Fact label="Bond" help={role === "solver" ? "put up with the solution" : "put up with the challenge"}>
          {eth(g.bonds[role])}
        </Fact>
        <Fact label="Clock" help="each player's time budget for the whole game; it runs while that player is to move (chess clock)">
          <div class="clock">
            <div class="clock-bar">
              <div class={`clock-fill ${frac < 0.2 ? "low" : ""}`} style={{ width: `${(frac * 100).toFixed(2)}%` }} />
            </div>
            <span class="clock-text" data-testid={`clock-${role}`}>
              {duration(left)} left of {duration(g.clock)}
              {running ? <span class="ticking"> · running</span> : ""}
            </span>
          </div>
        </Fact>
        <Fact label="Moves">
          {moves.length} · {gas(moves.reduce((n, m) => n + (m.gas ?? 0), 0) + (role === "challenger" ? g.gas.challenge : 0))}
          {role === "challenger" ? <span class="muted small"> (with the challenge)</span> : null}
        </Fact>
      </dl>
    </div>
  );
}

/** x position of step `s` on a bar for segment [lo, hi]. */
function xOf(s: bigint, lo: bigint, hi: bigint): number {
  if (hi === lo) return 0;
  // exact enough in floating point: scale the bigint difference into 1e6 parts first
  return (Number(((s - lo) * 1_000_000n) / (hi - lo)) / 1_000_000) * W;
}

function Bisection({ g }: { g: Game }) {
  const rows: preact.JSX.Element[] = [];
  const N = BigInt(g.steps);
  let y = 0;
  const over = g.outcome !== null;
  const rounds = g.rounds;
  // the round rows
  rounds.forEach((r, i) => {
    rows.push(<RoundRow key={`r${r.n}`} r={r} y={y} g={g} first={i === 0} N={N} />);
    y += ROW;
  });
  // the current segment when it waits for the solver's roots, or the final step
  const lo = BigInt(g.lo);
  const hi = BigInt(g.hi);
  // the segment still to be cut: the solver's roots are due (or were, when the game ended meanwhile)
  const pendingBisect = hi - lo > 1n && (rounds.length === 0 || rounds[rounds.length - 1].index !== null);
  const ended = !over ? null : g.outcome!.aborted ? "the game was aborted" : g.outcome!.timeout ? "the solver's clock ran out before it posted its roots" : null;
  let height: number;
  if (hi - lo === 1n) {
    rows.push(<StepRow key="step" g={g} y={y} lo={lo} />);
    height = y + LABEL + BAR + 6;
  } else if (pendingBisect) {
    rows.push(<PendingRow key={`p${lo}-${hi}`} y={y} lo={lo} hi={hi} k={g.k} first={rounds.length === 0} ended={ended} />);
    height = y + LABEL + BAR + 18; // with the end labels
  } else height = y - GAP + 18; // nothing below the last round: its bar and end labels
  return (
    <div class="bisection" data-testid="bisection">
      <svg viewBox={`-4 -4 ${W + 8} ${Math.max(height, 60) + 8}`} role="img" aria-label="the bisection of the execution">
        {rows}
      </svg>
    </div>
  );
}

function Ends({ y, lo, hi }: { y: number; lo: bigint; hi: bigint }) {
  return (
    <>
      <text x={0} y={y + LABEL + BAR + 13} class="tick-label">
        {num(lo.toString())}
      </text>
      <text x={W} y={y + LABEL + BAR + 13} class="tick-label" text-anchor="end">
        {num(hi.toString())}
      </text>
    </>
  );
}

function RoundRow({ r, y, g, first, N }: { r: Round; y: number; g: Game; first: boolean; N: bigint }) {
  const lo = BigInt(r.lo);
  const hi = BigInt(r.hi);
  const pts = r.points.map(BigInt);
  const parts = pts.length - 1;
  const by = y + LABEL;
  const chosen = r.index;
  const len = hi - lo;
  const partLen = len / BigInt(parts);
  const nextLo = chosen !== null ? pts[chosen] : null;
  const nextHi = chosen !== null ? pts[chosen + 1] : null;
  const bisect = g.moves.find((m) => m.kind === "bisect" && m.round === r.n);
  const select = g.moves.find((m) => m.kind === "select" && m.round === r.n);
  return (
    <g class="round appear" data-testid="round" data-round={r.n} data-lo={r.lo} data-hi={r.hi} data-index={chosen ?? ""}>
      <text x={0} y={y + 13} class="row-label">
        <tspan class="row-title">Round {r.n}</tspan>
        <tspan class="row-sub">
          {"  "}
          {first ? "the whole execution, " : ""}steps {num(r.lo)} – {num(r.hi)} · {parts} parts of {len % BigInt(parts) === 0n ? "" : "~"}
          {num(partLen.toString())}
        </tspan>
      </text>
      <text x={W} y={y + 13} class="row-right" text-anchor="end">
        {chosen === null ? (select ? "" : g.outcome?.timeout ? "the challenger's clock ran out before it chose" : g.outcome?.aborted ? "the game was aborted" : "waiting for the challenger to choose a part") : `challenger chose part ${chosen + 1}: ${num(nextLo!.toString())} – ${num(nextHi!.toString())}`}
        {bisect?.gas ? ` · ${num(bisect.gas + (select?.gas ?? 0))} gas` : ""}
        <title>
          {bisect?.gas ? `the solver's bisect: ${num(bisect.gas)} gas` : ""}
          {select?.gas ? `, the challenger's select: ${num(select.gas)} gas` : ""}
        </title>
      </text>
      {pts.slice(0, -1).map((p, j) => {
        const x1 = xOf(p, lo, hi);
        const x2 = xOf(pts[j + 1], lo, hi);
        const cls = chosen === null ? "part pending" : j < chosen ? "part agreed" : j === chosen ? "part chosen" : "part later";
        return (
          <rect x={x1} y={by} width={Math.max(0.8, x2 - x1)} height={BAR} class={cls}>
            <title>
              part {j + 1}: steps {num(p.toString())} – {num(pts[j + 1].toString())}
              {chosen === null ? "" : j < chosen ? " (agreed: the challenger accepts the root at its end)" : j === chosen ? " (disputed: the challenger rejects the root at its end)" : " (not examined)"}
            </title>
          </rect>
        );
      })}
      {pts.slice(1, -1).map((p, j) => (
        <circle cx={xOf(p, lo, hi)} cy={by} r={parts > 40 ? 1.6 : 3} class="point">
          <title>
            step {num(p.toString())}: the solver's root {r.roots?.[j] ?? "(not yet posted)"}
          </title>
        </circle>
      ))}
      {first && g.rounds.length > 1 && (
        <line x1={xOf(BigInt(g.lo), 0n, N)} x2={xOf(BigInt(g.lo), 0n, N)} y1={by - 5} y2={by + BAR + 5} class="focus-line">
          <title>where the dispute stands: step {num(g.lo)}</title>
        </line>
      )}
      <Ends y={y} lo={lo} hi={hi} />
      {chosen !== null && (
        <polygon points={`${xOf(nextLo!, lo, hi)},${by + BAR} ${xOf(nextHi!, lo, hi)},${by + BAR} ${W},${y + ROW + LABEL} 0,${y + ROW + LABEL}`} class="zoom" />
      )}
    </g>
  );
}

function PendingRow({ y, lo, hi, k, first, ended }: { y: number; lo: bigint; hi: bigint; k: number; first: boolean; ended: string | null }) {
  const parts = hi - lo < BigInt(k) ? Number(hi - lo) : k;
  return (
    <g class="round appear pending-row" data-testid="pending-round">
      <text x={0} y={y + 13} class="row-label">
        <tspan class="row-title">Next round</tspan>
        <tspan class="row-sub">
          {"  "}
          {first ? "the whole execution, " : ""}steps {num(lo.toString())} – {num(hi.toString())}
        </tspan>
      </text>
      <text x={W} y={y + 13} class="row-right" text-anchor="end">
        {ended ?? `waiting for the solver's ${parts - 1} roots`}
      </text>
      <rect x={0} y={y + LABEL} width={W} height={BAR} class={ended ? "part stopped" : "part waiting"} />
      <Ends y={y} lo={lo} hi={hi} />
    </g>
  );
}

function StepRow({ g, y, lo }: { g: Game; y: number; lo: bigint }) {
  const p = g.proof;
  const done = g.outcome !== null;
  const cls = done ? (g.outcome?.winner === "solver" ? "step-box solver" : "step-box challenger") : "step-box waiting";
  return (
    <g class="round appear" data-testid="step-row" data-step={lo.toString()}>
      <text x={0} y={y + 13} class="row-label">
        <tspan class="row-title">The disputed step</tspan>
        <tspan class="row-sub">
          {"  "}from state {num(lo.toString())} to state {num((lo + 1n).toString())}
        </tspan>
      </text>
      <text x={W} y={y + 13} class="row-right" text-anchor="end">
        {p ? `proven on-chain by the ${p.by}` : done ? "" : "waiting for the one-step proof"}
      </text>
      <rect x={0} y={y + LABEL} width={W} height={BAR} rx={4} class={cls} />
      <text x={W / 2} y={y + LABEL + BAR / 2 + 5} class="step-text" text-anchor="middle">
        step {num(lo.toString())}
        {p?.instruction ? `: ${p.instruction.op}${p.instruction.func ? ` in ${p.instruction.func}` : ""}` : ""}
      </text>
    </g>
  );
}

function StepPanel({ g }: { g: Game }) {
  const p = g.proof;
  const match = p && p.rootPost ? p.rootPost.toLowerCase() === p.rootHiClaimed.toLowerCase() : null;
  return (
    <section class="panel step-panel" data-testid="step-panel">
      <h2>
        The disputed step: <span data-testid="disputed-step" data-step={g.lo}>{num(g.lo)}</span>
      </h2>
      <Help>Both players agree on the state before this step and disagree on the state after it; the contract re-executes this one step from the witness and compares the result with the solver's claim.</Help>
      {p ? (
        <dl class="facts">
          <Fact label="Instruction" help="the lowered machine's instruction at the pre-state's pc (docs/MACHINE.md)">
            {p.instruction ? (
              <span data-testid="instruction">
                <code class="op">{p.instruction.op}</code> {p.instruction.func ? <>in <code>{p.instruction.func}</code></> : null} <span class="muted">pc {num(p.instruction.pc)}</span>
              </span>
            ) : (
              <span class="muted">{p.note ?? "unknown"}</span>
            )}
          </Fact>
          <Fact label="Pre-state root" help="the state both players agree on, at the step's start">
            <Hash value={p.rootLo} head={10} tail={8} />
          </Fact>
          <Fact label="Post-state root, solver's claim">
            <Hash value={p.rootHiClaimed} head={10} tail={8} />
          </Fact>
          <Fact label="Post-state root, one-step prover" help="computed from the witness by the reference verifier, as the contract's prover does" testid="post-root">
            {p.rootPost ? (
              <>
                <Hash value={p.rootPost} head={10} tail={8} />{" "}
                <span class={`verdict ${match ? "ok" : "bad"}`}>{match ? "= the solver's claim" : "≠ the solver's claim"}</span>
              </>
            ) : (
              <span class="muted">{p.note ?? "not computed"}</span>
            )}
          </Fact>
          <Fact label="Witness">
            {num(p.witnessBytes)} bytes, sent by the {p.by}
          </Fact>
        </dl>
      ) : (
        <p class="muted">{g.outcome?.timeout ? "The game ended by timeout before a proof." : "Waiting for a player to submit the step's witness."}</p>
      )}
    </section>
  );
}

const MOVE_TEXT: Record<Move["kind"], string> = {
  challenge: "challenge",
  bisect: "bisect",
  select: "select",
  proveStep: "one-step proof",
  timeout: "timeout",
  abort: "abort",
};

function MovesTable({ g }: { g: Game }) {
  return (
    <table class="moves" data-testid="moves">
      <thead>
        <tr>
          <th>#</th>
          <th>When</th>
          <th title="seconds after the game opened">+</th>
          <th>Who</th>
          <th>Move</th>
          <th>What</th>
          <th class="r">Gas</th>
          <th>Tx</th>
        </tr>
      </thead>
      <tbody>
        {g.moves.map((m, i) => (
          <tr data-testid="move" data-kind={m.kind} data-gas={m.gas ?? ""}>
            <td class="muted">{i + 1}</td>
            <td class="nowrap">{when(m.at)}</td>
            <td class="nowrap muted">{m.at !== null && g.openedAt !== null ? `+${duration(m.at - g.openedAt)}` : ""}</td>
            <td>
              <Addr value={m.from} role={m.role === "other" ? undefined : m.role} />
            </td>
            <td>
              <b>{MOVE_TEXT[m.kind]}</b>
              {m.round !== null ? <span class="muted"> · round {m.round}</span> : null}
            </td>
            <td class="what">{moveWhat(g, m)}</td>
            <td class="r nowrap">{gas(m.gas)}</td>
            <td>
              <Hash value={m.tx} />
            </td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <td colSpan={6} class="r">
            total
          </td>
          <td class="r nowrap">
            <b>{gas(g.gas.total)}</b>
          </td>
          <td />
        </tr>
      </tfoot>
    </table>
  );
}

function moveWhat(g: Game, m: Move): string {
  switch (m.kind) {
    case "challenge":
      return `opens the game on steps 0 – ${num(g.steps)}`;
    case "bisect": {
      const r = g.rounds.find((x) => x.n === m.round);
      return `${plural((r?.points.length ?? 2) - 2, "root")} at the inner points of ${num(m.lo)} – ${num(m.hi)}`;
    }
    case "select":
      return `part ${(m.index ?? 0) + 1}: steps ${num(m.lo)} – ${num(m.hi)}`;
    case "proveStep":
      return `re-executes step ${num(m.lo)} on-chain → ${g.outcome?.winner ?? "?"} wins`;
    case "timeout":
      return `the ${g.outcome?.winner === "solver" ? "challenger" : "solver"}'s clock ran out`;
    case "abort":
      return "the game is called off";
  }
}
