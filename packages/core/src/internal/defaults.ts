/**
 * The one table of defaults behind `Pipeline.run`'s options and `PipelineConfig`'s keys: a setting
 * means the same thing whichever way it is given (`maxRestarts` is always "crashes of one host
 * tolerated within `restartWindow`").
 */
import { Duration, Effect, Schedule } from "effect"
import type { StageCrashed } from "../PipelineError.ts"

export const DEFAULTS = {
  /** Slots per ring between threads (a power of two). */
  ringCapacity: 16384,
  /** Most records a loop handles per pass. */
  batchSize: 256,
  /** Crashes on one record before it is dead-lettered. */
  maxRecordCrashes: 3,
  /** Crashes of one host tolerated within `restartWindowMs`; one more fails the pipeline. */
  maxRestarts: 5,
  restartWindowMs: 60_000,
  /** First backoff delay between restarts, doubling up to `restartDelayCapMs`. */
  restartDelayMs: 10,
  restartDelayCapMs: 1_000,
  /** How long a drain may take before the rest is abandoned. */
  drainTimeoutMs: 10_000,
  /** Dead letters kept for `deadLetters()` (the count is always exact). */
  deadLetterBuffer: 1_000,
  /** Slots of each host's dead-letter ring (the control plane empties it as it fills). */
  deadLetterRingCapacity: 1024
} as const

/** The restart backoff: exponential from `delay`, each step capped at `restartDelayCapMs`. */
export const restartBackoff = (
  delay: Duration.Input = Duration.millis(DEFAULTS.restartDelayMs)
): Schedule.Schedule<unknown, StageCrashed> =>
  Schedule.exponential(delay).pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.millis(DEFAULTS.restartDelayCapMs))))
  ) as unknown as Schedule.Schedule<unknown, StageCrashed>
