/**
 * Waiting on a doorbell from a fiber on the main thread, without blocking the event loop.
 */
import { Effect } from "effect"
import type { Doorbell } from "./kernel/doorbell.ts"

/**
 * Longest single `waitAsync`: a safety net, not a poll. Whatever a waiter waits for rings its bell, and
 * an interrupted wait is rung awake at once, so an idle control plane wakes about once a second.
 */
const MAX_ASYNC_WAIT_MS = 1_000

/**
 * Waits until `bell` is rung or `ready()` holds, at most `timeoutMs` (the doorbell protocol: arm,
 * re-check, wait). Interrupted, it rings its own bell so that the pending `waitAsync` ends now rather
 * than at its timeout (a pending wait keeps the process alive).
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
      return Effect.sync(() => bell.ring())
    })
  })
