import { taskStatus } from "../../client/tasks.js";
import { parse, UsageError, type Command } from "./command.js";
import { connect, printJson, RPC_OPTIONS, RPC_USAGE } from "./chain.js";

const command: Command = {
  summary: "truewasm status: a task's terms, stage, solutions and games.",
  usage: `usage: truewasm status TASK_ID --rpc URL [options]

options:
${RPC_USAGE}

Prints a JSON object: the task's terms and stage, the solution held, every commitment, every game
(phase, segment, rounds, clocks, result) and, once the task is over, its result.`,
  async run(args) {
    const { values, positionals } = parse(args, { ...RPC_OPTIONS });
    if (positionals.length !== 1 || !/^\d+$/.test(positionals[0])) throw new UsageError("expected one TASK_ID");
    const c = await connect(values);
    try {
      printJson(await taskStatus(c.provider, c.contracts, c.deployment, BigInt(positionals[0])));
      return 0;
    } finally {
      c.provider.destroy();
    }
  },
};
export default command;
