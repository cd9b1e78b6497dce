/**
 * Shared by the market, game and invariant tests and by bench/game.ts: deployment, task posting,
 * commitments, time travel, custom-error assertions, and a driver that plays a verification game
 * between two parties, each with its own idea of the state root at every step.
 */
import { isDeepStrictEqual } from "node:util";
import hre from "hardhat";
import { getBytes, hexlify, keccak256, solidityPackedKeccak256, toBeHex, type BaseContract, type ContractTransactionResponse, type Interface, type Signer } from "ethers";
import { DEFAULT_LIMITS, type Limits } from "../../interpreter/isa.js";
import { BACKEND, descriptorStruct, limitsStruct, type Backend, type Hex, type MachineModel, type TaskProgram } from "./model.js";
import { chooseSegment, innerPoints, Phase } from "../../client/game.js";
import { falseClaim, type Claim } from "../../client/encoding.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Any = any;

export interface Env {
  ethers: Any;
  signers: Signer[];
  market: Any;
  game: Any;
  prover: Any;
  backend: Backend;
  k: number;
  clock: number;
  burnBps: number;
  tipCap: bigint;
  /** gas of every transaction sent through `send`, if recording */
  gasLog: bigint[] | null;
  /** receipts of every transaction sent through `send`, if recording */
  receipts?: Any[] | null;
}

export interface DeployOptions {
  k?: number;
  clock?: number;
  burnBps?: number;
  callbackGas?: number;
  /** highest tip per gas refunded above the base fee (wei) */
  tipCap?: bigint;
  backend?: Backend;
}

let connection: Promise<Any> | undefined;

/** One in-process network per test file (vitest runs files in separate processes). */
export async function network(): Promise<Any> {
  connection ??= hre.network.connect();
  return connection;
}

export async function deploy(opts: DeployOptions = {}): Promise<Env> {
  const { ethers } = await network();
  const signers = await ethers.getSigners();
  const backend = opts.backend ?? BACKEND;
  const k = opts.k ?? 16;
  const clock = opts.clock ?? 86_400;
  const burnBps = opts.burnBps ?? 5_000;
  const tipCap = opts.tipCap ?? 2_000_000_000n;
  const prover = await ethers.deployContract(backend.prover);
  const market = await ethers.deployContract("TaskMarket", [await prover.getAddress(), k, clock, burnBps, opts.callbackGas ?? 500_000, tipCap]);
  const game = await ethers.getContractAt("VerificationGame", await market.game());
  return { ethers, signers, market, game, prover, backend, k, clock, burnBps, tipCap, gasLog: null };
}

/** Sends a transaction and waits for it; records its gas when env.gasLog is set. */
export async function send(env: Env, tx: Promise<ContractTransactionResponse>): Promise<Any> {
  const r = await (await tx).wait();
  if (!r) throw new Error("no receipt");
  if (env.gasLog) env.gasLog.push(r.gasUsed);
  if (env.receipts) env.receipts.push(r);
  return r;
}

/** What a transaction cost its sender at the refunded price: gasUsed × min(gasPrice, baseFee + tipCap). */
export async function refundableCost(env: Env, r: Any): Promise<bigint> {
  const block = await env.ethers.provider.getBlock(r.blockNumber);
  const cap = (block.baseFeePerGas as bigint) + env.tipCap;
  const price = (r.gasPrice as bigint) < cap ? (r.gasPrice as bigint) : cap;
  return (r.gasUsed as bigint) * price;
}

/** Fees (gasUsed × gasPrice) and refundable cost of the receipts sent by `from`. */
export async function costs(env: Env, receipts: Any[], from: string): Promise<{ fees: bigint; refundable: bigint; count: number }> {
  let fees = 0n;
  let refundable = 0n;
  let count = 0;
  for (const r of receipts) {
    if (r.from.toLowerCase() !== from.toLowerCase()) continue;
    fees += (r.gasUsed as bigint) * (r.gasPrice as bigint);
    refundable += await refundableCost(env, r);
    count++;
  }
  return { fees, refundable, count };
}

/** The ChallengerPaid events of a receipt: game id -> refund. */
export function paidIn(env: Env, r: Any): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  for (const l of r.logs) {
    let ev: Any = null;
    try {
      ev = env.market.interface.parseLog(l);
    } catch {
      /* another contract's log */
    }
    if (ev?.name === "ChallengerPaid") out.set(ev.args.gameId as bigint, ev.args.refund as bigint);
  }
  return out;
}

export async function now(env: Env): Promise<number> {
  return (await env.ethers.provider.getBlock("latest")).timestamp;
}

/** Moves time forward by `seconds` (the next block's timestamp is now + seconds). */
export async function advance(env: Env, seconds: number): Promise<void> {
  await env.ethers.provider.send("evm_increaseTime", [seconds]);
  await env.ethers.provider.send("evm_mine", []);
}

/** Sets the timestamp of the next block (strictly after the latest one). */
export async function setNextTime(env: Env, t: number): Promise<void> {
  await env.ethers.provider.send("evm_setNextBlockTimestamp", [t]);
}

