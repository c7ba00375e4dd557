/**
 * Recovery and damage: a torn tail is cut (at whatever byte the write was torn), damage that a torn
 * write cannot explain is a typed error, a sealed segment cut short or missing is `Truncated`, and no
 * reader ever returns a record that fails its checksum.
 */
import { assert, describe, it } from "@effect/vitest"
import { JournalDescriptor as D } from "@velox/core"
import { Sequenced } from "@velox/core/stages"
import { execFileSync } from "node:child_process"
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync
} from "node:fs"
import { join } from "node:path"
import { NodeJournalUnsafe } from "../../src/index.ts"
import { appendSequenced, range, readSequenced, tempJournal } from "./fixtures.ts"

const BATCH = 5
const BATCH_BYTES = D.batchBytes(BATCH, Sequenced.byteLength)

const errorOf = (f: () => unknown): NodeJournalUnsafe.JournalFault => {
  try {
    f()
  } catch (e) {
    assert.instanceOf(e, NodeJournalUnsafe.JournalFault)
    return e as NodeJournalUnsafe.JournalFault
  }
  assert.fail("expected a JournalError")
}

const segments = (directory: string) =>
  readdirSync(directory).filter((n) => D.parseSegmentFileName(n) !== undefined).sort().map((n) => join(directory, n))

/** Flips one byte of a file. */
const flipByte = (path: string, offset: number) => {
  const bytes = readFileSync(path)
  bytes[offset]! ^= 0x5a
  writeFileSync(path, bytes)
}

/** A journal of `records` records in batches of 5, one segment (or several with `segmentBytes`). */
const makeJournal = (journal: string, records: number, segmentBytes = 1 << 20) => {
  const w = NodeJournalUnsafe.openWriter(journal, { layout: Sequenced, batchRecords: BATCH, segmentBytes, fsync: "never" })
  appendSequenced(w, 0, records, BATCH)
  w.close()
}

