/**
 * The node's machine side: snapshots on disk (content-addressed pages, atomic files, resume after a
 * kill), the deadline scheduler, and the worker pool.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hexlify } from "ethers";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import { initialStateRoot, programDescriptor, programRoot, rootsAtSteps } from "../../interpreter/state.js";
import { REPO_ROOT } from "../../client/contracts.js";
import { TaskRun, type RunResult } from "../../client/execution.js";
import { innerPoints } from "../../client/game.js";
import { Scheduler } from "../../client/runs.js";
import { RunStore } from "../../client/snapshots.js";
import { activity, MachinePool } from "../../client/workers.js";
import { BACKGROUND_PRIORITY } from "../../client/node.js";

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), `truewasm-runs-${p}-`));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const wasm = (name: string) => new Uint8Array(readFileSync(join(REPO_ROOT, "wasm-tasks/build", `${name}.wasm`)));
const limits = { steps: 2 ** 40, memoryPages: 1024, callDepth: 1024, stackHeight: 65536, outputBytes: 64 };
const sha = compile(wasm("sha256d"));
/** sha256d over n 80-byte messages (16,489 steps each). */
const messages = (n: number) => Uint8Array.from({ length: 80 * n }, (_, i) => (i * 7 + 3) & 255);

describe("snapshots on disk", () => {
  it("a run resumes from its stored snapshots: no first pass, roots from the nearest snapshot", async () => {
    const dir = join(tmp("resume"), "run");
    const input = messages(40);
    const opts = { firstInterval: 4096, maxCheckpoints: 32, slice: 50_000 };
    const a = new TaskRun(sha, input, limits, { ...opts, store: new RunStore<RunResult>(dir, "0xaa") });
    const r = await a.run();
    const n = Number(r.steps);
    const pts = innerPoints(0n, r.steps, 8);
    const roots = await a.rootsAt(pts);
    expect(roots).toEqual(rootsAtSteps(sha, input, limits, pts.map(Number)).map((x) => hexlify(x)));
    // pages are content-addressed and shared: far fewer page files than snapshots × pages
    const files = readdirSync(dir);
    const snaps = files.filter((f) => f.endsWith(".snap"));
    expect(snaps.length).toBeGreaterThanOrEqual(16 + 7);
    expect(readdirSync(join(dir, "pages")).length).toBeLessThanOrEqual(snaps.length);
    // a page is stored once whatever the number of snapshots naming it
    const m = Machine.forTask(sha, input, limits);
    const s0 = m.snapshot();
    const other = new RunStore<RunResult>(join(tmp("pages"), "run"), "0x00");
    other.save([0, 1, 2].map((step) => ({ step, checkpoint: true, snap: s0 })));
    expect(readdirSync(join(other.dir, "pages"))).toHaveLength(s0.pages.length);
    other.drop(0, true);
    other.drop(1, true);
    expect(readdirSync(join(other.dir, "pages"))).toHaveLength(s0.pages.length);
    other.drop(2, true);
    expect(readdirSync(join(other.dir, "pages"))).toHaveLength(0);

    // "restart": a new run on the same directory
    const b = new TaskRun(sha, input, limits, { ...opts, store: new RunStore<RunResult>(dir, "0xaa") });
    expect(b.resumed.result).toBe(true);
    expect((await b.run()).finalRoot).toBe(r.finalRoot);
    expect(b.stepsExecuted).toBe(0);
    // the next round inside segment 3: only that segment is run (it starts at a stored round snapshot)
    const seg = innerPoints(pts[2], pts[3], 8);
    expect(await b.rootsAt(seg)).toEqual(rootsAtSteps(sha, input, limits, seg.map(Number)).map((x) => hexlify(x)));
    expect(b.stepsExecuted).toBeLessThanOrEqual(Number(pts[3] - pts[2]));
    // another fingerprint (another task in the same place): the files are discarded
    const c = new RunStore<RunResult>(dir, "0xbb");
    expect(c.list()).toHaveLength(0);
    expect(n).toBeGreaterThan(600_000);
  });

  it("a first pass killed midway resumes from its newest stored checkpoint", async () => {
    const dir = join(tmp("midway"), "run");
    const input = messages(60);
    const controller = new AbortController();
    const a = new TaskRun(sha, input, limits, { firstInterval: 4096, maxCheckpoints: 64, slice: 20_000, persistMs: 0, signal: controller.signal, store: new RunStore<RunResult>(dir, "0x01") });
    const p = a.run();
    while (a.stepsExecuted < 500_000) await new Promise((r) => setImmediate(r));
    controller.abort();
    await expect(p).rejects.toThrow();
    const at = a.stepsExecuted;
    // a torn temporary file (a write cut by the kill) is swept at open
    writeFileSync(join(dir, "c-999.snap.tmp-1-1"), "torn");
    const b = new TaskRun(sha, input, limits, { firstInterval: 4096, maxCheckpoints: 64, slice: 20_000, store: new RunStore<RunResult>(dir, "0x01") });
    const r = await b.run();
    expect(existsSync(join(dir, "c-999.snap.tmp-1-1"))).toBe(false);
    // resumed close to where it stopped, not from step 0
    expect(b.stepsExecuted).toBeLessThan(Number(r.steps) - at + 2 * 65_536);
    const fresh = new TaskRun(sha, input, limits);
    expect((await fresh.run()).finalRoot).toBe(r.finalRoot);
  });
});

