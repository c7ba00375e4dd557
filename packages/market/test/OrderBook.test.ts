import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, Schema } from "effect"
import { OrderBook } from "../src/index.ts"
import { BucketedBook } from "./fixtures/bucketedBook.ts"

const { ASK, BID, OrderBooks } = OrderBook
type OrderBooks = OrderBook.OrderBooks

// -------------------------------------------------------------------------------------------------
// The model: a naive sorted-map book that states the kernel's contract in the plainest way (a Map per
// side, sorted on every read). Same codes, same validation order; every valid level accepted.

class SortedMapBook {
  readonly symbols: number
  readonly maxTick: number
  readonly sides: Array<Array<Map<number, number>>>

  constructor(symbols: number, maxTick = OrderBook.MAX_TICK) {
    this.symbols = symbols
    this.maxTick = maxTick
    this.sides = Array.from({ length: symbols }, () => [new Map<number, number>(), new Map<number, number>()])
  }

  private ladder(symbol: number, side: number): Map<number, number> | number {
    if (!Number.isInteger(symbol) || symbol < 0 || symbol >= this.symbols) return OrderBook.UNKNOWN_SYMBOL
    if (side !== BID && side !== ASK) return OrderBook.INVALID_SIDE
    return this.sides[symbol]![side]!
  }

  private at(symbol: number, side: number, price: number): Map<number, number> | number {
    const m = this.ladder(symbol, side)
    if (typeof m === "number") return m
    if (!Number.isInteger(price) || price < 1 || price > this.maxTick) return OrderBook.PRICE_OUT_OF_RANGE
    return m
  }

  private static sizeCode(size: number, min: number): number {
    if (Number.isNaN(size) || size < min || size === Infinity) return OrderBook.INVALID_SIZE
    if (size > Number.MAX_SAFE_INTEGER) return OrderBook.SIZE_OVERFLOW
    return Number.isInteger(size) ? 0 : OrderBook.INVALID_SIZE
  }

  add(symbol: number, side: number, price: number, size: number): number {
    const m = this.at(symbol, side, price)
    if (typeof m === "number") return m
    const s = SortedMapBook.sizeCode(size, 1)
    if (s !== 0) return s
    const old = m.get(price) ?? 0
    if (old + size > Number.MAX_SAFE_INTEGER) return OrderBook.SIZE_OVERFLOW
    m.set(price, old + size)
    return old + size
  }

  cancel(symbol: number, side: number, price: number, size: number): number {
    const m = this.at(symbol, side, price)
    if (typeof m === "number") return m
    const s = SortedMapBook.sizeCode(size, 1)
    if (s !== 0) return s
    const old = m.get(price) ?? 0
    if (size > old) return OrderBook.CANCEL_EXCEEDS_LEVEL
    if (size === old) m.delete(price)
    else m.set(price, old - size)
    return old - size
  }

  trade(symbol: number, side: number, size: number): number {
    const m = this.ladder(symbol, side)
    if (typeof m === "number") return m
    const s = SortedMapBook.sizeCode(size, 1)
    if (s !== 0) return s
    const best = this.best(symbol, side)
    if (best === OrderBook.EMPTY) return OrderBook.CANCEL_EXCEEDS_LEVEL
    return this.cancel(symbol, side, best, size)
  }

  set(symbol: number, side: number, price: number, size: number): number {
    const m = this.at(symbol, side, price)
    if (typeof m === "number") return m
    const s = SortedMapBook.sizeCode(size, 0)
    if (s !== 0) return s
    if (size === 0) {
      m.delete(price)
      return 0
    }
    m.set(price, size)
    return size
  }

  clear(symbol: number): number {
    const m = this.ladder(symbol, BID)
    if (typeof m === "number") return m
    this.sides[symbol]![BID]!.clear()
    this.sides[symbol]![ASK]!.clear()
    return OrderBook.OK
  }

  /** Levels best first. */
  levels(symbol: number, side: number): Array<readonly [number, number]> {
    const m = this.sides[symbol]![side]!
    return [...m.entries()].sort((a, b) => (side === BID ? b[0] - a[0] : a[0] - b[0]))
  }

  best(symbol: number, side: number): number {
    const m = this.ladder(symbol, side)
    if (typeof m === "number") return m
    return this.levels(symbol, side)[0]?.[0] ?? OrderBook.EMPTY
  }

  levelSize(symbol: number, side: number, price: number): number {
    const m = this.at(symbol, side, price)
    return typeof m === "number" ? m : (m.get(price) ?? 0)
  }
}

/** Every observable of one symbol agrees between book and model: best prices, counts, every level. */
const assertSame = (book: OrderBooks, model: SortedMapBook, symbol: number, context: string): void => {
  assert.strictEqual(book.bestBid(symbol), model.best(symbol, BID), `bestBid ${context}`)
  assert.strictEqual(book.bestAsk(symbol), model.best(symbol, ASK), `bestAsk ${context}`)
  for (const side of [BID, ASK]) {
    const levels = model.levels(symbol, side)
    assert.strictEqual(book.levelCount(symbol, side), levels.length, `levelCount ${context}`)
    // Full depth: every live level, in order, with its exact size.
    const out = new Float64Array(2 * (levels.length + 2)).fill(-7)
    const n = book.depth(symbol, side, levels.length + 2, out)
    assert.strictEqual(n, levels.length, `depth count ${context}`)
    assert.deepStrictEqual(
      Array.from({ length: n }, (_, k) => [out[2 * k], out[2 * k + 1]]),
      levels.map(([p, s]) => [p, s]),
      `depth side=${side} ${context}`
    )
    assert.strictEqual(out[2 * n], -7, `depth wrote past its levels ${context}`)
    // Top-3 into a buffer that holds exactly 3 levels.
    const top = new Float64Array(6)
    const k = book.depth(symbol, side, 3, top)
    assert.strictEqual(k, Math.min(3, levels.length))
    for (let i = 0; i < k; i++) {
      assert.strictEqual(top[2 * i], levels[i]![0])
      assert.strictEqual(top[2 * i + 1], levels[i]![1])
    }
  }
}

