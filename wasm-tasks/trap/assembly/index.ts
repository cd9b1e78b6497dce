// trap — halts or traps as selected by input byte 0 (empty input: 0). Before trapping it writes
// the byte "T" to the output (a trapped run has no output: the byte must never be observed).
//
//   0  no trap: outputs "ok"
//   1  unreachable                       7  input_read past the end of the input
//   2  i32 divide by zero                8  output_write past the output limit (64 KiB + 1 bytes)
//   3  i32 signed division overflow      9  memory.fill past the end of memory
//   4  out-of-bounds i32 load           10  i64 remainder by zero
//   5  abort (a failed assert)          11  out-of-bounds memory.copy source
//   6  stack overflow by recursion      12+ like 0
// Operands come from the input or from memory.size so that the compiler cannot fold the trap away.
import { input_size, input_read, output_write, alloc } from "../../lib/host";

const BUF: usize = memory.data(16, 16);

function recurse(n: i32): i32 {
  if (n == 0x7fffffff) return 0;
  return recurse(n + 1) * 3 + n;
}

export function main(): void {
  const n = input_size();
  if (n > 0) input_read(BUF, 0, 1);
  const sel = n > 0 ? <i32>load<u8>(BUF) : 0;
  const zero = n;
  store<u8>(BUF, 0x54); // "T"
  const end = <usize>memory.size() << 16;
  if (sel >= 1 && sel <= 11) output_write(BUF, 1);
  switch (sel) {
    case 1:
      unreachable();
      break;
    case 2: {
      const x = <u32>(sel * 7) / <u32>(load<u8>(BUF + 1)); // BUF+1 is 0
      store<u32>(BUF, x);
      break;
    }
    case 3: {
      const m = <i32>(0x80000000 | <u32>load<u8>(BUF + 1));
      const x = m / (<i32>load<u8>(BUF + 1) - 1);
      store<i32>(BUF, x);
      break;
    }
    case 4:
      store<u32>(BUF, load<u32>(end - 2));
      break;
    case 5:
      assert(zero == 0 - sel, "selected trap 5");
      break;
    case 6:
      store<i32>(BUF, recurse(sel));
      break;
    case 7:
      input_read(BUF, 0, n + 1);
      break;
    case 8: {
      const p = alloc(65536);
      output_write(p, 65535); // with the "T" already written this reaches the limit exactly...
      output_write(p, 1); // ...and this byte is one too many
      break;
    }
    case 9:
      memory.fill(end - 10, 0, 11);
      break;
    case 10: {
      const x = (<u64>sel << 40) % <u64>load<u8>(BUF + 1);
      store<u64>(BUF, x);
      break;
    }
    case 11:
      memory.copy(BUF, end - 4, 8);
      break;
    default: {
      store<u16>(BUF, 0x6b6f); // "ok"
      output_write(BUF, 2);
    }
  }
}
