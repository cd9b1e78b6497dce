/**
 * WebAssembly binary reader: the module structure of the WebAssembly 2.0 binary format (multi-value
 * block types, reference types, every element and data segment encoding, the data count section,
 * the 0xFC-prefixed instructions). Encodings of later proposals (SIMD, threads, exceptions, tail
 * calls, function references, GC, memory64, multi-memory) are refused with an error naming the
 * feature (`unsupported`).
 *
 * This file only *decodes*: it checks that the bytes are well formed (everything the spec calls
 * "malformed": section order and sizes, LEB128 limits, UTF-8 names, flag bytes, value type codes) and
 * returns the raw module. Validation (typing, index spaces) and lowering of function bodies live in
 * lower.ts; function bodies are kept as byte ranges and decoded there in the same single pass that
 * validates and lowers them.
 *
 * Error messages start with the reference interpreter's wording (e.g. "integer too large",
 * "unexpected end of section or function") so a spec-test runner can match them by prefix.
 */
import { WasmError } from "./program.js";

// ---------------------------------------------------------------------------------------------
// Value types are kept as their binary codes internally (cheap to compare, fit in a Uint8Array).

export const T_I32 = 0x7f;
export const T_I64 = 0x7e;
export const T_F32 = 0x7d;
export const T_F64 = 0x7c;
export const T_FUNCREF = 0x70;
export const T_EXTERNREF = 0x6f;
/** The "unknown" operand type of the polymorphic stack (validation only). */
export const T_UNKNOWN = 0;

export type ValCode = number;

export function typeName(t: number): "i32" | "i64" | "f32" | "f64" | "funcref" | "externref" {
  switch (t) {
    case T_I32:
      return "i32";
    case T_I64:
      return "i64";
    case T_F32:
      return "f32";
    case T_F64:
      return "f64";
    case T_FUNCREF:
      return "funcref";
    case T_EXTERNREF:
      return "externref";
  }
  throw new Error(`bad value type code ${t}`);
}

export function isFloatType(t: number): boolean {
  return t === T_F32 || t === T_F64;
}

export function isRefCode(t: number): boolean {
  return t === T_FUNCREF || t === T_EXTERNREF;
}

/** Numeric types (what an untyped `select` accepts). */
export function isNumCode(t: number): boolean {
  return t === T_I32 || t === T_I64 || t === T_F32 || t === T_F64;
}

// ---------------------------------------------------------------------------------------------
// Opcode tables (shared with lower.ts).

/** Human-readable names of single-byte opcodes ("" = illegal in this profile). */
export const OPCODE_NAMES: string[] = new Array<string>(256).fill("");
(() => {
  const list: [number, string][] = [
    [0x00, "unreachable"],
    [0x01, "nop"],
    [0x02, "block"],
    [0x03, "loop"],
    [0x04, "if"],
    [0x05, "else"],
    [0x0b, "end"],
    [0x0c, "br"],
    [0x0d, "br_if"],
    [0x0e, "br_table"],
    [0x0f, "return"],
    [0x10, "call"],
    [0x11, "call_indirect"],
    [0x1a, "drop"],
    [0x1b, "select"],
    [0x1c, "select"],
    [0x20, "local.get"],
    [0x21, "local.set"],
    [0x22, "local.tee"],
    [0x23, "global.get"],
    [0x24, "global.set"],
    [0x25, "table.get"],
    [0x26, "table.set"],
    [0x3f, "memory.size"],
    [0x40, "memory.grow"],
    [0x41, "i32.const"],
    [0x42, "i64.const"],
    [0x43, "f32.const"],
    [0x44, "f64.const"],
    [0xd0, "ref.null"],
    [0xd1, "ref.is_null"],
    [0xd2, "ref.func"],
  ];
  for (const [op, n] of list) OPCODE_NAMES[op] = n;
  const seq = (start: number, names: string) => names.split(" ").forEach((n, i) => (OPCODE_NAMES[start + i] = n));
  seq(
    0x28,
    "i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u " +
      "i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u " +
      "i32.store i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32",
  );
  seq(0x45, "i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u");
  seq(0x50, "i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u");
  seq(0x5b, "f32.eq f32.ne f32.lt f32.gt f32.le f32.ge");
  seq(0x61, "f64.eq f64.ne f64.lt f64.gt f64.le f64.ge");
  seq(
    0x67,
    "i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u " +
      "i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr",
  );
  seq(
    0x79,
    "i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u " +
      "i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr",
  );
  seq(0x8b, "f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign");
  seq(0x99, "f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign");
  seq(
    0xa7,
    "i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u i64.extend_i32_s i64.extend_i32_u " +
      "i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u f32.convert_i32_s f32.convert_i32_u " +
      "f32.convert_i64_s f32.convert_i64_u f32.demote_f64 f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s " +
      "f64.convert_i64_u f64.promote_f32 i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64 " +
      "i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s",
  );
})();

