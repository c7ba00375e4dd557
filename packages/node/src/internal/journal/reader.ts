/**
 * The journal reader: a cursor over batches, from a sequence, a time, the start or the end, that
 * checks every batch it returns (magic, both checksums, sequence continuity) and never returns a
 * record that fails.
 *
 * It reads big chunks (`chunkBytes`, default 4 MiB) with positional reads, straight into WebAssembly
 * memory where the payload checksum runs, and hands out each batch in place: `bytes`/`words` are the
 * chunk buffer, `batchByteOffset` the batch's first record in it, valid until the next `next()`. No
 * copy, no allocation per batch.
 *
 * Where it starts: a sequence or a time is found through the segments' names and trailers and the
 * sealed segments' sparse index (a binary search), then a short walk; only the active segment, which
 * has no index yet, is walked from its start (it is at most `segmentBytes` long).
 *
 * At the end of the active segment: a batch cut short, or bad, with nothing valid after it, is the
 * end of the data (a write in progress, or the torn tail of a writer that crashed); `next()` returns
 * `READ_END`, or 0 when following (call again later: the bytes are read again, so a writer that
 * reopens and cuts the torn tail is followed correctly). A bad batch with a valid one after it, or
 * any bad batch in a sealed segment, is `Corrupted`.
 */
import type { RecordLayout } from "@velox/core"
import * as D from "@velox/core/JournalDescriptor"
import { closeSync, openSync } from "node:fs"
import { io, JournalFault } from "./fault.ts"
import {
  BatchCheck,
  batchCount,
  batchFirstSequence,
  batchFirstTime,
  batchLastTime,
  checkBatch,
  describeBatchCheck,
  entryForSequence,
  entryForTime,
  type FieldReader,
  fieldReader,
  type SegmentHeader,
  type Trailer
} from "./format.ts"
import {
  type CatalogSegment,
  checkLayout,
  fileSize,
  findValidBatch,
  listSegments,
  readAt,
  readCatalog,
  readHeader,
  readIndex,
  readState,
  readTrailer,
  type SegmentFile
} from "./segments.ts"
import { ChecksumBuffer } from "./payloadChecksum.ts"
import { WRITER_DEFAULTS } from "./writer.ts"

/** Where a reader starts. A time is on the journal's time axis (its time field, or wall-clock ns). */
export type StartAt = "start" | "end" | { readonly sequence: number } | { readonly time: number }

export interface ReaderConfig {
  /** The layout expected; a journal of another layout is `LayoutMismatch`. */
  readonly layout?: RecordLayout.RecordLayout | undefined
  readonly from?: StartAt | undefined
  /** Keep reading as the journal grows (`next()` returns 0 at the end instead of `READ_END`). */
  readonly follow?: boolean | undefined
  readonly chunkBytes?: number | undefined
}

/** What `next()` returns once a reader that does not follow has read everything. */
export const READ_END = -1

const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024

export class JournalReader {
  readonly directory: string
  readonly layout: RecordLayout.RecordLayout
  readonly timeField: string | undefined
  readonly follow: boolean

  /** The chunk buffer the current batch lies in (replaced when a batch needs a bigger one). */
  bytes: Uint8Array
  words: Int32Array
  private dv: DataView
  /** The chunk's memory, which can checksum its own ranges. */
  private readonly buffer: ChecksumBuffer
  /** Byte offset in `bytes` of the current batch's first record. */
  batchByteOffset = 0
  batchCount = 0
  batchFirstSequence = 0
  batchFirstTime = 0
  batchLastTime = 0

