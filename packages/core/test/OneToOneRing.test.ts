import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Cause, Effect, Fiber, Schema, Stream } from "effect"
import { OneToOneRing, RecordLayout, RingDescriptor } from "../src/index.ts"

/** A sequence number and its complement: a slot holding anything else was torn or never written. */
const Seq = RecordLayout.make("Seq", { seq: "u32", inv: "u32" })

const makeRing = (capacity: number) => {
  const handle = OneToOneRing.makeUnsafe({ capacity, slotBytes: Seq.byteLength })
  return { handle, view: OneToOneRing.viewUnsafe(handle, Seq) }
}

/** Sets TAIL and HEAD of a fresh ring, as if `start` records had already gone through it. */
const startAt = (handle: OneToOneRing.RingHandle, start: number): void => {
  const words = new Int32Array(handle.buffer, handle.byteOffset, RingDescriptor.HEADER_BYTES / 4)
  words[RingDescriptor.TAIL_OFFSET >> 2] = start
  words[RingDescriptor.HEAD_OFFSET >> 2] = start
}

type View = ReturnType<typeof makeRing>["view"]

const write = (view: View, slot: number, seq: number): void => {
  view.fields.seq.set(slot, seq)
  view.fields.inv.set(slot, ~seq)
}

/** Asserts only on a mismatch: the model test compares hundreds of thousands of values per run. */
const same = (actual: unknown, expected: unknown, what: () => string): void => {
  if (actual !== expected) assert.strictEqual(actual, expected, what())
}

const read = (view: View, slot: number): number => {
  const seq = view.fields.seq.get(slot)
  same(view.fields.inv.get(slot), ~seq >>> 0, () => `slot ${slot} holds seq=${seq} and its complement`)
  return seq
}

/** Publishes `count` records numbered from `first`, claiming across the wrap as needed. */
const produce = (producer: OneToOneRing.RingProducer, view: View, first: number, count: number): void => {
  let seq = first
  while (seq < first + count) {
    const n = producer.claim(Math.min(first + count - seq, producer.capacity))
    assert.isAbove(n, 0, "the ring has space")
    for (let i = 0; i < n; i++) write(view, producer.claimIndex + i, seq + i)
    producer.publish(n)
    seq += n
  }
}

/** Polls and releases everything available; returns the sequence numbers read, and the last poll code. */
const drain = (consumer: OneToOneRing.RingConsumer, view: View): { seqs: Array<number>; last: number } => {
  const seqs: Array<number> = []
  for (;;) {
    const n = consumer.poll(consumer.capacity)
    if (n <= 0) return { seqs, last: n }
    for (let i = 0; i < n; i++) seqs.push(read(view, consumer.readIndex + i))
    consumer.release(n)
  }
}

const range = (from: number, count: number): Array<number> => Array.from({ length: count }, (_, i) => from + i)

