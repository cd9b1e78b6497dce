/**
 * Hand-written task programs (WAT) that together execute every lowered opcode, with edge operands,
 * every trap, memory growth at and past the limits, bulk memory, host I/O and limits. Used by the
 * property tests (every step checked) and by the vector generator.
 */
import type { Limits } from "../../interpreter/isa.js";
import { FLOAT_PROGRAMS } from "../float/programs.js";

export interface TestProgram {
  name: string;
  wat: string;
  input?: Uint8Array;
  limits?: Partial<Limits>;
  /** Expected end: "halt", or a trap kind number. */
  expect: "halt" | number;
  /** The exit code of a halted machine (default 0). */
  exitCode?: number;
}

const HOST = `
  (import "truewasm" "input_size" (func $input_size (result i32)))
  (import "truewasm" "input_read" (func $input_read (param i32 i32 i32)))
  (import "truewasm" "output_write" (func $output_write (param i32 i32)))
  (import "truewasm" "exit" (func $exit (param i32)))
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))`;

export function task(body: string, extra = "", mem = "(memory (export \"memory\") 1 4)"): string {
  return `(module ${HOST}
  ${mem}
  ${extra}
  (func (export "main") ${body}))`;
}

// ------------------------------------------------------------------------------------------------
// Edge operands

export const I32_EDGES = [0, 1, -1, -0x80000000, 0x7fffffff, 2, 31, 32, 33, 0x12345678, -2, 0x80];
export const I64_EDGES = [0n, 1n, -1n, -(2n ** 63n), 2n ** 63n - 1n, 2n, 63n, 64n, 65n, 0x123456789abcdef0n, 0xffffffffn, -0x80000000n];

export const I32_BIN = [
  "i32.eq", "i32.ne", "i32.lt_s", "i32.lt_u", "i32.gt_s", "i32.gt_u", "i32.le_s", "i32.le_u", "i32.ge_s", "i32.ge_u",
  "i32.add", "i32.sub", "i32.mul", "i32.div_s", "i32.div_u", "i32.rem_s", "i32.rem_u",
  "i32.and", "i32.or", "i32.xor", "i32.shl", "i32.shr_s", "i32.shr_u", "i32.rotl", "i32.rotr",
];
export const I64_BIN = I32_BIN.map((n) => n.replace("i32", "i64"));
export const I32_UN = ["i32.eqz", "i32.clz", "i32.ctz", "i32.popcnt", "i32.extend8_s", "i32.extend16_s", "i64.extend_i32_s", "i64.extend_i32_u"];
export const I64_UN = ["i64.eqz", "i64.clz", "i64.ctz", "i64.popcnt", "i64.extend8_s", "i64.extend16_s", "i64.extend32_s", "i32.wrap_i64"];

const DIVS = /div|rem/;

/** Whether `op a b` traps. */
function traps(op: string, a: bigint, b: bigint, bits: number): boolean {
  if (!DIVS.test(op)) return false;
  const mask = (1n << BigInt(bits)) - 1n;
  if ((b & mask) === 0n) return true;
  return op.endsWith("div_s") && BigInt.asIntN(bits, a) === -(1n << BigInt(bits - 1)) && BigInt.asIntN(bits, b) === -1n;
}

/** One program computing `op a b` for every non-trapping edge pair (results dropped). */
export function binaryProgram(op: string): TestProgram {
  const is64 = op.startsWith("i64");
  const edges: bigint[] = is64 ? I64_EDGES : I32_EDGES.map(BigInt);
  const t = is64 ? "i64" : "i32";
  const lines: string[] = [];
  for (const a of edges) for (const b of edges) if (!traps(op, a, b, is64 ? 64 : 32)) lines.push(`(drop (${op} (${t}.const ${a}) (${t}.const ${b})))`);
  return { name: `bin ${op}`, wat: task(lines.join("\n")), expect: "halt" };
}

export function unaryProgram(op: string, count = Infinity): TestProgram {
  const from = op.startsWith("i64.extend_i32") ? "i32" : op === "i32.wrap_i64" ? "i64" : op.slice(0, 3);
  const edges: bigint[] = (from === "i64" ? I64_EDGES : I32_EDGES.map(BigInt)).slice(0, count);
  const lines = edges.map((a) => `(drop (${op} (${from}.const ${a})))`);
  return { name: `un ${op}`, wat: task(lines.join("\n")), expect: "halt" };
}