/** Names of the 0xFC-prefixed instructions, by sub-opcode. */
export const FC_NAMES = [
  "i32.trunc_sat_f32_s",
  "i32.trunc_sat_f32_u",
  "i32.trunc_sat_f64_s",
  "i32.trunc_sat_f64_u",
  "i64.trunc_sat_f32_s",
  "i64.trunc_sat_f32_u",
  "i64.trunc_sat_f64_s",
  "i64.trunc_sat_f64_u",
  "memory.init",
  "data.drop",
  "memory.copy",
  "memory.fill",
  "table.init",
  "elem.drop",
  "table.copy",
  "table.grow",
  "table.size",
  "table.fill",
];

/**
 * Signatures of the plain numeric instructions 0x45..0xC4: operand types (in1 deeper, in2 on top,
 * 0 = none) and result type. Every such instruction has exactly one result.
 */
export const NUM_IN1 = new Uint8Array(256);
export const NUM_IN2 = new Uint8Array(256);
export const NUM_OUT = new Uint8Array(256);
(() => {
  const un = (from: number, to: number, a: number, r: number) => {
    for (let op = from; op <= to; op++) (NUM_IN1[op] = a), (NUM_OUT[op] = r);
  };
  const bin = (from: number, to: number, a: number, r: number) => {
    for (let op = from; op <= to; op++) (NUM_IN1[op] = a), (NUM_IN2[op] = a), (NUM_OUT[op] = r);
  };
  un(0x45, 0x45, T_I32, T_I32);
  bin(0x46, 0x4f, T_I32, T_I32);
  un(0x50, 0x50, T_I64, T_I32);
  bin(0x51, 0x5a, T_I64, T_I32);
  bin(0x5b, 0x60, T_F32, T_I32);
  bin(0x61, 0x66, T_F64, T_I32);
  un(0x67, 0x69, T_I32, T_I32);
  bin(0x6a, 0x78, T_I32, T_I32);
  un(0x79, 0x7b, T_I64, T_I64);
  bin(0x7c, 0x8a, T_I64, T_I64);
  un(0x8b, 0x91, T_F32, T_F32);
  bin(0x92, 0x98, T_F32, T_F32);
  un(0x99, 0x9f, T_F64, T_F64);
  bin(0xa0, 0xa6, T_F64, T_F64);
  un(0xa7, 0xa7, T_I64, T_I32);
  un(0xa8, 0xa9, T_F32, T_I32);
  un(0xaa, 0xab, T_F64, T_I32);
  un(0xac, 0xad, T_I32, T_I64);
  un(0xae, 0xaf, T_F32, T_I64);
  un(0xb0, 0xb1, T_F64, T_I64);
  un(0xb2, 0xb3, T_I32, T_F32);
  un(0xb4, 0xb5, T_I64, T_F32);
  un(0xb6, 0xb6, T_F64, T_F32);
  un(0xb7, 0xb8, T_I32, T_F64);
  un(0xb9, 0xba, T_I64, T_F64);
  un(0xbb, 0xbb, T_F32, T_F64);
  un(0xbc, 0xbc, T_F32, T_I32);
  un(0xbd, 0xbd, T_F64, T_I64);
  un(0xbe, 0xbe, T_I32, T_F32);
  un(0xbf, 0xbf, T_I64, T_F64);
  un(0xc0, 0xc1, T_I32, T_I32);
  un(0xc2, 0xc4, T_I64, T_I64);
})();

