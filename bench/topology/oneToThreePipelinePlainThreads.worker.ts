/**
 * Worker side of `oneToThreePipelinePlainThreads.ts`: W1 (generate + copy 1 into the ring) or W2 (copy 2
 * out of the ring, copy 3, check + count), with a hand-written SPSC ring and nothing of velox. See that
 * file for the topology and the shared words.
 */
import { parentPort, workerData } from "node:worker_threads"
import { checkAndCount, copy, F64S, generate } from "../micro/oneToThreePipelinePlainLoop.ts"
import { pause, waitGate } from "./common.ts"
import * as W from "./oneToThreePipelinePlainThreads.ts"

export interface PlainThreadsWorkerData {
  readonly role: "w1" | "w2"
  /** The shared words (`W`): i32 each, 128 bytes apart. */
  readonly control: SharedArrayBuffer
  /** The ring's slots: `capacity` × 32-byte records. */
  readonly slots: SharedArrayBuffer
  readonly capacity: number
  readonly batch: number
  /** "spin": pause and poll, never sleep; "park": poll for `spinNs`, then park until rung. */
  readonly idle: "spin" | "park"
  readonly spinNs: number
  readonly gate: Int32Array
  /** Per side, f64 [busy ms, records] (`W.BUSY_*`): the time spent in its work, batch by batch. */
  readonly busy: SharedArrayBuffer
}

export interface PlainThreadsReport {
  /** W1: records generated and published. W2: records checked. */
  readonly records: number
  /** W2: records whose check matched. */
  readonly good: number
  /** W2: batches whose first sequence was not the one expected (lost, repeated or out of order). */
  readonly misordered: number
}

const data = workerData as PlainThreadsWorkerData
const words = new Int32Array(data.control)
const busy = new Float64Array(data.busy)
/**
 * A batch's work (with its hand-off: the store that publishes or releases it, and the bell) takes
 * microseconds; one that took longer was interrupted by the OS: not counted.
 */
const INTERRUPTED_MS = 0.2

/**
 * Adds a batch's work time to this side's busy figure, unless the OS interrupted it. Plain f64 stores
 * (one writer; the main thread reads two sums for a detail, an aligned 8-byte store is not torn on x64).
 */
const countBusy = (at: number, t0: number, t1: number): void => {
  if (t1 - t0 < INTERRUPTED_MS) {
    busy[at] = busy[at]! + (t1 - t0)
    busy[at + 1] = busy[at + 1]! + batch
  }
}
const batch = data.batch
const mask = data.capacity - 1
// One view per batch-sized run of slots, made once: a batch never wraps (capacity is a multiple of the
// batch), so every hand-off through the ring is one of these.
const ringBatches = Array.from(
  { length: data.capacity / batch },
  (_, k) => new Float64Array(data.slots, k * batch * F64S * 8, batch * F64S)
)

/** Wakes the other side if it is parked (or about to): the doorbell's Dekker handshake. */
const ring = (bell: number, wakes: number): void => {
  // acquire: ordered after the caller's TAIL or HEAD store.
  if (Atomics.load(words, bell) !== 0) {
    Atomics.store(words, bell, 0)
    Atomics.notify(words, bell)
    Atomics.add(words, wakes, 1)
  }
}

/** What a side does when it cannot move: pause and poll, or poll for `spinNs` and then park. */
class Idler {
  parks = 0
  private spinSinceMs = -1
  private readonly spinMs = data.spinNs / 1e6
  private readonly bell: number
  private readonly parksWord: number
  private readonly ready: () => boolean

  constructor(bell: number, parksWord: number, ready: () => boolean) {
    this.bell = bell
    this.parksWord = parksWord
    this.ready = ready
  }

  /** The side moved: the next idle spins first again. */
  worked(): void {
    this.spinSinceMs = -1
  }

