/**
 * The emitters a loop hands to stage logic: where `emit()` puts a record depends on placement.
 *
 * - `RingEmitter`: claims windows of slots directly in an output ring; publishes when a window fills
 *   and at each commit. No copy. In a loop that must never wait (a fiber), it is only ever a target of
 *   the batching emitters: what its full ring cannot take mid-pass is spilled, and the pass commits
 *   once the ring has taken it (`settle`).
 * - `ScratchEmitter`: fused placement; fills a private batch and hands it to the next stage's
 *   `onBatch` as plain calls, no ring and no atomics in between.
 * - `RelayEmitter`: a fiber's one output ring behind a private batch, so that a full ring spills
 *   instead of waiting.
 * - `RoutingEmitter`: fan-out; fills a private batch and copies each record to one ring chosen by a
 *   key field (partition) or to every ring (broadcast).
 * - `BroadcastEmitter`: a tee; copies each record to every consumer (a ring, or a partition's rings),
 *   waiting for room or, for a consumer that drops, counting what did not fit.
 * - `SinkEmitter`: no output; a sink only accounts for what it delivered.
 *
 * All of them keep the stage's accounting for the current pass as plain local deltas; the loop
 * commits them to the shared stats block once per pass.
 */
import { Doorbell } from "./doorbell.ts"
import * as L from "./linkStatsDescriptor.ts"
import { type RingHandle, RingProducer, ringView } from "./oneToOneRing.ts"
import { DATA_OFFSET } from "./ringDescriptor.ts"
import { copyRecords, type FieldSpec, type Layout, makeView, type RecordView } from "./recordLayout.ts"
import type { Emitter } from "./stageLogic.ts"
import * as S from "./stageStatsDescriptor.ts"
import type { StageStatsWriter } from "./stageStats.ts"

/** Thrown through stage logic to unwind a loop that was told to abort while it waited. */
export const ABORTED: unique symbol = Symbol.for("@velox/core/Aborted")

/** How a loop waits for space in a full ring: parks on its own bell, and gives up on abort. */
export interface SpaceWaiter {
  waitForSpace(producer: RingProducer): void
}

/** Dead-letter slot: a 16-byte header, then the input record's words. */
export const DEAD_LETTER_HEADER_BYTES = 16
export const DEAD_LETTER_CODE_WORD = 0
export const DEAD_LETTER_STAGE_WORD = 1
export const DEAD_LETTER_LENGTH_WORD = 2
/** Error code the loop itself uses for a record that crashed its stage again and again. */
export const STAGE_THREW_CODE = S.MAX_REASONS - 1
/** Drop reason the supervisor uses for records that reach a stage it stopped. */
export const STAGE_STOPPED_REASON = S.MAX_REASONS - 1

/** `forward` copies whole records: the input's must be the output's size. */
const checkRecordSize = (input: RecordView, output: RecordView): void => {
  if (input.wordsPerRecord !== output.wordsPerRecord) {
    throw new RangeError(
      `forward: input records are ${input.wordsPerRecord * 4} bytes, output records (${output.layout.name}) ${
        output.wordsPerRecord * 4
      }`
    )
  }
}

/** Writes dead letters (rare path: one claim and publish per record). */
export class DeadLetterWriter {
  // Fields the constructor sets are `declare`d: a plain declaration defines them as `undefined` first,
  // and the constructor's store then makes V8 treat them as mutable, reloaded and re-checked at every
  // use in a hot loop; stored once, they stay constant fields.
  declare readonly producer: RingProducer
  private declare readonly words: Int32Array
  private declare readonly wordsPerSlot: number
  private declare readonly waiter: SpaceWaiter

  constructor(handle: RingHandle, waiter: SpaceWaiter) {
    this.producer = new RingProducer(handle)
    this.words = new Int32Array(handle.buffer, handle.byteOffset + DATA_OFFSET, (handle.capacity * handle.slotBytes) / 4)
    this.wordsPerSlot = handle.slotBytes / 4
    this.waiter = waiter
  }

