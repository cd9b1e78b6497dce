/**
 * Seeded generator of random, valid WebAssembly 2.0 modules (integers, floats, multi-value, tables,
 * references, bulk memory) for the differential test.
 *
 * Same seed (and options) -> identical bytes. Code is type-correct by construction: expressions are
 * generated for a wanted type, recursively, with a label stack that records what each enclosing
 * block accepts on a branch. Termination is by construction too:
 *  - loops only re-enter through a "guarded continue" that bumps a dedicated counter local (reset
 *    on loop entry, never written otherwise) and branches only while it is below a fixed bound;
 *  - plain `call`s only go to higher-numbered functions (acyclic), `call_indirect` only from the
 *    lower half of the functions into a table that holds only upper-half functions;
 *  - any other call (self/backward recursion) is "fuelled": guarded by a mutable global that every
 *    such call decrements and nothing else increases;
 *  - a static cost estimate (loop multipliers x instruction counts + callee costs) keeps every
 *    invocation small.
 * Traps are produced on purpose, at a per-module rate: unguarded div/rem, out-of-bounds addresses
 * (including offset + address > 2^32), out-of-range or null table slots, signature mismatches,
 * out-of-bounds bulk memory, table and segment ranges, `unreachable`, float-to-int conversions of
 * NaN or out-of-range values.
 *
 * WebAssembly 2.0: functions may return two values (their callers drop what they do not use);
 * blocks by type index carry two values, with branches over extra values; `if` and `loop` take
 * parameters. Besides table 0 (read only: call_indirect's statically known table) there are up to
 * two writable tables, passive element and data segments (one of each may be dropped), and
 * reference expressions (ref.null, ref.func, table.get, typed select) that only ever name
 * upper-half functions, so call_indirect stays acyclic.
 *
 * Floats (most modules; f32/f64 locals, globals, parameters, results, loads, stores, every float
 * instruction): NaN results carry engine-specific payloads and signs (the spec allows any arithmetic
 * NaN; the machine's is always the canonical one), so wherever a float's bits become observable the
 * generated code canonicalises NaNs first (`canon`: select(NaN, x, x != x)): float stores, the
 * reinterpretations to integers, and copysign's sign operand. Function results and globals are
 * compared after canonicalisation by the harness. Float arguments are never NaN.
 */
import {
  CodeWriter,
  CONVERSIONS,
  COPYSIGN,
  F32_BINOPS,
  F32_RELOPS,
  F32_UNOPS,
  F64_BINOPS,
  F64_RELOPS,
  F64_UNOPS,
  isFloatType,
  REINTERPRETS,
  TRUNC_SAT,
  TRUNCS,
  DIV_REM_OPS,
  FC,
  I32_BINOPS,
  I32_EQZ,
  I32_RELOPS,
  I32_UNOPS,
  I64_BINOPS,
  I64_EQZ,
  I64_RELOPS,
  I64_UNOPS,
  LOADS,
  OP,
  STORES,
  encodeModule,
  type ExportSpec,
  type FuncTypeSpec,
  type GlobalSpec,
  type MemOp,
  type ElemSpec,
  type ModuleSpec,
  type ValType,
} from "./encoder.js";

// ---------------------------------------------------------------------------------------------
// Seeded PRNG: sfc32 seeded through splitmix32, so a seed (any 32-bit integer) yields the same
// stream on every platform and Node version.
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform u32. */
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform integer in [0, n), n <= 2^32. */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() < p * 4294967296;
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error("pick from empty list");
    return xs[this.int(xs.length)];
  }

  /** Pick an index by weights (non-negative numbers, at least one positive). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i];
    let r = (this.u32() / 4294967296) * total;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] <= 0) continue;
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    throw new Error("no positive weight");
  }

  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }

  /** An i32 (as signed bigint) biased towards edge values. */
  i32(): bigint {
    switch (this.int(8)) {
      case 0:
      case 1:
        return BigInt.asIntN(32, BigInt(this.pick(I32_EDGES)));
      case 2:
        return BigInt(this.range(-16, 16));
      case 3: {
        // a power of two, or one off
        const p = 1n << BigInt(this.int(32));
        return BigInt.asIntN(32, p + BigInt(this.range(-1, 1)));
      }
      case 4:
        return BigInt(this.int(4096));
      default:
        return BigInt.asIntN(32, BigInt(this.u32()));
    }
  }

  /**
   * Bits of an f32/f64 (bigint) biased towards edge values: ±0, ±1, halves (ties), ±inf, NaNs
   * (unless `noNaN`), subnormals, integers near the conversion bounds, values of any exponent.
   */
  float(t: "f32" | "f64", noNaN = false): bigint {
    const M = t === "f32" ? 23n : 52n, EB = t === "f32" ? 8n : 11n, bias = t === "f32" ? 127n : 1023n;
    const EMAX = (1n << EB) - 1n;
    const mant = (BigInt(this.u32()) << 32n | BigInt(this.u32())) & ((1n << M) - 1n);
    const sign = BigInt(this.int(2)) << (M + EB);
    const make = (e: bigint, m: bigint) => sign | ((e < 0n ? 0n : e > EMAX ? EMAX : e) << M) | m;
    switch (this.int(12)) {
      case 0: return sign; // ±0
      case 1: return make(bias, 0n); // ±1
      case 2: return make(bias + BigInt(this.range(-1, 2)), BigInt(this.int(2)) << (M - 1n)); // 0.5, 1.5, 2.5, 3, ...
      case 3: return make(EMAX, 0n); // ±inf
      case 4: return noNaN ? make(bias + BigInt(this.range(-3, 3)), mant) : make(EMAX, this.chance(0.5) ? 1n << (M - 1n) : mant | 1n); // NaN
      case 5: return make(0n, this.chance(0.3) ? 1n : mant); // subnormal
      case 6: return make(bias + BigInt(this.pick([31, 32, 63, 64, 24, 53])), this.chance(0.5) ? 0n : mant >> BigInt(this.int(Number(M)))); // near 2^31, 2^64, ...
      case 7: return make(bias + BigInt(this.range(-4, 8)), mant & ~((1n << BigInt(this.int(Number(M)))) - 1n)); // few significant bits
      case 8: return make(BigInt(this.int(Number(EMAX))), mant); // any exponent
      default: return make(bias + BigInt(this.range(-30, 30)), mant); // ordinary numbers
    }
  }

  /** An i64 (as signed bigint) biased towards edge values. */
  i64(): bigint {
    switch (this.int(8)) {
      case 0:
      case 1:
        return BigInt.asIntN(64, this.pick(I64_EDGES));
      case 2:
        return BigInt(this.range(-16, 16));
      case 3: {
        const p = 1n << BigInt(this.int(64));
        return BigInt.asIntN(64, p + BigInt(this.range(-1, 1)));
      }
      case 4:
        return this.i32(); // sign-extended i32 values
      case 5:
        return BigInt(this.u32()); // zero-extended i32 values
      default:
        return BigInt.asIntN(64, this.u64());
    }
  }
}

export const I32_EDGES: number[] = [
  0, 1, -1, 2, 0x7fffffff, -0x80000000, 0x7ffffffe, -0x7fffffff, 31, 32, 33, 63, 64, 0xff, 0x80, 0x7f, 0xffff, 0x8000,
  0x7fff, 0x10000, 0xff00ff00, 0x0f0f0f0f, 0x55555555, 0xaaaaaaaa, 0xfffffffe,
];
export const I64_EDGES: bigint[] = [
  0n, 1n, -1n, 2n, 0x7fffffffffffffffn, -0x8000000000000000n, 63n, 64n, 65n, 127n, 128n, 0xffffffffn,
  0x100000000n, 0x7fffffffn, 0x80000000n, -0x80000000n, 0xffn, 0x80n, 0xffffn, 0x8000n, 0xffffffff00000000n,
  0x8000000000000001n, 0x5555555555555555n, 0xaaaaaaaaaaaaaaaan, 32n, 31n,
];

export interface GenOptions {
  /** Number of (exported) functions; default random in [3, 7]. */
  functions?: number;
  /**
   * For test-case reduction: functions whose bodies are replaced by a trivial body (a zero
   * result). The random stream is consumed exactly as without stubs, so everything else is the
   * same program.
   */
  stubFunctions?: ReadonlySet<number>;
  /**
   * For test-case reduction: statement ids to delete and expression ids to replace by a zero
   * constant (ids count generated statements/expressions in generation order; see
   * GeneratedModule.stmtIds/exprIds). The random stream is unaffected.
   */
  dropStmts?: ReadonlySet<number>;
  zeroExprs?: ReadonlySet<number>;
}

export interface ExportedFunc {
  name: string;
  index: number;
  params: ValType[];
  results: ValType[];
}

