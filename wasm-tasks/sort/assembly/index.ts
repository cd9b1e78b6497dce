// sort — sorts the input as unsigned 32-bit little-endian words.
//
// Input:  any bytes; the first floor(n/4)*4 bytes are words, the n%4 trailing bytes are kept as is.
// Output: the words in ascending unsigned order (little-endian), then the trailing bytes.
// Bottom-up merge sort between the input buffer and a scratch buffer: exercises loops, u32
// comparisons, memory.fill (scratch initialisation) and memory.copy (run tails, final copy back).
import { input_size, readInput, output_write, alloc } from "../../lib/host";

export function main(): void {
  const n = input_size();
  const words = <usize>(n >>> 2);
  let src = readInput();
  let dst = alloc(words << 2);
  memory.fill(dst, 0xa5, words << 2);
  const orig = src;
  for (let width: usize = 1; width < words; width <<= 1) {
    for (let lo: usize = 0; lo < words; lo += width << 1) {
      let mid = lo + width;
      if (mid > words) mid = words;
      let hi = mid + width;
      if (hi > words) hi = words;
      let i = lo,
        j = mid,
        k = lo;
      while (i < mid && j < hi) {
        const a = load<u32>(src + (i << 2));
        const b = load<u32>(src + (j << 2));
        if (b < a) {
          store<u32>(dst + (k << 2), b);
          j++;
        } else {
          store<u32>(dst + (k << 2), a);
          i++;
        }
        k++;
      }
      // one of the two runs has a tail left: move it with memory.copy
      if (i < mid) memory.copy(dst + (k << 2), src + (i << 2), (mid - i) << 2);
      else if (j < hi) memory.copy(dst + (k << 2), src + (j << 2), (hi - j) << 2);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  if (src != orig) memory.copy(orig, src, words << 2);
  output_write(orig, n);
}
