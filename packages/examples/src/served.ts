/** The README's operations example, kept compiling and runnable: a pipeline with its ops server. */
import { Effect, Layer } from "effect"
import { Pipeline } from "@velox/core"
import { Counter, CountingSink, Filter } from "@velox/core/stages"
import { NodeLogger, NodePipelineRuntime, NodePipelineServer } from "@velox/node"

const pipeline = Pipeline.from(Counter, { count: Infinity })
  .via(Filter, { dropEvery: 7 }, { placement: "worker" })
  .to(CountingSink, {})

const program = Effect.gen(function*() {
  const handle = yield* Pipeline.run(pipeline, { report: true })
  yield* NodePipelineServer.attach(handle) // the server (built around this program) now serves it
  yield* handle.done
})

NodePipelineRuntime.runMain(program.pipe(
  Effect.scoped, // the pipeline drains first, inside the server's lifetime: /ready answers 503 meanwhile
  Effect.provide(NodePipelineServer.layer.pipe(Layer.provide(NodePipelineServer.layerConfig()))), // VELOX_HTTP_*
  Effect.provide(NodeLogger.layerConfig()) // VELOX_LOG_FORMAT=json, VELOX_LOG_LEVEL=Debug
))
