/**
 * Shared pieces of the cross-thread benches: the 32-byte bench record, the reports, the start gate,
 * worker spawning, flow control for the postMessage peers, time-boxed streams and the stream check.
 *
 * The bench record is four f64 fields, 32 bytes:
 *
 * ```
 *  0 ┌─────┬─────┬─────┬─────┐ 32
 *    │ seq │  a  │  b  │  c  │     a = seq + 0.5, b = 2·seq, c = −seq
 *    └─────┴─────┴─────┴─────┘
 * ```
 *
 * Every producer writes all four fields of every record and every consumer reads all four and checks
 * them against the sequence it expects, so a lost, duplicated, reordered or torn record is counted as
 * bad and fails the run.
 */
import { type TransferListItem, Worker } from "node:worker_threads"
import { absoluteNs, makeLayout } from "@velox/core/unsafe"

export const BenchRecord = makeLayout("BenchRecord", { seq: "f64", a: "f64", b: "f64", c: "f64" })

/** f64 words per record (the transfer peer packs records by hand with this stride). */
export const RECORD_F64S = BenchRecord.byteLength / 8

/** What every consumer worker reports back. */
export interface ConsumerReport {
  readonly received: number
  readonly bad: number
  /** Nanoseconds on the shared clock when the consumer saw the end of the stream. */
  readonly endNs: number
}

/** What every producer worker reports back. */
export interface ProducerReport {
  readonly sent: number
  /** Sequence of the first timed record (the ones before it warm the JIT up). */
  readonly timedFromSeq: number
  /** Nanoseconds on the shared clock when the first timed record was claimed. */
  readonly startNs: number
}

/**
 * A one-word gate in shared memory: workers get ready (attach, calibrate, JIT the setup), report
 * "ready", then block in `waitGate` until the main thread opens it, so neither side starts early.
 */
export const makeGate = (): Int32Array => new Int32Array(new SharedArrayBuffer(4))

export const waitGate = (gate: Int32Array): void => {
  // acquire: the gate opens once; wait returns "not-equal" if it already did.
  while (Atomics.load(gate, 0) === 0) Atomics.wait(gate, 0, 0, 1000)
}

export const openGate = (gate: Int32Array): void => {
  // publish: both sides may start.
  Atomics.store(gate, 0, 1)
  Atomics.notify(gate, 0)
}

/** A bench worker: `ready` resolves on its first message ("ready"), `done` on its second (the report). */
export interface BenchWorker<R> {
  readonly ready: Promise<void>
  readonly done: Promise<R>
}

export const startWorker = <R>(
  url: URL,
  data: unknown,
  transferList: ReadonlyArray<TransferListItem> = [],
  /** The thread's name (what `/proc/self/task/*\/comm` shows, cut to 15 characters). */
  name?: string
): BenchWorker<R> => {
  const ready = Promise.withResolvers<void>()
  const done = Promise.withResolvers<R>()
  // A crash before "ready" rejects both; only `done` is required to be awaited.
  ready.promise.catch(() => {})
  const fail = (e: unknown) => {
    ready.reject(e)
    done.reject(e)
  }
  const worker = new Worker(url, { workerData: data, transferList: [...transferList], ...(name === undefined ? {} : { name }) })
  let messages = 0
  worker.on("message", (m: unknown) => {
    if (messages++ === 0) ready.resolve()
    else done.resolve(m as R)
  })
  worker.on("error", fail)
  worker.on("exit", (code) => {
    if (code !== 0) fail(new Error(`bench worker ${url.pathname} exited with code=${code}`))
    else if (messages < 2) fail(new Error(`bench worker ${url.pathname} exited before reporting`))
  })
  return { ready: ready.promise, done: done.promise }
}

/**
 * Flow control for the postMessage peers: a shared word counting the records the consumer has
 * checked. The producer keeps at most `window` records in flight (spinning while it may not send),
 * like the ring's capacity bounds the ring; without it the producer floods the port and the run
 * measures memory growth instead of a pipeline.
 */
export const makeCredit = (): Int32Array => new Int32Array(new SharedArrayBuffer(4))

export const awaitCredit = (credit: Int32Array, sent: number, window: number): void => {
  // acquire: the consumer has checked everything up to this count.
  while (sent - Atomics.load(credit, 0) >= window) pause()
}

export const grantCredit = (credit: Int32Array, checked: number): void => {
  // publish: records up to `checked` are done; the producer may send more.
  Atomics.store(credit, 0, checked)
}

/** `Atomics.pause` where the runtime has it (Node 24 does). */
export const pause: () => void = typeof (Atomics as { pause?: () => void }).pause === "function"
  ? (Atomics as unknown as { pause: () => void }).pause
  : () => {}

/** This thread's CPU time since construction, as a percentage of one core over the wall time. */
export class CpuMeter {
  private readonly cpu0 = process.threadCpuUsage()
  private readonly t0 = performance.now()

  percent(): number {
    const cpu = process.threadCpuUsage(this.cpu0)
    return ((cpu.user + cpu.system) / 1e3 / (performance.now() - this.t0)) * 100
  }
}

/** An epoch for `makeNanoClock`, taken on the main thread and handed to every worker. */
export const epochNs = (): number => absoluteNs()

/**
 * Time-boxed streams: the producer sends for `warmupMs` (JIT warm-up, not timed), then for `durationMs`
 * (timed), then closes. A run lasts about as long on a quiet machine as on a busy one; the record count
 * is whatever the producer managed, and the consumer must have checked exactly that many.
 */
export interface StreamTiming {
  readonly warmupMs: number
  readonly durationMs: number
}

/** The producer's clock: call `tick(seq)` before each batch; it returns false when time is up. */
export class StreamTimer {
  timedFromSeq = 0
  startNs = 0
  private timing = false
  private readonly t0: number
  private readonly warmupNs: number
  private readonly durationNs: number
  private readonly nowNs: () => number

  constructor(nowNs: () => number, timing: StreamTiming) {
    this.nowNs = nowNs
    this.warmupNs = timing.warmupMs * 1e6
    this.durationNs = timing.durationMs * 1e6
    this.t0 = nowNs()
  }

  tick(seq: number): boolean {
    const now = this.nowNs()
    if (this.timing) return now - this.startNs < this.durationNs
    if (now - this.t0 >= this.warmupNs) {
      this.timing = true
      this.timedFromSeq = seq
      this.startNs = now
    }
    return true
  }

  report(sent: number): ProducerReport {
    return { sent, timedFromSeq: this.timedFromSeq, startNs: this.startNs }
  }
}

/** Throws unless the consumer checked exactly what the producer sent, every record good. */
export const checkStream = (name: string, p: ProducerReport, c: ConsumerReport): void => {
  if (c.received !== p.sent || c.bad !== 0 || p.sent - p.timedFromSeq <= 0) {
    throw new Error(
      `${name}: stream check failed: sent=${p.sent} received=${c.received} bad=${c.bad} timedFromSeq=${p.timedFromSeq}`
    )
  }
  if (!(c.endNs > p.startNs)) throw new Error(`${name}: clock check failed: startNs=${p.startNs} endNs=${c.endNs}`)
}

/** Records per second over the timed part of the stream, in millions. */
export const mrecPerSecond = (p: ProducerReport, c: ConsumerReport): number =>
  ((p.sent - p.timedFromSeq) / (c.endNs - p.startNs)) * 1e3

/** The numbers every throughput case returns. */
export const throughputValues = (p: ProducerReport, c: ConsumerReport): Record<string, number> => ({
  mrecPerSecond: mrecPerSecond(p, c),
  timedRecords: p.sent - p.timedFromSeq,
  records: p.sent
})
