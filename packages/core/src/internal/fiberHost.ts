/**
 * Fiber placement: a host's loop run on the main thread in an Effect fiber, in slices. Between slices
 * the fiber yields; with nothing to do it waits on the host's bell with `Atomics.waitAsync`, so the
 * event loop keeps running (for stages that do I/O, or that must live beside main-thread resources).
 * It never waits synchronously: a pass takes no more than its output and dead-letter rings can hold,
 * and should a pass still fill its dead-letter ring, `readDeadLetters` empties it on this thread.
 */
import { Effect } from "effect"
import { awaitBell } from "./awaitBell.ts"
import { Doorbell } from "./kernel/doorbell.ts"
import { buildRunner, type HostedDefinition, type HostOutcome, type HostSpec, outcomeOf, startFailed } from "./kernel/host.ts"
import { makeNanoClock } from "./kernel/nanoClock.ts"
import type { StageRunner } from "./kernel/stageRunner.ts"

/** Passes per slice before the fiber yields to the event loop. */
const PASSES_PER_SLICE = 64

export const runInFiber = (
  spec: HostSpec,
  definitions: ReadonlyArray<HostedDefinition>,
  readDeadLetters: () => void
): Effect.Effect<HostOutcome> =>
  Effect.suspend(() => {
    let runner: StageRunner
    try {
      runner = buildRunner(spec, definitions, { waitForSpace: readDeadLetters })
    } catch (e) {
      return Effect.succeed(startFailed(e, 0))
    }
    const bell = new Doorbell(spec.bell)
    const clock = makeNanoClock(spec.epochNs)
    const loop: Effect.Effect<HostOutcome> = Effect.suspend(() => {
      const r = runner.runSlice(PASSES_PER_SLICE)
      if (typeof r !== "number") return Effect.succeed(outcomeOf(r))
      // Wait until rung, or until a timer or a paced source is due. A due time already passed that
      // finds nothing to do (its output is full) waits for the bell too: a zero wait would spin on
      // promise callbacks and starve the event loop.
      const dueMs = (runner.wakeAtNs() - clock.nowNs()) / 1e6
      const next = r > 0 ? Effect.yieldNow : dueMs > 0 ? awaitBell(bell, () => runner.ready(), dueMs) : awaitBell(bell, () => runner.ready())
      return next.pipe(Effect.andThen(loop))
    })
    // Interrupted between slices (a drain past its deadline): its stages still close.
    return loop.pipe(Effect.onInterrupt(() => Effect.sync(() => runner.abandon())))
  })
