/**
 * The machine side of a node, as run in each worker thread (machine-worker.ts) or, with
 * `--workers 0`, in the node's own thread: the task runs (execution.ts) assigned to this thread,
 * their snapshots on disk (snapshots.ts), and a scheduler.
 *
 * Scheduling: machine work runs in slices (4 M steps by default, about 0.1–0.3 s). Between slices
 * the thread goes back to its event loop (new requests arrive), then the scheduler lets the most
 * urgent waiting run go on: earliest deadline first, a deadline being the chain time by which the
 * work must be done (the clock of a game move, the end of a challenge window, a task's deadline;
 * node.ts computes them). So a first pass of 10^8 steps started for a far deadline yields, slice by
 * slice, to the roots a game needs within its clock. Requests on one run are served in order (a run
 * has one working machine); its urgency is that of its most urgent request waiting.
 */
import type { Limits } from "../interpreter/isa.js";
import { checkInitialRoot, verifyProgram, type VerifiedProgram } from "./chain.js";
import type { Hex } from "./encoding.js";
import { TaskRun, type RunResult, type TaskRunOptions } from "./execution.js";
import type { Logger } from "./log.js";
import { AbortedError } from "./rpc.js";
import { RunStore } from "./snapshots.js";

export type RunOptions = Omit<TaskRunOptions, "log" | "signal" | "store" | "gate">;

export interface OpenSpec {
  programRoot: Hex;
  wasm: Uint8Array;
  input: Uint8Array;
  limits: Limits;
  initialRoot: Hex;
  /** The run's snapshot directory (null: memory only). */
  dir: string | null;
  options: RunOptions;
}

export type Request =
  | { op: "open"; spec: OpenSpec }
  | { op: "run" }
  | { op: "rootsAt"; points: bigint[] }
  | { op: "witnessAt"; t: bigint }
  | { op: "retain"; segments: [bigint, bigint][] }
  | { op: "close"; deleteFiles: boolean };

export interface OpenResult {
  refused: string | null;
  resumed: { snapshots: number; result: boolean };
}

/** Earliest-deadline-first over slices of machine work, in one thread. */
export class Scheduler {
  private waiting: { urgency: () => number; seq: number; go: () => void }[] = [];
  private busy = false;
  private scheduled = false;
  private seq = 0;
  /** Slices run so far (tests). */
  slices = 0;

  /** Runs `work` when no other slice runs and no more urgent run waits. */
  async gate(urgency: () => number, work: () => void): Promise<void> {
    await new Promise<void>((go) => {
      this.waiting.push({ urgency, seq: this.seq++, go });
      this.pump();
    });
    try {
      this.slices++;
      work();
    } finally {
      this.busy = false;
      this.pump();
    }
  }

  private pump(): void {
    if (this.busy || this.scheduled || this.waiting.length === 0) return;
    this.scheduled = true;
    // after the event loop's pending callbacks (new requests, messages), pick the most urgent
    setImmediate(() => {
      this.scheduled = false;
      if (this.busy || this.waiting.length === 0) return;
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) {
        const a = this.waiting[i], b = this.waiting[best];
        const ua = a.urgency(), ub = b.urgency();
        if (ua < ub || (ua === ub && a.seq < b.seq)) best = i;
      }
      const [w] = this.waiting.splice(best, 1);
      this.busy = true;
      w.go();
    });
  }
}

interface Entry {
  run: TaskRun;
  store: RunStore<RunResult> | null;
  /** Serialises the requests on this run. */
  tail: Promise<unknown>;
  /** Deadlines of the requests waiting or in progress. */
  pending: number[];
  /** Steps of this run already reported (a run closed and opened again starts from 0). */
  reported: number;
}

export interface HostHooks {
  log: Logger;
  /** Steps executed by a run since the last report. */
  steps?(key: string, delta: number): void;
  signal?: AbortSignal;
}

/** The task runs of one thread. */
export class RunHost {
  readonly scheduler = new Scheduler();
  private readonly runs = new Map<string, Entry>();
  private readonly programs = new Map<string, VerifiedProgram | null>();

  constructor(private readonly hooks: HostHooks) {}

  get open(): number {
    return this.runs.size;
  }

  /** Handles one request on the run `key` with the given deadline (lower: more urgent). */
  async call(key: string, req: Request, deadline: number): Promise<unknown> {
    if (req.op === "open") return this.openRun(key, req.spec);
    const e = this.runs.get(key);
    if (!e) throw new Error(`no run ${key}`);
    e.pending.push(deadline);
    const result = e.tail.then(() => this.serve(key, e, req));
    e.tail = result.catch(() => undefined);
    try {
      return await result;
    } finally {
      e.pending.splice(e.pending.indexOf(deadline), 1);
      this.report(key, e);
    }
  }

  private async serve(key: string, e: Entry, req: Exclude<Request, { op: "open" }>): Promise<unknown> {
    if (this.hooks.signal?.aborted) throw new AbortedError();
    switch (req.op) {
      case "run":
        return e.run.run();
      case "rootsAt":
        return e.run.rootsAt(req.points);
      case "witnessAt":
        return e.run.witnessAt(req.t);
      case "retain":
        e.run.retain(req.segments);
        return e.run.snapshotSteps();
      case "close":
        this.runs.delete(key);
        if (req.deleteFiles) e.store?.destroy();
        return e.run.stepsExecuted;
    }
  }

  private report(key: string, e: Entry): void {
    const now = e.run.stepsExecuted;
    if (now !== e.reported) {
      const delta = now - e.reported;
      e.reported = now;
      this.hooks.steps?.(key, delta);
    }
  }

  private openRun(key: string, spec: OpenSpec): OpenResult {
    const existing = this.runs.get(key);
    if (existing) return { refused: null, resumed: existing.run.resumed };
    let p = this.programs.get(spec.programRoot);
    if (p === undefined) {
      p = verifyProgram(spec.wasm, spec.programRoot);
      this.programs.set(spec.programRoot, p);
    }
    if (!p) return { refused: "the program's bytes do not lower to its root", resumed: { snapshots: 0, result: false } };
    const bad = checkInitialRoot(p, spec.input, spec.limits, spec.initialRoot);
    if (bad) return { refused: bad, resumed: { snapshots: 0, result: false } };
    const store = spec.dir ? new RunStore<RunResult>(spec.dir, spec.initialRoot) : null;
    const e: Entry = { run: null as unknown as TaskRun, store, tail: Promise.resolve(), pending: [], reported: 0 };
    const urgency = () => (e.pending.length ? Math.min(...e.pending) : Infinity);
    let lastReport = 0;
    e.run = new TaskRun(p.program, spec.input, spec.limits, {
      ...spec.options,
      log: this.hooks.log.child({ taskId: key }),
      signal: this.hooks.signal,
      store: store ?? undefined,
      gate: (work) =>
        this.scheduler.gate(urgency, () => {
          work();
          const now = Date.now();
          if (now - lastReport >= 250) {
            lastReport = now;
            this.report(key, e);
          }
        }),
    });
    this.runs.set(key, e);
    return { refused: null, resumed: e.run.resumed };
  }
}
