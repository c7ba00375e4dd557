/**
 * The NATS connection's options, validated once, with defaults:
 *
 * | option (env `VELOX_NATS_…`) | default | meaning |
 * |---|---|---|
 * | `servers` (`SERVERS`, comma-separated) | `nats://127.0.0.1:4222` | server URLs (no credentials in them) |
 * | `name` (`NAME`) | `velox` | the connection's name, as the server's monitoring shows it |
 * | `user` (`USER`), `password` (`PASSWORD`) | none | user and password (`Redacted`) |
 * | `token` (`TOKEN`) | none | a token (`Redacted`), instead of user and password |
 * | `connectTimeoutMs` (`CONNECT_TIMEOUT_MS`) | 10 000 | one connect attempt |
 * | `connectAttempts` (`CONNECT_ATTEMPTS`) | 10 | first-connect attempts (backoff from `reconnectWaitMs`) before `ConnectFailed` |
 * | `reconnectWaitMs` (`RECONNECT_WAIT_MS`) | 1 000 | delay between reconnect attempts to one server… |
 * | `reconnectJitterMs` (`RECONNECT_JITTER_MS`) | 200 | …plus up to this much at random |
 * | `maxReconnectAttempts` (`MAX_RECONNECT_ATTEMPTS`) | -1 | attempts per server after a loss before the connection closes for good (-1: forever) |
 * | `requestTimeoutMs` (`REQUEST_TIMEOUT_MS`) | 5 000 | a JetStream API request or a publish ack |
 * | `streamPolicy` (`STREAM_POLICY`) | `create` | a missing stream: `create` it, or `check` (fail with `StreamMissing`) |
 * | `streams` (code only) | none | the streams to create or check at start |
 *
 * @since 0.1.0
 */
import { Config, Context, Effect, Layer, Option, Redacted, Schema } from "effect"

/**
 * A stream to create or check at start. An existing stream must have these subjects and this
 * duplicate window (`StreamMismatch` otherwise: the bridge never changes a stream behind its owner's
 * back); its other limits are left as they are.
 *
 * @category models
 * @since 0.1.0
 */
export interface StreamSpec {
  readonly name: string
  /** Subjects, e.g. `["quotes.>"]`. */
  readonly subjects: ReadonlyArray<string>
  /** How long the server remembers a `Nats-Msg-Id` to drop a republished batch. Default 2 minutes. */
  readonly duplicateWindowMs?: number | undefined
  /** Default `file`. */
  readonly storage?: "file" | "memory" | undefined
  /** Messages older than this are removed (default 0: kept). */
  readonly maxAgeMs?: number | undefined
  /** Bytes kept before the oldest are removed (default -1: no limit). */
  readonly maxBytes?: number | undefined
}

/**
 * A stream spec with its defaults filled in.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stream {
  readonly name: string
  readonly subjects: ReadonlyArray<string>
  readonly duplicateWindowMs: number
  readonly storage: "file" | "memory"
  readonly maxAgeMs: number
  readonly maxBytes: number
}

/**
 * `spec` with its defaults (unchecked: `make` checks).
 *
 * @category constructors
 * @since 0.1.0
 */
export const withDefaults = (s: StreamSpec): Stream => ({
  name: s.name,
  subjects: [...s.subjects],
  duplicateWindowMs: s.duplicateWindowMs ?? DEFAULTS.duplicateWindowMs,
  storage: s.storage ?? "file",
  maxAgeMs: s.maxAgeMs ?? 0,
  maxBytes: s.maxBytes ?? -1
})

/**
 * The options, every one set.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly servers: ReadonlyArray<string>
  readonly name: string
  readonly user: string | undefined
  readonly password: Redacted.Redacted<string> | undefined
  readonly token: Redacted.Redacted<string> | undefined
  readonly connectTimeoutMs: number
  readonly connectAttempts: number
  readonly reconnectWaitMs: number
  readonly reconnectJitterMs: number
  readonly maxReconnectAttempts: number
  readonly requestTimeoutMs: number
  readonly streamPolicy: "create" | "check"
  readonly streams: ReadonlyArray<Stream>
}

/**
 * Options as given: any subset; the rest take their defaults.
 *
 * @category models
 * @since 0.1.0
 */
export type Input = { readonly [K in keyof Options]?: K extends "streams" ? ReadonlyArray<StreamSpec> : Options[K] | undefined }

/**
 * A bad option: which, and the rule it broke.
 *
 * @category errors
 * @since 0.1.0
 */
