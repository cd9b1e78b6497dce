/**
 * The step machine: executes the lowered program (isa.ts) one instruction per step.
 *
 * Layout (mirrors the state commitment, docs/STATE.md):
 * - registers: pc, status, trap, steps, exitCode;
 * - operand stack: slots of 64 bits as two int32 arrays (lo/hi), `sp` values high;
 * - locals: one int32 pair array holding every frame's locals, the current frame at `fp`,
 *   `nl` of them; frames: the saved (return pc, fp, nl) of every caller;
 * - globals, memory, tables, element and data segments, input, output.
 *
 * Speed: `exec` is one tight loop over pre-decoded code with every register in a local variable
 * (wasm3 / in-place interpreter style). It never hashes: stores only stamp the 32-byte leaves they
 * touch with the current epoch (`mark`), so roots and snapshots can be computed lazily later.
 */
import { DEFAULT_LIMITS, LEAF_BYTES, Status, Trap, chunkBackward, chunkForward, type Limits } from "./isa.js";
import { floatStep } from "./float.js";
import { cmpS64, cmpU64, ctz32, divRem64, mul64, popcnt32, rotl64, shl64, shrS64, shrU64 } from "./i64.js";
import { Jit } from "./jit.js";
import { applySegments, buildEnv, fullLimits } from "./link.js";
import type { FuncInfo, Program, ValType } from "./program.js";
import { sameSignature, WasmError } from "./program.js";
import { Global, Memory, PAGE_BYTES, RefStore, Table, TrapError, writeSlot, type FuncRef } from "./runtime.js";

/** Everything a machine links to besides its program. */
export interface MachineEnv {
  memory: Memory | null;
  /** Imported tables first, like the table index space. */
  tables: Table[];
  /** Storage of the program's own (defined) globals: lo and hi words. Shared with exports. */
  globalsLo: Int32Array;
  globalsHi: Int32Array;
  importedGlobals: Global[];
  hostFuncs: (FuncRef | null)[]; // by imported function index
  /** Identifies this program's own functions in a table (FuncRef.owner). */
  owner: object;
  /** What reference values stand for (runtime.ts RefStore). */
  refs: RefStore;
  /** The reference value of each function (what RefFunc pushes): f + 1 in a task. */
  funcIds: number[];
  /** Element segments' reference values and data segments' bytes; dropped ones are empty. */
  elemSegs: number[][];
  dataSegs: Uint8Array[];
  input: Uint8Array;
  limits: Limits;
}

const LEAF_SHIFT = 5; // log2(LEAF_BYTES)
/** Completed InputReads remembered for the state commitment between two looks (inputCopyEnds). */
const INPUT_COPY_LOG = 32;

/** The compiled tier (jit.ts) is used by run() unless TRUEWASM_JIT=0. */
const JIT_ENABLED = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TRUEWASM_JIT !== "0";

export class Machine {
  readonly program: Program;
  readonly code: Int32Array;
  readonly env: MachineEnv;
  readonly limits: Limits;

  pc = 0;
  status: number = Status.Running;
  trap: number = Trap.None;
  steps = 0;
  /** Set by Exit (the task's exit code); 0 when main returns. */
  exitCode = 0;

  sl: Int32Array;
  sh: Int32Array;
  sp = 0;

  ll: Int32Array;
  lh: Int32Array;
  fp = 0;
  nl = 0;

  /** Saved caller frames: depth - 1 of them (the entry frame has none). */
  fRet: Int32Array;
  fFp: Int32Array;
  fNl: Int32Array;
  depth = 1;

  out: Uint8Array;
  outLen = 0;

  /** Per 32-byte memory leaf: the epoch of its last write (0 = never written since creation). */
  mark: Uint32Array;
  epoch = 1;

  /**
   * (memory end, input end) of each InputRead completed since the state commitment last looked, at
   * most INPUT_COPY_LOG of them (the oldest dropped): a hint that lets the state commitment read
   * the input root off the copy after comparing the bytes (state.ts, inputCopyRun). Not machine state.
   */
  inputCopyEnds: number[] = [];

  /** The compiled tier run() uses (shared per Program); null: exec only. Set on the first run. */
  jit: Jit | null | undefined = undefined;

  constructor(program: Program, env: MachineEnv) {
    this.program = program;
    this.code = program.code;
    this.env = env;
    this.limits = env.limits;
    const stack = env.limits.stackHeight + 2;
    this.sl = new Int32Array(stack);
    this.sh = new Int32Array(stack);
    this.ll = new Int32Array(1024);
    this.lh = new Int32Array(1024);
    const frames = Math.max(env.limits.callDepth, 1);
    this.fRet = new Int32Array(frames);
    this.fFp = new Int32Array(frames);
    this.fNl = new Int32Array(frames);
    this.out = new Uint8Array(0);
    this.mark = new Uint32Array(env.memory ? env.memory.bytes.length >>> LEAF_SHIFT : 0);
  }

  /**
   * The initial state of a task: program (compiled with imports "task"), input bytes and limits.
   * Segments are applied; pc is the task entry stub [Call start?, Call main, Halt].
   */
  static forTask(program: Program, input: Uint8Array, limits: Partial<Limits> = {}): Machine {
    if (program.taskEntry < 0) throw new WasmError("unlinkable", 'a task must export "main" with type [] -> []');
    const owner = {};
    const funcRef = (index: number): FuncRef => ({
      type: program.types[program.funcs[index].typeIndex],
      owner,
      index,
      call: () => {
        throw new Error("task functions are not callable from outside");
      },
    });
    let env: MachineEnv;
    try {
      // the task's own store: function f registered f-th, so its reference value is f + 1
      env = buildEnv(program, { funcs: [], globals: [], tables: [] }, fullLimits(limits), input, owner, funcRef, new RefStore());
      applySegments(program, env);
    } catch (e) {
      if (e instanceof TrapError) throw new WasmError("unlinkable", `a segment does not fit: instantiation traps (${e.message})`);
      throw e;
    }
    const m = new Machine(program, env);
    m.reset(program.taskEntry);
    return m;
  }

