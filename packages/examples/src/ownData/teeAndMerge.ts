/**
 * A tee to two sinks, and a merge of two sources:
 *
 * ```
 *   quotes A ─┐                        ┌─► keep   (every spread: backpressure)
 *             ├─► merge ─► spreads ─► tee
 *   quotes B ─┘                        └─► live   (a slow consumer: dropNewest, its drops counted)
 * ```
 */
import { Effect, Ref, Stream } from "effect"
import { Edge, Pipeline } from "@velox/core"
import { quotes } from "./fromStream.ts"
import { Quote, Spread, Spreads } from "./quotes.ts"

export const program = (count: number, audit: string) =>
  Effect.gen(function*() {
    const kept = yield* Ref.make(0)
    const a = Edge.fromStream(Quote, quotes(count), { name: "venue-a" })
    const b = Edge.fromStream(Quote, quotes(count).pipe(Stream.map((q) => ({ ...q, venue: 2 }))), { name: "venue-b" })
    const keep = Edge.sinkEffect({ name: "keep", input: Spread, onBatch: (batch) => Ref.update(kept, (n) => n + batch.length) })
    const live = Edge.sinkEffect({ name: "live", input: Spread, onBatch: () => Effect.sleep("1 millis") })
    const pipeline = Pipeline.merge(Pipeline.from(a), Pipeline.from(b)) // polled in turn: neither starves the other
      .via(Spreads, { audit }, { placement: "worker" })
      .broadcast((branch) => [
        branch.to(keep), // default: a full branch holds the tee back, and so every branch
        branch.to(live, { overflow: "dropNewest" }) // this branch drops instead, and never slows the others
      ])
    const { ledger } = yield* Pipeline.runToEnd(pipeline)
    return { ledger, kept: yield* Ref.get(kept) }
  })
