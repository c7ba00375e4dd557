/**
 * A single-producer single-consumer ring of fixed-width records in a `SharedArrayBuffer`: the data
 * plane's transport between two agents (threads or fibers).
 *
 * Two tiers. The kernel (`RingProducer` / `RingConsumer`) is what hot loops use: claim → write →
 * publish, poll → read → release, one atomic store per batch, no allocation. The Effect face
 * (`make`, `writer`, `reader`) owns a ring as a scoped resource and offers/takes plain-object batches
 * from a fiber, waiting with `Atomics.waitAsync` so the event loop is never blocked.
 *
 * @since 0.1.0
 */
import { Cause, Effect, Schema, Scope, Stream } from "effect"
import { awaitBell } from "./internal/awaitBell.ts"
import * as kernel from "./internal/kernel/oneToOneRing.ts"
import * as Layout from "./internal/kernel/recordLayout.ts"

export {
  /** @category unsafe @since 0.1.0 */
  END_OF_STREAM,
  /** @category unsafe @since 0.1.0 */
  makeRing as makeUnsafe,
  /** @category unsafe @since 0.1.0 */
  RingConsumer,
  /** @category unsafe @since 0.1.0 */
  RingMonitor,
  /** @category unsafe @since 0.1.0 */
  RingProducer,
  /** @category unsafe @since 0.1.0 */
  ringView as viewUnsafe
} from "./internal/kernel/oneToOneRing.ts"
export type { RingHandle, RingOptions as UnsafeRingOptions } from "./internal/kernel/oneToOneRing.ts"

/**
 * What went wrong with a ring: it could not be made (`InvalidCapacity`, `InvalidSlotBytes`,
 * `DoesNotFit`), or a writer offered after closing it (`Closed`).
 *
 * @category errors
 * @since 0.1.0
 */
export class RingError extends Schema.TaggedError<RingError>()("RingError", {
  reason: Schema.Literals(["InvalidCapacity", "InvalidSlotBytes", "DoesNotFit", "Closed"]),
  message: Schema.String
}) {}

/**
 * A ring typed by the layout of its records. Structured-cloneable: send `handle` to a worker.
 *
 * @category models
 * @since 0.1.0
 */
