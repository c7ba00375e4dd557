/**
 * A journal directory as a catalog of segments: listing them, reading their headers and trailers,
 * walking the batches of the active one to find where its valid data ends, and telling a torn tail
 * (cut, expected after a crash) from damage (a typed error).
 *
 * Rules (see README "Durable journal"):
 * - every segment's header must be valid, and all must hold the same layout;
 * - every segment but the last must be sealed (a valid trailer), and each must end at the sequence
 *   the next one starts with;
 * - the last segment, if not sealed, is the active one: its data ends at the first batch that is cut
 *   short or fails a check. If no valid batch follows that point it is a torn tail (a write that a
 *   crash interrupted) and is cut; if one does, the segment was damaged, which is an error unless the
 *   caller asked to truncate anyway.
 */
import type { RecordLayout } from "@velox/core"
import * as D from "@velox/core/JournalDescriptor"
import { closeSync, fstatSync, openSync, readdirSync, readSync } from "node:fs"
import { join } from "node:path"
import { io, JournalFault, layoutMismatch } from "./fault.ts"
import {
  BatchCheck,
  batchCount,
  batchFirstSequence,
  batchFirstTime,
  batchLastTime,
  checkBatch,
  decodeIndex,
  decodeSegmentHeader,
  decodeTrailer,
  describeBatchCheck,
  IndexBuilder,
  SEGMENT_FIXED_BYTES,
  type SegmentHeader,
  type SegmentIndex,
  segmentHeaderSize,
  type Trailer
} from "./format.ts"
import { ChecksumBuffer } from "./payloadChecksum.ts"

export interface SegmentFile {
  readonly baseSequence: number
  readonly name: string
  readonly path: string
}

/** The segment files of `directory`, oldest first. Fails with `NotFound` when there is no directory. */
export const listSegments = (directory: string): Array<SegmentFile> => {
  const names = io(directory, "list", () => readdirSync(directory))
  const files: Array<SegmentFile> = []
  for (const name of names) {
    const baseSequence = D.parseSegmentFileName(name)
    if (baseSequence !== undefined) files.push({ baseSequence, name, path: join(directory, name) })
  }
  return files.sort((a, b) => a.baseSequence - b.baseSequence)
}

/** Reads up to `length` bytes at `position` into `buffer` at `offset`; returns how many it got. */
export const readAt = (fd: number, path: string, buffer: Uint8Array, offset: number, length: number, position: number): number => {
  let done = 0
  while (done < length) {
    const n = io(path, "read", () => readSync(fd, buffer, offset + done, length - done, position + done))
    if (n === 0) break
    done += n
  }
  return done
}

export const fileSize = (fd: number, path: string): number => io(path, "stat", () => fstatSync(fd).size)

/** Reads and checks a segment's header; a damaged one is `Corrupted`. */
export const readHeader = (fd: number, file: SegmentFile): SegmentHeader => {
  const fixed = new Uint8Array(SEGMENT_FIXED_BYTES)
  const got = readAt(fd, file.path, fixed, 0, fixed.length, 0)
  const size = segmentHeaderSize(fixed.subarray(0, got))
  if (typeof size === "string") throw new JournalFault({ _tag: "Corrupted", segment: file.path, offset: 0, message: `${file.path}: ${size}` })
  const bytes = new Uint8Array(size)
  const n = readAt(fd, file.path, bytes, 0, size, 0)
  const header = decodeSegmentHeader(bytes.subarray(0, n))
  if (typeof header === "string") throw new JournalFault({ _tag: "Corrupted", segment: file.path, offset: 0, message: `${file.path}: ${header}` })
  if (header.baseSequence !== file.baseSequence) {
    throw new JournalFault({
      _tag: "Corrupted",
      segment: file.path,
      offset: D.SEGMENT_BASE_SEQUENCE_OFFSET,
      message: `${file.path}: the header says the segment starts at sequence ${header.baseSequence}, its name says ${file.baseSequence}`
    })
  }
  return header
}

/** The trailer of a segment of `size` bytes: `undefined` when it has none (not sealed). */
export const readTrailer = (fd: number, file: SegmentFile, size: number, header: SegmentHeader): Trailer | undefined => {
  if (size < header.headerBytes + D.TRAILER_BYTES) return undefined
  const bytes = new Uint8Array(D.TRAILER_BYTES)
  readAt(fd, file.path, bytes, 0, bytes.length, size - D.TRAILER_BYTES)
  const trailer = decodeTrailer(bytes, size, header.headerBytes)
  if (typeof trailer === "string") {
    throw new JournalFault({ _tag: "Corrupted", segment: file.path, offset: size - D.TRAILER_BYTES, message: `${file.path}: ${trailer}` })
  }
  return trailer
}

/** A sealed segment's index, read and checked. */
export const readIndex = (fd: number, file: SegmentFile, trailer: Trailer): SegmentIndex => {
  const bytes = new Uint8Array(trailer.indexEntries * D.INDEX_ENTRY_BYTES)
  readAt(fd, file.path, bytes, 0, bytes.length, trailer.dataEnd)
  const index = decodeIndex(bytes, trailer)
  if (typeof index === "string") {
    throw new JournalFault({ _tag: "Corrupted", segment: file.path, offset: trailer.dataEnd, message: `${file.path}: ${index}` })
  }
  return index
}

