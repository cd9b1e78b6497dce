/**
 * The `spectest` host module every WebAssembly spec script may import from:
 * print functions (no-ops here), global_i32 = 666, global_f32 / global_f64 = 666.6,
 * a funcref table of 10 elements (max 20) and one memory page (max 2).
 * A fresh one is made per script, like the reference interpreter does per run.
 */
import { Global, Memory, Table, type ExternVal, type FuncRef } from "../../interpreter/instance.js";
import type { ValType } from "../../interpreter/program.js";

function printFunc(params: ValType[]): FuncRef {
  return { type: { params, results: [] }, call: () => [] };
}

export function f32Bits(x: number): bigint {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x);
  return BigInt(dv.getUint32(0));
}

export function f64Bits(x: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return dv.getBigUint64(0);
}

export function createSpectest(): Map<string, ExternVal> {
  const m = new Map<string, ExternVal>();
  m.set("print", printFunc([]));
  m.set("print_i32", printFunc(["i32"]));
  m.set("print_i64", printFunc(["i64"]));
  m.set("print_f32", printFunc(["f32"]));
  m.set("print_f64", printFunc(["f64"]));
  m.set("print_i32_f32", printFunc(["i32", "f32"]));
  m.set("print_f64_f64", printFunc(["f64", "f64"]));
  m.set("global_i32", new Global("i32", false, 666n));
  m.set("global_i64", new Global("i64", false, 666n));
  m.set("global_f32", new Global("f32", false, f32Bits(666.6)));
  m.set("global_f64", new Global("f64", false, f64Bits(666.6)));
  m.set("table", new Table("funcref", 10, 20));
  m.set("memory", new Memory(1, 2));
  return m;
}