// Trap kinds (isa.ts)
const T = { Unreachable: 1, DivZero: 2, Overflow: 3, OOB: 4, Mismatch: 5, Undefined: 6, Uninit: 7, CallStack: 8, ValueStack: 9, StepLimit: 10, Abort: 11, InputOOB: 12, OutputLimit: 13, OOBTable: 16 };

export const TRAP_PROGRAMS: TestProgram[] = [
  ...["i32.div_s", "i32.div_u", "i32.rem_s", "i32.rem_u"].map((op) => ({
    name: `trap ${op} by zero`,
    wat: task(`(drop (${op} (i32.const 7) (i32.const 0)))`),
    expect: T.DivZero,
  })),
  ...["i64.div_s", "i64.div_u", "i64.rem_s", "i64.rem_u"].map((op) => ({
    name: `trap ${op} by zero`,
    wat: task(`(drop (${op} (i64.const -7) (i64.const 0)))`),
    expect: T.DivZero,
  })),
  { name: "trap i32.div_s overflow", wat: task(`(drop (i32.div_s (i32.const 0x80000000) (i32.const -1)))`), expect: T.Overflow },
  { name: "trap i64.div_s overflow", wat: task(`(drop (i64.div_s (i64.const 0x8000000000000000) (i64.const -1)))`), expect: T.Overflow },
  { name: "trap unreachable", wat: task(`(nop) unreachable`), expect: T.Unreachable },
  { name: "trap abort", wat: task(`(call $abort (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4))`), expect: T.Abort },
  { name: "trap load past end", wat: task(`(drop (i32.load (i32.const 65533)))`), expect: T.OOB },
  { name: "trap i64.load8_u past end", wat: task(`(drop (i64.load8_u offset=1 (i32.const 65535)))`), expect: T.OOB },
  { name: "trap load addr+offset > 2^32", wat: task(`(drop (i32.load offset=0xfffffff0 (i32.const 0x20)))`), expect: T.OOB },
  { name: "trap store past end", wat: task(`(i64.store (i32.const 65529) (i64.const 1))`), expect: T.OOB },
  { name: "trap store16 past end", wat: task(`(i32.store16 offset=65535 (i32.const 0) (i32.const 1))`), expect: T.OOB },
  { name: "trap memory.copy src past end", wat: task(`(memory.copy (i32.const 0) (i32.const 65530) (i32.const 7))`), expect: T.OOB },
  { name: "trap memory.copy dst past end", wat: task(`(memory.copy (i32.const 65530) (i32.const 0) (i32.const 7))`), expect: T.OOB },
  { name: "trap memory.fill past end", wat: task(`(memory.fill (i32.const 65500) (i32.const 1) (i32.const 100))`), expect: T.OOB },
  { name: "trap input_read past end", wat: task(`(call $input_read (i32.const 0) (i32.const 10) (i32.const 11))`), input: new Uint8Array(20), expect: T.InputOOB },
  { name: "trap input_read dst past end", wat: task(`(call $input_read (i32.const 65530) (i32.const 0) (i32.const 10))`), input: new Uint8Array(20), expect: T.OOB },
  { name: "trap output_write past limit", wat: task(`(call $output_write (i32.const 0) (i32.const 33))`), limits: { outputBytes: 32 }, expect: T.OutputLimit },
  { name: "trap output_write src past end", wat: task(`(call $output_write (i32.const 65535) (i32.const 2))`), expect: T.OOB },
  {
    name: "trap call_indirect type mismatch",
    wat: task(`(call_indirect (type $vi) (i32.const 5) (i32.const 0))`, `(type $vi (func (param i32))) (table 4 funcref) (elem (i32.const 0) $f) (func $f)`),
    expect: T.Mismatch,
  },
  {
    name: "trap call_indirect undefined element",
    wat: task(`(call_indirect (type $v) (i32.const 4))`, `(type $v (func)) (table 4 funcref) (elem (i32.const 0) $f) (func $f)`),
    expect: T.Undefined,
  },
  {
    name: "trap call_indirect null element",
    wat: task(`(call_indirect (type $v) (i32.const 3))`, `(type $v (func)) (table 4 funcref) (elem (i32.const 0) $f) (func $f)`),
    expect: T.Uninit,
  },
  {
    name: "trap call depth",
    wat: task(`(drop (call $rec (i32.const 1000)))`, `(func $rec (param i32) (result i32) (if (result i32) (local.get 0) (then (call $rec (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 0))))`),
    limits: { callDepth: 12 },
    expect: T.CallStack,
  },
  {
    name: "trap call_indirect call depth",
    wat: task(
      `(drop (call $rec (i32.const 1000)))`,
      `(type $r (func (param i32) (result i32))) (table 1 funcref) (elem (i32.const 0) $rec)
       (func $rec (param i32) (result i32) (if (result i32) (local.get 0) (then (call_indirect (type $r) (i32.sub (local.get 0) (i32.const 1)) (i32.const 0))) (else (i32.const 0))))`,
    ),
    limits: { callDepth: 6 },
    expect: T.CallStack,
  },
  {
    name: "trap value stack",
    wat: task(`(drop (call $rec (i32.const 1000)))`, `(func $rec (param i32) (result i32) (i32.add (i32.const 1) (if (result i32) (local.get 0) (then (call $rec (i32.sub (local.get 0) (i32.const 1)))) (else (i32.const 0)))))`),
    limits: { stackHeight: 9 },
    expect: T.ValueStack,
  },
  {
    name: "trap call_indirect value stack",
    wat: task(
      `(drop (i32.add (i32.const 1) (i32.add (i32.const 2) (call_indirect (type $r) (i32.const 9) (i32.const 0)))))`,
      `(type $r (func (param i32) (result i32))) (table 1 funcref) (elem (i32.const 0) $g)
       (func $g (param i32) (result i32) (i32.add (i32.add (local.get 0) (local.get 0)) (i32.add (local.get 0) (i32.mul (local.get 0) (i32.add (local.get 0) (local.get 0))))))`,
    ),
    limits: { stackHeight: 5 },
    expect: T.ValueStack,
  },
  { name: "trap step limit", wat: task(`(loop $l (br $l))`), limits: { steps: 40 }, expect: T.StepLimit },
];