/** A level and the ticks that alias its slot (± windowTicks) read what the model says. */
const assertLevelsAround = (book: OrderBooks, model: SortedMapBook, symbol: number, price: number): void => {
  for (const side of [BID, ASK]) {
    for (const p of [price - book.windowTicks, price - 1, price, price + 1, price + book.windowTicks]) {
      assert.strictEqual(book.levelSize(symbol, side, p), model.levelSize(symbol, side, p), `levelSize ${side}@${p}`)
    }
  }
}

/** A deterministic PRNG (mulberry32) for the scripted walks. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const snapshot = (book: OrderBooks, symbols: number): string =>
  JSON.stringify(Array.from({ length: symbols }, (_, s) =>
    [BID, ASK].map((side) => {
      const out = new Float64Array(2 * 64)
      const n = book.depth(s, side, 64, out)
      return Array.from(out.subarray(0, 2 * n))
    })))

// -------------------------------------------------------------------------------------------------

const int = (minimum: number, maximum: number) =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const Op = Arbitrary.all({
  kind: int(0, 14),
  symbol: int(0, 2),
  side: int(0, 1),
  offset: int(0, 24),
  size: int(1, 60),
  walk: int(-3, 3)
})

/** Starting mid prices: near the bottom of the tick range, ordinary, and near MAX_TICK. */
const MIDS = [30, 10_000, OrderBook.MAX_TICK - 40]

/** A far level: about a million ticks from the mid on the side's own far side, or a valid tick nearest it. */
const farPrice = (side: number, mid: number, offset: number): number => {
  const distance = 1_000_000 + offset * 7_919
  const p = side === BID ? mid - distance : mid + distance
  return Math.min(OrderBook.MAX_TICK, Math.max(1, p))
}

