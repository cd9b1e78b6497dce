/* Reads all of stdin (fread in odd-sized chunks), then prints counts, a checksum, the lines
 * reversed and upper-cased with printf/puts/putchar/fputs/fwrite, and a few stderr writes (dropped). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  size_t cap = 1, n = 0, k;
  char *buf = malloc(cap);
  char chunk[37];
  while ((k = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
    if (n + k > cap) buf = realloc(buf, cap = 2 * (n + k));
    memcpy(buf + n, chunk, k);
    n += k;
  }
  fprintf(stderr, "read %zu bytes\n", n);
  unsigned lines = 0, words = 0, h = 2166136261u;
  int inword = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = buf[i];
    h = (h ^ c) * 16777619u;
    if (c == '\n') lines++;
    if (isspace(c)) inword = 0;
    else if (!inword) inword = 1, words++;
  }
  printf("bytes %zu lines %u words %u fnv %08x eof %d\n", n, lines, words, h, feof(stdin));
  /* the lines, last first, upper-cased */
  size_t end = n;
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && buf[start - 1] != '\n') start--;
    for (size_t i = start; i < end; i++) putchar(toupper((unsigned char)buf[i]));
    if (end == n && (n == 0 || buf[n - 1] != '\n')) putchar('\n');
    end = start;
  }
  puts("--");
  fputs("fputs line\n", stdout);
  fwrite("fwrite bytes\0zero\n", 1, 18, stdout);
  fprintf(stderr, "this goes nowhere\n");
  for (int i = 0; i < 3000; i++) printf("%d%c", i * i, i % 20 == 19 ? '\n' : ' ');
  printf("done\n");
  return 0;
}
