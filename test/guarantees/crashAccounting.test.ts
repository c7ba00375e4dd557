/**
 * The README's promises about crashes, one test each: what a crash does to retained records (they come
 * again: `redelivered`), to state held later in a fused chain (`lost`), to outputs a full ring forced
 * out before a throw (`dup`), to outputs a killed thread had published (`dup`, from the ring), and to
 * dead letters (at-least-once). Each test recomputes the outcome from what reached the sink, not only
 * from the ledger, so a ledger that balances for the wrong reason fails too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter, CountingSink, PassThrough } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import {
  BurstThenHang,
  HangAfterCommit,
  HoldThenThrow,
  KEYS,
  makeTally,
  RECORDS,
  RejectThenThrow,
  Tally,
  VALUES
} from "../fixtures/crashAccountingStages.ts"
import { BurstThenThrow } from "../fixtures/graphStages.ts"

const provide = Effect.provide(NodeStageHost.layer)
const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!
const restart = Schedule.spaced("5 millis").pipe(Schedule.upTo({ times: 5 }))

/** Waits (without a clock deciding anything) until `done()` holds. */
const until = (done: () => boolean) =>
  Effect.suspend(() => (done() ? Effect.void : Effect.fail("not yet"))).pipe(Effect.retry(Schedule.spaced("5 millis")))

describe("crash accounting", () => {
  it.live("a retaining stage that throws gets its retained records again (redelivered), and its outputs are exactly-once", () =>
    Effect.gen(function*() {
      const count = 20_000
      const size = 100
      const counter = new SharedArrayBuffer(4)
      const tally = makeTally()
      // Passes of at most 16 records: the run open at seq 10,050 holds records of earlier passes.
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count })
          .via(HoldThenThrow, { size, at: 10_050, times: 1, counter }, { placement: "worker" })
          .to(Tally, { tally }, { placement: "worker" }),
        { batchSize: 16, restart }
      ).pipe(provide)
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
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count })
          .via(PassThrough, {}, { placement: "worker" })
          .via(HoldThenThrow, { size: 100, at: 10_050, times: 1, counter }) // fused after pass-through
          .to(Tally, { tally }, { placement: "worker" }),
        { batchSize: 16, restart }
      ).pipe(provide)
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

  it.live("a 1:n stage whose full ring forced outputs out before it threw counts them as dup, and they arrive twice", () =>
    Effect.gen(function*() {
      const count = 20_000
      const counter = new SharedArrayBuffer(4)
      const tally = makeTally()
      // 4096 copies of one record into a 1024-slot ring: some of them are published before the throw.
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count })
          .via(BurstThenThrow, { at: 5_001, times: 1, burst: 4096, counter }, { placement: "worker" })
          .to(Tally, { tally }, { placement: "worker" }),
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

  it.live("a worker killed after it published part of a pass is restarted; what it had published counts as dup", () =>
    Effect.gen(function*() {
      const count = 20_000
      const signal = new SharedArrayBuffer(8)
      const tally = makeTally()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count })
          .via(BurstThenHang, { at: 5_001, burst: 4096, signal }, { placement: "worker" })
          .to(Tally, { tally }, { placement: "worker" }),
        { ringCapacity: 1024, restart }
      )
      const flag = new Int32Array(signal)
      // The burst is out (part of it published: it does not fit the ring) and the thread hangs mid-pass.
      yield* until(() => Atomics.load(flag, 0) === 1)
      assert.isTrue(yield* handle.terminateHost("burst-then-hang"))
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "burst-then-hang")
      assert.strictEqual(s.restarts, 1)
      assert.isAbove(s.duplicated, 0, Ledger.format(ledger))
      const t = new Float64Array(tally)
      assert.strictEqual(t[RECORDS], count + s.duplicated)
    }).pipe(Effect.scoped, provide))

  it.live("a worker killed after its pass committed and before it released its input gets nothing twice: exactly-once", () =>
    Effect.gen(function*() {
      const count = 20_000
      const signal = new SharedArrayBuffer(8)
      const tally = makeTally()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count })
          .via(HangAfterCommit, { at: 5_001, signal }, { placement: "worker" })
          .to(Tally, { tally }, { placement: "worker" }),
        { ringCapacity: 1024, restart }
      )
      // The pass is committed (counted, its outputs published) and its input not yet released.
      yield* until(() => Atomics.load(new Int32Array(signal), 0) === 1)
      assert.isTrue(yield* handle.terminateHost("hang-after-commit"))
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "hang-after-commit")
      assert.strictEqual(s.restarts, 1)
      assert.strictEqual(s.in - s.redelivered, count, Ledger.format(ledger))
      // The supervisor released what the dead thread had committed: nothing came again downstream.
      assert.strictEqual(new Float64Array(tally)[RECORDS], count)
    }).pipe(Effect.scoped, provide))

  it.live("dead letters are at-least-once across a crash: every dead-lettered record is in deadLetters(), and the count is exact", () =>
    Effect.gen(function*() {
      const count = 4_000
      const every = 5
      const counter = new SharedArrayBuffer(4)
      const { deadLetters, ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count })
          .via(RejectThenThrow, { every, at: 2_003, times: 2, counter }, { placement: "worker" })
          .to(CountingSink, {}, { placement: "worker" }),
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
})
