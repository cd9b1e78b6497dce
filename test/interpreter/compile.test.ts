/**
 * Unit tests of compile() (interpreter/decode.ts + interpreter/lower.ts): exact lowered sequences
 * for control flow, multi-value branches, prologues, stubs and max heights, references, tables and
 * segments; float and import policies; a sample of malformed and invalid modules with their error
 * kind and reason; the later proposals refused by name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compile, type CompileOptions } from "../../interpreter/lower.js";
import { Op, Trap } from "../../interpreter/isa.js";
import { WasmError, type Program } from "../../interpreter/program.js";
import { bin, leb, section } from "../wasm-bytes.js";

type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
let wabt: Wabt;
beforeAll(async () => {
  const m = (await import("wabt")) as unknown as { default: () => Promise<Wabt> };
  wabt = await m.default();
});

const FEATURES = { sign_extension: true, bulk_memory: true, mutable_globals: true, multi_value: true, reference_types: true, sat_float_to_int: true };

function wat(text: string): Uint8Array {
  const mod = wabt.parseWat("test.wat", text, FEATURES);
  try {
    return mod.toBinary({}).buffer.slice();
  } finally {
    mod.destroy();
  }
}

const EMBED: CompileOptions = { imports: "embed" };

function lower(text: string, opts: CompileOptions = EMBED): Program {
  return compile(wat(text), opts);
}

const NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(Op)) NAMES[v] = k;
Object.assign(NAMES, { 0x28: "i32.load", 0x29: "i64.load", 0x36: "i32.store", 0x37: "i64.store", 0x45: "i32.eqz", 0x6a: "i32.add" });
Object.assign(NAMES, { 0x2a: "f32.load", 0x38: "f32.store", 0x39: "f64.store", 0x92: "f32.add", 0xa8: "i32.trunc_f32_s", 0xcc: "TruncSatF32S+7" });
const JUMPS = new Set<number>([Op.Jump, Op.JumpIf, Op.JumpUnless]);

/**
 * The body of function f as readable strings. Jump targets are relative to the function entry
 * ("Jump @7"); other immediates are printed when non-zero.
 */
function body(p: Program, f: number): string[] {
  const entry = p.funcs[f].entry;
  const ends = p.funcs.map((g) => g.entry).filter((e) => e > entry);
  const end = ends.length ? Math.min(...ends) : p.length;
  const out: string[] = [];
  for (let pc = entry; pc < end; pc++) out.push(show(p, pc, entry));
  return out;
}

const WITH_A = new Set<number>([Op.LocalGet, Op.LocalSet, Op.LocalTee, Op.GlobalGet, Op.GlobalSet, Op.GlobalGetExt, Op.GlobalSetExt,
  Op.I32Const, Op.F32Const, Op.BrTable, Op.CallHost, Op.Trap, Op.RefFunc]);
/** Instructions whose three immediates are printed. */
const WITH_ABC = new Set<number>([Op.CallIndirect, Op.TableGet, Op.TableSet, Op.TableSize, Op.TableGrow, Op.TableFill, Op.TableCopy, Op.TableInit, Op.SegmentDrop, Op.MemoryInit]);
for (let op = 0x28; op <= 0x3e; op++) WITH_A.add(op);

/** One instruction: mnemonic and the immediates that mean something for it. */
function show(p: Program, pc: number, base = 0): string {
  const [op, a, b, c] = p.code.subarray(pc * 4, pc * 4 + 4);
  const name = NAMES[op] ?? `0x${op.toString(16)}`;
  if (JUMPS.has(op)) return `${name} @${a - base}`;
  if (op === Op.Call || WITH_ABC.has(op)) return `${name} ${a} ${b} ${c}`;
  if (op === Op.Halt && (a || b)) return `${name} ${a} ${b}`;
  if (op === Op.I64Const || op === Op.F64Const) return `${name} ${a} ${b}`;
  if (WITH_A.has(op)) return `${name} ${a}`;
  expect([a, b, c]).toEqual([0, 0, 0]);
  return name;
}

function err(f: () => unknown): WasmError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WasmError);
    return e as WasmError;
  }
  throw new Error("expected a WasmError, compile succeeded");
}

// Hand-made binaries (test/wasm-bytes.ts).
const TYPE_V_V = section(1, [1, 0x60, 0, 0]);
const FUNC_1 = section(3, [1, 0]);
/** Code section with one body (given as its bytes after the local declarations, incl. end). */
function code1(instrs: number[], locals: number[] = [0]): number[] {
  const b = [...locals, ...instrs];
  return section(10, [1, ...leb(b.length), ...b]);
}

// ---------------------------------------------------------------------------------------------

