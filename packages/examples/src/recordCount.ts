/**
 * A sink for any layout that accounts for every record it receives and does nothing else: the end of
 * `npm run journal -- replay --pipeline count` (the ledger then shows what arrived).
 *
 * (Stages live in modules of their own: a worker imports this one, never the program's entry file.)
 */
import { Stage } from "@velox/core"

export const RecordCount = Stage.sink({
  name: "record-count",
  module: import.meta.url,
  input: Stage.AnyLayout,
  make: () => ({
    onBatch(_input, _start, count, out) {
      out.account(count)
    }
  })
})
