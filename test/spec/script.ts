/**
 * Runs one WebAssembly spec script (.wast) through the project's interpreter.
 *
 * Text modules are turned into binary with wabt (parse only: never wabt's validator, so invalid
 * modules reach ours); `module binary` bytes are used as they are; `module quote` text goes
 * through wabt too. Every command that checks something counts once: a module that must load, a
 * top-level action that must not trap, and every assertion.
 *
 * Results are compared bit for bit, floats included; an expected NaN pattern is checked as the
 * spec says: `nan:canonical` is a NaN whose payload is exactly the quiet bit (either sign: the
 * machine always produces the positive one), `nan:arithmetic` a NaN with the quiet bit set.
 */
import { compile } from "../../interpreter/lower.js";
import { ExternRef, Global, hostRefs, instantiate, TrapError, type ExternVal, type Instance } from "../../interpreter/instance.js";
import { Trap, TRAP_MESSAGES } from "../../interpreter/isa.js";
import { WasmError } from "../../interpreter/program.js";
import { head, parseSExprs, show, SExprError, type SExpr, type SList, type SString } from "./sexpr.js";
import { createSpectest } from "./spectest.js";

// ---------------------------------------------------------------------------------------------
// wabt

type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
let wabtPromise: Promise<Wabt> | undefined;

export function loadWabt(): Promise<Wabt> {
  wabtPromise ??= import("wabt").then((m) => ((m as { default?: unknown }).default ?? m) as () => Promise<Wabt>).then((f) => f());
  return wabtPromise;
}

/**
 * WebAssembly 2.0 text (wabt's features of the 2.0 standard; nothing later). Whatever wabt's
 * parser lets through, our validator judges.
 */
export const WABT_FEATURES_2_0 = {
  exceptions: false,
  mutable_globals: true,
  sat_float_to_int: true,
  sign_extension: true,
  simd: false,
  threads: false,
  function_references: false,
  multi_value: true,
  tail_call: false,
  bulk_memory: true,
  reference_types: true,
  annotations: false,
  code_metadata: false,
  gc: false,
  memory64: false,
  extended_const: false,
  relaxed_simd: false,
};

/** WebAssembly 1.0 (MVP) text: post-MVP syntax is not legal in the 1.0 suite (mutable globals in imports/exports are 1.0). */
export const WABT_FEATURES_1_0 = {
  ...WABT_FEATURES_2_0,
  sat_float_to_int: false,
  sign_extension: false,
  multi_value: false,
  bulk_memory: false,
  reference_types: false,
};

