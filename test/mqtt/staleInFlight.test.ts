/**
 * The stale-epoch policy reaches the quotes in flight, not only those queued: when a lost connection
 * is replaced, the pump's batch that a full edge has not taken is of the old epoch too. A client with
 * no broker hands the feed its messages and its reconnect, so the moment is exact: the pipeline
 * paused and full, the pump offering the first quote of a batch, more quotes queued behind it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { MqttConfig, MqttFeed, QuotePayload } from "@velox/mqtt"
import { runCollecting, scriptedClient, waitFor } from "../fixtures/mqttFeed.ts"

const quote = (seq: number) => new TextEncoder().encode(QuotePayload.encodeJson({ symbol: "EURUSD", seq, bid: 1, ask: 1.0001 }))

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("MqttFeed: a replaced connection's quotes in flight", () => {
  for (const policy of ["drop", "deliver"] as const) {
    it.live(`staleEpoch: ${policy}: the pump's batch is ${policy === "drop" ? "dropped as StaleEpoch, but the quote already offered" : "delivered, every quote counted in staleDelivered"}`, () =>
      Effect.gen(function*() {
        const options = yield* MqttConfig.make({ url: "mqtt://127.0.0.1:1", topics: ["quotes/#"], staleEpoch: policy })
        const client = scriptedClient(options)
        yield* Effect.gen(function*() {
          const feed = yield* MqttFeed.MqttFeed
          const c = yield* runCollecting({ paused: true, ringCapacity: 256, edgeCapacity: 256 })
          // One turn of 2,000: more than the paused pipeline holds, a batch left in flight, the rest queued.
          for (const seq of range(1, 2000)) client.send("quotes/EURUSD", quote(seq))
          yield* waitFor(() => c.full() && feed.stats().inFlight > 0 && feed.stats().queued > 0)
          const before = feed.stats()
          const flying = before.inFlight
          assert.isAbove(flying, 1, JSON.stringify(before))
          assert.strictEqual(before.dispatched + flying + before.queued, 2000)

          client.reconnect()
          const after = feed.stats()
          assert.strictEqual(after.epoch, 2)
          if (policy === "drop") {
            assert.strictEqual(after.droppedByReason.StaleEpoch, before.queued + flying - 1)
            assert.deepStrictEqual([after.queued, after.inFlight], [0, 1])
          } else {
            assert.strictEqual(after.droppedByReason.StaleEpoch, 0)
            assert.deepStrictEqual([after.queued, after.inFlight], [before.queued, flying])
          }
          // Counted as they are delivered: none yet, the pipeline paused.
          assert.strictEqual(after.staleDelivered, 0)
          assert.isTrue(after.balanced, JSON.stringify(after))

          for (const seq of range(2001, 2100)) client.send("quotes/EURUSD", quote(seq))
          yield* c.resume
          yield* waitFor(() => {
            const s = feed.stats()
            return s.received === 2100 && s.queued === 0 && s.inFlight === 0 && c.quotes.length === s.dispatched
          })
          const old = policy === "drop" ? before.dispatched + 1 : 2000
          assert.deepStrictEqual(c.quotes.map((q) => q.seq), [...range(1, old), ...range(2001, 2100)])
          assert.deepStrictEqual(c.quotes.map((q) => q.epoch), [...range(1, old).map(() => 1), ...range(2001, 2100).map(() => 2)])
          const s = feed.stats()
          assert.strictEqual(s.staleDelivered, policy === "drop" ? 1 : before.queued + flying)
          assert.isTrue(s.balanced, JSON.stringify(s))
        }).pipe(Effect.scoped, Effect.provide(MqttFeed.layer().pipe(Layer.provide(client.layer))))
      }))
  }
})
