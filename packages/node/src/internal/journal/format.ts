/**
 * Encoding and checking the journal's structures (drawn in core's `JournalDescriptor`) over byte
 * buffers: segment headers, batch headers and payloads, sealed segments' index and trailer. CRC-32
 * comes from `node:zlib` (native, the descriptor's CRC-32/ISO-HDLC); a batch's payload checksum from
 * `payloadChecksum.ts` (WebAssembly SIMD), over buffers in its memory.
 *
 * Checks return codes rather than throw: a bad batch at the tail of the active segment is an
 * expected condition (a torn or unfinished write), and the caller decides what it means.
 */
import type { RecordLayout } from "@velox/core"
import * as D from "@velox/core/JournalDescriptor"
import { crc32 } from "node:zlib"
import type { ChecksumBuffer } from "./payloadChecksum.ts"

export const checksum = (bytes: Uint8Array, initial = 0): number => crc32(bytes, initial)

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder("utf-8", { fatal: true })

// ─── Segment header ──────────────────────────────────────────────────────────────────────────────

export interface SegmentHeader {
  readonly headerBytes: number
  readonly recordBytes: number
  readonly baseSequence: number
  readonly createdNs: number
  readonly layoutHash: number
  readonly layout: RecordLayout.RecordLayout
  readonly timeField: string | undefined
}

/** The bytes of a segment header for `layout` (and its time field) starting at `baseSequence`. */
export const encodeSegmentHeader = (
  layout: RecordLayout.RecordLayout,
  timeField: string | undefined,
  baseSequence: number,
  createdNs: number
): Uint8Array => {
  const text = textEncoder.encode(D.layoutText(layout, timeField))
  const size = D.segmentHeaderBytes(text.length)
  const bytes = new Uint8Array(size)
  const dv = new DataView(bytes.buffer)
  dv.setUint32(D.SEGMENT_MAGIC_OFFSET, D.SEGMENT_MAGIC, true)
  dv.setUint32(D.SEGMENT_VERSION_OFFSET, D.FORMAT_VERSION, true)
  dv.setUint32(D.SEGMENT_HEADER_BYTES_OFFSET, size, true)
  dv.setUint32(D.SEGMENT_RECORD_BYTES_OFFSET, layout.byteLength, true)
  dv.setFloat64(D.SEGMENT_BASE_SEQUENCE_OFFSET, baseSequence, true)
  dv.setFloat64(D.SEGMENT_CREATED_NS_OFFSET, createdNs, true)
  dv.setUint32(D.SEGMENT_LAYOUT_HASH_OFFSET, D.layoutHash(layout), true)
  dv.setUint32(D.SEGMENT_LAYOUT_TEXT_BYTES_OFFSET, text.length, true)
  bytes.set(text, D.SEGMENT_LAYOUT_TEXT_OFFSET)
  // The checksum covers the whole header with its own field still zero.
  dv.setUint32(D.SEGMENT_HEADER_CHECKSUM_OFFSET, checksum(bytes), true)
  return bytes
}

/** Bytes to read first: enough for the fixed fields, which give the header's whole size. */
export const SEGMENT_FIXED_BYTES = D.SEGMENT_LAYOUT_TEXT_OFFSET

/** How big the header starting with these fixed bytes says it is, or a problem. */
export const segmentHeaderSize = (fixed: Uint8Array): number | string => {
  if (fixed.length < SEGMENT_FIXED_BYTES) return `the file is shorter than a segment header (${fixed.length} bytes)`
  const dv = new DataView(fixed.buffer, fixed.byteOffset, fixed.length)
  if (dv.getUint32(D.SEGMENT_MAGIC_OFFSET, true) !== D.SEGMENT_MAGIC) return "no segment magic at offset 0"
  const version = dv.getUint32(D.SEGMENT_VERSION_OFFSET, true)
  if (version !== D.FORMAT_VERSION) return `format version ${version}, this reader knows ${D.FORMAT_VERSION}`
  const size = dv.getUint32(D.SEGMENT_HEADER_BYTES_OFFSET, true)
  const textBytes = dv.getUint32(D.SEGMENT_LAYOUT_TEXT_BYTES_OFFSET, true)
  if (size !== D.segmentHeaderBytes(textBytes) || textBytes > 1 << 20) {
    return `header size ${size} does not fit a layout text of ${textBytes} bytes`
  }
  return size
}

