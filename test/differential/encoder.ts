/**
 * A small WebAssembly binary encoder for the differential tests: LEB128, sections, and an
 * instruction writer that records which opcodes it emitted (so the random test can assert its
 * coverage). Value types are i32, i64, f32 and f64 (references appear only as operands of the table
 * and reference instructions); function types may have several results, block types may be type
 * indices; several funcref tables, active/passive/declarative element segments, active/passive data
 * segments (with the data count section).
 *
 * Deliberately independent of interpreter/: the point of the differential test is that nothing of
 * the implementation under test is used to build its inputs.
 */

export type ValType = "i32" | "i64" | "f32" | "f64";

export const VALTYPE_BYTE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };
export const isFloatType = (t: ValType): t is "f32" | "f64" => t === "f32" || t === "f64";
const FUNCREF = 0x70;
const BLOCKTYPE_EMPTY = 0x40;

export class ByteWriter {
  protected buf: Uint8Array = new Uint8Array(256);
  length = 0;
  /** Bytes ever written, truncated ones included (never decreases). */
  written = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(b: number): this {
    this.ensure(1);
    this.buf[this.length++] = b & 0xff;
    this.written++;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    this.ensure(bs.length);
    this.buf.set(bs, this.length);
    this.length += bs.length;
    this.written += bs.length;
    return this;
  }

