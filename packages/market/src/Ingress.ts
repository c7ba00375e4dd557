/**
 * The engine's ingress: a source of synthetic {@link Transaction}s arriving as a Poisson process at a
 * target rate, over several symbols, as order flow an exact order book accepts in full.
 *
 * ```
 *   Ingress ──Transaction──▶ order book ──BookUpdate──▶ Bundler ──Bundle──▶ Output
 * ```
 *
 * Arrivals. Inter-arrival gaps are exponential with mean `1e9 / rate` ns, drawn from a seeded PRNG as
 * `-ln(u) · mean` with `u` uniform in (0, 1] (never 0, so never an infinite gap). The schedule starts at
 * the first poll's `nowNs` and each transaction's `tsNs` is its scheduled arrival time (whole ns,
 * rounded down) on the pipeline clock. A poll emits every arrival scheduled at or before its `nowNs`
 * (at most `max`): if the pipeline falls behind, the backlog is emitted as fast as it is taken (an
 * open-loop generator: arrivals do not wait for a slow consumer, so its latency shows). With
 * `unthrottled: true` every poll emits `max` transactions stamped with the poll's `nowNs`: for
 * benchmarks.
 *
 * Flow. Per symbol, a mid price walking ±1 tick; mostly adds near the top, cancels of resting size,
 * trades against the best level, and full sweeps of levels the mid walks past (see
 * `internal/kernel/orderFlow.ts`). The generator tracks what it has put at each level, in bounded
 * memory (`symbols × 512` bytes), so no cancel or trade ever takes more than a level holds. A trade's
 * `side` is the resting side it takes from and its `price` that side's best tick.
 *
 * Determinism. The transactions (everything but `tsNs`) depend only on `seed`, `symbols` and
 * `invalidFraction` — the same in throttled and unthrottled mode, however the polls split them; the
 * arrival times use their own PRNG stream and depend only on `seed`, `rate` and the first poll's
 * `nowNs`.
 *
 * A fraction `invalidFraction` (default 0) of transactions carry one defect each (bad side or kind, a
 * zero, NaN, fractional or unsafe price, a zero, infinite or fractional size, an out-of-range symbol),
 * for a validating stage to dead-letter ({@link Transaction.validateUnsafe}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Ingress } from "@velox/market"
 * import { NodePipelineRuntime } from "@velox/node"
 *
 * import { TransactionSink } from "./transactionSink.ts" // your Stage.sink over Transaction.Transaction
 *
 * const pipeline = Pipeline.from(Ingress, { rate: 100_000, symbols: 8, seed: 42 })
 *   .to(TransactionSink, {})
 *
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline, { report: true })
 *   yield* handle.done
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { MAX_SYMBOLS, OrderFlow, Sfc32 } from "./internal/kernel/orderFlow.ts"
import { Stage } from "@velox/core"
import { Transaction } from "./Transaction.ts"

export {
  /** @category models @since 0.1.0 */
  ADD_SHARE,
  /** @category models @since 0.1.0 */
  BAND_TICKS,
  /** @category models @since 0.1.0 */
  CANCEL_SHARE,
  /** @category models @since 0.1.0 */
  INVALID_VARIANTS,
  /** @category models @since 0.1.0 */
  MAX_SYMBOLS,
  /** @category unsafe @since 0.1.0 */
  OrderFlow,
  /** @category unsafe @since 0.1.0 */
  Sfc32
} from "./internal/kernel/orderFlow.ts"

/**
 * The default arrival rate: 100,000 transactions per second (the original engine's).
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_RATE = 100_000

/**
 * The default number of symbols.
 *
 * @category models
 * @since 0.1.0
 */
export const DEFAULT_SYMBOLS = 8

/**
 * The ingress configuration. Every key is optional: `rate` (transactions per second, default
 * {@link DEFAULT_RATE}), `symbols` (default {@link DEFAULT_SYMBOLS}), `seed` (default 1), `count`
 * (exhaust after this many, default `Infinity`), `unthrottled` (default `false`), `invalidFraction`
 * (default 0).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  rate: Schema.optional(Schema.Finite.check(Schema.isGreaterThan(0))),
  symbols: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_SYMBOLS }))),
  seed: Schema.optional(Schema.Int),
  count: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  unthrottled: Schema.optional(Schema.Boolean),
  invalidFraction: Schema.optional(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 })))
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/** Seeds the arrival stream apart from the flow stream, so one does not shift the other. */
const ARRIVAL_STREAM = 0x5bd1e995

