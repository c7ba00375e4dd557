/**
 * The tick server: the Go tick-store backend of seed 002, rebuilt from velox stages — quotes
 * throttled, kept per symbol in shared memory, aggregated into OHLC bars, persisted in durable
 * journals, and served over HTTP and WebSocket on 127.0.0.1:7999.
 *
 *   quote feed ──▶ feed-health ──▶ throttle ──▶ tick-store ──┬──▶ bars ──▶ journal <data>/bars
 *   (generator:    (FeedStatus:    (Throttle-   (TickStore:  └──▶ journal <data>/ticks (500 ticks or 30 s a batch)
 *   N symbols,      /ready 503      Stats)       /ticks, /ws)       (BarStore: /ohlc, /ws)
 *   R quotes/s)     "feed stale")
 *
 *   One thread runs the feed, health, throttle and tick store (and bars, with --no-persist): a chain
 *   fuses into one loop, a tee would start a thread per branch.
 *
 *   velox-tick-server [--port 7999] [--symbols 8] [--rate 1000] [--mqtt URL] [--data tick-server-data] [--no-persist] …
 *
 * HTTP on one port: /health (OK), /ticks?symbol=EURUSD&limit=10 (newest first), /ohlc?symbol=EURUSD&
 * timeframe=1m&limit=100 (oldest first), /ws (subscribe to symbols: ticks and bar closes as JSON), and
 * the operations surface: /metrics, /ready, /stats, /dashboard (its stats stream on /ops/ws). Every
 * 10 s it prints the throttle, store, bar, journal and feed figures; Ctrl-C or SIGTERM drains the
 * pipeline (open bars closed, journals written and fsynced) and prints the ledger and reconciliation.
 * At start it rebuilds the bar store from the persisted ticks. The feed is pluggable (`feeds` below):
 * any pipeline that emits `Quote` records can replace the generator.
 */
import { Console, Deferred, Effect, Layer, Option, Schema, type Scope } from "effect"
import { Command, Flag } from "effect/cli"
import { MetricsText, Pipeline } from "@velox/core"
import {
  BarStats,
  BarStore,
  Bars,
  FeedHealth,
  FeedStatus,
  Quote,
  QuoteGenerator,
  Symbols,
  Throttle,
  ThrottleStats,
  TickStore,
  TickStoreRelay,
  Timeframe
} from "@velox/market"
import { MqttClient, MqttConfig, MqttCredentials, MqttFeed } from "@velox/mqtt"
import { NodeCli, NodeJournal, NodeJournalSink, NodePipelineRuntime, NodePipelineServer, NodeStageHost } from "@velox/node"
import { Discard } from "./discard.ts"
import * as Data from "./tickServerData.ts"
import { routes, type Stores } from "./tickServerHttp.ts"
import * as Hub from "./tickServerWs.ts"

// ── Feeds: where quotes come from. Any pipeline start that emits Quote records fits. ───────────────
interface FeedOptions {
  readonly symbols: number
  readonly rate: number
}

interface Feed {
  /** The names it quotes, registered in the symbol table before it starts. */
  readonly names: ReadonlyArray<string>
  /** Room in the symbol table for names it adds as they come (without --max-symbols). */
  readonly capacity?: number
  /** The start of the pipeline: quotes whose `symbol` is an id of `table`. */
  readonly source: (table: SharedArrayBuffer) => Pipeline.Builder<typeof Quote.Quote.spec>
  /** Plugs a feed from outside into the running pipeline, until the scope closes (then it drains first). */
  readonly attach?: (handle: Pipeline.PipelineHandle, table: SharedArrayBuffer) => Effect.Effect<void, unknown, Scope.Scope>
}

const feeds: Record<"generator", (options: FeedOptions) => Feed> = {
  generator: ({ rate, symbols }) => ({
    names: QuoteGenerator.instrumentNames(symbols),
    source: (table) => Pipeline.from(QuoteGenerator, { symbols: table, instruments: symbols, rate })
  })
}