export interface GeneratedModule {
  seed: number;
  bytes: Uint8Array;
  spec: ModuleSpec;
  funcs: ExportedFunc[]; // exported functions, in invocation order
  globals: { name: string; type: ValType }[]; // exported globals
  memory: string; // export name of the memory
  /** Opcode key (encoder.opKey/fcKey) -> times emitted in this module. */
  opcodes: Map<string, number>;
  /** Per-module probability of trap-prone variants. */
  trapRate: number;
  /** Number of statement / expression ids (for reduction). */
  stmtIds: number;
  exprIds: number;
}

const MAX_LOOP_MULT = 40;
const CALL_BUDGET = 3000;

interface Label {
  /** What a branch to this label carries (a loop: its parameters, none here but for loopParam). */
  types: ValType[];
  loop?: { counter: number; bound: number };
  /** A loop with parameters (loopParam): no other branch may target it. */
  noBranch?: boolean;
}

/** A writable table (index >= 1): its initial size (it only grows) and maximum. */
interface TableCtx {
  index: number;
  min: number;
  max?: number;
}

interface ModuleCtx {
  rng: Rng;
  /** Whether the module uses floats (value types, instructions). */
  floats: boolean;
  trapRate: number;
  edgeRate: number; // probability of a memory access at the exact end of memory (or one past)
  types: FuncTypeSpec[];
  funcTypes: number[]; // type index per function
  globals: GlobalSpec[];
  fuel: number; // global index of the fuel counter
  memMin: number;
  tableSize: number;
  table: (number | null)[];
  indirectFrom: number; // functions < indirectFrom may use call_indirect; tables hold only >= it
  tables: TableCtx[]; // the writable tables (indices 1, 2)
  /** Passive element segments' lengths; segment `dropElem` may be dropped (used with n = 0 only). */
  passiveElems: { index: number; len: number }[];
  dropElem: number;
  /** Passive data segments' lengths; segment `dropData` may be dropped. */
  passiveData: { index: number; len: number }[];
  dropData: number;
  /** Block types by type index, added to `types` as needed: key "params:results". */
  blockTypes: Map<string, number>;
  tableCost: number;
  costs: number[]; // static cost per function (known for functions already generated)
  nFuncs: number; // random functions (excluding a start function)
  nextStmt: number;
  nextExpr: number;
  dropStmts?: ReadonlySet<number>;
  zeroExprs?: ReadonlySet<number>;
}

function typeOf(ctx: ModuleCtx, f: number): FuncTypeSpec {
  return ctx.types[ctx.funcTypes[f]];
}

function sameSig(a: FuncTypeSpec, b: FuncTypeSpec): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

/** The unary operations that keep type t. */
function unopsOf(t: ValType): [number, string][] {
  return t === "i32" ? I32_UNOPS : t === "i64" ? I64_UNOPS : t === "f32" ? F32_UNOPS : F64_UNOPS;
}

class FuncGen {
  readonly w = new CodeWriter();
  readonly rng: Rng;
  readonly locals: ValType[];
  readonly nParams: number;
  private readonly user: Record<ValType, number[]> = { i32: [], i64: [], f32: [], f64: [] };
  private readonly readable: Record<ValType, number[]> = { i32: [], i64: [], f32: [], f64: [] };
  private readonly scratch: Record<ValType, number>;
  private labels: Label[];
  private mult = 1;
  private loopNest = 0;
  private diverging = false;
  private costAcc = 0;
  private opsFlushed = 0;
  private readonly sizeCap: number;
  private readonly results: ValType[];
  private readonly globalsOf: Record<ValType, number[]> = { i32: [], i64: [], f32: [], f64: [] };
  private readonly mutGlobals: number[] = [];

  constructor(
    private readonly ctx: ModuleCtx,
    private readonly index: number,
  ) {
    this.rng = ctx.rng;
    const t = typeOf(ctx, index);
    this.results = t.results;
    this.locals = [...t.params];
    this.nParams = t.params.length;
    const nUser = this.rng.chance(0.04) ? this.rng.range(20, 300) : this.rng.range(0, 5);
    for (let i = 0; i < nUser; i++) this.locals.push(this.randType());
    this.locals.forEach((ty, i) => {
      this.user[ty].push(i);
      this.readable[ty].push(i);
    });
    this.scratch = { i32: this.newLocal("i32"), i64: this.newLocal("i64"), f32: -1, f64: -1 };
    if (ctx.floats) {
      this.scratch.f32 = this.newLocal("f32");
      this.scratch.f64 = this.newLocal("f64");
    }
    this.labels = [{ types: this.results }];
    ctx.globals.forEach((g, i) => {
      this.globalsOf[g.type].push(i);
      if (g.mutable && i !== ctx.fuel) this.mutGlobals.push(i);
    });
    this.sizeCap = this.rng.range(150, 900);
  }

  private newLocal(t: ValType): number {
    this.locals.push(t);
    return this.locals.length - 1;
  }

  private get trapRate(): number {
    return this.ctx.trapRate;
  }

  private get big(): boolean {
    return this.w.written > this.sizeCap;
  }

  // ---- cost accounting ------------------------------------------------------------------

  private flush(): void {
    const ops = this.w.written; // bytes as a proxy for instructions (an overestimate)
    this.costAcc += (ops - this.opsFlushed) * this.mult;
    this.opsFlushed = ops;
  }

  cost(): number {
    this.flush();
    return this.costAcc;
  }

  private canAfford(extra: number): boolean {
    return this.cost() + this.mult * extra <= CALL_BUDGET;
  }

