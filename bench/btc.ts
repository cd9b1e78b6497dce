/**
 * The Bitcoin relay's costs (docs/RELAY.md, "Gas").
 *
 *   gasPerHeader   every transaction from the post to the stored tip, divided by 2,016: the relay's
 *                  submitBatch (which posts the task), the solver's commit, and finalize (which
 *                  calls the relay back and stores the tip); unchallenged; the embedded real batch
 *                  828,576..830,591 in the task's dense encoding; the real contracts (TaskMarket
 *                  with the real OneStepProver, BtcRelay) on Hardhat's default hardfork (Prague:
 *                  EIP-7623 calldata floor)
 *   steps          machine steps of the btc-headers task on that input (dense mode)
 *   postExecutionGas  execution gas of the post transaction (everything but the intrinsic and
 *                  calldata cost), measured by posting a batch of the same size with all-zero
 *                  header bytes (whose calldata is cheap enough that the floor does not apply)
 *   callbackGas    gas of BtcRelay.onTaskResult storing a tip (estimated as if called by the market):
 *                  TaskMarket.callbackGas must be above it, or finalize stores nothing
 *   disputeGas     the cost of a dispute over the same 2,016-header batch when a lying solver is
 *                  challenged: every transaction of both parties from the challenge to the payout
 *                  (the challenge, the solver's bisections, the challenger's selections, the
 *                  one-step proof, the challenger's withdrawal of its winnings), k = 16. Played by
 *                  the demo's machinery (relayer/demo.ts: a lying solver node whose roots are made
 *                  up from the middle of the run and an honest challenger node, in-process, on a
 *                  fresh deployment of the same contracts); `dispute` has its breakdown
 *
 * Run: `npm run bench -- btc` (once bench/run.ts lists it) or `tsx bench/btc.ts`.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { splitHeaders, encodeDenseHeaders, type Checkpoint } from "../wasm-tasks/btc-headers/encoding.js";
import { ROOT, deployMarket, deployRelay, solveAndFinalize, submitBatch } from "../test/relay/helpers.js";
import { runDemo } from "../relayer/demo.js";

const FIXTURES = resolve(ROOT, "wasm-tasks/btc-headers/fixtures");

/** EIP-7623 floor cost of calldata bytes: 10 gas per token, a zero byte 1 token, any other 4. */
function floorGas(b: Uint8Array): number {
  let g = 0;
  for (const x of b) g += x === 0 ? 10 : 40;
  return g;
}

export async function benchBtc(): Promise<Record<string, unknown>> {
  const cp: Checkpoint = JSON.parse(readFileSync(resolve(FIXTURES, "checkpoint_828575.json"), "utf8"));
  const headers = splitHeaders(new Uint8Array(readFileSync(resolve(FIXTURES, "mainnet_828576_830591.bin"))));
  const m = await deployMarket();
  const r = await deployRelay(m, cp);
  // warm-up: one small batch first, so that the measured one finds the market and the relay in
  // steady state (task counter, the solver's and the relay's balances already non-zero)
  await solveAndFinalize(r, await submitBatch(r, 0n, headers.slice(0, 3)));

  const t0 = performance.now();
  const s = await submitBatch(r, 0n, headers);
  const t1 = performance.now();
  const { solution, gas } = await solveAndFinalize(r, s);
  const t2 = performance.now();
  if (!solution.result?.valid || solution.result.height !== 830591) throw new Error("the batch did not validate");
  const best = await r.relay.bestTip();
  if (best.id !== s.taskId) throw new Error("the relay did not store the tip");
  const [post, commit, finalize] = [s.gas[0], gas[0], gas[1]];
  const total = post + commit + finalize;

  // the post's execution gas, from a batch of the same size whose header bytes are all zero
  const dense = encodeDenseHeaders(cp.timestamps.at(-1)!, headers);
  const zero = await submitBatch(r, 0n, headers, { dense: new Uint8Array(dense.length) });
  const zeroTx = await m.ethers.provider.getTransaction((await m.ethers.provider.getBlock("latest", true)).transactions.at(-1));
  const zeroData = new Uint8Array(Buffer.from(zeroTx.data.slice(2), "hex"));
  let tokens = 0;
  for (const x of zeroData) tokens += x === 0 ? 1 : 4;
  const postExecutionGas = Number(zero.gas[0]) - 21_000 - 4 * tokens;

  // gas of the relay's callback (what TaskMarket.callbackGas must cover), estimated on the pending
  // zero-header batch with the real batch's output, as if from the market
  const callData = r.relay.interface.encodeFunctionData("onTaskResult", [zero.taskId, solution.output, 1]);
  const estimate = await m.ethers.provider.estimateGas({ from: await m.market.getAddress(), to: r.address, data: callData });
  let standard = 0;
  for (const x of Buffer.from(callData.slice(2), "hex")) standard += x === 0 ? 4 : 16;
  const callbackGas = Number(estimate) - 21_000 - standard;

  // a dispute over the same batch: a lying solver node against an honest challenger node
  const demo = await runDemo({ headers: headers.length, print: null });
  const dg = demo.dispute.gas;

  const n = headers.length;
  return {
    headers: n,
    steps: Number(solution.steps),
    gasPerHeader: Math.round((Number(total) / n) * 10) / 10,
    gas: { post: Number(post), commit: Number(commit), finalize: Number(finalize), total: Number(total) },
    bytesPerHeader: dense.length / n,
    calldataFloorPerHeader: Math.round((floorGas(dense) / n) * 10) / 10,
    postCalldataBytes: s.calldataBytes,
    postExecutionGas,
    callbackGas,
    disputeGas: dg.total,
    dispute: {
      rounds: demo.dispute.rounds,
      k: demo.dispute.k,
      challenge: dg.challenge,
      solverMoves: dg.solverMoves,
      challengerMoves: dg.challengerMoves,
      proveStep: dg.proveStep,
      challengerWithdraw: dg.payoutWithdraw,
      disputedStep: Number(demo.dispute.disputedStep),
      instruction: demo.dispute.instruction.op,
      witnessBytes: demo.dispute.witnessBytes,
      seconds: demo.seconds.total,
    },
    disputeGasNote: "lying solver vs honest challenger over the 2,016-header batch: challenge + every move of both parties (the one-step proof included) + the challenger's withdrawal",
    prover: m.proverName,
    solveSeconds: Math.round((t2 - t1) / 100) / 10,
    postSeconds: Math.round((t1 - t0) / 100) / 10,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchBtc()));
  process.exit(0);
}
