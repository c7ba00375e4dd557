/**
 * The MQTT feed's drills, each against its own mosquitto on a free port: the broker killed and
 * restarted mid-stream, frozen (SIGSTOP) past the feed gap, the password file changed underneath
 * (token expiry), a malformed flood, and an overflow. Nothing here is timed: every step waits for a
 * condition, and the test's timeout is the only clock.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Logger, Redacted } from "effect"
import { Mosquitto, MqttCredentials, MqttFeed, MqttPublisher, QuotePayload } from "@velox/mqtt"
import { NodePipelineServer } from "@velox/node"
import { type Collected, feedLayer, runCollecting, waitFor } from "../fixtures/mqttFeed.ts"

const json = (seq: number, symbol = "EURUSD") => QuotePayload.encodeJson({ symbol, seq, bid: 1 + seq / 1e6, ask: 1.0001 + seq / 1e6 })

/** Publishes `seq` from..to at QoS 1 (every one reaches a QoS 1 subscriber) and waits until the broker has them. */
const publishRange = (publisher: MqttPublisher.Publisher, from: number, to: number, topic = "quotes/EURUSD") =>
  Effect.gen(function*() {
    for (let seq = from; seq <= to; seq++) if (!publisher.publishUnsafe(topic, json(seq), 1)) assert.fail(`publisher not connected at seq ${seq}`)
    yield* publisher.flush
  })

/** Publishes one quote at a time from `seq` on (QoS 0) until `condition` holds: a feed kept alive while a test waits. */
const publishUntil = (publisher: MqttPublisher.Publisher, condition: () => boolean, seq: number, topic = "quotes/EURUSD") =>
  Effect.gen(function*() {
    while (!condition()) {
      publisher.publishUnsafe(topic, json(seq++), 0)
      yield* Effect.sleep("20 millis")
    }
  })

