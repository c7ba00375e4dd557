/**
 * Records offered from a callback through the handle's writer, and a sink edge that stores each batch
 * with a service of the program's (its `R` comes from `Pipeline.run`'s context), retrying failures:
 *
 * ```
 *   callback ─► writer ─► source edge "feed" (dropOldest, 10,000) ─► spreads ─► sink edge "store" (an Effect per batch)
 * ```
 */
import { Context, Effect, Layer, Ref, Schedule, Schema } from "effect"
import { Edge, Pipeline } from "@velox/core"
import { Quote, Spread, Spreads } from "./quotes.ts"

export class StoreDown extends Schema.TaggedError<StoreDown>()("StoreDown", { message: Schema.String }) {}

/** The program's database, as a service. */
export class SpreadStore extends Context.Service<SpreadStore, {
  readonly insert: (rows: ReadonlyArray<{ readonly symbol: number; readonly spread: number }>) => Effect.Effect<void, StoreDown>
  readonly rows: Ref.Ref<number>
}>()("examples/SpreadStore") {
  static readonly layer = Layer.effect(SpreadStore, Effect.gen(function*() {
    const rows = yield* Ref.make(0)
    return SpreadStore.of({ rows, insert: (batch) => Ref.update(rows, (n) => n + batch.length) })
  }))
}

export const feed = Edge.source(Quote, { name: "feed", overflow: "dropOldest", capacity: 10_000 })

export const store = Edge.sinkEffect({
  name: "store",
  input: Spread,
  onBatch: (batch) =>
    Effect.gen(function*() {
      const db = yield* SpreadStore // R = SpreadStore, provided to Pipeline.run
      yield* db.insert(batch) // the batch is released once this succeeded
    }),
  retry: Schedule.exponential("10 millis").pipe(Schedule.upTo({ times: 5 })) // then dead-lettered as StoreDown
})

export const program = (count: number, audit: string) =>
  Effect.gen(function*() {
    const handle = yield* Pipeline.run(Pipeline.from(feed).via(Spreads, { audit }).to(store))
    const writer = handle.writer(feed)
    // A socket's message handler would do this: offerUnsafe never waits (dropOldest makes room).
    for (let i = 0; i < count; i++) writer.offerUnsafe({ tsNs: i, bid: 99.99, ask: 100.01, symbol: i % 10, venue: 2 })
    yield* writer.end // what is queued flows on, then the pipeline drains
    yield* handle.done
    return { ledger: handle.ledger(), stored: yield* Ref.get((yield* SpreadStore).rows) }
  }).pipe(Effect.scoped)