  write(code: number, stageIndex: number, input: RecordView, slot: number): void {
    const length = input.wordsPerRecord
    if (DEAD_LETTER_HEADER_BYTES / 4 + length > this.wordsPerSlot) {
      throw new RangeError(
        `dead-letter slots hold ${this.wordsPerSlot * 4 - DEAD_LETTER_HEADER_BYTES} record bytes, record is ${length * 4}`
      )
    }
    while (this.producer.claim(1) === 0) this.waiter.waitForSpace(this.producer)
    const base = this.producer.claimIndex * this.wordsPerSlot
    const w = this.words
    w[base + DEAD_LETTER_CODE_WORD] = code
    w[base + DEAD_LETTER_STAGE_WORD] = stageIndex
    w[base + DEAD_LETTER_LENGTH_WORD] = length
    const src = input.words
    let s = slot * length
    for (let i = 0; i < length; i++) w[base + 4 + i] = src[s++]!
    this.producer.publish(1)
  }
}

/** Accounting shared by every emitter; `emit`/`flush`/`reset` are the placement-specific part. */
export abstract class AccountingEmitter<O extends FieldSpec = FieldSpec> implements Emitter<O> {
  abstract readonly view: RecordView<O>
  emittedDelta = 0
  writtenDelta = 0
  droppedDelta = 0
  deadDelta = 0
  declare readonly droppedByReason: Float64Array
  declare readonly deadByCode: Float64Array
  private declare readonly reasonCount: number
  private declare readonly errorCount: number
  private declare readonly deadLetters: DeadLetterWriter | undefined
  private declare readonly stageIndex: number

  constructor(stageIndex: number, reasonCount: number, errorCount: number, deadLetters: DeadLetterWriter | undefined) {
    this.stageIndex = stageIndex
    this.reasonCount = reasonCount
    this.errorCount = errorCount
    this.deadLetters = deadLetters
    this.droppedByReason = new Float64Array(S.MAX_REASONS)
    this.deadByCode = new Float64Array(S.MAX_REASONS)
  }

  abstract emit(accounts?: number): number
  abstract forward(input: RecordView, start: number, count: number): void
  /** Pushes everything emitted so far downstream (end of a pass). */
  abstract flush(): void
  /** After a crash: forgets what was emitted and not yet pushed. Returns records already pushed downstream. */
  abstract reset(): number

  /**
   * After `flush`: moves into the rings what a full ring could not take during the pass (spilled by a
   * loop that never waits), as far as they have room. True when nothing is left: the pass may commit.
   */
  settle(): boolean {
    return true
  }

  /** Would `settle` move anything now (a ring with spilled records has room)? */
  canSettle(): boolean {
    return false
  }

  account(count: number): void {
    this.emittedDelta += count
  }

  drop(reason: number, count: number = 1): void {
    if (!(reason >= 0 && reason < this.reasonCount)) {
      throw new RangeError(`drop reason ${reason} is not declared: the stage declares ${this.reasonCount} drop reasons`)
    }
    this.droppedByReason[reason]! += count
    this.droppedDelta += count
  }

  deadLetter(code: number, input: RecordView, slot: number): void {
    if (!(code >= 0 && (code < this.errorCount || code === STAGE_THREW_CODE))) {
      throw new RangeError(`error code ${code} is not declared: the stage declares ${this.errorCount} error codes`)
    }
    if (this.deadLetters === undefined) throw new RangeError("this loop has no dead-letter ring")
    this.deadLetters.write(code, this.stageIndex, input, slot)
    this.deadByCode[code]! += 1
    this.deadDelta++
  }

  /** Adds this pass's deltas to the stage's shared counters and starts a new pass. */
  commit(stats: StageStatsWriter): void {
    if (this.emittedDelta !== 0) stats.add(S.EMITTED_OFFSET, this.emittedDelta)
    if (this.writtenDelta !== 0) stats.add(S.WRITTEN_OFFSET, this.writtenDelta)
    if (this.droppedDelta !== 0) {
      stats.add(S.DROPPED_OFFSET, this.droppedDelta)
      for (let r = 0; r < S.MAX_REASONS; r++) {
        const d = this.droppedByReason[r]!
        if (d !== 0) {
          stats.add(S.DROPPED_BY_REASON_OFFSET + r * 8, d)
          this.droppedByReason[r] = 0
        }
      }
    }
    if (this.deadDelta !== 0) {
      stats.add(S.DEAD_LETTERED_OFFSET, this.deadDelta)
      for (let c = 0; c < S.MAX_REASONS; c++) {
        const d = this.deadByCode[c]!
        if (d !== 0) {
          stats.add(S.DEAD_BY_CODE_OFFSET + c * 8, d)
          this.deadByCode[c] = 0
        }
      }
    }
    this.emittedDelta = 0
    this.writtenDelta = 0
    this.droppedDelta = 0
    this.deadDelta = 0
  }