describe("OrderBook kernel against a sorted-map model", () => {
  it.prop(
    "random order flow near a walking mid, with far levels, jumps past any window and sizes past the ladder slot: every result, best price, level and depth agrees after every update",
    {
      windowTicks: Arbitrary.schema(Schema.Literals([32, 64, 4096])),
      // Lots per unit of size: small sizes, sizes on both sides of 2^16 − 2 (the ladder's 16-bit slots
      // and their overflow path) and of 2^31, every size past it but 1.
      lot: Arbitrary.schema(Schema.Literals([1, 2 ** 11 + 1, 2 ** 26 + 3, 2 ** 31 - 1])),
      // A pool that grows from one ladder, or a ladder reserved for every side at its own address.
      reserveLadders: Arbitrary.schema(Schema.Boolean),
      flow: Arbitrary.array(Op, { maxLength: 400 })
    },
    ({ flow, lot, reserveLadders, windowTicks }) => {
      const book = new OrderBooks({ symbols: 3, windowTicks, reservedSideCount: 1, reserveLadders, reservedFarLevelCount: 4 })
      const model = new SortedMapBook(3)
      const mid = [...MIDS]
      flow.forEach((op, i) => {
        const { side, symbol } = op
        const size = op.size * lot
        // kind 9 walks far; kind 13 jumps farther than any window (both directions), and back
        const step = op.kind === 9 ? op.walk * 40 : op.kind === 13 ? op.walk * 5_000 : op.walk
        mid[symbol] = Math.min(OrderBook.MAX_TICK - 30, Math.max(30, mid[symbol]! + step))
        const price = side === BID ? mid[symbol]! - op.offset : mid[symbol]! + op.offset
        let got: number
        let want: number
        let label: string
        switch (op.kind) {
          case 0:
          case 1:
          case 2:
          case 3:
          case 9:
          case 13: {
            label = `add ${size}@${price}`
            got = book.add(symbol, side, price, size)
            want = model.add(symbol, side, price, size)
            break
          }
          case 4: {
            const level = model.levelSize(symbol, side, price)
            const amount = level <= 0 ? size : size % 5 === 0 ? level : size % 9 === 0 ? level + 1 : Math.min(size, level)
            label = `cancel ${amount}@${price}`
            got = book.cancel(symbol, side, price, amount)
            want = model.cancel(symbol, side, price, amount)
            break
          }
          case 5: {
            // Any live level, near or far (the size picks which), all of it or part.
            const levels = model.levels(symbol, side)
            const [p, level] = levels.length === 0 ? [price, 0] : levels[size % levels.length]!
            const amount = level <= 0 ? size : size % 3 === 0 ? level : Math.max(1, Math.min(size, level - 1))
            label = `cancel ${amount}@${p} (level ${size % Math.max(1, levels.length)} of ${levels.length})`
            got = book.cancel(symbol, side, p, amount)
            want = model.cancel(symbol, side, p, amount)
            break
          }
          case 6: {
            const target = size % 4 === 0 ? 0 : size
            const p = size % 3 === 0 ? farPrice(side, mid[symbol]!, op.offset) : price
            label = `set ${target}@${p}`
            got = book.set(symbol, side, p, target)
            want = model.set(symbol, side, p, target)
            break
          }
          case 7:
          case 8: {
            const best = model.best(symbol, side)
            const level = best > 0 ? model.levelSize(symbol, side, best) : 0
            const amount = level <= 0 ? size : size % 3 === 0 ? level : size % 11 === 0 ? level + 1 : Math.min(size, level)
            label = `trade ${amount}`
            got = book.trade(symbol, side, amount)
            want = model.trade(symbol, side, amount)
            break
          }
          case 10: {
            // Bad input of every kind: both must refuse it with the same code.
            const bad: ReadonlyArray<readonly [number, number, number, number]> = [
              [symbol, side, 0, size],
              [symbol, side, price + 0.5, size],
              [symbol, side, price, 0],
              [symbol, side, price, Number.NaN],
              [symbol, side, price, 2 ** 53],
              [3, side, price, size],
              [symbol, 2, price, size],
              [symbol, side, price, size + 0.25]
            ]
            const [s, d, p, z] = bad[size % bad.length]!
            label = `bad ${s}/${d} ${z}@${p}`
            got = size % 2 === 0 ? book.add(s, d, p, z) : book.cancel(s, d, p, z)
            want = size % 2 === 0 ? model.add(s, d, p, z) : model.cancel(s, d, p, z)
            break
          }
          case 12: {
            // A resting order about a million ticks from the touch (on the wrong side of it, sometimes).
            const p = size % 7 === 0
              ? farPrice(1 - side, mid[symbol]!, op.offset)
              : farPrice(side, mid[symbol]!, op.offset)
            label = `far add ${size}@${p}`
            got = book.add(symbol, side, p, size)
            want = model.add(symbol, side, p, size)
            break
          }
          case 14: {
            // Empty the side entirely, best first or worst first; it refills from the next ops.
            const levels = model.levels(symbol, side)
            const order = size % 2 === 0 ? levels : [...levels].reverse()
            label = `empty side ${side} (${levels.length} levels)`
            got = 0
            want = 0
            for (const [p, z] of order) {
              assert.strictEqual(book.cancel(symbol, side, p, z), model.cancel(symbol, side, p, z), `${label}: cancel ${z}@${p}`)
            }
            assert.strictEqual(book.best(symbol, side), OrderBook.EMPTY)
            break
          }
          default: {
            label = size % 10 === 0 ? "clear" : `add ${size}@${price}`
            got = size % 10 === 0 ? book.clear(symbol) : book.add(symbol, side, price, size)
            want = size % 10 === 0 ? model.clear(symbol) : model.add(symbol, side, price, size)
          }
        }
        const context = `op ${i} (${label}, symbol ${symbol}, window ${windowTicks}, lot ${lot}, reserveLadders ${reserveLadders})`
        assert.strictEqual(got, want, `result of ${context}`)
        for (let s = 0; s < 3; s++) assertSame(book, model, s, context)
        assertLevelsAround(book, model, symbol, price)
      })
    },
    { timeout: 300_000, arbitrary: { runs: 150, size: 400 } }
  )

  it("re-centres as the price walks 20,000 ticks up and back down with a 64-tick window", () => {
    const windowTicks = 64
    const book = new OrderBooks({ symbols: 2, windowTicks })
    const model = new SortedMapBook(2)
    const random = prng(42)
    let mid = 1_000
    let lowest = mid
    let highest = mid
    const step = (direction: number) => {
      mid += direction * (1 + Math.floor(random() * 6))
      lowest = Math.min(lowest, mid)
      highest = Math.max(highest, mid)
      for (const side of [BID, ASK]) {
        // Cancel what the walk left behind (more than 20 ticks from mid), then quote near mid.
        for (const [p, s] of model.levels(1, side)) {
          if (Math.abs(p - mid) > 20) assert.strictEqual(book.cancel(1, side, p, s), model.cancel(1, side, p, s))
        }
        const price = side === BID ? mid - 1 - Math.floor(random() * 8) : mid + 1 + Math.floor(random() * 8)
        const size = 1 + Math.floor(random() * 50)
        assert.strictEqual(book.add(1, side, price, size), model.add(1, side, price, size))
        if (random() < 0.3) {
          const best = model.best(1, side)
          const amount = Math.max(1, Math.floor(model.levelSize(1, side, best) * random()))
          assert.strictEqual(book.trade(1, side, amount), model.trade(1, side, amount))
        }
      }
      assertSame(book, model, 1, `mid ${mid}`)
      assertSame(book, model, 0, `mid ${mid}`)
    }
    while (mid < 21_000) step(1)
    while (mid > 1_000) step(-1)
    assert.isAbove(highest - lowest, 300 * windowTicks) // the ladder wrapped hundreds of times
    assert.isAbove(book.levelCount(1, BID), 0)
  }, 300_000)

  it("a level left far behind holds nothing back: the touch moves past any window and the old level stays exact", () => {
    const book = new OrderBooks({ symbols: 1, windowTicks: 64 })
    assert.strictEqual(book.add(0, BID, 1_000, 5), 5)
    assert.strictEqual(book.add(0, BID, 1_063, 7), 7)
    assert.strictEqual(book.add(0, BID, 1_064, 9), 9) // the old windowed book refused this
    assert.strictEqual(book.add(0, BID, 999, 9), 9)
    assert.strictEqual(book.set(0, BID, 2_000_000, 4), 4) // 2 million ticks above the rest: the new best
    assert.strictEqual(book.bestBid(0), 2_000_000)
    assert.strictEqual(book.levelSize(0, BID, 1_000), 5)
    assert.strictEqual(book.levelSize(0, BID, 999), 9)
    assert.strictEqual(book.levelCount(0, BID), 5)
    assert.strictEqual(book.worst(0, BID), 999)
    // The best goes away: the window falls back to the levels a million ticks below, exactly.
    assert.strictEqual(book.trade(0, BID, 4), 0)
    assert.strictEqual(book.bestBid(0), 1_064)
    const out = new Float64Array(10)
    assert.strictEqual(book.depth(0, BID, 5, out), 4)
    assert.deepStrictEqual(Array.from(out.subarray(0, 8)), [1_064, 9, 1_063, 7, 1_000, 5, 999, 9])
    // The ask side has its own window.
    assert.strictEqual(book.add(0, ASK, 500_000, 1), 1)
    assert.strictEqual(book.add(0, ASK, 1, 1), 1) // a crossed book is a feed's business, not the book's
    assert.strictEqual(book.bestAsk(0), 1)
  })

  it("clear empties both sides of one symbol and leaves the others alone", () => {
    const book = new OrderBooks({ symbols: 2, windowTicks: 32 })
    for (let p = 100; p < 132; p += 3) {
      book.add(0, BID, p, p)
      book.add(0, ASK, p + 1_000, p)
      book.add(1, BID, p, p)
    }
    assert.strictEqual(book.clear(0), OrderBook.OK)
    assert.strictEqual(book.bestBid(0), OrderBook.EMPTY)
    assert.strictEqual(book.bestAsk(0), OrderBook.EMPTY)
    assert.strictEqual(book.levelCount(0, BID), 0)
    assert.strictEqual(book.levelSize(0, BID, 100), 0)
    assert.strictEqual(book.bestBid(1), 130)
    // Reusable after a clear, anywhere on the price axis.
    assert.strictEqual(book.add(0, BID, 7_777_777, 3), 3)
    assert.strictEqual(book.add(0, BID, 7_777_777 - 31, 3), 3)
    const out = new Float64Array(4)
    assert.strictEqual(book.depth(0, BID, 5, out), 2)
    assert.deepStrictEqual(Array.from(out), [7_777_777, 3, 7_777_746, 3])
  })

  it("works at the top of the tick range, where tick + 1 leaves int32", () => {
    const max = OrderBook.MAX_TICK
    const book = new OrderBooks({ symbols: 1, windowTicks: 32 })
    const model = new SortedMapBook(1)
    for (const p of [max, max - 3, max - 31, max - 17]) {
      assert.strictEqual(book.add(0, ASK, p, 2), model.add(0, ASK, p, 2))
      assert.strictEqual(book.add(0, BID, p, 2), model.add(0, BID, p, 2))
    }
    for (const p of [max - 31, max, max - 17]) {
      assert.strictEqual(book.cancel(0, ASK, p, 2), model.cancel(0, ASK, p, 2))
      assert.strictEqual(book.cancel(0, BID, p, 2), model.cancel(0, BID, p, 2))
      assertSame(book, model, 0, `after cancel at ${p}`)
    }
    assert.strictEqual(book.add(0, ASK, max + 1, 2), OrderBook.PRICE_OUT_OF_RANGE)
  })

  it("depth writes no more levels than asked for or than fit, and nothing past them", () => {
    const book = new OrderBooks({ symbols: 1 })
    for (let p = 1_000; p < 1_010; p++) book.add(0, ASK, p, p - 999)
    const out = new Float64Array(7).fill(-1) // room for 3 levels and a spare element
    assert.strictEqual(book.depth(0, ASK, 10, out), 3)
    assert.deepStrictEqual(Array.from(out), [1_000, 1, 1_001, 2, 1_002, 3, -1])
    assert.strictEqual(book.depth(0, ASK, 0, out), 0)
    assert.strictEqual(book.depth(0, ASK, -2, out), 0)
    assert.strictEqual(book.depth(0, ASK, Number.NaN, out), 0)
    assert.strictEqual(book.depth(0, BID, 3, out), 0)
  })
})

