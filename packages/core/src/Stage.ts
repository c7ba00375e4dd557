/**
 * A stage is a named actor defined once, in its own module: its record layouts, its config, the drop
 * reasons and error codes it may report, and `make(config)` returning its logic. The same definition
 * runs fused into a neighbour's loop or in its own worker thread: placement is configuration.
 *
 * The module must be importable by URL (pass `module: import.meta.url`), because a worker loads it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { FieldSpec, Layout } from "./internal/kernel/recordLayout.ts"
import type { SourceLogic, StageContext, StageLogic } from "./internal/kernel/stageLogic.ts"
import { MAX_REASONS } from "./internal/kernel/stageStatsDescriptor.ts"

export type { Emitter, SourceLogic, StageContext, StageLogic } from "./internal/kernel/stageLogic.ts"
export {
  /** @category models @since 0.1.0 */
  SOURCE_EXHAUSTED
} from "./internal/kernel/stageLogic.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type StageKind = "source" | "stage" | "sink"

/**
 * A stage's definition. `I`/`O` are the field specs of its input and output records (`never` where it
 * has none), `C` its decoded config.
 *
 * @category models
 * @since 0.1.0
 */
export interface StageDefinition<I extends FieldSpec, O extends FieldSpec, C> {
  readonly _tag: "StageDefinition"
  readonly kind: StageKind
  readonly name: string
  /** URL of the defining module (`import.meta.url`), which a worker imports. */
  readonly module: string
  readonly input: Layout<I> | undefined
  readonly output: Layout<O> | undefined
  readonly config: Schema.Codec<C, unknown>
  /** Drop reasons by code: `out.drop(0)` counts under `dropReasons[0]`. */
  readonly dropReasons: ReadonlyArray<string>
  /** Error tags by code: `out.deadLetter(0, ...)` is decoded as `errors[0]`. */
  readonly errors: ReadonlyArray<string>
  /** How often `onTimer` runs, at least; `Infinity` when the stage has no timer. */
  readonly timerPeriodNs: number
  /** The most input records the logic ever retains in state under `config` (bounded memory). */
  readonly maxRetained: (config: C) => number
  /** Fresh logic for a decoded config; the loop passes its {@link StageContext} (the pipeline clock). */
  readonly make: (config: C, context?: StageContext) => StageLogic<I, O> | SourceLogic<O>
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isStageDefinition = (u: unknown): u is StageDefinition<FieldSpec, FieldSpec, unknown> =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "StageDefinition"

interface CommonOptions<C> {
  readonly name: string
  readonly module: string
  readonly config?: Schema.Codec<C, unknown>
  readonly dropReasons?: ReadonlyArray<string>
  readonly errors?: ReadonlyArray<string>
  readonly timerPeriodNs?: number
  /** The most input records the logic retains in state, for a given config; default 0 (stateless). */
  readonly maxRetained?: number | ((config: C) => number)
}

const NoConfig = Schema.Unknown as unknown as Schema.Codec<any, unknown>

const define = <I extends FieldSpec, O extends FieldSpec, C>(
  kind: StageKind,
  options: CommonOptions<C>,
  input: Layout<I> | undefined,
  output: Layout<O> | undefined,
  make: (config: C, context?: StageContext) => StageLogic<I, O> | SourceLogic<O>
): StageDefinition<I, O, C> => {
  const dropReasons = options.dropReasons ?? []
  const errors = options.errors ?? []
  // The last code of each is the runtime's own: "StageStopped" (drops) and "StageThrew" (errors).
  if (dropReasons.length > MAX_REASONS - 1 || errors.length > MAX_REASONS - 1) {
    throw new RangeError(
      `stage "${options.name}" declares ${dropReasons.length} drop reasons and ${errors.length} error codes; at most ${MAX_REASONS - 1} of each`
    )
  }
  const timerPeriodNs = options.timerPeriodNs ?? Infinity
  if (!(timerPeriodNs > 0)) throw new RangeError(`stage "${options.name}": timerPeriodNs must be > 0: ${timerPeriodNs}`)
  return {
    _tag: "StageDefinition",
    kind,
    name: options.name,
    module: options.module,
    input,
    output,
    config: options.config ?? NoConfig,
    dropReasons,
    errors,
    timerPeriodNs,
    maxRetained: typeof options.maxRetained === "function"
      ? options.maxRetained
      : (() => (options.maxRetained as number | undefined) ?? 0),
    make
  }
}

/**
 * Defines a stage with an input and an output.
 *
 * @example
 * ```ts
 * // scale.ts
 * import { Schema } from "effect"
 * import { RecordLayout, Stage } from "@velox/core"
 *
 * export const Quote = RecordLayout.make("Quote", { symbol: "u32", price: "f64" })
 *
 * export const Scale = Stage.make({
 *   name: "scale",
 *   module: import.meta.url,
 *   input: Quote,
 *   output: Quote,
 *   config: Schema.Struct({ factor: Schema.Finite }),
 *   dropReasons: ["non-positive"],
 *   make: ({ factor }) => ({
 *     onBatch(input, start, count, out) {
 *       const symbol = input.fields.symbol, price = input.fields.price
 *       for (let i = start; i < start + count; i++) {
 *         if (price.get(i) <= 0) { out.drop(0); continue }
 *         const slot = out.emit()
 *         out.view.fields.symbol.set(slot, symbol.get(i))
 *         out.view.fields.price.set(slot, price.get(i) * factor)
 *       }
 *     }
 *   })
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <I extends FieldSpec, O extends FieldSpec, C = unknown>(
  options: CommonOptions<C> & {
    readonly input: Layout<I>
    readonly output: Layout<O>
    readonly make: (config: C, context?: StageContext) => StageLogic<I, O>
  }
): StageDefinition<I, O, C> => define("stage", options, options.input, options.output, options.make)

/**
 * Defines a source: a stage with no input, polled for records (a generator, a feed).
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <O extends FieldSpec, C = unknown>(
  options: CommonOptions<C> & {
    readonly output: Layout<O>
    readonly make: (config: C, context?: StageContext) => SourceLogic<O>
  }
): StageDefinition<never, O, C> => define<never, O, C>("source", options, undefined, options.output, options.make)

/**
 * Defines a sink: a stage with no output ring. It accounts for each record it delivers with
 * `out.account(n)` (or drops / dead-letters it).
 *
 * @category constructors
 * @since 0.1.0
 */
export const sink = <I extends FieldSpec, C = unknown>(
  options: CommonOptions<C> & {
    readonly input: Layout<I>
    readonly make: (config: C, context?: StageContext) => StageLogic<I, never>
  }
): StageDefinition<I, never, C> => define<I, never, C>("sink", options, options.input, undefined, options.make)
