/**
 * Metrics and health over HTTP, for the nodes (and any other long-running truewasm daemon): a
 * Prometheus registry (prom-client, with Node's process metrics) served at `/metrics`, and a health
 * check at `/healthz` (200 when healthy, 503 otherwise, a JSON body saying why).
 *
 *   const registry = createRegistry({ role: "solver" });
 *   const m = new NodeMetrics(registry);
 *   const server = await serveMetrics({ port: 9464, registry, health: () => ({ ok: true }) });
 *
 * docs/NODES.md lists the metrics and what to alert on.
 */
import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { errorMessage, silentLogger, type Logger } from "./log.js";

/** A registry with Node's process metrics (`truewasm_process_…`, `truewasm_nodejs_…`) and default labels. */
export function createRegistry(labels: Record<string, string> = {}): Registry {
  const r = new Registry();
  r.setDefaultLabels(labels);
  collectDefaultMetrics({ register: r, prefix: "truewasm_" });
  return r;
}

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` and `/healthz` on host:port (port 0: any free port). */
export async function serveMetrics(opts: { host?: string; port: number; registry: Registry; health: () => Health | Promise<Health>; log?: Logger }): Promise<MetricsServer> {
  const log = opts.log ?? silentLogger;
  const server: Server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/metrics") {
        const body = await opts.registry.metrics();
        res.writeHead(200, { "content-type": opts.registry.contentType });
        res.end(body);
      } else if (path === "/healthz" || path === "/health") {
        const h = await opts.health();
        res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify(h, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found: /metrics, /healthz\n");
      }
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(errorMessage(e));
    }
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => resolve());
  });
  server.unref();
  const port = (server.address() as { port: number }).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log.info("metrics served", { url: `${url}/metrics`, health: `${url}/healthz` });
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parses `[HOST:]PORT` (command-line `--metrics`). */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^(?:(.*):)?(\d+)$/.exec(v);
  if (!m) throw new Error(`expected [HOST:]PORT, got "${v}"`);
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, "") : "127.0.0.1", port: Number(m[2]) };
}

/** What a solver or challenger node exposes (names in docs/NODES.md). */
export class NodeMetrics {
  readonly tasksSeen: Counter;
  readonly runsInFlight: Gauge;
  readonly games: Gauge<"phase">;
  readonly movesSent: Counter<"kind">;
  readonly clockLeft: Gauge;
  readonly rpcRetries: Counter;
  readonly stepsExecuted: Counter;
  readonly stepsPerSecond: Gauge;
  readonly bondsHeld: Gauge;
  readonly balance: Gauge;
  readonly reorgs: Counter;
  readonly cursorBlock: Gauge;
  readonly headBlock: Gauge;
  readonly lastTick: Gauge;
  readonly tickFailures: Counter;

  constructor(readonly registry: Registry) {
    const r = [registry];
    this.tasksSeen = new Counter({ name: "truewasm_tasks_seen_total", help: "Tasks posted that the node has seen", registers: r });
    this.runsInFlight = new Gauge({ name: "truewasm_runs_in_flight", help: "Machine run requests in progress or waiting (first passes, roots, witnesses)", registers: r });
    this.games = new Gauge({ name: "truewasm_games", help: "Games the node plays, by phase (bisect, select, step; won, lost, aborted once over)", labelNames: ["phase"], registers: r });
    this.movesSent = new Counter({ name: "truewasm_moves_sent_total", help: "Transactions sent, by kind (commit, challenge, bisect, select, prove, timeout, finalize, release, expire, withdraw, ...)", labelNames: ["kind"], registers: r });
    this.clockLeft = new Gauge({ name: "truewasm_clock_left_seconds", help: "Clock left to the node in its tightest game where it is to move (+Inf: none)", registers: r });
    this.rpcRetries = new Counter({ name: "truewasm_rpc_retries_total", help: "RPC calls retried after a dropped connection, a timeout or a server error", registers: r });
    this.stepsExecuted = new Counter({ name: "truewasm_steps_executed_total", help: "Machine steps executed", registers: r });
    this.stepsPerSecond = new Gauge({ name: "truewasm_steps_per_second", help: "Machine steps executed per second over the last 10 s", registers: r });
    this.bondsHeld = new Gauge({ name: "truewasm_bonds_held_eth", help: "Bonds the node has in escrow (its solutions held, its live challenges), in ETH", registers: r });
    this.balance = new Gauge({ name: "truewasm_balance_eth", help: "ETH balance of the node's account", registers: r });
    this.reorgs = new Counter({ name: "truewasm_reorgs_total", help: "Chain reorganisations handled (records rolled back)", registers: r });
    this.cursorBlock = new Gauge({ name: "truewasm_cursor_block", help: "Last block whose events were handled", registers: r });
    this.headBlock = new Gauge({ name: "truewasm_head_block", help: "Latest block of the endpoint", registers: r });
    this.lastTick = new Gauge({ name: "truewasm_last_tick_timestamp_seconds", help: "Wall time of the last tick that completed", registers: r });
    this.tickFailures = new Counter({ name: "truewasm_tick_failures_total", help: "Ticks that failed (RPC unreachable for 2 minutes, ...)", registers: r });
  }
}

/** Steps per second over a sliding window, from a running total. */
export class Rate {
  private samples: [number, number][] = [];
  constructor(private readonly windowMs = 10_000) {}
  sample(total: number, now = Date.now()): number {
    this.samples.push([now, total]);
    while (this.samples.length > 2 && now - this.samples[1][0] >= this.windowMs) this.samples.shift();
    const [t0, v0] = this.samples[0];
    return now > t0 ? ((total - v0) * 1000) / (now - t0) : 0;
  }
}
