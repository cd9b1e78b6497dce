/**
 * WebAssembly floating point on bit patterns: the one implementation of the f32/f64 semantics that
 * the executor (machine.ts), the compiled tier (jit.ts) and the reference verifier (verify.ts) use.
 *
 * Values live in the machine as bits: an f32 in the low int32 of a slot (high half 0, like an i32),
 * an f64 as its two int32 halves. Every operation is IEEE 754 binary32/binary64 with
 * round-to-nearest-even, as WebAssembly requires, plus one deterministic NaN rule (docs/MACHINE.md):
 *
 *   - an arithmetic or conversion result that is NaN is the canonical positive quiet NaN
 *     (f32 0x7fc00000, f64 0x7ff8000000000000) — whatever the operands' payloads;
 *   - abs, neg, copysign (and const, load/store, select, locals, globals, reinterpret, which are
 *     not float operations at all in the machine) act on the bits and preserve them exactly.
 *
 * Why this is exact on JavaScript numbers: a JS number is an IEEE binary64 and `+ - * /` and
 * `Math.sqrt` are correctly rounded (round-to-nearest-even), so the f64 operations are the JS ones.
 * The f32 operations compute in binary64 and round once more with Math.fround; for + - * / and sqrt
 * this double rounding is innocuous because 53 >= 2 * 24 + 2 (Figueroa, "When is double rounding
 * innocuous?", 1995). min/max/ceil/floor/trunc/nearest return one of their operands or an integer
 * of at most 24 (53) significant bits, which is exact. No result depends on an operand NaN's payload
 * (a NaN operand gives a NaN result, a false comparison, a trap or 0), and every NaN result is
 * replaced by the canonical NaN when it becomes bits (f32Bits/putF64), so the payload of a NaN JS
 * number never matters. The conversions that can round twice (i64 -> f32) collapse the low bits
 * into a sticky bit first.
 *
 * Machine encoding (isa.ts): the float opcodes keep their WebAssembly byte; the eight saturating
 * conversions (0xFC 0..7) are 0xc5..0xcc.
 */
import { Trap } from "./isa.js";

// ------------------------------------------------------------------------------------------------
// Bits <-> numbers (scratch views on one 8-byte buffer; the machine is little-endian).

const F64 = new Float64Array(1);
const F32 = new Float32Array(F64.buffer, 0, 1);
const I32 = new Int32Array(F64.buffer);
F64[0] = 1;
if (I32[1] !== 0x3ff00000) throw new Error("float.ts: a little-endian host is required");

/** The canonical NaNs (bits). */
export const F32_NAN = 0x7fc00000;
export const F64_NAN_HI = 0x7ff80000;
export const F64_NAN = 0x7ff8000000000000n;

/** The number an f32 bit pattern denotes (a NaN for any NaN pattern). */
export function f32Value(bits: number): number {
  I32[0] = bits;
  return F32[0];
}

/** The number an f64 bit pattern (lo, hi) denotes. */
export function f64Value(lo: number, hi: number): number {
  I32[0] = lo;
  I32[1] = hi;
  return F64[0];
}

/** Bits of an f32 number (exactly representable, or NaN -> canonical NaN), as an int32. */
export function f32Bits(v: number): number {
  if (v !== v) return F32_NAN;
  F32[0] = v;
  return I32[0];
}

/** Writes the bits of an f64 number (NaN -> canonical NaN) into slot k of (lo, hi). */
export function putF64(lo: Int32Array, hi: Int32Array, k: number, v: number): void {
  if (v !== v) {
    lo[k] = 0;
    hi[k] = F64_NAN_HI;
  } else {
    F64[0] = v;
    lo[k] = I32[0];
    hi[k] = I32[1];
  }
}

/** The high half of the bits of an f64 number (NaN -> canonical); f64Lo gives the low half. */
export function f64Hi(v: number): number {
  if (v !== v) return F64_NAN_HI;
  F64[0] = v;
  return I32[1];
}
export function f64Lo(v: number): number {
  if (v !== v) return 0;
  F64[0] = v;
  return I32[0];
}

