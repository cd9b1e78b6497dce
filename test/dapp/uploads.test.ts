/**
 * Chunked input uploads from the client's side (client/inputs.ts) against InputUploads (deployed
 * alone, a test wallet playing the market): the chunk plan keeps every transaction under the 2^24 gas cap, the
 * sealed root is the input root of docs/STATE.md, and the bytes read back from the chain (calldata
 * of plain-account uploads) are the input.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContractFactory, hexlify, Interface, type Contract } from "ethers";
import { inputRoot } from "../../interpreter/state.js";
import { REPO_ROOT } from "../../client/contracts.js";
import { inProcessNetwork, type InProcessNetwork } from "../../client/inprocess.js";
import { appendInputData, CHUNK_MAX_BYTES, parseAppendInput, planChunks, uploadedInput, uploadInput, type UploadTarget } from "../../client/inputs.js";
import { calldataGas, TX_GAS_CAP, TxManager } from "../../client/txs.js";
import { byteSource } from "../deterministic.js";

const rnd = byteSource(0x13579bd);

let net: InProcessNetwork;
let harness: Contract;
let target: UploadTarget;

beforeAll(async () => {
  net = await inProcessNetwork();
  // deployed by wallet 0, which plays the market (the only caller of `use`)
  const a = JSON.parse(readFileSync(join(REPO_ROOT, "artifacts/contracts/market/InputUploads.sol/InputUploads.json"), "utf8"));
  harness = (await new ContractFactory(a.abi, a.bytecode, net.wallet(0)).deploy()) as Contract;
  await harness.waitForDeployment();
  target = { address: await harness.getAddress(), iface: new Interface(a.abi) };
});

afterAll(async () => {
  await net?.close();
});

describe("chunk plan", () => {
  it("every appendInput stays under the cap; chunks are multiples of 32 but the last", () => {
    for (const input of [rnd(1_000_000), new Uint8Array(2_000_000), rnd(100)]) {
      const ends = planChunks(input);
      let start = 0;
      for (const [i, end] of ends.entries()) {
        if (i < ends.length - 1) expect((end - start) % 32).toBe(0);
        expect(end - start).toBeLessThanOrEqual(CHUNK_MAX_BYTES);
        const data = target.iface.encodeFunctionData("appendInput", [12345n, input.subarray(start, end)]);
        expect(calldataGas(data).floor).toBeLessThan(TX_GAS_CAP);
        start = end;
      }
      expect(start).toBe(input.length);
    }
    expect(planChunks(rnd(1_000_000)).length).toBe(3); // ~412 KB of random bytes a chunk
    expect(planChunks(new Uint8Array(2_000_000)).length).toBe(4); // zeros: 512 KiB a chunk
  });
});

describe("upload, seal, read back", () => {
  it("a 1.2 MB input in 3 transactions; root and bytes as one post would have them", async () => {
    const input = rnd(1_200_001);
    const txs = new TxManager(net.provider, net.wallet(1), null, { pollMs: 20 });
    const up = await uploadInput(txs, target, input);
    expect(up.chunks).toBe(3);
    expect(up.maxTxGas).toBeLessThanOrEqual(TX_GAS_CAP);
    const [owner, length, sealedBefore] = await harness.inputOf(up.inputId);
    expect(owner).toBe(net.wallet(1).address);
    expect([Number(length), sealedBefore]).toEqual([input.length, false]);
    const [root] = await harness.use.staticCall(up.inputId, net.wallet(1).address, 1n);
    expect(root).toBe(hexlify(inputRoot(input)));
    const back = await uploadedInput(net.provider, target, up.inputId, 0, input.length);
    expect(hexlify(back)).toBe(hexlify(input));
  });

  it("only the owner appends and seals; nothing is appended after the seal; anyone uses a sealed input", async () => {
    const input = rnd(64);
    const txs = new TxManager(net.provider, net.wallet(2), null, { pollMs: 20 });
    const up = await uploadInput(txs, target, input);
    const as = (i: number) => harness.connect(net.wallet(i)) as Contract;
    const owner = net.wallet(2).address;
    const other = net.wallet(3).address;
    await expect(reverts(as(3).appendInput.staticCall(up.inputId, rnd(32)))).resolves.toBe("NotInputOwner");
    await expect(reverts(as(0).use.staticCall(up.inputId, other, 1n))).resolves.toBe("NotInputOwner");
    await expect(reverts(as(3).use.staticCall(up.inputId, owner, 1n))).resolves.toBe("NotMarket");
    await expect(reverts(as(0).use.staticCall(99n, owner, 1n))).resolves.toBe("UnknownInput");
    await (await as(0).use(up.inputId, owner, 1n)).wait();
    await expect(reverts(as(2).appendInput.staticCall(up.inputId, rnd(32)))).resolves.toBe("InputAlreadySealed");
    // sealed: anyone may use it
    const [root, length] = await as(0).use.staticCall(up.inputId, other, 2n);
    expect([root, Number(length)]).toEqual([hexlify(inputRoot(input)), 64]);
  });

  it("calldata built on Buffers equals ethers' encoding, and decodes back", () => {
    const chunk = rnd(1000);
    const data = appendInputData(target, 7n, chunk);
    expect(data).toBe(target.iface.encodeFunctionData("appendInput", [7n, chunk]));
    expect(parseAppendInput(target, data)).toEqual({ inputId: 7n, chunk });
    expect(parseAppendInput(target, target.iface.encodeFunctionData("inputOf", [7n]))).toBeNull();
  });
});

/** The custom error a call reverts with. */
async function reverts(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    const data = (e as { data?: string }).data;
    return data ? (target.iface.parseError(data)?.name ?? data) : String(e);
  }
}
