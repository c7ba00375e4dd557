/**
 * The MQTT connection as an Effect service: it connects (mqtt.js with its own reconnection switched
 * off), subscribes to the configured topic filters, hands every message to one handler with the
 * **epoch** of the connection it arrived on, and keeps the connection up:
 *
 * - **Epochs.** Every connection the broker accepts raises `epoch` by one (first connection: 1). The
 *   handler hears of each (`onConnect(epoch, lost)`) before any of its messages; `lost` says whether
 *   the connection before it was lost (not a planned reconnect), which is when queued quotes of
 *   earlier epochs are stale.
 * - **Reconnect.** A lost connection, or a failed attempt, is retried after a delay from an Effect
 *   `Schedule`: exponential from `backoffInitialMs` (1 s), doubling up to `backoffMaxMs` (16 s), each
 *   delay jittered (× 0.8–1.2, capped). A connection that held for `backoffResetAfterMs` (30 s) starts
 *   the schedule over. More than `reconnectWarningPerMinute` (5) reconnects within a minute put a
 *   warning in the status.
 * - **Credentials.** Asked from `MqttCredentials` before connecting; when they expire, again
 *   `tokenRefreshBeforeMs` (300 s) before (or halfway to expiry, if later), and the client reconnects
 *   with the new ones: a **planned** reconnect (nothing queued is stale; a close while it happens is
 *   part of it). A refusal by the broker (`AuthRefused`) is counted, the next attempt asks for fresh
 *   credentials, and it is retried on the backoff; after `maxAuthFailures` refusals in a row the client
 *   gives up (`failure` fails with `GaveUp`).
 *
 * Nothing here prints a secret: the password is `Redacted` until handed to mqtt.js, and errors carry
 * the broker's reason, never the credentials.
 *
 * @since 0.1.0
 */
import { Clock, Context, Deferred, Duration, Effect, Exit, Fiber, Latch, Layer, Option, Redacted, Result, Schedule, type Scope } from "effect"
import createDebug from "debug"
import mqtt from "mqtt"
import type { IClientOptions, MqttClient as MqttJsClient } from "mqtt"
import { type Credentials, MqttCredentials } from "./MqttCredentials.ts"
import { MqttConfig, type Options } from "./MqttConfig.ts"
import { fromConnectError, MqttError } from "./MqttError.ts"

/**
 * Where the connection is:
 * `idle` (not started), `connecting` (the first connection), `connected`, `reconnecting` (lost, or
 * between attempts), `stopped` (asked to stop), `failed` (gave up).
 *
 * @category models
 * @since 0.1.0
 */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "stopped" | "failed"

/**
 * The connection now.
 *
 * @category models
 * @since 0.1.0
 */
export interface Status {
  readonly state: ConnectionState
  readonly connected: boolean
  /** The current connection's epoch (0 before the first). */
  readonly epoch: number
  /** Connections the broker accepted. */
  readonly connects: number
  /** Connections lost (not asked to end). */
  readonly disconnects: number
  /** Planned reconnects with refreshed credentials. */
  readonly tokenRefreshes: number
  /** Attempts that failed (any reason). */
  readonly failedAttempts: number
  /** Times the broker refused the credentials, and how many of the last attempts in a row. */
  readonly authFailures: number
  readonly authFailuresInARow: number
  /** Reconnects (connections after the first) within the last minute. */
  readonly reconnectsLastMinute: number
  /** Since the connection came up, or since it went down. */
  readonly connectedForMs: number | undefined
  readonly disconnectedForMs: number | undefined
  /** Outages (a lost connection until the next one): how many, the last one's length, the longest. */
  readonly outages: number
  readonly lastOutageMs: number | undefined
  readonly longestOutageMs: number
  /** When the next attempt is due, while reconnecting. */
  readonly nextAttemptInMs: number | undefined
  /** When the current credentials expire, and when they will be refreshed. */
  readonly credentialsExpireInMs: number | undefined
  readonly refreshInMs: number | undefined
  /** The last error (its reason and the broker's message; never a credential). */
  readonly lastError: string | undefined
  /** Things an operator should look at (more than N reconnects a minute, refused credentials). */
  readonly warnings: ReadonlyArray<string>
}

