/**
 * WASI command modules as tasks (docs/TASKS.md §6): real C programs built with Debian's clang and
 * wasi-libc, run on the machine and, unchanged, under Node's own WASI (node:wasi) on V8: identical
 * stdout bytes and exit code. The same programs linked with the adapter also run on V8 with a
 * JavaScript task host (wasm-tasks/wasi-native.ts), which checks the linker apart from the
 * interpreter. What node:wasi cannot agree on (the clock, random bytes) is checked against the
 * values docs/TASKS.md specifies; link errors name what is wrong.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Status, Trap } from "../../interpreter/isa.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { WasmError } from "../../interpreter/program.js";
import { link, linkWasi } from "../../interpreter/wasi.js";
import { runLinkedNative, runNodeWasi } from "../../wasm-tasks/wasi-native.js";
import { buildC, noToolchain, randomStream } from "./helpers.js";

const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function runMachine(wasm: Uint8Array, input: Uint8Array, limits = {}) {
  const m = Machine.forTask(compile(wasm), input, limits);
  m.run();
  return { status: m.status, trap: m.trap, exitCode: m.exitCode, steps: m.steps, output: m.output() };
}

/** Numbers as text, deterministic. */
function numbers(n: number, seed = 1): string {
  let x = seed;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const v = ((x / 2 ** 31) * 2 - 1) * 10 ** ((x % 7) - 2);
    out.push(i % 3 === 0 ? v.toExponential(4) : v.toFixed(x % 6));
    if (i % 9 === 8) out.push("\n");
  }
  return out.join(" ");
}

const CASES: [program: string, input: string][] = [
  ["stdio", ""],
  ["stdio", "hello\nworld"],
  ["stdio", "one line\nTwo Lines\n\n  spaced   words\t tabs\n" + "x".repeat(5000) + "\nend\n"],
  ["stdio", "binary \u0000\u0001\u00ff bytes\r\n"],
  ["floats", "1 -2.5 3e10 0x1.8p3 nan -inf inf -0 1e-310 4.9e-324 1.7976931348623157e308 0.1 0.2 abc 123456789012345678901234567890 3.14159265358979323846 2.5e-5x"],
  ["floats", ""],
  ["exitcode", "return 0"],
  ["exitcode", "return 7"],
  ["exitcode", "exit 3"],
  ["exitcode", "exit 300"],
  ["exitcode", "_Exit 5"],
  ["exitcode", "flush_Exit 6"],
  ["exitcode", "deep 42"],
  ["exitcode", ""],
  ["files", "stdin still here"],
  ["env", ""],
  ["calls", ""],
  ["stats", numbers(300)],
  ["stats", "1 2 3 oops 5"],
  ["stats", ""],
  ["stats", "42"],
];