/** Loads 0x28..0x35 and stores 0x36..0x3e: value type and natural alignment (log2 bytes). */
export const MEM_TYPE = new Uint8Array(256);
export const MEM_ALIGN = new Uint8Array(256);
(() => {
  const t = [
    T_I32, T_I64, T_F32, T_F64, T_I32, T_I32, T_I32, T_I32, T_I64, T_I64, T_I64, T_I64, T_I64, T_I64, // loads
    T_I32, T_I64, T_F32, T_F64, T_I32, T_I32, T_I64, T_I64, T_I64, // stores
  ];
  const a = [2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 2, 3, 2, 3, 0, 1, 0, 1, 2];
  for (let i = 0; i < t.length; i++) (MEM_TYPE[0x28 + i] = t[i]), (MEM_ALIGN[0x28 + i] = a[i]);
})();

// ---------------------------------------------------------------------------------------------
// The byte reader.

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Cursor over the module bytes. `end` is the current read bound (end of the section or function
 * body being read); `len` is the whole module length. All reads are bounds-checked and throw
 * WasmError("malformed", ...) with the section name and byte offset.
 */
export class Reader {
  pos = 0;
  end: number;
  readonly len: number;
  section: string | undefined = undefined;

  constructor(readonly buf: Uint8Array) {
    this.len = buf.length;
    this.end = buf.length;
  }

  fail(reason: string, offset: number = this.pos, kind: WasmError["kind"] = "malformed"): never {
    throw new WasmError(kind, reason, this.section, offset);
  }

  eof(): never {
    return this.fail(this.end < this.len ? "unexpected end of section or function" : "unexpected end", this.end);
  }

  u8(): number {
    if (this.pos >= this.end) this.eof();
    return this.buf[this.pos++];
  }

