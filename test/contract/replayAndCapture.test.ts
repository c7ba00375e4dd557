import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Pipeline, RecordLayout } from "@velox/core"
import { CaptureSink, ReplaySource } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"

// Not Sequenced: narrow and wide fields, padding between them, so offsets and stride must match in
// the worker that rebuilds the layout from the module URL.
const Mixed = RecordLayout.make("Mixed", { tag: "u8", level: "i16", price: "f64", size: "f32", id: "u32" })

const records = [
  [{ tag: 1, level: -2, price: 10.5, size: 0.25, id: 7 }, { tag: 255, level: 32767, price: NaN, size: -0, id: 4294967295 }],
  [],
  [{ tag: 0, level: -32768, price: -Infinity, size: 3.5, id: 0 }]
]

describe("ReplaySource and CaptureSink", () => {
  for (const placement of ["fused", "worker"] as const) {
    it.live(`carry records of any layout bit-exactly from source to sink, ${placement}`, () =>
      Effect.gen(function*() {
        const captured = CaptureSink.allocate(Mixed, 8)
        const { ledger } = yield* Pipeline.runToEnd(
          Pipeline.from(ReplaySource.make(Mixed), ReplaySource.encode(Mixed, records))
            .to(CaptureSink.make(Mixed), captured, { placement })
        )
        assert.isTrue(ledger.balanced)
        assert.strictEqual(CaptureSink.count(captured), 3)
        assert.deepStrictEqual(CaptureSink.records(Mixed, captured), records.flat())
      }).pipe(Effect.provide(NodeStageHost.layer)))
  }

  it("a definition's module URL carries its layout, so a worker can rebuild it", () => {
    const url = new URL(ReplaySource.make(Mixed).module)
    assert.match(url.pathname, /ReplaySource\.ts$/)
    assert.include(url.searchParams.get("layout")!, `"Mixed"`)
    assert.strictEqual(ReplaySource.FromModuleUrl, undefined)
    assert.strictEqual(CaptureSink.FromModuleUrl, undefined)
  })

  it.live("records past the capture's capacity are counted, not copied", () =>
    Effect.gen(function*() {
      const captured = CaptureSink.allocate(Mixed, 1)
      yield* Pipeline.runToEnd(
        Pipeline.from(ReplaySource.make(Mixed), ReplaySource.encode(Mixed, records)).to(CaptureSink.make(Mixed), captured)
      )
      assert.strictEqual(CaptureSink.count(captured), 3)
      assert.strictEqual(CaptureSink.records(Mixed, captured).length, 1)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
