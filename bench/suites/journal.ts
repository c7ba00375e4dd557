/**
 * The `journal` suite: the durable journal's write and replay speed beside plain file I/O of the same
 * bytes, and its cost on a running pipeline.
 *
 * ```
 *   write      one thread: records ─► JournalWriter (batches of 500, checksum, positional writes)
 *              peer:       the same bytes ─► fs.writeSync, one call per batch
 *   replay     one thread: segment files ─► JournalReader (checks every batch) ─► every record's seq
 *              peer:       the same files ─► fs.readSync, 4 MiB at a time
 *   pipeline   W1: counter ══► W2: journal-sink        beside   W1: counter ══► W2: counting-sink
 *              W1: journal-replay ─► counting-sink
 *   engine     W1: ingress ─► book ─► bundler ─► output ══► W2: journal-sink   beside   the engine alone
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/journal.json`. Targets are printed, never
 * asserted. See bench/README.md for what each case measures.
 */
import type { Job, Suite } from "../harness.ts"
import type { Params as WriteParams } from "../micro/journalWrite.ts"
import type { Params as ReplayParams } from "../micro/journalReplay.ts"
import type { Params as EngineParams } from "../topology/engineThroughput.ts"
import type { Params as PipelineParams } from "../topology/journalPipeline.ts"

const RUNS = 5

const WRITE = new URL("../micro/journalWrite.ts", import.meta.url)
const REPLAY = new URL("../micro/journalReplay.ts", import.meta.url)
const PIPELINE = new URL("../topology/journalPipeline.ts", import.meta.url)
const ENGINE = new URL("../topology/engineThroughput.ts", import.meta.url)

/** The writer's defaults (`NodeJournal.WRITER_DEFAULTS`): batches of 500 records, segments of 128 MiB. */
const BATCH_RECORDS = 500
const SEGMENT_BYTES = 128 * 1024 * 1024

const pipelineJob = (label: string, name: string, settings: Pick<PipelineParams, "mode" | "fsync">): Job => ({
  label,
  module: PIPELINE,
  params: {
    ...settings,
    ringCapacity: 16_384,
    warmupMs: 300,
    durationMs: 700,
    startTimeoutMs: 20_000,
    segmentBytes: 64 * 1024 * 1024,
    retentionBytes: 256 * 1024 * 1024,
    replayRecords: 8 * 1024 * 1024
  } satisfies PipelineParams,
  runs: RUNS,
  metrics: [{ name, key: "mrecPerSecond", unit: "Mrec/s" }],
  details: ["mbPerSecond", "wallMrecPerSecond", "timedRecords"]
})

const jobs: ReadonlyArray<Job> = [
  {
    label: "write: JournalWriter vs plain fs.writeSync of the same bytes (alternating rounds, one process)",
    module: WRITE,
    params: {
      volumeBytes: 128 * 1024 * 1024,
      rounds: 3,
      chunkRecords: 256,
      batchRecords: BATCH_RECORDS,
      segmentBytes: SEGMENT_BYTES,
      sourceRecords: 1 << 20
    } satisfies WriteParams,
    runs: RUNS,
    metrics: [
      { name: "journal/velox-write-mrec", key: "veloxMrecPerSecond", unit: "Mrec/s" },
      { name: "journal/velox-write-mb", key: "veloxMBPerSecond", unit: "MB/s" },
      { name: "journal/plain-write-mrec", key: "plainMrecPerSecond", unit: "Mrec/s" },
      { name: "journal/plain-write-mb", key: "plainMBPerSecond", unit: "MB/s" }
    ],
    details: ["records", "megabytes"]
  },
  {
    label: "replay from the page cache: JournalReader vs plain fs.readSync of the same files",
    module: REPLAY,
    params: { records: 8 * 1024 * 1024, batchRecords: BATCH_RECORDS, segmentBytes: SEGMENT_BYTES, rounds: 5 } satisfies ReplayParams,
    runs: RUNS,
    metrics: [
      { name: "journal/velox-replay-32b-mrec", key: "veloxMrecPerSecond", unit: "Mrec/s", target: { op: ">=", value: 50 } },
      { name: "journal/plain-read-32b-mrec", key: "plainMrecPerSecond", unit: "Mrec/s" }
    ],
    details: ["veloxGBPerSecond", "plainGBPerSecond", "megabytes"]
  },
  pipelineJob("pipeline: counter ══► counting-sink (no I/O)", "journal/velox-pipeline-counting-sink-mrec", {
    mode: "counting",
    fsync: "never"
  }),
  pipelineJob("pipeline: counter ══► journal-sink, fsync never", "journal/velox-pipeline-journal-sink-mrec", {
    mode: "journal",
    fsync: "never"
  }),
  pipelineJob("pipeline: counter ══► journal-sink, fsync every second (the default)", "journal/velox-pipeline-journal-sink-fsync-interval-mrec", {
    mode: "journal",
    fsync: "interval"
  }),
  pipelineJob("pipeline: journal-replay ─► counting-sink (fused)", "journal/velox-replay-pipeline-32b-mrec", {
    mode: "replay",
    fsync: "never"
  }),
  engineJob("engine: ingress ─► book ─► bundler ─► output (no journal)", "journal/velox-engine-mtx", undefined),
  engineJob("engine: … ─► output ══► journal-sink, fsync never", "journal/velox-engine-journal-fsync-never-mtx", "never"),
  engineJob("engine: … ─► output ══► journal-sink, fsync every second (velox-engine --journal)", "journal/velox-engine-journal-mtx", "interval")
]

