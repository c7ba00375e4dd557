/**
 * A source that replays a journal (see `NodeJournal`) into a pipeline: every record, checked, bytes
 * as they were written, from the start, the end, a sequence or a time (found through the sparse
 * index, without a full scan).
 *
 * Speed: as fast as the pipeline takes them (no `speed`), or at the original timing times `speed`
 * (`speed: 1` the original pace, `2` twice as fast): a record is emitted when the pipeline clock has
 * run, since the first record replayed, the journal time between them divided by `speed`. The
 * journal's time is its time field (ns by convention) or, without one, the wall clock at which each
 * batch was written (a batch's records then come out together).
 *
 * End: at the end of the journal the source is exhausted and the pipeline drains — unless `follow`
 * is set: it then keeps replaying what a writer appends, looking for more every `pollMs`.
 *
 * A source's output layout is part of its definition, so a replay source is made for a layout:
 * `make(layout)`, or `forJournal(directory)` for the layout the journal holds. The definition's module
 * URL carries the layout (a worker rebuilds the same definition); a journal of another layout fails
 * the start (`LayoutMismatch`, naming both).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { CountingSink, Sequenced } from "@velox/core/stages"
 * import { NodeJournalSource, NodePipelineRuntime } from "@velox/node"
 *
 * const pipeline = Pipeline.from(NodeJournalSource.make(Sequenced), { directory: "counter.journal", from: { sequence: 1_000 } })
 *   .to(CountingSink, {})
 *
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline, { report: true })
 *   yield* handle.done
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { type RecordLayout, Stage } from "@velox/core"
import * as D from "@velox/core/JournalDescriptor"
import { Schema } from "effect"
import { fieldReader } from "./internal/journal/format.ts"
import * as Unsafe from "./NodeJournalUnsafe.ts"

/** Where replay starts: `"start"`, `"end"`, `{ sequence }` or `{ time }` (the journal's time axis). */
const StartAt = Schema.Union([
  Schema.Literals(["start", "end"]),
  Schema.Struct({ sequence: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) }),
  Schema.Struct({ time: Schema.Finite })
])

const Progress = Schema.declare((u): u is SharedArrayBuffer => u instanceof SharedArrayBuffer && u.byteLength === PROGRESS_BYTES, {
  expected: "a progress buffer from NodeJournalSource.makeProgress()"
})

/**
 * `directory` (the journal), `from` (default `"start"`), `speed` (none: as fast as possible),
 * `follow` (keep replaying what is appended; default false), `pollMs` (how often a follower looks,
 * default 20), `progress` (from {@link makeProgress}).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  directory: Schema.String.check(Schema.isMinLength(1)),
  from: Schema.optional(StartAt),
  speed: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0))),
  follow: Schema.optional(Schema.Boolean),
  pollMs: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0))),
  progress: Schema.optional(Progress)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * A replay source's progress: records replayed, and the sequence of the next record, as two 64-bit
 * integers (`Atomics` on a `BigInt64Array`; the source stores once per poll, any thread reads).
 *
 * ```
 *  byte 0 ┌────────────────────────┐
 *         │ records   i64          │  the source, Atomics.store per poll
 *  byte 8 ├────────────────────────┤
 *         │ position  i64          │  the source, Atomics.store per poll
 * byte 16 └────────────────────────┘
 * ```
 *
 * @category layout
 * @since 0.1.0
 */
export const PROGRESS_BYTES = 16

/**
 * @category constructors
 * @since 0.1.0
 */
export const makeProgress = (): SharedArrayBuffer => new SharedArrayBuffer(PROGRESS_BYTES)

/**
 * Records replayed so far and the sequence replay has reached, from any thread.
 *
 * @category metrics
 * @since 0.1.0
 */
export const readProgress = (progress: SharedArrayBuffer): { readonly records: number; readonly position: number } => {
  const words = new BigInt64Array(progress)
  // acquire: each value as the source last stored it.
  return { records: Number(Atomics.load(words, 0)), position: Number(Atomics.load(words, 1)) }
}

const DEFAULT_POLL_MS = 20

