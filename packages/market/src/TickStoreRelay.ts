/**
 * The tick store as a step of a chain: it appends every quote to its symbol's ring in a
 * {@link TickStore}, as {@link TickStoreSink} does, and passes the quote on unchanged, in order.
 *
 *   Quote ─▶ tick-store ─▶ Quote (every stored quote) ─▶ the next stage (bars, a journal, …)
 *                 ├─▶ TickStore (shared memory: any thread reads it)
 *                 └─▶ dead letters: UnknownSymbol (id ≥ the store's symbols), not passed on
 *
 * Why a relay beside the sink: consecutive stages fuse into one loop (one thread), but a tee starts a
 * loop of its own for each branch. `throttle → TickStoreRelay → Bars` runs in the throttle's loop, where
 * `throttle` teed to `TickStoreSink` and `Bars` takes three threads, two rings and a wake-up of each
 * branch per batch. On a machine with few cores, the threads saved are a core left for the rest (the
 * tick server: HTTP answers while ingesting, README "Market data and the tick server").
 *
 * Each quote is stored and passed on, or refused, so the ledger line is `in = emitted + refused`, and
 * `emitted` counts the ticks stored. Its stage name is `tick-store`, like the sink's, so ledgers and
 * reconciliations read the same with either. The store is the state, in shared memory, as for the sink.
 *
 * @example
 * ```ts
 * import { Pipeline, type Stage } from "@velox/core"
 * import { type Bar, BarStats, BarStore, Bars, QuoteGenerator, Symbols, Throttle, TickStore, TickStoreRelay } from "@velox/market"
 *
 * declare const barSink: Stage.StageDefinition<typeof Bar.Bar.spec, never, {}> // a journal, …
 * const symbols = Symbols.make(8, QuoteGenerator.instrumentNames(8))
 * const store = TickStore.make({ symbols: 8 })
 * const timeframesMs = [1_000, 60_000]
 * const pipeline = Pipeline.from(QuoteGenerator, { symbols, rate: 10_000 })
 *   .via(Throttle, { symbols: 8 })
 *   .via(TickStoreRelay, { store })
 *   .via(Bars, { symbols: 8, timeframesMs, store: BarStore.make({ symbols: 8, timeframesMs }), stats: BarStats.make(8, timeframesMs) })
 *   .to(barSink, {})
 * ```
 *
 * @since 0.1.0
 */
import { Stage } from "@velox/core"
import { storeLogic } from "./internal/storeQuotes.ts"
import { Quote } from "./Quote.ts"
import { Config, errors } from "./TickStoreSink.ts"

/**
 * The relay's logic for a decoded config (`store`: a store from `TickStore.make`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLogic = (config: Config): Stage.StageLogic<typeof Quote.spec, typeof Quote.spec> => storeLogic(config.store, true)

/**
 * The tick store relay (name `tick-store`, config and errors as {@link TickStoreSink}'s). See the
 * module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const TickStoreRelay = Stage.make({
  name: "tick-store",
  module: import.meta.url,
  input: Quote,
  output: Quote,
  config: Config,
  errors,
  make: makeLogic
})
