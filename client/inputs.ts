/**
 * Large task inputs (docs/DAPPS.md § Large inputs): an input too large for one `post` transaction
 * is uploaded in chunks (`appendInput` of the market's InputUploads contract, `TaskMarket.inputs()`),
 * each transaction under the per-transaction gas cap, then the task is posted with the market's
 * `postInput`, which seals the input.
 * Nodes read an uploaded input back from the chunks' `InputAppended` events, or from the calldata of
 * the transactions that emitted them when the uploader was a plain account.
 */
import { readFileSync } from "node:fs";
import { getBytes, hexlify, Interface, type Log, type Provider } from "ethers";
import { REPO_ROOT, type Contracts } from "./contracts.js";
import { limitsStruct, type Hex } from "./encoding.js";
import { silentLogger, type Logger } from "./log.js";
import { retry, type RetryOptions } from "./rpc.js";
import { postTask, type TaskTerms } from "./tasks.js";
import { calldataGas, TX_GAS_CAP, type TxManager } from "./txs.js";

/** An InputUploads contract: the market's (`uploadsOf`), or one deployed by a test. */
export interface UploadTarget {
  address: string;
  iface: Interface;
}

let uploadsIface: Interface | null = null;

/** The ABI of contracts/market/InputUploads.sol (from Hardhat's artifacts). */
export function inputUploadsInterface(): Interface {
  uploadsIface ??= new Interface(JSON.parse(readFileSync(`${REPO_ROOT}artifacts/contracts/market/InputUploads.sol/InputUploads.json`, "utf8")).abi);
  return uploadsIface;
}

const uploadsByMarket = new Map<string, Promise<string>>();

/** The market's InputUploads contract (`TaskMarket.inputs()`, read once per market). */
export async function uploadsOf(c: Contracts): Promise<UploadTarget> {
  const key = c.addresses.market.toLowerCase();
  let p = uploadsByMarket.get(key);
  if (!p) {
    p = retry(() => c.market.inputs() as Promise<string>, { what: "inputs" });
    uploadsByMarket.set(key, p);
    p.catch(() => uploadsByMarket.delete(key));
  }
  return { address: await p, iface: inputUploadsInterface() };
}

/**
 * The largest chunk, in bytes, whatever its calldata costs: the chunk is copied to memory once and
 * hashed there, and memory costs grow with its square (512 KiB: ~0.6 M gas).
 */
export const CHUNK_MAX_BYTES = 512 * 1024;

/** Share of the gas cap a chunk's calldata floor may take (the rest: margin for the call's own words). */
const CAP_SHARE = 0.985;

/** Calldata tokens (EIP-7623) of bytes [from, to): 1 per zero byte, 4 per other byte. */
function tokensOf(b: Uint8Array, from: number, to: number): number {
  let t = 0;
  for (let i = from; i < to; i++) t += b[i] === 0 ? 1 : 4;
  return t;
}

/**
 * Splits `input` into chunks whose `appendInput` transactions stay under `cap`: each chunk as long
 * as its EIP-7623 calldata floor (21,000 + 10 per token) allows, at most CHUNK_MAX_BYTES, every one
 * but the last a multiple of 32 bytes. Returns the chunks' end offsets. A random megabyte takes 2.6
 * chunks of about 411 KB; zeros cost a quarter as much, and go in chunks of CHUNK_MAX_BYTES.
 */
export function planChunks(input: Uint8Array, cap: bigint = TX_GAS_CAP): number[] {
  // the call's own calldata: selector, id, offset and length words, padding: at most 164 bytes
  const budget = Math.floor((Number(cap) * CAP_SHARE - 21_000) / 10) - 4 * 164;
  const ends: number[] = [];
  let start = 0;
  while (start < input.length) {
    let end = start;
    let tokens = 0;
    while (end < input.length) {
      const next = Math.min(end + 32, input.length);
      const t = tokensOf(input, end, next);
      if (tokens + t > budget || next - start > CHUNK_MAX_BYTES) break;
      tokens += t;
      end = next;
    }
    ends.push(end);
    start = end;
  }
  return ends;
}

