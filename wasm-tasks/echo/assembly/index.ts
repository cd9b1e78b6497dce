// echo — output = input.
//
// Exercises the host interface with awkward sizes and alignments: the input is read in chunks
// whose lengths cycle through 1, 2, 3, ... 67 bytes into odd destination addresses, and written
// back in chunks of a different cycle (5, 6, ..., 71) from odd source addresses, plus one zero-length
// read at the end of the input and one zero-length write. Empty input gives empty output.
import { input_size, input_read, output_write, alloc } from "../../lib/host";

export function main(): void {
  const n = input_size();
  const buf = alloc(<usize>n + 64) + 1; // odd base address
  input_read(buf, n, 0); // zero-length reads and writes are valid, even at the end of the input
  output_write(buf, 0);
  let off = 0;
  let k = 1;
  while (off < n) {
    let len = k;
    if (len > n - off) len = n - off;
    input_read(buf + <usize>off, off, len);
    off += len;
    k = k == 67 ? 1 : k + 1;
  }
  off = 0;
  k = 5;
  while (off < n) {
    let len = k;
    if (len > n - off) len = n - off;
    output_write(buf + <usize>off, len);
    off += len;
    k = k == 71 ? 5 : k + 1;
  }
}
