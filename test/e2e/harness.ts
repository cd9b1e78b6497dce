/**
 * End-to-end test harness: a Hardhat node process, `truewasm` processes (bin/truewasm.mjs) with
 * their JSON log lines, chain helpers (time travel, balances, fees).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { hexlify, JsonRpcProvider, Network, Wallet } from "ethers";
import { hardhatKey } from "../../client/inprocess.js";
import { Contracts, REPO_ROOT } from "../../client/contracts.js";
import { readDeployment } from "../../client/deployment.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";

export const ROOT = REPO_ROOT;
export const ETH = 10n ** 18n;

const created: string[] = [];

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `truewasm-${prefix}-`));
  created.push(d);
  return d;
}

/** Removes the directories made by tempDir (unless TRUEWASM_E2E_KEEP is set, for inspection). */
export function removeTempDirs(): void {
  if (process.env.TRUEWASM_E2E_KEEP) return;
  for (const d of created.splice(0)) rmSync(d, { recursive: true, force: true });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface HardhatNode {
  url: string;
  provider: JsonRpcProvider;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `hardhat node --port P` and waits until it serves requests. */
export async function startHardhatNode(): Promise<HardhatNode> {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(ROOT, "node_modules/hardhat/dist/src/cli.js"), "node", "--port", String(port), "--hostname", "127.0.0.1"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hardhat node did not start:\n${output}`)), 60_000);
    const onData = (b: Buffer) => {
      output += b.toString();
      if (output.includes("Started HTTP")) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", (b: Buffer) => (output += b.toString()));
    proc.on("exit", (code) => reject(new Error(`hardhat node exited (${code}):\n${output}`)));
  });
  // keep draining its request log
  proc.stdout!.removeAllListeners("data");
  proc.stdout!.resume();
  proc.stderr!.resume();
  const url = `http://127.0.0.1:${port}`;
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: Network.from(31337), cacheTimeout: -1 });
  return {
    url,
    provider,
    proc,
    stop: async () => {
      provider.destroy();
      if (proc.exitCode === null) {
        const done = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await done;
      }
    },
  };
}

export interface LogLine {
  t: string;
  level: string;
  node?: string;
  msg: string;
  [k: string]: unknown;
}

