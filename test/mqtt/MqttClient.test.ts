/**
 * The client's timing rules against a real mosquitto, on a test clock: when credentials are refreshed
 * (`tokenRefreshBeforeMs`, or halfway to expiry if that is later) and when the reconnect backoff starts
 * over (a connection that held `backoffResetAfterMs`). The broker and the sockets run on real time; the
 * client's clock is a `TestClock` the test moves, so each moment is exact and nothing waits for one.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { Mosquitto, MqttClient, MqttConfig, MqttCredentials } from "@velox/mqtt"
import { waitFor } from "../fixtures/mqttFeed.ts"

/** The broker and the polling run on real time. */
const live = TestClock.withLive

/** A client built and started on the current (test) clock; the messages go nowhere. */
const startClient = (input: MqttConfig.Input, credentials: Layer.Layer<MqttCredentials.MqttCredentials> = MqttCredentials.layerNone) =>
  Effect.gen(function*() {
    const client = yield* MqttClient.make.pipe(Effect.provide(Layer.merge(MqttConfig.layer(input), credentials)), Effect.orDie)
    yield* client.start({ onConnect: () => {}, onMessage: () => {} })
    return client
  })

const assertBetween = (ms: number, atLeast: number, atMost: number, what: string) => {
  assert.isAtLeast(ms, atLeast, what)
  assert.isAtMost(ms, atMost, what)
}

describe("MqttClient's timing against mosquitto, on a test clock", () => {
  for (
    const { beforeMs, dueMs, rule } of [
      { beforeMs: 10_000, dueMs: 50_000, rule: "tokenRefreshBeforeMs before expiry, later than halfway" },
      { beforeMs: 40_000, dueMs: 30_000, rule: "halfway, later than tokenRefreshBeforeMs before expiry" }
    ]
  ) {
    it.live(`credentials that expire in 60 s, tokenRefreshBeforeMs ${beforeMs / 1000} s: refreshed at ${dueMs / 1000} s (${rule})`, () =>
      Effect.gen(function*() {
        const broker = yield* Mosquitto.start({ users: { feed: "token" } })
        yield* Effect.gen(function*() {
          // When the provider was asked, on the client's clock; each answer expires 60 s later.
          const asked: Array<number> = []
          const provider = Clock.currentTimeMillis.pipe(Effect.map((now) => {
            asked.push(now)
            return { username: "feed", password: Redacted.make("token"), expiresAtMs: now + 60_000 }
          }))
          const client = yield* startClient({ url: broker.url, tokenRefreshBeforeMs: beforeMs }, MqttCredentials.layer(provider))
          assert.strictEqual(yield* client.connected, 1)
          // Connected, then the refresh is scheduled.
          const scheduled = () => client.status().refreshInMs !== undefined
          yield* live(waitFor(scheduled))
          assert.deepStrictEqual([client.status().credentialsExpireInMs, client.status().refreshInMs], [60_000, dueMs])

          yield* TestClock.adjust(dueMs - 1)
          assert.deepStrictEqual(asked, [0], "not asked again before the refresh is due")
          yield* TestClock.adjust(1)
          yield* live(waitFor(() => client.status().connects === 2 && scheduled()))
          assert.deepStrictEqual(asked, [0, dueMs])
          const status = client.status()
          assert.deepStrictEqual([status.epoch, status.tokenRefreshes, status.refreshInMs], [2, 1, dueMs])
        }).pipe(Effect.scoped, Effect.provide(TestClock.layer()))
      }).pipe(Effect.scoped))
  }

  it.live("a connection that held backoffResetAfterMs starts the reconnect backoff over; one that held a millisecond less does not", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      yield* Effect.gen(function*() {
        const client = yield* startClient({ url: broker.url, backoffInitialMs: 1_000, backoffMaxMs: 16_000, backoffResetAfterMs: 5_000 })

        /** Holds the connection `heldMs` on the client's clock, then kills the broker: the delay the client chose for its next attempt. */
        const holdThenLose = (heldMs: number) =>
          Effect.gen(function*() {
            yield* TestClock.adjust(heldMs)
            yield* live(broker.kill)
            // The previous attempt's time has passed (the clock was moved past it): 0 until this loss sets the next.
            yield* live(waitFor(() => (client.status().nextAttemptInMs ?? 0) > 0))
            return client.status().nextAttemptInMs!
          })
        /** Starts the broker again and lets `delayMs` pass: the client reconnects. */
        const comeBack = (delayMs: number) =>
          Effect.gen(function*() {
            yield* live(broker.start)
            yield* TestClock.adjust(Math.ceil(delayMs))
            return yield* client.connected
          })

        assert.strictEqual(yield* client.connected, 1)
        const first = yield* holdThenLose(0)
        assertBetween(first, 800, 1_200, "the first delay: 1 s, jittered")
        assert.strictEqual(yield* comeBack(first), 2)

        const second = yield* holdThenLose(4_999)
        assertBetween(second, 1_600, 2_400, "held 4.999 s: the schedule goes on, 2 s jittered")
        assert.strictEqual(yield* comeBack(second), 3)

        // Without the reset this would be the third delay, 4 s jittered (3.2–4.8 s).
        const third = yield* holdThenLose(5_000)
        assertBetween(third, 800, 1_200, "held 5 s: the schedule starts over, 1 s jittered")
        assert.strictEqual(client.status().disconnects, 3)
      }).pipe(Effect.scoped, Effect.provide(TestClock.layer()))
    }).pipe(Effect.scoped))
})
