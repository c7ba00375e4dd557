/**
 * The pipeline builder: a typed DSL for a graph of stages, kept apart from the runtime (as Disruptor
 * keeps its `dsl/`). It produces a plain `Pipeline` value; `Pipeline.run` plans and runs it.
 *
 * Shapes:
 * - a chain: `Pipeline.from(source).via(stage).to(sink)`;
 * - a tee: `.broadcast((b) => [b.via(X).to(A), b.to(B)])` — every record the stage before it emits
 *   goes to every branch, each branch through a ring of its own, each ending in a sink of its own;
 * - a merge: `Pipeline.merge(a, b).via(stage)` — the stage reads two or more builders' records (same
 *   layout), polling each input in turn;
 * - a partition: `.partition(stage, config, { by, count })` — instances fed by key, merged after;
 * - edges: `Pipeline.from(edge)` and `.to(edge)` with a `SourceEdge` / `SinkEdge` (see `Edge`), where
 *   Effect code feeds the pipeline or reads it.
 *
 * Building checks at compile time that each stage's input layout is exactly the output layout of what
 * feeds it — or that the stage takes any layout (`Stage.AnyLayout`) — and that the builders a merge
 * joins emit the same layout. A pipeline carries the Effect requirements `R` of its edges, which
 * `Pipeline.run` then requires from its context.
 *
 * Placement: consecutive stages are fused into one loop (one thread) unless a stage asks for
 * `placement: "worker"`, which starts a new thread at that stage, or `"fiber"`, a new loop in a fiber
 * on the main thread. Fusing stops at a tee, a merge and a partition: each branch of a tee begins a
 * loop of its own (fed by its own ring), a stage that merges begins a loop that polls its inputs in
 * turn, each instance of a partitioned step runs in its own thread, and the step after it begins a
 * loop that fans in. Such a loop runs in a worker thread unless its first stage asks for a fiber. A
 * source runs in a worker thread unless placed otherwise; edges run in fibers on the main thread.
 *
 * @since 0.1.0
 */
import type { Duration, Schedule } from "effect"
import { isSinkEdge, isSourceEdge, type SinkEdge, type SourceEdge } from "./Edge.ts"
import type { FieldSpec } from "./internal/kernel/recordLayout.ts"
import type { StageCrashed } from "./PipelineError.ts"
import type { AnyFields, SameAsInputFields, StageDefinition } from "./Stage.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type Placement = "fused" | "worker" | "fiber"

/**
 * What the ring into a step does when it is full:
 * - `"backpressure"` (default): the producer waits, so a slow consumer slows its producer — and, at a
 *   tee, every other branch with it;
 * - `"dropNewest"`: the producer writes no more into it until there is room; every record not written
 *   is counted, exactly, as dropped (`BranchFull`) on the link, in `stats()` and the ledger. For a
 *   branch that must never slow the others: a WebSocket fan-out, a monitor.
 *
 * @category models
 * @since 0.1.0
 */
export type Overflow = "backpressure" | "dropNewest"

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
  /**
   * What the ring into this stage does when full (default `"backpressure"`). Only a stage that reads
   * through a ring can drop: the first stage of a tee's branch, or one that starts a loop of its own.
   */
  readonly overflow?: Overflow
}

/**
 * What the supervisor does when a stage crashes:
 * - `Restart`: start its loop again on the same rings after `backoff` (a Schedule; when it ends, the
 *   pipeline fails), at most `maxRestarts` within any `window` (a crash counts until it is `window`
 *   old), else the pipeline fails. In a fused host, the policy of the stage that crashed applies; a
 *   thread that died is a crash of its first stage.
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
 * where it runs, how it is supervised, and the steps whose records it reads.
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
  /**
   * The steps whose output this step reads (objects of the same pipeline's `steps`): one for a link of
   * a chain, several for a merge, none for a source.
   */
  readonly inputs: ReadonlyArray<Step>
  /** What the ring into this step does when full; undefined: backpressure. */
  readonly overflow: Overflow | undefined
  /** The edge this step stands for, when it is one. */
  readonly edge: SourceEdge<any, any> | SinkEdge<any, any> | undefined
}

declare const RequirementsId: unique symbol

/**
 * A complete pipeline: every step, each after the steps it reads from, sources first. `R` is what its
 * edges need from the context of `Pipeline.run` (an Effect sink's services, a Stream's requirements).
 *
 * @category models
 * @since 0.1.0
 */
