/**
 * Worker side of `oneToOneRingThroughput.ts`: the producer or the consumer of one ring, BusySpin.
 * See that file for the topology.
 */
import { parentPort, workerData } from "node:worker_threads"
import {
  BackoffIdleStrategy,
  BusySpinIdleStrategy,
  END_OF_STREAM,
  type IdleStrategy,
  makeNanoClock,
  RingConsumer,
  type RingHandle,
  RingProducer,
  ringView
} from "@velox/core/unsafe"
import {
  BenchRecord,
  type ConsumerReport,
  CpuMeter,
  type ProducerReport,
  RECORD_F64S,
  type StreamTiming,
  waitGate
} from "./common.ts"

export interface ThroughputWorkerData extends StreamTiming {
  readonly role: "producer" | "consumer"
  readonly handle: RingHandle
  readonly gate: Int32Array
  readonly epochNs: number
  readonly batch: number
  /** "spin": BusySpin on both sides; "backoff": BackoffIdleStrategy defaults (spin, then park on the bell). */
  readonly idle: "spin" | "backoff"
  /** "view": the layout's field accessors (the framework's API); "raw": one Float64Array, hand-indexed. */
  readonly access: "view" | "raw"
}

const data = workerData as ThroughputWorkerData
const clock = makeNanoClock(data.epochNs)
const view = ringView(data.handle, BenchRecord)
const { seq: seqField, a: aField, b: bField, c: cField } = view.fields
const f64 = new Float64Array(view.words.buffer, view.byteOffset, view.slotCount * RECORD_F64S)

// The per-record loops are small functions called once per batch (the shape a stage's batch handler
// has): V8 optimises them as ordinary hot functions instead of relying on on-stack replacement of one
// big loop.

const writeView = (slot: number, seq: number, n: number): void => {
  for (let i = 0; i < n; i++) {
    const s = seq + i
    seqField.set(slot, s)
    aField.set(slot, s + 0.5)
    bField.set(slot, s * 2)
    cField.set(slot, -s)
    slot++
  }
}

const writeRaw = (slot: number, seq: number, n: number): void => {
  let w = slot * RECORD_F64S
  for (let i = 0; i < n; i++) {
    const s = seq + i
    f64[w] = s
    f64[w + 1] = s + 0.5
    f64[w + 2] = s * 2
    f64[w + 3] = -s
    w += RECORD_F64S
  }
}

/** Returns how many of the `n` records starting at `slot` do not match sequence `seq`. */
const checkView = (slot: number, seq: number, n: number): number => {
  let bad = 0
  for (let i = 0; i < n; i++) {
    const s = seq + i
    // Every field of a good record is read; the first mismatch short-circuits a bad one.
    if (seqField.get(slot) !== s || aField.get(slot) !== s + 0.5 || bField.get(slot) !== s * 2 || cField.get(slot) !== -s) {
      bad++
    }
    slot++
  }
  return bad
}

const checkRaw = (slot: number, seq: number, n: number): number => {
  let bad = 0
  let w = slot * RECORD_F64S
  for (let i = 0; i < n; i++) {
    const s = seq + i
    if (f64[w] !== s || f64[w + 1] !== s + 0.5 || f64[w + 2] !== s * 2 || f64[w + 3] !== -s) bad++
    w += RECORD_F64S
  }
  return bad
}

/** A side's report plus the share of a core its thread got from the gate to the end. */
export type WithCpu<R> = R & { readonly cpuPercent: number }

type Write = (slot: number, seq: number, n: number) => void

/**
 * Claims, writes and publishes batches until `deadlineNs`; returns the next sequence. The warm-up and
 * the timed phase run this same function, so the code V8 optimised during warm-up is the code that is
 * timed (a phase switch inside one loop deoptimises it right when timing starts). One clock read per
 * batch.
 */
const pump = (
  producer: RingProducer,
  write: Write,
  idle: IdleStrategy,
  batch: number,
  seq: number,
  deadlineNs: number
): number => {
  while (clock.nowNs() < deadlineNs) {
    const n = producer.claim(batch)
    write(producer.claimIndex, seq, n)
    producer.publish(n)
    seq += n
    idle.idle(n)
  }
  return seq
}

const produce = (): WithCpu<ProducerReport> => {
  const write = data.access === "view" ? writeView : writeRaw
  const producer = new RingProducer(data.handle)
  const idle: IdleStrategy = data.idle === "spin"
    ? new BusySpinIdleStrategy()
    : new BackoffIdleStrategy(producer.producerBell, () => producer.hasSpace())
  parentPort!.postMessage("ready")
  waitGate(data.gate)
  const cpu = new CpuMeter()
  const timedFromSeq = pump(producer, write, idle, data.batch, 0, clock.nowNs() + data.warmupMs * 1e6)
  const startNs = clock.nowNs()
  const sent = pump(producer, write, idle, data.batch, timedFromSeq, startNs + data.durationMs * 1e6)
  producer.close()
  return { sent, timedFromSeq, startNs, cpuPercent: cpu.percent() }
}

const consume = (): WithCpu<ConsumerReport> => {
  const check = data.access === "view" ? checkView : checkRaw
  const batch = data.batch
  const consumer = new RingConsumer(data.handle)
  const idle: IdleStrategy = data.idle === "spin"
    ? new BusySpinIdleStrategy()
    : new BackoffIdleStrategy(consumer.consumerBell, () => consumer.hasWork())
  parentPort!.postMessage("ready")
  waitGate(data.gate)
  const cpu = new CpuMeter()
  let seq = 0
  let bad = 0
  for (;;) {
    const n = consumer.poll(batch)
    if (n === END_OF_STREAM) break
    bad += check(consumer.readIndex, seq, n)
    seq += n
    consumer.release(n)
    idle.idle(n)
  }
  return { received: seq, bad, endNs: clock.nowNs(), cpuPercent: cpu.percent() }
}

parentPort!.postMessage(data.role === "producer" ? produce() : consume())
