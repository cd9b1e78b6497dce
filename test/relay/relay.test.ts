/**
 * The Bitcoin relay (contracts/relay/BtcRelay.sol) with the real contracts on the in-process
 * Hardhat network: TaskMarket with the real OneStepProver, the real btc-headers program (its program
 * root from interpreter/state.ts). The test acts as the honest solver (the task runs in the
 * interpreter; the real final state is committed with its opening) and nobody challenges; the
 * verification game itself is tested in test/contracts/.
 *
 * Real data: the embedded 2,016 mainnet headers 828,576..830,591, the stale header 829,613 and the
 * retarget header 830,592 (../shared/fixtures/btc), and block 100,000 with its four real
 * transactions (its header and txids are public chain data written out below: the header's proof
 * of work and the txids' Merkle root check them).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { getBytes, hexlify, keccak256 } from "ethers";
import {
  type Checkpoint,
  encodeCheckpoint,
  encodeDenseHeaders,
  hashToHex,
  hexToHash,
  headerFields,
  splitHeaders,
} from "../../wasm-tasks/btc-headers/encoding.js";
import { blockHash, blockWork, medianTime, merkleRoot, validateHeaders } from "../../wasm-tasks/btc-headers/reference.js";
import { embeddedBtc, fromHex, sharedBtc, sharedBtcLines } from "../tasks/helpers.js";
import {
  B100000,
  checkpoint99999,
  ETH,
  type Any,
  expectRevert,
  type Market,
  type Relay,
  advance,
  deployMarket,
  deployRelay,
  expectedInitialRoot,
  merkleBranch,
  relayEvents,
  solveAndFinalize,
  submitBatch,
} from "./helpers.js";

const cp: Checkpoint = JSON.parse(embeddedBtc("checkpoint_828575.json").toString());
const headers = splitHeaders(new Uint8Array(embeddedBtc("mainnet_828576_830591.bin")));
const expected = JSON.parse(embeddedBtc("mainnet_828576_830591.expected.json").toString());
const internal = (explorerHex: string) => hexlify(hexToHash(explorerHex));
const hashes = headers.map(blockHash);

const field = (h: Uint8Array, off: number, v: number): Uint8Array => {
  const c = Uint8Array.from(h);
  new DataView(c.buffer).setUint32(off, v >>> 0, true);
  return c;
};

// ---------------------------------------------------------------------------------------------

describe("BtcRelay: the embedded batch 828,576..830,591 (real OneStepProver market, honest solver)", () => {
  let m: Market;
  let r: Relay;
  let mainId: bigint;

  beforeAll(async () => {
    m = await deployMarket();
    r = await deployRelay(m, cp);
  });

  it("starts from the checkpoint: its record is the task's checkpoint record", async () => {
    const t0 = await r.relay.tipOf(0);
    expect(t0.record).toBe(keccak256(encodeCheckpoint(cp)));
    expect(t0.hash).toBe(internal(cp.hash));
    expect(t0.height).toBe(828575n);
    const best = await r.relay.bestTip();
    expect(best.id).toBe(0n);
    expect(best.chainWork).toBe(BigInt(cp.chainWork!));
  });

  it("posts the 2,016 headers, stores tip 830,591 with Core's chain work, under 2,000 gas per header", async () => {
    const s = await submitBatch(r, 0n, headers);
    mainId = s.taskId;
    expect(s.initialRoot).toBe(expectedInitialRoot(m, s));
    // the input the market logged is checkpoint-of-the-tip + the dense headers, exactly
    expect(s.input.length).toBe(136 + 2016 * 42);
    expect(hexlify(s.input.subarray(8, 132))).toBe(hexlify(encodeCheckpoint(cp)));
    // the submitter's calldata holds the headers once: 42 bytes each plus < 400 bytes of ABI and record
    expect(s.calldataBytes - 2016 * 42).toBeLessThan(400);

    const { solution, gas, finalizeReceipt } = await solveAndFinalize(r, s);
    expect(solution.result?.valid).toBe(true);
    const evs = relayEvents(r, finalizeReceipt);
    expect(evs.map((e: Any) => e.name)).toEqual(["TipStored", "BestTipChanged"]);

    const best = await r.relay.bestTip();
    expect(best.id).toBe(mainId);
    expect(best.hash).toBe(internal(expected.tipHash));
    expect(best.height).toBe(830591n);
    expect(best.chainWork).toBe(BigInt(expected.chainWork));
    expect(best.chainWork.toString(16).padStart(64, "0")).toBe(expected.chainWorkHex);
    const t = await r.relay.tipOf(mainId);
    expect(r.blockRoots.get(mainId)).toBe(internal(expected.merkleRoot));
    expect([t.parent, t.height, t.count, t.depth, t.state]).toEqual([0n, 830591n, 2016n, 1n, 2n]);
    expect(t.chainWork).toBe(BigInt(expected.chainWork));
    // the stored record is the task's next checkpoint (= the full-mode reference result's)
    const next = r.records.get(mainId)!;
    expect(next).toEqual(validateHeaders(cp, headers).next);
    expect(t.record).toBe(keccak256(encodeCheckpoint(next)));

    const all = [...s.gas, ...gas];
    const total = all.reduce((a, b) => a + b, 0n);
    const perHeader = Number(total) / 2016;
    console.log(`relay gas: post ${s.gas[0]}, commit ${gas[0]}, finalize ${gas[1]}; ${perHeader.toFixed(1)} per header; ${solution.steps} steps`);
    expect(perHeader).toBeLessThanOrEqual(2000);
  });

  it("verifyBlock: a relayed block on the best chain with enough confirmations (N = 6)", async () => {
    const proof = (i: number) => merkleBranch(hashes, i).map(hexlify);
    for (const i of [0, 1, 1000, 1007, 2010]) {
      const [height, confs] = await r.relay.verifyBlock.staticCall(hexlify(hashes[i]), mainId, i, proof(i));
      expect(height).toBe(BigInt(828576 + i));
      expect(confs).toBe(BigInt(2016 - i));
    }
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[2011]), mainId, 2011, proof(2011)), "InsufficientConfirmations", [5n, 6n]);
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[2015]), mainId, 2015, proof(2015)), "InsufficientConfirmations", [1n, 6n]);
    // a wrong index, sibling, branch length or block
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[5]), mainId, 4, proof(5)), "BadBlockProof");
    const bad = proof(5);
    bad[3] = hexlify(hashes[0]);
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[5]), mainId, 5, bad), "BadBlockProof");
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[5]), mainId, 5, proof(5).slice(0, 10)), "BadBlockProof");
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[5]), mainId, 5 + 2048, proof(5)), "BadBlockProof");
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(blockHash(field(headers[5], 76, 1))), mainId, 5, proof(5)), "BadBlockProof");
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[5]), 0n, 5, proof(5)), "UnknownBatch");
    // the last leaf of a 2,016-leaf tree: odd levels pair it with itself
    const last = merkleBranch(hashes, 2015);
    expect(last.length).toBe(11);
  });

  it("the stale header 829,613 makes a lighter fork that is kept but not best; a heavier fork takes over", async () => {
    const stale = sharedBtcLines("mainnet_stale.hex");
    const staleHdr = fromHex(stale.get(829613)!);
    const split = 829613 - 828576; // 1,037 headers 828,576..829,612, then the fork point
    // B: the main chain up to 829,612 (a second tip on tip 0: lighter than the 2,016-header tip)
    const b = await submitBatch(r, 0n, headers.slice(0, split));
    await solveAndFinalize(r, b);
    expect((await r.relay.tipOf(b.taskId)).height).toBe(829612n);
    // S: the stale block on B
    const s = await submitBatch(r, b.taskId, [staleHdr]);
    const { solution } = await solveAndFinalize(r, s);
    expect(solution.result?.valid).toBe(true);
    const ts = await r.relay.tipOf(s.taskId);
    expect([ts.parent, ts.height, ts.state, ts.depth]).toEqual([b.taskId, 829613n, 2n, 2n]);
    expect(ts.hash).toBe(hexlify(blockHash(staleHdr)));
    expect(ts.hash).not.toBe(hexlify(hashes[split]));
    const staleWork = BigInt(r.records.get(b.taskId)!.chainWork) + blockWork(headerFields(staleHdr).bits);
    expect(BigInt(r.records.get(s.taskId)!.chainWork)).toBe(staleWork);
    expect(ts.chainWork).toBe(staleWork);
    // kept, not best
    expect((await r.relay.bestTip()).id).toBe(mainId);
    expect(await r.relay.isOnBestChain(s.taskId)).toBe(false);
    expect(await r.relay.isOnBestChain(b.taskId)).toBe(false);
    expect(await r.relay.isOnBestChain(mainId)).toBe(true);
    expect(await r.relay.isOnBestChain(0n)).toBe(true);
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(ts.hash, s.taskId, 0, []), "NotOnBestChain", [s.taskId]);

    // C: the main chain 829,613..830,591 on B: the same tip as the 2,016-header batch, equal work:
    // the first one seen stays best
    const c = await submitBatch(r, b.taskId, headers.slice(split));
    await solveAndFinalize(r, c);
    expect((await r.relay.tipOf(c.taskId)).hash).toBe(internal(expected.tipHash));
    expect((await r.relay.bestTip()).id).toBe(mainId);
    // E: the retarget block 830,592 (0x1703ba5d -> 0x170371b1) on C: more work, E becomes best
    const h830592 = splitHeaders(new Uint8Array(sharedBtc("mainnet_822528_830592.bin"))).at(-1)!;
    expect(headerFields(h830592).bits).toBe(0x170371b1);
    const e = await submitBatch(r, c.taskId, [h830592]);
    const se = await solveAndFinalize(r, e);
    expect(se.solution.result).toMatchObject({ valid: true, height: 830592 });
    const best = await r.relay.bestTip();
    expect(best.id).toBe(e.taskId);
    expect(best.height).toBe(830592n);
    expect(best.chainWork).toBe(BigInt(expected.chainWork) + blockWork(0x170371b1));
    for (const [id, on] of [[e.taskId, true], [c.taskId, true], [b.taskId, true], [0n, true], [mainId, false], [s.taskId, false]] as const)
      expect(await r.relay.isOnBestChain(id), `tip ${id}`).toBe(on);
    // blocks of B are now on the best chain, those of the first batch are not
    const bHashes = hashes.slice(0, split);
    const [h, confs] = await r.relay.verifyBlock.staticCall(hexlify(bHashes[100]), b.taskId, 100, merkleBranch(bHashes, 100).map(hexlify));
    expect([h, confs]).toEqual([828676n, BigInt(830592 - 828676 + 1)]);
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[100]), mainId, 100, merkleBranch(hashes, 100).map(hexlify)), "NotOnBestChain");
  });

  it("invalid batches give valid = false and the relay does not advance (every rule dense mode can express)", async () => {
    const before = await r.relay.bestTip();
    const batch = headers.slice(0, 12);
    const prev = [...cp.timestamps, ...batch.slice(0, 7).map((x) => headerFields(x).time)].slice(-11);
    const variants: [string, number, Uint8Array][] = [
      ["pow", 3, field(batch[3], 76, headerFields(batch[3]).nonce + 1)],
      ["time", 7, field(batch[7], 68, medianTime(prev))],
      ["version", 9, field(batch[9], 0, 3)],
    ];
    for (const [rule, i, bad] of variants) {
      const hs = batch.map((x, j) => (j === i ? bad : x));
      expect(validateHeaders(cp, hs).rule).toBe(rule); // full mode agrees
      const s = await submitBatch(r, 0n, hs);
      const { solution, finalizeReceipt } = await solveAndFinalize(r, s);
      expect(solution.result).toMatchObject({ valid: false, rule, failedIndex: i });
      const ev = relayEvents(r, finalizeReceipt);
      expect(ev.map((x: Any) => x.name)).toEqual(["BatchRejected"]);
      expect([ev[0].args.status, ev[0].args.rule, ev[0].args.failedIndex]).toEqual([1n, BigInt({ pow: 2, time: 4, version: 5 }[rule]!), BigInt(i)]);
      expect((await r.relay.tipOf(s.taskId)).state).toBe(0n);
      expect(await r.relay.bestTip()).toEqual(before);
    }
    // a malformed batch that the relay's size bounds let through (the last record announces an
    // escaped time that is not there): the task traps (Abort); rejected all the same
    const dense = encodeDenseHeaders(cp.timestamps.at(-1)!, batch);
    new DataView(dense.buffer).setInt16(11 * 42 + 36, -32768, true);
    const s = await submitBatch(r, 0n, batch, { dense });
    const { solution, finalizeReceipt } = await solveAndFinalize(r, s);
    expect(solution.halted).toBe(false);
    const ev = relayEvents(r, finalizeReceipt);
    expect(ev.map((x: Any) => [x.name, x.args.status, x.args.rule])).toEqual([["BatchRejected", 2n, 0n]]);
    expect(await r.relay.bestTip()).toEqual(before);
  });

  it("refuses fake checkpoints, unknown tips, malformed batches and callers other than the market", async () => {
    const rec = encodeCheckpoint(cp);
    const dense = encodeDenseHeaders(cp.timestamps.at(-1)!, headers.slice(0, 3));
    const fake = Uint8Array.from(rec);
    fake[92] ^= 1; // more chain work
    await expectRevert([r.relay.interface], r.relay.submitBatch(0, fake, 3, dense, 0), "RecordMismatch");
    await expectRevert([r.relay.interface], r.relay.submitBatch(0, rec.subarray(0, 123), 3, dense, 0), "RecordMismatch");
    await expectRevert([r.relay.interface], r.relay.submitBatch(mainId, rec, 3, dense, 0), "RecordMismatch"); // not that tip's record
    await expectRevert([r.relay.interface], r.relay.submitBatch(999, rec, 3, dense, 0), "UnknownTip", [999n]);
    await expectRevert([r.relay.interface], r.relay.submitBatch(0, rec, 0, "0x", 0), "BadBatch");
    await expectRevert([r.relay.interface], r.relay.submitBatch(0, rec, 4, dense, 0), "BadBatch");
    await expectRevert([r.relay.interface], r.relay.submitBatch(0, rec, 2, dense, 0), "BadBatch");
    await expectRevert([r.relay.interface], r.relay.onTaskResult(mainId, "0x", 1, 0), "NotMarket");
  });

  it("a batch nobody solves expires: its reward goes back to the submitter", async () => {
    const submitter = m.signers[4];
    const reward = ETH / 10n;
    const s = await submitBatch(r, 0n, headers.slice(0, 2), { reward, from: submitter });
    await advance(m, r.config.deadlineDelay + 1);
    const rc = await (await m.market.expire(s.taskId)).wait();
    expect(relayEvents(r, rc).map((x: Any) => [x.name, x.args.status])).toEqual([["BatchRejected", 0n]]);
    expect(await r.relay.balanceOf(await submitter.getAddress())).toBe(reward);
    const bal0 = await m.ethers.provider.getBalance(await submitter.getAddress());
    const c = await (await r.relay.connect(submitter).withdraw()).wait();
    const bal1 = await m.ethers.provider.getBalance(await submitter.getAddress());
    expect(bal1 - bal0 + c.gasUsed * c.gasPrice).toBe(reward);
    await expectRevert([r.relay.interface], r.relay.connect(submitter).withdraw(), "NothingToWithdraw");
  });
});

// ---------------------------------------------------------------------------------------------

describe("BtcRelay.verifyTx: the real transactions of block 100,000", () => {
  let m: Market;
  let r: Relay;
  let batch: bigint;
  const hdr = fromHex(B100000.header);
  const txids = B100000.txids.map(hexToHash);

  beforeAll(async () => {
    expect(hashToHex(blockHash(hdr))).toBe(B100000.hash);
    m = await deployMarket();
    r = await deployRelay(m, checkpoint99999(), { confirmations: 1 });
    const s = await submitBatch(r, 0n, [hdr]);
    const { solution } = await solveAndFinalize(r, s);
    expect(solution.result).toMatchObject({ valid: true, height: 100000, tipHash: B100000.hash });
    batch = s.taskId;
  });

  const args = (i: number, over: Partial<Record<string, unknown>> = {}) => {
    const a: Record<string, unknown> = {
      txid: hexlify(txids[i]),
      blockHash: hexlify(blockHash(hdr)),
      txIndex: i,
      txSiblings: merkleBranch(txids, i).map(hexlify),
      header: hdr,
      batchId: batch,
      blockIndex: 0,
      blockSiblings: [],
      ...over,
    };
    return [a.txid, a.blockHash, a.txIndex, a.txSiblings, a.header, a.batchId, a.blockIndex, a.blockSiblings];
  };

  it("proves each of the four transactions (height 100,000, one confirmation)", async () => {
    expect(hexlify(getBytes(hdr).subarray(36, 68))).toBe(hexlify(merkleRoot(txids)));
    for (let i = 0; i < 4; i++) {
      const [height, confs] = await r.relay.verifyTx.staticCall(...args(i));
      expect([height, confs]).toEqual([100000n, 1n]);
    }
  });

  it("rejects a wrong transaction, index, branch, header or block hash", async () => {
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(1, { txIndex: 0 })), "BadTxProof");
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(1, { txIndex: 5 })), "BadTxProof"); // 5 = 0b101: beyond a 2-level branch
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(1, { txid: hexlify(txids[2]) })), "BadTxProof");
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(2, { txSiblings: merkleBranch(txids, 1).map(hexlify) })), "BadTxProof");
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(0, { header: hdr.subarray(0, 79) })), "BadHeader");
    const other = field(hdr, 76, 1);
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(0, { header: other })), "BlockHashMismatch");
    // a header that commits to the txids but was never relayed
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(0, { header: other, blockHash: hexlify(blockHash(other)) })), "BadBlockProof");
  });

  it("needs N confirmations on the best chain", async () => {
    // a second relay on the same market asking for 2 confirmations
    const r2 = await deployRelay(m, checkpoint99999(), { confirmations: 2 });
    const s2 = await submitBatch(r2, 0n, [hdr]);
    await solveAndFinalize(r2, s2);
    await expectRevert([r2.relay.interface], r2.relay.verifyTx.staticCall(...args(0, { batchId: s2.taskId })), "InsufficientConfirmations", [1n, 2n]);
    // the same block relayed again on tip 0: a competing tip with equal work, not the best one
    const s3 = await submitBatch(r, 0n, [hdr]);
    await solveAndFinalize(r, s3);
    expect((await r.relay.bestTip()).id).toBe(batch);
    await expectRevert([r.relay.interface], r.relay.verifyTx.staticCall(...args(0, { batchId: s3.taskId })), "NotOnBestChain", [s3.taskId]);
  });
});

// ---------------------------------------------------------------------------------------------

describe("BtcRelay: a tree of 65 one-header batches (skip pointers, fork choice)", () => {
  it("finds every ancestor, follows the most work, first seen on a tie", async () => {
    const m = await deployMarket();
    const r = await deployRelay(m, cp, { confirmations: 1, window: 10 });
    const parentOf = new Map<bigint, bigint>([[0n, 0n]]);
    const depthOf = new Map<bigint, number>([[0n, 0]]);
    const add = async (parent: bigint, i: number): Promise<bigint> => {
      const s = await submitBatch(r, parent, [headers[i]]);
      await solveAndFinalize(r, s);
      parentOf.set(s.taskId, parent);
      depthOf.set(s.taskId, depthOf.get(parent)! + 1);
      return s.taskId;
    };
    const main: bigint[] = [0n];
    for (let i = 0; i < 40; i++) main.push(await add(main[i], i));
    expect((await r.relay.bestTip()).id).toBe(main[40]);
    // a fork from depth 20 repeating the same blocks: equal work up to depth 40 (main stays best)
    const fork: bigint[] = [main[20]];
    for (let i = 20; i < 40; i++) fork.push(await add(fork.at(-1)!, i));
    expect((await r.relay.bestTip()).id).toBe(main[40]);
    for (let i = 40; i < 45; i++) fork.push(await add(fork.at(-1)!, i));
    expect((await r.relay.bestTip()).id).toBe(fork.at(-1));
    expect((await r.relay.bestTip()).height).toBe(828575n + 45n);

    const ancestor = (id: bigint, d: number): bigint => {
      if (d > depthOf.get(id)!) return 2n ** 64n - 1n;
      while (depthOf.get(id)! > d) id = parentOf.get(id)!;
      return id;
    };
    for (const id of depthOf.keys())
      for (let d = 0; d <= 46; d++) expect(await r.relay.ancestorAt(id, d), `ancestor of ${id} at ${d}`).toBe(ancestor(id, d));
    const best = fork.at(-1)!;
    for (const id of depthOf.keys()) expect(await r.relay.isOnBestChain(id)).toBe(ancestor(best, depthOf.get(id)!) === id);
    // a block of the main chain after the fork point is not on the best chain; the same block of the fork is
    const i = 30;
    await expectRevert([r.relay.interface], r.relay.verifyBlock.staticCall(hexlify(hashes[i]), main[i + 1], 0, []), "NotOnBestChain");
    const [h, confs] = await r.relay.verifyBlock.staticCall(hexlify(hashes[i]), fork[i - 19], 0, []);
    expect([h, confs]).toEqual([BigInt(828576 + i), BigInt(45 - i)]);
  });
});
