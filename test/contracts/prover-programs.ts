/**
 * Seeded random task programs (WAT) for the on-chain prover's property tests: every lowered opcode
 * with random and edge operands, memories of several depths with accesses at leaf and page
 * boundaries, bulk memory between distant leaves, locals and globals trees of many sizes, control
 * flow, indirect calls, host I/O, and every trap. Complements test/state/programs.ts (hand-written
 * edge cases, replayed on-chain as well).
 */
import type { Limits } from "../../interpreter/isa.js";
import { floatPropertyPrograms } from "../float/programs.js";

export interface PropProgram {
  name: string;
  wat: string;
  input?: Uint8Array;
  limits?: Partial<Limits>;
}

/** xorshift128+ on bigints: deterministic per seed. */
export class Rng {
  private a: bigint;
  private b: bigint;
  constructor(seed: number) {
    this.a = BigInt(seed >>> 0) * 0x9e3779b97f4a7c15n + 1n;
    this.b = (this.a ^ 0xdeadbeefcafebaben) | 1n;
    for (let i = 0; i < 8; i++) this.u64();
  }
  u64(): bigint {
    const M = (1n << 64n) - 1n;
    let x = this.a;
    const y = this.b;
    this.a = y;
    x ^= (x << 23n) & M;
    x ^= x >> 17n;
    x ^= y ^ (y >> 26n);
    this.b = x;
    return (x + y) & M;
  }
  int(n: number): number {
    return Number(this.u64() % BigInt(n));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.int(1_000_000) < p * 1_000_000;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
}

const HOST = `
  (import "truewasm" "input_size" (func $input_size (result i32)))
  (import "truewasm" "input_read" (func $input_read (param i32 i32 i32)))
  (import "truewasm" "output_write" (func $output_write (param i32 i32)))
  (import "truewasm" "exit" (func $exit (param i32)))
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))`;

export function task(body: string, extra = "", mem = `(memory (export "memory") 1 1)`): string {
  return `(module ${HOST}\n  ${mem}\n  ${extra}\n  (func (export "main") ${body}))`;
}

/** A random value of `bits` bits (as signed decimal for WAT): edges, small, sparse or dense. */
export function operand(rng: Rng, bits: 32 | 64): bigint {
  const B = BigInt(bits);
  const M = (1n << B) - 1n;
  const min = 1n << (B - 1n);
  let u: bigint;
  switch (rng.int(6)) {
    case 0:
      u = rng.pick([0n, 1n, M, min, min - 1n, B, B - 1n, B + 1n, 2n * B, min + 1n, M - 1n]);
      break;
    case 1:
      u = BigInt(rng.int(80));
      break;
    case 2:
      u = (M - BigInt(rng.int(80))) & M;
      break;
    case 3: {
      u = 0n;
      for (let i = rng.int(4); i >= 0; i--) u |= 1n << BigInt(rng.int(bits));
      break;
    }
    default:
      u = rng.u64() & M;
  }
  return BigInt.asIntN(bits, u);
}

const I_BIN = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u", "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr"];
const I_UN = ["eqz", "clz", "ctz", "popcnt"];
/** [op, operand type] of the unary conversions. */
const CONV: [string, "i32" | "i64"][] = [
  ["i32.wrap_i64", "i64"], ["i64.extend_i32_s", "i32"], ["i64.extend_i32_u", "i32"], ["i32.extend8_s", "i32"], ["i32.extend16_s", "i32"],
  ["i64.extend8_s", "i64"], ["i64.extend16_s", "i64"], ["i64.extend32_s", "i64"],
];

function traps(op: string, a: bigint, b: bigint, bits: number): boolean {
  if (!/div|rem/.test(op)) return false;
  const M = (1n << BigInt(bits)) - 1n;
  if ((b & M) === 0n) return true;
  return op.endsWith("div_s") && BigInt.asIntN(bits, a) === -(1n << BigInt(bits - 1)) && BigInt.asIntN(bits, b) === -1n;
}

/** Every numeric opcode on `n` random operand pairs; operands come from constants and locals. */
export function numericPrograms(rng: Rng, n: number): PropProgram[] {
  const out: PropProgram[] = [];
  for (const t of ["i32", "i64"] as const) {
    const bits = t === "i32" ? 32 : 64;
    const lines: string[] = [];
    for (const op of I_BIN) {
      for (let i = 0; i < n; i++) {
        const a = operand(rng, bits), b = operand(rng, bits);
        if (traps(op, a, b, bits)) continue;
        if (rng.chance(0.2)) lines.push(`(local.set $x (${t}.const ${a})) (drop (${t}.${op} (local.get $x) (${t}.const ${b})))`);
        else lines.push(`(drop (${t}.${op} (${t}.const ${a}) (${t}.const ${b})))`);
      }
    }
    for (const op of I_UN) for (let i = 0; i < n; i++) lines.push(`(drop (${t}.${op} (${t}.const ${operand(rng, bits)})))`);
    out.push({ name: `numeric ${t}`, wat: task(`(local $x ${t}) ${lines.join("\n")}`) });
  }
  const conv: string[] = [];
  for (const [op, from] of CONV) for (let i = 0; i < n; i++) conv.push(`(drop (${op} (${from}.const ${operand(rng, from === "i32" ? 32 : 64)})))`);
  out.push({ name: "conversions", wat: task(conv.join("\n")) });
  // every trapping division, at the end of its own program
  for (const t of ["i32", "i64"] as const) {
    const bits = t === "i32" ? 32 : 64;
    for (const op of ["div_s", "div_u", "rem_s", "rem_u"]) {
      out.push({ name: `${t}.${op} by zero`, wat: task(`(drop (${t}.${op} (${t}.const ${operand(rng, bits)}) (${t}.const 0)))`) });
    }
    out.push({ name: `${t}.div_s overflow`, wat: task(`(drop (${t}.div_s (${t}.const ${-(1n << BigInt(bits - 1))}) (${t}.const -1)))`) });
  }
  return out;
}

const LOADS: [string, number][] = [
  ["i32.load", 4], ["i64.load", 8], ["i32.load8_s", 1], ["i32.load8_u", 1], ["i32.load16_s", 2], ["i32.load16_u", 2],
  ["i64.load8_s", 1], ["i64.load8_u", 1], ["i64.load16_s", 2], ["i64.load16_u", 2], ["i64.load32_s", 4], ["i64.load32_u", 4],
];
const STORES: [string, number, "i32" | "i64"][] = [
  ["i32.store", 4, "i32"], ["i64.store", 8, "i64"], ["i32.store8", 1, "i32"], ["i32.store16", 2, "i32"], ["i64.store8", 1, "i64"], ["i64.store16", 2, "i64"], ["i64.store32", 4, "i64"],
];

/** An effective address for an access of `size` bytes in `memLen` bytes: boundaries are likely. */
function address(rng: Rng, size: number, memLen: number): number {
  const last = memLen - size;
  switch (rng.int(6)) {
    case 0: // across (or up to) a leaf boundary
      return Math.min(last, 32 * rng.int(memLen / 32) + 32 - 1 - rng.int(Math.max(1, size)));
    case 1: {
      // across a page boundary, or a power-of-two leaf boundary (large t for two-leaf proofs)
      const pages = memLen / 65536;
      const at = pages > 1 && rng.chance(0.5) ? 65536 * (1 + rng.int(pages - 1)) : 32 * 2 ** rng.int(Math.floor(Math.log2(memLen / 32)));
      return Math.max(0, Math.min(last, at - 1 - rng.int(Math.max(1, size - 1))));
    }
    case 2:
      return last - rng.int(Math.min(40, last + 1));
    case 3:
      return rng.int(64);
    default:
      return rng.int(last + 1);
  }
}

/** Random stores then loads over a memory of `pages` pages (static offsets included). */
export function memoryProgram(rng: Rng, pages: number, n: number): PropProgram {
  const memLen = pages * 65536;
  const lines: string[] = [];
  const touched: number[] = [];
  for (let i = 0; i < n; i++) {
    const [op, size, t] = rng.pick(STORES);
    const ea = address(rng, size, memLen);
    touched.push(ea);
    const off = rng.chance(0.3) ? rng.int(ea + 1) : 0;
    lines.push(`(${op} offset=${off} (i32.const ${ea - off}) (${t}.const ${operand(rng, t === "i32" ? 32 : 64)}))`);
  }
  for (let i = 0; i < n; i++) {
    const [op, size] = rng.pick(LOADS);
    const ea = rng.chance(0.5) ? Math.min(memLen - size, rng.pick(touched) + rng.int(9) - 4) : address(rng, size, memLen);
    const e = Math.max(0, ea);
    const off = rng.chance(0.3) ? rng.int(e + 1) : 0;
    lines.push(`(drop (${op} offset=${off} (i32.const ${e - off})))`);
  }
  return { name: `memory ${pages} pages`, wat: task(lines.join("\n"), "", `(memory (export "memory") ${pages} ${pages})`) };
}

/** Out-of-bounds accesses: each traps at the end of its own program. */
export function oobPrograms(rng: Rng): PropProgram[] {
  const out: PropProgram[] = [];
  const memLen = 65536 * 2;
  const mem = `(memory (export "memory") 2 2)`;
  for (const [op, size] of LOADS) {
    const ea = rng.pick([memLen - size + 1, memLen, memLen + rng.int(1000)]);
    out.push({ name: `${op} oob`, wat: task(`(drop (${op} (i32.const ${ea})))`, "", mem) });
  }
  for (const [op, size, t] of STORES) {
    const ea = memLen - size + 1 + rng.int(size);
    out.push({ name: `${op} oob`, wat: task(`(${op} (i32.const ${ea}) (${t}.const -1))`, "", mem) });
  }
  out.push({ name: "load addr+offset past 2^32", wat: task(`(drop (i64.load offset=0xfffffffc (i32.const 0xfffffff0)))`, "", mem) });
  out.push({ name: "load u32 address -1", wat: task(`(drop (i32.load8_u (i32.const -1)))`, "", mem) });
  out.push({ name: "store offset past end", wat: task(`(i32.store offset=0x7fffffff (i32.const 0) (i32.const 1))`, "", mem) });
  return out;
}

/** memory.grow at and past the limits, from 0 pages, with huge deltas; accesses after growth. */
export function growPrograms(rng: Rng): PropProgram[] {
  const out: PropProgram[] = [];
  for (const [min, max, limit] of [[0, 5, 4], [1, 65536, 40], [3, 3, 64], [0, 1, 1], [2, 20, 300]] as const) {
    const lines: string[] = [`(drop (memory.size))`, `(drop (memory.grow (i32.const 0)))`];
    let pages: number = min;
    for (let i = 0; i < 12; i++) {
      const delta = rng.pick([0, 1, 1, 2, 3, rng.int(40), -1, 0x7fffffff, 0x10000, max - pages, max - pages + 1]);
      lines.push(`(drop (memory.grow (i32.const ${delta})))`);
      const d = delta >>> 0;
      if (pages + d <= Math.min(max, limit, 65536)) pages += d;
      if (pages > 0) {
        const ea = address(rng, 8, pages * 65536);
        lines.push(`(i64.store (i32.const ${ea}) (i64.const ${operand(rng, 64)}))`, `(drop (i64.load (i32.const ${ea})))`, `(drop (memory.size))`);
      }
    }
    out.push({ name: `grow ${min}..${max} limit ${limit}`, wat: task(lines.join("\n"), "", `(memory (export "memory") ${min} ${max})`), limits: { memoryPages: limit } });
  }
  return out;
}

/** memory.copy / memory.fill with random (possibly distant, overlapping, unaligned) ranges. */
export function bulkProgram(rng: Rng, pages: number, n: number): PropProgram {
  const memLen = pages * 65536;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = rng.pick([0, 1, rng.int(33), rng.int(100), 32, 64]);
    const at = () => (rng.chance(0.3) ? memLen - len - rng.int(3) : rng.chance(0.5) ? rng.int(200) : rng.int(memLen - len + 1));
    const dst = Math.max(0, at()), src = rng.chance(0.3) ? Math.max(0, Math.min(memLen - len, dst + rng.int(40) - 20)) : Math.max(0, at());
    if (rng.chance(0.35)) lines.push(`(memory.fill (i32.const ${dst}) (i32.const ${operand(rng, 32)}) (i32.const ${len}))`);
    else lines.push(`(memory.copy (i32.const ${dst}) (i32.const ${src}) (i32.const ${len}))`);
  }
  const data = `(data (i32.const 0) "${Array.from(rng.bytes(300), (b) => "\\" + b.toString(16).padStart(2, "0")).join("")}")`;
  return { name: `bulk ${pages} pages`, wat: task(lines.join("\n"), data, `(memory (export "memory") ${pages} ${pages})`) };
}

