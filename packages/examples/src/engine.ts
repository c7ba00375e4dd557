/**
 * The transaction engine: the "Velox Engine" of the Rust original, as four velox stages.
 *
 *   ingress ──▶ order-book ──▶ bundler ──▶ output ──▶ (file-sink)
 *   Poisson      exact price    16 updates   counts,     NDJSON file or
 *   order flow   levels, best   or 100 µs    checksums   stdout, with
 *   (100k/s)     bid/ask        per bundle               --output
 *
 * Fused (default): all stages in one worker thread. `--placement workers`: one thread each.
 *
 *   velox-engine [--duration 10] [--rate 100000] [--symbols 8] [--placement fused|workers]
 *                [--bundle-size 16] [--bundle-timeout-us 100] [--output FILE|-] [--journal DIR] [--http PORT]
 *                [--config engine.json]                  (or: npm start -- …; --help lists them)
 *   velox-engine --replay DIR [--replay-speed X] [--output FILE|-]   (a journal's bundles through the output)
 *
 * Every option is also read from a JSON config file ({ "VELOX": { "ENGINE": { "RATE": 200000 } } })
 * or the environment (VELOX_ENGINE_DURATION, VELOX_ENGINE_RATE, …); flags win over the file, the file
 * over the environment. A key the file does not know is an error. Ctrl-C (or SIGTERM, or the end of
 * the duration) drains: every transaction ends in a bundle or is dead-lettered, and the final table
 * proves it. Exit code 0 means it all reconciled, and the engine did work. `--output -` writes the
 * NDJSON bundles to stdout and everything else to stderr: `velox-engine --output - | jq`. `--journal
 * DIR` also writes them to a durable journal, and `--replay DIR` feeds such a journal back through the
 * output. Copy this file to start your own pipeline.
 */
import { Config, Console, Deferred, Effect, FileSystem, Layer, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { JournalDescriptor, Ledger, NanoClock, Pipeline, PipelineConfig, type PipelineSnapshot } from "@velox/core"
import { Bundle, Bundler, Ingress, OrderBookStage, Output, OutputRelay, OutputTotals } from "@velox/market"
import {
  NodeCli,
  NodeFileSink,
  NodeJournal,
  NodeJournalSink,
  NodeJournalSource,
  NodePipelineRuntime,
  NodePipelineServer
} from "@velox/node"
import { Console as NodeConsole } from "node:console"
import { resolve } from "node:path"

// ── Options: flags over a config file over the environment, each validated by one Schema ─────────
/** The option keys under VELOX.ENGINE: in the environment VELOX_ENGINE_<KEY>, in a file { VELOX: { ENGINE: { <KEY> } } }. */
const KEY = {
  duration: "DURATION",
  rate: "RATE",
  symbols: "SYMBOLS",
  placement: "PLACEMENT",
  bundleSize: "BUNDLE_SIZE",
  bundleTimeoutUs: "BUNDLE_TIMEOUT_US",
  output: "OUTPUT",
  journal: "JOURNAL",
  replay: "REPLAY",
  replaySpeed: "REPLAY_SPEED",
  http: "HTTP"
} as const

const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))
const Placements = ["fused", "workers"] as const

/** Falls back to VELOX.ENGINE.<key>, from the config file, then the environment. */
const fromFileOrEnv = <B>(key: string, config: (name: string) => Config.Config<B>) =>
  Flag.withFallbackConfig(config(key).pipe(Config.nested("ENGINE"), Config.nested("VELOX")))

const about = (text: string, key: string) => <A>(self: Flag.Flag<A>) => Flag.withDescription(self, `${text} [VELOX_ENGINE_${key}]`)

/** A number flag validated by `schema`, falling back to VELOX.ENGINE.<key>, then to `fallback` (said in `text`). */
const numeric = (flag: Flag.Flag<number>, schema: Schema.Codec<number, number>, key: string, text: string, fallback: number) =>
  flag.pipe(
    Flag.withSchema(schema),
    about(`${text} (default ${fallback})`, key),
    fromFileOrEnv(key, (k) => Config.schema(schema, k)),
    Flag.withDefault(fallback)
  )

