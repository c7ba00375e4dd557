/**
 * The quote throttle: per symbol, passes a quote when its mid moved by at least a relative threshold
 * (default 0.001 %) since the last quote it passed, or when `maxIntervalMs` (default 1 s) of exchange
 * time went by since then, so a quiet symbol is never left stale; the first quote of each symbol
 * passes. The others are dropped, counted as `Throttled`, per symbol and in total.
 *
 *   Quote ─▶ throttle ─▶ Quote (the quotes that passed, unchanged)
 *                ├─▶ dropped: Throttled
 *                ├─▶ dead letters: UnknownSymbol (id ≥ symbols) | InvalidPrice (bid or ask not > 0 and finite)
 *                └─▶ ThrottleStats table (optional): passed and throttled per symbol
 *
 * Every quote is passed (emitted), throttled (dropped) or refused (dead-lettered), so the stage's
 * ledger line is the feed's: `in = passed + throttled + refused`. The rule works on the quotes' own
 * exchange time (`exchangeTsNs`), so the same quotes always throttle the same way, in any placement
 * and in a replay. State: two f64 per symbol (the last passed mid and its time); a restart starts
 * afresh, passing each symbol's next quote.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { QuoteGenerator, Symbols, Throttle, ThrottleStats } from "@velox/market"
 *
 * const symbols = Symbols.make(64, ["EURUSD", "GBPUSD", "AAPL"])
 * const stats = ThrottleStats.make(64)
 * const pipeline = Pipeline.from(QuoteGenerator, { symbols, rate: 100_000 })
 *   .via(Throttle, { symbols: 64, thresholdPercent: 0.001, maxIntervalMs: 1_000, stats })
 * // .to(a Quote sink)
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import * as T from "./internal/kernel/counterTable.ts"
import { MAX_CAPACITY } from "./internal/kernel/symbolTable.ts"
import * as K from "./internal/kernel/throttle.ts"
import * as Q from "./internal/quoteWords.ts"
import { Quote } from "./Quote.ts"
import * as ThrottleStats from "./ThrottleStats.ts"

const Stats = Schema.declare((u): u is SharedArrayBuffer => ThrottleStats.isStats(u), {
  expected: "a statistics table from ThrottleStats.make(symbols)"
})

/**
 * The default relative move that passes a quote: 0.001 %.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_THRESHOLD_PERCENT = 0.001

/**
 * The default longest time a symbol's quotes are throttled: 1 s of exchange time.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_MAX_INTERVAL_MS = 1_000

/**
 * `symbols` (ids `0 .. symbols - 1`; the symbol table's capacity), `thresholdPercent` (default
 * 0.001), `maxIntervalMs` (default 1000), `stats` (a table from `ThrottleStats.make` with at least
 * `symbols` rows).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  symbols: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_CAPACITY })),
  thresholdPercent: Schema.optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 100 }))),
  maxIntervalMs: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0))),
  stats: Schema.optional(Stats)
}).check(
  Schema.makeFilter((c) => {
    if (c.stats === undefined) return undefined
    const held = ThrottleStats.symbolsOf(c.stats)
    return held >= c.symbols ? undefined : `stats holds ${held} symbols, fewer than symbols=${c.symbols}`
  })
)

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * Drop reasons by code: `Throttled` (0).
 *
 * @category errors
 * @since 0.1.0
 */
export const dropReasons = ["Throttled"] as const

/**
 * Error tags by code: `UnknownSymbol` (0), `InvalidPrice` (1).
 *
 * @category errors
 * @since 0.1.0
 */
export const errors = ["UnknownSymbol", "InvalidPrice"] as const

const THROTTLED = 0
const UNKNOWN_SYMBOL = 0
const INVALID_PRICE = 1

/**
 * The stage's logic for a decoded config (what the stage runs; tests and benchmarks drive it).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLogic = (config: Config): Stage.StageLogic<typeof Quote.spec, typeof Quote.spec> => {
  const throttle = new K.QuoteThrottle({
    symbols: config.symbols,
    threshold: (config.thresholdPercent ?? DEFAULT_THRESHOLD_PERCENT) / 100,
    maxIntervalNs: (config.maxIntervalMs ?? DEFAULT_MAX_INTERVAL_MS) * 1e6
  })
  // Without a table, counts go to a private one: one code path.
  const counts = T.countsOf(config.stats ?? ThrottleStats.make(config.symbols))
  const passedAt = T.indexOf(K.COLUMNS, 0, K.PASSED_COLUMN)
  const throttledAt = T.indexOf(K.COLUMNS, 0, K.THROTTLED_COLUMN)
  // Quotes throttled by the last passRun.
  let runThrottled = 0
  /** Throttles quotes `from ..` up to `end` or the first refused one (its index returned). */
  const passRun = (w: Float64Array, u: Int32Array, from: number, end: number, out: Stage.Emitter<typeof Quote.spec>): number => {
    // Fields read and records copied straight from the record words (see quoteWords.ts); the
    // offsets and the throttle's state in locals, loaded once a run rather than once a quote.
    const stride = Q.STRIDE
    const symbolAt = Q.SYMBOL
    const bidAt = Q.BID
    const askAt = Q.ASK
    const tsAt = Q.EXCHANGE_TS
    const columns = K.COLUMNS
    const { lastMid, lastNs, maxIntervalNs, symbols, threshold } = throttle
    const to = out.view.words64
    let throttled = 0
    let i = from
    for (let at = from * stride; i < end; i++, at += stride) {
      const symbol = u[2 * at + symbolAt]! >>> 0
      const bid = w[at + bidAt]!
      const ask = w[at + askAt]!
      if (!(symbol < symbols && K.validPrices(bid, ask))) break
      if (K.passes(lastMid, lastNs, threshold, maxIntervalNs, symbol, (bid + ask) * 0.5, w[at + tsAt]!)) {
        counts[passedAt + symbol * columns]! += 1
        Q.copyQuote(to, out.emit() * stride, w, at)
      } else {
        counts[throttledAt + symbol * columns]! += 1
        throttled++
      }
    }
    runThrottled = throttled
    return i
  }
  return {
    onBatch(input, start, count, out) {
      const end = start + count
      let throttled = 0
      // The loop stops at a refused quote, dead-lettered here: no call in it but the emitter's.
      for (let i = start; i < end; i++) {
        i = passRun(input.words64, input.words, i, end, out)
        throttled += runThrottled
        if (i < end) {
          const symbol = input.words[i * Q.STRIDE32 + Q.SYMBOL]! >>> 0
          out.deadLetter(symbol < throttle.symbols ? INVALID_PRICE : UNKNOWN_SYMBOL, input, i)
        }
      }
      if (throttled !== 0) out.drop(THROTTLED, throttled)
    }
  }
}

/**
 * The throttle stage (name `throttle`): `Quote` in, the quotes that pass out, with its `defaults` at
 * hand (`Throttle.defaults.thresholdPercent`). See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const Throttle = Object.assign(
  Stage.make({
    name: "throttle",
    module: import.meta.url,
    input: Quote,
    output: Quote,
    config: Config,
    dropReasons,
    errors,
    make: makeLogic
  }),
  { defaults: { thresholdPercent: DEFAULT_THRESHOLD_PERCENT, maxIntervalMs: DEFAULT_MAX_INTERVAL_MS } }
)
