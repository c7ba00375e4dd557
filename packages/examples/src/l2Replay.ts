/**
 * The L2 replay: seed 003's market-data system (10,000 symbols, > 35,000 records/s, "no data gaps > 1
 * second", historical replay, a monitoring dashboard), rebuilt from velox stages and reconciled to
 * the last update.
 *
 *   generate (once):   l2-feed ══▶ journal-sink ──▶ <journal>/*.segment  (+ l2-feed.json: how it was made)
 *                      Zipf over --symbols, ~50 levels a side, bursts, sequence gaps and snapshots
 *
 *   replay:            journal-replay ─▶ replay-clock ═╦═▶ l2-book #0 ═╗
 *                      (--speed ×, or    (exchange time ╠═▶ l2-book #1 ═╬═▶ l2-monitor
 *                      as fast as it      on the         ╚═▶ …  (--workers, by symbol)
 *                      goes)              pipeline clock)       status table    latency, tops, silences
 *
 *   velox-l2-replay [--journal l2-replay.journal] [--symbols 10000] [--messages 2000000] [--rate 35000]
 *                   [--gap-probability 0.00002] [--invalid-fraction 0.000002] [--seed 1] [--regenerate]
 *                   [--speed X] [--workers 2] [--port 9464] [--stats-seconds 2] [--duration S]
 *
 * The first run writes the journal (a later one replays it again; `--regenerate` writes a new one).
 * While it replays, the ops server on 127.0.0.1 serves `/l2` (the replay's live page: records/s,
 * latency p50/p99 from exchange time to top of book out, stale and resyncing symbols, gaps over 1 s,
 * the most active symbols, the symbols with the most sync events), `/l2.json`, `/depth?symbol=42&levels=10`
 * (a book's top levels, asked of the running books without stopping them), and the ops surface
 * (`/dashboard`, `/metrics`, `/stats`, `/ready`); a stats line is printed every `--stats-seconds`. At the
 * end of the journal (or of `--duration`, or on Ctrl-C / SIGTERM) it drains and prints the ledger and
 * the reconciliation: updates read = applied + dropped as stale or duplicate + refused, by reason. Exit
 * code 0: every line reconciled, and updates were applied.
 */
import { Console, Deferred, Effect, FileSystem, Option, Ref, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { Pipeline } from "@velox/core"
import { L2BookStage, L2Depth, L2Feed, L2Status, L2Update, OutputLatency } from "@velox/market"
import { NodeCli, NodeJournal, NodeJournalSink, NodeJournalSource, NodePipelineRuntime, NodePipelineServer } from "@velox/node"
import * as Monitor from "./l2ReplayMonitor.ts"
import * as View from "./l2ReplayView.ts"

// ── Options ─────────────────────────────────────────────────────────────────────────────────────
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))

const int = (name: string, schema: Schema.Codec<number, number>, text: string, fallback: number) =>
  Flag.Int(name).pipe(Flag.withSchema(schema), Flag.withDescription(`${text} (default ${fallback})`), Flag.withDefault(fallback))
const finite = (name: string, schema: Schema.Codec<number, number>, text: string, fallback: number) =>
  Flag.Finite(name).pipe(Flag.withSchema(schema), Flag.withDescription(`${text} (default ${fallback})`), Flag.withDefault(fallback))

const flags = {
  journal: Flag.String("journal").pipe(
    Flag.withDescription("the journal's directory: generated there if it holds none (default l2-replay.journal)"),
    Flag.withDefault("l2-replay.journal")
  ),
  symbols: int("symbols", Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1 << 20 })), "symbols of the generated feed", 10_000),
  messages: int("messages", PositiveInt, "messages to generate", 2_000_000),
  rate: finite("rate", Positive, "messages per second of the generated feed's exchange time (in bursts)", 35_000),
  gapProbability: finite("gap-probability", Probability, "chance a generated update is lost (a sequence gap, then a recovery snapshot)", 2e-5),
  invalidFraction: finite("invalid-fraction", Probability, "chance of an extra invalid record per message (refused by the books)", 2e-6),
  seed: int("seed", Schema.Int, "the generator's seed", 1),
  regenerate: Flag.Boolean("regenerate").pipe(Flag.withDescription("write a new journal even if one is there"), Flag.withDefault(false)),
  speed: Flag.Finite("speed").pipe(
    Flag.withSchema(Positive),
    Flag.withDescription("replay at the original pace times this (1: as recorded); default: as fast as it goes"),
    Flag.optional
  ),
  workers: int("workers", Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 })), "book stage instances, each in its own thread, partitioned by symbol", 2),
  port: int("port", Port, "the ops server's port on 127.0.0.1 (/l2, /dashboard, /metrics); 0 picks a free one", 9464),
  statsSeconds: finite("stats-seconds", Positive, "seconds between stats lines", 2),
  duration: Flag.Finite("duration").pipe(Flag.withSchema(Positive), Flag.withDescription("seconds to replay, then drain (default: to the end of the journal)"), Flag.optional)
}

