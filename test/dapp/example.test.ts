/**
 * docs/DAPPS.md end to end, on the real contracts and prover (in-process Hardhat network) with the
 * node roles as they run in production (solver/, verifier/):
 *
 *   - the guide's example compiles (asc, the guide's command line) and its limits formula holds;
 *   - a dapp built only on ITaskMarket + ITaskCallback (contracts/examples/WordCount.sol on
 *     TaskClient) posts a task, and receives its result in the callback; the same with a text it
 *     uploads in chunks itself (the chunks logged, a contract being the uploader);
 *   - a 16 MiB input posted by a plain account (`postAny`: chunks, every transaction under the 2^24
 *     gas cap, read back by the nodes from the chunks' calldata) is solved by a lying solver and
 *     the honest challenger wins the dispute, which ends on an input read proved on-chain against
 *     the chunked upload's root.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Contract, ContractFactory, getBytes, hexlify, Interface, type FunctionFragment, type Wallet } from "ethers";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { Op } from "../../interpreter/isa.js";
import { Contracts, REPO_ROOT } from "../../client/contracts.js";
import { deploy, type Deployment } from "../../client/index.js";
import { inProcessNetwork, type InProcessNetwork } from "../../client/inprocess.js";
import { postAny } from "../../client/inputs.js";
import { silentLogger } from "../../client/log.js";
import { Store } from "../../client/store.js";
import { compileProgram, DEFAULT_TERMS, ensureRegistered, type CompiledProgram } from "../../client/tasks.js";
import type { Transcript } from "../../client/transcript.js";
import { TX_GAS_CAP, TxManager } from "../../client/txs.js";
import { startSolver } from "../../solver/solver.js";
import { startChallenger } from "../../verifier/challenger.js";

const WINDOW = 60;
const BOND = 10n ** 17n;
const REWARD = 10n ** 16n;

let dir: string;
let net: InProcessNetwork;
let d: Deployment;
let contracts: Contracts;
let wasm: Uint8Array;
let program: CompiledProgram;

/** What wordcount computes, for checking: bytes, words, lines. */
function wc(text: Uint8Array): [bigint, bigint, bigint] {
  let words = 0n;
  let lines = 0n;
  let inWord = false;
  for (const c of text) {
    if (c === 10) lines++;
    const space = c === 32 || (c >= 9 && c <= 13);
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return [BigInt(text.length), words, lines];
}

function words(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const r = (s >>> 16) % 64;
    out[i] = r < 8 ? 32 : r < 10 ? 10 : 97 + (r % 26);
  }
  return out;
}

function artifact(name: string) {
  return JSON.parse(readFileSync(join(REPO_ROOT, `artifacts/contracts/examples/${name}.sol/${name}.json`), "utf8")) as { abi: []; bytecode: string };
}

/** Waits (polling, 20 ms) until `pred` holds; fails after `ms`. */
async function until<T>(what: string, pred: () => Promise<T | null | undefined | false>, ms = 120_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Jumps past the challenge window once the task's solution is revealed (the solver then finalizes). */
async function jumpPastWindow(taskId: bigint): Promise<void> {
  await until("the solution's reveal", async () => (await contracts.market.resultOf(taskId))[1] !== 0n);
  await net.send("evm_increaseTime", [WINDOW + 1]);
  await net.send("evm_mine", []);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "truewasm-dapp-example-"));
  // the guide's command line (docs/DAPPS.md §1)
  execFileSync(process.execPath, [join(REPO_ROOT, "node_modules/assemblyscript/bin/asc.js"), "examples/wordcount/assembly/index.ts", "-O3", "--runtime", "stub", "--outFile", join(dir, "wordcount.wasm")], { cwd: REPO_ROOT, stdio: "pipe" });
  wasm = new Uint8Array(readFileSync(join(dir, "wordcount.wasm")));
  program = compileProgram(wasm);
  net = await inProcessNetwork();
  d = await deploy(net.wallet(0), { clock: 3600 });
  contracts = new Contracts(net.provider, d);
  await ensureRegistered(new TxManager(net.provider, net.wallet(0), null, { contracts, pollMs: 20 }), contracts, program);
}, 120_000);

