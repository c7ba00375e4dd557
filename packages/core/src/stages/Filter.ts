/**
 * Drops records whose `value` is a multiple of `dropEvery` (reason "filtered") and dead-letters those
 * whose `check` field is wrong (error "CorruptRecord"); emits the rest.
 *
 * @category stages
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as RecordLayout from "../RecordLayout.ts"
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
      for (let i = start; i < start + count; i++) {
        if (check.get(i) !== checkOf(seq.get(i))) out.deadLetter(0, input, i)
        else if (value.get(i) % dropEvery === 0) out.drop(0)
        else RecordLayout.copyRecords(input, i, out.view, out.emit(), 1)
      }
    }
  })
})
