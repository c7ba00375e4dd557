/**
 * A doorbell: one i32 word in shared memory that an agent parks on and its peers ring.
 *
 * Protocol (a Dekker handshake over sequentially consistent Atomics):
 *
 * - The parking side `arm()`s (stores 1), re-checks every condition it waits for, and only then
 *   `Atomics.wait(bell, 1)`. After waking, or if the re-check found work, it `disarm()`s (stores 0).
 * - The waking side first publishes its change (a TAIL, HEAD or CLOSED store), then `ring()`s: it loads
 *   the bell and, only if it is armed, stores 0 and notifies.
 *
 * Either the waker's load sees the 1 (so it notifies, and a wait that has not started yet returns
 * "not-equal" because the word is already 0), or the parker's store came after that load, so the
 * parker's re-check sees the published change. No wake-up is lost; a busy peer never calls notify.
 *
 * One agent parks on a bell; any number of peers may ring it. A ring's consumer bell is the bell of
 * the agent that consumes it, so an agent with many inputs parks on one word.
 */

export interface DoorbellRef {
  readonly buffer: SharedArrayBuffer
  /** Byte offset of the bell word; 4-byte aligned. */
  readonly byteOffset: number
}

/** Bytes one bell reserves when bells are allocated side by side (kept apart to avoid false sharing). */
export const DOORBELL_STRIDE_BYTES = 128

export const ARMED = 1
export const DISARMED = 0

export class Doorbell {
  // Fields the constructor sets are `declare`d: a plain declaration defines them as `undefined` first,
  // and the constructor's store then makes V8 treat them as mutable, reloaded and re-checked at every
  // use in a hot loop; stored once, they stay constant fields.
  declare readonly ref: DoorbellRef
  private declare readonly word: Int32Array
  private declare readonly index: number
  /** Notifies this side has issued (thread-local; a busy pipeline keeps it at zero). */
  notifyCount = 0

  constructor(ref: DoorbellRef) {
    if (ref.byteOffset % 4 !== 0) throw new RangeError(`doorbell must be 4-byte aligned: byteOffset=${ref.byteOffset}`)
    this.ref = ref
    this.word = new Int32Array(ref.buffer)
    this.index = ref.byteOffset >> 2
  }

  /** Parking side: announce the intent to park. Re-check for work after this, before `wait`. */
  arm(): void {
    // publish: "I may be asleep", so a waker that publishes after this store will notify.
    Atomics.store(this.word, this.index, ARMED)
  }

  disarm(): void {
    Atomics.store(this.word, this.index, DISARMED)
  }

  /** Parking side: sleep while armed, up to `timeoutMs` (Infinity: until rung). Blocks the thread. */
  wait(timeoutMs: number): "ok" | "not-equal" | "timed-out" {
    return Atomics.wait(this.word, this.index, ARMED, timeoutMs)
  }

  /** Parking side, main thread: the same wait without blocking the event loop. */
  waitAsync(timeoutMs: number): Promise<"ok" | "not-equal" | "timed-out"> {
    const result = Atomics.waitAsync(this.word, this.index, ARMED, timeoutMs)
    return result.async ? result.value : Promise.resolve(result.value)
  }

  /** Waking side: call after publishing. Costs one load when the parker is awake. */
  ring(): void {
    // acquire: is the other side parked (or about to)? Ordered after our publishing store.
    if (Atomics.load(this.word, this.index) !== DISARMED) {
      Atomics.store(this.word, this.index, DISARMED)
      // publish: wake the parker; it re-checks the condition we published before ringing.
      Atomics.notify(this.word, this.index)
      this.notifyCount++
    }
  }

  isArmed(): boolean {
    return Atomics.load(this.word, this.index) === ARMED
  }
}

/** A standalone bell in its own small buffer. */
export const makeDoorbellRef = (): DoorbellRef => ({
  buffer: new SharedArrayBuffer(DOORBELL_STRIDE_BYTES),
  byteOffset: 0
})
