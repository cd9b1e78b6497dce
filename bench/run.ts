/**
 * `npm run bench -- NAME...`: runs the named benchmarks (all when none is named) and prints each
 * one's figures; the last line is the JSON object of the last benchmark run (or of all of them,
 * keyed by name, when several ran). Figures are measured in one process run so ratios compare
 * like with like on a noisy machine.
 */
const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  interpreter: async () => (await import("./interpreter.js")).benchInterpreter(),
  state: async () => (await import("./state.js")).benchState(),
  prover: async () => (await import("./prover.js")).benchProver(),
  game: async () => (await import("./game.js")).benchGame(),
  btc: async () => (await import("./btc.js")).benchBtc(),
  dispute: async () => (await import("./dispute.js")).benchDispute(),
  fleet: async () => (await import("./fleet.js")).benchFleet(),
  softfloat: async () => (await import("./softfloat.js")).benchSoftfloat(),
};

const names = process.argv.slice(2).filter((a) => a !== "--");
const unknown = names.filter((n) => !benches[n]);
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(benches).join(", ")}`);
  process.exit(2);
}
const selected = names.length ? names : Object.keys(benches);
const results: Record<string, unknown> = {};
for (const name of selected) {
  console.error(`# bench ${name}`);
  results[name] = await benches[name]();
  console.error(`# ${name}: ${JSON.stringify(results[name])}`);
}
console.log(JSON.stringify(selected.length === 1 ? results[selected[0]] : results));
