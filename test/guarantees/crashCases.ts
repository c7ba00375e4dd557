/**
 * The README's promises about a stage that throws, one test each, for a placement: what a crash does
 * to retained records (they come again: `redelivered`), to state held later in a fused chain or by a
 * merge step (`lost`), to outputs a full ring forced out before the throw (`dup`), and to dead letters
 * (at-least-once). The retaining cases also read the ledger while the crashed stage waits for its
 * restart: the crash's accounting is whole before the restarted loop commits anything.
 * Each recomputes the outcome from what reached the sink, not only from the ledger, so a ledger that
 * balances for the wrong reason fails too. Worker threads (crashAccounting.test.ts) are what a user
 * runs; fibers (crashAccountingInProcess.test.ts) run the same stage runner in the test process, where
 * mutation testing sees it (`npm run mutation -- --module crash-accounting`).
 */
import { assert, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Schedule } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter, CountingSink, PassThrough } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { HoldThenThrow, KEYS, makeTally, RECORDS, RejectThenThrow, Tally, VALUES } from "../fixtures/crashAccountingStages.ts"
import { BurstThenThrow } from "../fixtures/graphStages.ts"

export const provide = Effect.provide(NodeStageHost.layer)
export const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!
export const restart = Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 5 }))

/**
 * Runs `pipeline` to its end with its restarts held back until the test has read the ledger once a
 * stage crashed: the crash's accounting must already be whole then (the restarted loop's first commit
 * rewrites `retained`, which would hide a stale count at the end of the run).
 */
export const runHoldingRestart = (pipeline: Pipeline.Pipeline, options: Pipeline.RunOptions) =>
  Effect.gen(function*() {
    const crashed = yield* Deferred.make<void>()
    const resume = yield* Deferred.make<void>()
    // The backoff's step waits for the test: nothing runs the crashed stage again until then.
    const held = restart.pipe(
      Schedule.addDelay(() => Deferred.succeed(crashed, undefined).pipe(Effect.andThen(Deferred.await(resume)), Effect.as(Duration.zero)))
    )
    const handle = yield* Pipeline.run(pipeline, { ...options, restart: held })
    yield* Deferred.await(crashed)
    const whileCrashed = handle.ledger()
    yield* Deferred.succeed(resume, undefined)
    yield* handle.done
    return { whileCrashed, ledger: handle.ledger() }
  }).pipe(Effect.scoped, provide)

/** A crashed stage's own line while it waits for its restart: balanced, holding nothing. */
const assertAccountedWhileCrashed = (ledger: Ledger.Ledger, name: string) => {
  const s = stage(ledger, name)
  assert.strictEqual(s.state, "Crashed", Ledger.format(ledger))
  assert.strictEqual(s.retained, 0, Ledger.format(ledger))
  assert.strictEqual(s.imbalance, 0, Ledger.format(ledger))
  return s
}

/**
 * The throw cases, every loop placed as `placement` says. With fibers the 1:n burst's sink is a fiber
 * too: the burst's pass, which emits more than its ring holds, must leave the main thread to it.
 */
