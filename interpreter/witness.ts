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
import { depthOf, proof2Of, proofOf, put64, tracker, ZERO32 } from "./state.js";
import { ACCESS_SIZE, isLoad, isStore, opensAux, opensCold, POPS, WitnessError } from "./verify.js";

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
}

function plan(m: Machine, op: number, a: number): MemPlan {
  const sp = m.sp, sl = m.sl;
  const u = (i: number) => sl[sp - 1 - i] >>> 0; // i-th value from the top, as u32
  const memLen = m.memoryBytes().length;
  const r: MemPlan = { trap: false, p: -1, q: -1, inputLeaf: -1, outputLeaf: -1 };
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
  const callIndex = op === Op.CallIndirect ? m.sl[sp - 1] >>> 0 : 0;
  if (!opensCold(op) || (op === Op.CallIndirect && callIndex >= C)) {
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
    if (op === Op.CallIndirect) {
      const tt = t.tableTree();
      if (tt.n !== C || tt.depth !== depthOf(C)) throw new WitnessError("Unprovable", `table length ${tt.n} differs from the instruction's ${C}`);
      w.put(tt.node(0, callIndex));
      w.put(tt.proof(callIndex));
    } else w.put(c.tableRoot);
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

  return w.bytes();
}