describe("layout", () => {
  it("places the task entry stub, invoke stubs and bodies, and patches call immediates", () => {
    const p = lower(`(module
      (func $helper (param i32 i32) (result i32) (local i64) (i32.add (local.get 0) (local.get 1)))
      (func $init)
      (func (export "main") (drop (call $helper (i32.const 1) (i32.const 2))))
      (start $init))`);
    const [h, init, main] = p.funcs;
    // invoke stubs: function f at pc 2f, [Call f, Halt typeId f+1] (the code leaf a reference to f stands for)
    expect([h.stub, init.stub, main.stub]).toEqual([0, 2, 4]);
    expect(show(p, h.stub)).toBe(`Call ${h.entry} 3 2`);
    expect(show(p, h.stub + 1)).toBe("Halt 0 1");
    expect(show(p, main.stub + 1)).toBe("Halt 1 3");
    // entry stub after them: Call start, Call main, Halt
    expect(p.taskEntry).toBe(6);
    expect(p.start).toBe(1);
    expect([6, 7, 8].map((pc) => show(p, pc))).toEqual([`Call ${init.entry} 0 0`, `Call ${main.entry} 0 2`, "Halt"]);
    expect(h.entry).toBe(9);
    expect(h.numLocals).toBe(3);
    expect(h.maxHeight).toBe(2);
    expect(body(p, 0)).toEqual(["LocalSet 1", "LocalSet 0", "LocalGet 0", "LocalGet 1", "i32.add", "Return"]);
    // call inside main: a = entry, b = numLocals, c = maxHeight of the callee
    expect(body(p, 2)).toEqual(["I32Const 1", "I32Const 2", `Call ${h.entry} 3 2`, "Drop", "Return"]);
    expect(p.funcs.map((f) => f.typeId)).toEqual([0, 1, 1]);
    expect(p.sourceOffsets!.length).toBe(p.length);
    expect(Array.from(p.sourceOffsets!.subarray(0, 9))).toEqual(Array(9).fill(-1));
    expect(p.sourceOffsets![h.entry + 2]).toBeGreaterThan(0);
  });

  it("has no entry stub without an exported main of type [] -> []", () => {
    const p = lower(`(module (func (export "main") (param i32)))`);
    expect(p.taskEntry).toBe(-1);
    expect(p.funcs[0].stub).toBe(0);
  });

  it("uses CallHost stubs for imported functions in embed mode", () => {
    const p = lower(`(module (import "m" "f" (func (param i32))) (func (export "g") (call 0 (i32.const 7))))`);
    expect(show(p, p.funcs[0].stub)).toBe("CallHost 0");
    expect(p.funcs[0]).toMatchObject({ entry: -1, import: { module: "m", name: "f" }, numLocals: 1 });
    expect(body(p, 1)).toEqual(["I32Const 7", "CallHost 0", "Return"]);
  });
});

