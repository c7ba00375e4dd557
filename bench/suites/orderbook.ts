/**
 * The `orderbook` suite: ns per update of the exact price-level book, beside the windowed book it
 * replaced (the baseline), the original engine's bucketed book and a naive sorted map, on the same
 * streams, in the same process, in the same run.
 *
 * ```
 *   one thread:  mixed stream ──► velox-exact │ windowed │ bucketed-16 │ sorted-map   (passes interleaved)
 *                touch stream ──► velox-exact │ windowed
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/orderbook.json`. Targets are printed,
 * never asserted. What is measured and checked: `bench/micro/orderBookUpdates.ts`.
 */
import type { Suite } from "../harness.ts"
import type { Params } from "../micro/orderBookUpdates.ts"

const RUNS = 5

const PARAMS = {
  ops: 1_000_000,
  symbols: 64,
  seed: 0x5eed,
  windowTicks: 4096,
  bookLevels: 50,
  warmupPasses: 3,
  timedPasses: 5
} satisfies Params

export const suite: Suite = {
  name: "orderbook",
  jobs: [
    {
      label: "exact, windowed, bucketed-16 and sorted-map books on the mixed and touch streams",
      module: new URL("../micro/orderBookUpdates.ts", import.meta.url),
      params: PARAMS,
      runs: RUNS,
      metrics: [
        { name: "orderbook/velox-exact", key: "exactNs", unit: "ns/update" },
        { name: "orderbook/windowed", key: "windowedNs", unit: "ns/update" },
        { name: "orderbook/velox-exact-touch", key: "touchExactNs", unit: "ns/update" },
        { name: "orderbook/windowed-touch", key: "touchWindowedNs", unit: "ns/update" },
        { name: "orderbook/bucketed-16", key: "bucketedNs", unit: "ns/update" },
        { name: "orderbook/sorted-map", key: "sortedMapNs", unit: "ns/update" },
        { name: "orderbook/bucketed-16-wrong-best", key: "bucketedWrongPercent", unit: "% of updates" },
        { name: "orderbook/bucketed-16-wrong-bucket", key: "bucketedWrongBucketPercent", unit: "% of updates" },
        { name: "orderbook/bucketed-16-best-error", key: "bucketedErrorTicks", unit: "ticks" }
      ],
      details: ["updates", "levelsPerSide", "touchLevelsPerSide", "addPercent", "modifyPercent", "cancelPercent", "tradePercent"],
      timeoutMs: 120_000
    }
  ],
  ratios: [
    {
      name: "orderbook/ratio-exact-vs-windowed",
      numerator: "orderbook/velox-exact",
      denominator: "orderbook/windowed"
    },
    {
      name: "orderbook/ratio-exact-vs-windowed-touch",
      numerator: "orderbook/velox-exact-touch",
      denominator: "orderbook/windowed-touch",
      target: { op: "<", value: 1.25 }
    },
    {
      name: "orderbook/ratio-exact-vs-bucketed",
      numerator: "orderbook/velox-exact",
      denominator: "orderbook/bucketed-16",
      target: { op: "<", value: 1.5 }
    },
    {
      name: "orderbook/ratio-sorted-map-vs-exact",
      numerator: "orderbook/sorted-map",
      denominator: "orderbook/velox-exact",
      target: { op: ">=", value: 3 }
    }
  ],
  notes: [
    `One stream of ${PARAMS.ops} updates over ${PARAMS.symbols} symbols, generated from a fixed seed: ~55% adds within a few ticks of the top (some deeper), ~15% modifies of a top-5 level (size up or down), ~20% cancels (full or partial, mostly near the top), ~10% trades against the best level; books kept around ${PARAMS.bookLevels} levels per side; a drifting mid price; never crossed.`,
    "The touch stream: every update at the best level (join it 40%, improve it by one tick 10%, cancel from it 25%, trade against it 25%; a fifth of cancels and trades empty it), hot symbols first.",
    `velox-exact: the book of @velox/market (its default near window of 128 ticks per side, far levels in a sorted array). windowed: the book it replaced (a ${PARAMS.windowTicks}-tick ladder per side, refusing levels beyond it), kept as bench/micro/windowedOrderBook.ts. Both streams fit the windowed book, so both books take every update.`,
    "ns/update = one update plus a bestBid and a bestAsk read (folded into a checksum), median of the timed passes of a run (a fresh book per pass). All four books validate their input alike (symbol, side, integer tick, positive integer size, overflow).",
    "Checked before any number is reported: an untimed pass compares the exact book with the windowed book and the sorted map after every update (result, best bid and ask), and every timed pass compares their checksums and that none refused an update.",
    "bucketed-16 is the original engine's book (16 ticks per level, best = bucket × 16, cancels saturate at 0): fast because it is wrong. bucketed-16-wrong-best: share of updates after which its best bid or ask differs from the exact one; -wrong-bucket: after which it is not even in the exact best's 16-tick bucket (the saturating cancels at work); -best-error: mean distance from the exact best, in ticks.",
    "Ratio rows pair the books of one run (one process): exact ÷ windowed on the touch stream (< 1.25 wanted: the update at the touch stays within 1.25× of the book it replaced) and on the mixed stream (no target: ~3% of its updates land beyond the 128-tick near window (~9% beyond the 64-tick window of the rounds before), on the far path — a binary search and a shift — which the windowed book serves from its 4096-tick ladder), exact ÷ bucketed (< 1.5 wanted) and sorted-map ÷ exact (>= 3 wanted)."
  ]
}
