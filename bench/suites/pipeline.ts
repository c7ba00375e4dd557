/**
 * The `pipeline` suite: a generator, three pass-through stages and a checking sink over 32-byte
 * records, as a velox pipeline (fused in one worker; across workers) and as its peers (a hand-written
 * loop; an Effect `Stream`), measured in the same run.
 *
 * ```
 *   velox fused        W1: counter ─► pt-1 ─► pt-2 ─► pt-3 ─► sink
 *   velox workers      W1: counter ─► pt-1 ══► W2: pt-2 ─► pt-3 ─► sink
 *   velox per stage    W1: counter ══► W2: pt-1 ══► W3: pt-2 ══► W4: pt-3 ══► W5: sink
 *   plain loop         one thread: generate ─► copy ─► copy ─► copy ─► check + count   (batch by batch)
 *   plain loop twice   W1: the plain loop | W2: the plain loop  (two whole copies at once, sharing nothing)
 *   plain threads      W1: generate ─► copy ══► W2: copy ─► copy ─► check + count  (the same, hand-written ring)
 *   Effect Stream      one thread: seqs ─► map record ─► map copy ×3 ─► runFold check + count
 *                      (─► a call in the same thread, ══► a ring between threads)
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/pipeline.json`. Targets are printed, never
 * asserted. See bench/README.md for what each case measures.
 */
import type { Job, Suite, Target } from "../harness.ts"
import type { Params as EffectStreamParams } from "../micro/oneToThreePipelineEffectStream.ts"
import type { Params as PlainLoopParams } from "../micro/oneToThreePipelinePlainLoop.ts"
import type { Params as MetricsOverheadParams } from "../topology/metricsOverhead.ts"
import type { Params as PlainThreadsParams } from "../topology/oneToThreePipelinePlainThreads.ts"
import type { Params as PlainLoopTwiceParams } from "../topology/oneToThreePipelinePlainLoopTwice.ts"
import type { Params as SharedCopyParams } from "../micro/sharedCopy.ts"
import type { Params as VeloxParams } from "../topology/oneToThreePipelineThroughput.ts"

/** The 2-worker rows are bimodal run to run on the development VM (see bench/README.md): 7 runs. */
const RUNS = 7
/** Fewer runs for the rows that only vary a canonical row's settings. */
const VARIANT_RUNS = 3

/** Every case: untimed warm-up (JIT; for velox, after the first records reached the sink), then timed. */
const TIMING = { warmupMs: 300, durationMs: 700 } as const

/** The velox defaults (`Pipeline.RunOptions`): batches of 256, rings of 16384 slots, backoff idling. */
const BATCH = 256
const RING_CAPACITY = 16_384

const VELOX = new URL("../topology/oneToThreePipelineThroughput.ts", import.meta.url)
const PLAIN_LOOP = new URL("../micro/oneToThreePipelinePlainLoop.ts", import.meta.url)
const EFFECT_STREAM = new URL("../micro/oneToThreePipelineEffectStream.ts", import.meta.url)
const SHARED_COPY = new URL("../micro/sharedCopy.ts", import.meta.url)
const PLAIN_LOOP_TWICE = new URL("../topology/oneToThreePipelinePlainLoopTwice.ts", import.meta.url)
const PLAIN_THREADS = new URL("../topology/oneToThreePipelinePlainThreads.ts", import.meta.url)
const METRICS_OVERHEAD = new URL("../topology/metricsOverhead.ts", import.meta.url)

/** Alternating 1.5 s windows without and with the ops server and a 1 s /metrics scraper, ABBA. */
const metricsOverhead = (name: string, label: string, topology: MetricsOverheadParams["topology"], runs: number): Job => ({
  label,
  module: METRICS_OVERHEAD,
  params: {
    topology,
    warmupMs: TIMING.warmupMs,
    windowMs: 1_500,
    pairs: 6,
    scrapeIntervalMs: 1_000,
    startTimeoutMs: 20_000
  } satisfies MetricsOverheadParams,
  runs,
  metrics: [{ name, key: "overheadPercent", unit: "%", target: { op: "<", value: 2 } }],
  details: ["offMrecPerSecond", "onMrecPerSecond", "offMainCpuPercent", "onMainCpuPercent", "scrapes", "scrapeMs", "metricsBytes"]
})