describe("control flow lowering", () => {
  it("br removes values with Nip (label with a value) or Drop (void label)", () => {
    const p = lower(`(module (func (result i32)
      (block (result i32) (i32.const 1) (i32.const 2) (i32.const 3) (br 0))
      (block (i32.const 4) (i64.const 5) (br 0))))`);
    expect(body(p, 0)).toEqual([
      "I32Const 1",
      "I32Const 2",
      "I32Const 3",
      "Nip",
      "Nip",
      "Jump @6",
      "I32Const 4",
      "I64Const 5 0",
      "Drop",
      "Drop",
      "Jump @11",
      "Return",
    ]);
    expect(p.funcs[0].maxHeight).toBe(3);
  });

  it("br to a loop jumps back to the loop's first instruction, dropping loop-local values", () => {
    const p = lower(`(module (func (param i32)
      (loop $l (i32.const 1) (br_if $l (local.get 0)) (drop) (i32.const 2) (br $l))))`);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "I32Const 1", // @1: loop start
      "LocalGet 0",
      "JumpUnless @6",
      "Drop",
      "Jump @1",
      "Drop",
      "I32Const 2",
      "Drop",
      "Jump @1",
      "Return",
    ]);
  });

  it("br_if without drops is a single JumpIf, including to the function label", () => {
    const p = lower(`(module (func (param i32) (result i32)
      (block (br_if 0 (local.get 0)))
      (br_if 0 (i32.const 9) (local.get 0))
      (drop)
      (i32.const 3)))`);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "LocalGet 0",
      "JumpIf @3",
      "I32Const 9",
      "LocalGet 0",
      "JumpIf @8", // to the function's final Return
      "Drop",
      "I32Const 3",
      "Return",
    ]);
  });

  it("br_if with drops: JumpUnless skip, Nip/Drop x d, Jump target", () => {
    const p = lower(`(module (func (param i32) (result i32)
      (block (result i32) (i32.const 1) (i32.const 2) (br_if 0 (local.get 0)) (drop) (drop) (i32.const 5))))`);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "I32Const 1",
      "I32Const 2",
      "LocalGet 0",
      "JumpUnless @7",
      "Nip",
      "Jump @10",
      "Drop",
      "Drop",
      "I32Const 5",
      "Return",
    ]);
  });

  it("br_table: entries jump directly when no drops are needed, else to out-of-line stubs", () => {
    const p = lower(`(module (func (param i32) (result i32)
      (i32.const 7)
      (block $a (result i32)
        (i32.const 8)
        (block $b (result i32)
          (i32.const 9)
          (br_table $b $a 2 $b (local.get 0)))
        (i32.add))
      (i32.add)))`);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "I32Const 7",
      "I32Const 8",
      "I32Const 9",
      "LocalGet 0",
      "BrTable 3",
      "Jump @15", // $b: no drops, straight to its end
      "Jump @10", // $a: stub
      "Jump @12", // function label: stub
      "Jump @15", // default $b
      "Nip", // stub for $a
      "Jump @16",
      "Nip", // stub for the function label
      "Nip",
      "Return",
      "i32.add", // end of $b
      "i32.add", // end of $a
      "Return",
    ]);
    expect(p.funcs[0].maxHeight).toBe(4);
  });

  it("br_table exact sequence with Nip stubs and a function-label stub", () => {
    const p = lower(`(module (func (param i32) (result i32)
      (block $b (result i32)
        (i32.const 1) (i32.const 2)
        (br_table $b 1 $b (local.get 0)))))`);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "I32Const 1",
      "I32Const 2",
      "LocalGet 0",
      "BrTable 2",
      "Jump @8", // $b -> stub
      "Jump @10", // function label -> stub
      "Jump @8", // default $b (shares the stub)
      "Nip",
      "Jump @12",
      "Nip",
      "Return",
      "Return",
    ]);
    expect(p.funcs[0].maxHeight).toBe(3);
  });

  it("if/else: JumpUnless to the else part, Jump over it at the end of the then part", () => {
    const p = lower(`(module (func (param i32) (result i32)
      (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2)))
      (if (local.get 0) (then (local.set 0 (i32.const 3))))))`);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "LocalGet 0",
      "JumpUnless @5",
      "I32Const 1",
      "Jump @6",
      "I32Const 2",
      "LocalGet 0",
      "JumpUnless @10",
      "I32Const 3",
      "LocalSet 0",
      "Return",
    ]);
    expect(p.funcs[0].maxHeight).toBe(2);
  });

  it("if whose then part ends in a branch emits no Jump over the else part", () => {
    const p = lower(`(module (func (param i32)
      (if (local.get 0) (then (return)) (else (nop)))))`);
    expect(body(p, 0)).toEqual(["LocalSet 0", "LocalGet 0", "JumpUnless @4", "Return", "Return"]);
  });

  it("return drops down to the results; the body always ends with Return", () => {
    const p = lower(`(module
      (func (result i32) (i32.const 1) (i32.const 2) (i32.const 3) (return))
      (func (i32.const 1) (i64.const 2) (return))
      (func (unreachable)))`);
    expect(body(p, 0)).toEqual(["I32Const 1", "I32Const 2", "I32Const 3", "Nip", "Nip", "Return", "Return"]);
    expect(body(p, 1)).toEqual(["I32Const 1", "I64Const 2 0", "Drop", "Drop", "Return", "Return"]);
    expect(body(p, 2)).toEqual([`Trap ${Trap.Unreachable}`, "Return"]);
  });

  it("dead code after unreachable/br/return is validated but not emitted, nested blocks included", () => {
    const p = lower(`(module (func (result i32)
      (block (result i32)
        (br 0 (i32.const 1))
        (i32.const 2) (block (drop (i32.const 3)) (loop (br 0))) (i32.add (i32.const 5)))))`);
    expect(body(p, 0)).toEqual(["I32Const 1", "Jump @2", "Return"]);
    expect(p.funcs[0].maxHeight).toBe(1);
    // ... and dead code is still validated
    expect(err(() => lower(`(module (func (unreachable) (block (i64.add (i32.const 1) (i32.const 2)) (drop))))`)).kind).toBe(
      "invalid",
    );
  });

  it("maxHeight counts transient heights of the live body only", () => {
    const p = lower(`(module (memory 1) (func (param i32 i32 i32)
      (i32.store (local.get 0) (i32.add (local.get 1) (i32.mul (local.get 2) (i32.const 3))))
      (unreachable) (drop (i32.const 1)) (drop (i32.const 1)) (drop (i32.add (i32.const 1) (i32.const 1)))))`);
    expect(p.funcs[0].maxHeight).toBe(4);
    expect(p.funcs[0].numLocals).toBe(3);
  });
});

