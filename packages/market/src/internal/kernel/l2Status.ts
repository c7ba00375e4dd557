/**
 * The L2 status table (kernel tier): per symbol, where its book stands against the feed (waiting for a
 * first snapshot, live, stale, resyncing) and what happened to it (gaps, stale spells, snapshots,
 * resyncs, crossed and locked books), in a `SharedArrayBuffer` the L2 book stage writes and any thread
 * reads (a monitoring view, `/stats`, the exit report).
 *
 * ```
 *  byte  0 ┌──────────────────────┬──────────────────────┐
 *          │ magic    i32         │ version  i32  (1)    │  make(), plain, once
 *          │ 0x7E1B0C12           │                      │
 *  byte  8 ├──────────────────────┼──────────────────────┤
 *          │ symbols  i32         │ reserved i32  (0)    │  make(), plain, once
 *  byte 16 ├──────────────────────┴──────────────────────┤
 *          │ symbol 0: 8 × i32 (below)                   │
 *  byte 48 ├─────────────────────────────────────────────┤
 *          │ symbol 1 …                                  │
 *          └─────────────────────────────────────────────┘  16 + 32 × symbols bytes
 *
 *  per symbol, at 16 + 32 × symbol:
 *   +0  state          i32   bits 0–2: sync state (WAITING, LIVE, STALE, RESYNCING, REFRESHING),
 *                            bit 3: LOCKED, bit 4: CROSSED (the last top of book published)
 *   +4  gaps           i32   sequence gaps seen
 *   +8  missing        i32   sequence numbers skipped by those gaps (saturates at 2^31 − 1)
 *   +12 staleEvents    i32   times the book went out of sync (a gap, a refused update, an update
 *                            before the first snapshot, a snapshot abandoned)
 *   +16 snapshots      i32   snapshots applied (SnapshotEnd reached)
 *   +20 resyncs        i32   of those, the ones that brought an out-of-sync book back
 *   +24 crossedEvents  i32   times the published top of book became crossed (bid > ask)
 *   +28 lockedEvents   i32   times it became locked (bid = ask)
 * ```
 *
 * Who writes: the stage instance that owns the symbol — one thread per symbol (a partitioned stage
 * routes each symbol to one instance; a restarted instance carries on from the counts in the table).
 * How: `Atomics.store` of each word it changes, on the events above (rare next to updates; nothing is
 * written for an update that changes no state). Readers `Atomics.load` each word. JS Atomics are
 * sequentially consistent; each word is a consistent value on its own, and the counts only grow, but
 * a read of the whole table is not one instant (a monitoring view, not a ledger: the conservation
 * figures are in the pipeline's ledger). The per-symbol counts are int32: a symbol would need 2^31
 * events to wrap one.
 */

/** First word of a status table. */
export const MAGIC = 0x7e1b0c12
export const VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const SYMBOLS_OFFSET = 8
/** Where symbol 0's words start. */
export const HEADER_BYTES = 16
/** Bytes per symbol. */
export const SYMBOL_BYTES = 32

// Word offsets within a symbol's 8 words.
export const STATE = 0
export const GAPS = 1
export const MISSING = 2
export const STALE_EVENTS = 3
export const SNAPSHOTS = 4
export const RESYNCS = 5
export const CROSSED_EVENTS = 6
export const LOCKED_EVENTS = 7
const SYMBOL_WORDS = SYMBOL_BYTES / 4
const HEADER_WORDS = HEADER_BYTES / 4

/** Sync states (bits 0–2 of `state`): no snapshot yet since the stage started. */
export const WAITING = 0
/** In sync: updates are applied. */
export const LIVE = 1
/** Out of sync (a gap, a refused update, …): updates are dropped until a snapshot. */
export const STALE = 2
/** A snapshot is being applied to a book that was out of sync (or waiting). */
export const RESYNCING = 3
/** A snapshot is being applied to a live book (a refresh). */
export const REFRESHING = 4
export const SYNC_MASK = 7
/** `state` bit: the last top of book published was locked (best bid = best ask). */
export const LOCKED_BIT = 8
/** `state` bit: the last top of book published was crossed (best bid > best ask). */
export const CROSSED_BIT = 16

export const byteLength = (symbols: number): number => HEADER_BYTES + SYMBOL_BYTES * symbols

/** A fresh, zeroed table for `symbols` symbols (every symbol WAITING). */
export const makeTable = (symbols: number): SharedArrayBuffer => {
  if (!(Number.isInteger(symbols) && symbols >= 1 && symbols <= 1 << 24)) {
    throw new RangeError(`symbols must be an integer in 1..${1 << 24}: symbols=${symbols}`)
  }
  const buffer = new SharedArrayBuffer(byteLength(symbols))
  const words = new Int32Array(buffer)
  words[MAGIC_OFFSET >> 2] = MAGIC
  words[VERSION_OFFSET >> 2] = VERSION
  words[SYMBOLS_OFFSET >> 2] = symbols
  return buffer
}

/** The symbol count of a status table, or -1 when `u` is not one. */
export const tableSymbols = (u: unknown): number => {
  if (!(u instanceof SharedArrayBuffer) || u.byteLength < HEADER_BYTES) return -1
  const words = new Int32Array(u, 0, HEADER_WORDS)
  if (words[MAGIC_OFFSET >> 2] !== MAGIC || words[VERSION_OFFSET >> 2] !== VERSION) return -1
  const symbols = words[SYMBOLS_OFFSET >> 2]!
  return u.byteLength === byteLength(symbols) ? symbols : -1
}

/** Word index of `field` of `symbol`. */
export const wordOf = (symbol: number, field: number): number => HEADER_WORDS + symbol * SYMBOL_WORDS + field

/** The writer's side: one thread per symbol; every change one `Atomics.store`. */
export class StatusWriter {
  private readonly words: Int32Array

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer)
  }

  /** Sets the sync state (keeping the locked / crossed bits). */
  setSync(symbol: number, sync: number): void {
    const i = wordOf(symbol, STATE)
    // publish: the symbol's new sync state.
    Atomics.store(this.words, i, (Atomics.load(this.words, i) & ~SYNC_MASK) | sync)
  }

  /** Sets the locked / crossed bits (`bits` ⊆ LOCKED_BIT | CROSSED_BIT). */
  setTop(symbol: number, bits: number): void {
    const i = wordOf(symbol, STATE)
    // publish: whether the symbol's published top of book is locked or crossed.
    Atomics.store(this.words, i, (Atomics.load(this.words, i) & SYNC_MASK) | bits)
  }

  /** Adds `n` to a count, saturating at 2^31 − 1. */
  add(symbol: number, field: number, n: number): void {
    const i = wordOf(symbol, field)
    const next = Atomics.load(this.words, i) + n
    // publish: the count (one writer per symbol, so load + store is not a race).
    Atomics.store(this.words, i, next > 0x7fffffff ? 0x7fffffff : next)
  }
}
