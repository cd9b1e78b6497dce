/**
 * Generator of interpreter/hash/assembly/keccak.ts (AssemblyScript). The unrolled keccak-f[1600]
 * round bodies are derived mechanically here from the rho offsets and the pi permutation rather
 * than typed by hand; the generated file is checked in, and test/hash/keccak.test.ts checks that it
 * is exactly what this generator produces (so edit this file, then run it):
 *
 *   npx tsx interpreter/hash/gen-keccak.ts      # rewrites assembly/keccak.ts
 *
 * Two permutations are generated:
 *  - permute(s): scalar, 25 u64 lanes in locals, the XKCP "thetaRhoPiChiIotaPrepareTheta" schedule
 *    (state ping-pongs between two lane sets, two rounds per loop iteration, theta's column parities
 *    accumulated while chi produces each plane) with lane complementing: the lanes
 *    be bi go ki mi sa are stored complemented, which turns 20 of the 25 NOTs of chi into free
 *    AND/OR swaps. The chi form of every lane is found by exhaustive search over
 *    [~]x ^ ([~]y op [~]z), op in {&, |}, against the truth table, so no formula is transcribed.
 *  - permute2(s): two independent states at once in v128 lanes (wasm SIMD): chi uses v128.andnot,
 *    rotations are shl/shr/or, or a single byte shuffle when the offset is a multiple of 8.
 *    Used for batches (hashPairs), where it is ~1.5x the scalar throughput.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROWS = ["b", "g", "k", "m", "s"];
const COLS = ["a", "e", "i", "o", "u"];
/** rho offsets r[x][y] */
const RHO = [
  [0, 36, 3, 41, 18],
  [1, 44, 10, 45, 2],
  [62, 6, 43, 15, 61],
  [28, 55, 25, 21, 56],
  [27, 20, 39, 8, 14],
];
/** iota round constants */
const RC = [
  "0x0000000000000001", "0x0000000000008082", "0x800000000000808a", "0x8000000080008000",
  "0x000000000000808b", "0x0000000080000001", "0x8000000080008081", "0x8000000000008009",
  "0x000000000000008a", "0x0000000000000088", "0x0000000080008009", "0x000000008000000a",
  "0x000000008000808b", "0x800000000000008b", "0x8000000000008089", "0x8000000000008003",
  "0x8000000000008002", "0x8000000000000080", "0x000000000000800a", "0x800000008000000a",
  "0x8000000080008081", "0x8000000000008080", "0x0000000080000001", "0x8000000080008008",
];
/** lanes stored complemented by the scalar permutation (indices x + 5y): be bi go ki mi sa */
const COMPLEMENTED = new Set([1, 2, 8, 12, 17, 20]);

const lane = (S: string, x: number, y: number) => S + ROWS[y] + COLS[x];
const laneNames = (S: string) => Array.from({ length: 25 }, (_, i) => lane(S, i % 5, Math.floor(i / 5)));
/** pi: the output position (X, Y) receives the input lane (x, y) with X = y, Y = 2x + 3y. */
const piSource = (X: number, Y: number) => ({ x: (((Y - 3 * X) * 3) % 5 + 25) % 5, y: X });

/** Cheapest chi form [~]a ^ ([~]b op [~]c) for stored inputs/outputs with complement flags. */
function chiForm(a: string, b: string, c: string, ma: number, mb: number, mc: number, me: number): string {
  let best: { cost: number; expr: string } | undefined;
  for (const op of ["&", "|"]) {
    for (let n = 0; n < 8; n++) {
      const nx = n & 1, ny = (n >> 1) & 1, nz = (n >> 2) & 1;
      let ok = true;
      for (let t = 0; t < 8 && ok; t++) {
        const A = t & 1, B = (t >> 1) & 1, C = (t >> 2) & 1; // true bit values
        const y = B ^ mb ^ ny, z = C ^ mc ^ nz;
        const got = A ^ ma ^ nx ^ (op === "&" ? y & z : y | z);
        ok = got === (A ^ ((1 - B) & C) ^ me);
      }
      const cost = nx + ny + nz;
      if (ok && (!best || cost < best.cost)) {
        best = { cost, expr: `${nx ? "~" : ""}${a} ^ (${ny ? "~" : ""}${b} ${op} ${nz ? "~" : ""}${c})` };
      }
    }
  }
  if (!best) throw new Error("no chi form");
  return best.expr;
}

