/** The README's stage example, kept compiling: a stage that scales `value` and drops negatives. */
import { Schema } from "effect"
import { RecordLayout, Stage } from "@velox/core"
import { Sequenced } from "@velox/core/stages"

export const Scale = Stage.make({
  name: "scale",
  module: import.meta.url,
  input: Sequenced,
  output: Sequenced,
  config: Schema.Struct({ factor: Schema.Finite }),
  dropReasons: ["negative"],
  make: ({ factor }) => ({
    onBatch(input, start, count, out) {
      for (let i = start; i < start + count; i++) {
        if (input.fields.value.get(i) < 0) { out.drop(0); continue } // counted under "negative"
        const slot = out.emit()
        RecordLayout.copyRecords(input, i, out.view, slot, 1)
        out.view.fields.value.set(slot, input.fields.value.get(i) * factor)
      }
    }
  })
})
