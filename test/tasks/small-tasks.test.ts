import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { BUILD_DIR, TaskTrap, loadTask, runNative } from "../../wasm-tasks/native.js";
import { Trap } from "../../interpreter/isa.js";
import { importsWasi } from "../../interpreter/wasi.js";

const rnd = (n: number) => new Uint8Array(randomBytes(n));

describe("built task modules", () => {
  const names = readdirSync(BUILD_DIR).filter((f) => f.endsWith(".wasm"));

  it("all tasks are built", () => {
    for (const t of ["sha256d", "sha256", "echo", "sort", "bigint", "trap", "btc-headers", "nbody", "stats"]) expect(names).toContain(`${t}.wasm`);
  });

  it("import only the host interface, export main and memory", async () => {
    for (const f of names) {
      const bytes = new Uint8Array(readFileSync(resolve(BUILD_DIR, f)));
      const mod = new WebAssembly.Module(bytes);
      if (importsWasi(bytes)) {
        // a WASI command (docs/TASKS.md §6): WASI functions only, _start and memory
        for (const imp of WebAssembly.Module.imports(mod)) expect(`${imp.kind} ${imp.module}`).toBe("function wasi_snapshot_preview1");
        const exps = Object.fromEntries(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
        expect([exps._start, exps.memory]).toEqual(["function", "memory"]);
        continue;
      }
      for (const imp of WebAssembly.Module.imports(mod))
        expect(["truewasm.input_size", "truewasm.input_read", "truewasm.output_write", "env.abort"]).toContain(
          `${imp.module}.${imp.name}`,
        );
      const exps = Object.fromEntries(WebAssembly.Module.exports(mod).map((e) => [e.name, e.kind]));
      expect(exps.main).toBe("function");
      expect(exps.memory).toBe("memory");
    }
  });
});

describe("native runner", () => {
  it("rejects a module with an import outside the host interface", async () => {
    const wabt = await (await import("wabt")).default();
    const m = wabt.parseWat(
      "x.wat",
      `(module (import "env" "seed" (func (result f64))) (memory (export "memory") 1) (func (export "main")))`,
    );
    const bytes = m.toBinary({}).buffer;
    m.destroy();
    expect(() => runNative(bytes, new Uint8Array())).toThrow(/env\.seed/);
  });

  it("rejects a module without main or memory", async () => {
    const wabt = await (await import("wabt")).default();
    const m = wabt.parseWat("x.wat", `(module (func (export "main")))`);
    const bytes = m.toBinary({}).buffer;
    m.destroy();
    expect(() => runNative(bytes, new Uint8Array())).toThrow(/memory/);
  });
});

describe("echo", () => {
  const wasm = loadTask("echo");
  it.each([0, 1, 2, 3, 31, 32, 33, 67, 68, 1000, 4099, 65536])("%i bytes", (n) => {
    const input = rnd(n);
    expect(Buffer.from(runNative(wasm, input).output)).toEqual(Buffer.from(input));
  });
  it("output past the limit traps", () => {
    expect(() => runNative(wasm, rnd(100), { outputLimit: 99 })).toThrow(TaskTrap);
    try {
      runNative(wasm, rnd(100), { outputLimit: 99 });
    } catch (e) {
      expect((e as TaskTrap).kind).toBe(Trap.OutputLimit);
    }
  });
});

describe("sort", () => {
  const wasm = loadTask("sort");
  const model = (input: Uint8Array) => {
    const b = Buffer.from(input);
    const w = input.length >> 2;
    const words = Array.from({ length: w }, (_, i) => b.readUInt32LE(4 * i)).sort((x, y) => x - y);
    const out = Buffer.alloc(input.length);
    words.forEach((v, i) => out.writeUInt32LE(v, 4 * i));
    b.copy(out, 4 * w, 4 * w);
    return out;
  };
  it.each([0, 3, 4, 5, 8, 12, 63, 64, 1001, 4096, 40003])("%i bytes", (n) => {
    const input = rnd(n);
    expect(Buffer.from(runNative(wasm, input).output)).toEqual(model(input));
  });
  it("sorted, reversed and constant inputs", () => {
    const n = 999;
    for (const f of [(i: number) => i, (i: number) => n - i, () => 0xdeadbeef, (i: number) => (i * 2654435761) >>> 0]) {
      const b = Buffer.alloc(4 * n);
      for (let i = 0; i < n; i++) b.writeUInt32LE(f(i) >>> 0, 4 * i);
      const input = new Uint8Array(b);
      expect(Buffer.from(runNative(wasm, input).output)).toEqual(model(input));
    }
  });
});

describe("bigint", () => {
  const wasm = loadTask("bigint");
  const M = (1n << 64n) - 1n;
  const s64 = (x: bigint) => BigInt.asIntN(64, x);
  const u64 = (x: bigint) => BigInt.asUintN(64, x);
  const clz = (x: bigint) => (x === 0n ? 64n : BigInt(64 - x.toString(2).length));
  const ctz = (x: bigint) => {
    if (x === 0n) return 64n;
    let n = 0n;
    while (((x >> n) & 1n) === 0n) n++;
    return n;
  };
  const pop = (x: bigint) => BigInt([...x.toString(2)].filter((c) => c === "1").length);
  function model(input: Uint8Array): bigint[] {
    const count = Math.ceil(input.length / 8);
    const buf = Buffer.alloc(count * 8 + 8);
    Buffer.from(input).copy(buf);
    if (count & 1) buf.writeBigUInt64LE(0x9e3779b97f4a7c15n, count * 8);
    const out: bigint[] = [];
    let sum = 0n;
    for (let i = 0; i < (count + 1) >> 1; i++) {
      const a = buf.readBigUInt64LE(16 * i);
      const b = buf.readBigUInt64LE(16 * i + 8);
      const p = a * b;
      const b1 = b | 1n;
      const b2 = a === 1n << 63n && b1 === M ? 3n : b1;
      const k = b & 63n;
      sum += p;
      out.push(
        p & M,
        p >> 64n,
        a / b1,
        a % b1,
        u64(s64(a) / s64(b2)),
        u64(s64(a) % s64(b2)),
        u64((a << k) | (a >> ((64n - k) & 63n))),
        u64((a >> k) | (a << ((64n - k) & 63n))),
        u64(a << k),
        u64(s64(a) >> k),
        a >> k,
        clz(a) | (ctz(b) << 8n) | (pop(a ^ b) << 16n),
        u64(BigInt.asIntN(8, a) + BigInt.asIntN(16, b) + BigInt.asIntN(32, a ^ b)),
        BigInt.asUintN(32, BigInt.asUintN(32, a) * BigInt.asUintN(32, b)),
        sum & ((1n << 64n) - 1n),
      );
    }
    out.push((sum >> 64n) & M); // the task keeps a 128-bit sum
    return out;
  }
  const words = (o: Uint8Array) => {
    const b = Buffer.from(o);
    return Array.from({ length: b.length / 8 }, (_, i) => b.readBigUInt64LE(8 * i));
  };
  it.each([0, 1, 8, 15, 16, 17, 160, 1024])("%i random bytes", (n) => {
    const input = rnd(n);
    expect(words(runNative(wasm, input).output)).toEqual(model(input));
  });
  it("edge operands", () => {
    const edge = [0n, 1n, 2n, 63n, 64n, 65n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 63n, M, M - 1n, (1n << 63n) - 1n];
    const b = Buffer.alloc(edge.length * edge.length * 16);
    let o = 0;
    for (const x of edge)
      for (const y of edge) {
        b.writeBigUInt64LE(x, o);
        b.writeBigUInt64LE(y, o + 8);
        o += 16;
      }
    const input = new Uint8Array(b);
    expect(words(runNative(wasm, input).output)).toEqual(model(input));
  });
});

describe("trap", () => {
  const wasm = loadTask("trap");
  const expected: Record<number, number> = {
    1: Trap.Unreachable,
    2: Trap.IntegerDivideByZero,
    3: Trap.IntegerOverflow,
    4: Trap.OutOfBoundsMemory,
    5: Trap.Abort,
    6: Trap.CallStackExhausted,
    7: Trap.InputOutOfBounds,
    8: Trap.OutputLimit,
    9: Trap.OutOfBoundsMemory,
    10: Trap.IntegerDivideByZero,
    11: Trap.OutOfBoundsMemory,
  };
  it.each(Object.entries(expected))("selector %s traps with kind %i", (sel, kind) => {
    let err: unknown;
    try {
      runNative(wasm, Uint8Array.of(Number(sel)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TaskTrap);
    expect((err as TaskTrap).kind).toBe(kind);
  });
  it.each([[[]], [[0]], [[12]], [[255, 1, 2]]])("input %j halts with 'ok'", (bytes) => {
    expect(Buffer.from(runNative(wasm, Uint8Array.from(bytes)).output).toString()).toBe("ok");
  });
});
