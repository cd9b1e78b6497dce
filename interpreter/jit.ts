/**
 * The compiled tier: translates the lowered program (isa.ts) into JavaScript source that V8
 * optimises, executing exactly the steps `Machine.exec` executes, with exact step accounting.
 * `Machine.run` uses it when available; `exec` stays the reference semantics and the fallback.
 *
 *   const jit = Jit.for(program);         // cached per Program; compiles after a warm-up
 *   const n = jit.run(machine, budget);   // 0 <= n <= budget steps, machine left as exec leaves it
 *   // then exec(min(budget - n, jit.execNext)) when the machine still runs (Machine.run does this)
 *
 * Design (docs/MACHINE.md, "Compiled tier"):
 *
 * - Analysis. Every defined function [entry, next entry) is analysed by abstract interpretation
 *   from its entry: the operand stack height at every reachable pc (static in lowered code) and,
 *   per stack slot and per local, whether its high half can be non-zero ("K64": an i64 value) or
 *   is always 0 (an i32 value: exec keeps i32 slots and locals zero-extended). A local is K64 when
 *   any K64 value is stored into it (fixpoint). Functions the analysis cannot handle (unknown
 *   opcode, inconsistent heights, jumps out of the function, too many locals) are not compiled.
 *
 * - Blocks. Leaders: the function entry, jump and br_table targets, the instruction after any
 *   jump/branch/call/return/trap, every instruction the JIT leaves to exec (CallHost,
 *   GlobalGetExt/SetExt, InputRead, OutputWrite, MemoryCopy, MemoryFill) and the one after it, and
 *   a forced leader every MAX_BLOCK instructions. A block charges its whole length on entry:
 *   `if ((fuel -= LEN) < 0)` restores the fuel and exits *before* the block (the machine is then
 *   in the state at the leader). Exits inside a block (traps, yields) refund what they did not run.
 *
 * - One JS function per wasm function: `f(rpc, fp, d, b, h, ...args)`. Wasm locals and operand
 *   stack slots are JS locals (`l3`, `l3h`, `s2`, `s2h`; hi halves only where K64 is possible).
 *   Control flow is `for (;;) switch (blk)` over the blocks in pc order (falling through where
 *   the code falls through). Within a block, pure i32 values (constants, local reads, arithmetic)
 *   stay pending as JS expressions on a compile-time stack and are folded into their consumer;
 *   they are written to slot variables at block ends, before a local they read is overwritten,
 *   before a slot variable they read is reused, and in exit stubs. `rpc < 0` is a call from
 *   compiled code (arguments in `args`, frame at `fp`/depth `d`/stack base `b`); `rpc >= 0`
 *   resumes at leader `rpc` loading the frame's locals and `h` stack slots from the machine.
 *   A function larger than REGION_SIZE instructions is split into regions (contiguous runs of
 *   blocks, cut preferably where no loop spans the cut), one JS function each, behind a
 *   dispatcher `f(...)`: control passing between regions goes through the machine arrays, like an
 *   exit followed by a resume. V8 optimises bounded functions sooner and at all (its limit is
 *   60 KiB of bytecode per function).
 *
 * - Calls are JS calls, checked like exec's Call at the same step (depth, then stack height).
 *   A JS stack budget (estimated frame sizes) bounds the native recursion: past it the caller
 *   yields before the call, exec performs the call, and the callee is resumed as the new bottom.
 *   Results come back as the return value (lo) and `RH` (hi).
 *
 * - Exits (out of fuel at a block, trap, yield): the innermost function writes its locals and
 *   stack slots to the machine arrays at its fp / stack base and sets pc, sp, fp, nl, depth (and
 *   status/trap), sets XIT and returns; each caller sees XIT after its call, writes its own
 *   locals, its stack below the call's arguments and the frame record (fRet/fFp/fNl) exactly as
 *   exec's Call writes it, and returns. Traps: pc at the trapping instruction, operands still on
 *   the stack (every check happens before any mutation), the trapping step counted.
 *
 * - `run` resumes the innermost machine frame at its pc when that pc is a leader of a compiled
 *   function (else it returns and `execNext` tells Machine.run how many steps exec should take:
 *   to the end of the current block, the exact step count of a resumable operation, ...). When
 *   a resumed function returns, `run` performs the Return on the machine and resumes the caller,
 *   so after the first return everything runs natively again.
 *
 * Memory stores stamp `mark` exactly as exec (both the first and the last byte's leaf);
 * memory.grow goes through Memory.grow and reallocates `mark` like Machine.ensureMark.
 *
 * Left to exec: CallHost, GlobalGetExt/SetExt, CallIndirect to a foreign or host function, the
 * resumable operations, the entry/invoke stubs, a frame whose i32 slots or locals have a non-zero
 * high half (only possible from a hand-made state), a resume at depth 1, and whatever remains of a
 * budget smaller than the next block. The generated code never calls back into user code (host
 * calls go through exec), so one Jit serves any number of machines, one run at a time.
 */
import { LEAF_BYTES, Status, chunkBackward, chunkForward } from "./isa.js";
import type { Machine } from "./machine.js";
import type { Program, ValType } from "./program.js";
import { sameSignature } from "./program.js";
import { exactAsNumber, FLOAT_HELPERS, FLOAT_PRELUDE, FLOAT_SHAPE, genFloat, isDoubleKind, SHAPE_K64, SHAPE_PUSH, takesFloatOperands } from "./jit-float.js";

/** Steps a program runs through exec before Jit.for compiles it. */
function defaultWarmup(program: Program): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.TRUEWASM_JIT_WARMUP;
  if (env !== undefined && env !== "" && Number.isFinite(Number(env))) return Number(env);
  return 100_000 + 50 * program.length;
}

/** Forced block length limit: bounds the exec fallback when the fuel left is below a block. */
const MAX_BLOCK = 512;
/** Functions larger than this many instructions are split into regions of about this size. */
const REGION_SIZE = 2000;
/**
 * Longest source of one generated function: V8 does not optimise functions of more than 60 KiB
 * of bytecode (--max-optimized-bytecode-size), about 0.8 byte per source character here.
 */
const MAX_REGION_CHARS = 48_000;
/** Functions larger than this (instructions) or with more locals/slots are left to exec. */
const MAX_FUNC_INSTRS = 200_000;
const MAX_VARS = 4000;
const MAX_PARAMS = 120;
/** Pending expressions deeper than this are written to their slot variable. */
const MAX_EXPR_DEPTH = 24;
/** Largest budget of one run (fuel stays a small integer in the generated code). */
const MAX_FUEL = 0x3fffffff;
/** Estimated bytes of JS stack the compiled frames of one run may use. */
const JS_STACK_BUDGET = 320 * 1024;

// exec-only opcodes (left to the interpreter; each is its own block)
const OP_CALLHOST = 0xe9,
  OP_INPUTREAD = 0xeb,
  OP_OUTPUTWRITE = 0xec,
  OP_MEMCOPY = 0xed,
  OP_MEMFILL = 0xee,
  OP_GGETEXT = 0xf0,
  OP_GSETEXT = 0xf1,
  OP_EXIT = 0xf2,
  OP_TABLEGET = 0x25,
  OP_TABLESET = 0x26,
  OP_REFFUNC = 0xd2,
  OP_TABLESIZE = 0xf3,
  OP_TABLEGROW = 0xf4,
  OP_TABLEFILL = 0xf5,
  OP_TABLECOPY = 0xf6,
  OP_TABLEINIT = 0xf7,
  OP_SEGDROP = 0xf8,
  OP_MEMINIT = 0xf9;

/** Left to exec: embedding-only, host and bulk operations, Exit, table and segment instructions, RefFunc. */
function isExecOnly(op: number): boolean {
  return (
    op === OP_CALLHOST || op === OP_GGETEXT || op === OP_GSETEXT || op === OP_TABLEGET || op === OP_TABLESET || op === OP_REFFUNC ||
    (op >= OP_INPUTREAD && op <= OP_MEMFILL) || (op >= OP_EXIT && op <= OP_MEMINIT)
  );
}

/** What TableGrow leaves for the TableFill that follows: four i32 values. */
const TABLE_GROW_PUSHES: ValType[] = ["i32", "i32", "i32", "i32"];

const isK64Type = (t: string): number => (t === "i64" || t === "f64" ? 1 : 0);
/** Value kinds of the float analysis (OR-merged bits): may be an f32, an f64, something else. */
const KF32 = 1, KF64 = 2, KINT = 4;
const kindOfType = (t: string): number => (t === "f32" ? KF32 : t === "f64" ? KF64 : KINT);

/** Per-function analysis result. */
interface FnInfo {
  fi: number;
  entry: number;
  end: number;
  numLocals: number;
  params: number[]; // K64 flags of the params
  nres: number;
  resK64: number;
  localK64: Uint8Array;
  /** Per local: KF32 / KF64 when every value stored into it is one (the local is a JS number), else other bits. */
  localKind: Uint8Array;
  pops: Int32Array; // per pc - entry: values the instruction pops
  hasHi: Uint8Array; // per stack height: some pc has a K64 value there
  maxH: number; // max height reached (params included)
  heights: Int32Array; // per pc - entry: height before the instruction, -1 unreachable
  masks: Int32Array; // per pc - entry: slot types (see k64At)
  leader: Uint8Array; // per pc - entry
  cost: number; // estimated JS frame bytes
}

/** The per-Program compiled code and its tables. */
export class Jit {
  readonly program: Program;
  /** After run() returns with the machine still running: steps exec should take before the next run(). */
  execNext = 1;
  /** Steps executed by compiled code so far (all machines of the program), for tests and tuning. */
  stepsRun = 0;
  /** Milliseconds spent analysing, generating and instantiating the code (0 until compiled). */
  compileMs = 0;
  /** Number of functions compiled / not compiled. */
  compiled = 0;
  skipped = 0;
  /** Number of JS region functions generated. */
  regionCount = 0;
  /** The generated JavaScript (for inspection). */
  source = "";
  /** Why functions were not compiled (function index -> reason), for diagnostics and tests. */
  readonly skippedReasons = new Map<number, string>();
  /** Set when a lazy compilation failed (the program then runs on exec alone). */
  error: unknown = undefined;

  private infos: (FnInfo | null)[] = [];
  private funcAt = new Int32Array(0); // pc -> defined function index (compiled ones), -1
  private blockEnd = new Int32Array(0); // pc -> last pc of its block (compiled functions)
  private api: GeneratedApi | null = null;
  private firstBody = 0;
  private ready = false;
  /** Steps still to leave to exec before compiling (see Jit.for). */
  private cold: number;

  private static readonly cache = new WeakMap<Program, Jit>();

  /**
   * The Jit of a program, shared by every machine running it. It compiles once the program has
   * run `warmup` steps through exec (default: 100,000 + 50 per instruction, about where compiling
   * and V8's own warm-up pay off; env TRUEWASM_JIT_WARMUP overrides), so short runs never pay.
   */
  static for(program: Program, warmup: number = defaultWarmup(program)): Jit {
    let j = Jit.cache.get(program);
    if (!j) {
      j = new Jit(program, { warmup });
      Jit.cache.set(program, j);
    }
    return j;
  }

  /** `warmup`: steps to leave to exec before compiling (default 0: compile now). */
  constructor(program: Program, opts: { warmup?: number; regionSize?: number } = {}) {
    this.program = program;
    this.regionSize = opts.regionSize ?? REGION_SIZE;
    this.cold = opts.warmup ?? 0;
    if (this.cold <= 0) this.compile();
  }

  private readonly regionSize: number;

