/**
 * Sums runs of `size` records into one record (value = sum, seq = first seq, key = run length), and
 * flushes a partial run when `timeoutNs` passes without filling it, and on drain. The records of an
 * open run are retained: a crash redelivers them.
 *
 * @category stages
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Stage from "../Stage.ts"
import { checkOf, Sequenced } from "./Sequenced.ts"

export const Batcher = Stage.make({
  name: "batcher",
  module: import.meta.url,
  input: Sequenced,
  output: Sequenced,
  config: Schema.Struct({
    size: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4096 })),
    timeoutNs: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0)))
  }),
  timerPeriodNs: 1_000_000,
  maxRetained: ({ size }) => size,
  make: ({ size, timeoutNs = 1_000_000 }) => {
    let count = 0
    let first = 0
    let sum = 0
    let openedNs = 0
    let lastNs = 0
    const flush = (out: Stage.Emitter<typeof Sequenced.spec>) => {
      const slot = out.emit(count)
      const f = out.view.fields
      f.seq.set(slot, first)
      f.key.set(slot, count)
      f.flags.set(slot, 1)
      f.value.set(slot, sum)
      f.check.set(slot, checkOf(first))
      count = 0
      sum = 0
    }
    return {
      onBatch(input, start, end, out) {
        const seq = input.fields.seq
        const value = input.fields.value
        for (let i = start; i < start + end; i++) {
          if (count === 0) {
            first = seq.get(i)
            openedNs = lastNs
          }
          sum += value.get(i)
          if (++count === size) flush(out)
        }
      },
      onTimer(nowNs, out) {
        lastNs = nowNs
        if (count > 0 && nowNs - openedNs >= timeoutNs) flush(out)
      },
      onDrain(out) {
        if (count > 0) flush(out)
      },
      retained: () => count
    }
  }
})
