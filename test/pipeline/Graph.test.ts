import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { Ledger, Pipeline, RecordLayout, Stage } from "@velox/core"
import { Counter, CountingSink, Filter, PassThrough } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { Slow, ThrowAt } from "../fixtures/faultyStages.ts"
import { BurstThenThrow, CountByFlags, Gate, Mark, Repeat } from "../fixtures/graphStages.ts"

const provide = Effect.provide(NodeStageHost.layer)
const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

/** Waits (polling, no deadline of its own: the test's timeout is the limit) until `cond` holds. */
const until = (cond: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (cond() ? Effect.void : Effect.sleep("5 millis").pipe(Effect.andThen(until(cond)))))

const open = (gate: SharedArrayBuffer) => {
  const flag = new Int32Array(gate)
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
}

describe("graphs: tees", () => {
  it.live("a tee in a fiber whose pass emits more than its rings hold feeds sinks in fibers: every record reaches both", () =>
    Effect.gen(function*() {
      const count = 20_000
      const times = 4
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }).via(Repeat, { times }, { placement: "fiber" }).broadcast((b) => [
          b.to(CountingSink, {}, { placement: "fiber" }),
          b.to(CountingSink, {}, { placement: "fiber" })
        ]),
        // Passes of up to 1,024 records, 4,096 outputs each (the default batch of 256 would fit the ring).
        { ringCapacity: 1024, batchSize: 1024, restart: Schedule.recurs(0) }
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "repeat").written, times * count)
      assert.strictEqual(stage(ledger, "counting-sink").in, times * count)
      assert.strictEqual(stage(ledger, "counting-sink-2").in, times * count)
    }))

  it.live("a tee sends every record to every branch, each through its own ring to its own sink; done waits for all", () =>
    Effect.gen(function*() {
      const count = 200_000
      const { ledger, stats } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }).via(PassThrough, {}).broadcast((b) => [
          b.via(Filter, { dropEvery: 4 }).to(CountingSink, {}),
          b.to(CountingSink, {}, { placement: "fiber" }),
          b.via(PassThrough, {}, { placement: "worker" }).via(PassThrough, {}, { placement: "worker" }).to(CountingSink, {})
        ]),
        { ringCapacity: 1024 }
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "counting-sink").in, count - count / 4)
      assert.strictEqual(stage(ledger, "counting-sink-2").in, count)
      assert.strictEqual(stage(ledger, "counting-sink-3").in, count)
      // One link per branch, each balanced on its own.
      const fromTee = ledger.links.filter((l) => l.from === "counter+pass-through")
      assert.deepStrictEqual(fromTee.map((l) => [l.to, l.published, l.consumed]), [
        ["filter+counting-sink", count, count],
        ["counting-sink-2", count, count],
        ["pass-through-2", count, count]
      ])
      assert.deepStrictEqual(stats.rings.map((r) => r.name), [
        "counter+pass-through→filter+counting-sink",
        "counter+pass-through→counting-sink-2",
        "counter+pass-through→pass-through-2",
        "pass-through-2→pass-through-3+counting-sink-3"
      ])
    }))

  it.live("a slow branch backpressures the producer and so every branch; nothing is lost, every branch's count is exact", () =>
    Effect.gen(function*() {
      const count = 100_000
      const ringCapacity = 1024
      const gate = new SharedArrayBuffer(4)
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count }).broadcast((b) => [b.to(CountingSink, {}), b.via(Gate, { gate }).to(CountingSink, {})]),
        { ringCapacity }
      )
      const ring = (name: string) => handle.stats().rings.find((r) => r.name === name)!
      // The gated branch fills its ring; the producer then cannot go on, and the fast branch runs dry.
      yield* until(() => ring("counter→gate+counting-sink-2").fill === ringCapacity && ring("counter→counting-sink").fill === 0)
      const held = handle.ledger()
      assert.strictEqual(stage(held, "counter").written, ringCapacity)
      assert.strictEqual(stage(held, "counting-sink").in, ringCapacity)
      open(gate)
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "counting-sink").in, count)
      assert.strictEqual(stage(ledger, "counting-sink-2").in, count)
    }).pipe(Effect.scoped, provide))

  it.live("a branch with overflow dropNewest never slows the others: its drops are counted exactly, on its link and ring", () =>
    Effect.gen(function*() {
      const count = 100_000
      const ringCapacity = 1024
      const gate = new SharedArrayBuffer(4)
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count }).broadcast((b) => [
          b.to(CountingSink, {}),
          b.via(Gate, { gate }, { overflow: "dropNewest" }).to(CountingSink, {})
        ]),
        { ringCapacity }
      )
      // The fast branch gets everything while the gated one holds its ring full.
      yield* until(() => handle.ledger().stages.find((s) => s.stage === "counter")!.state === "Done")
      yield* until(() => handle.ledger().stages.find((s) => s.stage === "counting-sink")!.in === count)
      open(gate)
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const slow = stage(ledger, "counting-sink-2").in
      const link = ledger.links.find((l) => l.to === "gate+counting-sink-2")!
      assert.strictEqual(link.dropped, count - slow)
      assert.strictEqual(link.published, slow)
      assert.isAtLeast(link.dropped, count - 2 * ringCapacity)
      assert.strictEqual(handle.stats().rings.find((r) => r.name === "counter→gate+counting-sink-2")!.dropped, count - slow)
      assert.include(Ledger.format(ledger), `(dropped ${count - slow}: branch full)`)
    }).pipe(Effect.scoped, provide))

  it.live("stopping an endless source with a tee drains every branch to a balanced ledger", () =>
    Effect.gen(function*() {
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: 1e15 }).broadcast((b) => [b.to(CountingSink, {}), b.via(Filter, { dropEvery: 3 }, { placement: "fiber" }).to(CountingSink, {})]),
        { ringCapacity: 1024 }
      )
      yield* until(() => stage(handle.ledger(), "counting-sink-2").in > 10_000)
      yield* handle.stop
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const emitted = stage(ledger, "counter").emitted
      assert.strictEqual(stage(ledger, "counting-sink").in, emitted)
      assert.strictEqual(stage(ledger, "filter").in, emitted)
    }).pipe(Effect.scoped, provide))

  it.live("a crash in one branch restarts that branch only, and a crash of the tee's producer counts its duplicates per ring", () =>
    Effect.gen(function*() {
      const count = 60_000
      const inBranch = new SharedArrayBuffer(4)
      const atTee = new SharedArrayBuffer(4)
      // The tee's producer publishes 1024 copies of one record, then throws: its outputs went out early.
      const { ledger, stats } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }).via(BurstThenThrow, { at: 30_001, times: 1, burst: 1024, counter: atTee }, { placement: "worker" })
          .broadcast((b) => [
            b.via(ThrowAt, { at: 12_345, times: 2, counter: inBranch }).to(CountingSink, {}),
            b.to(CountingSink, {}, { placement: "fiber" })
          ]),
        { ringCapacity: 4096, batchSize: 512, restart: Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 10 })) }
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "burst-then-throw").restarts, 1)
      assert.strictEqual(stage(ledger, "throw-at").restarts, 2)
      const teeRings = stats.rings.filter((r) => r.from === "burst-then-throw")
      assert.strictEqual(teeRings.length, 2)
      assert.isTrue(teeRings.every((r) => r.duplicated > 0), JSON.stringify(teeRings))
      // Each branch got every record once, plus its own ring's duplicates.
      assert.strictEqual(stage(ledger, "burst-then-throw").written, count)
      assert.strictEqual(stage(ledger, "throw-at").in - stage(ledger, "throw-at").redelivered, count + teeRings[0]!.duplicated)
      assert.strictEqual(stage(ledger, "counting-sink-2").in, count + teeRings[1]!.duplicated)
    }))

  it.live("a tee's producer thread killed mid-batch is restarted, and what it had published counts as duplicates on each ring", () =>
    Effect.gen(function*() {
      const count = 20_000
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count }).via(Slow, { spinNs: 20_000 }, { placement: "worker" }).broadcast((b) => [
          b.to(CountingSink, {}),
          b.to(CountingSink, {}, { placement: "fiber", overflow: "dropNewest" })
        ]),
        { restart: Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 5 })) }
      )
      yield* until(() => stage(handle.ledger(), "slow").in >= 2_000)
      assert.isTrue(yield* handle.terminateHost("slow"))
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "slow").restarts, 1)
      const rings = handle.stats().rings
      for (const [sink, ring] of [["counting-sink", "slow→counting-sink"], ["counting-sink-2", "slow→counting-sink-2"]] as const) {
        const r = rings.find((x) => x.name === ring)!
        assert.strictEqual(stage(ledger, sink).in, count + r.duplicated - r.dropped)
      }
    }).pipe(Effect.scoped, provide))

  it("a branch is typed like any chain, and a merge of builders with different layouts does not compile", () => {
    const Other = RecordLayout.make("Other", { x: "f64" })
    const OtherSink = Stage.sink({ name: "other-sink", module: import.meta.url, input: Other, make: () => ({ onBatch() {} }) })
    const OtherSource = Stage.source({ name: "other-source", module: import.meta.url, output: Other, make: () => ({ onPoll: () => Stage.SOURCE_EXHAUSTED }) })
    // @ts-expect-error the branch carries Sequenced records, this sink takes { x }
    const badBranch = () => Pipeline.from(Counter, { count: 1 }).broadcast((b) => [b.to(OtherSink, {})])
    // @ts-expect-error a merge's builders must emit the same layout
    const badMerge = () => Pipeline.merge(Pipeline.from(Counter, { count: 1 }), Pipeline.from(OtherSource, {}))
    assert.isFunction(badBranch)
    assert.isFunction(badMerge)
  })
})