/** One segment as the catalog sees it. */
export interface CatalogSegment {
  readonly file: SegmentFile
  readonly header: SegmentHeader
  readonly size: number
  /** Present when the segment is sealed. */
  readonly trailer: Trailer | undefined
}

/** Every segment of a journal, checked against each other (not their batches). */
export interface Catalog {
  readonly directory: string
  readonly segments: ReadonlyArray<CatalogSegment>
}

/**
 * Reads the catalog of `directory`: every header and trailer, checked for one layout and for
 * continuity. Fails with `NotFound` for no directory or no segment (unless `allowEmpty`).
 */
export const readCatalog = (directory: string, options: { readonly allowEmpty?: boolean } = {}): Catalog => {
  const files = listSegments(directory)
  if (files.length === 0 && options.allowEmpty !== true) {
    throw new JournalFault({ _tag: "NotFound", path: directory, message: `${directory} holds no journal segment` })
  }
  const segments: Array<CatalogSegment> = []
  for (const file of files) {
    const fd = io(file.path, "open", () => openSync(file.path, "r"))
    try {
      const header = readHeader(fd, file)
      const size = fileSize(fd, file.path)
      segments.push({ file, header, size, trailer: readTrailer(fd, file, size, header) })
    } finally {
      closeSync(fd)
    }
  }
  const first = segments[0]
  for (const [i, s] of segments.entries()) {
    if (first !== undefined && s.header.layoutHash !== first.header.layoutHash) {
      throw layoutMismatch(s.file.path, D.layoutSignature(first.header.layout), D.layoutSignature(s.header.layout))
    }
    const next = segments[i + 1]
    if (next === undefined) break
    if (s.trailer === undefined) {
      throw new JournalFault({
        _tag: "Truncated",
        segment: s.file.path,
        message: `${s.file.path} is not sealed but ${next.file.name} follows it: it was cut short or its end was damaged`
      })
    }
    if (s.trailer.endSequence !== next.header.baseSequence) {
      throw new JournalFault({
        _tag: "Truncated",
        segment: s.file.path,
        message: `${s.file.path} ends at sequence ${s.trailer.endSequence} but ${next.file.name} starts at ` +
          `${next.header.baseSequence}: ${next.header.baseSequence - s.trailer.endSequence} records are missing`
      })
    }
  }
  return { directory, segments }
}

/** The layout of a catalog's records; checks it against `expected` when given. */
export const checkLayout = (catalog: Catalog, expected: RecordLayout.RecordLayout | undefined): void => {
  const first = catalog.segments[0]
  if (first === undefined || expected === undefined) return
  if (!D.sameFields(first.header.layout, expected)) {
    throw layoutMismatch(catalog.directory, D.layoutSignature(expected), D.layoutSignature(first.header.layout))
  }
}

// ─── Walking batches ─────────────────────────────────────────────────────────────────────────────

const SCAN_CHUNK_BYTES = 1 << 20

/** Where a segment's valid data ends, and what the walk saw on the way. */
export interface Scan {
  /** Byte offset just past the last valid batch. */
  readonly dataEnd: number
  /** One past the last valid record's sequence. */
  readonly endSequence: number
  readonly batches: number
  readonly index: IndexBuilder
  /** Why the walk stopped before the end of the file (a {@link BatchCheck} code), or 0. */
  readonly stoppedBy: number
  /** Bytes after `dataEnd` (a torn tail, or damage). */
  readonly trailingBytes: number
  /** A valid batch lies after the point where the walk stopped: the segment is damaged, not torn. */
  readonly validBatchFollows: boolean
}

/**
 * Walks the batches of `segment` from its header to `end` (its size, or a sealed segment's DATA_END),
 * verifying every checksum, building its index as it goes.
 */
