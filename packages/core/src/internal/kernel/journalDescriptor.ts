/**
 * On-disk format of a velox journal: fixed-width records kept exactly as they sit in a ring, in
 * checksummed batches, in segment files that carry their own record layout.
 *
 * A journal is a directory. Each segment file is named after the sequence of its first record
 * (`00000000000000000000.segment`, 20 digits, so names sort like sequences); sequences start at 0
 * and run on without a gap from one segment to the next. All numbers are little-endian; every
 * offset below is in bytes from the start of the structure; every structure starts 8-byte aligned.
 *
 * ```
 *   segment file
 *   ┌──────────────────┬─────────┬─────────┬─ … ─┬─────────┬───────────────────┬─────────┐
 *   │ SEGMENT HEADER   │ BATCH 0 │ BATCH 1 │     │ BATCH n │ INDEX (sealed only)│ TRAILER │
 *   │ layout inside    │         │         │     │         │ entries × 32 B    │ 48 B    │
 *   └──────────────────┴─────────┴─────────┴─ … ─┴─────────┴───────────────────┴─────────┘
 *   0                  HEADER_BYTES                       DATA_END            (sealed only)
 * ```
 *
 * The writer appends batches to the last segment (the active one) and seals it, when it grows past
 * its size limit, by appending the sparse index and the trailer; the next segment starts after.
 * A segment without a valid trailer is the active one: readers find its end by walking its batches.
 *
 * Segment header (written once, in one write, under a temporary name renamed into place, so a
 * segment file never exists with half a header):
 * ```
 *    0 ┌─────────────────────┬──────┬──────────────────────────────────────────────────────┐
 *      │ MAGIC "VJSG"   u32  │  4 B │                                                      │
 *    4 │ VERSION        u32  │  4 B │ FORMAT_VERSION                                       │
 *    8 │ HEADER_BYTES   u32  │  4 B │ whole header, layout text and padding included       │
 *   12 │ RECORD_BYTES   u32  │  4 B │ the layout's stride (a multiple of 8)                │
 *   16 │ BASE_SEQUENCE  f64  │  8 B │ sequence of the segment's first record               │
 *   24 │ CREATED_NS     f64  │  8 B │ wall clock, ns since the Unix epoch                  │
 *   32 │ LAYOUT_HASH    u32  │  4 B │ FNV-1a 32 of the fields ("seq:f64,key:u32,…")        │
 *   36 │ LAYOUT_TEXT_BYTES u32│ 4 B │ length of the UTF-8 layout text                      │
 *   40 │ HEADER_CHECKSUM u32 │  4 B │ CRC-32 of [0, HEADER_BYTES) with this field zero     │
 *   44 │ reserved (0)   u32  │  4 B │                                                      │
 *   48 │ LAYOUT_TEXT         │  n B │ {"name":…,"fields":[["seq","f64"],…],"timeField":…}  │
 *      │ zero padding to 8   │      │                                                      │
 *      └─────────────────────┴──────┴──────────────────────────────────────────────────────┘
 * ```
 *
 * Batch (one write; the unit of checksum, of durability and of replay):
 * ```
 *    0 ┌─────────────────────┬──────┬──────────────────────────────────────────────────────┐
 *      │ MAGIC "VJBT"   u32  │  4 B │                                                      │
 *    4 │ COUNT          u32  │  4 B │ records in the batch, ≥ 1                            │
 *    8 │ FIRST_SEQUENCE f64  │  8 B │ sequence of its first record                         │
 *   16 │ FIRST_TIME     f64  │  8 B │ time of its first record (see "time" below)          │
 *   24 │ LAST_TIME      f64  │  8 B │ largest time in the batch                            │
 *   32 │ PAYLOAD_CHECKSUM u32│  4 B │ payloadChecksum of the records' bytes (see below)    │
 *   36 │ HEADER_CHECKSUM u32 │  4 B │ CRC-32 of [0, 36): the fields above and the payload's│
 *      │                     │      │ checksum                                             │
 *   40 │ RECORDS             │COUNT × RECORD_BYTES: the ring slots' bytes, unchanged       │
 *      └─────────────────────┴─────────────────────────────────────────────────────────────┘
 * ```
 *
 * Index entry (sealed segments; one at least every `indexIntervalBytes` of batches, the first batch
 * always has one):
 * ```
 *    0 BATCH_OFFSET    f64  byte offset of the batch in the segment
 *    8 FIRST_SEQUENCE  f64  the batch's FIRST_SEQUENCE
 *   16 FIRST_TIME      f64  the batch's FIRST_TIME
 *   24 MAX_TIME_BEFORE f64  largest LAST_TIME of the segment's batches before this one (-Infinity
 *                           for the first): the first batch reaching a time T lies between the last
 *                           entry with MAX_TIME_BEFORE < T and the next entry, whatever the order of
 *                           the times
 * ```
 *
 * Trailer (the last 48 bytes of a sealed segment):
 * ```
 *    0 MAGIC "VJSE"     u32
 *    4 INDEX_ENTRIES    u32   entries in the index before the trailer
 *    8 END_SEQUENCE     f64   one past the segment's last record
 *   16 FIRST_TIME       f64   the first batch's FIRST_TIME
 *   24 MAX_TIME         f64   the largest LAST_TIME in the segment
 *   32 DATA_END         f64   byte offset where the batches end and the index begins
 *   40 INDEX_CHECKSUM   u32   CRC-32 of the index entries
 *   44 TRAILER_CHECKSUM u32   CRC-32 of [0, 44)
 * ```
 * A sealed segment is exactly `DATA_END + INDEX_ENTRIES × 32 + 48` bytes long.
 *
 * Checksums. Headers, the index and the trailer carry CRC-32/ISO-HDLC (the CRC of zlib, gzip and PNG;
 * check value 0xCBF43926 for the ASCII bytes "123456789"). A batch's records carry
 * {@link payloadChecksum}, a checksum built for SIMD: read the payload as little-endian u32 words
 * w0, w1, … (zero-padded to a multiple of four), and keep four lanes k = 0..3 of two 64-bit sums,
 * A_k += w_(4j+k) and then B_k += A_k for each block j of four words (mod 2^64); fold the length L and
 * the eight sums, h = L, then h = fmix64(h XOR x) for x = A_0..A_3, B_0..B_3 (murmur3's finaliser),
 * and store the low 32 bits of h XOR (h >> 32). A_k makes every changed word count, B_k weighs it by
 * its position: an error confined to one or two words of the payload always changes the sums (a
 * collision then needs three or more damaged words, and the 32-bit fold). It runs at memory speed in
 * WebAssembly SIMD (four CRC-32s' worth of bytes in the time of one), which is what lets a journal
 * write and replay at the speed of the page cache.
 *
 * Time: a journal whose layout text names a `timeField` takes its batch times from that field of
 * the records (any unit; by convention ns). Otherwise each batch's FIRST_TIME is the wall clock when
 * its first record was appended and LAST_TIME the wall clock when it was written, in ns since the
 * Unix epoch (an f64: about 0.25 µs of resolution).
 *
 * This module only describes the format (no I/O): `@velox/node`'s journal reads and writes it.
 */
