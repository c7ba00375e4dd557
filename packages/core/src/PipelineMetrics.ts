/**
 * A pipeline's shared-memory stats as Effect `Metric`s: a fiber copies the counters the hot loops write
 * (no messages, no cost to the loops) into counters and gauges labelled by stage and ring.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Metric, Schedule, type Scope } from "effect"
import type { PipelineHandle } from "./Pipeline.ts"

/** Counter metrics, by stage-counter name, in Prometheus naming (base units, `_total`). */
const COUNTERS = {
  in: Metric.counter("velox_stage_records_in_total", { description: "records delivered to the stage" }),
  emitted: Metric.counter("velox_stage_records_emitted_total", { description: "input records accounted as emitted" }),
  written: Metric.counter("velox_stage_records_written_total", { description: "output records written" }),
  dropped: Metric.counter("velox_stage_records_dropped_total", { description: "records dropped, by reason" }),
  deadLettered: Metric.counter("velox_stage_records_dead_lettered_total", { description: "records dead-lettered, by error" }),
  batches: Metric.counter("velox_stage_batches_total", { description: "loop passes that handled input" }),
  parks: Metric.counter("velox_stage_parks_total", { description: "idle cycles that parked" }),
  missedWakes: Metric.counter("velox_stage_missed_wakes_total", {
    description: "parks that lapsed at their safety net and found work: wake-ups that never came"
  }),
  restarts: Metric.counter("velox_stage_restarts_total", { description: "restarts after a crash" })
} as const

const retained = Metric.gauge("velox_stage_records_retained", { description: "records held in stage state" })
const ringFill = Metric.gauge("velox_ring_fill_records", { description: "records published and not yet released" })
const ringCapacity = Metric.gauge("velox_ring_capacity_records", { description: "ring capacity in records" })
const ringDropped = Metric.counter("velox_ring_records_dropped_total", {
  description: "records a tee's dropping branch did not write into the ring because it was full"
})

/**
 * Copies the handle's stats into Metrics now (counters get the increase since the last call).
 *
 * @category metrics
 * @since 0.1.0
 */
export const makeUpdater = (handle: PipelineHandle): Effect.Effect<void> => {
  const last = new Map<string, number>()
  const bump = (counter: Metric.Metric<number, unknown>, key: string, value: number, attributes: Record<string, string>) => {
    const delta = value - (last.get(key) ?? 0)
    last.set(key, value)
    return delta > 0 ? Metric.update(Metric.withAttributes(counter, attributes), delta) : Effect.void
  }
  return Effect.suspend(() => {
    const snapshot = handle.stats()
    const updates: Array<Effect.Effect<void>> = []
    for (const s of snapshot.stages) {
      const stage = { stage: s.stage }
      for (const name of ["in", "emitted", "written", "batches", "parks", "missedWakes", "restarts"] as const) {
        updates.push(bump(COUNTERS[name], `${s.stage}/${name}`, s[name], stage))
      }
      s.droppedByReason.forEach((n, i) =>
        updates.push(bump(COUNTERS.dropped, `${s.stage}/dropped/${i}`, n, { ...stage, reason: s.dropReasons[i] ?? `code_${i}` }))
      )
      s.deadLetteredByCode.forEach((n, i) =>
        updates.push(
          bump(COUNTERS.deadLettered, `${s.stage}/dead/${i}`, n, {
            ...stage,
            error: s.errors[i] ?? (i === s.deadLetteredByCode.length - 1 ? "StageThrew" : `code_${i}`)
          })
        )
      )
      updates.push(Metric.update(Metric.withAttributes(retained, stage), s.retained))
    }
    for (const r of snapshot.rings) {
      updates.push(Metric.update(Metric.withAttributes(ringFill, { ring: r.name }), r.fill))
      updates.push(Metric.update(Metric.withAttributes(ringCapacity, { ring: r.name }), r.capacity))
      updates.push(bump(ringDropped, `${r.name}/dropped`, r.dropped, { ring: r.name }))
    }
    return Effect.all(updates, { discard: true })
  })
}

/**
 * Keeps the Metrics up to date every `interval` for as long as the scope is open.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline, PipelineMetrics } from "@velox/core"
 *
 * declare const pipeline: Pipeline.Pipeline
 * const program = Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   yield* PipelineMetrics.track(handle, "1 second")
 *   yield* handle.done
 * })
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const track = (handle: PipelineHandle, interval: Duration.Input): Effect.Effect<void, never, Scope.Scope> =>
  makeUpdater(handle).pipe(
    Effect.repeat(Schedule.spaced(interval)),
    Effect.asVoid,
    Effect.forkScoped,
    Effect.asVoid
  )
