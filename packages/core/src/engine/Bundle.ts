/**
 * A bundle: a run of consecutive book updates closed by size, by timeout, or by the drain.
 *
 * @since 0.1.0
 */
import * as RecordLayout from "../RecordLayout.ts"

/**
 * Why a bundle was closed.
 *
 * @category layout
 * @since 0.1.0
 */
export const FlushReason = { Size: 0, Timeout: 1, Drain: 2 } as const

/**
 * 48 bytes. `count` transactions, `firstTxId`..`lastTxId`, opened at `openNs` (the first
 * transaction's timestamp) and closed at `closeNs` (the pipeline clock when it closed).
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
