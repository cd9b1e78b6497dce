/**
 * Invariant test: long seeded random sequences of valid and invalid actions by several accounts
 * (post; commit, reveal, copy a reveal, forfeit; honest and false solutions; challenge, several
 * challengers per solution, self-challenges by the solver's other account; play or abandon games,
 * time out, finalize, expire, release, withdraw, let time pass). A shadow model of the market
 * predicts, for every action, whether it succeeds (and if not, which named error it reverts with)
 * and what every account is owed; refunds are predicted from the receipts of the challengers' own
 * transactions. After every action:
 *   - the market's ETH balance equals what it owes: Σ balanceOf + Σ escrowOf + burnt;
 *   - every account's balanceOf equals the model's (so nothing is credited twice or lost);
 * and
 *   - every withdrawal pays exactly what the model says the account is owed (never more);
 *   - every challenger of a defeated solution is paid its bond back plus its share: exactly the
 *     gas of its transactions for that challenge whenever the solver's bond covers all challengers
 *     (never more, so a solver's own challengers never profit and a liar loses its whole bond);
 *   - a final state that lost a game is never revealed again for its task.
 */
import { describe, expect, it } from "vitest";
import { keccak256, solidityPackedKeccak256 } from "ethers";
import { Z, outputDepth } from "../../interpreter/state.js";
import {
  Phase,
  bisect,
  commitmentOf,
  deploy,
  expectError,
  honestClaim,
  lyingFrom,
  now,
  proveStep,
  refundableCost,
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

interface Solution {
  solver: string;
  claim: Claim;
  roots: Roots;
  salt: string;
  revealBy: number;
  revealed: boolean;
  commitTime: number; // of the reveal
}

interface MPot {
  reserve: bigint;
  units: bigint;
  pending: number;
  allowance: bigint;
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
  sol: Solution | null;
  epoch: number;
  openGames: number;
  heldBonds: number;
  winnings: bigint;
  pots: Map<number, MPot>;
  defeated: Set<string>; // claim hashes
  lost: { claim: Claim; roots: Roots }[]; // the defeated claims
  model: MachineModel;
  initialRoot: string;
}

interface MGame {
  id: bigint;
  task: MTask;
  epoch: number;
  solver: string;
  challenger: string;
  self: boolean; // the solver's own other account, which the solver lets win
  live: boolean; // market side: bond held
  over: boolean; // game side: resolved or aborted
  lost: boolean; // the challenger lost it
  spent: bigint; // the challenger's refundable costs recorded for it
  solverRoots: Roots;
  challengerRoots: Roots;
  g: GameTrack;
}

const ACCOUNTS = 8;
const RELEASE_GAS = 100_000n;

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
  /** every account has another one (a sybil it controls) */
  const sybilOf = (a: string) => addrs[(addrs.indexOf(a) + ACCOUNTS / 2) % ACCOUNTS];
  const programs: TaskProgram[] = [toyProgram(1n, seed), toyProgram(2n, seed), toyProgram(40n, seed), toyProgram(333n, seed), toyProgram(10n ** 6n, seed)];
  for (const p of programs) await register(env, p);

  const owed = new Map<string, bigint>(addrs.map((a) => [a, 0n]));
  const credit = (a: string, x: bigint) => owed.set(a, owed.get(a)! + x);
  let burnt = 0n;
  const tasks: MTask[] = [];
  const games: MGame[] = [];
  const stats: Record<string, number> = {};
  const count = (what: string) => (stats[what] = (stats[what] ?? 0) + 1);
  let time = await now(env);
  const marketAddr = await env.market.getAddress();
  const unit = 10n ** 15n;
  let saltN = 0;

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

  const claimHashOf = (t: MTask, c: Claim) => solidityPackedKeccak256(["bytes32", "bytes32", "bytes32"], [t.initialRoot, c.finalRoot, keccak256(c.output)]);
  const revealedSol = (t: MTask) => (t.stage === "open" && t.sol?.revealed ? t.sol : null);
  const moot = (mg: MGame) => mg.epoch !== mg.task.epoch;
  const priceOf = async (r: Any) => (await refundableCost(env, r)) / (r.gasUsed as bigint);

  /** The challenger of `mg` is paid: checks the share against its costs. */
  function paid(mg: MGame, amount: bigint, due: bigint, full: boolean, what: string): void {
    expect(amount <= due, `${what}: a challenger is never paid more than it spent`).toBe(true);
    if (full) expect(amount, `${what}: a covered challenger gets all it spent`).toBe(due);
    credit(mg.challenger, mg.task.cb + amount);
    count(full ? "paid in full" : "paid a share");
    if (mg.self) count("self-challenger paid its costs only");
  }

  /** A game ended (the game reported it to the market). `r`: the receipt; `byChallenger`: its move. */
  async function resolve(mg: MGame, solverWon: boolean, r: Any, byChallenger: boolean): Promise<void> {
    expect(mg.live).toBe(true);
    expect(moot(mg)).toBe(false);
    mg.over = true;
    mg.live = false;
    const t = mg.task;
    t.heldBonds--;
    t.openGames--;
    if (solverWon) {
      mg.lost = true;
      const burn = (t.cb * BigInt(burnBps)) / 10000n;
      burnt += burn;
      t.winnings += t.cb - burn;
      return;
    }
    // defeat: the claim is banned, the pot pays every live challenger of this solution
    count(mg.self ? "defeat by a self-challenge" : "defeat");
    t.defeated.add(claimHashOf(t, t.sol!.claim));
    t.lost.push({ claim: t.sol!.claim, roots: t.sol!.roots });
    const pot = t.sb + t.winnings;
    const price = await priceOf(r);
    const allowance = RELEASE_GAS * price;
    const others = games.filter((g) => g.task === t && g.epoch === mg.epoch && g.live);
    expect(others.length).toBe(t.openGames);
    const units = mg.spent + (byChallenger ? await refundableCost(env, r) : 0n);
    const claimed = others.reduce((a, g) => a + g.spent, 0n) + units + BigInt(others.length) * allowance;
    const kept = pot < claimed ? pot : claimed;
    const amount = (units * kept) / claimed;
    if (process.env.INVARIANT_DEBUG) console.log(`defeat: pot ${pot} claimed ${claimed} price ${price}`);
    paid(mg, amount, units, kept === claimed, "winner");
    if (others.length) {
      t.pots.set(mg.epoch, { reserve: kept - amount, units: claimed - units, pending: others.length, allowance });
      burnt += pot - kept;
    } else burnt += pot - amount;
    t.sol = null;
    t.winnings = 0n;
    t.openGames = 0;
    t.epoch++;
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

  async function check(perTask = false): Promise<void> {
    let escrow = 0n;
    for (const t of tasks) {
      let e = 0n;
      if (t.stage === "open") e = t.reward + (t.sol ? t.sb + t.winnings : 0n);
      e += BigInt(t.heldBonds) * t.cb;
      for (const p of t.pots.values()) e += p.reserve;
      if (perTask) expect(await env.market.escrowOf(t.id), `escrow of task ${t.id}`).toBe(e);
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

  /** Opens a game in the model after a successful challenge. */
  async function opened(t: MTask, from: string, r: Any, self: boolean): Promise<MGame> {
    const ev = r.logs.map((l: Any) => { try { return env.market.interface.parseLog(l); } catch { return null; } }).find((x: Any) => x?.name === "Challenged");
    const sol = t.sol!;
    const honestHeld = sol.claim.finalRoot === t.model.rootAt(sol.claim.steps) && sol.claim.steps === t.model.steps;
    // against a false claim challengers are usually honest; against a true one they lie. A
    // self-challenger has the true roots and its solver lets it win (by lying in the bisection).
    const challengerRoots: Roots = self || (!honestHeld && chance(0.8)) ? (x) => t.model.rootAt(x) : lyingFrom(t.model, 1n + BigInt(Math.floor(rnd() * Number(sol.claim.steps))), `c${ev.args.gameId}`);
    const solverRoots: Roots = self ? (x) => (x === sol.claim.steps ? sol.claim.finalRoot : lyingFrom(t.model, 1n, `self${ev.args.gameId}`)(x)) : sol.roots;
    t.openGames++;
    t.heldBonds++;
    const mg: MGame = {
      id: ev.args.gameId,
      task: t,
      epoch: t.epoch,
      solver: sol.solver,
      challenger: from,
      self,
      live: true,
      over: false,
      lost: false,
      spent: await refundableCost(env, r),
      solverRoots,
      challengerRoots,
      g: { id: ev.args.gameId, lo: 0n, hi: sol.claim.steps, rootLo: t.initialRoot, rootHi: sol.claim.finalRoot, roots: [] },
    };
    expect((await env.game.spentOf(mg.id))[0], "the challenge's recorded cost is its receipt's").toBe(mg.spent);
    games.push(mg);
    return mg;
  }

  for (let i = 0; i < actions; i++) {
    const r = rnd();
    const openTasks = tasks.filter((t) => t.stage === "open");
    const activeGames: MGame[] = [];
    for (const g of games) if (!g.over) activeGames.push(g);

    if (r < 0.07 || tasks.length === 0) {
      // ---- post
      const from = pick(addrs);
      const program = pick(programs);
      const limits = { ...DEFAULT_LIMITS, steps: program === programs[4] ? 500 : 2 ** 40, outputBytes: 1024 };
      const reward = BigInt(Math.floor(rnd() * 1000)) * unit;
      // bonds from far above what a game costs to below it (the pot then pays shares; gas is cheap
      // on this network once its base fee has fallen: a few wei)
      const sb = chance(0.3) ? BigInt(1 + Math.floor(rnd() * 5_000_000)) : BigInt(1 + Math.floor(rnd() * 500)) * unit;
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
        tasks.push({ id: ev.args.taskId, poster: from, reward, sb, cb, deadline, window, stage: "open", sol: null, epoch: 0, openGames: 0, heldBonds: 0, winnings: 0n, pots: new Map(), defeated: new Set(), lost: [], model, initialRoot: ev.args.initialRoot });
      }
    } else if (r < 0.14) {
      // ---- commit (a hash of the solver, its final root and a salt)
      const takeable = openTasks.filter((t) => !t.sol && time + 1 <= t.deadline);
      const t = pick(chance(0.85) && takeable.length ? takeable : tasks);
      const from = pick(addrs);
      // sometimes the claim of a defeated solution again (its reveal must fail)
      const { claim, roots } = t.lost.length && chance(0.3) ? pick(t.lost) : chance(0.6) ? { claim: honestClaim(t.model), roots: (x: bigint) => t.model.rootAt(x) } : falseClaim(t);
      const wrongBond = chance(0.08);
      const value = wrongBond ? t.sb + unit : t.sb;
      const salt = keccak256(new TextEncoder().encode(`salt ${seed} ${++saltN}`));
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (t.sol) err = "AlreadyClaimed";
      else if (time + 1 > t.deadline) err = "DeadlinePassed";
      else if (wrongBond) err = "WrongBond";
      const res = await act("commit", err, () => send(env, env.market.connect(signerOf(from)).commit(t.id, commitmentOf(from, claim.finalRoot, salt), { value })));
      if (res) t.sol = { solver: from, claim, roots, salt, revealBy: time + t.window, revealed: false, commitTime: 0 };
    } else if (r < 0.235) {
      // ---- reveal (sometimes late, sometimes a copy by another account, sometimes a banned claim)
      const pending = openTasks.filter((t) => t.sol && !t.sol.revealed && time + 1 <= t.sol.revealBy);
      const t = pick(chance(0.9) && pending.length ? pending : tasks);
      const sol = t.sol;
      const claim = sol?.claim ?? honestClaim(t.model);
      const copier = chance(0.1);
      const from = sol && !copier ? sol.solver : pick(addrs);
      const salt = sol?.salt ?? keccak256("0x01");
      let err: string | null = null;
      if (!sol) err = "NoClaim";
      else if (sol.revealed) err = "AlreadyRevealed";
      else if (time + 1 > sol.revealBy) err = "RevealClosed";
      else if (from !== sol.solver) err = "CommitmentMismatch";
      else if (t.defeated.has(claimHashOf(t, claim))) err = "ClaimDefeated";
      const res = await act("reveal", err, () => send(env, env.market.connect(signerOf(from)).reveal(t.id, claim.finalRoot, claim.steps, claim.output, claim.opening, salt)));
      if (res) Object.assign(sol!, { revealed: true, commitTime: time });
    } else if (r < 0.25) {
      // ---- forfeit an unrevealed commitment
      const t = pick(tasks);
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (!t.sol) err = "NoClaim";
      else if (t.sol.revealed) err = "AlreadyRevealed";
      else if (time + 1 <= t.sol.revealBy) err = "RevealOpen";
      const res = await act("forfeit", err, () => send(env, env.market.connect(signerOf(pick(addrs))).forfeit(t.id)));
      if (res) {
        burnt += t.sb;
        t.sol = null;
      }
    } else if (r < 0.38) {
      // ---- challenge; often several per solution, sometimes by the solver's own other account
      const claimed = openTasks.filter((t) => t.sol?.revealed && time + 1 <= t.sol.commitTime + t.window);
      const t = pick(claimed.length && chance(0.9) ? claimed : tasks);
      const sol = revealedSol(t);
      const self = !!sol && chance(0.25);
      const from = self ? sybilOf(sol!.solver) : chance(0.05) && sol ? sol.solver : pick(addrs.filter((a) => a !== sol?.solver));
      const wrongBond = chance(0.06);
      const value = wrongBond ? t.cb - 1n : t.cb;
      const claim = sol?.claim ?? honestClaim(t.model);
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (!sol) err = "NoClaim";
      else if (time + 1 > sol.commitTime + t.window) err = "WindowClosed";
      else if (wrongBond) err = "WrongBond";
      else if (from === sol.solver) err = "SelfChallenge";
      const res = await act(self ? "self-challenge" : "challenge", err, () => send(env, env.market.connect(signerOf(from)).challenge(t.id, t.initialRoot, claim.finalRoot, keccak256(claim.output), { value })));
      if (res) {
        await opened(t, from, res, self);
        const n = games.filter((g) => g.task === t && g.epoch === t.epoch && g.live).length;
        if (n > 1) count("several challengers");
      }
    } else if (r < 0.68 && activeGames.length) {
      // ---- a move in a running game (rarely by the wrong party; sometimes the party gives up)
      const mg = pick(activeGames);
      const v = await env.game.gameOf(mg.id);
      const phase = Number(v.phase);
      const late = time + 1 > Number(v.lastMove) + Number(phase === Phase.Select ? v.clockChallenger : v.clockSolver);
      if (chance(0.1) && !mg.self) {
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
        const err = wrong ? "NotChallenger" : late ? "ClockExpired" : moot(mg) ? "GroupClosed" : null;
        res = await act("select", err, () => select(env, mg.g, { signer: wrong ? S : C, roots: mg.challengerRoots }));
        if (res) {
          const cost = await refundableCost(env, res);
          mg.spent += cost;
          expect((await env.game.spentOf(mg.id))[0], "a selection's recorded cost is its receipt's").toBe(mg.spent);
        }
      } else {
        const solverRight = mg.task.model.rootAt(mg.g.hi) === mg.g.rootHi;
        const outsider = signerOf(pick(addrs.filter((a) => a !== mg.solver && a !== mg.challenger)));
        const err = wrong ? "NotPlayer" : late ? "ClockExpired" : moot(mg) ? "GroupClosed" : null;
        res = await act("proveStep", err, () => proveStep(env, mg.g, mg.task.model, wrong ? outsider : solverRight ? S : C));
        if (res) {
          const [x] = resolvedIn(res);
          expect(x.solverWon).toBe(solverRight);
          await resolve(mg, x.solverWon, res, !solverRight);
        }
      }
    } else if (r < 0.73 && games.length) {
      // ---- timeout (by either player or anyone)
      const mg = pick(chance(0.9) && activeGames.length ? activeGames : games);
      const v = await env.game.gameOf(mg.id);
      const phase = Number(v.phase);
      const from = pick([mg.challenger, mg.solver, pick(addrs)]);
      let err: string | null = null;
      if (phase < Phase.Bisect || phase > Phase.Step) err = "WrongPhase";
      else if (time + 1 <= Number(v.deadline)) err = "NotTimedOut";
      else if (moot(mg)) err = "GroupClosed";
      const res = await act("timeout", err, () => send(env, env.game.connect(signerOf(from)).timeout(mg.id)));
      if (res) for (const x of resolvedIn(res)) await resolve(games.find((g) => g.id === x.id)!, x.solverWon, res, from === mg.challenger);
    } else if (r < 0.8) {
      // ---- time passes
      time += 1 + Math.floor(rnd() * (chance(0.2) ? 1500 : 120));
      count("wait");
    } else if (r < 0.86) {
      // ---- finalize
      const t = pick(tasks);
      const claim = t.sol?.claim ?? honestClaim(t.model);
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (!t.sol?.revealed) err = "NoClaim";
      else if (time + 1 <= t.sol.commitTime + t.window) err = "WindowOpen";
      else if (t.openGames > 0) err = "GamesPending";
      const res = await act("finalize", err, () => send(env, env.market.connect(signerOf(pick(addrs))).finalize(t.id, t.initialRoot, claim.finalRoot, claim.output)));
      if (res) {
        t.stage = "final";
        credit(t.sol!.solver, t.reward + t.sb + t.winnings);
        if (t.winnings > 0n) count("finalized with winnings");
      }
    } else if (r < 0.9) {
      // ---- expire
      const t = pick(tasks);
      let err: string | null = null;
      if (t.stage !== "open") err = "TaskClosed";
      else if (t.sol) err = "ClaimPending";
      else if (time + 1 <= t.deadline) err = "DeadlineNotPassed";
      const res = await act("expire", err, () => send(env, env.market.connect(signerOf(pick(addrs))).expire(t.id)));
      if (res) {
        t.stage = "expired";
        credit(t.poster, t.reward);
      }
    } else if (r < 0.95 && games.length) {
      // ---- release (usually by the challenger itself, which then gets the release refunded)
      const mg = pick(games);
      const from = chance(0.7) ? mg.challenger : pick(addrs);
      let err: string | null = null;
      if (!mg.live) err = "NotLive";
      else if (!moot(mg)) err = "ClaimAlive";
      const res = await act("release", err, () => send(env, env.market.connect(signerOf(from)).release(mg.id)));
      if (res) await released(mg, res, from);
    } else {
      // ---- withdraw
      const a = pick(addrs);
      await withdraw(a, owed.get(a)! === 0n ? "NothingToWithdraw" : null);
    }
    await check();
  }

  async function released(mg: MGame, res: Any, from: string): Promise<void> {
    mg.live = false;
    mg.over = true;
    const t = mg.task;
    t.heldBonds--;
    const p = t.pots.get(mg.epoch)!;
    const own = from === mg.challenger ? await refundableCost(env, res) : 0n;
    const reserved = mg.spent + p.allowance;
    const due = mg.spent + (own < p.allowance ? own : p.allowance);
    const share = (reserved * p.reserve) / p.units;
    const amount = due < share ? due : share;
    // covered in full when the pot kept every claimed unit (reserve/units stayed 1)
    paid(mg, amount, due, p.reserve >= p.units, "released");
    p.reserve -= amount;
    p.units -= reserved;
    p.pending--;
    if (p.pending === 0) {
      burnt += p.reserve;
      p.reserve = 0n;
    }
  }

  async function withdraw(a: string, err: string | null): Promise<void> {
    const due = owed.get(a)!;
    const eth0 = (await env.ethers.provider.getBalance(a)) as bigint;
    const res = await act("withdraw", err, () => send(env, env.market.connect(signerOf(a)).withdraw()));
    if (res) {
      const eth1 = (await env.ethers.provider.getBalance(a)) as bigint;
      expect(eth1 - eth0 + (res.gasUsed as bigint) * (res.gasPrice as bigint), "paid exactly what is owed").toBe(due);
      owed.set(a, 0n);
    }
  }

  // wind down: let every clock and window run out, resolve or release, finalize or expire, withdraw
  time += 100_000;
  for (const mg of games) {
    const v = await env.game.gameOf(mg.id);
    expect(Number(v.phase) >= Phase.Bisect && Number(v.phase) <= Phase.Step).toBe(!mg.over);
    if (!mg.over && !moot(mg)) {
      const res = await act("timeout", null, () => send(env, env.game.timeout(mg.id)));
      for (const x of resolvedIn(res)) await resolve(games.find((g) => g.id === x.id)!, x.solverWon, res, addrs[0] === mg.challenger);
    }
  }
  for (const mg of games) {
    if (mg.live) {
      const res = await act("release", null, () => send(env, env.market.connect(signerOf(mg.challenger)).release(mg.id)));
      await released(mg, res, mg.challenger);
    }
  }
  for (const t of tasks) {
    if (t.stage !== "open") continue;
    if (t.sol && !t.sol.revealed) {
      await act("forfeit", null, () => send(env, env.market.forfeit(t.id)));
      burnt += t.sb;
      t.sol = null;
    }
    if (t.sol) {
      await act("finalize", null, () => send(env, env.market.finalize(t.id, t.initialRoot, t.sol!.claim.finalRoot, t.sol!.claim.output)));
      t.stage = "final";
      credit(t.sol.solver, t.reward + t.sb + t.winnings);
    } else {
      await act("expire", null, () => send(env, env.market.expire(t.id)));
      t.stage = "expired";
      credit(t.poster, t.reward);
    }
  }
  await check(true);
  for (const t of tasks) for (const p of t.pots.values()) expect(p.pending).toBe(0);
  for (const a of addrs) if (owed.get(a)! > 0n) await withdraw(a, null);
  await check();
  // all that is left is what was burnt
  expect(await env.ethers.provider.getBalance(marketAddr)).toBe(burnt);
  return stats;
}

function _hex(b: Uint8Array): string {
  return "0x" + Buffer.from(b).toString("hex");
}

describe("invariants under random action sequences", () => {
  const all: Record<string, number> = {};
  for (const [seed, k] of [
    [1, 16],
    [2, 4],
    [3, 2],
  ] as const) {
    it(`seed ${seed}, k = ${k}`, async () => {
      const stats = await runSequence(seed, Number(process.env.INVARIANT_ACTIONS ?? 500), k);
      for (const [what, n] of Object.entries(stats)) all[what] = (all[what] ?? 0) + n;
      // the sequence exercised the interesting paths
      for (const what of ["post", "commit", "reveal", "challenge", "self-challenge", "several challengers", "bisect", "select", "proveStep", "timeout", "finalize", "expire", "release", "withdraw", "defeat", "paid in full"])
        expect(stats[what] ?? 0, what).toBeGreaterThan(0);
      console.log(`seed ${seed}:`, JSON.stringify(stats));
    }, 900_000);
  }
  it("together the sequences covered every path", () => {
    for (const what of ["forfeit", "reveal:ClaimDefeated", "reveal:CommitmentMismatch", "reveal:RevealClosed", "select:GroupClosed", "defeat by a self-challenge", "paid a share", "finalized with winnings"])
      expect(all[what] ?? 0, what).toBeGreaterThan(0);
  });
});
