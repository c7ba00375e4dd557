/**
 * A probe: something besides a pipeline's stages that decides whether the program is ready and
 * what it exports as metrics — a feed's connection to its broker, a feed gone silent. The operations
 * server (`NodePipelineServer.addProbe`) asks each probe when `/ready`, `/health`, `/stats` and
 * `/metrics` are asked: `/ready` is 200 only when the pipeline and every probe are ready, and says
 * why not; each probe's metric families are added to `/metrics`.
 *
 * A probe is read on the main thread, on request: `check` and `metrics` must be quick and must not
 * throw (a throw answers 500 and is logged).
 *
 * @since 0.1.0
 */

/**
 * @category models
 * @since 0.1.0
 */
export interface Probe {
  /** Its name in `/health` and in the `probe` label of `velox_probe_ready`: `mqtt`, `feed`. */
  readonly name: string
  readonly check: () => Report
  /** Metric families in the Prometheus text format's terms; read at each scrape. */
  readonly metrics?: (() => ReadonlyArray<MetricFamily>) | undefined
}

/**
 * What a probe says now.
 *
 * @category models
 * @since 0.1.0
 */
export interface Report {
  readonly ready: boolean
  /** Why it is not ready (empty when ready). */
  readonly reasons: ReadonlyArray<string>
  /** What an operator should look at, ready or not. */
  readonly warnings: ReadonlyArray<string>
  /** What `/health` and `/stats` show for it (JSON). */
  readonly detail?: unknown
}

/**
 * One metric family: `name` in Prometheus conventions (base units, counters ending in `_total`).
 *
 * @category models
 * @since 0.1.0
 */
export interface MetricFamily {
  readonly name: string
  readonly type: "counter" | "gauge"
  readonly help: string
  readonly series: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }>
}
