/**
 * The README's promises about supervision and health, through a running pipeline: the default
 * restart budget (5 restarts within a minute), a restart window that expires, and readiness that a
 * stopped or restarting stage takes away.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter, CountingSink } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { CRASHED, CrashOnDemand, makeDemand, REQUESTED } from "../fixtures/crashAccountingStages.ts"
import { ThrowAt } from "../fixtures/faultyStages.ts"

const provide = Effect.provide(NodeStageHost.layer)
const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

/** Waits (without a clock deciding anything) until `done()` holds. */
const until = (done: () => boolean) =>
  Effect.suspend(() => (done() ? Effect.void : Effect.fail("not yet"))).pipe(Effect.retry(Schedule.spaced("5 millis")))

describe("supervision and health", () => {
  it.live("by default a stage is restarted 5 times within a minute; the 6th crash fails the run (RestartBudget)", () =>
    Effect.gen(function*() {
      const counter = new SharedArrayBuffer(4)
      const error = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count: 10_000 })
          // In a fiber: a restart there starts no thread, so six crashes fit in the minute on any machine.
          .via(ThrowAt, { at: 10, times: 1_000, counter }, { placement: "fiber" })
          .to(CountingSink, {}),
        { maxRecordCrashes: 100 }
      ).pipe(provide, Effect.flip)
      assert.strictEqual(error._tag, "StageCrashed")
      if (error._tag === "StageCrashed") assert.strictEqual(error.reason, "RestartBudget")
      assert.strictEqual(new Int32Array(counter)[0], 6)
    }))

  it.live("crashes further apart than the restart window never use up the budget", () =>
    Effect.gen(function*() {
      const demand = makeDemand()
      const d = new Int32Array(demand)
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity })
          .via(CrashOnDemand, { demand }, {
            placement: "worker",
            supervision: Pipeline.Supervision.restart({ backoff: Schedule.spaced("1 millis"), maxRestarts: 1, window: "200 millis" })
          })
          .to(CountingSink, {})
      )
      for (let crash = 1; crash <= 3; crash++) {
        Atomics.store(d, REQUESTED, crash)
        yield* until(() => stage(handle.ledger(), "crash-on-demand").restarts === crash)
        // Past the window: the crash just made no longer counts against the next one.
        yield* Effect.sleep("400 millis")
      }
      yield* handle.stop
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(Atomics.load(d, CRASHED), 3)
      assert.strictEqual(stage(ledger, "crash-on-demand").restarts, 3)
    }).pipe(Effect.scoped, provide))

  it.live("health is not ready while a stage is stopped, though the rest runs on, and says which", () =>
    Effect.gen(function*() {
      const counter = new SharedArrayBuffer(4)
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity })
          .via(ThrowAt, { at: 5_000, times: 1, counter }, { placement: "worker", supervision: Pipeline.Supervision.stop })
          .to(CountingSink, {}, { placement: "worker" }),
        // Smaller than the records before the throw: the sink has started (not "starting") by then.
        { ringCapacity: 1024 }
      )
      yield* until(() => handle.health().stages.some((s) => s.stage === "throw-at" && s.state === "Stopped"))
      const health = handle.health()
      assert.strictEqual(health.status, "running")
      assert.isFalse(health.ready)
      assert.include(health.reasons, "stage throw-at is stopped")
      yield* handle.stop
      yield* handle.done
    }).pipe(Effect.scoped, provide))

  it.live("health is not ready while a crashed stage waits for its restart, and ready again once it runs", () =>
    Effect.gen(function*() {
      const demand = makeDemand()
      const d = new Int32Array(demand)
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count: Infinity })
          .via(CrashOnDemand, { demand }, {
            placement: "worker",
            supervision: Pipeline.Supervision.restart({ backoff: Schedule.spaced("1 second"), maxRestarts: 5, window: "1 minute" })
          })
          .to(CountingSink, {})
      )
      yield* until(() => handle.health().ready)
      Atomics.store(d, REQUESTED, 1)
      // The backoff holds the stage crashed for a second: plenty of polls see it.
      yield* until(() => handle.health().stages.some((s) => s.stage === "crash-on-demand" && s.state === "Crashed"))
      const health = handle.health()
      assert.isFalse(health.ready)
      assert.include(health.reasons, "stage crash-on-demand crashed (restarting)")
      yield* until(() => stage(handle.ledger(), "crash-on-demand").restarts === 1 && handle.health().ready)
      yield* handle.stop
      yield* handle.done
    }).pipe(Effect.scoped, provide))
})
