/**
 * The symbol table (kernel tier): instrument names (`EURUSD`, `AAPL`) mapped to the dense u32 ids that
 * records carry, and back, in one `SharedArrayBuffer` that every thread reads without messages and any
 * thread may add to.
 *
 * ```
 *  byte  0 ┌──────────────────────┬──────────────────────┐
 *          │ magic    i32         │ version  i32  (1)    │  make(), plain, once
 *          │ 0x5E7B01A5           │                      │
 *  byte  8 ├──────────────────────┼──────────────────────┤
 *          │ capacity i32         │ hashSlots i32        │  make(), plain, once (hashSlots: a power of
 *          │                      │                      │  two ≥ 2 × capacity)
 *  byte 16 ├──────────────────────┼──────────────────────┤
 *          │ count    i32         │ lock     i32         │  count: the registering thread, Atomics.store
 *          │ ids handed out       │ 0 free, 1 held       │  lock: any registering thread, Atomics CAS
 *  byte 24 ├──────────────────────┴──────────────────────┤
 *          │ reserved (8 bytes, 0)                       │
 *  byte 32 ├─────────────────────────────────────────────┤
 *          │ hash index: hashSlots × i32                 │  the registering thread, Atomics.store;
 *          │   id + 1 of the name hashed there, 0 empty  │  readers Atomics.load (linear probing)
 *          ├─────────────────────────────────────────────┤
 *          │ entry 0 │ entry 1 │ … capacity entries      │  written once, before the id is published
 *          └─────────────────────────────────────────────┘
 *
 *  entry (48 bytes):  +0 byteLength i32 · +4 hash i32 · +8 name, UTF-8, up to 40 bytes (zero padded)
 * ```
 *
 * Ids are dense and never reused: the n-th name registered gets id n − 1. An entry is written in full
 * (plain stores) and only then published — its hash slot and `count` by `Atomics.store` — so a reader
 * that finds an id (by `Atomics.load` of `count` or of a hash slot) reads a complete, immutable entry.
 * Registration (rare: at start, or when a feed first names an instrument) takes `lock` with
 * `Atomics.compareExchange`, so several threads may register at once and a name is never registered
 * twice; lookups take no lock. JS Atomics are sequentially consistent.
 *
 * The table does not grow past `capacity`: a registration that does not fit returns {@link FULL}, and
 * the caller decides (a feed counts the quote as dropped).
 */

/** First word of a symbol table. */
export const MAGIC = 0x5e7b01a5
export const VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const CAPACITY_OFFSET = 8
export const HASH_SLOTS_OFFSET = 12
export const COUNT_OFFSET = 16
export const LOCK_OFFSET = 20
/** Where the hash index starts. */
export const HEADER_BYTES = 32

/** Bytes per entry: a length word, the name's hash, then the name. */
export const ENTRY_BYTES = 48
export const ENTRY_LENGTH_OFFSET = 0
export const ENTRY_HASH_OFFSET = 4
export const ENTRY_NAME_OFFSET = 8
/** The longest name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = ENTRY_BYTES - ENTRY_NAME_OFFSET

/** The most symbols a table may hold. */
export const MAX_CAPACITY = 1 << 22

/** `register`: the table holds `capacity` names already. */
export const FULL = -1 as const
/** `register`: the name is empty, longer than {@link MAX_NAME_BYTES} bytes, or holds a control character or a space. */
export const INVALID_NAME = -2 as const
/** `idOf`: no such name. */
export const UNKNOWN = -1 as const

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)))

export const hashSlotsFor = (capacity: number): number => nextPowerOfTwo(2 * capacity)

export const byteLength = (capacity: number): number => HEADER_BYTES + 4 * hashSlotsFor(capacity) + ENTRY_BYTES * capacity

