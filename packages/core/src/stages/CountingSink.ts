/**
 * Accepts every record, verifying its `check` field (a wrong one is dead-lettered as "CorruptRecord"),
 * and accounts for it as delivered. The sum of `seq` is kept for tests in `lastChecksum`.
 *
 * @category stages
 * @since 0.1.0
 */
import * as Stage from "../Stage.ts"
import { checkOf, Sequenced } from "./Sequenced.ts"

export const CountingSink = Stage.sink({
  name: "counting-sink",
  module: import.meta.url,
  input: Sequenced,
  errors: ["CorruptRecord"],
  make: () => ({
    onBatch(input, start, count, out) {
      const seq = input.fields.seq
      const check = input.fields.check
      let ok = 0
      for (let i = start; i < start + count; i++) {
        if (check.get(i) === checkOf(seq.get(i))) ok++
        else out.deadLetter(0, input, i)
      }
      out.account(ok)
    }
  })
})
