/**
 * A stage thread parks with the timer slack its run options ask for (`BackoffOptions.timerSlackNs`,
 * velox's default otherwise): how late Linux may end a timed park. A spinning loop keeps the slack it
 * inherited. Read back from inside the stage's own thread.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { IdleStrategy, Pipeline } from "@velox/core"
import { Counter, CountingSink } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { ownTimerSlack, SLACK_SLOT, ThreadProbe } from "../fixtures/threadProbe.ts"

const slackSeenBy = (options: Pipeline.RunOptions) =>
  Effect.gen(function*() {
    const seen = new SharedArrayBuffer(8)
    yield* Pipeline.runToEnd(
      Pipeline.from(Counter, { count: 1_000 })
        .via(ThreadProbe, { seen }, { placement: "worker" })
        .to(CountingSink, {}),
      options
    ).pipe(Effect.provide(NodeStageHost.layer))
    return Atomics.load(new Int32Array(seen), SLACK_SLOT)
  })

// Where /proc has no timer slack (not Linux), the platform cannot set it and says nothing.
describe.skipIf(ownTimerSlack() < 0)("stage thread timer slack", () => {
  it.live("a parking loop's thread gets velox's default slack, or the one the run options ask for", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* slackSeenBy({}), IdleStrategy.BACKOFF_DEFAULTS.timerSlackNs)
      assert.strictEqual(yield* slackSeenBy({ idle: { timerSlackNs: 7_000 } }), 7_000)
    }))

  it.live("a spinning loop's thread keeps the slack it inherited", () =>
    Effect.gen(function*() {
      // A new thread starts with its creator's slack: this thread's.
      assert.strictEqual(yield* slackSeenBy({ idle: "spin" }), ownTimerSlack())
    }))
})