/** A function with `n` locals of mixed types and a random sequence of get/set/tee; called with arguments. */
export function localsProgram(rng: Rng, n: number, ops: number): PropProgram {
  const types = Array.from({ length: n }, () => (rng.chance(0.5) ? "i32" : "i64"));
  const params = types.slice(0, Math.min(n, 3));
  const locals = types.slice(params.length);
  const lines: string[] = [];
  for (let i = 0; i < ops; i++) {
    const j = rng.int(n), t = types[j];
    const v = `(${t}.const ${operand(rng, t === "i32" ? 32 : 64)})`;
    switch (rng.int(3)) {
      case 0:
        lines.push(`(local.set ${j} ${v})`);
        break;
      case 1:
        lines.push(`(drop (local.get ${j}))`);
        break;
      default:
        lines.push(`(drop (local.tee ${j} ${v}))`);
    }
  }
  const args = params.map((t) => `(${t}.const ${operand(rng, t === "i32" ? 32 : 64)})`).join(" ");
  const f = `(func $f ${params.length ? `(param ${params.join(" ")})` : ""} ${locals.length ? `(local ${locals.join(" ")})` : ""} ${lines.join("\n")})`;
  return { name: `locals ${n}`, wat: task(`(call $f ${args}) (call $f ${args})`, f) };
}

