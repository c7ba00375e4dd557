/**
 * Memory layout of one ring's link statistics, in a `SharedArrayBuffer` of one block per ring: what a
 * loop that broadcasts (a tee) or drops (`overflow: "dropNewest"`) did with the records meant for that
 * ring. A loop with a single, waiting output needs none of it (its stage's own counters say it all),
 * and leaves it at zero.
 *
 * The producing loop is the only writer while it runs; after its thread died, the control plane adds
 * what the dead pass published (`DUPLICATED`), with no other writer left. Readers (the control plane's
 * snapshots) read plain f64s: aligned f64 accesses do not tear, and the ledger is only exact after the
 * drain, when the writer is gone. JS Atomics are sequentially consistent; nothing here relies on them.
 *
 * ```
 *    0 ┌──────────────────────┬──────┬──────────┬───────────────────────────────────────────────┐
 *      │ MAGIC "VLNK"  i32    │  4 B │ creator  │ plain, before sharing                         │
 *    4 │ VERSION       i32    │  4 B │ creator  │ plain                                         │
 *    8 │ DROPPED       f64    │  8 B │ producer │ plain: records not written, the ring was full │
 *      │                      │      │          │ (dropNewest); counted as they happen, so a    │
 *      │                      │      │          │ crash of the pass keeps them                  │
 *   16 │ DUPLICATED    f64    │  8 B │ producer │ plain: records published by a pass that then  │
 *      │                      │      │ / control│ crashed (they come again); the control plane  │
 *      │                      │      │   plane  │ adds a dead thread's                          │
 *   24 │ padding              │104 B │          │ one block per 128 B: blocks of different rings │
 *      │                      │      │          │ (different producers) never share a line pair │
 *  128 └──────────────────────┴──────┴──────────┴───────────────────────────────────────────────┘
 * ```
 */

export const LINK_STATS_MAGIC = 0x4b4e4c56 // "VLNK"
export const LINK_STATS_VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const DROPPED_OFFSET = 8
export const DUPLICATED_OFFSET = 16
export const LINK_STATS_BLOCK_BYTES = 128

/** Where one ring's block is. Structured-cloneable. */
export interface LinkStatsRef {
  readonly buffer: SharedArrayBuffer
  readonly byteOffset: number
}

/** One initialised block per ring, side by side. */
export const makeLinkStatsBuffer = (rings: number): SharedArrayBuffer => {
  const buffer = new SharedArrayBuffer(Math.max(1, rings) * LINK_STATS_BLOCK_BYTES)
  for (let i = 0; i < rings; i++) {
    const words = new Int32Array(buffer, i * LINK_STATS_BLOCK_BYTES, 2)
    words[VERSION_OFFSET >> 2] = LINK_STATS_VERSION
    words[MAGIC_OFFSET >> 2] = LINK_STATS_MAGIC
  }
  return buffer
}

export const linkStatsRef = (buffer: SharedArrayBuffer, ring: number): LinkStatsRef => ({
  buffer,
  byteOffset: ring * LINK_STATS_BLOCK_BYTES
})

/** The block as f64 words: `[DROPPED_OFFSET >> 3]`, `[DUPLICATED_OFFSET >> 3]`. Checks the magic. */
export const linkStatsWords = (ref: LinkStatsRef): Float64Array => {
  const magic = new Int32Array(ref.buffer, ref.byteOffset, 1)[0]
  if (magic !== LINK_STATS_MAGIC) throw new RangeError(`not a velox link stats block at byteOffset=${ref.byteOffset}`)
  return new Float64Array(ref.buffer, ref.byteOffset, LINK_STATS_BLOCK_BYTES / 8)
}