  /** Forgets the deltas of a pass that crashed. */
  discardDeltas(): void {
    this.droppedByReason.fill(0)
    this.deadByCode.fill(0)
    this.emittedDelta = 0
    this.writtenDelta = 0
    this.droppedDelta = 0
    this.deadDelta = 0
  }
}

/**
 * Records a full ring could not take during a pass of a loop that never waits, in order, until the ring
 * has room: private memory that grows to the largest overflow of a pass and is kept for the next.
 */
class Spill {
  private declare readonly layout: Layout
  private declare view: RecordView
  private head = 0
  private tail = 0

  constructor(layout: Layout) {
    this.layout = layout
    this.view = makeView(layout, new ArrayBuffer(layout.byteLength * 256), 0, 256)
  }

  get size(): number {
    return this.tail - this.head
  }

  push(from: RecordView, start: number, count: number): void {
    if (this.tail + count > this.view.slotCount) this.grow(count)
    copyRecords(from, start, this.view, this.tail, count)
    this.tail += count
  }

  /** Moves the oldest `count` records to `to`'s slots from `slot` on. */
  shift(to: RecordView, slot: number, count: number): void {
    copyRecords(this.view, this.head, to, slot, count)
    this.head += count
    if (this.head === this.tail) this.head = this.tail = 0
  }

  clear(): void {
    this.head = this.tail = 0
  }

  private grow(count: number): void {
    const size = this.size
    let capacity = this.view.slotCount
    while (capacity < size + count) capacity *= 2
    const view = capacity === this.view.slotCount
      ? this.view
      : makeView(this.layout, new ArrayBuffer(this.layout.byteLength * capacity), 0, capacity)
    // Oldest first at slot 0 (within one buffer, from a higher slot to a lower one: safe in order).
    if (view !== this.view || this.head > 0) copyRecords(this.view, this.head, view, 0, size)
    this.view = view
    this.head = 0
    this.tail = size
  }
}

/**
 * Emits straight into one output ring. With a `waiter` it waits while the ring is full; without one (a
 * loop that never waits) it spills what does not fit and keeps the order: once a record spilled, the
 * rest of the pass spills behind it, and `settle` moves them to the ring as it gets room. A spilling
 * ring emitter hands out no slots: it is a target of a batching emitter (`put`, `putRun`).
 */
export class RingEmitter<O extends FieldSpec = FieldSpec> extends AccountingEmitter<O> {
  declare readonly view: RecordView<O>
  declare readonly producer: RingProducer
  private declare readonly window: number
  private declare readonly waiter: SpaceWaiter | undefined
  private declare readonly spill: Spill | undefined
  private start = 0
  private pos = 0
  private limit = 0
  /** Published before the pass committed: duplicates if the pass then crashes. */
  private publishedEarly = 0

  constructor(
    handle: RingHandle,
    layout: Layout<O>,
    window: number,
    waiter: SpaceWaiter | undefined,
    stageIndex: number,
    reasonCount: number,
    errorCount: number,
    deadLetters: DeadLetterWriter | undefined
  ) {
    super(stageIndex, reasonCount, errorCount, deadLetters)
    this.producer = new RingProducer(handle)
    this.view = ringView(handle, layout)
    this.window = Math.min(window, handle.capacity)
    this.waiter = waiter
    this.spill = waiter === undefined ? new Spill(layout) : undefined
  }

  emit(accounts: number = 1): number {
    if (this.pos === this.limit && !this.nextWindow()) throw new RangeError("a ring emitter that spills hands out no slots")
    this.emittedDelta += accounts
    this.writtenDelta++
    return this.pos++
  }