describe("scheduling", () => {
  it("the most urgent waiting run gets the next slice", async () => {
    const s = new Scheduler();
    const order: string[] = [];
    const job = async (name: string, deadline: number, slices: number) => {
      for (let i = 0; i < slices; i++) await s.gate(() => deadline, () => order.push(name));
    };
    const far = job("far", 1000, 6);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    const near = job("near", 10, 3);
    await Promise.all([far, near]);
    // once "near" is waiting, it runs before the rest of "far"
    const firstNear = order.indexOf("near");
    expect(order.slice(firstNear, firstNear + 3)).toEqual(["near", "near", "near"]);
    expect(order.filter((x) => x === "far")).toHaveLength(6);
  });

  it("a run ahead of the reveal (background) yields to a game's run, and a check of a revealed solution raises it", async () => {
    const pool = new MachinePool({ workers: 0 });
    try {
      const d = programDescriptor(sha);
      const open = async (key: string, n: number) =>
        (await pool.open(key, { programRoot: hexlify(programRoot(d)), wasm: wasm("sha256d"), input: messages(n), limits, initialRoot: hexlify(initialStateRoot(d, messages(n), limits)), dir: null, options: { slice: 50_000 } })).handle!;
      const chainNow = 1_700_000_000;
      const [early, late, game] = await Promise.all([open("early", 60), open("late", 60), open("game", 20)]);
      const done: string[] = [];
      const track = (name: string, p: Promise<unknown>) => p.then(() => void done.push(name));
      // two runs ahead of reveals (the one of the later deadline started second), then a game's move
      const a = track("early", activity.run({ key: "prerun:early", priority: BACKGROUND_PRIORITY + chainNow + 1000 }, () => early.run()));
      const b = track("late", activity.run({ key: "prerun:late", priority: BACKGROUND_PRIORITY + chainNow + 2000 }, () => late.run()));
      await new Promise((r) => setTimeout(r, 20));
      const g = track("game", activity.run({ key: "game:1", priority: chainNow + 86_400 }, () => game.rootsAt([100_000n])));
      // the solution of the later task is revealed: its check (the window's end) waits for that run
      const c = track("check", activity.run({ key: "task:late", priority: chainNow + 600 }, () => late.run()));
      await Promise.all([a, b, g, c]);
      expect(done.indexOf("game")).toBeLessThan(done.indexOf("early"));
      expect(done.indexOf("late")).toBeLessThan(done.indexOf("early"));
      expect(done.indexOf("check")).toBeLessThan(done.indexOf("early"));
    } finally {
      await pool.close();
    }
  });

  it("a run closed and opened again from its files reports its steps from zero (never a negative count)", async () => {
    const pool = new MachinePool({ workers: 0 });
    const deltas: number[] = [];
    pool.onSteps = (d) => void deltas.push(d);
    try {
      const d = programDescriptor(sha);
      const spec = { programRoot: hexlify(programRoot(d)), wasm: wasm("sha256d"), input: messages(20), limits, initialRoot: hexlify(initialStateRoot(d, messages(20), limits)), dir: join(tmp("reopen"), "run"), options: { slice: 50_000 } };
      const first = (await pool.open("t", spec)).handle!;
      const r = await first.run();
      await first.close(false);
      expect(pool.stepsExecuted).toBe(Number(r.steps));
      const again = (await pool.open("t", spec)).handle!;
      await again.rootsAt([r.steps / 2n]);
      expect(deltas.every((x) => x > 0)).toBe(true);
      expect(pool.stepsExecuted).toBeGreaterThan(Number(r.steps));
      expect(pool.stepsExecuted).toBeLessThan(Number(r.steps) * 1.1);
    } finally {
      await pool.close();
    }
  });

  it("worker threads: roots match, a long run does not delay an urgent one on another thread", async () => {
    const pool = new MachinePool({ workers: 2 });
    try {
      const open = async (key: string, input: Uint8Array) => {
        const d = programDescriptor(sha);
        const r = await pool.open(key, { programRoot: hexlify(programRoot(d)), wasm: wasm("sha256d"), input, limits, initialRoot: hexlify(initialStateRoot(d, input, limits)), dir: join(tmp("pool"), key), options: { slice: 200_000 } });
        expect(r.refused).toBeNull();
        return r.handle!;
      };
      const big = await open("1", messages(300));
      const small = await open("2", messages(10));
      const bigDone = activity.run({ key: "big", priority: 1e12 }, () => big.run());
      const t0 = performance.now();
      const sr = await activity.run({ key: "small", priority: 10 }, () => small.run());
      const smallMs = performance.now() - t0;
      const br = await bigDone;
      expect(sr.finalRoot).toBe((await new TaskRun(sha, messages(10), limits).run()).finalRoot);
      expect(br.steps).toBeGreaterThan(4_000_000n);
      const pts = [1n, 77_777n, sr.steps - 1n];
      expect(await small.rootsAt(pts)).toEqual(rootsAtSteps(sha, messages(10), limits, pts.map(Number)).map((x) => hexlify(x)));
      expect(pool.stepsExecuted).toBeGreaterThanOrEqual(Number(br.steps + sr.steps));
      expect(smallMs).toBeLessThan(5_000);
      // a refused run (initial root of another input)
      const d = programDescriptor(sha);
      const bad = await pool.open("3", { programRoot: hexlify(programRoot(d)), wasm: wasm("sha256d"), input: messages(2), limits, initialRoot: hexlify(initialStateRoot(d, messages(3), limits)), dir: null, options: {} });
      expect(bad.refused).toMatch(/initial root/);
    } finally {
      await pool.close();
    }
  });
});