export interface Pipeline<out R = never> {
  readonly _tag: "Pipeline"
  readonly steps: ReadonlyArray<Step>
  /** Type-level only: the requirements of the pipeline's edges. */
  readonly [RequirementsId]?: () => R
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

/** The requirements of a pipeline. */
export type Requirements<P> = P extends Pipeline<infer R> ? R : never

interface StepFields {
  readonly placement: Placement
  readonly supervision?: Supervision | undefined
  readonly partition?: Step["partition"]
  readonly overflow?: Overflow | undefined
  readonly edge?: Step["edge"]
}

const makeStep = (
  definition: StageDefinition<any, any, any>,
  config: unknown,
  inputs: ReadonlyArray<Step>,
  fields: StepFields
): Step => ({
  definition,
  config,
  inputs,
  placement: fields.placement,
  supervision: fields.supervision,
  partition: fields.partition,
  overflow: fields.overflow,
  edge: fields.edge
})

/** Every step of `lists`, once each (by identity), in an order where each step follows its inputs. */
const union = (lists: ReadonlyArray<ReadonlyArray<Step>>): ReadonlyArray<Step> => {
  const seen = new Set<Step>()
  const out: Array<Step> = []
  // Each list is already ordered so; a step's inputs come from its own list, before it.
  for (const list of lists) {
    for (const s of list) {
      if (!seen.has(s)) {
        seen.add(s)
        out.push(s)
      }
    }
  }
  return out
}

/**
 * An open pipeline whose last stage (or stages, after a merge) emits records of spec `O`, needing `R`
 * from the context of `Pipeline.run`.
 *
 * @category models
 * @since 0.1.0
 */
export class Builder<O extends FieldSpec, R = never> {
  /** Type-level only: keeps `O` exact, so a merge of builders with different layouts does not compile. */
  declare readonly "~output": (o: O) => O
  /** Type-level only. */
  declare readonly "~requirements": () => R
  /** Every step so far, each after its inputs. */
  readonly steps: ReadonlyArray<Step>
  /** The steps whose output the next step reads (several after a merge). */
  readonly tails: ReadonlyArray<Step>

  constructor(steps: ReadonlyArray<Step>, tails: ReadonlyArray<Step>) {
    this.steps = steps
    this.tails = tails
  }

  private append(step: Step): ReadonlyArray<Step> {
    return [...this.steps, step]
  }

  /** Appends a stage whose input layout is exactly `O` (or any layout). */
  via<I extends FieldSpec, O2 extends FieldSpec, Cfg>(
    stage: StageDefinition<I, O2, Cfg> & Accepts<I, O>,
    config: Cfg,
    options: StepOptions = {}
  ): Builder<Emits<O2, O>, R> {
    const s = makeStep(stage, config, this.tails, { ...options, placement: options.placement ?? "fused" })
    return new Builder(this.append(s), [s])
  }

  /** Appends `count` instances of a stage, each in its own thread, fed by `key` (fan-out), merged after. */
  partition<I extends FieldSpec, O2 extends FieldSpec, Cfg>(
    stage: StageDefinition<I, O2, Cfg> & Accepts<I, O>,
    config: Cfg,
    options: {
      readonly by: keyof O & string
      readonly count: number
      readonly supervision?: Supervision
      readonly overflow?: Overflow
    }
  ): Builder<Emits<O2, O>, R> {
    if (!(Number.isInteger(options.count) && options.count >= 1)) {
      throw new RangeError(`partition count must be a positive integer: count=${options.count}`)
    }
    const s = makeStep(stage, config, this.tails, {
      placement: "worker",
      partition: { key: options.by, count: options.count },
      supervision: options.supervision,
      overflow: options.overflow
    })
    return new Builder(this.append(s), [s])
  }

  /**
   * Ends the pipeline in a sink whose input layout is exactly `O` (or any layout), or in a sink edge
   * of layout `O` (Effect code reads the records: see `Edge.sink` and `Stage.sinkEffect`).
   */
  to<I extends FieldSpec, R2>(edge: SinkEdge<I, R2> & SameFields<I, O>, options?: EdgeStepOptions): Pipeline<R | R2>
  to<I extends FieldSpec, Cfg>(
    sink: StageDefinition<I, never, Cfg> & Accepts<I, O>,
    config: Cfg,
    options?: StepOptions
  ): Pipeline<R>
  to(sink: StageDefinition<any, never, unknown> | SinkEdge<any, any>, configOrOptions?: unknown, options: StepOptions = {}): Pipeline<any> {
    if (isSinkEdge(sink)) {
      const o = (configOrOptions ?? {}) as EdgeStepOptions
      const s = makeStep(sink.definition, undefined, this.tails, { ...o, placement: "fiber", edge: sink })
      return { _tag: "Pipeline", steps: this.append(s) }
    }
    const s = makeStep(sink, configOrOptions, this.tails, { ...options, placement: options.placement ?? "fused" })
    return { _tag: "Pipeline", steps: this.append(s) }
  }

