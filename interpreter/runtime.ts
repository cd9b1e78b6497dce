/**
 * Runtime objects shared by the executor and the embedding API: memories, tables, globals,
 * function references and traps.
 */
import { TRAP_MESSAGES } from "./isa.js";
import type { FuncType, RefType, ValType } from "./program.js";

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

/**
 * Most elements a table may have, whatever its declared maximum (a machine limit, like the memory's
 * page limit): table.grow past it returns -1 and a larger declared minimum does not load. It bounds
 * the depth of a table's tree (docs/STATE.md §2.9) to 20.
 */
export const MAX_TABLE_ELEMENTS = 1 << 20;

/**
 * Reference values as the machine holds them in stack slots, locals, globals and tables: u32, 0 is
 * null. A store numbers the referenced objects (functions, host values) from 1. A task machine has
 * its own store in which function f of the program is f + 1 (what RefFunc pushes and the state
 * commits to); instances of the embedding share `hostRefs`, so that references pass between them
 * unchanged.
 */
export class RefStore {
  private readonly objs: unknown[] = [null];
  private readonly ids = new Map<unknown, number>();

  /** The value of `o` (registered on first use). */
  id(o: object): number {
    let v = this.ids.get(o);
    if (v === undefined) {
      v = this.objs.length;
      if (v > 0xffffffff) throw new RangeError("reference store full");
      this.objs.push(o);
      this.ids.set(o, v);
    }
    return v;
  }

  /** The object of value v (null for 0 or an unknown value). */
  get(v: number): unknown {
    return this.objs[v] ?? null;
  }
}

/** The embedding's store (spec tests, differential tests): every instance and host value. */
export const hostRefs = new RefStore();

/** A host value passed as an externref (the spec scripts' `ref.extern N`). */
export class ExternRef {
  constructor(readonly value: unknown) {}
}

export class Table {
  /** Reference values (0 = null) in the store of the machines using the table. */
  elements: number[];
  /** Bumped on every write: the state commitment rehashes a table only when it changed. */
  version = 0;
  constructor(
    readonly type: RefType,
    min: number,
    readonly max?: number,
    init = 0,
  ) {
    if (min > MAX_TABLE_ELEMENTS) throw new RangeError(`table of ${min} elements exceeds the limit of ${MAX_TABLE_ELEMENTS}`);
    this.elements = new Array<number>(min).fill(init);
  }
  get length(): number {
    return this.elements.length;
  }
  /** Grows by `delta` elements set to `init`; returns the old length, or -1 past max or MAX_TABLE_ELEMENTS. */
  grow(delta: number, init: number): number {
    const old = this.elements.length;
    if (delta > this.ceiling() - old) return -1;
    for (let i = 0; i < delta; i++) this.elements.push(init);
    if (delta > 0) this.version++;
    return old;
  }
  /** What table.grow compares with: min(declared max, MAX_TABLE_ELEMENTS). */
  ceiling(): number {
    return Math.min(this.max ?? MAX_TABLE_ELEMENTS, MAX_TABLE_ELEMENTS);
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

/** Types whose values are 32 bits wide in a slot (stored zero-extended): i32, f32 and references. */
export function is32(type: ValType): boolean {
  return type !== "i64" && type !== "f64";
}

/**
 * Writes a value into slot i of a lo/hi pair of arrays in the machine's representation: 32-bit
 * types are zero-extended (hi = 0), whatever the sign of the bigint.
 */
export function writeSlot(lo: Int32Array, hi: Int32Array, i: number, type: ValType, v: bigint): void {
  lo[i] = Number(v & 0xffffffffn) | 0;
  hi[i] = is32(type) ? 0 : Number((v >> 32n) & 0xffffffffn) | 0;
}

/**
 * Canonical bigint of a value: i32 as signed 32-bit, i64 as signed 64-bit, floats as raw bits,
 * references as their u32 value (0 = null).
 */
export function normalize(type: ValType, v: bigint): bigint {
  switch (type) {
    case "i32":
      return BigInt.asIntN(32, v);
    case "i64":
      return BigInt.asIntN(64, v);
    case "f32":
    case "funcref":
    case "externref":
      return BigInt.asUintN(32, v);
    case "f64":
      return BigInt.asUintN(64, v);
  }
}