afterAll(async () => {
  await net?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the interfaces", () => {
  it("every function of ITaskMarket and IInputUploads is the market's or its InputUploads', with the same types", () => {
    const abi = (path: string) => new Interface(JSON.parse(readFileSync(join(REPO_ROOT, "artifacts/contracts", path), "utf8")).abi);
    const pairs: [Interface, Interface][] = [
      [abi("market/ITaskMarket.sol/ITaskMarket.json"), abi("market/TaskMarket.sol/TaskMarket.json")],
      [abi("market/ITaskMarket.sol/IInputUploads.json"), abi("market/InputUploads.sol/InputUploads.json")],
    ];
    // name, parameter types, return types and mutability (names of parameters may differ)
    const shape = (f: FunctionFragment) => `${f.format("sighash")} ${f.stateMutability} returns (${f.outputs.map((o) => o.format("sighash")).join(",")})`;
    for (const [iface, impl] of pairs) {
      const fns: FunctionFragment[] = [];
      iface.forEachFunction((f) => fns.push(f));
      expect(fns.length).toBeGreaterThan(1);
      for (const f of fns) expect(impl.getFunction(f.selector) && shape(impl.getFunction(f.selector)!), f.name).toBe(shape(f));
    }
  });
});

describe("the example program", () => {
  it("counts like wc; WordCount.limitsFor covers its steps", () => {
    const prog = compile(wasm, { imports: "task" });
    for (const text of [new Uint8Array(0), new TextEncoder().encode("hello world\nthis is  a test\n"), words(70_000, 3), new Uint8Array(5000).fill(32), new Uint8Array(5000)]) {
      const m = Machine.forTask(prog, text, {});
      m.run();
      expect(m.halted).toBe(true);
      const out = m.output();
      const [b, w, l] = wc(text);
      expect(hexlify(out)).toBe(hexlify(new Uint8Array([...word(b), ...word(w), ...word(l)])));
      expect(m.steps).toBeLessThanOrEqual(Math.floor(((text.length * 49 + 1500) * 5) / 4) - Math.floor((text.length * 49 + 1500) / 4)); // 49 n + 1,500 before the margin
      expect(m.memoryBytes().length).toBe(2 * 65536);
    }
  });
});

const haveWasiClang = (() => {
  try {
    execFileSync("clang", ["--version"], { stdio: "ignore" });
    return existsSync("/usr/lib/wasm32-wasi/libc.a");
  } catch {
    return false;
  }
})();