/** Text -> binary with wabt's parser and binary writer; throws wabt's message on a parse error. */
export function watToBinary(wabt: Wabt, name: string, text: string | Uint8Array, features: typeof WABT_FEATURES_2_0 = WABT_FEATURES_2_0): Uint8Array {
  // wabt.js mangles non-ASCII characters of a JS string: always hand it UTF-8 bytes.
  const src = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const mod = wabt.parseWat(name, src, features);
  try {
    return mod.toBinary({}).buffer.slice();
  } finally {
    mod.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers

export type NumType = "i32" | "i64" | "f32" | "f64" | "funcref" | "externref";

/**
 * A value argument (raw bits as the interpreter takes them: i32/i64 signed, floats unsigned bits,
 * references as their value in the embedding's store, 0 = null).
 */
export interface Value {
  type: NumType;
  value: bigint;
}

/** The host value `ref.extern n` stands for: one object per n, so its store value is stable. */
const externs = new Map<string, ExternRef>();
function externRef(n: string): bigint {
  let o = externs.get(n);
  if (!o) externs.set(n, (o = new ExternRef(BigInt(n))));
  return BigInt(hostRefs.id(o));
}

/** An expected result: a value, or a NaN pattern. */
export type Expected = Value | { type: "f32" | "f64"; nan: "canonical" | "arithmetic" };

/** Integer literal of the text format (sign, decimal or 0x hex, `_` separators). */
export function parseIntLiteral(text: string, bits: 32 | 64): bigint {
  const m = /^([+-]?)(0x[0-9a-fA-F](?:_?[0-9a-fA-F])*|[0-9](?:_?[0-9])*)$/.exec(text);
  if (!m) throw new Error(`bad i${bits} literal '${text}'`);
  let v = BigInt(m[2].replace(/_/g, ""));
  const neg = m[1] === "-";
  if (neg) v = -v;
  const max = 1n << BigInt(bits);
  if (neg ? v < -(max >> 1n) : v >= max) throw new Error(`i${bits} literal out of range '${text}'`);
  return BigInt.asIntN(bits, v);
}

const FLOAT_FORMATS = {
  f32: { mant: 23, exp: 8 },
  f64: { mant: 52, exp: 11 },
} as const;

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** Rounds the positive rational n/d to the nearest float (ties to even); returns the unsigned bits without sign. */
function roundRational(n: bigint, d: bigint, type: "f32" | "f64"): bigint {
  const { mant, exp } = FLOAT_FORMATS[type];
  const bias = (1 << (exp - 1)) - 1;
  const infBits = BigInt((1 << exp) - 1) << BigInt(mant);
  if (n === 0n) return 0n;
  // e = floor(log2(n/d))
  let e = bitLength(n) - bitLength(d);
  if (e >= 0 ? n < d << BigInt(e) : n << BigInt(-e) < d) e--;
  if (e > bias) return infBits;
  const E = Math.max(e, 1 - bias);
  // q = n/d * 2^(mant - E), rounded to nearest even
  const shift = mant - E;
  let num = n;
  let den = d;
  if (shift >= 0) num <<= BigInt(shift);
  else den <<= BigInt(-shift);
  let q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++;
  let biased = E + bias;
  if (q >= 1n << BigInt(mant + 1)) {
    q >>= 1n;
    biased++;
  }
  if (biased >= (1 << exp) - 1) return infBits;
  if (q < 1n << BigInt(mant)) return q; // subnormal (or rounded to zero)
  return (BigInt(biased) << BigInt(mant)) | (q - (1n << BigInt(mant)));
}

/** Float literal of the text format -> IEEE bits, or a NaN pattern. */
export function parseFloatLiteral(text: string, type: "f32" | "f64"): bigint | "canonical" | "arithmetic" {
  const { mant, exp } = FLOAT_FORMATS[type];
  const signBit = 1n << BigInt(mant + exp);
  const expAll = BigInt((1 << exp) - 1) << BigInt(mant);
  let s = text;
  let sign = 0n;
  if (s[0] === "+" || s[0] === "-") {
    if (s[0] === "-") sign = signBit;
    s = s.slice(1);
  }
  if (s === "nan:canonical") return "canonical";
  if (s === "nan:arithmetic") return "arithmetic";
  if (s === "inf") return sign | expAll;
  if (s === "nan") return sign | expAll | (1n << BigInt(mant - 1));
  if (s.startsWith("nan:0x")) {
    const payload = BigInt(s.slice(4).replace(/_/g, ""));
    if (payload === 0n || payload >= 1n << BigInt(mant)) throw new Error(`bad NaN payload '${text}'`);
    return sign | expAll | payload;
  }
  s = s.replace(/_/g, "");
  let n: bigint;
  let d = 1n;
  let m: RegExpExecArray | null;
  if ((m = /^0x([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?$/.exec(s)) && (m[1] + (m[2] ?? "")).length > 0) {
    const digits = m[1] + (m[2] ?? "");
    let e2 = (m[3] ? Number(m[3]) : 0) - 4 * (m[2] ?? "").length;
    n = BigInt("0x" + digits);
    if (n === 0n) return sign;
    const mag = e2 + bitLength(n);
    if (mag > 2000) return sign | expAll;
    if (mag < -2000) return sign;
    if (e2 >= 0) n <<= BigInt(e2);
    else d = 1n << BigInt(-e2);
  } else if ((m = /^([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$/.exec(s)) && (m[1] + (m[2] ?? "")).length > 0) {
    const digits = m[1] + (m[2] ?? "");
    const e10 = (m[3] ? Number(m[3]) : 0) - (m[2] ?? "").length;
    n = BigInt(digits);
    if (n === 0n) return sign;
    const mag = e10 + digits.replace(/^0+/, "").length;
    if (mag > 400) return sign | expAll;
    if (mag < -400) return sign;
    if (e10 >= 0) n *= 10n ** BigInt(e10);
    else d = 10n ** BigInt(-e10);
  } else {
    throw new Error(`bad ${type} literal '${text}'`);
  }
  return sign | roundRational(n, d, type);
}

/** `(i32.const 1)`, `(ref.null func)`, `(ref.extern 1)` ... as an argument or an expected result. */
export function parseConst(e: SExpr, allowNanPattern: boolean): Expected {
  const h = head(e);
  if (e.type === "list" && e.items.length === 2 && e.items[1].type === "atom") {
    const arg = e.items[1].value;
    if (h === "ref.null" && (arg === "func" || arg === "extern")) return { type: arg === "func" ? "funcref" : "externref", value: 0n };
    if (h === "ref.extern") return { type: "externref", value: externRef(arg) };
  }
  const m = h ? /^(i32|i64|f32|f64)\.const$/.exec(h) : null;
  if (!m || e.type !== "list" || e.items.length !== 2 || e.items[1].type !== "atom") {
    throw new Error(`unsupported constant ${show(e)}`);
  }
  const type = m[1] as "i32" | "i64" | "f32" | "f64";
  const lit = e.items[1].value;
  if (type === "i32" || type === "i64") return { type, value: parseIntLiteral(lit, type === "i32" ? 32 : 64) };
  const v = parseFloatLiteral(lit, type);
  if (typeof v === "string") {
    if (!allowNanPattern) throw new Error(`NaN pattern not allowed here: ${show(e)}`);
    return { type, nan: v };
  }
  return { type, value: v };
}

// ---------------------------------------------------------------------------------------------
// Traps

/**
 * Trap kinds a spec trap text stands for. The spec's texts have variants ("indirect call signature
 * mismatch", "uninitialized element 2", "undefined element" vs "out of bounds table access").
 */
export function trapKindsFor(text: string): number[] {
  const t = text.toLowerCase();
  if (t.startsWith("unreachable")) return [Trap.Unreachable];
  if (t.startsWith("integer divide by zero")) return [Trap.IntegerDivideByZero];
  if (t.startsWith("integer overflow")) return [Trap.IntegerOverflow];
  if (t.startsWith("out of bounds memory access")) return [Trap.OutOfBoundsMemory];
  if (t.startsWith("indirect call")) return [Trap.IndirectCallTypeMismatch];
  if (t.startsWith("undefined element") || t.startsWith("undefined")) return [Trap.UndefinedElement];
  if (t.startsWith("out of bounds table access")) return [Trap.OutOfBoundsTable];
  if (t.startsWith("uninitialized element") || t.startsWith("uninitialized")) return [Trap.UninitializedElement];
  if (t.startsWith("call stack exhausted") || t.startsWith("stack overflow") || t.startsWith("call stack"))
    return [Trap.CallStackExhausted, Trap.ValueStackExhausted];
  for (const [k, msg] of Object.entries(TRAP_MESSAGES)) if (t.startsWith(msg)) return [Number(k)];
  return [];
}

function trapName(kind: number): string {
  return TRAP_MESSAGES[kind] ?? `trap ${kind}`;
}

// ---------------------------------------------------------------------------------------------
// Script state

export interface FileResult {
  file: string;
  passed: number;
  failed: number;
  outOfScope: number;
  /** assert_invalid / assert_unlinkable modules that wabt could not even turn into binary (counted as passed). */
  rejectedByWabt: number;
  /** One line per failed check: `file:line: command: expected ..., got ...`. */
  failures: string[];
}

interface ModuleSlot {
  instance?: Instance;
  /** Loading failed (message). */
  error?: string;
}

interface Action {
  kind: "invoke" | "get";
  module?: string;
  name: string;
  args: Value[];
}

type Outcome =
  | { kind: "values"; values: bigint[] }
  | { kind: "trap"; trap: TrapError }
  | { kind: "error"; message: string }; // module missing, export missing, crash

class Check extends Error {}

function fmtBits(v: bigint, type: NumType): string {
  if (type === "funcref" || type === "externref") {
    if (v === 0n) return `${type}:null`;
    const o = hostRefs.get(Number(v));
    return o instanceof ExternRef ? `${type}:extern ${o.value}` : `${type}:#${v}`;
  }
  const bits = type === "i32" || type === "f32" ? 32 : 64;
  const u = BigInt.asUintN(bits, v);
  return type.startsWith("i") ? `${type}:${BigInt.asIntN(bits, v)} (0x${u.toString(16)})` : `${type}:0x${u.toString(16)}`;
}

/** Names keep a leading U+FEFF (a BOM is a legal export name, names.wast). */
const UTF8_NAMES = new TextDecoder("utf-8", { ignoreBOM: true });

function decodeName(s: SString): string {
  return UTF8_NAMES.decode(s.bytes);
}

function errMessage(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

export interface RunOptions {
  /**
   * Compile options passed to compile(); the default is the spec embedding. Their `profile` also
   * picks wabt's text features: "1.0" for the 1.0 suite, else 2.0.
   */
  compileOptions?: Parameters<typeof compile>[1];
  /** Limits passed to instantiate(). */
  limits?: Parameters<typeof instantiate>[2];
}

export async function runScript(text: string, file: string, options: RunOptions = {}): Promise<FileResult> {
  const wabt = await loadWabt();
  const res: FileResult = { file, passed: 0, failed: 0, outOfScope: 0, rejectedByWabt: 0, failures: [] };
  let cmds: SExpr[];
  try {
    cmds = parseSExprs(text);
    // A script may also be just the fields of one module (inline-module.wast).
    const h = cmds.length ? head(cmds[0]) : undefined;
    if (h !== undefined && MODULE_FIELDS.has(h)) {
      text = "(module " + text + "\n)";
      cmds = parseSExprs(text);
    }
  } catch (e) {
    res.failed++;
    res.failures.push(`${file}: script does not parse: ${e instanceof SExprError ? e.message : errMessage(e)}`);
    return res;
  }
  new ScriptRunner(wabt, text, file, res, options).run(cmds);
  return res;
}

const MODULE_FIELDS = new Set(["type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data"]);

class ScriptRunner {
  private readonly modules = new Map<string, ModuleSlot>();
  private current: ModuleSlot | undefined;
  private readonly registry = new Map<string, Map<string, ExternVal>>();
  private readonly compileOptions: NonNullable<RunOptions["compileOptions"]>;

  constructor(
    private readonly wabt: Wabt,
    private readonly text: string,
    private readonly file: string,
    private readonly res: FileResult,
    private readonly options: RunOptions,
  ) {
    this.registry.set("spectest", createSpectest());
    this.compileOptions = options.compileOptions ?? { imports: "embed" };
    this.wabtFeatures = this.compileOptions.profile === "1.0" ? WABT_FEATURES_1_0 : WABT_FEATURES_2_0;
  }

  private readonly wabtFeatures: typeof WABT_FEATURES_2_0;

  run(cmds: SExpr[]): void {
    for (const cmd of cmds) {
      try {
        this.command(cmd);
      } catch (e) {
        if (e instanceof Check) this.fail(cmd, e.message);
        else this.fail(cmd, `runner error: ${errMessage(e)}`);
      }
    }
  }

  // --- counting -------------------------------------------------------------------------------

  private where(cmd: SExpr): string {
    return `${this.file}:${cmd.line}: ${show(cmd, 100)}`;
  }

  private pass(): void {
    this.res.passed++;
  }

  private fail(cmd: SExpr, msg: string): void {
    this.res.failed++;
    this.res.failures.push(`${this.where(cmd)}: ${msg}`);
  }

  // --- modules --------------------------------------------------------------------------------

  /** The binary of a `(module ...)` form, or wabt's error. */
  private moduleBinary(m: SList): { bytes: Uint8Array; name?: string } | { wabtError: string; name?: string } {
    let i = 1;
    let name: string | undefined;
    const second = m.items[1];
    if (second?.type === "atom" && second.value.startsWith("$")) {
      name = second.value;
      i = 2;
    }
    const kw = m.items[i];
    if (kw?.type === "atom" && (kw.value === "binary" || kw.value === "quote")) {
      const parts: Uint8Array[] = [];
      for (const s of m.items.slice(i + 1)) {
        if (s.type !== "string") throw new Check(`module ${kw.value}: expected strings`);
        parts.push(s.bytes);
      }
      const bytes = concat(parts);
      if (kw.value === "binary") return { bytes, name };
      // quote: the text of a module, or of its fields
      const latin = String.fromCharCode(...bytes.subarray(0, 64));
      const src = /^\s*\(\s*module\b/.test(latin) ? bytes : concat([new TextEncoder().encode("(module "), bytes, new TextEncoder().encode("\n)")]);
      try {
        return { bytes: watToBinary(this.wabt, `${this.file}:${m.line}`, src, this.wabtFeatures), name };
      } catch (e) {
        return { wabtError: e instanceof Error ? e.message : String(e), name };
      }
    }
    try {
      return { bytes: watToBinary(this.wabt, `${this.file}:${m.line}`, this.text.slice(m.start, m.end), this.wabtFeatures), name };
    } catch (e) {
      return { wabtError: e instanceof Error ? e.message : String(e), name };
    }
  }

  private resolver = (module: string, name: string): ExternVal | undefined => this.registry.get(module)?.get(name);

  private load(bytes: Uint8Array): Instance {
    const program = compile(bytes, this.compileOptions);
    return instantiate(program, this.resolver, this.options.limits);
  }

  private defineModule(cmd: SList): void {
    const bin = this.moduleBinary(cmd);
    const slot: ModuleSlot = {};
    if (bin.name) this.modules.set(bin.name, slot);
    this.current = slot;
    if ("wabtError" in bin) {
      slot.error = "wabt rejected the module text";
      return this.fail(cmd, `wabt rejected the module text: ${firstLine(bin.wabtError)}`);
    }
    try {
      slot.instance = this.load(bin.bytes);
      this.pass();
    } catch (e) {
      slot.error = errMessage(e);
      this.fail(cmd, `module failed to load: ${errMessage(e)}`);
    }
  }

  private slot(name: string | undefined): ModuleSlot | undefined {
    return name === undefined ? this.current : this.modules.get(name);
  }

  // --- actions --------------------------------------------------------------------------------

  private parseAction(e: SExpr): Action {
    const h = head(e);
    if ((h !== "invoke" && h !== "get") || e.type !== "list") throw new Check(`unsupported action ${show(e)}`);
    let i = 1;
    let module: string | undefined;
    const a1 = e.items[1];
    if (a1?.type === "atom" && a1.value.startsWith("$")) {
      module = a1.value;
      i = 2;
    }
    const nameExpr = e.items[i];
    if (nameExpr?.type !== "string") throw new Check(`action without a name: ${show(e)}`);
    const args: Value[] = [];
    for (const a of e.items.slice(i + 1)) {
      const c = parseConst(a, false);
      if ("nan" in c) throw new Check(`NaN pattern as argument`);
      args.push(c);
    }
    if (h === "get" && args.length) throw new Check(`get with arguments`);
    return { kind: h, module, name: decodeName(nameExpr), args };
  }

  private perform(a: Action): { outcome: Outcome; slot?: ModuleSlot } {
    const slot = this.slot(a.module);
    if (!slot) return { outcome: { kind: "error", message: `no module ${a.module ?? "(current)"}` } };
    const inst = slot.instance;
    if (!inst) return { outcome: { kind: "error", message: `module not loaded (${slot.error ?? "?"})` }, slot };
    try {
      if (a.kind === "get") {
        const g = inst.exports.get(a.name);
        if (!(g instanceof Global)) return { outcome: { kind: "error", message: `no exported global "${a.name}"` }, slot };
        return { outcome: { kind: "values", values: [g.value] }, slot };
      }
      const values = inst.invoke(
        a.name,
        a.args.map((v) => v.value),
      );
      return { outcome: { kind: "values", values }, slot };
    } catch (e) {
      if (e instanceof TrapError) return { outcome: { kind: "trap", trap: e }, slot };
      return { outcome: { kind: "error", message: errMessage(e) }, slot };
    }
  }

  // --- commands -------------------------------------------------------------------------------

  private command(cmd: SExpr): void {
    const h = head(cmd);
    if (cmd.type !== "list" || !h) throw new Check("not a command");
    switch (h) {
      case "module":
        return this.defineModule(cmd);
      case "register":
        return this.register(cmd);
      case "invoke":
      case "get":
        return this.topAction(cmd);
      case "assert_return":
        return this.assertReturn(cmd);
      case "assert_trap":
        return this.assertTrap(cmd, false);
      case "assert_exhaustion":
        return this.assertTrap(cmd, true);
      case "assert_invalid":
        return this.assertRejected(cmd, "invalid");
      case "assert_malformed":
        return this.assertRejected(cmd, "malformed");
      case "assert_unlinkable":
        return this.assertUnlinkable(cmd);
      default:
        throw new Check(`unknown command '${h}'`);
    }
  }

  private register(cmd: SList): void {
    const n = cmd.items[1];
    if (n?.type !== "string") throw new Check("register without a name");
    const m = cmd.items[2];
    const slot = this.slot(m?.type === "atom" ? m.value : undefined);
    if (!slot?.instance) {
      throw new Check(`register: module not loaded (${slot?.error ?? "no such module"})`);
    }
    this.registry.set(decodeName(n), slot.instance.exports);
  }

  private topAction(cmd: SList): void {
    const a = this.parseAction(cmd);
    const { outcome } = this.perform(a);
    if (outcome.kind === "trap") return this.fail(cmd, `trapped: ${outcome.trap.message}`);
    if (outcome.kind === "error") return this.fail(cmd, outcome.message);
    this.pass();
  }

  private assertReturn(cmd: SList): void {
    const action = cmd.items[1];
    if (!action) throw new Check("assert_return without action");
    const a = this.parseAction(action);
    const expected = cmd.items.slice(2).map((e) => parseConst(e, true));
    const { outcome } = this.perform(a);
    if (outcome.kind === "trap")
      return this.fail(cmd, `expected a return, got trap "${outcome.trap.message}" (${trapName(outcome.trap.kind)})`);
    if (outcome.kind === "error") return this.fail(cmd, outcome.message);
    const got = outcome.values;
    const ok = got.length === expected.length && expected.every((x, i) => typeof got[i] === "bigint" && matches(x, got[i]));
    if (ok) return this.pass();
    const exp = expected.map((x) => ("value" in x ? fmtBits(x.value, x.type) : `${x.type}:nan:${x.nan}`)).join(", ");
    const gs = got.map((v, i) => (typeof v === "bigint" ? fmtBits(v, expected[i]?.type ?? "i64") : String(v))).join(", ");
    this.fail(cmd, `expected [${exp}], got [${gs}]`);
  }

  private assertTrap(cmd: SList, exhaustion: boolean): void {
    const target = cmd.items[1];
    const msgExpr = cmd.items[2];
    if (!target || msgExpr?.type !== "string") throw new Check("malformed assertion");
    const text = decodeName(msgExpr);
    const kinds = exhaustion ? [Trap.CallStackExhausted, Trap.ValueStackExhausted] : trapKindsFor(text);
    if (kinds.length === 0) throw new Check(`unknown trap text "${text}"`);

    if (head(target) === "module" && target.type === "list") {
      // A module whose instantiation (start function) must trap.
      const bin = this.moduleBinary(target);
      if ("wabtError" in bin) return this.fail(cmd, `wabt rejected the module text: ${firstLine(bin.wabtError)}`);
      try {
        this.load(bin.bytes);
      } catch (e) {
        if (e instanceof TrapError) {
          if ((kinds as number[]).includes(e.kind)) return this.pass();
          return this.fail(cmd, `expected trap "${text}", got trap "${e.message}" (${trapName(e.kind)})`);
        }
        return this.fail(cmd, `expected trap "${text}", got ${errMessage(e)}`);
      }
      return this.fail(cmd, `expected trap "${text}", module instantiated`);
    }

    const a = this.parseAction(target);
    const { outcome } = this.perform(a);
    if (outcome.kind === "trap") {
      if ((kinds as number[]).includes(outcome.trap.kind)) return this.pass();
      return this.fail(cmd, `expected trap "${text}", got trap "${outcome.trap.message}" (${trapName(outcome.trap.kind)})`);
    }
    if (outcome.kind === "error") return this.fail(cmd, `expected trap "${text}", got ${outcome.message}`);
    this.fail(cmd, `expected trap "${text}", got a return [${outcome.values.join(", ")}]`);
  }

  /** assert_invalid / assert_malformed: the module must be rejected with that kind of error. */
  private assertRejected(cmd: SList, kind: "invalid" | "malformed"): void {
    const m = cmd.items[1];
    if (head(m) !== "module" || m.type !== "list") throw new Check("expected a module");
    const bin = this.moduleBinary(m);
    if ("wabtError" in bin) {
      // Text that wabt cannot turn into binary: a syntax error (malformed), or for an invalid
      // module an error wabt's parser already catches (e.g. an unknown label).
      if (kind === "invalid") this.res.rejectedByWabt++;
      return this.pass();
    }
    let program;
    try {
      program = compile(bin.bytes, this.compileOptions);
    } catch (e) {
      if (e instanceof WasmError) {
        if (e.kind === kind) return this.pass();
        return this.fail(cmd, `expected a ${kind} module, got ${e.kind}: ${e.message}`);
      }
      return this.fail(cmd, `expected a ${kind} module, compile crashed: ${errMessage(e)}`);
    }
    void program;
    this.fail(cmd, `expected a ${kind} module, compile accepted it`);
  }

  private assertUnlinkable(cmd: SList): void {
    const m = cmd.items[1];
    if (head(m) !== "module" || m.type !== "list") throw new Check("expected a module");
    const bin = this.moduleBinary(m);
    if ("wabtError" in bin) {
      this.res.rejectedByWabt++;
      return this.pass();
    }
    let program;
    try {
      program = compile(bin.bytes, this.compileOptions);
    } catch (e) {
      return this.fail(cmd, `expected an unlinkable module, compile failed: ${errMessage(e)}`);
    }
    try {
      instantiate(program, this.resolver, this.options.limits);
    } catch (e) {
      if (e instanceof WasmError && e.kind === "unlinkable") return this.pass();
      return this.fail(cmd, `expected an unlinkable module, got ${errMessage(e)}`);
    }
    this.fail(cmd, `expected an unlinkable module, it instantiated`);
  }
}

/** Whether a result (canonical bigint: i32/i64 signed, floats as unsigned bits) is what was expected. */
function matches(x: Expected, got: bigint): boolean {
  if ("value" in x) return got === normalize(x);
  const { mant, exp } = FLOAT_FORMATS[x.type];
  const bits = BigInt.asUintN(mant + exp + 1, got);
  const expAll = ((1n << BigInt(exp)) - 1n) << BigInt(mant);
  const payload = bits & ((1n << BigInt(mant)) - 1n);
  const quiet = 1n << BigInt(mant - 1);
  if ((bits & expAll) !== expAll || payload === 0n) return false; // not a NaN
  return x.nan === "canonical" ? payload === quiet : (payload & quiet) !== 0n;
}

function normalize(v: Value): bigint {
  switch (v.type) {
    case "i32":
      return BigInt.asIntN(32, v.value);
    case "i64":
      return BigInt.asIntN(64, v.value);
    case "f32":
      return BigInt.asUintN(32, v.value);
    case "f64":
      return BigInt.asUintN(64, v.value);
    case "funcref":
    case "externref":
      return BigInt.asUintN(32, v.value);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function firstLine(s: string): string {
  const lines = s.split("\n").filter((l) => l.trim() && !/^parseWat failed:?$/.test(l.trim()));
  return lines[0] ?? s;
}
