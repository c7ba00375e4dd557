/**
 * The order book stage of the transaction engine: applies each {@link Transaction} to exact
 * price-level books (the {@link OrderBooks} kernel, one per symbol) and emits a {@link BookUpdate}
 * with the level it touched and the symbol's best bid / best ask after the change.
 *
 *   Transaction ─▶ order-book ─▶ BookUpdate
 *                      │
 *                      └─▶ dead letters: PriceOutOfRange | InvalidSize | SizeOverflow |
 *                          CancelExceedsLevel | UnknownSymbol | InvalidSide | BadKind
 *
 * Per record, allocation-free and without a throw:
 *
 * - `kind` is checked first (`Add`, `Cancel` or `Trade`; anything else is dead-lettered `BadKind`);
 *   then the kernel checks, inline and in this order, the symbol (an index below `symbols`), the side
 *   (`Bid` or `Ask`), the price (an integer tick in `1 .. maxTick`, at any distance from the touch;
 *   not for a trade) and the size (a positive integer up to 2^53 − 1).
 * - `Add` adds `size` lots at `price`; `Cancel` removes `size` lots at `price` (never more than the
 *   level holds, never at another price); `Trade` removes `size` lots from the best level of `side`,
 *   the resting side it executes against (`Bid`: a sell hit the best bid).
 * - **A trade's `price` field is ignored**: an L2 book has no orders to match, so a trade takes from
 *   the best level (as {@link OrderBook.Update} does), and more than that level holds is refused
 *   (`CancelExceedsLevel`) rather than swept through several levels. The emitted update's `price` is
 *   the tick the trade executed at (the best level before it), so downstream sees where it happened.
 * - On success one `BookUpdate` is emitted: `txId`, `tsNs`, `symbol`, `side`, `kind` copied, `price`
 *   the level touched, `levelSize` its size after the change (0: the level is gone), `bestBid` /
 *   `bestAsk` the symbol's top of book after it (0 for an empty side).
 * - A refused transaction leaves the book unchanged and is dead-lettered with the error whose tag is
 *   the kernel's {@link OrderBook.Reason}: kernel code `c` (−1 … −6) is error `-c - 1`. The stage never
 *   stops for a bad record, and every record ends emitted or dead-lettered (nothing retained).
 *
 * Snapshots. The stage emits top of book with every update; a deeper view is a control-plane read:
 * {@link snapshot}`(book, symbol, n)` (exported from `@velox/core` as `bookSnapshot`) returns the top
 * `n` levels of both sides as a plain object, allocating. `OrderBookStage.make(config)` returns logic
 * that carries its `book` and a `snapshot(symbol)` using the config's `depth`, for code that drives the
 * logic in-process (tests, replay tools, a custom loop). In a running pipeline the books live in the
 * stage's loop, possibly in another thread, and only that loop reads them.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { OrderBookStage } from "@velox/market"
 * import { CountingBookSink, TransactionFeed } from "./myStages.ts" // a Transaction source, a BookUpdate sink
 *
 * const pipeline = Pipeline.from(TransactionFeed, {})
 *   .via(OrderBookStage, { symbols: 8 }, { placement: "worker" })
 *   .to(CountingBookSink, {})
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import {
  ASK,
  BID,
  MAX_SYMBOLS,
  MAX_TICK,
  MAX_WINDOW_TICKS,
  MIN_WINDOW_TICKS,
  OrderBooks
} from "./internal/kernel/orderBook.ts"
import { bookOptions, reservationError } from "./internal/bookConfig.ts"
import type { Reason } from "./OrderBook.ts"
import { Stage } from "@velox/core"
import { BookUpdate } from "./BookUpdate.ts"
import { Kind, Transaction } from "./Transaction.ts"

// ---------------------------------------------------------------------------------------------------
// Config

const intIn = (name: string, minimum: number, maximum: number) =>
  Schema.Number.check(
    Schema.makeFilter((n: number) =>
      Number.isInteger(n) && n >= minimum && n <= maximum
        ? undefined
        : `${name} must be an integer in ${minimum}..${maximum}, got ${n}`
    )
  )

const WindowTicks = Schema.Number.check(
  Schema.makeFilter((n: number) =>
    Number.isInteger(n) && n >= MIN_WINDOW_TICKS && n <= MAX_WINDOW_TICKS && (n & (n - 1)) === 0
      ? undefined
      : `windowTicks must be a power of two in ${MIN_WINDOW_TICKS}..${MAX_WINDOW_TICKS}, got ${n}`
  )
)

/**
 * The stage's config: `symbols` (books for symbols `0 .. symbols - 1`), `windowTicks` (ticks of the
 * dense ladder each side keeps around its best price, a power of two in 32..2^24, default 128; levels
 * beyond it are kept too, in a sorted array), `maxTick` (highest valid tick, default 2^31 − 1) and
 * `depth` (levels per side in `logic.snapshot(symbol)`, default 5). The books take 88 bytes per symbol
 * plus `windowTicks × 2` bytes per side with levels plus 12–48 bytes per level beyond the ladder
 * (see {@link OrderBook}). `reserveLadders: true` reserves a ladder for every side up front
 * (`symbols × 2 × windowTicks × 2` bytes from the start, whatever the books hold): each side's
 * ladder then sits at an address computed from its symbol, so an update's ladder slot is loaded
 * alongside the symbol's block instead of after it — for books whose symbols are all busy.
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  symbols: intIn("symbols", 1, MAX_SYMBOLS),
  windowTicks: Schema.optional(WindowTicks),
  maxTick: Schema.optional(intIn("maxTick", 1, MAX_TICK)),
  depth: Schema.optional(intIn("depth", 1, MAX_WINDOW_TICKS)),
  reserveLadders: Schema.optional(Schema.Boolean)
}).check(Schema.makeFilter((c) => reservationError(c)))

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * Default `depth` of `logic.snapshot(symbol)`: the top 5 levels per side.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_DEPTH = 5

// ---------------------------------------------------------------------------------------------------
// Errors

/**
 * The stage's error tags by code. Codes 0..5 are the kernel's refusals, in kernel-code order
 * (code `c` → `-c - 1`), named as {@link OrderBook.Reason}; `BadKind` is a `kind` that is none of
 * `Add`, `Cancel`, `Trade`. Dead letters come back from a run as `RecordFailed` with `error` one of these.
 *
 * @category errors
 * @since 0.1.0
 */
