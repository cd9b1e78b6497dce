/**
 * Fleet scenarios with real processes on a real `hardhat node` (test/e2e/fleet.test.ts runs small
 * versions, bench/fleet.ts the big ones):
 *
 * - `runFleet`: tasks of mixed sizes posted in a burst (or one at a time: `serial`), an honest
 *   solver (program allow-list: sha256d, echo), a lying solver (allow-list: sort, sha256; commits a
 *   false output first, the truth after its defeat) and a challenger. The challenge windows are
 *   jumped over (evm_increaseTime) whenever every solution held has been checked by the challenger.
 *   Checks every task's output against the interpreter and every account's balance change against
 *   the payouts the chain's events imply, minus its fees.
 * - `runRestart`: a lying solver and a challenger over one sha256d task; the challenger is killed
 *   (SIGKILL) right after its first selection and restarted on the same data directory; the steps it
 *   executes before its next move are read from its "move sent" log line.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hexlify, Wallet } from "ethers";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { feesPaid, taskEvents } from "../../client/chain.js";
import { Contracts, Stage } from "../../client/contracts.js";
import { writeDeployment, type Deployment } from "../../client/deployment.js";
import { deploy } from "../../client/index.js";
import { hardhatKey } from "../../client/inprocess.js";
import { compileProgram, DEFAULT_TERMS, ensureRegistered, postTask } from "../../client/tasks.js";
import { TxManager } from "../../client/txs.js";
import { Store } from "../../client/store.js";
import { ETH, increaseTime, keyEnv, ROOT, sleepMs, startHardhatNode, tempDir, truewasm, type HardhatNode, type LogLine, type Proc } from "./harness.js";

export const STEPS_PER_MESSAGE = 16_489;
export const WINDOW = 600;
const address = (i: number) => new Wallet(hardhatKey(i)).address;
export const wasmPath = (name: string) => join(ROOT, "wasm-tasks/build", `${name}.wasm`);

/** `n` 80-byte messages (a distinct word each, zeros: cheap calldata); sha256d runs 16,489 steps a message. */
export function messagesInput(n: number): Uint8Array {
  const u = new Uint8Array(80 * n);
  const dv = new DataView(u.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(80 * i, Math.imul(i + 1, 0x9e3779b1) >>> 0, true);
  return u;
}

export interface TaskSpec {
  program: "sha256d" | "echo" | "sort" | "sha256";
  input: Uint8Array;
}

export function expectedOutput(program: string, input: Uint8Array): string {
  const m = Machine.forTask(compile(new Uint8Array(readFileSync(wasmPath(program)))), input, { outputBytes: 1024 });
  m.run();
  return hexlify(m.output());
}

export interface Chain {
  hh: HardhatNode;
  deployment: Deployment;
  deploymentPath: string;
  contracts: Contracts;
  dir: string;
}

/** A `hardhat node` with the contracts deployed (as `truewasm deploy` does, from this process: one process start less). */
export async function startChain(k = 16): Promise<Chain> {
  const hh = await startHardhatNode();
  const dir = tempDir("fleet");
  const deploymentPath = join(dir, "deployment.json");
  const deployment = await deploy(new Wallet(hardhatKey(0), hh.provider), { k, clock: 86_400 });
  writeDeployment(deploymentPath, deployment);
  return { hh, deployment, deploymentPath, contracts: new Contracts(hh.provider, deployment), dir };
}

export function nodeProc(c: Chain, name: string, role: "solver" | "challenger", account: number, dataDir: string, extra: string[]): Proc {
  return truewasm(name, [role, "--rpc", c.hh.url, "--deployment", c.deploymentPath, "--data-dir", dataDir, "--poll-ms", "250", ...extra], keyEnv(account));
}

/** Peak resident set of a process (VmHWM), MiB. */
export function peakRssMiB(p: Proc): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.proc.pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const root = (program: string) => compileProgram(new Uint8Array(readFileSync(wasmPath(program)))).root;

export interface FleetResult {
  tasks: number;
  finalizedCorrectly: number;
  balancesCorrect: boolean;
  lies: number;
  /** Commitments forfeited (not revealed in time): 0 unless a node fell behind. */
  forfeits: number;
  wallSeconds: number;
  maxRssMiB: Record<string, number | null>;
  failures: string[];
  /** Read from the challenger's /metrics and /healthz at the end. */
  metrics: { healthStatus: number; tasksSeen: number; challengesSent: number; stepsExecuted: number; gamesWon: number };
}

const ACCOUNTS = { poster: 1, honest: 2, liar: 3, challenger: 4 };

/** Posts `tasks` (burst: all at once; serial: one after the other's finalization) and checks the outcome. */
export async function runFleet(c: Chain, tasks: TaskSpec[], opts: { serial?: boolean; workers?: number; timeoutMs?: number; log?: (msg: string) => void } = {}): Promise<FleetResult> {
  const log = opts.log ?? (() => {});
  const dir = tempDir(opts.serial ? "serial" : "burst");
  const workers = ["--workers", String(opts.workers ?? 2)];
  const startBlock = await c.hh.provider.getBlockNumber();
  const accounts = Object.values(ACCOUNTS).map(address);
  const before = await Promise.all(accounts.map((a) => c.hh.provider.getBalance(a)));
  const honest = nodeProc(c, "honest", "solver", ACCOUNTS.honest, join(dir, "honest"), [...workers, "--accept-root", root("sha256d"), "--accept-root", root("echo")]);
  const liar = nodeProc(c, "liar", "solver", ACCOUNTS.liar, join(dir, "liar"), [...workers, "--accept-root", root("sort"), "--accept-root", root("sha256"), "--lie-output"]);
  const challenger = nodeProc(c, "challenger", "challenger", ACCOUNTS.challenger, join(dir, "challenger"), [...workers, "--metrics", "127.0.0.1:0"]);
  const procs = { honest, liar, challenger };
  const rss: Record<string, number | null> = { honest: null, liar: null, challenger: null };
  const sampleRss = () => {
    for (const [n, p] of Object.entries(procs)) rss[n] = Math.max(rss[n] ?? 0, peakRssMiB(p) ?? 0) || rss[n];
  };
  try {
    // the programs are registered while the nodes start
    const poster = new TxManager(c.hh.provider, new Wallet(hardhatKey(ACCOUNTS.poster), c.hh.provider), null, { contracts: c.contracts, pollMs: 50 });
    const programs = new Map<string, ReturnType<typeof compileProgram>>();
    for (const t of tasks) if (!programs.has(t.program)) programs.set(t.program, compileProgram(new Uint8Array(readFileSync(wasmPath(t.program)))));
    await Promise.all([...programs.values()].map((p) => ensureRegistered(poster, c.contracts, p)));
    await Promise.all(Object.values(procs).map((p) => p.waitLog((l) => l.msg === "started")));
    log("nodes started, programs registered");
    const terms = (t: TaskSpec) => ({ ...DEFAULT_TERMS, reward: ETH, solverBond: ETH / 2n, challengerBond: ETH / 4n, window: WINDOW, deadlineIn: 30 * 86_400, limits: { ...DEFAULT_TERMS.limits, outputBytes: 1024 } });
    const challengerStore = new Store(join(dir, "challenger"));
    const ids: bigint[] = [];
    const started = performance.now();
    const until = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
    const post = async (i: number) => {
      const t = tasks[i];
      const r = await postTask(poster, c.contracts, c.hh.provider, programs.get(t.program)!.root, t.input, terms(t), `post:${i}`);
      ids[i] = r.taskId;
    };
    /** Drives the windows until every posted task is finalized. */
    const drive = async () => {
      for (;;) {
        if (Date.now() > until) throw new Error(`fleet: not finished in time; finalized ${ids.length} posted`);
        sampleRss();
        const views = await Promise.all(ids.map((id) => c.contracts.taskOf(id)));
        if (views.every((v) => v.stage !== Stage.Open)) return;
        // the solutions held, when every one was checked correct by the challenger and no commitment
        // awaits its reveal (taskOf names no solver for it: a jump would close its reveal window, the
        // solver would forfeit it and commit again, losing a bond); null otherwise
        const ready = (vs: typeof views) => {
          const held = vs.map((v, i) => ({ v, id: ids[i] })).filter(({ v }) => v.stage === Stage.Open && v.solver !== "0x0000000000000000000000000000000000000000");
          if (held.length === 0 || vs.some((v) => v.stage === Stage.Open && v.committed && !v.revealed)) return null;
          const checked = held.every(({ v, id }) => {
            const rec = challengerStore.get<{ verdict?: { epoch: number; correct: boolean | null } }>("tasks", id.toString());
            return rec?.verdict?.epoch === v.epoch && rec.verdict.correct === true && v.openGames === 0;
          });
          return checked ? held : null;
        };
        const held = ready(views);
        if (held) {
          const now = (await c.hh.provider.getBlock("latest"))!.timestamp;
          if (held.some(({ v }) => now <= v.commitTime + v.window)) {
            // Checked again with no block mined until the jump (automine off meanwhile): a commitment
            // or a reveal mined after the first read would lose its window (a solver recommits the
            // moment its defeat makes the jump possible). A transaction that arrives meanwhile is
            // mined in the jump's block, its windows starting after the jump.
            await c.hh.provider.send("evm_setAutomine", [false]);
            try {
              const again = ready(await Promise.all(ids.map((id) => c.contracts.taskOf(id))));
              if (again) {
                log(`window jump: ${again.length} solutions checked`);
                await increaseTime(c.hh.provider, WINDOW + 1);
              }
            } finally {
              await c.hh.provider.send("evm_setAutomine", [true]);
            }
          }
        }
        await sleepMs(250);
      }
    };
    if (opts.serial) {
      for (let i = 0; i < tasks.length; i++) {
        await post(i);
        await drive();
        log(`task ${i + 1}/${tasks.length} finalized`);
      }
    } else {
      await Promise.all(tasks.map((_, i) => post(i))); // signed one after the other, mined as they come
      log(`${tasks.length} tasks posted`);
      await drive();
    }
    const wallSeconds = (performance.now() - started) / 1000;
    // everyone withdraws what it is owed
    const owedUntil = Date.now() + 60_000;
    for (;;) {
      const owed = await Promise.all([ACCOUNTS.honest, ACCOUNTS.liar, ACCOUNTS.challenger].map((i) => c.contracts.balanceOf(address(i))));
      if (owed.every((x) => x === 0n)) break;
      if (Date.now() > owedUntil) throw new Error(`still owed: ${owed}`);
      await sleepMs(250);
    }
    sampleRss();
    // the challenger's metrics and health, as a scraper sees them
    const served = await challenger.waitLog((l) => l.msg === "metrics served");
    const base = String(served.url).replace(/\/metrics$/, "");
    const text = await (await fetch(`${base}/metrics`)).text();
    const health = await fetch(`${base}/healthz`);
    const metric = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    const metrics = {
      healthStatus: health.status,
      tasksSeen: metric(/^truewasm_tasks_seen_total\{[^}]*\} (\S+)$/m),
      challengesSent: metric(/^truewasm_moves_sent_total\{kind="challenge"[^}]*\} (\S+)$/m),
      stepsExecuted: metric(/^truewasm_steps_executed_total\{[^}]*\} (\S+)$/m),
      gamesWon: metric(/^truewasm_games\{phase="won"[^}]*\} (\S+)$/m),
    };
    for (const p of Object.values(procs)) await p.stop();
    // outputs and payouts
    const failures: string[] = [];
    let correct = 0;
    let lies = 0;
    let forfeits = 0;
    const expected = new Map(accounts.map((a) => [a.toLowerCase(), 0n]));
    const add = (a: string, x: bigint) => expected.set(a.toLowerCase(), expected.get(a.toLowerCase())! + x);
    for (let i = 0; i < ids.length; i++) {
      const events = await taskEvents(c.hh.provider, c.contracts, ids[i], c.deployment.block);
      const fin = events.find((e) => e.kind === "Finalized");
      const reveals = events.filter((e) => e.kind === "Revealed");
      const last = reveals[reveals.length - 1];
      const want = expectedOutput(tasks[i].program, tasks[i].input);
      add(address(ACCOUNTS.poster), -ETH);
      if (fin && fin.kind === "Finalized" && last?.kind === "Revealed" && last.output === want) {
        correct++;
        add(fin.solver, ETH);
      } else failures.push(`task ${ids[i]} (${tasks[i].program}): ${fin ? `output ${last?.kind === "Revealed" ? last.output.slice(0, 20) : "?"}… expected ${want.slice(0, 20)}…` : "not finalized"}`);
      // a defeated solver loses its bond; each challenger that beat it gets its bond back and its gas
      // refunded from that bond (docs/GAME.md)
      // a forfeited commitment (not revealed in time) loses its bond
      let committer = "";
      for (const e of events) {
        if (e.kind === "SolutionDefeated") {
          lies++;
          add(e.solver, -ETH / 2n);
        } else if (e.kind === "ChallengerPaid") add(e.challenger, e.refund);
        else if (e.kind === "Committed") committer = e.solver;
        else if (e.kind === "Forfeited") {
          forfeits++;
          add(committer, -ETH / 2n);
        }
      }
    }
    const end = await c.hh.provider.getBlockNumber();
    const fees = await feesPaid(c.hh.provider, accounts, startBlock, end);
    const after = await Promise.all(accounts.map((a) => c.hh.provider.getBalance(a)));
    let balancesCorrect = true;
    accounts.forEach((a, i) => {
      // the poster also paid the registrations (fees) and nothing else
      const want = expected.get(a.toLowerCase())! - fees.get(a.toLowerCase())!;
      if (after[i] - before[i] !== want) {
        balancesCorrect = false;
        failures.push(`balance of ${a}: ${after[i] - before[i]}, expected ${want}`);
      }
    });
    return { tasks: ids.length, finalizedCorrectly: correct, balancesCorrect, lies, forfeits, wallSeconds, maxRssMiB: rss, failures, metrics };
  } finally {
    for (const p of Object.values(procs)) p.signal("SIGKILL");
  }
}

