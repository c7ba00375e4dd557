/**
 * The journal's pipeline stages: the journal sink (any layout; records retained until written, so a
 * killed sink loses nothing; backpressure, not drops, when the journal lags; fsync and close on
 * drain) and the replay source (every record, from a sequence or a time, as fast as possible or at
 * the original timing times a speed factor, following a journal being written).
 */
import { assert, describe, it } from "@effect/vitest"
import { Ledger, Pipeline, RecordLayout, Stage } from "@velox/core"
import { checkOf, Counter, CountingSink, PassThrough, Sequenced } from "@velox/core/stages"
import { NodeJournal, NodeJournalSink, NodeJournalSource, NodeJournalUnsafe, NodeStageHost } from "@velox/node"
import { Effect, Exit } from "effect"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"

const runToEnd = (p: Pipeline.Pipeline, options: Pipeline.RunOptions = {}) =>
  Pipeline.runToEnd(p, options).pipe(Effect.provide(NodeStageHost.layer))

const tempDir = (label: string) => {
  const root = mkdtempSync(join(tmpdir(), `velox-${label}-`))
  return { journal: join(root, "journal"), cleanup: () => rmSync(root, { recursive: true, force: true }) }
}

/** Every Sequenced record of a journal, checked: the seq values in journal order. */
const journalSeqs = (directory: string): Array<number> => {
  const reader = NodeJournalUnsafe.openReader(directory, { layout: Sequenced })
  const seqs: Array<number> = []
  try {
    for (let n = reader.next(); n > 0; n = reader.next()) {
      const view = RecordLayout.view(Sequenced, reader.bytes.buffer, reader.batchByteOffset, n)
      for (let i = 0; i < n; i++) {
        const seq = view.fields.seq.get(i)
        assert.strictEqual(view.fields.check.get(i), checkOf(seq), `record ${seq} is whole`)
        seqs.push(seq)
      }
    }
  } finally {
    reader.close()
  }
  return seqs
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

const Tick = RecordLayout.make("Tick", { seq: "f64", tsNs: "f64" })

describe("journal sink", () => {
  for (const placement of ["fused", "worker", "fiber"] as const) {
    it.live(`${placement}: every record reaches the journal once, in order; durable and closed after the drain`, () =>
      Effect.gen(function*() {
        const t = tempDir(`sink-${placement}`)
        yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
        const stats = NodeJournal.makeStats()
        const count = 20_000
        const { ledger } = yield* runToEnd(
          Pipeline.from(Counter, { count }).to(
            NodeJournalSink.sink,
            { directory: t.journal, batchRecords: 333, fsync: "drain", segmentBytes: 64 * 1024, stats },
            { placement }
          )
        )
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const sink = ledger.stages.find((s) => s.stage === "journal-sink")!
        assert.strictEqual(sink.in, count)
        assert.deepStrictEqual(journalSeqs(t.journal), range(0, count))
        const s = NodeJournal.readStats(stats)
        assert.strictEqual(s.state, "closed")
        assert.strictEqual(s.durable, count)
        const info = yield* NodeJournal.info(t.journal, { verify: true })
        assert.strictEqual(info.layoutSignature, "Sequenced{seq:f64,key:u32,flags:u32,value:f64,check:f64}")
        assert.isUndefined(info.writerPid, "the lock is released")
      }))
  }

  it.live("a journal that lags (an fsync per record) slows the pipeline and drops nothing", () =>
    Effect.gen(function*() {
      const t = tempDir("sink-lag")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      const count = 400
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(PassThrough, {}, { placement: "worker" })
          .to(NodeJournalSink.sink, { directory: t.journal, batchRecords: 1, fsync: "batch" }, { placement: "worker" }),
        { ringCapacity: 16, batchSize: 8 }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      for (const stage of ledger.stages) assert.deepStrictEqual(stage.dropped, {}, `${stage.stage} dropped nothing`)
      assert.deepStrictEqual(journalSeqs(t.journal), range(0, count))
      assert.strictEqual(NodeJournalUnsafe.info(t.journal).records, count)
    }))

  it.live("a sink whose thread is killed mid-run loses nothing: the records it had not written come again", () =>
    Effect.gen(function*() {
      const t = tempDir("sink-killed")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      const stats = NodeJournal.makeStats()
      const count = 200_000
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handle = yield* Pipeline.run(
          Pipeline.from(Counter, { count }).to(
            NodeJournalSink.sink,
            { directory: t.journal, batchRecords: 1_000, fsync: "never", stats },
            { placement: "worker" }
          )
        )
        // Kill the sink's thread once it has written some batches, while records keep coming.
        while (NodeJournal.readStats(stats).written < 20_000) yield* Effect.sleep("2 millis")
        const sinkHost = handle.hosts.find((h) => h !== handle.hosts[0])!
        assert.isTrue(yield* handle.terminateHost(sinkHost))
        yield* handle.done
        return handle
      })).pipe(Effect.provide(NodeStageHost.layer))
      const ledger = result.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(ledger.stages.find((s) => s.stage === "journal-sink")!.restarts, 1)
      const seqs = journalSeqs(t.journal)
      // At least once: every record is there; a record appears twice only if the killed pass wrote it.
      assert.deepStrictEqual([...new Set(seqs)].sort((a, b) => a - b), range(0, count))
      assert.isAtMost(seqs.length - count, 2 * 1_000 + 256, "duplicates only from the pass that was killed")
    }))

  it.live("a journal that holds another layout fails the start, naming both layouts", () =>
    Effect.gen(function*() {
      const t = tempDir("sink-layout")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      NodeJournalUnsafe.openWriter(t.journal, { layout: Tick, fsync: "never" }).close()
      const exit = yield* Effect.exit(runToEnd(Pipeline.from(Counter, { count: 10 }).to(NodeJournalSink.sink, { directory: t.journal })))
      assert.isTrue(Exit.isFailure(exit))
      const text = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.include(text, "LayoutMismatch")
      assert.include(text, "Tick{seq:f64,tsNs:f64}")
      assert.include(text, "Sequenced{seq:f64,key:u32,flags:u32,value:f64,check:f64}")
    }))

  it("retains the open batch's records until the batch is written, and accounts for them then", () => {
    const t = tempDir("sink-logic")
    try {
      const logic = NodeJournalSink.makeLogic(
        { directory: t.journal, batchRecords: 10, fsync: "never" },
        Stage.context(NodeJournalSink.sink, { input: Sequenced })
      )
      const out = new CaptureEmitter<never>(undefined)
      const input = RecordLayout.view(Sequenced, new ArrayBuffer(32 * 25), 0, 25)
      for (let i = 0; i < 25; i++) {
        input.fields.seq.set(i, i)
        input.fields.check.set(i, checkOf(i))
      }
      logic.onStart!()
      logic.onBatch(input, 0, 7, out)
      assert.strictEqual(out.delivered, 0)
      assert.strictEqual(logic.retained!(), 7)
      logic.onBatch(input, 7, 18, out)
      assert.strictEqual(out.delivered, 20)
      assert.strictEqual(logic.retained!(), 5)
      assert.isBelow(logic.nextWakeNs!(), Infinity, "an open batch has a deadline")
      logic.onDrain!(out)
      logic.onClose!("drained")
      assert.strictEqual(out.delivered, 25)
      assert.strictEqual(logic.retained!(), 0)
      assert.deepStrictEqual(journalSeqs(t.journal), range(0, 25))
    } finally {
      t.cleanup()
    }
  })

  it("closed after a crash, a sink lets its journal go without writing the open batch; its successor takes over", () => {
    const t = tempDir("sink-crash")
    try {
      const config = { directory: t.journal, batchRecords: 10, fsync: "never" } as const
      const input = RecordLayout.view(Sequenced, new ArrayBuffer(32 * 25), 0, 25)
      for (let i = 0; i < 25; i++) {
        input.fields.seq.set(i, i)
        input.fields.check.set(i, checkOf(i))
      }
      const crashed = NodeJournalSink.makeLogic(config, Stage.context(NodeJournalSink.sink, { input: Sequenced }))
      crashed.onStart!()
      const out = new CaptureEmitter<never>(undefined)
      crashed.onBatch(input, 0, 14, out)
      assert.strictEqual(out.delivered, 10)
      assert.strictEqual(crashed.retained!(), 4)
      crashed.onClose!("crashed")
      assert.isFalse(existsSync(join(t.journal, "writer.lock")), "the lock is released")
      assert.deepStrictEqual(journalSeqs(t.journal), range(0, 10), "the open batch was not written")
      // The loop's restart: the 4 retained records come again, then the rest.
      const next = NodeJournalSink.makeLogic(config, Stage.context(NodeJournalSink.sink, { input: Sequenced, restarts: 1 }))
      next.onStart!()
      const again = new CaptureEmitter<never>(undefined)
      next.onBatch(input, 10, 15, again)
      next.onDrain!(again)
      next.onClose!("drained")
      assert.strictEqual(again.delivered, 15)
      assert.deepStrictEqual(journalSeqs(t.journal), range(0, 25))
    } finally {
      t.cleanup()
    }
  })
})

