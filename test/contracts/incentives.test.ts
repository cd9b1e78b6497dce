/**
 * The incentives of docs/GAME.md against the real market, game and prover:
 *
 *   - refunds: what the market records for a challenger's transaction is exactly its receipt's
 *     gasUsed × min(gasPrice, baseFee + tipCap), on every refunded path (this calibrates the
 *     constants in TaskMarket/VerificationGame; a failure prints the correction);
 *   - the four attacks of issue #16, each played against the real contracts and failing to pay the
 *     attacker, with the honest parties' balances checked:
 *       1. a liar contract that challenges itself from a second contract, loses on purpose and
 *          commits again in one transaction, against several honest challengers;
 *       2. a copier that resends a solver's pending commit or reveal with a higher tip;
 *       3. a finalizer that starves the callback with a 96 KiB output;
 *       4. tasks posted from a constructor, through another contract and by an EIP-7702 account.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { Wallet, hexlify, keccak256, toUtf8Bytes, type Signer } from "ethers";
import { Z, outputDepth, treeRoot } from "../../interpreter/state.js";
import { Contracts } from "../../client/contracts.js";
import { decodeEvent, taskInput, type EventOf } from "../../client/chain.js";
import { hardhatKey } from "../../client/inprocess.js";
import {
  ETH,
  advance,
  bisect,
  challenge,
  commit,
  commitHash,
  commitmentOf,
  deploy,
  expectError,
  falseClaimAt,
  honestClaim,
  lyingFrom,
  newSalt,
  paidIn,
  postTask,
  proveStep,
  refundableCost,
  register,
  reveal,
  select,
  send,
  terms,
  track,
  type Any,
  type Claim,
  type Env,
  type PostedTask,
} from "./helpers.js";
import { encodeOpening, limitsStruct, openingRoot, toyBackend, toyProgram, type TaskProgram } from "./model.js";

let env: Env;
let prog: TaskProgram;
const input = toUtf8Bytes("the input of the incentive tests");
const S = (i: number) => env.signers[i];
const addr = (i: number) => S(i).getAddress();
const bal = async (a: string) => (await env.market.balanceOf(a)) as bigint;
const eth = async (a: string) => (await env.ethers.provider.getBalance(a)) as bigint;
const fee = (r: Any) => (r.gasUsed as bigint) * (r.gasPrice as bigint);

beforeAll(async () => {
  env = await deploy({ backend: toyBackend, k: 4 });
  prog = toyProgram(300n);
  await register(env, prog);
});

async function task(t = terms(), from: Signer = S(0)): Promise<PostedTask> {
  return postTask(env, prog, input, t, from);
}

const spentOf = async (id: bigint) => (await env.game.spentOf(id))[0] as bigint;

/** Recorded minus real cost of a transaction, in gas. */
async function gasDiff(recorded: bigint, r: Any): Promise<bigint> {
  return (recorded - (await refundableCost(env, r))) / (r.gasPrice as bigint);
}