type Options = Command.Command.Config.Infer<typeof flags>

/** What the generator was asked for, kept beside the journal's segments. */
const FeedFile = Schema.Struct({
  symbols: Schema.Int,
  messages: Schema.Int,
  rate: Schema.Finite,
  gapProbability: Schema.Finite,
  invalidFraction: Schema.Finite,
  seed: Schema.Int
})
type FeedFile = typeof FeedFile.Type
const FEED_FILE = "l2-feed.json"

/** `--journal` holds something this program did not write: it will not delete it. */
class JournalDirectoryError extends Schema.TaggedError<JournalDirectoryError>()("JournalDirectoryError", { path: Schema.String }) {
  override get message(): string {
    return `--journal ${this.path}: the directory holds files but no ${FEED_FILE}, so not a journal this program wrote; choose another directory`
  }
}

const n = (x: number) => Math.round(x).toLocaleString("en-US")
const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0)
const byReason = (counts: Readonly<Record<string, number>>) =>
  Object.keys(counts).length === 0 ? "none" : Object.entries(counts).map(([k, v]) => `${k} ${n(v)}`).join(", ")

// ── Generate ────────────────────────────────────────────────────────────────────────────────────
/** The journal's feed parameters, when it holds records this program wrote (or any L2 journal). */
const existing = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (!(yield* fs.exists(directory))) return Option.none<{ records: number; feed: FeedFile | undefined }>()
    const info = yield* NodeJournal.info(directory).pipe(Effect.option)
    const feedPath = `${directory}/${FEED_FILE}`
    const feed = (yield* fs.exists(feedPath))
      ? yield* fs.readFileString(feedPath).pipe(Effect.flatMap(Schema.decodeUnknownEffect(Schema.fromJsonString(FeedFile))), Effect.option)
      : Option.none()
    const entries = yield* fs.readDirectory(directory)
    if (Option.isNone(feed) && entries.length > 0 && (Option.isNone(info) || info.value.records === 0)) {
      return yield* new JournalDirectoryError({ path: directory })
    }
    return Option.isSome(info) && info.value.records > 0
      ? Option.some({ records: info.value.records, feed: Option.getOrUndefined(feed) })
      : Option.none()
  })

const generate = (options: Options) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = options.journal
    if (yield* fs.exists(dir)) {
      const hasFeed = yield* fs.exists(`${dir}/${FEED_FILE}`)
      if (!hasFeed && (yield* fs.readDirectory(dir)).length > 0) return yield* new JournalDirectoryError({ path: dir })
      yield* fs.remove(dir, { recursive: true })
    }
    const feed: FeedFile = {
      symbols: options.symbols,
      messages: options.messages,
      rate: options.rate,
      gapProbability: options.gapProbability,
      invalidFraction: options.invalidFraction,
      seed: options.seed
    }
    const stats = NodeJournal.makeStats()
    const pipeline = Pipeline.from(L2Feed, {
      symbols: feed.symbols,
      seed: feed.seed,
      rate: feed.rate,
      gapProbability: feed.gapProbability,
      invalidFraction: feed.invalidFraction,
      count: feed.messages,
      unthrottled: true
    }).to(
      NodeJournalSink.sink,
      { directory: dir, timeField: "exchangeTsNs", fsync: "drain", batchRecords: 4096, stats },
      { placement: "worker" }
    )
    yield* Console.log(
      `generating ${n(feed.messages)} L2 messages over ${n(feed.symbols)} symbols into ${dir} ` +
        `(${n(feed.rate)}/s of exchange time, seed ${feed.seed}, gaps ${feed.gapProbability}, invalid ${feed.invalidFraction})`
    )
    const started = performance.now()
    const line = Effect.sync(() => {
      const s = NodeJournal.readStats(stats)
      return `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  generated ${n(s.appended)}/${n(feed.messages)}  written ${n(s.written)}`
    })
    yield* Effect.gen(function*() {
      const handle = yield* Pipeline.run(pipeline)
      yield* Effect.raceFirst(handle.done, line.pipe(Effect.flatMap(Console.log), Effect.delay("1 second"), Effect.forever))
    }).pipe(Effect.scoped)
    const written = NodeJournal.readStats(stats).durable
    yield* fs.writeFileString(`${dir}/${FEED_FILE}`, JSON.stringify(feed, null, 2) + "\n")
    yield* Console.log(`generated: ${n(written)} messages in ${((performance.now() - started) / 1000).toFixed(1)} s (journal fsynced)`)
    return { records: written, feed }
  })