// ------------------------------------------------------------------------------------------------
// Memory, bulk memory, growth, I/O, calls, globals, control

const DATA = `(data (i32.const 0) "\\01\\02\\03\\04\\05\\06\\07\\08\\80\\81\\82\\83\\fe\\ff\\7f\\80\\11\\22\\33\\44\\55\\66\\77\\88\\99\\aa\\bb\\cc\\dd\\ee\\ff\\00\\f0\\e1\\d2\\c3\\b4\\a5\\96\\87")
  (data (i32.const 60) "\\81\\92\\a3\\b4\\c5\\d6\\e7\\f8\\09\\1a")
  (data (i32.const 65520) "\\de\\ad\\be\\ef\\ca\\fe\\ba\\be\\01\\23\\45\\67\\89\\ab\\cd\\ef")`;

const LOADS = ["i32.load", "i64.load", "i32.load8_s", "i32.load8_u", "i32.load16_s", "i32.load16_u", "i64.load8_s", "i64.load8_u", "i64.load16_s", "i64.load16_u", "i64.load32_s", "i64.load32_u"];
const STORES: [string, string][] = [
  ["i32.store", "i32"], ["i64.store", "i64"], ["i32.store8", "i32"], ["i32.store16", "i32"], ["i64.store8", "i64"], ["i64.store16", "i64"], ["i64.store32", "i64"],
];
/** Addresses: aligned, unaligned in a leaf, spanning sibling leaves (30), spanning leaves 1|2 (t = 2: 62), 7-byte span, the last bytes. */
const ADDRS = [0, 5, 12, 30, 62, 63, 127, 1021, 65528, 65535];

function sizeOf(op: string): number {
  return op.endsWith("8_s") || op.endsWith("8_u") || op.endsWith("store8") ? 1 : op.includes("16") ? 2 : op.includes("32") || op.startsWith("i32") ? 4 : 8;
}

