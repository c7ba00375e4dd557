/**
 * The journal format drawn in `internal/kernel/journalDescriptor.ts`, checked offset by offset against
 * the drawing, plus the names, the layout text and the layout hash it defines.
 */
import { assert, describe, it } from "@effect/vitest"
import { JournalDescriptor as D, RecordLayout } from "../src/index.ts"

interface Field {
  readonly name: string
  readonly offset: number
  readonly bytes: number
}

/** The drawings, transcribed: every structure's fields with offset and width. */
const SEGMENT_HEADER: ReadonlyArray<Field> = [
  { name: "SEGMENT_MAGIC", offset: 0, bytes: 4 },
  { name: "SEGMENT_VERSION", offset: 4, bytes: 4 },
  { name: "SEGMENT_HEADER_BYTES", offset: 8, bytes: 4 },
  { name: "SEGMENT_RECORD_BYTES", offset: 12, bytes: 4 },
  { name: "SEGMENT_BASE_SEQUENCE", offset: 16, bytes: 8 },
  { name: "SEGMENT_CREATED_NS", offset: 24, bytes: 8 },
  { name: "SEGMENT_LAYOUT_HASH", offset: 32, bytes: 4 },
  { name: "SEGMENT_LAYOUT_TEXT_BYTES", offset: 36, bytes: 4 },
  { name: "SEGMENT_HEADER_CHECKSUM", offset: 40, bytes: 4 },
  { name: "SEGMENT_RESERVED", offset: 44, bytes: 4 }
]
const BATCH_HEADER: ReadonlyArray<Field> = [
  { name: "BATCH_MAGIC", offset: 0, bytes: 4 },
  { name: "BATCH_COUNT", offset: 4, bytes: 4 },
  { name: "BATCH_FIRST_SEQUENCE", offset: 8, bytes: 8 },
  { name: "BATCH_FIRST_TIME", offset: 16, bytes: 8 },
  { name: "BATCH_LAST_TIME", offset: 24, bytes: 8 },
  { name: "BATCH_PAYLOAD_CHECKSUM", offset: 32, bytes: 4 },
  { name: "BATCH_HEADER_CHECKSUM", offset: 36, bytes: 4 }
]
const INDEX_ENTRY: ReadonlyArray<Field> = [
  { name: "INDEX_BATCH_OFFSET", offset: 0, bytes: 8 },
  { name: "INDEX_FIRST_SEQUENCE", offset: 8, bytes: 8 },
  { name: "INDEX_FIRST_TIME", offset: 16, bytes: 8 },
  { name: "INDEX_MAX_TIME_BEFORE", offset: 24, bytes: 8 }
]
const TRAILER: ReadonlyArray<Field> = [
  { name: "TRAILER_MAGIC", offset: 0, bytes: 4 },
  { name: "TRAILER_INDEX_ENTRIES", offset: 4, bytes: 4 },
  { name: "TRAILER_END_SEQUENCE", offset: 8, bytes: 8 },
  { name: "TRAILER_FIRST_TIME", offset: 16, bytes: 8 },
  { name: "TRAILER_MAX_TIME", offset: 24, bytes: 8 },
  { name: "TRAILER_DATA_END", offset: 32, bytes: 8 },
  { name: "TRAILER_INDEX_CHECKSUM", offset: 40, bytes: 4 },
  { name: "TRAILER_CHECKSUM", offset: 44, bytes: 4 }
]

const constant = (name: string): number => {
  const value = (D as unknown as Record<string, unknown>)[name]
  assert.isNumber(value, `${name} is exported`)
  return value as number
}

/** Fields are contiguous from 0, each aligned to its width, and end exactly at `size`. */
const checkStructure = (label: string, fields: ReadonlyArray<Field>, size: number) => {
  let end = 0
  for (const f of fields) {
    assert.strictEqual(constant(`${f.name}_OFFSET`), f.offset, `${label}: ${f.name}_OFFSET`)
    assert.strictEqual(f.offset, end, `${label}: ${f.name} starts where the previous field ends`)
    assert.strictEqual(f.offset % f.bytes, 0, `${label}: ${f.name} is aligned to its width`)
    end = f.offset + f.bytes
  }
  assert.strictEqual(end, size, `${label}: the fields fill the structure`)
  assert.strictEqual(size % D.ALIGNMENT, 0, `${label}: its size keeps the next structure 8-byte aligned`)
}

