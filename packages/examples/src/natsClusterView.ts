/**
 * The gateway's view across the cluster: the reports every process publishes each second (core NATS,
 * `velox.cluster.report.<process>`), joined with the gateway's own, and the merged top of book:
 *
 *   feed    ─┐
 *   book 0  ─┼─ report every 1 s ─▶ gateway: latest per process ─▶ /cluster (a live page), /cluster.json,
 *   book 1  ─┘                                                      /stats (`cluster`), /metrics (velox_cluster_*)
 *   tick store (merged BBO) ───────────────────────────────────────▶ /bbo (every symbol's last top of book)
 *
 * A process silent for three report intervals is shown as silent (its last figures kept, `up` 0).
 */
import { Effect, type Scope } from "effect"
import { MetricsText } from "@velox/core"
import { Symbols, TickStore } from "@velox/market"
import type { NodePipelineServer } from "@velox/node"
import { NatsClient } from "@velox/nats"
import { isReport, REPORT_INTERVAL_MS, REPORTS, type Report } from "./natsClusterProcess.ts"
import * as LivePage from "./livePage.ts"
import { json, tickJson, type Stores } from "./tickServerHttp.ts"

export interface ProcessView extends Report {
  /** Since its last report. */
  readonly ageMs: number
  readonly up: boolean
}

export interface Totals {
  /** Records the feed published (acked by QUOTES). */
  readonly published: number
  /** Records the books took in (after dedup), and published on (acked by BBO), and dropped (throttled). */
  readonly booksIn: number
  readonly booksOut: number
  readonly booksDropped: number
  /** Records the gateway took in (after dedup) and stored. */
  readonly gatewayIn: number
  readonly gatewayStored: number
  /** Over every ingress: messages behind, redeliveries, duplicates dropped. */
  readonly lag: number
  readonly redeliveries: number
  readonly duplicates: number
}

export interface Snapshot {
  readonly processes: ReadonlyArray<ProcessView>
  readonly totals: Totals
}

export interface View {
  readonly snapshot: () => Snapshot
  readonly extension: NodePipelineServer.Extension
}

/** Sums of a field over the reports of a role. */
const sumOf = (reports: ReadonlyArray<Report>, role: Report["role"], field: (r: Report) => number) =>
  reports.filter((r) => r.role === role).reduce((n, r) => n + field(r), 0)

export const totalsOf = (reports: ReadonlyArray<Report>): Totals => ({
  published: sumOf(reports, "feed", (r) => r.recordsOut),
  booksIn: sumOf(reports, "book", (r) => r.recordsIn),
  booksOut: sumOf(reports, "book", (r) => r.recordsOut),
  booksDropped: sumOf(reports, "book", (r) => r.dropped),
  gatewayIn: sumOf(reports, "gateway", (r) => r.recordsIn),
  gatewayStored: sumOf(reports, "gateway", (r) => r.recordsOut),
  lag: reports.reduce((n, r) => n + (r.ingress?.lag ?? 0), 0),
  redeliveries: reports.reduce((n, r) => n + (r.ingress?.redeliveries ?? 0), 0),
  duplicates: reports.reduce((n, r) => n + (r.ingress?.duplicates ?? 0), 0)
})

/** The latest report of each process, and when it came. */
export type Latest = () => ReadonlyArray<{ readonly report: Report; readonly atMs: number }>

/** Follows the processes' reports for as long as the scope lasts. */
export const follow: Effect.Effect<Latest, never, NatsClient.NatsClient | Scope.Scope> = Effect.gen(function*() {
  const client = yield* NatsClient.NatsClient
  const latest = new Map<string, { readonly report: Report; readonly atMs: number }>()
  yield* Effect.acquireRelease(
    Effect.sync(() =>
      client.connection.subscribe(`${REPORTS}.>`, {
        callback: (error, msg) => {
          if (error !== null) return
          try {
            const report: unknown = msg.json()
            if (isReport(report)) latest.set(report.process, { report, atMs: Date.now() })
          } catch {
            // Not a report: someone else's message on the subject; ignored.
          }
        }
      })
    ),
    (subscription) => Effect.sync(() => subscription.unsubscribe())
  )
  return () => [...latest.values()]
})

/** The processes as reported now, `own` (this process's report, read now) among them. */
export const snapshotOf = (latest: Latest, own: (() => Report) | undefined): Snapshot => {
  const now = Date.now()
  const mine = own?.()
  const others = latest().filter((l) => l.report.process !== mine?.process).map(({ atMs, report }) => ({
    ...report,
    ageMs: now - atMs,
    up: now - atMs <= 3 * REPORT_INTERVAL_MS && !report.final
  }))
  const processes = [...others, ...(mine === undefined ? [] : [{ ...mine, ageMs: 0, up: true }])].sort((a, b) => a.process.localeCompare(b.process))
  return { processes, totals: totalsOf(processes) }
}

/**
 * The gateway's view, for as long as the scope lasts: `own` is the gateway's report, read when asked;
 * `stores` hold the merged top of book (`/bbo`).
 */
