/**
 * A sink edge at run time: a loop on the main thread that reads its input rings (several after a merge
 * or a partition, polled in turn) and hands each batch, decoded into objects, to Effect code — an
 * Effect run per batch, or the pull of a Stream. It is its stage's only writer and writes its stats
 * block itself (`in`, `emitted`, dead letters by error, batches, parks, latency, state).
 *
 * A batch is released from its ring only once it was delivered: the Effect succeeded (or, after a
 * typed failure and the retries, its records were dead-lettered under the failure's tag), or the
 * Stream's reader pulled it. A defect crashes the loop: its supervision restarts it on the same rings,
 * and the batch comes again (at-least-once).
 */
import { type Array as Arr, Cause, Deferred, Effect, Exit, type Schedule, Stream } from "effect"
import { awaitBell } from "./awaitBell.ts"
import type { DeadLetterReader } from "./deadLetters.ts"
import { Doorbell } from "./kernel/doorbell.ts"
import { errorMessage, type HostOutcome, type HostSpec } from "./kernel/host.ts"
import * as C from "./kernel/hostControlDescriptor.ts"
import { makeNanoClock } from "./kernel/nanoClock.ts"
import { END_OF_STREAM, RingConsumer, ringView } from "./kernel/oneToOneRing.ts"
import type { Layout, RecordView } from "./kernel/recordLayout.ts"
import { StageStatsWriter, statsRef } from "./kernel/stageStats.ts"
import * as S from "./kernel/stageStatsDescriptor.ts"
import { EdgeError } from "../PipelineError.ts"

/** What a sink edge does with a batch whose Effect failed with a typed error. */
export type FailurePolicy<E = unknown, R = never> =
  | { readonly _tag: "DeadLetter" }
  | { readonly _tag: "Retry"; readonly schedule: Schedule.Schedule<unknown, E, unknown, R> }

/** Error names past this many distinct tags share the last declared code. */
const MAX_ERROR_TAGS = S.MAX_REASONS - 1

/** A sink edge's state for one run: the error tags seen so far (their codes), and its Stream's reader. */
export class SinkEdgeRuntime {
  readonly name: string
  readonly layout: Layout
  /** Error tags by code, as they are first seen (the snapshot shows these names). */
  readonly errors: Array<string> = []
  /** The Stream is being read (one reader at a time). */
  streaming = false
  /** Completes the loop when its Stream reached the end of its input. */
  readonly finished: Deferred.Deferred<HostOutcome>

  constructor(name: string, layout: Layout, finished: Deferred.Deferred<HostOutcome>) {
    this.name = name
    this.layout = layout
    this.finished = finished
  }

  codeOf(tag: string): number {
    const known = this.errors.indexOf(tag)
    if (known >= 0) return known
    if (this.errors.length < MAX_ERROR_TAGS - 1) {
      this.errors.push(tag)
      return this.errors.length - 1
    }
    if (this.errors.length === MAX_ERROR_TAGS - 1) this.errors.push("OtherError")
    return MAX_ERROR_TAGS - 1
  }
}

/** The input rings of a sink edge, polled in turn, and its stats block. */
class EdgeInput {
  private readonly consumers: ReadonlyArray<RingConsumer>
  private readonly views: ReadonlyArray<RecordView>
  private readonly ended: Array<boolean>
  private readonly decode: (view: RecordView, slot: number) => Record<string, number>
  private start = 0
  readonly stats: StageStatsWriter
  readonly control: Int32Array
  readonly bell: Doorbell
  readonly nowNs: () => number
  readonly batchSize: number
  /** The batch taken by the last `poll`: which input, and how many records. */
  input = 0
  count = 0

  constructor(spec: HostSpec, layout: Layout) {
    this.consumers = spec.inputs.map((h) => new RingConsumer(h))
    this.views = spec.inputs.map((h) => ringView(h, layout))
    this.ended = spec.inputs.map(() => false)
    this.decode = makeDecoder(layout)
    this.stats = new StageStatsWriter(statsRef(spec.stats, spec.members[0]!.statsIndex))
    this.control = new Int32Array(spec.control)
    this.bell = new Doorbell(spec.bell)
    this.nowNs = makeNanoClock(spec.epochNs).nowNs
    this.batchSize = spec.batchSize
  }

