/**
 * What `truewasm solver` and `truewasm challenger` share: node options, the store location, and the
 * process life cycle (clean shutdown on SIGINT/SIGTERM: the node abandons the current RPC wait,
 * everything is already persisted, exit code 0).
 */
import { resolve } from "node:path";
import type { NodeOptions } from "../../client/node.js";
import type { Logger } from "../../client/log.js";
import { AbortedError } from "../../client/rpc.js";
import { intOption } from "./command.js";
import { connect, KEY_OPTIONS, KEY_USAGE, LOG_OPTIONS, LOG_USAGE, logger, RPC_OPTIONS, RPC_USAGE, wallet } from "./chain.js";

export const NODE_OPTIONS = {
  ...RPC_OPTIONS,
  ...KEY_OPTIONS,
  ...LOG_OPTIONS,
  "data-dir": { type: "string" },
  "poll-ms": { type: "string" },
  confirmations: { type: "string" },
  checkpoints: { type: "string" },
  "no-transcripts": { type: "boolean" },
} as const;

export const NODE_USAGE = `${RPC_USAGE}
${KEY_USAGE}
  --data-dir DIR        the node's store (default .truewasm/<role>-<chainId>-<address>)
  --poll-ms MS          poll interval (default 2000)
  --confirmations N     act on events once they have N confirmations (default 0)
  --checkpoints N       machine snapshots kept from a task's first pass (default 256)
  --no-transcripts      do not write game transcripts
${LOG_USAGE}`;

type Values = Record<string, string | boolean | string[] | undefined>;

export async function runNode(values: Values, role: "solver" | "challenger", start: (opts: NodeOptions, log: Logger) => { stop(): Promise<void>; done: Promise<void> }): Promise<number> {
  const log = logger(values).child({ node: role });
  // signals are handled from the start: a node still waiting for its RPC endpoint stops cleanly too
  const controller = new AbortController();
  let handle: { stop(): Promise<void>; done: Promise<void> } | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    log.info("shutting down", { signal: sig });
    controller.abort();
    void handle?.stop();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let c: Awaited<ReturnType<typeof connect>> | null = null;
  try {
    try {
      c = await connect(values, controller.signal, log);
    } catch (e) {
      if (e instanceof AbortedError) return 0;
      throw e;
    }
    const w = await wallet(values, c.provider);
    const dataDir = values["data-dir"] ? resolve(values["data-dir"] as string) : resolve(".truewasm", `${role}-${c.chainId}-${w.address.toLowerCase()}`);
    const opts: NodeOptions = {
      provider: c.provider,
      wallet: w,
      deployment: c.deployment,
      dataDir,
      pollMs: intOption(values["poll-ms"] as string | undefined, "poll-ms", 2000),
      confirmations: intOption(values.confirmations as string | undefined, "confirmations", 0),
      log: logger(values),
      run: { maxCheckpoints: intOption(values.checkpoints as string | undefined, "checkpoints", 256) },
      transcripts: !values["no-transcripts"],
    };
    if (controller.signal.aborted) return 0;
    handle = start(opts, log);
    await handle.done;
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    c?.provider.destroy();
  }
}
