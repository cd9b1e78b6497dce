/**
 * The node's machine pool: its task runs, off the node's event loop. `workers` threads
 * (machine-worker.ts) each hold some runs (a run stays on the thread that opened it: its machine and
 * snapshots are there) and schedule their slices by deadline (runs.ts); with `workers: 0` the runs
 * live in the node's own thread, behind the same scheduler (tests, debugging).
 *
 * The deadline of a request is that of the node's activity that asks for it (node.ts, spawn; an
 * AsyncLocalStorage carries it through the role's code to here), so the roles' moves need no
 * scheduling code of their own.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Worker } from "node:worker_threads";
import type { Hex } from "./encoding.js";
import type { RunResult } from "./execution.js";
import { silentLogger, type Logger } from "./log.js";
import { AbortedError } from "./rpc.js";
import { RunHost, type OpenResult, type OpenSpec, type Request } from "./runs.js";

/** The activity in progress (node.ts, spawn): its key and its deadline, passed on to machine requests. */
export const activity = new AsyncLocalStorage<{ key: string; priority: number }>();

export interface PoolOptions {
  /** Worker threads (0: runs in this thread). */
  workers: number;
  log?: Logger;
}

interface Lane {
  call(key: string, req: Request, deadline: number): Promise<unknown>;
  runs: number;
  close(): Promise<void>;
}

export class MachinePool {
  private readonly lanes: Lane[] = [];
  private readonly assigned = new Map<string, Lane>();
  private readonly log: Logger;
  private closed = false;
  /** Steps executed by all runs (reported by the threads as they go). */
  stepsExecuted = 0;
  /** Requests in progress (runs in flight). */
  inFlight = 0;
  /** Called with each report of executed steps. */
  onSteps?: (delta: number) => void;

  constructor(opts: PoolOptions) {
    this.log = opts.log ?? silentLogger;
    const steps = (_key: string, delta: number) => {
      this.stepsExecuted += delta;
      this.onSteps?.(delta);
    };
    if (opts.workers <= 0) {
      const host = new RunHost({ log: this.log, steps });
      this.lanes.push({ call: (k, r, d) => host.call(k, r, d), runs: 0, close: async () => {} });
    } else for (let i = 0; i < opts.workers; i++) this.lanes.push(this.workerLane(i, steps));
  }

  private workerLane(index: number, steps: (key: string, delta: number) => void): Lane {
    const worker = new Worker(new URL("./machine-worker.mjs", import.meta.url));
    worker.unref();
    const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    let next = 0;
    let dead: Error | null = null;
    const log = this.log.child({ worker: index });
    worker.on("message", (m: { id?: number; value?: unknown; error?: string; aborted?: boolean; steps?: [string, number]; log?: [string, string, Record<string, unknown>] }) => {
      if (m.steps) return steps(m.steps[0], m.steps[1]);
      if (m.log) return (log as unknown as Record<string, (msg: string, f: Record<string, unknown>) => void>)[m.log[0]](m.log[1], m.log[2]);
      const w = waiting.get(m.id!);
      if (!w) return;
      waiting.delete(m.id!);
      if (m.error !== undefined) w.reject(m.aborted ? new AbortedError() : new Error(m.error));
      else w.resolve(m.value);
    });
    const fail = (e: Error) => {
      dead = e;
      for (const w of waiting.values()) w.reject(this.closed ? new AbortedError() : e);
      waiting.clear();
    };
    worker.on("error", (e) => {
      log.error("machine worker failed", { error: e.message });
      fail(e);
    });
    worker.on("exit", (code) => fail(new Error(`machine worker exited (${code})`)));
    return {
      runs: 0,
      call: (key, req, deadline) =>
        new Promise((resolve, reject) => {
          if (dead) return reject(this.closed ? new AbortedError() : dead);
          const id = next++;
          waiting.set(id, { resolve, reject });
          worker.postMessage({ id, key, req, deadline });
        }),
      close: async () => {
        await worker.terminate();
      },
    };
  }

  /** Opens (or finds) the run of `key`; `refused` says why a task cannot be run. */
  async open(key: string, spec: OpenSpec): Promise<{ handle: RunProxy | null; refused: string | null; resumed: OpenResult["resumed"] }> {
    let lane = this.assigned.get(key);
    if (!lane) {
      lane = this.lanes.reduce((a, b) => (b.runs < a.runs ? b : a));
      lane.runs++;
      this.assigned.set(key, lane);
    }
    const r = (await this.request(key, { op: "open", spec })) as OpenResult;
    if (r.refused) {
      this.release(key);
      return { handle: null, refused: r.refused, resumed: r.resumed };
    }
    return { handle: new RunProxy(this, key), refused: null, resumed: r.resumed };
  }

  private release(key: string): void {
    const lane = this.assigned.get(key);
    if (!lane) return;
    lane.runs--;
    this.assigned.delete(key);
  }

  /** Sends a request to the thread of `key` with the deadline of the current activity. */
  async request(key: string, req: Request): Promise<unknown> {
    if (this.closed) throw new AbortedError();
    const lane = this.assigned.get(key);
    if (!lane) throw new Error(`no run ${key}`);
    const deadline = activity.getStore()?.priority ?? Number.MAX_SAFE_INTEGER;
    this.inFlight++;
    try {
      return await lane.call(key, req, deadline);
    } finally {
      this.inFlight--;
      if (req.op === "close") this.release(key);
    }
  }

  /** Threads of the pool (0: in-thread). */
  get threads(): number {
    return this.lanes.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

/** A task run as the roles see it (node.ts RunHandle), served by the pool. */
export class RunProxy {
  constructor(
    private readonly pool: MachinePool,
    readonly key: string,
  ) {}

  run(): Promise<RunResult> {
    return this.pool.request(this.key, { op: "run" }) as Promise<RunResult>;
  }

  rootsAt(points: readonly bigint[]): Promise<Hex[]> {
    return this.pool.request(this.key, { op: "rootsAt", points: [...points] }) as Promise<Hex[]>;
  }

  async rootAt(t: bigint): Promise<Hex> {
    return (await this.rootsAt([t]))[0];
  }

  witnessAt(t: bigint): Promise<Hex> {
    return this.pool.request(this.key, { op: "witnessAt", t }) as Promise<Hex>;
  }

  /** Keeps the round snapshots inside these segments (checkpoints stay); the snapshot steps kept. */
  retain(segments: readonly (readonly [bigint, bigint])[]): Promise<{ checkpoints: number[]; rounds: number[]; interval: number }> {
    return this.pool.request(this.key, { op: "retain", segments: segments.map(([a, b]) => [a, b] as [bigint, bigint]) }) as Promise<{ checkpoints: number[]; rounds: number[]; interval: number }>;
  }

  /** Drops the run (and its files when the task is over). */
  close(deleteFiles: boolean): Promise<unknown> {
    return this.pool.request(this.key, { op: "close", deleteFiles });
  }
}