const velox = (
  name: string,
  label: string,
  settings: Pick<VeloxParams, "topology" | "idle" | "batchSize" | "spinRounds">,
  options: { readonly runs: number; readonly target?: Target }
): Job => ({
  label,
  module: VELOX,
  params: { ...TIMING, ringCapacity: RING_CAPACITY, startTimeoutMs: 20_000, ...settings } satisfies VeloxParams,
  runs: options.runs,
  metrics: [{ name, key: "mrecPerSecond", unit: "Mrec/s", ...(options.target ? { target: options.target } : {}) }],
  details: [
    "mrecPerCpuSecond",
    "sourceCpuNsPerRecord",
    "otherCpuNsPerRecord",
    "wallMrecPerSecond",
    "timedRecords",
    "threads",
    "cpuCores",
    "sinkBatch",
    "parksPerMrec",
    "sourceParksPerMrec",
    "otherParksPerMrec",
    "wakesPerMrec",
    "sourceWakesPerMrec",
    "otherWakesPerMrec",
    "ringFill"
  ]
})

/** The plain loop's work on two threads, where velox-workers-3 splits it (no velox code). */
const plainThreads = (name: string, label: string, idle: PlainThreadsParams["idle"], runs: number): Job => ({
  label,
  module: PLAIN_THREADS,
  params: {
    ...TIMING,
    idle,
    spinNs: 50_000,
    batch: BATCH,
    ringCapacity: RING_CAPACITY,
    startTimeoutMs: 20_000
  } satisfies PlainThreadsParams,
  runs,
  metrics: [{ name, key: "mrecPerSecond", unit: "Mrec/s" }],
  details: [
    "mrecPerCpuSecond",
    "w1NsPerRecord",
    "w2NsPerRecord",
    "timedRecords",
    "cpuCores",
    "parksPerMrec",
    "sourceParksPerMrec",
    "otherParksPerMrec",
    "wakesPerMrec",
    "sourceWakesPerMrec",
    "otherWakesPerMrec",
    "ringFill"
  ]
})

