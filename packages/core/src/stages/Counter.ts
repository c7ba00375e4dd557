/**
 * A source of `count` `Sequenced` records (seq 0, 1, 2, … ; key = seq mod `keys`), as fast as the
 * pipeline takes them. With `count: Infinity` it runs until the pipeline stops it. Its place in the
 * sequence is state a restart restores (`snapshotState`: the next seq), so a crash of its loop
 * neither repeats nor skips a record.
 *
 * @category stages
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Stage from "../Stage.ts"
import { checkOf, Sequenced } from "./Sequenced.ts"

export const Counter = Stage.source({
  name: "counter",
  module: import.meta.url,
  output: Sequenced,
  config: Schema.Struct({
    count: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)),
    keys: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
  }),
  keepsState: true,
  make: ({ count, keys = 16 }) => {
    let next = 0
    return {
      snapshotState: () => next,
      restoreState: (snapshot) => {
        next = snapshot as number
      },
      onPoll(_nowNs, max, out) {
        if (next >= count) return Stage.SOURCE_EXHAUSTED
        const n = Math.min(max, count - next)
        const f = out.view.fields
        const end = next + n
        // One induction variable, kept in a register: with a second (`i`, `seq = next + i`) TurboFan
        // spilled `i` to the stack and reloaded it after `checkOf`'s float modulo (an x87 `fprem` through
        // a stack slot), and the loop ran at two speeds, ~28 or ~45 ns a record (bench/README.md).
        for (let seq = next; seq < end; seq++) {
          const slot = out.emit()
          f.seq.set(slot, seq)
          f.key.set(slot, seq % keys)
          f.flags.set(slot, 0)
          f.value.set(slot, seq)
          f.check.set(slot, checkOf(seq))
        }
        next = end
        return n
      }
    }
  }
})