  /** Unsigned LEB128, at most 5 bytes, value < 2^32 (returned as a non-negative number). */
  u32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.end) this.eof();
    let b = buf[pos++];
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let result = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= this.end) (this.pos = pos), this.eof();
      b = buf[pos++];
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result >>> 0;
      }
    }
    // 5th byte: only 4 bits are left.
    if (pos >= this.end) (this.pos = pos), this.eof();
    b = buf[pos++];
    if ((b & 0x7f) >= 0x10) this.fail("integer too large", pos - 1);
    if (b & 0x80) this.fail("integer representation too long", pos);
    this.pos = pos;
    return (result | (b << 28)) >>> 0;
  }

  /** Signed LEB128 of a 32-bit integer, at most 5 bytes. */
  s32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let shift = 0;
    let b = 0;
    for (; shift < 28; shift += 7) {
      if (pos >= this.end) (this.pos = pos), this.eof();
      b = buf[pos++];
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        shift += 7;
        return b & 0x40 ? result | (-1 << shift) : result;
      }
    }
    if (pos >= this.end) (this.pos = pos), this.eof();
    b = buf[pos++];
    const high = b & 0x78; // the unused bits (and the sign bit) must all equal the sign
    if (high !== 0 && high !== 0x78) this.fail("integer too large", pos - 1);
    if (b & 0x80) this.fail("integer representation too long", pos);
    this.pos = pos;
    return result | (b << 28);
  }

  /** Signed LEB128 of a 64-bit integer, at most 10 bytes: returns [lo, hi] int32 halves in i64lo/i64hi. */
  i64lo = 0;
  i64hi = 0;
  s64(): void {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    let b = 0;
    for (let i = 0; i < 9; i++, shift += 7) {
      if (pos >= this.end) (this.pos = pos), this.eof();
      b = buf[pos++];
      const v = b & 0x7f;
      if (shift < 25) lo |= v << shift;
      else if (shift < 32) (lo |= v << shift), (hi |= v >>> (32 - shift));
      else hi |= v << (shift - 32);
      if (b < 0x80) {
        shift += 7;
        if (b & 0x40) {
          // sign-extend from bit `shift`
          if (shift < 32) (lo |= -1 << shift), (hi = -1);
          else hi |= -1 << (shift - 32);
        }
        this.pos = pos;
        this.i64lo = lo | 0;
        this.i64hi = hi | 0;
        return;
      }
    }
    // 10th byte (shift 63): one bit left; the other 6 must equal it.
    if (pos >= this.end) (this.pos = pos), this.eof();
    b = buf[pos++];
    const v = b & 0x7f;
    if (v !== 0 && v !== 0x7f) this.fail("integer too large", pos - 1);
    if (b & 0x80) this.fail("integer representation too long", pos);
    hi |= v << 31;
    this.pos = pos;
    this.i64lo = lo | 0;
    this.i64hi = hi | 0;
  }

  /** Little-endian fixed 32-bit word (f32 bits). */
  fixed32(): number {
    if (this.pos + 4 > this.end) (this.pos = this.end), this.eof();
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  }

  /**
   * A length or count (u32). Like the reference interpreter, a length larger than the whole module
   * is "length out of bounds"; one that merely runs past the current section fails when read.
   */
  len32(): number {
    const at = this.pos;
    const n = this.u32();
    if (n > this.len) this.fail("length out of bounds", at);
    return n;
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) (this.pos = this.end), this.eof();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    if (this.pos + n > this.end) (this.pos = this.end), this.eof();
    this.pos += n;
  }

  name(): string {
    const at = this.pos;
    const n = this.len32();
    const b = this.bytes(n);
    try {
      return utf8.decode(b);
    } catch {
      return this.fail("malformed UTF-8 encoding", at);
    }
  }

  /** A zero byte: the memory index of memory.size/grow/init/copy/fill (a single memory in 2.0). */
  zero(reason = "zero byte expected (multi-memory is not supported)"): void {
    const at = this.pos;
    if (this.u8() !== 0) this.fail(reason, at);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoded module.

export interface RawFuncType {
  params: Uint8Array; // value type codes
  results: Uint8Array;
  offset: number;
}

export interface RawLimits {
  min: number;
  max?: number;
  offset: number;
}

export interface RawTable extends RawLimits {
  type: number; // T_FUNCREF or T_EXTERNREF
}

/** One instruction of a constant expression, as decoded (validated later). */
export interface RawConstInstr {
  op: number; // opcode byte (0xfc-prefixed ops: 0x100 + sub-opcode)
  offset: number;
  /** i32.const: value; global.get: index; f32.const: bits. */
  imm: number;
  /** i64.const / f64.const: the high half (imm is the low half). */
  imm2: number;
}

export interface RawConstExpr {
  instrs: RawConstInstr[];
  offset: number;
}

export interface RawImport {
  module: string;
  name: string;
  kind: 0 | 1 | 2 | 3; // func, table, memory, global
  typeIndex: number; // func
  limits?: RawLimits; // table, memory
  tableType: number; // table
  globalType: number; // global
  mutable: boolean; // global
  offset: number;
}

export interface RawGlobal {
  type: number;
  mutable: boolean;
  init: RawConstExpr;
  offset: number;
}

export interface RawExport {
  name: string;
  kind: 0 | 1 | 2 | 3;
  index: number;
  offset: number;
}

export interface RawElem {
  mode: "active" | "passive" | "declarative";
  table: number; // active
  offset: RawConstExpr | null; // active
  type: number; // T_FUNCREF or T_EXTERNREF
  /** Encodings 0..3: function indices; 4..7: one constant expression per element. */
  funcs: number[] | null;
  exprs: RawConstExpr[] | null;
  funcsOffset: number;
  at: number;
}

export interface RawData {
  mode: "active" | "passive";
  memory: number;
  offset: RawConstExpr | null;
  bytes: Uint8Array;
  at: number;
}

export interface RawBody {
  /** Byte offset of the body's local declarations (just after its size). */
  start: number;
  /** One past the last byte of the body. */
  end: number;
}

export interface DecodedModule {
  types: RawFuncType[];
  imports: RawImport[];
  funcTypeIndices: number[]; // function section
  funcSectionOffset: number;
  tables: RawTable[];
  memories: RawLimits[];
  globals: RawGlobal[];
  exports: RawExport[];
  start: { index: number; offset: number } | null;
  elems: RawElem[];
  datas: RawData[];
  dataCount: number | null;
  bodies: RawBody[];
  codeSectionOffset: number;
}

export const SECTION_NAMES = [
  "custom",
  "type",
  "import",
  "function",
  "table",
  "memory",
  "global",
  "export",
  "start",
  "element",
  "code",
  "data",
  "data count",
];
/** Position of each section id in the required order (the data count section sits before code). */
const SECTION_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10];

/**
 * Refuses an encoding of a proposal after WebAssembly 2.0, naming it. Such bytes are malformed in
 * 2.0 (the spec tests say so), so the error is `malformed` with the 2.0 reason, then the feature.
 */
