/**
 * A solver's own commitment whose reveal window has closed (the node was down, slow, or the chain's
 * clock jumped past `revealBy` between its commit and its reveal): the reveal reverts
 * (`RevealClosed`) for ever, and the task stays held by that commitment until someone forfeits it.
 * The fleet benchmark stalled this way (its window jump landed between a recommitment and its
 * reveal; the only other solver declined the task, so nobody forfeited it). The node forfeits its
 * own late commitment (the bond is lost either way) and commits again, so the task is served.
 *
 * In-process Hardhat network, real contracts, one solver node stopped right after its commit went
 * on the wire (so it cannot reveal), the clock moved past the reveal window, the node restarted on
 * the same store.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexlify } from "ethers";
import { Contracts, Stage } from "../../client/contracts.js";
import { inProcessNetwork, type InProcessNetwork } from "../../client/inprocess.js";
import { createLogger, silentLogger } from "../../client/log.js";
import { compileProgram, DEFAULT_TERMS, ensureRegistered, postTask } from "../../client/tasks.js";
import { TxManager } from "../../client/txs.js";
import { taskEvents } from "../../client/chain.js";
import { deploy } from "../../client/index.js";
import { SolverNode, startSolver, type SolverOptions } from "../../solver/solver.js";
import type { ChainEvent } from "../../client/chain.js";
import type { Hex } from "../../client/encoding.js";
import type { TaskRecord } from "../../client/node.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { sleep, until } from "../client/nodes.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const WINDOW = 600;
let net: InProcessNetwork;
let dir: string;

beforeAll(async () => {
  net = await inProcessNetwork();
  dir = mkdtempSync(join(tmpdir(), "truewasm-commitments-"));
});

afterAll(async () => {
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a solver's own commitment not revealed in time", () => {
  it("is forfeited by the node itself, which commits again and finalizes the task", async () => {
    const d = await deploy(net.wallet(0), { k: 16, clock: 3600 });
    const contracts = new Contracts(net.provider, d);
    const poster = new TxManager(net.provider, net.wallet(0), null, { contracts, pollMs: 20 });
    const wasm = new Uint8Array(readFileSync(join(ROOT, "wasm-tasks/build/echo.wasm")));
    const program = compileProgram(wasm);
    await ensureRegistered(poster, contracts, program);
    const input = Uint8Array.from({ length: 24 }, (_, i) => i * 7 + 1);
    const { taskId } = await postTask(poster, contracts, net.provider, program.root, input, { ...DEFAULT_TERMS, reward: 10n ** 18n, window: WINDOW });
    const lines: Record<string, unknown>[] = [];
    let onLine = (_l: Record<string, unknown>) => {};
    const log = createLogger({ level: "debug", sink: (s) => (lines.push(JSON.parse(s)), onLine(JSON.parse(s))) });
    const opts: SolverOptions = { provider: net.provider, wallet: net.wallet(1), deployment: d, dataDir: join(dir, "solver"), pollMs: 50, workers: 0, log, transcripts: false };

    // 1. the solver commits and is stopped the moment its commit is on the wire: no reveal
    const first = startSolver(opts);
    onLine = (l) => {
      if (l.msg === "move sent" && String(l.intent).startsWith("commit:")) void first.stop();
    };
    await first.done;
    onLine = () => {};
    const held = await until("the commitment mined", async () => {
      const v = await contracts.taskOf(taskId);
      return v.committed && v;
    });
    expect(held.revealed).toBe(false);

    // 2. its reveal window passes
    await net.send("evm_increaseTime", [WINDOW + 5]);
    await net.send("evm_mine", []);

    // 3. restarted on its store: it cannot reveal any more; it forfeits its own commitment and commits again
    const second = startSolver(opts);
    try {
      await until("the second commitment revealed", async () => (await contracts.taskOf(taskId)).revealed, 30_000).catch((e) => {
        throw new Error(`${e.message}; the solver's refusals: ${JSON.stringify(lines.filter((l) => l.msg === "not sent").slice(-3))}`);
      });
      await net.send("evm_increaseTime", [WINDOW + 5]);
      await net.send("evm_mine", []);
      const v = await until("finalized", async () => {
        const x = await contracts.taskOf(taskId);
        return x.stage === Stage.Finalized && x;
      });
      expect(v.stage).toBe(Stage.Finalized);
    } finally {
      await second.stop();
    }
    const events = await taskEvents(net.provider, contracts, taskId, d.block);
    expect(events.map((e) => e.kind)).toEqual(["TaskPosted", "Committed", "Forfeited", "Committed", "Revealed", "Finalized"]);
    const revealed = events.find((e) => e.kind === "Revealed")!;
    const m = Machine.forTask(compile(wasm), input, DEFAULT_TERMS.limits);
    m.run();
    expect(revealed.kind === "Revealed" && revealed.output).toBe(hexlify(m.output()));
    expect(lines.some((l) => l.msg === "move sent" && l.intent === `forfeit:${taskId}:${events[1].block}`)).toBe(true);
    expect(lines.some((l) => l.msg === "move sent" && l.intent === `commit:${taskId}:0:1`)).toBe(true);
  });
});

describe("a reorg's rollback and the activities in flight", () => {
  it("restores records in place: an activity's later write neither resurrects the abandoned branch nor hides the new one", async () => {
    const d = await deploy(net.wallet(0), { k: 16, clock: 3600 });
    const contracts = new Contracts(net.provider, d);
    const poster = new TxManager(net.provider, net.wallet(0), null, { contracts, pollMs: 20 });
    const program = compileProgram(new Uint8Array(readFileSync(join(ROOT, "wasm-tasks/build/echo.wasm"))));
    await ensureRegistered(poster, contracts, program);
    const posted = await postTask(poster, contracts, net.provider, program.root, Uint8Array.of(1, 2, 3), { ...DEFAULT_TERMS, reward: 10n ** 18n, window: WINDOW });
    const solver = new SolverNode({ provider: net.provider, wallet: net.wallet(1), deployment: d, dataDir: join(dir, "rollback"), workers: 0, log: silentLogger, transcripts: false });
    type Ev = ChainEvent;
    const inner = solver as unknown as { journal(e: Ev): void; apply(e: Ev): Promise<void>; rollback(ancestor: number): Promise<void>; tasks: Map<string, TaskRecord>; saveTask(t: TaskRecord): void };
    const feed = async (e: Ev) => (inner.journal(e), await inner.apply(e));
    const loc = (block: number) => ({ block, logIndex: 0, tx: ("0x" + "ab".repeat(32)) as Hex });
    const id = posted.taskId;
    await feed({ ...loc(d.block + 10), kind: "TaskPosted", taskId: id, programRoot: program.root, poster: net.wallet(0).address, initialRoot: posted.initialRoot, limits: DEFAULT_TERMS.limits, inputLength: 3, input: "0x010203" });
    const other = net.wallet(5).address;
    await feed({ ...loc(d.block + 20), kind: "Committed", taskId: id, solver: other, commitment: ("0x" + "11".repeat(32)) as Hex });
    // an activity holds the record (a solver's run, say) while the chain reorganises below the commit
    const held = inner.tasks.get(id.toString())!;
    await inner.rollback(d.block + 15);
    expect(inner.tasks.get(id.toString())).toBe(held);
    expect(held.commitment ?? null).toBeNull();
    // the activity records its claim and saves the record it holds
    held.claims = [{ epoch: 0, finalRoot: ("0x" + "22".repeat(32)) as Hex, steps: 1n, output: "0x", opening: "0x", salt: ("0x" + "33".repeat(32)) as Hex, lieFrom: null }];
    inner.saveTask(held);
    // the new branch's events still apply (the record's position went back with it)
    await feed({ ...loc(d.block + 18), kind: "Committed", taskId: id, solver: net.wallet(6).address, commitment: ("0x" + "44".repeat(32)) as Hex });
    const now = inner.tasks.get(id.toString())!;
    expect(now.commitment?.solver).toBe(net.wallet(6).address);
    expect(now.claims?.length).toBe(1);
    expect(solver.store.get<TaskRecord>("tasks", id.toString())?.commitment?.solver).toBe(net.wallet(6).address);
    // a rollback below the task's post deletes it; the activity's later write does not bring it back
    await inner.rollback(d.block + 5);
    expect(inner.tasks.has(id.toString())).toBe(false);
    inner.saveTask(now);
    expect(inner.tasks.has(id.toString())).toBe(false);
    expect(solver.store.get("tasks", id.toString())).toBeUndefined();
    await solver.pool.close();
  });
});
