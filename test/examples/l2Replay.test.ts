import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { toolPath } from "../../scripts/tools.ts"
import { describeRun, runProgram } from "../fixtures/runProgram.ts"

/**
 * The L2 replay end to end, as a child process: it generates a journal (with sequence gaps and
 * invalid records), replays it as fast as it goes and reconciles every update; replays it again at
 * a fraction of the original pace, serving the monitoring view while it runs, and drains on SIGINT; and refuses a
 * directory it did not write. Nothing is timed: each step waits for what the program prints.
 */

const command = new URL("../../node_modules/.bin/velox-l2-replay", import.meta.url).pathname

/** A small feed with many defects: 300 symbols, 40,000 messages at 2,000/s of exchange time (20 s). */
const FEED = ["--symbols", "300", "--messages", "40000", "--rate", "2000", "--gap-probability", "0.002", "--invalid-fraction", "0.002", "--seed", "7"]

const reconciled = (output: string) => {
  assert.include(output, "ledger: balanced", output.slice(-4000))
  assert.match(output, /ok {2}updates read by the books = applied \+ dropped \+ refused: ([\d,]+) = \1/, output.slice(-4000))
  assert.match(output, /ok {2}tops of book published = tops monitored: ([\d,]+) = \1/)
  assert.match(output, /ok {2}updates applied: [1-9]/)
  assert.include(output, "ok  every stage ran to the end")
  assert.notInclude(output, "NO ", output.slice(-4000))
}

interface Running {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  readonly stop: (signal: NodeJS.Signals) => Promise<{ readonly code: number | null; readonly output: string }>
}

const start = (args: ReadonlyArray<string>): Promise<Running> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    let served = false
    const exited = new Promise<number | null>((done) => child.once("close", (code) => done(code)))
    const onData = (d: Buffer) => {
      output += d
      const m = /l2 replay on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (m !== null && !served) {
        served = true
        resolve({
          url: m[1]!,
          child,
          output: () => output,
          stop: async (signal) => {
            child.kill(signal)
            const code = await exited
            return { code, output }
          }
        })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    void exited.then((code) => {
      if (!served) reject(new Error(`velox-l2-replay exited (${code}) before serving:\n${output}`))
    })
  })