  /** Compiles the program now (if not yet done). */
  compile(): void {
    if (this.ready) return;
    this.ready = true;
    const t0 = performance.now();
    const program = this.program;
    const regionSize = this.regionSize;
    const n = program.length;
    this.funcAt = new Int32Array(n).fill(-1);
    this.blockEnd = new Int32Array(n).fill(-1);
    const funcs = program.funcs;
    const entries = funcs.map((f, i) => [f.entry, i]).filter(([e]) => e >= 0).sort((a, b) => a[0] - b[0]);
    this.infos = funcs.map(() => null);
    this.firstBody = entries.length ? entries[0][0] : n;
    const entryOf = new Map<number, number>();
    funcs.forEach((g, i) => {
      if (g.entry >= 0) entryOf.set(g.entry, i);
    });
    for (let k = 0; k < entries.length; k++) {
      const [entry, fi] = entries[k];
      const end = k + 1 < entries.length ? entries[k + 1][0] : n;
      let info: FnInfo | null = null;
      try {
        info = analyze(program, fi, entry, end, entryOf);
      } catch (e) {
        info = null; // not compiled: exec runs it
        this.skippedReasons.set(fi, `analysis: ${e instanceof Error ? e.message : e}`);
      }
      this.infos[fi] = info;
    }
    // Generate every function; a function that fails is left to exec and its callers are
    // generated again (they call it through a yield to exec instead of a direct JS call).
    let bodies: string[] = [];
    const gens: (FnGen | null)[] = funcs.map(() => null);
    for (let again = true; again; ) {
      again = false;
      bodies = [];
      for (const info of this.infos) {
        if (!info) continue;
        try {
          // Regions whose source is too long for V8 to optimise are split further.
          for (let size = regionSize; ; size = Math.floor(size / 2)) {
            const g = (gens[info.fi] = new FnGen(program, info, this.infos, entryOf, size));
            const text = g.gen();
            if (g.longestRegion <= MAX_REGION_CHARS || size < 64) {
              bodies.push(text);
              break;
            }
          }
        } catch (e) {
          this.skippedReasons.set(info.fi, `codegen: ${e instanceof Error ? e.message : e}`);
          this.infos[info.fi] = null;
          again = true;
          break;
        }
      }
    }
    let compiled = 0;
    for (const info of this.infos) {
      if (!info) continue;
      compiled++;
      for (let pc = info.entry; pc < info.end; pc++) this.funcAt[pc] = info.fi;
      // block ends (for the exec hint when resuming mid-block)
      let last = info.end - 1;
      for (let pc = info.end - 1; pc >= info.entry; pc--) {
        this.blockEnd[pc] = last;
        if (info.leader[pc - info.entry]) last = pc - 1;
      }
    }
    this.compiled = compiled;
    this.skipped = entries.length - compiled;
    const source = PRELUDE + bodies.join("\n") + `\nconst FN = [${this.infos.map((i) => (i ? `f${i.fi}` : "null")).join(", ")}];\n` + EPILOGUE;
    const blk = new Int32Array(n).fill(-1);
    const rg = new Int32Array(n).fill(-1);
    const ht = new Int32Array(n).fill(-1);
    for (const info of this.infos) {
      if (!info) continue;
      const ids = blockIds(info);
      const regionOf = gens[info.fi]!.regionOf;
      for (let pc = info.entry; pc < info.end; pc++) {
        blk[pc] = ids[pc - info.entry];
        rg[pc] = regionOf[pc - info.entry];
        ht[pc] = info.heights[pc - info.entry];
      }
      this.regionCount += gens[info.fi]!.regions.length;
    }
    this.source = source;
    const R = { BLK: blk, RG: rg, HT: ht, FUNCS: funcs, TYPES: program.types, sameSignature, COSTS: this.infos.map((i) => i?.cost ?? 0), FLOAT: FLOAT_HELPERS };
    this.api = compiled > 0 ? (new Function("R", source)(R) as GeneratedApi) : null;
    this.compileMs = performance.now() - t0;
  }

  /** Whether a compiled function starts a block at `pc`. */
  isLeader(pc: number): boolean {
    const fi = this.funcAt[pc];
    if (fi < 0) return false;
    const info = this.infos[fi]!;
    return info.leader[pc - info.entry] === 1;
  }

  /**
   * Runs at most `budget` steps natively; returns the steps executed. Stops early (leaving a
   * consistent state) where exec must take over; `execNext` then says for how many steps.
   */
  run(m: Machine, budget: number): number {
    if (!this.ready) {
      if (this.cold > 0) {
        // still warming up: exec runs this much first
        this.execNext = Math.min(budget, this.cold);
        this.cold -= this.execNext;
        return 0;
      }
      try {
        this.compile();
      } catch (e) {
        // a code generation bug must not stop the machine: exec runs everything
        this.error = e;
        this.api = null;
      }
    }
    const api = this.api;
    this.execNext = 1;
    // keep the fuel a small integer for V8 (Machine.run calls again for the rest)
    if (budget > MAX_FUEL) budget = MAX_FUEL;
    if (api === null || budget <= 0 || m.status !== Status.Running) {
      this.execNext = Infinity;
      return 0;
    }
    const code = this.program.code;
    let ready = false; // api.setup done (only once compiled code is about to run)
    for (;;) {
      if (m.status !== Status.Running) break;
      const fuel = ready ? api.getFuel() : budget;
      if (fuel <= 0) break;
      const pc = m.pc;
      const fi = pc >= 0 && pc < this.funcAt.length ? this.funcAt[pc] : -1;
      if (fi < 0) {
        // a stub (exec runs its one instruction), or a function that is not compiled
        this.execNext = pc < this.firstBody ? 1 : 4096;
        break;
      }
      const info = this.infos[fi]!;
      const rel = pc - info.entry;
      if (info.heights[rel] < 0) {
        this.execNext = 4096; // not reachable from the function entry: a state exec alone explains
        break;
      }
      if (!info.leader[rel]) {
        this.execNext = this.blockEnd[pc] - pc + 1;
        break;
      }
      const op = code[pc << 2];
      if (isExecOnly(op)) {
        this.execNext = execOnlySteps(m, op);
        break;
      }
      if (fuel < this.blockEnd[pc] - pc + 1) {
        // the block does not fit in the budget: exec runs the rest (fewer steps than the block)
        this.execNext = Infinity;
        break;
      }
      const h = info.heights[rel];
      const b = m.sp - h;
      if (m.depth <= 1 || b < 0 || !resumable(m, info, rel, b)) {
        this.execNext = 4096;
        break;
      }
      if (!ready) {
        api.setup(m, budget);
        ready = true;
      }
      const r = api.FN[fi]!(pc, m.fp, m.depth, b, h);
      if (api.getXit() !== 0) {
        // exited: the state is materialized. What should exec do next?
        // (a call it yields on, an instruction left to exec, or a block longer than the fuel left)
        const xop = code[m.pc << 2];
        this.execNext = m.status !== Status.Running || xop === 0xe5 || xop === 0xe6 ? 1 : isExecOnly(xop) ? execOnlySteps(m, xop) : Infinity;
        break;
      }
      // The resumed function returned: perform the Return on the machine, resume the caller.
      if (info.nres > 0) {
        m.sl[b] = r;
        m.sh[b] = info.resK64 ? api.getRH() : 0;
      }
      m.sp = b + info.nres;
      const d = m.depth - 1;
      m.depth = d;
      m.pc = m.fRet[d - 1];
      m.fp = m.fFp[d - 1];
      m.nl = m.fNl[d - 1];
    }
    const done = ready ? budget - api.getFuel() : 0;
    this.stepsRun += done;
    return done;
  }
}

/** Checks that the machine frame satisfies the analysis at a resume point (i32 halves are 0). */
function resumable(m: Machine, info: FnInfo, rel: number, b: number): boolean {
  if (m.nl !== info.numLocals) return false;
  const fp = m.fp;
  if (fp + info.numLocals > m.ll.length) return false;
  const lh = m.lh;
  for (let i = 0; i < info.numLocals; i++) if (!info.localK64[i] && lh[fp + i] !== 0) return false;
  // a local kept as a JS number holds no NaN but the canonical one (jit-float.ts)
  for (let i = 0; i < info.numLocals; i++) if (isDoubleKind(info.localKind[i]) && !exactAsNumber(info.localKind[i], m.ll[fp + i], lh[fp + i])) return false;
  const mask = info.masks[rel], h = info.heights[rel];
  const sh = m.sh;
  for (let k = 0; k < h; k++) if (!k64At(mask, k) && sh[b + k] !== 0) return false;
  return true;
}

/**
 * How many steps exec should take for an instruction the JIT leaves to it: 1, or for a resumable
 * operation its chunk count (exact for small ranges, a lower bound for large ones: exec then stops
 * inside the operation and the next run asks again), so that exec stops right after it, at a
 * leader, instead of running on.
 */
function execOnlySteps(m: Machine, op: number): number {
  if (op === OP_TABLEFILL || op === OP_TABLECOPY || op === OP_TABLEINIT) return tableSteps(m, op);
  if (op !== OP_INPUTREAD && op !== OP_OUTPUTWRITE && op !== OP_MEMCOPY && op !== OP_MEMFILL && op !== OP_MEMINIT) return 1;
  const sl = m.sl, sp = m.sp;
  const memLen = m.memoryBytes().length;
  if (op === OP_OUTPUTWRITE) {
    const src = sl[sp - 2] >>> 0, n = sl[sp - 1] >>> 0;
    if (n === 0 || src + n > memLen || m.outLen + n > m.limits.outputBytes) return 1; // one step pops or traps
    return n > 4096 ? Math.ceil(n / LEAF_BYTES) : chunksForward(n, src, m.outLen);
  }
  const dst = sl[sp - 3] >>> 0, src = sl[sp - 2] >>> 0, n = sl[sp - 1] >>> 0;
  const env = m.env;
  const srcLen =
    op === OP_INPUTREAD ? env.input.length : op === OP_MEMINIT ? env.dataSegs[m.code[m.pc * 4 + 1] - env.tables.length - env.elemSegs.length].length : memLen;
  if (n === 0 || dst + n > memLen || (op !== OP_MEMFILL && src + n > srcLen)) return 1;
  if (n > 4096) return Math.ceil(n / LEAF_BYTES);
  if (op === OP_MEMFILL) return chunksForward(n, dst, dst);
  if (op === OP_MEMCOPY && dst > src) {
    let de = dst + n, se = src + n, left = n, steps = 0;
    for (; left > 0; steps++) {
      const k = chunkBackward(left, de, se);
      de -= k;
      se -= k;
      left -= k;
    }
    return steps;
  }
  return chunksForward(n, dst, src);
}

/** Steps of TableFill / TableCopy / TableInit: one per element, or 1 when it pops or traps at once. */
function tableSteps(m: Machine, op: number): number {
  const sl = m.sl, sp = m.sp, env = m.env, ci = m.pc * 4;
  const d = sl[sp - 3] >>> 0, s = sl[sp - 2] >>> 0, n = sl[sp - 1] >>> 0;
  const dstLen = env.tables[m.code[ci + 1]].elements.length;
  if (n === 0 || d + n > dstLen) return 1;
  if (op === OP_TABLEFILL) return n;
  const b = m.code[ci + 2];
  const srcLen = op === OP_TABLECOPY ? env.tables[b].elements.length : env.elemSegs[b - env.tables.length].length;
  return s + n > srcLen ? 1 : n;
}

/** Steps (chunks, isa.ts) of a forward resumable operation over n bytes from addresses a and b. */
function chunksForward(n: number, a: number, b: number): number {
  let steps = 0;
  for (; n > 0; steps++) {
    const k = chunkForward(n, a, b);
    a += k;
    b += k;
    n -= k;
  }
  return steps;
}

