/**
 * Machine snapshots on disk: a task run's checkpoints and round snapshots (client/execution.ts), so
 * a node killed mid-dispute resumes from the nearest stored snapshot instead of re-running the task.
 *
 * One directory per run (`<data dir>/runs/<task>/`):
 *
 *   run.json            {fingerprint, interval, result}: what the run is (its initial root), the
 *                       checkpoint interval, and the first pass's result once it has finished
 *   pages/<sha256>      64 KiB memory pages, content-addressed: a page is written once and shared by
 *                       every snapshot of the run that holds the same bytes
 *   c-<step>.snap       a checkpoint of the first pass; r-<step>.snap a round snapshot
 *
 * A `.snap` file is a header (JSON: the machine's scalars, the names, types and lengths of its
 * arrays, the hashes of its pages) followed by the arrays' bytes. Every file is written atomically
 * (temporary file, fsync, rename; store.ts), and a snapshot only after all its pages are durable, so
 * after a crash at any point every `.snap` present is a complete state and a page it names exists.
 * Pages no snapshot names any more are deleted when their last snapshot goes (and swept at open, for
 * a crash between the two).
 *
 * The encoding walks the Snapshot object (machine.ts) generically: numbers, strings, booleans and
 * undefined go in the header, typed arrays after it, nested objects recursively; `program` and `env`
 * (shared, immutable for a task: the table, the input) come from the run, `pages` go to pages/.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { MachineEnv, Snapshot } from "../interpreter/machine.js";
import type { Program } from "../interpreter/program.js";
import { fromJson, toJson, writeFileAtomic } from "./store.js";

const ARRAYS = { Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array } as const;
type ArrayName = keyof typeof ARRAYS;
type AnyArray = InstanceType<(typeof ARRAYS)[ArrayName]>;

interface Header {
  version: 1;
  step: number;
  checkpoint: boolean;
  /** Scalars and nested objects; a typed array is {"$array": index}. */
  fields: Record<string, unknown>;
  arrays: { type: ArrayName; length: number }[];
  pages: string[];
}

/** Page objects already hashed (machine snapshots share unchanged pages by identity). */
const pageHashes = new WeakMap<Uint8Array, string>();

function hashPage(p: Uint8Array): string {
  let h = pageHashes.get(p);
  if (!h) {
    h = createHash("sha256").update(p).digest("hex");
    pageHashes.set(p, h);
  }
  return h;
}

function arrayName(v: unknown): ArrayName | null {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return null;
  const name = v.constructor.name as ArrayName;
  return name in ARRAYS ? name : null;
}

export interface RunInfo<R> {
  /** Identifies the run (the task's initial root): files of another run are discarded. */
  fingerprint: string;
  interval: number;
  result: R | null;
}

export interface StoredSnapshot {
  step: number;
  checkpoint: boolean;
}

/** The snapshots of one run in its directory. Not safe for two writers (one run, one owner). */
export class RunStore<R = unknown> {
  private readonly pagesDir: string;
  /** Snapshots (by file name) -> their page hashes; and how many snapshots name each page. */
  private readonly snaps = new Map<string, string[]>();
  private readonly refs = new Map<string, number>();
  /** Page bytes loaded, by hash (restored snapshots share them). */
  private readonly loaded = new Map<string, WeakRef<Uint8Array>>();
  /** Bytes written to disk (pages and snapshots), for the logs and the benchmark. */
  bytesWritten = 0;

