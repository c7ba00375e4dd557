/**
 * A sink that writes every record it receives as one line of NDJSON — the record decoded with its
 * layout, `{"field":value,…}` in field order — to a file, or to stdout with `path: "-"`. It takes any
 * layout (`input: Stage.AnyLayout`), so it ends any pipeline.
 *
 * The file is opened when the stage starts (`onStart`, in its own thread, or fiber): truncated, unless
 * `append` is set or the stage is restarting after a crash (then it appends to what its predecessor
 * wrote), and closed by `onClose` after the drain, a crash or an abort. A
 * path that cannot be opened fails the start with a {@link NodeFileSinkError} naming the path and the
 * cause, and the run fails at once (`StageCrashed`, reason `StartFailed`): restarting would not help.
 * Each batch becomes one string, written with one synchronous `fs.writeSync` (a full stdout pipe is
 * waited for, a millisecond at a time). Placed in a worker (the
 * default: a sink fuses into its upstream's loop), a synchronous write blocks only that loop; use
 * `placement: "fiber"` only for output that never blocks. Lines are at-least-once across a crash of
 * the sink's pass, like any side effect of a sink.
 *
 * A finite value is written as a JSON number; NaN and ±Infinity as `null`. `labels` names a field's
 * integer codes (`{ reason: ["size", "timeout", "drain"] }` writes `"reason":"timeout"` for 1); a code
 * without a name stays a number.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { Counter } from "@velox/core/stages"
 * import { NodeFileSink, NodePipelineRuntime } from "@velox/node"
 *
 * const stats = NodeFileSink.makeStats()
 * const pipeline = Pipeline.from(Counter, { count: 1000 }).to(NodeFileSink.sink, { path: "counter.ndjson", stats })
 *
 * NodePipelineRuntime.runMain(Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(pipeline)
 *   yield* handle.done
 *   console.log(NodeFileSink.readStats(stats)) // { records: 1000, bytes: … }
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { type RecordLayout, Stage } from "@velox/core"
import * as fs from "node:fs"

/**
 * A file sink's counters: records and bytes written, as two 64-bit integers (`Atomics` on a
 * `BigInt64Array`; the sink adds once per batch, any thread reads).
 *
 * ```
 *  byte 0 ┌────────────────────────┐
 *         │ records  i64           │  the sink, Atomics.add per batch
 *  byte 8 ├────────────────────────┤
 *         │ bytes    i64           │  the sink, Atomics.add per batch
 * byte 16 └────────────────────────┘
 * ```
 *
 * @category layout
 * @since 0.1.0
 */
export const STATS_BYTES = 16

/**
 * A fresh, zeroed stats buffer to pass as `stats`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeStats = (): SharedArrayBuffer => new SharedArrayBuffer(STATS_BYTES)

/**
 * Records and bytes written so far, from any thread.
 *
 * @category metrics
 * @since 0.1.0
 */
export const readStats = (stats: SharedArrayBuffer): { readonly records: number; readonly bytes: number } => {
  const words = new BigInt64Array(stats)
  // acquire: each count as the sink last added to it.
  return { records: Number(Atomics.load(words, 0)), bytes: Number(Atomics.load(words, 1)) }
}

const Stats = Schema.declare((u): u is SharedArrayBuffer => u instanceof SharedArrayBuffer && u.byteLength === STATS_BYTES, {
  expected: "a stats buffer from NodeFileSink.makeStats()"
})

/**
 * `path` (a file, or `"-"` for stdout), `append` (keep what the file holds; default `false`), `labels`
 * (names of a field's integer codes), `stats` (from {@link makeStats}).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  path: Schema.String.check(Schema.isMinLength(1)),
  append: Schema.optional(Schema.Boolean),
  labels: Schema.optional(Schema.Record(Schema.String, Schema.Array(Schema.String))),
  stats: Schema.optional(Stats)
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * The output could not be opened: `path` and the system's `cause` (e.g. `ENOENT: no such file or
 * directory`).
 *
 * @category errors
 * @since 0.1.0
 */
export class NodeFileSinkError extends Schema.TaggedError<NodeFileSinkError>()("NodeFileSinkError", {
  path: Schema.String,
  cause: Schema.String
}) {
  override get message(): string {
    return `cannot open ${this.path} for writing: ${this.cause}`
  }
}

/** A number as JSON: finite as is, else `null` (JSON has no NaN or ∞). */
const json = (x: number): string => (x - x === 0 ? String(x) : "null")

/** Per field, its value as JSON text: a number, or the label of an integer code. */
const formatterOf = (names: ReadonlyArray<string> | undefined): (x: number) => string =>
  names === undefined
    ? json
    : (x) => (Number.isInteger(x) && x >= 0 && x < names.length ? JSON.stringify(names[x]) : json(x))

/** Writes all of `bytes`, retrying a partial write and EAGAIN (stdout may be a non-blocking pipe). */
const writeAll = (fd: number, bytes: Uint8Array): void => {
  let offset = 0
  while (offset < bytes.length) {
    try {
      offset += fs.writeSync(fd, bytes, offset, bytes.length - offset)
    } catch (e) {
      if ((e as { code?: unknown }).code !== "EAGAIN") throw e
      // The pipe is full: wait a millisecond for the reader (this loop is the sink's own).
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }
  }
}

const open = (path: string, append: boolean): number => {
  if (path === "-") return 1
  try {
    return fs.openSync(path, append ? "a" : "w")
  } catch (e) {
    throw new NodeFileSinkError({ path, cause: e instanceof Error ? e.message : String(e) })
  }
}

/**
 * The sink's logic for a config and the layout it receives (what `NodeFileSink` runs; tests drive it
 * directly). `onStart` opens the output, `onClose` closes it — after the drain, after a crash (before
 * the restart reopens it, appending), on abort — so no restart leaks a descriptor.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const makeLogic = (config: Config, context: Stage.LayoutContext): Stage.StageLogic<RecordLayout.FieldSpec, never> => {
  const layout = context.input
  let fd = -1
  const stats = config.stats === undefined ? undefined : new BigInt64Array(config.stats)
  const encoder = new TextEncoder()
  // `{"a":` then `,"b":` …: the text before each value, and how each value is written.
  const prefixes = layout.fields.map((f, i) => `${i === 0 ? "{" : ","}${JSON.stringify(f.name)}:`)
  const formats = layout.fields.map((f) => formatterOf(config.labels?.[f.name]))
  const names = layout.fields.map((f) => f.name)
  return {
    onStart() {
      fd = open(config.path, (config.append ?? false) || context.restarts > 0)
    },
    onBatch(input, start, n, out) {
      const fields = names.map((name) => input.fields[name]!)
      let lines = ""
      for (let i = start; i < start + n; i++) {
        for (let k = 0; k < fields.length; k++) lines += prefixes[k]! + formats[k]!(fields[k]!.get(i))
        lines += "}\n"
      }
      const bytes = encoder.encode(lines)
      writeAll(fd, bytes)
      out.account(n)
      if (stats !== undefined) {
        // publish: what this batch wrote, to any thread that loads the counts.
        Atomics.add(stats, 0, BigInt(n))
        Atomics.add(stats, 1, BigInt(bytes.length))
      }
    },
    onClose() {
      if (fd > 2) fs.closeSync(fd)
      fd = -1
    }
  }
}

/**
 * The file sink (stage name `file-sink`). See the module comment.
 *
 * @category stages
 * @since 0.1.0
 */
export const sink = Stage.sink({
  name: "file-sink",
  module: import.meta.url,
  input: Stage.AnyLayout,
  config: Config,
  make: makeLogic
})
