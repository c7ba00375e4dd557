/**
 * The journal's Effect face: a scoped writer that syncs on close and does its time-driven work in a
 * fiber, journals read as Streams (to the end, from a sequence, following), `info`, and typed errors
 * in the error channel.
 */
import { assert, describe, it } from "@effect/vitest"
import { RecordLayout } from "@velox/core"
import { Effect, Exit, Fiber, Stream } from "effect"
import { NodeJournal } from "../../src/index.ts"
import { range, tempJournal } from "./fixtures.ts"

const Tick = RecordLayout.make("Tick", { seq: "f64", symbol: "u32", size: "u32", price: "f64", tsNs: "f64" })
const tick = (seq: number) => ({ seq, symbol: seq % 5, size: 100 + seq, price: 10 + seq / 100, tsNs: seq * 1_000 })

describe("NodeJournal (Effect)", () => {
  it.live("appended records are durable once the scope closes, and read back as a Stream", () =>
    Effect.gen(function*() {
      const t = tempJournal("effect")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      const stats = NodeJournal.makeStats()
      yield* Effect.scoped(Effect.gen(function*() {
        const journal = yield* NodeJournal.open(t.journal, Tick, { timeField: "tsNs", batchRecords: 64, fsync: "drain", stats })
        assert.strictEqual(journal.recovery.records, 0)
        yield* journal.append(range(0, 1_000).map(tick))
        const s = yield* journal.stats
        assert.strictEqual(s.appended, 1_000)
        assert.strictEqual(s.written, 960)
        assert.strictEqual(s.durable, 0)
      }))
      const after = NodeJournal.readStats(stats)
      assert.strictEqual(after.durable, 1_000)
      assert.strictEqual(after.state, "closed")
      const back = yield* NodeJournal.records(t.journal, { layout: Tick }).pipe(Stream.runCollect)
      assert.deepStrictEqual(back, range(0, 1_000).map(tick))
      const fromTime = yield* NodeJournal.records(t.journal, { layout: Tick, from: { time: 500_500 } }).pipe(Stream.runCollect)
      assert.deepStrictEqual(fromTime.map((r) => r.seq), range(501, 1_000))
      const info = yield* NodeJournal.info(t.journal)
      assert.strictEqual(info.records, 1_000)
      assert.strictEqual(info.layoutSignature, "Tick{seq:f64,symbol:u32,size:u32,price:f64,tsNs:f64}")
      assert.strictEqual(info.firstTime, 0)
      assert.strictEqual(info.lastTime, 999_000)
    }))

  it.live("the writer's fiber writes a batch once it is batchMs old, with no append to trigger it", () =>
    Effect.gen(function*() {
      const t = tempJournal("effect-timer")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      const journal = yield* NodeJournal.open(t.journal, Tick, { batchRecords: 1_000, batchMs: 30, fsync: "never" })
      yield* journal.append([tick(0), tick(1)])
      // Wait for the condition, not for a time: the fiber writes within ~batchMs, however loaded the machine.
      let written = 0
      for (let i = 0; i < 2_000 && written < 2; i++) {
        written = (yield* journal.stats).written
        if (written < 2) yield* Effect.sleep("5 millis")
      }
      assert.strictEqual(written, 2)
    }))

  it.live("a follower Stream delivers records appended after it started", () =>
    Effect.gen(function*() {
      const t = tempJournal("effect-follow")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      const journal = yield* NodeJournal.open(t.journal, Tick, { batchRecords: 10, fsync: "never" })
      const follower = yield* NodeJournal.batches(t.journal, { layout: Tick, follow: true, pollInterval: "5 millis" }).pipe(
        Stream.flatMap((b) => Stream.fromArray(b.records)),
        Stream.take(50),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      for (let i = 0; i < 5; i++) {
        yield* journal.append(range(i * 10, i * 10 + 10).map(tick))
        yield* Effect.sleep("10 millis")
      }
      const got = yield* Fiber.join(follower)
      assert.deepStrictEqual(got.map((r) => r.seq), range(0, 50))
    }))

  it.effect("errors are JournalErrors in the error channel, with their reason", () =>
    Effect.gen(function*() {
      const t = tempJournal("effect-errors")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      const missing = yield* Effect.exit(NodeJournal.info(t.journal))
      assert.isTrue(Exit.isFailure(missing))
      const reason = yield* NodeJournal.info(t.journal).pipe(
        Effect.catchReason("JournalError", "NotFound", (r) => Effect.succeed(r._tag), (r) => Effect.succeed(`other ${r._tag}`))
      )
      assert.strictEqual(reason, "NotFound")
      const read = yield* NodeJournal.records(t.journal).pipe(Stream.runCollect, Effect.flip)
      assert.strictEqual(read.reason._tag, "NotFound")
    }))
})