/** `--mqtt URL`: quotes from a broker (topics `quotes/#`, JSON or binary; VELOX_MQTT_* for the rest), names registered as they come. */
const mqttFeed = (url: string): Feed => {
  const edge = MqttFeed.edge()
  return {
    names: [],
    capacity: 32, // more with --max-symbols (the tick store holds --depth ticks for each)
    source: () => Pipeline.from(edge),
    attach: (handle, table) =>
      Effect.gen(function*() {
        const feed = yield* Layer.build(MqttFeed.layer({ symbols: table }).pipe(
          Layer.provideMerge(MqttClient.layer),
          Layer.provide(MqttConfig.layerConfigWith({ url })),
          Layer.provide(MqttCredentials.layerConfig)
        ))
        yield* MqttFeed.attach(handle, edge).pipe(Effect.provideContext(feed))
      })
  }
}

/** How long the ingest loop lets due quotes gather before a pass (see `Pipeline.run`'s `idle`). */
const PACED_BATCH_NS = 100_000

// ── Options ─────────────────────────────────────────────────────────────────────────────────────
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))

const int = (name: string, schema: Schema.Codec<number, number>, text: string, fallback: number) =>
  Flag.Int(name).pipe(Flag.withSchema(schema), Flag.withDescription(`${text} (default ${fallback})`), Flag.withDefault(fallback))
const finite = (name: string, schema: Schema.Codec<number, number>, text: string, fallback: number) =>
  Flag.Finite(name).pipe(Flag.withSchema(schema), Flag.withDescription(`${text} (default ${fallback})`), Flag.withDefault(fallback))

const flags = {
  port: int("port", Port, "HTTP port on 127.0.0.1 (VELOX_HTTP_HOST binds elsewhere); 0 picks a free one", 7999),
  symbols: int("symbols", PositiveInt, "instruments the generator quotes: EURUSD, AAPL, GBPUSD, MSFT, …", 8),
  rate: finite("rate", Positive, "quotes per second, over all instruments", 1_000),
  feed: Flag.Literals("feed", ["generator"]).pipe(Flag.withDescription("where quotes come from (default generator)"), Flag.withDefault("generator" as const)),
  mqtt: Flag.String("mqtt").pipe(Flag.withDescription("take quotes from this MQTT broker instead (mqtt://HOST:PORT, topics quotes/#)"), Flag.optional),
  maxSymbols: Flag.Int("max-symbols").pipe(
    Flag.withSchema(PositiveInt),
    Flag.withDescription("symbol table capacity: room for names a feed adds later (default: the names known at start)"),
    Flag.optional
  ),
  depth: int("depth", Schema.Int.check(Schema.isBetween({ minimum: 2, maximum: 1 << 29 })), "ticks kept per symbol", TickStore.DEFAULT_DEPTH),
  bars: int("bars", Schema.Int.check(Schema.isBetween({ minimum: 2, maximum: 1 << 24 })), "bars kept per symbol and timeframe", BarStore.DEFAULT_DEPTH),
  timeframes: Flag.String("timeframes").pipe(
    Flag.withDescription(`bar timeframes, comma-separated (default ${Timeframe.DEFAULTS.join(",")})`),
    Flag.withDefault(Timeframe.DEFAULTS.join(","))
  ),
  thresholdPercent: finite("threshold-percent", NonNegative, "the throttle's relative mid move, in %", Throttle.defaults.thresholdPercent),
  maxIntervalMs: finite("max-interval-ms", Positive, "a symbol's quote passes the throttle at least this often (exchange time)", Throttle.defaults.maxIntervalMs),
  lateToleranceMs: finite("late-tolerance-ms", NonNegative, "how late a tick may be and still go into its bar", 0),
  gaps: Flag.Literals("gaps", ["skip", "flat"]).pipe(
    Flag.withDescription("an interval with no tick: no bar, counted (skip), or a flat synthetic bar (flat) (default skip)"),
    Flag.withDefault("skip" as const)
  ),
  feedGapMs: finite("feed-gap-ms", Positive, "no quote for this long makes the feed stale (/ready 503)", FeedStatus.DEFAULT_FEED_GAP_MS),
  data: Flag.String("data").pipe(Flag.withDescription("the data directory: symbols.json and the ticks and bars journals (default tick-server-data)"), Flag.withDefault("tick-server-data")),
  persist: Flag.Boolean("persist").pipe(Flag.withDescription("journal ticks and bars, rebuild bars at start; --no-persist keeps nothing (default on)"), Flag.withDefault(true)),
  retentionMb: finite("retention-mb", Positive, "the ticks journal keeps at most this many MiB", 1_024),
  wsQueue: int("ws-queue", PositiveInt, "events a WebSocket client's queue holds; a slow client's oldest are dropped beyond", Hub.DEFAULT_HUB_OPTIONS.queueEvents),
  statsSeconds: finite("stats-seconds", Positive, "seconds between stats lines", 10),
  duration: Flag.Finite("duration").pipe(Flag.withSchema(Positive), Flag.withDescription("seconds to run, then drain (default: until Ctrl-C or SIGTERM)"), Flag.optional)
}

