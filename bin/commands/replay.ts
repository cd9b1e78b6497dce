import { readFileSync } from "node:fs";
import { replayTranscript } from "../../client/replay.js";
import { parseTranscript } from "../../client/transcript.js";
import { parse, UsageError, type Command } from "./command.js";
import { printJson } from "./chain.js";

const command: Command = {
  summary: "truewasm replay: replay a game transcript against fresh contracts and check its recorded outcome.",
  usage: `usage: truewasm replay FILE...

Deploys the prover, market and game afresh on an in-process Hardhat network, registers the
transcript's program, posts its task, commits its claim, challenges it, and sends every recorded
move at the recorded times; then compares how the game ends with the recorded outcome.

Prints one JSON report per file (holds, recorded and replayed outcome, gas, problems).
Exit code 0 when every recorded outcome holds, 1 otherwise.`,
  async run(args) {
    const { positionals } = parse(args, {});
    if (positionals.length === 0) throw new UsageError("expected at least one transcript FILE");
    let ok = true;
    for (const file of positionals) {
      const report = await replayTranscript(parseTranscript(readFileSync(file, "utf8")));
      printJson({ file, ...report });
      ok &&= report.holds;
    }
    return ok ? 0 : 1;
  },
};
export default command;
