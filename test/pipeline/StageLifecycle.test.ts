/**
 * `onStart` / `onClose`: run in the stage's own thread, once per start, and closing after the drain,
 * after every crash before its restart, and on abort — so a stage that crashes again and again leaks
 * no descriptor. Counted from outside, in `/proc/self/fd` (worker threads share the process's table).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Schedule, Scope, Stream } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter, CountingSink, Sequenced } from "@velox/core/stages"
import { NodeFileSink, NodeJournal, NodeJournalSink, NodeStageHost } from "@velox/node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Slow } from "../fixtures/faultyStages.ts"
import {
  CLOSED_ABORTED,
  CLOSED_CRASHED,
  CLOSED_DRAINED,
  CrashEvery,
  CRASHES,
  FileHolder,
  makeLog,
  STARTS
} from "../fixtures/lifecycleStages.ts"

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "velox-lifecycle-"))

/** Descriptors of this process open on `file` (or, for a directory, on anything in it). */
const descriptorsOn = (file: string): number =>
  fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`)
      return target === file || target.startsWith(file + path.sep)
    } catch {
      return false // closed between the listing and the read
    }
  }).length

const restartFast = Pipeline.Supervision.restart({ backoff: Schedule.spaced("1 millis"), maxRestarts: 50, window: "1 minute" })

const runToEnd = (p: Pipeline.Pipeline, options: Pipeline.RunOptions = {}) =>
  Pipeline.runToEnd(p, options).pipe(Effect.provide(NodeStageHost.layer))

const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

describe("stage lifecycle: onStart and onClose", () => {
  for (const placement of ["worker", "fiber"] as const) {
    it.live(`${placement}: a stage that opens a file and crashes 10 times leaks no descriptor; it closes after each crash and after the drain`, () =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = path.join(dir, "held.txt")
        const log = makeLog()
        const count = 5_000
        const { ledger } = yield* runToEnd(
          Pipeline.from(Counter, { count })
            .via(FileHolder, { path: file, every: 300, crashes: 10, log }, { placement, supervision: restartFast })
            .to(CountingSink, {})
        )
        const events = new Int32Array(log)
        assert.strictEqual(events[CRASHES], 10)
        assert.strictEqual(events[STARTS], 11, "one start, then one per restart")
        assert.strictEqual(events[CLOSED_CRASHED], 10, "closed after every crash, before its restart")
        assert.strictEqual(events[CLOSED_DRAINED], 1)
        assert.strictEqual(events[CLOSED_ABORTED], 0)
        assert.strictEqual(descriptorsOn(file), 0, "no descriptor left open on the file")
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        assert.strictEqual(stage(ledger, "file-holder").restarts, 10)
        assert.strictEqual(stage(ledger, "counting-sink").emitted, count)
        fs.rmSync(dir, { recursive: true, force: true })
      }))
  }

  it.live("a loop told to abort closes its stages with \"aborted\"", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const file = path.join(dir, "held.txt")
      const log = makeLog()
      const scope = yield* Scope.make()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity })
          .via(FileHolder, { path: file, every: 1, crashes: 0, log }, { placement: "worker" })
          .via(Slow, { spinNs: 1_000_000 }, { placement: "worker" })
          .to(CountingSink, {}),
        { ringCapacity: 1024, drainTimeout: "300 millis" }
      ).pipe(Scope.provide(scope))
      // A backlog the drain cannot finish in time: the holder waits for room in a full ring.
      yield* Effect.sync(() => handle.stats().rings[1]!.fill).pipe(
        Effect.repeat({ until: (fill) => fill >= 1000, schedule: Schedule.spaced("10 millis") })
      )
      yield* Scope.close(scope, Exit.void)
      const report = yield* handle.drainReport
      assert.isTrue(report.timedOut)
      const events = new Int32Array(log)
      assert.strictEqual(events[STARTS], 1)
      assert.strictEqual(events[CLOSED_ABORTED]! + events[CLOSED_DRAINED]!, 1, "closed once")
      assert.strictEqual(events[CLOSED_ABORTED], 1)
      assert.strictEqual(descriptorsOn(file), 0)
      fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("a stage whose onStart throws fails the start, and the stages started before it in its loop are closed", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const file = path.join(dir, "held.txt")
      const log = makeLog()
      const exit = yield* Effect.exit(runToEnd(
        Pipeline.from(Counter, { count: 100 })
          .via(FileHolder, { path: file, every: 1, crashes: 0, log }, { placement: "worker" })
          // Its directory does not exist: the file sink's onStart throws.
          .to(NodeFileSink.sink, { path: path.join(dir, "missing", "out.ndjson") })
      ))
      const failure = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(failure))
      assert.strictEqual(Option.getOrThrow(failure).reason, "StartFailed")
      const events = new Int32Array(log)
      assert.strictEqual(events[STARTS], 1)
      assert.strictEqual(events[CLOSED_CRASHED], 1, "the holder, started first, was closed")
      assert.strictEqual(descriptorsOn(file), 0)
      fs.rmSync(dir, { recursive: true, force: true })
    }))
})

describe("the file and journal sinks close what they opened, crash after crash", () => {
  it.live("NodeFileSink fused after a stage that crashes 10 times: every record written, no descriptor left", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const file = path.join(dir, "out.ndjson")
      const log = makeLog()
      const count = 3_000
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(CrashEvery, { every: 250, crashes: 10, log }, { placement: "worker", supervision: restartFast })
          .to(NodeFileSink.sink, { path: file })
      )
      assert.strictEqual(new Int32Array(log)[CRASHES], 10)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(descriptorsOn(file), 0)
      // A crashed pass wrote nothing it had not delivered: each crash is before the sink's write.
      const seqs = fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).seq as number)
      assert.deepStrictEqual([...new Set(seqs)].sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i))
      fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.live("NodeJournalSink fused after a stage that crashes 10 times: each restart takes the journal over, no descriptor or lock left", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const journal = path.join(dir, "journal")
      const log = makeLog()
      const count = 3_000
      const { ledger } = yield* runToEnd(
        Pipeline.from(Counter, { count })
          .via(CrashEvery, { every: 250, crashes: 10, log }, { placement: "worker", supervision: restartFast })
          .to(NodeJournalSink.sink, { directory: journal, batchRecords: 100, fsync: "never" })
      )
      assert.strictEqual(new Int32Array(log)[CRASHES], 10)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(descriptorsOn(journal), 0, "no descriptor left on the journal's files")
      assert.isFalse(fs.existsSync(path.join(journal, "writer.lock")), "the lock was released at the end")
      // Fused after the crashing stage, the sink's open batch has no ring to come back from: each
      // crash loses it, counted as lost (the sink's own loop would get it back); the rest is there.
      const records = yield* Stream.runCollect(NodeJournal.records(journal, { layout: Sequenced }))
      const seqs = new Set(records.map((r) => r.seq))
      const lost = stage(ledger, "journal-sink").lost
      assert.isAbove(lost, 0)
      assert.strictEqual(seqs.size, count - lost)
      assert.isTrue([...seqs].every((seq) => Number.isInteger(seq) && seq >= 0 && seq < count))
      fs.rmSync(dir, { recursive: true, force: true })
    }))
})
