/**
 * The order books' options from a book stage's config (`OrderBookStage`, `L2BookStage`), and the check
 * of a config's ladder reservation.
 */
import { DEFAULT_WINDOW_TICKS, MAX_TICK, type OrderBooksOptions } from "./kernel/orderBook.ts"

interface BookFields {
  readonly symbols: number
  readonly windowTicks?: number | undefined
  readonly maxTick?: number | undefined
  readonly reserveLadders?: boolean | undefined
}

/** A reservation of every side's ladder must fit the pool's 2^31 slots. */
export const reservationError = (c: BookFields): string | undefined =>
  c.reserveLadders === true && 2 * c.symbols * (c.windowTicks ?? DEFAULT_WINDOW_TICKS) > 2 ** 31
    ? `reserveLadders needs 2 × symbols × windowTicks ≤ 2^31, got ${2 * c.symbols * (c.windowTicks ?? DEFAULT_WINDOW_TICKS)}`
    : undefined

/** The books' options from a stage's config. */
export const bookOptions = (c: BookFields): OrderBooksOptions => ({
  symbols: c.symbols,
  windowTicks: c.windowTicks ?? DEFAULT_WINDOW_TICKS,
  maxTick: c.maxTick ?? MAX_TICK,
  ...(c.reserveLadders === true ? { reserveLadders: true } : {})
})