export interface Upload {
  inputId: bigint;
  /** Transactions, in order. */
  txs: Hex[];
  gasUsed: bigint;
  /** The largest gas used by one of them. */
  maxTxGas: bigint;
  chunks: number;
}

/**
 * Uploads `input` in chunks (planChunks) with `appendInput`: the first opens a new upload
 * (inputId 0), whose id is read from its InputAppended event. Returns the id, ready for
 * `postInput` (which seals it).
 */
export async function uploadInput(txs: TxManager, target: UploadTarget, input: Uint8Array, opts: { log?: Logger; intent?: string } = {}): Promise<Upload> {
  const log = opts.log ?? silentLogger;
  const ends = planChunks(input, await txs.gasCap());
  const prefix = opts.intent ?? `upload:${hexlify(input.subarray(0, 8))}:${input.length}:${Date.now()}`;
  let inputId = 0n;
  const hashes: Hex[] = [];
  let gasUsed = 0n;
  let maxTxGas = 0n;
  let start = 0;
  const cap = await txs.gasCap();
  for (const [i, end] of ends.entries()) {
    const call = { to: target.address, data: appendInputData(target, inputId, input.subarray(start, end)), value: 0n, what: "appendInput" };
    // the first chunk is estimated (a call that would revert is not sent); the others are the same
    // call on the next bytes, whose calldata floor is the bulk of their cost: they go with the cap
    // as their limit (only the gas used is paid) instead of a node-side estimate each (~1 s of a
    // Hardhat node's time for 400 KB)
    const out = await txs.send(`${prefix}:${start}`, call, i === 0 ? {} : { gasLimit: cap });
    if (out.status !== "mined") throw new Error(`appendInput reverted (${out.hash})`);
    if (inputId === 0n) {
      const receipt = out.receipt ?? (await txs.provider.getTransactionReceipt(out.hash));
      const ev = receipt?.logs.map((l) => parseAppended(target, l)).find((e) => e !== null);
      if (!ev) throw new Error(`no InputAppended event in ${out.hash}`);
      inputId = ev.inputId;
    }
    hashes.push(out.hash);
    gasUsed += out.gasUsed;
    if (out.gasUsed > maxTxGas) maxTxGas = out.gasUsed;
    log.info("input chunk uploaded", { inputId, chunk: i + 1, of: ends.length, offset: start, bytes: end - start, gasUsed: out.gasUsed });
    start = end;
  }
  if (ends.length === 0) {
    // an empty input: one empty chunk opens the upload
    const out = await txs.send(`${prefix}:0`, { to: target.address, data: target.iface.encodeFunctionData("appendInput", [0n, new Uint8Array(0)]), value: 0n, what: "appendInput" });
    const receipt = out.receipt ?? (await txs.provider.getTransactionReceipt(out.hash));
    inputId = receipt!.logs.map((l) => parseAppended(target, l)).find((e) => e !== null)!.inputId;
    hashes.push(out.hash);
    gasUsed = maxTxGas = out.gasUsed;
  }
  return { inputId, txs: hashes, gasUsed, maxTxGas, chunks: Math.max(ends.length, 1) };
}

/** Calldata of appendInput(inputId, chunk), built on Buffers (ethers' encoder goes through hex strings). */
export function appendInputData(target: UploadTarget, inputId: bigint, chunk: Uint8Array): Hex {
  const selector = Buffer.from(target.iface.getFunction("appendInput")!.selector.slice(2), "hex");
  const word = (n: bigint) => Buffer.from(n.toString(16).padStart(64, "0"), "hex");
  const padded = Buffer.alloc(Math.ceil(chunk.length / 32) * 32);
  padded.set(chunk);
  return `0x${Buffer.concat([selector, word(inputId), word(64n), word(BigInt(chunk.length)), padded]).toString("hex")}`;
}

