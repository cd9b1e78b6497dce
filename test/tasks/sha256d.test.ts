import { describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { loadTask, runNative } from "../../wasm-tasks/native.js";
import { embeddedBtc } from "./helpers.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();

function expected(input: Uint8Array): Buffer {
  const ds: Buffer[] = [];
  for (let o = 0; o < input.length; o += 80) ds.push(sha(sha(input.subarray(o, o + 80))));
  return sha(Buffer.concat(ds));
}

describe("sha256d task (native)", () => {
  const wasm = loadTask("sha256d");

  it.each([0, 1, 2, 3, 4, 7, 64])("%i random messages", (n) => {
    const input = new Uint8Array(randomBytes(80 * n));
    const { output } = runNative(wasm, input);
    expect(Buffer.from(output).toString("hex")).toBe(expected(input).toString("hex"));
  });

  it("the benchmark input: 2,016 real block headers", () => {
    const input = new Uint8Array(embeddedBtc("mainnet_828576_830591.bin"));
    expect(input.length).toBe(2016 * 80);
    const { output } = runNative(wasm, input);
    expect(Buffer.from(output).toString("hex")).toBe(expected(input).toString("hex"));
  });

  it("messages with every byte value at every position (padding/endianness)", () => {
    const input = new Uint8Array(80 * 256);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7 + (i >> 8)) & 0xff;
    expect(Buffer.from(runNative(wasm, input).output)).toEqual(expected(input));
  });

  it("aborts on an input that is not a multiple of 80 bytes", () => {
    expect(() => runNative(wasm, new Uint8Array(81))).toThrow(/abort/);
  });
});

describe("sha256 task (native): the generic any-length path", () => {
  const wasm = loadTask("sha256");
  it("every length 0..200 (1- and 2-block padding, every tail length)", () => {
    const data = new Uint8Array(randomBytes(200));
    for (let n = 0; n <= 200; n++) {
      const input = data.subarray(0, n);
      expect(Buffer.from(runNative(wasm, input).output).toString("hex"), `length ${n}`).toBe(sha(input).toString("hex"));
    }
  });
  it.each([1000, 4096, 65535, 100_003])("%i random bytes", (n) => {
    const input = new Uint8Array(randomBytes(n));
    expect(Buffer.from(runNative(wasm, input).output)).toEqual(sha(input));
  });
  it("the empty input", () => {
    expect(Buffer.from(runNative(wasm, new Uint8Array()).output).toString("hex")).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });
});