// -------------------------------------------------------------------------------------------------
// Long seeded walks: the cases a windowed book could not take, at scale.

/** Every observable of every symbol agrees (the full depth, both sides), plus a few levels around `price`. */
const assertAll = (book: OrderBooks, model: SortedMapBook, context: string): void => {
  for (let s = 0; s < model.symbols; s++) {
    for (const side of [BID, ASK]) {
      const levels = model.levels(s, side)
      assert.strictEqual(book.best(s, side), levels[0]?.[0] ?? OrderBook.EMPTY, `best ${s}/${side} ${context}`)
      assert.strictEqual(book.worst(s, side), levels[levels.length - 1]?.[0] ?? OrderBook.EMPTY, `worst ${s}/${side} ${context}`)
      assert.strictEqual(book.levelCount(s, side), levels.length, `levelCount ${s}/${side} ${context}`)
      const out = new Float64Array(2 * levels.length + 2)
      const n = book.depth(s, side, levels.length + 1, out)
      assert.strictEqual(n, levels.length, `depth ${s}/${side} ${context}`)
      for (let k = 0; k < n; k++) {
        if (out[2 * k] !== levels[k]![0] || out[2 * k + 1] !== levels[k]![1]) {
          assert.fail(`level ${k} of ${s}/${side}: [${out[2 * k]}, ${out[2 * k + 1]}] vs [${levels[k]}] ${context}`)
        }
      }
    }
  }
}

/**
 * A seeded flow over `symbols` symbols: adds near a walking mid (mostly within a few ticks), levels a
 * million ticks away, mid jumps of 3–9 windows, cancels and trades of live levels (near and far), sets,
 * and now and then a side emptied level by level and refilled. Returns the number of updates applied.
 */
const walk = (book: OrderBooks, model: SortedMapBook, seed: number, steps: number, check: (i: number) => void): number => {
  const random = prng(seed)
  const symbols = model.symbols
  const mid = Array.from({ length: symbols }, (_, s) => 50_000 + 10_000 * (s % 97))
  let applied = 0
  const apply = (got: number, want: number, what: string) => {
    assert.strictEqual(got, want, what)
    if (got >= 0) applied++
  }
  for (let i = 0; i < steps; i++) {
    const s = Math.floor(random() * random() * symbols) // some symbols busy, most quiet
    const side = random() < 0.5 ? BID : ASK
    const sign = side === BID ? -1 : 1
    const r = random()
    if (r < 0.01) {
      // A jump larger than any window: 3 to 9 windows of 4096, either way.
      mid[s] = Math.max(5_000_000, mid[s]! + (random() < 0.5 ? -1 : 1) * (3 + Math.floor(random() * 7)) * 4096)
    } else if (r < 0.03) mid[s] = Math.max(5_000_000, mid[s]! + (random() < 0.5 ? -1 : 1))
    const levels = model.levels(s, side)
    const u = random()
    if (u < 0.45 || levels.length === 0) {
      const offset = random() < 0.9 ? 1 + Math.floor(random() * random() * 40) : 1 + Math.floor(random() * 300)
      const p = mid[s]! + sign * offset
      const z = 1 + Math.floor(random() * 100)
      apply(book.add(s, side, p, z), model.add(s, side, p, z), `step ${i}: add ${z}@${p}`)
    } else if (u < 0.5) {
      const p = mid[s]! + sign * (1_000_000 + Math.floor(random() * 1_000))
      const z = 1 + Math.floor(random() * 10)
      apply(book.add(s, side, p, z), model.add(s, side, p, z), `step ${i}: far add ${z}@${p}`)
    } else if (u < 0.75) {
      const [p, level] = levels[random() < 0.8 ? Math.floor(random() * Math.min(10, levels.length)) : Math.floor(random() * levels.length)]!
      const z = random() < 0.5 ? level : 1 + Math.floor(random() * level)
      apply(book.cancel(s, side, p, z), model.cancel(s, side, p, z), `step ${i}: cancel ${z}@${p}`)
    } else if (u < 0.85) {
      const z = random() < 0.4 ? levels[0]![1] : 1 + Math.floor(random() * levels[0]![1])
      apply(book.trade(s, side, z), model.trade(s, side, z), `step ${i}: trade ${z}`)
    } else if (u < 0.97) {
      const p = random() < 0.7 ? levels[Math.floor(random() * levels.length)]![0] : mid[s]! + sign * (1 + Math.floor(random() * 60))
      const z = random() < 0.3 ? 0 : 1 + Math.floor(random() * 100)
      apply(book.set(s, side, p, z), model.set(s, side, p, z), `step ${i}: set ${z}@${p}`)
    } else {
      // The side emptied (best first or worst first), then it refills from the next steps.
      const order = random() < 0.5 ? levels : [...levels].reverse()
      for (const [p, z] of order) apply(book.cancel(s, side, p, z), model.cancel(s, side, p, z), `step ${i}: empty ${z}@${p}`)
      assert.strictEqual(book.best(s, side), OrderBook.EMPTY, `step ${i}: side emptied`)
    }
    check(i)
  }
  return applied
}