  forward(input: RecordView, start: number, count: number): void {
    checkRecordSize(input, this.view)
    this.emittedDelta += count
    this.writtenDelta += count
    this.putRun(input, start, count)
  }

  /** Copies record `slot` of `from` to the ring, with no accounting (another emitter counted it). */
  put(from: RecordView, slot: number): void {
    if (this.pos === this.limit && !this.nextWindow()) this.spill!.push(from, slot, 1)
    else copyRecords(from, slot, this.view, this.pos++, 1)
  }

  /** Copies records `start .. start + count - 1` of `from` to the ring in runs, with no accounting. */
  putRun(from: RecordView, start: number, count: number): void {
    while (count > 0) {
      if (this.pos === this.limit && !this.nextWindow()) {
        this.spill!.push(from, start, count)
        return
      }
      const n = Math.min(count, this.limit - this.pos)
      copyRecords(from, start, this.view, this.pos, n)
      this.pos += n
      start += n
      count -= n
    }
  }

  /** A slot with no accounting, or -1 when the ring is full: it never waits (a dropping output). */
  tryEmitRaw(): number {
    if (this.pos === this.limit) {
      const pending = this.pos - this.start
      if (pending > 0) {
        this.producer.publish(pending)
        this.publishedEarly += pending
      }
      const n = this.producer.claim(this.window)
      if (n === 0) {
        this.start = this.pos = this.limit = 0
        return -1
      }
      this.start = this.pos = this.producer.claimIndex
      this.limit = this.pos + n
    }
    return this.pos++
  }

  /**
   * Publishes the full window and claims the next, waiting for room with a waiter. Without one, false
   * when the ring is full or records already spilled (they go first): the caller spills.
   */
  private nextWindow(): boolean {
    const pending = this.pos - this.start
    if (pending > 0) {
      this.producer.publish(pending)
      this.publishedEarly += pending
    }
    this.start = this.pos = this.limit = 0
    if (this.spill !== undefined && this.spill.size > 0) return false
    for (;;) {
      const n = this.producer.claim(this.window)
      if (n > 0) {
        this.start = this.pos = this.producer.claimIndex
        this.limit = this.pos + n
        return true
      }
      if (this.waiter === undefined) return false
      this.waiter.waitForSpace(this.producer)
    }
  }

  flush(): void {
    const pending = this.pos - this.start
    if (pending > 0) this.producer.publish(pending)
    this.start = this.pos = this.limit = 0
    // With records still spilled the pass has not committed: what it published is still early.
    if (this.spill === undefined || this.spill.size === 0) this.publishedEarly = 0
    else this.publishedEarly += pending
  }

  override settle(): boolean {
    const spill = this.spill
    if (spill === undefined) return true
    while (spill.size > 0) {
      const n = this.producer.claim(Math.min(this.window, spill.size))
      if (n === 0) return false
      spill.shift(this.view, this.producer.claimIndex, n)
      this.producer.publish(n)
      this.publishedEarly += n
    }
    this.publishedEarly = 0
    return true
  }

  override canSettle(): boolean {
    return this.spill !== undefined && this.spill.size > 0 && this.producer.freeSlots() > 0
  }

  reset(): number {
    const early = this.publishedEarly
    this.start = this.pos = this.limit = 0
    this.publishedEarly = 0
    this.spill?.clear()
    return early
  }
}

/**
 * One private buffer for all the scratch batches of a loop. A fused member forwarding its input (the
 * previous member's batch) then copies within one buffer: `copyWithin`, a memmove, instead of a loop
 * of word stores — and allocates nothing, as a `subarray` for `set` would.
 */
export class ScratchArena {
  declare readonly buffer: ArrayBuffer
  /** The whole buffer as 8-byte words (batches are 8-byte aligned and sized). */
  declare readonly words64: Float64Array
  private next = 0

  constructor(byteLength: number) {
    // Private memory: nothing else reads it, so a plain ArrayBuffer.
    this.buffer = new ArrayBuffer(byteLength)
    this.words64 = new Float64Array(this.buffer)
  }