/** A fresh, empty table for up to `capacity` names. */
export const makeTable = (capacity: number): SharedArrayBuffer => {
  if (!(Number.isInteger(capacity) && capacity >= 1 && capacity <= MAX_CAPACITY)) {
    throw new RangeError(`capacity must be an integer in 1..${MAX_CAPACITY}: capacity=${capacity}`)
  }
  const buffer = new SharedArrayBuffer(byteLength(capacity))
  const words = new Int32Array(buffer, 0, HEADER_BYTES / 4)
  words[CAPACITY_OFFSET >> 2] = capacity
  words[HASH_SLOTS_OFFSET >> 2] = hashSlotsFor(capacity)
  words[VERSION_OFFSET >> 2] = VERSION
  // publish: a table whose header is complete (readers check the magic first).
  Atomics.store(words, MAGIC_OFFSET >> 2, MAGIC)
  return buffer
}

/** The capacity of a symbol table, or -1 when `u` is not one. */
export const tableCapacity = (u: unknown): number => {
  if (!(u instanceof SharedArrayBuffer) || u.byteLength < HEADER_BYTES) return -1
  const words = new Int32Array(u, 0, HEADER_BYTES / 4)
  // acquire: the header, complete once the magic is there.
  if (Atomics.load(words, MAGIC_OFFSET >> 2) !== MAGIC || words[VERSION_OFFSET >> 2] !== VERSION) return -1
  const capacity = words[CAPACITY_OFFSET >> 2]!
  return u.byteLength === byteLength(capacity) ? capacity : -1
}

/** FNV-1a over the name's bytes. */
const hashOf = (bytes: Uint8Array): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return h | 0
}

/** Whether a name may be registered: 1–40 UTF-8 bytes, no control character, no whitespace. */
export const validName = (name: string, bytes: Uint8Array): boolean =>
  bytes.length >= 1 && bytes.length <= MAX_NAME_BYTES && !/[\s\p{Cc}]/u.test(name)

/**
 * A view of one table: lookups from any thread, registration from any thread. Build one per thread
 * (it caches decoded names, and the ids of names it looked up) and keep it.
 */
export class SymbolTable {
  readonly buffer: SharedArrayBuffer
  readonly capacity: number
  private readonly words: Int32Array
  private readonly bytes: Uint8Array
  private readonly slots: number
  private readonly entriesOffset: number
  /** Names decoded so far, by id (entries never change once published). */
  private readonly names: Array<string | undefined> = []
  /**
   * Ids found or registered so far, by name: a feed looks up the symbol of every message, and a Map
   * hit costs a fraction of encoding the name and probing the shared table. Bounded by the capacity
   * (only names that have an id get in).
   */
  private readonly ids = new Map<string, number>()

  constructor(buffer: SharedArrayBuffer) {
    const capacity = tableCapacity(buffer)
    if (capacity < 1) throw new TypeError("not a symbol table (make one with Symbols.make)")
    this.buffer = buffer
    this.capacity = capacity
    this.words = new Int32Array(buffer)
    this.bytes = new Uint8Array(buffer)
    this.slots = this.words[HASH_SLOTS_OFFSET >> 2]!
    this.entriesOffset = HEADER_BYTES + 4 * this.slots
  }

  /** Ids handed out so far: every id below it names a complete entry. */
  count(): number {
    // acquire: every entry below the count, written before it was published.
    return Atomics.load(this.words, COUNT_OFFSET >> 2)
  }

  /** The id of `name`, or {@link UNKNOWN}. */
  idOf(name: string): number {
    const cached = this.ids.get(name)
    if (cached !== undefined) return cached
    const encoded = encoder.encode(name)
    if (!validName(name, encoded)) return UNKNOWN
    const id = this.find(encoded, hashOf(encoded))
    if (id !== UNKNOWN) this.ids.set(name, id)
    return id
  }