// ------------------------------------------------------------------------------------------------
// Analysis

function globalKindOfSlot(program: Program, slot: number, imported: boolean): number {
  for (let g = 0; g < program.globals.length; g++) {
    const gi = program.globals[g];
    if (!!gi.import === imported && program.globalSlot[g] === slot) return kindOfType(gi.type);
  }
  throw new Error("unknown global");
}

function globalTypeOfSlot(program: Program, slot: number, imported: boolean): number {
  for (let g = 0; g < program.globals.length; g++) {
    const gi = program.globals[g];
    if (!!gi.import === imported && program.globalSlot[g] === slot) return isK64Type(gi.type);
  }
  throw new Error("unknown global");
}

/** Slot types are bitmasks: bit k = slot k may hold a K64 value; slots >= MASK_BITS are K64. */
const MASK_BITS = 30;
const lowMask = (h: number): number => (h >= MASK_BITS ? 0x3fffffff : (1 << h) - 1);
/** K64 flag of slot k in a type mask. */
const k64At = (mask: number, k: number): number => (k >= MASK_BITS ? 1 : (mask >>> k) & 1);

/**
 * Abstract interpretation of one function from its entry: stack height and slot types at every
 * reachable pc, K64 locals (fixpoint: a local is K64 once a K64 value is stored into it; its
 * reads are then re-propagated), block leaders. Throws when the function cannot be compiled.
 */
function analyze(program: Program, fi: number, entry: number, end: number, entryOf: Map<number, number>): FnInfo {
  const code = program.code;
  const f = program.funcs[fi];
  const type = program.types[f.typeIndex];
  const len = end - entry;
  if (len > MAX_FUNC_INSTRS) throw new Error("too big");
  const params = type.params.map(isK64Type);
  if (params.length > MAX_PARAMS) throw new Error("too many params");
  if (type.results.length > 1) throw new Error("multi-value");
  const numLocals = f.numLocals;
  if (numLocals < params.length) throw new Error("bad locals");
  if (numLocals > MAX_VARS) throw new Error("too many locals");
  const localK64 = new Uint8Array(numLocals);
  params.forEach((k, i) => (localK64[i] = k));
  const localKind = new Uint8Array(numLocals); // 0 until a value is stored (declared locals)
  type.params.forEach((t, i) => (localKind[i] = kindOfType(t)));
  // reads of each local (re-propagated when the local becomes K64)
  const gets: number[][] = [];
  for (let r = 0; r < len; r++) {
    const ci = (entry + r) << 2;
    if (code[ci] === 0x20) {
      const a = code[ci + 1];
      if (a < 0 || a >= numLocals) throw new Error("bad local");
      (gets[a] ??= []).push(r);
    }
  }
  const heights = new Int32Array(len).fill(-1);
  const masks = new Int32Array(len);
  // slot kinds (float analysis): bit k of mF32 / mF64 / mInt = slot k may be an f32 / f64 / other
  const mF32 = new Int32Array(len), mF64 = new Int32Array(len), mInt = new Int32Array(len);
  const pops = new Int32Array(len);
  const isTarget = new Uint8Array(len);
  const after = new Uint8Array(len); // the instruction after a terminator or an exec-only op
  const queued = new Uint8Array(len);
  const work = new Int32Array(len + 1);
  let nw = 0;
  const enqueue = (r: number) => {
    if (!queued[r]) {
      queued[r] = 1;
      work[nw++] = r;
    }
  };
  const merge = (pc: number, h: number, mask: number, f32: number, f64: number, fi: number) => {
    if (pc < entry || pc >= end) throw new Error("jump out of function");
    const r = pc - entry;
    const low = lowMask(h);
    mask &= low;
    f32 &= low;
    f64 &= low;
    fi &= low;
    if (heights[r] === -1) {
      heights[r] = h;
      masks[r] = mask;
      mF32[r] = f32;
      mF64[r] = f64;
      mInt[r] = fi;
      enqueue(r);
    } else if (heights[r] !== h) throw new Error("inconsistent height");
    else if ((masks[r] | mask) !== masks[r] || (mF32[r] | f32) !== mF32[r] || (mF64[r] | f64) !== mF64[r] || (mInt[r] | fi) !== mInt[r]) {
      masks[r] |= mask;
      mF32[r] |= f32;
      mF64[r] |= f64;
      mInt[r] |= fi;
      enqueue(r);
    }
  };
  let pmask = 0, p32 = 0, p64 = 0, pint = 0;
  params.forEach((k, i) => {
    if (i >= MASK_BITS) return;
    if (k) pmask |= 1 << i;
    const kind = localKind[i];
    if (kind === KF32) p32 |= 1 << i;
    else if (kind === KF64) p64 |= 1 << i;
    else pint |= 1 << i;
  });
  merge(entry, params.length, pmask, p32, p64, pint);
  const sig = (ti: number) => {
    const t = program.types[ti];
    if (!t) throw new Error("bad type");
    return t;
  };
  while (nw > 0) {
    const r = work[--nw];
    queued[r] = 0;
    const pc = entry + r;
    const h = heights[r];
    const mask = masks[r];
    const kindAt = (k: number): number =>
      k >= MASK_BITS ? KINT : (((mF32[r] >>> k) & 1) * KF32) | (((mF64[r] >>> k) & 1) * KF64) | (((mInt[r] >>> k) & 1) * KINT);
    const ci = pc << 2;
    const op = code[ci], a = code[ci + 1];
    let pop = 0;
    let push = -1; // type of the pushed value, -1: none
    let pk = KINT; // float analysis kind of the pushed value
    let pushes: ValType[] | null = null; // instead, several values (multi-value calls, TableGrow)
    let falls = true;
    let term = false;
    switch (op) {
      case 0x1a: pop = 1; break; // prettier-ignore
      case 0x1b: pop = 3; push = h >= 3 ? k64At(mask, h - 3) | k64At(mask, h - 2) : 0; pk = h >= 3 ? kindAt(h - 3) | kindAt(h - 2) : KINT; break; // prettier-ignore
      case 0x20: push = localK64[a]; pk = localKind[a]; break; // prettier-ignore
      case 0x21:
      case 0x22: {
        if (a < 0 || a >= numLocals) throw new Error("bad local");
        if (h < 1) throw new Error("stack underflow");
        const vk = kindAt(h - 1);
        if ((k64At(mask, h - 1) && !localK64[a]) || (localKind[a] | vk) !== localKind[a]) {
          if (k64At(mask, h - 1)) localK64[a] = 1;
          localKind[a] |= vk;
          for (const g of gets[a] ?? []) if (heights[g] >= 0) enqueue(g);
        }
        pop = 1;
        if (op === 0x22) {
          push = k64At(mask, h - 1);
          pk = vk;
        }
        break;
      }
      case 0x23: push = globalTypeOfSlot(program, a, false); pk = globalKindOfSlot(program, a, false); break; // prettier-ignore
      case 0x24: pop = 1; break; // prettier-ignore
      case 0x28: case 0x2c: case 0x2d: case 0x2e: case 0x2f: pop = 1; push = 0; break; // prettier-ignore
      case 0x29: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: pop = 1; push = 1; break; // prettier-ignore
      case 0x36: case 0x37: case 0x3a: case 0x3b: case 0x3c: case 0x3d: case 0x3e: pop = 2; break; // prettier-ignore
      case 0x3f: case 0x41: case 0xea: push = 0; break; // prettier-ignore
      case 0x42: push = 1; break; // prettier-ignore
      case 0x40: case 0x45: case 0x50: case 0x67: case 0x68: case 0x69: case 0xa7: case 0xc0: case 0xc1: pop = 1; push = 0; break; // prettier-ignore
      case 0x79: case 0x7a: case 0x7b: case 0xac: case 0xad: case 0xc2: case 0xc3: case 0xc4: pop = 1; push = 1; break; // prettier-ignore
      case 0xe0: // Jump
        isTarget[a - entry] = 1;
        merge(a, h, mask, mF32[r], mF64[r], mInt[r]);
        falls = false;
        term = true;
        break;
      case 0xe1:
      case 0xe2:
        pop = 1;
        if (h < 1) throw new Error("stack underflow");
        if (a < entry || a >= end) throw new Error("jump out of function");
        isTarget[a - entry] = 1;
        merge(a, h - 1, mask, mF32[r], mF64[r], mInt[r]);
        term = true;
        break;
      case 0xe3:
        pop = 1;
        if (h < 1 || a < 0) throw new Error("bad br_table");
        for (let k = 0; k <= a; k++) {
          if (r + 1 + k >= len) throw new Error("bad br_table");
          isTarget[r + 1 + k] = 1;
          merge(pc + 1 + k, h - 1, mask, mF32[r], mF64[r], mInt[r]);
        }
        falls = false;
        break;
      case 0xe4: pop = 2; push = h >= 1 ? k64At(mask, h - 1) : 0; pk = h >= 1 ? kindAt(h - 1) : KINT; break; // prettier-ignore
      case 0xe5: {
        const callee = entryOf.get(a);
        if (callee === undefined) throw new Error("bad call");
        const ct = sig(program.funcs[callee].typeIndex);
        pop = ct.params.length;
        if (ct.results.length > 1) pushes = ct.results;
        else if (ct.results.length) (push = isK64Type(ct.results[0])), (pk = kindOfType(ct.results[0]));
        term = true;
        break;
      }
      case 0xe6: {
        const ct = sig(a);
        pop = ct.params.length + 1;
        if (ct.results.length > 1) pushes = ct.results;
        else if (ct.results.length) (push = isK64Type(ct.results[0])), (pk = kindOfType(ct.results[0]));
        term = true;
        break;
      }
      case 0xe7: // Return
        if (h !== type.results.length) throw new Error("bad return height");
        falls = false;
        term = true;
        break;
      case 0xef: // Trap
        if (a === 0) throw new Error("trap 0");
        falls = false;
        term = true;
        break;
      case OP_CALLHOST: {
        const g = program.funcs[a];
        if (!g) throw new Error("bad host call");
        const ct = sig(g.typeIndex);
        pop = ct.params.length;
        if (ct.results.length > 1) pushes = ct.results;
        else if (ct.results.length) (push = isK64Type(ct.results[0])), (pk = kindOfType(ct.results[0]));
        term = true;
        break;
      }
      case OP_INPUTREAD: case OP_MEMCOPY: case OP_MEMFILL: pop = 3; term = true; break; // prettier-ignore
      case OP_OUTPUTWRITE: pop = 2; term = true; break; // prettier-ignore
      case OP_GGETEXT: push = globalTypeOfSlot(program, a, true); pk = globalKindOfSlot(program, a, true); term = true; break; // prettier-ignore
      case OP_GSETEXT: pop = 1; term = true; break; // prettier-ignore
      case OP_EXIT: pop = 1; term = true; break; // prettier-ignore
      case OP_REFFUNC: case OP_TABLESIZE: push = 0; term = true; break; // prettier-ignore
      case OP_TABLEGET: pop = 1; push = 0; term = true; break; // prettier-ignore
      case OP_TABLESET: pop = 2; term = true; break; // prettier-ignore
      case OP_TABLEGROW: pop = 2; pushes = TABLE_GROW_PUSHES; term = true; break; // prettier-ignore
      case OP_TABLEFILL: case OP_TABLECOPY: case OP_TABLEINIT: case OP_MEMINIT: pop = 3; term = true; break; // prettier-ignore
      case OP_SEGDROP: term = true; break; // prettier-ignore
      default:
        if ((op >= 0x46 && op <= 0x4f) || (op >= 0x6a && op <= 0x78) || (op >= 0x51 && op <= 0x5a)) {
          pop = 2;
          push = 0;
        } else if (op >= 0x7c && op <= 0x8a) {
          pop = 2;
          push = 1;
        } else if (FLOAT_SHAPE[op] !== 0) {
          // floats (jit-float.ts): loads, stores, constants, numeric operations
          const shape = FLOAT_SHAPE[op];
          pop = shape & 3;
          if (shape & SHAPE_PUSH) {
            push = shape & SHAPE_K64 ? 1 : 0;
            pk = (shape >> 4) & 7;
          }
        } else throw new Error(`opcode 0x${op.toString(16)}`);
    }
    if (h < pop) throw new Error("stack underflow");
    pops[r] = pop;
    if (term && r + 1 < len) after[r + 1] = 1;
    if (falls) {
      if (r + 1 >= len) throw new Error("falls off the function");
      const nh = h - pop;
      let nm = mask & lowMask(nh);
      let n32 = mF32[r] & lowMask(nh), n64 = mF64[r] & lowMask(nh), ni = mInt[r] & lowMask(nh);
      if (pushes !== null) {
        pushes.forEach((t, j) => {
          const k = nh + j, kind = kindOfType(t);
          if (k >= MASK_BITS) return;
          if (isK64Type(t)) nm |= 1 << k;
          if (kind & KF32) n32 |= 1 << k;
          if (kind & KF64) n64 |= 1 << k;
          if (kind & KINT) ni |= 1 << k;
        });
        merge(pc + 1, nh + pushes.length, nm, n32, n64, ni);
      } else if (push >= 0) {
        if (nh < MASK_BITS) {
          if (push) nm |= 1 << nh;
          if (pk & KF32) n32 |= 1 << nh;
          if (pk & KF64) n64 |= 1 << nh;
          if (pk & KINT) ni |= 1 << nh;
        }
        merge(pc + 1, nh + 1, nm, n32, n64, ni);
      } else merge(pc + 1, nh, nm, n32, n64, ni);
    }
  }

  // Leaders, forced every MAX_BLOCK instructions; slot hi variables; the height bound.
  const leader = new Uint8Array(len);
  leader[0] = 1;
  let maxH = params.length;
  let run = 0;
  let hiMask = 0;
  for (let r = 0; r < len; r++) {
    const h = heights[r];
    if (h < 0) {
      run = 0;
      continue;
    }
    const op = code[(entry + r) << 2];
    if (isTarget[r] || after[r] || isExecOnly(op) || (r > 0 && isExecOnly(code[(entry + r - 1) << 2]))) leader[r] = 1;
    if (run >= MAX_BLOCK) leader[r] = 1;
    if (leader[r]) run = 0;
    run++;
    if (h > maxH) maxH = h;
    hiMask |= masks[r];
  }
  if (numLocals + maxH > MAX_VARS) throw new Error("too many variables");
  const hasHi = new Uint8Array(maxH + 1);
  for (let k = 0; k < maxH; k++) hasHi[k] = k64At(hiMask, k);
  const cost = 160 + 16 * (numLocals * 2 + maxH * 2 + 24);
  return {
    fi,
    entry,
    end,
    numLocals,
    params,
    nres: type.results.length,
    resK64: type.results.length ? isK64Type(type.results[0]) : 0,
    localK64,
    localKind,
    pops,
    hasHi,
    maxH,
    heights,
    masks,
    leader,
    cost,
  };
}

