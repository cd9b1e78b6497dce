/**
 * Options shared by the subcommands that talk to a chain: the RPC endpoint, the deployment file, the
 * key, and logging; and the life cycle of the long-running ones (runDaemon).
 */
import { resolve } from "node:path";
import { parseEther, type JsonRpcProvider, type Wallet } from "ethers";
import { Contracts } from "../../client/contracts.js";
import { defaultDeploymentPath, readDeployment, type Deployment } from "../../client/deployment.js";
import { KEY_ENV, loadWallet, PASSWORD_ENV } from "../../client/keys.js";
import { createLogger, type Level, type Logger } from "../../client/log.js";
import { AbortedError, connectRpc, retry, retryDefaults } from "../../client/rpc.js";
import { UsageError } from "./command.js";

export const RPC_OPTIONS = {
  rpc: { type: "string" },
  deployment: { type: "string" },
  "rpc-timeout": { type: "string" },
  "rpc-give-up": { type: "string" },
} as const;

export const KEY_OPTIONS = {
  keystore: { type: "string" },
  "key-env": { type: "string" },
} as const;

/** Seconds a one-shot command keeps retrying an endpoint that does not answer. */
export const ONE_SHOT_GIVE_UP_S = 5;

export const LOG_OPTIONS = {
  "log-level": { type: "string" },
} as const;

export const RPC_USAGE = `  --rpc URL             JSON-RPC endpoint (default $TRUEWASM_RPC)
  --deployment FILE     deployment file (default .truewasm/deployment-<chainId>.json)
  --rpc-timeout MS      per-request timeout (default 30000)
  --rpc-give-up S       one-shot commands: give up when the endpoint has not answered for S seconds
                        (default ${ONE_SHOT_GIVE_UP_S}; the solver and challenger never give up)`;

export const KEY_USAGE = `  --keystore FILE       ethers encrypted JSON keystore; password in $${PASSWORD_ENV}
  --key-env NAME        environment variable holding the private key (default ${KEY_ENV})`;

export const LOG_USAGE = `  --log-level LEVEL     debug | info | warn | error (default info); JSON lines on stderr`;

export interface Connected {
  provider: JsonRpcProvider;
  chainId: number;
  deployment: Deployment;
  deploymentPath: string;
  contracts: Contracts;
}

type Values = Record<string, string | boolean | string[] | undefined>;

export function rpcUrl(values: Values): string {
  const url = (values.rpc as string | undefined) ?? process.env.TRUEWASM_RPC;
  if (!url) throw new UsageError("--rpc URL is required (or set $TRUEWASM_RPC)");
  return url;
}

/**
 * Connects to the endpoint. A long-running node passes `signal` and retries for ever; a one-shot
 * command (no signal) gives up after --rpc-give-up seconds without an answer — on connecting and on
 * every later request of the process (retryDefaults) — with the endpoint's URL in the message.
 */
export async function connectProvider(values: Values, signal?: AbortSignal, log?: Logger): Promise<{ provider: JsonRpcProvider; chainId: number }> {
  const timeoutMs = values["rpc-timeout"] ? Number(values["rpc-timeout"]) : undefined;
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new UsageError(`--rpc-timeout must be a positive number of milliseconds`);
  let giveUpAfterMs: number | undefined = Infinity;
  if (!signal) {
    const s = values["rpc-give-up"] === undefined ? ONE_SHOT_GIVE_UP_S : Number(values["rpc-give-up"]);
    if (!(s > 0)) throw new UsageError(`--rpc-give-up must be a positive number of seconds`);
    giveUpAfterMs = retryDefaults.giveUpAfterMs = s * 1000;
    retryDefaults.maxDelayMs = Math.min(retryDefaults.maxDelayMs, 2_000);
  }
  const url = rpcUrl(values);
  // a one-shot command's first request must not wait 30 s for a host that drops packets
  const provider = await connectRpc(url, { timeoutMs, probeTimeoutMs: signal ? timeoutMs : Math.min(timeoutMs ?? 30_000, giveUpAfterMs), retry: { signal, log, giveUpAfterMs } });
  return { provider, chainId: Number((await provider.getNetwork()).chainId) };
}

