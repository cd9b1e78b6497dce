/**
 * Builds every task to wasm-tasks/build/<name>.wasm (+ .wat):
 * - AssemblyScript tasks, wasm-tasks/<name>/assembly/index.ts, with the asc API (asc.main), run in
 *   two plain `node` child processes (asc-run.mjs) that each compile their share in sequence;
 * - C tasks, wasm-tasks/<name>/*.c, with Debian's clang for wasm32 without a C library (CLANG_FLAGS;
 *   the host interface is wasm-tasks/clib/truewasm.h). CI installs clang and lld (.ci/run).
 * - WASI C tasks: C tasks whose sources do not include truewasm.h are ordinary C programs, built
 *   as WASI commands with wasi-libc (WASI_CLANG_FLAGS, Debian's wasi-libc in /usr/lib/wasm32-wasi)
 *   and run through the WASI adapter (docs/TASKS.md §5).
 *
 *   npm run build:tasks                 (= tsx wasm-tasks/build.ts)
 *   tsx wasm-tasks/build.ts sha256d     only the named tasks
 *   tsx wasm-tasks/build.ts --force     rebuild even when up to date
 *
 * A task is up to date when wasm-tasks/build/<name>.stamp holds the hash of everything that goes
 * into it (its sources, wasm-tasks/lib/ or clib/, the compiler flags and version). Each built
 * module is checked: it must validate, import only the task host interface (truewasm.input_size,
 * input_read, output_write, and env.abort) and export `main: () -> ()` and `memory` (a WASI task:
 * import only wasi_snapshot_preview1 functions, export `_start` and `memory`, and lower as a task).
 * Any failure exits with status 1.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const ROOT = dirname(fileURLToPath(import.meta.url)); // wasm-tasks/
const OUT = join(ROOT, "build");
const LIB = join(ROOT, "lib");
const CLIB = join(ROOT, "clib");

/**
 * Compiler flags. -O3 (speed): the machine's cost is the number of executed instructions, which is
 * what binaryen's speed passes minimise. Stub runtime: a bump allocator, no GC, no extra imports. Asserts stay on (they trap through env.abort, which the machine supports).
 */
export const ASC_FLAGS = ["-O3", "--runtime", "stub", "--noColors"];

/**
 * C tasks: clang for wasm32, no C library (-nostdlib; the task defines `main` with TRUEWASM_MAIN),
 * -O2, the WebAssembly features the machine executes (sign extension, non-trapping float-to-int,
 * bulk memory: memcpy/memset become memory.copy/memory.fill), no entry point, names stripped.
 */
export const CLANG_FLAGS = [
  "--target=wasm32",
  "-O2",
  "-nostdlib",
  "-mcpu=mvp",
  "-msign-ext",
  "-mnontrapping-fptoint",
  "-mbulk-memory",
  "-mmutable-globals",
  "-Wall",
  "-Werror",
  "-Wl,--no-entry",
  "-Wl,--strip-all",
];

/**
 * WASI C tasks: exactly what a C programmer types (`clang --target=wasm32-wasi --sysroot=/usr -O2
 * prog.c -lm`; Debian's wasi-libc lives in /usr/lib/wasm32-wasi and /usr/include/wasm32-wasi),
 * plus warnings as errors and names stripped. `-lm` goes after the sources.
 */
export const WASI_CLANG_FLAGS = ["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-Wall", "-Werror", "-Wl,--strip-all"];
const WASI_SYSROOT_LIBC = "/usr/lib/wasm32-wasi/libc.a";

/** The WebAssembly features wabt must accept to read the built modules (those the machine executes). */
const WABT_FEATURES = { sat_float_to_int: true, sign_extension: true, bulk_memory: true, mutable_globals: true };

const ALLOWED_IMPORTS = new Set(["truewasm.input_size", "truewasm.input_read", "truewasm.output_write", "truewasm.exit", "env.abort"]);

function filesUnder(dir: string, ext = /\.ts$/): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, ext));
    else if (ext.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** C sources of a C task: wasm-tasks/<name>/*.c (none for an AssemblyScript task). */
function cSources(name: string): string[] {
  const dir = join(ROOT, name);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".c"))
    .sort()
    .map((f) => join(dir, f));
}

/** Task names: directories of wasm-tasks/ that contain assembly/index.ts or C sources. */
export function listTasks(): string[] {
  return readdirSync(ROOT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "build" && (existsSync(join(ROOT, e.name, "assembly", "index.ts")) || cSources(e.name).length > 0))
    .map((e) => e.name)
    .sort();
}

const isCTask = (name: string) => !existsSync(join(ROOT, name, "assembly", "index.ts"));
/** A C task that does not use truewasm.h is an ordinary C program: a WASI command. */
export const isWasiTask = (name: string) =>
  isCTask(name) && !cSources(name).some((f) => readFileSync(f, "utf8").includes('#include "truewasm.h"'));

