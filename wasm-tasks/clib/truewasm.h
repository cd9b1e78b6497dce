/*
 * The truewasm task host interface (docs/TASKS.md) for C tasks built with clang for wasm32
 * without a C library (`--target=wasm32 -nostdlib`, see wasm-tasks/build.ts). A task defines
 *
 *     TRUEWASM_MAIN void run(void) { ... }
 *
 * which is exported as `main: () -> ()`; linear memory is exported as `memory` by wasm-ld.
 */
#ifndef TRUEWASM_H
#define TRUEWASM_H

#define TRUEWASM_IMPORT(name) __attribute__((import_module("truewasm"), import_name(name)))
#define TRUEWASM_MAIN __attribute__((export_name("main")))

/* Length of the task input in bytes. */
TRUEWASM_IMPORT("input_size") int input_size(void);
/* Copies input[offset .. offset + len) to memory at dst (traps when out of bounds). */
TRUEWASM_IMPORT("input_read") void input_read(void *dst, unsigned offset, unsigned len);
/* Appends memory[src .. src + len) to the task output. */
TRUEWASM_IMPORT("output_write") void output_write(const void *src, unsigned len);

#endif
