/**
 * The operations surface of a running pipeline, over HTTP on `effect/http` and `NodeHttpServer`:
 *
 * | path         | answers                                                                            |
 * |--------------|------------------------------------------------------------------------------------|
 * | `/health`    | liveness: 200 while the process serves, with `handle.health()` as JSON             |
 * | `/ready`     | readiness: 200 when running with every stage healthy; 503 while starting, draining, |
 * |              | after the run, or with a failed or stopped stage; the JSON body says why            |
 * | `/metrics`   | Prometheus text: stages, rings, latency histograms, errors, the process            |
 * | `/stats`     | JSON: `handle.stats()` plus health, a distinct-error table per stage, the process  |
 * | `/ws`        | WebSocket: a `hello` frame (recent history), then the `/stats` body every interval |
 * | `/dashboard` | a live page (inline HTML, CSS, SVG and JS: nothing downloaded) fed by `/ws`        |
 *
 * Every figure is read from the pipeline's shared-memory counters when it is asked for (and by one
 * sampling fiber per interval, for history): the stage loops never do anything for it.
 *
 * Unknown paths get 404, other methods than GET/HEAD 405 (with `Allow`), a frame over
 * `maxWsInputBytes` on `/ws` closes that socket with 1009; a failing handler answers 500 and is
 * logged. Binds 127.0.0.1 by default.
 *
 * A program extends it rather than running a second server (an {@link Extension}): routes of its own
 * (which take a path from the ops surface, e.g. a `/health` that answers `OK`), readiness checks that
 * `/ready` adds to the pipeline's (503 "feed stale"), Prometheus text appended to `/metrics`, fields
 * added to `/stats`, and the path of the stats WebSocket (the dashboard follows it), so that `/ws` is
 * free for the program's own.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import { Cause, Config, Context, Duration, Effect, Exit, Layer, LogLevel, Schedule, Schema, type Scope } from "effect"
import { HttpRouter, HttpServer, type HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { Socket } from "effect/socket"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { Pipeline } from "@velox/core"
import { dashboardHtml } from "./internal/dashboardPage.ts"
import { Sampler, statsBody } from "./internal/opsView.ts"
import { ProcessMonitor } from "./internal/processMetrics.ts"
import { formatMetrics } from "./internal/prometheusText.ts"

// ---------------------------------------------------------------------------------------------------
// Configuration

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** Interface to bind. Default `127.0.0.1` (this machine only). */
  readonly host: string
  /** TCP port; `0` picks a free one (read it back from `PipelineServer.port`). Default 9464. */
  readonly port: number
  /** How often `/ws` sends a stats frame, and the sampling period of the history. Default 1 second. */
  readonly wsInterval: Duration.Duration
  /** Largest frame a `/ws` client may send; a bigger one closes its socket with 1009. Default 4096. */
  readonly maxWsInputBytes: number
}

/**
 * The server's options, as a service.
 *
 * @category services
 * @since 0.1.0
 */
export class ServerConfig extends Context.Service<ServerConfig, Options>()("@velox/node/NodePipelineServer/ServerConfig") {}

/**
 * `VELOX_HTTP_HOST` (default `127.0.0.1`), `VELOX_HTTP_PORT` (default 9464), `VELOX_WS_INTERVAL` (a
 * duration such as `500 millis`; default `1 second`), `VELOX_WS_MAX_INPUT_BYTES` (default 4096).
 *
 * @category constructors
 * @since 0.1.0
 */
export const config: Config.Config<Options> = Config.all({
  host: Config.String("VELOX_HTTP_HOST").pipe(Config.withDefault("127.0.0.1")),
  // Int, not Port: 0 (a free port) is allowed; the range is checked with the rest below.
  port: Config.Int("VELOX_HTTP_PORT").pipe(Config.withDefault(9464)),
  wsInterval: Config.Duration("VELOX_WS_INTERVAL").pipe(Config.withDefault(Duration.seconds(1))),
  maxWsInputBytes: Config.Int("VELOX_WS_MAX_INPUT_BYTES").pipe(Config.withDefault(4096))
})

/** Bounds that keep a stats stream a stream and not a busy loop. */
const MIN_INTERVAL_MS = 20
const MAX_INTERVAL_MS = 60_000

/**
 * A server option outside its range: names the key, the value and the rule.
 *
 * @category errors
 * @since 0.1.0
 */
