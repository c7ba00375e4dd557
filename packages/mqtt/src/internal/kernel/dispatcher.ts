/**
 * The dispatcher (kernel tier): a bounded FIFO of decoded quotes between the MQTT client's message
 * callback and the pipeline, that drops the **oldest** record when full and counts every drop. One
 * thread (the main thread) writes and reads it: private memory, plain fields, no Atomics.
 *
 * ```
 *  slots: capacity + 1 records of the Quote layout (80 bytes each), used as a circle
 *
 *    head                              tail = head + size (mod slots)
 *     │                                 │
 *  ┌──▼──┬─────┬─────┬─────┬─────┬─────▼─────┬─────┐
 *  │ q0  │ q1  │ q2  │ …   │ qN-1│  (free)   │     │   the slot at tail is always free: the
 *  └─────┴─────┴─────┴─────┴─────┴───────────┴─────┘   callback decodes into it in place, then
 *   oldest ─────────────────▶ newest                    commits (or abandons a bad payload)
 * ```
 *
 * Counts (exact, all since construction):
 * `committed = taken + droppedOldest + staleDropped + abandoned + size`, after every call.
 *
 * **Connection epochs.** Each record carries the epoch of the connection it arrived on. When a new
 * connection begins after one was *lost* (`beginEpoch(epoch, true)`), the records still queued are
 * stale, and the policy decides: `"drop"` drops them at once (`staleDropped`); `"deliver"` leaves
 * them, and each is counted in `staleDelivered` when it is taken (its older epoch marks it). After a
 * planned reconnect (a token refresh) nothing is stale: the queue carries over (`carriedOver` counts
 * what it held).
 */
import type { RecordLayout } from "@velox/core"
import type { Quote } from "@velox/market"
import type { LatencyHistogram } from "./latencyHistogram.ts"

type QuoteView = RecordLayout.RecordView<typeof Quote.Quote.spec>

export type StalePolicy = "drop" | "deliver"

export class Dispatcher {
  readonly capacity: number
  readonly policy: StalePolicy
  /** `capacity + 1` slots: the one at the tail is the write slot. */
  readonly view: QuoteView
  private readonly slots: number
  private readonly words: Float64Array
  private readonly wordsPerRecord: number
  private readonly tsIndex: number
  private head = 0
  /** Records queued. */
  size = 0
  committed = 0
  taken = 0
  droppedOldest = 0
  staleDropped = 0
  staleDelivered = 0
  carriedOver = 0
  abandoned = 0
  /** Records of an epoch below this are stale (`"deliver"`). */
  private staleBelow = 0

  /** `makeView(slots)`: a view of `slots` Quote records over fresh memory (RecordLayout.view). */
  constructor(capacity: number, policy: StalePolicy, makeView: (slots: number) => QuoteView) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) {
      throw new RangeError(`dispatcher capacity must be a positive integer: capacity=${capacity}`)
    }
    if (policy !== "drop" && policy !== "deliver") throw new RangeError(`stale policy must be drop or deliver: policy=${policy}`)
    this.capacity = capacity
    this.policy = policy
    this.slots = capacity + 1
    this.view = makeView(this.slots)
    this.words = this.view.words64
    this.wordsPerRecord = this.view.layout.byteLength / 8
    this.tsIndex = this.view.layout.fields.find((f) => f.name === "exchangeTsNs")!.offset / 8
  }

  /** The slot the next record is written into (always free). */
  writeSlot(): number {
    const tail = this.head + this.size
    return tail >= this.slots ? tail - this.slots : tail
  }

  /** Queues the record written at `writeSlot()`; when full, the oldest record is dropped to make room. */
  commit(): void {
    if (this.size === this.capacity) {
      this.head = this.head + 1 === this.slots ? 0 : this.head + 1
      this.size--
      this.droppedOldest++
    }
    this.size++
    this.committed++
  }

  /**
   * A connection of `epoch` began; `lost`: the one before it ended without being asked to (else it
   * was a planned reconnect). Returns how many queued records the policy touched (stale, or carried
   * over).
   */
  beginEpoch(epoch: number, lost: boolean): number {
    const n = this.size
    if (!lost) {
      this.carriedOver += n
      return n
    }
    this.staleBelow = epoch
    if (this.policy === "drop") {
      this.staleDropped += n
      this.head = this.writeSlot()
      this.size = 0
    }
    return n
  }

  /**
   * Moves up to `max` of the oldest records into slots `0 .. n − 1` of `out` (a view of the same
   * layout with at least `max` slots); returns n. With `latency`, records each one's age at `nowNs`
   * from its `exchangeTsNs`.
   */
  take(out: QuoteView, max: number, nowNs: number, latency: LatencyHistogram | undefined): number {
    const n = this.size < max ? this.size : max
    if (n === 0) return 0
    const w = this.wordsPerRecord
    const src = this.words
    const dst = out.words64
    // At most two runs: the circle wraps once.
    const first = Math.min(n, this.slots - this.head)
    dst.set(src.subarray(this.head * w, (this.head + first) * w), 0)
    if (first < n) dst.set(src.subarray(0, (n - first) * w), first * w)
    this.size -= n
    // Emptied: the next record goes to slot 0 again, so a feed that keeps up writes the same few slots
    // (in cache) instead of walking its whole queue's memory (a fresh queue's pages faulted in one by one).
    this.head = this.size === 0 ? 0 : (this.head + n) % this.slots
    this.taken += n
    if (this.staleBelow > 0 && this.policy === "deliver") {
      const epochs = out.fields.epoch
      for (let i = 0; i < n; i++) if (epochs.get(i) < this.staleBelow) this.staleDelivered++
    }
    if (latency !== undefined) {
      for (let i = 0; i < n; i++) latency.record(nowNs - dst[i * w + this.tsIndex]!)
    }
    return n
  }

  /** Gives up what is queued (a feed that stops with nowhere to deliver it): counted in `abandoned`. */
  abandon(): number {
    const n = this.size
    this.head = this.writeSlot()
    this.size = 0
    this.abandoned += n
    return n
  }

  /** The epoch of the oldest queued record (or -1): for tests and stats. */
  oldestEpoch(): number {
    return this.size === 0 ? -1 : this.view.fields.epoch.get(this.head)
  }
}
