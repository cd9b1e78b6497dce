/**
 * Game transcripts: one JSON file per game with everything needed to play it again on fresh
 * contracts (docs/NODES.md, "Transcripts"): the deployment parameters, the program bytes, the task's
 * input and terms, the solver's claim with its final-state opening, every move (who, when, the roots,
 * the chosen segments, gas), the final step's witness and the outcome. Built from the chain alone
 * (events, transaction calldata, receipts), so both players of a game write the same transcript.
 */
import { getBytes, hexlify, type Provider } from "ethers";
import type { Limits } from "../interpreter/isa.js";
import { gameEvents, taskEvents, type ChainEvent, type EventOf } from "./chain.js";
import type { Contracts } from "./contracts.js";
import type { Deployment } from "./deployment.js";
import type { Hex } from "./encoding.js";
import { retry, type RetryOptions } from "./rpc.js";

export const TRANSCRIPT_FORMAT = "truewasm-transcript";

interface MoveBase {
  /** Sender of the move's transaction. */
  by: string;
  /** Block timestamp. */
  at: number;
  block: number;
  tx: Hex;
  gasUsed: string;
}

export type TranscriptMove =
  | (MoveBase & { kind: "bisect"; lo: string; hi: string; roots: Hex[] })
  | (MoveBase & { kind: "select"; index: number; lo: string; hi: string })
  | (MoveBase & { kind: "proveStep"; lo: string; rootLo: Hex; rootHi: Hex; witness: Hex })
  | (MoveBase & { kind: "timeout" });

export interface Transcript {
  format: typeof TRANSCRIPT_FORMAT;
  version: 1;
  /** Where the game was played. */
  source: { chainId: number; market: string; game: string };
  parameters: { k: number; clock: number; burnBps: number; callbackGas: number };
  program: { root: Hex; wasm: Hex };
  task: {
    id: string;
    poster: string;
    input: Hex;
    limits: Limits;
    reward: string;
    solverBond: string;
    challengerBond: string;
    window: number;
    deadline: number;
    postedAt: number;
    initialRoot: Hex;
  };
  /** The solution as revealed (committedAt, tx, gasUsed: of its reveal). */
  claim: { solver: string; finalRoot: Hex; steps: string; status: number; trap: number; output: Hex; opening: Hex; committedAt: number; tx: Hex; gasUsed: string };
  game: { id: string; challenger: string; openedAt: number; tx: Hex; gasUsed: string; steps: string };
  moves: TranscriptMove[];
  /** The witness of the one-step proof (null when the game ended by timeout or abort). */
  finalWitness: Hex | null;
  outcome: { solverWon: boolean; timeout: boolean; at: number } | { aborted: true; at: number };
  recordedBy?: { role: string; address: string; at: string };
  /** Free-form description (the generator's case name). */
  note?: string;
}

export interface TranscriptInputs {
  provider: Provider;
  contracts: Contracts;
  deployment: Deployment;
  gameId: bigint;
  taskId: bigint;
  input: Uint8Array;
  wasm: Uint8Array;
  retry?: RetryOptions;
}

