/**
 * Memory layout of a journal writer's statistics in a `SharedArrayBuffer`: written by the one thread
 * that runs the writer (a sink's worker), read by any thread without messages (the control plane,
 * an ops endpoint, a test).
 *
 * JS Atomics are sequentially consistent. The writer brackets each group of updates with two
 * Atomics.add on UPDATES (odd while it writes, even when done); a reader loads UPDATES, reads the
 * counters, loads UPDATES again, and retries when the two differ or are odd (a seqlock), so the
 * counters it returns belong to one instant (`durable ≤ written ≤ appended` always holds in them).
 * Counters are f64, exact to 2^53; plain aligned f64 accesses do not tear.
 *
 * ```
 *    0 ┌────────────────────────────┬──────┬─────────┬───────────────────────────────────────┐
 *      │ MAGIC "VJST"          i32  │  4 B │ creator │ plain, before sharing                  │
 *    4 │ VERSION               i32  │  4 B │ creator │ plain                                  │
 *    8 │ UPDATES               i32  │  4 B │ writer  │ Atomics.add ×2 around every update     │
 *   12 │ STATE                 i32  │  4 B │ writer  │ Atomics.store (JournalState)           │
 *   16 │ APPENDED              f64  │  8 B │ writer  │ plain: records accepted by append      │
 *   24 │ WRITTEN               f64  │  8 B │ writer  │ plain: records written to the OS       │
 *   32 │ DURABLE               f64  │  8 B │ writer  │ plain: records fsynced                 │
 *   40 │ WRITTEN_BYTES         f64  │  8 B │ writer  │ plain: bytes written this session      │
 *   48 │ BATCHES               f64  │  8 B │ writer  │ plain: batches written this session    │
 *   56 │ FSYNCS                f64  │  8 B │ writer  │ plain                                  │
 *   64 │ SEGMENTS              f64  │  8 B │ writer  │ plain: segment files now               │
 *   72 │ JOURNAL_BYTES         f64  │  8 B │ writer  │ plain: bytes of all segments now       │
 *   80 │ FIRST_SEQUENCE        f64  │  8 B │ writer  │ plain: oldest record kept (retention)  │
 *   88 │ OLDEST_NOT_DURABLE_NS f64  │  8 B │ writer  │ plain: wall ns the oldest record not   │
 *      │                            │      │         │ yet fsynced was appended; 0 for none   │
 *   96 │ LAST_FSYNC_NS         f64  │  8 B │ writer  │ plain: wall ns of the last fsync       │
 *  104 │ WRITE_ERRORS          f64  │  8 B │ writer  │ plain: failed writes and fsyncs        │
 *  112 │ RECOVERED_CUT_BYTES   f64  │  8 B │ writer  │ plain: torn tail cut when opened       │
 *  120 │ padding               8 B  │      │         │                                        │
 *  128 └────────────────────────────┴──────┴─────────┴───────────────────────────────────────┘
 * ```
 * APPENDED, WRITTEN and DURABLE count records since the journal began (they are sequences: the
 * record after the last one appended, written, fsynced), so they survive a reopen.
 */

export const STATS_MAGIC = 0x54534a56 // "VJST"
export const STATS_VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const UPDATES_OFFSET = 8
export const STATE_OFFSET = 12
export const APPENDED_OFFSET = 16
export const WRITTEN_OFFSET = 24
export const DURABLE_OFFSET = 32
export const WRITTEN_BYTES_OFFSET = 40
export const BATCHES_OFFSET = 48
export const FSYNCS_OFFSET = 56
export const SEGMENTS_OFFSET = 64
export const JOURNAL_BYTES_OFFSET = 72
export const FIRST_SEQUENCE_OFFSET = 80
export const OLDEST_NOT_DURABLE_NS_OFFSET = 88
export const LAST_FSYNC_NS_OFFSET = 96
export const WRITE_ERRORS_OFFSET = 104
export const RECOVERED_CUT_BYTES_OFFSET = 112
export const STATS_BYTES = 128

/** The writer's lifecycle, in STATE. */
export const WriterState = { NotOpen: 0, Open: 1, Closed: 2, Failed: 3 } as const
export type WriterState = (typeof WriterState)[keyof typeof WriterState]
