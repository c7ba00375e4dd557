/** The README's pipeline example, kept compiling and runnable: `velox-scaled [--count N] [--factor F]`. */
import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { Pipeline } from "@velox/core"
import { NodeCli } from "@velox/node"
import { Scale } from "./scale.ts"
import { Sum } from "./sum.ts"
import { Ticks } from "./ticks.ts"

const scaled = Command.make("velox-scaled", {
  count: Flag.Int("count").pipe(Flag.withDescription("records the source emits"), Flag.withDefault(1_000_000)),
  factor: Flag.Finite("factor").pipe(Flag.withDescription("what Scale multiplies each value by"), Flag.withDefault(2))
}, ({ count, factor }) =>
  Effect.gen(function*() {
    const total = new SharedArrayBuffer(8)
    const pipeline = Pipeline.from(Ticks, { count }) // a worker thread of its own
      .via(Scale, { factor }, { placement: "worker" }) // "fused" (default) joins the previous stage's thread
      .to(Sum, { total }) // fused: runs in Scale's thread
    yield* Effect.scoped(Effect.gen(function*() {
      const handle = yield* Pipeline.run(pipeline, { report: true }) // handle.stats(), handle.ledger(), handle.done
      yield* handle.done // the source ran out, or Ctrl-C: every stage drains
    })) // the scope closes: threads joined, the ledger prints
    yield* Console.log(`sum of scaled values: ${new Float64Array(total)[0]}`)
  }))

NodeCli.run(scaled, { version: "0.1.0" }) // --help, one-line errors, drain on SIGINT/SIGTERM
