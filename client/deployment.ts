/**
 * The deployment file: written by `truewasm deploy`, read by every other command
 * (`--deployment FILE`, default `.truewasm/deployment-<chainId>.json`).
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { writeFileAtomic } from "./store.js";
import type { DeployParameters } from "./contracts.js";

export interface Deployment {
  version: 1;
  chainId: number;
  market: string;
  game: string;
  prover: string;
  /** Block of the market's deployment: nodes sync events from here. */
  block: number;
  parameters: Required<DeployParameters>;
  deployer: string;
  deployedAt: string;
}

export function defaultDeploymentPath(chainId: number | bigint): string {
  return resolve(".truewasm", `deployment-${chainId}.json`);
}

export function writeDeployment(path: string, d: Deployment): void {
  writeFileAtomic(path, JSON.stringify(d, null, 2) + "\n");
}

export function readDeployment(path: string): Deployment {
  if (!existsSync(path)) throw new Error(`no deployment file at ${path} (run \`truewasm deploy\` first, or pass --deployment FILE)`);
  const d = JSON.parse(readFileSync(path, "utf8")) as Deployment;
  if (d.version !== 1 || !d.market || !d.game) throw new Error(`${path} is not a truewasm deployment file`);
  return d;
}
