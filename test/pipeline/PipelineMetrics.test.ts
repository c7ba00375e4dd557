import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { Pipeline, PipelineMetrics } from "@velox/core"
import { Counter, CountingSink, Filter } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"

describe("PipelineMetrics", () => {
  it.live("the shared-memory counters appear as Effect metrics labelled by stage, matching stats()", () =>
    Effect.gen(function*() {
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: 7_000 }).via(Filter, { dropEvery: 7 }, { placement: "worker" }).to(CountingSink, {})
      )
      yield* handle.done
      yield* PipelineMetrics.makeUpdater(handle)
      const text = yield* PrometheusMetrics.format()
      const filter = handle.stats().stages.find((s) => s.stage === "filter")!
      assert.include(text, `velox_stage_records_in_total{stage="filter"} ${filter.in}`)
      assert.include(text, `velox_stage_records_dropped_total{stage="filter",reason="filtered"} 1000`)
      assert.include(text, `velox_stage_records_emitted_total{stage="counting-sink"} 6000`)
      assert.match(text, /velox_ring_capacity_records\{ring="counter→filter\+counting-sink"\} 16384/)
    }).pipe(Effect.scoped, Effect.provide(NodeStageHost.layer)))
})
