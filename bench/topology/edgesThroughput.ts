/**
 * Edges between Effect code and a pipeline, over 32-byte `Sequenced` records: what a source edge takes
 * in from a Stream (of objects, of record batches) and what a sink edge hands out to a Stream.
 *
 * ```
 *   object-source   main thread: Stream of objects ─► source edge (Schema check, queue) ══► W1: counting-sink
 *   batch-source    main thread: Stream of batches ─► source edge (bit copy, queue)     ══► W1: counting-sink
 *   object-sink     W1: counter ══► main thread: sink edge ─► Stream of objects ─► check + count
 *
 *   ─►  in the main thread (Effect fibers)
 *   ══► ring of `ringCapacity` × 32 B slots between the main thread and a worker
 * ```
 *
 * - `object-source`: an endless Stream of `{seq, key, flags, value, check}` objects in chunks of
 *   `chunk` (`check = checkOf(seq)`), through `Edge.fromStream` (each object checked against the
 *   layout's Schema, written into the edge's queue, moved into the ring) to `CountingSink` in a worker,
 *   which recomputes `checkOf(seq)` for every record.
 * - `batch-source`: an endless Stream of record batches (`RecordView`s of `chunk` records, a pool of 16
 *   built before the run and handed out in turn: the batch's maker is not what is measured) through
 *   `Edge.fromBatches` (copied bit for bit straight into the ring while it has room, else through the
 *   queue) to the same sink.
 * - `object-sink`: `Counter` in a worker (every field of every record) into `Edge.sink`, read with
 *   `handle.stream(edge)`: each record decoded into an object, handed to `Stream.runForEachArray`,
 *   whose callback recomputes `checkOf(seq)` and checks that the sequence has no gap.
 *
 * Timed like the `pipeline` suite: the run waits for the first records at the far end, `warmupMs`
 * more (JIT), then samples the far end's stats block twice, `durationMs` apart:
 * `Mrec/s = Δ IN / Δ LAST_COMMIT_NS` (`wallMrecPerSecond`: the same Δ IN over the main thread's time).
 * Then it stops the pipeline, lets it drain and checks before returning any number: the ledger
 * balances, the far end got exactly what the near end sent, every check matched, nothing was dropped
 * or dead-lettered (the source edge is `backpressure`: the Stream waits for room, as it should).
 */
import { Cause, Effect, Exit, Fiber, Scope, Stream } from "effect"
import { Edge, Ledger, Pipeline, RecordLayout } from "@velox/core"
import { checkOf, Counter, CountingSink, Sequenced } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { batchPool, record, type SequencedRecord } from "../micro/edgesRecords.ts"

export type Case = "object-source" | "batch-source" | "object-sink"

export interface Params {
  readonly case: Case
  /** Objects per Stream chunk (object-source), records per batch (batch-source). */
  readonly chunk: number
  /** The source edge's queue (records). */
  readonly capacity: number
  readonly ringCapacity: number
  /** `RunOptions.batchSize`: most records a loop (the edge's among them) handles per pass. */
  readonly batchSize: number
  readonly warmupMs: number
  readonly durationMs: number
  readonly startTimeoutMs: number
}


/** Objects, `chunk` per pull, forever (the pipeline's stop ends the edge's Stream). */
const objects = (chunk: number): Stream.Stream<SequencedRecord> =>
  Stream.fromPull(Effect.sync(() => {
    let next = 0
    return Effect.sync(() => {
      const out = new Array<SequencedRecord>(chunk)
      for (let i = 0; i < chunk; i++) out[i] = record(next++)
      return out as unknown as readonly [SequencedRecord, ...Array<SequencedRecord>]
    })
  }))

/** Record batches of `size` records from a pool of 16 made up front, in turn, forever. */
const batches = (size: number): Stream.Stream<RecordLayout.RecordView<typeof Sequenced.spec>> => {
  const pool = batchPool(size)
  return Stream.fromPull(Effect.sync(() => {
    let next = 0
    return Effect.sync(() => [pool[next++ % pool.length]!] as const)
  }))
}

interface Sample {
  readonly in: number
  readonly lastCommitNs: number
  readonly wallMs: number
  readonly cpuUs: number
}

const farEnd = (handle: Pipeline.PipelineHandle, name: string) => handle.stats().stages.find((s) => s.stage === name)!

const sample = (handle: Pipeline.PipelineHandle, name: string): Sample => {
  const s = farEnd(handle, name)
  const cpu = process.cpuUsage()
  return { in: s.in, lastCommitNs: s.lastCommitNs, wallMs: performance.now(), cpuUs: cpu.user + cpu.system }
}

/** What a reader of the sink edge's Stream saw. */
interface Tally {
  records: number
  good: number
  gaps: number
  next: number
}

