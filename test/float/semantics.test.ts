/**
 * The float semantics (interpreter/float.ts) against V8's WebAssembly on every float instruction:
 * edge operands (±0, subnormals, ±inf, NaN payloads, rounding ties, conversion boundaries) in every
 * pair, plus thousands of random operands per instruction. V8 computes each case in a wasm loop
 * over a memory array (bits in, bits out, through reinterpret); results must be equal bit for bit,
 * except that where V8 returns some NaN from an arithmetic or conversion instruction the machine
 * must return the canonical NaN (abs, neg and copysign preserve bits exactly: equal bits always).
 * Trapping conversions are called case by case: trap (and its kind) or the same value.
 */
import { describe, expect, it } from "vitest";
import { floatStep, floatStepBig } from "../../interpreter/float.js";
import { Trap } from "../../interpreter/isa.js";
import { wat2wasm } from "../state/util.js";
import { canonicalNaN, edgesOf, FLOAT_OPS, isNaNBits, Rng, randomOperand, type FloatOp, type NumT } from "./ops.js";

const RANDOM_CASES = Number(process.env.FLOAT_RANDOM_CASES ?? 6000);

const load = (t: NumT, addr: string) =>
  t === "f32" ? `(f32.reinterpret_i32 (i32.load ${addr}))` : t === "f64" ? `(f64.reinterpret_i64 (i64.load ${addr}))` : `(${t}.load ${addr})`;
const toBits = (t: NumT, x: string) =>
  t === "f32" ? `(i64.extend_i32_u (i32.reinterpret_f32 ${x}))` : t === "f64" ? `(i64.reinterpret_f64 ${x})` : t === "i32" ? `(i64.extend_i32_u ${x})` : x;

const MAX_CASES = 1 << 14;
const A = 0, B = MAX_CASES * 8, R = 2 * MAX_CASES * 8;

/** One module with a batch function `b<k>` (operands in memory) and a single-case `s<k>` per op. */
async function v8Module(): Promise<{ mem: BigUint64Array; batch: ((n: number) => void)[]; single: ((a: bigint, b: bigint) => bigint)[] }> {
  const funcs = FLOAT_OPS.map((o, k) => {
    const args = o.ins.map((t, j) => load(t, `(i32.add (i32.const ${j === 0 ? A : B}) (i32.shl (local.get $i) (i32.const 3)))`));
    const argsS = o.ins.map((t, j) => {
      const p = `(local.get ${j})`;
      return t === "f32" ? `(f32.reinterpret_i32 (i32.wrap_i64 ${p}))` : t === "f64" ? `(f64.reinterpret_i64 ${p})` : t === "i32" ? `(i32.wrap_i64 ${p})` : p;
    });
    return `
    (func (export "b${k}") (param $n i32) (local $i i32)
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i64.store (i32.add (i32.const ${R}) (i32.shl (local.get $i) (i32.const 3))) ${toBits(o.out, `(${o.name} ${args.join(" ")})`)})
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l))))
    (func (export "s${k}") (param i64 i64) (result i64) ${toBits(o.out, `(${o.name} ${argsS.join(" ")})`)})`;
  });
  const bytes = await wat2wasm(`(module (memory (export "mem") ${(3 * MAX_CASES * 8) / 65536}) ${funcs.join("\n")})`);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource));
  const e = inst.exports as Record<string, unknown>;
  return {
    mem: new BigUint64Array((e.mem as WebAssembly.Memory).buffer),
    batch: FLOAT_OPS.map((_, k) => e[`b${k}`] as (n: number) => void),
    single: FLOAT_OPS.map((_, k) => e[`s${k}`] as (a: bigint, b: bigint) => bigint),
  };
}

const SL = new Int32Array(2), SH = new Int32Array(2);
/** The machine's result: u64 bits, or -trap kind. */
function ours(o: FloatOp, a: bigint, b: bigint): bigint | number {
  const vals = o.ins.length === 2 ? [a, b] : [a];
  vals.forEach((v, i) => {
    SL[i] = Number(v & 0xffffffffn) | 0;
    SH[i] = Number((v >> 32n) & 0xffffffffn) | 0;
  });
  const r = floatStep(o.op, SL, SH, vals.length);
  if (r < 0) return r;
  expect(r).toBe(1);
  return (BigInt(SH[0] >>> 0) << 32n) | BigInt(SL[0] >>> 0);
}