export class ServerConfigError extends Schema.TaggedError<ServerConfigError>()("ServerConfigError", {
  key: Schema.String,
  value: Schema.String,
  rule: Schema.String
}) {
  override get message(): string {
    return `${this.key}=${this.value}: ${this.rule}`
  }
}

/**
 * The server could not listen (the port is taken, the host is not this machine's, …): names the
 * address and the system's reason.
 *
 * @category errors
 * @since 0.1.0
 */
export class ServerListenError extends Schema.TaggedError<ServerListenError>()("ServerListenError", {
  host: Schema.String,
  port: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `the ops server cannot listen on ${this.host}:${this.port}: ${this.reason}`
  }
}

/** "listen EADDRINUSE: address already in use 127.0.0.1:9464" → "address already in use (EADDRINUSE)". */
const listenReason = (error: HttpServerError.ServeError): string => {
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined
  const code = typeof cause?.code === "string" ? cause.code : undefined
  const text = typeof cause?.message === "string" ? cause.message : String(error.cause)
  if (code === undefined) return text
  const said = text.replace(new RegExp(`^\\w+ ${code}: `), "").replace(/ \S+:\d+$/, "")
  return `${said} (${code})`
}

const validate = (options: Options): Effect.Effect<Options, ServerConfigError> => {
  const intervalMs = Duration.toMillis(options.wsInterval)
  const bad = (key: string, value: unknown, rule: string) => Effect.fail(new ServerConfigError({ key, value: String(value), rule }))
  if (!(intervalMs >= MIN_INTERVAL_MS && intervalMs <= MAX_INTERVAL_MS)) {
    return bad("VELOX_WS_INTERVAL", `${intervalMs} millis`, `must be between ${MIN_INTERVAL_MS} ms and ${MAX_INTERVAL_MS / 1000} s`)
  }
  if (!(Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535)) {
    return bad("VELOX_HTTP_PORT", options.port, "must be an integer in 0..65535")
  }
  if (!(Number.isInteger(options.maxWsInputBytes) && options.maxWsInputBytes >= 64)) {
    return bad("VELOX_WS_MAX_INPUT_BYTES", options.maxWsInputBytes, "must be an integer ≥ 64")
  }
  return Effect.succeed(options)
}

/**
 * The server's options from the environment (`config`), with `overrides` on top (e.g. a `--http`
 * flag), validated.
 *
 * @example
 * ```ts
 * import { NodePipelineServer } from "@velox/node"
 *
 * // VELOX_HTTP_HOST / VELOX_WS_INTERVAL from the environment, the port from a flag:
 * const configLayer = NodePipelineServer.layerConfig({ port: 9464 })
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (overrides: Partial<Options> = {}): Layer.Layer<ServerConfig, Config.ConfigError | ServerConfigError> =>
  Layer.effect(ServerConfig, Effect.flatMap(config, (options) => validate({ ...options, ...overrides })))

// ---------------------------------------------------------------------------------------------------
// The server

/**
 * A running operations server.
 *
 * @category services
 * @since 0.1.0
 */
export class PipelineServer extends Context.Service<PipelineServer, {
  /** `http://host:port`, as bound. */
  readonly url: string
  readonly port: number
  /** Serves this pipeline from now on (a server starts with none: `/ready` says so). */
  readonly attach: (handle: Pipeline.PipelineHandle) => Effect.Effect<void>
}>()("@velox/node/NodePipelineServer/PipelineServer") {}

/**
 * One route: a path and what answers it (GET and HEAD; other methods get 405).
 *
 * @category models
 * @since 0.1.0
 */
export interface Route {
  readonly path: HttpRouter.PathInput
  /** Its query is `HttpServerRequest.ParsedSearchParams`, parsed once by the router. */
  readonly handler: Effect.Effect<
    HttpServerResponse.HttpServerResponse,
    unknown,
    HttpServerRequest.HttpServerRequest | HttpServerRequest.ParsedSearchParams | Scope.Scope
  >
}

/**
 * What a program adds to the operations surface. Every function is called on the main thread when a
 * request asks for it: read shared memory there, never block.
 *
 * @category models
 * @since 0.1.0
 */
