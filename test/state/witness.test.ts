/**
 * Witness layout: the sizes of docs/STATE.md §4.2 hold for every step of the hand-written programs
 * (so the table the Solidity side reads offsets from is the one the code implements), and the
 * verifier rejects malformed witnesses with the documented error codes.
 */
import { describe, expect, test } from "vitest";
import { Machine } from "../../interpreter/machine.js";
import { Op, Status } from "../../interpreter/isa.js";
import { PAGE_BYTES } from "../../interpreter/runtime.js";
import { depthOf, memDepth, stateRoot, tracker, valuesDepth } from "../../interpreter/state.js";
import { witness } from "../../interpreter/witness.js";
import { ACCESS_SIZE, isLoad, isStore, POPS, verifyStep, WitnessError } from "../../interpreter/verify.js";
import { ALL_PROGRAMS } from "./programs.js";
import { opName, taskFromWat } from "./util.js";

const bitLength = (x: number) => (x === 0 ? 0 : 32 - Math.clz32(x));

/** Expected witness size from docs/STATE.md §4.2, from the machine state before the step. */
function expectedSize(m: Machine): number {
  const t = tracker(m);
  const H = 64 + 32 * t.prog.depth;
  if (m.status !== Status.Running || m.steps >= m.limits.steps) return H + 96;
  const code = t.prog.code, pc = m.pc;
  const op = code[4 * pc], a = code[4 * pc + 1] >>> 0, b = code[4 * pc + 2] >>> 0, c = code[4 * pc + 3] >>> 0;
  const k = POPS[op];
  const top = (i: number) => m.sl[m.sp - 1 - i] >>> 0;
  const memLen = m.memoryBytes().length;
  const dM = memDepth(memLen / PAGE_BYTES);
  const dI = depthOf(Math.ceil(m.env.input.length / 32));
  const dO = depthOf(Math.ceil(m.limits.outputBytes / 32));
  const mem2 = (p: number, q: number) => (p === q ? 0 : 32 + 32 * (bitLength(p ^ q) - 2));
  switch (op) {
    case Op.LocalGet:
    case Op.LocalSet:
    case Op.LocalTee:
      return H + 96 + 8 * k + 32 * valuesDepth(b);
    case Op.GlobalGet:
    case Op.GlobalSet:
      return H + 284 + 8 * k + 32 * valuesDepth(b);
    case Op.MemorySize:
      return H + 168;
    case Op.MemoryGrow:
      return H + 292;
    case Op.Call:
    case Op.InputSize:
      return H + 284;
    case Op.CallIndirect:
    case Op.TableGet:
    case Op.TableSet:
    case Op.TableSize:
    case Op.TableGrow:
    case Op.TableFill:
    case Op.TableCopy:
    case Op.TableInit:
    case Op.SegmentDrop:
    case Op.MemoryInit:
      return H + 252 + 8 * k + tablesSize(m, op, a, b, c) + (op === Op.MemoryInit && memInitMoves(m, a) ? 32 * dM : 0) + funcSize(m, op, a);
    case Op.Return:
      return H + 204;
    case Op.InputRead: {
      const [dst, off, n] = [top(2), top(1), top(0)];
      if (off + n > m.env.input.length || dst + n > memLen || n === 0) return H + 308;
      return H + 308 + 32 * (dI + dM);
    }
    case Op.OutputWrite: {
      const [src, n] = [top(1), top(0)];
      if (src + n > memLen || m.outLen + n > m.limits.outputBytes || n === 0) return H + 300;
      return H + 300 + 32 * (dO + dM);
    }
    case Op.MemoryCopy: {
      const [dst, src, n] = [top(2), top(1), top(0)];
      if (src + n > memLen || dst + n > memLen || n === 0) return H + 192;
      let dl: number, sl: number;
      if (dst > src) {
        const ch = Math.min(n, ((dst + n - 1) & 31) + 1, ((src + n - 1) & 31) + 1);
        (dl = (dst + n - ch) >>> 5), (sl = (src + n - ch) >>> 5);
      } else (dl = dst >>> 5), (sl = src >>> 5);
      return H + 192 + 32 * dM + mem2(Math.min(dl, sl), Math.max(dl, sl));
    }
    case Op.MemoryFill: {
      const [dst, n] = [top(2), top(0)];
      if (dst + n > memLen || n === 0) return H + 192;
      return H + 192 + 32 * dM;
    }
  }
  if (isLoad(op) || isStore(op)) {
    const ea = top(isLoad(op) ? 0 : 1) + a;
    const size = ACCESS_SIZE[op];
    if (ea + size > memLen) return H + 168 + 8 * k;
    return H + 168 + 8 * k + 32 * dM + mem2(ea >>> 5, (ea + size - 1) >>> 5);
  }
  return H + 96 + 8 * k;
}

/** Length of entry e of the tables tree (tables, element segments, data segments). */
function entryLen(m: Machine, e: number): number {
  const env = m.env, T = env.tables.length, E = env.elemSegs.length;
  return e < T ? env.tables[e].elements.length : e < T + E ? env.elemSegs[e - T].length : env.dataSegs[e - T - E].length;
}

function memInitMoves(m: Machine, a: number): boolean {
  const top = (i: number) => m.sl[m.sp - 1 - i] >>> 0;
  const [d, s, n] = [top(2), top(1), top(0)];
  return n > 0 && s + n <= entryLen(m, a) && d + n <= m.memoryBytes().length;
}

