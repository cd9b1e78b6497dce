/**
 * Runtime objects shared by the executor and the embedding API: memories, tables, globals,
 * function references and traps.
 */
import { TRAP_MESSAGES } from "./isa.js";
import type { FuncType, ValType } from "./program.js";

export const PAGE_BYTES = 65536;
/** WebAssembly 1.0's hard ceiling on memory size (4 GiB). */
export const MAX_PAGES = 65536;

/** A trap as seen from outside the machine (embedding API). `kind` is a Trap code (isa.ts). */
export class TrapError extends Error {
  constructor(
    readonly kind: number,
    message: string = TRAP_MESSAGES[kind] ?? `trap ${kind}`,
  ) {
    super(message);
    this.name = "TrapError";
  }
}

/** A linear memory. `bytes` is replaced (never resized in place) when the memory grows. */
export class Memory {
  bytes: Uint8Array;
  constructor(
    min: number,
    readonly max?: number,
  ) {
    this.bytes = new Uint8Array(min * PAGE_BYTES);
  }
  get pages(): number {
    return this.bytes.length / PAGE_BYTES;
  }
  /** Grows by `delta` pages; returns the old size in pages, or -1 past max or `limitPages`. */
  grow(delta: number, limitPages: number = MAX_PAGES): number {
    const old = this.pages;
    const ceiling = Math.min(this.max ?? MAX_PAGES, limitPages, MAX_PAGES);
    if (delta > ceiling - old) return -1;
    if (delta > 0) {
      const next = new Uint8Array((old + delta) * PAGE_BYTES);
      next.set(this.bytes);
      this.bytes = next;
    }
    return old;
  }
}

/**
 * A callable function: a host function, or a function of an instance. `owner`/`index` identify
 * the defining program so a machine calls its own functions directly instead of through `call`.
 */
export interface FuncRef {
  type: FuncType;
  call(args: bigint[]): bigint[];
  owner?: object;
  index?: number;
}

export class Table {
  elements: (FuncRef | null)[];
  constructor(
    min: number,
    readonly max?: number,
  ) {
    this.elements = new Array<FuncRef | null>(min).fill(null);
  }
}

/** A global variable. Subclasses may keep the value elsewhere (an instance's own storage). */
export class Global {
  #value: bigint;
  constructor(
    readonly type: ValType,
    readonly mutable: boolean,
    value: bigint = 0n,
  ) {
    this.#value = normalize(type, value);
  }
  get value(): bigint {
    return this.#value;
  }
  set value(v: bigint) {
    this.#value = normalize(this.type, v);
  }
}

export type ExternVal = FuncRef | Memory | Table | Global;

/**
 * Writes a value into slot i of a lo/hi pair of arrays in the machine's representation: 32-bit
 * types are zero-extended (hi = 0), whatever the sign of the bigint.
 */
export function writeSlot(lo: Int32Array, hi: Int32Array, i: number, type: ValType, v: bigint): void {
  lo[i] = Number(v & 0xffffffffn) | 0;
  hi[i] = type === "i32" || type === "f32" ? 0 : Number((v >> 32n) & 0xffffffffn) | 0;
}

/** Canonical bigint of a value: i32 as signed 32-bit, i64 as signed 64-bit, floats as raw bits. */
export function normalize(type: ValType, v: bigint): bigint {
  switch (type) {
    case "i32":
      return BigInt.asIntN(32, v);
    case "i64":
      return BigInt.asIntN(64, v);
    case "f32":
      return BigInt.asUintN(32, v);
    case "f64":
      return BigInt.asUintN(64, v);
  }
}