/** Decodes a whole segment header, or says what is wrong with it. */
export const decodeSegmentHeader = (bytes: Uint8Array): SegmentHeader | string => {
  const size = segmentHeaderSize(bytes)
  if (typeof size === "string") return size
  if (bytes.length < size) return `the file is shorter than its header (${bytes.length} of ${size} bytes)`
  const header = bytes.subarray(0, size)
  const dv = new DataView(header.buffer, header.byteOffset, size)
  const stored = dv.getUint32(D.SEGMENT_HEADER_CHECKSUM_OFFSET, true)
  const copy = header.slice()
  new DataView(copy.buffer).setUint32(D.SEGMENT_HEADER_CHECKSUM_OFFSET, 0, true)
  if (checksum(copy) !== stored) return "segment header checksum mismatch"
  const textBytes = dv.getUint32(D.SEGMENT_LAYOUT_TEXT_BYTES_OFFSET, true)
  let parsed: D.JournalLayout
  try {
    parsed = D.parseLayoutText(textDecoder.decode(header.subarray(D.SEGMENT_LAYOUT_TEXT_OFFSET, D.SEGMENT_LAYOUT_TEXT_OFFSET + textBytes)))
  } catch (e) {
    return `unreadable layout: ${(e as Error).message}`
  }
  const recordBytes = dv.getUint32(D.SEGMENT_RECORD_BYTES_OFFSET, true)
  const layoutHash = dv.getUint32(D.SEGMENT_LAYOUT_HASH_OFFSET, true)
  if (recordBytes !== parsed.layout.byteLength || layoutHash !== D.layoutHash(parsed.layout)) {
    return `the header's record size or layout hash does not match its layout ${D.layoutSignature(parsed.layout)}`
  }
  return {
    headerBytes: size,
    recordBytes,
    baseSequence: dv.getFloat64(D.SEGMENT_BASE_SEQUENCE_OFFSET, true),
    createdNs: dv.getFloat64(D.SEGMENT_CREATED_NS_OFFSET, true),
    layoutHash,
    layout: parsed.layout,
    timeField: parsed.timeField
  }
}

/** Reads a field of one type at a byte offset (little-endian), e.g. a journal's time field. */
export type FieldReader = (dv: DataView, at: number) => number

export const fieldReader = (type: RecordLayout.FieldType): FieldReader => {
  switch (type) {
    case "i8":
      return (dv, at) => dv.getInt8(at)
    case "u8":
      return (dv, at) => dv.getUint8(at)
    case "i16":
      return (dv, at) => dv.getInt16(at, true)
    case "u16":
      return (dv, at) => dv.getUint16(at, true)
    case "i32":
      return (dv, at) => dv.getInt32(at, true)
    case "u32":
      return (dv, at) => dv.getUint32(at, true)
    case "f32":
      return (dv, at) => dv.getFloat32(at, true)
    case "f64":
      return (dv, at) => dv.getFloat64(at, true)
  }
}

// ─── Batches ─────────────────────────────────────────────────────────────────────────────────────

/** `checkBatch` outcomes other than a batch's size: negative codes. */
export const BatchCheck = {
  /** Fewer bytes than the header says the batch has: the end of the data, or a torn write. */
  Incomplete: -1,
  BadMagic: -2,
  BadHeaderChecksum: -3,
  BadCount: -4,
  BadSequence: -5,
  BadPayloadChecksum: -6
} as const

export const describeBatchCheck = (code: number): string => {
  switch (code) {
    case BatchCheck.Incomplete:
      return "the batch is cut short"
    case BatchCheck.BadMagic:
      return "no batch magic"
    case BatchCheck.BadHeaderChecksum:
      return "batch header checksum mismatch"
    case BatchCheck.BadCount:
      return "impossible record count"
    case BatchCheck.BadSequence:
      return "the batch's first sequence does not follow the previous batch"
    case BatchCheck.BadPayloadChecksum:
      return "batch payload checksum mismatch"
    default:
      return `code ${code}`
  }
}

/**
 * Writes a batch header at `at` of `dv` for a payload already in place after it; `checksummed` views
 * the header's first `BATCH_HEADER_CHECKSUM_OFFSET` bytes (a writer keeps one per place a batch opens
 * at, so that no view is made per batch).
 */
export const writeBatchHeader = (
  checksummed: Uint8Array,
  dv: DataView,
  at: number,
  count: number,
  firstSequence: number,
  firstTime: number,
  lastTime: number,
  payloadChecksum: number
): void => {
  dv.setUint32(at + D.BATCH_MAGIC_OFFSET, D.BATCH_MAGIC, true)
  dv.setUint32(at + D.BATCH_COUNT_OFFSET, count, true)
  dv.setFloat64(at + D.BATCH_FIRST_SEQUENCE_OFFSET, firstSequence, true)
  dv.setFloat64(at + D.BATCH_FIRST_TIME_OFFSET, firstTime, true)
  dv.setFloat64(at + D.BATCH_LAST_TIME_OFFSET, lastTime, true)
  dv.setUint32(at + D.BATCH_PAYLOAD_CHECKSUM_OFFSET, payloadChecksum, true)
  dv.setUint32(
    at + D.BATCH_HEADER_CHECKSUM_OFFSET,
    checksum(checksummed),
    true
  )
}

