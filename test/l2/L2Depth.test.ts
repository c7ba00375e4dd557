import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Pipeline, type Stage } from "@velox/core"
import { CaptureSink } from "@velox/core/testing"
import { Bbo, L2BookStage, L2Depth, L2Feed, L2Update } from "@velox/market"
import { NodeStageHost } from "@velox/node"

/**
 * Depth on request: another thread asks a running L2 book stage for a symbol's top levels through a
 * mailbox, and gets the book as it stood between two batches.
 */

const { Add, Delete, SnapshotBegin, SnapshotEnd, SnapshotLevel } = L2Update.Op
const noEmitter = undefined as unknown as Stage.Emitter<typeof Bbo.Bbo.spec>

/** Runs `request` while driving the logics' timers (the stage's thread, here the same one) until it is answered. */
const answeredBy = <A, E>(logics: ReadonlyArray<ReturnType<typeof L2BookStage.make>>, request: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(request, { startImmediately: true })
    for (;;) {
      for (const logic of logics) logic.onTimer!(0, noEmitter)
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) return yield* exit
      yield* Effect.yieldNow
    }
  })

describe("L2Depth", () => {
  it.live("answers the top levels of a symbol from the stage's book, as the book's own depth says, with its state and next sequence number", () =>
    Effect.gen(function*() {
      const mailbox = L2Depth.make({ instances: 1, levels: 4 })
      const logic = L2BookStage.make({ symbols: 3, firstSeq: 1, depthMailbox: mailbox })
      const l2 = logic.l2
      const bids = [100, 98, 97, 95, 90]
      bids.forEach((p, i) => l2.apply(1, Add, 0, p, 10 + i, i + 1))
      l2.apply(1, Add, 1, 101, 7, 6)
      l2.apply(1, Add, 1, 1_000_000, 3, 7) // far from the touch
      l2.apply(1, Delete, 0, 98, 0, 8)
      const depth = yield* answeredBy([logic], L2Depth.request(mailbox, 1, 4))
      const own = logic.snapshot(1, 4)
      assert.deepStrictEqual(depth, { symbol: 1, state: "live", nextSeq: 9, bids: own.bids, asks: own.asks })
      assert.deepStrictEqual(depth.bids, [[100, 10], [97, 12], [95, 13], [90, 14]])
      assert.deepStrictEqual(depth.asks, [[101, 7], [1_000_000, 3]])

      // Fewer levels than held; and the book moves on between two requests.
      l2.apply(1, Add, 0, 99, 5, 9)
      const top = yield* answeredBy([logic], L2Depth.request(mailbox, 1, 1))
      assert.deepStrictEqual([top.bids, top.asks, top.nextSeq], [[[100, 10]], [[101, 7]], 10])
    }))

  it.live("reports a book waiting for its snapshot, resyncing mid-snapshot, then live from it", () =>
    Effect.gen(function*() {
      const mailbox = L2Depth.make({ instances: 1 })
      const logic = L2BookStage.make({ symbols: 1, depthMailbox: mailbox })
      assert.strictEqual((yield* answeredBy([logic], L2Depth.request(mailbox, 0, 5))).state, "waiting")
      logic.l2.apply(0, SnapshotBegin, 0, 0, 0, 41)
      logic.l2.apply(0, SnapshotLevel, 1, 205, 4, 41)
      const mid = yield* answeredBy([logic], L2Depth.request(mailbox, 0, 5))
      assert.strictEqual(mid.state, "resyncing")
      logic.l2.apply(0, SnapshotEnd, 0, 0, 0, 41)
      const live = yield* answeredBy([logic], L2Depth.request(mailbox, 0, 5))
      assert.deepStrictEqual(live, { symbol: 0, state: "live", nextSeq: 42, bids: [], asks: [[205, 4]] })
    }))

  it.live("in a partitioned stage, the instance the symbol's updates went to answers", () =>
    Effect.gen(function*() {
      const mailbox = L2Depth.make({ instances: 2, levels: 8 })
      const first = L2BookStage.make({ symbols: 4, firstSeq: 1, depthMailbox: mailbox }, { instance: 0, instances: 2 })
      const second = L2BookStage.make({ symbols: 4, firstSeq: 1, depthMailbox: mailbox }, { instance: 1, instances: 2 })
      first.l2.apply(2, Add, 0, 50, 1, 1)
      second.l2.apply(3, Add, 1, 70, 2, 1)
      const two = yield* answeredBy([first, second], L2Depth.request(mailbox, 2, 8))
      const three = yield* answeredBy([first, second], L2Depth.request(mailbox, 3, 8))
      assert.deepStrictEqual([two.bids, two.asks], [[[50, 1]], []])
      assert.deepStrictEqual([three.bids, three.asks], [[], [[70, 2]]])
    }))

  it.live("refuses an unknown symbol and a bad level count, and times out when no stage answers", () =>
    Effect.gen(function*() {
      const mailbox = L2Depth.make({ instances: 1, levels: 4 })
      const logic = L2BookStage.make({ symbols: 2, firstSeq: 1, depthMailbox: mailbox })
      const unknown = yield* Effect.flip(answeredBy([logic], L2Depth.request(mailbox, 2, 1)))
      assert.deepStrictEqual([unknown.reason, unknown.message], ["UnknownSymbol", "symbol 2 is not a symbol of the books"])
      const tooMany = yield* Effect.flip(L2Depth.request(mailbox, 0, 5))
      assert.deepStrictEqual([tooMany.reason, tooMany.message], ["InvalidRequest", "levels must be an integer in 1..4: levels=5"])
      const nobody = yield* Effect.flip(L2Depth.request(L2Depth.make({ instances: 1 }), 0, 1, { timeout: "20 millis" }))
      assert.strictEqual(nobody.reason, "Timeout")
      assert.include(nobody.message, "instance 0 of the L2 book stage did not answer within 20 ms")
      // The lock was given back: the next request goes through.
      assert.strictEqual((yield* answeredBy([logic], L2Depth.request(mailbox, 0, 1))).state, "live")
    }))

  it.live("from the main thread, while the stage runs partitioned over two workers: consistent books, concurrent requests served in turn", () =>
    Effect.gen(function*() {
      const SYMBOLS = 8
      const mailbox = L2Depth.make({ instances: 2, levels: 10 })
      const pipeline = Pipeline.from(L2Feed, { symbols: SYMBOLS, seed: 3, rate: 5_000, sessionStart: true })
        .partition(L2BookStage, { symbols: SYMBOLS, firstSeq: 1, depthMailbox: mailbox }, { by: "symbol", count: 2 })
        .to(CaptureSink.make(Bbo.Bbo), CaptureSink.allocate(Bbo.Bbo, 1 << 16))
      const handle = yield* Pipeline.run(pipeline)
      // Wait (a guard, not a timing assertion) until every symbol's book has levels on both sides.
      const books = yield* Effect.forEach(Array.from({ length: SYMBOLS }, (_, s) => s), (s) =>
        L2Depth.request(mailbox, s, 10).pipe(
          // Until the workers are up, nobody answers: ask again.
          Effect.retry({ while: (e) => e.reason === "Timeout" }),
          Effect.repeat({ until: (d) => d.bids.length >= 3 && d.asks.length >= 3 }),
          Effect.timeout("120 seconds")
        ), { concurrency: "unbounded" })
      for (const d of books) {
        assert.strictEqual(d.state, "live", JSON.stringify(d))
        assert.isAbove(d.nextSeq, 1)
        for (let i = 1; i < d.bids.length; i++) assert.isBelow(d.bids[i]![0], d.bids[i - 1]![0], "bids best first")
        for (let i = 1; i < d.asks.length; i++) assert.isAbove(d.asks[i]![0], d.asks[i - 1]![0], "asks best first")
        for (const [, size] of [...d.bids, ...d.asks]) assert.isAbove(size, 0)
        assert.isBelow(d.bids[0]![0], d.asks[0]![0], "the flow never crosses its book")
      }
      yield* handle.stop
      const exit = yield* Effect.exit(handle.done)
      assert.isTrue(Exit.isSuccess(exit))
    }).pipe(Effect.scoped, Effect.provide(NodeStageHost.layer)), { timeout: 180_000 })
})
