import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Scope } from "effect"
import { Ledger, Pipeline, RecordLayout } from "@velox/core"
import { Counter, CountingSink, PassThrough } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { TestConsole } from "effect/testing"
import { CorruptEvery } from "../fixtures/faultyStages.ts"

describe("Pipeline.run checks before anything starts", () => {
  it.live("two layouts with the same fields in another order (past the type check) fail with a PipelineConfigError naming both", () =>
    Effect.gen(function*() {
      const Reordered = RecordLayout.make("Reordered", { key: "u32", flags: "u32", seq: "f64", value: "f64", check: "f64" })
      // Same byte length, same names, another order: a stage reading it would misread every record.
      const Misreads = { ...CountingSink, input: Reordered } as unknown as typeof CountingSink
      const error = yield* Pipeline.runToEnd(Pipeline.from(Counter, { count: 10 }).via(PassThrough, {}).to(Misreads, {})).pipe(
        Effect.provide(NodeStageHost.layer),
        Effect.flip
      )
      assert.strictEqual(error._tag, "PipelineConfigError")
      if (error._tag !== "PipelineConfigError") return
      assert.strictEqual(error.reason, "Layout")
      assert.include(error.message, "pass-through → counting-sink")
      assert.include(error.message, `Sequenced { seq: f64 @0, key: u32 @8`)
      assert.include(error.message, `Reordered { key: u32 @0, flags: u32 @4, seq: f64 @8`)
    }))
})

describe("Pipeline.run with report: true", () => {
  it.live("prints one line per loop at the start: where it runs and its stages, and the ledger after the drain", () =>
    Effect.gen(function*() {
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count: 1_000 }).via(PassThrough, {}).via(PassThrough, {}, { placement: "fiber" }).to(CountingSink, {}),
        { report: true }
      )
      const lines = (yield* TestConsole.logLines).map(String)
      assert.deepStrictEqual(lines[0]!.split("\n"), [
        "placement: 2 loops",
        "  counter+pass-through          worker thread             counter → pass-through",
        "  pass-through-2+counting-sink  fiber on the main thread  pass-through-2 → counting-sink"
      ])
      assert.strictEqual(lines[1], Ledger.format(ledger))
      assert.strictEqual(lines.length, 2)
    }).pipe(Effect.provide([NodeStageHost.layer, TestConsole.layer])))
})

describe("a fiber stage never blocks the main thread", () => {
  it.live("100k dead letters from a fiber stage: a 1 ms timer keeps firing in between, and every letter is counted", () =>
    Effect.gen(function*() {
      const count = 100_000
      const scope = yield* Scope.make()
      // Every record corrupted, so the sink fused behind it in the fiber dead-letters all 100k (1024 fit the ring).
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count }).via(CorruptEvery, { every: 1 }, { placement: "fiber" }).to(CountingSink, {})
      ).pipe(Scope.provide(scope))
      const sink = () => handle.stats().stages.find((s) => s.stage === "counting-sink")!
      const seen = new Set<number>()
      const timer = yield* Effect.forkChild(
        Effect.sync(() => seen.add(sink().deadLettered)).pipe(Effect.andThen(Effect.sleep("1 millis")), Effect.forever),
        { startImmediately: true }
      )
      yield* handle.done
      yield* Fiber.interrupt(timer)
      yield* Scope.close(scope, Exit.void)
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual(ledger.stages.find((s) => s.stage === "counting-sink")!.deadLettered, { CorruptRecord: count })
      // The control plane decoded every one of them (the buffer keeps the latest 1000).
      assert.deepStrictEqual(handle.errorSummary().map((e) => [e.stage, e.error, e.count]), [["counting-sink", "CorruptRecord", count]])
      assert.strictEqual(handle.deadLetters().length, 1000)
      assert.strictEqual(handle.deadLetters().at(-1)!.record["seq"], count - 1)
      // The timer ran while the fiber stage was mid-way, many times: the main thread was never held.
      const between = [...seen].filter((n) => n > 0 && n < count)
      assert.isAtLeast(between.length, 10, `distinct counts seen mid-way: ${between.length}`)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
