/**
 * Entry point of a stage host thread: load the stage modules named in the spec, build the loop, run it
 * to its end, report how it ended. Loaded by `NodeStageHost` through `worker_threads`.
 */
import { parentPort, workerData } from "node:worker_threads"
import { buildRunner, findDefinition, type HostSpec } from "@velox/core/internal/host"

const spec = workerData as HostSpec
const definitions = await Promise.all(
  spec.members.map(async (m) => findDefinition(await import(m.module), m.stage, m.module))
)
const outcome = buildRunner(spec, definitions).run()
parentPort!.postMessage(
  outcome._tag === "Crashed"
    ? {
      _tag: "Crashed",
      member: outcome.member,
      message: outcome.error instanceof Error ? (outcome.error.stack ?? outcome.error.message) : String(outcome.error)
    }
    : outcome
)
