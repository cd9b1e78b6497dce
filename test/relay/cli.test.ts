/**
 * `truewasm btc verify` (bin/commands/btc.ts), run in-process through the dispatcher of bin/cli.ts:
 * results on real headers in every input format and mode, and a clear error with a non-zero exit
 * code for every kind of bad input.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../bin/cli.js";
import { splitHeaders } from "../../wasm-tasks/btc-headers/encoding.js";
import { validateHeaders } from "../../wasm-tasks/btc-headers/reference.js";
import { EMBEDDED_BTC, embeddedBtc } from "../tasks/helpers.js";

const CP = join(EMBEDDED_BTC, "checkpoint_828575.json");
const BIN = join(EMBEDDED_BTC, "mainnet_828576_830591.bin");
const cp = JSON.parse(embeddedBtc("checkpoint_828575.json").toString());
const headers = splitHeaders(new Uint8Array(embeddedBtc("mainnet_828576_830591.bin")));
let dir: string;

/** Runs the CLI; returns the exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const file = (name: string, data: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
};
const hexLines = (hs: Uint8Array[]) => hs.map((h) => Buffer.from(h).toString("hex")).join("\n") + "\n";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "truewasm-btc-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("truewasm btc verify", () => {
  it("validates the embedded 2,016 headers (raw binary): tip 830,591 and Core's chain work", async () => {
    const { code, out } = await cli("btc", "verify", "--checkpoint", CP, "--headers", BIN, "--quiet");
    expect(code).toBe(0);
    const r = JSON.parse(out);
    const ref = validateHeaders(cp, headers);
    expect(r).toMatchObject({ valid: true, rule: null, failedIndex: null, accepted: 2016, tipHash: ref.tipHash, height: 830591, chainWork: ref.chainWork, merkleRoot: ref.merkleRoot, headers: 2016, mode: "full" });
    expect(r.next).toEqual(ref.next);
    expect(r.steps).toBeGreaterThan(50_000_000);
  });

  it("reads hex lines (CRLF, 0x, blank lines) and runs every mode to the same verdict", async () => {
    const hs = headers.slice(0, 30);
    const text = file("h.txt", "\r\n0x" + hexLines(hs).replaceAll("\n", "\r\n") + "\r\n");
    const ref = validateHeaders(cp, hs);
    for (const mode of ["full", "compact", "dense"]) {
      const { code, out } = await cli("btc", "verify", "--checkpoint", CP, "--headers", text, "--mode", mode);
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ valid: true, tipHash: ref.tipHash, height: 828605, chainWork: ref.chainWork, mode, headers: 30 });
    }
  });

  it("an invalid header: valid false, the rule and index, exit code 3", async () => {
    const hs = headers.slice(0, 10).map((h) => Uint8Array.from(h));
    hs[6][76] ^= 1; // nonce
    const { code, out } = await cli("btc", "verify", "--checkpoint", CP, "--headers", file("bad.bin", Buffer.concat(hs)));
    expect(code).toBe(3);
    expect(JSON.parse(out)).toMatchObject({ valid: false, rule: "pow", failedIndex: 6, accepted: 6, height: 828581 });
    const link = headers.slice(0, 10).map((h) => Uint8Array.from(h));
    link[3][10] ^= 1; // prev-hash
    const r = await cli("btc", "verify", "--checkpoint", CP, "--headers", file("link.txt", hexLines(link)));
    expect(JSON.parse(r.out)).toMatchObject({ valid: false, rule: "link", failedIndex: 3 });
  });

  it("bad input: a clear error naming the file and the problem, exit code 1", async () => {
    const bad = async (cpPath: string, hPath: string, msg: RegExp) => {
      const { code, err } = await cli("btc", "verify", "--checkpoint", cpPath, "--headers", hPath);
      expect(code).toBe(1);
      expect(err).toMatch(msg);
    };
    const good = file("good.bin", Buffer.concat(headers.slice(0, 2)));
    await bad(CP, file("odd.bin", Buffer.concat(headers.slice(0, 2)).subarray(0, 159)), /159 bytes is not a whole number of 80-byte headers/);
    await bad(CP, file("empty.bin", ""), /empty/);
    await bad(CP, file("blank.txt", "\n\n"), /no header lines/);
    await bad(CP, file("short.txt", hexLines(headers.slice(0, 2)) + "00ff\n"), /line 3: 4 hex digits, a header is 160/);
    await bad(CP, file("nothex.txt", "hello world\n"), /line 1: not hex/);
    await bad(CP, join(dir, "missing.bin"), /cannot read headers/);
    await bad(file("cp1.json", "{not json"), good, /is not JSON/);
    await bad(file("cp2.json", "[1]"), good, /expected a JSON object/);
    await bad(file("cp3.json", JSON.stringify({ ...cp, hash: "00" })), good, /"hash" must be 64 hex digits/);
    await bad(file("cp4.json", JSON.stringify({ ...cp, timestamps: [] })), good, /"timestamps" must be an array of 1..11/);
    await bad(file("cp5.json", JSON.stringify({ ...cp, timestamps: Array(12).fill(1) })), good, /1..11/);
    await bad(file("cp6.json", JSON.stringify({ ...cp, chainWork: 12 })), good, /"chainWork" must be a decimal string/);
    await bad(file("cp7.json", JSON.stringify({ ...cp, bits: "0xzz" })), good, /"bits" must be a number or a hex string/);
    await bad(file("cp8.json", JSON.stringify({ ...cp, height: -1 })), good, /"height" must be an integer/);
    await bad(file("cp9.json", JSON.stringify({ ...cp, heigth: 1 })), good, /unknown field\(s\) "heigth"/);
    const { height: _h, ...noHeight } = cp;
    await bad(file("cp10.json", JSON.stringify(noHeight)), good, /"height"/);
  });

  it("usage: --help, missing options, unknown subcommands and modes (exit code 2)", async () => {
    for (const args of [["btc", "--help"], ["btc", "verify", "--help"], ["help", "btc"]]) {
      const { code, out } = await cli(...args);
      expect(code).toBe(0);
      expect(out).toMatch(/usage: truewasm btc verify --checkpoint CHECKPOINT.json --headers FILE/);
    }
    const usage = async (args: string[], msg: RegExp) => {
      const { code, err } = await cli(...args);
      expect(code).toBe(2);
      expect(err).toMatch(msg);
    };
    await usage(["btc"], /expected a subcommand: verify/);
    await usage(["btc", "check"], /unknown subcommand "check"/);
    await usage(["btc", "verify", "--headers", BIN], /--checkpoint CHECKPOINT.json is required/);
    await usage(["btc", "verify", "--checkpoint", CP], /--headers FILE is required/);
    await usage(["btc", "verify", "--checkpoint", CP, "--headers", BIN, "--mode", "fast"], /--mode must be one of full, compact, dense/);
    await usage(["btc", "verify", "--checkpoint", CP, "--headers", BIN, "--frob"], /Unknown option/);
  });
});
