import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schedule, Scope } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Batcher, Counter, CountingSink, Filter, PassThrough } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { makeTally, RECORDS, Tally } from "../fixtures/crashAccountingStages.ts"
import { CorruptEvery, EndOfBatchAfterBatch, Slow, ThrowAt } from "../fixtures/faultyStages.ts"
import { EchoAtDrain, Repeat } from "../fixtures/graphStages.ts"

const runToEnd = (p: Pipeline.Pipeline, options: Pipeline.RunOptions = {}) =>
  Pipeline.runToEnd(p, options).pipe(Effect.provide(NodeStageHost.layer))

const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

describe("Pipeline", () => {
  it.live("a fused chain accounts for every record: emitted, dropped with a reason, or batched", () =>
    Effect.gen(function*() {
      const count = 200_000
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count }).via(PassThrough, {}).via(Filter, { dropEvery: 5 }).via(Batcher, { size: 16, timeoutNs: 1e15 })
          .to(CountingSink, {})
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "counter").emitted, count)
      assert.strictEqual(stage(ledger, "filter").dropped["filtered"], count / 5)
      assert.strictEqual(stage(ledger, "batcher").emitted, count - count / 5)
      assert.strictEqual(stage(ledger, "batcher").written, Math.ceil((count - count / 5) / 16))
    }))

  it.live("in a fused chain a stage's end of batch comes after its batch, as across a ring", () =>
    Effect.gen(function*() {
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count: 50_000 }).via(PassThrough, {}).via(EndOfBatchAfterBatch, {}).to(CountingSink, {}),
        { restart: Schedule.recurs(0) }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "end-of-batch-after-batch").restarts, 0)
    }))

  it.live("stages in separate workers deliver every record across rings", () =>
    Effect.gen(function*() {
      const count = 300_000
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(PassThrough, {}, { placement: "worker" })
          .via(Batcher, { size: 7, timeoutNs: 1e15 }, { placement: "worker" })
          .to(CountingSink, {}),
        { ringCapacity: 1024 }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "batcher").in, count)
      assert.strictEqual(stage(ledger, "counting-sink").in, Math.ceil(count / 7))
    }))

  it.live("the same stage used three times, each in its own worker, gets a name per use and a balanced ledger", () =>
    Effect.gen(function*() {
      const count = 60_000
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(PassThrough, {}, { placement: "worker" })
          .via(PassThrough, {}, { placement: "worker" })
          .via(PassThrough, {}, { placement: "worker" })
          .to(CountingSink, {}),
        { ringCapacity: 1024 }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual(ledger.stages.map((s) => s.stage), ["counter", "pass-through", "pass-through-2", "pass-through-3", "counting-sink"])
      assert.deepStrictEqual(ledger.stages.map((s) => s.in), [count, count, count, count, count])
    }))

  it.live("a partitioned step splits by key over its instances and fans in after", () =>
    Effect.gen(function*() {
      const count = 100_000
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count, keys: 4 }).partition(PassThrough, {}, { by: "key", count: 2 }).to(CountingSink, {})
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      // keys 0..3 → instance key % 2: an even split.
      assert.strictEqual(stage(ledger, "pass-through#0").in, count / 2)
      assert.strictEqual(stage(ledger, "pass-through#1").in, count / 2)
      assert.strictEqual(stage(ledger, "counting-sink").in, count)
    }))

  it.live("a stage in a fiber on the main thread runs without blocking the event loop", () =>
    Effect.gen(function*() {
      const count = 300_000
      let ticks = 0
      const timer = setInterval(() => ticks++, 1)
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count }).via(Filter, { dropEvery: 3 }, { placement: "fiber" }).to(CountingSink, {}),
        { ringCapacity: 1024 }
      ).pipe(Effect.ensuring(Effect.sync(() => clearInterval(timer))))
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "filter").host, "filter+counting-sink")
      assert.strictEqual(stage(ledger, "counting-sink").in, count - count / 3)
      // The 1 ms timer kept firing while the fiber host worked through 300k records.
      assert.isAbove(ticks, 5)
    }))

  it.live("a 1:n stage in a fiber whose pass emits more than its ring holds feeds a sink in a fiber, and the event loop keeps running", () =>
    Effect.gen(function*() {
      const times = 8
      const tally = makeTally()
      const t = new Float64Array(tally)
      // 1,024 records a pass, 8 outputs each, into a 1,024-slot ring read by a fiber on the same thread.
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: 1e15 })
          .via(Repeat, { times }, { placement: "fiber" })
          .to(Tally, { tally }, { placement: "fiber" }),
        { ringCapacity: 1024, batchSize: 1024 }
      ).pipe(Effect.provide(NodeStageHost.layer))
      // A tick that finds the sink past what `repeat` committed ran while a pass was still moving its
      // outputs into the ring: the main thread was not blocked waiting for room.
      let midPass = 0
      const timer = setInterval(() => {
        if (t[RECORDS]! > stage(handle.ledger(), "repeat").written) midPass++
      }, 1)
      yield* Effect.addFinalizer(() => Effect.sync(() => clearInterval(timer)))
      yield* Effect.suspend(() => (midPass >= 3 ? Effect.void : Effect.fail("not yet"))).pipe(
        Effect.retry(Schedule.spaced("5 millis"))
      )
      yield* handle.stop
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const repeat = stage(ledger, "repeat")
      assert.strictEqual(repeat.in, stage(ledger, "counter").emitted)
      assert.deepStrictEqual([repeat.emitted, repeat.written, repeat.duplicated], [repeat.in, times * repeat.in, 0])
      assert.strictEqual(stage(ledger, "tally").in, times * repeat.in)
      assert.strictEqual(t[RECORDS], times * repeat.in)
    }).pipe(Effect.scoped))

  it.live("a stage in a fiber whose drain emits more than its ring holds ends after a sink in a fiber took it all", () =>
    Effect.gen(function*() {
      const count = 3_000
      const echoes = 5_000
      const tally = makeTally()
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(EchoAtDrain, { echoes }, { placement: "fiber" })
          .to(Tally, { tally }, { placement: "fiber" }),
        { ringCapacity: 1024, restart: Schedule.recurs(0) }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const echo = stage(ledger, "echo-at-drain")
      assert.deepStrictEqual([echo.in, echo.emitted, echo.written, echo.restarts], [count, count, count + echoes, 0])
      assert.strictEqual(stage(ledger, "tally").in, count + echoes)
      assert.strictEqual(new Float64Array(tally)[RECORDS], count + echoes)
    }))

  it.live("a source in a fiber feeds stages in a worker", () =>
    Effect.gen(function*() {
      const count = 100_000
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count }, { placement: "fiber" }).via(PassThrough, {}, { placement: "worker" }).to(CountingSink, {})
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "counting-sink").emitted, count)
    }))

  it.live("a handler that throws at the k-th record is restarted and the batch is delivered again", () =>
    Effect.gen(function*() {
      const count = 50_000
      const counter = new SharedArrayBuffer(4)
      const { ledger, deadLetters } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(ThrowAt, { at: 12_345, times: 2, counter }, { placement: "worker" })
          .to(CountingSink, {}),
        { restart: Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 5 })) }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(new Int32Array(counter)[0], 2)
      const s = stage(ledger, "throw-at")
      assert.strictEqual(s.restarts, 2)
      assert.strictEqual(s.emitted, count)
      assert.strictEqual(stage(ledger, "counting-sink").emitted, count)
      assert.strictEqual(deadLetters.length, 0)
    }))

  it.live("a record that crashes its stage again and again is dead-lettered, and the rest flows", () =>
    Effect.gen(function*() {
      const count = 20_000
      const counter = new SharedArrayBuffer(4)
      const { ledger, deadLetters } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(ThrowAt, { at: 777, times: 1_000, counter }, { placement: "worker" })
          .to(CountingSink, {}),
        { restart: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 10 })), maxRecordCrashes: 3 }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "throw-at")
      assert.deepStrictEqual(s.deadLettered, { StageThrew: 1 })
      assert.strictEqual(s.emitted, count - 1)
      assert.strictEqual(deadLetters.length, 1)
      assert.instanceOf(deadLetters[0], Pipeline.RecordFailed)
      assert.strictEqual(deadLetters[0]!._tag, "RecordFailed")
      assert.strictEqual(deadLetters[0]!.error, "StageThrew")
      assert.strictEqual(deadLetters[0]!.record["seq"], 777)
    }))

  it.live("a stage that keeps crashing past its restart budget fails the run with StageCrashed", () =>
    Effect.gen(function*() {
      const counter = new SharedArrayBuffer(4)
      const error = yield* runToEnd(
        Pipeline.from(Counter, { count: 10_000 })
          .via(ThrowAt, { at: 10, times: 1_000, counter }, { placement: "worker" })
          .to(CountingSink, {}),
        { restart: Schedule.recurs(1), maxRecordCrashes: 100, drainTimeout: "1 second" }
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StageCrashed")
      if (error._tag === "StageCrashed") {
        assert.strictEqual(error.stage, "throw-at")
        assert.strictEqual(error.reason, "BackoffEnded")
      }
    }))

  it.live("a stage whose policy is Stop stays stopped; what reaches it is dropped as StageStopped, the rest drains", () =>
    Effect.gen(function*() {
      const count = 30_000
      const counter = new SharedArrayBuffer(4)
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(ThrowAt, { at: 5_000, times: 1_000, counter }, { placement: "worker", supervision: Pipeline.Supervision.stop })
          .to(CountingSink, {}, { placement: "worker" })
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "throw-at")
      assert.strictEqual(s.state, "Stopped")
      assert.strictEqual(s.restarts, 0)
      assert.strictEqual(s.in, count)
      assert.strictEqual(s.emitted + (s.dropped["StageStopped"] ?? 0), count)
      assert.isAbove(s.dropped["StageStopped"] ?? 0, 0)
      assert.strictEqual(stage(ledger, "counting-sink").in, s.emitted)
    }))

  it.live("a stage whose policy is Escalate fails the run at its first crash", () =>
    Effect.gen(function*() {
      const counter = new SharedArrayBuffer(4)
      const scope = yield* Scope.make()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: 10_000 })
          .via(ThrowAt, { at: 10, times: 1, counter }, { placement: "worker", supervision: Pipeline.Supervision.escalate })
          .to(CountingSink, {})
      ).pipe(Scope.provide(scope))
      const error = yield* Effect.flip(handle.done)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(error._tag, "StageCrashed")
      assert.strictEqual(error.reason, "Escalated")
      assert.strictEqual(new Int32Array(counter)[0], 1)
      // The rest still drained: what reached the failed stage is counted as StageStopped.
      const report = yield* handle.drainReport
      assert.isTrue(report.ledger.balanced, Ledger.format(report.ledger))
      assert.isAbove(report.ledger.stages.find((x) => x.stage === "throw-at")!.dropped["StageStopped"] ?? 0, 0)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("more crashes than the restart budget allows within its window fail the run", () =>
    Effect.gen(function*() {
      const counter = new SharedArrayBuffer(4)
      const error = yield* runToEnd(
        Pipeline.from(Counter, { count: 10_000 })
          .via(ThrowAt, { at: 10, times: 1_000, counter }, {
            placement: "worker",
            supervision: Pipeline.Supervision.restart({ backoff: Schedule.spaced("1 millis"), maxRestarts: 2, window: "1 minute" })
          })
          .to(CountingSink, {}),
        { maxRecordCrashes: 100 }
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StageCrashed")
      if (error._tag === "StageCrashed") assert.strictEqual(error.reason, "RestartBudget")
      // Two restarts are allowed; the third crash within the window is one too many.
      assert.strictEqual(new Int32Array(counter)[0], 3)
    }))

  it.live("health is not ready while starting or draining, is running in between, and names a failed stage", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity }).via(Slow, { spinNs: 1_000_000 }, { placement: "worker" }).to(CountingSink, {}),
        { ringCapacity: 1024 }
      ).pipe(Scope.provide(scope))
      const first = handle.health()
      assert.isFalse(first.ready && first.status !== "running")
      yield* Effect.sync(() => handle.health()).pipe(
        Effect.repeat({ until: (h) => h.status === "running", schedule: Schedule.spaced("5 millis") })
      )
      assert.isTrue(handle.health().ready)
      // A backlog of 256 records at 1 ms each: a drain of a quarter of a second at least, to be seen.
      yield* Effect.sync(() => handle.stats().rings[0]!.fill).pipe(
        Effect.repeat({ until: (fill) => fill >= 256, schedule: Schedule.spaced("5 millis") })
      )
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void), { startImmediately: true })
      const draining = yield* Effect.sync(() => handle.health()).pipe(
        Effect.repeat({ until: (h) => h.status !== "running", schedule: Schedule.spaced("1 millis") })
      )
      assert.strictEqual(draining.status, "draining")
      assert.isFalse(draining.ready)
      assert.include(draining.reasons, "draining")
      yield* Fiber.join(closing)
      const after = handle.health()
      assert.strictEqual(after.status, "done")
      assert.isFalse(after.ready)

      const counter = new SharedArrayBuffer(4)
      const failing = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity })
          .via(ThrowAt, { at: 10, times: 1, counter }, { placement: "worker", supervision: Pipeline.Supervision.escalate })
          .to(CountingSink, {})
      )
      yield* Effect.flip(failing.done)
      const h = failing.health()
      assert.strictEqual(h.status, "failed")
      assert.isFalse(h.ready)
      assert.match(h.reasons.join("; "), /stage throw-at failed: .*injected fault/)
    }).pipe(Effect.scoped, Effect.provide(NodeStageHost.layer)))

  it.live("records a stage declares bad are dead-lettered as typed errors naming the declared tag", () =>
    Effect.gen(function*() {
      const { ledger, deadLetters } = yield* runToEnd(
        Pipeline.from(Counter, { count: 1_000 }).via(CorruptEvery, { every: 100 }).via(Filter, { dropEvery: 1_000_000 }).to(CountingSink, {})
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual(stage(ledger, "filter").deadLettered, { CorruptRecord: 10 })
      assert.strictEqual(deadLetters.length, 10)
      for (const d of deadLetters) {
        assert.strictEqual(d.error, "CorruptRecord")
        assert.strictEqual(d.stage, "filter")
        assert.strictEqual(d.record["seq"]! % 100, 0)
      }
    }))

  it.live("a drain past its deadline aborts what is left and reports it as abandoned", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity }).via(Slow, { spinNs: 1_000_000 }, { placement: "worker" }).to(CountingSink, {}),
        { ringCapacity: 1024, drainTimeout: "300 millis" }
      ).pipe(Scope.provide(scope))
      // Let a backlog build in front of the slow stage (1 ms a record: a full ring is a 1 s drain).
      yield* Effect.sync(() => handle.stats().rings[0]!.fill).pipe(
        Effect.repeat({ until: (fill) => fill >= 512, schedule: Schedule.spaced("10 millis") })
      )
      yield* Scope.close(scope, Exit.void)
      const report = yield* handle.drainReport
      assert.isTrue(report.timedOut)
      assert.isFalse(report.ledger.balanced)
      assert.isAbove(report.ledger.abandoned, 0)
      // Every stage still balances: what is missing is exactly what was left in the ring.
      for (const s of report.ledger.stages) assert.strictEqual(s.imbalance, 0, Ledger.format(report.ledger))
      const link = report.ledger.links.find((l) => l.inRing > 0)!
      assert.strictEqual(link.imbalance, 0)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("a worker terminated mid-batch is restarted on the same rings and the ledger still balances", () =>
    Effect.gen(function*() {
      const count = 20_000
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count })
          .via(Slow, { spinNs: 20_000 }, { placement: "worker" })
          .to(CountingSink, {}, { placement: "worker" }),
        { restart: Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 5 })) }
      )
      // Wait until the slow stage is well under way, then kill its thread.
      yield* Effect.gen(function*() {
        const s = handle.stats().stages.find((x) => x.stage === "slow")!
        if (s.in < 2_000) return yield* Effect.fail("not yet")
      }).pipe(Effect.retry(Schedule.spaced("10 millis")))
      assert.isTrue(yield* handle.terminateHost("slow"))
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "slow").restarts, 1)
      // Records the killed thread had taken but not released were delivered again.
      assert.strictEqual(stage(ledger, "counting-sink").in - stage(ledger, "counting-sink").redelivered, count + stage(ledger, "slow").duplicated)
    }).pipe(Effect.scoped, Effect.provide(NodeStageHost.layer)))

  it.effect("bad run options are rejected with the key, the value and the rule", () =>
    Effect.gen(function*() {
      const error = yield* runToEnd(
        Pipeline.from(Counter, { count: 1 }).to(CountingSink, {}),
        { ringCapacity: 1000 }
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "PipelineConfigError")
      assert.include(error.message, "ringCapacity=1000")
      assert.include(error.message, "power of two")
    }))

  it.effect("a stage config that does not match its schema is rejected before anything starts", () =>
    Effect.gen(function*() {
      const error = yield* runToEnd(
        Pipeline.from(Counter, { count: 1 }).via(Filter, { dropEvery: 0 }).to(CountingSink, {})
      ).pipe(Effect.flip)
      assert.strictEqual(error._tag, "PipelineConfigError")
      assert.include(error.message, "filter")
    }))

  // That stages whose layouts differ do not connect is checked at compile time: test/build/typeLevel.test.ts.
})
