/**
 * Metric families in the Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then
 * the samples, each family's together. What a part of the ops surface (an adapter's
 * `Extension.metrics`, a program's own figures) appends to `/metrics`; `promtool check metrics`
 * accepts it when names follow Prometheus conventions (base units, counters ending in `_total`).
 *
 * @example
 * ```ts
 * import { MetricsText } from "@velox/core"
 *
 * const text = MetricsText.format([
 *   { name: "feed_quotes_total", type: "counter", help: "quotes received", series: [{ labels: { feed: "fx" }, value: 42 }] }
 * ])
 * // # HELP feed_quotes_total quotes received
 * // # TYPE feed_quotes_total counter
 * // feed_quotes_total{feed="fx"} 42
 * ```
 *
 * @since 0.1.0
 */

/**
 * One labelled value of a family.
 *
 * @category models
 * @since 0.1.0
 */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/**
 * A metric family: its name, type, help line and samples.
 *
 * @category models
 * @since 0.1.0
 */
export interface MetricFamily {
  readonly name: string
  readonly type: "counter" | "gauge"
  readonly help: string
  readonly series: ReadonlyArray<Sample>
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

/**
 * A sample value as the format writes it (`NaN`, `+Inf`, `-Inf` spelled out).
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatValue = (value: number): string =>
  Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value)

/**
 * A label set as the format writes it: `{k="v",…}` with values escaped, or nothing when empty.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatLabels = (labels: Readonly<Record<string, string>>): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
  return parts.length === 0 ? "" : `{${parts.join(",")}}`
}

/**
 * A help text as the format writes it (backslashes and newlines escaped).
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatHelp = (help: string): string => help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/**
 * Families as exposition text, one line each, ending in a newline (empty for no family).
 *
 * @category formatting
 * @since 0.1.0
 */
export const format = (families: ReadonlyArray<MetricFamily>): string => {
  const lines: Array<string> = []
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${formatHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    for (const { labels, value } of f.series) lines.push(`${f.name}${formatLabels(labels)} ${formatValue(value)}`)
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n"
}

/**
 * Families of the same name joined into one (their series together), in first-seen order: the text
 * format wants each family once.
 *
 * @category combinators
 * @since 0.1.0
 */
export const merge = (families: ReadonlyArray<MetricFamily>): ReadonlyArray<MetricFamily> => {
  const byName = new Map<string, MetricFamily>()
  for (const f of families) {
    const seen = byName.get(f.name)
    byName.set(f.name, seen === undefined ? f : { ...seen, series: [...seen.series, ...f.series] })
  }
  return [...byName.values()]
}