export const MEMORY_PROGRAM: TestProgram = {
  name: "memory loads and stores",
  wat: task(
    [
      ...LOADS.flatMap((op) => ADDRS.filter((a) => a + sizeOf(op) <= 65536).map((a) => `(drop (${op} (i32.const ${a})))`)),
      ...LOADS.map((op) => `(drop (${op} offset=60 (i32.const 2)))`),
      ...STORES.flatMap(([op, t]) =>
        ADDRS.filter((a) => a + sizeOf(op) <= 65536).map((a) => `(${op} (i32.const ${a}) (${t}.const ${t === "i64" ? "0x8899aabbccddeeff" : "0xdeadbeef"}))`),
      ),
      ...STORES.map(([op, t]) => `(${op} offset=1000 (i32.const 29) (${t}.const -1))`),
      ...LOADS.map((op) => `(drop (${op} (i32.const 1029)))`),
    ].join("\n"),
    DATA,
  ),
  expect: "halt",
};

export const GROW_PROGRAM: TestProgram = {
  name: "memory.grow and memory.size",
  wat: task(
    `(drop (memory.size))
     (drop (memory.grow (i32.const 0)))
     (drop (memory.grow (i32.const 1)))  ;; 1 -> 2 pages: depth 11 -> 12
     (i32.store (i32.const 70000) (i32.const 0x01020304))
     (drop (i32.load (i32.const 65534)))  ;; spans the page boundary
     (drop (memory.grow (i32.const 2)))  ;; 2 -> 4: depth 13
     (i64.store (i32.const 262136) (i64.const -1))
     (drop (memory.grow (i32.const 1)))  ;; 4 -> 5: depth 14
     (drop (memory.size))
     (drop (memory.grow (i32.const 2)))  ;; 5 -> 7 > page limit 6: -1
     (drop (memory.grow (i32.const 0x7fffffff)))
     (drop (memory.grow (i32.const -1)))
     (drop (memory.grow (i32.const 1)))  ;; 5 -> 6: ok
     (drop (memory.grow (i32.const 1)))  ;; 6 -> 7: -1 (page limit)
     (drop (i32.load (i32.const 393212)))
     (memory.fill (i32.const 131060) (i32.const 0xab) (i32.const 40))`,
    DATA,
    `(memory (export "memory") 1 8)`,
  ),
  limits: { memoryPages: 6 },
  expect: "halt",
};

export const GROW_MAX_PROGRAM: TestProgram = {
  name: "memory.grow from 0 pages and at the declared max",
  wat: task(
    `(drop (memory.size))
     (drop (memory.grow (i32.const 0)))
     (drop (memory.grow (i32.const 1)))  ;; 0 -> 1: depth 0 -> 11
     (i32.store (i32.const 100) (i32.const 7))
     (drop (memory.grow (i32.const 2)))  ;; 1 -> 3 = declared max
     (drop (memory.grow (i32.const 1)))  ;; -1 (declared max)
     (drop (i32.load16_u (i32.const 196606)))`,
    "",
    `(memory (export "memory") 0 3)`,
  ),
  expect: "halt",
};

export const BULK_PROGRAM: TestProgram = {
  name: "memory.copy and memory.fill",
  wat: task(
    `(memory.copy (i32.const 1000) (i32.const 3) (i32.const 70))   ;; forward, unaligned, disjoint
     (memory.copy (i32.const 2) (i32.const 9) (i32.const 50))      ;; forward, overlapping
     (memory.copy (i32.const 40) (i32.const 30) (i32.const 45))    ;; backward, overlapping
     (memory.copy (i32.const 17) (i32.const 5) (i32.const 9))      ;; backward, same leaf
     (memory.copy (i32.const 5) (i32.const 17) (i32.const 9))      ;; forward, same leaf
     (memory.copy (i32.const 65500) (i32.const 0) (i32.const 36))  ;; far leaves, to the end
     (memory.copy (i32.const 0) (i32.const 65530) (i32.const 6))   ;; from the end, far leaves
     (memory.copy (i32.const 100) (i32.const 100) (i32.const 10))  ;; dst = src
     (memory.copy (i32.const 65536) (i32.const 0) (i32.const 0))   ;; n = 0 at the end
     (memory.fill (i32.const 3) (i32.const 0x1ff) (i32.const 70))
     (memory.fill (i32.const 65536) (i32.const 1) (i32.const 0))
     (memory.fill (i32.const 65535) (i32.const -1) (i32.const 1))`,
    DATA,
  ),
  expect: "halt",
};