// ------------------------------------------------------------------------------------------------
// Operations on numbers (the operands are exact f32/f64 values; results are converted to bits by
// the caller, which canonicalises NaN).

/**
 * Round to nearest, ties to even (WebAssembly `nearest`), sign kept (a zero result has the sign of
 * x). x - floor(x) is exact for every double; from 2^52 on every double is an integer.
 */
export function nearest(x: number): number {
  if (!(Math.abs(x) < 4503599627370496)) return x; // NaN, ±inf, integers
  const f = Math.floor(x), d = x - f;
  const r = d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
  return r === 0 && (x < 0 || 1 / x < 0) ? -0 : r;
}

/** Number of an i64 given as (lo, hi), signed, correctly rounded to binary64 (one rounding). */
export function s64Value(lo: number, hi: number): number {
  return hi * 4294967296 + (lo >>> 0);
}
/** Number of a u64 given as (lo, hi), correctly rounded to binary64. */
export function u64Value(lo: number, hi: number): number {
  return (hi >>> 0) * 4294967296 + (lo >>> 0);
}

/**
 * A u64 magnitude (lo, hi) correctly rounded to binary32. Above 2^53 the bits below bit 11 are
 * collapsed into a sticky bit 11 (round-to-odd), which leaves at most 53 significant bits (the sum
 * is exact in binary64) and does not change the binary32 rounding, whose round bit is at bit 29 or
 * above: one rounding in all.
 */
export function u64ToF32(lo: number, hi: number): number {
  hi >>>= 0;
  if (hi < 0x200000) return Math.fround(hi * 4294967296 + (lo >>> 0));
  const l = (lo & 0x7ff) !== 0 ? (lo & ~0x7ff) | 0x800 : lo & ~0x7ff;
  return Math.fround(hi * 4294967296 + (l >>> 0));
}

/** A signed i64 (lo, hi) correctly rounded to binary32 (round-to-nearest-even is symmetric). */
export function s64ToF32(lo: number, hi: number): number {
  if (hi >= 0) return u64ToF32(lo, hi);
  // magnitude of a negative value: two's complement negation
  const nlo = -lo | 0;
  const nhi = (~hi + (nlo === 0 ? 1 : 0)) | 0;
  return -u64ToF32(nlo, nhi);
}

// Truncation bounds (exclusive), as numbers.
const TWO31 = 2147483648;
const TWO32 = 4294967296;
const TWO63 = 9223372036854775808;
const TWO64 = 18446744073709551616;

/**
 * The checks of a trapping truncation of number v to an integer type: 0 when it is in range, else
 * the trap kind (InvalidConversion for NaN, IntegerOverflow out of range). `kind`: 0 i32_s,
 * 1 i32_u, 2 i64_s, 3 i64_u. Bounds compare the untruncated value: t = trunc(v) is in range iff
 * v > min - 1 and v < max + 1.
 */
export function truncCheck(v: number, kind: number): number {
  if (v !== v) return Trap.InvalidConversion;
  switch (kind) {
    case 0:
      return v > -TWO31 - 1 && v < TWO31 ? 0 : Trap.IntegerOverflow;
    case 1:
      return v > -1 && v < TWO32 ? 0 : Trap.IntegerOverflow;
    case 2:
      return v >= -TWO63 && v < TWO63 ? 0 : Trap.IntegerOverflow;
    default:
      return v > -1 && v < TWO64 ? 0 : Trap.IntegerOverflow;
  }
}

/** i32 of a number in range (truncated toward zero), as an int32. */
export function truncI32(v: number): number {
  return Math.trunc(v) | 0;
}

/** Saturating truncation to i32 (signed or unsigned), as an int32. NaN -> 0. */
export function truncSatI32(v: number, signed: boolean): number {
  if (v !== v) return 0;
  if (signed) return v <= -TWO31 ? -TWO31 | 0 : v >= TWO31 ? 0x7fffffff : Math.trunc(v) | 0;
  return v <= 0 ? 0 : v >= TWO32 ? -1 : Math.trunc(v) | 0;
}