import { FIELD_BYTES, type FieldType, type Layout, layoutFromEntries } from "./recordLayout.ts"

/** Little-endian u32 of four ASCII characters. */
const magicOf = (text: string): number =>
  (text.charCodeAt(0) | (text.charCodeAt(1) << 8) | (text.charCodeAt(2) << 16) | (text.charCodeAt(3) << 24)) >>> 0

export const FORMAT_VERSION = 1

export const SEGMENT_MAGIC = magicOf("VJSG")
export const BATCH_MAGIC = magicOf("VJBT")
export const TRAILER_MAGIC = magicOf("VJSE")

export const SEGMENT_MAGIC_OFFSET = 0
export const SEGMENT_VERSION_OFFSET = 4
export const SEGMENT_HEADER_BYTES_OFFSET = 8
export const SEGMENT_RECORD_BYTES_OFFSET = 12
export const SEGMENT_BASE_SEQUENCE_OFFSET = 16
export const SEGMENT_CREATED_NS_OFFSET = 24
export const SEGMENT_LAYOUT_HASH_OFFSET = 32
export const SEGMENT_LAYOUT_TEXT_BYTES_OFFSET = 36
export const SEGMENT_HEADER_CHECKSUM_OFFSET = 40
export const SEGMENT_RESERVED_OFFSET = 44
export const SEGMENT_LAYOUT_TEXT_OFFSET = 48

