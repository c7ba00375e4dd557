/**
 * Exact price-level order books for many symbols: aggregate size per integer price tick, exact best
 * bid / best ask, cancels that touch only their own price.
 *
 * Two tiers. The kernel ({@link OrderBooks}) is what hot loops use: `add` / `cancel` / `trade` / `set`
 * return the level's new size or a negative code, allocate nothing and never throw. The Effect face
 * maps a code to a typed {@link OrderBookError} ({@link fromCode}) and applies one update as an
 * `Effect` ({@link apply}).
 *
 Every valid level is accepted, however far from the touch: each side keeps a dense ladder of
 * `windowTicks` ticks (default 128) that follows the best price, and the levels beyond it in a sorted
 * array; levels move between the two as the touch moves. Memory grows with the levels the books hold
 * (88 bytes per symbol, a 260-byte ladder per side with levels, 12 bytes per level beyond the ladder),
 * not with symbols × price range. Sizes are integer lots (16-bit in the ladder, with an overflow path
 * past 65,534: exact to 2^53 − 1).
 *
 * @example
 * ```ts
 * import { OrderBook } from "@velox/market"
 *
 * const books = new OrderBook.OrderBooks({ symbols: 2 })
 * books.add(0, OrderBook.BID, 10_000, 100)
 * books.add(0, OrderBook.BID, 1, 5) // a stale order 9,999 ticks below: kept, exactly
 * books.add(0, OrderBook.BID, 10_005, 50)
 * books.add(0, OrderBook.ASK, 10_007, 30)
 * books.cancel(0, OrderBook.BID, 10_005, 50)
 * console.log(books.bestBid(0), books.bestAsk(0)) // 10000 10007
 * console.log(books.levelSize(0, OrderBook.BID, 10_000)) // 100
 *
 * const top = new Float64Array(2 * 5)
 * const n = books.depth(0, OrderBook.BID, 5, top) // n = 2, top = [10000, 100, 1, 5, ...]
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as kernel from "./internal/kernel/orderBook.ts"

export {
  /** @category models @since 0.1.0 */
  ABSENT,
  /** @category models @since 0.1.0 */
  ANY,
  /** @category models @since 0.1.0 */
  ASK,
  /** @category models @since 0.1.0 */
  BID,
  /** @category errors @since 0.1.0 */
  CANCEL_EXCEEDS_LEVEL,
  /** @category layout @since 0.1.0 */
  DEFAULT_WINDOW_TICKS,
  /** @category models @since 0.1.0 */
  EMPTY,
  /** @category errors @since 0.1.0 */
  INVALID_SIDE,
  /** @category errors @since 0.1.0 */
  INVALID_SIZE,
  /** @category errors @since 0.1.0 */
  LEVEL_EXISTS,
  /** @category errors @since 0.1.0 */
  LEVEL_MISSING,
  /** @category layout @since 0.1.0 */
  MAX_SIZE,
  /** @category layout @since 0.1.0 */
  MAX_SYMBOLS,
  /** @category layout @since 0.1.0 */
  MAX_TICK,
  /** @category layout @since 0.1.0 */
  MAX_WINDOW_TICKS,
  /** @category layout @since 0.1.0 */
  MIN_WINDOW_TICKS,
  /** @category models @since 0.1.0 */
  OK,
  /** @category unsafe @since 0.1.0 */
  OrderBooks,
  /** @category models @since 0.1.0 */
  PRESENT,
  /** @category errors @since 0.1.0 */
  PRICE_OUT_OF_RANGE,
  /** @category errors @since 0.1.0 */
  SIZE_OVERFLOW,
  /** @category errors @since 0.1.0 */
  UNKNOWN_SYMBOL
} from "./internal/kernel/orderBook.ts"
export type { ErrorCode, OrderBooksOptions, Side } from "./internal/kernel/orderBook.ts"

