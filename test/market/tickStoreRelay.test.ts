import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { Quote, TickStore } from "@velox/market"
import { makeTickStoreLogic, makeTickStoreRelayLogic } from "@velox/market/unsafe"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"
import { feedBatches } from "../fixtures/feedBatches.ts"
import { arbitraryQuoteStep, planQuotes } from "../fixtures/quoteSteps.ts"

const SYMBOLS = 3
const DEPTH = 64
const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

/** Every symbol's readable ticks, newest first. */
const contents = (store: SharedArrayBuffer) =>
  Array.from({ length: SYMBOLS }, (_, s) => TickStore.snapshot(store, s, TickStore.readable(store)))

describe("TickStoreRelay: the tick store as a step of a chain", () => {
  it.prop(
    "stores what the sink stores, refuses what it refuses, and passes every stored quote on unchanged, in order",
    {
      // Symbols 0 .. SYMBOLS: the last one has no ring (UnknownSymbol).
      steps: Arbitrary.array(arbitraryQuoteStep(SYMBOLS, [0, 3]), { maxLength: 400 }),
      lengths: Arbitrary.array(int(1, 40), { minLength: 1, maxLength: 4 })
    },
    ({ lengths, steps }) => {
      const quotes = planQuotes(steps, { unitNs: 1e6, startNs: 1e12 })
      const sinkStore = TickStore.make({ symbols: SYMBOLS, depth: DEPTH })
      const relayStore = TickStore.make({ symbols: SYMBOLS, depth: DEPTH })
      const sinkOut = new CaptureEmitter(undefined)
      const relayOut = new CaptureEmitter(Quote.Quote)
      feedBatches(makeTickStoreLogic({ store: sinkStore }), Quote.Quote, quotes, lengths, sinkOut)
      feedBatches(makeTickStoreRelayLogic({ store: relayStore }), Quote.Quote, quotes, lengths, relayOut)

      const known = quotes.filter((q) => q.symbol < SYMBOLS)
      assert.deepStrictEqual(relayOut.take(), known)
      assert.strictEqual(relayOut.emitted, known.length)
      assert.strictEqual(sinkOut.delivered, known.length)
      assert.deepStrictEqual(relayOut.deadLetters, sinkOut.deadLetters)
      assert.deepStrictEqual(relayOut.deadLetters.map((d) => d.record.seq), quotes.filter((q) => q.symbol >= SYMBOLS).map((q) => q.seq))
      assert.isTrue(relayOut.deadLetters.every((d) => d.code === 0))
      assert.deepStrictEqual(contents(relayStore), contents(sinkStore))
      // And what the store holds is the newest of each symbol's quotes, newest first.
      for (let s = 0; s < SYMBOLS; s++) {
        const mine = known.filter((q) => q.symbol === s).reverse()
        assert.deepStrictEqual(contents(relayStore)[s], mine.slice(0, TickStore.readable(relayStore)))
      }
    }
  )
})
