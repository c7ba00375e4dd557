/** The README's pipeline example, kept compiling and runnable. */
import { Effect } from "effect"
import { Pipeline } from "@velox/core"
import { Counter, CountingSink } from "@velox/core/stages"
import { NodePipelineRuntime } from "@velox/node"
import { Scale } from "./scale.ts"

const pipeline = Pipeline.from(Counter, { count: Infinity })
  .via(Scale, { factor: 2 }, { placement: "worker" }) // "fused" (default) joins the previous stage's thread
  .to(CountingSink, {})

NodePipelineRuntime.runMain(Effect.gen(function*() {
  const handle = yield* Pipeline.run(pipeline, { report: true }) // handle.stats(), handle.ledger(), handle.done
  yield* handle.done // Ctrl-C: sources stop, every stage drains, the ledger prints
}))
