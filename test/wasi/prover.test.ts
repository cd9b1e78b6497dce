/**
 * WASI calls proven on-chain: runs of real C programs (test/wasi/c, wasm-tasks/stats) stepped on
 * the machine, every step inside the WASI adapter (every WASI call the program makes, whole) and
 * steps sampled across the rest of the run (floats in scanf/printf included), each proven by the
 * Solidity prover: contract == verifyStep == machine (the pattern of
 * test/contracts/prover-tasks.test.ts).
 */
import { describe, expect, it } from "vitest";
import { Status } from "../../interpreter/isa.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { link } from "../../interpreter/wasi.js";
import { expectProven, traceSteps } from "../contracts/prover-helpers.js";
import { Rng } from "../contracts/prover-programs.js";
import { buildC, noToolchain } from "./helpers.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** Every step in the adapter's code, and `samples` others drawn uniformly across the run. */
function wasiRun(wasm: Uint8Array, input: Uint8Array, samples: number, seed: number) {
  const linked = link(wasm)!;
  const program = compile(linked.bytes);
  // the adapter's functions are the last ones, so their code is the end of the program
  const adapterFrom = Math.min(...program.funcs.slice(program.funcs.length - linked.adapterFunctions).map((f) => f.entry));
  const probe = Machine.forTask(program, input, {});
  probe.run();
  expect(probe.status).toBe(Status.Halted);
  const total = probe.steps;
  const rng = new Rng(seed);
  const keep = new Set<number>([total - 1, total]);
  while (keep.size < Math.min(samples + 2, total)) keep.add(rng.int(total));
  const m = Machine.forTask(program, input, {});
  let wasiSteps = 0;
  const cases = traceSteps(m, {
    keep: (i) => {
      const inAdapter = m.pc >= adapterFrom;
      if (inAdapter) wasiSteps++;
      return inAdapter || keep.has(i);
    },
    label: "wasi",
  });
  return { cases, total, wasiSteps, exitCode: m.exitCode };
}

describe.skipIf(noToolchain)("WASI calls proven on-chain", () => {
  it.each([
    ["stats", "wasm-tasks/stats/stats.c", "3.5 -2 7.25 1e3\n0.125 oops", 1], // fd_read, fd_write, proc_exit(1)
    ["env", "env", "values", 0], // args, environ, clocks, random_get, poll_oneoff, fd_seek, fd_fdstat_get
    ["files", "files", "abc", 0], // the failing calls: fd_prestat_get, path_open, fd_close, fd_read/fd_write on bad fds
    ["exitcode", "exitcode", "exit 300", 300],
    ["calls", "calls", "stdio", 0], // every preview 1 function but proc_exit, on bad fds and on the streams
  ])("%s: every step of every WASI call, and 150 sampled steps", async (_name, src, input, code) => {
    const { cases, wasiSteps, exitCode } = wasiRun(buildC(src), enc(input), 150, 3);
    expect(exitCode).toBe(code);
    expect(wasiSteps).toBeGreaterThan(50);
    const { mismatches } = await expectProven(cases);
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});