const flags = {
  duration: numeric(Flag.Finite("duration"), Positive, KEY.duration, "seconds to run, then drain", 10),
  rate: numeric(Flag.Finite("rate"), Positive, KEY.rate, "transactions per second", 100_000),
  symbols: numeric(Flag.Int("symbols"), PositiveInt, KEY.symbols, "symbols traded", 8),
  placement: Flag.Literals("placement", Placements).pipe(
    about("fused: one thread for all four stages; workers: a thread each (default fused)", KEY.placement),
    fromFileOrEnv(KEY.placement, (k) => Config.Literals(Placements, k)),
    Flag.withDefault("fused" as const)
  ),
  bundleSize: numeric(Flag.Int("bundle-size"), PositiveInt, KEY.bundleSize, "book updates per bundle", 16),
  bundleTimeoutUs: numeric(Flag.Finite("bundle-timeout-us"), Positive, KEY.bundleTimeoutUs, "µs before a partial bundle is flushed", 100),
  output: Flag.String("output").pipe(
    about("write the bundles as NDJSON to FILE, or to stdout with - (then everything else goes to stderr)", KEY.output),
    fromFileOrEnv(KEY.output, Config.String),
    Flag.optional
  ),
  journal: Flag.String("journal").pipe(
    about("also write the bundles to a durable journal in DIR (created, or appended to when it holds bundles)", KEY.journal),
    fromFileOrEnv(KEY.journal, Config.String),
    Flag.optional
  ),
  replay: Flag.String("replay").pipe(
    about(
      "instead of generating order flow, replay the bundles of a journal written with --journal through the output, to the " +
        "journal's end (--duration, --rate and the book and bundle options are not used)",
      KEY.replay
    ),
    fromFileOrEnv(KEY.replay, Config.String),
    Flag.optional
  ),
  replaySpeed: Flag.Finite("replay-speed").pipe(
    Flag.withSchema(Positive),
    about("with --replay: at the journal's original timing times this factor (default: as fast as possible)", KEY.replaySpeed),
    fromFileOrEnv(KEY.replaySpeed, (k) => Config.schema(Positive, k)),
    Flag.optional
  ),
  http: Flag.Int("http").pipe(
    Flag.withSchema(Port),
    about("serve the dashboard, /metrics and /ready on 127.0.0.1:PORT (0: a free port)", KEY.http),
    fromFileOrEnv(KEY.http, (k) => Config.schema(Port, k)),
    Flag.optional
  ),
  config: Flag.String("config").pipe(
    Flag.withDescription('a JSON file of these options, { "VELOX": { "ENGINE": { "RATE": 200000 } } }: flags win over it, it over the environment'),
    Flag.optional
  )
}

type Options = Command.Command.Config.Infer<typeof flags>

/**
 * `--output` names a file that cannot be opened for writing: caught before the pipeline starts.
 */
class OutputError extends Schema.TaggedError<OutputError>()("OutputError", { path: Schema.String, reason: Schema.String }) {
  override get message(): string {
    return `--output ${this.path}: cannot open it for writing: ${this.reason}`
  }
}

/** Opens (creating, not truncating) and closes the output file: the sink opens it again in its thread. */
const checkWritable = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* Effect.scoped(fs.open(path, { flag: "a" }))
  }).pipe(
    Effect.mapError((e) =>
      new OutputError({ path, reason: (e.reason as { cause?: { message?: string } }).cause?.message ?? e.message })
    )
  )

/** `--journal` or `--replay` names a journal the engine cannot use: caught before the pipeline starts. */
class JournalOptionError extends Schema.TaggedError<JournalOptionError>()("JournalOptionError", {
  flag: Schema.String,
  directory: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `--${this.flag} ${this.directory}: ${this.reason}`
  }
}

/**
 * Opens and closes the journal `--journal` names (creating it): a directory that cannot be written, a
 * journal locked by a live writer, damaged, or of another layout fails here. Its end sequence: the
 * journal's statistics count from its beginning, so this run's bundles are the figures minus it.
 */
const checkJournal = (directory: string) =>
  Effect.scoped(NodeJournal.open(directory, Bundle.Bundle)).pipe(
    Effect.andThen(NodeJournal.info(directory)),
    Effect.map((info) => info.endSequence),
    Effect.mapError((e) => new JournalOptionError({ flag: "journal", directory, reason: e.message }))
  )

