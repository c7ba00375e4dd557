/** The README's source example, kept compiling: `count` Sequenced records, then the source is done. */
import { Schema } from "effect"
import { RecordLayout, Stage } from "@velox/core"
import { checkOf, Sequenced } from "@velox/core/stages"

export const Ticks = Stage.source({
  name: "ticks",
  module: import.meta.url,
  output: Sequenced,
  config: Schema.Struct({ count: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) }),
  make: ({ count }) => {
    let next = 0
    return {
      onPoll(_nowNs, max, out) {
        if (next === count) return Stage.SOURCE_EXHAUSTED // the pipeline drains and ends
        const n = Math.min(max, count - next)
        for (let i = 0; i < n; i++, next++) {
          const slot = out.emit()
          RecordLayout.writeUnsafe(out.view, slot, { seq: next, key: next % 4, flags: 0, value: next, check: checkOf(next) })
        }
        return n // 0 would mean "nothing now": the loop idles and polls again
      }
    }
  }
})
