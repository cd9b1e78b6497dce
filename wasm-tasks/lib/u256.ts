// 256-bit unsigned integers for truewasm tasks: 8 little-endian u32 limbs (32 bytes) at a
// caller-chosen address, so that a little-endian 256-bit number in memory (a Bitcoin block hash)
// is already one. Arithmetic wraps modulo 2^256 like Bitcoin Core's arith_uint256.
// No allocation; scratch space is static (not re-entrant).

const T1: usize = memory.data(32, 16);
const T2: usize = memory.data(32, 16);
const T3: usize = memory.data(32, 16);

// @ts-ignore: decorator
@inline function limb(p: usize, i: i32): u32 {
  return load<u32>(p + (<usize>i << 2));
}
// @ts-ignore: decorator
@inline function setLimb(p: usize, i: i32, v: u32): void {
  store<u32>(p + (<usize>i << 2), v);
}

export function u256Zero(p: usize): void {
  store<u64>(p, 0, 0);
  store<u64>(p, 0, 8);
  store<u64>(p, 0, 16);
  store<u64>(p, 0, 24);
}

export function u256Copy(dst: usize, src: usize): void {
  store<u64>(dst, load<u64>(src, 0), 0);
  store<u64>(dst, load<u64>(src, 8), 8);
  store<u64>(dst, load<u64>(src, 16), 16);
  store<u64>(dst, load<u64>(src, 24), 24);
}

export function u256IsZero(p: usize): bool {
  return (load<u64>(p, 0) | load<u64>(p, 8) | load<u64>(p, 16) | load<u64>(p, 24)) == 0;
}

/** -1, 0 or 1 as a < b, a == b, a > b. */
export function u256Cmp(a: usize, b: usize): i32 {
  for (let i = 24; i >= 0; i -= 8) {
    const x = load<u64>(a + <usize>i);
    const y = load<u64>(b + <usize>i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

/** a += b (mod 2^256). */
export function u256Add(a: usize, b: usize): void {
  let carry: u64 = 0;
  for (let i = 0; i < 8; i++) {
    const s = <u64>limb(a, i) + <u64>limb(b, i) + carry;
    setLimb(a, i, <u32>s);
    carry = s >>> 32;
  }
}

/** a -= b (mod 2^256). */
export function u256Sub(a: usize, b: usize): void {
  let borrow: u64 = 0;
  for (let i = 0; i < 8; i++) {
    const d = <u64>limb(a, i) - <u64>limb(b, i) - borrow;
    setLimb(a, i, <u32>d);
    borrow = (d >>> 32) & 1;
  }
}

/** a = ~a. */
export function u256Not(a: usize): void {
  store<u64>(a, ~load<u64>(a, 0), 0);
  store<u64>(a, ~load<u64>(a, 8), 8);
  store<u64>(a, ~load<u64>(a, 16), 16);
  store<u64>(a, ~load<u64>(a, 24), 24);
}

/** a += 1 (mod 2^256). */
export function u256Inc(a: usize): void {
  for (let i = 0; i < 8; i++) {
    const v = limb(a, i) + 1;
    setLimb(a, i, v);
    if (v != 0) return;
  }
}

/** a *= m (mod 2^256). */
export function u256MulSmall(a: usize, m: u32): void {
  let carry: u64 = 0;
  for (let i = 0; i < 8; i++) {
    const p = <u64>limb(a, i) * <u64>m + carry;
    setLimb(a, i, <u32>p);
    carry = p >>> 32;
  }
}

/** a /= d (d != 0), returns the remainder. */
export function u256DivSmall(a: usize, d: u32): u32 {
  let rem: u64 = 0;
  for (let i = 7; i >= 0; i--) {
    const cur = (rem << 32) | <u64>limb(a, i);
    setLimb(a, i, <u32>(cur / <u64>d));
    rem = cur % <u64>d;
  }
  return <u32>rem;
}

/** Number of significant bits (0 for zero). */
export function u256Bits(a: usize): u32 {
  for (let i = 7; i >= 0; i--) {
    const v = limb(a, i);
    if (v != 0) return (<u32>i << 5) + 32 - clz<u32>(v);
  }
  return 0;
}

/** a <<= n (mod 2^256; n >= 256 gives 0). */
export function u256Shl(a: usize, n: u32): void {
  const k = <i32>(n >>> 5);
  const s = n & 31;
  for (let i = 7; i >= 0; i--) {
    const j = i - k;
    let v: u32 = 0;
    if (j >= 0) {
      v = limb(a, j) << s;
      if (s != 0 && j >= 1) v |= limb(a, j - 1) >>> (32 - s);
    }
    setLimb(a, i, v);
  }
}

/** a >>= n (n >= 256 gives 0). */
export function u256Shr(a: usize, n: u32): void {
  const k = <i32>(n >>> 5);
  const s = n & 31;
  for (let i = 0; i < 8; i++) {
    const j = i + k;
    let v: u32 = 0;
    if (j < 8) {
      v = limb(a, j) >>> s;
      if (s != 0 && j + 1 < 8) v |= limb(a, j + 1) << (32 - s);
    }
    setLimb(a, i, v);
  }
}

/** q = n / d, n becomes the remainder (d != 0; q must not alias n or d). Shift-subtract. */
export function u256DivMod(q: usize, n: usize, d: usize): void {
  u256Zero(q);
  const nb = u256Bits(n);
  const db = u256Bits(d);
  if (db == 0) unreachable();
  if (nb < db) return;
  let shift = nb - db;
  u256Copy(T1, d);
  u256Shl(T1, shift);
  while (true) {
    if (u256Cmp(n, T1) >= 0) {
      u256Sub(n, T1);
      setLimb(q, <i32>(shift >>> 5), limb(q, <i32>(shift >>> 5)) | (<u32>1 << (shift & 31)));
    }
    if (shift == 0) break;
    u256Shr(T1, 1);
    shift--;
  }
}

// Compact ("nBits") encoding, exactly as Bitcoin Core's arith_uint256::SetCompact/GetCompact.

/** a = SetCompact(c). Returns 0, or 1 if negative, 2 if overflowing (the value is still set). */
export function u256SetCompact(a: usize, c: u32): u32 {
  const size = c >>> 24;
  let word = c & 0x007fffff;
  u256Zero(a);
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    setLimb(a, 0, word);
  } else {
    setLimb(a, 0, word);
    u256Shl(a, 8 * (size - 3));
  }
  if (word != 0 && (c & 0x00800000) != 0) return 1;
  if (word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))) return 2;
  return 0;
}

/** GetCompact(a) (non-negative). */
export function u256GetCompact(a: usize): u32 {
  let size = (u256Bits(a) + 7) >>> 3;
  let compact: u32;
  if (size <= 3) {
    compact = limb(a, 0) << (8 * (3 - size));
  } else {
    u256Copy(T2, a);
    u256Shr(T2, 8 * (size - 3));
    compact = limb(T2, 0);
  }
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return compact | (size << 24);
}

/** work = 2^256 / (target + 1) computed as Bitcoin Core does: ~target / (target + 1) + 1. */
export function u256Work(work: usize, target: usize): void {
  u256Copy(T2, target);
  u256Not(T2); // n = ~target
  u256Copy(T3, target);
  u256Inc(T3); // d = target + 1
  if (u256IsZero(T3)) {
    // target = 2^256 - 1: Core divides by zero here; never reached (targets are <= the PoW limit).
    unreachable();
  }
  u256DivMod(work, T2, T3);
  u256Inc(work);
}
