/**
 * The lowered instruction set: the flat step program that the interpreter executes, one entry per
 * step. WebAssembly is validated and lowered once into it (see lower.ts); the on-chain prover
 * re-executes exactly one of these entries. Normative description: docs/MACHINE.md.
 *
 * Encoding: every instruction is 4 consecutive int32 words [op, a, b, c] of `Program.code`;
 * instruction i starts at word 4*i and `pc` counts instructions. Unused immediates are 0.
 *
 * Opcode numbers: numeric WebAssembly instructions keep their own opcode byte (so `0x6a` is
 * i32.add everywhere, which keeps the executor's switch readable and jump-table friendly);
 * instructions that exist only in the lowered machine live in 0xE0..0xFF.
 *
 * Floats (semantics: float.ts): f32 values are their bits in the low half of a slot (high half 0),
 * f64 values their 64 bits.
 *
 * Value stack: every slot is 64 bits (lo, hi int32 halves). i32 values are stored zero-extended
 * (hi = 0), so a slot has one canonical value whatever its type.
 */

/** Machine-only opcodes. WebAssembly opcodes are used as-is for every other instruction. */
export const Op = {
  // --- WebAssembly opcodes kept as-is (listed for reference; not exhaustive) ---
  Unreachable: 0x00, // never emitted: lowered to TRAP(Trap.Unreachable)
  Drop: 0x1a,
  Select: 0x1b, // [v1, v2, c] -> c != 0 ? v1 : v2
  LocalGet: 0x20, // a = local index (within the current frame), b = the frame's number of locals
  LocalSet: 0x21, // a = local index, b = number of locals
  LocalTee: 0x22, // a = local index, b = number of locals
  GlobalGet: 0x23, // a = index among defined globals (imported ones use *Ext), b = number of defined globals
  GlobalSet: 0x24, // a = index among defined globals, b = number of defined globals
  // loads 0x28..0x35, stores 0x36..0x3e: a = static offset (u32 as int32); alignment is dropped
  MemorySize: 0x3f,
  MemoryGrow: 0x40, // pushes old size in pages, or -1 when past the declared max or the page limit
  I32Const: 0x41, // a = value
  I64Const: 0x42, // a = low 32 bits, b = high 32 bits
  F32Const: 0x43, // a = bits
  F64Const: 0x44, // a = low 32 bits, b = high 32 bits
  // 0x45..0x8a integer comparisons and arithmetic, 0xa7 wrap, 0xac/0xad extend, 0xc0..0xc4 sign-ext
  // Floats keep their WebAssembly opcodes too (semantics: float.ts): comparisons 0x5b..0x66,
  // arithmetic 0x8b..0xa6, conversions 0xa8..0xbb; float loads/stores 0x2a 0x2b 0x38 0x39 and the
  // constants F32Const/F64Const move the same bits as their integer twins (their own opcodes give
  // the compiled tier the types); reinterpretations lower to nothing.
  // The saturating conversions (0xFC 0x00..0x07) take the free bytes 0xc5..0xcc, in order:
  TruncSatF32S: 0xc5, // i32.trunc_sat_f32_s; 0xc6 _f32_u, 0xc7 _f64_s, 0xc8 _f64_u,
  //                     0xc9 i64.trunc_sat_f32_s, 0xca _f32_u, 0xcb _f64_s, 0xcc _f64_u
  TableGet: 0x25, // a = table entry x, c = tables-tree size N (docs/STATE.md §2.9). [i] -> [ref]
  TableSet: 0x26, // a = x, c = N. [i, ref] -> []
  RefFunc: 0xd2, // a = function index f; pushes the reference f + 1 (references are u32 slot
  //                values: 0 null, f + 1 function f). ref.null lowers to I32Const 0, ref.is_null
  //                to i32.eqz, typed select to Select.

  // --- machine-only ---
  Jump: 0xe0, // pc = a
  JumpIf: 0xe1, // pop i32 c; if c != 0 then pc = a else pc + 1
  JumpUnless: 0xe2, // pop i32 c; if c == 0 then pc = a else pc + 1
  BrTable: 0xe3, // a = n; pop i32 i; pc = pc + 1 + min(u32(i), n). The n+1 entries that follow are
  //                 Jump instructions (to the target, or to a stub that drops values and jumps)
  Nip: 0xe4, // remove the value just below the top: [x, y] -> [y]
  Call: 0xe5, // a = entry pc, b = callee's number of locals (params included), c = callee's max
  //             operand height. Traps CallStackExhausted / ValueStackExhausted. Pushes a frame
  //             {return pc, caller locals}; the callee starts with all locals zero and its
  //             prologue (LocalSet p-1 .. LocalSet 0) moves the arguments from the stack.
  CallIndirect: 0xe6, // a = canonical type id, b = table index (0), c = table length. Pops the i32
  //                     element index.
  //                     Traps UndefinedElement, UninitializedElement, IndirectCallTypeMismatch.
  Return: 0xe7, // pop the frame: pc = return pc, locals = caller's. The operand stack above the
  //               caller's operands holds exactly the results (lowering emits Nip/Drop first).
  Halt: 0xe8, // status = halted. The entry stub is [Call start?, Call main, Halt].
  CallHost: 0xe9, // a = imported function index. Embedding only (spec tests): calls out to JS.
  //                 Never present in a task program (not provable).
  InputSize: 0xea, // push i32 input length in bytes
  InputRead: 0xeb, // resumable: [dst, off, len] copies input[off..off+len) to memory[dst..]
  OutputWrite: 0xec, // resumable: [src, len] appends memory[src..src+len) to the output
  MemoryCopy: 0xed, // resumable: [dst, src, n] (memmove semantics)
  MemoryFill: 0xee, // resumable: [dst, value, n]
  Trap: 0xef, // trap with kind a (Trap.*)
  GlobalGetExt: 0xf0, // a = imported global index (embedding only)
  GlobalSetExt: 0xf1, // a = imported global index (embedding only)
  Exit: 0xf2, // pop i32 code; status = halted, exitCode = code (pc unchanged, like Halt). The task
  //             host ABI's `exit` import (and WASI's proc_exit) lower to it.
  // Tables and segments (docs/STATE.md §2.9): entries of the tables tree are the tables, then the
  // element segments, then the data segments; c is always the tree's size N.
  TableSize: 0xf3, // a = x, c = N. [] -> [len]
  TableGrow: 0xf4, // a = x, b = ceiling, c = N. [init, n] -> [old, old, init, n] after growing by n
  //                  null elements (n = 0 when init is null), or [-1, 0, 0, 0] when old + n > b.
  //                  The TableFill that always follows writes init and leaves [old] or [-1].
  TableFill: 0xf5, // resumable, a = x, c = N: [i, ref, n], one element per step
  TableCopy: 0xf6, // resumable, a = dst table x, b = src table y, c = N: [d, s, n] (backwards when d > s)
  TableInit: 0xf7, // resumable, a = x, b = entry of the element segment, c = N: [d, s, n]
  SegmentDrop: 0xf8, // a = entry of an element or data segment, c = N: elem.drop, data.drop
  MemoryInit: 0xf9, // resumable, a = entry of the data segment, c = N: [d, s, n], chunks as InputRead
} as const;