/** The engine unthrottled, fused in one worker, with and without its journal (bench/topology/engineThroughput.ts). */
function engineJob(label: string, name: string, journal: EngineParams["journal"]): Job {
  return {
    label,
    module: ENGINE,
    params: {
      topology: "fused",
      idle: "backoff",
      batchSize: 256,
      ringCapacity: 16_384,
      warmupMs: 300,
      durationMs: 700,
      startTimeoutMs: 20_000,
      ...(journal === undefined ? {} : { journal })
    } satisfies EngineParams,
    runs: 3,
    metrics: [{ name, key: "mtxPerSecond", unit: "Mtx/s" }],
    details: ["threads", "cpuCores"],
    timeoutMs: 120_000
  }
}

export const suite: Suite = {
  name: "journal",
  jobs,
  ratios: [
    {
      name: "journal/ratio-velox-write-vs-plain-write",
      numerator: "journal/velox-write-mb",
      denominator: "journal/plain-write-mb",
      target: { op: ">=", value: 0.8 }
    },
    {
      name: "journal/ratio-velox-replay-vs-plain-read",
      numerator: "journal/velox-replay-32b-mrec",
      denominator: "journal/plain-read-32b-mrec"
    },
    {
      name: "journal/ratio-pipeline-journal-sink-vs-counting-sink",
      numerator: "journal/velox-pipeline-journal-sink-mrec",
      denominator: "journal/velox-pipeline-counting-sink-mrec"
    },
    {
      name: "journal/ratio-pipeline-journal-sink-fsync-interval-vs-counting-sink",
      numerator: "journal/velox-pipeline-journal-sink-fsync-interval-mrec",
      denominator: "journal/velox-pipeline-counting-sink-mrec"
    },
    {
      name: "journal/ratio-engine-journal-fsync-never-vs-engine",
      numerator: "journal/velox-engine-journal-fsync-never-mtx",
      denominator: "journal/velox-engine-mtx"
    },
    {
      name: "journal/ratio-engine-journal-vs-engine",
      numerator: "journal/velox-engine-journal-mtx",
      denominator: "journal/velox-engine-mtx"
    }
  ],
  notes: [
    "Records are 32-byte Sequenced records {seq f64, key u32, flags u32, value f64, check f64}. Files go to the system temp directory; every case checks its result (the journal read back record by record, file sizes, the ledger) before it reports a number.",
    "write: 128 MiB of batches per round, the writer's defaults (batches of 500 records, 128 MiB segments), appends of 256 records (what a sink's pass hands it), fsync never on both sides (this compares the work per byte, not the disk). The plain peer writes the same bytes straight from memory, one fs.writeSync per batch-sized chunk. Rounds alternate velox, plain in one process; each run reports the median of 3 rounds.",
    "replay: a journal of 8 Mi records (256 MiB), fsynced, then read once untimed (page cache); velox checks every batch (magic, header CRC-32, payload checksum, sequence) and reads every record's seq; the plain peer only reads the bytes. Median of 5 alternating rounds per run.",
    "pipeline: counter ══► sink across two workers; rate = Δ sink IN / Δ sink LAST_COMMIT_NS over 700 ms after a 300 ms warm-up (as in the pipeline suite). The journal keeps 256 MiB at most (retention), in 64 MiB segments. replay-pipeline: a journal of 8 Mi records replayed to its end into a fused counting sink.",
    "engine: the transaction engine unthrottled (bench/topology/engineThroughput.ts, fused in one worker, bundles of 16), its output relaying every bundle to a journal sink in a second worker as velox-engine --journal does (fsync never, and every second as the command does; 64 MiB segments, 256 MiB retained), beside the same engine with no journal; transactions/s through the output (Δ its transactions / Δ its last commit); checked: the engine reconciles and the journal holds exactly the bundles the output received.",
    "Ratio rows pair the runs of one round. On a shared machine every figure here is noisy; the ratios, measured side by side, are the ones to read."
  ]
}
