/**
 * Generates the committed dispute transcripts replayed by test/e2e/replay.test.ts:
 *
 *   tsx test/transcripts/generate.ts [CASE...]
 *
 * Each case is a real dispute: a fresh in-process Hardhat network with the real contracts and
 * prover, a solver node and a challenger node (the in-process API) with a test behaviour that makes
 * the game end on a chosen kind of step; the challenger's transcript is written to
 * test/transcripts/<case>.json (the solver's must be identical but for who recorded it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Op } from "../../interpreter/isa.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { Contracts, REPO_ROOT } from "../../client/contracts.js";
import { deploy } from "../../client/index.js";
import { inProcessNetwork } from "../../client/inprocess.js";
import { silentLogger } from "../../client/log.js";
import { Store } from "../../client/store.js";
import { compileProgram, DEFAULT_TERMS, ensureRegistered, postTask } from "../../client/tasks.js";
import type { Transcript } from "../../client/transcript.js";
import { TxManager } from "../../client/txs.js";
import { startSolver, type SolverOptions } from "../../solver/solver.js";
import { startChallenger, type ChallengerOptions } from "../../verifier/challenger.js";

const OUT = join(REPO_ROOT, "test/transcripts");
const wasm = (name: string) => new Uint8Array(readFileSync(join(REPO_ROOT, "wasm-tasks/build", `${name}.wasm`)));

/** The first step at or after `from` whose instruction satisfies `pred`: the lie starts right after it. */
function stepWhere(task: string, input: Uint8Array, from: number, pred: (op: number) => boolean): bigint {
  const m = Machine.forTask(compile(wasm(task)), input, {});
  m.run(from);
  while (m.status === 0) {
    if (pred(m.code[m.pc << 2])) return BigInt(m.steps);
    m.run(1);
  }
  throw new Error(`${task}: no such step after ${from}`);
}

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 151 + seed) & 255);
const SORT_IN = bytes(48, 7);
const ECHO_IN = bytes(70, 3);
const SHA_IN = new TextEncoder().encode("truewasm dispute transcript");

interface Case {
  name: string;
  note: string;
  task: string;
  input: Uint8Array;
  k?: number;
  solver?: Partial<SolverOptions>;
  challenger?: Partial<ChallengerOptions>;
  /** The solver stops answering after its first bisection: the challenger wins by timeout. */
  solverVanishes?: boolean;
}

const CASES: () => Case[] = () => [
  { name: "first-step", note: "sort; the solver's roots are false from step 1 (k = 2: many rounds)", task: "sort", input: SORT_IN, k: 2, solver: { lieFromStep: 1n } },
  { name: "last-step", note: "sort; false output, true roots up to the last step (the halt)", task: "sort", input: SORT_IN, solver: { lieOutput: true } },
  {
    name: "memory-step",
    note: "sort; the disputed step is a memory store",
    task: "sort",
    input: SORT_IN,
    solver: { lieFromStep: stepWhere("sort", SORT_IN, 800, (op) => op >= 0x36 && op <= 0x3e) + 1n },
  },
  { name: "call", note: "sha256; the disputed step is a call", task: "sha256", input: SHA_IN, solver: { lieFromStep: stepWhere("sha256", SHA_IN, 100, (op) => op === Op.Call) + 1n } },
  { name: "host-read", note: "echo; the disputed step is an input read (truewasm.input_read)", task: "echo", input: ECHO_IN, solver: { lieFromStep: stepWhere("echo", ECHO_IN, 100, (op) => op === Op.InputRead) + 1n } },
  { name: "trap", note: "trap (input 4: out-of-bounds load); the solver claims a halt with an output, the disputed step is the trap", task: "trap", input: Uint8Array.of(4), solver: { lieOutput: true } },
  { name: "challenger-lies", note: "echo; a correct result challenged (--challenge-correct): the solver proves its last step and wins", task: "echo", input: ECHO_IN, challenger: { challengeCorrect: true } },
  { name: "timeout", note: "sort; a lying solver stops answering after its first bisection: the challenger wins by timeout", task: "sort", input: SORT_IN, solver: { lieFromStep: 300n }, solverVanishes: true },
];

async function generate(c: Case): Promise<Transcript> {
  const net = await inProcessNetwork();
  const dirs = mkdtempSync(join(tmpdir(), `truewasm-gen-${c.name}-`));
  try {
    const clock = 3600;
    const d = await deploy(net.wallet(0), { k: c.k ?? 16, clock });
    const contracts = new Contracts(net.provider, d);
    const poster = new TxManager(net.provider, net.wallet(0), null, { contracts, pollMs: 20 });
    const program = compileProgram(wasm(c.task));
    await ensureRegistered(poster, contracts, program);
    const posted = await postTask(poster, contracts, net.provider, program.root, c.input, { ...DEFAULT_TERMS, reward: 10n ** 18n, window: 600 });
    const common = { provider: net.provider, deployment: d, pollMs: 20, log: silentLogger };
    const solver = startSolver({ ...common, wallet: net.wallet(1), dataDir: join(dirs, "solver"), ...c.solver });
    const challenger = startChallenger({ ...common, wallet: net.wallet(2), dataDir: join(dirs, "challenger"), ...c.challenger });
    const cStore = new Store(join(dirs, "challenger"));
    const until = Date.now() + 120_000;
    let vanished = false;
    let jumped = false;
    let transcript: Transcript | undefined;
    while (!transcript) {
      if (Date.now() > until) throw new Error(`${c.name}: no transcript after 120 s`);
      await new Promise((r) => setTimeout(r, 50));
      if (c.solverVanishes && !vanished) {
        const steps = (await contracts.taskOf(posted.taskId)).steps;
        if (solver.node.txs.get(`bisect:1:0-${steps}`)?.status === "mined") {
          await solver.stop(); // the solver vanishes after its first bisection...
          vanished = true;
        }
      }
      if (vanished && !jumped && challenger.node.txs.get(`select:1:0-${(await contracts.taskOf(posted.taskId)).steps}`)?.status === "mined") {
        // ...and once the challenger has answered, the solver's clock runs out
        jumped = true;
        await net.send("evm_increaseTime", [clock + 1]);
        await net.send("evm_mine", []);
      }
      transcript = cStore.get<Transcript>("transcripts", "game-1");
    }
    await challenger.stop();
    await solver.stop();
    if (!vanished) {
      const mine = new Store(join(dirs, "solver")).get<Transcript>("transcripts", "game-1");
      if (!mine) throw new Error(`${c.name}: the solver wrote no transcript`);
      const strip = (t: Transcript) => JSON.stringify({ ...t, recordedBy: undefined });
      if (strip(mine) !== strip(transcript)) throw new Error(`${c.name}: the two players' transcripts differ`);
    }
    return { ...transcript, recordedBy: undefined, note: c.note };
  } finally {
    await net.close();
    rmSync(dirs, { recursive: true, force: true });
  }
}

const wanted = process.argv.slice(2);
for (const c of CASES()) {
  if (wanted.length && !wanted.includes(c.name)) continue;
  const started = Date.now();
  const t = await generate(c);
  writeFileSync(join(OUT, `${c.name}.json`), JSON.stringify(t, null, 1) + "\n");
  const last = t.moves[t.moves.length - 1];
  console.log(`${c.name}: ${t.claim.steps} steps, ${t.moves.length} moves, ${JSON.stringify(t.outcome)}, last move ${last.kind} at step ${"lo" in last ? last.lo : "-"} (${Date.now() - started} ms)`);
}
process.exit(0);