  /** A view of `capacity` records of `layout` in the arena's next free bytes. */
  take<O extends FieldSpec>(layout: Layout<O>, capacity: number): RecordView<O> {
    const view = makeView(layout, this.buffer, this.next, capacity)
    this.next += capacity * layout.byteLength
    return view
  }
}

/** Below this many records a loop of word copies beats a `copyWithin` call. */
const MEMMOVE_MIN_RECORDS = 16

/**
 * Emits into a private batch of `capacity` records and hands it on (`handOff`) when it fills and at
 * each flush: the fused, routing and broadcasting emitters.
 */
abstract class BatchingEmitter<O extends FieldSpec = FieldSpec> extends AccountingEmitter<O> {
  declare readonly view: RecordView<O>
  protected declare readonly capacity: number
  protected pos = 0
  private declare readonly arena: Float64Array
  /** 8-byte words per record, and the batch's first word in the arena. */
  private declare readonly stride64: number
  private declare readonly base64: number

  constructor(
    layout: Layout<O>,
    capacity: number,
    arena: ScratchArena | undefined,
    stageIndex: number,
    reasonCount: number,
    errorCount: number,
    deadLetters: DeadLetterWriter | undefined
  ) {
    super(stageIndex, reasonCount, errorCount, deadLetters)
    this.capacity = capacity
    const a = arena ?? new ScratchArena(capacity * layout.byteLength)
    this.view = a.take(layout, capacity)
    this.arena = a.words64
    this.stride64 = layout.byteLength >> 3
    this.base64 = this.view.byteOffset >> 3
  }

  /** Passes on the `pos` records of the batch and empties it. */
  protected abstract handOff(): void

  emit(accounts: number = 1): number {
    if (this.pos === this.capacity) this.handOff()
    this.emittedDelta += accounts
    this.writtenDelta++
    return this.pos++
  }

  forward(input: RecordView, start: number, count: number): void {
    checkRecordSize(input, this.view)
    this.emittedDelta += count
    this.writtenDelta += count
    while (count > 0) {
      if (this.pos === this.capacity) this.handOff()
      const n = Math.min(count, this.capacity - this.pos)
      if (n >= MEMMOVE_MIN_RECORDS && input.words64.buffer === this.arena.buffer) {
        const w = this.stride64
        const from = (input.byteOffset >> 3) + start * w
        this.arena.copyWithin(this.base64 + this.pos * w, from, from + n * w)
      } else {
        copyRecords(input, start, this.view, this.pos, n)
      }
      this.pos += n
      start += n
      count -= n
    }
  }
}

/** Fused placement: a private batch handed to the next stage as a plain call. */
export class ScratchEmitter<O extends FieldSpec = FieldSpec> extends BatchingEmitter<O> {
  private declare readonly downstream: (view: RecordView<O>, count: number) => void

  constructor(
    layout: Layout<O>,
    capacity: number,
    arena: ScratchArena | undefined,
    downstream: (view: RecordView<O>, count: number) => void,
    stageIndex: number,
    reasonCount: number,
    errorCount: number,
    deadLetters: DeadLetterWriter | undefined
  ) {
    super(layout, capacity, arena, stageIndex, reasonCount, errorCount, deadLetters)
    this.downstream = downstream
  }

  protected handOff(): void {
    const n = this.pos
    this.pos = 0
    this.downstream(this.view, n)
  }

  flush(): void {
    if (this.pos > 0) this.handOff()
  }

  /** What was pushed went into the next member's pass, which a crash discards too: nothing to count. */
  reset(): number {
    this.pos = 0
    return 0
  }
}

/**
 * One output ring behind a private batch, for a loop that never waits (a fiber): its ring emitter
 * spills when full, and hands out no slots. What the stage emits goes into the batch, then on in runs;
 * what it forwards (a source edge's records) goes straight into the ring, one copy, behind the batch.
 */
export class RelayEmitter<O extends FieldSpec = FieldSpec> extends BatchingEmitter<O> {
  declare readonly target: RingEmitter<O>

  constructor(
    target: RingEmitter<O>,
    layout: Layout<O>,
    capacity: number,
    arena: ScratchArena | undefined,
    stageIndex: number,
    reasonCount: number,
    errorCount: number,
    deadLetters: DeadLetterWriter | undefined
  ) {
    super(layout, capacity, arena, stageIndex, reasonCount, errorCount, deadLetters)
    this.target = target
  }