  idle(): void {
    if (data.idle === "spin") return pause()
    const now = performance.now()
    if (this.spinSinceMs < 0) this.spinSinceMs = now
    if (now - this.spinSinceMs < this.spinMs) return pause()
    // publish: "I may be asleep"; then re-check, so a publish after this store rings us.
    Atomics.store(words, this.bell, 1)
    if (this.ready()) {
      Atomics.store(words, this.bell, 0)
      return
    }
    this.parks++
    Atomics.store(words, this.parksWord, this.parks)
    // The protocol wakes us; the timeout only bounds a stop's wait.
    Atomics.wait(words, this.bell, 1, 10)
    Atomics.store(words, this.bell, 0)
  }
}

const stopped = (): boolean => Atomics.load(words, W.STOP) !== 0

/** Generate + copy 1, straight into the ring, batch after batch until stopped; then close. */
const runW1 = (): PlainThreadsReport => {
  const buffer = new ArrayBuffer(batch * F64S * 8)
  const f64 = new Float64Array(buffer)
  const u32 = new Uint32Array(buffer)
  let tail = 0
  let cachedHead = 0
  let seq = 0
  const hasRoom = () => (tail - Atomics.load(words, W.HEAD)) !== data.capacity || stopped()
  const idler = new Idler(W.W1_BELL, W.W1_PARKS, hasRoom)
  while (!stopped()) {
    if (tail - cachedHead === data.capacity) {
      // acquire: slots up to HEAD were read; only re-read when the cached value is not enough.
      cachedHead = Atomics.load(words, W.HEAD)
      if (tail - cachedHead === data.capacity) {
        idler.idle()
        continue
      }
    }
    idler.worked()
    const t0 = performance.now()
    generate(f64, u32, seq, batch)
    copy(f64, ringBatches[(tail & mask) / batch]!, batch)
    tail += batch
    seq += batch
    // publish: every slot written before this store is visible to W2 once it loads TAIL.
    Atomics.store(words, W.TAIL, tail)
    ring(W.W2_BELL, W.W1_WAKES)
    countBusy(W.BUSY_W1, t0, performance.now())
  }
  // publish: CLOSED after the final TAIL.
  Atomics.store(words, W.CLOSED, 1)
  ring(W.W2_BELL, W.W1_WAKES)
  return { records: seq, good: 0, misordered: 0 }
}

/** Copy 2 out of the ring, copy 3, check + count, batch after batch until closed and empty. */
const runW2 = (): PlainThreadsReport => {
  const b2 = new Float64Array(batch * F64S)
  const b3 = new Float64Array(batch * F64S)
  let head = 0
  let cachedTail = 0
  let good = 0
  let misordered = 0
  const hasRecords = () => Atomics.load(words, W.TAIL) !== head || Atomics.load(words, W.CLOSED) !== 0
  const idler = new Idler(W.W2_BELL, W.W2_PARKS, hasRecords)
  for (;;) {
    if (cachedTail === head) {
      // acquire: slots up to TAIL were fully written before W1 stored it.
      cachedTail = Atomics.load(words, W.TAIL)
      if (cachedTail === head) {
        // acquire: CLOSED is stored after the final TAIL, so re-read TAIL after seeing it.
        if (Atomics.load(words, W.CLOSED) !== 0 && Atomics.load(words, W.TAIL) === head) break
        idler.idle()
        continue
      }
    }
    idler.worked()
    const t0 = performance.now()
    const slots = ringBatches[(head & mask) / batch]!
    // One comparison per batch: a lost, repeated or reordered batch (a torn record fails its check).
    if (slots[0] !== head) misordered++
    copy(slots, b2, batch)
    copy(b2, b3, batch)
    good += checkAndCount(b3, batch)
    head += batch
    // publish: the slots may be overwritten (and the main thread samples HEAD as the sink's progress).
    Atomics.store(words, W.HEAD, head)
    ring(W.W1_BELL, W.W2_WAKES)
    countBusy(W.BUSY_W2, t0, performance.now())
  }
  return { records: head, good, misordered }
}

parentPort!.postMessage("ready")
waitGate(data.gate)
parentPort!.postMessage(data.role === "w1" ? runW1() : runW2())
