/**
 * Typed access to one stage's statistics block (layout: `stageStatsDescriptor.ts`).
 * The host writes through `StageStatsWriter`; anyone reads through `readStageStats`.
 */
import * as S from "./stageStatsDescriptor.ts"

/** Allocates one zeroed, initialised block per stage, side by side in one buffer. */
export const makeStatsBuffer = (stageCount: number): SharedArrayBuffer => {
  const buffer = new SharedArrayBuffer(Math.max(1, stageCount) * S.STATS_BLOCK_BYTES)
  for (let i = 0; i < stageCount; i++) {
    const words = new Int32Array(buffer, i * S.STATS_BLOCK_BYTES, 2)
    words[S.VERSION_OFFSET >> 2] = S.STATS_VERSION
    Atomics.store(words, S.MAGIC_OFFSET >> 2, S.STATS_MAGIC)
  }
  return buffer
}

export interface StatsRef {
  readonly buffer: SharedArrayBuffer
  readonly byteOffset: number
}

export const statsRef = (buffer: SharedArrayBuffer, stageIndex: number): StatsRef => ({
  buffer,
  byteOffset: stageIndex * S.STATS_BLOCK_BYTES
})

const F = (offset: number): number => offset >> 3

/** The host's side: the only writer of the host section. */
export class StageStatsWriter {
  // Fields the constructor sets are `declare`d: a plain declaration defines them as `undefined` first,
  // and the constructor's store then makes V8 treat them as mutable, reloaded and re-checked at every
  // use in a hot loop; stored once, they stay constant fields.
  declare readonly f64: Float64Array
  private declare readonly i32: Int32Array

  constructor(ref: StatsRef) {
    this.f64 = new Float64Array(ref.buffer, ref.byteOffset, S.STATS_BLOCK_BYTES / 8)
    this.i32 = new Int32Array(ref.buffer, ref.byteOffset, S.STATS_BLOCK_BYTES / 4)
    if (Atomics.load(this.i32, S.MAGIC_OFFSET >> 2) !== S.STATS_MAGIC) {
      throw new RangeError(`not a velox stats block at byteOffset=${ref.byteOffset}`)
    }
  }

  setState(state: S.StageState): void {
    // publish: the lifecycle change, after every counter written before it.
    Atomics.store(this.i32, S.STATE_OFFSET >> 2, state)
  }

  state(): number {
    return Atomics.load(this.i32, S.STATE_OFFSET >> 2)
  }

  add(offset: number, delta: number): void {
    this.f64[offset >> 3]! += delta
  }

  set(offset: number, value: number): void {
    this.f64[offset >> 3] = value
  }

  get(offset: number): number {
    return this.f64[offset >> 3]!
  }

  /** Records `count` records whose batch took `ns` to process. */
  latency(ns: number, count: number): void {
    let bucket = ns < 1 ? 0 : Math.floor(Math.log2(ns))
    if (bucket >= S.LATENCY_BUCKETS) bucket = S.LATENCY_BUCKETS - 1
    this.f64[F(S.LATENCY_LOG2_OFFSET) + bucket]! += count
  }

  /** Makes every counter written so far visible to readers that load HEARTBEAT first. */
  heartbeat(): void {
    // publish: counters written before this add.
    Atomics.add(this.i32, S.HEARTBEAT_OFFSET >> 2, 1)
  }
}

/** A point-in-time copy of one stage's counters. */
export interface StageCounters {
  readonly state: string
  readonly heartbeat: number
  readonly in: number
  readonly emitted: number
  readonly written: number
  readonly dropped: number
  readonly deadLettered: number
  readonly retained: number
  readonly batches: number
  readonly parks: number
  /**
   * Wake-ups of a parked peer this stage's loop paid for (`Atomics.notify` after a publish, a release),
   * shown on the loop's first stage like `parks`: a busy pipeline keeps both near zero.
   */
  readonly wakes: number
  /**
   * Parks of the loop that lapsed at their safety net (a second, with no deadline due) and then found
   * work: wake-ups that never came. Zero in a healthy pipeline; shown on the loop's first stage.
   */
  readonly missedWakes: number
  readonly redelivered: number
  readonly duplicated: number
  readonly lost: number
  /** Crashes after which the stage (it keeps state) restarted without it: no snapshot to restore. */
  readonly stateLost: number
  readonly lastCommitNs: number
  readonly restarts: number
  readonly crashes: number
  readonly droppedByReason: ReadonlyArray<number>
  readonly deadLetteredByCode: ReadonlyArray<number>
  /** Records by log2(ns) of their batch's processing time. */
  readonly latencyLog2: ReadonlyArray<number>
}

/** Reads a block (allocates; control plane only). */
export const readStageStats = (ref: StatsRef): StageCounters => {
  const f64 = new Float64Array(ref.buffer, ref.byteOffset, S.STATS_BLOCK_BYTES / 8)
  const i32 = new Int32Array(ref.buffer, ref.byteOffset, S.STATS_BLOCK_BYTES / 4)
  // acquire: HEARTBEAT first, so the counters below are at least as new as that commit.
  const heartbeat = Atomics.load(i32, S.HEARTBEAT_OFFSET >> 2)
  const state = Atomics.load(i32, S.STATE_OFFSET >> 2)
  const g = (offset: number) => f64[offset >> 3]!
  const slice = (offset: number, n: number) => Array.from(f64.subarray(offset >> 3, (offset >> 3) + n))
  return {
    state: S.stageStateName(state),
    heartbeat,
    in: g(S.IN_OFFSET),
    emitted: g(S.EMITTED_OFFSET),
    written: g(S.WRITTEN_OFFSET),
    dropped: g(S.DROPPED_OFFSET),
    deadLettered: g(S.DEAD_LETTERED_OFFSET),
    retained: g(S.RETAINED_OFFSET),
    batches: g(S.BATCHES_OFFSET),
    parks: g(S.PARKS_OFFSET),
    wakes: g(S.WAKES_OFFSET),
    missedWakes: g(S.MISSED_WAKES_OFFSET),
    redelivered: g(S.REDELIVERED_OFFSET),
    duplicated: g(S.DUPLICATED_OFFSET),
    lost: g(S.LOST_OFFSET),
    stateLost: g(S.STATE_LOST_OFFSET),
    lastCommitNs: g(S.LAST_COMMIT_NS_OFFSET),
    restarts: g(S.RESTARTS_OFFSET),
    crashes: g(S.CRASHES_OFFSET),
    droppedByReason: slice(S.DROPPED_BY_REASON_OFFSET, S.MAX_REASONS),
    deadLetteredByCode: slice(S.DEAD_BY_CODE_OFFSET, S.MAX_REASONS),
    latencyLog2: slice(S.LATENCY_LOG2_OFFSET, S.LATENCY_BUCKETS)
  }
}
