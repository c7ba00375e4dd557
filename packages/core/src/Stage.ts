/**
 * A stage is a named actor defined once, in its own module: its record layouts, its config, the drop
 * reasons and error codes it may report, and `make(config)` returning its logic. The same definition
 * runs fused into a neighbour's loop or in its own worker thread: placement is configuration.
 *
 * The module must be importable by URL (pass `module: import.meta.url`), because a worker loads it.
 * Define stages in their own modules, not in the program's entry file: a worker that imported the
 * entry file would run the program again (`Pipeline.run` refuses such a placement).
 *
 * A stage may be **layout-generic**: `input: Stage.AnyLayout` takes whatever layout the previous stage
 * emits (a file sink, a journal, a tee), and `output: Stage.SameAsInput` emits that same layout. The
 * run resolves the concrete layouts and hands them to `make(config, context)` as `context.input` and
 * `context.output`, fused, in a worker or in a fiber alike.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { CounterCells, namedCells } from "./internal/kernel/counters.ts"
import { MAX_LABEL_BYTES } from "./internal/kernel/countersDescriptor.ts"
import { makeNanoClock } from "./internal/kernel/nanoClock.ts"
import type { FieldSpec, Layout } from "./internal/kernel/recordLayout.ts"
import type { SourceLogic, StageContext, StageLogic } from "./internal/kernel/stageLogic.ts"
import { MAX_REASONS } from "./internal/kernel/stageStatsDescriptor.ts"

export type {
  CloseReason,
  Counter,
  Emitter,
  Gauge,
  Lifecycle,
  SourceLogic,
  StageContext,
  StageLogic
} from "./internal/kernel/stageLogic.ts"
export {
  /**
   * A sink that runs an Effect per batch of decoded objects, on the main thread: a sink edge (see
   * `Edge.sinkEffect`, which it is). End a pipeline with it: `.to(store)`.
   *
   * @category constructors
   * @since 0.1.0
   */
  sinkEffect
} from "./Edge.ts"
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
 * Declares a layout-generic input: the stage takes whatever layout the previous stage emits.
 *
 * @example
 * ```ts
 * // countAny.ts
 * import { Stage } from "@velox/core"
 *
 * export const CountAny = Stage.sink({
 *   name: "count-any",
 *   module: import.meta.url,
 *   input: Stage.AnyLayout,
 *   make: (_config, context) => {
 *     console.log(`receiving ${context.input.name} records of ${context.input.byteLength} bytes`)
 *     return { onBatch: (_input, _start, count, out) => out.account(count) }
 *   }
 * })
 * ```
 *
 * @category layout
 * @since 0.1.0
 */
export const AnyLayout: AnyLayout = { _tag: "AnyLayout" }

/**
 * @category layout
 * @since 0.1.0
 */
export interface AnyLayout {
  readonly _tag: "AnyLayout"
}

/**
 * Declares the output of a layout-generic stage to be the layout it receives (a pass-through, a tee).
 *
 * @category layout
 * @since 0.1.0
 */
export const SameAsInput: SameAsInput = { _tag: "SameAsInput" }

/**
 * @category layout
 * @since 0.1.0
 */
export interface SameAsInput {
  readonly _tag: "SameAsInput"
}

declare const AnyFieldsId: unique symbol
declare const SameAsInputFieldsId: unique symbol

/**
 * The field spec (type only) of a layout-generic input: the builder accepts it after any stage.
 *
 * @category layout
 * @since 0.1.0
 */
export interface AnyFields extends FieldSpec {
  readonly [AnyFieldsId]: "AnyFields"
}

/**
 * The field spec (type only) of a `SameAsInput` output: the builder carries the upstream layout on.
 *
 * @category layout
 * @since 0.1.0
 */
export interface SameAsInputFields extends FieldSpec {
  readonly [SameAsInputFieldsId]: "SameAsInputFields"
}

/**
 * What a layout-generic stage's `make` receives: a {@link StageContext} whose layouts are set.
 *
 * @category models
 * @since 0.1.0
 */
export interface LayoutContext<K extends string = string, G extends string = string> extends StageContext<K, G> {
  readonly input: Layout
  readonly output: Layout | undefined
}