/** clang's version line (part of a C task's stamp); a clear error when clang is missing. */
function clangVersion(): string {
  try {
    return execFileSync("clang", ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch {
    throw new Error("clang not found: C tasks need Debian's clang and lld (apt-get install -y clang lld, as .ci/run does)");
  }
}

function cInputsHash(name: string, version: string): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ flags: isWasiTask(name) ? WASI_CLANG_FLAGS : CLANG_FLAGS, version }));
  for (const f of [...filesUnder(join(ROOT, name), /\.[ch]$/), ...filesUnder(CLIB, /\.[ch]$/)]) {
    h.update(relative(ROOT, f));
    h.update(readFileSync(f));
  }
  return h.digest("hex");
}

/** Compiles a C task with clang into `${wasm}.tmp`, and its text into `${wat}.tmp`. */
async function compileC(j: Job): Promise<{ ok: boolean; diagnostics: string }> {
  const wasi = isWasiTask(j.name);
  if (wasi && !existsSync(WASI_SYSROOT_LIBC))
    return { ok: false, diagnostics: `${WASI_SYSROOT_LIBC} not found: WASI C tasks need Debian's wasi-libc (apt-get install -y wasi-libc libclang-rt-14-dev-wasm32, as .ci/run does)` };
  const args = wasi
    ? [...WASI_CLANG_FLAGS, "-o", `${j.wasm}.tmp`, ...cSources(j.name), "-lm"]
    : [...CLANG_FLAGS, "-I", CLIB, "-o", `${j.wasm}.tmp`, ...cSources(j.name)];
  const r = await new Promise<{ code: number | null; out: string }>((resolveP, reject) => {
    const child = spawn("clang", args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolveP({ code, out }));
  });
  if (r.code !== 0) return { ok: false, diagnostics: `clang ${args.join(" ")}\n${r.out}` };
  const wabt = await (await import("wabt")).default();
  const m = wabt.readWasm(new Uint8Array(readFileSync(`${j.wasm}.tmp`)), { readDebugNames: false, ...WABT_FEATURES });
  try {
    writeFileSync(`${j.wat}.tmp`, m.toText({ foldExprs: false, inlineExport: false }));
  } finally {
    m.destroy();
  }
  return { ok: true, diagnostics: r.out };
}

function ascVersion(): string {
  const req = createRequire(import.meta.url);
  return JSON.parse(readFileSync(req.resolve("assemblyscript/package.json"), "utf8")).version;
}

function inputsHash(name: string, version: string): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ flags: ASC_FLAGS, version }));
  for (const f of [...filesUnder(join(ROOT, name, "assembly")), ...filesUnder(LIB), join(ROOT, "asc-run.mjs")]) {
    h.update(relative(ROOT, f));
    h.update(readFileSync(f));
  }
  return h.digest("hex");
}

/** Throws unless the module is a well-formed task. Returns a one-line summary. */
async function checkModule(name: string, bytes: Uint8Array): Promise<string> {
  const mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  if (isWasiTask(name)) return checkWasiModule(name, bytes, mod);
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.kind !== "function" || !ALLOWED_IMPORTS.has(`${imp.module}.${imp.name}`))
      throw new Error(`${name}: imports ${imp.kind} ${imp.module}.${imp.name} (only the task host interface is allowed)`);
  }
  const exps = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  if (exps.get("main") !== "function") throw new Error(`${name}: no exported function main`);
  if (exps.get("memory") !== "memory") throw new Error(`${name}: memory is not exported`);

  const wabt = await (await import("wabt")).default();
  const m = wabt.readWasm(bytes, { readDebugNames: false, ...WABT_FEATURES });
  try {
    m.validate();
    const text = m.toText({ foldExprs: false, inlineExport: false });
    let instrs = 0;
    for (const line of text.split("\n")) {
      const t = line.trim();
      if (t.startsWith("(data") || t.startsWith(";;")) continue;
      if (/^[a-z]/.test(t)) instrs++;
    }
    return `${bytes.length} bytes, ${instrs} instructions`;
  } finally {
    m.destroy();
  }
}

/** A WASI task: imports only WASI functions, exports _start and memory, and lowers as a task. */
async function checkWasiModule(name: string, bytes: Uint8Array, mod: WebAssembly.Module): Promise<string> {
  const imports = WebAssembly.Module.imports(mod);
  for (const imp of imports)
    if (imp.kind !== "function" || imp.module !== "wasi_snapshot_preview1")
      throw new Error(`${name}: imports ${imp.kind} ${imp.module}.${imp.name} (a WASI task imports only wasi_snapshot_preview1 functions)`);
  const exps = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  if (exps.get("_start") !== "function") throw new Error(`${name}: no exported function _start`);
  if (exps.get("memory") !== "memory") throw new Error(`${name}: memory is not exported`);
  const { compile } = await import("../interpreter/lower.js");
  const program = compile(bytes, { imports: "task" }); // throws a WasmError naming what the machine refuses
  return `${bytes.length} bytes, WASI (${imports.length} imports), ${program.length} machine instructions`;
}

