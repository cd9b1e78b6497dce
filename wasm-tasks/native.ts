/**
 * Runs a built task on the host's own WebAssembly engine (V8), with a JavaScript implementation of
 * the truewasm host interface (docs/TASKS.md). Used by the differential tests (native output must
 * equal the interpreter's) and by the benchmark's native timing.
 *
 *   const { output } = runNative(loadTask("sha256d"), input);
 *
 * A trap of the task (wasm trap, abort, host-interface violation, output limit) is thrown as a
 * TaskTrap whose `kind` is the machine's trap code (interpreter/isa.ts `Trap`), so tests can
 * compare it with the interpreter's terminal state. The mapping from V8's messages is best effort:
 * native stack depth differs from the machine's limits, so stack exhaustion may report
 * CallStackExhausted where the machine reports ValueStackExhausted or the reverse.
 */
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { instantiateSync, type Imports } from "@assemblyscript/loader";
import { ABORT_IMPORT, DEFAULT_LIMITS, HOST_MODULE, HostImport, Trap, TRAP_MESSAGES } from "../interpreter/isa.js";

const HERE = dirname(fileURLToPath(import.meta.url));
/** Directory of the built tasks: wasm-tasks/build/<name>.wasm */
export const BUILD_DIR = join(HERE, "build");

export class TaskTrap extends Error {
  constructor(
    /** Machine trap code (Trap.*). */
    readonly kind: number,
    detail?: string,
  ) {
    super(`task trapped: ${TRAP_MESSAGES[kind] ?? `trap ${kind}`}${detail ? ` (${detail})` : ""}`);
    this.name = "TaskTrap";
  }
}

export interface NativeOptions {
  /** Output limit in bytes (default DEFAULT_LIMITS.outputBytes = 64 KiB). */
  outputLimit?: number;
}

export interface NativeResult {
  /** Bytes written with output_write, in order. */
  output: Uint8Array;
  /** Live view of the task's linear memory after main returned. */
  memory: Uint8Array;
  /** The instance's exports (for inspection only). */
  exports: Record<string, unknown>;
}

/** Path of a built task. */
export function taskPath(name: string): string {
  return join(BUILD_DIR, `${name}.wasm`);
}

/** Bytes of a built task; fails with a clear message when it has not been built. */
export function loadTask(name: string): Uint8Array {
  const p = taskPath(name);
  if (!existsSync(p)) throw new Error(`${p} not found: run \`npm run build:tasks\` first`);
  return new Uint8Array(readFileSync(p));
}

const ALLOWED = new Set([
  `${HOST_MODULE}.${HostImport.inputSize}`,
  `${HOST_MODULE}.${HostImport.inputRead}`,
  `${HOST_MODULE}.${HostImport.outputWrite}`,
  `${ABORT_IMPORT.module}.${ABORT_IMPORT.name}`,
]);

const moduleCache = new WeakMap<Uint8Array, WebAssembly.Module>();

