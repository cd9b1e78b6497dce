/**
 * Chain sync and what nodes read from the chain (docs/GAME.md, "What nodes need"): the market's and
 * the game's events from a persisted cursor (up to `head − confirmations`, in chunks), task inputs
 * (from the event, or from the calldata of the `post` transaction when the event's input is empty),
 * and program bytes from `ProgramRegistered` events, checked against the program root.
 */
import { getBytes, hexlify, type Log, type Provider } from "ethers";
import { compile } from "../interpreter/lower.js";
import type { Limits } from "../interpreter/isa.js";
import type { Program } from "../interpreter/program.js";
import { initialStateRoot, programDescriptor, programRoot, type ProgramDescriptor } from "../interpreter/state.js";
import type { Contracts } from "./contracts.js";
import { limitsFromStruct, type Hex } from "./encoding.js";
import { taskUploadedInput, uploadsOf } from "./inputs.js";
import { errorMessage, silentLogger, type Logger } from "./log.js";
import { retry, type RetryOptions } from "./rpc.js";
import type { Store } from "./store.js";

export interface EventLoc {
  block: number;
  logIndex: number;
  tx: Hex;
}

export type ChainEvent = EventLoc &
  (
    | { kind: "TaskPosted"; taskId: bigint; programRoot: Hex; poster: string; initialRoot: Hex; limits: Limits; inputLength: number; input: Hex }
    | { kind: "Committed"; taskId: bigint; solver: string; commitment: Hex }
    | { kind: "Revealed"; taskId: bigint; solver: string; finalRoot: Hex; steps: bigint; status: number; exitCode: number; trap: number; output: Hex }
    | { kind: "Forfeited"; taskId: bigint }
    | { kind: "ChallengerPaid"; taskId: bigint; gameId: bigint; challenger: string; refund: bigint }
    | { kind: "Challenged"; taskId: bigint; gameId: bigint; challenger: string }
    | { kind: "SolutionDefeated"; taskId: bigint; solver: string; gameId: bigint }
    | { kind: "ChallengeReleased"; taskId: bigint; gameId: bigint }
    | { kind: "Finalized"; taskId: bigint; solver: string; status: number }
    | { kind: "Expired"; taskId: bigint }
    | { kind: "Withdrawal"; account: string; amount: bigint }
    | { kind: "GameOpened"; gameId: bigint; solver: string; challenger: string; rootLo: Hex; rootHi: Hex; steps: bigint }
    | { kind: "Bisected"; gameId: bigint; lo: bigint; hi: bigint; roots: Hex[] }
    | { kind: "Selected"; gameId: bigint; index: number; lo: bigint; hi: bigint }
    | { kind: "GameResolved"; gameId: bigint; solverWon: boolean; timeout: boolean }
    | { kind: "GameAborted"; gameId: bigint }
  );

export type EventOf<K extends ChainEvent["kind"]> = Extract<ChainEvent, { kind: K }>;

const MARKET_EVENTS = ["TaskPosted", "Committed", "Revealed", "Forfeited", "Challenged", "SolutionDefeated", "ChallengerPaid", "ChallengeReleased", "Finalized", "Expired", "Withdrawal"];
const GAME_EVENTS = ["GameOpened", "Bisected", "Selected", "GameResolved", "GameAborted"];

