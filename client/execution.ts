/**
 * A node's off-chain work on one task: one pass over the run, then roots and witnesses at any step
 * for the games, re-running as little as possible.
 *
 * - The first pass (`run`) keeps machine snapshots (Machine.snapshot) at regular checkpoints: the
 *   step count is not known in advance, so the interval starts small and doubles (dropping every
 *   other checkpoint) whenever more than `maxCheckpoints` are kept or their pages exceed the memory
 *   budget. At the end there are between maxCheckpoints/2 and maxCheckpoints of them.
 * - `rootsAt(points)` restores, for each requested step, the nearest snapshot at or before it (or
 *   continues the machine it already has, when that is nearer), runs to the step, hashes, and keeps a
 *   snapshot there. A game's round asks for the roots at its points, so the next round's segment
 *   starts at a snapshot: it re-runs only the chosen segment, and the whole dispute costs about
 *   1 + (k−1)·interval/N + 1/k + 1/k² + … passes over the task.
 * - `witnessAt(t)` restores the snapshot at t (a round point) and builds the step's witness.
 *
 * `stepsExecuted` counts every step run by this object (for the benchmark: target ≤ 1.5 × steps).
 *
 * With `store` (client/snapshots.ts) the snapshots also go to disk: the first pass's newest
 * checkpoint at most every `persistMs` while it runs and all of them when it ends (with the
 * result), round snapshots as they are taken; dropped ones are deleted. A TaskRun created on a
 * directory left by a killed process starts from there: with the result stored, no first pass at
 * all (snapshots are read back when a point needs them); without it, the first pass resumes from
 * its newest stored checkpoint.
 *
 * Machine work runs in slices through `gate` (the scheduler of runs.ts, which lets the most urgent
 * run of the thread go next); without one, slices alternate with the event loop.
 */
import { hexlify } from "ethers";
import { Status, type Limits } from "../interpreter/isa.js";
import { Machine, PAGE_BYTES, type Snapshot } from "../interpreter/machine.js";
import type { Program } from "../interpreter/program.js";
import { stateComponents, stateRoot } from "../interpreter/state.js";
import { witness } from "../interpreter/witness.js";
import { openingOfComponents, type Hex } from "./encoding.js";
import { silentLogger, type Logger } from "./log.js";
import { AbortedError } from "./rpc.js";
import type { RunStore } from "./snapshots.js";

export interface RunResult {
  steps: bigint;
  status: number;
  trap: number;
  /** Exit code when halted (0 otherwise; absent from results stored before it was recorded). */
  exitCode?: number;
  finalRoot: Hex;
  output: Hex;
  opening: Hex;
  /** Wall time of the first pass (ms). */
  ms: number;
}

export interface TaskRunOptions {
  /** Most checkpoints kept from the first pass. */
  maxCheckpoints?: number;
  /** First checkpoint interval (steps); doubles as needed. */
  firstInterval?: number;
  /** Memory budget of the checkpoints' pages (bytes). */
  memoryBudget?: number;
  /** Steps per slice between yields to the event loop (and abort checks). */
  slice?: number;
  /** Progress log interval (ms). */
  progressMs?: number;
  log?: Logger;
  signal?: AbortSignal;
  /** Snapshots on disk (and the first pass's result): a restart resumes from them. */
  store?: RunStore<RunResult>;
  /** While the first pass runs, its newest checkpoint is written at most this often (ms). */
  persistMs?: number;
  /** Runs one slice of machine work when the scheduler lets it (default: at once, then yields). */
  gate?: (work: () => void) => Promise<void>;
}

