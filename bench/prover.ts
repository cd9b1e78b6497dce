/**
 * Gas of proving one step on-chain (contracts/prover/OneStepProver.sol).
 *
 *   npm run bench -- prover        (or: npx tsx bench/prover.ts)
 *
 * Every figure is the TOTAL gas of a real transaction on Hardhat's in-process network (its default
 * hardfork): 21,000 base + calldata (EIP-7623 floor included) + execution, from the receipt of
 * `ProverHarness.prove(preRoot, witness)`, which calls `OneStepProver.step` (cold account access)
 * and emits the post root. Each receipt's root is checked against the machine's.
 *
 * - medianGas: over steps sampled uniformly from a complete sha256d run (the opcode mix of a real
 *   task); maxGas: over every measured step: the step vectors (test/vectors/step-vectors.json, when
 *   present: every opcode, every float instruction included), the worst cases below, and the samples.
 * - floatMedianGas: over steps sampled uniformly from a complete run of the float task (nbody, C
 *   with doubles); floatMaxGas: over every measured float step (vectors, worst cases, sample).
 * - worst cases: a 14-deep code tree (as btc-headers), a 64 MiB memory (depth 21, the default page
 *   limit) with two-leaf loads/stores whose leaves meet only at the root's child (t = 21) and a
 *   memory.copy between its first and last leaves, input_read from a 2,016-header input (depth 13),
 *   output_write into a 64 KiB output, call_indirect through a 64-entry table, 40 globals, calls
 *   and returns; tables of MAX_TABLE_ELEMENTS (2^20: depth 20) with table.copy between two of them
 *   (two entries, each a 20-deep element proof) and within one (first and last element),
 *   table.set/table.fill of a function (its stub's code proof), table.init, call_indirect and
 *   table.get at the last element, table.grow, memory.init into the far end of the 64 MiB memory.
 */
import { existsSync, readFileSync } from "node:fs";
import hre from "hardhat";
import { compile } from "../interpreter/lower.js";
import { Machine } from "../interpreter/machine.js";
import { Op, Status, type Limits } from "../interpreter/isa.js";
import { MAX_TABLE_ELEMENTS } from "../interpreter/runtime.js";
import type { Program } from "../interpreter/program.js";
import { stateRoot } from "../interpreter/state.js";
import { witness } from "../interpreter/witness.js";
import { IS_FLOAT_NUMERIC } from "../interpreter/float.js";

interface Measured {
  cls: string;
  op: number;
  gas: number;
  bytes: number;
  what: string;
  pre: string;
  witness: string;
  exec?: number;
}

const hex = (b: Uint8Array) => "0x" + Buffer.from(b).toString("hex");
const unhex = (h: string) => new Uint8Array(Buffer.from(h.replace(/^0x/, ""), "hex"));

/** Instruction class of a step (for byOpcodeClass). */
export function opClass(op: number, running: boolean): string {
  if (!running) return "not executed";
  if (op === Op.I32Const || op === Op.I64Const || op === Op.F32Const || op === Op.F64Const || op === Op.RefFunc) return "const";
  if (IS_FLOAT_NUMERIC[op]) return "float";
  if (op === Op.Drop || op === Op.Select || op === Op.Nip) return "stack";
  if (op >= Op.LocalGet && op <= Op.LocalTee) return "locals";
  if (op === Op.GlobalGet || op === Op.GlobalSet) return "globals";
  if (op >= 0x28 && op <= 0x35) return "load";
  if (op >= 0x36 && op <= 0x3e) return "store";
  if (op === Op.MemorySize || op === Op.MemoryGrow) return "memory.size/grow";
  if (op >= 0x45 && op <= 0xc4) return "numeric";
  if (op === Op.Jump || op === Op.JumpIf || op === Op.JumpUnless || op === Op.BrTable) return "jump/branch";
  if (op === Op.Halt || op === Op.Trap || op === Op.Exit) return "halt/trap";
  if (op === Op.TableGet || op === Op.TableSet || op === Op.TableSize || op === Op.TableGrow) return "table.get/set/size/grow";
  if (op === Op.TableFill || op === Op.TableCopy || op === Op.TableInit) return "table.fill/copy/init";
  if (op === Op.SegmentDrop) return "elem.drop/data.drop";
  if (op === Op.MemoryInit) return "memory.init";
  if (op === Op.Call) return "call";
  if (op === Op.CallIndirect) return "call_indirect";
  if (op === Op.Return) return "return";
  if (op === Op.InputSize || op === Op.InputRead) return "input";
  if (op === Op.OutputWrite) return "output";
  if (op === Op.MemoryCopy || op === Op.MemoryFill) return "memory.copy/fill";
  return "other";
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
}