/**
 * Writes trunc(v) as an i64 into slot k, v a number in range (or clamped by the caller). The value
 * is an integer below 2^64 in magnitude, so hi = floor(t / 2^32) and lo = t - hi * 2^32 are exact.
 */
export function putI64(lo: Int32Array, hi: Int32Array, k: number, v: number): void {
  const t = Math.trunc(v);
  const h = Math.floor(t / TWO32);
  lo[k] = (t - h * TWO32) | 0;
  hi[k] = h | 0; // for u64 above 2^63, h >= 2^31 wraps to the right int32
}

/** Saturating truncation to i64 into slot k. */
export function putI64Sat(lo: Int32Array, hi: Int32Array, k: number, v: number, signed: boolean): void {
  if (v !== v) {
    lo[k] = 0;
    hi[k] = 0;
  } else if (signed && v < -TWO63) {
    lo[k] = 0;
    hi[k] = 0x80000000 | 0;
  } else if (signed ? v >= TWO63 : v >= TWO64) {
    lo[k] = -1;
    hi[k] = signed ? 0x7fffffff : -1;
  } else if (!signed && v <= 0) {
    lo[k] = 0;
    hi[k] = 0;
  } else putI64(lo, hi, k, v);
}

// ------------------------------------------------------------------------------------------------
// Opcode tables.

/** 1 for the float numeric opcodes the machine executes (comparisons, arithmetic, conversions). */
export const IS_FLOAT_NUMERIC = new Uint8Array(256);
for (let op = 0x5b; op <= 0x66; op++) IS_FLOAT_NUMERIC[op] = 1;
for (let op = 0x8b; op <= 0xa6; op++) IS_FLOAT_NUMERIC[op] = 1;
for (const op of [0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1]) IS_FLOAT_NUMERIC[op] = 1;
for (let op = 0xb2; op <= 0xbb; op++) IS_FLOAT_NUMERIC[op] = 1;
for (let op = 0xc5; op <= 0xcc; op++) IS_FLOAT_NUMERIC[op] = 1;

/** Values a float numeric opcode pops (1 or 2); 0 for other opcodes. It always pushes one. */
export const FLOAT_POPS = new Uint8Array(256);
for (let op = 0; op < 256; op++) if (IS_FLOAT_NUMERIC[op]) FLOAT_POPS[op] = 1;
for (let op = 0x5b; op <= 0x66; op++) FLOAT_POPS[op] = 2;
for (let op = 0x92; op <= 0x98; op++) FLOAT_POPS[op] = 2;
for (let op = 0xa0; op <= 0xa6; op++) FLOAT_POPS[op] = 2;

/** The trapping conversions, in the order of their saturating twins 0xFC 0..7 = opcodes 0xc5..0xcc. */
export const TRUNC_OPS = [0xa8, 0xa9, 0xaa, 0xab, 0xae, 0xaf, 0xb0, 0xb1];
/** 1 for the float numeric opcodes whose result is 32 bits wide (i32 or f32: zero-extended in a slot). */
export const RESULT32 = new Uint8Array(256);
for (let op = 0x5b; op <= 0x66; op++) RESULT32[op] = 1; // comparisons
for (let op = 0x8b; op <= 0x98; op++) RESULT32[op] = 1; // f32 arithmetic
for (const op of [0xa8, 0xa9, 0xaa, 0xab, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xc5, 0xc6, 0xc7, 0xc8]) RESULT32[op] = 1;

/** Opcode of the saturating conversion 0xFC `sub` (0..7). */
export const TRUNC_SAT_OPS = [0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc];

/** The machine's float loads, stores and constants: the same bits as their integer twins. */
export const FLOAT_LOAD_STORE_CONST = [0x2a, 0x2b, 0x38, 0x39, 0x43, 0x44];

// ------------------------------------------------------------------------------------------------
// One step of a float numeric instruction on the operand stack.

/**
 * Executes float numeric opcode `op` on the operand stack (lo, hi) whose height is `sp`: pops
 * FLOAT_POPS[op] values, pushes the result. Returns the new height, or -trap (the stack unchanged)
 * when a trapping conversion traps.
 */
