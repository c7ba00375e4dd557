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
import { type ChildProcess, spawn } from "node:child_process"
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { Effect, Redacted, Schema, type Scope } from "effect"

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

const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"]

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The path of `nats-server`: `$NATS_SERVER` when set, else PATH, then the sbin directories;
 * undefined when there is none.
 *
 * @category constructors
 * @since 0.1.0
 */
export const find = (): string | undefined => {
  const override = process.env["NATS_SERVER"]
  if (override !== undefined && override !== "") return isExecutable(override) ? override : undefined
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== ""), ...SBIN]
  return dirs.map((d) => join(d, "nats-server")).find(isExecutable)
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago.
 *
 * @category constructors
 * @since 0.1.0
 */
export const freePort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

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
    const port = options.port ?? (yield* freePort)
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

    let child: ChildProcess | undefined
    let output = ""
    // Times it said it was ready: once per start.
    let readies = 0
    const heard = (chunk: string) => {
      if (chunk.includes("Server is ready")) readies++
      output = (output + chunk).slice(-65_536)
    }
    const startTimeoutMs = options.startTimeoutMs ?? 15_000

    const exited = (c: ChildProcess) =>
      Effect.callback<void>((resume) => {
        if (c.exitCode !== null || c.signalCode !== null) resume(Effect.void)
        else c.once("exit", () => resume(Effect.void))
      })

    const launch: Effect.Effect<void, NatsServerError> = Effect.gen(function*() {
      const before = readies
      const c = spawn(binary, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] })
      child = c
      c.stdout.setEncoding("utf8").on("data", heard)
      c.stderr.setEncoding("utf8").on("data", heard)
      c.on("error", (e) => heard(`spawn error: ${e.message}\n`))
      const alive = () => c.exitCode === null && c.signalCode === null
      // "Server is ready" comes after JetStream has recovered its store and the listener is open.
      const ready = Effect.gen(function*() {
        while (alive() && readies === before) yield* Effect.sleep("20 millis")
        return alive()
      })
      const up = yield* ready.pipe(Effect.timeoutOption(startTimeoutMs))
      if (up._tag === "None" || !up.value) {
        c.kill("SIGKILL")
        return yield* new NatsServerError({
          reason: "StartFailed",
          message: `nats-server did not start on port ${port} (exit ${c.exitCode ?? c.signalCode ?? "none yet"}): ${output.trim().split("\n").slice(-5).join(" | ")}`
        })
      }
    })

    const kill = Effect.gen(function*() {
      const c = child
      if (c === undefined) return
      c.kill("SIGKILL")
      yield* exited(c)
    })
    const stop = Effect.gen(function*() {
      const c = child
      if (c === undefined) return
      c.kill("SIGTERM")
      const done = yield* exited(c).pipe(Effect.timeoutOption("10 seconds"))
      if (done._tag === "None") yield* kill
    })

    yield* Effect.acquireRelease(launch, () => stop)

    const server: Server = {
      url: `nats://127.0.0.1:${port}`,
      port,
      directory,
      pid: () => child?.pid,
      running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      start: Effect.suspend(() => (server.running() ? Effect.void : launch)),
      kill,
      stop,
      log: () => output
    }
    return server
  })