/** One scalar round A.. -> E.. (c0..c4 hold the column parities of A on entry, of E on exit). */
function scalarRound(A: string, E: string, rc: string, indent: string): string {
  const out: string[] = [];
  const L = (s: string) => out.push(indent + s);
  const cF = [0, 1, 2, 3, 4].map((x) => [0, 1, 2, 3, 4].reduce((p, y) => p ^ (COMPLEMENTED.has(x + 5 * y) ? 1 : 0), 0));
  const dF = [0, 1, 2, 3, 4].map((x) => cF[(x + 4) % 5] ^ cF[(x + 1) % 5]);
  L(`// round ${A}.. -> ${E}..`);
  for (let x = 0; x < 5; x++) L(`d${x} = c${(x + 4) % 5} ^ rotl<u64>(c${(x + 1) % 5}, 1);`);
  for (let Y = 0; Y < 5; Y++) {
    const bF: number[] = [];
    for (let X = 0; X < 5; X++) {
      const { x, y } = piSource(X, Y);
      const r = RHO[x][y];
      bF.push((COMPLEMENTED.has(x + 5 * y) ? 1 : 0) ^ dF[x]);
      const src = `${lane(A, x, y)} ^ d${x}`;
      L(`b${X} = ${r === 0 ? src : `rotl<u64>(${src}, ${r})`};`);
    }
    for (let X = 0; X < 5; X++) {
      const X1 = (X + 1) % 5, X2 = (X + 2) % 5;
      let e = chiForm(`b${X}`, `b${X1}`, `b${X2}`, bF[X], bF[X1], bF[X2], COMPLEMENTED.has(X + 5 * Y) ? 1 : 0);
      if (X === 0 && Y === 0) e += ` ^ ${rc}`;
      L(`${lane(E, X, Y)} = ${e};`);
    }
    for (let X = 0; X < 5; X++) L(Y === 0 ? `c${X} = ${lane(E, X, Y)};` : `c${X} ^= ${lane(E, X, Y)};`);
  }
  return out.join("\n");
}

/** One 2-way SIMD round (no complementing: v128.andnot makes chi two instructions). */
function simdRound(A: string, E: string, rc: string, indent: string): string {
  const out: string[] = [];
  const L = (s: string) => out.push(indent + s);
  const X = (a: string, b: string) => `v128.xor(${a}, ${b})`;
  const rot = (v: string, r: number) => {
    if (r % 8 === 0) {
      const k = r / 8, idx: number[] = [];
      for (let h = 0; h < 2; h++) for (let j = 0; j < 8; j++) idx.push(h * 8 + ((j - k + 8) % 8));
      return `i8x16.shuffle(${v}, ${v}, ${idx.join(", ")})`;
    }
    return `v128.or(i64x2.shl(${v}, ${r}), i64x2.shr_u(${v}, ${64 - r}))`;
  };
  L(`// round ${A}.. -> ${E}..`);
  for (let x = 0; x < 5; x++) L(`d${x} = ${X(`c${(x + 4) % 5}`, rot(`c${(x + 1) % 5}`, 1))};`);
  for (let Y = 0; Y < 5; Y++) {
    for (let Xc = 0; Xc < 5; Xc++) {
      const { x, y } = piSource(Xc, Y);
      const r = RHO[x][y];
      if (r === 0) L(`b${Xc} = ${X(lane(A, x, y), `d${x}`)};`);
      else {
        L(`t = ${X(lane(A, x, y), `d${x}`)};`);
        L(`b${Xc} = ${rot("t", r)};`);
      }
    }
    for (let Xc = 0; Xc < 5; Xc++) {
      let e = X(`b${Xc}`, `v128.andnot(b${(Xc + 2) % 5}, b${(Xc + 1) % 5})`);
      if (Xc === 0 && Y === 0) e = X(e, rc);
      L(`${lane(E, Xc, Y)} = ${e};`);
    }
    for (let Xc = 0; Xc < 5; Xc++) L(Y === 0 ? `c${Xc} = ${lane(E, Xc, Y)};` : `c${Xc} = ${X(`c${Xc}`, lane(E, Xc, Y))};`);
  }
  return out.join("\n");
}

