/**
 * The optional native batch hasher (native/keccak8.c): Merkle-node hashing four or eight nodes per
 * permutation with AVX-512, about 4.5x the WebAssembly module's throughput (docs/HASHING.md), single
 * messages and hash chains on one lane, and the memory commitment's dirty-leaf scan (marksAbove)
 * eight marks per compare.
 *
 * It is built on first use with the system C compiler (`$CC`, else `cc`) against the Node-API
 * headers that ship with Node (next to the node binary, or npm's `nodedir`), into
 * build/keccak8.node; `npm run build:hash` builds it ahead of time. Node-API is ABI-stable, so one
 * build serves every Node version. Anything missing — no compiler, no headers, a CPU without
 * AVX-512 (any non-x86-64 one is not even tried) — leaves `nativeHasher` null and the WebAssembly module does all the hashing: the two
 * compute the same function (test/hash/keccak.test.ts checks them against each other), so the
 * choice changes speed only, never a root.
 *
 * TRUEWASM_NATIVE_KECCAK=0 disables it (benchmarks use that to measure the WebAssembly path).
 */
import { execFileSync, execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isStale, writeAtomically } from "./build-output.js";

export interface NativeHasher {
  /** bytes[out + 32 i ..] = keccak256(prefix ‖ bytes[in + 64 i .. +64)) for i < n; prefix -1: none. */
  hashPairs(prefix: number, bytes: Uint8Array, inOffset: number, outOffset: number, n: number): void;
  /**
   * MerkleTree.update's level loop, whole (native/keccak8.c, update_levels): rehashes the stored
   * levels low..depth over the sorted distinct dirty leaves idx[0..m) (overwritten): level low from
   * the leaves, each level above from the one below. Level l is count[l] nodes of 32 bytes from node
   * first[l] of block; zh holds the zero subtree roots of heights 0..depth, 32 bytes each.
   */
  updateLevels(prefix: number, bytes: Uint8Array, block: Uint8Array, first: Uint32Array, count: Uint32Array, zh: Uint8Array, idx: Uint32Array, m: number, depth: number, low: number): void;
  /**
   * MerkleTree.rebuild's level loop, whole (native/keccak8.c, build_levels): every node of the
   * stored levels low..depth (laid out as for updateLevels), level low from the leaves, each level
   * above from the one below, read in place; count[0] = leaves stored, count[low] =
   * ceil(count[0] / 2^low), each count[l] above = ceil(count[l - 1] / 2).
   */
  buildLevels(prefix: number, bytes: Uint8Array, block: Uint8Array, first: Uint32Array, count: Uint32Array, zh: Uint8Array, depth: number, low: number): void;
  /**
   * out[0..32) = root of the depth-`depth` values tree of lo/hi[off .. off + n) (state.ts valuesRoot:
   * big-endian u64 values, four per leaf).
   */
  valuesRoot(prefix: number, lo: Int32Array, hi: Int32Array, off: number, n: number, zh: Uint8Array, depth: number, out: Uint8Array): void;
  /** out[0..32) = keccak256(bytes[0..len)): one message, on one lane. */
  keccak(bytes: Uint8Array, len: number, out: Uint8Array): void;
  /**
   * For from <= i < to: hashes[32 i ..] = keccak256(prefix ‖ below ‖ items[itemLen i .. itemLen (i + 1))),
   * below = hashes[32 (i - 1) ..], 32 zero bytes for i = 0 (a hash chain's pushes; itemLen <= 102).
   */
  chainHashes(prefix: number, items: Uint8Array, itemLen: number, from: number, to: number, hashes: Uint8Array): void;
  /** Writes the indices l < n with marks[l] > since to out, in order; returns their count. */
  marksAbove(marks: Uint32Array, n: number, since: number, out: Uint32Array): number;
  supported(): boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
export const NATIVE_SOURCE = join(here, "native", "keccak8.c");
export const NATIVE_ADDON = join(here, "build", "keccak8.node");

/** Directories that may hold node_api.h, most specific first. */
function headerDirs(): string[] {
  const dirs = [join(dirname(process.execPath), "..", "include", "node")];
  if (process.env.npm_config_nodedir) dirs.push(join(process.env.npm_config_nodedir, "include", "node"));
  try {
    const nodedir = execSync("npm config get nodedir", { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).toString().trim();
    if (nodedir && nodedir !== "undefined") dirs.push(join(nodedir, "include", "node"));
  } catch {
    // no npm on PATH: the other candidates remain
  }
  dirs.push("/usr/include/node", "/usr/local/include/node");
  return dirs;
}

/** Compiles build/keccak8.node (atomically: parallel test workers may race). Throws with the reason. */
export function buildNativeHasher(): void {
  const inc = headerDirs().find((d) => existsSync(join(d, "node_api.h")));
  if (!inc) throw new Error("node_api.h not found (Node's headers are not installed)");
  try {
    writeAtomically(NATIVE_ADDON, "", (tmp) =>
      execFileSync(process.env.CC || "cc", ["-O3", "-shared", "-fPIC", `-I${inc}`, NATIVE_SOURCE, "-o", tmp], {
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 120_000,
      }),
    );
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`cannot compile ${NATIVE_SOURCE}: ${err.stderr?.toString().trim() || err.message}`);
  }
}

/** Why the native hasher is or is not in use (for benchmarks and logs). */
export let nativeStatus = "";

function load(): NativeHasher | null {
  if (process.env.TRUEWASM_NATIVE_KECCAK === "0") {
    nativeStatus = "disabled by TRUEWASM_NATIVE_KECCAK=0";
    return null;
  }
  if (process.arch !== "x64") {
    // AVX-512 is x86-64 only: don't try (and fail) to compile it in every process
    nativeStatus = `no AVX-512 on ${process.arch}`;
    return null;
  }
  try {
    if (isStale(NATIVE_ADDON, [NATIVE_SOURCE, fileURLToPath(import.meta.url)])) buildNativeHasher();
    const addon = createRequire(import.meta.url)(NATIVE_ADDON) as NativeHasher;
    if (!addon.supported()) {
      nativeStatus = "CPU without AVX-512";
      return null;
    }
    nativeStatus = "avx512";
    return addon;
  } catch (e) {
    nativeStatus = (e as Error).message.split("\n")[0];
    return null;
  }
}

/**
 * A typed array of n elements whose bytes live off the JS heap, uninitialised. Node-API moves a
 * small on-heap typed array's bytes off the heap before handing them to C (~0.6 µs, on every call
 * for a fresh array), so the arrays a hot path passes to the addon are made here; large ones also
 * skip the zeroing `new` would do.
 */
export function offHeap<T extends Uint8Array | Int32Array | Uint32Array>(
  Type: { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; readonly BYTES_PER_ELEMENT: number },
  n: number,
): T {
  return new Type(Buffer.allocUnsafeSlow(n * Type.BYTES_PER_ELEMENT).buffer, 0, n);
}

/** The native hasher, or null when unavailable (see nativeStatus). */
export const nativeHasher: NativeHasher | null = load();

/**
 * The indices l < n with marks[l] > since, in order, written to out (which holds n); returns their
 * count. Native when available; else a JS loop over an Int32 view (V8 compares int32 elements
 * about twice as fast as uint32 ones; stamps are below 2^31, and the uint32 loop covers the rest).
 */
export function marksAbove(marks: Uint32Array, n: number, since: number, out: Uint32Array): number {
  return nativeHasher !== null ? nativeHasher.marksAbove(marks, n, since, out) : marksAboveJs(marks, n, since, out);
}

/** marksAbove without the native addon. */
export function marksAboveJs(marks: Uint32Array, n: number, since: number, out: Uint32Array): number {
  let k = 0;
  if (since < 0x7fffffff) {
    const m = new Int32Array(marks.buffer, marks.byteOffset, n);
    for (let l = 0; l < n; l++) if (m[l] > since || m[l] < 0) out[k++] = l;
  } else {
    for (let l = 0; l < n; l++) if (marks[l] > since) out[k++] = l;
  }
  return k;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(nativeHasher ? `native hasher: ${NATIVE_ADDON} (${nativeStatus})` : `native hasher unavailable: ${nativeStatus}`);
}
