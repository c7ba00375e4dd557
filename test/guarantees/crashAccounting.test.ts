/**
 * The README's promises about crashes in worker threads: the throw cases of crashCases.ts (retained
 * records come again, state later in a fused chain or in a merge step is lost, outputs a full ring forced out are dup,
 * dead letters at-least-once), and the killed thread: what it had published counts as `dup` from the
 * ring, and a pass it had committed comes no second time. Each recomputes the outcome from what
 * reached the sink, not only from the ledger, so a ledger that balances for the wrong reason fails too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter } from "@velox/core/stages"
import { BurstThenHang, HangAfterCommit, makeTally, RECORDS, Tally } from "../fixtures/crashAccountingStages.ts"
import { crashCases, provide, restart, stage } from "./crashCases.ts"

/** Waits (without a clock deciding anything) until `done()` holds. */
const until = (done: () => boolean) =>
  Effect.suspend(() => (done() ? Effect.void : Effect.fail("not yet"))).pipe(Effect.retry(Schedule.spaced("5 millis")))

describe("crash accounting", () => {
  crashCases("worker")

  it.live("a worker killed after it published part of a pass is restarted; what it had published counts as dup", () =>
    Effect.gen(function*() {
      const count = 20_000
      const signal = new SharedArrayBuffer(8)
      const tally = makeTally()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count })
          .via(BurstThenHang, { at: 5_001, burst: 4096, signal }, { placement: "worker" })
          .to(Tally, { tally }, { placement: "worker" }),
        { ringCapacity: 1024, restart }
      )
      const flag = new Int32Array(signal)
      // The burst is out (part of it published: it does not fit the ring) and the thread hangs mid-pass.
      yield* until(() => Atomics.load(flag, 0) === 1)
      assert.isTrue(yield* handle.terminateHost("burst-then-hang"))
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "burst-then-hang")
      assert.strictEqual(s.restarts, 1)
      assert.isAbove(s.duplicated, 0, Ledger.format(ledger))
      const t = new Float64Array(tally)
      assert.strictEqual(t[RECORDS], count + s.duplicated)
    }).pipe(Effect.scoped, provide))

  it.live("a worker killed after its pass committed and before it released its input gets nothing twice: exactly-once", () =>
    Effect.gen(function*() {
      const count = 20_000
      const signal = new SharedArrayBuffer(8)
      const tally = makeTally()
      const handle = yield* Pipeline.run(
        Pipeline.from(Counter, { count })
          .via(HangAfterCommit, { at: 5_001, signal }, { placement: "worker" })
          .to(Tally, { tally }, { placement: "worker" }),
        { ringCapacity: 1024, restart }
      )
      // The pass is committed (counted, its outputs published) and its input not yet released.
      yield* until(() => Atomics.load(new Int32Array(signal), 0) === 1)
      assert.isTrue(yield* handle.terminateHost("hang-after-commit"))
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "hang-after-commit")
      assert.strictEqual(s.restarts, 1)
      assert.strictEqual(s.in - s.redelivered, count, Ledger.format(ledger))
      // The supervisor released what the dead thread had committed: nothing came again downstream.
      assert.strictEqual(new Float64Array(tally)[RECORDS], count)
    }).pipe(Effect.scoped, provide))
})
