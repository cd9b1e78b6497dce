/**
 * The verification game through the market: honest and lying solvers and challengers, disputes at
 * the first step, the last step and in between, claims that halt too early or too late, several
 * challengers at once, the chess clocks of both parties in every phase, every wrong move, small
 * degrees and short segments. The machine is BACKEND of model.ts (the toy prover for now).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ZeroHash, hexlify, keccak256, solidityPackedKeccak256 } from "ethers";
import { Z, outputDepth } from "../../interpreter/state.js";
import {
  Phase,
  advance,
  bisect,
  challenge,
  commit,
  commitHash,
  costs,
  deploy,
  expectError,
  falseClaimAt,
  honestClaim,
  innerPoints,
  lyingFrom,
  newSalt,
  paidIn,
  phaseOf,
  playGame,
  postTask,
  proveStep,
  register,
  reveal,
  select,
  send,
  terms,
  track,
  type Any,
  type Claim,
  type Env,
  type GamePlayer,
  type PostedTask,
  type Roots,
} from "./helpers.js";
import { GAME_BACKENDS, encodeOpening, openingRoot, toyBackend, toyProgram, type MachineModel, type TaskProgram } from "./model.js";

let env: Env;
let N: bigint; // steps of the example run
let prog: TaskProgram;
let input: Uint8Array;

const S = (i: number) => env.signers[i];
const addr = async (i: number) => S(i).getAddress();
const bal = async (i: number) => (await env.market.balanceOf(await addr(i))) as bigint;
const SOLVER = 1;
const C1 = 2;
const C2 = 3;
const C3 = 4;

/** ETH held == balances of every signer + escrow of every task + burnt. */
async function expectSolvent(e: Env = env): Promise<void> {
  let owed = (await e.market.heldTotal()) as bigint;
  for (const s of e.signers) owed += (await e.market.balanceOf(await s.getAddress())) as bigint;
  expect(await e.ethers.provider.getBalance(await e.market.getAddress())).toBe(owed);
}

/** A false claim that halts at `steps` with an empty output (consistent, so the market accepts it). */
function falseClaim(task: PostedTask, steps: bigint): Claim {
  return falseClaimAt(task.model, steps, task.terms.limits.outputBytes);
}

/** The roots of a solver that claims `claim`: true before `from`, made up from there on. */
function liarRoots(m: MachineModel, claim: Claim, from: bigint): Roots {
  const lie = lyingFrom(m, from, "solver");
  return (t) => (t === claim.steps ? claim.finalRoot : lie(t));
}

const honest = (m: MachineModel): Roots => (t) => m.rootAt(t);

async function setup(t = terms()): Promise<PostedTask> {
  return postTask(env, prog, input, t);
}

async function outcome(task: PostedTask, claim: Claim, solverRoots: Roots, challengerRoots: Roots, c = C1): Promise<{ solverWon: boolean; moves: number; id: bigint; receipts: Any[] }> {
  env.receipts = [];
  const id = await challenge(env, task, claim, S(c));
  const g = await track(env, task, claim, id);
  const solver: GamePlayer = { signer: S(SOLVER), roots: solverRoots };
  const chal: GamePlayer = { signer: S(c), roots: challengerRoots };
  const solverWon = await playGame(env, g, task.model, solver, chal);
  const receipts = env.receipts;
  env.receipts = null;
  return { solverWon, moves: receipts.length - 1, id, receipts };
}

