/**
 * A stage's own counters and gauges (exact, per instance, across crashes), the instance a stage is
 * told it is, and restarts of stages that keep state: restored from their snapshot with identical
 * output, or reported as state lost in `stats()`, `health()` and the ledger.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Schedule, Scope } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter, CountingSink, Sequenced } from "@velox/core/stages"
import { CaptureSink } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { CrashEvery, CRASHES, ForgetfulSum, KeyTally, makeLog, RunningSum } from "../fixtures/lifecycleStages.ts"

const runToEnd = (p: Pipeline.Pipeline, options: Pipeline.RunOptions = {}) =>
  Pipeline.runToEnd(p, options).pipe(Effect.provide(NodeStageHost.layer))

const restartFast = Pipeline.Supervision.restart({ backoff: Schedule.spaced("1 millis"), maxRestarts: 50, window: "1 minute" })

const stageOf = (stats: Pipeline.Snapshot, name: string) => stats.stages.find((s) => s.stage === name)!

describe("stage counters and gauges", () => {
  for (const placement of ["fused", "worker", "fiber"] as const) {
    it.live(`${placement}: what a stage counts and gauges reaches stats(), exactly`, () =>
      Effect.gen(function*() {
        const count = 10_000
        const { stats, ledger } = yield* runToEnd(
          Pipeline.from(Counter, { count, keys: 16 }).via(KeyTally, {}, { placement }).to(CountingSink, {})
        )
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const tally = stageOf(stats, "key-tally")
        assert.deepStrictEqual(tally.counters, { even: count / 2, odd: count / 2 })
        assert.deepStrictEqual(tally.gauges, { lastSeq: count - 1, instance: 0, instances: 1 })
        assert.deepStrictEqual(stageOf(stats, "counting-sink").counters, {}, "a stage that declares none has none")
      }))
  }

  it.live("a partitioned stage knows which instance it is, of how many; each instance counts its own", () =>
    Effect.gen(function*() {
      const count = 8_000
      const { stats, ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count, keys: 16 }).partition(KeyTally, {}, { by: "key", count: 2 }).to(CountingSink, {})
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      // Routed by key mod 2: lane 0 gets the even keys, lane 1 the odd ones.
      const lane0 = stageOf(stats, "key-tally#0")
      const lane1 = stageOf(stats, "key-tally#1")
      assert.deepStrictEqual(lane0.counters, { even: count / 2, odd: 0 })
      assert.deepStrictEqual(lane1.counters, { even: 0, odd: count / 2 })
      assert.deepStrictEqual([lane0.gauges["instance"], lane0.gauges["instances"]], [0, 2])
      assert.deepStrictEqual([lane1.gauges["instance"], lane1.gauges["instances"]], [1, 2])
    }))

  it.live("counters count what committed passes did: a crashed pass's counts are dropped with it, the restart continues", () =>
    Effect.gen(function*() {
      const count = 6_000
      const log = makeLog()
      const { stats, ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count, keys: 16 })
          .via(CrashEvery, { every: 500, crashes: 5, log }, { placement: "worker", supervision: restartFast })
          .via(KeyTally, {})
          .to(CountingSink, {})
      )
      assert.strictEqual(new Int32Array(log)[CRASHES], 5)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stageOf(stats, "crash-every").restarts, 5)
      // Every record redelivered after a crash was counted once, not twice.
      assert.deepStrictEqual(stageOf(stats, "key-tally").counters, { even: count / 2, odd: count / 2 })
    }))
})

describe("restarts of a stage that keeps state", () => {
  /** seq 0 … n − 1, each with value = seq: the running sum after seq i is i (i + 1) / 2. */
  const expectedSum = (seq: number) => (seq * (seq + 1)) / 2

  const runSums = (stage: typeof RunningSum, placement: Pipeline.Placement, count: number, crashes: number) =>
    Effect.gen(function*() {
      const log = makeLog()
      const capture = CaptureSink.allocate(Sequenced, 2 * count)
      const { stats, ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(stage, { every: Math.floor(count / (crashes + 1)), crashes, log }, { placement, supervision: restartFast })
          .to(CaptureSink.make(Sequenced), capture, { placement: "worker" })
      )
      assert.strictEqual(new Int32Array(log)[CRASHES], crashes)
      return { stats, ledger, records: CaptureSink.records(Sequenced, capture) }
    })

  for (const placement of ["fused", "worker", "fiber"] as const) {
    it.live(`${placement}: with snapshotState/restoreState it survives 5 crashes with identical output`, () =>
      Effect.gen(function*() {
        const count = 6_000
        const { stats, ledger, records } = yield* runSums(RunningSum, placement, count, 5)
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const sums = stageOf(stats, "running-sum")
        assert.strictEqual(sums.restarts, 5)
        assert.strictEqual(sums.stateLost, 0)
        assert.isTrue(sums.keepsState)
        // Exactly once, in order, each the sum it would have been without a crash (the source, fused
        // with it, keeps its place in the sequence across the restarts too).
        assert.strictEqual(records.length, count)
        records.forEach((r, i) => {
          assert.strictEqual(r.seq, i)
          assert.strictEqual(r.value, expectedSum(i), `record ${i}`)
        })
        assert.deepStrictEqual(Ledger.format(ledger).match(/state: /g), null)
      }))
  }

  it.live("without the hooks, each restart is reported as state lost: stats, health, the ledger", () =>
    Effect.gen(function*() {
      const count = 6_000
      const log = makeLog()
      const scope = yield* Scope.make()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count })
          .via(ForgetfulSum, { every: 2_000, crashes: 2, log }, { placement: "worker", supervision: restartFast })
          .to(CountingSink, {}),
        {}
      ).pipe(Scope.provide(scope))
      yield* handle.done
      const forgetful = stageOf(handle.stats(), "forgetful-sum")
      assert.strictEqual(forgetful.restarts, 2)
      assert.strictEqual(forgetful.stateLost, 2)
      const health = handle.health()
      assert.isFalse(health.ready)
      assert.isTrue(health.reasons.some((r) => r.includes("forgetful-sum lost its state in 2 restarts")), health.reasons.join("; "))
      assert.strictEqual(health.stages.find((s) => s.stage === "forgetful-sum")!.stateLost, 2)
      const ledger = handle.ledger()
      // Every record is still accounted for; the state loss is said beside it.
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(ledger.stages.find((s) => s.stage === "forgetful-sum")!.stateLost, 2)
      assert.include(Ledger.format(ledger), "state: stage forgetful-sum restarted without its state 2 times")
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("without the hooks the output after a restart is built on fresh state (what state lost means)", () =>
    Effect.gen(function*() {
      const count = 3_000
      const { stats, records } = yield* runSums(ForgetfulSum, "worker", count, 1)
      assert.strictEqual(stageOf(stats, "forgetful-sum").stateLost, 1)
      const byseq = new Map(records.map((r) => [r.seq, r.value]))
      const wrong = [...byseq].filter(([seq, value]) => value !== expectedSum(seq)).length
      assert.isAbove(wrong, 0, "the sums restarted from 0")
    }))
})
