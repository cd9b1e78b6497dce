/**
 * The embedding API: instantiate a compiled program against imports and invoke its exports, as
 * a WebAssembly engine would. Used by the spec test runner and the differential tests; task
 * programs use Machine.forTask instead (no imports but the host ABI).
 *
 * Values are bigints: numbers as their bits (i32/i64 signed), references as their value in the
 * embedding's store `hostRefs` (0 = null; `hostRefs.get(v)` is the FuncRef or ExternRef).
 */
import { Status, type Limits } from "./isa.js";
import { applySegments, buildEnv, fullLimits, type ResolvedImports } from "./link.js";
import { Machine, type MachineEnv } from "./machine.js";
import { sameSignature, WasmError, type Program } from "./program.js";
import { ExternRef, Global, hostRefs, Memory, normalize, RefStore, Table, TrapError, writeSlot, type ExternVal, type FuncRef } from "./runtime.js";

export { ExternRef, Global, hostRefs, Memory, RefStore, Table, TrapError, type ExternVal, type FuncRef };
export type ImportResolver = (module: string, name: string) => ExternVal | undefined;

/** A global defined by an instance, exported: reads and writes the instance's own storage. */
class InstanceGlobal extends Global {
  constructor(
    type: Global["type"],
    mutable: boolean,
    private readonly lo: Int32Array,
    private readonly hi: Int32Array,
    private readonly slot: number,
  ) {
    super(type, mutable);
  }
  override get value(): bigint {
    return normalize(this.type, (BigInt(this.hi[this.slot]) << 32n) | BigInt(this.lo[this.slot] >>> 0));
  }
  override set value(v: bigint) {
    writeSlot(this.lo, this.hi, this.slot, this.type, v);
  }
}

function isFuncRef(x: unknown): x is FuncRef {
  return typeof x === "object" && x !== null && typeof (x as FuncRef).call === "function" && "type" in x;
}

function resolveImports(program: Program, resolve: ImportResolver): ResolvedImports {
  const out: ResolvedImports = { funcs: [], globals: [], tables: [] };
  const fail = (m: string, n: string, why: string) => new WasmError("unlinkable", `import ${m}.${n}: ${why}`);
  for (const f of program.funcs) {
    if (!f.import) continue;
    const { module: m, name: n } = f.import;
    const v = resolve(m, n);
    if (!isFuncRef(v)) throw fail(m, n, v === undefined ? "unknown import" : "incompatible import type (expected a function)");
    if (!sameSignature(v.type, program.types[f.typeIndex])) throw fail(m, n, "incompatible import type (signature mismatch)");
    out.funcs.push(v);
  }
  for (const g of program.globals) {
    if (!g.import) continue;
    const { module: m, name: n } = g.import;
    const v = resolve(m, n);
    if (!(v instanceof Global)) throw fail(m, n, v === undefined ? "unknown import" : "incompatible import type (expected a global)");
    if (v.type !== g.type || v.mutable !== g.mutable) throw fail(m, n, "incompatible import type (global type mismatch)");
    out.globals.push(v);
  }
  const limitsFit = (cur: number, max: number | undefined, wantMin: number, wantMax: number | undefined) =>
    cur >= wantMin && (wantMax === undefined || (max !== undefined && max <= wantMax));
  if (program.memory?.import) {
    const { module: m, name: n } = program.memory.import;
    const v = resolve(m, n);
    if (!(v instanceof Memory)) throw fail(m, n, v === undefined ? "unknown import" : "incompatible import type (expected a memory)");
    if (!limitsFit(v.pages, v.max, program.memory.min, program.memory.max)) throw fail(m, n, "incompatible import type (memory limits)");
    out.memory = v;
  }
  for (const t of program.tables) {
    if (!t.import) continue;
    const { module: m, name: n } = t.import;
    const v = resolve(m, n);
    if (!(v instanceof Table)) throw fail(m, n, v === undefined ? "unknown import" : "incompatible import type (expected a table)");
    if (v.type !== t.type) throw fail(m, n, `incompatible import type (a table of ${v.type}, not ${t.type})`);
    if (!limitsFit(v.elements.length, v.max, t.min, t.max)) throw fail(m, n, "incompatible import type (table limits)");
    out.tables.push(v);
  }
  return out;
}

export class Instance {
  readonly exports = new Map<string, ExternVal>();
  readonly env: MachineEnv;
  private readonly refs: FuncRef[] = [];
  private machine: Machine | null = null;

  constructor(
    readonly program: Program,
    imports: ResolvedImports,
    readonly limits: Limits,
    refs: RefStore = hostRefs,
  ) {
    const importedFuncs = imports.funcs;
    const nImported = importedFuncs.length;
    program.funcs.forEach((f, i) => {
      this.refs.push(
        i < nImported
          ? importedFuncs[i]
          : { type: program.types[f.typeIndex], call: (args) => this.callFunc(i, args), owner: this, index: i },
      );
    });
    this.env = buildEnv(program, imports, limits, new Uint8Array(0), this, (i) => this.refs[i], refs);
    // may trap (a segment that does not fit): the functions of this instance the segments before
    // it put into an imported table stay callable, as in the spec
    applySegments(program, this.env);

    for (const e of program.exports) {
      switch (e.kind) {
        case "func":
          this.exports.set(e.name, this.refs[e.index]);
          break;
        case "memory":
          this.exports.set(e.name, this.env.memory!);
          break;
        case "table":
          this.exports.set(e.name, this.env.tables[e.index]);
          break;
        case "global": {
          const g = program.globals[e.index];
          const slot = program.globalSlot[e.index];
          this.exports.set(
            e.name,
            g.import ? this.env.importedGlobals[slot] : new InstanceGlobal(g.type, g.mutable, this.env.globalsLo, this.env.globalsHi, slot),
          );
          break;
        }
      }
    }
    if (program.start !== null) this.callFunc(program.start, []);
  }

  get memory(): Memory | null {
    return this.env.memory;
  }

  /** Invokes an exported function. Values are raw bits as bigint; throws TrapError. */
  invoke(name: string, args: readonly bigint[]): bigint[] {
    const f = this.exports.get(name);
    if (!isFuncRef(f)) throw new Error(`no exported function "${name}"`);
    return f.call([...args]);
  }

  /** Calls function `index` of this instance through its invoke stub. */
  callFunc(index: number, args: readonly bigint[]): bigint[] {
    const f = this.program.funcs[index];
    if (f.import) return this.refs[index].call([...args]);
    const type = this.program.types[f.typeIndex];
    // A re-entrant call (host -> this instance while it runs) gets its own machine on the same env.
    const m = this.machine && this.machine.status === Status.Running ? new Machine(this.program, this.env) : (this.machine ??= new Machine(this.program, this.env));
    m.reset(f.stub, args, type.params);
    m.run();
    if (m.status === Status.Trapped) throw new TrapError(m.trap);
    const results: bigint[] = [];
    for (let i = 0; i < type.results.length; i++) results.push(normalize(type.results[i], m.peek(type.results.length - 1 - i)));
    return results;
  }
}

/**
 * Links and initialises a program. Throws WasmError("unlinkable") or TrapError (a segment that does
 * not fit, the start function). `refs` numbers its references: the embedding's shared store by
 * default; a fresh store for a module without imported functions numbers function f as f + 1, as
 * a task does, so that its machine's states are provable.
 */
export function instantiate(program: Program, resolve: ImportResolver = () => undefined, limits: Partial<Limits> = {}, refs: RefStore = hostRefs): Instance {
  return new Instance(program, resolveImports(program, resolve), fullLimits(limits), refs);
}
