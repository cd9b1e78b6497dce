/**
 * The on-chain one-step prover (contracts/prover/) against the TypeScript reference verifier and
 * machine: constants, the committed step vectors (and mutated witnesses), and every step of the
 * hand-written edge-case programs of test/state/programs.ts.
 * Random programs and states: prover-props.test.ts. Whole task runs: prover-tasks.test.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { concat, id, keccak256 } from "ethers";
import { Machine } from "../../interpreter/machine.js";
import { ALL_PROGRAMS } from "../state/programs.js";
import { memOpWord, opInfoWords } from "./prover-tables.js";
import { expectProven, expectSameAsVerify, mutations, proveMany, taskFromWat, traceSteps, tsOutcome, unhex, type StepCase } from "./prover-helpers.js";

const BASE = readFileSync("contracts/prover/ProverBase.sol", "utf8");
const VECTORS = "test/vectors/step-vectors.json";

describe("prover constants", () => {
  it("Z[0..32] are the zero-subtree hashes H(0x01 ‖ Z[h-1] ‖ Z[h-1])", () => {
    const table = new Map<number, string>();
    for (const m of BASE.matchAll(/case (\d+) \{ z := (0x[0-9a-f]{64}|0) \}/g)) table.set(Number(m[1]), m[2] === "0" ? "0x" + "00".repeat(32) : m[2]);
    let z = "0x" + "00".repeat(32);
    for (let h = 0; h <= 32; h++) {
      expect(table.get(h), `Z[${h}]`).toBe(z);
      z = keccak256(concat(["0x01", z, z]));
    }
    expect(table.size).toBe(33);
  });

  it("error selectors match the declared errors", () => {
    for (const [c, name] of [["TRUNCATED", "Truncated"], ["BADLENGTH", "BadLength"], ["BADFIELD", "BadField"], ["BADOPCODE", "BadOpcode"], ["UNPROVABLE", "Unprovable"], ["ROOTMISMATCH", "RootMismatch"]]) {
      const m = BASE.match(new RegExp(`ERR_${c} = (0x[0-9a-f]{8});`));
      expect(m?.[1], name).toBe(id(`${name}()`).slice(0, 10));
    }
  });

  it("opcode tables are generated from verify.ts", () => {
    opInfoWords().forEach((w, i) => expect(BASE).toContain(`OPINFO_${i} = ${w};`));
    expect(BASE).toContain(`MEMOPS = ${memOpWord()};`);
  });

  it("the prover fits the 24 KB contract size limit", () => {
    const art = JSON.parse(readFileSync("artifacts/contracts/prover/OneStepProver.sol/OneStepProver.json", "utf8"));
    expect((art.deployedBytecode.length - 2) / 2).toBeLessThanOrEqual(24_576);
  });
});

describe("step vectors (test/vectors/step-vectors.json)", () => {
  const load = () => {
    if (!existsSync(VECTORS)) throw new Error(`missing ${VECTORS}: generate it with \`npx tsx test/state/gen-vectors.ts\``);
    const v = JSON.parse(readFileSync(VECTORS, "utf8")) as { cases: { op: number | string; opName: string; note: string; preRoot: string; witness: string; postRoot: string }[] };
    return v.cases.map((c, i) => ({
      pre: unhex(c.preRoot),
      witness: unhex(c.witness),
      post: unhex(c.postRoot),
      op: Number(c.op),
      running: true,
      step: i,
      label: `vector ${i} ${c.opName} ${c.note}`,
    })) as StepCase[];
  };

  it("every vector: on-chain post root == vector post root", async () => {
    const cases = load();
    expect(cases.length).toBeGreaterThan(0);
    const { mismatches } = await expectProven(cases);
    expect(mismatches).toEqual([]);
  });

  it("mutated witnesses (every vector: 4 single-byte changes, a truncation, an extension) are rejected exactly as verifyStep rejects them", async () => {
    const cases = load();
    const muts = mutations(cases, 4, 0xc0ffee);
    const { disagreements } = await expectSameAsVerify(muts);
    expect(disagreements.slice(0, 20)).toEqual([]);
    // and none of them proves the honest post root
    const { mismatches } = await expectProven(muts.map((m, i) => ({ ...m, post: cases[Math.floor(i / 6)].post, op: 0, running: true, step: i, label: m.what })));
    expect(mismatches.length).toBe(muts.length);
  });
});

describe("hand-written edge-case programs (test/state/programs.ts), every step on-chain", () => {
  it(`${ALL_PROGRAMS.length} programs`, async () => {
    const all: StepCase[] = [];
    for (const p of ALL_PROGRAMS) {
      const m = Machine.forTask(await taskFromWat(p.wat), p.input ?? new Uint8Array(0), p.limits ?? {});
      all.push(...traceSteps(m, { label: p.name, maxSteps: 100_000 }));
    }
    const { mismatches } = await expectProven(all);
    expect(mismatches.slice(0, 20)).toEqual([]);
    // their opcodes: every lowered opcode of a task program occurs
    const ops = new Set(all.filter((c) => c.running).map((c) => c.op));
    expect(ops.size).toBeGreaterThan(100);
  });
});

describe("every named error, on targeted witness changes (and the same error from verifyStep)", () => {
  type V = { op: string | number; opName: string; note: string; preRoot: string; witness: string; postRoot: string };
  const vectors = () => (JSON.parse(readFileSync(VECTORS, "utf8")) as { cases: V[] }).cases;
  const running = (c: V) => {
    const w = unhex(c.witness);
    return w[28] === 0 && !c.note.includes("trap") && !c.note.includes("terminal") && !c.note.includes("limit");
  };
  const find = (name: string, pred: (c: V) => boolean = () => true) => {
    const c = vectors().find((x) => x.opName === name && running(x) && pred(x));
    if (!c) throw new Error(`no vector of ${name}`);
    return { pre: unhex(c.preRoot), w: unhex(c.witness) };
  };
  const dv = (w: Uint8Array) => new DataView(w.buffer, w.byteOffset, w.byteLength);
  /** Byte offset of the instruction in the code leaf, and the end of the header. */
  const ins = (w: Uint8Array) => 32 + 16 * (dv(w).getUint32(0) & 1);
  const hdr = (w: Uint8Array) => 64 + 32 * w[30];

  /** Builds [what, expected error, pre, witness] cases. */
  function cases(): [string, string, Uint8Array, Uint8Array][] {
    const out: [string, string, Uint8Array, Uint8Array][] = [];
    const add = find("i32.add");
    out.push(["header cut short", "Truncated", add.pre, add.w.subarray(0, 63)]);
    out.push(["code proof cut short", "Truncated", add.pre, add.w.subarray(0, hdr(add.w) - 1)]);
    out.push(["stack values cut short", "Truncated", add.pre, add.w.subarray(0, hdr(add.w) + 39)]);
    out.push(["one byte too many", "BadLength", add.pre, Uint8Array.of(...add.w, 0)]);
    const m = (base: { pre: Uint8Array; w: Uint8Array }, f: (w: Uint8Array) => void) => {
      const w = base.w.slice();
      f(w);
      return w;
    };
    out.push(["reserved regs byte set", "BadField", add.pre, m(add, (w) => (w[31] = 1))]);
    out.push(["code depth 33", "BadField", add.pre, m(add, (w) => (w[30] = 33))]);
    out.push(["pc outside the code tree", "BadField", add.pre, m(add, (w) => dv(w).setUint32(0, 0xfffffffe))]);
    out.push(["instruction padding set", "BadField", add.pre, m(add, (w) => (w[ins(w) + 2] = 1))]);
    out.push(["stack shallower than the operands", "BadField", add.pre, m(add, (w) => dv(w).setUint32(16, 1))]); // sp
    const lg = find("local.get");
    out.push(["local index >= numLocals", "BadField", lg.pre, m(lg, (w) => dv(w).setUint32(ins(w) + 4, dv(w).getUint32(ins(w) + 8)))]);
    const gg = find("global.get");
    out.push(["global index >= number of globals", "BadField", gg.pre, m(gg, (w) => dv(w).setUint32(ins(w) + 4, dv(w).getUint32(ins(w) + 8) + 3))]);
    const ld = find("i32.load");
    out.push(["memory pages > 65536", "BadField", ld.pre, m(ld, (w) => dv(w).setUint32(hdr(w) + 32 + 8 + 32, 65537))]);
    const ret = find("Return");
    out.push(["return from the entry frame", "BadField", ret.pre, m(ret, (w) => dv(w).setUint32(20, 1))]); // depth
    out.push(["reinterpretation (lowered to nothing)", "BadOpcode", add.pre, m(add, (w) => (w[ins(w)] = 0xbc))]);
    out.push(["opcode 0xff", "BadOpcode", add.pre, m(add, (w) => (w[ins(w)] = 0xff))]);
    out.push(["CallHost", "Unprovable", add.pre, m(add, (w) => (w[ins(w)] = 0xe9))]);
    out.push(["GlobalGetExt", "Unprovable", add.pre, m(add, (w) => (w[ins(w)] = 0xf0))]);
    out.push(["GlobalSetExt", "Unprovable", add.pre, m(add, (w) => (w[ins(w)] = 0xf1))]);
    out.push(["foreign table element (0x02)", "Unprovable", ...foreignElement(find("CallIndirect", (c) => !c.note.includes("->")))]);
    const other = find("i64.mul");
    out.push(["the witness of another state", "RootMismatch", other.pre, add.w]);
    out.push(["a sibling of the code proof changed", "RootMismatch", add.pre, m(add, (w) => (w[64 + 5] ^= 1))]);
    out.push(["an operand changed", "RootMismatch", add.pre, m(add, (w) => (w[hdr(w) + 32 + 15] ^= 1))]);
    return out;
  }

  /**
   * A CallIndirect witness whose table element is marked 0x02 (an embedding's foreign function):
   * the element is changed and the pre root recomputed (docs/STATE.md §2, §4), so that the witness
   * does open its pre root and only the element's mark is wrong.
   */
  function foreignElement(c: { pre: Uint8Array; w: Uint8Array }): [Uint8Array, Uint8Array] {
    const w = c.w.slice();
    const H = (...parts: (Uint8Array | number[])[]) => unhex(keccak256(concat(parts.map((p) => Uint8Array.from(p)))));
    const climb = (leaf: Uint8Array, index: number, at: number, depth: number) => {
      let h = leaf;
      for (let i = 0; i < depth; i++, index >>>= 1) {
        const sib = w.subarray(at + 32 * i, at + 32 * i + 32);
        h = index & 1 ? H([1], sib, h) : H([1], h, sib);
      }
      return h;
    };
    const pc = dv(w).getUint32(0), cd = w[30];
    const codeRoot = climb(w.subarray(32, 64), pc >>> 1, 64, cd);
    let o = 64 + 32 * cd;
    const below = w.subarray(o, o + 32), v0 = w.subarray(o + 32, o + 40);
    const idx = dv(w).getUint32(o + 36);
    const stack = H([2], below, v0);
    o += 40;
    const locals = w.subarray(o, o + 32);
    o += 32;
    const memInfo = w.subarray(o, o + 8), limits = w.subarray(o + 8, o + 28);
    o += 28;
    const globals = w.subarray(o, o + 32);
    o += 32;
    // TABLES, one entry: len ‖ leaf ‖ proof (depthOf(len)) ‖ tables proof (depthOf(N))
    const depthOf = (n: number) => (n <= 1 ? 0 : 32 - Math.clz32(n - 1));
    const x = dv(w).getUint32(ins(w) + 8), N = dv(w).getUint32(ins(w) + 12);
    const len = dv(w).getUint32(o);
    o += 4;
    w[o + 16] = 2; // the mark
    const elems = climb(w.subarray(o, o + 32), idx, o + 32, depthOf(len));
    o += 32 + 32 * depthOf(len);
    const lenBytes = w.slice(o - 36 - 32 * depthOf(len), o - 32 - 32 * depthOf(len));
    const table = climb(H([0x14], lenBytes, elems), x, o, depthOf(N));
    o += 32 * depthOf(N);
    const input = w.subarray(o, o + 32), output = w.subarray(o + 32, o + 64), frames = w.subarray(o + 64, o + 96), mem = w.subarray(o + 96, o + 128);
    expect(o + 128).toBe(w.length);
    const aux = H([0x12], limits, globals, table, input, output);
    const cold = H([0x11], memInfo, mem, frames, aux);
    const pre = H([0x10], w.subarray(0, 32), stack, locals, codeRoot, cold);
    return [pre, w];
  }

  it("each error is raised where verifyStep raises it", async () => {
    const cs = cases();
    const r = await proveMany(cs.map(([, , pre, witness]) => ({ pre, witness })));
    const got = cs.map(([what, expected, pre, w], i) => `${what}: expected ${expected}, contract ${r.error[i] ?? "accepted"}, verifyStep ${tsOutcome(pre, w).error ?? "accepted"}`);
    const want = cs.map(([what, expected]) => `${what}: expected ${expected}, contract ${expected}, verifyStep ${expected}`);
    expect(got).toEqual(want);
  });
});