describe("journal recovery", () => {
  it("a batch torn at any byte is cut on open: readers stop before it, the writer truncates it and continues", () => {
    const t = tempJournal("torn")
    try {
      makeJournal(t.journal, 50)
      const [segment] = segments(t.journal)
      const pristine = join(t.root, "pristine")
      copyFileSync(segment!, pristine)
      const size = statSync(pristine).size
      const lastBatch = size - BATCH_BYTES
      for (let cut = lastBatch + 1; cut < size; cut++) {
        copyFileSync(pristine, segment!)
        truncateSync(segment!, cut)
        const back = readSequenced(t.journal)
        assert.deepStrictEqual(back.sequences, range(0, 45), `cut at ${cut}`)
        assert.deepStrictEqual(back.bad, [])
        const info = NodeJournalUnsafe.info(t.journal)
        assert.strictEqual(info.records, 45)
        assert.strictEqual(info.trailingBytes, cut - lastBatch)
        if (cut % 17 === 0 || cut === size - 1) {
          const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: BATCH, fsync: "never" })
          assert.strictEqual(w.recovery.endSequence, 45)
          assert.strictEqual(w.recovery.cutBytes, cut - lastBatch)
          assert.match(w.recovery.cutReason!, /cut short at offset/)
          appendSequenced(w, 45, 10)
          w.close()
          assert.deepStrictEqual(readSequenced(t.journal).sequences, range(0, 55))
          assert.strictEqual(NodeJournalUnsafe.info(t.journal).trailingBytes, 0)
        }
      }
    } finally {
      t.cleanup()
    }
  })

  it("a tail of zeros or of garbage after the last whole batch is cut too", () => {
    const t = tempJournal("garbage")
    try {
      for (const tail of [new Uint8Array(4096), Uint8Array.from({ length: 777 }, (_, i) => (i * 131 + 7) & 255)]) {
        rmSync(t.journal, { recursive: true, force: true })
        makeJournal(t.journal, 20)
        appendFileSync(segments(t.journal)[0]!, tail)
        assert.deepStrictEqual(readSequenced(t.journal).sequences, range(0, 20))
        const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, fsync: "never" })
        assert.strictEqual(w.recovery.cutBytes, tail.length)
        w.close()
      }
    } finally {
      t.cleanup()
    }
  })

  it("damage in the active segment with valid batches after it is Corrupted; recover: truncate cuts it", () => {
    const t = tempJournal("damaged-active")
    try {
      makeJournal(t.journal, 50)
      const [segment] = segments(t.journal)
      const headerBytes = statSync(segment!).size - 10 * BATCH_BYTES
      const third = headerBytes + 2 * BATCH_BYTES
      flipByte(segment!, third + D.BATCH_HEADER_BYTES + 17)
      const open = errorOf(() => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced }))
      assert.strictEqual(open.reason._tag, "Corrupted")
      assert.strictEqual((open.reason as Extract<NodeJournalUnsafe.FaultReason, { _tag: "Corrupted" }>).offset, third)
      assert.match(open.message, /payload checksum mismatch at offset \d+ .*valid batches follow/)
      assert.strictEqual(errorOf(() => NodeJournalUnsafe.info(t.journal)).reason._tag, "Corrupted")
      // A reader returns what precedes the damage, then fails: never the damaged records.
      const reader = NodeJournalUnsafe.openReader(t.journal)
      assert.strictEqual(reader.next(), 5)
      assert.strictEqual(reader.next(), 5)
      assert.strictEqual(errorOf(() => reader.next()).reason._tag, "Corrupted")
      reader.close()
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, recover: "truncate", fsync: "never" })
      assert.strictEqual(w.recovery.endSequence, 10)
      assert.strictEqual(w.recovery.cutBytes, 8 * BATCH_BYTES)
      w.close()
      assert.deepStrictEqual(readSequenced(t.journal).sequences, range(0, 10))
    } finally {
      t.cleanup()
    }
  })

  it("damage in a sealed segment fails the reader where it lies and info with verify; records before it are good", () => {
    const t = tempJournal("damaged-sealed")
    try {
      makeJournal(t.journal, 400, 4_096)
      const files = segments(t.journal)
      assert.isAbove(files.length, 3)
      const second = files[1]!
      flipByte(second, statSync(second).size - D.TRAILER_BYTES - 300)
      assert.strictEqual(NodeJournalUnsafe.info(t.journal).records, 400, "info without verify trusts trailers")
      assert.strictEqual(errorOf(() => NodeJournalUnsafe.info(t.journal, { verify: true })).reason._tag, "Corrupted")
      const reader = NodeJournalUnsafe.openReader(t.journal, { layout: Sequenced })
      let read = 0
      const error = errorOf(() => {
        for (let n = reader.next(); n > 0; n = reader.next()) read += n
      })
      reader.close()
      assert.strictEqual(error.reason._tag, "Corrupted")
      assert.include(error.message, "in a sealed segment")
      const firstOfSecond = D.parseSegmentFileName(second.split("/").at(-1)!)!
      assert.isAtLeast(read, firstOfSecond)
      // What came before the damage was delivered, and nothing after it.
      assert.isBelow(read, NodeJournalUnsafe.info(t.journal).segments[1]!.endSequence)
    } finally {
      t.cleanup()
    }
  })

  it("a sealed segment cut short by hand is Truncated, for writers, readers and info", () => {
    const t = tempJournal("cut-sealed")
    try {
      makeJournal(t.journal, 400, 4_096)
      const files = segments(t.journal)
      const victim = files[1]!
      for (const cut of [100, D.TRAILER_BYTES, D.TRAILER_BYTES + D.INDEX_ENTRY_BYTES]) {
        const pristine = readFileSync(victim)
        truncateSync(victim, pristine.length - cut)
        for (const open of [
          () => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced }),
          () => NodeJournalUnsafe.openReader(t.journal),
          () => NodeJournalUnsafe.info(t.journal)
        ]) {
          const e = errorOf(open)
          assert.strictEqual(e.reason._tag, "Truncated", `cut ${cut}: ${e.message}`)
          assert.include(e.message, victim)
        }
        writeFileSync(victim, pristine)
      }
    } finally {
      t.cleanup()
    }
  })

  it("a missing segment in the middle is Truncated, saying how many records are missing", () => {
    const t = tempJournal("missing")
    try {
      makeJournal(t.journal, 400, 4_096)
      const info = NodeJournalUnsafe.info(t.journal)
      const gone = info.segments[2]!
      unlinkSync(join(t.journal, gone.file))
      const e = errorOf(() => NodeJournalUnsafe.openReader(t.journal))
      assert.strictEqual(e.reason._tag, "Truncated")
      assert.include(e.message, `${gone.records} records are missing`)
    } finally {
      t.cleanup()
    }
  })

  it("a damaged segment header is Corrupted", () => {
    const t = tempJournal("header")
    try {
      makeJournal(t.journal, 20)
      flipByte(segments(t.journal)[0]!, D.SEGMENT_LAYOUT_TEXT_OFFSET + 3)
      const e = errorOf(() => NodeJournalUnsafe.openReader(t.journal))
      assert.strictEqual(e.reason._tag, "Corrupted")
      assert.include(e.message, "segment header checksum mismatch")
    } finally {
      t.cleanup()
    }
  })

  it("a temporary segment left by a crash while creating one is removed; an empty active segment is fine", () => {
    const t = tempJournal("temporary")
    try {
      makeJournal(t.journal, 20)
      writeFileSync(join(t.journal, D.segmentFileName(20) + ".tmp"), new Uint8Array(10))
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, fsync: "never" })
      assert.strictEqual(w.recovery.removedTemporary, 1)
      w.close()
      assert.deepStrictEqual(readdirSync(t.journal).filter((n) => n.endsWith(".tmp")), [])
      // A new journal: one segment, header only.
      const empty = join(t.root, "empty")
      NodeJournalUnsafe.openWriter(empty, { layout: Sequenced, fsync: "never" }).close()
      assert.strictEqual(NodeJournalUnsafe.info(empty).records, 0)
      assert.deepStrictEqual(readSequenced(empty).sequences, [])
    } finally {
      t.cleanup()
    }
  })

  it("no journal at the path is NotFound", () => {
    const t = tempJournal("none")
    try {
      assert.strictEqual(errorOf(() => NodeJournalUnsafe.openReader(t.journal)).reason._tag, "NotFound")
      mkdirSync(t.journal)
      assert.strictEqual(errorOf(() => NodeJournalUnsafe.info(t.journal)).reason._tag, "NotFound")
    } finally {
      t.cleanup()
    }
  })
})

