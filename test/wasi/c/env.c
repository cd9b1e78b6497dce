/* args, environment, clocks, random: prints what does not depend on the host (node:wasi gives
 * real time and randomness), then with "values" on stdin the values themselves (machine only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <errno.h>
#include <unistd.h>
#include <wasi/api.h>

extern char **environ;

int main(int argc, char **argv) {
  printf("argc %d argv0 %s\n", argc, argv[0]);
  int ne = 0;
  for (char **e = environ; e && *e; e++) ne++;
  printf("environ %d HOME %s\n", ne, getenv("HOME") ? "set" : "unset");
  struct timespec ts;
  int rc[4];
  for (int c = 0; c < 4; c++) rc[c] = __wasi_clock_time_get(c, 1, (__wasi_timestamp_t *)&ts);
  printf("clock_time_get rc %d %d %d %d bad id %d\n", rc[0], rc[1], rc[2], rc[3], __wasi_clock_time_get(9, 1, (__wasi_timestamp_t *)&ts));
  __wasi_timestamp_t res;
  printf("clock_res_get rc %d\n", __wasi_clock_res_get(0, &res));
  unsigned char buf[37];
  printf("random_get rc %d\n", __wasi_random_get(buf, sizeof buf));
  printf("sched_yield %d\n", sched_yield());
  printf("time ok %d\n", time(NULL) != (time_t)-1);
  char word[16] = "";
  if (scanf("%15s", word) == 1 && !strcmp(word, "values")) {
    __wasi_timestamp_t t;
    int r1 = __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t);
    printf("rc %d realtime %llu res %llu time %lld\n", r1, (unsigned long long)t, (unsigned long long)res, (long long)time(NULL));
    if (__wasi_random_get(buf, sizeof buf)) return 1;
    for (size_t i = 0; i < sizeof buf; i++) printf("%02x", buf[i]);
    printf("\nrand %d %d\n", rand(), rand());
    struct timespec req = {1, 0};
    printf("nanosleep %d\n", nanosleep(&req, NULL));
    errno = 0;
    long off = (long)lseek(1, 0, SEEK_CUR);
    printf("lseek(stdout) %ld errno %d\n", off, errno);
    __wasi_fdstat_t st;
    int rc = __wasi_fd_fdstat_get(1, &st);
    printf("fdstat(1) %d type %d rights %llx\n", rc, st.fs_filetype, (unsigned long long)st.fs_rights_base);
  }
  return 0;
}