/** Decodes appendInput calldata (null if it is not a well-formed appendInput call). */
export function parseAppendInput(target: UploadTarget, data: string): { inputId: bigint; chunk: Uint8Array } | null {
  const b = Buffer.from(data.slice(2), "hex");
  if (b.length < 100 || b.subarray(0, 4).toString("hex") !== target.iface.getFunction("appendInput")!.selector.slice(2)) return null;
  const word = (at: number) => BigInt("0x" + b.subarray(at, at + 32).toString("hex"));
  const inputId = word(4);
  const at = word(36);
  if (at + 36n > BigInt(b.length)) return null;
  const len = word(4 + Number(at));
  const start = 4 + Number(at) + 32;
  if (BigInt(start) + len > BigInt(b.length)) return null;
  return { inputId, chunk: new Uint8Array(b.subarray(start, start + Number(len))) };
}

interface Appended {
  inputId: bigint;
  owner: string;
  offset: number;
  length: number;
  chunk: Uint8Array;
  tx: Hex;
  block: number;
  index: number;
}

function parseAppended(target: UploadTarget, l: Log): Appended | null {
  if (l.address.toLowerCase() !== target.address.toLowerCase()) return null;
  let p;
  try {
    p = target.iface.parseLog({ topics: [...l.topics], data: l.data });
  } catch {
    return null;
  }
  if (!p || p.name !== "InputAppended") return null;
  return { inputId: p.args.inputId, owner: p.args.owner, offset: Number(p.args.offset), length: Number(p.args.size), chunk: getBytes(p.args.chunk), tx: l.transactionHash, block: l.blockNumber, index: l.index };
}

/**
 * The bytes of upload `inputId`, read back from its InputAppended events (from `fromBlock` on):
 * each chunk from the event, or, when the event's chunk is empty, from the calldata of the
 * `appendInput` transaction that emitted it. Checks that the chunks are contiguous and, when given,
 * that the total is `length` bytes.
 */
export async function uploadedInput(provider: Provider, target: UploadTarget, inputId: bigint, fromBlock: number, length?: number, opts: RetryOptions = {}): Promise<Uint8Array> {
  const topic = target.iface.getEvent("InputAppended")!.topicHash;
  const idTopic = "0x" + inputId.toString(16).padStart(64, "0");
  const logs = await retry(() => provider.getLogs({ address: target.address, topics: [topic, idTopic], fromBlock, toBlock: "latest" }), { what: "getLogs", ...opts });
  const events = logs
    .map((l) => parseAppended(target, l))
    .filter((e): e is Appended => e !== null)
    .sort((a, b) => a.block - b.block || a.index - b.index);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const e of events) {
    if (e.offset !== at) throw new Error(`input ${inputId}: chunk at offset ${e.offset}, expected ${at} (tx ${e.tx})`);
    let chunk = e.chunk;
    if (chunk.length !== e.length) {
      // a plain account's direct call: the chunk is the transaction's calldata
      const tx = await retry(() => provider.getTransaction(e.tx), { what: "getTransaction", ...opts });
      if (!tx) throw new Error(`input ${inputId}: transaction ${e.tx} not found`);
      const parsed = tx.to?.toLowerCase() === target.address.toLowerCase() ? parseAppendInput(target, tx.data) : null;
      if (!parsed || (parsed.inputId !== inputId && !(parsed.inputId === 0n && e.offset === 0))) throw new Error(`input ${inputId}: transaction ${e.tx} is not a direct appendInput call for it`);
      chunk = parsed.chunk;
      if (chunk.length !== e.length) throw new Error(`input ${inputId}: chunk of ${chunk.length} bytes in ${e.tx}, event says ${e.length}`);
    }
    parts.push(chunk);
    at += chunk.length;
  }
  if (length !== undefined && at !== length) throw new Error(`input ${inputId}: ${at} bytes uploaded, ${length} expected`);
  const out = new Uint8Array(at);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** What `postAny` did: one `post`, or an upload and `postInput`. */
