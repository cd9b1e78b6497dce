/**
 * Every float instruction in a small task ("kernel") that loads operand bit patterns from its
 * input, applies the instruction through every path a value can take in the machine (straight to
 * memory; through locals, a call with float parameters and result, a global, select), and writes
 * the results; plus a copy of each operand through a local (bits must survive, NaN payloads
 * included). Each kernel runs on:
 *   - V8 (Node's WebAssembly): the outputs must be equal, except that a NaN V8 computes for an
 *     arithmetic or conversion result must be the canonical NaN in ours (bitwise ops: equal bits);
 *   - the machine with the compiled tier (jit.ts, jit-float.ts) in random slices against exec
 *     alone, the complete state compared after every slice.
 * Operands: edges (±0, subnormals, ±inf, NaN payloads, ties, conversion boundaries) and random.
 */
import { describe, expect, test } from "vitest";
import { Jit } from "../../interpreter/jit.js";
import { Status, Trap } from "../../interpreter/isa.js";
import { Machine } from "../../interpreter/machine.js";
import type { Program } from "../../interpreter/program.js";
import { compileTask, runNative, TaskTrap } from "../../wasm-tasks/native.js";
import { taskFromWat, wat2wasm } from "../state/util.js";
import { canonicalNaN, edgesOf, FLOAT_OPS, isNaNBits, Rng, randomOperand, type FloatOp, type NumT } from "./ops.js";
import { truncTraps } from "./programs.js";

const CASES = Number(process.env.FLOAT_KERNEL_CASES ?? 160);

const SIZE: Record<NumT, number> = { i32: 4, i64: 8, f32: 4, f64: 8 };

/** The kernel task of one op: N cases of (operands) -> 4 results + the copied operands. */
function kernelWat(o: FloatOp): string {
  const [t1, t2] = o.ins;
  const tr = o.out;
  const inSize = 16; // each case: operand 1 at +0, operand 2 at +8
  const outSize = 8 * 6; // four results, two copied operands (8 bytes each, narrower values in the low bytes)
  const params = o.ins.map((t, j) => `(param $p${j} ${t})`).join(" ");
  const apply = (args: string[]) => `(${o.name} ${args.join(" ")})`;
  const load = (t: NumT, off: number) => `(${t}.load offset=${off} (local.get $in))`;
  const store = (t: NumT, off: number, v: string) => `(${t}.store offset=${off} (local.get $out) ${v})`;
  const args = o.ins.map((t, j) => `(local.get $x${j})`);
  return `(module
  (import "truewasm" "input_size" (func $size (result i32)))
  (import "truewasm" "input_read" (func $read (param i32 i32 i32)))
  (import "truewasm" "output_write" (func $write (param i32 i32)))
  (memory (export "memory") 8)
  (global $g (mut ${tr}) (${tr}.const 0))
  (func $op ${params} (result ${tr}) ${apply(o.ins.map((_, j) => `(local.get $p${j})`))})
  (func (export "main") (local $i i32) (local $n i32) (local $in i32) (local $out i32)
    (local $x0 ${t1}) (local $x1 ${t2 ?? "i32"}) (local $r ${tr}) (local $s ${tr})
    (local.set $n (call $size))
    (call $read (i32.const 0) (i32.const 0) (local.get $n))
    (local.set $n (i32.div_u (local.get $n) (i32.const ${inSize})))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $in (i32.mul (local.get $i) (i32.const ${inSize})))
      (local.set $out (i32.add (i32.const 0x10000) (i32.mul (local.get $i) (i32.const ${outSize}))))
      (local.set $x0 ${load(t1, 0)})
      ${t2 ? `(local.set $x1 ${load(t2, 8)})` : ""}
      ;; straight from memory to memory
      ${store(tr, 0, apply(o.ins.map((t, j) => load(t, 8 * j))))}
      ;; through locals, with a tee
      ${store(tr, 8, `(local.tee $r ${apply(args)})`)}
      ;; through a call and a global
      (global.set $g (call $op ${args.join(" ")}))
      ${store(tr, 16, "(global.get $g)")}
      ;; select between two results (the second computed again, in a local)
      (local.set $s ${apply(args)})
      ${store(tr, 24, `(select (local.get $s) (local.get $r) (i32.and (local.get $i) (i32.const 1)))`)}
      ;; operands copied through locals: bits unchanged
      ${store(t1, 32, "(local.get $x0)")}
      ${t2 ? store(t2, 40, "(local.get $x1)") : ""}
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (call $write (i32.const 0x10000) (i32.mul (local.get $n) (i32.const ${outSize})))))`;
}

