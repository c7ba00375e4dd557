/**
 * The pipeline builder: a typed DSL from a source, through stages, to a sink, kept apart from the
 * runtime (as Disruptor keeps its `dsl/`). Building checks at compile time that each stage's input
 * layout is exactly the previous stage's output layout — or that the stage takes any layout
 * (`Stage.AnyLayout`) — and produces a plain `Pipeline` value; `Pipeline.run` plans and runs it.
 *
 * Placement: consecutive stages are fused into one loop (one thread) unless a stage asks for
 * `placement: "worker"`, which starts a new thread at that stage, or `"fiber"`, a new loop in a fiber
 * on the main thread. Each instance of a partitioned step runs in its own thread, and the step after it
 * starts a new thread that fans in. A source runs in a worker thread unless placed otherwise.
 *
 * @since 0.1.0
 */
import type { Duration, Schedule } from "effect"
import type { FieldSpec } from "./internal/kernel/recordLayout.ts"
import type { StageCrashed } from "./PipelineError.ts"
import type { AnyFields, SameAsInputFields, StageDefinition } from "./Stage.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type Placement = "fused" | "worker" | "fiber"

/**
 * @category models
 * @since 0.1.0
 */
export interface StepOptions {
  /**
   * `"fused"` (default) joins the previous stage's loop; `"worker"` starts a new thread at this stage;
   * `"fiber"` starts a new loop in a fiber on the main thread (stages doing I/O; it never blocks the
   * event loop).
   */
  readonly placement?: Placement
  /** What to do when this stage crashes (default: the run's `restart` backoff and budget). */
  readonly supervision?: Supervision
}

/**
 * What the supervisor does when a stage crashes:
 * - `Restart`: start its loop again on the same rings after `backoff` (a Schedule; when it ends, the
 *   pipeline fails), at most `maxRestarts` within any `window`, else the pipeline fails.
 * - `Stop`: leave it stopped; its outputs are closed, so downstream drains, and records still arriving
 *   for it are released and counted as dropped with reason `StageStopped`. The pipeline runs on.
 * - `Escalate`: fail the pipeline with `StageCrashed` at once (it then drains).
 *
 * @category models
 * @since 0.1.0
 */
export type Supervision =
  | {
    readonly _tag: "Restart"
    readonly backoff?: Schedule.Schedule<unknown, StageCrashed> | undefined
    readonly maxRestarts?: number | undefined
    readonly window?: Duration.Input | undefined
  }
  | { readonly _tag: "Stop" }
  | { readonly _tag: "Escalate" }

/**
 * Supervision policies.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Pipeline } from "@velox/core"
 *
 * const restart = Pipeline.Supervision.restart({
 *   backoff: Schedule.exponential("50 millis"),
 *   maxRestarts: 3,
 *   window: "1 minute"
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const Supervision = {
  restart: (options: Omit<Extract<Supervision, { _tag: "Restart" }>, "_tag"> = {}): Supervision => ({
    _tag: "Restart",
    ...options
  }),
  stop: { _tag: "Stop" } as Supervision,
  escalate: { _tag: "Escalate" } as Supervision
} as const

/**
 * One step of a pipeline: a stage definition, its config as given (decoded when the pipeline runs),
 * where it runs and how it is supervised.
 *
 * @category models
 * @since 0.1.0
 */
export interface Step {
  readonly definition: StageDefinition<any, any, any>
  readonly config: unknown
  readonly placement: Placement
  readonly supervision: Supervision | undefined
  readonly partition: { readonly key: string; readonly count: number } | undefined
}

/**
 * A complete pipeline: a source, stages, a sink.
 *
 * @category models
 * @since 0.1.0
 */
export interface Pipeline {
  readonly _tag: "Pipeline"
  readonly steps: ReadonlyArray<Step>
}

/** Resolves to `unknown` when `A` and `B` have exactly the same fields, else to an explanatory error type. */
export type SameFields<A, B> = [A] extends [B] ? [B] extends [A] ? unknown
  : { readonly "layout mismatch: the stage's input is missing fields of the previous output": B }
  : { readonly "layout mismatch: the stage's input does not match the previous output": B }

/** Resolves to `unknown` when a stage reading `I` may follow one emitting `O`: the same fields, or any layout. */
export type Accepts<I, O> = [I] extends [never] ? { readonly "not a stage: a source cannot follow another stage": O }
  : [I] extends [AnyFields] ? unknown
  : SameFields<I, O>

/** What the builder emits after a stage declaring output `O2` behind output `O`: `O` for `Stage.SameAsInput`. */
export type Emits<O2, O> = [O2] extends [SameAsInputFields] ? O : O2

const step = (
  definition: StageDefinition<any, any, any>,
  config: unknown,
  placement: Placement,
  partition: Step["partition"],
  supervision?: Supervision
): Step => ({ definition, config, placement, supervision, partition })

/**
 * An open pipeline whose last stage emits records of spec `O`.
 *
 * @category models
 * @since 0.1.0
 */
export class Builder<O extends FieldSpec> {
  readonly steps: ReadonlyArray<Step>
  constructor(steps: ReadonlyArray<Step>) {
    this.steps = steps
  }

  /** Appends a stage whose input layout is exactly `O` (or any layout). */
  via<I extends FieldSpec, O2 extends FieldSpec, Cfg>(
    stage: StageDefinition<I, O2, Cfg> & Accepts<I, O>,
    config: Cfg,
    options: StepOptions = {}
  ): Builder<Emits<O2, O>> {
    return new Builder([...this.steps, step(stage, config, options.placement ?? "fused", undefined, options.supervision)])
  }

  /** Appends `count` instances of a stage, each in its own thread, fed by `key` (fan-out), merged after. */
  partition<I extends FieldSpec, O2 extends FieldSpec, Cfg>(
    stage: StageDefinition<I, O2, Cfg> & Accepts<I, O>,
    config: Cfg,
    options: { readonly by: keyof O & string; readonly count: number; readonly supervision?: Supervision }
  ): Builder<Emits<O2, O>> {
    if (!(Number.isInteger(options.count) && options.count >= 1)) {
      throw new RangeError(`partition count must be a positive integer: count=${options.count}`)
    }
    return new Builder([
      ...this.steps,
      step(stage, config, "worker", { key: options.by, count: options.count }, options.supervision)
    ])
  }

  /** Ends the pipeline in a sink whose input layout is exactly `O` (or any layout). */
  to<I extends FieldSpec, Cfg>(
    sink: StageDefinition<I, never, Cfg> & Accepts<I, O>,
    config: Cfg,
    options: StepOptions = {}
  ): Pipeline {
    return {
      _tag: "Pipeline",
      steps: [...this.steps, step(sink, config, options.placement ?? "fused", undefined, options.supervision)]
    }
  }
}

/**
 * Starts a pipeline at a source. A source runs in its own worker thread unless `placement: "fiber"`
 * puts its loop on the main thread.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { Counter, PassThrough, CountingSink } from "@velox/core/stages"
 *
 * const pipeline = Pipeline.from(Counter, { count: 1_000_000 })
 *   .via(PassThrough, {})
 *   .to(CountingSink, {})
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const from = <O extends FieldSpec, Cfg>(
  source: StageDefinition<never, O, Cfg>,
  config: Cfg,
  options: { readonly placement?: "worker" | "fiber"; readonly supervision?: Supervision } = {}
): Builder<O> => {
  if (source.kind !== "source") throw new RangeError(`"${source.name}" is a ${source.kind}, not a source`)
  return new Builder([step(source, config, options.placement ?? "worker", undefined, options.supervision)])
}