type Options = Command.Command.Config.Infer<typeof flags>

/** `--timeframes` is not a list of timeframes. */
class TimeframesError extends Schema.TaggedError<TimeframesError>()("TimeframesError", { text: Schema.String }) {
  override get message(): string {
    return `--timeframes ${this.text}: expected timeframes such as 1s,1m,5m,1h,1d (each a whole number of s, m, h or d dividing a day, each a multiple of the smallest)`
  }
}

/** The stores the flags ask for cannot be made (larger than their limit): one line, before anything runs. */
class StoreSizeError extends Schema.TaggedError<StoreSizeError>()("StoreSizeError", { reason: Schema.String }) {
  override get message(): string {
    return `${this.reason} (see --symbols, --max-symbols, --depth, --bars)`
  }
}

const sized = <A>(make: () => A) =>
  Effect.try({ try: make, catch: (e) => new StoreSizeError({ reason: e instanceof Error ? e.message : String(e) }) })

const parseTimeframes = (text: string) => {
  const ms = text.split(",").map((t) => Timeframe.parse(t))
  const known = ms.filter((m): m is number => m !== undefined)
  const smallest = Math.min(...known)
  return known.length === ms.length && known.length >= 1 && known.length <= 8 && new Set(known).size === known.length && known.every((m) => m % smallest === 0)
    ? Effect.succeed(known.sort((a, b) => a - b))
    : Effect.fail(new TimeframesError({ text }))
}

// ── Reports ─────────────────────────────────────────────────────────────────────────────────────
const n = (x: number) => x.toLocaleString("en-US")

interface Tables {
  readonly stores: Stores
  readonly feed: SharedArrayBuffer
  readonly throttle: SharedArrayBuffer
  readonly barStats: SharedArrayBuffer
  readonly ticksJournal: SharedArrayBuffer
  readonly barsJournal: SharedArrayBuffer
  /** Where the journals stood at start: their statistics count from their beginning. */
  readonly journalStart: { readonly ticks: number; readonly bars: number }
}

/** Records this run wrote to each journal, and made durable. */
const journaled = (t: Tables) => {
  const ticks = NodeJournal.readStats(t.ticksJournal)
  const bars = NodeJournal.readStats(t.barsJournal)
  // Before its sink opens a journal, the statistics are all 0.
  const since = (x: number, start: number) => Math.max(0, x - start)
  return {
    ticks: { written: since(ticks.written, t.journalStart.ticks), durable: since(ticks.durable, t.journalStart.ticks), lag: ticks.lagRecords },
    bars: { written: since(bars.written, t.journalStart.bars), durable: since(bars.durable, t.journalStart.bars), lag: bars.lagRecords }
  }
}

const statsLines = (t: Tables, hub: Hub.Hub, persist: boolean): Array<string> => {
  const throttle = ThrottleStats.read(t.throttle)
  const store = TickStore.stats(t.stores.ticks)
  const size = TickStore.describe(t.stores.ticks)
  const bars = BarStats.read(t.barStats)
  const feed = FeedStatus.read(t.feed)
  const ws = hub.stats()
  const lines = [
    `Stats: received=${throttle.received}, stored=${throttle.passed}, throttled=${throttle.throttled} (${throttle.throttledPercent.toFixed(1)}%)`,
    `Store: ${n(store.held)} ticks held of ${n(size.symbols * size.depth)} (${n(Symbols.count(t.stores.symbols))} symbols × ${n(size.depth)}), ` +
      `${n(store.written)} stored; bars closed ${bars.timeframes.map((b) => `${Timeframe.format(b.timeframeMs)}=${n(b.closed + b.partial)}`).join(" ")}, ` +
      `late ${n(bars.late)}, gaps ${n(bars.timeframes.reduce((g, b) => g + b.gaps, 0))}, synthetic ${n(bars.timeframes.reduce((g, b) => g + b.synthetic, 0))}`
  ]
  if (persist) {
    const j = journaled(t)
    lines.push(
      `Flushed: ${n(j.ticks.written)} ticks to disk (${n(j.ticks.durable)} durable, lag ${n(j.ticks.lag)}), ${n(j.bars.written)} bars (${n(j.bars.durable)} durable)`
    )
  }
  lines.push(
    `Feed: ${feed.stale ? `STALE (${feed.reason})` : "live"}, last quote ${feed.lastQuoteAgoMs === undefined ? "never" : `${n(Math.round(feed.lastQuoteAgoMs))} ms ago`}, ` +
      `${feed.staleSymbols.length} stale symbols, ${n(feed.feedGaps)} feed gaps; ws: ${ws.clients} clients, ${n(ws.sent)} events sent, ${n(ws.dropped)} dropped`
  )
  return lines
}