export interface RestartResult {
  restartTaskSteps: number;
  stepsAfterRestart: number;
  resumeSeconds: number;
  challengerWon: boolean;
  firstPassSteps: number;
  restartedMove: string;
}

/**
 * A lying solver (roots made up from a third of the run) and a challenger over sha256d of
 * `messages`; the challenger is SIGKILLed right after its first selection and restarted.
 */
export async function runRestart(c: Chain, messages: number, opts: { workers?: number; log?: (msg: string) => void } = {}): Promise<RestartResult> {
  const log = opts.log ?? (() => {});
  const dir = tempDir("restart");
  const workers = ["--workers", String(opts.workers ?? 2)];
  const steps = messages * STEPS_PER_MESSAGE;
  const sha = root("sha256d");
  const liar = nodeProc(c, "restart/liar", "solver", 5, join(dir, "liar"), [...workers, "--accept-root", sha, "--lie-from-step", String(Math.floor(steps / 3))]);
  const cArgs = (p: string): [string, string[]] => [join(dir, "challenger"), [...workers]];
  let challenger = nodeProc(c, "restart/challenger", "challenger", 6, ...cArgs(""));
  try {
    await Promise.all([liar, challenger].map((p) => p.waitLog((l) => l.msg === "started")));
    const poster = new TxManager(c.hh.provider, new Wallet(hardhatKey(7), c.hh.provider), null, { contracts: c.contracts, pollMs: 50 });
    const program = compileProgram(new Uint8Array(readFileSync(wasmPath("sha256d"))));
    await ensureRegistered(poster, c.contracts, program);
    const posted = await postTask(poster, c.contracts, c.hh.provider, program.root, messagesInput(messages), { ...DEFAULT_TERMS, reward: ETH, solverBond: ETH / 2n, challengerBond: ETH / 4n, window: WINDOW, deadlineIn: 30 * 86_400, limits: { ...DEFAULT_TERMS.limits, outputBytes: 64 } }, "post:restart");
    const taskId = String(posted.taskId);
    log("task posted");
    const done = await challenger.waitLog((l) => l.msg === "run done" && String(l.taskId) === taskId, 20 * 60_000);
    log(`challenger's first pass done (${done.steps} steps)`);
    const firstPassSteps = Number(done.steps);
    await challenger.waitLog((l) => l.msg === "selected", 10 * 60_000);
    challenger.signal("SIGKILL");
    await challenger.exit;
    log("challenger killed after its first selection");
    const t0 = performance.now();
    challenger = nodeProc(c, "restart/challenger#2", "challenger", 6, ...cArgs(""));
    const move = await challenger.waitLog((l: LogLine) => l.msg === "move sent" && /^(select|prove|timeout):/.test(String(l.intent)), 10 * 60_000);
    const resumeSeconds = (performance.now() - t0) / 1000;
    log(`restarted challenger's next move after ${resumeSeconds.toFixed(1)} s`);
    const won = await challenger.waitLog((l) => l.msg === "game won" || l.msg === "game lost", 10 * 60_000);
    return { restartTaskSteps: firstPassSteps, stepsAfterRestart: Number(move.stepsExecuted), resumeSeconds, challengerWon: won.msg === "game won", firstPassSteps, restartedMove: String(move.intent) };
  } finally {
    liar.signal("SIGKILL");
    challenger.signal("SIGKILL");
    await Promise.all([liar.exit, challenger.exit]);
  }
}
