/**
 * Edges between Effect code and the data plane: where records enter a pipeline from Effect code and
 * where they leave it into Effect code. Edges run on the main thread (a fiber each), take part in the
 * drain, and appear in `stats()`, the ledger and `/metrics` as stages do.
 *
 * - A **source edge** takes objects of its layout's `Type` (checked and encoded with
 *   `RecordLayout.schema(layout)`: an object that fails is dead-lettered as `InvalidRecord`, with what
 *   was wrong) or whole record batches (copied bit for bit), into a bounded queue of `capacity`
 *   records. When the queue is full its `overflow` policy decides: `backpressure` (default: the
 *   producing fiber waits), `dropNewest`, or `dropOldest`; every dropped record is counted exactly, by
 *   reason (`DropNewest`, `DropOldest`). Feed it from a Stream (`fromStream`, `fromBatches`: it ends
 *   when the Stream ends) or with a writer from the handle (`source` → `handle.writer(edge)`: it ends
 *   with `writer.end`). Stopping the pipeline ends every source edge; what is queued flows on.
 * - A **sink edge** hands Effect code the records that reach it, decoded into objects: as a Stream
 *   (`sink` → `handle.stream(edge)`), or through an Effect run per batch (`sinkEffect`, also
 *   `Stage.sinkEffect`). A batch is released from its ring only once it was delivered. A typed failure
 *   of the Effect is retried on a `Schedule` when one is given, and then (or at once) the batch's
 *   records are dead-lettered under the failure's `_tag`. The Effect's requirements `R` come from the
 *   context of `Pipeline.run`.
 *
 * @since 0.1.0
 */
import { Schema, Stream } from "effect"
import type { Effect, Schedule } from "effect"
import {
  SOURCE_EDGE_DROP_REASONS,
  SOURCE_EDGE_ERRORS,
  type SourceOverflow
} from "./internal/edgeQueue.ts"
import type { FieldSpec, Layout, RecordOf, RecordView } from "./internal/kernel/recordLayout.ts"
import { sourceEdgeLogic } from "./internal/sourceEdge.ts"
import type { EdgeWriter } from "./internal/sourceEdge.ts"
import type { FailurePolicy } from "./internal/sinkEdge.ts"
import type { StageDefinition } from "./Stage.ts"

export type {
  /** @category models @since 0.1.0 */
  EdgeWriter
} from "./internal/sourceEdge.ts"
export type {
  /** @category models @since 0.1.0 */
  SourceOverflow
} from "./internal/edgeQueue.ts"
export {
  /** @category errors @since 0.1.0 */
  EdgeError
} from "./PipelineError.ts"

/** Queue capacity of a source edge unless given: records Effect code may run ahead of the pipeline. */
export const DEFAULT_CAPACITY = 4096

/**
 * A source edge of layout `F`, needing `R` from the context of `Pipeline.run` (its Stream's).
 * Start a pipeline with it: `Pipeline.from(edge)`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SourceEdge<F extends FieldSpec, R = never> {
  readonly _tag: "SourceEdge"
  readonly name: string
  readonly layout: Layout<F>
  readonly overflow: SourceOverflow
  readonly capacity: number
  /** What feeds it once the pipeline runs (a Stream); `undefined`: a writer from the handle. */
  readonly feed: ((writer: EdgeWriter<F>) => Effect.Effect<void, unknown, R>) | undefined
  /** The stage its step runs (its loop is a fiber on the main thread). */
  readonly definition: StageDefinition<never, F, unknown>
}

/**
 * A sink edge of layout `F`, needing `R` from the context of `Pipeline.run` (its Effect's). End a
 * pipeline (or a branch) with it: `.to(edge)`.
 *
 * @category models
 * @since 0.1.0
 */
