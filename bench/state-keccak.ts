/**
 * keccak256 throughput of interpreter/hash (WebAssembly) and, for comparison, of the `keccak256` npm
 * package the project already depends on.
 *
 *   npx tsx bench/state-keccak.ts            # prints the JSON of measureKeccak({ reference: true })
 *
 * Timing: every figure is the best of 5 samples of >= 0.1 s each, taken round-robin across the
 * figures (see measureRates). Samples are timed with the
 * thread's CPU clock (process.threadCpuUsage) when Node has it, so that a machine shared with other
 * jobs does not halve the figures; `clock` in the result says which clock was used, and the
 * `wall*` figures give the wall-clock view of the headline numbers.
 */
import { createRequire } from "node:module";
import { hash2, hashPairsInPlace, keccak256, scratch, hashPairsAt } from "../interpreter/hash/keccak.js";

type ThreadCpu = { threadCpuUsage?: () => { user: number; system: number } };
const threadCpu = (process as unknown as ThreadCpu).threadCpuUsage?.bind(process);

/** Seconds on the clock used for rates: thread CPU time when available, else wall time. */
export const clockName = threadCpu ? "thread-cpu" : "wall";
export function clockSeconds(): number {
  if (threadCpu) {
    const u = threadCpu();
    return (u.user + u.system) / 1e6;
  }
  return performance.now() / 1e3;
}

/**
 * Rates (units per second) of several functions, each performing `units` units per call. Each
 * function is calibrated to samples of >= minSeconds, then the samples are taken round-robin
 * (`samples` rounds) so that every figure sees the same mix of machine load, and the best sample of
 * each is kept — on the chosen clock and, separately, on the wall clock.
 */
export function measureRates(
  cases: Record<string, { fn: () => void; units: number; minSeconds?: number }>,
  samples = 5,
): Record<string, { rate: number; wallRate: number }> {
  const reps: Record<string, number> = {};
  for (const [name, c] of Object.entries(cases)) {
    const min = c.minSeconds ?? 0.1;
    let r = 1;
    for (;;) {
      const t = clockSeconds();
      for (let i = 0; i < r; i++) c.fn();
      if (clockSeconds() - t >= min / 2) break;
      r *= 2;
    }
    reps[name] = r * 2;
  }
  const out: Record<string, { rate: number; wallRate: number }> = {};
  for (const name of Object.keys(cases)) out[name] = { rate: 0, wallRate: 0 };
  for (let s = 0; s < samples; s++) {
    for (const [name, c] of Object.entries(cases)) {
      const r = reps[name];
      const t = clockSeconds(), w = performance.now();
      for (let i = 0; i < r; i++) c.fn();
      const dt = clockSeconds() - t, dw = (performance.now() - w) / 1e3;
      out[name].rate = Math.max(out[name].rate, (r * c.units) / dt);
      out[name].wallRate = Math.max(out[name].wallRate, (r * c.units) / dw);
    }
  }
  return out;
}

/** measureRates for one function. */
export function measureRate(fn: () => void, units: number, samples = 5, minSeconds = 0.1): { rate: number; wallRate: number } {
  return measureRates({ x: { fn, units, minSeconds } }, samples).x;
}

export interface KeccakFigures {
  /** headline: 65-byte Merkle-node hashes per second through the batch API (hashPairsInPlace) */
  keccakPerSecond: number;
  clock: string;
  /** batch, hashes of 65 B (prefix ‖ 64 B) per second, zero-copy in the module's scratch */
  batch65PerSecond: number;
  /** batch, hashes of 64 B per second, zero-copy */
  batch64PerSecond: number;
  /** batch through hashPairsInPlace on a JS Uint8Array (copy in and out), 65 B */
  batch65CopyPerSecond: number;
  /** one call per hash: hash2(prefix, a, b, out) — 65 B */
  hash2PerSecond: number;
  /** one call per hash: keccak256(64 B) with an output buffer */
  call64PerSecond: number;
  /** one call per hash: keccak256(65 B), allocating the digest */
  call65PerSecond: number;
  /** keccak256 of a 1 MiB input, MiB per second */
  mibPerSecond: number;
  wallKeccakPerSecond: number;
  wallMibPerSecond: number;
  /** the `keccak256` npm package (native `keccak` addon when its prebuild loads, else pure JS) */
  reference?: { implementation: string; call64PerSecond: number; call65PerSecond: number; mibPerSecond: number };
}

const round = (x: number) => Math.round(x);

export function measureKeccak(options: { reference?: boolean } = {}): KeccakFigures {
  const N = 4096;
  const rnd = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 2654435761) >>> 24;
    return b;
  };
  // zero-copy batches: inputs at scratch[0 ..), outputs at scratch[N*64 ..)
  scratch(N * 96).set(rnd(N * 64));
  const buf = rnd(N * 64);
  const a = rnd(32), b = rnd(32).reverse(), out = new Uint8Array(32);
  const d64 = rnd(64), d65 = rnd(65), mib = rnd(1 << 20);
  const K = 10000;
  const r = measureRates({
    b65: { fn: () => hashPairsAt(0x01, 0, N * 64, N), units: N },
    b64: { fn: () => hashPairsAt(-1, 0, N * 64, N), units: N },
    b65c: { fn: () => hashPairsInPlace(0x01, buf, N), units: N }, // contents change every call: fine
    h2: {
      fn: () => {
        for (let i = 0; i < K; i++) hash2(0x01, a, b, out);
      },
      units: K,
    },
    c64: {
      fn: () => {
        for (let i = 0; i < K; i++) keccak256(d64, out);
      },
      units: K,
    },
    c65: {
      fn: () => {
        for (let i = 0; i < K; i++) keccak256(d65);
      },
      units: K,
    },
    big: { fn: () => keccak256(mib), units: 1, minSeconds: 0.2 },
  });
  const { b65, b64, b65c, h2, c64, c65, big } = r;

  const fig: KeccakFigures = {
    keccakPerSecond: round(b65c.rate),
    clock: clockName,
    batch65PerSecond: round(b65.rate),
    batch64PerSecond: round(b64.rate),
    batch65CopyPerSecond: round(b65c.rate),
    hash2PerSecond: round(h2.rate),
    call64PerSecond: round(c64.rate),
    call65PerSecond: round(c65.rate),
    mibPerSecond: Math.round(big.rate * 10) / 10,
    wallKeccakPerSecond: round(b65c.wallRate),
    wallMibPerSecond: Math.round(big.wallRate * 10) / 10,
  };
  if (options.reference) {
    const req = createRequire(import.meta.url);
    const ref = req("keccak256") as (d: Buffer) => Buffer;
    let implementation = "keccak (pure JS fallback)";
    try {
      req("keccak/bindings");
      implementation = "keccak (native N-API addon)";
    } catch {}
    const r64 = Buffer.from(d64), r65 = Buffer.from(d65), rm = Buffer.from(mib);
    const k = 2000;
    const rr = measureRates({
      c64: {
        fn: () => {
          for (let i = 0; i < k; i++) ref(r64);
        },
        units: k,
      },
      c65: {
        fn: () => {
          for (let i = 0; i < k; i++) ref(r65);
        },
        units: k,
      },
      big: { fn: () => ref(rm), units: 1, minSeconds: 0.2 },
    });
    fig.reference = {
      implementation,
      call64PerSecond: round(rr.c64.rate),
      call65PerSecond: round(rr.c65.rate),
      mibPerSecond: Math.round(rr.big.rate * 10) / 10,
    };
  }
  return fig;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  console.log(JSON.stringify(measureKeccak({ reference: true }), null, 2));
}