  /** The name of `id`, or undefined for an id not handed out. */
  nameOf(id: number): string | undefined {
    const cached = this.names[id]
    if (cached !== undefined) return cached
    if (!(Number.isInteger(id) && id >= 0 && id < this.count())) return undefined
    const at = this.entriesOffset + id * ENTRY_BYTES
    const length = this.words[(at + ENTRY_LENGTH_OFFSET) >> 2]!
    // TextDecoder refuses views of shared memory: decode a copy.
    const name = decoder.decode(this.bytes.slice(at + ENTRY_NAME_OFFSET, at + ENTRY_NAME_OFFSET + length))
    this.names[id] = name
    return name
  }

  /**
   * The id of `name`, registering it when it is new; {@link FULL} when it is new and the table is
   * full, {@link INVALID_NAME} for a name that may not be registered. A known name is a Map lookup
   * (cheap enough per record); a new one takes the table's lock (at start, or the first quote of an
   * instrument).
   */
  register(name: string): number {
    const cached = this.ids.get(name)
    if (cached !== undefined) return cached
    const id = this.registerUncached(name)
    if (id >= 0) this.ids.set(name, id)
    return id
  }

  private registerUncached(name: string): number {
    const encoded = encoder.encode(name)
    if (!validName(name, encoded)) return INVALID_NAME
    const hash = hashOf(encoded)
    const known = this.find(encoded, hash)
    if (known !== UNKNOWN) return known
    this.lock()
    try {
      // Another thread may have registered it while this one waited for the lock.
      const raced = this.find(encoded, hash)
      if (raced !== UNKNOWN) return raced
      const id = Atomics.load(this.words, COUNT_OFFSET >> 2)
      if (id >= this.capacity) return FULL
      const at = this.entriesOffset + id * ENTRY_BYTES
      this.bytes.set(encoded, at + ENTRY_NAME_OFFSET)
      this.words[(at + ENTRY_LENGTH_OFFSET) >> 2] = encoded.length
      this.words[(at + ENTRY_HASH_OFFSET) >> 2] = hash
      let slot = hash & (this.slots - 1)
      while (Atomics.load(this.words, (HEADER_BYTES >> 2) + slot) !== 0) slot = (slot + 1) & (this.slots - 1)
      // publish: the entry, written above, by name…
      Atomics.store(this.words, (HEADER_BYTES >> 2) + slot, id + 1)
      // publish: …and by id.
      Atomics.store(this.words, COUNT_OFFSET >> 2, id + 1)
      return id
    } finally {
      // publish: the lock's release, after everything written under it.
      Atomics.store(this.words, LOCK_OFFSET >> 2, 0)
    }
  }

  private lock(): void {
    // Held for the few stores of one registration (well under a microsecond): spin, since the main
    // thread may not Atomics.wait. The inner loop only reads, so waiting threads do not fight for the line.
    while (Atomics.compareExchange(this.words, LOCK_OFFSET >> 2, 0, 1) !== 0) {
      while (Atomics.load(this.words, LOCK_OFFSET >> 2) !== 0) { /* spin */ }
    }
  }

  private find(encoded: Uint8Array, hash: number): number {
    const mask = this.slots - 1
    for (let slot = hash & mask;; slot = (slot + 1) & mask) {
      // acquire: the entry this slot names, complete before the slot was stored.
      const idPlusOne = Atomics.load(this.words, (HEADER_BYTES >> 2) + slot)
      if (idPlusOne === 0) return UNKNOWN
      const at = this.entriesOffset + (idPlusOne - 1) * ENTRY_BYTES
      if (this.words[(at + ENTRY_HASH_OFFSET) >> 2] !== hash) continue
      if (this.words[(at + ENTRY_LENGTH_OFFSET) >> 2] !== encoded.length) continue
      let same = true
      for (let i = 0; i < encoded.length; i++) {
        if (this.bytes[at + ENTRY_NAME_OFFSET + i] !== encoded[i]) {
          same = false
          break
        }
      }
      if (same) return idPlusOne - 1
    }
  }
}