  /** Starts a fresh call at `pc` with `args` on the operand stack (embedding and tasks). */
  reset(pc: number, args: readonly bigint[] = [], types: readonly ValType[] = []): void {
    this.pc = pc;
    this.status = Status.Running;
    this.trap = Trap.None;
    this.exitCode = 0;
    this.sp = 0;
    this.fp = 0;
    this.nl = 0;
    this.depth = 1;
    args.forEach((a, i) => this.push(a, types[i] ?? "i64"));
  }

  push(v: bigint, type: ValType): void {
    writeSlot(this.sl, this.sh, this.sp++, type, v);
  }

  /** The value at depth `i` below the top (0 = top) as an unsigned 64-bit bigint. */
  peek(i = 0): bigint {
    const k = this.sp - 1 - i;
    return (BigInt(this.sh[k] >>> 0) << 32n) | BigInt(this.sl[k] >>> 0);
  }

  get halted(): boolean {
    return this.status === Status.Halted;
  }
  get trapped(): boolean {
    return this.status === Status.Trapped;
  }

  memoryBytes(): Uint8Array {
    return this.env.memory ? this.env.memory.bytes : new Uint8Array(0);
  }

  output(): Uint8Array {
    return this.out.slice(0, this.outLen);
  }

  /** One step. */
  step(): void {
    this.run(1);
  }

  /**
   * Runs at most `maxSteps` steps, stopping early on a terminal state. Returns the steps taken.
   * A running machine whose step counter has reached limits.steps traps (StepLimit) on its next
   * step; that trapping step counts, like every step that traps.
   */
  run(maxSteps: number = Number.MAX_SAFE_INTEGER): number {
    let done = 0;
    const jit = this.jit === undefined ? (this.jit = JIT_ENABLED ? Jit.for(this.program) : null) : this.jit;
    while (done < maxSteps && this.status === Status.Running) {
      const room = this.limits.steps - this.steps;
      if (room <= 0) {
        this.status = Status.Trapped;
        this.trap = Trap.StepLimit;
        this.steps++;
        done++;
        break;
      }
      let lim = Math.min(maxSteps - done, room);
      if (jit !== null) {
        // Compiled code first; exec where it stops short (see Jit.run), then compiled code again.
        const k = jit.run(this, lim);
        done += k;
        this.steps += k;
        if (k === lim || this.status !== Status.Running) continue;
        lim = Math.min(lim - k, jit.execNext);
      }
      const n = this.exec(lim);
      done += n;
      this.steps += n;
    }
    return done;
  }

  private pageCache: Uint8Array[] = [];
  private pageEpoch = 0;
  private tableCache: { version: number; length: number; elements: number[] }[] = [];

  /** A copy of the current state, cheap when little memory changed since the last snapshot. */
  snapshot(): Snapshot {
    const bytes = this.memoryBytes();
    const nPages = bytes.length / PAGE_BYTES;
    const pages: Uint8Array[] = [];
    const since = this.pageEpoch;
    for (let p = 0; p < nPages; p++) {
      let page: Uint8Array | undefined = this.pageCache[p];
      if (page !== undefined) {
        const end = (p + 1) * LEAVES_PER_PAGE;
        for (let l = p * LEAVES_PER_PAGE; l < end; l++) {
          if (this.mark[l] > since) {
            page = undefined;
            break;
          }
        }
      }
      pages.push(page ?? (this.pageCache[p] = bytes.slice(p * PAGE_BYTES, (p + 1) * PAGE_BYTES)));
    }
    this.pageEpoch = this.nextEpoch();
    const depth = this.depth - 1;
    const tables = this.env.tables.map((t, i) => {
      // an unchanged table shares the previous snapshot's copy
      const c = this.tableCache[i];
      if (c && c.version === t.version && c.length === t.elements.length) return c.elements;
      const elements = t.elements.slice();
      this.tableCache[i] = { version: t.version, length: elements.length, elements };
      return elements;
    });
    return {
      program: this.program,
      env: this.env,
      pc: this.pc,
      status: this.status,
      trap: this.trap,
      steps: this.steps,
      exitCode: this.exitCode,
      stackLo: this.sl.slice(0, this.sp),
      stackHi: this.sh.slice(0, this.sp),
      localsLo: this.ll.slice(0, this.fp + this.nl),
      localsHi: this.lh.slice(0, this.fp + this.nl),
      fp: this.fp,
      nl: this.nl,
      frames: { ret: this.fRet.slice(0, depth), fp: this.fFp.slice(0, depth), nl: this.fNl.slice(0, depth) },
      globalsLo: this.env.globalsLo.slice(),
      globalsHi: this.env.globalsHi.slice(),
      tables,
      elemSegs: this.env.elemSegs.slice(),
      dataSegs: this.env.dataSegs.slice(),
      pages,
      memoryMax: this.env.memory?.max,
      output: this.output(),
    };
  }

  /** A new, independent machine in the state of `s`. */
  static restore(s: Snapshot): Machine {
    let memory: Memory | null = null;
    if (s.env.memory) {
      memory = new Memory(s.pages.length, s.memoryMax);
      s.pages.forEach((page, p) => memory!.bytes.set(page, p * PAGE_BYTES));
    }
    const tables = s.env.tables.map((t, i) => {
      const copy = new Table(t.type, 0, t.max);
      copy.elements = s.tables[i].slice();
      return copy;
    });
    const env: MachineEnv = {
      ...s.env,
      memory,
      tables,
      globalsLo: s.globalsLo.slice(),
      globalsHi: s.globalsHi.slice(),
      elemSegs: s.elemSegs.slice(),
      dataSegs: s.dataSegs.slice(),
    };
    const m = new Machine(s.program, env);
    m.pc = s.pc;
    m.status = s.status;
    m.trap = s.trap;
    m.steps = s.steps;
    m.exitCode = s.exitCode;
    m.sp = s.stackLo.length;
    m.sl.set(s.stackLo);
    m.sh.set(s.stackHi);
    m.ensureLocals(s.localsLo.length);
    m.ll.set(s.localsLo);
    m.lh.set(s.localsHi);
    m.fp = s.fp;
    m.nl = s.nl;
    m.depth = s.frames.ret.length + 1;
    m.fRet.set(s.frames.ret);
    m.fFp.set(s.frames.fp);
    m.fNl.set(s.frames.nl);
    m.out = s.output.slice();
    m.outLen = s.output.length;
    // The restored machine's memory is unrelated to any page cache: its first snapshot copies all.
    return m;
  }