export function floatStep(op: number, sl: Int32Array, sh: Int32Array, sp: number): number {
  const t = sp - 1; // top
  switch (op) {
    // ---- comparisons: [x, y] -> i32
    case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: case 0x60: { // prettier-ignore
      const x = f32Value(sl[t - 1]), y = f32Value(sl[t]);
      sl[t - 1] = compare(op - 0x5b, x, y);
      return t;
    }
    case 0x61: case 0x62: case 0x63: case 0x64: case 0x65: case 0x66: { // prettier-ignore
      const x = f64Value(sl[t - 1], sh[t - 1]), y = f64Value(sl[t], sh[t]);
      sl[t - 1] = compare(op - 0x61, x, y);
      sh[t - 1] = 0;
      return t;
    }
    // ---- f32 bitwise
    case 0x8b: sl[t] &= 0x7fffffff; return sp; // prettier-ignore
    case 0x8c: sl[t] ^= 0x80000000; return sp; // prettier-ignore
    case 0x98: sl[t - 1] = (sl[t - 1] & 0x7fffffff) | (sl[t] & 0x80000000); return t; // prettier-ignore
    // ---- f32 unary / binary arithmetic
    case 0x8d: case 0x8e: case 0x8f: case 0x90: case 0x91: // prettier-ignore
      sl[t] = f32Bits(unary(op - 0x8d, f32Value(sl[t]), true));
      return sp;
    case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: // prettier-ignore
      sl[t - 1] = f32Bits(binary(op - 0x92, f32Value(sl[t - 1]), f32Value(sl[t]), true));
      return t;
    // ---- f64 bitwise
    case 0x99: sh[t] &= 0x7fffffff; return sp; // prettier-ignore
    case 0x9a: sh[t] ^= 0x80000000; return sp; // prettier-ignore
    case 0xa6: sh[t - 1] = (sh[t - 1] & 0x7fffffff) | (sh[t] & 0x80000000); return t; // prettier-ignore
    // ---- f64 arithmetic
    case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f: // prettier-ignore
      putF64(sl, sh, t, unary(op - 0x9b, f64Value(sl[t], sh[t]), false));
      return sp;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4: case 0xa5: // prettier-ignore
      putF64(sl, sh, t - 1, binary(op - 0xa0, f64Value(sl[t - 1], sh[t - 1]), f64Value(sl[t], sh[t]), false));
      return t;
    // ---- float -> integer: trapping (0xa8..0xb1) and saturating (0xc5..0xcc)
    case 0xa8: case 0xa9: case 0xaa: case 0xab: case 0xae: case 0xaf: case 0xb0: case 0xb1: // prettier-ignore
    case 0xc5: case 0xc6: case 0xc7: case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: { // prettier-ignore
      const sat = op >= 0xc5;
      const k = sat ? op - 0xc5 : TRUNC_OPS.indexOf(op); // 0..7: i32 f32_s f32_u f64_s f64_u, then i64
      const fromF64 = (k & 2) !== 0;
      const v = fromF64 ? f64Value(sl[t], sh[t]) : f32Value(sl[t]);
      const signed = (k & 1) === 0;
      const to64 = k >= 4;
      if (!sat) {
        const trap = truncCheck(v, (to64 ? 2 : 0) + (signed ? 0 : 1));
        if (trap !== 0) return -trap;
        if (to64) putI64(sl, sh, t, v);
        else {
          sl[t] = truncI32(v);
          sh[t] = 0;
        }
      } else if (to64) putI64Sat(sl, sh, t, v, signed);
      else {
        sl[t] = truncSatI32(v, signed);
        sh[t] = 0;
      }
      return sp;
    }
    // ---- integer / float -> f32
    case 0xb2: sl[t] = f32Bits(Math.fround(sl[t])); return sp; // prettier-ignore
    case 0xb3: sl[t] = f32Bits(Math.fround(sl[t] >>> 0)); return sp; // prettier-ignore
    case 0xb4: sl[t] = f32Bits(s64ToF32(sl[t], sh[t])); sh[t] = 0; return sp; // prettier-ignore
    case 0xb5: sl[t] = f32Bits(u64ToF32(sl[t], sh[t])); sh[t] = 0; return sp; // prettier-ignore
    case 0xb6: sl[t] = f32Bits(Math.fround(f64Value(sl[t], sh[t]))); sh[t] = 0; return sp; // prettier-ignore
    // ---- integer / float -> f64
    case 0xb7: putF64(sl, sh, t, sl[t]); return sp; // prettier-ignore
    case 0xb8: putF64(sl, sh, t, sl[t] >>> 0); return sp; // prettier-ignore
    case 0xb9: putF64(sl, sh, t, s64Value(sl[t], sh[t])); return sp; // prettier-ignore
    case 0xba: putF64(sl, sh, t, u64Value(sl[t], sh[t])); return sp; // prettier-ignore
    case 0xbb: putF64(sl, sh, t, f32Value(sl[t])); return sp; // prettier-ignore
  }
  throw new Error(`floatStep: opcode 0x${op.toString(16)} is not a float operation`);
}