const blockIdCache = new WeakMap<FnInfo, Int32Array>();
/** pc - entry -> block id (consecutive over reachable leaders in pc order), -1 elsewhere. */
function blockIds(info: FnInfo): Int32Array {
  let ids = blockIdCache.get(info);
  if (ids) return ids;
  ids = new Int32Array(info.heights.length).fill(-1);
  let n = 0;
  for (let r = 0; r < ids.length; r++) if (info.leader[r] && info.heights[r] >= 0) ids[r] = n++;
  blockIdCache.set(info, ids);
  return ids;
}

// ------------------------------------------------------------------------------------------------
// Code generation

/** A value on the compile-time operand stack. */
export interface Ent {
  lo: string; // JS expression of the low half (an int32)
  hi: string | null; // null: an i32 value (hi is 0); else a simple expression (variable or literal)
  simple: boolean; // lo (or d) is a variable or a literal
  refs: string[]; // variables the expressions read
  inVar: boolean; // the value is exactly in its slot variables (s{k}, and s{k}h clean or K64)
  depth: number;
  /** A float value held as a JS number (jit-float.ts): its expression (lo and hi unused), else null. */
  d: string | null;
  w: number; // float width of a number entry (32 or 64)
}

const lit = (v: number): string => (v < 0 ? `(${v})` : String(v));
const isVarName = (s: string): boolean => /^[a-z]/.test(s);

const I32_BIN: Record<number, (a: string, b: string) => string> = {
  0x46: (a, b) => `(${a} === ${b} ? 1 : 0)`,
  0x47: (a, b) => `(${a} !== ${b} ? 1 : 0)`,
  0x48: (a, b) => `(${a} < ${b} ? 1 : 0)`,
  0x49: (a, b) => `((${a} >>> 0) < (${b} >>> 0) ? 1 : 0)`,
  0x4a: (a, b) => `(${a} > ${b} ? 1 : 0)`,
  0x4b: (a, b) => `((${a} >>> 0) > (${b} >>> 0) ? 1 : 0)`,
  0x4c: (a, b) => `(${a} <= ${b} ? 1 : 0)`,
  0x4d: (a, b) => `((${a} >>> 0) <= (${b} >>> 0) ? 1 : 0)`,
  0x4e: (a, b) => `(${a} >= ${b} ? 1 : 0)`,
  0x4f: (a, b) => `((${a} >>> 0) >= (${b} >>> 0) ? 1 : 0)`,
  0x6a: (a, b) => `((${a} + ${b}) | 0)`,
  0x6b: (a, b) => `((${a} - ${b}) | 0)`,
  0x6c: (a, b) => `Math.imul(${a}, ${b})`,
  0x71: (a, b) => `(${a} & ${b})`,
  0x72: (a, b) => `(${a} | ${b})`,
  0x73: (a, b) => `(${a} ^ ${b})`,
  0x74: (a, b) => `(${a} << ${b})`,
  0x75: (a, b) => `(${a} >> ${b})`,
  0x76: (a, b) => `((${a} >>> ${b}) | 0)`,
};

const I32_UN: Record<number, (a: string) => string> = {
  0x45: (a) => `(${a} === 0 ? 1 : 0)`,
  0x67: (a) => `Math.clz32(${a})`,
  0x68: (a) => `ctz(${a})`,
  0x69: (a) => `popcnt(${a})`,
  0xc0: (a) => `((${a} << 24) >> 24)`,
  0xc1: (a) => `((${a} << 16) >> 16)`,
};

/** i64 comparisons on simple operands: K32 results as pure expressions. */
const I64_CMP: Record<number, (al: string, ah: string, bl: string, bh: string) => string> = {
  0x51: (al, ah, bl, bh) => `(${al} === ${bl} && ${ah} === ${bh} ? 1 : 0)`,
  0x52: (al, ah, bl, bh) => `(${al} !== ${bl} || ${ah} !== ${bh} ? 1 : 0)`,
  0x53: (al, ah, bl, bh) => `(${ah} < ${bh} || (${ah} === ${bh} && (${al} >>> 0) < (${bl} >>> 0)) ? 1 : 0)`,
  0x54: (al, ah, bl, bh) => `((${ah} >>> 0) < (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) < (${bl} >>> 0)) ? 1 : 0)`,
  0x55: (al, ah, bl, bh) => `(${ah} > ${bh} || (${ah} === ${bh} && (${al} >>> 0) > (${bl} >>> 0)) ? 1 : 0)`,
  0x56: (al, ah, bl, bh) => `((${ah} >>> 0) > (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) > (${bl} >>> 0)) ? 1 : 0)`,
  0x57: (al, ah, bl, bh) => `(${ah} < ${bh} || (${ah} === ${bh} && (${al} >>> 0) <= (${bl} >>> 0)) ? 1 : 0)`,
  0x58: (al, ah, bl, bh) => `((${ah} >>> 0) < (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) <= (${bl} >>> 0)) ? 1 : 0)`,
  0x59: (al, ah, bl, bh) => `(${ah} > ${bh} || (${ah} === ${bh} && (${al} >>> 0) >= (${bl} >>> 0)) ? 1 : 0)`,
  0x5a: (al, ah, bl, bh) => `((${ah} >>> 0) > (${bh} >>> 0) || (${ah} === ${bh} && (${al} >>> 0) >= (${bl} >>> 0)) ? 1 : 0)`,
};

const LOAD_SIZE: Record<number, number> = { 0x28: 4, 0x29: 8, 0x2c: 1, 0x2d: 1, 0x2e: 2, 0x2f: 2, 0x30: 1, 0x31: 1, 0x32: 2, 0x33: 2, 0x34: 4, 0x35: 4 };
const STORE_SIZE: Record<number, number> = { 0x36: 4, 0x37: 8, 0x3a: 1, 0x3b: 2, 0x3c: 1, 0x3d: 2, 0x3e: 4 };

/** Literal-ness of an entry's lo (for constant shift counts). */
const LITERAL = /^\(?-?\d+\)?$/;

/**
 * Generates the JS of one wasm function: one JS function per region (a contiguous run of its
 * blocks), plus a dispatcher `f{fi}` when there are several regions. Control passing between
 * regions goes through the machine arrays (the leaving region writes the frame, the entered one
 * loads it, exactly like an exit and a resume).
 */
export class FnGen {
  private out: string[] = [];
  vs: Ent[] = [];
  private readonly code: Int32Array;
  private readonly ids: Int32Array;
  private readonly hasHi: Uint8Array;
  private readonly NL: number;
  private region = 0;
  /** Per block-relative pc: the region index; and the regions' [first, end) relative pcs. */
  readonly regionOf: Int32Array;
  readonly regions: [number, number][];
  /** Source length of the longest region function. */
  longestRegion = 0;
  /** Number variables d{k} the current region uses. */
  private usedD = new Uint8Array(0);
  // per-instruction context (exit stubs)
  private pc = 0;
  H = 0;
  private LEN = 0;
  private idx = 0;

  constructor(
    private readonly program: Program,
    private readonly info: FnInfo,
    private readonly infos: (FnInfo | null)[],
    private readonly entryOf: Map<number, number>,
    regionSize: number,
  ) {
    this.code = program.code;
    this.ids = blockIds(info);
    this.hasHi = info.hasHi;
    this.NL = info.numLocals;
    [this.regionOf, this.regions] = partition(info, this.code, regionSize);
  }

  emit(s: string): void {
    this.out.push(s);
  }

  // ---------------------------------------------------------------- compile-time operand stack

