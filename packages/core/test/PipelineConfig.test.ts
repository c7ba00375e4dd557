import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { Pipeline, PipelineConfig } from "@velox/core"
import { Counter, CountingSink, Filter } from "@velox/core/stages"

const withProvider = (provider: ConfigProvider.ConfigProvider) =>
  PipelineConfig.layer.pipe(Layer.provide(ConfigProvider.layer(provider)))

const read = (provider: ConfigProvider.ConfigProvider) =>
  Effect.gen(function*() {
    return yield* PipelineConfig.PipelineConfig
  }).pipe(Effect.provide(withProvider(provider)))

describe("PipelineConfig", () => {
  it.effect("defaults apply when nothing is set", () =>
    Effect.gen(function*() {
      const s = yield* read(ConfigProvider.fromUnknown({}))
      assert.strictEqual(s.ringCapacity, 16384)
      assert.strictEqual(s.batchSize, 256)
      assert.strictEqual(s.idle, "backoff")
      assert.strictEqual(s.timerSlackNs, 20_000)
      assert.strictEqual(s.spinNs, 50_000)
      assert.strictEqual(s.pacedBatchNs, 0)
      assert.strictEqual(Duration.toMillis(s.drainTimeout), 10_000)
    }))

  it.effect("values come from VELOX_ environment variables", () =>
    Effect.gen(function*() {
      const s = yield* read(ConfigProvider.fromEnv({
        env: { VELOX_RING_CAPACITY: "4096", VELOX_IDLE: "spin", VELOX_DRAIN_TIMEOUT: "2 seconds" }
      }))
      assert.strictEqual(s.ringCapacity, 4096)
      assert.strictEqual(s.idle, "spin")
      assert.strictEqual(Duration.toMillis(s.drainTimeout), 2000)
    }))

  it.effect("a ring capacity that is not a power of two fails naming the key, the value and the rule", () =>
    Effect.gen(function*() {
      const error = yield* read(ConfigProvider.fromUnknown({ VELOX: { RING_CAPACITY: 1000 } })).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, "RING_CAPACITY")
      assert.include(error.message, "1000")
      assert.include(error.message, "power of two")
    }))

  it.effect("an unknown placement in a per-stage section is rejected", () =>
    Effect.gen(function*() {
      const error = yield* read(ConfigProvider.fromUnknown({ VELOX: { STAGES: { filter: { placement: "gpu" } } } })).pipe(
        Effect.flip
      )
      assert.include(error.message, "STAGES")
      assert.include(error.message, "gpu")
    }))

  it.effect("per-stage sections move a stage into its own worker, and name unknown stages", () =>
    Effect.gen(function*() {
      const pipeline = Pipeline.from(Counter, { count: 1 }).via(Filter, { dropEvery: 2 }).to(CountingSink, {})
      const s = yield* read(ConfigProvider.fromUnknown({ VELOX: { STAGES: { filter: { placement: "worker" } } } }))
      const placed = yield* PipelineConfig.applyStageSections(pipeline, s)
      assert.deepStrictEqual(placed.steps.map((x) => x.placement), ["worker", "worker", "fused"])
      const bad = yield* read(ConfigProvider.fromUnknown({ VELOX: { STAGES: { filtr: { placement: "worker" } } } }))
      const error = yield* PipelineConfig.applyStageSections(pipeline, bad).pipe(Effect.flip)
      assert.include(error.message, "VELOX.STAGES.filtr")
      assert.include(error.message, "filter")
    }))

  it.effect("settings become run options", () =>
    Effect.gen(function*() {
      const s = yield* read(ConfigProvider.fromUnknown({
        VELOX: { RING_CAPACITY: 1024, BATCH_SIZE: 64, TIMER_SLACK_NS: 1000, SPIN_NS: 0, PACED_BATCH_NS: 100000 }
      }))
      const options = PipelineConfig.toRunOptions(s)
      assert.strictEqual(options.ringCapacity, 1024)
      assert.strictEqual(options.batchSize, 64)
      assert.deepStrictEqual(options.idle, { timerSlackNs: 1000, spinNs: 0, pacedBatchNs: 100_000 }, "SPIN_NS 0: park at once")
      const spin = yield* read(ConfigProvider.fromUnknown({ VELOX: { IDLE: "spin", TIMER_SLACK_NS: 1000 } }))
      assert.strictEqual(PipelineConfig.toRunOptions(spin).idle, "spin", "a spinning loop never parks: no slack to set")
    }))

  it.effect("a timer slack that is not a positive integer fails naming the key and the value", () =>
    Effect.gen(function*() {
      const error = yield* read(ConfigProvider.fromEnv({ env: { VELOX_TIMER_SLACK_NS: "0" } })).pipe(Effect.flip)
      assert.include(error.message, "TIMER_SLACK_NS")
      assert.include(error.message, "got 0")
    }))

  it.effect("a spin budget that is not a non-negative integer fails naming the key and the value", () =>
    Effect.gen(function*() {
      const error = yield* read(ConfigProvider.fromEnv({ env: { VELOX_SPIN_NS: "-5" } })).pipe(Effect.flip)
      assert.include(error.message, "SPIN_NS")
      assert.include(error.message, "got -5")
    }))

  it.effect("a paced batch time that is not a non-negative integer fails naming the key and the value", () =>
    Effect.gen(function*() {
      const error = yield* read(ConfigProvider.fromEnv({ env: { VELOX_PACED_BATCH_NS: "1.5" } })).pipe(Effect.flip)
      assert.include(error.message, "PACED_BATCH_NS")
      assert.include(error.message, "got 1.5")
    }))
})