/**
 * Why an update was refused. `PriceOutOfRange`: not a tick in `1 .. maxTick`. `InvalidSize`: not a positive integer (or NaN/∞).
 * `SizeOverflow`: the level would pass `Number.MAX_SAFE_INTEGER`. `CancelExceedsLevel`: a cancel or
 * trade of more than the level holds. `UnknownSymbol`, `InvalidSide`: bad indices. `LevelExists`,
 * `LevelMissing`: a `put` that required the level absent or present.
 *
 * @category errors
 * @since 0.1.0
 */
export const Reason = Schema.Literals([
  "PriceOutOfRange",
  "SizeOverflow",
  "CancelExceedsLevel",
  "InvalidSize",
  "UnknownSymbol",
  "InvalidSide",
  "LevelExists",
  "LevelMissing"
])

/**
 * @category errors
 * @since 0.1.0
 */
export type Reason = typeof Reason.Type

/**
 * An update the book refused, naming the values: the symbol, side, price and size of the update, the
 * size the level held (`levelSize`, when the symbol and side were valid) and a message.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OrderBook } from "@velox/market"
 *
 * const books = new OrderBook.OrderBooks({ symbols: 1 })
 * const program = OrderBook.apply(books, { op: "cancel", symbol: 0, side: OrderBook.BID, price: 100, size: 5 })
 * Effect.runPromise(Effect.flip(program)).then((e) => console.log(e.reason, e.levelSize)) // CancelExceedsLevel 0
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class OrderBookError extends Schema.TaggedError<OrderBookError>()("OrderBookError", {
  reason: Reason,
  symbol: Schema.Number,
  side: Schema.Number,
  price: Schema.Number,
  size: Schema.Number,
  levelSize: Schema.optionalKey(Schema.Number),
  message: Schema.String
}) {}

/**
 * One update in plain-object form (the Effect tier; hot loops call the kernel methods directly).
 * For `trade` the price is ignored: a trade takes from the best level.
 *
 * @category models
 * @since 0.1.0
 */
export interface Update {
  readonly op: "add" | "cancel" | "trade" | "set"
  readonly symbol: number
  readonly side: number
  readonly price: number
  readonly size: number
}

/**
 * The reason for a kernel code, or `undefined` for a success value (≥ 0).
 *
 * @category errors
 * @since 0.1.0
 */
export const reasonOf = (code: number): Reason | undefined => {
  switch (code) {
    case kernel.PRICE_OUT_OF_RANGE:
      return "PriceOutOfRange"
    case kernel.INVALID_SIZE:
      return "InvalidSize"
    case kernel.SIZE_OVERFLOW:
      return "SizeOverflow"
    case kernel.CANCEL_EXCEEDS_LEVEL:
      return "CancelExceedsLevel"
    case kernel.UNKNOWN_SYMBOL:
      return "UnknownSymbol"
    case kernel.INVALID_SIDE:
      return "InvalidSide"
    case kernel.LEVEL_EXISTS:
      return "LevelExists"
    case kernel.LEVEL_MISSING:
      return "LevelMissing"
    default:
      return undefined
  }
}

const sideName = (side: number): string => (side === kernel.BID ? "bid" : side === kernel.ASK ? "ask" : `side ${side}`)

