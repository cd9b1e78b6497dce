/**
 * Typed access to the deployed contracts. ABIs and bytecode come from Hardhat's artifacts
 * (`npx hardhat build` -> artifacts/). Reads go through `retry`; writes are only encoded here and
 * sent by the transaction manager (txs.ts), which never sends one twice.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Contract, ContractFactory, Interface, type ContractRunner, type InterfaceAbi, type Provider, type Signer } from "ethers";
import type { Limits } from "../interpreter/isa.js";
import type { ProgramDescriptor } from "../interpreter/state.js";
import { descriptorStruct, limitsStruct, type Hex } from "./encoding.js";
import { retry, type RetryOptions } from "./rpc.js";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface Artifact {
  contractName: string;
  abi: InterfaceAbi;
  bytecode: string;
}

const ARTIFACT_PATHS: Record<string, string> = {
  TaskMarket: "market/TaskMarket.sol/TaskMarket.json",
  VerificationGame: "market/VerificationGame.sol/VerificationGame.json",
  ProgramRegistry: "market/ProgramRegistry.sol/ProgramRegistry.json",
  OneStepProver: "prover/OneStepProver.sol/OneStepProver.json",
  ToyProver: "test/ToyProver.sol/ToyProver.json",
};

const artifactCache = new Map<string, Artifact>();

/** A contract's artifact (abi, bytecode); throws with a hint when the contracts are not built. */
export function artifact(name: string): Artifact {
  let a = artifactCache.get(name);
  if (!a) {
    const rel = ARTIFACT_PATHS[name];
    if (!rel) throw new Error(`unknown contract ${name}`);
    const path = `${REPO_ROOT}artifacts/contracts/${rel}`;
    if (!existsSync(path)) throw new Error(`no artifact for ${name} at ${path}: run \`npx hardhat build\` first`);
    a = JSON.parse(readFileSync(path, "utf8")) as Artifact;
    artifactCache.set(name, a);
  }
  return a;
}

export const marketInterface = (): Interface => new Interface(artifact("TaskMarket").abi);
export const gameInterface = (): Interface => new Interface(artifact("VerificationGame").abi);

export const Stage = { None: 0, Open: 1, Finalized: 2, Expired: 3 } as const;
export const STAGE_NAMES = ["none", "open", "finalized", "expired"] as const;
export const STATUS_NAMES = ["running", "halted", "trapped"] as const;

/** TaskMarket.taskOf. */
export interface TaskView {
  head: Hex;
  poster: string;
  reward: bigint;
  solverBond: bigint;
  challengerBond: bigint;
  deadline: number;
  window: number;
  stage: number;
  callback: boolean;
  /** A solution is held: committed (a hash), maybe revealed. */
  committed: boolean;
  revealed: boolean;
  /** Committed, not revealed: the last second to reveal (0 otherwise). */
  revealBy: number;
  /** The revealed solution's (zero address / 0 until revealed). */
  solver: string;
  steps: bigint;
  /** Time of the reveal: the challenge window runs from it. */
  commitTime: number;
  status: number;
  /** Exit code of a halted solution. */
  exitCode: number;
  /** Trap code of a trapped solution. */
  trap: number;
  claimHash: Hex;
  openGames: number;
  heldBonds: number;
  epoch: number;
  /** Challenger bonds won by the solution held (paid with its reward). */
  winnings: bigint;
}

/** VerificationGame.gameOf. */
export interface GameView {
  solver: string;
  challenger: string;
  phase: number;
  lo: bigint;
  hi: bigint;
  lastMove: number;
  clockSolver: number;
  clockChallenger: number;
  h: Hex;
  toMove: string;
  deadline: number;
}

export interface ChallengeView {
  taskId: bigint;
  epoch: number;
  live: boolean;
}

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** The deployed market and game. */
export class Contracts {
  readonly market: Contract;
  readonly game: Contract;
  readonly marketIface: Interface;
  readonly gameIface: Interface;

