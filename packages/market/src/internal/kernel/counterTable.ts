/**
 * A counter table (kernel tier): `rows × columns` counts in a `SharedArrayBuffer`, one row per symbol
 * (or per symbol and timeframe), written by the stage instance that owns the row and read from any
 * thread — the throttle's passed / throttled per symbol, the bars' closed / late / gaps.
 *
 * ```
 *  byte  0 ┌──────────────────────┬──────────────────────┐
 *          │ magic    i32         │ version  i32  (1)    │  make(), plain, once (magic last, Atomics)
 *          │ 0xC0C7AB1E           │                      │
 *  byte  8 ├──────────────────────┼──────────────────────┤
 *          │ rows     i32         │ columns  i32         │  make(), plain, once
 *  byte 16 ├──────────────────────┼──────────────────────┤
 *          │ kind     i32         │ user words: 11 × i32 │  make(), plain, once: which table this is,
 *  byte 24 ├──────────────────────┘  (bytes 20 … 63)     │  and what it keeps about itself (the bars'
 *          │                                             │  timeframes)
 *  byte 64 ├─────────────────────────────────────────────┤
 *          │ row 0: columns × f64                        │  the row's writer, plain
 *          │ row 1 …                                     │
 *          └─────────────────────────────────────────────┘  64 + rows × columns × 8 bytes
 * ```
 *
 * Who writes: one thread per row (the stage instance its symbol is routed to), with plain stores of
 * whole f64 words, as the stage statistics are; counts only grow and are exact integers to 2^53.
 * Readers read each word plainly: an aligned 8-byte word is read whole, so a reader sees each count
 * as it was at some recent instant (a monitoring view; the exact figures of a run are its ledger).
 */

/** First word of a counter table. */
export const MAGIC = 0xc0c7ab1e | 0
export const VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const ROWS_OFFSET = 8
export const COLUMNS_OFFSET = 12
export const KIND_OFFSET = 16
export const USER_OFFSET = 20
export const USER_WORDS = 11
/** Where row 0 starts. */
export const HEADER_BYTES = 64

export const byteLength = (rows: number, columns: number): number => HEADER_BYTES + rows * columns * 8

/** A fresh, zeroed table; `kind` tells tables of different stages apart; `user` words go in the header. */
export const makeTable = (rows: number, columns: number, kind: number, user: ReadonlyArray<number> = []): SharedArrayBuffer => {
  if (!(Number.isInteger(rows) && rows >= 1 && rows <= 1 << 24)) throw new RangeError(`rows must be an integer in 1..${1 << 24}: rows=${rows}`)
  if (!(Number.isInteger(columns) && columns >= 1 && columns <= 64)) {
    throw new RangeError(`columns must be an integer in 1..64: columns=${columns}`)
  }
  const buffer = new SharedArrayBuffer(byteLength(rows, columns))
  const words = new Int32Array(buffer, 0, HEADER_BYTES / 4)
  words[VERSION_OFFSET >> 2] = VERSION
  words[ROWS_OFFSET >> 2] = rows
  words[COLUMNS_OFFSET >> 2] = columns
  words[KIND_OFFSET >> 2] = kind
  if (user.length > USER_WORDS) throw new RangeError(`at most ${USER_WORDS} user words: ${user.length}`)
  user.forEach((w, i) => {
    words[(USER_OFFSET >> 2) + i] = w
  })
  // publish: a table whose header is complete (readers check the magic first).
  Atomics.store(words, MAGIC_OFFSET >> 2, MAGIC)
  return buffer
}

/** A counter table's shape and user words. */
export interface Shape {
  readonly rows: number
  readonly columns: number
  readonly user: ReadonlyArray<number>
}

/** The shape of a counter table of `kind`, or undefined when `u` is not one. */
export const tableShape = (u: unknown, kind: number): Shape | undefined => {
  if (!(u instanceof SharedArrayBuffer) || u.byteLength < HEADER_BYTES) return undefined
  const words = new Int32Array(u, 0, HEADER_BYTES / 4)
  // acquire: the header, complete once the magic is there.
  if (Atomics.load(words, MAGIC_OFFSET >> 2) !== MAGIC || words[VERSION_OFFSET >> 2] !== VERSION) return undefined
  if (words[KIND_OFFSET >> 2] !== kind) return undefined
  const rows = words[ROWS_OFFSET >> 2]!
  const columns = words[COLUMNS_OFFSET >> 2]!
  if (u.byteLength !== byteLength(rows, columns)) return undefined
  return { rows, columns, user: Array.from(words.subarray(USER_OFFSET >> 2, (USER_OFFSET >> 2) + USER_WORDS)) }
}

/** The rows of a counter table of `kind` with `columns` columns, or -1 when `u` is not one. */
export const tableRows = (u: unknown, kind: number, columns: number): number => {
  const shape = tableShape(u, kind)
  return shape !== undefined && shape.columns === columns ? shape.rows : -1
}

/** The counts, as f64 words: count (row, column) is at `HEADER_BYTES / 8 + row × columns + column`. */
export const countsOf = (buffer: SharedArrayBuffer): Float64Array => new Float64Array(buffer)

/** Index of count (row, column) in {@link countsOf}. */
export const indexOf = (columns: number, row: number, column: number): number => HEADER_BYTES / 8 + row * columns + column

/** Sums each column over every row. */
export const sumColumns = (buffer: SharedArrayBuffer, columns: number): Array<number> => {
  const counts = countsOf(buffer)
  const rows = (buffer.byteLength - HEADER_BYTES) / 8 / columns
  const sums = new Array<number>(columns).fill(0)
  let i = HEADER_BYTES / 8
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) sums[c]! += counts[i++]!
  }
  return sums
}
