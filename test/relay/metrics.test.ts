/** The relayer's exporter: counters follow the relayer's totals, health says why it fails. */
import { describe, expect, it } from "vitest";
import { createRegistry } from "../../client/metrics.js";
import { RelayerExporter } from "../../relayer/metrics.js";
import type { RelayerMetrics } from "../../relayer/relayer.js";

const round = (m: Partial<RelayerMetrics>): RelayerMetrics => ({ rounds: 1, batchesSubmitted: 0, headersSubmitted: 0, reorgsFollowed: 0, sourceHeight: 100, relayHeight: 90, lagBlocks: 10, pending: 1, lastError: null, ...m });

describe("relayer metrics", () => {
  it("counts by difference, keeps the last good heights through a failed round, and reports health", async () => {
    const registry = createRegistry({ role: "relayer" });
    const x = new RelayerExporter(registry, 1000);
    expect(x.health()).toMatchObject({ ok: false, why: "no round completed yet" });
    x.update(round({ rounds: 1, batchesSubmitted: 1, headersSubmitted: 8 }));
    x.update(round({ rounds: 2, batchesSubmitted: 3, headersSubmitted: 20, relayHeight: 100, lagBlocks: 0 }));
    expect(x.health()).toMatchObject({ ok: true, lagBlocks: 0 });
    x.update(round({ rounds: 3, batchesSubmitted: 3, headersSubmitted: 20, sourceHeight: 0, relayHeight: 0, lastError: "connect ECONNREFUSED 127.0.0.1:8332" }));
    expect(x.health()).toMatchObject({ ok: false, why: "last round failed", error: /ECONNREFUSED/ });
    const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0].value;
    expect(await value("truewasm_relayer_rounds_total")).toBe(3);
    expect(await value("truewasm_relayer_batches_submitted_total")).toBe(3);
    expect(await value("truewasm_relayer_headers_submitted_total")).toBe(20);
    expect(await value("truewasm_relayer_round_failures_total")).toBe(1);
    expect(await value("truewasm_relayer_relay_height")).toBe(100);
    x.update(round({ rounds: 4, batchesSubmitted: 3, headersSubmitted: 20, relayHeight: 100, lagBlocks: 0 }));
    expect(x.health(Date.now() + 5000)).toMatchObject({ ok: false, why: "no round for 5 s" });
  });
});
