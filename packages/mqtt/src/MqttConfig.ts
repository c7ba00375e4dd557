/**
 * The MQTT feed's options, validated with Schema at start-up: from code (`layer(options)`) or from the
 * environment / a config file (`layerConfig`, keys `VELOX_MQTT_<KEY>` or `{ "VELOX": { "MQTT": {…} } }`).
 * A bad value fails naming the option and the rule. Credentials are not options: they come from the
 * token provider (`MqttCredentials`).
 *
 * | option (env key) | default | what |
 * |---|---|---|
 * | `url` (`URL`) | `mqtt://127.0.0.1:1883` | the broker: `mqtt:`, `mqtts:`, `tcp:`, `ssl:`, `ws:`, `wss:`; no credentials in it |
 * | `clientId` (`CLIENT_ID`) | `velox-` + 8 random hex digits | the MQTT client id (required for a persistent session) |
 * | `topics` (`TOPICS`, comma-separated) | `["quotes/#"]` | topic filters, wildcards `+` and `#` allowed |
 * | `qos` (`QOS`) | 0 | subscription QoS, 0 or 1 |
 * | `cleanSession` (`CLEAN_SESSION`) | true | false: a persistent session (the broker keeps QoS 1 messages while disconnected) |
 * | `protocolVersion` (`PROTOCOL_VERSION`) | 4 | 4 (MQTT 3.1.1) or 5 |
 * | `sessionExpirySec` (`SESSION_EXPIRY_SEC`) | 3600 | MQTT 5 persistent sessions: how long the broker keeps one |
 * | `keepaliveSec` (`KEEPALIVE_SEC`) | 30 | keep-alive interval (a silent broker is declared lost after 1.5 ×) |
 * | `connectTimeoutMs` (`CONNECT_TIMEOUT_MS`) | 10 000 | for CONNACK, and for SUBACK while nothing arrives (a persistent session's backlog comes first) |
 * | `backoffInitialMs` (`BACKOFF_INITIAL_MS`) | 1 000 | first reconnect delay, doubling… |
 * | `backoffMaxMs` (`BACKOFF_MAX_MS`) | 16 000 | …up to this, each delay jittered (× 0.8–1.2, never above this) |
 * | `backoffResetAfterMs` (`BACKOFF_RESET_AFTER_MS`) | 30 000 | a connection that held this long starts the backoff over |
 * | `queueCapacity` (`QUEUE_CAPACITY`) | 100 000 | the dispatcher's capacity; when full the oldest quote is dropped |
 * | `staleEpoch` (`STALE_EPOCH`) | `drop` | quotes still queued or in flight when a lost connection is replaced: `drop` or `deliver` |
 * | `format` (`FORMAT`) | `auto` | payloads: `json`, `binary`, or `auto` (by the first byte) |
 * | `symbols` (`SYMBOLS`) | 10 000 | capacity of the symbol table the feed makes |
 * | `feedGapMs` (`FEED_GAP_MS`) | 5 000 | no message for this long: the feed is dead (`/ready` 503) |
 * | `symbolGapMs` (`SYMBOL_GAP_MS`) | 30 000 | a symbol silent this long is stale |
 * | `tokenRefreshBeforeMs` (`TOKEN_REFRESH_BEFORE_MS`) | 300 000 | refresh credentials this long before they expire |
 * | `maxAuthFailures` (`MAX_AUTH_FAILURES`) | 10 | refusals of the credentials in a row before the feed gives up |
 * | `reconnectWarningPerMinute` (`RECONNECT_WARNING_PER_MINUTE`) | 5 | more reconnects than this within a minute: a warning in health |
 * | `deadLetterBuffer` (`DEAD_LETTER_BUFFER`) | 1 000 | dead letters kept for `deadLetters()` (counts are always exact) |
 * | `sampleBytes` (`SAMPLE_BYTES`) | 64 | raw bytes of a bad payload kept in its dead letter |
 *
 * @since 0.1.0
 */
import { Config, ConfigProvider, Context, Effect, Layer, type Option, Schema } from "effect"

const rule = <T>(base: Schema.Codec<T, any>, check: (t: T) => string | undefined) => base.check(Schema.makeFilter((t: T) => check(t)))

const intBetween = (minimum: number, maximum: number) =>
  rule(Schema.Number, (n) => (Number.isInteger(n) && n >= minimum && n <= maximum ? undefined : `must be an integer in ${minimum}..${maximum}, got ${n}`))

const PROTOCOLS = ["mqtt:", "mqtts:", "tcp:", "ssl:", "ws:", "wss:"]

/**
 * A broker URL: a protocol mqtt.js speaks, a host, and no credentials (they would be printed with
 * it: give them to the token provider).
 *
 * @category models
 * @since 0.1.0
 */
export const BrokerUrl = rule(Schema.String, (s) => {
  let url: URL
  try {
    url = new URL(s)
  } catch {
    return `must be a URL such as mqtt://127.0.0.1:1883, got ${JSON.stringify(s)}`
  }
  if (!PROTOCOLS.includes(url.protocol)) return `must use one of ${PROTOCOLS.map((p) => p.slice(0, -1)).join(", ")}, got ${url.protocol.slice(0, -1)}`
  if (url.username !== "" || url.password !== "") return "must not hold credentials (they would be printed with it): give them to the token provider (MqttCredentials)"
  if (url.hostname === "") return `must name a host, got ${JSON.stringify(s)}`
  return undefined
})

