/**
 * Structured logs for a pipeline process through Effect's `Logger`: `pretty` for a person at a
 * terminal, `json` (one object per line: message, level, timestamp, annotations, spans, cause) or
 * `logfmt` for a log collector, at a minimum level. Everything goes to stderr, so a program's stdout
 * stays its own (progress lines, the ledger).
 *
 * @since 0.1.0
 */
import { Config, Effect, Layer, Logger, type LogLevel, References } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export type Format = "pretty" | "json" | "logfmt"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly format: Format
  /** Entries below this level are dropped. */
  readonly level: LogLevel.LogLevel
}

/**
 * `VELOX_LOG_FORMAT` (`pretty` | `json` | `logfmt`, default `pretty`) and `VELOX_LOG_LEVEL` (`All`,
 * `Trace`, `Debug`, `Info`, `Warn`, `Error`, `Fatal`, `None`; default `Info`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const config: Config.Config<Options> = Config.all({
  format: Config.Literals(["pretty", "json", "logfmt"] as const, "VELOX_LOG_FORMAT").pipe(Config.withDefault("pretty" as const)),
  level: Config.LogLevel("VELOX_LOG_LEVEL").pipe(Config.withDefault("Info" as const))
})

const loggerOf = (format: Format) =>
  format === "json"
    ? Logger.withConsoleError(Logger.formatJson)
    : format === "logfmt"
    ? Logger.withConsoleError(Logger.formatLogFmt)
    : Logger.consolePretty()

/**
 * Replaces the loggers with one of the given format, at the given minimum level.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NodeLogger } from "@velox/node"
 *
 * const program = Effect.logInfo("started").pipe(Effect.annotateLogs({ stage: "filter" }))
 * Effect.runFork(program.pipe(Effect.provide(NodeLogger.layer({ format: "json", level: "Debug" }))))
 * // stderr: {"message":"started","level":"INFO","timestamp":"…","annotations":{"stage":"filter"},…}
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Partial<Options> = {}): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.layer([loggerOf(options.format ?? "pretty")]),
    Layer.succeed(References.MinimumLogLevel, options.level ?? "Info"),
    // The pretty logger writes to console.error with this; the others are routed explicitly.
    Layer.succeed(Logger.LogToStderr, true)
  )

/**
 * `layer` configured from `VELOX_LOG_FORMAT` and `VELOX_LOG_LEVEL`; `overrides` win (e.g. command-line
 * flags).
 *
 * @category layers
 * @since 0.1.0
 */
export const layerConfig = (overrides: Partial<Options> = {}): Layer.Layer<never, Config.ConfigError> =>
  Layer.unwrap(Effect.map(config, (options) => layer({ ...options, ...overrides })))
