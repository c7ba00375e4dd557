import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Ledger, Pipeline, RecordLayout, Stage } from "@velox/core"
import { checkOf, Counter, PassThrough, Sequenced } from "@velox/core/stages"
import { Bundle } from "@velox/market"
import { NodeFileSink, NodeStageHost } from "@velox/node"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { bundle } from "../fixtures/bundles.ts"
import { CaptureEmitter, viewOf } from "../fixtures/captureEmitter.ts"

type BundleRecord = Bundle.BundleRecord
const { FlushReason } = Bundle

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "velox-file-sink-")), name)

const context = (restarts = 0) => Stage.context(NodeFileSink.sink, { input: Bundle.Bundle, restarts })
const labels = { reason: Bundle.FLUSH_REASON_NAMES }

/** The logic, started as its loop starts it (`onStart` opens the file). */
const started = (config: NodeFileSink.Config, ctx: Stage.LayoutContext) => {
  const logic = NodeFileSink.makeLogic(config, ctx)
  logic.onStart!()
  return logic
}

/** Drains and closes it as its loop does at the end. */
const finish = (logic: ReturnType<typeof NodeFileSink.makeLogic>, out: CaptureEmitter<never>) => {
  logic.onDrain?.(out)
  logic.onClose!("drained")
}

const feed = (logic: ReturnType<typeof NodeFileSink.makeLogic>, out: CaptureEmitter<never>, batches: ReadonlyArray<ReadonlyArray<BundleRecord>>) => {
  for (const b of batches) logic.onBatch(viewOf(Bundle.Bundle, b), 0, b.length, out)
}

describe("NodeFileSink: NDJSON", () => {
  it("writes one JSON line per record, in field order, one write per batch, and closes the file when the loop closes it", () => {
    const file = tempFile("bundles.ndjson")
    const stats = NodeFileSink.makeStats()
    const logic = started({ path: file, labels, stats }, context())
    const out = new CaptureEmitter<never>(undefined)
    const bundles = [bundle(0, 16), bundle(1, 3, FlushReason.Timeout), bundle(2, 1, FlushReason.Drain)]
    feed(logic, out, [bundles.slice(0, 1)])
    // Written synchronously: the line is in the file before the drain.
    assert.strictEqual(fs.readFileSync(file, "utf8").split("\n").length, 2)
    feed(logic, out, [bundles.slice(1)])
    finish(logic, out)
    const text = fs.readFileSync(file, "utf8")
    const lines = text.trimEnd().split("\n")
    assert.deepStrictEqual(lines.map((l) => JSON.parse(l)), bundles.map((b) => ({ ...b, reason: ["size", "timeout", "drain"][b.reason] })))
    assert.deepStrictEqual(lines.map((l) => Object.keys(JSON.parse(l))), bundles.map(() => Bundle.Bundle.fields.map((f) => f.name)))
    assert.strictEqual(out.delivered, 3)
    assert.deepStrictEqual(NodeFileSink.readStats(stats), { records: 3, bytes: Buffer.byteLength(text) })
  })

  it("truncates an existing file unless append is set; a restarted sink appends", () => {
    const file = tempFile("again.ndjson")
    fs.writeFileSync(file, "old\n")
    const out = new CaptureEmitter<never>(undefined)
    const first = started({ path: file }, context())
    finish(first, out)
    assert.strictEqual(fs.readFileSync(file, "utf8"), "")
    const appending = started({ path: file, append: true }, context())
    feed(appending, out, [[bundle(0, 2)]])
    finish(appending, out)
    const crashed = started({ path: file, append: true }, context())
    feed(crashed, out, [[bundle(1, 2)]])
    crashed.onClose!("crashed")
    // Its successor (a restart of the loop) appends rather than truncating.
    const restarted = started({ path: file }, context(1))
    feed(restarted, out, [[bundle(2, 2)]])
    finish(restarted, out)
    assert.deepStrictEqual(fs.readFileSync(file, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).id), [0, 1, 2])
  })

  it("a non-finite value is written as null, and a code without a label as its number, so every line stays JSON", () => {
    const file = tempFile("nan.ndjson")
    const logic = started({ path: file, labels }, context())
    const out = new CaptureEmitter<never>(undefined)
    feed(logic, out, [[{ ...bundle(0, 1), openNs: NaN, closeNs: Infinity, reason: 9 }]])
    finish(logic, out)
    const line = JSON.parse(fs.readFileSync(file, "utf8"))
    assert.strictEqual(line.openNs, null)
    assert.strictEqual(line.closeNs, null)
    assert.strictEqual(line.reason, 9)
  })

  it("\"-\" writes to stdout", () => {
    const node = path.resolve("node_modules/.bin/node")
    const run = spawnSync(node, [new URL("../fixtures/fileSinkToStdout.ts", import.meta.url).pathname], { encoding: "utf8" })
    assert.strictEqual(run.status, 0, run.stderr)
    const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l))
    assert.deepStrictEqual(lines.map((l) => [l.id, l.firstTxId, l.lastTxId, l.count, l.reason]), [
      [0, 0, 15, 16, "size"],
      [1, 16, 31, 16, "size"],
      [2, 32, 47, 16, "size"]
    ])
  })

  it("a path that cannot be opened fails the start with NodeFileSinkError naming the path and the cause", () => {
    const file = path.join(tempFile("dir"), "missing", "x.ndjson")
    const error = (() => {
      try {
        started({ path: file }, context())
      } catch (e) {
        return e
      }
    })()
    assert.instanceOf(error, NodeFileSink.NodeFileSinkError)
    const e = error as NodeFileSink.NodeFileSinkError
    assert.strictEqual(e.path, file)
    assert.include(e.cause, "ENOENT")
    assert.include(e.message, file)
  })
})

