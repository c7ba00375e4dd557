/**
 * The peers of the exact order book (`packages/market/src/internal/kernel/orderBook.ts`), measured beside
 * it in `orderBookUpdates.ts`: the original engine's approximate bucketed book and a naive sorted map.
 * Both have the kernel's method shapes (`add` / `cancel` / `trade` return the level's new size or a
 * negative code, `bestBid` / `bestAsk` return a tick or 0), so the timed loops are the same code.
 */
import { ASK, BID } from "@velox/market/unsafe"

/**
 * Both peers check their input as the kernel does (symbol, side, integer tick, positive integer size,
 * no overflow), as the old engine did too (`Transaction::new` validated side, price and size; the book
 * used `checked_add`): the three books do the same input work, so the figures differ by how each keeps
 * its levels. A refused update returns this code.
 */
export const BAD_INPUT = -1
const MAX_SIZE = Number.MAX_SAFE_INTEGER

/**
 * The original engine's book: one level per 16-tick bucket in a fixed ring of buckets, best price =
 * bucket × 16 (up to 15 ticks off), a cancel takes size off the whole bucket and saturates at zero
 * (so it can erase another price's size). Cheap, and wrong.
 */
export class BucketedBook {
  private readonly sizes: Float64Array
  private readonly best: Int32Array
  private readonly count: Int32Array
  private readonly symbols: number
  private readonly buckets: number
  private readonly mask: number

  constructor(symbols: number, windowTicks: number) {
    this.symbols = symbols
    this.buckets = windowTicks >>> 4
    this.mask = this.buckets - 1
    this.sizes = new Float64Array(symbols * 2 * this.buckets)
    this.best = new Int32Array(symbols * 2)
    this.count = new Int32Array(symbols * 2)
  }

  add(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)
    ) return BAD_INPUT
    const l = symbol * 2 + side
    const b = price >> 4
    const i = l * this.buckets + (b & this.mask)
    const old = this.sizes[i]!
    if (old + size > MAX_SIZE) return BAD_INPUT // checked_add
    if (old === 0) {
      const n = this.count[l]!
      if (n === 0 || (side === BID ? b > this.best[l]! : b < this.best[l]!)) this.best[l] = b
      this.count[l] = n + 1
    }
    this.sizes[i] = old + size
    return old + size
  }

  cancel(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)
    ) return BAD_INPUT
    return this.take(symbol * 2 + side, side, price >> 4, size)
  }

  trade(symbol: number, side: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)
    ) return BAD_INPUT
    const l = symbol * 2 + side
    return this.count[l] === 0 ? BAD_INPUT : this.take(l, side, this.best[l]!, size)
  }

  bestBid(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return BAD_INPUT
    const l = symbol * 2
    return this.count[l] === 0 ? 0 : this.best[l]! * 16
  }

  bestAsk(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return BAD_INPUT
    const l = symbol * 2 + 1
    return this.count[l] === 0 ? 0 : this.best[l]! * 16
  }

  private take(l: number, side: number, b: number, size: number): number {
    const base = l * this.buckets
    const i = base + (b & this.mask)
    const old = this.sizes[i]!
    if (old > size) {
      this.sizes[i] = old - size
      return old - size
    }
    if (old === 0) return 0
    this.sizes[i] = 0 // saturates: whatever else rested in this bucket is gone too
    const n = this.count[l]! - 1
    this.count[l] = n
    if (n === 0 || b !== this.best[l]) return 0
    const step = side === BID ? -1 : 1
    let next = b + step
    for (let k = 1; k < this.buckets && this.sizes[base + (next & this.mask)] === 0; k++) next += step
    this.best[l] = next
    return 0
  }
}

/**
 * A naive exact book: per side a `Map` of price → size and an ascending array of prices kept sorted
 * by binary-search insert and `splice` delete. Best bid is the last price, best ask the first.
 */
export class SortedMapBook {
  private readonly symbols: number
  private readonly sizes: Array<Map<number, number>>
  private readonly prices: Array<Array<number>>

  constructor(symbols: number) {
    this.symbols = symbols
    this.sizes = Array.from({ length: symbols * 2 }, () => new Map<number, number>())
    this.prices = Array.from({ length: symbols * 2 }, () => [])
  }

  add(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)
    ) return BAD_INPUT
    const l = symbol * 2 + side
    const m = this.sizes[l]!
    const old = m.get(price)
    if (old === undefined) {
      const a = this.prices[l]!
      a.splice(lowerBound(a, price), 0, price)
      m.set(price, size)
      return size
    }
    if (old + size > MAX_SIZE) return BAD_INPUT
    m.set(price, old + size)
    return old + size
  }

  cancel(symbol: number, side: number, price: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        (price | 0) === price && price >= 1 && size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)
    ) return BAD_INPUT
    return this.take(symbol * 2 + side, price, size)
  }

  trade(symbol: number, side: number, size: number): number {
    if (
      !((symbol >>> 0) === symbol && symbol < this.symbols && (side === BID || side === ASK) &&
        size >= 1 && size <= MAX_SIZE && Math.floor(size) === size)
    ) return BAD_INPUT
    const best = side === BID ? this.bestBid(symbol) : this.bestAsk(symbol)
    return best === 0 ? BAD_INPUT : this.take(symbol * 2 + side, best, size)
  }

  bestBid(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return BAD_INPUT
    const a = this.prices[symbol * 2]!
    return a.length === 0 ? 0 : a[a.length - 1]!
  }

  bestAsk(symbol: number): number {
    if (!((symbol >>> 0) === symbol && symbol < this.symbols)) return BAD_INPUT
    const a = this.prices[symbol * 2 + 1]!
    return a.length === 0 ? 0 : a[0]!
  }

  /** Generator helpers: number of levels, and the price of the k-th level from the top. */
  levelCount(symbol: number, side: number): number {
    return this.prices[symbol * 2 + side]!.length
  }

  levelAt(symbol: number, side: number, k: number): number {
    const a = this.prices[symbol * 2 + side]!
    return side === BID ? a[a.length - 1 - k]! : a[k]!
  }

  levelSize(symbol: number, side: number, price: number): number {
    return this.sizes[symbol * 2 + side]!.get(price) ?? 0
  }

  private take(l: number, price: number, size: number): number {
    const m = this.sizes[l]!
    const old = m.get(price)
    if (old === undefined || size > old) return BAD_INPUT
    if (size === old) {
      m.delete(price)
      const a = this.prices[l]!
      a.splice(lowerBound(a, price), 1)
      return 0
    }
    m.set(price, old - size)
    return old - size
  }
}

/** First index in the ascending `a` whose value is ≥ `x`. */
export const lowerBound = (a: ReadonlyArray<number>, x: number): number => {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}
