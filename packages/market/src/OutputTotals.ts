/**
 * What the engine's output stages (`Output`, `OutputRelay`) count, and how to read it back: the names
 * of their counters and gauge, the checksum they fold every bundle into, and {@link read}, their
 * totals over every instance in a pipeline's `stats()`.
 *
 * @since 0.1.0
 */
import type { PipelineSnapshot } from "@velox/core"

/**
 * The stage name both output stages have.
 *
 * @category models
 * @since 0.1.0
 */
export const NAME = "output"

/**
 * The counters both stages declare (in `stats()`, the dashboard and `/metrics`): bundles and
 * transactions received (the sum of the bundles' `count`s) and flushes per reason.
 *
 * @category metrics
 * @since 0.1.0
 */
export const counters = ["bundles", "transactions", "sizeFlushes", "timeoutFlushes", "drainFlushes"] as const

/**
 * The gauge both stages declare: the checksum of the bundles received ({@link checksumOf}).
 *
 * @category metrics
 * @since 0.1.0
 */
export const gauges = ["checksum"] as const

/**
 * The checksum is a sum modulo 2^48, so it does not depend on the order bundles arrive in (nor on how
 * they were split over instances) and every step is exact in f64.
 *
 * @category metrics
 * @since 0.1.0
 */
export const CHECKSUM_MODULUS = 2 ** 48

const mod = (x: number): number => {
  const r = x % CHECKSUM_MODULUS
  return r < 0 ? r + CHECKSUM_MODULUS : r
}

/**
 * Folds one bundle into a checksum: `(acc + firstTxId + lastTxId + count) mod 2^48`, each term reduced
 * first so the sum stays exact. A reference (a plain loop, a test) computes the same value.
 *
 * @example
 * ```ts
 * import { OutputTotals } from "@velox/market"
 *
 * let sum = 0
 * sum = OutputTotals.checksumOf(sum, 0, 15, 16)
 * sum = OutputTotals.checksumOf(sum, 16, 19, 4)
 * console.log(sum) // 70
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const checksumOf = (acc: number, firstTxId: number, lastTxId: number, count: number): number =>
  mod(acc + mod(firstTxId) + mod(lastTxId) + count)

/**
 * What the output stages received, over every instance of them in a pipeline.
 *
 * @category models
 * @since 0.1.0
 */
export interface Totals {
  readonly bundles: number
  readonly transactions: number
  readonly checksum: number
  readonly sizeFlushes: number
  readonly timeoutFlushes: number
  readonly drainFlushes: number
}

/**
 * The output's totals in a pipeline's stats: the counters of every `Output` and `OutputRelay`
 * instance, summed (their checksums summed modulo 2^48), as of each one's last commit.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { OutputTotals } from "@velox/market"
 *
 * declare const handle: Pipeline.PipelineHandle
 * const { transactions, bundles } = OutputTotals.read(handle.stats())
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const read = (snapshot: PipelineSnapshot.Snapshot): Totals => {
  const sum = { bundles: 0, transactions: 0, checksum: 0, sizeFlushes: 0, timeoutFlushes: 0, drainFlushes: 0 }
  for (const s of snapshot.stages) {
    if (s.definition !== NAME) continue
    for (const name of counters) sum[name] += s.counters[name] ?? 0
    sum.checksum = mod(sum.checksum + (s.gauges["checksum"] ?? 0))
  }
  return sum
}

