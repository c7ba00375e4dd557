/**
 * User counters and gauges over a counters buffer (layout: `countersDescriptor.ts`).
 *
 * - `makeCountersBuffer` and `CountersManager` (control plane): allocate labelled values, one run per
 *   stage instance, before any loop starts.
 * - `CounterCells` (the stage's thread): the stage's values as a thread-local `Float64Array` that its
 *   `StageCounter`s and `StageGauge`s update in place — one add or store, no allocation — and that the
 *   loop copies into shared memory at each commit. A pass that throws is never committed, so counters
 *   count what committed passes did, like every other count of the loop.
 * - `readCounters` (anyone): every allocated value with its label, kind and owner.
 */
import * as D from "./countersDescriptor.ts"

/** A zeroed counters buffer with room for `capacity` values. */
export const makeCountersBuffer = (capacity: number): SharedArrayBuffer => {
  if (!(Number.isInteger(capacity) && capacity >= 0)) throw new RangeError(`counters capacity must be an integer >= 0: capacity=${capacity}`)
  const buffer = new SharedArrayBuffer(D.countersByteLength(capacity))
  const header = new Int32Array(buffer, 0, D.HEADER_BYTES / 4)
  header[D.VERSION_OFFSET >> 2] = D.COUNTERS_VERSION
  header[D.CAPACITY_OFFSET >> 2] = capacity
  // publish: the header is complete once MAGIC is set.
  Atomics.store(header, D.MAGIC_OFFSET >> 2, D.COUNTERS_MAGIC)
  return buffer
}

const checkBuffer = (buffer: SharedArrayBuffer): Int32Array => {
  const words = new Int32Array(buffer)
  const magic = Atomics.load(words, D.MAGIC_OFFSET >> 2)
  if (magic !== D.COUNTERS_MAGIC) throw new RangeError(`not a velox counters buffer: magic=0x${(magic >>> 0).toString(16)}`)
  const version = words[D.VERSION_OFFSET >> 2]
  if (version !== D.COUNTERS_VERSION) throw new RangeError(`counters version=${version}, this build reads version=${D.COUNTERS_VERSION}`)
  return words
}

const capacityOf = (words: Int32Array): number => words[D.CAPACITY_OFFSET >> 2]!

/** The values region as f64 words: value i is element i. */
export const counterValues = (buffer: SharedArrayBuffer): Float64Array => {
  const capacity = capacityOf(checkBuffer(buffer))
  return new Float64Array(buffer, D.valuesOffset(capacity), capacity)
}

/** Allocates labelled values from a buffer; the control plane only, before the loops start. */
export class CountersManager {
  private readonly words: Int32Array
  private readonly bytes: Uint8Array
  private readonly capacity: number
  private readonly encoder = new TextEncoder()
  private next: number

  constructor(buffer: SharedArrayBuffer) {
    this.words = checkBuffer(buffer)
    this.bytes = new Uint8Array(buffer)
    this.capacity = capacityOf(this.words)
    this.next = Atomics.load(this.words, D.ALLOCATED_OFFSET >> 2)
  }

  /** Starts a new owner's run on a fresh line pair (the records skipped are PADDING). */
  beginRun(): void {
    while (this.next % D.VALUES_PER_LINE_PAIR !== 0 && this.next < this.capacity) this.mark(this.next++, D.PADDING)
    this.publish()
  }

  /** Allocates one value; returns its index. Throws `RangeError` when full or the label is too long. */
  allocate(label: string, kind: typeof D.COUNTER | typeof D.GAUGE, owner: number): number {
    if (this.next >= this.capacity) throw new RangeError(`counters buffer is full: capacity=${this.capacity}, label "${label}"`)
    const encoded = this.encoder.encode(label)
    if (encoded.length === 0 || encoded.length > D.MAX_LABEL_BYTES) {
      throw new RangeError(`counter label must be 1..${D.MAX_LABEL_BYTES} UTF-8 bytes: "${label}" is ${encoded.length}`)
    }
    const index = this.next++
    const base = D.metadataOffset(index)
    this.words[(base + D.KIND_OFFSET) >> 2] = kind
    this.words[(base + D.OWNER_OFFSET) >> 2] = owner
    this.words[(base + D.LABEL_LENGTH_OFFSET) >> 2] = encoded.length
    this.bytes.set(encoded, base + D.LABEL_OFFSET)
    this.mark(index, D.ALLOCATED)
    this.publish()
    return index
  }

  private mark(index: number, state: number): void {
    // publish: the record's kind, owner and label, written before its state.
    Atomics.store(this.words, (D.metadataOffset(index) + D.STATE_OFFSET) >> 2, state)
  }

  private publish(): void {
    Atomics.store(this.words, D.ALLOCATED_OFFSET >> 2, this.next)
  }
}

/** One allocated value, as read by anyone. */
export interface CounterInfo {
  readonly index: number
  readonly kind: "counter" | "gauge"
  /** Stats block index of the stage instance that writes it. */
  readonly owner: number
  readonly label: string
  readonly value: number
}