/** `n` mutable globals of mixed types; random get/set. */
export function globalsProgram(rng: Rng, n: number, ops: number): PropProgram {
  const types = Array.from({ length: n }, () => (rng.chance(0.5) ? "i32" : "i64"));
  const decl = types.map((t, i) => `(global $g${i} (mut ${t}) (${t}.const ${operand(rng, t === "i32" ? 32 : 64)}))`).join("\n");
  const lines: string[] = [];
  for (let i = 0; i < ops; i++) {
    const j = rng.int(n), t = types[j];
    if (rng.chance(0.5)) lines.push(`(global.set $g${j} (${t}.const ${operand(rng, t === "i32" ? 32 : 64)}))`);
    else lines.push(`(drop (global.get $g${j}))`);
  }
  return { name: `globals ${n}`, wat: task(lines.join("\n"), decl) };
}

/** br_table (indices in and out of range), br_if, if/else, select, blocks leaving extra values (Nip). */
export function controlProgram(rng: Rng, n: number): PropProgram {
  const fns: string[] = [];
  const calls: string[] = [];
  for (let i = 0; i < n; i++) {
    const targets = 1 + rng.int(6);
    const labels = Array.from({ length: targets + 1 }, (_, j) => `$b${rng.int(targets + 1) === 0 ? j : targets - j}`);
    let body = `(i32.const 7) (br_table ${labels.join(" ")} (local.get 0))`;
    for (let j = 0; j <= targets; j++) body = `(block $b${j} (result i32) ${body}) (drop) (return (i32.const ${j}))`;
    fns.push(`(func $bt${i} (param i32) (result i32) ${body} (i32.const -1))`);
    for (let k = 0; k < 4; k++) {
      const idx = rng.pick([0, 1, targets - 1, targets, targets + 1, -1, 0x7fffffff, rng.int(targets + 2)]);
      calls.push(`(drop (call $bt${i} (i32.const ${idx})))`);
    }
  }
  for (let i = 0; i < n; i++) {
    const c = operand(rng, 32);
    calls.push(`(drop (select (i64.const ${operand(rng, 64)}) (i64.const ${operand(rng, 64)}) (i32.const ${c})))`);
    calls.push(`(drop (select (i32.const ${operand(rng, 32)}) (i32.const ${operand(rng, 32)}) (i32.const ${rng.pick([0, 1, -1])})))`);
    calls.push(`(drop (if (result i32) (i32.const ${c}) (then (i32.const 1)) (else (i32.const 2))))`);
    calls.push(`(drop (block (result i64) (br_if 0 (i64.const ${operand(rng, 64)}) (i32.const ${c})) (drop) (i64.const 2)))`);
    calls.push(`(drop (block (result i32) (i32.const 10) (br 0 (i32.const 11) (i32.const 12))))`);
  }
  calls.push(`(block $out (loop $l (br_if $out (i32.eqz (global.get $n))) (global.set $n (i32.sub (global.get $n) (i32.const 1))) (br $l)))`);
  return { name: "control", wat: task(calls.join("\n"), `(global $n (mut i32) (i32.const 9)) ${fns.join("\n")}`) };
}

