/**
 * The float instructions and their test operands, shared by the float tests (semantics against
 * V8, the state/prover vectors, the Solidity float unit, the JIT lockstep and the random programs).
 *
 * Operands are bit patterns (bigint): f32 in the low 32 bits, f64 in 64, integers as the machine
 * keeps them (i32 zero-extended, i64 as u64).
 */
import { FC_NAMES, NUM_IN1, NUM_IN2, NUM_OUT, OPCODE_NAMES, T_F32, T_F64, T_I32, T_I64 } from "../../interpreter/decode.js";
import { FLOAT_POPS, TRUNC_OPS, TRUNC_SAT_OPS } from "../../interpreter/float.js";

export type NumT = "i32" | "i64" | "f32" | "f64";

export interface FloatOp {
  name: string; // WebAssembly name, e.g. "f32.add", "i32.trunc_sat_f64_u"
  op: number; // machine opcode (the WebAssembly byte; trunc_sat 0xc5..0xcc)
  ins: NumT[]; // operand types, first operand first
  out: NumT;
  /** abs, neg, copysign: bits preserved (no NaN canonicalisation). */
  bitwise: boolean;
  /** A trapping conversion. */
  traps: boolean;
}

const T: Record<number, NumT> = { [T_I32]: "i32", [T_I64]: "i64", [T_F32]: "f32", [T_F64]: "f64" };

/** Every float numeric instruction (comparisons, arithmetic, conversions, trunc_sat). */
export const FLOAT_OPS: FloatOp[] = (() => {
  const ops: FloatOp[] = [];
  for (let op = 0; op < 256; op++) {
    if (!FLOAT_POPS[op] || op >= 0xc5) continue;
    const ins = FLOAT_POPS[op] === 2 ? [T[NUM_IN1[op]], T[NUM_IN2[op]]] : [T[NUM_IN1[op]]];
    const name = OPCODE_NAMES[op];
    ops.push({ name, op, ins, out: T[NUM_OUT[op]], bitwise: /\.(abs|neg|copysign)$/.test(name), traps: /trunc_f/.test(name) });
  }
  TRUNC_SAT_OPS.forEach((op, sub) => {
    const twin = TRUNC_OPS[sub];
    ops.push({ name: FC_NAMES[sub], op, ins: [T[NUM_IN1[twin]]], out: T[NUM_OUT[twin]], bitwise: false, traps: false });
  });
  return ops;
})();

// ------------------------------------------------------------------------------------------------
// Edge operands

export const F32_EDGES: bigint[] = [
  0x00000000n, 0x80000000n, // ±0
  0x3f800000n, 0xbf800000n, // ±1
  0x3f000000n, 0xbf000000n, 0x3fc00000n, 0x40200000n, 0xc0600000n, // ±0.5, 1.5, 2.5, -3.5 (ties of nearest)
  0x00000001n, 0x807fffffn, 0x00800000n, // smallest subnormal, -largest subnormal, smallest normal
  0x7f7fffffn, 0xff7fffffn, // ±max
  0x7f800000n, 0xff800000n, // ±inf
  0x7fc00000n, 0xffc00000n, 0x7fa00001n, 0xff800001n, // NaNs: canonical, negative, signalling payloads
  0x4effffffn, 0x4f000000n, 0xcf000000n, 0xcf000001n, 0x4f800000n, // around ±2^31 and 2^32
  0x5effffffn, 0x5f000000n, 0xdf000000n, 0x5f800000n, // around 2^63, -2^63, 2^64
  0x3f7fffffn, 0xbf7fffffn, 0x4b000001n, 0x4b7fffffn, // just below ±1, odd integers at 2^23
  0x40490fdbn, 0x3eaaaaabn, // pi, 1/3
];

