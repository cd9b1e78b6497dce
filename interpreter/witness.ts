/**
 * The one-step witness (layout: docs/STATE.md, "The witness"): everything a verifier that knows only
 * the pre-state root needs to compute the post-state root of the machine's next step.
 *
 *   witness(machine) -> bytes        verifyStep(stateRoot(machine), bytes) == root after machine.step()
 *
 * The sections opened are decided from the instruction and the values it reads, the same way the
 * verifier decides them (verify.ts); the two are written independently and checked against each
 * other by the property tests.
 */
import { Op, Status } from "./isa.js";
import type { Machine } from "./machine.js";
import { PAGE_BYTES } from "./runtime.js";
import { depthOf, proof2Of, proofOf, put32, put64, tracker, ZERO32, type StateTracker, type ZTree } from "./state.js";
import { ACCESS_SIZE, isLoad, isStore, isTableOp, opensAux, opensCold, POPS, WitnessError } from "./verify.js";

class Writer {
  parts: Uint8Array[] = [];
  len = 0;
  put(b: Uint8Array): void {
    this.parts.push(b.slice());
    this.len += b.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    let o = 0;
    for (const p of this.parts) (out.set(p, o), (o += p.length));
    return out;
  }
}

/** Which memory leaves the step touches and how it ends, decided from machine values. */
interface MemPlan {
  trap: boolean;
  p: number; // first memory leaf touched, or -1
  q: number; // second (>= p)
  inputLeaf: number; // -1 unless InputRead moves bytes
  outputLeaf: number; // -1 unless OutputWrite moves bytes
  /** Table and segment instructions: the entries of the tables tree opened, and their element leaves. */
  entries: { index: number; p: number; q: number }[];
  /** table.set / table.fill storing a function: its index (the FUNC section), else -1. */
  func: number;
}

function plan(m: Machine, op: number, a: number): MemPlan {
  const sp = m.sp, sl = m.sl;
  const u = (i: number) => sl[sp - 1 - i] >>> 0; // i-th value from the top, as u32
  const memLen = m.memoryBytes().length;
  const r: MemPlan = { trap: false, p: -1, q: -1, inputLeaf: -1, outputLeaf: -1, entries: [], func: -1 };
  if (isTableOp(op)) tablesPlan(m, op, r);
  if (isLoad(op) || isStore(op)) {
    const ea = (isLoad(op) ? u(0) : u(1)) + a;
    const size = ACCESS_SIZE[op];
    if (ea + size > memLen) r.trap = true;
    else (r.p = Math.floor(ea / 32)), (r.q = Math.floor((ea + size - 1) / 32));
  } else if (op === Op.InputRead) {
    const dst = u(2), off = u(1), n = u(0);
    if (off + n > m.env.input.length || dst + n > memLen) r.trap = true;
    else if (n > 0) (r.p = r.q = Math.floor(dst / 32)), (r.inputLeaf = Math.floor(off / 32));
  } else if (op === Op.OutputWrite) {
    const src = u(1), n = u(0);
    if (src + n > memLen || m.outLen + n > m.limits.outputBytes) r.trap = true;
    else if (n > 0) (r.p = r.q = Math.floor(src / 32)), (r.outputLeaf = Math.floor(m.outLen / 32));
  } else if (op === Op.MemoryCopy) {
    const dst = u(2), src = u(1), n = u(0);
    if (src + n > memLen || dst + n > memLen) r.trap = true;
    else if (n > 0) {
      let dl: number, sl2: number;
      if (dst > src) {
        const de = dst + n, se = src + n;
        const k = Math.min(n, ((de - 1) & 31) + 1, ((se - 1) & 31) + 1);
        dl = Math.floor((de - k) / 32);
        sl2 = Math.floor((se - k) / 32);
      } else {
        dl = Math.floor(dst / 32);
        sl2 = Math.floor(src / 32);
      }
      r.p = Math.min(dl, sl2);
      r.q = Math.max(dl, sl2);
    }
  } else if (op === Op.MemoryFill) {
    const dst = u(2), n = u(0);
    if (dst + n > memLen) r.trap = true;
    else if (n > 0) r.p = r.q = Math.floor(dst / 32);
  }
  return r;
}

