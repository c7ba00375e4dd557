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
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { Effect, Redacted, Schema, type Scope } from "effect"

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
 * The path of `command` (`mosquitto`, `mosquitto_passwd`): `$MOSQUITTO` / `$MOSQUITTO_PASSWD` when
 * set, else PATH, then the sbin directories; undefined when there is none.
 *
 * @category constructors
 * @since 0.1.0
 */
export const find = (command: "mosquitto" | "mosquitto_passwd"): string | undefined => {
  const override = process.env[command.toUpperCase()]
  if (override !== undefined && override !== "") return isExecutable(override) ? override : undefined
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== ""), ...SBIN]
  return dirs.map((d) => join(d, command)).find(isExecutable)
}

const require = (command: "mosquitto" | "mosquitto_passwd") => {
  const path = find(command)
  return path === undefined
    ? Effect.fail(new MosquittoError({ reason: "NotFound", message: `${command} not found (Debian package mosquitto; or set $${command.toUpperCase()})` }))
    : Effect.succeed(path)
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

/** Whether something accepts TCP connections at 127.0.0.1:`port`. */
export const accepts = (port: number): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

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
    const port = options.port ?? (yield* freePort)
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

    let child: ChildProcess | undefined
    // The last 64 KiB of what it logged (a demo may run for hours), and how many reloads it reported.
    let output = ""
    let reloads = 0
    const heard = (chunk: string) => {
      output = (output + chunk).slice(-65_536)
      if (chunk.includes("Reloading config")) reloads++
    }
    const startTimeoutMs = options.startTimeoutMs ?? 10_000

    const exited = (c: ChildProcess) =>
      Effect.callback<void>((resume) => {
        if (c.exitCode !== null || c.signalCode !== null) resume(Effect.void)
        else c.once("exit", () => resume(Effect.void))
      })

    const signal = (name: NodeJS.Signals) => Effect.sync(() => {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(name)
    })

    const launch: Effect.Effect<void, MosquittoError> = Effect.gen(function*() {
      const c = spawn(mosquitto, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] })
      child = c
      c.stdout.setEncoding("utf8").on("data", heard)
      c.stderr.setEncoding("utf8").on("data", heard)
      c.on("error", (e) => heard(`spawn error: ${e.message}\n`))
      const alive = () => c.exitCode === null && c.signalCode === null
      const listening = Effect.gen(function*() {
        while (alive() && !(yield* accepts(port))) yield* Effect.sleep("20 millis")
        return alive()
      })
      const up = yield* listening.pipe(Effect.timeoutOption(startTimeoutMs))
      if (up._tag === "None" || !up.value) {
        c.kill("SIGKILL")
        return yield* new MosquittoError({
          reason: "StartFailed",
          message: `mosquitto did not start on port ${port} (exit ${c.exitCode ?? c.signalCode ?? "none yet"}): ${output.trim().split("\n").slice(-5).join(" | ")}`
        })
      }
    })

    const kill = Effect.gen(function*() {
      const c = child
      if (c === undefined) return
      c.kill("SIGCONT")
      c.kill("SIGKILL")
      yield* exited(c)
    })
    const stop = Effect.gen(function*() {
      const c = child
      if (c === undefined) return
      c.kill("SIGCONT")
      c.kill("SIGTERM")
      const done = yield* exited(c).pipe(Effect.timeoutOption("5 seconds"))
      if (done._tag === "None") yield* kill
    })

    yield* Effect.acquireRelease(launch, () => stop)

    const broker: Broker = {
      url: `mqtt://127.0.0.1:${port}`,
      port,
      directory,
      pid: () => child?.pid,
      running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
      start: Effect.suspend(() => (broker.running() ? Effect.void : launch)),
      kill,
      stop,
      freeze: signal("SIGSTOP"),
      thaw: signal("SIGCONT"),
      setPassword: (user, password) =>
        Effect.gen(function*() {
          if (passwd === undefined) {
            return yield* new MosquittoError({ reason: "ReloadFailed", message: "this broker has no password file: start it with users" })
          }
          const failed = runPasswd(["-b", passwordFile, user, reveal(password)])
          if (failed !== undefined) return yield* new MosquittoError({ reason: "ReloadFailed", message: failed })
          const before = reloads
          yield* signal("SIGHUP")
          const reloaded = yield* Effect.gen(function*() {
            while (reloads === before && broker.running()) yield* Effect.sleep("10 millis")
            return reloads > before
          }).pipe(Effect.timeoutOption(startTimeoutMs))
          if (reloaded._tag === "None" || !reloaded.value) {
            return yield* new MosquittoError({ reason: "ReloadFailed", message: "mosquitto did not say it reloaded its config" })
          }
        }),
      log: () => output
    }
    return broker
  })