  /**
   * A tee: every record this builder emits goes to every branch. `branches` gets a builder at the tee
   * and returns the branches, each ended in a sink (or a sink edge); each branch reads through a ring
   * of its own and begins a loop of its own. By default a full branch slows the producer, and so every
   * branch: give a branch's first step `overflow: "dropNewest"` so that it drops (counted) instead.
   *
   * @example
   * ```ts
   * import { Pipeline } from "@velox/core"
   * import { Counter, CountingSink, Filter } from "@velox/core/stages"
   *
   * const pipeline = Pipeline.from(Counter, { count: 1_000_000 }).broadcast((b) => [
   *   b.via(Filter, { dropEvery: 2 }).to(CountingSink, {}),
   *   b.to(CountingSink, {}, { placement: "fiber", overflow: "dropNewest" })
   * ])
   * ```
   */
  broadcast<const P extends ReadonlyArray<Pipeline<any>>>(
    branches: (tee: Builder<O, R>) => P
  ): Pipeline<R | Requirements<P[number]>> {
    const pipelines = branches(this)
    if (pipelines.length === 0) throw new RangeError("broadcast needs at least one branch: branches=0")
    return { _tag: "Pipeline", steps: union([this.steps, ...pipelines.map((p) => p.steps)]) }
  }
}

/**
 * Options of an edge's step: its supervision, and for a sink edge what the ring into it does when full.
 *
 * @category models
 * @since 0.1.0
 */
export interface EdgeStepOptions {
  readonly supervision?: Supervision
  readonly overflow?: Overflow
}

/**
 * Starts a pipeline at a source. A source runs in its own worker thread unless `placement: "fiber"`
 * puts its loop on the main thread. A source edge (`Edge.source`, `Edge.fromStream`, …) takes no
 * config: Effect code feeds it, in a fiber on the main thread.
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
export function from<O extends FieldSpec, R>(edge: SourceEdge<O, R>, options?: { readonly supervision?: Supervision }): Builder<O, R>
export function from<O extends FieldSpec, Cfg>(
  source: StageDefinition<never, O, Cfg>,
  config: Cfg,
  options?: { readonly placement?: "worker" | "fiber"; readonly supervision?: Supervision }
): Builder<O>
export function from(
  source: StageDefinition<never, any, unknown> | SourceEdge<any, any>,
  configOrOptions?: unknown,
  options: { readonly placement?: "worker" | "fiber"; readonly supervision?: Supervision } = {}
): Builder<any, any> {
  if (isSourceEdge(source)) {
    const o = (configOrOptions ?? {}) as { readonly supervision?: Supervision }
    const s = makeStep(source.definition, undefined, [], { placement: "fiber", supervision: o.supervision, edge: source })
    return new Builder([s], [s])
  }
  if (source.kind !== "source") throw new RangeError(`"${source.name}" is a ${source.kind}, not a source`)
  const s = makeStep(source, configOrOptions, [], { placement: options.placement ?? "worker", supervision: options.supervision })
  return new Builder([s], [s])
}

type OutputOf<B> = B extends Builder<infer O, any> ? O : never
type RequirementsOf<B> = B extends Builder<any, infer R> ? R : never

/**
 * A merge: the next stage reads the records of every builder given (two or more, all emitting the same
 * layout — a compile error otherwise), polling each input ring in turn so that none starves another.
 * Order is kept per input, not across them. The builders may be separate sources or branches of one
 * tee (a diamond).
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { Counter, CountingSink } from "@velox/core/stages"
 *
 * const pipeline = Pipeline.merge(Pipeline.from(Counter, { count: 1000 }), Pipeline.from(Counter, { count: 2000 }))
 *   .to(CountingSink, {})
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const merge = <const B extends readonly [Builder<any, any>, Builder<any, any>, ...Array<Builder<any, any>>]>(
  ...builders: B & { readonly [K in keyof B]: Builder<OutputOf<B[0]>, RequirementsOf<B[K]>> }
): Builder<OutputOf<B[0]>, RequirementsOf<B[number]>> =>
  new Builder(union(builders.map((b) => b.steps)), union(builders.map((b) => b.tails)))

/**
 * A pipeline with every step rebuilt by `f` (the graph kept: inputs point at the rebuilt steps).
 *
 * @category constructors
 * @since 0.1.0
 */
export const mapSteps = <R>(pipeline: Pipeline<R>, f: (step: Step) => Step): Pipeline<R> => {
  const rebuilt = new Map<Step, Step>()
  const steps = pipeline.steps.map((s) => {
    const next = f(s)
    const inputs = s.inputs.map((i) => rebuilt.get(i) ?? i)
    const out = { ...next, inputs }
    rebuilt.set(s, out)
    return out
  })
  return { _tag: "Pipeline", steps }
}
