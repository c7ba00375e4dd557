/**
 * Memory layout of a pipeline's user counters: named counters and gauges that stages declare and
 * update from their hot loops, allocated from one `SharedArrayBuffer` (after Agrona's
 * `CountersManager`: a metadata record per counter, labelled, and a value per counter).
 *
 * The control plane allocates every counter before any loop starts (one run per stage instance, in
 * the order the stage declares them) and is the only writer of the header and the metadata. A value
 * is written by the one thread that runs its stage, once per loop pass (the pass's commit), and read
 * by anyone at any time. Values are f64: a plain aligned typed-array access is tear-free in the JS
 * memory model, and the stage's commit bumps its stats block's HEARTBEAT with an `Atomics.add` after
 * writing them, so a reader that loads that HEARTBEAT first sees every value committed before it.
 * JS Atomics are sequentially consistent; nothing here relies on plain accesses for ordering.
 *
 * ```
 *   0 ┌──────────────────────┬──────┬──────────────┬──────────────────────────────────────────┐
 *     │ MAGIC "VCTR"    i32  │  4 B │ control plane│ Atomics.store, last of the header        │
 *   4 │ VERSION         i32  │  4 B │ control plane│ plain, before sharing                    │
 *   8 │ CAPACITY        i32  │  4 B │ control plane│ plain: metadata records and values       │
 *  12 │ ALLOCATED       i32  │  4 B │ control plane│ Atomics.store after each record: records │
 *     │                      │      │              │ in use (padding records included)        │
 *  16 │ padding              │112 B │              │                                          │
 * 128 ├──────────────────────┴──────┴──────────────┴──────────────────────────────────────────┤
 *     │ METADATA: CAPACITY records of 64 B, record i describes value i                        │
 *     │    0 STATE        i32  Atomics.store last: FREE, ALLOCATED or PADDING                 │
 *     │    4 KIND         i32  COUNTER (only grows) or GAUGE (set to any value)               │
 *     │    8 OWNER        i32  stats block index of the stage instance that writes it         │
 *     │   12 LABEL_LENGTH i32  bytes of the label                                             │
 *     │   16 LABEL        48 B UTF-8, the name the stage declared                             │
 * 128 + 64 × CAPACITY ├─────────────────────────────────────────────────────────────────────┤
 *     │ VALUES: CAPACITY f64, value i at VALUES_OFFSET + 8 i; an owner's run starts on a      │
 *     │ 128-byte boundary (PADDING records fill the gap), so two stages never share a line    │
 *     └───────────────────────────────────────────────────────────────────────────────────────┘
 * ```
 */
export const COUNTERS_MAGIC = 0x52544356 // "VCTR"
export const COUNTERS_VERSION = 1

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const CAPACITY_OFFSET = 8
export const ALLOCATED_OFFSET = 12
export const HEADER_BYTES = 128

export const RECORD_BYTES = 64
export const STATE_OFFSET = 0
export const KIND_OFFSET = 4
export const OWNER_OFFSET = 8
export const LABEL_LENGTH_OFFSET = 12
export const LABEL_OFFSET = 16
/** Longest label in UTF-8 bytes. */
export const MAX_LABEL_BYTES = RECORD_BYTES - LABEL_OFFSET

export const FREE = 0
export const ALLOCATED = 1
/** A record skipped to start the next owner's run on a new line pair. */
export const PADDING = 2

export const COUNTER = 0
export const GAUGE = 1

/** Values per 128 bytes: an owner's run starts at a multiple of this. */
export const VALUES_PER_LINE_PAIR = 16

export const metadataOffset = (index: number): number => HEADER_BYTES + index * RECORD_BYTES

export const valuesOffset = (capacity: number): number => HEADER_BYTES + capacity * RECORD_BYTES

export const countersByteLength = (capacity: number): number => valuesOffset(capacity) + capacity * 8

/** Capacity for owners declaring `counts[i]` values each: every run rounded up to a line pair. */
export const capacityFor = (counts: ReadonlyArray<number>): number =>
  counts.reduce((n, c) => n + Math.ceil(c / VALUES_PER_LINE_PAIR) * VALUES_PER_LINE_PAIR, 0)
