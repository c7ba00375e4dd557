import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { ConfigProvider, Duration, Effect, Exit, Fiber, Layer, Schedule, Scope } from "effect"
import { TestConsole } from "effect/testing"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { Edge, Pipeline } from "@velox/core"
import { checkOf, Counter, CountingSink, Filter, Sequenced } from "@velox/core/stages"
import { NodeLogger, NodePipelineServer, NodeStageHost } from "@velox/node"
import { toolPath } from "../../scripts/tools.ts"
import { CorruptEvery, Slow, ThrowAt } from "../fixtures/faultyStages.ts"
import { KeyTally } from "../fixtures/lifecycleStages.ts"


/** A server on a free port of 127.0.0.1, stats frames every 100 ms. */
const serverConfig = NodePipelineServer.layerConfig({ port: 0, wsInterval: Duration.millis(100) })

const get = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const getJson = (url: string) => get(url).pipe(Effect.map((r) => ({ ...r, body: JSON.parse(r.text) as any })))

/** Metric samples by `name{labels}`, as printed. */
const parseMetrics = (text: string): Map<string, number> => {
  const samples = new Map<string, number>()
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const at = line.lastIndexOf(" ")
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

const waitUntil = <A>(probe: Effect.Effect<A>, until: (a: A) => boolean) =>
  probe.pipe(Effect.repeat({ until, schedule: Schedule.spaced("20 millis") }), Effect.timeout("20 seconds"))

/** Opens a WebSocket and collects its frames; `closed` resolves with the close code. */
const openSocket = (url: string) =>
  Effect.promise(() =>
    new Promise<{ ws: WebSocket; frames: Array<any>; closed: Promise<number> }>((resolve, reject) => {
      const ws = new WebSocket(url)
      const frames: Array<any> = []
      const closed = new Promise<number>((done) => ws.addEventListener("close", (e) => done(e.code)))
      ws.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data))))
      ws.addEventListener("open", () => resolve({ ws, frames, closed }))
      ws.addEventListener("error", () => reject(new Error(`could not open ${url}`)))
    })
  )

const framesOf = (frames: Array<any>, type: string) => frames.filter((f) => f.type === type)

