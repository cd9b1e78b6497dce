/**
 * 64-bit integer operations on (lo, hi) int32 halves, written into the value stack in place.
 * The executor keeps i64 values as two int32 words to stay in V8's fast integer paths; BigInt is
 * used only for division, which is rare and not worth the manual long division.
 * Each function reads its operands from slots i (and i + 1) and writes its result to slot i.
 */

export function mul64(lo: Int32Array, hi: Int32Array, i: number): void {
  const alo = lo[i], ahi = hi[i], blo = lo[i + 1], bhi = hi[i + 1];
  const a0 = alo & 0xffff, a1 = alo >>> 16, b0 = blo & 0xffff, b1 = blo >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16); // high word of alo*blo (unsigned)
  lo[i] = (mid << 16) | (p00 & 0xffff);
  hi[i] = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
}

export function shl64(lo: Int32Array, hi: Int32Array, i: number): void {
  const k = lo[i + 1] & 63;
  const alo = lo[i], ahi = hi[i];
  if (k === 0) return;
  if (k < 32) {
    hi[i] = (ahi << k) | (alo >>> (32 - k));
    lo[i] = alo << k;
  } else {
    hi[i] = alo << (k - 32);
    lo[i] = 0;
  }
}

export function shrU64(lo: Int32Array, hi: Int32Array, i: number): void {
  const k = lo[i + 1] & 63;
  const alo = lo[i], ahi = hi[i];
  if (k === 0) return;
  if (k < 32) {
    lo[i] = (alo >>> k) | (ahi << (32 - k));
    hi[i] = ahi >>> k;
  } else {
    lo[i] = ahi >>> (k - 32);
    hi[i] = 0;
  }
}

export function shrS64(lo: Int32Array, hi: Int32Array, i: number): void {
  const k = lo[i + 1] & 63;
  const alo = lo[i], ahi = hi[i];
  if (k === 0) return;
  if (k < 32) {
    lo[i] = (alo >>> k) | (ahi << (32 - k));
    hi[i] = ahi >> k;
  } else {
    lo[i] = ahi >> (k - 32);
    hi[i] = ahi >> 31;
  }
}

export function rotl64(lo: Int32Array, hi: Int32Array, i: number, right: boolean): void {
  let k = lo[i + 1] & 63;
  if (right) k = (64 - k) & 63;
  if (k === 0) return;
  let alo = lo[i], ahi = hi[i];
  if (k >= 32) {
    const t = alo;
    alo = ahi;
    ahi = t;
    k -= 32;
    if (k === 0) {
      lo[i] = alo;
      hi[i] = ahi;
      return;
    }
  }
  lo[i] = (alo << k) | (ahi >>> (32 - k));
  hi[i] = (ahi << k) | (alo >>> (32 - k));
}

export function ctz32(x: number): number {
  return x === 0 ? 32 : 31 - Math.clz32(x & -x);
}

export function popcnt32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Unsigned 64-bit compare of slots i and i+1: -1, 0 or 1. */
export function cmpU64(lo: Int32Array, hi: Int32Array, i: number): number {
  const ah = hi[i] >>> 0, bh = hi[i + 1] >>> 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = lo[i] >>> 0, bl = lo[i + 1] >>> 0;
  return al === bl ? 0 : al < bl ? -1 : 1;
}

/** Signed 64-bit compare of slots i and i+1: -1, 0 or 1. */
export function cmpS64(lo: Int32Array, hi: Int32Array, i: number): number {
  const ah = hi[i], bh = hi[i + 1];
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = lo[i] >>> 0, bl = lo[i + 1] >>> 0;
  return al === bl ? 0 : al < bl ? -1 : 1;
}

export function toBigU64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function store64(lo: Int32Array, hi: Int32Array, i: number, v: bigint): void {
  lo[i] = Number(v & 0xffffffffn) | 0;
  hi[i] = Number((v >> 32n) & 0xffffffffn) | 0;
}

/**
 * i64 div_s / div_u / rem_s / rem_u (wasm opcodes 0x7f..0x82). Returns a Trap code or 0.
 * Trap codes are passed in to keep this module free of isa imports in the hot path.
 */
export function divRem64(op: number, lo: Int32Array, hi: Int32Array, i: number): number {
  if (lo[i + 1] === 0 && hi[i + 1] === 0) return 2; // Trap.IntegerDivideByZero
  const signed = op === 0x7f || op === 0x81;
  let a = toBigU64(lo[i], hi[i]);
  let b = toBigU64(lo[i + 1], hi[i + 1]);
  if (signed) {
    a = BigInt.asIntN(64, a);
    b = BigInt.asIntN(64, b);
    if (op === 0x7f && a === -(1n << 63n) && b === -1n) return 3; // Trap.IntegerOverflow
  }
  const r = op === 0x7f || op === 0x80 ? a / b : a % b;
  store64(lo, hi, i, BigInt.asUintN(64, r));
  return 0;
}
