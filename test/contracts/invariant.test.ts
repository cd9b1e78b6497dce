/**
 * Invariant test: long seeded random sequences of valid and invalid actions by several accounts
 * (post, commit honest and false solutions, challenge, play or abandon games, time out, finalize,
 * expire, release, withdraw, let time pass). A shadow model of the market predicts, for every
 * action, whether it succeeds (and if not, which named error it reverts with) and what every account
 * is owed. After every action:
 *   - the market's ETH balance equals what it owes: Σ balanceOf + Σ escrowOf + burnt;
 *   - every account's balanceOf equals the model's (so nothing is credited twice or lost);
 * and every withdrawal pays exactly what the model says the account is owed (never more).
 */
import { describe, expect, it } from "vitest";
import { keccak256 } from "ethers";
import { Z, outputDepth } from "../../interpreter/state.js";
import {
  Phase,
  bisect,
  deploy,
  expectError,
  honestClaim,
  lyingFrom,
  now,
  proveStep,
  register,
  select,
  send,
  setNextTime,
  type Any,
  type Claim,
  type Env,
  type GameTrack,
  type Roots,
} from "./helpers.js";
import { encodeOpening, limitsStruct, openingRoot, toyProgram, type MachineModel, type TaskProgram } from "./model.js";
import { DEFAULT_LIMITS } from "../../interpreter/isa.js";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface MTask {
  id: bigint;
  poster: string;
  reward: bigint;
  sb: bigint;
  cb: bigint;
  deadline: number;
  window: number;
  stage: "open" | "final" | "expired";
  solver: string | null;
  commitTime: number;
  epoch: number;
  openGames: number;
  heldBonds: number;
  claim: Claim | null;
  solverRoots: Roots | null;
  model: MachineModel;
  initialRoot: string;
}

interface MGame {
  id: bigint;
  task: MTask;
  epoch: number;
  solver: string;
  challenger: string;
  live: boolean; // market side: bond held
  over: boolean; // game side: resolved or aborted
  solverRoots: Roots;
  challengerRoots: Roots;
  g: GameTrack;
}

const ACCOUNTS = 8;