type Wabt = Awaited<ReturnType<typeof import("wabt")>>;
async function wat2wasm(src: string): Promise<Uint8Array> {
  const f = ((await import("wabt")) as unknown as { default: () => Promise<Wabt> }).default;
  const w = await f();
  const mod = w.parseWat("x.wat", src, { bulk_memory: true, sign_extension: true, mutable_globals: true, reference_types: true, multi_value: true });
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

const HOST = `
  (import "truewasm" "input_size" (func $input_size (result i32)))
  (import "truewasm" "input_read" (func $input_read (param i32 i32 i32)))
  (import "truewasm" "output_write" (func $output_write (param i32 i32)))`;
/** ~17,000 instructions of dead code: a code tree of depth 14, like btc-headers'. */
const PADDING = `(func $pad ${Array.from({ length: 8600 }, (_, i) => `(drop (i32.const ${i}))`).join(" ")})`;
const MIB64 = 64 * 1024 * 1024;

/** Worst-case programs: every step of each is measured. */
function worstPrograms(): { name: string; wat: string; input?: Uint8Array; limits?: Partial<Limits> }[] {
  const headers = new Uint8Array(readFileSync("wasm-tasks/btc-headers/fixtures/mainnet_828576_830591.bin"));
  const far = 2 ** 25 - 4; // bytes 2^25-4 .. 2^25+3: leaves 2^20-1 and 2^20, t = 21
  const mem = `(memory (export "memory") 1024 1024)`;
  return [
    {
      name: "deep memory (64 MiB)",
      wat: `(module ${HOST} ${mem} ${PADDING}
        (func (export "main")
          (i64.store (i32.const ${far}) (i64.const -1))
          (drop (i64.load (i32.const ${far})))
          (drop (i32.load (i32.const ${MIB64 - 4})))
          (i64.store offset=${MIB64 - 40} (i32.const 4) (i64.const 0x0102030405060708))
          (memory.copy (i32.const 0) (i32.const ${MIB64 - 32}) (i32.const 32))
          (memory.copy (i32.const ${MIB64 - 32}) (i32.const 0) (i32.const 32))
          (memory.copy (i32.const 5) (i32.const ${MIB64 - 27}) (i32.const 27))
          (memory.fill (i32.const ${far}) (i32.const 7) (i32.const 8))
          (drop (memory.size))
          (drop (memory.grow (i32.const 1)))))`,
    },
    {
      name: "host I/O (2,016-header input, 64 KiB output, 64 MiB memory)",
      wat: `(module ${HOST} ${mem} ${PADDING}
        (func (export "main")
          (drop (call $input_size))
          (call $input_read (i32.const ${far - 7}) (i32.const ${headers.length - 40}) (i32.const 40))
          (call $output_write (i32.const ${far - 13}) (i32.const 45))
          (call $output_write (i32.const ${MIB64 - 40}) (i32.const 40))))`,
      input: headers,
      limits: { outputBytes: 65536 },
    },
    {
      // the float unit's costliest operands: subnormal quotients and roots, long alignments, conversions
      name: "floats in a 14-deep code tree",
      wat: `(module ${HOST} ${mem} ${PADDING}
        (func (export "main")
          (drop (f64.div (f64.const 0x1.fffffffffffffp-1022) (f64.const 0x1.0000000000001p+1023)))
          (drop (f64.div (f64.const 0x1p-1074) (f64.const 0x1.fffffffffffffp-1)))
          (drop (f64.sqrt (f64.const 0x1.fffffffffffffp+1023)))
          (drop (f64.sqrt (f64.const 0x1p-1074)))
          (drop (f32.sqrt (f32.const 0x1.fffffep+127)))
          (drop (f64.add (f64.const 0x1.fffffffffffffp+0) (f64.const -0x1.fffffffffffffp-53)))
          (drop (f64.mul (f64.const 0x1.fffffffffffffp-600) (f64.const 0x1.fffffffffffffp-500)))
          (drop (f64.nearest (f64.const -0x1.8p-1)))
          (drop (f32.convert_i64_u (i64.const -1)))
          (drop (f64.convert_i64_s (i64.const 0x7ffffffffffffdff)))
          (drop (i64.trunc_f64_u (f64.const 0x1.fffffffffffffp+63)))
          (drop (i64.trunc_sat_f64_s (f64.const -inf)))
          (drop (f32.demote_f64 (f64.const 0x1.fffffefffffffp-127)))
          (drop (f64.promote_f32 (f32.const 0x1p-149)))
          (drop (f64.min (f64.const -0) (f64.const 0)))
          (drop (f64.lt (f64.const -nan:0x4000000000001) (f64.const 1)))))`,
    },
    {
      name: "calls, call_indirect (64-entry table), 40 globals",
      wat: `(module ${HOST} ${mem} ${PADDING}
        (type $t (func (param i64) (result i64)))
        (table 64 funcref) (elem (i32.const 63) $f) (elem (i32.const 0) $f)
        ${Array.from({ length: 40 }, (_, i) => `(global $g${i} (mut i64) (i64.const ${i * 1000003}))`).join(" ")}
        (func $f (param i64) (result i64) (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
          (local.set 39 (local.get 0)) (global.set $g39 (local.get 39)) (i64.add (global.get $g37) (local.get 39)))
        (func (export "main")
          (drop (call_indirect (type $t) (i64.const 5) (i32.const 63)))
          (drop (call $f (i64.const 6)))))`,
    },
    {
      name: `tables of ${MAX_TABLE_ELEMENTS} elements, segments, 64 MiB memory`,
      wat: `(module ${HOST} ${mem} ${PADDING}
        (type $t (func (param i64) (result i64)))
        (table $a ${MAX_TABLE_ELEMENTS} funcref) (table $b ${MAX_TABLE_ELEMENTS} funcref) (table $c 3 8 funcref)
        (elem $seg funcref ${Array.from({ length: 64 }, () => "(ref.func $f)").join(" ")})
        (data $d "${"\\5a".repeat(1000)}")
        (func $f (param i64) (result i64) (local.get 0))
        (func (export "main")
          (table.set $a (i32.const ${MAX_TABLE_ELEMENTS - 1}) (ref.func $f))
          (table.fill $b (i32.const ${MAX_TABLE_ELEMENTS - 2}) (ref.func $f) (i32.const 2))
          (table.copy $a $b (i32.const 0) (i32.const ${MAX_TABLE_ELEMENTS - 1}) (i32.const 1))
          (table.copy $a $a (i32.const ${MAX_TABLE_ELEMENTS - 1}) (i32.const 0) (i32.const 1))
          (table.copy $b $a (i32.const ${MAX_TABLE_ELEMENTS - 1}) (i32.const 0) (i32.const 1))
          (table.init $b $seg (i32.const ${MAX_TABLE_ELEMENTS - 1}) (i32.const 63) (i32.const 1))
          (drop (call_indirect $a (type $t) (i64.const 5) (i32.const ${MAX_TABLE_ELEMENTS - 1})))
          (drop (table.get $b (i32.const ${MAX_TABLE_ELEMENTS - 1})))
          (drop (table.size $a))
          (drop (table.grow $c (ref.func $f) (i32.const 2)))
          (memory.init $d (i32.const ${far - 7}) (i32.const 5) (i32.const 40))
          (elem.drop $seg)
          (data.drop $d)))`,
    },
  ];
}

export async function benchProver(): Promise<Record<string, unknown>> {
  const { ethers, networkConfig } = await hre.network.connect();
  const prover = await ethers.deployContract("OneStepProver", []);
  await prover.waitForDeployment();
  const harness = await ethers.deployContract("ProverHarness", [await prover.getAddress()]);
  await harness.waitForDeployment();
  const proved = harness.interface.getEvent("Proved")!;

  const measured: Measured[] = [];
  async function measure(pre: Uint8Array, w: Uint8Array, post: Uint8Array, op: number, running: boolean, what: string): Promise<void> {
    const tx = await harness.prove(hex(pre), hex(w));
    const rc = await tx.wait();
    const log = rc!.logs.map((l: { topics: string[]; data: string }) => harness.interface.parseLog(l)).find((l: { name: string } | null) => l?.name === proved.name);
    if (log?.args[0] !== hex(post)) throw new Error(`${what}: the prover's post root differs from the machine's`);
    measured.push({ cls: opClass(op, running), op, gas: Number(rc!.gasUsed), bytes: w.length, what, pre: hex(pre), witness: hex(w) });
  }
  /** Measures the steps of a machine kept by `keep` (all by default). */
  async function measureRun(m: Machine, what: string, keep: (i: number) => boolean = () => true, maxSteps = 1e12): Promise<number> {
    let n = 0;
    for (let i = 0; i < maxSteps; i++) {
      const terminal = m.status !== Status.Running;
      if (keep(i)) {
        const op = m.program.code[m.pc * 4];
        const running = !terminal && m.steps < m.limits.steps;
        const pre = stateRoot(m), w = witness(m);
        m.step();
        await measure(pre, w, stateRoot(m), op, running, `${what} step ${i}`);
        n++;
      } else m.step();
      if (terminal) break;
    }
    return n;
  }

  // 1. the opcode mix of a real run: steps sampled uniformly from a complete sha256d run
  const sha = compile(new Uint8Array(readFileSync("wasm-tasks/build/sha256d.wasm")));
  const input = new Uint8Array(readFileSync("wasm-tasks/btc-headers/fixtures/mainnet_828576_830591.bin")).subarray(0, 160);
  const probe = Machine.forTask(sha, input, {});
  probe.run();
  const total = probe.steps + 1;
  const SAMPLES = 500;
  let seed = 12345;
  const keep = new Set<number>();
  while (keep.size < SAMPLES) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    keep.add(seed % total);
  }
  await measureRun(Machine.forTask(sha, input, {}), "sha256d", (i) => keep.has(i));
  const sample = measured.slice();

  // 1b. the float task's mix: steps sampled uniformly from a complete nbody run (40 body steps)
  const nbody = compile(new Uint8Array(readFileSync("wasm-tasks/build/nbody.wasm")));
  const nbodyInput = new TextEncoder().encode("40");
  const nbodyProbe = Machine.forTask(nbody, nbodyInput, {});
  nbodyProbe.run();
  const nbodyTotal = nbodyProbe.steps + 1;
  const FLOAT_SAMPLES = 300;
  const keepFloat = new Set<number>();
  while (keepFloat.size < FLOAT_SAMPLES) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    keepFloat.add(seed % nbodyTotal);
  }
  const before = measured.length;
  await measureRun(Machine.forTask(nbody, nbodyInput, {}), "nbody", (i) => keepFloat.has(i));
  const floatSample = measured.slice(before);

  // 2. the step vectors
  let vectors = 0;
  const VECTORS = "test/vectors/step-vectors.json";
  if (existsSync(VECTORS)) {
    const v = JSON.parse(readFileSync(VECTORS, "utf8")) as { cases: { op: number | string; opName: string; note: string; preRoot: string; witness: string; postRoot: string }[] };
    for (const c of v.cases) {
      const w = unhex(c.witness);
      // regs: steps u48 at 4, stepLimit u48 at 10 (docs/STATE.md §2.1)
      const running = w[28] === 0 && Buffer.from(w).readUIntBE(4, 6) < Buffer.from(w).readUIntBE(10, 6);
      await measure(unhex(c.preRoot), w, unhex(c.postRoot), Number(c.op), running, `vector ${c.opName} ${c.note}`);
      vectors++;
    }
  }

  // 3. worst cases
  for (const p of worstPrograms()) {
    const program: Program = compile(await wat2wasm(p.wat));
    const m = Machine.forTask(program, p.input ?? new Uint8Array(0), p.limits ?? {});
    await measureRun(m, p.name);
    if (m.status !== Status.Halted) throw new Error(`worst case "${p.name}" did not halt (trap ${m.trap})`);
  }

  // execution gas alone (no base, no calldata): gasleft() around the harness's call of step, in
  // eth_calls of stepMany (each batch starts with a warm-up call so that no figure includes the
  // cold account access)
  for (let i = 0; i < measured.length; i += 10) {
    const xs = [measured[0], ...measured.slice(i, i + 10)];
    const [, , gas] = await harness.stepMany(xs.map((x) => x.pre), xs.map((x) => x.witness));
    xs.slice(1).forEach((x, j) => (x.exec = Number(gas[j + 1])));
  }

  const byOpcodeClass: Record<string, { count: number; medianGas: number; maxGas: number; medianBytes: number; medianExecutionGas: number }> = {};
  for (const cls of [...new Set(measured.map((x) => x.cls))].sort()) {
    const xs = measured.filter((x) => x.cls === cls);
    byOpcodeClass[cls] = {
      count: xs.length,
      medianGas: median(xs.map((x) => x.gas)),
      maxGas: Math.max(...xs.map((x) => x.gas)),
      medianBytes: median(xs.map((x) => x.bytes)),
      medianExecutionGas: median(xs.map((x) => x.exec!)),
    };
  }
  if (process.env.BENCH_PROVER_STEPS) for (const x of measured.slice(sample.length)) console.error(x.gas, x.bytes, x.cls, x.what);
  const worst = measured.reduce((a, b) => (b.gas > a.gas ? b : a));
  const floats = measured.filter((x) => x.cls === "float");
  const worstFloat = floats.reduce((a, b) => (b.gas > a.gas ? b : a));
  const code = (await ethers.provider.getCode(await prover.getAddress())).length / 2 - 1;
  return {
    maxGas: worst.gas,
    medianGas: median(sample.map((x) => x.gas)),
    byOpcodeClass,
    maxCase: { what: worst.what, class: worst.cls, witnessBytes: worst.bytes, executionGas: worst.exec },
    sha256dSample: {
      steps: sample.length,
      ofRunSteps: total,
      medianBytes: median(sample.map((x) => x.bytes)),
      p90Gas: [...sample.map((x) => x.gas)].sort((a, b) => a - b)[Math.floor(0.9 * sample.length)],
      maxGas: Math.max(...sample.map((x) => x.gas)),
      medianExecutionGas: median(sample.map((x) => x.exec!)),
    },
    floatMedianGas: median(floatSample.map((x) => x.gas)),
    floatMaxGas: worstFloat.gas,
    floatMaxCase: { what: worstFloat.what, witnessBytes: worstFloat.bytes, executionGas: worstFloat.exec },
    nbodySample: {
      steps: floatSample.length,
      ofRunSteps: nbodyTotal,
      floatSteps: floatSample.filter((x) => x.cls === "float").length,
      floatMedianGas: median(floatSample.filter((x) => x.cls === "float").map((x) => x.gas)),
      p90Gas: [...floatSample.map((x) => x.gas)].sort((a, b) => a - b)[Math.floor(0.9 * floatSample.length)],
      maxGas: Math.max(...floatSample.map((x) => x.gas)),
    },
    floatSteps: floats.length,
    floatOpcodes: new Set(floats.map((x) => x.op)).size,
    maxExecutionGas: Math.max(...measured.map((x) => x.exec!)),
    measuredSteps: measured.length,
    vectors,
    hardfork: (networkConfig as { hardfork?: string }).hardfork ?? "default",
    proverRuntimeBytes: code,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchProver(), null, 2));
  process.exit(0);
}
