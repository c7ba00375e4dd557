import { assert, describe, it } from "@effect/vitest"
import * as R from "../src/internal/kernel/recordRings.ts"

/** A ring buffer of `keys` keys × `depth` one-word records (8 bytes: the record is its own number). */
const rings = (keys: number, depth: number) => {
  const buffer = R.makeRings(keys, depth, 8, [42])
  return { buffer, writer: new R.RingsWriter(buffer), reader: new R.RingsReader(buffer) }
}

const write = (writer: R.RingsWriter, key: number, values: ReadonlyArray<number>) => {
  const one = new Float64Array(1)
  for (const v of values) {
    one[0] = v
    writer.append(key, one, 0)
  }
}

const newest = (reader: R.RingsReader, key: number, limit: number) => {
  const into = new Float64Array(Math.max(1, limit))
  return Array.from(into.subarray(0, reader.newest(key, limit, into)))
}

describe("record rings", () => {
  it("the layout is the drawing: 64-byte header, a 64-byte header per key, then the rings", () => {
    assert.deepStrictEqual(
      [R.MAGIC_OFFSET, R.VERSION_OFFSET, R.KEYS_OFFSET, R.DEPTH_OFFSET, R.RECORD_BYTES_OFFSET, R.WRAP_OFFSET, R.USER_OFFSET, R.HEADER_BYTES],
      [0, 4, 8, 12, 16, 20, 24, 64]
    )
    assert.deepStrictEqual([R.KEY_HEADER_BYTES, R.KEY_WRITTEN_OFFSET, R.KEY_TOTAL_OFFSET], [64, 0, 8])
    const { buffer, writer } = rings(3, 4)
    assert.strictEqual(buffer.byteLength, 64 + 3 * (64 + 4 * 8))
    const words = new Int32Array(buffer)
    // wrap: the largest multiple of depth at most 2^30.
    assert.deepStrictEqual(Array.from(words.subarray(0, 7)), [R.MAGIC, R.VERSION, 3, 4, 8, 2 ** 30, 42])
    write(writer, 2, [7.5, 8.5])
    // Key 2: written = 2 at byte 64 + 2 × 64, total 2 at +8; its second record at 64 + 3 × 64 + (2 × 4 + 1) × 8.
    const view = new DataView(buffer)
    assert.strictEqual(view.getInt32(64 + 128, true), 2)
    assert.strictEqual(view.getFloat64(64 + 128 + 8, true), 2)
    assert.strictEqual(view.getFloat64(64 + 192 + 9 * 8, true), 8.5)
    assert.deepStrictEqual(R.geometry(buffer), { keys: 3, depth: 4, recordBytes: 8, wrap: 2 ** 30, user: [42, 0, 0, 0, 0, 0, 0, 0, 0, 0] })
    assert.isUndefined(R.geometry(new SharedArrayBuffer(64)))
  })

  it("newest: newest first, at most limit, at most depth − 1, keys apart", () => {
    const { reader, writer } = rings(2, 5)
    assert.deepStrictEqual(newest(reader, 0, 3), [])
    write(writer, 0, [1, 2, 3])
    write(writer, 1, [100])
    assert.deepStrictEqual(newest(reader, 0, 10), [3, 2, 1])
    assert.deepStrictEqual(newest(reader, 0, 2), [3, 2])
    assert.deepStrictEqual(newest(reader, 1, 10), [100])
    write(writer, 0, [4, 5, 6, 7, 8, 9])
    // Nine written into five slots: the last four are readable (the fifth slot is the next one written).
    assert.deepStrictEqual(newest(reader, 0, 10), [9, 8, 7, 6])
    assert.strictEqual(reader.total(0), 9)
    assert.strictEqual(reader.held(0), 5)
  })

  it("since: oldest first from a cursor; a follower that fell behind is told how many it missed", () => {
    const { reader, writer } = rings(1, 4)
    const into = new Float64Array(8)
    const result: R.FollowResult = { count: 0, cursor: 0, missed: 0 }
    let cursor = reader.written(0)
    write(writer, 0, [1, 2])
    reader.since(0, cursor, 10, into, result)
    assert.deepStrictEqual([Array.from(into.subarray(0, result.count)), result.missed], [[1, 2], 0])
    cursor = result.cursor
    reader.since(0, cursor, 10, into, result)
    assert.deepStrictEqual([result.count, result.missed, result.cursor], [0, 0, cursor])
    write(writer, 0, [3, 4, 5, 6, 7, 8])
    // Six new records, three readable (depth − 1): 3, 4 and 5 were overwritten or are being.
    reader.since(0, cursor, 10, into, result)
    assert.deepStrictEqual([Array.from(into.subarray(0, result.count)), result.missed], [[6, 7, 8], 3])
    // At most `max` at a time, the cursor moving on by what was returned.
    write(writer, 0, [9, 10])
    reader.since(0, result.cursor, 1, into, result)
    assert.deepStrictEqual(Array.from(into.subarray(0, result.count)), [9])
    reader.since(0, result.cursor, 1, into, result)
    assert.deepStrictEqual(Array.from(into.subarray(0, result.count)), [10])
  })

  it("the written count wraps at a multiple of depth, and reads across the wrap stay in order", () => {
    const buffer = R.makeRings(1, 3, 8)
    const writer = new R.RingsWriter(buffer)
    const reader = new R.RingsReader(buffer)
    const wrap = reader.wrap
    assert.strictEqual(wrap % 3, 0)
    // Start a writer just before the wrap, as if it had written wrap − 2 records.
    new Int32Array(buffer)[(R.HEADER_BYTES + R.KEY_WRITTEN_OFFSET) >> 2] = wrap - 2
    const late = new R.RingsWriter(buffer)
    const cursor = reader.written(0)
    write(late, 0, [1, 2, 3])
    assert.strictEqual(reader.written(0), 1)
    assert.deepStrictEqual(newest(reader, 0, 5), [3, 2])
    const into = new Float64Array(4)
    const result = reader.since(0, cursor, 10, into, { count: 0, cursor: 0, missed: 0 })
    // Three written after the cursor, two readable.
    assert.deepStrictEqual([Array.from(into.subarray(0, result.count)), result.missed, result.cursor], [[2, 3], 1, 1])
    void writer
  })

  it("append holds records back until flush (or until a key holds u of them); readers allow for the u − 1 slots in flight", () => {
    const buffer = R.makeRings(2, 8, 8)
    const writer = new R.RingsWriter(buffer, 3)
    const reader = new R.RingsReader(buffer, 3)
    assert.strictEqual(reader.readable, 5)
    const one = new Float64Array(1)
    const append = (key: number, v: number) => {
      one[0] = v
      writer.append(key, one, 0)
    }
    append(0, 1)
    append(0, 2)
    append(1, 100)
    // Written, not published: invisible, and not counted.
    assert.deepStrictEqual([reader.written(0), reader.total(0), newest(reader, 0, 5)], [0, 0, []])
    append(0, 3)
    // The third unpublished record of key 0 publishes them: u = 3.
    assert.deepStrictEqual([reader.written(0), reader.total(0), newest(reader, 0, 5)], [3, 3, [3, 2, 1]])
    assert.strictEqual(reader.written(1), 0)
    writer.flush()
    assert.deepStrictEqual([reader.written(1), newest(reader, 1, 5)], [1, [100]])
    // Flushing again publishes nothing more; keys published by the limit are not published twice.
    writer.flush()
    assert.deepStrictEqual([reader.written(0), reader.total(0), reader.written(1), reader.total(1)], [3, 3, 1, 1])
    for (let v = 4; v <= 12; v++) append(0, v)
    writer.flush()
    // Twelve written into eight slots: five readable (u − 1 = 2 slots may be being written, one is next).
    assert.deepStrictEqual(newest(reader, 0, 10), [12, 11, 10, 9, 8])
    const into = new Float64Array(8)
    const result = reader.since(0, 3, 10, into, { count: 0, cursor: 0, missed: 0 })
    // Nine after the cursor, the oldest four overwritten or in the slots a writer may be writing.
    assert.deepStrictEqual([Array.from(into.subarray(0, result.count)), result.missed, result.cursor], [[8, 9, 10, 11, 12], 4, 12])
    // commit publishes at once, with what was appended before it.
    append(0, 13)
    const slot = writer.nextSlot(0)
    new Float64Array(buffer, writer.dataByteOffset)[slot] = 14
    writer.commit(0)
    assert.deepStrictEqual([reader.written(0), newest(reader, 0, 2)], [14, [14, 13]])
    assert.throws(() => new R.RingsWriter(buffer, 8), /unpublished must be an integer in 1\.\.7: unpublished=8/)
  })

  it("slotWord then appended is append: the same words in the same slots, published at the same points", () => {
    // Two-word records, u = 3, across wraps: one writer appends, the other copies at slotWord itself.
    const a = R.makeRings(2, 6, 16)
    const b = R.makeRings(2, 6, 16)
    const appending = new R.RingsWriter(a, 3)
    const copying = new R.RingsWriter(b, 3)
    const readers = [new R.RingsReader(a, 3), new R.RingsReader(b, 3)]
    const record = new Float64Array(2)
    for (let v = 1; v <= 40; v++) {
      const key = v % 3 === 0 ? 1 : 0
      record[0] = v
      record[1] = -v
      appending.append(key, record, 0)
      const d = copying.slotWord(key)
      copying.words64[d] = v
      copying.words64[d + 1] = -v
      copying.appended(key)
      if (v % 7 === 0) {
        appending.flush()
        copying.flush()
      }
      assert.deepStrictEqual([readers[1]!.written(0), readers[1]!.written(1)], [readers[0]!.written(0), readers[0]!.written(1)])
      assert.deepStrictEqual(new Float64Array(b), new Float64Array(a))
    }
    copying.flush()
    // 27 records of key 0 (newest 40), 13 of key 1 (newest 39), as a reader of the copying writer sees them.
    const into = new Float64Array(6)
    const newest2 = (key: number, limit: number) => Array.from(into.subarray(0, 2 * readers[1]!.newest(key, limit, into)))
    assert.deepStrictEqual(newest2(0, 2), [40, -40, 38, -38])
    assert.deepStrictEqual(newest2(1, 1), [39, -39])
  })

  it("a restarted writer carries on where the last one stopped", () => {
    const { buffer, reader, writer } = rings(1, 4)
    write(writer, 0, [1, 2])
    write(new R.RingsWriter(buffer), 0, [3])
    assert.deepStrictEqual(newest(reader, 0, 3), [3, 2, 1])
  })

  it("bad sizes are refused, naming the value", () => {
    assert.throws(() => R.makeRings(0, 4, 8), /keys must be a positive integer: keys=0/)
    assert.throws(() => R.makeRings(1, 1, 8), /depth must be an integer in 2\.\.\d+: depth=1/)
    assert.throws(() => R.makeRings(1, 4, 12), /recordBytes must be a positive multiple of 8: recordBytes=12/)
    assert.throws(() => new R.RingsReader(new SharedArrayBuffer(64)), /not a record rings buffer/)
  })
})