/** call_indirect over a table with holes: successful calls, then each trap in its own program. */
export function indirectPrograms(rng: Rng): PropProgram[] {
  const out: PropProgram[] = [];
  for (const len of [1, 2, 3, 5, 9]) {
    const slots = Array.from({ length: len }, (_, i) => (i === 0 || rng.chance(0.7) ? rng.pick(["$fa", "$fb", "$fc"]) : null));
    const elems = slots.map((s, i) => (s ? `(elem (i32.const ${i}) ${s})` : "")).join(" ");
    const extra = `(type $ta (func (param i32) (result i32))) (type $tb (func (param i64) (result i64))) (type $tc (func))
      (table ${len} funcref) ${elems}
      (func $fa (type $ta) (i32.add (local.get 0) (i32.const 1)))
      (func $fb (type $tb) (i64.mul (local.get 0) (i64.const 3)))
      (func $fc (type $tc))`;
    const ok: string[] = [];
    slots.forEach((s, i) => {
      if (s === "$fa") ok.push(`(drop (call_indirect (type $ta) (i32.const ${operand(rng, 32)}) (i32.const ${i})))`);
      if (s === "$fb") ok.push(`(drop (call_indirect (type $tb) (i64.const ${operand(rng, 64)}) (i32.const ${i})))`);
      if (s === "$fc") ok.push(`(call_indirect (type $tc) (i32.const ${i}))`);
    });
    out.push({ name: `call_indirect table ${len}`, wat: task(ok.join("\n"), extra) });
    const wrong = slots.findIndex((s) => s !== null && s !== "$fc");
    if (wrong >= 0) out.push({ name: `call_indirect mismatch ${len}`, wat: task(`(call_indirect (type $tc) (i32.const ${wrong}))`, extra) });
    const hole = slots.indexOf(null);
    if (hole >= 0) out.push({ name: `call_indirect null ${len}`, wat: task(`(call_indirect (type $tc) (i32.const ${hole}))`, extra) });
    const undef = rng.pick([len, len + 1, -1, 0x7fffffff]);
    out.push({ name: `call_indirect undefined ${len}`, wat: task(`(call_indirect (type $tc) (i32.const ${undef}))`, extra) });
  }
  return out;
}

