/**
 * Unit tests of client/: the store, RPC retry, the game's move logic, claims, keys, and the task run
 * (roots and witnesses at any step from snapshots, with the steps it executes counted).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encryptKeystoreJson, getBytes, hexlify, keccak256, Wallet } from "ethers";
import { compile } from "../../interpreter/lower.js";
import { rootsAtSteps } from "../../interpreter/state.js";
import { verifyStep } from "../../interpreter/verify.js";
import { claimOf, falseClaim, openingRoot } from "../../client/encoding.js";
import { TaskRun } from "../../client/execution.js";
import { afterBisect, afterSelect, chooseSegment, innerPoints, openingPosition, positionPhase, Phase } from "../../client/game.js";
import { loadWallet } from "../../client/keys.js";
import { isTransient, retry } from "../../client/rpc.js";
import { fromJson, Store, toJson } from "../../client/store.js";
import { REPO_ROOT } from "../../client/contracts.js";

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), `truewasm-${p}-`));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const wasm = (name: string) => new Uint8Array(readFileSync(join(REPO_ROOT, "wasm-tasks/build", `${name}.wasm`)));

describe("store", () => {
  it("round-trips bigints and bytes, writes atomically, sweeps temporaries", () => {
    const dir = tmp("store");
    const s = new Store(dir);
    const rec = { id: 2n ** 70n, bytes: Uint8Array.of(1, 2, 255), nested: { list: [1n, "x"] } };
    s.put("tasks", "7", rec);
    expect(s.get("tasks", "7")).toEqual(rec);
    expect(fromJson(toJson(rec))).toEqual(rec);
    expect(readdirSync(join(dir, "tasks"))).toEqual(["7.json"]);
    s.put("txs", "bisect:1:0-10", { ok: true });
    expect([...s.all("txs").keys()]).toEqual(["bisect_1_0-10"]);
    writeFileSync(join(dir, "tasks", "8.json.tmp-1-1"), "{torn");
    new Store(dir);
    expect(existsSync(join(dir, "tasks", "8.json.tmp-1-1"))).toBe(false);
    expect(s.all("tasks").size).toBe(1);
  });
});

describe("rpc retry", () => {
  it("retries dropped connections and timeouts, not reverts", async () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    expect(isTransient(reset)).toBe(true);
    expect(isTransient({ code: "TIMEOUT", message: "timeout" })).toBe(true);
    expect(isTransient({ code: "UNKNOWN_ERROR", error: { message: "fetch failed" } })).toBe(true);
    expect(isTransient({ code: "CALL_EXCEPTION", message: "execution reverted" })).toBe(false);
    let calls = 0;
    const v = await retry(
      async () => {
        if (++calls < 3) throw reset;
        return 42;
      },
      { baseDelayMs: 1 },
    );
    expect([v, calls]).toEqual([42, 3]);
    calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw Object.assign(new Error("execution reverted"), { code: "CALL_EXCEPTION" });
        },
        { baseDelayMs: 1 },
      ),
    ).rejects.toThrow(/reverted/);
    expect(calls).toBe(1);
  });
});

describe("game logic", () => {
  it("points, selection and positions", () => {
    expect(innerPoints(0n, 100n, 4)).toEqual([25n, 50n, 75n]);
    expect(innerPoints(10n, 13n, 16)).toEqual([11n, 12n]);
    expect(innerPoints(5n, 6n, 16)).toEqual([]);
    expect(chooseSegment(["a", "b", "c", "d"], ["a", "b", "x", "y"])).toBe(1);
    expect(chooseSegment(["a", "b", "c"], ["a", "b", "c"])).toBe(1); // agrees with all: the last part
    let p = openingPosition("0x01", "0x05", 100n);
    expect(positionPhase(p)).toBe(Phase.Bisect);
    p = afterBisect(p, 0n, 100n, ["0x02", "0x03", "0x04"]);
    expect(positionPhase(p)).toBe(Phase.Select);
    p = afterSelect(p, 2, 4, 50n, 75n);
    expect(p).toEqual({ lo: 50n, hi: 75n, rootLo: "0x03", rootHi: "0x04", roots: null });
    expect(() => afterSelect(afterBisect(p, 50n, 75n, ["0x1", "0x2", "0x3"]), 0, 4, 50n, 51n)).toThrow();
  });
});

describe("claims", () => {
  it("a false claim is a consistent halted state with another output", async () => {
    const run = new TaskRun(compile(wasm("echo")), Uint8Array.of(1, 2, 3, 4), { steps: 2 ** 40, memoryPages: 1024, callDepth: 1024, stackHeight: 65536, outputBytes: 64 });
    const r = await run.run();
    const truth = claimOf(getBytes(r.opening), getBytes(r.output));
    expect(truth.finalRoot).toBe(r.finalRoot);
    const lie = falseClaim(r.opening, r.output);
    expect(lie.finalRoot).not.toBe(r.finalRoot);
    expect(hexlify(openingRoot(getBytes(lie.opening)))).toBe(lie.finalRoot);
    expect(lie.output).toBe("0x4d020304");
    expect(lie.steps).toBe(r.steps);
  });
});

describe("keys", () => {
  it("from an environment variable or an encrypted keystore", async () => {
    const w = Wallet.createRandom();
    process.env.TEST_TRUEWASM_KEY = w.privateKey;
    expect((await loadWallet({ keyEnv: "TEST_TRUEWASM_KEY" })).address).toBe(w.address);
    const file = join(tmp("keys"), "key.json");
    writeFileSync(file, await encryptKeystoreJson({ address: w.address, privateKey: w.privateKey }, "pw", { scrypt: { N: 1024 } }));
    process.env.TEST_TRUEWASM_PW = "pw";
    expect((await loadWallet({ keystore: file, passwordEnv: "TEST_TRUEWASM_PW" })).address).toBe(w.address);
    process.env.TEST_TRUEWASM_PW = "wrong";
    await expect(loadWallet({ keystore: file, passwordEnv: "TEST_TRUEWASM_PW" })).rejects.toThrow();
    await expect(loadWallet({ keyEnv: "TEST_TRUEWASM_NOTHING" })).rejects.toThrow(/no key/);
  });
});

describe("task runs", () => {
  const program = compile(wasm("sha256"));
  const input = new TextEncoder().encode("a task run with checkpoints and snapshots");
  const limits = { steps: 2 ** 40, memoryPages: 1024, callDepth: 1024, stackHeight: 65536, outputBytes: 64 };

  it("roots and witnesses at any step, from checkpoints; a dispute costs about one pass", async () => {
    const run = new TaskRun(program, input, limits, { firstInterval: 16, maxCheckpoints: 32 });
    const r = await run.run();
    const n = Number(r.steps);
    expect(run.stepsExecuted).toBe(n);
    const cps = run.snapshotSteps().checkpoints;
    expect(cps.length).toBeLessThanOrEqual(32 + 2);
    expect(cps.length).toBeGreaterThanOrEqual(16);
    // a game: 3 rounds at k = 16, each re-running only the chosen segment
    let lo = 0n;
    let hi = r.steps;
    const seen = new Map<bigint, string>();
    while (hi - lo > 1n) {
      const pts = innerPoints(lo, hi, 16);
      const roots = await run.rootsAt(pts);
      pts.forEach((p, i) => seen.set(p, roots[i]));
      const j = Math.floor(pts.length / 3);
      [lo, hi] = [j === 0 ? lo : pts[j - 1], pts[j]];
      run.retain([[lo, hi]]);
    }
    const expected = rootsAtSteps(program, input, limits, [...seen.keys()].map(Number));
    expect([...seen.values()]).toEqual(expected.map((x) => hexlify(x)));
    expect(run.stepsExecuted).toBeLessThan(1.5 * n);
    // the witness of the last segment's step maps its pre-root to its post-root
    const [pre, post] = await run.rootsAt([lo, hi]);
    const w = await run.witnessAt(lo);
    expect(hexlify(verifyStep(getBytes(pre), getBytes(w)))).toBe(post);
    // past the end: the final root; the witness of a terminal state leaves it unchanged
    expect(await run.rootAt(r.steps + 10n)).toBe(r.finalRoot);
    expect(hexlify(verifyStep(getBytes(r.finalRoot), getBytes(await run.witnessAt(r.steps))))).toBe(r.finalRoot);
    expect(keccak256(r.output)).toBeTruthy();
  });
});