/** Builds the transcript of a finished game from the chain. */
export async function buildTranscript(x: TranscriptInputs): Promise<Transcript> {
  const { provider, contracts: c, deployment: d } = x;
  const r = <T>(what: string, fn: () => Promise<T>) => retry(fn, { what, ...x.retry });
  const blockTime = new Map<number, number>();
  const timeOf = async (n: number) => {
    let t = blockTime.get(n);
    if (t === undefined) {
      const b = await r("getBlock", () => provider.getBlock(n));
      if (!b) throw new Error(`block ${n} not found`);
      blockTime.set(n, (t = b.timestamp));
    }
    return t;
  };
  const txInfo = async (hash: Hex) => {
    const [tx, receipt] = await Promise.all([r("getTransaction", () => provider.getTransaction(hash)), r("getTransactionReceipt", () => provider.getTransactionReceipt(hash))]);
    if (!tx || !receipt) throw new Error(`transaction ${hash} not found`);
    return { from: tx.from, data: tx.data, gasUsed: receipt.gasUsed.toString(), block: receipt.blockNumber };
  };

  const gEvents = await gameEvents(provider, c, x.gameId, d.block, x.retry);
  const opened = gEvents.find((e): e is EventOf<"GameOpened"> => e.kind === "GameOpened");
  if (!opened) throw new Error(`game ${x.gameId}: no GameOpened event`);
  const tEvents = await taskEvents(provider, c, x.taskId, d.block, x.retry);
  const posted = tEvents.find((e): e is EventOf<"TaskPosted"> => e.kind === "TaskPosted");
  if (!posted) throw new Error(`task ${x.taskId}: no TaskPosted event`);
  const committed = tEvents
    .filter((e): e is EventOf<"Revealed"> => e.kind === "Revealed" && e.finalRoot.toLowerCase() === opened.rootHi.toLowerCase() && before(e, opened))
    .pop();
  if (!committed) throw new Error(`game ${x.gameId}: no reveal of its claim`);
  const commitTx = await txInfo(committed.tx);
  const commitCall = c.marketIface.parseTransaction({ data: commitTx.data });
  if (!commitCall || commitCall.name !== "reveal") throw new Error(`transaction ${committed.tx} is not a direct call to reveal`);
  const view = await c.taskOf(x.taskId);
  const openTx = await txInfo(opened.tx);

  const moves: TranscriptMove[] = [];
  let finalWitness: Hex | null = null;
  let outcome: Transcript["outcome"] | null = null;
  for (const e of gEvents) {
    if (e.kind === "GameOpened") continue;
    const info = await txInfo(e.tx);
    const base: MoveBase = { by: info.from, at: await timeOf(e.block), block: e.block, tx: e.tx, gasUsed: info.gasUsed };
    if (e.kind === "Bisected") moves.push({ ...base, kind: "bisect", lo: e.lo.toString(), hi: e.hi.toString(), roots: e.roots });
    else if (e.kind === "Selected") moves.push({ ...base, kind: "select", index: e.index, lo: e.lo.toString(), hi: e.hi.toString() });
    else if (e.kind === "GameResolved") {
      const call = c.gameIface.parseTransaction({ data: info.data });
      if (call?.name === "proveStep") {
        finalWitness = hexlify(getBytes(call.args.witness));
        const lastSelect = [...moves].reverse().find((m) => m.kind === "select");
        moves.push({ ...base, kind: "proveStep", lo: lastSelect && lastSelect.kind === "select" ? lastSelect.lo : "0", rootLo: call.args.rootLo, rootHi: call.args.rootHi, witness: finalWitness });
      } else moves.push({ ...base, kind: "timeout" });
      outcome = { solverWon: e.solverWon, timeout: e.timeout, at: base.at };
    } else if (e.kind === "GameAborted") outcome = { aborted: true, at: base.at };
  }
  if (!outcome) throw new Error(`game ${x.gameId} is not over`);

  return {
    format: TRANSCRIPT_FORMAT,
    version: 1,
    source: { chainId: d.chainId, market: d.market, game: d.game },
    parameters: { k: d.parameters.k, clock: d.parameters.clock, burnBps: d.parameters.burnBps, callbackGas: d.parameters.callbackGas },
    program: { root: posted.programRoot, wasm: hexlify(x.wasm) },
    task: {
      id: x.taskId.toString(),
      poster: posted.poster,
      input: hexlify(x.input),
      limits: posted.limits,
      reward: view.reward.toString(),
      solverBond: view.solverBond.toString(),
      challengerBond: view.challengerBond.toString(),
      window: view.window,
      deadline: view.deadline,
      postedAt: await timeOf(posted.block),
      initialRoot: posted.initialRoot,
    },
    claim: {
      solver: committed.solver,
      finalRoot: committed.finalRoot,
      steps: committed.steps.toString(),
      status: committed.status,
      trap: committed.trap,
      output: committed.output,
      opening: hexlify(getBytes(commitCall.args.opening)),
      committedAt: await timeOf(committed.block),
      tx: committed.tx,
      gasUsed: commitTx.gasUsed,
    },
    game: { id: x.gameId.toString(), challenger: opened.challenger, openedAt: await timeOf(opened.block), tx: opened.tx, gasUsed: openTx.gasUsed, steps: opened.steps.toString() },
    moves,
    finalWitness,
    outcome,
  };
}

function before(a: ChainEvent, b: ChainEvent): boolean {
  return a.block < b.block || (a.block === b.block && a.logIndex < b.logIndex);
}

/** Gas of the game's transactions: the challenge and every move. */
export function transcriptGas(t: Transcript): { challenge: number; solver: number; challenger: number; total: number } {
  let solver = 0;
  let challenger = 0;
  for (const m of t.moves) {
    if (m.by.toLowerCase() === t.claim.solver.toLowerCase()) solver += Number(m.gasUsed);
    else challenger += Number(m.gasUsed);
  }
  const challenge = Number(t.game.gasUsed);
  return { challenge, solver, challenger, total: challenge + solver + challenger };
}

export function parseTranscript(text: string): Transcript {
  const t = JSON.parse(text) as Transcript;
  if (t.format !== TRANSCRIPT_FORMAT || t.version !== 1) throw new Error("not a truewasm transcript (format/version)");
  return t;
}