/** Connects, reads the deployment file and checks it is for this chain. */
export async function connect(values: Values, signal?: AbortSignal, log?: Logger): Promise<Connected> {
  const { provider, chainId } = await connectProvider(values, signal, log);
  const deploymentPath = values.deployment ? resolve(values.deployment as string) : defaultDeploymentPath(chainId);
  let deployment: Deployment;
  try {
    deployment = readDeployment(deploymentPath);
  } catch (e) {
    provider.destroy();
    throw e;
  }
  if (deployment.chainId !== chainId) {
    provider.destroy();
    throw new Error(`${deploymentPath} is for chain ${deployment.chainId}, the RPC endpoint is chain ${chainId}`);
  }
  try {
    await checkDeployed(provider, deployment, deploymentPath, rpcUrl(values));
  } catch (e) {
    provider.destroy();
    throw e;
  }
  return { provider, chainId, deployment, deploymentPath, contracts: new Contracts(provider, deployment) };
}

/**
 * The deployment's market and game must have code on this chain: a development chain restarted since
 * `truewasm deploy` keeps its chain id, and every read would fail with "could not decode result data".
 */
export async function checkDeployed(provider: JsonRpcProvider, d: Deployment, path: string, url: string): Promise<void> {
  const missing: string[] = [];
  for (const [name, address] of [["market", d.market], ["game", d.game]] as const) {
    const code = await retry(() => provider.getCode(address), { what: "getCode" });
    if (code === "0x") missing.push(`${name} ${address}`);
  }
  if (missing.length) {
    throw new Error(`no contract code at the deployment's ${missing.join(" and ")} on chain ${d.chainId} (${url}): ${path} does not match this chain (a development chain restarted since \`truewasm deploy\` keeps its chain id): deploy again, or pass the right --deployment FILE`);
  }
}

export async function wallet(values: Values, provider: JsonRpcProvider): Promise<Wallet> {
  return loadWallet({ keystore: values.keystore as string | undefined, keyEnv: values["key-env"] as string | undefined }, provider);
}

/** A started long-running process: `stop()` asks it to stop, `done` resolves once it has. */
export interface Daemon {
  stop(): Promise<void>;
  done: Promise<void>;
}

/**
 * The life cycle of a long-running command (solver, challenger, relayer): SIGINT or SIGTERM stops it
 * cleanly at any point, also while it still waits for its RPC endpoint (everything is persisted;
 * exit code 0). `reach` connects to the chain; `start` starts the process with its wallet and its
 * store (--data-dir, default .truewasm/<name>-<chainId>-<address>).
 */
export async function runDaemon<C extends { provider: JsonRpcProvider; chainId: number }>(
  values: Values,
  name: string,
  log: Logger,
  reach: (signal: AbortSignal) => Promise<C>,
  start: (c: C, wallet: Wallet, dataDir: string) => Daemon,
): Promise<number> {
  const controller = new AbortController();
  let handle: Daemon | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    log.info("shutting down", { signal: sig });
    controller.abort();
    void handle?.stop();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let c: C | null = null;
  try {
    try {
      c = await reach(controller.signal);
    } catch (e) {
      if (e instanceof AbortedError) return 0;
      throw e;
    }
    const w = await wallet(values, c.provider);
    const dataDir = values["data-dir"] ? resolve(values["data-dir"] as string) : resolve(".truewasm", `${name}-${c.chainId}-${w.address.toLowerCase()}`);
    if (controller.signal.aborted) return 0;
    handle = start(c, w, dataDir);
    await handle.done;
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    c?.provider.destroy();
  }
}

export function logger(values: Values): Logger {
  const level = (values["log-level"] as string | undefined) ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) throw new UsageError(`--log-level must be debug, info, warn or error`);
  return createLogger({ level: level as Level });
}

export function ether(value: string | undefined, name: string, fallback: bigint): bigint {
  if (value === undefined) return fallback;
  try {
    const v = parseEther(value);
    if (v < 0n) throw new Error();
    return v;
  } catch {
    throw new UsageError(`--${name} must be an amount of ETH, got "${value}"`);
  }
}

/** Prints a JSON value on stdout (bigints as decimal strings). */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
}