describe.skipIf(noToolchain)(`WASI C programs: machine == node:wasi${noToolchain ? ` (skipped: ${noToolchain})` : ""}`, () => {
  const programs = new Map<string, Uint8Array>();
  const get = (name: string) => {
    if (!programs.has(name)) programs.set(name, name === "stats" ? buildC("wasm-tasks/stats/stats.c") : buildC(name));
    return programs.get(name)!;
  };

  it.each(CASES.map(([p, i], k) => [p, JSON.stringify(i.length > 40 ? i.slice(0, 40) + "…" : i), k] as const))("%s %s", (p, _label, k) => {
    const wasm = get(p);
    const input = enc(CASES[k][1]);
    const node = runNodeWasi(wasm, input);
    const mine = runMachine(wasm, input);
    expect(mine.status).toBe(Status.Halted);
    expect([text(mine.output), mine.exitCode]).toEqual([text(node.output), node.exitCode]);
    expect(Buffer.from(mine.output).equals(Buffer.from(node.output))).toBe(true);
    const linked = runLinkedNative(wasm, input);
    expect([text(linked.output), linked.exitCode]).toEqual([text(node.output), node.exitCode]);
  });

  it("exit codes and output are what the programs say", () => {
    expect(runMachine(get("exitcode"), enc("exit 300"))).toMatchObject({ exitCode: 300 });
    const lost = runMachine(get("exitcode"), enc("_Exit 5"));
    expect([text(lost.output), lost.exitCode]).toEqual(["how _Exit code 5\n", 5]); // _Exit does not flush stdio: the last line is lost
    const stats = runMachine(get("stats"), enc("1 2 3 oops 5"));
    expect([text(stats.output), stats.exitCode]).toEqual(["error: token 4 is not a number\n", 1]);
    expect(runMachine(get("stats"), enc(""))).toMatchObject({ exitCode: 2, output: new Uint8Array(0) }); // stderr is dropped
  });

  it("abort() traps on both engines", () => {
    expect(() => runNodeWasi(get("exitcode"), enc("abort"))).toThrow(/unreachable/);
    expect(runMachine(get("exitcode"), enc("abort"))).toMatchObject({ status: Status.Trapped, trap: Trap.Unreachable });
  });

  it("the clocks read 0, random_get is splitmix64 from 0, sleeping returns at once, stdio does not seek", () => {
    const r = runMachine(get("env"), enc("values"));
    const lines = text(r.output).split("\n");
    expect(lines).toContain("rc 0 realtime 0 res 1 time 0");
    // env.c asked for 37 random bytes before (5 words of the stream), then 37 more
    expect(lines).toContain(Buffer.from(randomStream(80).subarray(40, 77)).toString("hex"));
    expect(lines).toContain("nanosleep 0");
    expect(lines).toContain("lseek(stdout) -1 errno 70"); // ESPIPE
    expect(lines).toContain("fdstat(1) 0 type 0 rights 8200040"); // unknown filetype; fd_write, fd_filestat_get, poll
  });

  it("every preview 1 call on the standard streams answers as docs/TASKS.md §6 says", () => {
    const r = runMachine(get("calls"), enc("stdio"));
    const out = text(r.output);
    const errno = (fd: number, call: string): number => {
      if (/^(fd_fdstat_get|fd_filestat_get|fd_close)$/.test(call)) return 0;
      if (call === "fd_read") return fd === 0 ? 0 : 8;
      if (call === "fd_write") return fd === 0 ? 8 : 0;
      if (/^fd_(pread|pwrite|seek|tell)$/.test(call)) return 70;
      if (/^fd_prestat/.test(call)) return 8;
      if (/^sock_/.test(call)) return 57;
      return 76; // notcapable: every other fd_ call, every path_ call
    };
    for (const fd of [2, 0]) {
      const section = out.split(`-- fd ${fd}, 1\n`)[1].split("--")[0].trim().split("\n");
      expect(section.length).toBe(35); // the 46 functions but args, environ, clocks, random, poll, proc_*, sched_yield
      for (const line of section) {
        const [call, value] = line.split(/\s+/);
        expect([fd, call, Number(value)]).toEqual([fd, call, errno(fd, call)]);
      }
    }
    expect(out).toContain(
      "poll_oneoff              0\n" +
        "event 11 error 0 type 1 nbytes 0 flags 1\n" + // stdin: nothing left (scanf read it all), hangup
        "event 22 error 0 type 0 nbytes 0 flags 0\n" + // the clock fires at once
        "event 33 error 0 type 2 nbytes 0 flags 0\n" +
        "event 44 error 8 type 1 nbytes 0 flags 0\n" + // fd 9: badf
        "poll_oneoff none         28\n" +
        "clock_res_get 3          0\nclock_res_get 4          28\nproc_raise               52\n",
    );
  });

  it("stdout past the output limit traps (OutputLimit), like output_write", () => {
    const r = runMachine(get("stdio"), enc("abc"), { outputBytes: 1000 });
    expect([r.status, r.trap]).toEqual([Status.Trapped, Trap.OutputLimit]);
  });

  it("the adapter is linked in whole functions: only those reachable from the program's imports", () => {
    const wasm = get("stats");
    const l = link(wasm)!;
    const mod = new WebAssembly.Module(l.bytes as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`).sort()).toEqual(["truewasm.exit", "truewasm.input_read", "truewasm.input_size", "truewasm.output_write"]);
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toEqual(expect.arrayContaining(["_start", "main", "memory"]));
    // stats imports fd_fdstat_get, fd_read, fd_seek, fd_write, proc_exit: 5 functions + the helper `open`
    expect(l.adapterFunctions).toBe(6);
    // the program's step count does not depend on how it was compiled (the linked bytes lower alike)
    const input = enc("1 2 3");
    const a = runMachine(wasm, input);
    const b = runMachine(l.bytes, input);
    expect([b.steps, text(b.output), b.exitCode]).toEqual([a.steps, text(a.output), a.exitCode]);
  });
});

describe("WASI link errors name the problem", () => {
  const wat = async (src: string): Promise<Uint8Array> => {
    const wabt = await (await import("wabt")).default();
    const m = wabt.parseWat("t.wat", src);
    try {
      return new Uint8Array(m.toBinary({}).buffer);
    } finally {
      m.destroy();
    }
  };
  const error = (bytes: Uint8Array): WasmError => {
    try {
      compile(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(WasmError);
      return e as WasmError;
    }
    throw new Error("compiled");
  };
  const command = (imports: string, body = "") => `(module ${imports} (memory (export "memory") 1) (func (export "_start") ${body}))`;

  it("a minimal command runs; its exit code is proc_exit's", async () => {
    const bytes = await wat(command(`(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))`, "(call $exit (i32.const 77))"));
    expect(runMachine(bytes, new Uint8Array(0))).toMatchObject({ status: Status.Halted, exitCode: 77 });
  });

  it("a command that only returns halts with 0", async () => {
    expect(runMachine(await wat(command(`(import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))`)), new Uint8Array(0))).toMatchObject({ status: Status.Halted, exitCode: 0 });
  });

  it("refuses wasi_unstable, unknown names, wrong signatures, non-functions, reactors", async () => {
    expect(error(await wat(command(`(import "wasi_unstable" "fd_write" (func (param i32 i32 i32 i32) (result i32)))`))).message).toMatch(/wasi_unstable.*not supported/);
    expect(error(await wat(command(`(import "wasi_snapshot_preview1" "fd_frobnicate" (func))`))).message).toMatch(/unknown import "wasi_snapshot_preview1"."fd_frobnicate"/);
    expect(error(await wat(command(`(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32) (result i32)))`))).message).toMatch(
      /incompatible import type for "wasi_snapshot_preview1"."fd_write": expected \[i32 i32 i32 i32\] -> \[i32\], got \[i32 i32 i32\] -> \[i32\]/,
    );
    expect(error(await wat(`(module (import "wasi_snapshot_preview1" "memory" (memory 1)) (func (export "_start")))`)).message).toMatch(/WASI provides functions only/);
    const reactor = `(module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32))) (memory (export "memory") 1) (func (export "_initialize")))`;
    expect(error(await wat(reactor)).message).toMatch(/WASI reactor/);
  });

  it("an invalid module is reported as invalid, at the program's own offsets", async () => {
    const bad = await wat(`(module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32))) (memory 1) (func (export "_start")))`);
    // make the body invalid: replace `end` of _start's empty body by i32.add (stack underflow)... simplest: append a bad body
    const e = error(bad.slice(0, bad.length - 1));
    expect(["malformed", "invalid"]).toContain(e.kind);
  });

  it("other imports stay unknown to tasks", async () => {
    const bytes = await wat(command(`(import "wasi_snapshot_preview1" "sched_yield" (func (result i32))) (import "env" "f" (func))`));
    expect(error(bytes).message).toMatch(/unknown import "env"."f"/);
    expect(linkWasi(bytes)).not.toBeNull();
  });
});

// The built task (wasm-tasks/stats): what `npm run build:tasks` produces is what the tests above ran.
describe.skipIf(noToolchain)("wasm-tasks/stats", () => {
  it("the built task is the program the tests build", () => {
    let built: Uint8Array;
    try {
      built = new Uint8Array(readFileSync("wasm-tasks/build/stats.wasm"));
    } catch {
      return; // not built in this checkout: the build's own check covers it
    }
    const input = enc(numbers(50, 7));
    expect(text(runMachine(built, input).output)).toBe(text(runNodeWasi(built, input).output));
  });
});
