/**
 * The task market: posting, solutions, finalization, refunds, callbacks, withdrawals and every
 * wrong call (each must revert with its named error). Games are played through the driver of
 * helpers.ts with the backend of model.ts (the toy prover until the real one is wired in).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ZeroHash, hexlify, keccak256, solidityPackedKeccak256, toUtf8Bytes } from "ethers";
import {
  ETH,
  advance,
  challenge,
  commit,
  commitHash,
  commitmentOf,
  deploy,
  expectError,
  honestClaim,
  lyingFrom,
  network,
  newSalt,
  playGame,
  postTask,
  register,
  reveal,
  send,
  terms,
  track,
  type Any,
  type Claim,
  type Env,
  type PostedTask,
} from "./helpers.js";
import { encodeOpening, limitsStruct, openingRoot, toyProgram, type TaskProgram } from "./model.js";
import { Z, outputDepth } from "../../interpreter/state.js";

let env: Env;
let prog: TaskProgram; // halts after 1000 steps
let trapProg: TaskProgram; // never halts within the step limit of its tasks
const input = toUtf8Bytes("the input of the market tests");

const sel = (name: string) => keccak256(toUtf8Bytes(name)).slice(0, 10);

beforeAll(async () => {
  env = await deploy();
  prog = toyProgram(1000n);
  trapProg = toyProgram(10n ** 9n, 1);
  await register(env, prog);
  await register(env, trapProg);
});

const [poster, solver, challenger, other] = [0, 1, 2, 3];
const S = (i: number) => env.signers[i];
const bal = async (i: number | string) => (await env.market.balanceOf(typeof i === "string" ? i : await S(i).getAddress())) as bigint;

async function freshTask(t = terms(), program = prog, from = S(poster)): Promise<PostedTask> {
  return postTask(env, program, input, t, from);
}

async function finalizeAfterWindow(task: PostedTask, claim: Claim): Promise<Any> {
  await advance(env, task.terms.window + 1);
  return send(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
}

describe("registry", () => {
  it("registers a program once per root and emits the wasm every time", async () => {
    const p = toyProgram(5n, 77);
    const r1 = await send(env, env.market.register(p.wasm, (await import("./model.js")).descriptorStruct(p.descriptor)));
    const ev = env.market.interface.parseLog(r1.logs[0]);
    expect(ev.name).toBe("ProgramRegistered");
    expect(ev.args.programRoot).toBe(p.root);
    expect(ev.args.wasm).toBe(hexlify(p.wasm));
    const r2 = await send(env, env.market.connect(S(other)).register(toUtf8Bytes("other bytes"), (await import("./model.js")).descriptorStruct(p.descriptor)));
    expect(env.market.interface.parseLog(r2.logs[0]).args.wasm).toBe(hexlify(toUtf8Bytes("other bytes")));
    expect(r2.gasUsed).toBeLessThan(r1.gasUsed);
  });

  it("rejects impossible descriptors and unknown programs", async () => {
    const { descriptorStruct } = await import("./model.js");
    const d = descriptorStruct(toyProgram(5n, 78).descriptor);
    await expectError(env, env.market.register("0x", { ...d, codeDepth: 33 }), "BadDescriptor");
    await expectError(env, env.market.register("0x", { ...d, initPages: 10, memMax: 5 }), "BadDescriptor");
    await expectError(env, env.market.register("0x", { ...d, memMax: 65537 }), "BadDescriptor");
    await expectError(env, env.market.descriptorOf(keccak256("0x01")), "UnknownProgram");
    const tt = terms();
    await expectError(env, env.market.post(keccak256("0x01"), "0x", limitsStruct(tt.limits), 10, 1, 1, 2n ** 39n), "UnknownProgram");
  });
});

describe("posting", () => {
  it("computes the initial root from the input and keeps the reward", async () => {
    const before = await env.ethers.provider.getBalance(await env.market.getAddress());
    const task = await freshTask();
    const t = await env.market.taskOf(task.id);
    expect(t.head).toBe(task.model.rootAt(0n)); // no solution held: head is the initial root
    expect(task.initialRoot).toBe(task.model.rootAt(0n));
    expect(t.reward).toBe(ETH);
    expect(Number(t.stage)).toBe(1);
    expect(await env.ethers.provider.getBalance(await env.market.getAddress())).toBe(before + ETH);
    expect(await env.market.escrowOf(task.id)).toBe(ETH);
  });

  it("rejects bad terms with named errors", async () => {
    const tt = terms();
    const L = limitsStruct(tt.limits);
    const dl = BigInt((await env.ethers.provider.getBlock("latest")).timestamp + 1000);
    const past = dl - 2000n;
    await expectError(env, env.market.post(prog.root, input, L, 10, 1, 1, past), "BadDeadline");
    await expectError(env, env.market.post(prog.root, input, L, 0, 1, 1, dl), "BadWindow");
    await expectError(env, env.market.post(prog.root, input, { ...L, steps: 2n ** 48n - 1n }, 10, 1, 1, dl), "StepLimitTooLarge");
    await expectError(env, env.market.post(prog.root, input, { ...L, memoryPages: 0 }, 10, 1, 1, dl), "InitialMemoryTooLarge");
  });
});

describe("unchallenged solutions", () => {
  it("commit, window, finalize, withdraw", async () => {
    const task = await freshTask();
    const claim = honestClaim(task.model);
    const r = await commit(env, task, claim, S(solver));
    const ev = env.market.interface.parseLog(r.logs[0]);
    expect(ev.name).toBe("Revealed");
    expect(ev.args.output).toBe(claim.output);
    expect(Number(ev.args.status)).toBe(1);
    expect(Number(ev.args.exitCode)).toBe(0);
    expect(Number(ev.args.trap)).toBe(0);
    expect(await env.market.escrowOf(task.id)).toBe(task.terms.reward + task.terms.solverBond);
    // the solution folds into head; claimHash stays empty until a challenge
    const tv = await env.market.taskOf(task.id);
    expect(tv.head).toBe(solidityPackedKeccak256(["bytes32", "bytes32", "bytes32"], [task.initialRoot, claim.finalRoot, keccak256(claim.output)]));
    expect(tv.claimHash).toBe(ZeroHash);
    await expectError(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output), "WindowOpen");

    const b0 = await bal(solver);
    await advance(env, task.terms.window + 1);
    await expectError(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, "0x1234"), "ClaimMismatch");
    await expectError(env, env.market.finalize(task.id, claim.finalRoot, claim.finalRoot, claim.output), "ClaimMismatch");
    const fr = await send(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
    const fev = fr.logs.map((l: Any) => env.market.interface.parseLog(l)).find((x: Any) => x?.name === "Finalized");
    expect(Number(fev.args.status)).toBe(1);
    expect(await bal(solver)).toBe(b0 + task.terms.reward + task.terms.solverBond);
    expect(await env.market.escrowOf(task.id)).toBe(0n);
    const eth0 = await env.ethers.provider.getBalance(await S(solver).getAddress());
    const wr = await send(env, env.market.connect(S(solver)).withdraw());
    const eth1 = await env.ethers.provider.getBalance(await S(solver).getAddress());
    expect(eth1 - eth0 + wr.gasUsed * wr.gasPrice).toBe(b0 + task.terms.reward + task.terms.solverBond);
    expect(await bal(solver)).toBe(0n);
    await expectError(env, env.market.connect(S(solver)).withdraw(), "NothingToWithdraw");
    await expectError(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output), "TaskClosed");
    await expectError(env, env.market.connect(S(other)).commit(task.id, keccak256("0x01"), { value: task.terms.solverBond }), "TaskClosed");
    await expectError(env, env.market.connect(S(challenger)).challenge(task.id, task.initialRoot, claim.finalRoot, keccak256(claim.output), { value: task.terms.challengerBond }), "TaskClosed");
    await expectError(env, env.market.expire(task.id), "TaskClosed");
  });

  it("a trapped run is a result too: empty output, status 2, trap code kept", async () => {
    const tt = terms({ limits: { ...terms().limits, steps: 50 } });
    const task = await freshTask(tt, trapProg);
    const claim = honestClaim(task.model);
    expect(claim.steps).toBe(51n);
    expect(claim.output).toBe("0x");
    await commit(env, task, claim, S(solver));
    const t = await env.market.taskOf(task.id);
    expect(Number(t.status)).toBe(2);
    expect(Number(t.trap)).toBe(10);
    expect(Number(t.exitCode)).toBe(0);
    const fr = await finalizeAfterWindow(task, claim);
    const fev = fr.logs.map((l: Any) => env.market.interface.parseLog(l)).find((x: Any) => x?.name === "Finalized");
    expect(Number(fev.args.status)).toBe(2);
  });

  it("rejects bad commitments and reveals with named errors", async () => {
    const task = await freshTask();
    const claim = honestClaim(task.model);
    const m = env.market.connect(S(solver));
    const bond = task.terms.solverBond;
    const c = commitmentOf(await S(solver).getAddress(), claim.finalRoot, keccak256("0x5a"));
    await expectError(env, m.commit(999999, c, { value: bond }), "UnknownTask");
    await expectError(env, m.commit(task.id, c, { value: bond - 1n }), "WrongBond");
    await expectError(env, m.commit(task.id, c, { value: bond + 1n }), "WrongBond");
    await expectError(env, reveal(env, task, claim, S(solver), keccak256("0x5a")), "NoClaim");
    await send(env, m.commit(task.id, c, { value: bond }));
    await expectError(env, env.market.connect(S(other)).commit(task.id, c, { value: bond }), "AlreadyClaimed");
    // only the committer, with the salt and final root of its commitment
    await expectError(env, reveal(env, task, claim, S(other), keccak256("0x5a")), "CommitmentMismatch");
    await expectError(env, reveal(env, task, claim, S(solver), keccak256("0x5b")), "CommitmentMismatch");
    await expectError(env, reveal(env, task, { ...claim, finalRoot: keccak256("0x01") }, S(solver), keccak256("0x5a")), "CommitmentMismatch");
    // a commitment to the right root, revealed with a bad result
    await expectError(env, reveal(env, task, { ...claim, steps: claim.steps - 1n }, S(solver), keccak256("0x5a")), "StepsMismatch");
    await expectError(env, reveal(env, task, { ...claim, opening: claim.opening + "00" }, S(solver), keccak256("0x5a")), "BadOpening");
    await expectError(env, reveal(env, task, { ...claim, output: "0x" }, S(solver), keccak256("0x5a")), "OutputMismatch");
    const flipped = "0x" + (claim.output[2] === "0" ? "1" : "0") + claim.output.slice(3);
    await expectError(env, reveal(env, task, { ...claim, output: flipped }, S(solver), keccak256("0x5a")), "OutputMismatch");
    await expectError(env, m.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output), "NoClaim");
    await expectError(env, challenge(env, task, claim, S(challenger)), "NoClaim");
    await reveal(env, task, claim, S(solver), keccak256("0x5a"));
    await expectError(env, reveal(env, task, claim, S(solver), keccak256("0x5a")), "AlreadyRevealed");
    await expectError(env, env.market.connect(S(other)).commit(task.id, c, { value: bond }), "AlreadyClaimed");

    // reveals whose final root differs from the opening's, or whose state is no result
    const revealsFail = async (cl: Claim, error: string) => {
      const t = await freshTask();
      const salt = newSalt();
      await commitHash(env, t, cl, S(solver), salt);
      await expectError(env, reveal(env, t, cl, S(solver), salt), error);
    };
    await revealsFail({ ...claim, finalRoot: keccak256("0x01") }, "RootMismatch");
    // a running state is not a result
    await revealsFail({ finalRoot: task.model.rootAt(500n), steps: 500n, output: "0x", opening: task.model.witnessAt(500n) }, "NotTerminal");
    // a "halted" state at step 0 is not a result either
    const st = (task.model as Any).stateAt(claim.steps);
    const zero = encodeOpening({ ...st, regs: { ...st.regs, steps: 0 } });
    await revealsFail({ finalRoot: hexlify(openingRoot(zero)), steps: 0n, output: claim.output, opening: hexlify(zero) }, "BadSteps");
    // a trapped state must come with an empty output
    const tr = encodeOpening({ ...st, regs: { ...st.regs, status: 2, trap: 1 } });
    await revealsFail({ finalRoot: hexlify(openingRoot(tr)), steps: claim.steps, output: claim.output, opening: hexlify(tr) }, "OutputMismatch");
  });

  it("a commitment not revealed within the window is forfeited: its bond burnt, the task open again", async () => {
    const task = await freshTask(terms({ window: 600 }));
    const claim = honestClaim(task.model);
    const salt = newSalt();
    await commitHash(env, task, claim, S(other), salt);
    expect(await env.market.escrowOf(task.id)).toBe(task.terms.reward + task.terms.solverBond);
    const v = await env.market.taskOf(task.id);
    expect([v.committed, v.revealed, v.solver]).toEqual([true, false, "0x0000000000000000000000000000000000000000"]);
    await expectError(env, env.market.forfeit(task.id), "RevealOpen");
    await expectError(env, env.market.expire(task.id), "ClaimPending");
    await advance(env, 601);
    await expectError(env, reveal(env, task, claim, S(other), salt), "RevealClosed");
    const burnt0 = (await env.market.burnt()) as bigint;
    await send(env, env.market.connect(S(poster)).forfeit(task.id));
    expect((await env.market.burnt()) - burnt0).toBe(task.terms.solverBond);
    expect(await env.market.escrowOf(task.id)).toBe(task.terms.reward);
    await expectError(env, env.market.forfeit(task.id), "NoClaim");
    // anyone may commit again, the true result included
    await commit(env, task, claim, S(solver));
    await finalizeAfterWindow(task, claim);
    expect(Number((await env.market.taskOf(task.id)).stage)).toBe(2);
  });

  it("no commitment after the deadline", async () => {
    const task = await freshTask(terms({ deadlineIn: 100 }));
    await advance(env, 101);
    await expectError(env, commit(env, task, honestClaim(task.model), S(solver)), "DeadlinePassed");
  });
});

describe("refunds", () => {
  it("no solution by the deadline: the poster gets the reward back", async () => {
    const task = await freshTask(terms({ deadlineIn: 1000 }));
    await expectError(env, env.market.expire(task.id), "DeadlineNotPassed");
    await advance(env, 1001);
    const b0 = await bal(poster);
    await send(env, env.market.connect(S(other)).expire(task.id));
    expect(await bal(poster)).toBe(b0 + task.terms.reward);
    expect(Number((await env.market.taskOf(task.id)).stage)).toBe(3);
    await expectError(env, env.market.expire(task.id), "TaskClosed");
    await expectError(env, env.market.expire(999999), "UnknownTask");
  });

  it("a solution held at the deadline blocks the refund; once defeated it does not", async () => {
    const task = await freshTask(terms({ deadlineIn: 1000, window: 5000 }));
    const lie = lyingFrom(task.model, 700n);
    const st = (task.model as Any).stateAt(task.model.steps);
    // a halted claim with an empty output: consistent (the output check passes), but false
    const fake = encodeOpening({ ...st, outputRoot: Z[outputDepth(task.terms.limits.outputBytes)], outLen: 0 });
    const claim: Claim = { finalRoot: hexlify(openingRoot(fake)), steps: task.model.steps, output: "0x", opening: hexlify(fake) };
    await commit(env, task, claim, S(solver));
    await advance(env, 1001);
    await expectError(env, env.market.expire(task.id), "ClaimPending");
    const gid = await challenge(env, task, claim, S(challenger));
    const g = await track(env, task, claim, gid);
    const solverWon = await playGame(env, g, task.model, { signer: S(solver), roots: (t) => (t === claim.steps ? claim.finalRoot : lie(t)) }, { signer: S(challenger), roots: task.model.rootAt.bind(task.model) });
    expect(solverWon).toBe(false);
    await expectError(env, commit(env, task, honestClaim(task.model), S(other)), "DeadlinePassed");
    const b0 = await bal(poster);
    await send(env, env.market.expire(task.id));
    expect(await bal(poster)).toBe(b0 + task.terms.reward);
  });
});

describe("callbacks", () => {
  let user: Any;
  beforeAll(async () => {
    const { ethers } = await network();
    user = await ethers.deployContract("MarketUser", [await env.market.getAddress()]);
  });

  async function userTask(t = terms(), program = prog): Promise<PostedTask> {
    const deadline = (await env.ethers.provider.getBlock("latest")).timestamp + t.deadlineIn;
    const r = await send(env, user.post(program.root, input, limitsStruct(t.limits), t.window, t.solverBond, t.challengerBond, deadline, { value: t.reward }));
    const ev = r.logs.map((l: Any) => { try { return env.market.interface.parseLog(l); } catch { return null; } }).find((x: Any) => x?.name === "TaskPosted");
    return { id: ev.args.taskId, program, input, terms: t, model: env.backend.model(program, input, t.limits), initialRoot: ev.args.initialRoot };
  }

  it("delivers the output and status to a contract poster", async () => {
    await send(env, user.setModes(0, 0));
    const task = await userTask();
    const claim = honestClaim(task.model);
    await commit(env, task, claim, S(solver));
    await finalizeAfterWindow(task, claim);
    expect(await user.lastTaskId()).toBe(task.id);
    expect(await user.lastOutput()).toBe(claim.output);
    expect(Number(await user.lastStatus())).toBe(1);
    const g = await user.lastGas();
    expect(g).toBeGreaterThan(490_000n);
    expect(g).toBeLessThanOrEqual(500_000n);
  });

  it("reports expiry with status 0 and refunds the contract, which withdraws", async () => {
    const task = await userTask(terms({ deadlineIn: 50 }));
    await advance(env, 51);
    await send(env, env.market.expire(task.id));
    expect(Number(await user.lastStatus())).toBe(0);
    expect(await user.lastOutput()).toBe("0x");
    expect(await bal(await user.getAddress())).toBe(task.terms.reward);
    await send(env, user.withdraw());
    expect(await bal(await user.getAddress())).toBe(0n);
  });

  for (const [mode, name] of [[1, "reverting"], [2, "gas-burning"]] as const) {
    it(`a ${name} callback does not block finalization`, async () => {
      await send(env, user.setModes(mode, 0));
      const task = await userTask();
      const claim = honestClaim(task.model);
      await commit(env, task, claim, S(solver));
      const before = await user.results();
      const r = await finalizeAfterWindow(task, claim);
      const names = r.logs.map((l: Any) => env.market.interface.parseLog(l)?.name);
      expect(names).toContain("CallbackFailed");
      expect(Number((await env.market.taskOf(task.id)).stage)).toBe(2);
      expect(await user.results()).toBe(before);
      await send(env, user.setModes(0, 0));
    });
  }

  it("finalize with too little gas for the callback reverts InsufficientGas (nobody can starve it)", async () => {
    await send(env, user.setModes(0, 0));
    const task = await userTask();
    const claim = honestClaim(task.model);
    await commit(env, task, claim, S(solver));
    await advance(env, task.terms.window + 1);
    await expectError(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output, { gasLimit: 300_000 }), "InsufficientGas");
    await send(env, env.market.finalize(task.id, task.initialRoot, claim.finalRoot, claim.output));
  });

  it("the callback cannot re-enter the market", async () => {
    await send(env, user.setModes(3, 0));
    const task = await userTask();
    const claim = honestClaim(task.model);
    await commit(env, task, claim, S(solver));
    await finalizeAfterWindow(task, claim);
    expect(await user.reentryError()).toBe(sel("Reentrancy()"));
    expect(await user.lastTaskId()).toBe(task.id);
    await send(env, user.setModes(0, 0));
  });
});

describe("withdrawals", () => {
  let user: Any;
  beforeAll(async () => {
    const { ethers } = await network();
    user = await ethers.deployContract("MarketUser", [await env.market.getAddress()]);
  });

  async function credit(): Promise<bigint> {
    // the user contract posts a task that expires: its reward is credited back to it
    const t = terms({ deadlineIn: 20, reward: 12345n });
    const deadline = (await env.ethers.provider.getBlock("latest")).timestamp + t.deadlineIn;
    const r = await send(env, user.post(prog.root, input, limitsStruct(t.limits), t.window, t.solverBond, t.challengerBond, deadline, { value: t.reward }));
    const ev = r.logs.map((l: Any) => { try { return env.market.interface.parseLog(l); } catch { return null; } }).find((x: Any) => x?.name === "TaskPosted");
    await advance(env, 21);
    await send(env, env.market.expire(ev.args.taskId));
    return t.reward;
  }

  it("a refused transfer reverts TransferFailed and keeps the balance", async () => {
    await send(env, user.setModes(0, 1));
    const owed = await credit();
    await expectError(env, user.withdraw(), "TransferFailed");
    expect(await bal(await user.getAddress())).toBe(owed);
    await send(env, user.setModes(0, 0));
    await send(env, user.withdraw());
    expect(await bal(await user.getAddress())).toBe(0n);
  });

  it("re-entering withdraw from receive reverts Reentrancy (and pays once)", async () => {
    await send(env, user.setModes(0, 2));
    const owed = await credit();
    const eth0 = await env.ethers.provider.getBalance(await user.getAddress());
    await send(env, user.withdraw());
    expect(await user.reentryError()).toBe(sel("Reentrancy()"));
    expect(await env.ethers.provider.getBalance(await user.getAddress())).toBe(eth0 + owed);
    expect(await bal(await user.getAddress())).toBe(0n);
  });
});

describe("access", () => {
  it("only the game reports results, only the market opens and aborts games", async () => {
    await expectError(env, env.market.onGameResolved(1, await S(0).getAddress(), true, 0), "NotGame");
    await expectError(env, env.game.open(await S(0).getAddress(), await S(1).getAddress(), keccak256("0x01"), keccak256("0x02"), 10, 1), "NotOwner");
    await expectError(env, env.game.credit(1, 5), "NotOwner");
    await expectError(env, env.game.closeGroup(1, 1), "NotOwner");
    await expectError(env, env.game.abort(1), "NotOwner");
    await expectError(env, env.market.release(123456), "NotLive");
  });
});