describe("NodeFileSink in a pipeline: any layout, any placement", () => {
  const runToEnd = (p: Pipeline.Pipeline) => Pipeline.runToEnd(p).pipe(Effect.provide(NodeStageHost.layer))

  for (const placement of ["fused", "worker", "fiber"] as const) {
    it.live(`${placement}: writes every record of the upstream layout, decoded, in order`, () =>
      Effect.gen(function*() {
        const count = 20_000
        const file = tempFile(`${placement}.ndjson`)
        const stats = NodeFileSink.makeStats()
        const { ledger } = yield* runToEnd(
          Pipeline.from(Counter, { count }).via(PassThrough, {}).to(NodeFileSink.sink, { path: file, stats }, { placement })
        )
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        assert.strictEqual(ledger.stages.find((s) => s.stage === "file-sink")!.emitted, count)
        const lines = fs.readFileSync(file, "utf8").trimEnd().split("\n")
        assert.strictEqual(lines.length, count)
        lines.forEach((l, seq) => {
          const r = JSON.parse(l) as RecordLayout.RecordOf<typeof Sequenced.spec>
          assert.deepStrictEqual(Object.keys(r), ["seq", "key", "flags", "value", "check"])
          if (r.seq !== seq || r.value !== seq || r.check !== checkOf(seq)) assert.fail(`line ${seq}: ${l}`)
        })
        assert.deepStrictEqual(NodeFileSink.readStats(stats), { records: count, bytes: fs.statSync(file).size })
      }))
  }

  for (const placement of ["worker", "fiber"] as const) {
    it.live(`${placement}: an output that cannot be opened fails the run at start, naming the path and the cause`, () =>
      Effect.gen(function*() {
        const file = path.join(tempFile("dir"), "nonexistent", "x.ndjson")
        const error = yield* runToEnd(
          Pipeline.from(Counter, { count: 1_000 }).to(NodeFileSink.sink, { path: file }, { placement })
        ).pipe(Effect.flip)
        assert.strictEqual(error._tag, "StageCrashed")
        if (error._tag !== "StageCrashed") return
        assert.strictEqual(error.reason, "StartFailed")
        assert.strictEqual(error.stage, "file-sink")
        assert.include(error.message, `cannot open ${file} for writing`)
        assert.include(error.message, "ENOENT")
      }))
  }
})
