/**
 * Single-producer single-consumer ring of fixed-width slots in shared memory (kernel tier).
 *
 * Memory layout: see `ringDescriptor.ts`. Protocol, batch first:
 *
 * - Producer: `n = claim(max)` → write slots `claimIndex .. claimIndex + n - 1` → `publish(n)`.
 *   A claim never wraps: it stops at the end of the data region, so a batch is one contiguous run of
 *   slots (loops claim twice at the wrap). One Atomics.store of TAIL per batch publishes every slot
 *   written before it. `close()` after the last publish.
 * - Consumer: `n = poll(max)` → read slots `readIndex .. readIndex + n - 1` → `release(n)`. Polled
 *   records are in flight until released; one Atomics.store of HEAD per batch hands them back. `poll`
 *   returns {@link END_OF_STREAM} only when the producer closed *and* everything it published has been
 *   released.
 *
 * Bells: publish and close ring the consumer's bell (a notify only when it is parked on it). A release
 * rings the producer's bell only while the producer wants room (WANTS_ROOM, a Dekker handshake like
 * the bell's own): the producer stores 1 when it reads HEAD and finds the ring full, and reads HEAD
 * again after that store; the consumer stores HEAD, then loads WANTS_ROOM. Either the consumer sees the
 * 1 and rings, or the producer's store came after that load, and its re-read sees the released slots.
 * So a producer that parks only on a full ring (every path reads HEAD through `freeSlots`) misses no
 * room, and a producer whose loop parks on the same bell for other work (a source edge on the main
 * thread, woken by its writers) is not woken by every batch its consumer releases.
 *
 * Exactly one thread may drive the producer side and one the consumer side at a time. A restarted
 * consumer attaches anew and starts at HEAD: records it had polled but not released are delivered again.
 *
 * No `effect` import, no allocation or throw on the hot path (misuse throws `RangeError`).
 */
import { Doorbell, type DoorbellRef } from "./doorbell.ts"
import { type FieldSpec, type Layout, makeView, type RecordView } from "./recordLayout.ts"
import * as D from "./ringDescriptor.ts"

/** `poll` result: the producer closed and every published record has been consumed. */
export const END_OF_STREAM = -1 as const

/** Everything needed to attach to a ring from any thread; structured-cloneable (postMessage it). */
export interface RingHandle {
  readonly buffer: SharedArrayBuffer
  /** Byte offset of the ring header inside `buffer`; 8-byte aligned. */
  readonly byteOffset: number
  readonly capacity: number
  readonly slotBytes: number
  /** Bell of the agent that consumes this ring: rung on publish and close. */
  readonly consumerBell: DoorbellRef
  /** Bell of the agent that produces into this ring: rung on release while it wants room (WANTS_ROOM). */
  readonly producerBell: DoorbellRef
}

export interface RingOptions {
  readonly capacity: number
  readonly slotBytes: number
  /** Place the ring inside an existing buffer (e.g. between canaries); default: a fresh buffer. */
  readonly buffer?: SharedArrayBuffer
  readonly byteOffset?: number
  readonly consumerBell?: DoorbellRef
  readonly producerBell?: DoorbellRef
}

/** Allocates (or places) and initialises a ring; returns its handle. Throws `RangeError` on bad sizes. */
export const makeRing = (options: RingOptions): RingHandle => {
  const { capacity, slotBytes } = options
  D.checkCapacity(capacity)
  if (!Number.isInteger(slotBytes) || slotBytes <= 0 || slotBytes % 8 !== 0) {
    throw new RangeError(`slotBytes must be a positive multiple of 8: slotBytes=${slotBytes}`)
  }
  const byteOffset = options.byteOffset ?? 0
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % 8 !== 0) {
    throw new RangeError(`byteOffset must be a non-negative multiple of 8: byteOffset=${byteOffset}`)
  }
  const byteLength = D.ringByteLength(capacity, slotBytes)
  const buffer = options.buffer ?? new SharedArrayBuffer(byteOffset + byteLength)
  if (byteOffset + byteLength > buffer.byteLength) {
    throw new RangeError(
      `ring does not fit: byteOffset=${byteOffset} + byteLength=${byteLength} > buffer.byteLength=${buffer.byteLength}`
    )
  }
  const header = new Int32Array(buffer, byteOffset, D.HEADER_BYTES / 4)
  header.fill(0)
  header[D.VERSION_OFFSET >> 2] = D.VERSION
  header[D.CAPACITY_OFFSET >> 2] = capacity
  header[D.SLOT_BYTES_OFFSET >> 2] = slotBytes
  // publish: the header is complete once MAGIC is set; attach() checks it.
  Atomics.store(header, D.MAGIC_OFFSET >> 2, D.MAGIC)
  return {
    buffer,
    byteOffset,
    capacity,
    slotBytes,
    consumerBell: options.consumerBell ?? { buffer, byteOffset: byteOffset + D.CONSUMER_BELL_OFFSET },
    producerBell: options.producerBell ?? { buffer, byteOffset: byteOffset + D.PRODUCER_BELL_OFFSET }
  }
}

