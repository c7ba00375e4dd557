import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { Pipeline, RecordLayout, Stage } from "@velox/core"
import { Counter, CountingSink, Filter, PassThrough, Sequenced } from "@velox/core/stages"
import { DEAD_LETTER_HEADER_BYTES } from "../src/internal/kernel/emitters.ts"
import { formatPlacement, type Plan, plan } from "../src/internal/planner.ts"
import type { PipelineConfigError } from "../src/PipelineError.ts"

const options = { ringCapacity: 1024, batchSize: 64 }
const configs = (p: Pipeline.Pipeline) => p.steps.map((s) => s.config)

const planned = (p: Pipeline.Pipeline, o: Parameters<typeof plan>[2] = options): Plan => {
  const r = plan(p.steps, configs(p), o)
  if (Result.isFailure(r)) assert.fail(r.failure.message)
  return r.success
}

const refused = (p: Pipeline.Pipeline, o: Parameters<typeof plan>[2] = options): PipelineConfigError => {
  const r = plan(p.steps, configs(p), o)
  if (Result.isSuccess(r)) assert.fail("the plan was accepted")
  return r.failure
}

describe("the planner", () => {
  it("fuses consecutive stages into one loop; a worker or fiber placement starts a new one, with a ring to it", () => {
    const p = planned(
      Pipeline.from(Counter, { count: 1 })
        .via(PassThrough, {})
        .via(Filter, { dropEvery: 2 }, { placement: "worker" })
        .via(PassThrough, {})
        .to(CountingSink, {}, { placement: "fiber" })
    )
    assert.deepStrictEqual(p.hosts.map((h) => [h.name, h.placement, h.isSource]), [
      ["counter+pass-through", "worker", true],
      ["filter+pass-through-2", "worker", false],
      ["counting-sink", "fiber", false]
    ])
    assert.deepStrictEqual(p.stages.map((s) => [s.name, s.host, s.statsIndex]), [
      ["counter", 0, 0],
      ["pass-through", 0, 1],
      ["filter", 1, 2],
      ["pass-through-2", 1, 3],
      ["counting-sink", 2, 4]
    ])
    assert.deepStrictEqual(p.rings, [
      { name: "counter+pass-through→filter+pass-through-2", producer: 0, consumer: 1, slotBytes: Sequenced.byteLength },
      { name: "filter+pass-through-2→counting-sink", producer: 1, consumer: 2, slotBytes: Sequenced.byteLength }
    ])
    assert.deepStrictEqual(p.hosts.map((h) => [h.inputs, h.output]), [
      [[], { _tag: "Ring", ring: 0 }],
      [[0], { _tag: "Ring", ring: 1 }],
      [[1], { _tag: "None" }]
    ])
    assert.deepStrictEqual(p.hosts.map((h) => h.deadLetterSlotBytes), [
      DEAD_LETTER_HEADER_BYTES + Sequenced.byteLength,
      DEAD_LETTER_HEADER_BYTES + Sequenced.byteLength,
      DEAD_LETTER_HEADER_BYTES + Sequenced.byteLength
    ])
    assert.deepStrictEqual(formatPlacement(p).split("\n"), [
      "placement: 3 loops",
      "  counter+pass-through   worker thread             counter → pass-through",
      "  filter+pass-through-2  worker thread             filter → pass-through-2",
      "  counting-sink          fiber on the main thread  counting-sink"
    ])
  })

  it("a partitioned step runs a loop per lane, each producer with a ring to every lane, and fans in after", () => {
    const p = planned(Pipeline.from(Counter, { count: 1 }).partition(PassThrough, {}, { by: "key", count: 2 }).to(CountingSink, {}))
    assert.deepStrictEqual(p.hosts.map((h) => h.name), ["counter", "pass-through#0", "pass-through#1", "counting-sink"])
    assert.deepStrictEqual(p.stages.map((s) => s.name), ["counter", "pass-through#0", "pass-through#1", "counting-sink"])
    assert.deepStrictEqual(p.hosts[0]!.output, { _tag: "Partition", rings: [0, 1], key: "key" })
    assert.deepStrictEqual(p.hosts[3]!.inputs, [2, 3])
  })

  it("resolves a layout-generic stage's layouts from upstream, and carries SameAsInput on", () => {
    const AnyPass = Stage.make({
      name: "any-pass",
      module: import.meta.url,
      input: Stage.AnyLayout,
      output: Stage.SameAsInput,
      make: () => ({ onBatch() {} })
    })
    const p = planned(Pipeline.from(Counter, { count: 1 }).via(AnyPass, {}, { placement: "worker" }).to(CountingSink, {}))
    const any = p.stages.find((s) => s.name === "any-pass")!
    assert.strictEqual(any.input, Sequenced)
    assert.strictEqual(any.output, Sequenced)
    assert.strictEqual(p.rings[0]!.slotBytes, Sequenced.byteLength)
  })

  it("refuses two layouts with the same fields in another order, naming both", () => {
    const Reordered = RecordLayout.make("Reordered", { key: "u32", flags: "u32", seq: "f64", value: "f64", check: "f64" })
    assert.strictEqual(Reordered.byteLength, Sequenced.byteLength)
    const Misread = { ...PassThrough, name: "misread", input: Reordered } as unknown as typeof PassThrough
    const e = refused(Pipeline.from(Counter, { count: 1 }).via(Misread, {}).to(CountingSink, {}))
    assert.strictEqual(e.reason, "Layout")
    assert.strictEqual(e.key, "counter → misread")
    assert.include(e.message, "Sequenced { seq: f64 @0, key: u32 @8, flags: u32 @12, value: f64 @16, check: f64 @24 } (32 bytes)")
    assert.include(e.message, "Reordered { key: u32 @0, flags: u32 @4, seq: f64 @8, value: f64 @16, check: f64 @24 } (32 bytes)")
  })

  it("refuses a partition key that is not a field, a shape that is not source → stages → sink, and bad options", () => {
    const bad = { ...Pipeline.from(Counter, { count: 1 }).partition(PassThrough, {}, { by: "key", count: 2 }).to(CountingSink, {}) }
    const noKey = Pipeline.mapSteps(bad, (s) => (s.partition !== undefined ? { ...s, partition: { key: "nope", count: 2 } } : s))
    assert.strictEqual(refused(noKey).reason, "Layout")
    assert.include(refused(noKey).message, "nope")
    const sinkFirst = { _tag: "Pipeline" as const, steps: [Pipeline.from(Counter, { count: 1 }).to(CountingSink, {}).steps[1]!] }
    assert.strictEqual(refused(sinkFirst).reason, "Shape")
    const sinkMid = Pipeline.from(Counter, { count: 1 }).via(CountingSink as unknown as typeof PassThrough, {}).to(CountingSink, {})
    assert.strictEqual(refused(sinkMid).reason, "Shape")
    const ok = Pipeline.from(Counter, { count: 1 }).to(CountingSink, {})
    assert.match(refused(ok, { ringCapacity: 1000, batchSize: 1 }).message, /ringCapacity=1000: must be a power of two/)
    assert.match(refused(ok, { ringCapacity: 1024, batchSize: 2048 }).message, /batchSize=2048/)
  })

  it("refuses a stage of the entry module in a thread (also fused behind a worker source), and allows it in a fiber", () => {
    const entry = "file:///app/program.ts"
    const Local = { ...PassThrough, module: entry }
    const inWorker = refused(Pipeline.from(Counter, { count: 1 }).via(Local, {}).to(CountingSink, {}), { ...options, entryModule: entry })
    assert.strictEqual(inWorker.reason, "Placement")
    assert.include(inWorker.message, "move the stage to its own module")
    assert.include(inWorker.message, 'host "counter+pass-through+counting-sink"')
    const inFiber = Pipeline.from(Counter, { count: 1 }).via(Local, {}, { placement: "fiber" }).to(CountingSink, {})
    assert.strictEqual(planned(inFiber, { ...options, entryModule: entry }).hosts[1]!.placement, "fiber")
  })

  it("a tee ends its producer's loop: each branch begins a loop of its own, fed by a ring of its own", () => {
    const p = planned(
      Pipeline.from(Counter, { count: 1 }).via(PassThrough, {}).broadcast((b) => [
        b.via(Filter, { dropEvery: 2 }).to(CountingSink, {}),
        b.to(CountingSink, {}, { placement: "fiber", overflow: "dropNewest" })
      ])
    )
    assert.deepStrictEqual(p.hosts.map((h) => [h.name, h.placement]), [
      ["counter+pass-through", "worker"],
      ["filter+counting-sink", "worker"],
      ["counting-sink-2", "fiber"]
    ])
    assert.deepStrictEqual(p.rings.map((r) => r.name), ["counter+pass-through→filter+counting-sink", "counter+pass-through→counting-sink-2"])
    assert.deepStrictEqual(p.hosts[0]!.output, {
      _tag: "Broadcast",
      ports: [{ rings: [0], key: undefined, dropping: false }, { rings: [1], key: undefined, dropping: true }]
    })
    // The ledger checks each branch's link on its own, and the fused links inside each loop.
    assert.deepStrictEqual(p.links.map((l) => l._tag === "Fused" ? `${l.from}→${l.to}` : `${l.producers.map((x) => x.stage)}⇒${l.consumers}`), [
      "0→1",
      "2→3",
      "1⇒2",
      "1⇒4"
    ])
  })

  it("a merge begins a loop that reads every input; a diamond shares the tee's producer", () => {
    const tee = Pipeline.from(Counter, { count: 1 })
    const p = planned(Pipeline.merge(tee.via(PassThrough, {}), tee.via(Filter, { dropEvery: 2 }), Pipeline.from(Counter, { count: 2 })).to(CountingSink, {}))
    assert.deepStrictEqual(p.hosts.map((h) => h.name), ["counter", "pass-through", "filter", "counter-2", "counting-sink"])
    assert.deepStrictEqual(p.hosts[4]!.inputs.map((r) => p.rings[r]!.name), ["pass-through→counting-sink", "filter→counting-sink", "counter-2→counting-sink"])
    assert.strictEqual(p.hosts[0]!.output._tag, "Broadcast")
    const into = p.links.find((l) => l._tag === "Rings" && l.consumers.includes(4))!
    assert.deepStrictEqual(into._tag === "Rings" ? into.producers.map((x) => x.stage) : [], [1, 2, 3])
  })

  it("a partition inside a tee's branch gets a partitioned port; a dropping stage that was to be fused begins its own loop", () => {
    const p = planned(
      Pipeline.from(Counter, { count: 1 }).broadcast((b) => [
        b.partition(PassThrough, {}, { by: "key", count: 2 }).to(CountingSink, {}),
        b.via(PassThrough, {}, { overflow: "dropNewest" }).to(CountingSink, {})
      ])
    )
    assert.deepStrictEqual(p.hosts.map((h) => h.name), ["counter", "pass-through#0", "pass-through#1", "counting-sink", "pass-through-2+counting-sink-2"])
    assert.deepStrictEqual(p.hosts[0]!.output, {
      _tag: "Broadcast",
      ports: [{ rings: [0, 1], key: "key", dropping: false }, { rings: [4], key: undefined, dropping: true }]
    })
  })

  it("refuses an output nobody reads, and a merge of different layouts at run time, naming both", () => {
    const unread = { _tag: "Pipeline" as const, steps: Pipeline.from(Counter, { count: 1 }).via(PassThrough, {}).steps }
    const e = refused(unread)
    assert.strictEqual(e.reason, "Shape")
    assert.include(e.message, "read by no step")
    const Other = RecordLayout.make("Other", { x: "f64" })
    const OtherSource = Stage.source({ name: "other", module: import.meta.url, output: Other, make: () => ({ onPoll: () => Stage.SOURCE_EXHAUSTED }) })
    const Any = Stage.sink({ name: "any", module: import.meta.url, input: Stage.AnyLayout, make: () => ({ onBatch() {} }) })
    const mixed = Pipeline.merge(
      Pipeline.from(Counter, { count: 1 }),
      Pipeline.from(OtherSource, {}) as unknown as ReturnType<typeof Pipeline.from<typeof Sequenced.spec, unknown>>
    ).to(Any, {})
    const m = refused(mixed)
    assert.strictEqual(m.reason, "Layout")
    assert.include(m.message, "Other { x: f64 @0 } (8 bytes)")
    assert.include(m.message, "Sequenced")
  })
})
