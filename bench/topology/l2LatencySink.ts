/**
 * A sink of `Bbo` records for the `l2` suite: per batch it reads the pipeline clock once and adds, per
 * record, `now − exchangeTsNs` to an `OutputLatency` histogram (the `closing` one) while recording is
 * switched on. Every record is accounted as delivered. Bench-only: a module a worker can import.
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import { Bbo, OutputLatency } from "@velox/market"

const Latency = Schema.declare((u): u is SharedArrayBuffer => OutputLatency.isLatency(u), {
  expected: "a latency buffer from OutputLatency.make()"
})

export const L2LatencySink = Stage.sink({
  name: "l2-latency-sink",
  module: import.meta.url,
  input: Bbo.Bbo,
  config: Schema.Struct({ latency: Latency }),
  make: ({ latency }, context) => {
    const recorder = new OutputLatency.Recorder(latency)
    const nowNs = context?.nowNs ?? (() => NaN)
    return {
      onBatch(input, start, count, out) {
        if (recorder.recording()) {
          const now = nowNs()
          const ts = input.fields.exchangeTsNs
          for (let i = start; i < start + count; i++) recorder.record(OutputLatency.CLOSING, now - ts.get(i))
        }
        out.account(count)
      }
    }
  }
})