interface Kept {
  step: number;
  /** In memory; null while only on disk. */
  snap: Snapshot | null;
  /** From the first pass (kept for the task's life) or from a game's round (pruned by retain). */
  checkpoint: boolean;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export class TaskRun {
  /** Steps executed by this object so far (first pass included). */
  stepsExecuted = 0;
  result: RunResult | null = null;
  private kept: Kept[] = []; // sorted by step
  private work: Machine | null = null;
  private interval: number;
  private readonly opts: Required<Omit<TaskRunOptions, "log" | "signal" | "store" | "gate">>;
  private readonly store: RunStore<RunResult> | null;
  /** The initial machine's environment (table, input): restored snapshots share it. */
  private baseEnv: Snapshot["env"] | null = null;
  private readonly log: Logger;
  private running: Promise<RunResult> | null = null;
  /** Steps since the last yield to the event loop (without a gate). */
  private unyielded = 0;

  constructor(
    readonly program: Program,
    readonly input: Uint8Array,
    readonly limits: Limits,
    private readonly options: TaskRunOptions = {},
  ) {
    this.opts = {
      maxCheckpoints: options.maxCheckpoints ?? 256,
      firstInterval: options.firstInterval ?? 4096,
      memoryBudget: options.memoryBudget ?? 512 * 2 ** 20,
      slice: options.slice ?? 1 << 22,
      progressMs: options.progressMs ?? 2000,
      persistMs: options.persistMs ?? 2000,
    };
    this.interval = this.opts.firstInterval;
    this.log = options.log ?? silentLogger;
    this.store = options.store ?? null;
    if (this.store) {
      const info = this.store.info();
      if (info.interval > 0) this.interval = info.interval;
      for (const s of this.store.list()) {
        const last = this.kept[this.kept.length - 1];
        if (last && last.step === s.step) {
          // a round snapshot that became a checkpoint before a crash: keep one
          this.store.drop(s.step, false);
          last.checkpoint = true;
        } else this.kept.push({ step: s.step, snap: null, checkpoint: s.checkpoint });
      }
      if (info.result) {
        this.result = info.result;
        this.running = Promise.resolve(info.result);
      }
    }
  }

  /** Snapshots stored on disk when the run was opened (a restart), and whether the result was. */
  get resumed(): { snapshots: number; result: boolean } {
    return { snapshots: this.kept.filter((k) => k.snap === null).length, result: this.result !== null && this.stepsExecuted === 0 };
  }

  /** The first pass (once; later calls return the same result). */
  run(): Promise<RunResult> {
    this.running ??= this.firstPass();
    return this.running;
  }

  get steps(): bigint {
    if (!this.result) throw new Error("TaskRun: run() first");
    return this.result.steps;
  }

  /** Steps of the snapshots currently kept (store metadata). */
  snapshotSteps(): { checkpoints: number[]; rounds: number[]; interval: number } {
    return { checkpoints: this.kept.filter((k) => k.checkpoint).map((k) => k.step), rounds: this.kept.filter((k) => !k.checkpoint).map((k) => k.step), interval: this.interval };
  }

  private async firstPass(): Promise<RunResult> {
    const started = performance.now();
    let m: Machine;
    const from = [...this.kept].reverse().find((k) => k.checkpoint);
    if (from && from.step > 0) {
      m = this.restoreKept(from);
      this.log.info("run resumed", { fromStep: from.step, snapshots: this.kept.length, interval: this.interval });
    } else {
      m = Machine.forTask(this.program, this.input, this.limits);
      this.baseEnv = m.env;
      this.keep(0, m.snapshot(), true);
      this.persist(this.kept.filter((k) => k.step === 0));
    }
    let lastLog = started;
    let lastPersist = started;
    while (m.status === Status.Running) {
      const next = (Math.floor(m.steps / this.interval) + 1) * this.interval;
      await this.advance(m, next - m.steps, () => {
        const now = performance.now();
        if (now - lastLog >= this.opts.progressMs) {
          lastLog = now;
          this.log.info("run progress", { steps: m.steps, mStepsPerSec: +(m.steps / (now - started) / 1000).toFixed(1) });
        }
      });
      if (m.status === Status.Running) {
        this.keep(m.steps, m.snapshot(), true);
        this.thin();
        if (this.store && performance.now() - lastPersist >= this.opts.persistMs) {
          this.persist(this.kept.filter((k) => k.step === m.steps));
          lastPersist = performance.now();
        }
      }
    }
    const c = stateComponents(m);
    const steps = BigInt(m.steps);
    this.keep(m.steps, m.snapshot(), true);
    this.result = {
      steps,
      status: m.status,
      trap: m.trap,
      exitCode: m.status === Status.Halted ? m.exitCode : 0,
      finalRoot: hexlify(c.root),
      output: m.status === Status.Halted ? hexlify(m.output()) : "0x",
      opening: hexlify(openingOfComponents(c)),
      ms: performance.now() - started,
    };
    if (this.store) {
      this.persist(this.kept);
      this.store.writeInfo({ ...this.store.info(), interval: this.interval, result: this.result });
    }
    this.log.info("run done", { steps, status: m.status === Status.Halted ? "halted" : "trapped", trap: m.trap, ms: Math.round(this.result.ms), checkpoints: this.kept.length, interval: this.interval });
    return this.result;
  }

  /** Runs `m` for `n` steps in slices, yielding to the event loop between slices. */
  private async advance(m: Machine, n: number, onSlice?: () => void): Promise<void> {
    const gate = this.options.gate;
    while (n > 0 && m.status === Status.Running) {
      if (this.options.signal?.aborted) throw new AbortedError();
      const slice = () => {
        const k = m.run(Math.min(n, this.opts.slice));
        this.stepsExecuted += k;
        n -= k;
      };
      if (gate) await gate(slice);
      else {
        const before = this.stepsExecuted;
        slice();
        this.unyielded += this.stepsExecuted - before;
        if (this.unyielded >= this.opts.slice) {
          this.unyielded = 0;
          await yieldToLoop();
        }
      }
      onSlice?.();
    }
  }

  private keep(step: number, snap: Snapshot, checkpoint: boolean): void {
    let i = this.kept.length;
    while (i > 0 && this.kept[i - 1].step > step) i--;
    if (i > 0 && this.kept[i - 1].step === step) {
      const k = this.kept[i - 1];
      k.snap ??= snap;
      if (checkpoint && !k.checkpoint) {
        this.store?.drop(k.step, false); // written again as a checkpoint
        k.checkpoint = true;
      }
      return;
    }
    this.kept.splice(i, 0, { step, snap, checkpoint });
  }

  /** Keeps at most maxCheckpoints checkpoints within the memory budget by doubling the interval. */
  private thin(): void {
    for (;;) {
      const cps = this.kept.filter((k) => k.checkpoint);
      if (cps.length <= this.opts.maxCheckpoints && this.pageBytes() <= this.opts.memoryBudget) return;
      if (cps.length <= 2) return;
      this.interval *= 2;
      this.drop((k) => k.checkpoint && k.step % this.interval !== 0);
    }
  }

  /** Removes the kept snapshots matching `pred` (from disk too). */
  private drop(pred: (k: Kept) => boolean): void {
    const out: Kept[] = [];
    for (const k of this.kept) {
      if (pred(k)) this.store?.drop(k.step, k.checkpoint);
      else out.push(k);
    }
    this.kept = out;
  }

  /** Writes the kept snapshots given (those in memory and not on disk yet). */
  private persist(items: readonly Kept[]): void {
    if (!this.store) return;
    this.store.save(items.filter((k) => k.snap && !this.store!.has(k.step, k.checkpoint)).map((k) => ({ step: k.step, checkpoint: k.checkpoint, snap: k.snap! })));
  }

  /** A machine in the state of a kept snapshot (read from disk when needed). */
  private restoreKept(k: Kept): Machine {
    if (!k.snap) {
      if (!this.baseEnv) this.baseEnv = Machine.forTask(this.program, this.input, this.limits).env;
      k.snap = this.store!.load(k.step, k.checkpoint, this.program, this.baseEnv);
    }
    return Machine.restore(k.snap);
  }

  /** Bytes of the distinct memory pages held by the snapshots (pages are shared between them). */
  private pageBytes(): number {
    const pages = new Set<Uint8Array>();
    for (const k of this.kept) if (k.snap) for (const p of k.snap.pages) pages.add(p);
    return pages.size * PAGE_BYTES;
  }

  /** The machine to run to step p: the working machine when it is nearer than any snapshot. */
  private machineFor(p: number): Machine {
    let base: Kept | undefined;
    for (const k of this.kept) {
      if (k.step > p) break;
      base = k;
    }
    if (!base) throw new Error(`no snapshot at or before step ${p}`);
    const w = this.work;
    if (w && w.steps <= p && w.steps >= base.step && (w.status === Status.Running || w.steps === p)) return w;
    this.work = this.restoreKept(base);
    return this.work;
  }

  /** The true state roots at `points` (any order; past the end: the final root). */
  async rootsAt(points: readonly bigint[]): Promise<Hex[]> {
    const r = await this.run();
    const before = this.kept.length;
    const out: Hex[] = new Array(points.length);
    const order = points.map((p, i) => [p, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [pt, i] of order) {
      if (pt >= r.steps) {
        out[i] = r.finalRoot;
        continue;
      }
      if (pt === 0n && this.cachedInitial) {
        out[i] = this.cachedInitial;
        continue;
      }
      const p = Number(pt);
      const m = this.machineFor(p);
      await this.advance(m, p - m.steps);
      out[i] = hexlify(stateRoot(m));
      if (p === 0) this.cachedInitial = out[i];
      this.keep(p, m.snapshot(), false);
    }
    if (this.kept.length !== before) this.persist(this.kept);
    return out;
  }

  private cachedInitial: Hex | null = null;

  /** The true state root at one step. */
  async rootAt(t: bigint): Promise<Hex> {
    return (await this.rootsAt([t]))[0];
  }

  /** The witness of the step from state t to state t + 1. */
  async witnessAt(t: bigint): Promise<Hex> {
    const r = await this.run();
    const p = Number(t < r.steps ? t : r.steps);
    const m = this.machineFor(p);
    await this.advance(m, p - m.steps);
    const w = hexlify(witness(m));
    this.keep(p, m.snapshot(), false);
    this.persist(this.kept.filter((k) => k.step === p));
    return w;
  }

  /** Drops the round snapshots outside every segment still disputed (checkpoints stay). */
  retain(segments: readonly (readonly [bigint, bigint])[]): void {
    this.drop((k) => !k.checkpoint && !segments.some(([lo, hi]) => BigInt(k.step) >= lo && BigInt(k.step) <= hi));
    if (this.work && !segments.some(([lo, hi]) => BigInt(this.work!.steps) >= lo && BigInt(this.work!.steps) <= hi)) this.work = null;
  }
}
