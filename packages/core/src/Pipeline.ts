/**
 * A pipeline is a typed chain of stages from a source to a sink, with partitioned (fan-out by key,
 * fan-in after) steps. Building it checks at compile time that each stage's input layout is exactly the
 * previous stage's output layout. Running it is a scoped Effect: it allocates the rings, starts the
 * hosts (threads) under supervision, and on scope close drains before it returns.
 *
 * Placement: consecutive stages are fused into one loop (one thread) unless a stage asks for
 * `placement: "worker"`, which starts a new thread at that stage. Each instance of a partitioned step
 * runs in its own thread, and the step after it starts a new thread that fans in.
 *
 * @since 0.1.0
 */
import { Cause, Console, Deferred, Duration, Effect, Exit, Fiber, Option, Schedule, Schema, Scope } from "effect"
import { awaitBell } from "./internal/awaitBell.ts"
import { runInFiber } from "./internal/fiberHost.ts"
import type { HostedDefinition, HostMemberSpec, HostOutput, HostSpec } from "./internal/kernel/host.ts"
import * as C from "./internal/kernel/hostControlDescriptor.ts"
import { Doorbell, DOORBELL_STRIDE_BYTES, type DoorbellRef } from "./internal/kernel/doorbell.ts"
import { DEAD_LETTER_HEADER_BYTES, STAGE_STOPPED_REASON } from "./internal/kernel/emitters.ts"
import type { BackoffOptions } from "./internal/kernel/idleStrategy.ts"
import { absoluteNs } from "./internal/kernel/nanoClock.ts"
import {
  END_OF_STREAM,
  makeRing,
  RingConsumer,
  RingMonitor,
  RingProducer,
  type RingHandle
} from "./internal/kernel/oneToOneRing.ts"
import { isPowerOfTwo } from "./internal/kernel/ringDescriptor.ts"
import type { FieldSpec } from "./internal/kernel/recordLayout.ts"
import { makeStatsBuffer, readStageStats, statsRef, type StageCounters } from "./internal/kernel/stageStats.ts"
import * as S from "./internal/kernel/stageStatsDescriptor.ts"
import * as Ledger from "./Ledger.ts"
import type { StageDefinition } from "./Stage.ts"
import { StageHost, type HostOutcome } from "./StageHost.ts"

type AnyDefinition = StageDefinition<any, any, any>

/**
 * @category models
 * @since 0.1.0
 */
export interface StepOptions {
  /**
   * `"fused"` (default) joins the previous stage's loop; `"worker"` starts a new thread at this stage;
   * `"fiber"` starts a new loop in a fiber on the main thread (stages doing I/O; it never blocks the
   * event loop while idle).
   */
  readonly placement?: Placement
  /** What to do when this stage crashes (default: the run's `restart` backoff and budget). */
  readonly supervision?: Supervision
}

/**
 * @category models
 * @since 0.1.0
 */
export type Placement = "fused" | "worker" | "fiber"

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

interface Step {
  readonly definition: AnyDefinition
  readonly config: unknown
  readonly placement: Placement
  readonly supervision: Supervision | undefined
  readonly partition: { readonly key: string; readonly count: number } | undefined
}

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

  /** Appends a stage whose input layout is exactly `O`. */
  via<I extends FieldSpec, O2 extends FieldSpec, Cfg>(
    stage: StageDefinition<I, O2, Cfg> & SameFields<I, O>,
    config: Cfg,
    options: StepOptions = {}
  ): Builder<O2> {
    return new Builder([...this.steps, step(stage, config, options.placement ?? "fused", undefined, options.supervision)])
  }

  /** Appends `count` instances of a stage, each in its own thread, fed by `key` (fan-out), merged after. */
  partition<I extends FieldSpec, O2 extends FieldSpec, Cfg>(
    stage: StageDefinition<I, O2, Cfg> & SameFields<I, O>,
    config: Cfg,
    options: { readonly by: keyof O & string; readonly count: number; readonly supervision?: Supervision }
  ): Builder<O2> {
    if (!(Number.isInteger(options.count) && options.count >= 1)) {
      throw new RangeError(`partition count must be a positive integer: count=${options.count}`)
    }
    return new Builder([
      ...this.steps,
      step(stage, config, "worker", { key: options.by, count: options.count }, options.supervision)
    ])
  }

  /** Ends the pipeline in a sink whose input layout is exactly `O`. */
  to<I extends FieldSpec, Cfg>(
    sink: StageDefinition<I, never, Cfg> & SameFields<I, O>,
    config: Cfg,
    options: StepOptions = {}
  ): Pipeline {
    return {
      _tag: "Pipeline",
      steps: [...this.steps, step(sink, config, options.placement ?? "fused", undefined, options.supervision)]
    }
  }
}

