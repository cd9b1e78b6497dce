/** Deterministic pseudo-random data for the hash tests and benchmarks (xorshift32). */

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

/** n bytes from the xorshift32 stream of `seed`. */
export function bytes(n: number, seed: number): Uint8Array {
  const r = rng(seed), b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() & 255;
  return b;
}
