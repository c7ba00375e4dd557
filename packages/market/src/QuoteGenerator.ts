/**
 * A built-in quote feed: `instruments` symbols (default 8) quoting at `rate` quotes per second in
 * total (Poisson arrivals), their bids and asks random walks at realistic prices — `EURUSD` near
 * 1.085 with 5 decimals, `USDJPY` with 3, equities (`AAPL`, `MSFT`, …) in cents, equities reporting
 * trades. For demos, tests and benchmarks; a real feed (MQTT, …) replaces it with the same `Quote`
 * records.
 *
 *   QuoteGenerator ─▶ Quote (symbol ids from the Symbols table, exchange and receive time on the wall clock)
 *
 * Symbols: the generator registers its instruments' names in the `symbols` table (the program usually
 * registers them first, with {@link instrumentNames}, so HTTP queries know them before the first
 * quote); a table too small fails the start. Times: paced (the default), each quote is emitted when
 * its time comes, `exchangeTsNs` its due time on the wall clock (ns since the Unix epoch) and
 * `receiveTsNs` 50–250 µs later; `unthrottled`, as fast as the pipeline takes them, on a timeline that
 * starts at `startNs` (default: the wall clock at the first poll) and advances 1/`rate` s per quote on
 * average. `seq` counts from 1; `epoch` is the config's (default 1). `count` ends the feed after that
 * many quotes.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { QuoteGenerator, Symbols } from "@velox/market"
 *
 * const symbols = Symbols.make(64, QuoteGenerator.instrumentNames(8)) // EURUSD, AAPL, GBPUSD, MSFT, …
 * const feed = Pipeline.from(QuoteGenerator, { symbols, instruments: 8, rate: 10_000 })
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import { wallClockNs } from "./internal/kernel/feedHealth.ts"
import { instruments as instrumentList, QuoteWalk } from "./internal/kernel/quoteWalk.ts"
import { FULL, SymbolTable } from "./internal/kernel/symbolTable.ts"
import { Quote } from "./Quote.ts"
import * as Symbols from "./Symbols.ts"

/**
 * Instruments unless told otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_INSTRUMENTS = 8

/**
 * Quotes per second unless told otherwise.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_RATE = 1_000

/**
 * The names of the first `n` instruments: `EURUSD`, `AAPL`, `GBPUSD`, `MSFT`, `USDJPY`, `NVDA`,
 * `AUDUSD`, `TSLA`, … (20 built in), then `SYM0021`, `SYM0022`, ….
 *
 * @category models
 * @since 0.1.0
 */
export const instrumentNames = (n: number = DEFAULT_INSTRUMENTS, seed = 1): Array<string> => instrumentList(n, seed).map((i) => i.name)

/**
 * `symbols` (the table), `instruments` (default 8), `rate` (quotes/s, default 1000), `seed`
 * (default 1), `epoch` (default 1), `count` (default unbounded), `unthrottled` and `startNs`.
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  symbols: Symbols.Table,
  instruments: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000 }))),
  rate: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0))),
  seed: Schema.optional(Schema.Int),
  epoch: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 0xffffffff }))),
  count: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  unthrottled: Schema.optional(Schema.Boolean),
  startNs: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * The source's logic for a config (tests drive it with their own `nowNs`); `wallClock` is the clock
 * that anchors paced quotes' times (default: the wall clock).
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config, wallClock: () => number = wallClockNs): Stage.SourceLogic<typeof Quote.spec> => {
  const seed = config.seed ?? 1
  const list = instrumentList(config.instruments ?? DEFAULT_INSTRUMENTS, seed)
  const table = new SymbolTable(config.symbols)
  const ids = Uint32Array.from(list, (instrument) => {
    const id = table.register(instrument.name)
    if (id === FULL) {
      throw new RangeError(`the symbol table holds ${table.capacity} names: it has no room for ${instrument.name} (generating ${list.length} instruments)`)
    }
    return id
  })
  const walk = new QuoteWalk(list, seed)
  const rate = config.rate ?? DEFAULT_RATE
  const meanGapNs = 1e9 / rate
  const count = config.count ?? Infinity
  const unthrottled = config.unthrottled ?? false
  const epoch = config.epoch ?? 1
  let generated = 0
  // The timeline: offsets (ns) from its start; the next quote's offset, drawn ahead.
  let offsetNs = 0
  let startPipelineNs = NaN
  let startWallNs = NaN
  return {
    onPoll(nowNs, max, out) {
      if (generated >= count) return Stage.SOURCE_EXHAUSTED
      if (startPipelineNs !== startPipelineNs) {
        startPipelineNs = nowNs
        startWallNs = config.startNs ?? wallClock()
      }
      const n = count - generated < max ? count - generated : max
      const f = out.view.fields
      let i = 0
      for (; i < n; i++) {
        if (!unthrottled && startPipelineNs + offsetNs > nowNs) break
        walk.next()
        const exchangeNs = startWallNs + offsetNs
        const slot = out.emit()
        f.seq.set(slot, generated + i + 1)
        f.exchangeTsNs.set(slot, exchangeNs)
        f.receiveTsNs.set(slot, exchangeNs + 50_000 + walk.nextOpenUnit() * 200_000)
        f.bid.set(slot, walk.bid)
        f.ask.set(slot, walk.ask)
        f.bidSize.set(slot, walk.bidSize)
        f.askSize.set(slot, walk.askSize)
        f.last.set(slot, walk.last)
        f.lastSize.set(slot, walk.lastSize)
        f.symbol.set(slot, ids[walk.index]!)
        f.epoch.set(slot, epoch)
        // Poisson arrivals: exponential gaps with mean 1/rate, rounded to whole ns.
        offsetNs += Math.round(-Math.log(walk.nextOpenUnit()) * meanGapNs)
      }
      generated += i
      return i
    },
    // Paced: the loop sleeps until the next quote is due (before the first poll: poll now).
    ...(unthrottled ? {} : {
      nextWakeNs: () => (generated >= count || startPipelineNs !== startPipelineNs ? -Infinity : startPipelineNs + offsetNs)
    })
  }
}

/**
 * The quote generator source (name `quote-generator`), with {@link instrumentNames} at hand
 * (`QuoteGenerator.instrumentNames(8)`). See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const QuoteGenerator = Object.assign(
  Stage.source({
    name: "quote-generator",
    module: import.meta.url,
    output: Quote,
    config: Config,
    make: (config) => makeLogic(config)
  }),
  { instrumentNames }
)
