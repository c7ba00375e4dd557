/**
 * Reading keyed record rings (the tick store, the bar store) into plain records: a snapshot of a
 * key's newest records, and a follower of what is written after a cursor. Shared by `TickStore` and
 * `BarStore`, which check the buffer is theirs first.
 */
import { RecordLayout } from "@velox/core"
import * as R from "./kernel/recordRings.ts"

/** Decodes `count` records from `words` (8-byte words from word 0), reversing them unless `keepOrder`. */
export const decode = <F extends RecordLayout.FieldSpec>(
  layout: RecordLayout.RecordLayout<F>,
  words: Float64Array,
  count: number,
  keepOrder: boolean
): Array<RecordLayout.RecordOf<F>> => {
  const view = RecordLayout.view(layout, words.buffer, 0, Math.max(1, count))
  const out: Array<RecordLayout.RecordOf<F>> = new Array(count)
  for (let i = 0; i < count; i++) out[keepOrder ? i : count - 1 - i] = RecordLayout.readUnsafe(view, i)
  return out
}

/** Key `key`'s newest records, at most `limit` (and the reader's `readable`), newest first or, with `oldestFirst`, reversed. */
export const newest = <F extends RecordLayout.FieldSpec>(
  layout: RecordLayout.RecordLayout<F>,
  reader: R.RingsReader,
  key: number,
  limit: number,
  oldestFirst: boolean
): Array<RecordLayout.RecordOf<F>> => snapshotter(layout, reader)(key, limit, oldestFirst)

/**
 * {@link newest} for one reader, called again and again (an HTTP route): the reader, its copy buffer
 * and the view over it are made once, and grow only for a larger `limit`.
 */
export const snapshotter = <F extends RecordLayout.FieldSpec>(layout: RecordLayout.RecordLayout<F>, reader: R.RingsReader) => {
  const wordsPerRecord = reader.recordBytes / 8
  let words = new Float64Array(wordsPerRecord)
  let view = RecordLayout.view(layout, words.buffer, 0, 1)
  return (key: number, limit: number, oldestFirst: boolean): Array<RecordLayout.RecordOf<F>> => {
    const n = Math.min(limit, reader.readable)
    if (words.length < n * wordsPerRecord) {
      words = new Float64Array(n * wordsPerRecord)
      view = RecordLayout.view(layout, words.buffer, 0, n)
    }
    const count = reader.newest(key, n, words)
    const out: Array<RecordLayout.RecordOf<F>> = new Array(count)
    for (let i = 0; i < count; i++) out[oldestFirst ? count - 1 - i : i] = RecordLayout.readUnsafe(view, i)
    return out
  }
}

/** Records after a cursor, oldest first; `missed` counts those overwritten before the read. */
export interface Follow<F extends RecordLayout.FieldSpec> {
  readonly records: Array<RecordLayout.RecordOf<F>>
  readonly cursor: number
  readonly missed: number
}

/** A follower over `reader`: reuses one buffer across calls. */
export const follower = <F extends RecordLayout.FieldSpec>(layout: RecordLayout.RecordLayout<F>, reader: R.RingsReader) => {
  let words = new Float64Array(0)
  const result: R.FollowResult = { count: 0, cursor: 0, missed: 0 }
  return {
    cursor: (key: number): number => reader.written(key),
    since(key: number, cursor: number, max: number): Follow<F> {
      const need = Math.max(1, Math.min(max, reader.depth)) * (reader.recordBytes / 8)
      if (words.length < need) words = new Float64Array(need)
      reader.since(key, cursor, max, words, result)
      return { records: decode(layout, words, result.count, true), cursor: result.cursor, missed: result.missed }
    }
  }
}

/** Records held now and ever written, over every key. */
export const totals = (reader: R.RingsReader): { readonly held: number; readonly written: number } => {
  let held = 0
  let written = 0
  for (let k = 0; k < reader.keys; k++) {
    held += reader.held(k)
    written += reader.total(k)
  }
  return { held, written }
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`
