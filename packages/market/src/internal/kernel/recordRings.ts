/**
 * Keyed record rings (kernel tier): for each key (a symbol; a symbol and a timeframe), a ring of its
 * last `depth` fixed-width records, in one `SharedArrayBuffer`. One thread writes each key (a stage's
 * loop); any thread reads — a snapshot of the newest records, or the records after a cursor — without
 * messages and without locks, and never gets a torn record. The tick store and the bar store are
 * these rings.
 *
 * ```
 *  byte  0 ┌──────────────────────┬──────────────────────┐
 *          │ magic    i32         │ version  i32  (1)    │  make(), plain, once (magic last, Atomics)
 *          │ 0x7E1C5A11           │                      │
 *  byte  8 ├──────────────────────┼──────────────────────┤
 *          │ keys     i32         │ depth    i32         │  make(), plain, once
 *  byte 16 ├──────────────────────┼──────────────────────┤
 *          │ recordBytes i32      │ wrap     i32         │  make(), plain, once (wrap: a multiple of
 *          │                      │                      │  depth below 2^30, where `written` wraps)
 *  byte 24 ├──────────────────────┴──────────────────────┤
 *          │ user words: 10 × i32 (what the store keeps  │  make(), plain, once
 *          │ about itself: the bar store's timeframes)   │
 *  byte 64 ├─────────────────────────────────────────────┤
 *          │ key 0 header (64 bytes, one cache line):    │
 *          │   +0  written i32   records written, mod    │  the key's writer, Atomics.store, after
 *          │                     `wrap`                  │  the record it counts; readers Atomics.load
 *          │   +8  total   f64   records written ever    │  the key's writer, plain, after `written`
 *          │   +16 … +63 padding: keys written by        │
 *          │       different threads share no line       │
 *          ├─────────────────────────────────────────────┤
 *          │ key 1 header … keys × 64 bytes              │
 *          ├─────────────────────────────────────────────┤
 *          │ key 0's ring: depth × recordBytes           │  the key's writer, plain, before it
 *          │ key 1's ring …                              │  publishes `written`
 *          └─────────────────────────────────────────────┘   64 + keys × (64 + depth × recordBytes)
 * ```
 *
 * Record `n` of a key (its n-th write, counted mod `wrap`) sits in slot `n mod depth` of its ring;
 * `wrap` is a multiple of `depth`, so that position survives the wrap.
 *
 * Writing: the writer copies records into their slots (plain stores), then publishes `written` with
 * one `Atomics.store` — after each record ({@link RingsWriter.commit}), or after a run of them
 * ({@link RingsWriter.append} then {@link RingsWriter.flush}: one store per key and batch instead of
 * one per record, which is what a sink's loop wants: each store is a full barrier that waits for the
 * records just copied into lines the cache did not hold). A key never has more than `u` records
 * written and not yet published: the writer publishes when it reaches `u`, a number the buffer's
 * owner chooses ({@link unpublishedLimit}) and gives its writer and its readers alike (the tick store
 * keeps it in a user word; 1, the default, publishes every record).
 *
 * Reading: load `written` (w₁), copy the records wanted, load `written` again (w₂). Between the two
 * loads the writer finished `a = w₂ − w₁` records and may be writing records w₂ … w₂ + u − 1, into
 * the slots of records w₂ − depth … w₂ + u − 1 − depth. So the copy of record w₁ − d (d ≥ 1) is
 * intact when w₁ − d > w₂ + u − 1 − depth, i.e. `d < depth − a − (u − 1)`; the reader keeps those
 * and discards the rest — they were overwritten by newer records, which a later read returns. No
 * record is ever returned half old, half new. This relies on the copy's plain loads being done
 * before the second `Atomics.load` of `written` — true on x64, where loads are not reordered with later loads, and what the threaded test
 * (`test/market/tickStoreThreads.test.ts`) checks with a writer running flat out. JS Atomics are
 * sequentially consistent.
 */

