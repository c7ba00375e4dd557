/**
 * Crash safety: a child process appends to a journal with fsync and reports what it knows to be
 * durable; it is killed with SIGKILL at random instants, 100 times, each run reopening (recovering)
 * the journal the previous one left. After every kill, a reader must return every acknowledged
 * record, in sequence, and no record that is not exactly what was written.
 *
 * The kill instants come from a seeded generator (the seed is printed): a failure can be replayed.
 */
import { assert, describe, it } from "@effect/vitest"
import { JournalDescriptor as D } from "@velox/core"
import { checkOf, Sequenced } from "@velox/core/stages"
import { NodeJournalUnsafe } from "@velox/node"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const WRITER = new URL("../fixtures/journalCrashWriter.ts", import.meta.url).pathname
const RUNS = 100
const SEGMENT_BYTES = 256 * 1024
const BATCH_RECORDS = [1, 37, 500, 2_000] as const

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Reads the whole journal: how many records, checking each one's content and its sequence. */
const verify = (directory: string): { readonly records: number; readonly firstBad: number | undefined } => {
  const reader = NodeJournalUnsafe.openReader(directory, { layout: Sequenced })
  let records = 0
  let firstBad: number | undefined
  try {
    for (let n = reader.next(); n > 0; n = reader.next()) {
      const f64 = new Float64Array(reader.bytes.buffer, reader.batchByteOffset, n * 4)
      const u32 = new Uint32Array(reader.bytes.buffer, reader.batchByteOffset, n * 8)
      for (let i = 0; i < n; i++) {
        const seq = records + i
        const ok = f64[i * 4] === seq && u32[i * 8 + 2] === seq % 7 && u32[i * 8 + 3] === seq % 3 &&
          f64[i * 4 + 2] === seq * 0.5 && f64[i * 4 + 3] === checkOf(seq)
        if (!ok && firstBad === undefined) firstBad = seq
      }
      records += n
    }
  } finally {
    reader.close()
  }
  return { records, firstBad }
}

interface Run {
  readonly opened: number | undefined
  readonly cutBytes: number
  readonly acked: number
}

/** One child: started, killed after `killAfter` resolves, its stdout parsed. */
const runChild = async (
  directory: string,
  args: ReadonlyArray<string>,
  killAfter: (events: { readonly opened: Promise<void>; readonly firstAck: Promise<void> }) => Promise<void>
): Promise<Run> => {
  const child = spawn(process.execPath, [WRITER, directory, ...args], { stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  let onOpen: () => void = () => {}
  let onAck: () => void = () => {}
  const opened = new Promise<void>((resolve) => (onOpen = resolve))
  const firstAck = new Promise<void>((resolve) => (onAck = resolve))
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
    if (stdout.includes("open ")) onOpen()
    if (stdout.includes("ack ")) onAck()
  })
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  // A child that dies on its own (an error) ends the wait too, and fails the run below.
  await Promise.race([killAfter({ opened, firstAck }), exited])
  child.kill("SIGKILL")
  const code = await exited
  assert.strictEqual(code, null, `the writer died on its own (exit ${code}): ${stderr}`)
  let opened_: number | undefined
  let cutBytes = 0
  let acked = 0
  for (const line of stdout.split("\n")) {
    const [word, a, b] = line.split(" ")
    if (word === "open") {
      opened_ = Number(a)
      cutBytes = Number(b)
    }
    // A line cut by the kill is not an acknowledgement (it was not all written).
    if (word === "ack" && line.length > 4 && stdout.includes(`${line}\n`)) acked = Math.max(acked, Number(a))
  }
  return { opened: opened_, cutBytes, acked }
}

/** What one lane of runs saw. */
interface Lane {
  readonly kills: number
  readonly killedBeforeOpen: number
  readonly tornTails: number
  readonly acked: number
  readonly records: number
  readonly segments: number
  readonly sealed: number
}

/**
 * `runs` children, one after the other, on one journal: each recovers what the previous one left,
 * writes, and is killed; after each kill the whole journal is read back and checked.
 */
const lane = async (directory: string, runs: number, seed: number): Promise<Lane> => {
  let random = seed
  const next = () => {
    // Park–Miller: the kill delays and the children's seeds.
    random = (random * 48271) % 2147483647
    return random / 2147483647
  }
  let acked = 0
  let tornTails = 0
  let killedBeforeOpen = 0
  for (let run = 0; run < runs; run++) {
    const policy = run % 2 === 0 ? "batch" : "interval"
    const batchRecords = BATCH_RECORDS[run % BATCH_RECORDS.length]!
    const delayMs = next() * 80
    // Every tenth run is killed at any instant from its start (recovery included); the others at a
    // random instant after their first acknowledgement, in the middle of their writes.
    const early = run % 10 === 9
    const result = await runChild(
      directory,
      [policy, String(batchRecords), String(SEGMENT_BYTES), String(Math.floor(next() * 1e9))],
      async ({ firstAck }) => {
        if (!early) await firstAck
        await sleep(early ? delayMs * 2 : delayMs)
      }
    )
    const context = `${directory} run ${run} (seed ${seed}, ${policy}, batches of ${batchRecords}, killed after ${delayMs.toFixed(0)} ms)`
    if (result.opened === undefined) killedBeforeOpen++
    else assert.isAtLeast(result.opened, acked, `${context}: recovery found fewer records than were acknowledged`)
    if (result.cutBytes > 0) tornTails++
    acked = Math.max(acked, result.acked)
    const back = verify(directory)
    assert.isUndefined(back.firstBad, `${context}: record ${back.firstBad} is not what was written`)
    assert.isAtLeast(back.records, acked, `${context}: ${acked} records acknowledged, ${back.records} read back`)
  }
  // The last run's torn tail, if any, is cut by a final open; every sealed segment checks out.
  NodeJournalUnsafe.openWriter(directory, { layout: Sequenced }).close()
  const info = NodeJournalUnsafe.info(directory, { verify: true })
  assert.isAtLeast(info.records, acked)
  assert.strictEqual(info.trailingBytes, 0)
  assert.strictEqual(info.segments[0]!.file, D.segmentFileName(0))
  return {
    kills: runs,
    killedBeforeOpen,
    tornTails,
    acked,
    records: info.records,
    segments: info.segments.length,
    sealed: info.segments.filter((s) => s.sealed).length
  }
}

describe("journal crash safety", () => {
  it("a writer killed with SIGKILL at random instants, 100 times: every record acknowledged as fsynced is read back, none corrupt", async () => {
    const root = mkdtempSync(join(tmpdir(), "velox-crash-"))
    const seed = (Date.now() % 1_000_000) + 1
    try {
      // Two journals, two lanes of kills side by side: half the wall time, the same 100 kills.
      const lanes = await Promise.all([
        lane(join(root, "a"), RUNS / 2, seed),
        lane(join(root, "b"), RUNS / 2, seed + 1)
      ])
      const total = (k: keyof Lane) => lanes.reduce((n, l) => n + l[k], 0)
      console.log(
        `crash safety: seed ${seed}, ${total("kills")} kills (${total("killedBeforeOpen")} before the journal opened), ` +
          `${total("tornTails")} torn tails cut, ${total("acked")} records acknowledged, ${total("records")} on disk in ` +
          `${total("segments")} segments (${total("sealed")} sealed)`
      )
      for (const l of lanes) {
        assert.isAbove(l.acked, 0)
        assert.isAbove(l.sealed, 0, "the runs rolled segments")
      }
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }, 300_000)
})
