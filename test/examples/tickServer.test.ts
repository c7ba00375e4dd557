import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import WebSocket from "ws"
import { NodeJournalUnsafe } from "@velox/node"
import { toolPath } from "../../scripts/tools.ts"

/**
 * The tick server end to end, as a child process on a free port: HTTP answers, readiness, metrics,
 * the drain; and WebSocket clients — fast ones beside one that stops reading.
 */

const command = new URL("../../node_modules/.bin/velox-tick-server", import.meta.url).pathname

interface Server {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
  /** SIGTERM, then the exit code and everything it printed. */
  readonly stop: () => Promise<{ readonly code: number | null; readonly output: string }>
}

const start = (args: ReadonlyArray<string>): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, ["--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    const onData = (d: Buffer) => {
      output += d
      const m = /tick server on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (m !== null) {
        child.stdout!.off("data", onData)
        child.stdout!.on("data", (more: Buffer) => (output += more))
        resolve({
          url: m[1]!,
          child,
          output: () => output,
          stop: async () => {
            child.kill("SIGTERM")
            const code = await exited
            return { code, output }
          }
        })
      }
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", (d: Buffer) => (output += d))
    void exited.then((code) => reject(new Error(`velox-tick-server exited (${code}) before serving:\n${output}`)))
  })

const get = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, type: response.headers.get("content-type") ?? "", cache: response.headers.get("cache-control"), text: await response.text() }
}
const getJson = async (url: string) => {
  const r = await get(url)
  return { ...r, body: JSON.parse(r.text) as any }
}

