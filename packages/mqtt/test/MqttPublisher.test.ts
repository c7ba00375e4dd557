import { assert, describe, it } from "@effect/vitest"
import { RecordLayout } from "@velox/core"
import { Quote, Symbols } from "@velox/market"
import * as C from "../src/internal/kernel/quoteCodec.ts"
import * as MqttPublisher from "../src/MqttPublisher.ts"

const decimals = (x: number) => (String(x).split(".")[1] ?? "").length
/** A feed's decimals for the built-in instruments: FX pairs 5 (yen pairs 3), equities 2. */
const tickDecimals = (name: string) => (name.length === 6 && !name.startsWith("SYM") ? (name.endsWith("JPY") ? 3 : 5) : 2)

describe("MqttPublisher.quotes", () => {
  it("prices as a feed prints them: every bid, ask and last a whole number of its instrument's ticks", () => {
    const next = MqttPublisher.quotes({ symbols: 24 })
    const seen = new Set<string>()
    const wrong: Array<string> = []
    for (let i = 0; i < 50_000; i++) {
      const q = next(0)
      seen.add(q.symbol)
      const most = tickDecimals(q.symbol)
      for (const price of [q.bid, q.ask, q.last!]) if (decimals(price) > most) wrong.push(`${q.symbol} ${price}`)
      if (!(q.ask > q.bid)) wrong.push(`${q.symbol} ${q.bid}/${q.ask}`)
    }
    assert.deepStrictEqual(wrong, [])
    assert.strictEqual(seen.size, 24)
    assert.isTrue(seen.has("EURUSD") && seen.has("USDJPY") && seen.has("SYM0024"))
  })

  it("seq counts from 1 and the same seed gives the same quotes", () => {
    const a = MqttPublisher.quotes({ symbols: 8, seed: 3 })
    const b = MqttPublisher.quotes({ symbols: 8, seed: 3 })
    for (let i = 1; i <= 5_000; i++) {
      const q = a(i)
      assert.deepStrictEqual(q, b(i))
      assert.strictEqual(q.seq, i)
      assert.strictEqual(q.exchangeTsNs, i)
    }
  })

  it("their JSON, stamped as the simulator stamps it, takes the byte scanner's exact paths: no number through Number", () => {
    const next = MqttPublisher.quotes({ symbols: 8 })
    const decoder = new C.QuoteDecoder(Symbols.view(Symbols.make(8)), "json")
    const view = RecordLayout.view(Quote.Quote, new ArrayBuffer(Quote.Quote.byteLength), 0, 1)
    const n = 20_000
    for (let i = 0; i < n; i++) {
      const q = next((performance.timeOrigin + performance.now()) * 1e6)
      const json = C.encodeJson(q)
      assert.strictEqual(decoder.decode(new TextEncoder().encode(json), view, 0, 1, 1), C.OK)
      const parsed = JSON.parse(json) as C.QuoteMessage
      const { symbol: _, ...numbers } = parsed
      const { symbol: __, epoch: ___, receiveTsNs: ____, ...decoded } = RecordLayout.readUnsafe(view, 0)
      assert.deepStrictEqual(decoded, numbers)
    }
    assert.strictEqual(decoder.scanned, n)
    assert.strictEqual(decoder.numbersViaText, 0)
  })
})
