/**
 * A durable journal of fixed-width records: the records exactly as they sit in a ring, appended in
 * checksummed batches to segment files that carry their layout, recovered after a crash, replayed
 * from a sequence or a time, and followed while they are written. The format is drawn in core's
 * `JournalDescriptor`; see README "Durable journal" for the policies and the crash guarantees.
 *
 * Two tiers. `NodeJournalUnsafe` holds the synchronous writer and reader (a sink's or a source's
 * loop, in a worker, calls them directly; they throw `JournalFault`). This module is the Effect face:
 * it opens them as scoped resources, runs the writer's time-driven work in a fiber, reads journals as
 * Streams, and fails with `JournalError`.
 *
 * @since 0.1.0
 */
import { RecordLayout } from "@velox/core"
import * as D from "@velox/core/JournalDescriptor"
import { Cause, Duration, Effect, Schema, type Scope, Stream } from "effect"
import { fromFault, JournalError } from "./internal/journal/errors.ts"
import { JournalFault } from "./internal/journal/fault.ts"
import * as Unsafe from "./NodeJournalUnsafe.ts"

export {
  /** @category errors @since 0.1.0 */
  Corrupted,
  /** @category errors @since 0.1.0 */
  DiskFull,
  /** @category errors @since 0.1.0 */
  IoFailed,
  /** @category errors @since 0.1.0 */
  JournalError,
  /** @category errors @since 0.1.0 */
  LayoutMismatch,
  /** @category errors @since 0.1.0 */
  Locked,
  /** @category errors @since 0.1.0 */
  NotFound,
  /** @category errors @since 0.1.0 */
  NotWritable,
  /** @category errors @since 0.1.0 */
  Truncated
} from "./internal/journal/errors.ts"
export type {
  FsyncPolicy,
  JournalInfo,
  JournalStats,
  Recovery,
  SegmentInfo,
  StartAt
} from "./NodeJournalUnsafe.ts"

const positive = Schema.Finite.check(Schema.isGreaterThan(0))
const positiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * The writer's options as a Schema (for config files, flags and stage configs): every key optional,
 * defaults in `NodeJournalUnsafe.WRITER_DEFAULTS` — batches of 500 records or 30 s, fsync every second
 * (`"interval"`), segments of 128 MiB, no retention limit, an index entry every 256 KiB.
 *
 * @category models
 * @since 0.1.0
 */
export const WriterOptions = Schema.Struct({
  timeField: Schema.optional(Schema.String),
  batchRecords: Schema.optional(positiveInt.check(Schema.isLessThanOrEqualTo(D.MAX_BATCH_RECORDS))),
  batchMs: Schema.optional(positive),
  fsync: Schema.optional(Schema.Literals(["never", "batch", "interval", "drain"])),
  fsyncIntervalMs: Schema.optional(positive),
  segmentBytes: Schema.optional(positiveInt),
  retentionBytes: Schema.optional(positive),
  retentionMs: Schema.optional(positive),
  indexIntervalBytes: Schema.optional(positiveInt),
  recover: Schema.optional(Schema.Literals(["strict", "truncate"]))
})

/**
 * @category models
 * @since 0.1.0
 */
export type WriterOptions = typeof WriterOptions.Type

/**
 * The Effect tier's error for what the synchronous tier threw: a `JournalFault` becomes a
 * `JournalError`; anything else (a `RangeError` for a bad argument) is not one (`undefined`).
 *
 * @category errors
 * @since 0.1.0
 */
export const toJournalError = (e: unknown): JournalError | undefined => (e instanceof JournalFault ? fromFault(e) : undefined)

/** Runs a synchronous journal call: a fault fails with its JournalError, anything else dies. */
const attempt = <A>(f: () => A): Effect.Effect<A, JournalError> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f())
    } catch (e) {
      const error = toJournalError(e)
      return error === undefined ? Effect.die(e) : Effect.fail(error)
    }
  })

/**
 * A journal open for appending, as Effects. Appends are synchronous writes underneath (a batch is
 * written when it fills): keep the journal off latency-critical fibers, or give it to a sink stage.
 *
 * @category models
 * @since 0.1.0
 */