describe("refunds are what the challenger's transactions cost", () => {
  it("challenge, selections, one-step proof, timeout and release, each to the wei", async () => {
    const diffs: Record<string, bigint[]> = {};
    const note = (what: string, d: bigint) => (diffs[what] ??= []).push(d);
    for (const rep of [0, 1]) {
      // a false claim, two challengers: one plays to the one-step proof, the other is released
      const t = await task();
      const claim = falseClaimAt(t.model, t.model.steps, 1024);
      await commit(env, t, claim, S(1));
      const liar = { signer: S(1), roots: (x: bigint) => (x === claim.steps ? claim.finalRoot : lyingFrom(t.model, 100n, "x")(x)) };
      const honest = { signer: S(2), roots: (x: bigint) => t.model.rootAt(x) };
      env.receipts = [];
      const id = await challenge(env, t, claim, S(2));
      note("challenge (first of the solution)", await gasDiff(await spentOf(id), env.receipts.at(-1)));
      const id2 = await challenge(env, t, claim, S(3));
      note("challenge", await gasDiff(await spentOf(id2), env.receipts.at(-1)));
      const g = await track(env, t, claim, id);
      for (;;) {
        const ph = Number((await env.game.gameOf(id)).phase);
        if (ph === 1) await bisect(env, g, liar);
        else if (ph === 2) {
          const before = await spentOf(id);
          const r = await select(env, g, honest);
          note("select", await gasDiff((await spentOf(id)) - before, r));
        } else {
          const before = await spentOf(id);
          const r = await proveStep(env, g, t.model, S(2));
          note("proveStep (defeat, another game live)", await gasDiff(paidIn(env, r).get(id)! - before, r));
          break;
        }
      }
      const before2 = await spentOf(id2);
      const r = await send(env, env.market.connect(S(3)).release(id2));
      note("release (the last)", await gasDiff(paidIn(env, r).get(id2)! - before2, r));
      env.receipts = null;
    }
    for (const n of [1, 4]) {
      // the liar never moves: the first challenger wins by timeout, the others are released
      const t = await task();
      const claim = falseClaimAt(t.model, t.model.steps, 1024);
      await commit(env, t, claim, S(1));
      const ids: bigint[] = [];
      for (let c = 0; c < n; c++) ids.push(await challenge(env, t, claim, S(2 + c)));
      await advance(env, env.clock + 1);
      const before = await spentOf(ids[0]);
      const r = await send(env, env.game.connect(S(2)).timeout(ids[0]));
      note(`timeout (defeat, ${n - 1} other games live)`, await gasDiff(paidIn(env, r).get(ids[0])! - before, r));
      for (let i = 1; i < n; i++) {
        const b = await spentOf(ids[i]);
        const rr = await send(env, env.market.connect(S(2 + i)).release(ids[i]));
        note(i < n - 1 ? "release" : "release (the last)", await gasDiff(paidIn(env, rr).get(ids[i])! - b, rr));
      }
    }
    const off = Object.entries(diffs).filter(([, ds]) => ds.some((d) => d !== 0n));
    expect(off, `recorded − real gas per path (adjust the HEAD/TAIL constants by these): ${JSON.stringify(Object.fromEntries(off.map(([k, v]) => [k, v.map(String)])))}`).toEqual([]);
  });
});

describe("a chain without gas prices", () => {
  it("a defeat and a release refund nothing and still work", async () => {
    const e = await deploy({ backend: toyBackend, k: 4 });
    await register(e, prog);
    const t = await postTask(e, prog, input, terms());
    const claim = falseClaimAt(t.model, t.model.steps, 1024);
    await commit(e, t, claim, e.signers[1]);
    await e.ethers.provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x0"]);
    const free = { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n };
    const c1 = await (await e.market.connect(e.signers[2]).challenge(t.id, t.initialRoot, claim.finalRoot, keccak256(claim.output), { value: t.terms.challengerBond, ...free })).wait();
    const id1 = e.market.interface.parseLog(c1.logs.find((l: Any) => l.address === e.market.target && e.market.interface.parseLog(l)?.name === "Challenged")).args.gameId;
    const c2 = await (await e.market.connect(e.signers[3]).challenge(t.id, t.initialRoot, claim.finalRoot, keccak256(claim.output), { value: t.terms.challengerBond, ...free })).wait();
    const id2 = e.market.interface.parseLog(c2.logs.find((l: Any) => l.address === e.market.target && e.market.interface.parseLog(l)?.name === "Challenged")).args.gameId;
    expect((await e.game.spentOf(id1))[0]).toBe(0n);
    await advance(e, e.clock + 1);
    const r = await (await e.game.connect(e.signers[2]).timeout(id1, free)).wait();
    expect(paidIn(e, r).get(id1)).toBe(0n);
    const rr = await (await e.market.connect(e.signers[3]).release(id2, free)).wait();
    expect(paidIn(e, rr).get(id2)).toBe(0n);
    expect(await e.market.balanceOf(await e.signers[3].getAddress())).toBe(t.terms.challengerBond);
  });
});

