/**
 * A local `mosquitto` broker for tests, drills and demos: started on a free port (or the one given)
 * with a generated config (and a password file when given users) in a temporary directory, and
 * stopped with its scope. It can be killed and started again on the same port, frozen (SIGSTOP) and
 * thawed, and given new passwords (the file rewritten with `mosquitto_passwd`, then SIGHUP: mosquitto
 * reloads it and disconnects clients whose credentials no longer hold).
 *
 * `mosquitto` is found on PATH or in the sbin directories (Debian puts it in /usr/sbin), or at
 * `$MOSQUITTO`; `mosquitto_passwd` likewise (`$MOSQUITTO_PASSWD`).
 *
 * @since 0.1.0
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Redacted, Schema, type Scope } from "effect"
import { NodeServerProcess } from "@velox/node"

/**
 * The broker could not be started, reloaded or found.
 *
 * @category errors
 * @since 0.1.0
 */
export class MosquittoError extends Schema.TaggedError<MosquittoError>()("MosquittoError", {
  reason: Schema.Literals(["NotFound", "StartFailed", "ReloadFailed"]),
  message: Schema.String
}) {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** TCP port on 127.0.0.1; default: a free one. */
  readonly port?: number | undefined
  /** Users and their passwords: anonymous clients are then refused. */
  readonly users?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
  /** More lines for mosquitto.conf. */
  readonly config?: ReadonlyArray<string> | undefined
  /** How long a start may take before it fails. Default 10 s. */
  readonly startTimeoutMs?: number | undefined
  /**
   * The broker gets SIGTERM when the thread that started it dies, even by `kill -9` (`NodeServerProcess`'s
   * option of that name). Default false.
   */
  readonly exitWithParent?: boolean | undefined
}

/**
 * A running broker.
 *
 * @category models
 * @since 0.1.0
 */
export interface Broker {
  /** `mqtt://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** Where its config, password file and nothing else live. */
  readonly directory: string
  readonly pid: () => number | undefined
  /** Started and not killed or stopped. */
  readonly running: () => boolean
  /** Starts it again (on the same port) after `kill` or `stop`; returns once it accepts connections. */
  readonly start: Effect.Effect<void, MosquittoError>
  /** SIGKILL: gone at once, connections reset; returns once it exited. */
  readonly kill: Effect.Effect<void>
  /** SIGTERM: a clean shutdown; returns once it exited. */
  readonly stop: Effect.Effect<void>
  /** SIGSTOP: it stops answering, connections stay open. */
  readonly freeze: Effect.Effect<void>
  /** SIGCONT. */
  readonly thaw: Effect.Effect<void>
  /** Rewrites `user`'s password and reloads (SIGHUP); returns once mosquitto says it reloaded. */
  readonly setPassword: (user: string, password: string | Redacted.Redacted<string>) => Effect.Effect<void, MosquittoError>
  /** What it logged. */
  readonly log: () => string
}

/**
 * The path of `command` (`mosquitto`, `mosquitto_passwd`): `$MOSQUITTO` / `$MOSQUITTO_PASSWD` when
 * set, else PATH, then the sbin directories; undefined when there is none.
 *
 * @category constructors
 * @since 0.1.0
 */
export const find = (command: "mosquitto" | "mosquitto_passwd"): string | undefined =>
  NodeServerProcess.find(command, command.toUpperCase())

const require = (command: "mosquitto" | "mosquitto_passwd") => {
  const path = find(command)
  return path === undefined
    ? Effect.fail(new MosquittoError({ reason: "NotFound", message: `${command} not found (Debian package mosquitto; or set $${command.toUpperCase()})` }))
    : Effect.succeed(path)
}

/** What mosquitto logs when SIGHUP made it read its config again. */
const RELOADED = "Reloading config"

const reveal = (p: string | Redacted.Redacted<string>): string => (typeof p === "string" ? p : Redacted.value(p))