  protected handOff(): void {
    this.target.putRun(this.view, 0, this.pos)
    this.pos = 0
  }

  override forward(input: RecordView, start: number, count: number): void {
    checkRecordSize(input, this.view)
    this.emittedDelta += count
    this.writtenDelta += count
    if (this.pos > 0) this.handOff()
    this.target.putRun(input, start, count)
  }

  flush(): void {
    if (this.pos > 0) this.handOff()
    this.target.flush()
  }

  reset(): number {
    this.pos = 0
    return this.target.reset()
  }

  override settle(): boolean {
    return this.target.settle()
  }

  override canSettle(): boolean {
    return this.target.canSettle()
  }
}

/** Fan-out: copies each emitted record to the ring its key picks, or to every ring. */
export class RoutingEmitter<O extends FieldSpec = FieldSpec> extends BatchingEmitter<O> {
  declare readonly targets: ReadonlyArray<RingEmitter<O>>
  /** Key field accessor for partitioning; undefined broadcasts. */
  private declare readonly keyOf: ((slot: number) => number) | undefined
  private routedEarly = 0

  constructor(
    targets: ReadonlyArray<RingEmitter<O>>,
    layout: Layout<O>,
    capacity: number,
    arena: ScratchArena | undefined,
    keyField: string | undefined,
    stageIndex: number,
    reasonCount: number,
    errorCount: number,
    deadLetters: DeadLetterWriter | undefined
  ) {
    super(layout, capacity, arena, stageIndex, reasonCount, errorCount, deadLetters)
    this.targets = targets
    if (keyField !== undefined) {
      const field = this.view.fields[keyField]
      if (field === undefined) throw new RangeError(`partition key "${keyField}" is not a field of layout "${layout.name}"`)
      this.keyOf = field.get
    } else {
      this.keyOf = undefined
    }
  }

  protected handOff(): void {
    const n = this.pos
    const targets = this.targets
    const k = targets.length
    const keyOf = this.keyOf
    for (let i = 0; i < n; i++) {
      if (keyOf !== undefined) {
        // Keys are record fields (often f64): truncate, then fold negatives into range.
        const key = Math.trunc(keyOf(i))
        targets[((key % k) + k) % k]!.put(this.view, i)
      } else {
        for (let j = 0; j < k; j++) targets[j]!.put(this.view, i)
      }
    }
    this.routedEarly += n
    this.pos = 0
  }

  flush(): void {
    if (this.pos > 0) this.handOff()
    for (const t of this.targets) t.flush()
    this.routedEarly = 0
  }

  override settle(): boolean {
    let settled = true
    for (const t of this.targets) if (!t.settle()) settled = false
    return settled
  }

  override canSettle(): boolean {
    return this.targets.some((t) => t.canSettle())
  }

  reset(): number {
    let early = 0
    for (const t of this.targets) early += t.reset()
    this.pos = 0
    this.routedEarly = 0
    return early
  }
}

/** One consumer of a broadcasting loop: a ring, or a partition's rings (routed by `keyOf`). */
export interface BroadcastPort<O extends FieldSpec = FieldSpec> {
  readonly targets: ReadonlyArray<RingEmitter<O>>
  /** Key field accessor of the scratch view, for a partitioned consumer; undefined: one ring. */
  readonly keyField: string | undefined
  /** Never wait for room: a record that does not fit is dropped and counted in the ring's link stats. */
  readonly dropping: boolean
  /** Per target, its ring's link stats block as f64 words (`linkStatsDescriptor.ts`). */
  readonly links: ReadonlyArray<Float64Array>
}

/**
 * A tee (and any output that drops): copies each emitted record to every port — to its one ring, or to
 * the ring its key picks. A waiting port parks while its ring is full, so a slow consumer slows the
 * producer; a dropping port skips a full ring and counts the record in that ring's `DROPPED`, at once
 * (a crash of the pass keeps the count: the record was really not written). After a crash, what a
 * target published early goes to its ring's `DUPLICATED`, not to the stage's: each port may have
 * published a different number.
 */
