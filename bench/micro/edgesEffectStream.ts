/**
 * Peer of `topology/edgesThroughput.ts`: the same hand-over done by Effect alone, on ONE thread. A
 * Stream makes what the edge cases take in, `Stream.buffer` (a bounded Effect queue between a producer
 * fiber and the consumer, as the edge's queue and ring are) hands it over, and the consumer checks it.
 *
 * ```
 *   object   Stream of objects (chunks of `chunk`) ─► buffer(capacity) ─► runForEachArray: check + count
 *   batch    Stream of record batches (a pool of 16) ─► buffer ─► runForEach: copy the batch, check + count
 * ```
 *
 * - `"object"`: the objects of the `object-source` case (`{seq, key, flags, value, check}`, `check =
 *   checkOf(seq)`); the consumer recomputes `checkOf(seq)` and checks that the sequence has no gap (what
 *   the `object-sink` case's reader does).
 * - `"batch"`: the `batch-source` case's batches (16 made up front, handed out in turn); the consumer
 *   copies each batch into a buffer of its own (the edge copies every batch into its queue) and
 *   recomputes `checkOf(seq)` for every record in the copy.
 *
 * The source checks a deadline once per chunk and ends the stream itself (as the `pipeline` suite's
 * Effect Stream peer does). `warmupMs` of an untimed stream (JIT), then a fresh one for `durationMs`,
 * timed from before it starts to its result. Checked before returning: every record made was checked
 * good, in order.
 */
import { Cause, Effect, Stream } from "effect"
import { checkOf, Sequenced } from "@velox/core/stages"
import { batchPool, record, type SequencedRecord } from "./edgesRecords.ts"

export interface Params {
  readonly shape: "object" | "batch"
  /** Objects per chunk ("object"), records per batch ("batch"). */
  readonly chunk: number
  /** Records (object) or batches (batch) the buffer holds. */
  readonly capacity: number
  readonly warmupMs: number
  readonly durationMs: number
}

interface Tally {
  records: number
  good: number
  gaps: number
  next: number
}

const objects = (deadline: number, chunk: number): Stream.Stream<SequencedRecord> =>
  Stream.fromPull(Effect.sync(() => {
    let next = 0
    return Effect.suspend(() => {
      if (performance.now() >= deadline) return Cause.done()
      const out = new Array<SequencedRecord>(chunk)
      for (let i = 0; i < chunk; i++) out[i] = record(next++)
      return Effect.succeed(out as unknown as readonly [SequencedRecord, ...Array<SequencedRecord>])
    })
  }))

const batches = (deadline: number, pool: ReadonlyArray<Float64Array>): Stream.Stream<Float64Array> =>
  Stream.fromPull(Effect.sync(() => {
    let next = 0
    return Effect.suspend(() => {
      if (performance.now() >= deadline) return Cause.done()
      return Effect.succeed([pool[next++ % pool.length]!] as const)
    })
  }))

const objectRun = (deadline: number, params: Params): Effect.Effect<Tally> =>
  Effect.suspend(() => {
    const t: Tally = { records: 0, good: 0, gaps: 0, next: 0 }
    return objects(deadline, params.chunk).pipe(
      Stream.buffer({ capacity: params.capacity }),
      Stream.runForEachArray((chunk) =>
        Effect.sync(() => {
          for (const r of chunk) {
            if (r.check === checkOf(r.seq)) t.good++
            if (r.seq !== t.next) t.gaps++
            t.next = r.seq + 1
          }
          t.records += chunk.length
        })),
      Effect.as(t)
    )
  })

/** Words per 32-byte record, and where `seq` and `check` sit in them. */
const WORDS = Sequenced.byteLength / 8
const SEQ_WORD = Sequenced.fields.find((f) => f.name === "seq")!.offset / 8
const CHECK_WORD = Sequenced.fields.find((f) => f.name === "check")!.offset / 8

const batchRun = (deadline: number, params: Params, pool: ReadonlyArray<Float64Array>): Effect.Effect<Tally> =>
  Effect.suspend(() => {
    const t: Tally = { records: 0, good: 0, gaps: 0, next: 0 }
    const copy = new Float64Array(params.chunk * WORDS)
    return batches(deadline, pool).pipe(
      Stream.buffer({ capacity: params.capacity }),
      Stream.runForEach((batch) =>
        Effect.sync(() => {
          copy.set(batch)
          for (let o = 0; o < batch.length; o += WORDS) if (copy[o + CHECK_WORD] === checkOf(copy[o + SEQ_WORD]!)) t.good++
          t.records += batch.length / WORDS
        })),
      Effect.as(t)
    )
  })

const timed = async (params: Params, ms: number, pool: ReadonlyArray<Float64Array>): Promise<Tally & { readonly ms: number }> => {
  const t0 = performance.now()
  const deadline = t0 + ms
  const tally = await Effect.runPromise(params.shape === "object" ? objectRun(deadline, params) : batchRun(deadline, params, pool))
  return { ...tally, ms: performance.now() - t0 }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  // Made before any timing: making them is not measured.
  const pool = params.shape === "batch" ? batchPool(params.chunk).map((view) => view.words64) : []
  const warm = await timed(params, params.warmupMs, pool)
  const t = await timed(params, params.durationMs, pool)
  for (const [what, r] of [["warm-up", warm], ["timed", t]] as const) {
    if (r.records === 0 || r.good !== r.records || r.gaps !== 0) {
      throw new Error(`effect stream (${params.shape}): ${what} check failed: records=${r.records} good=${r.good} gaps=${r.gaps}`)
    }
  }
  return { mrecPerSecond: t.records / t.ms / 1e3, timedRecords: t.records, records: warm.records + t.records }
}