/** First word of a rings buffer. */
export const MAGIC = 0x7e1c5a11
export const VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const KEYS_OFFSET = 8
export const DEPTH_OFFSET = 12
export const RECORD_BYTES_OFFSET = 16
export const WRAP_OFFSET = 20
export const USER_OFFSET = 24
export const USER_WORDS = 10
/** Where key 0's header starts. */
export const HEADER_BYTES = 64
/** Bytes per key header: one cache line. */
export const KEY_HEADER_BYTES = 64
export const KEY_WRITTEN_OFFSET = 0
export const KEY_TOTAL_OFFSET = 8

/** `written` wraps at the largest multiple of depth not above this. */
const WRAP_LIMIT = 1 << 30

/**
 * A good `u` (the most records of a key its writer holds written but unpublished) for rings of
 * `depth` records: 1 (publish each) up to 15, then an eighth of the ring, up to 32. The newest
 * `u − 1` slots of a ring are never read (see the module comment): a reader sees at most `depth − u`
 * records.
 */
export const unpublishedLimit = (depth: number): number => Math.max(1, Math.min(32, depth >> 3))

const checkUnpublished = (u: number, depth: number): number => {
  if (!(Number.isInteger(u) && u >= 1 && u < depth)) throw new RangeError(`unpublished must be an integer in 1..${depth - 1}: unpublished=${u}`)
  return u
}

export const byteLength = (keys: number, depth: number, recordBytes: number): number =>
  HEADER_BYTES + keys * (KEY_HEADER_BYTES + depth * recordBytes)

/** A fresh buffer for `keys` rings of `depth` records of `recordBytes` each, with `user` words. */
export const makeRings = (
  keys: number,
  depth: number,
  recordBytes: number,
  user: ReadonlyArray<number> = []
): SharedArrayBuffer => {
  if (!(Number.isInteger(keys) && keys >= 1)) throw new RangeError(`keys must be a positive integer: keys=${keys}`)
  if (!(Number.isInteger(depth) && depth >= 2 && depth <= WRAP_LIMIT / 2)) {
    throw new RangeError(`depth must be an integer in 2..${WRAP_LIMIT / 2}: depth=${depth}`)
  }
  if (!(Number.isInteger(recordBytes) && recordBytes >= 8 && recordBytes % 8 === 0)) {
    throw new RangeError(`recordBytes must be a positive multiple of 8: recordBytes=${recordBytes}`)
  }
  if (user.length > USER_WORDS) throw new RangeError(`at most ${USER_WORDS} user words: ${user.length}`)
  const buffer = new SharedArrayBuffer(byteLength(keys, depth, recordBytes))
  const words = new Int32Array(buffer, 0, HEADER_BYTES / 4)
  words[VERSION_OFFSET >> 2] = VERSION
  words[KEYS_OFFSET >> 2] = keys
  words[DEPTH_OFFSET >> 2] = depth
  words[RECORD_BYTES_OFFSET >> 2] = recordBytes
  words[WRAP_OFFSET >> 2] = Math.floor(WRAP_LIMIT / depth) * depth
  user.forEach((w, i) => {
    words[(USER_OFFSET >> 2) + i] = w
  })
  // publish: a buffer whose header is complete (readers check the magic first).
  Atomics.store(words, MAGIC_OFFSET >> 2, MAGIC)
  return buffer
}

/** The geometry of a rings buffer, or undefined when `u` is not one. */
export interface Geometry {
  readonly keys: number
  readonly depth: number
  readonly recordBytes: number
  readonly wrap: number
  readonly user: ReadonlyArray<number>
}

