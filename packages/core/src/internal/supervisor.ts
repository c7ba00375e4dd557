/**
 * The supervisor: one fiber per host runs it, and when its loop crashes, applies the crashed stage's
 * policy — restart after a backoff within a budget of crashes per window, stop it, or give up on it
 * (the run fails with `StageCrashed`, and the host becomes a stopped one so the rest still drains).
 * Time comes from Effect's `Clock`, so a test drives the restart window with `TestClock`.
 */
import { Clock, Deferred, Duration, Effect, Exit, Schedule } from "effect"
import { awaitBell } from "./awaitBell.ts"
import { Doorbell } from "./kernel/doorbell.ts"
import { STAGE_STOPPED_REASON } from "./kernel/emitters.ts"
import type { HostOutcome } from "./kernel/host.ts"
import * as L from "./kernel/linkStatsDescriptor.ts"
import { linkStatsWords } from "./kernel/linkStatsDescriptor.ts"
import { END_OF_STREAM, RingConsumer, type RingHandle, RingMonitor, RingProducer } from "./kernel/oneToOneRing.ts"
import * as S from "./kernel/stageStatsDescriptor.ts"
import type { Supervision } from "../PipelineBuilder.ts"
import { type CrashReason, StageCrashed } from "../PipelineError.ts"
import { outputHandles, setState, statsBlock, type WiredHost, type Wiring } from "./wiring.ts"

type Failed = Extract<HostOutcome, { readonly message: string }>

/** Everything supervising one host needs (a test supplies its own). */
export interface Supervised {
  readonly name: string
  /** Runs the host once, to the end of its loop. */
  readonly start: Effect.Effect<HostOutcome>
  /** The stage a crash of member `member` is about. */
  readonly stageOf: (member: number) => string
  readonly policyOf: (stage: string) => Supervision
  /** Counts a crash of `stage` (before any decision). */
  readonly crashed: (stage: string, outcome: Failed) => void
  /** Counts a restart of `stage` (after its backoff). */
  readonly restarted: (stage: string) => void
  /** The pipeline gives up on the host. */
  readonly giveUp: (crashed: StageCrashed) => Effect.Effect<void>
  /** Leaves the host stopped. */
  readonly stop: Effect.Effect<void>
}

export interface SuperviseDefaults {
  /** The backoff of a `Restart` policy without its own. */
  readonly restart: Schedule.Schedule<unknown, StageCrashed>
  readonly maxRestarts: number
  readonly window: Duration.Input
}

/** Runs a host until it drains or aborts, restarting, stopping or giving up on it as its policies say. */
export const supervise = (host: Supervised, defaults: SuperviseDefaults): Effect.Effect<void> =>
  Effect.gen(function*() {
    // One backoff per stage (a fused host's stages may have their own), stepped across its crashes.
    const backoffs = new Map<string, (crashed: StageCrashed) => Effect.Effect<unknown, unknown>>()
    // Crashes of this host, by time, within the current window.
    let crashTimes: Array<number> = []
    for (;;) {
      const outcome = yield* host.start
      if (outcome._tag === "Drained" || outcome._tag === "Aborted") return
      const stage = host.stageOf(outcome._tag === "Died" ? 0 : outcome.member)
      host.crashed(stage, outcome)
      const what = outcome._tag === "StartFailed" ? "could not start" : "crashed"
      yield* Effect.logWarning(`stage ${stage} (host ${host.name}) ${what}: ${outcome.message.split("\n")[0]}`)
      const crashed = (reason: CrashReason) => new StageCrashed({ reason, stage, host: host.name, message: outcome.message })
      const policy = host.policyOf(stage)
      if (policy._tag === "Stop") return yield* host.stop
      // A start that failed (a module that does not load, a file that cannot be opened) would fail again.
      if (outcome._tag === "StartFailed") return yield* host.giveUp(crashed("StartFailed"))
      if (policy._tag === "Escalate") return yield* host.giveUp(crashed("Escalated"))
      const now = yield* Clock.currentTimeMillis
      const windowMs = Duration.toMillis(Duration.fromInputUnsafe(policy.window ?? defaults.window))
      crashTimes = crashTimes.filter((t) => t > now - windowMs)
      crashTimes.push(now)
      if (crashTimes.length > (policy.maxRestarts ?? defaults.maxRestarts)) return yield* host.giveUp(crashed("RestartBudget"))
      const backoff = backoffs.get(stage) ?? (yield* Schedule.toStepWithSleep(policy.backoff ?? defaults.restart))
      backoffs.set(stage, backoff)
      // The backoff sleeps; a finished schedule means no more restarts.
      if (Exit.isFailure(yield* Effect.exit(backoff(crashed("BackoffEnded"))))) return yield* host.giveUp(crashed("BackoffEnded"))
      host.restarted(stage)
    }
  })

