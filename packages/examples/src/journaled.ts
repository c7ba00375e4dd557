/**
 * A pipeline that records what it produces in a journal: counter records into a journal sink in its
 * own worker, with the journal's statistics every second (appended, written, durable, lag).
 *
 *   counter ══▶ journal-sink
 *   (source)    batches of --batch-records or --batch-ms, fsync per --fsync, segments of --segment-mb
 *
 *   velox-journaled --journal DIR [--count N] [--fsync never|batch|interval|drain]
 *        [--batch-records 500] [--batch-ms 30000] [--segment-mb 128]
 *
 * Ctrl-C (or the end of --count) drains: the sink writes its open batch, fsyncs (unless
 * `--fsync never`) and closes the journal; the ledger prints. Then look at the journal with
 * `npm run journal -- info DIR`, or replay it with `npm run journal -- replay DIR --pipeline sequenced`.
 */
import { Console, Effect, Schedule } from "effect"
import { Command, Flag } from "effect/cli"
import { Pipeline } from "@velox/core"
import { Counter } from "@velox/core/stages"
import { NodeCli, NodeJournal, NodeJournalSink } from "@velox/node"

const journaled = Command.make("journaled", {
  journal: Flag.Directory("journal", { mustExist: false }).pipe(Flag.withDescription("the journal's directory (created if missing)")),
  count: Flag.Int("count").pipe(
    Flag.withDescription("records to generate; 0: until Ctrl-C"),
    Flag.withDefault(1_000_000),
    Flag.filter((n) => n >= 0, (n) => `--count must be 0 or more: ${n}`)
  ),
  fsync: Flag.Literals("fsync", ["never", "batch", "interval", "drain"]).pipe(
    Flag.withDescription("when the journal fsyncs: never, after every batch, every second, or on drain"),
    Flag.withDefault("interval" as const)
  ),
  batchRecords: Flag.Int("batch-records").pipe(Flag.withDescription("records per batch"), Flag.withDefault(500)),
  batchMs: Flag.Int("batch-ms").pipe(Flag.withDescription("the longest a batch stays open, in ms"), Flag.withDefault(30_000)),
  segmentMb: Flag.Int("segment-mb").pipe(Flag.withDescription("segment size in MiB"), Flag.withDefault(128))
}, (options) =>
  Effect.gen(function*() {
    const stats = NodeJournal.makeStats()
    const pipeline = Pipeline.from(Counter, { count: options.count === 0 ? Infinity : options.count }).to(
      NodeJournalSink.sink,
      {
        directory: options.journal,
        fsync: options.fsync,
        batchRecords: options.batchRecords,
        batchMs: options.batchMs,
        segmentBytes: options.segmentMb * 1024 * 1024,
        stats
      },
      { placement: "worker" }
    )
    const started = performance.now()
    const line = Effect.sync(() => {
      const s = NodeJournal.readStats(stats)
      return `${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s  appended ${s.appended}  written ${s.written}  ` +
        `durable ${s.durable}  lag ${s.lagRecords} records / ${s.lagMs.toFixed(0)} ms  segments ${s.segments}`
    })
    const run = Effect.gen(function*() {
      const handle = yield* Pipeline.run(pipeline, { report: true })
      yield* Console.log(`journaled: counter records into ${options.journal} (fsync ${options.fsync})`)
      yield* Effect.sleep("1 second").pipe(
        Effect.andThen(line.pipe(Effect.flatMap(Console.log), Effect.repeat(Schedule.spaced("1 second")))),
        Effect.raceFirst(handle.done)
      )
      yield* Console.log("draining…")
    }).pipe(Effect.scoped)
    // After the drain (also after Ctrl-C): what the journal holds now.
    yield* run.pipe(Effect.onExit(() => line.pipe(Effect.flatMap((l) => Console.log(`journal after the drain: ${l.trim()}`)))))
  })).pipe(Command.withDescription("record counter records in a journal, printing the journal's statistics every second"))

NodeCli.run(journaled, { version: "0.1.0" })
