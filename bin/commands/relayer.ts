/**
 * `truewasm relayer`: the Bitcoin relay's relayer (relayer/relayer.ts; docs/RELAY.md, "The
 * relayer"), a long-running process like the solver: its store, JSON log lines on stderr, a clean
 * stop on SIGINT/SIGTERM (exit code 0; everything is persisted), and on restart it carries on from
 * its store and the chain.
 */
import { parseListen } from "../../client/metrics.js";
import { startRelayer, type RelayerMetrics } from "../../relayer/relayer.js";
import { CoreRpcSource, EsploraSource, Sources, type BitcoinSource } from "../../relayer/sources.js";
import { intOption, parse, UsageError, type Command } from "./command.js";
import { connectProvider, ether, KEY_OPTIONS, KEY_USAGE, LOG_OPTIONS, LOG_USAGE, logger, RPC_USAGE, runDaemon } from "./chain.js";

const command: Command = {
  summary: "truewasm relayer: keep a Bitcoin relay within a lag of Bitcoin (follow Bitcoin Core or Esplora, submit checked batches, follow reorgs).",
  usage: `usage: truewasm relayer --rpc URL --relay ADDRESS (--btc-rpc URL | --esplora URL)... [options]

Follows the Bitcoin chain that all the given sources agree on and keeps the relay's best tip within
--lag blocks of it: submits the next headers as a batch (with --reward) on the highest stored tip on
that chain, once a batch is full, the relay trails by more than --lag, or the first new header has
waited --max-delay; when the relay's best tip leaves the sources' chain (a reorganisation) it
submits the heavier branch from the fork point on the stored ancestor tip. Every header is checked
before it is submitted: its hash, Bitcoin Core's header rules, and the btc-headers task itself run
on the exact batch. Runs until SIGINT or SIGTERM (exit code 0); started again, it carries on from its
store and the chain and never submits a batch twice.

chain:
${RPC_USAGE.split("\n").filter((l) => !l.includes("--deployment")).join("\n")}
  --relay ADDRESS       the BtcRelay (truewasm btc deploy prints it)
${KEY_USAGE}
  --confirmations N     act on the relay's events once they have N confirmations (default 0)

bitcoin (at least one; several must agree on the headers they share):
  --btc-rpc URL         Bitcoin Core's JSON-RPC, e.g. http://127.0.0.1:8332 (repeatable);
                        user:password in the URL, or the options below for all of them
  --btc-rpc-user USER, --btc-rpc-password PASS
  --btc-rpc-cookie FILE Bitcoin Core's .cookie file (e.g. ~/.bitcoin/.cookie)
  --esplora URL         an Esplora REST API, e.g. https://blockstream.info/api (repeatable)

batches:
  --batch-size N        most headers per batch, 1..2016 (default 144)
  --lag N               submit once the relay trails by more than N blocks (default 6)
  --max-delay S         submit once the first new header has waited S seconds (default 3600)
  --reward ETH          reward of each batch's task (default 0.01)
  --reward-per-header ETH  added per header (default 0)
  --fee ETH             fee of every proof against this relayer's batches (default 0; at most
                        the relay's maxFee)
  --withdraw-above ETH  withdraw fees and refunds from the relay once they reach this (default 0.01)
  --no-task-check       do not run the btc-headers task on a batch before submitting it

node:
  --data-dir DIR        the store (default .truewasm/relayer-<chainId>-<address>)
  --poll-ms MS          poll interval (default 10000)
  --metrics [HOST:]PORT serve Prometheus metrics at /metrics and a health check at /healthz
                        (unhealthy when the last round failed or none completed for 3 polls + 60 s)
${LOG_USAGE}`,
  async run(args) {
    const { values } = parse(
      args,
      {
        rpc: { type: "string" },
        "rpc-timeout": { type: "string" },
        relay: { type: "string" },
        ...KEY_OPTIONS,
        ...LOG_OPTIONS,
        confirmations: { type: "string" },
        "btc-rpc": { type: "string", multiple: true },
        "btc-rpc-user": { type: "string" },
        "btc-rpc-password": { type: "string" },
        "btc-rpc-cookie": { type: "string" },
        esplora: { type: "string", multiple: true },
        "batch-size": { type: "string" },
        lag: { type: "string" },
        "max-delay": { type: "string" },
        reward: { type: "string" },
        "reward-per-header": { type: "string" },
        fee: { type: "string" },
        "withdraw-above": { type: "string" },
        "no-task-check": { type: "boolean" },
        "data-dir": { type: "string" },
        "poll-ms": { type: "string" },
        metrics: { type: "string" },
      },
      false,
    );
    if (!values.relay || !/^0x[0-9a-fA-F]{40}$/.test(values.relay)) throw new UsageError("--relay ADDRESS is required (the BtcRelay's address)");
    const rpcUrls = values["btc-rpc"] ?? [];
    const esploras = values.esplora ?? [];
    if (!rpcUrls.length && !esploras.length) throw new UsageError("give at least one Bitcoin source: --btc-rpc URL or --esplora URL");
    const batchSize = intOption(values["batch-size"], "batch-size", 144);
    if (batchSize < 1 || batchSize > 2016) throw new UsageError(`--batch-size must be 1..2016, got ${batchSize}`);
    const log = logger(values).child({ node: "relayer" });
    const list: BitcoinSource[] = [];
    try {
      for (const url of rpcUrls) list.push(new CoreRpcSource({ url, user: values["btc-rpc-user"], password: values["btc-rpc-password"], cookieFile: values["btc-rpc-cookie"] }));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    for (const url of esploras) list.push(new EsploraSource({ url }));
    let listen: { host: string; port: number } | null = null;
    try {
      listen = values.metrics ? parseListen(values.metrics) : null;
    } catch (e) {
      throw new UsageError(`--metrics: ${(e as Error).message}`);
    }
    return runDaemon(values, "relayer", log, (signal) => connectProvider(values, signal, log), (c, w, dataDir) => {
      const base = logger(values);
      return startRelayer({
        provider: c.provider,
        wallet: w,
        relay: values.relay!,
        sources: new Sources(list, log),
        dataDir,
        batchSize,
        lag: intOption(values.lag, "lag", 6),
        maxDelayMs: intOption(values["max-delay"], "max-delay", 3600) * 1000,
        rewardBase: ether(values.reward, "reward", 10n ** 16n),
        rewardPerHeader: ether(values["reward-per-header"], "reward-per-header", 0n),
        fee: ether(values.fee, "fee", 0n),
        withdrawAbove: ether(values["withdraw-above"], "withdraw-above", 10n ** 16n),
        taskCheck: !values["no-task-check"],
        pollMs: intOption(values["poll-ms"], "poll-ms", 10_000),
        confirmations: intOption(values.confirmations, "confirmations", 0),
        log: base,
        metrics: listen,
        onMetrics: (m: RelayerMetrics) => {
          if (m.rounds % 60 === 0) base.child({ node: "relayer" }).info("status", { ...m });
        },
      });
    });
  },
};
export default command;
