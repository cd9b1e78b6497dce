/**
 * `truewasm btc verify`: validates Bitcoin headers with the btc-headers task (docs/TASKS.md §5) run
 * in the step interpreter — the computation the relay (docs/RELAY.md) hands to the verification game.
 * `truewasm btc deploy`: registers the btc-headers program and deploys a BtcRelay on a checkpoint.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Status, TRAP_MESSAGES } from "../../interpreter/isa.js";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import {
  type Checkpoint,
  type CheckpointJson,
  HEADER_BYTES,
  MAX_TIMESTAMPS,
  decodeOutput,
  encodeInput,
  normalizeCheckpoint,
} from "../../wasm-tasks/btc-headers/encoding.js";
import { intOption, parse, UsageError, type Command } from "./command.js";
import { connect, ether, KEY_OPTIONS, KEY_USAGE, LOG_OPTIONS, printJson, RPC_OPTIONS, RPC_USAGE, wallet } from "./chain.js";
import { TxManager } from "../../client/txs.js";
import { compileProgram, ensureRegistered } from "../../client/tasks.js";
import { BTC_HEADERS_WASM, DEFAULT_RELAY_CONFIG, RelayClient } from "../../relayer/relay.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DEFAULT_WASM = resolve(ROOT, "wasm-tasks/build/btc-headers.wasm");
const MODES = ["full", "compact", "dense"] as const;
type Mode = (typeof MODES)[number];

const deployUsage = `usage: truewasm btc deploy --rpc URL --checkpoint CHECKPOINT.json [options]

Registers the btc-headers program on the market (unless it is registered) and deploys a BtcRelay
trusting the checkpoint (tip 0); prints {relay, block, programRoot, checkpoint, config} as JSON.
Then run \`truewasm relayer --relay ADDRESS\` (docs/RELAY.md).

options:
${RPC_USAGE}
${KEY_USAGE}
  --checkpoint FILE     checkpoint JSON (as for verify); its chainWork should be Bitcoin Core's
  --confirmations N     confirmations verifyTx/relayTx require (default ${DEFAULT_RELAY_CONFIG.confirmations})
  --window S            challenge window of the batches' tasks, seconds (default ${DEFAULT_RELAY_CONFIG.window})
  --deadline S          seconds from a batch's submission to its solution deadline (default ${DEFAULT_RELAY_CONFIG.deadlineDelay})
  --solver-bond ETH     (default 0.5)
  --challenger-bond ETH (default 0.25)
  --steps-base N, --steps-per-header N   step limit of a batch of n headers: base + n × per-header
                        (default ${DEFAULT_RELAY_CONFIG.stepsBase} + ${DEFAULT_RELAY_CONFIG.stepsPerHeader} n)
  --max-fee ETH         the highest fee a relayer may set per proof (default 0.001)`;

const usage = `usage: truewasm btc verify --checkpoint CHECKPOINT.json --headers FILE [options]
       truewasm btc deploy --rpc URL --checkpoint CHECKPOINT.json [options]   (--help for its options)

Runs the btc-headers task in the step interpreter on the headers that extend the checkpoint and
prints the result as one JSON object:
  valid        true when every header passes Bitcoin Core's header rules (mainnet)
  rule         the first failing rule: link, pow, bits, time, version (null when valid)
  failedIndex  index in FILE of the first invalid header (null when valid)
  accepted     headers accepted (the valid prefix)
  tipHash      hash of the last accepted header (explorer byte order)
  height       its height
  chainWork    its cumulative chain work (decimal; relative if the checkpoint has none)
  merkleRoot   Merkle root of the accepted block hashes (what the relay stores)
  next         the checkpoint to continue from (same JSON format as --checkpoint)
  steps        machine steps of the run; headers, mode, inputBytes

options:
  --checkpoint FILE   checkpoint JSON: height, hash (explorer order hex), bits (number or hex
                      string), periodStartTime, timestamps (1..11 latest, oldest first, the last one
                      the checkpoint's own), chainWork (decimal string, optional)
  --headers FILE      the headers, in order: raw 80-byte headers concatenated, or text with one
                      header per line as 160 hex digits (blank lines ignored); detected from content
  --mode MODE         task input mode: full (default: every rule, every field sent), compact
                      (prev-hash omitted after the first header), dense (prev-hash and nBits omitted:
                      the relay's mode; link and bits cannot fail)
  --wasm FILE         the task (default wasm-tasks/build/btc-headers.wasm; npm run build:tasks)
  --quiet             no progress lines on stderr

Exit code 0 when the headers are valid, 3 when one is invalid, 1 on bad input, 2 on bad usage.`;

const command: Command = {
  summary: "truewasm btc: Bitcoin header validation with the btc-headers task (verify); a BtcRelay deployment (deploy).",
  usage: `${usage}\n\n${deployUsage}`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub === "deploy") return deploy(rest);
    if (sub !== "verify") throw new UsageError(sub ? `unknown subcommand "${sub}" (expected verify or deploy)` : "expected a subcommand: verify or deploy");
    const { values, positionals } = parse(rest, {
      checkpoint: { type: "string" },
      headers: { type: "string" },
      mode: { type: "string" },
      wasm: { type: "string" },
      quiet: { type: "boolean" },
    });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (!values.checkpoint) throw new UsageError("--checkpoint CHECKPOINT.json is required");
    if (!values.headers) throw new UsageError("--headers FILE is required");
    const mode = (values.mode ?? "full") as Mode;
    if (!MODES.includes(mode)) throw new UsageError(`--mode must be one of ${MODES.join(", ")}, got "${values.mode}"`);

    const checkpoint = readCheckpoint(values.checkpoint);
    const headers = readHeaders(values.headers);
    const wasmPath = values.wasm ?? DEFAULT_WASM;
    if (!existsSync(wasmPath)) throw new Error(`${wasmPath} not found${values.wasm ? "" : " (build the tasks: npm run build:tasks)"}`);

    const input = encodeInput(checkpoint, headers, { compact: mode === "compact", dense: mode === "dense" });
    const program = compile(new Uint8Array(readFileSync(wasmPath)), { imports: "task" });
    const machine = Machine.forTask(program, input, {});
    const started = performance.now();
    let lastReport = started;
    while (machine.status === Status.Running) {
      machine.run(20_000_000);
      const now = performance.now();
      if (!values.quiet && machine.status === Status.Running && now - lastReport > 1000) {
        lastReport = now;
        process.stderr.write(`steps ${machine.steps.toLocaleString("en")}\n`);
      }
    }
    if (machine.status !== Status.Halted) throw new Error(`the task trapped (${TRAP_MESSAGES[machine.trap]}) after ${machine.steps} steps`);
    const r = decodeOutput(machine.output());
    console.log(
      JSON.stringify(
        {
          valid: r.valid,
          rule: r.rule,
          failedIndex: r.valid ? null : r.failedIndex,
          accepted: r.accepted,
          tipHash: r.tipHash,
          height: r.height,
          chainWork: r.chainWork,
          merkleRoot: r.merkleRoot,
          next: r.next,
          steps: machine.steps,
          headers: headers.length,
          mode,
          inputBytes: input.length,
        },
        null,
        2,
      ),
    );
    return r.valid ? 0 : 3;
  },
};
export default command;

async function deploy(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...RPC_OPTIONS,
    ...KEY_OPTIONS,
    ...LOG_OPTIONS,
    checkpoint: { type: "string" },
    confirmations: { type: "string" },
    window: { type: "string" },
    deadline: { type: "string" },
    "solver-bond": { type: "string" },
    "challenger-bond": { type: "string" },
    "steps-base": { type: "string" },
    "steps-per-header": { type: "string" },
    "max-fee": { type: "string" },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.checkpoint) throw new UsageError("--checkpoint CHECKPOINT.json is required");
  const checkpoint = readCheckpoint(values.checkpoint);
  const d = DEFAULT_RELAY_CONFIG;
  const config = {
    ...d,
    confirmations: intOption(values.confirmations, "confirmations", d.confirmations),
    window: intOption(values.window, "window", d.window),
    deadlineDelay: intOption(values.deadline, "deadline", d.deadlineDelay),
    solverBond: ether(values["solver-bond"], "solver-bond", d.solverBond),
    challengerBond: ether(values["challenger-bond"], "challenger-bond", d.challengerBond),
    stepsBase: BigInt(intOption(values["steps-base"], "steps-base", Number(d.stepsBase))),
    stepsPerHeader: BigInt(intOption(values["steps-per-header"], "steps-per-header", Number(d.stepsPerHeader))),
    maxFee: ether(values["max-fee"], "max-fee", d.maxFee),
  };
  if (config.confirmations < 1) throw new UsageError("--confirmations must be at least 1");
  if (!existsSync(BTC_HEADERS_WASM)) throw new Error(`${BTC_HEADERS_WASM} not found (build the tasks: npm run build:tasks)`);
  const c = await connect(values);
  try {
    const w = await wallet(values, c.provider);
    const txs = new TxManager(c.provider, w, null, { contracts: c.contracts });
    const program = compileProgram(new Uint8Array(readFileSync(BTC_HEADERS_WASM)));
    const reg = await ensureRegistered(txs, c.contracts, program);
    const { relay } = await RelayClient.deploy(w, c.deployment.market, program.root, checkpoint, config);
    printJson({ relay: relay.address, block: relay.block, market: c.deployment.market, programRoot: program.root, registered: reg.registered, checkpoint: { height: checkpoint.height, hash: checkpoint.hash }, config });
    return 0;
  } finally {
    c.provider.destroy();
  }
}

/** Reads and checks checkpoint JSON, with errors that name the file and the field. */
export function readCheckpoint(path: string): Checkpoint {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`checkpoint ${path} is not JSON: ${(e as Error).message}`);
  }
  const bad = (what: string) => new Error(`checkpoint ${path}: ${what}`);
  if (!j || typeof j !== "object" || Array.isArray(j)) throw bad("expected a JSON object");
  const u32 = (v: unknown, name: string) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw bad(`"${name}" must be an integer 0..4294967295, got ${JSON.stringify(v)}`);
    return v;
  };
  u32(j.height, "height");
  if (typeof j.hash !== "string" || !/^(0x)?[0-9a-fA-F]{64}$/.test(j.hash)) throw bad(`"hash" must be 64 hex digits (explorer byte order), got ${JSON.stringify(j.hash)}`);
  if (typeof j.bits === "string") {
    if (!/^(0x)?[0-9a-fA-F]{1,8}$/.test(j.bits)) throw bad(`"bits" must be a number or a hex string like "0x1703ba5d", got ${JSON.stringify(j.bits)}`);
  } else u32(j.bits, "bits");
  u32(j.periodStartTime, "periodStartTime");
  if (!Array.isArray(j.timestamps) || j.timestamps.length < 1 || j.timestamps.length > MAX_TIMESTAMPS)
    throw bad(`"timestamps" must be an array of 1..${MAX_TIMESTAMPS} timestamps (oldest first), got ${JSON.stringify(j.timestamps)}`);
  j.timestamps.forEach((t, i) => u32(t, `timestamps[${i}]`));
  if (j.chainWork !== undefined) {
    if (typeof j.chainWork !== "string" || !/^[0-9]+$/.test(j.chainWork)) throw bad(`"chainWork" must be a decimal string, got ${JSON.stringify(j.chainWork)}`);
    if (BigInt(j.chainWork) >= 1n << 256n) throw bad(`"chainWork" does not fit in 256 bits`);
  }
  const known = new Set(["height", "hash", "bits", "periodStartTime", "timestamps", "chainWork"]);
  const extra = Object.keys(j).filter((k) => !known.has(k));
  if (extra.length) throw bad(`unknown field(s) ${extra.map((k) => `"${k}"`).join(", ")}`);
  return normalizeCheckpoint(j as unknown as CheckpointJson);
}