describe("OrderBook kernel: far levels, jumps, empty sides, many symbols, snapshots", () => {
  for (const windowTicks of [32, 64, 1024]) {
    it(`window ${windowTicks}: 12,000 seeded updates on 4 symbols agree with the model after every update`, () => {
      const book = new OrderBooks({ symbols: 4, windowTicks, reservedSideCount: 1, reservedFarLevelCount: 4 })
      const model = new SortedMapBook(4)
      const applied = walk(book, model, windowTicks, 12_000, (i) => assertAll(book, model, `after step ${i}`))
      assert.isAbove(applied, 10_000)
      // It did see what it claims to cover: far levels held at the end, and deep books.
      let far = 0
      for (let s = 0; s < 4; s++) {
        for (const side of [BID, ASK]) {
          const levels = model.levels(s, side)
          if (levels.length > 0 && Math.abs(levels[levels.length - 1]![0] - levels[0]![0]) > 900_000) far++
        }
      }
      assert.isAbove(far, 0)
    }, 300_000)
  }

  it("2,000 symbols, 200,000 seeded updates: every level of every symbol agrees at checkpoints", () => {
    const book = new OrderBooks({ symbols: 2_000 })
    const model = new SortedMapBook(2_000)
    walk(book, model, 77, 200_000, (i) => {
      if (i % 50_000 === 49_999) assertAll(book, model, `at step ${i}`)
    })
    assertAll(book, model, "at the end")
  }, 300_000)

  it("a book that starts from a snapshot (levels in any order, near and far) then takes the flow", () => {
    const random = prng(9)
    const book = new OrderBooks({ symbols: 3, windowTicks: 64 })
    const model = new SortedMapBook(3)
    for (let s = 0; s < 3; s++) {
      // A snapshot as a feed sends it: 50 levels a side around a mid, some far, shuffled.
      const mid = 100_000 * (s + 1)
      const levels: Array<[number, number, number]> = []
      for (let k = 1; k <= 50; k++) {
        const gap = k > 45 ? 1_000_000 + k : k + Math.floor(random() * 3) * k
        levels.push([BID, mid - gap, 1 + Math.floor(random() * 500)], [ASK, mid + gap, 1 + Math.floor(random() * 500)])
      }
      for (let k = levels.length - 1; k > 0; k--) {
        const j = Math.floor(random() * (k + 1))
        ;[levels[k], levels[j]] = [levels[j]!, levels[k]!]
      }
      assert.strictEqual(book.clear(s), model.clear(s))
      for (const [side, p, z] of levels) assert.strictEqual(book.set(s, side, p, z), model.set(s, side, p, z))
    }
    assertAll(book, model, "after the snapshot")
    walk(book, model, 10, 20_000, (i) => {
      if (i % 500 === 0) assertAll(book, model, `after step ${i}`)
    })
    assertAll(book, model, "at the end")
  }, 300_000)

  it("memory follows the levels held: sides without levels give their ladders back, far blocks shrink", () => {
    const book = new OrderBooks({ symbols: 10_000, reservedSideCount: 64, reservedFarLevelCount: 64 })
    const empty = book.byteLength
    assert.isBelow(empty, 10_000 * (64 + 24) + 64 * 524 + 64 * 12 + 1_024) // symbol blocks, far headers, small pools
    const fill = () => {
      for (let s = 0; s < 100; s++) {
        for (let k = 0; k < 50; k++) {
          book.add(s, BID, 10_000 - k * 3, 1) // 150 ticks deep: a ladder and far levels
          book.add(s, ASK, 10_001 + k * 3, 1)
        }
      }
    }
    fill()
    const full = book.byteLength
    assert.isAbove(full, empty + 200 * 512)
    for (let s = 0; s < 100; s++) assert.strictEqual(book.clear(s), OrderBook.OK)
    fill() // the same levels again: the pools hold them without growing
    assert.strictEqual(book.byteLength, full)
    for (let s = 0; s < 100; s++) {
      for (const side of [BID, ASK]) {
        while (book.best(s, side) !== OrderBook.EMPTY) book.trade(s, side, 1)
      }
    }
    fill()
    assert.strictEqual(book.byteLength, full)
  })
})

