/**
 * A sink that appends every record it receives to a journal (see `NodeJournal`), bytes as they sit
 * in the ring, for any layout (`input: Stage.AnyLayout`): the journal takes the layout of the records
 * that reach it, and a journal that already holds another layout fails the start (`LayoutMismatch`,
 * naming both).
 *
 * Accounting and backpressure. A record appended to the open batch is *retained* (it stays unreleased
 * in the sink's input ring) until its batch is written; then it is delivered (`out.account`). So a
 * crash of the sink loses no record: what was not written comes again from the ring (records written
 * by the pass that crashed may be written twice: at-least-once, like any sink's side effect; see
 * "Placement" for when the ring can give them back). A
 * journal that lags — a slow disk, an fsync per batch — blocks the sink's loop, its input ring fills
 * and upstream waits: nothing is dropped unless the pipeline says so. Keep `batchRecords` below the
 * ring capacity (the run checks: retained records must fit in the ring).
 *
 * Timing. A batch is written when it holds `batchRecords` records, or once it is `batchMs` old (the
 * loop wakes for it, and for the `"interval"` fsync). On drain the sink writes the open batch, fsyncs
 * unless `fsync: "never"`, and closes its files.
 *
 * Faults. A journal that cannot be opened (not writable, damaged, locked, another layout) fails the
 * start and the run (`StartFailed`); a write that fails (a full disk) crashes the stage with the
 * `JournalFault`, and its supervision decides (restart with backoff, by default).
 *
 * Placement. Give the sink a loop of its own (`placement: "worker"`): its writes and fsyncs then block
 * only that loop, and the records of its open batch wait in its input ring, so a crash loses none.
 * Fused after other stages it works the same, but a crash loses the open batch's records (counted as
 * `lost` in the ledger): there is no ring in front of it to give them back.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Counter } from "@velox/core/stages"
 * import { NodeJournal, NodeJournalSink, NodePipelineRuntime } from "@velox/node"
 *
 * const stats = NodeJournal.makeStats()
 * const pipeline = Pipeline.from(Counter, { count: 1_000_000 })
 *   .to(NodeJournalSink.sink, { directory: "counter.journal", fsync: "drain", stats }, { placement: "worker" })
 *
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   yield* handle.done
 *   console.log(NodeJournal.readStats(stats)) // { appended: 1000000, written: 1000000, durable: 1000000, … }
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { type RecordLayout, Stage } from "@velox/core"
import { Schema } from "effect"
import { WriterOptions } from "./NodeJournal.ts"
import * as Unsafe from "./NodeJournalUnsafe.ts"

const Stats = Schema.declare((u): u is SharedArrayBuffer => Unsafe.isStats(u), {
  expected: "a stats block from NodeJournal.makeStats()"
})

/**
 * `directory` (the journal), the writer's options ({@link WriterOptions}: batching, fsync policy,
 * segment size, retention, `timeField`), and `stats` (from `NodeJournal.makeStats()`).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  ...WriterOptions.fields,
  directory: Schema.String.check(Schema.isMinLength(1)),
  stats: Schema.optional(Stats)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/** How often the loop wakes at the least when no batch is open (the sink says when it is due). */
const TIMER_PERIOD_NS = 1e9

/**
 * The sink's logic for a config and the layout it receives (what {@link sink} runs; tests drive it
 * directly). `onStart` opens the journal, recovering its tail and taking its lock; `onClose` lets it go
 * — after the drain, closed (the open batch written and fsynced by `onDrain`), after a crash or an
 * abort, abandoned: its files closed and its lock released without writing the open batch, whose
 * records wait unreleased in the input ring for the sink that takes over.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config, context: Stage.LayoutContext): Stage.StageLogic<RecordLayout.FieldSpec, never> => {
  const { directory, stats, ...options } = config
  let writer: ReturnType<typeof Unsafe.openWriter> | undefined
  // Records written before this logic started are not this logic's to account for.
  let accounted = 0
  const settle = (out: Stage.Emitter<never>) => {
    const written = writer!.writtenSequence
    if (written > accounted) {
      out.account(written - accounted)
      accounted = written
    }
  }
  return {
    onStart() {
      writer = Unsafe.openWriter(directory, { ...options, layout: context.input, stats })
      accounted = writer.writtenSequence
    },
    onBatch(input, start, count, out) {
      writer!.appendView(input, start, count)
      settle(out)
    },
    onTimer(_nowNs, out) {
      writer!.poll()
      settle(out)
    },
    nextWakeNs() {
      const due = writer === undefined ? Infinity : writer.nextDueNs()
      // The writer keeps wall-clock time; the loop, pipeline time.
      return due === Infinity ? Infinity : context.nowNs() + (due - Unsafe.wallClockNs())
    },
    retained: () => (writer === undefined ? 0 : writer.pendingRecords),
    onDrain(out) {
      writer!.close()
      settle(out)
    },
    onClose(reason) {
      if (reason === "drained") writer?.close()
      else writer?.abandon()
      writer = undefined
    }
  }
}

/**
 * The journal sink (stage name `journal-sink`). See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const sink = Stage.sink({
  name: "journal-sink",
  module: import.meta.url,
  input: Stage.AnyLayout,
  config: Config,
  timerPeriodNs: TIMER_PERIOD_NS,
  maxRetained: (config) => config.batchRecords ?? Unsafe.WRITER_DEFAULTS.batchRecords,
  make: makeLogic
})
