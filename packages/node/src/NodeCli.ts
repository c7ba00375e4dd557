/**
 * Runs an `effect/cli` command as a velox program: its flags parsed with `--help`, `--version` and
 * `--log-level` for free, logs through {@link NodeLogger} (`VELOX_LOG_FORMAT`, `VELOX_LOG_LEVEL`;
 * `--log-level` wins), and the handler run by `NodePipelineRuntime.runMain` (drain on SIGINT/SIGTERM,
 * exit codes).
 *
 * Errors a person can act on are one line on stderr and exit code 1, never a stack trace:
 * - a flag the command does not know, or a bad value (`velox-engine: Invalid value for flag --rate:
 *   "-5". Expected: …`), before anything starts;
 * - a typed failure of the program (an `Effect.fail`: a config file that cannot be read, a port in
 *   use, a stage given up on): `<command>: <its message>`.
 * A defect (a bug: a throw, `Effect.die`) is still logged with its whole cause.
 *
 * Flags declared with `Flag.withFallbackConfig` read the current `ConfigProvider`: the environment,
 * or, with the `configFile` option, a JSON file named by a flag (`--config engine.json`) layered over
 * it, so that flags win over the file and the file over the environment.
 *
 * @since 0.1.0
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, ConfigProvider, Console, Effect, type Layer, Runtime, type Scope } from "effect"
import { type CliError, CliOutput, Command } from "effect/cli"
import { ConfigFile, type StageHost } from "@velox/core"
import * as NodeHeap from "./NodeHeap.ts"
import * as NodeLogger from "./NodeLogger.ts"
import * as NodePipelineRuntime from "./NodePipelineRuntime.ts"

/** A command-line error on one line: `unknown flag --foo (did you mean --boom?)`. */
const describeCliError = (error: CliError.CliError): string => {
  if (error._tag === "UnrecognizedOption") {
    const guess = error.suggestions.length === 0 ? "" : ` (did you mean ${error.suggestions.join(" or ")}?)`
    return `unknown flag ${error.option}${guess}`
  }
  if (error._tag === "InvalidValue" && error.value === "config") {
    // The flag was absent and its fallback (Flag.withFallbackConfig) held a bad value.
    const rule = error.expected.replace(/^SchemaError\((.*)\)$/s, "$1")
    return `--${error.option} from the config file or the environment: ${oneLine(rule)}`
  }
  return oneLine(error.message)
}

const oneLine = (text: string): string => text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ")

/**
 * Help and version as `effect/cli` prints them; a bad invocation as one line per error on stderr,
 * pointing at `--help`, without the whole usage.
 *
 * @category constructors
 * @since 0.1.0
 */
export const presenter = (name: string): CliOutput.Presenter => ({
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Console.error(event.errors.map((e) => `${name}: ${describeCliError(e)}; see ${name} --help`).join("\n"))
      : CliOutput.defaultPresenter.present(event)
})

const messageOf = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const { _tag, message } = error as { _tag?: unknown; message?: unknown }
    if (typeof message === "string" && message !== "") return message
    if (typeof _tag === "string") return _tag
  }
  return String(error)
}

/**
 * Prints each typed failure not yet reported (`Runtime.errorReported`) as `<name>: <message>` on
 * stderr, on one line (a `Config` error's rule and key path included), and marks it reported, so that `runMain` does not log it again. Defects are left to it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const reportFailures = (name: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  // onError, not tapCause: tapCause loses a finalizer's failure (a failed check) on an interrupted fiber.
  Effect.onError(self, (cause) => {
    if (Cause.hasDies(cause)) return Effect.void
    const unreported = cause.reasons.filter(Cause.isFailReason).map((r) => r.error as unknown)
      .filter((e) => Runtime.getErrorReported(e))
    return Effect.forEach(unreported, (e) =>
      Console.error(`${name}: ${oneLine(messageOf(e).replace(/^SchemaError\((.*)\)$/s, "$1"))}`).pipe(
        Effect.andThen(Effect.sync(() => {
          if (typeof e === "object" && e !== null) Object.assign(e, { [Runtime.errorReported]: false })
        }))
      ), { discard: true })
  })

/** The value of `--<flag> VALUE` or `--<flag>=VALUE` in `args` (before a `--`), if any. */
const flagValue = (args: ReadonlyArray<string>, flag: string): string | undefined => {
  for (let i = 0; i < args.length && args[i] !== "--"; i++) {
    const arg = args[i]!
    if (arg === `--${flag}`) return args[i + 1]
    if (arg.startsWith(`--${flag}=`)) return arg.slice(flag.length + 3)
  }
  return undefined
}

/** The ConfigProvider the flags fall back to: the named config file over the environment. */
const fallbackProvider = (configFile: ConfigFileOption | undefined, args: ReadonlyArray<string>) => {
  const path = configFile === undefined ? undefined : flagValue(args, configFile.flag)
  return path === undefined
    ? Effect.succeed(ConfigProvider.fromEnv())
    : ConfigFile.provider(path, configFile!.keys).pipe(Effect.map(ConfigProvider.orElse(ConfigProvider.fromEnv())))
}

/**
 * A config file option: `--<flag> FILE` names a JSON file, read strictly (`ConfigFile`: any key
 * outside `keys` is an error) before the flags are parsed, so that flags declared with
 * `Flag.withFallbackConfig` fall back to it, then to the environment. Declare the flag in the
 * command as well (`Flag.String(flag)`, optional), so that `--help` shows it.
 *
 * @category models
 * @since 0.1.0
 */
export interface ConfigFileOption {
  readonly flag: string
  readonly keys: ConfigFile.Keys
}

/**
 * Runs `command` with the process's arguments, as a pipeline program (see the module comment).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Command, Flag } from "effect/cli"
 * import { Pipeline } from "@velox/core"
 * import { Counter, CountingSink } from "@velox/core/stages"
 * import { NodeCli } from "@velox/node"
 *
 * const count = Command.make("count", {
 *   count: Flag.Int("count").pipe(Flag.withDescription("records to generate"), Flag.withDefault(1_000_000))
 * }, ({ count }) => Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(Pipeline.from(Counter, { count }).to(CountingSink, {}), { report: true })
 *   yield* handle.done
 * }))
 *
 * NodeCli.run(count, { version: "0.1.0" }) // count --count 5000; count --help
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = <Name extends string, Input, ContextInput, E, R extends Scope.Scope | StageHost.StageHost | Command.Environment>(
  command: Command.Command<Name, Input, ContextInput, E, R>,
  options: {
    readonly version: string
    /** A `--config FILE` flag the other flags fall back to: see {@link ConfigFileOption}. */
    readonly configFile?: ConfigFileOption
    /** Stage hosts (default: `NodeStageHost.layer`, worker threads). */
    readonly layer?: Layer.Layer<StageHost.StageHost>
    /** V8's heap tuning, set before anything runs (default `"default"`): see {@link NodeHeap}. */
    readonly heap?: NodeHeap.Tuning
  }
): void => {
  if (options.heap !== undefined) NodeHeap.tune(options.heap)
  NodePipelineRuntime.runMain(
    Command.run(command, { version: options.version }).pipe(
      Effect.provide(ConfigProvider.layer(fallbackProvider(options.configFile, process.argv.slice(2)))),
      Effect.provide(CliOutput.layerPresenter(presenter(command.name))),
      Effect.provide(NodeLogger.layerConfig()),
      Effect.provide(NodeServices.layer),
      reportFailures(command.name)
    ),
    options.layer === undefined ? {} : { layer: options.layer }
  )
}
