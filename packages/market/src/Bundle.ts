/**
 * A bundle: a run of consecutive book updates closed by size, by timeout, or by the drain.
 *
 * Two tiers, like {@link Transaction}: {@link validateUnsafe} returns a code in a hot loop; {@link make}
 * fails with a {@link BundleError} naming the values.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as kernel from "./internal/kernel/bundle.ts"
import { RecordLayout } from "@velox/core"

export {
  /** @category errors @since 0.1.0 */
  BAD_FLUSH_REASON,
  /** @category errors @since 0.1.0 */
  COUNT_OUT_OF_RANGE,
  /** @category layout @since 0.1.0 */
  MAX_COUNT,
  /** @category models @since 0.1.0 */
  OK,
  /** @category errors @since 0.1.0 */
  TX_IDS_OUT_OF_ORDER
} from "./internal/kernel/bundle.ts"
export type { ErrorCode } from "./internal/kernel/bundle.ts"

/**
 * Why a bundle was closed.
 *
 * @category layout
 * @since 0.1.0
 */
export const FlushReason = { Size: 0, Timeout: 1, Drain: 2 } as const

/**
 * The names of the flush reasons, by code: what output writes (e.g. `NodeFileSink`'s `labels:
 * { reason: Bundle.FLUSH_REASON_NAMES }`).
 *
 * @category models
 * @since 0.1.0
 */
export const FLUSH_REASON_NAMES: ReadonlyArray<string> = ["size", "timeout", "drain"]

/**
 * The name of a flush reason as written in output (`"size"`, `"timeout"`, `"drain"`), or
 * `"reason=<n>"` for a value that is none of them.
 *
 * @category models
 * @since 0.1.0
 */
export const flushReasonName = (reason: number): string => FLUSH_REASON_NAMES[reason] ?? `reason=${reason}`

/**
 * 48 bytes. `count` transactions, `firstTxId`..`lastTxId`, opened at `openNs` (the first
 * transaction's timestamp) and closed at `closeNs` (the pipeline clock reading that timed it out, or
 * for a bundle closed by size or by the drain the newest transaction timestamp in it).
 *
 * @category layout
 * @since 0.1.0
 */
export const Bundle = RecordLayout.make("Bundle", {
  id: "f64",
  firstTxId: "f64",
  lastTxId: "f64",
  openNs: "f64",
  closeNs: "f64",
  count: "u32",
  reason: "u32"
})

/**
 * A bundle as a plain object.
 *
 * @category models
 * @since 0.1.0
 */
export type BundleRecord = RecordLayout.RecordOf<typeof Bundle.spec>

/**
 * What a bundle is checked against: the most transactions it may hold (default {@link MAX_COUNT}).
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly maxCount?: number
}

/**
 * `CountOutOfRange`: `count` outside `1..maxCount` (an empty bundle, or an oversized one).
 * `BadFlushReason`: `reason` is none of {@link FlushReason}. `TxIdsOutOfOrder`: `lastTxId < firstTxId`.
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
 * The reason names in code order (`reasons[-code - 1]`); declare them as a stage's `errors`.
 *
 * @category errors
 * @since 0.1.0
 */
export const reasons: ReadonlyArray<Reason> = kernel.REASONS

