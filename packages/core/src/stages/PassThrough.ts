/**
 * Emits every input record unchanged: the identity stage, for topology and overhead measurements.
 *
 * @category stages
 * @since 0.1.0
 */
import * as Stage from "../Stage.ts"
import { Sequenced } from "./Sequenced.ts"

export const PassThrough = Stage.make({
  name: "pass-through",
  module: import.meta.url,
  input: Sequenced,
  output: Sequenced,
  make: () => ({
    onBatch(input, start, count, out) {
      out.forward(input, start, count)
    }
  })
})