/** What the journal `--replay` names holds; it must hold bundles. */
const replayable = (directory: string) =>
  NodeJournal.info(directory).pipe(
    Effect.mapError((e) => new JournalOptionError({ flag: "replay", directory, reason: e.message })),
    Effect.filterOrFail(
      (info) => JournalDescriptor.sameFields(info.layout, Bundle.Bundle),
      (info) =>
        new JournalOptionError({
          flag: "replay",
          directory,
          reason: `holds ${info.layoutSignature}, not the engine's ${JournalDescriptor.layoutSignature(Bundle.Bundle)}`
        })
    )
  )

/** With `--output -`, stdout carries the bundles only: the program's own lines go to stderr. */
const stderrConsole: Console.Console = new NodeConsole(process.stderr, process.stderr)

// ── The program ──────────────────────────────────────────────────────────────────────────────────
const rate = (n: number, seconds: number) => `${(n / seconds / 1000).toFixed(1).padStart(7)} k/s`
const sum = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0)

const engine = (options: Options) =>
  Effect.gen(function*() {
    const output = Option.getOrUndefined(options.output)
    const journal = Option.getOrUndefined(options.journal)
    const replay = Option.getOrUndefined(options.replay)
    if (output !== undefined && output !== "-") yield* checkWritable(output)
    if (journal !== undefined && replay !== undefined && resolve(journal) === resolve(replay)) {
      return yield* new JournalOptionError({ flag: "journal", directory: journal, reason: "is the journal --replay reads: write to another one" })
    }
    const journalStart = journal === undefined ? 0 : yield* checkJournal(journal)
    const replayed = replay === undefined ? undefined : yield* replayable(replay)
    const clock = NanoClock.make()
    yield* Console.log(
      `clock calibrated: monotonic ns shared by all threads, each thread within ±${clock.uncertaintyNs.toFixed(0)} ns`
    )
    const placement = options.placement === "workers" ? "worker" : "fused"
    const written = NodeFileSink.makeStats()
    const journaled = NodeJournal.makeStats()
    const replayProgress = NodeJournalSource.makeProgress()
    // Bundles from the order flow, or (--replay) from a journal of them.
    const bundles = replay === undefined
      ? Pipeline.from(Ingress, { rate: options.rate, symbols: options.symbols })
        .via(OrderBookStage, { symbols: options.symbols }, { placement })
        .via(Bundler, { maxSize: options.bundleSize, timeoutNs: options.bundleTimeoutUs * 1000 }, { placement })
      : Pipeline.from(NodeJournalSource.make(Bundle.Bundle), {
        directory: replay,
        progress: replayProgress,
        ...Option.match(options.replaySpeed, { onNone: () => ({}), onSome: (speed) => ({ speed }) })
      })
    // With --output or --journal, the output counts and forwards each bundle to its writers: an NDJSON
    // file sink fused behind it, a journal sink in a thread of its own (its writes and fsyncs block only it).
    type Bundles = Pipeline.Builder<typeof Bundle.Bundle.spec>
    const writers: Array<(b: Bundles) => Pipeline.Pipeline> = []
    if (output !== undefined) {
      writers.push((b) => b.to(NodeFileSink.sink, { path: output, labels: { reason: Bundle.FLUSH_REASON_NAMES }, stats: written }))
    }
    if (journal !== undefined) {
      writers.push((b) => b.to(NodeJournalSink.sink, { directory: journal, stats: journaled }, { placement: "worker" }))
    }
    const relayed = bundles.via(OutputRelay, {}, { placement })
    const pipeline = writers.length === 0
      ? bundles.to(Output, {}, { placement })
      : writers.length === 1
      ? writers[0]!(relayed)
      : relayed.broadcast((b) => writers.map((write) => write(b)))
    const engineHandle = yield* Deferred.make<Pipeline.PipelineHandle>()
    let replayEnded = false

    /** Totals for the progress line, by name, from a snapshot. */
    const totals = (stats: PipelineSnapshot.Snapshot): ReadonlyArray<readonly [string, number]> => {
      const received = OutputTotals.read(stats).bundles
      if (replay !== undefined) return [["replayed", NodeJournalSource.readProgress(replayProgress).records], ["output", received]]
      const [ingress, book, bundler] = stats.stages
      return [["ingress", ingress!.emitted], ["book", book!.emitted], ["bundles", bundler!.written], ["output", received]]
    }

    /** Runs the engine until the duration ends (a replay: the journal's end) or a signal arrives; `onStart` gets the handle first. */
    const run = <E, R>(onStart: (handle: Pipeline.PipelineHandle) => Effect.Effect<void, E, R>) =>
      Effect.gen(function*() {
        // The run options of every velox program (VELOX_DRAIN_TIMEOUT, VELOX_IDLE, …; README "Configuration").
        const settings = yield* PipelineConfig.config
        const handle = yield* Pipeline.run(pipeline, PipelineConfig.toRunOptions(settings))
        yield* Deferred.succeed(engineHandle, handle)
        yield* Console.log(
          (replayed === undefined
            ? `engine: ${options.rate} txn/s over ${options.symbols} symbols, bundles of ${options.bundleSize} or ${options.bundleTimeoutUs} µs`
            : `engine: replaying ${replayed.records} bundles from ${replay} ` +
              Option.match(options.replaySpeed, { onNone: () => "as fast as possible", onSome: (x) => `at ${x}× their original timing` })) +
            `${journal === undefined ? "" : `, journaled to ${journal}`}; ${handle.hosts.length} thread(s): ${handle.hosts.join(" | ")}`
        )
        yield* onStart(handle)
        // One line per second: totals and rates since the previous line.
        const started = clock.nowNs()
        let last = { t: started, counts: new Map<string, number>() }
        const progress = Effect.sync(() => {
          const now = clock.nowNs()
          const s = (now - last.t) / 1e9
          const counts = totals(handle.stats())
          const line = `${((now - started) / 1e9).toFixed(0).padStart(4)} s  ` +
            counts.map(([name, n]) => `${name} ${n} (${rate(n - (last.counts.get(name) ?? 0), s)})`).join("  ")
          last = { t: now, counts: new Map(counts) }
          return line
        }).pipe(Effect.flatMap(Console.log), Effect.delay("1 second"), Effect.forever)
        // The duration counts from when every stage has started (threads take seconds to start on a loaded machine).
        const allStarted = Effect.gen(function*() {
          while (handle.health().status === "starting") yield* Effect.sleep("10 millis")
        })
        const end = replay === undefined
          ? Effect.raceFirst(allStarted.pipe(Effect.andThen(Effect.sleep(`${options.duration} seconds`))), handle.done)
          : handle.done.pipe(Effect.andThen(Effect.sync(() => (replayEnded = true))))
        yield* Effect.raceFirst(end, progress)
        yield* Console.log("draining…")
      }).pipe(Effect.scoped)

    // After the drain (also after Ctrl-C): the ledger, and the engine's own reconciliation.
    const report = Effect.gen(function*() {
      const polled = yield* Deferred.poll(engineHandle)
      if (polled._tag === "None") return
      const handle = yield* polled.value
      const drained = yield* handle.drainReport
      const stages = drained.ledger.stages
      const byName = (name: string) => stages.find((s) => s.stage === name)!
      const out = OutputTotals.read(handle.stats())
      const checks: Array<[string, number, number]> = []
      const lines: Array<string> = []
      const failed: Array<string> = []
      if (replayed === undefined) {
        const ingress = byName("ingress")
        const book = byName("order-book")
        const bundler = byName("bundler")
        checks.push(
          ["generated = processed by the book", ingress.emitted, book.in],
          ["processed = book updates + dead-lettered", book.in, book.emitted + sum(book.deadLettered)],
          ["book updates = transactions bundled", book.emitted, bundler.emitted],
          ["bundles flushed = bundles received", bundler.written, out.bundles],
          ["transactions bundled = transactions received", bundler.emitted, out.transactions]
        )
      } else {
        const source = byName("journal-replay")
        const output = byName(OutputTotals.NAME)
        // Stopped by a signal, a replay is short of the journal's end: said, not a failure.
        if (replayEnded) checks.push(["bundles in the journal = bundles replayed", replayed.records, source.emitted])
        checks.push(["bundles replayed = bundles received + dead-lettered", source.emitted, out.bundles + sum(output.deadLettered)])
      }
      if (journal !== undefined) {
        const j = NodeJournal.readStats(journaled)
        checks.push(["bundles received = bundles journaled (and fsynced)", out.bundles, Math.max(0, j.durable - journalStart)])
      }
      lines.push(...checks.map(([what, a, b]) => `  ${a === b ? "ok " : "NO "} ${what}: ${a} = ${b}`))
      failed.push(...checks.filter(([, a, b]) => a !== b).map(([what, a, b]) => `${what}: ${a} ≠ ${b}`))
      // Equal zeros reconcile, but prove nothing: a run that did no work, or whose stages were given
      // up on, is not a clean run.
      if (replayed === undefined) {
        const generated = byName("ingress").emitted
        lines.push(`  ${generated > 0 ? "ok " : "NO "} transactions generated at ${options.rate}/s: ${generated}`)
        if (generated === 0) failed.push(`no transaction was generated at ${options.rate}/s`)
      } else {
        const read = byName("journal-replay").emitted
        lines.push(`  ${read > 0 ? "ok " : "NO "} bundles replayed from ${replay}: ${read}` + (replayEnded ? "" : ` (stopped before its end, ${replayed.records})`))
        if (read === 0) failed.push(`no bundle was replayed from ${replay}`)
      }
      const unfinished = stages.filter((s) => s.state !== "Done")
      const states = unfinished.map((s) => `${s.stage} ${s.state} after ${s.restarts} restart(s)`).join(", ")
      lines.push(`  ${unfinished.length === 0 ? "ok " : "NO "} every stage ran to the end${unfinished.length === 0 ? "" : `: ${states}`}`)
      if (unfinished.length > 0) failed.push(`stages did not run to the end: ${states}`)
      const bytes = NodeFileSink.readStats(written).bytes
      yield* Console.log([
        `drained: ${drained.ledger.abandoned === 0 ? "nothing left behind" : `${drained.ledger.abandoned} records abandoned`}`,
        Ledger.format(drained.ledger),
        `flushes: size ${out.sizeFlushes}, timeout ${out.timeoutFlushes}, drain ${out.drainFlushes}` +
          (bytes > 0 ? `; ${bytes} bytes of NDJSON written` : ""),
        `output: ${out.bundles} bundles, ${out.transactions} transactions, checksum ${out.checksum}`,
        "reconciliation:",
        ...lines
      ].join("\n"))
      if (failed.length > 0) return yield* NodePipelineRuntime.failCheck(failed.join("; "))
    })

    // With --http, the ops server (dashboard, /metrics, /ready) outlives the drain: /ready says 503 during it.
    const served = Option.match(options.http, {
      onNone: () => run(() => Effect.void),
      onSome: (port) =>
        run((handle) =>
          NodePipelineServer.PipelineServer.use((server) =>
            server.attach(handle).pipe(Effect.andThen(Console.log(`dashboard: ${server.url}/dashboard`)))
          )
        ).pipe(
          Effect.provide(NodePipelineServer.layer.pipe(Layer.provide(NodePipelineServer.layerConfig({ port }))))
        )
    })
    yield* Effect.onExit(served, () => report)
  }).pipe(dataOnlyOnStdout(options))

/** `--output -`: the program's own lines (banner, progress, ledger) go to stderr. */
const dataOnlyOnStdout = (options: Options) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Option.getOrUndefined(options.output) === "-" ? Effect.provideService(self, Console.Console, stderrConsole) : self

const command = Command.make("velox-engine", flags, engine).pipe(
  Command.withDescription(
    "The transaction engine: Poisson order flow → an exact order book → bundles → output, drained on Ctrl-C and " +
      "reconciled to the last transaction. Exit code 0: every line reconciled."
  )
)

NodeCli.run(command, {
  version: "0.1.0",
  configFile: { flag: "config", keys: { VELOX: { ENGINE: Object.fromEntries(Object.values(KEY).map((k) => [k, true])) } } }
})