// ── Replay ──────────────────────────────────────────────────────────────────────────────────────
interface Running {
  readonly handle: Pipeline.PipelineHandle
  readonly view: View.View
  readonly journalRecords: number
  /** The replay reached the end of the journal (not a signal, not `--duration`). */
  readonly completed: Ref.Ref<boolean>
}

const replay = (options: Options, symbols: number, journalRecords: number, running: Deferred.Deferred<Running>) =>
  Effect.gen(function*() {
    const speed = Option.getOrUndefined(options.speed)
    const tables: View.Tables = {
      status: L2Status.make(symbols),
      monitor: Monitor.make(symbols),
      latency: OutputLatency.make(),
      progress: NodeJournalSource.makeProgress(),
      depth: L2Depth.make({ instances: options.workers, levels: 50 })
    }
    OutputLatency.startRecording(tables.latency)
    const pipeline = Pipeline.from(NodeJournalSource.make(L2Update.L2Update), {
      directory: options.journal,
      progress: tables.progress,
      ...(speed === undefined ? {} : { speed })
    })
      .via(Monitor.ReplayClock, { monitor: tables.monitor, ...(speed === undefined ? {} : { speed }) })
      .partition(L2BookStage, { symbols, status: tables.status, depthMailbox: tables.depth }, { by: "symbol", count: options.workers })
      .to(Monitor.L2Monitor, { monitor: tables.monitor, latency: tables.latency })

    const view = View.make(tables, { journalRecords, speed })
    // The server before the pipeline, so that it outlives the drain (/ready: 503 "draining").
    const server = yield* NodePipelineServer.make(undefined, View.extension(view, tables.depth)).pipe(
      Effect.provide(NodePipelineServer.layerConfig({ port: options.port }))
    )
    const handle = yield* Pipeline.run(pipeline, { report: true })
    const completed = yield* Ref.make(false)
    yield* Deferred.succeed(running, { handle, view, journalRecords, completed })
    yield* server.attach(handle)
    yield* Console.log(
      `replaying ${n(journalRecords)} L2 updates from ${options.journal} ` +
        `(${speed === undefined ? "as fast as they go" : `${speed}× the original pace`}) through ${options.workers} book thread(s)`
    )
    yield* Console.log(`l2 replay on ${server.url}: /l2 (the replay's view) /l2.json /depth?symbol=0 /dashboard /metrics /stats /ready`)

    const stats = Effect.sync(() => {
      view.sample()
      return View.line(view.snapshot())
    }).pipe(Effect.flatMap(Console.log), Effect.delay(`${options.statsSeconds * 1000} millis`), Effect.forever)
    const end = handle.done.pipe(Effect.andThen(Ref.set(completed, true)))
    const limit = Option.match(options.duration, { onNone: () => Effect.never, onSome: (s) => Effect.sleep(`${s * 1000} millis`) })
    yield* Effect.raceFirst(end, Effect.raceFirst(limit, stats))
    yield* Console.log("draining…")
  }).pipe(Effect.scoped)