export const IO_PROGRAM: TestProgram = {
  name: "host input and output",
  wat: task(
    `(local $n i32)
     (local.set $n (call $input_size))
     (call $input_read (i32.const 1001) (i32.const 0) (local.get $n))  ;; whole input, unaligned
     (call $input_read (i32.const 64) (i32.const 37) (i32.const 20))    ;; offset inside the input
     (call $input_read (i32.const 64) (i32.const 0) (i32.const 0))      ;; n = 0
     (call $input_read (i32.const 65536) (i32.const 100) (i32.const 0)) ;; n = 0 at both ends
     (call $output_write (i32.const 1001) (i32.const 3))
     (call $output_write (i32.const 1010) (i32.const 0))
     (call $output_write (i32.const 1005) (i32.const 70))               ;; unaligned on both sides
     (call $output_write (i32.const 0) (i32.const 23))                  ;; up to the limit exactly
     (call $output_write (i32.const 0) (i32.const 0))`,
    DATA,
  ),
  input: Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff),
  limits: { outputBytes: 96 },
  expect: "halt",
};

export const CALLS_PROGRAM: TestProgram = {
  name: "calls, locals, globals and control",
  wat: task(
    `(local $i i32) (local $acc i64)
     (global.set $g0 (i32.add (global.get $g0) (i32.const 5)))
     (global.set $g5 (i64.const -9))
     (global.set $g3 (i64.mul (global.get $g5) (global.get $g3)))
     (drop (call $fact (i64.const 12)))
     (drop (call $many (i32.const 3) (i64.const 4) (i32.const 5)))
     (local.set $i (i32.const 0))
     (block $done
       (loop $l
         (br_if $done (i32.ge_u (local.get $i) (i32.const 6)))
         (local.set $acc (i64.add (local.get $acc) (call_indirect (type $t) (local.get $i) (i32.rem_u (local.get $i) (i32.const 3)))))
         (local.set $i (i32.add (local.get $i) (i32.const 1)))
         (br $l)))
     (drop (call $branches (i32.const 0)))
     (drop (call $branches (i32.const 1)))
     (drop (call $branches (i32.const 2)))
     (drop (call $branches (i32.const 7)))
     (drop (call $branches (i32.const -1)))
     (drop (i64.extend_i32_u (global.get $g6)))                        ;; negative i32 initialiser: zero-extended
     (global.set $g6 (i32.add (global.get $g6) (i32.const -1)))
     (drop (select (i32.const 1) (i32.const 2) (local.get $i)))
     (drop (select (i64.const 1) (i64.const 2) (i32.const 0)))
     (drop (block (result i32) (i32.const 10) (br 0 (i32.const 11) (i32.const 12)) ))`,
    `(type $t (func (param i32) (result i64)))
     (global $g0 (mut i32) (i32.const 100))
     (global $g1 i32 (i32.const 0x7fffffff))
     (global $g2 (mut i64) (i64.const 0x7fffffffffffffff))
     (global $g3 (mut i64) (i64.const 3))
     (global $g4 (mut i32) (i32.const 0))
     (global $g5 (mut i64) (i64.const 0))
     (global $g6 (mut i32) (i32.const -5))
     (table 4 funcref) (elem (i32.const 0) $ia $ib $ic)
     (func $ia (param i32) (result i64) (i64.extend_i32_u (local.get 0)))
     (func $ib (param i32) (result i64) (i64.mul (i64.extend_i32_s (local.get 0)) (global.get $g2)))
     (func $ic (param i32) (result i64) (global.set $g4 (local.get 0)) (i64.const -1))
     (func $fact (param i64) (result i64)
       (if (result i64) (i64.le_u (local.get 0) (i64.const 1)) (then (i64.const 1))
         (else (i64.mul (local.get 0) (call $fact (i64.sub (local.get 0) (i64.const 1)))))))
     (func $many (param i32 i64 i32) (result i64)
       (local i32 i32 i32 i32 i32 i64 i64 i64 i64 i64 i64 i64 i32 i32 i32 i32 i32)
       (local.set 3 (local.get 0)) (local.set 19 (local.get 2))
       (local.set 12 (i64.add (local.get 1) (i64.extend_i32_u (local.tee 7 (local.get 19)))))
       (local.set 4 (i32.wrap_i64 (local.get 12)))
       (i64.add (local.get 12) (i64.extend_i32_s (local.get 4))))
     (func $branches (param i32) (result i32)
       (block $b2 (result i32)
         (block $b1 (result i32)
           (block $b0 (result i32)
             (i32.const 100) (i32.const 200)
             (br_table $b0 $b1 $b2 (local.get 0))
             ))
         (return (i32.add (i32.const 1))))
       (i32.const 3) (drop))`,
  ),
  expect: "halt",
};
// Note: (br 0 (i32.const 11) (i32.const 12)) leaves an extra value: lowered to Nip.

