/**
 * The `engine` suite: the transaction engine (ingress → order book → bundler → output) as velox
 * pipelines in several placements, beside the same work as a hand-written loop and as an Effect
 * `Stream`, unthrottled; then the engine at 100k/s (latency, CPU) and with no input (idle CPU).
 *
 * ```
 *   velox fused           W1: ingress ─► order-book ─► bundler ─► output
 *   velox workers         W1: ingress ══► W2: order-book ─► bundler ─► output            (canonical)
 *   velox workers, book   W1: ingress ─► order-book ══► W2: bundler ─► output
 *   velox per stage       W1: ingress ══► W2: order-book ══► W3: bundler ══► W4: output
 *   plain loop            one thread: generate ─► apply ─► bundle by 16 ─► validate, count, checksum   (batch by batch)
 *   Effect Stream         one thread: fromPull ─► map: apply ─► filter ─► grouped(16) ─► map: bundle ─► runFold
 *                         (─► a call in the same thread, ══► a ring between threads)
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/engine.json`. Targets (issue 4) are
 * printed, never asserted. See bench/README.md for what each case measures.
 */
import { BACKOFF_DEFAULTS } from "@velox/core/unsafe"
import type { Job, Suite, Target } from "../harness.ts"
import type { Params as EffectStreamParams } from "../micro/engineEffectStream.ts"
import { ENGINE } from "../micro/engineWork.ts"
import type { Params as PlainLoopParams } from "../micro/enginePlainLoop.ts"
import type { Params as LatencyParams } from "../topology/engineLatencyCpu.ts"
import type { Params as PacedPeerParams } from "../micro/pacedPeer.ts"
import type { Params as ParkWakeParams } from "../micro/parkWake.ts"
import type { Params as MetricsOverheadParams } from "../topology/metricsOverhead.ts"
import type { Params as ThroughputParams } from "../topology/engineThroughput.ts"

const RUNS = 5
/** Fewer runs for the rows that only vary a canonical row's placement. */
const VARIANT_RUNS = 3

/** Every throughput case: untimed warm-up (JIT; velox: after the first bundles reached the output), then timed. */
const TIMING = { warmupMs: 300, durationMs: 700 } as const
/** The velox defaults (`Pipeline.RunOptions`): batches of 256, rings of 16384 slots, backoff idling. */
const BATCH = 256
const RING_CAPACITY = 16_384
/** The original engine's rate. */
const RATE = 100_000

const THROUGHPUT = new URL("../topology/engineThroughput.ts", import.meta.url)
const LATENCY = new URL("../topology/engineLatencyCpu.ts", import.meta.url)
const PLAIN_LOOP = new URL("../micro/enginePlainLoop.ts", import.meta.url)
const EFFECT_STREAM = new URL("../micro/engineEffectStream.ts", import.meta.url)
const METRICS_OVERHEAD = new URL("../topology/metricsOverhead.ts", import.meta.url)
const PARK_WAKE = new URL("../micro/parkWake.ts", import.meta.url)
const PACED_PEER = new URL("../micro/pacedPeer.ts", import.meta.url)

const TWENTY_MILLION: Target = { op: ">=", value: 20 }

const velox = (name: string, label: string, topology: ThroughputParams["topology"], runs: number, target?: Target): Job => ({
  label,
  module: THROUGHPUT,
  params: {
    ...TIMING,
    topology,
    idle: "backoff",
    batchSize: BATCH,
    ringCapacity: RING_CAPACITY,
    startTimeoutMs: 20_000
  } satisfies ThroughputParams,
  runs,
  metrics: [{ name, key: "mtxPerSecond", unit: "Mtx/s", ...(target ? { target } : {}) }],
  details: ["wallMtxPerSecond", "timedTransactions", "threads", "cpuCores", "parksPerMtx", "ringFill"]
})