/**
 * Checks the batch at `at` of `buffer` (`available` bytes from `at` are valid in it). Returns its size
 * in bytes, or a negative {@link BatchCheck} code. `expectedSequence` < 0 skips the sequence check;
 * `verifyPayload` false checks the header only (for skipping over batches).
 */
export const checkBatch = (
  buffer: ChecksumBuffer,
  at: number,
  available: number,
  recordBytes: number,
  expectedSequence: number,
  verifyPayload: boolean
): number => {
  const bytes = buffer.bytes
  const dv = buffer.dv
  if (available < D.BATCH_HEADER_BYTES) return BatchCheck.Incomplete
  if (dv.getUint32(at + D.BATCH_MAGIC_OFFSET, true) !== D.BATCH_MAGIC) return BatchCheck.BadMagic
  if (
    checksum(bytes.subarray(at, at + D.BATCH_HEADER_CHECKSUM_OFFSET)) !==
      dv.getUint32(at + D.BATCH_HEADER_CHECKSUM_OFFSET, true)
  ) return BatchCheck.BadHeaderChecksum
  const count = dv.getUint32(at + D.BATCH_COUNT_OFFSET, true)
  if (count < 1 || count > D.MAX_BATCH_RECORDS) return BatchCheck.BadCount
  if (expectedSequence >= 0 && dv.getFloat64(at + D.BATCH_FIRST_SEQUENCE_OFFSET, true) !== expectedSequence) {
    return BatchCheck.BadSequence
  }
  const size = D.batchBytes(count, recordBytes)
  if (available < size) return BatchCheck.Incomplete
  if (
    verifyPayload &&
    buffer.sum(at + D.BATCH_HEADER_BYTES, size - D.BATCH_HEADER_BYTES) !== dv.getUint32(at + D.BATCH_PAYLOAD_CHECKSUM_OFFSET, true)
  ) return BatchCheck.BadPayloadChecksum
  return size
}

export const batchCount = (dv: DataView, at: number): number => dv.getUint32(at + D.BATCH_COUNT_OFFSET, true)
export const batchFirstSequence = (dv: DataView, at: number): number => dv.getFloat64(at + D.BATCH_FIRST_SEQUENCE_OFFSET, true)
export const batchFirstTime = (dv: DataView, at: number): number => dv.getFloat64(at + D.BATCH_FIRST_TIME_OFFSET, true)
export const batchLastTime = (dv: DataView, at: number): number => dv.getFloat64(at + D.BATCH_LAST_TIME_OFFSET, true)

// ─── Sparse index ────────────────────────────────────────────────────────────────────────────────

/**
 * The sparse index of one segment, built as batches are written or scanned: an entry for the first
 * batch and then for the first batch at least `intervalBytes` past the previous entry.
 */
export class IndexBuilder {
  entries = new Float64Array(4 * 64)
  count = 0
  /** Largest LAST_TIME of the batches seen so far. */
  maxTime = -Infinity
  firstTime = NaN
  private lastOffset = -Infinity
  private readonly intervalBytes: number

  constructor(intervalBytes: number) {
    this.intervalBytes = intervalBytes
  }

  /** Notes a batch at `offset`; adds an index entry for it when due. */
  add(offset: number, firstSequence: number, firstTime: number, lastTime: number): void {
    if (this.count === 0) this.firstTime = firstTime
    if (offset - this.lastOffset >= this.intervalBytes) {
      if ((this.count + 1) * 4 > this.entries.length) {
        const grown = new Float64Array(this.entries.length * 2)
        grown.set(this.entries)
        this.entries = grown
      }
      const e = this.count * 4
      this.entries[e] = offset
      this.entries[e + 1] = firstSequence
      this.entries[e + 2] = firstTime
      this.entries[e + 3] = this.maxTime
      this.count++
      this.lastOffset = offset
    }
    if (lastTime > this.maxTime) this.maxTime = lastTime
  }
}

/** A sealed segment's index, as read back. */
export interface SegmentIndex {
  /** `count` entries of four f64: batch offset, first sequence, first time, max time before. */
  readonly entries: Float64Array
  readonly count: number
}