export const errors = [
  "PriceOutOfRange", // PRICE_OUT_OF_RANGE  −1
  "InvalidSize", //     INVALID_SIZE        −2
  "SizeOverflow", //    SIZE_OVERFLOW       −3
  "CancelExceedsLevel", // CANCEL_EXCEEDS_LEVEL −4
  "UnknownSymbol", //   UNKNOWN_SYMBOL      −5
  "InvalidSide", //     INVALID_SIDE        −6
  "BadKind"
] as const satisfies ReadonlyArray<Reason | "BadKind">

/**
 * A declared error tag of the stage.
 *
 * @category errors
 * @since 0.1.0
 */
export type ErrorTag = typeof errors[number]

/**
 * Error code of a transaction whose `kind` is not `Add`, `Cancel` or `Trade`.
 *
 * @category errors
 * @since 0.1.0
 */
export const BAD_KIND = 6 as const

/**
 * The stage's error code for a negative kernel code (`-code - 1`).
 *
 * @example
 * ```ts
 * import { OrderBook, OrderBookStage } from "@velox/market"
 *
 * const code = -OrderBook.CANCEL_EXCEEDS_LEVEL - 1 // 3, as errorCodeOf computes it
 * console.log(OrderBookStage.errors[code]) // CancelExceedsLevel
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export const errorCodeOf = (kernelCode: number): number => -kernelCode - 1

// ---------------------------------------------------------------------------------------------------
// Snapshots

const Level = Schema.Tuple([Schema.Number, Schema.Number])

/**
 * The top levels of one symbol's book, best first: `bids` from the highest price down, `asks` from
 * the lowest up, each level `[price, size]` (ticks, lots). A control-plane value (JSON-friendly).
 *
 * @category models
 * @since 0.1.0
 */