export function laterFeature(r: Reader, reason: string, feature: string, offset: number): never {
  return r.fail(`${reason}: ${feature} is not supported (the machine runs WebAssembly 2.0 without SIMD and threads)`, offset);
}

/** Type codes of proposals after 2.0 (SIMD, function references, GC, exception handling). */
const LATER_TYPES: Record<number, string> = {
  0x7b: "SIMD (v128)",
  0x64: "typed function references ((ref t))",
  0x63: "typed function references ((ref null t))",
  0x6e: "GC (anyref)",
  0x6d: "GC (eqref)",
  0x6c: "GC (i31ref)",
  0x6b: "GC (structref)",
  0x6a: "GC (arrayref)",
  0x71: "GC (nullref)",
  0x72: "GC (nullexternref)",
  0x73: "GC (nullfuncref)",
  0x69: "exception handling (exnref)",
  0x74: "exception handling (nullexnref)",
};

/** A value type (single byte; a LEB128 continuation bit is "integer representation too long"). */
export function readValType(r: Reader): number {
  const at = r.pos;
  const b = r.u8();
  if (b & 0x80) r.fail("integer representation too long", r.pos);
  if (b === T_I32 || b === T_I64 || b === T_F32 || b === T_F64 || b === T_FUNCREF || b === T_EXTERNREF) return b;
  if (LATER_TYPES[b]) laterFeature(r, "malformed value type", LATER_TYPES[b], at);
  return r.fail("malformed value type", at);
}

/**
 * Limits: flag 0 (min) or 1 (min, max). Flags 2/3 (shared memory) belong to threads, 4..7 to
 * memory64; anything else is an unsigned LEB128 of 1 bit too large (reference interpreter: vu1).
 */
function readLimits(r: Reader): RawLimits {
  const offset = r.pos;
  const b = r.u8();
  if (b & 0x80) r.fail("integer representation too long", r.pos);
  if (b === 2 || b === 3) laterFeature(r, "integer too large", "threads (shared memory)", offset);
  if (b >= 4 && b <= 7) laterFeature(r, "integer too large", "memory64", offset);
  if (b >= 2) r.fail("integer too large", offset);
  const min = r.u32();
  if (b === 1) return { min, max: r.u32(), offset };
  return { min, offset };
}

/** A reference type: funcref or externref. */
export function readRefType(r: Reader): number {
  const at = r.pos;
  const b = r.u8();
  if (b & 0x80) r.fail("integer representation too long", r.pos);
  if (b === T_FUNCREF || b === T_EXTERNREF) return b;
  if (LATER_TYPES[b] && b !== 0x7b) laterFeature(r, "malformed reference type", LATER_TYPES[b], at);
  return r.fail("malformed reference type", at);
}

function readMutability(r: Reader): boolean {
  const at = r.pos;
  const b = r.u8();
  if (b > 1) r.fail("malformed mutability", at);
  return b === 1;
}

/** readBlockType's result for a type index i is BT_INDEX + i. */
export const BT_INDEX = 0x100;

/**
 * Block type: 0x40 (empty), one value type (a negative one-byte s33), or a type index (a
 * non-negative s33). Returns 0 for empty, the value type code, or BT_INDEX + the type index.
 */
export function readBlockType(r: Reader): number {
  if (r.pos >= r.end) r.eof();
  const b = r.buf[r.pos];
  if (b === 0x40) {
    r.pos++;
    return 0;
  }
  if ((b & 0xc0) === 0x40) return readValType(r);
  // s33 type index: at most 5 bytes, non-negative
  const at = r.pos;
  let x = 0;
  for (let i = 0; ; i++) {
    const c = r.u8();
    if (i === 4) {
      // bits 28..32 (bit 32 the sign); the unused bits must equal the sign
      if (c & 0x80) r.fail("integer representation too long", r.pos);
      const sign = c & 0x10 ? 0x70 : 0;
      if ((c & 0x70) !== sign) r.fail("integer too large", r.pos - 1);
      if (sign) r.fail("malformed value type", at); // negative: no such block type
      x += (c & 0x0f) * 2 ** 28;
      break;
    }
    x += (c & 0x7f) * 2 ** (7 * i);
    if (!(c & 0x80)) {
      if (c & 0x40) r.fail("malformed value type", at); // a negative multi-byte s33
      break;
    }
  }
  return BT_INDEX + x;
}

