/**
 * `Emitter.forward`: the emitters copy input records on in contiguous runs — within the loop's scratch
 * arena (a memmove), from other memory (word copies), across a full scratch batch and across the wrap of
 * a ring's slots — bit for bit, counting each record once as emitted and once as written.
 */
import { assert, describe, it } from "@effect/vitest"
import { makeDoorbellRef, Doorbell } from "../src/internal/kernel/doorbell.ts"
import {
  ParkingSpaceWaiter,
  RelayEmitter,
  RingEmitter,
  ScratchArena,
  ScratchEmitter,
  SinkEmitter
} from "../src/internal/kernel/emitters.ts"
import { makeRing, RingConsumer, ringView } from "../src/internal/kernel/oneToOneRing.ts"
import { copyRecords, makeLayout, makeView, type RecordView } from "../src/internal/kernel/recordLayout.ts"

const Rec = makeLayout("Rec", { seq: "f64", tag: "u32", pad: "u32", value: "f64", check: "f64" })
const Wide = makeLayout("Wide", { seq: "f64", a: "f64", b: "f64", c: "f64", d: "f64" })

/** A view of `n` records whose words are all distinct (NaN payloads in the f64 words included). */
const filled = (view: RecordView, n: number, from = 1): RecordView => {
  for (let i = 0; i < n * view.wordsPerRecord; i++) view.words[i] = (from + i) | 0x7ff80000
  return view
}

const words = (view: RecordView, slot: number, n: number): Array<number> =>
  Array.from(view.words.subarray(slot * view.wordsPerRecord, (slot + n) * view.wordsPerRecord))

/** A scratch emitter whose hand-offs are kept as copies of the records handed on. */
const scratch = (capacity: number, arena?: ScratchArena) => {
  const handed: Array<number> = []
  const batches: Array<number> = []
  const emitter = new ScratchEmitter(Rec, capacity, arena, (view, count) => {
    batches.push(count)
    handed.push(...words(view, 0, count))
  }, 0, 0, 0, undefined)
  return { emitter, handed, batches }
}

describe("Emitter.forward", () => {
  it("from another batch of the same arena (a memmove) and from other memory, bit for bit, across full batches", () => {
    for (const sameArena of [true, false]) {
      const arena = new ScratchArena(64 * Rec.byteLength + 100 * Rec.byteLength)
      const input = sameArena ? arena.take(Rec, 100) : makeView(Rec, new ArrayBuffer(100 * Rec.byteLength), 0, 100)
      filled(input, 100)
      const { batches, emitter, handed } = scratch(64, arena)
      // 3 records emitted by hand first, so the forwarded runs straddle the batch boundary.
      for (let i = 0; i < 3; i++) emitter.forward(input, i, 1)
      emitter.forward(input, 3, 90)
      emitter.forward(input, 93, 7)
      emitter.flush()
      assert.deepStrictEqual(batches, [64, 36], `sameArena=${sameArena}`)
      assert.deepStrictEqual(handed, words(input, 0, 100), `sameArena=${sameArena}`)
      assert.strictEqual(emitter.emittedDelta, 100)
      assert.strictEqual(emitter.writtenDelta, 100)
    }
  })

  it("into a ring, across the wrap of its slots, bit for bit and in order", () => {
    const handle = makeRing({ capacity: 64, slotBytes: Rec.byteLength })
    const bell = new Doorbell(makeDoorbellRef())
    const waiter = new ParkingSpaceWaiter(bell, new Int32Array(new SharedArrayBuffer(4)), 0)
    const emitter = new RingEmitter(handle, Rec, 32, waiter, 0, 0, 0, undefined)
    const consumer = new RingConsumer(handle)
    const view = ringView(handle, Rec)
    const input = filled(makeView(Rec, new ArrayBuffer(40 * Rec.byteLength), 0, 40), 40)
    const got: Array<number> = []
    const drain = () => {
      for (let n = consumer.poll(64); n > 0; n = consumer.poll(64)) {
        got.push(...words(view, consumer.readIndex, n))
        consumer.release(n)
      }
    }
    // 50 + 40 records through 64 slots: the second forward wraps.
    emitter.forward(input, 0, 40)
    emitter.forward(input, 30, 10)
    emitter.flush()
    drain()
    emitter.forward(input, 0, 40)
    emitter.flush()
    drain()
    assert.deepStrictEqual(got, [...words(input, 0, 40), ...words(input, 30, 10), ...words(input, 0, 40)])
    assert.strictEqual(emitter.emittedDelta, 90)
    assert.strictEqual(emitter.writtenDelta, 90)
  })

  it("refuses records of another size, and a sink has no output to forward to", () => {
    const { emitter } = scratch(8)
    const wide = makeView(Wide, new ArrayBuffer(Wide.byteLength), 0, 1)
    assert.throws(() => emitter.forward(wide, 0, 1), /forward: input records are 40 bytes, output records \(Rec\) 32/)
    assert.throws(() => new SinkEmitter(0, 0, 0, undefined).forward(), /a sink has no output/)
  })
})

