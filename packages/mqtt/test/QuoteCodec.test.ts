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

/** A seeded xorshift32: `random(n)` is an integer in 0 … n − 1. */
const xorshift = (seed: number) => (n: number) => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) % n
}

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

  describe("the JSON byte scanner gives exactly what JSON.parse gives", () => {
    /** The reference: the payload through JSON.parse and `fromObject` (into a table of its own), the symbol by name. */
    const reference = setup("json", 50_000)
    const viaJsonParse = (bytes: Uint8Array) => {
      const { decoder, table, view } = reference
      let parsed: unknown
      try {
        parsed = JSON.parse(new TextDecoder().decode(bytes))
      } catch (e) {
        return { code: C.NOT_JSON as number, detail: `not JSON: ${(e as Error).message}`, quote: undefined }
      }
      const code = decoder.fromObject(parsed, view, 0, 5e18, 3)
      return { code: code as number, detail: decoder.detail, quote: code === C.OK ? named(table, view) : undefined }
    }
    const named = (table: SharedArrayBuffer, view: ReturnType<typeof setup>["view"]) => {
      const { symbol, ...rest } = RecordLayout.readUnsafe(view, 0)
      return { ...rest, symbol: Symbols.nameOf(table, symbol) }
    }
    const viaDecoder = (decoder: C.QuoteDecoder, table: SharedArrayBuffer, view: ReturnType<typeof setup>["view"], bytes: Uint8Array) => {
      const code = decoder.decode(bytes, view, 0, 5e18, 3)
      return { code: code as number, detail: code === C.OK ? "" : decoder.detail, quote: code === C.OK ? named(table, view) : undefined }
    }
    const same = (decoder: C.QuoteDecoder, table: SharedArrayBuffer, view: ReturnType<typeof setup>["view"], bytes: Uint8Array) => {
      const expected = viaJsonParse(bytes)
      const actual = viaDecoder(decoder, table, view, bytes)
      if (expected.code === C.OK) expected.detail = ""
      // deepStrictEqual compares numbers with Object.is: -0 and 0 differ, as their bits do.
      assert.deepStrictEqual(actual, expected, new TextDecoder().decode(bytes))
    }

    it("the documented payload takes the scanner, not JSON.parse", () => {
      const { decoder, view } = setup("json")
      assert.strictEqual(decoder.decode(text(C.encodeJson(full)), view, 0, 1, 1), C.OK)
      assert.strictEqual(decoder.decode(text(` { "bid" : 1.5 ,"ask":2e-3, "symbol":"AAPL","venue":"X","x":null,"y":true} `), view, 0, 1, 1), C.OK)
      assert.strictEqual(decoder.scanned, 2)
      assert.deepStrictEqual([view.fields.bid.get(0), view.fields.ask.get(0), view.fields.seq.get(0)], [1.5, 0.002, 0])
    })

    it.prop(
      "any quote JSON.stringify writes, with any finite numbers, keys in any order and unknown keys",
      {
        name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._:/-]{1,40}$/)),
        numbers: Schema.Tuple([Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite, Schema.Finite]),
        keep: Schema.Tuple([Schema.Boolean, Schema.Boolean, Schema.Boolean, Schema.Boolean, Schema.Boolean, Schema.Boolean]),
        order: Schema.Int,
        extra: Schema.Union([Schema.Finite, Schema.String, Schema.Boolean, Schema.Null])
      },
      ({ name, numbers, keep, order, extra }) => {
        const { decoder, table, view } = setup("json", 64)
        const [bid, ask, seq, ts, bidSize, askSize, last, lastSize] = numbers
        const entries: Array<[string, unknown]> = [["symbol", name], ["bid", bid], ["ask", ask]]
        const optional: Array<[string, number]> = [["seq", Math.abs(seq)], ["exchangeTsNs", Math.abs(ts)], ["bidSize", bidSize], ["askSize", askSize], ["last", last], ["lastSize", lastSize]]
        optional.forEach((entry, i) => keep[i] && entries.push(entry))
        entries.push(["venue", extra])
        const rotate = Math.abs(order) % entries.length
        const object = Object.fromEntries([...entries.slice(rotate), ...entries.slice(0, rotate)])
        same(decoder, table, view, text(JSON.stringify(object)))
        same(decoder, table, view, text(JSON.stringify(object, null, order % 2 === 0 ? 1 : "\t")))
      }
    )

    it("numbers at the edges of the fast path, and every refusal with JSON.parse's own words", () => {
      const { decoder, table, view } = setup("json", 64)
      const numbers = [
        "0", "-0", "0.0", "-0.0", "1", "9007199254740991", "9007199254740992", "9007199254740993", "18014398509481985",
        "1764432000123456789", "1764432000123456000", "17644320001234567", "0.1", "0.30000000000000004", "1.7976931348623157e308",
        "2.2250738585072014e-308", "5e-324", "4.9e-324", "1e22", "1e23", "1E-22", "1e-23", "123456789012345678901234567890",
        "0.000000000000000000000000000001", "1e-400", "1e400", "-1e400", "1.08121", "100e-2", "1.50", "10.000000000000000000001",
        "00", "01", "1.", ".5", "-", "+1", "1e", "1e+", "--1", "0x10", "1_000", "NaN", "Infinity"
      ]
      for (const n of numbers) {
        same(decoder, table, view, text(`{"symbol":"X","bid":${n},"ask":1}`))
        same(decoder, table, view, text(`{"symbol":"X","bid":1,"ask":1,"exchangeTsNs":${n}}`))
        same(decoder, table, view, text(`{"symbol":"X","bid":1,"ask":1,"other":${n}}`))
      }
      const payloads = [
        "", " ", "{", "}", "{}", "[]", "null", "42", `"x"`, "\ufeff{\"symbol\":\"X\",\"bid\":1,\"ask\":2}",
        `{"symbol":"X","bid":1,"ask":2}x`, `{"symbol":"X","bid":1,"ask":2,}`, `{"symbol":"X" "bid":1,"ask":2}`, `{"symbol":"X","bid":1,"ask":2`,
        `{"symbol":"X","bid":1,"bid":"2","ask":2}`, `{"symbol":"X","bid":"1","bid":2,"ask":2}`, `{"symbol":7,"symbol":"X","bid":1,"ask":2}`,
        `{"symbol":"X","symbol":7,"bid":1,"ask":2}`, `{"symbol":"Y","symbol":"X","bid":1,"ask":2}`, `{"symbol":"\\u0041","bid":1,"ask":2}`,
        `{"sym\\u0062ol":"X","bid":1,"ask":2}`, `{"symbol":"has space","bid":1,"ask":2}`, `{"symbol":"ÉUR","bid":1,"ask":2}`, `{"symbol":"","bid":1,"ask":2}`,
        `{"symbol":"X","bid":1,"ask":2,"seq":-1}`, `{"symbol":"X","bid":1,"ask":2,"seq":null}`, `{"symbol":"X","bid":1,"ask":2,"last":[1]}`,
        `{"symbol":"X","bid":1,"ask":2,"more":{"a":1}}`, `{"symbol":"X","bid":1,"ask":2,"more":[]}`, `{"symbol":"X","bid":1,"ask":2,"t":tru}`,
        `{"symbol":"X","bid":1,"ask":2,"s":"a\tb"}`, `{"symbol":"X","bid":1,"ask":2,"s":"a\\"b"}`, `{"symbol":"${"x".repeat(41)}","bid":1,"ask":2}`,
        `{"symbol":"X","ask":2}`, `{"bid":1,"ask":2}`, `{"symbol":"X","bid":true,"ask":2}`, `{"symbol":"X","bid":1,"ask":2,"__proto__":1}`
      ]
      for (const p of payloads) same(decoder, table, view, text(p))
    })

    it("integers of 16–20 digits (times in ns) are exact without Number, halfway cases included; other long numbers go through it", () => {
      const { decoder, table, view } = setup("json", 64)
      const random = xorshift(0x2545f491)
      const digits = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? 1 + random(9) : random(10))).join("")
      const integers: Array<string> = [
        "9007199254740993", "18014398509481985", "1764432000123456789", "17644320001234567000", "99999999999999999999", "18446744073709551615",
        "18446744073709551616", "90071992547409930000", "90071992547409910000", "100000000000000000000000", "1764432000123456789000"
      ]
      for (let round = 0; round < 3_000; round++) {
        integers.push(digits(16 + random(5)), digits(14 + random(3)) + "0".repeat(random(6)))
        // Halfway between two doubles of 2^53 … 2^66, and either side of it: where rounding must break ties to even.
        const exponent = 53 + random(14)
        const mantissa = (1n << 52n) + BigInt(random(2 ** 26)) * BigInt(2 ** 26) + BigInt(random(2 ** 26))
        const halfway = (mantissa << BigInt(exponent - 52)) + (1n << BigInt(exponent - 53))
        integers.push(String(halfway), String(halfway - 1n), String(halfway + 1n))
      }
      /** The scanner's exact paths, from the digits: below 2^53 times 10^0…22, or m (its digits below 2^53) then four digits more, trailing zeros included. */
      const exactPath = (n: string, plain: boolean) => {
        // Written plainly, an integer of up to 20 digits is read exactly as it comes.
        if (plain && n.length <= 20) return true
        const significant = n.replace(/0+$/, "")
        if (BigInt(significant) < 1n << 53n) return n.length - significant.length <= 22
        const m = BigInt(significant.slice(0, 16)) < 1n << 53n ? 16 : 15
        return n.length - m <= 4
      }
      for (const n of integers) {
        for (const [payload, plain] of [[`{"symbol":"X","bid":1,"ask":1,"exchangeTsNs":${n}}`, true], [`{"symbol":"X","bid":-${n},"ask":1}`, true], [`{"symbol":"X","bid":1,"ask":${n}.0}`, false]] as const) {
          const was = decoder.numbersViaText
          same(decoder, table, view, text(payload))
          assert.strictEqual(decoder.numbersViaText - was, exactPath(n, plain) ? 0 : 1, payload)
        }
      }
      // An integer written with an exponent is one too; long numbers that are not integers go through Number.
      for (const [n, viaText] of [["17644320001234567e2", 0], ["1.7644320001234567e18", 0], ["1.1057000000000001", 1], ["12345678901234567.5", 1], ["1.7644320001234567e10", 1], ["0.30000000000000004", 1], ["123456789012345678901", 1]] as const) {
        const was = decoder.numbersViaText
        same(decoder, table, view, text(`{"symbol":"X","bid":${n},"ask":1}`))
        assert.strictEqual(decoder.numbersViaText - was, viaText, n)
      }
    })

    it("random damage to a payload: whatever the bytes, the same code, words and record as JSON.parse", () => {
      const { decoder, table, view } = setup("json", 50_000)
      const alphabet = text(`{}[]":,.-+eE0123456789 \t\n\\ntrufalsXYZsymbolbidask\u00e9`)
      const random = xorshift(0x9e3779b9)
      for (let round = 0; round < 20_000; round++) {
        const bytes = Array.from(text(C.encodeJson({ ...full, symbol: `S${random(50)}`, seq: random(1000), bid: random(10_000) / 1000 })))
        for (let edits = 1 + random(3); edits > 0; edits--) {
          const at = random(bytes.length)
          const op = random(3)
          if (op === 0) bytes[at] = alphabet[random(alphabet.length)]!
          else if (op === 1) bytes.splice(at, 1)
          else bytes.splice(at, 0, alphabet[random(alphabet.length)]!)
        }
        same(decoder, table, view, Uint8Array.from(bytes))
      }
      assert.isAbove(decoder.scanned, 1000)
    })
  })

  it("binary and JSON: a known name's id comes from the cache, a refused one is asked again", () => {
    const { decoder, table, view } = setup("auto", 2)
    for (let i = 0; i < 3; i++) {
      assert.strictEqual(decoder.decode(C.encodeBinary({ ...full, symbol: "AAA" }), view, 0, 1, 1), C.OK)
      assert.strictEqual(view.fields.symbol.get(0), 0)
      assert.strictEqual(decoder.decode(text(C.encodeJson({ ...full, symbol: "AAA" })), view, 0, 1, 1), C.OK)
      assert.strictEqual(view.fields.symbol.get(0), 0)
    }
    assert.strictEqual(decoder.decode(C.encodeBinary({ ...full, symbol: "BBB" }), view, 0, 1, 1), C.OK)
    assert.strictEqual(view.fields.symbol.get(0), 1)
    assert.strictEqual(decoder.decode(C.encodeBinary({ ...full, symbol: "CCC" }), view, 0, 1, 1), C.SYMBOL_REFUSED)
    assert.strictEqual(decoder.symbolCode, Symbols.FULL)
    assert.strictEqual(decoder.decode(text(C.encodeJson({ ...full, symbol: "CCC" })), view, 0, 1, 1), C.SYMBOL_REFUSED)
    assert.strictEqual(Symbols.count(table), 2)
  })
})
