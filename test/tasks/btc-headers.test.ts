/**
 * The btc-headers task, run natively (wasm-tasks/native.ts), and its TypeScript reference validator,
 * on real mainnet headers: the embedded batch (always available) and ../shared/fixtures/btc.
 * Every task result is compared field by field with the reference.
 */
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { TaskTrap, loadTask, runNative } from "../../wasm-tasks/native.js";
import { Trap } from "../../interpreter/isa.js";
import {
  type BtcResult,
  type Checkpoint,
  type EncodeOptions,
  OUTPUT_BYTES,
  decodeInput,
  decodeOutput,
  encodeDenseHeaders,
  encodeInput,
  encodeOutput,
  hashToHex,
  headerFields,
  splitHeaders,
} from "../../wasm-tasks/btc-headers/encoding.js";
import {
  blockHash,
  blockWork,
  checkpointAt,
  getCompact,
  leBigInt,
  medianTime,
  merkleRoot,
  powTarget,
  retargetBits,
  setCompact,
  validateHeaders,
  validateInput,
} from "../../wasm-tasks/btc-headers/reference.js";
import { embeddedBtc, fromHex, sharedBtc, sharedBtcLines } from "./helpers.js";

const wasm = loadTask("btc-headers");

/** Runs the task natively and checks it against the reference; returns the (common) result. */
function run(cp: Checkpoint, headers: readonly Uint8Array[], opts: EncodeOptions = {}): BtcResult {
  const input = encodeInput(cp, headers, opts);
  const { output } = runNative(wasm, input);
  expect(output.length).toBe(OUTPUT_BYTES);
  const task = decodeOutput(output);
  const ref = validateHeaders(cp, headers, opts);
  expect(task).toEqual(ref);
  expect(validateInput(input)).toEqual(ref);
  expect(Buffer.from(encodeOutput(task))).toEqual(Buffer.from(output));
  return task;
}

const field = (h: Uint8Array, off: number, v: number): Uint8Array => {
  const c = Uint8Array.from(h);
  new DataView(c.buffer).setUint32(off, v >>> 0, true);
  return c;
};
const VERSION = 0,
  TIME = 68,
  BITS = 72,
  NONCE = 76;
const hashHex = (h: Uint8Array) => hashToHex(blockHash(h));

/** The trap kind of a native run of the task on `input`, or -1 when it halts. */
const traps = (input: Uint8Array): number => {
  try {
    runNative(wasm, input);
  } catch (e) {
    return (e as TaskTrap).kind;
  }
  return -1;
};

// ---------------------------------------------------------------------------------------------

