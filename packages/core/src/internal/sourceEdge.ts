/**
 * A source edge at run time: its queue (`edgeQueue.ts`), the source logic its loop runs (a fiber on the
 * main thread, alone in its loop), and the writer Effect code offers through.
 *
 * The logic's `onPoll` moves queued records into the ring and returns how many (the loop counts them as
 * the edge's `in` and `emitted`); the queue counts drops and invalid objects itself, as they happen. So
 * the edge's `in` is every record offered to it that left the queue, `in = emitted + dropped +
 * dead-lettered` at every instant, and what waits in the queue shows as the edge's queue in
 * `stats().rings`.
 */
import { Effect } from "effect"
import type { EdgeQueue } from "./edgeQueue.ts"
import type { FieldSpec, RecordOf, RecordView } from "./kernel/recordLayout.ts"
import { SOURCE_EXHAUSTED, type SourceLogic } from "./kernel/stageLogic.ts"
import { EdgeError } from "../PipelineError.ts"

/** The logic of a source edge's loop: it passes queued records on (drops and invalid objects the queue counted itself). */
export const sourceEdgeLogic = (queue: EdgeQueue): SourceLogic => ({
  onPoll(_nowNs, max, out) {
    const moved = queue.moveTo(out, max)
    if (moved > 0) queue.wakeWriters()
    else if (queue.ended && queue.size === 0) return SOURCE_EXHAUSTED
    return moved
  },
  // Due now while anything is queued (or to end); otherwise asleep until a writer rings.
  nextWakeNs: () => (queue.size > 0 || queue.ended ? 0 : Infinity)
})

/**
 * Writes into a source edge from Effect code (get it with `handle.writer(edge)`). The `Unsafe` methods
 * never wait: call them from callbacks (a socket's `message` handler). Records offered after the edge
 * ended are refused (`EdgeError`, reason `Closed`; the `Unsafe` methods return false or 0), and are not
 * counted: they never entered.
 *
 * @category models
 * @since 0.1.0
 */
export interface EdgeWriter<F extends FieldSpec> {
  /** The edge's name. */
  readonly name: string
  /**
   * Offers one object: checked with the layout's Schema (an invalid one is dead-lettered as
   * `InvalidRecord`, and the result is false), then queued. Under `backpressure` it waits for room;
   * under `dropNewest`/`dropOldest` it never waits (false: this record was dropped; counted).
   */
  readonly offer: (record: RecordOf<F>) => Effect.Effect<boolean, EdgeError>
  /** Offers each object in turn (as `offer`); returns how many were queued. */
  readonly offerAll: (records: Iterable<RecordOf<F>>) => Effect.Effect<number, EdgeError>
  /**
   * Offers a whole record batch of the edge's layout (all of `batch`'s slots, or `start .. start +
   * count − 1`), copied bit for bit, unchecked; waits for room under `backpressure`. Returns how many
   * records were queued. Under `backpressure`, a batch of 32 records or more offered to an empty queue
   * is copied straight into the pipeline's ring while it has room (one copy, not two), the rest queued.
   */
  readonly offerBatch: (batch: RecordView<F>, start?: number, count?: number) => Effect.Effect<number, EdgeError>
  /** `offer` without waiting: under `backpressure` a full queue refuses (false, not counted: the record is yours). */
  readonly offerUnsafe: (record: RecordOf<F>) => boolean
  /** `offerBatch` without waiting: returns how many were queued (under `backpressure`, the rest are yours). */
  readonly offerBatchUnsafe: (batch: RecordView<F>, start?: number, count?: number) => number
  /**
   * Writes one record in place, unchecked and without an object: `write(view, slot)` sets every field
   * of `slot` (decode a message straight into it, stamp a connection epoch). Never waits; false when
   * the record was refused or dropped (as `offerUnsafe`).
   */
  readonly writeUnsafe: (write: (view: RecordView<F>, slot: number) => void) => boolean
  /** Records queued now, not yet passed into the pipeline. */
  readonly queued: () => number
  /** Ends the edge: what is queued flows on, then its part of the pipeline drains. Idempotent. */
  readonly end: Effect.Effect<void>
  readonly endUnsafe: () => void
}

