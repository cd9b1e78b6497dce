/* Every wasi_snapshot_preview1 function, called directly (wasi/api.h), printing its errno. First on
 * file descriptors that do not exist (badf; node:wasi agrees but for sock_shutdown), then, with "stdio" on stdin, on the
 * standard streams (the machine's answers: docs/TASKS.md §6). */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

/* not declared by this wasi-libc's wasi/api.h any more */
int32_t raw_proc_raise(int32_t sig) __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__("proc_raise")));

#define P(name, call) printf("%-24s %d\n", name, (int)(call))

static void on(__wasi_fd_t fd, __wasi_fd_t fd2) {
  static uint8_t buf[256];
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_ciovec_t ciov = {buf, 4};
  __wasi_size_t n = 0;
  __wasi_filesize_t off = 0;
  __wasi_fdstat_t fdstat;
  __wasi_filestat_t filestat;
  __wasi_prestat_t prestat;
  __wasi_fd_t out;
  printf("-- fd %u, %u\n", fd, fd2);
  P("fd_advise", __wasi_fd_advise(fd, 0, 10, __WASI_ADVICE_NORMAL));
  P("fd_allocate", __wasi_fd_allocate(fd, 0, 10));
  P("fd_datasync", __wasi_fd_datasync(fd));
  P("fd_fdstat_get", __wasi_fd_fdstat_get(fd, &fdstat));
  P("fd_fdstat_set_flags", __wasi_fd_fdstat_set_flags(fd, 0));
  P("fd_fdstat_set_rights", __wasi_fd_fdstat_set_rights(fd, 0, 0));
  P("fd_filestat_get", __wasi_fd_filestat_get(fd, &filestat));
  P("fd_filestat_set_size", __wasi_fd_filestat_set_size(fd, 0));
  P("fd_filestat_set_times", __wasi_fd_filestat_set_times(fd, 0, 0, 0));
  P("fd_pread", __wasi_fd_pread(fd, &iov, 1, 0, &n));
  P("fd_prestat_get", __wasi_fd_prestat_get(fd, &prestat));
  P("fd_prestat_dir_name", __wasi_fd_prestat_dir_name(fd, buf, 4));
  P("fd_pwrite", __wasi_fd_pwrite(fd, &ciov, 1, 0, &n));
  P("fd_readdir", __wasi_fd_readdir(fd, buf, sizeof buf, 0, &n));
  P("fd_renumber", __wasi_fd_renumber(fd, fd2));
  P("fd_seek", __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &off));
  P("fd_sync", __wasi_fd_sync(fd));
  P("fd_tell", __wasi_fd_tell(fd, &off));
  P("path_create_directory", __wasi_path_create_directory(fd, "d"));
  P("path_filestat_get", __wasi_path_filestat_get(fd, 0, "f", &filestat));
  P("path_filestat_set_times", __wasi_path_filestat_set_times(fd, 0, "f", 0, 0, 0));
  P("path_link", __wasi_path_link(fd, 0, "a", fd2, "b"));
  P("path_open", __wasi_path_open(fd, 0, "f", 0, 0, 0, 0, &out));
  P("path_readlink", __wasi_path_readlink(fd, "l", buf, sizeof buf, &n));
  P("path_remove_directory", __wasi_path_remove_directory(fd, "d"));
  P("path_rename", __wasi_path_rename(fd, "a", fd2, "b"));
  P("path_symlink", __wasi_path_symlink("a", fd, "b"));
  P("path_unlink_file", __wasi_path_unlink_file(fd, "f"));
  P("sock_accept", __wasi_sock_accept(fd, 0, &out));
  P("sock_recv", __wasi_sock_recv(fd, &iov, 1, 0, &n, (__wasi_roflags_t *)&out));
  P("sock_send", __wasi_sock_send(fd, &ciov, 1, 0, &n));
  if (fd < 3) P("sock_shutdown", __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD)); /* node:wasi: notsup whatever the fd */
  P("fd_read", __wasi_fd_read(fd, &iov, 1, &n));
  P("fd_write", __wasi_fd_write(fd, &ciov, 1, &n));
  P("fd_close", __wasi_fd_close(fd));
}

int main(void) {
  on(7, 8);
  on(100, 1);
  char word[16] = "";
  if (scanf("%15s", word) != 1 || strcmp(word, "stdio")) return 0;
  /* the machine's own answers on the standard streams */
  fflush(stdout);
  __wasi_subscription_t sub[4];
  __wasi_event_t ev[4];
  __wasi_size_t nev = 0;
  memset(sub, 0, sizeof sub);
  sub[0].userdata = 11;
  sub[0].u.tag = __WASI_EVENTTYPE_FD_READ;
  sub[0].u.u.fd_read.file_descriptor = 0;
  sub[1].userdata = 22;
  sub[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  sub[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub[1].u.u.clock.timeout = 1000000000;
  sub[2].userdata = 33;
  sub[2].u.tag = __WASI_EVENTTYPE_FD_WRITE;
  sub[2].u.u.fd_write.file_descriptor = 1;
  sub[3].userdata = 44;
  sub[3].u.tag = __WASI_EVENTTYPE_FD_READ;
  sub[3].u.u.fd_read.file_descriptor = 9;
  P("poll_oneoff", __wasi_poll_oneoff(sub, ev, 4, &nev));
  for (unsigned i = 0; i < nev; i++)
    printf("event %llu error %u type %u nbytes %llu flags %u\n", (unsigned long long)ev[i].userdata, ev[i].error, ev[i].type, (unsigned long long)ev[i].fd_readwrite.nbytes, ev[i].fd_readwrite.flags);
  P("poll_oneoff none", __wasi_poll_oneoff(sub, ev, 0, &nev));
  __wasi_timestamp_t t;
  P("clock_res_get 3", __wasi_clock_res_get(3, &t));
  P("clock_res_get 4", __wasi_clock_res_get(4, &t));
  P("proc_raise", raw_proc_raise(15));
  on(2, 1);
  on(0, 1);
  return 0;
}