interface Job {
  name: string;
  wasm: string;
  wat: string;
  stamp: string;
  hash: string;
}

/** Compiles a group of tasks, one after the other, in one child `node` process (asc-run.mjs). */
function compileGroup(jobs: Job[]): Promise<Map<string, { ok: boolean; diagnostics: string }>> {
  const spec = jobs.map((j) => ({
    name: j.name,
    args: [join(ROOT, j.name, "assembly", "index.ts"), ...ASC_FLAGS, "-o", `${j.wasm}.tmp`, "-t", `${j.wat}.tmp`],
  }));
  return new Promise((resolveP, reject) => {
    const child = spawn(process.execPath, [join(ROOT, "asc-run.mjs"), JSON.stringify(spec)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const results = new Map<string, { ok: boolean; diagnostics: string }>();
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        const r = JSON.parse(line) as { name: string; ok: boolean; diagnostics: string };
        results.set(r.name, r);
      }
      for (const j of jobs)
        if (!results.has(j.name))
          results.set(j.name, { ok: false, diagnostics: `compiler process exited with ${code}\n${stderr}` });
      resolveP(results);
    });
  });
}

/** Checks a freshly compiled task and moves it into place. */
async function install(j: Job): Promise<string> {
  const bytes = new Uint8Array(readFileSync(`${j.wasm}.tmp`));
  let summary: string;
  try {
    summary = await checkModule(j.name, bytes);
  } catch (e) {
    rmSync(`${j.wasm}.tmp`, { force: true });
    rmSync(`${j.wat}.tmp`, { force: true });
    throw e;
  }
  renameSync(`${j.wasm}.tmp`, j.wasm);
  renameSync(`${j.wat}.tmp`, j.wat);
  writeFileSync(j.stamp, j.hash + "\n");
  return summary;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const named = args.filter((a) => !a.startsWith("--"));
  const all = listTasks();
  for (const n of named) if (!all.includes(n)) throw new Error(`unknown task ${n} (have: ${all.join(", ")})`);
  const tasks = named.length ? named : all;
  mkdirSync(OUT, { recursive: true });
  const version = ascVersion();
  const cVersion = tasks.some(isCTask) ? clangVersion() : "";
  const t0 = Date.now();
  const stale: Job[] = [];
  const staleC: Job[] = [];
  for (const name of tasks) {
    const c = isCTask(name);
    const j: Job = {
      name,
      wasm: join(OUT, `${name}.wasm`),
      wat: join(OUT, `${name}.wat`),
      stamp: join(OUT, `${name}.stamp`),
      hash: c ? cInputsHash(name, cVersion) : inputsHash(name, version),
    };
    const fresh = existsSync(j.wasm) && existsSync(j.stamp) && readFileSync(j.stamp, "utf8").trim() === j.hash;
    if (force || !fresh) (c ? staleC : stale).push(j);
  }
  // C tasks first (clang takes a fraction of a second each)
  const failures: string[] = [];
  let built = 0;
  for (const j of staleC) {
    const r = await compileC(j);
    if (!r.ok) {
      failures.push(`clang failed for ${j.name}:\n${r.diagnostics}`);
      continue;
    }
    if (r.diagnostics.trim()) process.stderr.write(r.diagnostics);
    try {
      console.log(`  ${j.name}: ${await install(j)}`);
      built++;
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  // Two compiler processes (2 cores), each compiling its share in sequence; biggest tasks first,
  // dealt alternately (weight: the previous build's size), so that both finish at about the same time.
  const weight = (j: Job) => (existsSync(j.wasm) ? statSync(j.wasm).size : 0);
  stale.sort((a, b) => weight(b) - weight(a));
  const groups: Job[][] = [[], []];
  const load = [0, 0];
  for (const j of stale) {
    const g = load[0] <= load[1] ? 0 : 1;
    groups[g].push(j);
    load[g] += weight(j) + 20000; // + a fixed cost per task (parsing the standard library)
  }
  const results = await Promise.all(groups.filter((g) => g.length).map(compileGroup));
  for (const j of stale) {
    const r = results.find((m) => m.has(j.name))!.get(j.name)!;
    if (!r.ok) {
      failures.push(`asc failed for ${j.name}:\n${r.diagnostics}`);
      continue;
    }
    if (r.diagnostics.trim()) process.stderr.write(r.diagnostics); // warnings
    try {
      console.log(`  ${j.name}: ${await install(j)}`);
      built++;
    } catch (e) {
      failures.push(e instanceof Error ? e.message : String(e));
    }
  }
  if (failures.length) throw new Error(failures.join("\n"));
  console.log(`wasm-tasks: ${built} built, ${tasks.length - built} up to date (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
