/**
 * A source edge's queue: records Effect code offered, held on the main thread until the edge's loop
 * (a fiber on the same thread) passes them into the pipeline's ring. Private memory, one thread, so
 * plain fields and no Atomics; the loop is woken through its doorbell when there is something to do.
 *
 * A bounded circular buffer of `capacity` records of the edge's layout, with an overflow policy for
 * when it is full:
 * - `backpressure`: the record is refused (`offer` then waits for room; `offerUnsafe` returns false);
 * - `dropNewest`: the new record is dropped;
 * - `dropOldest`: the oldest queued record is dropped to make room.
 * Every drop, and every object that fails validation, is counted in the edge's stats block as it
 * happens (`in`, dropped by reason, dead-lettered by code), even while the pipeline is stalled and the
 * loop cannot run: the counts are exact at every instant. The block then has two writers, both on the
 * main thread and never at once: this queue, and the loop's commit (which counts the records it moves
 * on as `in` and `emitted`).
 */
import type { Doorbell } from "./kernel/doorbell.ts"
import { type FieldAccessor, type Layout, makeView, type RecordView } from "./kernel/recordLayout.ts"
import type { StageStatsWriter } from "./kernel/stageStats.ts"
import * as S from "./kernel/stageStatsDescriptor.ts"

/**
 * What a source edge does when its queue is full.
 *
 * @category models
 * @since 0.1.0
 */
export type SourceOverflow = "backpressure" | "dropNewest" | "dropOldest"

/** Drop reasons of a source edge, by code. */
export const SOURCE_EDGE_DROP_REASONS = ["DropNewest", "DropOldest"] as const
export const DROP_NEWEST = 0
export const DROP_OLDEST = 1
/** Error tags of a source edge, by code. */
export const SOURCE_EDGE_ERRORS = ["InvalidRecord"] as const
export const INVALID_RECORD = 0

/** One object that failed validation, as the dead letter will show it. */
export interface InvalidRecord {
  /** Its fields that are numbers (others left out). */
  readonly record: Record<string, number>
  /** What was wrong, from the layout's Schema. */
  readonly detail: string
}

const INT_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  i8: [-128, 127],
  u8: [0, 255],
  i16: [-32768, 32767],
  u16: [0, 65535],
  i32: [-2147483648, 2147483647],
  u32: [0, 4294967295]
}

/**
 * A record checker equal to `RecordLayout.schema(layout)`'s `Schema.is` (an object whose fields are all
 * numbers; integer fields integers within their type's range), without building a parse result: the
 * edge checks every object, and explains only the ones that fail.
 */
export const makeRecordCheck = (layout: Layout): (u: unknown) => boolean => {
  const names = layout.fields.map((f) => f.name)
  const ranges = layout.fields.map((f) => INT_RANGES[f.type])
  const n = names.length
  return (u) => {
    if (typeof u !== "object" || u === null) return false
    const o = u as Record<string, unknown>
    for (let f = 0; f < n; f++) {
      const v = o[names[f]!]
      if (typeof v !== "number") return false
      const range = ranges[f]
      if (range !== undefined && !(Number.isInteger(v) && v >= range[0] && v <= range[1])) return false
    }
    return true
  }
}

/**
 * Batches at least this large offered to an empty `backpressure` queue are passed on straight into the
 * edge's loop (see `setPump`); smaller ones are queued, and the loop gathers several into one pass. A
 * pass now costs less than waking the loop for it later (its bell, a fiber resumed, a slice) once a
 * batch is a socket read's worth (an MQTT client's turn: 50–200 messages); records offered a few at a
 * time are cheaper gathered.
 */
const DIRECT_MIN_RECORDS = 32

/** Who waits for room in a full `backpressure` queue. */
type Waiter = () => void

export class EdgeQueue {
  readonly layout: Layout
  readonly capacity: number
  readonly overflow: SourceOverflow
  readonly view: RecordView
  private readonly check: (u: unknown) => boolean
  private readonly explain: (u: unknown) => string
  private readonly names: ReadonlyArray<string>
  private readonly setters: ReadonlyArray<FieldAccessor["set"]>
  private readonly words64: Float64Array
  private readonly words64PerRecord: number
  /** Slot of the oldest queued record. */
  private head = 0
  /** Records queued. */
  size = 0
  /** No more offers: the loop passes on what is queued, then ends. */
  ended = false
  private bell: Doorbell | undefined
  private stats: StageStatsWriter | undefined
  private onInvalid: ((invalid: InvalidRecord) => void) | undefined
  private readonly waiters = new Set<Waiter>()
  /** Runs a pass of the edge's loop now, while the loop runs (see `setPump`). */
  private pump: (() => number) | undefined
  /** A batch being passed on straight from the writer's memory (`offerBatch`), and what is left of it. */
  private lent: RecordView | undefined
  private lentStart = 0
  private lentCount = 0

