/**
 * The peer of velox's L2 books (`L2Books`: exact books, sequencing, top of book) in the `l2` suite: the
 * same work done the plain way — per side a `Map` of price → size and an ascending array of prices kept
 * sorted by binary-search insert and `splice` delete; per symbol a sequence number and the last top of
 * book published. It sequences (a gap makes the symbol stale until a snapshot), applies
 * `Add` / `Update` / `Delete` with the same presence rules, snapshots (begin clears, levels set, end
 * goes live) and publishes the top of book when it changes. Outcomes use the kernel's codes, so one
 * checksum covers both. It does not validate fields (the benchmark's flow has no bad records) nor count
 * status events: it does less than velox, never more.
 */
import { L2BooksKernel as K } from "@velox/market/unsafe"
import { lowerBound } from "./orderBookPeers.ts"

const ADD = 0
const UPDATE = 1
const SNAPSHOT_BEGIN = 3
const SNAPSHOT_LEVEL = 4
const LIVE = 1
const STALE = 2
const RESYNCING = 3

export class SortedMapL2 {
  readonly sizes: Array<Map<number, number>>
  readonly prices: Array<Array<number>>
  private readonly sync: Uint8Array
  private readonly seq: Float64Array
  private readonly top: Float64Array
  bidPrice = 0
  askPrice = 0

  constructor(symbols: number) {
    this.sizes = Array.from({ length: symbols * 2 }, () => new Map<number, number>())
    this.prices = Array.from({ length: symbols * 2 }, () => [])
    this.sync = new Uint8Array(symbols)
    this.seq = new Float64Array(symbols)
    this.top = new Float64Array(symbols * 4)
  }

  apply(symbol: number, op: number, side: number, price: number, size: number, seq: number): number {
    const state = this.sync[symbol]!
    if (op < SNAPSHOT_BEGIN) {
      if (state !== LIVE) return K.DROPPED_STALE
      const next = this.seq[symbol]!
      if (seq !== next) {
        if (seq < next) return K.DROPPED_DUPLICATE
        this.sync[symbol] = STALE
        return K.DROPPED_STALE
      }
      this.seq[symbol] = next + 1
      const l = symbol * 2 + side
      const m = this.sizes[l]!
      const had = m.has(price)
      if (op === ADD ? had : !had) {
        this.sync[symbol] = STALE
        return op === ADD ? -7 : -8 // LEVEL_EXISTS, LEVEL_MISSING
      }
      if (op === ADD) this.insert(l, price, size)
      else if (op === UPDATE && size !== 0) m.set(price, size)
      else this.remove(l, price)
      return this.publish(symbol)
    }
    if (op === SNAPSHOT_BEGIN) {
      for (const l of [symbol * 2, symbol * 2 + 1]) {
        this.sizes[l]!.clear()
        this.prices[l]!.length = 0
      }
      this.sync[symbol] = RESYNCING
      this.seq[symbol] = seq
      return K.APPLIED
    }
    if (state !== RESYNCING || seq !== this.seq[symbol]) return K.DROPPED_STALE
    if (op === SNAPSHOT_LEVEL) {
      const l = symbol * 2 + side
      if (this.sizes[l]!.has(price)) this.sizes[l]!.set(price, size)
      else this.insert(l, price, size)
      return K.APPLIED
    }
    this.sync[symbol] = LIVE
    this.seq[symbol] = seq + 1
    this.publish(symbol)
    return K.APPLIED_TOP
  }

  /** Levels of `symbol`, `side`, best first (for checks). */
  levels(symbol: number, side: number): Array<[number, number]> {
    const l = symbol * 2 + side
    const a = this.prices[l]!
    const ordered = side === 0 ? [...a].reverse() : a
    return ordered.map((p) => [p, this.sizes[l]!.get(p)!])
  }

  private insert(l: number, price: number, size: number): void {
    const a = this.prices[l]!
    a.splice(lowerBound(a, price), 0, price)
    this.sizes[l]!.set(price, size)
  }

  private remove(l: number, price: number): void {
    const a = this.prices[l]!
    a.splice(lowerBound(a, price), 1)
    this.sizes[l]!.delete(price)
  }

  private publish(symbol: number): number {
    const bids = this.prices[symbol * 2]!
    const asks = this.prices[symbol * 2 + 1]!
    const bid = bids.length === 0 ? 0 : bids[bids.length - 1]!
    const ask = asks.length === 0 ? 0 : asks[0]!
    const bidSize = bid === 0 ? 0 : this.sizes[symbol * 2]!.get(bid)!
    const askSize = ask === 0 ? 0 : this.sizes[symbol * 2 + 1]!.get(ask)!
    const t = symbol * 4
    const top = this.top
    if (bid === top[t] && bidSize === top[t + 1] && ask === top[t + 2] && askSize === top[t + 3]) return K.APPLIED
    top[t] = bid
    top[t + 1] = bidSize
    top[t + 2] = ask
    top[t + 3] = askSize
    this.bidPrice = bid
    this.askPrice = ask
    return K.APPLIED_TOP
  }
}
