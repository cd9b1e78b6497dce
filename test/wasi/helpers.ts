/**
 * Building the WASI test programs (test/wasi/c/*.c) with Debian's clang and wasi-libc, the flags of
 * the WASI C tasks (wasm-tasks/build.ts), cached by content in the system's temporary directory.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASI_CLANG_FLAGS } from "../../wasm-tasks/build.js";

export const C_DIR = join(import.meta.dirname, "c");
const CACHE = join(tmpdir(), "truewasm-wasi-c");

/** Why WASI C programs cannot be built here, or null when they can. */
export const noToolchain: string | null = (() => {
  try {
    execFileSync("clang", ["--version"], { stdio: "ignore" });
  } catch {
    return "clang not installed (apt-get install -y clang lld)";
  }
  if (!existsSync("/usr/lib/wasm32-wasi/libc.a")) return "wasi-libc not installed (apt-get install -y wasi-libc libclang-rt-14-dev-wasm32)";
  return null;
})();

/** Builds test/wasi/c/<name>.c (or the given path) and returns the module's bytes. */
export function buildC(name: string): Uint8Array {
  const src = name.endsWith(".c") ? name : join(C_DIR, `${name}.c`);
  const text = readFileSync(src);
  const key = createHash("sha256").update(JSON.stringify(WASI_CLANG_FLAGS)).update(text).digest("hex").slice(0, 20);
  const out = join(CACHE, `${key}.wasm`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync("clang", [...WASI_CLANG_FLAGS, "-o", tmp, src, "-lm"], { stdio: ["ignore", "ignore", "pipe"] });
    renameSync(tmp, out);
  }
  return new Uint8Array(readFileSync(out));
}

/** splitmix64 from state 0: the adapter's random_get stream (docs/TASKS.md §6). */
export function randomStream(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = 0n;
  const M = (1n << 64n) - 1n;
  for (let i = 0; i < n; i += 8) {
    s = (s + 0x9e3779b97f4a7c15n) & M;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    z ^= z >> 31n;
    for (let k = 0; k < 8 && i + k < n; k++) out[i + k] = Number((z >> BigInt(8 * k)) & 0xffn);
  }
  return out;
}