  private inVarEnt(k: number, k64: number): Ent {
    return { lo: `s${k}`, hi: k64 ? `s${k}h` : null, simple: true, refs: k64 ? [`s${k}`, `s${k}h`] : [`s${k}`], inVar: true, depth: 0, d: null, w: 0 };
  }
  simpleEnt(lo: string, hi: string | null): Ent {
    const refs: string[] = [];
    if (isVarName(lo)) refs.push(lo);
    if (hi !== null && isVarName(hi)) refs.push(hi);
    return { lo, hi, simple: true, refs, inVar: false, depth: 0, d: null, w: 0 };
  }
  exprEnt(lo: string, a: Ent, b?: Ent, c?: Ent): Ent {
    const refs = a.refs.slice();
    let depth = a.depth;
    for (const p of [b, c]) {
      if (!p) continue;
      for (const r of p.refs) if (!refs.includes(r)) refs.push(r);
      if (p.depth > depth) depth = p.depth;
    }
    return { lo, hi: null, simple: false, refs, inVar: false, depth: depth + 1, d: null, w: 0 };
  }
  /** A float value as a JS number expression `d` of width w, reading what `from` read (jit-float.ts). */
  dblEnt(d: string, w: number, from: Ent[], simple: boolean): Ent {
    const refs: string[] = [];
    let depth = 0;
    if (simple && isVarName(d)) refs.push(d);
    for (const p of from) {
      for (const r of p.refs) if (!refs.includes(r)) refs.push(r);
      if (p.depth > depth) depth = p.depth;
    }
    return { lo: "", hi: null, simple, refs, inVar: false, depth: simple ? 0 : depth + 1, d, w };
  }
  isSimple(expr: string): boolean {
    return isVarName(expr) && /^[a-z]\w*$/.test(expr);
  }

  /**
   * Writes pending entries below height `below` that read variable `v` into their slots (before
   * `v` is assigned). A slot variable s{k} is only read by entries at heights <= k.
   */
  private clobber(v: string, below: number): void {
    const vs = this.vs;
    for (let j = 0; j < below; j++) {
      const e = vs[j];
      if (!e.inVar && e.refs.includes(v)) this.flush(j);
    }
  }
  /** Materializes entry k into s{k} (and s{k}h). */
  flush(k: number): void {
    const e = this.vs[k];
    if (e.inVar) return;
    const hasHi = this.hasHi[k];
    this.clobber(`s${k}`, k);
    if (hasHi) this.clobber(`s${k}h`, k);
    if (e.d !== null) {
      // a number: its bits (NaN -> the canonical NaN)
      if (e.w === 64) {
        if (!hasHi) throw new Error("jit: f64 in a slot without hi");
        this.emit(`s${k} = F2B(${e.d}); s${k}h = HI;`);
        this.vs[k] = this.inVarEnt(k, 1);
      } else {
        this.emit(`s${k} = F2B32(${e.d});${hasHi ? ` s${k}h = 0;` : ""}`);
        this.vs[k] = this.inVarEnt(k, 0);
      }
    } else if (e.hi === null) {
      if (e.lo !== `s${k}`) this.emit(`s${k} = ${e.lo};`);
      if (hasHi) this.emit(`s${k}h = 0;`);
      this.vs[k] = this.inVarEnt(k, 0);
    } else {
      if (e.hi === `s${k}`) throw new Error("jit: hi reads lo slot");
      if (e.lo !== `s${k}`) this.emit(`s${k} = ${e.lo};`);
      if (e.hi !== `s${k}h`) this.emit(`s${k}h = ${e.hi};`);
      this.vs[k] = this.inVarEnt(k, 1);
    }
  }
  private flushAll(): void {
    for (let k = 0; k < this.vs.length; k++) this.flush(k);
  }
  /** Code that writes every pending entry to its slot (for exit stubs; vs unchanged). */
  private materialize(): string {
    let s = "";
    const vs = this.vs;
    for (let k = 0; k < vs.length; k++) {
      const e = vs[k];
      if (e.inVar) continue;
      if (e.d !== null) {
        if (e.w === 64) s += `s${k} = F2B(${e.d}); s${k}h = HI; `;
        else s += `s${k} = F2B32(${e.d}); ${this.hasHi[k] ? `s${k}h = 0; ` : ""}`;
        continue;
      }
      if (e.lo !== `s${k}`) s += `s${k} = ${e.lo}; `;
      if (e.hi === null) {
        if (this.hasHi[k]) s += `s${k}h = 0; `;
      } else if (e.hi !== `s${k}h`) s += `s${k}h = ${e.hi}; `;
    }
    return s;
  }
  /** Makes entry k a simple bits entry (a number entry is written out as bits). */
  private simplify(k: number): void {
    if (!this.vs[k].simple || this.vs[k].d !== null) this.flush(k);
  }
  private top(): number {
    return this.vs.length - 1;
  }
  pop(): Ent {
    return this.vs.pop()!;
  }
  /** Pushes an i32 expression; writes it out when it gets too deep. */
  pushExpr(e: Ent): void {
    this.vs.push(e);
    if (e.depth > MAX_EXPR_DEPTH || e.refs.length > 16) this.flush(this.vs.length - 1);
  }
  /** Pushes a number expression; stores it in its number variable when it gets too deep. */
  pushD(e: Ent): void {
    this.vs.push(e);
    if (e.depth > MAX_EXPR_DEPTH || e.refs.length > 16) this.setSlotD(this.vs.length - 1, e.d!, e.w);
  }
  /** Statement result: slot k gets a number (its number variable d{k}); k < vs.length. */
  setSlotD(k: number, expr: string, w: number): void {
    this.clobber(`d${k}`, k);
    this.emit(`d${k} = ${expr};`);
    this.usedD[k] = 1;
    this.vs[k] = this.dblEnt(`d${k}`, w, [], true);
  }
  /** Number expression of entry k as a width-w float (bits entries converted: no NaN check needed). */
  dbl(k: number, w: number): string {
    const e = this.vs[k];
    if (e.d !== null && e.w === w) return e.d;
    this.simplify(k);
    const f = this.vs[k];
    return w === 64 ? `B2D(${f.lo}, ${f.hi ?? "0"})` : `B2F(${f.lo})`;
  }
  /** Statement result: slot k gets an i32 value (k may be vs.length: pushes). */
  setSlot32(k: number, expr: string): void {
    this.clobber(`s${k}`, k);
    this.emit(`s${k} = ${expr};`);
    if (this.hasHi[k]) {
      this.clobber(`s${k}h`, k);
      this.emit(`s${k}h = 0;`);
    }
    this.vs[k] = this.inVarEnt(k, 0);
  }
  setSlot64(k: number, lo: string, hi: string): void {
    this.clobber(`s${k}`, k);
    this.clobber(`s${k}h`, k);
    this.emit(`s${k} = ${lo}; s${k}h = ${hi};`);
    this.vs[k] = this.inVarEnt(k, 1);
  }
  /** K64 view of entry k: [lo, hi] simple expressions. */
  pair(k: number): [string, string] {
    this.simplify(k);
    const e = this.vs[k];
    return [e.lo, e.hi ?? "0"];
  }

  // ---------------------------------------------------------------- exits

  /** Exit stub: the current instruction traps (its step counts). */
  trapStub(kind: string | number): string {
    const refund = this.LEN - this.idx - 1;
    return `{ ${this.materialize()}${refund ? `fuel += ${refund}; ` : ""}xpc = ${this.pc}; xh = ${this.H}; xt = ${kind}; break out; }`;
  }
  /** Exit stub: stop before the current instruction (not executed; exec or a later run does it). */
  yieldStub(): string {
    return `{ ${this.materialize()}fuel += ${this.LEN - this.idx}; xpc = ${this.pc}; xh = ${this.H}; break out; }`;
  }
  /** Control transfer to the leader `target` (stack flushed): a jump, or a switch of region. */
  private goto(target: number): string {
    const rel = target - this.info.entry;
    const id = this.ids[rel];
    if (id < 0) throw new Error("jit: jump to an unreachable pc");
    if (this.regionOf[rel] === this.region) return `blk = ${id}; continue;`;
    return `xpc = ${target}; xh = ${this.info.heights[rel]}; xu = 2; break out;`;
  }

  // ---------------------------------------------------------------- generation

  /** Returns the JS source of the function (its regions and dispatcher). */
  gen(): string {
    const parts: string[] = [];
    const fi = this.info.fi;
    const nr = this.regions.length;
    for (let g = 0; g < nr; g++) {
      parts.push(this.genRegion(g, nr === 1 ? `f${fi}` : `f${fi}_${g}`));
      this.longestRegion = Math.max(this.longestRegion, parts[g].length);
    }
    if (nr > 1) {
      const params = this.paramNames();
      parts.push(`const R${fi} = [${this.regions.map((_, g) => `f${fi}_${g}`).join(", ")}];
function f${fi}(rpc, fp, d, b, h${params.map((p) => ", " + p).join("")}) {
  let r = rpc < 0 ? f${fi}_0(-1, fp, d, b, 0${params.map((p) => ", " + p).join("")}) : R${fi}[RG[rpc]](rpc, fp, d, b, h);
  while (XIT === 2) { XIT = 0; const pc = NPC; r = R${fi}[RG[pc]](pc, fp, d, b, HT[pc]); }
  return r;
}`);
    }
    return parts.join("\n");
  }

  private paramNames(): string[] {
    const names: string[] = [];
    this.info.params.forEach((k64, j) => {
      names.push(`p${j}`);
      if (k64) names.push(`p${j}h`);
    });
    return names;
  }

  private genRegion(g: number, name: string): string {
    const info = this.info;
    const { entry, localK64, hasHi } = info;
    const NL = this.NL;
    const [r0, r1] = this.regions[g];
    this.region = g;
    this.out = [];
    this.usedD = new Uint8Array(info.maxH + 1);
    const localKind = info.localKind;
    // locals this region touches (region 0 keeps all: a fresh frame starts there)
    const touched = new Uint8Array(NL);
    if (g === 0) touched.fill(1);
    else
      for (let r = r0; r < r1; r++) {
        if (info.heights[r] < 0) continue;
        const op = this.code[(entry + r) << 2];
        if (op === 0x20 || op === 0x21 || op === 0x22) touched[this.code[((entry + r) << 2) + 1]] = 1;
      }
    for (let r = r0; r < r1; r++) if (this.ids[r] >= 0) this.genBlock(r);

    const params = g === 0 ? this.paramNames() : [];
    const paramInit: string[] = [];
    info.params.forEach((k64, j) => {
      paramInit.push(`s${j} = p${j};`);
      if (k64) paramInit.push(`s${j}h = p${j}h;`);
    });
    const decl: string[] = [];
    const load: string[] = [];
    const store: string[] = [];
    for (let i = 0; i < NL; i++) {
      if (!touched[i]) continue;
      decl.push(`l${i} = 0`);
      if (isDoubleKind(localKind[i])) {
        // a number local (jit-float.ts): bits converted on load and store
        const f64 = localKind[i] === KF64;
        load.push(f64 ? `l${i} = B2D(LL[fp + ${i}], LH[fp + ${i}]);` : `l${i} = B2F(LL[fp + ${i}]);`);
        store.push(f64 ? `ll[fp + ${i}] = F2B(l${i}); lh[fp + ${i}] = HI;` : `ll[fp + ${i}] = F2B32(l${i}); lh[fp + ${i}] = 0;`);
        continue;
      }
      load.push(`l${i} = LL[fp + ${i}];`);
      if (localK64[i]) {
        decl.push(`l${i}h = 0`);
        load.push(`l${i}h = LH[fp + ${i}];`);
      }
      store.push(`ll[fp + ${i}] = l${i}; lh[fp + ${i}] = ${localK64[i] ? `l${i}h` : "0"};`);
    }
    const maxH = info.maxH;
    const loadStack: string[] = [];
    const storeStack: string[] = [];
    for (let k = 0; k < maxH; k++) {
      decl.push(`s${k} = 0`);
      if (hasHi[k]) decl.push(`s${k}h = 0`);
      if (this.usedD[k]) decl.push(`d${k} = 0.5`);
    }
    for (let k = maxH - 1; k >= 0; k--) {
      loadStack.push(`case ${k + 1}: s${k} = SL[b + ${k}];${hasHi[k] ? ` s${k}h = SH[b + ${k}];` : ""}`);
      storeStack.push(`case ${k + 1}: sl[b + ${k}] = s${k}; sh[b + ${k}] = ${hasHi[k] ? `s${k}h` : "0"};`);
    }
    const body = this.out.join("\n");
    const floatTmp = /\bq[01]\b/.test(body) ? ["q0 = 0.5", "q1 = 0.5"] : []; // number temporaries (jit-float.ts)
    const tmp = ["ea = 0", "t0 = 0", "t1 = 0", "t2 = 0", ...floatTmp, "t3 = null", "ref = null", "cf = null", "xpc = 0", "xh = 0", "xt = 0", "xu = 0", "blk = 0"];
    return `function ${name}(rpc, fp, d, b, h${params.map((p) => ", " + p).join("")}) {
  let fuel = FUEL;
  let mem = MEM, dv = DV, memLen = MEMLEN, mark = MARK;
  const ep = EP, gl = GL, gh = GH;
  let ${[...decl, ...tmp].join(", ")};
  if (rpc < 0) {
    ${g === 0 ? paramInit.join(" ") : "throw new Error('jit: fresh entry into a later region');"}
  } else {
    ${load.join(" ")}
    switch (h) { ${loadStack.join(" ")} }
    blk = BLK[rpc];
  }
  out: for (;;) {
    switch (blk) {
${body}
    }
    throw new Error("jit: fell off the block switch");
  }
  if (fp + ${NL} > LL.length) growLocals(fp + ${NL});
  const ll = LL, lh = LH, sl = SL, sh = SH;
  ${store.join(" ")}
  switch (xh) { ${storeStack.join(" ")} }
  if (xu === 0) {
    M.pc = xpc; M.sp = b + xh; M.fp = fp; M.nl = ${NL}; M.depth = d;
    if (xt !== 0) { M.status = 2; M.trap = xt; }
    XIT = 1;
  } else if (xu === 1) {
    FRET[d - 1] = xpc + 1; FFP[d - 1] = fp; FNL[d - 1] = ${NL};
  } else {
    NPC = xpc; XIT = 2;
  }
  FUEL = fuel;
  return 0;
}`;
  }

