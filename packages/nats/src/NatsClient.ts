/**
 * The NATS connection as an Effect service: it connects (retrying the first connect on a backoff
 * `Schedule`), lets the client library reconnect after a loss (its wait, jitter and attempts from
 * `NatsConfig`), tracks the connection's state and counts from the library's status events, and
 * creates or checks the configured JetStream streams at start. Closing the scope drains the
 * connection (pending publishes flushed, subscriptions ended) and closes it.
 *
 * Nothing here prints a secret: the password and token stay `Redacted` until handed to the library.
 *
 * @since 0.1.0
 */
import { Context, Deferred, Duration, Effect, Exit, Layer, Redacted, Schedule, type Scope } from "effect"
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node"
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StreamInfo, DiscardPolicy, RetentionPolicy, StorageType } from "@nats-io/jetstream"
import { NatsConfig, type Options, type StreamSpec, withDefaults } from "./NatsConfig.ts"
import { describe, fromConnectError, NatsError } from "./NatsError.ts"

/**
 * Where the connection is: `connecting` (the first connection), `connected`, `reconnecting` (lost,
 * the library is retrying), `closed` (ended: asked to, or the reconnect policy ran out).
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed"

/**
 * The connection now.
 *
 * @category models
 * @since 0.1.0
 */
export interface Status {
  readonly state: ConnectionState
  readonly connected: boolean
  /** The server it is connected to (`host:port`), while connected. */
  readonly server: string | undefined
  /** Connections lost, and connections restored after a loss. */
  readonly disconnects: number
  readonly reconnects: number
  /** First-connect attempts that failed. */
  readonly failedAttempts: number
  /** Errors the server sent (permissions, slow consumer), counted. */
  readonly serverErrors: number
  readonly lastError: string | undefined
}

/**
 * The connection service: the library's connection, JetStream client and manager, and the status.
 *
 * @category services
 * @since 0.1.0
 */
export class NatsClient extends Context.Service<NatsClient, {
  readonly options: Options
  readonly connection: NatsConnection
  readonly jetstream: JetStreamClient
  readonly manager: JetStreamManager
  readonly status: () => Status
  /** Creates the stream if missing (unless `streamPolicy: "check"`), or checks it matches. */
  readonly ensureStream: (spec: StreamSpec) => Effect.Effect<StreamInfo, NatsError>
  /** Fails when the connection closes for good (not when the scope closes it); never succeeds. */
  readonly failure: Effect.Effect<never, NatsError>
}>()("@velox/nats/NatsClient") {}

/**
 * The first-connect delays: exponential from `reconnectWaitMs` (at least 50 ms), doubling, jittered,
 * capped at 16 s.
 *
 * @category constructors
 * @since 0.1.0
 */
export const connectBackoff = (options: Pick<Options, "reconnectWaitMs">): Schedule.Schedule<Duration.Duration, unknown> =>
  Schedule.exponential(Duration.millis(Math.max(50, options.reconnectWaitMs))).pipe(
    Schedule.jittered,
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(16))))
  )

const request = <A>(what: string, run: () => Promise<A>): Effect.Effect<A, NatsError> =>
  Effect.tryPromise({ try: run, catch: (e) => new NatsError({ reason: "JetStreamFailed", message: `${what}: ${describe(e)}` }) })

const isNotFound = (e: NatsError): boolean => /not found/i.test(e.message)

const sameSubjects = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && [...a].sort().every((s, i) => s === [...b].sort()[i])

/**
 * Creates the stream `spec` describes, or checks the existing one has its subjects and duplicate
 * window.
 *
 * @category constructors
 * @since 0.1.0
 */
export const ensureStreamWith = (manager: JetStreamManager, policy: "create" | "check", input: StreamSpec): Effect.Effect<StreamInfo, NatsError> =>
  Effect.gen(function*() {
    const spec = withDefaults(input)
    const existing = yield* Effect.result(request(`stream ${spec.name} info`, () => manager.streams.info(spec.name)))
    if (existing._tag === "Success") {
      const config = existing.success.config
      const windowMs = Math.round((config.duplicate_window ?? 0) / 1e6)
      if (!sameSubjects(config.subjects ?? [], spec.subjects)) {
        return yield* new NatsError({
          reason: "StreamMismatch",
          message: `stream ${spec.name} has subjects ${JSON.stringify(config.subjects)}, configured ${JSON.stringify(spec.subjects)}`
        })
      }
      if (windowMs !== spec.duplicateWindowMs) {
        return yield* new NatsError({
          reason: "StreamMismatch",
          message: `stream ${spec.name} has a duplicate window of ${windowMs} ms, configured ${spec.duplicateWindowMs} ms`
        })
      }
      return existing.success
    }
    if (!isNotFound(existing.failure)) return yield* existing.failure
    if (policy === "check") {
      return yield* new NatsError({ reason: "StreamMissing", message: `stream ${spec.name} does not exist (streamPolicy: check)` })
    }
    return yield* request(`stream ${spec.name} create`, () =>
      manager.streams.add({
        name: spec.name,
        subjects: [...spec.subjects],
        duplicate_window: nanos(spec.duplicateWindowMs),
        storage: spec.storage === "memory" ? StorageType.Memory : StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: nanos(spec.maxAgeMs),
        max_bytes: spec.maxBytes
      }))
  })

