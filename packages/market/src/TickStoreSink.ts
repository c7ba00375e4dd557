/**
 * The tick store's writer: a sink that appends every quote it receives to its symbol's ring in a
 * {@link TickStore} (made on the main thread, passed in the config, shared with the sink's thread).
 *
 *   Quote ─▶ tick-store ─▶ TickStore (shared memory: any thread reads it)
 *                 └─▶ dead letters: UnknownSymbol (id ≥ the store's symbols)
 *
 * Each quote is stored (accounted) or refused, so the ledger line is `in = stored + refused`. The
 * store itself is the state: it lives in shared memory, outside the stage, so a restarted sink carries
 * on where its predecessor stopped and loses nothing it had stored.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { QuoteGenerator, Symbols, Throttle, TickStore, TickStoreSink } from "@velox/market"
 *
 * const symbols = Symbols.make(8, ["EURUSD", "AAPL"])
 * const store = TickStore.make({ symbols: 8 })
 * const pipeline = Pipeline.from(QuoteGenerator, { symbols, rate: 10_000 })
 *   .via(Throttle, { symbols: 8 })
 *   .to(TickStoreSink, { store })
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import { storeLogic } from "./internal/storeQuotes.ts"
import { Quote } from "./Quote.ts"
import * as TickStore from "./TickStore.ts"

/**
 * `store`: a store from `TickStore.make`.
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  store: Schema.declare((u): u is SharedArrayBuffer => TickStore.isStore(u), { expected: "a tick store from TickStore.make" })
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * Error tags by code: `UnknownSymbol` (0).
 *
 * @category errors
 * @since 0.1.0
 */
export const errors = ["UnknownSymbol"] as const

/**
 * The sink's logic for a decoded config.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLogic = (config: Config): Stage.StageLogic<typeof Quote.spec, never> => storeLogic(config.store, false)

/**
 * The tick store sink (name `tick-store`). See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const TickStoreSink = Stage.sink({
  name: "tick-store",
  module: import.meta.url,
  input: Quote,
  config: Config,
  errors,
  make: makeLogic
})