export const geometry = (u: unknown): Geometry | undefined => {
  if (!(u instanceof SharedArrayBuffer) || u.byteLength < HEADER_BYTES) return undefined
  const words = new Int32Array(u, 0, HEADER_BYTES / 4)
  // acquire: the header, complete once the magic is there.
  if (Atomics.load(words, MAGIC_OFFSET >> 2) !== MAGIC || words[VERSION_OFFSET >> 2] !== VERSION) return undefined
  const keys = words[KEYS_OFFSET >> 2]!
  const depth = words[DEPTH_OFFSET >> 2]!
  const recordBytes = words[RECORD_BYTES_OFFSET >> 2]!
  if (u.byteLength !== byteLength(keys, depth, recordBytes)) return undefined
  return {
    keys,
    depth,
    recordBytes,
    wrap: words[WRAP_OFFSET >> 2]!,
    user: Array.from(words.subarray(USER_OFFSET >> 2, (USER_OFFSET >> 2) + USER_WORDS))
  }
}

const requireGeometry = (buffer: SharedArrayBuffer): Geometry => {
  const g = geometry(buffer)
  if (g === undefined) throw new TypeError("not a record rings buffer (a tick store or a bar store)")
  return g
}

const dataOffset = (keys: number): number => HEADER_BYTES + keys * KEY_HEADER_BYTES

/**
 * The writing side. Each key must be written by one thread at a time (a stage instance owns its
 * symbols); a restarted writer carries on from what the buffer holds.
 */
export class RingsWriter {
  readonly buffer: SharedArrayBuffer
  readonly keys: number
  readonly depth: number
  readonly wrap: number
  /** The whole buffer as 8-byte words: records are copied word by word. */
  private readonly f64: Float64Array
  private readonly i32: Int32Array
  /** Record stride in f64 words. */
  private readonly stride: number
  /** Where each key's ring starts, in f64 words. */
  private readonly data: number
  /** Each key's `written`, kept here too: the writer never reads it back from shared memory. */
  private readonly next: Int32Array
  /** Each key's next slot (written mod depth). */
  private readonly position: Int32Array
  /** Each key's records written since its last publish. */
  private readonly unpublished: Int32Array
  /** Keys that may hold unpublished records, `dirtyCount` of them, each once (`listed`). */
  private readonly dirty: Int32Array
  private readonly listed: Uint8Array
  private dirtyCount = 0
  private readonly limit: number

  /** `unpublished`: the buffer's `u` (see the module comment), the same its readers are given. */
  constructor(buffer: SharedArrayBuffer, unpublished = 1) {
    const g = requireGeometry(buffer)
    this.buffer = buffer
    this.keys = g.keys
    this.depth = g.depth
    this.wrap = g.wrap
    this.f64 = new Float64Array(buffer)
    this.i32 = new Int32Array(buffer)
    this.stride = g.recordBytes / 8
    this.data = dataOffset(g.keys) / 8
    this.limit = checkUnpublished(unpublished, g.depth)
    this.next = new Int32Array(g.keys)
    this.position = new Int32Array(g.keys)
    this.unpublished = new Int32Array(g.keys)
    this.dirty = new Int32Array(g.keys)
    this.listed = new Uint8Array(g.keys)
    for (let k = 0; k < g.keys; k++) {
      // acquire: what an earlier writer of this buffer (a crashed stage) published.
      const written = Atomics.load(this.i32, (HEADER_BYTES + k * KEY_HEADER_BYTES + KEY_WRITTEN_OFFSET) >> 2)
      this.next[k] = written
      this.position[k] = written % g.depth
    }
  }

  /**
   * Appends the record at word `fromWord` of `from` (8-byte words, as `RecordLayout.copyRecords`;
   * same record length) to key `key`'s ring. Readers see it after {@link flush}, or as soon as the key
   * holds `u` unpublished records (they are published here then).
   */
  append(key: number, from: Float64Array, fromWord: number): void {
    let d = this.slotWord(key)
    const end = fromWord + this.stride
    const f64 = this.f64
    for (let s = fromWord; s < end; s++) f64[d++] = from[s]!
    this.appended(key)
  }

  /**
   * Where key `key`'s next record goes, in words of {@link words64}: a writer that copies its records
   * itself (a fixed layout, written out) writes the record's words there, then calls {@link appended}.
   */
  slotWord(key: number): number {
    return this.data + (key * this.depth + this.position[key]!) * this.stride
  }

