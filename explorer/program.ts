/**
 * Programs as the explorer shows them: a name for a registered program (the module name of the wasm
 * "name" section, else the project task in wasm-tasks/build with the very same bytes), and the
 * disputed step of a game: its instruction (the witness's pc in the lowered program, with the
 * enclosing function's name) and the post-state root the one-step verifier computes from the witness.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { getBytes, hexlify, keccak256 } from "ethers";
import { verifyProgram, type VerifiedProgram } from "../client/chain.js";
import { REPO_ROOT } from "../client/contracts.js";
import { errorMessage } from "../client/log.js";
import { functionNames, instructionAt, moduleName } from "../interpreter/names.js";
import { verifyStep } from "../interpreter/verify.js";
import type { Hex, StepProof } from "./model.js";

export const TASKS_DIR = join(REPO_ROOT, "wasm-tasks/build");

interface Known {
  name: string;
  wat: string | null;
}

/** Names the registered programs and decodes disputed steps; caches compiled programs by root. */
export class Programs {
  private readonly known = new Map<string, Known>();
  private readonly wasmByRoot = new Map<string, Uint8Array[]>();
  /** Compiled programs by root; a failure remembers how many registrations it tried. */
  private readonly compiled = new Map<string, { program: VerifiedProgram; names: Map<number, string> } | { failedWith: number }>();
  private readonly nameByRoot = new Map<string, string | null>();

  /** `dirs`: folders of .wasm files whose names label programs with the same bytes. */
  constructor(dirs: string[] = [TASKS_DIR]) {
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        if (!f.endsWith(".wasm")) continue;
        const bytes = readFileSync(join(dir, f));
        const wat = join(dir, f.replace(/\.wasm$/, ".wat"));
        this.known.set(keccak256(bytes), { name: basename(f, ".wasm"), wat: existsSync(wat) ? wat : null });
      }
    }
  }

  /** Records a registration's bytes (any registration may carry wrong bytes: all are kept). */
  register(root: Hex, wasm: Uint8Array): void {
    const key = root.toLowerCase();
    const list = this.wasmByRoot.get(key) ?? [];
    const h = keccak256(wasm);
    if (list.some((w) => keccak256(w) === h)) return;
    list.push(wasm);
    this.wasmByRoot.set(key, list);
    if (!this.nameByRoot.get(key)) this.nameByRoot.set(key, moduleName(wasm) ?? this.known.get(h)?.name ?? null);
  }

  isRegistered(root: Hex): boolean {
    return this.wasmByRoot.has(root.toLowerCase());
  }

  name(root: Hex): string | null {
    return this.nameByRoot.get(root.toLowerCase()) ?? null;
  }

  /** The bytes of a registration that lower to `root` (compiled once). */
  private program(root: Hex): { program: VerifiedProgram; names: Map<number, string> } | null {
    const key = root.toLowerCase();
    const regs = this.wasmByRoot.get(key) ?? [];
    const known = this.compiled.get(key);
    if (known && "program" in known) return known;
    if (known && known.failedWith === regs.length) return null; // no new registration since
    for (const wasm of regs) {
      const v = verifyProgram(wasm, root);
      if (!v) continue;
      const found = { program: v, names: functionNames(wasm, this.known.get(keccak256(wasm))?.wat ?? null) };
      this.compiled.set(key, found);
      return found;
    }
    this.compiled.set(key, { failedWith: regs.length });
    return null;
  }

  /** The disputed step: its instruction and the post-state root computed from the witness. */
  describeStep(root: Hex, proof: { rootLo: Hex; rootHi: Hex; witness: Hex }): Pick<StepProof, "rootPost" | "instruction" | "note"> {
    const witness = getBytes(proof.witness);
    let rootPost: Hex | null = null;
    const notes: string[] = [];
    try {
      rootPost = hexlify(verifyStep(getBytes(proof.rootLo), witness));
    } catch (e) {
      notes.push(`the witness does not verify off-chain: ${errorMessage(e)}`);
    }
    let instruction: StepProof["instruction"] = null;
    const p = this.program(root);
    if (p) {
      try {
        instruction = instructionAt(p.program.program, p.names, witness);
      } catch (e) {
        notes.push(`instruction not decoded: ${errorMessage(e)}`);
      }
    } else notes.push(this.isRegistered(root) ? "no registration of the program lowers to its root" : "the program's bytes were not found");
    return { rootPost, instruction, note: notes.length ? notes.join("; ") : null };
  }
}
