/**
 * `benchFleet()`: real `truewasm` processes on a real `hardhat node` (test/e2e/fleet.ts).
 *
 * 1. Burst: 20 tasks of mixed sizes posted at once — sha256d over 3 to 6,100 messages (5·10^4 to
 *    10^8 steps; 1.8·10^8 in all) and echo for the honest solver, sort and sha256 for the lying one
 *    (a false output first, the truth after its defeat) — and one challenger. Every node runs with
 *    `--workers 2`. `wallSeconds`: from the first post to the last finalization.
 * 2. Serial: the same 20 tasks on a fresh chain, each posted once the previous one is finalized
 *    (`serialSeconds`).
 * 3. Restart: a lying solver and a challenger over sha256d of 6,100 messages (10^8 steps); the
 *    challenger is SIGKILLed after its first selection and restarted on its data directory:
 *    `stepsAfterRestart` (steps it ran before its next move), `resumeSeconds` (restart to that move).
 *
 * In both modes the challenge windows are jumped over (evm_increaseTime) as soon as every solution
 * held has been checked, so neither waits for wall-clock windows.
 * Environment: TRUEWASM_FLEET_SCALE (default 1) scales the message counts, for quick runs.
 */
import { removeTempDirs } from "../test/e2e/harness.js";
import { messagesInput, runFleet, runRestart, startChain, type TaskSpec } from "../test/e2e/fleet.js";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * seed + 11) & 255);

export function fleetTasks(scale = 1): TaskSpec[] {
  const m = (n: number) => messagesInput(Math.max(1, Math.round(n * scale)));
  return [
    { program: "sha256d", input: m(6100) },
    { program: "sort", input: bytes(64, 151) },
    { program: "sha256d", input: m(2400) },
    { program: "echo", input: bytes(40, 37) },
    { program: "sha256", input: bytes(2000, 13) },
    { program: "sha256d", input: m(1200) },
    { program: "sort", input: bytes(96, 29) },
    { program: "sha256d", input: m(600) },
    { program: "echo", input: bytes(400, 7) },
    { program: "sha256d", input: m(300) },
    { program: "sha256", input: bytes(700, 3) },
    { program: "sha256d", input: m(120) },
    { program: "sort", input: bytes(128, 61) },
    { program: "sha256d", input: m(60) },
    { program: "echo", input: bytes(8, 5) },
    { program: "sha256d", input: m(30) },
    { program: "sha256", input: bytes(64, 17) },
    { program: "sha256d", input: m(10) },
    { program: "sort", input: bytes(32, 71) },
    { program: "sha256d", input: m(3) },
  ];
}

export async function benchFleet(): Promise<Record<string, unknown>> {
  const scale = Number(process.env.TRUEWASM_FLEET_SCALE ?? 1);
  const tasks = fleetTasks(scale);
  const say = (msg: string) => console.error(`# fleet: ${msg}`);
  try {
    let c = await startChain(16);
    say("burst");
    const burst = await runFleet(c, tasks, { workers: 2, log: say });
    await c.hh.stop();
    if (burst.failures.length) say(`burst failures: ${burst.failures.join("; ")}`);
    say(`burst: ${burst.wallSeconds.toFixed(1)} s; serial`);
    c = await startChain(16);
    const serial = await runFleet(c, tasks, { workers: 2, serial: true, log: say });
    await c.hh.stop();
    if (serial.failures.length) say(`serial failures: ${serial.failures.join("; ")}`);
    say(`serial: ${serial.wallSeconds.toFixed(1)} s; restart`);
    c = await startChain(16);
    const restart = await runRestart(c, Math.max(1, Math.round(6100 * scale)), { workers: 2, log: say });
    await c.hh.stop();
    return {
      tasks: burst.tasks,
      finalizedCorrectly: burst.finalizedCorrectly,
      balancesCorrect: burst.balancesCorrect,
      lies: burst.lies,
      forfeits: burst.forfeits,
      wallSeconds: +burst.wallSeconds.toFixed(1),
      serialSeconds: +serial.wallSeconds.toFixed(1),
      burstOverSerial: +(burst.wallSeconds / serial.wallSeconds).toFixed(3),
      serialFinalizedCorrectly: serial.finalizedCorrectly,
      maxRssMiB: burst.maxRssMiB,
      restartTaskSteps: restart.restartTaskSteps,
      stepsAfterRestart: restart.stepsAfterRestart,
      stepsAfterRestartRatio: +(restart.stepsAfterRestart / restart.restartTaskSteps).toFixed(4),
      resumeSeconds: +restart.resumeSeconds.toFixed(1),
      restartedMove: restart.restartedMove,
      restartChallengerWon: restart.challengerWon,
    };
  } finally {
    removeTempDirs();
  }
}
