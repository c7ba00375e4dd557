import { assert, describe, it } from "@effect/vitest"
import { Doorbell, FanIn, OneToOneRing } from "../src/index.ts"
import { Seq } from "./fixtures/seqRecord.ts"

const inputs = (count: number, capacity: number) => {
  const bell = Doorbell.make()
  return Array.from({ length: count }, () => {
    const handle = OneToOneRing.makeUnsafe({ capacity, slotBytes: Seq.byteLength, consumerBell: bell })
    return { handle, producer: new OneToOneRing.RingProducer(handle), view: OneToOneRing.viewUnsafe(handle, Seq) }
  })
}

const send = (input: ReturnType<typeof inputs>[number], values: ReadonlyArray<number>): void => {
  const n = input.producer.claim(values.length)
  assert.strictEqual(n, values.length)
  for (const [i, value] of values.entries()) input.view.fields.seq.set(input.producer.claimIndex + i, value)
  input.producer.publish(n)
}

/** Polls once; returns the result code and the (input, value) pairs handed to the batch handler. */
const pollOnce = (fanIn: FanIn.FanInConsumer, rings: ReturnType<typeof inputs>, maxPerInput: number) => {
  const got: Array<[number, number]> = []
  const code = fanIn.poll(maxPerInput, (input, consumer, count) => {
    for (let i = 0; i < count; i++) got.push([input, rings[input]!.view.fields.seq.get(consumer.readIndex + i)])
  })
  return { code, got }
}

describe("FanInConsumer", () => {
  it("needs at least one input, and inputs that share one consumer bell", () => {
    assert.throws(() => new FanIn.FanInConsumer([]), RangeError, "inputs=0")
    const shared = inputs(1, 8)[0]!.handle
    const own = OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 8 })
    assert.throws(
      () => new FanIn.FanInConsumer([shared, own]),
      RangeError,
      `fan-in inputs must share one consumer bell: input 1 rings byteOffset=384, input 0 rings byteOffset=0`
    )
  })

  it("keeps each input's order, caps each input per poll, and starts each poll one input later", () => {
    const rings = inputs(3, 8)
    send(rings[0]!, [10, 11, 12])
    send(rings[1]!, [20])
    send(rings[2]!, [30, 31])
    const fanIn = new FanIn.FanInConsumer(rings.map((r) => r.handle))
    assert.isTrue(fanIn.hasWork())
    assert.deepStrictEqual(pollOnce(fanIn, rings, 2), { code: 5, got: [[0, 10], [0, 11], [1, 20], [2, 30], [2, 31]] })
    send(rings[0]!, [13])
    send(rings[1]!, [21])
    assert.deepStrictEqual(pollOnce(fanIn, rings, 2), { code: 3, got: [[1, 21], [0, 12], [0, 13]] })
    assert.isFalse(fanIn.hasWork())
    assert.deepStrictEqual(pollOnce(fanIn, rings, 2), { code: 0, got: [] })
  })

  it("releases each batch after the handler, so producers get their slots back", () => {
    const rings = inputs(2, 4)
    send(rings[0]!, [1, 2, 3, 4])
    const fanIn = new FanIn.FanInConsumer(rings.map((r) => r.handle))
    pollOnce(fanIn, rings, 4)
    assert.strictEqual(rings[0]!.producer.freeSlots(), 4)
  })

  it("reports END_OF_STREAM only after every input closed and was drained", () => {
    const rings = inputs(2, 8)
    const fanIn = new FanIn.FanInConsumer(rings.map((r) => r.handle))
    send(rings[0]!, [1])
    rings[0]!.producer.close()
    assert.deepStrictEqual(pollOnce(fanIn, rings, 8), { code: 1, got: [[0, 1]] })
    assert.strictEqual(pollOnce(fanIn, rings, 8).code, 0, "input 1 is still open")
    assert.isFalse(fanIn.isEndOfStream())
    send(rings[1]!, [2])
    rings[1]!.producer.close()
    assert.isTrue(fanIn.hasWork())
    assert.deepStrictEqual(pollOnce(fanIn, rings, 8), { code: 1, got: [[1, 2]] })
    assert.strictEqual(pollOnce(fanIn, rings, 8).code, OneToOneRing.END_OF_STREAM)
    assert.isTrue(fanIn.isEndOfStream())
  })
})
