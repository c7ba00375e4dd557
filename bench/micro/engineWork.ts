/**
 * What every case of the `engine` suite shares: the engine's settings, the reference checksum of the
 * bundles a run must have produced, and the exactness check of a book against the generator's own
 * record of what it put at each level.
 */
import { OrderBook, OutputTotals } from "@velox/market"
import { BAND_TICKS, type OrderFlow } from "@velox/market/unsafe"

/** The engine's defaults (`npm start`): 8 symbols, bundles of 16. One seed for every case. */
export const ENGINE = { symbols: 8, seed: 42, bundleSize: 16 } as const

/**
 * Output's checksum for transactions `from .. from + n − 1` bundled by `size` with no timeout: ⌊n/size⌋
 * full bundles, then one bundle of the rest (the drain flush), folded onto `checksum`.
 */
export const bundleChecksumOf = (n: number, size: number, from = 0, checksum = 0): number => {
  let first = from
  const end = from + n
  for (; first + size <= end; first += size) checksum = OutputTotals.checksumOf(checksum, first, first + size - 1, size)
  if (first < end) checksum = OutputTotals.checksumOf(checksum, first, end - 1, end - first)
  return checksum
}

/**
 * Throws unless `book` holds exactly what `flow` put on it: per symbol and side, the same best price
 * and the same size at every tick of the band around the generator's mid (where all resting size lives).
 */
export const checkBookAgainstFlow = (label: string, book: OrderBook.OrderBooks, flow: OrderFlow): void => {
  for (let s = 0; s < flow.symbols; s++) {
    for (const side of [OrderBook.BID, OrderBook.ASK]) {
      if (book.best(s, side) !== flow.best(s, side)) {
        throw new Error(`${label}: symbol ${s} side ${side}: best ${book.best(s, side)}, generator says ${flow.best(s, side)}`)
      }
      const mid = flow.mid(s)
      for (let p = mid - BAND_TICKS - 1; p <= mid + BAND_TICKS + 1; p++) {
        if (book.levelSize(s, side, p) !== flow.levelSize(s, side, p)) {
          throw new Error(
            `${label}: symbol ${s} side ${side} tick ${p}: size ${book.levelSize(s, side, p)}, generator says ${flow.levelSize(s, side, p)}`
          )
        }
      }
    }
  }
}
