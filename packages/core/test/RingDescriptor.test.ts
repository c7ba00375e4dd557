/**
 * The ring header drawn in `internal/kernel/ringDescriptor.ts`, checked offset by offset, and the
 * words `makeRing`, the producer, the consumer and the bells actually write there (read back raw).
 */
import { assert, describe, it } from "@effect/vitest"
import { Doorbell, OneToOneRing, RecordLayout, RingDescriptor as D } from "../src/index.ts"

/** The drawing, transcribed: offset, width and writer of every header field. */
const DRAWING = [
  { name: "MAGIC", offset: 0, bytes: 4, writer: "creator" },
  { name: "VERSION", offset: 4, bytes: 4, writer: "creator" },
  { name: "CAPACITY", offset: 8, bytes: 4, writer: "creator" },
  { name: "SLOT_BYTES", offset: 12, bytes: 4, writer: "creator" },
  { name: "TAIL", offset: 128, bytes: 4, writer: "producer" },
  { name: "CLOSED", offset: 132, bytes: 4, writer: "producer" },
  { name: "WANTS_ROOM", offset: 124, bytes: 4, writer: "producer" },
  { name: "HEAD", offset: 256, bytes: 4, writer: "consumer" },
  { name: "CONSUMER_BELL", offset: 384, bytes: 4, writer: "any" },
  { name: "PRODUCER_BELL", offset: 512, bytes: 4, writer: "any" }
] as const

const constantOf = (name: (typeof DRAWING)[number]["name"]): number => {
  const value = (D as unknown as Record<string, unknown>)[`${name}_OFFSET`]
  assert.isNumber(value, `${name}_OFFSET is exported`)
  return value as number
}

/** Header words of the ring behind `handle`, as the raw Int32Array a tool would read. */
const headerWords = (handle: OneToOneRing.RingHandle): Int32Array =>
  new Int32Array(handle.buffer, handle.byteOffset, D.HEADER_BYTES / 4)

/** First and last 128-byte-aligned line pair a field occupies when the ring starts at `base`. */
const linePairs = (base: number, field: { readonly offset: number; readonly bytes: number }): [number, number] => [
  Math.floor((base + field.offset) / 128),
  Math.floor((base + field.offset + field.bytes - 1) / 128)
]

const word = (handle: OneToOneRing.RingHandle, offset: number): number => Atomics.load(headerWords(handle), offset >> 2)