const epochsInOrder = (c: Collected) => {
  const epochs = c.quotes.map((q) => q.epoch)
  for (let i = 1; i < epochs.length; i++) if (epochs[i]! < epochs[i - 1]!) assert.fail(`epoch ${epochs[i]} after epoch ${epochs[i - 1]} at record ${i}`)
  return epochs
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe("MQTT drills against mosquitto", () => {
  for (const policy of ["drop", "deliver"] as const) {
    it.live(`broker killed and restarted mid-stream (staleEpoch: ${policy}): reconnect, epoch + 1, the queued quotes of epoch 1 ${policy === "drop" ? "queued or in flight dropped as StaleEpoch (but the one offered to the full edge)" : "delivered marked by their epoch"}, the gap counted`, () =>
      Effect.gen(function*() {
        const broker = yield* Mosquitto.start()
        const layer = feedLayer({ url: broker.url, topics: ["quotes/#"], qos: 1, feedGapMs: 300, staleEpoch: policy })
        yield* Effect.gen(function*() {
          const feed = yield* MqttFeed.MqttFeed
          const c = yield* runCollecting({ paused: true, ringCapacity: 256, edgeCapacity: 256 })
          assert.strictEqual(yield* feed.client.connected, 1)
          const publisher = yield* MqttPublisher.make({ url: broker.url, reconnectMs: 50 })
          const M = 3000
          yield* publishRange(publisher, 1, M)
          yield* waitFor(() => feed.stats().received === M && c.full())

          yield* broker.kill
          yield* waitFor(() => feed.client.status().state === "reconnecting" && feed.health().feed.stale)
          const down = feed.extension.readiness[0]!()
          assert.match(down ?? "", /mqtt reconnecting/)
          assert.match(down ?? "", /feed dead: no quote for/)
          assert.include(feed.extension.metrics(), "velox_mqtt_connected 0")
          // Nothing arrives and the paused pipeline takes nothing: what is queued now is what the reconnect finds.
          const before = feed.stats()
          const held = before.queued
          assert.isAbove(held, 0)
          // The pump holds a batch the full edge has not taken, offering its first quote.
          const flying = before.inFlight
          assert.isAbove(flying, 0)
          assert.strictEqual(before.dispatched + flying + held, M)

          yield* broker.start
          assert.strictEqual(yield* feed.client.connected, 2)
          const after = feed.stats()
          if (policy === "drop") {
            // Queued and in flight alike, but the quote already being offered.
            assert.strictEqual(after.droppedByReason.StaleEpoch, held + flying - 1)
            assert.deepStrictEqual([after.queued, after.inFlight], [0, 1])
          } else {
            assert.strictEqual(after.droppedByReason.StaleEpoch, 0)
            assert.deepStrictEqual([after.queued, after.inFlight], [held, flying])
          }
          assert.isTrue(after.balanced, JSON.stringify(after))
          yield* waitFor(() => publisher.connected())
          yield* publishRange(publisher, M + 1, M + 100)
          yield* waitFor(() => feed.stats().received === M + 100)
          yield* c.resume
          yield* waitFor(() => {
            const s = feed.stats()
            return s.queued === 0 && s.inFlight === 0 && c.quotes.length === s.dispatched
          })

          const epochs = epochsInOrder(c)
          const seqs = c.quotes.map((q) => q.seq)
          const delivered1 = policy === "drop" ? before.dispatched + 1 : M
          assert.strictEqual(epochs.filter((e) => e === 1).length, delivered1, "epoch 1: what the pipeline took before the reconnect, the quote being offered (and, delivering, the rest)")
          assert.deepStrictEqual(seqs, [...range(1, delivered1), ...range(M + 1, M + 100)])
          const s = feed.stats()
          assert.strictEqual(s.staleDelivered, policy === "deliver" ? held + flying : 1)
          assert.strictEqual(s.droppedByReason.DropOldest, 0)
          assert.isTrue(s.balanced, JSON.stringify(s))
          const status = feed.client.status()
          assert.deepStrictEqual([status.epoch, status.connects, status.disconnects, status.outages], [2, 2, 1, 1])
          assert.isAbove(status.lastOutageMs ?? 0, 0)
          assert.isAtLeast(feed.health().feed.feedGaps, 1, "the silence while the broker was down counts as a feed gap")
          // Ready again once quotes flow: the silence since the last one may have outlasted the gap again.
          yield* publishUntil(publisher, () => feed.health().ready, M + 101)
        }).pipe(Effect.scoped, Effect.provide(layer))
      }).pipe(Effect.scoped))
  }

  it.live("more reconnects a minute than reconnectWarningPerMinute: a warning in health; the counts in /metrics", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        assert.strictEqual(yield* feed.client.connected, 1)
        for (const epoch of [2, 3]) {
          yield* broker.kill
          yield* waitFor(() => feed.client.status().state === "reconnecting")
          yield* broker.start
          yield* waitFor(() => feed.client.status().connected && feed.client.status().epoch === epoch)
        }
        const h = feed.health()
        assert.deepStrictEqual(h.warnings, ["2 reconnects in the last minute (more than 1)"])
        assert.strictEqual(h.connection.reconnectsLastMinute, 2)
        const metrics = feed.extension.metrics()
        assert.include(metrics, "velox_mqtt_reconnects_last_minute 2")
        assert.include(metrics, "velox_mqtt_disconnects_total 2")
        assert.include(metrics, "velox_mqtt_epoch 3")
      }).pipe(Effect.scoped, Effect.provide(feedLayer({ url: broker.url, reconnectWarningPerMinute: 1 })))
    }).pipe(Effect.scoped))

  it.live("broker frozen (SIGSTOP) past the feed gap: the feed goes stale, /ready says 503 and why; after SIGCONT it recovers", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const layer = feedLayer({ url: broker.url, topics: ["quotes/#"], feedGapMs: 400 })
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const c = yield* runCollecting()
        const server = yield* NodePipelineServer.make(c.handle, feed.extension).pipe(Effect.provide(NodePipelineServer.layerConfig({ port: 0 })))
        const publisher = yield* MqttPublisher.make({ url: broker.url })
        const simulation = yield* Effect.forkScoped(MqttPublisher.simulate(publisher, { symbols: 4, rate: 200, format: "binary" }))
        const ready = () => Effect.promise(() => fetch(`${server.url}/ready`).then(async (r) => ({ status: r.status, body: await r.json() as { reasons: Array<string> } })))
        const waitReady = (status: number) =>
          Effect.gen(function*() {
            for (;;) {
              const r = yield* ready()
              if (r.status === status) return r
              yield* Effect.sleep("20 millis")
            }
          })
        yield* waitReady(200)

        yield* broker.freeze
        const stale = yield* waitReady(503)
        assert.isTrue(stale.body.reasons.some((r) => /feed dead: no quote for .* \(threshold 0\.4 s\)/.test(r)), JSON.stringify(stale.body))
        const metrics = yield* Effect.promise(() => fetch(`${server.url}/metrics`).then((r) => r.text()))
        assert.include(metrics, "velox_mqtt_feed_stale 1")
        const receivedWhileFrozen = feed.stats().received

        yield* broker.thaw
        yield* waitReady(200)
        yield* waitFor(() => feed.stats().received > receivedWhileFrozen)
        assert.isAtLeast(feed.health().feed.feedGaps, 1)
        assert.strictEqual(feed.client.status().epoch, 1, "the connection held through the freeze")
        yield* Fiber.interrupt(simulation)
        assert.isAbove(c.quotes.length, 0)
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("token expiry: the password file changes underneath (SIGHUP); the refresh reconnects with the new token, and nothing the dispatcher holds is lost", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start({ users: { feed: "token-1", publisher: "publisher-secret" } })
      let asked = 0
      const provider = Effect.gen(function*() {
        asked++
        if (asked === 1) return { username: "feed", password: Redacted.make("token-1"), expiresAtMs: Date.now() + 3_000 }
        // The token rotates: the broker stops taking the old one (and drops the connection using it).
        yield* broker.setPassword("feed", "token-2")
        return { username: "feed", password: Redacted.make("token-2"), expiresAtMs: Date.now() + 3_600_000 }
      })
      const layer = feedLayer(
        { url: broker.url, topics: ["quotes/#"], qos: 1, cleanSession: false, clientId: "drill-token", tokenRefreshBeforeMs: 2_000 },
        MqttCredentials.layer(provider)
      )
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const c = yield* runCollecting({ paused: true, ringCapacity: 64, edgeCapacity: 64 })
        assert.strictEqual(yield* feed.client.connected, 1)
        assert.isAbove(feed.client.status().refreshInMs ?? 0, 0)
        const publisher = yield* MqttPublisher.make({ url: broker.url, username: "publisher", password: Redacted.make("publisher-secret") })
        // Publish across the refresh, 100 at a time, until it has happened and a last round after.
        let seq = 0
        while (feed.client.status().tokenRefreshes === 0 || feed.client.status().state !== "connected") {
          yield* publishRange(publisher, seq + 1, seq + 100)
          seq += 100
          yield* Effect.sleep("50 millis")
        }
        yield* publishRange(publisher, seq + 1, seq + 100)
        seq += 100
        yield* c.resume
        yield* waitFor(() => new Set(c.quotes.map((q) => q.seq)).size === seq)

        const status = feed.client.status()
        assert.deepStrictEqual([status.epoch, status.tokenRefreshes, status.authFailures], [2, 1, 0])
        const s = feed.stats()
        assert.strictEqual(s.dropped, 0, JSON.stringify(s.droppedByReason))
        assert.isAbove(s.carriedOver, 0, "the dispatcher held quotes across the refresh")
        assert.deepStrictEqual([...new Set(c.quotes.map((q) => q.seq))].sort((a, b) => a - b), range(1, seq))
        assert.isTrue(s.balanced)
        assert.strictEqual(asked, 2)
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("a refused token is a typed error: counted, fresh credentials asked for, retried; refused too often, the client gives up with GaveUp; no secret is ever printed", () => {
    const logs: Array<string> = []
    const capture = Logger.layer([Logger.make(({ message }) => void logs.push(JSON.stringify(message)))])
    return Effect.gen(function*() {
      const broker = yield* Mosquitto.start({ users: { feed: "right-token" } })
      let asked = 0
      const onceWrong = Effect.sync(() => ({ username: "feed", password: Redacted.make(++asked === 1 ? "wrong-token-1" : "right-token") }))
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        assert.strictEqual(yield* feed.client.connected, 1)
        const status = feed.client.status()
        assert.deepStrictEqual([status.authFailures, status.failedAttempts, asked], [1, 1, 2])
        assert.match(status.lastError ?? "", /^AuthRefused: Connection refused: Not authorized/)
      }).pipe(Effect.scoped, Effect.provide(feedLayer({ url: broker.url }, MqttCredentials.layer(onceWrong))))

      const alwaysWrong = Effect.succeed({ username: "feed", password: Redacted.make("wrong-token-2") })
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const failure = yield* Effect.flip(feed.client.failure)
        assert.strictEqual(failure._tag, "MqttError")
        assert.strictEqual(failure.reason, "GaveUp")
        assert.match(failure.message, /gave up after 3 refusals in a row; the last: AuthRefused/)
        assert.strictEqual(feed.client.status().state, "failed")
        assert.match(feed.extension.readiness[0]!() ?? "", /mqtt failed/)
        const printed = [JSON.stringify(feed.client.status()), JSON.stringify(feed.extension.stats()), feed.extension.metrics(), failure.message, ...logs].join("\n")
        for (const secret of ["wrong-token-1", "wrong-token-2", "right-token"]) assert.notInclude(printed, secret)
        assert.isAbove(logs.length, 0)
      }).pipe(Effect.scoped, Effect.provide(feedLayer({ url: broker.url, maxAuthFailures: 3 }, MqttCredentials.layer(alwaysWrong))))
    }).pipe(Effect.scoped, Effect.provide(capture))
  })

  it.live("malformed flood: 10,000 bad payloads of every kind dead-lettered by reason with their bytes, the good ones still flowing, nothing lost", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const good = QuotePayload.encodeBinary({ symbol: "AAPL", seq: 1, bid: 1, ask: 2 })
      const version9 = good.slice()
      version9[1] = 9
      const bad: ReadonlyArray<readonly [MqttFeed.DeadLetterReason, string | Uint8Array]> = [
        ["NotJson", "{not json"],
        ["NotAnObject", "[1,2,3]"],
        ["MissingField", `{"symbol":"X","ask":1}`],
        ["BadField", `{"symbol":"X","bid":"1","ask":2}`],
        ["BadLength", good.subarray(0, 20)],
        ["BadVersion", version9],
        ["BadSymbol", `{"symbol":"has space","bid":1,"ask":2}`]
      ]
      const layer = feedLayer({ url: broker.url, topics: ["quotes/#"], qos: 1, deadLetterBuffer: 100, sampleBytes: 16 })
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const c = yield* runCollecting()
        yield* feed.client.connected
        const publisher = yield* MqttPublisher.make({ url: broker.url })
        const expected: Record<string, number> = {}
        let goodSeq = 0
        for (let i = 0; i < 11_000; i++) {
          if (i % 11 === 10) {
            publisher.publishUnsafe("quotes/AAPL", json(++goodSeq, "AAPL"), 1)
            continue
          }
          const [reason, payload] = bad[i % bad.length]!
          expected[reason] = (expected[reason] ?? 0) + 1
          publisher.publishUnsafe("quotes/junk", payload, 1)
        }
        yield* publisher.flush
        yield* waitFor(() => feed.stats().received === 11_000 && c.quotes.length === 1_000)

        const s = feed.stats()
        assert.strictEqual(s.deadLettered, 10_000)
        for (const [reason] of bad) assert.strictEqual(s.deadLetteredByReason[reason], expected[reason], reason)
        assert.deepStrictEqual(c.quotes.map((q) => q.seq), range(1, 1_000))
        assert.isTrue(s.balanced)
        const letters = feed.deadLetters()
        assert.strictEqual(letters.length, 100, "samples are bounded; counts are exact")
        const sample = letters.find((l) => l.reason === "BadVersion")!
        assert.strictEqual(sample.sampleHex, Buffer.from(version9.subarray(0, 16)).toString("hex"))
        assert.strictEqual(sample.bytes, version9.length)
        assert.strictEqual(sample.topic, "quotes/junk")
        assert.match(letters.find((l) => l.reason === "NotJson")!.sampleText, /^\{not json$/)
        assert.include(feed.extension.metrics(), `velox_mqtt_dead_letters_total{reason="BadVersion"} ${expected["BadVersion"]}`)
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("a custom decoder that throws is dead-lettered as DecoderThrew (user code), one that returns undefined skips; the feed carries on", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const decode: MqttFeed.Decoder = (topic, payload) => {
        if (topic.endsWith("/boom")) throw new Error("the decoder fell over")
        if (topic.endsWith("/skip")) return undefined
        const [symbol, bid, ask, seq] = new TextDecoder().decode(payload).split(",")
        return { symbol: symbol!, bid: Number(bid), ask: Number(ask), seq: Number(seq) }
      }
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const c = yield* runCollecting()
        yield* feed.client.connected
        const publisher = yield* MqttPublisher.make({ url: broker.url })
        for (let seq = 1; seq <= 300; seq++) {
          const topic = seq % 3 === 0 ? "csv/boom" : seq % 3 === 1 ? "csv/skip" : "csv/ok"
          publisher.publishUnsafe(topic, `EURUSD,1.1,1.2,${seq}`, 1)
        }
        yield* publisher.flush
        yield* waitFor(() => feed.stats().received === 300 && c.quotes.length === 100)
        const s = feed.stats()
        assert.deepStrictEqual([s.deadLetteredByReason.DecoderThrew, s.droppedByReason.Skipped, s.decoded], [100, 100, 100])
        assert.strictEqual(feed.deadLetters()[0]!.detail, "the decoder fell over")
        assert.deepStrictEqual(c.quotes.map((q) => q.seq), range(1, 100).map((i) => 3 * i - 1))
        assert.isTrue(s.balanced)
      }).pipe(Effect.scoped, Effect.provide(feedLayer({ url: broker.url, topics: ["csv/#"], qos: 1 }, MqttCredentials.layerNone, { decode })))
    }).pipe(Effect.scoped))

  it.live("persistent session (clean: false, QoS 1): what was published while the feed was away arrives when it comes back, on its first connection, in order", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const N = 20_000
      // The broker answers the SUBSCRIBE after the backlog: messages still arriving keep the client waiting for its SUBACK.
      const input = { url: broker.url, topics: ["quotes/#"], qos: 1 as const, cleanSession: false, clientId: "drill-persistent", connectTimeoutMs: 1_000 }
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        assert.strictEqual(yield* feed.client.connected, 1)
      }).pipe(Effect.scoped, Effect.provide(feedLayer(input)))
      const publisher = yield* MqttPublisher.make({ url: broker.url })
      yield* publishRange(publisher, 1, N)

      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const c = yield* runCollecting()
        yield* waitFor(() => c.quotes.length === N)
        assert.deepStrictEqual(c.quotes.map((q) => q.seq), range(1, N))
        const status = feed.client.status()
        assert.deepStrictEqual([status.epoch, status.connects, status.failedAttempts], [1, 1, 0], status.lastError)
        assert.isTrue(feed.stats().balanced)
      }).pipe(Effect.scoped, Effect.provide(feedLayer(input)))
    }).pipe(Effect.scoped))

  it.live("overflow: into a paused pipeline, the dispatcher drops exactly what does not fit, the oldest, to the message", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const N = 20_000
      const capacity = 1_000
      yield* Effect.gen(function*() {
        const feed = yield* MqttFeed.MqttFeed
        const c = yield* runCollecting({ paused: true, ringCapacity: 256, edgeCapacity: 256 })
        yield* feed.client.connected
        const publisher = yield* MqttPublisher.make({ url: broker.url })
        yield* publishRange(publisher, 1, N)
        yield* waitFor(() => feed.stats().received === N && c.full())
        const s = feed.stats()
        // Held downstream: the source edge's queue and the ring into the sink, both full, and the pump's batch.
        const rings = c.handle.stats().rings
        const downstream = rings.reduce((n, r) => n + r.fill, 0)
        assert.strictEqual(s.dispatched, downstream, JSON.stringify(rings))
        assert.strictEqual(s.queued, capacity)
        assert.strictEqual(s.droppedByReason.DropOldest, N - capacity - s.dispatched - s.inFlight)
        const kept = s.dispatched + s.inFlight

        yield* c.resume
        yield* waitFor(() => c.quotes.length === N - s.droppedByReason.DropOldest)
        const seqs = c.quotes.map((q) => q.seq)
        // What had left the dispatcher comes first, in order, then the newest `capacity`, none of them lost.
        // Which ones had left depends on when the pump took them: while messages poured in, the dispatcher
        // may have dropped some between two of its takes (the oldest it held then), so they are not
        // necessarily 1..kept.
        assert.deepStrictEqual(seqs.slice(kept), range(N - capacity + 1, N))
        assert.strictEqual(seqs.length, kept + capacity)
        for (let i = 1; i < seqs.length; i++) if (!(seqs[i]! > seqs[i - 1]!)) assert.fail(`seq ${seqs[i]} after ${seqs[i - 1]}`)
        assert.isTrue(feed.stats().balanced)
        assert.include(feed.extension.metrics(), `velox_mqtt_dropped_total{reason="DropOldest"} ${N - capacity - kept}`)
      }).pipe(Effect.scoped, Effect.provide(feedLayer({ url: broker.url, topics: ["quotes/#"], qos: 1, queueCapacity: capacity })))
    }).pipe(Effect.scoped))
})

