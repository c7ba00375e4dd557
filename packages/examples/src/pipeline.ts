/**
 * A pipeline you can run, watch and stop: a counter source through four stages, drained on Ctrl-C.
 *
 *   counter ─▶ pass-through ─▶ filter ─▶ batcher ─▶ counting-sink
 *   (source)                   drops 1/7   sums 16    checks every record
 *
 * Fused (default): all five stages in one worker thread, plain calls between them.
 * `--workers`: each stage in its own worker thread, rings between them.
 *
 *   velox-pipeline [--workers] [--seconds N] [--count N] [--http PORT]      (--help lists them)
 *
 * Prints one progress line per second; on Ctrl-C (or SIGTERM, or when --seconds or --count run out)
 * it drains and prints the conservation ledger. Exit code 0 means every record is accounted for.
 *
 * `--http PORT` serves the operations surface on 127.0.0.1:PORT (host from VELOX_HTTP_HOST): the live
 * dashboard at /dashboard, Prometheus metrics at /metrics, /stats, /ws, /health and /ready. It keeps
 * serving through the drain (/ready answers 503 "draining"). Logs follow VELOX_LOG_FORMAT (pretty,
 * json, logfmt) and VELOX_LOG_LEVEL (or --log-level).
 */
import { Console, Effect, Layer, Option, Schedule, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { Pipeline } from "@velox/core"
import { Batcher, Counter, CountingSink, Filter, PassThrough } from "@velox/core/stages"
import { NodeCli, NodePipelineServer } from "@velox/node"

const flags = {
  workers: Flag.Boolean("workers").pipe(
    Flag.withDescription("each stage in its own worker thread (default: all fused in one)"),
    Flag.withDefault(false)
  ),
  seconds: Flag.Finite("seconds").pipe(
    Flag.withSchema(Schema.Finite.check(Schema.isGreaterThan(0))),
    Flag.withDescription("drain after this many seconds (default: run until Ctrl-C or --count)"),
    Flag.optional
  ),
  count: Flag.Int("count").pipe(
    Flag.withSchema(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
    Flag.withDescription("records to generate, then drain (default: no limit)"),
    Flag.optional
  ),
  http: Flag.Int("http").pipe(
    Flag.withSchema(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
    Flag.withDescription("serve the dashboard, /metrics, /stats, /ws and /ready on 127.0.0.1:PORT (0: a free port)"),
    Flag.optional
  )
}

const pipelineOf = (options: Command.Command.Config.Infer<typeof flags>) => {
  const placement = options.workers ? "worker" : "fused"
  return Pipeline.from(Counter, { count: Option.getOrElse(options.count, () => Infinity) })
    .via(PassThrough, {}, { placement })
    .via(Filter, { dropEvery: 7 }, { placement })
    .via(Batcher, { size: 16 }, { placement })
    .to(CountingSink, {}, { placement })
}

/** Runs the pipeline until it ends or a signal arrives; `onStart` gets its handle first. */
const program = <E, R>(
  options: Command.Command.Config.Infer<typeof flags>,
  onStart: (handle: Pipeline.PipelineHandle) => Effect.Effect<void, E, R>
) =>
  Effect.gen(function*() {
    const handle = yield* Pipeline.run(pipelineOf(options), { report: true })
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
    const until = Option.match(options.seconds, { onNone: () => Effect.never, onSome: (s) => Effect.sleep(`${s} seconds`) })
    yield* Effect.raceFirst(handle.done, Effect.raceFirst(until, progress.pipe(Effect.andThen(Effect.never))))
    yield* Console.log("draining…")
  })

const main = (options: Command.Command.Config.Infer<typeof flags>) =>
  Option.match(options.http, {
    onNone: () => program(options, () => Effect.void),
    onSome: (port) =>
      program(options, (handle) =>
        NodePipelineServer.PipelineServer.use((server) =>
          server.attach(handle).pipe(
            Effect.andThen(Console.log(`dashboard: ${server.url}/dashboard   metrics: ${server.url}/metrics   ready: ${server.url}/ready`))
          )
        )).pipe(
          // The pipeline's scope closes (it drains) inside the server's: /ready answers 503 during the drain.
          Effect.scoped,
          Effect.provide(NodePipelineServer.layer.pipe(Layer.provide(NodePipelineServer.layerConfig({ port }))))
        )
  })

const command = Command.make("velox-pipeline", flags, (options) => Effect.asVoid(main(options))).pipe(
  Command.withDescription(
    "A counter source through four stages (pass-through, filter, batcher, counting sink), with progress every second; " +
      "Ctrl-C drains it and prints the conservation ledger. Exit code 0: every record accounted for."
  )
)

NodeCli.run(command, { version: "0.1.0" })