describe("NodePipelineServer", () => {
  it.live("serves health, readiness, stats and the dashboard; an unknown path is 404, another method 405, and it keeps serving", () =>
    Effect.gen(function*() {
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity }).via(Filter, { dropEvery: 7 }, { placement: "worker" }).to(CountingSink, {})
      )
      const server = yield* NodePipelineServer.make(handle)
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
      yield* waitUntil(getJson(`${server.url}/ready`), (r) => r.status === 200)

      const health = yield* getJson(`${server.url}/health`)
      assert.strictEqual(health.status, 200)
      assert.strictEqual(health.body.alive, true)
      assert.strictEqual(health.body.status, "running")
      const ready = yield* getJson(`${server.url}/ready`)
      assert.deepStrictEqual(ready.body, { ready: true, status: "running", reasons: [] })

      const stats = yield* getJson(`${server.url}/stats`)
      assert.strictEqual(stats.status, 200)
      assert.include(stats.headers.get("content-type"), "application/json")
      assert.deepStrictEqual(stats.body.stages.map((s: any) => s.stage), ["counter", "filter", "counting-sink"])
      assert.deepStrictEqual(stats.body.rings.map((r: any) => r.name), handle.stats().rings.map((r) => r.name))
      assert.deepStrictEqual(Object.keys(stats.body.errors), ["counter", "filter", "counting-sink"])
      assert.isAbove(stats.body.process.residentBytes, 0)
      // Live counters: a later stats() has moved past what /stats said.
      yield* waitUntil(Effect.sync(() => handle.stats().stages[2]!.in), (n) => n > stats.body.stages[2].in)

      const page = yield* get(`${server.url}/dashboard`)
      assert.strictEqual(page.status, 200)
      assert.include(page.headers.get("content-type"), "text/html")
      assert.include(page.text, "new WebSocket(")
      // Self-contained: nothing is loaded from anywhere else.
      assert.notMatch(page.text, /(src|href)="(https?:)?\/\//)

      const missing = yield* get(`${server.url}/nope`)
      assert.strictEqual(missing.status, 404)
      assert.include(missing.text, "/nope")
      for (const [method, path] of [["POST", "/metrics"], ["DELETE", "/ready"], ["PUT", "/stats"]] as const) {
        const wrong = yield* get(`${server.url}${path}`, { method })
        assert.strictEqual(wrong.status, 405, `${method} ${path}`)
        assert.strictEqual(wrong.headers.get("allow"), "GET, HEAD")
      }
      const head = yield* get(`${server.url}/metrics`, { method: "HEAD" })
      assert.strictEqual(head.status, 200)
      assert.strictEqual(head.text, "")
      const notUpgraded = yield* get(`${server.url}/ws`)
      assert.strictEqual(notUpgraded.status, 426)
      const badRate = yield* openSocket(`${server.url.replace("http:", "ws:")}/ws?intervalMs=1`).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(badRate), "a stream rate below 20 ms is refused")
      assert.strictEqual((yield* get(`${server.url}/health`)).status, 200)
    }).pipe(Effect.scoped, Effect.provide([NodeStageHost.layer, serverConfig])))

  it.live("/metrics passes promtool check metrics, and its values are the pipeline's stats()", () =>
    Effect.gen(function*() {
      const count = 50_000
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count })
          .via(CorruptEvery, { every: 1_000 })
          .via(Filter, { dropEvery: 7 }, { placement: "worker" })
          .via(KeyTally, {})
          .to(CountingSink, {})
      )
      yield* handle.done
      // Dead letters are decoded by the control plane every 20 ms: wait for all 50.
      yield* waitUntil(Effect.sync(() => handle.errorSummary()), (e) => e[0]?.count === count / 1_000)
      const server = yield* NodePipelineServer.make(handle)
      const response = yield* get(`${server.url}/metrics`)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")

      const promtool = spawnSync(toolPath("promtool"), ["check", "metrics"], { input: response.text, encoding: "utf8" })
      assert.isUndefined(promtool.error, `promtool not runnable: ${promtool.error?.message}`)
      assert.strictEqual(promtool.status, 0, `promtool check metrics:\n${promtool.stdout}${promtool.stderr}`)
      assert.strictEqual(promtool.stdout + promtool.stderr, "", "promtool reported lint problems")

      const m = parseMetrics(response.text)
      const snapshot = handle.stats()
      for (const s of snapshot.stages) {
        const l = `stage="${s.stage}"`
        assert.strictEqual(m.get(`velox_stage_records_in_total{${l}}`), s.in, s.stage)
        assert.strictEqual(m.get(`velox_stage_records_emitted_total{${l}}`), s.emitted, s.stage)
        assert.strictEqual(m.get(`velox_stage_records_written_total{${l}}`), s.written, s.stage)
        assert.strictEqual(m.get(`velox_stage_records_retained{${l}}`), s.retained, s.stage)
        assert.strictEqual(m.get(`velox_stage_batches_total{${l}}`), s.batches, s.stage)
        assert.strictEqual(m.get(`velox_stage_parks_total{${l}}`), s.parks, s.stage)
        assert.strictEqual(m.get(`velox_stage_missed_wakes_total{${l}}`), s.missedWakes, s.stage)
        assert.strictEqual(m.get(`velox_stage_restarts_total{${l}}`), s.restarts, s.stage)
        assert.strictEqual(m.get(`velox_stage_crashes_total{${l}}`), s.crashes, s.stage)
        assert.strictEqual(m.get(`velox_stage_state{${l},state="${s.state}"}`), 1, s.stage)
        s.dropReasons.forEach((reason, i) =>
          assert.strictEqual(m.get(`velox_stage_records_dropped_total{${l},reason="${reason}"}`), s.droppedByReason[i])
        )
        s.errors.forEach((error, i) =>
          assert.strictEqual(m.get(`velox_stage_records_dead_lettered_total{${l},error="${error}"}`), s.deadLetteredByCode[i])
        )
        // A stage's own counters and gauges, by name; state lost for a stage that keeps state.
        for (const [name, value] of Object.entries(s.counters)) assert.strictEqual(m.get(`velox_stage_counters_total{${l},name="${name}"}`), value)
        for (const [name, value] of Object.entries(s.gauges)) assert.strictEqual(m.get(`velox_stage_gauges{${l},name="${name}"}`), value)
        assert.strictEqual(m.get(`velox_stage_state_lost_total{${l}}`), s.keepsState ? s.stateLost : undefined, s.stage)
        // The latency histogram: cumulative log2 buckets in seconds, +Inf = _count = every record timed.
        const total = s.latencyLog2.reduce((a, b) => a + b, 0)
        assert.strictEqual(m.get(`velox_stage_latency_seconds_count{${l}}`), total)
        assert.strictEqual(m.get(`velox_stage_latency_seconds_bucket{${l},le="+Inf"}`), total)
        assert.strictEqual(m.get(`velox_stage_latency_seconds_bucket{${l},le="0.000001024"}`), s.latencyLog2.slice(0, 10).reduce((a, b) => a + b, 0))
      }
      assert.strictEqual(m.get(`velox_stage_records_dropped_total{stage="filter",reason="filtered"}`), Math.floor(count / 7) - Math.floor(count / 7_000))
      assert.strictEqual(m.get(`velox_stage_records_dead_lettered_total{stage="filter",error="CorruptRecord"}`), count / 1_000)
      assert.isTrue(m.has(`velox_stage_error_last_seen_timestamp_seconds{stage="filter",error="CorruptRecord"}`))
      const tallied = count - Math.floor(count / 7) + Math.floor(count / 7_000) - count / 1_000
      assert.strictEqual(
        m.get(`velox_stage_counters_total{stage="key-tally",name="even"}`)! + m.get(`velox_stage_counters_total{stage="key-tally",name="odd"}`)!,
        tallied
      )
      assert.strictEqual(m.get(`velox_stage_gauges{stage="key-tally",name="instances"}`), 1)
      assert.strictEqual(m.get(`velox_stage_state_lost_total{stage="counter"}`), 0)
      for (const r of snapshot.rings) {
        const l = `ring="${r.name}",from="${r.from}",to="${r.to}"`
        assert.strictEqual(m.get(`velox_ring_fill_records{${l}}`), r.fill)
        assert.strictEqual(m.get(`velox_ring_capacity_records{${l}}`), r.capacity)
      }
      assert.strictEqual(m.get("velox_pipeline_ready"), 0) // the run has ended
      assert.strictEqual(m.get(`velox_pipeline_status{status="running"}`), 0)
      assert.isAbove(m.get("process_cpu_seconds_total")!, 0)
      assert.isAbove(m.get("process_resident_memory_bytes")!, 0)
      assert.isTrue(m.has("nodejs_eventloop_delay_p99_seconds"))

      // /stats is the same snapshot (the run ended: nothing moves), plus the distinct-error table.
      const stats = yield* getJson(`${server.url}/stats`)
      assert.deepStrictEqual(stats.body.stages, JSON.parse(JSON.stringify(handle.stats().stages)))
      assert.deepStrictEqual(stats.body.rings, handle.stats().rings)
      const [row, ...others] = stats.body.errors["filter"]
      assert.strictEqual(others.length, 0)
      assert.strictEqual(row.error, "CorruptRecord")
      assert.strictEqual(row.count, count / 1_000)
      assert.isAtMost(row.firstSeenMs, row.lastSeenMs)
      assert.strictEqual(row.sample.record.seq % 1_000, 0)
      assert.strictEqual(row.sample.record.check, -1)
      assert.deepStrictEqual(stats.body.errors["counting-sink"], [])
    }).pipe(Effect.scoped, Effect.provide([NodeStageHost.layer, serverConfig])))

  it.live("/metrics shows edges as stages (a source edge's drops by reason, exactly as stats() and the ledger count them), its queue as a ring, and a dropping branch's drops per ring", () =>
    Effect.gen(function*() {
      const feed = Edge.source(Sequenced, { name: "feed", overflow: "dropOldest", capacity: 100 })
      const ws = Edge.sinkEffect({ name: "ws", input: Sequenced, onBatch: () => Effect.sleep("2 millis") })
      const handle = yield* Pipeline.run(
        Pipeline.from(feed).broadcast((b) => [b.to(CountingSink, {}, { placement: "worker" }), b.to(ws, { overflow: "dropNewest" })]),
        { ringCapacity: 256 }
      )
      const writer = handle.writer(feed)
      // Offered in one go: the edge's loop cannot run in between, so all but the newest 100 are dropped.
      for (let seq = 0; seq < 10_000; seq++) writer.offerUnsafe({ seq, key: 0, flags: 0, value: seq, check: checkOf(seq) })
      for (let seq = 10_000; seq < 60_000; seq += 50) {
        for (let i = seq; i < seq + 50; i++) writer.offerUnsafe({ seq: i, key: 0, flags: 0, value: i, check: checkOf(i) })
        yield* Effect.yieldNow
      }
      yield* writer.end
      yield* handle.done
      const server = yield* NodePipelineServer.make(handle)
      const response = yield* get(`${server.url}/metrics`)
      const promtool = spawnSync(toolPath("promtool"), ["check", "metrics"], { input: response.text, encoding: "utf8" })
      assert.strictEqual(promtool.status, 0, `promtool check metrics:\n${promtool.stdout}${promtool.stderr}`)
      const m = parseMetrics(response.text)
      const snapshot = handle.stats()
      const edge = snapshot.stages.find((s) => s.stage === "feed")!
      assert.isAtLeast(edge.droppedByReason[1]!, 9_900)
      // Exact: every record offered was passed on or dropped, and the ledger, stats() and /metrics agree.
      assert.strictEqual(edge.droppedByReason[1]! + edge.emitted, 60_000)
      const ledger = handle.ledger()
      assert.deepStrictEqual(ledger.stages.find((s) => s.stage === "feed")!.dropped, { DropOldest: edge.droppedByReason[1]! })
      assert.strictEqual(ledger.links.find((l) => l.to === "ws")!.dropped, snapshot.rings.find((r) => r.name === "feed→ws")!.dropped)
      assert.strictEqual(m.get(`velox_stage_records_dropped_total{stage="feed",reason="DropOldest"}`), edge.droppedByReason[1])
      assert.strictEqual(m.get(`velox_stage_records_dropped_total{stage="feed",reason="DropNewest"}`), 0)
      assert.strictEqual(m.get(`velox_stage_records_in_total{stage="feed"}`), 60_000)
      assert.strictEqual(m.get(`velox_ring_fill_records{ring="feed queue",from="effect",to="feed"}`), 0)
      assert.strictEqual(m.get(`velox_ring_capacity_records{ring="feed queue",from="effect",to="feed"}`), 100)
      const branch = snapshot.rings.find((r) => r.name === "feed→ws")!
      assert.strictEqual(m.get(`velox_ring_records_dropped_total{ring="feed→ws",from="feed",to="ws"}`), branch.dropped)
      assert.strictEqual(snapshot.stages.find((s) => s.stage === "ws")!.emitted + branch.dropped, edge.emitted)
      assert.isTrue(handle.ledger().balanced)
    }).pipe(Effect.scoped, Effect.provide([NodeStageHost.layer, serverConfig])))

  it.live("/ws streams stats frames at the asked rate; an oversized frame closes only its own socket, with 1009", () =>
    Effect.gen(function*() {
      const handle = yield* Pipeline.run(Pipeline.from(Counter, { count: Infinity }).to(CountingSink, {}))
      const server = yield* NodePipelineServer.make(handle)
      const wsUrl = server.url.replace("http:", "ws:") + "/ws"
      const watcher = yield* openSocket(`${wsUrl}?intervalMs=50`)
      // Frames keep coming, and the counts in them move (once the worker has started).
      yield* waitUntil(
        Effect.sync(() => framesOf(watcher.frames, "stats")),
        (f) => f.length >= 5 && f.at(-1).stages[1].in > f[0].stages[1].in
      )
      const [hello] = watcher.frames
      assert.strictEqual(hello.type, "hello")
      assert.strictEqual(hello.intervalMs, 50)
      assert.deepStrictEqual(hello.stages, ["counter", "counting-sink"])
      assert.isArray(hello.history)
      const stats = framesOf(watcher.frames, "stats")
      for (let i = 1; i < stats.length; i++) {
        assert.isAbove(stats[i].atMs, stats[i - 1].atMs)
        assert.isAtLeast(stats[i].stages[1].in, stats[i - 1].stages[1].in)
      }
      assert.deepStrictEqual(Object.keys(stats[0]).sort(), ["atMs", "errors", "health", "process", "rings", "stages", "type"])

      // A client may change its rate, and is told when it sends something else.
      watcher.ws.send(JSON.stringify({ intervalMs: 200 }))
      watcher.ws.send("hello?")
      yield* waitUntil(Effect.sync(() => framesOf(watcher.frames, "error").length), (n) => n === 1)

      const intruder = yield* openSocket(wsUrl)
      intruder.ws.send("x".repeat(64 * 1024))
      assert.strictEqual(yield* Effect.promise(() => intruder.closed), 1009)
      // The watcher still gets frames; the server still answers.
      const before = framesOf(watcher.frames, "stats").length
      yield* waitUntil(Effect.sync(() => framesOf(watcher.frames, "stats").length), (n) => n >= before + 2)
      assert.strictEqual((yield* get(`${server.url}/health`)).status, 200)
      watcher.ws.close(1000)
      assert.strictEqual(yield* Effect.promise(() => watcher.closed), 1000)
    }).pipe(Effect.scoped, Effect.provide([NodeStageHost.layer, serverConfig])))

  it.live("/ready is 503 before a pipeline is attached, 200 while it runs, 503 \"draining\" during its drain and after it ended", () =>
    Effect.gen(function*() {
      const server = yield* NodePipelineServer.make()
      const none = yield* getJson(`${server.url}/ready`)
      assert.strictEqual(none.status, 503)
      assert.deepStrictEqual(none.body.reasons, ["no pipeline attached yet"])

      const pipelineScope = yield* Scope.make()
      const handle = yield* Pipeline.run(
        // 1 ms a record behind a ring of 1024: a backlog that takes a while to drain.
        Pipeline.from(Counter, { count: Infinity }).via(Slow, { spinNs: 1_000_000 }, { placement: "worker" }).to(CountingSink, {}),
        { ringCapacity: 1024 }
      ).pipe(Scope.provide(pipelineScope))
      yield* server.attach(handle)
      const running = yield* waitUntil(getJson(`${server.url}/ready`), (r) => r.status === 200)
      assert.strictEqual(running.body.status, "running")
      yield* waitUntil(Effect.sync(() => handle.stats().rings[0]!.fill), (fill) => fill >= 400)

      const closing = yield* Effect.forkChild(Scope.close(pipelineScope, Exit.void))
      const draining = yield* waitUntil(getJson(`${server.url}/ready`), (r) => r.body.status !== "running")
      assert.strictEqual(draining.status, 503)
      assert.strictEqual(draining.body.status, "draining")
      assert.include(draining.body.reasons, "draining")
      const metrics = parseMetrics((yield* get(`${server.url}/metrics`)).text)
      assert.strictEqual(metrics.get(`velox_pipeline_status{status="draining"}`), 1)
      assert.strictEqual(metrics.get("velox_pipeline_ready"), 0)

      yield* Fiber.join(closing)
      const ended = yield* getJson(`${server.url}/ready`)
      assert.strictEqual(ended.status, 503)
      assert.strictEqual(ended.body.status, "done")
      assert.include(ended.body.reasons, "the run has ended")
    }).pipe(Effect.scoped, Effect.provide([NodeStageHost.layer, serverConfig])))

  it.live("/ready is 503 naming the stage when a stage has failed", () =>
    Effect.gen(function*() {
      const counter = new SharedArrayBuffer(4)
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity })
          .via(ThrowAt, { at: 10, times: 1, counter }, { placement: "worker", supervision: Pipeline.Supervision.escalate })
          .to(CountingSink, {})
      )
      const server = yield* NodePipelineServer.make(handle)
      yield* Effect.flip(handle.done)
      const ready = yield* getJson(`${server.url}/ready`)
      assert.strictEqual(ready.status, 503)
      assert.strictEqual(ready.body.status, "failed")
      assert.match(ready.body.reasons.join("; "), /stage throw-at failed: .*injected fault/)
      const metrics = parseMetrics((yield* get(`${server.url}/metrics`)).text)
      assert.strictEqual(metrics.get(`velox_pipeline_status{status="failed"}`), 1)
      assert.strictEqual(metrics.get(`velox_stage_crashes_total{stage="throw-at"}`), 1)
      assert.strictEqual(metrics.get(`velox_stage_state{stage="throw-at",state="Stopped"}`), 1)
    }).pipe(Effect.scoped, Effect.provide([NodeStageHost.layer, serverConfig])))

  it.live("host, port and stream rate come from VELOX_HTTP_HOST, VELOX_HTTP_PORT and VELOX_WS_INTERVAL; bad values are refused naming the key", () =>
    Effect.gen(function*() {
      const withEnv = (env: Record<string, unknown>) => ConfigProvider.layer(ConfigProvider.fromUnknown(env))
      const server = yield* NodePipelineServer.make().pipe(
        Effect.provide(NodePipelineServer.layerConfig().pipe(Layer.provide(withEnv({ VELOX_HTTP_PORT: 0, VELOX_WS_INTERVAL: "250 millis" }))))
      )
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/) // the default host
      assert.notStrictEqual(server.port, 0)
      const socket = yield* openSocket(server.url.replace("http:", "ws:") + "/ws")
      yield* waitUntil(Effect.sync(() => socket.frames.length), (n) => n >= 1)
      assert.strictEqual(socket.frames[0].intervalMs, 250)
      socket.ws.close()

      const explicit = yield* NodePipelineServer.make().pipe(
        Effect.provide(NodePipelineServer.layerConfig().pipe(Layer.provide(withEnv({ VELOX_HTTP_HOST: "127.0.0.1", VELOX_HTTP_PORT: 0 }))))
      )
      assert.strictEqual((yield* get(`${explicit.url}/health`)).status, 200)

      const tooFast = yield* NodePipelineServer.layerConfig().pipe(
        Layer.provide(withEnv({ VELOX_WS_INTERVAL: "1 millis" })),
        Layer.build,
        Effect.flip
      )
      assert.strictEqual(tooFast._tag, "ServerConfigError")
      assert.include(tooFast.message, "VELOX_WS_INTERVAL=1 millis")
      const badPort = yield* NodePipelineServer.layerConfig().pipe(Layer.provide(withEnv({ VELOX_HTTP_PORT: 70_000 })), Layer.build, Effect.flip)
      assert.include(badPort.message, "VELOX_HTTP_PORT=70000")
      const notANumber = yield* NodePipelineServer.layerConfig().pipe(Layer.provide(withEnv({ VELOX_HTTP_PORT: "http" })), Layer.build, Effect.flip)
      assert.strictEqual(notANumber._tag, "ConfigError")
      assert.include(notANumber.message, "VELOX_HTTP_PORT")
    }).pipe(Effect.scoped))

  it.live("a port already in use fails with a ServerListenError naming the address and the reason", () =>
    Effect.gen(function*() {
      const first = yield* NodePipelineServer.make()
      const second = yield* NodePipelineServer.make().pipe(
        Effect.provide(NodePipelineServer.layerConfig({ port: first.port })),
        Effect.flip
      )
      assert.strictEqual(second._tag, "ServerListenError")
      assert.strictEqual(
        second.message,
        `the ops server cannot listen on 127.0.0.1:${first.port}: address already in use (EADDRINUSE)`
      )
    }).pipe(Effect.scoped, Effect.provide(serverConfig)))

  it.effect("NodeLogger's json format writes one JSON object per entry, at or above the configured level", () =>
    Effect.gen(function*() {
      yield* Effect.gen(function*() {
        yield* Effect.logDebug("hidden")
        yield* Effect.logWarning("ring full").pipe(Effect.annotateLogs({ stage: "filter" }))
      }).pipe(Effect.provide(NodeLogger.layer({ format: "json", level: "Info" })))
      const lines = yield* TestConsole.errorLines
      assert.strictEqual(lines.length, 1)
      const entry = JSON.parse(String(lines[0]))
      assert.strictEqual(entry.message, "ring full")
      assert.strictEqual(entry.level, "WARN")
      assert.deepStrictEqual(entry.annotations, { stage: "filter" })

      const configured = yield* Effect.logDebug("shown").pipe(
        Effect.provide(NodeLogger.layerConfig().pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ VELOX_LOG_FORMAT: "json", VELOX_LOG_LEVEL: "Debug" }))))),
        Effect.andThen(TestConsole.errorLines)
      )
      assert.strictEqual(JSON.parse(String(configured.at(-1))).level, "DEBUG")
    }).pipe(Effect.provide(TestConsole.layer)))

  it.live("an extension adds routes (replacing an ops route), readiness checks, metrics and stats, and moves the stats socket", () =>
    Effect.gen(function*() {
      let feedStale = false
      const handle = yield* Pipeline.run(Pipeline.from(Counter, { count: Infinity }).to(CountingSink, {}))
      const server = yield* NodePipelineServer.make(handle, {
        routes: [
          { path: "/health", handler: Effect.succeed(HttpServerResponse.text("OK")) },
          { path: "/hello", handler: Effect.succeed(HttpServerResponse.text("hi")) }
        ],
        readiness: [() => (feedStale ? "feed stale: no quote for 7.0 s" : undefined)],
        metrics: () => "# HELP my_gauge a gauge of mine\n# TYPE my_gauge gauge\nmy_gauge 3\n",
        stats: () => ({ mine: { answer: 42 } }),
        statsPath: "/ops/ws"
      })
      yield* waitUntil(getJson(`${server.url}/ready`), (r) => r.status === 200)
      const health = yield* get(`${server.url}/health`)
      assert.deepStrictEqual([health.status, health.text], [200, "OK"])
      assert.strictEqual((yield* get(`${server.url}/hello`)).text, "hi")
      feedStale = true
      const ready = yield* getJson(`${server.url}/ready`)
      assert.deepStrictEqual([ready.status, ready.body], [503, { ready: false, status: "running", reasons: ["feed stale: no quote for 7.0 s"] }])
      const metrics = yield* get(`${server.url}/metrics`)
      assert.strictEqual(parseMetrics(metrics.text).get("my_gauge"), 3)
      assert.isTrue(parseMetrics(metrics.text).has("velox_stage_records_in_total{stage=\"counter\"}"), "the ops metrics are still there")
      assert.deepStrictEqual((yield* getJson(`${server.url}/stats`)).body.mine, { answer: 42 })
      // The stats socket moved: the dashboard follows it, and /ws is free (404).
      assert.include((yield* get(`${server.url}/dashboard`)).text, `location.host + "/ops/ws"`)
      assert.strictEqual((yield* get(`${server.url}/ws`)).status, 404)
      const socket = yield* openSocket(`${server.url.replace("http", "ws")}/ops/ws`)
      yield* waitUntil(Effect.sync(() => framesOf(socket.frames, "stats").length), (n) => n > 0)
      assert.deepStrictEqual(framesOf(socket.frames, "stats")[0].mine, { answer: 42 })
      socket.ws.close()
    }).pipe(Effect.provide(Layer.merge(NodeStageHost.layer, serverConfig))))

  it.live("a route reads its query as the router parsed it; at Debug each request is logged with method, path, status and time, below Debug not at all", () =>
    Effect.gen(function*() {
      const echo: NodePipelineServer.Route = {
        path: "/echo",
        handler: Effect.map(HttpServerRequest.ParsedSearchParams, (query) => HttpServerResponse.text(JSON.stringify(query)))
      }
      const served = (level: "Debug" | "Info") =>
        Effect.gen(function*() {
          const server = yield* NodePipelineServer.make(undefined, { routes: [echo] })
          const answer = yield* getJson(`${server.url}/echo?symbol=BRK.B&limit=5&limit=6&name=a%20b`)
          const missing = yield* get(`${server.url}/nowhere`)
          return { answer, missing, lines: (yield* TestConsole.errorLines).map((l) => JSON.parse(String(l))) }
        }).pipe(Effect.scoped, Effect.provide(NodeLogger.layer({ format: "json", level })), Effect.provide(TestConsole.layer), Effect.provide(serverConfig))

      const debug = yield* served("Debug")
      assert.deepStrictEqual(debug.answer.body, { symbol: "BRK.B", limit: ["5", "6"], name: "a b" })
      assert.strictEqual(debug.missing.status, 404)
      const logged = debug.lines.filter((e) => e.message === "http request")
      assert.deepStrictEqual(logged.map((e) => [e.annotations.method, e.annotations.path, e.annotations.status]), [["GET", "/echo", 200], ["GET", "/nowhere", 404]])
      for (const e of logged) assert.isAtLeast(e.annotations.ms, 0)

      const info = yield* served("Info")
      assert.strictEqual(info.answer.status, 200)
      assert.deepStrictEqual(info.lines.filter((e) => e.message === "http request"), [])
    }))
})
