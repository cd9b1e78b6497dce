/**
 * contracts/state (Merkle, TaskState) and the market's roots against the TypeScript state
 * commitment (interpreter/state.ts) on real task programs: zero hashes, byte trees, input roots,
 * program roots, initial state roots, final-state openings and output roots must agree exactly.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { hexlify } from "ethers";
import { DEFAULT_LIMITS, type Limits } from "../../interpreter/isa.js";
import { Machine } from "../../interpreter/machine.js";
import {
  Z,
  depthOf,
  descriptorBytes,
  initialStateRoot,
  inputRoot,
  outputDepth,
  stateComponents,
  stateRoot,
  treeRoot,
} from "../../interpreter/state.js";
import { BUILD_DIR } from "../../wasm-tasks/native.js";
import { EXIT_PROGRAM } from "../state/programs.js";
import { taskFromWat } from "../state/util.js";
import { descriptorStruct, limitsStruct, openingOfComponents, realProgram, toyProgram, ToyModel } from "./model.js";
import { commit, commitHash, deploy, expectError, honestClaim, network, newSalt, postTask, register, reveal, send, terms, type Any, type Env } from "./helpers.js";
import { byteSource } from "../deterministic.js";

const rnd = byteSource(0x1234567);

const wasmOf = (name: string) => new Uint8Array(readFileSync(resolve(BUILD_DIR, `${name}.wasm`)));

/** Real tasks with inputs that exercise halting, trapping and empty/long inputs. */
const CASES: { name: string; input: Uint8Array; limits?: Partial<Limits> }[] = [
  { name: "echo", input: new Uint8Array(0) },
  { name: "echo", input: rnd(1) },
  { name: "echo", input: rnd(33) },
  { name: "echo", input: rnd(1000), limits: { outputBytes: 1000 } },
  { name: "sort", input: rnd(257) },
  { name: "trap", input: Uint8Array.of(0) },
  { name: "trap", input: Uint8Array.of(1) },
  { name: "trap", input: Uint8Array.of(4) },
  { name: "trap", input: Uint8Array.of(6), limits: { callDepth: 50 } },
  { name: "bigint", input: rnd(64) },
  { name: "sha256d", input: rnd(100) },
  { name: "echo", input: rnd(40), limits: { outputBytes: 8 } }, // output limit trap
  { name: "sort", input: rnd(64), limits: { steps: 500 } }, // step limit trap
  { name: "echo", input: rnd(5), limits: { memoryPages: 7, stackHeight: 1000, outputBytes: 33 } },
];

let env: Env;
let harness: Any;

beforeAll(async () => {
  env = await deploy();
  const { ethers } = await network();
  harness = await ethers.deployContract("StateHarness");
});

describe("Merkle", () => {
  it("zero hashes are state.ts's Z[0..32]", async () => {
    for (let h = 0; h <= 32; h++) expect(await harness.zero(h)).toBe(hexlify(Z[h]));
    await expectError({ ...env, market: harness } as Env, harness.zero(33), "TreeTooSmall");
  });

  it("node and depthOf", async () => {
    expect(await harness.node(hexlify(Z[3]), hexlify(Z[3]))).toBe(hexlify(Z[4]));
    for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 1023, 1024, 1025, 2 ** 31, 2 ** 31 + 1, 2 ** 32]) expect(Number(await harness.depthOf(n))).toBe(depthOf(n));
  });

  it("bytesRoot equals the TypeScript tree at every length and depth", async () => {
    const lengths = [0, 1, 31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129, 200, 255, 256, 257, 511, 1000, 1024, 1025, 4103];
    for (const len of lengths) {
      const data = rnd(len);
      const min = depthOf(Math.ceil(len / 32));
      for (const d of [min, min + 1, min + 3, 32]) expect(await harness.bytesRoot(data, d), `len ${len} depth ${d}`).toBe(hexlify(treeRoot(data, d)));
      if (min > 0) await expectError({ ...env, market: harness } as Env, harness.bytesRoot(data, min - 1), "TreeTooSmall");
    }
  });

  it("input roots equal state.ts inputRoot", async () => {
    for (const len of [0, 1, 32, 33, 64, 100, 1024, 3000]) {
      const data = rnd(len);
      expect(await harness.inputRoot(data)).toBe(hexlify(inputRoot(data)));
    }
  });

  it("the input root of 1 KB costs little gas", async () => {
    const [, gas] = await harness.inputRootGas(rnd(1024));
    expect(Number(gas)).toBeLessThan(8000);
  });
});

