/**
 * Helpers of the explorer tests: Debian's Chromium driven by playwright-core (nothing downloads a
 * browser; a fresh profile per launch, no network features, headless), and a JSON-RPC proxy that
 * counts the calls the explorer makes.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext } from "playwright-core";

export const CHROMIUM = process.env.TRUEWASM_CHROMIUM ?? "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

export interface BrowserSession {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), "truewasm-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 900 },
    deviceScaleFactor: 1,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser };

export interface CountingProxy {
  url: string;
  /** JSON-RPC calls by method (a batch counts each of its calls) and HTTP requests. */
  calls: Map<string, number>;
  requests: number;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

/** An HTTP proxy in front of `upstream` that counts JSON-RPC calls. */
export async function countingProxy(upstream: string): Promise<CountingProxy> {
  const { createServer } = await import("node:http");
  const calls = new Map<string, number>();
  const p: CountingProxy = {
    url: "",
    calls,
    requests: 0,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => {
      calls.clear();
      p.requests = 0;
    },
    close: async () => {},
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString();
      p.requests++;
      try {
        const j = JSON.parse(body) as { method: string } | { method: string }[];
        for (const c of Array.isArray(j) ? j : [j]) calls.set(c.method, (calls.get(c.method) ?? 0) + 1);
      } catch {
        // not JSON: forwarded as is
      }
      try {
        const up = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
        const text = await up.text();
        res.writeHead(up.status, { "content-type": "application/json" });
        res.end(text);
      } catch {
        req.socket.destroy();
      }
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  p.url = `http://127.0.0.1:${port}`;
  p.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return p;
}