  /** Takes the record just written at {@link slotWord} as key `key`'s next, as {@link append} does. */
  appended(key: number): void {
    const position = this.position[key]!
    this.position[key] = position + 1 === this.depth ? 0 : position + 1
    const n = this.unpublished[key]! + 1
    if (n === this.limit) return this.publish(key, n)
    this.unpublished[key] = n
    // A key with more than one is listed already (listed at its first, until the flush).
    if (n === 1 && this.listed[key] === 0) {
      this.listed[key] = 1
      this.dirty[this.dirtyCount++] = key
    }
  }

  /** The whole buffer as 8-byte words, for writers that copy at {@link slotWord}. */
  get words64(): Float64Array {
    return this.f64
  }

  /** Publishes every record appended since the last flush. */
  flush(): void {
    const dirty = this.dirty
    for (let i = 0; i < this.dirtyCount; i++) {
      const key = dirty[i]!
      this.listed[key] = 0
      const n = this.unpublished[key]!
      if (n > 0) this.publish(key, n)
    }
    this.dirtyCount = 0
  }

  /** Where the rings start, in bytes: a record view over `keys × depth` records from here has every slot. */
  get dataByteOffset(): number {
    return this.data * 8
  }

  /** The slot (from {@link dataByteOffset}) where key `key`'s next record goes: write it, then {@link commit}. */
  nextSlot(key: number): number {
    return key * this.depth + this.position[key]!
  }

  /** Publishes the record written at {@link nextSlot} (and any appended before it). */
  commit(key: number): void {
    const position = this.position[key]!
    this.position[key] = position + 1 === this.depth ? 0 : position + 1
    this.publish(key, this.unpublished[key]! + 1)
  }

  /** Publishes key `key`'s `count` unpublished records (their slots already written). */
  private publish(key: number, count: number): void {
    const written = this.next[key]! + count
    const wrapped = written >= this.wrap ? written - this.wrap : written
    this.next[key] = wrapped
    this.unpublished[key] = 0
    // publish: the records just copied into their slots.
    Atomics.store(this.i32, (HEADER_BYTES + key * KEY_HEADER_BYTES + KEY_WRITTEN_OFFSET) >> 2, wrapped)
    // After the publish: a reader that sees the total has seen the records it counts.
    this.f64[((HEADER_BYTES + key * KEY_HEADER_BYTES) >> 3) + (KEY_TOTAL_OFFSET >> 3)]! += count
  }
}

/** What a follower's read returned: records copied, where to read from next, records it missed. */
export interface FollowResult {
  count: number
  cursor: number
  missed: number
}

/** The reading side: any thread, any key, never blocking the writer. */
export class RingsReader {
  readonly buffer: SharedArrayBuffer
  readonly keys: number
  readonly depth: number
  readonly wrap: number
  readonly recordBytes: number
  readonly user: ReadonlyArray<number>
  /** The most records of a key a read returns: `depth − u`. */
  readonly readable: number
  private readonly f64: Float64Array
  private readonly i32: Int32Array
  private readonly stride: number
  private readonly data: number

  /** `unpublished`: the buffer's `u`, as its writer was given it. */
  constructor(buffer: SharedArrayBuffer, unpublished = 1) {
    const g = requireGeometry(buffer)
    this.buffer = buffer
    this.keys = g.keys
    this.depth = g.depth
    this.wrap = g.wrap
    this.recordBytes = g.recordBytes
    this.user = g.user
    this.readable = g.depth - checkUnpublished(unpublished, g.depth)
    this.f64 = new Float64Array(buffer)
    this.i32 = new Int32Array(buffer)
    this.stride = g.recordBytes / 8
    this.data = dataOffset(g.keys) / 8
  }

