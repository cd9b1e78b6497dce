// sha256d — the interpreter benchmark task.
//
// Input:  N concatenated 80-byte messages (input length must be a multiple of 80, else abort).
// Output: 32 bytes, SHA-256( sha256d(m_0) || sha256d(m_1) || ... || sha256d(m_{N-1}) ),
//         where sha256d(m) = SHA-256(SHA-256(m)). For N = 0 that is SHA-256 of the empty string.
// The outer hash is streamed: every two double hashes fill one 64-byte block.
import { input_size, readInput, output_write } from "../../lib/host";
import { sha256Init, sha256Block, sha256Final, sha256Digest, sha256d80 } from "../../lib/sha256";

const OUTER: usize = memory.data(32, 16);
const BLOCK: usize = memory.data(64, 16);

export function main(): void {
  const len = input_size();
  const n = len / 80;
  if (n * 80 != len) abort("input length is not a multiple of 80");
  const input = readInput();
  sha256Init(OUTER);
  let p = input;
  for (let i = 0; i < n; i++) {
    sha256d80(p, BLOCK + ((<usize>i & 1) << 5));
    if (i & 1) sha256Block(OUTER, BLOCK);
    p += 80;
  }
  sha256Final(OUTER, BLOCK, (<usize>n & 1) << 5, <u64>n << 5);
  sha256Digest(OUTER, OUTER);
  output_write(OUTER, 32);
}
