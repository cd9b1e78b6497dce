/**
 * The explorer's views without a browser: every committed transcript as TranscriptData (gas, rounds,
 * the disputed step and its post-state root, the clocks), a running game's phase and clocks from
 * buildGame, a task's phase over time, and the page's number formats.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../client/contracts.js";
import { parseTranscript, transcriptGas } from "../../client/transcript.js";
import { buildGame } from "../../explorer/games.js";
import { taskPhase, type TaskRow } from "../../explorer/model.js";
import { duration, eth, gas, num, short, steps } from "../../explorer/page/format.js";
import { TranscriptData } from "../../explorer/transcripts.js";

const DIR = join(REPO_ROOT, "test/transcripts");
const files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();

describe("transcripts as the explorer shows them", () => {
  const data = new TranscriptData(files.map((f) => join(DIR, f)));

  it.each(files)("%s", (f) => {
    const t = parseTranscript(readFileSync(join(DIR, f), "utf8"));
    const g = data.game(f.replace(/\.json$/, ""))!;
    expect(g).not.toBeNull();
    expect(g.gas.total).toBe(transcriptGas(t).total);
    expect(g.moves.length).toBe(t.moves.length + 1);
    expect(g.rounds.filter((r) => r.index !== null).length).toBe(t.moves.filter((m) => m.kind === "select").length);
    // each round's segment is the previous round's chosen part
    for (let i = 1; i < g.rounds.length; i++) {
      const prev = g.rounds[i - 1];
      expect([g.rounds[i].lo, g.rounds[i].hi]).toEqual([prev.points[prev.index!], prev.points[prev.index! + 1]]);
      expect(g.rounds[i].points.length - 1).toBeLessThanOrEqual(g.k);
    }
    if (!("solverWon" in t.outcome)) throw new Error("aborted transcript");
    expect(g.outcome?.winner).toBe(t.outcome.solverWon ? "solver" : "challenger");
    expect(g.phase).toBe(t.outcome.solverWon ? "solverWon" : "challengerWon");
    expect(g.toMove).toBeNull();
    const proof = t.moves.find((m) => m.kind === "proveStep");
    if (proof && proof.kind === "proveStep") {
      expect(g.proof?.step).toBe(proof.lo);
      expect(g.proof?.rootLo).toBe(proof.rootLo);
      expect(g.proof?.instruction?.op).toBeTruthy();
      // the verifier's post root is the solver's claim exactly when the solver won
      expect(g.proof?.rootPost).toMatch(/^0x[0-9a-f]{64}$/);
      expect(g.proof!.rootPost === g.proof!.rootHiClaimed).toBe(t.outcome.solverWon);
      // chess clocks: every second between the opening and the proof is charged to one side
      expect(g.clocks.solver.used + g.clocks.challenger.used).toBe(t.outcome.at - t.game.openedAt);
    } else {
      expect(g.outcome?.timeout).toBe(true);
      expect(g.proof).toBeNull();
      const loser = t.outcome.solverWon ? "challenger" : "solver";
      expect(g.clocks[loser].left).toBe(0);
    }
  });

  it("lists one task per transcript, as recorded", () => {
    const rows = data.rows();
    expect(rows.map((r) => r.id)).toEqual(files.map((f) => f.replace(/\.json$/, "")));
    for (const r of rows) {
      expect(r.phase).toBe("recorded");
      expect(r.games).toHaveLength(1);
      expect(data.task(r.id)?.games[0].id).toBe(r.id);
    }
    for (const r of rows) if (r.status === "halted") expect(r.exitCode, r.id).toBeTypeOf("number");
    const trap = rows.find((r) => r.id === "trap")!;
    expect(trap.status).toBe("halted"); // the liar's claim: a halt where the run traps
  });
});

describe("a running game", () => {
  const base = {
    id: "7",
    taskId: "3",
    solver: "0x00000000000000000000000000000000000000a1",
    challenger: "0x00000000000000000000000000000000000000b2",
    k: 4,
    clock: 600,
    burnBps: 5000,
    steps: 1000n,
    rootLo: "0x" + "11".repeat(32),
    rootHi: "0x" + "22".repeat(32),
    bonds: { solver: "1", challenger: "2" },
    opened: { at: 1000, block: 1, tx: "0x01", gas: 100, from: "0x00000000000000000000000000000000000000b2" },
    moot: false,
  };
  const fact = (at: number, from: string) => ({ at, block: at, tx: `0x${at}`, gas: 10, from });

  it("starts with the solver to move on [0, N]", () => {
    const g = buildGame({ ...base, moves: [] });
    expect([g.phase, g.toMove, g.lo, g.hi, g.deadline]).toEqual(["bisect", "solver", "0", "1000", 1600]);
    expect(g.clocks.solver.runningSince).toBe(1000);
  });

  it("charges each side's clock for its own moves", () => {
    const g = buildGame({
      ...base,
      moves: [
        { ...fact(1030, base.solver), kind: "bisect", lo: 0n, hi: 1000n, roots: ["0xa", "0xb", "0xc"] },
        { ...fact(1100, base.challenger), kind: "select", index: 2, lo: 500n, hi: 750n },
      ],
    });
    expect([g.phase, g.toMove, g.lo, g.hi]).toEqual(["bisect", "solver", "500", "750"]);
    expect(g.rounds[0].points).toEqual(["0", "250", "500", "750", "1000"]);
    expect(g.rounds[0].index).toBe(2);
    expect(g.clocks.solver).toEqual({ left: 570, used: 30, runningSince: 1100 });
    expect(g.clocks.challenger).toEqual({ left: 530, used: 70, runningSince: null });
    expect(g.deadline).toBe(1100 + 570);
    expect(g.gas).toEqual({ challenge: 100, solver: 10, challenger: 10, other: 0, total: 120 });
  });

  it("is won by timeout when the party to move lets its clock run out", () => {
    const g = buildGame({
      ...base,
      moves: [
        { ...fact(1030, base.solver), kind: "bisect", lo: 0n, hi: 1000n, roots: ["0xa", "0xb", "0xc"] },
        { ...fact(1700, "0x00000000000000000000000000000000000000c3"), kind: "resolved", solverWon: true, timeout: true, proof: null },
      ],
    });
    expect(g.outcome).toMatchObject({ winner: "solver", timeout: true, by: "other" });
    expect(g.clocks.challenger.left).toBe(0);
    expect(g.gas.other).toBe(10);
  });
});

describe("task phases and formats", () => {
  const row = { phase: "awaiting", solver: null, deadline: 100, openGames: 0, windowEnds: null } as unknown as TaskRow;
  it("follows the time", () => {
    expect(taskPhase(row, 50)).toBe("awaiting");
    expect(taskPhase(row, 101)).toBe("unsolved");
    const held = { ...row, solver: "0x1", windowEnds: 200 };
    expect(taskPhase(held, 150)).toBe("window");
    expect(taskPhase({ ...held, openGames: 1 }, 250)).toBe("disputed");
    expect(taskPhase(held, 201)).toBe("finalizable");
    expect(taskPhase({ ...held, phase: "finalized" }, 201)).toBe("finalized");
  });
  it("prints units", () => {
    expect(eth("1000000000000000000")).toBe("1 ETH");
    expect(eth("250000000000000000")).toBe("0.25 ETH");
    expect(eth("1234567000000000000000")).toBe("1,234.567 ETH");
    expect(eth("1")).toBe("0.000001 ETH");
    expect(gas(829028)).toBe("829,028 gas");
    expect(steps("1")).toBe("1 step");
    expect(steps("100588077")).toBe("100,588,077 steps");
    expect(num("-12345")).toBe("-12,345");
    expect(duration(3725)).toBe("1 h 2 min");
    expect(duration(59)).toBe("59 s");
    expect(short("0x" + "ab".repeat(32))).toBe("0xabab…abab");
  });
});
