/**
 * What a running pipeline looks like at one instant, as plain data: per stage its shared-memory
 * counters (`StageSnapshot`), per ring its fill (`RingSnapshot`), health, and the distinct-error table.
 * `handle.stats()`, `handle.health()` and `handle.errorSummary()` return these; `Ledger.make` and the
 * ops server read them.
 *
 * @since 0.1.0
 */
import type { StageCounters } from "./internal/kernel/stageStats.ts"
import type { RecordFailed } from "./PipelineError.ts"

/**
 * One stage instance: its counters (in, emitted, written, dropped by reason, dead-lettered by code,
 * retained, redelivered, duplicated, lost, state lost, restarts, crashes, latency, state), where it
 * runs, the names of its drop reasons and error codes, and the counters and gauges it declared.
 *
 * @category models
 * @since 0.1.0
 */
export interface StageSnapshot extends StageCounters {
  readonly stage: string
  readonly definition: string
  readonly host: string
  readonly dropReasons: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
  /** The stage declared that it keeps state (`stateLost` counts the restarts that lost it). */
  readonly keepsState: boolean
  /** The stage's own counters, by the names it declared (as of its last commit). */
  readonly counters: Readonly<Record<string, number>>
  /** The stage's own gauges, by the names it declared (as of its last commit). */
  readonly gauges: Readonly<Record<string, number>>
}

/**
 * One ring between two hosts: records published and not yet released (`fill`), and whether its
 * producer closed it. A source edge's queue is listed too (`from` is `"effect"`): records Effect code
 * offered that the edge has not yet passed on.
 *
 * @category models
 * @since 0.1.0
 */
export interface RingSnapshot {
  readonly name: string
  readonly from: string
  readonly to: string
  readonly capacity: number
  readonly fill: number
  readonly closed: boolean
  /** Records its producer did not write because it was full: a branch with `overflow: "dropNewest"`. */
  readonly dropped: number
  /**
   * Records a tee published into it by passes that then crashed (delivered again). Other producers
   * count these as their stage's `duplicated`.
   */
  readonly duplicated: number
}

/**
 * How records move from stage to stage: `Fused` (a plain call inside one loop), or `Rings` — every
 * ring into one step (all its lanes) from every loop writing into them. For each producing loop,
 * `perRing` says whether its duplicates and drops are counted per ring (a tee, or a dropping branch)
 * rather than on its last stage. The ledger checks each link.
 *
 * @category models
 * @since 0.1.0
 */
export type LinkSnapshot =
  | { readonly _tag: "Fused"; readonly from: string; readonly to: string }
  | {
    readonly _tag: "Rings"
    readonly producers: ReadonlyArray<{
      readonly stage: string
      readonly host: string
      readonly rings: ReadonlyArray<string>
      readonly perRing: boolean
    }>
    /** The first stage of each consuming loop. */
    readonly consumers: ReadonlyArray<string>
    readonly rings: ReadonlyArray<string>
  }

/**
 * @category models
 * @since 0.1.0
 */
export interface Snapshot {
  readonly stages: ReadonlyArray<StageSnapshot>
  readonly rings: ReadonlyArray<RingSnapshot>
  readonly links: ReadonlyArray<LinkSnapshot>
}

/**
 * Liveness and readiness in one: `ready` is false while starting, while draining, after the run ended,
 * when a stage failed or was stopped, and once a stage that keeps state lost it in a restart;
 * `reasons` says why.
 *
 * @category models
 * @since 0.1.0
 */
export interface Health {
  readonly status: "starting" | "running" | "draining" | "done" | "failed"
  readonly ready: boolean
  readonly reasons: ReadonlyArray<string>
  readonly stages: ReadonlyArray<{
    readonly stage: string
    readonly state: string
    readonly restarts: number
    readonly crashes: number
    /** Restarts after which the stage (it keeps state) ran without it. */
    readonly stateLost: number
  }>
}

/**
 * One distinct error of one stage, over the whole run: how many records failed with it, when it was
 * first and last seen, and the most recent such record.
 *
 * @category models
 * @since 0.1.0
 */
export interface ErrorSummary {
  readonly stage: string
  readonly error: string
  readonly count: number
  readonly firstSeenMs: number
  readonly lastSeenMs: number
  readonly sample: RecordFailed
}
