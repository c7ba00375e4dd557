/**
 * The L2 replay's monitoring stages and the table they fill, for `velox-l2-replay` (`l2Replay.ts`):
 *
 *   journal ─▶ replay-clock ═▶ l2-book × W (partitioned by symbol) ═▶ l2-monitor
 *              │                                                      │
 *              └ updates per symbol, feed gaps > 1 s                  └ Bbo per symbol, latency, output gaps > 1 s
 *
 * - `replay-clock` (fused with the journal source) passes every `L2Update` on, with `exchangeTsNs`
 *   moved onto the pipeline clock: at `speed`, the instant the source released it (`epoch + t / speed`,
 *   the epoch taken at the first record, as the source takes its own); as fast as possible, the
 *   instant it read it. So `now − exchangeTsNs` downstream is the pipeline's own latency, from the
 *   update's (replayed) exchange time to its top of book out. It counts updates per symbol, and gaps of
 *   more than a second between consecutive updates in the journal's exchange time (a feed that went
 *   quiet).
 * - `l2-monitor` (a sink of `Bbo`) records `now − exchangeTsNs` in an `OutputLatency` histogram (its
 *   `closing` half), counts top-of-book records per symbol, and gaps of more than a second between
 *   arrivals on the pipeline clock (what a consumer of the tops saw go quiet).
 *
 * The table (a `SharedArrayBuffer`, any thread reads it):
 *
 * ```
 *  byte   0 ┌──────────────────────┬──────────────────────┐
 *           │ magic   i32          │ version i32 (1)      │  make(), plain, once (magic 0x7E1B2E01)
 *  byte   8 ├──────────────────────┼──────────────────────┤
 *           │ symbols i32          │ reserved i32         │  make(), plain, once
 *  byte  16 ├──────────────────────┴──────────────────────┤
 *           │ padding to 64: the header apart from counts │
 *  byte  64 ├─────────────────────────────────────────────┤
 *           │ updates f64 · feedGaps f64 · longest f64 ns │  replay-clock's thread, plain
 *  byte 128 ├─────────────────────────────────────────────┤  (its own cache line)
 *           │ tops f64 · outputGaps f64 · longest f64 ns  │  l2-monitor's thread, plain
 *  byte 192 ├─────────────────────────────────────────────┤
 *           │ updates per symbol: f64 × symbols           │  replay-clock's thread, plain
 *           ├─────────────────────────────────────────────┤  (at 192 + 8 × symbols, up to a multiple of 64)
 *           │ tops per symbol:    f64 × symbols           │  l2-monitor's thread, plain
 *           └─────────────────────────────────────────────┘
 * ```
 *
 * One writer per word, plain f64 stores (a count per update must cost nothing); readers on other
 * threads see each count as of a recent instant, exact once the writer's loop has ended (after the
 * drain). A monitoring view, not a ledger: the ledger reconciles.
 */
import { Schema } from "effect"
import { RecordLayout, Stage } from "@velox/core"
import { Bbo, L2Update, OutputLatency } from "@velox/market"

export const MAGIC = 0x7e1b2e01
export const VERSION = 1
const HEADER_WORDS = 4 // i32 words: magic, version, symbols, reserved
/** f64 index of the feed's counts (byte 64) and of the output's (byte 128). */
const FEED = 8
const OUTPUT = 16
const UPDATES = 0
const GAPS = 1
const LONGEST_GAP_NS = 2
/** f64 index of the per-symbol update counts (byte 192). */
const PER_SYMBOL = 24

/** A gap longer than this (ns) is counted: seed 003's "no data gaps > 1 second". */
export const GAP_NS = 1e9

const topsIndex = (symbols: number): number => PER_SYMBOL + Math.ceil(symbols / 8) * 8

/** A fresh table for symbols `0 .. symbols − 1`. */
export const make = (symbols: number): SharedArrayBuffer => {
  if (!(Number.isInteger(symbols) && symbols >= 1 && symbols <= 1 << 24)) {
    throw new RangeError(`symbols must be an integer in 1..${1 << 24}: symbols=${symbols}`)
  }
  const buffer = new SharedArrayBuffer((topsIndex(symbols) + symbols) * 8)
  const words = new Int32Array(buffer, 0, HEADER_WORDS)
  words[0] = MAGIC
  words[1] = VERSION
  words[2] = symbols
  return buffer
}

/** The table's symbol count, or -1 when `u` is not a monitor table. */
export const symbolsOf = (u: unknown): number => {
  if (!(u instanceof SharedArrayBuffer) || u.byteLength < PER_SYMBOL * 8) return -1
  const words = new Int32Array(u, 0, HEADER_WORDS)
  const symbols = words[2]!
  return words[0] === MAGIC && words[1] === VERSION && u.byteLength === (topsIndex(symbols) + symbols) * 8 ? symbols : -1
}

const Table = Schema.declare((u): u is SharedArrayBuffer => symbolsOf(u) >= 1, {
  expected: "a monitor table from l2ReplayMonitor.make(symbols)"
})
const Latency = Schema.declare((u): u is SharedArrayBuffer => OutputLatency.isLatency(u), {
  expected: "a latency buffer from OutputLatency.make()"
})