/**
 * Resumable operations (InputRead, OutputWrite, MemoryCopy, MemoryFill) keep their progress in
 * their operands on the stack. Each step first checks the *remaining* range (so the first step
 * traps before anything is written when the whole range is out of bounds), then moves one chunk
 * that touches at most one 32-byte leaf on each side, updates the operands, and advances pc and
 * pops the operands only when the count reaches 0 (a count of 0 takes one step that just pops).
 * Chunk size: min(count, bytes left in the destination leaf, bytes left in the source leaf).
 * MemoryCopy with dst > src copies from the end backwards (chunk ends at the current range end).
 */
export const LEAF_BYTES = 32;

/** Bytes of the next forward chunk from addresses a and b (a === b for MemoryFill: one side). */
export function chunkForward(n: number, a: number, b: number): number {
  return Math.min(n, LEAF_BYTES - (a & 31), LEAF_BYTES - (b & 31));
}

/** Bytes of the next backward chunk, which ends at the range ends aEnd and bEnd (MemoryCopy, dst > src). */
export function chunkBackward(n: number, aEnd: number, bEnd: number): number {
  return Math.min(n, ((aEnd - 1) & 31) + 1, ((bEnd - 1) & 31) + 1);
}

/** Trap kinds: the status code of a trapped machine. Stable numbers: they are part of the state. */
export const Trap = {
  None: 0,
  Unreachable: 1,
  IntegerDivideByZero: 2,
  IntegerOverflow: 3,
  OutOfBoundsMemory: 4,
  IndirectCallTypeMismatch: 5,
  UndefinedElement: 6,
  UninitializedElement: 7,
  CallStackExhausted: 8,
  ValueStackExhausted: 9,
  StepLimit: 10,
  Abort: 11, // the program called its abort import (AssemblyScript's env.abort)
  InputOutOfBounds: 12, // input_read past the end of the input
  OutputLimit: 13, // output_write past the output limit
  // 14: retired (never produced)
  HostError: 15, // embedding only: a host function threw
  OutOfBoundsTable: 16, // table.get/set/fill/copy/init past a table's or an element segment's end
  InvalidConversion: 17, // float-to-integer truncation of NaN (out-of-range results are IntegerOverflow)
} as const;
export type TrapKind = (typeof Trap)[keyof typeof Trap];

