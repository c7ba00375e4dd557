/**
 * The journal command, for operators: what a journal holds, its last records, and a replay of it
 * through an example pipeline.
 *
 *   npm run journal -- info PATH [--verify] [--json]
 *   npm run journal -- tail PATH [--lines 10] [--follow]
 *   npm run journal -- replay PATH [--pipeline count|ndjson|sequenced] [--speed X]
 *                                  [--from-sequence N | --from-time T] [--follow] [--output FILE|-] [--workers]
 *
 * `replay` runs one of these, drains on Ctrl-C or at the end of the journal, and prints the ledger:
 *
 *   count       journal-replay ─▶ record-count          any layout: records counted
 *   ndjson      journal-replay ─▶ file-sink             any layout: one JSON line per record (--output)
 *   sequenced   journal-replay ─▶ pass-through ══▶ counting-sink
 *                                                       Sequenced journals: every record's check verified
 *               (─▶ fused into one loop; ══▶ a ring between threads; --workers puts every stage in its own)
 *
 * Journals carry their layout, so any journal can be decoded. Progress and the ledger go to stderr,
 * so `replay --pipeline ndjson` (stdout by default) and `tail` print only records on stdout.
 */
import { Console, Effect, Option, Schedule, Schema, Stream } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { JournalDescriptor, Ledger, Pipeline } from "@velox/core"
import { CountingSink, PassThrough, Sequenced } from "@velox/core/stages"
import { NodeCli, NodeFileSink, NodeJournal, NodeJournalSource } from "@velox/node"
import { RecordCount } from "./recordCount.ts"

const journalArgument = Argument.Directory("journal", { mustExist: true }).pipe(
  Argument.withDescription("the journal's directory")
)

// ── info ─────────────────────────────────────────────────────────────────────────────────────────

const thousands = (n: number) => n.toLocaleString("en-US")

