/**
 * The platform service that runs a host (one loop over a fused chain of stages) in its own thread.
 * Core declares it; `@velox/node` provides it on `worker_threads` (`NodeStageHost.layer`).
 *
 * @since 0.1.0
 */
import { Context, type Effect, Schema } from "effect"
import type { HostSpec } from "./internal/kernel/host.ts"

export type { HostSpec } from "./internal/kernel/host.ts"

/**
 * How a host's thread ended.
 *
 * @category models
 * @since 0.1.0
 */
export type HostOutcome =
  | { readonly _tag: "Drained" }
  | { readonly _tag: "Aborted" }
  /** A stage's code threw; `member` indexes the host's members. */
  | { readonly _tag: "Crashed"; readonly member: number; readonly message: string }
  /** The thread itself died (terminated, uncaught error, failed to load). */
  | { readonly _tag: "Died"; readonly message: string }

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
}>()("@velox/core/StageHost") {}