/** Asserts that `p` reverts with custom error `name` (of any of the contracts' ABIs). */
export async function expectError(env: Env, p: Promise<unknown>, name: string): Promise<void> {
  await expectRevert([env.market.interface, env.game.interface, env.prover.interface], p, name);
}

/** Asserts that `p` reverts with custom error `name` of one of `ifaces` (and, if given, with `args`). */
export async function expectRevert(ifaces: Interface[], p: Promise<unknown>, name: string, args?: unknown[]): Promise<void> {
  let err: Any;
  try {
    await p;
  } catch (e) {
    err = e ?? new Error(String(e));
  }
  if (!err) throw new Error(`expected ${name}, but it did not revert`);
  const data = revertData(err);
  const parsed = ifaces.map((iface) => {
    try {
      return iface.parseError(data);
    } catch {
      return null;
    }
  }).find((x) => x);
  if (!parsed) throw new Error(`expected ${name}, got ${err instanceof Error ? err.message : String(err)} (data ${data})`);
  const show = (n: string, a: readonly unknown[]) => `${n}(${a.map(String).join(", ")})`;
  if (parsed.name !== name || (args && !isDeepStrictEqual([...parsed.args], args))) throw new Error(`expected ${args ? show(name, args) : name}, got ${show(parsed.name, [...parsed.args])}`);
}

function revertData(e: Any): string {
  for (let x = e; x; x = x.error ?? x.info?.error ?? x.cause) {
    if (typeof x.data === "string" && x.data.startsWith("0x")) return x.data;
    if (typeof x.data?.data === "string") return x.data.data;
    if (x === x.error) break;
  }
  return "0x";
}

// ------------------------------------------------------------------------------------------------
// Tasks

export interface TaskTerms {
  limits: Limits;
  reward: bigint;
  solverBond: bigint;
  challengerBond: bigint;
  window: number;
  /** seconds from now */
  deadlineIn: number;
}

export const ETH = 10n ** 18n;

export function terms(t: Partial<TaskTerms> = {}): TaskTerms {
  return {
    limits: { ...DEFAULT_LIMITS, outputBytes: 1024, ...(t.limits ?? {}) },
    reward: t.reward ?? ETH,
    solverBond: t.solverBond ?? ETH / 2n,
    challengerBond: t.challengerBond ?? ETH / 4n,
    window: t.window ?? 3600,
    deadlineIn: t.deadlineIn ?? 7 * 86400,
  };
}

export interface PostedTask {
  id: bigint;
  program: TaskProgram;
  input: Uint8Array;
  terms: TaskTerms;
  model: MachineModel;
  initialRoot: Hex;
}

export async function register(env: Env, program: TaskProgram, from: Signer = env.signers[0]): Promise<void> {
  await send(env, env.market.connect(from).register(program.wasm, descriptorStruct(program.descriptor)));
}

export async function postTask(env: Env, program: TaskProgram, input: Uint8Array, tt: TaskTerms, from: Signer = env.signers[0]): Promise<PostedTask> {
  const deadline = (await now(env)) + tt.deadlineIn;
  const r = await send(
    env,
    env.market
      .connect(from)
      .post(program.root, input, limitsStruct(tt.limits), tt.window, tt.solverBond, tt.challengerBond, deadline, { value: tt.reward }),
  );
  const ev = r.logs.map((l: Any) => env.market.interface.parseLog(l)).find((x: Any) => x?.name === "TaskPosted");
  const id = ev.args.taskId as bigint;
  return { id, program, input, terms: tt, model: env.backend.model(program, input, tt.limits), initialRoot: ev.args.initialRoot };
}

/** A solution as committed: the final root, steps, output and opening (client/encoding.ts). */
export type { Claim };

export function honestClaim(m: MachineModel): Claim {
  return { finalRoot: m.rootAt(m.steps), steps: m.steps, output: m.output(), opening: m.finalOpening() };
}

/** keccak256(solver ‖ finalRoot ‖ salt): what `commit` stores, bound to its solver. */
export function commitmentOf(solver: string, finalRoot: Hex, salt: Hex): Hex {
  return solidityPackedKeccak256(["address", "bytes32", "bytes32"], [solver, finalRoot, salt]);
}

let saltCounter = 0n;
/** A fresh salt (deterministic across runs). */
export function newSalt(): Hex {
  return keccak256(toBeHex(++saltCounter, 32));
}

/** Commits to `claim` (its hash with the solver's address and `salt`); returns the receipt. */
export async function commitHash(env: Env, task: PostedTask, claim: Claim, from: Signer, salt: Hex, value = task.terms.solverBond): Promise<Any> {
  return send(env, env.market.connect(from).commit(task.id, commitmentOf(await from.getAddress(), claim.finalRoot, salt), { value }));
}

/** Reveals a committed claim. */
export async function reveal(env: Env, task: PostedTask, claim: Claim, from: Signer, salt: Hex): Promise<Any> {
  return send(env, env.market.connect(from).reveal(task.id, claim.finalRoot, claim.steps, claim.output, claim.opening, salt));
}

