/**
 * Gas of the task market and the verification game (docs/GAME.md, "Measured").
 *
 *   unchallengedGas  post (1 KB input) + commit + reveal + finalize + withdraw, all five transactions' gas,
 *                    on a real program (sha256 of the 1,024 input bytes: real initial root, real
 *                    final-state opening, 32-byte output), the poster an account without code,
 *                    the market in steady state (not its first task), the solver's balance zero
 *                    before (so finalize pays for a fresh balance slot)
 *   disputeGas       every transaction of both parties from the challenge to the payout: challenge,
 *                    all bisections and selections, the one-step proof, the winner's withdrawal;
 *                    a lying solver against an honest challenger over 2^20, 2^26, 2^32 steps. The
 *                    game is played on the toy machine (contracts/test/ToyProver.sol, O(1) roots at
 *                    any step); its one-step proof is then re-priced with the real prover
 *                    (contracts/prover/OneStepProver.sol) on real witnesses when that contract is
 *                    built: `disputeGas` uses the real step (the maximum over the sampled real
 *                    witnesses), `disputeGasToyStep` the toy one.
 *   kSweep           disputeGas(2^32) for other degrees k (what the choice of k rests on)
 *
 * Run: `npm run bench -- game` (once bench/run.ts lists it) or `tsx bench/game.ts`.
 */
import { readFileSync, existsSync } from "node:fs";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { getBytes, hexlify } from "ethers";
import {
  advance,
  challenge,
  commit,
  deploy,
  honestClaim,
  lyingFrom,
  network,
  playGame,
  postTask,
  register,
  send,
  terms,
  track,
  type Any,
  type Claim,
  type Env,
} from "../test/contracts/helpers.js";
import { encodeOpening, openingRoot, RealModel, realBackend, realProgram, toyBackend, toyProgram } from "../test/contracts/model.js";
import { Z, outputDepth, stateRoot } from "../interpreter/state.js";
import { Machine } from "../interpreter/machine.js";
import { witness } from "../interpreter/witness.js";
import { benchDappCosts, benchLargeInput } from "./inputs.js";
import { bytes } from "../test/deterministic.js";
import { verifyStep } from "../interpreter/verify.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const K_DEFAULT = 16;


const sum = (xs: bigint[]) => Number(xs.reduce((a, b) => a + b, 0n));

