/* wordcount in C — the same task as examples/wordcount (AssemblyScript), as a WASI command
 * (docs/DAPPS.md §1, docs/TASKS.md §6): the task input is stdin, the output is stdout.
 *
 *   clang --target=wasm32-wasi --sysroot=/usr -O2 examples/wordcount-c/wordcount.c -o wordcount-c.wasm
 *
 * Output: abi.encode(uint256 bytes, uint256 words, uint256 lines), 96 bytes, for a contract's
 * abi.decode(output, (uint256, uint256, uint256)).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void word(unsigned char *out, uint64_t v) {
  memset(out, 0, 32);
  for (int i = 0; i < 8; i++) out[31 - i] = (unsigned char)(v >> (8 * i));
}

int main(void) {
  static unsigned char buf[65536];
  uint64_t bytes = 0, words = 0, lines = 0;
  int in_word = 0;
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    bytes += n;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = buf[i];
      if (c == '\n') lines++;
      int space = c == ' ' || (c >= 9 && c <= 13);
      if (!space && !in_word) words++;
      in_word = !space;
    }
  }
  unsigned char out[96];
  word(out, bytes);
  word(out + 32, words);
  word(out + 64, lines);
  fwrite(out, 1, sizeof out, stdout);
  return 0;
}
