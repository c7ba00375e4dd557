import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Queue, Schedule } from "effect"
import { TestClock } from "effect/testing"
import type { HostOutcome } from "../src/internal/kernel/host.ts"
import { type Supervised, supervise } from "../src/internal/supervisor.ts"
import type { Supervision } from "../src/PipelineBuilder.ts"

/** A host whose loop ends however the test says, and a log of what the supervisor did. */
const harness = (policy: Supervision) =>
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
    const fiber = yield* Effect.forkChild(supervise(host, { restart: Schedule.forever, maxRestarts: 5, window: "1 minute" }), {
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
    return { fiber, outcomes, crash }
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
})
