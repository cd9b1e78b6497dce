// wordcount — a truewasm task in AssemblyScript (docs/DAPPS.md): counts the bytes, words and lines
// of its input, like `wc`, and writes them ABI-encoded, so that a contract reads them with
// abi.decode(output, (uint256, uint256, uint256)).
//
//   npx asc examples/wordcount/assembly/index.ts -O3 --runtime stub --outFile wordcount.wasm
//
// A task exports `main(): void` (the task halts when it returns) and `memory`, and talks to the
// world only through these three imports (docs/TASKS.md §1):

// @ts-ignore: decorator
@external("truewasm", "input_size")
declare function input_size(): i32;

// @ts-ignore: decorator
@external("truewasm", "input_read")
declare function input_read(dst: usize, offset: i32, len: i32): void; // traps past the input's end

// @ts-ignore: decorator
@external("truewasm", "output_write")
declare function output_write(src: usize, len: i32): void; // traps past the output limit

// The input is read in blocks into one buffer, so memory stays small (two 64 KiB pages) whatever
// the input's size: a 16 MiB input needs no 16 MiB of memory.
const BLOCK: i32 = 65536;

export function main(): void {
  const n = input_size();
  const buf = heap.alloc(<usize>BLOCK);
  let words: u32 = 0;
  let lines: u32 = 0;
  let inWord = false;
  for (let off = 0; off < n; off += BLOCK) {
    const len = min(BLOCK, n - off);
    input_read(buf, off, len);
    for (let i = 0; i < len; i++) {
      const c = load<u8>(buf + <usize>i);
      if (c == 10) lines++;
      const space = c == 32 || (c >= 9 && c <= 13);
      if (!space && !inWord) words++;
      inWord = !space;
    }
  }
  // abi.encode(uint256 bytes, uint256 words, uint256 lines): three big-endian 32-byte words
  const out = heap.alloc(96);
  memory.fill(out, 0, 96);
  store<u32>(out + 28, bswap<u32>(<u32>n));
  store<u32>(out + 60, bswap<u32>(words));
  store<u32>(out + 92, bswap<u32>(lines));
  output_write(out, 96);
}
