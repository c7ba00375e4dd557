/**
 * Drops records whose `value` is a multiple of `dropEvery` (reason "filtered") and dead-letters those
 * whose `check` field is wrong (error "CorruptRecord"); emits the rest.
 *
 * @category stages
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Stage from "../Stage.ts"
import { checkOf, Sequenced } from "./Sequenced.ts"

export const Filter = Stage.make({
  name: "filter",
  module: import.meta.url,
  input: Sequenced,
  output: Sequenced,
  config: Schema.Struct({ dropEvery: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)) }),
  dropReasons: ["filtered"],
  errors: ["CorruptRecord"],
  make: ({ dropEvery }) => ({
    onBatch(input, start, count, out) {
      const seq = input.fields.seq
      const value = input.fields.value
      const check = input.fields.check
      // Kept records go on in runs: one forward per run of consecutive kept records.
      let run = start
      const end = start + count
      for (let i = start; i < end; i++) {
        const bad = check.get(i) !== checkOf(seq.get(i))
        if (!bad && value.get(i) % dropEvery !== 0) continue
        if (i > run) out.forward(input, run, i - run)
        run = i + 1
        if (bad) out.deadLetter(0, input, i)
        else out.drop(0)
      }
      if (end > run) out.forward(input, run, end - run)
    }
  })
})