/**
 * Connects, creates or checks the configured streams, and watches the connection until the scope
 * closes (`layer` is this as a Layer).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<NatsClient["Service"], NatsError, NatsConfig | Scope.Scope> = Effect.gen(function*() {
  const options = yield* NatsConfig
  let state: ConnectionState = "connecting"
  let disconnects = 0
  let reconnects = 0
  let failedAttempts = 0
  let serverErrors = 0
  let lastError: string | undefined
  let closing = false

  const attempt = Effect.tryPromise({
    try: () =>
      connect({
        servers: [...options.servers],
        name: options.name,
        timeout: options.connectTimeoutMs,
        reconnect: true,
        reconnectTimeWait: options.reconnectWaitMs,
        reconnectJitter: options.reconnectJitterMs,
        maxReconnectAttempts: options.maxReconnectAttempts,
        ...(options.user === undefined ? {} : { user: options.user, pass: options.password === undefined ? "" : Redacted.value(options.password) }),
        ...(options.token === undefined ? {} : { token: Redacted.value(options.token) })
      }),
    catch: fromConnectError
  }).pipe(Effect.tapError((e) => Effect.sync(() => {
    failedAttempts++
    lastError = `${e.reason}: ${e.message}`
  })))

  const connection = yield* Effect.acquireRelease(
    attempt.pipe(Effect.retry({
      schedule: connectBackoff(options),
      times: options.connectAttempts - 1,
      // Refused credentials will be refused again.
      while: (e) => e.reason !== "AuthRefused"
    })),
    (nc) =>
      Effect.gen(function*() {
        closing = true
        yield* Effect.promise(() => nc.drain().catch(() => undefined)).pipe(Effect.timeoutOption("5 seconds"))
        if (!nc.isClosed()) yield* Effect.promise(() => nc.close().catch(() => undefined))
        state = "closed"
      })
  )
  state = "connected"
  const failed = yield* Deferred.make<never, NatsError>()

  // The library's status events: the connection's state and counts.
  yield* Effect.forkScoped(Effect.promise(async () => {
    for await (const s of connection.status()) {
      switch (s.type) {
        case "disconnect":
          disconnects++
          state = "reconnecting"
          break
        case "reconnecting":
          state = "reconnecting"
          break
        case "reconnect":
          reconnects++
          state = "connected"
          break
        case "error":
          serverErrors++
          lastError = describe(s.error)
          break
        case "close":
          state = "closed"
          break
        default:
          break
      }
    }
  }))
  yield* Effect.forkScoped(Effect.promise(() => connection.closed()).pipe(Effect.flatMap((err) =>
    Effect.sync(() => {
      state = "closed"
      if (closing) return
      const message = err instanceof Error ? err.message : "the connection closed (reconnect attempts ran out)"
      lastError = `Closed: ${message}`
      Deferred.doneUnsafe(failed, Exit.fail(new NatsError({ reason: "Closed", message })))
    })
  )))

  const manager = yield* request("JetStream", () => jetstreamManager(connection, { timeout: options.requestTimeoutMs }))
  const js = jetstream(connection, { timeout: options.requestTimeoutMs })
  const ensureStream = (spec: StreamSpec) => ensureStreamWith(manager, options.streamPolicy, spec)
  yield* Effect.forEach(options.streams, ensureStream, { discard: true })

  return NatsClient.of({
    options,
    connection,
    jetstream: js,
    manager,
    status: () => ({
      state,
      connected: state === "connected",
      server: state === "connected" ? connection.getServer() : undefined,
      disconnects,
      reconnects,
      failedAttempts,
      serverErrors,
      lastError
    }),
    ensureStream,
    failure: Deferred.await(failed)
  })
})

/**
 * The client, from `NatsConfig`: connected, streams in place.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { NatsClient, NatsConfig } from "@velox/nats"
 *
 * const NatsLive = NatsClient.layer.pipe(
 *   Layer.provide(NatsConfig.layer({ servers: ["nats://127.0.0.1:4222"], streams: [{ name: "QUOTES", subjects: ["quotes.>"] }] }))
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<NatsClient, NatsError, NatsConfig> = Layer.effect(NatsClient, make)
