/**
 * Peer of `topology/oneToThreePipelineThroughput.ts` with no framework: the same work as a hand-written
 * loop on ONE thread, batch by batch.
 *
 * ```
 *   one thread, per batch of `batch` records:
 *   generate ─► batch 0 ─copy─► batch 1 ─copy─► batch 2 ─copy─► batch 3 ─► check + count
 *   (counter)              (pass-through ×3: one whole-record copy each)   (counting-sink)
 * ```
 *
 * The batches are `Float64Array`s of `batch` × 32-byte `Sequenced` records (`{seq f64, key u32,
 * flags u32, value f64, check f64}`, the u32 pair through a `Uint32Array` over the same bytes). Per
 * record, as in the velox pipeline: write all five fields with `check = checkOf(seq)` and `key = seq
 * mod 16`; copy the whole record three times (four f64 words each: 32 bytes, like `copyRecords`' eight
 * i32 words); recompute `checkOf(seq)`, compare it with `check`, count the record if it matches.
 *
 * Time-boxed like the rest of the suite: `warmupMs` untimed (JIT), then `durationMs` timed; the clock
 * is read once per batch. Checked before returning: every record generated was checked good.
 */
import { checkOf } from "@velox/core/stages"

export interface Params {
  readonly batch: number
  readonly warmupMs: number
  readonly durationMs: number
}

/** f64 words per 32-byte record. */
export const F64S = 4
/** Number of distinct keys, as the Counter's default. */
const KEYS = 16

// Small functions called once per batch (the shape of a stage's batch handler): V8 optimises them as
// ordinary hot functions instead of relying on on-stack replacement of one big loop. The two-thread
// peer (`topology/oneToThreePipelinePlainThreads.ts`) runs these same functions, split across threads.

/** Writes `n` records with sequences `seq ..` (the counter's work). */
export const generate = (f64: Float64Array, u32: Uint32Array, seq: number, n: number): void => {
  for (let i = 0; i < n; i++) {
    const s = seq + i
    const o = i * F64S
    f64[o] = s
    u32[2 * o + 2] = s % KEYS
    u32[2 * o + 3] = 0
    f64[o + 2] = s
    f64[o + 3] = checkOf(s)
  }
}

/** Copies `n` whole records (a pass-through's work). */
export const copy = (from: Float64Array, to: Float64Array, n: number): void => {
  for (let i = 0; i < n; i++) {
    const o = i * F64S
    to[o] = from[o]!
    to[o + 1] = from[o + 1]!
    to[o + 2] = from[o + 2]!
    to[o + 3] = from[o + 3]!
  }
}

/** Records whose `check` matches their `seq` (the sink's work). */
export const checkAndCount = (f64: Float64Array, n: number): number => {
  let ok = 0
  for (let i = 0; i < n; i++) {
    const o = i * F64S
    if (f64[o + 3] === checkOf(f64[o]!)) ok++
  }
  return ok
}

interface StreamResult {
  readonly generated: number
  readonly good: number
  readonly ms: number
  /** This thread's CPU time over the stream. */
  readonly cpuUs: number
}

const threadCpuUs = (): number => {
  const u = process.threadCpuUsage()
  return u.user + u.system
}

const stream = (batch: number, durationMs: number, seq0: number): StreamResult => {
  const buffers = [0, 1, 2, 3].map(() => new ArrayBuffer(batch * F64S * 8))
  const [b0, b1, b2, b3] = buffers.map((b) => new Float64Array(b)) as [Float64Array, Float64Array, Float64Array, Float64Array]
  const u0 = new Uint32Array(buffers[0]!)
  const cpu0 = threadCpuUs()
  const t0 = performance.now()
  const deadline = t0 + durationMs
  let seq = seq0
  let good = 0
  while (performance.now() < deadline) {
    generate(b0, u0, seq, batch)
    copy(b0, b1, batch)
    copy(b1, b2, batch)
    copy(b2, b3, batch)
    good += checkAndCount(b3, batch)
    seq += batch
  }
  return { generated: seq - seq0, good, ms: performance.now() - t0, cpuUs: threadCpuUs() - cpu0 }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const warm = stream(params.batch, params.warmupMs, 0)
  const timed = stream(params.batch, params.durationMs, warm.generated)
  for (const [what, r] of [["warm-up", warm], ["timed", timed]] as const) {
    if (r.generated === 0 || r.good !== r.generated) {
      throw new Error(`plain loop: ${what} check failed: generated=${r.generated} good=${r.good}`)
    }
  }
  return {
    mrecPerSecond: timed.generated / timed.ms / 1e3,
    // Records per CPU second of this thread: the rate a busy machine cannot dilute.
    mrecPerCpuSecond: timed.generated / timed.cpuUs,
    timedRecords: timed.generated,
    records: warm.generated + timed.generated
  }
}