/** Decodes a market or game log into a ChainEvent (null for logs of other events). */
export function decodeEvent(c: Contracts, log: Log): ChainEvent | null {
  const loc: EventLoc = { block: log.blockNumber, logIndex: log.index, tx: log.transactionHash };
  const isGame = log.address.toLowerCase() === c.addresses.game.toLowerCase();
  const parsed = (isGame ? c.gameIface : c.marketIface).parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return null;
  const a = parsed.args;
  switch (parsed.name) {
    case "TaskPosted":
      return { ...loc, kind: "TaskPosted", taskId: a.taskId, programRoot: a.programRoot, poster: a.poster, initialRoot: a.initialRoot, limits: limitsFromStruct(a.limits), inputLength: Number(a.inputLength), input: a.input };
    case "Committed":
      return { ...loc, kind: "Committed", taskId: a.taskId, solver: a.solver, commitment: a.commitment };
    case "Revealed":
      return { ...loc, kind: "Revealed", taskId: a.taskId, solver: a.solver, finalRoot: a.finalRoot, steps: a.steps, status: Number(a.status), exitCode: Number(a.exitCode), trap: Number(a.trap), output: a.output };
    case "Forfeited":
      return { ...loc, kind: "Forfeited", taskId: a.taskId };
    case "ChallengerPaid":
      return { ...loc, kind: "ChallengerPaid", taskId: a.taskId, gameId: a.gameId, challenger: a.challenger, refund: a.refund };
    case "Challenged":
      return { ...loc, kind: "Challenged", taskId: a.taskId, gameId: a.gameId, challenger: a.challenger };
    case "SolutionDefeated":
      return { ...loc, kind: "SolutionDefeated", taskId: a.taskId, solver: a.solver, gameId: a.gameId };
    case "ChallengeReleased":
      return { ...loc, kind: "ChallengeReleased", taskId: a.taskId, gameId: a.gameId };
    case "Finalized":
      return { ...loc, kind: "Finalized", taskId: a.taskId, solver: a.solver, status: Number(a.status) };
    case "Expired":
      return { ...loc, kind: "Expired", taskId: a.taskId };
    case "Withdrawal":
      return { ...loc, kind: "Withdrawal", account: a.account, amount: a.amount };
    case "GameOpened":
      return { ...loc, kind: "GameOpened", gameId: a.gameId, solver: a.solver, challenger: a.challenger, rootLo: a.rootLo, rootHi: a.rootHi, steps: a.steps };
    case "Bisected":
      return { ...loc, kind: "Bisected", gameId: a.gameId, lo: a.lo, hi: a.hi, roots: [...a.roots] };
    case "Selected":
      return { ...loc, kind: "Selected", gameId: a.gameId, index: Number(a.index), lo: a.lo, hi: a.hi };
    case "GameResolved":
      return { ...loc, kind: "GameResolved", gameId: a.gameId, solverWon: a.solverWon, timeout: a.timeout };
    case "GameAborted":
      return { ...loc, kind: "GameAborted", gameId: a.gameId };
    default:
      return null;
  }
}

export interface SyncOptions {
  /** Events are handled once their block has this many confirmations (0: at once). */
  confirmations?: number;
  /** Block hashes kept to find where a reorganised chain forks from the one handled (blocks). */
  reorgDepth?: number;
  /** Blocks per eth_getLogs request. */
  chunk?: number;
  log?: Logger;
  retry?: RetryOptions;
}

export interface Cursor {
  /** Last block whose events were all handled. */
  block: number;
  market: string;
  chainId: number;
}

/** A reorganisation deeper than the block hashes kept: the node cannot tell what to undo. */
export class DeepReorgError extends Error {}

/**
 * Fetches the market's and game's events after a cursor persisted in the store.
 *
 * Reorgs: the hashes of the blocks whose events were handled, and of the cursor's block, are kept
 * (`blocks.json`, the last `reorgDepth` blocks). Before each poll the cursor's block, and the newest
 * blocks with events, are checked against the chain; when one differs, the newest kept block the
 * chain still has is the common ancestor: `onReorg(ancestor)` undoes what was applied after it (the
 * node's records, node.ts) and the cursor goes back there, so the new branch's events are applied.
 */
export class ChainSync {
  private readonly topics: string[];
  private readonly log: Logger;
  cursor: Cursor;
  /** Block number -> hash of the blocks handled (with events) and of the cursor's block. */
  private hashes = new Map<number, string>();
  /** Reorganisations handled (metrics). */
  reorgs = 0;