  /** Unsigned LEB128 of a u32. */
  u32(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`u32 out of range: ${n}`);
    do {
      let byte = n & 0x7f;
      n = Math.floor(n / 128);
      if (n !== 0) byte |= 0x80;
      this.u8(byte);
    } while (n !== 0);
    return this;
  }

  /** Signed LEB128 of an i32 (accepts any int in [-2^31, 2^32); values >= 2^31 are reinterpreted). */
  s32(n: number): this {
    n |= 0;
    for (;;) {
      const byte = n & 0x7f;
      n >>= 7;
      if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return this.u8(byte);
      this.u8(byte | 0x80);
    }
  }

  /** Signed LEB128 of an i64 (any bigint; reduced modulo 2^64 and read as signed). */
  s64(n: bigint): this {
    return this.sleb(BigInt.asIntN(64, n));
  }

  private sleb(v: bigint): this {
    for (;;) {
      const byte = Number(v & 0x7fn);
      v >>= 7n; // arithmetic shift on bigint
      const signBit = (byte & 0x40) !== 0;
      if ((v === 0n && !signBit) || (v === -1n && signBit)) {
        this.u8(byte);
        return this;
      }
      this.u8(byte | 0x80);
    }
  }

  name(s: string): this {
    const enc = new TextEncoder().encode(s);
    this.u32(enc.length);
    return this.bytes(enc);
  }

  /** Length-prefixed vector written by `fn`. */
  vec<T>(items: readonly T[], fn: (w: ByteWriter, item: T) => void): this {
    this.u32(items.length);
    for (const it of items) fn(this, it);
    return this;
  }

  /** Drop everything written after byte `n`. */
  truncate(n: number): void {
    this.length = Math.min(n, this.length);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// ---------------------------------------------------------------------------------------------
// Opcodes (integer subset)

export const OP = {
  unreachable: 0x00,
  nop: 0x01,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  call_indirect: 0x11,
  drop: 0x1a,
  select: 0x1b,
  select_t: 0x1c,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  table_get: 0x25,
  table_set: 0x26,
  memory_size: 0x3f,
  memory_grow: 0x40,
  i32_const: 0x41,
  i64_const: 0x42,
  f32_const: 0x43,
  f64_const: 0x44,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  ref_null: 0xd0,
  ref_is_null: 0xd1,
  ref_func: 0xd2,
  prefix_fc: 0xfc,
} as const;

/** 0xFC sub-opcodes (0..7 are the saturating float-to-int conversions: TRUNC_SAT). */
export const FC = {
  memory_init: 8,
  data_drop: 9,
  memory_copy: 10,
  memory_fill: 11,
  table_init: 12,
  elem_drop: 13,
  table_copy: 14,
  table_grow: 15,
  table_size: 16,
  table_fill: 17,
} as const;

export interface MemOp {
  op: number;
  name: string;
  type: ValType;
  width: number; // bytes accessed
}

export const LOADS: MemOp[] = [
  { op: 0x28, name: "i32.load", type: "i32", width: 4 },
  { op: 0x29, name: "i64.load", type: "i64", width: 8 },
  { op: 0x2c, name: "i32.load8_s", type: "i32", width: 1 },
  { op: 0x2d, name: "i32.load8_u", type: "i32", width: 1 },
  { op: 0x2e, name: "i32.load16_s", type: "i32", width: 2 },
  { op: 0x2f, name: "i32.load16_u", type: "i32", width: 2 },
  { op: 0x30, name: "i64.load8_s", type: "i64", width: 1 },
  { op: 0x31, name: "i64.load8_u", type: "i64", width: 1 },
  { op: 0x32, name: "i64.load16_s", type: "i64", width: 2 },
  { op: 0x33, name: "i64.load16_u", type: "i64", width: 2 },
  { op: 0x34, name: "i64.load32_s", type: "i64", width: 4 },
  { op: 0x35, name: "i64.load32_u", type: "i64", width: 4 },
  { op: 0x2a, name: "f32.load", type: "f32", width: 4 },
  { op: 0x2b, name: "f64.load", type: "f64", width: 8 },
];

export const STORES: MemOp[] = [
  { op: 0x36, name: "i32.store", type: "i32", width: 4 },
  { op: 0x37, name: "i64.store", type: "i64", width: 8 },
  { op: 0x3a, name: "i32.store8", type: "i32", width: 1 },
  { op: 0x3b, name: "i32.store16", type: "i32", width: 2 },
  { op: 0x3c, name: "i64.store8", type: "i64", width: 1 },
  { op: 0x3d, name: "i64.store16", type: "i64", width: 2 },
  { op: 0x3e, name: "i64.store32", type: "i64", width: 4 },
  { op: 0x38, name: "f32.store", type: "f32", width: 4 },
  { op: 0x39, name: "f64.store", type: "f64", width: 8 },
];

/** [opcode, name] by operand type. Unary ops keep the operand type unless noted. */
export const I32_UNOPS: [number, string][] = [
  [0x67, "i32.clz"],
  [0x68, "i32.ctz"],
  [0x69, "i32.popcnt"],
  [0xc0, "i32.extend8_s"],
  [0xc1, "i32.extend16_s"],
];
export const I64_UNOPS: [number, string][] = [
  [0x79, "i64.clz"],
  [0x7a, "i64.ctz"],
  [0x7b, "i64.popcnt"],
  [0xc2, "i64.extend8_s"],
  [0xc3, "i64.extend16_s"],
  [0xc4, "i64.extend32_s"],
];
export const I32_BINOPS: [number, string][] = [
  [0x6a, "i32.add"],
  [0x6b, "i32.sub"],
  [0x6c, "i32.mul"],
  [0x6d, "i32.div_s"],
  [0x6e, "i32.div_u"],
  [0x6f, "i32.rem_s"],
  [0x70, "i32.rem_u"],
  [0x71, "i32.and"],
  [0x72, "i32.or"],
  [0x73, "i32.xor"],
  [0x74, "i32.shl"],
  [0x75, "i32.shr_s"],
  [0x76, "i32.shr_u"],
  [0x77, "i32.rotl"],
  [0x78, "i32.rotr"],
];
export const I64_BINOPS: [number, string][] = [
  [0x7c, "i64.add"],
  [0x7d, "i64.sub"],
  [0x7e, "i64.mul"],
  [0x7f, "i64.div_s"],
  [0x80, "i64.div_u"],
  [0x81, "i64.rem_s"],
  [0x82, "i64.rem_u"],
  [0x83, "i64.and"],
  [0x84, "i64.or"],
  [0x85, "i64.xor"],
  [0x86, "i64.shl"],
  [0x87, "i64.shr_s"],
  [0x88, "i64.shr_u"],
  [0x89, "i64.rotl"],
  [0x8a, "i64.rotr"],
];
/** Comparisons: result i32. eqz is unary. */
export const I32_RELOPS: [number, string][] = [
  [0x46, "i32.eq"],
  [0x47, "i32.ne"],
  [0x48, "i32.lt_s"],
  [0x49, "i32.lt_u"],
  [0x4a, "i32.gt_s"],
  [0x4b, "i32.gt_u"],
  [0x4c, "i32.le_s"],
  [0x4d, "i32.le_u"],
  [0x4e, "i32.ge_s"],
  [0x4f, "i32.ge_u"],
];
export const I64_RELOPS: [number, string][] = [
  [0x51, "i64.eq"],
  [0x52, "i64.ne"],
  [0x53, "i64.lt_s"],
  [0x54, "i64.lt_u"],
  [0x55, "i64.gt_s"],
  [0x56, "i64.gt_u"],
  [0x57, "i64.le_s"],
  [0x58, "i64.le_u"],
  [0x59, "i64.ge_s"],
  [0x5a, "i64.ge_u"],
];
// Floats
export const F32_UNOPS: [number, string][] = [[0x8b, "f32.abs"], [0x8c, "f32.neg"], [0x8d, "f32.ceil"], [0x8e, "f32.floor"], [0x8f, "f32.trunc"], [0x90, "f32.nearest"], [0x91, "f32.sqrt"]];
export const F64_UNOPS: [number, string][] = [[0x99, "f64.abs"], [0x9a, "f64.neg"], [0x9b, "f64.ceil"], [0x9c, "f64.floor"], [0x9d, "f64.trunc"], [0x9e, "f64.nearest"], [0x9f, "f64.sqrt"]];
export const F32_BINOPS: [number, string][] = [[0x92, "f32.add"], [0x93, "f32.sub"], [0x94, "f32.mul"], [0x95, "f32.div"], [0x96, "f32.min"], [0x97, "f32.max"], [0x98, "f32.copysign"]];
export const F64_BINOPS: [number, string][] = [[0xa0, "f64.add"], [0xa1, "f64.sub"], [0xa2, "f64.mul"], [0xa3, "f64.div"], [0xa4, "f64.min"], [0xa5, "f64.max"], [0xa6, "f64.copysign"]];
export const F32_RELOPS: [number, string][] = [[0x5b, "f32.eq"], [0x5c, "f32.ne"], [0x5d, "f32.lt"], [0x5e, "f32.gt"], [0x5f, "f32.le"], [0x60, "f32.ge"]];
export const F64_RELOPS: [number, string][] = [[0x61, "f64.eq"], [0x62, "f64.ne"], [0x63, "f64.lt"], [0x64, "f64.gt"], [0x65, "f64.le"], [0x66, "f64.ge"]];
export const COPYSIGN = new Set([0x98, 0xa6]);
/** Conversions [opcode, from, to] (trunc: the trapping ones; reinterpretations included). */
export const CONVERSIONS: [number, ValType, ValType][] = [
  [0xa8, "f32", "i32"], [0xa9, "f32", "i32"], [0xaa, "f64", "i32"], [0xab, "f64", "i32"],
  [0xae, "f32", "i64"], [0xaf, "f32", "i64"], [0xb0, "f64", "i64"], [0xb1, "f64", "i64"],
  [0xb2, "i32", "f32"], [0xb3, "i32", "f32"], [0xb4, "i64", "f32"], [0xb5, "i64", "f32"], [0xb6, "f64", "f32"],
  [0xb7, "i32", "f64"], [0xb8, "i32", "f64"], [0xb9, "i64", "f64"], [0xba, "i64", "f64"], [0xbb, "f32", "f64"],
  [0xbc, "f32", "i32"], [0xbd, "f64", "i64"], [0xbe, "i32", "f32"], [0xbf, "i64", "f64"],
];
export const TRUNCS = new Set([0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1]);
export const REINTERPRETS = new Set([0xbc, 0xbd, 0xbe, 0xbf]);
/** Saturating conversions: 0xFC sub-opcode, from, to. */
export const TRUNC_SAT: [number, ValType, ValType][] = [
  [0, "f32", "i32"], [1, "f32", "i32"], [2, "f64", "i32"], [3, "f64", "i32"],
  [4, "f32", "i64"], [5, "f32", "i64"], [6, "f64", "i64"], [7, "f64", "i64"],
];

export const I32_EQZ = 0x45;
export const I64_EQZ = 0x50;
export const DIV_REM_OPS = new Set([0x6d, 0x6e, 0x6f, 0x70, 0x7f, 0x80, 0x81, 0x82]);

/** Every opcode key (see CodeWriter.ops) that the generator can emit (the machine supports them all). */
export function allOpcodeKeys(): string[] {
  const keys: number[] = [
    ...Object.values(OP).filter((b) => b !== OP.prefix_fc),
    I32_EQZ,
    I64_EQZ,
    ...[...LOADS, ...STORES].map((m) => m.op),
    ...[...I32_UNOPS, ...I64_UNOPS, ...I32_BINOPS, ...I64_BINOPS, ...I32_RELOPS, ...I64_RELOPS].map(([o]) => o),
    ...[...F32_UNOPS, ...F64_UNOPS, ...F32_BINOPS, ...F64_BINOPS, ...F32_RELOPS, ...F64_RELOPS].map(([o]) => o),
    ...CONVERSIONS.map(([o]) => o),
  ];
  return [...new Set(keys.map(opKey)), ...Object.values(FC).map(fcKey), ...TRUNC_SAT.map(([sub]) => fcKey(sub))].sort();
}

export function opKey(op: number): string {
  return "0x" + op.toString(16).padStart(2, "0");
}
export function fcKey(sub: number): string {
  return "0xfc_" + sub;
}

/**
 * Writes one function body's instructions. Every opcode goes through `op`/`fc` so it is counted.
 */
export class CodeWriter extends ByteWriter {
  private readonly counts = new Uint32Array(256);
  private readonly fcCounts = new Uint32Array(32);

  op(op: number): this {
    this.counts[op]++;
    return this.u8(op);
  }

  fc(sub: number): this {
    this.fcCounts[sub]++;
    return this.u8(OP.prefix_fc).u32(sub);
  }

  /** opcode key (opKey/fcKey) -> number of times emitted. */
  get ops(): Map<string, number> {
    const m = new Map<string, number>();
    this.counts.forEach((n, op) => n && op !== OP.prefix_fc && m.set(opKey(op), n));
    this.fcCounts.forEach((n, sub) => n && m.set(fcKey(sub), n));
    return m;
  }

  blockType(t: ValType | null): this {
    return this.u8(t === null ? BLOCKTYPE_EMPTY : VALTYPE_BYTE[t]);
  }

  /** A block type given by a type index (params and several results). */
  blockTypeIndex(typeIndex: number): this {
    return this.s32(typeIndex);
  }

  i32Const(v: number | bigint): this {
    return this.op(OP.i32_const).s32(typeof v === "bigint" ? Number(BigInt.asIntN(32, v)) : v);
  }

  i64Const(v: bigint): this {
    return this.op(OP.i64_const).s64(v);
  }

  /** f32.const / f64.const of raw bits (little-endian; NaN payloads exact). */
  f32Const(bits: bigint): this {
    this.op(OP.f32_const);
    for (let i = 0n; i < 4n; i++) this.u8(Number((bits >> (8n * i)) & 0xffn));
    return this;
  }

  f64Const(bits: bigint): this {
    this.op(OP.f64_const);
    for (let i = 0n; i < 8n; i++) this.u8(Number((bits >> (8n * i)) & 0xffn));
    return this;
  }

  /** A constant of any type (floats: raw bits). */
  constOf(t: ValType, v: bigint): this {
    return t === "i32" ? this.i32Const(v) : t === "i64" ? this.i64Const(v) : t === "f32" ? this.f32Const(v) : this.f64Const(v);
  }

  memarg(align: number, offset: number): this {
    return this.u32(align).u32(offset);
  }
}

// ---------------------------------------------------------------------------------------------
// Module

export interface FuncTypeSpec {
  params: ValType[];
  results: ValType[];
}

export interface FuncSpec {
  typeIndex: number;
  locals: ValType[]; // declared locals (params excluded)
  body: Uint8Array; // instructions including the final `end`
}

export interface GlobalSpec {
  type: ValType;
  mutable: boolean;
  init: bigint; // floats: raw bits
}

export interface ExportSpec {
  name: string;
  kind: "func" | "table" | "memory" | "global";
  index: number;
}

/** An element segment: active (a table and offset), passive, or declarative; null elements are ref.null. */
export interface ElemSpec {
  mode: "active" | "passive" | "declarative";
  table: number;
  offset: number;
  funcs: (number | null)[];
}

export interface ModuleSpec {
  types: FuncTypeSpec[];
  funcs: FuncSpec[];
  tables: { min: number; max?: number }[];
  memory?: { min: number; max?: number };
  globals: GlobalSpec[];
  exports: ExportSpec[];
  start?: number;
  elems: ElemSpec[];
  /** Active segments have an offset; passive ones none. */
  data: { offset: number | null; bytes: Uint8Array }[];
  /** Emit the data count section (required by memory.init and data.drop). */
  dataCount?: boolean;
}

const EXPORT_KIND = { func: 0, table: 1, memory: 2, global: 3 } as const;

function limits(w: ByteWriter, l: { min: number; max?: number }): void {
  if (l.max === undefined) w.u8(0).u32(l.min);
  else w.u8(1).u32(l.min).u32(l.max);
}

function section(out: ByteWriter, id: number, fill: (w: ByteWriter) => void): void {
  const w = new ByteWriter();
  fill(w);
  out.u8(id).u32(w.length).bytes(w.finish());
}

export function encodeModule(m: ModuleSpec): Uint8Array {
  const out = new ByteWriter();
  out.bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

  if (m.types.length)
    section(out, 1, (w) =>
      w.vec(m.types, (w, t) => {
        w.u8(0x60);
        w.vec(t.params, (w, p) => w.u8(VALTYPE_BYTE[p]));
        w.vec(t.results, (w, r) => w.u8(VALTYPE_BYTE[r]));
      }),
    );
  if (m.funcs.length) section(out, 3, (w) => w.vec(m.funcs, (w, f) => w.u32(f.typeIndex)));
  if (m.tables.length)
    section(out, 4, (w) =>
      w.vec(m.tables, (w, t) => {
        w.u8(FUNCREF);
        limits(w, t);
      }),
    );
  if (m.memory)
    section(out, 5, (w) => {
      w.u32(1);
      limits(w, m.memory!);
    });
  if (m.globals.length)
    section(out, 6, (w) =>
      w.vec(m.globals, (w, g) => {
        w.u8(VALTYPE_BYTE[g.type]).u8(g.mutable ? 1 : 0);
        if (g.type === "i32") w.u8(OP.i32_const).s32(Number(BigInt.asIntN(32, g.init)));
        else if (g.type === "i64") w.u8(OP.i64_const).s64(g.init);
        else {
          w.u8(g.type === "f32" ? OP.f32_const : OP.f64_const);
          for (let i = 0n; i < (g.type === "f32" ? 4n : 8n); i++) w.u8(Number((g.init >> (8n * i)) & 0xffn));
        }
        w.u8(OP.end);
      }),
    );
  if (m.exports.length)
    section(out, 7, (w) => w.vec(m.exports, (w, e) => w.name(e.name).u8(EXPORT_KIND[e.kind]).u32(e.index)));
  if (m.start !== undefined) section(out, 8, (w) => w.u32(m.start!));
  if (m.elems.length)
    section(out, 9, (w) =>
      w.vec(m.elems, (w, e) => {
        const exprs = e.funcs.some((f) => f === null);
        if (e.mode === "active") {
          // 0: table 0, vec(funcidx); 2: table x, elemkind, vec(funcidx); 6: table x, reftype, vec(expr)
          if (exprs) w.u32(6).u32(e.table);
          else if (e.table !== 0) w.u32(2).u32(e.table);
          else w.u32(0);
          w.u8(OP.i32_const).s32(e.offset).u8(OP.end);
          if (e.table !== 0 || exprs) w.u8(exprs ? FUNCREF : 0x00);
        } else {
          // 1/3: passive/declarative, elemkind, vec(funcidx); 5/7: reftype, vec(expr)
          w.u32((e.mode === "passive" ? 1 : 3) + (exprs ? 4 : 0)).u8(exprs ? FUNCREF : 0x00);
        }
        if (exprs) w.vec(e.funcs, (w, f) => (f === null ? w.u8(OP.ref_null).u8(FUNCREF) : w.u8(OP.ref_func).u32(f)).u8(OP.end));
        else w.vec(e.funcs, (w, f) => w.u32(f!));
      }),
    );
  if (m.dataCount) section(out, 12, (w) => w.u32(m.data.length));
  if (m.funcs.length)
    section(out, 10, (w) =>
      w.vec(m.funcs, (w, f) => {
        const body = new ByteWriter();
        const groups: [number, ValType][] = [];
        for (const t of f.locals) {
          const last = groups[groups.length - 1];
          if (last && last[1] === t) last[0]++;
          else groups.push([1, t]);
        }
        body.vec(groups, (w, [n, t]) => w.u32(n).u8(VALTYPE_BYTE[t]));
        body.bytes(f.body);
        w.u32(body.length).bytes(body.finish());
      }),
    );
  if (m.data.length)
    section(out, 11, (w) =>
      w.vec(m.data, (w, d) => {
        if (d.offset === null) w.u32(1);
        else w.u32(0).u8(OP.i32_const).s32(d.offset).u8(OP.end);
        w.u32(d.bytes.length).bytes(d.bytes);
      }),
    );
  return out.finish();
}
