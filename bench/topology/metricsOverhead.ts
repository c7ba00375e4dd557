/**
 * What the operations server costs a running pipeline: the `pipeline` suite's velox pipeline (a
 * generator, three pass-through stages, a checking sink) measured in alternating windows without and
 * with `NodePipelineServer` attached and a scraper fetching `/metrics` once a second, in one process
 * on the same workers.
 *
 * ```
 *   two-workers:  W1: counter ─► pt-1 ══► W2: pt-2 ─► pt-3 ─► sink
 *   main thread:  off windows: sleeps between two stats reads
 *                 on windows:  NodePipelineServer (HTTP, its 1 s sampler, the event-loop delay monitor)
 *                              + a scraper: GET /metrics every second (in this same process)
 *
 *   windows:      off on | on off | off on | on off …   (ABBA: a drift in the machine hits both sides)
 * ```
 *
 * Each window's rate is the pipeline's own measure (Δ sink IN ÷ Δ sink LAST_COMMIT_NS, as in
 * `oneToThreePipelineThroughput.ts`); the server is started before an "on" window's first sample and
 * stopped after its last, so start-up is not timed. A pair is one off and one on window next to each
 * other; the run reports `overheadPercent = (1 − median over pairs of on ÷ off) × 100`.
 *
 * The scraper runs in the pipeline's process (Prometheus would be another process): the figure is an
 * upper bound. `offMainCpuPercent` / `onMainCpuPercent` give the main thread's share of a core in each
 * kind of window: the CPU the server and its scraper take, which the noise in throughput can hide.
 * Before reporting, the run checks every scrape answered 200 with the sink's series in
 * it, and (after the drain) that the ledger balances and the sink received every record generated.
 */
import { Context, Duration, Effect, Exit, Layer, References, Schedule, Scope } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { OutputTotals } from "@velox/market"
import { NodePipelineServer, NodeStageHost } from "@velox/node"
import { median } from "../harness.ts"
import { checkEngine, pipelineOf as enginePipelineOf } from "./engineThroughput.ts"
import { pipelineOf, type Topology } from "./oneToThreePipelineThroughput.ts"

export interface Params {
  /**
   * What runs: the `pipeline` suite's three pass-throughs in `topology`, or the engine (ingress |
   * order book + bundler + output, unthrottled: the `engine` suite's canonical 2-worker split).
   */
  readonly workload?: "pipeline" | "engine"
  readonly topology: Topology
  /** Untimed, after the first records reached the sink. */
  readonly warmupMs: number
  /** Length of each timed window. */
  readonly windowMs: number
  /** Off/on pairs (2 × pairs windows). */
  readonly pairs: number
  readonly scrapeIntervalMs: number
  readonly startTimeoutMs: number
}

interface Sample {
  readonly in: number
  readonly lastCommitNs: number
  /** The main thread's own CPU time (µs) and the wall clock (ms): what the server and scraper took. */
  readonly mainCpuUs: number
  readonly wallMs: number
}

const sinkOf = (handle: Pipeline.PipelineHandle) => {
  const stages = handle.stats().stages
  return stages[stages.length - 1]!
}

const sample = (handle: Pipeline.PipelineHandle): Sample => {
  const sink = sinkOf(handle)
  const cpu = process.threadCpuUsage()
  return { in: sink.in, lastCommitNs: sink.lastCommitNs, mainCpuUs: cpu.user + cpu.system, wallMs: performance.now() }
}

/** Share of one core the main thread used over a window, in percent. */
const mainCpuPercent = (a: Sample, b: Sample): number => ((b.mainCpuUs - a.mainCpuUs) / 1e3 / (b.wallMs - a.wallMs)) * 100

interface Window {
  readonly mrecPerSecond: number
  readonly mainCpuPercent: number
}

const windowOf = (a: Sample, b: Sample): Window => {
  const records = b.in - a.in
  const ns = b.lastCommitNs - a.lastCommitNs
  if (!(records > 0 && ns > 0)) throw new Error(`a window timed nothing: Δin=${records} ΔlastCommitNs=${ns}`)
  return { mrecPerSecond: (records / ns) * 1e3, mainCpuPercent: mainCpuPercent(a, b) }
}

interface Scrapes {
  count: number
  failures: Array<string>
  totalMs: number
  bytes: number
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const engine = params.workload === "engine"
  const label = engine ? "metrics overhead, engine" : `metrics overhead, ${params.topology}`
  const serverOptions = Context.make(NodePipelineServer.ServerConfig, {
    host: "127.0.0.1",
    port: 0,
    wsInterval: Duration.seconds(1),
    maxWsInputBytes: 4096
  })
  const scrapes: Scrapes = { count: 0, failures: [], totalMs: 0, bytes: 0 }

