/**
 * Bundles the explorer's page (explorer/page/: Preact, TypeScript) into explorer/build/ with esbuild:
 * `tsx explorer/build.ts` (part of `npm run build`). The server serves only these files: the page
 * needs no network access.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
export const PAGE_DIR = join(HERE, "page");
export const BUILD_DIR = join(HERE, "build");

export async function buildPage(opts: { outDir?: string; minify?: boolean } = {}): Promise<{ outDir: string; bytes: number }> {
  const esbuild = await import("esbuild");
  const outDir = opts.outDir ?? BUILD_DIR;
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(PAGE_DIR, "main.tsx")],
    bundle: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: opts.minify ?? process.env.EXPLORER_MINIFY !== "0",
    sourcemap: "linked",
    outfile: join(outDir, "app.js"),
    metafile: true,
    logLevel: "warning",
    legalComments: "none",
  });
  copyFileSync(join(PAGE_DIR, "index.html"), join(outDir, "index.html"));
  copyFileSync(join(PAGE_DIR, "style.css"), join(outDir, "style.css"));
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outDir, bytes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outDir } = await buildPage();
  console.log(`explorer page built in ${outDir}`);
}