for (const backend of GAME_BACKENDS) describe(`${backend.name} machine (${backend.prover})`, () => {
beforeAll(async () => {
  env = await deploy({ backend });
  ({ program: prog, input } = backend.example());
  await register(env, prog);
  N = (await postTask(env, prog, input, terms())).model.steps;
});

describe("honest solver against a lying challenger", () => {
  for (const [where, at] of [["the first step", 0], ["the middle", 0.517], ["the last step", 1]] as const) {
    it(`dispute at ${where}: the solver wins the challenger's bond, then the reward`, async () => {
      const from = at === 0 ? 1n : at === 1 ? N : BigInt(Math.floor(Number(N) * at));
      const task = await setup();
      const claim = honestClaim(task.model);
      await commit(env, task, claim, S(SOLVER));
      const b0 = await bal(SOLVER);
      const burnt0 = (await env.market.burnt()) as bigint;
      const { solverWon } = await outcome(task, claim, honest(task.model), lyingFrom(task.model, from, "challenger"));
      expect(solverWon).toBe(true);
      const cb = task.terms.challengerBond;
      const burn = (cb * BigInt(env.burnBps)) / 10000n;
      // the challenger's bond, less the burn, waits in the solution's winnings until it is finalized
      expect(await bal(SOLVER)).toBe(b0);
      expect((await env.market.taskOf(task.id)).winnings).toBe(cb - burn);
      expect(await env.market.burnt()).toBe(burnt0 + burn);
      await expectSolvent();
      await advance(env, task.terms.window + 1);
      await send(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
      expect(await bal(SOLVER)).toBe(b0 + cb - burn + task.terms.reward + task.terms.solverBond);
      await expectSolvent();
    });
  }
});

describe("lying solver against an honest challenger", () => {
  for (const [where, at] of [["the first step", 0], ["the middle", 0.333], ["the last step", 1]] as const) {
    it(`lie from ${where}: the challenger wins the solver's bond and the task reopens`, async () => {
      const from = at === 0 ? 1n : at === 1 ? N : BigInt(Math.floor(Number(N) * at));
      const task = await setup();
      const claim = falseClaim(task, N);
      await commit(env, task, claim, S(SOLVER));
      const c0 = await bal(C1);
      const burnt0 = (await env.market.burnt()) as bigint;
      const claimHash = solidityPackedKeccak256(["bytes32", "bytes32", "bytes32"], [task.initialRoot, claim.finalRoot, keccak256(claim.output)]);
      expect((await env.market.taskOf(task.id)).head).toBe(claimHash);
      const { solverWon, id, receipts } = await outcome(task, claim, liarRoots(task.model, claim, from), honest(task.model));
      expect(solverWon).toBe(false);
      // the challenger gets its bond back and every transaction it sent refunded from the liar's
      // bond; the rest of the bond is burnt
      const sb = task.terms.solverBond;
      const refund = paidIn(env, receipts.at(-1)).get(id)!;
      const { refundable, count } = await costs(env, receipts, await addr(C1));
      expect(count).toBeGreaterThan(1);
      expect(refund).toBe(refundable);
      expect(await bal(C1)).toBe(c0 + task.terms.challengerBond + refund);
      expect(await env.market.burnt()).toBe(burnt0 + sb - refund);
      const t = await env.market.taskOf(task.id);
      expect(t.solver).toBe("0x0000000000000000000000000000000000000000");
      expect(Number(t.epoch)).toBe(1);
      expect(t.head).toBe(task.initialRoot); // split at the challenge, claimHash cleared at the defeat
      expect(t.claimHash).toBe(ZeroHash);
      await expectError(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output), "NoClaim");
      await expectSolvent();
      // the task reopens: an honest solver takes it and is paid
      const good = honestClaim(task.model);
      await commit(env, task, good, S(C2));
      await advance(env, task.terms.window + 1);
      const b = await bal(C2);
      await send(env, env.market.finalize(task.id, task.initialRoot, good.finalRoot, good.output));
      expect(await bal(C2)).toBe(b + task.terms.reward + task.terms.solverBond);
      await expectSolvent();
    });
  }

  for (const [what, delta] of [["too early", -0.6], ["too late", 250], ["one step early", -1], ["one step late", 1]] as const) {
    it(`a claim that halts ${what} loses`, async () => {
      const steps = delta === -0.6 ? (N * 4n) / 10n : N + BigInt(delta);
      const task = await setup();
      const claim = falseClaim(task, steps);
      await commit(env, task, claim, S(SOLVER));
      // the liar follows the true run (terminal after N) and makes up only its final state
      const roots: Roots = (t) => (t === steps ? claim.finalRoot : task.model.rootAt(t));
      const { solverWon } = await outcome(task, claim, roots, honest(task.model));
      expect(solverWon).toBe(false);
      await expectSolvent();
    });
  }

  it("a lying solver whose final state is true but whose step count is not (past the halt) cannot even reveal", async () => {
    const task = await setup();
    const claim = honestClaim(task.model);
    const salt = newSalt();
    await commitHash(env, task, claim, S(SOLVER), salt);
    await expectError(env, reveal(env, task, { ...claim, steps: N + 5n }, S(SOLVER), salt), "StepsMismatch");
  });
});

describe("trapped runs", () => {
  it("a true trapped result survives a lying challenger; a made-up halt of a trapping run loses", async () => {
    const ex = env.backend.trapExample();
    await register(env, ex.program);
    const tt = terms({ limits: { ...terms().limits, ...ex.limits } });
    const task = await postTask(env, ex.program, ex.input, tt);
    const claim = honestClaim(task.model);
    expect(claim.output).toBe("0x");
    await commit(env, task, claim, S(SOLVER));
    expect(Number((await env.market.taskOf(task.id)).status)).toBe(2);
    const T = task.model.steps;
    const r1 = await outcome(task, claim, honest(task.model), lyingFrom(task.model, T / 2n, "c"));
    expect(r1.solverWon).toBe(true);
    await advance(env, tt.window + 1);
    await send(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
    // a solver claiming that the same run halts (with no output) at its last step loses
    const task2 = await postTask(env, ex.program, ex.input, tt);
    const bad = falseClaimAt(task2.model, T, tt.limits.outputBytes);
    await commit(env, task2, bad, S(SOLVER));
    const r2 = await outcome(task2, bad, (t) => (t === T ? bad.finalRoot : task2.model.rootAt(t)), honest(task2.model));
    expect(r2.solverWon).toBe(false);
    await expectSolvent();
  });
});

describe("several challengers", () => {
  it("two lying challengers at once: the solver wins both games and is paid", async () => {
    const task = await setup();
    const claim = honestClaim(task.model);
    await commit(env, task, claim, S(SOLVER));
    const id1 = await challenge(env, task, claim, S(C1));
    const id2 = await challenge(env, task, claim, S(C2));
    expect(Number((await env.market.taskOf(task.id)).openGames)).toBe(2);
    const g1 = await track(env, task, claim, id1);
    const g2 = await track(env, task, claim, id2);
    const solver = { signer: S(SOLVER), roots: honest(task.model) };
    const p1 = { signer: S(C1), roots: lyingFrom(task.model, N / 100n + 1n, "c1") };
    const p2 = { signer: S(C2), roots: lyingFrom(task.model, (N * 9n) / 10n, "c2") };
    // interleave the two games move by move
    for (let round = 0; ; round++) {
      const ph1 = await phaseOf(env, id1);
      const ph2 = await phaseOf(env, id2);
      if (ph1 >= Phase.SolverWon && ph2 >= Phase.SolverWon) break;
      for (const [g, ph, p] of [[g1, ph1, p1], [g2, ph2, p2]] as const) {
        if (ph === Phase.Bisect) await bisect(env, g, solver);
        else if (ph === Phase.Select) await select(env, g, p);
        else if (ph === Phase.Step) await proveStep(env, g, task.model, S(SOLVER));
      }
      if (round === 0) {
        await advance(env, task.terms.window + 1); // the window closes while the games go on
        await expectError(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output), "GamesPending");
        await expectError(env, env.market.connect(S(C3)).challenge(task.id, task.initialRoot, claim.finalRoot, keccak256(claim.output), { value: task.terms.challengerBond }), "WindowClosed");
      }
    }
    expect(await phaseOf(env, id1)).toBe(Phase.SolverWon);
    expect(await phaseOf(env, id2)).toBe(Phase.SolverWon);
    await expectSolvent();
    const b = await bal(SOLVER);
    await send(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
    const cb = task.terms.challengerBond;
    const won = 2n * (cb - (cb * BigInt(env.burnBps)) / 10000n);
    expect(await bal(SOLVER)).toBe(b + task.terms.reward + task.terms.solverBond + won);
    await expectSolvent();
  });

  it("two honest challengers against a liar: whichever game ends first, both are paid from the liar's bond", async () => {
    const task = await setup();
    const claim = falseClaim(task, N);
    await commit(env, task, claim, S(SOLVER));
    env.receipts = [];
    const id1 = await challenge(env, task, claim, S(C1));
    const id2 = await challenge(env, task, claim, S(C2));
    const g2 = await track(env, task, claim, id2);
    const liar = { signer: S(SOLVER), roots: liarRoots(task.model, claim, (N * 6n) / 10n) };
    // game 2 gets one round in, then game 1 is played to the end
    await bisect(env, g2, liar);
    await select(env, g2, { signer: S(C2), roots: honest(task.model) });
    const c1 = await bal(C1);
    const c2 = await bal(C2);
    expect(await playGame(env, await track(env, task, claim, id1), task.model, liar, { signer: S(C1), roots: honest(task.model) })).toBe(false);
    const refund1 = paidIn(env, env.receipts.at(-1)).get(id1)!;
    expect(refund1).toBe((await costs(env, env.receipts, await addr(C1))).refundable);
    expect(await bal(C1)).toBe(c1 + task.terms.challengerBond + refund1);
    await expectSolvent();
    // game 2 is now moot: it cannot go on, and anyone may release it; C2 gets its bond back and
    // what it spent (not the release: another account sent it), the game is aborted
    await bisect(env, g2, liar); // the solver's moves change nothing
    await expectError(env, select(env, g2, { signer: S(C2), roots: honest(task.model) }), "GroupClosed");
    await expectError(env, env.market.release(id1), "NotLive");
    const spent2 = (await env.game.spentOf(id2))[0] as bigint;
    expect(spent2).toBe((await costs(env, env.receipts, await addr(C2))).refundable);
    await send(env, env.market.connect(S(C3)).release(id2));
    expect(await bal(C2)).toBe(c2 + task.terms.challengerBond + spent2);
    expect(await phaseOf(env, id2)).toBe(Phase.Aborted);
    await expectError(env, bisect(env, g2, liar), "WrongPhase");
    await expectError(env, env.market.release(id2), "NotLive");
    env.receipts = null;
    await expectSolvent();
  });

  it("a game of a defeated solution can only be released: its moves and timeouts revert", async () => {
    const task = await setup();
    const claim = falseClaim(task, N);
    await commit(env, task, claim, S(SOLVER));
    const id1 = await challenge(env, task, claim, S(C1));
    const id2 = await challenge(env, task, claim, S(C2)); // C2 lies too
    await expectError(env, env.market.release(id2), "ClaimAlive");
    const liar = { signer: S(SOLVER), roots: liarRoots(task.model, claim, (N * 6n) / 10n) };
    expect(await playGame(env, await track(env, task, claim, id1), task.model, liar, { signer: S(C1), roots: honest(task.model) })).toBe(false);
    // a new honest solution is revealed; game 2 (against the dead claim) is frozen
    await commit(env, task, honestClaim(task.model), S(C3));
    const g2 = await track(env, task, claim, id2);
    await bisect(env, g2, liar); // the solver's moves change nothing
    await expectError(env, select(env, g2, { signer: S(C2), roots: lyingFrom(task.model, 3n, "c2") }), "GroupClosed");
    await advance(env, env.clock + 1);
    await expectError(env, env.game.timeout(id2), "GroupClosed");
    const c2 = await bal(C2);
    const spent2 = (await env.game.spentOf(id2))[0] as bigint;
    await send(env, env.market.connect(S(C2)).release(id2));
    // released by its own challenger: the release is refunded too
    expect(await bal(C2)).toBeGreaterThan(c2 + task.terms.challengerBond + spent2);
    expect(Number((await env.market.taskOf(task.id)).openGames)).toBe(0);
    await expectSolvent();
  });
});

describe("clocks", () => {
  async function opened(): Promise<{ task: PostedTask; claim: Claim; id: bigint; g: Any }> {
    const task = await setup();
    const claim = honestClaim(task.model);
    await commit(env, task, claim, S(SOLVER));
    const id = await challenge(env, task, claim, S(C1));
    return { task, claim, id, g: await track(env, task, claim, id) };
  }
  const solverP = (task: PostedTask) => ({ signer: S(SOLVER), roots: honest(task.model) });
  const liarC = (task: PostedTask) => ({ signer: S(C1), roots: lyingFrom(task.model, (N * 3n) / 10n, "c") });

  it("solver silent in the first bisection: the challenger wins by timeout", async () => {
    const { id, task } = await opened();
    await expectError(env, env.game.timeout(id), "NotTimedOut");
    await advance(env, env.clock + 1);
    await expectError(env, bisect(env, await track(env, task, honestClaim(task.model), id), solverP(task)), "ClockExpired");
    const c0 = await bal(C1);
    await send(env, env.game.connect(S(C3)).timeout(id));
    expect(await phaseOf(env, id)).toBe(Phase.ChallengerWon);
    expect(await bal(C1)).toBeGreaterThan(c0);
    await expectError(env, env.game.timeout(id), "WrongPhase");
    await expectSolvent();
  });

  it("challenger silent in a selection: the solver wins by timeout", async () => {
    const { id, task, g } = await opened();
    await bisect(env, g, solverP(task));
    await advance(env, env.clock - 10);
    await expectError(env, env.game.timeout(id), "NotTimedOut");
    await advance(env, 11);
    await expectError(env, select(env, g, liarC(task)), "ClockExpired");
    await send(env, env.game.timeout(id));
    expect(await phaseOf(env, id)).toBe(Phase.SolverWon);
    await expectSolvent();
  });

  it("solver silent in a later bisection: its clock is what is left of its budget", async () => {
    const { id, task, g } = await opened();
    await advance(env, 1000);
    await bisect(env, g, solverP(task)); // spends ~1000 s of its clock
    await select(env, g, liarC(task));
    const v = await env.game.gameOf(id);
    expect(Number(v.phase)).toBe(Phase.Bisect);
    expect(Number(v.clockSolver)).toBeLessThanOrEqual(env.clock - 1000);
    expect(Number(v.clockSolver)).toBeGreaterThan(env.clock - 1010);
    expect(v.toMove).toBe(await addr(SOLVER));
    expect(v.deadline).toBe(v.lastMove + v.clockSolver);
    await advance(env, Number(v.clockSolver) - 5);
    await expectError(env, env.game.timeout(id), "NotTimedOut");
    await advance(env, 10);
    await send(env, env.game.timeout(id));
    expect(await phaseOf(env, id)).toBe(Phase.ChallengerWon);
    await expectSolvent();
  });

  it("solver silent at the one-step proof: the challenger wins, even against a true claim", async () => {
    const { id, task, g } = await opened();
    while ((await phaseOf(env, id)) !== Phase.Step) {
      if ((await phaseOf(env, id)) === Phase.Bisect) await bisect(env, g, solverP(task));
      else await select(env, g, liarC(task));
    }
    expect(g.hi - g.lo).toBe(1n);
    await expectError(env, env.game.timeout(id), "NotTimedOut");
    await advance(env, env.clock + 1);
    await expectError(env, proveStep(env, g, task.model, S(SOLVER)), "ClockExpired");
    await send(env, env.game.timeout(id));
    expect(await phaseOf(env, id)).toBe(Phase.ChallengerWon);
    await expectSolvent();
  });

  it("challenger silent in a later selection", async () => {
    const { id, task, g } = await opened();
    await bisect(env, g, solverP(task));
    await select(env, g, liarC(task));
    await bisect(env, g, solverP(task));
    await advance(env, env.clock + 1);
    await send(env, env.game.timeout(id));
    expect(await phaseOf(env, id)).toBe(Phase.SolverWon);
    await expectSolvent();
  });
});

describe("wrong moves", () => {
  it("each reverts with its named error", async () => {
    const task = await setup();
    const claim = honestClaim(task.model);
    await expectError(env, env.market.connect(S(C1)).challenge(task.id, task.initialRoot, claim.finalRoot, keccak256(claim.output), { value: task.terms.challengerBond }), "NoClaim");
    await commit(env, task, claim, S(SOLVER));
    const m = env.market.connect(S(C1));
    const oh = keccak256(claim.output);
    await expectError(env, m.challenge(task.id, task.initialRoot, claim.finalRoot, oh, { value: task.terms.challengerBond - 1n }), "WrongBond");
    await expectError(env, m.challenge(task.id, task.initialRoot, keccak256("0x01"), oh, { value: task.terms.challengerBond }), "ClaimMismatch");
    await expectError(env, m.challenge(task.id, keccak256("0x01"), claim.finalRoot, oh, { value: task.terms.challengerBond }), "ClaimMismatch");
    await expectError(env, m.challenge(task.id, task.initialRoot, claim.finalRoot, keccak256("0x"), { value: task.terms.challengerBond }), "ClaimMismatch");
    await expectError(env, env.market.connect(S(SOLVER)).challenge(task.id, task.initialRoot, claim.finalRoot, oh, { value: task.terms.challengerBond }), "SelfChallenge");
    await expectError(env, m.challenge(99999, task.initialRoot, claim.finalRoot, oh, { value: 0 }), "UnknownTask");
    const id = await challenge(env, task, claim, S(C1));
    const tv = await env.market.taskOf(task.id);
    expect([tv.head, tv.claimHash]).toEqual([task.initialRoot, solidityPackedKeccak256(["bytes32", "bytes32", "bytes32"], [task.initialRoot, claim.finalRoot, oh])]);
    // later challenges check both halves
    await expectError(env, m.challenge(task.id, keccak256("0x01"), claim.finalRoot, oh, { value: task.terms.challengerBond }), "ClaimMismatch");
    await expectError(env, m.challenge(task.id, task.initialRoot, claim.finalRoot, keccak256("0x"), { value: task.terms.challengerBond }), "ClaimMismatch");
    const g = await track(env, task, claim, id);
    const game = env.game;
    const pts = innerPoints(0n, N, env.k);
    const roots = pts.map((t) => task.model.rootAt(t));
    // Bisect phase
    await expectError(env, game.connect(S(C1)).bisect(id, roots), "NotSolver");
    await expectError(env, game.connect(S(SOLVER)).bisect(id, roots.slice(1)), "WrongRootCount");
    await expectError(env, game.connect(S(C1)).select(id, g.rootLo, g.rootHi, roots, 0), "WrongPhase");
    await expectError(env, game.connect(S(SOLVER)).proveStep(id, g.rootLo, g.rootHi, "0x"), "WrongPhase");
    await expectError(env, game.connect(S(SOLVER)).bisect(id + 100n, roots), "WrongPhase");
    await bisect(env, g, { signer: S(SOLVER), roots: honest(task.model) });
    // Select phase
    await expectError(env, game.connect(S(SOLVER)).bisect(id, roots), "WrongPhase");
    await expectError(env, game.connect(S(SOLVER)).select(id, g.rootLo, g.rootHi, roots, 0), "NotChallenger");
    await expectError(env, game.connect(S(C1)).select(id, g.rootLo, g.rootHi, roots, roots.length + 1), "BadIndex");
    await expectError(env, game.connect(S(C1)).select(id, g.rootHi, g.rootLo, roots, 0), "PositionMismatch");
    const tampered = [...roots];
    tampered[3] = keccak256("0x03");
    await expectError(env, game.connect(S(C1)).select(id, g.rootLo, g.rootHi, tampered, 0), "PositionMismatch");
    await expectError(env, game.connect(S(C1)).select(id, g.rootLo, g.rootHi, roots.slice(1), 0), "PositionMismatch");
    // drive to the step phase (the challenger lies from 70% of the run)
    const lieAt = (N * 7n) / 10n;
    const liar = { signer: S(C1), roots: lyingFrom(task.model, lieAt, "c") };
    await select(env, g, liar);
    while ((await phaseOf(env, id)) !== Phase.Step) {
      if ((await phaseOf(env, id)) === Phase.Bisect) await bisect(env, g, { signer: S(SOLVER), roots: honest(task.model) });
      else await select(env, g, liar);
    }
    expect([g.lo, g.hi]).toEqual([lieAt - 1n, lieAt]);
    // Step phase
    await expectError(env, game.connect(S(C3)).proveStep(id, g.rootLo, g.rootHi, task.model.witnessAt(g.lo)), "NotPlayer");
    await expectError(env, game.connect(S(SOLVER)).proveStep(id, g.rootLo, keccak256("0x"), task.model.witnessAt(g.lo)), "PositionMismatch");
    await expectError(env, game.connect(S(SOLVER)).proveStep(id, g.rootLo, g.rootHi, task.model.witnessAt(g.lo + 1n)), "RootMismatch");
    await expectError(env, game.connect(S(SOLVER)).bisect(id, []), "WrongPhase");
    await expectError(env, game.connect(S(C1)).select(id, g.rootLo, g.rootHi, [], 0), "WrongPhase");
    // the liar cannot win the step either: its witness is the true pre-state, which gives the true post-state
    await proveStep(env, g, task.model, S(C1));
    expect(await phaseOf(env, id)).toBe(Phase.SolverWon);
    await expectError(env, proveStep(env, g, task.model, S(SOLVER)), "WrongPhase");
    await expectError(env, env.game.timeout(id), "WrongPhase");
    await expectSolvent();
  });

  it("challenges close with the window", async () => {
    const task = await setup(terms({ window: 100 }));
    const claim = honestClaim(task.model);
    await commit(env, task, claim, S(SOLVER));
    await advance(env, 101);
    await expectError(env, env.market.connect(S(C1)).challenge(task.id, task.initialRoot, claim.finalRoot, keccak256(claim.output), { value: task.terms.challengerBond }), "WindowClosed");
  });
});

});

describe("degrees and short segments (toy machine)", () => {
  for (const [k, n, from] of [
    [2, 1n, 1n],
    [2, 2n, 2n],
    [2, 37n, 20n],
    [3, 10n, 1n],
    [3, 10n, 10n],
    [5, 4n, 3n],
    [16, 15n, 15n],
    [16, 17n, 9n],
    [64, 5000n, 4321n],
  ] as const) {
    it(`k = ${k}, ${n} steps, lie from step ${from}: both the liar solver and the liar challenger lose`, async () => {
      const e = await deploy({ k, backend: toyBackend });
      const p = toyProgram(n, 1000 + Number(n));
      await register(e, p);
      // lying solver
      const t1 = await postTask(e, p, input, terms(), e.signers[0]);
      const lieSteps = n;
      const st = (t1.model as Any).stateAt(n);
      const o = encodeOpening({ ...st, outLen: 0, outputRoot: Z[outputDepth(t1.terms.limits.outputBytes)] });
      const bad: Claim = { finalRoot: hexlify(openingRoot(o)), steps: lieSteps, output: "0x", opening: hexlify(o) };
      await commit(e, t1, bad, e.signers[1]);
      let id = await challenge(e, t1, bad, e.signers[2]);
      let rounds = 0;
      const moves: number[] = [];
      e.gasLog = [];
      expect(await playGame(e, await track(e, t1, bad, id), t1.model, { signer: e.signers[1], roots: liarRoots(t1.model, bad, from) }, { signer: e.signers[2], roots: honest(t1.model) })).toBe(false);
      moves.push(e.gasLog.length);
      // lying challenger
      const t2 = await postTask(e, p, input, terms(), e.signers[0]);
      const good = honestClaim(t2.model);
      await commit(e, t2, good, e.signers[1]);
      id = await challenge(e, t2, good, e.signers[2]);
      expect(await playGame(e, await track(e, t2, good, id), t2.model, { signer: e.signers[1], roots: honest(t2.model) }, { signer: e.signers[2], roots: lyingFrom(t2.model, from, "c") })).toBe(true);
      // rounds: ceil(log_k n) dissections of two moves, plus the step
      let len = n;
      while (len > 1n) {
        const d = len < BigInt(k) ? len : BigInt(k);
        len = (len + d - 1n) / d;
        rounds++;
      }
      expect(moves[0]).toBeLessThanOrEqual(2 * rounds + 1);
      await expectSolvent(e);
    });
  }
});

void send;