/** Counts read from a table (see the module comment for how recent they are). */
export interface Reading {
  readonly symbols: number
  readonly updates: number
  readonly feedGaps: number
  readonly longestFeedGapNs: number
  readonly tops: number
  readonly outputGaps: number
  readonly longestOutputGapNs: number
  /** Updates per symbol (a view on the table: read, do not keep). */
  readonly updatesBySymbol: Float64Array
  /** Top-of-book records per symbol (a view on the table). */
  readonly topsBySymbol: Float64Array
}

export const read = (table: SharedArrayBuffer): Reading => {
  const symbols = symbolsOf(table)
  if (symbols < 1) throw new TypeError("not an L2 replay monitor table (make one with make(symbols))")
  const f = new Float64Array(table)
  return {
    symbols,
    updates: f[FEED + UPDATES]!,
    feedGaps: f[FEED + GAPS]!,
    longestFeedGapNs: f[FEED + LONGEST_GAP_NS]!,
    tops: f[OUTPUT + UPDATES]!,
    outputGaps: f[OUTPUT + GAPS]!,
    longestOutputGapNs: f[OUTPUT + LONGEST_GAP_NS]!,
    updatesBySymbol: f.subarray(PER_SYMBOL, PER_SYMBOL + symbols),
    topsBySymbol: f.subarray(topsIndex(symbols), topsIndex(symbols) + symbols)
  }
}

/** `count` symbols with the most updates, most first (ties: lower symbol first). */
export const mostActive = (table: SharedArrayBuffer, count: number): Array<{ symbol: number; updates: number; tops: number }> => {
  const r = read(table)
  // A small sorted list beats sorting 10,000 counts for 10 of them.
  const top: Array<{ symbol: number; updates: number; tops: number }> = []
  for (let s = 0; s < r.symbols; s++) {
    const updates = r.updatesBySymbol[s]!
    if (updates === 0 || (top.length === count && updates <= top[count - 1]!.updates)) continue
    let at = top.length
    while (at > 0 && top[at - 1]!.updates < updates) at--
    top.splice(at, 0, { symbol: s, updates, tops: r.topsBySymbol[s]! })
    if (top.length > count) top.pop()
  }
  return top
}

/** Counts gaps longer than {@link GAP_NS} between successive times `t` (one writer). */
const gapCounter = (counts: Float64Array, base: number) => {
  let last = NaN
  return (t: number): void => {
    const gap = t - last
    if (gap > GAP_NS) {
      counts[base + GAPS]! += 1
      if (gap > counts[base + LONGEST_GAP_NS]!) counts[base + LONGEST_GAP_NS] = gap
    }
    if (!(t <= last)) last = t
  }
}

/**
 * `L2Update` in, the same out with `exchangeTsNs` on the pipeline clock (see the module comment);
 * counts per symbol and feed gaps into `monitor`. `speed`: the replay's, none when as fast as possible.
 */
export const ReplayClock = Stage.make({
  name: "replay-clock",
  module: import.meta.url,
  input: L2Update.L2Update,
  output: L2Update.L2Update,
  config: Schema.Struct({ monitor: Table, speed: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0))) }),
  make: ({ monitor, speed }, context) => {
    const counts = new Float64Array(monitor)
    const symbols = symbolsOf(monitor)
    const feedGap = gapCounter(counts, FEED)
    let epochNs = NaN
    return {
      onBatch(input, start, count, out) {
        const now = context.nowNs()
        const ts = input.fields.exchangeTsNs
        const symbol = input.fields.symbol
        const tsOut = out.view.fields.exchangeTsNs
        for (let i = start; i < start + count; i++) {
          const t = ts.get(i)
          const s = symbol.get(i)
          // An unknown symbol is the book's to refuse (dead-lettered there); nothing to count here.
          if (s < symbols) counts[PER_SYMBOL + s]! += 1
          feedGap(t)
          if (speed !== undefined && epochNs !== epochNs) epochNs = now - t / speed
          const slot = out.emit()
          RecordLayout.copyRecords(input, i, out.view, slot, 1)
          tsOut.set(slot, speed === undefined ? now : epochNs + t / speed)
        }
        counts[FEED + UPDATES]! += count
      }
    }
  }
})

/** A sink of `Bbo`: latency into `latency` (while recording), tops per symbol and output gaps into `monitor`. */
export const L2Monitor = Stage.sink({
  name: "l2-monitor",
  module: import.meta.url,
  input: Bbo.Bbo,
  config: Schema.Struct({ monitor: Table, latency: Latency }),
  make: ({ latency, monitor }, context) => {
    const counts = new Float64Array(monitor)
    const symbols = symbolsOf(monitor)
    const topsAt = topsIndex(symbols)
    const recorder = new OutputLatency.Recorder(latency)
    const outputGap = gapCounter(counts, OUTPUT)
    return {
      onBatch(input, start, count, out) {
        const now = context.nowNs()
        outputGap(now)
        const recording = recorder.recording()
        const ts = input.fields.exchangeTsNs
        const symbol = input.fields.symbol
        for (let i = start; i < start + count; i++) {
          const s = symbol.get(i)
          if (s < symbols) counts[topsAt + s]! += 1
          if (recording) recorder.record(OutputLatency.CLOSING, now - ts.get(i))
        }
        counts[OUTPUT + UPDATES]! += count
        out.account(count)
      }
    }
  }
})
