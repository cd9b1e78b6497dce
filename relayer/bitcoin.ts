/**
 * Bitcoin data for the relay's proofs (docs/RELAY.md, "Proving a transaction"): raw blocks and
 * transactions, txids, Bitcoin's Merkle branches, and the `TxProof` that BtcRelay.relayTx takes.
 * Hashes are in Bitcoin's internal byte order (the raw SHA-256d output) unless a name says
 * "explorer order".
 */
import { hexlify } from "ethers";
import { blockHash, sha256d } from "../wasm-tasks/btc-headers/reference.js";

/** A raw transaction's parts (the serialization that hashes to the txid: no witness). */
export interface ParsedTx {
  version: number;
  inputs: { prevTxid: Uint8Array; prevIndex: number; script: Uint8Array; sequence: number }[];
  outputs: { value: bigint; script: Uint8Array }[];
  locktime: number;
}

class Reader {
  p = 0;
  private readonly dv: DataView;
  constructor(readonly b: Uint8Array) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number): void {
    if (this.p + n > this.b.length) throw new Error(`truncated at byte ${this.p} (${n} more needed, ${this.b.length - this.p} left)`);
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.p, true);
    this.p += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.dv.getBigUint64(this.p, true);
    this.p += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  varint(): number {
    this.need(1);
    const x = this.b[this.p++];
    if (x < 0xfd) return x;
    const v = x === 0xfd ? this.bytesLE(2) : x === 0xfe ? this.bytesLE(4) : this.bytesLE(8);
    if (v < (x === 0xfd ? 0xfd : x === 0xfe ? 0x10000 : 0x100000000)) throw new Error(`non-canonical CompactSize at byte ${this.p}`);
    return v;
  }
  private bytesLE(n: number): number {
    this.need(n);
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + this.b[this.p + i];
    this.p += n;
    if (!Number.isSafeInteger(v)) throw new Error("CompactSize too large");
    return v;
  }
}

function readTx(r: Reader): ParsedTx {
  const version = r.u32();
  const nIn = r.varint();
  if (nIn === 0) throw new Error("no input (or a segwit marker: give the serialization without witness)");
  const inputs = [];
  for (let i = 0; i < nIn; i++) {
    const prevTxid = r.bytes(32);
    const prevIndex = r.u32();
    const script = r.bytes(r.varint());
    inputs.push({ prevTxid, prevIndex, script, sequence: r.u32() });
  }
  const nOut = r.varint();
  if (nOut === 0) throw new Error("no output");
  const outputs = [];
  for (let i = 0; i < nOut; i++) {
    const value = r.u64();
    outputs.push({ value, script: r.bytes(r.varint()) });
  }
  return { version, inputs, outputs, locktime: r.u32() };
}

/** Parses one raw transaction (all of `raw`, nothing after it). */
export function parseTx(raw: Uint8Array): ParsedTx {
  const r = new Reader(raw);
  const tx = readTx(r);
  if (r.p !== raw.length) throw new Error(`${raw.length - r.p} bytes after the transaction`);
  return tx;
}

/** The txid of a raw transaction, internal byte order. */
export function txid(raw: Uint8Array): Uint8Array {
  return sha256d(raw);
}

export interface ParsedBlock {
  header: Uint8Array;
  hash: Uint8Array;
  /** Raw transactions, in block order. */
  txs: Uint8Array[];
  txids: Uint8Array[];
}

/**
 * Parses a raw serialized block (header, CompactSize count, transactions without witnesses) and
 * checks that its txids hash to the header's merkle root: a block whose transactions do not match
 * its header is an error, never a block to prove against.
 */
export function parseBlock(raw: Uint8Array): ParsedBlock {
  const r = new Reader(raw);
  const header = r.bytes(80);
  const n = r.varint();
  const txs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const start = r.p;
    readTx(r);
    txs.push(raw.subarray(start, r.p));
  }
  if (r.p !== raw.length) throw new Error(`${raw.length - r.p} bytes after the block's ${n} transactions`);
  const txids = txs.map(txid);
  const root = merkleRootOf(txids);
  if (hexlify(root) !== hexlify(header.subarray(36, 68))) throw new Error(`the block's ${n} transactions hash to merkle root ${hexlify(root)}, its header commits to ${hexlify(header.subarray(36, 68))} (internal byte order): the block data is not the block`);
  return { header, hash: blockHash(header), txs, txids };
}

function pair(a: Uint8Array, b: Uint8Array): Uint8Array {
  const c = new Uint8Array(64);
  c.set(a);
  c.set(b, 32);
  return sha256d(c);
}

/** Bitcoin's Merkle root (the last node of an odd level paired with itself). */
export function merkleRootOf(leaves: readonly Uint8Array[]): Uint8Array {
  if (!leaves.length) throw new Error("no leaves");
  let level = [...leaves];
  while (level.length > 1) {
    if (level.length % 2) level.push(level[level.length - 1]);
    const up: Uint8Array[] = [];
    for (let j = 0; j < level.length; j += 2) up.push(pair(level[j], level[j + 1]));
    level = up;
  }
  return level[0];
}

/** The branch of leaf `index` (siblings bottom-up; the last node of an odd level is its own sibling). */
export function merkleBranch(leaves: readonly Uint8Array[], index: number): Uint8Array[] {
  if (index < 0 || index >= leaves.length) throw new Error("leaf index out of range");
  const branch: Uint8Array[] = [];
  let level = [...leaves];
  let i = index;
  while (level.length > 1) {
    if (level.length % 2) level.push(level[level.length - 1]);
    branch.push(level[i ^ 1]);
    const up: Uint8Array[] = [];
    for (let j = 0; j < level.length; j += 2) up.push(pair(level[j], level[j + 1]));
    level = up;
    i >>= 1;
  }
  return branch;
}

/**
 * The nodes of one level of Bitcoin's tree over `leaves` (level 0 = the leaves), with the odd
 * level's last node paired with itself as the tree does.
 */
export function merkleLevel(leaves: readonly Uint8Array[], level: number): Uint8Array[] {
  let nodes = [...leaves];
  for (let l = 0; l < level; l++) {
    if (nodes.length % 2) nodes.push(nodes[nodes.length - 1]);
    const up: Uint8Array[] = [];
    for (let j = 0; j < nodes.length; j += 2) up.push(pair(nodes[j], nodes[j + 1]));
    nodes = up;
  }
  return nodes;
}

/** BtcRelay.TxProof, as ethers encodes it. */
export interface TxProofStruct {
  txIndex: number;
  txSiblings: string[];
  header: string;
  batchId: bigint;
  blockIndex: number;
  blockSiblings: string[];
}

/**
 * The proof of transaction `txIndex` of `block`, relayed in batch `batchId` whose block hashes (in
 * order) are `batchHashes`.
 */
export function txProof(block: ParsedBlock, txIndex: number, batchId: bigint, batchHashes: readonly Uint8Array[]): TxProofStruct {
  const blockIndex = batchHashes.findIndex((h) => hexlify(h) === hexlify(block.hash));
  if (blockIndex < 0) throw new Error("the block is not in the batch");
  return {
    txIndex,
    txSiblings: merkleBranch(block.txids, txIndex).map(hexlify),
    header: hexlify(block.header),
    batchId,
    blockIndex,
    blockSiblings: merkleBranch(batchHashes, blockIndex).map(hexlify),
  };
}
