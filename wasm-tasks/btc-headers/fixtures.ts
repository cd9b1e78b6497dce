/**
 * The embedded batch of real mainnet headers (fixtures/): the checkpoint at 828,575, the 2,016
 * headers after it, and the expected result. Shipped with the project, so tests and the demo run
 * without ../shared; a missing file is an error, never an empty batch.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { normalizeCheckpoint, splitHeaders, type Checkpoint, type CheckpointJson } from "./encoding.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

export interface EmbeddedBatch {
  checkpoint: Checkpoint;
  headers: Uint8Array[];
  expected: { valid: boolean; accepted: number; tipHash: string; height: number; chainWork: string; merkleRoot: string };
}

export function embeddedBatch(): EmbeddedBatch {
  const checkpoint = normalizeCheckpoint(JSON.parse(readFileSync(join(FIXTURES, "checkpoint_828575.json"), "utf8")) as CheckpointJson);
  const headers = splitHeaders(new Uint8Array(readFileSync(join(FIXTURES, "mainnet_828576_830591.bin"))));
  const expected = JSON.parse(readFileSync(join(FIXTURES, "mainnet_828576_830591.expected.json"), "utf8"));
  return { checkpoint, headers, expected };
}