  /** Key `key`'s `written` (mod `wrap`): a cursor at its newest end. */
  written(key: number): number {
    // acquire: every record counted by it.
    return Atomics.load(this.i32, (HEADER_BYTES + key * KEY_HEADER_BYTES + KEY_WRITTEN_OFFSET) >> 2)
  }

  /** Records ever written to key `key` (a count for stats; not ordered with the records). */
  total(key: number): number {
    return this.f64[((HEADER_BYTES + key * KEY_HEADER_BYTES) >> 3) + (KEY_TOTAL_OFFSET >> 3)]!
  }

  /** Records key `key` holds now: its total, up to `depth` (a count for stats). */
  held(key: number): number {
    const total = this.total(key)
    return total < this.depth ? total : this.depth
  }

  /**
   * Copies key `key`'s newest records, newest first, up to `limit` (at most {@link readable}: the
   * slots the writer may be writing are never read), into `into` (8-byte words, a record every
   * `recordBytes / 8`, from word 0). Returns how many are intact: all of them unless the writer
   * lapped the copy.
   */
  newest(key: number, limit: number, into: Float64Array): number {
    const depth = this.depth
    const stride = this.stride
    const w1 = this.written(key)
    // Records before w₁: all of the ring once it filled (the total only grows past depth after the
    // records it counts were published), else w₁ itself (no wrap yet).
    const readable = this.readable
    const available = this.total(key) >= depth ? readable : w1 < readable ? w1 : readable
    const n = limit < available ? limit : available
    const ring = this.data + key * depth * stride
    let position = w1 % depth
    const f64 = this.f64
    let d = 0
    for (let i = 0; i < n; i++) {
      position = position === 0 ? depth - 1 : position - 1
      let s = ring + position * stride
      for (let j = 0; j < stride; j++) into[d++] = f64[s++]!
    }
    const advanced = this.distance(w1, this.written(key))
    // Record w₁ − d is intact when d < depth − advanced − (u − 1), u = depth − readable.
    const intact = readable - advanced
    return n < intact ? n : intact < 0 ? 0 : intact
  }

  /**
   * Copies the records written after `cursor` (a `written` value from an earlier call or from
   * {@link written}), oldest first, at most `max`, into `into`. `result.cursor` is where the next call
   * starts; `result.missed` counts records written after `cursor` that this call cannot return because
   * the ring overwrote them (a reader that fell more than {@link readable} records behind).
   */
  since(key: number, cursor: number, max: number, into: Float64Array, result: FollowResult): FollowResult {
    const depth = this.depth
    const stride = this.stride
    const w1 = this.written(key)
    const behind = this.distance(cursor, w1)
    // The oldest record still readable is w₁ − readable.
    const readable = this.readable
    let skipped = behind > readable ? behind - readable : 0
    let n = behind - skipped
    if (n > max) n = max
    const first = (cursor + skipped) % this.wrap
    const ring = this.data + key * depth * stride
    const f64 = this.f64
    let position = first % depth
    let d = 0
    for (let i = 0; i < n; i++) {
      let s = ring + position * stride
      for (let j = 0; j < stride; j++) into[d++] = f64[s++]!
      position = position + 1 === depth ? 0 : position + 1
    }
    const advanced = this.distance(w1, this.written(key))
    // Record `first + i` is w₁ − (behind − skipped − i): intact when that distance ≤ readable − advanced.
    let torn = 0
    for (let i = 0; i < n; i++) {
      if (behind - skipped - i <= readable - advanced) break
      torn++
    }
    if (torn > 0) {
      // The oldest copies were overwritten while copying: drop them, keep the rest in place.
      into.copyWithin(0, torn * stride, n * stride)
      n -= torn
      skipped += torn
    }
    result.count = n
    result.cursor = (first + torn + n) % this.wrap
    result.missed = skipped
    return result
  }

  /** Records from cursor `a` to cursor `b` (mod `wrap`). */
  distance(a: number, b: number): number {
    const d = b - a
    return d < 0 ? d + this.wrap : d
  }
}
