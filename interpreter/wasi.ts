/**
 * WASI command modules as tasks: links a module that imports `wasi_snapshot_preview1` with the
 * WASI adapter (wasi/adapter.wat), a WebAssembly module that implements those functions with the
 * task host ABI (truewasm.input_size/input_read/output_write/exit). The result is an ordinary
 * task module: the WASI imports are gone, the adapter's functions and globals are appended to the
 * program's, and `main` is exported as the program's `_start`. Lowering it (lower.ts) turns every
 * WASI call into bounded machine steps the prover already knows. Normative: docs/TASKS.md §6.
 *
 *   compileWasi(bytes, compile)   lower.ts's compile() calls this for a module importing WASI
 *   linkWasi(bytes)               the linked module's bytes (valid WebAssembly: V8 runs it too)
 *
 * Linking is a rewrite of the binary: the function index space becomes [the program's other
 * imports] [the adapter's host imports not already there] [the program's functions] [the
 * adapter's functions that are reachable from the imported WASI names]; every function index in
 * the program (call, ref.func, element segments, exports, start, global initialisers) is mapped
 * onto it. The adapter's types and globals go after the program's, so the program's type and
 * global indices do not change. Custom sections (names, producers, debug info) are dropped.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isStale } from "./hash/build-output.js";
import { WasmError, type Program } from "./program.js";

export const WASI_MODULE = "wasi_snapshot_preview1";
/** WASI's older snapshot 0 ABI, recognised only to refuse it by name. */
const WASI_UNSTABLE = "wasi_unstable";
/** The only argument a WASI task sees (argv[0]). */
export const WASI_PROGRAM_NAME = "task";

// ---- the adapter module

const here = dirname(fileURLToPath(import.meta.url));
const ADAPTER_SOURCE = join(here, "wasi", "adapter.wat");
const ADAPTER_BUILD = join(here, "wasi", "build.mjs");
export const ADAPTER_WASM = join(here, "wasi", "build", "adapter.wasm");

let adapterCache: Uint8Array | undefined;

/** The adapter's bytes, built from adapter.wat (wabt) by `npm run build`, or here when stale. */
export function adapterBytes(): Uint8Array {
  if (adapterCache) return adapterCache;
  if (existsSync(ADAPTER_SOURCE) && isStale(ADAPTER_WASM, [ADAPTER_SOURCE, ADAPTER_BUILD]))
    execFileSync(process.execPath, [ADAPTER_BUILD], { stdio: ["ignore", "ignore", "pipe"] });
  return (adapterCache = new Uint8Array(readFileSync(ADAPTER_WASM)));
}

// ---- binary reading and writing

/** The module is outside what this rewrite understands: lowering the original reports why. */
class Unhandled extends Error {}

class R {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    pos = 0,
    readonly end = b.length,
  ) {
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.end) throw new Unhandled("unexpected end");
    return this.b[this.pos++];
  }
  u32(): number {
    let x = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const c = this.byte();
      x += (c & 0x7f) * 2 ** shift;
      if (!(c & 0x80)) return x;
    }
    throw new Unhandled("LEB128 too long");
  }
  /** Skips a signed LEB128 of at most `bits` bits. */
  sleb(bits: number): void {
    for (let n = 0; n < Math.ceil(bits / 7); n++) if (!(this.byte() & 0x80)) return;
    throw new Unhandled("LEB128 too long");
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new Unhandled("unexpected end");
    this.pos += n;
  }
  name(): string {
    const n = this.u32();
    this.skip(n);
    return new TextDecoder().decode(this.b.subarray(this.pos - n, this.pos));
  }
}

