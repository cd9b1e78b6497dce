/**
 * Helpers for tests that run solver and challenger nodes in process (client/inprocess.ts): the
 * nodes' log lines captured and polled, their withdrawals awaited, and what each account was paid.
 */
import type { Provider } from "ethers";
import { feesPaid } from "../../client/chain.js";
import type { Contracts } from "../../client/contracts.js";
import { createLogger, type Logger } from "../../client/log.js";
import type { Node } from "../../client/node.js";

export interface NodeLogLine {
  level: string;
  node?: string;
  msg: string;
  taskId?: string;
  [k: string]: unknown;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` (every 25 ms) until it returns a value, which it returns; fails after `ms`. */
export async function until<T>(what: string, f: () => T | null | undefined | false | Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const x = await f();
    if (x) return x;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(25);
  }
}

/** The log lines of the nodes given `log`. */
export class NodeLogs {
  readonly lines: NodeLogLine[] = [];
  readonly log: Logger;

  constructor(level: "debug" | "info" = "info") {
    this.log = createLogger({ level, sink: (line: string) => this.lines.push(JSON.parse(line)) });
  }

  /** Polls `cond` (every 25 ms) until it holds; fails on a node's error line or after `ms`. */
  async until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      const err = this.lines.find((l) => l.level === "error");
      if (err) throw new Error(`a node failed: ${err.node}: ${err.msg} ${String(err.error ?? "")}`);
      if (await cond()) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  }

  /** Over the lines logged from now on: whether `node` logged `msg` (about task `taskId`, if given). */
  since(): (node: string, msg: string, taskId?: bigint) => boolean {
    const mark = this.lines.length;
    return (node, msg, taskId) => this.lines.slice(mark).some((l) => l.node === node && l.msg === msg && (taskId === undefined || l.taskId === taskId.toString()));
  }

  /** Waits until `nodes` are owed nothing by the market and have no transaction pending. */
  async withdrawn(contracts: Contracts, nodes: Node[]): Promise<void> {
    await this.until("the nodes' withdrawals", async () => {
      const owed = await Promise.all(nodes.map((n) => contracts.balanceOf(n.address)));
      return owed.every((o) => o === 0n) && nodes.every((n) => n.txs.pending().length === 0);
    });
  }
}

/** Each account's balance. */
export function balances(provider: Provider, accounts: string[]): Promise<bigint[]> {
  return Promise.all(accounts.map((a) => provider.getBalance(a)));
}

/** What each account was paid since `startBlock` (balances `before`): its balance change with the fees it paid added back. */
export async function payoutsSince(provider: Provider, accounts: string[], startBlock: number, before: bigint[]): Promise<bigint[]> {
  const fees = await feesPaid(provider, accounts, startBlock, await provider.getBlockNumber());
  const after = await balances(provider, accounts);
  return accounts.map((a, i) => after[i] - before[i] + (fees.get(a.toLowerCase()) ?? 0n));
}
