import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { FeedStatus } from "@velox/market"
import { MqttConfig, MqttFeed, MqttPublisher, QuotePayload } from "@velox/mqtt"
import { scriptedClient } from "../fixtures/mqttFeed.ts"

describe("MqttFeed's turn", () => {
  it.effect("a long turn is decoded 512 messages at a time, before it ends; the rest at its end, every count exact", () =>
    Effect.gen(function*() {
      const options = yield* MqttConfig.make({ url: "mqtt://127.0.0.1:1", topics: ["quotes/#"] })
      const client = scriptedClient(options)
      const feed = yield* MqttFeed.make().pipe(Effect.provide(client.layer))
      const next = MqttPublisher.quotes({ symbols: 4 })
      // One synchronous run of 1,300 messages: one turn of the event loop, as a busy socket's reads give.
      for (let i = 0; i < 1300; i++) {
        const q = next(1e18 + i)
        client.send(`quotes/${q.symbol}`, new TextEncoder().encode(QuotePayload.encodeJson(q)))
      }
      // Still inside the turn: two batches of 512 already decoded (feed health saw them), 276 kept.
      expect(FeedStatus.read(feed.status).quotes).toBe(1024)
      yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
      expect(FeedStatus.read(feed.status).quotes).toBe(1300)
      const s = feed.stats()
      expect([s.received, s.decoded, s.queued, s.dropped, s.deadLettered, s.balanced, s.epoch]).toEqual([1300, 1300, 1300, 0, 0, true, 1])
    }).pipe(Effect.scoped))
})
