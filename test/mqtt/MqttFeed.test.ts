import { assert, describe, it } from "@effect/vitest"
import createDebug from "debug"
import { Effect } from "effect"
import { Symbols } from "@velox/market"
import { Mosquitto, MqttFeed, MqttPublisher, QuotePayload } from "@velox/mqtt"
import { feedLayer, runCollecting, waitFor } from "../fixtures/mqttFeed.ts"

describe("MqttFeed against mosquitto", () => {
  it.live("JSON and binary quotes on wildcard topics arrive as Quote records of epoch 1, in order, every message accounted for", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const layer = feedLayer({ url: broker.url, topics: ["quotes/+/fx", "eq/#"], qos: 1 })
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const collected = yield* runCollecting()
        yield* feed.client.connected
        const publisher = yield* MqttPublisher.make({ url: broker.url })
        for (let seq = 1; seq <= 200; seq++) {
          const q = { symbol: seq % 2 === 0 ? "EURUSD" : "AAPL", seq, bid: 100 + seq, ask: 101 + seq }
          if (seq % 2 === 0) yield* publisher.publish("quotes/x/fx", QuotePayload.encodeJson(q), 1)
          else yield* publisher.publish("eq/us/AAPL", QuotePayload.encodeBinary(q), 1)
        }
        yield* publisher.publish("quotes/x/other", QuotePayload.encodeJson({ symbol: "NOPE", bid: 1, ask: 2 }), 1)
        yield* waitFor(() => collected.quotes.length === 200)
        assert.deepStrictEqual(collected.quotes.map((q) => q.seq), Array.from({ length: 200 }, (_, i) => i + 1))
        assert.isTrue(collected.quotes.every((q) => q.epoch === 1))
        const eurusd = Symbols.idOf(feed.symbols, "EURUSD")
        assert.strictEqual(collected.quotes[1]!.symbol, eurusd)
        assert.strictEqual(Symbols.idOf(feed.symbols, "NOPE"), undefined, "a topic outside the filters never arrives")
        const stats = feed.stats()
        assert.deepStrictEqual([stats.received, stats.decoded, stats.dispatched, stats.dropped, stats.deadLettered], [200, 200, 200, 0, 0])
        assert.isTrue(stats.balanced)
        assert.isTrue(feed.health().ready, feed.health().reasons.join("; "))
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("mqtt.js's own trace still shows through the feed's client once `mqttjs:client` is enabled (DEBUG=mqttjs*)", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const lines: Array<string> = []
      const before = { log: createDebug.log, namespaces: createDebug.disable() }
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          createDebug.log = before.log
          createDebug.enable(before.namespaces)
        })
      )
      createDebug.enable("mqttjs:client")
      createDebug.log = (...args: Array<unknown>) => {
        lines.push(args.join(" "))
      }
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        yield* feed.client.connected
        const publisher = yield* MqttPublisher.make({ url: broker.url })
        yield* publisher.publish("quotes/x/fx", QuotePayload.encodeJson({ symbol: "EURUSD", seq: 1, bid: 1, ask: 2 }), 1)
        yield* waitFor(() => feed.stats().received === 1)
      }).pipe(Effect.scoped, Effect.provide(feedLayer({ url: broker.url, topics: ["quotes/#"], qos: 1 })))
      // Only the feed's client receives a PUBLISH (the publisher's gets a PUBACK).
      assert.isTrue(lines.some((line) => line.includes("mqttjs:client") && line.includes("handlePublish")), lines.slice(0, 5).join("\n"))
    }).pipe(Effect.scoped))
})
