/**
 * Validation and lowering: WebAssembly 2.0 module -> flat step program (isa.ts, program.ts).
 *
 *   compile(bytes, { imports }) -> Program
 *
 * 1. decode.ts decodes the module structure (everything malformed is reported there, before any
 *    validation error, like the reference interpreter).
 * 2. Module-level validation (types, imports, index spaces, limits, constant expressions, segments,
 *    exports, start, the functions a `ref.func` may name), then the task-mode link rules.
 * 3. Layout: [one invoke stub per function, 2 instructions each, function f at pc 2f] [task entry
 *    stub] [bodies]. Each defined function body is decoded, validated and lowered in one pass (the
 *    validation algorithm of the spec appendix, with the control stack carrying what lowering
 *    needs: label base height, loop start pc, and a chain of forward jumps to patch at the block's
 *    end). Call immediates (callee entry, locals, max height) are patched once every body is laid
 *    out.
 *
 * Lowering rules (each emitted instruction is one machine step; see isa.ts):
 * - block/loop/nop/end emit nothing; `if` -> JumpUnless else-part/end; `else` -> Jump end. Block
 *   parameters simply stay where they are on the operand stack.
 * - A branch removes h - k - b values (h: stack height, k: label arity, b: label base height):
 *   with Drop (k = 0) or Nip (k = 1); with k > 1 the k values are moved into hidden locals of the
 *   function (LocalSet), the others dropped, and the k values pushed back (LocalGet). Then the jump.
 *   br_if with drops: JumpUnless over the branch code. br_table: BrTable n, n + 1 single-Jump
 *   entries, then out-of-line drop stubs (one per distinct target label needing drops).
 * - Branches to the function label and `return` drop down to the results and Return; forward
 *   branches without drops to the function label target the function's final Return, which every
 *   body ends with.
 * - Code after unreachable/br/br_table/return up to the end of the enclosing block is validated
 *   but not emitted (including nested blocks inside it).
 * - References are u32 slot values (0 null, function f is f + 1): ref.null -> I32Const 0,
 *   ref.is_null -> i32.eqz, ref.func f -> RefFunc f, typed select -> Select. table.grow ->
 *   TableGrow, TableFill (see isa.ts).
 */
import { Op, Trap, HOST_MODULE, HostImport, ABORT_IMPORT } from "./isa.js";
import { TRUNC_OPS, TRUNC_SAT_OPS } from "./float.js";
import { compileWasi, importsWasi } from "./wasi.js";
import {
  WasmError,
  type ConstExpr,
  type DataSegment,
  type ElemSegment,
  type ExportInfo,
  type FuncInfo,
  type FuncType,
  type GlobalInfo,
  type MemoryInfo,
  type Program,
  type RefType,
  type TableInfo,
  type ValType,
} from "./program.js";
import {
  decodeModule,
  scanBodies,
  readBlockType,
  readRefType,
  readValType,
  typeName,
  isNumCode,
  isRefCode,
  Reader,
  laterFeature,
  BT_INDEX,
  LATER_OPS,
  FC_NAMES,
  MEM_ALIGN,
  MEM_TYPE,
  NUM_IN1,
  NUM_IN2,
  NUM_OUT,
  OPCODE_NAMES,
  T_EXTERNREF,
  T_F32,
  T_F64,
  T_FUNCREF,
  T_I32,
  T_I64,
  T_UNKNOWN,
  type DecodedModule,
  type RawConstExpr,
  type RawFuncType,
  type RawLimits,
} from "./decode.js";
import { MAX_TABLE_ELEMENTS } from "./runtime.js";

export interface CompileOptions {
  /**
   * "task" (default): only the task host ABI may be imported (truewasm.input_size/input_read/
   * output_write/exit, env.abort); calls to them become machine instructions.
   * "embed": any imports; calls to imported functions become CallHost, imported globals are
   * accessed with GlobalGetExt/GlobalSetExt.
   */
  imports?: "task" | "embed";
  /**
   * "2.0" (default). "1.0": the WebAssembly 1.0 rules where 2.0 changed them, for the 1.0 spec
   * suite: call_indirect's reserved zero byte instead of a table index, at most one result per
   * function type, at most one table, br_table targets of identical types, and instantiation that
   * checks every segment before writing any (a segment that does not fit is a link error).
   */
  profile?: "1.0" | "2.0";
}

/** Implementation limit on the locals of one function (params included), like V8's. */
export const MAX_LOCALS = 50000;
/** WebAssembly 1.0 memory limit in pages. */
const MAX_PAGES = 65536;

/**
 * Decode, validate and lower a WebAssembly module. Any failure is a WasmError (never another
 * exception type, whatever the input bytes).
 */