export async function unchallenged(env: Env): Promise<Record<string, number>> {
  const p = realProgram(new Uint8Array(readFileSync(resolve(ROOT, "wasm-tasks/build/sha256.wasm"))));
  await register(env, p);
  const input = bytes(1024, 7);
  const tt = terms({ limits: { ...terms().limits, outputBytes: 64 } });
  // steady state: not the first task of the market (its counter is already non-zero)
  await warmUp(env);
  env.gasLog = [];
  const task = await postTask(env, p, input, tt, env.signers[0]);
  const model = new RealModel(p.program, input, tt.limits);
  const claim = honestClaim(model);
  await commit(env, task, claim, env.signers[1]);
  await advance(env, tt.window + 1);
  await send(env, env.market.connect(env.signers[2]).finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
  await send(env, env.market.connect(env.signers[1]).withdraw());
  const [post, com, rev, fin, wd] = env.gasLog.map(Number);
  env.gasLog = null;
  return { total: post + com + rev + fin + wd, post, commit: com, reveal: rev, finalize: fin, withdraw: wd, steps: Number(model.steps), outputBytes: (claim.output.length - 2) / 2 };
}

interface Dispute {
  total: number;
  rounds: number;
  challenge: number;
  solverMoves: number;
  challengerMoves: number;
  step: number;
  withdraw: number;
}

/**
 * A lying solver (wrong from `steps/3` on) against an honest challenger on a toy run of `steps`; the
 * challenger's transactions include recording their cost (refunded from the liar's bond).
 */
async function dispute(env: Env, steps: bigint, salt: number): Promise<Dispute> {
  // (the market is warmed up: a task and a game before, see warmUp)
  const p = toyProgram(steps, salt);
  await register(env, p);
  const task = await postTask(env, p, bytes(100, salt), terms({ limits: { ...terms().limits, steps: 2 ** 40 } }), env.signers[0]);
  const st = (task.model as Any).stateAt(task.model.steps);
  const o = encodeOpening({ ...st, outLen: 0, outputRoot: Z[outputDepth(task.terms.limits.outputBytes)] });
  const claim: Claim = { finalRoot: hexlify(openingRoot(o)), steps, output: "0x", opening: hexlify(o) };
  await commit(env, task, claim, env.signers[1]);
  const lie = lyingFrom(task.model, steps / 3n, "bench");
  const solver = { signer: env.signers[1], roots: (t: bigint) => (t === steps ? claim.finalRoot : lie(t)) };
  const challenger = { signer: env.signers[2], roots: (t: bigint) => task.model.rootAt(t) };
  const receipts: Any[] = [];
  const origSend = env.gasLog;
  env.gasLog = [];
  const id = await challenge(env, task, claim, env.signers[2]);
  const g = await track(env, task, claim, id);
  const won = await playGame(env, g, task.model, solver, challenger);
  if (won) throw new Error("the lying solver won");
  await send(env, env.market.connect(env.signers[2]).withdraw());
  const log = env.gasLog;
  env.gasLog = origSend;
  void receipts;
  // log: challenge, (bisect, select) × rounds, proveStep, withdraw
  const rounds = (log.length - 3) / 2;
  const moves = log.slice(1, 1 + 2 * rounds);
  return {
    total: sum(log),
    rounds,
    challenge: Number(log[0]),
    solverMoves: sum(moves.filter((_, i) => i % 2 === 0)),
    challengerMoves: sum(moves.filter((_, i) => i % 2 === 1)),
    step: Number(log[1 + 2 * rounds]),
    withdraw: Number(log[log.length - 1]),
  };
}

/**
 * The real one-step proof: gas of transactions calling the real prover directly on witnesses of a
 * real run (sha256d of two 80-byte messages, every 97th step), against the toy prover's, so that the
 * toy game's step can be re-priced. Null when the real prover is not built.
 */
async function realStep(): Promise<Record<string, number> | null> {
  if (!existsSync(resolve(ROOT, "artifacts/contracts/prover/OneStepProver.sol/OneStepProver.json"))) return null;
  const { ethers } = await network();
  let prover: Any;
  try {
    prover = await ethers.deployContract("OneStepProver");
  } catch {
    return null;
  }
  const toy = await ethers.deployContract("ToyProver");
  const p = realProgram(new Uint8Array(readFileSync(resolve(ROOT, "wasm-tasks/build/sha256d.wasm"))));
  const m = Machine.forTask(p.program, bytes(160, 7), { outputBytes: 64 });
  const gas: number[] = [];
  const sizes: number[] = [];
  let mismatches = 0;
  for (;;) {
    const pre = stateRoot(m);
    const w = witness(m);
    const post = verifyStep(pre, w);
    try {
      if ((await prover.step(hexlify(pre), hexlify(w))) !== hexlify(post)) mismatches++;
      // a transaction to the prover: 21,000, calldata and execution, as the game's proveStep pays them
      gas.push(Number(await prover.step.estimateGas(hexlify(pre), hexlify(w))));
      sizes.push(w.length);
    } catch {
      mismatches++;
    }
    if (m.status !== 0) break;
    m.run(97);
  }
  const tp = toyProgram(1000n, 99);
  const tm = toyBackend.model(tp, bytes(10, 7), { ...terms().limits });
  const toyGas = Number(await toy.step.estimateGas(tm.rootAt(5n), tm.witnessAt(5n)));
  const sorted = [...gas].sort((a, b) => a - b);
  const sz = [...sizes].sort((a, b) => a - b);
  return {
    samples: gas.length,
    mismatches,
    medianTxGas: sorted[sorted.length >> 1],
    maxTxGas: sorted[sorted.length - 1],
    medianWitnessBytes: sz[sz.length >> 1],
    maxWitnessBytes: sz[sz.length - 1],
    toyTxGas: toyGas,
  };
}

/**
 * A whole dispute with the real prover and the interpreter: sha256d of two messages (~33,000 steps),
 * a solver that lies from a third of the run on, an honest challenger. Null without the real prover.
 */
async function realDispute(k: number): Promise<Record<string, number> | null> {
  if (!existsSync(resolve(ROOT, "artifacts/contracts/prover/OneStepProver.sol/OneStepProver.json"))) return null;
  const env = await deploy({ k, backend: realBackend });
  const p = realProgram(new Uint8Array(readFileSync(resolve(ROOT, "wasm-tasks/build/sha256d.wasm"))));
  await register(env, p);
  await warmUp(env);
  const tt = terms({ limits: { ...terms().limits, outputBytes: 64 } });
  const task = await postTask(env, p, bytes(160, 7), tt, env.signers[0]);
  const m = task.model;
  // a consistent but false claim: the true final state with its output taken away
  const o = getBytes(m.finalOpening());
  o.set([0, 0, 0, 0], 132); // outLen
  o.set(Z[outputDepth(64)], 316); // outputRoot
  const claim: Claim = { finalRoot: hexlify(openingRoot(o)), steps: m.steps, output: "0x", opening: hexlify(o) };
  await commit(env, task, claim, env.signers[1]);
  const lie = lyingFrom(m, m.steps / 3n, "real");
  env.gasLog = [];
  const id = await challenge(env, task, claim, env.signers[2]);
  const won = await playGame(env, await track(env, task, claim, id), m, { signer: env.signers[1], roots: (t) => (t === claim.steps ? claim.finalRoot : lie(t)) }, { signer: env.signers[2], roots: (t) => m.rootAt(t) });
  if (won) throw new Error("the lying solver won the real dispute");
  await send(env, env.market.connect(env.signers[2]).withdraw());
  const log = env.gasLog;
  env.gasLog = null;
  return { steps: Number(m.steps), rounds: (log.length - 3) / 2, total: sum(log), step: Number(log[log.length - 2]), witnessBytes: (m.witnessAt(m.steps / 3n - 1n).length - 2) / 2 };
}

/** A first task and a first game on a fresh market, so that measured figures are steady-state. */
async function warmUp(env: Env): Promise<void> {
  const p = env.backend === toyBackend ? toyProgram(20n, 4242) : realProgram(new Uint8Array(readFileSync(resolve(ROOT, "wasm-tasks/build/echo.wasm"))));
  await register(env, p);
  const task = await postTask(env, p, bytes(10, 7), terms(), env.signers[5]);
  const claim = honestClaim(task.model);
  await commit(env, task, claim, env.signers[6]);
  const id = await challenge(env, task, claim, env.signers[7]);
  await playGame(env, await track(env, task, claim, id), task.model, { signer: env.signers[6], roots: (t) => task.model.rootAt(t) }, { signer: env.signers[7], roots: lyingFrom(task.model, 5n) });
}

export async function benchGame(): Promise<Record<string, unknown>> {
  const env = await deploy({ k: K_DEFAULT, backend: toyBackend });
  const u = await unchallenged(env); // warms the market up
  const disputeToy: Record<string, Dispute> = {};
  for (const [name, n] of [["2^20", 2n ** 20n], ["2^26", 2n ** 26n], ["2^32", 2n ** 32n]] as const) disputeToy[name] = await dispute(env, n, Number(n % 1000n));
  const kSweep: Record<string, number> = {};
  for (const k of [2, 4, 8, 16, 32, 64]) {
    if (k === K_DEFAULT) {
      kSweep[k] = disputeToy["2^32"].total;
      continue;
    }
    const e = await deploy({ k, backend: toyBackend });
    await warmUp(e);
    kSweep[k] = (await dispute(e, 2n ** 32n, 100 + k)).total;
  }
  const real = await realStep();
  const usable = real !== null && real.mismatches === 0;
  const extra = usable ? real.maxTxGas - real.toyTxGas : 0;
  const disputeGas: Record<string, number> = {};
  for (const [name, d] of Object.entries(disputeToy)) disputeGas[name] = d.total + extra;
  const largeInput = await benchLargeInput(env); // bench/inputs.ts (issue #18): a 16 MiB input in chunks
  return {
    inputGasPerMiB: largeInput.inputGasPerMiB,
    maxChunkTxGas: largeInput.maxChunkTxGas,
    largeInput,
    dappCosts: await benchDappCosts(env), // bench/inputs.ts: the example dapp (docs/DAPPS.md § Costs)
    k: K_DEFAULT,
    unchallengedGas: u.total,
    unchallenged: u,
    disputeGas,
    disputeStep: usable
      ? "toy game, one-step proof re-priced with the real prover's worst sampled sha256d witness (maxTxGas - toyTxGas added)"
      : "ToyProver step (the real prover was not available)",
    disputeGasToyStep: Object.fromEntries(Object.entries(disputeToy).map(([k, d]) => [k, d.total])),
    disputeDetail: disputeToy,
    realStep: real,
    realDispute: usable ? await realDispute(K_DEFAULT) : null,
    kSweep2p32ToyStep: kSweep,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchGame().then((r) => {
    console.log(JSON.stringify(r, null, 1));
    process.exit(0);
  });
}
