/**
 * The lowered program: what `compile()` (decode + validate + lower) produces from WebAssembly
 * bytes, and what the executor runs. It is immutable once built; instances and machines share it.
 */

export type RefType = "funcref" | "externref";
export type ValType = "i32" | "i64" | "f32" | "f64" | RefType;

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

/**
 * Initialiser of a global, a segment offset or a segment element: a constant (numbers as signed
 * integers, floats as their bits), a null reference, a function reference, or the value of an
 * imported global.
 */
export type ConstExpr =
  | { kind: "const"; type: ValType; value: bigint }
  | { kind: "null"; type: RefType }
  | { kind: "func"; index: number }
  | { kind: "global"; index: number };

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
  /**
   * pc (= 2 f) of the function's 2-instruction stub [Call f | CallHost i, Halt typeId f+1]: how the
   * embedding invokes it, and the code leaf a reference to it stands for (docs/STATE.md §2.9).
   */
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
  type: RefType;
  min: number;
  max?: number;
  import?: ImportRef;
}

/**
 * A data segment. Active segments are written at instantiation and then dropped (2.0); passive
 * ones stay for memory.init until data.drop.
 */
export interface DataSegment {
  mode: "active" | "passive";
  offset?: ConstExpr; // active
  bytes: Uint8Array;
}

/** An element segment: each element a null, function or imported-global reference expression. */
export interface ElemSegment {
  mode: "active" | "passive" | "declarative";
  type: RefType;
  table: number; // active
  offset?: ConstExpr; // active
  elements: ConstExpr[];
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
  tables: TableInfo[]; // imports first
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
  /** The rules it was validated under (CompileOptions.profile); "1.0" also instantiates by 1.0's rules. */
  profile?: "1.0";
}

/**
 * Size N of the tables tree (docs/STATE.md §2.9): the tables, then the element segments, then the
 * data segments, each one entry. Table and segment instructions carry N as their `c` immediate.
 */
export function tablesTreeSize(p: Program): number {
  return p.tables.length + p.elems.length + p.data.length;
}

export function isRefType(t: ValType): t is RefType {
  return t === "funcref" || t === "externref";
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
