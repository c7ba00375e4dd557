/**
 * Typed access to a journal writer's statistics block (layout: `statsDescriptor.ts`). The writer
 * updates through `StatsWriter`; anyone reads a consistent snapshot with `readStats`.
 */
import * as S from "./statsDescriptor.ts"

/** A zeroed, initialised statistics block. */
export const makeStatsBuffer = (): SharedArrayBuffer => {
  const buffer = new SharedArrayBuffer(S.STATS_BYTES)
  const words = new Int32Array(buffer)
  words[S.VERSION_OFFSET >> 2] = S.STATS_VERSION
  // publish: the block is initialised (whoever checks MAGIC sees VERSION).
  Atomics.store(words, S.MAGIC_OFFSET >> 2, S.STATS_MAGIC)
  return buffer
}

export const isStatsBuffer = (u: unknown): u is SharedArrayBuffer =>
  u instanceof SharedArrayBuffer && u.byteLength === S.STATS_BYTES &&
  Atomics.load(new Int32Array(u), S.MAGIC_OFFSET >> 2) === S.STATS_MAGIC

/** The writer's side: the only writer of the block. */
export class StatsWriter {
  readonly f64: Float64Array
  private readonly i32: Int32Array

  constructor(buffer: SharedArrayBuffer) {
    if (!isStatsBuffer(buffer)) throw new RangeError("not a journal stats block (make one with NodeJournal.makeStats())")
    this.f64 = new Float64Array(buffer)
    this.i32 = new Int32Array(buffer)
  }

  /** Opens an update: readers retry until `end`. */
  begin(): void {
    Atomics.add(this.i32, S.UPDATES_OFFSET >> 2, 1)
  }

  end(): void {
    // publish: every counter written since `begin`.
    Atomics.add(this.i32, S.UPDATES_OFFSET >> 2, 1)
  }

  set(offset: number, value: number): void {
    this.f64[offset >> 3] = value
  }

  add(offset: number, delta: number): void {
    this.f64[offset >> 3]! += delta
  }

  get(offset: number): number {
    return this.f64[offset >> 3]!
  }

  setState(state: S.WriterState): void {
    // publish: the lifecycle change, after the counters written before it.
    Atomics.store(this.i32, S.STATE_OFFSET >> 2, state)
  }
}

/** A consistent reading of a writer's statistics. */
export interface JournalStats {
  readonly state: "not-open" | "open" | "closed" | "failed"
  /** Records accepted by `append` (a sequence: the journal's records so far, this session and before). */
  readonly appended: number
  /** Records written to the operating system: they survive a crash of the process. */
  readonly written: number
  /** Records fsynced: they survive a crash of the machine. */
  readonly durable: number
  /** Records appended but not yet written (the open batch). */
  readonly pending: number
  /** Records appended but not yet durable. */
  readonly lagRecords: number
  /** How long the oldest record that is not yet durable has waited, in ms (0 when none waits). */
  readonly lagMs: number
  readonly writtenBytes: number
  readonly batches: number
  readonly fsyncs: number
  readonly segments: number
  readonly journalBytes: number
  readonly firstSequence: number
  readonly writeErrors: number
  readonly recoveredCutBytes: number
}

const STATES = ["not-open", "open", "closed", "failed"] as const

/** Reads a consistent snapshot; `nowNs` (wall clock, ns since the epoch) dates the lag. */
export const readStats = (buffer: SharedArrayBuffer, nowNs: number): JournalStats => {
  const i32 = new Int32Array(buffer)
  const f64 = new Float64Array(buffer)
  const copy = new Float64Array(S.STATS_BYTES / 8)
  // A writer killed inside an update leaves UPDATES odd forever: then take the last reading.
  for (let attempt = 0; attempt < 1000; attempt++) {
    // acquire: the counters published by the writer's last `end`.
    const before = Atomics.load(i32, S.UPDATES_OFFSET >> 2)
    copy.set(f64)
    const after = Atomics.load(i32, S.UPDATES_OFFSET >> 2)
    if (before === after && (before & 1) === 0) break
  }
  const g = (offset: number) => copy[offset >> 3]!
  const appended = g(S.APPENDED_OFFSET)
  const written = g(S.WRITTEN_OFFSET)
  const durable = g(S.DURABLE_OFFSET)
  const oldest = g(S.OLDEST_NOT_DURABLE_NS_OFFSET)
  return {
    state: STATES[Atomics.load(i32, S.STATE_OFFSET >> 2)] ?? "failed",
    appended,
    written,
    durable,
    pending: appended - written,
    lagRecords: appended - durable,
    lagMs: oldest > 0 ? Math.max(0, (nowNs - oldest) / 1e6) : 0,
    writtenBytes: g(S.WRITTEN_BYTES_OFFSET),
    batches: g(S.BATCHES_OFFSET),
    fsyncs: g(S.FSYNCS_OFFSET),
    segments: g(S.SEGMENTS_OFFSET),
    journalBytes: g(S.JOURNAL_BYTES_OFFSET),
    firstSequence: g(S.FIRST_SEQUENCE_OFFSET),
    writeErrors: g(S.WRITE_ERRORS_OFFSET),
    recoveredCutBytes: g(S.RECOVERED_CUT_BYTES_OFFSET)
  }
}