/**
 * Who receives the messages. Both are called from mqtt.js's callbacks (the main thread): keep them
 * short and never throw.
 *
 * @category models
 * @since 0.1.0
 */
export interface MessageHandler {
  /** A connection of `epoch` began; `lost`: the one before it was lost rather than ended on purpose. */
  readonly onConnect: (epoch: number, lost: boolean) => void
  /** A message that arrived on the connection of `epoch`. */
  readonly onMessage: (epoch: number, topic: string, payload: Uint8Array) => void
}

/**
 * The connection service.
 *
 * @category services
 * @since 0.1.0
 */
export class MqttClient extends Context.Service<MqttClient, {
  readonly options: Options
  readonly status: () => Status
  /** The current connection's epoch (0 before the first). */
  readonly epoch: () => number
  /** Starts connecting, handing messages to `handler`, until `stop` or the scope closes. Once. */
  readonly start: (handler: MessageHandler) => Effect.Effect<void, never, Scope.Scope>
  /** Waits until connected (now, or the next connection) and gives its epoch; fails if the client gave up. */
  readonly connected: Effect.Effect<number, MqttError>
  /** Asks for fresh credentials and reconnects with them now (a planned reconnect). */
  readonly refresh: Effect.Effect<void>
  /** Disconnects cleanly and does not reconnect; returns once the connection is closed. */
  readonly stop: Effect.Effect<void>
  /** Fails when the client gives up (`GaveUp`); never succeeds. */
  readonly failure: Effect.Effect<never, MqttError>
}>()("@velox/mqtt/MqttClient") {}

/**
 * The reconnect delays: exponential from `initialMs`, doubling, each jittered (× 0.8–1.2) and capped
 * at `maxMs`: 1 s, 2 s, 4 s, 8 s, 16 s, 16 s, … with the defaults.
 *
 * @category constructors
 * @since 0.1.0
 */
export const backoff = (options: { readonly backoffInitialMs: number; readonly backoffMaxMs: number }): Schedule.Schedule<Duration.Duration, unknown> =>
  Schedule.exponential(Duration.millis(options.backoffInitialMs)).pipe(
    Schedule.jittered,
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.millis(options.backoffMaxMs))))
  )

type Outcome = "lost" | "refresh" | "stop"

interface Connection {
  readonly client: MqttJsClient
  readonly epoch: number
  /** Completed with why the connection is to end. */
  readonly signal: Deferred.Deferred<Outcome>
  /** Messages the broker sent on it so far (a count: cheaper per message than reading a clock). */
  readonly messages: () => number
}

const MINUTE_MS = 60_000

/** mqtt.js's own trace namespace, and what stands in for it while that is off. */
const MQTTJS_LOG = "mqttjs:client"
const noLog = (): void => {}

/** When to refresh credentials expiring at `expiresAtMs`, from `nowMs`: ms from now. */
const refreshDelayMs = (expiresAtMs: number, nowMs: number, beforeMs: number, floorMs: number): number => {
  const remaining = expiresAtMs - nowMs
  return Math.max(remaining - beforeMs, remaining / 2, floorMs)
}