export class NatsConfigError extends Schema.TaggedError<NatsConfigError>()("NatsConfigError", {
  option: Schema.String,
  message: Schema.String
}) {}

const DEFAULTS = {
  servers: ["nats://127.0.0.1:4222"],
  name: "velox",
  connectTimeoutMs: 10_000,
  connectAttempts: 10,
  reconnectWaitMs: 1_000,
  reconnectJitterMs: 200,
  maxReconnectAttempts: -1,
  requestTimeoutMs: 5_000,
  streamPolicy: "create" as const,
  duplicateWindowMs: 120_000
}

const PROTOCOLS = ["nats:", "tls:", "ws:", "wss:"]

/**
 * Why `s` is not a server URL this bridge accepts, or undefined: `nats://host:port` (also `tls:`,
 * `ws:`, `wss:`), a host, and no credentials (they would be printed with it).
 *
 * @category guards
 * @since 0.1.0
 */
export const serverUrlProblem = (s: string): string | undefined => {
  let url: URL
  try {
    url = new URL(s)
  } catch {
    return `must be a URL such as nats://127.0.0.1:4222, got ${JSON.stringify(s)}`
  }
  if (!PROTOCOLS.includes(url.protocol)) return `must use one of ${PROTOCOLS.map((p) => p.slice(0, -1)).join(", ")}, got ${url.protocol.slice(0, -1)}`
  if (url.username !== "" || url.password !== "") return "must not hold credentials (they would be printed with it): give user and password, or a token"
  if (url.hostname === "") return `must name a host, got ${JSON.stringify(s)}`
  return undefined
}

/** Stream names may not hold these (the JetStream API puts them in subjects and file names). */
const BAD_NAME = /[\s.*>/\\]/

const intIn = (option: string, value: number, minimum: number, maximum: number): NatsConfigError | undefined =>
  Number.isInteger(value) && value >= minimum && value <= maximum
    ? undefined
    : new NatsConfigError({ option, message: `${option} must be an integer in ${minimum}..${maximum}, got ${value}` })

const checkStream = (s: StreamSpec, i: number): Effect.Effect<Stream, NatsConfigError> => {
  const option = `streams[${i}]`
  const fail = (message: string) => Effect.fail(new NatsConfigError({ option, message }))
  if (typeof s.name !== "string" || s.name === "" || BAD_NAME.test(s.name)) {
    return fail(`a stream name is not empty and holds no spaces, ".", "*", ">", "/" or "\\": ${JSON.stringify(s.name)}`)
  }
  if (s.subjects.length === 0 || s.subjects.some((subject) => subject === "" || /\s/.test(subject))) {
    return fail(`stream ${s.name} needs one or more subjects without spaces, got ${JSON.stringify(s.subjects)}`)
  }
  const spec = withDefaults(s)
  const bad = intIn(`${option}.duplicateWindowMs`, spec.duplicateWindowMs, 1, 86_400_000) ??
    intIn(`${option}.maxAgeMs`, spec.maxAgeMs, 0, Number.MAX_SAFE_INTEGER) ??
    intIn(`${option}.maxBytes`, spec.maxBytes, -1, Number.MAX_SAFE_INTEGER)
  if (bad !== undefined) return Effect.fail(bad)
  if (spec.storage !== "file" && spec.storage !== "memory") return fail(`storage must be file or memory, got ${JSON.stringify(spec.storage)}`)
  if (spec.maxAgeMs > 0 && spec.duplicateWindowMs > spec.maxAgeMs) {
    return fail(`duplicateWindowMs (${spec.duplicateWindowMs}) must not exceed maxAgeMs (${spec.maxAgeMs})`)
  }
  return Effect.succeed(spec)
}

