/**
 * Waiting on a doorbell from a fiber on the main thread, without blocking the event loop.
 */
import { Effect } from "effect"
import type { Doorbell } from "./kernel/doorbell.ts"

/** Longest single `waitAsync`: an interrupted fiber's pending wait then lapses quickly. */
const MAX_ASYNC_WAIT_MS = 50

/**
 * Waits until `bell` is rung or `ready()` holds, at most `timeoutMs` (the doorbell protocol: arm,
 * re-check, wait).
 */
export const awaitBell = (bell: Doorbell, ready: () => boolean, timeoutMs: number = MAX_ASYNC_WAIT_MS): Effect.Effect<void> =>
  Effect.suspend(() => {
    bell.arm()
    if (ready()) {
      bell.disarm()
      return Effect.void
    }
    return Effect.callback<void>((resume) => {
      bell.waitAsync(Math.min(timeoutMs, MAX_ASYNC_WAIT_MS)).then(() => {
        bell.disarm()
        resume(Effect.void)
      })
    })
  })