const LATENCY_DETAILS = [
  "latencyMaxUs",
  "latencySamples",
  "closingP99Us",
  "closingSamples",
  "bundles",
  "timeoutShare",
  "ratePerSecond",
  "negatives",
  "mainCpuPercent",
  "sourceLoopCpuPercent",
  "otherLoopsCpuPercent",
  "parksPerSecond"
]

/** Linux's own timer slack, which a thread keeps when nobody sets it (velox's default is 20 µs). */
const LINUX_DEFAULT_SLACK_NS = 50_000
/** The least slack worth asking for: a park ends as soon as the machine can wake it. */
const LEAST_SLACK_NS = 1_000

/**
 * One point of the CPU / latency curve: the fused engine at `rate` with the default idle strategy
 * (backoff: a paced source parks until its next arrival, with velox's 20 µs timer slack), the same with
 * a timer slack of 1 µs or Linux's 50 µs, or BusySpin. 100k/s with the defaults is the main rows above.
 */
const curvePoint = (rate: number, tag: string, idle: "backoff" | "slack-1us" | "slack-50us" | "spin"): Job => {
  const suffix = `${idle === "backoff" ? "" : `-${idle}`}-${tag}`
  const how = idle === "spin"
    ? "loops spinning"
    : idle === "backoff"
    ? "default idle"
    : `default idle with a timer slack of ${idle === "slack-1us" ? "1" : "50"} µs`
  return {
    label: `velox fused at ${tag}/s (Poisson), ${how}: CPU and latency (the curve)`,
    module: LATENCY,
    params: {
      placement: "fused",
      rate,
      warmupMs: 300,
      windowMs: 2_000,
      startTimeoutMs: 20_000,
      // Every transaction is a sample: 20 000 in the window at 10k/s.
      minLatencySamples: 1_000,
      idle: idle === "spin" ? "spin" : "backoff",
      ...(idle === "slack-1us" ? { timerSlackNs: LEAST_SLACK_NS } : {}),
      ...(idle === "slack-50us" ? { timerSlackNs: LINUX_DEFAULT_SLACK_NS } : {})
    } satisfies LatencyParams,
    runs: VARIANT_RUNS,
    metrics: [
      { name: `engine/velox-cpu-percent${suffix}`, key: "cpuPercent", unit: "% core" },
      { name: `engine/velox-latency-p99-us${suffix}`, key: "latencyP99Us", unit: "µs" },
      { name: `engine/velox-bundle-latency-p99-us${suffix}`, key: "bundleP99Us", unit: "µs" }
    ],
    details: LATENCY_DETAILS,
    timeoutMs: 30_000
  }
}

/**
 * What the machine charges for one timed park (below velox): a 10 µs `Atomics.wait`, over and over, with
 * a given timer slack: CPU per wake-up and oversleep. The floor under every parked row of the curve.
 */
const parkWake = (slackNs: number, tag: string): Job => ({
  label: `one thread parking 10 µs at a time, timer slack ${tag}: CPU per wake-up, oversleep`,
  module: PARK_WAKE,
  params: { slackNs, waitUs: 10, durationMs: 1_000 } satisfies ParkWakeParams,
  runs: VARIANT_RUNS,
  metrics: [
    { name: `engine/os-park-cpu-us-per-wake-slack-${tag}`, key: "cpuUsPerWake", unit: "µs" },
    { name: `engine/os-park-oversleep-p50-us-slack-${tag}`, key: "oversleepP50Us", unit: "µs" },
    { name: `engine/os-park-oversleep-p99-us-slack-${tag}`, key: "oversleepP99Us", unit: "µs" }
  ],
  details: ["wakesPerSecond", "cpuPercent"]
})

/** Issue 15's target for the engine at 100k/s, which the bare peers below are held to as well. */
const PACED_CPU_TARGET: Target = { op: "<", value: 25 }
const PACED_P99_TARGET: Target = { op: "<", value: 50 }