/**
 * Read the immediates of any instruction (used for constant expressions, which are decoded in
 * full like any instruction sequence and only checked for constness at validation, and to scan
 * function bodies for malformations).
 * Returns the opcode; for 0xFC the value is 0x100 + sub-opcode.
 */
export function readConstInstr(r: Reader, op: number, ins: RawConstInstr): number {
  const later = LATER_OPS[op];
  if (later) laterFeature(r, `illegal opcode ${op.toString(16).padStart(2, "0")}`, later, ins.offset);
  switch (op) {
    case 0x02:
    case 0x03:
    case 0x04:
      readBlockType(r);
      return op;
    case 0x0c:
    case 0x0d:
    case 0x10:
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x24:
    case 0x25:
    case 0x26:
      r.u32();
      return op;
    case 0x23:
    case 0xd2:
      ins.imm = r.u32();
      return op;
    case 0xd0:
      ins.imm = readRefType(r);
      return op;
    case 0x1c: {
      const n = r.len32();
      for (let i = 0; i < n; i++) readValType(r);
      return op;
    }
    case 0x0e: {
      const n = r.len32();
      for (let i = 0; i <= n; i++) r.u32();
      return op;
    }
    case 0x11:
      r.u32();
      r.u32(); // table index (2.0: a LEB128, padded encodings included)
      return op;
    case 0x3f:
    case 0x40:
      r.zero();
      return op;
    case 0x41:
      ins.imm = r.s32();
      return op;
    case 0x42:
      r.s64();
      ins.imm = r.i64lo;
      ins.imm2 = r.i64hi;
      return op;
    case 0x43:
      ins.imm = r.fixed32();
      return op;
    case 0x44:
      ins.imm = r.fixed32();
      ins.imm2 = r.fixed32();
      return op;
    case 0xfc: {
      const sub = r.u32();
      switch (sub) {
        case 8:
          r.u32();
          r.zero();
          break;
        case 9:
        case 13:
        case 15:
        case 16:
        case 17:
          r.u32();
          break;
        case 10:
          r.zero();
          r.zero();
          break;
        case 11:
          r.zero();
          break;
        case 12:
        case 14:
          r.u32();
          r.u32();
          break;
        default:
          if (sub > 17) r.fail(`illegal opcode fc ${sub.toString(16)}`, ins.offset);
      }
      return 0x100 + sub;
    }
  }
  if (op >= 0x28 && op <= 0x3e) {
    r.u32();
    r.u32();
    return op;
  }
  if (op <= 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1 || (op >= 0x45 && op <= 0xc4)) return op;
  return r.fail(`illegal opcode ${op.toString(16).padStart(2, "0")}`, ins.offset);
}

/** Opcodes of proposals after 2.0, refused by name (LATER_OPS[op] is the feature). */
export const LATER_OPS: string[] = (() => {
  const t = new Array<string>(256).fill("");
  for (const op of [0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f]) t[op] = "exception handling";
  t[0x12] = t[0x13] = "tail calls (return_call)";
  t[0x14] = t[0x15] = "typed function references (call_ref)";
  t[0xd4] = t[0xd5] = t[0xd6] = "typed function references";
  t[0xd3] = t[0xfb] = "GC";
  t[0xfd] = "SIMD";
  t[0xfe] = "threads (atomics)";
  return t;
})();

/** A constant expression: an instruction sequence terminated by `end`. */
function readConstExpr(r: Reader): RawConstExpr {
  const offset = r.pos;
  const instrs: RawConstInstr[] = [];
  let depth = 0;
  for (;;) {
    const at = r.pos;
    const op = r.u8();
    if (op === 0x0b) {
      if (depth === 0) return { instrs, offset };
      depth--;
    } else if (op === 0x05 && depth === 0) {
      r.fail("END opcode expected", at);
    }
    const ins: RawConstInstr = { op, offset: at, imm: 0, imm2: 0 };
    ins.op = readConstInstr(r, op, ins);
    if (op === 0x02 || op === 0x03 || op === 0x04) depth++;
    instrs.push(ins);
  }
}