describe("RingDescriptor", () => {
  it("every field sits at the offset the drawing gives it", () => {
    for (const field of DRAWING) assert.strictEqual(constantOf(field.name), field.offset, field.name)
    assert.strictEqual(D.PADDED_LINE_BYTES, 128)
    assert.strictEqual(D.HEADER_BYTES, 640)
    assert.strictEqual(D.DATA_OFFSET, 640)
  })

  it("fields are 4-byte aligned and none overlaps the next or the data region", () => {
    const sorted = [...DRAWING].sort((a, b) => a.offset - b.offset)
    for (const [i, field] of sorted.entries()) {
      assert.strictEqual(field.offset % 4, 0, field.name)
      const end = field.offset + field.bytes
      const next = sorted[i + 1]?.offset ?? D.DATA_OFFSET
      assert.isAtMost(end, next, `${field.name} ends at ${end}, next field starts at ${next}`)
    }
  })

  it("the counters written by different threads (TAIL, HEAD and the two bells) are 128 bytes apart", () => {
    const counters = [D.TAIL_OFFSET, D.HEAD_OFFSET, D.CONSUMER_BELL_OFFSET, D.PRODUCER_BELL_OFFSET, D.DATA_OFFSET]
    for (let i = 1; i < counters.length; i++) assert.strictEqual(counters[i]! - counters[i - 1]!, 128)
  })

  // CLOSED rides on the producer's line, 124 bytes before HEAD: what matters for false sharing is the
  // 128-byte pair of lines a field lands in, which depends on where the ring starts in its buffer.
  it("fields written by different threads never share a 128-byte line pair, wherever an 8-aligned ring starts", () => {
    const live = DRAWING.filter((field) => field.writer !== "creator")
    for (let base = 0; base < 128; base += 8) {
      for (const a of live) {
        for (const b of live) {
          if (a === b || (a.writer === b.writer && a.writer !== "any")) continue
          const [aFirst, aLast] = linePairs(base, a)
          const [bFirst, bLast] = linePairs(base, b)
          assert.isTrue(
            aLast < bFirst || bLast < aFirst,
            `byteOffset=${base}: ${a.name} (${a.writer}) and ${b.name} (${b.writer}) share a 128-byte line pair`
          )
        }
      }
    }
  })

  it("the creator's words, written before the ring is shared, fill only the first padded line", () => {
    for (const field of DRAWING.filter((f) => f.writer === "creator")) {
      assert.isAtMost(field.offset + field.bytes, D.TAIL_OFFSET, field.name)
    }
    assert.strictEqual(D.TAIL_OFFSET, D.PADDED_LINE_BYTES)
  })

  it("the data region starts on a padded line after the last header field", () => {
    assert.strictEqual(D.DATA_OFFSET % D.PADDED_LINE_BYTES, 0)
    assert.isAtLeast(D.DATA_OFFSET - D.PRODUCER_BELL_OFFSET, 128)
  })

  it("the magic word spells VRNG in memory order", () => {
    const bytes = new Uint8Array(new Int32Array([D.MAGIC]).buffer)
    assert.strictEqual(String.fromCharCode(...bytes), "VRNG")
  })

  it("ringByteLength is the header plus capacity slots", () => {
    assert.strictEqual(D.ringByteLength(8, 16), 640 + 128)
    assert.strictEqual(D.ringByteLength(1024, 32), 640 + 32 * 1024)
  })

  it("checkCapacity accepts powers of two from 2 to MAX_CAPACITY and names the rejected value", () => {
    for (const ok of [2, 4, 1024, D.MAX_CAPACITY]) D.checkCapacity(ok)
    for (const bad of [0, 1, 3, 4100, D.MAX_CAPACITY * 2, 2.5, -4, Number.NaN]) {
      assert.throws(() => D.checkCapacity(bad), RangeError, `capacity=${bad}`)
    }
  })

  it("makeRing writes magic, version, capacity and slot size at their drawn offsets", () => {
    const handle = OneToOneRing.makeUnsafe({ capacity: 64, slotBytes: 24 })
    assert.strictEqual(handle.buffer.byteLength, D.ringByteLength(64, 24))
    assert.strictEqual(word(handle, 0), D.MAGIC)
    assert.strictEqual(word(handle, 4), D.VERSION)
    assert.strictEqual(word(handle, 8), 64)
    assert.strictEqual(word(handle, 12), 24)
    for (const offset of [124, 128, 132, 256, 384, 512]) assert.strictEqual(word(handle, offset), 0, `word at ${offset}`)
  })

  it("makeRing placed at a byteOffset writes the header relative to that offset and clears stale words", () => {
    const buffer = new SharedArrayBuffer(4096)
    new Int32Array(buffer).fill(-1)
    const handle = OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 8, buffer, byteOffset: 256 })
    const raw = new Int32Array(buffer)
    assert.strictEqual(raw[(256 + 0) >> 2], D.MAGIC)
    assert.strictEqual(raw[(256 + 4) >> 2], D.VERSION)
    assert.strictEqual(raw[(256 + 8) >> 2], 8)
    assert.strictEqual(raw[(256 + 12) >> 2], 8)
    for (const offset of [124, 128, 132, 256, 384, 512]) assert.strictEqual(raw[(256 + offset) >> 2], 0, `word at ${offset}`)
    assert.strictEqual(raw[(256 >> 2) - 1], -1, "the word before the ring is untouched")
    assert.deepStrictEqual(handle.consumerBell, { buffer, byteOffset: 256 + 384 })
    assert.deepStrictEqual(handle.producerBell, { buffer, byteOffset: 256 + 512 })
  })

  it("the producer writes TAIL and CLOSED, the consumer writes HEAD, at their drawn offsets", () => {
    const handle = OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 8 })
    const producer = new OneToOneRing.RingProducer(handle)
    const consumer = new OneToOneRing.RingConsumer(handle)
    assert.strictEqual(producer.claim(5), 5)
    producer.publish(3)
    assert.strictEqual(word(handle, 128), 3)
    assert.strictEqual(consumer.poll(8), 3)
    consumer.release(2)
    assert.strictEqual(word(handle, 256), 2)
    assert.strictEqual(word(handle, 132), 0)
    producer.close()
    assert.strictEqual(word(handle, 132), 1)
  })

  it("the producer raises WANTS_ROOM when it finds the ring full and lowers it once it finds room", () => {
    const handle = OneToOneRing.makeUnsafe({ capacity: 4, slotBytes: 8 })
    const producer = new OneToOneRing.RingProducer(handle)
    const consumer = new OneToOneRing.RingConsumer(handle)
    assert.strictEqual(producer.claim(4), 4)
    producer.publish()
    assert.strictEqual(word(handle, 124), 0, "full, but not looked at since")
    assert.strictEqual(producer.claim(1), 0)
    assert.strictEqual(word(handle, 124), 1, "a claim that found it full")
    assert.strictEqual(consumer.poll(4), 4)
    consumer.release(1)
    assert.strictEqual(word(handle, 124), 1, "only the producer lowers it")
    assert.strictEqual(producer.claim(1), 1)
    assert.strictEqual(word(handle, 124), 0, "a claim that found room")
    producer.publish()
    assert.isFalse(producer.hasSpace())
    assert.strictEqual(word(handle, 124), 1, "hasSpace (an idle strategy's re-check) raises it too")
    assert.isFalse(new OneToOneRing.RingProducer(handle).hasSpace(), "a new producer (a restart) sees it full too")
    assert.strictEqual(word(handle, 124), 1)
    consumer.release(3)
    assert.strictEqual(producer.room(1), 3)
    assert.strictEqual(word(handle, 124), 0)
  })

  it("a release rings the producer's bell only while the producer wants room", () => {
    const handle = OneToOneRing.makeUnsafe({ capacity: 4, slotBytes: 8 })
    const producer = new OneToOneRing.RingProducer(handle)
    const consumer = new OneToOneRing.RingConsumer(handle)
    const bell = new Doorbell.Doorbell(handle.producerBell)
    // The producer's loop parked for something else (its bell armed, the ring with room).
    assert.strictEqual(producer.claim(2), 2)
    producer.publish()
    bell.arm()
    assert.strictEqual(consumer.poll(4), 2)
    consumer.release(2)
    assert.isTrue(bell.isArmed(), "not rung: the producer did not want room")
    assert.strictEqual(consumer.producerBell.notifyCount, 0)
    // Full: the producer wants room, parks, and the next release rings it.
    assert.strictEqual(producer.claim(4), 2)
    producer.publish()
    assert.strictEqual(producer.claim(2), 2)
    producer.publish()
    assert.strictEqual(producer.claim(1), 0)
    bell.arm()
    assert.isFalse(producer.hasSpace(), "the re-check after arming")
    assert.strictEqual(consumer.poll(4), 2)
    consumer.release(1)
    assert.isFalse(bell.isArmed(), "rung")
    assert.strictEqual(consumer.producerBell.notifyCount, 1)
  })

  it("the default bells are the words at CONSUMER_BELL and PRODUCER_BELL", () => {
    const handle = OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 8 })
    new Doorbell.Doorbell(handle.consumerBell).arm()
    assert.strictEqual(word(handle, 384), 1)
    assert.strictEqual(word(handle, 512), 0)
    new Doorbell.Doorbell(handle.producerBell).arm()
    assert.strictEqual(word(handle, 512), 1)
  })

  it("slot i of the data region starts at DATA_OFFSET + i × SLOT_BYTES", () => {
    const layout = RecordLayout.make("Probe", { a: "u32", b: "u32" })
    const handle = OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: layout.byteLength, byteOffset: 64 })
    const view = OneToOneRing.viewUnsafe(handle, layout)
    view.fields.a.set(5, 0xabcdef)
    const raw = new Uint32Array(handle.buffer)
    assert.strictEqual(raw[(64 + D.DATA_OFFSET + 5 * layout.byteLength) >> 2], 0xabcdef)
  })

  it("attaching checks the header: magic, version and size", () => {
    const handle = OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 8 })
    const words = headerWords(handle)
    assert.throws(() => new OneToOneRing.RingConsumer({ ...handle, capacity: 16 }), RangeError, "capacity=8 slotBytes=8")
    words[D.VERSION_OFFSET >> 2] = D.VERSION + 1
    assert.throws(() => new OneToOneRing.RingProducer(handle), RangeError, `version=${D.VERSION + 1}`)
    words[D.MAGIC_OFFSET >> 2] = 0
    assert.throws(() => new OneToOneRing.RingMonitor(handle), RangeError, "not a velox ring at byteOffset=0: magic=0x0")
  })
})
