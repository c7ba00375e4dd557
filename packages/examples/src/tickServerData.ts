/**
 * What the tick server keeps on disk, in its data directory:
 *
 *   <data>/symbols.json   the symbol table's names, by id: ids in the journals mean the same names after a restart
 *   <data>/ticks/         the durable journal of every tick stored (Quote records)
 *   <data>/bars/          the durable journal of every bar closed (Bar records)
 *
 * At start the names are registered again in their order (so a restarted server gives each name the
 * id its persisted ticks carry), and the bar store is rebuilt from the persisted ticks.
 */
import { Effect, FileSystem, Option, Path, Schema, Stream } from "effect"
import { Quote, rebuildBars } from "@velox/market"
import { NodeJournal } from "@velox/node"

/** The paths of a data directory. */
export const paths = (data: string) => ({
  symbols: `${data}/symbols.json`,
  ticks: `${data}/ticks`,
  bars: `${data}/bars`
})

const Names = Schema.fromJsonString(Schema.Array(Schema.String))

/** The names a previous run saved, by id; none when there is no file. */
export const loadNames = (data: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const file = paths(data).symbols
    if (!(yield* fs.exists(file))) return []
    return yield* Schema.decodeUnknownEffect(Names)(yield* fs.readFileString(file))
  })

/** Saves the names by id (written to a temporary file, then renamed over the old one). */
export const saveNames = (data: string, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = paths(data).symbols
    yield* fs.makeDirectory(path.dirname(file), { recursive: true })
    yield* fs.writeFileString(`${file}.tmp`, JSON.stringify(names))
    yield* fs.rename(`${file}.tmp`, file)
  })

/**
 * The sequence a journal continues from (0 when there is none yet): its writer's statistics count
 * from the journal's beginning, so a run's own records are the figures minus this.
 */
export const journalEnd = (directory: string) =>
  NodeJournal.info(directory).pipe(
    Effect.map((info) => info.endSequence),
    Effect.catchIf((e) => e.reason._tag === "NotFound", () => Effect.succeed(0))
  )

/** What a rebuild did. */
export interface Rebuilt {
  readonly ticks: number
  readonly late: number
  readonly refused: number
  readonly bars: number
  readonly ms: number
}

/**
 * Rebuilds the bar store from the persisted ticks (none: nothing to do, `None`), with the live
 * stage's config; bars over by `nowNs` are stored.
 */
export const rebuild = (ticksJournal: string, config: Parameters<typeof rebuildBars>[0], nowNs: number) =>
  Effect.gen(function*() {
    const started = performance.now()
    const info = yield* Effect.result(NodeJournal.info(ticksJournal))
    if (info._tag === "Failure") {
      if (info.failure.reason._tag === "NotFound") return Option.none<Rebuilt>()
      return yield* Effect.fail(info.failure)
    }
    const builder = rebuildBars(config)
    yield* NodeJournal.batches(ticksJournal, { layout: Quote.Quote }).pipe(
      Stream.runForEach((batch) => Effect.sync(() => batch.records.forEach((q) => builder.offer(q))))
    )
    const done = builder.end(nowNs)
    return Option.some<Rebuilt>({ ticks: done.ticks, late: done.late, refused: done.refused, bars: done.bars, ms: performance.now() - started })
  })
