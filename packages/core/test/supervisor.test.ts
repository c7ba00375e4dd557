import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Queue, Schedule } from "effect"
import { TestClock } from "effect/testing"
import type { HostOutcome } from "../src/internal/kernel/host.ts"
import { DEFAULTS, restartBackoff } from "../src/internal/defaults.ts"
import { type SuperviseDefaults, type Supervised, supervise } from "../src/internal/supervisor.ts"
import type { Supervision } from "../src/PipelineBuilder.ts"

/** A host whose loop ends however the test says, and a log of what the supervisor did. */
const harness = (policy: Supervision, defaults: SuperviseDefaults = { restart: Schedule.forever, maxRestarts: 5, window: "1 minute" }) =>
  Effect.gen(function*() {
    const outcomes = yield* Queue.unbounded<HostOutcome>()
    const events = yield* Queue.unbounded<string>()
    const host: Supervised = {
      name: "h",
      start: Queue.take(outcomes),
      stageOf: () => "s",
      policyOf: () => policy,
      crashed: () => void Queue.offerUnsafe(events, "crashed"),
      restarted: () => void Queue.offerUnsafe(events, "restarted"),
      giveUp: (c) => Queue.offer(events, `gave up: ${c.reason}`),
      stop: Queue.offer(events, "stopped")
    }
    const fiber = yield* Effect.forkChild(supervise(host, defaults), {
      startImmediately: true
    })
    const next = Queue.take(events)
    /** One crash, and what the supervisor made of it. */
    const crash = (outcome: HostOutcome = { _tag: "Crashed", member: 0, message: "boom" }) =>
      Effect.gen(function*() {
        yield* Queue.offer(outcomes, outcome)
        assert.strictEqual(yield* next, "crashed")
        return yield* next
      })
    return { fiber, outcomes, crash, events }
  })

// Restarts at once (the backoff is not what is tested): only the clock moves the window.
const budget = (maxRestarts: number, window: Duration.Input): Supervision => ({ _tag: "Restart", backoff: Schedule.forever, maxRestarts, window })

describe("the supervisor", () => {
  it.effect("crashes further apart than the window never use up the restart budget", () =>
    Effect.gen(function*() {
      const { crash, fiber, outcomes } = yield* harness(budget(2, "10 seconds"))
      for (let i = 0; i < 6; i++) {
        assert.strictEqual(yield* crash(), "restarted")
        yield* TestClock.adjust("6 seconds")
      }
      yield* Queue.offer(outcomes, { _tag: "Drained" })
      yield* Fiber.join(fiber)
    }))

  it.effect("one crash more than maxRestarts within the window gives up on the host (RestartBudget)", () =>
    Effect.gen(function*() {
      const { crash, fiber } = yield* harness(budget(2, "10 seconds"))
      assert.strictEqual(yield* crash(), "restarted")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* crash(), "restarted")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* crash(), "gave up: RestartBudget")
      yield* Fiber.join(fiber)
    }))

  it.effect("the window slides: the oldest crash leaves it as the clock moves past its width", () =>
    Effect.gen(function*() {
      const { crash, fiber } = yield* harness(budget(2, "10 seconds"))
      assert.strictEqual(yield* crash(), "restarted") // t = 0
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* crash(), "restarted") // t = 1
      yield* TestClock.adjust("9500 millis")
      assert.strictEqual(yield* crash(), "restarted") // t = 10.5: the crash at 0 has left the window
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* crash(), "gave up: RestartBudget") // t = 10.6: 1, 10.5 and 10.6 are within 10 s
      yield* Fiber.join(fiber)
    }))

  it.effect("a start that failed is given up on at once, whatever the budget; Stop and Escalate act on the first crash", () =>
    Effect.gen(function*() {
      const started = yield* harness(budget(100, "1 minute"))
      assert.strictEqual(yield* started.crash({ _tag: "StartFailed", member: 0, message: "cannot open" }), "gave up: StartFailed")
      yield* Fiber.join(started.fiber)
      const stopped = yield* harness({ _tag: "Stop" })
      assert.strictEqual(yield* stopped.crash(), "stopped")
      yield* Fiber.join(stopped.fiber)
      const escalated = yield* harness({ _tag: "Escalate" })
      assert.strictEqual(yield* escalated.crash({ _tag: "Died", message: "killed" }), "gave up: Escalated")
      yield* Fiber.join(escalated.fiber)
    }))

  it.effect("a backoff schedule that ends gives up on the host (BackoffEnded)", () =>
    Effect.gen(function*() {
      const { crash, fiber } = yield* harness({ _tag: "Restart", backoff: Schedule.recurs(1), maxRestarts: 100 })
      assert.strictEqual(yield* crash(), "restarted")
      assert.strictEqual(yield* crash(), "gave up: BackoffEnded")
      yield* Fiber.join(fiber)
    }))

  it.effect("the documented defaults: backoff from 10 ms doubling to a 1 s cap, at most 5 restarts within a minute", () =>
    Effect.gen(function*() {
      // What Pipeline.run gives a Restart policy that sets nothing (the README: "exponential from 10 ms,
      // capped at 1 s — and at most 5 restarts within a minute").
      const defaults: SuperviseDefaults = { restart: restartBackoff(), maxRestarts: DEFAULTS.maxRestarts, window: `${DEFAULTS.restartWindowMs} millis` }
      /** Crashes, and checks the restart comes exactly `delayMs` of clock later. */
      const crashAndWait = (h: Effect.Success<ReturnType<typeof harness>>, delayMs: number) =>
        Effect.gen(function*() {
          yield* Queue.offer(h.outcomes, { _tag: "Crashed", member: 0, message: "boom" })
          assert.strictEqual(yield* Queue.take(h.events), "crashed")
          yield* TestClock.adjust(delayMs - 1)
          assert.isTrue((yield* Queue.poll(h.events))._tag === "None", `restarted before ${delayMs} ms`)
          yield* TestClock.adjust(1)
          assert.strictEqual(yield* Queue.take(h.events), "restarted")
        })
      const first = yield* harness({ _tag: "Restart" }, defaults)
      const { events, fiber, outcomes } = first
      for (const delay of [10, 20, 40, 80, 160]) yield* crashAndWait(first, delay)
      // The 6th crash, 310 ms after the first: one more than 5 within a minute.
      yield* Queue.offer(outcomes, { _tag: "Crashed", member: 0, message: "boom" })
      assert.strictEqual(yield* Queue.take(events), "crashed")
      assert.strictEqual(yield* Queue.take(events), "gave up: RestartBudget")
      yield* Fiber.join(fiber)

      // With room in the budget the backoff keeps doubling, and stops at 1 s.
      const long = yield* harness({ _tag: "Restart", maxRestarts: 100 }, defaults)
      for (const delay of [10, 20, 40, 80, 160, 320, 640, 1_000, 1_000]) yield* crashAndWait(long, delay)
      yield* Queue.offer(long.outcomes, { _tag: "Drained" })
      yield* Fiber.join(long.fiber)
    }))
})
