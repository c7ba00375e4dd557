/**
 * Metric families in the Prometheus text exposition format (0.0.4): `# HELP`, `# TYPE`, then the
 * samples, each family's together, as the ops server's `/metrics` appends them.
 */

export interface MetricFamily {
  readonly name: string
  readonly type: "counter" | "gauge"
  readonly help: string
  readonly series: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }>
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const formatValue = (value: number): string =>
  Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value)

export const format = (families: ReadonlyArray<MetricFamily>): string => {
  const lines: Array<string> = []
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`)
    for (const { labels, value } of f.series) {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      lines.push(`${f.name}${pairs.length === 0 ? "" : `{${pairs.join(",")}}`} ${formatValue(value)}`)
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n"
}

/** Families of the same name joined into one (their series together), in first-seen order. */
export const merge = (families: ReadonlyArray<MetricFamily>): ReadonlyArray<MetricFamily> => {
  const byName = new Map<string, MetricFamily>()
  for (const f of families) {
    const seen = byName.get(f.name)
    byName.set(f.name, seen === undefined ? f : { ...seen, series: [...seen.series, ...f.series] })
  }
  return [...byName.values()]
}
