/**
 * What a journal holds, read without changing it: layout, records, time range, segments, bytes, the
 * torn tail of its active segment, and who writes it. Sealed segments are known from their trailers
 * and the active one is walked; with `verify`, every batch of every segment is read and checked.
 */
import type { RecordLayout } from "@velox/core"
import * as D from "@velox/core/JournalDescriptor"
import { closeSync, openSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { io, JournalFault } from "./fault.ts"
import { describeStop, readState, scanSegment } from "./segments.ts"
import { LOCK_FILE, WRITER_DEFAULTS } from "./writer.ts"

/** One segment, as `info` reports it. */
export interface SegmentInfo {
  readonly file: string
  readonly baseSequence: number
  readonly endSequence: number
  readonly records: number
  readonly bytes: number
  readonly sealed: boolean
  /** NaN for a segment with no record yet. */
  readonly firstTime: number
  readonly maxTime: number
}

/** What a journal holds, as `npm run journal -- info` prints it. */
export interface JournalInfo {
  readonly directory: string
  readonly layout: RecordLayout.RecordLayout
  /** `Name{field:type,…}` */
  readonly layoutSignature: string
  readonly layoutHash: number
  readonly timeField: string | undefined
  readonly firstSequence: number
  readonly endSequence: number
  readonly records: number
  /** The journal's time range (NaN when empty): its time field's values, or wall-clock ns. */
  readonly firstTime: number
  readonly lastTime: number
  readonly segments: ReadonlyArray<SegmentInfo>
  readonly bytes: number
  /** Bytes after the active segment's last valid batch: a torn tail (or a write under way). */
  readonly trailingBytes: number
  readonly trailingReason: string | undefined
  /** The live process holding the writer's lock, if any. */
  readonly writerPid: number | undefined
  /** Every batch of every segment was read and checked (`verify: true`). */
  readonly verified: boolean
}

const lockHolder = (directory: string): number | undefined => {
  try {
    const pid = Number.parseInt(readFileSync(join(directory, LOCK_FILE), "utf8"), 10)
    if (!Number.isInteger(pid)) return undefined
    process.kill(pid, 0)
    return pid
  } catch {
    return undefined
  }
}

/** Describes the journal in `directory` without changing it (see `NodeJournalUnsafe.info`). */
export const describeJournal = (directory: string, options: { readonly verify?: boolean } = {}): JournalInfo => {
  const state = readState(directory, { indexIntervalBytes: WRITER_DEFAULTS.indexIntervalBytes })
  const segments: Array<SegmentInfo> = []
  for (const s of state.catalog.segments) {
    if (s.trailer !== undefined) {
      if (options.verify === true) {
        const fd = io(s.file.path, "open", () => openSync(s.file.path, "r"))
        try {
          const scan = scanSegment(fd, s.file, s.header, s.trailer.dataEnd, WRITER_DEFAULTS.indexIntervalBytes)
          if (scan.stoppedBy !== 0 || scan.endSequence !== s.trailer.endSequence) {
            throw new JournalFault({
              _tag: "Corrupted",
              segment: s.file.path,
              offset: scan.dataEnd,
              message: scan.stoppedBy !== 0
                ? describeStop(scan, s.file)
                : `${s.file.path}: the batches end at sequence ${scan.endSequence}, the trailer says ${s.trailer.endSequence}`
            })
          }
        } finally {
          closeSync(fd)
        }
      }
      segments.push({
        file: s.file.name,
        baseSequence: s.header.baseSequence,
        endSequence: s.trailer.endSequence,
        records: s.trailer.endSequence - s.header.baseSequence,
        bytes: s.size,
        sealed: true,
        firstTime: s.trailer.firstTime,
        maxTime: s.trailer.maxTime
      })
    } else {
      const scan = state.active!
      segments.push({
        file: s.file.name,
        baseSequence: s.header.baseSequence,
        endSequence: scan.endSequence,
        records: scan.endSequence - s.header.baseSequence,
        bytes: s.size,
        sealed: false,
        firstTime: scan.index.firstTime,
        maxTime: scan.index.maxTime
      })
    }
  }
  const header = state.catalog.segments[0]!.header
  const nonEmpty = segments.filter((s) => s.records > 0)
  const active = state.active
  return {
    directory,
    layout: header.layout,
    layoutSignature: D.layoutSignature(header.layout),
    layoutHash: header.layoutHash,
    timeField: header.timeField,
    firstSequence: state.firstSequence,
    endSequence: state.endSequence,
    records: state.endSequence - state.firstSequence,
    firstTime: nonEmpty[0]?.firstTime ?? NaN,
    lastTime: nonEmpty.length === 0 ? NaN : Math.max(...nonEmpty.map((s) => s.maxTime)),
    segments,
    bytes: segments.reduce((n, s) => n + s.bytes, 0),
    trailingBytes: active?.trailingBytes ?? 0,
    trailingReason: active !== undefined && active.trailingBytes > 0
      ? describeStop(active, state.catalog.segments.at(-1)!.file)
      : undefined,
    writerPid: lockHolder(directory),
    verified: options.verify === true
  }
}

