/**
 * The journal in a running pipeline: what the journal sink costs a pipeline (against a counting sink
 * doing no I/O), and how fast a replay source feeds one.
 *
 * ```
 *   counting   W1: counter ══► W2: counting-sink          (checks each record's check field)
 *   journal    W1: counter ══► W2: journal-sink           (appends every record; fsync per `fsync`)
 *   replay     W1: journal-replay ─► counting-sink        (a journal written and fsynced beforehand)
 *
 *   ══► ring of `ringCapacity` × 32 B slots between two threads;  ─► fused in one loop
 * ```
 *
 * Records are 32-byte `Sequenced` records. `counting` and `journal` run an unbounded counter: after the
 * first records reach the sink and `warmupMs` more, the sink's stats are sampled twice, `durationMs`
 * apart, and the rate is Δ sink IN / Δ sink LAST_COMMIT_NS (the pipeline's own measure, as in the
 * `pipeline` suite). The journal keeps at most `retentionBytes` on disk (older segments are removed as
 * it goes), so a run's disk use is bounded. `replay` replays a journal of `replayRecords` records to its
 * end and takes the same rate from the first sample after the first records arrived to the end.
 *
 * Checked before any number is returned: the ledger balances with nothing dropped or dead-lettered;
 * counting: every record's check matched; journal: the journal ends at the sequence the counter
 * reached (every record appended and written by the drain); replay: the sink received every record of
 * the journal, each check matching.
 */
import { Effect, Exit, Scope } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { checkOf, Counter, CountingSink, Sequenced } from "@velox/core/stages"
import { NodeJournalSink, NodeJournalSource, NodeJournalUnsafe, NodeStageHost } from "@velox/node"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export type Mode = "counting" | "journal" | "replay"

export interface Params {
  readonly mode: Mode
  /** The journal sink's fsync policy (`journal` mode). */
  readonly fsync: "never" | "interval"
  readonly ringCapacity: number
  readonly warmupMs: number
  readonly durationMs: number
  readonly startTimeoutMs: number
  readonly segmentBytes: number
  readonly retentionBytes: number
  readonly replayRecords: number
}

interface Sample {
  readonly in: number
  readonly lastCommitNs: number
  readonly wallMs: number
}

const sinkOf = (handle: Pipeline.PipelineHandle) => handle.stats().stages.at(-1)!

const sample = (handle: Pipeline.PipelineHandle): Sample => {
  const sink = sinkOf(handle)
  return { in: sink.in, lastCommitNs: sink.lastCommitNs, wallMs: performance.now() }
}

/** A journal of `records` Sequenced records, written through the writer and fsynced (clean pages). */
const writeReplayJournal = (directory: string, records: number, segmentBytes: number): void => {
  const writer = NodeJournalUnsafe.openWriter(directory, { layout: Sequenced, segmentBytes, fsync: "drain" })
  const chunk = 4096
  const f64 = new Float64Array(chunk * 4)
  const u32 = new Uint32Array(f64.buffer)
  const bytes = new Uint8Array(f64.buffer)
  for (let first = 0; first < records; first += chunk) {
    const n = Math.min(chunk, records - first)
    for (let i = 0; i < n; i++) {
      const seq = first + i
      f64[i * 4] = seq
      u32[i * 8 + 2] = seq % 16
      u32[i * 8 + 3] = 0
      f64[i * 4 + 2] = seq
      f64[i * 4 + 3] = checkOf(seq)
    }
    writer.appendBytes(bytes, 0, n)
  }
  writer.close()
}

const check = (label: string, ledger: Ledger.Ledger, expected: number | undefined): void => {
  const problems: Array<string> = []
  if (!ledger.balanced) problems.push("ledger not balanced")
  const source = ledger.stages[0]!
  const sink = ledger.stages.at(-1)!
  if (!(source.emitted > 0)) problems.push("the source produced nothing")
  if (sink.in !== source.emitted) problems.push(`sink received ${sink.in}, source produced ${source.emitted}`)
  if (expected !== undefined && sink.in !== expected) problems.push(`sink received ${sink.in}, expected ${expected}`)
  if (sink.emitted !== sink.in) problems.push(`sink delivered ${sink.emitted} of ${sink.in}`)
  for (const s of ledger.stages) {
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0)
    const dead = Object.values(s.deadLettered).reduce((a, b) => a + b, 0)
    if (dropped !== 0 || dead !== 0 || s.restarts !== 0) problems.push(`${s.stage}: dropped ${dropped}, dead ${dead}, restarts ${s.restarts}`)
  }
  if (problems.length > 0) throw new Error(`${label}: check failed: ${problems.join("; ")}\n${Ledger.format(ledger)}`)
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const root = mkdtempSync(join(tmpdir(), "velox-bench-journal-pipeline-"))
  const directory = join(root, "journal")
  const label = `journal pipeline ${params.mode}${params.mode === "journal" ? ` (fsync ${params.fsync})` : ""}`
  try {
    if (params.mode === "replay") writeReplayJournal(directory, params.replayRecords, params.segmentBytes)
    const pipeline = params.mode === "counting"
      ? Pipeline.from(Counter, { count: Infinity }).to(CountingSink, {}, { placement: "worker" })
      : params.mode === "journal"
      ? Pipeline.from(Counter, { count: Infinity }).to(
        NodeJournalSink.sink,
        { directory, fsync: params.fsync, segmentBytes: params.segmentBytes, retentionBytes: params.retentionBytes },
        { placement: "worker" }
      )
      : Pipeline.from(NodeJournalSource.make(Sequenced), { directory }).to(CountingSink, {})
    const program = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const handle = yield* Pipeline.run(pipeline, { ringCapacity: params.ringCapacity }).pipe(Scope.provide(scope))
      const startDeadline = performance.now() + params.startTimeoutMs
      while (sinkOf(handle).in === 0) {
        if (performance.now() > startDeadline) {
          return yield* Effect.die(new Error(`${label}: no record reached the sink within ${params.startTimeoutMs} ms`))
        }
        yield* Effect.sleep("1 millis")
      }
      let a: Sample
      let b: Sample
      if (params.mode === "replay") {
        a = sample(handle)
        yield* handle.done
        b = sample(handle)
      } else {
        yield* Effect.sleep(params.warmupMs)
        a = sample(handle)
        yield* Effect.sleep(params.durationMs)
        b = sample(handle)
        yield* handle.stop
        yield* handle.done
      }
      yield* Scope.close(scope, Exit.void)
      return { a, b, handle }
    })
    const { a, b, handle } = await Effect.runPromise(program.pipe(Effect.provide(NodeStageHost.layer)))
    const ledger = handle.ledger()
    check(label, ledger, params.mode === "replay" ? params.replayRecords : undefined)
    if (params.mode === "journal") {
      const info = NodeJournalUnsafe.info(directory)
      if (info.endSequence !== ledger.stages[0]!.emitted) {
        throw new Error(`${label}: the journal ends at ${info.endSequence}, the counter produced ${ledger.stages[0]!.emitted}`)
      }
    }
    const timed = b.in - a.in
    const commitNs = b.lastCommitNs - a.lastCommitNs
    if (!(timed > 0 && commitNs > 0)) throw new Error(`${label}: nothing was timed: Δin=${timed} ΔlastCommitNs=${commitNs}`)
    return {
      mrecPerSecond: (timed / commitNs) * 1e3,
      mbPerSecond: (timed * Sequenced.byteLength / commitNs) * 1e3,
      wallMrecPerSecond: timed / (b.wallMs - a.wallMs) / 1e3,
      timedRecords: timed
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
