import { startChallenger } from "../../verifier/challenger.js";
import { intOption, parse, type Command } from "./command.js";
import { NODE_OPTIONS, NODE_USAGE, runNode } from "./node-runner.js";

const command: Command = {
  summary: "truewasm challenger: run a challenger node (re-run every committed result, challenge wrong ones, play to the one-step proof, withdraw).",
  usage: `usage: truewasm challenger --rpc URL [options]

Checks every committed result by re-running the task, challenges the wrong ones within their window
(with the challenger bond), plays each game to the one-step proof, claims timeouts, releases games
made moot and withdraws what it is owed. Runs until SIGINT or SIGTERM (exit code 0); started again,
it carries on from its store and the chain.

Each task is run as soon as it is seen, in the background (below every game move and every check of
a revealed solution), so that a reveal costs only a comparison. The options below bound that work;
a task outside them is still run, when a solution of it is revealed.

options:
  --no-prerun           run a task only when a solution of it is revealed
  --prerun-max-steps N  run ahead only tasks whose step limit is at most N
  --prerun-max-memory-pages N
                        run ahead only tasks whose memory limit is at most N pages of 64 KiB
  --prerun-runs N       runs ahead of a reveal at once (default: the worker threads, at least 1)
${NODE_USAGE}

test behaviour (off unless asked):
  --challenge-correct   challenge correct results too`,
  async run(args) {
    const { values } = parse(args, { ...NODE_OPTIONS, "challenge-correct": { type: "boolean" }, "no-prerun": { type: "boolean" }, "prerun-max-steps": { type: "string" }, "prerun-max-memory-pages": { type: "string" }, "prerun-runs": { type: "string" } }, false);
    const opt = (name: "prerun-max-steps" | "prerun-max-memory-pages" | "prerun-runs", min: number) => (values[name] !== undefined ? intOption(values[name], name, min) : undefined);
    const prerun = { prerun: !values["no-prerun"], prerunMaxSteps: opt("prerun-max-steps", 0), prerunMaxMemoryPages: opt("prerun-max-memory-pages", 0), prerunRuns: opt("prerun-runs", 1) };
    return runNode(values, "challenger", (opts) => startChallenger({ ...opts, ...prerun, challengeCorrect: values["challenge-correct"] ?? false }));
  },
};
export default command;