describe("instructions", () => {
  it("lowers memory, const, sign-extension and bulk-memory instructions", () => {
    const p = lower(`(module (memory 1) (func (param i32) (result i64)
      (i32.store8 offset=4294967295 (local.get 0) (i32.extend8_s (i32.const -1)))
      (memory.copy (i32.const 0) (i32.const 8) (i32.const 4))
      (memory.fill (i32.const 0) (i32.const 8) (i32.const 4))
      (drop (memory.grow (memory.size)))
      (i64.extend32_s (i64.load offset=16 align=4 (local.get 0)))
      (i64.const -2) (i64.const 0x123456789) (drop) (drop)))`);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "LocalGet 0",
      "I32Const -1",
      "0xc0",
      "0x3a -1",
      "I32Const 0",
      "I32Const 8",
      "I32Const 4",
      "MemoryCopy",
      "I32Const 0",
      "I32Const 8",
      "I32Const 4",
      "MemoryFill",
      "MemorySize",
      "MemoryGrow",
      "Drop",
      "LocalGet 0",
      "i64.load 16",
      "0xc4",
      "I64Const -2 -1",
      "I64Const 591751049 1",
      "Drop",
      "Drop",
      "Return",
    ]);
  });

  it("uses module-local canonical type ids for call_indirect", () => {
    const p = lower(`(module (type $a (func (param i32))) (type $b (func)) (type $c (func (param i32)))
      (table 1 funcref) (func (type $c) (call_indirect (type $c) (local.get 0) (i32.const 0))))`);
    expect(p.funcs[0]).toMatchObject({ typeIndex: 2, typeId: 0 });
    expect(body(p, 0)).toEqual(["LocalSet 0", "LocalGet 0", "I32Const 0", "CallIndirect 0 0 1", "Return"]); // type 0, table 0, N = 1
  });

  it("maps globals to slots: imported ones use GlobalGetExt/SetExt in embed mode", () => {
    const p = lower(`(module
      (import "m" "g0" (global $g0 (mut i32)))
      (import "m" "g1" (global $g1 i32))
      (global $d0 i64 (i64.const -5))
      (global $d1 (mut i32) (global.get $g1))
      (func (global.set $g0 (global.get $g1)) (global.set $d1 (i32.wrap_i64 (global.get $d0)))))`);
    expect(p.globalSlot).toEqual([0, 1, 0, 1]);
    expect(p.globals.map((g) => [g.type, g.mutable, !!g.import])).toEqual([
      ["i32", true, true],
      ["i32", false, true],
      ["i64", false, false],
      ["i32", true, false],
    ]);
    expect(p.globals[2].init).toEqual({ kind: "const", type: "i64", value: -5n });
    expect(p.globals[3].init).toEqual({ kind: "global", index: 1 });
    expect(body(p, 0)).toEqual(["GlobalGetExt 1", "GlobalSetExt 0", "GlobalGet 0", "0xa7", "GlobalSet 1", "Return"]);
  });

  it("lowers memory.init and data.drop to the data segment's entry of the tables tree", () => {
    // 1 table, 1 element segment, 2 data segments: data segment x is entry 2 + x, N = 4
    const p = lower(`(module (memory 1) (table 1 funcref) (elem func) (data "ab") (data "cd")
      (func (memory.init 1 (i32.const 0) (i32.const 0) (i32.const 2)) (data.drop 0) (elem.drop 0)))`);
    expect(body(p, 0)).toEqual(["I32Const 0", "I32Const 0", "I32Const 2", "MemoryInit 3 0 4", "SegmentDrop 2 0 4", "SegmentDrop 1 0 4", "Return"]);
  });

  it("refuses memory.init without the data count section (a malformation, reported before a validation error)", () => {
    // an export of an unknown function (invalid) and memory.init without the data count section (malformed)
    const e2 = err(() =>
      compile(bin(TYPE_V_V, FUNC_1, section(5, [1, 0, 1]), section(7, [1, 1, 0x61, 0, 5]), code1([0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 8, 0, 0, 0x0b]), section(11, [1, 1, 0])), EMBED),
    );
    expect([e2.kind, e2.reason]).toEqual(["malformed", expect.stringMatching(/^data count section required/)]);
    const e = err(() =>
      compile(bin(TYPE_V_V, FUNC_1, section(5, [1, 0, 1]), code1([0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 8, 0, 0, 0x0b]), section(11, [1, 1, 0])), EMBED),
    );
    expect([e.kind, e.reason]).toEqual(["malformed", expect.stringMatching(/^data count section required/)]);
  });
});

