/**
 * The records and the stage of the README's "Bring your own data" examples: quotes in, spreads out.
 * `Spreads` declares counters and a gauge, and holds an audit file open from `onStart` to `onClose`.
 * It lives in a module of its own, so a worker thread can import it (not in a program's entry file).
 */
import { Schema } from "effect"
import { RecordLayout, Stage } from "@velox/core"
import * as fs from "node:fs"

export const Quote = RecordLayout.make("Quote", { tsNs: "f64", bid: "f64", ask: "f64", symbol: "u32", venue: "u32" })
export const Spread = RecordLayout.make("Spread", { tsNs: "f64", mid: "f64", spread: "f64", symbol: "u32", venue: "u32" })

export const Spreads = Stage.make({
  name: "spreads",
  module: import.meta.url,
  input: Quote,
  output: Spread,
  config: Schema.Struct({ audit: Schema.String }), // a file that gets one line per crossed quote
  dropReasons: ["crossed"],
  counters: ["quotes", "locked"], // in stats(), /metrics (velox_stage_counters_total) and the dashboard
  gauges: ["widest"],
  make: ({ audit }, context) => {
    const { locked, quotes } = context.counters
    const widest = context.gauges.widest
    let fd = -1
    let max = 0
    return {
      onStart() {
        fd = fs.openSync(audit, "a") // in the stage's own thread, before its first batch
      },
      onBatch(input, start, count, out) {
        const { ask, bid } = input.fields
        quotes.add(count) // no allocation: a store into shared memory
        for (let i = start; i < start + count; i++) {
          const spread = ask.get(i) - bid.get(i)
          if (spread < 0) {
            fs.writeSync(fd, `${input.fields.symbol.get(i)} ${bid.get(i)} ${ask.get(i)}\n`)
            out.drop(0) // counted under "crossed"
            continue
          }
          if (spread === 0) locked.increment()
          if (spread > max) widest.set(max = spread)
          const slot = out.emit()
          const o = out.view.fields
          o.tsNs.set(slot, input.fields.tsNs.get(i))
          o.mid.set(slot, (ask.get(i) + bid.get(i)) / 2)
          o.spread.set(slot, spread)
          o.symbol.set(slot, input.fields.symbol.get(i))
          o.venue.set(slot, input.fields.venue.get(i))
        }
      },
      onClose() {
        // After the drain, after a crash (before the restart) and on abort: the file never leaks.
        fs.closeSync(fd)
      }
    }
  }
})
