/**
 * The `ring` suite: the one-to-one ring between two workers, and its peers, measured in the same run.
 *
 * ```
 *   throughput   W1 ──[ velox ring | MessagePort: object per record | MessagePort: transfer 256 ]──► W2
 *                one thread: producer fiber ──[ Effect Queue ]──► consumer fiber
 *   latency      W1 ──[ ping ring ]──► W2 ──[ pong ring ]──► W1        (both spin | both park)
 *   idle         main thread (publishes nothing) ──[ empty ring ]──► W1 (parked)
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/ring.json`. Targets are printed, never
 * asserted. See bench/README.md for what each case measures.
 */
import type { Params as EffectQueueParams } from "../micro/effectQueueThroughput.ts"
import type { Job, Suite, Target } from "../harness.ts"
import type { Params as IdleCpuParams } from "../topology/oneToOneRingIdleCpu.ts"
import type { Params as PingPongParams } from "../topology/oneToOneRingPingPong.ts"
import type { Params as RingParams } from "../topology/oneToOneRingThroughput.ts"
import type { Params as PostMessageParams } from "../topology/postMessageThroughput.ts"

const RUNS = 5
/** Fewer runs for the rows that only vary the headline's settings. */
const VARIANT_RUNS = 3

/** Every throughput run: untimed JIT warm-up, then the timed stream (time-boxed, so a busy machine
 * makes a run less accurate, not longer). */
const TIMING = { warmupMs: 200, durationMs: 500 } as const

const RING_THROUGHPUT = new URL("../topology/oneToOneRingThroughput.ts", import.meta.url)
const POST_MESSAGE = new URL("../topology/postMessageThroughput.ts", import.meta.url)
const EFFECT_QUEUE = new URL("../micro/effectQueueThroughput.ts", import.meta.url)
const PING_PONG = new URL("../topology/oneToOneRingPingPong.ts", import.meta.url)
const IDLE_CPU = new URL("../topology/oneToOneRingIdleCpu.ts", import.meta.url)

/** Ring slots, and the in-flight bound of every cross-thread peer: 16384 × 32 B = 512 KiB. */
const CAPACITY = 16_384

/** The batch `ring/velox-one-to-one` uses (claim and poll up to this many records at a time). */
export const VELOX_BATCH = 256

const veloxThroughput = (
  name: string,
  label: string,
  settings: Pick<RingParams, "batch" | "access" | "idle">,
  options: { readonly runs: number; readonly target?: Target }
): Job => ({
  label,
  module: RING_THROUGHPUT,
  params: { ...TIMING, capacity: CAPACITY, ...settings } satisfies RingParams,
  runs: options.runs,
  metrics: [{ name, key: "mrecPerSecond", unit: "Mrec/s", ...(options.target ? { target: options.target } : {}) }],
  details: ["timedRecords", "producerCpuPercent", "consumerCpuPercent"]
})

