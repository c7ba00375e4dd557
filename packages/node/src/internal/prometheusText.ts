/**
 * A pipeline's stats snapshot in the Prometheus text exposition format (version 0.0.4), built at scrape
 * time from the shared-memory counters (`handle.stats()`): the stage loops write those counters anyway,
 * so a scrape costs them nothing.
 *
 * Conventions: base units (`_seconds`, `_bytes`, records as plain counts), counters end in `_total`,
 * one `stage="…"` label per stage series (plus `reason` / `error` where counts are split), one
 * `ring="…"` label per ring series. Edges are stages like any other (a source edge's drops by reason
 * are `velox_stage_records_dropped_total{reason="DropOldest"}`), and a source edge's queue is a ring
 * (`"<edge> queue"`, from `"effect"`). Every family has HELP and TYPE lines; series of one family are
 * contiguous. `promtool check metrics` accepts the output (tested).
 */
import { MetricsText, type Pipeline } from "@velox/core"
import type { ProcessSample } from "./processMetrics.ts"

/** Index of the runtime's own drop reason / error code: the last one (`StageStopped`, `StageThrew`). */
const RUNTIME_CODE = 15
const LATENCY_BUCKETS = 32

export interface MetricsInput {
  readonly snapshot: Pipeline.Snapshot | undefined
  readonly health: Pipeline.Health | undefined
  readonly errors: ReadonlyArray<Pipeline.ErrorSummary>
  /** Share of loop cycles that parked over the last sampling window, by stage. */
  readonly idleRatio: ReadonlyMap<string, number>
  readonly process: ProcessSample
}

const { formatHelp, formatLabels: labels, formatValue } = MetricsText

/** Accumulates families in order; each family's series stay together. */
class Exposition {
  private readonly lines: Array<string> = []

  family(
    name: string,
    type: "counter" | "gauge" | "histogram",
    help: string,
    series: ReadonlyArray<readonly [Readonly<Record<string, string>>, number]>
  ): void {
    if (series.length === 0) return
    this.lines.push(`# HELP ${name} ${formatHelp(help)}`, `# TYPE ${name} ${type}`)
    for (const [l, v] of series) this.lines.push(`${name}${labels(l)} ${formatValue(v)}`)
  }

  /** A histogram from per-bucket (not cumulative) counts with upper bounds `bounds` (the last is +Inf). */
  histogram(
    name: string,
    help: string,
    series: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly bounds: ReadonlyArray<number>; readonly counts: ReadonlyArray<number>; readonly sum: number }>
  ): void {
    if (series.length === 0) return
    this.lines.push(`# HELP ${name} ${formatHelp(help)}`, `# TYPE ${name} histogram`)
    for (const s of series) {
      let cumulative = 0
      s.counts.forEach((n, i) => {
        cumulative += n
        const le = i === s.counts.length - 1 ? "+Inf" : formatValue(s.bounds[i]!)
        this.lines.push(`${name}_bucket${labels({ ...s.labels, le })} ${formatValue(cumulative)}`)
      })
      this.lines.push(`${name}_sum${labels(s.labels)} ${formatValue(s.sum)}`)
      this.lines.push(`${name}_count${labels(s.labels)} ${formatValue(cumulative)}`)
    }
  }

  toString(): string {
    return this.lines.join("\n") + "\n"
  }
}

/** Upper bound of log2 bucket b, in seconds: bucket b holds durations in [2^b, 2^(b+1)) ns. */
const LATENCY_BOUNDS: ReadonlyArray<number> = Array.from({ length: LATENCY_BUCKETS }, (_, b) => 2 ** (b + 1) / 1e9)
/** A representative duration for bucket b (its geometric middle), in seconds, for the estimated `_sum`. */
const LATENCY_MIDDLES: ReadonlyArray<number> = Array.from({ length: LATENCY_BUCKETS }, (_, b) => (2 ** b * Math.SQRT2) / 1e9)

/** Names by code, as the ledger does: declared names, then the runtime's own last code. */
const codeNames = (declared: ReadonlyArray<string>, counts: ReadonlyArray<number>, runtimeName: string) => {
  const out: Array<readonly [string, number]> = []
  counts.forEach((n, i) => {
    const name = declared[i] ?? (i === RUNTIME_CODE ? runtimeName : `code_${i}`)
    // Declared codes and the runtime's own are always present (so rate() works from zero); others when seen.
    if (i < declared.length || i === RUNTIME_CODE || n !== 0) out.push([name, n])
  })
  return out
}

