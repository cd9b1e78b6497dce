/**
 * Input and output encodings of the btc-headers task (normative description: docs/TASKS.md).
 *
 *   const input = encodeInput(checkpoint, headers);          // bytes for the task
 *   encodeInput(checkpoint, headers, { dense: true })        // the relay's mode (42 bytes a header)
 *   const result = decodeOutput(outputBytes);                // { valid, rule, tipHash, ... }
 *
 * All integers are little-endian. Hashes are 32 bytes in Bitcoin's internal byte order (the order
 * of a header's prev-hash field, the raw double-SHA-256 output); in the JS objects they are hex in
 * explorer (reversed) order, as block explorers and the checkpoint JSON show them.
 */

export const BTC_FORMAT = 1;
export const FLAG_COMPACT = 1;
export const FLAG_DENSE = 2;
export const HEADER_BYTES = 80;
export const COMPACT_HEADER_BYTES = 48; // an 80-byte header without its prev-hash field (bytes 4..36)
/** Dense record: version 4 | merkle root 32 | time delta i16 | nonce 4 (46 with the escaped time). */
export const DENSE_HEADER_BYTES = 42;
/** Time delta value meaning "the full u32 time follows" (deltas outside ±32,767 s). */
export const DENSE_TIME_ESCAPE = -32768;
export const CHECKPOINT_BYTES = 124;
export const INPUT_FIXED_BYTES = 8 + CHECKPOINT_BYTES + 4; // format, flags, checkpoint, count = 136
export const OUTPUT_BYTES = 16 + CHECKPOINT_BYTES + 32; // = 172
export const MAX_TIMESTAMPS = 11;

/** Rule codes of the output. */
export const Rule = { ok: 0, link: 1, pow: 2, bits: 3, time: 4, version: 5 } as const;
export type RuleName = Exclude<keyof typeof Rule, "ok">;
const RULE_NAMES: Record<number, RuleName> = { 1: "link", 2: "pow", 3: "bits", 4: "time", 5: "version" };

/** Checkpoint JSON, as stored by the relay (hash in explorer byte order). */
export interface CheckpointJson {
  height: number;
  /** 64 hex digits, explorer byte order. */
  hash: string;
  /** nBits of the checkpoint block: a number, or a hex string ("1703e8b3" or "0x1703e8b3"). */
  bits: number | string;
  /** Timestamp of the first block of the checkpoint's retarget period: height floor(h/2016)*2016. */
  periodStartTime: number;
  /** Timestamps of the latest blocks up to and including the checkpoint, oldest first (1..11). */
  timestamps: number[];
  /** Cumulative chain work at the checkpoint, decimal string (default "0": work is then relative). */
  chainWork?: string;
}

/** A checkpoint with every field normalised (bits a number, chainWork present). */
export interface Checkpoint {
  height: number;
  hash: string;
  bits: number;
  periodStartTime: number;
  timestamps: number[];
  chainWork: string;
}

/** Decoded task output (also what reference.ts returns). */
export interface BtcResult {
  /** True when every header of the batch is valid. */
  valid: boolean;
  /** The first failing rule, null when valid. */
  rule: RuleName | null;
  /** Index in the batch of the first invalid header, -1 when valid. */
  failedIndex: number;
  /** Number of headers accepted (the valid prefix: all of them when valid). */
  accepted: number;
  /** Hash of the last accepted header (the checkpoint's own hash when none), explorer order. */
  tipHash: string;
  /** Height of that header. */
  height: number;
  /** Its cumulative chain work, decimal. */
  chainWork: string;
  /** The checkpoint to continue from: the state after the last accepted header. */
  next: Checkpoint;
  /**
   * Merkle root of the accepted block hashes, explorer (reversed) order like txid-based roots:
   * Bitcoin's transaction Merkle tree (nodes = SHA-256d(left || right), internal byte order,
   * the last node duplicated at odd levels) over the block hashes; a single hash is its own root,
   * no hash gives 32 zero bytes.
   */
  merkleRoot: string;
}

// ---------------------------------------------------------------------------------------------

