/**
 * Running a pipeline. `Pipeline.from(…).via(…).to(…)` builds one (see `PipelineBuilder`); `run` plans
 * it (hosts, rings and stats blocks, checking every rule that can be checked before anything starts),
 * allocates the shared memory, starts the hosts — threads, or fibers on the main thread — under
 * supervision, and returns a handle at once. Closing the run's scope drains before it returns.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Console, Deferred, Duration, Effect, Exit, Fiber, Option, Result, Schedule, Schema, Scope, Stream } from "effect"
import type { SinkEdge, SourceEdge } from "./Edge.ts"
import { DeadLetterReader, follow } from "./internal/deadLetters.ts"
import { DEFAULTS, restartBackoff } from "./internal/defaults.ts"
import { EdgeQueue, INVALID_RECORD, SOURCE_EDGE_ERRORS } from "./internal/edgeQueue.ts"
import { runInFiber } from "./internal/fiberHost.ts"
import { healthOf, type Phase } from "./internal/health.ts"
import { Doorbell } from "./internal/kernel/doorbell.ts"
import type { HostedDefinition, HostOutcome } from "./internal/kernel/host.ts"
import * as C from "./internal/kernel/hostControlDescriptor.ts"
import type { BackoffOptions } from "./internal/kernel/idleStrategy.ts"
import { RingProducer } from "./internal/kernel/oneToOneRing.ts"
import type { FieldSpec, RecordOf } from "./internal/kernel/recordLayout.ts"
import { StageStatsWriter, statsRef } from "./internal/kernel/stageStats.ts"
import { formatPlacement, plan } from "./internal/planner.ts"
import { awaitStreamSink, runEffectSink, SinkEdgeRuntime, streamOf } from "./internal/sinkEdge.ts"
import { type EdgeWriter, makeWriter } from "./internal/sourceEdge.ts"
import { makePipelineSupervisor } from "./internal/supervisor.ts"
import { signalHosts, snapshot, wire, type WiredHost } from "./internal/wiring.ts"
import * as Ledger from "./Ledger.ts"
import { mapSteps, type Pipeline, type Step } from "./PipelineBuilder.ts"
import { DrainTimeout, EdgeError, PipelineConfigError, type RecordFailed, StageCrashed } from "./PipelineError.ts"
import { type DrainReport, PipelineRegistry, type RunningPipeline } from "./PipelineRegistry.ts"
import type { ErrorSummary, Health, RingSnapshot, Snapshot } from "./PipelineSnapshot.ts"
import * as RecordLayout from "./RecordLayout.ts"
import { StageHost } from "./StageHost.ts"

export {
  /** @category models @since 0.1.0 */
  Builder,
  /** @category constructors @since 0.1.0 */
  from,
  /** @category constructors @since 0.1.0 */
  mapSteps,
  /** @category constructors @since 0.1.0 */
  merge,
  /** @category constructors @since 0.1.0 */
  Supervision
} from "./PipelineBuilder.ts"
export type {
  Accepts,
  EdgeStepOptions,
  Emits,
  Overflow,
  Pipeline,
  Placement,
  Requirements,
  SameFields,
  Step,
  StepOptions
} from "./PipelineBuilder.ts"
export {
  /** @category errors @since 0.1.0 */
  DrainTimeout,
  /** @category errors @since 0.1.0 */
  EdgeError,
  /** @category errors @since 0.1.0 */
  PipelineConfigError,
  /** @category errors @since 0.1.0 */
  RecordFailed,
  /** @category errors @since 0.1.0 */
  StageCrashed
} from "./PipelineError.ts"
export type { ErrorSummary, Health, LinkSnapshot, RingSnapshot, Snapshot, StageSnapshot } from "./PipelineSnapshot.ts"
export type { DrainReport } from "./PipelineRegistry.ts"

/**
 * @category models
 * @since 0.1.0
 */
