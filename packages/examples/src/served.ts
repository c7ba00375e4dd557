/** The README's operations example, kept compiling and runnable: a pipeline with its ops server (VELOX_HTTP_*). */
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { Pipeline } from "@velox/core"
import { Counter, CountingSink, Filter } from "@velox/core/stages"
import { NodeCli, NodePipelineServer } from "@velox/node"

const pipeline = Pipeline.from(Counter, { count: Infinity })
  .via(Filter, { dropEvery: 7 }, { placement: "worker" })
  .to(CountingSink, {})

const program = Effect.gen(function*() {
  const handle = yield* Pipeline.run(pipeline, { report: true })
  yield* NodePipelineServer.attach(handle) // the server (built around this program) now serves it
  yield* handle.done
})

const served = Command.make("velox-served", {}, () =>
  program.pipe(
    Effect.scoped, // the pipeline drains first, inside the server's lifetime: /ready answers 503 meanwhile
    Effect.provide(NodePipelineServer.layer.pipe(Layer.provide(NodePipelineServer.layerConfig()))) // VELOX_HTTP_*
  )).pipe(Command.withDescription("A pipeline with its ops server on VELOX_HTTP_HOST:VELOX_HTTP_PORT (default 127.0.0.1:9464)"))

NodeCli.run(served, { version: "0.1.0" }) // logs: VELOX_LOG_FORMAT=json, VELOX_LOG_LEVEL=Debug or --log-level
