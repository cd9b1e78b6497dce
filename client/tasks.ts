/**
 * The task lifecycle from the poster's side: register a program (if needed), post a task, wait for
 * its result, and a task's status with its games (`truewasm post`, `truewasm status`, the demo).
 */
import { hexlify, type Provider } from "ethers";
import { DEFAULT_LIMITS, type Limits } from "../interpreter/isa.js";
import { compile } from "../interpreter/lower.js";
import { programDescriptor, programRoot, type ProgramDescriptor } from "../interpreter/state.js";
import { gameEvents, taskEvents, type EventOf } from "./chain.js";
import { Contracts, Stage, STAGE_NAMES, STATUS_NAMES } from "./contracts.js";
import { PHASE_NAMES } from "./game.js";
import type { Deployment } from "./deployment.js";
import type { Hex } from "./encoding.js";
import { sleep } from "./rpc.js";
import type { TxManager } from "./txs.js";

export interface TaskTerms {
  reward: bigint;
  solverBond: bigint;
  challengerBond: bigint;
  /** Challenge window after a commitment (s). */
  window: number;
  /** Deadline for a solution, seconds from now. */
  deadlineIn: number;
  limits: Limits;
}

export const DEFAULT_TERMS: Omit<TaskTerms, "reward"> = {
  solverBond: 10n ** 17n,
  challengerBond: 10n ** 17n,
  window: 3600,
  deadlineIn: 86_400,
  limits: { ...DEFAULT_LIMITS, steps: 2 ** 40, outputBytes: 1024 },
};

export interface CompiledProgram {
  wasm: Uint8Array;
  root: Hex;
  descriptor: ProgramDescriptor;
}

export function compileProgram(wasm: Uint8Array): CompiledProgram {
  const program = compile(wasm, { imports: "task" });
  const descriptor = programDescriptor(program);
  return { wasm, root: hexlify(programRoot(descriptor)), descriptor };
}

/** Registers the program unless its root is registered already. */
export async function ensureRegistered(txs: TxManager, c: Contracts, p: CompiledProgram): Promise<{ registered: boolean; tx: Hex | null }> {
  if (await c.isRegistered(p.root)) return { registered: false, tx: null };
  const out = await txs.send(`register:${p.root}`, c.register(p.wasm, p.descriptor));
  if (out.status !== "mined") throw new Error(`register reverted (${out.hash})`);
  return { registered: true, tx: out.hash };
}

/** Posts a task; returns its id and initial root. */
export async function postTask(txs: TxManager, c: Contracts, provider: Provider, root: Hex, input: Uint8Array, terms: TaskTerms, intent?: string): Promise<{ taskId: bigint; initialRoot: Hex; tx: Hex; gasUsed: bigint }> {
  const latest = await provider.getBlock("latest");
  const now = Math.max(latest?.timestamp ?? 0, Math.floor(Date.now() / 1000));
  const deadline = now + terms.deadlineIn;
  const out = await txs.send(intent ?? `post:${root}:${Date.now()}`, c.post(root, input, terms.limits, terms.window, terms.solverBond, terms.challengerBond, deadline, terms.reward));
  if (out.status !== "mined") throw new Error(`post reverted (${out.hash})`);
  const receipt = out.receipt ?? (await provider.getTransactionReceipt(out.hash));
  for (const l of receipt!.logs) {
    if (l.address.toLowerCase() !== c.addresses.market.toLowerCase()) continue;
    const ev = c.marketIface.parseLog({ topics: [...l.topics], data: l.data });
    if (ev?.name === "TaskPosted") return { taskId: ev.args.taskId, initialRoot: ev.args.initialRoot, tx: out.hash, gasUsed: out.gasUsed };
  }
  throw new Error("no TaskPosted event in the post receipt");
}

export interface TaskResult {
  taskId: bigint;
  stage: (typeof STAGE_NAMES)[number];
  status: (typeof STATUS_NAMES)[number] | null;
  /** Exit code of a halted task. */
  exitCode: number | null;
  trap: number | null;
  output: Hex | null;
  solver: string | null;
  steps: bigint | null;
}