  constructor(layout: Layout, capacity: number, overflow: SourceOverflow, explain: (u: unknown) => string) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new RangeError(`a source edge's capacity must be a positive integer: capacity=${capacity}`)
    }
    this.layout = layout
    this.capacity = capacity
    this.overflow = overflow
    this.view = makeView(layout, new ArrayBuffer(capacity * layout.byteLength), 0, capacity)
    this.check = makeRecordCheck(layout)
    this.explain = explain
    this.names = layout.fields.map((f) => f.name)
    this.setters = layout.fields.map((f) => this.view.fields[f.name]!.set)
    this.words64 = this.view.words64
    this.words64PerRecord = layout.byteLength / 8
  }

  /**
   * Connects the queue to its run: the loop's bell (rung when there is something to pass on), the
   * edge's stats block (drops and invalid objects are counted there), and where an invalid object's
   * dead letter goes.
   */
  attach(bell: Doorbell, stats: StageStatsWriter, onInvalid: (invalid: InvalidRecord) => void): void {
    this.bell = bell
    this.stats = stats
    this.onInvalid = onInvalid
  }

  /**
   * How to run a pass of the edge's loop from here (its fiber host sets it while the loop runs):
   * a `backpressure` edge then passes a batch (32 records or more) offered to an empty queue straight
   * into the loop's output, one copy instead of two (into the queue, then out of it), with no wait for
   * the loop's turn.
   */
  setPump(pump: (() => number) | undefined): void {
    this.pump = pump
  }

  /** Counts `n` records offered and dropped for `reason` (or dead-lettered with `code`), at once. */
  private count(n: number, at: number, total: number): void {
    const s = this.stats
    if (s === undefined) return
    s.add(S.IN_OFFSET, n)
    s.add(total, n)
    s.add(at, n)
    s.heartbeat()
  }

  private dropped(reason: number, n: number): void {
    this.count(n, S.DROPPED_BY_REASON_OFFSET + reason * 8, S.DROPPED_OFFSET)
  }

  /** Wakes the loop (cheap: the bell notifies only when the loop is parked on it). */
  wake(): void {
    this.bell?.ring()
  }

  /**
   * A slot for one new record under the overflow policy, or -1: refused (`backpressure`, full) or
   * dropped (`dropNewest`, full; counted). `dropOldest` makes room by dropping the oldest (counted).
   */
  private reserve(): number {
    // Lending happens under `backpressure` only: an offer made meanwhile is refused (see `refuses`).
    if (this.lent !== undefined) return -1
    if (this.size === this.capacity) {
      if (this.overflow === "backpressure") return -1
      if (this.overflow === "dropNewest") {
        this.dropped(DROP_NEWEST, 1)
        return -1
      }
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1
      this.size--
      this.dropped(DROP_OLDEST, 1)
    }
    const tail = this.head + this.size
    return tail >= this.capacity ? tail - this.capacity : tail
  }

  /**
   * Full under `backpressure`: an offer would be refused, not dropped. So is a queue passing a lent
   * batch on (only a stage fused after the edge could offer then): what it offers waits its turn.
   */
  refuses(): boolean {
    return this.overflow === "backpressure" && (this.size === this.capacity || this.lent !== undefined)
  }

  /**
   * Offers one object: checked against the layout's Schema (an invalid one is counted for the dead
   * letters and not queued), then queued under the policy. True when it was queued.
   */
  offer(u: unknown): boolean {
    if (!this.check(u)) {
      this.count(1, S.DEAD_BY_CODE_OFFSET + INVALID_RECORD * 8, S.DEAD_LETTERED_OFFSET)
      this.onInvalid?.(this.describe(u))
      return false
    }
    const slot = this.reserve()
    if (slot < 0) return false
    const o = u as Record<string, number>
    for (let f = 0; f < this.setters.length; f++) this.setters[f]!(slot, o[this.names[f]!]!)
    this.size++
    return true
  }

  /** Writes one record in place (no object, no check): `write` fills every field of `slot`. */
  write(write: (view: RecordView, slot: number) => void): boolean {
    if (this.refuses()) return false
    const slot = this.reserve()
    if (slot < 0) return false
    write(this.view, slot)
    this.size++
    return true
  }

  /**
   * Queues records `start .. start + count − 1` of `batch` (the edge's layout), bit for bit, under the
   * policy; returns how many were queued (`dropOldest`: all of them, minus those that later records of
   * the same batch pushed out).
   */
  offerBatch(batch: RecordView, start: number, count: number): number {
    if (this.lent !== undefined) return 0
    const direct = count >= DIRECT_MIN_RECORDS && this.overflow === "backpressure" && this.size === 0 ? this.passOn(batch, start, count) : 0
    if (direct === 0) return this.copyIn(batch, start, count)
    const queued = this.copyIn(batch, start + direct, count - direct)
    // After the batch's last records are in: a writer that offered while it was lent comes after them.
    this.wakeWriters()
    return direct + queued
  }

  /**
   * Lends `batch`'s records to the edge's loop and runs its passes until they are all passed on or a
   * pass takes none (its output is full, the loop is stopping or over: the rest is queued as usual,
   * and the loop is woken to go its own way). Returns how many were passed on.
   */
  private passOn(batch: RecordView, start: number, count: number): number {
    const pump = this.pump
    if (pump === undefined) return 0
    this.lent = batch
    this.lentStart = start
    this.lentCount = count
    try {
      while (this.lentCount > 0) {
        if (pump() === 0) {
          this.wake()
          break
        }
      }
    } finally {
      this.lent = undefined
    }
    return count - this.lentCount
  }

  private copyIn(batch: RecordView, start: number, count: number): number {
    const w = this.words64PerRecord
    const src = batch.words64
    const cap = this.capacity
    let from = start
    let left = count
    if (this.overflow === "dropOldest" && left > cap) {
      // Only the last `capacity` records can stay: the earlier ones would be pushed out by later ones.
      this.dropped(DROP_OLDEST, this.size + (left - cap))
      this.head = 0
      this.size = 0
      from += left - cap
      left = cap
    }
    if (this.overflow === "dropOldest") {
      const excess = this.size + left - cap
      if (excess > 0) {
        this.head = (this.head + excess) % cap
        this.size -= excess
        this.dropped(DROP_OLDEST, excess)
      }
    }
    const room = cap - this.size
    const take = left < room ? left : room
    if (this.overflow === "dropNewest" && left > take) this.dropped(DROP_NEWEST, left - take)
    // Copy in at most two runs (the buffer wraps).
    let copied = 0
    while (copied < take) {
      const tail = (this.head + this.size) % cap
      const run = Math.min(take - copied, cap - tail)
      this.words64.set(src.subarray((from + copied) * w, (from + copied + run) * w), tail * w)
      this.size += run
      copied += run
    }
    return take
  }

  /**
   * Moves up to `max` queued records into `out` in at most two runs (the buffer wraps), each a bulk
   * `forward` (accounted as one `emit` per record); returns how many.
   */
  moveTo(out: { forward(input: RecordView, start: number, count: number): void }, max: number): number {
    if (this.lent !== undefined) {
      // Lent only while the queue is empty, and nothing gets in meanwhile: its records come first.
      const n = this.lentCount < max ? this.lentCount : max
      if (n > 0) out.forward(this.lent, this.lentStart, n)
      this.lentStart += n
      this.lentCount -= n
      return n
    }
    const n = this.size < max ? this.size : max
    let left = n
    while (left > 0) {
      const run = Math.min(left, this.capacity - this.head)
      out.forward(this.view, this.head, run)
      this.head = this.head + run === this.capacity ? 0 : this.head + run
      left -= run
    }
    this.size -= n
    return n
  }

  /** Ends the edge: no more offers; waiting writers wake (and see it ended). */
  end(): void {
    if (this.ended) return
    this.ended = true
    this.wakeWriters()
    this.wake()
  }

  /** Registers a writer waiting for room; returns how to cancel it. */
  waitForRoom(waiter: Waiter): () => void {
    this.waiters.add(waiter)
    return () => this.waiters.delete(waiter)
  }

  wakeWriters(): void {
    // Passing a lent batch on: the writer that lent it is still in `offerBatch`, and wakes the others.
    if (this.waiters.size === 0 || this.lent !== undefined) return
    const ready = [...this.waiters]
    this.waiters.clear()
    for (const w of ready) w()
  }

  private describe(u: unknown): InvalidRecord {
    const record: Record<string, number> = {}
    if (typeof u === "object" && u !== null) {
      for (const name of this.names) {
        const v = (u as Record<string, unknown>)[name]
        if (typeof v === "number") record[name] = v
      }
    }
    return { record, detail: this.explain(u) }
  }
}
