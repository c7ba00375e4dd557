import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { PipelineConfig } from "@velox/core"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const fileWith = (json: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), "velox-config-")), "velox.json")
  writeFileSync(path, JSON.stringify(json))
  return path
}

const read = (path: string) =>
  Effect.gen(function*() {
    return yield* PipelineConfig.PipelineConfig
  }).pipe(Effect.provide(PipelineConfig.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))))

describe("PipelineConfig from a JSON file", () => {
  it.effect("values and per-stage sections come from the file, the rest from defaults", () =>
    Effect.gen(function*() {
      const s = yield* read(fileWith({ VELOX: { RING_CAPACITY: 2048, STAGES: { filter: { placement: "worker" } } } }))
      assert.strictEqual(s.ringCapacity, 2048)
      assert.strictEqual(s.batchSize, 256)
      assert.deepStrictEqual(s.stages, { filter: { placement: "worker" } })
    }))

  it.effect("a bad value in the file fails at start-up naming the key, the value and the rule", () =>
    Effect.gen(function*() {
      const error = yield* read(fileWith({ VELOX: { BATCH_SIZE: -3 } })).pipe(Effect.flip)
      assert.include(error.message, "BATCH_SIZE")
      assert.include(error.message, "-3")
      assert.include(error.message, "positive integer")
    }))

  it.effect("a misspelt key is rejected, naming it and the key it was probably meant to be", () =>
    Effect.gen(function*() {
      const path = fileWith({ VELOX: { RING_CAPACITY: 2048, BATCH_SIZ: 64 } })
      const error = yield* read(path).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ConfigFileError")
      assert.strictEqual(error.message, `config file ${path}: unknown key VELOX.BATCH_SIZ (did you mean BATCH_SIZE?); ` +
        "VELOX may hold RING_CAPACITY, BATCH_SIZE, IDLE, TIMER_SLACK_NS, SPIN_NS, MAX_RECORD_CRASHES, MAX_RESTARTS, RESTART_DELAY, RESTART_WINDOW, DRAIN_TIMEOUT, STAGES")
    }))

  it.effect("a file that is missing, or not JSON, fails with a typed error naming the file", () =>
    Effect.gen(function*() {
      const missing = yield* read("/nonexistent/velox.json").pipe(Effect.flip)
      assert.strictEqual(missing._tag, "ConfigFileError")
      assert.include(missing.message, "config file /nonexistent/velox.json: cannot read it: ENOENT")
      const broken = join(mkdtempSync(join(tmpdir(), "velox-config-")), "broken.json")
      writeFileSync(broken, '{ "VELOX": { "RING_CAPACITY": 2048, } }')
      const invalid = yield* read(broken).pipe(Effect.flip)
      assert.strictEqual(invalid._tag, "ConfigFileError")
      assert.match(invalid.message, new RegExp(`^config file ${broken}: not valid JSON: .*position`))
    }))
})