const jobs: ReadonlyArray<Job> = [
  velox(
    "pipeline/velox-fused-3",
    "velox fused: counter + 3 pass-through + sink in one worker (defaults)",
    { topology: "fused", idle: "backoff", batchSize: BATCH },
    { runs: RUNS }
  ),
  velox(
    "pipeline/velox-workers-3",
    "velox 2 workers: counter + pt-1 | pt-2 + pt-3 + sink (defaults)",
    { topology: "two-workers", idle: "backoff", batchSize: BATCH },
    { runs: RUNS, target: { op: ">=", value: 50 } }
  ),
  velox(
    "pipeline/velox-workers-3-spin",
    "velox 2 workers, BusySpin",
    { topology: "two-workers", idle: "spin", batchSize: BATCH },
    { runs: VARIANT_RUNS }
  ),
  velox(
    "pipeline/velox-workers-3-spin-rounds-200",
    "velox 2 workers, the backoff spinning 200 rounds before a park (the default before spinNs)",
    { topology: "two-workers", idle: "backoff", batchSize: BATCH, spinRounds: 200 },
    { runs: VARIANT_RUNS }
  ),
  velox(
    "pipeline/velox-workers-3-batch-1024",
    "velox 2 workers, batch 1024",
    { topology: "two-workers", idle: "backoff", batchSize: 1024 },
    { runs: VARIANT_RUNS }
  ),
  velox(
    "pipeline/velox-workers-3-per-stage",
    "velox 5 workers: one per stage (defaults)",
    { topology: "per-stage", idle: "backoff", batchSize: BATCH },
    { runs: VARIANT_RUNS }
  ),
  velox(
    "pipeline/velox-workers-3-per-stage-spin",
    "velox 5 workers, BusySpin (5 spinning threads on the machine's cores)",
    { topology: "per-stage", idle: "spin", batchSize: BATCH },
    { runs: VARIANT_RUNS }
  ),
  metricsOverhead(
    "pipeline/velox-metrics-overhead-percent",
    "velox 2 workers with the ops server and a 1 s /metrics scraper vs without (alternating windows, one process)",
    "two-workers",
    5
  ),
  metricsOverhead(
    "pipeline/velox-metrics-overhead-percent-fused",
    "velox fused (1 worker) with the ops server and a 1 s /metrics scraper vs without",
    "fused",
    VARIANT_RUNS
  ),
  {
    label: "plain loop: generate, copy ×3, check, batch by batch (one thread)",
    module: PLAIN_LOOP,
    params: { ...TIMING, batch: BATCH } satisfies PlainLoopParams,
    runs: RUNS,
    metrics: [{ name: "pipeline/plain-loop-3", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["mrecPerCpuSecond", "timedRecords"]
  },
  {
    label: "plain loop twice: the whole plain loop in each of two threads at once, sharing nothing (the ceiling of any two-thread split)",
    module: PLAIN_LOOP_TWICE,
    params: { ...TIMING, batch: BATCH } satisfies PlainLoopTwiceParams,
    runs: RUNS,
    metrics: [{ name: "pipeline/plain-loop-3-twice", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["threadMrecPerSecondMin", "threadMrecPerSecondMax", "mrecPerCpuSecond", "timedRecords"]
  },
  plainThreads(
    "pipeline/plain-threads-3",
    "plain threads: the plain loop's work split W1 generate + copy | W2 copy ×2 + check, hand-written ring (spin 50 µs, then park)",
    "park",
    RUNS
  ),
  plainThreads("pipeline/plain-threads-3-spin", "plain threads, spinning (never parks)", "spin", VARIANT_RUNS),
  {
    label: "below velox: copying a batch of 256 × 32-byte records, in private and in shared memory (one thread)",
    module: SHARED_COPY,
    params: { reps: 200_000 } satisfies SharedCopyParams,
    runs: VARIANT_RUNS,
    metrics: [
      { name: "pipeline/os-copy-ns-private-copywithin", key: "privateCopyWithinNs", unit: "ns" },
      { name: "pipeline/os-copy-ns-shared-copywithin", key: "sharedCopyWithinNs", unit: "ns" },
      { name: "pipeline/os-copy-ns-shared-set", key: "sharedSetNs", unit: "ns" },
      { name: "pipeline/os-copy-ns-loop-from-shared", key: "loopFromSharedNs", unit: "ns" },
      { name: "pipeline/os-copy-ns-loop-to-shared", key: "loopToSharedNs", unit: "ns" }
    ]
  },
  {
    label: "Effect Stream: record objects, map ×4, runFold (one thread)",
    module: EFFECT_STREAM,
    params: { ...TIMING, shape: "records", chunk: BATCH } satisfies EffectStreamParams,
    runs: RUNS,
    metrics: [{ name: "pipeline/effect-stream-3", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  },
  {
    label: "Effect Stream: Float64Array batches of 256 records, map ×4, runFold (one thread)",
    module: EFFECT_STREAM,
    params: { ...TIMING, shape: "batches", chunk: BATCH } satisfies EffectStreamParams,
    runs: VARIANT_RUNS,
    metrics: [{ name: "pipeline/effect-stream-3-chunked", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  }
]

export const suite: Suite = {
  name: "pipeline",
  jobs,
  ratios: [
    {
      name: "pipeline/ratio-plain-vs-velox-fused",
      numerator: "pipeline/plain-loop-3",
      denominator: "pipeline/velox-fused-3",
      target: { op: "<", value: 1.25 }
    },
    {
      name: "pipeline/ratio-velox-fused-vs-effect-stream",
      numerator: "pipeline/velox-fused-3",
      denominator: "pipeline/effect-stream-3",
      target: { op: ">=", value: 1 }
    },
    {
      name: "pipeline/ratio-velox-workers-vs-effect-stream",
      numerator: "pipeline/velox-workers-3",
      denominator: "pipeline/effect-stream-3",
      target: { op: ">=", value: 1 }
    },
    {
      name: "pipeline/ratio-velox-fused-vs-effect-stream-chunked",
      numerator: "pipeline/velox-fused-3",
      denominator: "pipeline/effect-stream-3-chunked"
    },
    {
      name: "pipeline/ratio-plain-threads-vs-plain-loop",
      numerator: "pipeline/plain-threads-3",
      denominator: "pipeline/plain-loop-3"
    },
    {
      name: "pipeline/ratio-plain-threads-spin-vs-plain-loop",
      numerator: "pipeline/plain-threads-3-spin",
      denominator: "pipeline/plain-loop-3"
    },
    {
      name: "pipeline/ratio-plain-loop-twice-vs-plain-loop",
      numerator: "pipeline/plain-loop-3-twice",
      denominator: "pipeline/plain-loop-3"
    },
    {
      name: "pipeline/ratio-velox-workers-vs-plain-threads",
      numerator: "pipeline/velox-workers-3",
      denominator: "pipeline/plain-threads-3"
    },
    {
      name: "pipeline/ratio-velox-workers-spin-vs-plain-threads-spin",
      numerator: "pipeline/velox-workers-3-spin",
      denominator: "pipeline/plain-threads-3-spin"
    },
    {
      name: "pipeline/ratio-velox-workers-vs-fused",
      numerator: "pipeline/velox-workers-3",
      denominator: "pipeline/velox-fused-3",
      target: { op: ">=", value: 1.8 }
    }
  ],
  notes: [
    "Records are 32-byte Sequenced records {seq f64, key u32, flags u32, value f64, check f64}, check = checkOf(seq). Every case: generate all five fields, copy each whole record three times (three pass-through stages), recompute checkOf(seq) against check and count. A run whose counts differ, whose checks fail, or (velox) whose ledger does not balance fails and is left out.",
    "Every run is a fresh process (velox: with fresh workers); runs are interleaved round by round. Ratio rows pair the runs of one round (median/min/max of the per-round ratios).",
    `Mrec/s = millions of records per second through the sink. velox: the pipeline's own stats, Δ sink IN ÷ Δ sink LAST_COMMIT_NS between two snapshots ${TIMING.durationMs} ms apart, taken ${TIMING.warmupMs} ms after the first records reached the sink (wallMrecPerSecond in the details: the same Δ IN over the main thread's clock). Peers: ${TIMING.warmupMs} ms untimed, then records checked in ${TIMING.durationMs} ms of wall time.`,
    `velox rows use the run defaults (batch ${BATCH}, rings of ${RING_CAPACITY} slots, BackoffIdleStrategy) unless the name says otherwise (-spin: BusySpin everywhere; -batch-1024). velox-workers-3 is two threads (counter + pt-1 | pt-2 + pt-3 + sink); -per-stage gives each of the five stages its own worker.`,
    "plain-threads-3: the plain loop's functions split across two worker threads as velox-workers-3 splits the stages (W1 generate + copy into the ring | W2 copy out, copy, check + count), a hand-written SPSC ring of 16384 slots, no velox code; -spin never parks, the headline polls 50 µs then parks on a bell (velox's backoff, written out). w1NsPerRecord / w2NsPerRecord: each thread's work per record with its hand-off (batches the OS interrupted left out): with a core each, the pair runs at 1e3 ÷ the larger. ratio-plain-threads-vs-plain-loop is what a second thread buys a hand-written loop here: the ceiling for ratio-velox-workers-vs-fused.",
    "os-copy-ns-*: ns per record to copy a batch of 256 × 32 B in one thread: copyWithin in a private ArrayBuffer (a fused hand-off), copyWithin and set in a SharedArrayBuffer (V8 copies shared memory with relaxed atomics), the f64 word loop from and into shared memory (the ring copies of a split pipeline, velox's and the bare peer's).",
    "plain loop and Effect Stream run on ONE thread. effect-stream-3 moves one object per record (chunks of 256); -chunked moves one Float64Array of 256 records per element and copies it (slice) per stage.",
    "Details: mrecPerCpuSecond = records per CPU second of the velox loop threads (the plain loop: its thread), comparable on a busy machine; sourceCpuNsPerRecord / otherCpuNsPerRecord = CPU ns per record of the counter's loop and of the other loops (the busy thread's work per record, commits included; a waiting thread spins or parks, so its figure is an upper bound: ringFill says which waits); cpuCores = CPU time of the whole process over the timed span, in cores (two busy threads show ~2; more threads than cores share them); sinkBatch = records per sink pass; parksPerMrec = parks of all loops per million records (sourceParksPerMrec: the counter's loop, a producer waiting for room; otherParksPerMrec: the loops fed by rings); wakesPerMrec = Atomics.notify calls per million records, each waking a parked loop (sourceWakesPerMrec: the counter's loop waking its consumer; otherWakesPerMrec: the loops fed by rings waking their producer; with the backoff, each park is ended by one wake); ringFill = how full the rings between threads were at the two samples (mean share of capacity).",
    "others: share of the machine's CPU other processes used (plus hypervisor steal) during the case's runs, median. The 2-worker rows need both cores.",
    "velox-metrics-overhead-percent: (1 − median over window pairs of on ÷ off) × 100, where off is the pipeline alone and on is the same pipeline, in the same process, with NodePipelineServer attached and GET /metrics every second (the scraper runs in the pipeline's process: an upper bound). 6 pairs of 1.5 s windows per run, ABBA order; negative = within noise."
  ]
}