/**
 * The engine's paced source with nothing of velox in it: one bare thread meets the same 100k/s Poisson
 * schedule (Ingress's seeded arrival stream), parking until each arrival with a given timer slack
 * (`park`), parking until the next tick of a fixed period with a 1 µs slack and handling everything
 * due (`periodic`), or spinning on the clock. The rows together are the CPU-versus-p99 frontier a bare
 * thread reaches at 100k/s: if no policy meets the target, no loop built on them can.
 */
type PeerPolicy =
  | { readonly _tag: "park"; readonly slackNs: number; readonly tag: string }
  | { readonly _tag: "periodic"; readonly periodNs: number; readonly tag: string }
  | { readonly _tag: "spin" }

const PEER_DETAILS = ["latencyMaxUs", "closingP99Us", "closingSamples", "wakesPerSecond", "ratePerSecond", "processCpuPercent", "cpuPercent"]

const pacedPeer = (policy: PeerPolicy): Job => {
  const rate = `${RATE / 1000}k`
  const common = { rate: RATE, seed: ENGINE.seed, warmupMs: 300, windowMs: 2_000 }
  // engine/os-<policy>-100k-<figure>-<setting>, e.g. engine/os-periodic-100k-cpu-percent-period-30us.
  const paced = (policyName: string, setting: string) => [
    { name: `engine/os-${policyName}-${rate}-cpu-percent-${setting}`, key: "cpuPercent", unit: "% core", target: PACED_CPU_TARGET },
    { name: `engine/os-${policyName}-${rate}-latency-p99-us-${setting}`, key: "latencyP99Us", unit: "µs", target: PACED_P99_TARGET },
    { name: `engine/os-${policyName}-${rate}-latency-p50-us-${setting}`, key: "latencyP50Us", unit: "µs" }
  ]
  switch (policy._tag) {
    case "spin":
      return {
        label: `one bare thread spinning on the clock to meet ${rate}/s Poisson arrivals: latency (the VM's tail)`,
        module: PACED_PEER,
        params: { ...common, slackNs: "spin" } satisfies PacedPeerParams,
        runs: VARIANT_RUNS,
        metrics: [
          { name: "engine/os-spin-latency-p99-us", key: "latencyP99Us", unit: "µs" },
          { name: "engine/os-spin-latency-p50-us", key: "latencyP50Us", unit: "µs" }
        ],
        details: PEER_DETAILS,
        timeoutMs: 30_000
      }
    case "park":
      return {
        label: `one bare thread parking until each of ${rate}/s Poisson arrivals, timer slack ${policy.tag}: CPU, latency`,
        module: PACED_PEER,
        params: { ...common, slackNs: policy.slackNs } satisfies PacedPeerParams,
        runs: VARIANT_RUNS,
        metrics: paced("paced", `slack-${policy.tag}`),
        details: PEER_DETAILS,
        timeoutMs: 30_000
      }
    case "periodic":
      return {
        label: `one bare thread waking every ${policy.tag} (timer slack 1 µs) for ${rate}/s Poisson arrivals: CPU, latency`,
        module: PACED_PEER,
        params: { ...common, slackNs: LEAST_SLACK_NS, periodNs: policy.periodNs } satisfies PacedPeerParams,
        runs: VARIANT_RUNS,
        metrics: paced("periodic", `period-${policy.tag}`),
        details: PEER_DETAILS,
        timeoutMs: 30_000
      }
  }
}

/** The bare thread's policies: parking until each arrival at five slacks, waking on three periods. */
const PEER_SLACKS_US = [1, 10, 20, 30, 50]
const PEER_PERIODS_US = [20, 30, 40]

