/**
 * The L2 replay's monitoring view, read on the main thread from shared memory (the books' status
 * table, the monitor table, the latency histogram, the replay source's progress): records/s, latency
 * p50/p99 from (replayed) exchange time to top of book out, stale and resyncing symbols, gaps over
 * 1 s, the most active symbols, the symbols with the most sync events. Served by the ops server as
 * `/l2` (a live page), `/l2.json`, in `/stats` and `/metrics`, and printed as the periodic stats line;
 * and `/depth?symbol=42&levels=10`: a book's top levels, asked of the running books (`L2Depth`).
 *
 * Rates and the interval's percentiles come from `sample()` (the program calls it every stats
 * period): each is the difference between two readings.
 */
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { MetricsText } from "@velox/core"
import { L2Depth, L2Status, OutputLatency } from "@velox/market"
import { NodeJournalSource, type NodePipelineServer } from "@velox/node"
import * as LivePage from "./livePage.ts"
import * as Monitor from "./l2ReplayMonitor.ts"

export interface Tables {
  readonly status: SharedArrayBuffer
  readonly monitor: SharedArrayBuffer
  readonly latency: SharedArrayBuffer
  readonly progress: SharedArrayBuffer
  /** The books' depth mailbox (`/depth?symbol=42&levels=10`). */
  readonly depth: SharedArrayBuffer
}

interface Reading {
  readonly atMs: number
  readonly updates: number
  readonly tops: number
  readonly latency: OutputLatency.HistogramSnapshot
}

export interface Latency {
  readonly samples: number
  readonly p50Us: number
  readonly p99Us: number
  readonly meanUs: number
  readonly maxUs: number
}

export interface Snapshot {
  readonly elapsedS: number
  readonly replay: { readonly read: number; readonly journalRecords: number; readonly speed: number | null }
  /** Over the last stats period. */
  readonly interval: { readonly seconds: number; readonly updatesPerS: number; readonly topsPerS: number; readonly latency: Latency }
  /** Since the start. */
  readonly total: { readonly updates: number; readonly tops: number; readonly latency: Latency }
  readonly books: L2Status.Summary
  readonly staleSymbols: ReadonlyArray<number>
  readonly resyncingSymbols: ReadonlyArray<number>
  /** Symbols with the most sync events (gaps, stale spells, resyncs, crossed, locked), most first. */
  readonly troubled: ReadonlyArray<L2Status.SymbolStatus>
  readonly gaps: {
    readonly feedOver1s: number
    readonly longestFeedGapMs: number
    readonly outputOver1s: number
    readonly longestOutputGapMs: number
  }
  readonly mostActive: ReadonlyArray<{ readonly symbol: number; readonly updates: number; readonly tops: number }>
}

const LIST = 20

const latencyOf = (h: OutputLatency.HistogramSnapshot): Latency => ({
  samples: h.count,
  p50Us: OutputLatency.percentileNs(h, 0.5) / 1e3,
  p99Us: OutputLatency.percentileNs(h, 0.99) / 1e3,
  meanUs: h.meanNs / 1e3,
  maxUs: h.maxNs / 1e3
})

/** `now − before`, bucket by bucket (the maximum stays the run's: a histogram keeps no interval maximum). */
const since = (now: OutputLatency.HistogramSnapshot, before: OutputLatency.HistogramSnapshot): OutputLatency.HistogramSnapshot => {
  const count = now.count - before.count
  const sum = now.meanNs * now.count - (before.count > 0 ? before.meanNs * before.count : 0)
  return {
    count,
    meanNs: count > 0 ? sum / count : NaN,
    maxNs: now.maxNs,
    negatives: now.negatives - before.negatives,
    buckets: now.buckets.map((b, i) => b - before.buckets[i]!)
  }
}

