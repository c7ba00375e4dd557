/**
 * Peer of `velox-workers-3` with no framework: the plain loop's exact work (`micro/oneToThreePipelinePlainLoop.ts`:
 * generate, copy ×3, check + count, batches of 256 × 32-byte records, the same functions) split across
 * two worker threads where velox's two-worker placement splits it, joined by a hand-written SPSC ring.
 * What a second thread buys a hand-written loop on this machine: the ceiling for
 * `ratio-velox-workers-vs-fused`.
 *
 * ```
 *   ┌─ W1 ──────────────────────────┐  ring   ┌─ W2 ──────────────────────────────────────────┐
 *   │ generate ─► copy 1 (into ring) │ ══════► │ copy 2 (out of ring) ─► copy 3 ─► check + count │
 *   └───────────────────────────────┘         └────────────────────────────────────────────────┘
 *   ══► `capacity` × 32-byte slots (a Float64Array over a SharedArrayBuffer); one TAIL store per batch
 *       publishes it, one HEAD store per batch hands it back
 * ```
 *
 * The control words, i32 in one SharedArrayBuffer, 128 bytes apart (no two on one cache line):
 *
 * | word | written by | how |
 * |---|---|---|
 * | TAIL: records published | W1 | Atomics.store after each batch |
 * | HEAD: records checked and released | W2 | Atomics.store after each batch |
 * | CLOSED | W1, after its final TAIL | Atomics.store |
 * | STOP | main thread | Atomics.store |
 * | W1_BELL, W2_BELL: 1 = that side may be parked | the parker arms, a waker disarms | Atomics.store |
 * | W1_PARKS, W2_PARKS: parks so far | that side | Atomics.store |
 * | W1_WAKES, W2_WAKES: notifies so far (that side woke the other) | that side | Atomics.add |
 *
 * And in a second buffer, per side, f64 [busy ms, records] (`BUSY_W1`, `BUSY_W2`, 128 bytes apart):
 * the time its batches' work took (plain stores, one writer; a detail, not a result).
 *
 * Idle, when a side cannot move (W1: the ring is full; W2: it is empty): `spin` pauses and polls;
 * `park` polls for `spinNs` (velox's backoff default, 50 µs), then arms its bell, re-checks and
 * `Atomics.wait`s until the other side rings (velox's doorbell protocol, written out). Sequences are
 * i32 words: a run stays far below 2^31 records.
 *
 * Measured as velox's rows are: the run waits until the first records are checked, `warmupMs` more,
 * then samples HEAD (records through the sink) and the main thread's clock twice, `durationMs` apart.
 * Then it stops W1, lets W2 drain, and checks before returning any number: W2 checked exactly what W1
 * generated, every check matched, every batch came in order.
 */
import { InconclusiveRun } from "../harness.ts"
import { makeGate, openGate, startWorker } from "./common.ts"
import { loopCpuNs } from "./loopCpu.ts"
import type { PlainThreadsReport, PlainThreadsWorkerData } from "./oneToThreePipelinePlainThreads.worker.ts"

/** i32 index of each control word (128 bytes apart). */
export const TAIL = 0
export const HEAD = 32
export const CLOSED = 64
export const STOP = 96
export const W1_BELL = 128
export const W2_BELL = 160
export const W1_PARKS = 192
export const W2_PARKS = 224
export const W1_WAKES = 256
export const W2_WAKES = 288
const CONTROL_BYTES = (W2_WAKES + 32) * 4
/** f64 index of each side's [busy ms, records] (16 f64 = 128 bytes apart). */
export const BUSY_W1 = 0
export const BUSY_W2 = 16
const BUSY_BYTES = (BUSY_W2 + 16) * 8

export interface Params {
  readonly idle: "spin" | "park"
  /** With `park`: how long a side polls before it parks. */
  readonly spinNs: number
  readonly batch: number
  /** Slots in the ring; a power of two and a multiple of `batch`. */
  readonly ringCapacity: number
  /** Untimed, after the first records were checked. */
  readonly warmupMs: number
  readonly durationMs: number
  /** Longest wait for the first records to be checked (worker start-up). */
  readonly startTimeoutMs: number
}

const WORKER = new URL("./oneToThreePipelinePlainThreads.worker.ts", import.meta.url)
/** Thread names (`/proc/self/task/*\/comm`): W1 is the "source" `loopCpuNs` splits out. */
const THREAD_PREFIX = "peer:"
const W1_NAME = "peer:w1"

interface Sample {
  readonly checked: number
  readonly parks: number
  readonly w1Parks: number
  readonly wakes: number
  readonly w1Wakes: number
  readonly fill: number
  readonly wallMs: number
  readonly cpuUs: number
  readonly threadsNs: number
  /** Per side: [busy ms, records in batches counted]. */
  readonly w1Busy: readonly [number, number]
  readonly w2Busy: readonly [number, number]
}

