// btc-headers — Bitcoin mainnet block header validation (the demo task of the Bitcoin relay).
//
// Given a checkpoint (the relay's view of one block) and a batch of headers that extend it, checks
// every header with Bitcoin Core's consensus rules for headers and reports the first failure, the
// new tip, its cumulative chain work, the checkpoint to continue from and a Merkle root of the
// accepted block hashes. Input and output layouts: docs/TASKS.md (and encoding.ts, which encodes
// and decodes them; reference.ts is an independent bigint implementation of the same function).
//
// Three input modes (docs/TASKS.md): full 80-byte headers; compact (48 bytes: prev-hash omitted
// after header 0, link can only fail for header 0); dense (42 bytes: prev-hash and nBits omitted for
// every header, time sent as a delta; the task takes the previous hash and the expected nBits, so
// neither link nor bits can fail — the Bitcoin relay's mode, where calldata is the cost).
//
// Rules, checked per header in this order (the first failing one is reported):
//   1 link     prev-hash field == hash of the previous block (the checkpoint for header 0)
//   3 bits     nBits == the expected value: the previous nBits inside a 2016-block period; at
//              height % 2016 == 0 Bitcoin Core's retarget (CalculateNextWorkRequired)
//   4 time     time > median of the previous 11 timestamps (skipped while fewer are known)
//   5 version  BIP34/66/65 (v2 from 227931, v3 from 363725, v4 from 388381), signed compare
//   2 pow      nBits decodes to a positive, non-overflowing target <= the PoW limit and the block
//              hash (double SHA-256, little-endian 256-bit number) <= target
// PoW is checked last so that every contextual rule can be exercised with real headers (a
// modified header almost never has valid PoW); the valid/invalid verdict does not depend on order.
import { input_size, input_read, output_write, alloc } from "../../lib/host";
import { sha256d80, sha256d64 } from "../../lib/sha256";
import {
  u256Add,
  u256Cmp,
  u256Copy,
  u256DivSmall,
  u256GetCompact,
  u256MulSmall,
  u256SetCompact,
  u256Work,
  u256Zero,
} from "../../lib/u256";

const FORMAT: u32 = 1;
const FLAG_COMPACT: u32 = 1; // flags value 1: compact mode (prev-hash omitted after header 0)
const FLAG_DENSE: u32 = 2; // flags value 2: dense mode (prev-hash and nBits omitted, time as a delta)
const DENSE_BYTES: u32 = 42; // version 4 | merkle root 32 | time delta i16 | nonce 4
const DENSE_ESCAPE: u32 = 0x8000; // time delta -32768: the full u32 time follows (46-byte record)

// Checkpoint layout (124 bytes), used both in the input (at offset 8) and in the output (at 16).
const CP_HEIGHT = 0;
const CP_HASH = 4;
const CP_BITS = 36;
const CP_PERIOD_START = 40;
const CP_NTIMES = 44;
const CP_TIMES = 48; // 11 x u32, oldest first
const CP_WORK = 92; // 256-bit little-endian
const CP_BYTES = 124;
const IN_HEADER_BYTES = 8 + CP_BYTES + 4; // format, flags, checkpoint, count
const OUT_BYTES = 16 + CP_BYTES + 32;

const RULE_OK: u32 = 0;
const RULE_LINK: u32 = 1;
const RULE_POW: u32 = 2;
const RULE_BITS: u32 = 3;
const RULE_TIME: u32 = 4;
const RULE_VERSION: u32 = 5;

const RETARGET_INTERVAL: u32 = 2016;
const TARGET_TIMESPAN: u32 = 1209600; // two weeks
const BIP34_HEIGHT: u32 = 227931;
const BIP66_HEIGHT: u32 = 363725;
const BIP65_HEIGHT: u32 = 388381;

// Static working memory.
const HDR: usize = memory.data(80, 16); // the current header, always in full 80-byte form
const HASH: usize = memory.data(32, 16); // its block hash
const OUT: usize = memory.data(OUT_BYTES, 16); // the output record; its checkpoint is the live state
const CP: usize = OUT + 16; // live checkpoint: the tip after the last accepted header
const TARGET: usize = memory.data(32, 16);
const POW_LIMIT: usize = memory.data(32, 16);
const TMP: usize = memory.data(32, 16);
const WORK: usize = memory.data(32, 16); // work per block for WORK_BITS
const SORTED: usize = memory.data(44, 16);

let workBits: u32 = 0; // nBits whose work is in WORK (0: none yet; 0 never passes the PoW rule)

// @ts-ignore: decorator
@inline function cp32(off: usize): u32 {
  return load<u32>(CP + off);
}