/**
 * The replay logic for `layout` (what a replay source runs; tests drive it directly). Opens the
 * journal now.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = <F extends RecordLayout.FieldSpec>(
  layout: RecordLayout.RecordLayout<F>,
  config: Config
): Stage.SourceLogic<F> => {
  const words = layout.byteLength / 8
  const pollNs = (config.pollMs ?? DEFAULT_POLL_MS) * 1e6
  const speed = config.speed
  const progress = config.progress === undefined ? undefined : new BigInt64Array(config.progress)
  // Opened by onStart (from `config.from`, or where a crashed predecessor had got to), closed by onClose.
  let from = config.from
  let reader!: ReturnType<typeof Unsafe.openReader>
  let timeInfo: RecordLayout.FieldInfo | undefined
  let readTime: ReturnType<typeof fieldReader> | undefined
  // The batch being replayed: records [index, count) at `first` (in 8-byte words) of `source`.
  let source!: Float64Array
  let times!: DataView
  let first = 0
  let index = 0
  let count = 0
  let replayed = 0
  // Pacing: journal time t0 was replayed at pipeline time startNs.
  let t0 = NaN
  let startNs = NaN
  /** Nothing to do before this pipeline time (a record not yet due, or a follower between looks). */
  let waitUntilNs = -Infinity

  /** Journal time of record `i` of the current batch. */
  const timeOf = (i: number): number =>
    readTime === undefined ? reader.batchFirstTime : readTime(times, (first + i * words) * 8 + timeInfo!.offset)

  /** How many of the next `n` records are due at `nowNs`; sets `waitUntilNs` when not all are. */
  const dueCount = (nowNs: number, n: number): number => {
    if (Number.isNaN(t0)) {
      t0 = timeOf(index)
      startNs = nowNs
    }
    let k = 0
    while (k < n) {
      const dueNs = startNs + (timeOf(index + k) - t0) / speed!
      if (dueNs > nowNs) {
        waitUntilNs = dueNs
        break
      }
      k++
    }
    return k
  }

  return {
    onStart() {
      reader = Unsafe.openReader(config.directory, { layout, from, follow: config.follow === true })
      timeInfo = layout.fields.find((f) => f.name === reader.timeField)
      readTime = timeInfo === undefined ? undefined : fieldReader(timeInfo.type)
      source = new Float64Array(reader.bytes.buffer)
      times = new DataView(reader.bytes.buffer)
    },
    // Its place in the journal (and the pacing's origin): a restart reopens there, neither repeating
    // nor skipping a record.
    snapshotState: () => [index === count ? reader.position : reader.batchFirstSequence + index, replayed, t0, startNs],
    restoreState(snapshot) {
      const [sequence, done, origin, started] = snapshot as readonly [number, number, number, number]
      from = { sequence }
      replayed = done
      t0 = origin
      startNs = started
    },
    onPoll(nowNs, max, out) {
      if (nowNs < waitUntilNs) return 0
      waitUntilNs = -Infinity
      let emitted = 0
      while (emitted < max) {
        if (index === count) {
          const n = reader.next()
          if (n === Unsafe.READ_END) {
            if (emitted > 0) break
            return Stage.SOURCE_EXHAUSTED
          }
          if (n === 0) {
            waitUntilNs = nowNs + pollNs
            break
          }
          if (reader.bytes.buffer !== source.buffer) {
            source = new Float64Array(reader.bytes.buffer)
            times = new DataView(reader.bytes.buffer)
          }
          first = reader.batchByteOffset / 8
          index = 0
          count = n
        }
        let take = Math.min(max - emitted, count - index)
        if (speed !== undefined) {
          take = dueCount(nowNs, take)
          if (take === 0) break
        }
        // Whole records, 8 bytes at a time: the bits as written (NaN payloads included).
        const dst = out.view.words64
        let s = first + index * words
        for (let r = 0; r < take; r++) {
          let d = out.emit() * words
          for (let w = 0; w < words; w++) dst[d++] = source[s++]!
        }
        index += take
        emitted += take
      }
      if (emitted > 0) {
        replayed += emitted
        if (progress !== undefined) {
          // publish: how far replay got, to any thread that loads it.
          Atomics.store(progress, 0, BigInt(replayed))
          Atomics.store(progress, 1, BigInt(reader.batchFirstSequence + index))
        }
      }
      return emitted
    },
    nextWakeNs: () => waitUntilNs,
    onClose() {
      reader?.close()
    }
  }
}

const LAYOUT_QUERY = "layout"

const define = <F extends RecordLayout.FieldSpec>(layout: RecordLayout.RecordLayout<F>): Stage.StageDefinition<never, F, Config> => {
  // The layout rides in the module URL's query: a worker importing that URL rebuilds this definition.
  const url = new URL(import.meta.url)
  url.search = ""
  url.searchParams.set(LAYOUT_QUERY, D.layoutText(layout))
  return Stage.source({
    name: "journal-replay",
    module: url.href,
    output: layout,
    config: Config,
    keepsState: true,
    make: (config) => makeLogic(layout, config)
  })
}

/**
 * A replay source for journals of `layout`.
 *
 * @category stages
 * @since 0.1.0
 */
export const make: <F extends RecordLayout.FieldSpec>(layout: RecordLayout.RecordLayout<F>) => Stage.StageDefinition<never, F, Config> =
  define

/**
 * A replay source for the layout the journal in `directory` holds (read now; throws `JournalFault`
 * when there is no journal there).
 *
 * @category stages
 * @since 0.1.0
 */
export const forJournal = (directory: string): Stage.StageDefinition<never, RecordLayout.FieldSpec, Config> =>
  define(Unsafe.info(directory).layout)

/**
 * The definition a worker finds when it imports this module by a URL that {@link make} returned (the
 * layout is in the query); `undefined` when the module is imported without one.
 *
 * @category stages
 * @since 0.1.0
 */
export const FromModuleUrl: Stage.StageDefinition<never, RecordLayout.FieldSpec, Config> | undefined = (() => {
  const text = new URL(import.meta.url).searchParams.get(LAYOUT_QUERY)
  return text === null ? undefined : define(D.parseLayoutText(text).layout)
})()
