/**
 * Linking: turns a program plus its resolved imports into a machine environment (memory, table,
 * globals), applying the element and data segments. Shared by the embedding API (instance.ts) and
 * task machines (Machine.forTask), so both start from the same initial state.
 */
import { DEFAULT_LIMITS, type Limits } from "./isa.js";
import type { MachineEnv } from "./machine.js";
import { WasmError, type ConstExpr, type Program } from "./program.js";
import { Global, Memory, Table, writeSlot, type FuncRef } from "./runtime.js";

export interface ResolvedImports {
  funcs: FuncRef[]; // by imported function index
  globals: Global[];
  memory?: Memory;
  table?: Table;
}

export function fullLimits(limits: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...limits };
}

/**
 * Builds the environment. `funcRef(i)` returns the reference stored in a table for function i
 * (imported functions use the import itself). Segment bounds are checked before anything is
 * written, as WebAssembly 1.0 specifies; a segment that does not fit is a link error.
 */
export function buildEnv(
  program: Program,
  imports: ResolvedImports,
  limits: Limits,
  input: Uint8Array,
  owner: object,
  funcRef: (index: number) => FuncRef,
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
  const tableInfo = program.table;
  const table = tableInfo ? (tableInfo.import ? imports.table! : new Table(tableInfo.min, tableInfo.max)) : null;

  const evalConst = (e: ConstExpr): bigint => (e.kind === "const" ? e.value : importedGlobals[e.index].value);

  const defined = program.globals.filter((g) => !g.import);
  const globalsLo = new Int32Array(defined.length);
  const globalsHi = new Int32Array(defined.length);
  defined.forEach((g, i) => writeSlot(globalsLo, globalsHi, i, g.type, evalConst(g.init!)));

  // Check every segment first, then write.
  const elemOffsets = program.elems.map((seg) => {
    const off = Number(BigInt.asUintN(32, evalConst(seg.offset)));
    if (!table || off + seg.funcs.length > table.elements.length) throw new WasmError("unlinkable", "elements segment does not fit");
    return off;
  });
  const dataOffsets = program.data.map((seg) => {
    const off = Number(BigInt.asUintN(32, evalConst(seg.offset)));
    const size = memory ? memory.bytes.length : 0;
    if (off + seg.bytes.length > size) throw new WasmError("unlinkable", "data segment does not fit");
    return off;
  });
  program.elems.forEach((seg, s) => seg.funcs.forEach((f, i) => (table!.elements[elemOffsets[s] + i] = funcRef(f))));
  program.data.forEach((seg, s) => memory!.bytes.set(seg.bytes, dataOffsets[s]));

  return {
    memory,
    table,
    globalsLo,
    globalsHi,
    importedGlobals,
    hostFuncs: imports.funcs,
    owner,
    input,
    limits,
  };
}