export function hexToBytes(hex: string): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length % 2 || /[^0-9a-fA-F]/.test(h)) throw new Error(`bad hex: ${hex}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** Explorer-order hex of a 32-byte hash in internal order, and back. */
export function hashToHex(internal: Uint8Array): string {
  return bytesToHex(Uint8Array.from(internal).reverse());
}
export function hexToHash(explorerHex: string): Uint8Array {
  const b = hexToBytes(explorerHex);
  if (b.length !== 32) throw new Error(`a hash is 32 bytes: ${explorerHex}`);
  return b.reverse();
}

function u256ToLe(v: bigint): Uint8Array {
  if (v < 0n || v >= 1n << 256n) throw new Error(`not a 256-bit value: ${v}`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}
function leToU256(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return v;
}

/** Normalises checkpoint JSON (and validates it). */
export function normalizeCheckpoint(cp: CheckpointJson | Checkpoint): Checkpoint {
  const bits = typeof cp.bits === "string" ? parseInt(cp.bits.replace(/^0x/, ""), 16) : cp.bits;
  const u32 = (n: number, what: string) => {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`checkpoint ${what} is not a u32: ${n}`);
    return n;
  };
  u32(cp.height, "height");
  u32(bits, "bits");
  u32(cp.periodStartTime, "periodStartTime");
  if (cp.timestamps.length < 1 || cp.timestamps.length > MAX_TIMESTAMPS)
    throw new Error(`checkpoint needs 1..${MAX_TIMESTAMPS} timestamps, has ${cp.timestamps.length}`);
  cp.timestamps.forEach((t) => u32(t, "timestamp"));
  hexToHash(cp.hash);
  const chainWork = BigInt(cp.chainWork ?? "0");
  u256ToLe(chainWork);
  return {
    height: cp.height,
    hash: cp.hash.toLowerCase().replace(/^0x/, ""),
    bits,
    periodStartTime: cp.periodStartTime,
    timestamps: [...cp.timestamps],
    chainWork: chainWork.toString(),
  };
}

/** The 124-byte checkpoint record. */
export function encodeCheckpoint(cpIn: CheckpointJson | Checkpoint): Uint8Array {
  const cp = normalizeCheckpoint(cpIn);
  const out = new Uint8Array(CHECKPOINT_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, cp.height, true);
  out.set(hexToHash(cp.hash), 4);
  dv.setUint32(36, cp.bits, true);
  dv.setUint32(40, cp.periodStartTime, true);
  dv.setUint32(44, cp.timestamps.length, true);
  cp.timestamps.forEach((t, i) => dv.setUint32(48 + 4 * i, t, true));
  out.set(u256ToLe(BigInt(cp.chainWork)), 92);
  return out;
}

export function decodeCheckpoint(rec: Uint8Array): Checkpoint {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const n = dv.getUint32(44, true);
  if (n > MAX_TIMESTAMPS) throw new Error(`checkpoint record with ${n} timestamps`);
  return {
    height: dv.getUint32(0, true),
    hash: hashToHex(rec.subarray(4, 36)),
    bits: dv.getUint32(36, true),
    periodStartTime: dv.getUint32(40, true),
    timestamps: Array.from({ length: n }, (_, i) => dv.getUint32(48 + 4 * i, true)),
    chainWork: leToU256(rec.subarray(92, 124)).toString(),
  };
}

/** Splits concatenated 80-byte headers (or passes an array through). */
export function splitHeaders(headers: Uint8Array | readonly Uint8Array[]): Uint8Array[] {
  if (!(headers instanceof Uint8Array)) {
    for (const h of headers) if (h.length !== HEADER_BYTES) throw new Error(`a header is 80 bytes, got ${h.length}`);
    return [...headers];
  }
  if (headers.length % HEADER_BYTES) throw new Error(`${headers.length} bytes is not a whole number of headers`);
  return Array.from({ length: headers.length / HEADER_BYTES }, (_, i) => headers.subarray(80 * i, 80 * i + 80));
}

export interface EncodeOptions {
  /**
   * Compact mode: headers after the first are sent without their prev-hash field (48 bytes each);
   * the task takes the previous header's hash instead, so the link rule cannot fail for them.
   * Default false: full 80-byte headers, every link checked.
   */
  compact?: boolean;
  /**
   * Dense mode (the relay's): every header is sent without its prev-hash and nBits fields, its time
   * as a 16-bit delta from the previous block's (42 bytes; see encodeDenseHeaders). The task takes
   * the previous hash and the expected nBits instead, so neither link nor bits can fail. Exclusive
   * with compact.
   */
  dense?: boolean;
}

function flagsOf(opts: EncodeOptions): number {
  if (opts.compact && opts.dense) throw new Error("compact and dense modes are exclusive");
  return opts.dense ? FLAG_DENSE : opts.compact ? FLAG_COMPACT : 0;
}

/**
 * The headers part of a dense-mode input: per header version (4) ‖ merkle root (32) ‖ time delta
 * (i16 LE, time − the previous block's time, `prevTime` for the first header) ‖ nonce (4); a delta
 * outside ±32,767 s is sent as −32768 followed by the u32 time (46 bytes). The prev-hash and nBits
 * fields are dropped (the task derives them). This is exactly what BtcRelay.submitBatch takes.
 */
export function encodeDenseHeaders(prevTime: number, headers: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const hs = splitHeaders(headers);
  const parts: Uint8Array[] = [];
  let size = 0;
  let prev = prevTime;
  for (const h of hs) {
    const time = new DataView(h.buffer, h.byteOffset, 80).getUint32(68, true);
    const dt = time - prev;
    const escaped = dt < -32767 || dt > 32767;
    const rec = new Uint8Array(escaped ? DENSE_HEADER_BYTES + 4 : DENSE_HEADER_BYTES);
    const dv = new DataView(rec.buffer);
    rec.set(h.subarray(0, 4), 0);
    rec.set(h.subarray(36, 68), 4);
    dv.setInt16(36, escaped ? DENSE_TIME_ESCAPE : dt, true);
    if (escaped) dv.setUint32(38, time, true);
    rec.set(h.subarray(76, 80), rec.length - 4);
    parts.push(rec);
    size += rec.length;
    prev = time;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/**
 * Decodes the headers part of a dense-mode input (count records after `prevTime`) into 80-byte
 * headers whose prev-hash and nBits fields are zero (not in the input). Throws on a malformed part.
 */
export function decodeDenseHeaders(prevTime: number, part: Uint8Array, count: number): Uint8Array[] {
  const dv = new DataView(part.buffer, part.byteOffset, part.byteLength);
  const out: Uint8Array[] = [];
  let o = 0;
  let prev = prevTime >>> 0;
  for (let i = 0; i < count; i++) {
    if (o + DENSE_HEADER_BYTES > part.length) throw new Error(`dense header ${i} is cut short`);
    const h = new Uint8Array(80);
    const hv = new DataView(h.buffer);
    h.set(part.subarray(o, o + 4), 0);
    h.set(part.subarray(o + 4, o + 36), 36);
    const dt = dv.getInt16(o + 36, true);
    let time: number;
    if (dt === DENSE_TIME_ESCAPE) {
      if (o + DENSE_HEADER_BYTES + 4 > part.length) throw new Error(`dense header ${i} is cut short`);
      time = dv.getUint32(o + 38, true);
      o += 4;
    } else time = (prev + dt) >>> 0;
    hv.setUint32(68, time, true);
    h.set(part.subarray(o + 38, o + 42), 76);
    o += DENSE_HEADER_BYTES;
    prev = time;
    out.push(h);
  }
  if (o !== part.length) throw new Error(`dense headers: ${part.length - o} bytes after ${count} headers`);
  return out;
}

/** Task input for a checkpoint and the headers that follow it (80-byte headers, in order). */
export function encodeInput(
  checkpoint: CheckpointJson | Checkpoint,
  headers: Uint8Array | readonly Uint8Array[],
  opts: EncodeOptions = {},
): Uint8Array {
  const hs = splitHeaders(headers);
  const flags = flagsOf(opts);
  const compact = flags === FLAG_COMPACT;
  const dense = flags === FLAG_DENSE ? encodeDenseHeaders(normalizeCheckpoint(checkpoint).timestamps.at(-1)!, hs) : null;
  const size = INPUT_FIXED_BYTES + (dense ? dense.length : hs.length === 0 ? 0 : 80 + (hs.length - 1) * (compact ? 48 : 80));
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, BTC_FORMAT, true);
  dv.setUint32(4, flags, true);
  out.set(encodeCheckpoint(checkpoint), 8);
  dv.setUint32(8 + CHECKPOINT_BYTES, hs.length, true);
  if (dense) {
    out.set(dense, INPUT_FIXED_BYTES);
    return out;
  }
  let o = INPUT_FIXED_BYTES;
  hs.forEach((h, i) => {
    if (compact && i > 0) {
      out.set(h.subarray(0, 4), o);
      out.set(h.subarray(36, 80), o + 4);
      o += 48;
    } else {
      out.set(h, o);
      o += 80;
    }
  });
  return out;
}

/**
 * Decodes task input. In compact mode the prev-hash fields of headers after the first are not in
 * the input: they come back as zero bytes and `compact` is true (reference.ts then derives them).
 * In dense mode the prev-hash and nBits fields of every header come back as zero bytes (the time is
 * reconstructed) and `dense` is true.
 */
export function decodeInput(input: Uint8Array): { checkpoint: Checkpoint; headers: Uint8Array[]; compact: boolean; dense: boolean } {
  if (input.length < INPUT_FIXED_BYTES) throw new Error("input shorter than the fixed header");
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (dv.getUint32(0, true) !== BTC_FORMAT) throw new Error("unknown input format");
  const flags = dv.getUint32(4, true);
  if (flags > FLAG_DENSE) throw new Error(`unknown input mode (flags ${flags})`);
  const compact = flags === FLAG_COMPACT;
  const checkpoint = decodeCheckpoint(input.subarray(8, 8 + CHECKPOINT_BYTES));
  const count = dv.getUint32(8 + CHECKPOINT_BYTES, true);
  if (flags === FLAG_DENSE) {
    if (checkpoint.timestamps.length < 1) throw new Error("the checkpoint needs 1 to 11 timestamps");
    const headers = decodeDenseHeaders(checkpoint.timestamps.at(-1)!, input.subarray(INPUT_FIXED_BYTES), count);
    return { checkpoint, headers, compact: false, dense: true };
  }
  const expected = INPUT_FIXED_BYTES + (count === 0 ? 0 : 80 + (count - 1) * (compact ? 48 : 80));
  if (input.length !== expected) throw new Error(`input length ${input.length} != ${expected} for ${count} headers`);
  const headers: Uint8Array[] = [];
  let o = INPUT_FIXED_BYTES;
  for (let i = 0; i < count; i++) {
    const h = new Uint8Array(80);
    if (compact && i > 0) {
      h.set(input.subarray(o, o + 4), 0);
      h.set(input.subarray(o + 4, o + 48), 36);
      o += 48;
    } else {
      h.set(input.subarray(o, o + 80));
      o += 80;
    }
    headers.push(h);
  }
  return { checkpoint, headers, compact, dense: false };
}

/** Decodes the 172-byte task output. */
export function decodeOutput(out: Uint8Array): BtcResult {
  if (out.length !== OUTPUT_BYTES) throw new Error(`btc-headers output is ${OUTPUT_BYTES} bytes, got ${out.length}`);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const valid = dv.getUint32(0, true);
  const code = dv.getUint32(4, true);
  const failed = dv.getUint32(8, true);
  const next = decodeCheckpoint(out.subarray(16, 16 + CHECKPOINT_BYTES));
  if (valid > 1 || (valid === 1) !== (code === 0) || (code !== 0 && !RULE_NAMES[code]))
    throw new Error(`inconsistent btc-headers output: valid=${valid} rule=${code}`);
  return {
    valid: valid === 1,
    rule: code === 0 ? null : RULE_NAMES[code],
    failedIndex: failed === 0xffffffff ? -1 : failed,
    accepted: dv.getUint32(12, true),
    tipHash: next.hash,
    height: next.height,
    chainWork: next.chainWork,
    next,
    merkleRoot: hashToHex(out.subarray(16 + CHECKPOINT_BYTES, OUTPUT_BYTES)),
  };
}

/** Encodes a result into the task's 172 output bytes (the inverse of decodeOutput). */
export function encodeOutput(r: BtcResult): Uint8Array {
  const out = new Uint8Array(OUTPUT_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, r.valid ? 1 : 0, true);
  dv.setUint32(4, r.rule ? Rule[r.rule] : 0, true);
  dv.setUint32(8, r.failedIndex < 0 ? 0xffffffff : r.failedIndex, true);
  dv.setUint32(12, r.accepted, true);
  out.set(encodeCheckpoint(r.next), 16);
  out.set(hexToHash(r.merkleRoot), 16 + CHECKPOINT_BYTES);
  return out;
}

// --- header fields (80-byte header, internal layout) ------------------------------------------

export interface HeaderFields {
  version: number; // u32
  prevHash: string; // explorer order
  merkleRoot: string; // explorer order
  time: number;
  bits: number;
  nonce: number;
}

export function headerFields(h: Uint8Array): HeaderFields {
  if (h.length !== 80) throw new Error("a header is 80 bytes");
  const dv = new DataView(h.buffer, h.byteOffset, 80);
  return {
    version: dv.getUint32(0, true),
    prevHash: hashToHex(h.subarray(4, 36)),
    merkleRoot: hashToHex(h.subarray(36, 68)),
    time: dv.getUint32(68, true),
    bits: dv.getUint32(72, true),
    nonce: dv.getUint32(76, true),
  };
}
