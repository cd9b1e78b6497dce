/**
 * Differential harness: runs one module on V8 (Node's WebAssembly) and on our interpreter, calls
 * each exported function with seeded arguments, and after every call compares the results (or the
 * trap kind), the whole linear memory and every exported global (float results and globals after
 * NaN canonicalisation: an arithmetic NaN's bits are the engine's choice, the machine's canonical). Memory and globals are compared
 * after traps too: writes done before a trap must persist in both engines. Our side runs in several
 * modes at once (see Mode: embedding API, reference exec loop, random stop/resume slices), each on
 * its own instance, and the machine modes must also agree on the step count of every call.
 *
 * On a mismatch, `reduce` shrinks the reproduction (fewer preceding calls, other functions' bodies
 * replaced by trivial ones) and `report` writes the module to /tmp/diff-<seed>.wasm (+ .wat) and
 * renders a report: seed, function, args, both outcomes, the call sequence that reproduces it.
 *
 * CLI (reproduce one seed):  tsx test/differential/harness.ts <seed> [--wat] [--no-reduce]
 * (env DIFF_MODES selects our execution modes, as in the tests)
 */
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { compile } from "../../interpreter/lower.js";
import { instantiate, Memory, Global, TrapError, type Instance } from "../../interpreter/instance.js";
import { Status, Trap, TRAP_MESSAGES } from "../../interpreter/isa.js";
import { Machine } from "../../interpreter/machine.js";
import type { Program } from "../../interpreter/program.js";
import { argSets, generateModule, Rng, type ExportedFunc, type GeneratedModule, type GenOptions } from "./generator.js";
import type { ValType } from "./encoder.js";

/** Interpreter step limit for one whole module run: far above what generated code needs. */
const STEP_LIMIT = 20_000_000;

export interface Call {
  func: string;
  args: bigint[];
}

export type Outcome =
  | { kind: "ok"; values: bigint[] }
  | { kind: "trap"; traps: number[]; message: string } // acceptable Trap codes (V8 is coarser)
  | { kind: "error"; message: string }; // anything else: a crash, a compile/link error

export interface Mismatch {
  seed: number;
  what: "generator" | "compile" | "instantiate" | "outcome" | "memory" | "global" | "steps";
  callIndex: number; // index into `calls` (-1 before any call)
  call?: Call;
  v8: string;
  ours: string;
  calls: Call[]; // the call sequence up to and including the failing call
  stubs: number[]; // functions stubbed by reduction
}

export interface RunResult {
  mismatch: Mismatch | null;
  calls: number;
  /** Trap kind (ours) -> count, over all calls. */
  traps: Map<number, number>;
  okCalls: number;
}

/** Map a V8 trap to the set of our Trap codes it may correspond to. */
export function classifyV8(e: unknown): Outcome {
  const msg = e instanceof Error ? e.message : String(e);
  const trap = (...traps: number[]): Outcome => ({ kind: "trap", traps, message: msg });
  if (e instanceof WebAssembly.RuntimeError) {
    if (/^unreachable/.test(msg)) return trap(Trap.Unreachable);
    if (/divide by zero|remainder by zero/.test(msg)) return trap(Trap.IntegerDivideByZero);
    if (/divide result unrepresentable|integer overflow/.test(msg)) return trap(Trap.IntegerOverflow);
    if (/memory access out of bounds/.test(msg)) return trap(Trap.OutOfBoundsMemory);
    // V8 says the same for call_indirect past the table and for the table instructions
    if (/table index is out of bounds/.test(msg)) return trap(Trap.UndefinedElement, Trap.OutOfBoundsTable);
    if (/element segment out of bounds/.test(msg)) return trap(Trap.OutOfBoundsTable);
    // V8 does not distinguish a null slot from a signature mismatch
    if (/null function or function signature mismatch/.test(msg)) return trap(Trap.UninitializedElement, Trap.IndirectCallTypeMismatch);
    // V8 names both failed float-to-int truncations alike: NaN or out of range
    if (/float unrepresentable/.test(msg)) return trap(Trap.IntegerOverflow, Trap.InvalidConversion);
  }
  if (e instanceof RangeError && /call stack/i.test(msg)) return trap(Trap.CallStackExhausted, Trap.ValueStackExhausted);
  return { kind: "error", message: `${e instanceof Error ? e.constructor.name : typeof e}: ${msg}` };
}