  constructor(
    readonly dir: string,
    fingerprint: string,
  ) {
    this.pagesDir = join(dir, "pages");
    const info = this.readInfo();
    if (info && info.fingerprint !== fingerprint) rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.pagesDir, { recursive: true });
    if (!info || info.fingerprint !== fingerprint) this.writeInfo({ fingerprint, interval: 0, result: null });
    for (const f of readdirSync(dir)) {
      if (f.includes(".tmp-")) rmSync(join(dir, f), { force: true });
      else if (f.endsWith(".snap")) {
        try {
          const h = this.header(f);
          this.snaps.set(f, h.pages);
          for (const p of h.pages) this.refs.set(p, (this.refs.get(p) ?? 0) + 1);
        } catch {
          rmSync(join(dir, f), { force: true }); // cannot happen with atomic writes; never trust it
        }
      }
    }
    for (const f of readdirSync(this.pagesDir)) if (f.includes(".tmp-") || !this.refs.has(f)) rmSync(join(this.pagesDir, f), { force: true });
  }

  private readInfo(): RunInfo<R> | null {
    const p = join(this.dir, "run.json");
    return existsSync(p) ? fromJson<RunInfo<R>>(readFileSync(p, "utf8")) : null;
  }

  info(): RunInfo<R> {
    return this.readInfo()!;
  }

  writeInfo(info: RunInfo<R>): void {
    writeFileAtomic(join(this.dir, "run.json"), toJson(info));
  }

  /** The snapshots on disk, by step. */
  list(): StoredSnapshot[] {
    return [...this.snaps.keys()].map(parseName).filter((s): s is StoredSnapshot => s !== null).sort((a, b) => a.step - b.step);
  }

  has(step: number, checkpoint: boolean): boolean {
    return this.snaps.has(fileName(step, checkpoint));
  }

  /** Writes snapshots (their new pages first, then each snapshot file), durably. */
  save(items: readonly { step: number; checkpoint: boolean; snap: Snapshot }[]): void {
    if (items.length === 0) return;
    const fresh = new Map<string, Uint8Array>();
    const encoded: { name: string; bytes: Uint8Array; pages: string[] }[] = [];
    for (const it of items) {
      const pages = it.snap.pages.map(hashPage);
      it.snap.pages.forEach((p, i) => {
        if (!this.refs.has(pages[i]) && !fresh.has(pages[i])) fresh.set(pages[i], p);
      });
      encoded.push({ name: fileName(it.step, it.checkpoint), bytes: encode(it.snap, it.step, it.checkpoint, pages), pages });
    }
    // pages: written and fsynced each, renamed, then the directory fsynced once
    for (const [h, p] of fresh) {
      writeFileAtomic(join(this.pagesDir, h), p, { syncDir: false });
      this.bytesWritten += p.length;
    }
    if (fresh.size) syncDir(this.pagesDir);
    for (const e of encoded) {
      const old = this.snaps.get(e.name);
      writeFileAtomic(join(this.dir, e.name), e.bytes, { syncDir: false });
      this.bytesWritten += e.bytes.length;
      this.snaps.set(e.name, e.pages);
      for (const p of e.pages) this.refs.set(p, (this.refs.get(p) ?? 0) + 1);
      if (old) this.unref(old);
    }
    syncDir(this.dir);
  }

  /** Deletes a snapshot (and the pages only it named). */
  drop(step: number, checkpoint: boolean): void {
    const name = fileName(step, checkpoint);
    const pages = this.snaps.get(name);
    if (!pages) return;
    rmSync(join(this.dir, name), { force: true });
    this.snaps.delete(name);
    this.unref(pages);
  }

  private unref(pages: string[]): void {
    for (const p of pages) {
      const n = (this.refs.get(p) ?? 1) - 1;
      if (n > 0) this.refs.set(p, n);
      else {
        this.refs.delete(p);
        rmSync(join(this.pagesDir, p), { force: true });
      }
    }
  }

  /** Reads a snapshot; `program` and `env` are the run's. */
  load(step: number, checkpoint: boolean, program: Program, env: MachineEnv): Snapshot {
    const buf = readFileSync(join(this.dir, fileName(step, checkpoint)));
    const { header, body } = split(buf);
    let off = 0;
    const arrays = header.arrays.map(({ type, length }) => {
      const C = ARRAYS[type];
      const bytes = length * C.BYTES_PER_ELEMENT;
      const copy = new Uint8Array(bytes);
      copy.set(body.subarray(off, off + bytes));
      off += bytes;
      return new C(copy.buffer, 0, length) as AnyArray;
    });
    const revive = (v: unknown): unknown => {
      if (v && typeof v === "object" && !Array.isArray(v)) {
        const o = v as Record<string, unknown>;
        if (typeof o.$array === "number" && Object.keys(o).length === 1) return arrays[o.$array];
        if ("$undefined" in o) return undefined;
        return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
      }
      return v;
    };
    const fields = revive(header.fields) as Record<string, unknown>;
    const pages = header.pages.map((h) => this.page(h));
    return { ...fields, program, env, pages } as unknown as Snapshot;
  }

  private page(h: string): Uint8Array {
    const cached = this.loaded.get(h)?.deref();
    if (cached) return cached;
    const p = new Uint8Array(readFileSync(join(this.pagesDir, h)));
    pageHashes.set(p, h);
    this.loaded.set(h, new WeakRef(p));
    return p;
  }

  private header(name: string): Header {
    return split(readFileSync(join(this.dir, name))).header;
  }

  /** Removes the run's directory (the task is over). */
  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.snaps.clear();
    this.refs.clear();
  }

  /** Bytes on disk (snapshot files and pages). */
  diskBytes(): number {
    let n = 0;
    for (const d of [this.dir, this.pagesDir])
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isFile()) n += statSync(join(d, e.name)).size;
    return n;
  }
}

function fileName(step: number, checkpoint: boolean): string {
  return `${checkpoint ? "c" : "r"}-${step}.snap`;
}

function parseName(f: string): StoredSnapshot | null {
  const m = /^([cr])-(\d+)\.snap$/.exec(f);
  return m ? { step: Number(m[2]), checkpoint: m[1] === "c" } : null;
}

function encode(s: Snapshot, step: number, checkpoint: boolean, pages: string[]): Uint8Array {
  const arrays: AnyArray[] = [];
  const walk = (v: unknown): unknown => {
    if (v === undefined) return { $undefined: true };
    const name = arrayName(v);
    if (name) {
      arrays.push(v as AnyArray);
      return { $array: arrays.length - 1 };
    }
    if (v && typeof v === "object") {
      if (Array.isArray(v)) return v.map(walk);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "program" || k === "env" || k === "pages") continue;
    fields[k] = walk(v);
  }
  const header: Header = { version: 1, step, checkpoint, fields, arrays: arrays.map((a) => ({ type: arrayName(a)!, length: a.length })), pages };
  const head = Buffer.from(toJson(header));
  const total = 4 + head.length + arrays.reduce((n, a) => n + a.byteLength, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  let off = 4 + head.length;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), off);
    off += a.byteLength;
  }
  return out;
}

function split(buf: Uint8Array): { header: Header; body: Uint8Array } {
  const n = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
  const header = fromJson<Header>(Buffer.from(buf.subarray(4, 4 + n)).toString("utf8"));
  if (header.version !== 1) throw new Error(`snapshot format ${header.version}`);
  return { header, body: buf.subarray(4 + n) };
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // some file systems do not allow fsync on directories; the renames are still atomic
  }
}
