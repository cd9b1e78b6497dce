/** The task list and a task's page. */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { taskPhase, type StateResponse, type TaskDetail, type TaskPhase, type TaskRow } from "../model.js";
import { bytes, duration, eth, num, relative, steps, when, whenShort } from "./format.js";
import { GameView } from "./game.js";
import { useWindowRows } from "./virtual.js";
import { Addr, Fact, Hash, Help, RolesContext, TASK_PHASES, TaskBadge, useNow } from "./ui.js";

const ORDER: TaskPhase[] = ["awaiting", "window", "disputed", "finalizable", "finalized", "unsolved", "expired", "recorded"];
/** Height of a row of the list (px): rows are one line, placed by the virtualizer. */
const ROW_HEIGHT = 52;

export function Result({ t }: { t: TaskRow }) {
  if (!t.status) return <span class="muted">—</span>;
  if (t.status === "running") return <span class="muted">committed, not revealed yet</span>;
  if (t.status === "trapped")
    return (
      <span class="result trapped" title={`the program trapped (code ${t.trap}): a trapped task has no output`}>
        trapped · {t.trapName}
      </span>
    );
  const outBytes = t.output ? (t.output.length - 2) / 2 : 0;
  return (
    <span class="result">
      {t.exitCode !== null ? (
        <span class="exit" title="the program's exit code">
          exit {t.exitCode}
        </span>
      ) : (
        <span class="exit" title="the program returned from main">
          halted
        </span>
      )}{" "}
      {outBytes > 0 ? (
        <>
          {Hash({ value: t.output, head: 8, tail: 4 })} <span class="muted small">{bytes(outBytes)}</span>
        </>
      ) : (
        <span class="muted small">no output</span>
      )}
    </span>
  );
}

export function WindowLeft({ t, now }: { t: TaskRow; now: number }) {
  if (t.windowEnds === null || t.phase === "recorded")
    return (
      <>
        <span class="muted" title={`a committed solution may be challenged for ${duration(t.window)}`}>
          {duration(t.window)}
        </span>
        <span class="sub muted">after a commit</span>
      </>
    );
  const left = t.windowEnds - now;
  return left >= 0 ? (
    <>
      <span class="window-open" title={`challenges accepted until ${when(t.windowEnds)}`}>
        {duration(left)}
      </span>
      <span class="sub muted">left of {duration(t.window)}</span>
    </>
  ) : (
    <>
      <span class="muted" title={`closed at ${when(t.windowEnds)}`}>
        closed
      </span>
      <span class="sub muted">{relative(t.windowEnds, now)}</span>
    </>
  );
}

function GamePills({ t }: { t: TaskRow }) {
  if (!t.games.length) return <span class="muted">—</span>;
  return (
    <span class="pills">
      {t.games.map((g) => {
        const running = !g.winner && g.phase !== "aborted";
        const text = running ? `round ${g.rounds + (g.phase === "bisect" ? 1 : 0)}` : g.phase === "aborted" ? "aborted" : `${g.winner} won`;
        return (
          <a class={`pill ${running ? "pill-live" : g.winner === "challenger" ? "pill-challenger" : g.winner === "solver" ? "pill-solver" : ""}`} href={`#/game/${g.id}`} title={`game ${g.id}: ${text}`} onClick={(e) => e.stopPropagation()}>
            #{g.id} {text}
          </a>
        );
      })}
    </span>
  );
}

/**
 * One row of the list. Plain function calls, not components: hundreds of rows render as elements
 * only (the row's pieces have no state), which keeps the first render of a long list short.
 */
function taskRow(t: TaskRow, now: number, y: number) {
  const outBytes = t.output ? (t.output.length - 2) / 2 : 0;
  return (
    <div key={t.id} class="trow" role="row" data-testid="task-row" data-task={t.id} style={{ transform: `translateY(${y}px)` }} onClick={() => (location.hash = `#/task/${t.id}`)}>
      <div class="id">
        <a href={`#/task/${t.id}`}>{t.id}</a>
      </div>
      <div>{TaskBadge({ phase: t.phase })}</div>
      <div class="two">
        <span class="prog">{t.programName ?? <span class="muted">unnamed program</span>}</span>
        <span class="sub">{Hash({ value: t.programRoot, head: 8, tail: 6 })}</span>
      </div>
      <div>{Hash({ value: t.poster })}</div>
      <div class="r">{eth(t.reward)}</div>
      <div>{t.solver ? Hash({ value: t.solver }) : <span class="muted">—</span>}</div>
      <div class="r">{t.steps ? num(t.steps) : <span class="muted">—</span>}</div>
      <div class="two">
        {!t.status ? (
          <span class="muted">—</span>
        ) : t.status === "running" ? (
          <>
            <span class="muted" title="the solver committed a hash of its result; the result shows once revealed">
              committed
            </span>
            <span class="sub muted">not revealed yet</span>
          </>
        ) : t.status === "trapped" ? (
          <>
            <span class="result trapped" title={`the program trapped (code ${t.trap}): a trapped task has no output`}>
              trapped
            </span>
            <span class="sub trapped">{t.trapName}</span>
          </>
        ) : (
          <>
            <span class="result">
              <span class="exit" title={t.exitCode !== null ? "the program's exit code" : "the program halted"}>
                {t.exitCode !== null ? `exit ${t.exitCode}` : "halted"}
              </span>{" "}
              <span class="muted small">· {outBytes ? bytes(outBytes) : "no output"}</span>
            </span>
            {outBytes > 0 && <span class="sub">{Hash({ value: t.output, head: 10, tail: 6 })}</span>}
          </>
        )}
      </div>
      <div class="two">
        {t.phase === "recorded" ? <span>{when(t.deadline)}</span> : <span>{relative(t.deadline, now)}</span>}
        <span class="sub muted">{whenShort(t.deadline)}</span>
      </div>
      <div class="two">{WindowLeft({ t, now })}</div>
      <div>{GamePills({ t })}</div>
    </div>
  );
}