describe("attack 1: a self-challenging liar against several honest challengers", () => {
  it("pays every honest challenger its bond and gas, bans the false state, costs the liar a whole bond per round", async () => {
    const tt = terms();
    const t = await task(tt);
    const [attacker, h1, h2, h3, solver] = [S(1), S(2), S(3), S(4), S(5)];
    const liar = await env.ethers.deployContract("LiarSolver", [await env.market.getAddress()], attacker);
    const sybil = await env.ethers.deployContract("LiarSybil", [await env.market.getAddress()], attacker);
    const [liarAddr, sybilAddr, attackerAddr] = [await liar.getAddress(), await sybil.getAddress(), await attacker.getAddress()];
    const attackerWorth = async () => (await eth(attackerAddr)) + (await eth(liarAddr)) + (await eth(sybilAddr)) + (await bal(liarAddr)) + (await bal(sybilAddr));
    const worth0 = await attackerWorth();

    // the liar commits and reveals a false result
    const claim = falseClaimAt(t.model, t.model.steps, 1024);
    const other = falseClaimAt(t.model, t.model.steps - 7n, 1024);
    const salt = newSalt();
    await send(env, liar.commit(t.id, commitmentOf(liarAddr, claim.finalRoot, salt), { value: tt.solverBond }));
    await send(env, liar.reveal(t.id, claim.finalRoot, claim.steps, claim.output, claim.opening, salt));

    const honest = [h1, h2, h3];
    for (const h of honest) if ((await bal(await h.getAddress())) > 0n) await send(env, env.market.connect(h).withdraw());
    const start = await Promise.all(honest.map(async (h) => eth(await h.getAddress())));
    const spentBy = new Map<string, bigint>();
    const record = async (h: Signer, r: Any) => spentBy.set(await h.getAddress(), (spentBy.get(await h.getAddress()) ?? 0n) + (await refundableCost(env, r)));

    /** All three honest challengers challenge the solution held; returns their games. */
    async function challengeAll(c: Claim): Promise<bigint[]> {
      const ids: bigint[] = [];
      for (const h of honest) {
        env.receipts = [];
        ids.push(await challenge(env, t, c, h));
        await record(h, env.receipts[0]);
      }
      env.receipts = null;
      return ids;
    }

    /** The liar's move: challenge itself, lose on purpose, commit again; all in one transaction. */
    async function neutralise(c: Claim, next: Claim, nextSalt: string): Promise<void> {
      const burnt0 = (await env.market.burnt()) as bigint;
      const r = await send(
        env,
        liar.neutralise(sybilAddr, t.id, t.initialRoot, c.finalRoot, keccak256(c.output), tt.challengerBond, t.model.witnessAt(0n), commitmentOf(liarAddr, next.finalRoot, nextSalt), {
          value: tt.challengerBond + tt.solverBond,
        }),
      );
      const names = r.logs.map((l: Any) => { try { return env.market.interface.parseLog(l)?.name; } catch { return null; } });
      expect(names).toContain("SolutionDefeated");
      expect(names).toContain("Committed");
      // the sybil won the game: it gets its bond back and what its calls cost, nothing more; the
      // rest of the liar's bond (less the refunds still owed to the live honest challengers) is burnt
      const sybilRefund = [...paidIn(env, r).values()][0];
      expect(sybilRefund).toBeLessThan(r.gasUsed * (r.gasPrice as bigint));
      expect((await env.market.burnt()) - burnt0).toBeGreaterThan(tt.solverBond - sybilRefund - 3n * 10n ** 15n);
    }

    /** Every honest challenger releases its game (made moot) and is paid all it spent. */
    async function releaseAll(ids: bigint[]): Promise<void> {
      for (const [i, h] of honest.entries()) {
        const a = await h.getAddress();
        const b0 = await bal(a);
        const r = await send(env, env.market.connect(h).release(ids[i]));
        await record(h, r);
        expect(await bal(a), "bond back and every transaction refunded").toBe(b0 + tt.challengerBond + spentBy.get(a)!);
        spentBy.set(a, 0n);
      }
    }

    // round 1: three honest challenges, then the liar's self-challenge in one transaction, which
    // commits to another false result
    const ids1 = await challengeAll(claim);
    const salt2 = newSalt();
    await neutralise(claim, other, salt2);
    await releaseAll(ids1);
    // the defeated final state can never be revealed again; the liar reveals the other one
    await expectError(env, liar.reveal(t.id, claim.finalRoot, claim.steps, claim.output, claim.opening, salt2), "CommitmentMismatch");
    await send(env, liar.reveal(t.id, other.finalRoot, other.steps, other.output, other.opening, salt2));

    // round 2: the same, and this time the liar commits to the first false result again
    const ids2 = await challengeAll(other);
    const salt3 = newSalt();
    await neutralise(other, claim, salt3);
    await releaseAll(ids2);
    await expectError(env, liar.reveal(t.id, claim.finalRoot, claim.steps, claim.output, claim.opening, salt3), "ClaimDefeated");
    // unrevealed, its commitment is forfeited after the window: a third bond lost
    await advance(env, tt.window + 1);
    await send(env, env.market.connect(solver).forfeit(t.id));

    // an honest solver takes the task and is paid; the liar never was
    const good = honestClaim(t.model);
    await commit(env, t, good, solver);
    await advance(env, tt.window + 1);
    const s0 = await bal(await solver.getAddress());
    await send(env, env.market.finalize(t.id, t.initialRoot, good.finalRoot, good.output));
    expect(await bal(await solver.getAddress())).toBe(s0 + tt.reward + tt.solverBond);

    // honest challengers: after withdrawing, each is down only its withdrawal's fee
    for (const [i, h] of honest.entries()) {
      const a = await h.getAddress();
      const r = await send(env, env.market.connect(h).withdraw());
      expect(await eth(a), `honest challenger ${i + 1} covered its gas`).toBe(start[i] - fee(r));
    }
    // the attacker (its account and both contracts) lost at least three whole bonds
    await send(env, liar.connect(attacker).withdraw()).catch(() => undefined);
    await send(env, sybil.connect(attacker).withdraw()).catch(() => undefined);
    const lost = worth0 - (await attackerWorth());
    expect(lost).toBeGreaterThanOrEqual(3n * tt.solverBond);
    console.log(`attack 1: the liar lost ${Number(lost) / 1e18} ETH in two rounds and a forfeit (bond ${Number(tt.solverBond) / 1e18} ETH); 3 honest challengers, each covered`);
  });
});

