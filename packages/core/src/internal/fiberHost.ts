/**
 * Fiber placement: a host's loop run on the main thread in an Effect fiber, in slices. Between slices
 * the fiber yields; with nothing to do it waits on the host's bell with `Atomics.waitAsync`, so the
 * event loop keeps running (for stages that do I/O, or that must live beside main-thread resources).
 * It never waits synchronously: a pass takes no more than its output and dead-letter rings can hold; a
 * pass that emits more than its output ring has room for (a 1:n stage) spills the rest and commits in a
 * later slice, once the ring's consumer made room; should a pass fill its dead-letter ring,
 * `readDeadLetters` empties it on this thread.
 */
import { Effect } from "effect"
import { awaitBell } from "./awaitBell.ts"
import { Doorbell } from "./kernel/doorbell.ts"
import { buildRunner, type HostedDefinition, type HostOutcome, type HostSpec, outcomeOf, startFailed } from "./kernel/host.ts"
import { makeNanoClock } from "./kernel/nanoClock.ts"
import type { StageRunner } from "./kernel/stageRunner.ts"

/** Passes per slice before the fiber yields to the event loop. */
const PASSES_PER_SLICE = 64

/**
 * Runs one pass of the loop now (see `StageRunner.pumpPass`), or returns 0 without running it when the
 * loop is inside a slice (the caller was called from the loop's own pass) or over.
 */
export type PumpPass = () => number

export const runInFiber = (
  spec: HostSpec,
  definitions: ReadonlyArray<HostedDefinition>,
  readDeadLetters: () => void,
  /** Told how to pump this loop while it runs, and `undefined` once it is over (a source edge's queue). */
  onPump?: (pump: PumpPass | undefined) => void
): Effect.Effect<HostOutcome> =>
  Effect.suspend(() => {
    let runner: StageRunner
    try {
      runner = buildRunner(spec, definitions, { deadLetterWaiter: { waitForSpace: readDeadLetters } })
    } catch (e) {
      return Effect.succeed(startFailed(e, 0))
    }
    const bell = new Doorbell(spec.bell)
    const clock = makeNanoClock(spec.epochNs)
    let inPass = false
    let over = false
    const pump: PumpPass = () => {
      if (inPass || over) return 0
      inPass = true
      try {
        return runner.pumpPass()
      } finally {
        inPass = false
      }
    }
    const endPumping = (): void => {
      over = true
      onPump?.(undefined)
    }
    onPump?.(pump)
    const loop: Effect.Effect<HostOutcome> = Effect.suspend(() => {
      inPass = true
      let r: ReturnType<StageRunner["runSlice"]>
      try {
        r = runner.runSlice(PASSES_PER_SLICE)
      } finally {
        inPass = false
      }
      if (typeof r !== "number") {
        endPumping()
        return Effect.succeed(outcomeOf(r))
      }
      // Wait until rung, or until a timer or a paced source is due. A due time already passed that
      // finds nothing to do (its output is full) waits for the bell too: a zero wait would spin on
      // promise callbacks and starve the event loop.
      const dueMs = (runner.wakeAtNs() - clock.nowNs()) / 1e6
      const next = r > 0 ? Effect.yieldNow : dueMs > 0 ? awaitBell(bell, () => runner.ready(), dueMs) : awaitBell(bell, () => runner.ready())
      return next.pipe(Effect.andThen(loop))
    })
    // Interrupted between slices (a drain past its deadline): its stages still close.
    return loop.pipe(Effect.onInterrupt(() =>
      Effect.sync(() => {
        endPumping()
        runner.abandon()
      })
    ))
  })
