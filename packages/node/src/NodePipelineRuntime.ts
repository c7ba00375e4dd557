/**
 * Runs a pipeline program as a process: SIGINT/SIGTERM drain it, a second signal abandons the drain
 * (saying what it abandons), and the exit code says whether the run was clean.
 *
 * Exit codes:
 * - 0: every pipeline drained and its ledger balanced (also after a signal: draining is a clean stop)
 * - 1: the program failed (a stage given up on, a bad config, a {@link CheckFailed}) or a ledger did
 *   not balance
 * - 2: a drain passed its deadline and records were abandoned
 * - 3: a second signal abandoned the drain
 *
 * @since 0.1.0
 */
import { Cause, Effect, Exit, type Layer, Runtime, Schema, type Scope } from "effect"
import { Ledger, PipelineRegistry, type StageHost } from "@velox/core"
import { inStageThread } from "./internal/stageThread.ts"
import * as NodeStageHost from "./NodeStageHost.ts"

/**
 * @category models
 * @since 0.1.0
 */
export const ExitCode = { Clean: 0, Failed: 1, DrainTimedOut: 2, Abandoned: 3 } as const

/**
 * A check of the program's own did not hold (e.g. a reconciliation): the program fails with it, and
 * exits 1 even when it was stopped by a signal and every ledger balanced.
 *
 * @category errors
 * @since 0.1.0
 */
export class CheckFailed extends Schema.TaggedError<CheckFailed>()("CheckFailed", {
  check: Schema.String
}) {
  override get message(): string {
    return `check failed: ${this.check}`
  }
}

/**
 * Fails the program with a {@link CheckFailed}. In a finalizer (`Effect.onExit`) it still counts: the
 * failure joins the program's cause, so a run stopped by Ctrl-C whose reconciliation did not hold
 * exits 1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { NodePipelineRuntime } from "@velox/node"
 *
 * const reconcile = (sent: number, received: number) =>
 *   sent === received ? Effect.void : NodePipelineRuntime.failCheck(`sent ${sent} ≠ received ${received}`)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const failCheck = (check: string): Effect.Effect<never, CheckFailed> =>
  Effect.serviceOption(PipelineRegistry.PipelineRegistry).pipe(
    Effect.flatMap((registry) => {
      // Recorded too: effect/cli's error handling drops a finalizer's failure once Ctrl-C interrupted the program.
      if (registry._tag === "Some") registry.value.failCheckUnsafe(check)
      return Effect.fail(new CheckFailed({ check }))
    })
  )

/**
 * The exit code for a finished program, from its exit and the drain reports of its pipelines.
 *
 * @category constructors
 * @since 0.1.0
 */
export const exitCodeOf = (
  exit: Exit.Exit<unknown, unknown>,
  reports: ReadonlyArray<PipelineRegistry.DrainReport>,
  failedChecks: ReadonlyArray<string> = []
): number => {
  if (reports.some((r) => r.timedOut)) return ExitCode.DrainTimedOut
  if (failedChecks.length > 0) return ExitCode.Failed
  if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) return ExitCode.Failed
  if (reports.some((r) => !r.ledger.balanced)) return ExitCode.Failed
  return ExitCode.Clean
}

const isReported = (cause: Cause.Cause<unknown>): boolean =>
  !Cause.hasDies(cause) && cause.reasons.every((r) => !Cause.isFailReason(r) || !Runtime.getErrorReported(r.error))

/**
 * Runs `program` with worker-thread hosts and a fresh `PipelineRegistry` until it ends or a signal
 * arrives; then drains and exits. In a stage host thread it refuses to start: that thread imported the
 * program's entry module (a stage defined there, or a module that imports it), which must not run the
 * program a second time.
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
  program: Effect.Effect<A, E, Scope.Scope | StageHost.StageHost | PipelineRegistry.PipelineRegistry>,
  options: { readonly layer?: Layer.Layer<StageHost.StageHost> } = {}
): void => {
  if (inStageThread()) {
    throw new Error(
      "NodePipelineRuntime.runMain was called in a stage host thread: the thread imported the program's entry " +
        "module, which must not run the program again. Move the stages defined in the entry module (and " +
        "whatever they import from it) to their own modules."
    )
  }
  const registry = PipelineRegistry.makeUnsafe()
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    signals++
    if (signals === 1) {
      process.stderr.write(`\n${signal}: draining (send it again to abandon the drain)\n`)
      fiber.interruptUnsafe()
      return
    }
    const running = registry.runningUnsafe()
    const lines = running.flatMap((p) => Ledger.abandoned(p.stats()))
    process.stderr.write(
      `\n${signal} again: abandoning the drain; left behind: ${
        lines.length === 0 ? "nothing" : lines.map((l) => `${l.where}: ${l.records}`).join(", ")
      }\n`
    )
    for (const p of running) p.abortUnsafe()
    process.exit(ExitCode.Abandoned)
  }
  // Before the program starts: what it prints synchronously (a "ready" line) may already draw a signal.
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const fiber = Effect.runFork(
    program.pipe(
      Effect.scoped,
      // Failures the program already reported (Runtime.errorReported: effect/cli, NodeCli) are not logged again.
      // onError, not tapCause: tapCause loses a finalizer's failure (a failed check) on an interrupted fiber.
      Effect.onError((cause) => (Cause.hasInterruptsOnly(cause) || isReported(cause) ? Effect.void : Effect.logError(cause))),
      Effect.provide(options.layer ?? NodeStageHost.layer),
      Effect.provideService(PipelineRegistry.PipelineRegistry, registry)
    )
  )
  fiber.addObserver((exit) => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    const failedChecks = registry.failedChecksUnsafe()
    // A check failed in a finalizer after a signal: its failure did not reach the exit, so say it here.
    if (failedChecks.length > 0 && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) {
      for (const check of failedChecks) process.stderr.write(`check failed: ${check}\n`)
    }
    process.exitCode = exitCodeOf(exit, registry.drainReportsUnsafe(), failedChecks)
    // Worker threads are joined by the drain; nothing else should keep the process alive.
    setTimeout(() => process.exit(), 100).unref()
  })
}