export const EXIT_PROGRAM: TestProgram = {
  name: "exit with a code",
  wat: task(
    `(call $output_write (i32.const 0) (i32.const 3))
     (if (i32.eqz (call $input_size)) (then (call $exit (i32.const -3))))
     unreachable`,
  ),
  limits: { outputBytes: 8 },
  expect: "halt",
  exitCode: 0xfffffffd,
};

/** Several tables, element and data segments, every table and segment instruction, references. */
const TABLES_EXTRA = `
  (type $v2i (func (result i32)))
  (table $t0 4 funcref)
  (table $t1 2 8 funcref)
  (table $ext 3 externref)
  (elem (table $t0) (i32.const 1) func $f1 $f2)
  (elem $pass funcref (ref.func $f3) (ref.null func) (ref.func $f1) (ref.func $f2) (ref.func $f3))
  (elem $gone func $f2)
  (elem declare func $f4)
  (data $bytes "0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ!")
  (data $dropped "xyz")
  (func $f1 (result i32) (i32.const 11))
  (func $f2 (result i32) (i32.const 22))
  (func $f3 (result i32) (i32.const 33))
  (func $f4 (result i32) (i32.const 44))
  (func $pair (param i32) (result i32 i64)
    ;; multi-value: a branch carrying two values over a dropped one (hidden locals)
    (block $b (result i32 i64)
      (i32.const 7)
      (local.get 0) (i64.extend_i32_u (local.get 0))
      (br_if $b (local.get 0))
      (drop) (drop) (drop)
      (i32.const 1) (i64.const 2)))`;

