/**
 * The transaction engine: the "Velox Engine" of the Rust original, as four velox stages.
 *
 *   ingress ──▶ order-book ──▶ bundler ──▶ output ──▶ (file-sink)
 *   Poisson      exact price    16 updates   counts,     NDJSON file or
 *   order flow   levels, best   or 100 µs    checksums   stdout, with
 *   (100k/s)     bid/ask        per bundle               --output
 *
 * Fused (default): all stages in one worker thread. `--placement workers`: one thread each.
 *
 *   npm start -- [--duration 10] [--rate 100000] [--symbols 8] [--placement fused|workers]
 *                [--bundle-size 16] [--bundle-timeout-us 100] [--output FILE|-] [--http PORT]
 *                [--config engine.json]
 *
 * Every option is also read from the environment (VELOX_ENGINE_DURATION, VELOX_ENGINE_RATE, …) or a
 * JSON config file ({ "VELOX": { "ENGINE": { "RATE": 200000 } } }); flags win over the file, the file
 * over the environment. Ctrl-C (or SIGTERM, or the end of the duration) drains: every transaction
 * ends in a bundle or is dead-lettered, and the final table proves it. Exit code 0 means it all
 * reconciled. Copy this file to start your own pipeline.
 */
import { Config, ConfigProvider, Console, Deferred, Effect, Layer, Schema } from "effect"
import { Ledger, NanoClock, Pipeline } from "@velox/core"
import { Bundle, Bundler, Ingress, OrderBookStage, Output, OutputCounters, OutputRelay } from "@velox/market"
import { NodeFileSink, NodeLogger, NodePipelineRuntime, NodePipelineServer } from "@velox/node"
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"

// ── Options: flags over a config file over the environment, validated by one Config ──────────────
const { values: flags } = parseArgs({
  options: {
    duration: { type: "string" },
    rate: { type: "string" },
    symbols: { type: "string" },
    placement: { type: "string" },
    "bundle-size": { type: "string" },
    "bundle-timeout-us": { type: "string" },
    output: { type: "string" },
    http: { type: "string" },
    config: { type: "string" }
  }
})

const EngineConfig = Config.all({
  durationS: Config.Number("DURATION").pipe(Config.withDefault(10)),
  rate: Config.schema(Schema.Finite.check(Schema.isGreaterThan(0)), "RATE").pipe(Config.withDefault(100_000)),
  symbols: Config.Int("SYMBOLS").pipe(Config.withDefault(8)),
  placement: Config.Literals(["fused", "workers"], "PLACEMENT").pipe(Config.withDefault("fused" as const)),
  bundleSize: Config.Int("BUNDLE_SIZE").pipe(Config.withDefault(16)),
  bundleTimeoutUs: Config.Number("BUNDLE_TIMEOUT_US").pipe(Config.withDefault(100)),
  output: Config.String("OUTPUT").pipe(Config.option),
  http: Config.Port("HTTP").pipe(Config.option)
}).pipe(Config.nested("ENGINE"), Config.nested("VELOX"))

const flagValues = Object.fromEntries(
  Object.entries({
    DURATION: flags.duration,
    RATE: flags.rate,
    SYMBOLS: flags.symbols,
    PLACEMENT: flags.placement,
    BUNDLE_SIZE: flags["bundle-size"],
    BUNDLE_TIMEOUT_US: flags["bundle-timeout-us"],
    OUTPUT: flags.output,
    HTTP: flags.http
  }).filter(([, v]) => v !== undefined)
)
const fileValues = flags.config === undefined ? {} : JSON.parse(readFileSync(flags.config, "utf8"))
const provider = ConfigProvider.fromUnknown({ VELOX: { ENGINE: flagValues } }).pipe(
  ConfigProvider.orElse(ConfigProvider.fromUnknown(fileValues)),
  ConfigProvider.orElse(ConfigProvider.fromEnv())
)

// ── The program ──────────────────────────────────────────────────────────────────────────────────
const rate = (n: number, seconds: number) => `${(n / seconds / 1000).toFixed(1).padStart(7)} k/s`

