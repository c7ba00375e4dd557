import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Sequenced } from "@velox/core/stages"
import { NodeJournalUnsafe } from "@velox/node"
import { describeRun, type Run, runProgram, type RunOptions } from "../fixtures/runProgram.ts"

/**
 * The engine's journal: `--journal DIR` records every bundle the output receives, `--replay DIR`
 * feeds them back through the output. Runs stop on a signal once records flow, never on a timer.
 */

const program = new URL("../../packages/examples/src/engine.ts", import.meta.url).pathname

const runEngine = (args: ReadonlyArray<string>, options: RunOptions = {}) =>
  runProgram(process.execPath, [program, ...args], {
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VELOX_ENGINE_"))),
    timeoutMs: 180_000,
    ...options
  })

const CHECKSUM_MODULUS = 2 ** 48

/** The output's totals line: bundles, transactions, checksum. */
const totals = (run: Run) => {
  const m = /^output: (\d+) bundles, (\d+) transactions, checksum (\d+)$/m.exec(run.stdout)
  assert.isNotNull(m, describeRun(run))
  return { bundles: Number(m![1]), transactions: Number(m![2]), checksum: Number(m![3]) }
}

const clean = (run: Run) => {
  assert.strictEqual(run.code, 0, describeRun(run))
  assert.include(run.stdout, "ledger: balanced", describeRun(run))
  assert.include(run.stdout, "ok  every stage ran to the end", describeRun(run))
  assert.notInclude(run.stdout, "NO ", describeRun(run))
}

const oneLineError = (run: Run): string => {
  assert.strictEqual(run.code, 1, describeRun(run))
  const lines = run.stderr.split("\n").filter((l) => l !== "")
  assert.lengthOf(lines, 1, describeRun(run))
  assert.strictEqual(run.stdout, "", "the pipeline started")
  return lines[0]!
}

const tempDir = () => mkdtempSync(join(tmpdir(), "velox-engine-journal-"))

describe("the engine's journal", () => {
  it("--journal records every bundle received, across two runs; --replay feeds them all back through the output: the same bundles, transactions and checksum", async () => {
    const journal = join(tempDir(), "bundles")
    // Two recordings into the same journal: the second appends, and counts only its own bundles.
    const recorded: Array<ReturnType<typeof totals>> = []
    for (const placement of ["fused", "workers"]) {
      const run = await runEngine(["--journal", journal, "--placement", placement, "--duration", "600"], {
        signal: { when: /ingress [1-9]\d* /, signal: "SIGTERM" }
      })
      clean(run)
      const t = totals(run)
      assert.isAbove(t.bundles, 0)
      assert.include(run.stdout, `ok  bundles received = bundles journaled (and fsynced): ${t.bundles} = ${t.bundles}`, describeRun(run))
      recorded.push(t)
    }
    const bundles = recorded[0]!.bundles + recorded[1]!.bundles
    const info = NodeJournalUnsafe.info(journal)
    assert.strictEqual(info.records, bundles)
    assert.strictEqual(info.layoutSignature, "Bundle{id:f64,firstTxId:f64,lastTxId:f64,openNs:f64,closeNs:f64,count:u32,reason:u32}")

    const replay = await runEngine(["--replay", journal])
    clean(replay)
    assert.match(replay.stdout, new RegExp(`^engine: replaying ${bundles} bundles from ${journal} as fast as possible`, "m"))
    assert.include(replay.stdout, `ok  bundles in the journal = bundles replayed: ${bundles} = ${bundles}`)
    assert.include(replay.stdout, `ok  bundles replayed = bundles received + dead-lettered: ${bundles} = ${bundles}`)
    assert.deepStrictEqual(totals(replay), {
      bundles,
      transactions: recorded[0]!.transactions + recorded[1]!.transactions,
      checksum: (recorded[0]!.checksum + recorded[1]!.checksum) % CHECKSUM_MODULUS
    })

    // At the original timing slowed 100×, a replay is stopped by a signal before its end: said, and clean.
    const slow = await runEngine(["--replay", journal, "--replay-speed", "0.01"], {
      signal: { when: /replayed [1-9]\d* /, signal: "SIGTERM" }
    })
    clean(slow)
    assert.match(slow.stdout, /^engine: replaying \d+ bundles from .* at 0\.01× their original timing/m)
    assert.notInclude(slow.stdout, "bundles in the journal = bundles replayed")
    const stopped = /ok {2}bundles replayed from .*: (\d+) \(stopped before its end, (\d+)\)/.exec(slow.stdout)
    assert.isNotNull(stopped, describeRun(slow))
    assert.isBelow(Number(stopped![1]), bundles)
    assert.strictEqual(Number(stopped![2]), bundles)
  }, 600_000)

  describe("a journal the engine cannot use is one line on stderr and exit code 1, before anything runs", () => {
    it("--replay of a directory that holds no journal", async () => {
      const missing = join(tempDir(), "none")
      assert.match(oneLineError(await runEngine(["--replay", missing])), new RegExp(`^velox-engine: --replay ${missing}: NotFound: `))
    })

    it("--replay of a journal of another layout names both layouts", async () => {
      const other = join(tempDir(), "sequenced")
      const writer = NodeJournalUnsafe.openWriter(other, { layout: Sequenced, fsync: "never" })
      writer.appendBytes(new Uint8Array(Sequenced.byteLength * 3), 0, 3)
      writer.close()
      assert.strictEqual(
        oneLineError(await runEngine(["--replay", other])),
        `velox-engine: --replay ${other}: holds Sequenced{seq:f64,key:u32,flags:u32,value:f64,check:f64}, not the engine's ` +
          "Bundle{id:f64,firstTxId:f64,lastTxId:f64,openNs:f64,closeNs:f64,count:u32,reason:u32}"
      )
    })

    it("--journal naming the journal --replay reads", async () => {
      const journal = join(tempDir(), "bundles")
      assert.strictEqual(
        oneLineError(await runEngine(["--replay", journal, "--journal", `${journal}/`])),
        `velox-engine: --journal ${journal}/: is the journal --replay reads: write to another one`
      )
    })

    it("--journal where no directory can be made (under a file)", async () => {
      const file = join(tempDir(), "a-file")
      writeFileSync(file, "not a directory")
      assert.match(oneLineError(await runEngine(["--journal", join(file, "bundles")])), new RegExp(`^velox-engine: --journal ${file}/bundles: \\w+: `))
    })
  })
})