/**
 * Starts a broker in the current scope (stopped when it closes).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Mosquitto } from "@velox/mqtt"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const broker = yield* Mosquitto.start({ users: { feed: "s3cret" } })
 *   console.log(broker.url) // mqtt://127.0.0.1:40213
 *   yield* broker.kill
 *   yield* broker.start // the same port again
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (options: Options = {}): Effect.Effect<Broker, MosquittoError, Scope.Scope> =>
  Effect.gen(function*() {
    const mosquitto = yield* require("mosquitto")
    const users = Object.entries(options.users ?? {})
    const passwd = users.length > 0 ? yield* require("mosquitto_passwd") : undefined
    const port = options.port ?? (yield* NodeServerProcess.freePort)
    const directory = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "velox-mosquitto-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const passwordFile = join(directory, "passwords")
    const runPasswd = (args: ReadonlyArray<string>) => {
      const r = spawnSync(passwd!, args, { encoding: "utf8" })
      return r.status === 0 ? undefined : `mosquitto_passwd failed (${r.status ?? r.signal}): ${r.stderr.trim()}`
    }
    for (const [i, [user, password]] of users.entries()) {
      const failed = runPasswd([...(i === 0 ? ["-c"] : []), "-b", passwordFile, user, reveal(password)])
      if (failed !== undefined) return yield* new MosquittoError({ reason: "StartFailed", message: failed })
    }
    const configFile = join(directory, "mosquitto.conf")
    writeFileSync(configFile, [
      `listener ${port} 127.0.0.1`,
      users.length > 0 ? `allow_anonymous false\npassword_file ${passwordFile}` : "allow_anonymous true",
      // Run as root (a container, CI), mosquitto would switch to the user `mosquitto`, which cannot read
      // this private directory: it stays who started it.
      ...(process.getuid?.() === 0 ? ["user root"] : []),
      "persistence false",
      // No per-client queue limit: a drill that floods a slow client wants every message to reach it.
      "max_queued_messages 0",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      "log_type notice",
      "log_type information",
      ...(options.config ?? []),
      ""
    ].join("\n"))

    const startTimeoutMs = options.startTimeoutMs ?? 10_000
    const server = yield* NodeServerProcess.start({
      name: `mosquitto on port ${port}`,
      command: mosquitto,
      args: ["-c", configFile],
      ready: () => NodeServerProcess.accepts(port),
      watch: [RELOADED],
      startTimeoutMs,
      stopTimeoutMs: 5_000,
      exitWithParent: options.exitWithParent
    }).pipe(Effect.mapError((e) => new MosquittoError({ reason: "StartFailed", message: e.message })))

    const broker: Broker = {
      url: `mqtt://127.0.0.1:${port}`,
      port,
      directory,
      pid: server.pid,
      running: server.running,
      start: server.start.pipe(Effect.mapError((e) => new MosquittoError({ reason: "StartFailed", message: e.message }))),
      kill: server.kill,
      stop: server.stop,
      freeze: server.signal("SIGSTOP"),
      thaw: server.signal("SIGCONT"),
      setPassword: (user, password) =>
        Effect.gen(function*() {
          if (passwd === undefined) {
            return yield* new MosquittoError({ reason: "ReloadFailed", message: "this broker has no password file: start it with users" })
          }
          const failed = runPasswd(["-b", passwordFile, user, reveal(password)])
          if (failed !== undefined) return yield* new MosquittoError({ reason: "ReloadFailed", message: failed })
          const before = server.said(RELOADED)
          yield* server.signal("SIGHUP")
          const reloaded = yield* Effect.gen(function*() {
            while (server.said(RELOADED) === before && server.running()) yield* Effect.sleep("10 millis")
            return server.said(RELOADED) > before
          }).pipe(Effect.timeoutOption(startTimeoutMs))
          if (reloaded._tag === "None" || !reloaded.value) {
            return yield* new MosquittoError({ reason: "ReloadFailed", message: "mosquitto did not say it reloaded its config" })
          }
        }),
      log: server.log
    }
    return broker
  })
