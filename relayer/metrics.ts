/**
 * The relayer's Prometheus metrics and health (served by client/metrics.ts at `/metrics` and
 * `/healthz`), fed by `RelayerOptions.onMetrics` after every round. Names in docs/RELAY.md.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { Health } from "../client/metrics.js";
import type { RelayerMetrics } from "./relayer.js";

export class RelayerExporter {
  private readonly rounds: Counter;
  private readonly roundFailures: Counter;
  private readonly batches: Counter;
  private readonly headers: Counter;
  private readonly reorgs: Counter;
  private readonly sourceHeight: Gauge;
  private readonly relayHeight: Gauge;
  private readonly lag: Gauge;
  private readonly pending: Gauge;
  private readonly lastRound: Gauge;
  /** The figures of the last round (the relayer's totals: counters grow by their difference). */
  private last: RelayerMetrics | null = null;
  private lastRoundAt = 0;

  /** `staleAfterMs`: health fails when no round has completed for this long (a stuck loop). */
  constructor(readonly registry: Registry, private readonly staleAfterMs: number) {
    const r = [registry];
    this.rounds = new Counter({ name: "truewasm_relayer_rounds_total", help: "Rounds completed (sync with the sources and the relay, maybe a submission)", registers: r });
    this.roundFailures = new Counter({ name: "truewasm_relayer_round_failures_total", help: "Rounds that failed (a source or the Ethereum endpoint unreachable, sources disagreeing, ...)", registers: r });
    this.batches = new Counter({ name: "truewasm_relayer_batches_submitted_total", help: "Batches of headers submitted to the relay", registers: r });
    this.headers = new Counter({ name: "truewasm_relayer_headers_submitted_total", help: "Headers submitted to the relay", registers: r });
    this.reorgs = new Counter({ name: "truewasm_relayer_reorgs_total", help: "Bitcoin reorganisations followed (heavier branches submitted from the fork point)", registers: r });
    this.sourceHeight = new Gauge({ name: "truewasm_relayer_source_height", help: "Height of the Bitcoin tip the sources agree on", registers: r });
    this.relayHeight = new Gauge({ name: "truewasm_relayer_relay_height", help: "Height of the relay's best tip", registers: r });
    this.lag = new Gauge({ name: "truewasm_relayer_lag_blocks", help: "Blocks the relay's best tip trails the sources' tip", registers: r });
    this.pending = new Gauge({ name: "truewasm_relayer_pending_batches", help: "Batches of this relayer waiting for their task's result", registers: r });
    this.lastRound = new Gauge({ name: "truewasm_relayer_last_round_timestamp_seconds", help: "Wall time of the last round that completed", registers: r });
  }

  /** `RelayerOptions.onMetrics`. */
  readonly update = (m: RelayerMetrics): void => {
    const prev = this.last;
    this.rounds.inc(m.rounds - (prev?.rounds ?? 0));
    this.batches.inc(m.batchesSubmitted - (prev?.batchesSubmitted ?? 0));
    this.headers.inc(m.headersSubmitted - (prev?.headersSubmitted ?? 0));
    this.reorgs.inc(m.reorgsFollowed - (prev?.reorgsFollowed ?? 0));
    if (m.lastError !== null) this.roundFailures.inc();
    else {
      this.sourceHeight.set(m.sourceHeight);
      this.relayHeight.set(m.relayHeight);
      this.lag.set(m.lagBlocks);
      this.pending.set(m.pending);
    }
    this.lastRoundAt = Date.now();
    this.lastRound.set(this.lastRoundAt / 1000);
    this.last = { ...m };
  };

  /** Healthy when the last round succeeded and was recent. */
  health(now = Date.now()): Health {
    const m = this.last;
    if (!m) return { ok: false, why: "no round completed yet" };
    if (m.lastError !== null) return { ok: false, why: "last round failed", error: m.lastError, rounds: m.rounds };
    if (now - this.lastRoundAt > this.staleAfterMs) return { ok: false, why: `no round for ${Math.round((now - this.lastRoundAt) / 1000)} s`, rounds: m.rounds };
    return { ok: true, rounds: m.rounds, sourceHeight: m.sourceHeight, relayHeight: m.relayHeight, lagBlocks: m.lagBlocks, pending: m.pending };
  }
}