  constructor(
    readonly provider: Provider,
    readonly contracts: Contracts,
    private readonly store: Store | null,
    private readonly startBlock: number,
    chainId: number,
    private readonly opts: SyncOptions = {},
  ) {
    this.log = opts.log ?? silentLogger;
    this.topics = [...MARKET_EVENTS.map((n) => contracts.marketIface.getEvent(n)!.topicHash), ...GAME_EVENTS.map((n) => contracts.gameIface.getEvent(n)!.topicHash)];
    const saved = store?.getRoot<Cursor>("cursor");
    if (saved && saved.market.toLowerCase() !== contracts.addresses.market.toLowerCase()) throw new Error(`the store at ${store!.dir} belongs to the market ${saved.market}, not ${contracts.addresses.market}`);
    this.cursor = saved ?? { block: startBlock - 1, market: contracts.addresses.market, chainId };
    const kept = store?.getRoot<[number, string][]>("blocks");
    if (kept) this.hashes = new Map(kept);
  }

  private saveHashes(): void {
    const depth = this.opts.reorgDepth ?? 256;
    for (const n of this.hashes.keys()) if (n < this.cursor.block - depth) this.hashes.delete(n);
    this.store?.putRoot("blocks", [...this.hashes].sort((a, b) => a[0] - b[0]));
  }

  private async hashOf(n: number): Promise<string | null> {
    const b = await this.rpc("getBlock", () => this.provider.getBlock(n));
    return b?.hash ?? null;
  }

  /**
   * Checks the kept hashes against the chain; on a reorg, calls onReorg(ancestor) and moves the
   * cursor back. Returns the ancestor, or null when the chain is the one handled.
   */
  async checkReorg(onReorg: (ancestor: number) => Promise<void>): Promise<number | null> {
    // (hashes above the cursor: a chunk whose handling a crash cut short)
    const known = [...this.hashes.keys()].sort((a, b) => b - a);
    if (known.length === 0) return null;
    // the cursor's block and the newest blocks with events
    const probe = [...new Set([...(this.hashes.has(this.cursor.block) ? [this.cursor.block] : []), ...known.slice(0, 4)])];
    let forked = false;
    for (const n of probe) {
      if ((await this.hashOf(n)) !== this.hashes.get(n)) {
        forked = true;
        break;
      }
    }
    if (!forked) return null;
    let ancestor: number | null = null;
    for (const n of known) {
      if ((await this.hashOf(n)) === this.hashes.get(n)) {
        ancestor = n;
        break;
      }
    }
    if (ancestor === null) {
      const oldest = known[known.length - 1];
      if (oldest > this.startBlock) throw new DeepReorgError(`the chain reorganised below block ${oldest}, deeper than the ${this.opts.reorgDepth ?? 256} blocks whose hashes this node keeps`);
      ancestor = this.startBlock - 1;
    }
    this.reorgs++;
    this.log.warn("chain reorganised", { ancestor, cursor: this.cursor.block, depth: this.cursor.block - ancestor });
    await onReorg(ancestor);
    for (const n of [...this.hashes.keys()]) if (n > ancestor) this.hashes.delete(n);
    this.cursor = { ...this.cursor, block: Math.min(this.cursor.block, ancestor) };
    this.store?.putRoot("cursor", this.cursor);
    this.saveHashes();
    return ancestor;
  }