/**
 * A stage's definition. `I`/`O` are the field specs of its input and output records (`never` where it
 * has none; {@link AnyFields} / {@link SameAsInputFields} for a layout-generic stage), `C` its decoded
 * config, `K`/`G` the names of its counters and gauges.
 *
 * @category models
 * @since 0.1.0
 */
export interface StageDefinition<I extends FieldSpec, O extends FieldSpec, C, K extends string = string, G extends string = string> {
  readonly _tag: "StageDefinition"
  readonly kind: StageKind
  readonly name: string
  /** URL of the defining module (`import.meta.url`), which a worker imports. */
  readonly module: string
  /** The input layout; undefined for a source and for a layout-generic input (see `anyInput`). */
  readonly input: Layout<I> | undefined
  /** The output layout; undefined for a sink and for a `SameAsInput` output (see `outputSameAsInput`). */
  readonly output: Layout<O> | undefined
  /** Declared with `input: Stage.AnyLayout`: takes whatever layout the previous stage emits. */
  readonly anyInput: boolean
  /** Declared with `output: Stage.SameAsInput`: emits the layout it receives. */
  readonly outputSameAsInput: boolean
  readonly config: Schema.Codec<C, unknown>
  /** Drop reasons by code: `out.drop(0)` counts under `dropReasons[0]`. */
  readonly dropReasons: ReadonlyArray<string>
  /** Error tags by code: `out.deadLetter(0, ...)` is decoded as `errors[0]`. */
  readonly errors: ReadonlyArray<string>
  /** How often `onTimer` runs, at least; `Infinity` when the stage has no timer. */
  readonly timerPeriodNs: number
  /** The most input records the logic ever retains in state under `config` (bounded memory). */
  readonly maxRetained: (config: C) => number
  /** Names of the counters the stage updates (`context.counters.name.add(n)`). */
  readonly counters: ReadonlyArray<K>
  /** Names of the gauges the stage sets (`context.gauges.name.set(x)`). */
  readonly gauges: ReadonlyArray<G>
  /**
   * The logic keeps state a restart needs (an order book, a position in a feed). A restart restores it
   * from the logic's `snapshotState()` if it has `snapshotState` and `restoreState` hooks; without them the restart is
   * counted as state lost (`stats()`, `health()`, `/metrics`), never silent.
   */
  readonly keepsState: boolean
  /**
   * Fresh logic for a decoded config; the loop passes its {@link StageContext} (the pipeline clock,
   * the resolved layouts, the instance, the counters, how often the loop restarted). A caller driving
   * the logic directly may pass part of one, or none: the rest is filled in (see {@link context}).
   */
  readonly make: (config: C, context?: Partial<StageContext>) => StageLogic<I, O> | SourceLogic<O>
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isStageDefinition = (u: unknown): u is StageDefinition<FieldSpec, FieldSpec, unknown> =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "StageDefinition"

interface CommonOptions<C, K extends string = never, G extends string = never> {
  readonly name: string
  readonly module: string
  readonly config?: Schema.Codec<C, unknown>
  readonly dropReasons?: ReadonlyArray<string>
  readonly errors?: ReadonlyArray<string>
  readonly timerPeriodNs?: number
  /** The most input records the logic retains in state, for a given config; default 0 (stateless). */
  readonly maxRetained?: number | ((config: C) => number)
  /**
   * Counters the stage updates from its hot loop (`context.counters.x.add(n)`, no allocation), shown
   * per stage in `stats()`, the dashboard and `/metrics` (`velox_stage_counter_total{stage,name}`).
   */
  readonly counters?: ReadonlyArray<K>
  /** Gauges the stage sets (`context.gauges.x.set(v)`); `/metrics`: `velox_stage_gauge{stage,name}`. */
  readonly gauges?: ReadonlyArray<G>
  /** The logic keeps state a restart needs; see {@link StageDefinition.keepsState}. Default false. */
  readonly keepsState?: boolean
}

const NoConfig = Schema.Unknown as unknown as Schema.Codec<any, unknown>

type AnyMake<C> = (config: C, context: StageContext<any, any>) => StageLogic<any, any> | SourceLogic<any>

const NAME_BYTES = new TextEncoder()

const checkNames = (stage: string, counters: ReadonlyArray<string>, gauges: ReadonlyArray<string>): void => {
  const seen = new Set<string>()
  for (const name of [...counters, ...gauges]) {
    const bytes = NAME_BYTES.encode(name).length
    if (bytes === 0 || bytes > MAX_LABEL_BYTES) {
      throw new RangeError(`stage "${stage}": a counter or gauge name must be 1..${MAX_LABEL_BYTES} UTF-8 bytes: "${name}"`)
    }
    if (seen.has(name)) throw new RangeError(`stage "${stage}" declares the counter or gauge "${name}" twice`)
    seen.add(name)
  }
}

const isLayout = (u: Layout | AnyLayout | SameAsInput | undefined): u is Layout =>
  u !== undefined && !("_tag" in u)

const define = <I extends FieldSpec, O extends FieldSpec, C, K extends string = string, G extends string = string>(
  kind: StageKind,
  options: CommonOptions<C, string, string>,
  input: Layout | AnyLayout | undefined,
  output: Layout | SameAsInput | undefined,
  make: AnyMake<C>
): StageDefinition<I, O, C, K, G> => {
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
  const anyInput = input !== undefined && !isLayout(input)
  const outputSameAsInput = output !== undefined && !isLayout(output)
  if (outputSameAsInput && !anyInput) {
    throw new RangeError(`stage "${options.name}": output Stage.SameAsInput needs input Stage.AnyLayout`)
  }
  const counters = options.counters ?? []
  const gauges = options.gauges ?? []
  checkNames(options.name, counters, gauges)
  const declared = { name: options.name, input: isLayout(input) ? input : undefined, output: isLayout(output) ? output : undefined, counters, gauges }
  return {
    _tag: "StageDefinition",
    kind,
    name: options.name,
    module: options.module,
    input: isLayout(input) ? input as Layout<I> : undefined,
    output: isLayout(output) ? output as Layout<O> : undefined,
    anyInput,
    outputSameAsInput,
    config: options.config ?? NoConfig,
    dropReasons,
    errors,
    timerPeriodNs,
    maxRetained: typeof options.maxRetained === "function"
      ? options.maxRetained
      : (() => (options.maxRetained as number | undefined) ?? 0),
    counters: counters as ReadonlyArray<K>,
    gauges: gauges as ReadonlyArray<G>,
    keepsState: options.keepsState ?? false,
    make: ((config: C, given?: Partial<StageContext>) => {
      // A generic stage's make needs the resolved layouts: a pipeline passes them; say so to anyone else.
      if (anyInput && given?.input === undefined) {
        throw new TypeError(
          `stage "${options.name}" takes any layout: make(config, context) needs context.input (a pipeline passes it; ` +
            "pass it yourself when you drive the logic directly)"
        )
      }
      return make(config, completeContext(declared, given))
    }) as StageDefinition<I, O, C>["make"]
  }
}

interface Declared {
  readonly name: string
  readonly input: Layout | undefined
  readonly output: Layout | undefined
  readonly counters: ReadonlyArray<string>
  readonly gauges: ReadonlyArray<string>
}

/** `given`, with what it leaves out filled in: a fresh clock, the declared layouts, private counters, instance 0 of 1. */
const completeContext = (stage: Declared, given: Partial<StageContext> | undefined): StageContext => {
  const cells = given?.counters !== undefined && given.gauges !== undefined
    ? given
    : namedCells(new CounterCells(undefined, 0, stage.counters.length + stage.gauges.length), stage.counters, stage.gauges)
  return {
    nowNs: given?.nowNs ?? makeNanoClock().nowNs,
    input: given !== undefined && "input" in given ? given.input : stage.input,
    output: given !== undefined && "output" in given ? given.output : stage.output,
    restarts: given?.restarts ?? 0,
    instance: given?.instance ?? 0,
    instances: given?.instances ?? 1,
    counters: given?.counters ?? cells.counters!,
    gauges: given?.gauges ?? cells.gauges!
  }
}

/**
 * A context for driving a stage's logic directly (a test, a tool): `given`, completed as `make` would
 * complete it — a fresh pipeline clock, the stage's layouts, private counters and gauges (read them
 * with `context.counters.x.get()`), instance 0 of 1, no restarts.
 *
 * @example
 * ```ts
 * import { Stage } from "@velox/core"
 * import { Sequenced } from "@velox/core/stages"
 *
 * const Tally = Stage.sink({
 *   name: "tally",
 *   module: import.meta.url,
 *   input: Sequenced,
 *   counters: ["records"],
 *   make: (_config, context) => ({
 *     onBatch(_input, _start, count, out) {
 *       context.counters.records.add(count)
 *       out.account(count)
 *     }
 *   })
 * })
 *
 * const context = Stage.context(Tally)
 * const logic = Tally.make({}, context)
 * // … logic.onBatch(view, 0, 10, emitter) …
 * console.log(context.counters.records.get())
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export function context<K extends string, G extends string>(
  definition: StageDefinition<any, any, any, K, G>,
  given: Partial<StageContext> & { readonly input: Layout }
): LayoutContext<K, G>
export function context<K extends string, G extends string>(
  definition: StageDefinition<any, any, any, K, G>,
  given?: Partial<StageContext>
): StageContext<K, G>
export function context(definition: StageDefinition<any, any, any>, given?: Partial<StageContext>): StageContext {
  return completeContext(definition, given)
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
export function make<C = unknown, const K extends string = never, const G extends string = never>(
  options: CommonOptions<C, K, G> & {
    readonly input: AnyLayout
    readonly output: SameAsInput
    readonly make: (config: C, context: LayoutContext<K, G>) => StageLogic
  }
): StageDefinition<AnyFields, SameAsInputFields, C, K, G>
export function make<O extends FieldSpec, C = unknown, const K extends string = never, const G extends string = never>(
  options: CommonOptions<C, K, G> & {
    readonly input: AnyLayout
    readonly output: Layout<O>
    readonly make: (config: C, context: LayoutContext<K, G>) => StageLogic<FieldSpec, O>
  }
): StageDefinition<AnyFields, O, C, K, G>
export function make<
  I extends FieldSpec,
  O extends FieldSpec,
  C = unknown,
  const K extends string = never,
  const G extends string = never
>(
  options: CommonOptions<C, K, G> & {
    readonly input: Layout<I>
    readonly output: Layout<O>
    readonly make: (config: C, context: StageContext<K, G>) => StageLogic<I, O>
  }
): StageDefinition<I, O, C, K, G>
export function make<C>(
  options: CommonOptions<C, string, string> & {
    readonly input: Layout | AnyLayout
    readonly output: Layout | SameAsInput
    readonly make: (config: C, context: LayoutContext<any, any>) => StageLogic<any, any>
  }
): StageDefinition<FieldSpec, FieldSpec, C> {
  return define("stage", options, options.input, options.output, options.make as AnyMake<C>)
}

/**
 * Defines a source: a stage with no input, polled for records (a generator, a feed).
 *
 * @category constructors
 * @since 0.1.0
 */
export const source = <O extends FieldSpec, C = unknown, const K extends string = never, const G extends string = never>(
  options: CommonOptions<C, K, G> & {
    readonly output: Layout<O>
    readonly make: (config: C, context: StageContext<K, G>) => SourceLogic<O>
  }
): StageDefinition<never, O, C, K, G> =>
  define<never, O, C, K, G>("source", options as CommonOptions<C, string, string>, undefined, options.output, options.make as AnyMake<C>)

/**
 * Defines a sink: a stage with no output ring. It accounts for each record it delivers with
 * `out.account(n)` (or drops / dead-letters it). With `input: Stage.AnyLayout` it takes any layout
 * (`context.input` says which).
 *
 * @category constructors
 * @since 0.1.0
 */
export function sink<C = unknown, const K extends string = never, const G extends string = never>(
  options: CommonOptions<C, K, G> & {
    readonly input: AnyLayout
    readonly make: (config: C, context: LayoutContext<K, G>) => StageLogic<FieldSpec, never>
  }
): StageDefinition<AnyFields, never, C, K, G>
export function sink<I extends FieldSpec, C = unknown, const K extends string = never, const G extends string = never>(
  options: CommonOptions<C, K, G> & {
    readonly input: Layout<I>
    readonly make: (config: C, context: StageContext<K, G>) => StageLogic<I, never>
  }
): StageDefinition<I, never, C, K, G>
export function sink<C>(
  options: CommonOptions<C, string, string> & {
    readonly input: Layout | AnyLayout
    readonly make: (config: C, context: LayoutContext<any, any>) => StageLogic<any, never>
  }
): StageDefinition<FieldSpec, never, C> {
  return define("sink", options, options.input, undefined, options.make as AnyMake<C>)
}