/**
 * Tables, segments and references: 1..3 tables (some with a maximum), passive element segments
 * with nulls, passive data segments, and a random run of table.get/set/size/grow/fill/copy/init,
 * elem.drop, data.drop, memory.init (near the memory's end too) and call_indirect through any table.
 * Operands stay in bounds (tracked here) except the last instruction of some programs, which is
 * out of bounds on purpose (every table trap).
 */
export function tablePrograms(rng: Rng, count: number, ops: number): PropProgram[] {
  const out: PropProgram[] = [];
  const funcs = ["$fa", "$fb", "$fc"];
  for (let p = 0; p < count; p++) {
    const nT = 1 + rng.int(3);
    const len = Array.from({ length: nT }, () => rng.int(12));
    const max = len.map((l) => (rng.chance(0.5) ? l + rng.int(20) : null));
    const segs = Array.from({ length: 1 + rng.int(3) }, () => Array.from({ length: rng.int(6) }, () => (rng.chance(0.2) ? null : rng.pick(funcs))));
    const datas = Array.from({ length: 1 + rng.int(2) }, () => rng.bytes(rng.int(100)));
    const segLen = segs.map((s) => s.length), dataLen = datas.map((d) => d.length);
    const ref = () => (rng.chance(0.2) ? "(ref.null func)" : `(ref.func ${rng.pick(funcs)})`);
    const inRange = (n: number) => rng.int(n + 1);
    const body: string[] = [];
    for (let i = 0; i < ops; i++) {
      const t = rng.int(nT);
      switch (rng.int(11)) {
        case 0:
          if (len[t] > 0) body.push(`(drop (table.get ${t} (i32.const ${rng.int(len[t])})))`);
          break;
        case 1:
          if (len[t] > 0) body.push(`(table.set ${t} (i32.const ${rng.int(len[t])}) ${ref()})`);
          break;
        case 2:
          body.push(`(drop (table.size ${t}))`);
          break;
        case 3: {
          const n = rng.pick([0, 1, 2, 5, 30]);
          const ok = len[t] + n <= Math.min(max[t] ?? 1 << 20, 1 << 20);
          body.push(`(drop (table.grow ${t} ${ref()} (i32.const ${n})))`);
          if (ok) len[t] += n;
          break;
        }
        case 4: {
          const i = inRange(len[t]), n = inRange(len[t] - i);
          body.push(`(table.fill ${t} (i32.const ${i}) ${ref()} (i32.const ${n}))`);
          break;
        }
        case 5: {
          const u = rng.int(nT), n = inRange(Math.min(len[t], len[u])), d = inRange(len[t] - n), s = inRange(len[u] - n);
          body.push(`(table.copy ${t} ${u} (i32.const ${d}) (i32.const ${s}) (i32.const ${n}))`);
          break;
        }
        case 6: {
          const e = rng.int(segs.length), n = inRange(Math.min(len[t], segLen[e])), d = inRange(len[t] - n), s = inRange(segLen[e] - n);
          body.push(`(table.init ${t} ${e} (i32.const ${d}) (i32.const ${s}) (i32.const ${n}))`);
          break;
        }
        case 7: {
          const e = rng.int(segs.length);
          if (rng.chance(0.3)) (body.push(`(elem.drop ${e})`), (segLen[e] = 0));
          break;
        }
        case 8: {
          const x = rng.int(datas.length), n = inRange(dataLen[x]), s = inRange(dataLen[x] - n);
          const d = rng.chance(0.3) ? 65536 - n : rng.int(3000);
          body.push(`(memory.init ${x} (i32.const ${d}) (i32.const ${s}) (i32.const ${n}))`);
          if (rng.chance(0.15)) (body.push(`(data.drop ${x})`), (dataLen[x] = 0));
          break;
        }
        case 9:
          if (len[t] > 0) body.push(`(drop (ref.is_null (table.get ${t} (i32.const ${rng.int(len[t])}))))`);
          break;
        default:
          // call_indirect may trap (null, mismatch): only as the last instruction
          if (i === ops - 1 && len[t] > 0) body.push(`(drop (call_indirect ${t} (type $ta) (i32.const 7) (i32.const ${rng.int(len[t] + 1)})))`);
      }
    }
    if (p < 8) {
      // programs 0..7 end with each kind of out-of-bounds access in turn
      const t = rng.int(nT);
      body.push(
        ([
          `(drop (table.get ${t} (i32.const ${len[t] + rng.int(3)})))`,
          `(table.set ${t} (i32.const ${len[t]}) ${ref()})`,
          `(table.fill ${t} (i32.const ${len[t]}) ${ref()} (i32.const 1))`,
          `(table.copy ${t} ${rng.int(nT)} (i32.const 0) (i32.const ${rng.int(2)}) (i32.const ${len[t] + 1}))`,
          `(table.init ${t} 0 (i32.const 0) (i32.const ${segLen[0]}) (i32.const 1))`,
          `(memory.init 0 (i32.const 65535) (i32.const 0) (i32.const ${dataLen[0] + 2}))`,
          `(memory.init 0 (i32.const 0) (i32.const ${dataLen[0]}) (i32.const 1))`,
          `(drop (call_indirect ${t} (type $ta) (i32.const 7) (i32.const ${len[t]})))`,
        ])[p],
      );
    }
    const hex = (b: Uint8Array) => Array.from(b, (x) => "\\" + x.toString(16).padStart(2, "0")).join("");
    const extra = `(type $ta (func (param i32) (result i32)))
      ${len.map((l, i) => `(table ${l} ${max[i] ?? ""} funcref)`).join(" ")}
      ${segs.map((s) => `(elem funcref ${s.map((f) => (f ? `(ref.func ${f})` : "(ref.null func)")).join(" ")})`).join(" ")}
      ${datas.map((d) => `(data "${hex(d)}")`).join(" ")}
      (elem declare func $fa $fb $fc)
      (func $fa (type $ta) (i32.add (local.get 0) (i32.const 1)))
      (func $fb (param i64) (result i64) (i64.mul (local.get 0) (i64.const 3)))
      (func $fc)`;
    out.push({ name: `tables ${p}`, wat: task(body.join("\n"), extra) });
  }
  return out;
}

