/**
 * A local `nats-server` with JetStream for tests, drills, benchmarks and demos: started on a free
 * port (or the one given) with a generated config and a temporary store directory, and stopped with
 * its scope. It can be killed (`kill -9`) and started again on the same port and store, so what
 * JetStream had stored is still there, or stopped cleanly.
 *
 * `nats-server` is found at `$NATS_SERVER`, on PATH, or in the sbin directories (Debian puts it in
 * /usr/sbin).
 *
 * @since 0.1.0
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Redacted, Schema, type Scope } from "effect"
import { NodeServerProcess } from "@velox/node"

/**
 * The server could not be found or started.
 *
 * @category errors
 * @since 0.1.0
 */
export class NatsServerError extends Schema.TaggedError<NatsServerError>()("NatsServerError", {
  reason: Schema.Literals(["NotFound", "StartFailed"]),
  message: Schema.String
}) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** TCP port on 127.0.0.1; default: a free one. */
  readonly port?: number | undefined
  /** A user and password every client must give (anonymous clients are then refused). */
  readonly user?: { readonly name: string; readonly password: Redacted.Redacted<string> } | undefined
  /** JetStream's file store limit in bytes (default 1 GiB). */
  readonly maxFileBytes?: number | undefined
  /** More lines for the config file. */
  readonly config?: ReadonlyArray<string> | undefined
  /** How long a start may take before it fails. Default 15 s. */
  readonly startTimeoutMs?: number | undefined
  /**
   * The server gets SIGTERM when the thread that started it dies, even by `kill -9`, so that a demo's
   * server does not outlive its program (`NodeServerProcess`'s option of that name). Default false.
   */
  readonly exitWithParent?: boolean | undefined
}

/**
 * A running server.
 *
 * @category models
 * @since 0.1.0
 */
export interface Server {
  /** `nats://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** Its config and JetStream store (`store/`): removed when the scope closes. */
  readonly directory: string
  readonly pid: () => number | undefined
  /** Started and not killed or stopped. */
  readonly running: () => boolean
  /** Starts it again on the same port and store after `kill` or `stop`; returns once JetStream is ready. */
  readonly start: Effect.Effect<void, NatsServerError>
  /** SIGKILL: gone at once, connections reset; returns once it exited. */
  readonly kill: Effect.Effect<void>
  /** SIGTERM: a clean shutdown; returns once it exited. */
  readonly stop: Effect.Effect<void>
  /** The last 64 KiB of what it logged. */
  readonly log: () => string
}

/**
 * The path of `nats-server`: `$NATS_SERVER` when set, else PATH, then the sbin directories;
 * undefined when there is none.
 *
 * @category constructors
 * @since 0.1.0
 */
export const find = (): string | undefined => NodeServerProcess.find("nats-server", "NATS_SERVER")

/** What the server logs once it is ready, each start. */
const READY = "Server is ready"

/** A string in the server's config syntax. */
const quoted = (s: string): string => JSON.stringify(s)

/**
 * Starts a server with JetStream in the current scope (stopped, and its directory removed, when the
 * scope closes).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NatsServer } from "@velox/nats"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const server = yield* NatsServer.start()
 *   console.log(server.url) // nats://127.0.0.1:40213
 *   yield* server.kill
 *   yield* server.start // the same port and store again
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (options: Options = {}): Effect.Effect<Server, NatsServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const binary = find()
    if (binary === undefined) {
      return yield* new NatsServerError({ reason: "NotFound", message: "nats-server not found (Debian package nats-server; or set $NATS_SERVER)" })
    }
    const port = options.port ?? (yield* NodeServerProcess.freePort)
    const directory = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "velox-nats-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const configFile = join(directory, "nats-server.conf")
    writeFileSync(configFile, [
      `listen: "127.0.0.1:${port}"`,
      `server_name: ${quoted(`velox-${port}`)}`,
      "jetstream {",
      `  store_dir: ${quoted(join(directory, "store"))}`,
      "  max_memory_store: 268435456",
      `  max_file_store: ${options.maxFileBytes ?? 1_073_741_824}`,
      "}",
      // Large enough for a batch of records per message.
      "max_payload: 8388608",
      ...(options.user === undefined ? [] : [
        "authorization {",
        `  user: ${quoted(options.user.name)}`,
        `  password: ${quoted(Redacted.value(options.user.password))}`,
        "}"
      ]),
      ...(options.config ?? []),
      ""
    ].join("\n"))

    const child = yield* NodeServerProcess.start({
      name: `nats-server on port ${port}`,
      command: binary,
      args: ["-c", configFile],
      // "Server is ready" comes after JetStream has recovered its store and the listener is open.
      ready: (said) => {
        const before = said(READY)
        return Effect.sync(() => said(READY) > before)
      },
      watch: [READY],
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
      stopTimeoutMs: 10_000,
      exitWithParent: options.exitWithParent
    }).pipe(Effect.mapError((e) => new NatsServerError({ reason: "StartFailed", message: e.message })))

    const server: Server = {
      url: `nats://127.0.0.1:${port}`,
      port,
      directory,
      pid: child.pid,
      running: child.running,
      start: child.start.pipe(Effect.mapError((e) => new NatsServerError({ reason: "StartFailed", message: e.message }))),
      kill: child.kill,
      stop: child.stop,
      log: child.log
    }
    return server
  })