describe("TaskState on real programs", () => {
  it("program roots and initial state roots equal the TypeScript ones and the machine's", async () => {
    for (const c of CASES) {
      const p = realProgram(wasmOf(c.name));
      const limits: Limits = { ...DEFAULT_LIMITS, ...(c.limits ?? {}) };
      expect(await harness.programRoot(descriptorStruct(p.descriptor)), c.name).toBe(p.root);
      const ts = hexlify(initialStateRoot(p.descriptor, c.input, limits));
      expect(hexlify(stateRoot(Machine.forTask(p.program, c.input, limits))), `${c.name}: TS initial root vs machine`).toBe(ts);
      expect(await harness.initialStateRoot(descriptorStruct(p.descriptor), c.input, limitsStruct(limits)), c.name).toBe(ts);
    }
  });

  it("final-state openings hash to the machine's root and reveal its fields", async () => {
    const exitProgram = await taskFromWat(EXIT_PROGRAM.wat);
    for (const c of [...CASES, { name: "exit", input: new Uint8Array(0), limits: EXIT_PROGRAM.limits }]) {
      const limits: Limits = { ...DEFAULT_LIMITS, ...(c.limits ?? {}) };
      const m = Machine.forTask(c.name === "exit" ? exitProgram : realProgram(wasmOf(c.name)).program, c.input, limits);
      m.run();
      const comps = stateComponents(m);
      const f = await harness.open(openingOfComponents(comps));
      expect(f.root, c.name).toBe(hexlify(stateRoot(m)));
      expect(Number(f.status)).toBe(m.status);
      expect(Number(f.trap)).toBe(m.trap);
      expect(Number(f.exitCode)).toBe(m.exitCode);
      expect(f.steps).toBe(BigInt(m.steps));
      expect(f.stepLimit).toBe(BigInt(limits.steps));
      expect(Number(f.outLen)).toBe(m.outLen);
      expect(Number(f.outputLimit)).toBe(limits.outputBytes);
      expect(f.outputRoot).toBe(hexlify(comps.outputRoot));
      // the output tree (fixed depth from the output limit) over the written bytes
      expect(await harness.bytesRoot(m.out.slice(0, m.outLen), outputDepth(limits.outputBytes))).toBe(hexlify(comps.outputRoot));
    }
  });

  it("the exit code of Exit is in the final state", async () => {
    const m = Machine.forTask(await taskFromWat(EXIT_PROGRAM.wat), new Uint8Array(0), EXIT_PROGRAM.limits);
    m.run();
    const f = await harness.open(openingOfComponents(stateComponents(m)));
    expect([Number(f.status), Number(f.exitCode)]).toEqual([1, 0xfffffffd]);
  });

  it("rejects step limits that do not fit regs (u48, the trapping step included)", async () => {
    const p = realProgram(wasmOf("echo"));
    const at = (steps: number) => harness.initialStateRoot(descriptorStruct(p.descriptor), "0x", limitsStruct({ ...DEFAULT_LIMITS, steps }));
    expect(await at(2 ** 48 - 2)).toBe(hexlify(initialStateRoot(p.descriptor, new Uint8Array(0), { steps: 2 ** 48 - 2 })));
    await expectError({ ...env, market: harness } as Env, at(2 ** 48 - 1), "StepLimitTooLarge");
  });

  it("rejects openings of the wrong length", async () => {
    await expectError({ ...env, market: harness } as Env, harness.open(new Uint8Array(347)), "BadOpening");
    await expectError({ ...env, market: harness } as Env, harness.open(new Uint8Array(349)), "BadOpening");
  });
});