export function showOutcome(o: Outcome): string {
  switch (o.kind) {
    case "ok":
      return `ok [${o.values.join(", ")}]`;
    case "trap":
      return `trap ${o.traps.map((t) => `${t} (${TRAP_MESSAGES[t]})`).join(" | ")}${o.message ? ` "${o.message}"` : ""}`;
    case "error":
      return `error ${o.message}`;
  }
}

function sameOutcome(v8: Outcome, ours: Outcome): boolean {
  if (v8.kind === "ok" && ours.kind === "ok")
    return v8.values.length === ours.values.length && v8.values.every((v, i) => v === ours.values[i]);
  if (v8.kind === "trap" && ours.kind === "trap") return ours.traps.length === 1 && v8.traps.includes(ours.traps[0]);
  return false;
}

const F64 = new Float64Array(1), U64 = new BigUint64Array(F64.buffer), F32 = new Float32Array(1), U32 = new Uint32Array(F32.buffer);

/** A value as a comparable bigint: integers signed; floats as bits (from a JS number or bits), any NaN canonical. */
function norm(type: ValType, v: bigint | number): bigint {
  if (type === "i32") return BigInt.asIntN(32, BigInt(v));
  if (type === "i64") return BigInt.asIntN(64, BigInt(v));
  if (type === "f32") {
    const bits = typeof v === "number" ? ((F32[0] = v), BigInt(U32[0])) : BigInt.asUintN(32, v);
    return (bits & 0x7f800000n) === 0x7f800000n && (bits & 0x7fffffn) !== 0n ? 0x7fc00000n : bits;
  }
  const bits = typeof v === "number" ? ((F64[0] = v), U64[0]) : BigInt.asUintN(64, v);
  return (bits & 0x7ff0000000000000n) === 0x7ff0000000000000n && (bits & 0xfffffffffffffn) !== 0n ? 0x7ff8000000000000n : bits;
}

/** A generated argument (bigint: signed integer or float bits) as V8 takes it. */
function jsArg(type: ValType, v: bigint): bigint | number {
  if (type === "i32") return Number(v);
  if (type === "f32") return ((U32[0] = Number(BigInt.asUintN(32, v))), F32[0]);
  if (type === "f64") return ((U64[0] = BigInt.asUintN(64, v)), F64[0]);
  return v;
}

function firstDiff(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `memory size ${a.length / 65536} pages vs ${b.length / 65536} pages`;
  if (Buffer.compare(a, b) === 0) return null;
  let i = 0;
  while (a[i] === b[i]) i++;
  let n = 0;
  for (let j = i; j < a.length; j++) if (a[j] !== b[j]) n++;
  const hex = (m: Uint8Array) => Buffer.from(m.subarray(i, Math.min(i + 16, m.length))).toString("hex");
  return `${n} bytes differ, first at 0x${i.toString(16)}: v8 ${hex(a)} / ours ${hex(b)}`;
}

/** The default call plan: rounds over all exported functions, a different argument set each round. */
export function defaultCalls(gen: GeneratedModule, rounds = 3): Call[] {
  const sets = gen.funcs.map((f) => argSets(gen.seed, f, rounds));
  const calls: Call[] = [];
  for (let r = 0; r < rounds; r++) gen.funcs.forEach((f, i) => calls.push({ func: f.name, args: sets[i][r] }));
  return calls;
}

/**
 * How our side executes a call. Each mode has its own instance (own memory and globals):
 *  - "api":    Instance.invoke, the embedding API (compiled tier when enabled);
 *  - "exec":   a Machine on the instance's environment with the compiled tier off (`jit = null`):
 *              the reference semantics, step by step;
 *  - "sliced": a Machine run in random slices of 1..64 steps, each slice randomly with or without
 *              the compiled tier, so it stops and resumes at arbitrary steps.
 * "exec" and "sliced" must also agree on the number of steps of every call (exact accounting).
 */
export type Mode = "api" | "exec" | "sliced";
export const ALL_MODES: readonly Mode[] = ["api", "exec", "sliced"];
/** Modes used by default: env DIFF_MODES (comma-separated; "jit" = "api"), else all. */
export const DEFAULT_MODES: readonly Mode[] = process.env.DIFF_MODES
  ? process.env.DIFF_MODES.split(",").map((m) => (m.trim() === "jit" ? "api" : (m.trim() as Mode)))
  : ALL_MODES;

interface Engine {
  mode: Mode;
  inst: Instance;
  mem: Memory;
  machine: Machine | null;
  rng: Rng;
}