/**
 * Why `filter` is not an MQTT topic filter, or undefined when it is one: 1 to 65535 bytes of UTF-8,
 * no NUL, `#` only as the whole last level, `+` only as a whole level.
 *
 * @category guards
 * @since 0.1.0
 */
export const topicFilterProblem = (filter: string): string | undefined => {
  const bytes = new TextEncoder().encode(filter).length
  if (bytes === 0 || bytes > 65535) return `a topic filter is 1..65535 bytes, got ${bytes}`
  if (filter.includes("\u0000")) return "a topic filter may not hold NUL"
  const levels = filter.split("/")
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!
    if (level.includes("#") && (level !== "#" || i !== levels.length - 1)) return `"#" must be the whole last level: ${JSON.stringify(filter)}`
    if (level.includes("+") && level !== "+") return `"+" must be a whole level: ${JSON.stringify(filter)}`
  }
  return undefined
}

/**
 * @category models
 * @since 0.1.0
 */
export const TopicFilter = rule(Schema.String, topicFilterProblem)

const ClientId = rule(Schema.String, (s) => {
  const bytes = new TextEncoder().encode(s).length
  return bytes >= 1 && bytes <= 65535 ? undefined : `a client id is 1..65535 bytes, got ${bytes}`
})

const Topics = Schema.Array(TopicFilter).check(
  Schema.makeFilter((a: ReadonlyArray<string>) => (a.length >= 1 ? undefined : "needs at least one topic filter"))
)

/** The options' schemas, with their defaults and env keys: one table for code and config alike. */
const FIELDS = {
  url: { key: "URL", schema: BrokerUrl, default: "mqtt://127.0.0.1:1883" },
  clientId: { key: "CLIENT_ID", schema: ClientId, default: undefined },
  topics: { key: "TOPICS", schema: Topics, default: ["quotes/#"] as ReadonlyArray<string> },
  qos: { key: "QOS", schema: Schema.Literals([0, 1]), default: 0 as 0 | 1 },
  cleanSession: { key: "CLEAN_SESSION", schema: Schema.Boolean, default: true },
  protocolVersion: { key: "PROTOCOL_VERSION", schema: Schema.Literals([4, 5]), default: 4 as 4 | 5 },
  sessionExpirySec: { key: "SESSION_EXPIRY_SEC", schema: intBetween(0, 2 ** 32 - 1), default: 3600 },
  keepaliveSec: { key: "KEEPALIVE_SEC", schema: intBetween(0, 65535), default: 30 },
  connectTimeoutMs: { key: "CONNECT_TIMEOUT_MS", schema: intBetween(1, 600_000), default: 10_000 },
  backoffInitialMs: { key: "BACKOFF_INITIAL_MS", schema: intBetween(1, 3_600_000), default: 1_000 },
  backoffMaxMs: { key: "BACKOFF_MAX_MS", schema: intBetween(1, 3_600_000), default: 16_000 },
  backoffResetAfterMs: { key: "BACKOFF_RESET_AFTER_MS", schema: intBetween(0, 86_400_000), default: 30_000 },
  queueCapacity: { key: "QUEUE_CAPACITY", schema: intBetween(1, 2 ** 24), default: 100_000 },
  staleEpoch: { key: "STALE_EPOCH", schema: Schema.Literals(["drop", "deliver"]), default: "drop" as "drop" | "deliver" },
  format: { key: "FORMAT", schema: Schema.Literals(["auto", "json", "binary"]), default: "auto" as "auto" | "json" | "binary" },
  symbols: { key: "SYMBOLS", schema: intBetween(1, 1 << 22), default: 10_000 },
  feedGapMs: { key: "FEED_GAP_MS", schema: intBetween(1, 86_400_000), default: 5_000 },
  symbolGapMs: { key: "SYMBOL_GAP_MS", schema: intBetween(1, 86_400_000), default: 30_000 },
  tokenRefreshBeforeMs: { key: "TOKEN_REFRESH_BEFORE_MS", schema: intBetween(0, 86_400_000), default: 300_000 },
  maxAuthFailures: { key: "MAX_AUTH_FAILURES", schema: intBetween(1, 1_000_000), default: 10 },
  reconnectWarningPerMinute: { key: "RECONNECT_WARNING_PER_MINUTE", schema: intBetween(0, 1_000_000), default: 5 },
  deadLetterBuffer: { key: "DEAD_LETTER_BUFFER", schema: intBetween(0, 1_000_000), default: 1_000 },
  sampleBytes: { key: "SAMPLE_BYTES", schema: intBetween(0, 65_536), default: 64 }
} as const

type Fields = typeof FIELDS

/**
 * The feed's options, every one set (see the table in the module comment).
 *
 * @category models
 * @since 0.1.0
 */
export type Options = { readonly [K in keyof Fields]: K extends "clientId" ? string : Fields[K]["schema"]["Type"] }