/**
 * An invalid bundle, naming its values, the `maxCount` it was checked against, and what was wrong.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle } from "@velox/market"
 *
 * const empty = { id: 3, firstTxId: 10, lastTxId: 10, openNs: 0, closeNs: 0, count: 0, reason: Bundle.FlushReason.Drain }
 * Effect.runPromise(Effect.flip(Bundle.make(empty, { maxCount: 16 }))).then((e) =>
 *   console.log(e.reason, e.message) // CountOutOfRange count=0 is outside 1..16 (bundle id=3)
 * )
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class BundleError extends Schema.TaggedError<BundleError>()("BundleError", {
  reason: Reason,
  id: Schema.Number,
  count: Schema.Number,
  maxCount: Schema.Number,
  flushReason: Schema.Number,
  firstTxId: Schema.Number,
  lastTxId: Schema.Number,
  message: Schema.String
}) {}

/**
 * Checks the bundle at `slot` of a record view: `0` (OK) or a negative code. Allocation-free.
 *
 * @example
 * ```ts
 * import { RecordLayout } from "@velox/core"
 * import { Bundle } from "@velox/market"
 *
 * const view = RecordLayout.view(Bundle.Bundle, new ArrayBuffer(48), 0, 1)
 * RecordLayout.writeUnsafe(view, 0, { id: 0, firstTxId: 1, lastTxId: 16, openNs: 0, closeNs: 9, count: 16, reason: 0 })
 * console.log(Bundle.validateUnsafe(view, 0, 16)) // 0
 * ```
 *
 * @category unsafe
 * @since 0.1.0
 */
export const validateUnsafe: (
  view: RecordLayout.RecordView<typeof Bundle.spec>,
  slot: number,
  maxCount: number
) => number = kernel.validateView

/**
 * Checks a bundle given as a plain object: `0` (OK) or a negative code.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const validateRecordUnsafe = (fields: BundleRecord, maxCount: number): number =>
  kernel.validateFields(fields.count, fields.reason, fields.firstTxId, fields.lastTxId, maxCount)

/**
 * The reason of a code, or `undefined` for `OK`.
 *
 * @category errors
 * @since 0.1.0
 */
export const reasonOf = (code: number): Reason | undefined => kernel.REASONS[-code - 1]

/**
 * The error index for `out.deadLetter` in a stage declaring `errors: Bundle.reasons`.
 *
 * @category errors
 * @since 0.1.0
 */
export const deadLetterCode = (code: number): number => -code - 1

/**
 * Maps a code to a {@link BundleError} naming the bundle's values; `undefined` for `OK`.
 *
 * @category errors
 * @since 0.1.0
 */
export const fromCode = (code: number, fields: BundleRecord, options: Options = {}): BundleError | undefined => {
  const reason = reasonOf(code)
  if (reason === undefined) return undefined
  const maxCount = options.maxCount ?? kernel.MAX_COUNT
  const detail = reason === "CountOutOfRange"
    ? `count=${fields.count} is outside 1..${maxCount}`
    : reason === "BadFlushReason"
    ? `reason=${fields.reason} is none of Size (0), Timeout (1), Drain (2)`
    : `lastTxId=${fields.lastTxId} is below firstTxId=${fields.firstTxId}`
  return new BundleError({
    reason,
    id: fields.id,
    count: fields.count,
    maxCount,
    flushReason: fields.reason,
    firstTxId: fields.firstTxId,
    lastTxId: fields.lastTxId,
    message: `${detail} (bundle id=${fields.id})`
  })
}

/**
 * Builds a bundle, or fails with a {@link BundleError} (count outside `1..maxCount`, an unknown flush
 * reason, transaction ids out of order).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Bundle } from "@velox/market"
 *
 * const program = Bundle.make(
 *   { id: 0, firstTxId: 0, lastTxId: 15, openNs: 100, closeNs: 900, count: 16, reason: Bundle.FlushReason.Size },
 *   { maxCount: 16 }
 * )
 * Effect.runPromise(program).then((b) => console.log(b.count)) // 16
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (fields: BundleRecord, options: Options = {}): Effect.Effect<BundleRecord, BundleError> =>
  Effect.suspend(() => {
    const error = fromCode(validateRecordUnsafe(fields, options.maxCount ?? kernel.MAX_COUNT), fields, options)
    return error === undefined
      ? Effect.succeed({
        id: fields.id,
        firstTxId: fields.firstTxId,
        lastTxId: fields.lastTxId,
        openNs: fields.openNs,
        closeNs: fields.closeNs,
        count: fields.count,
        reason: fields.reason
      })
      : Effect.fail(error)
  })
