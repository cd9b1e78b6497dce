import { formatSummary, runDemo } from "../../relayer/demo.js";
import { intOption, parse, UsageError, type Command } from "./command.js";
import { printJson } from "./chain.js";

const command: Command = {
  summary: "truewasm demo: the Bitcoin relay with a lying solver and an honest challenger, on an in-process Hardhat network.",
  usage: `usage: truewasm demo [options]

Deploys the one-step prover, the task market (k 16, callbackGas 500,000), the btc-headers program
and a BtcRelay on the embedded checkpoint (block 828,575) on an in-process Hardhat network; submits
a batch of the embedded real Bitcoin headers (828,576..830,591) to the relay; then a solver node and
a challenger node, running in this process, play the task out: the solver lies, the challenger
re-runs the task, challenges, bisects to the first wrong step and proves it on-chain; the liar's
bond is taken, the solver commits the true result, the chain's clock is moved past the challenge
window, the result is finalized and the relay stores the new tip. Prints what happens as it
happens, then a summary (the task, the dispute, the gas of every transaction, the new tip, the
balance changes).

options:
  --headers N           headers to submit, 1..2016 (default 2016)
  --honest              an honest solver, and a challenger that disputes the correct result (and
                        loses its bond)
  --lie-from-step S     the lying solver's roots are made up from step S on (default: the middle
                        of the run)
  --json                print the summary as JSON instead of text
  --verbose             also the nodes' JSON log lines, on stderr
  --keep                keep the nodes' stores (and the game transcript) in a temporary directory

Exit code 0 when the game and the relay ended as they should, 1 otherwise.`,
  async run(args) {
    const { values, positionals } = parse(args, {
      headers: { type: "string" },
      honest: { type: "boolean" },
      "lie-from-step": { type: "string" },
      json: { type: "boolean" },
      verbose: { type: "boolean" },
      keep: { type: "boolean" },
    });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const headers = intOption(values.headers, "headers", 2016);
    if (headers < 1 || headers > 2016) throw new UsageError(`--headers must be 1..2016, got ${headers}`);
    if (values.honest && values["lie-from-step"] !== undefined) throw new UsageError("--lie-from-step is for the lying solver, not with --honest");
    const lie = values["lie-from-step"] === undefined ? undefined : intOption(values["lie-from-step"], "lie-from-step", 0);
    if (lie === 0) throw new UsageError("--lie-from-step must be at least 1");
    const summary = await runDemo({
      headers,
      honest: values.honest,
      lieFromStep: lie === undefined ? undefined : BigInt(lie),
      verbose: values.verbose,
      keepDirs: values.keep,
      print: values.json ? (line) => process.stderr.write(line + "\n") : undefined,
    });
    if (values.json) printJson(summary);
    else console.log(formatSummary(summary));
    return 0;
  },
};
export default command;
