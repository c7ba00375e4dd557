/** A sink for any layout that delivers its records nowhere (counted as delivered): the end of a branch whose work is done upstream. */
import { Stage } from "@velox/core"

export const Discard = Stage.sink({
  name: "discard",
  module: import.meta.url,
  input: Stage.AnyLayout,
  make: () => ({
    onBatch: (_input, _start, count, out) => out.account(count)
  })
})