export const crashCases = (placement: "worker" | "fiber") => {
  it.live("a retaining stage that throws gets its retained records again (redelivered), and its outputs are exactly-once", () =>
    Effect.gen(function*() {
      const count = 20_000
      const size = 100
      const counter = new SharedArrayBuffer(4)
      const tally = makeTally()
      // Passes of at most 16 records: the run open at seq 10,050 holds records of earlier passes.
      const { ledger, whileCrashed } = yield* runHoldingRestart(
        Pipeline.from(Counter, { count }, { placement })
          .via(HoldThenThrow, { size, at: 10_050, times: 1, counter }, { placement })
          .to(Tally, { tally }, { placement }),
        { batchSize: 16 }
      )
      // Before the restart: what it held is counted to come again, and held no more.
      assert.isAtLeast(assertAccountedWhileCrashed(whileCrashed, "hold-then-throw").redelivered, 35, Ledger.format(whileCrashed))
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "hold-then-throw")
      assert.strictEqual(s.restarts, 1)
      assert.isAtLeast(s.redelivered, 35, Ledger.format(ledger))
      assert.strictEqual(s.lost, 0)
      assert.strictEqual(s.duplicated, 0)
      assert.strictEqual(s.emitted, count)
      const t = new Float64Array(tally)
      assert.strictEqual(t[RECORDS], count / size)
      assert.strictEqual(t[KEYS], count)
      assert.strictEqual(t[VALUES], (count * (count - 1)) / 2)
    }))

  it.live("state a later member of a fused chain retained is lost with its crash and counted as lost", () =>
    Effect.gen(function*() {
      const count = 20_000
      const counter = new SharedArrayBuffer(4)
      const tally = makeTally()
      const { ledger, whileCrashed } = yield* runHoldingRestart(
        Pipeline.from(Counter, { count }, { placement })
          .via(PassThrough, {}, { placement })
          .via(HoldThenThrow, { size: 100, at: 10_050, times: 1, counter }) // fused after pass-through
          .to(Tally, { tally }, { placement }),
        { batchSize: 16 }
      )
      // Before the restart: what it held is counted lost, and held no more.
      assert.isAtLeast(assertAccountedWhileCrashed(whileCrashed, "hold-then-throw").lost, 35, Ledger.format(whileCrashed))
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "hold-then-throw")
      assert.strictEqual(s.host, "pass-through+hold-then-throw")
      assert.strictEqual(s.restarts, 1)
      assert.isAtLeast(s.lost, 35, Ledger.format(ledger))
      // Every record reached the sink in a run once, except the ones lost with the open run.
      const t = new Float64Array(tally)
      assert.strictEqual(t[KEYS], count - s.lost)
      assert.strictEqual(s.emitted + s.lost, s.in - s.redelivered)
    }))

  it.live("a merge step whose stage retains records and throws loses what it retained (its inputs were released), counted as lost", () =>
    Effect.gen(function*() {
      const count = 10_000
      const counter = new SharedArrayBuffer(4)
      const tally = makeTally()
      // A step with two inputs releases everything it polled at each commit (which ring a retained
      // record came from is not kept): the open run is gone with the crash, not delivered again.
      const { ledger, whileCrashed } = yield* runHoldingRestart(
        Pipeline.merge(Pipeline.from(Counter, { count }, { placement }), Pipeline.from(Counter, { count }, { placement }))
          .via(HoldThenThrow, { size: 100, at: 5_050, times: 1, counter }, { placement })
          .to(Tally, { tally }, { placement }),
        { batchSize: 16 }
      )
      const before = assertAccountedWhileCrashed(whileCrashed, "hold-then-throw")
      assert.isAbove(before.lost, 0, Ledger.format(whileCrashed))
      assert.strictEqual(before.redelivered, 0)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "hold-then-throw")
      assert.strictEqual(s.restarts, 1)
      assert.strictEqual(s.lost, before.lost)
      assert.strictEqual(s.redelivered, 0)
      assert.strictEqual(s.in, 2 * count)
      // Every record reached the sink in a run once, except the ones lost with the open run.
      assert.strictEqual(new Float64Array(tally)[KEYS], 2 * count - s.lost)
    }))

  it.live("a 1:n stage whose full ring forced outputs out before it threw counts them as dup, and they arrive twice", () =>
    Effect.gen(function*() {
      const count = 20_000
      const counter = new SharedArrayBuffer(4)
      const tally = makeTally()
      // 4096 copies of one record into a 1024-slot ring: some of them are published before the throw.
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }, { placement })
          .via(BurstThenThrow, { at: 5_001, times: 1, burst: 4096, counter }, { placement })
          .to(Tally, { tally }, { placement }),
        { ringCapacity: 1024, restart }
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "burst-then-throw")
      assert.strictEqual(s.restarts, 1)
      assert.isAbove(s.duplicated, 0, Ledger.format(ledger))
      assert.strictEqual(s.written, count)
      const t = new Float64Array(tally)
      assert.strictEqual(t[RECORDS], count + s.duplicated)
      assert.strictEqual(stage(ledger, "tally").in, count + s.duplicated)
    }))

  it.live("dead letters are at-least-once across a crash: every dead-lettered record is in deadLetters(), and the count is exact", () =>
    Effect.gen(function*() {
      const count = 4_000
      const every = 5
      const counter = new SharedArrayBuffer(4)
      const { deadLetters, ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }, { placement })
          .via(RejectThenThrow, { every, at: 2_003, times: 2, counter }, { placement })
          .to(CountingSink, {}, { placement }),
        { batchSize: 16, restart }
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "reject-then-throw")
      assert.strictEqual(s.restarts, 2)
      assert.deepStrictEqual(s.deadLettered, { Rejected: count / every })
      const seen = new Set(deadLetters.map((d) => d.record["seq"]))
      for (let seq = 0; seq < count; seq += every) assert.isTrue(seen.has(seq), `seq ${seq} missing from deadLetters()`)
      for (const d of deadLetters) {
        assert.strictEqual(d.error, "Rejected")
        assert.strictEqual(d.stage, "reject-then-throw")
      }
      assert.strictEqual(stage(ledger, "counting-sink").in, count - count / every)
    }))
}