export function compile(bytes: Uint8Array, opts: CompileOptions = {}): Program {
  let compiler: Compiler | undefined;
  try {
    if (!(bytes instanceof Uint8Array)) throw new WasmError("malformed", "module bytes must be a Uint8Array");
    // A WASI command module is linked with the WASI adapter first (wasi.ts, docs/TASKS.md §6).
    if (opts.imports !== "embed" && importsWasi(bytes)) return compileWasi(bytes, (b, imports) => compile(b, { ...opts, imports }));
    compiler = new Compiler(bytes, opts.imports ?? "task", opts.profile === "1.0");
    return compiler.run();
  } catch (e) {
    if (e instanceof WasmError) {
      // Malformed beats invalid: if validation failed before every body was decoded, report a
      // malformation in any body instead (the spec decodes the whole module before validating).
      if (e.kind !== "malformed" && compiler?.decoded) {
        try {
          scanBodies(bytes, compiler.decoded);
        } catch (e2) {
          if (e2 instanceof WasmError && e2.kind === "malformed") throw e2;
        }
      }
      throw e;
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new WasmError("malformed", `cannot decode module (${msg})`);
  }
}

// Control frame kinds.
const K_BLOCK = 0;
const K_LOOP = 1;
const K_IF = 2;
const K_ELSE = 3;
const K_FUNC = 4;

const NO_TYPES = new Uint8Array(0);

/** The task host interface: import name -> [host op, params, results]. */
const TASK_HOST: Record<string, { op: string; params: number[]; results: number[] }> = {
  [`${HOST_MODULE}.${HostImport.inputSize}`]: { op: HostImport.inputSize, params: [], results: [T_I32] },
  [`${HOST_MODULE}.${HostImport.inputRead}`]: { op: HostImport.inputRead, params: [T_I32, T_I32, T_I32], results: [] },
  [`${HOST_MODULE}.${HostImport.outputWrite}`]: { op: HostImport.outputWrite, params: [T_I32, T_I32], results: [] },
  [`${HOST_MODULE}.${HostImport.exit}`]: { op: HostImport.exit, params: [T_I32], results: [] },
  [`${ABORT_IMPORT.module}.${ABORT_IMPORT.name}`]: { op: "abort", params: [T_I32, T_I32, T_I32, T_I32], results: [] },
};
const TASK_HOST_LIST = "truewasm.input_size, truewasm.input_read, truewasm.output_write, truewasm.exit and env.abort";

function typesString(a: ArrayLike<number>): string {
  return `[${Array.from(a, typeName).join(" ")}]`;
}

function sigString(params: ArrayLike<number>, results: ArrayLike<number>): string {
  return `${typesString(params)} -> ${typesString(results)}`;
}

function sameTypes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const KIND_NAMES = ["func", "table", "memory", "global"] as const;

class Compiler {
  private readonly r: Reader;
  private readonly task: boolean;
  private m!: DecodedModule;
  /** The decoded module, once decoding succeeded. */
  decoded: DecodedModule | undefined;

  // Module-level facts.
  private nImportedFuncs = 0;
  private nFuncs = 0;
  private funcType: RawFuncType[] = []; // by function index
  private canon: Int32Array = new Int32Array(0); // type index -> canonical type id
  private globalTypes: number[] = [];
  private globalMutable: boolean[] = [];
  private nImportedGlobals = 0;
  private globalSlot: number[] = [];
  private hasMemory = false;
  private tableTypes: number[] = []; // by table index: T_FUNCREF or T_EXTERNREF
  private tableCeilings: number[] = []; // by table index: what table.grow compares with
  private elemTypes: number[] = []; // by element segment
  /** Functions a ref.func may name (C.refs: those referenced outside function bodies). */
  private declared = new Set<number>();
  /** The tables tree's size N (tables, element segments, data segments): the `c` of table ops. */
  private nTableEntries = 0;
  private nDefinedGlobals = 0;
  private hostOp: (string | undefined)[] = []; // by function index (task mode)

  // Output.
  private code = new Int32Array(4096);
  private src = new Int32Array(1024);
  private n = 0; // instructions emitted
  private callSites = new Int32Array(256); // pairs [pc, callee]
  private nCallSites = 0;
  private funcs: FuncInfo[] = [];

  // Validation state of the body being lowered.
  private vals = new Uint8Array(1024);
  private vh = 0;
  private cKind = new Uint8Array(64);
  private cIn: Uint8Array[] = []; // block parameter types
  private cOut: Uint8Array[] = []; // block result types
  private cHeight = new Int32Array(64);
  private cUnr = new Uint8Array(64);
  private cDead = new Uint8Array(64);
  private cStart = new Int32Array(64);
  private cPatch = new Int32Array(64);
  private cElse = new Int32Array(64);
  private cDepth = 0;
  private live = true;
  private maxH = 0;
  private localTypes = new Uint8Array(0);
  private nLocals = 0;
  /** Hidden locals after the declared ones, used to carry multiple values over dropped ones. */
  private temps = 0;
  private labels = new Int32Array(64);
  private opAt = 0; // byte offset of the instruction being lowered

  constructor(
    private readonly bytes: Uint8Array,
    imports: "task" | "embed",
    private readonly v1: boolean,
  ) {
    this.r = new Reader(bytes);
    this.task = imports !== "embed";
  }

  run(): Program {
    const m = (this.m = this.decoded = decodeModule(this.bytes));
    const { types: programTypes, globals, memory, tables, data, elems, exports } = this.validateModule();
    const linkError = this.task ? this.checkTaskLinking() : undefined;

    // ---- Layout: invoke stubs (function f at pc 2f), task entry stub, bodies.
    for (let f = 0; f < this.nFuncs; f++) {
      const typeIndex = f < this.nImportedFuncs ? this.importedFuncTypeIndex[f] : m.funcTypeIndices[f - this.nImportedFuncs];
      const info: FuncInfo = {
        typeIndex,
        typeId: this.canon[typeIndex],
        entry: -1,
        numLocals: f < this.nImportedFuncs ? this.funcType[f].params.length : 0,
        maxHeight: 0,
        stub: this.n,
      };
      if (f < this.nImportedFuncs) {
        const ir = this.importedFuncRef[f];
        info.import = { module: ir.module, name: ir.name };
        if (this.hostOp[f] !== undefined) info.hostOp = this.hostOp[f];
      }
      this.funcs.push(info);
      this.emitCallTo(f);
      // the stub's code leaf is what a reference to f stands for in a table (docs/STATE.md §2.9)
      this.emit(Op.Halt, info.typeId, f + 1, 0, -1);
    }
    const mainExport = m.exports.find((e) => e.kind === 0 && e.name === "main");
    let taskEntry = -1;
    if (mainExport) {
      const t = this.funcType[mainExport.index];
      if (t.params.length === 0 && t.results.length === 0) {
        taskEntry = this.n;
        if (m.start) this.emitCallTo(m.start.index);
        this.emitCallTo(mainExport.index);
        this.emit(Op.Halt, 0, 0, 0, -1);
      }
    }

    for (let i = 0; i < m.bodies.length; i++) this.lowerBody(i);
    if (linkError) throw linkError;

    // ---- Patch call immediates.
    const code = this.code;
    for (let i = 0; i < this.nCallSites; i++) {
      const pc = this.callSites[2 * i];
      const f = this.funcs[this.callSites[2 * i + 1]];
      code[pc * 4 + 1] = f.entry;
      code[pc * 4 + 2] = f.numLocals;
      code[pc * 4 + 3] = f.maxHeight;
    }

    return {
      code: code.slice(0, this.n * 4),
      length: this.n,
      types: programTypes,
      funcs: this.funcs,
      globals,
      globalSlot: this.globalSlot,
      memory,
      tables,
      data,
      elems,
      exports,
      start: m.start ? m.start.index : null,
      taskEntry,
      sourceOffsets: this.src.slice(0, this.n),
      ...(this.v1 ? { profile: "1.0" as const } : {}),
    };
  }

  // ------------------------------------------------------------------------------------------
  // Module-level validation.

  private importedFuncTypeIndex: number[] = [];
  private importedFuncRef: { module: string; name: string }[] = [];

  private invalid(reason: string, section: string | undefined, offset: number | undefined): never {
    throw new WasmError("invalid", reason, section, offset);
  }

  private checkLimits(l: RawLimits, section: string, memory: boolean): void {
    if (memory) {
      if (l.min > MAX_PAGES || (l.max !== undefined && l.max > MAX_PAGES))
        this.invalid("memory size must be at most 65536 pages (4GiB)", section, l.offset);
    }
    if (l.max !== undefined && l.min > l.max) this.invalid("size minimum must not be greater than maximum", section, l.offset);
  }

  private tableInfo(type: number, l: RawLimits): TableInfo {
    const t: TableInfo = { type: typeName(type) as RefType, min: l.min };
    if (l.max !== undefined) t.max = l.max;
    this.tableTypes.push(type);
    this.tableCeilings.push(Math.min(l.max ?? MAX_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS));
    return t;
  }

  private validateModule() {
    const m = this.m;
    const types = m.types;

    // Types: canonical ids (the smallest index of an equal signature).
    const sigIds = new Map<string, number>();
    this.canon = new Int32Array(types.length);
    for (let i = 0; i < types.length; i++) {
      const t = types[i];
      if (this.v1 && t.results.length > 1) this.invalid("invalid result arity (WebAssembly 1.0)", "type", t.offset);
      const key = `${t.params.join(",")}:${t.results.join(",")}`;
      let id = sigIds.get(key);
      if (id === undefined) sigIds.set(key, (id = i));
      this.canon[i] = id;
    }
    const programTypes: FuncType[] = types.map((t) => ({
      params: Array.from(t.params, typeName) as ValType[],
      results: Array.from(t.results, typeName) as ValType[],
    }));

    // Imports.
    let memory: MemoryInfo | null = null;
    const tables: TableInfo[] = [];
    let nMemories = 0;
    const globals: GlobalInfo[] = [];
    for (const imp of m.imports) {
      switch (imp.kind) {
        case 0:
          if (imp.typeIndex >= types.length) this.invalid(`unknown type ${imp.typeIndex}`, "import", imp.offset);
          this.importedFuncTypeIndex.push(imp.typeIndex);
          this.importedFuncRef.push({ module: imp.module, name: imp.name });
          this.funcType.push(types[imp.typeIndex]);
          break;
        case 1: {
          this.checkLimits(imp.limits!, "import", false);
          const t = this.tableInfo(imp.tableType, imp.limits!);
          t.import = { module: imp.module, name: imp.name };
          tables.push(t);
          break;
        }
        case 2:
          this.checkLimits(imp.limits!, "import", true);
          nMemories++;
          memory = { min: imp.limits!.min, import: { module: imp.module, name: imp.name } };
          if (imp.limits!.max !== undefined) memory.max = imp.limits!.max;
          break;
        case 3:
          this.globalSlot.push(this.nImportedGlobals++);
          this.globalTypes.push(imp.globalType);
          this.globalMutable.push(imp.mutable);
          globals.push({ type: typeName(imp.globalType), mutable: imp.mutable, import: { module: imp.module, name: imp.name } });
          break;
      }
    }
    this.nImportedFuncs = this.funcType.length;

    // Functions.
    for (let i = 0; i < m.funcTypeIndices.length; i++) {
      const ti = m.funcTypeIndices[i];
      if (ti >= types.length) this.invalid(`unknown type ${ti}`, "function", m.funcSectionOffset);
      this.funcType.push(types[ti]);
    }
    this.nFuncs = this.funcType.length;

    // Tables and memories.
    for (const t of m.tables) {
      this.checkLimits(t, "table", false);
      tables.push(this.tableInfo(t.type, t));
    }
    for (const mem of m.memories) {
      this.checkLimits(mem, "memory", true);
      nMemories++;
      memory = { min: mem.min };
      if (mem.max !== undefined) memory.max = mem.max;
    }
    if (this.v1 && tables.length > 1) this.invalid("multiple tables (WebAssembly 1.0)", "table", undefined);
    if (nMemories > 1)
      this.invalid(
        "multiple memories (multi-memory is not supported)",
        "memory",
        m.memories.length ? m.memories[m.memories.length - 1].offset : undefined,
      );
    this.hasMemory = nMemories === 1;

    // Functions a ref.func may name: those referenced in globals, element segments and exports.
    for (const g of m.globals) this.declareRefs(g.init);
    for (const e of m.elems) {
      if (e.funcs) e.funcs.forEach((f) => this.declared.add(f));
      else for (const x of e.exprs!) this.declareRefs(x);
    }
    for (const e of m.exports) if (e.kind === 0) this.declared.add(e.index);

    // Globals: initialisers may only read imported (immutable) globals.
    let nDefinedGlobals = 0;
    for (const g of m.globals) {
      const init = this.checkConst(g.init, g.type, "global");
      this.globalSlot.push(nDefinedGlobals++);
      this.nDefinedGlobals = nDefinedGlobals;
      this.globalTypes.push(g.type);
      this.globalMutable.push(g.mutable);
      globals.push({ type: typeName(g.type), mutable: g.mutable, init });
    }

    // Exports.
    const exports: ExportInfo[] = [];
    const names = new Set<string>();
    const counts = [this.nFuncs, tables.length, nMemories, this.globalTypes.length];
    const unknown = ["unknown function", "unknown table", "unknown memory", "unknown global"];
    for (const e of m.exports) {
      if (e.index >= counts[e.kind]) this.invalid(`${unknown[e.kind]} ${e.index}`, "export", e.offset);
      if (names.has(e.name)) this.invalid(`duplicate export name "${e.name}"`, "export", e.offset);
      names.add(e.name);
      exports.push({ name: e.name, kind: KIND_NAMES[e.kind], index: e.index });
    }

    // Start.
    if (m.start) {
      const s = m.start;
      if (s.index >= this.nFuncs) this.invalid(`unknown function ${s.index}`, "start", s.offset);
      const t = this.funcType[s.index];
      if (t.params.length || t.results.length)
        this.invalid(`start function must have type [] -> [], not ${sigString(t.params, t.results)}`, "start", s.offset);
    }

    // Element segments.
    const elems: ElemSegment[] = [];
    for (const e of m.elems) {
      const seg: ElemSegment = { mode: e.mode, type: typeName(e.type) as RefType, table: e.table, elements: [] };
      if (e.mode === "active") {
        if (e.table >= tables.length) this.invalid(`unknown table ${e.table}`, "element", e.at);
        if (this.tableTypes[e.table] !== e.type)
          this.invalid(`type mismatch: element segment of ${typeName(e.type)} for a table of ${typeName(this.tableTypes[e.table])}`, "element", e.at);
        seg.offset = this.checkConst(e.offset!, T_I32, "element");
      }
      if (e.funcs) {
        for (const f of e.funcs) {
          if (f >= this.nFuncs) this.invalid(`unknown function ${f}`, "element", e.funcsOffset);
          seg.elements.push({ kind: "func", index: f });
        }
      } else for (const x of e.exprs!) seg.elements.push(this.checkConst(x, e.type, "element"));
      this.elemTypes.push(e.type);
      elems.push(seg);
    }

    // Data segments.
    const data: DataSegment[] = [];
    for (const d of m.datas) {
      if (d.mode === "passive") {
        data.push({ mode: "passive", bytes: d.bytes.slice() });
        continue;
      }
      if (d.memory !== 0 || !this.hasMemory) this.invalid(`unknown memory ${d.memory}`, "data", d.at);
      const offset = this.checkConst(d.offset!, T_I32, "data");
      data.push({ mode: "active", offset, bytes: d.bytes.slice() });
    }

    this.nTableEntries = tables.length + elems.length + data.length;
    return { types: programTypes, globals, memory, tables, data, elems, exports };
  }

  /** Adds the functions a constant expression's ref.func names to the declared ones. */
  private declareRefs(e: RawConstExpr): void {
    for (const ins of e.instrs) if (ins.op === 0xd2) this.declared.add(ins.imm);
  }

  /**
   * A constant expression: exactly one i32/i64/f32/f64.const, ref.null, ref.func, or global.get
   * of an imported immutable global, of type t. Values: i32/i64 as signed integers, f32/f64 as
   * their raw bits.
   */
  private checkConst(e: RawConstExpr, t: number, section: string): ConstExpr {
    for (const ins of e.instrs) {
      if (ins.op === 0x23) {
        if (ins.imm >= this.nImportedGlobals)
          this.invalid(
            `unknown global ${ins.imm} (constant expressions may only read imported globals)`,
            section,
            ins.offset,
          );
        if (this.globalMutable[ins.imm]) this.invalid("constant expression required (global.get of a mutable global)", section, ins.offset);
      } else if (ins.op === 0xd2) {
        if (ins.imm >= this.nFuncs) this.invalid(`unknown function ${ins.imm}`, section, ins.offset);
      } else if ((ins.op < 0x41 || ins.op > 0x44) && ins.op !== 0xd0) {
        const name = ins.op >= 0x100 ? FC_NAMES[ins.op - 0x100] : OPCODE_NAMES[ins.op] || `opcode 0x${ins.op.toString(16)}`;
        this.invalid(`constant expression required (found ${name})`, section, ins.offset);
      }
    }
    if (e.instrs.length !== 1)
      this.invalid(`type mismatch: constant expression must produce exactly one ${typeName(t)} value`, section, e.offset);
    const ins = e.instrs[0];
    let type: number;
    let out: ConstExpr;
    switch (ins.op) {
      case 0x41:
        type = T_I32;
        out = { kind: "const", type: "i32", value: BigInt(ins.imm | 0) };
        break;
      case 0x42:
        type = T_I64;
        out = { kind: "const", type: "i64", value: BigInt.asIntN(64, (BigInt(ins.imm2 >>> 0) << 32n) | BigInt(ins.imm >>> 0)) };
        break;
      case 0x43:
        type = T_F32;
        out = { kind: "const", type: "f32", value: BigInt(ins.imm >>> 0) };
        break;
      case 0x44:
        type = T_F64;
        out = { kind: "const", type: "f64", value: (BigInt(ins.imm2 >>> 0) << 32n) | BigInt(ins.imm >>> 0) };
        break;
      case 0xd0:
        type = ins.imm;
        out = { kind: "null", type: typeName(type) as RefType };
        break;
      case 0xd2:
        type = T_FUNCREF;
        out = { kind: "func", index: ins.imm };
        break;
      default:
        type = this.globalTypes[ins.imm];
        out = { kind: "global", index: ins.imm };
    }
    if (type !== t) this.invalid(`type mismatch: constant expression has type ${typeName(type)}, expected ${typeName(t)}`, section, ins.offset);
    return out;
  }

  /**
   * Task programs may only import the host ABI, and host functions must stay internal (no export,
   * no table element, no reference). Sets hostOp for the recognised imports and returns the first
   * link error (thrown by run() only after every body has been validated, so an invalid module is
   * reported as invalid).
   */
  private checkTaskLinking(): WasmError | undefined {
    const m = this.m;
    let error: WasmError | undefined;
    const fail = (kind: "unlinkable" | "unsupported", reason: string, section: string, offset: number) => {
      error ??= new WasmError(kind, reason, section, offset);
    };
    let f = 0;
    for (const imp of m.imports) {
      const what = `"${imp.module}"."${imp.name}"`;
      if (imp.kind !== 0) {
        fail(
          "unlinkable",
          `task programs cannot import a ${KIND_NAMES[imp.kind]} (${what}); the only imports provided are the functions ${TASK_HOST_LIST}`,
          "import",
          imp.offset,
        );
        continue;
      }
      const t = this.funcType[f++];
      const host = TASK_HOST[`${imp.module}.${imp.name}`];
      if (!host) {
        fail("unlinkable", `unknown import ${what}: task programs may only import ${TASK_HOST_LIST}`, "import", imp.offset);
        continue;
      }
      if (!sameTypes(t.params, host.params) || !sameTypes(t.results, host.results)) {
        fail(
          "unlinkable",
          `incompatible import type for ${what}: expected ${sigString(host.params, host.results)}, got ${sigString(t.params, t.results)}`,
          "import",
          imp.offset,
        );
        continue;
      }
      this.hostOp[f - 1] = host.op;
    }
    const host = (fi: number) => `host function "${this.importedFuncRef[fi].module}"."${this.importedFuncRef[fi].name}"`;
    for (const e of m.exports)
      if (e.kind === 0 && e.index < this.nImportedFuncs)
        fail("unsupported", `${host(e.index)} cannot be exported (as "${e.name}") by a task program`, "export", e.offset);
    for (const fi of this.declared)
      if (fi < this.nImportedFuncs) fail("unsupported", `${host(fi)} cannot be referenced (table element, ref.func) by a task program`, "element", m.elems[0]?.at ?? 0);
    return error;
  }

  // ------------------------------------------------------------------------------------------
  // Emission.

  private emit(op: number, a: number, b: number, c: number, at: number): void {
    const n = this.n;
    if (n * 4 + 4 > this.code.length) {
      const bigger = new Int32Array(this.code.length * 2);
      bigger.set(this.code);
      this.code = bigger;
      const src = new Int32Array(this.src.length * 2);
      src.set(this.src);
      this.src = src;
    }
    const i = n * 4;
    this.code[i] = op;
    this.code[i + 1] = a;
    this.code[i + 2] = b;
    this.code[i + 3] = c;
    this.src[n] = at;
    this.n = n + 1;
  }

  /** Call to function f from a stub (a = entry, b, c patched at the end) or its host form. */
  private emitCallTo(f: number, at = -1): void {
    if (f < this.nImportedFuncs) {
      if (this.task) this.emit(Op.Trap, Trap.Unreachable, 0, 0, at); // host functions are never invoked through stubs
      else this.emit(Op.CallHost, f, 0, 0, at);
      return;
    }
    if (this.nCallSites * 2 + 2 > this.callSites.length) {
      const bigger = new Int32Array(this.callSites.length * 2);
      bigger.set(this.callSites);
      this.callSites = bigger;
    }
    this.callSites[this.nCallSites * 2] = this.n;
    this.callSites[this.nCallSites * 2 + 1] = f;
    this.nCallSites++;
    this.emit(Op.Call, 0, 0, 0, at);
  }

  // ------------------------------------------------------------------------------------------
  // Operand and control stacks.

  private typeMismatch(detail: string): never {
    throw new WasmError("invalid", `type mismatch: ${detail}`, "code", this.opAt);
  }

  private tname(t: number): string {
    return t === T_UNKNOWN ? "(unknown)" : typeName(t);
  }

  private push(t: number): void {
    if (this.vh >= this.vals.length) {
      const bigger = new Uint8Array(this.vals.length * 2);
      bigger.set(this.vals);
      this.vals = bigger;
    }
    this.vals[this.vh++] = t;
    if (this.vh > this.maxH && this.live) this.maxH = this.vh;
  }

  private pushAll(ts: ArrayLike<number>): void {
    for (let i = 0; i < ts.length; i++) this.push(ts[i]);
  }

  private pop(what: string): number {
    const top = this.cDepth - 1;
    if (this.vh === this.cHeight[top]) {
      if (this.cUnr[top]) return T_UNKNOWN;
      this.typeMismatch(`${what} expects an operand but the stack is empty`);
    }
    return this.vals[--this.vh];
  }

  private popExpect(t: number, what: string): number {
    const top = this.cDepth - 1;
    if (this.vh === this.cHeight[top]) {
      if (this.cUnr[top]) return T_UNKNOWN;
      this.typeMismatch(`${what} expects ${typeName(t)} but the stack is empty`);
    }
    const a = this.vals[--this.vh];
    if (a !== t && a !== T_UNKNOWN) this.typeMismatch(`${what} expects ${typeName(t)} but found ${typeName(a)}`);
    return a;
  }

  /** Pops values of types ts (the last one from the top); returns the types found. */
  private popAll(ts: ArrayLike<number>, what: string): number[] {
    const got = new Array<number>(ts.length);
    for (let k = ts.length - 1; k >= 0; k--) got[k] = this.popExpect(ts[k], what);
    return got;
  }

  /** Pops a reference (funcref or externref) of any type. */
  private popRef(what: string): number {
    const t = this.pop(what);
    if (t !== T_UNKNOWN && !isRefCode(t)) this.typeMismatch(`${what} expects a reference but found ${typeName(t)}`);
    return t;
  }

  private pushCtrl(kind: number, params: Uint8Array, results: Uint8Array): void {
    const d = this.cDepth;
    if (d >= this.cKind.length) {
      const grow = <T extends Uint8Array | Int32Array>(a: T): T => {
        const b = new (a.constructor as { new (n: number): T })(a.length * 2);
        b.set(a);
        return b;
      };
      this.cKind = grow(this.cKind);
      this.cHeight = grow(this.cHeight);
      this.cUnr = grow(this.cUnr);
      this.cDead = grow(this.cDead);
      this.cStart = grow(this.cStart);
      this.cPatch = grow(this.cPatch);
      this.cElse = grow(this.cElse);
    }
    this.cKind[d] = kind;
    this.cIn[d] = params;
    this.cOut[d] = results;
    this.cHeight[d] = this.vh;
    this.cUnr[d] = 0;
    this.cDead[d] = this.live ? 0 : 1;
    this.cStart[d] = this.n;
    this.cPatch[d] = -1;
    this.cElse[d] = -1;
    this.cDepth = d + 1;
    this.pushAll(params);
  }

  private setUnreachable(): void {
    const top = this.cDepth - 1;
    this.vh = this.cHeight[top];
    this.cUnr[top] = 1;
    this.live = false;
  }

  /** Ctrl index of the target of a branch with label depth l. */
  private label(l: number): number {
    if (l >= this.cDepth) throw new WasmError("invalid", `unknown label ${l}`, "code", this.opAt);
    return this.cDepth - 1 - l;
  }

  /** Label types of ctrl frame i: a loop's parameters, else the block's results. */
  private labelTypes(i: number): Uint8Array {
    return this.cKind[i] === K_LOOP ? this.cIn[i] : this.cOut[i];
  }

  /** Emit a jump to the label of ctrl frame i (forward jumps join the frame's patch chain). */
  private emitJumpTo(op: number, i: number): void {
    const at = this.opAt;
    if (this.cKind[i] === K_LOOP) {
      this.emit(op, this.cStart[i], 0, 0, at);
    } else {
      this.emit(op, this.cPatch[i], 0, 0, at);
      this.cPatch[i] = this.n - 1;
    }
  }

  /** Drops needed to branch from height h to frame i. */
  private dropsTo(i: number, h: number): number {
    return h - this.labelTypes(i).length - this.cHeight[i];
  }

  /**
   * An unconditional branch from height h to frame i: the values between the label's base and
   * its k values removed (Drop for k = 0, Nip for k = 1, through k hidden locals for k > 1), then
   * Jump (or Return to leave the function).
   */
  private emitBranch(i: number, h: number): void {
    const d = this.dropsTo(i, h);
    const k = this.labelTypes(i).length;
    const at = this.opAt;
    if (d > 0 && k > 1) {
      // temps are locals nLocals .. nLocals + k - 1; their `b` (numLocals) is patched at the end
      this.temps = Math.max(this.temps, k);
      for (let j = k - 1; j >= 0; j--) this.emit(Op.LocalSet, this.nLocals + j, 0, 0, at);
      for (let j = 0; j < d; j++) this.emit(Op.Drop, 0, 0, 0, at);
      for (let j = 0; j < k; j++) this.emit(Op.LocalGet, this.nLocals + j, 0, 0, at);
    } else {
      const dropOp = k === 1 ? Op.Nip : Op.Drop;
      for (let j = 0; j < d; j++) this.emit(dropOp, 0, 0, 0, at);
    }
    if (this.cKind[i] === K_FUNC) this.emit(Op.Return, 0, 0, 0, at);
    else this.emitJumpTo(Op.Jump, i);
  }

  private patchChain(head: number, target: number): void {
    const code = this.code;
    while (head !== -1) {
      const next = code[head * 4 + 1];
      code[head * 4 + 1] = target;
      head = next;
    }
  }

  private requireMemory(op: string): void {
    if (!this.hasMemory) throw new WasmError("invalid", `unknown memory 0 (${op} needs a memory)`, "code", this.opAt);
  }

  private requireTable(x: number, op: string): number {
    if (x >= this.tableTypes.length) throw new WasmError("invalid", `unknown table ${x} (${op})`, "code", this.opAt);
    return this.tableTypes[x];
  }

  /** The data count section must precede memory.init/data.drop (a malformation in 2.0). */
  private requireDataCount(x: number, op: string): void {
    const dc = this.m.dataCount;
    if (dc === null) this.r.fail(`data count section required (${op})`, this.opAt);
    if (x >= dc) throw new WasmError("invalid", `unknown data segment ${x}`, "code", this.opAt);
  }

  private requireElem(y: number): number {
    if (y >= this.elemTypes.length) throw new WasmError("invalid", `unknown elem segment ${y}`, "code", this.opAt);
    return this.elemTypes[y];
  }

  /** Block type -> [params, results]. */
  private blockSig(bt: number): [Uint8Array, Uint8Array] {
    if (bt === 0) return [NO_TYPES, NO_TYPES];
    if (bt < BT_INDEX) return [NO_TYPES, Uint8Array.of(bt)];
    const ti = bt - BT_INDEX;
    if (ti >= this.m.types.length) throw new WasmError("invalid", `unknown type ${ti}`, "code", this.opAt);
    const t = this.m.types[ti];
    return [t.params, t.results];
  }

  // ------------------------------------------------------------------------------------------
  // One function body: decode + validate + lower.

  private lowerBody(defIndex: number): void {
    const m = this.m;
    const body = m.bodies[defIndex];
    const r = this.r;
    r.section = "code";
    r.pos = body.start;
    r.end = body.end;
    const funcIndex = this.nImportedFuncs + defIndex;
    const type = this.funcType[funcIndex];
    const nParams = type.params.length;

    // Locals.
    const declAt = r.pos;
    const nGroups = r.len32();
    const groupCounts: number[] = [];
    const groupTypes: number[] = [];
    let declared = 0;
    for (let g = 0; g < nGroups; g++) {
      const count = r.u32();
      const t = readValType(r);
      groupCounts.push(count);
      groupTypes.push(t);
      declared += count;
    }
    if (declared >= 2 ** 32) r.fail("too many locals", declAt);
    const nLocals = nParams + declared;
    if (nLocals > MAX_LOCALS)
      throw new WasmError("unsupported", `too many locals: ${nLocals} (implementation limit ${MAX_LOCALS})`, "code", declAt);
    if (this.localTypes.length < nLocals) this.localTypes = new Uint8Array(Math.max(nLocals, this.localTypes.length * 2));
    const localTypes = this.localTypes;
    localTypes.set(type.params, 0);
    let li = nParams;
    for (let g = 0; g < nGroups; g++) {
      localTypes.fill(groupTypes[g], li, li + groupCounts[g]);
      li += groupCounts[g];
    }
    this.nLocals = nLocals;
    this.temps = 0;

    // Prologue: move the arguments from the operand stack into the locals.
    const entry = this.n;
    for (let i = nParams - 1; i >= 0; i--) this.emit(Op.LocalSet, i, nLocals, 0, declAt);
    const info = this.funcs[funcIndex];
    info.entry = entry;

    // Validation state.
    this.vh = 0;
    this.cDepth = 0;
    this.live = true;
    this.maxH = 0;
    const N = this.nTableEntries;
    this.pushCtrl(K_FUNC, NO_TYPES, type.results);

    while (this.cDepth > 0) {
      const at = r.pos;
      this.opAt = at;
      const op = r.u8();
      switch (op) {
        case 0x00: // unreachable
          if (this.live) this.emit(Op.Trap, Trap.Unreachable, 0, 0, at);
          this.setUnreachable();
          break;
        case 0x01: // nop
          break;
        case 0x02: // block
        case 0x03: {
          // loop
          const [params, results] = this.blockSig(readBlockType(r));
          this.popAll(params, OPCODE_NAMES[op]);
          this.pushCtrl(op === 0x02 ? K_BLOCK : K_LOOP, params, results);
          break;
        }
        case 0x04: {
          // if
          const [params, results] = this.blockSig(readBlockType(r));
          this.popExpect(T_I32, "if");
          this.popAll(params, "if");
          this.pushCtrl(K_IF, params, results);
          if (this.live) {
            this.cElse[this.cDepth - 1] = this.n;
            this.emit(Op.JumpUnless, -1, 0, 0, at);
          }
          break;
        }
        case 0x05: {
          // else
          const top = this.cDepth - 1;
          if (this.cKind[top] !== K_IF) r.fail("END opcode expected (else without matching if)", at);
          this.endOfBlockCheck(top, "else");
          if (!this.cDead[top]) {
            if (!this.cUnr[top]) this.emitJumpTo(Op.Jump, top); // then-part falls through: jump over else
            this.code[this.cElse[top] * 4 + 1] = this.n;
          }
          this.cElse[top] = -1;
          this.cKind[top] = K_ELSE;
          this.cUnr[top] = 0;
          this.vh = this.cHeight[top];
          this.live = !this.cDead[top];
          this.pushAll(this.cIn[top]); // the else-part starts from the block's parameters again
          break;
        }
        case 0x0b: {
          // end
          const top = this.cDepth - 1;
          this.endOfBlockCheck(top, "end");
          const kind = this.cKind[top];
          const results = this.cOut[top];
          if (kind === K_IF && !sameTypes(this.cIn[top], results))
            this.typeMismatch(`if without else must have equal parameter and result types (${typesString(this.cIn[top])} vs ${typesString(results)})`);
          if (!this.cDead[top]) {
            this.patchChain(this.cPatch[top], this.n);
            if (kind === K_IF && this.cElse[top] >= 0) this.code[this.cElse[top] * 4 + 1] = this.n;
          }
          this.cDepth--;
          this.vh = this.cHeight[top];
          if (kind === K_FUNC) {
            this.emit(Op.Return, 0, 0, 0, at);
            break;
          }
          const p = this.cDepth - 1;
          this.live = !this.cUnr[p] && !this.cDead[p];
          this.pushAll(results);
          break;
        }
        case 0x0c: {
          // br
          const i = this.label(r.u32());
          const h = this.vh;
          this.popAll(this.labelTypes(i), "br");
          if (this.live) this.emitBranch(i, h);
          this.setUnreachable();
          break;
        }
        case 0x0d: {
          // br_if
          const i = this.label(r.u32());
          this.popExpect(T_I32, "br_if");
          const lt = this.labelTypes(i);
          this.popAll(lt, "br_if");
          this.pushAll(lt);
          if (this.live) {
            const d = this.dropsTo(i, this.vh);
            if (d === 0) this.emitJumpTo(Op.JumpIf, i);
            else {
              const skip = this.n;
              this.emit(Op.JumpUnless, -1, 0, 0, at);
              this.emitBranch(i, this.vh);
              this.code[skip * 4 + 1] = this.n;
            }
          }
          break;
        }
        case 0x0e: {
          // br_table
          const count = r.len32();
          if (this.labels.length < count + 1) this.labels = new Int32Array(Math.max(count + 1, this.labels.length * 2));
          const labels = this.labels;
          for (let k = 0; k <= count; k++) labels[k] = r.u32();
          this.popExpect(T_I32, "br_table");
          for (let k = 0; k <= count; k++) labels[k] = this.label(labels[k]);
          const def = labels[count];
          const arity = this.labelTypes(def).length;
          const h = this.vh;
          for (let k = 0; k < count; k++) {
            const lt = this.labelTypes(labels[k]);
            if (this.v1 && !sameTypes(lt, this.labelTypes(def)))
              this.typeMismatch(`br_table targets must have the same label types in WebAssembly 1.0 (${typesString(lt)} vs ${typesString(this.labelTypes(def))})`);
            if (lt.length !== arity)
              this.typeMismatch(`br_table targets must have the same arity (${typesString(lt)} vs ${typesString(this.labelTypes(def))})`);
            // each target's types must match the operands (which may be unknown, unreachable code)
            const got = this.popAll(lt, "br_table");
            this.pushAll(got);
          }
          this.popAll(this.labelTypes(def), "br_table");
          if (this.live) this.emitBrTable(count, h);
          this.setUnreachable();
          break;
        }
        case 0x0f: {
          // return
          const h = this.vh;
          this.popAll(type.results, "return");
          if (this.live) this.emitBranch(0, h);
          this.setUnreachable();
          break;
        }
        case 0x10: {
          // call
          const f = r.u32();
          if (f >= this.nFuncs) throw new WasmError("invalid", `unknown function ${f}`, "code", at);
          const ft = this.funcType[f];
          this.popAll(ft.params, "call");
          this.pushAll(ft.results);
          if (this.live) {
            if (f < this.nImportedFuncs) {
              if (this.task) {
                switch (this.hostOp[f]) {
                  case HostImport.inputSize:
                    this.emit(Op.InputSize, 0, 0, 0, at);
                    break;
                  case HostImport.inputRead:
                    this.emit(Op.InputRead, 0, 0, 0, at);
                    break;
                  case HostImport.outputWrite:
                    this.emit(Op.OutputWrite, 0, 0, 0, at);
                    break;
                  case HostImport.exit:
                    this.emit(Op.Exit, 0, 0, 0, at);
                    break;
                  default:
                    this.emit(Op.Trap, Trap.Abort, 0, 0, at);
                }
              } else this.emit(Op.CallHost, f, 0, 0, at);
            } else this.emitCallTo(f, at);
          }
          break;
        }
        case 0x11: {
          // call_indirect type table
          const ti = r.u32();
          let x = 0;
          if (this.v1) r.zero("zero flag expected (WebAssembly 1.0)");
          else x = r.u32();
          if (x >= this.tableTypes.length) throw new WasmError("invalid", `unknown table ${x} (call_indirect)`, "code", at);
          if (ti >= m.types.length) throw new WasmError("invalid", `unknown type ${ti}`, "code", at);
          if (this.tableTypes[x] !== T_FUNCREF) this.typeMismatch(`call_indirect through table ${x} of ${typeName(this.tableTypes[x])}`);
          const ft = m.types[ti];
          this.popExpect(T_I32, "call_indirect");
          this.popAll(ft.params, "call_indirect");
          this.pushAll(ft.results);
          if (this.live) this.emit(Op.CallIndirect, this.canon[ti], x, N, at);
          break;
        }
        case 0x1a: // drop
          this.pop("drop");
          if (this.live) this.emit(Op.Drop, 0, 0, 0, at);
          break;
        case 0x1b: {
          // select (numeric operands only)
          this.popExpect(T_I32, "select");
          const t1 = this.pop("select");
          const t2 = this.pop("select");
          if ((t1 !== T_UNKNOWN && !isNumCode(t1)) || (t2 !== T_UNKNOWN && !isNumCode(t2)))
            this.typeMismatch(`select without a type needs numeric operands (found ${this.tname(t2)}, ${this.tname(t1)})`);
          if (t1 !== t2 && t1 !== T_UNKNOWN && t2 !== T_UNKNOWN)
            this.typeMismatch(`select operands must have the same type (${typeName(t2)} vs ${typeName(t1)})`);
          this.push(t1 === T_UNKNOWN ? t2 : t1);
          if (this.live) this.emit(Op.Select, 0, 0, 0, at);
          break;
        }
        case 0x1c: {
          // select t
          const n = r.len32();
          const ts: number[] = [];
          for (let k = 0; k < n; k++) ts.push(readValType(r));
          if (n !== 1) throw new WasmError("invalid", `invalid result arity: typed select takes one type, not ${n}`, "code", at);
          this.popExpect(T_I32, "select");
          this.popExpect(ts[0], "select");
          this.popExpect(ts[0], "select");
          this.push(ts[0]);
          if (this.live) this.emit(Op.Select, 0, 0, 0, at);
          break;
        }
        case 0x20:
        case 0x21:
        case 0x22: {
          // local.get / set / tee
          const x = r.u32();
          if (x >= this.nLocals) throw new WasmError("invalid", `unknown local ${x}`, "code", at);
          const t = this.localTypes[x];
          if (op === 0x20) this.push(t);
          else {
            this.popExpect(t, OPCODE_NAMES[op]);
            if (op === 0x22) this.push(t);
          }
          if (this.live) this.emit(op, x, this.nLocals, 0, at); // b: the frame's locals count (state witness)
          break;
        }
        case 0x23:
        case 0x24: {
          // global.get / set
          const x = r.u32();
          if (x >= this.globalTypes.length) throw new WasmError("invalid", `unknown global ${x}`, "code", at);
          const t = this.globalTypes[x];
          if (op === 0x23) this.push(t);
          else {
            if (!this.globalMutable[x]) throw new WasmError("invalid", `global is immutable: global.set ${x}`, "code", at);
            this.popExpect(t, "global.set");
          }
          if (this.live) {
            const ext = x < this.nImportedGlobals;
            const lop = op === 0x23 ? (ext ? Op.GlobalGetExt : Op.GlobalGet) : ext ? Op.GlobalSetExt : Op.GlobalSet;
            // b: the number of defined globals (the globals tree size, for the state witness)
            this.emit(lop, this.globalSlot[x], ext ? 0 : this.nDefinedGlobals, 0, at);
          }
          break;
        }
        case 0x25:
        case 0x26: {
          // table.get / table.set
          const x = r.u32();
          const t = this.requireTable(x, OPCODE_NAMES[op] || (op === 0x25 ? "table.get" : "table.set"));
          if (op === 0x25) {
            this.popExpect(T_I32, "table.get");
            this.push(t);
          } else {
            this.popExpect(t, "table.set");
            this.popExpect(T_I32, "table.set");
          }
          if (this.live) this.emit(op === 0x25 ? Op.TableGet : Op.TableSet, x, 0, N, at);
          break;
        }
        case 0x3f: // memory.size
          r.zero();
          this.requireMemory("memory.size");
          this.push(T_I32);
          if (this.live) this.emit(Op.MemorySize, 0, 0, 0, at);
          break;
        case 0x40: // memory.grow
          r.zero();
          this.requireMemory("memory.grow");
          this.popExpect(T_I32, "memory.grow");
          this.push(T_I32);
          if (this.live) this.emit(Op.MemoryGrow, 0, 0, 0, at);
          break;
        case 0x41: {
          const v = r.s32();
          this.push(T_I32);
          if (this.live) this.emit(Op.I32Const, v, 0, 0, at);
          break;
        }
        case 0x42: {
          r.s64();
          this.push(T_I64);
          if (this.live) this.emit(Op.I64Const, r.i64lo, r.i64hi, 0, at);
          break;
        }
        case 0x43: {
          const bits = r.fixed32();
          this.push(T_F32);
          if (this.live) this.emit(Op.F32Const, bits, 0, 0, at);
          break;
        }
        case 0x44: {
          const lo = r.fixed32();
          const hi = r.fixed32();
          this.push(T_F64);
          if (this.live) this.emit(Op.F64Const, lo, hi, 0, at);
          break;
        }
        case 0xd0: {
          // ref.null t
          const t = readRefType(r);
          this.push(t);
          if (this.live) this.emit(Op.I32Const, 0, 0, 0, at);
          break;
        }
        case 0xd1: // ref.is_null: references are u32 values, null is 0
          this.popRef("ref.is_null");
          this.push(T_I32);
          if (this.live) this.emit(0x45, 0, 0, 0, at); // i32.eqz
          break;
        case 0xd2: {
          // ref.func f
          const f = r.u32();
          if (f >= this.nFuncs) throw new WasmError("invalid", `unknown function ${f}`, "code", at);
          if (!this.declared.has(f)) throw new WasmError("invalid", `undeclared function reference ${f}`, "code", at);
          this.push(T_FUNCREF);
          if (this.live) this.emit(Op.RefFunc, f, 0, 0, at);
          break;
        }
        case 0xfc:
          this.lowerPrefixed(at);
          break;
        default:
          if (op >= 0x28 && op <= 0x3e) {
            // loads and stores
            const align = r.u32();
            const offset = r.u32();
            const name = OPCODE_NAMES[op];
            this.requireMemory(name);
            if (align > MEM_ALIGN[op])
              throw new WasmError(
                "invalid",
                `alignment must not be larger than natural: ${name} align=${2 ** Math.min(align, 64)} > ${1 << MEM_ALIGN[op]}`,
                "code",
                at,
              );
            const t = MEM_TYPE[op];
            if (op <= 0x35) {
              this.popExpect(T_I32, name);
              this.push(t);
            } else {
              this.popExpect(t, name);
              this.popExpect(T_I32, name);
            }
            if (this.live) this.emit(op, offset | 0, 0, 0, at);
          } else if (op >= 0x45 && op <= 0xc4) {
            const name = OPCODE_NAMES[op];
            const in2 = NUM_IN2[op];
            if (in2) this.popExpect(in2, name);
            this.popExpect(NUM_IN1[op], name);
            this.push(NUM_OUT[op]);
            // reinterpretations (0xbc..0xbf) are the identity on the bits: nothing to emit
            if (this.live && (op < 0xbc || op > 0xbf)) this.emit(op, 0, 0, 0, at);
          } else {
            readLaterOrIllegal(r, op, at);
          }
      }
    }
    if (r.pos !== body.end) r.fail("section size mismatch (function body longer than its end)", r.pos);
    const total = nLocals + this.temps;
    if (total > MAX_LOCALS)
      throw new WasmError("unsupported", `too many locals: ${total} with the lowering's temporaries (implementation limit ${MAX_LOCALS})`, "code", declAt);
    if (this.temps > 0) {
      // every local access of the body carries the frame's final size (docs/STATE.md §2.4)
      const code = this.code;
      for (let pc = entry; pc < this.n; pc++) {
        const o = code[pc * 4];
        if (o === Op.LocalGet || o === Op.LocalSet || o === Op.LocalTee) code[pc * 4 + 2] = total;
      }
    }
    info.numLocals = total;
    info.maxHeight = this.maxH;
  }

  /** At `else`/`end`: the block's stack must hold exactly its results above its base. */
  private endOfBlockCheck(top: number, what: string): void {
    this.popAll(this.cOut[top], `${what} of block`);
    if (this.vh !== this.cHeight[top])
      this.typeMismatch(`${this.vh - this.cHeight[top]} value(s) left on the stack at ${what} of block`);
  }

  private emitBrTable(count: number, h: number): void {
    const labels = this.labels;
    const at = this.opAt;
    this.emit(Op.BrTable, count, 0, 0, at);
    const needStub: number[] = []; // [entry pc, ctrl index] pairs
    for (let k = 0; k <= count; k++) {
      const i = labels[k];
      if (this.dropsTo(i, h) === 0) this.emitJumpTo(Op.Jump, i);
      else {
        needStub.push(this.n, i);
        this.emit(Op.Jump, -1, 0, 0, at);
      }
    }
    if (needStub.length === 0) return;
    const stubOf = new Map<number, number>();
    for (let s = 0; s < needStub.length; s += 2) {
      const i = needStub[s + 1];
      let stub = stubOf.get(i);
      if (stub === undefined) {
        stub = this.n;
        stubOf.set(i, stub);
        this.emitBranch(i, h);
      }
      this.code[needStub[s] * 4 + 1] = stub;
    }
  }

  /** 0xFC-prefixed instructions: saturating truncations, bulk memory, table operations. */
  private lowerPrefixed(at: number): void {
    const r = this.r;
    const sub = r.u32();
    const N = this.nTableEntries;
    const T = this.tableTypes.length;
    const live = this.live;
    const name = sub < FC_NAMES.length ? FC_NAMES[sub] : "";
    switch (sub) {
      case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: { // prettier-ignore
        // trunc_sat: 0xc5..0xcc (isa.ts), the types of the trapping twin
        const twin = TRUNC_OPS[sub];
        this.popExpect(NUM_IN1[twin], name);
        this.push(NUM_OUT[twin]);
        if (live) this.emit(TRUNC_SAT_OPS[sub], 0, 0, 0, at);
        return;
      }
      case 8: {
        // memory.init x
        const x = r.u32();
        r.zero();
        this.requireMemory(name);
        this.requireDataCount(x, name);
        this.popAll([T_I32, T_I32, T_I32], name);
        if (live) this.emit(Op.MemoryInit, T + this.elemTypes.length + x, 0, N, at);
        return;
      }
      case 9: {
        // data.drop x
        const x = r.u32();
        this.requireDataCount(x, name);
        if (live) this.emit(Op.SegmentDrop, T + this.elemTypes.length + x, 0, N, at);
        return;
      }
      case 10:
      case 11:
        r.zero();
        if (sub === 10) r.zero();
        this.requireMemory(name);
        this.popAll([T_I32, T_I32, T_I32], name);
        if (live) this.emit(sub === 10 ? Op.MemoryCopy : Op.MemoryFill, 0, 0, 0, at);
        return;
      case 12: {
        // table.init x y (encoded: y x)
        const y = r.u32();
        const x = r.u32();
        const t = this.requireTable(x, name);
        const et = this.requireElem(y);
        if (t !== et) this.typeMismatch(`table.init of ${typeName(et)} elements into a table of ${typeName(t)}`);
        this.popAll([T_I32, T_I32, T_I32], name);
        if (live) this.emit(Op.TableInit, x, T + y, N, at);
        return;
      }
      case 13: {
        // elem.drop y
        const y = r.u32();
        this.requireElem(y);
        if (live) this.emit(Op.SegmentDrop, T + y, 0, N, at);
        return;
      }
      case 14: {
        // table.copy x y (dst, src)
        const x = r.u32();
        const y = r.u32();
        const tx = this.requireTable(x, name);
        const ty = this.requireTable(y, name);
        if (tx !== ty) this.typeMismatch(`table.copy from a table of ${typeName(ty)} into a table of ${typeName(tx)}`);
        this.popAll([T_I32, T_I32, T_I32], name);
        if (live) this.emit(Op.TableCopy, x, y, N, at);
        return;
      }
      case 15: {
        // table.grow x: [init, n] -> [old or -1]
        const x = r.u32();
        const t = this.requireTable(x, name);
        this.popExpect(T_I32, name);
        this.popExpect(t, name);
        if (live) {
          // TableGrow leaves [r, r, init, n] for the TableFill that follows: two slots above [init, n]
          if (this.vh + 4 > this.maxH) this.maxH = this.vh + 4;
          this.emit(Op.TableGrow, x, this.tableCeilings[x], N, at);
          this.emit(Op.TableFill, x, 0, N, at);
        }
        this.push(T_I32);
        return;
      }
      case 16: {
        // table.size x
        const x = r.u32();
        this.requireTable(x, name);
        this.push(T_I32);
        if (live) this.emit(Op.TableSize, x, 0, N, at);
        return;
      }
      case 17: {
        // table.fill x: [i, ref, n]
        const x = r.u32();
        const t = this.requireTable(x, name);
        this.popExpect(T_I32, name);
        this.popExpect(t, name);
        this.popExpect(T_I32, name);
        if (live) this.emit(Op.TableFill, x, 0, N, at);
        return;
      }
    }
    r.fail(`illegal opcode fc ${sub.toString(16)}`, at);
  }
}

/** An opcode the lowering does not know: a later proposal's (refused by name) or an illegal one. */
function readLaterOrIllegal(r: Reader, op: number, at: number): never {
  if (LATER_OPS[op]) laterFeature(r, `illegal opcode ${op.toString(16).padStart(2, "0")}`, LATER_OPS[op], at);
  return r.fail(`illegal opcode ${op.toString(16).padStart(2, "0")}`, at);
}