/** After the drain, also after Ctrl-C: the final figures and the reconciliation; a run that applied nothing fails. */
const report = ({ completed, handle, journalRecords, view }: Running) =>
  Effect.gen(function*() {
    const drained = yield* handle.drainReport
    const stages = drained.ledger.stages
    const source = stages.find((s) => s.stage === "journal-replay")!
    const clock = stages.find((s) => s.stage === "replay-clock")!
    const monitor = stages.find((s) => s.stage === "l2-monitor")!
    const books = stages.filter((s) => s.stage.startsWith("l2-book"))
    const total = (f: (s: (typeof books)[number]) => number) => books.reduce((a, s) => a + f(s), 0)
    const merge = (f: (s: (typeof books)[number]) => Readonly<Record<string, number>>) => {
      const out: Record<string, number> = {}
      for (const s of books) for (const [k, v] of Object.entries(f(s))) out[k] = (out[k] ?? 0) + v
      return out
    }
    const booksIn = total((s) => s.in)
    const applied = total((s) => s.emitted)
    const dropped = merge((s) => s.dropped)
    const refused = merge((s) => s.deadLettered)
    const tops = total((s) => s.written)
    const checks: Array<[string, number, number]> = [
      ["updates replayed = updates through the replay clock", source.emitted, clock.emitted],
      [`updates through the replay clock = updates into the ${books.length} book thread(s)`, clock.emitted, booksIn],
      ["updates read by the books = applied + dropped + refused", booksIn, applied + sum(dropped) + sum(refused)],
      ["tops of book published = tops monitored", tops, monitor.in]
    ]
    const reachedEnd = yield* Ref.get(completed)
    if (reachedEnd) checks.unshift(["journal records = updates replayed", journalRecords, source.emitted])
    const lines = checks.map(([what, a, b]) => `  ${a === b ? "ok " : "NO "} ${what}: ${n(a)} = ${n(b)}`)
    const failed = checks.filter(([, a, b]) => a !== b).map(([what, a, b]) => `${what}: ${a} ≠ ${b}`)
    if (!reachedEnd) lines.unshift(`  --  stopped before the end of the journal: ${n(source.emitted)} of ${n(journalRecords)} records replayed`)
    lines.push(
      `       applied ${n(applied)}; dropped ${sum(dropped) === 0 ? "none" : byReason(dropped)}; refused ${byReason(refused)}`
    )
    const worked = applied > 0
    lines.push(`  ${worked ? "ok " : "NO "} updates applied: ${n(applied)}`)
    if (!worked) failed.push("no update was applied")
    const unfinished = stages.filter((s) => s.state !== "Done")
    const states = unfinished.map((s) => `${s.stage} ${s.state} after ${s.restarts} restart(s)`).join(", ")
    lines.push(`  ${unfinished.length === 0 ? "ok " : "NO "} every stage ran to the end${unfinished.length === 0 ? "" : `: ${states}`}`)
    if (unfinished.length > 0) failed.push(`stages did not run to the end: ${states}`)

    view.sample()
    const s = view.snapshot()
    const us = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} µs` : "–")
    yield* Console.log([
      `books: live ${n(s.books.live)}, stale ${n(s.books.stale)}, resyncing ${n(s.books.resyncing)}, waiting ${n(s.books.waiting)}; ` +
      `sequence gaps ${n(s.books.gaps)} (${n(s.books.missing)} updates missed), stale spells ${n(s.books.staleEvents)}, ` +
      `resyncs ${n(s.books.resyncs)}, crossed ${n(s.books.crossedEvents)} times, locked ${n(s.books.lockedEvents)} times`,
      `latency, exchange time to top of book out (${n(s.total.latency.samples)} tops): p50 ${us(s.total.latency.p50Us)}, ` +
      `p99 ${us(s.total.latency.p99Us)}, mean ${us(s.total.latency.meanUs)}, max ${us(s.total.latency.maxUs)}`,
      `silences over 1 s: feed (exchange time) ${n(s.gaps.feedOver1s)}, output (tops out) ${n(s.gaps.outputOver1s)}`,
      `most active: ${s.mostActive.slice(0, 5).map((a) => `${a.symbol} (${n(a.updates)})`).join(", ")}`,
      "reconciliation:",
      ...lines
    ].join("\n"))
    if (failed.length > 0) return yield* NodePipelineRuntime.failCheck(failed.join("; "))
  })

const l2Replay = (options: Options) =>
  Effect.gen(function*() {
    const found = options.regenerate ? Option.none() : yield* existing(options.journal)
    const journal = Option.isSome(found)
      ? found.value
      : yield* generate(options)
    if (Option.isSome(found)) {
      yield* Console.log(
        `journal ${options.journal}: ${n(journal.records)} L2 updates` +
          (journal.feed === undefined ? "" : ` over ${n(journal.feed.symbols)} symbols (seed ${journal.feed.seed})`) +
          "; --regenerate writes a new one"
      )
    }
    const symbols = journal.feed?.symbols ?? options.symbols
    const running = yield* Deferred.make<Running>()
    yield* Effect.onExit(replay(options, symbols, journal.records, running), () =>
      Deferred.poll(running).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (r) => Effect.flatMap(r, report) }))
      ))
  })

const command = Command.make("velox-l2-replay", flags, l2Replay).pipe(
  Command.withDescription(
    "The L2 replay: a synthetic 10,000-symbol L2 feed written to a journal, replayed (at a speed factor, or as fast as it " +
      "goes) through books partitioned by symbol into best bid/offer, watched on /l2 and /dashboard, drained on Ctrl-C and " +
      "reconciled to the last update. Exit code 0: every line reconciled."
  )
)

NodeCli.run(command, { version: "0.1.0" })