/**
 * Reads headers: raw binary (a whole number of 80-byte headers) or text with one 160-hex-digit
 * header per line. Text is recognised by its content: printable ASCII and whitespace only (a raw
 * header always has bytes outside that range: its hash fields are binary).
 */
export function readHeaders(path: string): Uint8Array[] {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read headers ${path}: ${(e as Error).message}`);
  }
  if (data.length === 0) throw new Error(`headers ${path} is empty`);
  const isText = data.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  const out: Uint8Array[] = [];
  if (isText) {
    const lines = data.toString("latin1").split(/\r?\n/);
    lines.forEach((line, i) => {
      const t = line.trim();
      if (!t) return;
      const hex = t.replace(/^0x/i, "");
      if (!/^[0-9a-fA-F]*$/.test(hex))
        throw new Error(`headers ${path} line ${i + 1}: not hex (expected one header per line, 160 hex digits): "${t.slice(0, 40)}${t.length > 40 ? "…" : ""}"`);
      if (hex.length !== 2 * HEADER_BYTES)
        throw new Error(`headers ${path} line ${i + 1}: ${hex.length} hex digits, a header is ${2 * HEADER_BYTES} (80 bytes)`);
      out.push(new Uint8Array(Buffer.from(hex, "hex")));
    });
    if (!out.length) throw new Error(`headers ${path} has no header lines`);
  } else {
    if (data.length % HEADER_BYTES)
      throw new Error(`headers ${path}: ${data.length} bytes is not a whole number of 80-byte headers (binary file; text files need one 160-hex-digit header per line)`);
    for (let o = 0; o < data.length; o += HEADER_BYTES) out.push(new Uint8Array(data.subarray(o, o + HEADER_BYTES)));
  }
  return out;
}
