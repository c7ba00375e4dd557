import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import type { Quote } from "@velox/market"
import { tickJson, tickText } from "../../packages/examples/src/tickServerHttp.ts"

/**
 * The tick encoding `/ticks` and `/ws` send: written as one string, it must be the bytes
 * `JSON.stringify` writes for the tick's object (the API's documented shape), for any field values.
 */

// Any double: ordinary values, the ones JSON cannot hold (NaN, ±Infinity, written as null), −0, and
// exchange times outside what a Date holds (time null).
const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 1.08446, 187.405, 1.8e18, 8.64e24, -1, 2 ** 53]
const field = Arbitrary.schema(Schema.Union([
  Schema.Finite,
  Schema.Int,
  Schema.Int.check(Schema.isBetween({ minimum: -SPECIAL.length, maximum: -1 }))
])).pipe(Arbitrary.map((x) => (Number.isInteger(x) && x < 0 && x >= -SPECIAL.length ? SPECIAL[-x - 1]! : x)))

describe("tickText", () => {
  it.prop(
    "is JSON.stringify of tickJson, for /ticks' and /ws' prefixes and any field values",
    {
      name: Arbitrary.schema(Schema.Literals(["EURUSD", "BRK.B", "a\"b\\c", "ünï"])),
      fields: Arbitrary.array(field, { minLength: 11, maxLength: 11 })
    },
    ({ fields, name }) => {
      const [symbol, bid, ask, bidSize, askSize, last, lastSize, exchangeTsNs, receiveTsNs, epoch, seq] = fields as [number, ...Array<number>]
      const q = { symbol, bid, ask, bidSize, askSize, last, lastSize, exchangeTsNs, receiveTsNs, epoch, seq } as Quote.Record
      const expected = JSON.stringify(tickJson(name, q))
      assert.strictEqual(tickText(`{"symbol":${JSON.stringify(name)}`, q), expected)
      assert.strictEqual(tickText(`{"type":"tick","symbol":${JSON.stringify(name)}`, q), JSON.stringify({ type: "tick", ...tickJson(name, q) }))
    }
  )
})