describe("attack 2: a copier resends a solver's pending transactions", () => {
  async function frontRun(honestTx: () => Promise<Any>, copier: Signer): Promise<{ honest: Any; copy: Any }> {
    const provider = env.ethers.provider;
    await provider.send("evm_setAutomine", [false]);
    try {
      const sent = await honestTx();
      const pending = await provider.getTransaction(sent.hash);
      // the copy: the same call with a higher tip
      const copy = await copier.sendTransaction({ to: pending.to, data: pending.data, value: pending.value, maxPriorityFeePerGas: (pending.maxPriorityFeePerGas as bigint) * 3n, maxFeePerGas: (pending.maxFeePerGas as bigint) * 3n, gasLimit: 1_000_000n });
      await provider.send("evm_mine", []);
      const [h, c] = await Promise.all([provider.getTransactionReceipt(sent.hash), provider.getTransactionReceipt(copy.hash)]);
      expect(c.blockNumber).toBe(h.blockNumber);
      expect(c.index).toBeLessThan(h.index); // the copy went first
      return { honest: h, copy: c };
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  }

  it("a copied commitment holds nothing it can reveal, a copied reveal fails; the solver is paid", async () => {
    const tt = terms({ window: 600 });
    const t = await task(tt);
    const [solver, copier] = [S(6), S(7)];
    const good = honestClaim(t.model);
    const salt = newSalt();
    const commitment = commitmentOf(await solver.getAddress(), good.finalRoot, salt);
    const burnt0 = (await env.market.burnt()) as bigint;
    // the copier front-runs the commitment: it holds the task, the solver's commit reverts
    const c1 = await frontRun(() => env.market.connect(solver).commit(t.id, commitment, { value: tt.solverBond, gasLimit: 200_000n }), copier);
    expect([c1.copy.status, c1.honest.status]).toEqual([1, 0]);
    // knowing everything the solver knows, it still cannot reveal: the commitment is bound to the solver
    await expectError(env, reveal(env, t, good, copier, salt), "CommitmentMismatch");
    await advance(env, tt.window + 1);
    await send(env, env.market.forfeit(t.id));
    expect((await env.market.burnt()) - burnt0).toBe(tt.solverBond); // the copier's bond
    // the solver commits again; the copier front-runs its reveal: the copy reverts, the reveal holds
    await commitHash(env, t, good, solver, salt);
    const c2 = await frontRun(() => env.market.connect(solver).reveal(t.id, good.finalRoot, good.steps, good.output, good.opening, salt, { gasLimit: 500_000n }), copier);
    expect([c2.copy.status, c2.honest.status]).toEqual([0, 1]);
    await advance(env, tt.window + 1);
    const s0 = await bal(await solver.getAddress());
    await send(env, env.market.finalize(t.id, t.initialRoot, good.finalRoot, good.output));
    expect(await bal(await solver.getAddress())).toBe(s0 + tt.reward + tt.solverBond);
    expect(await bal(await copier.getAddress())).toBe(0n);
  });
});

describe("attack 3: a starved callback", () => {
  it("the callback gets callbackGas with a 96 KiB output, or finalize reverts", async () => {
    const e = await deploy({ backend: toyBackend, callbackGas: 500_000 });
    await register(e, prog);
    const user = await e.ethers.deployContract("MarketUser", [await e.market.getAddress()]);
    await send(e, user.setModes(4, 0)); // GasOnly
    const outputBytes = 96 * 1024;
    const tt = terms({ limits: { ...terms().limits, outputBytes }, window: 100 });
    const deadline = (await e.ethers.provider.getBlock("latest")).timestamp + tt.deadlineIn;
    const r = await send(e, user.post(prog.root, input, limitsStruct(tt.limits), tt.window, tt.solverBond, tt.challengerBond, deadline, { value: tt.reward }));
    const ev = r.logs.map((l: Any) => { try { return e.market.interface.parseLog(l); } catch { return null; } }).find((x: Any) => x?.name === "TaskPosted");
    const t: PostedTask = { id: ev.args.taskId, program: prog, input, terms: tt, model: e.backend.model(prog, input, tt.limits), initialRoot: ev.args.initialRoot };
    // a halted final state with a 96 KiB output, mostly zeros
    const output = new Uint8Array(outputBytes);
    output.set(toUtf8Bytes("a long, mostly empty output"), 0);
    const st = (t.model as Any).stateAt(t.model.steps);
    const o = encodeOpening({ ...st, outLen: outputBytes, outputRoot: treeRoot(output, outputDepth(outputBytes)) });
    const claim: Claim = { finalRoot: hexlify(openingRoot(o)), steps: t.model.steps, output: hexlify(output), opening: hexlify(o) };
    await commit(e, t, claim, e.signers[1]);
    await advance(e, tt.window + 1);
    const args = [t.id, t.initialRoot, claim.finalRoot, claim.output] as const;
    // the least gas with which finalize succeeds (what a griefer would send) still gives the callback
    // all of it; with one gas less it reverts InsufficientGas
    const ok = async (gasLimit: bigint) => e.market.finalize.staticCall(...args, { gasLimit }).then(() => true, () => false);
    let [lo, hi] = [100_000n, 3_000_000n];
    expect(await ok(hi)).toBe(true);
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n;
      if (await ok(mid)) hi = mid;
      else lo = mid;
    }
    const least = hi;
    await expectError(e, e.market.finalize(...args, { gasLimit: least - 1n }), "InsufficientGas");
    await send(e, e.market.finalize(...args, { gasLimit: least }));
    expect(await user.results()).toBe(1n);
    const got = (await user.lastGas()) as bigint;
    expect(got).toBeGreaterThan(499_000n);
    expect(got).toBeLessThanOrEqual(500_000n);
    console.log(`attack 3: callback got ${got} of 500000 gas with a ${outputBytes}-byte output, finalize with ${least} gas (the least that succeeds)`);
  });
});