const engine = Effect.gen(function*() {
  const options = yield* EngineConfig
  const clock = NanoClock.make()
  yield* Console.log(
    `clock calibrated: monotonic ns shared by all threads, each thread within ±${clock.uncertaintyNs.toFixed(0)} ns`
  )
  const placement = options.placement === "workers" ? "worker" : "fused"
  const counters = OutputCounters.make()
  const written = NodeFileSink.makeStats()
  const bundled = Pipeline.from(Ingress, { rate: options.rate, symbols: options.symbols })
    .via(OrderBookStage, { symbols: options.symbols }, { placement })
    .via(Bundler, { maxSize: options.bundleSize, timeoutNs: options.bundleTimeoutUs * 1000 }, { placement })
  // With --output, the output counts and forwards each bundle to a file sink fused behind it.
  const pipeline = options.output._tag === "Some"
    ? bundled.via(OutputRelay, { counters }, { placement }).to(NodeFileSink.sink, {
      path: options.output.value,
      labels: { reason: Bundle.FLUSH_REASON_NAMES },
      stats: written
    })
    : bundled.to(Output, { counters }, { placement })
  const engineHandle = yield* Deferred.make<Pipeline.PipelineHandle>()

  /** Runs the engine until the duration ends or a signal arrives; `onStart` gets the handle first. */
  const run = <R>(onStart: (handle: Pipeline.PipelineHandle) => Effect.Effect<void, never, R>) => Effect.gen(function*() {
    const handle = yield* Pipeline.run(pipeline)
    yield* Deferred.succeed(engineHandle, handle)
    yield* Console.log(
      `engine: ${options.rate} txn/s over ${options.symbols} symbols, bundles of ${options.bundleSize} or ` +
        `${options.bundleTimeoutUs} µs; ${handle.hosts.length} thread(s): ${handle.hosts.join(" | ")}`
    )
    yield* onStart(handle)
    // One line per second: totals and rates since the previous line, per stage.
    const started = clock.nowNs()
    let last = { t: started, ingress: 0, book: 0, bundles: 0, received: 0 }
    const progress = Effect.sync(() => {
      const [ingress, book, bundler] = handle.stats().stages
      const out = OutputCounters.read(counters)
      const now = clock.nowNs()
      const s = (now - last.t) / 1e9
      const line = `${((now - started) / 1e9).toFixed(0).padStart(4)} s  ` +
        `ingress ${ingress!.emitted} (${rate(ingress!.emitted - last.ingress, s)})  ` +
        `book ${book!.emitted} (${rate(book!.emitted - last.book, s)})  ` +
        `bundles ${bundler!.written} (${rate(bundler!.written - last.bundles, s)})  ` +
        `output ${out.bundles} (${rate(out.bundles - last.received, s)})`
      last = { t: now, ingress: ingress!.emitted, book: book!.emitted, bundles: bundler!.written, received: out.bundles }
      return line
    }).pipe(Effect.flatMap(Console.log), Effect.delay("1 second"), Effect.forever)
    yield* Effect.raceFirst(Effect.sleep(`${options.durationS} seconds`), Effect.raceFirst(handle.done, progress))
    yield* Console.log("draining…")
  }).pipe(Effect.scoped)

  // After the drain (also after Ctrl-C): the ledger, and the engine's own reconciliation.
  const report = Effect.gen(function*() {
    const polled = yield* Deferred.poll(engineHandle)
    if (polled._tag === "None") return
    const drained = yield* (yield* polled.value).drainReport
    const byName = (name: string) => drained.ledger.stages.find((s) => s.stage === name)!
    const ingress = byName("ingress")
    const book = byName("order-book")
    const bundler = byName("bundler")
    const out = OutputCounters.read(counters)
    const checks: Array<[string, number, number]> = [
      ["generated = processed by the book", ingress.emitted, book.in],
      ["processed = book updates + dead-lettered", book.in, book.emitted + sum(book.deadLettered)],
      ["book updates = transactions bundled", book.emitted, bundler.emitted],
      ["bundles flushed = bundles received", bundler.written, out.bundles],
      ["transactions bundled = transactions received", bundler.emitted, out.transactions]
    ]
    const lines = checks.map(([what, a, b]) => `  ${a === b ? "ok " : "NO "} ${what}: ${a} = ${b}`)
    const bytes = NodeFileSink.readStats(written).bytes
    yield* Console.log([
      `drained: ${drained.ledger.abandoned === 0 ? "nothing left behind" : `${drained.ledger.abandoned} records abandoned`}`,
      Ledger.format(drained.ledger),
      `flushes: size ${out.sizeFlushes}, timeout ${out.timeoutFlushes}, drain ${out.drainFlushes}` +
        (bytes > 0 ? `; ${bytes} bytes of NDJSON written` : ""),
      "reconciliation:",
      ...lines
    ].join("\n"))
    const failed = checks.find(([, a, b]) => a !== b)
    if (failed !== undefined) return yield* NodePipelineRuntime.failCheck(`${failed[0]}: ${failed[1]} ≠ ${failed[2]}`)
  })

  // With --http, the ops server (dashboard, /metrics, /ready) outlives the drain: /ready says 503 during it.
  const served = options.http._tag === "Some"
    ? run((handle) =>
      NodePipelineServer.PipelineServer.use((server) =>
        server.attach(handle).pipe(Effect.andThen(Console.log(`dashboard: ${server.url}/dashboard`)))
      )
    ).pipe(
      Effect.provide(NodePipelineServer.layer.pipe(Layer.provide(NodePipelineServer.layerConfig({ port: options.http.value }))))
    )
    : run(() => Effect.void)
  yield* served.pipe(Effect.onExit(() => report))
})

const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0)

NodePipelineRuntime.runMain(
  engine.pipe(Effect.provide(ConfigProvider.layer(provider)), Effect.provide(NodeLogger.layerConfig()))
)
