/**
 * The explorer's HTTP server: the page (bundled at build time into explorer/build/, see build.ts),
 * a JSON API over an ExplorerData (the chain or transcripts) and a server-sent event stream that
 * tells the page when something changed. Binds to 127.0.0.1 unless told otherwise.
 */
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import type { ExplorerData } from "./chain.js";
import type { GameResponse, StateResponse, TaskResponse, UpdateEvent } from "./model.js";
import { BUILD_DIR } from "./build.js";

export interface ExplorerServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".map": "application/json" };

export async function startExplorerServer(data: ExplorerData, opts: { host?: string; port?: number; dir?: string } = {}): Promise<ExplorerServer> {
  const dir = opts.dir ?? BUILD_DIR;
  if (!existsSync(join(dir, "index.html"))) throw new Error(`the explorer page is not built (${dir}): run \`npm run build\``);
  const files = new Map<string, { body: Buffer; type: string }>();
  const file = (name: string) => {
    let f = files.get(name);
    if (!f) {
      const path = join(dir, name);
      if (!existsSync(path)) return null;
      f = { body: readFileSync(path), type: TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream" };
      files.set(name, f);
    }
    return f;
  };
  const clients = new Set<ServerResponse>();
  const update = (): UpdateEvent => ({ version: data.version, head: data.head(), syncing: data.syncing, error: data.error });
  const broadcast = () => {
    const msg = `event: update\ndata: ${JSON.stringify(update())}\n\n`;
    for (const c of clients) c.write(msg);
  };

  const json = (res: ServerResponse, body: unknown, status = 200) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = decodeURIComponent(url.pathname);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    if (path === "/api/state") {
      const t0 = performance.now();
      const tasks = data.rows();
      const body: StateResponse = { source: data.source, head: data.head(), version: data.version, syncing: data.syncing, error: data.error, tasks, buildMs: +(performance.now() - t0).toFixed(2) };
      return json(res, body);
    }
    let m = /^\/api\/task\/([^/]+)$/.exec(path);
    if (m) {
      await data.prepareTask?.(m[1]);
      const body: TaskResponse = { source: data.source, head: data.head(), version: data.version, detail: data.task(m[1]) };
      return json(res, body, body.detail ? 200 : 404);
    }
    m = /^\/api\/game\/([^/]+)$/.exec(path);
    if (m) {
      const game = data.game(m[1]);
      const body: GameResponse = { source: data.source, head: data.head(), version: data.version, game, task: game ? (data.rows().find((r) => r.id === game.taskId) ?? null) : null };
      return json(res, body, game ? 200 : 404);
    }
    if (path === "/api/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      res.write(`retry: 1000\nevent: update\ndata: ${JSON.stringify(update())}\n\n`);
      clients.add(res);
      req.on("close", () => clients.delete(res));
      return;
    }
    const f = file(path === "/" ? "index.html" : path.slice(1));
    if (!f || path.includes("..")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": f.type, "cache-control": "no-cache", "content-length": f.body.length });
    res.end(req.method === "HEAD" ? undefined : f.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) json(res, { error: e instanceof Error ? e.message : String(e) }, 500);
      else res.end();
    });
  });
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(": keep-alive\n\n");
  }, 15_000);
  const host = opts.host ?? "127.0.0.1";
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve((server.address() as { port: number }).port));
  });
  data.start(broadcast);
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
    port,
    close: async () => {
      clearInterval(heartbeat);
      await data.stop();
      for (const c of clients) c.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
