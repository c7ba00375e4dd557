import { NodeFileSystem } from "@effect/platform-node"
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
})