const jobs: ReadonlyArray<Job> = [
  velox(
    "engine/velox-unthrottled-fused",
    "velox fused: ingress + order-book + bundler + output in one worker (the engine's default)",
    "fused",
    RUNS,
    TWENTY_MILLION
  ),
  velox(
    "engine/velox-unthrottled-workers",
    "velox 2 workers: ingress | order-book + bundler + output",
    "ingress-alone",
    RUNS,
    TWENTY_MILLION
  ),
  velox(
    "engine/velox-unthrottled-workers-ingress-book",
    "velox 2 workers: ingress + order-book | bundler + output",
    "ingress-book",
    VARIANT_RUNS
  ),
  velox(
    "engine/velox-unthrottled-workers-per-stage",
    "velox 4 workers: one per stage (on 2 cores)",
    "per-stage",
    VARIANT_RUNS
  ),
  {
    label: "plain loop: generate, apply, bundle, count (one thread)",
    module: PLAIN_LOOP,
    params: { ...TIMING, batch: BATCH } satisfies PlainLoopParams,
    runs: RUNS,
    metrics: [{ name: "engine/plain-loop", key: "mtxPerSecond", unit: "Mtx/s" }],
    details: ["timedTransactions", "bundles"]
  },
  {
    label: "Effect Stream: objects, map / filter / grouped(16) / map / runFold (one thread)",
    module: EFFECT_STREAM,
    params: { ...TIMING, chunk: BATCH } satisfies EffectStreamParams,
    runs: RUNS,
    metrics: [{ name: "engine/effect-stream", key: "mtxPerSecond", unit: "Mtx/s" }],
    details: ["timedTransactions", "bundles"]
  },
  {
    label: `velox fused at ${RATE / 1000}k/s (Poisson): latency to output, CPU`,
    module: LATENCY,
    params: {
      placement: "fused",
      rate: RATE,
      warmupMs: 300,
      windowMs: 2_000,
      startTimeoutMs: 20_000,
      minLatencySamples: 1_000
    } satisfies LatencyParams,
    runs: RUNS,
    metrics: [
      { name: "engine/velox-latency-p50-us", key: "latencyP50Us", unit: "µs", target: { op: "<", value: 2 } },
      { name: "engine/velox-latency-p99-us", key: "latencyP99Us", unit: "µs", target: { op: "<", value: 50 } },
      { name: "engine/velox-bundle-latency-p50-us", key: "bundleP50Us", unit: "µs" },
      { name: "engine/velox-bundle-latency-p99-us", key: "bundleP99Us", unit: "µs" },
      { name: "engine/velox-cpu-percent", key: "cpuPercent", unit: "% core", target: { op: "<", value: 25 } }
    ],
    details: LATENCY_DETAILS,
    timeoutMs: 30_000
  },
  {
    label: `velox fused at ${RATE / 1000}k/s (Poisson), loops spinning instead of parking: latency to output, CPU`,
    module: LATENCY,
    params: {
      placement: "fused",
      rate: RATE,
      warmupMs: 300,
      windowMs: 2_000,
      startTimeoutMs: 20_000,
      minLatencySamples: 1_000,
      idle: "spin"
    } satisfies LatencyParams,
    runs: VARIANT_RUNS,
    metrics: [
      { name: "engine/velox-latency-p50-us-spin", key: "latencyP50Us", unit: "µs" },
      { name: "engine/velox-latency-p99-us-spin", key: "latencyP99Us", unit: "µs" },
      { name: "engine/velox-cpu-percent-spin", key: "cpuPercent", unit: "% core" }
    ],
    details: LATENCY_DETAILS,
    timeoutMs: 30_000
  },
  {
    label: `velox 2 workers (ingress | the rest) at ${RATE / 1000}k/s: latency to output, CPU`,
    module: LATENCY,
    params: {
      placement: "workers",
      rate: RATE,
      warmupMs: 300,
      windowMs: 2_000,
      startTimeoutMs: 20_000,
      minLatencySamples: 1_000
    } satisfies LatencyParams,
    runs: VARIANT_RUNS,
    metrics: [
      { name: "engine/velox-latency-p50-us-workers", key: "latencyP50Us", unit: "µs" },
      { name: "engine/velox-latency-p99-us-workers", key: "latencyP99Us", unit: "µs" },
      { name: "engine/velox-cpu-percent-workers", key: "cpuPercent", unit: "% core" }
    ],
    details: LATENCY_DETAILS,
    timeoutMs: 30_000
  },
  {
    label: "engine (2 workers, unthrottled) without and with the ops server + a 1 s /metrics scraper, ABBA windows",
    module: METRICS_OVERHEAD,
    params: {
      workload: "engine",
      topology: "two-workers",
      warmupMs: 300,
      windowMs: 1_500,
      pairs: 6,
      scrapeIntervalMs: 1_000,
      startTimeoutMs: 20_000
    } satisfies MetricsOverheadParams,
    runs: VARIANT_RUNS,
    metrics: [{ name: "engine/velox-metrics-overhead-percent", key: "overheadPercent", unit: "%", target: { op: "<", value: 2 } }],
    details: ["offMrecPerSecond", "onMrecPerSecond", "offMainCpuPercent", "onMainCpuPercent", "scrapes", "scrapeMs", "metricsBytes"],
    timeoutMs: 60_000
  },
  {
    label: "velox fused with no input (Ingress at 1/s): CPU",
    module: LATENCY,
    params: {
      placement: "fused",
      rate: 1,
      warmupMs: 200,
      windowMs: 1_500,
      startTimeoutMs: 20_000,
      minLatencySamples: 0
    } satisfies LatencyParams,
    runs: RUNS,
    metrics: [{ name: "engine/velox-idle-cpu-percent", key: "cpuPercent", unit: "% core", target: { op: "<", value: 1 } }],
    details: ["mainCpuPercent", "sourceLoopCpuPercent", "otherLoopsCpuPercent", "parksPerSecond", "ratePerSecond"],
    timeoutMs: 30_000
  },
  {
    label: "velox 2 workers with no input (Ingress at 1/s): CPU",
    module: LATENCY,
    params: {
      placement: "workers",
      rate: 1,
      warmupMs: 200,
      windowMs: 1_500,
      startTimeoutMs: 20_000,
      minLatencySamples: 0
    } satisfies LatencyParams,
    runs: VARIANT_RUNS,
    metrics: [{ name: "engine/velox-idle-cpu-percent-workers", key: "cpuPercent", unit: "% core" }],
    details: ["mainCpuPercent", "sourceLoopCpuPercent", "otherLoopsCpuPercent", "parksPerSecond", "ratePerSecond"],
    timeoutMs: 30_000
  },
  curvePoint(10_000, "10k", "backoff"),
  curvePoint(1_000_000, "1m", "backoff"),
  curvePoint(10_000, "10k", "spin"),
  curvePoint(1_000_000, "1m", "spin"),
  ...(["slack-1us", "slack-50us"] as const).flatMap((idle) => [
    curvePoint(10_000, "10k", idle),
    curvePoint(RATE, "100k", idle),
    curvePoint(1_000_000, "1m", idle)
  ]),
  parkWake(LEAST_SLACK_NS, "1us"),
  parkWake(BACKOFF_DEFAULTS.timerSlackNs, "20us"),
  parkWake(LINUX_DEFAULT_SLACK_NS, "50us"),
  ...PEER_SLACKS_US.map((us) => pacedPeer({ _tag: "park", slackNs: us * 1_000, tag: `${us}us` })),
  ...PEER_PERIODS_US.map((us) => pacedPeer({ _tag: "periodic", periodNs: us * 1_000, tag: `${us}us` })),
  pacedPeer({ _tag: "spin" })
]