/** Input of a kernel: cases of two operands (8 bytes each, little-endian). */
function kernelInput(o: FloatOp, rng: Rng, n: number): Uint8Array {
  const buf = new Uint8Array(16 * n);
  const dv = new DataView(buf.buffer);
  const e1 = edgesOf(o.ins[0]);
  const e2 = o.ins[1] ? edgesOf(o.ins[1]) : [0n];
  for (let i = 0; i < n; i++) {
    let a: bigint, b: bigint;
    if (i < e1.length * 2) {
      a = e1[i % e1.length];
      b = e2[(i * 7 + (i >> 3)) % e2.length];
    } else {
      a = randomOperand(rng, o.ins[0]);
      b = o.ins[1] ? randomOperand(rng, o.ins[1], a) : 0n;
    }
    if (o.traps && truncTraps(o, a) && i < n - 1) a = o.ins[0] === "f32" ? 0x3f800000n : 0x3ff0000000000000n; // only the last case may trap
    dv.setBigUint64(16 * i, a, true);
    dv.setBigUint64(16 * i + 8, b, true);
  }
  return buf;
}

/** V8's output with every NaN of a non-bitwise float result replaced by the canonical NaN. */
function canonicalize(o: FloatOp, out: Uint8Array): Uint8Array {
  const c = out.slice();
  const dv = new DataView(c.buffer);
  if (o.bitwise || (o.out !== "f32" && o.out !== "f64")) return c;
  for (let at = 0; at + 48 <= c.length; at += 48) {
    for (let k = 0; k < 4; k++) {
      const p = at + 8 * k;
      if (o.out === "f32") {
        if (isNaNBits("f32", BigInt(dv.getUint32(p, true)))) dv.setUint32(p, Number(canonicalNaN("f32")), true);
      } else if (isNaNBits("f64", dv.getBigUint64(p, true))) dv.setBigUint64(p, canonicalNaN("f64"), true);
    }
  }
  return c;
}

/** The machine's complete state (as the JIT lockstep tests compare it). */
function state(m: Machine): string {
  const d = m.depth - 1;
  return JSON.stringify({
    pc: m.pc, status: m.status, trap: m.trap, steps: m.steps, sp: m.sp, fp: m.fp, nl: m.nl, depth: m.depth,
    sl: Array.from(m.sl.subarray(0, m.sp)), sh: Array.from(m.sh.subarray(0, m.sp)),
    ll: Array.from(m.ll.subarray(0, m.fp + m.nl)), lh: Array.from(m.lh.subarray(0, m.fp + m.nl)),
    fr: Array.from(m.fRet.subarray(0, d)), ff: Array.from(m.fFp.subarray(0, d)), fn: Array.from(m.fNl.subarray(0, d)),
    gl: Array.from(m.env.globalsLo), gh: Array.from(m.env.globalsHi),
    mem: Buffer.from(m.memoryBytes()).toString("base64"), mark: Buffer.from(m.mark.buffer, m.mark.byteOffset, m.mark.byteLength).toString("base64"),
    out: Buffer.from(m.output()).toString("hex"),
  });
}

/** JIT (eagerly compiled) and exec in the same random slices; returns the JIT machine at the end. */
export function lockstep(program: Program, input: Uint8Array, rng: Rng, label: string): Machine {
  const jit = new Jit(program);
  expect([...jit.skippedReasons], `${label}: functions left to exec`).toEqual([]);
  const a = Machine.forTask(program, input);
  const b = Machine.forTask(program, input);
  a.jit = jit;
  b.jit = null;
  let slices = 0;
  while (a.status === Status.Running || b.status === Status.Running) {
    const budget = rng.int(3) === 0 ? 1 + rng.int(5) : 1 + rng.int(rng.int(2) ? 300 : 20000);
    expect(a.run(budget), `${label} slice ${slices}`).toBe(b.run(budget));
    slices++;
    const sa = state(a), sb = state(b);
    if (sa !== sb) expect.fail(`${label}: state differs after slice ${slices} (steps ${b.steps}, pc jit ${a.pc} exec ${b.pc})`);
  }
  return a;
}

describe("float kernels: V8, exec and the compiled tier agree", () => {
  FLOAT_OPS.forEach((o, k) => {
    test(o.name, async () => {
      const rng = new Rng(0xf10a7 + k);
      const wasm = await wat2wasm(kernelWat(o));
      const program = await taskFromWat(kernelWat(o));
      const input = kernelInput(o, rng, CASES);
      // V8
      let native: Uint8Array | null = null;
      let nativeTrap = 0;
      try {
        native = runNative(compileTask(wasm), input).output;
      } catch (e) {
        if (!(e instanceof TaskTrap)) throw e;
        nativeTrap = e.kind;
      }
      // machine: compiled tier against exec, in random slices
      const m = lockstep(program, input, rng, o.name);
      if (native) {
        expect(m.status, `${o.name}: trap ${m.trap}`).toBe(Status.Halted);
        const ours = m.output(), want = canonicalize(o, native);
        if (Buffer.compare(Buffer.from(ours), Buffer.from(want)) !== 0) {
          let i = 0;
          while (ours[i] === want[i]) i++;
          expect.fail(`${o.name}: output differs from V8 at byte ${i} (case ${Math.floor(i / 48)}, slot ${Math.floor((i % 48) / 8)})`);
        }
      } else {
        expect(m.status).toBe(Status.Trapped);
        expect(nativeTrap === Trap.IntegerOverflow || nativeTrap === m.trap).toBe(true); // V8 names NaN and overflow alike
        expect([Trap.IntegerOverflow, Trap.InvalidConversion]).toContain(m.trap);
      }
    });
  });
});