/** Call on one of our engines. Returns the outcome and, for machine modes, the steps taken. */
function callOurs(e: Engine, f: ExportedFunc, args: bigint[]): { outcome: Outcome; steps: number | null } {
  try {
    if (e.mode === "api") return { outcome: { kind: "ok", values: e.inst.invoke(f.name, args).map((v, k) => norm(f.results[k], v)) }, steps: null };
    const m = (e.machine ??= new Machine(e.inst.program, e.inst.env));
    const before = m.steps;
    m.reset(e.inst.program.funcs[f.index].stub, args, f.params);
    if (e.mode === "exec") {
      m.jit = null;
      m.run();
    } else {
      let compiled: Machine["jit"] = undefined; // resolved by the first slice that uses it
      while (m.status === Status.Running) {
        const useJit = e.rng.chance(0.6);
        if (useJit) m.jit = compiled;
        else {
          if (m.jit !== null) compiled = m.jit;
          m.jit = null;
        }
        m.run(e.rng.chance(0.2) ? 1 : e.rng.range(1, 64));
        if (useJit) compiled = m.jit;
      }
    }
    const steps = m.steps - before;
    if (m.status === Status.Trapped) return { outcome: { kind: "trap", traps: [m.trap], message: "" }, steps };
    const values = f.results.map((t, i) => norm(t, m.peek(f.results.length - 1 - i)));
    return { outcome: { kind: "ok", values }, steps };
  } catch (err) {
    if (err instanceof TrapError) return { outcome: { kind: "trap", traps: [err.kind], message: "" }, steps: null };
    return { outcome: { kind: "error", message: String(err instanceof Error ? err.stack : err) }, steps: null };
  }
}

/** Run `calls` on V8 and on each of our modes; stop at the first mismatch. */
export function runBoth(gen: GeneratedModule, calls: readonly Call[], stubs: number[] = [], modes: readonly Mode[] = DEFAULT_MODES): RunResult {
  const res: RunResult = { mismatch: null, calls: 0, traps: new Map(), okCalls: 0 };
  const mismatch = (m: Omit<Mismatch, "seed" | "calls" | "stubs">): RunResult => {
    res.mismatch = { seed: gen.seed, calls: calls.slice(0, m.callIndex + 1), stubs, ...m };
    return res;
  };
  const countTrap = (o: Outcome) => {
    if (o.kind === "trap") res.traps.set(o.traps[0], (res.traps.get(o.traps[0]) ?? 0) + 1);
  };
  const sig = new Map(gen.funcs.map((f) => [f.name, f]));

  // V8. The start function may trap: then every instantiation must trap alike.
  let v8mod: WebAssembly.Module;
  try {
    v8mod = new WebAssembly.Module(gen.bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    // a bug of the generator, not of the interpreter
    return mismatch({ what: "generator", callIndex: -1, v8: `rejected the module: ${e}`, ours: "(not run)" });
  }
  let v8inst: WebAssembly.Instance | null = null;
  let v8start: Outcome | null = null;
  try {
    v8inst = new WebAssembly.Instance(v8mod, {});
  } catch (e) {
    v8start = classifyV8(e);
  }

  // ours: one compilation, one instance per mode
  let program: Program;
  try {
    program = compile(gen.bytes);
  } catch (e) {
    return mismatch({ what: "compile", callIndex: -1, v8: "valid", ours: String(e instanceof Error ? e.stack : e) });
  }
  const engines: Engine[] = [];
  for (const mode of modes) {
    let inst: Instance;
    try {
      inst = instantiate(program, undefined, { steps: STEP_LIMIT });
    } catch (e) {
      const ours: Outcome =
        e instanceof TrapError ? { kind: "trap", traps: [e.kind], message: "" } : { kind: "error", message: String(e instanceof Error ? e.stack : e) };
      if (v8start && sameOutcome(v8start, ours)) {
        if (mode === modes[0]) countTrap(ours); // count the instantiation trap once
        continue;
      }
      return mismatch({ what: "instantiate", callIndex: -1, v8: v8start ? showOutcome(v8start) : "instantiated", ours: `[${mode}] ${showOutcome(ours)}` });
    }
    if (!v8inst) return mismatch({ what: "instantiate", callIndex: -1, v8: showOutcome(v8start!), ours: `[${mode}] instantiated` });
    const mem = inst.exports.get(gen.memory);
    if (!(mem instanceof Memory)) return mismatch({ what: "instantiate", callIndex: -1, v8: "memory export", ours: String(mem) });
    engines.push({ mode, inst, mem, machine: null, rng: new Rng((gen.seed * 31 + engines.length) >>> 0) });
  }
  if (!v8inst) return res; // the start function trapped everywhere alike
  const v8 = v8inst.exports as Record<string, unknown>;
  const v8mem = v8[gen.memory] as WebAssembly.Memory;

  const compareState = (callIndex: number, call?: Call): boolean => {
    const v8bytes = new Uint8Array(v8mem.buffer);
    for (const e of engines) {
      const d = firstDiff(v8bytes, e.mem.bytes);
      if (d) {
        mismatch({ what: "memory", callIndex, call, v8: "(memory)", ours: `[${e.mode}] ${d}` });
        return false;
      }
    }
    for (const g of gen.globals) {
      const a = norm(g.type, (v8[g.name] as WebAssembly.Global).value as bigint | number);
      for (const e of engines) {
        const og = e.inst.exports.get(g.name);
        const b = og instanceof Global ? norm(g.type, og.value) : undefined;
        if (a !== b) {
          mismatch({ what: "global", callIndex, call, v8: `${g.name} = ${a}`, ours: `[${e.mode}] ${g.name} = ${b}` });
          return false;
        }
      }
    }
    return true;
  };

  if (!compareState(-1)) return res; // data segments and start function

  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    const f = sig.get(call.func)!;
    let a: Outcome;
    try {
      const jsArgs = call.args.map((v, k) => jsArg(f.params[k], v));
      const r = (v8[call.func] as (...xs: unknown[]) => unknown)(...jsArgs);
      // several results come back as an array
      const rs = f.results.length > 1 ? (r as (bigint | number)[]) : f.results.length ? [r as bigint | number] : [];
      a = { kind: "ok", values: rs.map((v, k) => norm(f.results[k], v)) };
    } catch (e) {
      a = classifyV8(e);
    }
    res.calls++;
    let refSteps: { mode: Mode; steps: number } | null = null;
    for (const e of engines) {
      const { outcome: b, steps } = callOurs(e, f, call.args);
      if (e === engines[0]) {
        countTrap(b);
        if (b.kind === "ok") res.okCalls++;
      }
      if (!sameOutcome(a, b)) return mismatch({ what: "outcome", callIndex: i, call, v8: showOutcome(a), ours: `[${e.mode}] ${showOutcome(b)}` });
      if (steps !== null) {
        if (refSteps && refSteps.steps !== steps)
          return mismatch({ what: "steps", callIndex: i, call, v8: `[${refSteps.mode}] ${refSteps.steps} steps`, ours: `[${e.mode}] ${steps} steps` });
        refSteps ??= { mode: e.mode, steps };
      }
    }
    if (!compareState(i, call)) return res;
  }
  return res;
}

