/** The README's sink example, kept compiling: adds up `value` into shared memory the program reads. */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import { Sequenced } from "@velox/core/stages"

export const Sum = Stage.sink({
  name: "sum",
  module: import.meta.url,
  input: Sequenced,
  // A SharedArrayBuffer crosses into the sink's thread shared, not copied: the program reads it.
  config: Schema.Struct({ total: Schema.instanceOf(SharedArrayBuffer) }),
  make: ({ total }) => {
    const sum = new Float64Array(total)
    return {
      onBatch(input, start, count, out) {
        for (let i = start; i < start + count; i++) sum[0]! += input.fields.value.get(i)
        out.account(count) // delivered: counted as emitted in the ledger
      }
    }
  }
})