  /** Marks the start of a new epoch: writes from now on carry a larger stamp. Returns the old one. */
  nextEpoch(): number {
    return this.epoch++;
  }

  private setTrap(kind: number): void {
    this.status = Status.Trapped;
    this.trap = kind;
  }

  /**
   * Grows the locals array (rare: only when frames nest deeper than its current size). Also used
   * by the compiled tier's runtime (jit.ts), so both tiers grow it the same way.
   */
  ensureLocals(n: number): void {
    if (n <= this.ll.length) return;
    let size = this.ll.length;
    while (size < n) size *= 2;
    const lo = new Int32Array(size), hi = new Int32Array(size);
    lo.set(this.ll);
    hi.set(this.lh);
    this.ll = lo;
    this.lh = hi;
  }

  /**
   * The frame push of Call and CallIndirect (after their checks): saves the caller's return pc, fp
   * and locals count, and zeroes the callee's `n` locals above the caller's. Returns the callee's fp.
   */
  private enterFrame(ret: number, fp: number, nl: number, n: number): number {
    const d = this.depth;
    this.fRet[d - 1] = ret;
    this.fFp[d - 1] = fp;
    this.fNl[d - 1] = nl;
    this.depth = d + 1;
    const callee = fp + nl;
    this.ensureLocals(callee + n);
    this.ll.fill(0, callee, callee + n);
    this.lh.fill(0, callee, callee + n);
    return callee;
  }

  /** Grows the leaf stamps to cover the memory after it grew (also used by jit.ts). */
  ensureMark(): void {
    const leaves = this.memoryBytes().length >>> LEAF_SHIFT;
    if (this.mark.length < leaves) {
      const m = new Uint32Array(leaves);
      m.set(this.mark);
      this.mark = m;
    }
  }