export const suite: Suite = {
  name: "engine",
  jobs,
  ratios: [
    {
      name: "engine/ratio-plain-vs-velox-fused",
      numerator: "engine/plain-loop",
      denominator: "engine/velox-unthrottled-fused"
    },
    {
      name: "engine/ratio-velox-fused-vs-effect-stream",
      numerator: "engine/velox-unthrottled-fused",
      denominator: "engine/effect-stream"
    },
    {
      name: "engine/ratio-velox-workers-vs-effect-stream",
      numerator: "engine/velox-unthrottled-workers",
      denominator: "engine/effect-stream"
    },
    {
      name: "engine/ratio-velox-workers-vs-fused",
      numerator: "engine/velox-unthrottled-workers",
      denominator: "engine/velox-unthrottled-fused"
    }
  ],
  notes: [
    "Every throughput case does the same work per transaction: the seeded order flow of Ingress (OrderFlow, 8 symbols, seed 42), applied to the exact OrderBooks kernel with the stage's dispatch (a book update with level size and best bid/ask), bundled by 16, each bundle validated, counted and checksummed as Output does. Mtx/s = millions of transactions per second received by the output in bundles.",
    `velox unthrottled: Ingress { unthrottled: true } (each poll a full batch, stamped with the poll's clock), Bundler { maxSize: 16, timeoutNs: Infinity } so the bundles are exactly the ids cut into 16s, run defaults (batch ${BATCH}, rings of ${RING_CAPACITY}, BackoffIdleStrategy). Rate = Δ transactions received (Output's counters) ÷ Δ output LAST_COMMIT_NS between two samples ${TIMING.durationMs} ms apart, ${TIMING.warmupMs} ms after the first bundles reached the output.`,
    "Checked before any number is reported: the ledger balances, nothing dropped or dead-lettered, generated = book in = book updates = transactions bundled = transactions received by output, bundles flushed = received, and the output's checksum equals the closed form for the count (velox); the same counts and checksum, and the books equal level by level to what the generator put on them (peers).",
    "plain loop and Effect Stream run on ONE thread; velox-unthrottled-workers is two threads (ingress | order-book + bundler + output), -ingress-book splits after the book, -per-stage runs four loops on the machine's two cores.",
    `Latency at ${RATE / 1000}k/s (Poisson, seeded; the engine as npm start runs it: Bundler 16 or 100 µs): velox-latency-p50/p99-us = EVERY transaction, the Bundler's clock on receipt − its ingress timestamp (tsNs, the scheduled arrival): its transit through ingress and order book to the bundler (in the output's loop pass), no waiting for a bundle to fill; closingP99Us (details) = only the transactions that closed a bundle by SIZE, at Output (over-weights stalls). velox-bundle-latency-* = per bundle (all), receipt − its FIRST transaction's tsNs: transit plus the wait for the bundle to close (≤ 100 µs timeout + 25 µs timer period). Percentiles are histogram bucket upper bounds (≤ 3.1% above). Window 2 s after 300 ms of warm-up.`,
    "CPU = process.cpuUsage() of the whole program (all threads) over the timed window, % of one core. Details: mainCpuPercent (the main thread), sourceLoopCpuPercent (the loop running the ingress), otherLoopsCpuPercent (the other velox loops), from Linux per-thread scheduler stats. Idle: Ingress at 1 transaction/s (Poisson), 1.5 s window.",
    `os-paced-100k-* (peer, nothing of velox): one bare thread parks (Atomics.wait with a timeout, timer slack 1/10/20/30/50 µs) until each arrival of the same ${RATE / 1000}k/s Poisson schedule as Ingress (its seeded arrival stream), handles all due, and records arrival → handled for every arrival of a 2 s window into the same kind of histogram as velox's (same buckets and percentiles); CPU = the thread's own. os-periodic-100k-*-period-T: the same thread waking every T (20/30/40 µs, slack 1 µs) and handling all due. os-spin-*: the same thread spinning on the clock (the VM's own tail). Details: closingP99Us = the same arrivals sampled as velox's closingP99Us (the arrival closing a bundle of 16 by size), which over-weights stalls. If no peer policy meets the target, no loop built on them can.`,
    "others: share of the machine's CPU other processes used (plus hypervisor steal) during the case's runs, median. The 2-worker rows need both cores; the latency rows suffer from any time slicing (a descheduled spinning loop is milliseconds of latency)."
  ]
}
