/**
 * WASI tasks on V8, two ways, for the differential tests (test/wasi/):
 *
 *   runNodeWasi(wasm, input)     the module as it is, under Node's own WASI (node:wasi): stdin is
 *                                the input, stdout the output, stderr dropped, args ["task"], no
 *                                environment, no preopened directories
 *   runLinkedNative(wasm, input) the module linked with the WASI adapter (interpreter/wasi.ts), on
 *                                V8 with a JavaScript task host (truewasm.input_* / output_write /
 *                                exit): what the machine runs, executed by another engine
 *
 * Both return { output, exitCode } (exit code 0 when _start returns) or throw: a WebAssembly trap
 * as the RuntimeError V8 raises.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { linkWasi, WASI_PROGRAM_NAME } from "../interpreter/wasi.js";

export interface WasiRun {
  output: Uint8Array;
  exitCode: number;
}

// node:wasi warns once per process that it is experimental: not news in a test log
const quiet = process.emitWarning;
function withoutWarning<T>(f: () => T): T {
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    if (!String(w).includes("WASI")) (quiet as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  try {
    return f();
  } finally {
    process.emitWarning = quiet;
  }
}

export function runNodeWasi(wasm: Uint8Array, input: Uint8Array): WasiRun {
  const dir = mkdtempSync(join(tmpdir(), "truewasm-wasi-"));
  const inPath = join(dir, "stdin");
  const outPath = join(dir, "stdout");
  writeFileSync(inPath, input);
  const stdin = openSync(inPath, "r");
  const stdout = openSync(outPath, "w");
  const stderr = openSync("/dev/null", "w");
  try {
    // loaded here: node:wasi warns that it is experimental when it is loaded
    const { WASI } = withoutWarning(() => createRequire(import.meta.url)("node:wasi") as typeof import("node:wasi"));
    const wasi = withoutWarning(() => new WASI({ version: "preview1", args: [WASI_PROGRAM_NAME], env: {}, stdin, stdout, stderr, returnOnExit: true }));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>), wasi.getImportObject() as WebAssembly.Imports);
    const exitCode = wasi.start(instance);
    return { output: new Uint8Array(readFileSync(outPath)), exitCode: exitCode >>> 0 };
  } finally {
    closeSync(stdin);
    closeSync(stdout);
    closeSync(stderr);
    rmSync(dir, { recursive: true, force: true });
  }
}

class Exit {
  constructor(readonly code: number) {}
}

export function runLinkedNative(wasm: Uint8Array, input: Uint8Array): WasiRun {
  const linked = linkWasi(wasm);
  if (!linked) throw new Error("the module could not be linked with the WASI adapter");
  let memory: WebAssembly.Memory | undefined;
  const chunks: Uint8Array[] = [];
  const host = {
    input_size: () => input.length,
    input_read: (dst: number, off: number, len: number) => {
      if ((off >>> 0) + (len >>> 0) > input.length) throw new WebAssembly.RuntimeError("input read out of bounds");
      new Uint8Array(memory!.buffer).set(input.subarray(off >>> 0, (off >>> 0) + (len >>> 0)), dst >>> 0);
    },
    output_write: (src: number, len: number) => {
      chunks.push(new Uint8Array(memory!.buffer).slice(src >>> 0, (src >>> 0) + (len >>> 0)));
    },
    exit: (code: number) => {
      throw new Exit(code >>> 0);
    },
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(linked as Uint8Array<ArrayBuffer>), { truewasm: host });
  memory = instance.exports.memory as WebAssembly.Memory;
  let exitCode = 0;
  try {
    (instance.exports.main as () => void)();
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    exitCode = e.code;
  }
  return { output: Buffer.concat(chunks), exitCode };
}