  /** One window with the server attached and scraped; returns its rate. */
  const onWindow = (handle: Pipeline.PipelineHandle) =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* NodePipelineServer.make(handle)
      const scrape = Effect.tryPromise(async (signal) => {
        const started = performance.now()
        const response = await fetch(`${server.url}/metrics`, { signal })
        const text = await response.text()
        scrapes.count++
        scrapes.totalMs += performance.now() - started
        scrapes.bytes += text.length
        if (response.status !== 200 || !text.includes(`velox_stage_records_in_total{stage="${engine ? "output" : "counting-sink"}"}`)) {
          scrapes.failures.push(`status ${response.status}, ${text.length} bytes`)
        }
      }).pipe(Effect.catch((e) => Effect.sync(() => void scrapes.failures.push(String(e)))))
      const a = sample(handle)
      yield* scrape.pipe(Effect.repeat(Schedule.fixed(Duration.millis(params.scrapeIntervalMs))), Effect.forkScoped)
      yield* Effect.sleep(params.windowMs)
      return windowOf(a, sample(handle))
    }))

  const offWindow = (handle: Pipeline.PipelineHandle) =>
    Effect.gen(function*() {
      const a = sample(handle)
      yield* Effect.sleep(params.windowMs)
      return windowOf(a, sample(handle))
    })

  const program = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const handle = yield* Pipeline.run(engine ? enginePipelineOf("ingress-alone") : pipelineOf(params.topology)).pipe(
      Scope.provide(scope)
    )
    const startDeadline = performance.now() + params.startTimeoutMs
    while (sinkOf(handle).in === 0) {
      if (performance.now() > startDeadline) {
        return yield* Effect.die(new Error(`${label}: no record reached the sink within ${params.startTimeoutMs} ms`))
      }
      yield* Effect.sleep("5 millis")
    }
    yield* Effect.sleep(params.warmupMs)
    const off: Array<Window> = []
    const on: Array<Window> = []
    for (let pair = 0; pair < params.pairs; pair++) {
      // ABBA: off-on, on-off, …
      if (pair % 2 === 0) {
        off.push(yield* offWindow(handle))
        on.push(yield* onWindow(handle))
      } else {
        on.push(yield* onWindow(handle))
        off.push(yield* offWindow(handle))
      }
    }
    yield* handle.stop
    yield* handle.done
    yield* Scope.close(scope, Exit.void)
    return { off, on, handle }
  })

  const { handle, off, on } = await Effect.runPromise(
    program.pipe(
      Effect.provide(Layer.mergeAll(NodeStageHost.layer, Layer.succeedContext(serverOptions))),
      // The server's start-up line would be printed once per window.
      Effect.provideService(References.MinimumLogLevel, "Warn")
    )
  )

  const ledger = handle.ledger()
  const counter = ledger.stages[0]!
  const sink = ledger.stages[ledger.stages.length - 1]!
  const problems: Array<string> = []
  if (engine) {
    // Throws on any mismatch: generated = applied = bundled = received, ledger balanced.
    checkEngine(label, ledger, handle.deadLetters().length, OutputTotals.read(handle.stats()), { timeouts: false })
  } else {
    if (!ledger.balanced) problems.push("ledger not balanced")
    if (sink.in !== counter.emitted || sink.emitted !== sink.in) problems.push(`sink in ${sink.in}, good ${sink.emitted}, generated ${counter.emitted}`)
    if (handle.deadLetters().length !== 0) problems.push(`${handle.deadLetters().length} dead letters`)
  }
  const expectedScrapes = params.pairs * Math.floor(params.windowMs / params.scrapeIntervalMs)
  if (scrapes.count < expectedScrapes) problems.push(`${scrapes.count} scrapes, expected at least ${expectedScrapes}`)
  if (scrapes.failures.length > 0) problems.push(`failed scrapes: ${scrapes.failures.join("; ")}`)
  if (problems.length > 0) throw new Error(`${label}: check failed: ${problems.join("; ")}\n${Ledger.format(ledger)}`)

  const ratios = on.map((w, i) => w.mrecPerSecond / off[i]!.mrecPerSecond)
  return {
    overheadPercent: (1 - median(ratios)) * 100,
    offMrecPerSecond: median(off.map((w) => w.mrecPerSecond)),
    onMrecPerSecond: median(on.map((w) => w.mrecPerSecond)),
    // The main thread's share of a core without and with the server and scraper: the CPU the ops
    // surface takes from the machine, whatever the noise in the throughput.
    offMainCpuPercent: median(off.map((w) => w.mainCpuPercent)),
    onMainCpuPercent: median(on.map((w) => w.mainCpuPercent)),
    pairs: ratios.length,
    scrapes: scrapes.count,
    scrapeMs: scrapes.totalMs / scrapes.count,
    metricsBytes: scrapes.bytes / scrapes.count
  }
}
