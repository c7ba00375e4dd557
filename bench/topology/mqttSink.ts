/** The MQTT bench's pipeline end: every Quote record accounted as delivered (its own module: it may run in a worker thread). */
import { Stage } from "@velox/core"
import { Quote } from "@velox/market"

export const QuoteSink = Stage.sink({
  name: "quote-sink",
  module: import.meta.url,
  input: Quote.Quote,
  make: () => ({
    onBatch: (_input, _start, count, out) => out.account(count)
  })
})