/**
 * Options as given: any subset; the rest take their defaults.
 *
 * @category models
 * @since 0.1.0
 */
export type Input = { readonly [K in keyof Options]?: Options[K] | undefined }

/**
 * A bad option: which, and the rule it broke.
 *
 * @category errors
 * @since 0.1.0
 */
export class MqttConfigError extends Schema.TaggedError<MqttConfigError>()("MqttConfigError", {
  option: Schema.String,
  message: Schema.String
}) {}

const randomClientId = (): string => `velox-${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0")}`

const complete = (values: { readonly [K in keyof Options]?: unknown }): Effect.Effect<Options, MqttConfigError> => {
  const out: Record<string, unknown> = {}
  for (const [name, field] of Object.entries(FIELDS) as ReadonlyArray<[keyof Fields, Fields[keyof Fields]]>) {
    out[name] = values[name] === undefined ? field.default : values[name]
  }
  if (out["clientId"] === undefined) {
    // A session is the broker's for a client id: under a random one it could never be resumed.
    if (out["cleanSession"] === false) {
      return Effect.fail(
        new MqttConfigError({ option: "clientId", message: "clientId must be given for a persistent session (cleanSession: false): a random one is never resumed" })
      )
    }
    out["clientId"] = randomClientId()
  }
  const options = out as Options
  if (options.backoffMaxMs < options.backoffInitialMs) {
    return Effect.fail(
      new MqttConfigError({
        option: "backoffMaxMs",
        message: `backoffMaxMs (${options.backoffMaxMs}) must be ≥ backoffInitialMs (${options.backoffInitialMs})`
      })
    )
  }
  return Effect.succeed(options)
}

/**
 * Validates `input` and fills in the defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (input: Input = {}): Effect.Effect<Options, MqttConfigError> =>
  Effect.gen(function*() {
    const values: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(input)) {
      const field = FIELDS[name as keyof Fields] as Fields[keyof Fields] | undefined
      if (field === undefined) {
        return yield* new MqttConfigError({ option: name, message: `unknown option ${name} (options: ${Object.keys(FIELDS).join(", ")})` })
      }
      if (value === undefined) continue
      values[name] = yield* Schema.decodeUnknownEffect(field.schema as Schema.Codec<unknown, unknown>)(value).pipe(
        Effect.mapError((e) => new MqttConfigError({ option: name, message: `${name} ${e.message}` }))
      )
    }
    return yield* complete(values)
  })

/**
 * The options from the current `ConfigProvider` (the environment unless replaced), under
 * `VELOX_MQTT_<KEY>`. `TOPICS` is a comma-separated list.
 *
 * @category constructors
 * @since 0.1.0
 */
export const config: Config.Config<Options> = Config.all(
  Object.fromEntries(
    Object.entries(FIELDS).map(([name, field]) => [
      name,
      name === "topics"
        ? Config.Array(TopicFilter, field.key, { separator: "," }).pipe(Config.option)
        : Config.schema(field.schema as Schema.Codec<unknown, unknown>, field.key).pipe(Config.option)
    ])
  ) as Record<keyof Fields, Config.Config<Option.Option<unknown>>>
).pipe(
  Config.nested("MQTT"),
  Config.nested("VELOX"),
  Config.mapEffect((found) => {
    const values: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(found)) if (value._tag === "Some") values[name] = value.value
    return complete(values).pipe(Effect.mapError((e) => new Config.ConfigError(new ConfigProvider.SourceError({ message: e.message }))))
  })
)

/**
 * The validated options of the feed, as a service.
 *
 * @category services
 * @since 0.1.0
 */
export class MqttConfig extends Context.Service<MqttConfig, Options>()("@velox/mqtt/MqttConfig") {}

/**
 * The options from code.
 *
 * @example
 * ```ts
 * import { MqttConfig } from "@velox/mqtt"
 *
 * const options = MqttConfig.layer({ url: "mqtt://broker:1883", topics: ["fx/+/quotes"], qos: 1, queueCapacity: 50_000 })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (input: Input = {}): Layer.Layer<MqttConfig, MqttConfigError> => Layer.effect(MqttConfig, make(input))

/**
 * The options from the current `ConfigProvider` (`VELOX_MQTT_URL`, `VELOX_MQTT_TOPICS`, …).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig: Layer.Layer<MqttConfig, Config.ConfigError> = Layer.effect(MqttConfig, config)

/**
 * The options from the current `ConfigProvider`, with `input` on top (a program's flags; its undefined
 * values leave the configured ones).
 *
 * @example
 * ```ts
 * import { MqttConfig } from "@velox/mqtt"
 *
 * declare const urlFlag: string | undefined
 * const options = MqttConfig.layerConfigWith({ url: urlFlag }) // --url, else VELOX_MQTT_URL, else the default
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfigWith = (input: Input): Layer.Layer<MqttConfig, MqttConfigError | Config.ConfigError> =>
  Layer.effect(
    MqttConfig,
    Effect.gen(function*() {
      const configured = yield* config
      const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
      return yield* make({ ...configured, ...given })
    })
  )
