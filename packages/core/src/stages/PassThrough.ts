/**
 * Emits every input record unchanged: the identity stage, for topology and overhead measurements.
 *
 * @category stages
 * @since 0.1.0
 */
import * as RecordLayout from "../RecordLayout.ts"
import * as Stage from "../Stage.ts"
import { Sequenced } from "./Sequenced.ts"

export const PassThrough = Stage.make({
  name: "pass-through",
  module: import.meta.url,
  input: Sequenced,
  output: Sequenced,
  make: () => ({
    onBatch(input, start, count, out) {
      for (let i = start; i < start + count; i++) RecordLayout.copyRecords(input, i, out.view, out.emit(), 1)
    }
  })
})
