/**
 * Worker side of `oneToOneRingPingPong.ts`: the pinger (times round trips) or the echo.
 * See that file for the topology.
 */
import { parentPort, workerData } from "node:worker_threads"
import {
  BackoffIdleStrategy,
  BusySpinIdleStrategy,
  END_OF_STREAM,
  type IdleStrategy,
  RingConsumer,
  type RingHandle,
  RingProducer,
  ringView
} from "@velox/core/unsafe"
import { BenchRecord, waitGate } from "./common.ts"

export interface PingPongWorkerData {
  readonly role: "pinger" | "echo"
  readonly ping: RingHandle
  readonly pong: RingHandle
  readonly gate: Int32Array
  readonly epochNs: number
  readonly roundTrips: number
  readonly warmup: number
  /** Round trips timed as one block after the sampled ones: a mean without per-sample clock reads. */
  readonly blockRoundTrips: number
  /** Stop sampling after this long even if fewer than `roundTrips` samples were taken (busy machine). */
  readonly maxMs: number
  readonly idle: "spin" | "park"
}

export interface PingPongReport {
  /** Round trips (pinger) or echoes (echo) completed. */
  readonly count: number
  readonly bad: number
  readonly parks: number
  readonly samples: number
  readonly p50Ns: number
  readonly p99Ns: number
  readonly p999Ns: number
  readonly maxNs: number
  /** Mean round trip of the block timed without per-sample clock reads (NaN if time ran out first). */
  readonly blockMeanNs: number
  readonly blockRoundTrips: number
  /** Cheapest `performance.now()` read seen on this thread: the cost included in every sample. */
  readonly clockReadNs: number
}

const data = workerData as PingPongWorkerData

/** A park long enough that only a ring of the bell ends it (the timeout is a safety net). */
const PARK_NS = 100_000_000

const makeIdle = (consumer: RingConsumer): IdleStrategy & { readonly parkCount?: number } =>
  data.idle === "spin"
    ? new BusySpinIdleStrategy()
    : new BackoffIdleStrategy(consumer.consumerBell, () => consumer.hasWork(), {
      maxSpins: 0,
      minParkNs: PARK_NS,
      maxParkNs: PARK_NS
    })

/** Nearest-rank percentile of sorted samples. */
const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

const cheapestClockReadNs = (): number => {
  let best = Infinity
  for (let i = 0; i < 10_000; i++) {
    const t0 = performance.now()
    const t1 = performance.now()
    if (t1 - t0 < best) best = t1 - t0
  }
  return best * 1e6
}

/** The block reads the clock once per this many round trips, only to respect `maxMs`. */
const BLOCK_CLOCK_EVERY = 1024

const pinger = (): PingPongReport => {
  const out = new RingProducer(data.ping)
  const inp = new RingConsumer(data.pong)
  const outView = ringView(data.ping, BenchRecord).fields
  const inView = ringView(data.pong, BenchRecord).fields
  const idle = makeIdle(inp)
  const { roundTrips, warmup } = data
  const total = warmup + roundTrips

  /** One ping → pong; returns 1 if the pong is not the ping's four fields, else 0. */
  const roundTrip = (seq: number): number => {
    // The ping ring has room: one record is in flight at a time.
    if (out.claim(1) !== 1) throw new Error(`pinger: ping ring full at seq=${seq}`)
    const slot = out.claimIndex
    outView.seq.set(slot, seq)
    outView.a.set(slot, seq + 0.5)
    outView.b.set(slot, seq * 2)
    outView.c.set(slot, -seq)
    out.publish(1)
    let n = inp.poll(1)
    while (n === 0) {
      idle.idle(0)
      n = inp.poll(1)
    }
    idle.idle(n)
    const r = inp.readIndex
    const bad = n !== 1 || inView.seq.get(r) !== seq || inView.a.get(r) !== seq + 0.5 ||
      inView.b.get(r) !== seq * 2 || inView.c.get(r) !== -seq
    inp.release(1)
    return bad ? 1 : 0
  }

  // Warm-up round trips are recorded too and dropped before sorting: no branch flips when sampling starts.
  const samplesNs = new Float64Array(total)
  const clockReadNs = cheapestClockReadNs()
  parentPort!.postMessage("ready")
  waitGate(data.gate)
  let bad = 0
  let last = performance.now()
  const deadline = last + data.maxMs
  let seq = 0
  for (; seq < total && last < deadline; seq++) {
    bad += roundTrip(seq)
    const now = performance.now()
    samplesNs[seq] = (now - last) * 1e6
    last = now
  }
  const sampled = seq
  // The block: same round trips, no clock read per round trip.
  const blockStart = performance.now()
  let blockEnd = blockStart
  const blockUntil = seq + data.blockRoundTrips
  while (seq < blockUntil && blockEnd < deadline) {
    bad += roundTrip(seq++)
    if (seq % BLOCK_CLOCK_EVERY === 0) blockEnd = performance.now()
  }
  blockEnd = performance.now()
  const blockCount = seq - sampled
  out.close()
  while (inp.poll(1) !== END_OF_STREAM) idle.idle(0)
  const sorted = samplesNs.subarray(Math.min(warmup, sampled), sampled).sort()
  return {
    count: seq,
    bad,
    parks: idle.parkCount ?? 0,
    samples: sorted.length,
    p50Ns: percentile(sorted, 0.5),
    p99Ns: percentile(sorted, 0.99),
    p999Ns: percentile(sorted, 0.999),
    maxNs: sorted[sorted.length - 1] ?? NaN,
    blockMeanNs: blockCount > 0 ? ((blockEnd - blockStart) * 1e6) / blockCount : NaN,
    blockRoundTrips: blockCount,
    clockReadNs
  }
}

const echo = (): PingPongReport => {
  const inp = new RingConsumer(data.ping)
  const out = new RingProducer(data.pong)
  const inView = ringView(data.ping, BenchRecord).fields
  const outView = ringView(data.pong, BenchRecord).fields
  const idle = makeIdle(inp)
  parentPort!.postMessage("ready")
  waitGate(data.gate)
  let count = 0
  let bad = 0
  for (;;) {
    const n = inp.poll(1)
    if (n === END_OF_STREAM) break
    if (n === 0) {
      idle.idle(0)
      continue
    }
    const r = inp.readIndex
    const seq = inView.seq.get(r)
    const a = inView.a.get(r)
    const b = inView.b.get(r)
    const c = inView.c.get(r)
    if (seq !== count || a !== seq + 0.5 || b !== seq * 2 || c !== -seq) bad++
    if (out.claim(1) !== 1) throw new Error(`echo: pong ring full at seq=${seq}`)
    const w = out.claimIndex
    outView.seq.set(w, seq)
    outView.a.set(w, a)
    outView.b.set(w, b)
    outView.c.set(w, c)
    out.publish(1)
    inp.release(1)
    count++
    idle.idle(1)
  }
  out.close()
  return {
    count,
    bad,
    parks: idle.parkCount ?? 0,
    samples: 0,
    p50Ns: NaN,
    p99Ns: NaN,
    p999Ns: NaN,
    maxNs: NaN,
    blockMeanNs: NaN,
    blockRoundTrips: 0,
    clockReadNs: NaN
  }
}

parentPort!.postMessage(data.role === "pinger" ? pinger() : echo())
