/**
 * What the operations surface shows, built on the control plane from a pipeline handle: the `/stats`
 * body (the snapshot, health, a distinct-error table per stage, the process), and a short history of
 * samples for the dashboard's throughput chart and the idle ratios.
 */
import type { Pipeline } from "@velox/core"
import type { ProcessMonitor, ProcessSample } from "./processMetrics.ts"

/** One row of a stage's distinct-error table. */
export interface ErrorRow {
  readonly error: string
  readonly count: number
  readonly firstSeenMs: number
  readonly lastSeenMs: number
  /** The most recent record that failed with this error. */
  readonly sample: { readonly code: number; readonly record: Readonly<Record<string, number>>; readonly seenAtMs: number }
}

/** The `/stats` body, and each `stats` frame on `/ws`. */
export interface StatsBody {
  readonly atMs: number
  readonly health: Pipeline.Health
  /** Exactly `handle.stats()`. */
  readonly stages: Pipeline.Snapshot["stages"]
  readonly rings: Pipeline.Snapshot["rings"]
  /** Distinct errors by stage (every stage present, most frequent first). */
  readonly errors: Readonly<Record<string, ReadonlyArray<ErrorRow>>>
  readonly process: ProcessSample
}

/** A compact history point: per stage (in snapshot order) records in, records out, parks, batches. */
export interface HistoryPoint {
  readonly atMs: number
  readonly in: ReadonlyArray<number>
  readonly written: ReadonlyArray<number>
  readonly parks: ReadonlyArray<number>
  readonly batches: ReadonlyArray<number>
}

export const errorTable = (
  snapshot: Pipeline.Snapshot,
  summary: ReadonlyArray<Pipeline.ErrorSummary>
): Record<string, ReadonlyArray<ErrorRow>> => {
  const table: Record<string, Array<ErrorRow>> = {}
  for (const s of snapshot.stages) table[s.stage] = []
  for (const e of summary) {
    const rows = table[e.stage] ?? (table[e.stage] = [])
    rows.push({
      error: e.error,
      count: e.count,
      firstSeenMs: e.firstSeenMs,
      lastSeenMs: e.lastSeenMs,
      sample: { code: e.sample.code, record: e.sample.record, seenAtMs: e.sample.seenAtMs }
    })
  }
  for (const rows of Object.values(table)) rows.sort((a, b) => b.count - a.count)
  return table
}

export const statsBody = (handle: Pipeline.PipelineHandle, process: ProcessSample, atMs: number): StatsBody => {
  const snapshot = handle.stats()
  return {
    atMs,
    health: handle.health(),
    stages: snapshot.stages,
    rings: snapshot.rings,
    errors: errorTable(snapshot, handle.errorSummary()),
    process
  }
}

/**
 * Samples the attached pipeline once per `tick` (called by a fiber on the control plane): keeps the
 * last `capacity` points and the idle ratio of each stage over the last window, and rolls the
 * event-loop delay window.
 */
export class Sampler {
  private readonly points: Array<HistoryPoint> = []
  private readonly capacity: number
  private readonly monitor: ProcessMonitor
  private lastHandle: Pipeline.PipelineHandle | undefined
  idleRatio: ReadonlyMap<string, number> = new Map()

  constructor(monitor: ProcessMonitor, capacity: number) {
    this.monitor = monitor
    this.capacity = capacity
  }

  tick(handle: Pipeline.PipelineHandle | undefined, atMs: number): void {
    this.monitor.roll()
    if (handle !== this.lastHandle) {
      // A newly attached pipeline starts a new history.
      this.points.length = 0
      this.lastHandle = handle
    }
    if (handle === undefined) return
    const stages = handle.stats().stages
    const point: HistoryPoint = {
      atMs,
      in: stages.map((s) => s.in),
      written: stages.map((s) => s.written),
      parks: stages.map((s) => s.parks),
      batches: stages.map((s) => s.batches)
    }
    const previous = this.points[this.points.length - 1]
    if (previous !== undefined) {
      const ratios = new Map<string, number>()
      stages.forEach((s, i) => {
        const parks = point.parks[i]! - (previous.parks[i] ?? 0)
        const batches = point.batches[i]! - (previous.batches[i] ?? 0)
        ratios.set(s.stage, parks + batches > 0 ? parks / (parks + batches) : 1)
      })
      this.idleRatio = ratios
    }
    this.points.push(point)
    if (this.points.length > this.capacity) this.points.shift()
  }

  history(): ReadonlyArray<HistoryPoint> {
    return this.points.slice()
  }

  process(): ProcessSample {
    return this.monitor.sample()
  }
}