const STATUSES = ["starting", "running", "draining", "done", "failed"] as const
const STATES = ["Idle", "Running", "Draining", "Done", "Crashed", "Stopped"] as const

/** The whole exposition: pipeline, stages, rings, errors, then the process. */
export const formatMetrics = (input: MetricsInput): string => {
  const out = new Exposition()
  const { health, snapshot } = input
  out.family("velox_pipeline_ready", "gauge", "1 when the pipeline is running with every stage healthy (what /ready answers 200 for), else 0", [
    [{}, health?.ready === true ? 1 : 0]
  ])
  if (health !== undefined) {
    out.family(
      "velox_pipeline_status",
      "gauge",
      "the pipeline's lifecycle status: 1 for the current one",
      STATUSES.map((status) => [{ status }, health.status === status ? 1 : 0] as const)
    )
  }
  if (snapshot !== undefined) {
    const stages = snapshot.stages
    const per = (pick: (s: Pipeline.StageSnapshot) => number) => stages.map((s) => [{ stage: s.stage }, pick(s)] as const)
    out.family(
      "velox_stage_info",
      "gauge",
      "one series per stage instance: its stage definition and the host (thread) it runs in",
      stages.map((s) => [{ stage: s.stage, definition: s.definition, host: s.host }, 1] as const)
    )
    out.family(
      "velox_stage_state",
      "gauge",
      "the stage's lifecycle state: 1 for the current one",
      stages.flatMap((s) => STATES.map((state) => [{ stage: s.stage, state }, s.state === state ? 1 : 0] as const))
    )
    out.family("velox_stage_records_in_total", "counter", "records delivered to the stage (records in)", per((s) => s.in))
    out.family("velox_stage_records_emitted_total", "counter", "input records the stage accounted for as emitted or delivered", per((s) => s.emitted))
    out.family("velox_stage_records_written_total", "counter", "output records the stage wrote (records out)", per((s) => s.written))
    out.family(
      "velox_stage_records_dropped_total",
      "counter",
      "records the stage dropped, by reason (StageStopped: arrived while the stage was stopped)",
      stages.flatMap((s) => codeNames(s.dropReasons, s.droppedByReason, "StageStopped").map(([reason, n]) => [{ stage: s.stage, reason }, n] as const))
    )
    out.family(
      "velox_stage_records_dead_lettered_total",
      "counter",
      "records the stage dead-lettered, by error tag (StageThrew: the record crashed the stage repeatedly)",
      stages.flatMap((s) => codeNames(s.errors, s.deadLetteredByCode, "StageThrew").map(([error, n]) => [{ stage: s.stage, error }, n] as const))
    )
    out.family("velox_stage_records_retained", "gauge", "input records held in the stage's state now", per((s) => s.retained))
    out.family("velox_stage_records_redelivered_total", "counter", "records delivered again after a restart", per((s) => s.redelivered))
    out.family("velox_stage_records_duplicated_total", "counter", "outputs published for records later delivered again", per((s) => s.duplicated))
    out.family("velox_stage_records_lost_total", "counter", "records held in state when the stage crashed", per((s) => s.lost))
    out.family(
      "velox_stage_state_lost_total",
      "counter",
      "crashes after which a stage that keeps state restarted without it (no snapshot to restore)",
      stages.filter((s) => s.keepsState).map((s) => [{ stage: s.stage }, s.stateLost] as const)
    )
    out.family(
      "velox_stage_counters_total",
      "counter",
      "the counters a stage declared, by name (context.counters.<name>)",
      stages.flatMap((s) => Object.entries(s.counters).map(([name, n]) => [{ stage: s.stage, name }, n] as const))
    )
    out.family(
      "velox_stage_gauges",
      "gauge",
      "the gauges a stage declared, by name (context.gauges.<name>)",
      stages.flatMap((s) => Object.entries(s.gauges).map(([name, n]) => [{ stage: s.stage, name }, n] as const))
    )
    out.family("velox_stage_batches_total", "counter", "loop passes that handled input (records in / batches = mean batch size)", per((s) => s.batches))
    out.family("velox_stage_parks_total", "counter", "idle loop cycles that parked the thread", per((s) => s.parks))
    out.family(
      "velox_stage_missed_wakes_total",
      "counter",
      "parks that lapsed at their safety net (1 s, no deadline due) and found work: wake-ups that never came (0 when healthy)",
      per((s) => s.missedWakes)
    )
    out.family(
      "velox_stage_idle_ratio",
      "gauge",
      "share of the loop's cycles that parked idle (parks / (parks + batches)) over the last sampling window",
      stages.map((s) => [{ stage: s.stage }, input.idleRatio.get(s.stage) ?? 0] as const)
    )
    out.family("velox_stage_restarts_total", "counter", "restarts after a crash", per((s) => s.restarts))
    out.family("velox_stage_crashes_total", "counter", "crashes (throws or dead threads)", per((s) => s.crashes))
    out.histogram(
      "velox_stage_latency_seconds",
      "records by the processing time of the batch they were handled in (log2 buckets; _sum is estimated from bucket middles)",
      stages.map((s) => ({
        labels: { stage: s.stage },
        bounds: LATENCY_BOUNDS,
        counts: s.latencyLog2,
        sum: s.latencyLog2.reduce((acc, n, b) => acc + n * LATENCY_MIDDLES[b]!, 0)
      }))
    )
    out.family(
      "velox_stage_error_last_seen_timestamp_seconds",
      "gauge",
      "when a record last failed with this error in this stage (unix time)",
      input.errors.map((e) => [{ stage: e.stage, error: e.error }, e.lastSeenMs / 1e3] as const)
    )
    const ringLabels = (r: Pipeline.RingSnapshot) => ({ ring: r.name, from: r.from, to: r.to })
    out.family("velox_ring_fill_records", "gauge", "records published into the ring and not yet consumed (the consumer's lag)", snapshot.rings.map((r) => [ringLabels(r), r.fill] as const))
    out.family("velox_ring_capacity_records", "gauge", "ring capacity in records", snapshot.rings.map((r) => [ringLabels(r), r.capacity] as const))
    out.family("velox_ring_fill_ratio", "gauge", "ring fill over capacity", snapshot.rings.map((r) => [ringLabels(r), r.fill / r.capacity] as const))
    out.family("velox_ring_closed", "gauge", "1 once the producer closed the ring", snapshot.rings.map((r) => [ringLabels(r), r.closed ? 1 : 0] as const))
    out.family(
      "velox_ring_records_dropped_total",
      "counter",
      "records a tee's dropping branch (overflow dropNewest) did not write into the ring because it was full",
      snapshot.rings.map((r) => [ringLabels(r), r.dropped] as const)
    )
    out.family(
      "velox_ring_records_duplicated_total",
      "counter",
      "records a tee published into the ring by passes that then crashed (delivered again)",
      snapshot.rings.map((r) => [ringLabels(r), r.duplicated] as const)
    )
  }
  const p = input.process
  out.family("process_cpu_user_seconds_total", "counter", "user CPU time of the process, all threads", [[{}, p.cpuUserSeconds]])
  out.family("process_cpu_system_seconds_total", "counter", "system CPU time of the process, all threads", [[{}, p.cpuSystemSeconds]])
  out.family("process_cpu_seconds_total", "counter", "user and system CPU time of the process, all threads", [[{}, p.cpuUserSeconds + p.cpuSystemSeconds]])
  out.family("process_resident_memory_bytes", "gauge", "resident set size", [[{}, p.residentBytes]])
  out.family("process_start_time_seconds", "gauge", "start time of the process (unix time)", [[{}, p.startTimeSeconds]])
  out.family("nodejs_heap_used_bytes", "gauge", "V8 heap in use (main thread)", [[{}, p.heapUsedBytes]])
  out.family("nodejs_eventloop_delay_p50_seconds", "gauge", "main-thread event-loop delay, median over the last sampling window", [[{}, p.eventLoopDelay.p50Seconds]])
  out.family("nodejs_eventloop_delay_p99_seconds", "gauge", "main-thread event-loop delay, 99th percentile over the last sampling window", [[{}, p.eventLoopDelay.p99Seconds]])
  out.family("nodejs_eventloop_delay_max_seconds", "gauge", "main-thread event-loop delay, maximum over the last sampling window", [[{}, p.eventLoopDelay.maxSeconds]])
  return out.toString()
}
