/**
 * The in-process API of the nodes (docs/NODES.md): everything the command line does, as functions
 * on an ethers provider — deploy, register and post, run a solver and a challenger in this process,
 * wait for results, replay transcripts. The demo and the benchmarks are built on it.
 *
 *   const net = await inProcessNetwork();
 *   const d = await deploy(net.wallet(0));
 *   const solver = startSolver({ provider: net.provider, wallet: net.wallet(1), deployment: d, dataDir });
 *   const challenger = startChallenger({ provider: net.provider, wallet: net.wallet(2), deployment: d, dataDir: dir2 });
 *   ... post tasks, waitForResult(...) ...
 *   await solver.stop(); await challenger.stop(); await net.close();
 */
import type { Provider, Signer } from "ethers";
import { deployContracts, type DeployParameters } from "./contracts.js";
import type { Deployment } from "./deployment.js";

export { Contracts, deployContracts, DEFAULT_PARAMETERS, Stage, type DeployParameters, type GameView, type TaskView } from "./contracts.js";
export { defaultDeploymentPath, readDeployment, writeDeployment, type Deployment } from "./deployment.js";
export { hardhatKey, inProcessNetwork, increaseTime, type InProcessNetwork } from "./inprocess.js";
export { createLogger, silentLogger, type Logger } from "./log.js";
export { connectRpc, retry } from "./rpc.js";
export { Store } from "./store.js";
export { compileProgram, DEFAULT_TERMS, ensureRegistered, postTask, taskResult, taskStatus, waitForResult, type TaskResult, type TaskTerms } from "./tasks.js";
export { TxManager, TxWouldRevert, type TxOutcome } from "./txs.js";
export { TaskRun } from "./execution.js";
export { buildTranscript, parseTranscript, transcriptGas, type Transcript } from "./transcript.js";
export { replayTranscript, type ReplayReport } from "./replay.js";
export type { NodeOptions } from "./node.js";
export { startSolver, SolverNode, type NodeHandle, type SolverOptions } from "../solver/solver.js";
export { startChallenger, ChallengerNode, type ChallengerOptions } from "../verifier/challenger.js";

/** Deploys prover, market and game and returns the deployment record (as `truewasm deploy` writes it). */
export async function deploy(signer: Signer & { provider: Provider | null }, params: Partial<DeployParameters> = {}): Promise<Deployment> {
  const r = await deployContracts(signer, params);
  const chainId = Number((await signer.provider!.getNetwork()).chainId);
  return { version: 1, chainId, market: r.market, game: r.game, prover: r.prover, block: r.block, parameters: r.parameters, deployer: await signer.getAddress(), deployedAt: new Date().toISOString() };
}