export interface Journal<F extends RecordLayout.FieldSpec> {
  readonly directory: string
  readonly layout: RecordLayout.RecordLayout<F>
  /** What opening found: records on disk, the torn tail it cut. */
  readonly recovery: Unsafe.Recovery
  /** Appends plain records (encoded into the open batch). */
  readonly append: (records: Iterable<RecordLayout.RecordOf<F>>) => Effect.Effect<void, JournalError>
  /** Appends records `start .. start + count - 1` of a view, bytes as they are. */
  readonly appendView: (view: RecordLayout.RecordView<F>, start: number, count: number) => Effect.Effect<void, JournalError>
  /** Writes the open batch. */
  readonly flush: Effect.Effect<void, JournalError>
  /** Writes the open batch and fsyncs: everything appended is durable after. */
  readonly sync: Effect.Effect<void, JournalError>
  readonly stats: Effect.Effect<Unsafe.JournalStats>
  /** The synchronous writer underneath. */
  readonly unsafe: Unsafe.JournalWriter
}

/** How long the writer's fiber sleeps when nothing is due (an append may open a batch meanwhile). */
const IDLE_POLL_MS = 100

/**
 * Opens the journal in `directory` for appending, in the current scope: closing the scope writes
 * what is pending, fsyncs (unless `fsync: "never"`) and closes the files. A fiber does the writer's
 * time-driven work (a batch `batchMs` old, the `"interval"` fsync).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RecordLayout } from "@velox/core"
 * import { NodeJournal } from "@velox/node"
 *
 * const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64" })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const journal = yield* NodeJournal.open("ticks.journal", Tick, { fsync: "batch" })
 *   yield* journal.append([{ seq: 0, price: 10.5 }, { seq: 1, price: 10.25 }])
 *   yield* journal.sync
 * }))
 * Effect.runPromise(program)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const open = <F extends RecordLayout.FieldSpec>(
  directory: string,
  layout: RecordLayout.RecordLayout<F>,
  options: WriterOptions & { readonly stats?: SharedArrayBuffer } = {}
): Effect.Effect<Journal<F>, JournalError, Scope.Scope> =>
  Effect.gen(function*() {
    const writer = yield* Effect.acquireRelease(
      attempt(() => Unsafe.openWriter(directory, { ...options, layout })),
      (w) =>
        attempt(() => w.close()).pipe(
          Effect.catch((e) => Effect.logError(`journal ${directory}: closing failed, pending records lost: ${e.message}`))
        )
    )
    const due = Effect.suspend(() => {
      const next = writer.nextDueNs()
      const waitMs = Number.isFinite(next) ? Math.max(1, (next - Unsafe.wallClockNs()) / 1e6) : IDLE_POLL_MS
      return Effect.sleep(Duration.millis(Math.min(waitMs, IDLE_POLL_MS)))
    }).pipe(
      Effect.andThen(attempt(() => writer.poll())),
      Effect.catch((e) => Effect.logWarning(`journal ${directory}: ${e.message}`)),
      Effect.forever
    )
    yield* Effect.forkScoped(due)
    // Plain records are encoded into a small scratch view, 64 at a time, then appended as bytes.
    const scratch = RecordLayout.view(layout, new ArrayBuffer(layout.byteLength * 64), 0, 64)
    return {
      directory,
      layout,
      recovery: writer.recovery,
      append: (records) =>
        attempt(() => {
          let n = 0
          for (const record of records) {
            RecordLayout.writeUnsafe(scratch, n++, record)
            if (n === scratch.slotCount) {
              writer.appendView(scratch, 0, n)
              n = 0
            }
          }
          if (n > 0) writer.appendView(scratch, 0, n)
        }),
      appendView: (view, start, count) => attempt(() => writer.appendView(view, start, count)),
      flush: attempt(() => writer.flush()),
      sync: attempt(() => writer.sync()),
      stats: Effect.sync(() => Unsafe.readStats(writer.statsBuffer)),
      unsafe: writer
    } satisfies Journal<F>
  })

/**
 * One batch as read back: where it sits in the journal, its time range, and its records decoded.
 *
 * @category models
 * @since 0.1.0
 */