describe("the market on real programs", () => {
  it("registers, posts and accepts the honest final state of every case", async () => {
    const solver = env.signers[1];
    for (const c of CASES) {
      const p = realProgram(wasmOf(c.name));
      await register(env, p);
      expect(await env.market.isRegistered(p.root)).toBe(true);
      expect(await env.market.descriptorOf(p.root)).toBe(hexlify(descriptorBytes(p.descriptor)));
      const tt = terms({ limits: { ...DEFAULT_LIMITS, ...(c.limits ?? {}) } });
      // the real model (not the toy backend) for the commitment
      const { RealModel } = await import("./model.js");
      const task = await postTask(env, p, c.input, tt);
      const model = new RealModel(p.program, c.input, tt.limits);
      expect(task.initialRoot, c.name).toBe(hexlify(initialStateRoot(p.descriptor, c.input, tt.limits)));
      const claim = honestClaim(model);
      const r = await commit(env, task, claim, solver);
      const ev = r.logs.map((l: Any) => env.market.interface.parseLog(l)).find((x: Any) => x?.name === "Revealed");
      const m = Machine.forTask(p.program, c.input, tt.limits);
      m.run();
      expect(Number(ev.args.status)).toBe(m.status);
      expect([Number(ev.args.exitCode), Number(ev.args.trap)]).toEqual(m.halted ? [m.exitCode, 0] : [0, m.trap]);
      expect(ev.args.output).toBe(m.halted ? hexlify(m.output()) : "0x");
    }
  });

  it("refuses an output that is not the final state's", async () => {
    const p = realProgram(wasmOf("echo"));
    await register(env, p);
    const input = rnd(70);
    const tt = terms();
    const task = await postTask(env, p, input, tt);
    const { RealModel } = await import("./model.js");
    const claim = honestClaim(new RealModel(p.program, input, tt.limits));
    const bad = new Uint8Array(Buffer.from(claim.output.slice(2), "hex"));
    bad[69] ^= 1;
    const salt = newSalt();
    await commitHash(env, task, claim, env.signers[1], salt);
    await expectError(env, reveal(env, task, { ...claim, output: hexlify(bad) }, env.signers[1], salt), "OutputMismatch");
    await expectError(env, reveal(env, task, { ...claim, output: hexlify(bad.subarray(0, 69)) }, env.signers[1], salt), "OutputMismatch");
  });

  it("the toy model's initial state is the market's", async () => {
    const p = toyProgram(1000n);
    await register(env, p);
    const input = rnd(77);
    const tt = terms();
    const task = await postTask(env, p, input, tt);
    expect(task.initialRoot).toBe(new ToyModel(p, input, tt.limits).rootAt(0n));
    expect(task.initialRoot).toBe(hexlify(initialStateRoot(p.descriptor, input, tt.limits)));
  });

  it("the toy prover steps like the TypeScript toy model", async () => {
    const toy = await (await network()).ethers.deployContract("ToyProver");
    for (const [len, limits] of [
      [5n, {}],
      [3n, { outputBytes: 16 }],
      [10n, { steps: 4 }],
      [0n, { steps: 3 }],
      [4n, { outputBytes: 100 }],
    ] as [bigint, Partial<Limits>][]) {
      const p = toyProgram(len);
      const l: Limits = { ...DEFAULT_LIMITS, outputBytes: 64, ...limits };
      const m = new ToyModel(p, rnd(10), l);
      for (let t = 0n; t <= m.steps + 1n; t++) expect(await toy.step(m.rootAt(t), m.witnessAt(t)), `len ${len} t ${t}`).toBe(m.rootAt(t + 1n));
    }
  });

  void send;
});