/** Operand pairs: every pair of edges, then random ones. */
function cases(o: FloatOp, seed: number): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  const e1 = edgesOf(o.ins[0]);
  const e2 = o.ins.length === 2 ? edgesOf(o.ins[1]) : [0n];
  for (const a of e1) for (const b of e2) out.push([a, b]);
  const rng = new Rng(seed);
  for (let i = 0; i < RANDOM_CASES; i++) {
    const a = randomOperand(rng, o.ins[0]);
    out.push([a, o.ins.length === 2 ? randomOperand(rng, o.ins[1], a) : 0n]);
  }
  return out;
}

function expectSame(o: FloatOp, a: bigint, b: bigint, v8: bigint, got: bigint | number): void {
  const what = () => `${o.name}(0x${a.toString(16)}${o.ins.length === 2 ? `, 0x${b.toString(16)}` : ""})`;
  if (typeof got === "number") throw new Error(`${what()}: the machine trapped (${-got}), V8 returned 0x${v8.toString(16)}`);
  if (!o.bitwise && (o.out === "f32" || o.out === "f64") && isNaNBits(o.out, v8)) {
    if (got !== canonicalNaN(o.out)) throw new Error(`${what()}: V8 NaN 0x${v8.toString(16)}, machine 0x${got.toString(16)} (not the canonical NaN)`);
    return;
  }
  if (got !== v8) throw new Error(`${what()}: V8 0x${v8.toString(16)}, machine 0x${got.toString(16)}`);
}

describe("float semantics (float.ts) against V8", async () => {
  const v8 = await v8Module();

  it("covers every float instruction of WebAssembly 2.0", () => {
    // 12 comparisons, 28 arithmetic, 18 conversions (the 4 reinterpretations are no machine step), 8 trunc_sat
    expect(FLOAT_OPS.length).toBe(12 + 28 + 18 + 8);
  });

  FLOAT_OPS.forEach((o, k) => {
    it(`${o.name} (0x${o.op.toString(16)})`, () => {
      const cs = cases(o, 1000 + k);
      let nanResults = 0;
      if (!o.traps) {
        for (let from = 0; from < cs.length; from += MAX_CASES) {
          const chunk = cs.slice(from, from + MAX_CASES);
          chunk.forEach(([a, b], i) => {
            v8.mem[A / 8 + i] = a;
            v8.mem[B / 8 + i] = b;
          });
          v8.batch[k](chunk.length);
          chunk.forEach(([a, b], i) => {
            const want = v8.mem[R / 8 + i];
            if ((o.out === "f32" || o.out === "f64") && isNaNBits(o.out, want)) nanResults++;
            expectSame(o, a, b, want, ours(o, a, b));
          });
        }
      } else {
        let trapped = 0;
        for (const [a, b] of cs) {
          let want: bigint | null = null;
          try {
            want = BigInt.asUintN(64, v8.single[k](BigInt.asIntN(64, a), BigInt.asIntN(64, b)));
          } catch (e) {
            if (!(e instanceof WebAssembly.RuntimeError)) throw e;
          }
          const got = ours(o, a, b);
          if (want === null) {
            trapped++;
            const nan = isNaNBits(o.ins[0], a);
            expect(got, `${o.name}(0x${a.toString(16)}) traps`).toBe(-(nan ? Trap.InvalidConversion : Trap.IntegerOverflow));
          } else expectSame(o, a, b, want, got);
        }
        expect(trapped).toBeGreaterThan(10); // NaN and out-of-range operands were exercised
        expect(trapped).toBeLessThan(cs.length - 10);
      }
      if (o.out === "f32" || o.out === "f64") {
        if (!/promote|demote|convert|copysign|abs|neg|min|max|ceil|floor|trunc|nearest/.test(o.name)) expect(nanResults).toBeGreaterThan(0);
      }
      // the bigint entry point (verify.ts) is the same function
      for (const [a, b] of cs.slice(0, 200)) {
        const g = ours(o, a, b);
        const big = o.ins.length === 2 ? floatStepBig(o.op, a, b) : floatStepBig(o.op, 0n, a);
        expect(typeof big === "bigint" ? big : -big.trap).toBe(g);
      }
    });
  });
});