/** The last index entry whose first sequence is ≤ `sequence` (0 when none is). */
export const entryForSequence = (index: SegmentIndex, sequence: number): number => {
  let lo = 0
  let hi = index.count - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (index.entries[mid * 4 + 1]! <= sequence) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/** The last index entry whose MAX_TIME_BEFORE is < `time`: no batch before it reaches `time`. */
export const entryForTime = (index: SegmentIndex, time: number): number => {
  let lo = 0
  let hi = index.count - 1
  let found = 0
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (index.entries[mid * 4 + 3]! < time) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

// ─── Trailer ─────────────────────────────────────────────────────────────────────────────────────

export interface Trailer {
  readonly indexEntries: number
  readonly endSequence: number
  readonly firstTime: number
  readonly maxTime: number
  readonly dataEnd: number
  readonly indexChecksum: number
}

/** The bytes that seal a segment: its index entries, then the trailer. */
export const encodeSeal = (index: IndexBuilder, endSequence: number, dataEnd: number): Uint8Array => {
  const indexBytes = index.count * D.INDEX_ENTRY_BYTES
  const bytes = new Uint8Array(indexBytes + D.TRAILER_BYTES)
  const dv = new DataView(bytes.buffer)
  for (let i = 0; i < index.count * 4; i++) dv.setFloat64(i * 8, index.entries[i]!, true)
  const t = indexBytes
  dv.setUint32(t + D.TRAILER_MAGIC_OFFSET, D.TRAILER_MAGIC, true)
  dv.setUint32(t + D.TRAILER_INDEX_ENTRIES_OFFSET, index.count, true)
  dv.setFloat64(t + D.TRAILER_END_SEQUENCE_OFFSET, endSequence, true)
  dv.setFloat64(t + D.TRAILER_FIRST_TIME_OFFSET, index.firstTime, true)
  dv.setFloat64(t + D.TRAILER_MAX_TIME_OFFSET, index.maxTime, true)
  dv.setFloat64(t + D.TRAILER_DATA_END_OFFSET, dataEnd, true)
  dv.setUint32(t + D.TRAILER_INDEX_CHECKSUM_OFFSET, checksum(bytes.subarray(0, indexBytes)), true)
  dv.setUint32(t + D.TRAILER_CHECKSUM_OFFSET, checksum(bytes.subarray(t, t + D.TRAILER_CHECKSUM_OFFSET)), true)
  return bytes
}

/**
 * Decodes the trailer in the last 48 bytes of a file of `fileSize` bytes: `undefined` when there is
 * none (no magic: an active segment), a string when there is one that is damaged or inconsistent.
 */
export const decodeTrailer = (bytes: Uint8Array, fileSize: number, headerBytes: number): Trailer | string | undefined => {
  if (bytes.length < D.TRAILER_BYTES) return undefined
  const dv = new DataView(bytes.buffer, bytes.byteOffset, D.TRAILER_BYTES)
  if (dv.getUint32(D.TRAILER_MAGIC_OFFSET, true) !== D.TRAILER_MAGIC) return undefined
  if (checksum(bytes.subarray(0, D.TRAILER_CHECKSUM_OFFSET)) !== dv.getUint32(D.TRAILER_CHECKSUM_OFFSET, true)) {
    return "trailer checksum mismatch"
  }
  const trailer: Trailer = {
    indexEntries: dv.getUint32(D.TRAILER_INDEX_ENTRIES_OFFSET, true),
    endSequence: dv.getFloat64(D.TRAILER_END_SEQUENCE_OFFSET, true),
    firstTime: dv.getFloat64(D.TRAILER_FIRST_TIME_OFFSET, true),
    maxTime: dv.getFloat64(D.TRAILER_MAX_TIME_OFFSET, true),
    dataEnd: dv.getFloat64(D.TRAILER_DATA_END_OFFSET, true),
    indexChecksum: dv.getUint32(D.TRAILER_INDEX_CHECKSUM_OFFSET, true)
  }
  if (trailer.dataEnd < headerBytes || D.sealedSegmentBytes(trailer.dataEnd, trailer.indexEntries) !== fileSize) {
    return `the trailer says ${D.sealedSegmentBytes(trailer.dataEnd, trailer.indexEntries)} bytes, the file has ${fileSize}`
  }
  return trailer
}

/** Decodes a sealed segment's index entries (checked against the trailer's checksum), or a problem. */
export const decodeIndex = (bytes: Uint8Array, trailer: Trailer): SegmentIndex | string => {
  if (checksum(bytes) !== trailer.indexChecksum) return "index checksum mismatch"
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  const entries = new Float64Array(trailer.indexEntries * 4)
  for (let i = 0; i < entries.length; i++) entries[i] = dv.getFloat64(i * 8, true)
  return { entries, count: trailer.indexEntries }
}
