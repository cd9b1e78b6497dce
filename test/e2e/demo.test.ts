/**
 * `truewasm demo` (relayer/demo.ts) as a child process, on a small batch of the embedded headers:
 * the lying solver is beaten and the relay stores the new tip (text output); with --honest, the
 * challenger disputing a correct result loses (JSON summary on stdout, narration on stderr).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./harness.js";

const HEADERS = 40;
const TIP_HEIGHT = 828_575 + HEADERS; // the embedded checkpoint is block 828,575

function demo(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [join(ROOT, "bin/truewasm.mjs"), "demo", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    proc.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    proc.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("truewasm demo", () => {
  it("a lying solver is beaten, the true result is finalized and the relay stores the tip", async () => {
    const r = await demo(["--headers", String(HEADERS)]);
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    const out = r.stdout;
    // as it happens
    expect(out).toContain(`submitted ${HEADERS} headers (828,576..828,615) to the relay`);
    expect(out).toMatch(/solver +commits a FALSE result/);
    expect(out).toMatch(/challenger +re-ran the task: the claimed final root 0x[0-9a-f…]+ is WRONG/);
    expect(out).toMatch(/challenger +proves step [\d,]+ on-chain: the prover's post-state differs/);
    expect(out).toContain("over: the challenger wins");
    expect(out).toMatch(/solver +commits the true result/);
    expect(out).toContain("evm_increaseTime");
    expect(out).toContain(`BtcRelay stored tip 1: block 828,615`);
    // the summary
    expect(out).toMatch(/Dispute +lying solver: game 1, k = 16, \d+ rounds/);
    expect(out).toMatch(/disputed step [\d,]+ → [\d,]+: \S+ in \S+, pc \d+; one-step proof by the challenger/);
    expect(out).toContain("winner: the challenger; the solver lost its bond");
    expect(out).toMatch(/one-step proof of step [\d,]+ \([\d,]+-byte witness\) +[\d,]+/);
    expect(out).toMatch(/finalize \(→ BtcRelay.onTaskResult stores the tip\) +[\d,]+/);
    expect(out).toMatch(new RegExp(`New tip +id 1: block 828,615 0{16}[0-9a-f]{48}`));
    expect(out).toMatch(/best tip +id 1, block 828,615 .*\(the new tip\)/);
    expect(out).toMatch(/solver +0x\S+ +-0\.45\d+ = +-0\.450000 \(bond lost/);
    expect(out).toMatch(/challenger +0x\S+ +[+-]0\.0\d+ = +\+0\.0\d+ \(its gas refunded from the liar's bond/);
  }, 180_000);

  it("--honest: the challenger disputing a correct result loses (--json summary)", async () => {
    const r = await demo(["--headers", String(HEADERS), "--honest", "--json"]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.mode).toBe("challenger disputes a correct result");
    expect(s.task.headers).toBe(HEADERS);
    expect(s.dispute.winner).toBe("solver");
    expect(s.dispute.proofBy).toBe("solver");
    expect(s.dispute.k).toBe(16);
    // the challenger disputes the last part of every round: the last step, the Halt
    expect(BigInt(s.dispute.disputedStep) + 1n).toBe(BigInt(s.task.steps));
    expect(s.dispute.instruction.op).toBe("Halt");
    expect(s.tip).toMatchObject({ id: "1", height: TIP_HEIGHT, best: { id: "1", height: TIP_HEIGHT } });
    const byRole = Object.fromEntries(s.balances.map((b: { role: string; payouts: string }) => [b.role, BigInt(b.payouts)]));
    expect(byRole.challenger).toBe(-(10n ** 18n) / 4n); // its bond
    expect(byRole.solver).toBe(10n ** 18n / 20n + 10n ** 18n / 8n); // the reward and half the challenger's bond
    expect(r.stderr).toContain("over: the solver wins");
  }, 180_000);
});
