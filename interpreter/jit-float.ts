/**
 * Floats in the compiled tier (jit.ts): the analysis shapes of the float instructions, the code of
 * each float instruction, and the helpers of the generated code. The semantics are float.ts's:
 * the generated code either calls its functions or uses the JS operators they are defined with.
 *
 * Unboxed values. Within a block a float value is a JS number expression (an Ent with `d`), and a
 * local whose every stored value is an f32 (resp. f64) is a JS number variable; both are written
 * back as bits only where bits are needed (block ends, exits, calls, stores, integer consumers of
 * a reinterpreted value). A JS number holds a float value exactly, except NaN payloads: so the
 * generated code keeps one invariant, **a JS number stands for its exact value, and NaN for the
 * canonical NaN** (bits written through F2B/F2B32, which canonicalise). Every place where a value
 * would enter a number without that guarantee (an f32/f64 load or a bits value stored into a
 * number local that is a NaN other than the canonical one, a neg or copysign whose result is a
 * NaN) yields to exec before the instruction, and a frame whose number locals hold such a NaN is
 * not resumed (jit.ts resumable): exec, on bits, runs there. Arithmetic results need no check:
 * float.ts canonicalises every NaN they produce, which is what F2B does.
 */
import { f32Value, f64Value, nearest, putI64, putI64Sat, s64ToF32, truncCheck, truncI32, truncSatI32, u64ToF32 } from "./float.js";
import type { FnGen } from "./jit.js";

/** Kinds of the float analysis (OR-merged bits), as in jit.ts. */
const KF32 = 1, KF64 = 2, KINT = 4;

/** A local or value kind that is held as a JS number. */
export function isDoubleKind(kind: number): boolean {
  return kind === KF32 || kind === KF64;
}

/** Whether bits (lo, hi) of a `kind` value may be held as a JS number: not a NaN but the canonical one. */
export function exactAsNumber(kind: number, lo: number, hi: number): boolean {
  if (kind === KF32) {
    if ((lo & 0x7f800000) !== 0x7f800000 || (lo & 0x7fffff) === 0) return hi === 0;
    return lo === 0x7fc00000 && hi === 0;
  }
  if ((hi & 0x7ff00000) !== 0x7ff00000 || ((hi & 0xfffff) | lo) === 0) return true;
  return hi === 0x7ff80000 && lo === 0;
}

// ------------------------------------------------------------------------------------------------
// Analysis: pops | SHAPE_PUSH | SHAPE_K64 | kind << 4 per opcode (0: not a float instruction).

export const SHAPE_PUSH = 4, SHAPE_K64 = 8;
export const FLOAT_SHAPE = new Uint8Array(256);
(() => {
  const set = (op: number, pops: number, kind: number) => {
    FLOAT_SHAPE[op] = pops | (kind ? SHAPE_PUSH | (kind === KF64 || kind === KINT + 8 ? SHAPE_K64 : 0) | ((kind & 7) << 4) : 0);
  };
  const I64 = KINT + 8; // an i64 result (K64, kind other)
  set(0x2a, 1, KF32);
  set(0x2b, 1, KF64);
  set(0x38, 2, 0);
  set(0x39, 2, 0);
  set(0x43, 0, KF32);
  set(0x44, 0, KF64);
  for (let op = 0x5b; op <= 0x66; op++) set(op, 2, KINT); // comparisons -> i32
  for (let op = 0x8b; op <= 0x91; op++) set(op, 1, KF32);
  for (let op = 0x92; op <= 0x98; op++) set(op, 2, KF32);
  for (let op = 0x99; op <= 0x9f; op++) set(op, 1, KF64);
  for (let op = 0xa0; op <= 0xa6; op++) set(op, 2, KF64);
  for (const op of [0xa8, 0xa9, 0xaa, 0xab, 0xc5, 0xc6, 0xc7, 0xc8]) set(op, 1, KINT); // -> i32
  for (const op of [0xae, 0xaf, 0xb0, 0xb1, 0xc9, 0xca, 0xcb, 0xcc]) set(op, 1, I64); // -> i64
  for (let op = 0xb2; op <= 0xb6; op++) set(op, 1, KF32);
  for (let op = 0xb7; op <= 0xbb; op++) set(op, 1, KF64);
})();

