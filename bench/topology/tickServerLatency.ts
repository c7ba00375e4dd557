/**
 * `/ticks` latency while the tick server ingests a million quotes per second.
 *
 * ```
 *   velox-tick-server (child process)                          this process
 *   ┌──────────────────────────────────────────────┐
 *   │ generator (1 M quotes/s) ─► health ─► throttle ─┬─► tick-store ──► TickStore (shared memory)
 *   │                                              └─► bars           │
 *   │ main thread: HTTP ◄── GET /ticks?symbol=EURUSD&limit=10 ◄───────┼── one request at a time
 *   └──────────────────────────────────────────────┘                  (keep-alive), timed
 * ```
 *
 * A run: start the server (`--no-persist` unless `persist`), wait for /ready, warm up, then for
 * `windowMs` send requests back to back and time each one (from the request to the body's last
 * byte). Returns p50, p99 and max in ms, and the ingest the server achieved over the window (quotes
 * its throttle saw per second, from /stats). Checked: every answer is 200 with 10 EURUSD ticks,
 * newest first; the server drained cleanly after (exit 0).
 */
import { InconclusiveRun } from "../harness.ts"
import { startTickServer, waitFor } from "./tickServerProcess.ts"

export interface Params {
  readonly rate: number
  readonly warmupMs: number
  readonly windowMs: number
  readonly persist: boolean
  readonly startTimeoutMs: number
}

const quantile = (sorted: ReadonlyArray<number>, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

export const run = async (params: Params): Promise<Record<string, number>> => {
  const server = await startTickServer(
    ["--rate", String(params.rate), "--stats-seconds", "3600", ...(params.persist ? [] : ["--no-persist"])],
    params.startTimeoutMs
  )
  try {
    await waitFor(() => fetch(`${server.url}/ready`).then((r) => r.status), (s) => s === 200, params.startTimeoutMs, "/ready")
    await new Promise((r) => setTimeout(r, params.warmupMs))
    const received = async () => (await server.getJson("/stats")).tickServer.throttle.received as number
    const r0 = await received()
    const t0 = performance.now()
    const latencies: Array<number> = []
    while (performance.now() - t0 < params.windowMs) {
      const start = performance.now()
      const response = await fetch(`${server.url}/ticks?symbol=EURUSD&limit=10`)
      const ticks = (await response.json()) as Array<{ symbol: string; seq: number }>
      latencies.push(performance.now() - start)
      if (response.status !== 200 || ticks.length !== 10 || ticks.some((t, i) => t.symbol !== "EURUSD" || (i > 0 && t.seq >= ticks[i - 1]!.seq))) {
        throw new Error(`a bad /ticks answer: ${response.status} ${JSON.stringify(ticks).slice(0, 300)}`)
      }
    }
    const seconds = (performance.now() - t0) / 1000
    const ingest = ((await received()) - r0) / seconds
    if (latencies.length < 100) throw new InconclusiveRun(`only ${latencies.length} requests in the window`)
    latencies.sort((a, b) => a - b)
    return {
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: latencies[latencies.length - 1]!,
      requests: latencies.length,
      ingestMquotesPerSecond: ingest / 1e6
    }
  } finally {
    const { code, output } = await server.stop()
    if (code !== 0) throw new Error(`the tick server exited ${code}:\n${output.slice(-3000)}`)
  }
}