/** Polls `probe` until `until` holds (a guard against a hang, not a timing assertion). */
const waitFor = async <A>(probe: () => Promise<A>, until: (a: A) => boolean, what: string): Promise<A> => {
  const deadline = Date.now() + 90_000
  for (;;) {
    const a = await probe()
    if (until(a)) return a
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(a).slice(0, 600)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const getJson = async (url: string) => (await (await fetch(url)).json()) as any

describe("velox-l2-replay", () => {
  it("generates a journal, replays it to the end reconciling every update; replays it again at a fraction of the original pace, serves /l2 while it runs, and drains on SIGINT", { timeout: 400_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "l2-replay-"))
    const journal = join(dir, "feed.journal")
    try {
      const first = await runProgram(command, ["--journal", journal, ...FEED, "--port", "0", "--stats-seconds", "1"], { timeoutMs: 240_000 })
      const out = first.stdout + first.stderr
      assert.strictEqual(first.code, 0, describeRun(first))
      assert.match(out, /generated: 40,000 messages/)
      assert.deepStrictEqual(JSON.parse(readFileSync(join(journal, "l2-feed.json"), "utf8")).symbols, 300)
      reconciled(out)
      assert.include(out, "ok  journal records = updates replayed: 40,000 = 40,000")
      // The defects the generator put in: gaps (stale drops until a snapshot) and refused records, by reason.
      assert.match(out, /dropped Stale [1-9]/)
      assert.match(out, /refused (PriceOutOfRange|InvalidSize|InvalidSide|LevelMissing|LevelExists|BadOp) [1-9]/)
      assert.match(out, /sequence gaps [1-9][\d,]* \(/)
      assert.match(out, /latency, exchange time to top of book out \([1-9][\d,]* tops\): p50 [\d.]+ µs/)
      // Per-instance book lines in the ledger: the books were partitioned across two threads.
      assert.match(out, /^l2-book#0 /m)
      assert.match(out, /^l2-book#1 /m)

      // Again, from the journal now on disk, at a fifth of the original pace (100 s): watch it, then Ctrl-C.
      const second = await start(["--journal", journal, "--speed", "0.2", "--port", "0", "--stats-seconds", "1"])
      try {
        const view = await waitFor(() => getJson(`${second.url}/l2.json`), (v) => v.total.updates > 0 && v.books.live > 0, "updates applied")
        assert.strictEqual(view.replay.journalRecords, 40_000)
        assert.strictEqual(view.replay.speed, 0.2)
        assert.strictEqual(view.books.symbols, 300)
        for (const key of ["gaps", "resyncs", "stale", "resyncing", "crossed", "locked"]) assert.isNumber(view.books[key], key)
        assert.isArray(view.mostActive)
        assert.isAbove(view.mostActive.length, 0)
        assert.isAtLeast(view.mostActive[0].updates, view.mostActive.at(-1).updates, "most active first")
        assert.isNumber(view.gaps.feedOver1s)
        assert.isNumber(view.gaps.outputOver1s)
        // A book's depth, asked of the running books: the most active symbol is live, with levels on both sides.
        const busiest = view.mostActive[0].symbol
        const depth = await waitFor(() => getJson(`${second.url}/depth?symbol=${busiest}&levels=5`), (d) => d.state === "live" && d.bids?.length > 0 && d.asks?.length > 0, "a live book's depth")
        assert.strictEqual(depth.symbol, busiest)
        assert.isAtMost(depth.bids.length, 5)
        assert.isBelow(depth.bids[0][0], depth.asks[0][0])
        assert.strictEqual((await fetch(`${second.url}/depth?symbol=300`)).status, 404)
        assert.strictEqual((await fetch(`${second.url}/depth?symbol=1&levels=0`)).status, 400)
        const page = await fetch(`${second.url}/l2`)
        assert.include(page.headers.get("content-type") ?? "", "text/html")
        assert.include(await page.text(), "L2 replay")
        const metrics = await (await fetch(`${second.url}/metrics`)).text()
        const check = spawnSync(toolPath("promtool"), ["check", "metrics"], { input: metrics, encoding: "utf8" })
        assert.strictEqual(check.status, 0, `promtool: ${check.stdout}${check.stderr}`)
        assert.match(metrics, /^velox_l2_updates_total [1-9]\d*$/m)
        assert.match(metrics, /^velox_l2_books\{state="live"\} [1-9]\d*$/m)
        const stats = await getJson(`${second.url}/stats`)
        assert.isAbove(stats.l2.total.updates, 0)
        // A stats line, once the replay flows.
        await waitFor(async () => second.output(), (o) => /read [1-9][\d,]*\/40,000 .* updates\/s .* latency p50/.test(o), "a stats line")
      } finally {
        const { code, output } = await second.stop("SIGINT")
        assert.strictEqual(code, 0, output.slice(-4000))
        assert.include(output, "journal")
        assert.match(output, /L2 updates over 300 symbols \(seed 7\); --regenerate writes a new one/)
        assert.include(output, "SIGINT: draining")
        assert.match(output, /stopped before the end of the journal: [\d,]+ of 40,000 records replayed/)
        reconciled(output)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("refuses, in one line and before anything runs, a --journal directory it did not write", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "l2-replay-"))
    try {
      const foreign = join(dir, "mine")
      mkdirSync(foreign)
      writeFileSync(join(foreign, "notes.txt"), "keep me")
      const run = await runProgram(command, ["--journal", foreign, "--regenerate", "--port", "0"])
      assert.strictEqual(run.code, 1, describeRun(run))
      assert.include(run.stderr, `--journal ${foreign}: the directory holds files but no l2-feed.json`, describeRun(run))
      assert.isTrue(existsSync(join(foreign, "notes.txt")), "nothing deleted")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