/** Float instructions whose operands the float code takes as they are (numbers or bits). */
export function takesFloatOperands(op: number): boolean {
  return FLOAT_SHAPE[op] !== 0;
}

// ------------------------------------------------------------------------------------------------
// Helpers of the generated code (jit.ts PRELUDE): bits <-> numbers, and float.ts's conversions.

export const FLOAT_HELPERS = { f32Value, f64Value, nearest, putI64, putI64Sat, s64ToF32, truncCheck, truncI32, truncSatI32, u64ToF32 };

export const FLOAT_PRELUDE = `
const FH = R.FLOAT;
const FB = new Float64Array(1), FB32 = new Float32Array(FB.buffer, 0, 1), IB = new Int32Array(FB.buffer);
const TL = new Int32Array(1), TH = new Int32Array(1);
const NEAREST = FH.nearest, S64F32 = FH.s64ToF32, U64F32 = FH.u64ToF32, TRUNCCHECK = FH.truncCheck, TRUNCSAT32 = FH.truncSatI32;
function B2D(lo, hi) { IB[0] = lo; IB[1] = hi; return FB[0]; }
function B2F(bits) { IB[0] = bits; return FB32[0]; }
function F2B(d) { if (d !== d) { HI = 0x7ff80000; return 0; } FB[0] = d; HI = IB[1]; return IB[0]; }
function F2B32(d) { if (d !== d) return 0x7fc00000; FB32[0] = d; return IB[0]; }
function NCANON(lo, hi) { return ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0) && !(hi === 0x7ff80000 && lo === 0); }
function NCANON32(bits) { return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0 && bits !== 0x7fc00000; }
function SIGNBIT(d) { return d < 0 || (d === 0 && 1 / d < 0); }
function TRUNC64(d) { FH.putI64(TL, TH, 0, d); HI = TH[0]; return TL[0]; }
function TRUNCSAT64(d, signed) { FH.putI64Sat(TL, TH, 0, d, signed); HI = TH[0]; return TL[0]; }
`;

// ------------------------------------------------------------------------------------------------
// Code of one float instruction (FnGen.genInstr delegates here).

const F32_UN: Record<number, (x: string) => string> = {
  0x8d: (x) => `Math.ceil(${x})`,
  0x8e: (x) => `Math.floor(${x})`,
  0x8f: (x) => `Math.trunc(${x})`,
  0x90: (x) => `NEAREST(${x})`,
  0x91: (x) => `Math.fround(Math.sqrt(${x}))`,
};
const F64_UN: Record<number, (x: string) => string> = {
  0x9b: (x) => `Math.ceil(${x})`,
  0x9c: (x) => `Math.floor(${x})`,
  0x9d: (x) => `Math.trunc(${x})`,
  0x9e: (x) => `NEAREST(${x})`,
  0x9f: (x) => `Math.sqrt(${x})`,
};
const BIN: Record<number, (x: string, y: string) => string> = {
  0: (x, y) => `(${x} + ${y})`,
  1: (x, y) => `(${x} - ${y})`,
  2: (x, y) => `(${x} * ${y})`,
  3: (x, y) => `(${x} / ${y})`,
  4: (x, y) => `Math.min(${x}, ${y})`,
  5: (x, y) => `Math.max(${x}, ${y})`,
};
const CMP = ["===", "!==", "<", ">", "<=", ">="];

