/**
 * Cross-thread stress of the one-to-one ring and of fan-in, with real worker threads.
 *
 * ```
 *   one-to-one                              fan-in
 *
 *   ┌──────────┐  ring (canaries   ┌──────────┐     ┌────────────┐ ring 0 ─┐
 *   │ producer ├──around it)──────▶│ consumer │     │ producer 0 ├─────────┤   shared      ┌──────────┐
 *   │  worker  │  capacity 256     │  worker  │     ├────────────┤ ring 1  ├─ consumer ───▶│ FanIn    │
 *   └──────────┘                   └──────────┘     │ producer 1 ├─────────┤   bell        │ consumer │
 *                                                   ├────────────┤ ring 2  │               │ worker   │
 *                                                   │ producer 2 ├─────────┘               └──────────┘
 *                                                   └────────────┘
 * ```
 *
 * Both sides use seeded random batch sizes (1..capacity: claim, then publish part of the claim; poll,
 * then release part of what is in flight) and BackoffIdleStrategy, so the ring runs full, empty and
 * in between, wraps tens of thousands of times, and both sides park and get woken. Both sides park
 * without a timeout: a lost wake-up hangs the run, which `within` turns into a failure.
 *
 * Outcomes, jcstress style (every record is classified by the consumer's StreamVerifier):
 *
 * | outcome                                            | verdict    |
 * |----------------------------------------------------|------------|
 * | every record, each stream in order, then END       | ACCEPTABLE |
 * | a record never delivered (loss)                    | FORBIDDEN  |
 * | a record delivered twice (duplicate)               | FORBIDDEN  |
 * | fields of one record from different writes (tear)  | FORBIDDEN  |
 * | a stream's records out of order (reorder)          | FORBIDDEN  |
 * | a seq that was never written (garbage)             | FORBIDDEN  |
 * | END_OF_STREAM before the last record was read      | FORBIDDEN  |
 * | a byte outside the ring changed (canary)           | FORBIDDEN  |
 * | the run never finishes (lost wake-up)              | FORBIDDEN  |
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Doorbell, OneToOneRing, RingDescriptor } from "@velox/core"
import { spawn, within } from "../../packages/core/test/fixtures/workerAgent.ts"
import type { StreamOutcome } from "../fixtures/stressRecord.ts"
import { Stress } from "../fixtures/stressRecord.ts"

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url)

/** Bytes of canary before and after (and between) rings; 8-aligned but not 128, on purpose. */
const CANARY_BYTES = 520

/** A byte pattern that depends on the position, so a shifted copy is caught too. */
const canaryByte = (index: number): number => (index * 131 + 17) & 0xff

/** One buffer holding `count` rings, each between canary regions; returns the handles and a checker. */
const ringsBetweenCanaries = (
  count: number,
  capacity: number,
  consumerBell?: Doorbell.DoorbellRef
): { readonly handles: ReadonlyArray<OneToOneRing.RingHandle>; readonly damagedCanaryBytes: () => number } => {
  const ringBytes = RingDescriptor.ringByteLength(capacity, Stress.byteLength)
  const buffer = new SharedArrayBuffer(CANARY_BYTES + count * (ringBytes + CANARY_BYTES))
  const bytes = new Uint8Array(buffer)
  for (let i = 0; i < bytes.length; i++) bytes[i] = canaryByte(i)
  const handles = Array.from({ length: count }, (_, i) =>
    OneToOneRing.makeUnsafe({
      capacity,
      slotBytes: Stress.byteLength,
      buffer,
      byteOffset: CANARY_BYTES + i * (ringBytes + CANARY_BYTES),
      ...(consumerBell === undefined ? {} : { consumerBell })
    }))
  const damagedCanaryBytes = () => {
    let damaged = 0
    for (let r = 0; r <= count; r++) {
      const start = r === 0 ? 0 : handles[r - 1]!.byteOffset + ringBytes
      for (let i = start; i < start + CANARY_BYTES; i++) damaged += bytes[i] === canaryByte(i) ? 0 : 1
    }
    return damaged
  }
  return { handles, damagedCanaryBytes }
}

interface ProducerDone {
  readonly records: number
  readonly parkCount: number
  readonly notifyCount: number
}

interface ConsumerDone {
  readonly outcome: StreamOutcome
  readonly received: number
  readonly endedEarly: boolean
  readonly parkCount: number
  readonly notifyCount: number
}

interface FanInDone {
  readonly outcomes: ReadonlyArray<StreamOutcome>
  readonly received: ReadonlyArray<number>
  readonly parkCount: number
  readonly notifyCounts: ReadonlyArray<number>
}