/** Every allocated value with its label (allocates; control plane and tests). */
export const readCounters = (buffer: SharedArrayBuffer): ReadonlyArray<CounterInfo> => {
  const words = checkBuffer(buffer)
  const capacity = capacityOf(words)
  const values = new Float64Array(buffer, D.valuesOffset(capacity), capacity)
  const bytes = new Uint8Array(buffer)
  const decoder = new TextDecoder()
  // acquire: records below ALLOCATED are complete (each state was stored before ALLOCATED).
  const allocated = Atomics.load(words, D.ALLOCATED_OFFSET >> 2)
  const out: Array<CounterInfo> = []
  for (let i = 0; i < allocated; i++) {
    const base = D.metadataOffset(i)
    if (Atomics.load(words, (base + D.STATE_OFFSET) >> 2) !== D.ALLOCATED) continue
    const length = words[(base + D.LABEL_LENGTH_OFFSET) >> 2]!
    out.push({
      index: i,
      kind: words[(base + D.KIND_OFFSET) >> 2] === D.GAUGE ? "gauge" : "counter",
      owner: words[(base + D.OWNER_OFFSET) >> 2]!,
      // A copy: TextDecoder refuses views of shared memory.
      label: decoder.decode(bytes.slice(base + D.LABEL_OFFSET, base + D.LABEL_OFFSET + length)),
      value: values[i]!
    })
  }
  return out
}

/**
 * Checks that values `first .. first + labels.length - 1` are the ones a stage declared: its labels
 * and kinds in order, owned by `owner` (a worker built from another version of the stage fails here).
 */
export const checkRun = (
  buffer: SharedArrayBuffer,
  first: number,
  owner: number,
  labels: ReadonlyArray<string>,
  kinds: ReadonlyArray<typeof D.COUNTER | typeof D.GAUGE>
): void => {
  const byIndex = new Map(readCounters(buffer).map((c) => [c.index, c]))
  labels.forEach((label, i) => {
    const c = byIndex.get(first + i)
    const kind = kinds[i] === D.GAUGE ? "gauge" : "counter"
    if (c === undefined || c.label !== label || c.kind !== kind || c.owner !== owner) {
      throw new RangeError(
        `counter ${first + i} is ${c === undefined ? "not allocated" : `${c.kind} "${c.label}" of owner ${c.owner}`}, ` +
          `the stage declares ${kind} "${label}" of owner ${owner}`
      )
    }
  })
}

/**
 * A stage's values in its own thread: `local` is what its counters update, `commit` copies it into
 * the shared run. Starts from the shared values, so a restarted stage continues its counts.
 */
export class CounterCells {
  readonly local: Float64Array
  private readonly shared: Float64Array | undefined

  /** Over `count` shared values from `first`; or, without a buffer, private cells (a test's logic). */
  constructor(buffer: SharedArrayBuffer | undefined, first: number, count: number) {
    if (buffer === undefined) {
      this.shared = undefined
      this.local = new Float64Array(count)
      return
    }
    this.shared = counterValues(buffer).subarray(first, first + count)
    this.local = this.shared.slice()
  }

  /** Publishes the pass's values (the loop bumps HEARTBEAT after). */
  commit(): void {
    if (this.shared !== undefined) this.shared.set(this.local)
  }
}

/** A count that only grows: `add(n)` with n ≥ 0, from the stage's hot loop. */
export class StageCounter {
  readonly name: string
  private readonly cells: Float64Array
  private readonly index: number

  constructor(cells: Float64Array, index: number, name: string) {
    this.cells = cells
    this.index = index
    this.name = name
  }

  add(n: number): void {
    if (!(n >= 0)) throw new RangeError(`counter "${this.name}" only grows: add(${n})`)
    this.cells[this.index]! += n
  }

  increment(): void {
    this.cells[this.index]! += 1
  }

  get(): number {
    return this.cells[this.index]!
  }
}

/** A value set to anything: a level, a size, a checksum. */
export class StageGauge {
  readonly name: string
  private readonly cells: Float64Array
  private readonly index: number

  constructor(cells: Float64Array, index: number, name: string) {
    this.cells = cells
    this.index = index
    this.name = name
  }

  set(value: number): void {
    this.cells[this.index] = value
  }

  add(delta: number): void {
    this.cells[this.index]! += delta
  }

  get(): number {
    return this.cells[this.index]!
  }
}

/** A stage's counters and gauges by name, over one `CounterCells` (counters first, then gauges). */
export const namedCells = (
  cells: CounterCells,
  counters: ReadonlyArray<string>,
  gauges: ReadonlyArray<string>
): { readonly counters: Record<string, StageCounter>; readonly gauges: Record<string, StageGauge> } => {
  const c: Record<string, StageCounter> = {}
  const g: Record<string, StageGauge> = {}
  counters.forEach((name, i) => {
    c[name] = new StageCounter(cells.local, i, name)
  })
  gauges.forEach((name, i) => {
    g[name] = new StageGauge(cells.local, counters.length + i, name)
  })
  return { counters: Object.freeze(c), gauges: Object.freeze(g) }
}
