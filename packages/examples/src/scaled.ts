/** The README's pipeline example, kept compiling and runnable: `velox-scaled [--factor 2]`, Ctrl-C drains. */
import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { Pipeline } from "@velox/core"
import { Counter, CountingSink } from "@velox/core/stages"
import { NodeCli } from "@velox/node"
import { Scale } from "./scale.ts"

const scaled = Command.make("velox-scaled", {
  factor: Flag.Finite("factor").pipe(Flag.withDescription("what Scale multiplies each value by"), Flag.withDefault(2))
}, ({ factor }) =>
  Effect.gen(function*() {
    const pipeline = Pipeline.from(Counter, { count: Infinity })
      .via(Scale, { factor }, { placement: "worker" }) // "fused" (default) joins the previous stage's thread
      .to(CountingSink, {})
    const handle = yield* Pipeline.run(pipeline, { report: true }) // handle.stats(), handle.ledger(), handle.done
    yield* handle.done // Ctrl-C: sources stop, every stage drains, the ledger prints
  }))

NodeCli.run(scaled, { version: "0.1.0" }) // --help, one-line errors, drain on SIGINT/SIGTERM
