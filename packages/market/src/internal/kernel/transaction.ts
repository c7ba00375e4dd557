/**
 * Transaction validation (kernel tier): one function per record, numeric codes, no `effect` import,
 * no allocation, no throw.
 *
 * A valid transaction has: `side` Bid (0) or Ask (1); `kind` Add (0), Cancel (1) or Trade (2); `symbol`
 * an integer index below the book's `symbols`; `price` (ticks) and `size` (lots) positive integers no
 * larger than `Number.MAX_SAFE_INTEGER`; `id` a non-negative integer and `tsNs` a finite non-negative
 * number of nanoseconds, both no larger than `Number.MAX_SAFE_INTEGER`.
 *
 * The checks run in a fixed order and the first failure is the code: side, kind, symbol, price, size,
 * id, timestamp. Within a number: non-finite (NaN, ±∞) → not positive → past the safe range → not an
 * integer. So a record with one defect always gets that defect's code.
 */
import type { RecordLayout } from "@velox/core"

type FieldAccessor = RecordLayout.FieldAccessor

/** The record is valid. */
export const OK = 0 as const
/** `side` is neither Bid (0) nor Ask (1). */
export const BAD_SIDE = -1 as const
/** `kind` is none of Add (0), Cancel (1), Trade (2). */
export const BAD_KIND = -2 as const
/** `price` is zero or negative. */
export const NON_POSITIVE_PRICE = -3 as const
/** `price` is NaN or infinite. */
export const NON_FINITE_PRICE = -4 as const
/** `price` is not a whole number of ticks. */
export const NON_INTEGER_PRICE = -5 as const
/** `size` is zero or negative. */
export const NON_POSITIVE_SIZE = -6 as const
/** `size` is NaN or infinite. */
export const NON_FINITE_SIZE = -7 as const
/** `size` is not a whole number of lots. */
export const NON_INTEGER_SIZE = -8 as const
/** `symbol` is not an integer in `0 .. symbols - 1`. */
export const SYMBOL_OUT_OF_RANGE = -9 as const
/** `price`, `size`, `id` or `tsNs` is past `Number.MAX_SAFE_INTEGER`, where f64 integers stop being exact. */
export const OVERFLOW = -10 as const
/** `id` is not a non-negative integer (NaN, negative, fractional). */
export const BAD_ID = -11 as const
/** `tsNs` is NaN, infinite or negative. */
export const BAD_TIMESTAMP = -12 as const

export type ErrorCode =
  | typeof BAD_SIDE
  | typeof BAD_KIND
  | typeof NON_POSITIVE_PRICE
  | typeof NON_FINITE_PRICE
  | typeof NON_INTEGER_PRICE
  | typeof NON_POSITIVE_SIZE
  | typeof NON_FINITE_SIZE
  | typeof NON_INTEGER_SIZE
  | typeof SYMBOL_OUT_OF_RANGE
  | typeof OVERFLOW
  | typeof BAD_ID
  | typeof BAD_TIMESTAMP

/**
 * The reason names, indexed by `-code - 1`: a stage declaring `errors: REASONS` dead-letters a record
 * with `out.deadLetter(-code - 1, input, slot)` and its dead letters decode under these names.
 */
export const REASONS = [
  "BadSide",
  "BadKind",
  "NonPositivePrice",
  "NonFinitePrice",
  "NonIntegerPrice",
  "NonPositiveSize",
  "NonFiniteSize",
  "NonIntegerSize",
  "SymbolOutOfRange",
  "Overflow",
  "BadId",
  "BadTimestamp"
] as const

const MAX_SAFE = Number.MAX_SAFE_INTEGER

/** The code of a price or a size (positive, finite, safe, whole), given that field's three codes. */
const quantityCode = (x: number, nonPositive: number, nonFinite: number, nonInteger: number): number => {
  // One comparison on the good path: NaN fails every comparison, so it falls through to the checks.
  if (x >= 1 && x <= MAX_SAFE && Math.floor(x) === x) return OK
  if (x !== x || x === Infinity || x === -Infinity) return nonFinite
  if (x <= 0) return nonPositive
  if (x > MAX_SAFE) return OVERFLOW
  return nonInteger // fractional, including 0 < x < 1
}

/** Validates one transaction given as numbers. Returns {@link OK} or the first failing code. */
export const validateFields = (
  id: number,
  tsNs: number,
  price: number,
  size: number,
  symbol: number,
  side: number,
  kind: number,
  symbols: number
): number => {
  if (side !== 0 && side !== 1) return BAD_SIDE
  if (kind !== 0 && kind !== 1 && kind !== 2) return BAD_KIND
  // `symbol < symbols` is false for NaN; Math.floor rules out fractions (a record view's u32 is whole).
  if (!(symbol >= 0 && symbol < symbols && Math.floor(symbol) === symbol)) return SYMBOL_OUT_OF_RANGE
  const p = quantityCode(price, NON_POSITIVE_PRICE, NON_FINITE_PRICE, NON_INTEGER_PRICE)
  if (p !== OK) return p
  const s = quantityCode(size, NON_POSITIVE_SIZE, NON_FINITE_SIZE, NON_INTEGER_SIZE)
  if (s !== OK) return s
  if (!(id >= 0 && id <= MAX_SAFE && Math.floor(id) === id)) return id > MAX_SAFE && id !== Infinity ? OVERFLOW : BAD_ID
  if (!(tsNs >= 0 && tsNs <= MAX_SAFE)) return tsNs > MAX_SAFE && tsNs !== Infinity ? OVERFLOW : BAD_TIMESTAMP
  return OK
}

/** The fields of the Transaction layout the validator reads. */
export interface TransactionFields {
  readonly id: number
  readonly tsNs: number
  readonly price: number
  readonly size: number
  readonly symbol: number
  readonly side: number
  readonly kind: number
}

/**
 * Validates the transaction at `slot` of `view` against a book of `symbols` symbols. Returns {@link OK}
 * (0) or a negative code. Allocation-free: reads seven fields through the view's accessors.
 */
export const validateView = (
  view: { readonly fields: { readonly [K in keyof TransactionFields]: FieldAccessor } },
  slot: number,
  symbols: number
): number => {
  const f = view.fields
  return validateFields(
    f.id.get(slot),
    f.tsNs.get(slot),
    f.price.get(slot),
    f.size.get(slot),
    f.symbol.get(slot),
    f.side.get(slot),
    f.kind.get(slot),
    symbols
  )
}