/** Resolves to `unknown` when `A` and `B` have exactly the same fields, else to an explanatory error type. */
export type SameFields<A, B> = [A] extends [B] ? [B] extends [A] ? unknown
  : { readonly "layout mismatch: the stage's input is missing fields of the previous output": B }
  : { readonly "layout mismatch: the stage's input does not match the previous output": B }

const step = (
  definition: AnyDefinition,
  config: unknown,
  placement: Placement,
  partition: Step["partition"],
  supervision?: Supervision
): Step => ({ definition, config, placement, supervision, partition })

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

/**
 * Starts a pipeline at a source.
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

// ---------------------------------------------------------------------------------------------------
// Errors

/**
 * A stage crashed more often than its restart schedule allows, and the pipeline gave up on it.
 *
 * @category errors
 * @since 0.1.0
 */
export class StageCrashed extends Schema.TaggedError<StageCrashed>()("StageCrashed", {
  stage: Schema.String,
  host: Schema.String,
  message: Schema.String
}) {}

/**
 * The drain did not finish within its deadline; `abandoned` says what was left, by stage and ring.
 *
 * @category errors
 * @since 0.1.0
 */
export class DrainTimeout extends Schema.TaggedError<DrainTimeout>()("DrainTimeout", {
  deadlineMs: Schema.Number,
  abandoned: Schema.Array(Schema.Struct({ where: Schema.String, records: Schema.Number }))
}) {}

/**
 * The pipeline's shape or options are unusable (e.g. a ring capacity that is not a power of two).
 *
 * @category errors
 * @since 0.1.0
 */
export class PipelineConfigError extends Schema.TaggedError<PipelineConfigError>()("PipelineConfigError", {
  key: Schema.String,
  value: Schema.String,
  rule: Schema.String
}) {
  override get message(): string {
    return `${this.key}=${this.value}: ${this.rule}`
  }
}

// ---------------------------------------------------------------------------------------------------
// Running

/**
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /** Slots per ring between threads (power of two). Default 16384. */
  readonly ringCapacity?: number
  /** Most records a loop handles per pass. Default 256. */
  readonly batchSize?: number
  /** `"spin"` never sleeps (benchmarks, dedicated cores); backoff options park when idle (default). */
  readonly idle?: "spin" | BackoffOptions
  /** Backoff between restarts of a crashed stage (when it ends, the pipeline fails). Default: exponential from 10 ms, capped at 1 s. */
  readonly restart?: Schedule.Schedule<unknown, StageCrashed>
  /** Restart budget: more than `maxRestarts` crashes of one host within `window` fail the pipeline. Default 5 within 1 minute. */
  readonly restartBudget?: { readonly maxRestarts: number; readonly window: Duration.Input }
  /** Crashes on one record before it is dead-lettered. Default 3. */
  readonly maxRecordCrashes?: number
  /** How long the drain may take before the rest is abandoned. Default 10 s. */
  readonly drainTimeout?: Duration.Input
  /** Dead letters kept for `deadLetters()` (the count is always exact). Default 1000. */
  readonly deadLetterBuffer?: number
  /** Print the ledger table when the drain ends. Default false. */
  readonly report?: boolean
}

/**
 * How the last drain of a pipeline ended, for exit codes: `balanced` false means a record is not
 * accounted for; `abandoned` > 0 means the drain was cut short.
 *
 * @category models
 * @since 0.1.0
 */
export interface DrainReport {
  readonly ledger: Ledger.Ledger
  readonly timedOut: boolean
}

const live = new Set<PipelineHandle>()
const reports: Array<DrainReport> = []

/**
 * Pipelines running in this process (a signal handler aborts them on a second signal).
 *
 * @category constructors
 * @since 0.1.0
 */
export const running = (): ReadonlyArray<PipelineHandle> => [...live]

/**
 * Drain reports of every pipeline that finished in this process, oldest first.
 *
 * @category constructors
 * @since 0.1.0
 */