class W {
  private buf = new Uint8Array(1024);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }
  byte(x: number): void {
    this.room(1);
    this.buf[this.length++] = x;
  }
  u32(x: number): void {
    do {
      let c = x % 128;
      x = Math.floor(x / 128);
      if (x) c |= 0x80;
      this.byte(c);
    } while (x);
  }
  /** A non-negative s33 (a block's type index). */
  s33(x: number): void {
    for (;;) {
      const c = x % 128;
      x = Math.floor(x / 128);
      if (x === 0 && !(c & 0x40)) return this.byte(c);
      this.byte(c | 0x80);
    }
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  name(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u32(b.length);
    this.bytes(b);
  }
  section(id: number, body: W): void {
    this.byte(id);
    this.u32(body.length);
    this.bytes(body.done());
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

interface Section {
  id: number;
  start: number;
  end: number;
}

function sections(b: Uint8Array): Section[] {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d || b[4] !== 1 || b[5] || b[6] || b[7]) throw new Unhandled("not a WebAssembly 1 binary");
  const r = new R(b, 8);
  const out: Section[] = [];
  while (r.pos < b.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    if (id !== 0) out.push({ id, start, end: r.pos });
  }
  return out;
}

interface FuncType {
  params: number[];
  results: number[];
  raw: Uint8Array; // the encoded entry (0x60 ...)
}

interface Import {
  module: string;
  name: string;
  kind: number;
  type: number; // function imports: type index
  raw: Uint8Array;
}

/** What linking needs of a module, read from its binary. */
interface Parsed {
  bytes: Uint8Array;
  sec: Map<number, Section>;
  types: FuncType[];
  imports: Import[];
  nImportedFuncs: number;
  nImportedGlobals: number;
  funcTypes: number[]; // type index of each defined function
  globals: { type: Uint8Array; init: Section }[]; // defined globals: raw type bytes, init expression range
  exports: { name: string; kind: number; index: number }[];
  bodies: Section[]; // each body's range, after its size
}

function valType(r: R): number {
  const t = r.byte();
  if ((t >= 0x7b && t <= 0x7f) || t === 0x70 || t === 0x6f) return t;
  throw new Unhandled(`value type 0x${t.toString(16)}`);
}

function limits(r: R): void {
  const flag = r.byte();
  if (flag > 1) throw new Unhandled("limits flag");
  r.u32();
  if (flag) r.u32();
}

function parse(bytes: Uint8Array): Parsed {
  const list = sections(bytes);
  const sec = new Map<number, Section>();
  for (const s of list) {
    if (sec.has(s.id) || s.id > 12) throw new Unhandled(`section ${s.id}`);
    sec.set(s.id, s);
  }
  const p: Parsed = { bytes, sec, types: [], imports: [], nImportedFuncs: 0, nImportedGlobals: 0, funcTypes: [], globals: [], exports: [], bodies: [] };
  const reader = (id: number): R | undefined => {
    const s = sec.get(id);
    return s && new R(bytes, s.start, s.end);
  };
  let r = reader(1);
  if (r) {
    for (let n = r.u32(); n > 0; n--) {
      const at = r.pos;
      if (r.byte() !== 0x60) throw new Unhandled("a type that is not a function type");
      const params: number[] = [];
      const results: number[] = [];
      for (let k = r.u32(); k > 0; k--) params.push(valType(r));
      for (let k = r.u32(); k > 0; k--) results.push(valType(r));
      p.types.push({ params, results, raw: bytes.subarray(at, r.pos) });
    }
  }
  r = reader(2);
  if (r) {
    for (let n = r.u32(); n > 0; n--) {
      const at = r.pos;
      const module = r.name();
      const name = r.name();
      const kind = r.byte();
      let type = -1;
      if (kind === 0) {
        type = r.u32();
        p.nImportedFuncs++;
      } else if (kind === 1) {
        valType(r);
        limits(r);
      } else if (kind === 2) limits(r);
      else if (kind === 3) {
        valType(r);
        r.byte();
        p.nImportedGlobals++;
      } else throw new Unhandled(`import kind ${kind}`);
      p.imports.push({ module, name, kind, type, raw: bytes.subarray(at, r.pos) });
    }
  }
  r = reader(3);
  if (r) for (let n = r.u32(); n > 0; n--) p.funcTypes.push(r.u32());
  r = reader(6);
  if (r) {
    for (let n = r.u32(); n > 0; n--) {
      const at = r.pos;
      valType(r);
      r.byte();
      const type = bytes.subarray(at, r.pos);
      const start = r.pos;
      skipExpr(r);
      p.globals.push({ type, init: { id: 0, start, end: r.pos } });
    }
  }
  r = reader(7);
  if (r) for (let n = r.u32(); n > 0; n--) p.exports.push({ name: r.name(), kind: r.byte(), index: r.u32() });
  r = reader(10);
  if (r) {
    for (let n = r.u32(); n > 0; n--) {
      const size = r.u32();
      p.bodies.push({ id: 0, start: r.pos, end: r.pos + size });
      r.skip(size);
    }
  }
  return p;
}

// ---- instructions

/** Index remapping applied while copying code: function, global and type indices. */
interface Maps {
  func: (i: number) => number;
  global: (i: number) => number;
  type: (i: number) => number;
}

/**
 * Copies one instruction sequence up to and including its final `end` (a body's or a constant
 * expression's), rewriting the indices `maps` changes. `onCall` sees every direct callee and
 * ref.func target (before mapping). Opcodes of the features outside the machine's scope (SIMD,
 * threads, exceptions, tail calls, GC) are Unhandled: compile() then reports the feature.
 */
function copyCode(r: R, w: W | null, maps: Maps | null, onCall?: (f: number) => void): void {
  let depth = 1;
  let from = r.pos; // start of the bytes not yet copied
  const flush = (to: number) => {
    if (w) w.bytes(r.b.subarray(from, to));
  };
  // Rewrite the u32 immediate at r.pos with f.
  const rewrite = (f: (i: number) => number) => {
    const at = r.pos;
    const x = r.u32();
    if (!w || !maps) return;
    flush(at);
    w.u32(f(x));
    from = r.pos;
  };
  const id = (i: number) => i;
  while (depth > 0) {
    const op = r.byte();
    switch (op) {
      case 0x02:
      case 0x03:
      case 0x04: {
        depth++;
        const t = r.b[r.pos];
        if (t === 0x40 || (t >= 0x7b && t <= 0x7f) || t === 0x70 || t === 0x6f) r.pos++;
        else {
          // a type index (s33, non-negative)
          const at = r.pos;
          let x = 0;
          for (let shift = 0; ; shift += 7) {
            const c = r.byte();
            x += (c & 0x7f) * 2 ** shift;
            if (!(c & 0x80)) {
              if (c & 0x40) throw new Unhandled("block type");
              break;
            }
            if (shift > 28) throw new Unhandled("block type");
          }
          if (w && maps) {
            flush(at);
            w.s33(maps.type(x));
            from = r.pos;
          }
        }
        break;
      }
      case 0x0b:
        depth--;
        break;
      case 0x00:
      case 0x01:
      case 0x05:
      case 0x0f:
      case 0x1a:
      case 0x1b:
      case 0xd1:
        break;
      case 0x0c:
      case 0x0d:
      case 0x20:
      case 0x21:
      case 0x22:
      case 0x25:
      case 0x26:
      case 0x3f:
      case 0x40:
        r.u32();
        break;
      case 0x0e:
        for (let n = r.u32(); n >= 0; n--) r.u32();
        break;
      case 0x10: {
        const at = r.pos;
        const f = r.u32();
        onCall?.(f);
        r.pos = at;
        rewrite(maps?.func ?? id);
        break;
      }
      case 0xd2: {
        const at = r.pos;
        onCall?.(r.u32());
        r.pos = at;
        rewrite(maps?.func ?? id);
        break;
      }
      case 0x11:
        rewrite(maps?.type ?? id);
        r.u32();
        break;
      case 0x1c:
        for (let n = r.u32(); n > 0; n--) valType(r);
        break;
      case 0x23:
      case 0x24:
        rewrite(maps?.global ?? id);
        break;
      case 0x41:
        r.sleb(32);
        break;
      case 0x42:
        r.sleb(64);
        break;
      case 0x43:
        r.skip(4);
        break;
      case 0x44:
        r.skip(8);
        break;
      case 0xd0:
        r.sleb(33);
        break;
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) break;
        if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
          r.u32();
          r.u32();
        } else if (sub <= 17) r.u32();
        else throw new Unhandled(`0xfc ${sub}`);
        break;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          const align = r.u32();
          if (align & 0x40) r.u32(); // multi-memory: compile() refuses it
          r.u32();
        } else if (!(op >= 0x45 && op <= 0xc4)) throw new Unhandled(`opcode 0x${op.toString(16)}`);
    }
  }
  flush(r.pos);
}