export function TaskList({ state }: { state: StateResponse }) {
  const now = useNow();
  const [filter, setFilter] = useState<TaskPhase | null>(null);
  const [query, setQuery] = useState("");
  const rows = useMemo(() => state.tasks.map((t) => ({ ...t, phase: taskPhase(t, now) })), [state.tasks, now]);
  const counts = useMemo(() => {
    const c = new Map<TaskPhase, number>();
    for (const t of rows) c.set(t.phase, (c.get(t.phase) ?? 0) + 1);
    return c;
  }, [rows]);
  const q = query.trim().toLowerCase();
  const shown = rows.filter((t) => (!filter || t.phase === filter) && (!q || t.id === q || (t.programName ?? "").toLowerCase().includes(q) || [t.poster, t.solver ?? "", t.programRoot].some((x) => x.toLowerCase().includes(q))));
  const body = useRef<HTMLDivElement>(null);
  const virtual = useWindowRows(shown.length, ROW_HEIGHT, body);

  useEffect(() => {
    const w = window.__explorer!;
    if (w.listRenderedAt === undefined && !state.syncing) {
      requestAnimationFrame(() => {
        w.listRenderedAt = performance.now();
        w.listRows = document.querySelectorAll("[data-testid=task-row]").length;
      });
    }
  }, [state]);

  return (
    <div class="list-page">
      <div class="cards">
        <button type="button" class={`card ${filter === null ? "active" : ""}`} onClick={() => setFilter(null)} title="every task">
          <span class="card-n" data-testid="task-count">
            {num(rows.length)}
          </span>
          <span class="card-l">tasks</span>
        </button>
        {ORDER.filter((p) => counts.get(p)).map((p) => (
          <button type="button" class={`card tone-${TASK_PHASES[p].tone} ${filter === p ? "active" : ""}`} onClick={() => setFilter(filter === p ? null : p)} title={TASK_PHASES[p].help}>
            <span class="card-n">{num(counts.get(p) ?? 0)}</span>
            <span class="card-l">{TASK_PHASES[p].label}</span>
          </button>
        ))}
        <input class="search" type="search" placeholder="task id, program, address…" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
      </div>
      {state.syncing && <div class="notice">Reading the chain's history…</div>}
      {state.error && <div class="notice error">Cannot read the chain: {state.error}</div>}
      <div class="tasks" role="table" data-testid="task-table">
        <div class="trow thead" role="row">
          <div>Task</div>
          <div>Stage</div>
          <div>Program</div>
          <div>Poster</div>
          <div class="r">Reward</div>
          <div>Solver</div>
          <div class="r">Steps</div>
          <div>Result</div>
          <div title="last second a solution may be committed">Deadline</div>
          <div title="time left to challenge the solution held">Window</div>
          <div>Games</div>
        </div>
        <div class="tbody" ref={body} style={{ height: `${virtual.getTotalSize()}px` }}>
          {virtual.getVirtualItems().map((item) => taskRow(shown[item.index], now, item.start - virtual.options.scrollMargin))}
        </div>
      </div>
      {shown.length === 0 && <div class="empty">{rows.length ? "no task matches" : "no task posted yet"}</div>}
      <details class="legend">
        <summary>What the stages mean</summary>
        <dl>
          {ORDER.map((p) => (
            <div>
              <dt>
                <TaskBadge phase={p} />
              </dt>
              <dd>{TASK_PHASES[p].help}</dd>
            </div>
          ))}
        </dl>
      </details>
    </div>
  );
}

export function TaskPage({ detail }: { detail: TaskDetail }) {
  const now = useNow();
  const t = { ...detail.task, phase: taskPhase(detail.task, now) };
  const roles: Record<string, string> = { [t.poster.toLowerCase()]: "poster" };
  for (const c of detail.commitments) roles[c.solver.toLowerCase()] = "solver";
  for (const g of detail.games) roles[g.challenger.toLowerCase()] = "challenger";
  const lim = detail.limits;
  return (
    <RolesContext.Provider value={roles}>
      <div class="task-page">
        <nav class="crumbs">
          <a href="#/">Tasks</a> / Task {t.id}
        </nav>
        <h1>
          Task {t.id} <TaskBadge phase={t.phase} />
        </h1>
        <Help>{TASK_PHASES[t.phase].help}</Help>
        {detail.note && <p class="note">{detail.note}</p>}
        <div class="panels">
          <section class="panel">
            <h2>Terms</h2>
            <dl class="facts">
              <Fact label="Program">
                <span class="prog">{t.programName ?? "unnamed"}</span> <Hash value={t.programRoot} />
              </Fact>
              <Fact label="Poster">
                <Addr value={t.poster} />
              </Fact>
              <Fact label="Reward" help="paid to the solver whose solution stands">
                {eth(t.reward)}
              </Fact>
              <Fact label="Bonds" help="what the solver and each challenger put at stake">
                solver {eth(t.solverBond)} · challenger {eth(t.challengerBond)}
              </Fact>
              <Fact label="Input">{bytes(t.inputBytes)}</Fact>
              <Fact label="Limits" help="what the run may use; a run that exceeds one traps">
                {steps(String(lim.steps))} · {num(lim.memoryPages as number)} pages · call depth {num(lim.callDepth as number)} · stack {num(lim.stackHeight as number)} · output {bytes(Number(lim.outputBytes))}
              </Fact>
              <Fact label="Deadline" help="last second a solution may be committed">
                {when(t.deadline)} <span class="muted">({t.phase === "recorded" ? "recorded" : relative(t.deadline, now)})</span>
              </Fact>
              <Fact label="Window" help="how long a committed solution may be challenged">
                {duration(t.window)}
              </Fact>
              <Fact label="Initial state root" help="the machine state before step 0, computed by the market from program, input and limits">
                <Hash value={detail.initialRoot} />
              </Fact>
            </dl>
          </section>
          <section class="panel">
            <h2>Solution</h2>
            {t.solver ? (
              <dl class="facts">
                <Fact label="Solver">
                  <Addr value={t.solver} />
                </Fact>
                <Fact label="Steps">{steps(t.steps)}</Fact>
                <Fact label="Result">
                  <Result t={t} />
                </Fact>
                <Fact label="Committed">{when(t.commitTime)}</Fact>
                <Fact label="Window" help="challenges are accepted until its end">
                  {t.windowEnds !== null && t.windowEnds >= now ? <span class="window-open">{duration(t.windowEnds - now)} left</span> : <span>closed</span>} <span class="muted">(until {when(t.windowEnds)})</span>
                </Fact>
              </dl>
            ) : (
              <p class="muted">No solution held.</p>
            )}
            {detail.commitments.length > 0 && (
              <>
                <h3>Commitments</h3>
                <table class="small-table">
                  <thead>
                    <tr>
                      <th>Solver</th>
                      <th class="r">Steps</th>
                      <th>Status</th>
                      <th>Final root</th>
                      <th>Fate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {detail.commitments.map((c) => (
                      <tr>
                        <td>
                          <Hash value={c.solver} />
                        </td>
                        <td class="r">{num(c.steps)}</td>
                        <td>{c.status}</td>
                        <td>
                          <Hash value={c.finalRoot} />
                        </td>
                        <td>
                          {c.defeatedIn ? (
                            <a href={`#/game/${c.defeatedIn}`}>defeated in game {c.defeatedIn}</a>
                          ) : c.note ? (
                            <span class="muted">{c.note}</span>
                          ) : !c.revealed ? (
                            <span class="muted">not revealed yet</span>
                          ) : (
                            <span class="muted">stands</span>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </section>
        </div>
        {detail.games.map((g) => (
          <section class="game-section" id={`game-${g.id}`}>
            <GameView game={g} />
          </section>
        ))}
        <section class="panel">
          <h2>Events</h2>
          <table class="small-table timeline">
            <thead>
              <tr>
                <th>When</th>
                <th>Block</th>
                <th>Event</th>
                <th>Details</th>
                <th>Tx</th>
              </tr>
            </thead>
            <tbody>
              {detail.timeline.map((e) => (
                <tr>
                  <td class="nowrap">{when(e.at)}</td>
                  <td>{e.block === null ? "—" : num(e.block)}</td>
                  <td>
                    <b>{e.name}</b>
                  </td>
                  <td class="args">
                    {Object.entries(e.args)
                      .filter(([k]) => k !== "taskId")
                      .map(([k, v]) => (
                        <span class="arg">
                          {k} {/^0x[0-9a-fA-F]{16,}$/.test(v) ? <Hash value={v} /> : <b>{v}</b>}
                        </span>
                      ))}
                  </td>
                  <td>
                    <Hash value={e.tx} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
    </RolesContext.Provider>
  );
}
