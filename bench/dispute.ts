/**
 * `benchDispute()`: a whole dispute over a task of more than 10^8 steps, end to end, with the node
 * roles as they run in production — a lying solver node and an honest challenger node (client/,
 * solver/, verifier/) in one process against an in-process Hardhat network with the real contracts
 * and the real one-step prover.
 *
 * The task is sha256d over 6,100 messages (16,489 steps a message: ~1.006·10^8 steps). The 488 KB
 * input is posted in calldata, so the messages are mostly zero bytes (a 4-byte counter each): 488 KB
 * of random bytes would need 19.5 M gas under EIP-7623's calldata floor, above the 2^24 gas cap of
 * one transaction (EIP-7825); the step count does not depend on the bytes (sha256 is straight-line
 * code). The solver
 * commits a false output whose roots are made up from a third of the run on; the challenger
 * re-runs the task, challenges, and the game is played to the one-step proof. Figures: steps,
 * rounds, wall time (post to the challenger's withdrawal), the steps each node executed relative to
 * the run (target ≤ 1.5: one pass with checkpoints, then only the chosen segments), and gas.
 *
 * Environment: TRUEWASM_BENCH_MESSAGES overrides the number of messages (for quick runs).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contracts, REPO_ROOT } from "../client/contracts.js";
import { deploy } from "../client/index.js";
import { inProcessNetwork } from "../client/inprocess.js";
import { createLogger, silentLogger } from "../client/log.js";
import { Store } from "../client/store.js";
import { compileProgram, DEFAULT_TERMS, ensureRegistered, postTask } from "../client/tasks.js";
import { transcriptGas, type Transcript } from "../client/transcript.js";
import { TxManager } from "../client/txs.js";
import { startSolver } from "../solver/solver.js";
import { startChallenger } from "../verifier/challenger.js";

const STEPS_PER_MESSAGE = 16_489;

/** `n` 80-byte messages: a distinct 4-byte word each, then zeros (cheap calldata). */
function messagesInput(n: number): Uint8Array {
  const u = new Uint8Array(80 * n);
  const dv = new DataView(u.buffer);
  for (let i = 0; i < n; i++) dv.setUint32(80 * i, Math.imul(i + 1, 0x9e3779b1) >>> 0, true);
  return u;
}

export async function benchDispute(): Promise<Record<string, unknown>> {
  const messages = Number(process.env.TRUEWASM_BENCH_MESSAGES ?? 6_100);
  const net = await inProcessNetwork();
  const dirs = mkdtempSync(join(tmpdir(), "truewasm-bench-dispute-"));
  const log = process.env.TRUEWASM_BENCH_VERBOSE ? createLogger({ level: "info" }) : silentLogger;
  try {
    const k = 16;
    const d = await deploy(net.wallet(0), { k, clock: 86_400 });
    const contracts = new Contracts(net.provider, d);
    const poster = new TxManager(net.provider, net.wallet(0), null, { contracts, pollMs: 20 });
    const program = compileProgram(new Uint8Array(readFileSync(join(REPO_ROOT, "wasm-tasks/build/sha256d.wasm"))));
    await ensureRegistered(poster, contracts, program);
    const input = messagesInput(messages);
    const started = performance.now();
    const posted = await postTask(poster, contracts, net.provider, program.root, input, { ...DEFAULT_TERMS, reward: 10n ** 18n, window: 3600, limits: { ...DEFAULT_TERMS.limits, outputBytes: 64 } });
    const lieFrom = BigInt(Math.floor((messages * STEPS_PER_MESSAGE) / 3));
    const common = { provider: net.provider, deployment: d, pollMs: 20, log };
    const solver = startSolver({ ...common, wallet: net.wallet(1), dataDir: join(dirs, "solver"), lieFromStep: lieFrom });
    const challenger = startChallenger({ ...common, wallet: net.wallet(2), dataDir: join(dirs, "challenger"), transcripts: true });
    const store = new Store(join(dirs, "challenger"));
    let transcript: Transcript | undefined;
    const until = Date.now() + 30 * 60_000;
    for (;;) {
      if (Date.now() > until) throw new Error("benchDispute: no result after 30 minutes");
      await new Promise((r) => setTimeout(r, 100));
      transcript ??= store.get<Transcript>("transcripts", "game-1");
      // done once the challenger has been paid out
      if (transcript && challenger.node.txs.get("withdraw:1")?.status === "mined") break;
    }
    const wallSeconds = (performance.now() - started) / 1000;
    await challenger.stop();
    await solver.stop();
    if ("aborted" in transcript.outcome || transcript.outcome.solverWon) throw new Error("benchDispute: the lying solver was not beaten");
    const steps = Number(transcript.claim.steps);
    const gas = transcriptGas(transcript);
    const proof = transcript.moves[transcript.moves.length - 1];
    const withdraw = challenger.node.txs.get("withdraw:1")!.gasUsed!;
    return {
      task: `sha256d of ${messages} messages`,
      steps,
      k,
      rounds: transcript.moves.filter((m) => m.kind === "select").length,
      wallSeconds: +wallSeconds.toFixed(1),
      solverStepsExecuted: solver.node.stepsExecuted,
      challengerStepsExecuted: challenger.node.stepsExecuted,
      solverStepsRatio: +(solver.node.stepsExecuted / steps).toFixed(3),
      challengerStepsRatio: +(challenger.node.stepsExecuted / steps).toFixed(3),
      totalGas: gas.total + Number(withdraw),
      gas: {
        challenge: gas.challenge,
        solverMoves: gas.solver,
        challengerMoves: gas.challenger,
        proveStep: Number(proof.gasUsed),
        challengerWithdraw: Number(withdraw),
        post: Number(posted.gasUsed),
        commit: Number(transcript.claim.gasUsed),
      },
      witnessBytes: transcript.finalWitness ? (transcript.finalWitness.length - 2) / 2 : null,
      disputedStep: proof.kind === "proveStep" ? Number(proof.lo) : null,
    };
  } finally {
    await net.close();
    rmSync(dirs, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchDispute().then((r) => {
    console.log(JSON.stringify(r, null, 1));
    process.exit(0);
  });
}