/** Prometheus text for what the ops surface does not know: the throttle, the stores, bars, feed, WebSocket. */
const metricsText = (t: Tables, hub: Hub.Hub): string => {
  const families: Array<MetricsText.MetricFamily> = []
  const family = (name: string, type: "counter" | "gauge", help: string, series: ReadonlyArray<readonly [Record<string, string>, number]>) => {
    families.push({ name, type, help, series: series.map(([labels, value]) => ({ labels, value })) })
  }
  const throttle = ThrottleStats.read(t.throttle)
  const bars = BarStats.read(t.barStats)
  const feed = FeedStatus.read(t.feed)
  const ws = hub.stats()
  family("velox_tick_quotes_received_total", "counter", "quotes the throttle saw", [[{}, throttle.received]])
  family("velox_tick_quotes_stored_total", "counter", "quotes the throttle passed to the store", [[{}, throttle.passed]])
  family("velox_tick_quotes_throttled_total", "counter", "quotes the throttle dropped", [[{}, throttle.throttled]])
  family("velox_tick_store_ticks_held", "gauge", "ticks held in the tick store", [[{}, TickStore.stats(t.stores.ticks).held]])
  family("velox_tick_bars_closed_total", "counter", "bars closed, by timeframe", bars.timeframes.map((b) => [{ timeframe: Timeframe.format(b.timeframeMs) }, b.closed + b.partial]))
  family("velox_tick_bars_late_ticks_total", "counter", "ticks too late for their bar", [[{}, bars.late]])
  family("velox_tick_feed_stale", "gauge", "1 when no quote came for the feed gap", [[{}, feed.stale ? 1 : 0]])
  family("velox_tick_feed_last_quote_age_seconds", "gauge", "since the last quote", [[{}, (feed.lastQuoteAgoMs ?? Infinity) / 1000]])
  family("velox_tick_feed_gaps_total", "counter", "times the feed went stale", [[{}, feed.feedGaps]])
  family("velox_tick_feed_stale_symbols", "gauge", "symbols silent past their gap", [[{}, feed.staleSymbols.length]])
  family("velox_tick_ws_clients", "gauge", "WebSocket clients", [[{}, ws.clients]])
  family("velox_tick_ws_events_sent_total", "counter", "events sent to WebSocket clients", [[{}, ws.sent]])
  family("velox_tick_ws_events_dropped_total", "counter", "events dropped for slow WebSocket clients", [[{}, ws.dropped]])
  return MetricsText.format(families)
}

// ── The program ─────────────────────────────────────────────────────────────────────────────────
interface Running {
  readonly handle: Pipeline.PipelineHandle
  readonly tables: Tables
  readonly hub: Hub.Hub
}