export const TABLES_PROGRAM: TestProgram = {
  name: "tables, segments and references",
  wat: task(
    `(local $r funcref)
     (drop (table.size $t0))
     (drop (call_indirect $t0 (type $v2i) (i32.const 1)))
     (table.set $t1 (i32.const 1) (ref.func $f4))
     (drop (call_indirect $t1 (type $v2i) (i32.const 1)))
     (local.set $r (table.get $t0 (i32.const 2)))
     (drop (ref.is_null (local.get $r)))
     (drop (ref.is_null (table.get $t0 (i32.const 0))))
     (table.set $t0 (i32.const 3) (local.get $r))
     (table.set $t0 (i32.const 2) (ref.null func))
     (drop (table.grow $t1 (ref.null func) (i32.const 2)))
     (drop (table.grow $t1 (ref.func $f3) (i32.const 3)))
     (drop (table.grow $t1 (ref.func $f3) (i32.const 9)))              ;; past the maximum: -1
     (drop (table.grow $ext (ref.null extern) (i32.const 1)))
     (table.fill $t1 (i32.const 0) (ref.func $f2) (i32.const 3))
     (table.fill $t1 (i32.const 6) (ref.null func) (i32.const 1))
     (table.fill $t1 (i32.const 7) (ref.func $f1) (i32.const 0))
     (table.copy $t0 $t0 (i32.const 0) (i32.const 1) (i32.const 3))      ;; forward, overlapping
     (table.copy $t0 $t0 (i32.const 1) (i32.const 0) (i32.const 3))      ;; backward, overlapping
     (table.copy $t0 $t0 (i32.const 2) (i32.const 2) (i32.const 1))
     (table.copy $t1 $t0 (i32.const 4) (i32.const 0) (i32.const 3))
     (table.copy $t0 $t1 (i32.const 3) (i32.const 6) (i32.const 1))
     (table.copy $t0 $t1 (i32.const 0) (i32.const 0) (i32.const 0))
     (table.init $t0 $pass (i32.const 0) (i32.const 1) (i32.const 3))
     (table.init $t1 $pass (i32.const 6) (i32.const 4) (i32.const 1))
     (table.init $t1 $pass (i32.const 7) (i32.const 5) (i32.const 0))
     (elem.drop $pass)
     (elem.drop $gone)
     (table.init $t0 $pass (i32.const 4) (i32.const 0) (i32.const 0))   ;; a dropped segment is empty
     (drop (call_indirect $t0 (type $v2i) (i32.const 2)))
     (memory.init $bytes (i32.const 30) (i32.const 5) (i32.const 40))   ;; chunks: unaligned on both sides
     (memory.init $bytes (i32.const 64) (i32.const 0) (i32.const 64))
     (memory.init $bytes (i32.const 65536) (i32.const 64) (i32.const 0))
     (data.drop $dropped)
     (memory.init $dropped (i32.const 0) (i32.const 0) (i32.const 0))
     (drop (select (result funcref) (ref.func $f1) (ref.null func) (i32.const 0)))
     (drop (table.get $ext (i32.const 3)))
     (drop (call $pair (i32.const 0)))
     (drop)
     (drop (call $pair (i32.const 5)))
     (drop)`,
    TABLES_EXTRA,
  ),
  expect: "halt",
};

const TRAP_TABLES = (name: string, body: string, expect: number): TestProgram => ({ name: `trap ${name}`, wat: task(body, TABLES_EXTRA), expect });

export const TABLE_TRAP_PROGRAMS: TestProgram[] = [
  TRAP_TABLES("table.get past end", `(drop (table.get $t0 (i32.const 4)))`, T.OOBTable),
  TRAP_TABLES("table.set past end", `(table.set $t1 (i32.const -1) (ref.func $f1))`, T.OOBTable),
  TRAP_TABLES("table.fill past end", `(table.fill $t0 (i32.const 3) (ref.func $f1) (i32.const 2))`, T.OOBTable),
  TRAP_TABLES("table.copy past end", `(table.copy $t0 $t1 (i32.const 0) (i32.const 1) (i32.const 2))`, T.OOBTable),
  TRAP_TABLES("table.init past the segment", `(table.init $t1 $pass (i32.const 0) (i32.const 3) (i32.const 3))`, T.OOBTable),
  TRAP_TABLES("table.init of a dropped segment", `(elem.drop $pass) (table.init $t0 $pass (i32.const 0) (i32.const 0) (i32.const 1))`, T.OOBTable),
  TRAP_TABLES("memory.init past the segment", `(memory.init $bytes (i32.const 0) (i32.const 60) (i32.const 6))`, T.OOB),
  TRAP_TABLES("memory.init past memory", `(memory.init $bytes (i32.const 65530) (i32.const 0) (i32.const 7))`, T.OOB),
  TRAP_TABLES("call_indirect past the second table", `(drop (call_indirect $t1 (type $v2i) (i32.const 2)))`, T.Undefined),
];

export const ALL_PROGRAMS: TestProgram[] = [
  ...I32_BIN.map((op) => binaryProgram(op)),
  ...I64_BIN.map((op) => binaryProgram(op)),
  ...[...I32_UN, ...I64_UN].map((op) => unaryProgram(op)),
  MEMORY_PROGRAM,
  GROW_PROGRAM,
  GROW_MAX_PROGRAM,
  BULK_PROGRAM,
  IO_PROGRAM,
  CALLS_PROGRAM,
  EXIT_PROGRAM,
  TABLES_PROGRAM,
  ...TRAP_PROGRAMS,
  ...TABLE_TRAP_PROGRAMS,
  ...FLOAT_PROGRAMS,
];
