/**
 * Builds interpreter/hash/assembly/keccak.ts (AssemblyScript) to interpreter/hash/build/keccak.wasm.
 *
 *   npx tsx interpreter/hash/build.ts
 *
 * The loader (interpreter/hash/keccak.ts) calls buildKeccakWasm() itself when the .wasm is missing or
 * older than its source, so running this script first is an optimisation, not a requirement.
 * The output is written to a temporary name and renamed, so concurrent builders (parallel test
 * workers) never observe a half-written file.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isStale, writeAtomically } from "./build-output.js";

const here = dirname(fileURLToPath(import.meta.url));
export const KECCAK_SOURCE = join(here, "assembly", "keccak.ts");
export const KECCAK_WASM = join(here, "build", "keccak.wasm");

/** asc options. Part of the build's identity: changing them changes the bytes, not the semantics. */
const ASC_ARGS = [
  "--runtime", "stub", // no managed objects are used; keeps the module tiny
  "--optimizeLevel", "3",
  "--shrinkLevel", "0",
  "--noAssert",
  "--enable", "simd", // permute2: two states per v128 for batches (Node >= 16 runs wasm SIMD)
  "--initialMemory", "4", // 256 KiB: 64 KiB static + 64 KiB fixed buffers + 128 KiB scratch; grown from TS
];

/** Path of the asc CLI of the installed AssemblyScript. */
function ascCli(): string {
  return createRequire(import.meta.url).resolve("assemblyscript/bin/asc.js");
}

/**
 * Compiles the keccak module to `outFile`. Synchronous (asc runs in a child process) so that the
 * loader can build on first use without a top-level await: keccak.ts stays loadable through
 * require(esm) and from CommonJS contexts.
 */
export function compileKeccakWasm(outFile: string): void {
  try {
    execFileSync(process.execPath, [ascCli(), KECCAK_SOURCE, "--outFile", outFile, ...ASC_ARGS], {
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`asc failed to build ${KECCAK_SOURCE}: ${err.message}\n${err.stderr?.toString() ?? ""}`);
  }
}

/** True when build/keccak.wasm is missing or older than its source or than this build script. */
export function keccakWasmStale(): boolean {
  return isStale(KECCAK_WASM, [KECCAK_SOURCE, fileURLToPath(import.meta.url)]);
}

/** Builds build/keccak.wasm (atomically) and returns its bytes. */
export function buildKeccakWasm(): Uint8Array {
  writeAtomically(KECCAK_WASM, ".wasm", compileKeccakWasm);
  return readFileSync(KECCAK_WASM);
}

/** The module bytes: the built file when fresh, otherwise a fresh build. */
export function keccakWasmBytes(): Uint8Array {
  if (!keccakWasmStale()) return readFileSync(KECCAK_WASM);
  return buildKeccakWasm();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // like the task and contract builds: nothing is rebuilt when the output is fresh (--force rebuilds)
  if (keccakWasmStale() || process.argv.includes("--force")) {
    const t0 = performance.now();
    const bytes = buildKeccakWasm();
    console.log(`built ${KECCAK_WASM} (${bytes.length} bytes) in ${(performance.now() - t0).toFixed(0)} ms`);
  } else console.log(`${KECCAK_WASM} is up to date`);
  // the optional native batch hasher (native.ts): built here ahead of time, or on first use
  const { nativeHasher, nativeStatus } = await import("./native.js");
  console.log(nativeHasher ? "native batch hasher: AVX-512" : `native batch hasher unavailable (${nativeStatus}): the WebAssembly module hashes everything`);
}
