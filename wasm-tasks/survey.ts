/**
 * Third-party WebAssembly found on this machine, loaded as a new user would: every `.wasm` file
 * under a node_modules directory, and every module embedded in a node_modules JavaScript file as a
 * base64 string (how most npm packages ship theirs: "AGFzbQ" is the base64 of "\0asm") or as a
 * string literal of its bytes (binaryen's, wabt's). Modules shipped compressed (solc's soljson.js) are
 * not found. Each
 * distinct module (by hash) is compiled by the machine (decode, validate, lower; imports are
 * linked by the embedder, so "embed" mode) and reported: loads, or refused with the reason.
 *
 *   tsx wasm-tasks/survey.ts [ROOT...]      default roots: / (node_modules directories only)
 *
 * docs/TASKS.md §6 lists the outcome.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { compile } from "../interpreter/lower.js";
import { WasmError } from "../interpreter/program.js";
import { importsWasi } from "../interpreter/wasi.js";

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ["/"];
const list = (args: string[]) =>
  execFileSync("find", [...roots, "(", "-path", "/proc", "-o", "-path", "/sys", ")", "-prune", "-o", ...args, "-print"], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] })
    .split("\n")
    .filter(Boolean);

const found = new Map<string, { bytes: Uint8Array; where: string[] }>();
const add = (bytes: Uint8Array, where: string) => {
  const h = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  const e = found.get(h);
  if (e) e.where.push(where);
  else found.set(h, { bytes, where: [where] });
};
const tryFind = (args: string[]) => {
  try {
    return list(args);
  } catch (e) {
    return ((e as { stdout?: string }).stdout ?? "").split("\n").filter(Boolean);
  }
};
for (const f of tryFind(["-name", "*.wasm", "-path", "*node_modules*"])) add(new Uint8Array(readFileSync(f)), f);
for (const f of tryFind(["(", "-name", "*.js", "-o", "-name", "*.cjs", "-o", "-name", "*.mjs", ")", "-path", "*node_modules*", "-size", "+2k"])) {
  let text: string;
  try {
    text = readFileSync(f, "latin1");
  } catch {
    continue;
  }
  // a JavaScript string literal of the bytes, one byte per character: binaryen's `\0asm\x01…`
  // (escaped), wabt's '<NUL>asm<SOH>…' (raw characters of the UTF-8 file)
  if (text.includes("\\0asm") || text.includes("\0asm")) {
    const utf8 = readFileSync(f, "utf8");
    for (const q of ["`", "'", '"']) {
      for (const start of [`${q}\\0asm`, `${q}\0asm`]) {
        for (let at = utf8.indexOf(start); at >= 0; at = utf8.indexOf(start, at + 1)) {
          let end = at + 1;
          while (end < utf8.length && utf8[end] !== q) end += utf8[end] === "\\" ? 2 : 1;
          try {
            const str = new Function(`return ${utf8.slice(at, end + 1)}`)() as string;
            const bytes = Uint8Array.from(str, (c) => c.charCodeAt(0));
            new WebAssembly.Module(bytes);
            add(bytes, f);
          } catch {
            /* not a module */
          }
        }
      }
    }
  }
  if (!text.includes("AGFzbQ")) continue;
  for (const m of text.matchAll(/AGFzbQ[A-Za-z0-9+/]+={0,2}/g)) {
    const bytes = new Uint8Array(Buffer.from(m[0], "base64"));
    try {
      new WebAssembly.Module(bytes); // only what V8 itself loads is a module
    } catch {
      continue;
    }
    add(bytes, f);
  }
}

const short = (p: string) => p.replace(/^.*node_modules\//, "");
const rows: { name: string; size: number; result: string }[] = [];
for (const [h, { bytes, where }] of found) {
  const names = [...new Set(where.map(short))];
  let result: string;
  try {
    compile(bytes, { imports: "embed" });
    result = "loads";
    if (importsWasi(bytes)) {
      try {
        compile(bytes, { imports: "task" });
        result += "; runs as a WASI task";
      } catch (e) {
        result += `; not a task: ${(e as Error).message}`;
      }
    }
  } catch (e) {
    result = e instanceof WasmError ? `refused: ${e.message}` : `CRASH: ${(e as Error).stack}`;
  }
  rows.push({ name: `${names[0]}${names.length > 1 ? ` (+${names.length - 1})` : ""} [${h}]`, size: bytes.length, result });
}
rows.sort((a, b) => a.name.localeCompare(b.name));
for (const r of rows) console.log(`${r.name}\t${r.size}\t${r.result}`);
const loaded = rows.filter((r) => r.result.startsWith("loads")).length;
console.log(`${rows.length} distinct modules: ${loaded} load, ${rows.length - loaded} refused`);
