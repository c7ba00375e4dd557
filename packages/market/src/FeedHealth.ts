/**
 * The feed-health stage: watches the quotes go by — per symbol, when it last quoted and its silences;
 * for the feed, whether anything arrives at all — and passes every quote on unchanged. It writes a
 * {@link FeedStatus} table that any thread reads (`/ready`: 503 "feed stale").
 *
 *   Quote ─▶ feed-health ─▶ Quote (every quote, unchanged)
 *                 └─▶ FeedStatus table (shared memory): last seen per symbol, gaps, feed stale
 *
 * Put it first, before anything that drops quotes (the throttle), so that it sees the whole feed.
 * Arrival times are the wall clock when the stage handles the quote's batch (not the quote's own
 * timestamps: a replay of old quotes is a live feed now). Every 250 ms its timer counts the silences
 * that passed their threshold, each once. It emits every quote (`in = emitted`), keeps no records,
 * and a restarted stage carries on from the table.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { FeedHealth, FeedStatus, QuoteGenerator, Symbols, Throttle } from "@velox/market"
 *
 * const symbols = Symbols.make(8, ["EURUSD"])
 * const status = FeedStatus.make({ symbols: 8, feedGapMs: 5_000, symbolGapMs: 30_000 })
 * const pipeline = Pipeline.from(QuoteGenerator, { symbols, rate: 1_000 })
 *   .via(FeedHealth, { status })
 *   .via(Throttle, { symbols: 8 })
 * // .to(…)
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import * as FeedStatus from "./FeedStatus.ts"
import * as K from "./internal/kernel/feedHealth.ts"
import { Quote } from "./Quote.ts"

/**
 * `status`: a table from `FeedStatus.make` (it holds the thresholds).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  status: Schema.declare((u): u is SharedArrayBuffer => FeedStatus.isStatus(u), { expected: "a feed-health table from FeedStatus.make" })
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/** How often the timer looks for silences. */
const TIMER_PERIOD_NS = 250e6

/**
 * The stage's logic for a decoded config; `wallClockNs` is the clock it reads (a test's, or the wall).
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLogic = (config: Config, wallClockNs: () => number = K.wallClockNs): Stage.StageLogic<typeof Quote.spec, typeof Quote.spec> => {
  const monitor = new K.FeedMonitor(config.status, wallClockNs())
  return {
    onBatch(input, start, count, out) {
      // One clock reading per batch: the quotes of a batch arrived together.
      const now = wallClockNs()
      const symbolIn = input.fields.symbol
      const end = start + count
      for (let i = start; i < end; i++) monitor.seen(symbolIn.get(i), now)
      out.forward(input, start, count)
    },
    onTimer() {
      monitor.check(wallClockNs())
    }
  }
}

/**
 * The feed-health stage (name `feed-health`). See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const FeedHealth = Stage.make({
  name: "feed-health",
  module: import.meta.url,
  input: Quote,
  output: Quote,
  config: Config,
  timerPeriodNs: TIMER_PERIOD_NS,
  make: (config) => makeLogic(config)
})