export const F64_EDGES: bigint[] = [
  0x0000000000000000n, 0x8000000000000000n,
  0x3ff0000000000000n, 0xbff0000000000000n,
  0x3fe0000000000000n, 0xbfe0000000000000n, 0x3ff8000000000000n, 0x4004000000000000n, 0xc00c000000000000n,
  0x0000000000000001n, 0x800fffffffffffffn, 0x0010000000000000n,
  0x7fefffffffffffffn, 0xffefffffffffffffn,
  0x7ff0000000000000n, 0xfff0000000000000n,
  0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff4000000000001n, 0xfff0000000000001n,
  0x41dfffffffc00000n, 0x41dfffffffffffffn, 0x41e0000000000000n, 0xc1e0000000000000n, 0xc1e0000000200000n, 0xc1e00000001fffffn, 0x41efffffffffffffn, 0x41f0000000000000n, // around ±2^31, 2^32
  0x43dfffffffffffffn, 0x43e0000000000000n, 0xc3e0000000000000n, 0xc3e0000000000001n, 0x43f0000000000000n, 0x43efffffffffffffn, // around ±2^63, 2^64
  0x3fefffffffffffffn, 0xbfefffffffffffffn, 0x4330000000000001n, 0x433fffffffffffffn,
  0x400921fb54442d18n, 0x3fd5555555555555n, 0x36a0000000000000n, 0x47efffffe0000000n, 0x47efffffefffffffn, // pi, 1/3, f32 demote edges
  0x3690000000000000n, 0x36a8000000000000n, 0x380fffffffffffffn, // halfway to the smallest f32 subnormal and around it
];

export const I32_EDGES: bigint[] = [0n, 1n, 0xffffffffn, 0x80000000n, 0x7fffffffn, 0x01000001n, 0xfeffffffn, 0x7fffffc0n, 0xffffff81n, 16777217n, 33554435n];
export const I64_EDGES: bigint[] = [
  0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn,
  0x0000000001000001n, 0x0020000000000001n, 0x0020000000000003n, 0xffdfffffffffffffn, // 2^24 + 1, 2^53 + 1, 2^53 + 3, -(2^53 + 1)
  0x8000008000000001n, 0x8000008000000000n, 0x7fffff4000000001n, 0x7fffff4000000000n, // i64 -> f32 ties and sticky bits
  0x0000000100000000n, 0xffffffff00000000n, 0x00000000ffffffffn, 0xfffffffffffff800n, 0x0000010000000801n,
];

export function edgesOf(t: NumT): bigint[] {
  return t === "f32" ? F32_EDGES : t === "f64" ? F64_EDGES : t === "i32" ? I32_EDGES : I64_EDGES;
}

// ------------------------------------------------------------------------------------------------
// Random operands (deterministic)

/** xorshift128+ on bigints: deterministic random 64-bit words. */
export class Rng {
  private s0: bigint;
  private s1: bigint;
  constructor(seed: number) {
    this.s0 = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
    this.s1 = (BigInt(seed) ^ 0x5deece66dn) * 0xbf58476d1ce4e5b9n + 7n;
    for (let i = 0; i < 8; i++) this.u64();
  }
  u64(): bigint {
    const M = 0xffffffffffffffffn;
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x = (x ^ (x << 23n)) & M;
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (this.s1 + y) & M;
  }
  int(n: number): number {
    return Number(this.u64() % BigInt(n));
  }
  pick<X>(a: readonly X[]): X {
    return a[this.int(a.length)];
  }
}

const FMT = { f32: { mant: 23n, exp: 8n, bias: 127n }, f64: { mant: 52n, exp: 11n, bias: 1023n } };

/** Bits of a float from sign, unbiased exponent (clamped to the format) and mantissa bits. */
function make(t: "f32" | "f64", sign: bigint, e: bigint, mant: bigint): bigint {
  const f = FMT[t];
  const be = e + f.bias;
  const maxE = (1n << f.exp) - 1n;
  const E = be < 0n ? 0n : be > maxE ? maxE : be;
  return (sign << (f.mant + f.exp)) | (E << f.mant) | (mant & ((1n << f.mant) - 1n));
}

/**
 * A random operand of type t: a mix of edges, raw random bits, small integers and halves (ties),
 * values near the integer conversion boundaries, subnormals and numbers of nearby exponents.
 */