/**
 * TABLES (docs/STATE.md §4.2): one entry: 4 + ELEMS + 32·dN; two: 8 + ELEMS + ELEMS + 32·(dN + t − 2);
 * ELEMS: 32 sealed, 32 + 32·dE one leaf, 64 + 32·(dE + t − 2) two leaves.
 */
function tablesSize(m: Machine, op: number, a: number, b: number, c: number): number {
  const top = (i: number) => m.sl[m.sp - 1 - i] >>> 0;
  const dN = depthOf(c);
  const dE = (e: number) => (op === Op.MemoryInit ? depthOf(Math.ceil(entryLen(m, e) / 32)) : depthOf(entryLen(m, e)));
  const elems = (e: number, p: number, q = p) => (p < 0 ? 32 : p === q ? 32 + 32 * dE(e) : 64 + 32 * (dE(e) + bitLength(p ^ q) - 2));
  switch (op) {
    case Op.CallIndirect:
      return 4 + elems(b, top(0) < entryLen(m, b) ? top(0) : -1) + 32 * dN;
    case Op.TableGet:
      return 4 + elems(a, top(0) < entryLen(m, a) ? top(0) : -1) + 32 * dN;
    case Op.TableSet:
      return 4 + elems(a, top(1) < entryLen(m, a) ? top(1) : -1) + 32 * dN;
    case Op.TableFill: {
      const [i, n] = [top(2), top(0)];
      return 4 + elems(a, n > 0 && i + n <= entryLen(m, a) ? i : -1) + 32 * dN;
    }
    case Op.MemoryInit:
      return 4 + elems(a, memInitMoves(m, a) ? top(1) >>> 5 : -1) + 32 * dN;
    case Op.TableCopy:
    case Op.TableInit: {
      const [d, s, n] = [top(2), top(1), top(0)];
      const moves = n > 0 && s + n <= entryLen(m, b) && d + n <= entryLen(m, a);
      const back = op === Op.TableCopy && d > s;
      const di = moves ? (back ? d + n - 1 : d) : -1, si = moves ? (back ? s + n - 1 : s) : -1;
      if (a === b) return 4 + elems(a, Math.min(di, si), Math.max(di, si)) + 32 * dN;
      return 8 + elems(a, di) + elems(b, si) + 32 * (dN + bitLength(a ^ b) - 2);
    }
  }
  return 4 + 32 + 32 * dN; // TableSize, TableGrow, SegmentDrop
}

/** FUNC: table.set / table.fill storing a function: its stub leaf and a code proof. */
function funcSize(m: Machine, op: number, a: number): number {
  const top = (i: number) => m.sl[m.sp - 1 - i] >>> 0;
  const codeDepth = tracker(m).prog.depth;
  if (op === Op.TableSet && top(1) < entryLen(m, a) && top(0) !== 0) return 32 + 32 * codeDepth;
  if (op === Op.TableFill && top(0) > 0 && top(2) + top(0) <= entryLen(m, a) && top(1) !== 0) return 32 + 32 * codeDepth;
  return 0;
}

describe("witness sizes follow docs/STATE.md §4.2", () => {
  for (const p of ALL_PROGRAMS) {
    test(p.name, async () => {
      const m = Machine.forTask(await taskFromWat(p.wat), p.input ?? new Uint8Array(0), p.limits ?? {});
      for (;;) {
        const want = expectedSize(m);
        const op = m.program.code[4 * m.pc];
        const w = witness(m);
        if (w.length !== want) throw new Error(`step ${m.steps} ${opName(op)}: ${w.length} bytes, documented ${want}`);
        if (m.status !== Status.Running) break;
        m.step();
      }
    });
  }
});

describe("malformed witnesses", () => {
  const codeOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof WitnessError) return e.code;
      throw e;
    }
    return "accepted";
  };

  test("error codes", async () => {
    const m = Machine.forTask(await taskFromWat(`(module (memory 1) (func (export "main") (drop (i32.add (i32.const 1) (i32.const 2)))))`), new Uint8Array(0));
    m.run(3); // before i32.add
    const r = stateRoot(m);
    const w = witness(m);
    expect(codeOf(() => verifyStep(r, w))).toBe("accepted");
    expect(codeOf(() => verifyStep(r, w.subarray(0, 40)))).toBe("Truncated");
    expect(codeOf(() => verifyStep(r, w.subarray(0, w.length - 8)))).toBe("Truncated");
    expect(codeOf(() => verifyStep(r, Uint8Array.of(...w, 1)))).toBe("BadLength");
    const flip = (i: number) => {
      const b = w.slice();
      b[i] ^= 0x10;
      return b;
    };
    expect(codeOf(() => verifyStep(r, flip(31)))).toBe("BadField"); // reserved byte
    expect(codeOf(() => verifyStep(r, flip(w.length - 1)))).toBe("RootMismatch");
    expect(codeOf(() => verifyStep(new Uint8Array(32), w))).toBe("RootMismatch");
    // an opcode that is not an instruction
    const badOp = w.slice();
    badOp[32 + (m.pc & 1) * 16] = 0xff;
    expect(codeOf(() => verifyStep(r, badOp))).toBe("BadOpcode");
  });
});
