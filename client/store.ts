/**
 * The node's local store: a data directory of JSON files, each written atomically (a temporary file
 * in the same directory, fsync, rename), so a node killed at any point finds either the old or the
 * new version of every record, never a torn one. Layout:
 *
 *   cursor.json             the last block whose events were fully handled, and the chain/market
 *   tasks/<id>.json         tasks seen (terms, the solution held, what this node did)
 *   inputs/<id>.bin         task inputs (raw bytes)
 *   programs/<root>.wasm    program bytes whose lowering gives <root>
 *   games/<id>.json         games this node plays (position, moves, result)
 *   txs/<intent>.json       transactions: nonce, hash, signed bytes, status (never sent twice)
 *   runs/<task>/            machine snapshots of a task's run: checkpoints, round snapshots, pages
 *                           (client/snapshots.ts)
 *   transcripts/game-<id>.json
 *   meta.json               node role, account, counters
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";

/** JSON with bigints written as {"$big": "123"}. */
export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? { $big: v.toString() } : v instanceof Uint8Array ? { $hex: Buffer.from(v).toString("hex") } : v), space);
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text, (_k, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === "$big") return BigInt(v.$big);
      if (keys.length === 1 && keys[0] === "$hex") return new Uint8Array(Buffer.from(v.$hex, "hex"));
    }
    return v;
  }) as T;
}

let tmpCounter = 0;

/** Writes `data` to `path` atomically (and durably: the file and its directory are fsynced). */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { syncDir?: boolean } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${++tmpCounter}`;
  const fd = openSync(tmp, "w");
  try {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (opts.syncDir === false) return; // the caller fsyncs the directory once after a batch
  try {
    const dfd = openSync(dirname(path), "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // some file systems do not allow fsync on directories; the rename is still atomic
  }
}

/** Keys become file names: anything outside [A-Za-z0-9._-] is replaced. */
function fileKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, "_");
}

export class Store {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.sweepTemporaries(dir);
  }

  path(collection: string, key: string, ext = ".json"): string {
    return join(this.dir, collection, fileKey(key) + ext);
  }

  get<T>(collection: string, key: string): T | undefined {
    const p = this.path(collection, key);
    if (!existsSync(p)) return undefined;
    return fromJson<T>(readFileSync(p, "utf8"));
  }

  put(collection: string, key: string, value: unknown): void {
    writeFileAtomic(this.path(collection, key), toJson(value, 1));
  }

  delete(collection: string, key: string, ext = ".json"): void {
    rmSync(this.path(collection, key, ext), { force: true });
  }

  /** Every record of a collection, by key (file name without extension). */
  all<T>(collection: string): Map<string, T> {
    const dir = join(this.dir, collection);
    const out = new Map<string, T>();
    if (!existsSync(dir)) return out;
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith(".json") || f.includes(".tmp-")) continue;
      out.set(f.slice(0, -5), fromJson<T>(readFileSync(join(dir, f), "utf8")));
    }
    return out;
  }

  getBytes(collection: string, key: string, ext = ".bin"): Uint8Array | undefined {
    const p = this.path(collection, key, ext);
    return existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
  }

  putBytes(collection: string, key: string, bytes: Uint8Array, ext = ".bin"): void {
    writeFileAtomic(this.path(collection, key, ext), bytes);
  }

  /** A single-file record at the top of the data dir. */
  getRoot<T>(name: string): T | undefined {
    const p = join(this.dir, name + ".json");
    return existsSync(p) ? fromJson<T>(readFileSync(p, "utf8")) : undefined;
  }

  putRoot(name: string, value: unknown): void {
    writeFileAtomic(join(this.dir, name + ".json"), toJson(value, 1));
  }

  /** Removes temporary files left by a process killed in the middle of a write. */
  private sweepTemporaries(dir: string): void {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) this.sweepTemporaries(p);
      else if (e.name.includes(".tmp-")) rmSync(p, { force: true });
    }
  }
}
