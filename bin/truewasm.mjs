#!/usr/bin/env node
// The truewasm command line. Runs the TypeScript sources through tsx, so there is no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./cli.ts");
process.exitCode = await main(process.argv.slice(2));