/** Symbols by how much happened to them, the busiest `limit` first. */
const troubled = (status: SharedArrayBuffer, symbols: number, limit: number): Array<L2Status.SymbolStatus> => {
  const rows: Array<L2Status.SymbolStatus> = []
  const score = (r: L2Status.SymbolStatus) => r.gaps + r.staleEvents + r.resyncs + r.crossedEvents + r.lockedEvents
  for (let s = 0; s < symbols; s++) {
    const row = L2Status.symbol(status, s)
    if (score(row) > 0) rows.push(row)
  }
  return rows.sort((a, b) => score(b) - score(a) || a.symbol - b.symbol).slice(0, limit)
}

export interface View {
  /** Takes a reading; the interval figures are from the previous one to this. */
  readonly sample: () => void
  readonly snapshot: () => Snapshot
}

export const make = (tables: Tables, options: { readonly journalRecords: number; readonly speed: number | undefined }): View => {
  const startMs = performance.now()
  const reading = (): Reading => {
    const m = Monitor.read(tables.monitor)
    return { atMs: performance.now(), updates: m.updates, tops: m.tops, latency: OutputLatency.read(tables.latency).closing }
  }
  let previous = reading()
  let last = previous
  return {
    sample: () => {
      previous = last
      last = reading()
    },
    snapshot: () => {
      const m = Monitor.read(tables.monitor)
      const seconds = (last.atMs - previous.atMs) / 1000
      const rate = (x: number) => (seconds > 0 ? x / seconds : 0)
      return {
        elapsedS: (performance.now() - startMs) / 1000,
        replay: { read: NodeJournalSource.readProgress(tables.progress).records, journalRecords: options.journalRecords, speed: options.speed ?? null },
        interval: {
          seconds,
          updatesPerS: rate(last.updates - previous.updates),
          topsPerS: rate(last.tops - previous.tops),
          latency: latencyOf(since(last.latency, previous.latency))
        },
        total: { updates: m.updates, tops: m.tops, latency: latencyOf(OutputLatency.read(tables.latency).closing) },
        books: L2Status.read(tables.status),
        staleSymbols: L2Status.symbolsIn(tables.status, "stale", LIST),
        resyncingSymbols: L2Status.symbolsIn(tables.status, "resyncing", LIST),
        troubled: troubled(tables.status, m.symbols, LIST),
        gaps: {
          feedOver1s: m.feedGaps,
          longestFeedGapMs: m.longestFeedGapNs / 1e6,
          outputOver1s: m.outputGaps,
          longestOutputGapMs: m.longestOutputGapNs / 1e6
        },
        mostActive: Monitor.mostActive(tables.monitor, 10)
      }
    }
  }
}