export function generateKeccakAS(): string {
  const A = laneNames("a"), E = laneNames("e");
  const temps = ["b0", "b1", "b2", "b3", "b4", "d0", "d1", "d2", "d3", "d4"];
  const scalarPermute = `/** keccak-f[1600] on the 25 lanes at s (scalar, lane-complemented internally). */
export function permute(s: usize): void {
${A.map((n, i) => `  let ${n} = ${COMPLEMENTED.has(i) ? "~" : ""}load<u64>(s, ${i * 8});`).join("\n")}
  let ${[...E, ...temps].map((n) => `${n}: u64 = 0`).join(", ")};
${[0, 1, 2, 3, 4].map((x) => `  let c${x} = ${[0, 1, 2, 3, 4].map((y) => A[x + 5 * y]).join(" ^ ")};`).join("\n")}
  for (let r: usize = 0; r < 24; r += 2) {
${scalarRound("a", "e", "load<u64>(RC + (r << 3))", "    ")}
${scalarRound("e", "a", "load<u64>(RC + (r << 3), 8)", "    ")}
  }
${A.map((n, i) => `  store<u64>(s, ${COMPLEMENTED.has(i) ? "~" : ""}${n}, ${i * 8});`).join("\n")}
}`;
  const simdPermute = `/** keccak-f[1600] on two interleaved states at s: lane i of state k at s + 16 i + 8 k. */
export function permute2(s: usize): void {
${A.map((n, i) => `  let ${n} = v128.load(s, ${i * 16});`).join("\n")}
  let ${[...E, ...temps, "t"].map((n) => `${n}: v128 = i64x2.splat(0)`).join(", ")};
${[0, 1, 2, 3, 4].map((x) => `  let c${x} = ${[0, 1, 2, 3, 4].map((y) => A[x + 5 * y]).reduce((p, c) => `v128.xor(${p}, ${c})`)};`).join("\n")}
  for (let r: usize = 0; r < 24; r += 2) {
${simdRound("a", "e", "v128.load(RC2 + (r << 4))", "    ")}
${simdRound("e", "a", "v128.load(RC2 + (r << 4), 16)", "    ")}
  }
${A.map((n, i) => `  v128.store(s, ${n}, ${i * 16});`).join("\n")}
}`;
  return TEMPLATE.replace("%RC%", rcList(RC))
    .replace("%RC2%", rcList(RC.flatMap((r) => [r, r])))
    .replace("%PERMUTE%", scalarPermute)
    .replace("%PERMUTE2%", simdPermute);
}

function rcList(values: string[]): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += 4) lines.push("  " + values.slice(i, i + 4).join(", ") + ",");
  return lines.join("\n");
}

