import { readFileSync } from "node:fs";
import { DEFAULT_LIMITS } from "../../interpreter/isa.js";
import { createLogger } from "../../client/log.js";
import { sleep } from "../../client/rpc.js";
import { postAny } from "../../client/inputs.js";
import { compileProgram, DEFAULT_TERMS, ensureRegistered, waitForResult } from "../../client/tasks.js";
import { TxManager } from "../../client/txs.js";
import { intOption, parse, UsageError, type Command } from "./command.js";
import { connect, ether, KEY_OPTIONS, KEY_USAGE, printJson, RPC_OPTIONS, RPC_USAGE, wallet } from "./chain.js";

const command: Command = {
  summary: "truewasm post: post a task (registering its program if needed); with --wait, print its verified output.",
  usage: `usage: truewasm post --rpc URL --program P.wasm (--input FILE | --input-hex HEX) --reward ETH [options]

options:
  --program FILE        the task program (WebAssembly); registered first unless it is already
  --input FILE          the task's input bytes
  --input-hex HEX       the input as hex instead of a file (default: empty input)
  --reward ETH          reward for the solver
  --solver-bond ETH     bond a solver must put up (default ${Number(DEFAULT_TERMS.solverBond) / 1e18})
  --challenger-bond ETH bond a challenger must put up (default ${Number(DEFAULT_TERMS.challengerBond) / 1e18})
  --window S            challenge window after a commitment, seconds (default ${DEFAULT_TERMS.window})
  --deadline S          a solution must be committed within S seconds (default ${DEFAULT_TERMS.deadlineIn})
  --max-steps N         step limit (default ${DEFAULT_TERMS.limits.steps})
  --memory-pages N      memory limit in 64 KiB pages (default ${DEFAULT_LIMITS.memoryPages})
  --call-depth N        call depth limit (default ${DEFAULT_LIMITS.callDepth})
  --stack N             operand stack limit (default ${DEFAULT_LIMITS.stackHeight})
  --output-bytes N      output limit in bytes (default ${DEFAULT_TERMS.limits.outputBytes})
  --single-tx           post the input in one transaction, never in chunks (fails at once when it
                        cannot fit under the per-transaction gas cap)
  --wait                wait until the task is finalized (or expired) and print its result
  --timeout S           with --wait: give up after S seconds (exit code 1)
  --poll-ms MS          with --wait: poll interval (default 1000)
${RPC_USAGE}
${KEY_USAGE}

An input too large for one transaction (over ~412 KB of random bytes, or over 512 KiB) is uploaded
first in chunks, each transaction under the 2^24 gas cap (appendInput), then posted (postInput).

Prints {taskId, programRoot, initialRoot, tx, gasUsed} as JSON, with "upload": {inputId, chunks,
gasUsed, maxTxGas} for a chunked input; with --wait also "result": {stage, status, output, solver,
steps}. Exit code 0 (with --wait: the task was finalized), 1 on failure or when the
task expired without a solution.`,
  async run(args) {
    const { values } = parse(
      args,
      {
        ...RPC_OPTIONS,
        ...KEY_OPTIONS,
        program: { type: "string" },
        input: { type: "string" },
        "input-hex": { type: "string" },
        reward: { type: "string" },
        "solver-bond": { type: "string" },
        "challenger-bond": { type: "string" },
        window: { type: "string" },
        deadline: { type: "string" },
        "max-steps": { type: "string" },
        "memory-pages": { type: "string" },
        "call-depth": { type: "string" },
        stack: { type: "string" },
        "output-bytes": { type: "string" },
        "single-tx": { type: "boolean" },
        wait: { type: "boolean" },
        timeout: { type: "string" },
        "poll-ms": { type: "string" },
      },
      false,
    );
    if (!values.program) throw new UsageError("--program P.wasm is required");
    if (values.reward === undefined) throw new UsageError("--reward ETH is required");
    if (values.input && values["input-hex"]) throw new UsageError("give --input or --input-hex, not both");
    const hex = values["input-hex"];
    if (hex !== undefined && !/^(0x)?([0-9a-fA-F]{2})*$/.test(hex)) throw new UsageError("--input-hex must be an even number of hex digits");
    const input = new Uint8Array(values.input ? readFileSync(values.input) : hex ? Buffer.from(hex.replace(/^0x/, ""), "hex") : new Uint8Array(0));
    const terms = {
      reward: ether(values.reward, "reward", 0n),
      solverBond: ether(values["solver-bond"], "solver-bond", DEFAULT_TERMS.solverBond),
      challengerBond: ether(values["challenger-bond"], "challenger-bond", DEFAULT_TERMS.challengerBond),
      window: intOption(values.window, "window", DEFAULT_TERMS.window),
      deadlineIn: intOption(values.deadline, "deadline", DEFAULT_TERMS.deadlineIn),
      limits: {
        steps: intOption(values["max-steps"], "max-steps", DEFAULT_TERMS.limits.steps),
        memoryPages: intOption(values["memory-pages"], "memory-pages", DEFAULT_LIMITS.memoryPages),
        callDepth: intOption(values["call-depth"], "call-depth", DEFAULT_LIMITS.callDepth),
        stackHeight: intOption(values.stack, "stack", DEFAULT_LIMITS.stackHeight),
        outputBytes: intOption(values["output-bytes"], "output-bytes", DEFAULT_TERMS.limits.outputBytes),
      },
    };
    const program = compileProgram(new Uint8Array(readFileSync(values.program)));
    const c = await connect(values);
    const log = createLogger({ fields: { node: "poster" } });
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      const txs = new TxManager(c.provider, await wallet(values, c.provider), null, { contracts: c.contracts, pollMs: 250, log, signal: controller.signal });
      const reg = await ensureRegistered(txs, c.contracts, program);
      if (reg.registered) log.info("program registered", { programRoot: program.root, tx: reg.tx });
      const posted = await postAny(txs, c.contracts, c.provider, program.root, input, terms, { log, single: values["single-tx"] });
      const up = posted.upload;
      const summary = {
        taskId: posted.taskId,
        programRoot: program.root,
        initialRoot: posted.initialRoot,
        tx: posted.tx,
        gasUsed: posted.gasUsed,
        ...(up && { upload: { inputId: up.inputId, chunks: up.chunks, gasUsed: up.gasUsed, maxTxGas: up.maxTxGas } }),
      };
      log.info("task posted", summary);
      if (!values.wait) {
        printJson(summary);
        return 0;
      }
      const pollMs = intOption(values["poll-ms"], "poll-ms", 1000);
      const timeoutMs = values.timeout ? intOption(values.timeout, "timeout", 0) * 1000 : undefined;
      const result = await waitForResult(c.provider, c.contracts, c.deployment, posted.taskId, { pollMs, timeoutMs, signal: controller.signal });
      printJson({ ...summary, result });
      return result.stage === "finalized" ? 0 : 1;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      c.provider.destroy();
      await sleep(0);
    }
  },
};
export default command;
