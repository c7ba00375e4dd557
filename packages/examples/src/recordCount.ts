/**
 * A sink for any layout that counts the records it receives and their bytes, into a shared buffer
 * any thread reads: the end of `npm run journal -- replay --pipeline count`.
 *
 * ```
 *  byte 0 ┌────────────────────────┐
 *         │ records  i64           │  the sink, Atomics.add per batch
 *  byte 8 ├────────────────────────┤
 *         │ bytes    i64           │  the sink, Atomics.add per batch
 * byte 16 └────────────────────────┘
 * ```
 *
 * (Stages live in modules of their own: a worker imports this one, never the program's entry file.)
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"

const COUNTS_BYTES = 16

export const makeCounts = (): SharedArrayBuffer => new SharedArrayBuffer(COUNTS_BYTES)

export const readCounts = (counts: SharedArrayBuffer): { readonly records: number; readonly bytes: number } => {
  const words = new BigInt64Array(counts)
  // acquire: each count as the sink last added to it.
  return { records: Number(Atomics.load(words, 0)), bytes: Number(Atomics.load(words, 1)) }
}

const Counts = Schema.declare((u): u is SharedArrayBuffer => u instanceof SharedArrayBuffer && u.byteLength === COUNTS_BYTES, {
  expected: "a counts buffer from makeCounts()"
})

export const RecordCount = Stage.sink({
  name: "record-count",
  module: import.meta.url,
  input: Stage.AnyLayout,
  config: Schema.Struct({ counts: Counts }),
  make: ({ counts }, context) => {
    const words = new BigInt64Array(counts)
    const recordBytes = BigInt(context.input.byteLength)
    return {
      onBatch(_input, _start, count, out) {
        out.account(count)
        // publish: this batch's records, to any thread that loads the counts.
        Atomics.add(words, 0, BigInt(count))
        Atomics.add(words, 1, BigInt(count) * recordBytes)
      }
    }
  }
})
