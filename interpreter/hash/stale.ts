import { statSync } from "node:fs";

/** True when the build output `output` is missing or older than any of `sources`. */
export function isStale(output: string, sources: string[]): boolean {
  try {
    const built = statSync(output).mtimeMs;
    return sources.some((f) => built < statSync(f).mtimeMs);
  } catch {
    return true;
  }
}