/** Root ignores permission bits: an immutable directory (chattr +i) is what root cannot write. */
const makeReadOnly = (directory: string): (() => void) | undefined => {
  if (process.getuid?.() !== 0) {
    execFileSync("chmod", ["0555", directory])
    return () => execFileSync("chmod", ["0755", directory])
  }
  try {
    execFileSync("chattr", ["+i", directory], { stdio: "ignore" })
    return () => execFileSync("chattr", ["-i", directory])
  } catch {
    return undefined
  }
}

describe("an unwritable journal directory", () => {
  it("a journal path under a regular file is NotWritable", () => {
    const t = tempJournal("notdir")
    try {
      writeFileSync(join(t.root, "file"), "x")
      const e = errorOf(() => NodeJournalUnsafe.openWriter(join(t.root, "file", "journal"), { layout: Sequenced }))
      assert.strictEqual(e.reason._tag, "NotWritable")
    } finally {
      t.cleanup()
    }
  })

  const probe = tempJournal("probe")
  const restoreProbe = makeReadOnly(probe.root)
  restoreProbe?.()
  probe.cleanup()

  it.skipIf(restoreProbe === undefined)("a segment that cannot be created is NotWritable, and the next write creates it", () => {
    const t = tempJournal("roll-fails")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced, batchRecords: 10, segmentBytes: 2_048, fsync: "batch" })
      appendSequenced(w, 0, 50, 10)
      const restore = makeReadOnly(t.journal)!
      let failedAt = -1
      try {
        const e = errorOf(() => {
          for (let s = 50; s < 500; s += 10) {
            failedAt = s
            appendSequenced(w, s, 10, 10)
          }
        })
        assert.strictEqual(e.reason._tag, "NotWritable", e.message)
      } finally {
        restore()
      }
      // The records of the failed batch are still held; the next write creates the segment and goes on.
      assert.strictEqual(w.pendingRecords, 10)
      appendSequenced(w, failedAt + 10, 40, 10)
      w.close()
      assert.deepStrictEqual(readSequenced(t.journal).sequences, range(0, failedAt + 50))
      assert.strictEqual(NodeJournalUnsafe.info(t.journal, { verify: true }).trailingBytes, 0)
    } finally {
      t.cleanup()
    }
  })

  it.skipIf(restoreProbe === undefined)("a read-only directory is NotWritable, for a new journal and an existing one", () => {
    const t = tempJournal("readonly")
    try {
      makeJournal(t.journal, 10)
      const restore = makeReadOnly(t.journal)!
      try {
        const existing = errorOf(() => NodeJournalUnsafe.openWriter(t.journal, { layout: Sequenced }))
        assert.strictEqual(existing.reason._tag, "NotWritable", existing.message)
        // Reading needs no write access.
        assert.deepStrictEqual(readSequenced(t.journal).sequences, range(0, 10))
      } finally {
        restore()
      }
      const parent = join(t.root, "parent")
      mkdirSync(parent)
      const restoreParent = makeReadOnly(parent)!
      try {
        const fresh = errorOf(() => NodeJournalUnsafe.openWriter(join(parent, "journal"), { layout: Sequenced }))
        assert.strictEqual(fresh.reason._tag, "NotWritable", fresh.message)
      } finally {
        restoreParent()
      }
    } finally {
      t.cleanup()
    }
  })
})
