/**
 * A sink that copies every record it receives, bit-exactly, into a `SharedArrayBuffer` from its
 * config, for any layout: the output end of the contract kit's real pipeline runs (law 4), and handy
 * in a user's own pipeline tests. Like `ReplaySource`, `make(layout)` returns a definition whose
 * `module` URL carries the layout, so a worker rebuilds the same definition (`FromModuleUrl`).
 *
 * ```
 *   count (SharedArrayBuffer, 4 bytes; JS Atomics are sequentially consistent)
 *   +0  i32  records received so far   written by the sink thread (Atomics.store, after the words),
 *                                      read by any thread (Atomics.load, before the words)
 *
 *   words (SharedArrayBuffer), written (plain) by the sink thread, read after the count:
 *   +------------------+------------------+-- … --+
 *   | record 0         | record 1         |       |  capacity = words.byteLength / layout.byteLength;
 *   +------------------+------------------+-- … --+  records past capacity are counted, not copied
 * ```
 *
 * The count lives in shared memory, so a restarted sink thread carries on where the crashed one was.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { type FieldSpec, type Layout, makeView, readRecord, type RecordOf } from "../internal/kernel/recordLayout.ts"
import * as Stage from "../Stage.ts"
import { layoutFromModuleUrl, moduleUrlFor, SharedBuffer } from "./internal/layoutModule.ts"

/**
 * The name every capture sink definition has.
 *
 * @category models
 * @since 0.1.0
 */
export const NAME = "velox-capture"

/**
 * The capture sink's config: where records go, and the count. Build it with {@link allocate}.
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({ words: SharedBuffer, count: SharedBuffer })

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

const define = <F extends FieldSpec>(layout: Layout<F>): Stage.StageDefinition<F, never, Config> =>
  Stage.sink({
    name: NAME,
    module: moduleUrlFor(import.meta.url, layout),
    input: layout,
    config: Config,
    make: ({ words, count }) => {
      const dst = new Int32Array(words)
      const counter = new Int32Array(count)
      const wordsPerRecord = layout.byteLength / 4
      const capacity = Math.floor(dst.length / wordsPerRecord)
      return {
        onBatch(input, start, n, out) {
          // acquire: where a previous (crashed and restarted) sink thread stopped.
          let c = Atomics.load(counter, 0)
          const src = input.words
          for (let i = 0; i < n; i++, c++) {
            if (c >= capacity) continue
            let s = (start + i) * wordsPerRecord
            let d = c * wordsPerRecord
            for (let w = 0; w < wordsPerRecord; w++) dst[d++] = src[s++]!
          }
          // publish: the records copied above, to whoever loads the count.
          Atomics.store(counter, 0, c)
          out.account(n)
        }
      }
    }
  })

/**
 * A capture sink for records of `layout`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { PassThrough, Sequenced } from "@velox/core/stages"
 * import { CaptureSink, ReplaySource } from "@velox/core/testing"
 * import { NodeStageHost } from "@velox/node"
 *
 * const records = [{ seq: 0, key: 0, flags: 0, value: 1, check: 0 }]
 * const captured = CaptureSink.allocate(Sequenced, 16)
 * const pipeline = Pipeline.from(ReplaySource.make(Sequenced), ReplaySource.encode(Sequenced, [records]))
 *   .via(PassThrough, {}, { placement: "worker" })
 *   .to(CaptureSink.make(Sequenced), captured)
 * Effect.runPromise(Pipeline.runToEnd(pipeline).pipe(Effect.provide(NodeStageHost.layer))).then(() =>
 *   console.log(CaptureSink.records(Sequenced, captured)) // [{ seq: 0, key: 0, flags: 0, value: 1, check: 0 }]
 * )
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const make: <F extends FieldSpec>(layout: Layout<F>) => Stage.StageDefinition<F, never, Config> = define

/**
 * A capture sink config with room for `capacity` records of `layout`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const allocate = (layout: Layout, capacity: number): Config => {
  if (!(Number.isInteger(capacity) && capacity >= 0)) {
    throw new RangeError(`capture capacity must be a non-negative integer: capacity=${capacity}`)
  }
  return {
    words: new SharedArrayBuffer(Math.max(1, capacity) * layout.byteLength),
    count: new SharedArrayBuffer(4)
  }
}

/**
 * How many records the sink received (may exceed the capacity: those past it were not copied).
 *
 * @category layout
 * @since 0.1.0
 */
export const count = (config: Config): number =>
  // acquire: the records the sink copied before it stored this count.
  Atomics.load(new Int32Array(config.count), 0)

/**
 * The raw words of the records captured so far (up to the capacity), as a copy.
 *
 * @category layout
 * @since 0.1.0
 */
export const words = (layout: Layout, config: Config): Int32Array => {
  const wordsPerRecord = layout.byteLength / 4
  const all = new Int32Array(config.words)
  const n = Math.min(count(config), Math.floor(all.length / wordsPerRecord))
  return all.slice(0, n * wordsPerRecord)
}

/**
 * The records captured so far (up to the capacity), decoded into plain objects.
 *
 * @category layout
 * @since 0.1.0
 */
export const records = <F extends FieldSpec>(
  layout: Layout<F>,
  config: Config
): Array<RecordOf<F>> => {
  const w = words(layout, config)
  const view = makeView(layout, w.buffer, 0, w.length / (layout.byteLength / 4))
  const out: Array<RecordOf<F>> = []
  for (let i = 0; i < view.slotCount; i++) out.push(readRecord(view, i))
  return out
}

/**
 * The definition a worker finds when it imports this module by a URL `make` returned (the layout is
 * in the URL's query); `undefined` when the module is imported without one.
 *
 * @category stages
 * @since 0.1.0
 */
export const FromModuleUrl: Stage.StageDefinition<FieldSpec, never, Config> | undefined = (() => {
  const layout = layoutFromModuleUrl(import.meta.url)
  return layout === undefined ? undefined : define(layout)
})()
