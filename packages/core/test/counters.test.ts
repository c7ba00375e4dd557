/**
 * The counters buffer drawn in `internal/kernel/countersDescriptor.ts`, checked offset by offset; the
 * manager's allocation (labels, owners, runs starting on their own line pair); the stage-side cells
 * (thread-local until committed); and the stats block's new field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Stage } from "@velox/core"
import { Sequenced } from "@velox/core/stages"
import {
  checkRun,
  CounterCells,
  counterValues,
  CountersManager,
  makeCountersBuffer,
  namedCells,
  readCounters
} from "../src/internal/kernel/counters.ts"
import * as D from "../src/internal/kernel/countersDescriptor.ts"
import * as S from "../src/internal/kernel/stageStatsDescriptor.ts"

describe("countersDescriptor", () => {
  it("every field sits at the offset the drawing gives it", () => {
    assert.deepStrictEqual(
      [D.MAGIC_OFFSET, D.VERSION_OFFSET, D.CAPACITY_OFFSET, D.ALLOCATED_OFFSET, D.HEADER_BYTES],
      [0, 4, 8, 12, 128]
    )
    assert.deepStrictEqual(
      [D.STATE_OFFSET, D.KIND_OFFSET, D.OWNER_OFFSET, D.LABEL_LENGTH_OFFSET, D.LABEL_OFFSET, D.RECORD_BYTES],
      [0, 4, 8, 12, 16, 64]
    )
    assert.strictEqual(D.MAX_LABEL_BYTES, 48)
    assert.strictEqual(D.metadataOffset(3), 128 + 3 * 64)
    assert.strictEqual(D.valuesOffset(32), 128 + 32 * 64)
    assert.strictEqual(D.countersByteLength(32), 128 + 32 * 64 + 32 * 8)
    // A run starts on a 128-byte boundary of the values: 16 f64 per line pair.
    assert.strictEqual(D.VALUES_PER_LINE_PAIR * 8, 128)
    assert.strictEqual(D.valuesOffset(16) % 128, 0)
    assert.strictEqual(D.capacityFor([3, 0, 17]), 16 + 0 + 32)
  })

  it("makeCountersBuffer writes the header: magic last, version, capacity, nothing allocated", () => {
    const buffer = makeCountersBuffer(16)
    const words = new Int32Array(buffer)
    assert.strictEqual(words[0], D.COUNTERS_MAGIC)
    assert.strictEqual(words[1], D.COUNTERS_VERSION)
    assert.strictEqual(words[2], 16)
    assert.strictEqual(words[3], 0)
    assert.strictEqual(buffer.byteLength, D.countersByteLength(16))
  })
})

describe("CountersManager", () => {
  it("allocates labelled values, each owner's run on its own line pair, and anyone can list them", () => {
    const buffer = makeCountersBuffer(D.capacityFor([2, 1]))
    const manager = new CountersManager(buffer)
    manager.beginRun()
    const a = manager.allocate("bundles", D.COUNTER, 4)
    const b = manager.allocate("checksum", D.GAUGE, 4)
    manager.beginRun()
    const c = manager.allocate("größe", D.COUNTER, 7)
    assert.deepStrictEqual([a, b, c], [0, 1, 16])
    counterValues(buffer)[c] = 42
    const listed = readCounters(buffer)
    assert.deepStrictEqual(listed, [
      { index: 0, kind: "counter", owner: 4, label: "bundles", value: 0 },
      { index: 1, kind: "gauge", owner: 4, label: "checksum", value: 0 },
      { index: 16, kind: "counter", owner: 7, label: "größe", value: 42 }
    ])
    // The records between the two runs are padding, not counters.
    const words = new Int32Array(buffer)
    assert.strictEqual(words[(D.metadataOffset(2) + D.STATE_OFFSET) >> 2], D.PADDING)
    assert.strictEqual(words[D.ALLOCATED_OFFSET >> 2], 17)
  })

  it("refuses a full buffer and a label that does not fit, naming them", () => {
    const manager = new CountersManager(makeCountersBuffer(1))
    assert.throws(() => manager.allocate("x".repeat(49), D.COUNTER, 0), RangeError, /1\.\.48 UTF-8 bytes/)
    manager.allocate("one", D.COUNTER, 0)
    assert.throws(() => manager.allocate("two", D.COUNTER, 0), RangeError, /full: capacity=1, label "two"/)
    assert.throws(() => new CountersManager(new SharedArrayBuffer(256)), RangeError, /not a velox counters buffer/)
  })

  it("checkRun refuses a run whose labels, kinds or owner differ from what the stage declares", () => {
    const buffer = makeCountersBuffer(16)
    const manager = new CountersManager(buffer)
    manager.beginRun()
    manager.allocate("in", D.COUNTER, 2)
    manager.allocate("level", D.GAUGE, 2)
    checkRun(buffer, 0, 2, ["in", "level"], [D.COUNTER, D.GAUGE])
    assert.throws(() => checkRun(buffer, 0, 2, ["in", "depth"], [D.COUNTER, D.GAUGE]), RangeError, /gauge "level"/)
    assert.throws(() => checkRun(buffer, 0, 3, ["in", "level"], [D.COUNTER, D.GAUGE]), RangeError, /owner 2/)
    assert.throws(() => checkRun(buffer, 0, 2, ["in", "level"], [D.GAUGE, D.GAUGE]), RangeError)
  })
})

describe("CounterCells", () => {
  it("updates stay in the thread until commit; a new cells object continues from what was committed", () => {
    const buffer = makeCountersBuffer(16)
    const manager = new CountersManager(buffer)
    manager.beginRun()
    manager.allocate("records", D.COUNTER, 0)
    manager.allocate("last", D.GAUGE, 0)
    const cells = new CounterCells(buffer, 0, 2)
    const { counters, gauges } = namedCells(cells, ["records"], ["last"])
    counters["records"]!.add(5)
    counters["records"]!.increment()
    gauges["last"]!.set(-3.5)
    assert.strictEqual(counters["records"]!.get(), 6)
    assert.deepStrictEqual([...counterValues(buffer).subarray(0, 2)], [0, 0], "not shared before the commit")
    cells.commit()
    assert.deepStrictEqual([...counterValues(buffer).subarray(0, 2)], [6, -3.5])
    counters["records"]!.add(100) // a pass that crashes: never committed
    const restarted = namedCells(new CounterCells(buffer, 0, 2), ["records"], ["last"])
    assert.strictEqual(restarted.counters["records"]!.get(), 6)
    assert.strictEqual(restarted.gauges["last"]!.get(), -3.5)
  })

  it("a counter only grows: a negative or NaN add throws, naming it", () => {
    const { counters } = namedCells(new CounterCells(undefined, 0, 1), ["seen"], [])
    assert.throws(() => counters["seen"]!.add(-1), RangeError, /counter "seen" only grows: add\(-1\)/)
    assert.throws(() => counters["seen"]!.add(NaN), RangeError)
  })
})

describe("Stage: declared counters and gauges", () => {
  it("a stage refuses a name declared twice or too long", () => {
    const base = { name: "s", module: import.meta.url, input: Sequenced, make: () => ({ onBatch() {} }) }
    assert.throws(() => Stage.sink({ ...base, counters: ["a"], gauges: ["a"] }), RangeError, /declares the counter or gauge "a" twice/)
    assert.throws(() => Stage.sink({ ...base, counters: ["x".repeat(49)] }), RangeError, /1\.\.48 UTF-8 bytes/)
    assert.throws(() => Stage.sink({ ...base, counters: [""] }), RangeError)
  })

  it("Stage.context gives logic driven directly its own counters, instance 0 of 1, the stage's layouts", () => {
    const Tally = Stage.sink({
      name: "tally",
      module: import.meta.url,
      input: Sequenced,
      counters: ["records"],
      gauges: ["lastSeq"],
      make: (_config, context) => ({
        onBatch(input, start, count, out) {
          context.counters.records.add(count)
          context.gauges.lastSeq.set(input.fields.seq.get(start + count - 1))
          out.account(count)
        }
      })
    })
    const context = Stage.context(Tally)
    assert.deepStrictEqual([context.instance, context.instances, context.restarts], [0, 1, 0])
    assert.strictEqual(context.input, Sequenced)
    const logic = Tally.make({}, context) as Stage.StageLogic<typeof Sequenced.spec, never>
    const view = { layout: Sequenced, fields: { seq: { get: (i: number) => i } } } as unknown as Parameters<typeof logic.onBatch>[0]
    logic.onBatch(view, 0, 10, { view: undefined as never, emit: () => 0, forward() {}, account() {}, drop() {}, deadLetter() {} })
    assert.strictEqual(context.counters.records.get(), 10)
    assert.strictEqual(context.gauges.lastSeq.get(), 9)
    // make() without a context still gets one, with private counters.
    assert.doesNotThrow(() => Tally.make({}))
  })
})

describe("stageStatsDescriptor", () => {
  it("STATE_LOST sits in the host section, after LAST_COMMIT_NS and before the supervisor's line", () => {
    assert.strictEqual(S.STATE_LOST_OFFSET, 112)
    assert.isBelow(S.STATE_LOST_OFFSET + 8, S.RESTARTS_OFFSET)
    assert.strictEqual(S.STATS_VERSION, 2)
  })
})