export interface Extension {
  /** More routes; one with a path the ops surface also serves replaces the ops route. */
  readonly routes?: ReadonlyArray<Route>
  /** Checks `/ready` adds to the pipeline's health: each returns a reason not to be ready, or undefined. */
  readonly readiness?: ReadonlyArray<() => string | undefined>
  /** Prometheus text (`# HELP`, `# TYPE` and samples) appended to `/metrics`. */
  readonly metrics?: () => string
  /** Fields added to the `/stats` body (and each stats frame). */
  readonly stats?: () => Readonly<Record<string, unknown>>
  /** Where the stats WebSocket is served (default `/ws`); the dashboard connects there. */
  readonly statsPath?: `/${string}`
}

const ALLOW = "GET, HEAD"

const json = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json; charset=utf-8", headers: { "cache-control": "no-store" } })

/**
 * Starts the server in the current scope, serving `handle` if given (else see `attach`). It stops
 * when the scope closes: to keep answering `/ready` with 503 "draining" while the pipeline drains,
 * give it a scope that outlives the pipeline's (`layer` does).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { NodePipelineRuntime, NodePipelineServer } from "@velox/node"
 *
 * declare const pipeline: Pipeline.Pipeline
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   const server = yield* NodePipelineServer.make(handle)
 *   yield* Effect.logInfo(`dashboard: ${server.url}/dashboard`)
 *   yield* handle.done
 * }).pipe(Effect.provide(NodePipelineServer.layerConfig())))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function*(handle?: Pipeline.PipelineHandle, extension: Extension = {}) {
  const options = yield* ServerConfig
  const statsPath = extension.statsPath ?? "/ws"
  const extraStats = extension.stats ?? (() => ({}))
  let current: Pipeline.PipelineHandle | undefined = handle
  const intervalMs = Duration.toMillis(options.wsInterval)
  const monitor = yield* Effect.acquireRelease(Effect.sync(() => new ProcessMonitor()), (m) => Effect.sync(() => m.close()))
  // Two minutes of history at the default interval; at most 600 points.
  const sampler = new Sampler(monitor, Math.min(600, Math.max(10, Math.ceil(120_000 / intervalMs))))
  const sample = Effect.sync(() => sampler.tick(current, Date.now()))
  yield* sample
  yield* sample.pipe(Effect.repeat(Schedule.spaced(options.wsInterval)), Effect.forkScoped)

  const stats = () => (current === undefined ? undefined : { ...statsBody(current, sampler.process(), Date.now()), ...extraStats() })

  /** The pipeline's reasons not to be ready, then the extension's. */
  const readiness = (h: Pipeline.Health): { readonly ready: boolean; readonly reasons: ReadonlyArray<string> } => {
    const extra = (extension.readiness ?? []).map((check) => check()).filter((r): r is string => r !== undefined)
    return { ready: h.ready && extra.length === 0, reasons: [...h.reasons, ...extra] }
  }

  const health = Effect.sync(() =>
    current === undefined
      ? json({ alive: true, pipeline: "none attached" })
      : json({ alive: true, ...current.health() })
  )

  const ready = Effect.sync(() => {
    if (current === undefined) {
      return json({ ready: false, status: "starting", reasons: ["no pipeline attached yet"] }, 503)
    }
    const h = current.health()
    const { ready: isReady, reasons } = readiness(h)
    return json({ ready: isReady, status: h.status, reasons }, isReady ? 200 : 503)
  })

  const metrics = Effect.sync(() =>
    HttpServerResponse.text(
      formatMetrics({
        snapshot: current?.stats(),
        health: current?.health(),
        errors: current?.errorSummary() ?? [],
        idleRatio: sampler.idleRatio,
        process: sampler.process()
      }) + (extension.metrics?.() ?? ""),
      { contentType: "text/plain; version=0.0.4; charset=utf-8", headers: { "cache-control": "no-store" } }
    )
  )

  const statsRoute = Effect.sync(() => {
    const body = stats()
    return body === undefined ? json({ error: "no pipeline attached yet" }, 503) : json(body)
  })

  // The page connects to `/ws`; a moved stats socket moves it too.
  const page = statsPath === "/ws" ? dashboardHtml : dashboardHtml.replace(`location.host + "/ws"`, `location.host + ${JSON.stringify(statsPath)}`)
  const dashboard = Effect.succeed(
    HttpServerResponse.text(page, {
      contentType: "text/html; charset=utf-8",
      headers: {
        "cache-control": "no-store",
        // Everything is inline and the page talks only to this server.
        "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'"
      }
    })
  )

  /** One WebSocket client: a hello with the history, then a stats frame every interval until it leaves. */
  const ws = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (request.headers["upgrade"]?.toLowerCase() !== "websocket") {
      return HttpServerResponse.text(`${statsPath} is a WebSocket endpoint: connect with Upgrade: websocket\n`, {
        status: 426,
        headers: { upgrade: "websocket" }
      })
    }
    const asked = new URL(request.url, "http://localhost").searchParams.get("intervalMs")
    let everyMs = asked === null ? intervalMs : Number(asked)
    if (!(everyMs >= MIN_INTERVAL_MS && everyMs <= MAX_INTERVAL_MS)) {
      return HttpServerResponse.text(`intervalMs must be a number of milliseconds in ${MIN_INTERVAL_MS}..${MAX_INTERVAL_MS}\n`, { status: 400 })
    }
    const socket = yield* request.upgrade
    const outcome = yield* Effect.scoped(Effect.gen(function*() {
      const pull = yield* Socket.readerString(socket)
      const writer = yield* socket.writer
      const send = (body: unknown) => writer.write(JSON.stringify(body))
      yield* Effect.logDebug("ws client connected")
      yield* send({ type: "hello", intervalMs: everyMs, history: current === undefined ? [] : sampler.history(), stages: current?.stats().stages.map((s) => s.stage) ?? [] })
      // Clients may ask for another rate: {"intervalMs": 250}. Anything else is answered, not obeyed.
      const onMessage = (text: string) => {
        let asked: unknown
        try {
          asked = JSON.parse(text)
        } catch {
          asked = undefined
        }
        const ms = typeof asked === "object" && asked !== null ? (asked as { intervalMs?: unknown }).intervalMs : undefined
        if (typeof ms === "number" && ms >= MIN_INTERVAL_MS && ms <= MAX_INTERVAL_MS) {
          everyMs = ms
          return Effect.void
        }
        return send({ type: "error", message: `expected {"intervalMs": ${MIN_INTERVAL_MS}..${MAX_INTERVAL_MS}}` })
      }
      const reading = pull.pipe(Effect.flatMap((frames) => Effect.forEach(frames, onMessage, { discard: true })), Effect.forever)
      const writing = Effect.suspend(() => {
        const body = stats()
        return send(body === undefined ? { type: "waiting", atMs: Date.now() } : { type: "stats", ...body })
      }).pipe(Effect.andThen(Effect.suspend(() => Effect.sleep(everyMs))), Effect.forever)
      return yield* Effect.raceFirst(reading, writing).pipe(Effect.exit)
    })).pipe(Effect.exit)
    yield* logSocketEnd(outcome)
    return HttpServerResponse.empty()
  })

  const own: ReadonlyArray<Route> = [
    { path: "/health", handler: health },
    { path: "/ready", handler: ready },
    { path: "/metrics", handler: metrics },
    { path: "/stats", handler: statsRoute },
    { path: statsPath, handler: ws },
    { path: "/dashboard", handler: dashboard },
    { path: "/", handler: Effect.succeed(HttpServerResponse.redirect("/dashboard")) }
  ]
  const added = extension.routes ?? []
  const routes: ReadonlyArray<Route> = [...own.filter((r) => !added.some((a) => a.path === r.path)), ...added]
  const app = HttpRouter.addAll([
    ...routes.map((r) => HttpRouter.route("*", r.path, guarded(r))),
    HttpRouter.route("*", "/*", logged(Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      return HttpServerResponse.text(`not found: ${new URL(request.url, "http://localhost").pathname}\n`, { status: 404 })
    })))
  ])
  const built = yield* Layer.build(
    HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provideMerge(
        NodeHttpServer.layerServer(createServer, {
          host: options.host,
          port: options.port,
          websocket: { maxPayload: options.maxWsInputBytes },
          gracefulShutdownTimeout: Duration.seconds(1)
        })
      )
    )
  ).pipe(
    Effect.mapError((e) => new ServerListenError({ host: options.host, port: options.port, reason: listenReason(e) }))
  )
  const server = Context.get(built, HttpServer.HttpServer)
  const address = server.address
  const port = address._tag === "UnixPathAddress" ? 0 : address.port
  const url = HttpServer.formatAddress(address)
  yield* Effect.logInfo(`ops server on ${url}: ${routes.filter((r) => r.path !== "/").map((r) => r.path).join(" ")}`)
  return PipelineServer.of({
    url,
    port,
    attach: (next) => Effect.sync(() => {
      current = next
    })
  })
})

