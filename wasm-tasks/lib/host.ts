// The truewasm task host interface (docs/TASKS.md), for AssemblyScript tasks.
//
// A task exports `main(): void` and `memory`; it reads its input and writes its output only
// through these three imports of module "truewasm". The task halts when main returns.
// Everything here is integer-only and allocation-light (the stub runtime's bump allocator).

/** Input length in bytes. */
// @ts-ignore: decorator
@external("truewasm", "input_size")
export declare function input_size(): i32;

/** Copies input[offset, offset+len) to memory[dst, dst+len). Traps if the range passes the end. */
// @ts-ignore: decorator
@external("truewasm", "input_read")
export declare function input_read(dst: usize, offset: i32, len: i32): void;

/** Appends memory[src, src+len) to the output. Traps past the output limit (default 64 KiB). */
// @ts-ignore: decorator
@external("truewasm", "output_write")
export declare function output_write(src: usize, len: i32): void;

/** Allocates `size` bytes of (never freed) memory, 16-byte aligned. Contents are zero only if fresh. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** Input length in bytes. */
// @ts-ignore: decorator
@inline export function inputSize(): i32 {
  return input_size();
}

/**
 * Reads the whole input into freshly allocated memory and returns its address (length: inputSize()).
 * The address is a multiple of INPUT_ALIGN: the copy then lines up with the input tree's subtrees
 * of 64 leaves, which the state commitment takes instead of hashing the copy again (docs/STATE.md).
 */
export function readInput(): usize {
  const n = input_size();
  const p = (heap.alloc(<usize>n + INPUT_ALIGN - 1) + INPUT_ALIGN - 1) & ~(INPUT_ALIGN - 1);
  if (n > 0) input_read(p, 0, n);
  return p;
}

const INPUT_ALIGN: usize = 2048;

/** Reads input[offset, offset+len) to dst. */
// @ts-ignore: decorator
@inline export function readInputAt(dst: usize, offset: i32, len: i32): void {
  input_read(dst, offset, len);
}

/** Appends memory[ptr, ptr+len) to the output. */
// @ts-ignore: decorator
@inline export function writeOutput(ptr: usize, len: i32): void {
  output_write(ptr, len);
}

const SCRATCH: usize = memory.data(8, 8);

/** Appends a u32, little-endian. */
export function writeU32(v: u32): void {
  store<u32>(SCRATCH, v);
  output_write(SCRATCH, 4);
}

/** Appends a u64, little-endian. */
export function writeU64(v: u64): void {
  store<u64>(SCRATCH, v);
  output_write(SCRATCH, 8);
}

/** Appends one byte. */
export function writeU8(v: u8): void {
  store<u8>(SCRATCH, v);
  output_write(SCRATCH, 1);
}
