/**
 * The journal's synchronous tier: the writer and the reader that a loop calls directly (a sink's or
 * a replay source's, in a worker; a small ingest process), `info`, and the writer's statistics. It
 * throws `JournalFault` (a plain `Error` whose `reason` has the tags and fields of
 * `NodeJournal.JournalError`'s reasons) and imports no `effect`, so a process that only writes a
 * journal starts in a few tens of milliseconds. `NodeJournal` is the Effect face over it.
 *
 * Import it as `@velox/node/NodeJournalUnsafe` (or `NodeJournalUnsafe` from `@velox/node`).
 *
 * @since 0.1.0
 */
import { describeJournal, type JournalInfo } from "./internal/journal/info.ts"
import { JournalReader, type ReaderConfig } from "./internal/journal/reader.ts"
import { isStatsBuffer, type JournalStats, makeStatsBuffer, readStats as readStatsBuffer } from "./internal/journal/stats.ts"
import { JournalWriter, wallClockNs, type WriterConfig } from "./internal/journal/writer.ts"

export {
  /** @category errors @since 0.1.0 */
  JournalFault
} from "./internal/journal/fault.ts"
export type { FaultReason } from "./internal/journal/fault.ts"
export type { JournalInfo, SegmentInfo } from "./internal/journal/info.ts"
export {
  /** @category unsafe @since 0.1.0 */
  JournalReader,
  /** @category unsafe @since 0.1.0 */
  READ_END
} from "./internal/journal/reader.ts"
export type { ReaderConfig, StartAt } from "./internal/journal/reader.ts"
export type { JournalStats } from "./internal/journal/stats.ts"
export {
  /** @category unsafe @since 0.1.0 */
  JournalWriter,
  /** @category models @since 0.1.0 */
  wallClockNs,
  /** @category models @since 0.1.0 */
  WRITER_DEFAULTS
} from "./internal/journal/writer.ts"
export type { FsyncPolicy, Recovery, WriterConfig } from "./internal/journal/writer.ts"

/**
 * Opens the journal in `directory` for appending (creating it when missing): recovers its tail (a
 * torn batch is cut), checks its layout, takes its lock. Call `poll()` from a timer (time-based
 * batches, the interval fsync) and `close()` at the end. Throws `JournalFault`.
 *
 * @example
 * ```ts
 * import { RecordLayout } from "@velox/core"
 * import { NodeJournalUnsafe } from "@velox/node"
 *
 * const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64" })
 * const view = RecordLayout.view(Tick, new ArrayBuffer(16 * 2), 0, 2)
 * RecordLayout.writeUnsafe(view, 0, { seq: 0, price: 10.5 })
 * RecordLayout.writeUnsafe(view, 1, { seq: 1, price: 10.25 })
 *
 * const writer = NodeJournalUnsafe.openWriter("ticks.journal", { layout: Tick, fsync: "batch" })
 * writer.appendView(view, 0, 2)
 * writer.close() // writes the open batch, fsyncs, releases the lock
 * ```
 *
 * @category unsafe
 * @since 0.1.0
 */
export const openWriter = (directory: string, config: WriterConfig): JournalWriter => JournalWriter.open(directory, config)

/**
 * Opens a reader on the journal in `directory`: `next()` returns the next batch's record count (the
 * records are at `batchByteOffset` in `bytes`), 0 when a follower has nothing new, `READ_END` at
 * the end. Throws `JournalFault`.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const openReader = (directory: string, config: ReaderConfig = {}): JournalReader => JournalReader.open(directory, config)

/**
 * Describes the journal in `directory` without changing it: layout, records, time range, segments
 * and bytes. With `verify`, every batch of every segment is read and checked. Throws `JournalFault`.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const info = (directory: string, options: { readonly verify?: boolean } = {}): JournalInfo =>
  describeJournal(directory, options)

/**
 * A statistics block to give a writer (`stats`), readable from any thread with {@link readStats}.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeStats: () => SharedArrayBuffer = makeStatsBuffer

/**
 * @category guards
 * @since 0.1.0
 */
export const isStats: (u: unknown) => u is SharedArrayBuffer = isStatsBuffer

/**
 * Reads a writer's statistics from any thread: records appended, written (in the OS) and durable
 * (fsynced), the lag in records and in ms, batches, fsyncs, segments, bytes.
 *
 * @category metrics
 * @since 0.1.0
 */
export const readStats = (buffer: SharedArrayBuffer): JournalStats => readStatsBuffer(buffer, wallClockNs())