export type DeadLetter = RecordFailed

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
  /** Print where each stage runs when the pipeline starts, and the ledger when its drain ends. Default false. */
  readonly report?: boolean
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
  /** Completes when the drain that closing the run's scope started has ended, with how it ended. */
  readonly drainReport: Effect.Effect<DrainReport>
  /** Stops the sources; the rest drains behind them. `done` completes after. */
  readonly stop: Effect.Effect<void>
  /** Tells every loop to leave at once, draining nothing (a second signal). */
  readonly abortUnsafe: () => void
  /** Fault injection: kills a host's thread abruptly, as a crash would. */
  readonly terminateHost: (host: string) => Effect.Effect<boolean>
  /** The loops, by name (`counter`, `pass-through+counting-sink`, …). */
  readonly hosts: ReadonlyArray<string>
  /** Where each stage runs: one line per loop (what `report: true` prints at start). */
  readonly placement: string
  /**
   * The writer of a source edge of this pipeline (`Edge.source`; also works for a Stream-fed edge).
   * Throws `EdgeError` (`NotInPipeline`) for an edge this pipeline does not have.
   */
  readonly writer: <F extends FieldSpec>(edge: SourceEdge<F, any>) => EdgeWriter<F>
  /**
   * The records reaching a sink edge of this pipeline (`Edge.sink`), decoded, in batches as they come;
   * it ends when the edge's input ends. One reader at a time.
   */
  readonly stream: <F extends FieldSpec>(edge: SinkEdge<F, any>) => Stream.Stream<RecordOf<F>, EdgeError>
}

const decodeConfigs = (steps: ReadonlyArray<Step>) =>
  Effect.forEach(steps, (s) =>
    Schema.decodeUnknownEffect(s.definition.config)(s.config).pipe(
      Effect.mapError((e) =>
        new PipelineConfigError({ reason: "StageConfig", key: s.definition.name, value: JSON.stringify(s.config), rule: e.message })
      )
    ))

/**
 * Runs a pipeline in the current scope and returns its handle at once. Before anything starts it
 * checks the run options, each stage's config, the pipeline's shape, each link's layouts and each
 * stage's placement, failing with a `PipelineConfigError` naming what is wrong. Closing the scope
 * drains: sources stop and close their rings, every stage consumes to the end, runs its drain hook and
 * closes its output, the threads are joined, and the ledger is checked (`handle.drainReport`). A drain
 * past `drainTimeout` aborts what is left and reports it. With a `PipelineRegistry` in the context
 * (`NodePipelineRuntime.runMain` provides one) the run registers there while it runs and reports its
 * drain to it.
 *
 * @category constructors
 * @since 0.1.0
 */
