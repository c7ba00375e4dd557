/**
 * Run options as a `Layer`: read from the environment (`VELOX_…`), a JSON config file, or defaults,
 * and validated with Schema at start-up. A bad value fails with a `ConfigError` naming the key, the
 * value and the rule, e.g. `must be a power of two ≥ 2, got 1000 at ["VELOX"]["RING_CAPACITY"]`.
 *
 * | key (env: `VELOX_<KEY>`, JSON: `{ "VELOX": { "<KEY>": … } }`) | default |
 * |---|---|
 * | `RING_CAPACITY` slots per ring, a power of two | 16384 |
 * | `BATCH_SIZE` records per loop pass, at most RING_CAPACITY (checked when the pipeline starts) | 256 |
 * | `IDLE` `backoff` (park when idle) or `spin` | backoff |
 * | `TIMER_SLACK_NS` how late a parked loop's timed wake-up may come (backoff; `BackoffOptions.timerSlackNs`) | 20000 |
 * | `SPIN_NS` how long a loop fed by rings polls after its last batch before it parks (backoff; `BackoffOptions.spinNs`; 0: at once) | 50000 |
 * | `PACED_BATCH_NS` how long a loop with a paced source lets due records gather after a pass before it polls again (backoff; `BackoffOptions.pacedBatchNs`; 0: as soon as one is due) | 0 |
 * | `MAX_RECORD_CRASHES` crashes on one record before it is dead-lettered | 3 |
 * | `MAX_RESTARTS` crashes of one host tolerated within `RESTART_WINDOW`; one more fails the run | 5 |
 * | `RESTART_WINDOW` the window `MAX_RESTARTS` counts crashes in | 1 minute |
 * | `RESTART_DELAY` first backoff delay between restarts (doubling, capped at 1 s) | 10 millis |
 * | `DRAIN_TIMEOUT` how long a drain may take | 10 seconds |
 * | `STAGES` per-stage sections: `{ "<stage>": { "placement": "fused" \| "worker" \| "fiber" } }` | {} |
 *
 * @since 0.1.0
 */
import { Config, ConfigProvider, Context, Duration, Effect, FileSystem, Layer, Schema } from "effect"
import * as ConfigFile from "./ConfigFile.ts"
import { DEFAULTS, restartBackoff } from "./internal/defaults.ts"
import { BACKOFF_DEFAULTS } from "./internal/kernel/idleStrategy.ts"
import type { RunOptions } from "./Pipeline.ts"
import type { Pipeline } from "./PipelineBuilder.ts"
import { PipelineConfigError } from "./PipelineError.ts"

const positiveInt = (rule: string) =>
  Schema.Number.check(Schema.makeFilter((n: number) => (Number.isInteger(n) && n >= 1 ? undefined : `${rule}, got ${n}`)))

const nonNegativeInt = (rule: string) =>
  Schema.Number.check(Schema.makeFilter((n: number) => (Number.isInteger(n) && n >= 0 ? undefined : `${rule}, got ${n}`)))

const PowerOfTwo = Schema.Number.check(
  Schema.makeFilter((n: number) =>
    Number.isInteger(n) && n >= 2 && n <= 2 ** 30 && (n & (n - 1)) === 0 ? undefined : `must be a power of two ≥ 2, got ${n}`
  )
)

const Placement = Schema.String.check(
  Schema.makeFilter((p: string) =>
    p === "fused" || p === "worker" || p === "fiber" ? undefined : `must be "fused", "worker" or "fiber", got ${JSON.stringify(p)}`
  )
) as unknown as Schema.Codec<"fused" | "worker" | "fiber", string>

const StageSection = Schema.Struct({ placement: Schema.optional(Placement) })

/**
 * @category models
 * @since 0.1.0
 */
export interface PipelineSettings {
  readonly ringCapacity: number
  readonly batchSize: number
  readonly idle: "backoff" | "spin"
  readonly timerSlackNs: number
  readonly spinNs: number
  readonly pacedBatchNs: number
  readonly maxRecordCrashes: number
  readonly maxRestarts: number
  readonly restartWindow: Duration.Duration
  readonly restartDelay: Duration.Duration
  readonly drainTimeout: Duration.Duration
  readonly stages: Readonly<Record<string, { readonly placement?: "fused" | "worker" | "fiber" | undefined }>>
}

