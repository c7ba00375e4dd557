import { assert, describe, it } from "@effect/vitest"
import { L2Status } from "@velox/market"
import * as T from "../src/internal/kernel/l2Status.ts"

describe("L2Status table", () => {
  it("the layout is the drawing: 16-byte header (magic, version, symbols), 32 bytes per symbol, words in order", () => {
    assert.deepStrictEqual([T.MAGIC_OFFSET, T.VERSION_OFFSET, T.SYMBOLS_OFFSET, T.HEADER_BYTES, T.SYMBOL_BYTES], [0, 4, 8, 16, 32])
    assert.deepStrictEqual(
      [T.STATE, T.GAPS, T.MISSING, T.STALE_EVENTS, T.SNAPSHOTS, T.RESYNCS, T.CROSSED_EVENTS, T.LOCKED_EVENTS],
      [0, 1, 2, 3, 4, 5, 6, 7]
    )
    assert.deepStrictEqual([T.WAITING, T.LIVE, T.STALE, T.RESYNCING, T.REFRESHING, T.SYNC_MASK, T.LOCKED_BIT, T.CROSSED_BIT], [0, 1, 2, 3, 4, 7, 8, 16])
    const buffer = L2Status.make(3)
    assert.strictEqual(buffer.byteLength, 16 + 32 * 3)
    const words = new Int32Array(buffer)
    assert.deepStrictEqual(Array.from(words.subarray(0, 4)), [T.MAGIC, T.VERSION, 3, 0])
    // Symbol 2's `resyncs` word is at byte 16 + 2 × 32 + 20.
    new T.StatusWriter(buffer).add(2, T.RESYNCS, 5)
    assert.strictEqual(new DataView(buffer).getInt32(16 + 64 + 20, true), 5)
  })

  it("read sums every symbol; symbolsIn lists the ones in a state; symbol reads one row", () => {
    const buffer = L2Status.make(5)
    const w = new T.StatusWriter(buffer)
    w.setSync(0, T.LIVE)
    w.setSync(1, T.STALE)
    w.setSync(2, T.RESYNCING)
    w.setSync(3, T.STALE)
    w.setTop(3, T.CROSSED_BIT)
    w.setSync(3, T.LIVE) // keeps the crossed bit
    w.add(1, T.GAPS, 2)
    w.add(1, T.MISSING, 0x7fffffff)
    w.add(1, T.MISSING, 9) // saturates
    w.add(4, T.LOCKED_EVENTS, 3)
    const summary = L2Status.read(buffer)
    assert.deepStrictEqual(summary, {
      symbols: 5,
      waiting: 1,
      live: 2,
      stale: 1,
      resyncing: 1,
      refreshing: 0,
      locked: 0,
      crossed: 1,
      gaps: 2,
      missing: 0x7fffffff,
      staleEvents: 0,
      snapshots: 0,
      resyncs: 0,
      crossedEvents: 0,
      lockedEvents: 3
    })
    assert.deepStrictEqual(L2Status.symbolsIn(buffer, "stale"), [1])
    assert.deepStrictEqual(L2Status.symbolsIn(buffer, "live", 1), [0])
    assert.deepStrictEqual(L2Status.symbol(buffer, 3), {
      symbol: 3,
      state: "live",
      locked: false,
      crossed: true,
      gaps: 0,
      missing: 0,
      staleEvents: 0,
      snapshots: 0,
      resyncs: 0,
      crossedEvents: 0,
      lockedEvents: 0
    })
  })

  it("refuses what is not a table, and a symbol outside it", () => {
    assert.isTrue(L2Status.isStatus(L2Status.make(1)))
    assert.isFalse(L2Status.isStatus(new SharedArrayBuffer(48)))
    assert.isFalse(L2Status.isStatus(new ArrayBuffer(48)))
    assert.throws(() => L2Status.read(new SharedArrayBuffer(48)), TypeError, "not an L2 status table")
    assert.throws(() => L2Status.symbol(L2Status.make(2), 2), RangeError, "symbol=2")
    assert.throws(() => L2Status.make(0), RangeError, "symbols=0")
  })
})
