import { assert, describe, it } from "@effect/vitest"
import { BarStore, TickStore } from "@velox/market"

/** Memory is symbols × N × record size, said before anything runs, and bounded. */
describe("store sizes", () => {
  it("a tick store takes 64 + symbols × (64 + (depth + 32) × 80) bytes, and says so", () => {
    const store = TickStore.make({ symbols: 8, depth: 50_000 })
    const d = TickStore.describe(store)
    assert.deepStrictEqual(d, { symbols: 8, depth: 50_000, recordBytes: 80, bytes: 64 + 8 * (64 + 50_032 * 80) })
    assert.strictEqual(store.byteLength, TickStore.byteLength(8, 50_000))
    assert.strictEqual(TickStore.format(d), "8 symbols × 50,000 ticks × 80 bytes = 30.5 MiB")
  })

  it("a tick store larger than maxBytes (default 1 GiB) is refused, saying how large and what to lower", () => {
    assert.throws(
      () => TickStore.make({ symbols: 1_000, depth: 50_000 }),
      RangeError,
      "a tick store of 1000 symbols × 50000 ticks × 80 bytes takes 3817.2 MiB, more than maxBytes=1024.0 MiB: keep fewer ticks per symbol, or raise maxBytes"
    )
    assert.throws(() => TickStore.make({ symbols: 8, depth: 50_000, maxBytes: 2 ** 20 }), RangeError, "more than maxBytes=1.0 MiB")
    assert.strictEqual(TickStore.describe(TickStore.make({ symbols: 1_000, depth: 1_000, maxBytes: 2 ** 30 })).symbols, 1_000)
  })

  it("a bar store takes symbols × timeframes × depth × 64 bytes, and says so", () => {
    const store = BarStore.make({ symbols: 8, timeframesMs: [1_000, 60_000], depth: 1_000 })
    const d = BarStore.describe(store)
    assert.deepStrictEqual([d.symbols, d.timeframesMs, d.depth, d.recordBytes], [8, [1_000, 60_000], 1_000, 64])
    assert.isAtLeast(d.bytes, 8 * 2 * 1_000 * 64)
    assert.match(BarStore.format(d), /^8 symbols × 2 timeframes × 1,000 bars × 64 bytes = [\d.]+ MiB$/)
  })
})
