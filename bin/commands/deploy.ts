import { resolve } from "node:path";
import { parseUnits } from "ethers";
import { deployContracts, DEFAULT_PARAMETERS } from "../../client/contracts.js";
import { defaultDeploymentPath, writeDeployment, type Deployment } from "../../client/deployment.js";
import { intOption, parse, UsageError, type Command } from "./command.js";
import { connectProvider, KEY_OPTIONS, KEY_USAGE, printJson, RPC_OPTIONS, RPC_USAGE, wallet } from "./chain.js";

const command: Command = {
  summary: "truewasm deploy: deploy the one-step prover, the task market and its verification game; write the deployment file.",
  usage: `usage: truewasm deploy --rpc URL [options]

options:
${RPC_USAGE}
                        (--deployment: where to write it)
${KEY_USAGE}
  --k N                 dissection degree (default ${DEFAULT_PARAMETERS.k})
  --clock S             each party's time budget per game, seconds (default ${DEFAULT_PARAMETERS.clock})
  --burn-bps N          burnt share of a lost bond, basis points (default ${DEFAULT_PARAMETERS.burnBps})
  --callback-gas N      gas for a contract poster's callback (default ${DEFAULT_PARAMETERS.callbackGas})
  --tip-cap GWEI        highest tip per gas refunded to challengers above the base fee (default
                        ${DEFAULT_PARAMETERS.tipCap / 1e9}; at most 1,000,000)

Prints the deployment (chain id, addresses, block, parameters) as JSON and writes it to the
deployment file, which every other command reads.`,
  async run(args) {
    const { values } = parse(args, { ...RPC_OPTIONS, ...KEY_OPTIONS, k: { type: "string" }, clock: { type: "string" }, "burn-bps": { type: "string" }, "callback-gas": { type: "string" }, "tip-cap": { type: "string" } }, false);
    const { provider, chainId } = await connectProvider(values);
    try {
      const w = await wallet(values, provider);
      const params = {
        k: intOption(values.k, "k", DEFAULT_PARAMETERS.k),
        clock: intOption(values.clock, "clock", DEFAULT_PARAMETERS.clock),
        burnBps: intOption(values["burn-bps"], "burn-bps", DEFAULT_PARAMETERS.burnBps),
        callbackGas: intOption(values["callback-gas"], "callback-gas", DEFAULT_PARAMETERS.callbackGas),
        tipCap: tipCap(values["tip-cap"]),
      };
      const r = await deployContracts(w, params);
      const d: Deployment = { version: 1, chainId, market: r.market, game: r.game, prover: r.prover, block: r.block, parameters: r.parameters, deployer: w.address, deployedAt: new Date().toISOString() };
      const path = values.deployment ? resolve(values.deployment) : defaultDeploymentPath(chainId);
      writeDeployment(path, d);
      printJson({ ...d, path });
      return 0;
    } finally {
      provider.destroy();
    }
  },
};
export default command;

/** --tip-cap in gwei, as wei (the market refuses more than 10^15 wei). */
function tipCap(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PARAMETERS.tipCap;
  let wei: bigint;
  try {
    wei = parseUnits(value, "gwei");
  } catch {
    wei = -1n;
  }
  if (wei < 0n || wei > 10n ** 15n) throw new UsageError(`--tip-cap must be an amount of gwei from 0 to 1,000,000, got "${value}"`);
  return Number(wei);
}