export const run = <R = never>(
  pipeline: Pipeline<R>,
  options: RunOptions = {}
): Effect.Effect<PipelineHandle, PipelineConfigError, StageHost | Scope.Scope | R> =>
  Effect.gen(function*() {
    // Edges get their state for this run: a source edge's queue, a sink edge's error tags and reader.
    const queues = new Map<SourceEdge<any, any>, EdgeQueue>()
    const sinks = new Map<SinkEdge<any, any>, SinkEdgeRuntime>()
    for (const s of pipeline.steps) {
      const edge = s.edge
      if (edge?._tag === "SourceEdge") queues.set(edge, new EdgeQueue(edge.layout, edge.capacity, edge.overflow, explainer(edge.layout)))
      if (edge?._tag === "SinkEdge") sinks.set(edge, new SinkEdgeRuntime(edge.name, edge.layout, yield* Deferred.make<HostOutcome>()))
    }
    const steps = mapSteps(pipeline, (s) => {
      const edge = s.edge
      if (edge?._tag === "SourceEdge") return { ...s, config: queues.get(edge) }
      if (edge?._tag === "SinkEdge") return { ...s, definition: { ...s.definition, errors: sinks.get(edge)!.errors } }
      return s
    }).steps
    const configs = yield* decodeConfigs(steps)
    const host = yield* StageHost
    const planned = plan(steps, configs, {
      ringCapacity: options.ringCapacity ?? DEFAULTS.ringCapacity,
      batchSize: options.batchSize ?? DEFAULTS.batchSize,
      entryModule: host.entryModule
    })
    if (Result.isFailure(planned)) return yield* Effect.fail(planned.failure)
    const placement = formatPlacement(planned.success)
    if (options.report === true) yield* Console.log(placement)
    const w = wire(planned.success, {
      idle: options.idle ?? {},
      maxRecordCrashes: options.maxRecordCrashes ?? DEFAULTS.maxRecordCrashes,
      deadLetterRingCapacity: DEFAULTS.deadLetterRingCapacity
    })
    const edgeOf = (h: WiredHost) => steps[h.stages[0]!.step]!.edge
    const queueOf = (h: WiredHost) => {
      const edge = edgeOf(h)
      return edge?._tag === "SourceEdge" ? queues.get(edge) : undefined
    }
    const clock = yield* Clock.Clock
    const reader = new DeadLetterReader(
      w.hosts.map((h) => ({
        handle: h.spec.deadLetters!,
        members: h.stages.map((s) => ({ name: s.name, errors: s.definition.errors, input: s.input }))
      })),
      w.deadLetterBell,
      options.deadLetterBuffer ?? DEFAULTS.deadLetterBuffer,
      () => clock.currentTimeMillisUnsafe()
    )
    for (const h of w.hosts) {
      const stage = h.stages[0]!
      queueOf(h)?.attach(
        new Doorbell(h.spec.bell),
        new StageStatsWriter(statsRef(w.stats, stage.statsIndex)),
        (invalid) => reader.add(stage.name, SOURCE_EDGE_ERRORS[INVALID_RECORD], INVALID_RECORD, invalid.record, invalid.detail)
      )
    }
    // The context of this run: what sink edges' Effects and source edges' Streams need (R).
    const context = yield* Effect.context<R>()
    // What a crashed loop hands its next start to restore (a worker posts it back with its outcome).
    const restoreOf = new Map<WiredHost, ReadonlyArray<unknown> | undefined>()
    const start = (h: WiredHost): Effect.Effect<HostOutcome> =>
      Effect.suspend(() => startOnce(h, { ...h.spec, restore: restoreOf.get(h) })).pipe(
        Effect.tap((outcome) => Effect.sync(() => restoreOf.set(h, outcome._tag === "Crashed" ? outcome.snapshots : undefined)))
      )
    const startOnce = (h: WiredHost, spec: WiredHost["spec"]): Effect.Effect<HostOutcome> => {
      const edge = edgeOf(h)
      if (edge?._tag === "SinkEdge") {
        const runtime = sinks.get(edge)!
        return edge.deliver === undefined
          ? awaitStreamSink(spec, runtime)
          : runEffectSink(
            spec,
            runtime,
            edge.deliver as (batch: ReadonlyArray<Record<string, number>>) => Effect.Effect<void, unknown, R>,
            edge.onFailure as SinkEdge<FieldSpec, R>["onFailure"],
            reader
          ).pipe(Effect.provideContext(context))
      }
      if (h.plan.placement === "fiber") {
        const index = w.hosts.indexOf(h)
        const queue = queueOf(h)
        const loop = runInFiber(
          spec,
          h.stages.map((s) => s.definition) as ReadonlyArray<HostedDefinition>,
          () => void reader.read(index),
          queue === undefined ? undefined : (pump) => queue.setPump(pump)
        )
        // A source edge whose loop is over takes no more records (its writers are told so).
        return queue === undefined ? loop : loop.pipe(Effect.ensuring(Effect.sync(() => queue.end())))
      }
      return host.run(spec).pipe(
        Effect.catchTag("StageHostError", (e) => Effect.succeed<HostOutcome>({ _tag: "StartFailed", member: 0, message: e.message }))
      )
    }
    const supervisor = yield* makePipelineSupervisor(w, {
      defaults: {
        restart: options.restart ?? restartBackoff(),
        maxRestarts: options.restartBudget?.maxRestarts ?? DEFAULTS.maxRestarts,
        window: options.restartBudget?.window ?? Duration.millis(DEFAULTS.restartWindowMs)
      },
      policyOf: (step) => steps[step]!.supervision,
      start
    })

    let phase: Phase = "running"
    const edgeQueues = (): ReadonlyArray<RingSnapshot> =>
      w.hosts.flatMap((h) => {
        const queue = queueOf(h)
        return queue === undefined ? [] : [{
          name: `${h.spec.name} queue`,
          from: "effect",
          to: h.spec.name,
          capacity: queue.capacity,
          fill: queue.size,
          closed: queue.ended,
          dropped: 0,
          duplicated: 0
        }]
      })
    const stats = (): Snapshot => {
      const s = snapshot(w)
      return { ...s, rings: [...s.rings, ...edgeQueues()] }
    }
    const ledger = () => Ledger.make(stats())
    const fibers = yield* Effect.forEach(w.hosts, (h) => Effect.forkDetach(supervisor.supervise(h), { startImmediately: true }))
    const readerFiber = yield* Effect.forkDetach(follow(reader), { startImmediately: true })
    // Streams feeding source edges: each ends its edge when it ends; one that fails fails the run.
    const feeds = yield* Effect.forEach(w.hosts, (h) => {
      const edge = edgeOf(h)
      const queue = queueOf(h)
      if (edge?._tag !== "SourceEdge" || edge.feed === undefined || queue === undefined) return Effect.succeed(undefined)
      const feed = (edge.feed as NonNullable<SourceEdge<FieldSpec, R>["feed"]>)(makeWriter(edge.name, queue)).pipe(
        Effect.catchCause((cause) =>
          Cause.hasInterruptsOnly(cause) ? Effect.void : supervisor.fail(
            new StageCrashed({ reason: "EdgeFailed", stage: h.stages[0]!.name, host: h.spec.name, message: Cause.pretty(cause) })
          )
        ),
        Effect.ensuring(Effect.sync(() => queue.end())),
        Effect.provideContext(context)
      )
      return Effect.forkDetach(feed, { startImmediately: true })
    })
    // Every host finished: drained, aborted, or (given up on) absorbed its input.
    const finished = yield* Deferred.make<void>()
    const waiter = yield* Effect.forkDetach(
      Effect.forEach(fibers, Fiber.await, { discard: true }).pipe(Effect.andThen(Deferred.succeed(finished, undefined))),
      { startImmediately: true }
    )
    // done: fails at the first stage given up on; else succeeds once every host drained.
    const done: Effect.Effect<void, StageCrashed> = Effect.raceFirst(
      Deferred.await(supervisor.failure),
      Deferred.await(finished).pipe(
        Effect.andThen(Deferred.poll(supervisor.failure)),
        Effect.flatMap((polled) => (Option.isSome(polled) ? Effect.asVoid(polled.value) : Effect.void))
      )
    )
    // Stopping: sources stop, source edges end (their Streams are interrupted); what they hold drains.
    // The Streams go first: ending a queue wakes a Stream waiting for room, which would then find its
    // edge closed and fail the run, when it was only stopped.
    const stop = Effect.gen(function*() {
      signalHosts(w.hosts.filter((h) => h.plan.isSource), C.STOP_INDEX)
      yield* Effect.forEach(feeds, (f) => (f === undefined ? Effect.void : Fiber.interrupt(f)), { discard: true })
      for (const q of queues.values()) q.end()
    })
    const drained = yield* Deferred.make<DrainReport>()
    const registry = yield* Effect.serviceOption(PipelineRegistry)
    const running: RunningPipeline = { stats, abortUnsafe: () => signalHosts(w.hosts, C.ABORT_INDEX) }

    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const deadlineMs = Duration.toMillis(Duration.fromInputUnsafe(options.drainTimeout ?? DEFAULTS.drainTimeoutMs))
        phase = "draining"
        yield* stop
        const completed = yield* Deferred.await(finished).pipe(Effect.exit, Effect.timeoutOption(deadlineMs))
        if (completed._tag === "None") {
          const abandoned = Ledger.abandoned(stats())
          signalHosts(w.hosts, C.ABORT_INDEX)
          yield* Deferred.await(finished).pipe(Effect.exit, Effect.timeoutOption(2000))
          yield* Effect.logError(new DrainTimeout({ deadlineMs, abandoned }))
          // Threads still running after an abort are terminated.
          yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
        }
        reader.readAll()
        yield* Fiber.interrupt(readerFiber)
        yield* Fiber.interrupt(waiter)
        for (const h of w.hosts) new RingProducer(h.spec.deadLetters!).close()
        phase = "done"
        const report: DrainReport = { ledger: ledger(), timedOut: completed._tag === "None" }
        if (Option.isSome(registry)) {
          registry.value.removeUnsafe(running)
          registry.value.reportUnsafe(report)
        }
        yield* Deferred.succeed(drained, report)
        if (options.report === true) yield* Console.log(Ledger.format(report.ledger))
      })
    )

    if (Option.isSome(registry)) registry.value.addUnsafe(running)
    const notHere = (name: string) =>
      new EdgeError({ edge: name, reason: "NotInPipeline", message: `edge "${name}" is not part of this pipeline` })
    const sinkHost = (edge: SinkEdge<any, any>) => w.hosts.find((h) => edgeOf(h) === edge)
    return {
      stats,
      health: () => healthOf(stats(), phase, supervisor.failures()),
      ledger,
      deadLetters: () => reader.deadLetters(),
      errorSummary: () => reader.errorSummary(),
      done,
      drainReport: Deferred.await(drained),
      stop,
      abortUnsafe: running.abortUnsafe,
      terminateHost: host.terminate,
      hosts: w.hosts.map((h) => h.spec.name),
      placement,
      writer: <F extends FieldSpec>(edge: SourceEdge<F, any>): EdgeWriter<F> => {
        const queue = queues.get(edge)
        if (queue === undefined) throw notHere(edge.name)
        return makeWriter<F>(edge.name, queue)
      },
      stream: <F extends FieldSpec>(edge: SinkEdge<F, any>): Stream.Stream<RecordOf<F>, EdgeError> => {
        const runtime = sinks.get(edge)
        const h = sinkHost(edge)
        if (runtime === undefined || h === undefined) return Stream.fail(notHere(edge.name))
        return streamOf(h.spec, runtime) as unknown as Stream.Stream<RecordOf<F>, EdgeError>
      }
    } satisfies PipelineHandle as PipelineHandle
  })

/** The message of the layout Schema's failure for an object a source edge refused. */
const explainer = (layout: RecordLayout.RecordLayout) => {
  const decode = Schema.decodeUnknownResult(RecordLayout.schema(layout))
  return (u: unknown): string => {
    const r = decode(u)
    return Result.isFailure(r) ? r.failure.message : "not a record of the layout"
  }
}

/**
 * Runs a pipeline whose source is finite to its end, drains it (its own scope, closed before it
 * returns) and returns the final ledger, dead letters and stats. It prints nothing itself: with
 * `report: true`, `run` prints where each stage runs at the start and the ledger after the drain (or
 * print it with {@link printLedger}). Fails when a stage was given up on; the ledger says whether every
 * record is accounted for.
 *
 * @category constructors
 * @since 0.1.0
 */
export const runToEnd = <R = never>(pipeline: Pipeline<R>, options: RunOptions = {}) =>
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