  /**
   * The hot loop: executes up to `budget` steps; returns how many it executed (the trapping step
   * included). Registers live in locals and are written back on every exit.
   */
  private exec(budget: number): number {
    const code = this.code;
    const sl = this.sl, sh = this.sh;
    let ll = this.ll, lh = this.lh;
    const gl = this.env.globalsLo, gh = this.env.globalsHi;
    const memory = this.env.memory;
    let mem = memory ? memory.bytes : new Uint8Array(0);
    let dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    let memLen = mem.length;
    let mark = this.mark;
    const ep = this.epoch;
    let pc = this.pc, sp = this.sp, fp = this.fp, nl = this.nl;
    let fuel = budget;
    let trap = 0;
    let halted = false;

    run: while (fuel > 0) {
      fuel--;
      const ci = pc << 2;
      switch (code[ci]) {
        // ---------------------------------------------------------------- stack and variables
        case 0x1a: // drop
          sp--;
          pc++;
          break;
        case 0x1b: // select
          sp -= 2;
          if (sl[sp + 1] === 0) {
            sl[sp - 1] = sl[sp];
            sh[sp - 1] = sh[sp];
          }
          pc++;
          break;
        case 0x20: {
          // local.get
          const i = fp + code[ci + 1];
          sl[sp] = ll[i];
          sh[sp] = lh[i];
          sp++;
          pc++;
          break;
        }
        case 0x21: {
          // local.set
          const i = fp + code[ci + 1];
          sp--;
          ll[i] = sl[sp];
          lh[i] = sh[sp];
          pc++;
          break;
        }
        case 0x22: {
          // local.tee
          const i = fp + code[ci + 1];
          ll[i] = sl[sp - 1];
          lh[i] = sh[sp - 1];
          pc++;
          break;
        }
        case 0x23: {
          // global.get
          const i = code[ci + 1];
          sl[sp] = gl[i];
          sh[sp] = gh[i];
          sp++;
          pc++;
          break;
        }
        case 0x24: {
          // global.set
          const i = code[ci + 1];
          sp--;
          gl[i] = sl[sp];
          gh[i] = sh[sp];
          pc++;
          break;
        }
        case 0x41: // i32.const
        case 0x43: // f32.const
          sl[sp] = code[ci + 1];
          sh[sp] = 0;
          sp++;
          pc++;
          break;
        case 0x42: // i64.const
        case 0x44: // f64.const
          sl[sp] = code[ci + 1];
          sh[sp] = code[ci + 2];
          sp++;
          pc++;
          break;

        // ---------------------------------------------------------------- memory
        case 0x28: // i32.load
        case 0x2a: {
          // f32.load
          const ea = (sl[sp - 1] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 4 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          sl[sp - 1] = dv.getInt32(ea, true);
          pc++;
          break;
        }
        case 0x29: // i64.load
        case 0x2b: {
          // f64.load
          const ea = (sl[sp - 1] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 8 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          sl[sp - 1] = dv.getInt32(ea, true);
          sh[sp - 1] = dv.getInt32(ea + 4, true);
          pc++;
          break;
        }
        case 0x2c: // i32.load8_s
        case 0x2d: // i32.load8_u
        case 0x30: // i64.load8_s
        case 0x31: {
          // i64.load8_u
          const ea = (sl[sp - 1] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 1 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          const op = code[ci];
          const v = op === 0x2c || op === 0x30 ? (mem[ea] << 24) >> 24 : mem[ea];
          sl[sp - 1] = v;
          sh[sp - 1] = op === 0x30 ? v >> 31 : 0;
          pc++;
          break;
        }
        case 0x2e: // i32.load16_s
        case 0x2f: // i32.load16_u
        case 0x32: // i64.load16_s
        case 0x33: {
          // i64.load16_u
          const ea = (sl[sp - 1] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 2 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          const op = code[ci];
          const v = op === 0x2e || op === 0x32 ? dv.getInt16(ea, true) : dv.getUint16(ea, true);
          sl[sp - 1] = v;
          sh[sp - 1] = op === 0x32 ? v >> 31 : 0;
          pc++;
          break;
        }
        case 0x34: // i64.load32_s
        case 0x35: {
          // i64.load32_u
          const ea = (sl[sp - 1] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 4 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          const v = dv.getInt32(ea, true);
          sl[sp - 1] = v;
          sh[sp - 1] = code[ci] === 0x34 ? v >> 31 : 0;
          pc++;
          break;
        }
        case 0x36: // i32.store
        case 0x38: // f32.store
        case 0x3e: {
          // i64.store32 (the low half: the same bytes)
          const ea = (sl[sp - 2] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 4 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          dv.setInt32(ea, sl[sp - 1], true);
          mark[ea >>> 5] = ep;
          mark[(ea + 3) >>> 5] = ep;
          sp -= 2;
          pc++;
          break;
        }
        case 0x37: // i64.store
        case 0x39: {
          // f64.store
          const ea = (sl[sp - 2] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 8 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          dv.setInt32(ea, sl[sp - 1], true);
          dv.setInt32(ea + 4, sh[sp - 1], true);
          mark[ea >>> 5] = ep;
          mark[(ea + 7) >>> 5] = ep;
          sp -= 2;
          pc++;
          break;
        }
        case 0x3a: // i32.store8
        case 0x3c: {
          // i64.store8
          const ea = (sl[sp - 2] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 1 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          mem[ea] = sl[sp - 1];
          mark[ea >>> 5] = ep;
          sp -= 2;
          pc++;
          break;
        }
        case 0x3b: // i32.store16
        case 0x3d: {
          // i64.store16
          const ea = (sl[sp - 2] >>> 0) + (code[ci + 1] >>> 0);
          if (ea + 2 > memLen) { trap = Trap.OutOfBoundsMemory; break run; }
          dv.setInt16(ea, sl[sp - 1], true);
          mark[ea >>> 5] = ep;
          mark[(ea + 1) >>> 5] = ep;
          sp -= 2;
          pc++;
          break;
        }
        case 0x3f: // memory.size
          sl[sp] = memLen / PAGE_BYTES;
          sh[sp] = 0;
          sp++;
          pc++;
          break;
        case 0x40: {
          // memory.grow
          const r = memory!.grow(sl[sp - 1] >>> 0, this.limits.memoryPages);
          sl[sp - 1] = r;
          if (r >= 0) {
            mem = memory!.bytes;
            dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
            memLen = mem.length;
            this.ensureMark();
            mark = this.mark;
          }
          pc++;
          break;
        }

        // ---------------------------------------------------------------- i32 arithmetic
        // i32 values keep hi = 0; a binary op writes into the slot of its first operand, whose hi
        // is already 0, so only type-changing ops write hi.
        case 0x45: // i32.eqz
          sl[sp - 1] = sl[sp - 1] === 0 ? 1 : 0;
          pc++;
          break;
        case 0x46: // i32.eq
          sp--;
          sl[sp - 1] = sl[sp - 1] === sl[sp] ? 1 : 0;
          pc++;
          break;
        case 0x47: // i32.ne
          sp--;
          sl[sp - 1] = sl[sp - 1] !== sl[sp] ? 1 : 0;
          pc++;
          break;
        case 0x48: // i32.lt_s
          sp--;
          sl[sp - 1] = sl[sp - 1] < sl[sp] ? 1 : 0;
          pc++;
          break;
        case 0x49: // i32.lt_u
          sp--;
          sl[sp - 1] = sl[sp - 1] >>> 0 < sl[sp] >>> 0 ? 1 : 0;
          pc++;
          break;
        case 0x4a: // i32.gt_s
          sp--;
          sl[sp - 1] = sl[sp - 1] > sl[sp] ? 1 : 0;
          pc++;
          break;
        case 0x4b: // i32.gt_u
          sp--;
          sl[sp - 1] = sl[sp - 1] >>> 0 > sl[sp] >>> 0 ? 1 : 0;
          pc++;
          break;
        case 0x4c: // i32.le_s
          sp--;
          sl[sp - 1] = sl[sp - 1] <= sl[sp] ? 1 : 0;
          pc++;
          break;
        case 0x4d: // i32.le_u
          sp--;
          sl[sp - 1] = sl[sp - 1] >>> 0 <= sl[sp] >>> 0 ? 1 : 0;
          pc++;
          break;
        case 0x4e: // i32.ge_s
          sp--;
          sl[sp - 1] = sl[sp - 1] >= sl[sp] ? 1 : 0;
          pc++;
          break;
        case 0x4f: // i32.ge_u
          sp--;
          sl[sp - 1] = sl[sp - 1] >>> 0 >= sl[sp] >>> 0 ? 1 : 0;
          pc++;
          break;
        case 0x67: // i32.clz
          sl[sp - 1] = Math.clz32(sl[sp - 1]);
          pc++;
          break;
        case 0x68: // i32.ctz
          sl[sp - 1] = ctz32(sl[sp - 1]);
          pc++;
          break;
        case 0x69: // i32.popcnt
          sl[sp - 1] = popcnt32(sl[sp - 1]);
          pc++;
          break;
        case 0x6a: // i32.add
          sp--;
          sl[sp - 1] = (sl[sp - 1] + sl[sp]) | 0;
          pc++;
          break;
        case 0x6b: // i32.sub
          sp--;
          sl[sp - 1] = (sl[sp - 1] - sl[sp]) | 0;
          pc++;
          break;
        case 0x6c: // i32.mul
          sp--;
          sl[sp - 1] = Math.imul(sl[sp - 1], sl[sp]);
          pc++;
          break;
        case 0x6d: {
          // i32.div_s
          const b = sl[sp - 1], a = sl[sp - 2];
          if (b === 0) { trap = Trap.IntegerDivideByZero; break run; }
          if (a === -0x80000000 && b === -1) { trap = Trap.IntegerOverflow; break run; }
          sp--;
          sl[sp - 1] = (a / b) | 0;
          pc++;
          break;
        }
        case 0x6e: {
          // i32.div_u
          const b = sl[sp - 1] >>> 0;
          if (b === 0) { trap = Trap.IntegerDivideByZero; break run; }
          sp--;
          sl[sp - 1] = ((sl[sp - 1] >>> 0) / b) | 0;
          pc++;
          break;
        }
        case 0x6f: {
          // i32.rem_s
          const b = sl[sp - 1];
          if (b === 0) { trap = Trap.IntegerDivideByZero; break run; }
          sp--;
          sl[sp - 1] = sl[sp - 1] % b | 0;
          pc++;
          break;
        }
        case 0x70: {
          // i32.rem_u
          const b = sl[sp - 1] >>> 0;
          if (b === 0) { trap = Trap.IntegerDivideByZero; break run; }
          sp--;
          sl[sp - 1] = (sl[sp - 1] >>> 0) % b | 0;
          pc++;
          break;
        }
        case 0x71: // i32.and
          sp--;
          sl[sp - 1] &= sl[sp];
          pc++;
          break;
        case 0x72: // i32.or
          sp--;
          sl[sp - 1] |= sl[sp];
          pc++;
          break;
        case 0x73: // i32.xor
          sp--;
          sl[sp - 1] ^= sl[sp];
          pc++;
          break;
        case 0x74: // i32.shl
          sp--;
          sl[sp - 1] <<= sl[sp];
          pc++;
          break;
        case 0x75: // i32.shr_s
          sp--;
          sl[sp - 1] >>= sl[sp];
          pc++;
          break;
        case 0x76: // i32.shr_u
          sp--;
          sl[sp - 1] = sl[sp - 1] >>> sl[sp];
          pc++;
          break;
        case 0x77: {
          // i32.rotl
          sp--;
          const a = sl[sp - 1], k = sl[sp];
          sl[sp - 1] = (a << k) | (a >>> (32 - (k & 31)));
          pc++;
          break;
        }
        case 0x78: {
          // i32.rotr
          sp--;
          const a = sl[sp - 1], k = sl[sp];
          sl[sp - 1] = (a >>> k) | (a << (32 - (k & 31)));
          pc++;
          break;
        }

        // ---------------------------------------------------------------- i64 arithmetic
        case 0x50: // i64.eqz
          sl[sp - 1] = (sl[sp - 1] | sh[sp - 1]) === 0 ? 1 : 0;
          sh[sp - 1] = 0;
          pc++;
          break;
        case 0x51: // i64.eq
          sp--;
          sl[sp - 1] = sl[sp - 1] === sl[sp] && sh[sp - 1] === sh[sp] ? 1 : 0;
          sh[sp - 1] = 0;
          pc++;
          break;
        case 0x52: // i64.ne
          sp--;
          sl[sp - 1] = sl[sp - 1] !== sl[sp] || sh[sp - 1] !== sh[sp] ? 1 : 0;
          sh[sp - 1] = 0;
          pc++;
          break;
        case 0x53: // i64.lt_s
        case 0x55: // i64.gt_s
        case 0x57: // i64.le_s
        case 0x59: {
          // i64.ge_s
          sp--;
          const c = cmpS64(sl, sh, sp - 1), op = code[ci];
          sl[sp - 1] = (op === 0x53 ? c < 0 : op === 0x55 ? c > 0 : op === 0x57 ? c <= 0 : c >= 0) ? 1 : 0;
          sh[sp - 1] = 0;
          pc++;
          break;
        }
        case 0x54: // i64.lt_u
        case 0x56: // i64.gt_u
        case 0x58: // i64.le_u
        case 0x5a: {
          // i64.ge_u
          sp--;
          const c = cmpU64(sl, sh, sp - 1), op = code[ci];
          sl[sp - 1] = (op === 0x54 ? c < 0 : op === 0x56 ? c > 0 : op === 0x58 ? c <= 0 : c >= 0) ? 1 : 0;
          sh[sp - 1] = 0;
          pc++;
          break;
        }
        case 0x79: {
          // i64.clz
          const h = sh[sp - 1];
          sl[sp - 1] = h !== 0 ? Math.clz32(h) : 32 + Math.clz32(sl[sp - 1]);
          sh[sp - 1] = 0;
          pc++;
          break;
        }
        case 0x7a: {
          // i64.ctz
          const l = sl[sp - 1];
          sl[sp - 1] = l !== 0 ? ctz32(l) : 32 + ctz32(sh[sp - 1]);
          sh[sp - 1] = 0;
          pc++;
          break;
        }
        case 0x7b: // i64.popcnt
          sl[sp - 1] = popcnt32(sl[sp - 1]) + popcnt32(sh[sp - 1]);
          sh[sp - 1] = 0;
          pc++;
          break;
        case 0x7c: {
          // i64.add
          sp--;
          const a = sl[sp - 1], lo = (a + sl[sp]) | 0;
          sh[sp - 1] = (sh[sp - 1] + sh[sp] + (lo >>> 0 < a >>> 0 ? 1 : 0)) | 0;
          sl[sp - 1] = lo;
          pc++;
          break;
        }
        case 0x7d: {
          // i64.sub
          sp--;
          const a = sl[sp - 1], b = sl[sp];
          sh[sp - 1] = (sh[sp - 1] - sh[sp] - (a >>> 0 < b >>> 0 ? 1 : 0)) | 0;
          sl[sp - 1] = (a - b) | 0;
          pc++;
          break;
        }
        case 0x7e: // i64.mul
          sp--;
          mul64(sl, sh, sp - 1);
          pc++;
          break;
        case 0x7f: // i64.div_s
        case 0x80: // i64.div_u
        case 0x81: // i64.rem_s
        case 0x82: {
          // i64.rem_u
          const t = divRem64(code[ci], sl, sh, sp - 2);
          if (t !== 0) { trap = t; break run; }
          sp--;
          pc++;
          break;
        }
        case 0x83: // i64.and
          sp--;
          sl[sp - 1] &= sl[sp];
          sh[sp - 1] &= sh[sp];
          pc++;
          break;
        case 0x84: // i64.or
          sp--;
          sl[sp - 1] |= sl[sp];
          sh[sp - 1] |= sh[sp];
          pc++;
          break;
        case 0x85: // i64.xor
          sp--;
          sl[sp - 1] ^= sl[sp];
          sh[sp - 1] ^= sh[sp];
          pc++;
          break;
        case 0x86: // i64.shl
          sp--;
          shl64(sl, sh, sp - 1);
          pc++;
          break;
        case 0x87: // i64.shr_s
          sp--;
          shrS64(sl, sh, sp - 1);
          pc++;
          break;
        case 0x88: // i64.shr_u
          sp--;
          shrU64(sl, sh, sp - 1);
          pc++;
          break;
        case 0x89: // i64.rotl
        case 0x8a: // i64.rotr
          sp--;
          rotl64(sl, sh, sp - 1, code[ci] === 0x8a);
          pc++;
          break;

        // ---------------------------------------------------------------- conversions
        case 0xa7: // i32.wrap_i64
          sh[sp - 1] = 0;
          pc++;
          break;
        case 0xac: // i64.extend_i32_s
          sh[sp - 1] = sl[sp - 1] >> 31;
          pc++;
          break;
        case 0xad: // i64.extend_i32_u (hi is already 0)
          pc++;
          break;
        case 0xc0: // i32.extend8_s
          sl[sp - 1] = (sl[sp - 1] << 24) >> 24;
          pc++;
          break;
        case 0xc1: // i32.extend16_s
          sl[sp - 1] = (sl[sp - 1] << 16) >> 16;
          pc++;
          break;
        case 0xc2: {
          // i64.extend8_s
          const v = (sl[sp - 1] << 24) >> 24;
          sl[sp - 1] = v;
          sh[sp - 1] = v >> 31;
          pc++;
          break;
        }
        case 0xc3: {
          // i64.extend16_s
          const v = (sl[sp - 1] << 16) >> 16;
          sl[sp - 1] = v;
          sh[sp - 1] = v >> 31;
          pc++;
          break;
        }
        case 0xc4: // i64.extend32_s
          sh[sp - 1] = sl[sp - 1] >> 31;
          pc++;
          break;

        // ---------------------------------------------------------------- floats (float.ts)
        case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: case 0x60: case 0x61: case 0x62: // prettier-ignore
        case 0x63: case 0x64: case 0x65: case 0x66: case 0x8b: case 0x8c: case 0x8d: case 0x8e: // prettier-ignore
        case 0x8f: case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: // prettier-ignore
        case 0x97: case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: // prettier-ignore
        case 0x9f: case 0xa0: case 0xa1: case 0xa2: case 0xa3: case 0xa4: case 0xa5: case 0xa6: // prettier-ignore
        case 0xa8: case 0xa9: case 0xaa: case 0xab: case 0xae: case 0xaf: case 0xb0: case 0xb1: // prettier-ignore
        case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7: case 0xb8: case 0xb9: // prettier-ignore
        case 0xba: case 0xbb: case 0xc5: case 0xc6: case 0xc7: case 0xc8: case 0xc9: case 0xca: // prettier-ignore
        case 0xcb: case 0xcc: { // prettier-ignore
          const r = floatStep(code[ci], sl, sh, sp);
          if (r < 0) { trap = -r; break run; }
          sp = r;
          pc++;
          break;
        }

        // ---------------------------------------------------------------- control
        case 0xe0: // Jump
          pc = code[ci + 1];
          break;
        case 0xe1: // JumpIf
          sp--;
          pc = sl[sp] !== 0 ? code[ci + 1] : pc + 1;
          break;
        case 0xe2: // JumpUnless
          sp--;
          pc = sl[sp] === 0 ? code[ci + 1] : pc + 1;
          break;
        case 0xe3: {
          // BrTable
          sp--;
          const i = sl[sp] >>> 0, n = code[ci + 1];
          pc = pc + 1 + (i < n ? i : n);
          break;
        }
        case 0xe4: // Nip
          sp--;
          sl[sp - 1] = sl[sp];
          sh[sp - 1] = sh[sp];
          pc++;
          break;
        case 0xe5: {
          // Call
          if (this.depth >= this.limits.callDepth) { trap = Trap.CallStackExhausted; break run; }
          if (sp + code[ci + 3] > this.limits.stackHeight) { trap = Trap.ValueStackExhausted; break run; }
          fp = this.enterFrame(pc + 1, fp, nl, code[ci + 2]);
          nl = code[ci + 2];
          ll = this.ll;
          lh = this.lh;
          pc = code[ci + 1];
          break;
        }
        case 0xe6: {
          // CallIndirect
          const elements = this.env.tables[code[ci + 2]].elements;
          const i = sl[sp - 1] >>> 0;
          if (i >= elements.length) { trap = Trap.UndefinedElement; break run; }
          const v = elements[i];
          if (v === 0) { trap = Trap.UninitializedElement; break run; }
          const ref = this.env.refs.get(v) as FuncRef;
          if (ref.owner === this.env.owner) {
            const f = this.program.funcs[ref.index!];
            if (f.typeId !== code[ci + 1]) { trap = Trap.IndirectCallTypeMismatch; break run; }
            if (f.entry >= 0) {
              if (this.depth >= this.limits.callDepth) { trap = Trap.CallStackExhausted; break run; }
              if (sp - 1 + f.maxHeight > this.limits.stackHeight) { trap = Trap.ValueStackExhausted; break run; }
              sp--;
              fp = this.enterFrame(pc + 1, fp, nl, f.numLocals);
              nl = f.numLocals;
              ll = this.ll;
              lh = this.lh;
              pc = f.entry;
              break;
            }
          } else if (!sameSignature(ref.type, this.program.types[code[ci + 1]])) {
            trap = Trap.IndirectCallTypeMismatch;
            break run;
          }
          // A host function or another instance's function (embedding only).
          sp--;
          this.sp = sp;
          trap = this.callHost(ref);
          sp = this.sp;
          if (trap !== 0) { sp++; break run; }
          mem = memory ? memory.bytes : mem;
          dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
          memLen = mem.length;
          this.ensureMark();
          mark = this.mark;
          pc++;
          break;
        }
        case 0xe7: {
          // Return
          const d = this.depth - 1;
          this.depth = d;
          pc = this.fRet[d - 1];
          fp = this.fFp[d - 1];
          nl = this.fNl[d - 1];
          break;
        }
        case 0xe8: // Halt
          halted = true;
          break run;
        case 0xe9: {
          // CallHost (embedding only)
          this.sp = sp;
          trap = this.callHost(this.env.hostFuncs[code[ci + 1]]!);
          sp = this.sp;
          if (trap !== 0) break run;
          mem = memory ? memory.bytes : mem;
          dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
          memLen = mem.length;
          this.ensureMark();
          mark = this.mark;
          pc++;
          break;
        }

        // ---------------------------------------------------------------- host I/O and bulk memory
        case 0xea: // InputSize
          sl[sp] = this.env.input.length;
          sh[sp] = 0;
          sp++;
          pc++;
          break;
        case 0xeb: // InputRead
        case 0xec: // OutputWrite
        case 0xed: // MemoryCopy
        case 0xee: // MemoryFill
        case 0xf9: {
          // MemoryInit
          this.sp = sp;
          trap = this.chunk(code[ci], code[ci + 1], mem);
          if (trap !== 0) break run;
          mark = this.mark;
          if (this.sp !== sp) pc++; // operands popped: the operation is complete
          sp = this.sp;
          break;
        }
        case 0xef: // Trap
          trap = code[ci + 1];
          break run;
        case 0xf2: // Exit
          sp--;
          this.exitCode = sl[sp] >>> 0;
          halted = true;
          break run;
        case 0xd2: // RefFunc
          sl[sp] = this.env.funcIds[code[ci + 1]];
          sh[sp] = 0;
          sp++;
          pc++;
          break;
        case 0x25: // TableGet
        case 0x26: // TableSet
        case 0xf3: // TableSize
        case 0xf4: // TableGrow
        case 0xf5: // TableFill
        case 0xf6: // TableCopy
        case 0xf7: // TableInit
        case 0xf8: {
          // SegmentDrop
          this.sp = sp;
          trap = this.tableOp(code[ci], code[ci + 1], code[ci + 2]);
          if (trap !== 0) break run;
          // a resumable operation advances only once it popped its operands
          if (code[ci] < 0xf5 || code[ci] > 0xf7 || this.sp < sp) pc++;
          sp = this.sp;
          break;
        }
        case 0xf0: {
          // GlobalGetExt (embedding only)
          const g = this.env.importedGlobals[code[ci + 1]];
          writeSlot(sl, sh, sp++, g.type, g.value);
          pc++;
          break;
        }
        case 0xf1: {
          // GlobalSetExt (embedding only)
          const g = this.env.importedGlobals[code[ci + 1]];
          sp--;
          g.value = (BigInt(sh[sp]) << 32n) | BigInt(sl[sp] >>> 0);
          pc++;
          break;
        }
        default:
          throw new Error(`bad lowered opcode 0x${code[ci].toString(16)} at pc ${pc}`);
      }
    }

    this.pc = pc;
    this.sp = sp;
    this.fp = fp;
    this.nl = nl;
    if (trap !== 0) this.setTrap(trap);
    else if (halted) this.status = Status.Halted;
    return budget - fuel;
  }

  /**
   * One step of a resumable operation (see isa.ts): moves at most one chunk that stays inside one
   * 32-byte leaf on each side. Pops the operands when the count reaches 0. Returns a Trap code or 0.
   */
  private chunk(op: number, a: number, mem: Uint8Array): number {
    const sl = this.sl;
    const sp = this.sp;
    const memLen = mem.length;
    const ep = this.epoch;
    const mark = this.mark;
    if (op === 0xeb || op === 0xed || op === 0xf9) {
      // InputRead [dst, off, len] / MemoryCopy [dst, src, n] / MemoryInit [dst, off, n] (a = entry)
      const dst = sl[sp - 3] >>> 0, src = sl[sp - 2] >>> 0, n = sl[sp - 1] >>> 0;
      const from = op === 0xeb ? this.env.input : op === 0xf9 ? this.env.dataSegs[a - this.env.tables.length - this.env.elemSegs.length] : mem;
      if (src + n > from.length) return op === 0xeb ? Trap.InputOutOfBounds : Trap.OutOfBoundsMemory;
      if (dst + n > memLen) return Trap.OutOfBoundsMemory;
      if (n === 0) {
        this.sp = sp - 3;
        return 0;
      }
      if (op === 0xed && dst > src) {
        // Backwards: the chunk ends at the end of the remaining range.
        const de = dst + n, se = src + n;
        const k = chunkBackward(n, de, se);
        mem.copyWithin(de - k, se - k, se);
        mark[(de - k) >>> 5] = ep;
        sl[sp - 1] = n - k;
      } else {
        const k = chunkForward(n, dst, src);
        if (from === mem) mem.copyWithin(dst, src, src + k);
        else for (let i = 0; i < k; i++) mem[dst + i] = from[src + i]; // <= 32 bytes: a subarray per chunk was most of a run's garbage
        mark[dst >>> 5] = ep;
        sl[sp - 3] = dst + k;
        sl[sp - 2] = src + k;
        sl[sp - 1] = n - k;
        if (op === 0xeb && n === k) {
          const log = this.inputCopyEnds;
          if (log.length >= 2 * INPUT_COPY_LOG) log.splice(0, 2);
          log.push(dst + k, src + k);
        }
      }
      if (sl[sp - 1] === 0) this.sp = sp - 3;
      return 0;
    }
    if (op === 0xee) {
      // MemoryFill [dst, value, n]
      const dst = sl[sp - 3] >>> 0, n = sl[sp - 1] >>> 0;
      if (dst + n > memLen) return Trap.OutOfBoundsMemory;
      if (n === 0) {
        this.sp = sp - 3;
        return 0;
      }
      const k = chunkForward(n, dst, dst);
      mem.fill(sl[sp - 2] & 0xff, dst, dst + k);
      mark[dst >>> 5] = ep;
      sl[sp - 3] = dst + k;
      sl[sp - 1] = n - k;
      if (n === k) this.sp = sp - 3;
      return 0;
    }
    // OutputWrite [src, len]
    const src = sl[sp - 2] >>> 0, n = sl[sp - 1] >>> 0;
    if (src + n > memLen) return Trap.OutOfBoundsMemory;
    if (this.outLen + n > this.limits.outputBytes) return Trap.OutputLimit;
    if (n === 0) {
      this.sp = sp - 2;
      return 0;
    }
    const k = chunkForward(n, src, this.outLen);
    if (this.outLen + k > this.out.length) {
      const grown = new Uint8Array(Math.min(this.limits.outputBytes, Math.max(256, this.out.length * 2, this.outLen + k)));
      grown.set(this.out);
      this.out = grown;
    }
    for (let i = 0, o = this.outLen; i < k; i++) this.out[o + i] = mem[src + i];
    this.outLen += k;
    sl[sp - 2] = src + k;
    sl[sp - 1] = n - k;
    if (n === k) this.sp = sp - 2;
    return 0;
  }

  /**
   * Table and segment instructions (isa.ts): table.get/set/size, TableGrow, the resumable
   * TableFill, TableCopy and TableInit (one element per step; each step first checks the remaining
   * range, so an out-of-bounds operation traps before writing anything), and segment drops.
   * Returns a Trap code or 0; pops and pushes through this.sp.
   */
  private tableOp(op: number, a: number, b: number): number {
    const sl = this.sl, sh = this.sh, env = this.env;
    const sp = this.sp;
    const u = (i: number) => sl[sp - 1 - i] >>> 0; // i-th value from the top
    switch (op) {
      case 0x25: {
        // TableGet [i] -> [ref]
        const t = env.tables[a].elements, i = u(0);
        if (i >= t.length) return Trap.OutOfBoundsTable;
        sl[sp - 1] = t[i];
        sh[sp - 1] = 0;
        return 0;
      }
      case 0x26: {
        // TableSet [i, ref]
        const t = env.tables[a], i = u(1);
        if (i >= t.elements.length) return Trap.OutOfBoundsTable;
        t.elements[i] = u(0);
        t.version++;
        this.sp = sp - 2;
        return 0;
      }
      case 0xf3: // TableSize [] -> [len]
        sl[sp] = env.tables[a].elements.length;
        sh[sp] = 0;
        this.sp = sp + 1;
        return 0;
      case 0xf4: {
        // TableGrow [init, n] -> [old, old, init, n] (n = 0 for a null init) or [-1, 0, 0, 0]
        const init = u(1), n = u(0);
        const old = env.tables[a].grow(n, 0);
        const ok = old >= 0;
        sl[sp - 2] = old;
        sl[sp - 1] = ok ? old : 0;
        sl[sp] = ok ? init : 0;
        sl[sp + 1] = ok && init !== 0 ? n : 0;
        sh[sp - 2] = sh[sp - 1] = sh[sp] = sh[sp + 1] = 0;
        this.sp = sp + 2;
        return 0;
      }
      case 0xf5: {
        // TableFill [i, ref, n]
        const t = env.tables[a], i = u(2), v = u(1), n = u(0);
        if (i + n > t.elements.length) return Trap.OutOfBoundsTable;
        if (n === 0) {
          this.sp = sp - 3;
          return 0;
        }
        t.elements[i] = v;
        t.version++;
        sl[sp - 3] = i + 1;
        sl[sp - 1] = n - 1;
        if (n === 1) this.sp = sp - 3;
        return 0;
      }
      case 0xf6:
      case 0xf7: {
        // TableCopy [d, s, n] from table b (backwards when d > s) / TableInit [d, s, n] from segment b - T
        const dst = env.tables[a];
        const src = op === 0xf6 ? env.tables[b].elements : env.elemSegs[b - env.tables.length];
        const d = u(2), s = u(1), n = u(0);
        if (s + n > src.length || d + n > dst.elements.length) return Trap.OutOfBoundsTable;
        if (n === 0) {
          this.sp = sp - 3;
          return 0;
        }
        if (op === 0xf6 && d > s) dst.elements[d + n - 1] = src[s + n - 1];
        else {
          dst.elements[d] = src[s];
          sl[sp - 3] = d + 1;
          sl[sp - 2] = s + 1;
        }
        dst.version++;
        sl[sp - 1] = n - 1;
        if (n === 1) this.sp = sp - 3;
        return 0;
      }
      case 0xf8: {
        // SegmentDrop: an element segment's entry, else a data segment's
        const e = a - env.tables.length;
        if (e < env.elemSegs.length) env.elemSegs[e] = [];
        else env.dataSegs[e - env.elemSegs.length] = new Uint8Array(0);
        return 0;
      }
    }
    throw new Error(`bad table opcode 0x${op.toString(16)}`);
  }

  /**
   * Calls a function outside this program (embedding only): pops its arguments, pushes its
   * results. Returns a Trap code (the callee's trap, or HostError) or 0.
   */
  private callHost(ref: FuncRef): number {
    const np = ref.type.params.length;
    const args: bigint[] = [];
    for (let i = np - 1; i >= 0; i--) args.push(this.peek(i));
    if (this.sp - np + ref.type.results.length > this.limits.stackHeight) return Trap.ValueStackExhausted;
    let results: bigint[];
    try {
      results = ref.call(args);
    } catch (e) {
      if (e instanceof TrapError) return e.kind;
      if (e instanceof RangeError) return Trap.CallStackExhausted; // the host's own stack
      return Trap.HostError;
    }
    this.sp -= np;
    results.forEach((r, i) => this.push(r, ref.type.results[i]));
    return 0;
  }
}

/**
 * A frozen machine state. Memory is kept as 64 KiB pages shared between consecutive snapshots of
 * the same machine: only pages written since the previous snapshot are copied.
 */
export interface Snapshot {
  readonly program: Program;
  readonly env: MachineEnv; // its memory, tables, globals and segments are replaced by the fields below
  readonly pc: number;
  readonly status: number;
  readonly trap: number;
  readonly steps: number;
  readonly exitCode: number;
  readonly stackLo: Int32Array;
  readonly stackHi: Int32Array;
  readonly localsLo: Int32Array;
  readonly localsHi: Int32Array;
  readonly fp: number;
  readonly nl: number;
  readonly frames: { ret: Int32Array; fp: Int32Array; nl: Int32Array };
  readonly globalsLo: Int32Array;
  readonly globalsHi: Int32Array;
  readonly tables: readonly number[][];
  readonly elemSegs: readonly number[][];
  readonly dataSegs: readonly Uint8Array[];
  readonly pages: readonly Uint8Array[];
  readonly memoryMax: number | undefined;
  readonly output: Uint8Array;
}

const LEAVES_PER_PAGE = PAGE_BYTES / LEAF_BYTES;

/** Function metadata lookup used by the embedding and the CLI. */
export function funcByName(program: Program, name: string): FuncInfo | undefined {
  const e = program.exports.find((x) => x.kind === "func" && x.name === name);
  return e ? program.funcs[e.index] : undefined;
}

export { DEFAULT_LIMITS, PAGE_BYTES };