const bytesText = (n: number) =>
  n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${thousands(n)} bytes`

/** A time on the journal's axis: ISO dates for wall-clock journals, the field's own values otherwise; "-" for none (an empty segment's). */
const timeText = (info: NodeJournal.JournalInfo, t: number) =>
  !Number.isFinite(t) ? "-" : info.timeField === undefined ? new Date(t / 1e6).toISOString() : String(t)

const formatInfo = (info: NodeJournal.JournalInfo): string => {
  const hash = `0x${info.layoutHash.toString(16).padStart(8, "0")}`
  const span = info.timeField === undefined && info.records > 0 ? ` (${((info.lastTime - info.firstTime) / 1e9).toFixed(3)} s)` : ""
  const lines = [
    `journal   ${info.directory}`,
    `layout    ${info.layoutSignature}  ${info.layout.byteLength}-byte records, hash ${hash}`,
    `time      ${info.timeField === undefined ? "wall clock of each batch (ns since the epoch)" : `field ${info.timeField}`}`,
    `records   ${thousands(info.records)}` +
    (info.records > 0 ? `  (sequences ${thousands(info.firstSequence)} … ${thousands(info.endSequence - 1)})` : ""),
    `range     ${timeText(info, info.firstTime)} … ${timeText(info, info.lastTime)}${span}`,
    `segments  ${info.segments.length} (${info.segments.filter((s) => s.sealed).length} sealed), ${bytesText(info.bytes)}`,
    ...info.segments.map((s) =>
      `  ${s.file}  ${s.sealed ? "sealed" : "active"}  ${thousands(s.records).padStart(12)} records  ${bytesText(s.bytes).padStart(12)}` +
      `  ${timeText(info, s.firstTime)} … ${timeText(info, s.maxTime)}`
    ),
    info.trailingBytes === 0
      ? "tail      clean"
      : `tail      ${thousands(info.trailingBytes)} bytes after the last whole batch (a torn write, cut when a writer opens; or a write under way): ${info.trailingReason}`,
    `writer    ${info.writerPid === undefined ? "none" : `process ${info.writerPid} holds the lock`}`
  ]
  if (info.verified) lines.push("verified  every batch of every segment read and checked")
  return lines.join("\n")
}

const info = Command.make("info", {
  journal: journalArgument,
  verify: Flag.Boolean("verify").pipe(
    Flag.withDescription("read and check every batch of every segment (otherwise sealed segments are known by their trailers)"),
    Flag.withDefault(false)
  ),
  json: Flag.Boolean("json").pipe(Flag.withDescription("print the description as JSON"), Flag.withDefault(false))
}, ({ journal, json, verify }) =>
  Effect.gen(function*() {
    const description = yield* NodeJournal.info(journal, { verify })
    yield* Console.log(json ? JSON.stringify(description, null, 2) : formatInfo(description))
  })).pipe(Command.withDescription("print a journal's layout, record count, time range, segments and bytes"))

// ── tail ─────────────────────────────────────────────────────────────────────────────────────────

const tail = Command.make("tail", {
  journal: journalArgument,
  lines: Flag.Int("lines").pipe(
    Flag.withAlias("n"),
    Flag.withDescription("how many of the last records to print"),
    Flag.withDefault(10),
    Flag.filter((n) => n >= 0, (n) => `--lines must be 0 or more: ${n}`)
  ),
  follow: Flag.Boolean("follow").pipe(
    Flag.withAlias("f"),
    Flag.withDescription("keep printing records as they are appended (Ctrl-C stops)"),
    Flag.withDefault(false)
  )
}, ({ follow, journal, lines }) =>
  Effect.gen(function*() {
    const description = yield* NodeJournal.info(journal)
    const from = Math.max(description.firstSequence, description.endSequence - lines)
    yield* NodeJournal.batches(journal, { from: { sequence: from }, follow }).pipe(
      Stream.runForEach((batch) =>
        Console.log(batch.records.map((record, i) => JSON.stringify({ sequence: batch.firstSequence + i, ...record })).join("\n"))
      )
    )
  })).pipe(Command.withDescription("print a journal's last records as NDJSON ({\"sequence\":…,\"field\":…})"))

// ── replay ───────────────────────────────────────────────────────────────────────────────────────

const PIPELINES = ["count", "ndjson", "sequenced"] as const

/** `--from-time`: a number on the journal's time axis, or (wall-clock journals) a date. */
const parseTime = (text: string): number | undefined => {
  if (/^-?\d+(\.\d+)?(e\d+)?$/i.test(text.trim())) return Number(text)
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : ms * 1e6
}

/** Replay options that do not fit together or cannot be read. */
class ReplayError extends Schema.TaggedError<ReplayError>()("ReplayError", { message: Schema.String }) {}

const replay = Command.make("replay", {
  journal: journalArgument,
  pipeline: Flag.Literals("pipeline", PIPELINES).pipe(
    Flag.withDescription("count: any layout, records counted; ndjson: any layout, as JSON lines to --output; sequenced: Sequenced records, each one's check verified"),
    Flag.withDefault("count" as const)
  ),
  speed: Flag.Finite("speed").pipe(
    Flag.withDescription("replay at the journal's original timing times this factor (1: as recorded); without it, as fast as possible"),
    Flag.filter((x) => x > 0, (x) => `--speed must be above 0: ${x}`),
    Flag.optional
  ),
  fromSequence: Flag.Int("from-sequence").pipe(Flag.withDescription("start at this sequence"), Flag.optional),
  fromTime: Flag.String("from-time").pipe(
    Flag.withDescription("start at the first record at or after this time (a number on the journal's time axis, or a date for a wall-clock journal)"),
    Flag.optional
  ),
  follow: Flag.Boolean("follow").pipe(
    Flag.withDescription("at the end, keep replaying what is appended (Ctrl-C drains)"),
    Flag.withDefault(false)
  ),
  output: Flag.String("output").pipe(Flag.withDescription("where --pipeline ndjson writes: a file, or - for stdout"), Flag.withDefault("-")),
  workers: Flag.Boolean("workers").pipe(Flag.withDescription("every stage in its own worker thread"), Flag.withDefault(false))
}, (options) =>
  Effect.gen(function*() {
    const { journal } = options
    const description = yield* NodeJournal.info(journal)
    if (Option.isSome(options.fromSequence) && Option.isSome(options.fromTime)) {
      return yield* Effect.fail(new ReplayError({ message: "give --from-sequence or --from-time, not both" }))
    }
    let from: NodeJournal.StartAt = "start"
    if (Option.isSome(options.fromSequence)) from = { sequence: options.fromSequence.value }
    if (Option.isSome(options.fromTime)) {
      const time = parseTime(options.fromTime.value)
      if (time === undefined) return yield* Effect.fail(new ReplayError({ message: `--from-time is neither a number nor a date: ${options.fromTime.value}` }))
      from = { time }
    }
    const progress = NodeJournalSource.makeProgress()
    const config = {
      directory: journal,
      from,
      follow: options.follow,
      progress,
      ...(Option.isSome(options.speed) ? { speed: options.speed.value } : {})
    }
    const placement = options.workers ? "worker" : "fused"
    let pipeline: Pipeline.Pipeline
    switch (options.pipeline) {
      case "count":
        pipeline = Pipeline.from(NodeJournalSource.make(description.layout), config).to(RecordCount, {}, { placement })
        break
      case "ndjson":
        pipeline = Pipeline.from(NodeJournalSource.make(description.layout), config).to(NodeFileSink.sink, { path: options.output }, { placement })
        break
      case "sequenced":
        if (!JournalDescriptor.sameFields(description.layout, Sequenced)) {
          return yield* Effect.fail(
            new ReplayError({
              message: `--pipeline sequenced needs ${JournalDescriptor.layoutSignature(Sequenced)} records; ${journal} holds ${description.layoutSignature}`
            })
          )
        }
        pipeline = Pipeline.from(NodeJournalSource.make(Sequenced), config)
          .via(PassThrough, {}, { placement })
          .to(CountingSink, {}, { placement: "worker" })
        break
    }
    yield* Console.error(
      `replay: ${thousands(description.records)} records of ${description.layoutSignature} from ${journal} through "${options.pipeline}"` +
        (Option.isSome(options.speed) ? ` at ${options.speed.value}× the original timing` : ", as fast as possible") +
        (options.follow ? ", then following" : "")
    )
    const started = performance.now()
    let last = { at: started, records: 0 }
    const line = () => {
      const p = NodeJournalSource.readProgress(progress)
      const now = performance.now()
      const rate = (p.records - last.records) / ((now - last.at) / 1000)
      last = { at: now, records: p.records }
      return `${((now - started) / 1000).toFixed(0).padStart(4)} s  replayed ${thousands(p.records)} records ` +
        `(${(rate / 1e6).toFixed(2)} M/s), next sequence ${thousands(p.position)}`
    }
    let handle: Pipeline.PipelineHandle | undefined
    const run = Effect.gen(function*() {
      handle = yield* Pipeline.run(pipeline)
      const progressLines = Effect.sync(line).pipe(Effect.flatMap(Console.error), Effect.repeat(Schedule.spaced("1 second")))
      yield* Effect.sleep("1 second").pipe(Effect.andThen(progressLines), Effect.raceFirst(handle.done))
    }).pipe(Effect.scoped)
    // After the drain, also after Ctrl-C: the ledger and what was replayed, on stderr.
    const report = Effect.suspend(() => {
      if (handle === undefined) return Effect.void
      return handle.drainReport.pipe(Effect.flatMap((drained) => {
        const p = NodeJournalSource.readProgress(progress)
        const seconds = (performance.now() - started) / 1000
        return Console.error([
          Ledger.format(drained.ledger),
          `replayed ${thousands(p.records)} records (${bytesText(p.records * description.layout.byteLength)}) in ` +
          `${seconds.toFixed(2)} s (${(p.records / seconds / 1e6).toFixed(2)} M records/s)`
        ].join("\n"))
      }))
    })
    yield* run.pipe(Effect.onExit(() => report))
  })).pipe(Command.withDescription("feed a journal through an example pipeline and print the ledger"))

// ── the command ──────────────────────────────────────────────────────────────────────────────────

const journal = Command.make("journal").pipe(
  Command.withDescription("inspect and replay velox journals (directories of segment files)"),
  Command.withSubcommands([info, tail, replay])
)

NodeCli.run(journal, { version: "0.1.0" })