export const BATCH_MAGIC_OFFSET = 0
export const BATCH_COUNT_OFFSET = 4
export const BATCH_FIRST_SEQUENCE_OFFSET = 8
export const BATCH_FIRST_TIME_OFFSET = 16
export const BATCH_LAST_TIME_OFFSET = 24
export const BATCH_PAYLOAD_CHECKSUM_OFFSET = 32
export const BATCH_HEADER_CHECKSUM_OFFSET = 36
export const BATCH_HEADER_BYTES = 40

export const INDEX_BATCH_OFFSET_OFFSET = 0
export const INDEX_FIRST_SEQUENCE_OFFSET = 8
export const INDEX_FIRST_TIME_OFFSET = 16
export const INDEX_MAX_TIME_BEFORE_OFFSET = 24
export const INDEX_ENTRY_BYTES = 32

export const TRAILER_MAGIC_OFFSET = 0
export const TRAILER_INDEX_ENTRIES_OFFSET = 4
export const TRAILER_END_SEQUENCE_OFFSET = 8
export const TRAILER_FIRST_TIME_OFFSET = 16
export const TRAILER_MAX_TIME_OFFSET = 24
export const TRAILER_DATA_END_OFFSET = 32
export const TRAILER_INDEX_CHECKSUM_OFFSET = 40
export const TRAILER_CHECKSUM_OFFSET = 44
export const TRAILER_BYTES = 48

/** The checksum of headers, index and trailer, and its standard check value (CRC of "123456789"). */
export const CHECKSUM_ALGORITHM = "CRC-32/ISO-HDLC"
export const CHECKSUM_CHECK_VALUE = 0xcbf43926

const U64 = (1n << 64n) - 1n

/** murmur3's 64-bit finaliser. */
const fmix64 = (x: bigint): bigint => {
  x ^= x >> 33n
  x = (x * 0xff51afd7ed558ccdn) & U64
  x ^= x >> 33n
  x = (x * 0xc4ceb9fe1a85ec53n) & U64
  return x ^ (x >> 33n)
}

/**
 * The checksum of a batch's records, as defined above: the reference implementation (plain BigInt
 * arithmetic, for tools and tests; `@velox/node` computes the same value in WebAssembly SIMD).
 * `bytes.length` must be a multiple of 4 (records are multiples of 8).
 */
export const payloadChecksum = (bytes: Uint8Array): number => {
  if (bytes.length % 4 !== 0) throw new RangeError(`a payload is whole 32-bit words: length=${bytes.length}`)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  const a = [0n, 0n, 0n, 0n]
  const b = [0n, 0n, 0n, 0n]
  for (let at = 0; at < bytes.length; at += 16) {
    for (let k = 0; k < 4; k++) {
      const w = at + 4 * k < bytes.length ? BigInt(dv.getUint32(at + 4 * k, true)) : 0n
      a[k] = (a[k]! + w) & U64
      b[k] = (b[k]! + a[k]!) & U64
    }
  }
  let h = BigInt(bytes.length)
  for (const x of [...a, ...b]) h = fmix64(h ^ x)
  return Number((h ^ (h >> 32n)) & 0xffffffffn)
}

/** Every structure starts on this boundary (records are 8-byte aligned in a ring too). */
export const ALIGNMENT = 8

/** Most records one batch may hold (COUNT is a u32; this keeps a batch's bytes well inside one write). */
export const MAX_BATCH_RECORDS = 1 << 24

export const SEGMENT_FILE_SUFFIX = ".segment"
const SEQUENCE_DIGITS = 20

const align = (n: number): number => Math.ceil(n / ALIGNMENT) * ALIGNMENT

/** File name of the segment whose first record has sequence `baseSequence`. */
export const segmentFileName = (baseSequence: number): string => {
  if (!(Number.isSafeInteger(baseSequence) && baseSequence >= 0)) {
    throw new RangeError(`a segment's base sequence must be a non-negative safe integer: baseSequence=${baseSequence}`)
  }
  return String(baseSequence).padStart(SEQUENCE_DIGITS, "0") + SEGMENT_FILE_SUFFIX
}

