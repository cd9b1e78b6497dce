import { readFileSync, writeFileSync } from "node:fs";
import { DEFAULT_LIMITS, Status, TRAP_MESSAGES } from "../../interpreter/isa.js";
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

Prints one JSON object: status (halted | trapped), trap, steps, outputBytes, output (hex).
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
    console.log(
      JSON.stringify({
        status: halted ? "halted" : "trapped",
        trap: halted ? null : TRAP_MESSAGES[machine.trap],
        steps: machine.steps,
        outputBytes: output.length,
        output: Buffer.from(output).toString("hex"),
      }),
    );
    return halted ? 0 : 3;
  },
};
export default command;
