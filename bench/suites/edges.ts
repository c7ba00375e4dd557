/**
 * The `edges` suite: records entering a pipeline from Effect code (a source edge fed by a Stream of
 * objects, or of record batches) and leaving it into Effect code (a sink edge read as a Stream of
 * objects), beside Effect alone handing the same over through a bounded buffer, in the same run.
 *
 * ```
 *   velox object source   main: Stream of objects ─► source edge ══► W1: counting-sink
 *   velox batch source    main: Stream of batches ─► source edge ══► W1: counting-sink
 *   velox object sink     W1: counter ══► main: sink edge ─► Stream ─► check + count
 *   Effect Stream         main: Stream of objects | batches ─► buffer ─► check + count   (one thread)
 * ```
 *
 * Case names are stable: `object` in a case carrying objects, `batch` in one carrying record batches
 * (issue 8). Targets are printed, never asserted. See bench/README.md.
 */
import type { Job, Suite, Target } from "../harness.ts"
import type { Params as PeerParams } from "../micro/edgesEffectStream.ts"
import type { Case, Params as VeloxParams } from "../topology/edgesThroughput.ts"

const RUNS = 5
const TIMING = { warmupMs: 300, durationMs: 700 } as const
const RING_CAPACITY = 16_384
/** Objects per Stream chunk, and the loops' batch size (the run default). */
const OBJECT_CHUNK = 256
/** Records per batch of the batch cases: a journal's batch, a decoded network frame. */
const BATCH_RECORDS = 4096
/** The source edge's queue; the peer's buffer holds as many records. */
const QUEUE_RECORDS = 16_384

const OBJECTS: Target = { op: ">=", value: 2 }
const BATCHES: Target = { op: ">=", value: 50 }

const VELOX = new URL("../topology/edgesThroughput.ts", import.meta.url)
const PEER = new URL("../micro/edgesEffectStream.ts", import.meta.url)

const velox = (name: string, label: string, edgeCase: Case, chunk: number, batchSize: number, target: Target): Job => ({
  label,
  module: VELOX,
  params: {
    ...TIMING,
    case: edgeCase,
    chunk,
    capacity: QUEUE_RECORDS,
    ringCapacity: RING_CAPACITY,
    batchSize,
    startTimeoutMs: 20_000
  } satisfies VeloxParams,
  runs: RUNS,
  metrics: [{ name, key: "mrecPerSecond", unit: "Mrec/s", target }],
  details: ["wallMrecPerSecond", "timedRecords", "cpuCores"]
})

const jobs: ReadonlyArray<Job> = [
  velox(
    "edges/velox-object-source",
    "velox: a Stream of objects → source edge (Schema check, queue) → ring → counting-sink in a worker",
    "object-source",
    OBJECT_CHUNK,
    256,
    OBJECTS
  ),
  velox(
    "edges/velox-batch-source",
    `velox: a Stream of ${BATCH_RECORDS}-record batches → source edge (bit copy) → ring → counting-sink in a worker`,
    "batch-source",
    BATCH_RECORDS,
    BATCH_RECORDS,
    BATCHES
  ),
  velox(
    "edges/velox-object-sink",
    "velox: counter in a worker → ring → sink edge → a Stream of objects, checked",
    "object-sink",
    OBJECT_CHUNK,
    256,
    OBJECTS
  ),
  {
    label: "Effect Stream: objects → buffer → check (one thread)",
    module: PEER,
    params: { ...TIMING, shape: "object", chunk: OBJECT_CHUNK, capacity: QUEUE_RECORDS } satisfies PeerParams,
    runs: RUNS,
    metrics: [{ name: "edges/effect-stream-object", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  },
  {
    label: `Effect Stream: ${BATCH_RECORDS}-record batches → buffer → copy + check (one thread)`,
    module: PEER,
    params: { ...TIMING, shape: "batch", chunk: BATCH_RECORDS, capacity: QUEUE_RECORDS / BATCH_RECORDS } satisfies PeerParams,
    runs: RUNS,
    metrics: [{ name: "edges/effect-stream-batch", key: "mrecPerSecond", unit: "Mrec/s" }],
    details: ["timedRecords"]
  }
]

export const suite: Suite = {
  name: "edges",
  jobs,
  ratios: [
    { name: "edges/ratio-velox-object-source-vs-effect-stream", numerator: "edges/velox-object-source", denominator: "edges/effect-stream-object" },
    { name: "edges/ratio-velox-object-sink-vs-effect-stream", numerator: "edges/velox-object-sink", denominator: "edges/effect-stream-object" },
    { name: "edges/ratio-velox-batch-source-vs-effect-stream", numerator: "edges/velox-batch-source", denominator: "edges/effect-stream-batch" }
  ],
  notes: [
    "Records are 32-byte Sequenced records {seq f64, key u32, flags u32, value f64, check f64}, check = checkOf(seq). Every record is checked at the far end (checkOf(seq) recomputed; the object readers also check the sequence has no gap). A run whose counts differ, whose checks fail, or (velox) whose ledger does not balance or shows a drop or a dead letter fails and is left out.",
    `Targets (issue 8): objects ≥ ${OBJECTS.value} Mrec/s, record batches ≥ ${BATCHES.value} Mrec/s. velox Mrec/s: Δ IN ÷ Δ LAST_COMMIT_NS of the far end's stats block (counting-sink, or the sink edge) between two samples ${TIMING.durationMs} ms apart, ${TIMING.warmupMs} ms after the first records arrived. Peers: ${TIMING.warmupMs} ms untimed, then records checked in ${TIMING.durationMs} ms of wall time.`,
    `The source edges are backpressure edges with a queue of ${QUEUE_RECORDS} records; rings of ${RING_CAPACITY} slots. Object cases: chunks of ${OBJECT_CHUNK} objects, loops at the default batch of 256. Batch cases: batches of ${BATCH_RECORDS} records from a pool of 16 made before the run (making them is not measured), loops at batchSize ${BATCH_RECORDS}.`,
    "The velox cases use two threads (the main thread runs the Stream and the edge; a worker the other end); the Effect Stream peers one. cpuCores = CPU of the whole process over the timed span, in cores.",
    "others: share of the machine's CPU other processes used (plus hypervisor steal) during the case's runs, median. Each velox case needs both cores."
  ]
}
