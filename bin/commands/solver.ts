import { parseEther } from "ethers";
import { startSolver } from "../../solver/solver.js";
import { intOption, parse, UsageError, type Command } from "./command.js";
import { NODE_OPTIONS, NODE_USAGE, runNode } from "./node-runner.js";

const command: Command = {
  summary: "truewasm solver: run a solver node (take tasks, commit results with bonds, defend every game, finalize, withdraw).",
  usage: `usage: truewasm solver --rpc URL [options]

Takes every task whose program it accepts (the registered bytes must lower to the program root; it
refuses mismatches), runs it, commits the result with the solver bond, defends every game against
its claims, finalizes after the challenge window and withdraws what it is owed. Runs until SIGINT or
SIGTERM (exit code 0); started again, it carries on from its store and the chain.

options:
  --accept-root HEX     only take tasks of this program root (repeatable; default: any program)
  --max-step-limit N    refuse tasks whose step limit is above N
  --max-memory-pages N  refuse tasks whose memory limit is above N pages of 64 KiB
  --min-reward-per-msteps ETH
                        refuse tasks paying less than ETH per million steps of their step limit
${NODE_USAGE}

test behaviours (off unless asked; they apply to the node's first commitment of a task):
  --lie-output          commit a false output
  --lie-from-step S     commit a false result whose state roots are made up from step S on`,
  async run(args) {
    const { values } = parse(args, { ...NODE_OPTIONS, "accept-root": { type: "string", multiple: true }, "max-step-limit": { type: "string" }, "max-memory-pages": { type: "string" }, "min-reward-per-msteps": { type: "string" }, "lie-output": { type: "boolean" }, "lie-from-step": { type: "string" } }, false);
    for (const r of values["accept-root"] ?? []) if (!/^0x[0-9a-fA-F]{64}$/.test(r)) throw new UsageError(`--accept-root must be a 32-byte hex root, got "${r}"`);
    const lieFrom = values["lie-from-step"] !== undefined ? BigInt(intOption(values["lie-from-step"], "lie-from-step", 0)) : null;
    const maxStepLimit = values["max-step-limit"] !== undefined ? intOption(values["max-step-limit"], "max-step-limit", 0) : undefined;
    const maxMemoryPages = values["max-memory-pages"] !== undefined ? intOption(values["max-memory-pages"], "max-memory-pages", 0) : undefined;
    let minRewardPerMSteps: bigint | undefined;
    if (values["min-reward-per-msteps"] !== undefined) {
      try {
        minRewardPerMSteps = parseEther(values["min-reward-per-msteps"]);
      } catch {
        throw new UsageError(`--min-reward-per-msteps must be an amount of ETH, got "${values["min-reward-per-msteps"]}"`);
      }
    }
    return runNode(values, "solver", (opts) => startSolver({ ...opts, acceptRoots: values["accept-root"] ?? null, maxStepLimit, maxMemoryPages, minRewardPerMSteps, lieOutput: values["lie-output"] ?? false, lieFromStep: lieFrom }));
  },
};
export default command;