/** Commits to `claim` and reveals it once the commitment is mined; returns the reveal's receipt. */
export async function commit(env: Env, task: PostedTask, claim: Claim, from: Signer, value = task.terms.solverBond): Promise<Any> {
  const salt = newSalt();
  await commitHash(env, task, claim, from, salt, value);
  return reveal(env, task, claim, from, salt);
}

/**
 * A false solution that the market accepts (it is consistent: halted at `steps` with an empty
 * output): the true final state's opening with its step count replaced and its output taken away.
 */
export function falseClaimAt(m: MachineModel, steps: bigint, outputLimit: number): Claim {
  const claim = falseClaim(m.finalOpening(), m.output(), { steps, output: new Uint8Array(0) });
  if (new DataView(getBytes(claim.opening).buffer).getUint32(212) !== outputLimit) throw new Error("the model's output limit differs");
  return claim;
}

export function outputHash(claim: Claim): Hex {
  return keccak256(claim.output);
}

/** Opens a challenge; returns the game id. */
export async function challenge(env: Env, task: PostedTask, claim: Claim, from: Signer, value = task.terms.challengerBond): Promise<bigint> {
  const r = await send(env, env.market.connect(from).challenge(task.id, task.initialRoot, claim.finalRoot, outputHash(claim), { value }));
  const ev = r.logs.map((l: Any) => env.market.interface.parseLog(l)).find((x: Any) => x?.name === "Challenged");
  return ev.args.gameId as bigint;
}

// ------------------------------------------------------------------------------------------------
// Games

/** A party's view of the run: its state root at every step. */
export type Roots = (t: bigint) => Hex;

/** Roots that follow `m` before step `from` and are made up from there on. */
export function lyingFrom(m: MachineModel, from: bigint, tag = "lie"): Roots {
  return (t) => (t < from ? m.rootAt(t) : keccak256(new TextEncoder().encode(`${tag}:${t}`)));
}

/** Roots that follow `m` except at step `at` (where `root` is claimed instead). */
export function lyingAt(m: MachineModel, at: bigint, root: Hex): Roots {
  return (t) => (t === at ? root : m.rootAt(t));
}

export { Phase, innerPoints };

export interface GamePlayer {
  signer: Signer;
  roots: Roots;
}

/** Where a game stands, as both parties track it off-chain. */
export interface GameTrack {
  id: bigint;
  lo: bigint;
  hi: bigint;
  rootLo: Hex;
  rootHi: Hex;
  roots: Hex[]; // the solver's last posted inner roots
}

export async function track(env: Env, task: PostedTask, claim: Claim, id: bigint): Promise<GameTrack> {
  return { id, lo: 0n, hi: claim.steps, rootLo: task.initialRoot, rootHi: claim.finalRoot, roots: [] };
}

export async function phaseOf(env: Env, id: bigint): Promise<number> {
  return Number((await env.game.gameOf(id)).phase);
}

/** Solver's move: posts its roots at the inner points. */
export async function bisect(env: Env, g: GameTrack, solver: GamePlayer): Promise<Any> {
  g.roots = innerPoints(g.lo, g.hi, env.k).map(solver.roots);
  return send(env, env.game.connect(solver.signer).bisect(g.id, g.roots));
}

/** Challenger's move: names the first sub-segment whose end root it disagrees with. */
export async function select(env: Env, g: GameTrack, challenger: GamePlayer, index?: number): Promise<Any> {
  const pts = [g.lo, ...innerPoints(g.lo, g.hi, env.k), g.hi];
  const ends = [g.rootLo, ...g.roots, g.rootHi];
  const i = index ?? chooseSegment(ends, pts.map((t, j) => (j === 0 ? ends[0] : challenger.roots(t))));
  const r = await send(env, env.game.connect(challenger.signer).select(g.id, g.rootLo, g.rootHi, g.roots, i));
  [g.lo, g.hi, g.rootLo, g.rootHi] = [pts[i], pts[i + 1], ends[i], ends[i + 1]];
  g.roots = [];
  return r;
}

/** Submits the step witness from g.lo (the model's: the true pre-state). */
export async function proveStep(env: Env, g: GameTrack, m: MachineModel, from: Signer): Promise<Any> {
  return send(env, env.game.connect(from).proveStep(g.id, g.rootLo, g.rootHi, m.witnessAt(g.lo)));
}

/**
 * Plays a game to its end: dissection until a single step, then the step is proven by whichever
 * party's root at hi agrees with the model (the honest one). Returns true when the solver won.
 */
export async function playGame(env: Env, g: GameTrack, m: MachineModel, solver: GamePlayer, challenger: GamePlayer): Promise<boolean> {
  for (;;) {
    const phase = await phaseOf(env, g.id);
    if (phase === Phase.Bisect) await bisect(env, g, solver);
    else if (phase === Phase.Select) await select(env, g, challenger);
    else if (phase === Phase.Step) {
      const solverRight = m.rootAt(g.hi) === g.rootHi;
      await proveStep(env, g, m, solverRight ? solver.signer : challenger.signer);
    } else return phase === Phase.SolverWon;
  }
}

export { getBytes, hexlify };
