import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Worker } from "node:worker_threads"
import { Arbitrary, Effect, Schema } from "effect"
import { type RecordLayout } from "@velox/core"
import { Bundle, Output, OutputCounters } from "@velox/market"
import { StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { makeLogic } from "../../packages/market/src/Output.ts"
import { CaptureEmitter, viewOf } from "../fixtures/captureEmitter.ts"

type BundleRecord = Bundle.BundleRecord
const { FlushReason } = Bundle

const bundle = (id: number, count: number, reason: number = FlushReason.Size): BundleRecord => ({
  id,
  firstTxId: id * 100,
  lastTxId: id * 100 + count - 1,
  openNs: 1_000 * id,
  closeNs: 1_000 * id + 7,
  count,
  reason
})

const feed = (logic: ReturnType<typeof makeLogic>, out: CaptureEmitter<never>, batches: ReadonlyArray<ReadonlyArray<BundleRecord>>) => {
  for (const b of batches) logic.onBatch(viewOf(Bundle.Bundle, b), 0, b.length, out)
}

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "velox-output-")), name)

describe("OutputCounters: the shared counters' layout", () => {
  it("every offset is where the drawing puts it: magic, sequence, then seven f64 counts, 64 bytes", () => {
    assert.strictEqual(OutputCounters.MAGIC_OFFSET, 0)
    assert.strictEqual(OutputCounters.SEQUENCE_OFFSET, 4)
    const counts = [
      OutputCounters.BUNDLES_OFFSET,
      OutputCounters.TRANSACTIONS_OFFSET,
      OutputCounters.CHECKSUM_OFFSET,
      OutputCounters.SIZE_FLUSHES_OFFSET,
      OutputCounters.TIMEOUT_FLUSHES_OFFSET,
      OutputCounters.DRAIN_FLUSHES_OFFSET,
      OutputCounters.BYTES_WRITTEN_OFFSET
    ]
    assert.deepStrictEqual(counts, [8, 16, 24, 32, 40, 48, 56])
    assert.strictEqual(OutputCounters.BYTE_LENGTH, 64)
    const buffer = OutputCounters.make()
    assert.strictEqual(buffer.byteLength, 64)
    assert.strictEqual(new Int32Array(buffer)[0], OutputCounters.MAGIC)
    assert.isTrue(OutputCounters.isCounters(buffer))
    assert.isFalse(OutputCounters.isCounters(new SharedArrayBuffer(64)))
    // The writer's fields land at those offsets.
    const w = new OutputCounters.Writer(buffer)
    w.bundles = 1
    w.transactions = 2
    w.checksum = 3
    w.sizeFlushes = 4
    w.timeoutFlushes = 5
    w.drainFlushes = 6
    w.bytesWritten = 7
    w.publish()
    assert.deepStrictEqual(counts.map((o) => new Float64Array(buffer)[o / 8]), [1, 2, 3, 4, 5, 6, 7])
    assert.strictEqual(new Int32Array(buffer)[1], 2, "one update: the sequence went odd, then even")
  })

  it("a reader gives up on a writer that died mid-update (its sequence stuck odd) instead of hanging", () => {
    const buffer = OutputCounters.make()
    const w = new OutputCounters.Writer(buffer)
    w.bundles = 2
    w.publish()
    Atomics.store(new Int32Array(buffer), 1, 3) // odd: an update begun and never finished
    assert.strictEqual(OutputCounters.read(buffer).bundles, 2)
    // A successor's first update makes the sequence even again.
    const next = new OutputCounters.Writer(buffer)
    next.bundles = 5
    next.publish()
    assert.strictEqual(new Int32Array(buffer)[1], 4)
    assert.strictEqual(OutputCounters.read(buffer).bundles, 5)
  })

  it("the checksum is a sum mod 2^48: exact, and the same in any order", () => {
    const bundles = [[0, 15, 16], [16, 31, 16], [2 ** 50 + 3, 2 ** 50 + 9, 7], [32, 35, 4]] as const
    const forward = bundles.reduce((acc, [f, l, c]) => OutputCounters.checksumOf(acc, f, l, c), 0)
    const backward = [...bundles].reverse().reduce((acc, [f, l, c]) => OutputCounters.checksumOf(acc, f, l, c), 0)
    assert.strictEqual(forward, backward)
    assert.strictEqual(forward, (0 + 15 + 16 + 16 + 31 + 16 + 3 + 9 + 7 + 32 + 35 + 4 + 2 * (2 ** 50 % 2 ** 48)) % 2 ** 48)
  })

  it.live("a reader on another thread never sees a torn update while a worker publishes", () =>
    Effect.promise(async () => {
      const counters = OutputCounters.make()
      const stop = new SharedArrayBuffer(4)
      const worker = new Worker(new URL("../fixtures/outputCountersWriter.ts", import.meta.url), { workerData: { counters, stop } })
      let failed: unknown = undefined
      worker.on("error", (e) => (failed = e))
      // Wait (yielding, so a worker error is seen) until the writer is publishing.
      for (let waited = 0; OutputCounters.read(counters).bundles === 0; waited += 10) {
        if (failed !== undefined || waited > 30_000) assert.fail(`the writer did not start: ${String(failed ?? "no update in 30 s")}`)
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      let reads = 0
      let last = 0
      // Read until many reads overlapped many updates (a count, not a time: a loaded machine is slow).
      const giveUpAt = Date.now() + 30_000
      while ((reads < 1_000 || last < 1_000) && Date.now() < giveUpAt) {
        const s = OutputCounters.read(counters)
        if (s.transactions !== 16 * s.bundles || s.checksum !== 3 * s.bundles || s.bytesWritten !== 100 * s.bundles) {
          assert.fail(`torn snapshot: ${JSON.stringify(s)}`)
        }
        if (s.bundles < last) assert.fail(`went back: ${s.bundles} after ${last}`)
        last = s.bundles
        reads++
      }
      Atomics.store(new Int32Array(stop), 0, 1)
      await new Promise((resolve) => worker.once("exit", resolve))
      // Reads and updates overlapped many times (the counts are progress, not timing thresholds).
      assert.isAtLeast(reads, 1_000)
      assert.isAtLeast(last, 1_000)
    }))
})

describe("Output: counting and checksums", () => {
  it("counts bundles, transactions and flushes per reason, and checksums them; accounts every bundle delivered", () => {
    const counters = OutputCounters.make()
    const logic = makeLogic({ counters })
    const out = new CaptureEmitter<never>(undefined)
    const bundles = [bundle(0, 16), bundle(1, 16), bundle(2, 5, FlushReason.Timeout), bundle(3, 16), bundle(4, 2, FlushReason.Drain)]
    feed(logic, out, [bundles.slice(0, 2), bundles.slice(2)])
    logic.onDrain!(out)
    assert.strictEqual(out.delivered, 5)
    assert.deepStrictEqual(OutputCounters.read(counters), {
      bundles: 5,
      transactions: 55,
      checksum: bundles.reduce((acc, b) => OutputCounters.checksumOf(acc, b.firstTxId, b.lastTxId, b.count), 0),
      sizeFlushes: 3,
      timeoutFlushes: 1,
      drainFlushes: 1,
      bytesWritten: 0
    })
  })

  it("dead-letters an invalid bundle under its reason and does not count it", () => {
    const counters = OutputCounters.make()
    const logic = makeLogic({ counters, maxCount: 16 })
    const out = new CaptureEmitter<never>(undefined)
    feed(logic, out, [[bundle(0, 16), bundle(1, 0), bundle(2, 17), { ...bundle(3, 4), reason: 7 }, { ...bundle(4, 3), lastTxId: 0 }, bundle(5, 1)]])
    assert.deepStrictEqual(out.deadLetters.map((d) => [Output.errors[d.code], d.record.id]), [
      ["CountOutOfRange", 1],
      ["CountOutOfRange", 2],
      ["BadFlushReason", 3],
      ["TxIdsOutOfOrder", 4]
    ])
    assert.strictEqual(out.delivered, 2)
    assert.strictEqual(OutputCounters.read(counters).transactions, 17)
  })

  it("a restarted sink continues from the counts in the buffer", () => {
    const counters = OutputCounters.make()
    const out = new CaptureEmitter<never>(undefined)
    feed(makeLogic({ counters }), out, [[bundle(0, 16), bundle(1, 16)]])
    feed(makeLogic({ counters }), out, [[bundle(2, 3)]])
    assert.strictEqual(OutputCounters.read(counters).bundles, 3)
    assert.strictEqual(OutputCounters.read(counters).transactions, 35)
  })
})

describe("Output: NDJSON", () => {
  it("writes one JSON line per bundle to a file, one write per batch, and closes it on drain", () => {
    const file = tempFile("bundles.ndjson")
    const counters = OutputCounters.make()
    const logic = makeLogic({ file, counters })
    const out = new CaptureEmitter<never>(undefined)
    const bundles = [bundle(0, 16), bundle(1, 3, FlushReason.Timeout), bundle(2, 1, FlushReason.Drain)]
    feed(logic, out, [bundles.slice(0, 1)])
    // Written synchronously: the line is in the file before the drain.
    assert.strictEqual(fs.readFileSync(file, "utf8").split("\n").length, 2)
    feed(logic, out, [bundles.slice(1)])
    logic.onDrain!(out)
    const text = fs.readFileSync(file, "utf8")
    const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l))
    assert.deepStrictEqual(lines, bundles.map((b) => ({ ...b, reason: ["size", "timeout", "drain"][b.reason] })))
    assert.strictEqual(OutputCounters.read(counters).bytesWritten, Buffer.byteLength(text))
  })

  it("truncates an existing file unless append is set; a restarted sink appends", () => {
    const file = tempFile("again.ndjson")
    fs.writeFileSync(file, "old\n")
    const out = new CaptureEmitter<never>(undefined)
    const first = makeLogic({ file })
    first.onDrain!(out)
    assert.strictEqual(fs.readFileSync(file, "utf8"), "")
    const appending = makeLogic({ file, append: true })
    feed(appending, out, [[bundle(0, 2)]])
    appending.onDrain!(out)
    const counters = OutputCounters.make()
    const crashed = makeLogic({ file, counters, append: true })
    feed(crashed, out, [[bundle(1, 2)]])
    // Its successor (the counters say bundles were written) appends rather than truncating.
    const restarted = makeLogic({ file, counters })
    feed(restarted, out, [[bundle(2, 2)]])
    restarted.onDrain!(out)
    assert.deepStrictEqual(fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).id), [0, 1, 2])
  })

  it("a non-finite timestamp is written as null, so every line stays JSON", () => {
    const file = tempFile("nan.ndjson")
    const logic = makeLogic({ file })
    const out = new CaptureEmitter<never>(undefined)
    feed(logic, out, [[{ ...bundle(0, 1), openNs: NaN, closeNs: Infinity }]])
    logic.onDrain!(out)
    const line = JSON.parse(fs.readFileSync(file, "utf8"))
    assert.strictEqual(line.openNs, null)
    assert.strictEqual(line.closeNs, null)
  })

  it("\"-\" writes to stdout", () => {
    const node = path.resolve("node_modules/.bin/node")
    const run = spawnSync(node, [new URL("../fixtures/outputToStdout.ts", import.meta.url).pathname], { encoding: "utf8" })
    assert.strictEqual(run.status, 0, run.stderr)
    const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l))
    assert.deepStrictEqual(lines.map((l) => [l.id, l.firstTxId, l.lastTxId, l.count, l.reason]), [
      [0, 0, 15, 16, "size"],
      [1, 16, 31, 16, "size"],
      [2, 32, 47, 16, "size"]
    ])
  })
})

// -------------------------------------------------------------------------------------------------
// The stage contract, counting only (no file): mostly valid bundles, one in ten broken.

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))
const bundles = Arbitrary.map(
  Arbitrary.all({ id: int(0, 10_000), first: int(0, 1_000_000), count: int(1, 16), reason: int(0, 2), broken: int(0, 9), openNs: int(0, 1e9) }),
  ({ broken, count, first, id, openNs, reason }): RecordLayout.RecordOf<typeof Bundle.Bundle.spec> => ({
    id,
    firstTxId: first,
    lastTxId: first + count - 1,
    openNs,
    closeNs: openNs + 100,
    count: broken === 9 ? 0 : count,
    reason
  })
)
const inputs = StageContract.arbitraryBatches(bundles, { maxBatches: 10, maxBatchLength: 30 })

describe("Output keeps the stage contract", () => {
  it.effect("in-process: every bundle is delivered or dead-lettered, nothing held", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(Output, { config: {}, inputs, runs: 100 })
      assert.deepStrictEqual(report.laws, ["Conservation", "Drain", "Determinism", "BoundedMemory"])
    }))

  it.live("fused and in a worker: the same accounting and dead letters as in-process", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkPlacement(Output, { config: {}, inputs, placementRuns: 3 })
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