const jobs: ReadonlyArray<Job> = [
  veloxThroughput(
    "ring/velox-one-to-one",
    `velox ring, batch ${VELOX_BATCH}, BusySpin, field accessors`,
    { batch: VELOX_BATCH, access: "view", idle: "spin" },
    { runs: RUNS, target: { op: ">=", value: 100 } }
  ),
  veloxThroughput("ring/velox-one-to-one-batch-64", "velox ring, batch 64", {
    batch: 64,
    access: "view",
    idle: "spin"
  }, { runs: VARIANT_RUNS }),
  veloxThroughput("ring/velox-one-to-one-batch-1024", "velox ring, batch 1024", {
    batch: 1024,
    access: "view",
    idle: "spin"
  }, { runs: VARIANT_RUNS }),
  veloxThroughput(
    "ring/velox-one-to-one-raw-f64",
    `velox ring, batch ${VELOX_BATCH}, hand-indexed Float64Array instead of field accessors`,
    { batch: VELOX_BATCH, access: "raw", idle: "spin" },
    { runs: VARIANT_RUNS }
  ),
  veloxThroughput(
    "ring/velox-one-to-one-backoff",
    `velox ring, batch ${VELOX_BATCH}, BackoffIdleStrategy defaults on both sides`,
    { batch: VELOX_BATCH, access: "view", idle: "backoff" },
    { runs: VARIANT_RUNS }
  ),
  {
    label: "postMessage, one object per record",
    module: POST_MESSAGE,
    params: { ...TIMING, window: CAPACITY, recordsPerMessage: 1 } satisfies PostMessageParams,
    runs: RUNS,
    metrics: [{ name: "ring/postmessage-object", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  },
  {
    label: "postMessage, 256 records per transferred ArrayBuffer",
    module: POST_MESSAGE,
    params: { ...TIMING, window: CAPACITY, recordsPerMessage: 256 } satisfies PostMessageParams,
    runs: RUNS,
    metrics: [{ name: "ring/postmessage-transfer-256", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  },
  {
    label: "Effect Queue, offer/take one at a time (one thread)",
    module: EFFECT_QUEUE,
    params: { ...TIMING, capacity: CAPACITY, batch: 1 } satisfies EffectQueueParams,
    runs: RUNS,
    metrics: [{ name: "ring/effect-queue-single", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  },
  {
    label: "Effect Queue, offerAll 256 / takeBetween(1, 256) (one thread)",
    module: EFFECT_QUEUE,
    params: { ...TIMING, capacity: CAPACITY, batch: 256 } satisfies EffectQueueParams,
    runs: RUNS,
    metrics: [{ name: "ring/effect-queue-batched", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  },
  {
    label: "velox ping-pong, BusySpin",
    module: PING_PONG,
    params: {
      roundTrips: 200_000,
      warmup: 20_000,
      blockRoundTrips: 50_000,
      maxMs: 1_000,
      idle: "spin"
    } satisfies PingPongParams,
    runs: RUNS,
    metrics: [
      { name: "ring/velox-rtt-p50-ns", key: "p50Ns", unit: "ns", target: { op: "<", value: 200 } },
      { name: "ring/velox-rtt-p99-ns", key: "p99Ns", unit: "ns" },
      { name: "ring/velox-rtt-p999-ns", key: "p999Ns", unit: "ns" },
      { name: "ring/velox-rtt-mean-ns", key: "meanNs", unit: "ns" }
    ],
    details: ["samples", "blockRoundTrips", "clockReadNs", "maxNs", "parksPerRoundTrip"]
  },
  {
    label: "velox ping-pong, Backoff parking on every wait",
    module: PING_PONG,
    params: { roundTrips: 20_000, warmup: 2_000, blockRoundTrips: 0, maxMs: 2_000, idle: "park" } satisfies PingPongParams,
    runs: RUNS,
    metrics: [
      { name: "ring/velox-rtt-park-p50-ns", key: "p50Ns", unit: "ns" },
      { name: "ring/velox-rtt-park-p99-ns", key: "p99Ns", unit: "ns" },
      { name: "ring/velox-rtt-park-p999-ns", key: "p999Ns", unit: "ns" }
    ],
    details: ["samples", "blockRoundTrips", "clockReadNs", "maxNs", "parksPerRoundTrip"]
  },
  {
    label: "velox idle consumer, Backoff defaults (park until rung)",
    module: IDLE_CPU,
    params: { idleMs: 1_200, maxParkNs: null } satisfies IdleCpuParams,
    runs: RUNS,
    metrics: [{ name: "ring/velox-idle-cpu-percent", key: "cpuPercent", unit: "% core", target: { op: "<", value: 1 } }],
    details: ["wallMs", "parks", "wakeUs"]
  },
  {
    label: "velox idle consumer, Backoff maxParkNs 1 ms (a loop with timers)",
    module: IDLE_CPU,
    params: { idleMs: 1_200, maxParkNs: 1_000_000 } satisfies IdleCpuParams,
    runs: RUNS,
    metrics: [{ name: "ring/velox-idle-cpu-percent-park-1ms", key: "cpuPercent", unit: "% core" }],
    details: ["wallMs", "parks", "wakeUs"]
  }
]

export const suite: Suite = {
  name: "ring",
  jobs,
  ratios: [
    {
      name: "ring/ratio-velox-vs-transfer-256",
      numerator: "ring/velox-one-to-one",
      denominator: "ring/postmessage-transfer-256",
      target: { op: ">=", value: 1.5 }
    },
    {
      name: "ring/ratio-velox-vs-postmessage-object",
      numerator: "ring/velox-one-to-one",
      denominator: "ring/postmessage-object",
      target: { op: ">=", value: 100 }
    },
    {
      name: "ring/ratio-velox-vs-effect-queue-batched",
      numerator: "ring/velox-one-to-one",
      denominator: "ring/effect-queue-batched"
    }
  ],
  notes: [
    "Records are 32 bytes {seq, a, b, c} (four f64). Every producer writes all four fields, every consumer checks all four against the sequence; a run that loses, reorders or corrupts a record fails and is left out.",
    "Every run is a fresh process with fresh workers; runs are interleaved round by round. Ratio rows pair the runs of one round (median/min/max of the per-round ratios).",
    `Throughput: Mrec/s = millions of records per second. Each stream is time-boxed: ${TIMING.warmupMs} ms untimed warm-up, then ${TIMING.durationMs} ms timed, from the producer's first timed record to the consumer's end of stream (a slow peer moves fewer records; a rate is a rate). velox-one-to-one claims/polls up to ${VELOX_BATCH} records per batch; the -batch-N, -raw-f64 and -backoff rows vary one setting each.`,
    `The postMessage peers keep at most ${CAPACITY} records in flight (a credit word in shared memory), as the ring's ${CAPACITY} slots bound the ring.`,
    "Effect Queue rows run producer and consumer fibers on ONE thread (an Effect Queue cannot cross workers): an in-process stage boundary, not a two-core pipeline.",
    "RTT samples each include one performance.now() read (clockReadNs in the details); velox-rtt-mean-ns times 50 000 more round trips as one block, without per-sample reads. The park rows park on every wait (maxSpins 0): two futex wake-ups per round trip.",
    "Idle CPU: the consumer thread's own CPU time (process.threadCpuUsage) over ~1.2 s of an empty ring, as % of one core.",
    "others: share of the machine's CPU other processes used (plus hypervisor steal) during the case's runs, median. Spinning rows need two free cores."
  ]
}
