// Entry point of a machine worker thread (client/workers.ts): TypeScript through tsx, as bin/truewasm.mjs.
import { register } from "tsx/esm/api";

register();
await import("./machine-worker.ts");