const n = (x: number) => Math.round(x).toLocaleString("en-US")
const us = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : n(x)} µs` : "–")

/** The periodic stats line. */
export const line = (s: Snapshot): string =>
  `${s.elapsedS.toFixed(0).padStart(4)} s  read ${n(s.replay.read)}/${n(s.replay.journalRecords)}  ` +
  `${n(s.interval.updatesPerS)} updates/s  ${n(s.interval.topsPerS)} tops/s  ` +
  `latency p50 ${us(s.interval.latency.p50Us)} p99 ${us(s.interval.latency.p99Us)}  ` +
  `books live ${n(s.books.live)} stale ${n(s.books.stale)} resyncing ${n(s.books.resyncing)} waiting ${n(s.books.waiting)}  ` +
  `gaps ${n(s.books.gaps)} resyncs ${n(s.books.resyncs)} crossed ${n(s.books.crossed)} locked ${n(s.books.locked)}  ` +
  `silences > 1 s: feed ${n(s.gaps.feedOver1s)} output ${n(s.gaps.outputOver1s)}`

/** Prometheus text for the replay's own figures (the ops surface has the stages'). */
export const metrics = (s: Snapshot): string => {
  const families: Array<MetricsText.MetricFamily> = []
  const family = (name: string, type: "counter" | "gauge", help: string, series: ReadonlyArray<readonly [Record<string, string>, number]>) => {
    families.push({ name, type, help, series: series.map(([labels, value]) => ({ labels, value })) })
  }
  family("velox_l2_updates_total", "counter", "L2 updates replayed", [[{}, s.total.updates]])
  family("velox_l2_tops_total", "counter", "top-of-book records out of the books", [[{}, s.total.tops]])
  family("velox_l2_latency_seconds", "gauge", "exchange time to top of book out, over the last stats period", [
    [{ percentile: "50" }, s.interval.latency.p50Us / 1e6],
    [{ percentile: "99" }, s.interval.latency.p99Us / 1e6]
  ])
  family("velox_l2_books", "gauge", "books by sync state", [
    [{ state: "live" }, s.books.live],
    [{ state: "stale" }, s.books.stale],
    [{ state: "resyncing" }, s.books.resyncing],
    [{ state: "refreshing" }, s.books.refreshing],
    [{ state: "waiting" }, s.books.waiting]
  ])
  family("velox_l2_books_crossed", "gauge", "books whose last top of book was crossed", [[{}, s.books.crossed]])
  family("velox_l2_books_locked", "gauge", "books whose last top of book was locked", [[{}, s.books.locked]])
  family("velox_l2_sequence_gaps_total", "counter", "sequence gaps seen", [[{}, s.books.gaps]])
  family("velox_l2_resyncs_total", "counter", "snapshots that brought an out-of-sync book back", [[{}, s.books.resyncs]])
  family("velox_l2_silences_over_1s_total", "counter", "gaps of more than a second between data", [
    [{ where: "feed" }, s.gaps.feedOver1s],
    [{ where: "output" }, s.gaps.outputOver1s]
  ])
  return MetricsText.format(families)
}

const json = (body: unknown, status = 200) =>
  HttpServerResponse.text(JSON.stringify(body), {
    status,
    contentType: "application/json; charset=utf-8",
    headers: { "cache-control": "no-store" }
  })

/** `/depth?symbol=S&levels=N` (default 10): 400 for a bad query, 404 for an unknown symbol, 503 when the books do not answer. */
const depthRoute = (mailbox: SharedArrayBuffer) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const query = new URL(request.url, "http://localhost").searchParams
    const symbolText = query.get("symbol") ?? ""
    const levelsText = query.get("levels") ?? "10"
    const most = L2Depth.describe(mailbox).levels
    if (!/^[0-9]+$/.test(symbolText)) return json({ error: `symbol must be a symbol number: /depth?symbol=42&levels=10` }, 400)
    if (!/^[0-9]+$/.test(levelsText) || Number(levelsText) < 1 || Number(levelsText) > most) {
      return json({ error: `levels must be an integer in 1..${most}: levels=${levelsText}` }, 400)
    }
    return yield* L2Depth.request(mailbox, Number(symbolText), Number(levelsText)).pipe(
      Effect.match({
        onSuccess: (depth) => json(depth),
        onFailure: (e) => json({ error: e.message }, e.reason === "UnknownSymbol" ? 404 : e.reason === "Timeout" ? 503 : 400)
      })
    )
  })

/** The ops server's extension: `/l2` (the page), `/l2.json`, `/depth`, `/stats` and `/metrics` additions. */
export const extension = (view: View, depth: SharedArrayBuffer): NodePipelineServer.Extension => ({
  routes: [
    { path: "/depth", handler: depthRoute(depth) },
    { path: "/l2", handler: LivePage.serve(PAGE) },
    { path: "/l2.json", handler: Effect.sync(() => json(view.snapshot())) }
  ],
  metrics: () => metrics(view.snapshot()),
  stats: () => ({ l2: view.snapshot() })
})

/** The live page: inline HTML, CSS and JS (nothing downloaded), polling `/l2.json` every second. */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>velox · L2 replay</title>
<style>
${LivePage.STYLE}
.row{display:flex;flex-wrap:wrap;align-items:flex-start}
svg{background:#fff;border:1px solid #ddd}
</style></head><body>
<h1>L2 replay</h1><div class="sub" id="sub">connecting…</div>
<div class="tiles" id="tiles"></div>
<h2>updates/s</h2><svg id="chart" width="600" height="80"></svg>
<div class="row">
<div><h2>most active symbols</h2><table id="active"></table></div>
<div><h2>symbols with the most sync events</h2><table id="troubled"></table></div>
<div><h2>stale / resyncing now</h2><table id="now"></table></div>
</div>
<p><a href="/dashboard">stages and rings</a> · <a href="/l2.json">/l2.json</a> · <a href="/depth?symbol=0&levels=10">/depth?symbol=0</a> · <a href="/metrics">/metrics</a></p>
<script>
const f = (x) => Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–"
const us = (x) => Number.isFinite(x) ? (x < 10 ? x.toFixed(1) : f(x)) + " µs" : "–"
const tile = (label, value, bad) => '<div class="tile' + (bad ? " bad" : "") + '"><b>' + value + "</b><span>" + label + "</span></div>"
const rows = (head, body) => "<tr>" + head.map((h) => "<th>" + h + "</th>").join("") + "</tr>" +
  body.map((r) => "<tr>" + r.map((c) => "<td>" + c + "</td>").join("") + "</tr>").join("")
const history = []
async function tick() {
  try {
    const s = await (await fetch("/l2.json", { cache: "no-store" })).json()
    document.getElementById("sub").textContent = "read " + f(s.replay.read) + " of " + f(s.replay.journalRecords) +
      " journal records · " + (s.replay.speed === null ? "as fast as possible" : s.replay.speed + "× the original pace") +
      " · " + s.elapsedS.toFixed(0) + " s"
    const b = s.books
    document.getElementById("tiles").innerHTML = [
      tile("updates/s", f(s.interval.updatesPerS)), tile("tops of book/s", f(s.interval.topsPerS)),
      tile("latency p50 (exchange → top)", us(s.interval.latency.p50Us)), tile("latency p99", us(s.interval.latency.p99Us)),
      tile("books live", f(b.live)), tile("stale", f(b.stale), b.stale > 0), tile("resyncing", f(b.resyncing)),
      tile("waiting for a snapshot", f(b.waiting)), tile("sequence gaps", f(b.gaps)), tile("resyncs", f(b.resyncs)),
      tile("crossed now / events", f(b.crossed) + " / " + f(b.crossedEvents), b.crossed > 0),
      tile("locked now / events", f(b.locked) + " / " + f(b.lockedEvents)),
      tile("gaps > 1 s: feed / output", f(s.gaps.feedOver1s) + " / " + f(s.gaps.outputOver1s), s.gaps.outputOver1s > 0)
    ].join("")
    document.getElementById("active").innerHTML = rows(["symbol", "updates", "tops"], s.mostActive.map((a) => [a.symbol, f(a.updates), f(a.tops)]))
    document.getElementById("troubled").innerHTML = rows(["symbol", "state", "gaps", "stale", "resyncs", "crossed", "locked"],
      s.troubled.map((t) => [t.symbol, t.state, f(t.gaps), f(t.staleEvents), f(t.resyncs), f(t.crossedEvents), f(t.lockedEvents)]))
    document.getElementById("now").innerHTML = rows(["stale", "resyncing"],
      Array.from({ length: Math.max(s.staleSymbols.length, s.resyncingSymbols.length) }, (_, i) => [s.staleSymbols[i] ?? "", s.resyncingSymbols[i] ?? ""]))
    history.push(s.interval.updatesPerS); if (history.length > 120) history.shift()
    const max = Math.max(1, ...history)
    document.getElementById("chart").innerHTML = '<polyline fill="none" stroke="#36c" stroke-width="2" points="' +
      history.map((v, i) => (i * 5) + "," + (78 - 74 * v / max)).join(" ") + '"/>' + '<text x="4" y="12" font-size="11">' + f(max) + "</text>"
  } catch (e) { document.getElementById("sub").textContent = "not answering: " + e }
}
tick(); setInterval(tick, 1000)
</script></body></html>`
