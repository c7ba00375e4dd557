/**
 * A pipeline fed from an Effect Stream of objects and read out as objects:
 *
 * ```
 *   main thread: Stream of quotes ─► source edge "quotes" ══► worker: spreads ══► main thread: sink edge "out" ─► Stream
 * ```
 */
import { Effect, Stream } from "effect"
import { Edge, Pipeline } from "@velox/core"
import { Quote, Spread, Spreads } from "./quotes.ts"

export const quotes = (count: number) =>
  Stream.range(0, count - 1).pipe(
    Stream.map((i) => ({ tsNs: i * 1000, bid: 100 + (i % 7) / 100, ask: 100.03 + (i % 5) / 100, symbol: i % 50, venue: 1 }))
  )

export const program = (count: number, audit: string) =>
  Effect.gen(function*() {
    const input = Edge.fromStream(Quote, quotes(count), { name: "quotes" }) // backpressure: the Stream waits for room
    const out = Edge.sink(Spread, { name: "out" })
    const handle = yield* Pipeline.run(Pipeline.from(input).via(Spreads, { audit }, { placement: "worker" }).to(out))
    const spreads = yield* Stream.runCollect(handle.stream(out)) // ends when the pipeline has drained
    yield* handle.done
    return { spreads, stats: handle.stats(), ledger: handle.ledger() }
  }).pipe(Effect.scoped)