export function randomOperand(rng: Rng, t: NumT, near?: bigint): bigint {
  const r = rng.int(16);
  if (t === "i32" || t === "i64") {
    const bits = t === "i32" ? 32n : 64n;
    const mask = (1n << bits) - 1n;
    if (r < 3) return rng.pick(edgesOf(t));
    if (r < 6) return rng.u64() & mask; // full width
    if (r < 9) return (rng.u64() >> BigInt(rng.int(Number(bits)))) & mask; // any bit length
    if (r < 11) return BigInt.asUintN(Number(bits), -(rng.u64() >> BigInt(rng.int(Number(bits))))); // negative, any length
    // long runs of ones / sparse patterns (rounding carries, sticky bits)
    const len = BigInt(1 + rng.int(Number(bits) - 1));
    const run = ((1n << len) - 1n) << BigInt(rng.int(Number(bits) - Number(len) + 1));
    return (r < 14 ? run : run | 1n) & mask;
  }
  const f = FMT[t];
  const mant = rng.u64() & ((1n << f.mant) - 1n);
  const sign = rng.u64() & 1n;
  if (r < 2) return rng.pick(edgesOf(t));
  if (r < 4) return rng.u64() & ((1n << (f.mant + f.exp + 1n)) - 1n); // any bits (NaNs, subnormals included)
  if (r < 6) {
    // a small integer or a half: nearest/trunc ties, exact arithmetic
    const k = BigInt(rng.int(64)) - 32n;
    const v = Number(k) / (rng.int(2) ? 1 : 2);
    return floatBits(t, v);
  }
  if (r < 8) {
    // near the integer conversion boundaries: 2^31, 2^32, 2^63, 2^64, a few ulps around, either sign
    const e = BigInt(rng.pick([31, 32, 63, 64, 0, 24, 53]));
    const ulps = BigInt(rng.int(5)) - 2n;
    const base = make(t, sign, e, 0n);
    return (base + ulps) & ((1n << (f.mant + f.exp + 1n)) - 1n);
  }
  if (r < 10) return make(t, sign, -f.bias, mant); // subnormal (or zero)
  if (r < 12 && near !== undefined) {
    // an exponent close to another operand's: sums with carries, cancellations and ties
    const ne = ((near >> f.mant) & ((1n << f.exp) - 1n)) - f.bias;
    const d = BigInt(rng.int(2 * Number(f.mant) + 6)) - f.mant - 3n;
    const low = rng.int(3) === 0 ? mant & ~((1n << BigInt(rng.int(Number(f.mant)))) - 1n) : mant; // trailing zeros
    return make(t, sign, ne + d, low);
  }
  const e = BigInt(rng.int(Number(2n * f.bias + 1n))) - f.bias + 1n; // any normal exponent
  const small = BigInt(rng.int(40)) - 20n; // or one of small magnitude
  return make(t, sign, rng.int(2) ? e : small, mant);
}

const F64B = new Float64Array(1);
const U64B = new BigUint64Array(F64B.buffer);
const F32B = new Float32Array(1);
const U32B = new Uint32Array(F32B.buffer);

/** Bits of a JS number as f32 (Math.fround) or f64. */
export function floatBits(t: "f32" | "f64", v: number): bigint {
  if (t === "f64") {
    F64B[0] = v;
    return U64B[0];
  }
  F32B[0] = v;
  return BigInt(U32B[0]);
}

/** Whether bits are a NaN of type t. */
export function isNaNBits(t: NumT, bits: bigint): boolean {
  if (t === "f32") return (bits & 0x7f800000n) === 0x7f800000n && (bits & 0x7fffffn) !== 0n;
  if (t === "f64") return (bits & 0x7ff0000000000000n) === 0x7ff0000000000000n && (bits & 0xfffffffffffffn) !== 0n;
  return false;
}

/** The canonical NaN of a float type (the machine's rule). */
export function canonicalNaN(t: "f32" | "f64"): bigint {
  return t === "f32" ? 0x7fc00000n : 0x7ff8000000000000n;
}

/** A float literal of the text format for bits (exact: hex floats, nan:0x payloads). */
export function floatLiteral(t: "f32" | "f64", bits: bigint): string {
  const f = FMT[t];
  const sign = (bits >> (f.mant + f.exp)) & 1n ? "-" : "";
  const E = (bits >> f.mant) & ((1n << f.exp) - 1n);
  const m = bits & ((1n << f.mant) - 1n);
  const digits = Number((f.mant + 3n) / 4n);
  const mhex = (m << (BigInt(digits) * 4n - f.mant)).toString(16).padStart(digits, "0");
  if (E === (1n << f.exp) - 1n) return m === 0n ? `${sign}inf` : `${sign}nan:0x${m.toString(16)}`;
  if (E === 0n) return `${sign}0x0.${mhex}p-${f.bias - 1n}`;
  return `${sign}0x1.${mhex}p${E - f.bias}`;
}

/** A constant of type t with the given bits, in the text format. */
export function constText(t: NumT, bits: bigint): string {
  if (t === "i32") return `(i32.const ${BigInt.asIntN(32, bits)})`;
  if (t === "i64") return `(i64.const ${BigInt.asIntN(64, bits)})`;
  return `(${t}.const ${floatLiteral(t, bits)})`;
}
