/* Exit paths. The input's first word picks one: return N, exit N (stdio flushed), _Exit N (buffered
 * output lost), exit from a nested call, atexit handlers, abort (a trap). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bye(void) { printf("atexit handler\n"); }

static int deep(int n, int code) {
  if (n == 0) exit(code);
  return deep(n - 1, code) + 1;
}

int main(void) {
  char how[32] = "";
  int code = 0;
  if (scanf("%31s %d", how, &code) < 1) return 9;
  atexit(bye);
  printf("how %s code %d\n", how, code);
  if (!strcmp(how, "return")) return code;
  if (!strcmp(how, "exit")) exit(code);
  if (!strcmp(how, "_Exit")) {
    printf("buffered, lost\n");
    _Exit(code);
  }
  if (!strcmp(how, "flush_Exit")) {
    fflush(stdout);
    _exit(code);
  }
  if (!strcmp(how, "deep")) return deep(50, code);
  if (!strcmp(how, "abort")) abort();
  printf("unknown\n");
  return 0;
}