  private addCost(extra: number): void {
    this.flush();
    this.costAcc += this.mult * extra;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private depthOf(labelIndex: number): number {
    return this.labels.length - 1 - labelIndex;
  }

  private pushLabel(l: Label): void {
    this.labels.push(l);
  }

  private popLabel(): void {
    this.labels.pop();
  }

  /** Indices of labels that a random branch may target carrying t (one value, none for null); loops excluded. */
  private targets(t: ValType | null | "any"): number[] {
    const out: number[] = [];
    this.labels.forEach((l, i) => {
      if (l.loop || l.noBranch) return;
      if (t === "any" || (t === null ? l.types.length === 0 : l.types.length === 1 && l.types[0] === t)) out.push(i);
    });
    return out;
  }

  /** Labels carrying exactly the types ts (loops excluded): br_table targets must agree. */
  private targetsLike(ts: ValType[]): number[] {
    const out: number[] = [];
    this.labels.forEach((l, i) => {
      if (!l.loop && !l.noBranch && l.types.length === ts.length && l.types.every((t, k) => t === ts[k])) out.push(i);
    });
    return out;
  }

  /** Push a value of each type, in order. */
  private exprs(ts: ValType[], d: number): void {
    for (const t of ts) this.expr(t, d);
  }

  private drops(n: number): void {
    for (let i = 0; i < n; i++) this.w.op(OP.drop);
  }

  /** The type index of a block type params -> results (added to the type section on first use). */
  private blockTypeIndex(params: ValType[], results: ValType[]): number {
    const key = `${params.join()}:${results.join()}`;
    let i = this.ctx.blockTypes.get(key);
    if (i === undefined) {
      i = this.ctx.types.length;
      this.ctx.types.push({ params, results });
      this.ctx.blockTypes.set(key, i);
    }
    return i;
  }

  private randType(): ValType {
    if (this.ctx.floats) return (["i32", "i64", "f32", "f64"] as const)[this.rng.weighted([4, 3, 1.5, 2])];
    return this.rng.chance(0.5) ? "i32" : "i64";
  }

  /** An integer type (the operands of integer-only instructions). */
  private intType(): "i32" | "i64" {
    return this.rng.chance(0.5) ? "i32" : "i64";
  }

  private constOf(t: ValType): void {
    if (t === "i32") this.w.i32Const(this.rng.i32());
    else if (t === "i64") this.w.i64Const(this.rng.i64());
    else this.w.constOf(t, this.rng.float(t));
  }

  /**
   * The float on top of the stack with any NaN replaced by the canonical one (before its bits
   * become observable): select(NaN, x, x != x).
   */
  private canon(t: "f32" | "f64"): void {
    const s = this.scratch[t];
    this.w.op(OP.local_set).u32(s);
    if (t === "f32") this.w.f32Const(0x7fc00000n);
    else this.w.f64Const(0x7ff8000000000000n);
    this.w.op(OP.local_get).u32(s).op(OP.local_get).u32(s).op(OP.local_get).u32(s).op(t === "f32" ? 0x5c : 0x62).op(OP.select);
  }

  private leaf(t: ValType): void {
    const r = this.rng.int(10);
    const globals = this.globalsOf[t];
    if (r < 4 && this.readable[t].length) {
      this.w.op(OP.local_get).u32(this.rng.pick(this.readable[t]));
    } else if (r < 6 && globals.length) {
      this.w.op(OP.global_get).u32(this.rng.pick(globals));
    } else {
      this.constOf(t);
    }
  }

  // ---- expressions ----------------------------------------------------------------------

  /** Emit code that pushes exactly one value of type t (or diverges). */
  expr(t: ValType, d: number): void {
    const id = this.ctx.nextExpr++;
    const start = this.w.length;
    this.exprInner(t, d);
    if (this.ctx.zeroExprs?.has(id)) {
      this.w.truncate(start);
      this.w.constOf(t, 0n);
    }
  }

  private exprInner(t: ValType, d: number): void {
    if (d <= 0 || this.big) return this.leaf(t);
    const rng = this.rng;
    const canIndirect = this.index < this.ctx.indirectFrom && this.ctx.tableSize > 0;
    const w = [
      14, // 0 leaf
      6, // 1 unop
      3, // 2 eqz (i32 only)
      22, // 3 binop
      8, // 4 relop (i32 only)
      4, // 5 conversion
      9, // 6 load
      t === "i32" ? 3 : 0, // 7 memory.size / grow
      3, // 8 tee
      3, // 9 select
      3, // 10 block
      3, // 11 if
      2, // 12 loop
      4, // 13 call
      canIndirect ? 3 : 0, // 14 call_indirect
      2, // 15 br_if with value
      this.diverging ? 0 : 0.4, // 16 divergent
      t === "i32" && this.ctx.tableSize > 0 ? 1 : 0, // 17 table.size
      t === "i32" && this.ctx.tables.length ? 1 : 0, // 18 table.grow
      t === "i32" ? 1.5 : 0, // 19 ref.is_null
      2, // 20 block with two results (multi-value)
      1.5, // 21 if with a parameter
      1, // 22 loop with a parameter
      0, // 23 float comparisons, conversions from and to floats (below)
    ];
    if (t !== "i32") {
      w[2] = 0;
      w[4] = 0;
    }
    if (isFloatType(t)) w[7] = 0;
    if (this.ctx.floats) w[23] = isFloatType(t) ? 8 : 3;
    switch (rng.weighted(w)) {
      case 0:
        return this.leaf(t);
      case 1: {
        const [op] = rng.pick(unopsOf(t));
        this.expr(t, d - 1);
        this.w.op(op);
        return;
      }
      case 2: {
        const ot = this.intType();
        this.expr(ot, d - 1);
        this.w.op(ot === "i32" ? I32_EQZ : I64_EQZ);
        return;
      }
      case 3:
        return this.binop(t, d);
      case 4: {
        const ot = this.intType();
        const [op] = rng.pick(ot === "i32" ? I32_RELOPS : I64_RELOPS);
        this.expr(ot, d - 1);
        this.expr(ot, d - 1);
        this.w.op(op);
        return;
      }
      case 5:
        if (isFloatType(t)) return this.floatExpr(t, d);
        if (t === "i32") {
          this.expr("i64", d - 1);
          this.w.op(OP.i32_wrap_i64);
        } else {
          this.expr("i32", d - 1);
          this.w.op(rng.chance(0.5) ? OP.i64_extend_i32_s : OP.i64_extend_i32_u);
        }
        return;
      case 6:
        return this.load(t, d);
      case 7:
        if (rng.chance(0.4)) {
          this.w.op(OP.memory_size).u8(0);
        } else {
          this.growDelta(d);
          this.w.op(OP.memory_grow).u8(0);
        }
        return;
      case 8: {
        if (!this.user[t].length) return this.leaf(t);
        this.expr(t, d - 1);
        this.w.op(OP.local_tee).u32(rng.pick(this.user[t]));
        return;
      }
      case 9:
        this.expr(t, d - 1);
        this.expr(t, d - 1);
        this.expr("i32", d - 1);
        this.w.op(OP.select);
        return;
      case 10:
        return this.block(t, d);
      case 11:
        return this.ifElse(t, d);
      case 12:
        return this.loop(t, d);
      case 13:
        return this.call(t, d);
      case 14:
        return this.callIndirect(t, d);
      case 15: {
        const ls = this.targets(t);
        if (!ls.length) return this.leaf(t);
        const l = rng.pick(ls);
        this.expr(t, d - 1);
        this.cond(d - 1, l === 0 ? "rare" : "fair");
        this.w.op(OP.br_if).u32(this.depthOf(l));
        return;
      }
      case 16:
        this.diverge(d);
        return;
      case 17:
        this.w.fc(FC.table_size).u32(this.anyTable());
        return;
      case 18:
        this.tableGrow(d);
        return;
      case 19:
        this.refExpr(d - 1);
        this.w.op(OP.ref_is_null);
        return;
      case 20:
        return this.multiBlock(t, d);
      case 21:
        return this.ifParam(t, d);
      case 22:
        return this.loopParam(t, d);
      case 23:
        return this.floatExpr(t, d);
    }
  }

  // ---- multi-value ----------------------------------------------------------------------

  /**
   * block (type [] -> [t o]) ... end, then drop o: a branch to it carries two values, here a br_if
   * over an extra value below them (the lowering moves the two through hidden locals).
   */
  private multiBlock(t: ValType, d: number): void {
    const o = this.randType();
    this.w.op(OP.block).blockTypeIndex(this.blockTypeIndex([], [t, o]));
    this.pushLabel({ types: [t, o] });
    this.stmts(this.rng.range(0, 2), d - 1);
    const junk = this.rng.chance(0.6);
    if (junk) this.expr(this.randType(), d - 1);
    this.exprs([t, o], d - 1);
    this.cond(d - 1, "fair");
    this.w.op(OP.br_if).u32(0);
    this.drops(junk ? 3 : 2);
    this.exprs([t, o], d - 1);
    this.popLabel();
    this.w.op(OP.end).op(OP.drop);
  }

  /** x; if (param t) (result t) ... else ... end: each branch starts from the parameter. */
  private ifParam(t: ValType, d: number): void {
    this.expr(t, d - 1);
    this.cond(d - 1, "fair");
    this.w.op(OP.if).blockTypeIndex(this.blockTypeIndex([t], [t]));
    this.pushLabel({ types: [t] });
    for (let arm = 0; arm < 2; arm++) {
      if (arm === 1) this.w.op(OP.else);
      this.stmts(this.rng.range(0, 1), d - 1);
      if (this.rng.chance(0.5)) this.w.op(this.rng.pick(unopsOf(t))[0]);
      else {
        this.w.op(OP.drop);
        this.expr(t, d - 1);
      }
    }
    this.popLabel();
    this.w.op(OP.end);
  }

  /** x; loop (param t) (result t) ...; counter += 1; br_if (counter < bound) with the new x ... end. */
  private loopParam(t: ValType, d: number): void {
    const bound = this.rng.range(1, 5);
    if (this.loopNest >= 3 || this.mult * bound > MAX_LOOP_MULT) return this.leaf(t);
    const counter = this.newLocal("i32");
    this.w.i32Const(0).op(OP.local_set).u32(counter);
    this.expr(t, d - 1);
    this.w.op(OP.loop).blockTypeIndex(this.blockTypeIndex([t], [t]));
    this.flush();
    const savedMult = this.mult;
    this.mult *= bound;
    this.loopNest++;
    this.pushLabel({ types: [t], noBranch: true });
    this.stmts(this.rng.range(0, 2), d - 1);
    this.w.op(this.rng.pick(unopsOf(t))[0]);
    this.w.op(OP.local_get).u32(counter).i32Const(1).op(0x6a).op(OP.local_tee).u32(counter);
    this.w.i32Const(bound).op(0x49).op(OP.br_if).u32(0); // lt_u: another iteration with the value
    this.popLabel();
    this.loopNest--;
    this.flush();
    this.mult = savedMult;
    this.readable.i32.push(counter);
    this.w.op(OP.end);
  }

  // ---- references, tables, segments ------------------------------------------------------

  /** Any table: 0 (read only) or a writable one. */
  private anyTable(): number {
    const ts = this.ctx.tables;
    return ts.length && this.rng.chance(0.6) ? this.rng.pick(ts).index : 0;
  }

  /** Initial (and least) size of table i. */
  private tableMin(i: number): number {
    return i === 0 ? this.ctx.tableSize : this.ctx.tables[i - 1].min;
  }

  /** An element index of table t: in bounds (modulo its current size), or at the trap rate anything. */
  private tableIndex(t: number, d: number): void {
    if (this.rng.chance(this.trapRate)) {
      if (this.rng.chance(0.5)) this.w.fc(FC.table_size).u32(t);
      else this.w.i32Const(this.rng.pick([-1, 0x7fffffff, this.tableMin(t) + this.rng.int(40)]));
      return;
    }
    this.expr("i32", d - 1);
    this.w.fc(FC.table_size).u32(t).op(0x70); // rem_u
  }

  /** A start index d of table t with d + n <= its size (n <= its initial size), or at the trap rate anything. */
  private tableRange(t: number, n: number, d: number): void {
    if (this.rng.chance(this.trapRate)) {
      this.w.fc(FC.table_size).u32(t).i32Const(this.rng.range(1 - n, 3)).op(0x6b); // size - k: often past the end
      return;
    }
    this.expr("i32", d - 1);
    this.w.fc(FC.table_size).u32(t).i32Const(n - 1).op(0x6b).op(0x70); // rem_u (size - n + 1)
  }

  /** A funcref: null, an upper-half function, a table element, or a typed select of two. */
  private refExpr(d: number): void {
    const ctx = this.ctx, rng = this.rng;
    const upper = ctx.nFuncs - ctx.indirectFrom;
    switch (rng.weighted([2, upper > 0 ? 3 : 0, ctx.tableSize > 0 ? 3 : 0, d > 0 ? 1 : 0])) {
      case 0:
        this.w.op(OP.ref_null).u8(0x70);
        return;
      case 1:
        this.w.op(OP.ref_func).u32(rng.range(ctx.indirectFrom, ctx.nFuncs - 1));
        return;
      case 2: {
        const t = this.anyTable();
        this.tableIndex(t, d);
        this.w.op(OP.table_get).u32(t);
        return;
      }
      default:
        this.refExpr(d - 1);
        this.refExpr(d - 1);
        this.expr("i32", d - 1);
        this.w.op(OP.select_t).u32(1).u8(0x70);
    }
  }

  /** table.grow on a writable table: [old size or -1]. */
  private tableGrow(d: number): void {
    const t = this.rng.pick(this.ctx.tables).index;
    this.refExpr(d - 1);
    this.w.i32Const(this.rng.chance(this.trapRate * 3) ? this.rng.pick([-1, 0x10000, 0x7fffffff]) : this.rng.pick([0, 1, 1, 2, 5]));
    this.w.fc(FC.table_grow).u32(t);
  }

  /** table.set, table.fill, table.copy, table.init, elem.drop on the writable tables. */
  private tableStmt(d: number): void {
    const ctx = this.ctx, rng = this.rng;
    const t = rng.pick(ctx.tables).index;
    const min = this.tableMin(t);
    switch (rng.int(5)) {
      case 0:
        this.tableIndex(t, d);
        this.refExpr(d - 1);
        this.w.op(OP.table_set).u32(t);
        return;
      case 1: {
        const n = rng.int(min + 1);
        this.tableRange(t, n, d);
        this.refExpr(d - 1);
        this.w.i32Const(n).fc(FC.table_fill).u32(t);
        return;
      }
      case 2: {
        const u = this.anyTable();
        const n = rng.int(Math.min(min, this.tableMin(u)) + 1);
        this.tableRange(t, n, d);
        this.tableRange(u, n, d);
        this.w.i32Const(n).fc(FC.table_copy).u32(t).u32(u);
        return;
      }
      case 3: {
        if (!ctx.passiveElems.length) return this.tableStmt(d);
        const e = rng.pick(ctx.passiveElems);
        // the segment that may be dropped is only ever read with n = 0 (then its length does not matter)
        const n = e.index === ctx.dropElem ? 0 : rng.int(Math.min(min, e.len) + 1);
        this.tableRange(t, n, d);
        this.w.i32Const(e.index === ctx.dropElem ? 0 : rng.int(e.len - n + 1));
        this.w.i32Const(n).fc(FC.table_init).u32(e.index).u32(t);
        return;
      }
      default:
        if (ctx.dropElem >= 0) this.w.fc(FC.elem_drop).u32(ctx.dropElem);
        else this.w.op(OP.nop);
    }
  }

  /** memory.init from a passive data segment, or data.drop. */
  private memoryInit(d: number): void {
    const ctx = this.ctx, rng = this.rng;
    if (ctx.dropData >= 0 && rng.chance(0.2)) {
      this.w.fc(FC.data_drop).u32(ctx.dropData);
      return;
    }
    const x = rng.pick(ctx.passiveData);
    const n = x.index === ctx.dropData ? 0 : rng.chance(this.trapRate) ? x.len + 1 : rng.int(x.len + 1);
    this.bulkAddr(d);
    this.w.i32Const(x.index === ctx.dropData || n > x.len ? 0 : rng.int(x.len - n + 1));
    this.w.i32Const(n).fc(FC.memory_init).u32(x.index).u8(0);
  }

  /**
   * A branch condition. Arbitrary integers are almost always non-zero, so "fair" conditions are
   * mostly comparisons (about even odds), and "rare" ones (for exits from the function) are true
   * about one time in eight: ((x & 7) == k), k != 0.
   */
  private cond(d: number, kind: "fair" | "rare"): void {
    const rng = this.rng;
    if (kind === "rare") {
      this.expr("i32", d);
      this.w.i32Const(7).op(0x71).i32Const(rng.range(1, 7)).op(0x46); // and, eq
      return;
    }
    if (rng.chance(0.6)) {
      const ot = this.intType();
      const [op] = rng.pick(ot === "i32" ? I32_RELOPS : I64_RELOPS);
      this.expr(ot, d);
      this.expr(ot, d);
      this.w.op(op);
    } else this.expr("i32", d);
  }

  private binop(t: ValType, d: number): void {
    const rng = this.rng;
    if (isFloatType(t)) {
      const [op] = rng.pick(t === "f32" ? F32_BINOPS : F64_BINOPS);
      this.expr(t, d - 1);
      this.expr(t, d - 1);
      if (COPYSIGN.has(op)) this.canon(t); // the sign of an arithmetic NaN is the engine's choice
      this.w.op(op);
      return;
    }
    const [op] = rng.pick(t === "i32" ? I32_BINOPS : I64_BINOPS);
    const isShift = t === "i32" ? op >= 0x74 && op <= 0x78 : op >= 0x86 && op <= 0x8a;
    if (DIV_REM_OPS.has(op)) {
      if (rng.chance(this.trapRate * 2)) {
        // trap-prone operands: x / 0, INT_MIN / -1 (div_s traps, rem_s gives 0)
        if (rng.chance(0.5)) {
          this.expr(t, d - 1);
          this.constOf(t);
          if (t === "i32") this.w.i32Const(rng.pick([0, 0, -1, 1]));
          else this.w.i64Const(rng.pick([0n, 0n, -1n, 1n]));
          this.w.op(OP.drop);
        } else {
          if (t === "i32") this.w.i32Const(rng.chance(0.7) ? -0x80000000 : rng.i32());
          else this.w.i64Const(rng.chance(0.7) ? -0x8000000000000000n : rng.i64());
          this.expr(t, d - 1);
          this.w.op(OP.drop);
          if (t === "i32") this.w.i32Const(rng.pick([0, -1, -1]));
          else this.w.i64Const(rng.pick([0n, -1n, -1n]));
        }
      } else {
        this.expr(t, d - 1);
        this.expr(t, d - 1);
        this.safeDivisor(t);
      }
    } else if (isShift && rng.chance(0.5)) {
      this.expr(t, d - 1);
      const width = t === "i32" ? 32 : 64;
      const h = width / 2;
      const k = rng.pick([0, 1, h - 1, h, h + 1, width - 1, width, width + 1, width + h, 2 * width - 1, 2 * width, -1, -h, rng.int(256)]);
      if (t === "i32") this.w.i32Const(k);
      else this.w.i64Const(BigInt(k));
    } else {
      this.expr(t, d - 1);
      this.expr(t, d - 1);
    }
    this.w.op(op);
  }

  /** Replace the divisor on top of the stack by 3 when it is 0 or -1 (no trap possible). */
  private safeDivisor(t: ValType): void {
    const s = this.scratch[t];
    this.w.op(OP.local_tee).u32(s);
    if (t === "i32") {
      this.w.i32Const(3).op(OP.local_get).u32(s).i32Const(1).op(0x6a).i32Const(1).op(0x4b); // add, gt_u
    } else {
      this.w.i64Const(3n).op(OP.local_get).u32(s).i64Const(1n).op(0x7c).i64Const(1n).op(0x56); // add, gt_u
    }
    this.w.op(OP.select);
  }

  /**
   * Emit an address for an access of `width` bytes and return the static offset to use.
   * Mostly in bounds (the first 4 KiB, or just below the current end); sometimes not.
   */
  private address(width: number, d: number): number {
    const rng = this.rng;
    if (rng.chance(this.ctx.edgeRate)) {
      // boundary probe: the last valid position, or one byte past it
      const offset = rng.chance(0.5) ? 0 : rng.int(5);
      this.endMinus(width + offset - (rng.chance(0.5) ? 1 : 0));
      return offset;
    }
    if (rng.chance(this.trapRate * 1.5)) {
      switch (rng.weighted([1, 4, 1, 1, 1])) {
        case 0: // a random value: almost always out of bounds
          this.expr("i32", d - 1);
          return rng.int(16);
        case 1: {
          // straddling the current end, mostly by exactly one byte
          const offset = rng.int(3);
          this.endMinus(rng.chance(0.5) ? width + offset - 1 : rng.range(0, width + offset - 1));
          return offset;
        }
        case 2: // address + offset beyond 2^32 (must not wrap around)
          this.w.i32Const(0xffffffff - rng.int(64));
          return rng.range(1, 128);
        case 3: // offset past the initial memory (in bounds again if the memory grew)
          this.w.i32Const(rng.int(16));
          return Math.max(0, this.ctx.memMin * 65536 - rng.int(width + 4));
        default: // huge offset
          this.w.i32Const(rng.int(64));
          return 0xffffffff - rng.int(16);
      }
    }
    switch (rng.weighted([5, 3, 1.5])) {
      case 0: {
        const mask = (1 << rng.range(3, 12)) - 1;
        this.expr("i32", d - 1);
        this.w.i32Const(mask).op(0x71); // and
        return rng.chance(0.5) ? 0 : rng.int(64);
      }
      case 1:
        this.w.i32Const(rng.int(4096));
        return rng.chance(0.5) ? 0 : rng.int(64);
      default: {
        // just below the current end, often the very last `width` bytes
        const offset = rng.int(4);
        this.endMinus(width + offset + (rng.chance(0.5) ? 0 : rng.int(24)));
        return offset;
      }
    }
  }

  /** Push memory.size * 65536 - k. */
  private endMinus(k: number): void {
    this.w.op(OP.memory_size).u8(0).i32Const(16).op(0x74).i32Const(k).op(0x6b); // shl, sub
  }

  private load(t: ValType, d: number): void {
    const m = this.rng.pick(LOADS.filter((l) => l.type === t));
    const offset = this.address(m.width, d);
    this.w.op(m.op).memarg(this.align(m), offset);
  }

  private align(m: MemOp): number {
    return this.rng.int(Math.log2(m.width) + 1);
  }

  private store(d: number): void {
    const m = this.rng.pick(STORES.filter((s) => this.ctx.floats || !isFloatType(s.type)));
    const offset = this.address(m.width, d);
    this.expr(m.type, d - 1);
    if (isFloatType(m.type)) this.canon(m.type); // memory holds only canonical NaNs from arithmetic
    this.w.op(m.op).memarg(this.align(m), offset);
  }

  /**
   * A float instruction producing t: for a float t, a conversion from an integer or the other
   * float type; for an integer t, a float comparison (i32), a truncation (trapping: the operand is
   * then mostly in range; or saturating), or a reinterpretation of canonicalised bits.
   */
  private floatExpr(t: ValType, d: number): void {
    const rng = this.rng;
    if (isFloatType(t)) {
      const [op, from] = rng.pick(CONVERSIONS.filter(([o, , to]) => to === t && !REINTERPRETS.has(o)).concat(rng.chance(0.15) ? CONVERSIONS.filter(([o, , to]) => to === t && REINTERPRETS.has(o)) : []));
      this.expr(from, d - 1);
      this.w.op(op);
      return;
    }
    const choice = rng.weighted([t === "i32" ? 4 : 0, 3, 3, 2]);
    if (choice === 0) {
      const ft = rng.chance(0.5) ? "f32" : "f64";
      const [op] = rng.pick(ft === "f32" ? F32_RELOPS : F64_RELOPS);
      this.expr(ft, d - 1);
      this.expr(ft, d - 1);
      this.w.op(op);
    } else if (choice === 1) {
      const [op, from] = rng.pick(CONVERSIONS.filter(([o, , to]) => to === t && TRUNCS.has(o)));
      this.expr(from, d - 1);
      if (!rng.chance(this.trapRate * 4)) this.inRange(from as "f32" | "f64"); // else NaN and out-of-range values trap
      this.w.op(op);
    } else if (choice === 2) {
      const [sub, from] = rng.pick(TRUNC_SAT.filter(([, , to]) => to === t));
      this.expr(from, d - 1);
      this.w.fc(sub);
    } else {
      const [op, from] = rng.pick(CONVERSIONS.filter(([o, , to]) => to === t && REINTERPRETS.has(o)));
      this.expr(from, d - 1);
      this.canon(from as "f32" | "f64");
      this.w.op(op);
    }
  }

  /** Maps the float on the stack to a value every trapping truncation accepts: copysign(min(|x|, 100), x), NaN -> 1.5. */
  private inRange(t: "f32" | "f64"): void {
    const s = this.scratch[t];
    const c = (v: number) => (t === "f32" ? this.w.f32Const(BigInt(new Uint32Array(new Float32Array([v]).buffer)[0])) : this.w.f64Const(new BigUint64Array(new Float64Array([v]).buffer)[0]));
    const min = t === "f32" ? 0x96 : 0xa4, abs = t === "f32" ? 0x8b : 0x99, ne = t === "f32" ? 0x5c : 0x62;
    this.w.op(OP.local_set).u32(s);
    c(1.5);
    this.w.op(OP.local_get).u32(s).op(abs);
    c(100);
    this.w.op(min);
    this.w.op(OP.local_get).u32(s).op(OP.local_get).u32(s).op(ne).op(OP.select);
  }

  private growDelta(d: number): void {
    const rng = this.rng;
    const r = rng.int(20);
    if (r < 14) this.w.i32Const(rng.pick([0, 0, 1, 1, 1, 2, 3]));
    else if (r < 17) this.w.i32Const(rng.pick([0x10000, 0x7fffffff, -1, -0x80000000, 100, 0x8000]));
    else this.expr("i32", d - 1);
  }

  /** A length for memory.fill/copy. */
  private bulkLength(d: number): void {
    const rng = this.rng;
    if (rng.chance(this.trapRate)) {
      if (rng.chance(0.5)) this.w.i32Const(rng.pick([0x10000, 0x20000, -1, -0x80000000, 0x7fffffff]));
      else this.expr("i32", d - 1);
      return;
    }
    switch (rng.int(6)) {
      case 0:
        this.w.i32Const(0);
        return;
      case 1:
        this.expr("i32", d - 1);
        this.w.i32Const(0x7f).op(0x71);
        return;
      case 2:
        this.w.i32Const(rng.chance(0.7) ? rng.int(200) : rng.int(2000)); // many leaves
        return;
      default:
        this.w.i32Const(rng.int(40));
        return;
    }
  }

  /** A destination/source address for bulk operations; mostly a small constant. */
  private bulkAddr(d: number): number | null {
    const rng = this.rng;
    if (rng.chance(this.trapRate)) {
      if (rng.chance(0.5)) this.endMinus(rng.int(64));
      else this.expr("i32", d - 1);
      return null;
    }
    switch (rng.int(4)) {
      case 0:
        this.expr("i32", d - 1);
        this.w.i32Const(0xfff).op(0x71);
        return null;
      case 1:
        this.endMinus(rng.range(200, 400)); // near the end, in bounds for the usual lengths
        return null;
      default: {
        const a = rng.int(4096);
        this.w.i32Const(a);
        return a;
      }
    }
  }

  /**
   * A range that ends exactly at the current end of memory (or, rarely, one byte past it):
   * pushes the address and returns the constant length to use.
   */
  private atEnd(): number {
    const n = this.rng.chance(0.2) ? 0 : this.rng.range(1, 100);
    this.endMinus(this.rng.chance(this.trapRate * 5) ? n - 1 : n);
    return n;
  }

  private memoryFill(d: number): void {
    if (this.rng.chance(0.1)) {
      const n = this.atEnd();
      this.expr("i32", d - 1);
      this.w.i32Const(n).fc(FC.memory_fill).u8(0);
      return;
    }
    this.bulkAddr(d);
    this.expr("i32", d - 1);
    this.bulkLength(d);
    this.w.fc(FC.memory_fill).u8(0);
  }

  private memoryCopy(d: number): void {
    const rng = this.rng;
    if (rng.chance(0.12)) {
      // destination or source range ends at the end of memory
      const srcAtEnd = rng.chance(0.5);
      let n: number;
      if (srcAtEnd) {
        this.w.i32Const(rng.int(4096));
        n = this.atEnd();
      } else {
        n = this.atEnd();
        this.w.i32Const(rng.int(4096));
      }
      this.w.i32Const(n).fc(FC.memory_copy).u8(0).u8(0);
      return;
    }
    const dst = this.bulkAddr(d);
    if (dst !== null && rng.chance(0.6)) {
      // overlapping ranges, both directions, often close (chunks then overlap too)
      const dist = rng.chance(0.5) ? rng.range(-8, 8) : rng.chance(0.8) ? rng.range(-40, 40) : rng.range(-300, 300);
      this.w.i32Const(Math.max(0, dst + dist));
      if (rng.chance(0.5)) this.w.i32Const(rng.range(1, 160));
      else this.bulkLength(d);
    } else {
      this.bulkAddr(d);
      this.bulkLength(d);
    }
    this.w.fc(FC.memory_copy).u8(0).u8(0);
  }

  /** Block body: statements, then (unless they diverged, sometimes) the result. */
  private body(t: ValType | null, d: number): void {
    const diverged = this.stmts(this.rng.range(0, 3), d - 1);
    this.resultExpr(t, diverged, d - 1);
  }

  /**
   * The result of a block: after statements that diverged, usually omitted (the stack is
   * polymorphic). Always generated (then cut), so that the random stream does not depend on
   * whether reduction deleted the diverging statement.
   */
  private resultExpr(t: ValType | null, diverged: boolean, d: number): void {
    const omit = this.rng.chance(0.7);
    if (t === null) return;
    const start = this.w.length;
    this.expr(t, d);
    if (diverged && omit) this.w.truncate(start);
  }

  private block(t: ValType | null, d: number): void {
    this.w.op(OP.block).blockType(t);
    this.pushLabel({ types: t === null ? [] : [t] });
    this.body(t, d);
    this.popLabel();
    this.w.op(OP.end);
  }

  private ifElse(t: ValType | null, d: number): void {
    this.cond(d - 1, "fair");
    this.w.op(OP.if).blockType(t);
    this.pushLabel({ types: t === null ? [] : [t] });
    this.body(t, d);
    if (t !== null || this.rng.chance(0.5)) {
      this.w.op(OP.else);
      this.body(t, d);
    }
    this.popLabel();
    this.w.op(OP.end);
  }

  private loop(t: ValType | null, d: number): void {
    const bound = this.rng.range(1, 6);
    if (this.loopNest >= 3 || this.mult * bound > MAX_LOOP_MULT) {
      if (t === null) return this.block(null, d);
      return this.leaf(t);
    }
    const counter = this.newLocal("i32");
    this.w.i32Const(0).op(OP.local_set).u32(counter);
    this.w.op(OP.loop).blockType(t);
    this.flush();
    const savedMult = this.mult;
    this.mult *= bound;
    this.loopNest++;
    this.pushLabel({ types: [], loop: { counter, bound } });
    const diverged = this.stmts(this.rng.range(1, 4), d - 1);
    this.continueTo(this.labels.length - 1);
    this.resultExpr(t, diverged, d - 1);
    this.popLabel();
    this.loopNest--;
    this.flush();
    this.mult = savedMult;
    this.readable.i32.push(counter); // readable (never written) from now on
    this.w.op(OP.end);
  }

  /** counter += 1; if counter < bound, branch to the loop label. */
  private continueTo(labelIndex: number): void {
    const { counter, bound } = this.labels[labelIndex].loop!;
    this.w.op(OP.local_get).u32(counter).i32Const(1).op(0x6a).op(OP.local_tee).u32(counter);
    this.w.i32Const(bound).op(0x49).op(OP.br_if).u32(this.depthOf(labelIndex)); // lt_u
  }

  private args(params: ValType[], d: number): void {
    for (const p of params) this.expr(p, d - 1);
  }

  /**
   * A call producing t (or nothing when t is null). A callee with several results gives its first
   * one (t) and the others are dropped.
   */
  private call(t: ValType | null, d: number): void {
    const ctx = this.ctx;
    const rng = this.rng;
    const want = (f: number) => {
      const r = typeOf(ctx, f).results;
      return t === null ? true : r.length >= 1 && r[0] === t;
    };
    /** Drop what the caller does not use of f's results. */
    const dropExtra = (f: number) => this.drops(typeOf(ctx, f).results.length - (t === null ? 0 : 1));
    const plain: number[] = [];
    for (let f = this.index + 1; f < ctx.nFuncs; f++) if (want(f) && this.canAfford(ctx.costs[f])) plain.push(f);
    if (plain.length && rng.chance(0.85)) {
      const f = rng.pick(plain);
      this.args(typeOf(ctx, f).params, d);
      this.w.op(OP.call).u32(f);
      this.addCost(ctx.costs[f]);
      dropExtra(f);
      return;
    }
    const any: number[] = [];
    for (let f = 0; f < ctx.nFuncs; f++) if (want(f)) any.push(f);
    if (!any.length) {
      if (t !== null) this.leaf(t);
      return;
    }
    // fuelled call: any function, including this one (bounded recursion)
    const f = rng.pick(any);
    const ft = typeOf(ctx, f);
    const res = t === null ? null : t;
    this.w.op(OP.global_get).u32(ctx.fuel).op(OP.if).blockType(res);
    this.pushLabel({ types: res === null ? [] : [res] });
    this.w.op(OP.global_get).u32(ctx.fuel).i32Const(1).op(0x6b).op(OP.global_set).u32(ctx.fuel);
    this.args(ft.params, d);
    this.w.op(OP.call).u32(f);
    dropExtra(f);
    if (res !== null) {
      this.w.op(OP.else);
      this.expr(res, Math.min(d - 1, 2));
    }
    this.popLabel();
    this.w.op(OP.end);
  }

  private callIndirect(t: ValType | null, d: number): void {
    const ctx = this.ctx;
    const rng = this.rng;
    if (!this.canAfford(ctx.tableCost)) {
      if (t !== null) this.leaf(t);
      return;
    }
    const fits = (ty: FuncTypeSpec) => (t === null ? true : ty.results.length >= 1 && ty.results[0] === t);
    let typeIndex: number;
    let slot: number | null = null;
    const good: number[] = [];
    ctx.table.forEach((f, i) => {
      if (f !== null && fits(typeOf(ctx, f))) good.push(i);
    });
    if (good.length && !rng.chance(this.trapRate * 3)) {
      slot = rng.pick(good);
      const sig = typeOf(ctx, ctx.table[slot]!);
      // any type index with the same signature (duplicates in the type section must match)
      const same = ctx.types.map((ty, i) => (sameSig(ty, sig) ? i : -1)).filter((i) => i >= 0);
      typeIndex = rng.pick(same);
    } else {
      const cands = ctx.types.map((ty, i) => (fits(ty) ? i : -1)).filter((i) => i >= 0);
      if (!cands.length) {
        if (t !== null) this.leaf(t);
        return;
      }
      typeIndex = rng.pick(cands);
    }
    const ty = ctx.types[typeIndex];
    this.args(ty.params, d);
    if (slot !== null) this.w.i32Const(slot);
    else if (rng.chance(0.6)) this.w.i32Const(rng.int(ctx.tableSize + 3));
    else if (rng.chance(0.5)) this.w.i32Const(rng.pick([ctx.tableSize, -1, 0x7fffffff, 0x10000]));
    else this.expr("i32", d - 1);
    // through table 0 (its contents known here), or now and then a writable table (slots change at run time)
    const table = ctx.tables.length && rng.chance(0.1) ? rng.pick(ctx.tables).index : 0;
    if (table !== 0) this.w.fc(FC.table_size).u32(table).op(0x70); // the index modulo the table's size: rem_u
    this.w.op(OP.call_indirect).u32(typeIndex).u32(table);
    this.addCost(ctx.tableCost);
    this.drops(ty.results.length - (t === null ? 0 : 1));
  }

  /** An unconditional transfer (br, br_table, return, unreachable); the stack becomes polymorphic. */
  private diverge(d: number): void {
    const saved = this.diverging;
    this.diverging = true; // no diverging inside the operands of a diverging instruction
    try {
      this.divergeInner(d);
    } finally {
      this.diverging = saved;
    }
  }

  private divergeInner(d: number): void {
    const rng = this.rng;
    const r = rng.int(10);
    if (r < 4) {
      const l = rng.pick(this.targets("any"));
      this.exprs(this.labels[l].types, d - 1);
      this.w.op(OP.br).u32(this.depthOf(l));
    } else if (r < 7) {
      const ty = rng.pick<ValType | null>([null, "i32", "i64"]);
      let ls = this.targets(ty);
      if (!ls.length) ls = this.targetsLike(this.labels[0].types); // the function label always exists
      this.exprs(this.labels[ls[0]].types, d - 1);
      const n = rng.chance(0.1) ? rng.range(5, 40) : rng.range(0, 4);
      if (rng.chance(0.8)) this.w.i32Const(rng.range(-1, n + 2));
      else this.expr("i32", d - 1);
      this.w.op(OP.br_table).u32(n);
      for (let i = 0; i <= n; i++) this.w.u32(this.depthOf(rng.pick(ls)));
    } else if (r < 9 || !rng.chance(this.trapRate * 5)) {
      if (this.results.length > 1 && rng.chance(0.3)) this.expr(this.randType(), d - 1); // a value below the results: dropped by the return
      this.exprs(this.results, d - 1);
      this.w.op(OP.return);
    } else {
      this.w.op(OP.unreachable);
    }
  }

  // ---- statements -----------------------------------------------------------------------

  /** Emit n statements; returns true when the last one diverged (code after it is dead). */
  stmts(n: number, d: number): boolean {
    for (let i = 0; i < n; i++) {
      if (this.big) return false;
      if (this.stmt(d, i === n - 1)) return true;
    }
    return false;
  }

  /** Emit one statement (stack-neutral). Returns true if it diverged unconditionally. */
  private stmt(d: number, last: boolean): boolean {
    const id = this.ctx.nextStmt++;
    const start = this.w.length;
    const diverged = this.stmtInner(d, last);
    if (this.ctx.dropStmts?.has(id)) {
      this.w.truncate(start);
      return false;
    }
    return diverged;
  }

  private stmtInner(d: number, last: boolean): boolean {
    const rng = this.rng;
    const ctx = this.ctx;
    const inLoop = this.labels.some((l) => l.loop);
    const mutGlobals = this.mutGlobals;
    const canIndirect = this.index < ctx.indirectFrom && ctx.tableSize > 0;
    const weights = [
      10, // 0 local.set
      mutGlobals.length ? 5 : 0, // 1 global.set
      12, // 2 store
      4, // 3 drop
      3, // 4 memory.fill
      3, // 5 memory.copy
      d > 0 ? 4 : 0, // 6 block
      d > 0 ? 4 : 0, // 7 if
      d > 0 ? 3 : 0, // 8 loop
      3, // 9 br_if
      2, // 10 conditional return
      4, // 11 call
      canIndirect ? 2 : 0, // 12 call_indirect
      inLoop ? 3 : 0, // 13 guarded continue
      1, // 14 nop
      last ? 2 : 0, // 15 unconditional transfer
      8 * this.trapRate, // 16 conditional unreachable
      ctx.tables.length ? 4 : 0, // 17 table.set/fill/copy/init, elem.drop
      ctx.passiveData.length ? 2 : 0, // 18 memory.init, data.drop
    ];
    const dd = Math.max(d, 1);
    switch (rng.weighted(weights)) {
      case 0: {
        let t = this.randType();
        if (!this.user[t].length) t = t === "i32" ? "i64" : "i32";
        if (!this.user[t].length) {
          this.expr(t, dd);
          this.w.op(OP.drop);
          return false;
        }
        this.expr(t, dd);
        this.w.op(OP.local_set).u32(rng.pick(this.user[t]));
        return false;
      }
      case 1: {
        const g = rng.pick(mutGlobals);
        this.expr(ctx.globals[g].type, dd);
        this.w.op(OP.global_set).u32(g);
        return false;
      }
      case 2:
        this.store(dd);
        return false;
      case 3:
        this.expr(this.randType(), dd);
        this.w.op(OP.drop);
        return false;
      case 4:
        this.memoryFill(dd);
        return false;
      case 5:
        this.memoryCopy(dd);
        return false;
      case 6:
        this.block(null, d);
        return false;
      case 7:
        this.ifElse(null, d);
        return false;
      case 8:
        this.loop(null, d);
        return false;
      case 9: {
        const l = rng.pick(this.targets("any"));
        const lt = this.labels[l].types;
        this.exprs(lt, dd);
        this.cond(dd, l === 0 ? "rare" : "fair");
        this.w.op(OP.br_if).u32(this.depthOf(l));
        this.drops(lt.length);
        return false;
      }
      case 10: {
        this.cond(dd, "rare");
        this.w.op(OP.if).blockType(null);
        this.pushLabel({ types: [] });
        this.exprs(this.results, dd - 1);
        this.w.op(OP.return);
        this.popLabel();
        this.w.op(OP.end);
        return false;
      }
      case 11:
        this.call(null, dd);
        return false;
      case 12:
        this.callIndirect(null, dd);
        return false;
      case 13: {
        const loops = this.labels.map((l, i) => (l.loop ? i : -1)).filter((i) => i >= 0);
        this.continueTo(rng.pick(loops));
        return false;
      }
      case 14:
        this.w.op(OP.nop);
        return false;
      case 15:
        this.diverge(dd);
        return true;
      case 16:
        this.cond(dd, "fair");
        this.w.op(OP.if).blockType(null).op(OP.unreachable).op(OP.end);
        return false;
      case 17:
        this.tableStmt(dd);
        return false;
      case 18:
        this.memoryInit(dd);
        return false;
    }
    return false;
  }

  /** The whole function body, ending with `end`. */
  generate(): void {
    const d = this.rng.range(2, 5);
    const diverged = this.stmts(this.rng.range(1, 8), d);
    // the results: like resultExpr, always generated, cut after a diverging statement
    const omit = this.rng.chance(0.7);
    const start = this.w.length;
    this.exprs(this.results, d);
    if (diverged && omit) this.w.truncate(start);
    this.w.op(OP.end);
  }
}

function randomSig(rng: Rng, floats: boolean): FuncTypeSpec {
  const params: ValType[] = [];
  const n = rng.weighted([3, 4, 3, 2, 1]);
  const type = (): ValType => (floats && rng.chance(0.3) ? (rng.chance(0.5) ? "f32" : "f64") : rng.chance(0.55) ? "i32" : "i64");
  for (let i = 0; i < n; i++) params.push(type());
  const r = rng.weighted([2, 5, 3, 2]);
  const one = (): ValType => (floats && rng.chance(0.4) ? (rng.chance(0.5) ? "f32" : "f64") : rng.chance(0.5) ? "i32" : "i64");
  return { params, results: r === 0 ? [] : r === 3 ? [one(), one()] : [r === 1 ? "i32" : one()] };
}

export function generateModule(seed: number, opts: GenOptions = {}): GeneratedModule {
  const rng = new Rng(seed);
  const trapRate = rng.pick([0.003, 0.01, 0.03, 0.06]);
  // About one module in seven probes the end of memory often (each call then likely ends in a trap).
  const edgeRate = rng.chance(0.15) ? 0.25 : 0.005;
  // Most modules use floats; the others stay integer-only.
  const floats = rng.chance(0.7);

  // Types: a few distinct signatures plus duplicates (call_indirect must compare structurally).
  const types: FuncTypeSpec[] = [];
  const nSigs = rng.range(2, 5);
  while (types.length < nSigs) {
    const s = randomSig(rng, floats);
    if (!types.some((t) => sameSig(t, s))) types.push(s);
  }
  const nDup = rng.int(3);
  for (let i = 0; i < nDup; i++) {
    const s = rng.pick(types);
    types.splice(rng.int(types.length + 1), 0, { params: [...s.params], results: [...s.results] });
  }

  const nFuncs = opts.functions ?? rng.range(3, 7);
  const funcTypes: number[] = [];
  for (let i = 0; i < nFuncs; i++) funcTypes.push(rng.int(types.length));

  // Globals: mutable and immutable i32/i64, plus the fuel counter. All exported.
  const globals: GlobalSpec[] = [];
  const nGlobals = rng.range(1, 6);
  for (let i = 0; i < nGlobals; i++) {
    const type: ValType = floats && rng.chance(0.35) ? (rng.chance(0.5) ? "f32" : "f64") : rng.chance(0.5) ? "i32" : "i64";
    globals.push({ type, mutable: rng.chance(0.8), init: type === "i32" ? rng.i32() : type === "i64" ? rng.i64() : rng.float(type) });
  }
  const fuel = rng.int(globals.length + 1);
  globals.splice(fuel, 0, { type: "i32", mutable: true, init: BigInt(rng.pick([3, 12, 12, 40])) });

  // Rarely an empty memory (every access traps until memory.grow).
  const memMin = rng.chance(0.04) ? 0 : rng.range(1, 4);
  const memMax = Math.max(1, memMin + rng.weighted([2, 3, 2, 1]));

  // Table: only upper-half functions, some slots null.
  const indirectFrom = Math.ceil(nFuncs / 2);
  const tableSize = indirectFrom < nFuncs && rng.chance(0.9) ? rng.range(1, 10) : 0;
  const table: (number | null)[] = [];
  for (let i = 0; i < tableSize; i++) table.push(rng.chance(0.2) ? null : rng.range(indirectFrom, nFuncs - 1));
  const upper = (): number | null => (indirectFrom < nFuncs && rng.chance(0.8) ? rng.range(indirectFrom, nFuncs - 1) : null);

  // Writable tables 1, 2 (with table 0 only), passive element segments (upper-half functions and
  // nulls; one of them may be dropped) and a declarative one naming every upper-half function for
  // ref.func: element segments 0.. are these, table 0's active ones follow.
  const tables: TableCtx[] = [];
  const nExtra = tableSize > 0 ? rng.weighted([3, 3, 2]) : 0;
  for (let i = 1; i <= nExtra; i++) {
    const min = rng.range(1, 8);
    tables.push({ index: i, min, max: rng.chance(0.5) ? min + rng.int(10) : undefined });
  }
  const elems: ElemSpec[] = [];
  const passiveElems: { index: number; len: number }[] = [];
  for (let i = rng.int(3); i > 0 && nExtra > 0; i--) {
    passiveElems.push({ index: elems.length, len: 0 });
    elems.push({ mode: "passive", table: 0, offset: 0, funcs: Array.from({ length: rng.int(7) }, upper) });
    passiveElems[passiveElems.length - 1].len = elems[elems.length - 1].funcs.length;
  }
  const dropElem = passiveElems.length > 1 ? passiveElems[passiveElems.length - 1].index : -1;
  if (indirectFrom < nFuncs) elems.push({ mode: "declarative", table: 0, offset: 0, funcs: Array.from({ length: nFuncs - indirectFrom }, (_, k) => indirectFrom + k) });
  for (const t of tables) {
    if (rng.chance(0.7)) {
      const len = rng.int(t.min + 1);
      elems.push({ mode: "active", table: t.index, offset: rng.int(t.min - len + 1), funcs: Array.from({ length: len }, upper) });
    }
  }
  // Passive data segments (data segments 0..; the active ones follow), one of them may be dropped.
  const data: { offset: number | null; bytes: Uint8Array }[] = [];
  const passiveData: { index: number; len: number }[] = [];
  for (let i = rng.weighted([3, 3, 2]); i > 0; i--) {
    const bytes = Uint8Array.from({ length: rng.int(90) }, () => rng.int(256));
    passiveData.push({ index: data.length, len: bytes.length });
    data.push({ offset: null, bytes });
  }
  const dropData = passiveData.length > 1 ? passiveData[passiveData.length - 1].index : -1;

  const ctx: ModuleCtx = {
    rng,
    floats,
    trapRate,
    edgeRate,
    types,
    funcTypes,
    globals,
    fuel,
    memMin,
    tableSize,
    table,
    indirectFrom,
    tables,
    passiveElems,
    dropElem,
    passiveData,
    dropData,
    blockTypes: new Map(),
    tableCost: 0,
    costs: new Array(nFuncs).fill(0),
    nFuncs,
    nextStmt: 0,
    nextExpr: 0,
    dropStmts: opts.dropStmts,
    zeroExprs: opts.zeroExprs,
  };

  // Bodies, highest index first, so callees' costs are known.
  const bodies: { locals: ValType[]; body: Uint8Array; nParams: number; ops: Map<string, number> }[] = [];
  for (let f = nFuncs - 1; f >= 0; f--) {
    if (f < indirectFrom && ctx.tableCost === 0) {
      ctx.tableCost = Math.max(1, ...table.map((g) => (g === null ? 1 : ctx.costs[g])));
    }
    const g = new FuncGen(ctx, f);
    g.generate();
    ctx.costs[f] = g.cost();
    bodies[f] = { locals: g.locals.slice(g.nParams), body: g.w.finish(), nParams: g.nParams, ops: g.w.ops };
  }

  // Optional start function: trap-free stores and global writes.
  let start: number | undefined;
  const funcSpecs = bodies.map((b, i) => ({ typeIndex: funcTypes[i], locals: b.locals, body: b.body }));
  const opcodes = new Map<string, number>();
  const addOps = (ops: Map<string, number>) => {
    for (const [k, v] of ops) opcodes.set(k, (opcodes.get(k) ?? 0) + v);
  };
  bodies.forEach((b, i) => {
    if (opts.stubFunctions?.has(i)) {
      const w = new CodeWriter();
      for (const r of types[funcTypes[i]].results) w.constOf(r, 0n);
      w.op(OP.end);
      funcSpecs[i] = { typeIndex: funcTypes[i], locals: [], body: w.finish() };
      addOps(w.ops);
    } else addOps(b.ops);
  });
  if (rng.chance(0.3)) {
    let ti = types.findIndex((t) => t.params.length === 0 && t.results.length === 0);
    if (ti < 0) {
      types.push({ params: [], results: [] });
      ti = types.length - 1;
    }
    const w = new CodeWriter();
    const n = rng.range(1, 4);
    for (let i = 0; i < n; i++) {
      const m = rng.pick(STORES.filter((s) => floats || !isFloatType(s.type)));
      w.i32Const(rng.int(4096));
      if (m.type === "i32") w.i32Const(rng.i32());
      else if (m.type === "i64") w.i64Const(rng.i64());
      else w.constOf(m.type, rng.float(m.type)); // constants: bits stored as they are
      w.op(m.op).memarg(0, rng.int(32));
    }
    globals.forEach((g, i) => {
      if (g.mutable && i !== fuel && rng.chance(0.3)) {
        if (g.type === "i32") w.i32Const(rng.i32());
        else if (g.type === "i64") w.i64Const(rng.i64());
        else w.constOf(g.type, rng.float(g.type));
        w.op(OP.global_set).u32(i);
      }
    });
    if (rng.chance(0.3)) {
      // call a random function: a trap here is a trap of the instantiation
      const f = rng.int(nFuncs);
      const ft = types[funcTypes[f]];
      for (const p of ft.params) {
        if (p === "i32") w.i32Const(rng.i32());
        else if (p === "i64") w.i64Const(rng.i64());
        else w.constOf(p, rng.float(p));
      }
      w.op(OP.call).u32(f);
      for (let k = 0; k < ft.results.length; k++) w.op(OP.drop);
    }
    w.op(OP.end);
    start = funcSpecs.length;
    funcSpecs.push({ typeIndex: ti, locals: [], body: w.finish() });
    addOps(w.ops);
  }

  // Active data segments: random bytes in the low window and near the end of the initial memory.
  const nData = memMin === 0 ? 0 : rng.range(0, 4);
  for (let i = 0; i < nData; i++) {
    const len = rng.range(0, 64);
    const bytes = new Uint8Array(len);
    for (let j = 0; j < len; j++) bytes[j] = rng.chance(0.3) ? rng.pick([0, 0xff, 0x80, 0x7f]) : rng.int(256);
    const offset = rng.chance(0.8) ? rng.int(4096) : memMin * 65536 - len - rng.int(16);
    data.push({ offset, bytes });
    if (rng.chance(0.2)) {
      // a later segment overlapping this one: segments apply in order
      const off2 = Math.max(0, offset + rng.range(-(len >> 1), len >> 1));
      const len2 = Math.min(rng.int(len + 1), memMin * 65536 - off2);
      data.push({ offset: off2, bytes: bytes.map(() => rng.int(256)).subarray(0, len2) });
    }
  }

  // Table 0's active element segments: its contents (null slots are simply not covered by a segment).
  for (let i = 0; i < table.length; ) {
    if (table[i] === null) {
      i++;
      continue;
    }
    let j = i;
    const funcs: number[] = [];
    while (j < table.length && table[j] !== null && (funcs.length === 0 || rng.chance(0.7))) funcs.push(table[j++]!);
    if (rng.chance(0.2)) {
      // an earlier decoy segment over the same slots, overwritten by the real one
      elems.push({ mode: "active", table: 0, offset: i, funcs: funcs.map(() => rng.int(nFuncs)) });
    }
    elems.push({ mode: "active", table: 0, offset: i, funcs });
    i = j;
  }

  const exports: ExportSpec[] = [];
  const funcs: ExportedFunc[] = [];
  for (let f = 0; f < nFuncs; f++) {
    const name = `f${f}`;
    exports.push({ name, kind: "func", index: f });
    funcs.push({ name, index: f, params: types[funcTypes[f]].params, results: types[funcTypes[f]].results });
  }
  const globalExports = globals.map((g, i) => ({ name: i === fuel ? "fuel" : `g${i}`, type: g.type }));
  globalExports.forEach((g, i) => exports.push({ name: g.name, kind: "global", index: i }));
  exports.push({ name: "mem", kind: "memory", index: 0 });
  if (tableSize > 0) exports.push({ name: "tbl", kind: "table", index: 0 });

  const spec: ModuleSpec = {
    types,
    funcs: funcSpecs,
    tables: [...(tableSize > 0 ? [{ min: tableSize, max: rng.chance(0.5) ? tableSize + rng.int(4) : undefined }] : []), ...tables.map((t) => ({ min: t.min, max: t.max }))],
    memory: { min: memMin, max: memMax },
    globals,
    exports,
    start,
    elems,
    data,
    dataCount: data.length > 0,
  };
  return {
    seed,
    bytes: encodeModule(spec),
    spec,
    funcs,
    globals: globalExports,
    memory: "mem",
    opcodes,
    trapRate,
    stmtIds: ctx.nextStmt,
    exprIds: ctx.nextExpr,
  };
}

/** Seeded argument vectors for a function's parameters (integers as signed bigints, floats as bits, never NaN). */
export function argSets(seed: number, fn: ExportedFunc, count: number): bigint[][] {
  const rng = new Rng((seed ^ Math.imul(fn.index + 1, 0x9e3779b1)) >>> 0);
  const out: bigint[][] = [];
  for (let i = 0; i < count; i++) out.push(fn.params.map((p) => (p === "i32" ? rng.i32() : p === "i64" ? rng.i64() : rng.float(p, true))));
  return out;
}
