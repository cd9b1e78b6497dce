/**
 * Hand-written float task programs for the state-commitment property tests (test/state) and the
 * step vectors (test/vectors, the Solidity prover's test data): every float instruction on edge
 * operands, float constants, loads and stores (across leaves, NaN payloads kept), locals, globals,
 * select, and every trap of the trapping conversions.
 */
import { Trap } from "../../interpreter/isa.js";
import type { TestProgram } from "../state/programs.js";
import { constText, FLOAT_OPS, Rng, randomOperand, type FloatOp } from "./ops.js";

const HOST = `
  (import "truewasm" "input_size" (func $input_size (result i32)))
  (import "truewasm" "output_write" (func $output_write (param i32 i32)))`;

function floatTask(body: string, extra = ""): string {
  return `(module ${HOST}
  (memory (export "memory") 1 4)
  ${extra}
  (func (export "main") ${body}))`;
}

/** A smaller edge set (the property tests check every step thoroughly). */
const E32 = [0x00000000n, 0x80000000n, 0x3f800000n, 0xc0200000n, 0x00000001n, 0x7f7fffffn, 0x7f800000n, 0xff800000n, 0x7fc00000n, 0x7fa00001n, 0x4f000000n, 0x3f000000n];
const E64 = [0x0000000000000000n, 0x8000000000000000n, 0x3ff0000000000000n, 0xc004000000000000n, 0x0000000000000001n, 0x7fefffffffffffffn, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n, 0xfff4000000000001n, 0x43e0000000000000n, 0x3fe0000000000000n];
const EI32 = [0n, 1n, 0xffffffffn, 0x80000000n, 0x7fffffffn, 0x01000001n];
const EI64 = [0n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 0x0020000000000001n, 0x8000008000000001n];
const small = (t: string) => (t === "f32" ? E32 : t === "f64" ? E64 : t === "i32" ? EI32 : EI64);

const F32V = new Float32Array(1), U32V = new Uint32Array(F32V.buffer);
const F64V = new Float64Array(1), U64V = new BigUint64Array(F64V.buffer);
/** Whether a trapping conversion of these bits traps (NaN or out of range). */
export function truncTraps(o: FloatOp, bits: bigint): boolean {
  let v: number;
  if (o.ins[0] === "f32") {
    U32V[0] = Number(bits);
    v = F32V[0];
  } else {
    U64V[0] = bits;
    v = F64V[0];
  }
  if (Number.isNaN(v)) return true;
  const t = Math.trunc(v);
  const [lo, hi] = o.out === "i32" ? (o.name.endsWith("_s") ? [-(2 ** 31), 2 ** 31] : [0, 2 ** 32]) : o.name.endsWith("_s") ? [-(2 ** 63), 2 ** 63] : [0, 2 ** 64];
  return !(t >= lo && t < hi);
}

/** `op` on operand pairs (unary: single operands) from `edges`, results dropped. */
export function floatOpProgram(o: FloatOp, operands?: bigint[][]): TestProgram {
  const ops = operands ?? (o.ins.length === 2 ? small(o.ins[0]).flatMap((a) => small(o.ins[1]).map((b) => [a, b])) : small(o.ins[0]).map((a) => [a]));
  const lines = ops
    .filter(([a]) => !o.traps || !truncTraps(o, a))
    .map((vals) => `(drop (${o.name} ${vals.map((v, j) => constText(o.ins[j], v)).join(" ")}))`);
  return { name: `${o.ins.length === 2 ? "bin" : "un"} ${o.name}`, wat: floatTask(lines.join("\n")), expect: "halt" }; // named like the integer ones
}

/** Constants, loads, stores, locals, globals, select with floats (NaN payloads must survive). */
export const FLOAT_MEMORY_PROGRAM: TestProgram = {
  name: "float constants, memory, locals, globals, select",
  wat: floatTask(
    `(local $x f32) (local $y f64)
     (f32.store (i32.const 0) (f32.const nan:0x200001))
     (f64.store offset=29 (i32.const 0) (f64.const -nan:0x4000000000001))          ;; across two leaves
     (f32.store offset=30 (i32.const 0) (f32.load (i32.const 0)))                  ;; across two leaves
     (local.set $x (f32.load offset=30 (i32.const 0)))
     (local.set $y (f64.load offset=29 (i32.const 0)))
     (global.set $g (f64.neg (local.get $y)))
     (global.set $h (f32.abs (local.get $x)))
     (f64.store (i32.const 64) (global.get $g))
     (f32.store (i32.const 72) (select (local.get $x) (global.get $h) (i32.const 0)))
     (f64.store (i32.const 80) (select (f64.const 1.5) (local.get $y) (i32.const 1)))
     (f32.store (i32.const 65532) (f32.const -0x1p-149))
     (f64.store (i32.const 65528) (f64.add (f64.load (i32.const 64)) (f64.const 0x1p-1074)))
     (drop (f64.promote_f32 (f32.load (i32.const 65532))))
     (drop (i32.reinterpret_f32 (local.get $x)))
     (drop (f32.reinterpret_i32 (i32.const 0x7f800001)))
     (call $output_write (i32.const 0) (i32.const 88))`,
    `(global $g (mut f64) (f64.const 0x1.8p1)) (global $h (mut f32) (f32.const -0))`,
  ),
  expect: "halt",
};