  private rpc<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, { what, log: this.log, ...this.opts.retry });
  }

  /** The newest block whose events may be handled. */
  async safeHead(): Promise<number> {
    const head = await this.rpc("getBlockNumber", () => this.provider.getBlockNumber());
    return head - (this.opts.confirmations ?? 0);
  }

  /**
   * Handles every new event up to the safe head, chunk by chunk; the cursor is persisted after each
   * chunk's handler has returned (so an interrupted chunk is handled again: handlers are idempotent).
   */
  async poll(handle: (events: ChainEvent[]) => Promise<void>, signal?: AbortSignal, onReorg?: (ancestor: number) => Promise<void>): Promise<void> {
    if (onReorg) await this.checkReorg(onReorg);
    const target = await this.safeHead();
    const chunk = this.opts.chunk ?? 5_000;
    while (this.cursor.block < target && !signal?.aborted) {
      const from = this.cursor.block + 1;
      const to = Math.min(target, from + chunk - 1);
      const logs = await this.rpc("getLogs", () =>
        this.provider.getLogs({ address: [this.contracts.addresses.market, this.contracts.addresses.game], topics: [this.topics], fromBlock: from, toBlock: to }),
      );
      logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
      // the hashes of the blocks handled: the logs' own, and the chunk's last block (read after the
      // logs: a log of that block from another branch means the chain moved meanwhile, try again)
      const seen = new Map<number, string>();
      for (const l of logs) {
        if (seen.has(l.blockNumber) && seen.get(l.blockNumber) !== l.blockHash) throw new ReorgDuringSync(l.blockNumber);
        seen.set(l.blockNumber, l.blockHash);
      }
      const last = await this.hashOf(to);
      if (!last || (seen.has(to) && seen.get(to) !== last)) throw new ReorgDuringSync(to);
      seen.set(to, last);
      const events = logs.map((l) => decodeEvent(this.contracts, l)).filter((e): e is ChainEvent => e !== null);
      for (const [n, h] of seen) this.hashes.set(n, h);
      this.saveHashes(); // before the events are handled: a reorg of these blocks is seen after a crash too
      if (events.length) await handle(events);
      this.cursor = { ...this.cursor, block: to };
      this.store?.putRoot("cursor", this.cursor);
    }
    this.saveHashes();
  }
}

/** The chain changed while a chunk was read: the tick ends, the next one checks for a reorg. */
export class ReorgDuringSync extends Error {
  constructor(block: number) {
    super(`block ${block} changed while its events were read`);
  }
}

/** All events of one game (for rebuilding a position, status and transcripts). */
export async function gameEvents(provider: Provider, c: Contracts, gameId: bigint, fromBlock: number, opts: RetryOptions = {}): Promise<ChainEvent[]> {
  const idTopic = "0x" + gameId.toString(16).padStart(64, "0");
  const topics = GAME_EVENTS.map((n) => c.gameIface.getEvent(n)!.topicHash);
  const logs = await retry(() => provider.getLogs({ address: c.addresses.game, topics: [topics, idTopic], fromBlock, toBlock: "latest" }), { what: "getLogs", ...opts });
  logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  return logs.map((l) => decodeEvent(c, l)).filter((e): e is ChainEvent => e !== null);
}

/** All market events of one task (indexed by task id). */
export async function taskEvents(provider: Provider, c: Contracts, taskId: bigint, fromBlock: number, opts: RetryOptions = {}): Promise<ChainEvent[]> {
  const idTopic = "0x" + taskId.toString(16).padStart(64, "0");
  const topics = MARKET_EVENTS.filter((n) => n !== "Withdrawal").map((n) => c.marketIface.getEvent(n)!.topicHash);
  const logs = await retry(() => provider.getLogs({ address: c.addresses.market, topics: [topics, idTopic], fromBlock, toBlock: "latest" }), { what: "getLogs", ...opts });
  logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  return logs.map((l) => decodeEvent(c, l)).filter((e): e is ChainEvent => e !== null);
}

/**
 * The input of a posted task: the event's, or (plain-account posters) decoded from the calldata of
 * the `post` transaction that emitted it, or (`postInput`) read back from its chunked upload.
 */