describe("attack 4: posters of every kind are served", () => {
  let contracts: Contracts;
  beforeAll(async () => {
    contracts = new Contracts(env.ethers.provider, { market: await env.market.getAddress(), game: await env.game.getAddress() });
  });

  /** The TaskPosted event of a receipt, decoded by the nodes' code. */
  function posted(r: Any): EventOf<"TaskPosted"> {
    for (const l of r.logs) {
      if (l.address.toLowerCase() !== contracts.addresses.market.toLowerCase()) continue;
      const ev = decodeEvent(contracts, { ...l, index: l.index ?? l.logIndex, transactionHash: l.transactionHash, blockNumber: l.blockNumber });
      if (ev?.kind === "TaskPosted") return ev;
    }
    throw new Error("no TaskPosted");
  }

  /** A liar's false result is beaten by a challenger that took the input from the chain, the true one finalized. */
  async function served(ev: EventOf<"TaskPosted">, tt: ReturnType<typeof terms>): Promise<Claim> {
    // nodes recover the input (the event's), so the task can be checked
    const got = await taskInput(env.ethers.provider, contracts, ev);
    expect(hexlify(got)).toBe(hexlify(input));
    const t: PostedTask = { id: ev.taskId, program: prog, input: got, terms: tt, model: env.backend.model(prog, got, tt.limits), initialRoot: ev.initialRoot };
    expect(t.model.rootAt(0n)).toBe(ev.initialRoot);
    const lie = falseClaimAt(t.model, t.model.steps, 1024);
    await commit(env, t, lie, S(1));
    const id = await challenge(env, t, lie, S(2));
    const g = await track(env, t, lie, id);
    const { playGame } = await import("./helpers.js");
    const liarRoots = (x: bigint) => (x === lie.steps ? lie.finalRoot : lyingFrom(t.model, 50n, "p")(x));
    expect(await playGame(env, g, t.model, { signer: S(1), roots: liarRoots }, { signer: S(2), roots: (x) => t.model.rootAt(x) })).toBe(false);
    const good = honestClaim(t.model);
    await commit(env, t, good, S(3));
    await advance(env, tt.window + 1);
    await send(env, env.market.finalize(t.id, t.initialRoot, good.finalRoot, good.output));
    return good;
  }

  it("a contract that posts from its constructor: input logged, callback delivered", async () => {
    const tt = terms();
    const deadline = (await env.ethers.provider.getBlock("latest")).timestamp + tt.deadlineIn;
    const c = await env.ethers.deployContract("ConstructorPoster", [await env.market.getAddress(), prog.root, input, limitsStruct(tt.limits), tt.window, tt.solverBond, tt.challengerBond, deadline], { value: tt.reward });
    const r = await c.deploymentTransaction()!.wait();
    const ev = posted(r);
    expect(ev.poster).toBe(await c.getAddress());
    expect(ev.input).toBe(hexlify(input));
    expect((await env.market.taskOf(ev.taskId)).callback).toBe(true);
    const good = await served(ev, tt);
    expect(await c.results()).toBe(1n);
    expect(await c.lastOutput()).toBe(good.output);
    expect(Number(await c.lastStatus())).toBe(1);
  });

  it("a contract called through another: input logged, callback delivered", async () => {
    const tt = terms();
    const user = await env.ethers.deployContract("MarketUser", [await env.market.getAddress()]);
    const fwd = await env.ethers.deployContract("Forwarder");
    const deadline = (await env.ethers.provider.getBlock("latest")).timestamp + tt.deadlineIn;
    const data = user.interface.encodeFunctionData("post", [prog.root, input, limitsStruct(tt.limits), tt.window, tt.solverBond, tt.challengerBond, deadline]);
    const r = await send(env, fwd.forward(await user.getAddress(), data, { value: tt.reward }));
    const ev = posted(r);
    expect(ev.poster).toBe(await user.getAddress());
    expect(ev.input).toBe(hexlify(input));
    const good = await served(ev, tt);
    expect(await user.lastTaskId()).toBe(ev.taskId);
    expect(await user.lastOutput()).toBe(good.output);
  });

  it("an EIP-7702 account: input logged, callback delivered to its code", async () => {
    const tt = terms();
    const delegate = await env.ethers.deployContract("Delegate7702");
    const account = new Wallet(hardhatKey(9), env.ethers.provider);
    const auth = await account.authorize({ address: await delegate.getAddress(), nonce: (await account.getNonce()) + 1 });
    const deadline = (await env.ethers.provider.getBlock("latest")).timestamp + tt.deadlineIn;
    const data = delegate.interface.encodeFunctionData("post", [await env.market.getAddress(), prog.root, input, limitsStruct(tt.limits), tt.window, tt.solverBond, tt.challengerBond, deadline]);
    const sent = await account.sendTransaction({ type: 4, to: account.address, data, value: tt.reward, authorizationList: [auth], gasLimit: 1_000_000n });
    const r = await sent.wait();
    expect(r!.status).toBe(1);
    const ev = posted(r);
    expect(ev.poster).toBe(account.address);
    expect(ev.input).toBe(hexlify(input));
    expect((await env.market.taskOf(ev.taskId)).callback).toBe(true);
    const good = await served(ev, tt);
    const asDelegate = await env.ethers.getContractAt("Delegate7702", account.address);
    expect(await asDelegate.results()).toBe(1n);
    expect(await asDelegate.lastOutput()).toBe(good.output);
  });

  it("a plain account posting directly: input not logged, recovered from the calldata", async () => {
    const tt = terms();
    const t = await task(tt, S(8));
    const r = await env.ethers.provider.getTransactionReceipt((await env.market.queryFilter(env.market.filters.TaskPosted(t.id)))[0].transactionHash);
    const ev = posted(r);
    expect(ev.input).toBe("0x");
    expect((await env.market.taskOf(t.id)).callback).toBe(false);
    expect(hexlify(await taskInput(env.ethers.provider, contracts, ev))).toBe(hexlify(input));
  });
});

