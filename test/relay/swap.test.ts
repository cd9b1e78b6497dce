/**
 * relayTx, the raw-transaction library, relayer fees and the dapp that sells ETH for bitcoin
 * (contracts/relay/{BtcRelay,BtcTx,BtcSwap}.sol; docs/RELAY.md), on the real contracts (TaskMarket
 * with the real OneStepProver) and real data: block 413,567 (../shared/fixtures/btc/block413567.raw,
 * 1,557 transactions), relayed as a one-header batch on the checkpoint at 413,566 built from the
 * fixtures (helpers.ts checkpoint413566), by an honest solver.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { hexlify, Interface, type Signer } from "ethers";
import { hashToHex } from "../../wasm-tasks/btc-headers/encoding.js";
import { merkleLevel, merkleBranch, parseTx, txProof, type ParsedBlock } from "../../relayer/bitcoin.js";
import { type Any, ETH, type Market, type Relay, block413567, checkpoint413566, deployMarket, deployRelay, solveAndFinalize, submitBatch } from "./helpers.js";

const FEE = 10n ** 14n; // 0.0001 ETH per proof

/** Asserts that `p` reverts with custom error `name` of one of `ifaces` (and optionally its arguments). */
async function expectRevert(ifaces: Interface[], p: Promise<unknown>, name: string, args?: unknown[]): Promise<void> {
  let err: Any;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (!err) throw new Error(`expected ${name}, but it did not revert`);
  let data: string | undefined;
  for (let x = err; x && !data; x = x.error ?? x.info?.error ?? x.cause) {
    if (typeof x.data === "string" && x.data.startsWith("0x")) data = x.data;
    else if (typeof x.data?.data === "string") data = x.data.data;
    if (x === x.error) break;
  }
  const parsed = data ? ifaces.map((i) => i.parseError(data!)).find((x) => x) : null;
  if (!parsed) throw new Error(`expected ${name}, got ${err.message}`);
  expect(parsed.name).toBe(name);
  if (args) expect([...parsed.args]).toEqual(args);
}