/** Recursion into the call-depth and value-stack limits (exactly at the limit, then past it). */
export function limitPrograms(rng: Rng): PropProgram[] {
  const rec = `(type $r (func (param i32) (result i32))) (table 1 funcref) (elem (i32.const 0) $rec)
    (func $rec (param i32) (result i32) (local i64 i64 i64 i64 i64)
      (i32.add (i32.const 1) (if (result i32) (local.get 0)
        (then (if (result i32) (i32.and (local.get 0) (i32.const 1))
          (then (call $rec (i32.sub (local.get 0) (i32.const 1))))
          (else (call_indirect (type $r) (i32.sub (local.get 0) (i32.const 1)) (i32.const 0)))))
        (else (i32.const 0)))))`;
  const out: PropProgram[] = [];
  for (let i = 0; i < 3; i++) {
    const depth = 3 + rng.int(12);
    out.push({ name: `call depth ${depth}`, wat: task(`(drop (call $rec (i32.const 1000)))`, rec), limits: { callDepth: depth } });
    const stack = 4 + rng.int(30);
    out.push({ name: `stack height ${stack}`, wat: task(`(drop (call $rec (i32.const 1000)))`, rec), limits: { stackHeight: stack } });
  }
  out.push({ name: "recursion within limits", wat: task(`(drop (call $rec (i32.const 9)))`, rec), limits: { callDepth: 11, stackHeight: 100 } });
  out.push({ name: "step limit", wat: task(`(loop $l (br $l))`), limits: { steps: 25 + rng.int(20) } });
  out.push({ name: "unreachable", wat: task(`(drop (i32.const 1)) unreachable`) });
  out.push({ name: "abort", wat: task(`(call $abort (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4))`) });
  return out;
}

