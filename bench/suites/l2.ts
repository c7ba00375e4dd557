/**
 * The `l2` suite: the L2 book stage (sequencing, exact books, top of book out) at 1 to 10,000 symbols
 * on one thread, beside a sorted map per side doing the same work; its memory at 10,000 symbols × 50
 * levels per side beside the sorted maps; and the stage at seed 003's load (35,000 messages/s over
 * 10,000 symbols) in a pipeline, with seed 003's own figures restated as ratios.
 *
 * ```
 *   one thread:  L2Flow (seeded, Zipf) ──► L2BookStage logic ──► Bbo        (1, 100, 1k, 10k symbols)
 *                                      ├─► sorted map per side ──► Bbo       (10k symbols)
 *                                      └─► plain loop (floor)  ──► Bbo       (1, 10k symbols)
 *   memory:      10k symbols × ~50 levels a side ──► L2Books │ sorted maps   (heap + array buffers)
 *   pipeline:    W1: L2Feed (35k/s, paced) ─► l2-book ─► latency sink       (exchange time → top of book)
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/l2.json`; cases at 10,000 symbols have
 * `10k` in their names. Targets (issue 12) are printed, never asserted. See bench/README.md.
 */
import type { Job, Suite } from "../harness.ts"
import type { Params as MemoryParams } from "../micro/l2Memory.ts"
import type { Params as UpdatesParams } from "../micro/l2Updates.ts"
import type { Params as LatencyParams } from "../topology/l2Latency.ts"

const RUNS = 5
const UPDATES = new URL("../micro/l2Updates.ts", import.meta.url)

/** The same flow per symbol at every size: ~50 levels a side, Zipf(1) activity, the book's default window. */
const flow = (symbols: number, zipf = 1): UpdatesParams => ({
  symbols,
  seed: 1,
  zipf,
  levels: 50,
  // Every symbol's first snapshot arrives during the warm-up (the coldest of 10,000 under Zipf(1) is
  // picked about once per 100,000 messages).
  warmupUpdates: Math.max(1_000_000, 400 * symbols),
  passUpdates: 1_000_000,
  timedPasses: 5,
  windowTicks: 128,
  // Every symbol of the flow is busy: each side's ladder reserved at an address from its symbol.
  reserveLadders: true,
  peer: symbols === 10_000 && zipf === 1,
  plain: (symbols === 1 || symbols === 10_000) && zipf === 1
})

const scaling = (symbols: number, name: string): Job => ({
  label: `velox L2 book, ${symbols} symbol${symbols === 1 ? "" : "s"}`,
  module: UPDATES,
  params: flow(symbols),
  runs: RUNS,
  metrics: symbols === 10_000
    ? [
      { name: "l2/velox-ns-per-update-10k", key: "veloxNs", unit: "ns/update" },
      { name: "l2/velox-10k-mupdates-per-s", key: "veloxMupdatesPerSecond", unit: "M updates/s", target: { op: ">=", value: 10 } },
      { name: "l2/sorted-map-ns-per-update-10k", key: "peerNs", unit: "ns/update" },
      { name: "l2/sorted-map-10k-mupdates-per-s", key: "peerMupdatesPerSecond", unit: "M updates/s" },
      { name: "l2/plain-loop-ns-per-update-10k", key: "plainNs", unit: "ns/update" },
      { name: "l2/plain-loop-10k-mupdates-per-s", key: "plainMupdatesPerSecond", unit: "M updates/s" }
    ]
    : [
      { name: `l2/velox-ns-per-update-${name}`, key: "veloxNs", unit: "ns/update" },
      ...(symbols === 1 ? [{ name: "l2/plain-loop-ns-per-update-1", key: "plainNs", unit: "ns/update" }] : [])
    ],
  details: ["updates", "topShare", "levelsPerSide", "snapshots", "bookMiB"],
  timeoutMs: 300_000
})

const SEED_003 = "/work/shared/seeds/003_*.txt"