export const drainReports = (): ReadonlyArray<DrainReport> => reports

/**
 * One record a stage could not handle, decoded from the dead-letter ring: `error` is the tag the stage
 * declared for the code (`errors[code]`), or `StageThrew` for a record that crashed the stage again
 * and again. Serialisable, so it can be logged, sent or stored as is.
 *
 * @category errors
 * @since 0.1.0
 */
export class RecordFailed extends Schema.TaggedError<RecordFailed>()("RecordFailed", {
  stage: Schema.String,
  error: Schema.String,
  code: Schema.Number,
  record: Schema.Record(Schema.String, Schema.Number),
  /** Wall-clock time (ms since the epoch) the control plane decoded it: within ~20 ms of the failure. */
  seenAtMs: Schema.Number
}) {}

/**
 * One distinct error of one stage, over the whole run: how many records failed with it, when it was
 * first and last seen, and the most recent such record.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorSummary {
  readonly stage: string
  readonly error: string
  readonly count: number
  readonly firstSeenMs: number
  readonly lastSeenMs: number
  readonly sample: RecordFailed
}

/**
 * @category models
 * @since 0.1.0
 */
export type DeadLetter = RecordFailed

/**
 * @category models
 * @since 0.1.0
 */
export interface StageSnapshot extends StageCounters {
  readonly stage: string
  readonly definition: string
  readonly host: string
  readonly dropReasons: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
}

/**
 * @category models
 * @since 0.1.0
 */
export interface RingSnapshot {
  readonly name: string
  readonly from: string
  readonly to: string
  readonly capacity: number
  readonly fill: number
  readonly closed: boolean
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly stages: ReadonlyArray<StageSnapshot>
  readonly rings: ReadonlyArray<RingSnapshot>
}

/**
 * Liveness and readiness in one: `ready` is false while starting, while draining, after the run ended,
 * and when a stage failed or was stopped; `reasons` says why.
 *
 * @category models
 * @since 0.1.0
 */
export interface Health {
  readonly status: "starting" | "running" | "draining" | "done" | "failed"
  readonly ready: boolean
  readonly reasons: ReadonlyArray<string>
  readonly stages: ReadonlyArray<{ readonly stage: string; readonly state: string; readonly restarts: number; readonly crashes: number }>
}

/**
 * What `run` returns: live stats, health, the ledger, and completion.
 *
 * @category models
 * @since 0.1.0
 */
export interface PipelineHandle {
  readonly stats: () => Snapshot
  readonly health: () => Health
  readonly ledger: () => Ledger.Ledger
  readonly deadLetters: () => ReadonlyArray<DeadLetter>
  /** Distinct errors per stage since the start (counts exact, unlike the bounded `deadLetters()`). */
  readonly errorSummary: () => ReadonlyArray<ErrorSummary>
  /** Completes when every host drained (a finite source ran out), or fails when a stage was given up on. */
  readonly done: Effect.Effect<void, StageCrashed>
  /** Stops the sources; the rest drains behind them. `done` completes after. */
  readonly stop: Effect.Effect<void>
  /** Tells every loop to leave at once, draining nothing (a second signal). */
  readonly abortUnsafe: () => void
  /** Fault injection: kills a host's thread abruptly, as a crash would. */
  readonly terminateHost: (host: string) => Effect.Effect<boolean>
  readonly hosts: ReadonlyArray<string>
}

interface PlannedHost {
  readonly spec: HostSpec
  readonly definitions: ReadonlyArray<AnyDefinition>
  /** Runs in a fiber on the main thread rather than in a worker thread. */
  readonly inFiber: boolean
  readonly isSource: boolean
  readonly stageNames: ReadonlyArray<string>
}

const DEFAULTS = { ringCapacity: 16384, batchSize: 256, maxRecordCrashes: 3, drainTimeoutMs: 10_000 } as const

const validate = (options: RunOptions): Effect.Effect<void, PipelineConfigError> =>
  Effect.suspend(() => {
    const capacity = options.ringCapacity ?? DEFAULTS.ringCapacity
    if (!isPowerOfTwo(capacity) || capacity < 2) {
      return Effect.fail(new PipelineConfigError({ key: "ringCapacity", value: String(capacity), rule: "must be a power of two ≥ 2" }))
    }
    const batch = options.batchSize ?? DEFAULTS.batchSize
    if (!(Number.isInteger(batch) && batch >= 1 && batch <= capacity)) {
      return Effect.fail(new PipelineConfigError({ key: "batchSize", value: String(batch), rule: `must be an integer in 1..ringCapacity (${capacity})` }))
    }
    return Effect.void
  })

