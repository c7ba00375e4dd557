/**
 * A server program (a broker, a database) run as a child process for tests, drills, benchmarks and
 * demos: found on PATH or in the sbin directories, started with the arguments given, waited for until
 * it is ready, then killed (`kill -9`), stopped cleanly, signalled, or started again, with what it
 * logged kept. The MQTT and NATS adapters' `Mosquitto` and `NatsServer` are built on it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NodeServerProcess } from "@velox/node"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const port = yield* NodeServerProcess.freePort
 *   const server = yield* NodeServerProcess.start({
 *     name: "mosquitto",
 *     command: "/usr/sbin/mosquitto",
 *     args: ["-p", String(port)],
 *     ready: () => NodeServerProcess.accepts(port)
 *   })
 *   yield* server.kill
 *   yield* server.start // again, once it accepts connections
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { createConnection, createServer } from "node:net"
import { delimiter, join } from "node:path"
import { Data, Effect, type Scope } from "effect"

/**
 * The process exited, or was not ready within `startTimeoutMs`; the message says which, with the last
 * lines it logged.
 *
 * @category errors
 * @since 0.1.0
 */
export class StartFailed extends Data.TaggedError("StartFailed")<{ readonly message: string }> {}

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** For messages: `mosquitto did not start …`. */
  readonly name: string
  /** The executable's path (see `find`). */
  readonly command: string
  readonly args: ReadonlyArray<string>
  /**
   * Called at each start, before the process is spawned; the effect it returns is polled every 20 ms
   * until it gives true. `said` counts the output chunks that contained a text so far (take it before
   * the spawn to wait for a line this start prints).
   */
  readonly ready: (said: (text: string) => number) => Effect.Effect<boolean>
  /** Texts whose occurrences `said` counts. */
  readonly watch?: ReadonlyArray<string> | undefined
  /** How long a start may take before it fails. Default 10 s. */
  readonly startTimeoutMs?: number | undefined
  /** How long `stop` waits after SIGTERM before SIGKILL. Default 10 s. */
  readonly stopTimeoutMs?: number | undefined
  /**
   * The server gets SIGTERM when the thread that started it dies, even by `kill -9`, so that a demo's
   * server does not outlive its program (Linux, through util-linux's `setpriv --pdeathsig`; ignored
   * where `setpriv` is missing). Start it from the main thread. Default false.
   */
  readonly exitWithParent?: boolean | undefined
}

/**
 * A started server process.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServerProcess {
  readonly pid: () => number | undefined
  /** Started and not killed or stopped. */
  readonly running: () => boolean
  /** Starts it again after `kill` or `stop` (nothing when it runs); returns once it is ready. */
  readonly start: Effect.Effect<void, StartFailed>
  /** SIGKILL (after SIGCONT, should it be frozen): gone at once; returns once it exited. */
  readonly kill: Effect.Effect<void>
  /** SIGTERM, then SIGKILL past `stopTimeoutMs`; returns once it exited. */
  readonly stop: Effect.Effect<void>
  /** Sends a signal to the running process (nothing when it does not run). */
  readonly signal: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** How many output chunks contained `text` (one of `watch`) since the first start. */
  readonly said: (text: string) => number
  /** The last 64 KiB of what it logged, stdout and stderr together. */
  readonly log: () => string
}

const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"]
const LOG_BYTES = 65_536

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The path of `command`: `$<envVar>` when set (undefined when that is not executable), else the first
 * on PATH, then in the sbin directories (Debian puts servers in /usr/sbin); undefined when none.
 *
 * @category constructors
 * @since 0.1.0
 */
export const find = (command: string, envVar: string): string | undefined => {
  const override = process.env[envVar]
  if (override !== undefined && override !== "") return isExecutable(override) ? override : undefined
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== ""), ...SBIN]
  return dirs.map((d) => join(d, command)).find(isExecutable)
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

/**
 * Whether something accepts TCP connections at 127.0.0.1:`port`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const accepts = (port: number): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    const socket = createConnection({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

const exited = (c: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (c.exitCode !== null || c.signalCode !== null) resume(Effect.void)
    else c.once("exit", () => resume(Effect.void))
  })

const alive = (c: ChildProcess | undefined): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null

/**
 * Starts the process in the current scope, returning once it is ready; it is stopped when the scope
 * closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (options: Options): Effect.Effect<ServerProcess, StartFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const startTimeoutMs = options.startTimeoutMs ?? 10_000
    const stopTimeoutMs = options.stopTimeoutMs ?? 10_000
    const watch = options.watch ?? []
    const counts = new Map(watch.map((text) => [text, 0]))
    let child: ChildProcess | undefined
    // The tail of what it logged: a demo may run for hours.
    let output = ""
    const heard = (chunk: string) => {
      output = (output + chunk).slice(-LOG_BYTES)
      for (const text of watch) if (chunk.includes(text)) counts.set(text, counts.get(text)! + 1)
    }
    const said = (text: string) => counts.get(text) ?? 0
    // setpriv sets the parent-death signal, then execs the server: the same pid, so kill and stop reach it.
    const setpriv = options.exitWithParent === true && process.platform === "linux" ? find("setpriv", "VELOX_SETPRIV") : undefined
    const [command, args] = setpriv === undefined
      ? [options.command, options.args]
      : [setpriv, ["--pdeathsig", "TERM", "--", options.command, ...options.args]]

    const launch: Effect.Effect<void, StartFailed> = Effect.gen(function*() {
      const isReady = options.ready(said)
      const c = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] })
      child = c
      c.stdout.setEncoding("utf8").on("data", heard)
      c.stderr.setEncoding("utf8").on("data", heard)
      c.on("error", (e) => heard(`spawn error: ${e.message}\n`))
      const ready = Effect.gen(function*() {
        while (alive(c) && !(yield* isReady)) yield* Effect.sleep("20 millis")
        return alive(c)
      })
      const up = yield* ready.pipe(Effect.timeoutOption(startTimeoutMs))
      if (up._tag === "None" || !up.value) {
        c.kill("SIGKILL")
        const why = up._tag === "None" ? `not ready within ${startTimeoutMs} ms` : `exit ${c.exitCode ?? c.signalCode}`
        return yield* new StartFailed({
          message: `${options.name} did not start (${why}): ${output.trim().split("\n").slice(-5).join(" | ")}`
        })
      }
    })

    const signal = (name: NodeJS.Signals) => Effect.sync(() => {
      if (alive(child)) child.kill(name)
    })
    const kill = Effect.gen(function*() {
      const c = child
      if (c === undefined) return
      if (alive(c)) {
        c.kill("SIGCONT")
        c.kill("SIGKILL")
      }
      yield* exited(c)
    })
    const stop = Effect.gen(function*() {
      const c = child
      if (c === undefined) return
      if (alive(c)) {
        c.kill("SIGCONT")
        c.kill("SIGTERM")
      }
      const done = yield* exited(c).pipe(Effect.timeoutOption(stopTimeoutMs))
      if (done._tag === "None") yield* kill
    })

    yield* Effect.acquireRelease(launch, () => stop)

    const server: ServerProcess = {
      pid: () => child?.pid,
      running: () => alive(child),
      start: Effect.suspend(() => (alive(child) ? Effect.void : launch)),
      kill,
      stop,
      signal,
      said,
      log: () => output
    }
    return server
  })