const assertAcceptable = (outcome: StreamOutcome, count: number, stream: number): void => {
  const forbidden = {
    lost: outcome.lost,
    duplicated: outcome.duplicated,
    torn: outcome.torn,
    reordered: outcome.reordered,
    outOfRange: outcome.outOfRange
  }
  assert.deepStrictEqual(
    forbidden,
    { lost: 0, duplicated: 0, torn: 0, reordered: 0, outOfRange: 0 },
    `forbidden outcomes ${JSON.stringify(forbidden)}; first: ${outcome.firstAnomaly}`
  )
  assert.strictEqual(outcome.inOrder, count, `stream ${stream}: every record in order`)
}

describe("ring stress", () => {
  it.live("10 million records cross a one-to-one ring between two workers: none lost, duplicated, torn or reordered", () =>
    Effect.gen(function*() {
      const count = 10_000_000
      const capacity = 256
      const { damagedCanaryBytes, handles } = ringsBetweenCanaries(1, capacity)
      const handle = handles[0]!
      const consumer = yield* spawn(fixture("stressConsumer.ts"), { handle, stream: 0, count, seed: 0xc0ffee, maxSpins: 100 })
      const producer = yield* spawn(fixture("stressProducer.ts"), { handle, stream: 0, count, seed: 0xbadcafe, maxSpins: 100 })
      const sent = yield* producer.receive<ProducerDone>("done")
      const read = yield* consumer.receive<ConsumerDone>("done")

      assert.strictEqual(sent.records, count)
      assertAcceptable(read.outcome, count, 0)
      assert.isFalse(read.endedEarly, "END_OF_STREAM came after the last record")
      assert.strictEqual(read.received, count)
      assert.strictEqual(damagedCanaryBytes(), 0, "no byte around the ring changed")
      const monitor = new OneToOneRing.RingMonitor(handle)
      assert.strictEqual(monitor.fill(), 0)
      assert.strictEqual(monitor.tail(), count | 0)
      assert.isTrue(monitor.isClosed())
      assert.isAtLeast(Math.floor(count / capacity), 10_000, "the ring wrapped at least 10 000 times")
      // Parking is exercised, not required: the counts depend on scheduling, so they are not asserted.
      console.log(
        `one-to-one: ${count} records; consumer parked ${read.parkCount}×, producer parked ${sent.parkCount}×; ` +
          `notifies: to consumer ${sent.notifyCount}, to producer ${read.notifyCount}`
      )
    }).pipe(within("90 seconds", "the one-to-one stress run did not finish (lost wake-up?)")), 100_000)

  it.live("three producer workers fan in to one consumer worker on a shared bell: every stream complete and in order", () =>
    Effect.gen(function*() {
      const perProducer = 2_000_000
      const capacity = 128
      const bell = Doorbell.make()
      const { damagedCanaryBytes, handles } = ringsBetweenCanaries(3, capacity, bell)
      const consumer = yield* spawn(fixture("fanInConsumer.ts"), {
        handles,
        counts: handles.map(() => perProducer),
        seed: 0xfa11,
        maxSpins: 100
      })
      const producers = yield* Effect.forEach(handles, (handle, stream) =>
        spawn(fixture("stressProducer.ts"), { handle, stream, count: perProducer, seed: 0x5eed + stream, maxSpins: 100 }))
      const sent = yield* Effect.forEach(producers, (producer) => producer.receive<ProducerDone>("done"))
      const read = yield* consumer.receive<FanInDone>("done")

      for (const [stream, producer] of sent.entries()) assert.strictEqual(producer.records, perProducer, `producer ${stream}`)
      for (const [stream, outcome] of read.outcomes.entries()) assertAcceptable(outcome, perProducer, stream)
      assert.deepStrictEqual(read.received, [perProducer, perProducer, perProducer])
      assert.strictEqual(read.received.reduce((a, b) => a + b, 0), 3 * perProducer, "the total is exact")
      assert.strictEqual(damagedCanaryBytes(), 0, "no byte around or between the rings changed")
      for (const handle of handles) assert.strictEqual(new OneToOneRing.RingMonitor(handle).fill(), 0)
      console.log(
        `fan-in: 3 × ${perProducer} records; consumer parked ${read.parkCount}×; producers parked ${
          sent.map((s) => s.parkCount).join("/")
        }×`
      )
    }).pipe(within("90 seconds", "the fan-in stress run did not finish (lost wake-up?)")), 100_000)
})
