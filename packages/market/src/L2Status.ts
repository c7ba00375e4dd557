/**
 * Where each symbol's L2 book stands against its feed — waiting for a first snapshot, live, stale,
 * resyncing — and what happened to it: sequence gaps, stale spells, snapshots, resyncs, crossed and
 * locked books. A table in a `SharedArrayBuffer` that the {@link L2BookStage} writes (in its own thread,
 * only when one of these changes) and any thread reads: pass the buffer in the stage's config
 * (`status`), read it with {@link read} (totals) and {@link symbolsIn} / {@link symbol} (which
 * symbols, for a monitoring view).
 *
 * The layout (16-byte header, 32 bytes per symbol) is drawn in `internal/kernel/l2Status.ts`. Each
 * symbol is written by the one stage instance its updates are routed to, so the table works for a
 * partitioned stage too (one table for all instances). Each word is read atomically, and counts only
 * grow; a read of many symbols is not one instant. The conservation figures (updates read, applied,
 * dropped, refused) are the pipeline's ledger, not this table.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { L2BookStage, L2Status } from "@velox/market"
 *
 * const status = L2Status.make(10_000)
 * // … Pipeline.from(feed, …).via(L2BookStage, { symbols: 10_000, status }).to(…) … while it runs:
 * const now = L2Status.read(status) // { live: 9_987, stale: 11, resyncing: 2, gaps: 40, resyncs: 29, … }
 * const staleSymbols = L2Status.symbolsIn(status, "stale") // [17, 404, …]
 * ```
 *
 * @since 0.1.0
 */
import * as T from "./internal/kernel/l2Status.ts"

/**
 * A symbol's sync state: `waiting` (no snapshot since the stage started, none applied yet), `live`,
 * `stale` (out of sync: updates dropped until a snapshot), `resyncing` (a snapshot being applied to a
 * stale or waiting book), `refreshing` (a snapshot being applied to a live book).
 *
 * @category models
 * @since 0.1.0
 */
export type State = "waiting" | "live" | "stale" | "resyncing" | "refreshing"

const STATES: ReadonlyArray<State> = ["waiting", "live", "stale", "resyncing", "refreshing"]

/**
 * What happened to a symbol's book (or, summed, to all of them): counts that only grow.
 *
 * @category models
 * @since 0.1.0
 */
export interface Counts {
  readonly gaps: number
  /** Sequence numbers skipped by the gaps. */
  readonly missing: number
  /** Times the book went out of sync (gaps, refused updates, updates before a first snapshot, …). */
  readonly staleEvents: number
  readonly snapshots: number
  /** Snapshots that brought an out-of-sync book back. */
  readonly resyncs: number
  readonly crossedEvents: number
  readonly lockedEvents: number
}

/**
 * One symbol's row.
 *
 * @category models
 * @since 0.1.0
 */
export interface SymbolStatus extends Counts {
  readonly symbol: number
  readonly state: State
  /** The last top of book the stage published for it was locked / crossed. */
  readonly locked: boolean
  readonly crossed: boolean
}

/**
 * Totals over all symbols: how many are in each state (and locked / crossed now), and the sums of the
 * event counts.
 *
 * @category models
 * @since 0.1.0
 */
export interface Summary extends Counts {
  readonly symbols: number
  readonly waiting: number
  readonly live: number
  readonly stale: number
  readonly resyncing: number
  readonly refreshing: number
  readonly locked: number
  readonly crossed: number
}

/**
 * A fresh table for symbols `0 .. symbols - 1` (all `waiting`): `16 + 32 × symbols` bytes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (symbols: number): SharedArrayBuffer => T.makeTable(symbols)

/**
 * @category guards
 * @since 0.1.0
 */
export const isStatus = (u: unknown): u is SharedArrayBuffer => T.tableSymbols(u) >= 1

/** The table's symbol count; throws `TypeError` for a buffer that is not a status table. */
const symbolsOf = (buffer: SharedArrayBuffer): number => {
  const n = T.tableSymbols(buffer)
  if (n < 1) throw new TypeError("not an L2 status table (make one with L2Status.make)")
  return n
}

/**
 * One symbol's row. Throws `RangeError` for a symbol outside the table.
 *
 * @category metrics
 * @since 0.1.0
 */
export const symbol = (buffer: SharedArrayBuffer, s: number): SymbolStatus => {
  const symbols = symbolsOf(buffer)
  if (!(Number.isInteger(s) && s >= 0 && s < symbols)) {
    throw new RangeError(`symbol must be an index in 0..${symbols - 1}: symbol=${s}`)
  }
  const words = new Int32Array(buffer)
  // acquire: each word as its writer last stored it.
  const at = (field: number) => Atomics.load(words, T.wordOf(s, field))
  const state = at(T.STATE)
  return {
    symbol: s,
    state: STATES[state & T.SYNC_MASK] ?? "waiting",
    locked: (state & T.LOCKED_BIT) !== 0,
    crossed: (state & T.CROSSED_BIT) !== 0,
    gaps: at(T.GAPS),
    missing: at(T.MISSING),
    staleEvents: at(T.STALE_EVENTS),
    snapshots: at(T.SNAPSHOTS),
    resyncs: at(T.RESYNCS),
    crossedEvents: at(T.CROSSED_EVENTS),
    lockedEvents: at(T.LOCKED_EVENTS)
  }
}

/**
 * Totals over every symbol (one pass over the table: 10,000 symbols in well under a millisecond).
 *
 * @category metrics
 * @since 0.1.0
 */
export const read = (buffer: SharedArrayBuffer): Summary => {
  const symbols = symbolsOf(buffer)
  const words = new Int32Array(buffer)
  const inState = [0, 0, 0, 0, 0]
  let locked = 0
  let crossed = 0
  const sums = new Float64Array(8)
  for (let s = 0; s < symbols; s++) {
    // acquire: each word as its writer last stored it.
    const state = Atomics.load(words, T.wordOf(s, T.STATE))
    inState[state & T.SYNC_MASK]!++
    if ((state & T.LOCKED_BIT) !== 0) locked++
    if ((state & T.CROSSED_BIT) !== 0) crossed++
    for (let f = T.GAPS; f <= T.LOCKED_EVENTS; f++) sums[f]! += Atomics.load(words, T.wordOf(s, f))
  }
  return {
    symbols,
    waiting: inState[T.WAITING]!,
    live: inState[T.LIVE]!,
    stale: inState[T.STALE]!,
    resyncing: inState[T.RESYNCING]!,
    refreshing: inState[T.REFRESHING]!,
    locked,
    crossed,
    gaps: sums[T.GAPS]!,
    missing: sums[T.MISSING]!,
    staleEvents: sums[T.STALE_EVENTS]!,
    snapshots: sums[T.SNAPSHOTS]!,
    resyncs: sums[T.RESYNCS]!,
    crossedEvents: sums[T.CROSSED_EVENTS]!,
    lockedEvents: sums[T.LOCKED_EVENTS]!
  }
}

/**
 * The symbols now in `state` (ascending), at most `limit` of them (default: all).
 *
 * @category metrics
 * @since 0.1.0
 */
export const symbolsIn = (buffer: SharedArrayBuffer, state: State, limit = Infinity): Array<number> => {
  const symbols = symbolsOf(buffer)
  const words = new Int32Array(buffer)
  const wanted = STATES.indexOf(state)
  const out: Array<number> = []
  for (let s = 0; s < symbols && out.length < limit; s++) {
    // acquire: the symbol's state as its writer last stored it.
    if ((Atomics.load(words, T.wordOf(s, T.STATE)) & T.SYNC_MASK) === wanted) out.push(s)
  }
  return out
}