  private genBlock(r: number): void {
    const info = this.info;
    const code = this.code;
    const entry = info.entry;
    let LEN = 1;
    while (r + LEN < this.ids.length && !info.leader[r + LEN] && info.heights[r + LEN] >= 0) LEN++;
    const h = info.heights[r], mask = info.masks[r];
    this.vs = [];
    for (let k = 0; k < h; k++) this.vs.push(this.inVarEnt(k, k64At(mask, k)));
    this.emit(`case ${this.ids[r]}:`);
    const leaderPc = entry + r;
    if (isExecOnly(code[leaderPc << 2])) {
      this.emit(`xpc = ${leaderPc}; xh = ${h}; break out;`);
      return;
    }
    this.emit(`if ((fuel -= ${LEN}) < 0) { fuel += ${LEN}; xpc = ${leaderPc}; xh = ${h}; break out; }`);
    this.LEN = LEN;
    let terminated = false;
    for (let i = 0; i < LEN; i++) {
      const pc = leaderPc + i;
      if (this.vs.length !== info.heights[r + i]) throw new Error(`jit: height mismatch at ${pc}`);
      this.pc = pc;
      this.H = this.vs.length;
      this.idx = i;
      terminated = this.genInstr(pc);
      if (terminated && i !== LEN - 1) throw new Error("jit: terminator inside a block");
    }
    if (!terminated) {
      this.flushAll();
      const next = leaderPc + LEN;
      if (next - entry < this.regionOf.length && this.regionOf[next - entry] !== this.region) this.emit(this.goto(next));
    }
  }