/** i32 / u32 / i64 / u64 trunc bounds (exclusive) checked on the untruncated value, as float.ts. */
const TRUNC_KIND: Record<number, number> = { 0xa8: 0, 0xa9: 1, 0xaa: 0, 0xab: 1, 0xae: 2, 0xaf: 3, 0xb0: 2, 0xb1: 3 };
const TRUNC_RANGE = ["(q0 > -2147483649 && q0 < 2147483648)", "(q0 > -1 && q0 < 4294967296)", "(q0 >= -9223372036854775808 && q0 < 9223372036854775808)", "(q0 > -1 && q0 < 18446744073709551616)"];

/**
 * Generates float instruction `op` (FLOAT_SHAPE[op] !== 0). Operands may be numbers or bits; the
 * result is a number expression (float results), an i32 expression, or i64 slot variables.
 */
export function genFloat(g: FnGen, op: number, a: number, b: number): void {
  const vs = g.vs;
  const H = g.H;
  switch (op) {
    // ---- constants: numbers, unless a NaN other than the canonical one (kept as bits)
    case 0x43: {
      IB_SCRATCH[0] = a;
      const v = F32_SCRATCH[0];
      if (v !== v && a !== 0x7fc00000) vs.push(g.simpleEnt(lit(a), null));
      else vs.push(g.dblEnt(numLit(v), 32, [], true));
      return;
    }
    case 0x44: {
      IB_SCRATCH[0] = a;
      IB_SCRATCH[1] = b;
      const v = F64_SCRATCH[0];
      if (v !== v && !(a === 0 && b === 0x7ff80000)) vs.push(g.simpleEnt(lit(a), lit(b)));
      else vs.push(g.dblEnt(numLit(v), 64, [], true));
      return;
    }
    // ---- loads: a number, or exec when the bits are a NaN other than the canonical one
    case 0x2a:
    case 0x2b: {
      const stub = g.trapStub(4);
      const yieldStub = g.yieldStub();
      const e = g.pop();
      const off = a >>> 0;
      const size = op === 0x2a ? 4 : 8;
      g.emit(`ea = ${off ? `(${e.lo} >>> 0) + ${off}` : `${e.lo} >>> 0`}; if (ea > memLen - ${size}) ${stub}`);
      if (op === 0x2a) g.emit(`q0 = dv.getFloat32(ea, true); if (q0 !== q0 && NCANON32(dv.getInt32(ea, true))) ${yieldStub}`);
      else g.emit(`q0 = dv.getFloat64(ea, true); if (q0 !== q0 && NCANON(dv.getInt32(ea, true), dv.getInt32(ea + 4, true))) ${yieldStub}`);
      vs.push(g.simpleEnt("0", null));
      g.setSlotD(H - 1, "q0", op === 0x2a ? 32 : 64);
      return;
    }
    // ---- stores: a number (NaN written as the canonical bits), or bits
    case 0x38:
    case 0x39: {
      const stub = g.trapStub(4);
      const k = H - 1;
      const v = vs[k];
      const w = op === 0x38 ? 32 : 64;
      let write: string;
      if (v.d !== null && v.w === w) {
        const d = v.d;
        write =
          w === 32
            ? `q0 = ${d}; if (q0 === q0) dv.setFloat32(ea, q0, true); else dv.setInt32(ea, 0x7fc00000, true);`
            : `q0 = ${d}; if (q0 === q0) dv.setFloat64(ea, q0, true); else { dv.setInt32(ea, 0, true); dv.setInt32(ea + 4, 0x7ff80000, true); }`;
      } else {
        if (v.d !== null) g.flush(k);
        if (w === 32) write = `dv.setInt32(ea, ${vs[k].lo}, true);`;
        else {
          const [lo, hi] = g.pair(k);
          write = `dv.setInt32(ea, ${lo}, true); dv.setInt32(ea + 4, ${hi}, true);`;
        }
      }
      const addr = vs[H - 2].lo;
      vs.length -= 2;
      const off = a >>> 0;
      g.emit(`ea = ${off ? `(${addr} >>> 0) + ${off}` : `${addr} >>> 0`}; if (ea > memLen - ${w / 8}) ${stub}`);
      g.emit(`${write} mark[ea >>> 5] = ep; mark[(ea + ${w / 8 - 1}) >>> 5] = ep;`);
      return;
    }
  }
  // ---- comparisons -> i32
  if (op >= 0x5b && op <= 0x66) {
    const w = op <= 0x60 ? 32 : 64;
    const y = g.dbl(H - 1, w), x = g.dbl(H - 2, w);
    const eb = g.pop(), ea = g.pop();
    g.pushExpr(g.exprEnt(`(${x} ${CMP[(op - 0x5b) % 6]} ${y} ? 1 : 0)`, ea, eb));
    return;
  }
  // ---- abs, neg, copysign: on bits when the operand is bits, else guarded on numbers
  if (op === 0x8b || op === 0x99 || op === 0x8c || op === 0x9a) {
    const w = op <= 0x98 ? 32 : 64;
    const neg = op === 0x8c || op === 0x9a;
    const k = H - 1;
    const e = vs[k];
    if (e.d !== null) {
      if (!neg) {
        vs[k] = g.dblEnt(`Math.abs(${e.d})`, w, [e], false);
        return;
      }
      const stub = g.yieldStub(); // -NaN is not the canonical NaN: exec, on bits
      g.emit(`q0 = -${e.d}; if (q0 !== q0) ${stub}`);
      g.setSlotD(k, "q0", w);
      return;
    }
    if (w === 32) {
      g.pop();
      g.pushExpr(g.exprEnt(neg ? `(${e.lo} ^ -2147483648)` : `(${e.lo} & 2147483647)`, e));
    } else {
      const [lo, hi] = g.pair(k);
      g.pop();
      g.emit(`t1 = ${neg ? `${hi} ^ -2147483648` : `${hi} & 2147483647`};`);
      vs.push(g.simpleEnt("0", null));
      g.setSlot64(k, lo, "t1");
    }
    return;
  }
  if (op === 0x98 || op === 0xa6) {
    const w = op === 0x98 ? 32 : 64;
    const k = H - 2;
    const x = vs[k], y = vs[k + 1];
    if (x.d !== null && y.d !== null) {
      const stub = g.yieldStub(); // a NaN with the sign of a negative y: exec, on bits
      g.emit(`q1 = ${y.d}; q0 = ${x.d}; if (q0 !== q0) { if (SIGNBIT(q1)) ${stub} } else if (SIGNBIT(q0) !== SIGNBIT(q1)) q0 = -q0;`);
      vs.length = k + 1;
      vs[k] = g.simpleEnt("0", null);
      g.setSlotD(k, "q0", w);
      return;
    }
    if (x.d !== null) g.flush(k);
    if (y.d !== null) g.flush(k + 1);
    if (w === 32) {
      const eb = g.pop(), ea = g.pop();
      g.pushExpr(g.exprEnt(`((${ea.lo} & 2147483647) | (${eb.lo} & -2147483648))`, ea, eb));
    } else {
      const [, bh] = g.pair(k + 1);
      const [al, ah] = g.pair(k);
      g.emit(`t1 = (${ah} & 2147483647) | (${bh} & -2147483648);`);
      vs.length = k + 1;
      vs[k] = g.simpleEnt("0", null);
      g.setSlot64(k, al, "t1");
    }
    return;
  }
  // ---- unary arithmetic
  if (F32_UN[op] || F64_UN[op]) {
    const w = op <= 0x91 ? 32 : 64;
    const x = g.dbl(H - 1, w);
    const e = g.pop();
    g.pushD(g.dblEnt((w === 32 ? F32_UN : F64_UN)[op](x), w, [e], false));
    return;
  }
  // ---- binary arithmetic
  if ((op >= 0x92 && op <= 0x97) || (op >= 0xa0 && op <= 0xa5)) {
    const w = op <= 0x97 ? 32 : 64;
    const y = g.dbl(H - 1, w), x = g.dbl(H - 2, w);
    const eb = g.pop(), ea = g.pop();
    let expr = BIN[op - (w === 32 ? 0x92 : 0xa0)](x, y);
    if (w === 32 && op <= 0x95) expr = `Math.fround(${expr})`;
    g.pushD(g.dblEnt(expr, w, [ea, eb], false));
    return;
  }
  // ---- float -> integer (trapping and saturating)
  if (TRUNC_KIND[op] !== undefined || (op >= 0xc5 && op <= 0xcc)) {
    const sat = op >= 0xc5;
    const kind = sat ? ((op - 0xc5) >> 2) * 2 + ((op - 0xc5) & 1) : TRUNC_KIND[op];
    const fromW = sat ? ((op - 0xc5) & 2 ? 64 : 32) : op === 0xaa || op === 0xab || op === 0xb0 || op === 0xb1 ? 64 : 32;
    const k = H - 1;
    const x = g.dbl(k, fromW);
    if (!sat) {
      const stub = g.trapStub("(q0 !== q0 ? 17 : 3)");
      g.emit(`q0 = ${x}; if (!${TRUNC_RANGE[kind]}) ${stub}`);
    } else g.emit(`q0 = ${x};`);
    g.pop();
    vs.push(g.simpleEnt("0", null));
    if (kind < 2) g.setSlot32(k, sat ? `TRUNCSAT32(q0, ${kind === 0})` : `(Math.trunc(q0) | 0)`);
    else {
      g.emit(sat ? `t0 = TRUNCSAT64(q0, ${kind === 2}); t1 = HI;` : `t0 = TRUNC64(q0); t1 = HI;`);
      g.setSlot64(k, "t0", "t1");
    }
    return;
  }
  // ---- integer / float -> float
  const k = H - 1;
  switch (op) {
    case 0xb2:
    case 0xb3:
    case 0xb7:
    case 0xb8: {
      if (vs[k].d !== null) g.flush(k); // a reinterpreted f32 (i32 bits)
      const e = g.pop();
      const v = op === 0xb2 || op === 0xb7 ? `(${e.lo})` : `(${e.lo} >>> 0)`;
      g.pushD(g.dblEnt(op <= 0xb3 ? `Math.fround(${v})` : v, op <= 0xb3 ? 32 : 64, [e], false));
      return;
    }
    case 0xb4:
    case 0xb5:
    case 0xb9:
    case 0xba: {
      const [lo, hi] = g.pair(k);
      const e = g.pop();
      const expr =
        op === 0xb4 ? `S64F32(${lo}, ${hi})` : op === 0xb5 ? `U64F32(${lo}, ${hi})` : op === 0xb9 ? `(${hi} * 4294967296 + (${lo} >>> 0))` : `((${hi} >>> 0) * 4294967296 + (${lo} >>> 0))`;
      g.pushD(g.dblEnt(expr, op <= 0xb5 ? 32 : 64, [e], false));
      return;
    }
    case 0xb6: {
      const x = g.dbl(k, 64);
      const e = g.pop();
      g.pushD(g.dblEnt(`Math.fround(${x})`, 32, [e], false));
      return;
    }
    case 0xbb: {
      const x = g.dbl(k, 32); // an f32 number is the f64 number; NaN stays the canonical NaN
      const e = g.pop();
      g.pushD(g.dblEnt(x, 64, [e], g.isSimple(x)));
      return;
    }
  }
  throw new Error(`jit: float opcode 0x${op.toString(16)}`);
}

const IB_SCRATCH = new Int32Array(2);
const F64_SCRATCH = new Float64Array(IB_SCRATCH.buffer);
const F32_SCRATCH = new Float32Array(IB_SCRATCH.buffer, 0, 1);

const lit = (v: number): string => (v < 0 ? `(${v})` : String(v));
/** A JS literal of a number (exact: shortest round-trip form), NaN, ±Infinity and -0 included. */
function numLit(v: number): string {
  if (v !== v) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  if (v === 0) return 1 / v < 0 ? "(-0)" : "0";
  return v < 0 ? `(${v})` : String(v);
}