const closed = (name: string) =>
  new EdgeError({ edge: name, reason: "Closed", message: `source edge "${name}" has ended: it takes no more records` })

/** The writer of a source edge over its queue. */
export const makeWriter = <F extends FieldSpec>(name: string, queue: EdgeQueue): EdgeWriter<F> => {
  const waitForRoom: Effect.Effect<void> = Effect.callback<void>((resume) => {
    const cancel = queue.waitForRoom(() => resume(Effect.void))
    return Effect.sync(cancel)
  })
  const offerUnsafe = (record: RecordOf<F>): boolean => {
    if (queue.ended) return false
    const ok = queue.offer(record)
    queue.wake()
    return ok
  }
  const offerBatchUnsafe = (batch: RecordView<F>, start = 0, count = batch.slotCount - start): number => {
    if (queue.ended) return 0
    checkBatch(name, queue, batch, start, count)
    const n = queue.offerBatch(batch, start, count)
    // What went straight on (see `EdgeQueue.setPump`) leaves the loop nothing to do.
    if (queue.size > 0) queue.wake()
    return n
  }
  const offer = (record: RecordOf<F>): Effect.Effect<boolean, EdgeError> =>
    Effect.suspend(() => {
      if (queue.ended) return Effect.fail(closed(name))
      if (queue.refuses()) return waitForRoom.pipe(Effect.andThen(offer(record)))
      return Effect.succeed(offerUnsafe(record))
    })
  const offerBatchFrom = (batch: RecordView<F>, start: number, count: number, queued: number): Effect.Effect<number, EdgeError> =>
    Effect.suspend(() => {
      if (queue.ended) return Effect.fail(closed(name))
      const n = offerBatchUnsafe(batch, start, count)
      if (n === count || queue.overflow !== "backpressure") return Effect.succeed(queued + n)
      return waitForRoom.pipe(Effect.andThen(offerBatchFrom(batch, start + n, count - n, queued + n)))
    })
  return {
    name,
    offer,
    offerAll: (records) =>
      Effect.suspend(() => {
        const iterator = records[Symbol.iterator]()
        let queued = 0
        // Fast path without an Effect per record: offer what fits, wait only when refused.
        const loop: Effect.Effect<number, EdgeError> = Effect.suspend(() => {
          if (queue.ended) return Effect.fail(closed(name))
          for (let next = iterator.next(); !next.done; next = iterator.next()) {
            if (queue.refuses()) {
              const record = next.value
              queue.wake()
              return waitForRoom.pipe(
                Effect.andThen(offer(record)),
                Effect.andThen((ok) => {
                  if (ok) queued++
                  return loop
                })
              )
            }
            if (queue.offer(next.value)) queued++
          }
          queue.wake()
          return Effect.succeed(queued)
        })
        return loop
      }),
    offerBatch: (batch, start = 0, count = batch.slotCount - start) => offerBatchFrom(batch, start, count, 0),
    offerUnsafe,
    offerBatchUnsafe,
    writeUnsafe: (write) => {
      if (queue.ended) return false
      const ok = queue.write(write as (view: RecordView, slot: number) => void)
      queue.wake()
      return ok
    },
    queued: () => queue.size,
    end: Effect.sync(() => queue.end()),
    endUnsafe: () => queue.end()
  }
}

const checkBatch = (name: string, queue: EdgeQueue, batch: RecordView, start: number, count: number): void => {
  const a = batch.layout
  const b = queue.layout
  if (a !== b && (a.byteLength !== b.byteLength || a.fields.some((f, i) => f.name !== b.fields[i]?.name || f.type !== b.fields[i]?.type))) {
    throw new RangeError(`source edge "${name}" takes ${b.name} records; the batch holds ${a.name} records`)
  }
  if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= batch.slotCount)) {
    throw new RangeError(`batch range out of bounds: start=${start} count=${count} slotCount=${batch.slotCount}`)
  }
}