describe("relayTx and BtcSwap: the real transactions of block 413,567", () => {
  let m: Market;
  let r: Relay;
  let swap: Any;
  let harness: Any;
  let block: ParsedBlock;
  let batchId: bigint;
  let relayer: Signer, seller: Signer, buyer: Signer, other: Signer;
  let ifaces: Interface[];
  const offers = new Map<string, bigint>();
  /** Transaction 2: 1.9733 BTC to P2PKH b2dd35…, 2,591.83 BTC to P2PKH 00bf91…. */
  const T = 2;
  const out = (i: number, o: number) => parseTx(block.txs[i]).outputs[o];
  const proof = (i: number) => txProof(block, i, batchId, [block.hash]);
  const relayTx = (raw: Uint8Array, i: number, from: Signer = buyer, fee = FEE) => r.relay.connect(from).relayTx(raw, proof(i), swap.target, { value: fee });

  beforeAll(async () => {
    block = block413567();
    m = await deployMarket();
    [, , , relayer, seller, buyer, other] = m.signers;
    r = await deployRelay(m, checkpoint413566(block.header), { confirmations: 1, maxFee: 10n ** 15n });
    swap = await m.ethers.deployContract("BtcSwap", [r.address]);
    harness = await m.ethers.deployContract("BtcTxHarness");
    ifaces = [r.relay.interface, swap.interface, harness.interface];
    // offers are made while the relay's best tip is 413,566: payments from 413,567 on count
    const offer = async (name: string, script: Uint8Array, minSatoshi: bigint, confirmations = 1, amount = ETH) => {
      const rc = await (await swap.connect(seller).offer(script, minSatoshi, confirmations, ETH / 10n, 3600, { value: amount })).wait();
      offers.set(name, swap.interface.parseLog(rc.logs[0]).args.id);
    };
    await offer("buy", out(T, 0).script, out(T, 0).value); // exactly what transaction 2 pays
    await offer("small", out(3, 1).script, out(3, 1).value + 1n); // one satoshi more than transaction 3 pays
    await offer("deep", out(4, 0).script, 1n, 2); // two confirmations
    await offer("unreserved", out(5, 0).script, 1n);
    await offer("wrong script", Uint8Array.from([0x76, 0xa9, 0x14, ...new Uint8Array(20).fill(7), 0x88, 0xac]), 1n);
    for (const name of ["buy", "small", "deep", "wrong script"]) await (await swap.connect(buyer).reserve(offers.get(name)!, { value: ETH / 10n })).wait();
    // the relayer stores block 413,567 with a fee per proof
    const s = await submitBatch(r, 0n, [block.header], { from: relayer, fee: FEE });
    const { solution } = await solveAndFinalize(r, s);
    expect(solution.result).toMatchObject({ valid: true, height: 413567, tipHash: hashToHex(block.hash) });
    batchId = s.taskId;
  });

  it("the fixture: 1,557 transactions whose txids hash to the header's merkle root", () => {
    expect(block.txs.length).toBe(1557);
    expect(hashToHex(block.hash)).toBe("0000000000000000025aff8be8a55df8f89c77296db6198f272d6577325d4069");
  });

  it("BtcTx reads every output of real transactions as the off-chain parser does; malformed bytes are refused", async () => {
    const sample = [0, 1, 2, 3, 100, 513, 777, 1556, ...block.txs.map((t, i) => [t.length, i]).sort((a, b) => b[0] - a[0]).slice(0, 2).map((x) => x[1])];
    for (const i of sample) {
      const [txid, values, scripts] = await harness.parse(block.txs[i]);
      const tx = parseTx(block.txs[i]);
      expect(txid, `tx ${i}`).toBe(hexlify(block.txids[i]));
      expect([...values]).toEqual(tx.outputs.map((o) => o.value));
      expect([...scripts]).toEqual(tx.outputs.map((o) => hexlify(o.script)));
    }
    const raw = block.txs[T];
    await expectRevert(ifaces, harness.parse(raw.subarray(0, raw.length - 1)), "BadTransaction"); // locktime cut
    await expectRevert(ifaces, harness.parse(Uint8Array.from([...raw, 0])), "BadTransaction"); // a byte after it
    await expectRevert(ifaces, harness.parse(Uint8Array.from([...raw.subarray(0, 4), 0, 1, ...raw.subarray(4)])), "BadTransaction", [4n]); // a segwit marker
    const nonCanonical = Uint8Array.from([...raw.subarray(0, 4), 0xfd, 1, 0, ...raw.subarray(5)]); // input count 1 as 0xfd 0x0001
    await expectRevert(ifaces, harness.parse(nonCanonical), "BadTransaction", [4n]);
  });

  it("verifyTx takes the batch's fee; the fees are the relayer's to withdraw", async () => {
    const p = proof(T);
    const args = [hexlify(block.txids[T]), hexlify(block.hash), p.txIndex, p.txSiblings, p.header, p.batchId, p.blockIndex, p.blockSiblings];
    expect(await r.relay.feeOf(batchId)).toBe(FEE);
    const [height, confs] = await r.relay.verifyTx.staticCall(...args, { value: FEE });
    expect([height, confs]).toEqual([413567n, 1n]);
    await expectRevert(ifaces, r.relay.verifyTx.staticCall(...args), "WrongFee", [FEE]);
    await expectRevert(ifaces, r.relay.verifyTx.staticCall(...args, { value: FEE + 1n }), "WrongFee", [FEE]);
    const before = await r.relay.balanceOf(await relayer.getAddress());
    const rc = await (await r.relay.connect(other).verifyTx(...args, { value: FEE })).wait();
    console.log(`verifyTx gas (1,557-transaction block, 11 siblings; a one-header batch): ${rc.gasUsed}`);
    expect(await r.relay.balanceOf(await relayer.getAddress())).toBe(before + FEE);
    // a submitter cannot set a fee above the relay's maxFee
    await expectRevert(ifaces, submitBatch(r, batchId, [block.header], { fee: 10n ** 15n + 1n }), "FeeTooHigh", [10n ** 15n + 1n, 10n ** 15n]);
  });

  it("a 64-byte inner node of the transaction tree: verifyTx takes it for a txid (the known limit), relayTx refuses it", async () => {
    const level1 = merkleLevel(block.txids, 1);
    const node = level1[3]; // SHA-256d(txid 6 ‖ txid 7)
    const raw64 = Uint8Array.from([...block.txids[6], ...block.txids[7]]);
    const p = { ...proof(0), txIndex: 3, txSiblings: merkleBranch(level1, 3).map(hexlify) };
    const [height] = await r.relay.verifyTx.staticCall(hexlify(node), hexlify(block.hash), p.txIndex, p.txSiblings, p.header, p.batchId, p.blockIndex, p.blockSiblings, { value: FEE });
    expect(height).toBe(413567n);
    await expectRevert(ifaces, r.relay.connect(buyer).relayTx(raw64, p, swap.target, { value: FEE }), "Tx64Bytes");
  });

  it("a real payment buys the offer: the buyer gets the ETH and the deposit back, in one relayTx", async () => {
    const id = offers.get("buy")!;
    const b0 = await m.ethers.provider.getBalance(await buyer.getAddress());
    const rc = await (await relayTx(block.txs[T], T)).wait();
    const fee = (rc.gasUsed as bigint) * (rc.gasPrice as bigint);
    const b1 = await m.ethers.provider.getBalance(await buyer.getAddress());
    expect(b1 - b0).toBe(ETH + ETH / 10n - fee - FEE);
    const sold = rc.logs.map((l: Any) => { try { return swap.interface.parseLog(l); } catch { return null; } }).find((x: Any) => x?.name === "Sold");
    expect([sold.args.id, sold.args.buyer, sold.args.txid, sold.args.height, sold.args.paid]).toEqual([id, await buyer.getAddress(), hexlify(block.txids[T]), 413567n, out(T, 0).value]);
    expect((await swap.offers(id)).state).toBe(2n);
    expect(await swap.used(hexlify(block.txids[T]))).toBe(true);
    console.log(`relayTx gas (the purchase, all-in: proof, fee, BtcSwap, payout): ${rc.gasUsed}`);
  });

  it("the same transaction cannot buy twice", async () => {
    // the seller offers again on the same script: the transaction that bought the first offer
    // cannot buy this one
    const rc = await (await swap.connect(seller).offer(out(T, 0).script, 1n, 1, 0, 3600, { value: ETH })).wait();
    await (await swap.connect(buyer).reserve(swap.interface.parseLog(rc.logs[0]).args.id)).wait();
    await expectRevert(ifaces, relayTx(block.txs[T], T), "TxAlreadyUsed", [hexlify(block.txids[T])]);
  });

  it("refuses too few confirmations, a wrong output script, a smaller amount, a tampered or 64-byte transaction, each by name", async () => {
    await expectRevert(ifaces, relayTx(block.txs[4], 4), "InsufficientConfirmations", [1n, 2n]);
    // transaction 6 pays no open offer's script (the "wrong script" offer waits for a script nobody paid)
    await expectRevert(ifaces, relayTx(block.txs[6], 6), "NoPaymentToOffer");
    await expectRevert(ifaces, relayTx(block.txs[3], 3), "PaymentTooSmall", [out(3, 1).value, out(3, 1).value + 1n]);
    // a tampered transaction: one more satoshi in output 0 of transaction 2; its txid changes
    const tampered = Uint8Array.from(block.txs[T]);
    const o0 = block.txs[T].length - 4 - (8 + 1 + 25) * 2;
    expect(new DataView(tampered.buffer).getBigUint64(o0, true)).toBe(out(T, 0).value);
    new DataView(tampered.buffer).setBigUint64(o0, out(T, 0).value + 1n, true);
    await expectRevert(ifaces, relayTx(tampered, T), "BadTxProof");
    await expectRevert(ifaces, relayTx(Uint8Array.from([...block.txids[0], ...block.txids[1]]), 0), "Tx64Bytes");
    // an unreserved offer, the wrong fee, a direct call
    await expectRevert(ifaces, relayTx(block.txs[5], 5), "NotReserved", [offers.get("unreserved")!]);
    await expectRevert(ifaces, relayTx(block.txs[3], 3, buyer, 0n), "WrongFee", [FEE]);
    await expectRevert(ifaces, swap.connect(buyer).processTransaction(block.txs[T], hexlify(block.txids[T]), 413567), "NotRelay");
  });

  it("a payment mined before the offer was made does not count", async () => {
    const rc = await (await swap.connect(seller).offer(out(7, 0).script, 1n, 1, 0, 3600, { value: ETH })).wait();
    const id = swap.interface.parseLog(rc.logs[0]).args.id;
    expect((await swap.offers(id)).minHeight).toBe(413568n);
    await (await swap.connect(buyer).reserve(id)).wait();
    await expectRevert(ifaces, relayTx(block.txs[7], 7), "PaymentBeforeOffer", [413567n, 413568n]);
  });

  it("reservations: a live one is exclusive, a lapsed one is replaced and its deposit goes to the seller; cancel", async () => {
    const id = offers.get("unreserved")!;
    await (await swap.connect(other).reserve(id, { value: ETH / 10n })).wait();
    await expectRevert(ifaces, swap.connect(buyer).reserve(id, { value: ETH / 10n }), "AlreadyReserved");
    await expectRevert(ifaces, swap.connect(seller).cancel(id), "AlreadyReserved");
    await m.ethers.provider.send("evm_increaseTime", [3601]);
    const s0 = await m.ethers.provider.getBalance(await seller.getAddress());
    await (await swap.connect(buyer).reserve(id, { value: ETH / 10n })).wait();
    expect((await m.ethers.provider.getBalance(await seller.getAddress())) - s0).toBe(ETH / 10n);
    await m.ethers.provider.send("evm_increaseTime", [3601]);
    const rc = await (await swap.connect(seller).cancel(id)).wait();
    expect((await m.ethers.provider.getBalance(await seller.getAddress())) - s0).toBe(ETH / 10n + ETH + ETH / 10n - (rc.gasUsed as bigint) * (rc.gasPrice as bigint));
    await expectRevert(ifaces, swap.connect(seller).cancel(id), "NotOpen", [id]);
  });

  it("the relayer withdraws its fees", async () => {
    const owed = await r.relay.balanceOf(await relayer.getAddress());
    expect(owed).toBe(2n * FEE); // verifyTx once, one purchase (reverted calls paid nothing)
    const b0 = await m.ethers.provider.getBalance(await relayer.getAddress());
    const rc = await (await r.relay.connect(relayer).withdraw()).wait();
    expect((await m.ethers.provider.getBalance(await relayer.getAddress())) - b0).toBe(owed - (rc.gasUsed as bigint) * (rc.gasPrice as bigint));
    await expectRevert(ifaces, r.relay.connect(relayer).withdraw(), "NothingToWithdraw");
  });
});
