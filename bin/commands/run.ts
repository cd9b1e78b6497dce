import { readFileSync, writeFileSync } from "node:fs";
import { DEFAULT_LIMITS, Status, Trap, TRAP_MESSAGES, type Limits } from "../../interpreter/isa.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { intOption, parse, UsageError, type Command } from "./command.js";

const command: Command = {
  summary: "truewasm run: run a task program in the step interpreter and print its output, step count and status.",
  usage: `usage: truewasm run PROGRAM.wasm [--input FILE | --input-hex HEX] [options]

options:
  --input FILE          task input bytes (default: empty)
  --input-hex HEX       task input as hex instead of a file
  --output FILE         also write the raw output bytes to FILE
  --max-steps N         step limit of the task (default ${DEFAULT_LIMITS.steps})
  --memory-pages N      memory limit in 64 KiB pages (default ${DEFAULT_LIMITS.memoryPages})
  --call-depth N        call depth limit (default ${DEFAULT_LIMITS.callDepth})
  --stack N             operand stack limit in values (default ${DEFAULT_LIMITS.stackHeight})
  --output-bytes N      output limit in bytes (default ${DEFAULT_LIMITS.outputBytes})
  --quiet               no progress lines on stderr

Prints one JSON object: status (halted | trapped), trap, exitCode (of a halted task: WASI's
proc_exit code, or 0), steps, outputBytes, memoryPages, output
(hex), and suggestedLimits: a limit set for posting this task with this input (the steps it took
plus 25 %, the memory pages and output bytes it used, the default stack height and call depth, which
cost nothing on-chain), with the matching \`truewasm post\` options in postOptions. When the run trapped
on a limit, suggestedLimits raises that limit instead (run again with the suggestion).
Exit code 0 when the task halted, 3 when it trapped, 1 on a load error.`,
  async run(args) {
    const { values, positionals } = parse(args, {
      input: { type: "string" },
      "input-hex": { type: "string" },
      output: { type: "string" },
      "max-steps": { type: "string" },
      "memory-pages": { type: "string" },
      "call-depth": { type: "string" },
      stack: { type: "string" },
      "output-bytes": { type: "string" },
      quiet: { type: "boolean" },
    });
    if (positionals.length !== 1) throw new UsageError("expected exactly one PROGRAM.wasm");
    if (values.input && values["input-hex"]) throw new UsageError("give --input or --input-hex, not both");
    const limits = {
      steps: intOption(values["max-steps"], "max-steps", DEFAULT_LIMITS.steps),
      memoryPages: intOption(values["memory-pages"], "memory-pages", DEFAULT_LIMITS.memoryPages),
      callDepth: intOption(values["call-depth"], "call-depth", DEFAULT_LIMITS.callDepth),
      stackHeight: intOption(values.stack, "stack", DEFAULT_LIMITS.stackHeight),
      outputBytes: intOption(values["output-bytes"], "output-bytes", DEFAULT_LIMITS.outputBytes),
    };
    const hex = values["input-hex"];
    if (hex !== undefined && !/^(0x)?([0-9a-fA-F]{2})*$/.test(hex)) throw new UsageError("--input-hex must be an even number of hex digits");
    const input = values.input ? readFileSync(values.input) : hex ? Buffer.from(hex.replace(/^0x/, ""), "hex") : new Uint8Array(0);

    const program = compile(readFileSync(positionals[0]), { imports: "task" });
    const machine = Machine.forTask(program, new Uint8Array(input), limits);

    // Run in slices so long runs can report progress.
    const started = performance.now();
    let lastReport = started;
    while (machine.status === Status.Running) {
      machine.run(50_000_000);
      const now = performance.now();
      if (!values.quiet && now - lastReport > 1000) {
        lastReport = now;
        const rate = machine.steps / ((now - started) / 1000);
        process.stderr.write(`steps ${machine.steps.toLocaleString("en")} (${(rate / 1e6).toFixed(1)} M/s)\n`);
      }
    }
    const output = machine.output();
    if (values.output) writeFileSync(values.output, output);
    const halted = machine.status === Status.Halted;
    const memoryPages = machine.memoryBytes().length / 65536;
    const suggested = suggestLimits(limits, { halted, trap: machine.trap, steps: machine.steps, memoryPages, outputBytes: output.length, initialPages: program.memory?.min ?? 0 });
    console.log(
      JSON.stringify({
        status: halted ? "halted" : "trapped",
        trap: halted ? null : TRAP_MESSAGES[machine.trap],
        exitCode: halted ? machine.exitCode : null,
        steps: machine.steps,
        outputBytes: output.length,
        memoryPages,
        output: Buffer.from(output).toString("hex"),
        suggestedLimits: suggested,
        postOptions: suggested && postOptions(suggested),
      }),
    );
    return halted ? 0 : 3;
  },
};
export default command;

/** Rounds up to two significant digits (83,110 -> 84,000). */
function roundUp2(n: number): number {
  if (n < 100) return Math.ceil(n);
  const unit = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.ceil(n / unit) * unit;
}

const MAX_STEPS = 2 ** 48 - 2; // the market's largest step limit

/**
 * A limit set for posting a task whose run on one input went as `run` says: steps + 25 % (another
 * input of the same size may take a few more), the memory and output the run used (exact: memory
 * only grows), the default stack height and call depth (only numbers in the state: a larger one
 * costs nothing). A run that trapped on a limit gets that limit raised (x16 steps, x4 others); a
 * run that trapped otherwise gets none (the program fails on this input whatever the limits).
 */
export function suggestLimits(
  used: Limits,
  run: { halted: boolean; trap: number; steps: number; memoryPages: number; outputBytes: number; initialPages: number },
): Limits | null {
  const base: Limits = {
    steps: Math.min(MAX_STEPS, roundUp2(run.steps * 1.25)),
    memoryPages: Math.max(run.memoryPages, run.initialPages, 1),
    callDepth: Math.max(DEFAULT_LIMITS.callDepth, used.callDepth),
    stackHeight: Math.max(DEFAULT_LIMITS.stackHeight, used.stackHeight),
    outputBytes: Math.max(32, Math.ceil(run.outputBytes / 32) * 32),
  };
  if (run.halted) return base;
  switch (run.trap) {
    case Trap.StepLimit:
      return { ...base, steps: Math.min(MAX_STEPS, used.steps * 16) };
    case Trap.OutputLimit:
      return { ...base, outputBytes: used.outputBytes * 4 };
    case Trap.CallStackExhausted:
      return { ...base, callDepth: used.callDepth * 4 };
    case Trap.ValueStackExhausted:
      return { ...base, stackHeight: used.stackHeight * 4 };
    case Trap.OutOfBoundsMemory:
      // memory.grow refused at the ceiling shows as an out-of-bounds access (or the program's abort)
      return run.memoryPages >= used.memoryPages ? { ...base, memoryPages: Math.min(65536, used.memoryPages * 4) } : null;
    default:
      return null;
  }
}

/** The `truewasm post` options of a limit set. */
export function postOptions(l: Limits): string {
  return `--max-steps ${l.steps} --memory-pages ${l.memoryPages} --call-depth ${l.callDepth} --stack ${l.stackHeight} --output-bytes ${l.outputBytes}`;
}