describe("OneToOneRing kernel", () => {
  describe("misuse", () => {
    it("a capacity that is not a power of two from 2 up is rejected, naming it", () => {
      for (const capacity of [0, 1, 3, 4100, 2 ** 31, 2.5, -8]) {
        assert.throws(
          () => OneToOneRing.makeUnsafe({ capacity, slotBytes: 8 }),
          RangeError,
          `capacity must be a power of two between 2 and ${RingDescriptor.MAX_CAPACITY}: capacity=${capacity}`
        )
      }
    })

    it("a slot size that is not a positive multiple of 8 is rejected, naming it", () => {
      for (const slotBytes of [0, 12, -8, 8.5]) {
        assert.throws(
          () => OneToOneRing.makeUnsafe({ capacity: 8, slotBytes }),
          RangeError,
          `slotBytes must be a positive multiple of 8: slotBytes=${slotBytes}`
        )
      }
    })

    it("a ring that does not fit its buffer, or starts unaligned, is rejected, naming the sizes", () => {
      const buffer = new SharedArrayBuffer(1024)
      assert.throws(
        () => OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 64, buffer }),
        RangeError,
        "byteOffset=0 + byteLength=1152 > buffer.byteLength=1024"
      )
      assert.throws(
        () => OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 8, buffer, byteOffset: 12 }),
        RangeError,
        "byteOffset must be a non-negative multiple of 8: byteOffset=12"
      )
    })

    it("a view whose layout is not the slot size is rejected, naming both", () => {
      const handle = OneToOneRing.makeUnsafe({ capacity: 8, slotBytes: 16 })
      assert.throws(
        () => OneToOneRing.viewUnsafe(handle, Seq),
        RangeError,
        `layout "Seq" is 8 bytes wide but the ring's slots are slotBytes=16`
      )
    })

    it("claiming more than the ring holds, or less than one slot, throws a RangeError naming the values", () => {
      const { handle } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      assert.throws(() => producer.claim(9), RangeError, "claim must be between 1 and the ring capacity: claim=9 capacity=8")
      assert.throws(() => producer.claim(0), RangeError, "claim=0 capacity=8")
    })

    it("publishing more than was claimed throws a RangeError naming both counts", () => {
      const { handle } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      assert.throws(() => producer.publish(1), RangeError, "publish exceeds the claim: publish=1 claimed=0")
      assert.strictEqual(producer.claim(2), 2)
      assert.throws(() => producer.publish(3), RangeError, "publish exceeds the claim: publish=3 claimed=2")
      producer.publish(2)
      assert.throws(() => producer.publish(1), RangeError, "publish=1 claimed=0")
    })

    it("releasing more than is in flight throws a RangeError naming both counts", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 0, 5)
      assert.throws(() => consumer.release(1), RangeError, "release exceeds the records in flight: release=1 inFlight=0")
      assert.strictEqual(consumer.poll(2), 2)
      assert.throws(() => consumer.release(5), RangeError, "release exceeds the records in flight: release=5 inFlight=2")
      consumer.release()
      assert.strictEqual(consumer.inFlight(), 0)
    })
  })

  describe("protocol", () => {
    it("a claim never runs past the end of the data region, so the next claim starts at slot 0", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 0, 6)
      assert.deepStrictEqual(drain(consumer, view).seqs, range(0, 6))
      assert.strictEqual(producer.claim(8), 2)
      assert.strictEqual(producer.claimIndex, 6)
      producer.publish()
      assert.strictEqual(producer.claim(8), 6)
      assert.strictEqual(producer.claimIndex, 0)
    })

    it("a full ring claims nothing until the consumer releases", () => {
      const { handle, view } = makeRing(4)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 0, 4)
      assert.strictEqual(producer.claim(1), 0)
      assert.isFalse(producer.hasSpace())
      assert.strictEqual(consumer.poll(4), 4)
      assert.strictEqual(producer.claim(1), 0, "polled is not released")
      consumer.release(1)
      assert.strictEqual(producer.claim(4), 1)
    })

    it("room is exact below what is wanted and a lower bound above it, re-reading HEAD only when it must", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 0, 6)
      assert.strictEqual(producer.room(2), 2)
      consumer.poll(6)
      consumer.release(4)
      // The cached HEAD still says 2 free: enough for 1 or 2, so HEAD is not read again.
      assert.strictEqual(producer.room(1), 2)
      assert.strictEqual(producer.room(2), 2)
      // Wanting more than the cache shows re-reads HEAD: the exact count.
      assert.strictEqual(producer.room(3), 6)
      assert.strictEqual(producer.room(8), 6)
      produce(producer, view, 6, 6)
      assert.strictEqual(producer.room(1), 0, "full: exact")
      assert.strictEqual(producer.freeSlots(), 0)
    })

    it("an unpublished claim is invisible to the consumer and replaced by the next claim", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      assert.strictEqual(producer.claim(4), 4)
      write(view, 0, 99)
      assert.strictEqual(consumer.poll(8), 0)
      assert.isFalse(consumer.hasWork())
      assert.strictEqual(producer.claim(1), 1)
      assert.strictEqual(producer.claimIndex, 0)
      write(view, 0, 7)
      producer.publish()
      assert.deepStrictEqual(drain(consumer, view).seqs, [7])
    })

    it("the consumer reads everything published before close, then sees END_OF_STREAM", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 0, 5)
      producer.close()
      assert.isTrue(consumer.hasWork())
      assert.isFalse(consumer.isEndOfStream())
      const { last, seqs } = drain(consumer, view)
      assert.deepStrictEqual(seqs, range(0, 5))
      assert.strictEqual(last, OneToOneRing.END_OF_STREAM)
      assert.isTrue(consumer.isEndOfStream())
      assert.strictEqual(consumer.poll(8), OneToOneRing.END_OF_STREAM, "the end is sticky")
    })

    it("END_OF_STREAM is not reported while records are in flight and unreleased", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 0, 3)
      producer.close()
      assert.strictEqual(consumer.poll(8), 3)
      assert.strictEqual(consumer.poll(8), 0)
      assert.isFalse(consumer.isEndOfStream())
      consumer.release(2)
      assert.strictEqual(consumer.poll(8), 0)
      consumer.release(1)
      assert.strictEqual(consumer.poll(8), OneToOneRing.END_OF_STREAM)
    })

    it("rewind forgets what is in flight: the next poll starts again at the oldest unreleased record", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 10, 6)
      assert.strictEqual(consumer.poll(4), 4)
      consumer.release(1)
      consumer.rewind()
      assert.strictEqual(consumer.inFlight(), 0)
      assert.strictEqual(consumer.poll(8), 5)
      assert.deepStrictEqual(range(0, 5).map((i) => read(view, consumer.readIndex + i)), range(11, 5))
    })

    it("a consumer attached after a crash redelivers what its predecessor polled and did not release", () => {
      const { handle, view } = makeRing(8)
      const producer = new OneToOneRing.RingProducer(handle)
      const crashed = new OneToOneRing.RingConsumer(handle)
      produce(producer, view, 0, 6)
      assert.strictEqual(crashed.poll(4), 4)
      crashed.release(1) // then the thread dies with records 1..3 in flight
      const restarted = new OneToOneRing.RingConsumer(handle)
      assert.strictEqual(restarted.inFlight(), 0)
      producer.close()
      const { last, seqs } = drain(restarted, view)
      assert.deepStrictEqual(seqs, range(1, 5))
      assert.strictEqual(last, OneToOneRing.END_OF_STREAM)
    })

    it("RingMonitor reports fill, head, tail and closed as the two sides move", () => {
      const { handle, view } = makeRing(16)
      const monitor = new OneToOneRing.RingMonitor(handle)
      const producer = new OneToOneRing.RingProducer(handle)
      const consumer = new OneToOneRing.RingConsumer(handle)
      assert.deepStrictEqual([monitor.fill(), monitor.head(), monitor.tail(), monitor.isClosed()], [0, 0, 0, false])
      produce(producer, view, 0, 10)
      assert.deepStrictEqual([monitor.fill(), monitor.head(), monitor.tail()], [10, 0, 10])
      assert.strictEqual(consumer.poll(6), 6)
      assert.strictEqual(monitor.fill(), 10, "polled records still fill the ring until released")
      consumer.release(4)
      assert.deepStrictEqual([monitor.fill(), monitor.head(), monitor.tail()], [6, 4, 10])
      assert.strictEqual(producer.fill(), 6)
      assert.strictEqual(consumer.fill(), 6)
      assert.strictEqual(producer.freeSlots(), 10)
      producer.close()
      assert.isTrue(monitor.isClosed())
      assert.strictEqual(monitor.capacity, 16)
    })

    for (const [name, start] of [["2^31 (signed overflow)", 0x7ffffff0], ["2^32 (unsigned wrap)", 0xfffffff0 | 0]] as const) {
      it(`sequences wrap past ${name} without losing, duplicating or reordering a record`, () => {
        const { handle, view } = makeRing(8)
        startAt(handle, start)
        const monitor = new OneToOneRing.RingMonitor(handle)
        const producer = new OneToOneRing.RingProducer(handle)
        const consumer = new OneToOneRing.RingConsumer(handle)
        const seqs: Array<number> = []
        for (let round = 0; round < 8; round++) {
          produce(producer, view, round * 5, 5)
          assert.strictEqual(monitor.fill(), 5)
          assert.strictEqual(consumer.fill(), 5)
          seqs.push(...drain(consumer, view).seqs)
          assert.strictEqual(producer.freeSlots(), 8)
        }
        assert.deepStrictEqual(seqs, range(0, 40))
        assert.strictEqual(monitor.tail(), (start + 40) | 0)
        assert.strictEqual(monitor.head(), (start + 40) | 0)
        assert.isTrue(start > 0 ? monitor.tail() < 0 : monitor.tail() > 0, "the 32-bit sequence did wrap")
        producer.close()
        assert.strictEqual(consumer.poll(8), OneToOneRing.END_OF_STREAM)
      })
    }
  })

  describe("model", () => {
    const CAPACITY = 8
    const OPERATIONS = 8000
    const MIN_WRAPS = 100

    // Two parallel arrays, the operation kinds and their sizes: small integer ranges come out near
    // uniform (a struct per operation generates ten times slower; one wide integer per operation is
    // skewed to its bounds). Kinds 0-2 claim, 3-4 publish, 5-6 poll, 7-8 release, 9 rewind.
    const Kinds = Arbitrary.array(Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 9 }))), {
      minLength: OPERATIONS,
      maxLength: OPERATIONS
    })
    const Sizes = Arbitrary.array(
      Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: CAPACITY }))),
      { minLength: OPERATIONS, maxLength: OPERATIONS }
    )
    // Where the 32-bit sequences start: zero, mid-ring, and just before both overflow points.
    const Start = Schema.Literals([0, 5, 0x7ffffff3, 0xfffffff5 | 0])

    it.prop(
      "any sequence of claim, publish, poll, release and rewind behaves like an array FIFO, wrapping the ring 100+ times",
      { kinds: Kinds, sizes: Sizes, start: Start },
      ({ kinds, sizes, start }) => {
        const { handle, view } = makeRing(CAPACITY)
        startAt(handle, start)
        const producer = new OneToOneRing.RingProducer(handle)
        const consumer = new OneToOneRing.RingConsumer(handle)
        const monitor = new OneToOneRing.RingMonitor(handle)
        const mask = CAPACITY - 1

        // The model: published-and-unreleased records in order; the first `inFlight` of them are polled.
        const fifo: Array<number> = []
        let inFlight = 0
        let published = 0 // records published so far; the next one is numbered `published`
        let claimed = 0
        let polled = 0 // records polled past, counted from the start (rewind moves it back)

        for (let op = 0; op < OPERATIONS; op++) {
          const kind = kinds[op]!
          const n = sizes[op]!
          if (kind <= 2) {
            const tailIndex = (start + published) & mask
            const expected = Math.min(n, CAPACITY - fifo.length, CAPACITY - tailIndex)
            claimed = producer.claim(n)
            same(claimed, expected, () => `claim(${n})`)
            if (claimed > 0) same(producer.claimIndex, tailIndex, () => "claimIndex")
            for (let i = 0; i < claimed; i++) write(view, producer.claimIndex + i, published + i)
          } else if (kind <= 4) {
            const count = Math.min(n, claimed)
            producer.publish(count)
            for (let i = 0; i < count; i++) fifo.push(published + i)
            published += count
            claimed = 0
          } else if (kind <= 6) {
            const readIndex = (start + polled) & mask
            const expected = Math.min(n, fifo.length - inFlight, CAPACITY - readIndex)
            const got = consumer.poll(n)
            same(got, expected, () => `poll(${n})`)
            if (got > 0) same(consumer.readIndex, readIndex, () => "readIndex")
            for (let i = 0; i < got; i++) {
              same(read(view, consumer.readIndex + i), fifo[inFlight + i], () => `record ${i} of poll(${n})`)
            }
            inFlight += got
            polled += got
          } else if (kind <= 8) {
            const count = Math.min(n, inFlight)
            consumer.release(count)
            fifo.splice(0, count)
            inFlight -= count
          } else {
            consumer.rewind()
            polled -= inFlight
            inFlight = 0
          }
          same(consumer.inFlight(), inFlight, () => "inFlight")
          same(monitor.fill(), fifo.length, () => "fill")
          same(monitor.tail(), (start + published) | 0, () => "tail")
          same(monitor.head(), (start + published - fifo.length) | 0, () => "head")
        }

        producer.close()
        consumer.rewind()
        const { last, seqs } = drain(consumer, view)
        assert.deepStrictEqual(seqs, fifo, "after close the consumer reads exactly what the model still holds")
        assert.strictEqual(last, OneToOneRing.END_OF_STREAM)
        const wraps = Math.floor(published / CAPACITY)
        assert.isAtLeast(wraps, MIN_WRAPS, `the ring wrapped ${wraps} times`)
      },
      { arbitrary: { runs: 40 } }
    )
  })
})