export interface JournalBatch<F extends RecordLayout.FieldSpec> {
  readonly firstSequence: number
  readonly firstTime: number
  readonly lastTime: number
  readonly records: ReadonlyArray<RecordLayout.RecordOf<F>>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface ReadOptions<F extends RecordLayout.FieldSpec> {
  /** The layout expected (a journal of another layout fails with `LayoutMismatch`); typed records. */
  readonly layout?: RecordLayout.RecordLayout<F>
  /** `"start"` (default), `"end"`, `{ sequence }` or `{ time }`. */
  readonly from?: Unsafe.StartAt
  /** Keep reading as the journal grows, never ending (default false: end at the end). */
  readonly follow?: boolean
  /** How often a follower looks for new batches. Default 20 ms. */
  readonly pollInterval?: Duration.Input
}

/**
 * Reads a journal as a Stream of batches of decoded records, checking every batch.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { NodeJournal } from "@velox/node"
 *
 * Effect.runPromise(
 *   NodeJournal.batches("ticks.journal", { from: { sequence: 1_000 } }).pipe(
 *     Stream.runForEach((batch) => Effect.log(batch.firstSequence, batch.records.length))
 *   )
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const batches = <F extends RecordLayout.FieldSpec = RecordLayout.FieldSpec>(
  directory: string,
  options: ReadOptions<F> = {}
): Stream.Stream<JournalBatch<F>, JournalError> =>
  Stream.unwrap(Effect.gen(function*() {
    const reader = yield* Effect.acquireRelease(
      attempt(() =>
        Unsafe.openReader(directory, {
          layout: options.layout,
          from: options.from,
          follow: options.follow === true
        })
      ),
      (r) => Effect.sync(() => r.close())
    )
    const layout = reader.layout as RecordLayout.RecordLayout<F>
    const wait = Effect.sleep(options.pollInterval ?? "20 millis")
    const pull: Effect.Effect<readonly [JournalBatch<F>], JournalError | Cause.Done> = Effect.gen(function*() {
      for (;;) {
        const n = yield* attempt(() => reader.next())
        if (n === Unsafe.READ_END) return yield* Cause.done()
        if (n === 0) {
          yield* wait
          continue
        }
        const view = RecordLayout.view(layout, reader.bytes.buffer, reader.batchByteOffset, n)
        const records: Array<RecordLayout.RecordOf<F>> = new Array(n)
        for (let i = 0; i < n; i++) records[i] = RecordLayout.readUnsafe(view, i)
        return [{
          firstSequence: reader.batchFirstSequence,
          firstTime: reader.batchFirstTime,
          lastTime: reader.batchLastTime,
          records
        }] as const
      }
    })
    return Stream.fromPull(Effect.succeed(pull))
  }))

/**
 * Reads a journal as a Stream of decoded records (see {@link batches}).
 *
 * @category constructors
 * @since 0.1.0
 */
export const records = <F extends RecordLayout.FieldSpec = RecordLayout.FieldSpec>(
  directory: string,
  options: ReadOptions<F> = {}
): Stream.Stream<RecordLayout.RecordOf<F>, JournalError> =>
  batches(directory, options).pipe(Stream.flatMap((b) => Stream.fromArray(b.records)))

/**
 * Describes the journal in `directory` without changing it: layout, records, time range, segments
 * and bytes. Sealed segments are known from their trailers and the active one is walked; with
 * `verify`, every batch of every segment is read and checked (a damaged one fails with `Corrupted`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NodeJournal } from "@velox/node"
 *
 * Effect.runPromise(NodeJournal.info("ticks.journal")).then((info) =>
 *   console.log(info.layoutSignature, info.records, info.segments.length)
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const info = (
  directory: string,
  options: { readonly verify?: boolean } = {}
): Effect.Effect<Unsafe.JournalInfo, JournalError> => attempt(() => Unsafe.info(directory, options))

/**
 * A statistics block to pass to a writer (`stats` option, or a journal sink's config), readable from
 * any thread with {@link readStats}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeStats: () => SharedArrayBuffer = Unsafe.makeStats

/**
 * Reads a writer's statistics from any thread: records appended, written (in the OS) and durable
 * (fsynced), the lag in records and in ms, batches, fsyncs, segments, bytes.
 *
 * @category metrics
 * @since 0.1.0
 */
export const readStats: (buffer: SharedArrayBuffer) => Unsafe.JournalStats = Unsafe.readStats