export class BroadcastEmitter<O extends FieldSpec = FieldSpec> extends BatchingEmitter<O> {
  private declare readonly ports: ReadonlyArray<BroadcastPort<O>>
  private declare readonly keys: ReadonlyArray<((slot: number) => number) | undefined>

  constructor(
    ports: ReadonlyArray<BroadcastPort<O>>,
    layout: Layout<O>,
    capacity: number,
    arena: ScratchArena | undefined,
    stageIndex: number,
    reasonCount: number,
    errorCount: number,
    deadLetters: DeadLetterWriter | undefined
  ) {
    super(layout, capacity, arena, stageIndex, reasonCount, errorCount, deadLetters)
    this.ports = ports
    this.keys = ports.map((p) => {
      if (p.keyField === undefined) return undefined
      const field = this.view.fields[p.keyField]
      if (field === undefined) throw new RangeError(`partition key "${p.keyField}" is not a field of layout "${layout.name}"`)
      return field.get
    })
  }

  protected handOff(): void {
    const n = this.pos
    const ports = this.ports
    for (let p = 0; p < ports.length; p++) {
      const port = ports[p]!
      const keyOf = this.keys[p]
      const targets = port.targets
      const k = targets.length
      for (let i = 0; i < n; i++) {
        // Keys are record fields (often f64): truncate, then fold negatives into range.
        const t = keyOf === undefined ? 0 : ((Math.trunc(keyOf(i)) % k) + k) % k
        const target = targets[t]!
        if (!port.dropping) {
          target.put(this.view, i)
          continue
        }
        const slot = target.tryEmitRaw()
        if (slot < 0) port.links[t]![L.DROPPED_OFFSET >> 3]! += 1
        else copyRecords(this.view, i, target.view, slot, 1)
      }
    }
    this.pos = 0
  }

  flush(): void {
    if (this.pos > 0) this.handOff()
    for (const port of this.ports) for (const t of port.targets) t.flush()
  }

  override settle(): boolean {
    let settled = true
    for (const port of this.ports) for (const t of port.targets) if (!t.settle()) settled = false
    return settled
  }

  override canSettle(): boolean {
    return this.ports.some((port) => port.targets.some((t) => t.canSettle()))
  }

  reset(): number {
    for (const port of this.ports) {
      port.targets.forEach((t, i) => {
        const early = t.reset()
        if (early > 0) port.links[i]![L.DUPLICATED_OFFSET >> 3]! += early
      })
    }
    this.pos = 0
    return 0
  }
}

/** A sink has no output records; it accounts for what it delivered elsewhere. */
export class SinkEmitter extends AccountingEmitter<FieldSpec> {
  declare readonly view: RecordView<FieldSpec>

  constructor(stageIndex: number, reasonCount: number, errorCount: number, deadLetters: DeadLetterWriter | undefined) {
    super(stageIndex, reasonCount, errorCount, deadLetters)
    this.view = makeView({ name: "none", spec: {}, fields: [], byteLength: 8 }, new ArrayBuffer(8), 0, 1)
  }

  emit(): number {
    throw new RangeError("a sink has no output: use account(n) for what it delivered")
  }

  forward(): void {
    this.emit()
  }

  flush(): void {}

  reset(): number {
    return 0
  }
}

/** Waits for space by parking on the loop's own bell (the producer bell of its output rings). */
export class ParkingSpaceWaiter implements SpaceWaiter {
  private declare readonly bell: Doorbell
  private declare readonly control: Int32Array
  private declare readonly abortIndex: number
  waits = 0

  constructor(bell: Doorbell, control: Int32Array, abortIndex: number) {
    this.bell = bell
    this.control = control
    this.abortIndex = abortIndex
  }

  waitForSpace(producer: RingProducer): void {
    this.waits++
    this.bell.arm()
    // acquire: an abort request, or space released by the consumer since we found the ring full.
    if (producer.hasSpace() || Atomics.load(this.control, this.abortIndex) !== 0) {
      this.bell.disarm()
    } else {
      // Bounded so that an abort stored without a ring is still seen.
      this.bell.wait(10)
      this.bell.disarm()
    }
    if (Atomics.load(this.control, this.abortIndex) !== 0) throw ABORTED
  }
}