describe("OrderBook put (presence-checked set) and readTop", () => {
  it.prop(
    "put with ABSENT / PRESENT / ANY agrees with the model: the level changes only when its presence is as required",
    {
      windowTicks: Arbitrary.schema(Schema.Literals([32, 64])),
      puts: Arbitrary.array(
        Arbitrary.all({ side: int(0, 1), offset: int(0, 80), far: int(0, 9), size: int(0, 30), presence: int(0, 2) }),
        { maxLength: 300 }
      )
    },
    ({ puts, windowTicks }) => {
      const book = new OrderBooks({ symbols: 1, windowTicks })
      const model = new SortedMapBook(1)
      const top = new Float64Array(6).fill(-1)
      puts.forEach(({ far, offset, presence, side, size }, i) => {
        // Near a touch at 2,000,000, and one time in ten a million ticks beyond it.
        const distance = offset + (far === 0 ? 1_000_000 : 0)
        const price = side === BID ? 2_000_000 - distance : 2_000_100 + distance
        const had = model.levelSize(0, side, price) > 0
        const want = presence === OrderBook.ABSENT && had
          ? OrderBook.LEVEL_EXISTS
          : presence === OrderBook.PRESENT && !had
          ? OrderBook.LEVEL_MISSING
          : model.set(0, side, price, size)
        assert.strictEqual(book.put(0, side, price, size, presence), want, `put ${i}: ${size}@${price} presence ${presence}`)
        assertSame(book, model, 0, `after put ${i}`)
        assert.strictEqual(book.readTop(0, top, 1), OrderBook.OK)
        const bid = model.best(0, BID)
        const ask = model.best(0, ASK)
        assert.deepStrictEqual(Array.from(top), [
          -1,
          bid,
          bid === 0 ? 0 : model.levelSize(0, BID, bid),
          ask,
          ask === 0 ? 0 : model.levelSize(0, ASK, ask),
          -1
        ])
      })
    },
    { timeout: 300_000, arbitrary: { runs: 100, size: 300 } }
  )

  it("put checks symbol, side, price and size before presence; readTop refuses an unknown symbol", () => {
    const book = new OrderBooks({ symbols: 1 })
    book.add(0, BID, 100, 5)
    assert.strictEqual(book.put(1, BID, 100, 1, OrderBook.ABSENT), OrderBook.UNKNOWN_SYMBOL)
    assert.strictEqual(book.put(0, 2, 100, 1, OrderBook.ABSENT), OrderBook.INVALID_SIDE)
    assert.strictEqual(book.put(0, BID, 0, 1, OrderBook.ABSENT), OrderBook.PRICE_OUT_OF_RANGE)
    assert.strictEqual(book.put(0, BID, 100, 0.5, OrderBook.ABSENT), OrderBook.INVALID_SIZE)
    assert.strictEqual(book.put(0, BID, 100, 1, OrderBook.ABSENT), OrderBook.LEVEL_EXISTS)
    assert.strictEqual(book.put(0, BID, 101, 1, OrderBook.PRESENT), OrderBook.LEVEL_MISSING)
    assert.strictEqual(book.put(0, BID, 100, 0, OrderBook.PRESENT), 0)
    assert.strictEqual(book.bestBid(0), OrderBook.EMPTY)
    assert.strictEqual(book.readTop(1, new Float64Array(4), 0), OrderBook.UNKNOWN_SYMBOL)
    const error = OrderBook.fromCode(book, OrderBook.LEVEL_MISSING, { op: "set", symbol: 0, side: BID, price: 101, size: 1 })
    assert.strictEqual(error?.reason, "LevelMissing")
    assert.include(error?.message, "no level rests at price=101")
  })
})