export const suite: Suite = {
  name: "l2",
  jobs: [
    scaling(1, "1"),
    scaling(100, "100"),
    scaling(1_000, "1k"),
    scaling(10_000, "10k"),
    {
      label: "velox L2 book, 10,000 symbols, uniform activity",
      module: UPDATES,
      params: flow(10_000, 0),
      runs: 3,
      metrics: [{ name: "l2/velox-ns-per-update-10k-uniform", key: "veloxNs", unit: "ns/update" }],
      details: ["topShare", "levelsPerSide", "bookMiB"],
      timeoutMs: 300_000
    },
    {
      label: "memory at 10,000 symbols × 50 levels per side",
      module: new URL("../micro/l2Memory.ts", import.meta.url),
      params: { symbols: 10_000, levels: 50, seed: 1, windowTicks: 128 } satisfies MemoryParams,
      runs: 3,
      metrics: [
        { name: "l2/velox-memory-10k-mib", key: "veloxMiB", unit: "MiB" },
        { name: "l2/sorted-map-memory-10k-mib", key: "sortedMapMiB", unit: "MiB" }
      ],
      details: ["levels", "levelsPerSide", "veloxBookMiB", "veloxBytesPerLevel", "sortedMapBytesPerLevel"],
      timeoutMs: 120_000
    },
    {
      label: "velox L2 pipeline at seed 003's load (35,000 messages/s, 10,000 symbols, one worker)",
      module: new URL("../topology/l2Latency.ts", import.meta.url),
      params: { symbols: 10_000, rate: 35_000, warmupMs: 1_000, windowMs: 3_000, startTimeoutMs: 20_000 } satisfies LatencyParams,
      runs: 3,
      metrics: [
        { name: "l2/velox-latency-mean-us-10k", key: "latencyMeanUs", unit: "µs" },
        { name: "l2/velox-latency-p50-us-10k", key: "latencyP50Us", unit: "µs" },
        { name: "l2/velox-latency-p99-us-10k", key: "latencyP99Us", unit: "µs" },
        { name: "l2/velox-cpu-percent-10k", key: "cpuPercent", unit: "% core" }
      ],
      details: ["ratePerSecond", "samples", "latencyMaxUs", "negatives"],
      timeoutMs: 60_000
    },
    {
      label: `seed 003's own figures (restated from ${SEED_003}, not measured)`,
      module: new URL("../micro/seed003.ts", import.meta.url),
      params: {},
      runs: RUNS,
      metrics: [
        { name: "l2/seed-003-mrec-per-s", key: "mrecPerSecond", unit: "M rec/s" },
        { name: "l2/seed-003-latency-mean-us", key: "latencyMeanUs", unit: "µs" }
      ]
    }
  ],
  ratios: [
    {
      name: "l2/ratio-10k-vs-1",
      numerator: "l2/velox-ns-per-update-10k",
      denominator: "l2/velox-ns-per-update-1",
      target: { op: "<", value: 2 }
    },
    {
      name: "l2/ratio-plain-loop-10k-vs-1",
      numerator: "l2/plain-loop-ns-per-update-10k",
      denominator: "l2/plain-loop-ns-per-update-1"
    },
    {
      name: "l2/ratio-velox-vs-plain-loop-10k",
      numerator: "l2/velox-ns-per-update-10k",
      denominator: "l2/plain-loop-ns-per-update-10k"
    },
    {
      name: "l2/ratio-velox-vs-sorted-map-10k",
      numerator: "l2/velox-10k-mupdates-per-s",
      denominator: "l2/sorted-map-10k-mupdates-per-s"
    },
    {
      name: "l2/ratio-sorted-map-vs-velox-memory-10k",
      numerator: "l2/sorted-map-memory-10k-mib",
      denominator: "l2/velox-memory-10k-mib"
    },
    {
      name: "l2/ratio-velox-10k-vs-seed-003",
      numerator: "l2/velox-10k-mupdates-per-s",
      denominator: "l2/seed-003-mrec-per-s"
    },
    {
      name: "l2/ratio-seed-003-vs-velox-latency-10k",
      numerator: "l2/seed-003-latency-mean-us",
      denominator: "l2/velox-latency-mean-us-10k"
    }
  ],
  notes: [
    "The flow (L2Flow, seed 1): Zipf(1) activity across symbols; per side ~50 levels in a band of 63 ticks by a mid that walks a tick now and then; 60% updates of a level near the top, 40% adds and deletes (0.2% of adds a level 10^4–10^6 ticks away); each symbol starts with a snapshot of its book. No defects: every update is applied.",
    "ns/update (one thread): the L2BookStage's own onBatch over batches of 256 L2Update records in memory (sequencing, the exact book, top-of-book change detection, a Bbo record written per change into a scratch emitter and read back), median of 5 passes of 1M updates after a warm-up in which every symbol got its snapshot. The records are generated before each pass, untimed. The stage's config: windowTicks 128 (the default), reserveLadders (every symbol of the flow is busy).",
    "plain-loop (the floor): the same records through a plain loop over flat typed arrays written for this flow and the cache (bench/micro/l2Plain.ts): per symbol one 576-byte block at an address from the symbol alone (header, two 64-tick int32 ladders), far levels in a small list; it trusts the flow (no validation, no refusals). Checked: the same top-of-book records as velox (count and checksum) and every book equal to the flow's.",
    "sorted-map: the same records, the same sequencing and top-of-book logic, with a Map of price → size and a sorted price array per side (bench/micro/l2Peers.ts); it checks fewer things than velox, never more.",
    "Checked before any number is reported: every update applied by both (no drop, no refusal), the same top-of-book records (count and checksum), and every live book equal, level by level, to the flow's own.",
    "Memory: process heap + array buffers grown by building each structure, after full GCs; velox's pools grow by doubling (no reservation), so up to half of a pool can be room to grow.",
    "Pipeline at seed 003's load: L2Feed paced at 35,000 messages/s in bursts over 10,000 symbols (session start: empty books, firstSeq 1), fused with the book stage and a sink in one worker, default idle strategy (parks until the next message is due); latency = sink's clock on receipt − the update's exchange time; CPU = the whole process over the window.",
    "Seed 003 (an 8-core, 64 GB deployment checklist): '> 35,000 records/second processing', '< 100ms average latency', '10,000 symbols'. Restated as cases so the ratio rows can pair them with velox's measured figures: velox's one-thread rate ÷ 35k rec/s, and 100 ms ÷ velox's mean latency at that load."
  ]
}