describe("journal replay source", () => {
  const writeTicks = (directory: string, count: number, stepNs: number) => {
    const w = NodeJournalUnsafe.openWriter(directory, { layout: Tick, timeField: "tsNs", batchRecords: 7, fsync: "never" })
    const view = RecordLayout.view(Tick, new ArrayBuffer(16 * count), 0, count)
    for (let i = 0; i < count; i++) {
      view.fields.seq.set(i, i)
      view.fields.tsNs.set(i, 1_000_000 + i * stepNs)
    }
    w.appendView(view, 0, count)
    w.close()
  }

  it.live("replays every record into a pipeline, from the start or from a sequence", () =>
    Effect.gen(function*() {
      const t = tempDir("replay")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      const count = 50_000
      yield* runToEnd(
        Pipeline.from(Counter, { count }).to(NodeJournalSink.sink, { directory: t.journal, segmentBytes: 256 * 1024, fsync: "never" })
      )
      for (const from of [undefined, { sequence: 12_345 }] as const) {
        const progress = NodeJournalSource.makeProgress()
        const { ledger } = yield* runToEnd(
          Pipeline.from(NodeJournalSource.make(Sequenced), { directory: t.journal, progress, ...(from ? { from } : {}) })
            .via(PassThrough, {}, { placement: "worker" })
            .to(CountingSink, {})
        )
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const expected = count - (from?.sequence ?? 0)
        // CountingSink dead-letters a record whose check field is wrong: none is.
        const sink = ledger.stages.find((s) => s.stage === "counting-sink")!
        assert.strictEqual(sink.in, expected)
        assert.deepStrictEqual(sink.deadLettered, {})
        assert.deepStrictEqual(NodeJournalSource.readProgress(progress), { records: expected, position: count })
      }
      // forJournal reads the layout from the journal.
      assert.deepStrictEqual(NodeJournalSource.forJournal(t.journal).output, Sequenced)
    }))

  it("paced: a record comes out when the pipeline clock has run its journal time since the first, divided by speed", () => {
    const t = tempDir("replay-paced")
    try {
      writeTicks(t.journal, 30, 1_000_000) // one record per ms of journal time
      for (const speed of [1, 4]) {
        const logic = NodeJournalSource.makeLogic(Tick, { directory: t.journal, speed })
        logic.onStart!()
        const out = new CaptureEmitter(Tick)
        const emittedBy = (nowNs: number) => {
          logic.onPoll(nowNs, 1_000, out)
          return out.emitted
        }
        const start = 5e9
        assert.strictEqual(emittedBy(start), 1, "the first record at once")
        assert.strictEqual(logic.nextWakeNs!(), start + 1e6 / speed)
        assert.strictEqual(emittedBy(start + 1e6 / speed - 1), 1, "not a nanosecond early")
        assert.strictEqual(emittedBy(start + 1e6 / speed), 2)
        assert.strictEqual(emittedBy(start + 10.5e6 / speed), 11)
        assert.strictEqual(emittedBy(start + 29e6 / speed), 30)
        assert.deepStrictEqual(out.take().map((r) => r.seq), range(0, 30))
        assert.strictEqual(logic.onPoll(start + 1e12, 1_000, out), -1, "exhausted at the end")
        logic.onClose!("drained")
      }
    } finally {
      t.cleanup()
    }
  })

  it("from a time: starts at the first record whose time reaches it", () => {
    const t = tempDir("replay-time")
    try {
      writeTicks(t.journal, 100, 1_000)
      const logic = NodeJournalSource.makeLogic(Tick, { directory: t.journal, from: { time: 1_000_000 + 42_500 } })
      logic.onStart!()
      const out = new CaptureEmitter(Tick)
      while (logic.onPoll(0, 64, out) > 0) {
        // drain it
      }
      assert.deepStrictEqual(out.take().map((r) => r.seq), range(43, 100))
      logic.onClose!("drained")
    } finally {
      t.cleanup()
    }
  })

  it("following: replays what a writer appends after it started, waiting pollMs in between", () => {
    const t = tempDir("replay-follow")
    try {
      const w = NodeJournalUnsafe.openWriter(t.journal, { layout: Tick, batchRecords: 5, fsync: "never" })
      const logic = NodeJournalSource.makeLogic(Tick, { directory: t.journal, follow: true, pollMs: 10 })
      logic.onStart!()
      const out = new CaptureEmitter(Tick)
      assert.strictEqual(logic.onPoll(0, 100, out), 0)
      assert.strictEqual(logic.nextWakeNs!(), 10e6)
      assert.strictEqual(logic.onPoll(5e6, 100, out), 0, "no look before pollMs")
      const view = RecordLayout.view(Tick, new ArrayBuffer(16 * 12), 0, 12)
      for (let i = 0; i < 12; i++) view.fields.seq.set(i, i)
      w.appendView(view, 0, 12)
      assert.strictEqual(logic.onPoll(10e6, 100, out), 10, "two whole batches written")
      w.close()
      assert.strictEqual(logic.onPoll(30e6, 100, out), 2, "the rest, written on close")
      assert.strictEqual(logic.onPoll(60e6, 100, out), 0, "a follower never ends")
      assert.deepStrictEqual(out.take().map((r) => r.seq), range(0, 12))
      logic.onClose!("drained")
    } finally {
      t.cleanup()
    }
  })

  it.live("a journal of another layout fails the start, naming both layouts", () =>
    Effect.gen(function*() {
      const t = tempDir("replay-layout")
      yield* Effect.addFinalizer(() => Effect.sync(t.cleanup))
      writeTicks(t.journal, 10, 1)
      const exit = yield* Effect.exit(
        runToEnd(Pipeline.from(NodeJournalSource.make(Sequenced), { directory: t.journal }).to(CountingSink, {}))
      )
      const text = String(Exit.isFailure(exit) ? exit.cause : "")
      assert.include(text, "LayoutMismatch")
      assert.include(text, "Tick{seq:f64,tsNs:f64}")
    }))
})
