import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import type { Quote } from "@velox/market"
import { isoOf, tickJson, tickText } from "../../packages/examples/src/tickServerHttp.ts"

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

describe("isoOf", () => {
  // Times in ns: whole and fractional ms, in the four-digit years and beyond them, to past what a Date holds.
  const ns = Arbitrary.schema(Schema.Union([
    Schema.Int.check(Schema.isBetween({ minimum: -62_167_219_200_000, maximum: 253_402_300_799_999 })),
    Schema.Finite.check(Schema.isBetween({ minimum: -8.7e15, maximum: 8.7e15 })),
    Schema.Literals([0, -0, -1, -0.5, 0.5, -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000, 951_782_400_000, 8.64e15, -8.64e15])
  ])).pipe(Arbitrary.map((ms) => ms * 1e6))

  it.prop("writes what Date#toISOString writes (null past what a Date holds), without a Date", { ns }, ({ ns }) => {
    const ms = ns / 1e6
    assert.strictEqual(isoOf(ns), Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null, `ns=${ns}`)
  })

  it("writes the calendar's edges as Date does, and no time for what is not one", () => {
    // Leap days (2000 is a leap year, 1900 and 2100 are not), year ends, the epoch and before it.
    for (const text of ["2000-02-29T23:59:59.999Z", "2000-03-01T00:00:00.000Z", "1900-02-28T12:00:00.000Z", "1900-03-01T00:00:00.000Z",
      "2100-02-28T00:00:00.001Z", "1969-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
      "0004-02-29T00:00:00.000Z", "2026-11-30T09:10:11.123Z"]) {
      // (From ns: a time past 2^53 ns may come back a ms earlier, as a Date of the same ns does.)
      const ns = Date.parse(text) * 1e6
      assert.strictEqual(isoOf(ns), new Date(ns / 1e6).toISOString(), text)
    }
    assert.strictEqual(isoOf(NaN), null)
    assert.strictEqual(isoOf(Infinity), null)
  })
})