/** input_size / input_read / output_write with random ranges; then each host trap in its own program. */
export function ioPrograms(rng: Rng): PropProgram[] {
  const out: PropProgram[] = [];
  for (const inLen of [0, 1, 31, 32, 33, 77, 200, 1000]) {
    const input = rng.bytes(inLen);
    const outLimit = rng.pick([0, 1, 32, 70, 200, 65536]);
    const lines = [`(drop (call $input_size))`];
    let outLen = 0;
    for (let i = 0; i < 6; i++) {
      const off = rng.int(inLen + 1), n = rng.int(inLen - off + 1);
      const dst = rng.chance(0.2) ? 65536 - n : rng.int(2000);
      lines.push(`(call $input_read (i32.const ${dst}) (i32.const ${off}) (i32.const ${n}))`);
      const room = outLimit - outLen;
      const w = rng.chance(0.3) && room <= 200 ? room : rng.int(Math.min(room, 90) + 1);
      const src = rng.chance(0.2) ? 65536 - w : rng.int(2100);
      lines.push(`(call $output_write (i32.const ${src}) (i32.const ${w}))`);
      outLen += w;
    }
    out.push({ name: `io input ${inLen} output limit ${outLimit}`, wat: task(lines.join("\n")), input, limits: { outputBytes: outLimit } });
  }
  const input = rng.bytes(50);
  out.push({ name: "input_read past end", wat: task(`(call $input_read (i32.const 0) (i32.const 40) (i32.const 11))`), input });
  out.push({ name: "input_read offset -1", wat: task(`(call $input_read (i32.const 0) (i32.const -1) (i32.const 2))`), input });
  out.push({ name: "input_read n = 0 at the end", wat: task(`(call $input_read (i32.const 65536) (i32.const 50) (i32.const 0))`), input });
  out.push({ name: "input_read dst past end", wat: task(`(call $input_read (i32.const 65530) (i32.const 0) (i32.const 7))`), input });
  out.push({ name: "output_write past limit", wat: task(`(call $output_write (i32.const 0) (i32.const 20)) (call $output_write (i32.const 0) (i32.const 13))`), limits: { outputBytes: 32 } });
  out.push({ name: "output_write src past end", wat: task(`(call $output_write (i32.const 65535) (i32.const 2))`) });
  out.push({ name: "output_write src -1", wat: task(`(call $output_write (i32.const -1) (i32.const 1))`) });
  for (const code of [0n, 1n, -1n, -0x80000000n, operand(rng, 32)])
    out.push({ name: `exit ${code}`, wat: task(`(call $output_write (i32.const 0) (i32.const 5)) (call $exit (i32.const ${code})) unreachable`) });
  return out;
}

/** The whole property corpus for one seed. */
export function propertyPrograms(seed: number): PropProgram[] {
  const rng = new Rng(seed);
  return [
    ...numericPrograms(rng, 14),
    memoryProgram(rng, 1, 120),
    memoryProgram(rng, 3, 60),
    memoryProgram(rng, 37, 60),
    ...oobPrograms(rng),
    ...growPrograms(rng),
    bulkProgram(rng, 1, 25),
    bulkProgram(rng, 5, 15),
    localsProgram(rng, 1, 20),
    localsProgram(rng, 5, 40),
    localsProgram(rng, 17, 60),
    localsProgram(rng, 300, 60),
    globalsProgram(rng, 1, 10),
    globalsProgram(rng, 6, 30),
    globalsProgram(rng, 41, 40),
    controlProgram(rng, 6),
    ...indirectPrograms(rng),
    ...tablePrograms(rng, 10, 40),
    ...limitPrograms(rng),
    ...ioPrograms(rng),
    ...floatPropertyPrograms(Number(rng.u64() & 0xffffffffn), 12), // test/float/programs.ts
  ];
}