/**
 * Builds the service (`layer` is this as a Layer).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: Effect.Effect<MqttClient["Service"], never, MqttConfig | MqttCredentials> = Effect.gen(function*() {
  const options = yield* MqttConfig
  const provider = yield* MqttCredentials
  const clock = yield* Clock.Clock
  const now = () => clock.currentTimeMillisUnsafe()

  let state: ConnectionState = "idle"
  let epoch = 0
  let connects = 0
  let disconnects = 0
  let tokenRefreshes = 0
  let failedAttempts = 0
  let authFailures = 0
  let authFailuresInARow = 0
  let connectedAtMs: number | undefined
  let disconnectedAtMs: number | undefined
  let outages = 0
  let lastOutageMs: number | undefined
  let longestOutageMs = 0
  let nextAttemptAtMs: number | undefined
  let refreshAtMs: number | undefined
  let lastError: string | undefined
  let credentials: Option.Option<Credentials> | undefined
  const reconnectTimes: Array<number> = []
  let current: Connection | undefined
  let started = false
  let warnedReconnects = false

  const gaveUp = yield* Deferred.make<never, MqttError>()
  const stopRequested = yield* Deferred.make<void>()
  const up = yield* Latch.make(false)

  const reconnectsLastMinute = (at: number) => {
    while (reconnectTimes.length > 0 && reconnectTimes[0]! <= at - MINUTE_MS) reconnectTimes.shift()
    return reconnectTimes.length
  }

  const status = (): Status => {
    const at = now()
    const reconnects = reconnectsLastMinute(at)
    const warnings: Array<string> = []
    if (reconnects > options.reconnectWarningPerMinute) {
      warnings.push(`${reconnects} reconnects in the last minute (more than ${options.reconnectWarningPerMinute})`)
    }
    if (authFailuresInARow > 0) {
      warnings.push(`the broker refused the credentials ${authFailuresInARow} time(s) in a row (gives up at ${options.maxAuthFailures})`)
    }
    const expiresAt = credentials !== undefined && Option.isSome(credentials) ? credentials.value.expiresAtMs : undefined
    return {
      state,
      connected: state === "connected",
      epoch,
      connects,
      disconnects,
      tokenRefreshes,
      failedAttempts,
      authFailures,
      authFailuresInARow,
      reconnectsLastMinute: reconnects,
      connectedForMs: state === "connected" && connectedAtMs !== undefined ? at - connectedAtMs : undefined,
      disconnectedForMs: state !== "connected" && disconnectedAtMs !== undefined ? at - disconnectedAtMs : undefined,
      outages,
      lastOutageMs,
      longestOutageMs,
      nextAttemptInMs: state === "reconnecting" && nextAttemptAtMs !== undefined ? Math.max(0, nextAttemptAtMs - at) : undefined,
      credentialsExpireInMs: expiresAt === undefined ? undefined : expiresAt - at,
      refreshInMs: state === "connected" && refreshAtMs !== undefined ? Math.max(0, refreshAtMs - at) : undefined,
      lastError,
      warnings
    }
  }

  const clientOptions = (creds: Option.Option<Credentials>): IClientOptions => ({
    clientId: options.clientId,
    clean: options.cleanSession,
    protocolVersion: options.protocolVersion,
    keepalive: options.keepaliveSec,
    connectTimeout: options.connectTimeoutMs,
    // Reconnection is this service's: an Effect Schedule, epochs, credentials asked for each time.
    reconnectPeriod: 0,
    resubscribe: false,
    // mqtt.js traces every packet through `debug("mqttjs:client")`, which costs a call, an array and an
    // enabled check per line even when off (~6% of a busy feed's thread); decided per connection, so
    // `DEBUG=mqttjs*` (or `debug.enable` before a reconnect) still shows them.
    ...(createDebug.enabled(MQTTJS_LOG) ? {} : { log: noLog }),
    ...(options.protocolVersion === 5 && !options.cleanSession ? { properties: { sessionExpiryInterval: options.sessionExpirySec } } : {}),
    ...(Option.isSome(creds) ? { username: creds.value.username, password: Redacted.value(creds.value.password) } : {})
  })

  /** One attempt: a new mqtt.js client, until CONNACK (then the epoch rises) or its failure. */
  const connect = (handler: MessageHandler, creds: Option.Option<Credentials>, lost: boolean) =>
    Effect.callback<Connection, MqttError>((resume) => {
      const signal = Deferred.makeUnsafe<Outcome>()
      let connectionEpoch = 0
      let settled = false
      let error: unknown
      let messages = 0
      const client = mqtt.connect(options.url, clientOptions(creds))
      client.on("error", (e) => {
        error = e
      })
      client.on("message", (topic, payload) => {
        messages++
        handler.onMessage(connectionEpoch, topic, payload)
      })
      client.on("connect", () => {
        if (settled) return
        settled = true
        connectionEpoch = ++epoch
        handler.onConnect(connectionEpoch, lost)
        resume(Effect.succeed({ client, epoch: connectionEpoch, signal, messages: () => messages }))
      })
      client.on("close", () => {
        if (settled) {
          Deferred.doneUnsafe(signal, Exit.succeed("lost"))
          return
        }
        settled = true
        // mqtt.js closes first and reports why just after: let the error arrive.
        setTimeout(() => resume(Effect.fail(fromConnectError(error))), 0)
      })
      return Effect.sync(() => {
        if (!settled) client.end(true)
      })
    })

  const subscribe = (connection: Connection) =>
    Effect.callback<void, MqttError>((resume) => {
      const topics = Object.fromEntries(options.topics.map((filter) => [filter, { qos: options.qos }]))
      connection.client.subscribe(topics, (error, granted) => {
        if (error) {
          resume(Effect.fail(new MqttError({ reason: "ConnectFailed", message: `subscribe: ${error.message}` })))
          return
        }
        const refused = (granted ?? []).filter((g) => g.qos >= 128)
        if (refused.length > 0) {
          resume(Effect.fail(new MqttError({
            reason: "SubscribeRefused",
            message: `the broker refused ${refused.map((g) => JSON.stringify(g.topic)).join(", ")}`,
            code: refused[0]!.qos
          })))
          return
        }
        resume(Effect.void)
      })
    }).pipe(
      // The connection may close before SUBACK, or go silent; a persistent session's backlog arrives
      // before the SUBACK (the broker answers in order): messages still arriving keep it waiting.
      (subscribing) =>
        Effect.raceFirst(
          subscribing,
          Effect.raceFirst(
            Deferred.await(connection.signal).pipe(
              Effect.andThen(Effect.fail(new MqttError({ reason: "ConnectFailed", message: "the connection closed before SUBACK" })))
            ),
            silence(connection).pipe(
              Effect.andThen(Effect.fail(new MqttError({ reason: "Timeout", message: `no SUBACK (nor any message) within ${options.connectTimeoutMs} ms` })))
            )
          )
        )
    )

  /**
   * Completes once `connection` has been silent (no message) for `connectTimeoutMs`, looking a few times
   * per timeout (so within a quarter of it more).
   */
  const silence = (connection: Connection) =>
    Effect.gen(function*() {
      const stepMs = Math.max(1, Math.ceil(options.connectTimeoutMs / 4))
      let seen = connection.messages()
      let quietMs = 0
      while (quietMs < options.connectTimeoutMs) {
        yield* Effect.sleep(Duration.millis(stepMs))
        const count = connection.messages()
        quietMs = count === seen ? quietMs + stepMs : 0
        seen = count
      }
    })

  /** Ends a connection: with DISCONNECT when `graceful` (waiting up to a second for the close), else at once. */
  const end = (connection: Connection, graceful: boolean) =>
    Effect.callback<void>((resume) => {
      connection.client.removeAllListeners("message")
      if (connection.client.disconnected || !connection.client.connected) {
        connection.client.end(true, () => resume(Effect.void))
        return
      }
      const timer = setTimeout(() => connection.client.end(true, () => resume(Effect.void)), 1000)
      connection.client.end(!graceful, () => {
        clearTimeout(timer)
        resume(Effect.void)
      })
    })

  const fetchCredentials = provider.get.pipe(
    Effect.tap((creds) => Effect.sync(() => {
      credentials = creds
    }))
  )

  /** Sleeps `ms`, or less if asked to stop. */
  const pause = (ms: number) => Effect.raceFirst(Effect.sleep(Duration.millis(ms)), Deferred.await(stopRequested))

  const stopping = () => Deferred.isDoneUnsafe(stopRequested)

  const run = (handler: MessageHandler) =>
    Effect.gen(function*() {
      const schedule = backoff(options)
      let step = yield* Schedule.toStep(schedule)
      let lost = false
      let forceCredentials = true
      let lostAtMs: number | undefined
      const delayAfter = (e: unknown) =>
        step(now(), e).pipe(
          Effect.map(([, d]) => Duration.toMillis(d)),
          Effect.catch(() => Effect.succeed(options.backoffMaxMs))
        )

      const retryLater = Effect.fnUntraced(function*(e: MqttError) {
        failedAttempts++
        lastError = `${e.reason}: ${e.message}`
        if (e.reason === "AuthRefused" || e.reason === "SubscribeRefused") {
          authFailures++
          authFailuresInARow++
          forceCredentials = true
          if (authFailuresInARow >= options.maxAuthFailures) {
            state = "failed"
            const failure = new MqttError({
              reason: "GaveUp",
              message: `gave up after ${authFailuresInARow} refusals in a row; the last: ${e.reason}: ${e.message}`,
              ...(e.code === undefined ? {} : { code: e.code })
            })
            yield* Effect.logError(`mqtt: ${failure.message}`)
            yield* Deferred.fail(gaveUp, failure)
            return false
          }
        }
        const delay = yield* delayAfter(e)
        nextAttemptAtMs = now() + delay
        yield* Effect.logWarning(`mqtt: ${lastError}; next attempt in ${Math.round(delay)} ms`)
        yield* pause(delay)
        return true
      })

      while (!stopping()) {
        if (state !== "connected") state = connects === 0 ? "connecting" : "reconnecting"
        const expired = credentials !== undefined && Option.isSome(credentials) && credentials.value.expiresAtMs !== undefined &&
          credentials.value.expiresAtMs <= now()
        if (credentials === undefined || forceCredentials || expired) {
          const fetched = yield* Effect.result(fetchCredentials)
          if (Result.isFailure(fetched)) {
            if (!(yield* retryLater(fetched.failure))) return
            continue
          }
          forceCredentials = false
        }
        const attempt = yield* Effect.result(connect(handler, credentials!, lost))
        if (Result.isFailure(attempt)) {
          if (!(yield* retryLater(attempt.failure))) return
          continue
        }
        const connection = attempt.success
        current = connection
        const subscribed = yield* Effect.result(subscribe(connection))
        if (Result.isFailure(subscribed)) {
          yield* end(connection, false)
          current = undefined
          lost = true
          // Stopped while subscribing (a feed done before its SUBACK came): not a failed attempt.
          if (stopping()) return
          if (!(yield* retryLater(subscribed.failure))) return
          continue
        }
        // Connected and subscribed.
        const at = now()
        if (connects > 0) reconnectTimes.push(at)
        connects++
        authFailuresInARow = 0
        if (lostAtMs !== undefined) {
          const outage = at - lostAtMs
          outages++
          lastOutageMs = outage
          if (outage > longestOutageMs) longestOutageMs = outage
          lostAtMs = undefined
        }
        connectedAtMs = at
        state = "connected"
        yield* Latch.open(up)
        yield* Effect.logInfo(`mqtt: connected to ${options.url} (epoch ${connection.epoch}), subscribed to ${options.topics.join(", ")}`)
        const reconnects = reconnectsLastMinute(at)
        if (reconnects > options.reconnectWarningPerMinute && !warnedReconnects) {
          warnedReconnects = true
          yield* Effect.logWarning(`mqtt: ${reconnects} reconnects in the last minute (more than ${options.reconnectWarningPerMinute})`)
        } else if (reconnects <= options.reconnectWarningPerMinute) warnedReconnects = false

        // Hold it until it is lost, due for a refresh, or asked to stop.
        let outcome: Outcome
        for (;;) {
          const expiresAt = Option.isSome(credentials!) ? credentials!.value.expiresAtMs : undefined
          refreshAtMs = expiresAt === undefined
            ? undefined
            : now() + refreshDelayMs(expiresAt, now(), options.tokenRefreshBeforeMs, Math.min(1000, options.backoffInitialMs))
          const refreshDue = refreshAtMs === undefined ? Effect.never : Effect.sleep(Duration.millis(refreshAtMs - now())).pipe(Effect.as("refresh" as const))
          outcome = yield* Effect.raceFirst(Deferred.await(connection.signal), refreshDue)
          if (outcome !== "refresh") break
          // Fresh credentials first, while the connection still serves; if the provider fails, keep it and try again soon.
          const fetched = yield* Effect.result(fetchCredentials)
          if (Result.isSuccess(fetched)) break
          lastError = `${fetched.failure.reason}: ${fetched.failure.message}`
          yield* Effect.logWarning(`mqtt: credentials refresh failed (${lastError}); the connection stays up, retrying`)
          credentials = Option.some({ ...(credentials as Option.Some<Credentials>).value, expiresAtMs: now() + options.backoffInitialMs * 2 })
        }
        yield* Latch.close(up)
        current = undefined
        refreshAtMs = undefined
        const heldMs = now() - at
        if (outcome === "stop") {
          yield* end(connection, true)
          break
        }
        if (outcome === "refresh") {
          // Planned: whatever closes the old connection now is part of the rotation.
          tokenRefreshes++
          yield* end(connection, true)
          lost = false
          disconnectedAtMs = now()
          yield* Effect.logInfo(`mqtt: reconnecting with refreshed credentials (epoch ${connection.epoch} ends)`)
          continue
        }
        // Lost.
        yield* end(connection, false)
        disconnects++
        lost = true
        lostAtMs = now()
        disconnectedAtMs = lostAtMs
        state = "reconnecting"
        if (heldMs >= options.backoffResetAfterMs) step = yield* Schedule.toStep(schedule)
        const delay = yield* delayAfter("lost")
        nextAttemptAtMs = now() + delay
        lastError = `connection lost after ${heldMs} ms`
        yield* Effect.logWarning(`mqtt: connection lost (epoch ${connection.epoch}, held ${heldMs} ms); reconnecting in ${Math.round(delay)} ms`)
        yield* pause(delay)
      }
      state = "stopped"
    })

  let loop: Fiber.Fiber<void> | undefined

  const stop = Effect.gen(function*() {
    yield* Deferred.succeed(stopRequested, undefined)
    if (current !== undefined) Deferred.doneUnsafe(current.signal, Exit.succeed("stop"))
    if (loop !== undefined) yield* Fiber.await(loop)
    state = state === "failed" ? "failed" : "stopped"
  })

  return MqttClient.of({
    options,
    status,
    epoch: () => epoch,
    start: (handler) =>
      Effect.gen(function*() {
        if (started) return yield* Effect.die(new Error("MqttClient.start: this client was already started"))
        started = true
        loop = yield* Effect.forkScoped(run(handler), { startImmediately: true })
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            if (current !== undefined) current.client.end(true)
          })
        )
      }),
    connected: Effect.raceFirst(Latch.await(up).pipe(Effect.map(() => epoch)), Deferred.await(gaveUp)),
    refresh: Effect.sync(() => {
      if (current !== undefined) Deferred.doneUnsafe(current.signal, Exit.succeed("refresh"))
    }),
    stop,
    failure: Deferred.await(gaveUp)
  })
})

/**
 * The client, from `MqttConfig` and `MqttCredentials`. Building it connects nothing: `start` does.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<MqttClient, never, MqttConfig | MqttCredentials> = Layer.effect(MqttClient, make)
