import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Logger, Queue, Schedule } from "effect"
import { TestClock } from "effect/testing"
import type { HostOutcome } from "../src/internal/kernel/host.ts"
import { DEFAULTS, restartBackoff } from "../src/internal/defaults.ts"
import { type SuperviseDefaults, type Supervised, supervise } from "../src/internal/supervisor.ts"
import type { Supervision } from "../src/PipelineBuilder.ts"

/** The members of the harness's host: a fused host of two stages, each with a policy of its own. */
const MEMBERS = ["s", "t"] as const

/**
 * A host whose loop ends however the test says, and a log of what the supervisor did. `policy` is
 * every member's, unless `policies` names a member's own.
 */
const harness = (
  policy: Supervision,
  defaults: SuperviseDefaults = { restart: Schedule.forever, maxRestarts: 5, window: "1 minute" },
  policies: Partial<Record<(typeof MEMBERS)[number], Supervision>> = {}
) =>
  Effect.gen(function*() {
    const outcomes = yield* Queue.unbounded<HostOutcome>()
    const events = yield* Queue.unbounded<string>()
    const host: Supervised = {
      name: "h",
      start: Queue.take(outcomes),
      stageOf: (member) => {
        const stage = MEMBERS[member]
        if (stage === undefined) throw new Error(`the host has no member ${member}`)
        return stage
      },
      policyOf: (stage) => policies[stage as (typeof MEMBERS)[number]] ?? policy,
      crashed: (stage) => void Queue.offerUnsafe(events, `crashed ${stage}`),
      restarted: (stage) => void Queue.offerUnsafe(events, `restarted ${stage}`),
      giveUp: (c) => Queue.offer(events, `gave up on ${c.stage}: ${c.reason}`),
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
        assert.match(yield* next, /^crashed /)
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
        assert.strictEqual(yield* crash(), "restarted s")
        yield* TestClock.adjust("6 seconds")
      }
      yield* Queue.offer(outcomes, { _tag: "Drained" })
      yield* Fiber.join(fiber)
    }))

  it.effect("one crash more than maxRestarts within the window gives up on the host (RestartBudget)", () =>
    Effect.gen(function*() {
      const { crash, fiber } = yield* harness(budget(2, "10 seconds"))
      assert.strictEqual(yield* crash(), "restarted s")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* crash(), "restarted s")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* crash(), "gave up on s: RestartBudget")
      yield* Fiber.join(fiber)
    }))

  it.effect("the window slides: the oldest crash leaves it as the clock moves past its width", () =>
    Effect.gen(function*() {
      const { crash, fiber } = yield* harness(budget(2, "10 seconds"))
      assert.strictEqual(yield* crash(), "restarted s") // t = 0
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* crash(), "restarted s") // t = 1
      yield* TestClock.adjust("9500 millis")
      assert.strictEqual(yield* crash(), "restarted s") // t = 10.5: the crash at 0 has left the window
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* crash(), "gave up on s: RestartBudget") // t = 10.6: 1, 10.5 and 10.6 are within 10 s
      yield* Fiber.join(fiber)
    }))

  it.effect("a crash counts in the window until it is exactly the window's width old", () =>
    Effect.gen(function*() {
      const { crash, fiber, outcomes } = yield* harness(budget(1, "10 seconds"))
      assert.strictEqual(yield* crash(), "restarted s") // t = 0
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* crash(), "restarted s") // t = 10: the crash at 0 is 10 s old, out of the window
      yield* TestClock.adjust("9999 millis")
      assert.strictEqual(yield* crash(), "gave up on s: RestartBudget") // t = 19.999: 10 is still within it
      yield* Fiber.join(fiber)
      assert.strictEqual(yield* Queue.size(outcomes), 0)
    }))

  it.effect("in a fused host the crashed member's own policy applies; a dead thread is its first member's crash", () =>
    Effect.gen(function*() {
      // s restarts, t stops: each crash is about the member that threw.
      const fused = yield* harness(budget(5, "1 minute"), undefined, { t: { _tag: "Stop" } })
      assert.strictEqual(yield* fused.crash({ _tag: "Crashed", member: 0, message: "boom" }), "restarted s")
      yield* Queue.offer(fused.outcomes, { _tag: "Crashed", member: 1, message: "boom" })
      assert.strictEqual(yield* Queue.take(fused.events), "crashed t")
      assert.strictEqual(yield* Queue.take(fused.events), "stopped")
      yield* Fiber.join(fused.fiber)

      // A thread that died names no member: it is the host's first stage that crashed.
      const died = yield* harness({ _tag: "Stop" }, undefined, { s: budget(5, "1 minute") })
      yield* Queue.offer(died.outcomes, { _tag: "Died", message: "terminated" })
      assert.strictEqual(yield* Queue.take(died.events), "crashed s")
      assert.strictEqual(yield* Queue.take(died.events), "restarted s")
      yield* Queue.offer(died.outcomes, { _tag: "Drained" })
      yield* Fiber.join(died.fiber)
      const escalated = yield* harness(budget(5, "1 minute"), undefined, { t: { _tag: "Escalate" } })
      yield* Queue.offer(escalated.outcomes, { _tag: "Crashed", member: 1, message: "boom" })
      assert.strictEqual(yield* Queue.take(escalated.events), "crashed t")
      assert.strictEqual(yield* Queue.take(escalated.events), "gave up on t: Escalated")
      yield* Fiber.join(escalated.fiber)
    }))

  it.effect("an aborted host (the drain abandoned) is neither restarted, stopped, nor given up on", () =>
    Effect.gen(function*() {
      const { events, fiber, outcomes } = yield* harness(budget(5, "1 minute"))
      yield* Queue.offer(outcomes, { _tag: "Aborted" })
      yield* Fiber.join(fiber)
      assert.strictEqual(yield* Queue.size(events), 0)
      assert.strictEqual(yield* Queue.size(outcomes), 0)
    }))

  it.effect("each crash is logged as a warning naming the stage, its host and the error's first line", () => {
    const logs: Array<string> = []
    const capture = Logger.layer([Logger.make(({ logLevel, message }) => void logs.push(`${logLevel} ${[message].flat().join(" ")}`))])
    return Effect.gen(function*() {
      const { crash, fiber } = yield* harness(budget(5, "1 minute"), undefined, { t: { _tag: "Stop" } })
      assert.strictEqual(yield* crash({ _tag: "Crashed", member: 0, message: "RangeError: bad price\n    at handler (stage.ts:1)" }), "restarted s")
      assert.strictEqual(yield* crash({ _tag: "StartFailed", member: 1, message: "ENOENT: no such file\n    at open" }), "stopped")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(logs, [
        "Warn stage s (host h) crashed: RangeError: bad price",
        "Warn stage t (host h) could not start: ENOENT: no such file"
      ])
    }).pipe(Effect.provide(capture))
  })

  it.effect("a start that failed is given up on at once, whatever the budget; Stop and Escalate act on the first crash", () =>
    Effect.gen(function*() {
      const started = yield* harness(budget(100, "1 minute"))
      assert.strictEqual(yield* started.crash({ _tag: "StartFailed", member: 0, message: "cannot open" }), "gave up on s: StartFailed")
      yield* Fiber.join(started.fiber)
      const stopped = yield* harness({ _tag: "Stop" })
      assert.strictEqual(yield* stopped.crash(), "stopped")
      yield* Fiber.join(stopped.fiber)
      const escalated = yield* harness({ _tag: "Escalate" })
      assert.strictEqual(yield* escalated.crash({ _tag: "Died", message: "killed" }), "gave up on s: Escalated")
      yield* Fiber.join(escalated.fiber)
    }))

  it.effect("a backoff schedule that ends gives up on the host (BackoffEnded)", () =>
    Effect.gen(function*() {
      const { crash, fiber } = yield* harness({ _tag: "Restart", backoff: Schedule.recurs(1), maxRestarts: 100 })
      assert.strictEqual(yield* crash(), "restarted s")
      assert.strictEqual(yield* crash(), "gave up on s: BackoffEnded")
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
          assert.strictEqual(yield* Queue.take(h.events), "crashed s")
          yield* TestClock.adjust(delayMs - 1)
          assert.isTrue((yield* Queue.poll(h.events))._tag === "None", `restarted before ${delayMs} ms`)
          yield* TestClock.adjust(1)
          assert.strictEqual(yield* Queue.take(h.events), "restarted s")
        })
      const first = yield* harness({ _tag: "Restart" }, defaults)
      const { events, fiber, outcomes } = first
      for (const delay of [10, 20, 40, 80, 160]) yield* crashAndWait(first, delay)
      // The 6th crash, 310 ms after the first: one more than 5 within a minute.
      yield* Queue.offer(outcomes, { _tag: "Crashed", member: 0, message: "boom" })
      assert.strictEqual(yield* Queue.take(events), "crashed s")
      assert.strictEqual(yield* Queue.take(events), "gave up on s: RestartBudget")
      yield* Fiber.join(fiber)

      // With room in the budget the backoff keeps doubling, and stops at 1 s.
      const long = yield* harness({ _tag: "Restart", maxRestarts: 100 }, defaults)
      for (const delay of [10, 20, 40, 80, 160, 320, 640, 1_000, 1_000]) yield* crashAndWait(long, delay)
      yield* Queue.offer(long.outcomes, { _tag: "Drained" })
      yield* Fiber.join(long.fiber)
    }))
})