describe("floats", () => {
  const src = `(module (memory 1) (func (param i32) (result i32)
    (f32.store (local.get 0) (f32.add (f32.const 1.5) (f32.load offset=4 (local.get 0))))
    (f64.store (local.get 0) (f64.const -0))
    (i32.reinterpret_f32 (f32.reinterpret_i32 (local.get 0)))))`;

  it("lowers float instructions to their own steps: consts, loads/stores, arithmetic; reinterpret to nothing", () => {
    const p = lower(src);
    expect(body(p, 0)).toEqual([
      "LocalSet 0",
      "LocalGet 0",
      `F32Const ${0x3fc00000}`,
      "LocalGet 0",
      "f32.load 4",
      "f32.add",
      "f32.store 0",
      "LocalGet 0",
      "F64Const 0 -2147483648",
      "f64.store 0",
      "LocalGet 0",
      "Return",
    ]);
  });

  it("lowers trunc_sat to 0xc5..0xcc, and floats are accepted by default", () => {
    const p = compile(
      wat(`(module (func (export "main") (drop (i64.trunc_sat_f64_u (f64.const 1))) (drop (i32.trunc_f32_s (f32.const 1)))))`),
    );
    expect(body(p, 0)).toEqual(["F64Const 0 1072693248", "TruncSatF32S+7", "Drop", `F32Const ${0x3f800000}`, "i32.trunc_f32_s", "Drop", "Return"]);
  });
});

describe("task imports", () => {
  const HOST = `
    (import "truewasm" "input_size" (func $size (result i32)))
    (import "truewasm" "input_read" (func $read (param i32 i32 i32)))
    (import "truewasm" "output_write" (func $write (param i32 i32)))
    (import "env" "abort" (func $abort (param i32 i32 i32 i32)))`;

  it("lowers calls to the host ABI to machine instructions", () => {
    const p = lower(
      `(module ${HOST} (memory 1)
        (func (export "main")
          (call $read (i32.const 0) (i32.const 0) (call $size))
          (call $write (i32.const 0) (i32.const 4))
          (call $abort (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))`,
      { imports: "task" },
    );
    expect(p.funcs.slice(0, 4).map((f) => f.hostOp)).toEqual(["input_size", "input_read", "output_write", "abort"]);
    expect(body(p, 4)).toEqual([
      "I32Const 0",
      "I32Const 0",
      "InputSize",
      "InputRead",
      "I32Const 0",
      "I32Const 4",
      "OutputWrite",
      "I32Const 0",
      "I32Const 0",
      "I32Const 0",
      "I32Const 0",
      `Trap ${Trap.Abort}`,
      "Return",
    ]);
    expect(p.code.includes(Op.CallHost)).toBe(false);
  });

  it("rejects any other import, wrong signatures, and host functions escaping", () => {
    let e = err(() => lower(`(module (import "env" "seed" (func (result i32))))`, { imports: "task" }));
    expect([e.kind, e.reason]).toEqual(["unlinkable", expect.stringMatching(/unknown import "env"."seed"/)]);
    e = err(() => lower(`(module (import "truewasm" "input_size" (func (result i64))))`, { imports: "task" }));
    expect([e.kind, e.reason]).toEqual(["unlinkable", expect.stringMatching(/expected \[\] -> \[i32\], got \[\] -> \[i64\]/)]);
    e = err(() => lower(`(module (import "env" "memory" (memory 1)))`, { imports: "task" }));
    expect([e.kind, e.reason]).toEqual(["unlinkable", expect.stringMatching(/cannot import a memory/)]);
    e = err(() => lower(`(module ${HOST} (export "sz" (func $size)))`, { imports: "task" }));
    expect([e.kind, e.reason]).toEqual(["unsupported", expect.stringMatching(/cannot be exported/)]);
    e = err(() => lower(`(module ${HOST} (table 1 funcref) (elem (i32.const 0) $write))`, { imports: "task" }));
    expect([e.kind, e.reason]).toEqual(["unsupported", expect.stringMatching(/cannot be referenced/)]);
    e = err(() => lower(`(module ${HOST} (elem declare func $write) (func (drop (ref.func $write))))`, { imports: "task" }));
    expect([e.kind, e.reason]).toEqual(["unsupported", expect.stringMatching(/cannot be referenced/)]);
    // validation comes first: an invalid body with a bad import is invalid, not unlinkable
    e = err(() => lower(`(module (import "env" "seed" (func (result i32))) (func (result i64) (call 0)))`, { imports: "task" }));
    expect(e.kind).toBe("invalid");
    // the same modules are fine in embed mode
    expect(() => lower(`(module (import "env" "seed" (func (result i32))))`)).not.toThrow();
  });
});

