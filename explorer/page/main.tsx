/**
 * The explorer's page: a task list, a task with its games, a game. Data from the server's JSON API;
 * a server-sent event stream says when the chain moved, and the page fetches what it shows again.
 * Routes are in the URL's hash: #/, #/task/ID, #/game/ID.
 */
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { GameResponse, Head, Source, StateResponse, TaskResponse, UpdateEvent } from "../model.js";
import { duration, num, short } from "./format.js";
import { GamePage } from "./game.js";
import { TaskList, TaskPage } from "./tasks.js";
import { installCopyHandler, NowContext, useChainNow } from "./ui.js";

/** Page-load measurement hooks for tests: when the first task list was rendered. */
declare global {
  interface Window {
    __explorer?: { appStartAt?: number; stateFetchedAt?: number; listRenderedAt?: number; listRows?: number; stateFetchMs?: number; serverBuildMs?: number };
    /** The first request for the task list, sent by index.html before this code ran. */
    __prefetch?: { path: string; at: number; response: Promise<Response> };
  }
}
window.__explorer = { appStartAt: performance.now() };

function useHashRoute(): string[] {
  const get = () => (location.hash.replace(/^#\/?/, "") || "").split("/").filter(Boolean);
  const [route, setRoute] = useState(get);
  useEffect(() => {
    const on = () => {
      setRoute(get());
      window.scrollTo(0, 0);
    };
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** The server's update stream: the latest version, head and status. */
function useUpdates(): { update: UpdateEvent | null; connected: boolean } {
  const [update, setUpdate] = useState<UpdateEvent | null>(null);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const es = new EventSource("api/events");
    es.addEventListener("update", (e) => {
      setUpdate(JSON.parse((e as MessageEvent).data) as UpdateEvent);
      setConnected(true);
    });
    es.onerror = () => setConnected(false);
    es.onopen = () => setConnected(true);
    return () => es.close();
  }, []);
  return { update, connected };
}

/**
 * Fetches `path` now and whenever `version` grows past the version of the answer in hand; one fetch
 * at a time (an update that arrives during a fetch is fetched after it only if the answer is older).
 */
export function useApi<T extends { version?: number }>(path: string, version: number | undefined): { data: T | null; error: string | null; status: number | null } {
  const [state, setState] = useState<{ path: string; data: T | null; error: string | null; status: number | null }>({ path, data: null, error: null, status: null });
  const want = useRef<{ path: string; version: number }>({ path, version: -1 });
  const inFlight = useRef<string | null>(null);
  const have = useRef<{ path: string; version: number }>({ path: "", version: -1 });
  want.current = { path, version: version ?? -1 };
  const load = () => {
    const target = want.current.path;
    if (inFlight.current === target) return;
    if (have.current.path === target && have.current.version >= want.current.version && want.current.version >= 0) return;
    inFlight.current = target;
    const pre = window.__prefetch?.path === target ? window.__prefetch : undefined;
    window.__prefetch = undefined;
    const t0 = pre?.at ?? performance.now();
    (pre?.response ?? fetch(target, { cache: "no-store" }))
      .then(async (r) => {
        const body = (await r.json()) as T;
        inFlight.current = null;
        if (target !== want.current.path) return load();
        if (target === "api/state" && window.__explorer!.stateFetchMs === undefined) {
          window.__explorer!.stateFetchMs = performance.now() - t0;
          window.__explorer!.stateFetchedAt = performance.now();
          window.__explorer!.serverBuildMs = (body as { buildMs?: number }).buildMs;
        }
        have.current = { path: target, version: body.version ?? -1 };
        setState({ path: target, data: body, error: r.ok ? null : `${r.status}`, status: r.status });
        if ((body.version ?? -1) < want.current.version) load();
      })
      .catch((e) => {
        inFlight.current = null;
        setState((s) => ({ ...s, error: String(e) }));
      });
  };
  useEffect(load, [path, version]);
  return state.path === path ? state : { data: null, error: null, status: null };
}

function Header({ source, head, connected, syncing, error }: { source: Source | null; head: Head | null; connected: boolean; syncing: boolean; error: string | null }) {
  const live = source?.kind === "transcript" ? "transcript" : !connected ? "offline" : error ? "error" : syncing ? "syncing" : "live";
  const liveHelp: Record<string, string> = {
    transcript: "A recorded game from a transcript file: nothing changes.",
    offline: "The page lost its connection to the explorer's server; it reconnects by itself.",
    error: `The server cannot read the chain: ${error}`,
    syncing: "The server is reading the chain's history.",
    live: "Following the chain: the page updates as blocks arrive.",
  };
  return (
    <header class="top">
      <a class="brand" href="#/">
        <span class="logo">◧</span> truewasm <span class="thin">explorer</span>
      </a>
      {source && (
        <div class="source">
          {source.kind === "chain" ? (
            <>
              <span title="chain id">chain {source.chainId}</span>
              <span title={`market ${source.market}\ngame ${source.game}`}>market {short(source.market)}</span>
              <span title="latest block read" data-testid="head-block">
                block #{num(head?.block ?? null)}
              </span>
            </>
          ) : (
            <span title={source.label}>{source.label.length > 60 ? source.label.slice(0, 57) + "…" : source.label}</span>
          )}
          {source.k !== null && <span title="degree of the bisection: each round cuts the disputed segment into k parts">k = {source.k}</span>}
          {source.clock !== null && <span title="each player's time budget for a whole game (chess clock)">clock {duration(source.clock)}</span>}
          {source.burnBps !== null && <span title="share of a lost bond that is burnt; the rest goes to the winner">burn {source.burnBps / 100} %</span>}
        </div>
      )}
      <span class={`live live-${live}`} title={liveHelp[live]} data-testid="live">
        <span class="dot" />
        {live}
      </span>
    </header>
  );
}

function App() {
  const route = useHashRoute();
  const { update, connected } = useUpdates();
  const version = update?.version;
  const [source, setSource] = useState<Source | null>(null);
  const head = update?.head ?? null;
  const now = useChainNow(head);

  useEffect(() => {
    const what = route[0] === "task" && route[1] ? `Task ${route[1]}` : route[0] === "game" && route[1] ? `Game ${route[1]}` : "Tasks";
    document.title = `${what} · truewasm explorer`;
  }, [route.join("/")]);

  let page;
  if (route[0] === "task" && route[1]) page = <TaskRoute id={route[1]} version={version} onSource={setSource} />;
  else if (route[0] === "game" && route[1]) page = <GameRoute id={route[1]} version={version} onSource={setSource} />;
  else page = <ListRoute version={version} onSource={setSource} />;

  return (
    <NowContext.Provider value={now}>
      <Header source={source} head={head} connected={connected} syncing={update?.syncing ?? true} error={update?.error ?? null} />
      <main>{page}</main>
      <footer>
        truewasm explorer · reads the task market and its verification game through the deployment file · the rules: docs/GAME.md
      </footer>
    </NowContext.Provider>
  );
}

function ListRoute({ version, onSource }: { version?: number; onSource: (s: Source) => void }) {
  const { data, error } = useApi<StateResponse>("api/state", version);
  useEffect(() => {
    if (data) onSource(data.source);
  }, [data?.source]);
  if (!data) return <div class="loading">{error ? `cannot load the task list: ${error}` : "loading tasks…"}</div>;
  return <TaskList state={data} />;
}

function TaskRoute({ id, version, onSource }: { id: string; version?: number; onSource: (s: Source) => void }) {
  const { data, status } = useApi<TaskResponse>(`api/task/${encodeURIComponent(id)}`, version);
  useEffect(() => {
    if (data) onSource(data.source);
  }, [data?.source]);
  if (status === 404) return <div class="loading">no task {id} (yet)</div>;
  if (!data?.detail) return <div class="loading">loading task {id}…</div>;
  return <TaskPage detail={data.detail} />;
}

function GameRoute({ id, version, onSource }: { id: string; version?: number; onSource: (s: Source) => void }) {
  const { data, status } = useApi<GameResponse>(`api/game/${encodeURIComponent(id)}`, version);
  useEffect(() => {
    if (data) onSource(data.source);
  }, [data?.source]);
  if (status === 404) return <div class="loading">no game {id} (yet)</div>;
  if (!data?.game) return <div class="loading">loading game {id}…</div>;
  return <GamePage game={data.game} task={data.task} />;
}

installCopyHandler();
render(<App />, document.getElementById("app")!);
