/**
 * The opcode tables of the Solidity prover (contracts/prover/ProverBase.sol), derived from the
 * reference verifier's own tables (interpreter/verify.ts). `npx tsx test/contracts/prover-tables.ts`
 * prints the Solidity constants; prover.test.ts checks that the contract's constants equal these.
 */
import { ACCESS_SIZE, isLoad, opensAux, opensCold, POPS } from "../../interpreter/verify.js";
import { Op } from "../../interpreter/isa.js";

export const INFO_K = 3, INFO_VALID = 4, INFO_UNPROVABLE = 8, INFO_COLD = 16, INFO_AUX = 32, INFO_HOST = 64;

/** Opcodes proven by ProverHost (the others that open the cold part go to ProverMemory). */
export const HOST_OPS = new Set<number>([Op.GlobalGet, Op.GlobalSet, Op.Call, Op.CallIndirect, Op.Return, Op.InputSize, Op.InputRead, Op.OutputWrite]);

export function opInfo(op: number): number {
  const k = POPS[op];
  if (k === -2) return INFO_UNPROVABLE;
  if (k < 0) return 0;
  let x = k | INFO_VALID;
  if (opensCold(op)) x |= INFO_COLD;
  if (opensAux(op)) x |= INFO_AUX;
  if (HOST_OPS.has(op)) x |= INFO_HOST;
  return x;
}

/** 8 words: byte j of word i is opInfo(32 i + j). */
export function opInfoWords(): string[] {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) {
    let h = "0x";
    for (let j = 0; j < 32; j++) h += opInfo(32 * i + j).toString(16).padStart(2, "0");
    words.push(h);
  }
  return words;
}

/** Nibble per load/store opcode 0x28..0x3e at bits 4(op-0x28): log2(size) | signed << 2 | is64 << 3. */
export function memOpWord(): string {
  let x = 0n;
  for (let op = 0x28; op <= 0x3e; op++) {
    const size = ACCESS_SIZE[op];
    if (size === 0) continue;
    const signed = op === 0x2c || op === 0x2e || op === 0x30 || op === 0x32 || op === 0x34;
    const is64 = isLoad(op) && (op === 0x29 || op === 0x2b || (op >= 0x30 && op <= 0x35));
    const nib = Math.log2(size) | (signed ? 4 : 0) | (is64 ? 8 : 0);
    x |= BigInt(nib) << BigInt(4 * (op - 0x28));
  }
  return "0x" + x.toString(16);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  opInfoWords().forEach((w, i) => console.log(`    uint256 internal constant OPINFO_${i} = ${w};`));
  console.log(`    uint256 internal constant MEMOPS = ${memOpWord()};`);
}