  aborted(): boolean {
    return Atomics.load(this.control, C.ABORT_INDEX) !== 0
  }

  /** Takes the next batch in flight (1 or more records, then `batch()`), 0 when none is ready, or END_OF_STREAM. */
  poll(): number {
    const k = this.consumers.length
    let live = 0
    for (let j = 0; j < k; j++) {
      const i = (this.start + j) % k
      if (this.ended[i]) continue
      const n = this.consumers[i]!.poll(this.batchSize)
      if (n === END_OF_STREAM) {
        this.ended[i] = true
        continue
      }
      live++
      if (n > 0) {
        // The next poll starts at the next input: none starves another.
        this.start = (i + 1) % k
        this.input = i
        this.count = n
        return n
      }
    }
    return live === 0 ? END_OF_STREAM : 0
  }

  /** The batch in flight, decoded. */
  batch(): Array<Record<string, number>> {
    const c = this.consumers[this.input]!
    const view = this.views[this.input]!
    const out = new Array<Record<string, number>>(this.count)
    for (let k = 0; k < this.count; k++) out[k] = this.decode(view, c.readIndex + k)
    return out
  }

  /** Releases the batch in flight and counts it: delivered (`emitted`), or dead-lettered under `code`. */
  commit(t0: number, code: number | undefined): void {
    const n = this.count
    this.consumers[this.input]!.release(n)
    const s = this.stats
    s.add(S.IN_OFFSET, n)
    if (code === undefined) {
      s.add(S.EMITTED_OFFSET, n)
    } else {
      s.add(S.DEAD_LETTERED_OFFSET, n)
      s.add(S.DEAD_BY_CODE_OFFSET + code * 8, n)
    }
    s.add(S.BATCHES_OFFSET, 1)
    const t1 = this.nowNs()
    s.latency(t1 - t0, n)
    s.set(S.LAST_COMMIT_NS_OFFSET, t1)
    s.heartbeat()
    this.count = 0
  }

  hasWork(): boolean {
    if (this.aborted()) return true
    for (let i = 0; i < this.consumers.length; i++) if (!this.ended[i] && this.consumers[i]!.hasWork()) return true
    return false
  }

  /** Waits for records (or the end, or an abort), counting the park. */
  park(): Effect.Effect<void> {
    this.stats.add(S.PARKS_OFFSET, 1)
    return awaitBell(this.bell, () => this.hasWork())
  }

  finish(state: S.StageState): void {
    this.stats.setState(state)
    this.stats.heartbeat()
  }
}

/** A decoder of one record into a fresh object, fields in layout order. */
const makeDecoder = (layout: Layout) => {
  const names = layout.fields.map((f) => f.name)
  return (view: RecordView, slot: number): Record<string, number> => {
    const o: Record<string, number> = {}
    const fields = view.fields
    for (let f = 0; f < names.length; f++) o[names[f]!] = fields[names[f]!]!.get(slot)
    return o
  }
}

const tagOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { _tag?: unknown })._tag === "string" ? (e as { _tag: string })._tag : "EffectFailed"

const detailOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { message?: unknown }).message === "string" && (e as { message: string }).message !== ""
    ? (e as { message: string }).message
    : String(e)

/**
 * Runs a sink edge that delivers each batch with an Effect, to the end of its input. Never fails: a
 * defect (or a throw) is `Crashed`, an abort `Aborted`.
 */
