/**
 * The throw cases of crashCases.ts with their loops in fibers on the main thread: the same stage runner
 * as in a worker thread, run in the test process, where a mutant of its crash accounting is seen
 * (`npm run mutation -- --module crash-accounting`). Also the poison record, found by replaying the
 * crashed batch one record at a time (its worker variant is in test/pipeline/Pipeline.test.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter, CountingSink } from "@velox/core/stages"
import { ThrowAt } from "../fixtures/faultyStages.ts"
import { crashCases, provide, stage } from "./crashCases.ts"

describe("crash accounting, loops in fibers", () => {
  crashCases("fiber")

  it.live("a record that crashes its stage maxRecordCrashes times is dead-lettered as StageThrew, and every other record flows once", () =>
    Effect.gen(function*() {
      const count = 20_000
      const counter = new SharedArrayBuffer(4)
      const { deadLetters, ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }, { placement: "fiber" })
          .via(ThrowAt, { at: 777, times: 1_000, counter }, { placement: "fiber" })
          .to(CountingSink, {}, { placement: "fiber" }),
        { restart: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 10 })), maxRecordCrashes: 3 }
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "throw-at")
      assert.deepStrictEqual(s.deadLettered, { StageThrew: 1 })
      assert.strictEqual(s.emitted, count - 1)
      // maxRecordCrashes crashes of the record alone (single-stepped), after the batch's if it had one.
      assert.isAtLeast(new Int32Array(counter)[0]!, 3)
      assert.strictEqual(stage(ledger, "counting-sink").in, count - 1)
      assert.deepStrictEqual(deadLetters.map((d) => d.record["seq"]), [777])
    }))
})
