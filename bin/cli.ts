/**
 * Subcommand dispatcher of the `truewasm` command line. Each subcommand lives in bin/commands/ and
 * exports { summary, usage, run(args) }; `truewasm help CMD` and `truewasm CMD --help` print usage.
 */
import { UsageError, type Command } from "./commands/command.js";

const commands: Record<string, () => Promise<{ default: Command }>> = {
  run: () => import("./commands/run.js"),
  deploy: () => import("./commands/deploy.js"),
  register: () => import("./commands/register.js"),
  post: () => import("./commands/post.js"),
  status: () => import("./commands/status.js"),
  solver: () => import("./commands/solver.js"),
  challenger: () => import("./commands/challenger.js"),
  replay: () => import("./commands/replay.js"),
  explorer: () => import("./commands/explorer.js"),
  btc: () => import("./commands/btc.js"),
  relayer: () => import("./commands/relayer.js"),
  demo: () => import("./commands/demo.js"),
};

async function overview(): Promise<string> {
  const lines: string[] = [];
  for (const [name, load] of Object.entries(commands)) {
    const { summary } = (await load()).default;
    lines.push(`  ${name.padEnd(11)} ${summary.replace(/^truewasm [a-z]+: /, "")}`);
  }
  return ["usage: truewasm <command> [options]", "", "commands:", ...lines, "", "truewasm <command> --help for the options of a command"].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    const target = name === "help" ? rest[0] : undefined;
    if (target && commands[target]) {
      const c = (await commands[target]()).default;
      console.log(`${c.summary}\n\n${c.usage}`);
    } else console.log(await overview());
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`truewasm: unknown command "${name}"\n\n${await overview()}`);
    return 2;
  }
  const cmd = (await load()).default;
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(`${cmd.summary}\n\n${cmd.usage}`);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`truewasm ${name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    // the node's own message (a revert reason, a refused transaction), not ethers' whole request
    const { nodeMessage } = await import("../client/rpc.js");
    console.error(`truewasm ${name}: ${nodeMessage(e)}`);
    return 1;
  }
}
