/**
 * Fiber placement: a host's loop run on the main thread in an Effect fiber, in slices. Between slices
 * the fiber yields; with nothing to do it waits on the host's bell with `Atomics.waitAsync`, so the
 * event loop keeps running (for stages that do I/O, or that must live beside main-thread resources).
 */
import { Effect } from "effect"
import { awaitBell } from "./awaitBell.ts"
import { Doorbell } from "./kernel/doorbell.ts"
import { buildRunner, type HostedDefinition, type HostSpec } from "./kernel/host.ts"
import { makeNanoClock } from "./kernel/nanoClock.ts"
import type { HostOutcome } from "../StageHost.ts"

/** Passes per slice before the fiber yields to the event loop. */
const PASSES_PER_SLICE = 64

export const runInFiber = (spec: HostSpec, definitions: ReadonlyArray<HostedDefinition>): Effect.Effect<HostOutcome> =>
  Effect.suspend(() => {
    const runner = buildRunner(spec, definitions)
    const bell = new Doorbell(spec.bell)
    const clock = makeNanoClock(spec.epochNs)
    const loop: Effect.Effect<HostOutcome> = Effect.suspend(() => {
      const r = runner.runSlice(PASSES_PER_SLICE)
      if (typeof r !== "number") {
        return Effect.succeed<HostOutcome>(
          r._tag === "Crashed"
            ? { _tag: "Crashed", member: r.member, message: r.error instanceof Error ? (r.error.stack ?? r.error.message) : String(r.error) }
            : r
        )
      }
      const next = r > 0
        ? Effect.yieldNow
        : awaitBell(bell, () => runner.ready(), Math.max(0, (runner.wakeAtNs() - clock.nowNs()) / 1e6))
      return next.pipe(Effect.andThen(loop))
    })
    return loop
  })