/** Every trap of the trapping conversions: NaN (invalid conversion) and out of range (overflow). */
export const FLOAT_TRAP_PROGRAMS: TestProgram[] = FLOAT_OPS.filter((o) => o.traps).flatMap((o) => {
  const t = o.ins[0] as "f32" | "f64";
  const over = o.out === "i32" ? (t === "f32" ? 0x4f000000n : 0x41e0000000000000n) : t === "f32" ? 0x5f800000n : 0x43f0000000000000n;
  const neg = t === "f32" ? 0xbf800000n : 0xbff0000000000000n; // -1: out of range for unsigned
  return [
    { name: `trap ${o.name} NaN`, wat: floatTask(`(drop (${o.name} ${constText(t, t === "f32" ? 0xffc00001n : 0x7ff0000000000001n)}))`), expect: Trap.InvalidConversion },
    { name: `trap ${o.name} overflow`, wat: floatTask(`(drop (${o.name} ${constText(t, o.name.endsWith("_u") ? neg : over)}))`), expect: Trap.IntegerOverflow },
  ];
});

export const FLOAT_PROGRAMS: TestProgram[] = [...FLOAT_OPS.map((o) => floatOpProgram(o)), FLOAT_MEMORY_PROGRAM, ...FLOAT_TRAP_PROGRAMS];

/** The step vectors' float programs (test/state/gen-vectors.ts): each instruction on a few edge operands. */
export function floatVectorPrograms(): { program: TestProgram; op: number }[] {
  const V32 = [0x3fc00000n, 0x80000000n, 0x7f800000n, 0x7fa00001n, 0x00000001n, 0xc0200000n];
  const V64 = [0x3ff8000000000000n, 0x8000000000000000n, 0x7ff0000000000000n, 0xfff4000000000001n, 0x0000000000000001n, 0xc004000000000000n];
  const VI32 = [0n, 0xffffffffn, 0x80000001n, 0x7fffffffn, 0x01000001n, 5n];
  const VI64 = [0n, 0xffffffffffffffffn, 0x8000000000000000n, 0x0020000000000001n, 0x8000008000000001n, 5n];
  const vals = (t: string) => (t === "f32" ? V32 : t === "f64" ? V64 : t === "i32" ? VI32 : VI64);
  return FLOAT_OPS.map((o) => {
    const a = vals(o.ins[0]);
    const b = o.ins[1] ? vals(o.ins[1]) : null;
    // pairs: (a_i, b_{i+1}) and (a_i, b_i), so that equal, ordered, NaN and infinite pairs all occur
    const operands = b ? a.flatMap((x, i) => [[x, b[(i + 1) % b.length]], [x, b[i]]]).slice(0, 8) : a.map((x) => [x]);
    return { program: floatOpProgram(o, operands), op: o.op };
  });
}

/**
 * Float programs of the prover property tests (test/contracts/prover-programs.ts): every float
 * instruction on `n` random operands (edges and NaN payloads included), float loads and stores at
 * random addresses (leaf boundaries, the end of memory), and each trapping conversion's traps.
 */
export function floatPropertyPrograms(seed: number, n: number): TestProgram[] {
  const rng = new Rng(seed);
  const out: TestProgram[] = FLOAT_OPS.map((o) => {
    const operands: bigint[][] = [];
    for (let i = 0; i < n; i++) {
      const a = randomOperand(rng, o.ins[0]);
      operands.push(o.ins.length === 2 ? [a, randomOperand(rng, o.ins[1], a)] : [a]);
    }
    return floatOpProgram(o, operands);
  });
  const mem: string[] = [];
  for (let i = 0; i < 4 * n; i++) {
    const t = rng.int(2) ? "f32" : "f64";
    const size = t === "f32" ? 4 : 8;
    const addr = rng.int(3) === 0 ? 65536 - size - rng.int(3) + 1 : rng.int(4) === 0 ? 32 * rng.int(2048) - rng.int(size) : rng.int(65536 - size);
    if (addr + size > 65536) continue; // out of bounds: the trap programs below
    if (rng.int(2)) mem.push(`(${t}.store (i32.const ${addr}) ${constText(t, randomOperand(rng, t))})`);
    else mem.push(`(drop (${t}.load (i32.const ${addr})))`);
  }
  out.push({ name: "float loads and stores", wat: floatTask(mem.join("\n")), expect: "halt" });
  out.push({ name: "f64.load past the end", wat: floatTask(`(drop (f64.load (i32.const 65529)))`), expect: Trap.OutOfBoundsMemory });
  out.push({ name: "f32.store past the end", wat: floatTask(`(f32.store offset=65533 (i32.const 0) (f32.const 1))`), expect: Trap.OutOfBoundsMemory });
  return [...out, ...FLOAT_TRAP_PROGRAMS];
}