describe("btc-headers: embedded batch (828576..830591)", () => {
  const cp: Checkpoint = JSON.parse(embeddedBtc("checkpoint_828575.json").toString());
  const headers = splitHeaders(new Uint8Array(embeddedBtc("mainnet_828576_830591.bin")));
  const expected = JSON.parse(embeddedBtc("mainnet_828576_830591.expected.json").toString());

  it("validates: tip, chain work (Bitcoin Core's), next checkpoint, Merkle root", () => {
    const r = run(cp, headers);
    expect(r.valid).toBe(true);
    expect(r.rule).toBeNull();
    expect(r.failedIndex).toBe(-1);
    expect(r.accepted).toBe(2016);
    expect(r.height).toBe(830591);
    expect(r.tipHash).toBe(expected.tipHash);
    expect(r.tipHash).toBe(hashHex(headers[2015]));
    expect(r.chainWork).toBe(expected.chainWork);
    expect(BigInt(r.chainWork).toString(16).padStart(64, "0")).toBe(expected.chainWorkHex);
    expect(r.merkleRoot).toBe(expected.merkleRoot);
    expect(r.next.bits).toBe(0x1703ba5d);
    expect(r.next.periodStartTime).toBe(headerFields(headers[0]).time);
    expect(r.next.timestamps).toEqual(headers.slice(-11).map((h) => headerFields(h).time));
  });

  it("compact mode gives the same result", () => {
    const full = encodeInput(cp, headers);
    const compact = encodeInput(cp, headers, { compact: true });
    expect(compact.length).toBe(136 + 80 + 2015 * 48);
    expect(full.length).toBe(136 + 2016 * 80);
    expect(decodeOutput(runNative(wasm, compact).output)).toEqual(decodeOutput(runNative(wasm, full).output));
    const back = decodeInput(compact);
    expect(back.compact).toBe(true);
    expect(back.checkpoint).toEqual(cp);
  });

  it("dense mode (42 bytes a header) gives the same result as full mode", () => {
    const full = run(cp, headers);
    const dense = encodeInput(cp, headers, { dense: true });
    expect(dense.length).toBe(136 + 2016 * 42);
    expect(decodeOutput(runNative(wasm, dense).output)).toEqual(full);
    expect(run(cp, headers, { dense: true })).toEqual(full);
    // round trip: prev-hash and nBits are not in the input (zero), every other field is
    const back = decodeInput(dense);
    expect([back.dense, back.compact]).toEqual([true, false]);
    expect(back.checkpoint).toEqual(cp);
    back.headers.forEach((h, i) => {
      const want = Uint8Array.from(headers[i]);
      want.fill(0, 4, 36);
      want.fill(0, 72, 76);
      expect(Buffer.from(h)).toEqual(Buffer.from(want));
    });
    // the headers part is what the relay's submitBatch takes
    expect(Buffer.from(dense.subarray(136))).toEqual(Buffer.from(encodeDenseHeaders(cp.timestamps[10], headers)));
    expect(() => encodeInput(cp, headers, { dense: true, compact: true })).toThrow(/exclusive/);
  });

  it("dense mode: time deltas beyond ±32,767 s are escaped (46-byte records), both ways", () => {
    const after0 = run(cp, headers.slice(0, 1)).next;
    const t0 = after0.timestamps[10];
    for (const last of [t0 - 40_000, t0 + 50_000]) {
      // one timestamp: the median rule waits, 828,577 is not a retarget, so the batch stays valid
      const c: Checkpoint = { ...after0, timestamps: [last] };
      const batch = headers.slice(1, 6);
      const input = encodeInput(c, batch, { dense: true });
      expect(input.length).toBe(136 + 46 + 4 * 42);
      const r = run(c, batch, { dense: true });
      expect(r.valid).toBe(true);
      expect(r).toEqual(run(c, batch));
      expect(decodeInput(input).headers.map((h) => headerFields(h).time)).toEqual(batch.map((h) => headerFields(h).time));
    }
  });

  it("dense mode: the rules it can express give the same verdicts as full mode; link and bits cannot fail", () => {
    const i = 700;
    const prev = [...cp.timestamps, ...headers.slice(0, i).map((h) => headerFields(h).time)].slice(-11);
    const cases: [string, Uint8Array][] = [
      ["pow", field(headers[i], NONCE, headerFields(headers[i]).nonce + 1)],
      ["time", field(headers[i], TIME, medianTime(prev))],
      ["time", field(headers[i], TIME, medianTime(prev) - 40_000)], // an escaped time
      ["version", field(headers[i], VERSION, 3)],
      ["version", field(headers[i], VERSION, 0x80000004)],
    ];
    for (const [rule, bad] of cases) {
      const batch = withHeader(i, bad);
      const full = expectRejected(batch, i, rule);
      expect(run(cp, batch, { dense: true })).toEqual(full);
    }
    // a broken prev-hash or nBits field is not even sent: the task takes the expected values
    const badLink = Uint8Array.from(headers[i]);
    badLink[4 + 17] ^= 1;
    const badBits = field(headers[i], BITS, 0x1703ba5e);
    for (const bad of [badLink, badBits]) {
      expect(run(cp, withHeader(i, bad)).valid).toBe(false);
      expect(run(cp, withHeader(i, bad), { dense: true })).toEqual(run(cp, headers));
    }
    // so does a broken link of header 0 (unlike compact mode)
    const bad0 = Uint8Array.from(headers[0]);
    bad0[35] ^= 0x80;
    expect(run(cp, withHeader(0, bad0), { dense: true }).valid).toBe(true);
  });

  it("dense mode: malformed inputs trap (abort) whatever the verdict", () => {
    const batch = headers.slice(0, 3);
    const good = encodeInput(cp, batch, { dense: true });
    expect(traps(good)).toBe(-1);
    expect(traps(good.subarray(0, good.length - 1))).toBe(Trap.Abort);
    expect(traps(Buffer.concat([good, new Uint8Array(1)]))).toBe(Trap.Abort);
    const escapeNoRoom = Uint8Array.from(good);
    new DataView(escapeNoRoom.buffer).setInt16(136 + 2 * 42 + 36, -32768, true);
    expect(traps(escapeNoRoom)).toBe(Trap.Abort);
    // malformed after an invalid header: still an abort, not a verdict
    const invalidFirst = encodeInput(cp, withHeader(0, field(headers[0], NONCE, 1)).slice(0, 3), { dense: true });
    expect(run(cp, withHeader(0, field(headers[0], NONCE, 1)).slice(0, 3), { dense: true }).rule).toBe("pow");
    expect(traps(invalidFirst.subarray(0, invalidFirst.length - 2))).toBe(Trap.Abort);
    const count = Uint8Array.from(good);
    new DataView(count.buffer).setUint32(132, 4, true);
    expect(traps(count)).toBe(Trap.Abort);
    const mode3 = Uint8Array.from(good);
    mode3[4] = 3;
    expect(traps(mode3)).toBe(Trap.Abort);
    expect(() => decodeInput(mode3)).toThrow(/mode/);
    expect(() => decodeInput(good.subarray(0, good.length - 1))).toThrow();
  });

  it("input encoding round-trips", () => {
    const d = decodeInput(encodeInput(cp, headers.slice(0, 5)));
    expect(d.compact).toBe(false);
    expect(d.checkpoint).toEqual(cp);
    expect(d.headers.map((h) => Buffer.from(h))).toEqual(headers.slice(0, 5).map((h) => Buffer.from(h)));
  });

  it("empty batch: valid, the checkpoint unchanged, zero Merkle root", () => {
    const r = run(cp, []);
    expect(r.valid).toBe(true);
    expect(r.accepted).toBe(0);
    expect(r.next).toEqual(cp);
    expect(r.merkleRoot).toBe("0".repeat(64));
  });

  it("Merkle root of small batches (odd levels duplicate the last node)", () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 9, 17]) {
      const r = run(cp, headers.slice(0, n));
      expect(r.merkleRoot).toBe(hashToHex(merkleRoot(headers.slice(0, n).map(blockHash))));
    }
    const [a, b, c] = headers.slice(0, 3).map(blockHash);
    const d = (x: Uint8Array, y: Uint8Array) => blockHash(Buffer.concat([x, y]) as unknown as Uint8Array);
    const sha = (x: Uint8Array) => createHash("sha256").update(x).digest();
    expect(Buffer.from(d(a, b))).toEqual(sha(sha(Buffer.concat([a, b]))));
    expect(Buffer.from(merkleRoot([a]))).toEqual(Buffer.from(a));
    expect(Buffer.from(merkleRoot([a, b]))).toEqual(Buffer.from(d(a, b)));
    expect(Buffer.from(merkleRoot([a, b, c]))).toEqual(Buffer.from(d(d(a, b), d(c, c))));
  });

  // --- invalid variants: the right rule, the valid prefix accepted --------------------------------

  function expectRejected(batch: Uint8Array[], index: number, rule: string, opts: EncodeOptions = {}): BtcResult {
    const r = run(cp, batch, opts);
    expect(r.valid).toBe(false);
    expect(r.rule).toBe(rule);
    expect(r.failedIndex).toBe(index);
    expect(r.accepted).toBe(index);
    expect(r.height).toBe(828575 + index);
    expect(r.tipHash).toBe(index === 0 ? cp.hash : hashHex(batch[index - 1]));
    return r;
  }
  const withHeader = (i: number, h: Uint8Array) => headers.map((x, j) => (j === i ? h : x));

  it("bad nonce -> pow, and the batch continues from the returned checkpoint", () => {
    const i = 700;
    const bad = field(headers[i], NONCE, headerFields(headers[i]).nonce + 1);
    const r = expectRejected(withHeader(i, bad), i, "pow");
    expect(r.merkleRoot).toBe(hashToHex(merkleRoot(headers.slice(0, i).map(blockHash))));
    const rest = run(r.next, headers.slice(i));
    expect(rest.valid).toBe(true);
    expect(rest.tipHash).toBe(expected.tipHash);
    expect(rest.chainWork).toBe(expected.chainWork);
  });

  it("broken link -> link (full mode); compact mode derives the link instead", () => {
    const i = 1500;
    const bad = Uint8Array.from(headers[i]);
    bad[4 + 17] ^= 0x01;
    expectRejected(withHeader(i, bad), i, "link");
    expect(run(cp, withHeader(i, bad), { compact: true }).valid).toBe(true); // the field is not even sent
    const bad0 = Uint8Array.from(headers[0]);
    bad0[35] ^= 0x80;
    expectRejected(withHeader(0, bad0), 0, "link", { compact: true });
  });

  it("wrong bits inside a period -> bits", () => {
    const i = 1000;
    expectRejected(withHeader(i, field(headers[i], BITS, 0x1703ba5e)), i, "bits");
    expectRejected(withHeader(i, field(headers[i], BITS, 0x1704005a)), i, "bits"); // the old period's value
  });

  it("wrong bits at a retarget boundary -> bits", () => {
    expect(headerFields(headers[0]).bits).toBe(0x1703ba5d); // height 828576 = 2016 * 411
    expectRejected(withHeader(0, field(headers[0], BITS, 0x1704005a)), 0, "bits"); // unchanged
    expectRejected(withHeader(0, field(headers[0], BITS, 0x1703ba5c)), 0, "bits"); // off by one
  });

  it("time equal to the median of the previous 11 -> time; one more second passes the time rule", () => {
    const i = 5;
    const prev = [...cp.timestamps, ...headers.slice(0, i).map((h) => headerFields(h).time)].slice(-11);
    const med = medianTime(prev);
    expectRejected(withHeader(i, field(headers[i], TIME, med)), i, "time");
    expectRejected(withHeader(i, field(headers[i], TIME, med - 3600)), i, "time");
    // med + 1 satisfies the time rule; the modified header then fails (only) proof of work
    expectRejected(withHeader(i, field(headers[i], TIME, med + 1)), i, "pow");
  });

  it("the median rule waits for 11 timestamps", () => {
    const few: Checkpoint = { ...cp, timestamps: cp.timestamps.slice(-3) };
    const bad = field(headers[0], TIME, cp.timestamps[10] - 100000);
    const r = run(few, [bad]);
    expect(r.rule).toBe("pow"); // not "time": only 3 timestamps known
    expect(run(cp, [bad]).rule).toBe("time");
    // the real headers validate with fewer timestamps too, and the window fills up
    const r2 = run(few, headers.slice(0, 20));
    expect(r2.valid).toBe(true);
    expect(r2.next.timestamps).toEqual(headers.slice(9, 20).map((h) => headerFields(h).time));
  });

  it("old version -> version (BIP65 height); version bits pass the version rule", () => {
    const i = 300;
    expectRejected(withHeader(i, field(headers[i], VERSION, 3)), i, "version");
    expectRejected(withHeader(i, field(headers[i], VERSION, 1)), i, "version");
    expectRejected(withHeader(i, field(headers[i], VERSION, 0x80000004)), i, "version"); // int32: negative
    expectRejected(withHeader(i, field(headers[i], VERSION, 0x40000000)), i, "pow"); // >= 4 as int32
    expectRejected(withHeader(i, field(headers[i], VERSION, 4)), i, "pow");
    expectRejected(withHeader(i, field(headers[i], VERSION, 0x20000000)), i, "pow");
  });

  it("nBits that do not encode a valid target -> pow", () => {
    // checkpoint after header 0 (828576), so 828577 is inside the period: expected bits = the tip's
    const after0 = run(cp, headers.slice(0, 1)).next;
    for (const bits of [0x1d80ffff /* negative */, 0x2300ffff /* overflow */, 0x1d000000 /* zero */, 0x1d010000 /* > limit */, 0x01803456 /* zero */]) {
      const c = { ...after0, bits };
      const r = run(c, [field(headers[1], BITS, bits)]);
      expect(r.rule, bits.toString(16)).toBe("pow");
    }
  });

  it("malformed input traps (abort)", () => {
    const good = encodeInput(cp, headers.slice(0, 2));
    expect(traps(good.subarray(0, good.length - 1))).toBe(Trap.Abort);
    expect(traps(good.subarray(0, 100))).toBe(Trap.Abort);
    const fmt = Uint8Array.from(good);
    fmt[0] = 2;
    expect(traps(fmt)).toBe(Trap.Abort);
    const noTimes = Uint8Array.from(good);
    new DataView(noTimes.buffer).setUint32(8 + 44, 0, true);
    expect(traps(noTimes)).toBe(Trap.Abort);
    expect(() => encodeInput({ ...cp, timestamps: [] }, [])).toThrow(/timestamps/);
  });
});

