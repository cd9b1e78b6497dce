/* No file system: every attempt fails, with the errno a sandbox without preopened directories gives. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void report(const char *what, int ok) { printf("%-28s %s errno %d (%s)\n", what, ok ? "ok" : "failed", ok ? 0 : errno, ok ? "" : strerror(errno)); }

int main(void) {
  errno = 0;
  FILE *f = fopen("data.txt", "r");
  report("fopen data.txt r", f != NULL);
  f = fopen("/tmp/out.txt", "w");
  report("fopen /tmp/out.txt w", f != NULL);
  int fd = open("x", O_RDWR | O_CREAT, 0644);
  report("open x O_CREAT", fd >= 0);
  DIR *d = opendir(".");
  report("opendir .", d != NULL);
  struct stat st;
  report("stat /", stat("/", &st) == 0);
  report("mkdir d", mkdir("d", 0755) == 0);
  report("unlink x", unlink("x") == 0);
  report("chdir /", chdir("/") == 0);
  /* the raw calls: no preopened directory (fd 3 is not open); stdio is not a directory */
  __wasi_prestat_t pre;
  printf("fd_prestat_get(3) %d\n", __wasi_fd_prestat_get(3, &pre));
  __wasi_fd_t out;
  printf("path_open(3) %d\n", __wasi_path_open(3, 0, "a", 0, 0, 0, 0, &out));
  printf("path_open(99) %d\n", __wasi_path_open(99, 0, "a", 0, 0, 0, 0, &out));
  printf("fd_close(7) %d\n", __wasi_fd_close(7));
  char c;
  __wasi_iovec_t iov = {(uint8_t *)&c, 1};
  __wasi_size_t n;
  printf("fd_read(5) %d\n", __wasi_fd_read(5, &iov, 1, &n));
  __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
  printf("fd_write(6) %d\n", __wasi_fd_write(6, &ciov, 1, &n));
  /* stdin still reads */
  int ch, count = 0;
  while ((ch = getchar()) != EOF) count++;
  printf("stdin bytes %d\n", count);
  return 0;
}
