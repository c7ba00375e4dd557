import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { MqttConfig } from "@velox/mqtt"

const fromEnv = (env: Record<string, unknown>) => ConfigProvider.layer(ConfigProvider.fromUnknown({ VELOX: { MQTT: env } }))

describe("MqttConfig.layerConfigWith", () => {
  it.effect("the configured options with the given ones on top; an undefined one leaves the configured value", () =>
    Effect.gen(function*() {
      const options = yield* MqttConfig.MqttConfig.pipe(
        Effect.provide(MqttConfig.layerConfigWith({ url: undefined, topics: ["fx/+/quotes"] }).pipe(Layer.provide(fromEnv({ URL: "mqtt://broker:1884", QOS: 1, TOPICS: "a/#" }))))
      )
      assert.deepStrictEqual([options.url, options.qos, options.topics], ["mqtt://broker:1884", 1, ["fx/+/quotes"]])
      assert.strictEqual(options.queueCapacity, 100_000)
    }))

  it.effect("a given option is validated like any other: a bad one fails naming it", () =>
    Effect.gen(function*() {
      const error = yield* MqttConfig.MqttConfig.pipe(
        Effect.provide(MqttConfig.layerConfigWith({ url: "http://broker" }).pipe(Layer.provide(fromEnv({})))),
        Effect.flip
      )
      assert.strictEqual(error._tag, "MqttConfigError")
      assert.match(error.message, /^url must use one of mqtt, mqtts, tcp, ssl, ws, wss, got http/)
    }))
})