export const scanSegment = (
  fd: number,
  file: SegmentFile,
  header: SegmentHeader,
  end: number,
  indexIntervalBytes: number
): Scan => {
  const index = new IndexBuilder(indexIntervalBytes)
  const buffer = new ChecksumBuffer(SCAN_CHUNK_BYTES)
  let bufferStart = header.headerBytes
  let bufferEnd = bufferStart
  let at = header.headerBytes
  let sequence = header.baseSequence
  let batches = 0
  let stoppedBy = 0
  for (;;) {
    if (at >= end) break
    let available = bufferEnd - at
    const want = available >= D.BATCH_HEADER_BYTES
      ? D.batchBytes(Math.min(buffer.dv.getUint32(at - bufferStart + D.BATCH_COUNT_OFFSET, true), D.MAX_BATCH_RECORDS), header.recordBytes)
      : D.BATCH_HEADER_BYTES
    if (available < want && bufferEnd < end) {
      // Refill from `at`, growing the buffer for a batch bigger than it (bounded by the file).
      buffer.ensure(Math.min(Math.max(want, SCAN_CHUNK_BYTES), end - at))
      const got = readAt(fd, file.path, buffer.bytes, 0, Math.min(buffer.bytes.length, end - at), at)
      bufferStart = at
      bufferEnd = at + got
      available = got
    }
    const size = checkBatch(buffer, at - bufferStart, Math.min(available, end - at), header.recordBytes, sequence, true)
    if (size < 0) {
      stoppedBy = size
      break
    }
    const o = at - bufferStart
    index.add(at, sequence, batchFirstTime(buffer.dv, o), batchLastTime(buffer.dv, o))
    sequence += batchCount(buffer.dv, o)
    batches++
    at += size
  }
  const dataEnd = Math.min(at, end)
  return {
    dataEnd,
    endSequence: sequence,
    batches,
    index,
    stoppedBy,
    trailingBytes: end - dataEnd,
    validBatchFollows: stoppedBy !== 0 && findValidBatch(fd, file, header, dataEnd + D.ALIGNMENT, end, sequence) >= 0
  }
}

/**
 * The offset of the first valid batch (magic, both checksums) at or after `from` (8-aligned) whose
 * first sequence is at least `minSequence`, or -1. Used only after a walk stopped early.
 */
export const findValidBatch = (
  fd: number,
  file: SegmentFile,
  header: SegmentHeader,
  from: number,
  end: number,
  minSequence: number
): number => {
  const buffer = new ChecksumBuffer(SCAN_CHUNK_BYTES)
  const dv = buffer.dv
  const whole = new ChecksumBuffer(D.BATCH_HEADER_BYTES)
  for (let start = from; start + D.BATCH_HEADER_BYTES <= end; start += SCAN_CHUNK_BYTES - D.BATCH_HEADER_BYTES) {
    const got = readAt(fd, file.path, buffer.bytes, 0, Math.min(SCAN_CHUNK_BYTES, end - start), start)
    for (let o = 0; o + D.BATCH_HEADER_BYTES <= got; o += D.ALIGNMENT) {
      if (dv.getUint32(o + D.BATCH_MAGIC_OFFSET, true) !== D.BATCH_MAGIC) continue
      // Given only its header's bytes, a batch whose header checks out is Incomplete (never a size):
      // then read it whole and check its payload too.
      if (checkBatch(buffer, o, D.BATCH_HEADER_BYTES, header.recordBytes, -1, false) !== BatchCheck.Incomplete) continue
      if (batchFirstSequence(dv, o) < minSequence) continue
      const size = D.batchBytes(batchCount(dv, o), header.recordBytes)
      if (start + o + size > end) continue
      whole.ensure(size)
      readAt(fd, file.path, whole.bytes, 0, size, start + o)
      if (checkBatch(whole, 0, size, header.recordBytes, -1, true) === size) return start + o
    }
    if (got < SCAN_CHUNK_BYTES) break
  }
  return -1
}

/** Says what stopped a walk, for error messages. */
export const describeStop = (scan: Scan, file: SegmentFile): string =>
  `${file.path}: ${describeBatchCheck(scan.stoppedBy)} at offset ${scan.dataEnd} (after sequence ${scan.endSequence - 1})`

/** Every segment, the active one walked: the journal as it stands, for `info` and the writer. */
export interface JournalState {
  readonly catalog: Catalog
  /** The walk of the last segment when it is not sealed. */
  readonly active: Scan | undefined
  readonly firstSequence: number
  readonly endSequence: number
}

/**
 * The journal's state: its catalog, and the walk of its active segment. Damage in the active
 * segment (a valid batch after a bad one) fails with `Corrupted`, unless `truncateDamage` is set;
 * a torn tail is reported in `active.trailingBytes`, not an error.
 */
export const readState = (
  directory: string,
  options: { readonly allowEmpty?: boolean; readonly truncateDamage?: boolean; readonly indexIntervalBytes: number }
): JournalState => {
  const catalog = readCatalog(directory, options)
  const last = catalog.segments.at(-1)
  let active: Scan | undefined
  if (last !== undefined && last.trailer === undefined) {
    const fd = io(last.file.path, "open", () => openSync(last.file.path, "r"))
    try {
      active = scanSegment(fd, last.file, last.header, last.size, options.indexIntervalBytes)
    } finally {
      closeSync(fd)
    }
    if (active.validBatchFollows && options.truncateDamage !== true) {
      throw new JournalFault({
        _tag: "Corrupted",
        segment: last.file.path,
        offset: active.dataEnd,
        message: `${describeStop(active, last.file)}, and valid batches follow it: the segment was damaged, not torn by a crash. ` +
          `Open it with recover: "truncate" to cut everything from offset ${active.dataEnd}, or move the segment aside`
      })
    }
  }
  const firstSequence = catalog.segments[0]?.header.baseSequence ?? 0
  const endSequence = last === undefined
    ? 0
    : last.trailer !== undefined
    ? last.trailer.endSequence
    : active!.endSequence
  return { catalog, active, firstSequence, endSequence }
}
