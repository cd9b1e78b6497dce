;; The WASI adapter: wasi_snapshot_preview1 written against the task host ABI.
;;
;; A WASI command module is linked with this module before it is lowered (interpreter/wasi.ts):
;; its imports from "wasi_snapshot_preview1" are replaced by the functions exported here, which
;; use only the task host ABI (truewasm.input_size/input_read/output_write/exit, docs/TASKS.md §1)
;; and the program's own memory. So every WASI call is ordinary lowered code: a bounded sequence
;; of machine steps that the one-step prover already proves. Normative: docs/TASKS.md §6.
;;
;; The world a WASI task sees:
;;   fd 0  stdin: reads the task input from the start, then end of file
;;   fd 1  stdout: appends to the task output (OutputWrite; past the output limit the task traps)
;;   fd 2  stderr: accepts every write and drops it
;;   no other file descriptors, no preopened directories (so no files), no sockets
;;   args: one, "task"; environment: empty; every clock reads 0; random_get: a fixed stream
;;
;; Errors are WASI errnos: 8 badf (not an open fd 0..2), 28 inval, 52 nosys, 57 notsock,
;; 70 spipe (positional I/O on a stream), 76 notcapable (an operation the stream has no right for).
;; Out-of-bounds pointers are not errno 21 (fault): the memory access traps, as any access does.
;;
;; Layouts (little endian): iovec {buf u32 @0, len u32 @4} (8 bytes); fdstat {filetype u8 @0,
;; flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16} (24); filestat {dev @0, ino @8,
;; filetype u8 @16, nlink @24, size @32, atim @40, mtim @48, ctim @56} (64); subscription
;; {userdata u64 @0, tag u8 @8, clock id u32 @16 or fd u32 @16, ...} (48); event {userdata u64 @0,
;; error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24} (32).
(module
  (import "truewasm" "input_size" (func $input_size (result i32)))
  (import "truewasm" "input_read" (func $input_read (param i32 i32 i32)))
  (import "truewasm" "output_write" (func $output_write (param i32 i32)))
  (import "truewasm" "exit" (func $exit (param i32)))
  ;; the program's memory (the import is only for this module to validate on its own: linking
  ;; drops it, and memory 0 is the program's)
  (import "env" "memory" (memory 0))

  ;; Adapter state: defined globals appended to the program's, so part of the machine state.
  (global $stdin_pos (mut i32) (i32.const 0)) ;; bytes of the input read through fd 0
  (global $closed (mut i32) (i32.const 0)) ;; bit fd set: fd (0..2) was closed
  (global $rng (mut i64) (i64.const 0)) ;; random_get's splitmix64 state

  ;; ---- helpers

  ;; 1 if fd is 0, 1 or 2 and not closed.
  (func $open (param $fd i32) (result i32)
    (i32.and
      (i32.lt_u (local.get $fd) (i32.const 3))
      (i32.eqz (i32.and (global.get $closed) (i32.shl (i32.const 1) (local.get $fd))))))

  ;; The answer of an operation no stream supports: badf for a bad fd, else notcapable.
  (func $notcapable (param $fd i32) (result i32)
    (select (i32.const 76) (i32.const 8) (call $open (local.get $fd))))

  ;; Same for two file descriptors.
  (func $notcapable2 (param $a i32) (param $b i32) (result i32)
    (select (i32.const 76) (i32.const 8) (i32.and (call $open (local.get $a)) (call $open (local.get $b)))))

  ;; The next 8 bytes of the random stream (splitmix64).
  (func $next (result i64)
    (local $z i64)
    (global.set $rng (i64.add (global.get $rng) (i64.const 0x9e3779b97f4a7c15)))
    (local.set $z (global.get $rng))
    (local.set $z (i64.mul (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 30))) (i64.const 0xbf58476d1ce4e5b9)))
    (local.set $z (i64.mul (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 27))) (i64.const 0x94d049bb133111eb)))
    (i64.xor (local.get $z) (i64.shr_u (local.get $z) (i64.const 31))))

  ;; ---- args and environment

  ;; One argument, "task".
  (func (export "args_sizes_get") (param $argc i32) (param $size i32) (result i32)
    (i32.store (local.get $argc) (i32.const 1))
    (i32.store (local.get $size) (i32.const 5))
    (i32.const 0))

  (func (export "args_get") (param $argv i32) (param $buf i32) (result i32)
    (i32.store (local.get $argv) (local.get $buf))
    (i32.store (local.get $buf) (i32.const 0x6b736174)) ;; "task"
    (i32.store8 offset=4 (local.get $buf) (i32.const 0))
    (i32.const 0))

  (func (export "environ_sizes_get") (param $count i32) (param $size i32) (result i32)
    (i32.store (local.get $count) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))

  (func (export "environ_get") (param i32 i32) (result i32)
    (i32.const 0))

  ;; ---- clocks: realtime 0, monotonic 1, process 2, thread 3; all read 0, resolution 1 ns

  (func (export "clock_res_get") (param $id i32) (param $out i32) (result i32)
    (if (i32.gt_u (local.get $id) (i32.const 3)) (then (return (i32.const 28))))
    (i64.store (local.get $out) (i64.const 1))
    (i32.const 0))

  (func (export "clock_time_get") (param $id i32) (param $precision i64) (param $out i32) (result i32)
    (if (i32.gt_u (local.get $id) (i32.const 3)) (then (return (i32.const 28))))
    (i64.store (local.get $out) (i64.const 0))
    (i32.const 0))

  ;; ---- random

  ;; Fills buf with the next len bytes of the stream (8 bytes per splitmix64 output, little endian;
  ;; a partial last word's remaining bytes are discarded).
  (func (export "random_get") (param $buf i32) (param $len i32) (result i32)
    (local $x i64)
    (block $done
      (loop $words
        (br_if $done (i32.lt_u (local.get $len) (i32.const 8)))
        (i64.store (local.get $buf) (call $next))
        (local.set $buf (i32.add (local.get $buf) (i32.const 8)))
        (local.set $len (i32.sub (local.get $len) (i32.const 8)))
        (br $words)))
    (if (local.get $len)
      (then
        (local.set $x (call $next))
        (loop $bytes
          (i64.store8 (local.get $buf) (local.get $x))
          (local.set $x (i64.shr_u (local.get $x) (i64.const 8)))
          (local.set $buf (i32.add (local.get $buf) (i32.const 1)))
          (local.set $len (i32.sub (local.get $len) (i32.const 1)))
          (br_if $bytes (local.get $len)))))
    (i32.const 0))

  ;; ---- process

  (func (export "proc_exit") (param $code i32)
    (call $exit (local.get $code)))

  (func (export "proc_raise") (param i32) (result i32)
    (i32.const 52))

  (func (export "sched_yield") (result i32)
    (i32.const 0))

  ;; ---- streams

  ;; stdin: copies input bytes into the buffers in order until they are full or the input ends.
  (func (export "fd_read") (param $fd i32) (param $iovs i32) (param $n i32) (param $out i32) (result i32)
    (local $len i32) (local $k i32) (local $total i32)
    (if (i32.or (local.get $fd) (i32.eqz (call $open (local.get $fd)))) (then (return (i32.const 8))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (i32.load offset=4 (local.get $iovs)))
        ;; k = min(len, input_size - stdin_pos)
        (local.set $k (i32.sub (call $input_size) (global.get $stdin_pos)))
        (if (i32.lt_u (local.get $len) (local.get $k)) (then (local.set $k (local.get $len))))
        (call $input_read (i32.load (local.get $iovs)) (global.get $stdin_pos) (local.get $k))
        (global.set $stdin_pos (i32.add (global.get $stdin_pos) (local.get $k)))
        (local.set $total (i32.add (local.get $total) (local.get $k)))
        (br_if $done (i32.ne (local.get $k) (local.get $len)))
        (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $out) (local.get $total))
    (i32.const 0))

  ;; stdout: appends every buffer to the output; stderr: counts the bytes and drops them.
  (func (export "fd_write") (param $fd i32) (param $iovs i32) (param $n i32) (param $out i32) (result i32)
    (local $len i32) (local $total i32)
    (if (i32.or (i32.eqz (local.get $fd)) (i32.eqz (call $open (local.get $fd)))) (then (return (i32.const 8))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $len (i32.load offset=4 (local.get $iovs)))
        (if (i32.eq (local.get $fd) (i32.const 1))
          (then (call $output_write (i32.load (local.get $iovs)) (local.get $len))))
        (local.set $total (i32.add (local.get $total) (local.get $len)))
        (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $out) (local.get $total))
    (i32.const 0))

  (func (export "fd_close") (param $fd i32) (result i32)
    (if (i32.eqz (call $open (local.get $fd))) (then (return (i32.const 8))))
    (global.set $closed (i32.or (global.get $closed) (i32.shl (i32.const 1) (local.get $fd))))
    (i32.const 0))

  ;; filetype unknown (a stream that is not a terminal: stdio is fully buffered), no flags;
  ;; rights: fd_read (stdin) or fd_write (stdout, stderr), fd_filestat_get, poll_fd_readwrite.
  (func (export "fd_fdstat_get") (param $fd i32) (param $out i32) (result i32)
    (if (i32.eqz (call $open (local.get $fd))) (then (return (i32.const 8))))
    (i64.store (local.get $out) (i64.const 0)) ;; filetype 0, flags 0
    (i64.store offset=8 (local.get $out)
      (i64.or (i64.const 0x8200000) ;; fd_filestat_get (1 << 21) | poll_fd_readwrite (1 << 27)
        (select (i64.const 0x2) (i64.const 0x40) (i32.eqz (local.get $fd))))) ;; fd_read 1 << 1, fd_write 1 << 6
    (i64.store offset=16 (local.get $out) (i64.const 0))
    (i32.const 0))

  ;; all zero, filetype unknown
  (func (export "fd_filestat_get") (param $fd i32) (param $out i32) (result i32)
    (if (i32.eqz (call $open (local.get $fd))) (then (return (i32.const 8))))
    (memory.fill (local.get $out) (i32.const 0) (i32.const 64))
    (i32.const 0))

  (func (export "fd_seek") (param $fd i32) (param i64 i32 i32) (result i32)
    (select (i32.const 70) (i32.const 8) (call $open (local.get $fd))))

  (func (export "fd_tell") (param $fd i32) (param i32) (result i32)
    (select (i32.const 70) (i32.const 8) (call $open (local.get $fd))))

  (func (export "fd_pread") (param $fd i32) (param i32 i32 i64 i32) (result i32)
    (select (i32.const 70) (i32.const 8) (call $open (local.get $fd))))

  (func (export "fd_pwrite") (param $fd i32) (param i32 i32 i64 i32) (result i32)
    (select (i32.const 70) (i32.const 8) (call $open (local.get $fd))))

  ;; no preopened directories: libc's scan from fd 3 stops at the first badf
  (func (export "fd_prestat_get") (param i32 i32) (result i32)
    (i32.const 8))

  (func (export "fd_prestat_dir_name") (param i32 i32 i32) (result i32)
    (i32.const 8))

  (func (export "fd_advise") (param $fd i32) (param i64 i64 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_allocate") (param $fd i32) (param i64 i64) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_datasync") (param $fd i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_sync") (param $fd i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_fdstat_set_flags") (param $fd i32) (param i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_fdstat_set_rights") (param $fd i32) (param i64 i64) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_filestat_set_size") (param $fd i32) (param i64) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_filestat_set_times") (param $fd i32) (param i64 i64 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_readdir") (param $fd i32) (param i32 i32 i64 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "fd_renumber") (param $fd i32) (param $to i32) (result i32)
    (call $notcapable2 (local.get $fd) (local.get $to)))

  ;; ---- paths: the only file descriptors are streams, none is a directory

  (func (export "path_create_directory") (param $fd i32) (param i32 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "path_filestat_get") (param $fd i32) (param i32 i32 i32 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "path_filestat_set_times") (param $fd i32) (param i32 i32 i32 i64 i64 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "path_link") (param $old i32) (param i32 i32 i32) (param $new i32) (param i32 i32) (result i32)
    (call $notcapable2 (local.get $old) (local.get $new)))

  (func (export "path_open") (param $fd i32) (param i32 i32 i32 i32 i64 i64 i32 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "path_readlink") (param $fd i32) (param i32 i32 i32 i32 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "path_remove_directory") (param $fd i32) (param i32 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "path_rename") (param $fd i32) (param i32 i32) (param $new i32) (param i32 i32) (result i32)
    (call $notcapable2 (local.get $fd) (local.get $new)))

  (func (export "path_symlink") (param i32 i32) (param $fd i32) (param i32 i32) (result i32)
    (call $notcapable (local.get $fd)))

  (func (export "path_unlink_file") (param $fd i32) (param i32 i32) (result i32)
    (call $notcapable (local.get $fd)))

  ;; ---- sockets: none

  (func (export "sock_accept") (param $fd i32) (param i32 i32) (result i32)
    (select (i32.const 57) (i32.const 8) (call $open (local.get $fd))))

  (func (export "sock_recv") (param $fd i32) (param i32 i32 i32 i32 i32) (result i32)
    (select (i32.const 57) (i32.const 8) (call $open (local.get $fd))))

  (func (export "sock_send") (param $fd i32) (param i32 i32 i32 i32) (result i32)
    (select (i32.const 57) (i32.const 8) (call $open (local.get $fd))))

  (func (export "sock_shutdown") (param $fd i32) (param i32) (result i32)
    (select (i32.const 57) (i32.const 8) (call $open (local.get $fd))))

  ;; ---- poll_oneoff: every subscription is ready at once (time does not pass: a sleep returns
  ;; immediately). One event per subscription, in order: a clock (id 0..3, else inval) fires; an
  ;; fd_read of stdin reports the input bytes left (flag hangup, 1, when none are); an fd_write of
  ;; stdout or stderr is ready (nbytes 0); any other fd, or the wrong direction, is badf.
  ;; No subscriptions: inval.
  (func (export "poll_oneoff") (param $in i32) (param $out i32) (param $n i32) (param $nevents i32) (result i32)
    (local $i i32) (local $tag i32) (local $fd i32) (local $err i32) (local $left i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 28))))
    (loop $next
      (local.set $tag (i32.load8_u offset=8 (local.get $in)))
      (local.set $fd (i32.load offset=16 (local.get $in)))
      (local.set $left (i32.const 0))
      (local.set $err (i32.const 0))
      (if (i32.eqz (local.get $tag))
        (then (if (i32.gt_u (local.get $fd) (i32.const 3)) (then (local.set $err (i32.const 28)))))
        (else
          (if (i32.eq (local.get $tag) (i32.const 1))
            (then
              (if (i32.or (local.get $fd) (i32.eqz (call $open (local.get $fd))))
                (then (local.set $err (i32.const 8)))
                (else (local.set $left (i32.sub (call $input_size) (global.get $stdin_pos))))))
            (else
              (if (i32.or (i32.eqz (local.get $fd)) (i32.eqz (call $open (local.get $fd))))
                (then (local.set $err (i32.const 8))))))))
      (memory.fill (local.get $out) (i32.const 0) (i32.const 32))
      (i64.store (local.get $out) (i64.load (local.get $in)))
      (i32.store16 offset=8 (local.get $out) (local.get $err))
      (i32.store8 offset=10 (local.get $out) (local.get $tag))
      (i32.store offset=16 (local.get $out) (local.get $left))
      (if (i32.and (i32.eq (local.get $tag) (i32.const 1)) (i32.and (i32.eqz (local.get $err)) (i32.eqz (local.get $left))))
        (then (i32.store16 offset=24 (local.get $out) (i32.const 1))))
      (local.set $in (i32.add (local.get $in) (i32.const 48)))
      (local.set $out (i32.add (local.get $out) (i32.const 32)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (i32.store (local.get $nevents) (local.get $n))
    (i32.const 0))
)