/**
 * Table and segment instructions: the entries (a table, a segment, or the two tables of a copy
 * between tables / the table and segment of table.init) and the elements the step touches, from
 * the machine's tables and segments; a MemoryInit moving bytes also touches the memory leaf at dst.
 */
function tablesPlan(m: Machine, op: number, r: MemPlan): void {
  const code = m.program.code, ci = m.pc * 4;
  const A = code[ci + 1], B = code[ci + 2];
  const env = m.env, T = env.tables.length, E = env.elemSegs.length;
  const sp = m.sp, u = (i: number) => m.sl[sp - 1 - i] >>> 0;
  const lenOf = (e: number) => (e < T ? env.tables[e].elements.length : e < T + E ? env.elemSegs[e - T].length : env.dataSegs[e - T - E].length);
  const one = (index: number, p = -1, q = p) => r.entries.push({ index, p, q });
  switch (op) {
    case Op.CallIndirect:
    case Op.TableGet: {
      const x = op === Op.CallIndirect ? B : A, i = u(0);
      if (i < lenOf(x)) one(x, i);
      else (r.trap = true), one(x);
      return;
    }
    case Op.TableSet:
    case Op.TableFill: {
      const set = op === Op.TableSet;
      const i = u(set ? 1 : 2), ref = u(set ? 0 : 1), n = set ? 1 : u(0);
      if (i + n > lenOf(A)) r.trap = true;
      else if (n > 0) {
        one(A, i);
        if (ref !== 0) r.func = ref - 1;
        return;
      }
      one(A);
      return;
    }
    case Op.TableCopy:
    case Op.TableInit: {
      const d = u(2), s = u(1), n = u(0);
      const moves = s + n <= lenOf(B) && d + n <= lenOf(A) && n > 0;
      if (s + n > lenOf(B) || d + n > lenOf(A)) r.trap = true;
      const back = op === Op.TableCopy && d > s;
      const di = back ? d + n - 1 : d, si = back ? s + n - 1 : s;
      if (A === B) one(A, moves ? Math.min(di, si) : -1, moves ? Math.max(di, si) : -1);
      else {
        const [lo, hi] = A < B ? [A, B] : [B, A];
        one(lo, moves ? (lo === A ? di : si) : -1);
        one(hi, moves ? (hi === A ? di : si) : -1);
      }
      return;
    }
    case Op.MemoryInit: {
      const d = u(2), s = u(1), n = u(0);
      if (s + n > lenOf(A) || d + n > m.memoryBytes().length) (r.trap = true), one(A);
      else if (n > 0) (one(A, s >>> 5), (r.p = r.q = d >>> 5));
      else one(A);
      return;
    }
    default: // TableSize, TableGrow, SegmentDrop
      one(A);
  }
}

/** The TABLES section (docs/STATE.md §4): lengths, then each entry's elements, then the tables tree proof. */
function writeTables(w: Writer, t: StateTracker, pl: MemPlan, N: number): void {
  const tt = t.tablesTree();
  if (tt.n !== N) throw new WitnessError("Unprovable", `the tables tree has ${tt.n} entries, the instruction says ${N}`);
  const es = pl.entries;
  for (const e of es) {
    const b = new Uint8Array(4);
    put32(b, 0, t.tables.entry(e.index).len);
    w.put(b);
  }
  for (const e of es) {
    const tree: ZTree = t.tables.entry(e.index).tree;
    if (e.p < 0) w.put(tree.root());
    else if (e.p === e.q) {
      w.put(tree.node(0, e.p));
      w.put(tree.proof(e.p));
    } else {
      w.put(tree.node(0, e.p));
      w.put(tree.node(0, e.q));
      w.put(tree.proof2(e.p, e.q));
    }
  }
  w.put(es.length === 1 ? tt.proof(es[0].index) : tt.proof2(es[0].index, es[1].index));
}

