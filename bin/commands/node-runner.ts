/**
 * What `truewasm solver` and `truewasm challenger` share: node options, and the process life cycle
 * of chain.ts runDaemon (clean shutdown on SIGINT/SIGTERM: the node abandons the current RPC wait,
 * everything is already persisted, exit code 0).
 */
import { availableParallelism } from "node:os";
import { parseListen } from "../../client/metrics.js";
import type { NodeOptions } from "../../client/node.js";
import type { Logger } from "../../client/log.js";
import { intOption } from "./command.js";
import { connect, KEY_OPTIONS, KEY_USAGE, LOG_OPTIONS, LOG_USAGE, logger, RPC_OPTIONS, RPC_USAGE, runDaemon, type Daemon } from "./chain.js";

export const NODE_OPTIONS = {
  ...RPC_OPTIONS,
  ...KEY_OPTIONS,
  ...LOG_OPTIONS,
  "data-dir": { type: "string" },
  "poll-ms": { type: "string" },
  confirmations: { type: "string" },
  checkpoints: { type: "string" },
  "no-transcripts": { type: "boolean" },
  workers: { type: "string" },
  metrics: { type: "string" },
  "game-window": { type: "string" },
  expire: { type: "boolean" },
  "expire-after": { type: "string" },
  "reorg-depth": { type: "string" },
  "no-disk-snapshots": { type: "boolean" },
} as const;

export const NODE_USAGE = `${RPC_USAGE}
${KEY_USAGE}
  --data-dir DIR        the node's store (default .truewasm/<role>-<chainId>-<address>)
  --poll-ms MS          poll interval (default 2000)
  --confirmations N     act on events once they have N confirmations (default 0)
  --checkpoints N       machine snapshots kept from a task's first pass (default 256)
  --no-transcripts      do not write game transcripts
  --workers N           machine worker threads (default: the number of CPUs, at most 4; 0: the node's thread)
  --metrics [HOST:]PORT serve Prometheus metrics at /metrics and a health check at /healthz
  --game-window S       on a first start, follow only tasks posted in the last S seconds
  --expire              call expire on tasks past their deadline with no solution (pays the gas)
  --expire-after S      ... S seconds after the deadline (default 60; implies --expire)
  --reorg-depth N       block hashes and undo records kept for reorgs (default 256)
  --no-disk-snapshots   keep machine snapshots in memory only (a restart re-runs the task)
${LOG_USAGE}`;

type Values = Record<string, string | boolean | string[] | undefined>;

export async function runNode(values: Values, role: "solver" | "challenger", start: (opts: NodeOptions, log: Logger) => Daemon): Promise<number> {
  const log = logger(values).child({ node: role });
  return runDaemon(values, role, log, (signal) => connect(values, signal, log), (c, w, dataDir) =>
    start(
      {
        provider: c.provider,
        wallet: w,
        deployment: c.deployment,
        dataDir,
        pollMs: intOption(values["poll-ms"] as string | undefined, "poll-ms", 2000),
        confirmations: intOption(values.confirmations as string | undefined, "confirmations", 0),
        log: logger(values),
        run: { maxCheckpoints: intOption(values.checkpoints as string | undefined, "checkpoints", 256) },
        transcripts: !values["no-transcripts"],
        workers: intOption(values.workers as string | undefined, "workers", Math.min(4, availableParallelism())),
        metrics: values.metrics ? parseListen(values.metrics as string) : null,
        gameWindow: values["game-window"] !== undefined ? intOption(values["game-window"] as string, "game-window", 0) : null,
        expireAfter: values.expire || values["expire-after"] !== undefined ? intOption(values["expire-after"] as string | undefined, "expire-after", 60) : null,
        reorgDepth: intOption(values["reorg-depth"] as string | undefined, "reorg-depth", 256),
        diskSnapshots: !values["no-disk-snapshots"],
      },
      log,
    ),
  );
}