/** Typed view over a ring's slots: slot `i` of the view is ring slot `i` (`claimIndex`, `readIndex`). */
export const ringView = <F extends FieldSpec>(handle: RingHandle, layout: Layout<F>): RecordView<F> => {
  if (layout.byteLength !== handle.slotBytes) {
    throw new RangeError(
      `layout "${layout.name}" is ${layout.byteLength} bytes wide but the ring's slots are slotBytes=${handle.slotBytes}`
    )
  }
  return makeView(layout, handle.buffer, handle.byteOffset + D.DATA_OFFSET, handle.capacity)
}

/** Checks that a handle points at an initialised ring of the size it claims. */
const checkHandle = (handle: RingHandle, words: Int32Array, base: number): void => {
  const magic = Atomics.load(words, base + (D.MAGIC_OFFSET >> 2))
  if (magic !== D.MAGIC) {
    throw new RangeError(`not a velox ring at byteOffset=${handle.byteOffset}: magic=0x${(magic >>> 0).toString(16)}`)
  }
  const version = words[base + (D.VERSION_OFFSET >> 2)]
  if (version !== D.VERSION) throw new RangeError(`ring version=${version}, this build reads version=${D.VERSION}`)
  const capacity = words[base + (D.CAPACITY_OFFSET >> 2)]
  const slotBytes = words[base + (D.SLOT_BYTES_OFFSET >> 2)]
  if (capacity !== handle.capacity || slotBytes !== handle.slotBytes) {
    throw new RangeError(
      `ring header says capacity=${capacity} slotBytes=${slotBytes}, handle says capacity=${handle.capacity} slotBytes=${handle.slotBytes}`
    )
  }
}

/** Read-only view of a ring's shared counters, for stats and health from any thread. */
export class RingMonitor {
  // Fields the constructor sets are `declare`d: a plain declaration defines them as `undefined` first,
  // and the constructor's store then makes V8 treat them as mutable, reloaded and re-checked at every
  // use in a hot loop; stored once, they stay constant fields.
  private declare readonly words: Int32Array
  private declare readonly tailIndex: number
  private declare readonly headIndex: number
  private declare readonly closedIndex: number
  declare readonly capacity: number

  constructor(handle: RingHandle) {
    this.words = new Int32Array(handle.buffer)
    const base = handle.byteOffset >> 2
    checkHandle(handle, this.words, base)
    this.tailIndex = base + (D.TAIL_OFFSET >> 2)
    this.headIndex = base + (D.HEAD_OFFSET >> 2)
    this.closedIndex = base + (D.CLOSED_OFFSET >> 2)
    this.capacity = handle.capacity
  }

  /** Records published and not yet released. */
  fill(): number {
    const head = Atomics.load(this.words, this.headIndex)
    return (Atomics.load(this.words, this.tailIndex) - head) | 0
  }

  /** Producer sequence (wraps at 2^32). */
  tail(): number {
    return Atomics.load(this.words, this.tailIndex)
  }

  /** Consumer sequence (wraps at 2^32). */
  head(): number {
    return Atomics.load(this.words, this.headIndex)
  }

  isClosed(): boolean {
    return Atomics.load(this.words, this.closedIndex) !== 0
  }
}

export class RingProducer {
  declare readonly handle: RingHandle
  declare readonly capacity: number
  /** Slot index of the first slot of the current claim. */
  claimIndex = 0
  /** The bell of the consumer, rung after publish and close. */
  declare readonly consumerBell: Doorbell
  /** This side's own bell, to park on while the ring is full. */
  declare readonly producerBell: Doorbell
  private declare readonly words: Int32Array
  private declare readonly tailIndex: number
  private declare readonly headIndex: number
  private declare readonly closedIndex: number
  private declare readonly wantsRoomIndex: number
  private declare readonly mask: number
  private declare tail: number
  private declare cachedHead: number
  /** WANTS_ROOM as this side last stored it (its only writer). */
  private declare wantsRoom: boolean
  private claimed = 0