/** The witness of the machine's next step. Throws WitnessError("Unprovable") for embedding-only steps. */
export function witness(m: Machine): Uint8Array {
  const t = tracker(m);
  const c = t.components(); // brings every cached tree up to date
  const w = new Writer();
  const prog = t.prog;
  const pc = m.pc;

  // header
  w.put(c.regs);
  w.put(prog.tree.node(0, pc >>> 1));
  w.put(prog.tree.proof(pc >>> 1));

  if (m.status !== Status.Running || m.steps >= m.limits.steps) {
    w.put(c.stackHash);
    w.put(c.localsRoot);
    w.put(c.coldHash);
    return w.bytes();
  }

  const code = prog.code;
  const op = code[pc * 4], A = code[pc * 4 + 1] >>> 0, C = code[pc * 4 + 3] >>> 0;
  const k = POPS[op];
  if (k === -2) throw new WitnessError("Unprovable", `opcode 0x${op.toString(16)} exists only in the embedding`);
  if (k < 0) throw new WitnessError("BadOpcode", `opcode 0x${op.toString(16)} at pc ${pc}`);

  // STACK
  const sp = m.sp;
  w.put(t.stackHashAt(sp - k));
  const vals = new Uint8Array(8 * k);
  for (let j = 0; j < k; j++) put64(vals, 8 * j, m.sh[sp - k + j], m.sl[sp - k + j]);
  w.put(vals);

  // LOCALS
  if (op === Op.LocalGet || op === Op.LocalSet || op === Op.LocalTee) {
    const lt = t.localsTree();
    w.put(lt.node(0, A >>> 2));
    w.put(lt.proof(A >>> 2));
  } else w.put(c.localsRoot);

  // COLD
  if (!opensCold(op)) {
    w.put(c.coldHash);
    return w.bytes();
  }
  const pl = plan(m, op, A);
  w.put(c.memInfo);

  // AUX
  if (opensAux(op)) {
    w.put(c.limits);
    if (op === Op.GlobalGet || op === Op.GlobalSet) {
      const gt = t.globalsTree();
      w.put(gt.node(0, A >>> 2));
      w.put(gt.proof(A >>> 2));
    } else w.put(c.globalsRoot);
    if (isTableOp(op)) writeTables(w, t, pl, C);
    else w.put(c.tableRoot);
    if (pl.inputLeaf >= 0) {
      const it = t.inputTree();
      w.put(it.node(0, pl.inputLeaf));
      w.put(it.proof(pl.inputLeaf));
    } else w.put(c.inputRoot);
    if (pl.outputLeaf >= 0) {
      const ot = t.outTree();
      w.put(ot.node(0, pl.outputLeaf));
      w.put(proofOf(ot, pl.outputLeaf));
    } else w.put(c.outputRoot);
  } else w.put(c.auxHash);

  // FRAMES
  if (op === Op.Return) {
    const d = m.depth;
    t.framesHashAt(d - 1);
    const top = t.frames.entry(d - 2);
    w.put(d >= 3 ? t.frames.hashAt(d - 3) : ZERO32);
    w.put(top.localsRoot);
    const rp = new Uint8Array(4);
    new DataView(rp.buffer).setUint32(0, top.ret >>> 0);
    w.put(rp);
  } else w.put(c.framesHash);

  // MEM
  if (!pl.trap && pl.p >= 0) {
    const mt = t.memTree();
    if (mt.depth !== (m.memoryBytes().length === 0 ? 0 : 11 + depthOf(m.memoryBytes().length / PAGE_BYTES)))
      throw new Error("memory tree depth out of sync");
    if (pl.p === pl.q) {
      w.put(mt.node(0, pl.p));
      w.put(proofOf(mt, pl.p));
    } else {
      w.put(mt.node(0, pl.p));
      w.put(mt.node(0, pl.q));
      w.put(proof2Of(mt, pl.p, pl.q));
    }
  } else w.put(c.memRoot);

  // FUNC: the invoke stub of the function table.set / table.fill stores
  if (!pl.trap && pl.func >= 0) {
    if (pl.func < 2 ** prog.depth) {
      w.put(prog.tree.node(0, pl.func));
      w.put(prog.tree.proof(pl.func));
    } else w.put(new Uint8Array(32 + 32 * prog.depth)); // not a function (never in a reachable state): the verifier says BadField
  }
  return w.bytes();
}
