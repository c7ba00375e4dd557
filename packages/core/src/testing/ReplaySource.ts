/**
 * A source that replays given records, batch by batch, for any layout: the input end of the
 * contract kit's real pipeline runs (law 4), and handy in a user's own pipeline tests.
 *
 * `make(layout)` returns a definition whose `module` URL carries the layout in its query; a worker
 * that imports that URL rebuilds the same definition (see `FromModuleUrl`). The records travel in a
 * `SharedArrayBuffer` in the config:
 *
 * ```
 *   words (SharedArrayBuffer), written once by the thread that encodes, before the run; read (plain)
 *   by the source's thread, which starts after (starting a worker orders the writes before it).
 *   +-----------------------------+-----------------------------+-- … --+
 *   | record 0: wordsPerRecord ×  | record 1                    |       |  wordsPerRecord = layout.byteLength / 4
 *   | 32-bit words, layout order  |                             |       |
 *   +-----------------------------+-----------------------------+-- … --+
 *   batches: the length of each batch, in order (a poll never crosses a batch boundary)
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { type FieldSpec, type Layout, makeView, type RecordOf, writeRecord } from "../internal/kernel/recordLayout.ts"
import * as Stage from "../Stage.ts"
import { layoutFromModuleUrl, moduleUrlFor, SharedBuffer } from "./internal/layoutModule.ts"

/**
 * The name every replay source definition has.
 *
 * @category models
 * @since 0.1.0
 */
export const NAME = "velox-replay"

/**
 * The replay source's config: the encoded records and the batch lengths. Build it with {@link encode}.
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  words: SharedBuffer,
  batches: Schema.Array(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)))
})

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

const define = <F extends FieldSpec>(layout: Layout<F>): Stage.StageDefinition<never, F, Config> =>
  Stage.source({
    name: NAME,
    module: moduleUrlFor(import.meta.url, layout),
    output: layout,
    config: Config,
    keepsState: true,
    make: ({ words, batches }) => {
      const wordsPerRecord = layout.byteLength / 4
      const src = new Int32Array(words)
      let batch = 0
      let inBatch = 0
      let next = 0
      return {
        // Its place in the replay: a restarted source neither repeats nor skips a record.
        snapshotState: () => [batch, inBatch, next],
        restoreState(snapshot) {
          ;[batch, inBatch, next] = snapshot as [number, number, number]
        },
        onPoll(_nowNs, max, out) {
          while (batch < batches.length && inBatch === batches[batch]!) {
            batch++
            inBatch = 0
          }
          if (batch >= batches.length) return Stage.SOURCE_EXHAUSTED
          const n = Math.min(max, batches[batch]! - inBatch)
          // Raw words: the emitter's view may be a ring or a fused scratch batch; both have `words`.
          const dst = out.view.words
          for (let i = 0; i < n; i++) {
            let s = (next + i) * wordsPerRecord
            let d = out.emit() * wordsPerRecord
            for (let w = 0; w < wordsPerRecord; w++) dst[d++] = src[s++]!
          }
          next += n
          inBatch += n
          return n
        }
      }
    }
  })

/**
 * A replay source for records of `layout`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { CountingSink, Sequenced } from "@velox/core/stages"
 * import { ReplaySource } from "@velox/core/testing"
 * import { NodeStageHost } from "@velox/node"
 *
 * const records = [{ seq: 0, key: 0, flags: 0, value: 1, check: 0 }]
 * const pipeline = Pipeline.from(ReplaySource.make(Sequenced), ReplaySource.encode(Sequenced, [records]))
 *   .to(CountingSink, {})
 * Effect.runPromise(Pipeline.runToEnd(pipeline).pipe(Effect.provide(NodeStageHost.layer)))
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const make: <F extends FieldSpec>(layout: Layout<F>) => Stage.StageDefinition<never, F, Config> = define

/**
 * Encodes batches of plain records into a replay source config (allocates a `SharedArrayBuffer`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const encode = <F extends FieldSpec>(
  layout: Layout<F>,
  batches: ReadonlyArray<ReadonlyArray<RecordOf<F>>>
): Config => {
  const count = batches.reduce((n, b) => n + b.length, 0)
  // At least one slot: a zero-length view is fine, but keep the buffer non-empty for clarity.
  const words = new SharedArrayBuffer(Math.max(1, count) * layout.byteLength)
  const view = makeView(layout, words, 0, count)
  let slot = 0
  for (const batch of batches) {
    for (const record of batch) writeRecord(view, slot++, record)
  }
  return { words, batches: batches.map((b) => b.length) }
}

/**
 * The definition a worker finds when it imports this module by a URL `make` returned (the layout is
 * in the URL's query); `undefined` when the module is imported without one.
 *
 * @category stages
 * @since 0.1.0
 */
export const FromModuleUrl: Stage.StageDefinition<never, FieldSpec, Config> | undefined = (() => {
  const layout = layoutFromModuleUrl(import.meta.url)
  return layout === undefined ? undefined : define(layout)
})()