async function runSequence(seed: number, actions: number, k: number): Promise<Record<string, number>> {
  const rnd = mulberry32(seed);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const chance = (p: number) => rnd() < p;
  const clock = 2400;
  const burnBps = 3000;
  const env: Env = await deploy({ k, clock, burnBps });
  const signers = env.signers.slice(0, ACCOUNTS);
  const addrs = await Promise.all(signers.map((s) => s.getAddress()));
  const signerOf = (a: string) => signers[addrs.indexOf(a)];
  const programs: TaskProgram[] = [toyProgram(1n, seed), toyProgram(2n, seed), toyProgram(40n, seed), toyProgram(333n, seed), toyProgram(10n ** 6n, seed)];
  for (const p of programs) await register(env, p);

  const owed = new Map<string, bigint>(addrs.map((a) => [a, 0n]));
  let burnt = 0n;
  const tasks: MTask[] = [];
  const games: MGame[] = [];
  const stats: Record<string, number> = {};
  const count = (what: string) => (stats[what] = (stats[what] ?? 0) + 1);
  let time = await now(env);
  const marketAddr = await env.market.getAddress();
  const unit = 10n ** 15n;

  /** Sends `tx` at time `time` expecting `error` (or success when null). */
  async function act(label: string, error: string | null, tx: () => Promise<Any>): Promise<Any> {
    time += 1;
    await setNextTime(env, time);
    if (error) {
      await expectError(env, tx(), error);
      count(`${label}:${error}`);
      return null;
    }
    const r = await tx();
    count(label);
    return r;
  }

  const alive = (t: MTask, epoch: number) => t.stage === "open" && t.solver !== null && t.epoch === epoch;

  function resolve(mg: MGame, solverWon: boolean): void {
    expect(mg.live).toBe(true);
    mg.over = true;
    mg.live = false;
    const t = mg.task;
    t.heldBonds--;
    if (!alive(t, mg.epoch)) {
      owed.set(mg.challenger, owed.get(mg.challenger)! + t.cb);
      return;
    }
    t.openGames--;
    if (solverWon) {
      const burn = (t.cb * BigInt(burnBps)) / 10000n;
      burnt += burn;
      owed.set(t.solver!, owed.get(t.solver!)! + t.cb - burn);
    } else {
      const burn = (t.sb * BigInt(burnBps)) / 10000n;
      burnt += burn;
      owed.set(mg.challenger, owed.get(mg.challenger)! + t.cb + t.sb - burn);
      t.solver = null;
      t.claim = null;
      t.solverRoots = null;
      t.openGames = 0;
      t.epoch++;
    }
  }

  function resolvedIn(r: Any): { id: bigint; solverWon: boolean }[] {
    const out: { id: bigint; solverWon: boolean }[] = [];
    for (const l of r.logs) {
      try {
        const ev = env.game.interface.parseLog(l);
        if (ev?.name === "GameResolved") out.push({ id: ev.args.gameId, solverWon: ev.args.solverWon });
      } catch {
        /* other contract */
      }
    }
    return out;
  }

  async function check(): Promise<void> {
    let escrow = 0n;
    for (const t of tasks) {
      let e = 0n;
      if (t.stage === "open") e = t.reward + (t.solver ? t.sb : 0n);
      e += BigInt(t.heldBonds) * t.cb;
      escrow += e;
    }
    expect(await env.market.heldTotal()).toBe(escrow + burnt);
    let sum = 0n;
    for (const a of addrs) {
      const b = (await env.market.balanceOf(a)) as bigint;
      expect(b, `balance of ${a}`).toBe(owed.get(a));
      sum += b;
    }
    expect(await env.ethers.provider.getBalance(marketAddr)).toBe(sum + escrow + burnt);
  }

  function falseClaim(t: MTask): { claim: Claim; roots: Roots } {
    const m = t.model;
    const st = (m as Any).stateAt(m.steps);
    const kind = pick(["output", "early", "late"]);
    let steps = m.steps;
    if (kind === "early" && m.steps > 1n) steps = 1n + BigInt(Math.floor(rnd() * Number(m.steps - 1n)));
    if (kind === "late") steps = m.steps + 1n + BigInt(Math.floor(rnd() * 50));
    const o = encodeOpening({ ...st, regs: { ...st.regs, steps: Number(steps), status: 1, trap: 0 }, outLen: 0, outputRoot: Z[outputDepth(1024)] });
    const claim: Claim = { finalRoot: _hex(openingRoot(o)), steps, output: "0x", opening: _hex(o) };
    const from = 1n + BigInt(Math.floor(rnd() * Number(steps)));
    const lie = kind === "output" ? lyingFrom(m, from, `s${t.id}`) : (x: bigint) => m.rootAt(x);
    return { claim, roots: (x) => (x === steps ? claim.finalRoot : lie(x)) };
  }

  for (let i = 0; i < actions; i++) {
    const r = rnd();
    const openTasks = tasks.filter((t) => t.stage === "open");
    const activeGames: MGame[] = [];
    for (const g of games) if (!g.over) activeGames.push(g);

    if (r < 0.08 || tasks.length === 0) {
      // ---- post
      const from = pick(addrs);
      const program = pick(programs);
      const limits = { ...DEFAULT_LIMITS, steps: program === programs[4] ? 500 : 2 ** 40, outputBytes: 1024 };
      const reward = BigInt(Math.floor(rnd() * 1000)) * unit;
      const sb = BigInt(1 + Math.floor(rnd() * 500)) * unit;
      const cb = BigInt(1 + Math.floor(rnd() * 500)) * unit;
      const window = 60 + Math.floor(rnd() * 600);
      let deadline = time + 1 + 200 + Math.floor(rnd() * 3000);
      let err: string | null = null;
      let w = window;
      if (chance(0.1)) (deadline = time - Math.floor(rnd() * 10)), (err = "BadDeadline");
      else if (chance(0.05)) (w = 0), (err = "BadWindow");
      const input = new TextEncoder().encode(`input ${i}`);
      const res = await act("post", err, () => send(env, env.market.connect(signerOf(from)).post(program.root, input, limitsStruct(limits), w, sb, cb, deadline, { value: reward })));
      if (res) {
        const ev = res.logs.map((l: Any) => env.market.interface.parseLog(l)).find((x: Any) => x?.name === "TaskPosted");
        const model = env.backend.model(program, input, limits);
        expect(ev.args.initialRoot).toBe(model.rootAt(0n));
        tasks.push({ id: ev.args.taskId, poster: from, reward, sb, cb, deadline, window, stage: "open", solver: null, commitTime: 0, epoch: 0, openGames: 0, heldBonds: 0, claim: null, solverRoots: null, model, initialRoot: ev.args.initialRoot });
      }
    } else if (r < 0.2) {
      // ---- commit
      const takeable = openTasks.filter((t) => !t.solver && time + 1 <= t.deadline);
      const t = pick(chance(0.85) && takeable.length ? takeable : tasks);
      const from = pick(addrs);
      const honestOne = chance(0.6);
      const { claim, roots } = honestOne ? { claim: honestClaim(t.model), roots: (x: bigint) => t.model.rootAt(x) } : falseClaim(t);
      const wrongBond = chance(0.08);
      const value = wrongBond ? t.sb + unit : t.sb;
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (t.solver) err = "AlreadyClaimed";
      else if (time + 1 > t.deadline) err = "DeadlinePassed";
      else if (wrongBond) err = "WrongBond";
      const res = await act("commit", err, () => send(env, env.market.connect(signerOf(from)).commit(t.id, claim.finalRoot, claim.steps, claim.output, claim.opening, { value })));
      if (res) Object.assign(t, { solver: from, commitTime: time, claim, solverRoots: roots });
    } else if (r < 0.35) {
      // ---- challenge
      const claimed = openTasks.filter((t) => t.solver && time + 1 <= t.commitTime + t.window);
      const t = pick(claimed.length && chance(0.9) ? claimed : tasks);
      const from = chance(0.05) && t.solver ? t.solver : pick(addrs.filter((a) => a !== t.solver));
      const wrongBond = chance(0.08);
      const value = wrongBond ? t.cb - 1n : t.cb;
      const claim = t.claim ?? honestClaim(t.model);
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (!t.solver) err = "NoClaim";
      else if (time + 1 > t.commitTime + t.window) err = "WindowClosed";
      else if (wrongBond) err = "WrongBond";
      else if (from === t.solver) err = "SelfChallenge";
      const res = await act("challenge", err, () => send(env, env.market.connect(signerOf(from)).challenge(t.id, t.initialRoot, claim.finalRoot, keccak256(claim.output), { value })));
      if (res) {
        const ev = res.logs.map((l: Any) => { try { return env.market.interface.parseLog(l); } catch { return null; } }).find((x: Any) => x?.name === "Challenged");
        const honestClaimHeld = t.claim!.finalRoot === t.model.rootAt(t.claim!.steps) && t.claim!.steps === t.model.steps;
        // against a false claim challengers are usually honest; against a true one they lie
        const challengerRoots: Roots = !honestClaimHeld && chance(0.8) ? (x) => t.model.rootAt(x) : lyingFrom(t.model, 1n + BigInt(Math.floor(rnd() * Number(t.claim!.steps))), `c${ev.args.gameId}`);
        t.openGames++;
        t.heldBonds++;
        games.push({
          id: ev.args.gameId,
          task: t,
          epoch: t.epoch,
          solver: t.solver!,
          challenger: from,
          live: true,
          over: false,
          solverRoots: t.solverRoots!,
          challengerRoots,
          g: { id: ev.args.gameId, lo: 0n, hi: t.claim!.steps, rootLo: t.initialRoot, rootHi: t.claim!.finalRoot, roots: [] },
        });
      }
    } else if (r < 0.68 && activeGames.length) {
      // ---- a move in a running game (rarely by the wrong party; sometimes the party gives up)
      const mg = pick(activeGames);
      const v = await env.game.gameOf(mg.id);
      const phase = Number(v.phase);
      const late = time + 1 > Number(v.lastMove) + Number(phase === Phase.Select ? v.clockChallenger : v.clockSolver);
      if (chance(0.1)) {
        time += Math.floor(rnd() * (chance(0.5) ? clock / 10 : clock)); // the party to move sits on its clock
        continue;
      }
      const wrong = chance(0.08);
      let res: Any = null;
      const S = signerOf(mg.solver), C = signerOf(mg.challenger);
      if (phase === Phase.Bisect) {
        const err = wrong ? "NotSolver" : late ? "ClockExpired" : null;
        res = await act("bisect", err, () => bisect(env, mg.g, { signer: wrong ? C : S, roots: mg.solverRoots }));
      } else if (phase === Phase.Select) {
        const err = wrong ? "NotChallenger" : late ? "ClockExpired" : null;
        res = await act("select", err, () => select(env, mg.g, { signer: wrong ? S : C, roots: mg.challengerRoots }));
      } else {
        const solverRight = mg.task.model.rootAt(mg.g.hi) === mg.g.rootHi;
        const outsider = signerOf(pick(addrs.filter((a) => a !== mg.solver && a !== mg.challenger)));
        const err = wrong ? "NotPlayer" : late ? "ClockExpired" : null;
        res = await act("proveStep", err, () => proveStep(env, mg.g, mg.task.model, wrong ? outsider : solverRight ? S : C));
        if (res) {
          const [x] = resolvedIn(res);
          expect(x.solverWon).toBe(solverRight);
        }
      }
      if (res) for (const x of resolvedIn(res)) resolve(games.find((g) => g.id === x.id)!, x.solverWon);
    } else if (r < 0.74 && games.length) {
      // ---- timeout
      const mg = pick(chance(0.9) && activeGames.length ? activeGames : games);
      const v = await env.game.gameOf(mg.id);
      const phase = Number(v.phase);
      let err: string | null = null;
      if (phase < Phase.Bisect || phase > Phase.Step) err = "WrongPhase";
      else if (time + 1 <= Number(v.deadline)) err = "NotTimedOut";
      const res = await act("timeout", err, () => send(env, env.game.connect(signerOf(pick(addrs))).timeout(mg.id)));
      if (res) for (const x of resolvedIn(res)) resolve(games.find((g) => g.id === x.id)!, x.solverWon);
    } else if (r < 0.82) {
      // ---- time passes
      time += 1 + Math.floor(rnd() * (chance(0.2) ? 1500 : 120));
      count("wait");
    } else if (r < 0.88) {
      // ---- finalize
      const t = pick(tasks);
      const claim = t.claim ?? honestClaim(t.model);
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (!t.solver) err = "NoClaim";
      else if (time + 1 <= t.commitTime + t.window) err = "WindowOpen";
      else if (t.openGames > 0) err = "GamesPending";
      const res = await act("finalize", err, () => send(env, env.market.connect(signerOf(pick(addrs))).finalize(t.id, t.initialRoot, claim.finalRoot, claim.output)));
      if (res) {
        t.stage = "final";
        owed.set(t.solver!, owed.get(t.solver!)! + t.reward + t.sb);
      }
    } else if (r < 0.92) {
      // ---- expire
      const t = pick(tasks);
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (t.solver) err = "ClaimPending";
      else if (time + 1 <= t.deadline) err = "DeadlineNotPassed";
      const res = await act("expire", err, () => send(env, env.market.connect(signerOf(pick(addrs))).expire(t.id)));
      if (res) {
        t.stage = "expired";
        owed.set(t.poster, owed.get(t.poster)! + t.reward);
      }
    } else if (r < 0.95 && games.length) {
      // ---- release
      const mg = pick(games);
      let err: string | null = null;
      if (!mg.live) err = "NotLive";
      else if (alive(mg.task, mg.epoch)) err = "ClaimAlive";
      const res = await act("release", err, () => send(env, env.market.connect(signerOf(pick(addrs))).release(mg.id)));
      if (res) {
        mg.live = false;
        mg.over = true;
        mg.task.heldBonds--;
        owed.set(mg.challenger, owed.get(mg.challenger)! + mg.task.cb);
      }
    } else {
      // ---- withdraw
      const a = pick(addrs);
      const due = owed.get(a)!;
      const eth0 = (await env.ethers.provider.getBalance(a)) as bigint;
      const res = await act("withdraw", due === 0n ? "NothingToWithdraw" : null, () => send(env, env.market.connect(signerOf(a)).withdraw()));
      if (res) {
        const eth1 = (await env.ethers.provider.getBalance(a)) as bigint;
        expect(eth1 - eth0 + (res.gasUsed as bigint) * (res.gasPrice as bigint), "paid exactly what is owed").toBe(due);
        owed.set(a, 0n);
      }
    }
    await check();
  }
  // wind down: let every clock and window run out, resolve, finalize or expire, withdraw everything
  time += 100_000;
  for (const mg of games) {
    const v = await env.game.gameOf(mg.id);
    expect(Number(v.phase) >= Phase.Bisect && Number(v.phase) <= Phase.Step).toBe(!mg.over);
    if (!mg.over) {
      const res = await act("timeout", null, () => send(env, env.game.timeout(mg.id)));
      for (const x of resolvedIn(res)) resolve(games.find((g) => g.id === x.id)!, x.solverWon);
    }
  }
  for (const t of tasks) {
    if (t.stage !== "open") continue;
    if (t.solver) {
      await act("finalize", null, () => send(env, env.market.finalize(t.id, t.initialRoot, t.claim!.finalRoot, t.claim!.output)));
      t.stage = "final";
      owed.set(t.solver, owed.get(t.solver)! + t.reward + t.sb);
    } else {
      await act("expire", null, () => send(env, env.market.expire(t.id)));
      t.stage = "expired";
      owed.set(t.poster, owed.get(t.poster)! + t.reward);
    }
  }
  await check();
  for (const a of addrs) if (owed.get(a)! > 0n) (await act("withdraw", null, () => send(env, env.market.connect(signerOf(a)).withdraw())), owed.set(a, 0n));
  await check();
  // all that is left is what was burnt
  expect(await env.ethers.provider.getBalance(marketAddr)).toBe(burnt);
  return stats;
}

function _hex(b: Uint8Array): string {
  return "0x" + Buffer.from(b).toString("hex");
}

describe("invariants under random action sequences", () => {
  for (const [seed, k] of [
    [1, 16],
    [2, 4],
    [3, 2],
  ] as const) {
    it(`seed ${seed}, k = ${k}`, async () => {
      const stats = await runSequence(seed, 500, k);
      // the sequence exercised the interesting paths
      for (const what of ["post", "commit", "challenge", "bisect", "select", "proveStep", "timeout", "finalize", "expire", "withdraw"]) expect(stats[what] ?? 0, what).toBeGreaterThan(0);
      console.log(`seed ${seed}:`, JSON.stringify(stats));
    }, 600_000);
  }
});