const serve = (options: Options, running: Deferred.Deferred<Running>) =>
  Effect.gen(function*() {
    const timeframesMs = yield* parseTimeframes(options.timeframes)
    const feed = Option.isSome(options.mqtt) ? mqttFeed(options.mqtt.value) : feeds[options.feed]({ symbols: options.symbols, rate: options.rate })
    const dirs = Data.paths(options.data)
    // The persisted names first, in their order: the journals' ids keep their meaning.
    const persisted = options.persist ? yield* Data.loadNames(options.data) : []
    const names = [...new Set([...persisted, ...feed.names])]
    const capacity = Math.max(names.length, Option.getOrElse(options.maxSymbols, () => feed.capacity ?? 0))
    const symbols = Symbols.make(capacity, names)
    if (options.persist) yield* Data.saveNames(options.data, Symbols.names(symbols))

    const ticks = yield* sized(() => TickStore.make({ symbols: capacity, depth: options.depth }))
    const bars = yield* sized(() => BarStore.make({ symbols: capacity, timeframesMs, depth: options.bars }))
    const tables: Tables = {
      stores: { symbols, ticks, bars },
      feed: FeedStatus.make({ symbols: capacity, feedGapMs: options.feedGapMs }),
      throttle: ThrottleStats.make(capacity),
      barStats: BarStats.make(capacity, timeframesMs),
      ticksJournal: NodeJournal.makeStats(),
      barsJournal: NodeJournal.makeStats(),
      journalStart: options.persist
        ? { ticks: yield* Data.journalEnd(dirs.ticks), bars: yield* Data.journalEnd(dirs.bars) }
        : { ticks: 0, bars: 0 }
    }
    yield* Console.log(`tick store: ${TickStore.format(TickStore.describe(ticks))}`)
    yield* Console.log(`bar store: ${BarStore.format(BarStore.describe(bars))}`)

    const barsConfig = {
      symbols: capacity,
      timeframesMs,
      lateToleranceMs: options.lateToleranceMs,
      gaps: options.gaps,
      store: bars,
      stats: tables.barStats
    }
    if (options.persist) {
      const rebuilt = yield* Data.rebuild(dirs.ticks, barsConfig, FeedStatus.wallClockNs())
      yield* Console.log(Option.match(rebuilt, {
        onNone: () => `bars: no persisted ticks in ${dirs.ticks}, nothing to rebuild`,
        onSome: (r) => `bars: rebuilt ${n(r.bars)} bars from ${n(r.ticks)} persisted ticks in ${r.ms.toFixed(0)} ms`
      }))
    }

    // Feed → health → throttle → tick store as one chain: consecutive stages fuse into one loop (one
    // thread), where a tee starts a loop per branch. With --no-persist bars join it, and the whole ingest
    // is one thread, which leaves a core to the HTTP answers on a two-core machine (README).
    const stored = feed.source(symbols)
      .via(FeedHealth, { status: tables.feed })
      .via(Throttle, { symbols: capacity, thresholdPercent: options.thresholdPercent, maxIntervalMs: options.maxIntervalMs, stats: tables.throttle })
      .via(TickStoreRelay, { store: ticks })
    const pipeline = options.persist
      ? stored.broadcast((b) => [
        b.via(Bars, barsConfig).to(NodeJournalSink.sink, { directory: dirs.bars, timeField: "startNs", stats: tables.barsJournal }),
        b.to(NodeJournalSink.sink, {
          directory: dirs.ticks,
          timeField: "exchangeTsNs",
          retentionBytes: options.retentionMb * 2 ** 20,
          stats: tables.ticksJournal
        })
      ])
      : stored.via(Bars, barsConfig).to(Discard, {})

    // The hub and the server before the pipeline, so that they outlive its drain (/ready: 503 "draining").
    const hub = yield* Hub.make(tables.stores, { ...Hub.DEFAULT_HUB_OPTIONS, queueEvents: options.wsQueue })
    const server = yield* NodePipelineServer.make(undefined, {
      routes: [...routes(tables.stores), hub.route],
      readiness: [() => {
        const f = FeedStatus.read(tables.feed)
        return f.stale ? `feed stale: ${f.reason}` : undefined
      }],
      metrics: () => metricsText(tables, hub),
      stats: () => ({
        tickServer: {
          throttle: ThrottleStats.read(tables.throttle),
          store: TickStore.stats(ticks),
          bars: BarStats.read(tables.barStats),
          feed: FeedStatus.read(tables.feed),
          ws: hub.stats(),
          ...(options.persist ? { journals: journaled(tables) } : {})
        }
      }),
      statsPath: "/ops/ws"
    }).pipe(Effect.provide(NodePipelineServer.layerConfig({ port: options.port })))
    // The generator's loop takes ~100 µs of quotes a pass and parks between (at 1 M/s a quote is due
    // every µs: polled whenever one is due, the loop never parked and took most of a core for the
    // fixed cost of its passes). A tick is stored up to 100 µs after its time.
    const handle = yield* Pipeline.run(pipeline, { report: true, idle: { pacedBatchNs: PACED_BATCH_NS } })
    yield* Deferred.succeed(running, { handle, tables, hub })
    if (feed.attach !== undefined) yield* feed.attach(handle, symbols)
    yield* server.attach(handle)
    yield* Console.log(`tick server on ${server.url}: /health /ticks?symbol=EURUSD&limit=10 /ohlc?symbol=EURUSD&timeframe=1m&limit=100 /ws; ops: /dashboard /metrics /ready /stats`)

    const stats = Effect.suspend(() => Console.log(statsLines(tables, hub, options.persist).join("\n")))
    yield* Effect.raceFirst(
      handle.done,
      Effect.raceFirst(
        Option.match(options.duration, { onNone: () => Effect.never, onSome: (s) => Effect.sleep(s * 1000) }),
        stats.pipe(Effect.delay(options.statsSeconds * 1000), Effect.forever)
      )
    )
    yield* Console.log("draining…")
  }).pipe(Effect.scoped)

