/**
 * The operator command `npm run journal -- info|tail|replay PATH`, run as a process on journals made
 * here: `--help` lists the verbs, `info` describes, `tail` prints the last records as NDJSON,
 * `replay` runs an example pipeline to a balanced ledger, and bad requests are typed errors (exit 1).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { RecordLayout } from "@velox/core"
import { checkOf, Sequenced } from "@velox/core/stages"
import { NodeJournalUnsafe } from "@velox/node"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const COMMAND = new URL("../../packages/examples/src/journal.ts", import.meta.url).pathname

/** Runs the command to its end (asynchronously: the tests run side by side, each a process). */
const journal = (...args: ReadonlyArray<string>) =>
  new Promise<{ status: number | null; stdout: string; stderr: string; all: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [COMMAND, ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", reject)
    child.on("close", (status) => resolve({ status, stdout, stderr, all: stdout + stderr }))
  })

const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64", tsNs: "f64" })

describe.concurrent("npm run journal", () => {
  const root = mkdtempSync(join(tmpdir(), "velox-journal-command-"))
  const sequenced = join(root, "sequenced")
  const ticks = join(root, "ticks")
  const count = 10_000
  {
    const w = NodeJournalUnsafe.openWriter(sequenced, { layout: Sequenced, batchRecords: 100, segmentBytes: 64 * 1024, fsync: "never" })
    const view = RecordLayout.view(Sequenced, new ArrayBuffer(32 * count), 0, count)
    for (let i = 0; i < count; i++) {
      view.fields.seq.set(i, i)
      view.fields.key.set(i, i % 16)
      view.fields.value.set(i, i)
      view.fields.check.set(i, checkOf(i))
    }
    w.appendView(view, 0, count)
    w.close()
    const t = NodeJournalUnsafe.openWriter(ticks, { layout: Tick, timeField: "tsNs", fsync: "never" })
    const tv = RecordLayout.view(Tick, new ArrayBuffer(24 * 50), 0, 50)
    for (let i = 0; i < 50; i++) RecordLayout.writeUnsafe(tv, i, { seq: i, price: 100 + i / 4, tsNs: i * 1_000 })
    t.appendView(tv, 0, 50)
    t.close()
  }

  it("--help lists the verbs", async () => {
    const help = await journal("--help")
    assert.strictEqual(help.status, 0, help.all)
    for (const verb of ["info", "tail", "replay"]) assert.match(help.stdout, new RegExp(`^\\s+${verb}\\s`, "m"))
  })

  it("info of a journal with no record yet (opened and closed): no time range, an empty active segment", async () => {
    const empty = join(root, "empty")
    NodeJournalUnsafe.openWriter(empty, { layout: Sequenced }).close()
    const text = await journal("info", empty)
    assert.strictEqual(text.status, 0, text.all)
    assert.include(text.stdout, "records   0\n")
    assert.include(text.stdout, "range     - … -\n")
    assert.match(text.stdout, /^ {2}0{20}\.segment {2}active +0 records .* - … -$/m)
  })

  it("info prints the layout, record count, time range, segments and bytes; --json the same as data", async () => {
    const text = await journal("info", sequenced)
    assert.strictEqual(text.status, 0, text.all)
    assert.include(text.stdout, "Sequenced{seq:f64,key:u32,flags:u32,value:f64,check:f64}")
    assert.include(text.stdout, "records   10,000  (sequences 0 … 9,999)")
    assert.match(text.stdout, /segments  \d+ \(\d+ sealed\)/)
    const json = await journal("info", ticks, "--json", "--verify")
    assert.strictEqual(json.status, 0, json.all)
    const info = JSON.parse(json.stdout)
    assert.strictEqual(info.layoutSignature, "Tick{seq:f64,price:f64,tsNs:f64}")
    assert.strictEqual(info.timeField, "tsNs")
    assert.strictEqual(info.records, 50)
    assert.strictEqual(info.firstTime, 0)
    assert.strictEqual(info.lastTime, 49_000)
    assert.strictEqual(info.verified, true)
  })

  it("tail prints the last records as NDJSON, with their sequence", async () => {
    const out = await journal("tail", ticks, "-n", "3")
    assert.strictEqual(out.status, 0, out.all)
    const lines = out.stdout.trim().split("\n").map((l) => JSON.parse(l))
    assert.deepStrictEqual(lines, [47, 48, 49].map((i) => ({ sequence: i, seq: i, price: 100 + i / 4, tsNs: i * 1_000 })))
  })

  it("replay feeds the journal through an example pipeline and prints a balanced ledger", async () => {
    const counted = await journal("replay", sequenced, "--pipeline", "sequenced", "--from-sequence", "2500")
    assert.strictEqual(counted.status, 0, counted.all)
    assert.match(counted.stderr, /counting-sink\s+7500\s/)
    assert.include(counted.stderr, "ledger: balanced")
    assert.include(counted.stderr, "replayed 7,500 records")
    const ndjson = await journal("replay", ticks, "--pipeline", "ndjson", "--from-time", "47000", "--speed", "1000")
    assert.strictEqual(ndjson.status, 0, ndjson.all)
    assert.deepStrictEqual(ndjson.stdout.trim().split("\n").map((l) => JSON.parse(l).seq), [47, 48, 49])
  })

  it("a journal of the wrong layout for the pipeline is a typed error naming it, and exit code 1", async () => {
    const wrong = await journal("replay", ticks, "--pipeline", "sequenced")
    assert.strictEqual(wrong.status, 1, wrong.all)
    assert.include(wrong.all, "holds Tick{seq:f64,price:f64,tsNs:f64}")
    assert.notInclude(wrong.all, "    at ", "one line, no stack trace")
  })

  afterAll(() => rmSync(root, { recursive: true, force: true }))
})
