import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { RecordLayout } from "@velox/core"
import { Quote, Symbols } from "@velox/market"
import * as C from "../src/internal/kernel/quoteCodec.ts"

const setup = (format: C.PayloadFormat = "auto", capacity = 16) => {
  const table = Symbols.make(capacity)
  const view = RecordLayout.view(Quote.Quote, new ArrayBuffer(Quote.Quote.byteLength), 0, 1)
  const decoder = new C.QuoteDecoder(Symbols.view(table), format)
  return { table, view, decoder }
}

const text = (s: string) => new TextEncoder().encode(s)

const full: C.QuoteMessage = {
  symbol: "EURUSD",
  seq: 42,
  exchangeTsNs: 1_764_432_000_123_456_789,
  bid: 1.08121,
  ask: 1.08125,
  bidSize: 1_000_000,
  askSize: 2_000_000,
  last: 1.08123,
  lastSize: 5
}

describe("quote payloads", () => {
  it("JSON: every field lands in the Quote, the symbol registered, receive time and epoch stamped", () => {
    const { decoder, table, view } = setup()
    assert.strictEqual(decoder.decode(text(C.encodeJson(full)), view, 0, 7e18, 3), C.OK)
    assert.deepStrictEqual(RecordLayout.readUnsafe(view, 0), {
      seq: 42,
      exchangeTsNs: 1_764_432_000_123_456_789,
      receiveTsNs: 7e18,
      bid: 1.08121,
      ask: 1.08125,
      bidSize: 1_000_000,
      askSize: 2_000_000,
      last: 1.08123,
      lastSize: 5,
      symbol: 0,
      epoch: 3
    })
    assert.strictEqual(Symbols.nameOf(table, 0), "EURUSD")
  })

  it("JSON: optional fields default to 0 and the exchange time to the receive time; unknown keys are ignored", () => {
    const { decoder, view } = setup()
    assert.strictEqual(decoder.decode(text(`{"symbol":"AAPL","bid":187.25,"ask":187.26,"venue":"X"}`), view, 0, 5e18, 1), C.OK)
    const q = RecordLayout.readUnsafe(view, 0)
    assert.deepStrictEqual([q.seq, q.exchangeTsNs, q.bidSize, q.askSize, q.last, q.lastSize], [0, 5e18, 0, 0, 0, 0])
  })

  it("JSON refusals name what was wrong", () => {
    const { decoder, view } = setup()
    const cases: ReadonlyArray<readonly [string, number, RegExp]> = [
      ["{not json", C.NOT_JSON, /^not JSON: /],
      ["[1,2]", C.NOT_AN_OBJECT, /expected an object, got an array/],
      ["42", C.NOT_AN_OBJECT, /expected an object, got 42/],
      [`{"bid":1,"ask":2}`, C.MISSING_FIELD, /missing field: symbol/],
      [`{"symbol":"X","ask":2}`, C.MISSING_FIELD, /missing field: bid/],
      [`{"symbol":7,"bid":1,"ask":2}`, C.BAD_FIELD, /symbol must be a string/],
      [`{"symbol":"X","bid":"1","ask":2}`, C.BAD_FIELD, /bid must be a finite number, got a string/],
      [`{"symbol":"X","bid":1,"ask":2,"seq":-1}`, C.BAD_FIELD, /seq must be a number ≥ 0, got -1/],
      [`{"symbol":"X","bid":1,"ask":2,"lastSize":null}`, C.BAD_FIELD, /lastSize must be a finite number, got null/]
    ]
    for (const [payload, code, detail] of cases) {
      assert.strictEqual(decoder.decode(text(payload), view, 0, 1, 1), code, payload)
      assert.match(decoder.detail, detail, payload)
    }
  })

  it("a name the symbol table refuses: SYMBOL_REFUSED with the table's code (full, or not a name)", () => {
    const { decoder, view } = setup("json", 1)
    assert.strictEqual(decoder.decode(text(`{"symbol":"A","bid":1,"ask":2}`), view, 0, 1, 1), C.OK)
    assert.strictEqual(decoder.decode(text(`{"symbol":"B","bid":1,"ask":2}`), view, 0, 1, 1), C.SYMBOL_REFUSED)
    assert.strictEqual(decoder.symbolCode, Symbols.FULL)
    assert.strictEqual(decoder.decode(text(`{"symbol":"has space","bid":1,"ask":2}`), view, 0, 1, 1), C.SYMBOL_REFUSED)
    assert.strictEqual(decoder.symbolCode, Symbols.INVALID_NAME)
  })

  it.prop(
    "binary: encode then decode gives back every field, for any finite numbers and any name",
    {
      name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._:/-]{1,40}$/)),
      numbers: Schema.Tuple([Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite]),
      seq: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 2 ** 52 })),
      ts: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 2 ** 62 }))
    },
    ({ name, numbers, seq, ts }) => {
      const { decoder, table, view } = setup("auto")
      const [bid, ask, bidSize, askSize, last, lastSize] = numbers
      const q = { symbol: name, seq, exchangeTsNs: ts, bid, ask, bidSize, askSize, last, lastSize }
      const bytes = C.encodeBinary(q)
      assert.strictEqual(bytes.length, C.binaryLength(new TextEncoder().encode(name).length))
      assert.strictEqual(decoder.decode(bytes, view, 0, 9, 2), C.OK, decoder.detail)
      const { epoch, receiveTsNs, symbol, ...rest } = RecordLayout.readUnsafe(view, 0)
      assert.deepStrictEqual(rest, { seq, exchangeTsNs: ts, bid, ask, bidSize, askSize, last, lastSize })
      assert.deepStrictEqual([epoch, receiveTsNs, Symbols.nameOf(table, symbol)], [2, 9, name])
    }
  )

  it("binary: a payload at an odd offset of a larger buffer decodes (mqtt.js hands out slices of a pool)", () => {
    const { decoder, view } = setup("binary")
    const pool = new Uint8Array(200)
    const n = C.encodeBinaryInto(full, pool, 13)
    assert.strictEqual(decoder.decode(pool.subarray(13, 13 + n), view, 0, 1, 1), C.OK, decoder.detail)
    assert.strictEqual(view.fields.bid.get(0), full.bid)
  })

  it("binary refusals: short, wrong length for its name, unknown version, not the magic, non-finite numbers", () => {
    const { decoder, view } = setup("binary")
    const good = C.encodeBinary(full)
    const version2 = good.slice()
    version2[1] = 2
    const nan = good.slice()
    new DataView(nan.buffer).setFloat64(20, NaN, true)
    const cases: ReadonlyArray<readonly [Uint8Array, number, RegExp]> = [
      [good.subarray(0, 30), C.BAD_LENGTH, /30 bytes: its header alone is 68/],
      [good.subarray(0, good.length - 1), C.BAD_LENGTH, /with a 6-byte name/],
      [version2, C.BAD_VERSION, /version 2/],
      [text(C.encodeJson(full)), C.BAD_MAGIC, /first byte 0x7b/],
      [nan, C.BAD_FIELD, /bid must be a finite number, got NaN/]
    ]
    for (const [payload, code, detail] of cases) {
      assert.strictEqual(decoder.decode(payload, view, 0, 1, 1), code)
      assert.match(decoder.detail, detail)
    }
  })

  it("auto: the magic byte picks binary, anything else JSON; an exchange time of 0 in binary is the receive time", () => {
    const { decoder, view } = setup("auto")
    assert.strictEqual(decoder.decode(C.encodeBinary({ symbol: "X", bid: 1, ask: 2 }), view, 0, 77, 1), C.OK)
    assert.strictEqual(view.fields.exchangeTsNs.get(0), 77)
    assert.strictEqual(decoder.decode(text(C.encodeJson({ symbol: "X", bid: 1, ask: 2 })), view, 0, 1, 1), C.OK)
    assert.strictEqual(decoder.decode(text("Q"), view, 0, 1, 1), C.BAD_LENGTH)
  })

  it("encodeBinary refuses a name that does not fit the format", () => {
    assert.throws(() => C.encodeBinary({ symbol: "", bid: 1, ask: 2 }), /symbol name must be 1..40 bytes/)
    assert.throws(() => C.encodeBinary({ symbol: "x".repeat(41), bid: 1, ask: 2 }), /symbol name must be 1..40 bytes/)
  })
})