  private readonly recordBytes: number
  private readonly timeOffset: number
  private readonly readTime: FieldReader | undefined
  /** Size of the active segment when last looked at. */
  private knownSize = 0
  private file: SegmentFile | undefined
  private header: SegmentHeader | undefined
  private trailer: Trailer | undefined
  private fd = -1
  /** Byte offset in the segment of the next batch. */
  private pos = 0
  /** Sequence of the next batch's first record. */
  private expected = 0
  /** File offset of `bytes[0]` and how many bytes from there are loaded. */
  private bufferStart = 0
  private bufferLength = 0
  /** Batches before this sequence / time are skipped (a start position). */
  private skipToSequence = -1
  private skipToTime = -Infinity
  private closed = false

  private constructor(directory: string, config: ReaderConfig) {
    this.directory = directory
    this.follow = config.follow === true
    const catalog = readCatalog(directory)
    checkLayout(catalog, config.layout)
    const first = catalog.segments[0]!
    this.layout = first.header.layout
    this.timeField = first.header.timeField
    this.recordBytes = this.layout.byteLength
    const timeInfo = this.layout.fields.find((f) => f.name === this.timeField)
    this.timeOffset = timeInfo?.offset ?? 0
    this.readTime = timeInfo === undefined ? undefined : fieldReader(timeInfo.type)
    const chunk = config.chunkBytes ?? DEFAULT_CHUNK_BYTES
    if (!(Number.isInteger(chunk) && chunk >= 4096)) throw new RangeError(`chunkBytes must be an integer ≥ 4096: chunkBytes=${chunk}`)
    this.buffer = new ChecksumBuffer(chunk)
    this.bytes = this.buffer.bytes
    this.words = new Int32Array(this.bytes.buffer)
    this.dv = this.buffer.dv
    try {
      this.seek(catalog.segments, config.from ?? "start")
    } catch (e) {
      this.close()
      throw e
    }
  }

  /** Opens a reader on the journal in `directory`. Throws a `JournalFault`. */
  static open(directory: string, config: ReaderConfig = {}): JournalReader {
    return new JournalReader(directory, config)
  }

  /** Sequence of the record after the last one returned (where reading goes on). */
  get position(): number {
    return this.expected
  }

  private seek(segments: ReadonlyArray<CatalogSegment>, from: StartAt): void {
    const firstSequence = segments[0]!.header.baseSequence
    if (from === "start") return this.enter(segments[0]!, undefined)
    if (from === "end") {
      const state = readState(this.directory, { indexIntervalBytes: WRITER_DEFAULTS.indexIntervalBytes })
      const last = state.catalog.segments.at(-1)!
      this.enter(last, undefined)
      if (last.trailer !== undefined) {
        this.pos = last.trailer.dataEnd
        this.expected = last.trailer.endSequence
      } else {
        this.pos = state.active!.dataEnd
        this.expected = state.active!.endSequence
      }
      return
    }
    if ("sequence" in from) {
      const s = from.sequence
      if (!(Number.isSafeInteger(s) && s >= 0)) throw new RangeError(`a start sequence must be a non-negative integer: sequence=${s}`)
      if (s < firstSequence) {
        throw new JournalFault({
          _tag: "NotFound",
          path: this.directory,
          message: `sequence ${s} is before the journal's first record (${firstSequence}): removed by retention`
        })
      }
      let segment = segments[0]!
      for (const candidate of segments) if (candidate.header.baseSequence <= s) segment = candidate
      this.enter(segment, (index) => entryForSequence(index, s))
      this.skipToSequence = s
      return
    }
    const t = from.time
    // The first segment whose largest time reaches t (the active segment has no trailer: last resort).
    let segment = segments.at(-1)!
    for (const candidate of segments) {
      if (candidate.trailer === undefined || candidate.trailer.maxTime >= t) {
        segment = candidate
        break
      }
    }
    this.enter(segment, (index) => entryForTime(index, t))
    this.skipToTime = t
  }

