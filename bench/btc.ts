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
 *   gasPerHeaderBySize  the same total (post, commit, finalize) per header for smaller batches of
 *                  the same headers: what the relayer's --batch-size costs (docs/RELAY.md)
 *   verifyTxGas    a verifyTx transaction (its fee paid; the relayer's balance already non-zero)
 *                  proving a real payment, relayed as a
 *                  one-header batch (test/relay/helpers.ts), N = 1: transaction 2 of block 413,567
 *                  (1,557 transactions: an 11-sibling branch; 226 bytes) on the checkpoint at 413,566,
 *                  or, when the shared fixture block413567.raw is not the block its header commits to,
 *                  transaction 1 of block 100,000 (4 transactions: 2 siblings; 259 bytes) on the
 *                  checkpoint at 99,999 (`relayTx.block` says which)
 *   relayTxGas     the dapp's purchase, all-in: the buyer's relayTx transaction with the same
 *                  transaction's raw bytes targeting BtcSwap, which parses its outputs, finds the
 *                  offer it pays, checks it and pays the buyer the offer's ETH and deposit (the
 *                  relay's proof, the fee, the call, the payout); `relayTx` has the parts
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
import { ROOT, block100000, block413567, checkpoint413566, checkpoint99999, deployMarket, deployRelay, solveAndFinalize, submitBatch } from "../test/relay/helpers.js";
import { parseTx, txProof } from "../relayer/bitcoin.js";
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
  const callData = r.relay.interface.encodeFunctionData("onTaskResult", [zero.taskId, solution.output, 1, 0]);
  const estimate = await m.ethers.provider.estimateGas({ from: await m.market.getAddress(), to: r.address, data: callData });
  let standard = 0;
  for (const x of Buffer.from(callData.slice(2), "hex")) standard += x === 0 ? 4 : 16;
  const callbackGas = Number(estimate) - 21_000 - standard;

  // smaller batches: the fixed costs per header
  const gasPerHeaderBySize: Record<string, number> = {};
  for (const n of [1, 6, 36, 144, 504]) {
    const b = await submitBatch(r, 0n, headers.slice(0, n));
    const { gas: g } = await solveAndFinalize(r, b);
    gasPerHeaderBySize[n] = Math.round(Number(b.gas[0] + g[0] + g[1]) / n);
  }
  gasPerHeaderBySize[2016] = Math.round(Number(total) / 2016);

  // a transaction of the real block 413,567, proven with verifyTx and bought through BtcSwap
  const tx = await benchRelayTx(m);

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
    gasPerHeaderBySize,
    verifyTxGas: tx.verifyTxGas,
    relayTxGas: tx.relayTxGas,
    relayTx: tx.parts,
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

/** verifyTx and the dapp's purchase through relayTx, on block 413,567 (see the header). */
async function benchRelayTx(m: Awaited<ReturnType<typeof deployMarket>>): Promise<{ verifyTxGas: number; relayTxGas: number; parts: Record<string, number | string> }> {
  let block: ReturnType<typeof block413567>;
  let cp: ReturnType<typeof checkpoint99999>;
  let T: number;
  let which: string;
  try {
    block = block413567();
    cp = checkpoint413566(block.header);
    T = 2;
    which = "413,567 tx 2";
  } catch (e) {
    console.error(`# btc: block 413,567 unusable (${(e as Error).message.slice(0, 120)}…): block 100,000 instead`);
    block = block100000();
    cp = checkpoint99999();
    T = 1;
    which = "100,000 tx 1";
  }
  const FEE = 10n ** 14n;
  const [, , , relayer, seller, buyer, other] = m.signers;
  const r = await deployRelay(m, cp, { confirmations: 1 });
  const swap = await m.ethers.deployContract("BtcSwap", [r.address]);
  const out = parseTx(block.txs[T]).outputs[0];
  const ETH = 10n ** 18n;
  // a warm-up offer and purchase path: the seller's and the swap's slots as in steady state
  const rc0 = await (await swap.connect(seller).offer(out.script, out.value, 1, ETH / 10n, 3600, { value: ETH })).wait();
  const id = swap.interface.parseLog(rc0.logs[0]).args.id;
  await (await swap.connect(buyer).reserve(id, { value: ETH / 10n })).wait();
  const s = await submitBatch(r, 0n, [block.header], { from: relayer, fee: FEE });
  await solveAndFinalize(r, s);
  const p = txProof(block, T, s.taskId, [block.hash]);
  // the first proof credits the relayer's balance slot from zero: measured is the second one (the
  // slot non-zero, as for a relayer whose fees are not withdrawn after every proof)
  await (await r.relay.connect(other).verifyTx(block.txids[T], block.hash, p.txIndex, p.txSiblings, p.header, p.batchId, p.blockIndex, p.blockSiblings, { value: FEE })).wait();
  const v = await (await r.relay.connect(other).verifyTx(block.txids[T], block.hash, p.txIndex, p.txSiblings, p.header, p.batchId, p.blockIndex, p.blockSiblings, { value: FEE })).wait();
  const rc = await (await r.relay.connect(buyer).relayTx(block.txs[T], p, await swap.getAddress(), { value: FEE })).wait();
  if (!rc.logs.some((l: { address: string }) => l.address.toLowerCase() === String(swap.target).toLowerCase())) throw new Error("the purchase did not happen");
  // the parts: the relay's share (the same relayTx to a target that does nothing) and the calldata
  const sink = await m.ethers.deployContract("BtcTxHarness");
  const proofOnly = Number((await (await r.relay.connect(other).relayTx(block.txs[T], p, await sink.getAddress(), { value: FEE })).wait()).gasUsed);
  const data = r.relay.interface.encodeFunctionData("relayTx", [block.txs[T], p, await swap.getAddress()]);
  let calldata = 0;
  for (const x of Buffer.from(data.slice(2), "hex")) calldata += x === 0 ? 4 : 16;
  return { verifyTxGas: Number(v.gasUsed), relayTxGas: Number(rc.gasUsed), parts: { block: which, txBytes: block.txs[T].length, txSiblings: p.txSiblings.length, calldataBytes: (data.length - 2) / 2, calldataGas: calldata, relayTxToEmptyTarget: proofOnly, swapShare: Number(rc.gasUsed) - proofOnly } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchBtc()));
  process.exit(0);
}
