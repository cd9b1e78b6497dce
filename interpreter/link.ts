/**
 * Linking and instantiation (WebAssembly 2.0): turns a program plus its resolved imports into a
 * machine environment (memory, tables, globals, segments), then initialises the tables and memory
 * from the active segments. Shared by the embedding API (instance.ts) and task machines
 * (Machine.forTask), so both start from the same initial state.
 */
import { DEFAULT_LIMITS, Trap, type Limits } from "./isa.js";
import type { MachineEnv } from "./machine.js";
import { WasmError, type ConstExpr, type Program } from "./program.js";
import { Global, Memory, RefStore, Table, TrapError, writeSlot, type FuncRef } from "./runtime.js";

export interface ResolvedImports {
  funcs: FuncRef[]; // by imported function index
  globals: Global[];
  memory?: Memory;
  tables: Table[]; // by imported table index
}

export function fullLimits(limits: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...limits };
}

const NO_BYTES = new Uint8Array(0);

/**
 * Builds the environment (no segment applied yet: see applySegments). `funcRef(i)` returns the
 * object a reference to function i stands for (imported functions use the import itself); `refs`
 * is the store that numbers them (a task's own, where function f is f + 1, or the embedding's).
 */
export function buildEnv(
  program: Program,
  imports: ResolvedImports,
  limits: Limits,
  input: Uint8Array,
  owner: object,
  funcRef: (index: number) => FuncRef,
  refs: RefStore,
): MachineEnv {
  const importedGlobals = imports.globals;

  const memInfo = program.memory;
  let memory: Memory | null = null;
  if (memInfo) {
    if (memInfo.import) memory = imports.memory!;
    else {
      if (memInfo.min > limits.memoryPages)
        throw new WasmError("unlinkable", `initial memory of ${memInfo.min} pages exceeds the limit of ${limits.memoryPages} pages`);
      memory = new Memory(memInfo.min, memInfo.max);
    }
  }
  let nImportedTables = 0;
  const tables = program.tables.map((t) => {
    if (t.import) return imports.tables[nImportedTables++];
    try {
      return new Table(t.type, t.min, t.max);
    } catch (e) {
      throw new WasmError("unlinkable", (e as Error).message);
    }
  });

  const funcIds = program.funcs.map((_, f) => refs.id(funcRef(f)));
  const evalConst = (e: ConstExpr): bigint => {
    switch (e.kind) {
      case "const":
        return e.value;
      case "null":
        return 0n;
      case "func":
        return BigInt(funcIds[e.index]);
      case "global":
        return importedGlobals[e.index].value;
    }
  };

  const defined = program.globals.filter((g) => !g.import);
  const globalsLo = new Int32Array(defined.length);
  const globalsHi = new Int32Array(defined.length);
  defined.forEach((g, i) => writeSlot(globalsLo, globalsHi, i, g.type, evalConst(g.init!)));

  const elemSegs = program.elems.map((seg) => seg.elements.map((e) => Number(evalConst(e))));
  const dataSegs = program.data.map((seg) => seg.bytes);

  return { memory, tables, globalsLo, globalsHi, importedGlobals, hostFuncs: imports.funcs, owner, refs, funcIds, elemSegs, dataSegs, input, limits };
}

/**
 * Instantiation's segment initialisation, as WebAssembly 2.0 specifies: the active element
 * segments are written in order, then the active data segments, each like table.init /
 * memory.init followed by a drop. A segment that does not fit traps (TrapError OutOfBoundsTable /
 * OutOfBoundsMemory) after the earlier ones were written (visible through shared tables and
 * memories). Active and declarative segments are dropped.
 */
export function applySegments(program: Program, env: MachineEnv): void {
  const { tables, memory, elemSegs, dataSegs } = env;
  const offsetOf = (e: ConstExpr): number =>
    Number(BigInt.asUintN(32, e.kind === "const" ? e.value : e.kind === "global" ? env.importedGlobals[e.index].value : 0n));
  if (program.profile === "1.0") {
    // WebAssembly 1.0: every segment is checked before any is written; one that does not fit is a link error
    for (const seg of program.elems)
      if (seg.mode === "active" && offsetOf(seg.offset!) + seg.elements.length > tables[seg.table].elements.length)
        throw new WasmError("unlinkable", "elements segment does not fit");
    for (const seg of program.data)
      if (seg.mode === "active" && offsetOf(seg.offset!) + seg.bytes.length > (memory ? memory.bytes.length : 0))
        throw new WasmError("unlinkable", "data segment does not fit");
  }
  program.elems.forEach((seg, s) => {
    if (seg.mode === "active") {
      const table = tables[seg.table];
      const off = offsetOf(seg.offset!);
      const vals = elemSegs[s];
      if (off + vals.length > table.elements.length) throw new TrapError(Trap.OutOfBoundsTable);
      for (let i = 0; i < vals.length; i++) table.elements[off + i] = vals[i];
      if (vals.length > 0) table.version++;
    }
    if (seg.mode !== "passive") elemSegs[s] = [];
  });
  program.data.forEach((seg, s) => {
    if (seg.mode !== "active") return;
    const off = offsetOf(seg.offset!);
    const size = memory ? memory.bytes.length : 0;
    if (off + seg.bytes.length > size) throw new TrapError(Trap.OutOfBoundsMemory);
    memory!.bytes.set(seg.bytes, off);
    dataSegs[s] = NO_BYTES;
  });
}
