/**
 * The README's "Bring your own data" examples (packages/examples/src/ownData) run and account for
 * every record: a Stream in and objects out, the handle's writer into a store with a service, a merge
 * and a tee, and a stage's counters, drops and audit file.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Ledger } from "@velox/core"
import { NodeStageHost } from "@velox/node"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as FromStream from "../../packages/examples/src/ownData/fromStream.ts"
import * as TeeAndMerge from "../../packages/examples/src/ownData/teeAndMerge.ts"
import * as WriterToStore from "../../packages/examples/src/ownData/writerToStore.ts"

const auditFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "velox-own-data-")), "crossed.txt")
const lines = (file: string) => fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "").length

/** The quotes `FromStream.quotes` makes that are crossed (ask < bid), computed as the stage does. */
const crossedOf = (count: number) => {
  let n = 0
  for (let i = 0; i < count; i++) if (100.03 + (i % 5) / 100 - (100 + (i % 7) / 100) < 0) n++
  return n
}

const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

describe("bring your own data: the README's examples", () => {
  it.live("a Stream of objects in, spreads out as objects; crossed quotes dropped, counted and written to the audit file", () =>
    Effect.gen(function*() {
      const count = 20_000
      const audit = auditFile()
      const crossed = crossedOf(count)
      assert.isAbove(crossed, 0)
      const { ledger, spreads, stats } = yield* FromStream.program(count, audit)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(spreads.length, count - crossed)
      assert.isTrue(spreads.every((s) => s.spread >= 0))
      assert.deepStrictEqual(stage(ledger, "spreads").dropped, { crossed })
      const line = stats.stages.find((s) => s.stage === "spreads")!
      assert.strictEqual(line.counters["quotes"], count)
      assert.strictEqual(line.gauges["widest"], Math.max(...spreads.map((s) => s.spread)))
      // onClose closed the file after the drain: every crossed quote is in it.
      assert.strictEqual(lines(audit), crossed)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.live("offered from a callback into a dropOldest edge: what the queue could not hold is counted, the rest is stored", () =>
    Effect.gen(function*() {
      const count = 50_000
      const { ledger, stored } = yield* WriterToStore.program(count, auditFile())
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      // Offered in one synchronous loop: the edge's loop had no turn, so the queue kept the newest 10,000.
      assert.deepStrictEqual(stage(ledger, "feed").dropped, { DropOldest: count - 10_000 })
      assert.strictEqual(stored, 10_000)
      assert.strictEqual(stage(ledger, "store").emitted, stored)
    }).pipe(Effect.provide([NodeStageHost.layer, WriterToStore.SpreadStore.layer])))

  it.live("two venues merged and teed: the keeping branch gets every spread, the live one's drops are counted", () =>
    Effect.gen(function*() {
      const count = 20_000
      const { kept, ledger } = yield* TeeAndMerge.program(count, auditFile())
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual([stage(ledger, "venue-a").emitted, stage(ledger, "venue-b").emitted], [count, count])
      assert.strictEqual(kept, 2 * (count - crossedOf(count)))
      const live = ledger.links.find((l) => l.to === "live")!
      assert.strictEqual(stage(ledger, "live").emitted + live.dropped, kept)
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