/** Decode the module structure. Function bodies are returned as byte ranges (see lower.ts). */
export function decodeModule(buf: Uint8Array): DecodedModule {
  const r = new Reader(buf);
  // Header.
  if (buf.length < 4) r.fail("unexpected end", buf.length);
  if (buf[0] !== 0x00 || buf[1] !== 0x61 || buf[2] !== 0x73 || buf[3] !== 0x6d) r.fail("magic header not detected", 0);
  if (buf.length < 8) r.fail("unexpected end", buf.length);
  if (buf[4] !== 1 || buf[5] !== 0 || buf[6] !== 0 || buf[7] !== 0) r.fail("unknown binary version", 4);
  r.pos = 8;

  const m: DecodedModule = {
    types: [],
    imports: [],
    funcTypeIndices: [],
    funcSectionOffset: -1,
    tables: [],
    memories: [],
    globals: [],
    exports: [],
    start: null,
    elems: [],
    datas: [],
    dataCount: null,
    bodies: [],
    codeSectionOffset: -1,
  };
  let lastRank = 0;

  while (r.pos < buf.length) {
    r.section = undefined;
    r.end = buf.length;
    const idAt = r.pos;
    const id = buf[r.pos];
    if (id === 13) laterFeature(r, "malformed section id", "exception handling (tag section)", idAt);
    if (id > 12) r.fail("malformed section id", idAt);
    if (id !== 0) {
      const rank = SECTION_RANK[id];
      if (rank <= lastRank) r.fail("junk after last section", idAt);
      lastRank = rank;
    }
    r.pos++;
    const size = r.len32();
    const start = r.pos;
    const declaredEnd = start + size;
    r.end = Math.min(declaredEnd, buf.length);
    r.section = SECTION_NAMES[id];
    switch (id) {
      case 0: {
        r.name();
        r.skip(declaredEnd - r.pos);
        break;
      }
      case 1: {
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const offset = r.pos;
          const form = r.u8();
          if (form & 0x80) r.fail("integer representation too long", r.pos);
          if (form === 0x5e || form === 0x5f || form === 0x50 || form === 0x4f || form === 0x4e) laterFeature(r, "malformed function type", "GC (struct, array and recursive types)", offset);
          if (form !== 0x60) r.fail("malformed function type", offset);
          const np = r.len32();
          const params = new Uint8Array(np);
          for (let j = 0; j < np; j++) params[j] = readValType(r);
          const nr = r.len32();
          const results = new Uint8Array(nr);
          for (let j = 0; j < nr; j++) results[j] = readValType(r);
          m.types.push({ params, results, offset });
        }
        break;
      }
      case 2: {
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const offset = r.pos;
          const module = r.name();
          const name = r.name();
          const kindAt = r.pos;
          const kind = r.u8();
          const imp: RawImport = { module, name, kind: 0, typeIndex: -1, tableType: 0, globalType: 0, mutable: false, offset };
          switch (kind) {
            case 0:
              imp.typeIndex = r.u32();
              break;
            case 1:
              imp.tableType = readRefType(r);
              imp.limits = readLimits(r);
              break;
            case 2:
              imp.limits = readLimits(r);
              break;
            case 3:
              imp.globalType = readValType(r);
              imp.mutable = readMutability(r);
              break;
            case 4:
              laterFeature(r, "malformed import kind", "exception handling (tag import)", kindAt);
              break;
            default:
              r.fail("malformed import kind", kindAt);
          }
          imp.kind = kind as 0 | 1 | 2 | 3;
          m.imports.push(imp);
        }
        break;
      }
      case 3: {
        m.funcSectionOffset = start;
        const n = r.len32();
        for (let i = 0; i < n; i++) m.funcTypeIndices.push(r.u32());
        break;
      }
      case 4: {
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const type = readRefType(r);
          m.tables.push({ type, ...readLimits(r) });
        }
        break;
      }
      case 5: {
        const n = r.len32();
        for (let i = 0; i < n; i++) m.memories.push(readLimits(r));
        break;
      }
      case 6: {
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const offset = r.pos;
          const type = readValType(r);
          const mutable = readMutability(r);
          const init = readConstExpr(r);
          m.globals.push({ type, mutable, init, offset });
        }
        break;
      }
      case 7: {
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const offset = r.pos;
          const name = r.name();
          const kindAt = r.pos;
          const kind = r.u8();
          if (kind === 4) laterFeature(r, "malformed export kind", "exception handling (tag export)", kindAt);
          if (kind > 3) r.fail("malformed export kind", kindAt);
          const index = r.u32();
          m.exports.push({ name, kind: kind as 0 | 1 | 2 | 3, index, offset });
        }
        break;
      }
      case 8: {
        const offset = r.pos;
        m.start = { index: r.u32(), offset };
        break;
      }
      case 9: {
        // flags: bit 0 passive/declarative (bit 1 then declarative), else active with bit 1 an
        // explicit table index; bit 2: element expressions instead of function indices
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const at = r.pos;
          const flags = r.u32();
          if (flags > 7) r.fail("malformed elements segment kind", at);
          const mode = flags & 1 ? (flags & 2 ? "declarative" : "passive") : "active";
          const table = flags === 2 || flags === 6 ? r.u32() : 0;
          const offset = mode === "active" ? readConstExpr(r) : null;
          let type = T_FUNCREF;
          if (flags & 4) {
            if (flags !== 4) type = readRefType(r);
          } else if (flags !== 0) {
            const kAt = r.pos;
            if (r.u8() !== 0x00) r.fail("malformed element kind", kAt);
          }
          const funcsOffset = r.pos;
          const count = r.len32();
          if (flags & 4) {
            const exprs: RawConstExpr[] = [];
            for (let j = 0; j < count; j++) exprs.push(readConstExpr(r));
            m.elems.push({ mode, table, offset, type, funcs: null, exprs, funcsOffset, at });
          } else {
            const funcs = new Array<number>(count);
            for (let j = 0; j < count; j++) funcs[j] = r.u32();
            m.elems.push({ mode, table, offset, type, funcs, exprs: null, funcsOffset, at });
          }
        }
        break;
      }
      case 12: {
        m.dataCount = r.u32();
        break;
      }
      case 10: {
        m.codeSectionOffset = start;
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const bodySize = r.len32();
          const bStart = r.pos;
          r.skip(bodySize);
          m.bodies.push({ start: bStart, end: bStart + bodySize });
        }
        break;
      }
      case 11: {
        const n = r.len32();
        for (let i = 0; i < n; i++) {
          const at = r.pos;
          const flags = r.u32();
          if (flags > 2) r.fail("malformed data segment kind", at);
          const memory = flags === 2 ? r.u32() : 0;
          const offset = flags === 1 ? null : readConstExpr(r);
          const len = r.len32();
          const bytes = r.bytes(len);
          m.datas.push({ mode: flags === 1 ? "passive" : "active", memory, offset, bytes, at });
        }
        break;
      }
    }
    if (r.pos !== declaredEnd) r.fail("section size mismatch", start);
  }
  r.section = undefined;
  if (m.funcTypeIndices.length !== m.bodies.length)
    r.fail("function and code section have inconsistent lengths", buf.length);
  if (m.dataCount !== null && m.dataCount !== m.datas.length)
    r.fail("data count and data section have inconsistent lengths", buf.length);
  return m;
}