  constructor(handle: RingHandle) {
    this.handle = handle
    this.words = new Int32Array(handle.buffer)
    const base = handle.byteOffset >> 2
    checkHandle(handle, this.words, base)
    this.capacity = handle.capacity
    this.mask = handle.capacity - 1
    this.tailIndex = base + (D.TAIL_OFFSET >> 2)
    this.headIndex = base + (D.HEAD_OFFSET >> 2)
    this.closedIndex = base + (D.CLOSED_OFFSET >> 2)
    this.wantsRoomIndex = base + (D.WANTS_ROOM_OFFSET >> 2)
    // The producer is TAIL's only writer, so a local copy is authoritative after attach.
    this.tail = Atomics.load(this.words, this.tailIndex)
    this.cachedHead = Atomics.load(this.words, this.headIndex)
    // So is it WANTS_ROOM's: a new producer (a restart) takes over what the last one stored.
    this.wantsRoom = Atomics.load(this.words, this.wantsRoomIndex) !== 0
    this.consumerBell = new Doorbell(handle.consumerBell)
    this.producerBell = new Doorbell(handle.producerBell)
  }

  /**
   * Claims up to `max` contiguous free slots starting at `claimIndex`; returns how many (0 when full).
   * A new claim replaces an unpublished one.
   */
  claim(max: number): number {
    if (!(max >= 1 && max <= this.capacity)) {
      throw new RangeError(`claim must be between 1 and the ring capacity: claim=${max} capacity=${this.capacity}`)
    }
    const tail = this.tail
    let free = this.capacity - ((tail - this.cachedHead) | 0)
    // Only re-read HEAD when the cached value is not enough: HEAD's cache line is the consumer's.
    if (free < max) free = this.freeSlots()
    const index = tail & this.mask
    const toEnd = this.capacity - index
    let n = max < free ? max : free
    if (n > toEnd) n = toEnd
    this.claimIndex = index
    this.claimed = n
    return n
  }

  /** Publishes the first `count` slots of the current claim (all of them by default). */
  publish(count: number = this.claimed): void {
    if (!(count >= 0 && count <= this.claimed)) {
      throw new RangeError(`publish exceeds the claim: publish=${count} claimed=${this.claimed}`)
    }
    if (count === 0) return
    this.claimed = 0
    this.tail = (this.tail + count) | 0
    // publish: every slot written before this store is visible to a consumer that loads TAIL.
    Atomics.store(this.words, this.tailIndex, this.tail)
    this.consumerBell.ring()
  }

  /**
   * Free slots, exactly when fewer than `wanted`, else at least `wanted`: HEAD is re-read only when the
   * cached value shows fewer (HEAD only grows, so the cached count is a lower bound). A loop asks this
   * once per pass: while the ring has room it does not pull HEAD's cache line from the consumer's core.
   */
  room(wanted: number): number {
    const free = this.capacity - ((this.tail - this.cachedHead) | 0)
    return free >= wanted ? free : this.freeSlots()
  }

  /**
   * Free slots as last seen, refreshing HEAD. Every read of HEAD on this side comes here: a full ring
   * raises WANTS_ROOM (so that the consumer's next release rings this side's bell) and reads HEAD
   * again after it; a ring with room lowers it.
   */
  freeSlots(): number {
    // acquire: slots the consumer released up to HEAD may be overwritten.
    let head = Atomics.load(this.words, this.headIndex)
    if (this.capacity - ((this.tail - head) | 0) === 0) {
      if (!this.wantsRoom) {
        this.wantsRoom = true
        // publish: "ring me on release", before the re-read below (the handshake in the module comment).
        Atomics.store(this.words, this.wantsRoomIndex, 1)
        head = Atomics.load(this.words, this.headIndex)
      }
    } else if (this.wantsRoom) {
      this.wantsRoom = false
      Atomics.store(this.words, this.wantsRoomIndex, 0)
    }
    this.cachedHead = head
    return this.capacity - ((this.tail - head) | 0)
  }

  /** Re-checks for space; used by idle strategies between arming the bell and parking. */
  hasSpace(): boolean {
    return this.freeSlots() > 0
  }

  /** Ends the stream. Call after the last publish; the consumer reads everything before it sees the end. */
  close(): void {
    // publish: CLOSED is stored after the final TAIL, so a consumer that sees it also sees that TAIL.
    Atomics.store(this.words, this.closedIndex, 1)
    this.consumerBell.ring()
  }

  isClosed(): boolean {
    return Atomics.load(this.words, this.closedIndex) !== 0
  }

  /** Records published and not yet released. */
  fill(): number {
    return this.capacity - this.freeSlots()
  }
}

export class RingConsumer {
  declare readonly handle: RingHandle
  declare readonly capacity: number
  /** Slot index of the first slot returned by the last `poll`. */
  readIndex = 0
  /** This side's own bell, to park on while the ring is empty. */
  declare readonly consumerBell: Doorbell
  /** The producer's bell, rung after a release while the producer wants room. */
  declare readonly producerBell: Doorbell
  private declare readonly words: Int32Array
  private declare readonly tailIndex: number
  private declare readonly headIndex: number
  private declare readonly closedIndex: number
  private declare readonly wantsRoomIndex: number
  private declare readonly mask: number
  /** Released up to here (shared as HEAD). */
  private declare head: number
  /** Polled up to here: records between `head` and `readSeq` are in flight. */
  private declare readSeq: number
  private declare cachedTail: number

