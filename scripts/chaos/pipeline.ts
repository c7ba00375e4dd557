/**
 * The pipeline `npm run chaos` attacks (scripts/chaos.ts): counter → pass-through → batcher →
 * counting-sink, each stage the first of its own worker thread, so a crash loses no state (what a
 * stage retains comes back) and `lost` must stay 0.
 *
 *   node --conditions=@velox/source scripts/chaos/pipeline.ts signal SEED          until SIGTERM
 *   node --conditions=@velox/source scripts/chaos/pipeline.ts threads SEED COUNT KILLS
 *
 * `threads` kills KILLS worker threads (a random one of the three stages each time) at random instants
 * while COUNT records flow. Either way, after the drain it prints one line, `chaos-result {json}`: the
 * ledger's numbers per stage and the kills made, from which the driver recomputes the outcome.
 */
import { Console, Effect, Schedule } from "effect"
import { type Ledger, Pipeline } from "@velox/core"
import { Batcher, Counter, CountingSink, PassThrough } from "@velox/core/stages"
import { NodePipelineRuntime } from "@velox/node"

const [mode = "signal", seedArg = "1", countArg = "200000", killsArg = "3"] = process.argv.slice(2)
let seed = Number(seedArg)
/** A seeded generator: a round can be run again with the same instants. */
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31
  return seed / 2 ** 31
}
const targets = ["pass-through", "batcher", "counting-sink"] as const

const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0)
const resultOf = (ledger: Ledger.Ledger, killed: number) => ({
  mode,
  killed,
  balanced: ledger.balanced,
  stages: ledger.stages.map((s) => ({
    stage: s.stage,
    in: s.in,
    emitted: s.emitted,
    written: s.written,
    dropped: sum(s.dropped),
    deadLettered: sum(s.deadLettered),
    retained: s.retained,
    redelivered: s.redelivered,
    duplicated: s.duplicated,
    lost: s.lost,
    restarts: s.restarts
  }))
})

let killed = 0
let ledger: (() => Ledger.Ledger) | undefined

const run = Effect.gen(function*() {
  const count = mode === "threads" ? Number(countArg) : Infinity
  const handle = yield* Pipeline.run(
    Pipeline.from(Counter, { count })
      .via(PassThrough, {}, { placement: "worker" })
      // Batches of 10 across passes of up to 256: a batch is open at most commits, so a kill of the
      // batcher has retained records to get again (redelivered).
      .via(Batcher, { size: 10, timeoutNs: 1e15 }, { placement: "worker" })
      .to(CountingSink, {}, { placement: "worker" }),
    {
      restart: Schedule.spaced("1 millis"),
      restartBudget: { maxRestarts: 1_000, window: "1 minute" },
      maxRecordCrashes: 1_000_000
    }
  )
  ledger = handle.ledger
  // Under full load: every thread started and records reach the sink (a start can take seconds on a busy machine).
  yield* Effect.sync(() => handle.stats().stages.at(-1)!.in).pipe(
    Effect.repeat({ until: (n) => n > 0, schedule: Schedule.spaced("10 millis") })
  )
  yield* Console.log("chaos: running")
  if (mode === "threads") {
    for (let k = 0; k < Number(killsArg); k++) {
      const target = targets[Math.floor(random() * targets.length)]!
      const taken = () => handle.stats().stages.find((s) => s.stage === target)!.in
      // Mid-stream, not mid-start: every stage is running again and the target has committed a pass
      // since the last kill (a thread still starting has no batch to kill) — or the run is over.
      const before = taken()
      const flowing = yield* Effect.sync(() => {
        const health = handle.health()
        return health.status !== "running" && health.status !== "starting" ? "over" : health.ready && taken() > before ? "flowing" : "not yet"
      }).pipe(Effect.repeat({ until: (s) => s !== "not yet", schedule: Schedule.spaced("1 millis") }))
      if (flowing === "over") break
      yield* Effect.sleep(`${Math.floor(random() * 20)} millis`)
      if (yield* handle.terminateHost(target)) killed++
    }
  }
  yield* handle.done
})

NodePipelineRuntime.runMain(
  Effect.scoped(run).pipe(
    // After the scope closed: the drain is over and the ledger final.
    Effect.onExit(() => ledger === undefined ? Effect.void : Console.log(`chaos-result ${JSON.stringify(resultOf(ledger(), killed))}`))
  )
)