const TEMPLATE = `// GENERATED by interpreter/hash/gen-keccak.ts — do not edit by hand (a test checks this).
//
// keccak-f[1600] and keccak256 (Ethereum's Keccak: pad byte 0x01, not SHA-3's 0x06) in AssemblyScript,
// compiled to interpreter/hash/build/keccak.wasm by interpreter/hash/build.ts and driven by
// interpreter/hash/keccak.ts. Lane names are <row><column>: rows b g k m s = y 0..4, columns
// a e i o u = x 0..4; lane index x + 5y, little-endian u64 at byte 8 (x + 5y) of the state.
//
// Memory layout (no allocator; the TypeScript side owns everything from SCRATCH up and grows memory):
//   [0, 64 KiB)  static data (round constants); heapBase() must stay below STATE
//   STATE   0x10000  25 lanes of keccak state (scalar)
//   BLOCK   0x10100  one padded 136-byte block (tail of a message)
//   ZH      0x10200  zero-subtree hashes zh[0..32] for the prefix last passed to zeroHashes (33 * 32 B)
//   IO      0x10700  192 bytes of input, then (IO + 192) 32 bytes of output, for single calls from TS
//   S2      0x10800  two interleaved states for permute2 (400 B)
//   SCRATCH 0x20000  free for the caller (inputs, outputs, Merkle levels)

const RC: usize = memory.data<u64>([
%RC%
]);
const RC2: usize = memory.data<u64>([
%RC2%
]);

const STATE: usize = 0x10000;
const BLOCK: usize = 0x10100;
const ZH: usize = 0x10200;
const IO: usize = 0x10700;
const S2: usize = 0x10800;
const SCRATCH: usize = 0x20000;
const RATE: usize = 136;

export function heapBase(): usize {
  return __heap_base;
}
export function statePtr(): usize {
  return STATE;
}
export function ioPtr(): usize {
  return IO;
}
export function scratchPtr(): usize {
  return SCRATCH;
}

%PERMUTE%

%PERMUTE2%

@inline function copyDigest(out: usize): void {
  store<u64>(out, load<u64>(STATE, 0), 0);
  store<u64>(out, load<u64>(STATE, 8), 8);
  store<u64>(out, load<u64>(STATE, 16), 16);
  store<u64>(out, load<u64>(STATE, 24), 24);
}

/** out[0..32) = keccak256(mem[ptr .. ptr+len)), any length. out may overlap the input. */
export function keccak(ptr: usize, len: usize, out: usize): void {
  for (let i: usize = 0; i < 200; i += 8) store<u64>(STATE + i, 0);
  while (len >= RATE) {
    for (let i: usize = 0; i < RATE; i += 8) store<u64>(STATE + i, load<u64>(STATE + i) ^ load<u64>(ptr + i));
    permute(STATE);
    ptr += RATE;
    len -= RATE;
  }
  for (let i: usize = 0; i < RATE; i += 8) store<u64>(BLOCK + i, 0);
  memory.copy(BLOCK, ptr, len);
  store<u8>(BLOCK + len, 0x01);
  store<u8>(BLOCK + RATE - 1, load<u8>(BLOCK + RATE - 1) | 0x80);
  for (let i: usize = 0; i < RATE; i += 8) store<u64>(STATE + i, load<u64>(STATE + i) ^ load<u64>(BLOCK + i));
  permute(STATE);
  copyDigest(out);
}

/**
 * Writes the first 17 lanes (the rate; the capacity is left to the caller) of the one-block state
 * for keccak256(prefix ‖ in[0..64)) when 0 <= prefix <= 255, or keccak256(in[0..64)) when prefix < 0,
 * with lanes \`stride\` bytes apart from s. The lanes are built directly from the input words.
 */
@inline function nodeLanes(prefix: i32, inp: usize, s: usize, stride: usize): void {
  const w0 = load<u64>(inp, 0), w1 = load<u64>(inp, 8), w2 = load<u64>(inp, 16), w3 = load<u64>(inp, 24);
  const w4 = load<u64>(inp, 32), w5 = load<u64>(inp, 40), w6 = load<u64>(inp, 48), w7 = load<u64>(inp, 56);
  if (prefix >= 0) {
    store<u64>(s, (<u64>prefix & 0xff) | (w0 << 8));
    store<u64>(s + stride, (w0 >> 56) | (w1 << 8));
    store<u64>(s + 2 * stride, (w1 >> 56) | (w2 << 8));
    store<u64>(s + 3 * stride, (w2 >> 56) | (w3 << 8));
    store<u64>(s + 4 * stride, (w3 >> 56) | (w4 << 8));
    store<u64>(s + 5 * stride, (w4 >> 56) | (w5 << 8));
    store<u64>(s + 6 * stride, (w5 >> 56) | (w6 << 8));
    store<u64>(s + 7 * stride, (w6 >> 56) | (w7 << 8));
    store<u64>(s + 8 * stride, (w7 >> 56) | 0x100); // message byte 64, then the pad byte 0x01 at 65
  } else {
    store<u64>(s, w0);
    store<u64>(s + stride, w1);
    store<u64>(s + 2 * stride, w2);
    store<u64>(s + 3 * stride, w3);
    store<u64>(s + 4 * stride, w4);
    store<u64>(s + 5 * stride, w5);
    store<u64>(s + 6 * stride, w6);
    store<u64>(s + 7 * stride, w7);
    store<u64>(s + 8 * stride, 0x01); // pad byte 0x01 at 64
  }
  for (let i: usize = 9; i < 16; i++) store<u64>(s + i * stride, 0);
  store<u64>(s + 16 * stride, 0x8000000000000000); // final pad bit, byte 135
}

/** out[0..32) = keccak256(prefix ‖ in[0..64)) (prefix < 0: keccak256(in[0..64))). */
export function hashNode(prefix: i32, inp: usize, out: usize): void {
  nodeLanes(prefix, inp, STATE, 8);
  for (let i: usize = 17; i < 25; i++) store<u64>(STATE + (i << 3), 0);
  permute(STATE);
  copyDigest(out);
}

/**
 * out[32 i .. 32 i + 32) = hashNode(prefix, in + 64 i) for i < n, two at a time with permute2.
 * Works in place (out == in): both inputs of a step are read before its outputs are written, and
 * the outputs land at or below inputs already consumed.
 */
export function hashPairs(prefix: i32, inp: usize, out: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 1 < n; i += 2) {
    nodeLanes(prefix, inp + (i << 6), S2, 16);
    nodeLanes(prefix, inp + (i << 6) + 64, S2 + 8, 16);
    for (let j: usize = 17; j < 25; j++) v128.store(S2 + (j << 4), i64x2.splat(0));
    permute2(S2);
    const o = out + (i << 5);
    store<u64>(o, load<u64>(S2, 0), 0);
    store<u64>(o, load<u64>(S2, 16), 8);
    store<u64>(o, load<u64>(S2, 32), 16);
    store<u64>(o, load<u64>(S2, 48), 24);
    store<u64>(o, load<u64>(S2, 8), 32);
    store<u64>(o, load<u64>(S2, 24), 40);
    store<u64>(o, load<u64>(S2, 40), 48);
    store<u64>(o, load<u64>(S2, 56), 56);
  }
  if (i < n) hashNode(prefix, inp + (i << 6), out + (i << 5));
}

let zhPrefix: i32 = -2; // the prefix the ZH table holds (-2: none yet)

/** Fills ZH: zh[0] = 32 zero bytes, zh[d+1] = hashNode(prefix, zh[d] ‖ zh[d]), d < 32. Returns ZH. */
export function zeroHashes(prefix: i32): usize {
  if (zhPrefix == prefix) return ZH;
  memory.fill(ZH, 0, 32);
  for (let d: usize = 0; d < 32; d++) {
    const z = ZH + (d << 5);
    memory.copy(BLOCK, z, 32);
    memory.copy(BLOCK + 32, z, 32);
    hashNode(prefix, BLOCK, z + 32);
  }
  zhPrefix = prefix;
  return ZH;
}
`;

export const KECCAK_AS_PATH = join(dirname(fileURLToPath(import.meta.url)), "assembly", "keccak.ts");

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const src = generateKeccakAS();
  let old = "";
  try {
    old = readFileSync(KECCAK_AS_PATH, "utf8");
  } catch {}
  if (old === src) console.log(`${KECCAK_AS_PATH} is up to date`);
  else {
    writeFileSync(KECCAK_AS_PATH, src);
    console.log(`wrote ${KECCAK_AS_PATH}`);
  }
}
