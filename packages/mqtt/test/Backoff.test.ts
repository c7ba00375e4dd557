import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { MqttClient } from "@velox/mqtt"

describe("MqttClient.backoff", () => {
  it.effect("1 s doubling to 16 s, each delay jittered × 0.8–1.2 and never above 16 s; a new step function starts over", () =>
    Effect.gen(function*() {
      const schedule = MqttClient.backoff({ backoffInitialMs: 1_000, backoffMaxMs: 16_000 })
      const delays = (n: number) =>
        Effect.gen(function*() {
          const step = yield* Schedule.toStep(schedule)
          const out: Array<number> = []
          for (let i = 0; i < n; i++) out.push(Duration.toMillis((yield* step(i * 1_000, "lost"))[1]))
          return out
        })
      for (let run = 0; run < 50; run++) {
        const got = yield* delays(8)
        got.forEach((ms, k) => {
          const base = 1_000 * 2 ** k
          assert.isAtLeast(ms, Math.min(0.8 * base, 16_000), `delay ${k}: ${got.join(", ")}`)
          assert.isAtMost(ms, Math.min(1.2 * base, 16_000), `delay ${k}: ${got.join(", ")}`)
        })
        assert.strictEqual(got[7], 16_000, "far enough in, the cap is all that is left")
      }
    }))
})