/** Quote records for the Effect face. */
const Tick = RecordLayout.make("Tick", { seq: "u32", price: "f64" })
const ticks = (from: number, count: number) => range(from, count).map((seq) => ({ seq, price: seq + 0.25 }))

describe("OneToOneRing Effect face", () => {
  it.live("records offered by a writer come out of a reader in order, by take and by stream", () =>
    Effect.gen(function*() {
      const ring = yield* OneToOneRing.make(Tick, { capacity: 8 })
      const writer = OneToOneRing.writer(ring)
      const reader = OneToOneRing.reader(ring)
      yield* writer.offerAll(ticks(0, 5))
      assert.deepStrictEqual(yield* reader.take(3), ticks(0, 3))
      assert.deepStrictEqual(yield* reader.take(16), ticks(3, 2))
      const [, streamed] = yield* Effect.all(
        [writer.offerAll(ticks(5, 100)).pipe(Effect.andThen(writer.close)), Stream.runCollect(reader.stream(7))],
        { concurrency: 2 }
      )
      assert.deepStrictEqual(streamed, ticks(5, 100))
    }))

  it.live("offerAll on a full ring waits, and completes once another fiber takes", () =>
    Effect.gen(function*() {
      const ring = yield* OneToOneRing.make(Tick, { capacity: 4 })
      const writer = OneToOneRing.writer(ring)
      const reader = OneToOneRing.reader(ring)
      const monitor = new OneToOneRing.RingMonitor(ring.handle)
      const offering = yield* Effect.forkChild(writer.offerAll(ticks(0, 10)))
      yield* Effect.sleep("20 millis")
      assert.isUndefined(offering.pollUnsafe(), "the offer is still waiting for space")
      assert.strictEqual(monitor.fill(), 4)
      const taken: Array<{ seq: number; price: number }> = []
      while (taken.length < 10) taken.push(...(yield* reader.take(3)))
      yield* Fiber.join(offering)
      assert.deepStrictEqual(taken, ticks(0, 10))
    }))

  it.live("offering after close fails with a RingError of reason Closed", () =>
    Effect.gen(function*() {
      const ring = yield* OneToOneRing.make(Tick, { capacity: 4 })
      const writer = OneToOneRing.writer(ring)
      yield* writer.close
      const error = yield* Effect.flip(writer.offerAll(ticks(0, 1)))
      assert.instanceOf(error, OneToOneRing.RingError)
      assert.strictEqual(error.reason, "Closed")
      assert.strictEqual(writer.offerAllUnsafe(ticks(0, 1)), 0)
    }))

  it.live("take at the end of the stream fails with Cause.Done", () =>
    Effect.gen(function*() {
      const ring = yield* OneToOneRing.make(Tick, { capacity: 4 })
      const writer = OneToOneRing.writer(ring)
      const reader = OneToOneRing.reader(ring)
      yield* writer.offerAll(ticks(0, 2))
      yield* writer.close
      assert.deepStrictEqual(yield* reader.take(8), ticks(0, 2))
      const done = yield* Effect.flip(reader.take(8))
      assert.isTrue(Cause.isDone(done))
      assert.isUndefined(reader.takeUnsafe(8))
    }))

  it.live("a reader waiting on an empty ring does not block the event loop", () =>
    Effect.gen(function*() {
      const ring = yield* OneToOneRing.make(Tick, { capacity: 4 })
      const writer = OneToOneRing.writer(ring)
      const reader = OneToOneRing.reader(ring)
      const taking = yield* Effect.forkChild(reader.take(4))
      yield* Effect.yieldNow
      const fired = yield* Effect.promise(() => new Promise<string>((resolve) => setTimeout(() => resolve("fired"), 10)))
      assert.strictEqual(fired, "fired")
      yield* Effect.sleep("10 millis")
      assert.isUndefined(taking.pollUnsafe(), "take is still waiting")
      yield* writer.offerAll(ticks(7, 1))
      assert.deepStrictEqual(yield* Fiber.join(taking), ticks(7, 1))
    }))

  it.live("an interrupted take leaves the ring usable", () =>
    Effect.gen(function*() {
      const ring = yield* OneToOneRing.make(Tick, { capacity: 4 })
      const writer = OneToOneRing.writer(ring)
      const reader = OneToOneRing.reader(ring)
      const taking = yield* Effect.forkChild(reader.take(4))
      yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(taking)
      yield* writer.offerAll(ticks(0, 2))
      assert.deepStrictEqual(yield* reader.take(4), ticks(0, 2))
    }))

  it.effect("make rejects a bad capacity with a RingError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(OneToOneRing.make(Tick, { capacity: 4100 }))
      assert.strictEqual(error.reason, "InvalidCapacity")
      assert.include(error.message, "capacity=4100")
    }))

  it.effect("closing the ring's scope closes the ring", () =>
    Effect.gen(function*() {
      const ring = yield* Effect.scoped(OneToOneRing.make(Tick, { capacity: 4 }))
      assert.isTrue(new OneToOneRing.RingMonitor(ring.handle).isClosed())
    }))
})