/**
 * Decode-only pass over every function body (locals and instructions, without validation). Used
 * when validation failed, so that a malformed body is reported as malformed (like a decoder that
 * reads the whole module before validating) rather than by the first validation error.
 */
export function scanBodies(buf: Uint8Array, m: DecodedModule): void {
  const r = new Reader(buf);
  r.section = "code";
  const ins: RawConstInstr = { op: 0, offset: 0, imm: 0, imm2: 0 };
  for (const body of m.bodies) {
    r.pos = body.start;
    r.end = body.end;
    const declAt = r.pos;
    const nGroups = r.len32();
    let declared = 0;
    for (let g = 0; g < nGroups; g++) {
      declared += r.u32();
      readValType(r);
    }
    if (declared >= 2 ** 32) r.fail("too many locals", declAt);
    let depth = 1;
    while (depth > 0) {
      const at = r.pos;
      const op = r.u8();
      if (op === 0x0b) depth--;
      else if (op === 0x02 || op === 0x03 || op === 0x04) depth++;
      ins.offset = at;
      const x = readConstInstr(r, op, ins);
      // memory.init and data.drop need the data count section: a malformation in 2.0
      if ((x === 0x108 || x === 0x109) && m.dataCount === null) r.fail(`data count section required (${FC_NAMES[x - 0x100]})`, at);
    }
    if (r.pos !== body.end) r.fail("section size mismatch (function body longer than its end)", r.pos);
  }
}