void ETH;
void Z;

describe("the exit code is passed on", () => {
  it("in Revealed, taskOf and the poster's callback", async () => {
    const { realBackend, realProgram, RealModel } = await import("./model.js");
    const { EXIT_PROGRAM } = await import("../state/programs.js");
    const { wat2wasm } = await import("../state/util.js");
    const e = await deploy({ backend: realBackend });
    const p = realProgram(await wat2wasm(EXIT_PROGRAM.wat));
    await register(e, p);
    const user = await e.ethers.deployContract("MarketUser", [await e.market.getAddress()]);
    const tt = terms({ limits: { ...terms().limits, ...EXIT_PROGRAM.limits }, window: 100 });
    const deadline = (await e.ethers.provider.getBlock("latest")).timestamp + tt.deadlineIn;
    const r = await send(e, user.post(p.root, "0x", limitsStruct(tt.limits), tt.window, tt.solverBond, tt.challengerBond, deadline, { value: tt.reward }));
    const ev = r.logs.map((l: Any) => { try { return e.market.interface.parseLog(l); } catch { return null; } }).find((x: Any) => x?.name === "TaskPosted");
    const model = new RealModel(p.program, new Uint8Array(0), tt.limits);
    const t: PostedTask = { id: ev.args.taskId, program: p, input: new Uint8Array(0), terms: tt, model, initialRoot: ev.args.initialRoot };
    const claim = honestClaim(model);
    const rv = await commit(e, t, claim, e.signers[1]);
    const revealed = rv.logs.map((l: Any) => e.market.interface.parseLog(l)).find((x: Any) => x?.name === "Revealed");
    expect([Number(revealed.args.status), Number(revealed.args.exitCode), Number(revealed.args.trap)]).toEqual([1, EXIT_PROGRAM.exitCode, 0]);
    expect(Number((await e.market.taskOf(t.id)).exitCode)).toBe(EXIT_PROGRAM.exitCode);
    await advance(e, tt.window + 1);
    await send(e, e.market.finalize(t.id, t.initialRoot, claim.finalRoot, claim.output));
    expect([Number(await user.lastStatus()), Number(await user.lastCode())]).toEqual([1, EXIT_PROGRAM.exitCode]);
    expect(await user.lastOutput()).toBe(claim.output);
  });
});
