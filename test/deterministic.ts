/** Deterministic pseudo-random data for the tests and benchmarks. */

/** A stream of 32-bit numbers (xorshift32) from `seed`. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * A source of bytes from `seed`: each call returns the next `n` bytes of its stream (bits 16..23 of
 * the successive states of a 32-bit linear congruential generator).
 */
export function byteSource(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0;
  return (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      b[i] = s >>> 16;
    }
    return b;
  };
}

/** The first `n` bytes of the stream of `seed`. */
export function bytes(n: number, seed: number): Uint8Array {
  return byteSource(seed)(n);
}