/** Generate the module for `seed` and run the default call plan. */
export function runSeed(seed: number, opts: GenOptions = {}): { gen: GeneratedModule; result: RunResult } {
  const gen = generateModule(seed, opts);
  return { gen, result: runBoth(gen, defaultCalls(gen)) };
}

function sameFailure(a: Mismatch, b: Mismatch | null): boolean {
  return b !== null && b.what === a.what && b.call?.func === a.call?.func;
}

/**
 * Shrink a failure, keeping each change that still fails the same way (same kind of mismatch in
 * the same function): drop preceding calls, stub the bodies of other functions, then delete
 * statements and replace expressions by zero constants (ddmin over the generator's ids, so every
 * candidate is still a valid module). Returns the reduced module and mismatch.
 */
export function reduce(
  seed: number,
  m: Mismatch,
  opts: GenOptions = {},
  budgetMs = 20_000,
): { gen: GeneratedModule; mismatch: Mismatch; opts: GenOptions } {
  const deadline = performance.now() + budgetMs;
  let cur: GenOptions = { ...opts, stubFunctions: new Set(opts.stubFunctions ?? []) };
  let gen = generateModule(seed, cur);
  let best = m;
  let calls = m.calls.slice();
  if (m.callIndex < 0) return { gen, mismatch: best, opts: cur };

  const attempt = (o: GenOptions, cs: Call[]): boolean => {
    const g = generateModule(seed, o);
    // a candidate identical to the current module (e.g. inside code already deleted) is no step
    if (cs.length === calls.length && Buffer.compare(g.bytes, gen.bytes) === 0) return false;
    let r: Mismatch | null;
    try {
      r = runBoth(g, cs, [...(o.stubFunctions ?? [])]).mismatch;
    } catch {
      return false; // e.g. V8 rejected the candidate: not a reduction
    }
    if (!sameFailure(best, r)) return false;
    cur = o;
    gen = g;
    best = r!;
    calls = r!.calls;
    return true;
  };
  const dropCalls = () => {
    for (let i = calls.length - 2; i >= 0 && performance.now() < deadline; i--) {
      if (i < calls.length - 1) attempt(cur, calls.slice(0, i).concat(calls.slice(i + 1)));
    }
  };

  // 1. calls before the failing one
  dropCalls();
  // 2. other functions' bodies
  const failing = gen.funcs.find((f) => f.name === best.call!.func)!.index;
  for (const f of gen.funcs) {
    if (f.index === failing || performance.now() > deadline) continue;
    attempt({ ...cur, stubFunctions: new Set(cur.stubFunctions).add(f.index) }, calls);
  }
  // 3. statements, then expressions: chunks of decreasing size, then one by one in generation
  //    order (outer before inner: deleting an outer one makes its inner ones free no-ops)
  const shrink = (count: number, key: "dropStmts" | "zeroExprs") => {
    for (const size of [64, 16, 4, 1]) {
      for (let lo = 0; lo < count && performance.now() < deadline; lo += size) {
        const set = new Set(cur[key] ?? []);
        const before = set.size;
        for (let id = lo; id < Math.min(lo + size, count); id++) set.add(id);
        if (set.size === before) continue;
        attempt({ ...cur, [key]: set }, calls);
      }
    }
  };
  shrink(gen.stmtIds, "dropStmts");
  shrink(gen.exprIds, "zeroExprs");
  shrink(gen.stmtIds, "dropStmts");
  dropCalls();
  return { gen, mismatch: best, opts: cur };
}

