/**
 * A loop whose paced source has a record due every few µs takes them in batches: after a pass it lets
 * due records gather for `pacedBatchNs` (default 100 µs) and parks, instead of a pass for every record
 * or two, back to back (the fixed cost of a pass, not the records, then took most of a core).
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
  it.live("takes them in batches: tens of records a pass, not one or two", () =>
    Effect.gen(function*() {
      const { batches, count } = yield* run(undefined)
      // 100 µs of records at 1 M/s is ~100 a pass (more when a park overshoots); a loop that passes
      // whenever a record is due takes a few a pass (4-5 measured). A loaded machine only makes the
      // batches larger.
      assert.isAtMost(batches, count / 25, `${batches} passes for ${count} records`)
    }))

  // run() checks that every record arrives; the batches are as small as the loop is quick (~9
  // records a pass measured on a loaded 2-core machine, 4-5 on a quieter one).
  it.live("with pacedBatchNs 0 it polls as soon as a record is due, and takes every record", () => Effect.asVoid(run(0)))
})