export const TRAP_MESSAGES: Record<number, string> = {
  [Trap.Unreachable]: "unreachable",
  [Trap.IntegerDivideByZero]: "integer divide by zero",
  [Trap.IntegerOverflow]: "integer overflow",
  [Trap.OutOfBoundsMemory]: "out of bounds memory access",
  [Trap.IndirectCallTypeMismatch]: "indirect call type mismatch",
  [Trap.UndefinedElement]: "undefined element",
  [Trap.UninitializedElement]: "uninitialized element",
  [Trap.CallStackExhausted]: "call stack exhausted",
  [Trap.ValueStackExhausted]: "value stack exhausted",
  [Trap.StepLimit]: "step limit reached",
  [Trap.Abort]: "abort called",
  [Trap.InputOutOfBounds]: "input read out of bounds",
  [Trap.OutputLimit]: "output limit exceeded",
  [Trap.HostError]: "host function failed",
  [Trap.OutOfBoundsTable]: "out of bounds table access",
  [Trap.InvalidConversion]: "invalid conversion to integer",
};

/** Machine status. Halted and Trapped are terminal: a step leaves a terminal state unchanged. */
export const Status = { Running: 0, Halted: 1, Trapped: 2 } as const;
export type StatusCode = (typeof Status)[keyof typeof Status];

/** Limits are part of a task: hitting one is a deterministic trap (or memory.grow returning -1). */
export interface Limits {
  memoryPages: number; // memory may never exceed this many 64 KiB pages
  callDepth: number; // frames, the entry frame included
  stackHeight: number; // operand stack slots
  steps: number; // a running machine at this many steps traps with StepLimit on its next step
  outputBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  memoryPages: 1024, // 64 MiB
  callDepth: 1024,
  stackHeight: 65536,
  steps: 2 ** 40,
  outputBytes: 1 << 16,
};

/** Module and names of the task host interface (docs/TASKS.md). */
export const HOST_MODULE = "truewasm";
export const HostImport = {
  inputSize: "input_size", // () -> i32
  inputRead: "input_read", // (dst: i32, offset: i32, len: i32) -> ()
  outputWrite: "output_write", // (src: i32, len: i32) -> ()
  exit: "exit", // (code: i32) -> (): halts with that exit code (Op.Exit)
} as const;
/** AssemblyScript's default abort import, lowered to TRAP(Abort). */
export const ABORT_IMPORT = { module: "env", name: "abort" } as const;