  constructor(
    readonly provider: Provider,
    readonly addresses: { market: string; game: string },
    private readonly retryOpts: RetryOptions = {},
  ) {
    this.marketIface = marketInterface();
    this.gameIface = gameInterface();
    this.market = new Contract(addresses.market, this.marketIface, provider);
    this.game = new Contract(addresses.game, this.gameIface, provider);
  }

  private read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, { what, ...this.retryOpts });
  }

  async taskOf(id: bigint): Promise<TaskView> {
    const v = await this.read("taskOf", () => this.market.taskOf(id));
    return {
      head: v.head,
      poster: v.poster,
      reward: v.reward,
      solverBond: v.solverBond,
      challengerBond: v.challengerBond,
      deadline: Number(v.deadline),
      window: Number(v.window),
      stage: Number(v.stage),
      callback: v.callback,
      committed: v.committed,
      revealed: v.revealed,
      revealBy: Number(v.revealBy),
      solver: v.solver,
      steps: v.steps,
      commitTime: Number(v.commitTime),
      status: Number(v.status),
      exitCode: Number(v.exitCode),
      trap: Number(v.trap),
      claimHash: v.claimHash,
      openGames: Number(v.openGames),
      heldBonds: Number(v.heldBonds),
      epoch: Number(v.epoch),
      winnings: v.winnings,
    };
  }

  /** What the challenger of a game has spent on it (wei, refunded if its solution is defeated). */
  async spentOf(gameId: bigint): Promise<bigint> {
    const v = await this.read("spentOf", () => this.game.spentOf(gameId));
    return v[0];
  }

  async gameOf(id: bigint): Promise<GameView> {
    const v = await this.read("gameOf", () => this.game.gameOf(id));
    return {
      solver: v.solver,
      challenger: v.challenger,
      phase: Number(v.phase),
      lo: v.lo,
      hi: v.hi,
      lastMove: Number(v.lastMove),
      clockSolver: Number(v.clockSolver),
      clockChallenger: Number(v.clockChallenger),
      h: v.h,
      toMove: v.toMove,
      deadline: Number(v.deadline),
    };
  }

  async challengeOf(gameId: bigint): Promise<ChallengeView> {
    const v = await this.read("challenges", () => this.market.challenges(gameId));
    return { taskId: v.taskId, epoch: Number(v.epoch), live: v.live };
  }

  async balanceOf(account: string): Promise<bigint> {
    return this.read("balanceOf", () => this.market.balanceOf(account));
  }

  async isRegistered(root: Hex): Promise<boolean> {
    return this.read("isRegistered", () => this.market.isRegistered(root));
  }

  async k(): Promise<number> {
    return Number(await this.read("k", () => this.game.k()));
  }

  // ----------------------------------------------------------------------------------------------
  // Calldata of the writes (sent by txs.ts)

  register(wasm: Uint8Array, d: ProgramDescriptor): Call {
    return this.marketCall("register", [wasm, descriptorStruct(d)]);
  }
  post(programRoot: Hex, input: Uint8Array, limits: Limits, window: number, solverBond: bigint, challengerBond: bigint, deadline: number, reward: bigint): Call {
    return { ...this.marketCall("post", [programRoot, input, limitsStruct(limits), window, solverBond, challengerBond, deadline]), value: reward };
  }
  commit(taskId: bigint, commitment: Hex, bond: bigint): Call {
    return { ...this.marketCall("commit", [taskId, commitment]), value: bond };
  }
  reveal(taskId: bigint, finalRoot: Hex, steps: bigint, output: Hex, opening: Hex, salt: Hex): Call {
    return this.marketCall("reveal", [taskId, finalRoot, steps, output, opening, salt]);
  }
  forfeit(taskId: bigint): Call {
    return this.marketCall("forfeit", [taskId]);
  }
  challenge(taskId: bigint, initialRoot: Hex, finalRoot: Hex, outputHash: Hex, bond: bigint): Call {
    return { ...this.marketCall("challenge", [taskId, initialRoot, finalRoot, outputHash]), value: bond };
  }
  finalize(taskId: bigint, initialRoot: Hex, finalRoot: Hex, output: Hex): Call {
    return this.marketCall("finalize", [taskId, initialRoot, finalRoot, output]);
  }
  expire(taskId: bigint): Call {
    return this.marketCall("expire", [taskId]);
  }
  release(gameId: bigint): Call {
    return this.marketCall("release", [gameId]);
  }
  withdraw(): Call {
    return this.marketCall("withdraw", []);
  }
  bisect(gameId: bigint, roots: Hex[]): Call {
    return this.gameCall("bisect", [gameId, roots]);
  }
  select(gameId: bigint, rootLo: Hex, rootHi: Hex, roots: Hex[], index: number): Call {
    return this.gameCall("select", [gameId, rootLo, rootHi, roots, index]);
  }
  proveStep(gameId: bigint, rootLo: Hex, rootHi: Hex, witness: Hex): Call {
    return this.gameCall("proveStep", [gameId, rootLo, rootHi, witness]);
  }
  timeout(gameId: bigint): Call {
    return this.gameCall("timeout", [gameId]);
  }

  private marketCall(fn: string, args: unknown[]): Call {
    return { to: this.addresses.market, data: this.marketIface.encodeFunctionData(fn, args), value: 0n, what: fn };
  }
  private gameCall(fn: string, args: unknown[]): Call {
    return { to: this.addresses.game, data: this.gameIface.encodeFunctionData(fn, args), value: 0n, what: fn };
  }

  /** The name and arguments of a custom error in revert data of the market, game or prover. */
  decodeError(data: string): { name: string; args: unknown[] } | null {
    for (const iface of [this.marketIface, this.gameIface, new Interface(artifact("OneStepProver").abi)]) {
      try {
        const e = iface.parseError(data);
        if (e) return { name: e.name, args: [...e.args] };
      } catch {
        // not this interface's
      }
    }
    return null;
  }
}