export const BookSnapshot = Schema.Struct({
  symbol: Schema.Number,
  bids: Schema.Array(Level),
  asks: Schema.Array(Level)
})

/**
 * @category models
 * @since 0.1.0
 */
export type BookSnapshot = typeof BookSnapshot.Type

const levels = (book: OrderBooks, symbol: number, side: number, n: number): Array<readonly [number, number]> => {
  const out = new Float64Array(2 * n)
  const k = book.depth(symbol, side, n, out)
  const result: Array<readonly [number, number]> = []
  for (let i = 0; i < k; i++) result.push([out[2 * i]!, out[2 * i + 1]!])
  return result
}

/**
 * The top `n` levels of both sides of `symbol` (fewer where the side has fewer). Allocates: for the
 * control plane, not per record. Throws `RangeError` for an unknown symbol or a bad `n`.
 *
 * @example
 * ```ts
 * import { OrderBook, bookSnapshot } from "@velox/market"
 *
 * const books = new OrderBook.OrderBooks({ symbols: 1 })
 * books.add(0, OrderBook.BID, 10_000, 100)
 * books.add(0, OrderBook.BID, 10_005, 50)
 * books.add(0, OrderBook.ASK, 10_007, 30)
 * console.log(bookSnapshot(books, 0, 5))
 * // { symbol: 0, bids: [[10005, 50], [10000, 100]], asks: [[10007, 30]] }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const snapshot = (book: OrderBooks, symbol: number, n: number): BookSnapshot => {
  if (!(Number.isInteger(symbol) && symbol >= 0 && symbol < book.symbols)) {
    throw new RangeError(`symbol must be an index in 0..${book.symbols - 1}: symbol=${symbol}`)
  }
  if (!(Number.isInteger(n) && n >= 0 && n <= MAX_WINDOW_TICKS)) {
    throw new RangeError(`n must be an integer in 0..${MAX_WINDOW_TICKS}: n=${n}`)
  }
  return { symbol, bids: levels(book, symbol, BID, n), asks: levels(book, symbol, ASK, n) }
}

// ---------------------------------------------------------------------------------------------------
// The logic

/**
 * The stage's logic: a `StageLogic` that also exposes its books, for in-process use.
 *
 * @category models
 * @since 0.1.0
 */
export interface OrderBookLogic extends Stage.StageLogic<typeof Transaction.spec, typeof BookUpdate.spec> {
  /** The books the logic applies transactions to (read them between batches, on the same thread). */
  readonly book: OrderBooks
  /** {@link snapshot} of `symbol`, `n` levels per side (default: the config's `depth`). */
  snapshot(symbol: number, n?: number): BookSnapshot
}

const ADD = Kind.Add
const CANCEL = Kind.Cancel
const TRADE = Kind.Trade

