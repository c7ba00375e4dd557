/**
 * Peer of `topology/oneToThreePipelineThroughput.ts` on ONE thread: the same work as an Effect `Stream`.
 *
 * ```
 *   one thread, one Effect runtime, pull-based
 *   seqs ─► map: record ─► map: copy ─► map: copy ─► map: copy ─► runFold: check + count
 *   (a range with a deadline)   (pass-through ×3)                     (counting-sink)
 * ```
 *
 * Two shapes of the same work:
 *
 * - `"records"`: each stream element is one record, a plain object `{seq, key, flags, value, check}`
 *   (`check = checkOf(seq)`, `key = seq mod 16`); each pass-through `map` builds a new object with all
 *   five fields (a copy, as values in a stream are immutable); the fold recomputes `checkOf(seq)` and
 *   counts the records whose `check` matches. Effect streams move arrays (chunks) of elements between
 *   stages; the source emits `chunk` seqs at a time (256, the velox batch).
 * - `"batches"`: each element is one batch of `batch` 32-byte records in a `Float64Array` (the plain
 *   loop's layout), one batch per chunk; each pass-through `map` copies the batch (`slice()`, a fresh
 *   array per stage, as values in a stream are immutable); the fold checks and counts every record.
 *
 * The source is `Stream.range`'s own `fromPull` loop with a deadline checked once per chunk, so the
 * stream ends itself when time is up. (`Stream.interruptWhen(Effect.sleep(...))` would do the same
 * but costs ~4 µs per chunk on this machine, ~10× a `map` stage: it would time the interrupt, not the
 * pipeline.) `warmupMs` of an untimed stream (JIT), then a fresh stream for `durationMs`, timed from
 * before it starts to its result. Checked before returning: every record generated was checked good.
 */
import { Array as Arr, Cause, Effect, Stream } from "effect"
import { checkOf } from "@velox/core/stages"

export interface Params {
  readonly shape: "records" | "batches"
  /** "records": seqs per source chunk; "batches": records per batch (one batch per chunk). */
  readonly chunk: number
  readonly warmupMs: number
  readonly durationMs: number
}

/** Number of distinct keys, as the Counter's default. */
const KEYS = 16
/** f64 words per 32-byte record. */
const F64S = 4

interface SequencedRecord {
  readonly seq: number
  readonly key: number
  readonly flags: number
  readonly value: number
  readonly check: number
}

/** `count` consecutive integers per chunk from 0 until `deadline` (performance.now() ms). */
const seqsUntil = (deadline: number, count: number): Stream.Stream<number> =>
  Stream.fromPull(Effect.sync(() => {
    let next = 0
    return Effect.suspend(() => {
      if (performance.now() >= deadline) return Cause.done()
      const chunk = Arr.range(next, next + count - 1)
      next += count
      return Effect.succeed(chunk)
    })
  }))

interface Tally {
  generated: number
  good: number
}

const makeRecord = (seq: number): SequencedRecord => ({
  seq,
  key: seq % KEYS,
  flags: 0,
  value: seq,
  check: checkOf(seq)
})

const copyRecord = (r: SequencedRecord): SequencedRecord => ({
  seq: r.seq,
  key: r.key,
  flags: r.flags,
  value: r.value,
  check: r.check
})

// The fold's accumulator is one mutable tally (no allocation per record).
const tallyRecord = (t: Tally, r: SequencedRecord): Tally => {
  t.generated++
  if (r.check === checkOf(r.seq)) t.good++
  return t
}

const records = (deadline: number, chunk: number): Effect.Effect<Tally> =>
  seqsUntil(deadline, chunk).pipe(
    Stream.map(makeRecord),
    Stream.map(copyRecord),
    Stream.map(copyRecord),
    Stream.map(copyRecord),
    Stream.runFold((): Tally => ({ generated: 0, good: 0 }), tallyRecord)
  )

const batches = (deadline: number, batch: number): Effect.Effect<Tally> => {
  const makeBatch = (index: number): Float64Array => {
    const f64 = new Float64Array(batch * F64S)
    const u32 = new Uint32Array(f64.buffer)
    const seq0 = index * batch
    for (let i = 0; i < batch; i++) {
      const s = seq0 + i
      const o = i * F64S
      f64[o] = s
      u32[2 * o + 2] = s % KEYS
      u32[2 * o + 3] = 0
      f64[o + 2] = s
      f64[o + 3] = checkOf(s)
    }
    return f64
  }
  const copyBatch = (f64: Float64Array): Float64Array => f64.slice()
  const tallyBatch = (t: Tally, f64: Float64Array): Tally => {
    for (let i = 0; i < batch; i++) {
      const o = i * F64S
      if (f64[o + 3] === checkOf(f64[o]!)) t.good++
    }
    t.generated += batch
    return t
  }
  return seqsUntil(deadline, 1).pipe(
    Stream.map(makeBatch),
    Stream.map(copyBatch),
    Stream.map(copyBatch),
    Stream.map(copyBatch),
    Stream.runFold((): Tally => ({ generated: 0, good: 0 }), tallyBatch)
  )
}

const timedStream = async (params: Params, ms: number): Promise<Tally & { readonly ms: number }> => {
  const t0 = performance.now()
  const deadline = t0 + ms
  const tally = await Effect.runPromise(
    params.shape === "records" ? records(deadline, params.chunk) : batches(deadline, params.chunk)
  )
  return { ...tally, ms: performance.now() - t0 }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const warm = await timedStream(params, params.warmupMs)
  const timed = await timedStream(params, params.durationMs)
  for (const [what, r] of [["warm-up", warm], ["timed", timed]] as const) {
    if (r.generated === 0 || r.good !== r.generated) {
      throw new Error(`effect stream (${params.shape}): ${what} check failed: generated=${r.generated} good=${r.good}`)
    }
  }
  return {
    mrecPerSecond: timed.generated / timed.ms / 1e3,
    timedRecords: timed.generated,
    records: warm.generated + timed.generated
  }
}