  constructor(handle: RingHandle) {
    this.handle = handle
    this.words = new Int32Array(handle.buffer)
    const base = handle.byteOffset >> 2
    checkHandle(handle, this.words, base)
    this.capacity = handle.capacity
    this.mask = handle.capacity - 1
    this.tailIndex = base + (D.TAIL_OFFSET >> 2)
    this.headIndex = base + (D.HEAD_OFFSET >> 2)
    this.closedIndex = base + (D.CLOSED_OFFSET >> 2)
    this.wantsRoomIndex = base + (D.WANTS_ROOM_OFFSET >> 2)
    // The consumer is HEAD's only writer: a restarted consumer resumes at the last release, so what
    // the previous one polled and did not release is delivered again.
    this.head = Atomics.load(this.words, this.headIndex)
    this.readSeq = this.head
    this.cachedTail = Atomics.load(this.words, this.tailIndex)
    this.consumerBell = new Doorbell(handle.consumerBell)
    this.producerBell = new Doorbell(handle.producerBell)
  }

  /**
   * Returns how many contiguous published slots, up to `max`, start at `readIndex`, and takes them in
   * flight (the next poll continues after them). 0 when none are ready; {@link END_OF_STREAM} when the
   * producer closed and every record it published was polled and released.
   */
  poll(max: number): number {
    if (!(max >= 1)) throw new RangeError(`poll needs max >= 1: max=${max}`)
    const readSeq = this.readSeq
    let available = (this.cachedTail - readSeq) | 0
    if (available < max) {
      // acquire: slots up to TAIL were fully written before the producer stored it.
      this.cachedTail = Atomics.load(this.words, this.tailIndex)
      available = (this.cachedTail - readSeq) | 0
      if (available === 0) {
        // acquire: CLOSED is stored after the final TAIL, so re-read TAIL after seeing it.
        if (Atomics.load(this.words, this.closedIndex) === 0) return 0
        this.cachedTail = Atomics.load(this.words, this.tailIndex)
        available = (this.cachedTail - readSeq) | 0
        if (available === 0) return this.head === readSeq ? END_OF_STREAM : 0
      }
    }
    const index = readSeq & this.mask
    const toEnd = this.capacity - index
    let n = max < available ? max : available
    if (n > toEnd) n = toEnd
    this.readIndex = index
    this.readSeq = (readSeq + n) | 0
    return n
  }

  /**
   * Hands the `count` oldest in-flight records back to the producer (all in flight by default). A stage
   * that keeps records in its state releases only the ones it no longer needs; a restart redelivers
   * the rest.
   */
  release(count: number = this.inFlight()): void {
    const inFlight = this.inFlight()
    if (!(count >= 0 && count <= inFlight)) {
      throw new RangeError(`release exceeds the records in flight: release=${count} inFlight=${inFlight}`)
    }
    if (count === 0) return
    this.head = (this.head + count) | 0
    // publish: the released slots may now be overwritten by the producer.
    Atomics.store(this.words, this.headIndex, this.head)
    // acquire: does the producer wait for room? Loaded after HEAD's store (see the module comment).
    if (Atomics.load(this.words, this.wantsRoomIndex) !== 0) this.producerBell.ring()
  }

  /** Polled and not yet released. */
  inFlight(): number {
    return (this.readSeq - this.head) | 0
  }

  /** Forgets what is in flight: the next poll starts again at the oldest unreleased record. */
  rewind(): void {
    this.readSeq = this.head
  }

  /** Re-checks for unpolled records or the end; used by idle strategies between arming and parking. */
  hasWork(): boolean {
    return ((Atomics.load(this.words, this.tailIndex) - this.readSeq) | 0) !== 0 ||
      Atomics.load(this.words, this.closedIndex) !== 0
  }

  /** Published, not yet released. */
  fill(): number {
    return (Atomics.load(this.words, this.tailIndex) - this.head) | 0
  }

  /** Closed and every record polled, released or not: nothing more will come (does not poll). */
  isExhausted(): boolean {
    // acquire: CLOSED first, then TAIL (stored before CLOSED).
    return Atomics.load(this.words, this.closedIndex) !== 0 &&
      Atomics.load(this.words, this.tailIndex) === this.readSeq
  }

  /** Closed and fully consumed (does not poll). */
  isEndOfStream(): boolean {
    // acquire: CLOSED first, then TAIL (stored before CLOSED).
    return Atomics.load(this.words, this.closedIndex) !== 0 &&
      Atomics.load(this.words, this.tailIndex) === this.head
  }
}