/**
 * Builds the stage's logic for a decoded config: fresh, empty books (the kernel constructor throws
 * `RangeError` for a config that did not pass {@link Config}). It is the definition's `make`, so
 * `OrderBookStage.make(config)` drives the stage in-process; `logic.book` and `logic.snapshot` then
 * read its state between batches.
 *
 * @example
 * ```ts
 * import { type RecordLayout, type Stage } from "@velox/core"
 * import { OrderBookStage } from "@velox/market"
 *
 * const logic = OrderBookStage.make({ symbols: 2, depth: 3 })
 * declare const transactions: RecordLayout.RecordView<typeof OrderBookStage.input.spec>
 * declare const out: Stage.Emitter<typeof OrderBookStage.output.spec>
 * logic.onBatch(transactions, 0, transactions.slotCount, out)
 * console.log(logic.snapshot(0)) // { symbol: 0, bids: [up to 3 [price, size] levels], asks: [...] }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLogic = (config: Config): OrderBookLogic => {
  const book = new OrderBooks(bookOptions(config))
  const depth = config.depth ?? DEFAULT_DEPTH
  return {
    book,
    snapshot: (symbol, n = depth) => snapshot(book, symbol, n),
    onBatch(input, start, count, out) {
      // Accessors in locals: one property load per batch, not per record.
      const f = input.fields
      const idIn = f.id, tsIn = f.tsNs, priceIn = f.price, sizeIn = f.size
      const symbolIn = f.symbol, sideIn = f.side, kindIn = f.kind
      const o = out.view.fields
      const end = start + count
      for (let i = start; i < end; i++) {
        const kind = kindIn.get(i)
        const symbol = symbolIn.get(i)
        const side = sideIn.get(i)
        const size = sizeIn.get(i)
        let price: number
        let result: number
        if (kind === ADD) {
          price = priceIn.get(i)
          result = book.add(symbol, side, price, size)
        } else if (kind === CANCEL) {
          price = priceIn.get(i)
          result = book.cancel(symbol, side, price, size)
        } else if (kind === TRADE) {
          // The trade executes at the best level before it (a code when symbol/side are bad: then the
          // trade is refused too, and this price is never written).
          price = book.best(symbol, side)
          result = book.trade(symbol, side, size)
        } else {
          out.deadLetter(BAD_KIND, input, i)
          continue
        }
        // Refused: the book is unchanged; the kernel code names the error (−1..−6 → 0..5).
        if (result < 0) {
          out.deadLetter(-result - 1, input, i)
          continue
        }
        const slot = out.emit()
        o.txId.set(slot, idIn.get(i))
        o.tsNs.set(slot, tsIn.get(i))
        o.price.set(slot, price)
        o.levelSize.set(slot, result)
        o.bestBid.set(slot, book.bestBid(symbol))
        o.bestAsk.set(slot, book.bestAsk(symbol))
        o.symbol.set(slot, symbol)
        o.side.set(slot, side)
        o.kind.set(slot, kind)
      }
    }
  }
}

/**
 * The order book stage: `Transaction` in, `BookUpdate` out, refused transactions dead-lettered with
 * their reason. It retains no records, so a restart loses only the books' contents, never a record —
 * and it says so: it declares `keepsState`, so a restart counts as state lost (`stats()`, `health()`,
 * `/metrics`, the ledger) instead of an empty book passing for the real one. (Snapshotting every book
 * at every pass would cost more than the book's own work; feeds that can resend a book — L2 snapshots —
 * rebuild it, see `L2BookStage`.) It handles one record at a time, so batch boundaries and placement do
 * not change its output.
 * `make` is typed as {@link makeLogic} (it is that function), so in-process callers get the books.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { OrderBookStage } from "@velox/market"
 * import { CaptureSink, ReplaySource } from "@velox/core/testing"
 *
 * const { input: Transaction, output: BookUpdate } = OrderBookStage
 * const bid = { id: 1, tsNs: 0, price: 10_000, size: 100, symbol: 0, side: 0, kind: 0 } // Bid, Add
 * const captured = CaptureSink.allocate(BookUpdate, 16)
 * const program = Pipeline.runToEnd(
 *   Pipeline.from(ReplaySource.make(Transaction), ReplaySource.encode(Transaction, [[bid]]))
 *     .via(OrderBookStage, { symbols: 4 })
 *     .to(CaptureSink.make(BookUpdate), captured)
 * ).pipe(Effect.map(({ deadLetters }) => ({ updates: CaptureSink.records(BookUpdate, captured), deadLetters })))
 * // updates: [{ txId: 1, price: 10000, levelSize: 100, bestBid: 10000, bestAsk: 0, … }], deadLetters: []
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const OrderBookStage: OrderBookStageDefinition = Stage.make({
  name: "order-book",
  module: import.meta.url,
  input: Transaction,
  output: BookUpdate,
  config: Config,
  errors,
  keepsState: true,
  make: makeLogic
}) as OrderBookStageDefinition

/**
 * The stage definition's type: a `StageDefinition` whose input and output layouts are known to be
 * there and whose `make` returns {@link OrderBookLogic}.
 *
 * @category models
 * @since 0.1.0
 */
export interface OrderBookStageDefinition
  extends Stage.StageDefinition<typeof Transaction.spec, typeof BookUpdate.spec, Config>
{
  readonly input: typeof Transaction
  readonly output: typeof BookUpdate
  readonly errors: typeof errors
  readonly make: (config: Config) => OrderBookLogic
}
