/**
 * A loop whose paced source has a record due every µs, with `pacedBatchNs`, takes them in batches:
 * after a pass it lets due records gather that long and parks, instead of a pass for every few records,
 * back to back (the fixed cost of a pass, not the records, then took most of a core). By default (0) it
 * polls as soon as a record is due.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { QuoteGenerator, Symbols, TickStore, TickStoreSink } from "@velox/market"
import { NodeStageHost } from "@velox/node"

const run = (pacedBatchNs: number | undefined) =>
  Effect.gen(function*() {
    const count = 300_000
    const symbols = Symbols.make(4, QuoteGenerator.instrumentNames(4))
    const store = TickStore.make({ symbols: 4, depth: 1_024 })
    // 1 M quotes/s: one due every µs on average.
    const pipeline = Pipeline.from(QuoteGenerator, { symbols, instruments: 4, rate: 1_000_000, count }).to(TickStoreSink, { store })
    const report = yield* Pipeline.runToEnd(pipeline, pacedBatchNs === undefined ? {} : { idle: { pacedBatchNs } }).pipe(
      Effect.timeout("60 seconds")
    )
    assert.isTrue(report.ledger.balanced, Ledger.format(report.ledger))
    const [source, sink] = report.ledger.stages
    assert.strictEqual(source!.emitted, count)
    assert.strictEqual(sink!.emitted, count)
    return { count, batches: report.stats.stages[0]!.batches }
  }).pipe(Effect.provide(NodeStageHost.layer))

describe("a loop with a paced source of one record every few µs", () => {
  it.live("with pacedBatchNs 100 µs, takes them in batches: ~100 records a pass, not a few", () =>
    Effect.gen(function*() {
      const { batches, count } = yield* run(100_000)
      // 100 µs of records at 1 M/s is ~100 a pass (more when a park overshoots); a loop that passes
      // whenever a record is due takes a few a pass (4-5 measured). A loaded machine only makes the
      // batches larger.
      assert.isAtMost(batches, count / 25, `${batches} passes for ${count} records`)
    }))

  // run() checks that every record arrives; the batches are as small as the loop is quick (~9
  // records a pass measured on a loaded 2-core machine, 4-5 on a quieter one: it fails the bound above).
  it.live("by default it polls as soon as a record is due, and takes every record", () => Effect.asVoid(run(undefined)))
})