export interface OneToOneRing<F extends Layout.FieldSpec> {
  readonly handle: kernel.RingHandle
  readonly layout: Layout.Layout<F>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RingOptions {
  /** Slots; a power of two. */
  readonly capacity: number
}

const reasonOf = (message: string): RingError["reason"] =>
  message.startsWith("capacity") ? "InvalidCapacity" : message.startsWith("slotBytes") ? "InvalidSlotBytes" : "DoesNotFit"

/**
 * Makes a ring as a scoped resource. Closing the scope closes the ring (idempotent), so a consumer
 * still attached reads what was published and then sees the end.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OneToOneRing, RecordLayout } from "@velox/core"
 *
 * const Tick = RecordLayout.make("Tick", { seq: "u32", price: "f64" })
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const ring = yield* OneToOneRing.make(Tick, { capacity: 1024 })
 *   const writer = OneToOneRing.writer(ring)
 *   const reader = OneToOneRing.reader(ring)
 *   yield* writer.offerAll([{ seq: 1, price: 10.5 }, { seq: 2, price: 10.25 }])
 *   yield* writer.close
 *   console.log(yield* reader.take(16)) // [{ seq: 1, price: 10.5 }, { seq: 2, price: 10.25 }]
 * }))
 * Effect.runPromise(program)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <F extends Layout.FieldSpec>(
  layout: Layout.Layout<F>,
  options: RingOptions
): Effect.Effect<OneToOneRing<F>, RingError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => ({ handle: kernel.makeRing({ capacity: options.capacity, slotBytes: layout.byteLength }), layout }),
      catch: (e) => new RingError({ reason: reasonOf((e as Error).message), message: (e as Error).message })
    }),
    (ring) => Effect.sync(() => new kernel.RingProducer(ring.handle).close())
  )

/**
 * The producer side, for a fiber.
 *
 * @category models
 * @since 0.1.0
 */
export interface RingWriter<F extends Layout.FieldSpec> {
  /** Writes every record, waiting (asynchronously) while the ring is full. One publish per run of slots. */
  readonly offerAll: (records: ReadonlyArray<Layout.RecordOf<F>>) => Effect.Effect<void, RingError>
  /** Writes what fits now; returns how many were written. */
  readonly offerAllUnsafe: (records: ReadonlyArray<Layout.RecordOf<F>>) => number
  /** Ends the stream after everything offered so far. */
  readonly close: Effect.Effect<void>
  readonly producer: kernel.RingProducer
}

/**
 * Attaches the (single) producer side.
 *
 * @category constructors
 * @since 0.1.0
 */
export const writer = <F extends Layout.FieldSpec>(ring: OneToOneRing<F>): RingWriter<F> => {
  const producer = new kernel.RingProducer(ring.handle)
  const view = kernel.ringView(ring.handle, ring.layout)
  const writeFrom = (records: ReadonlyArray<Layout.RecordOf<F>>, from: number): number => {
    let i = from
    while (i < records.length) {
      const n = producer.claim(Math.min(records.length - i, producer.capacity))
      if (n === 0) break
      const first = producer.claimIndex
      for (let k = 0; k < n; k++) Layout.writeRecord(view, first + k, records[i + k]!)
      producer.publish(n)
      i += n
    }
    return i
  }
  const closedError = () =>
    new RingError({ reason: "Closed", message: "offer on a ring this writer already closed" })
  return {
    producer,
    offerAllUnsafe: (records) => (producer.isClosed() ? 0 : writeFrom(records, 0)),
    offerAll: (records) =>
      Effect.gen(function*() {
        if (producer.isClosed()) return yield* closedError()
        let i = writeFrom(records, 0)
        while (i < records.length) {
          yield* awaitBell(producer.producerBell, () => producer.hasSpace())
          i = writeFrom(records, i)
        }
      }),
    close: Effect.sync(() => producer.close())
  }
}

/**
 * The consumer side, for a fiber.
 *
 * @category models
 * @since 0.1.0
 */
export interface RingReader<F extends Layout.FieldSpec> {
  /**
   * Takes 1 to `max` records, waiting (asynchronously) while the ring is empty; fails with
   * `Cause.Done` once the producer closed and everything was taken.
   */
  readonly take: (max: number) => Effect.Effect<ReadonlyArray<Layout.RecordOf<F>>, Cause.Done>
  /** Takes what is there now, up to `max` (possibly nothing); `undefined` at end of stream. */
  readonly takeUnsafe: (max: number) => ReadonlyArray<Layout.RecordOf<F>> | undefined
  /** Every record until the end of stream, in batches of up to `max`. */
  readonly stream: (max: number) => Stream.Stream<Layout.RecordOf<F>>
  readonly consumer: kernel.RingConsumer
}

/**
 * Attaches the (single) consumer side. Records taken are released at once: a reader delivers each
 * record exactly once.
 *
 * @category constructors
 * @since 0.1.0
 */
export const reader = <F extends Layout.FieldSpec>(ring: OneToOneRing<F>): RingReader<F> => {
  const consumer = new kernel.RingConsumer(ring.handle)
  const view = kernel.ringView(ring.handle, ring.layout)
  const takeUnsafe = (max: number): ReadonlyArray<Layout.RecordOf<F>> | undefined => {
    const out: Array<Layout.RecordOf<F>> = []
    while (out.length < max) {
      const n = consumer.poll(Math.min(max - out.length, consumer.capacity))
      if (n === kernel.END_OF_STREAM) return out.length === 0 ? undefined : out
      if (n === 0) break
      const first = consumer.readIndex
      for (let k = 0; k < n; k++) out.push(Layout.readRecord(view, first + k))
      consumer.release(n)
    }
    return out
  }
  const take = (max: number): Effect.Effect<ReadonlyArray<Layout.RecordOf<F>>, Cause.Done> =>
    Effect.suspend(() => {
      const batch = takeUnsafe(max)
      if (batch === undefined) return Cause.done()
      if (batch.length > 0) return Effect.succeed(batch)
      return awaitBell(consumer.consumerBell, () => consumer.hasWork()).pipe(Effect.andThen(take(max)))
    })
  return {
    consumer,
    take,
    takeUnsafe,
    stream: (max) => Stream.fromEffectRepeat(take(max)).pipe(Stream.flatMap((batch) => Stream.fromIterable(batch)))
  }
}