/** eq ne lt gt le ge (k = 0..5) as an i32. IEEE: every comparison with NaN is false but ne. */
export function compare(k: number, x: number, y: number): number {
  switch (k) {
    case 0: return x === y ? 1 : 0; // prettier-ignore
    case 1: return x !== y ? 1 : 0; // prettier-ignore
    case 2: return x < y ? 1 : 0; // prettier-ignore
    case 3: return x > y ? 1 : 0; // prettier-ignore
    case 4: return x <= y ? 1 : 0; // prettier-ignore
    default: return x >= y ? 1 : 0; // prettier-ignore
  }
}

/** ceil floor trunc nearest sqrt (k = 0..4). */
export function unary(k: number, x: number, f32: boolean): number {
  switch (k) {
    case 0: return Math.ceil(x); // prettier-ignore
    case 1: return Math.floor(x); // prettier-ignore
    case 2: return Math.trunc(x); // prettier-ignore
    case 3: return nearest(x); // prettier-ignore
    default: return f32 ? Math.fround(Math.sqrt(x)) : Math.sqrt(x); // prettier-ignore
  }
}

/** add sub mul div min max (k = 0..5). min/max: NaN if either is NaN, -0 below +0 (Math.min/max). */
export function binary(k: number, x: number, y: number, f32: boolean): number {
  let r: number;
  switch (k) {
    case 0: r = x + y; break; // prettier-ignore
    case 1: r = x - y; break; // prettier-ignore
    case 2: r = x * y; break; // prettier-ignore
    case 3: r = x / y; break; // prettier-ignore
    case 4: return Math.min(x, y); // prettier-ignore
    default: return Math.max(x, y); // prettier-ignore
  }
  return f32 ? Math.fround(r) : r;
}

// ------------------------------------------------------------------------------------------------
// The same step on bigint values (verify.ts): one implementation, through a two-slot stack.

const SL = new Int32Array(2);
const SH = new Int32Array(2);

/**
 * Float numeric opcode `op` on u64 slot values: `x` the first operand of a binary op (ignored for
 * unary ones), `y` the top. Returns the pushed u64 value, or { trap }. An operand of a 32-bit type
 * is its low half, a 32-bit result is zero-extended, as in every verified step (a state the machine
 * reaches never has anything else there).
 */
export function floatStepBig(op: number, x: bigint, y: bigint): bigint | { trap: number } {
  const k = FLOAT_POPS[op];
  if (k === 0) throw new Error(`floatStepBig: opcode 0x${op.toString(16)} is not a float operation`);
  const vals = k === 2 ? [x, y] : [y];
  for (let i = 0; i < k; i++) {
    SL[i] = Number(vals[i] & 0xffffffffn) | 0;
    SH[i] = Number((vals[i] >> 32n) & 0xffffffffn) | 0;
  }
  const r = floatStep(op, SL, SH, k);
  if (r < 0) return { trap: -r };
  return RESULT32[op] ? BigInt(SL[0] >>> 0) : (BigInt(SH[0] >>> 0) << 32n) | BigInt(SL[0] >>> 0);
}