/** The base sequence a segment file name carries, or `undefined` for any other name. */
export const parseSegmentFileName = (name: string): number | undefined => {
  if (name.length !== SEQUENCE_DIGITS + SEGMENT_FILE_SUFFIX.length || !name.endsWith(SEGMENT_FILE_SUFFIX)) return undefined
  const digits = name.slice(0, SEQUENCE_DIGITS)
  if (!/^[0-9]+$/.test(digits)) return undefined
  const n = Number(digits)
  return Number.isSafeInteger(n) ? n : undefined
}

/** Bytes of a segment header whose layout text is `layoutTextBytes` long (padded to 8). */
export const segmentHeaderBytes = (layoutTextBytes: number): number => align(SEGMENT_LAYOUT_TEXT_OFFSET + layoutTextBytes)

/** Bytes of a batch of `count` records of `recordBytes` each. */
export const batchBytes = (count: number, recordBytes: number): number => BATCH_HEADER_BYTES + count * recordBytes

/** Length of a sealed segment whose batches end at `dataEnd`, with `indexEntries` index entries. */
export const sealedSegmentBytes = (dataEnd: number, indexEntries: number): number =>
  dataEnd + indexEntries * INDEX_ENTRY_BYTES + TRAILER_BYTES

/** The layout as it is written in a segment header: its name, fields in order, and the time field. */
export interface JournalLayout {
  readonly layout: Layout
  /** A field of the layout whose value is each record's time, or `undefined` (batch wall-clock times). */
  readonly timeField: string | undefined
}

/** The fields in order, `name:type` joined by commas: what the hash covers and what must match. */
export const fieldsText = (layout: Layout): string => layout.fields.map((f) => `${f.name}:${f.type}`).join(",")

/** A layout as people read it in messages: `Sequenced{seq:f64,key:u32,…}`. */
export const layoutSignature = (layout: Layout): string => `${layout.name}{${fieldsText(layout)}}`

/** FNV-1a 32 of the UTF-16 code units of {@link fieldsText} (field names are ASCII in practice). */
export const layoutHash = (layout: Layout): number => {
  const text = fieldsText(layout)
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Two layouts store the same records when their fields, order and types agree (names may differ). */
export const sameFields = (a: Layout, b: Layout): boolean => a.byteLength === b.byteLength && fieldsText(a) === fieldsText(b)

/** The JSON text stored in a segment header for `layout`; throws a `RangeError` for a bad `timeField`. */
export const layoutText = (layout: Layout, timeField?: string): string => {
  if (timeField !== undefined && !layout.fields.some((f) => f.name === timeField)) {
    throw new RangeError(
      `timeField "${timeField}" is not a field of layout ${layoutSignature(layout)}`
    )
  }
  return JSON.stringify({
    name: layout.name,
    fields: layout.fields.map((f) => [f.name, f.type]),
    timeField: timeField ?? null
  })
}

const isFieldType = (t: unknown): t is FieldType => typeof t === "string" && Object.hasOwn(FIELD_BYTES, t)

/** Parses a segment header's layout text; throws a `TypeError`/`RangeError` saying what is wrong. */
export const parseLayoutText = (text: string): JournalLayout => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    throw new TypeError(`layout text is not JSON: ${(e as Error).message}`)
  }
  const o = parsed as { name?: unknown; fields?: unknown; timeField?: unknown } | null
  if (typeof o !== "object" || o === null || typeof o.name !== "string" || !Array.isArray(o.fields)) {
    throw new TypeError(`layout text lacks a name or fields: ${text.slice(0, 200)}`)
  }
  const entries: Array<readonly [string, FieldType]> = []
  for (const f of o.fields as ReadonlyArray<unknown>) {
    if (!Array.isArray(f) || typeof f[0] !== "string" || !isFieldType(f[1])) {
      throw new TypeError(`layout text has a malformed field: ${JSON.stringify(f)}`)
    }
    entries.push([f[0], f[1]])
  }
  const layout = layoutFromEntries(o.name, entries)
  const timeField = o.timeField === null || o.timeField === undefined ? undefined : o.timeField
  if (timeField !== undefined && (typeof timeField !== "string" || !layout.fields.some((f) => f.name === timeField))) {
    throw new TypeError(`layout text names an unknown timeField: ${JSON.stringify(timeField)}`)
  }
  return { layout, timeField }
}