/** Lays the steps out into hosts, rings and stats blocks. */
const plan = (pipeline: Pipeline, options: RunOptions, configs: ReadonlyArray<unknown>) => {
  const capacity = options.ringCapacity ?? DEFAULTS.ringCapacity
  const batchSize = options.batchSize ?? DEFAULTS.batchSize
  const epochNs = absoluteNs()
  // Group steps into host groups: each group is a list of "lanes" (one lane unless partitioned).
  type Group = { steps: Array<{ step: Step; index: number }>; lanes: number; key: string | undefined }
  const groups: Array<Group> = []
  pipeline.steps.forEach((s, index) => {
    const last = groups[groups.length - 1]
    const newGroup = last === undefined || s.placement !== "fused" || s.partition !== undefined || last.lanes > 1
    if (newGroup) groups.push({ steps: [{ step: s, index }], lanes: s.partition?.count ?? 1, key: s.partition?.key })
    else last.steps.push({ step: s, index })
  })
  const hostCount = groups.reduce((n, g) => n + g.lanes, 0)
  const bells = new SharedArrayBuffer(hostCount * DOORBELL_STRIDE_BYTES)
  const bellOf = (h: number): DoorbellRef => ({ buffer: bells, byteOffset: h * DOORBELL_STRIDE_BYTES })
  const instanceCount = groups.reduce((n, g) => n + g.lanes * g.steps.length, 0)
  const stats = makeStatsBuffer(instanceCount)
  const stages: Array<{ name: string; definition: AnyDefinition; host: string; statsIndex: number; step: number }> = []
  const rings: Array<{ name: string; from: string; to: string; handle: RingHandle }> = []
  const hosts: Array<PlannedHost> = []
  let hostIndex = 0
  // Host indices per group, to wire rings between consecutive groups.
  const groupHosts: Array<Array<number>> = []
  groups.forEach((g) => {
    const ids: Array<number> = []
    for (let lane = 0; lane < g.lanes; lane++) ids.push(hostIndex++)
    groupHosts.push(ids)
  })
  // ringsInto[h] = handles consumed by host h; output of host h.
  const inputsOf: Array<Array<RingHandle>> = Array.from({ length: hostCount }, () => [])
  const outputOf: Array<HostOutput> = Array.from({ length: hostCount }, () => ({ _tag: "None" }) as HostOutput)
  // A stage used more than once gets a suffix per use ("pass-through", "pass-through-2", …), so every
  // instance and host name is unique: stats, links and supervision are keyed by them.
  const uses = new Map<string, number>()
  const stepName = pipeline.steps.map((s) => {
    const n = (uses.get(s.definition.name) ?? 0) + 1
    uses.set(s.definition.name, n)
    return n === 1 ? s.definition.name : `${s.definition.name}-${n}`
  })
  const hostName = (gi: number, lane: number) => {
    const g = groups[gi]!
    const base = g.steps.map((s) => stepName[s.index]!).join("+")
    return g.lanes > 1 ? `${base}#${lane}` : base
  }
  for (let gi = 0; gi + 1 < groups.length; gi++) {
    const producers = groupHosts[gi]!
    const consumers = groupHosts[gi + 1]!
    const nextGroup = groups[gi + 1]!
    const layout = groups[gi]!.steps[groups[gi]!.steps.length - 1]!.step.definition.output!
    // Every producer lane gets one ring to every consumer lane; a partitioned consumer group routes by key.
    for (const [pl, p] of producers.entries()) {
      const handles: Array<RingHandle> = []
      for (const [cl, c] of consumers.entries()) {
        const handle = makeRing({ capacity, slotBytes: layout.byteLength, consumerBell: bellOf(c), producerBell: bellOf(p) })
        inputsOf[c]!.push(handle)
        handles.push(handle)
        rings.push({ name: `${hostName(gi, pl)}→${hostName(gi + 1, cl)}`, from: hostName(gi, pl), to: hostName(gi + 1, cl), handle })
      }
      outputOf[p] = handles.length === 1
        ? { _tag: "Ring", handle: handles[0]! }
        : { _tag: "Partition", handles, key: nextGroup.key! }
    }
  }
  let statsIndex = 0
  groups.forEach((g, gi) => {
    for (let lane = 0; lane < g.lanes; lane++) {
      const h = groupHosts[gi]![lane]!
      const name = hostName(gi, lane)
      const members: Array<HostMemberSpec> = g.steps.map(({ step: s, index }) => {
        const instance = g.lanes > 1 ? `${stepName[index]!}#${lane}` : stepName[index]!
        stages.push({ name: instance, definition: s.definition, host: name, statsIndex, step: index })
        return { module: s.definition.module, stage: s.definition.name, instance, config: configs[index], statsIndex: statsIndex++ }
      })
      const widestInput = Math.max(8, ...g.steps.map(({ step: s }) => s.definition.input?.byteLength ?? 8))
      const deadLetters = makeRing({
        capacity: 1024,
        slotBytes: DEAD_LETTER_HEADER_BYTES + widestInput,
        producerBell: bellOf(h)
      })
      hosts.push({
        definitions: g.steps.map(({ step: s }) => s.definition),
        inFiber: g.steps[0]!.step.placement === "fiber",
        isSource: gi === 0,
        stageNames: members.map((m) => m.instance),
        spec: {
          name,
          members,
          inputs: inputsOf[h]!,
          output: outputOf[h]!,
          deadLetters,
          stats,
          control: C.makeControlBlock(),
          bell: bellOf(h),
          batchSize,
          idle: options.idle ?? {},
          maxRecordCrashes: options.maxRecordCrashes ?? DEFAULTS.maxRecordCrashes,
          epochNs
        }
      })
    }
  })
  return { hosts, stages, rings, stats }
}

