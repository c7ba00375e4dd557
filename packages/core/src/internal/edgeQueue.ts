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
 * Every drop, and every object that fails validation, is counted at once and handed to the loop's
 * next pass, which accounts for it in the edge's stats (dropped by reason, dead-lettered): the counts
 * are exact.
 */
import type { Doorbell } from "./kernel/doorbell.ts"
import { type FieldAccessor, type Layout, makeView, type RecordView } from "./kernel/recordLayout.ts"

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
  /** Drops and invalid objects since the loop's last pass (it accounts for them, then zeroes these). */
  droppedNewest = 0
  droppedOldest = 0
  readonly invalid: Array<InvalidRecord> = []
  /** Invalid objects the loop sent to the dead-letter ring, in order, for the reader to describe. */
  private readonly letters: Array<InvalidRecord> = []
  private letterHead = 0
  /** No more offers: the loop passes on what is queued, then ends. */
  ended = false
  private bell: Doorbell | undefined
  private readonly waiters = new Set<Waiter>()

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

  /** The loop's bell, rung when there is something for it to do. */
  attach(bell: Doorbell): void {
    this.bell = bell
  }

  /** Something for the loop to pass on or account for. */
  pending(): boolean {
    return this.size > 0 || this.droppedNewest > 0 || this.droppedOldest > 0 || this.invalid.length > 0
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
    if (this.size === this.capacity) {
      if (this.overflow === "backpressure") return -1
      if (this.overflow === "dropNewest") {
        this.droppedNewest++
        return -1
      }
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1
      this.size--
      this.droppedOldest++
    }
    const tail = this.head + this.size
    return tail >= this.capacity ? tail - this.capacity : tail
  }

  /** Full under `backpressure`: an offer would be refused, not dropped. */
  refuses(): boolean {
    return this.overflow === "backpressure" && this.size === this.capacity
  }

  /**
   * Offers one object: checked against the layout's Schema (an invalid one is counted for the dead
   * letters and not queued), then queued under the policy. True when it was queued.
   */
  offer(u: unknown): boolean {
    if (!this.check(u)) {
      this.invalid.push(this.describe(u))
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
    const w = this.words64PerRecord
    const src = batch.words64
    const cap = this.capacity
    let from = start
    let left = count
    if (this.overflow === "dropOldest" && left > cap) {
      // Only the last `capacity` records can stay: the earlier ones would be pushed out by later ones.
      this.droppedOldest += this.size + (left - cap)
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
        this.droppedOldest += excess
      }
    }
    const room = cap - this.size
    const take = left < room ? left : room
    if (this.overflow === "dropNewest") this.droppedNewest += left - take
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

  /** Moves up to `max` queued records into `out` (a slot from `out.emit()` each); returns how many. */
  moveTo(out: { emit(): number; readonly view: RecordView }, max: number): number {
    const n = this.size < max ? this.size : max
    const src = this.words64
    const dst = out.view.words64
    const w = this.words64PerRecord
    let head = this.head
    for (let k = 0; k < n; k++) {
      let d = out.emit() * w
      let s = head * w
      for (let j = 0; j < w; j++) dst[d++] = src[s++]!
      head = head + 1 === this.capacity ? 0 : head + 1
    }
    this.head = head
    this.size -= n
    return n
  }

  /** The next invalid object the loop sent to the dead-letter ring (the reader describes it with this). */
  takeLetter(): InvalidRecord | undefined {
    if (this.letterHead === this.letters.length) return undefined
    const letter = this.letters[this.letterHead++]!
    if (this.letterHead === this.letters.length) {
      this.letters.length = 0
      this.letterHead = 0
    }
    return letter
  }

  /** The loop sent `letter`'s dead letter (in order). */
  sentLetter(letter: InvalidRecord): void {
    this.letters.push(letter)
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
    if (this.waiters.size === 0) return
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
