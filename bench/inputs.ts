/**
 * Large task inputs (docs/DAPPS.md § Large inputs, § Costs): a 16 MiB input of random bytes uploaded
 * by a plain account in the chunks `truewasm post` chooses (client/inputs.ts planChunks) to the
 * market's InputUploads, then posted with postInput, on the market of `env` (bench/game.ts calls
 * this on its own deployment, after its other figures).
 *
 *   inputGasPerMiB   gas of all the appendInput transactions / 16
 *   maxChunkTxGas    the largest appendInput transaction's gas (target <= 16,777,216, EIP-7825)
 *   postInputGas     the postInput transaction (seals the input: its root from the frontier)
 *   chunks, chunkBytes
 *   floorShare       Σ chunk gas / Σ EIP-7623 calldata floor of the chunks (1: the floor is the cost)
 */
import { readFileSync } from "node:fs";
import { calldataGas } from "../client/txs.js";
import { REPO_ROOT } from "../client/contracts.js";
import { appendInputData, inputUploadsInterface, planChunks } from "../client/inputs.js";
import { limitsStruct } from "../client/encoding.js";
import { DEFAULT_LIMITS } from "../interpreter/isa.js";
import { advance, commit, honestClaim, register, send, type Any, type Env } from "../test/contracts/helpers.js";
import { RealModel, realProgram } from "../test/contracts/model.js";
import { bytes } from "../test/deterministic.js";


export async function benchLargeInput(env: Env, mib = 16): Promise<{ inputGasPerMiB: number; maxChunkTxGas: number } & Record<string, unknown>> {
  const program = realProgram(new Uint8Array(readFileSync(`${REPO_ROOT}wasm-tasks/build/sha256.wasm`)));
  await register(env, program); // any registered program: the task is not run here
  const input = bytes(mib * 1024 * 1024, 99);
  const ends = planChunks(input);
  const market = env.market;
  const iface = inputUploadsInterface();
  const target = { address: await market.inputs(), iface };
  const sender: Any = env.signers[0];
  let inputId = 0n;
  let total = 0n;
  let floors = 0n;
  let max = 0n;
  let start = 0;
  for (const end of ends) {
    const data = appendInputData(target, inputId, input.subarray(start, end));
    const r = await (await sender.sendTransaction({ to: target.address, data, gasLimit: 16_777_216n })).wait();
    if (r.status !== 1) throw new Error("appendInput reverted");
    if (inputId === 0n) inputId = iface.parseLog(r.logs[0])!.args.inputId as bigint;
    total += r.gasUsed;
    floors += calldataGas(data).floor;
    if (r.gasUsed > max) max = r.gasUsed;
    start = end;
  }
  const deadline = (await sender.provider.getBlock("latest")).timestamp + 86_400;
  const limits = limitsStruct({ ...DEFAULT_LIMITS, outputBytes: 64 });
  const post = await (await market.connect(sender).postInput(inputId, program.root, limits, 3600, 10n ** 17n, 10n ** 17n, deadline, { value: 10n ** 16n })).wait();
  return {
    inputBytes: input.length,
    chunks: ends.length,
    chunkBytes: ends[0],
    inputGasPerMiB: Math.round(Number(total) / mib),
    maxChunkTxGas: Number(max),
    postInputGas: Number(post.gasUsed),
    floorShare: Number(total) / Number(floors),
  };
}

/**
 * What the example dapp (contracts/examples/WordCount.sol, docs/DAPPS.md § Costs) pays, on the market
 * of `env`: `count` of a 1 KB text (the contract posts it: its input is logged), the solver's
 * commit and reveal, the finalize that calls the dapp back; a 412 KB chunk uploaded through the
 * contract (logged) and directly by a plain account (calldata only).
 */
export async function benchDappCosts(env: Env): Promise<Record<string, number>> {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(`${tmpdir()}/truewasm-bench-dapp-`);
  try {
    execFileSync(process.execPath, [`${REPO_ROOT}node_modules/assemblyscript/bin/asc.js`, "examples/wordcount/assembly/index.ts", "-O3", "--runtime", "stub", "--outFile", `${dir}/wordcount.wasm`], { cwd: REPO_ROOT, stdio: "pipe" });
    const program = realProgram(new Uint8Array(readFileSync(`${dir}/wordcount.wasm`)));
    await register(env, program);
    const window = 3600;
    const bond = 10n ** 17n;
    const app: Any = await env.ethers.deployContract("WordCount", [await env.market.getAddress(), program.root, window, bond]);
    const user: Any = env.signers[3];
    const text = new TextEncoder().encode("the quick brown fox jumps over the lazy dog\n".repeat(24).slice(0, 1024));
    const posted = await (await app.connect(user).count(text, { value: 10n ** 16n })).wait();
    const ev = posted.logs.map((l: Any) => { try { return env.market.interface.parseLog(l); } catch { return null; } }).find((e: Any) => e?.name === "TaskPosted");
    const limits = { steps: Number(ev.args.limits.steps), memoryPages: 2, callDepth: 1024, stackHeight: 65536, outputBytes: 96 };
    const model = new RealModel(program.program, text, limits);
    const task = { id: ev.args.taskId, program, input: text, terms: { limits, reward: 10n ** 16n, solverBond: bond, challengerBond: bond, window, deadlineIn: 86_400 }, model, initialRoot: ev.args.initialRoot };
    env.gasLog = [];
    await commit(env, task as Any, honestClaim(model), env.signers[1]);
    await advance(env, window + 1);
    const claim = honestClaim(model);
    await send(env, env.market.connect(env.signers[2]).finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
    const [com, rev, fin] = env.gasLog.map(Number);
    env.gasLog = null;
    const counted = await app.counts(task.id);
    if (counted.status !== 1n) throw new Error("benchDappCosts: the callback did not arrive");
    const chunk = bytes(412_000, 5);
    const viaContract = await (await app.connect(user).upload(chunk)).wait();
    const uploads = { address: await env.market.inputs(), iface: inputUploadsInterface() };
    const direct = await (await user.sendTransaction({ to: uploads.address, data: appendInputData(uploads, 0n, chunk), gasLimit: 16_777_216n })).wait();
    return {
      countPost1KB: Number(posted.gasUsed),
      commit: com,
      reveal: rev,
      finalizeWithCallback: fin,
      chunk412KBViaContract: Number(viaContract.gasUsed),
      chunk412KBDirect: Number(direct.gasUsed),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
