/**
 * A pipeline you can run, watch and stop: a counter source through four stages, drained on Ctrl-C.
 *
 *   counter ─▶ pass-through ─▶ filter ─▶ batcher ─▶ counting-sink
 *   (source)                   drops 1/7   sums 16    checks every record
 *
 * Fused (default): all five stages in one worker thread, plain calls between them.
 * `--workers`: each stage in its own worker thread, rings between them.
 *
 *   node packages/examples/src/pipeline.ts [--workers] [--seconds N] [--count N] [--http PORT]
 *
 * Prints one progress line per second; on Ctrl-C (or SIGTERM, or when --seconds or --count run out)
 * it drains and prints the conservation ledger. Exit code 0 means every record is accounted for.
 *
 * `--http PORT` serves the operations surface on 127.0.0.1:PORT (host from VELOX_HTTP_HOST): the live
 * dashboard at /dashboard, Prometheus metrics at /metrics, /stats, /ws, /health and /ready. It keeps
 * serving through the drain (/ready answers 503 "draining"). Logs follow VELOX_LOG_FORMAT (pretty,
 * json, logfmt) and VELOX_LOG_LEVEL.
 */
import { Console, Effect, Layer, Schedule } from "effect"
import { Pipeline } from "@velox/core"
import { Batcher, Counter, CountingSink, Filter, PassThrough } from "@velox/core/stages"
import { NodeLogger, NodePipelineRuntime, NodePipelineServer } from "@velox/node"
import { parseArgs } from "node:util"

const { values } = parseArgs({
  options: {
    workers: { type: "boolean", default: false },
    seconds: { type: "string", default: "0" },
    count: { type: "string", default: "Infinity" },
    http: { type: "string" }
  }
})
const placement = values.workers ? "worker" : "fused"

const pipeline = Pipeline.from(Counter, { count: Number(values.count) })
  .via(PassThrough, {}, { placement })
  .via(Filter, { dropEvery: 7 }, { placement })
  .via(Batcher, { size: 16 }, { placement })
  .to(CountingSink, {}, { placement })

/** Runs the pipeline until it ends or a signal arrives; `onStart` gets its handle first. */
const program = <R>(onStart: (handle: Pipeline.PipelineHandle) => Effect.Effect<void, never, R>) => Effect.gen(function*() {
  const handle = yield* Pipeline.run(pipeline, { report: true })
  yield* Console.log(`velox pipeline: ${handle.hosts.length} thread(s): ${handle.hosts.join(" | ")}`)
  yield* onStart(handle)
  const started = Date.now()
  let last = 0
  // One line per second: records generated, bundles delivered, and the rate since the last line.
  const progress = Effect.sync(() => {
    const stages = handle.stats().stages
    const generated = stages[0]!.emitted
    const bundles = stages.at(-1)!.emitted
    const line = `${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s  generated ${generated}  ` +
      `bundles delivered ${bundles}  ${((generated - last) / 1e6).toFixed(1)} M records/s`
    last = generated
    return line
  }).pipe(Effect.flatMap(Console.log), Effect.repeat(Schedule.spaced("1 second")))
  const seconds = Number(values.seconds)
  const until = seconds > 0 ? Effect.sleep(`${seconds} seconds`) : Effect.never
  yield* Effect.raceFirst(handle.done, Effect.raceFirst(until, progress.pipe(Effect.andThen(Effect.never))))
  yield* Console.log("draining…")
})

const main = values.http === undefined
  ? program(() => Effect.void)
  : program((handle) =>
    NodePipelineServer.PipelineServer.use((server) =>
      server.attach(handle).pipe(
        Effect.andThen(Console.log(`dashboard: ${server.url}/dashboard   metrics: ${server.url}/metrics   ready: ${server.url}/ready`))
      )
    )
  ).pipe(
    // The pipeline's scope closes (it drains) inside the server's: /ready answers 503 during the drain.
    Effect.scoped,
    Effect.provide(NodePipelineServer.layer.pipe(Layer.provide(NodePipelineServer.layerConfig({ port: Number(values.http) }))))
  )

NodePipelineRuntime.runMain(main.pipe(Effect.provide(NodeLogger.layerConfig())))
