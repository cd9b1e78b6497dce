import { startChallenger } from "../../verifier/challenger.js";
import { parse, type Command } from "./command.js";
import { NODE_OPTIONS, NODE_USAGE, runNode } from "./node-runner.js";

const command: Command = {
  summary: "truewasm challenger: run a challenger node (re-run every committed result, challenge wrong ones, play to the one-step proof, withdraw).",
  usage: `usage: truewasm challenger --rpc URL [options]

Checks every committed result by re-running the task, challenges the wrong ones within their window
(with the challenger bond), plays each game to the one-step proof, claims timeouts, releases games
made moot and withdraws what it is owed. Runs until SIGINT or SIGTERM (exit code 0); started again,
it carries on from its store and the chain.

options:
${NODE_USAGE}

test behaviour (off unless asked):
  --challenge-correct   challenge correct results too`,
  async run(args) {
    const { values } = parse(args, { ...NODE_OPTIONS, "challenge-correct": { type: "boolean" } }, false);
    return runNode(values, "challenger", (opts) => startChallenger({ ...opts, challengeCorrect: values["challenge-correct"] ?? false }));
  },
};
export default command;