/**
 * The ingress logic for a config: what the stage runs (`Ingress.make` is this function), and what
 * tests drive directly with synthetic `nowNs` values.
 *
 * @example
 * ```ts
 * import { RecordLayout, type Stage } from "@velox/core"
 * import { Ingress, Transaction } from "@velox/market"
 *
 * // A minimal emitter over a plain buffer: slot i of the view is the i-th transaction.
 * const view = RecordLayout.view(Transaction.Transaction, new ArrayBuffer(40 * 4096), 0, 4096)
 * let emitted = 0
 * const out = { view, emit: () => emitted++, account() {}, drop() {}, deadLetter() {} }
 *
 * const logic = Ingress.make({ rate: 1_000_000, seed: 7 }) as Stage.SourceLogic<typeof Transaction.Transaction.spec>
 * logic.onPoll(0, 4096, out) // 0: the schedule starts at nowNs = 0
 * const n = logic.onPoll(1_000_000, 4096, out) // about 1000 arrivals in the first millisecond
 * console.log(n, view.fields.tsNs.get(0)) // e.g. 1012 731
 * ```
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config): Stage.SourceLogic<typeof Transaction.spec> => {
  const rate = config.rate ?? DEFAULT_RATE
  const seed = config.seed ?? 1
  const count = config.count ?? Infinity
  const unthrottled = config.unthrottled ?? false
  const meanGapNs = 1e9 / rate
  const flow = new OrderFlow({
    symbols: config.symbols ?? DEFAULT_SYMBOLS,
    seed,
    invalidFraction: config.invalidFraction ?? 0
  })
  const arrivals = new Sfc32(seed ^ ARRIVAL_STREAM)
  let generated = 0
  // The next scheduled arrival, NaN until the first poll starts the schedule. In a typed array, not a
  // `let`: a closure variable holding a double is boxed afresh on every write (a heap number per
  // transaction, garbage the collector then has to sweep).
  const nextArrival = new Float64Array([NaN])
  return {
    // Where the flow is: a restart replays the seeded generators up to it (a draw per transaction).
    snapshotState: () => [generated, nextArrival[0]!],
    restoreState(snapshot) {
      const [at, next] = snapshot as readonly [number, number]
      for (let i = 0; i < at; i++) flow.next()
      // One arrival draw starts the schedule, then one per transaction.
      if (!unthrottled && next === next) for (let i = 0; i <= at; i++) arrivals.nextOpenUnit()
      generated = at
      nextArrival[0] = next
    },
    onPoll(nowNs, max, out) {
      if (generated >= count) return Stage.SOURCE_EXHAUSTED
      const n = count - generated < max ? count - generated : max
      const f = out.view.fields
      let i = 0
      if (unthrottled) {
        const tsNs = Math.floor(nowNs)
        for (; i < n; i++) {
          flow.next()
          const slot = out.emit()
          f.id.set(slot, flow.id)
          f.tsNs.set(slot, tsNs)
          f.price.set(slot, flow.price)
          f.size.set(slot, flow.size)
          f.symbol.set(slot, flow.symbol)
          f.side.set(slot, flow.side)
          f.kind.set(slot, flow.kind)
        }
      } else {
        let nextArrivalNs = nextArrival[0]!
        if (nextArrivalNs !== nextArrivalNs) nextArrivalNs = nowNs - Math.log(arrivals.nextOpenUnit()) * meanGapNs
        for (; i < n && nextArrivalNs <= nowNs; i++) {
          flow.next()
          const slot = out.emit()
          f.id.set(slot, flow.id)
          f.tsNs.set(slot, Math.floor(nextArrivalNs))
          f.price.set(slot, flow.price)
          f.size.set(slot, flow.size)
          f.symbol.set(slot, flow.symbol)
          f.side.set(slot, flow.side)
          f.kind.set(slot, flow.kind)
          // u in (0, 1]: -ln(u) ≥ 0 and finite.
          nextArrivalNs -= Math.log(arrivals.nextOpenUnit()) * meanGapNs
        }
        nextArrival[0] = nextArrivalNs
      }
      generated += i
      return i
    },
    // Paced: the loop may sleep until the next arrival is due (exhausted or not started: poll now).
    ...(unthrottled ? {} : {
      nextWakeNs: () => {
        const next = nextArrival[0]!
        return generated >= count || next !== next ? -Infinity : next
      }
    })
  }
}

/**
 * The ingress stage (a source of `Transaction`s). See the module comment for the arrival process, the
 * flow and the config.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { Ingress } from "@velox/market"
 *
 * // One million transactions as fast as the pipeline takes them, two symbols, 1% invalid.
 * const source = Pipeline.from(Ingress, { unthrottled: true, count: 1_000_000, symbols: 2, invalidFraction: 0.01 })
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const Ingress = Stage.source({
  name: "ingress",
  module: import.meta.url,
  output: Transaction,
  config: Config,
  keepsState: true,
  make: makeLogic
})