export interface SinkEdge<F extends FieldSpec, R = never> {
  readonly _tag: "SinkEdge"
  readonly name: string
  readonly layout: Layout<F>
  /** The Effect run per batch; `undefined`: read as a Stream (`handle.stream(edge)`). */
  readonly deliver: ((batch: ReadonlyArray<RecordOf<F>>) => Effect.Effect<void, unknown, R>) | undefined
  readonly onFailure: FailurePolicy<unknown, R>
  readonly definition: StageDefinition<F, never, unknown>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface SourceOptions {
  /** The edge's name: its stage's name in `stats()`, the ledger and `/metrics`. */
  readonly name: string
  /** What to do when the queue is full (default `"backpressure"`). */
  readonly overflow?: SourceOverflow
  /** Records the queue holds (default 4096). Records already passed on sit in the ring behind it. */
  readonly capacity?: number
}

/** The runtime object a source edge's step is configured with (its queue), as a Schema that passes it through. */
const RuntimeConfig = Schema.Any as unknown as Schema.Codec<unknown, unknown>

const checkName = (name: string): void => {
  if (typeof name !== "string" || name.length === 0) throw new TypeError(`an edge needs a non-empty name: name=${JSON.stringify(name)}`)
}

const sourceDefinition = <F extends FieldSpec>(name: string, layout: Layout<F>): StageDefinition<never, F, unknown> => ({
  _tag: "StageDefinition",
  kind: "source",
  name,
  module: import.meta.url,
  input: undefined,
  output: layout,
  anyInput: false,
  outputSameAsInput: false,
  config: RuntimeConfig,
  dropReasons: SOURCE_EDGE_DROP_REASONS,
  errors: SOURCE_EDGE_ERRORS,
  timerPeriodNs: Infinity,
  maxRetained: () => 0,
  counters: [],
  gauges: [],
  keepsState: false,
  make: (queue) => sourceEdgeLogic(queue as Parameters<typeof sourceEdgeLogic>[0])
})

const sinkDefinition = <F extends FieldSpec>(name: string, layout: Layout<F>): StageDefinition<F, never, unknown> => ({
  _tag: "StageDefinition",
  kind: "sink",
  name,
  module: import.meta.url,
  input: layout,
  output: undefined,
  anyInput: false,
  outputSameAsInput: false,
  config: RuntimeConfig,
  dropReasons: [],
  errors: [],
  timerPeriodNs: Infinity,
  maxRetained: () => 0,
  counters: [],
  gauges: [],
  keepsState: false,
  make: () => {
    throw new RangeError(`"${name}" is a sink edge: it runs on the control plane, not in a stage loop`)
  }
})

const makeSource = <F extends FieldSpec, R>(
  layout: Layout<F>,
  options: SourceOptions,
  feed: SourceEdge<F, R>["feed"]
): SourceEdge<F, R> => {
  checkName(options.name)
  const capacity = options.capacity ?? DEFAULT_CAPACITY
  if (!(Number.isInteger(capacity) && capacity >= 1)) {
    throw new RangeError(`source edge "${options.name}": capacity must be a positive integer: capacity=${capacity}`)
  }
  const overflow = options.overflow ?? "backpressure"
  if (!["backpressure", "dropNewest", "dropOldest"].includes(overflow)) {
    throw new RangeError(`source edge "${options.name}": overflow must be backpressure, dropNewest or dropOldest: overflow=${overflow}`)
  }
  return { _tag: "SourceEdge", name: options.name, layout, overflow, capacity, feed, definition: sourceDefinition(options.name, layout) }
}

/**
 * A source edge fed through a writer on the handle: `handle.writer(edge)` offers objects, record
 * batches, or records written in place; `writer.end` ends it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Edge, Pipeline, RecordLayout } from "@velox/core"
 * import { NodeStageHost } from "@velox/node"
 *
 * const Quote = RecordLayout.make("Quote", { price: "f64", size: "f64", symbol: "u32", epoch: "u32" })
 * const quotes = Edge.source(Quote, { name: "quotes", overflow: "dropOldest", capacity: 10_000 })
 * const out = Edge.sink(Quote, { name: "out" })
 *
 * const program = Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(Pipeline.from(quotes).to(out))
 *   const writer = handle.writer(quotes)
 *   writer.offerUnsafe({ price: 10.5, size: 100, symbol: 7, epoch: 1 }) // from a callback: never waits
 *   yield* writer.end
 * }).pipe(Effect.scoped, Effect.provide(NodeStageHost.layer))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <F extends FieldSpec>(layout: Layout<F>, options: SourceOptions): SourceEdge<F> =>
  makeSource(layout, options, undefined)

/**
 * A source edge fed by a Stream of objects of the layout's `Type`, offered in its chunks; it ends when
 * the Stream ends (or the pipeline stops). A Stream that fails ends the edge too, and fails the run's
 * `done` with `StageCrashed` (reason `EdgeFailed`).
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { Edge, RecordLayout } from "@velox/core"
 *
 * const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64" })
 * const ticks = Edge.fromStream(Tick, Stream.range(0, 999).pipe(Stream.map((seq) => ({ seq, price: 100 + seq / 100 }))), {
 *   name: "ticks"
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromStream = <F extends FieldSpec, E, R>(
  layout: Layout<F>,
  stream: Stream.Stream<RecordOf<F>, E, R>,
  options: SourceOptions
): SourceEdge<F, R> =>
  makeSource(layout, options, (writer) => Stream.runForEachArray(stream, (chunk) => writer.offerAll(chunk)))

/**
 * A source edge fed by a Stream of record batches of the layout (each a `RecordView`: all its slots),
 * copied bit for bit without a check: the fastest way in.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromBatches = <F extends FieldSpec, E, R>(
  layout: Layout<F>,
  stream: Stream.Stream<RecordView<F>, E, R>,
  options: SourceOptions
): SourceEdge<F, R> =>
  makeSource(layout, options, (writer) => Stream.runForEach(stream, (batch) => writer.offerBatch(batch)))

/**
 * A sink edge read as a Stream of decoded objects: `handle.stream(edge)` (one reader at a time). The
 * Stream ends when the edge's input ends (the drain). Until it is read, the records wait in the ring:
 * a sink edge nobody reads holds the pipeline back like a slow sink.
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = <F extends FieldSpec>(layout: Layout<F>, options: { readonly name: string }): SinkEdge<F> => {
  checkName(options.name)
  return {
    _tag: "SinkEdge",
    name: options.name,
    layout,
    deliver: undefined,
    onFailure: { _tag: "DeadLetter" },
    definition: sinkDefinition(options.name, layout)
  }
}

/**
 * A sink edge that runs `onBatch` on each batch of decoded objects, one batch at a time, and releases
 * the batch once it succeeded. A typed failure is retried on `retry` when given; when that ends (or at
 * once without one), the batch's records are dead-lettered under the failure's `_tag` (the `detail` is
 * its message) and the edge goes on. A defect crashes the edge: its supervision restarts it and the
 * batch comes again. `R` comes from the context of `Pipeline.run`, so it can use the program's
 * services (an HTTP client, a database).
 *
 * @example
 * ```ts
 * import { Effect, Schedule, Schema } from "effect"
 * import { Edge, RecordLayout } from "@velox/core"
 *
 * const Trade = RecordLayout.make("Trade", { price: "f64", size: "f64" })
 * class StoreDown extends Schema.TaggedError<StoreDown>()("StoreDown", { message: Schema.String }) {}
 * declare const save: (rows: ReadonlyArray<{ price: number; size: number }>) => Effect.Effect<void, StoreDown>
 *
 * const store = Edge.sinkEffect({
 *   name: "store",
 *   input: Trade,
 *   onBatch: (batch) => save(batch),
 *   retry: Schedule.exponential("10 millis").pipe(Schedule.upTo({ times: 5 }))
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const sinkEffect = <F extends FieldSpec, E, R, R2 = never>(options: {
  readonly name: string
  readonly input: Layout<F>
  readonly onBatch: (batch: ReadonlyArray<RecordOf<F>>) => Effect.Effect<void, E, R>
  /** Retries a batch whose Effect failed with a typed error; default: none (dead-letter at once). */
  readonly retry?: Schedule.Schedule<unknown, E, unknown, R2>
}): SinkEdge<F, R | R2> => {
  checkName(options.name)
  return {
    _tag: "SinkEdge",
    name: options.name,
    layout: options.input,
    deliver: options.onBatch as SinkEdge<F, R>["deliver"],
    onFailure: options.retry === undefined
      ? { _tag: "DeadLetter" }
      : { _tag: "Retry", schedule: options.retry as Schedule.Schedule<unknown, unknown, unknown, R2> },
    definition: sinkDefinition(options.name, options.input)
  }
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isSourceEdge = (u: unknown): u is SourceEdge<any, any> =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "SourceEdge"

/**
 * @category guards
 * @since 0.1.0
 */
export const isSinkEdge = (u: unknown): u is SinkEdge<any, any> =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "SinkEdge"