const check = (label: string, ledger: Ledger.Ledger, near: string, far: string, deadLetters: number, tally: Tally | undefined): void => {
  const problems: Array<string> = []
  const stage = (name: string) => ledger.stages.find((s) => s.stage === name)!
  const from = stage(near)
  const to = stage(far)
  if (!ledger.balanced) problems.push("ledger not balanced")
  if (!(from.emitted > 0)) problems.push(`${near} sent nothing`)
  if (to.in !== from.emitted) problems.push(`${far} received ${to.in}, ${near} sent ${from.emitted}`)
  if (to.emitted !== to.in) problems.push(`${far} delivered ${to.emitted} of ${to.in}`)
  for (const s of ledger.stages) {
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0)
    const dead = Object.values(s.deadLettered).reduce((a, b) => a + b, 0)
    if (dropped !== 0 || dead !== 0 || s.restarts !== 0) problems.push(`${s.stage}: dropped ${dropped}, dead-lettered ${dead}, restarts ${s.restarts}`)
  }
  if (deadLetters !== 0) problems.push(`${deadLetters} dead letters`)
  if (tally !== undefined) {
    if (tally.records !== to.emitted) problems.push(`the Stream's reader saw ${tally.records} records, the edge delivered ${to.emitted}`)
    if (tally.good !== tally.records || tally.gaps !== 0) problems.push(`reader: ${tally.good} of ${tally.records} checked good, ${tally.gaps} gaps`)
  }
  if (problems.length > 0) throw new Error(`${label}: check failed: ${problems.join("; ")}\n${Ledger.format(ledger)}`)
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = `velox edges ${params.case} (chunk=${params.chunk})`
  const near = params.case === "object-sink" ? "counter" : "edge"
  const far = params.case === "object-sink" ? "edge" : "counting-sink"
  const tally: Tally = { records: 0, good: 0, gaps: 0, next: 0 }
  const program = Effect.gen(function*() {
    const scope = yield* Scope.make()
    let handle: Pipeline.PipelineHandle
    let reader: Fiber.Fiber<void, unknown> | undefined
    if (params.case === "object-sink") {
      const out = Edge.sink(Sequenced, { name: "edge" })
      handle = yield* Pipeline.run(Pipeline.from(Counter, { count: Infinity }).to(out), { ringCapacity: params.ringCapacity, batchSize: params.batchSize })
        .pipe(Scope.provide(scope))
      reader = yield* Stream.runForEachArray(handle.stream(out), (batch) =>
        Effect.sync(() => {
          for (const r of batch) {
            if (r.check === checkOf(r.seq)) tally.good++
            if (r.seq !== tally.next) tally.gaps++
            tally.next = r.seq + 1
          }
          tally.records += batch.length
        })).pipe(Effect.forkDetach)
    } else {
      const edge = params.case === "object-source"
        ? Edge.fromStream(Sequenced, objects(params.chunk), { name: "edge", capacity: params.capacity })
        : Edge.fromBatches(Sequenced, batches(params.chunk), { name: "edge", capacity: params.capacity })
      handle = yield* Pipeline.run(Pipeline.from(edge).to(CountingSink, {}, { placement: "worker" }), { ringCapacity: params.ringCapacity, batchSize: params.batchSize })
        .pipe(Scope.provide(scope))
    }
    const startDeadline = performance.now() + params.startTimeoutMs
    while (farEnd(handle, far).in === 0) {
      if (performance.now() > startDeadline) return yield* Effect.die(new Error(`${label}: no record reached ${far} within ${params.startTimeoutMs} ms`))
      yield* Effect.sleep("5 millis")
    }
    yield* Effect.sleep(params.warmupMs)
    const a = sample(handle, far)
    yield* Effect.sleep(params.durationMs)
    const b = sample(handle, far)
    yield* handle.stop
    if (reader !== undefined) {
      const exit = yield* Fiber.await(reader)
      if (Exit.isFailure(exit)) return yield* Effect.die(new Error(`${label}: the reader failed: ${Cause.pretty(exit.cause)}`))
    }
    yield* handle.done
    yield* Scope.close(scope, Exit.void)
    return { a, b, handle }
  })
  const { a, b, handle } = await Effect.runPromise(program.pipe(Effect.provide(NodeStageHost.layer)))
  const ledger = handle.ledger()
  check(label, ledger, near, far, handle.deadLetters().length, params.case === "object-sink" ? tally : undefined)
  const timed = b.in - a.in
  const commitNs = b.lastCommitNs - a.lastCommitNs
  if (!(timed > 0 && commitNs > 0)) throw new Error(`${label}: nothing was timed: Δin=${timed} ΔlastCommitNs=${commitNs}`)
  const wallMs = b.wallMs - a.wallMs
  return {
    mrecPerSecond: (timed / commitNs) * 1e3,
    wallMrecPerSecond: timed / wallMs / 1e3,
    timedRecords: timed,
    records: ledger.stages.find((s) => s.stage === near)!.emitted,
    cpuCores: (b.cpuUs - a.cpuUs) / 1e3 / wallMs
  }
}