/** Polls `probe` until `until` holds (20 s at most: a guard against a hang, not a timing assertion). */
const waitFor = async <A>(probe: () => Promise<A> | A, until: (a: A) => boolean, what: string): Promise<A> => {
  const deadline = Date.now() + 60_000
  for (;;) {
    const a = await probe()
    if (until(a)) return a
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(a).slice(0, 400)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const tempData = () => mkdtempSync(join(tmpdir(), "tick-server-"))

describe("velox-tick-server over HTTP", () => {
  it("serves /health, /ticks newest first, /ohlc oldest first, clear errors, /ready and promtool-clean /metrics; SIGTERM drains and reconciles", async () => {
    const data = tempData()
    const server = await start(["--data", data, "--rate", "20000", "--timeframes", "1s,1m", "--stats-seconds", "1"])
    try {
      // Memory, stated at start: symbols × depth × record size.
      assert.match(server.output(), /^tick store: 8 symbols × 50,000 ticks × 80 bytes = 30\.5 MiB$/m)
      assert.match(server.output(), /^bar store: 8 symbols × 2 timeframes × 1,000 bars × 64 bytes = [\d.]+ MiB$/m)
      const health = await get(`${server.url}/health`)
      assert.deepStrictEqual([health.status, health.text], [200, "OK"])
      await waitFor(() => getJson(`${server.url}/ready`), (r) => r.status === 200, "/ready 200")

      const ticks = await waitFor(() => getJson(`${server.url}/ticks?symbol=EURUSD&limit=10`), (r) => r.body.length === 10, "10 EURUSD ticks")
      assert.include(ticks.type, "application/json")
      assert.strictEqual(ticks.cache, "no-store")
      for (let i = 0; i < 10; i++) {
        const t = ticks.body[i]
        assert.strictEqual(t.symbol, "EURUSD")
        assert.isTrue(t.bid > 1 && t.bid < 1.2 && t.ask > t.bid, JSON.stringify(t))
        if (i > 0) assert.isBelow(t.seq, ticks.body[i - 1].seq, "newest first")
      }
      assert.isAtMost((await getJson(`${server.url}/ticks?symbol=AAPL`)).body.length, 100, "100 by default")

      const bars = await waitFor(() => getJson(`${server.url}/ohlc?symbol=EURUSD&timeframe=1s&limit=5`), (r) => r.body.length >= 3, "three 1 s bars")
      bars.body.forEach((b: any, i: number) => {
        assert.strictEqual(b.timeframe, "1s")
        assert.isTrue(b.low <= b.open && b.open <= b.high && b.low <= b.close && b.close <= b.high && b.ticks > 0, JSON.stringify(b))
        if (i > 0) assert.isAbove(Date.parse(b.time), Date.parse(bars.body[i - 1].time), "oldest first")
      })

      const errors: Array<[string, number, string]> = [
        ["/ticks?symbol=NOPE", 404, "unknown symbol: NOPE"],
        ["/ticks", 400, "symbol is required"],
        ["/ticks?symbol=EURUSD&limit=0", 400, "limit must be an integer in 1..50000: limit=0"],
        ["/ticks?symbol=EURUSD&limit=abc", 400, "limit must be an integer in 1..50000: limit=abc"],
        ["/ticks?symbol=EURUSD&limit=50001", 400, "limit must be an integer in 1..50000: limit=50001"],
        ["/ohlc?symbol=EURUSD&timeframe=5m", 400, "timeframe must be one of 1s, 1m: timeframe=5m"],
        ["/ohlc?symbol=EURUSD&timeframe=soon", 400, "timeframe must be one of 1s, 1m"],
        ["/ohlc?symbol=NOPE&timeframe=1m", 404, "unknown symbol: NOPE"]
      ]
      for (const [path, status, message] of errors) {
        const r = await getJson(`${server.url}${path}`)
        assert.strictEqual(r.status, status, path)
        assert.deepStrictEqual([r.type, r.cache], ["application/json; charset=utf-8", "no-store"], path)
        assert.include(r.body.error, message, path)
      }

      const metrics = await get(`${server.url}/metrics`)
      const check = spawnSync(toolPath("promtool"), ["check", "metrics"], { input: metrics.text, encoding: "utf8" })
      assert.strictEqual(check.status, 0, `promtool: ${check.stdout}${check.stderr}`)
      assert.match(metrics.text, /^velox_tick_quotes_received_total [1-9]\d*$/m)
      assert.match(metrics.text, /^velox_tick_feed_stale 0$/m)
      assert.match(metrics.text, /^velox_stage_records_in_total\{stage="throttle"\} \d+$/m)
      const stats = await getJson(`${server.url}/stats`)
      assert.isAbove(stats.body.tickServer.throttle.received, 0)
      assert.include((await get(`${server.url}/dashboard`)).text, `location.host + "/ops/ws"`)
      await waitFor(() => server.output(), (o) => /Stats: received=\d+, stored=\d+, throttled=\d+ \(\d+\.\d%\)/.test(o), "a Stats line")
    } finally {
      const { code, output } = await server.stop()
      try {
        assert.strictEqual(code, 0, output.slice(-3000))
        assert.include(output, "ledger: balanced")
        assert.notInclude(output, "NO ", output.slice(-3000))
        // On disk, after the drain: every tick stored and every bar closed, in their journals.
        const stored = /ok {2}ticks stored = ticks journaled \(and fsynced\): ([\d,]+) = \1/.exec(output)
        const closed = /ok {2}bars closed = bars journaled \(and fsynced\): ([\d,]+) = \1/.exec(output)
        assert.isNotNull(stored, output.slice(-3000))
        assert.isNotNull(closed, output.slice(-3000))
        const ticks = NodeJournalUnsafe.info(join(data, "ticks"), { verify: true })
        const bars = NodeJournalUnsafe.info(join(data, "bars"), { verify: true })
        assert.strictEqual(ticks.records, Number(stored![1]!.replaceAll(",", "")))
        assert.strictEqual(bars.records, Number(closed![1]!.replaceAll(",", "")))
        assert.isAbove(bars.records, 0)
        assert.deepStrictEqual([ticks.layoutSignature.split("{")[0], bars.layoutSignature.split("{")[0]], ["Quote", "Bar"])
        assert.deepStrictEqual([ticks.trailingBytes, bars.trailingBytes], [0, 0], "journals closed clean")
      } finally {
        rmSync(data, { recursive: true, force: true })
      }
    }
  })

  it("restarted on its data, it keeps the symbols' ids and rebuilds the bars from the persisted ticks", async () => {
    const data = tempData()
    try {
      const first = await start(["--data", data, "--rate", "20000", "--timeframes", "1s", "--symbols", "4"])
      await waitFor(() => getJson(`${first.url}/ohlc?symbol=AAPL&timeframe=1s&limit=100`), (r) => r.body.length >= 2, "two AAPL bars")
      const stopped = await first.stop()
      assert.strictEqual(stopped.code, 0, stopped.output.slice(-3000))
      const before = JSON.parse(readFileSync(join(data, "symbols.json"), "utf8"))
      assert.deepStrictEqual(before, ["EURUSD", "AAPL", "GBPUSD", "MSFT"])
      // Fewer instruments now: the saved names keep their ids, and the bars of the first run are back.
      const second = await start(["--data", data, "--rate", "1000", "--timeframes", "1s", "--symbols", "2"])
      try {
        // A run that stores nothing fails its reconciliation: let this one work before it stops.
        await waitFor(() => getJson(`${second.url}/ticks?symbol=EURUSD&limit=1`), (r) => r.body.length === 1, "a tick in the second run")
        assert.match(second.output(), /bars: rebuilt [1-9][\d,]* bars from [1-9][\d,]* persisted ticks/)
        const bars = (await getJson(`${second.url}/ohlc?symbol=MSFT&timeframe=1s&limit=100`)).body
        assert.isAbove(bars.length, 0, "MSFT's bars, rebuilt: the second run does not quote it")
        assert.isTrue(bars.every((b: any) => b.symbol === "MSFT"))
      } finally {
        const { code, output } = await second.stop()
        assert.strictEqual(code, 0, output.slice(-3000))
      }
    } finally {
      rmSync(data, { recursive: true, force: true })
    }
  })
})

describe("velox-tick-server's feed health and limits", () => {
  it("a feed that goes quiet makes /ready 503 'feed stale' with how long, and /metrics say so", async () => {
    const data = tempData()
    // One quote every 20 s on average, a 300 ms feed gap: after the first quote the feed is stale most of the time.
    const server = await start(["--data", data, "--no-persist", "--rate", "0.05", "--feed-gap-ms", "300"])
    try {
      const ready = await waitFor(
        () => getJson(`${server.url}/ready`),
        (r) => r.status === 503 && r.body.reasons.some((x: string) => x.startsWith("feed stale: no quote for")),
        "/ready 503 feed stale after a quote"
      )
      assert.match(ready.body.reasons.find((x: string) => x.startsWith("feed stale"))!, /^feed stale: no quote for [\d.]+ s \(threshold 0\.3 s\)$/)
      // The gap is counted by the stage's timer (every 250 ms), which may not have run yet.
      await waitFor(
        () => get(`${server.url}/metrics`),
        (m) => /^velox_tick_feed_stale 1$/m.test(m.text) && /^velox_tick_feed_gaps_total [1-9]\d*$/m.test(m.text),
        "velox_tick_feed_stale 1 and a feed gap counted"
      )
    } finally {
      const { code, output } = await server.stop()
      rmSync(data, { recursive: true, force: true })
      assert.strictEqual(code, 0, output.slice(-3000))
    }
  })

  it("stores larger than their limit are refused at start: one line, exit code 1", () => {
    const run = spawnSync(command, ["--port", "0", "--no-persist", "--symbols", "1000", "--depth", "1000000"], { encoding: "utf8", timeout: 120_000 })
    assert.strictEqual(run.status, 1, `${run.stdout}${run.stderr}`)
    assert.strictEqual(
      run.stderr.trim(),
      "velox-tick-server: a tick store of 1000 symbols × 1000000 ticks × 80 bytes takes 76296.4 MiB, more than maxBytes=1024.0 MiB: " +
        "keep fewer ticks per symbol, or raise maxBytes (see --symbols, --max-symbols, --depth, --bars)"
    )
    assert.strictEqual(run.stdout, "")
  })
})

/** A WebSocket client that keeps every frame; `events` flattens the event frames. */
const connect = (url: string) =>
  new Promise<{ ws: WebSocket; frames: Array<any> }>((resolve, reject) => {
    const ws = new WebSocket(url)
    const frames: Array<any> = []
    ws.on("message", (data) => frames.push(JSON.parse(String(data))))
    ws.once("open", () => resolve({ ws, frames }))
    ws.once("error", reject)
  })
const events = (frames: ReadonlyArray<any>) => frames.filter((f) => f.type === "events").flatMap((f) => f.events as Array<any>)
const idOf = (e: any) => (e.type === "tick" ? `t ${e.symbol} ${e.seq}` : `b ${e.symbol} ${e.timeframe} ${e.startNs} ${e.partial}`)
const SYMBOLS = ["EURUSD", "AAPL", "GBPUSD", "MSFT", "USDJPY", "NVDA", "AUDUSD", "TSLA"]

describe("velox-tick-server over WebSocket", () => {
  it("fast clients get every tick and bar in order while a client that stops reading drops its oldest, told exactly how many; the pipeline never waits", async () => {
    const data = tempData()
    // Queues of 20,000 events (about four seconds of ticks): a fast client, even on a machine so busy
    // that this process is starved for seconds, does not fill one.
    const server = await start(["--data", data, "--rate", "10000", "--timeframes", "1s", "--ws-queue", "20000", "--no-persist"])
    const wsUrl = `${server.url.replace("http", "ws")}/ws`
    try {
      await waitFor(() => getJson(`${server.url}/ready`), (r) => r.status === 200, "/ready 200")
      // Fast clients first, so that they see everything the slow one is sent.
      const fast = await Promise.all([connect(wsUrl), connect(wsUrl), connect(wsUrl)])
      for (const c of fast) c.ws.send(JSON.stringify({ type: "subscribe", symbols: SYMBOLS }))
      await waitFor(() => fast.every((c) => c.frames.some((f) => f.type === "subscribed")), (ok) => ok, "fast clients subscribed")

      // Bad messages get error frames, and the client stays subscribed.
      const probe = fast[0]!
      probe.ws.send("{not json")
      probe.ws.send(JSON.stringify({ type: "subscribe" }))
      probe.ws.send(JSON.stringify({ type: "subscribe", symbols: ["EURUSD", "NOPE"], timeframes: ["7m"] }))
      const errorFrames = await waitFor(() => probe.frames.filter((f) => f.type === "error"), (e) => e.length === 3, "three error frames")
      assert.include(errorFrames[0].message, "not JSON")
      assert.include(errorFrames[1].message, `expected {"type":"subscribe"`)
      assert.include(errorFrames[2].message, "unknown symbols: NOPE; unknown timeframes: 7m (kept: 1s)")

      const slow = await connect(wsUrl)
      slow.ws.send(JSON.stringify({ type: "subscribe", symbols: SYMBOLS }))
      // It gets some events, then stops reading: its socket's buffers fill, then its queue.
      await waitFor(() => events(slow.frames).length, (n) => n > 0, "the slow client's first events")
      ;(slow.ws as unknown as { _socket: import("node:net").Socket })._socket.pause()
      const received = async () => (await getJson(`${server.url}/stats`)).body.tickServer
      const before = await received()
      const during = await waitFor(received, (s) => s.ws.dropped > 1_000, "the slow client's queue to drop")
      // Meanwhile the pipeline went on, and the fast clients were served.
      assert.isAbove(during.throttle.received, before.throttle.received)
      const fastBefore = events(fast[1]!.frames).length
      await waitFor(() => events(fast[1]!.frames).length, (n) => n > fastBefore + 1_000, "fast clients served while the slow one stalls")

      ;(slow.ws as unknown as { _socket: import("node:net").Socket })._socket.resume()
      // A dropped frame comes before the events that follow the loss: wait for those too.
      await waitFor(
        () => {
          const at = slow.frames.findIndex((f) => f.type === "dropped")
          return { dropped: at >= 0, eventsAfter: at >= 0 && slow.frames.slice(at).some((f) => f.type === "events") }
        },
        (s) => s.dropped && s.eventsAfter,
        "a dropped frame and events after it"
      )
      slow.ws.close()
      // Every event the slow client got reached the fast ones too (they are served in the same polls).
      const lastSlow = events(slow.frames).at(-1)
      if (lastSlow !== undefined) {
        // (Each fast client: whether it got that event, and the drops reported to it, which would explain why not.)
        await waitFor(
          () => fast.map((c) => ({ caught: events(c.frames).some((e) => idOf(e) === idOf(lastSlow)), dropped: c.frames.filter((f) => f.type === "dropped").length })),
          (clients) => clients.every((c) => c.caught),
          "the fast clients to catch up"
        )
      }
      for (const c of fast) c.ws.close()

      // Fast clients: no drop, every symbol's ticks in order, bars too.
      for (const c of fast) {
        assert.isFalse(c.frames.some((f) => f.type === "dropped"), "a fast client drops nothing")
        const seen = events(c.frames)
        const lastSeq = new Map<string, number>()
        for (const e of seen.filter((x) => x.type === "tick")) {
          assert.isAbove(e.seq, lastSeq.get(e.symbol) ?? 0, `${e.symbol} ticks in order`)
          lastSeq.set(e.symbol, e.seq)
        }
        assert.deepStrictEqual([...lastSeq.keys()].sort(), [...SYMBOLS].sort())
        assert.isTrue(seen.some((e) => e.type === "bar" && e.timeframe === "1s"), "bar closes")
      }
      // The slow client: what it got is what a fast client got, in the same order, less exactly what
      // the dropped frames between them said.
      const reference = events(fast[1]!.frames).map(idOf)
      const at = new Map(reference.map((id, i) => [id, i]))
      let previous = -1
      let droppedSince = 0
      let checkedGaps = 0
      let totalReported = 0
      for (const f of slow.frames) {
        if (f.type === "dropped") {
          droppedSince += f.dropped
          totalReported = f.total
          continue
        }
        if (f.type !== "events") continue
        for (const e of f.events) {
          const i = at.get(idOf(e))
          assert.isDefined(i, `the slow client got ${idOf(e)}, which the fast one did not`)
          if (previous >= 0) {
            assert.strictEqual(i! - previous - 1, droppedSince, `events missing between two the slow client got = drops reported between them`)
            if (droppedSince > 0) checkedGaps++
          }
          previous = i!
          droppedSince = 0
        }
      }
      assert.isAbove(checkedGaps, 0, "at least one loss was checked against its report")
      assert.isAbove(totalReported, 1_000)
    } finally {
      const { code, output } = await server.stop()
      rmSync(data, { recursive: true, force: true })
      assert.strictEqual(code, 0, output.slice(-3000))
    }
  })
})
