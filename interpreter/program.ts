/**
 * The lowered program: what `compile()` (decode + validate + lower) produces from WebAssembly
 * bytes, and what the executor runs. It is immutable once built; instances and machines share it.
 */

export type ValType = "i32" | "i64" | "f32" | "f64";

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

/** Initialiser of a global or a segment offset: a constant, or the value of an imported global. */
export type ConstExpr = { kind: "const"; type: ValType; value: bigint } | { kind: "global"; index: number };

export interface ImportRef {
  module: string;
  name: string;
}

export interface FuncInfo {
  typeIndex: number; // index into Program.types
  /**
   * Module-local canonical signature id: the smallest type index whose signature equals this one
   * (deterministic from the bytes, so it can be committed in the program root). Across modules
   * (embedding only), signatures are compared structurally with sameSignature().
   */
  typeId: number;
  /** Defined functions: pc of the first instruction (the argument-moving prologue). -1 for imports. */
  entry: number;
  numLocals: number; // params + declared locals
  maxHeight: number; // max operand stack height of the body (params not counted: they move to locals)
  /** pc of a 2-instruction stub [Call f | CallHost i, Halt] used to invoke the function from outside. */
  stub: number;
  import?: ImportRef; // set for imported functions (function index space: imports first)
  /** For a task program: the host operation an import was lowered to, e.g. "input_read". */
  hostOp?: string;
}

export interface GlobalInfo {
  type: ValType;
  mutable: boolean;
  import?: ImportRef; // imported globals come first in the global index space
  init?: ConstExpr; // defined globals only
}

export interface MemoryInfo {
  min: number; // pages
  max?: number;
  import?: ImportRef;
}

export interface TableInfo {
  min: number;
  max?: number;
  import?: ImportRef;
}

export interface DataSegment {
  offset: ConstExpr;
  bytes: Uint8Array;
}

export interface ElemSegment {
  offset: ConstExpr;
  funcs: number[]; // function indices
}

export interface ExportInfo {
  name: string;
  kind: "func" | "table" | "memory" | "global";
  index: number;
}

export interface Program {
  /** 4 int32 words per instruction: [op, a, b, c] (isa.ts). */
  code: Int32Array;
  /** Number of instructions (code.length / 4). */
  length: number;
  types: FuncType[];
  funcs: FuncInfo[]; // imports first, then defined functions
  globals: GlobalInfo[]; // imports first
  /**
   * Where each global lives for the executor: for a defined global, its index in the instance's
   * own global storage (GlobalGet/GlobalSet `a`); for an imported one, its index among imported
   * globals (GlobalGetExt/GlobalSetExt `a`).
   */
  globalSlot: number[];
  memory: MemoryInfo | null;
  table: TableInfo | null;
  data: DataSegment[];
  elems: ElemSegment[];
  exports: ExportInfo[];
  start: number | null; // function index
  /**
   * pc of the task entry stub [Call start?, Call main, Halt] when the module exports `main`
   * with type [] -> [], else -1.
   */
  taskEntry: number;
  /** Source map for error messages and profiling: wasm byte offset of each instruction. */
  sourceOffsets?: Int32Array;
}

export function sameSignature(a: FuncType, b: FuncType): boolean {
  return a.params.join() === b.params.join() && a.results.join() === b.results.join();
}

/** A load, validation or link failure with where and why. Never a crash. */
export class WasmError extends Error {
  constructor(
    readonly kind: "malformed" | "invalid" | "unsupported" | "unlinkable",
    readonly reason: string,
    readonly section?: string,
    readonly offset?: number,
  ) {
    super(
      `${kind} module: ${reason}` +
        (section !== undefined ? ` (in ${section} section` + (offset !== undefined ? ` at byte 0x${offset.toString(16)})` : ")") : offset !== undefined ? ` (at byte 0x${offset.toString(16)})` : ""),
    );
    this.name = "WasmError";
  }
}