describe("OrderBook kernel codes: a refused update leaves the book unchanged", () => {
  const fresh = () => {
    const book = new OrderBooks({ symbols: 2, windowTicks: 64, maxTick: 1_000_000 })
    book.add(0, BID, 500, 10)
    book.add(0, BID, 498, 4)
    book.add(0, ASK, 503, 6)
    return book
  }
  const refuses = (code: number, update: (book: OrderBooks) => number) => {
    const book = fresh()
    const before = snapshot(book, 2)
    assert.strictEqual(update(book), code)
    assert.strictEqual(snapshot(book, 2), before)
  }

  it("PRICE_OUT_OF_RANGE: zero, negative, fractional, NaN and beyond-maxTick prices (and nothing else)", () => {
    for (const price of [0, -5, 500.5, Number.NaN, Infinity, 1_000_001]) {
      refuses(OrderBook.PRICE_OUT_OF_RANGE, (b) => b.add(0, BID, price, 1))
      refuses(OrderBook.PRICE_OUT_OF_RANGE, (b) => b.cancel(0, BID, price, 1))
      refuses(OrderBook.PRICE_OUT_OF_RANGE, (b) => b.set(0, BID, price, 1))
      refuses(OrderBook.PRICE_OUT_OF_RANGE, (b) => b.levelSize(0, BID, price))
    }
    // Any distance from the live levels is a valid price (the windowed book refused these).
    const book = fresh()
    assert.strictEqual(book.add(0, BID, 498 + 64, 1), 1)
    assert.strictEqual(book.add(0, BID, 500 - 64, 1), 1)
    assert.strictEqual(book.add(0, BID, 1, 1), 1)
    assert.strictEqual(book.add(0, BID, 1_000_000, 1), 1)
  })

  it("INVALID_SIZE: zero, negative, fractional, NaN and infinite sizes; set accepts 0", () => {
    for (const size of [0, -1, 0.5, 2.25, Number.NaN, Infinity, -Infinity]) {
      refuses(OrderBook.INVALID_SIZE, (b) => b.add(0, BID, 500, size))
      refuses(OrderBook.INVALID_SIZE, (b) => b.cancel(0, BID, 500, size))
      refuses(OrderBook.INVALID_SIZE, (b) => b.trade(0, BID, size))
      if (size !== 0) refuses(OrderBook.INVALID_SIZE, (b) => b.set(0, BID, 500, size))
    }
    const book = fresh()
    assert.strictEqual(book.set(0, BID, 500, 0), 0)
    assert.strictEqual(book.bestBid(0), 498)
  })

  it("SIZE_OVERFLOW: a size past MAX_SAFE_INTEGER, or a level that would pass it", () => {
    refuses(OrderBook.SIZE_OVERFLOW, (b) => b.add(0, BID, 500, 2 ** 53))
    refuses(OrderBook.SIZE_OVERFLOW, (b) => b.add(0, BID, 499, 2 ** 60))
    refuses(OrderBook.SIZE_OVERFLOW, (b) => b.set(0, ASK, 503, 2 ** 53))
    refuses(OrderBook.SIZE_OVERFLOW, (b) => b.cancel(0, BID, 500, 2 ** 53))
    refuses(OrderBook.SIZE_OVERFLOW, (b) => b.add(0, BID, 500, Number.MAX_SAFE_INTEGER - 9))
    const book = fresh()
    assert.strictEqual(book.add(0, BID, 500, Number.MAX_SAFE_INTEGER - 10), Number.MAX_SAFE_INTEGER)
    assert.strictEqual(book.cancel(0, BID, 500, Number.MAX_SAFE_INTEGER), 0) // exact to the last lot
  })

  it("CANCEL_EXCEEDS_LEVEL: more than the level holds, an empty level, a trade past the best level or on an empty side", () => {
    refuses(OrderBook.CANCEL_EXCEEDS_LEVEL, (b) => b.cancel(0, BID, 500, 11))
    refuses(OrderBook.CANCEL_EXCEEDS_LEVEL, (b) => b.cancel(0, BID, 499, 1))
    refuses(OrderBook.CANCEL_EXCEEDS_LEVEL, (b) => b.cancel(0, BID, 100_000, 1)) // far away, aliasing slot
    refuses(OrderBook.CANCEL_EXCEEDS_LEVEL, (b) => b.cancel(0, ASK, 500, 1))
    refuses(OrderBook.CANCEL_EXCEEDS_LEVEL, (b) => b.trade(0, BID, 11))
    refuses(OrderBook.CANCEL_EXCEEDS_LEVEL, (b) => b.trade(1, ASK, 1))
  })

  it("UNKNOWN_SYMBOL and INVALID_SIDE, from mutations and queries alike", () => {
    for (const symbol of [-1, 2, 0.5, Number.NaN, 2 ** 32]) {
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.add(symbol, BID, 500, 1))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.cancel(symbol, BID, 500, 1))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.trade(symbol, BID, 1))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.set(symbol, BID, 500, 1))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.clear(symbol))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.bestBid(symbol))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.bestAsk(symbol))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.levelCount(symbol, BID))
      refuses(OrderBook.UNKNOWN_SYMBOL, (b) => b.depth(symbol, BID, 1, new Float64Array(2)))
    }
    for (const side of [-1, 2, 0.5, Number.NaN]) {
      refuses(OrderBook.INVALID_SIDE, (b) => b.add(0, side, 500, 1))
      refuses(OrderBook.INVALID_SIDE, (b) => b.trade(0, side, 1))
      refuses(OrderBook.INVALID_SIDE, (b) => b.best(0, side))
      refuses(OrderBook.INVALID_SIDE, (b) => b.levelSize(0, side, 500))
      refuses(OrderBook.INVALID_SIDE, (b) => b.depth(0, side, 1, new Float64Array(2)))
    }
  })

  it("the constructor throws RangeError naming the bad value", () => {
    const throwsWith = (options: OrderBook.OrderBooksOptions, text: string) =>
      assert.throws(() => new OrderBooks(options), RangeError, text)
    throwsWith({ symbols: 0 }, "symbols=0")
    throwsWith({ symbols: 1.5 }, "symbols=1.5")
    throwsWith({ symbols: 1, windowTicks: 4_100 }, "windowTicks=4100")
    throwsWith({ symbols: 1, windowTicks: 16 }, "windowTicks=16")
    throwsWith({ symbols: 1, windowTicks: 2 ** 25 }, "windowTicks=33554432")
    throwsWith({ symbols: 1, maxTick: 0 }, "maxTick=0")
    throwsWith({ symbols: 1, maxTick: 2 ** 31 }, "maxTick=2147483648")
    throwsWith({ symbols: (1 << 24) + 1 }, "symbols=16777217")
    throwsWith({ symbols: 1, reservedSideCount: 0 }, "reservedSideCount=0")
    throwsWith({ symbols: 1, windowTicks: 1 << 24, reservedSideCount: 1 << 8 }, "reservedSideCount=256 windowTicks=16777216")
    throwsWith({ symbols: 1, reservedFarLevelCount: 2 }, "reservedFarLevelCount=2")
    // More symbols × window than 2^31 slots is fine now: ladders are pooled, not allocated per symbol.
    assert.strictEqual(new OrderBooks({ symbols: (1 << 18) + 1, windowTicks: 4_096 }).add(1 << 18, ASK, 7, 1), 1)
  })
})