  /** Generates one instruction; returns true for a block terminator (it transferred control). */
  private genInstr(pc: number): boolean {
    const code = this.code;
    const ci = pc << 2;
    const op = code[ci], a = code[ci + 1], bimm = code[ci + 2], cimm = code[ci + 3];
    const H = this.H;
    const vs = this.vs;
    const hasHi = this.hasHi;
    const localK64 = this.info.localK64;
    const localKind = this.info.localKind;
    if (takesFloatOperands(op)) {
      genFloat(this, op, a, bimm);
      return false;
    }
    if (op !== 0x1a && op !== 0x1b && op !== 0x21 && op !== 0x22 && op !== 0xe4 && op !== 0xe7) {
      // an integer instruction on a float number (through a reinterpretation): its bits
      const np = this.info.pops[pc - this.info.entry];
      for (let j = H - np; j < H; j++) if (vs[j].d !== null) this.flush(j);
    }
    switch (op) {
      case 0x1a:
        this.pop();
        return false;
      case 0x1b: {
        // select
        const k = H - 3;
        if (vs[H - 1].d !== null) this.flush(H - 1);
        if (vs[k].d !== null && vs[k + 1].d !== null && vs[k].w === vs[k + 1].w) {
          const c = this.pop(), b = this.pop(), x = this.pop();
          this.pushD(this.dblEnt(`(${c.lo} !== 0 ? ${x.d} : ${b.d})`, x.w, [c, b, x], false));
          return false;
        }
        if (vs[k].d !== null) this.flush(k);
        if (vs[k + 1].d !== null) this.flush(k + 1);
        if (vs[k].hi === null && vs[k + 1].hi === null) {
          const c = this.pop(), b = this.pop(), x = this.pop();
          this.pushExpr(this.exprEnt(`(${c.lo} !== 0 ? ${x.lo} : ${b.lo})`, c, b, x));
        } else {
          this.simplify(H - 1);
          const [bl, bh] = this.pair(k + 1);
          this.flush(k);
          const c = vs[H - 1].lo;
          this.emit(`if (${c} === 0) { s${k} = ${bl}; s${k}h = ${bh}; }`);
          vs.length = k + 1;
          vs[k] = this.inVarEnt(k, 1);
        }
        return false;
      }
      case 0x20:
        if (isDoubleKind(localKind[a])) vs.push(this.dblEnt(`l${a}`, localKind[a] === KF64 ? 64 : 32, [], true));
        else vs.push(this.simpleEnt(`l${a}`, localK64[a] ? `l${a}h` : null));
        return false;
      case 0x21:
      case 0x22: {
        if (isDoubleKind(localKind[a])) {
          this.setDoubleLocal(op, a, localKind[a] === KF64 ? 64 : 32);
          return false;
        }
        if (vs[H - 1].d !== null) this.flush(H - 1); // a float number into a bits local: its bits
        // local.set pops first (its value is not a pending reader); local.tee re-reads its value
        // after the clobber checks, which may have written it to its slot variable.
        const popped = op === 0x21 ? this.pop() : null;
        this.clobber(`l${a}`, vs.length);
        if (localK64[a]) this.clobber(`l${a}h`, vs.length);
        const e = popped ?? vs[this.top()];
        if (localK64[a]) {
          const lo = e.lo, hi = e.hi ?? "0";
          if (hi === `l${a}` && lo !== `l${a}`) throw new Error("jit: local hi reads lo");
          if (lo !== `l${a}`) this.emit(`l${a} = ${lo};`);
          if (hi !== `l${a}h`) this.emit(`l${a}h = ${hi};`);
        } else {
          if (e.hi !== null) throw new Error("jit: K64 into K32 local");
          if (e.lo !== `l${a}`) this.emit(`l${a} = ${e.lo};`);
        }
        if (op === 0x22) vs[this.top()] = this.simpleEnt(`l${a}`, e.hi === null ? null : `l${a}h`);
        return false;
      }
      case 0x23:
        if (globalTypeOfSlot(this.program, a, false)) this.setSlot64(H, `gl[${a}]`, `gh[${a}]`);
        else this.setSlot32(H, `gl[${a}]`);
        return false;
      case 0x24:
        if (globalTypeOfSlot(this.program, a, false)) {
          const [lo, hi] = this.pair(this.top());
          this.pop();
          this.emit(`gl[${a}] = ${lo}; gh[${a}] = ${hi};`);
        } else this.emit(`gl[${a}] = ${this.pop().lo};`);
        return false;
      case 0x28: case 0x29: case 0x2c: case 0x2d: case 0x2e: case 0x2f: // prettier-ignore
      case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: { // prettier-ignore
        const stub = this.trapStub(4);
        const e = this.pop();
        const off = a >>> 0;
        this.emit(`ea = ${off ? `(${e.lo} >>> 0) + ${off}` : `${e.lo} >>> 0`}; if (ea > memLen - ${LOAD_SIZE[op]}) ${stub}`);
        const k = H - 1;
        switch (op) {
          case 0x28: this.setSlot32(k, `dv.getInt32(ea, true)`); break; // prettier-ignore
          case 0x2c: this.setSlot32(k, `((mem[ea] << 24) >> 24)`); break; // prettier-ignore
          case 0x2d: this.setSlot32(k, `mem[ea]`); break; // prettier-ignore
          case 0x2e: this.setSlot32(k, `dv.getInt16(ea, true)`); break; // prettier-ignore
          case 0x2f: this.setSlot32(k, `dv.getUint16(ea, true)`); break; // prettier-ignore
          case 0x29: this.setSlot64(k, `dv.getInt32(ea, true)`, `dv.getInt32(ea + 4, true)`); break; // prettier-ignore
          case 0x30: this.emit(`t0 = (mem[ea] << 24) >> 24;`); this.setSlot64(k, `t0`, `t0 >> 31`); break; // prettier-ignore
          case 0x31: this.setSlot64(k, `mem[ea]`, `0`); break; // prettier-ignore
          case 0x32: this.emit(`t0 = dv.getInt16(ea, true);`); this.setSlot64(k, `t0`, `t0 >> 31`); break; // prettier-ignore
          case 0x33: this.setSlot64(k, `dv.getUint16(ea, true)`, `0`); break; // prettier-ignore
          case 0x34: this.emit(`t0 = dv.getInt32(ea, true);`); this.setSlot64(k, `t0`, `t0 >> 31`); break; // prettier-ignore
          case 0x35: this.setSlot64(k, `dv.getInt32(ea, true)`, `0`); break; // prettier-ignore
        }
        return false;
      }
      case 0x36: case 0x37: case 0x3a: case 0x3b: case 0x3c: case 0x3d: case 0x3e: { // prettier-ignore
        const stub = this.trapStub(4);
        let vlo: string, vhi = "0";
        if (op === 0x37) [vlo, vhi] = this.pair(this.top());
        else vlo = vs[this.top()].lo;
        const addr = vs[this.top() - 1].lo;
        vs.length -= 2;
        const off = a >>> 0;
        this.emit(`ea = ${off ? `(${addr} >>> 0) + ${off}` : `${addr} >>> 0`}; if (ea > memLen - ${STORE_SIZE[op]}) ${stub}`);
        switch (op) {
          case 0x36: case 0x3e: this.emit(`dv.setInt32(ea, ${vlo}, true); mark[ea >>> 5] = ep; mark[(ea + 3) >>> 5] = ep;`); break; // prettier-ignore
          case 0x37: this.emit(`dv.setInt32(ea, ${vlo}, true); dv.setInt32(ea + 4, ${vhi}, true); mark[ea >>> 5] = ep; mark[(ea + 7) >>> 5] = ep;`); break; // prettier-ignore
          case 0x3a: case 0x3c: this.emit(`mem[ea] = ${vlo}; mark[ea >>> 5] = ep;`); break; // prettier-ignore
          case 0x3b: case 0x3d: this.emit(`dv.setInt16(ea, ${vlo}, true); mark[ea >>> 5] = ep; mark[(ea + 1) >>> 5] = ep;`); break; // prettier-ignore
        }
        return false;
      }
      case 0x3f:
        this.setSlot32(H, `(memLen / 65536) | 0`);
        return false;
      case 0x40: {
        const e = this.pop();
        this.emit(`t0 = grow(${e.lo} >>> 0); mem = MEM; dv = DV; memLen = MEMLEN; mark = MARK;`);
        this.setSlot32(H - 1, `t0`);
        return false;
      }
      case 0x41:
        vs.push(this.simpleEnt(lit(a), null));
        return false;
      case 0x42:
        vs.push(this.simpleEnt(lit(a), lit(bimm)));
        return false;
      case 0x45: case 0x67: case 0x68: case 0x69: case 0xc0: case 0xc1: { // prettier-ignore
        const e = this.pop();
        this.pushExpr(this.exprEnt(I32_UN[op](e.lo), e));
        return false;
      }
      case 0x46: case 0x47: case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: // prettier-ignore
      case 0x6a: case 0x6b: case 0x6c: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: { // prettier-ignore
        const b = this.pop(), x = this.pop();
        this.pushExpr(this.exprEnt(I32_BIN[op](x.lo, b.lo), x, b));
        return false;
      }
      case 0x77:
      case 0x78: {
        // rotl / rotr: the value is read twice
        const bk = vs[this.top()];
        if (LITERAL.test(bk.lo)) {
          const c = Number(bk.lo.replace(/[()]/g, "")) & 31;
          this.pop();
          this.simplify(this.top());
          const x = this.pop();
          if (c === 0) this.pushExpr(this.exprEnt(`(${x.lo} | 0)`, x));
          else if (op === 0x77) this.pushExpr(this.exprEnt(`((${x.lo} << ${c}) | (${x.lo} >>> ${32 - c}))`, x));
          else this.pushExpr(this.exprEnt(`((${x.lo} >>> ${c}) | (${x.lo} << ${32 - c}))`, x));
        } else {
          this.simplify(this.top());
          this.simplify(this.top() - 1);
          const b = this.pop(), x = this.pop();
          if (op === 0x77) this.pushExpr(this.exprEnt(`((${x.lo} << ${b.lo}) | (${x.lo} >>> (32 - (${b.lo} & 31))))`, x, b));
          else this.pushExpr(this.exprEnt(`((${x.lo} >>> ${b.lo}) | (${x.lo} << (32 - (${b.lo} & 31))))`, x, b));
        }
        return false;
      }
      case 0x6d: case 0x6e: case 0x6f: case 0x70: { // prettier-ignore
        // div / rem: checks on the operands, which stay on the stack when trapping
        this.simplify(this.top());
        this.simplify(this.top() - 1);
        const bl = vs[this.top()].lo, al = vs[this.top() - 1].lo;
        this.emit(`if (${bl} === 0) ${this.trapStub(2)}`);
        if (op === 0x6d) this.emit(`if (${al} === -2147483648 && ${bl} === -1) ${this.trapStub(3)}`);
        const b = this.pop(), x = this.pop();
        const expr =
          op === 0x6d ? `((${al} / ${bl}) | 0)` : op === 0x6e ? `(((${al} >>> 0) / (${bl} >>> 0)) | 0)` : op === 0x6f ? `((${al} % ${bl}) | 0)` : `(((${al} >>> 0) % (${bl} >>> 0)) | 0)`;
        this.pushExpr(this.exprEnt(expr, x, b));
        return false;
      }
      case 0x50: {
        const [lo, hi] = this.pair(this.top());
        const e = this.pop();
        this.pushExpr(this.exprEnt(`((${lo} | ${hi}) === 0 ? 1 : 0)`, e));
        return false;
      }
      case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: case 0x58: case 0x59: case 0x5a: { // prettier-ignore
        const [bl, bh] = this.pair(this.top());
        const [al, ah] = this.pair(this.top() - 1);
        const b = this.pop(), x = this.pop();
        this.pushExpr(this.exprEnt(I64_CMP[op](al, ah, bl, bh), x, b));
        return false;
      }
      case 0xa7: {
        // i32.wrap_i64: the low half
        const [lo] = this.pair(this.top());
        this.pop();
        vs.push(this.simpleEnt(lo, null));
        return false;
      }
      case 0xad: {
        // i64.extend_i32_u: an in-variable i32 value has a clean (0) hi variable
        const k = this.top();
        this.simplify(k);
        const e = vs[k];
        vs[k] = e.inVar ? this.inVarEnt(k, 1) : this.simpleEnt(e.lo, "0");
        return false;
      }
      case 0xac: case 0xc4: case 0xc2: case 0xc3: { // prettier-ignore
        // sign extensions to i64: hi = lo >> 31
        const k = this.top();
        const [lo] = this.pair(k);
        this.pop();
        const sh = op === 0xc2 ? 24 : op === 0xc3 ? 16 : 0;
        this.emit(sh ? `t0 = (${lo} << ${sh}) >> ${sh};` : `t0 = ${lo};`);
        vs.push(this.simpleEnt("0", null));
        this.setSlot64(k, `t0`, `t0 >> 31`);
        return false;
      }
      case 0x79: case 0x7a: case 0x7b: { // prettier-ignore
        const k = this.top();
        const [lo, hi] = this.pair(k);
        this.pop();
        const expr =
          op === 0x79 ? `(${hi} !== 0 ? Math.clz32(${hi}) : 32 + Math.clz32(${lo}))` : op === 0x7a ? `(${lo} !== 0 ? ctz(${lo}) : 32 + ctz(${hi}))` : `(popcnt(${lo}) + popcnt(${hi}))`;
        this.emit(`t0 = ${expr};`);
        vs.push(this.simpleEnt("0", null));
        this.setSlot64(k, `t0`, `0`);
        return false;
      }
      case 0x7c: case 0x7d: case 0x7e: case 0x83: case 0x84: case 0x85: // prettier-ignore
      case 0x86: case 0x87: case 0x88: case 0x89: case 0x8a: { // prettier-ignore
        const [bl, bh] = this.pair(this.top());
        const [al, ah] = this.pair(this.top() - 1);
        const k = this.top() - 1;
        switch (op) {
          case 0x7c: this.emit(`t0 = (${al} + ${bl}) | 0; t1 = (${ah} + ${bh} + ((t0 >>> 0) < (${al} >>> 0) ? 1 : 0)) | 0;`); break; // prettier-ignore
          case 0x7d: this.emit(`t0 = (${al} - ${bl}) | 0; t1 = (${ah} - ${bh} - ((${al} >>> 0) < (${bl} >>> 0) ? 1 : 0)) | 0;`); break; // prettier-ignore
          case 0x7e: this.emit(`t0 = mul64(${al}, ${ah}, ${bl}, ${bh}); t1 = HI;`); break; // prettier-ignore
          case 0x83: this.emit(`t0 = ${al} & ${bl}; t1 = ${ah} & ${bh};`); break; // prettier-ignore
          case 0x84: this.emit(`t0 = ${al} | ${bl}; t1 = ${ah} | ${bh};`); break; // prettier-ignore
          case 0x85: this.emit(`t0 = ${al} ^ ${bl}; t1 = ${ah} ^ ${bh};`); break; // prettier-ignore
          case 0x86: this.emit(`t0 = shl64(${al}, ${ah}, ${bl}); t1 = HI;`); break; // prettier-ignore
          case 0x87: this.emit(`t0 = shrs64(${al}, ${ah}, ${bl}); t1 = HI;`); break; // prettier-ignore
          case 0x88: this.emit(`t0 = shru64(${al}, ${ah}, ${bl}); t1 = HI;`); break; // prettier-ignore
          case 0x89: this.emit(`t0 = rotl64(${al}, ${ah}, ${bl} & 63); t1 = HI;`); break; // prettier-ignore
          case 0x8a: this.emit(`t0 = rotl64(${al}, ${ah}, (64 - (${bl} & 63)) & 63); t1 = HI;`); break; // prettier-ignore
        }
        vs.length = k + 1;
        vs[k] = this.simpleEnt("0", null);
        this.setSlot64(k, `t0`, `t1`);
        return false;
      }
      case 0x7f: case 0x80: case 0x81: case 0x82: { // prettier-ignore
        const [bl, bh] = this.pair(this.top());
        const [al, ah] = this.pair(this.top() - 1);
        const k = this.top() - 1;
        this.emit(`t2 = divrem64(${op}, ${al}, ${ah}, ${bl}, ${bh}); if (t2 !== 0) ${this.trapStub("t2")}`);
        this.emit(`t0 = DLO; t1 = HI;`);
        vs.length = k + 1;
        vs[k] = this.simpleEnt("0", null);
        this.setSlot64(k, `t0`, `t1`);
        return false;
      }
      case 0xe0: // Jump
        this.flushAll();
        if (a !== pc + 1 || this.regionOf[a - this.info.entry] !== this.region) this.emit(this.goto(a));
        return true;
      case 0xe1:
      case 0xe2: {
        const c = this.pop();
        this.flushAll();
        const cond = op === 0xe1 ? `${c.lo} !== 0` : `${c.lo} === 0`;
        if (a !== pc + 1) this.emit(`if (${cond}) { ${this.goto(a)} }`);
        return false; // falls through to the next block (a leader)
      }
      case 0xe3: {
        this.simplify(this.top());
        const c = this.pop();
        this.flushAll();
        const first = pc + 1 - this.info.entry;
        if (this.regionOf[first] !== this.region || this.regionOf[first + a] !== this.region) throw new Error("jit: br_table split");
        this.emit(`t0 = ${c.lo} >>> 0; blk = ${this.ids[first]} + (t0 < ${a} ? t0 : ${a}); continue;`);
        return true;
      }
      case 0xe4: {
        const b = this.pop();
        this.pop();
        vs.push(b.inVar ? { ...b, inVar: false } : b);
        return false;
      }
      case 0xe5:
      case 0xe6:
        this.genCall(op, a, bimm, cimm);
        return true;
      case 0xe7: {
        // Return
        const info = this.info;
        if (info.nres && vs[this.top()].d !== null) this.flush(this.top());
        if (info.nres && info.resK64) {
          const [lo, hi] = this.pair(this.top());
          this.emit(`FUEL = fuel; RH = ${hi}; return ${lo};`);
        } else if (info.nres) this.emit(`FUEL = fuel; return ${vs[this.top()].lo};`);
        else this.emit(`FUEL = fuel; return 0;`);
        return true;
      }
      case 0xef:
        this.emit(this.trapStub(a));
        return true;
      case 0xea:
        this.setSlot32(H, `INLEN`);
        return false;
      default:
        throw new Error(`jit: opcode 0x${op.toString(16)}`);
    }
  }

  /**
   * local.set / local.tee of a number local (jit-float.ts): a number entry is assigned as it is; a
   * bits entry is converted, and exec runs the step when it is a NaN other than the canonical one.
   */
  private setDoubleLocal(op: number, a: number, w: number): void {
    const vs = this.vs;
    const k = vs.length - 1;
    let src: string;
    if (vs[k].d !== null && vs[k].w === w) src = vs[k].d!;
    else {
      const stub = this.yieldStub();
      this.simplify(k);
      const e = vs[k];
      if (w === 64) this.emit(`q0 = B2D(${e.lo}, ${e.hi ?? "0"}); if (q0 !== q0 && NCANON(${e.lo}, ${e.hi ?? "0"})) ${stub}`);
      else this.emit(`q0 = B2F(${e.lo}); if (q0 !== q0 && NCANON32(${e.lo})) ${stub}`);
      src = "q0";
    }
    if (op === 0x21) {
      this.pop();
      this.clobber(`l${a}`, vs.length);
    } else this.clobber(`l${a}`, vs.length - 1); // the top becomes the local itself
    if (src !== `l${a}`) this.emit(`l${a} = ${src};`);
    if (op === 0x22) vs[vs.length - 1] = this.dblEnt(`l${a}`, w, [], true);
  }