/** The nBits expected for the header at height h (the tip is at h - 1): Core's GetNextWorkRequired. */
function expectedBits(h: u32): u32 {
  const last = cp32(CP_BITS);
  if (h % RETARGET_INTERVAL != 0) return last;
  const n = cp32(CP_NTIMES);
  const lastTime = load<u32>(CP + CP_TIMES + ((<usize>n - 1) << 2));
  let span: i64 = <i64>lastTime - <i64>cp32(CP_PERIOD_START);
  if (span < <i64>(TARGET_TIMESPAN / 4)) span = <i64>(TARGET_TIMESPAN / 4);
  if (span > <i64>(TARGET_TIMESPAN * 4)) span = <i64>(TARGET_TIMESPAN * 4);
  u256SetCompact(TMP, last);
  u256MulSmall(TMP, <u32>span);
  u256DivSmall(TMP, TARGET_TIMESPAN);
  if (u256Cmp(TMP, POW_LIMIT) > 0) u256Copy(TMP, POW_LIMIT);
  return u256GetCompact(TMP);
}

/** time > median of the previous min(11, h) timestamps; skipped while fewer are known. */
function timeOk(time: u32, h: u32): bool {
  const n = cp32(CP_NTIMES);
  const need = h < 11 ? h : 11;
  if (n < need || n == 0) return true;
  // insertion sort of the window (timestamps are nearly sorted: few moves)
  const src = CP + CP_TIMES + ((<usize>n - <usize>need) << 2);
  for (let i: u32 = 0; i < need; i++) {
    const v = load<u32>(src + (<usize>i << 2));
    let j = i;
    while (j > 0) {
      const u = load<u32>(SORTED + (<usize>(j - 1) << 2));
      if (u <= v) break;
      store<u32>(SORTED + (<usize>j << 2), u);
      j--;
    }
    store<u32>(SORTED + (<usize>j << 2), v);
  }
  return time > load<u32>(SORTED + (<usize>(need >>> 1) << 2));
}

function versionOk(version: u32, h: u32): bool {
  if ((version & 0xe0000000) == 0x20000000) return true; // BIP9 version bits: counts as >= 4
  const v = <i32>version;
  if (h >= BIP65_HEIGHT) return v >= 4;
  if (h >= BIP66_HEIGHT) return v >= 3;
  if (h >= BIP34_HEIGHT) return v >= 2;
  return true;
}

let targetBits: u32 = 0; // nBits whose target is in TARGET (0 decodes to zero: never cached as valid)
let targetOk = false;

/** Target from nBits into TARGET; false for a negative, overflowing, zero or too easy target. */
function powTarget(bits: u32): bool {
  if (bits == targetBits) return targetOk; // nBits changes once per period: decode once
  targetBits = bits;
  targetOk = false;
  if (u256SetCompact(TARGET, bits) != 0) return false;
  if (load<u64>(TARGET, 0) == 0 && load<u64>(TARGET, 8) == 0 && load<u64>(TARGET, 16) == 0 && load<u64>(TARGET, 24) == 0)
    return false;
  targetOk = u256Cmp(TARGET, POW_LIMIT) <= 0;
  return targetOk;
}

/** Checks header HDR at height h against the live checkpoint; computes HASH. Returns a rule code. */
function check(h: u32): u32 {
  sha256d80(HDR, HASH);
  // link
  if (
    load<u64>(HDR, 4) != load<u64>(CP + CP_HASH, 0) ||
    load<u64>(HDR, 12) != load<u64>(CP + CP_HASH, 8) ||
    load<u64>(HDR, 20) != load<u64>(CP + CP_HASH, 16) ||
    load<u64>(HDR, 28) != load<u64>(CP + CP_HASH, 24)
  )
    return RULE_LINK;
  const bits = load<u32>(HDR, 72);
  if (bits != expectedBits(h)) return RULE_BITS;
  if (!timeOk(load<u32>(HDR, 68), h)) return RULE_TIME;
  if (!versionOk(load<u32>(HDR, 0), h)) return RULE_VERSION;
  if (!powTarget(bits)) return RULE_POW;
  if (u256Cmp(HASH, TARGET) > 0) return RULE_POW;
  return RULE_OK;
}

/** Makes HDR/HASH the new tip: updates the live checkpoint. */
function accept(h: u32): void {
  const time = load<u32>(HDR, 68);
  const bits = load<u32>(HDR, 72);
  store<u32>(CP + CP_HEIGHT, h);
  u256Copy(CP + CP_HASH, HASH);
  store<u32>(CP + CP_BITS, bits);
  if (h % RETARGET_INTERVAL == 0) store<u32>(CP + CP_PERIOD_START, time);
  const n = cp32(CP_NTIMES);
  if (n == 11) {
    memory.copy(CP + CP_TIMES, CP + CP_TIMES + 4, 40);
    store<u32>(CP + CP_TIMES + 40, time);
  } else {
    store<u32>(CP + CP_TIMES + (<usize>n << 2), time);
    store<u32>(CP + CP_NTIMES, n + 1);
  }
  if (bits != workBits) {
    u256Work(WORK, TARGET); // TARGET holds the target of `bits` (set by the PoW check)
    workBits = bits;
  }
  u256Add(CP + CP_WORK, WORK);
}