function skipExpr(r: R): void {
  copyCode(r, null, null);
}

// ---- linking

function sameType(a: FuncType, b: FuncType): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

const TYPE_NAMES: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128", 0x70: "funcref", 0x6f: "externref" };
function sig(t: FuncType): string {
  const s = (a: number[]) => a.map((x) => TYPE_NAMES[x] ?? `0x${x.toString(16)}`).join(" ");
  return `[${s(t.params)}] -> [${s(t.results)}]`;
}

/** True when the module imports from wasi_snapshot_preview1 (or the refused wasi_unstable). Never throws. */
export function importsWasi(bytes: Uint8Array): boolean {
  try {
    const imp = sections(bytes).find((s) => s.id === 2);
    if (!imp) return false;
    const r = new R(bytes, imp.start, imp.end);
    for (let n = r.u32(); n > 0; n--) {
      const module = r.name();
      if (module === WASI_MODULE || module === WASI_UNSTABLE) return true;
      r.name();
      const kind = r.byte();
      if (kind === 0) r.u32();
      else if (kind === 1) {
        valType(r);
        limits(r);
      } else if (kind === 2) limits(r);
      else if (kind === 3) {
        valType(r);
        r.byte();
      } else return false;
    }
  } catch {
    /* malformed: not ours to report */
  }
  return false;
}