export const runEffectSink = <R>(
  spec: HostSpec,
  runtime: SinkEdgeRuntime,
  deliver: (batch: ReadonlyArray<Record<string, number>>) => Effect.Effect<void, unknown, R>,
  policy: FailurePolicy<unknown, R>,
  reader: DeadLetterReader
): Effect.Effect<HostOutcome, never, R> =>
  Effect.suspend(() => {
    const input = new EdgeInput(spec, runtime.layout)
    input.stats.setState(S.StageState.Running)
    const attempt = (batch: ReadonlyArray<Record<string, number>>) =>
      policy._tag === "Retry" ? Effect.retry(deliver(batch), policy.schedule) : deliver(batch)
    const loop: Effect.Effect<HostOutcome, never, R> = Effect.gen(function*() {
      for (;;) {
        if (input.aborted()) {
          input.finish(S.StageState.Stopped)
          return { _tag: "Aborted" } as const
        }
        const n = input.poll()
        if (n === END_OF_STREAM) {
          input.finish(S.StageState.Done)
          return { _tag: "Drained" } as const
        }
        if (n === 0) {
          yield* input.park()
          continue
        }
        const t0 = input.nowNs()
        const batch = input.batch()
        const exit = yield* Effect.exit(attempt(batch))
        if (Exit.isSuccess(exit)) {
          input.commit(t0, undefined)
          continue
        }
        const failure = Cause.findErrorOption(exit.cause)
        if (failure._tag === "Some" && !Cause.hasDies(exit.cause)) {
          // Typed, and retried as configured: the batch's records are dead-lettered under its tag.
          const tag = tagOf(failure.value)
          const code = runtime.codeOf(tag)
          const detail = detailOf(failure.value)
          for (const record of batch) reader.add(runtime.name, tag, code, record, detail)
          input.commit(t0, code)
          continue
        }
        if (Cause.hasInterruptsOnly(exit.cause)) return yield* Effect.interrupt
        input.finish(S.StageState.Crashed)
        return { _tag: "Crashed", member: 0, message: errorMessage(Cause.squash(exit.cause)) } as const
      }
    })
    return loop
  })

/**
 * The Stream of a sink edge read with `handle.stream(edge)`: each pull takes one batch from the rings,
 * released and counted as it is handed to the reader. It ends at the end of the edge's input, which
 * also ends the edge's loop (`finished`). One reader at a time: a second one fails with `EdgeError`
 * (`StreamTaken`) while the first reads.
 */
export const streamOf = (spec: HostSpec, runtime: SinkEdgeRuntime): Stream.Stream<Record<string, number>, EdgeError> =>
  Stream.suspend(() => {
    if (runtime.streaming) {
      return Stream.fail(
        new EdgeError({ edge: runtime.name, reason: "StreamTaken", message: `sink edge "${runtime.name}" is already being read: one reader at a time` })
      )
    }
    runtime.streaming = true
    const input = new EdgeInput(spec, runtime.layout)
    const end = (outcome: HostOutcome, state: S.StageState) =>
      Effect.suspend(() => {
        input.finish(state)
        return Deferred.succeed(runtime.finished, outcome).pipe(Effect.andThen(Cause.done()))
      })
    const pull: Effect.Effect<Arr.NonEmptyReadonlyArray<Record<string, number>>, Cause.Done> = Effect.suspend(() => {
      if (input.aborted()) return end({ _tag: "Aborted" }, S.StageState.Stopped)
      const n = input.poll()
      if (n === END_OF_STREAM) return end({ _tag: "Drained" }, S.StageState.Done)
      if (n === 0) return input.park().pipe(Effect.andThen(pull))
      const t0 = input.nowNs()
      const batch = input.batch()
      input.commit(t0, undefined)
      return Effect.succeed(batch as unknown as Arr.NonEmptyReadonlyArray<Record<string, number>>)
    })
    return Stream.fromPull(Effect.succeed(pull)).pipe(Stream.ensuring(Effect.sync(() => {
      runtime.streaming = false
    })))
  })

/** A Stream sink edge's loop: it is the Stream's pulls; this waits until they reached the end. */
export const awaitStreamSink = (spec: HostSpec, runtime: SinkEdgeRuntime): Effect.Effect<HostOutcome> =>
  Effect.suspend(() => {
    new StageStatsWriter(statsRef(spec.stats, spec.members[0]!.statsIndex)).setState(S.StageState.Running)
    return Deferred.await(runtime.finished)
  })
