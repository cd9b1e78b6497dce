/**
 * Machine models for the contract tests and the game benchmark: what a node knows about a task's
 * execution — the state root at any step, the witness of any step, the final state's opening and
 * output. Two implementations of one interface:
 *
 * - `toyBackend`: the toy counter machine of contracts/test/ToyProver.sol over the real state layout
 *   (closed-form roots at any step, so games over 2^32 steps are cheap to play);
 * - `realBackend`: the interpreter (interpreter/state.ts, interpreter/witness.ts) with the real
 *   one-step prover (contracts/prover/OneStepProver.sol, once it exists).
 *
 * The game tests use `BACKEND` below; switching to the real prover is the one line that sets it.
 */
import { readFileSync } from "node:fs";
import { AbiCoder, getBytes, hexlify, keccak256 } from "ethers";
import { compile } from "../../interpreter/lower.js";
import { Machine } from "../../interpreter/machine.js";
import type { Limits } from "../../interpreter/isa.js";
import type { Program } from "../../interpreter/program.js";
import { Z, ZERO32, outputDepth, programDescriptor, programRoot, rootsAtSteps, stateComponents, treeRoot, type ProgramDescriptor } from "../../interpreter/state.js";
import { encodeOpening, initialOpening, openingOfComponents, openingRoot, type Hex, type Opening } from "../../client/encoding.js";
import { witness as stepWitness } from "../../interpreter/witness.js";

export type { Hex };

/** What a node knows about one task run. Step numbers are bigints (games go to 2^32 and beyond). */
export interface MachineModel {
  /** Steps of the run up to its terminal state (halted or trapped). */
  readonly steps: bigint;
  /** State root after t steps (t past the end: the terminal state's root). */
  rootAt(t: bigint): Hex;
  /** Witness of the step from state t to state t + 1. */
  witnessAt(t: bigint): Hex;
  /** The final state's opening (TaskState.open layout, 348 bytes). */
  finalOpening(): Hex;
  /** The output bytes as committed (empty for a trapped run). */
  output(): Hex;
}

/** A program as the market registers it. */
export interface TaskProgram {
  wasm: Uint8Array;
  descriptor: ProgramDescriptor;
  root: Hex;
}

export interface Backend {
  name: string;
  /** Contract name of the prover to deploy. */
  prover: string;
  /** A program and input for the game tests (a run of a few hundred to a few thousand steps). */
  example(): { program: TaskProgram; input: Uint8Array };
  /** A program, input and limits whose run traps. */
  trapExample(): { program: TaskProgram; input: Uint8Array; limits: Partial<Limits> };
  /** The model of a run of `program` on `input` under `limits`. */
  model(program: TaskProgram, input: Uint8Array, limits: Limits): MachineModel;
}

// ------------------------------------------------------------------------------------------------
// Openings and contract structs: shared with the nodes (client/encoding.ts)

export {
  OPENING_LENGTH,
  descriptorStruct,
  encodeOpening,
  initialOpening,
  limitsStruct,
  openingOfComponents,
  openingRoot,
  type Opening,
} from "../../client/encoding.js";

// ------------------------------------------------------------------------------------------------
// The toy machine (contracts/test/ToyProver.sol)

const coder = AbiCoder.defaultAbiCoder();

/** keccak256(abi.encode(uint256 t)): the toy's stack hash after t steps. */
export function toyStackHash(t: bigint): Uint8Array {
  return getBytes(keccak256(coder.encode(["uint256"], [t])));
}

/** A toy program that halts after `length` steps (the low 64 bits of its codeRoot). */
export function toyProgram(length: bigint, salt = 0): TaskProgram {
  const codeRoot = new Uint8Array(32);
  codeRoot.set(getBytes(keccak256(coder.encode(["string", "uint256"], ["toy", salt]))).subarray(0, 24));
  new DataView(codeRoot.buffer).setBigUint64(24, length);
  const descriptor: ProgramDescriptor = {
    codeRoot,
    memRoot: Z[12],
    globalsRoot: getBytes(keccak256(coder.encode(["string"], ["globals"]))),
    tableRoot: ZERO32,
    entryPc: 3,
    codeDepth: 5,
    initPages: 1,
    memMax: 65536,
  };
  const wasm = new TextEncoder().encode(`toy program of ${length} steps #${salt}`);
  return { wasm, descriptor, root: hexlify(programRoot(descriptor)) };
}

/** The toy machine's run: closed-form state at any step. */
export class ToyModel implements MachineModel {
  readonly steps: bigint;
  private readonly init: Opening;
  private readonly length: bigint;
  private readonly stepLimit: bigint;
  private readonly outputLimit: number;
  private readonly outcome: "halt" | "trap";