/** A contract call to send: target, calldata, value. */
export interface Call {
  to: string;
  data: string;
  value: bigint;
  /** For logs: the function's name. */
  what: string;
}

export interface DeployParameters {
  k: number;
  clock: number;
  /** Burnt share of a losing challenger's bond (basis points). */
  burnBps: number;
  callbackGas: number;
  /** Highest tip per gas (wei) refunded to challengers above the base fee. */
  tipCap: number;
  /** Contract name of the prover (default OneStepProver; ToyProver for toy-machine tests). */
  prover?: string;
}

export const DEFAULT_PARAMETERS: Required<DeployParameters> = { k: 16, clock: 86_400, burnBps: 5_000, callbackGas: 500_000, tipCap: 2_000_000_000, prover: "OneStepProver" };

/** Deploys the prover and the market (which deploys its game). Returns the addresses and the block. */
export async function deployContracts(signer: Signer, params: Partial<DeployParameters> = {}): Promise<{ market: string; game: string; prover: string; block: number; parameters: Required<DeployParameters> }> {
  const p = { ...DEFAULT_PARAMETERS, ...params };
  const pa = artifact(p.prover);
  const prover = await new ContractFactory(pa.abi, pa.bytecode, signer).deploy();
  await prover.waitForDeployment();
  const ma = artifact("TaskMarket");
  const market = await new ContractFactory(ma.abi, ma.bytecode, signer).deploy(await prover.getAddress(), p.k, p.clock, p.burnBps, p.callbackGas, p.tipCap);
  const receipt = await market.deploymentTransaction()!.wait();
  const game: string = await (market as Contract).game();
  return { market: await market.getAddress(), game, prover: await prover.getAddress(), block: receipt!.blockNumber, parameters: p };
}

export function connectContract(name: string, address: string, runner: ContractRunner): Contract {
  return new Contract(address, artifact(name).abi, runner);
}
