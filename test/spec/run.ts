/**
 * WebAssembly spec test runner.
 *
 *   npm run spec -- PATHS...        (files or folders of .wast scripts)
 *   npm run spec -- -v PATHS...     (every failure)
 *   npm run spec -- --profile 1.0 PATHS...
 *
 * The scripts of the WebAssembly 1.0 suite assert some 1.0 rules that 2.0 changed (multi-value,
 * several tables, call_indirect's table index, instantiation that traps after partial writes):
 * they run under the 1.0 profile (CompileOptions.profile), chosen for paths inside a folder named
 * `wasm-spec` (../shared/fixtures/wasm-spec) unless --profile says otherwise; everything else runs
 * under 2.0.
 *
 * Prints one line per file and, as the last line, {"files":N,"passed":N,"failed":N,"outOfScope":N}.
 * Exit code 1 when a check failed or a path could not be read.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { runScript, type FileResult } from "./script.js";

export type Profile = "1.0" | "2.0";

/** The profile of a script path: 1.0 inside a folder named `wasm-spec`, else 2.0. */
export function profileOf(path: string): Profile {
  return resolve(path).split(sep).includes("wasm-spec") ? "1.0" : "2.0";
}

export interface Summary {
  files: number;
  passed: number;
  failed: number;
  outOfScope: number;
}

export interface RunReport {
  summary: Summary;
  results: FileResult[];
  /** Paths that could not be read (or held no .wast file), with why. */
  unreadable: string[];
}

/** The .wast files of the given paths (folders are searched recursively, sorted by name). */
export function collectWastFiles(paths: string[], unreadable: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      unreadable.push(`${p}: ${(e as Error).message}`);
      return;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(p).sort();
      } catch (e) {
        unreadable.push(`${p}: ${(e as Error).message}`);
        return;
      }
      const before = out.length;
      for (const n of names) {
        const q = join(p, n);
        if (n.endsWith(".wast")) out.push(q);
        else if (statSync(q, { throwIfNoEntry: false })?.isDirectory()) walk(q, false);
      }
      if (top && out.length === before) unreadable.push(`${p}: no .wast files`);
    } else {
      out.push(p);
    }
  };
  for (const p of paths) walk(p, true);
  return out;
}

export async function runPaths(paths: string[], onFile?: (r: FileResult) => void, profile?: Profile): Promise<RunReport> {
  const unreadable: string[] = [];
  const files = collectWastFiles(paths, unreadable);
  const results: FileResult[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (e) {
      unreadable.push(`${f}: ${(e as Error).message}`);
      continue;
    }
    const p = profile ?? profileOf(f);
    const r = await runScript(text, basename(f), { compileOptions: { imports: "embed", profile: p } });
    results.push(r);
    onFile?.(r);
  }
  const summary: Summary = { files: results.length, passed: 0, failed: 0, outOfScope: 0 };
  for (const r of results) {
    summary.passed += r.passed;
    summary.failed += r.failed;
    summary.outOfScope += r.outOfScope;
  }
  return { summary, results, unreadable };
}

export function formatFileLine(r: FileResult, maxFailures = 3): string {
  let line = `${r.file}: passed=${r.passed} failed=${r.failed} outOfScope=${r.outOfScope} rejectedByWabt=${r.rejectedByWabt}`;
  if (r.failures.length) {
    const shown = r.failures.slice(0, maxFailures).map((f) => f.replace(/\s+/g, " "));
    line += ` | ${shown.join(" ;; ")}`;
    if (r.failures.length > maxFailures) line += ` ;; (+${r.failures.length - maxFailures} more)`;
  }
  return line;
}

async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes("-v") || argv.includes("--verbose");
  const pi = argv.indexOf("--profile");
  const profile = pi >= 0 ? argv[pi + 1] : undefined;
  if (profile !== undefined && profile !== "1.0" && profile !== "2.0") {
    console.error(`--profile takes 1.0 or 2.0, not ${profile}`);
    return 2;
  }
  const paths = argv.filter((a, i) => a !== "-v" && a !== "--verbose" && (pi < 0 || (i !== pi && i !== pi + 1)));
  if (paths.length === 0) {
    console.error("usage: npm run spec -- [-v] [--profile 1.0|2.0] PATHS...   (.wast files or folders of them)");
    return 2;
  }
  const t0 = performance.now();
  const report = await runPaths(
    paths,
    (r) => {
    console.log(formatFileLine(r));
    if (verbose) {
      for (const f of r.failures.slice(3)) console.log(`  ${f}`);
    }
    },
    profile as Profile | undefined,
  );
  for (const u of report.unreadable) console.error(`error: cannot read ${u}`);
  if (verbose) console.error(`time: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(JSON.stringify(report.summary));
  return report.summary.failed > 0 || report.unreadable.length > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