/** FNV-1a 32, written out from its definition, as a reference for `layoutHash`. */
const fnv1a = (text: string): number => {
  let h = 2166136261
  for (const ch of text) {
    h ^= ch.charCodeAt(0)
    h = Number((BigInt(h) * 16777619n) % 4294967296n)
  }
  return h
}

const Tick = RecordLayout.make("Tick", { seq: "f64", symbol: "u32", size: "u32", price: "f64", tsNs: "f64" })

describe("JournalDescriptor", () => {
  it("every field of every structure sits at the offset the drawing gives it", () => {
    checkStructure("segment header", SEGMENT_HEADER, D.SEGMENT_LAYOUT_TEXT_OFFSET)
    checkStructure("batch header", BATCH_HEADER, D.BATCH_HEADER_BYTES)
    checkStructure("index entry", INDEX_ENTRY, D.INDEX_ENTRY_BYTES)
    checkStructure("trailer", TRAILER, D.TRAILER_BYTES)
    assert.strictEqual(D.SEGMENT_LAYOUT_TEXT_OFFSET, 48)
    assert.strictEqual(D.BATCH_HEADER_BYTES, 40)
    assert.strictEqual(D.INDEX_ENTRY_BYTES, 32)
    assert.strictEqual(D.TRAILER_BYTES, 48)
  })

  it("the magic words read as their four ASCII letters in little-endian order", () => {
    const ascii = (magic: number) => {
      const bytes = new Uint8Array(new Uint32Array([magic]).buffer)
      return String.fromCharCode(...bytes)
    }
    assert.strictEqual(ascii(D.SEGMENT_MAGIC), "VJSG")
    assert.strictEqual(ascii(D.BATCH_MAGIC), "VJBT")
    assert.strictEqual(ascii(D.TRAILER_MAGIC), "VJSE")
  })

  it("sizes: a header pads its layout text to 8 bytes; batches and sealed segments add up", () => {
    assert.strictEqual(D.segmentHeaderBytes(0), 48)
    assert.strictEqual(D.segmentHeaderBytes(1), 56)
    assert.strictEqual(D.segmentHeaderBytes(8), 56)
    assert.strictEqual(D.segmentHeaderBytes(9), 64)
    assert.strictEqual(D.batchBytes(500, 32), 40 + 16_000)
    assert.strictEqual(D.sealedSegmentBytes(1000, 3), 1000 + 96 + 48)
    // A batch of 8-aligned records keeps the next batch 8-aligned.
    for (const n of [1, 2, 3, 500]) assert.strictEqual(D.batchBytes(n, Tick.byteLength) % 8, 0)
  })

  it("segment file names carry the base sequence in 20 digits and sort like it", () => {
    assert.strictEqual(D.segmentFileName(0), "00000000000000000000.segment")
    assert.strictEqual(D.segmentFileName(123_456), "00000000000000123456.segment")
    for (const n of [0, 1, 999, 2 ** 53 - 1]) assert.strictEqual(D.parseSegmentFileName(D.segmentFileName(n)), n)
    const names = [5_000, 10, 70_000_000].map(D.segmentFileName).sort()
    assert.deepStrictEqual(names.map(D.parseSegmentFileName), [10, 5_000, 70_000_000])
    for (const other of ["writer.lock", "0000000000000000000x.segment", "1.segment", "00000000000000000000.segment.tmp"]) {
      assert.isUndefined(D.parseSegmentFileName(other), other)
    }
    assert.throws(() => D.segmentFileName(-1), RangeError)
    assert.throws(() => D.segmentFileName(1.5), RangeError)
  })

  it("the layout text round-trips the layout and its time field", () => {
    const text = D.layoutText(Tick, "tsNs")
    assert.deepStrictEqual(JSON.parse(text), {
      name: "Tick",
      fields: [["seq", "f64"], ["symbol", "u32"], ["size", "u32"], ["price", "f64"], ["tsNs", "f64"]],
      timeField: "tsNs"
    })
    const parsed = D.parseLayoutText(text)
    assert.deepStrictEqual(parsed.layout, Tick)
    assert.strictEqual(parsed.timeField, "tsNs")
    assert.isUndefined(D.parseLayoutText(D.layoutText(Tick)).timeField)
  })

  it("a bad layout text or time field is refused, saying what is wrong", () => {
    assert.throws(() => D.layoutText(Tick, "nope"), /timeField "nope" is not a field of layout Tick\{seq:f64/)
    assert.throws(() => D.parseLayoutText("{"), /not JSON/)
    assert.throws(() => D.parseLayoutText(`{"name":"X","fields":[["a","u64"]]}`), /malformed field/)
    assert.throws(() => D.parseLayoutText(`{"name":"X","fields":[["a","u32"]],"timeField":"b"}`), /unknown timeField/)
  })

  it("the layout hash is FNV-1a 32 of the fields in order, and ignores the layout's name", () => {
    assert.strictEqual(D.fieldsText(Tick), "seq:f64,symbol:u32,size:u32,price:f64,tsNs:f64")
    assert.strictEqual(D.layoutHash(Tick), fnv1a(D.fieldsText(Tick)))
    const Renamed = RecordLayout.make("Trade", { seq: "f64", symbol: "u32", size: "u32", price: "f64", tsNs: "f64" })
    const Reordered = RecordLayout.make("Tick", { seq: "f64", size: "u32", symbol: "u32", price: "f64", tsNs: "f64" })
    assert.strictEqual(D.layoutHash(Renamed), D.layoutHash(Tick))
    assert.isTrue(D.sameFields(Renamed, Tick))
    assert.notStrictEqual(D.layoutHash(Reordered), D.layoutHash(Tick))
    assert.isFalse(D.sameFields(Reordered, Tick))
    assert.strictEqual(D.layoutSignature(Tick), "Tick{seq:f64,symbol:u32,size:u32,price:f64,tsNs:f64}")
  })

  it("the payload checksum is pinned by a check value and sees every change to one or two words", () => {
    // The check value pins the definition: a change to the algorithm must be a new format version.
    assert.strictEqual(D.payloadChecksum(new TextEncoder().encode("123456789abcdef0")), 0x2e00f5f9)
    assert.throws(() => D.payloadChecksum(new Uint8Array(6)), /whole 32-bit words/)
    const words = Uint32Array.from({ length: 64 }, (_, i) => ((i + 1) * 2654435761) >>> 0)
    const sum = (w: Uint32Array) => D.payloadChecksum(new Uint8Array(w.buffer))
    const base = sum(words)
    const changed = (f: (w: Uint32Array) => void) => {
      const copy = words.slice()
      f(copy)
      return sum(copy)
    }
    for (let i = 0; i < words.length; i++) {
      assert.notStrictEqual(changed((w) => (w[i] = (w[i]! ^ 1) >>> 0)), base, `bit 0 of word ${i}`)
      assert.notStrictEqual(changed((w) => (w[i] = (w[i]! ^ 0x80000000) >>> 0)), base, `bit 31 of word ${i}`)
      assert.notStrictEqual(changed((w) => (w[i] = 0)), base, `word ${i} zeroed`)
    }
    // Two words changed by +d and -d (what a plain sum misses), and two words swapped.
    for (const [i, j] of [[0, 4], [1, 2], [5, 61], [3, 63]] as const) {
      assert.notStrictEqual(changed((w) => {
        w[i] = (w[i]! + 12345) >>> 0
        w[j] = (w[j]! - 12345) >>> 0
      }), base, `+d at ${i}, -d at ${j}`)
      assert.notStrictEqual(changed((w) => {
        const t = w[i]!
        w[i] = w[j]!
        w[j] = t
      }), base, `words ${i} and ${j} swapped`)
    }
    // Zeros appended: a torn tail of zeros changes the length folded in.
    assert.notStrictEqual(sum(Uint32Array.from([...words, 0, 0])), base)
  })
})

