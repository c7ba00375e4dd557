import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { MqttConfig } from "@velox/mqtt"

const fromEnv = (env: Record<string, unknown>) => ConfigProvider.layer(ConfigProvider.fromUnknown({ VELOX: { MQTT: env } }))

/** Input as it may come from JavaScript or a parsed file: values (and names) the types would refuse. */
const untyped = (input: Record<string, unknown>) => input as MqttConfig.Input

describe("MqttConfig.make", () => {
  /** Each rule the options keep: an input that breaks it, the option the error names, and its message. */
  const refused: ReadonlyArray<readonly [rule: string, input: MqttConfig.Input, option: string, message: RegExp]> = [
    ["a URL with a user name and password in it", { url: "mqtt://feed:s3cret@broker:1883" }, "url", /^url must not hold credentials \(they would be printed with it\)/],
    ["a URL with only a user name in it", { url: "mqtt://feed@broker:1883" }, "url", /^url must not hold credentials/],
    ["not a URL", { url: "127.0.0.1:1883" }, "url", /^url must be a URL such as mqtt:\/\/127\.0\.0\.1:1883, got "127\.0\.0\.1:1883"/],
    ["a protocol mqtt.js does not speak", { url: "http://broker" }, "url", /^url must use one of mqtt, mqtts, tcp, ssl, ws, wss, got http/],
    ["a URL without a host", { url: "mqtt://" }, "url", /^url must name a host, got "mqtt:\/\/"/],
    ["\"#\" before the last level", { topics: ["quotes/#/EURUSD"] }, "topics", /^topics "#" must be the whole last level: "quotes\/#\/EURUSD"/],
    ["\"#\" inside a level", { topics: ["quotes/EUR#"] }, "topics", /^topics "#" must be the whole last level: "quotes\/EUR#"/],
    ["\"+\" inside a level", { topics: ["quotes/EUR+/bid"] }, "topics", /^topics "\+" must be a whole level: "quotes\/EUR\+\/bid"/],
    ["a bad filter after good ones", { topics: ["quotes/#", "fx/+/quotes", "fx/+x"] }, "topics", /^topics "\+" must be a whole level: "fx\/\+x"/],
    ["an empty topic filter", { topics: [""] }, "topics", /^topics a topic filter is 1\.\.65535 bytes, got 0/],
    ["a topic filter with NUL", { topics: ["quotes/\u0000"] }, "topics", /^topics a topic filter may not hold NUL/],
    ["no topic filter", { topics: [] }, "topics", /^topics needs at least one topic filter/],
    ["an empty client id", { clientId: "" }, "clientId", /^clientId a client id is 1\.\.65535 bytes, got 0/],
    ["QoS 2", untyped({ qos: 2 }), "qos", /^qos Expected 0 \| 1$/],
    ["protocol version 3", untyped({ protocolVersion: 3 }), "protocolVersion", /^protocolVersion Expected 4 \| 5$/],
    ["a keep-alive above 65535 s", { keepaliveSec: 65_536 }, "keepaliveSec", /^keepaliveSec must be an integer in 0\.\.65535, got 65536/],
    ["a negative session expiry", { sessionExpirySec: -1 }, "sessionExpirySec", /^sessionExpirySec must be an integer in 0\.\.4294967295, got -1/],
    ["a connect timeout of 0", { connectTimeoutMs: 0 }, "connectTimeoutMs", /^connectTimeoutMs must be an integer in 1\.\.600000, got 0/],
    ["a fractional backoff", { backoffInitialMs: 1.5 }, "backoffInitialMs", /^backoffInitialMs must be an integer in 1\.\.3600000, got 1\.5/],
    ["a queue above 2^24", { queueCapacity: 2 ** 24 + 1 }, "queueCapacity", /^queueCapacity must be an integer in 1\.\.16777216, got 16777217/],
    ["no refusal allowed before giving up", { maxAuthFailures: 0 }, "maxAuthFailures", /^maxAuthFailures must be an integer in 1\.\.1000000, got 0/],
    ["a stale-epoch policy it does not know", untyped({ staleEpoch: "keep" }), "staleEpoch", /^staleEpoch Expected "drop" \| "deliver"$/],
    ["backoffMaxMs below backoffInitialMs", { backoffInitialMs: 2_000, backoffMaxMs: 1_000 }, "backoffMaxMs", /^backoffMaxMs \(1000\) must be ≥ backoffInitialMs \(2000\)$/],
    ["backoffMaxMs below the default backoffInitialMs", { backoffMaxMs: 999 }, "backoffMaxMs", /^backoffMaxMs \(999\) must be ≥ backoffInitialMs \(1000\)$/],
    ["a persistent session without a client id", { cleanSession: false }, "clientId", /^clientId must be given for a persistent session \(cleanSession: false\): a random one is never resumed$/],
    ["an option there is not", untyped({ keepAlive: 30 }), "keepAlive", /^unknown option keepAlive \(options: url, clientId, topics, /]
  ]
  for (const [rule, input, option, message] of refused) {
    it.effect(`refuses ${rule}: MqttConfigError naming ${option}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(MqttConfig.make(input))
        assert.strictEqual(error._tag, "MqttConfigError")
        assert.strictEqual(error.option, option)
        assert.match(error.message, message)
        // The URL rule is there so that a secret is never printed: nor is it by the refusal.
        assert.notInclude(error.message, "s3cret")
      }))
  }

  it.effect("takes each rule's edge: the bounds themselves, wildcards as whole levels, backoffMaxMs equal to backoffInitialMs", () =>
    Effect.gen(function*() {
      const options = yield* MqttConfig.make({
        url: "wss://broker.example:8884/mqtt",
        topics: ["#", "+", "+/+/#", "quotes/+/bid", "/"],
        keepaliveSec: 65_535,
        sessionExpirySec: 0,
        connectTimeoutMs: 1,
        backoffInitialMs: 3_600_000,
        backoffMaxMs: 3_600_000,
        backoffResetAfterMs: 0,
        tokenRefreshBeforeMs: 0,
        queueCapacity: 2 ** 24,
        maxAuthFailures: 1
      })
      assert.deepStrictEqual(options.topics, ["#", "+", "+/+/#", "quotes/+/bid", "/"])
      assert.deepStrictEqual([options.keepaliveSec, options.backoffInitialMs, options.backoffMaxMs, options.queueCapacity], [65_535, 3_600_000, 3_600_000, 2 ** 24])
    }))
})

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

describe("MqttConfig.layerConfig", () => {
  for (
    const [rule, env, message] of [
      ["a topic filter in TOPICS with \"#\" before the last level", { TOPICS: "quotes/#,fx/#/bid" }, /^SchemaError\("#" must be the whole last level: "fx\/#\/bid"\n\s+at \["VELOX"\]\["MQTT"\]\["TOPICS"\]\[1\]/],
      ["credentials in URL", { URL: "mqtt://feed:s3cret@broker:1883" }, /^SchemaError\(must not hold credentials .*\n\s+at \["VELOX"\]\["MQTT"\]\["URL"\]/],
      ["KEEPALIVE_SEC out of range", { KEEPALIVE_SEC: 70_000 }, /^SchemaError\(must be an integer in 0\.\.65535, got 70000\n\s+at \["VELOX"\]\["MQTT"\]\["KEEPALIVE_SEC"\]/],
      ["BACKOFF_MAX_MS below BACKOFF_INITIAL_MS", { BACKOFF_INITIAL_MS: 2_000, BACKOFF_MAX_MS: 1_000 }, /backoffMaxMs \(1000\) must be ≥ backoffInitialMs \(2000\)/],
      ["CLEAN_SESSION false without CLIENT_ID", { CLEAN_SESSION: false }, /clientId must be given for a persistent session/]
    ] as const
  ) {
    it.effect(`refuses ${rule}: ConfigError with the rule and where it was`, () =>
      Effect.gen(function*() {
        const error = yield* MqttConfig.MqttConfig.pipe(Effect.provide(MqttConfig.layerConfig.pipe(Layer.provide(fromEnv(env)))), Effect.flip)
        assert.strictEqual(error._tag, "ConfigError")
        assert.match(error.message, message)
        assert.notInclude(error.message, "s3cret")
      }))
  }
})
