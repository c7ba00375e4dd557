/**
 * Memory layout of a one-to-one ring in a `SharedArrayBuffer`.
 *
 * All offsets are bytes from the ring's `byteOffset` (a ring may live inside a larger buffer).
 * JS Atomics are sequentially consistent: every Atomics.store below is a full fence and every
 * Atomics.load sees all writes ordered before the store it reads. Plain typed-array reads are never
 * used to order anything.
 *
 * ```
 *   0 ┌──────────────────────────────┬───────┬──────────┬──────────────────────────────┐
 *     │ MAGIC       "VRNG"           │  4 B  │ creator  │ plain, before the ring is shared │
 *   4 │ VERSION                      │  4 B  │ creator  │ plain                         │
 *   8 │ CAPACITY    slots, 2^k       │  4 B  │ creator  │ plain                         │
 *  12 │ SLOT_BYTES  record stride    │  4 B  │ creator  │ plain                         │
 *  16 │ padding                      │ 108 B │          │                               │
 * 124 │ WANTS_ROOM 0 | 1             │  4 B  │ producer │ Atomics.store, on full / room │
 * 128 ├──────────────────────────────┼───────┼──────────┼───────────────────────────────┤
 *     │ TAIL   producer sequence     │  4 B  │ producer │ Atomics.store, once per batch │
 * 132 │ CLOSED 0 | 1                 │  4 B  │ producer │ Atomics.store, after last TAIL│
 * 136 │ padding                      │ 120 B │          │                               │
 * 256 ├──────────────────────────────┼───────┼──────────┼───────────────────────────────┤
 *     │ HEAD   consumer sequence     │  4 B  │ consumer │ Atomics.store, once per batch │
 * 260 │ padding                      │ 124 B │          │                               │
 * 384 ├──────────────────────────────┼───────┼──────────┼───────────────────────────────┤
 *     │ CONSUMER_BELL default bell   │  4 B  │ any      │ Atomics (see Doorbell)        │
 * 388 │ padding                      │ 124 B │          │                               │
 * 512 ├──────────────────────────────┼───────┼──────────┼───────────────────────────────┤
 *     │ PRODUCER_BELL default bell   │  4 B  │ any      │ Atomics (see Doorbell)        │
 * 516 │ padding                      │ 124 B │          │                               │
 * 640 ├──────────────────────────────┴───────┴──────────┴───────────────────────────────┤
 *     │ DATA: CAPACITY × SLOT_BYTES, slot i at DATA_OFFSET + i × SLOT_BYTES               │
 *     └───────────────────────────────────────────────────────────────────────────────────┘
 * ```
 *
 * Fields written by different threads never share a 128-byte block (TAIL, HEAD and the bells each
 * start one; CLOSED shares TAIL's, as both are the producer's, and WANTS_ROOM, the producer's too, ends
 * where TAIL starts: the first 8 bytes of TAIL's block and the last 4 before it are the only words no
 * 8-aligned placement puts in HEAD's line pair). 128, not 64: x86's adjacent-line
 * prefetcher fetches cache lines in pairs, so 64-byte padding still false-shares (Agrona pads so too).
 *
 * Sequences are 32-bit and wrap: `(tail - head) | 0` is the fill level as long as the capacity is below
 * 2^31, which {@link MAX_CAPACITY} guarantees.
 */

/** Cache-line pair: the distance between fields written by different threads. */
export const PADDED_LINE_BYTES = 128

export const MAGIC_OFFSET = 0
export const VERSION_OFFSET = 4
export const CAPACITY_OFFSET = 8
export const SLOT_BYTES_OFFSET = 12
export const TAIL_OFFSET = PADDED_LINE_BYTES
export const CLOSED_OFFSET = TAIL_OFFSET + 4
/**
 * 1 while the producer found the ring full and may park for room: only then does a release ring the
 * producer's bell (see `RingConsumer.release`). The producer's bell is also its loop's bell for other
 * work, so a release that rang it every batch would wake a producer that waits for something else.
 */
export const WANTS_ROOM_OFFSET = TAIL_OFFSET - 4
export const HEAD_OFFSET = PADDED_LINE_BYTES * 2
export const CONSUMER_BELL_OFFSET = PADDED_LINE_BYTES * 3
export const PRODUCER_BELL_OFFSET = PADDED_LINE_BYTES * 4
export const HEADER_BYTES = PADDED_LINE_BYTES * 5
export const DATA_OFFSET = HEADER_BYTES

/** "VRNG" in ASCII, read as a little-endian i32. */
export const MAGIC = 0x474e5256
/** 2: WANTS_ROOM (a version-1 consumer would not know to ring for it). */
export const VERSION = 2

/** Largest capacity, in slots, for which 32-bit wrapping sequences stay unambiguous. */
export const MAX_CAPACITY = 2 ** 30

export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0

/** Throws a `RangeError` naming the value when `capacity` is not a usable ring capacity. */
export const checkCapacity = (capacity: number): void => {
  if (!Number.isInteger(capacity) || capacity < 2 || capacity > MAX_CAPACITY || !isPowerOfTwo(capacity)) {
    throw new RangeError(`capacity must be a power of two between 2 and ${MAX_CAPACITY}: capacity=${capacity}`)
  }
}

/** Total bytes a ring of `capacity` slots of `slotBytes` occupies, header included. */
export const ringByteLength = (capacity: number, slotBytes: number): number => HEADER_BYTES + capacity * slotBytes