/**
 * Maps a kernel code to an {@link OrderBookError} naming the values; `undefined` when `code` is a
 * success value (≥ 0). Call it right after the refused update: a refused update changes nothing, so the
 * book still shows why (the level's size).
 *
 * @example
 * ```ts
 * import { OrderBook } from "@velox/market"
 *
 * const books = new OrderBook.OrderBooks({ symbols: 1 })
 * const update = { op: "add", symbol: 0, side: OrderBook.ASK, price: 0, size: 10 } as const
 * const code = books.add(update.symbol, update.side, update.price, update.size)
 * const error = OrderBook.fromCode(books, code, update)
 * console.log(error?.message) // add refused: price=0 is not a tick in 1..2147483647 (symbol=0 ask)
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export const fromCode = (
  book: kernel.OrderBooks,
  code: number,
  update: Update
): OrderBookError | undefined => {
  const reason = reasonOf(code)
  if (reason === undefined) return undefined
  const { op, side, size, symbol } = update
  const validIndices = reason !== "UnknownSymbol" && reason !== "InvalidSide"
  const best = validIndices ? book.best(symbol, side) : kernel.EMPTY
  // A trade has no price of its own: it is refused at the best level (or at an empty side).
  const price = op === "trade" ? best : update.price
  const isTick = Number.isInteger(price) && price >= 1 && price <= book.maxTick
  const levelSize = validIndices && isTick ? book.levelSize(symbol, side, price) : undefined
  const where = `(symbol=${symbol} ${sideName(side)})`
  let detail: string
  switch (reason) {
    case "UnknownSymbol":
      detail = `symbol=${symbol} is not an index in 0..${book.symbols - 1}`
      break
    case "InvalidSide":
      detail = `side=${side} is neither BID (0) nor ASK (1) (symbol=${symbol})`
      break
    case "InvalidSize":
      detail = `size=${size} is not a ${op === "set" ? "non-negative" : "positive"} integer ${where}`
      break
    case "SizeOverflow":
      detail = `size=${size} at price=${price} would take the level (levelSize=${levelSize ?? 0}) past ${kernel.MAX_SIZE} ${where}`
      break
    case "CancelExceedsLevel":
      detail = op === "trade" && best === kernel.EMPTY
        ? `size=${size} traded against an empty side ${where}`
        : `size=${size} exceeds levelSize=${levelSize ?? 0} at price=${price} ${where}`
      break
    case "PriceOutOfRange":
      detail = `price=${price} is not a tick in 1..${book.maxTick} ${where}`
      break
    case "LevelExists":
      detail = `a level of levelSize=${levelSize ?? 0} rests at price=${price} already ${where}`
      break
    case "LevelMissing":
      detail = `no level rests at price=${price} ${where}`
      break
  }
  return new OrderBookError({
    reason,
    symbol,
    side,
    price,
    size,
    ...(levelSize !== undefined ? { levelSize } : {}),
    message: `${op} refused: ${detail}`
  })
}

/**
 * Applies one update with the kernel (no validation beyond the kernel's own). Returns the level's new
 * size or the code.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const applyUnsafe = (book: kernel.OrderBooks, update: Update): number => {
  switch (update.op) {
    case "add":
      return book.add(update.symbol, update.side, update.price, update.size)
    case "cancel":
      return book.cancel(update.symbol, update.side, update.price, update.size)
    case "trade":
      return book.trade(update.symbol, update.side, update.size)
    case "set":
      return book.set(update.symbol, update.side, update.price, update.size)
  }
}

/**
 * Applies one update, succeeding with the level's new size or failing with an {@link OrderBookError}
 * (the book unchanged).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OrderBook } from "@velox/market"
 *
 * const program = Effect.gen(function*() {
 *   const books = yield* OrderBook.make({ symbols: 4 })
 *   yield* OrderBook.apply(books, { op: "add", symbol: 3, side: OrderBook.ASK, price: 2_501, size: 40 })
 *   yield* OrderBook.apply(books, { op: "trade", symbol: 3, side: OrderBook.ASK, price: 0, size: 15 })
 *   return books.levelSize(3, OrderBook.ASK, 2_501) // 25
 * })
 * Effect.runPromise(program).then(console.log)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const apply = (book: kernel.OrderBooks, update: Update): Effect.Effect<number, OrderBookError> =>
  Effect.suspend(() => {
    const code = applyUnsafe(book, update)
    const error = fromCode(book, code, update)
    return error === undefined ? Effect.succeed(code) : Effect.fail(error)
  })

/**
 * Makes an empty set of books. Bad options (not a power-of-two window, no symbols, …) are programming
 * errors: the constructor's `RangeError` becomes a defect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { OrderBook } from "@velox/market"
 *
 * const books = Effect.runSync(OrderBook.make({ symbols: 10_000, reservedSideCount: 20_000 }))
 * console.log(books.byteLength) // 10,000 × 88 B per symbol + 20,000 × 260 B of ladders + 12 KiB of far pool
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: kernel.OrderBooksOptions): Effect.Effect<kernel.OrderBooks> =>
  Effect.sync(() => new kernel.OrderBooks(options))