describe("a ring emitter that never waits (a fiber's)", () => {
  it("spills what its full ring cannot take, keeps the order, and settles as the consumer makes room", () => {
    const handle = makeRing({ capacity: 16, slotBytes: Rec.byteLength })
    const target = new RingEmitter(handle, Rec, 8, undefined, 0, 0, 0, undefined)
    const consumer = new RingConsumer(handle)
    const view = ringView(handle, Rec)
    const input = filled(makeView(Rec, new ArrayBuffer(600 * Rec.byteLength), 0, 600), 600)
    const got: Array<number> = []
    const take = (max: number) => {
      const n = consumer.poll(max)
      got.push(...words(view, consumer.readIndex, n))
      consumer.release(n)
      return n
    }
    // 600 records into 16 slots, in runs and one by one (past the spill's first size, so it grows).
    target.putRun(input, 0, 300)
    for (let i = 300; i < 600; i++) target.put(input, i)
    target.flush()
    assert.isFalse(target.settle())
    assert.isFalse(target.canSettle())
    assert.strictEqual(take(5), 5)
    assert.isTrue(target.canSettle())
    assert.isFalse(target.settle())
    let rounds = 0
    while (!target.settle()) {
      take(16)
      rounds++
    }
    assert.isFalse(target.canSettle())
    while (take(16) > 0);
    assert.isAbove(rounds, 30)
    assert.deepStrictEqual(got, words(input, 0, 600))
    // A spilling ring emitter is a target only: it hands out no slots once its ring is full.
    target.putRun(input, 0, 16)
    assert.throws(() => target.emit(), /hands out no slots/)
  })

  it("after a crash counts what it published as early and forgets what it spilled", () => {
    const handle = makeRing({ capacity: 16, slotBytes: Rec.byteLength })
    const target = new RingEmitter(handle, Rec, 8, undefined, 0, 0, 0, undefined)
    const consumer = new RingConsumer(handle)
    const input = filled(makeView(Rec, new ArrayBuffer(40 * Rec.byteLength), 0, 40), 40)
    target.putRun(input, 0, 40)
    assert.strictEqual(target.reset(), 16)
    consumer.release(consumer.poll(16))
    assert.isTrue(target.settle())
    assert.strictEqual(consumer.poll(16), 0)
  })
})

describe("a relay (a fiber's one ring behind a private batch)", () => {
  it("emits through its batch, forwards straight on behind it, in order, and spills what its ring cannot take", () => {
    const handle = makeRing({ capacity: 16, slotBytes: Rec.byteLength })
    const relay = new RelayEmitter(new RingEmitter(handle, Rec, 8, undefined, 0, 0, 0, undefined), Rec, 4, undefined, 0, 0, 0, undefined)
    const consumer = new RingConsumer(handle)
    const view = ringView(handle, Rec)
    const input = filled(makeView(Rec, new ArrayBuffer(40 * Rec.byteLength), 0, 40), 40)
    for (let i = 0; i < 6; i++) copyRecords(input, i, relay.view, relay.emit(), 1)
    relay.forward(input, 6, 30)
    for (let i = 36; i < 40; i++) copyRecords(input, i, relay.view, relay.emit(), 1)
    relay.flush()
    const got: Array<number> = []
    while (!relay.settle()) {
      const n = consumer.poll(16)
      got.push(...words(view, consumer.readIndex, n))
      consumer.release(n)
    }
    for (let n = consumer.poll(16); n > 0; n = consumer.poll(16)) {
      got.push(...words(view, consumer.readIndex, n))
      consumer.release(n)
    }
    assert.deepStrictEqual(got, words(input, 0, 40))
    assert.deepStrictEqual([relay.emittedDelta, relay.writtenDelta], [40, 40])
  })
})
