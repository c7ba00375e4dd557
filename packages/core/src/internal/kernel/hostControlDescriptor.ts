/**
 * Memory layout of a host's control block: how the control plane steers one running loop (a worker
 * or a fused chain), and where the loop keeps what must survive its own restart.
 *
 * ```
 *   0 ┌──────────────────────┬──────┬──────────────┬─────────────────────────────────────────┐
 *     │ STOP            i32  │  4 B │ control plane│ Atomics.store 1: a source stops producing │
 *     │                      │      │              │ and drains; other hosts ignore it        │
 *   4 │ ABORT           i32  │  4 B │ control plane│ Atomics.store 1: leave now, drain nothing │
 *   8 │ SINGLE_STEP     i32  │  4 B │ host         │ Atomics.store: records left to take one   │
 *     │                      │      │              │ at a time, after a crash in a batch       │
 *  12 │ SUSPECT_CRASHES i32  │  4 B │ host         │ Atomics.store: crashes on the record at   │
 *     │                      │      │              │ the head of the input                      │
 *  16 │ QUARANTINE      i32  │  4 B │ host         │ Atomics.store 1: dead-letter the head      │
 *     │                      │      │              │ record on the next start                   │
 *  20 │ RUN             i32  │  4 B │ host         │ Atomics.add on every (re)start             │
 *  24 │ padding              │104 B │              │                                           │
 * 128 └──────────────────────┴──────┴──────────────┴─────────────────────────────────────────┘
 * ```
 * The host polls STOP and ABORT once per loop pass and while it waits for space; the control plane
 * rings the host's bell after storing them, so a parked host sees them at once.
 */
export const STOP_INDEX = 0
export const ABORT_INDEX = 1
export const SINGLE_STEP_INDEX = 2
export const SUSPECT_CRASHES_INDEX = 3
export const QUARANTINE_INDEX = 4
export const RUN_INDEX = 5
export const CONTROL_BLOCK_BYTES = 128

export const makeControlBlock = (): SharedArrayBuffer => new SharedArrayBuffer(CONTROL_BLOCK_BYTES)