/** Logs how a WebSocket client left: a normal close at Debug, an oversized frame (1009) at Warn. */
const logSocketEnd = (outcome: Exit.Exit<Exit.Exit<never, unknown>, unknown>) => {
  const inner = Exit.isSuccess(outcome) ? outcome.value : outcome
  if (Exit.isSuccess(inner)) return Effect.void
  const error = Cause.squash(inner.cause)
  if (Socket.isSocketError(error) && isOversized(error)) {
    return Effect.logWarning("ws client sent a frame over the input limit: closed with 1009")
  }
  return Effect.logDebug("ws client left")
}

/** `ws` refuses a frame over `maxPayload` with WS_ERR_UNSUPPORTED_MESSAGE_LENGTH and closes with 1009. */
const isOversized = (error: Socket.SocketError): boolean => {
  const reason = error.reason as { readonly _tag: string; readonly code?: number; readonly cause?: { readonly error?: { readonly code?: unknown } } }
  return (reason._tag === "SocketCloseError" && reason.code === 1009) ||
    reason.cause?.error?.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"
}

/**
 * Answers 405 to other methods than GET and HEAD, turns a failure into a logged 500, and logs the
 * request at Debug; below Debug a request pays for none of that log line (path, timing, annotations).
 */
const guarded = (route: Route) => logged(route.handler, route.path)

