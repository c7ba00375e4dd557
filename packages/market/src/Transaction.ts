/**
 * A transaction of the engine: an order-flow event for one symbol — a new resting order (`Add`), a
 * cancel of resting size (`Cancel`), or a trade against the best level (`Trade`).
 *
 * Two tiers. In a hot loop, {@link validateUnsafe} checks a record in a ring slot and returns `0` or a
 * negative code (allocation-free; a stage counts and dead-letters a bad record with
 * `out.deadLetter(deadLetterCode(code), input, slot)` under `errors: reasons`). At the Effect face,
 * {@link make} builds a record or fails with a {@link TransactionError} naming the values, and
 * {@link schema} validates plain objects at the edges.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as kernel from "./internal/kernel/transaction.ts"
import { RecordLayout } from "@velox/core"

export {
  /** @category errors @since 0.1.0 */
  BAD_ID,
  /** @category errors @since 0.1.0 */
  BAD_KIND,
  /** @category errors @since 0.1.0 */
  BAD_SIDE,
  /** @category errors @since 0.1.0 */
  BAD_TIMESTAMP,
  /** @category errors @since 0.1.0 */
  NON_FINITE_PRICE,
  /** @category errors @since 0.1.0 */
  NON_FINITE_SIZE,
  /** @category errors @since 0.1.0 */
  NON_INTEGER_PRICE,
  /** @category errors @since 0.1.0 */
  NON_INTEGER_SIZE,
  /** @category errors @since 0.1.0 */
  NON_POSITIVE_PRICE,
  /** @category errors @since 0.1.0 */
  NON_POSITIVE_SIZE,
  /** @category models @since 0.1.0 */
  OK,
  /** @category errors @since 0.1.0 */
  OVERFLOW,
  /** @category errors @since 0.1.0 */
  SYMBOL_OUT_OF_RANGE
} from "./internal/kernel/transaction.ts"
export type { ErrorCode } from "./internal/kernel/transaction.ts"

/**
 * What a transaction does to the book.
 *
 * @category layout
 * @since 0.1.0
 */
export const Kind = { Add: 0, Cancel: 1, Trade: 2 } as const

/**
 * Which side of the book: bids (buy) or asks (sell). For a `Trade`, the side of the resting liquidity
 * it takes (a trade on `Ask` lifts the best offer), at that side's best price.
 *
 * @category layout
 * @since 0.1.0
 */
export const Side = { Bid: 0, Ask: 1 } as const

/**
 * 40 bytes: `id` and `tsNs` (nanoseconds from the pipeline epoch) as f64 (exact to 2^53), `price` in
 * ticks and `size` in lots as f64 holding integers.
 *
 * @category layout
 * @since 0.1.0
 */
export const Transaction = RecordLayout.make("Transaction", {
  id: "f64",
  tsNs: "f64",
  price: "f64",
  size: "f64",
  symbol: "u32",
  side: "u16",
  kind: "u16"
})

/**
 * A transaction as a plain object.
 *
 * @category models
 * @since 0.1.0
 */
export type TransactionRecord = RecordLayout.RecordOf<typeof Transaction.spec>

/**
 * What a transaction is checked against: the number of symbols of the book (valid symbols are
 * `0 .. symbols - 1`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly symbols: number
}

/**
 * The reason names in code order: `reasons[-code - 1]` is the reason of `code`. Declare them as a
 * stage's `errors` so its dead letters decode under these names.
 *
 * @category errors
 * @since 0.1.0
 */
export const reasons: ReadonlyArray<Reason> = kernel.REASONS

/**
 * Why a transaction is invalid. `BadSide`/`BadKind`: not one of {@link Side}/{@link Kind}.
 * `NonPositive*`, `NonFinite*`, `NonInteger*`: the price (ticks) or size (lots) is not a positive whole
 * number. `SymbolOutOfRange`: not an index below `symbols`. `Overflow`: the price, size, id or
 * timestamp is past `Number.MAX_SAFE_INTEGER`. `BadId`: not a non-negative integer. `BadTimestamp`:
 * NaN, infinite or negative.
 *
 * @category errors
 * @since 0.1.0
 */
export const Reason = Schema.Literals(kernel.REASONS)

/**
 * @category errors
 * @since 0.1.0
 */
export type Reason = typeof Reason.Type

