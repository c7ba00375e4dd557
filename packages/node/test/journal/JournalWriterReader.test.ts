/**
 * The synchronous journal writer and reader: what is appended comes back, bit for bit; batching by
 * records and by time; the fsync policies; segments rolled by size; retention; starting from a
 * sequence or a time; following a journal being written; the lock.
 */
import { assert, describe, it } from "@effect/vitest"
import { JournalDescriptor as D, RecordLayout } from "@velox/core"
import { Sequenced } from "@velox/core/stages"
import { readdirSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeJournalUnsafe } from "../../src/index.ts"
import { appendSequenced, manualClock, range, readSequenced, sequencedView, tempJournal } from "./fixtures.ts"

const reasonOf = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    assert.instanceOf(e, NodeJournalUnsafe.JournalFault)
    return (e as NodeJournalUnsafe.JournalFault).reason._tag
  }
  assert.fail("expected a JournalError")
}

const segmentFiles = (directory: string) => readdirSync(directory).filter((n) => D.parseSegmentFileName(n) !== undefined).sort()

describe("journal writer and reader", () => {
  it("records come back bit for bit, in order, with contiguous sequences, across batches and segments", () => {
    const t = tempJournal("roundtrip")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 64, segmentBytes: 20_000, fsync: "never" })
      appendSequenced(w, 0, 5_000, 37)
      // NaN payloads and -0 travel as bits, not as numbers.
      const odd = sequencedView(5_000, 1)
      const oddWords = new Uint32Array(odd.words.buffer)
      oddWords.set([0xdeadbeef, 0x7ff80001, 0, 0x80000000], 4) // value: a NaN with a payload; check: -0
      const expected = [...oddWords]
      w.appendView(odd, 0, 1)
      w.close()
      assert.isAbove(segmentFiles(t.journal).length, 5)
      const reader = NodeJournalUnsafe.openReader(t.journal, { layout: Sequenced })
      const words: Array<number> = []
      for (let n = reader.next(); n > 0; n = reader.next()) {
        words.push(...new Uint32Array(reader.bytes.buffer, reader.batchByteOffset, n * 8))
      }
      reader.close()
      assert.strictEqual(words.length, 5_001 * 8)
      assert.deepStrictEqual(words.slice(-8), expected)
      const back = readSequenced(t.journal)
      assert.deepStrictEqual(back.sequences.slice(0, 5_000), range(0, 5_000))
      assert.deepStrictEqual(back.bad, [5_000])
    } finally {
      t.cleanup()
    }
  })

  it("records appended from anywhere in a large buffer come back whole, whatever page offset their batch opens at", () => {
    const t = tempJournal("offsets")
    try {
      // 16 MiB of records: a buffer the size of those whose copies 4K aliasing slowed; the writer places
      // each batch by where its first record comes from, so batches open at many offsets in a page. A
      // batch of 2046 records is 24 bytes short of 64 KiB: the room left for placing it must be its own.
      const slots = (16 << 20) / Sequenced.byteLength
      const source = sequencedView(0, slots)
      const bytes = new Uint8Array(source.words.buffer)
      const batchRecords = 2_046
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords, fsync: "never" })
      const chunks = [1, 7, 128, 300, 33, 129, 2, 97]
      let appended = 0
      for (let k = 0; appended < 200_000; k++) {
        const n = chunks[k % chunks.length]!
        w.appendBytes(bytes, appended * Sequenced.byteLength, n)
        appended += n
      }
      w.close()
      const back = readSequenced(t.journal)
      assert.deepStrictEqual(back.bad, [])
      assert.deepStrictEqual(back.sequences, range(0, appended))
      assert.isAtLeast(back.batches, appended / batchRecords)
    } finally {
      t.cleanup()
    }
  })

  it("records appended from sources that change between calls come back whole: views at an offset in their buffer, a SharedArrayBuffer, one buffer refilled in place", () => {
    const t = tempJournal("sources")
    try {
      const rb = Sequenced.byteLength
      // Each source holds 64 records after 40 bytes of other data (a ring's slots follow its header).
      const at = (buffer: ArrayBufferLike, first: number): Uint8Array => {
        const records = new Uint8Array(sequencedView(first, 64).words.buffer)
        const bytes = new Uint8Array(buffer, 40, 64 * rb)
        new Uint8Array(buffer).fill(0xee, 0, 40)
        bytes.set(records)
        return bytes
      }
      const ring = new SharedArrayBuffer(40 + 64 * rb)
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 50, fsync: "never" })
      let next = 0
      for (let pass = 0; pass < 30; pass++) {
        // The same ring refilled in place, then a fresh buffer, then the ring again: same object, new bytes.
        const source = pass % 3 === 1 ? at(new ArrayBuffer(40 + 64 * rb), next) : at(ring, next)
        w.appendBytes(source, 0, 13)
        w.appendBytes(source, 13 * rb, 51)
        next += 64
      }
      w.close()
      const back = readSequenced(t.journal)
      assert.deepStrictEqual(back.bad, [])
      assert.deepStrictEqual(back.sequences, range(0, next))
    } finally {
      t.cleanup()
    }
  })

  it("a batch is written when it holds batchRecords records, or once it is batchMs old", () => {
    const t = tempJournal("batching")
    const clock = manualClock()
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, {
        layout: Sequenced,
        batchRecords: 10,
        batchMs: 30_000,
        fsync: "never",
        wallClockNs: clock.now
      })
      appendSequenced(w, 0, 25, 4)
      assert.strictEqual(w.writtenSequence, 20, "two full batches written")
      assert.strictEqual(w.pendingRecords, 5)
      clock.advanceMs(29_999)
      w.poll()
      assert.strictEqual(w.writtenSequence, 20, "the open batch is not yet 30 s old")
      assert.strictEqual(w.nextDueNs(), clock.now() + 1e6)
      clock.advanceMs(1)
      w.poll()
      assert.strictEqual(w.writtenSequence, 25, "written at 30 s")
      assert.strictEqual(w.nextDueNs(), Infinity)
      // An append that finds its batch overdue writes it at once.
      appendSequenced(w, 25, 1)
      clock.advanceMs(30_000)
      appendSequenced(w, 26, 1)
      assert.strictEqual(w.writtenSequence, 27)
      w.close()
      const back = readSequenced(t.journal)
      assert.deepStrictEqual(back.sequences, range(0, 27))
      assert.strictEqual(back.batches, 4)
    } finally {
      t.cleanup()
    }
  })

  it("fsync policies: batch syncs every batch, interval at most every interval, drain on sync and close, never not at all", () => {
    const run = (fsync: NodeJournalUnsafe.FsyncPolicy) => {
      const t = tempJournal(`fsync-${fsync}`)
      const clock = manualClock()
      try {
        const w = NodeJournalUnsafe.openWriter(t.journal, {
          layout: Sequenced,
          batchRecords: 10,
          fsync,
          fsyncIntervalMs: 1_000,
          wallClockNs: clock.now
        })
        const seen: Array<readonly [number, number]> = []
        const note = () => {
          const s = NodeJournalUnsafe.readStats(w.statsBuffer)
          seen.push([s.written, s.durable])
        }
        appendSequenced(w, 0, 10)
        note()
        clock.advanceMs(500)
        appendSequenced(w, 10, 10)
        note()
        clock.advanceMs(500)
        w.poll()
        note()
        appendSequenced(w, 20, 5)
        w.close()
        note()
        return { seen, fsyncs: NodeJournalUnsafe.readStats(w.statsBuffer).fsyncs }
      } finally {
        t.cleanup()
      }
    }
    // [written, durable] after: batch 1, batch 2 (0.5 s later), a poll at 1 s, close with 5 pending.
    const batch = run("batch")
    assert.deepStrictEqual(batch.seen, [[10, 10], [20, 20], [20, 20], [25, 25]])
    const interval = run("interval")
    assert.deepStrictEqual(interval.seen, [[10, 0], [20, 0], [20, 20], [25, 25]])
    const drain = run("drain")
    assert.deepStrictEqual(drain.seen, [[10, 0], [20, 0], [20, 0], [25, 25]])
    const never = run("never")
    assert.deepStrictEqual(never.seen, [[10, 0], [20, 0], [20, 0], [25, 0]])
    // Opening fsyncs the segment it recovers (not counted), then each policy's own.
    assert.strictEqual(batch.fsyncs, 3)
    assert.strictEqual(interval.fsyncs, 2)
    assert.strictEqual(drain.fsyncs, 1)
    assert.strictEqual(never.fsyncs, 0)
  })

  it("stats say what is appended, written and durable, and how long the oldest record not durable has waited", () => {
    const t = tempJournal("stats")
    const clock = manualClock()
    try {
      const stats = NodeJournalUnsafe.makeStats()
      const w = NodeJournalUnsafe.openWriter(t.journal, {
        layout: Sequenced,
        batchRecords: 10,
        fsync: "drain",
        wallClockNs: clock.now,
        stats
      })
      appendSequenced(w, 0, 15)
      clock.advanceMs(250)
      const s = NodeJournalUnsafe.readStats(stats)
      assert.strictEqual(s.state, "open")
      assert.strictEqual(s.appended, 15)
      assert.strictEqual(s.written, 10)
      assert.strictEqual(s.durable, 0)
      assert.strictEqual(s.pending, 5)
      assert.strictEqual(s.lagRecords, 15)
      assert.strictEqual(s.batches, 1)
      assert.strictEqual(s.writtenBytes, D.batchBytes(10, 32))
      assert.strictEqual(s.segments, 1)
      w.sync()
      const after = NodeJournalUnsafe.readStats(stats)
      assert.strictEqual(after.durable, 15)
      assert.strictEqual(after.lagRecords, 0)
      assert.strictEqual(after.lagMs, 0)
      w.close()
      assert.strictEqual(NodeJournalUnsafe.readStats(stats).state, "closed")
    } finally {
      t.cleanup()
    }
  })

  it("segments roll before a batch would pass segmentBytes; each sealed segment ends where the next begins", () => {
    const t = tempJournal("roll")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 50, segmentBytes: 8_192, fsync: "never" })
      appendSequenced(w, 0, 2_000)
      w.close()
      const info = NodeJournalUnsafe.info(t.journal, { verify: true })
      assert.strictEqual(info.records, 2_000)
      assert.isAbove(info.segments.length, 5)
      for (const [i, s] of info.segments.entries()) {
        assert.strictEqual(s.sealed, i < info.segments.length - 1)
        if (s.sealed) {
          // Batches fill up to segmentBytes; the index and trailer come after.
          const dataBytes = s.bytes - D.TRAILER_BYTES
          assert.isAtMost(dataBytes - D.INDEX_ENTRY_BYTES * 2, 8_192)
        }
        if (i > 0) assert.strictEqual(s.baseSequence, info.segments[i - 1]!.endSequence)
        assert.strictEqual(s.file, D.segmentFileName(s.baseSequence))
      }
      assert.strictEqual(info.bytes, info.segments.reduce((n, s) => n + statSync(join(t.journal, s.file)).size, 0))
    } finally {
      t.cleanup()
    }
  })

  it("retention by size removes the oldest sealed segments; reading then starts at the first record kept", () => {
    const t = tempJournal("retention-size")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, {
        layout: Sequenced,
        batchRecords: 50,
        segmentBytes: 8_192,
        retentionBytes: 30_000,
        fsync: "never"
      })
      appendSequenced(w, 0, 3_000)
      const stats = NodeJournalUnsafe.readStats(w.statsBuffer)
      w.close()
      const info = NodeJournalUnsafe.info(t.journal)
      assert.isAtMost(info.bytes, 30_000 + 8_192)
      assert.isAbove(info.firstSequence, 0)
      assert.strictEqual(stats.firstSequence, info.firstSequence)
      assert.strictEqual(info.endSequence, 3_000)
      const back = readSequenced(t.journal)
      assert.deepStrictEqual(back.sequences, range(info.firstSequence, 3_000))
      assert.strictEqual(reasonOf(() => NodeJournalUnsafe.openReader(t.journal, { from: { sequence: 0 } })), "NotFound")
    } finally {
      t.cleanup()
    }
  })

  it("retention by age removes sealed segments last modified longer ago than retentionMs, never the active one", () => {
    const t = tempJournal("retention-age")
    const clock = manualClock(Date.now() * 1e6)
    try {
      const options = { layout: Sequenced, batchRecords: 50, segmentBytes: 8_192, fsync: "never", wallClockNs: clock.now } as const
      const w = NodeJournalUnsafe.openWriter(t.journal, options)
      appendSequenced(w, 0, 1_000)
      w.close()
      const before = segmentFiles(t.journal)
      // Age every segment but the two newest by two hours.
      const old = (Date.now() - 2 * 3600_000) / 1000
      for (const name of before.slice(0, -2)) utimesSync(join(t.journal, name), old, old)
      const w2 = NodeJournalUnsafe.openWriter(t.journal, { ...options, retentionMs: 3600_000 })
      w2.close()
      assert.deepStrictEqual(segmentFiles(t.journal), before.slice(-2))
      // Everything old, active segment included: the active one stays.
      for (const name of segmentFiles(t.journal)) utimesSync(join(t.journal, name), old, old)
      NodeJournalUnsafe.openWriter(t.journal, { ...options, retentionMs: 3600_000 }).close()
      assert.deepStrictEqual(segmentFiles(t.journal), before.slice(-1))
    } finally {
      t.cleanup()
    }
  })

  it("reading from a sequence returns exactly the records from it on, found through the index", () => {
    const t = tempJournal("from-sequence")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, {
        layout: Sequenced,
        batchRecords: 40,
        segmentBytes: 16_384,
        indexIntervalBytes: 2_048,
        fsync: "never"
      })
      appendSequenced(w, 0, 3_000, 61)
      w.close()
      for (const from of [0, 1, 39, 40, 41, 511, 1_234, 2_999, 3_000, 5_000]) {
        const back = readSequenced(t.journal, { from: { sequence: from } })
        assert.deepStrictEqual(back.sequences, range(Math.min(from, 3_000), 3_000), `from ${from}`)
        assert.deepStrictEqual(back.bad, [])
      }
    } finally {
      t.cleanup()
    }
  })

  it("reading from a time starts at the first record whose time field reaches it, whatever the segment", () => {
    const Tick = RecordLayout.make("Tick", { seq: "f64", tsNs: "f64" })
    const t = tempJournal("from-time")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, {
        layout: Tick,
        timeField: "tsNs",
        batchRecords: 25,
        segmentBytes: 4_096,
        indexIntervalBytes: 512,
        fsync: "never"
      })
      // Times go up by 10 in steps of two equal times: 0, 0, 10, 10, 20, 20, …
      const n = 2_000
      const view = RecordLayout.view(Tick, new ArrayBuffer(16 * n), 0, n)
      for (let i = 0; i < n; i++) {
        view.fields.seq.set(i, i)
        view.fields.tsNs.set(i, Math.floor(i / 2) * 10)
      }
      w.appendView(view, 0, n)
      w.close()
      const seqsFrom = (time: number) => {
        const r = NodeJournalUnsafe.openReader(t.journal, { layout: Tick, from: { time } })
        const out: Array<number> = []
        for (let k = r.next(); k > 0; k = r.next()) {
          const v = RecordLayout.view(Tick, r.bytes.buffer, r.batchByteOffset, k)
          for (let i = 0; i < k; i++) out.push(v.fields.seq.get(i))
        }
        r.close()
        return out
      }
      for (const time of [0, 5, 10, 995, 1_000, 4_321, 9_990, 9_995]) {
        const first = Math.min(n, 2 * Math.ceil(time / 10))
        assert.deepStrictEqual(seqsFrom(time), range(first, n), `from time ${time}`)
      }
    } finally {
      t.cleanup()
    }
  })

  it("a journal without a time field is timed by the wall clock of its batches", () => {
    const t = tempJournal("wall-time")
    const clock = manualClock()
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 10, fsync: "never", wallClockNs: clock.now })
      const start = clock.now()
      for (let b = 0; b < 5; b++) {
        appendSequenced(w, b * 10, 10)
        clock.advanceMs(1_000)
      }
      w.close()
      const info = NodeJournalUnsafe.info(t.journal)
      assert.isUndefined(info.timeField)
      assert.strictEqual(info.firstTime, start)
      assert.strictEqual(info.lastTime, start + 4_000 * 1e6)
      assert.deepStrictEqual(readSequenced(t.journal, { from: { time: start + 2_500 * 1e6 } }).sequences, range(30, 50))
    } finally {
      t.cleanup()
    }
  })

  it("a follower sees batches as they are written, across segment rolls, and waits (0) in between", () => {
    const t = tempJournal("follow")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 20, segmentBytes: 4_096, fsync: "never" })
      const r = NodeJournalUnsafe.openReader(t.journal, { layout: Sequenced, follow: true })
      const got: Array<number> = []
      const drainReader = () => {
        for (let n = r.next(); n > 0; n = r.next()) {
          const v = RecordLayout.view(Sequenced, r.bytes.buffer, r.batchByteOffset, n)
          for (let i = 0; i < n; i++) got.push(v.fields.seq.get(i))
        }
      }
      drainReader()
      assert.deepStrictEqual(got, [])
      for (let round = 0; round < 30; round++) {
        appendSequenced(w, round * 30, 30, 30)
        drainReader()
        // Whole batches only: the open batch is not on disk yet.
        assert.strictEqual(got.length, w.writtenSequence, `round ${round}`)
      }
      w.close()
      drainReader()
      assert.deepStrictEqual(got, range(0, 900))
      assert.isAbove(segmentFiles(t.journal).length, 3)
      assert.strictEqual(r.next(), 0, "a follower never ends")
      r.close()
    } finally {
      t.cleanup()
    }
  })

  it("a follower started at the end sees only what is written after", () => {
    const t = tempJournal("follow-end")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 10, fsync: "never" })
      appendSequenced(w, 0, 100)
      w.flush()
      const r = NodeJournalUnsafe.openReader(t.journal, { follow: true, from: "end" })
      assert.strictEqual(r.next(), 0)
      appendSequenced(w, 100, 10)
      assert.strictEqual(r.next(), 10)
      assert.strictEqual(r.batchFirstSequence, 100)
      r.close()
      w.close()
    } finally {
      t.cleanup()
    }
  })

  it("reopening continues the sequence where the journal ended", () => {
    const t = tempJournal("reopen")
    try {
      for (let session = 0; session < 4; session++) {
        const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 33, segmentBytes: 10_000, fsync: "never" })
        assert.strictEqual(w.recovery.endSequence, session * 250)
        appendSequenced(w, session * 250, 250)
        w.close()
      }
      assert.deepStrictEqual(readSequenced(t.journal).sequences, range(0, 1_000))
    } finally {
      t.cleanup()
    }
  })

  it("a journal of another layout, or another time field, is a LayoutMismatch naming both", () => {
    const t = tempJournal("layout")
    try {
      NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, fsync: "never" }).close()
      const Other = RecordLayout.make("Other", { seq: "f64", key: "u32", flags: "u32", value: "f64", check: "u32" })
      for (const open of [
        () => NodeJournalUnsafe.openWriter(t.journal, { layout: Other }),
        () => NodeJournalUnsafe.openReader(t.journal, { layout: Other })
      ]) {
        try {
          open()
          assert.fail("expected LayoutMismatch")
        } catch (e) {
          const reason = (e as NodeJournalUnsafe.JournalFault).reason
          assert.strictEqual(reason._tag, "LayoutMismatch")
          assert.include(reason.message, "Sequenced{seq:f64,key:u32,flags:u32,value:f64,check:f64}")
          assert.include(reason.message, "Other{seq:f64,key:u32,flags:u32,value:f64,check:u32}")
        }
      }
      assert.strictEqual(reasonOf(() => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, timeField: "value" })), "LayoutMismatch")
      // Same fields under another name: the same records.
      const Renamed = RecordLayout.make("Renamed", Sequenced.spec)
      NodeJournalUnsafe.openWriter(t.journal, { layout: Renamed, fsync: "never" }).close()
    } finally {
      t.cleanup()
    }
  })

  it("a second live writer is Locked; the lock of a dead process is taken over", () => {
    const t = tempJournal("lock")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, fsync: "never" })
      w.close()
      // The parent of this test process is alive and is not us.
      writeFileSync(join(t.journal, "writer.lock"), `${process.ppid}\n`)
      assert.strictEqual(reasonOf(() => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced })), "Locked")
      assert.strictEqual(NodeJournalUnsafe.info(t.journal).writerPid, process.ppid)
      // A pid that cannot be alive (above Linux's pid_max).
      writeFileSync(join(t.journal, "writer.lock"), `${2 ** 22 + 1}\n`)
      const again = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, fsync: "never" })
      again.close()
    } finally {
      t.cleanup()
    }
  })

  it("a bad configuration is a RangeError naming the value", () => {
    const t = tempJournal("config")
    try {
      assert.throws(() => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 0 }), /batchRecords=0/)
      assert.throws(() => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, segmentBytes: 1.5 }), /segmentBytes=1.5/)
      assert.throws(() => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, timeField: "nope" }), /timeField "nope"/)
      assert.throws(
        () => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, fsync: "sometimes" as "never" }),
        /fsync=sometimes/
      )
    } finally {
      t.cleanup()
    }
  })

  it("a closed writer refuses appends", () => {
    const t = tempJournal("closed")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, fsync: "never" })
      w.close()
      w.close()
      assert.throws(() => w.appendView(sequencedView(0, 1), 0, 1), /closed/)
    } finally {
      t.cleanup()
    }
  })
})