describe("graphs: merges", () => {
  it.live("a merge of two sources polls both: a small one finishes while a flooding one runs on (no starvation)", () =>
    Effect.gen(function*() {
      const counts = new SharedArrayBuffer(8 * 8)
      const small = 20_000
      const handle = yield* Pipeline.run(
        Pipeline.merge(
          Pipeline.from(Counter, { count: 1e15 }).via(Mark, { flags: 1 }),
          Pipeline.from(Counter, { count: small }).via(Mark, { flags: 2 })
        ).to(CountByFlags, { counts }),
        { ringCapacity: 1024 }
      )
      const seen = new Float64Array(counts)
      // Both reach the merge: the small source's last record while the endless flood still flows.
      yield* until(() => seen[2] === small && seen[1]! > 0)
      assert.notStrictEqual(stage(handle.ledger(), "counter").state, "Done")
      yield* handle.stop
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "count-by-flags").in, stage(ledger, "counter").emitted + small)
      assert.strictEqual(seen[1], stage(ledger, "counter").emitted)
    }).pipe(Effect.scoped, provide))

  it.live("a diamond: a tee's branches merge again into one sink, every record counted once per branch", () =>
    Effect.gen(function*() {
      const count = 50_000
      const counts = new SharedArrayBuffer(8 * 8)
      const tee = Pipeline.from(Counter, { count })
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.merge(tee.via(Mark, { flags: 3 }), tee.via(Filter, { dropEvery: 2 }, { placement: "fiber" }).via(Mark, { flags: 4 }))
          .via(PassThrough, {}, { placement: "fiber" })
          .to(CountByFlags, { counts }),
        { ringCapacity: 2048 }
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const seen = new Float64Array(counts)
      assert.strictEqual(seen[3], count)
      assert.strictEqual(seen[4], count / 2)
      assert.strictEqual(stage(ledger, "pass-through").host, "pass-through+count-by-flags")
    }))

  it.live("partitioned lanes and a second source merge into one step", () =>
    Effect.gen(function*() {
      const counts = new SharedArrayBuffer(8 * 8)
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.merge(
          Pipeline.from(Counter, { count: 40_000, keys: 4 }).partition(Mark, { flags: 5 }, { by: "key", count: 2 }),
          Pipeline.from(Counter, { count: 10_000 }).via(Mark, { flags: 6 })
        ).to(CountByFlags, { counts })
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const seen = new Float64Array(counts)
      assert.deepStrictEqual([seen[5], seen[6]], [40_000, 10_000])
    }))
})