  /** Call / CallIndirect: checks in exec's order, then a JS call; the result lands in a slot. */
  private genCall(op: number, a: number, bimm: number, cimm: number): void {
    this.flushAll();
    const program = this.program;
    const H = this.H;
    const ct = op === 0xe5 ? program.types[program.funcs[this.entryOf.get(a)!].typeIndex] : program.types[a];
    const np = ct.params.length;
    const nres = ct.results.length;
    const rk64 = nres ? isK64Type(ct.results[0]) : 0;
    const argBase = op === 0xe5 ? H - np : H - 1 - np;
    if (nres > 1) {
      this.emit(this.yieldStub()); // several results: a compiled function returns one, so exec performs the call
      return;
    }
    const args: string[] = [];
    for (let j = 0; j < np; j++) {
      const e = this.vs[argBase + j];
      args.push(e.lo);
      if (isK64Type(ct.params[j])) args.push(e.hi ?? "0");
    }
    const call = (fn: string, cost: string) => {
      this.emit(`JSB -= ${cost}; FUEL = fuel;`);
      this.emit(`t0 = ${fn}(-1, fp + ${this.NL}, d + 1, b + ${argBase}, 0${args.map((x) => ", " + x).join("")});`);
      this.emit(`JSB += ${cost}; fuel = FUEL;`);
      this.emit(`if (XIT !== 0) { xpc = ${this.pc}; xh = ${argBase}; xu = 1; break out; }`);
      this.emit(`mem = MEM; dv = DV; memLen = MEMLEN; mark = MARK;`);
      this.vs.length = argBase;
      if (nres) {
        this.vs.push(this.simpleEnt("0", null));
        if (rk64) this.setSlot64(argBase, `t0`, `RH`);
        else this.setSlot32(argBase, `t0`);
      }
      const next = this.pc + 1 - this.info.entry;
      if (next < this.regionOf.length && this.regionOf[next] !== this.region) this.emit(this.goto(this.pc + 1));
    };
    if (op === 0xe5) {
      const fi = this.entryOf.get(a)!;
      const callee = this.infos[fi];
      if (!callee || bimm !== program.funcs[fi].numLocals) {
        this.emit(this.yieldStub()); // not compiled: exec performs the call
        return;
      }
      this.emit(`if (d >= LIMD) ${this.trapStub(8)}`);
      this.emit(`if (b + ${H + cimm} > LIMS) ${this.trapStub(9)}`);
      this.emit(`if (JSB < ${callee.cost}) ${this.yieldStub()}`);
      call(`f${fi}`, String(callee.cost));
    } else {
      this.emit(`t0 = ${this.vs[H - 1].lo} >>> 0; t3 = TABLES[${bimm}].elements;`);
      this.emit(`if (t0 >= t3.length) ${this.trapStub(6)}`);
      this.emit(`t1 = t3[t0]; if (t1 === 0) ${this.trapStub(7)}`);
      this.emit(`ref = REFS.get(t1);`);
      this.emit(`if (ref.owner !== OWNER) { if (!sameSignature(ref.type, TYPES[${a}])) ${this.trapStub(5)} ${this.yieldStub()} }`);
      this.emit(`t1 = ref.index; cf = FUNCS[t1]; if (cf.typeId !== ${a}) ${this.trapStub(5)}`);
      this.emit(`if (cf.entry < 0 || FN[t1] === null) ${this.yieldStub()}`);
      this.emit(`if (d >= LIMD) ${this.trapStub(8)}`);
      this.emit(`if (b + ${H - 1} + cf.maxHeight > LIMS) ${this.trapStub(9)}`);
      this.emit(`t2 = COST[t1]; if (JSB < t2) ${this.yieldStub()}`);
      call(`FN[t1]`, `t2`);
    }
  }
}

/**
 * Splits a function's blocks into regions of about `size` instructions, cutting preferably where
 * no loop (backward jump) spans the cut, and never inside a br_table's entries.
 */
function partition(info: FnInfo, code: Int32Array, size: number): [Int32Array, [number, number][]] {
  const len = info.heights.length;
  const regionOf = new Int32Array(len);
  const starts: number[] = [];
  for (let r = 0; r < len; r++) if (info.leader[r] && info.heights[r] >= 0) starts.push(r);
  let reach = 0;
  for (let r = 0; r < len; r++) if (info.heights[r] >= 0) reach++;
  if (reach <= size * 1.5 || starts.length < 2) return [regionOf, [[0, len]]];
  // loops spanning each block start; cuts forbidden inside br_table entries
  const span = new Int32Array(len + 1);
  const forbid = new Uint8Array(len + 1);
  for (let r = 0; r < len; r++) {
    if (info.heights[r] < 0) continue;
    const ci = (info.entry + r) << 2;
    const op = code[ci];
    if (op >= 0xe0 && op <= 0xe2) {
      const t = code[ci + 1] - info.entry;
      if (t <= r) {
        span[t + 1]++; // boundaries t+1 .. r are inside the loop [t, r]
        span[r + 1]--;
      }
    } else if (op === 0xe3) for (let k = 0; k <= code[ci + 1] + 1; k++) forbid[r + 1 + k] = 1;
  }
  for (let r = 1; r <= len; r++) span[r] += span[r - 1];
  forbid[starts[0]] = 1;
  const cuts: number[] = [0];
  let acc = 0;
  for (let j = 0; j < starts.length; j++) {
    const r = starts[j];
    const blockLen = (j + 1 < starts.length ? starts[j + 1] : len) - r;
    if (acc >= size && !forbid[r]) {
      // the best cut in a look-ahead window: fewest loops spanning it
      let best = j, bestSpan = span[r], seen = 0;
      for (let q = j; q < starts.length && seen < size / 2; q++) {
        const rq = starts[q];
        if (!forbid[rq] && span[rq] < bestSpan) {
          best = q;
          bestSpan = span[rq];
        }
        seen += (q + 1 < starts.length ? starts[q + 1] : len) - rq;
      }
      if (best === j || acc >= size * 2) {
        cuts.push(r);
        acc = 0;
      }
    }
    acc += blockLen;
  }
  const regions: [number, number][] = [];
  for (let g = 0; g < cuts.length; g++) {
    const [a, b] = [cuts[g], g + 1 < cuts.length ? cuts[g + 1] : len];
    regions.push([a, b]);
    regionOf.fill(g, a, b);
  }
  return [regionOf, regions];
}

interface GeneratedApi {
  setup(m: Machine, budget: number): void;
  getFuel(): number;
  getXit(): number;
  getRH(): number;
  FN: (((rpc: number, fp: number, d: number, b: number, h: number) => number) | null)[];
}

/** Shared state and helpers of the generated code (one closure per Program). */
const PRELUDE = `"use strict";
const BLK = R.BLK, RG = R.RG, HT = R.HT, FUNCS = R.FUNCS, TYPES = R.TYPES, sameSignature = R.sameSignature;
let M = null, SL = null, SH = null, LL = null, LH = null, GL = null, GH = null, FRET = null, FFP = null, FNL = null;
let MEMORY = null, MEM = new Uint8Array(0), DV = new DataView(MEM.buffer), MEMLEN = 0, MARK = new Uint32Array(0), EP = 0;
let FUEL = 0, XIT = 0, NPC = 0, RH = 0, HI = 0, DLO = 0, JSB = 0;
let LIMD = 0, LIMS = 0, LIMP = 0, INLEN = 0, TABLES = null, REFS = null, OWNER = null;
let COST = null;
function ctz(x) { return x === 0 ? 32 : 31 - Math.clz32(x & -x); }
function popcnt(x) {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
function mul64(alo, ahi, blo, bhi) {
  const a0 = alo & 0xffff, a1 = alo >>> 16, b0 = blo & 0xffff, b1 = blo >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const carry = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
  HI = (carry + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
  return (mid << 16) | (p00 & 0xffff);
}
function shl64(lo, hi, k) {
  k &= 63;
  if (k === 0) { HI = hi; return lo; }
  if (k < 32) { HI = (hi << k) | (lo >>> (32 - k)); return lo << k; }
  HI = lo << (k - 32); return 0;
}
function shru64(lo, hi, k) {
  k &= 63;
  if (k === 0) { HI = hi; return lo; }
  if (k < 32) { HI = (hi >>> k) | 0; return (lo >>> k) | (hi << (32 - k)); }
  HI = 0; return (hi >>> (k - 32)) | 0;
}
function shrs64(lo, hi, k) {
  k &= 63;
  if (k === 0) { HI = hi; return lo; }
  if (k < 32) { HI = hi >> k; return (lo >>> k) | (hi << (32 - k)); }
  HI = hi >> 31; return hi >> (k - 32);
}
function rotl64(lo, hi, k) {
  if (k === 0) { HI = hi; return lo; }
  if (k >= 32) { const t = lo; lo = hi; hi = t; k -= 32; if (k === 0) { HI = hi; return lo; } }
  HI = (hi << k) | (lo >>> (32 - k));
  return (lo << k) | (hi >>> (32 - k));
}
function divrem64(op, alo, ahi, blo, bhi) {
  if (blo === 0 && bhi === 0) return 2;
  const signed = op === 0x7f || op === 0x81;
  let a = (BigInt(ahi >>> 0) << 32n) | BigInt(alo >>> 0);
  let b = (BigInt(bhi >>> 0) << 32n) | BigInt(blo >>> 0);
  if (signed) {
    a = BigInt.asIntN(64, a);
    b = BigInt.asIntN(64, b);
    if (op === 0x7f && a === -(1n << 63n) && b === -1n) return 3;
  }
  const r = BigInt.asUintN(64, op === 0x7f || op === 0x80 ? a / b : a % b);
  DLO = Number(r & 0xffffffffn) | 0;
  HI = Number(r >> 32n) | 0;
  return 0;
}
function grow(delta) {
  const r = MEMORY.grow(delta, LIMP);
  if (r >= 0) {
    MEM = MEMORY.bytes;
    DV = new DataView(MEM.buffer, MEM.byteOffset, MEM.byteLength);
    MEMLEN = MEM.length;
    M.ensureMark();
    MARK = M.mark;
  }
  return r;
}
function growLocals(n) {
  M.ensureLocals(n);
  LL = M.ll;
  LH = M.lh;
}
`;

const EPILOGUE = FLOAT_PRELUDE + `
COST = R.COSTS;
return {
  setup(m, budget) {
    M = m; SL = m.sl; SH = m.sh; LL = m.ll; LH = m.lh; GL = m.env.globalsLo; GH = m.env.globalsHi;
    FRET = m.fRet; FFP = m.fFp; FNL = m.fNl;
    MEMORY = m.env.memory;
    const bytes = MEMORY ? MEMORY.bytes : new Uint8Array(0);
    if (bytes !== MEM) { MEM = bytes; DV = new DataView(MEM.buffer, MEM.byteOffset, MEM.byteLength); }
    MEMLEN = MEM.length; MARK = m.mark; EP = m.epoch;
    LIMD = m.limits.callDepth; LIMS = m.limits.stackHeight; LIMP = m.limits.memoryPages;
    INLEN = m.env.input.length; TABLES = m.env.tables; REFS = m.env.refs; OWNER = m.env.owner;
    FUEL = budget; XIT = 0; JSB = ${JS_STACK_BUDGET};
  },
  getFuel() { return FUEL; },
  getXit() { return XIT; },
  getRH() { return RH; },
  FN,
};
`;
