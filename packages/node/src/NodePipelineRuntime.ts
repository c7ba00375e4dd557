/**
 * Runs a pipeline program as a process: SIGINT/SIGTERM drain it, a second signal abandons the drain
 * (saying what it abandons), and the exit code says whether the run was clean.
 *
 * Exit codes:
 * - 0: every pipeline drained and its ledger balanced (also after a signal: draining is a clean stop)
 * - 1: the program failed (a stage given up on, a bad config) or a ledger did not balance
 * - 2: a drain passed its deadline and records were abandoned
 * - 3: a second signal abandoned the drain
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, type Layer, Runtime, type Scope } from "effect"
import { Ledger, Pipeline, type StageHost } from "@velox/core"
import * as NodeStageHost from "./NodeStageHost.ts"

/**
 * @category models
 * @since 0.1.0
 */
export const ExitCode = { Clean: 0, Failed: 1, DrainTimedOut: 2, Abandoned: 3 } as const

/** The exit code for a finished program, from its exit and the drain reports of its pipelines. */
const failedChecks: Array<string> = []

/**
 * Marks the run as not clean for a reason of the program's own (e.g. a reconciliation that did not
 * hold), so it exits 1 even when it was interrupted by a signal and every ledger balanced.
 *
 * @category constructors
 * @since 0.1.0
 */
export const failCheck = (reason: string): void => {
  failedChecks.push(reason)
}

export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  const reports = Pipeline.drainReports()
  if (reports.some((r) => r.timedOut)) return ExitCode.DrainTimedOut
  if (failedChecks.length > 0) return ExitCode.Failed
  if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) return ExitCode.Failed
  if (reports.some((r) => !r.ledger.balanced)) return ExitCode.Failed
  return ExitCode.Clean
}

const isReported = (cause: Cause.Cause<unknown>): boolean =>
  !Cause.hasDies(cause) && cause.reasons.every((r) => !Cause.isFailReason(r) || !Runtime.getErrorReported(r.error))

/**
 * Runs `program` with worker-thread hosts until it ends or a signal arrives; then drains and exits.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { NodePipelineRuntime } from "@velox/node"
 *
 * declare const pipeline: Pipeline.Pipeline
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline, { report: true })
 *   yield* handle.done
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const runMain = <A, E>(
  program: Effect.Effect<A, E, Scope.Scope | StageHost.StageHost>,
  options: { readonly layer?: Layer.Layer<StageHost.StageHost> } = {}
): void => {
  const fiber = Effect.runFork(
    program.pipe(
      Effect.scoped,
      // Failures the program already reported (Runtime.errorReported: effect/cli, NodeCli) are not logged again.
      Effect.tapCause((cause) => (Cause.hasInterruptsOnly(cause) || isReported(cause) ? Effect.void : Effect.logError(cause))),
      Effect.provide(options.layer ?? NodeStageHost.layer)
    )
  )
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals === 1) {
      process.stderr.write(`\n${signal}: draining (send it again to abandon the drain)\n`)
      fiber.interruptUnsafe()
      return
    }
    const lines = Pipeline.running().flatMap((h) => Ledger.abandoned(h.stats()))
    process.stderr.write(
      `\n${signal} again: abandoning the drain; left behind: ${
        lines.length === 0 ? "nothing" : lines.map((l) => `${l.where}: ${l.records}`).join(", ")
      }\n`
    )
    for (const h of Pipeline.running()) h.abortUnsafe()
    process.exit(ExitCode.Abandoned)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    process.exitCode = exitCodeOf(exit)
    // Worker threads are joined by the drain; nothing else should keep the process alive.
    setTimeout(() => process.exit(), 100).unref()
  })
}