const unlinkable = (reason: string) => new WasmError("unlinkable", reason, "import");

/**
 * Links a WASI command module with the adapter. Returns the linked module, or null when the
 * module uses something this rewrite does not handle (a feature outside the machine's scope, a
 * malformed binary): compiling the original then reports it. Throws WasmError("unlinkable") for
 * a module that is not a WASI command the adapter can serve.
 */
export function linkWasi(bytes: Uint8Array): Uint8Array | null {
  return link(bytes)?.bytes ?? null;
}

/**
 * linkWasi, also telling how many of the linked module's functions are the adapter's: they are its
 * last defined functions, so their lowered bodies are the end of the program's code.
 */
export function link(bytes: Uint8Array): { bytes: Uint8Array; adapterFunctions: number } | null {
  let p: Parsed;
  try {
    p = parse(bytes);
  } catch (e) {
    if (e instanceof Unhandled) return null;
    throw e;
  }
  const a = parse(adapterBytes());
  const adapterExport = new Map(a.exports.filter((e) => e.kind === 0).map((e) => [e.name, e.index]));
  const adapterFuncType = (f: number) => a.types[f < a.nImportedFuncs ? a.imports.filter((i) => i.kind === 0)[f].type : a.funcTypes[f - a.nImportedFuncs]];

  // The program's function imports: kept, or served by an adapter function.
  const userFuncImports = p.imports.filter((i) => i.kind === 0);
  const served: (number | undefined)[] = []; // by imported function index: adapter function
  for (const imp of p.imports) {
    const what = `"${imp.module}"."${imp.name}"`;
    if (imp.module === WASI_UNSTABLE)
      throw unlinkable(`import ${what}: WASI snapshot 0 (wasi_unstable) is not supported; tasks use ${WASI_MODULE} (WASI preview 1: rebuild with a current toolchain)`);
    if (imp.module !== WASI_MODULE) continue;
    if (imp.kind !== 0) throw unlinkable(`import ${what}: WASI provides functions only`);
    const f = adapterExport.get(imp.name);
    if (f === undefined) throw unlinkable(`unknown import ${what}: not a ${WASI_MODULE} function`);
    const want = adapterFuncType(f);
    const got = p.types[imp.type];
    if (!got || !sameType(want, got)) throw unlinkable(`incompatible import type for ${what}: expected ${sig(want)}, got ${got ? sig(got) : `type ${imp.type}`}`);
  }
  userFuncImports.forEach((imp, i) => {
    if (imp.module === WASI_MODULE) served[i] = adapterExport.get(imp.name);
  });

  const startExport = p.exports.find((e) => e.kind === 0 && e.name === "_start");
  if (!startExport) {
    const reactor = p.exports.some((e) => e.kind === 0 && e.name === "_initialize");
    throw new WasmError(
      "unlinkable",
      reactor
        ? "a WASI reactor (it exports _initialize, not _start) is not a task: a WASI task is a command module that exports _start: [] -> []"
        : "a WASI task is a command module: it must export _start: [] -> []",
      "export",
    );
  }

  // Adapter functions reachable from the served imports (their callees and host imports too).
  let callees: number[][];
  try {
    callees = a.bodies.map((b) => {
      const out: number[] = [];
      copyCode(new R(a.bytes, skipLocals(a.bytes, b), b.end), null, null, (f) => out.push(f));
      return out;
    });
  } catch (e) {
    throw new Error(`the WASI adapter does not parse: ${(e as Error).message}`);
  }
  const used = new Set<number>();
  const visit = (f: number) => {
    if (used.has(f)) return;
    used.add(f);
    if (f >= a.nImportedFuncs) for (const g of callees[f - a.nImportedFuncs]) visit(g);
  };
  for (const f of served) if (f !== undefined) visit(f);

  // New function index space.
  const newImports: Uint8Array[] = []; // raw import entries, in order
  const userImportMap: number[] = []; // program's imported function index -> new index (kept ones)
  let nNewFuncImports = 0;
  const keptRaw: Uint8Array[] = [];
  let fi = 0;
  for (const imp of p.imports) {
    if (imp.module === WASI_MODULE) {
      fi++;
      continue;
    }
    keptRaw.push(imp.raw);
    if (imp.kind === 0) userImportMap[fi++] = nNewFuncImports++;
  }
  newImports.push(...keptRaw);
  const adapterImports = a.imports.filter((i) => i.kind === 0);
  const adapterImportMap: number[] = [];
  const extraTypes: FuncType[] = [];
  const typeIndexFor = (t: FuncType): number => {
    const i = p.types.findIndex((u) => sameType(u, t));
    if (i >= 0) return i;
    const j = extraTypes.findIndex((u) => sameType(u, t));
    if (j >= 0) return p.types.length + j;
    extraTypes.push(t);
    return p.types.length + extraTypes.length - 1;
  };
  adapterImports.forEach((imp, i) => {
    if (!used.has(i)) return;
    const t = a.types[imp.type];
    const k = userFuncImports.findIndex((u) => u.module === imp.module && u.name === imp.name);
    if (k >= 0 && userImportMap[k] !== undefined) {
      if (!sameType(p.types[userFuncImports[k].type], t))
        throw unlinkable(`the program imports "${imp.module}"."${imp.name}" with type ${sig(p.types[userFuncImports[k].type])}, the WASI adapter needs ${sig(t)}`);
      adapterImportMap[i] = userImportMap[k];
      return;
    }
    const w = new W();
    w.name(imp.module);
    w.name(imp.name);
    w.byte(0);
    w.u32(typeIndexFor(t));
    newImports.push(w.done().slice());
    adapterImportMap[i] = nNewFuncImports++;
  });
  const nUserDefined = p.funcTypes.length;
  const adapterDefined = [...used].filter((f) => f >= a.nImportedFuncs).sort((x, y) => x - y);
  adapterDefined.forEach((f, k) => (adapterImportMap[f] = nNewFuncImports + nUserDefined + k));
  const userFunc = (f: number): number => {
    if (f < p.nImportedFuncs) {
      const s = served[f];
      return s !== undefined ? adapterImportMap[s] : userImportMap[f];
    }
    return nNewFuncImports + (f - p.nImportedFuncs);
  };
  const userMaps: Maps = { func: userFunc, global: (g) => g, type: (t) => t };
  const nUserGlobals = p.nImportedGlobals + p.globals.length;
  const adapterMaps: Maps = {
    func: (f) => adapterImportMap[f],
    global: (g) => nUserGlobals + g, // the adapter imports no global
    type: (t) => typeIndexFor(a.types[t]),
  };
  // Types of the adapter's functions, registered before the type section is written.
  const adapterFuncTypeIdx = adapterDefined.map((f) => typeIndexFor(a.types[a.funcTypes[f - a.nImportedFuncs]]));
  // Block types and call_indirect in the adapter's bodies may name types too: register them now.
  let adapterBodies: W;
  let userBodies: W;
  try {
    adapterBodies = new W();
    for (const f of adapterDefined) copyBody(a, a.bodies[f - a.nImportedFuncs], adapterBodies, adapterMaps);
    userBodies = new W();
    for (const b of p.bodies) copyBody(p, b, userBodies, userMaps);
  } catch (e) {
    if (e instanceof Unhandled) return null;
    throw e;
  }

  const out = new W();
  out.bytes(bytes.subarray(0, 8));
  const raw = (s: Section | undefined) => (s ? bytes.subarray(s.start, s.end) : undefined);
  const countAndRest = (s: Section | undefined): [number, Uint8Array] => {
    if (!s) return [0, new Uint8Array(0)];
    const r = new R(bytes, s.start, s.end);
    const n = r.u32();
    return [n, bytes.subarray(r.pos, s.end)];
  };
  try {
    // 1 types
    {
      const w = new W();
      w.u32(p.types.length + extraTypes.length);
      for (const t of p.types) w.bytes(t.raw);
      for (const t of extraTypes) w.bytes(t.raw);
      out.section(1, w);
    }
    // 2 imports
    if (newImports.length) {
      const w = new W();
      w.u32(newImports.length);
      for (const i of newImports) w.bytes(i);
      out.section(2, w);
    }
    // 3 functions
    {
      const w = new W();
      w.u32(nUserDefined + adapterDefined.length);
      for (const t of p.funcTypes) w.u32(t);
      for (const t of adapterFuncTypeIdx) w.u32(t);
      out.section(3, w);
    }
    // 4 tables, 5 memory: unchanged
    for (const id of [4, 5]) {
      const s = raw(p.sec.get(id));
      if (s) {
        const w = new W();
        w.bytes(s);
        out.section(id, w);
      }
    }
    // 6 globals: the program's (initialisers remapped), then the adapter's
    {
      const w = new W();
      w.u32(p.globals.length + a.globals.length);
      for (const g of p.globals) {
        w.bytes(g.type);
        copyCode(new R(bytes, g.init.start, g.init.end), w, userMaps);
      }
      for (const g of a.globals) {
        w.bytes(g.type);
        copyCode(new R(a.bytes, g.init.start, g.init.end), w, adapterMaps);
      }
      if (p.globals.length + a.globals.length) out.section(6, w);
    }
    // 7 exports: remapped; `main` is _start (a program's own `main` export is dropped)
    {
      const w = new W();
      const kept = p.exports.filter((e) => e.name !== "main");
      w.u32(kept.length + 1);
      for (const e of kept) {
        w.name(e.name);
        w.byte(e.kind);
        w.u32(e.kind === 0 ? userFunc(e.index) : e.index);
      }
      w.name("main");
      w.byte(0);
      w.u32(userFunc(startExport.index));
      out.section(7, w);
    }
    // 8 start
    const start = p.sec.get(8);
    if (start) {
      const w = new W();
      w.u32(userFunc(new R(bytes, start.start, start.end).u32()));
      out.section(8, w);
    }
    // 9 elements
    const elems = p.sec.get(9);
    if (elems) out.section(9, copyElems(new R(bytes, elems.start, elems.end), userMaps));
    // 12 data count
    const dc = raw(p.sec.get(12));
    if (dc) {
      const w = new W();
      w.bytes(dc);
      out.section(12, w);
    }
    // 10 code
    {
      const w = new W();
      w.u32(p.bodies.length + adapterDefined.length);
      w.bytes(userBodies.done());
      w.bytes(adapterBodies.done());
      out.section(10, w);
    }
    // 11 data: unchanged
    const [nData, data] = countAndRest(p.sec.get(11));
    if (p.sec.has(11)) {
      const w = new W();
      w.u32(nData);
      w.bytes(data);
      out.section(11, w);
    }
  } catch (e) {
    if (e instanceof Unhandled) return null;
    throw e;
  }
  return { bytes: out.done().slice(), adapterFunctions: adapterDefined.length };
}

