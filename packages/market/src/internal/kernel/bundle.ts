/**
 * Bundle validation (kernel tier): numeric codes, no `effect` import, no allocation, no throw.
 *
 * A valid bundle holds `count` transactions with `1 ≤ count ≤ maxCount`, a flush reason that is one of
 * Size (0), Timeout (1), Drain (2), and `firstTxId ≤ lastTxId` (bundles are runs of a stream whose ids
 * increase). Checked in that order; the first failure is the code.
 */
import type { RecordLayout } from "@velox/core"

type FieldAccessor = RecordLayout.FieldAccessor

/** The bundle is valid. */
export const OK = 0 as const
/** `count` is outside `1 .. maxCount` (an empty bundle, or more than a bundle may hold). */
export const COUNT_OUT_OF_RANGE = -1 as const
/** `reason` is none of Size (0), Timeout (1), Drain (2). */
export const BAD_FLUSH_REASON = -2 as const
/** `lastTxId` is below `firstTxId` (or either is NaN). */
export const TX_IDS_OUT_OF_ORDER = -3 as const

export type ErrorCode = typeof COUNT_OUT_OF_RANGE | typeof BAD_FLUSH_REASON | typeof TX_IDS_OUT_OF_ORDER

/** Reason names indexed by `-code - 1` (declare them as a stage's `errors`). */
export const REASONS = ["CountOutOfRange", "BadFlushReason", "TxIdsOutOfOrder"] as const

/** The most transactions one bundle may hold (the Bundler's largest `maxSize`). */
export const MAX_COUNT = 65_536

/** Validates a bundle given as numbers. */
export const validateFields = (count: number, reason: number, firstTxId: number, lastTxId: number, maxCount: number): number => {
  if (!(count >= 1 && count <= maxCount && Math.floor(count) === count)) return COUNT_OUT_OF_RANGE
  if (reason !== 0 && reason !== 1 && reason !== 2) return BAD_FLUSH_REASON
  if (!(firstTxId <= lastTxId)) return TX_IDS_OUT_OF_ORDER
  return OK
}

/** The fields of the Bundle layout the validator reads. */
export interface BundleFields {
  readonly count: number
  readonly reason: number
  readonly firstTxId: number
  readonly lastTxId: number
}

/** Validates the bundle at `slot` of `view`: {@link OK} or a negative code. Allocation-free. */
export const validateView = (
  view: { readonly fields: { readonly [K in keyof BundleFields]: FieldAccessor } },
  slot: number,
  maxCount: number
): number => {
  const f = view.fields
  return validateFields(f.count.get(slot), f.reason.get(slot), f.firstTxId.get(slot), f.lastTxId.get(slot), maxCount)
}