  /** Opens `segment` and places the cursor at its first batch, or at the index entry `pick` chooses. */
  private enter(
    segment: CatalogSegment,
    pick: ((index: { readonly entries: Float64Array; readonly count: number }) => number) | undefined
  ): void {
    this.openSegment(segment.file)
    this.header = segment.header
    this.trailer = segment.trailer
    this.pos = segment.header.headerBytes
    this.expected = segment.header.baseSequence
    if (pick !== undefined && segment.trailer !== undefined && segment.trailer.indexEntries > 0) {
      const index = readIndex(this.fd, segment.file, segment.trailer)
      const e = pick(index)
      this.pos = index.entries[e * 4]!
      this.expected = index.entries[e * 4 + 1]!
    }
  }

  private openSegment(file: SegmentFile): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
    this.fd = io(file.path, "open", () => openSync(file.path, "r"))
    this.file = file
    this.bufferLength = 0
    this.knownSize = 0
  }

  /**
   * The next batch: returns its record count (> 0; the records are at `batchByteOffset` in `bytes`),
   * 0 when a following reader has nothing new yet, or `READ_END`. Throws a `JournalFault` on damage.
   */
  next(): number {
    if (this.closed) throw new TypeError(`journal reader on ${this.directory} is closed`)
    for (;;) {
      // A sealed segment ends at DATA_END; the active one where it ended when last looked at.
      const limit = this.trailer !== undefined ? this.trailer.dataEnd : this.knownSize
      if (this.pos >= limit) {
        if (this.trailer === undefined) {
          if (this.refreshSize() > limit) continue
          if (!this.sealedNow(this.knownSize)) return this.follow ? 0 : READ_END
        }
        const moved = this.nextSegment()
        if (moved !== 1) return moved
        continue
      }
      let o = this.pos - this.bufferStart
      let available = this.bufferLength - o
      if (o < 0 || available < D.BATCH_HEADER_BYTES || available < this.announcedSize(o)) {
        available = this.load(limit)
        o = 0
      }
      const size = checkBatch(this.buffer, o, Math.min(available, limit - this.pos), this.recordBytes, this.expected, true)
      if (size < 0) {
        if (this.trailer === undefined) {
          // Cut short at the size last seen: the file may have grown since.
          if (size === BatchCheck.Incomplete && this.refreshSize() > limit) continue
          // The writer sealed the segment: its index and trailer follow the data.
          if (this.sealedNow(this.refreshSize())) continue
        }
        return this.badBatch(size, this.knownSize)
      }
      const count = batchCount(this.dv, o)
      this.pos += size
      this.expected += count
      const skipping = this.skipToSequence >= 0 || this.skipToTime > -Infinity
      if (skipping && !this.reachesStart(o, count)) continue
      this.batchByteOffset = o + D.BATCH_HEADER_BYTES
      this.batchCount = count
      this.batchFirstSequence = batchFirstSequence(this.dv, o)
      this.batchFirstTime = batchFirstTime(this.dv, o)
      this.batchLastTime = batchLastTime(this.dv, o)
      if (skipping) this.trimToStart()
      return this.batchCount
    }
  }

  private refreshSize(): number {
    this.knownSize = fileSize(this.fd, this.file!.path)
    return this.knownSize
  }

  /** Size the batch header at `at` announces (its count may be garbage: bounded, checked later). */
  private announcedSize(at: number): number {
    return D.batchBytes(Math.min(this.dv.getUint32(at + D.BATCH_COUNT_OFFSET, true), D.MAX_BATCH_RECORDS), this.recordBytes)
  }

  /** Loads the file from `pos` on (a whole batch at least, when it is there); returns the bytes loaded. */
  private load(limit: number): number {
    let want = Math.min(this.bytes.length, limit - this.pos)
    const got = readAt(this.fd, this.file!.path, this.bytes, 0, want, this.pos)
    this.bufferStart = this.pos
    this.bufferLength = got
    if (got >= D.BATCH_HEADER_BYTES) {
      const size = this.announcedSize(0)
      if (size > this.bytes.length && size <= limit - this.pos) {
        // A batch bigger than the chunk: grow to hold it (batches are bounded by MAX_BATCH_RECORDS).
        this.buffer.ensure(size)
        this.bytes = this.buffer.bytes
        this.words = new Int32Array(this.bytes.buffer)
        this.dv = this.buffer.dv
        want = size
        this.bufferLength = readAt(this.fd, this.file!.path, this.bytes, 0, want, this.pos)
      }
    }
    return this.bufferLength
  }

  /** A batch failed its check at `pos`: the end of the data, or damage. */
  private badBatch(code: number, limit: number): number {
    const file = this.file!
    const where = `${file.path}: ${describeBatchCheck(code)} at offset ${this.pos} (sequence ${this.expected})`
    if (this.trailer !== undefined) {
      throw new JournalFault({ _tag: "Corrupted", segment: file.path, offset: this.pos, message: `${where}, in a sealed segment` })
    }
    if (code !== BatchCheck.Incomplete && findValidBatch(this.fd, file, this.header!, this.pos + D.ALIGNMENT, limit, this.expected) >= 0) {
      throw new JournalFault({ _tag: "Corrupted", segment: file.path, offset: this.pos, message: `${where}, and valid batches follow: the segment was damaged` })
    }
    // Forget what was loaded past `pos`: it is read again next time (it may be rewritten).
    this.bufferLength = 0
    return this.follow ? 0 : READ_END
  }

  /** The active segment ended at `size`: has it been sealed since (a trailer right after the data)? */
  private sealedNow(size: number): boolean {
    const trailer = readTrailer(this.fd, this.file!, size, this.header!)
    if (trailer === undefined) return false
    if (trailer.dataEnd !== this.pos || trailer.endSequence !== this.expected) {
      throw new JournalFault({
        _tag: "Corrupted",
        segment: this.file!.path,
        offset: this.pos,
        message: `${this.file!.path}: sealed at offset ${trailer.dataEnd} (sequence ${trailer.endSequence}), read up to ${this.pos} (sequence ${this.expected})`
      })
    }
    this.trailer = trailer
    return true
  }

  /** Moves to the segment after a sealed one: 1 moved, else 0 (wait) or READ_END. */
  private nextSegment(): number {
    const segments = listSegments(this.directory)
    const next = segments.find((s) => s.baseSequence >= this.expected)
    if (next === undefined) return this.follow ? 0 : READ_END
    if (next.baseSequence !== this.expected) {
      throw new JournalFault({
        _tag: "Truncated",
        segment: next.path,
        message: `the segment after sequence ${this.expected} starts at ${next.baseSequence}: records are missing (removed by retention before they were read, or lost)`
      })
    }
    this.openSegment(next)
    const header = readHeader(this.fd, next)
    this.header = header
    this.trailer = readTrailer(this.fd, next, fileSize(this.fd, next.path), header)
    this.pos = header.headerBytes
    return 1
  }

  /** Whether the batch at `o` (of `count` records) holds the start position; skipped if not. */
  private reachesStart(o: number, count: number): boolean {
    if (this.skipToSequence >= 0) return batchFirstSequence(this.dv, o) + count > this.skipToSequence
    return batchLastTime(this.dv, o) >= this.skipToTime
  }

  /** Drops the current batch's records before the start position; reading goes on normally after. */
  private trimToStart(): void {
    let drop = 0
    if (this.skipToSequence >= 0) {
      drop = this.skipToSequence - this.batchFirstSequence
    } else if (this.readTime !== undefined) {
      // The first record whose time reaches the start time.
      let at = this.batchByteOffset + this.timeOffset
      while (drop < this.batchCount - 1 && this.readTime!(this.dv, at) < this.skipToTime) {
        drop++
        at += this.recordBytes
      }
    }
    this.batchByteOffset += drop * this.recordBytes
    this.batchCount -= drop
    this.batchFirstSequence += drop
    this.skipToSequence = -1
    this.skipToTime = -Infinity
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}
