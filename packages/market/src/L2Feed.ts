/**
 * A source of {@link L2Update}s from the synthetic {@link L2Flow}: a 10,000-symbol L2 feed for
 * benchmarks, demos and recordings.
 *
 *   L2Feed ─▶ L2Update ─▶ (L2BookStage, a journal, …)
 *
 * Two ways to run:
 * - paced (the default): each message is emitted when the pipeline clock reaches its exchange time,
 *   `exchangeTsNs` on the pipeline clock (the flow's timeline — `rate` messages per second on average,
 *   in bursts — started at the first poll). End-to-end latency downstream is `now − exchangeTsNs`.
 * - `unthrottled`: as fast as the pipeline takes them, `exchangeTsNs` the flow's own timeline from 0
 *   (what a recording should keep, to be replayed at the original pace).
 *
 * The config is the flow's (`symbols`, `seed`, `levels`, `zipf`, `gapProbability`, `invalidFraction`,
 * `farProbability`, `recoveryDelay`, `rate`, `burstFactor`, `sessionStart` — with it, give the book
 * stage `firstSeq: 1`) plus `count` (exhaust after this many
 * messages; default `Infinity`) and `unthrottled`.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { L2BookStage, L2Feed, L2Status } from "@velox/market"
 *
 * const status = L2Status.make(10_000)
 * const pipeline = Pipeline.from(L2Feed, { symbols: 10_000, rate: 35_000, gapProbability: 1e-4 })
 *   .via(L2BookStage, { symbols: 10_000, status })
 * // .to(a Bbo sink)
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import { L2Flow, MAX_SYMBOLS } from "./internal/kernel/l2Flow.ts"
import { L2Update } from "./L2Update.ts"

const probability = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const positive = Schema.Finite.check(Schema.isGreaterThan(0))

/**
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  symbols: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: MAX_SYMBOLS })),
  seed: Schema.optional(Schema.Int),
  levels: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 2, maximum: 1_000 }))),
  zipf: Schema.optional(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 10 }))),
  gapProbability: Schema.optional(probability),
  invalidFraction: Schema.optional(probability),
  farProbability: Schema.optional(probability),
  recoveryDelay: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  rate: Schema.optional(positive),
  burstFactor: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(1))),
  sessionStart: Schema.optional(Schema.Boolean),
  count: Schema.optional(Schema.Number.check(Schema.isGreaterThanOrEqualTo(0))),
  unthrottled: Schema.optional(Schema.Boolean)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * The source's logic for a config (what `L2Feed.make` is), for tests that drive it with synthetic
 * `nowNs` values.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config): Stage.SourceLogic<typeof L2Update.spec> & { readonly flow: L2Flow } => {
  const { count: countOption, unthrottled: unthrottledOption, ...options } = config
  const flow = new L2Flow(options)
  const count = countOption ?? Infinity
  const unthrottled = unthrottledOption ?? false
  let generated = 0
  // Paced: the flow's timeline starts at the first poll; NaN until then. The next message waits in
  // the flow's fields until the clock reaches it.
  let startNs = NaN
  let pending = false
  return {
    flow,
    // Where the flow is: a restart replays the seeded flow up to it (one step per message).
    snapshotState: () => [generated, startNs, pending ? 1 : 0],
    restoreState(snapshot) {
      const [at, start, held] = snapshot as readonly [number, number, number]
      for (let i = 0; i < at + held; i++) flow.next()
      generated = at
      startNs = start
      pending = held === 1
    },
    onPoll(nowNs, max, out) {
      if (generated >= count) return Stage.SOURCE_EXHAUSTED
      if (startNs !== startNs) startNs = unthrottled ? 0 : nowNs
      const n = count - generated < max ? count - generated : max
      const f = out.view.fields
      let i = 0
      for (; i < n; i++) {
        if (!pending) {
          flow.next()
          pending = true
        }
        const tsNs = startNs + flow.exchangeTsNs
        if (!unthrottled && tsNs > nowNs) break
        pending = false
        const slot = out.emit()
        f.seq.set(slot, flow.seq)
        f.exchangeTsNs.set(slot, tsNs)
        f.price.set(slot, flow.price)
        f.size.set(slot, flow.size)
        f.symbol.set(slot, flow.symbol)
        f.side.set(slot, flow.side)
        f.op.set(slot, flow.op)
      }
      generated += i
      return i
    },
    // Paced: the loop may sleep until the next message is due (before the first poll: poll now).
    ...(unthrottled ? {} : {
      nextWakeNs: () =>
        generated >= count || startNs !== startNs || !pending ? -Infinity : startNs + flow.exchangeTsNs
    })
  }
}

/**
 * The feed source: `L2Update`s from a seeded synthetic flow. See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const L2Feed = Stage.source({
  name: "l2-feed",
  module: import.meta.url,
  output: L2Update,
  config: Config,
  keepsState: true,
  make: makeLogic
})