const nsPerRecord = (a: readonly [number, number], b: readonly [number, number]): number =>
  ((b[0] - a[0]) * 1e6) / (b[1] - a[1])

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = `plain threads (idle=${params.idle}, batch=${params.batch})`
  const { batch, ringCapacity } = params
  if (!(Number.isInteger(Math.log2(ringCapacity)) && ringCapacity % batch === 0)) {
    throw new RangeError(`${label}: ringCapacity must be a power of two and a multiple of batch: ${ringCapacity}`)
  }
  const control = new SharedArrayBuffer(CONTROL_BYTES)
  const words = new Int32Array(control)
  const slots = new SharedArrayBuffer(ringCapacity * 32)
  const busyBuffer = new SharedArrayBuffer(BUSY_BYTES)
  const busy = new Float64Array(busyBuffer)
  const gate = makeGate()
  const base = { control, slots, busy: busyBuffer, capacity: ringCapacity, batch, idle: params.idle, spinNs: params.spinNs, gate }
  const w1 = startWorker<PlainThreadsReport>(WORKER, { ...base, role: "w1" } satisfies PlainThreadsWorkerData, [], W1_NAME)
  const w2 = startWorker<PlainThreadsReport>(WORKER, { ...base, role: "w2" } satisfies PlainThreadsWorkerData, [], "peer:w2")
  await Promise.all([w1.ready, w2.ready])
  openGate(gate)

  const sample = (): Sample => {
    const checked = Atomics.load(words, HEAD)
    // Right after HEAD (the fill is tail − head at one moment): published and not yet checked.
    const fill = (Atomics.load(words, TAIL) - checked) / ringCapacity
    const cpu = process.cpuUsage()
    const threads = loopCpuNs(W1_NAME, THREAD_PREFIX)
    const w1Parks = Atomics.load(words, W1_PARKS)
    const w1Wakes = Atomics.load(words, W1_WAKES)
    return {
      checked,
      parks: w1Parks + Atomics.load(words, W2_PARKS),
      w1Parks,
      wakes: w1Wakes + Atomics.load(words, W2_WAKES),
      w1Wakes,
      fill,
      wallMs: performance.now(),
      cpuUs: cpu.user + cpu.system,
      threadsNs: threads.source + threads.others,
      w1Busy: [busy[BUSY_W1]!, busy[BUSY_W1 + 1]!],
      w2Busy: [busy[BUSY_W2]!, busy[BUSY_W2 + 1]!]
    }
  }
  const stop = () => {
    Atomics.store(words, STOP, 1)
    Atomics.notify(words, W1_BELL)
  }

  let a: Sample
  let b: Sample
  try {
    const startDeadline = performance.now() + params.startTimeoutMs
    while (Atomics.load(words, HEAD) === 0) {
      if (performance.now() > startDeadline) {
        throw new InconclusiveRun(`${label}: no record was checked within ${params.startTimeoutMs} ms`)
      }
      await sleep(5)
    }
    await sleep(params.warmupMs)
    a = sample()
    await sleep(params.durationMs)
    b = sample()
  } finally {
    stop()
  }
  const [r1, r2] = await Promise.all([w1.done, w2.done])
  if (r1.records === 0 || r2.records !== r1.records || r2.good !== r2.records || r2.misordered !== 0) {
    throw new Error(
      `${label}: check failed: generated=${r1.records} checked=${r2.records} good=${r2.good} misordered=${r2.misordered}`
    )
  }
  const timed = b.checked - a.checked
  const wallMs = b.wallMs - a.wallMs
  if (!(timed > 0)) throw new Error(`${label}: nothing was timed: Δchecked=${timed}`)
  return {
    mrecPerSecond: timed / wallMs / 1e3,
    timedRecords: timed,
    records: r1.records,
    // The same figures velox's rows give (see topology/oneToThreePipelineThroughput.ts).
    mrecPerCpuSecond: b.threadsNs > a.threadsNs ? (timed / (b.threadsNs - a.threadsNs)) * 1e3 : timed / (b.cpuUs - a.cpuUs),
    cpuCores: (b.cpuUs - a.cpuUs) / 1e3 / wallMs,
    parksPerMrec: ((b.parks - a.parks) / timed) * 1e6,
    sourceParksPerMrec: ((b.w1Parks - a.w1Parks) / timed) * 1e6,
    otherParksPerMrec: ((b.parks - b.w1Parks - (a.parks - a.w1Parks)) / timed) * 1e6,
    wakesPerMrec: ((b.wakes - a.wakes) / timed) * 1e6,
    sourceWakesPerMrec: ((b.w1Wakes - a.w1Wakes) / timed) * 1e6,
    otherWakesPerMrec: ((b.wakes - b.w1Wakes - (a.wakes - a.w1Wakes)) / timed) * 1e6,
    ringFill: (a.fill + b.fill) / 2,
    // Each side's work per record (its batches' time, those the OS interrupted left out), in ns: the
    // slower side bounds the pair at 1e3 / max Mrec/s with a core each; their sum is the one-thread loop's.
    w1NsPerRecord: nsPerRecord(a.w1Busy, b.w1Busy),
    w2NsPerRecord: nsPerRecord(a.w2Busy, b.w2Busy)
  }
}