/**
 * Validates `input` and fills in the defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (input: Input = {}): Effect.Effect<Options, NatsConfigError> =>
  Effect.gen(function*() {
    const servers = input.servers ?? DEFAULTS.servers
    if (servers.length === 0) return yield* new NatsConfigError({ option: "servers", message: "needs at least one server URL" })
    for (const s of servers) {
      const problem = serverUrlProblem(s)
      if (problem !== undefined) return yield* new NatsConfigError({ option: "servers", message: `${s.replace(/\/\/[^@]*@/, "//…@")}: ${problem}` })
    }
    if (input.token !== undefined && input.user !== undefined) {
      return yield* new NatsConfigError({ option: "token", message: "give a token or a user and password, not both" })
    }
    const options: Options = {
      servers: [...servers],
      name: input.name ?? DEFAULTS.name,
      user: input.user,
      password: input.password,
      token: input.token,
      connectTimeoutMs: input.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      connectAttempts: input.connectAttempts ?? DEFAULTS.connectAttempts,
      reconnectWaitMs: input.reconnectWaitMs ?? DEFAULTS.reconnectWaitMs,
      reconnectJitterMs: input.reconnectJitterMs ?? DEFAULTS.reconnectJitterMs,
      maxReconnectAttempts: input.maxReconnectAttempts ?? DEFAULTS.maxReconnectAttempts,
      requestTimeoutMs: input.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
      streamPolicy: input.streamPolicy ?? DEFAULTS.streamPolicy,
      streams: yield* Effect.forEach(input.streams ?? [], checkStream)
    }
    const bad = intIn("connectTimeoutMs", options.connectTimeoutMs, 1, 600_000) ??
      intIn("connectAttempts", options.connectAttempts, 1, 1_000_000) ??
      intIn("reconnectWaitMs", options.reconnectWaitMs, 0, 3_600_000) ??
      intIn("reconnectJitterMs", options.reconnectJitterMs, 0, 3_600_000) ??
      intIn("maxReconnectAttempts", options.maxReconnectAttempts, -1, 1_000_000) ??
      intIn("requestTimeoutMs", options.requestTimeoutMs, 1, 600_000)
    if (bad !== undefined) return yield* bad
    if (options.streamPolicy !== "create" && options.streamPolicy !== "check") {
      return yield* new NatsConfigError({ option: "streamPolicy", message: `streamPolicy must be create or check, got ${JSON.stringify(options.streamPolicy)}` })
    }
    const names = options.streams.map((s) => s.name)
    const twice = names.find((n, i) => names.indexOf(n) !== i)
    if (twice !== undefined) return yield* new NatsConfigError({ option: "streams", message: `stream ${twice} is declared twice` })
    return options
  })

/**
 * The validated options, as a service.
 *
 * @category services
 * @since 0.1.0
 */
export class NatsConfig extends Context.Service<NatsConfig, Options>()("@velox/nats/NatsConfig") {}

/**
 * The options from code.
 *
 * @example
 * ```ts
 * import { Redacted } from "effect"
 * import { NatsConfig } from "@velox/nats"
 *
 * const options = NatsConfig.layer({
 *   servers: ["nats://10.0.0.5:4222", "nats://10.0.0.6:4222"],
 *   user: "feed",
 *   password: Redacted.make("s3cret"),
 *   streams: [{ name: "QUOTES", subjects: ["quotes.>"], duplicateWindowMs: 60_000 }]
 * })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (input: Input = {}): Layer.Layer<NatsConfig, NatsConfigError> => Layer.effect(NatsConfig, make(input))

const optional = <A>(config: Config.Config<A>) => config.pipe(Config.option, Config.map(Option.getOrUndefined))

/**
 * The options from the current `ConfigProvider` (`VELOX_NATS_SERVERS`, `VELOX_NATS_USER`,
 * `VELOX_NATS_PASSWORD`, …), over `input` (the streams, and any defaults of your own).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (input: Input = {}): Layer.Layer<NatsConfig, Config.ConfigError | NatsConfigError> =>
  Layer.effect(
    NatsConfig,
    Effect.gen(function*() {
      const found = yield* Config.all({
        servers: optional(Config.Array(Schema.String, "SERVERS", { separator: "," })),
        name: optional(Config.String("NAME")),
        user: optional(Config.String("USER")),
        password: optional(Config.Redacted("PASSWORD")),
        token: optional(Config.Redacted("TOKEN")),
        connectTimeoutMs: optional(Config.Int("CONNECT_TIMEOUT_MS")),
        connectAttempts: optional(Config.Int("CONNECT_ATTEMPTS")),
        reconnectWaitMs: optional(Config.Int("RECONNECT_WAIT_MS")),
        reconnectJitterMs: optional(Config.Int("RECONNECT_JITTER_MS")),
        maxReconnectAttempts: optional(Config.Int("MAX_RECONNECT_ATTEMPTS")),
        requestTimeoutMs: optional(Config.Int("REQUEST_TIMEOUT_MS")),
        streamPolicy: optional(Config.Literals(["create", "check"], "STREAM_POLICY"))
      }).pipe(Config.nested("NATS"), Config.nested("VELOX"))
      const merged: Record<string, unknown> = { ...input }
      for (const [k, v] of Object.entries(found)) if (v !== undefined) merged[k] = v
      return yield* make(merged as Input)
    })
  )