/**
 * An invalid transaction, naming every value of it, the `symbols` it was checked against, and what
 * was wrong in `message`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Transaction } from "@velox/market"
 *
 * const bad = { id: 7, tsNs: 0, price: 0, size: 5, symbol: 1, side: 0, kind: 0 }
 * Effect.runPromise(Effect.flip(Transaction.make(bad, { symbols: 4 }))).then((e) =>
 *   console.log(e.reason, e.message) // NonPositivePrice price=0 is not positive (id=7 symbol=1 bid add)
 * )
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class TransactionError extends Schema.TaggedError<TransactionError>()("TransactionError", {
  reason: Reason,
  id: Schema.Number,
  tsNs: Schema.Number,
  price: Schema.Number,
  size: Schema.Number,
  symbol: Schema.Number,
  side: Schema.Number,
  kind: Schema.Number,
  symbols: Schema.Number,
  message: Schema.String
}) {}

/**
 * Checks the transaction at `slot` of a record view against a book of `symbols` symbols: `0` (OK) or
 * a negative code. Allocation-free, never throws: for the hot loop.
 *
 * @example
 * ```ts
 * import { RecordLayout } from "@velox/core"
 * import { Transaction } from "@velox/market"
 *
 * const view = RecordLayout.view(Transaction.Transaction, new ArrayBuffer(40), 0, 1)
 * RecordLayout.writeUnsafe(view, 0, { id: 1, tsNs: 10, price: 100, size: 3, symbol: 9, side: 0, kind: 0 })
 * const code = Transaction.validateUnsafe(view, 0, 8)
 * console.log(code === Transaction.SYMBOL_OUT_OF_RANGE, Transaction.reasonOf(code)) // true SymbolOutOfRange
 * ```
 *
 * @category unsafe
 * @since 0.1.0
 */
export const validateUnsafe: (
  view: RecordLayout.RecordView<typeof Transaction.spec>,
  slot: number,
  symbols: number
) => number = kernel.validateView

/**
 * Checks a transaction given as a plain object: `0` (OK) or a negative code.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const validateRecordUnsafe = (fields: TransactionRecord, symbols: number): number =>
  kernel.validateFields(fields.id, fields.tsNs, fields.price, fields.size, fields.symbol, fields.side, fields.kind, symbols)

/**
 * The reason of a code, or `undefined` for `OK` (or anything that is not a transaction code).
 *
 * @category errors
 * @since 0.1.0
 */
export const reasonOf = (code: number): Reason | undefined => kernel.REASONS[-code - 1]

/**
 * The error index a stage declaring `errors: Transaction.reasons` dead-letters a record with:
 * `out.deadLetter(Transaction.deadLetterCode(code), input, slot)`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { RecordLayout, Stage } from "@velox/core"
 * import { Transaction } from "@velox/market"
 *
 * export const Validate = Stage.make({
 *   name: "validate",
 *   module: import.meta.url,
 *   input: Transaction.Transaction,
 *   output: Transaction.Transaction,
 *   config: Schema.Struct({ symbols: Schema.Int }),
 *   errors: Transaction.reasons,
 *   make: ({ symbols }) => ({
 *     onBatch(input, start, count, out) {
 *       for (let i = start; i < start + count; i++) {
 *         const code = Transaction.validateUnsafe(input, i, symbols)
 *         if (code !== Transaction.OK) out.deadLetter(Transaction.deadLetterCode(code), input, i)
 *         else RecordLayout.copyRecords(input, i, out.view, out.emit(), 1)
 *       }
 *     }
 *   })
 * })
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export const deadLetterCode = (code: number): number => -code - 1

const sideName = (side: number): string => (side === Side.Bid ? "bid" : side === Side.Ask ? "ask" : `side=${side}`)
const kindName = (kind: number): string =>
  kind === Kind.Add ? "add" : kind === Kind.Cancel ? "cancel" : kind === Kind.Trade ? "trade" : `kind=${kind}`
const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** What failed, naming the value and the rule. */
const detailOf = (reason: Reason, t: TransactionRecord, symbols: number): string => {
  switch (reason) {
    case "BadSide":
      return `side=${t.side} is neither Bid (0) nor Ask (1)`
    case "BadKind":
      return `kind=${t.kind} is none of Add (0), Cancel (1), Trade (2)`
    case "SymbolOutOfRange":
      return `symbol=${t.symbol} is not an index in 0..${symbols - 1}`
    case "NonPositivePrice":
      return `price=${t.price} is not positive`
    case "NonFinitePrice":
      return `price=${t.price} is not finite`
    case "NonIntegerPrice":
      return `price=${t.price} is not a whole number of ticks`
    case "NonPositiveSize":
      return `size=${t.size} is not positive`
    case "NonFiniteSize":
      return `size=${t.size} is not finite`
    case "NonIntegerSize":
      return `size=${t.size} is not a whole number of lots`
    case "Overflow": {
      const field = t.price > MAX_SAFE ? `price=${t.price}` : t.size > MAX_SAFE ? `size=${t.size}` : t.id > MAX_SAFE
        ? `id=${t.id}`
        : `tsNs=${t.tsNs}`
      return `${field} is past Number.MAX_SAFE_INTEGER (${MAX_SAFE})`
    }
    case "BadId":
      return `id=${t.id} is not a non-negative integer`
    case "BadTimestamp":
      return `tsNs=${t.tsNs} is not a finite non-negative number of nanoseconds`
  }
}