/** The result of a task once it is finalized or expired (null while open). */
export async function taskResult(provider: Provider, c: Contracts, d: Deployment, taskId: bigint): Promise<TaskResult | null> {
  const v = await c.taskOf(taskId);
  if (v.stage === Stage.Open || v.stage === Stage.None) return null;
  if (v.stage === Stage.Expired) return { taskId, stage: "expired", status: null, exitCode: null, trap: null, output: null, solver: null, steps: null };
  const events = await taskEvents(provider, c, taskId, d.block);
  const fin = events.find((e): e is EventOf<"Finalized"> => e.kind === "Finalized");
  const shown = events.filter((e): e is EventOf<"Revealed"> => e.kind === "Revealed" && (!fin || e.solver.toLowerCase() === fin.solver.toLowerCase())).pop();
  return {
    taskId,
    stage: "finalized",
    status: STATUS_NAMES[v.status] ?? null,
    exitCode: v.status === 1 ? v.exitCode : null,
    trap: v.status === 2 ? v.trap : null,
    output: shown?.output ?? null,
    solver: fin?.solver ?? null,
    steps: shown?.steps ?? null,
  };
}

/** Polls until the task is finalized or expired. */
export async function waitForResult(provider: Provider, c: Contracts, d: Deployment, taskId: bigint, opts: { pollMs?: number; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<TaskResult> {
  const started = Date.now();
  for (;;) {
    const r = await taskResult(provider, c, d, taskId);
    if (r) return r;
    if (opts.timeoutMs !== undefined && Date.now() - started > opts.timeoutMs) throw new Error(`task ${taskId}: no result after ${opts.timeoutMs} ms`);
    await sleep(opts.pollMs ?? 1000, opts.signal);
  }
}

/** A task's terms, stage, solutions and games (for `truewasm status`). */
export async function taskStatus(provider: Provider, c: Contracts, d: Deployment, taskId: bigint): Promise<Record<string, unknown>> {
  const v = await c.taskOf(taskId);
  if (v.stage === Stage.None) throw new Error(`no task ${taskId}`);
  const events = await taskEvents(provider, c, taskId, d.block);
  const posted = events.find((e): e is EventOf<"TaskPosted"> => e.kind === "TaskPosted");
  const commits = events.filter((e): e is EventOf<"Committed"> => e.kind === "Committed");
  const reveals = events.filter((e): e is EventOf<"Revealed"> => e.kind === "Revealed");
  const challenged = events.filter((e): e is EventOf<"Challenged"> => e.kind === "Challenged");
  const games = [];
  for (const ch of challenged) {
    const g = await c.gameOf(ch.gameId);
    const ge = await gameEvents(provider, c, ch.gameId, d.block);
    const resolved = ge.find((e): e is EventOf<"GameResolved"> => e.kind === "GameResolved");
    games.push({
      gameId: ch.gameId.toString(),
      challenger: ch.challenger,
      solver: g.solver,
      phase: PHASE_NAMES[g.phase],
      segment: [g.lo.toString(), g.hi.toString()],
      rounds: ge.filter((e) => e.kind === "Selected").length,
      toMove: g.toMove === "0x0000000000000000000000000000000000000000" ? null : g.toMove,
      deadline: g.deadline || null,
      clocks: { solver: g.clockSolver, challenger: g.clockChallenger },
      result: resolved ? { solverWon: resolved.solverWon, timeout: resolved.timeout } : null,
    });
  }
  const result = await taskResult(provider, c, d, taskId);
  return {
    taskId: taskId.toString(),
    stage: STAGE_NAMES[v.stage],
    programRoot: posted?.programRoot,
    poster: v.poster,
    initialRoot: posted?.initialRoot,
    inputBytes: posted?.inputLength,
    limits: posted?.limits,
    reward: v.reward.toString(),
    solverBond: v.solverBond.toString(),
    challengerBond: v.challengerBond.toString(),
    window: v.window,
    deadline: v.deadline,
    epoch: v.epoch,
    solution: !v.committed
      ? null
      : !v.revealed
        ? { committedBy: commits.at(-1)?.solver ?? null, revealBy: v.revealBy }
        : { solver: v.solver, steps: v.steps.toString(), status: STATUS_NAMES[v.status], exitCode: v.exitCode, trap: v.trap, commitTime: v.commitTime, windowEnds: v.commitTime + v.window, openGames: v.openGames },
    commitments: commits.map((e) => ({ solver: e.solver, commitment: e.commitment, tx: e.tx })),
    solutions: reveals.map((e) => ({ solver: e.solver, finalRoot: e.finalRoot, steps: e.steps.toString(), status: STATUS_NAMES[e.status], exitCode: e.exitCode, trap: e.trap, output: e.output, tx: e.tx })),
    games,
    result: result && { ...result, taskId: result.taskId.toString(), steps: result.steps?.toString() ?? null },
  };
}