/**
 * The `Config` behind the layer (nested under `VELOX`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const config: Config.Config<PipelineSettings> = Config.all({
  ringCapacity: Config.schema(PowerOfTwo, "RING_CAPACITY").pipe(Config.withDefault(DEFAULTS.ringCapacity)),
  batchSize: Config.schema(positiveInt("must be a positive integer"), "BATCH_SIZE").pipe(Config.withDefault(DEFAULTS.batchSize)),
  idle: Config.Literals(["backoff", "spin"], "IDLE").pipe(Config.withDefault("backoff" as const)),
  timerSlackNs: Config.schema(positiveInt("must be a positive integer (ns)"), "TIMER_SLACK_NS").pipe(
    Config.withDefault(BACKOFF_DEFAULTS.timerSlackNs)
  ),
  spinNs: Config.schema(nonNegativeInt("must be a non-negative integer (ns)"), "SPIN_NS").pipe(
    Config.withDefault(BACKOFF_DEFAULTS.spinNs)
  ),
  pacedBatchNs: Config.schema(nonNegativeInt("must be a non-negative integer (ns)"), "PACED_BATCH_NS").pipe(
    Config.withDefault(BACKOFF_DEFAULTS.pacedBatchNs)
  ),
  maxRecordCrashes: Config.schema(positiveInt("must be a positive integer"), "MAX_RECORD_CRASHES").pipe(
    Config.withDefault(DEFAULTS.maxRecordCrashes)
  ),
  maxRestarts: Config.Int("MAX_RESTARTS").pipe(Config.withDefault(DEFAULTS.maxRestarts)),
  restartWindow: Config.Duration("RESTART_WINDOW").pipe(Config.withDefault(Duration.millis(DEFAULTS.restartWindowMs))),
  restartDelay: Config.Duration("RESTART_DELAY").pipe(Config.withDefault(Duration.millis(DEFAULTS.restartDelayMs))),
  drainTimeout: Config.Duration("DRAIN_TIMEOUT").pipe(Config.withDefault(Duration.millis(DEFAULTS.drainTimeoutMs))),
  stages: Config.schema(Schema.Record(Schema.String, StageSection), "STAGES").pipe(
    Config.withDefault({} as PipelineSettings["stages"])
  )
}).pipe(
  Config.nested("VELOX")
)

/**
 * The validated run options of this process.
 *
 * @category services
 * @since 0.1.0
 */
export class PipelineConfig extends Context.Service<PipelineConfig, PipelineSettings>()("@velox/core/PipelineConfig") {}

/**
 * Reads `PipelineConfig` from the current `ConfigProvider` (the environment unless replaced).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<PipelineConfig, Config.ConfigError> = Layer.effect(PipelineConfig, config)

/** The keys a config file may hold (`ConfigFile` rejects any other, naming it). */
const FILE_KEYS: ConfigFile.Keys = {
  VELOX: {
    RING_CAPACITY: true,
    BATCH_SIZE: true,
    IDLE: true,
    TIMER_SLACK_NS: true,
    SPIN_NS: true,
    MAX_RECORD_CRASHES: true,
    MAX_RESTARTS: true,
    RESTART_DELAY: true,
    RESTART_WINDOW: true,
    DRAIN_TIMEOUT: true,
    STAGES: true
  }
}

/**
 * Reads a JSON config file (same keys, under `VELOX`), falling back to the environment, then defaults.
 * A file that is missing, not JSON, or holds a key not in the table above fails with a
 * `ConfigFileError` naming the file and the key.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerFile = (
  path: string
): Layer.Layer<PipelineConfig, Config.ConfigError | ConfigFile.ConfigFileError, FileSystem.FileSystem> =>
  layer.pipe(
    Layer.provide(ConfigProvider.layer(
      ConfigFile.provider(path, FILE_KEYS).pipe(Effect.map(ConfigProvider.orElse(ConfigProvider.fromEnv())))
    ))
  )

/**
 * The `Pipeline.run` options these settings stand for: `MAX_RESTARTS` and `RESTART_WINDOW` are the
 * restart budget, `RESTART_DELAY` the first delay of the default backoff.
 *
 * @category constructors
 * @since 0.1.0
 */
export const toRunOptions = (s: PipelineSettings): RunOptions => ({
  ringCapacity: s.ringCapacity,
  batchSize: s.batchSize,
  idle: s.idle === "spin" ? "spin" : { timerSlackNs: s.timerSlackNs, spinNs: s.spinNs, pacedBatchNs: s.pacedBatchNs },
  maxRecordCrashes: s.maxRecordCrashes,
  restart: restartBackoff(s.restartDelay),
  restartBudget: { maxRestarts: s.maxRestarts, window: s.restartWindow },
  drainTimeout: s.drainTimeout
})

/**
 * Applies per-stage sections (placement) to a pipeline, by stage name. An unknown stage name is an error.
 *
 * @category constructors
 * @since 0.1.0
 */
export const applyStageSections = (pipeline: Pipeline, s: PipelineSettings): Effect.Effect<Pipeline, PipelineConfigError> => {
  const names = new Set(pipeline.steps.map((step) => step.definition.name))
  for (const name of Object.keys(s.stages)) {
    if (!names.has(name)) {
      return Effect.fail(
        new PipelineConfigError({
          reason: "StageSection",
          key: `VELOX.STAGES.${name}`,
          value: name,
          rule: `no stage has this name (stages: ${[...names].join(", ")})`
        })
      )
    }
  }
  return Effect.succeed({
    ...pipeline,
    steps: pipeline.steps.map((step) => {
      const placement = s.stages[step.definition.name]?.placement
      return placement === undefined || step.partition !== undefined ? step : { ...step, placement }
    })
  })
}