/**
 * Maps a code to a {@link TransactionError} naming the transaction's values; `undefined` for `OK`.
 *
 * @category errors
 * @since 0.1.0
 */
export const fromCode = (code: number, fields: TransactionRecord, options: Options): TransactionError | undefined => {
  const reason = reasonOf(code)
  if (reason === undefined) return undefined
  const { id, kind, price, side, size, symbol, tsNs } = fields
  const where = reason === "BadSide" || reason === "BadKind"
    ? `id=${id} symbol=${symbol}`
    : `id=${id} symbol=${symbol} ${sideName(side)} ${kindName(kind)}`
  return new TransactionError({
    reason,
    id,
    tsNs,
    price,
    size,
    symbol,
    side,
    kind,
    symbols: options.symbols,
    message: `${detailOf(reason, fields, options.symbols)} (${where})`
  })
}

/** Only the layout's fields, in layout order (a caller's object may carry more). */
const pick = (f: TransactionRecord): TransactionRecord => ({
  id: f.id,
  tsNs: f.tsNs,
  price: f.price,
  size: f.size,
  symbol: f.symbol,
  side: f.side,
  kind: f.kind
})

/**
 * Builds a transaction, throwing a {@link TransactionError} when it is invalid. See {@link make}.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeUnsafe = (fields: TransactionRecord, options: Options): TransactionRecord => {
  const error = fromCode(validateRecordUnsafe(fields, options.symbols), fields, options)
  if (error !== undefined) throw error
  return pick(fields)
}

/**
 * Builds a transaction for a book of `options.symbols` symbols, or fails with a
 * {@link TransactionError} naming the values.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Transaction } from "@velox/market"
 *
 * const program = Effect.gen(function*() {
 *   const t = yield* Transaction.make(
 *     { id: 1, tsNs: 1_000, price: 10_001, size: 20, symbol: 0, side: Transaction.Side.Ask, kind: Transaction.Kind.Add },
 *     { symbols: 8 }
 *   )
 *   return t.price
 * })
 * Effect.runPromise(program).then(console.log) // 10001
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (fields: TransactionRecord, options: Options): Effect.Effect<TransactionRecord, TransactionError> =>
  Effect.suspend(() => {
    const error = fromCode(validateRecordUnsafe(fields, options.symbols), fields, options)
    return error === undefined ? Effect.succeed(pick(fields)) : Effect.fail(error)
  })

/**
 * The Schema of a valid transaction for a book of `options.symbols` symbols: the layout's Schema
 * (integers in their field's range) plus the domain checks of {@link validateUnsafe}, whose failure
 * message is the {@link TransactionError}'s. For decoding input at the edges (a file, a socket).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Transaction } from "@velox/market"
 *
 * const decode = Schema.decodeUnknownSync(Transaction.schema({ symbols: 4 }))
 * decode({ id: 1, tsNs: 5, price: 100, size: 1, symbol: 3, side: 1, kind: 2 }) // ok
 * decode({ id: 2, tsNs: 5, price: 100, size: 0, symbol: 3, side: 1, kind: 2 }) // throws: size=0 is not positive …
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const schema = (options: Options): Schema.Codec<TransactionRecord> =>
  RecordLayout.schema(Transaction).check(
    Schema.makeFilter((t: TransactionRecord) => {
      const error = fromCode(validateRecordUnsafe(t, options.symbols), t, options)
      return error === undefined ? undefined : error.message
    })
  )
