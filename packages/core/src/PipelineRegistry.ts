/**
 * The pipelines of one program: which are running (so a second signal can abort them all) and how
 * each drain ended (so the program's exit code can say whether it was clean). A service, not module
 * state: `NodePipelineRuntime.runMain` provides a fresh one per program, and `Pipeline.run` registers
 * with it when it is there (and runs just the same when it is not).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline, PipelineRegistry } from "@velox/core"
 *
 * declare const pipeline: Pipeline.Pipeline
 * const program = Effect.gen(function*() {
 *   yield* Effect.scoped(Pipeline.runToEnd(pipeline))
 *   const registry = yield* PipelineRegistry.PipelineRegistry
 *   return registry.drainReportsUnsafe().every((r) => r.ledger.balanced && !r.timedOut)
 * }).pipe(Effect.provide(PipelineRegistry.layer))
 * ```
 *
 * @since 0.1.0
 */
import { Context, Layer } from "effect"
import type * as Ledger from "./Ledger.ts"
import type { Snapshot } from "./PipelineSnapshot.ts"

/**
 * How the drain of a pipeline ended, for exit codes: `balanced` false in the ledger means a record is
 * not accounted for; `timedOut` means the drain was cut short at its deadline.
 *
 * @category models
 * @since 0.1.0
 */
export interface DrainReport {
  readonly ledger: Ledger.Ledger
  readonly timedOut: boolean
}

/**
 * What the registry keeps of a running pipeline: enough to say what an abort would abandon, and to
 * abort it.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunningPipeline {
  readonly stats: () => Snapshot
  /** Tells every loop to leave at once, draining nothing (a second signal). */
  readonly abortUnsafe: () => void
}

/**
 * @category services
 * @since 0.1.0
 */
export class PipelineRegistry extends Context.Service<PipelineRegistry, {
  /** Adds a running pipeline; `remove` it when its drain ends. */
  readonly addUnsafe: (pipeline: RunningPipeline) => void
  readonly removeUnsafe: (pipeline: RunningPipeline) => void
  /** Records how a pipeline's drain ended. */
  readonly reportUnsafe: (report: DrainReport) => void
  /** Pipelines running now (sync: a signal handler reads it). */
  readonly runningUnsafe: () => ReadonlyArray<RunningPipeline>
  /** Drain reports of every pipeline that finished, oldest first. */
  readonly drainReportsUnsafe: () => ReadonlyArray<DrainReport>
}>()("@velox/core/PipelineRegistry") {}

/**
 * A fresh, empty registry.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (): PipelineRegistry["Service"] => {
  const running = new Set<RunningPipeline>()
  const reports: Array<DrainReport> = []
  return PipelineRegistry.of({
    addUnsafe: (p) => void running.add(p),
    removeUnsafe: (p) => void running.delete(p),
    reportUnsafe: (r) => void reports.push(r),
    runningUnsafe: () => [...running],
    drainReportsUnsafe: () => reports.slice()
  })
}

/**
 * Provides a fresh registry (built once per `Effect.provide`).
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<PipelineRegistry> = Layer.sync(PipelineRegistry, makeUnsafe)