// ---------------------------------------------------------------------------------------------

describe("btc-headers: reference consensus helpers", () => {
  it("SetCompact / GetCompact match Bitcoin Core's arith_uint256 tests", () => {
    const zero = [0, 0x00123456, 0x01003456, 0x02000056, 0x03000000, 0x04000000, 0x00923456, 0x01803456, 0x02800056, 0x03800000, 0x04800000];
    for (const c of zero) expect(setCompact(c).value).toBe(0n);
    expect(setCompact(0x01123456).value).toBe(0x12n);
    expect(getCompact(0x12n)).toBe(0x01120000);
    expect(setCompact(0x01fedcba)).toMatchObject({ value: 0x7en, negative: true });
    expect(setCompact(0x02123456).value).toBe(0x1234n);
    expect(getCompact(0x1234n)).toBe(0x02123400);
    expect(setCompact(0x03123456).value).toBe(0x123456n);
    expect(getCompact(0x123456n)).toBe(0x03123456);
    expect(setCompact(0x04123456).value).toBe(0x12345600n);
    expect(getCompact(0x12345600n)).toBe(0x04123456);
    expect(setCompact(0x04923456)).toMatchObject({ value: 0x12345600n, negative: true });
    expect(setCompact(0x05009234).value).toBe(0x92340000n);
    expect(getCompact(0x92340000n)).toBe(0x05009234);
    expect(setCompact(0x20123456).value).toBe(0x123456n << 232n);
    expect(getCompact(0x123456n << 232n)).toBe(0x20123456);
    expect(setCompact(0xff123456).overflow).toBe(true);
    expect(getCompact(0x80n)).toBe(0x02008000);
  });

  it("work of the PoW limit is 0x100010001 (genesis chain work)", () => {
    expect(blockWork(0x1d00ffff)).toBe(0x100010001n);
    expect(powTarget(0x1d00ffff)).toBe(0xffffn << 208n);
    expect(powTarget(0x1d010000)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------

describe("btc-headers: ../shared/fixtures/btc", () => {
  const FIRST = 822528;
  const range = () => splitHeaders(new Uint8Array(sharedBtc("mainnet_822528_830592.bin")));
  const boundaries = () => new Map([...sharedBtcLines("mainnet_retarget_boundaries.hex")].map(([h, x]) => [h, fromHex(x)]));
  const chainwork = () => new Map([...sharedBtcLines("mainnet_chainwork_boundaries.txt")].map(([h, x]) => [h, BigInt("0x" + x)]));

  /** The checkpoint at 822527 from the boundary file (only its own timestamp is known). */
  function startCheckpoint(): Checkpoint {
    const b = boundaries();
    const last = b.get(FIRST - 1)!;
    return {
      height: FIRST - 1,
      hash: hashHex(last),
      bits: headerFields(last).bits,
      periodStartTime: headerFields(b.get(FIRST - 2016)!).time,
      timestamps: [headerFields(last).time],
      chainWork: chainwork().get(FIRST - 1)!.toString(),
    };
  }

  it("822528..830592 validates in batches of 2016 across the four retargets, chain work = Core's", () => {
    const hs = range();
    expect(hs.length).toBe(8065);
    const cw = chainwork();
    const b = boundaries();
    expect(hashHex(b.get(FIRST)!)).toBe(hashHex(hs[0]));
    let cp = startCheckpoint();
    const checked: number[] = [];
    const bitsSeen: number[] = [];
    for (let s = 0; s < hs.length; s += 2016) {
      const batch = hs.slice(s, s + 2016);
      // the first header alone (heights 2016k: a retarget, listed in the chain work file)
      const one = run(cp, batch.slice(0, 1));
      expect(one.valid).toBe(true);
      bitsSeen.push(one.next.bits);
      if (cw.has(one.height)) {
        expect(one.chainWork).toBe(cw.get(one.height)!.toString());
        checked.push(one.height);
      }
      const r = run(cp, batch);
      expect(r.valid, `batch at ${FIRST + s}`).toBe(true);
      expect(r.height).toBe(FIRST + s + batch.length - 1);
      expect(r.tipHash).toBe(hashHex(batch[batch.length - 1]));
      if (cw.has(r.height)) {
        expect(r.chainWork).toBe(cw.get(r.height)!.toString());
        checked.push(r.height);
      }
      cp = r.next;
    }
    expect(bitsSeen).toEqual([0x1703e8b3, 0x1703d869, 0x1704005a, 0x1703ba5d, 0x170371b1]);
    expect([...new Set(checked)]).toEqual([822528, 824543, 824544, 826559, 826560, 828575, 828576, 830591, 830592]);
  });

  it("batches that straddle retargets, in compact and dense mode too", () => {
    const hs = range();
    const prefix = validateHeaders(startCheckpoint(), hs.slice(0, 1372)); // up to 823899
    const batch = hs.slice(1372, 1372 + 1500); // 823900..825399, crosses 824544
    const full = run(prefix.next, batch);
    expect(full.valid).toBe(true);
    expect(run(prefix.next, batch, { compact: true })).toEqual(full);
    expect(run(prefix.next, batch, { dense: true })).toEqual(full);
    // the whole range in dense mode, one batch: four retargets derived by the task
    const all = run(startCheckpoint(), hs, { dense: true });
    expect(all).toEqual(validateHeaders(startCheckpoint(), hs));
    expect([all.valid, all.height, all.next.bits]).toEqual([true, 830592, 0x170371b1]);
  });

  it("every retarget in history recomputes exactly (reference and task), chain work = Core's", () => {
    const b = boundaries();
    const cw = chainwork();
    let n = 0;
    let changed = 0;
    for (let k = 1; b.has(2016 * k); k++) {
      const last = b.get(2016 * k - 1)!;
      const first = b.get(2016 * (k - 1))!;
      const hdr = b.get(2016 * k)!;
      const L = headerFields(last);
      expect(retargetBits(L.bits, headerFields(first).time, L.time), `height ${2016 * k}`).toBe(headerFields(hdr).bits);
      if (headerFields(hdr).bits !== L.bits) changed++;
      const cp: Checkpoint = {
        height: 2016 * k - 1,
        hash: hashHex(last),
        bits: L.bits,
        periodStartTime: headerFields(first).time,
        timestamps: [L.time],
        chainWork: cw.get(2016 * k - 1)!.toString(),
      };
      const r = run(cp, [hdr]);
      expect(r.valid, `height ${2016 * k}`).toBe(true);
      expect(r.chainWork).toBe(cw.get(2016 * k)!.toString());
      expect(run(cp, [hdr], { dense: true })).toEqual(r); // the task derives the retarget itself
      n++;
    }
    expect(n).toBe(413);
    expect(changed).toBeGreaterThan(300);
    // facts from the fixture README
    expect(headerFields(b.get(32256)!).bits).toBe(0x1d00d86a);
    expect(headerFields(b.get(30240)!).bits).toBe(0x1d00ffff);
  });

  it("the 11 stale headers validate against their main-chain parent", () => {
    const hs = range();
    const stale = sharedBtcLines("mainnet_stale.hex");
    expect(stale.size).toBe(11);
    for (const [h, x] of stale) {
      const hdr = fromHex(x);
      const cp = checkpointAt(hs, FIRST, h - 1 - FIRST);
      expect(cp.timestamps.length).toBe(11);
      const r = run(cp, [hdr]);
      expect(r.valid, `stale ${h}`).toBe(true);
      expect(run(cp, [hdr], { dense: true })).toEqual(r);
      expect(r.height).toBe(h);
      expect(r.tipHash).not.toBe(hashHex(hs[h - FIRST])); // not the main-chain block
      expect(run(cp, [hs[h - FIRST]]).valid).toBe(true); // which is valid too
      expect(leBigInt(blockHash(hdr)) <= powTarget(headerFields(hdr).bits)!).toBe(true);
      // a stale header cannot extend the main chain at its own height
      const wrong = run(checkpointAt(hs, FIRST, h - FIRST), [hdr]);
      expect(wrong.rule).toBe("link");
    }
  });
});