/** Compiles (and caches per byte array) a task module and checks its imports and exports. */
export function compileTask(wasm: Uint8Array | WebAssembly.Module): WebAssembly.Module {
  let mod: WebAssembly.Module;
  if (wasm instanceof WebAssembly.Module) mod = wasm;
  else {
    const cached = moduleCache.get(wasm);
    mod = cached ?? new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
    if (!cached) moduleCache.set(wasm, mod);
  }
  for (const imp of WebAssembly.Module.imports(mod)) {
    if (imp.kind !== "function" || !ALLOWED.has(`${imp.module}.${imp.name}`))
      throw new Error(`task imports ${imp.kind} ${imp.module}.${imp.name}, which is not part of the task host interface`);
  }
  const exps = new Map(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
  if (exps.get("main") !== "function") throw new Error("task does not export a function `main`");
  if (exps.get("memory") !== "memory") throw new Error("task does not export its `memory`");
  return mod;
}

/** Reads an AssemblyScript string (UTF-16, byte length at ptr-4) for abort messages. */
function asString(mem: WebAssembly.Memory | undefined, ptr: number): string {
  if (!mem || !ptr) return "";
  const buf = mem.buffer;
  if (ptr < 4 || ptr > buf.byteLength) return `<${ptr}>`;
  const len = new DataView(buf).getUint32(ptr - 4, true);
  if (ptr + len > buf.byteLength || len & 1) return `<${ptr}>`;
  return String.fromCharCode(...new Uint16Array(buf.slice(ptr, ptr + len)));
}

function classify(e: unknown): TaskTrap {
  if (e instanceof TaskTrap) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError && /call stack/i.test(msg)) return new TaskTrap(Trap.CallStackExhausted, msg);
  if (e instanceof WebAssembly.RuntimeError) {
    if (/unreachable/i.test(msg)) return new TaskTrap(Trap.Unreachable, msg);
    if (/divide by zero|remainder by zero/i.test(msg)) return new TaskTrap(Trap.IntegerDivideByZero, msg);
    if (/divide result unrepresentable|integer overflow/i.test(msg)) return new TaskTrap(Trap.IntegerOverflow, msg);
    if (/out of bounds/i.test(msg) && /memory/i.test(msg)) return new TaskTrap(Trap.OutOfBoundsMemory, msg);
    if (/signature mismatch|type mismatch/i.test(msg)) return new TaskTrap(Trap.IndirectCallTypeMismatch, msg);
    if (/table index is out of bounds/i.test(msg)) return new TaskTrap(Trap.UndefinedElement, msg);
    if (/null function|uninitialized/i.test(msg)) return new TaskTrap(Trap.UninitializedElement, msg);
    // V8 names both float-to-int traps so: NaN (InvalidConversion for the machine) or out of range
    if (/float unrepresentable/i.test(msg)) return new TaskTrap(Trap.IntegerOverflow, msg);
  }
  return new TaskTrap(Trap.HostError, msg);
}

/**
 * Runs `main` of the task with the given input. Returns the output and the final memory, or throws
 * a TaskTrap. Errors in the module itself (bad imports, no main/memory) throw plain Errors.
 */
export function runNative(
  wasm: Uint8Array | WebAssembly.Module,
  input: Uint8Array,
  opts: NativeOptions = {},
): NativeResult {
  const limit = opts.outputLimit ?? DEFAULT_LIMITS.outputBytes;
  const mod = compileTask(wasm);
  let memory: WebAssembly.Memory | undefined;
  const chunks: Uint8Array[] = [];
  let outLen = 0;
  const mem = (): Uint8Array => new Uint8Array(memory!.buffer);

  const imports = {
    [HOST_MODULE]: {
      [HostImport.inputSize]: (): number => input.length,
      [HostImport.inputRead]: (dst: number, off: number, len: number): void => {
        dst >>>= 0;
        off >>>= 0;
        len >>>= 0;
        // the input range first, then the destination (as the machine does)
        if (off + len > input.length) throw new TaskTrap(Trap.InputOutOfBounds, `input_read(${dst}, ${off}, ${len}) of ${input.length} bytes`);
        const m = mem();
        if (dst + len > m.length) throw new TaskTrap(Trap.OutOfBoundsMemory, `input_read destination ${dst}+${len}`);
        m.set(input.subarray(off, off + len), dst);
      },
      [HostImport.outputWrite]: (src: number, len: number): void => {
        src >>>= 0;
        len >>>= 0;
        const m = mem();
        // same order of checks as the machine: the source range first, then the output limit
        if (src + len > m.length) throw new TaskTrap(Trap.OutOfBoundsMemory, `output_write source ${src}+${len}`);
        if (outLen + len > limit) throw new TaskTrap(Trap.OutputLimit, `${outLen} + ${len} > ${limit} bytes`);
        chunks.push(m.slice(src, src + len));
        outLen += len;
      },
    },
    [ABORT_IMPORT.module]: {
      [ABORT_IMPORT.name]: (msg: number, file: number, line: number, col: number): never => {
        throw new TaskTrap(Trap.Abort, `${asString(memory, msg)} at ${asString(memory, file)}:${line}:${col}`);
      },
    },
  };

  let exports: Record<string, unknown>;
  try {
    // The start function (static initialisers) runs during instantiation: traps there are task traps.
    const inst = instantiateSync(mod, imports as Imports);
    exports = inst.exports as unknown as Record<string, unknown>;
    memory = exports.memory as WebAssembly.Memory;
  } catch (e) {
    throw classify(e);
  }
  try {
    (exports.main as () => void)();
  } catch (e) {
    throw classify(e);
  }
  const output = new Uint8Array(outLen);
  let o = 0;
  for (const c of chunks) {
    output.set(c, o);
    o += c.length;
  }
  return { output, memory: mem(), exports };
}