const logged = (handler: Route["handler"], path?: HttpRouter.PathInput) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (path !== undefined && request.method !== "GET" && request.method !== "HEAD") {
      return HttpServerResponse.text(`${request.method} is not allowed on ${path}; use GET\n`, { status: 405, headers: { allow: ALLOW } })
    }
    const started = performance.now()
    const response = yield* handler.pipe(
      Effect.catchCause((cause) =>
        Effect.logError("request failed", cause).pipe(Effect.as(HttpServerResponse.text("internal error\n", { status: 500 })))
      )
    )
    if (yield* LogLevel.isEnabled("Debug")) {
      yield* Effect.logDebug("http request").pipe(
        Effect.annotateLogs({
          method: request.method,
          path: new URL(request.url, "http://localhost").pathname,
          status: response.status,
          ms: Math.round((performance.now() - started) * 100) / 100
        })
      )
    }
    return response
  })

/**
 * The server as a layer, serving whichever pipeline is attached with `attach`. Built outside a
 * program's scope, it keeps serving while that program's pipelines drain (`/ready`: 503 "draining").
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { NodePipelineRuntime, NodePipelineServer } from "@velox/node"
 *
 * declare const pipeline: Pipeline.Pipeline
 * const program = Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   yield* NodePipelineServer.attach(handle)
 *   yield* handle.done
 * })
 * // Effect.scoped first: the pipeline drains before the server (built around it) stops.
 * NodePipelineRuntime.runMain(program.pipe(
 *   Effect.scoped,
 *   Effect.provide(NodePipelineServer.layer.pipe(Layer.provide(NodePipelineServer.layerConfig({ port: 9464 }))))
 * ))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<PipelineServer, ServerListenError, ServerConfig> = Layer.effect(PipelineServer, make())

/**
 * {@link layer} with a program's {@link Extension}: its routes, readiness checks, metrics and stats.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { HttpServerResponse } from "effect/http"
 * import { NodePipelineServer } from "@velox/node"
 *
 * const server = NodePipelineServer.layerWith({
 *   routes: [{ path: "/health", handler: Effect.succeed(HttpServerResponse.text("OK")) }],
 *   readiness: [() => (Math.random() < 2 ? undefined : "never")],
 *   statsPath: "/ops/ws"
 * }).pipe(Layer.provide(NodePipelineServer.layerConfig({ port: 7999 })))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (extension: Extension): Layer.Layer<PipelineServer, ServerListenError, ServerConfig> =>
  Layer.effect(PipelineServer, make(undefined, extension))

/**
 * Serves `handle` on the `PipelineServer` in context.
 *
 * @category constructors
 * @since 0.1.0
 */
export const attach = (handle: Pipeline.PipelineHandle): Effect.Effect<void, never, PipelineServer> =>
  PipelineServer.use((server) => server.attach(handle))