  constructor(program: TaskProgram, input: Uint8Array, limits: Limits) {
    this.init = initialOpening(program.descriptor, input, limits);
    this.length = new DataView(program.descriptor.codeRoot.buffer, program.descriptor.codeRoot.byteOffset).getBigUint64(24);
    this.stepLimit = BigInt(limits.steps);
    this.outputLimit = limits.outputBytes;
    if (this.length >= 1n && this.length <= this.stepLimit) {
      this.steps = this.length;
      this.outcome = "halt";
    } else {
      this.steps = this.stepLimit + 1n;
      this.outcome = "trap";
    }
  }

  stateAt(t: bigint): Opening {
    const o: Opening = { ...this.init, regs: { ...this.init.regs } };
    if (t === 0n) return o;
    if (t < this.steps) {
      o.regs.steps = Number(t);
      o.stackHash = toyStackHash(t);
      return o;
    }
    if (this.outcome === "trap") {
      // the step from stepLimit traps and leaves the stack hash of step stepLimit
      o.regs.steps = Number(this.steps);
      o.regs.status = 2;
      o.regs.trap = 10;
      o.stackHash = this.stepLimit === 0n ? ZERO32 : toyStackHash(this.stepLimit);
      return o;
    }
    o.regs.steps = Number(this.steps);
    o.stackHash = toyStackHash(this.steps);
    if (this.outputLimit < 32) {
      o.regs.status = 2;
      o.regs.trap = 13;
    } else {
      o.regs.status = 1;
      o.outLen = 32;
      o.outputRoot = treeRoot(o.stackHash, outputDepth(this.outputLimit));
    }
    return o;
  }

  rootAt(t: bigint): Hex {
    return hexlify(openingRoot(encodeOpening(this.stateAt(t))));
  }

  witnessAt(t: bigint): Hex {
    return hexlify(encodeOpening(this.stateAt(t)));
  }

  finalOpening(): Hex {
    return this.witnessAt(this.steps);
  }

  output(): Hex {
    const f = this.stateAt(this.steps);
    return f.regs.status === 1 ? hexlify(f.stackHash) : "0x";
  }
}

export const toyBackend: Backend = {
  name: "toy",
  prover: "ToyProver",
  example: () => ({ program: toyProgram(1000n), input: new TextEncoder().encode("game tests") }),
  // never halts: traps StepLimit after 300 steps
  trapExample: () => ({ program: toyProgram(10n ** 12n, 3), input: new Uint8Array(0), limits: { steps: 300 } }),
  model: (program, input, limits) => new ToyModel(program, input, limits),
};

// ------------------------------------------------------------------------------------------------
// The real machine (interpreter + contracts/prover/OneStepProver.sol)

export function realProgram(wasm: Uint8Array): TaskProgram & { program: Program } {
  const program = compile(wasm);
  const descriptor = programDescriptor(program);
  return { wasm, descriptor, root: hexlify(programRoot(descriptor)), program };
}

/** A real run: roots by re-running the interpreter (fine for test-sized programs). */
export class RealModel implements MachineModel {
  readonly steps: bigint;
  private readonly final: Machine;

  constructor(
    private readonly program: Program,
    private readonly input: Uint8Array,
    private readonly limits: Limits,
  ) {
    this.final = Machine.forTask(program, input, limits);
    this.final.run();
    this.steps = BigInt(this.final.steps);
  }

  private machineAt(t: bigint): Machine {
    const m = Machine.forTask(this.program, this.input, this.limits);
    m.run(Number(t));
    return m;
  }

  rootAt(t: bigint): Hex {
    return hexlify(rootsAtSteps(this.program, this.input, this.limits, [Number(t)])[0]);
  }

  witnessAt(t: bigint): Hex {
    return hexlify(stepWitness(this.machineAt(t)));
  }

  finalOpening(): Hex {
    return hexlify(openingOfComponents(stateComponents(this.final)));
  }

  output(): Hex {
    return this.final.halted ? hexlify(this.final.output()) : "0x";
  }
}

const SORT_WASM = new URL("../../wasm-tasks/build/sort.wasm", import.meta.url);
const TRAP_WASM = new URL("../../wasm-tasks/build/trap.wasm", import.meta.url);

export const realBackend: Backend = {
  name: "real",
  prover: "OneStepProver",
  // sort of 16 words: 2,416 steps with loads, stores, memory.fill and memory.copy, input and output
  example: () => ({ program: realProgram(new Uint8Array(readFileSync(SORT_WASM))), input: Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 255) }),
  // input byte 4: an out-of-bounds load (after writing one output byte, which a trap discards)
  trapExample: () => ({ program: realProgram(new Uint8Array(readFileSync(TRAP_WASM))), input: Uint8Array.of(4), limits: {} }),
  model: (program, input, limits) => {
    const p = (program as TaskProgram & { program?: Program }).program ?? compile(program.wasm);
    return new RealModel(p, input, limits);
  },
};

/**
 * The default backend (deploy() without one). The game tests run their scenarios on every backend of
 * GAME_BACKENDS; the market and invariant tests stay on the toy machine (they are about money and
 * phases, and the toy machine's runs of any length are free).
 */
export const BACKEND: Backend = toyBackend;
export const GAME_BACKENDS: Backend[] = [toyBackend, realBackend];
