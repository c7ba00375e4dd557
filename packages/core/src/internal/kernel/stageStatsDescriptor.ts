/**
 * Memory layout of one stage's statistics block in a `SharedArrayBuffer`.
 *
 * The stage's host (the one thread running its loop) is the only writer of the host section; the
 * control plane reads it at any time, without messages. Counters are f64 (exact to 2^53): plain
 * aligned typed-array accesses are tear-free in the JS memory model, and the host bumps HEARTBEAT with
 * an Atomics.add after each batch commit, so a reader that loads HEARTBEAT first sees every counter
 * written before it. The supervisor section is written by the control plane only.
 *
 * ```
 *    0 ┌────────────────────────┬──────┬────────────┬─────────────────────────────────┐
 *      │ MAGIC "VSTS"  i32      │  4 B │ creator    │ plain, before sharing           │
 *    4 │ VERSION       i32      │  4 B │ creator    │ plain                           │
 *    8 │ STATE         i32      │  4 B │ host       │ Atomics.store (StageState)      │
 *   12 │ HEARTBEAT     i32      │  4 B │ host       │ Atomics.add, once per commit    │
 *   16 │ IN            f64      │  8 B │ host       │ plain: input records released   │
 *   24 │ EMITTED       f64      │  8 B │ host       │ plain: inputs accounted as out  │
 *   32 │ WRITTEN       f64      │  8 B │ host       │ plain: output records written   │
 *   40 │ DROPPED       f64      │  8 B │ host       │ plain: sum of DROPPED_BY_REASON │
 *   48 │ DEAD_LETTERED f64      │  8 B │ host       │ plain: sum of DEAD_BY_CODE      │
 *   56 │ RETAINED      f64      │  8 B │ host       │ plain: inputs held in state now │
 *   64 │ BATCHES       f64      │  8 B │ host       │ plain                           │
 *   72 │ PARKS         f64      │  8 B │ host       │ plain: idle cycles that parked  │
 *   80 │ REDELIVERED   f64      │  8 B │ host       │ plain: records in IN twice: they│
 *      │                        │      │            │ were retained at a crash        │
 *   88 │ DUPLICATED    f64      │  8 B │ host       │ plain: outputs published for    │
 *      │                        │      │            │ records later redelivered       │
 *   96 │ LOST          f64      │  8 B │ host       │ plain: held in state at a crash │
 *  104 │ LAST_COMMIT_NS f64     │  8 B │ host       │ plain: clock at the last commit │
 *  112 │ STATE_LOST    f64      │  8 B │ host       │ plain: crashes after which the  │
 *      │                        │      │            │ stage restarted without state   │
 *  120 │ WAKES         f64      │  8 B │ host       │ plain: Atomics.notify calls that│
 *      │                        │      │            │ woke a parked peer              │
 *  128 ├────────────────────────┼──────┼────────────┼─────────────────────────────────┤
 *      │ RESTARTS      f64      │  8 B │ supervisor │ plain                           │
 *  136 │ CRASHES       f64      │  8 B │ supervisor │ plain                           │
 *  144 │ MISSED_WAKES  f64      │  8 B │ host       │ plain: parks that lapsed at the │
 *      │                        │      │            │ safety net and found work (rare)│
 *  152 │ padding                │104 B │            │                                 │
 *  256 ├────────────────────────┼──────┼────────────┼─────────────────────────────────┤
 *      │ DROPPED_BY_REASON f64×16│128 B│ host       │ plain, index = reason code      │
 *  384 │ DEAD_BY_CODE  f64 × 16 │128 B │ host       │ plain, index = error code       │
 *  512 │ LATENCY_LOG2  f64 × 32 │256 B │ host       │ plain: records by log2(ns) of   │
 *      │                        │      │            │ their batch's processing time   │
 *  768 │ padding                │256 B │            │                                 │
 * 1024 └────────────────────────┴──────┴────────────┴─────────────────────────────────┘
 * ```
 * Blocks sit side by side in one buffer, `STATS_BLOCK_BYTES` apart, so two stages' hosts never share
 * a cache line.
 */

export const STATS_MAGIC = 0x53545356 // "VSTS"
export const STATS_VERSION = 2

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const STATE_OFFSET = 8
export const HEARTBEAT_OFFSET = 12
export const IN_OFFSET = 16
export const EMITTED_OFFSET = 24
export const WRITTEN_OFFSET = 32
export const DROPPED_OFFSET = 40
export const DEAD_LETTERED_OFFSET = 48
export const RETAINED_OFFSET = 56
export const BATCHES_OFFSET = 64
export const PARKS_OFFSET = 72
export const REDELIVERED_OFFSET = 80
export const DUPLICATED_OFFSET = 88
export const LOST_OFFSET = 96
export const LAST_COMMIT_NS_OFFSET = 104
export const STATE_LOST_OFFSET = 112
export const WAKES_OFFSET = 120
export const RESTARTS_OFFSET = 128
export const CRASHES_OFFSET = 136
/** In the supervisor's line, but written at most once a second (a lapsed park), never on the hot path. */
export const MISSED_WAKES_OFFSET = 144
export const DROPPED_BY_REASON_OFFSET = 256
export const DEAD_BY_CODE_OFFSET = 384
export const LATENCY_LOG2_OFFSET = 512
export const STATS_BLOCK_BYTES = 1024

/** Distinct drop reasons and dead-letter error codes a stage may declare. */
export const MAX_REASONS = 16
export const LATENCY_BUCKETS = 32

/** Lifecycle of a stage, as its host reports it in STATE. */
export const StageState = {
  Idle: 0,
  Running: 1,
  Draining: 2,
  Done: 3,
  Crashed: 4,
  Stopped: 5
} as const
export type StageState = (typeof StageState)[keyof typeof StageState]

export const stageStateName = (state: number): string => {
  for (const [name, value] of Object.entries(StageState)) if (value === state) return name
  return `Unknown(${state})`
}
