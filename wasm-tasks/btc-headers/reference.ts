/**
 * Reference validator for the btc-headers task: the same function as the wasm task, written
 * independently in TypeScript with bigint arithmetic and Node's SHA-256. Used to check the task
 * (differential tests) and by anyone who wants the expected result without running wasm.
 *
 *   validateHeaders(checkpoint, headers) -> BtcResult   (what decodeOutput(taskOutput) returns)
 *   validateInput(inputBytes)             -> BtcResult
 *
 * Rules and their order: see the task source (btc-headers/assembly/index.ts) and docs/TASKS.md.
 * The consensus formulas follow Bitcoin Core (pow.cpp, arith_uint256.cpp, validation.cpp).
 */
import { createHash } from "node:crypto";
import {
  type BtcResult,
  type Checkpoint,
  type CheckpointJson,
  type EncodeOptions,
  type RuleName,
  decodeInput,
  hashToHex,
  hexToHash,
  normalizeCheckpoint,
  splitHeaders,
  bytesToHex,
} from "./encoding.js";

export const RETARGET_INTERVAL = 2016;
export const TARGET_TIMESPAN = 14 * 24 * 60 * 60; // 1,209,600 s
export const POW_LIMIT = (1n << 224n) - 1n; // Core's mainnet powLimit (0x00000000ffff...ff)
export const POW_LIMIT_BITS = 0x1d00ffff;
export const BIP34_HEIGHT = 227931;
export const BIP66_HEIGHT = 363725;
export const BIP65_HEIGHT = 388381;
const MOD256 = (1n << 256n) - 1n;

export function sha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(b).digest());
}
export function sha256d(b: Uint8Array): Uint8Array {
  return sha256(sha256(b));
}
/** Block hash, internal byte order. */
export function blockHash(header: Uint8Array): Uint8Array {
  return sha256d(header);
}
/** A 32-byte little-endian number (block hashes are compared this way). */
export function leBigInt(b: Uint8Array): bigint {
  return BigInt("0x" + (bytesToHex(Uint8Array.from(b).reverse()) || "0"));
}

/** arith_uint256::SetCompact: the value (mod 2^256) and the negative / overflow flags. */
export function setCompact(c: number): { value: bigint; negative: boolean; overflow: boolean } {
  const size = c >>> 24;
  let word = c & 0x007fffff;
  let value: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    value = BigInt(word);
  } else {
    value = (BigInt(word) << BigInt(8 * (size - 3))) & MOD256;
  }
  const negative = word !== 0 && (c & 0x00800000) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  return { value, negative, overflow };
}

/** arith_uint256::GetCompact for a non-negative value. */
export function getCompact(v: bigint): number {
  let size = v === 0n ? 0 : Math.ceil(v.toString(2).length / 8);
  let compact: number;
  if (size <= 3) compact = Number(v << BigInt(8 * (3 - size)));
  else compact = Number((v >> BigInt(8 * (size - 3))) & 0xffffffffn);
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return (compact | (size << 24)) >>> 0;
}

/** The target of nBits when it is a valid proof-of-work target (CheckProofOfWork), else null. */
export function powTarget(bits: number): bigint | null {
  const { value, negative, overflow } = setCompact(bits);
  if (negative || overflow || value === 0n || value > POW_LIMIT) return null;
  return value;
}

/** GetBlockProof: 2^256 / (target + 1) = ~target / (target + 1) + 1. 0 for an invalid nBits. */
export function blockWork(bits: number): bigint {
  const { value, negative, overflow } = setCompact(bits);
  if (negative || overflow || value === 0n) return 0n;
  return (1n << 256n) / (value + 1n);
}

/** CalculateNextWorkRequired (mainnet): nBits at a retarget height. */
export function retargetBits(lastBits: number, firstTime: number, lastTime: number): number {
  let span = lastTime - firstTime;
  if (span < TARGET_TIMESPAN / 4) span = TARGET_TIMESPAN / 4;
  if (span > TARGET_TIMESPAN * 4) span = TARGET_TIMESPAN * 4;
  let t = setCompact(lastBits).value;
  t = (t * BigInt(span)) & MOD256;
  t /= BigInt(TARGET_TIMESPAN);
  if (t > POW_LIMIT) t = POW_LIMIT;
  return getCompact(t);
}

