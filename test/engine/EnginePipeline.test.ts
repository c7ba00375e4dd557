/**
 * The four engine stages as real pipelines, fused and across workers:
 *
 *   Ingress ──Transaction──▶ order-book ──BookUpdate──▶ bundler ──Bundle──▶ output ──▶ its counters
 *
 * Every count reconciles: transactions generated = applied + dead-lettered (the deliberately invalid
 * ones); bundles flushed by the bundler = bundles received by the output; transactions in bundles =
 * transactions the book applied; and the output's checksum equals a reference computed from the
 * generator alone (with no timeout, bundles are the applied ids cut into chunks of 16).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Bundler, Ingress, OrderBookStage, Output, OutputTotals, Transaction } from "@velox/market"
import { NodeStageHost } from "@velox/node"
import { makeLogic } from "../../packages/market/src/Ingress.ts"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"

const COUNT = 200_000
const SYMBOLS = 8
const INVALID = 0.01
const SIZE = 16

/** The ids the book will apply, in order (the generator replayed in-process), and the expected checksum. */
const reference = () => {
  const logic = makeLogic({ count: COUNT, symbols: SYMBOLS, invalidFraction: INVALID, unthrottled: true, seed: 1 })
  const out = new CaptureEmitter(Transaction.Transaction, 4096)
  const valid: Array<number> = []
  while (logic.onPoll(0, 4096, out) > 0) {
    for (const t of out.take()) if (Transaction.validateRecordUnsafe(t, SYMBOLS) === Transaction.OK) valid.push(t.id)
  }
  let checksum = 0
  let bundles = 0
  for (let i = 0; i < valid.length; i += SIZE) {
    const part = valid.slice(i, i + SIZE)
    checksum = OutputTotals.checksumOf(checksum, part[0]!, part[part.length - 1]!, part.length)
    bundles++
  }
  return { valid: valid.length, checksum, bundles }
}

const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

describe("The engine end to end", () => {
  const expected = reference()

  for (const placement of ["fused", "worker"] as const) {
    it.live(`${placement}: every transaction and bundle is accounted for, and the checksum matches the generator's`, () =>
      Effect.gen(function*() {
        const pipeline = Pipeline.from(Ingress, { count: COUNT, symbols: SYMBOLS, invalidFraction: INVALID, unthrottled: true, seed: 1 })
          .via(OrderBookStage, { symbols: SYMBOLS, windowTicks: 64 }, { placement })
          .via(Bundler, { maxSize: SIZE, timeoutNs: 1e15 }, { placement })
          .to(Output, {}, { placement })
        const { deadLetters, ledger, stats } = yield* Pipeline.runToEnd(pipeline, { ringCapacity: 4096 }).pipe(Effect.provide(NodeStageHost.layer))
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const book = stage(ledger, "order-book")
        const bundler = stage(ledger, "bundler")
        const output = stage(ledger, "output")
        const deadLettered = Object.values(book.deadLettered).reduce((a, b) => a + b, 0)
        // Generated = applied + dead-lettered: exactly the invalid ones refused, every valid one applied.
        assert.strictEqual(stage(ledger, "ingress").emitted, COUNT)
        assert.strictEqual(book.emitted, expected.valid)
        assert.strictEqual(deadLettered, COUNT - expected.valid)
        assert.isTrue(deadLetters.length > 0 && deadLetters.every((d) => d.stage === "order-book"))
        // Bundles flushed = bundles received; transactions in bundles = transactions processed.
        const c = OutputTotals.read(stats)
        assert.strictEqual(bundler.written, expected.bundles)
        assert.strictEqual(output.in, bundler.written)
        assert.strictEqual(c.bundles, bundler.written)
        assert.strictEqual(c.transactions, book.emitted)
        assert.strictEqual(c.sizeFlushes + c.timeoutFlushes + c.drainFlushes, c.bundles)
        assert.strictEqual(c.timeoutFlushes, 0)
        assert.strictEqual(c.drainFlushes, expected.valid % SIZE === 0 ? 0 : 1)
        assert.strictEqual(c.checksum, expected.checksum)
      }))
  }

  it.live("at a Poisson rate with the default 100 µs timeout: bundles close by size or timeout and still reconcile", () =>
    Effect.gen(function*() {
      // 200,000 a second fills 16 in 80 µs on average (size flushes); 4,000 a second leaves a bundle
      // open for 4 ms on average, far past its 100 µs (timeout flushes), however loaded the machine.
      for (const [count, rate, closedBy] of [[20_000, 200_000, "sizeFlushes"], [2_000, 4_000, "timeoutFlushes"]] as const) {
        const pipeline = Pipeline.from(Ingress, { count, rate, symbols: 4, seed: 2 })
          .via(OrderBookStage, { symbols: 4 })
          .via(Bundler, {})
          .to(Output, {})
        const { ledger, stats } = yield* Pipeline.runToEnd(pipeline).pipe(Effect.provide(NodeStageHost.layer))
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const c = OutputTotals.read(stats)
        assert.strictEqual(stage(ledger, "order-book").emitted, count)
        assert.strictEqual(c.transactions, count)
        assert.strictEqual(c.bundles, stage(ledger, "bundler").written)
        assert.strictEqual(c.sizeFlushes + c.timeoutFlushes + c.drainFlushes, c.bundles)
        assert.isAbove(c[closedBy], 0, `at ${rate}/s: ${JSON.stringify(c)}`)
        if (closedBy === "sizeFlushes") assert.isAtLeast(c.bundles, count / 16)
      }
    }))
})
