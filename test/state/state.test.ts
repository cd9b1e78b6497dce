/**
 * State commitment and one-step witnesses (docs/STATE.md): for every step checked,
 * verifyStep(root(before), witness(before)) == root(after); corrupted witnesses are rejected; a
 * step on a terminal state keeps the root; roots agree with an independent naive implementation
 * (and the memory tree with merkletreejs).
 *
 * Scale with env vars: STATE_RANDOM_SEEDS (random programs, default 6), STATE_SHA_STEPS (sha256d
 * steps checked from the start, default 20000).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import keccakNpm from "keccak256";
import { MerkleTree } from "merkletreejs";
import { describe, expect, test } from "vitest";
import { compile } from "../../interpreter/lower.js";
import { instantiate, RefStore } from "../../interpreter/instance.js";
import { Machine } from "../../interpreter/machine.js";
import { Op, Status } from "../../interpreter/isa.js";
import { PAGE_BYTES } from "../../interpreter/runtime.js";
import type { Program } from "../../interpreter/program.js";
import {
  initialStateRoot,
  inputCopyRun,
  inputRoot,
  memDepth,
  memoryRoot,
  programDescriptor,
  programRoot,
  rootsAtSteps,
  stateComponents,
  stateRoot,
  tracker,
} from "../../interpreter/state.js";
import { witness } from "../../interpreter/witness.js";
import { POPS, verifyStep, WitnessError } from "../../interpreter/verify.js";
import { generateModule, argSets } from "../differential/generator.js";
import { ALL_PROGRAMS } from "./programs.js";
import { checkSteps, checkTask, hexOf, naiveStateRoot, opName, taskFromWat } from "./util.js";

const BUILD = join(import.meta.dirname, "../../wasm-tasks/build");
const loadTask = (name: string): Program | null => {
  const p = join(BUILD, `${name}.wasm`);
  return existsSync(p) ? compile(new Uint8Array(readFileSync(p))) : null;
};
const RANDOM_SEEDS = Number(process.env.STATE_RANDOM_SEEDS ?? 6);
const SHA_STEPS = Number(process.env.STATE_SHA_STEPS ?? 20000);

// ------------------------------------------------------------------------------------------------

describe("hand-written programs: every lowered opcode, edge operands, traps, limits", () => {
  const covered = new Set<number>();
  for (const p of ALL_PROGRAMS) {
    test(p.name, async () => {
      const prog = await taskFromWat(p.wat);
      const r = checkTask(prog, p.input ?? new Uint8Array(0), p.limits ?? {}, { mutateEvery: 5, naiveEvery: 40 });
      for (const op of r.ops.keys()) covered.add(op);
      if (p.expect === "halt") {
        expect(r.m.status).toBe(Status.Halted);
        expect(r.m.exitCode).toBe(p.exitCode ?? 0);
      } else {
        expect(r.m.status).toBe(Status.Trapped);
        expect(r.m.trap).toBe(p.expect);
      }
    });
  }
  test("cover every provable opcode", () => {
    const missing: string[] = [];
    for (let op = 0; op < 256; op++) if (POPS[op] >= 0 && !covered.has(op)) missing.push(opName(op));
    expect(missing).toEqual([]);
  });
});

describe("random programs (differential generator, embedding machine)", () => {
  for (let seed = 1; seed <= RANDOM_SEEDS; seed++) {
    test(`seed ${seed}`, () => {
      const g = generateModule(seed);
      const p = compile(g.bytes, { imports: "embed" });
      const inst = instantiate(p, undefined, {}, new RefStore()); // functions numbered f + 1, as in a task
      const m = new Machine(p, inst.env);
      let steps = 0;
      for (const fn of g.funcs) {
        for (const args of argSets(seed, fn, 2)) {
          const f = p.funcs[fn.index];
          const type = p.types[f.typeIndex];
          // i32 arguments zero-extended: the canonical slot form (isa.ts)
          m.reset(f.stub, type.params.map((t, i) => (t === "i32" ? BigInt.asUintN(32, args[i]) : BigInt.asUintN(64, args[i]))));
          steps += checkSteps(m, { maxSteps: 2500, mutateEvery: 60, naiveEvery: 500, seed }).steps;
        }
      }
      expect(steps).toBeGreaterThan(0);
    });
  }
});

// ------------------------------------------------------------------------------------------------

const TASK_INPUTS: Record<string, Uint8Array[]> = {
  echo: [new Uint8Array(0), Uint8Array.from({ length: 77 }, (_, i) => i * 13)],
  sort: [new Uint8Array(new Uint32Array([9, 3, 7, 1, 0xffffffff, 5, 3, 2, 8, 6, 4, 0, 11, 10]).buffer)],
  bigint: [Uint8Array.from({ length: 48 }, (_, i) => (i * 29 + 7) & 0xff)],
  trap: Array.from({ length: 14 }, (_, k) => Uint8Array.of(k, 1, 2, 3)),
};

describe("task programs: every step", () => {
  for (const [name, inputs] of Object.entries(TASK_INPUTS)) {
    const prog = loadTask(name);
    test.skipIf(!prog)(name, () => {
      inputs.forEach((input, i) => {
        const r = checkTask(prog!, input, {}, { mutateEvery: 97, naiveEvery: 1500, seed: i + 1 });
        expect(r.m.status).not.toBe(Status.Running);
      });
    });
  }

  const sha = loadTask("sha256d");
  test.skipIf(!sha)(`sha256d: the first ${SHA_STEPS} steps, then samples`, () => {
    const input = Uint8Array.from({ length: 80 * 40 }, (_, i) => (i * 7 + 3) & 0xff);
    const m = Machine.forTask(sha!, input);
    checkSteps(m, { maxSteps: SHA_STEPS, mutateEvery: 499, naiveEvery: 5000 });
    for (let s = 0; s < 6; s++) {
      m.run(97_531);
      checkSteps(m, { maxSteps: 300, mutateEvery: 101, seed: s });
      expect(hexOf(naiveStateRoot(m))).toBe(hexOf(stateRoot(m)));
    }
  });

  const btc = loadTask("btc-headers");
  test.skipIf(!btc)("btc-headers: the first 20000 steps, then samples", async () => {
    const { encodeInput, splitHeaders } = await import("../../wasm-tasks/btc-headers/encoding.js");
    const fx = join(import.meta.dirname, "../../wasm-tasks/btc-headers/fixtures");
    const cp = JSON.parse(readFileSync(join(fx, "checkpoint_828575.json"), "utf8"));
    const headers = splitHeaders(new Uint8Array(readFileSync(join(fx, "mainnet_828576_830591.bin")))).slice(0, 40);
    const m = Machine.forTask(btc!, encodeInput(cp, headers));
    checkSteps(m, { maxSteps: 20000, mutateEvery: 499, naiveEvery: 10000 });
    for (let s = 0; s < 6 && m.status === Status.Running; s++) {
      m.run(123_457);
      checkSteps(m, { maxSteps: 300, mutateEvery: 101, seed: s });
    }
  });
});

// ------------------------------------------------------------------------------------------------

describe("roots", () => {
  const sort = loadTask("sort"), sha = loadTask("sha256d");

  test("memory root equals merkletreejs over the same leaves", async () => {
    const prog = await taskFromWat(ALL_PROGRAMS.find((p) => p.name === "memory.copy and memory.fill")!.wat);
    const m = Machine.forTask(prog, new Uint8Array(0));
    m.run(20);
    const root0 = hexOf(memoryRoot(m)); // tracked incrementally from here
    m.run();
    const mem = m.memoryBytes();
    const leaves: Buffer[] = [];
    for (let i = 0; i < mem.length; i += 32) leaves.push(Buffer.from(mem.subarray(i, i + 32)));
    const node = (data: Buffer) => keccakNpm(Buffer.concat([Buffer.of(1), data]));
    const tree = new MerkleTree(leaves, node, { hashLeaves: false, sortPairs: false });
    expect(hexOf(memoryRoot(m))).toBe("0x" + tree.getRoot().toString("hex"));
    expect(hexOf(memoryRoot(m))).not.toBe(root0);
  });

  test("initial state root from the program descriptor equals the machine's", () => {
    for (const name of ["echo", "sort", "sha256d", "btc-headers"]) {
      const prog = loadTask(name);
      if (!prog) continue;
      const input = Uint8Array.from({ length: 100 }, (_, i) => i);
      const limits = { steps: 1e9, outputBytes: 4096, memoryPages: 64, callDepth: 500, stackHeight: 5000 };
      const d = programDescriptor(prog);
      expect(hexOf(initialStateRoot(d, input, limits))).toBe(hexOf(stateRoot(Machine.forTask(prog, input, limits))));
      expect(hexOf(programRoot(prog))).toBe(hexOf(programRoot(d)));
    }
  });

  test.skipIf(!sort)("rootsAtSteps: same roots as stepping, any order, past the end; snapshots restore to the same root", () => {
    const prog = sort!;
    const input = new Uint8Array(new Uint32Array([5, 4, 3, 2, 1, 9, 8, 7]).buffer);
    const m = Machine.forTask(prog, input);
    const byStep: string[] = [hexOf(stateRoot(m))];
    while (m.status === Status.Running) {
      m.step();
      byStep.push(hexOf(stateRoot(m)));
    }
    const end = byStep.length - 1;
    const want = [end + 5, 0, 17, end, 17, 1, Math.floor(end / 2), end - 1, 1e6];
    const r = rootsAtSteps(prog, input, {}, want, { snapshots: true });
    want.forEach((s, i) => {
      expect(hexOf(r.roots[i])).toBe(byStep[Math.min(s, end)]);
      expect(hexOf(stateRoot(Machine.restore(r.snapshots![i])))).toBe(byStep[Math.min(s, end)]);
    });
    expect(rootsAtSteps(prog, input, {}, [3, 2]).map(hexOf)).toEqual([byStep[3], byStep[2]]);
  });

  test.skipIf(!sha)("the tracker's incremental roots match fresh machines restored from snapshots", () => {
    const prog = sha!;
    const m = Machine.forTask(prog, new Uint8Array(80 * 3).fill(7));
    for (let i = 0; i < 8; i++) {
      m.run(2345 + i * 1000);
      const fresh = Machine.restore(m.snapshot());
      expect(hexOf(stateRoot(m))).toBe(hexOf(stateRoot(fresh)));
    }
  });

  test("roots after full-speed runs (compiled tier, in chunks) equal the naive roots", async () => {
    for (const p of ALL_PROGRAMS.filter((q) => !q.name.startsWith("bin ") && !q.name.startsWith("un "))) {
      const m = Machine.forTask(await taskFromWat(p.wat), p.input ?? new Uint8Array(0), p.limits ?? {});
      stateRoot(m); // the tracker then follows the machine incrementally
      while (m.status === Status.Running) {
        m.run(13);
        expect(hexOf(stateRoot(m)), `${p.name} at step ${m.steps}`).toBe(hexOf(naiveStateRoot(m)));
      }
    }
  });

  test.skipIf(!sha || !sort)("the input root read off the task's copy of its input: readInput's copy, a copy sorted in place, a false hint", () => {
    const words = (n: number) => new Uint8Array(Uint32Array.from({ length: n }, (_, i) => (i * 2654435761) >>> 0).buffer);
    const cases = [
      { name: "sha256d", prog: sha!, input: words(20 * 400), after: 5000 }, // the copy stays as read
      { name: "sort", prog: sort!, input: words(3000), after: 10 ** 9 }, // sorted: no longer the input
    ];
    for (const c of cases) {
      const m = Machine.forTask(c.prog, c.input);
      while (m.inputCopyEnds.length === 0 && m.status === Status.Running) m.run(1000);
      m.run(c.after);
      const hint = m.inputCopyEnds.slice();
      expect(hint.length, c.name).toBe(2);
      const run = inputCopyRun(m.memoryBytes(), c.input, hint, memDepth(m.memoryBytes().length / PAGE_BYTES));
      if (c.name === "sha256d") {
        // readInput aligns the copy to 2 KiB: subtrees of 64 leaves, all but a partial last one shared
        expect(run && run.height >= 6 && run.n * 32 * 2 ** run.height, c.name).toBeGreaterThanOrEqual(c.input.length - 2048);
      } else expect(run === null || run.n * 32 * 2 ** run.height < c.input.length / 2, c.name).toBe(true);
      expect(hexOf(stateRoot(m)), c.name).toBe(hexOf(naiveStateRoot(m)));
      expect(hexOf(stateComponents(m).inputRoot), c.name).toBe(hexOf(inputRoot(c.input.slice())));
    }
    // a hint that points at bytes unequal to the input (or outside it) changes nothing
    const input = words(2048);
    const m = Machine.forTask(sha!, input);
    m.inputCopyEnds.push(32 * 1024, 0, 65536, 8192, 3, 1);
    expect(inputCopyRun(m.memoryBytes(), input, m.inputCopyEnds, memDepth(m.memoryBytes().length / PAGE_BYTES))).toBe(null);
    expect(hexOf(stateRoot(m))).toBe(hexOf(naiveStateRoot(m)));
  });

  test("a step on a halted or trapped state keeps the root", async () => {
    const halted = await taskFromWat(`(module (memory 1) (func (export "main")))`);
    const trapped = await taskFromWat(`(module (memory 1) (func (export "main") unreachable))`);
    for (const prog of [halted, trapped]) {
      const m = Machine.forTask(prog, new Uint8Array(0));
      m.run();
      expect(m.status).not.toBe(Status.Running);
      const r = stateRoot(m);
      for (let i = 0; i < 3; i++) {
        const w = witness(m);
        m.step();
        expect(hexOf(verifyStep(r, w))).toBe(hexOf(r));
        expect(hexOf(stateRoot(m))).toBe(hexOf(r));
      }
    }
  });

  test("embedding-only steps have no witness", async () => {
    const bytes = (await import("./util.js")).wat2wasm(`(module (import "m" "f" (func $f)) (func (export "g") (call $f)))`);
    const p = compile(await bytes, { imports: "embed" });
    const inst = instantiate(p, () => ({ type: { params: [], results: [] }, call: () => [] }));
    const m = new Machine(p, inst.env);
    const g = p.funcs[1];
    m.reset(g.stub);
    m.step(); // Call g
    expect(p.code[m.pc * 4]).toBe(Op.CallHost);
    expect(() => witness(m)).toThrow(WitnessError);
    void tracker;
  });
});