const tickServer = (options: Options) =>
  Effect.gen(function*() {
    const running = yield* Deferred.make<Running>()
    // After the drain, also after Ctrl-C: the ledger, the last stats, the reconciliation.
    yield* Effect.onExit(serve(options, running), () =>
      Deferred.poll(running).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (r) => Effect.flatMap(r, (x) => report(x, options)) }))
      ))
  })

/** After the drain: the last stats and the reconciliation; a run that stored nothing fails. */
const report = ({ handle, hub, tables }: Running, options: Options) =>
  Effect.gen(function*() {
    const drained = yield* handle.drainReport
    const stages = drained.ledger.stages
    const stage = (name: string) => stages.filter((s) => s.stage === name)
    const [source] = stage(stages[0]!.stage)
    const [health] = stage("feed-health")
    const [throttle] = stage("throttle")
    const [store] = stage("tick-store")
    const [barsStage] = stage("bars")
    const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0)
    const checks: Array<[string, number, number]> = [
      ["quotes from the feed = quotes watched for health", source!.emitted, health!.in],
      ["quotes watched = passed + throttled + refused", health!.emitted, throttle!.emitted + sum(throttle!.dropped) + sum(throttle!.deadLettered)],
      ["quotes passed = ticks stored", throttle!.emitted, store!.emitted],
      ["quotes passed = ticks applied to bars + late + refused", throttle!.emitted, barsStage!.emitted + sum(barsStage!.dropped) + sum(barsStage!.deadLettered)]
    ]
    if (options.persist) {
      const j = journaled(tables)
      checks.push(["ticks stored = ticks journaled (and fsynced)", store!.emitted, j.ticks.durable])
      checks.push(["bars closed = bars journaled (and fsynced)", barsStage!.written, j.bars.durable])
    }
    const lines = checks.map(([what, a, b]) => `  ${a === b ? "ok " : "NO "} ${what}: ${n(a)} = ${n(b)}`)
    const failed = checks.filter(([, a, b]) => a !== b).map(([what, a, b]) => `${what}: ${a} ≠ ${b}`)
    const worked = throttle!.emitted > 0
    lines.push(`  ${worked ? "ok " : "NO "} ticks stored: ${n(throttle!.emitted)}`)
    if (!worked) failed.push("no tick was stored")
    const unfinished = stages.filter((s) => s.state !== "Done")
    const states = unfinished.map((s) => `${s.stage} ${s.state} after ${s.restarts} restart(s)`).join(", ")
    lines.push(`  ${unfinished.length === 0 ? "ok " : "NO "} every stage ran to the end${unfinished.length === 0 ? "" : `: ${states}`}`)
    if (unfinished.length > 0) failed.push(`stages did not run to the end: ${states}`)
    if (options.persist) yield* Data.saveNames(options.data, Symbols.names(tables.stores.symbols))
    // The ledger was printed by the run (report: true); then the last figures and the reconciliation.
    yield* Console.log([...statsLines(tables, hub, options.persist), "reconciliation:", ...lines].join("\n"))
    if (failed.length > 0) return yield* NodePipelineRuntime.failCheck(failed.join("; "))
  })

const command = Command.make("velox-tick-server", flags, tickServer).pipe(
  Command.withDescription(
    "The tick server: quotes → throttle → tick store, OHLC bars, durable journals; /health /ticks /ohlc /ws and the ops surface on " +
      "127.0.0.1:7999. Drains on Ctrl-C or SIGTERM."
  )
)

// The stage threads run at nice 10: on a machine with fewer cores than busy threads, the main thread
// (the HTTP answers: /ticks, /ohlc, /ws, the ops surface) runs first when it has work.
NodeCli.run(command, { version: "0.1.0", layer: NodeStageHost.layerWith({ threadNice: 10 }) })
