/**
 * A machine worker thread (client/workers.ts): a RunHost (runs.ts) serving the node's requests.
 * Messages in: {id, key, req, deadline}. Out: {id, value} | {id, error, aborted}, and
 * {steps: [key, delta]} and {log: [level, msg, fields]} as they happen.
 */
import { parentPort } from "node:worker_threads";
import type { Logger } from "./log.js";
import { errorMessage } from "./log.js";
import { AbortedError } from "./rpc.js";
import { RunHost, type Request } from "./runs.js";

const port = parentPort!;

function forwardLogger(fields: Record<string, unknown>): Logger {
  const at = (level: string) => (msg: string, f?: Record<string, unknown>) => port.postMessage({ log: [level, msg, { ...fields, ...f }] });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: (f) => forwardLogger({ ...fields, ...f }) };
}

const host = new RunHost({ log: forwardLogger({}), steps: (key, delta) => port.postMessage({ steps: [key, delta] }) });

port.on("message", async (m: { id: number; key: string; req: Request; deadline: number }) => {
  try {
    const value = await host.call(m.key, m.req, m.deadline);
    port.postMessage({ id: m.id, value });
  } catch (e) {
    port.postMessage({ id: m.id, error: errorMessage(e), aborted: e instanceof AbortedError });
  }
});
