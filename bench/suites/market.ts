/**
 * The `market` suite: the market-data toolkit and the tick server.
 *
 * ```
 *   one thread:  quotes ──► throttle ──┬──► tick store        velox stages' logic, fused as a tee runs them
 *                                      └──► bars (5 timeframes)
 *                quotes ──► the same work in one plain loop                      (the peer)
 *   /ticks:      velox-tick-server ingesting 1 M quotes/s ◄── GET /ticks?symbol=EURUSD&limit=10, timed
 *                node:http peer (the same answer, pre-built) ◄── the same requests, in turn (the peer)
 *   /ws:         velox-tick-server at ~100 k ticks/s ──► 100 WebSocket clients (all symbols)
 * ```
 *
 * Case names are stable: they are the keys of `bench/results/market.json`. Targets (issue 9) are
 * printed, never asserted. See bench/README.md.
 */
import type { Suite } from "../harness.ts"
import type { Params as WorkParams } from "../micro/marketWork.ts"
import type { Params as FanoutParams } from "../topology/tickServerFanout.ts"
import type { Params as LatencyParams } from "../topology/tickServerLatency.ts"

export const suite: Suite = {
  name: "market",
  jobs: [
    {
      label: "throttle → tick store → bars on one thread, beside a plain loop",
      module: new URL("../micro/marketWork.ts", import.meta.url),
      params: { symbols: 8, quotes: 1_000_000, timedPasses: 5, depth: 50_000 } satisfies WorkParams,
      runs: 5,
      metrics: [
        { name: "market/velox-throttle-store-bars-mquotes-per-s", key: "veloxMquotesPerSecond", unit: "M quotes/s", target: { op: ">=", value: 10 } },
        { name: "market/plain-loop-throttle-store-bars-mquotes-per-s", key: "plainMquotesPerSecond", unit: "M quotes/s" }
      ],
      details: ["passedShare", "barsClosed"],
      timeoutMs: 180_000
    },
    {
      label: "/ticks latency while the tick server ingests 1 M quotes/s",
      module: new URL("../topology/tickServerLatency.ts", import.meta.url),
      params: { rate: 1_000_000, warmupMs: 2_000, windowMs: 5_000, persist: false, startTimeoutMs: 120_000 } satisfies LatencyParams,
      runs: 3,
      metrics: [
        { name: "market/velox-ticks-latency-p50-ms", key: "p50Ms", unit: "ms" },
        { name: "market/velox-ticks-latency-p99-ms", key: "p99Ms", unit: "ms", target: { op: "<", value: 5 } },
        { name: "market/node-http-ticks-latency-p50-ms", key: "peerP50Ms", unit: "ms" },
        { name: "market/node-http-ticks-latency-p99-ms", key: "peerP99Ms", unit: "ms" },
        { name: "market/velox-ingest-mquotes-per-s", key: "ingestMquotesPerSecond", unit: "M quotes/s", target: { op: ">=", value: 1 } }
      ],
      details: ["maxMs", "peerMaxMs", "requests"],
      timeoutMs: 240_000
    },
    {
      label: "WebSocket fan-out: 100 clients, all symbols, ~100 k ticks/s",
      module: new URL("../topology/tickServerFanout.ts", import.meta.url),
      params: { rate: 225_000, clients: 100, warmupMs: 3_000, windowMs: 5_000, startTimeoutMs: 120_000, budgetMs: 220_000 } satisfies FanoutParams,
      runs: 3,
      metrics: [
        { name: "market/velox-ws-fanout-cpu-percent", key: "cpuPercent", unit: "% core" },
        { name: "market/velox-ws-fanout-sent-mevents-per-s", key: "sentMeventsPerSecond", unit: "M events/s" },
        { name: "market/velox-ws-fanout-dropped-percent", key: "droppedPercent", unit: "%" },
        { name: "market/velox-ws-fanout-ticks-per-s", key: "ticksPerSecond", unit: "ticks/s" }
      ],
      details: ["clientMiBPerSecond"],
      timeoutMs: 240_000
    }
  ],
  ratios: [
    {
      name: "market/ratio-velox-vs-plain-loop",
      numerator: "market/velox-throttle-store-bars-mquotes-per-s",
      denominator: "market/plain-loop-throttle-store-bars-mquotes-per-s",
      // Within 1.5× of the plain loop: at least 1 / 1.5 of its rate.
      target: { op: ">=", value: 0.667 }
    },
    {
      // The /ticks tail beside a bare node:http server's in the same minutes: what velox adds to it.
      name: "market/ratio-velox-vs-node-http-ticks-p99",
      numerator: "market/velox-ticks-latency-p99-ms",
      denominator: "market/node-http-ticks-latency-p99-ms"
    }
  ],
  notes: [
    "Quotes: QuoteGenerator's (seeded random walks, 8 instruments: FX in 5 decimals, equities in cents), 1 M quotes per pass generated untimed, exchange time moved on each pass; the default throttle (0.001 %, 1 s) passes ~44 % of them.",
    "velox (one thread): Throttle's onBatch over batches of 256 Quote records, its passed quotes handed to TickStoreSink's and Bars' onBatch as a fused tee would (a scratch batch); the tick store publishes each symbol's ticks to readers on other threads once per batch (one Atomics.store per symbol), bars keep 1s 1m 5m 1h 1d with their statistics (a tick updates the 1 s bar and the larger bars' volumes; the larger bars are rolled up from the 1 s bar).",
    "plain loop: the same quotes in one loop over typed arrays: the throttle's rule and per-symbol counts, a ring of ten fields per tick per symbol (no publication to other threads), OHLC per symbol and timeframe, rolled up from the smallest bar as velox's builder does (no lateness, gaps or statistics); it does less than velox, never more. Checked: the same quotes passed, the same bars closed (count and sums), the same newest tick per symbol.",
    "/ticks: the shipped velox-tick-server as a child process, --no-persist (a journal sink would take a third core), one request at a time over keep-alive; ingest = quotes its throttle saw per second over the window (the generator's 1 M/s is its target, not a guarantee on two cores). Peer (node-http): a bare node:http server in its own process answering a pre-built /ticks body of the same bytes, timed by the same client (node:http, keep-alive) in turn with velox.",
    "/ws: 100 `ws` clients in this process, all 8 symbols and every timeframe; CPU = the server process's user + system time (all threads) over the window; sent and dropped = the hub's counters; a client's queue holds 10,000 events.",
    "Taken on a shared 2-vCPU machine: figures move with what else runs; read ratios within a run."
  ]
}