export async function taskInput(provider: Provider, c: Contracts, ev: EventOf<"TaskPosted">, opts: RetryOptions = {}): Promise<Uint8Array> {
  const logged = getBytes(ev.input);
  if (logged.length === ev.inputLength) return logged;
  const tx = await retry(() => provider.getTransaction(ev.tx), { what: "getTransaction", ...opts });
  if (!tx) throw new Error(`task ${ev.taskId}: transaction ${ev.tx} not found`);
  let parsed;
  try {
    parsed = c.marketIface.parseTransaction({ data: tx.data, value: tx.value });
  } catch {
    parsed = null;
  }
  if (!parsed || parsed.name !== "post" || tx.to?.toLowerCase() !== c.addresses.market.toLowerCase()) {
    // an input uploaded in chunks (postInput, called directly or by a contract): client/inputs.ts
    const uploaded = await taskUploadedInput(provider, await uploadsOf(c), ev.taskId, ev.tx, ev.inputLength, opts);
    if (uploaded) return uploaded;
    throw new Error(`task ${ev.taskId}: transaction ${ev.tx} is not a direct call to post, and posted no uploaded input`);
  }
  const input = getBytes(parsed.args.input);
  if (input.length !== ev.inputLength) throw new Error(`task ${ev.taskId}: calldata input of ${input.length} bytes, event says ${ev.inputLength}`);
  return input;
}

/** A program whose bytes lower to its registered root. */
export interface VerifiedProgram {
  root: Hex;
  wasm: Uint8Array;
  program: Program;
  descriptor: ProgramDescriptor;
}

/**
 * Finds a registration of `root` whose WebAssembly bytes lower to that root (any registration may
 * carry wrong bytes: they are skipped). Null when none does: nodes refuse the program.
 */
export async function fetchProgram(provider: Provider, c: Contracts, root: Hex, fromBlock: number, opts: { retry?: RetryOptions; log?: Logger; cached?: Uint8Array } = {}): Promise<VerifiedProgram | null> {
  const log = opts.log ?? silentLogger;
  if (opts.cached) {
    const v = verifyProgram(opts.cached, root);
    if (v) return v;
  }
  const topic = c.marketIface.getEvent("ProgramRegistered")!.topicHash;
  const logs = await retry(() => provider.getLogs({ address: c.addresses.market, topics: [topic, root], fromBlock, toBlock: "latest" }), { what: "getLogs", ...opts.retry });
  for (const l of logs) {
    const parsed = c.marketIface.parseLog({ topics: [...l.topics], data: l.data });
    if (!parsed) continue;
    const wasm = getBytes(parsed.args.wasm);
    const v = verifyProgram(wasm, root);
    if (v) return v;
    log.warn("registration with wrong bytes", { programRoot: root, tx: l.transactionHash });
  }
  return null;
}

/** The program if `wasm` lowers to `root`, else null. */
export function verifyProgram(wasm: Uint8Array, root: Hex): VerifiedProgram | null {
  let program: Program;
  try {
    program = compile(wasm, { imports: "task" });
  } catch {
    return null;
  }
  const descriptor = programDescriptor(program);
  if (hexlify(programRoot(descriptor)).toLowerCase() !== root.toLowerCase()) return null;
  return { root: hexlify(programRoot(descriptor)), wasm, program, descriptor };
}

/** Checks a task's initial root against its program, input and limits (what the chain computed). */
export function checkInitialRoot(p: VerifiedProgram, input: Uint8Array, limits: Limits, initialRoot: Hex): string | null {
  try {
    const r = hexlify(initialStateRoot(p.descriptor, input, limits));
    return r.toLowerCase() === initialRoot.toLowerCase() ? null : `initial root ${r} differs from the chain's ${initialRoot}`;
  } catch (e) {
    return errorMessage(e);
  }
}

/** Fees paid by each of `accounts` in blocks (from, to]. */
export async function feesPaid(provider: Provider, accounts: string[], from: number, to: number): Promise<Map<string, bigint>> {
  const fees = new Map(accounts.map((a) => [a.toLowerCase(), 0n]));
  for (let n = from + 1; n <= to; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block!.prefetchedTransactions) {
      const key = tx.from.toLowerCase();
      if (!fees.has(key)) continue;
      const r = await provider.getTransactionReceipt(tx.hash);
      fees.set(key, fees.get(key)! + r!.gasUsed * r!.gasPrice);
    }
  }
  return fees;
}