export const make = (own: () => Report, stores: Stores) =>
  Effect.gen(function*() {
    const latest = yield* follow
    const snapshot = () => snapshotOf(latest, own)

    const symbols = Symbols.view(stores.symbols)
    /** Every symbol's last top of book, as `/ticks` shows a tick. */
    const bbo = Effect.sync(() => {
      const out: Array<ReturnType<typeof tickJson>> = []
      for (let id = 0; id < symbols.count(); id++) {
        const last = TickStore.snapshot(stores.ticks, id, 1)[0]
        if (last !== undefined) out.push(tickJson(symbols.nameOf(id)!, last))
      }
      return json(out)
    })

    const extension: NodePipelineServer.Extension = {
      routes: [
        { path: "/bbo", handler: bbo },
        { path: "/cluster.json", handler: Effect.sync(() => json(snapshot())) },
        { path: "/cluster", handler: LivePage.serve(PAGE) }
      ],
      metrics: () => metrics(snapshot()),
      stats: () => ({ cluster: snapshot() })
    }
    return { snapshot, extension } satisfies View
  })

/** Prometheus text: per process (`process` and `role` labels). */
export const metrics = (s: Snapshot): string => {
  const family = (name: string, type: "counter" | "gauge", help: string, value: (p: ProcessView) => number): MetricsText.MetricFamily => ({
    name, type, help, series: s.processes.map((p) => ({ labels: { process: p.process, role: p.role }, value: value(p) }))
  })
  return MetricsText.format([
    family("velox_cluster_process_up", "gauge", "1 while the process reports (every second)", (p) => (p.up ? 1 : 0)),
    family("velox_cluster_report_age_seconds", "gauge", "since the process's last report", (p) => p.ageMs / 1000),
    family("velox_cluster_records_in_total", "counter", "records the process took in (generated, or from NATS after dedup)", (p) => p.recordsIn),
    family("velox_cluster_records_out_total", "counter", "records the process delivered (acked by the stream, or stored)", (p) => p.recordsOut),
    family("velox_cluster_records_dropped_total", "counter", "records the process dropped with a counted reason", (p) => p.dropped),
    family("velox_cluster_ingress_lag_messages", "gauge", "messages in the stream not yet delivered to the process", (p) => p.ingress?.lag ?? 0),
    family("velox_cluster_ingress_redeliveries_total", "counter", "messages the server delivered to the process again", (p) => p.ingress?.redeliveries ?? 0),
    family("velox_cluster_ingress_duplicates_total", "counter", "records the process dropped as seen before", (p) => p.ingress?.duplicates ?? 0),
    family("velox_cluster_egress_in_flight", "gauge", "publishes awaiting their ack", (p) => p.egress?.inFlight ?? 0)
  ])
}

/** The live page: inline HTML, CSS and JS (nothing downloaded), polling `/cluster.json` and `/bbo` every second. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>velox · NATS cluster</title>
<style>
${LivePage.STYLE}
.bad{color:#b00}
</style></head><body>
<h1>NATS cluster</h1><div class="sub" id="sub">connecting…</div>
<div class="tiles" id="tiles"></div>
<h2>processes</h2><table id="processes"></table>
<h2>top of book (merged from the books)</h2><table id="bbo"></table>
<p><a href="/dashboard">the gateway's stages and rings</a> · <a href="/cluster.json">/cluster.json</a> · <a href="/bbo">/bbo</a> · <a href="/metrics">/metrics</a></p>
<script>
const f = (x) => Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–"
const tile = (label, value, bad) => '<div class="tile' + (bad ? " bad" : "") + '"><b>' + value + "</b><span>" + label + "</span></div>"
const rows = (head, body) => "<tr>" + head.map((h) => "<th>" + h + "</th>").join("") + "</tr>" +
  body.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("")
let previous
async function tick() {
  try {
    const s = await (await fetch("/cluster.json", { cache: "no-store" })).json()
    const t = s.totals, now = performance.now()
    const rate = (key) => previous === undefined ? NaN : (t[key] - previous.t[key]) / ((now - previous.at) / 1000)
    document.getElementById("sub").textContent = s.processes.length + " processes · " + s.processes.filter((p) => p.up).length + " reporting"
    document.getElementById("tiles").innerHTML = [
      tile("published by the feed", f(t.published)), tile("feed records/s", f(rate("published"))),
      tile("into the books", f(t.booksIn)), tile("top of book out of the books", f(t.booksOut)), tile("throttled", f(t.booksDropped)),
      tile("into the gateway", f(t.gatewayIn)), tile("gateway records/s", f(rate("gatewayIn"))),
      tile("consumer lag (messages)", f(t.lag), t.lag > 10000), tile("redeliveries", f(t.redeliveries)), tile("duplicates dropped", f(t.duplicates))
    ].join("")
    previous = { t, at: now }
    document.getElementById("processes").innerHTML = rows(["process", "host", "pid", "partitions", "up", "in", "out", "dropped", "lag", "redeliveries", "duplicates", "in flight", "report age"],
      s.processes.map((p) => [p.process, p.host, p.pid, p.partitions.join(","), p.up ? "yes" : '<span class="bad">' + (p.final ? "stopped" : "silent") + "</span>",
        f(p.recordsIn), f(p.recordsOut), f(p.dropped), f(p.ingress ? p.ingress.lag : 0), f(p.ingress ? p.ingress.redeliveries : 0),
        f(p.ingress ? p.ingress.duplicates : 0), f(p.egress ? p.egress.inFlight : 0), (p.ageMs / 1000).toFixed(1) + " s"]))
    const bbo = await (await fetch("/bbo", { cache: "no-store" })).json()
    document.getElementById("bbo").innerHTML = rows(["symbol", "bid size", "bid", "ask", "ask size", "seq", "time"],
      bbo.slice(0, 40).map((q) => [q.symbol, f(q.bidSize), q.bid, q.ask, f(q.askSize), f(q.seq), q.time]))
  } catch (e) { document.getElementById("sub").textContent = "not answering: " + e }
}
tick(); setInterval(tick, 1000)
</script></body></html>`