describe("malformed", () => {
  const cases: [string, Uint8Array, string][] = [
    ["empty", new Uint8Array(0), "unexpected end"],
    ["bad magic", new Uint8Array([0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0]), "magic header not detected"],
    ["bad version", new Uint8Array([0x00, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), "unknown binary version"],
    ["section id", bin([13, 0]), "malformed section id"],
    ["u32 too long", bin([5, 8, 1, 0, 0x82, 0x80, 0x80, 0x80, 0x80, 0x00]), "integer representation too long"],
    ["u32 too large", bin([5, 7, 1, 0, 0x82, 0x80, 0x80, 0x80, 0x70]), "integer too large"],
    ["s32 unused bits", bin(TYPE_V_V, FUNC_1, code1([0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x1a, 0x0b])), "integer too large"],
    ["s64 unused bits", bin(TYPE_V_V, FUNC_1, code1([0x42, ...Array(9).fill(0x80), 0x02, 0x1a, 0x0b])), "integer too large"],
    ["section size past the end", bin([1, 5, 1, 0x60, 0, 0]), "section size mismatch"],
    ["section too short", bin([1, 3, 2, 0x60, 0, 0, 0x60, 0, 0]), "unexpected end"],
    ["section too long", bin([1, 5, 1, 0x60, 0, 0, 0], FUNC_1), "section size mismatch"],
    ["order", bin(FUNC_1, TYPE_V_V), "junk after last section"],
    ["duplicate section", bin(TYPE_V_V, TYPE_V_V), "junk after last section"],
    ["function/code", bin(TYPE_V_V, FUNC_1), "function and code section have inconsistent lengths"],
    ["utf-8", bin(section(0, [2, 0xc0, 0x80])), "malformed UTF-8 encoding"],
    ["mutability", bin(section(6, [1, 0x7f, 2, 0x41, 0, 0x0b])), "malformed mutability"],
    ["value type", bin(section(1, [1, 0x60, 1, 0x40, 0])), "malformed value type"],
    ["limits flag", bin(section(5, [1, 2, 0])), "integer too large"],
    ["reference type", bin(section(4, [1, 0x7f, 0, 0])), "malformed reference type"],
    ["zero byte", bin(TYPE_V_V, FUNC_1, section(5, [1, 0, 0]), code1([0x3f, 0x80, 0x00, 0x1a, 0x0b])), "zero byte expected"],
    ["element kind", bin(TYPE_V_V, FUNC_1, section(9, [1, 1, 0x01, 0]), code1([0x0b])), "malformed element kind"],
    ["elements segment kind", bin(section(9, [1, 8])), "malformed elements segment kind"],
    ["data segment kind", bin(section(11, [1, 3])), "malformed data segment kind"],
    ["too many locals", bin(TYPE_V_V, FUNC_1, code1([0x0b], [2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 2, 0x7e])), "too many locals"],
    ["illegal opcode", bin(TYPE_V_V, FUNC_1, code1([0x06, 0x0b])), "illegal opcode 06"],
    ["body end", bin(TYPE_V_V, FUNC_1, code1([0x02, 0x40, 0x0b])), "unexpected end"],
    ["body longer", bin(TYPE_V_V, FUNC_1, code1([0x0b, 0x01])), "section size mismatch"],
    ["data count", bin(section(5, [1, 0, 0]), section(12, [2]), section(11, [1, 0, 0x41, 0, 0x0b, 0])), "data count and data section"],
  ];
  for (const [name, bytes, reason] of cases)
    it(name, () => {
      const e = err(() => compile(bytes, EMBED));
      expect(e.kind).toBe("malformed");
      expect(e.reason.startsWith(reason)).toBe(true);
    });

  it("reports a malformed body rather than an earlier validation error", () => {
    // export of an unknown function (invalid) + truncated body (malformed)
    const e = err(() => compile(bin(TYPE_V_V, FUNC_1, section(7, [1, 1, 0x61, 0, 5]), code1([0x01])), EMBED));
    expect(e.kind).toBe("malformed");
  });

  it("never throws anything but WasmError on mutated input", () => {
    const base = wat(`(module (memory 1) (global (mut i32) (i32.const 0)) (table 2 funcref) (elem (i32.const 0) 0 1)
      (func (param i32) (result i32) (block (result i32) (br_table 0 0 (local.get 0) (local.get 0))))
      (func (export "main") (loop (br_if 0 (i32.eqz (call 0 (i32.load (i32.const 0)))))))
      (data (i32.const 0) "hello"))`);
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    let ok = 0;
    for (let i = 0; i < 1500; i++) {
      let b = base.slice();
      for (let k = 1 + rnd(3); k > 0; k--) b[8 + rnd(b.length - 8)] = rnd(256);
      if (i % 5 === 0) b = b.subarray(0, rnd(b.length));
      try {
        compile(b, EMBED);
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(WasmError);
        expect((e as WasmError).reason).not.toMatch(/cannot decode/);
      }
    }
    expect(ok).toBeGreaterThan(0);
  });
});

describe("invalid", () => {
  const cases: [string, string, string][] = [
    ["operand type", `(module (func (result i32) (i32.add (i32.const 1) (i64.const 2))))`, "type mismatch"],
    ["empty stack", `(module (func (result i32) (i32.eqz)))`, "type mismatch"],
    ["extra value at end", `(module (func (i32.const 1)))`, "type mismatch"],
    ["if without else with a result", `(module (func (result i32) (if (result i32) (i32.const 1) (then (i32.const 2)))))`, "type mismatch"],
    ["br_table label types", `(module (func (block (result i32) (block (unreachable) (br_table 0 1 (i32.const 0)))) (drop)))`, "type mismatch"],
    ["immutable global", `(module (global i32 (i32.const 0)) (func (global.set 0 (i32.const 1))))`, "global is immutable"],
    ["alignment", `(module (memory 1) (func (drop (i32.load align=8 (i32.const 0)))))`, "alignment must not be larger than natural"],
    ["no memory", `(module (func (drop (memory.size))))`, "unknown memory"],
    ["no table", `(module (type (func)) (func (call_indirect (type 0) (i32.const 0))))`, "unknown table"],
    ["local", `(module (func (local i32) (drop (local.get 1))))`, "unknown local"],
    ["function", `(module (func (call 3)))`, "unknown function"],
    ["start type", `(module (func (param i32)) (start 0))`, "start function"],
    ["duplicate export", `(module (func) (export "a" (func 0)) (export "a" (func 0)))`, "duplicate export name"],
    ["memory size", `(module (memory 65537))`, "memory size must be at most 65536 pages (4GiB)"],
    ["limits", `(module (table 2 1 funcref))`, "size minimum must not be greater than maximum"],
    ["const expr", `(module (global i32 (i32.add (i32.const 1) (i32.const 2))))`, "constant expression required"],
    ["const expr global", `(module (global i32 (i32.const 0)) (global i32 (global.get 0)))`, "unknown global"],
    ["const expr type", `(module (global i64 (i32.const 0)))`, "type mismatch"],
    ["typed select arity", `(module (func (result i32) (select (result i32 i32) (i32.const 1) (i32.const 2) (i32.const 0))))`, "invalid result arity"],
    ["untyped select of references", `(module (func (drop (select (ref.null func) (ref.null func) (i32.const 0)))))`, "type mismatch"],
    ["undeclared reference", `(module (func $f) (func (drop (ref.func $f))))`, "undeclared function reference"],
    ["ref.is_null of a number", `(module (func (drop (ref.is_null (i32.const 0)))))`, "type mismatch"],
    ["table.set type", `(module (table 1 externref) (func (table.set 0 (i32.const 0) (ref.null func))))`, "type mismatch"],
    ["table.init type", `(module (table 1 externref) (elem funcref) (func (table.init 0 0 (i32.const 0) (i32.const 0) (i32.const 0))))`, "type mismatch"],
    ["call_indirect through an externref table", `(module (type (func)) (table 1 externref) (func (call_indirect (type 0) (i32.const 0))))`, "type mismatch"],
    ["unknown elem segment", `(module (table 1 funcref) (func (elem.drop 0)))`, "unknown elem segment"],
    ["unknown table 1", `(module (table 1 funcref) (func (drop (table.size 1))))`, "unknown table 1"],
    ["if without else, params differ from results", `(module (func (param i32) (result i64) (local.get 0) (if (param i32) (result i64) (i32.const 1) (then (drop) (i64.const 0)))))`, "type mismatch"],
    ["block parameters missing", `(module (type $t (func (param i32) (result i32))) (func (result i32) (block (type $t) (i32.const 1) (i32.add))))`, "type mismatch"],
  ];
  for (const [name, text, reason] of cases)
    it(name, () => {
      const e = err(() => compile(wat(text), EMBED));
      expect(e.kind).toBe("invalid");
      expect(e.reason.startsWith(reason)).toBe(true);
    });

  it("unknown label", () => {
    const e = err(() => compile(bin(TYPE_V_V, FUNC_1, code1([0x0c, 0x01, 0x0b])), EMBED));
    expect([e.kind, e.reason, e.section]).toEqual(["invalid", "unknown label 1", "code"]);
  });

  it("multiple memories", () => {
    const e = err(() => compile(bin(section(5, [2, 0, 0, 0, 0])), EMBED));
    expect([e.kind, e.reason]).toEqual(["invalid", "multiple memories (multi-memory is not supported)"]);
  });
});

describe("proposals after 2.0 are refused by name", () => {
  // malformed in 2.0 (the spec tests say so), with the 2.0 reason and the feature
  const cases: [string, Uint8Array, RegExp][] = [
    ["SIMD type", bin(section(1, [1, 0x60, 1, 0x7b, 0])), /^malformed value type: SIMD \(v128\) is not supported/],
    ["SIMD instruction", bin(TYPE_V_V, FUNC_1, code1([0xfd, 0x0c, 0x0b])), /^illegal opcode fd: SIMD is not supported/],
    ["threads: shared memory", bin(section(5, [1, 3, 1, 1])), /^integer too large: threads \(shared memory\) is not supported/],
    ["threads: atomics", bin(TYPE_V_V, FUNC_1, code1([0xfe, 0x03, 0x00, 0x0b])), /^illegal opcode fe: threads \(atomics\) is not supported/],
    ["memory64", bin(section(5, [1, 4, 1])), /^integer too large: memory64 is not supported/],
    ["exception handling: try", bin(TYPE_V_V, FUNC_1, code1([0x06, 0x40, 0x0b, 0x0b])), /^illegal opcode 06: exception handling is not supported/],
    ["exception handling: tag section", bin([13, 0]), /^malformed section id: exception handling \(tag section\) is not supported/],
    ["tail calls", bin(TYPE_V_V, FUNC_1, code1([0x12, 0x00, 0x0b])), /^illegal opcode 12: tail calls \(return_call\) is not supported/],
    ["typed function references", bin(TYPE_V_V, FUNC_1, code1([0x14, 0x00, 0x0b])), /^illegal opcode 14: typed function references \(call_ref\) is not supported/],
    ["GC type", bin(section(1, [1, 0x5f, 0])), /^malformed function type: GC \(struct, array and recursive types\) is not supported/],
    ["GC reference type", bin(section(1, [1, 0x60, 1, 0x6e, 0])), /^malformed value type: GC \(anyref\) is not supported/],
  ];
  for (const [name, bytes, reason] of cases)
    it(name, () => {
      const e = err(() => compile(bytes, EMBED));
      expect(e.kind).toBe("malformed");
      expect(e.reason).toMatch(reason);
    });

  it("multi-memory: a memory index other than 0 (the 2.0 zero byte)", () => {
    const e = err(() => compile(bin(TYPE_V_V, FUNC_1, section(5, [1, 0, 0]), code1([0x3f, 0x01, 0x1a, 0x0b])), EMBED));
    expect([e.kind, e.reason]).toEqual(["malformed", "zero byte expected (multi-memory is not supported)"]);
  });
});

describe("WebAssembly 2.0 lowering", () => {
  it("carries several values over dropped ones through hidden locals", () => {
    const p = lower(`(module (func (result i32 i64)
      (block $b (result i32 i64) (i32.const 9) (i32.const 1) (i64.const 2) (br $b))))`);
    const f = p.funcs[0];
    expect(f.numLocals).toBe(2); // no declared local, two hidden ones
    expect(body(p, 0)).toEqual(["I32Const 9", "I32Const 1", "I64Const 2 0", "LocalSet 1", "LocalSet 0", "Drop", "LocalGet 0", "LocalGet 1", "Jump @9", "Return"]);
    expect(p.code[(f.entry + 3) * 4 + 2]).toBe(2); // every local access carries the frame's final size
  });

  it("keeps block parameters on the stack; if-else starts both branches from them", () => {
    const p = lower(`(module (type $t (func (param i32) (result i32)))
      (func (param i32) (result i32) (local.get 0) (local.get 0) (if (type $t) (then (i32.const 1) (i32.add)) (else (i32.const 2) (i32.sub)))))`);
    expect(body(p, 0)).toEqual(["LocalSet 0", "LocalGet 0", "LocalGet 0", "JumpUnless @7", "I32Const 1", "i32.add", "Jump @9", "I32Const 2", "0x6b", "Return"]);
  });

  it("lowers references and table instructions (c = N, TableGrow b = the ceiling, then TableFill)", () => {
    const p = lower(`(module (table $t 2 10 funcref) (table $e 1 externref) (elem declare func 0)
      (func (drop (ref.is_null (ref.null func))) (drop (ref.func 0)) (drop (table.grow $t (ref.null func) (i32.const 3)))
        (table.copy $e $e (i32.const 0) (i32.const 0) (i32.const 0)) (call_indirect $t (i32.const 0))))`);
    expect(body(p, 0)).toEqual([
      "I32Const 0", "i32.eqz", "Drop", "RefFunc 0", "Drop",
      "I32Const 0", "I32Const 3", "TableGrow 0 10 3", "TableFill 0 0 3", "Drop",
      "I32Const 0", "I32Const 0", "I32Const 0", "TableCopy 1 1 3",
      "I32Const 0", "CallIndirect 0 0 3", "Return",
    ]);
    expect(p.funcs[0].maxHeight).toBe(4); // TableGrow leaves four values for TableFill
  });
});