describe("the example program in C (WASI)", () => {
  it.skipIf(!haveWasiClang)("compiles with the guide's clang line and counts like the AssemblyScript one", () => {
    execFileSync("clang", ["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "examples/wordcount-c/wordcount.c", "-o", join(dir, "wordcount-c.wasm")], { cwd: REPO_ROOT, stdio: "pipe" });
    const c = compile(new Uint8Array(readFileSync(join(dir, "wordcount-c.wasm"))), { imports: "task" });
    const as = compile(wasm, { imports: "task" });
    for (const text of [new Uint8Array(0), new TextEncoder().encode("hello world\nthis is  a test\n"), words(150_000, 9)]) {
      const m = Machine.forTask(c, text, {});
      m.run();
      const n = Machine.forTask(as, text, {});
      n.run();
      expect([m.halted, hexlify(m.output())]).toEqual([true, hexlify(n.output())]);
    }
  });
});

function word(n: bigint): Uint8Array {
  return getBytes("0x" + n.toString(16).padStart(64, "0"));
}

describe("a dapp on ITaskMarket + ITaskCallback", () => {
  let solver: ReturnType<typeof startSolver>;
  let app: Contract;
  let user: Wallet;

  beforeAll(async () => {
    const a = artifact("WordCount");
    app = (await new ContractFactory(a.abi, a.bytecode, net.wallet(0)).deploy(d.market, program.root, WINDOW, BOND)) as Contract;
    await app.waitForDeployment();
    user = net.wallet(3);
    solver = startSolver({ provider: net.provider, wallet: net.wallet(1), deployment: d, dataDir: join(dir, "solver-a"), pollMs: 20, log: silentLogger });
  });

  afterAll(async () => {
    await solver?.stop();
  });

  it("posts a text and gets its count in the callback", async () => {
    const text = new TextEncoder().encode("the quick brown fox\njumps over the lazy dog\n");
    const tx = await (app.connect(user) as Contract).count(text, { value: REWARD });
    const receipt = await tx.wait();
    const taskId = contracts.marketIface.parseLog(receipt.logs.find((l: { address: string }) => l.address.toLowerCase() === d.market.toLowerCase()))!.args.taskId as bigint;
    await jumpPastWindow(taskId);
    const c = await until("the callback", async () => {
      const c = await app.counts(taskId);
      return c.status !== 0n && c;
    });
    expect([c.status, c.code, c.bytes_, c.words, c.lines]).toEqual([1n, 0n, ...wc(text)]);
    expect((await contracts.market.resultOf(taskId))[0]).toBe(2n); // Finalized
  });

  it("uploads a 1 MB text in chunks itself (logged), then counts it", async () => {
    const text = words(1_000_000, 11);
    const wcUser = app.connect(user) as Contract;
    const chunk = 400_000; // a multiple of 32
    for (let off = 0; off < text.length; off += chunk) {
      const r = await (await wcUser.upload(text.subarray(off, off + chunk))).wait();
      expect(r.gasUsed).toBeLessThanOrEqual(TX_GAS_CAP);
    }
    const receipt = await (await wcUser.countUpload({ value: REWARD })).wait();
    const posted = receipt.logs.map((l: { address: string; topics: string[]; data: string }) => (l.address.toLowerCase() === d.market.toLowerCase() ? contracts.marketIface.parseLog(l) : null)).find((e: { name: string } | null) => e?.name === "TaskPosted");
    const taskId = posted.args.taskId as bigint;
    await jumpPastWindow(taskId);
    const c = await until("the callback", async () => {
      const c = await app.counts(taskId);
      return c.status !== 0n && c;
    });
    expect([c.status, c.bytes_, c.words, c.lines]).toEqual([1n, ...wc(text)]);
  });
});

describe("a 16 MiB input in chunks, disputed", () => {
  it("is solved, and the honest challenger wins a game that ends on an input read", async () => {
    const input = words(16 * 1024 * 1024, 5);
    const prog = compile(wasm, { imports: "task" });
    // the lie starts right after an input read in the upper half of the input: the disputed step
    const m = Machine.forTask(prog, input, {});
    m.run(Math.floor(((input.length * 48) / 4) * 3));
    while (m.code[m.pc << 2] !== Op.InputRead) m.run(1);
    const readStep = BigInt(m.steps);
    const poster = new TxManager(net.provider, net.wallet(4), null, { contracts, pollMs: 20 });
    const limits = { steps: Math.floor(((input.length * 49 + 1500) * 5) / 4), memoryPages: 2, callDepth: 1024, stackHeight: 65536, outputBytes: 96 };
    const posted = await postAny(poster, contracts, net.provider, program.root, input, { ...DEFAULT_TERMS, reward: REWARD, solverBond: BOND, challengerBond: BOND, window: WINDOW, limits });
    expect(posted.upload).not.toBeNull();
    expect(posted.upload!.chunks).toBeGreaterThan(30);
    expect(posted.upload!.maxTxGas).toBeLessThanOrEqual(TX_GAS_CAP);
    const common = { provider: net.provider, deployment: d, pollMs: 20, log: silentLogger };
    const solver = startSolver({ ...common, wallet: net.wallet(5), dataDir: join(dir, "solver-b"), lieFromStep: readStep + 1n });
    const challenger = startChallenger({ ...common, wallet: net.wallet(6), dataDir: join(dir, "challenger-b") });
    try {
      const store = new Store(join(dir, "challenger-b"));
      const transcript = await until("the game's transcript", async () => store.get<Transcript>("transcripts", "game-1"), 600_000);
      expect("aborted" in transcript.outcome).toBe(false);
      expect((transcript.outcome as { solverWon: boolean }).solverWon).toBe(false);
      const proof = transcript.moves[transcript.moves.length - 1];
      expect(proof.kind).toBe("proveStep");
      expect(BigInt((proof as { lo: string }).lo)).toBe(readStep);
      // the task is solved after all: the solver commits the true count once its lie is defeated
      await jumpPastWindow(posted.taskId);
      const result = await until("the result", async () => {
        const r = await contracts.market.resultOf(posted.taskId);
        return r[0] === 2n && r;
      });
      expect(result[1]).toBe(1n);
    } finally {
      await challenger.stop();
      await solver.stop();
    }
  }, 900_000);
});