/** Bitcoin-style Merkle root of `n` 32-byte hashes at `p` (room for n + 1), in place. Zero if n = 0. */
function merkleRoot(p: usize, n: u32, out: usize): void {
  if (n == 0) {
    u256Zero(out);
    return;
  }
  while (n > 1) {
    if (n & 1) {
      u256Copy(p + (<usize>n << 5), p + (<usize>(n - 1) << 5)); // duplicate the last node
      n++;
    }
    const half = n >>> 1;
    for (let i: u32 = 0; i < half; i++) sha256d64(p + (<usize>i << 6), p + (<usize>i << 5));
    n = half;
  }
  u256Copy(out, p);
}

export function main(): void {
  const size = input_size();
  if (size < IN_HEADER_BYTES) abort("input shorter than the fixed header");
  input_read(TMP, 0, 8);
  if (load<u32>(TMP, 0) != FORMAT) abort("unknown input format");
  const flags = load<u32>(TMP, 4);
  if (flags > FLAG_DENSE) abort("unknown input mode");
  const compact = flags == FLAG_COMPACT;
  const dense = flags == FLAG_DENSE;
  input_read(CP, 8, CP_BYTES);
  input_read(TMP, 8 + CP_BYTES, 4);
  const count = load<u32>(TMP);
  const nTimes = cp32(CP_NTIMES);
  if (nTimes < 1 || nTimes > 11) abort("the checkpoint needs 1 to 11 timestamps");
  if (dense) {
    // Records are 42 or 46 bytes: walk their time-delta fields once, so that a malformed input
    // aborts whatever the verdict (as a length mismatch does in the other modes).
    let o: u64 = <u64>IN_HEADER_BYTES;
    for (let i: u32 = 0; i < count; i++) {
      if (o + <u64>DENSE_BYTES > <u64>size) abort("input length does not match the header count");
      input_read(TMP, <i32>o + 36, 2);
      o += load<u16>(TMP) == <u16>DENSE_ESCAPE ? <u64>DENSE_BYTES + 4 : <u64>DENSE_BYTES;
    }
    if (<u64>size != o) abort("input length does not match the header count");
  } else {
    const expected: u64 =
      count == 0 ? <u64>IN_HEADER_BYTES : <u64>IN_HEADER_BYTES + 80 + <u64>(count - 1) * (compact ? 48 : 80);
    if (<u64>size != expected) abort("input length does not match the header count");
  }

  for (let i = nTimes; i < 11; i++) store<u32>(CP + CP_TIMES + (<usize>i << 2), 0); // unused slots
  // Core's powLimit: 2^224 - 1 (limbs 0..6 all ones). See docs/TASKS.md for why this and the
  // compact 0x1d00ffff (= 0xffff << 208) give the same verdicts and the same retarget cap.
  store<u32>(POW_LIMIT, 0xffffffff, 0);
  store<u64>(POW_LIMIT, 0xffffffffffffffff, 4);
  store<u64>(POW_LIMIT, 0xffffffffffffffff, 12);
  store<u64>(POW_LIMIT, 0xffffffffffffffff, 20);
  store<u32>(POW_LIMIT, 0, 28);

  const hashes = alloc(((<usize>count + 1) << 5) + 32);
  let rule = RULE_OK;
  let failed: u32 = 0xffffffff;
  let accepted: u32 = 0;
  let off = IN_HEADER_BYTES;
  const h0 = cp32(CP_HEIGHT);
  for (let i: u32 = 0; i < count; i++) {
    const h = h0 + 1 + i;
    if (dense) {
      // version | merkle root | time delta | [time] | nonce; prev-hash = the tip, nBits = expected
      input_read(HDR, off, 4);
      u256Copy(HDR + 4, CP + CP_HASH);
      input_read(HDR + 36, off + 4, 34); // the merkle root, then the delta into the time field
      off += 38;
      const dt = load<u16>(HDR, 68);
      if (<u32>dt == DENSE_ESCAPE) {
        input_read(HDR + 68, off, 4);
        off += 4;
      } else {
        const last = load<u32>(CP + CP_TIMES + ((<usize>cp32(CP_NTIMES) - 1) << 2));
        store<u32>(HDR, last + <u32><i32><i16>dt, 68);
      }
      store<u32>(HDR, expectedBits(h), 72);
      input_read(HDR + 76, off, 4);
      off += 4;
    } else if (compact && i > 0) {
      input_read(HDR, off, 4);
      u256Copy(HDR + 4, CP + CP_HASH);
      input_read(HDR + 36, off + 4, 44);
      off += 48;
    } else {
      input_read(HDR, off, 80);
      off += 80;
    }
    const r = check(h);
    if (r != RULE_OK) {
      rule = r;
      failed = i;
      break;
    }
    accept(h);
    u256Copy(hashes + (<usize>i << 5), HASH);
    accepted++;
  }

  store<u32>(OUT, rule == RULE_OK ? 1 : 0, 0);
  store<u32>(OUT, rule, 4);
  store<u32>(OUT, failed, 8);
  store<u32>(OUT, accepted, 12);
  merkleRoot(hashes, accepted, OUT + 16 + CP_BYTES);
  output_write(OUT, OUT_BYTES);
}
