// Compiles AssemblyScript programs with the asc API, one after the other in this process:
//   node asc-run.mjs '[{"name": "sha256d", "args": ["sha256d/assembly/index.ts", "-O3", ...]}, ...]'
// Prints one JSON line per job on stdout: {"name", "ok", "diagnostics"}.
// Spawned by build.ts as plain `node`: importing the 10 MB compiler through tsx's loader takes
// ~15 s, through plain node ~1 s (and once per worker, not once per task).
import asc from "assemblyscript/asc";

const jobs = JSON.parse(process.argv[2]);
let failed = false;
for (const job of jobs) {
  let diagnostics = "";
  const sink = {
    write(s) {
      diagnostics += typeof s === "string" ? s : Buffer.from(s).toString();
      return true;
    },
  };
  let ok = false;
  try {
    const { error } = await asc.main(job.args, { stdout: sink, stderr: sink });
    ok = !error;
    if (error && !diagnostics.includes(error.message)) diagnostics += error.message + "\n";
  } catch (e) {
    diagnostics += String(e && e.stack ? e.stack : e) + "\n";
  }
  failed ||= !ok;
  process.stdout.write(JSON.stringify({ name: job.name, ok, diagnostics }) + "\n");
}
process.exit(failed ? 1 : 0);
