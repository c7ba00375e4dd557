/**
 * The platform service that runs a host (one loop over a fused chain of stages) in its own thread.
 * Core declares it; `@velox/node` provides it on `worker_threads` (`NodeStageHost.layer`), with the
 * thread's entry built on `@velox/core/platform`.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema } from "effect"
import type { HostOutcome, HostSpec } from "./internal/kernel/host.ts"

export type {
  /**
   * How a host's thread ended: `Drained`, `Aborted`, `Crashed` (a stage threw; `member` indexes the
   * host's members), `StartFailed` (a stage module did not load or its `make` threw), `Died` (the
   * thread itself died).
   *
   * @category models
   * @since 0.1.0
   */
  HostOutcome,
  HostSpec
} from "./internal/kernel/host.ts"

/**
 * A host could not be started at all (e.g. the platform has no threads).
 *
 * @category errors
 * @since 0.1.0
 */
export class StageHostError extends Schema.TaggedError<StageHostError>()("StageHostError", {
  host: Schema.String,
  message: Schema.String
}) {}

/**
 * Runs hosts. `run(spec)` starts a thread for `spec` and completes with how it ended; interrupting it
 * terminates the thread.
 *
 * @category services
 * @since 0.1.0
 */
export class StageHost extends Context.Service<StageHost, {
  readonly run: (spec: HostSpec) => Effect.Effect<HostOutcome, StageHostError>
  /** Stops a running host's thread abruptly (fault injection, second signal). */
  readonly terminate: (host: string) => Effect.Effect<boolean>
  /**
   * URL of the module the program was started from, when the platform knows it. A thread that
   * imported it would run the program again, so `Pipeline.run` refuses to place a stage defined there
   * in a thread.
   */
  readonly entryModule?: string | undefined
}>()("@velox/core/StageHost") {}
