// sha256 — output = SHA-256(input), 32 bytes. Exercises the generic, any-length path of
// lib/sha256.ts (full blocks, then a 1- or 2-block padded tail through memory.copy/fill).
import { input_size, readInput, output_write } from "../../lib/host";
import { sha256 } from "../../lib/sha256";

const OUT: usize = memory.data(32, 16);

export function main(): void {
  const n = input_size();
  sha256(readInput(), <usize>n, OUT);
  output_write(OUT, 32);
}