/** Render a module as text with wabt (best effort). */
export async function toWat(bytes: Uint8Array): Promise<string> {
  try {
    const wabt = await (await import("wabt")).default();
    const mod = wabt.readWasm(bytes, { readDebugNames: false, bulk_memory: true, sign_extension: true, mutable_globals: true });
    mod.generateNames();
    mod.applyNames();
    return mod.toText({ foldExprs: false, inlineExport: false });
  } catch (e) {
    return `(wabt failed: ${e})`;
  }
}

/** Write /tmp/diff-<seed>.wasm and .wat and return a human-readable report. */
export async function report(gen: GeneratedModule, m: Mismatch, withWat = true, opts: GenOptions = {}): Promise<string> {
  const path = `/tmp/diff-${m.seed}.wasm`;
  writeFileSync(path, gen.bytes);
  const wat = withWat ? await toWat(gen.bytes) : "";
  if (withWat) writeFileSync(`/tmp/diff-${m.seed}.wat`, wat);
  const lines = [
    `differential mismatch, seed ${m.seed} (${m.what})`,
    m.call ? `  call #${m.callIndex}: ${m.call.func}(${m.call.args.join(", ")})` : `  before any call`,
    m.what === "steps" ? `  ours: ${m.v8}` : `  v8:   ${m.v8}`,
    `  ours: ${m.ours}`,
    `  reproduce: calls ${m.calls.map((c) => `${c.func}(${c.args.join(", ")})`).join("; ") || "(none)"}`,
    m.stubs.length ? `  reduced: functions stubbed (body replaced by a zero result): ${m.stubs.join(", ")}` : "",
    opts.dropStmts?.size || opts.zeroExprs?.size
      ? `  reduced: ${opts.dropStmts?.size ?? 0} statements deleted, ${opts.zeroExprs?.size ?? 0} expressions replaced by 0`
      : "",
    `  module: ${path}${withWat ? ` (text: /tmp/diff-${m.seed}.wat)` : ""}`,
    `  rerun: tsx test/differential/harness.ts ${m.seed}`,
  ];
  const watLines = wat.split("\n");
  if (withWat && watLines.length <= 150) lines.push(watLines.map((l) => "    " + l).join("\n"));
  return lines.filter(Boolean).join("\n");
}

// CLI
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seed = Number(process.argv[2] ?? 1);
  const { gen, result } = runSeed(seed);
  if (!result.mismatch) {
    console.log(`seed ${seed}: agree (${result.calls} calls, ${result.okCalls} ok, traps ${JSON.stringify([...result.traps])})`);
    if (process.argv.includes("--wat")) console.log(await toWat(gen.bytes));
  } else {
    const r = process.argv.includes("--no-reduce") ? { gen, mismatch: result.mismatch, opts: {} } : reduce(seed, result.mismatch);
    console.log(await report(r.gen, r.mismatch, true, r.opts));
    if (process.argv.includes("--wat")) console.log(await toWat(r.gen.bytes));
    process.exitCode = 1;
  }
}