const defaultRestart: Schedule.Schedule<unknown, StageCrashed> = Schedule.exponential("10 millis").pipe(
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(1))))
) as unknown as Schedule.Schedule<unknown, StageCrashed>

/**
 * Runs a pipeline in the current scope and returns its handle at once. Closing the scope drains:
 * sources stop and close their rings, every stage consumes to the end, runs its drain hook and closes
 * its output, the threads are joined, and the ledger is checked. A drain past `drainTimeout` aborts
 * what is left and reports it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = Effect.fnUntraced(function*(pipeline: Pipeline, options: RunOptions = {}) {
  yield* validate(options)
  const configs: Array<unknown> = []
  for (const s of pipeline.steps) {
    configs.push(
      yield* Schema.decodeUnknownEffect(s.definition.config)(s.config).pipe(
        Effect.mapError((e) => new PipelineConfigError({ key: s.definition.name, value: JSON.stringify(s.config), rule: e.message }))
      )
    )
  }
  const capacity = options.ringCapacity ?? DEFAULTS.ringCapacity
  for (const [i, s] of pipeline.steps.entries()) {
    const retained = s.definition.maxRetained(configs[i])
    if (retained >= capacity) {
      return yield* new PipelineConfigError({
        key: `${s.definition.name}.maxRetained`,
        value: String(retained),
        rule: `must be below ringCapacity (${capacity}): retained records stay in the input ring`
      })
    }
  }
  const host = yield* StageHost
  const { hosts, stages, rings, stats } = plan(pipeline, options, configs)
  const deadLetterBuffer = options.deadLetterBuffer ?? 1000
  const deadLetters: Array<DeadLetter> = []
  const errorTable = new Map<string, { -readonly [K in keyof ErrorSummary]: ErrorSummary[K] }>()
  const definitions = new Map(stages.map((s) => [s.name, s]))

  const snapshot = (): Snapshot => ({
    stages: stages.map((s) => ({
      stage: s.name,
      definition: s.definition.name,
      host: s.host,
      dropReasons: s.definition.dropReasons,
      errors: s.definition.errors,
      ...readStageStats(statsRef(stats, s.statsIndex))
    })),
    rings: rings.map((r) => {
      const m = new RingMonitor(r.handle)
      return { name: r.name, from: r.from, to: r.to, capacity: r.handle.capacity, fill: m.fill(), closed: m.isClosed() }
    })
  })

  const drainDeadLetters = Effect.sync(() => {
    for (const h of hosts) {
      const handle = h.spec.deadLetters!
      Ledger.readDeadLetters(handle, (code, member, record) => {
        const memberName = h.stageNames[member] ?? h.stageNames[0]!
        const stage = definitions.get(memberName)!
        if (deadLetters.length >= deadLetterBuffer) deadLetters.shift()
        const layout = stage.definition.input
        const letter = new RecordFailed({
          stage: memberName,
          code,
          error: code === S.MAX_REASONS - 1 ? "StageThrew" : stage.definition.errors[code] ?? `code ${code}`,
          record: layout === undefined ? {} : Ledger.decodeWords(layout, record),
          seenAtMs: Date.now()
        })
        deadLetters.push(letter)
        const key = `${letter.stage}\u0000${letter.error}`
        const seen = errorTable.get(key)
        if (seen === undefined) {
          errorTable.set(key, {
            stage: letter.stage,
            error: letter.error,
            count: 1,
            firstSeenMs: letter.seenAtMs,
            lastSeenMs: letter.seenAtMs,
            sample: letter
          })
        } else {
          seen.count++
          seen.lastSeenMs = letter.seenAtMs
          seen.sample = letter
        }
      })
    }
  })

  // A thread that died mid-pass could not undo its pass (a throw can): fix its counters from the rings.
  const reconcileDeadHost = (h: PlannedHost) => {
    const blocks = h.stageNames.map((name) =>
      new Float64Array(stats, definitions.get(name)!.statsIndex * S.STATS_BLOCK_BYTES, S.STATS_BLOCK_BYTES / 8)
    )
    const first = blocks[0]!
    const last = blocks[blocks.length - 1]!
    // What the first member retained was counted in IN and stays unreleased: it comes again.
    if (h.spec.inputs.length === 1) first[S.REDELIVERED_OFFSET >> 3]! += first[S.RETAINED_OFFSET >> 3]!
    else first[S.LOST_OFFSET >> 3]! += first[S.RETAINED_OFFSET >> 3]!
    first[S.RETAINED_OFFSET >> 3] = 0
    for (const b of blocks.slice(1)) {
      b[S.LOST_OFFSET >> 3]! += b[S.RETAINED_OFFSET >> 3]!
      b[S.RETAINED_OFFSET >> 3] = 0
    }
    // Outputs published by the pass that never committed: the ring's TAIL is the truth (mod 2^32).
    const out = h.spec.output
    const handles = out._tag === "Ring" ? [out.handle] : out._tag === "None" ? [] : out.handles
    const published = handles.reduce((n, handle) => n + (new RingMonitor(handle).tail() >>> 0), 0)
    const counted = last[S.WRITTEN_OFFSET >> 3]! + last[S.DUPLICATED_OFFSET >> 3]!
    const uncounted = (published - counted) % 2 ** 32
    if (uncounted > 0) last[S.DUPLICATED_OFFSET >> 3]! += uncounted
  }

  const stageOf = (h: PlannedHost, member: number) => h.stageNames[member] ?? h.stageNames[0]!
  const blockOf = (stage: string) =>
    new Float64Array(stats, definitions.get(stage)!.statsIndex * S.STATS_BLOCK_BYTES, S.STATS_BLOCK_BYTES / 8)
  const setState = (stage: string, state: S.StageState) =>
    Atomics.store(
      new Int32Array(stats, definitions.get(stage)!.statsIndex * S.STATS_BLOCK_BYTES, 4),
      S.STATE_OFFSET >> 2,
      state
    )
  const policyOf = (stage: string): Supervision => {
    return pipeline.steps[definitions.get(stage)!.step]!.supervision ?? { _tag: "Restart" }
  }
  const budget = options.restartBudget ?? { maxRestarts: 5, window: "1 minute" }

  /** A stopped host: its outputs close; what still arrives is released and dropped as StageStopped. */
  const blackHole = (h: PlannedHost) =>
    Effect.gen(function*() {
      for (const name of h.stageNames) setState(name, S.StageState.Stopped)
      const out = h.spec.output
      const handles = out._tag === "Ring" ? [out.handle] : out._tag === "None" ? [] : out.handles
      for (const handle of handles) new RingProducer(handle).close()
      const first = blockOf(h.stageNames[0]!)
      const consumers = h.spec.inputs.map((handle) => new RingConsumer(handle))
      const bell = new Doorbell(h.spec.bell)
      const absorb = () => {
        let ended = 0
        for (const c of consumers) {
          for (;;) {
            const n = c.poll(c.capacity)
            if (n === END_OF_STREAM) {
              ended++
              break
            }
            if (n === 0) break
            c.release(n)
            first[S.IN_OFFSET >> 3]! += n
            first[S.DROPPED_OFFSET >> 3]! += n
            first[(S.DROPPED_BY_REASON_OFFSET >> 3) + STAGE_STOPPED_REASON]! += n
          }
        }
        return ended === consumers.length
      }
      while (!absorb()) yield* awaitBell(bell, () => consumers.some((c) => c.hasWork()))
    })

  /**
   * The pipeline gives up on a stage: the run fails (first failure wins), and the stage becomes a
   * stopped one so that everything else can still drain and be accounted for.
   */
  const failure = yield* Deferred.make<never, StageCrashed>()
  const failures: Array<string> = []
  const giveUp = (h: PlannedHost, crashed: StageCrashed) =>
    Effect.gen(function*() {
      failures.push(`stage ${crashed.stage} failed: ${crashed.message.split("\n")[0]}`)
      yield* Deferred.fail(failure, crashed)
      yield* blackHole(h)
    })

  const supervise = (h: PlannedHost) =>
    Effect.gen(function*() {
      const backoff = yield* Schedule.toStepWithSleep(options.restart ?? defaultRestart)
      const windowMs = Duration.toMillis(Duration.fromInputUnsafe(budget.window))
      const crashTimes: Array<number> = []
      for (;;) {
        const outcome: HostOutcome = h.inFiber
          ? yield* runInFiber(h.spec, h.definitions as unknown as ReadonlyArray<HostedDefinition>)
          : yield* host.run(h.spec).pipe(Effect.orDie)
        if (outcome._tag === "Drained" || outcome._tag === "Aborted") return
        const stage = outcome._tag === "Crashed" ? stageOf(h, outcome.member) : h.stageNames[0]!
        if (outcome._tag === "Died") reconcileDeadHost(h)
        blockOf(stage)[S.CRASHES_OFFSET >> 3]! += 1
        yield* Effect.logWarning(`stage ${stage} (host ${h.spec.name}) crashed: ${outcome.message.split("\n")[0]}`)
        const crashed = new StageCrashed({ stage, host: h.spec.name, message: outcome.message })
        const policy = policyOf(stage)
        if (policy._tag === "Escalate") return yield* giveUp(h, crashed)
        if (policy._tag === "Stop") return yield* blackHole(h)
        const now = Date.now()
        crashTimes.push(now)
        while (crashTimes.length > 0 && crashTimes[0]! <= now - Duration.toMillis(Duration.fromInputUnsafe(policy.window ?? windowMs))) {
          crashTimes.shift()
        }
        if (crashTimes.length > (policy.maxRestarts ?? budget.maxRestarts)) return yield* giveUp(h, crashed)
        // The backoff sleeps; a finished schedule means no more restarts.
        const next = yield* Effect.exit(backoff(crashed))
        if (Exit.isFailure(next)) return yield* giveUp(h, crashed)
        blockOf(stage)[S.RESTARTS_OFFSET >> 3]! += 1
      }
    })

  let phase: "running" | "draining" | "done" = "running"
  const health = (): Health => {
    const snap = snapshot()
    const reasons: Array<string> = [...failures]
    for (const st of snap.stages) {
      if (st.state === "Stopped" && phase === "running") reasons.push(`stage ${st.stage} is stopped`)
      if (st.state === "Crashed") reasons.push(`stage ${st.stage} crashed (restarting)`)
    }
    const starting = snap.stages.some((st) => st.state === "Idle")
    // A finite source ran out and every stage finished: the run has ended, scope closed or not.
    const finished = phase === "running" && snap.stages.every((st) => st.state === "Done")
    const status = failures.length > 0 ? "failed" : finished ? "done" : phase !== "running" ? phase : starting ? "starting" : "running"
    if (status === "starting") reasons.push("stages still starting: " + snap.stages.filter((st) => st.state === "Idle").map((st) => st.stage).join(", "))
    if (status === "draining") reasons.push("draining")
    if (status === "done") reasons.push("the run has ended")
    return {
      status,
      ready: status === "running" && reasons.length === 0,
      reasons,
      stages: snap.stages.map((st) => ({ stage: st.stage, state: st.state, restarts: st.restarts, crashes: st.crashes }))
    }
  }
  const fibers = yield* Effect.forEach(hosts, (h) => Effect.forkDetach(supervise(h), { startImmediately: true }))
  const deadLetterFiber = yield* Effect.forkDetach(
    drainDeadLetters.pipe(Effect.andThen(Effect.sleep("20 millis")), Effect.forever),
    { startImmediately: true }
  )
  // Every host finished: drained, aborted, or (given up on) absorbed its input.
  const finished = yield* Deferred.make<void>()
  const waiter = yield* Effect.forkDetach(
    Effect.forEach(fibers, Fiber.await, { discard: true }).pipe(Effect.andThen(Deferred.succeed(finished, undefined))),
    { startImmediately: true }
  )
  // done: fails at the first stage given up on; else succeeds once every host drained.
  const done: Effect.Effect<void, StageCrashed> = Effect.raceFirst(
    Deferred.await(failure),
    Deferred.await(finished).pipe(
      Effect.andThen(Deferred.poll(failure)),
      Effect.flatMap((polled) => (Option.isSome(polled) ? Effect.asVoid(polled.value) : Effect.void))
    )
  )

  const signalHosts = (index: number, which: ReadonlyArray<PlannedHost>) =>
    Effect.sync(() => {
      for (const h of which) {
        Atomics.store(new Int32Array(h.spec.control), index, 1)
        new Doorbell(h.spec.bell).ring()
        // A host parked on a full output waits on the same bell; ring it armed or not.
        Atomics.notify(new Int32Array(h.spec.bell.buffer), h.spec.bell.byteOffset >> 2)
      }
    })
  const stop = signalHosts(C.STOP_INDEX, hosts.filter((h) => h.isSource))

  const ledger = () => Ledger.make(snapshot())

  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      const deadlineMs = Duration.toMillis(Duration.fromInputUnsafe(options.drainTimeout ?? DEFAULTS.drainTimeoutMs))
      phase = "draining"
      yield* stop
      const drained = yield* Deferred.await(finished).pipe(Effect.exit, Effect.timeoutOption(deadlineMs))
      if (drained._tag === "None") {
        const abandoned = Ledger.abandoned(snapshot())
        yield* signalHosts(C.ABORT_INDEX, hosts)
        yield* Deferred.await(finished).pipe(Effect.exit, Effect.timeoutOption(2000))
        yield* Effect.logError(new DrainTimeout({ deadlineMs, abandoned }))
        // Threads still running after an abort are terminated.
        yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
      }
      yield* drainDeadLetters
      yield* Fiber.interrupt(deadLetterFiber)
      yield* Fiber.interrupt(waiter)
      for (const h of hosts) new RingProducer(h.spec.deadLetters!).close()
      live.delete(handle)
      phase = "done"
      const final = ledger()
      reports.push({ ledger: final, timedOut: drained._tag === "None" })
      if (options.report === true) yield* Console.log(Ledger.format(final))
    })
  )

  const handle: PipelineHandle = {
    stats: snapshot,
    health,
    ledger,
    deadLetters: () => deadLetters.slice(),
    errorSummary: () => [...errorTable.values()].map((e) => ({ ...e })),
    done,
    stop,
    abortUnsafe: () => Effect.runSync(signalHosts(C.ABORT_INDEX, hosts)),
    terminateHost: host.terminate,
    hosts: hosts.map((h) => h.spec.name)
  }
  live.add(handle)
  return handle
})

/**
 * Runs a pipeline whose source is finite to its end, then prints the ledger and returns it. Fails
 * when a stage was given up on; the ledger says whether every record is accounted for.
 *
 * @category constructors
 * @since 0.1.0
 */
export const runToEnd = (pipeline: Pipeline, options: RunOptions = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const handle = yield* run(pipeline, options).pipe(Scope.provide(scope))
    const exit = yield* Effect.exit(handle.done)
    yield* Scope.close(scope, Exit.void)
    const ledger = handle.ledger()
    if (Exit.isFailure(exit)) return yield* Effect.failCause(exit.cause as Cause.Cause<StageCrashed>)
    return { ledger, deadLetters: handle.deadLetters(), stats: handle.stats() }
  })

/**
 * Prints a ledger as a table.
 *
 * @category constructors
 * @since 0.1.0
 */
export const printLedger = (ledger: Ledger.Ledger) => Console.log(Ledger.format(ledger))
