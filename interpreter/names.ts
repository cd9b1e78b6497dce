/**
 * Names for people: of a lowered opcode, of a module and its functions (the wasm "name" section,
 * else the text format the task build writes next to the binary), and of the instruction at a
 * witness's pc with its enclosing function. Used wherever a disputed step is shown (the explorer,
 * the relay demo) and by the state tests.
 */
import { existsSync, readFileSync } from "node:fs";
import { OPCODE_NAMES } from "./decode.js";
import { Op } from "./isa.js";
import type { Program } from "./program.js";

/** Name of a lowered opcode: a machine-only one (0xE0..0xFF) by its `Op` name, else the WebAssembly one. */
export function opName(op: number): string {
  const machine = op >= 0xe0 ? Object.entries(Op).find(([, v]) => v === op) : undefined;
  return machine ? machine[0] : OPCODE_NAMES[op] || `0x${op.toString(16)}`;
}

/** The instruction at the witness's pc (regs: pc u32 big-endian first), with its function. */
export function instructionAt(program: Program, names: Map<number, string>, witness: Uint8Array): { pc: number; op: string; func: string | null } {
  if (witness.length < 4) throw new Error("witness too short");
  const pc = new DataView(witness.buffer, witness.byteOffset).getUint32(0);
  if (pc * 4 >= program.code.length) throw new Error(`pc ${pc} outside the program`);
  const op = opName(program.code[pc * 4]);
  if (program.taskEntry >= 0 && pc >= program.taskEntry && pc < program.taskEntry + (program.start !== null ? 3 : 2)) return { pc, op, func: "the task's entry stub" };
  const stubOf = program.funcs.findIndex((fi) => fi.stub >= 0 && (pc === fi.stub || pc === fi.stub + 1));
  if (stubOf >= 0) return { pc, op, func: `the call stub of ${names.get(stubOf) ?? `function ${stubOf}`}` };
  let f = -1;
  for (let i = 0; i < program.funcs.length; i++) if (program.funcs[i].entry >= 0 && program.funcs[i].entry <= pc && (f < 0 || program.funcs[i].entry > program.funcs[f].entry)) f = i;
  return { pc, op, func: f < 0 ? null : (names.get(f) ?? `function ${f}`) };
}

/**
 * Function names by index: the wasm "name" section's, else the `(import … (func $name` and
 * `(func $name` lines (in index order) of the text format the task build writes next to the binary
 * (wasm-tasks/build/<task>.wat). Empty when neither has them.
 */
export function functionNames(wasm: Uint8Array, watPath?: string | null): Map<number, string> {
  const names = nameSection(wasm).functions;
  if (names.size || !watPath || !existsSync(watPath)) return names;
  let i = 0;
  for (const line of readFileSync(watPath, "utf8").split("\n")) {
    const m = /^ \((?:import "[^"]*" "[^"]*" \()?func \$(\S+)/.exec(line);
    if (m) names.set(i++, m[1].replace(/^~lib\//, "").replace(/\/assembly\/index\//, "/"));
  }
  return names;
}

/** The module name of the wasm "name" section, if any. */
export function moduleName(wasm: Uint8Array): string | null {
  return nameSection(wasm).module;
}

function nameSection(wasm: Uint8Array): { module: string | null; functions: Map<number, string> } {
  const functions = new Map<number, string>();
  let module: string | null = null;
  let p = 8;
  const leb = () => {
    let r = 0;
    let shift = 0;
    let b: number;
    do {
      if (p >= wasm.length) throw new Error("truncated");
      b = wasm[p++];
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return r;
  };
  const str = () => {
    const n = leb();
    const s = new TextDecoder().decode(wasm.subarray(p, p + n));
    p += n;
    return s;
  };
  try {
    while (p < wasm.length) {
      const id = wasm[p++];
      const size = leb();
      const end = p + size;
      if (id === 0 && str() === "name") {
        while (p < end) {
          const sub = wasm[p++];
          const subSize = leb();
          const subEnd = p + subSize;
          if (sub === 0) module = str();
          else if (sub === 1) for (let n = leb(); n > 0; n--) functions.set(leb(), str());
          p = subEnd;
        }
      }
      p = end;
    }
  } catch {
    // a malformed name section: no names
  }
  return { module: module || null, functions };
}