export interface Posted {
  taskId: bigint;
  initialRoot: Hex;
  /** The posting transaction (post or postInput). */
  tx: Hex;
  /** Gas of every transaction, upload included. */
  gasUsed: bigint;
  upload: Upload | null;
}

/**
 * Whether `post` can carry `input` in one transaction: its calldata floor under the cap (with 1.5 %
 * to spare) and the input at most CHUNK_MAX_BYTES (the market hashes it in memory, whose cost grows
 * with its square: 1.6 MB of zeros would fit the floor but not the execution).
 */
export function fitsOnePost(input: Uint8Array, postData: string, cap: bigint): boolean {
  return input.length <= CHUNK_MAX_BYTES && Number(calldataGas(postData).floor) <= Number(cap) * CAP_SHARE;
}

/**
 * Posts a task with `input`, in one `post` transaction when it fits (fitsOnePost), else uploaded
 * in chunks (uploadInput) and posted with `postInput`. `terms.deadlineIn` counts from the post.
 */
export async function postAny(txs: TxManager, c: Contracts, provider: Provider, root: Hex, input: Uint8Array, terms: TaskTerms, opts: { log?: Logger; single?: boolean } = {}): Promise<Posted> {
  const cap = await txs.gasCap();
  const probe = c.post(root, input, terms.limits, terms.window, terms.solverBond, terms.challengerBond, 0, terms.reward);
  if (opts.single || fitsOnePost(input, probe.data, cap)) {
    const p = await postTask(txs, c, provider, root, input, terms);
    return { ...p, upload: null };
  }
  const upload = await uploadInput(txs, await uploadsOf(c), input, { log: opts.log });
  const latest = await retry(() => provider.getBlock("latest"), { what: "getBlock" });
  const deadline = Math.max(latest?.timestamp ?? 0, Math.floor(Date.now() / 1000)) + terms.deadlineIn;
  const data = c.marketIface.encodeFunctionData("postInput", [upload.inputId, root, limitsStruct(terms.limits), terms.window, terms.solverBond, terms.challengerBond, deadline]);
  const out = await txs.send(`postInput:${upload.inputId}:${root}`, { to: c.addresses.market, data, value: terms.reward, what: "postInput" });
  if (out.status !== "mined") throw new Error(`postInput reverted (${out.hash})`);
  const receipt = out.receipt ?? (await provider.getTransactionReceipt(out.hash));
  for (const l of receipt!.logs) {
    if (l.address.toLowerCase() !== c.addresses.market.toLowerCase()) continue;
    const ev = c.marketIface.parseLog({ topics: [...l.topics], data: l.data });
    if (ev?.name === "TaskPosted") return { taskId: ev.args.taskId, initialRoot: ev.args.initialRoot, tx: out.hash, gasUsed: upload.gasUsed + out.gasUsed, upload };
  }
  throw new Error("no TaskPosted event in the postInput receipt");
}

/**
 * The input of a task posted with `postInput`: the upload named by the `InputUsed` event of the
 * posting transaction `tx`, read back (uploadedInput). Null when `tx` posted no uploaded input.
 */
export async function taskUploadedInput(provider: Provider, target: UploadTarget, taskId: bigint, tx: Hex, length: number, opts: RetryOptions = {}): Promise<Uint8Array | null> {
  const receipt = await retry(() => provider.getTransactionReceipt(tx), { what: "getTransactionReceipt", ...opts });
  for (const l of receipt?.logs ?? []) {
    if (l.address.toLowerCase() !== target.address.toLowerCase()) continue;
    let p;
    try {
      p = target.iface.parseLog({ topics: [...l.topics], data: l.data });
    } catch {
      continue;
    }
    if (p?.name === "InputUsed" && p.args.taskId === taskId) return uploadedInput(provider, target, p.args.inputId, 0, length, opts);
  }
  return null;
}
