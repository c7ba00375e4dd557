import { describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import type { RecordLayout, Stage } from "@velox/core"
import { StageContract } from "@velox/core/testing"
import { BarStats, BarStore, Bars, FeedHealth, FeedStatus, Quote, Throttle, ThrottleStats, TickStore, TickStoreSink, TickStoreRelay } from "@velox/market"
import { NodeStageHost } from "@velox/node"
import { arbitraryQuoteStep, planQuotes } from "../fixtures/quoteSteps.ts"

const SYMBOLS = 4

/** Batches of planned quotes (walks, late ones, gaps, bad ones, unknown symbols) or of any records at all. */
const planned: Arbitrary.Arbitrary<StageContract.Batches<typeof Quote.Quote.spec>> = Arbitrary.map(
  Arbitrary.array(Arbitrary.array(arbitraryQuoteStep(SYMBOLS, [-5, 12]), { maxLength: 40 }), { maxLength: 8 }),
  (batches) => {
    const quotes = planQuotes(batches.flat(), { unitNs: 1e8, startNs: 1e12 })
    let at = 0
    return batches.map((b) => quotes.slice(at, (at += b.length)))
  }
)
const anything = StageContract.arbitraryBatches(StageContract.arbitraryRecords(Quote.Quote), { maxBatches: 6, maxBatchLength: 16 })
// Two runs in three planned, one of any records.
const inputs = Arbitrary.flatMap(Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 }))), (k) => (k < 2 ? planned : anything))

const check = <O extends RecordLayout.FieldSpec, C>(
  definition: Stage.StageDefinition<typeof Quote.Quote.spec, O, C>,
  config: C,
  placementConfig?: C
) =>
  StageContract.check(definition, {
    config,
    inputs,
    runs: 100,
    placementRuns: 2,
    ...(placementConfig === undefined ? {} : { placementConfig })
  }).pipe(Effect.provide(NodeStageHost.layer))

describe("the market-data stages keep the stage contract", () => {
  it.live("Throttle", () => check(Throttle, { symbols: SYMBOLS, stats: ThrottleStats.make(SYMBOLS), maxIntervalMs: 500 }))

  it.live("TickStoreSink", () => check(TickStoreSink, { store: TickStore.make({ symbols: SYMBOLS, depth: 16 }) }))

  it.live("TickStoreRelay", () => check(TickStoreRelay, { store: TickStore.make({ symbols: SYMBOLS, depth: 16 }) }))

  it.live("FeedHealth", () => check(FeedHealth, { status: FeedStatus.make({ symbols: SYMBOLS, feedGapMs: 1, symbolGapMs: 1 }) }))

  it.live("Bars (timers in-process; closing by ticks only where timers run on the real clock)", () => {
    const timeframesMs = [1_000, 2_000, 60_000]
    const config = {
      symbols: SYMBOLS,
      timeframesMs,
      lateToleranceMs: 300,
      gaps: "flat" as const,
      store: BarStore.make({ symbols: SYMBOLS, timeframesMs, depth: 64 }),
      stats: BarStats.make(SYMBOLS, timeframesMs)
    }
    return check(Bars, config, { ...config, timerClose: false })
  })
})
