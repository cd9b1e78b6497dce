import { readFileSync } from "node:fs";
import { compileProgram, ensureRegistered } from "../../client/tasks.js";
import { TxManager } from "../../client/txs.js";
import { parse, UsageError, type Command } from "./command.js";
import { connect, KEY_OPTIONS, KEY_USAGE, printJson, RPC_OPTIONS, RPC_USAGE, wallet } from "./chain.js";

const command: Command = {
  summary: "truewasm register: register a task program (its WebAssembly bytes and program root) with the market.",
  usage: `usage: truewasm register --rpc URL --program P.wasm [options]

options:
  --program FILE        the task program (WebAssembly)
${RPC_USAGE}
${KEY_USAGE}

Compiles the program, computes its program root (docs/STATE.md §6) and registers it unless that root
is registered already. Prints {programRoot, registered, tx}. \`truewasm post\` registers by itself.`,
  async run(args) {
    const { values } = parse(args, { ...RPC_OPTIONS, ...KEY_OPTIONS, program: { type: "string" } }, false);
    if (!values.program) throw new UsageError("--program P.wasm is required");
    const program = compileProgram(new Uint8Array(readFileSync(values.program)));
    const c = await connect(values);
    try {
      const txs = new TxManager(c.provider, await wallet(values, c.provider), null, { contracts: c.contracts, pollMs: 250 });
      const r = await ensureRegistered(txs, c.contracts, program);
      printJson({ programRoot: program.root, ...r });
      return 0;
    } finally {
      c.provider.destroy();
    }
  },
};
export default command;
