/** Shared helpers of the task tests: fixture paths and loading. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SHARED_BTC = resolve(ROOT, "../shared/fixtures/btc");
export const EMBEDDED_BTC = resolve(ROOT, "wasm-tasks/btc-headers/fixtures");

/** Reads ../shared/fixtures/btc/<name>; fails (never skips) with the path when it is missing. */
export function sharedBtc(name: string): Buffer {
  const p = resolve(SHARED_BTC, name);
  if (!existsSync(p)) throw new Error(`missing fixture ${p} (the shared fixtures live in ../shared/fixtures, see its README)`);
  return readFileSync(p);
}

/** Lines "<height> <hex>" of a shared fixture, as a map. */
export function sharedBtcLines(name: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of sharedBtc(name).toString("utf8").split("\n")) {
    const t = line.trim();
    if (!t) continue;
    const [h, x] = t.split(/\s+/);
    m.set(Number(h), x);
  }
  return m;
}

export function embeddedBtc(name: string): Buffer {
  const p = resolve(EMBEDDED_BTC, name);
  if (!existsSync(p)) throw new Error(`missing embedded fixture ${p}`);
  return readFileSync(p);
}

export const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, "hex"));