/** A thread that died mid-pass could not undo its pass (a throw can): fix its counters from the rings. */
export const reconcileDeadHost = (w: Wiring, h: WiredHost): void => {
  const blocks = h.stages.map((s) => statsBlock(w, s))
  const first = blocks[0]!
  const last = blocks[blocks.length - 1]!
  if (h.spec.inputs.length === 1) releaseCommitted(h.spec.inputs[0]!, first)
  // What the first member retained was counted in IN and stays unreleased: it comes again.
  if (h.spec.inputs.length === 1) first[S.REDELIVERED_OFFSET >> 3]! += first[S.RETAINED_OFFSET >> 3]!
  else first[S.LOST_OFFSET >> 3]! += first[S.RETAINED_OFFSET >> 3]!
  first[S.RETAINED_OFFSET >> 3] = 0
  for (const b of blocks.slice(1)) {
    b[S.LOST_OFFSET >> 3]! += b[S.RETAINED_OFFSET >> 3]!
    b[S.RETAINED_OFFSET >> 3] = 0
  }
  // Snapshots live in the loop's thread: a stage that keeps state and did anything lost it.
  h.stages.forEach((s, i) => {
    const b = blocks[i]!
    if (s.definition.keepsState && b[S.IN_OFFSET >> 3]! + b[S.WRITTEN_OFFSET >> 3]! > 0) b[S.STATE_LOST_OFFSET >> 3]! += 1
  })
  // Outputs published by the pass that never committed: the rings' TAILs are the truth (mod 2^32).
  const tails = (handles: ReadonlyArray<RingHandle>) => handles.reduce((n, handle) => n + (new RingMonitor(handle).tail() >>> 0), 0)
  const out = h.spec.output
  if (out._tag === "Broadcast") {
    // Every port got every record but its drops; each may have published a different part of the pass.
    for (const port of out.ports) {
      const links = port.links.map(linkStatsWords)
      const sum = (offset: number) => links.reduce((n, l) => n + l[offset >> 3]!, 0)
      const counted = last[S.WRITTEN_OFFSET >> 3]! + sum(L.DUPLICATED_OFFSET) - sum(L.DROPPED_OFFSET)
      const uncounted = modulo32(tails(port.handles) - counted)
      if (uncounted > 0) links[0]![L.DUPLICATED_OFFSET >> 3]! += uncounted
    }
    return
  }
  const counted = last[S.WRITTEN_OFFSET >> 3]! + last[S.DUPLICATED_OFFSET >> 3]!
  const uncounted = modulo32(tails(outputHandles(h)) - counted)
  if (uncounted > 0) last[S.DUPLICATED_OFFSET >> 3]! += uncounted
}

/**
 * A thread killed after its pass committed and before it released its input: the counters hold the
 * pass (in, emitted, its outputs published), the ring's HEAD does not, and the restarted loop would get
 * the pass again and count it twice. What the counters say was consumed (in − redelivered), less what
 * the stage retains, is what the ring must have released: the supervisor releases the rest.
 * (With several inputs the counters do not say which ring a pass came from; a merge step's loop
 * releases all it polled at each commit, so only this window stays open there.)
 */
const releaseCommitted = (input: RingHandle, first: Float64Array): void => {
  const consumed = first[S.IN_OFFSET >> 3]! - first[S.REDELIVERED_OFFSET >> 3]! - first[S.RETAINED_OFFSET >> 3]!
  const unreleased = modulo32(consumed - new RingMonitor(input).head())
  if (unreleased === 0 || unreleased > input.capacity) return
  const consumer = new RingConsumer(input)
  const polled = consumer.poll(unreleased)
  if (polled > 0) consumer.release(Math.min(polled, unreleased))
}

/** `n` mod 2^32, in 0 .. 2^32 − 1 (ring sequences wrap there). */
const modulo32 = (n: number): number => ((n % 2 ** 32) + 2 ** 32) % 2 ** 32

/** A stopped host: its outputs close; what still arrives is released and dropped as StageStopped. */
export const stopHost = (w: Wiring, h: WiredHost): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (const s of h.stages) setState(w, s, S.StageState.Stopped)
    for (const handle of outputHandles(h)) new RingProducer(handle).close()
    const first = statsBlock(w, h.stages[0]!)
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

/** The supervision of a pipeline's hosts, with the run's failure: the first stage given up on. */
export interface PipelineSupervisor {
  /** Fails with the first `StageCrashed`; never succeeds. */
  readonly failure: Deferred.Deferred<never, StageCrashed>
  /** Why stages were given up on, for health. */
  readonly failures: () => ReadonlyArray<string>
  /** Fails the run for a reason outside a host's loop (the Stream feeding a source edge failed). */
  readonly fail: (crashed: StageCrashed) => Effect.Effect<void>
  readonly supervise: (h: WiredHost) => Effect.Effect<void>
}

export const makePipelineSupervisor = Effect.fnUntraced(function*(
  w: Wiring,
  options: {
    readonly defaults: SuperviseDefaults
    readonly policyOf: (step: number) => Supervision | undefined
    readonly start: (h: WiredHost) => Effect.Effect<HostOutcome>
  }
) {
  const failure = yield* Deferred.make<never, StageCrashed>()
  const failures: Array<string> = []
  const byName = new Map(w.plan.stages.map((s) => [s.name, s]))
  const block = (stage: string) => statsBlock(w, byName.get(stage)!)
  const fail = (crashed: StageCrashed) =>
    Effect.suspend(() => {
      failures.push(`stage ${crashed.stage} failed: ${crashed.message.split("\n")[0]}`)
      return Deferred.fail(failure, crashed)
    }).pipe(Effect.asVoid)
  return {
    failure,
    failures: () => failures,
    fail,
    supervise: (h) =>
      supervise({
        name: h.spec.name,
        start: options.start(h),
        stageOf: (member) => (h.stages[member] ?? h.stages[0]!).name,
        policyOf: (stage) => options.policyOf(byName.get(stage)!.step) ?? { _tag: "Restart" },
        crashed: (stage, outcome) => {
          if (outcome._tag === "Died") reconcileDeadHost(w, h)
          block(stage)[S.CRASHES_OFFSET >> 3]! += 1
        },
        restarted: (stage) => {
          block(stage)[S.RESTARTS_OFFSET >> 3]! += 1
        },
        // The run fails (the first failure wins) and the host becomes a stopped one, so that everything
        // else can still drain and be accounted for.
        giveUp: (crashed) => fail(crashed).pipe(Effect.andThen(stopHost(w, h))),
        stop: stopHost(w, h)
      }, options.defaults)
  } satisfies PipelineSupervisor
})