describe("what the bucketed book got wrong", () => {
  it("two bids in one 16-tick bucket: the bucketed best bid is 5 ticks off, this book's is exact", () => {
    const bucketed = new BucketedBook()
    const book = new OrderBooks({ symbols: 1 })
    for (const [price, size] of [[10_000, 100], [10_005, 50]] as const) {
      bucketed.add(BID, price, size)
      book.add(0, BID, price, size)
    }
    bucketed.add(ASK, 10_007, 30)
    book.add(0, ASK, 10_007, 30)
    assert.strictEqual(bucketed.best(BID), 10_000) // wrong: the best bid is 10_005
    assert.strictEqual(bucketed.best(ASK), 10_000) // wrong, and now it looks crossed
    assert.strictEqual(bucketed.levelSize(BID, 10_005), 150) // wrong: 50 rest there
    assert.strictEqual(book.bestBid(0), 10_005)
    assert.strictEqual(book.bestAsk(0), 10_007)
    assert.strictEqual(book.levelSize(0, BID, 10_005), 50)
    assert.strictEqual(book.levelSize(0, BID, 10_000), 100)
  })

  it("a cancel at one price does not zero another price in the same bucket", () => {
    const bucketed = new BucketedBook()
    const book = new OrderBooks({ symbols: 1 })
    bucketed.add(BID, 10_000, 100)
    book.add(0, BID, 10_000, 100)
    // The engine's documented failure: remove 100 at 10_005, where nothing rests.
    bucketed.cancel(BID, 10_005, 100)
    assert.strictEqual(bucketed.levelSize(BID, 10_000), 0) // the 100 at 10_000 is gone
    assert.strictEqual(bucketed.best(BID), 0) // and so is the bid side
    assert.strictEqual(book.cancel(0, BID, 10_005, 100), OrderBook.CANCEL_EXCEEDS_LEVEL)
    assert.strictEqual(book.levelSize(0, BID, 10_000), 100)
    assert.strictEqual(book.bestBid(0), 10_000)
    // A valid cancel at the neighbour touches only the neighbour.
    book.add(0, BID, 10_005, 50)
    bucketed.add(BID, 10_005, 50)
    assert.strictEqual(book.cancel(0, BID, 10_005, 50), 0)
    assert.strictEqual(book.levelSize(0, BID, 10_000), 100)
    assert.strictEqual(book.bestBid(0), 10_000)
    bucketed.cancel(BID, 10_005, 50)
    assert.strictEqual(bucketed.levelSize(BID, 10_000), 0) // still lost
  })
})

// -------------------------------------------------------------------------------------------------

describe("OrderBook Effect face", () => {
  const book = () => {
    const b = new OrderBooks({ symbols: 2, windowTicks: 64, maxTick: 1_000_000 })
    b.add(1, ASK, 700, 20)
    return b
  }

  it("fromCode maps every code to an OrderBookError naming the values, and success values to undefined", () => {
    const b = book()
    assert.isUndefined(OrderBook.fromCode(b, 0, { op: "cancel", symbol: 1, side: ASK, price: 700, size: 20 }))
    assert.isUndefined(OrderBook.fromCode(b, 35, { op: "add", symbol: 1, side: ASK, price: 700, size: 15 }))
    const cases: ReadonlyArray<readonly [OrderBook.Update, OrderBook.Reason, string]> = [
      [{ op: "add", symbol: 1, side: ASK, price: 0, size: 1 }, "PriceOutOfRange", "price=0 is not a tick in 1..1000000"],
      [{ op: "add", symbol: 1, side: ASK, price: 1_000_001, size: 1 }, "PriceOutOfRange", "price=1000001 is not a tick in 1..1000000"],
      [{ op: "add", symbol: 1, side: ASK, price: 700, size: 0.5 }, "InvalidSize", "size=0.5 is not a positive integer"],
      [{ op: "set", symbol: 1, side: ASK, price: 700, size: -1 }, "InvalidSize", "size=-1 is not a non-negative integer"],
      [{ op: "add", symbol: 1, side: ASK, price: 700, size: 2 ** 53 - 5 }, "SizeOverflow", "levelSize=20"],
      [{ op: "cancel", symbol: 1, side: ASK, price: 700, size: 21 }, "CancelExceedsLevel", "size=21 exceeds levelSize=20 at price=700"],
      [{ op: "trade", symbol: 1, side: ASK, price: 0, size: 21 }, "CancelExceedsLevel", "size=21 exceeds levelSize=20 at price=700"],
      [{ op: "trade", symbol: 1, side: BID, price: 0, size: 1 }, "CancelExceedsLevel", "traded against an empty side"],
      [{ op: "add", symbol: 9, side: ASK, price: 700, size: 1 }, "UnknownSymbol", "symbol=9 is not an index in 0..1"],
      [{ op: "add", symbol: 1, side: 3, price: 700, size: 1 }, "InvalidSide", "side=3 is neither BID (0) nor ASK (1)"]
    ]
    for (const [update, reason, text] of cases) {
      const code = OrderBook.applyUnsafe(b, update)
      assert.isBelow(code, 0)
      assert.strictEqual(OrderBook.reasonOf(code), reason)
      const error = OrderBook.fromCode(b, code, update)
      assert.instanceOf(error, OrderBook.OrderBookError)
      assert.strictEqual(error?._tag, "OrderBookError")
      assert.strictEqual(error?.reason, reason)
      assert.strictEqual(error?.symbol, update.symbol)
      assert.strictEqual(error?.size, update.size)
      assert.include(error?.message, text)
    }
    const trade = OrderBook.fromCode(b, OrderBook.CANCEL_EXCEEDS_LEVEL, { op: "trade", symbol: 1, side: ASK, price: 0, size: 21 })
    assert.strictEqual(trade?.price, 700)
    assert.strictEqual(trade?.levelSize, 20)
    assert.strictEqual(b.levelSize(1, ASK, 700), 20) // every refusal left the book as it was
  })

  it.effect("apply succeeds with the level's new size or fails with the typed error", () =>
    Effect.gen(function*() {
      const b = yield* OrderBook.make({ symbols: 1 })
      assert.strictEqual(yield* OrderBook.apply(b, { op: "add", symbol: 0, side: BID, price: 99, size: 8 }), 8)
      assert.strictEqual(yield* OrderBook.apply(b, { op: "trade", symbol: 0, side: BID, price: 0, size: 3 }), 5)
      assert.strictEqual(yield* OrderBook.apply(b, { op: "set", symbol: 0, side: BID, price: 99, size: 2 }), 2)
      const error = yield* Effect.flip(OrderBook.apply(b, { op: "cancel", symbol: 0, side: BID, price: 99, size: 3 }))
      assert.strictEqual(error.reason, "CancelExceedsLevel")
      assert.strictEqual(error.levelSize, 2)
      assert.strictEqual(b.levelSize(0, BID, 99), 2)
    }))

  it.effect("make with a bad window dies with the constructor's RangeError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(OrderBook.make({ symbols: 1, windowTicks: 100 }))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "windowTicks=100")
    }))
})
