import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Schedule } from "effect"
import { Pipeline } from "@velox/core"
import { Batcher, Counter, CountingSink, Filter, PassThrough } from "@velox/core/stages"
import { NodePipelineServer, NodeStageHost } from "@velox/node"
import { CorruptEvery } from "../fixtures/faultyStages.ts"
import { KeyTally } from "../fixtures/lifecycleStages.ts"
import { launch } from "../fixtures/headlessChromium.ts"

/** `data-value` of the element a test reads, by stage and field, from a dump of the page's DOM. */
const valueIn = (html: string, stage: string, field: string): number | undefined => {
  const re = new RegExp(`data-stage="${stage.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" data-field="${field}" data-value="([0-9.]+)"`)
  const match = re.exec(html)
  return match === null ? undefined : Number(match[1])
}

describe("dashboard", () => {
  it.live("in headless Chromium the dashboard draws every stage and ring, and its numbers move with the live pipeline", () =>
    Effect.gen(function*() {
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity })
          .via(PassThrough, {})
          .via(CorruptEvery, { every: 50_000 }, { placement: "worker" })
          .via(Filter, { dropEvery: 7 })
          .via(KeyTally, {})
          .via(Batcher, { size: 16 }, { placement: "worker" })
          .to(CountingSink, {})
      )
      const server = yield* NodePipelineServer.make(handle)
      const stages = ["counter", "pass-through", "corrupt-every", "filter", "key-tally", "batcher", "counting-sink"]

      const page = yield* Effect.acquireRelease(
        Effect.promise(() => launch({ width: 1440, height: 1100 })),
        (p) => Effect.promise(() => p.close())
      )
      yield* Effect.promise(() => page.navigate(`${server.url}/dashboard`))
      const frames = Effect.promise(() => page.evaluate<string | null>("document.body.getAttribute('data-frames')")).pipe(Effect.map(Number))
      const dump = Effect.promise(() => page.evaluate<string>("document.documentElement.outerHTML"))
      // Live data: stats frames arrived over /ws, and the dead letters reached the error table.
      yield* frames.pipe(Effect.repeat({ until: (n) => n >= 3, schedule: Schedule.spaced("100 millis") }), Effect.timeout("20 seconds"))
      yield* dump.pipe(
        Effect.repeat({ until: (html) => html.includes("CorruptRecord"), schedule: Schedule.spaced("100 millis") }),
        Effect.timeout("20 seconds")
      )
      const first = yield* dump
      const seen = yield* frames
      yield* frames.pipe(Effect.repeat({ until: (n) => n >= seen + 3, schedule: Schedule.spaced("100 millis") }), Effect.timeout("20 seconds"))
      const second = yield* dump

      const dir = mkdtempSync(join(tmpdir(), "velox-dashboard-"))
      const screenshot = join(dir, "dashboard.png")
      yield* Effect.promise(() => page.screenshot(screenshot))
      yield* Effect.logInfo(`dashboard screenshot: ${screenshot}`)

      assert.deepStrictEqual(page.problems, [], "the page logged errors or threw")
      const text = yield* Effect.promise(() => page.evaluate<string>("document.body.innerText"))
      for (const stage of stages) {
        assert.include(text, stage, `stage ${stage} is on the page`)
        const before = valueIn(first, stage, "in")
        const after = valueIn(second, stage, "in")
        assert.isDefined(before, `records in of ${stage}`)
        assert.isAbove(after!, before!, `records in of ${stage} moved`)
      }
      assert.isAbove(valueIn(second, "counter", "rate")!, 0, "the source's throughput is shown")
      assert.isAbove(valueIn(second, "filter", "dropped")!, valueIn(first, "filter", "dropped")!)
      // The stage's own counters are listed, and move.
      assert.isAbove(valueIn(second, "key-tally", "counter:even")!, valueIn(first, "key-tally", "counter:even")!)
      assert.strictEqual(valueIn(second, "key-tally", "gauge:instances"), 1)
      // Drawn: a card per stage in the topology, a tank per ring, and a throughput line.
      const drawn = yield* Effect.promise(() =>
        page.evaluate<{ cards: number; tanks: number; lines: number; status: string }>(
          `({ cards: document.querySelectorAll("#topology [data-field=rate]").length,
              tanks: document.querySelectorAll("#topology title").length,
              lines: document.querySelectorAll("#chart polyline").length,
              status: document.getElementById("status").textContent })`
        )
      )
      assert.deepStrictEqual(drawn, { cards: stages.length, tanks: handle.stats().rings.length, lines: 2, status: "running" })
      assert.include(text, "CorruptRecord")
    }).pipe(
      Effect.scoped,
      Effect.provide([NodeStageHost.layer, NodePipelineServer.layerConfig({ port: 0, wsInterval: Duration.millis(250) })])
    ))
})