export interface Proc {
  proc: ChildProcess;
  name: string;
  logs: LogLine[];
  stdout: string;
  stderrText: string;
  exit: Promise<number | null>;
  /** Resolves with the first log line (past or future) matching `pred`. */
  waitLog(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `truewasm ARGS` with `env` added to the environment. */
export function truewasm(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const proc = spawn(process.execPath, [join(ROOT, "bin/truewasm.mjs"), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const logs: LogLine[] = [];
  const waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const p: Proc = {
    proc,
    name,
    logs,
    stdout: "",
    stderrText: "",
    exit: new Promise((resolve) => proc.once("exit", (code) => resolve(code))),
    waitLog(pred, timeoutMs = 60_000) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no matching log line within ${timeoutMs} ms; last lines:\n${logs.slice(-15).map((l) => JSON.stringify(l)).join("\n")}\n${p.stderrText.slice(-2000)}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    signal(sig) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    },
    async stop() {
      p.signal("SIGTERM");
      return p.exit;
    },
  };
  proc.stdout!.on("data", (b: Buffer) => (p.stdout += b.toString()));
  createInterface({ input: proc.stderr! }).on("line", (line) => {
    let l: LogLine;
    try {
      l = JSON.parse(line) as LogLine;
    } catch {
      p.stderrText += line + "\n";
      return;
    }
    logs.push(l);
    if (process.env.TRUEWASM_E2E_VERBOSE) console.error(`[${name}] ${line}`);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pred(l)) {
        waiters[i].resolve(l);
        waiters.splice(i, 1);
      }
    }
  });
  return p;
}

/** Runs `truewasm ARGS` to completion. */
export async function truewasmRun(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; logs: LogLine[]; stderr: string }> {
  const p = truewasm(args[0], args, env);
  const code = await p.exit;
  await new Promise((r) => setImmediate(r));
  return { code, stdout: p.stdout, logs: p.logs, stderr: p.stderrText };
}

export function keyEnv(account: number): Record<string, string> {
  return { TRUEWASM_PRIVATE_KEY: hardhatKey(account) };
}

/** The address of Hardhat's account `account`. */
export const accountAddress = (account: number): string => new Wallet(hardhatKey(account)).address;

/** A built task's binary: wasm-tasks/build/<name>.wasm. */
export const taskWasm = (name: string): string => join(ROOT, "wasm-tasks/build", `${name}.wasm`);

/** The output (hex) of built task `name` on `input`, by the interpreter. */
export function expectedOutput(name: string, input: Uint8Array): string {
  const m = Machine.forTask(compile(new Uint8Array(readFileSync(taskWasm(name)))), input, {});
  m.run();
  return hexlify(m.output());
}

export interface DeployedChain {
  hh: HardhatNode;
  /** A temporary directory (removeTempDirs) holding the deployment file. */
  dir: string;
  deploymentPath: string;
  contracts: Contracts;
}

/** A Hardhat node with the contracts deployed by `truewasm deploy` from account 0 (`deployArgs`: its options). */
export async function deployedChain(prefix: string, deployArgs = ["--k", "4", "--clock", "600"]): Promise<DeployedChain> {
  const hh = await startHardhatNode();
  const dir = tempDir(prefix);
  const deploymentPath = join(dir, "deployment.json");
  const r = await truewasmRun(["deploy", "--rpc", hh.url, "--deployment", deploymentPath, ...deployArgs], keyEnv(0));
  if (r.code !== 0) {
    await hh.stop();
    throw new Error(`truewasm deploy exited with ${r.code}: ${r.stderr}`);
  }
  return { hh, dir, deploymentPath, contracts: new Contracts(hh.provider, readDeployment(deploymentPath)) };
}

export async function increaseTime(provider: JsonRpcProvider, seconds: number): Promise<void> {
  await provider.send("evm_increaseTime", [seconds]);
  await provider.send("evm_mine", []);
}

export { feesPaid } from "../../client/chain.js";

export async function sleepMs(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

export interface FlakyProxy {
  url: string;
  /** Requests whose connection was dropped before / after the upstream answered. */
  stats: { requests: number; droppedBefore: number; droppedAfter: number; rawTxAnswersDropped: number };
  close(): Promise<void>;
}

/**
 * A JSON-RPC proxy in front of `upstream` that drops connections: a share of requests is cut before
 * it is forwarded, another share after the upstream has answered (the client never sees the answer
 * of a call that took effect), and every other eth_sendRawTransaction loses its answer that way.
 * Deterministic (seeded).
 */
export async function flakyProxy(upstream: string, opts: { dropBefore?: number; dropAfter?: number; seed?: number } = {}): Promise<FlakyProxy> {
  const { createServer: createHttpServer } = await import("node:http");
  let seed = opts.seed ?? 12345;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const stats = { requests: 0, droppedBefore: 0, droppedAfter: 0, rawTxAnswersDropped: 0 };
  let rawTx = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      stats.requests++;
      const body = Buffer.concat(chunks).toString();
      const isRawTx = body.includes("eth_sendRawTransaction");
      const r = rand();
      if (r < (opts.dropBefore ?? 0.1)) {
        stats.droppedBefore++;
        req.socket.destroy();
        return;
      }
      let answer: string;
      try {
        const up = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
        answer = await up.text();
      } catch {
        req.socket.destroy();
        return;
      }
      if ((isRawTx && rawTx++ % 2 === 0) || rand() < (opts.dropAfter ?? 0.1)) {
        if (isRawTx) stats.rawTxAnswersDropped++;
        else stats.droppedAfter++;
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 1000;
  const port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