/** Position of a body's first instruction (after its local declarations). */
function skipLocals(bytes: Uint8Array, b: Section): number {
  const r = new R(bytes, b.start, b.end);
  for (let n = r.u32(); n > 0; n--) {
    r.u32();
    valType(r);
  }
  return r.pos;
}

function copyBody(m: Parsed, b: Section, w: W, maps: Maps): void {
  const code = skipLocals(m.bytes, b);
  const body = new W();
  body.bytes(m.bytes.subarray(b.start, code));
  const r = new R(m.bytes, code, b.end);
  copyCode(r, body, maps);
  if (r.pos !== b.end) throw new Unhandled("body size");
  w.u32(body.length);
  w.bytes(body.done());
}

function copyElems(r: R, maps: Maps): W {
  const w = new W();
  const n = r.u32();
  w.u32(n);
  for (let k = 0; k < n; k++) {
    const flags = r.u32();
    w.u32(flags);
    if (flags > 7) throw new Unhandled("element segment flags");
    const copyBytes = (f: () => void) => {
      const at = r.pos;
      f();
      w.bytes(r.b.subarray(at, r.pos));
    };
    if (flags === 2 || flags === 6) copyBytes(() => r.u32()); // table index
    if (!(flags & 1)) copyCode(r, w, maps); // offset
    if (flags & 4) {
      if (flags & 3) copyBytes(() => valType(r)); // reference type
      const m = r.u32();
      w.u32(m);
      for (let i = 0; i < m; i++) copyCode(r, w, maps);
    } else {
      if (flags & 3) copyBytes(() => r.byte()); // element kind
      const m = r.u32();
      w.u32(m);
      for (let i = 0; i < m; i++) w.u32(maps.func(r.u32()));
    }
  }
  return w;
}

/**
 * Compiles a WASI command module as a task: links it with the adapter and lowers the result.
 * Errors name the program's own bytes: if the linked module fails to compile, the original is
 * compiled for validation alone, and its error (invalid, malformed, a feature outside the
 * machine's scope) is reported instead when it has one.
 */
export function compileWasi(bytes: Uint8Array, compile: (b: Uint8Array, imports: "task" | "embed") => Program): Program {
  const original = () => compile(bytes, "embed");
  let linked: Uint8Array | null;
  try {
    linked = linkWasi(bytes);
  } catch (e) {
    original(); // an invalid module is reported as invalid before any link error
    throw e;
  }
  if (!linked) {
    original();
    throw new WasmError("unsupported", "the module could not be linked with the WASI adapter");
  }
  try {
    return compile(linked, "task");
  } catch (e) {
    original();
    throw e;
  }
}
