import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { FetchRequest, JsonRpcProvider, Network } from "ethers";
import { Contracts } from "../../client/contracts.js";
import { BUILD_DIR, buildPage } from "../../explorer/build.js";
import { ChainIndex, type ExplorerData } from "../../explorer/chain.js";
import { Programs, TASKS_DIR } from "../../explorer/program.js";
import { startExplorerServer } from "../../explorer/server.js";
import { TranscriptData } from "../../explorer/transcripts.js";
import { intOption, parse, UsageError, type Command } from "./command.js";
import { connect, logger, LOG_OPTIONS, LOG_USAGE, rpcUrl, RPC_OPTIONS, RPC_USAGE } from "./chain.js";

const command: Command = {
  summary: "truewasm explorer: serve a web page of the tasks and their verification games, live (or of a game transcript).",
  usage: `usage: truewasm explorer --rpc URL [options]
       truewasm explorer --transcript FILE [--transcript FILE …] [options]

Serves a page (http://127.0.0.1:PORT/) with every task of the market in the deployment file (stage,
program, poster, reward, solver, steps, result, deadline, window) and, per task, its games: the
bisection as a picture, the moves with their gas, the clocks, the bonds, the outcome and the
disputed step. It follows the chain (one request per poll while idle) and updates the page as blocks
arrive. With --transcript it shows recorded games instead (test/transcripts/, a node's transcripts/).

options:
${RPC_USAGE}
  --transcript FILE     show a game transcript instead of a chain (repeatable)
  --port P              port to listen on (default 8547; 0: any free port)
  --host ADDR           address to bind (default 127.0.0.1: this machine only)
  --poll-ms MS          chain poll interval (default 1000)
  --chunk N             blocks per eth_getLogs request (default 5000)
  --programs DIR        also name programs after the .wasm files of DIR (repeatable; default
                        wasm-tasks/build)
${LOG_USAGE}

Prints {"url": …} on stdout once it serves, then runs until SIGINT or SIGTERM.`,
  async run(args) {
    const { values, positionals } = parse(
      args,
      {
        ...RPC_OPTIONS,
        ...LOG_OPTIONS,
        transcript: { type: "string", multiple: true },
        port: { type: "string" },
        host: { type: "string" },
        "poll-ms": { type: "string" },
        chunk: { type: "string" },
        programs: { type: "string", multiple: true },
      },
      false,
    );
    void positionals;
    const log = logger(values);
    const transcripts = (values.transcript as string[] | undefined) ?? [];
    if (transcripts.length && values.rpc) throw new UsageError("--rpc and --transcript exclude each other");
    const port = intOption(values.port as string | undefined, "port", 8547);
    const pollMs = Math.max(100, intOption(values["poll-ms"] as string | undefined, "poll-ms", 1000));
    const chunk = Math.max(1, intOption(values.chunk as string | undefined, "chunk", 5000));
    const programs = new Programs([TASKS_DIR, ...((values.programs as string[] | undefined) ?? []).map((d) => resolve(d))]);
    if (!existsSync(join(BUILD_DIR, "index.html"))) await buildPage();

    let data: ExplorerData;
    let cleanup = () => {};
    if (transcripts.length) {
      for (const f of transcripts) if (!existsSync(f)) throw new UsageError(`no transcript file ${f}`);
      data = new TranscriptData(transcripts.map((f) => resolve(f)), programs);
    } else {
      const c = await connect(values, undefined, log);
      c.provider.destroy();
      // reads batched: a sync of many tasks costs few HTTP round trips
      const req = new FetchRequest(rpcUrl(values));
      req.timeout = values["rpc-timeout"] ? Number(values["rpc-timeout"]) : 30_000;
      const provider = new JsonRpcProvider(req, undefined, { staticNetwork: Network.from(c.chainId), batchMaxCount: 100, batchStallTime: 2, cacheTimeout: -1 });
      data = new ChainIndex(provider, new Contracts(provider, c.deployment), c.deployment, { label: rpcUrl(values), pollMs, chunk, log, programs });
      cleanup = () => provider.destroy();
    }

    const server = await startExplorerServer(data, { host: values.host as string | undefined, port });
    console.log(JSON.stringify({ url: server.url, source: data.source.kind }));
    log.info("explorer serving", { url: server.url, source: data.source.label });
    await new Promise<void>((resolveStop) => {
      const stop = () => resolveStop();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await server.close();
    cleanup();
    log.info("stopped");
    return 0;
  },
};
export default command;
