// Builds the WASI adapter: interpreter/wasi/adapter.wat -> interpreter/wasi/build/adapter.wasm,
// with the wabt package (wat2wasm compiled to WebAssembly). A plain node script so that the
// loader (interpreter/wasi.ts) can run it synchronously in a child process when the output is
// missing or stale; `npm run build` runs it ahead of time.
//
//   node interpreter/wasi/build.mjs [--force]
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const ADAPTER_SOURCE = join(here, "adapter.wat");
export const ADAPTER_WASM = join(here, "build", "adapter.wasm");

function stale() {
  try {
    const built = statSync(ADAPTER_WASM).mtimeMs;
    return [ADAPTER_SOURCE, fileURLToPath(import.meta.url)].some((f) => built < statSync(f).mtimeMs);
  } catch {
    return true;
  }
}

export async function buildAdapter() {
  const wabt = await createRequire(import.meta.url)("wabt")();
  const mod = wabt.parseWat("adapter.wat", readFileSync(ADAPTER_SOURCE, "utf8"), { bulk_memory: true, mutable_globals: true, sign_extension: true });
  try {
    mod.resolveNames();
    mod.validate();
    const { buffer } = mod.toBinary({ write_debug_names: false });
    mkdirSync(dirname(ADAPTER_WASM), { recursive: true });
    const tmp = `${ADAPTER_WASM}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, buffer);
      renameSync(tmp, ADAPTER_WASM);
    } finally {
      rmSync(tmp, { force: true });
    }
    return buffer.length;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (stale() || process.argv.includes("--force")) {
    const n = await buildAdapter();
    console.log(`built ${ADAPTER_WASM} (${n} bytes)`);
  } else console.log(`${ADAPTER_WASM} is up to date`);
}
