// Build outputs of the hash layer (build/keccak.wasm, build/keccak8.node): when to rebuild, and how
// to write one so that parallel test workers building at once never load a half-written file.
import { mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** True when the build output `output` is missing or older than any of `sources`. */
export function isStale(output: string, sources: string[]): boolean {
  try {
    const built = statSync(output).mtimeMs;
    return sources.some((f) => built < statSync(f).mtimeMs);
  } catch {
    return true;
  }
}

/**
 * Runs `produce(tmp)` to write a temporary file beside `output` (named `…tmp` + `suffix`), then
 * renames it to `output`; the temporary file never outlives the call.
 */
export function writeAtomically(output: string, suffix: string, produce: (tmp: string) => void): void {
  mkdirSync(dirname(output), { recursive: true });
  const tmp = `${output}.${process.pid}.${Date.now()}.tmp${suffix}`;
  try {
    produce(tmp);
    renameSync(tmp, output);
  } finally {
    rmSync(tmp, { force: true });
  }
}