/** GetMedianTimePast over the given timestamps (oldest first). */
export function medianTime(times: readonly number[]): number {
  const s = [...times].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Minimum version at height h (BIP34/66/65); version-bits headers (top bits 001) pass. */
export function versionOk(version: number, h: number): boolean {
  if (((version >>> 0) & 0xe0000000) >>> 0 === 0x20000000) return true;
  const v = version | 0; // nVersion is an int32
  const min = h >= BIP65_HEIGHT ? 4 : h >= BIP66_HEIGHT ? 3 : h >= BIP34_HEIGHT ? 2 : 1;
  return v >= min;
}

/** Validates a batch of 80-byte headers extending `checkpoint`. */
export function validateHeaders(
  checkpointIn: CheckpointJson | Checkpoint,
  headersIn: Uint8Array | readonly Uint8Array[],
  opts: EncodeOptions = {},
): BtcResult {
  const cp = normalizeCheckpoint(checkpointIn);
  const headers = splitHeaders(headersIn);
  let tipHash = hexToHash(cp.hash);
  let height = cp.height;
  let bits = cp.bits;
  let periodStart = cp.periodStartTime;
  const times = [...cp.timestamps];
  let work = BigInt(cp.chainWork);
  const hashes: Uint8Array[] = [];
  let rule: RuleName | null = null;
  let failedIndex = -1;

  for (let i = 0; i < headers.length; i++) {
    const hdr = Uint8Array.from(headers[i]);
    if (opts.compact && opts.dense) throw new Error("compact and dense modes are exclusive");
    if ((opts.compact && i > 0) || opts.dense) hdr.set(tipHash, 4); // prev-hash omitted: derived
    const dv = new DataView(hdr.buffer);
    const h = height + 1;
    const expected = h % RETARGET_INTERVAL === 0 ? retargetBits(bits, periodStart, times[times.length - 1]) : bits;
    if (opts.dense) dv.setUint32(72, expected, true); // nBits omitted: the expected value
    const hBits = dv.getUint32(72, true);
    const time = dv.getUint32(68, true);
    const version = dv.getUint32(0, true);
    const hash = blockHash(hdr);

    let r: RuleName | null = null;
    const need = Math.min(11, h);
    if (!bytesEqual(hdr.subarray(4, 36), tipHash)) r = "link";
    else if (hBits !== expected) r = "bits";
    else if (times.length >= need && time <= medianTime(times.slice(times.length - need))) r = "time";
    else if (!versionOk(version, h)) r = "version";
    else {
      const target = powTarget(hBits);
      if (target === null || leBigInt(hash) > target) r = "pow";
    }
    if (r) {
      rule = r;
      failedIndex = i;
      break;
    }
    height = h;
    tipHash = hash;
    bits = hBits;
    if (h % RETARGET_INTERVAL === 0) periodStart = time;
    times.push(time);
    if (times.length > 11) times.shift();
    work = (work + blockWork(hBits)) & MOD256;
    hashes.push(hash);
  }

  const next: Checkpoint = {
    height,
    hash: hashToHex(tipHash),
    bits,
    periodStartTime: periodStart,
    timestamps: times,
    chainWork: work.toString(),
  };
  return {
    valid: rule === null,
    rule,
    failedIndex,
    accepted: hashes.length,
    tipHash: next.hash,
    height,
    chainWork: next.chainWork,
    next,
    merkleRoot: hashToHex(merkleRoot(hashes)),
  };
}

/** Validates task input bytes (the same result the task computes from them). */
export function validateInput(input: Uint8Array): BtcResult {
  const { checkpoint, headers, compact, dense } = decodeInput(input);
  return validateHeaders(checkpoint, headers, { compact, dense });
}

/** Bitcoin's Merkle tree (as for txids) over 32-byte hashes in internal order; zero for none. */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return new Uint8Array(32);
  let level = [...leaves];
  while (level.length > 1) {
    if (level.length % 2) level.push(level[level.length - 1]);
    const up: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const cat = new Uint8Array(64);
      cat.set(level[i]);
      cat.set(level[i + 1], 32);
      up.push(sha256d(cat));
    }
    level = up;
  }
  return level[0];
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The checkpoint of the block at `index` of a run of consecutive headers (header j at height
 * firstHeight + j). Needs the 10 headers before it in the run for the full timestamp window (it
 * uses fewer when the run starts later), and the first block of its retarget period in the run or
 * passed as `periodStartTime`. chainWork is optional.
 */
export function checkpointAt(
  headers: readonly Uint8Array[],
  firstHeight: number,
  index: number,
  opts: { periodStartTime?: number; chainWork?: bigint } = {},
): Checkpoint {
  const height = firstHeight + index;
  const time = (j: number) => new DataView(headers[j].buffer, headers[j].byteOffset, 80).getUint32(68, true);
  const startHeight = Math.floor(height / RETARGET_INTERVAL) * RETARGET_INTERVAL;
  let periodStartTime = opts.periodStartTime;
  if (periodStartTime === undefined) {
    const j = startHeight - firstHeight;
    if (j < 0) throw new Error(`block ${startHeight} (start of the period of ${height}) is not in the run`);
    periodStartTime = time(j);
  }
  const from = Math.max(0, index - 10);
  const timestamps: number[] = [];
  for (let j = from; j <= index; j++) timestamps.push(time(j));
  const hdr = headers[index];
  return {
    height,
    hash: hashToHex(blockHash(hdr)),
    bits: new DataView(hdr.buffer, hdr.byteOffset, 80).getUint32(72, true),
    periodStartTime,
    timestamps,
    chainWork: (opts.chainWork ?? 0n).toString(),
  };
}
