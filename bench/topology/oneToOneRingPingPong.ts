/**
 * Round-trip latency between two workers over two one-to-one rings (ping → echo → pong).
 *
 * ```
 *   main thread (idle: starts the workers, opens the gate, collects the report)
 *
 *                 ping ring (capacity 64 × 32 B)
 *   ┌────────────┐ ─────────────► [ ping ] ─────────────► ┌────────────┐
 *   │ pinger (W1)│                                        │  echo (W2) │  check 4 fields,
 *   │ times each │ ◄───────────── [ pong ] ◄───────────── │            │  copy to pong
 *   └────────────┘                 pong ring              └────────────┘
 * ```
 *
 * One record in flight at a time. The pinger writes record `seq` (all four fields), publishes, waits
 * for the pong, checks that all four fields came back, and timestamps it with `performance.now()`
 * (one clock read per round trip, so every sample includes one read, about 20-50 ns: the report
 * measures it). The first `warmup` round trips are not sampled; sampling stops after `roundTrips`
 * samples or `maxMs`, whichever comes first. Then a block of up to `blockRoundTrips` more round trips is
 * timed as a whole: its mean has no per-sample clock read in it (but every stall of the block).
 *
 * `idle: "spin"`: both sides `BusySpinIdleStrategy`. `idle: "park"`: both sides
 * `BackoffIdleStrategy` with `maxSpins: 0` and a long park, so every wait parks on the doorbell and
 * every round trip pays two `Atomics.notify` wake-ups: the latency of a pipeline that was asleep.
 */
import { makeRing } from "@velox/core/unsafe"
import { InconclusiveRun } from "../harness.ts"
import { BenchRecord, epochNs, makeGate, openGate, startWorker } from "./common.ts"
import type { PingPongReport, PingPongWorkerData } from "./oneToOneRingPingPong.worker.ts"

export interface Params {
  readonly roundTrips: number
  readonly warmup: number
  /** Round trips timed as one block after the samples (0: none). */
  readonly blockRoundTrips: number
  readonly maxMs: number
  readonly idle: "spin" | "park"
}

const WORKER = new URL("./oneToOneRingPingPong.worker.ts", import.meta.url)
const RING_CAPACITY = 64
const MIN_SAMPLES = 10_000

export const run = async (params: Params): Promise<Record<string, number>> => {
  const ping = makeRing({ capacity: RING_CAPACITY, slotBytes: BenchRecord.byteLength })
  const pong = makeRing({ capacity: RING_CAPACITY, slotBytes: BenchRecord.byteLength })
  const gate = makeGate()
  const common = { ping, pong, gate, epochNs: epochNs(), ...params }
  const echo = startWorker<PingPongReport>(WORKER, { ...common, role: "echo" } satisfies PingPongWorkerData)
  const pinger = startWorker<PingPongReport>(WORKER, { ...common, role: "pinger" } satisfies PingPongWorkerData)
  await Promise.all([echo.ready, pinger.ready])
  openGate(gate)
  const [p, e] = await Promise.all([pinger.done, echo.done])
  // Every ping came back intact and the echo saw exactly the pings sent.
  if (p.bad !== 0 || e.bad !== 0 || e.count !== p.count) {
    throw new Error(
      `velox ping-pong (${params.idle}): check failed: pinger=${p.count} echo=${e.count} badPinger=${p.bad} badEcho=${e.bad}`
    )
  }
  // Enough samples for a p99.9; the time box cuts a run short when the machine starves the threads.
  if (p.samples < MIN_SAMPLES || (params.blockRoundTrips > 0 && p.blockRoundTrips === 0)) {
    throw new InconclusiveRun(
      `velox ping-pong (${params.idle}): ${p.samples} samples in ${params.maxMs} ms (need ${MIN_SAMPLES}), then ${p.blockRoundTrips} in the timed block: the threads were starved`
    )
  }
  return {
    p50Ns: p.p50Ns,
    p99Ns: p.p99Ns,
    p999Ns: p.p999Ns,
    maxNs: p.maxNs,
    ...(params.blockRoundTrips > 0 ? { meanNs: p.blockMeanNs } : {}),
    blockRoundTrips: p.blockRoundTrips,
    clockReadNs: p.clockReadNs,
    samples: p.samples,
    parksPerRoundTrip: (p.parks + e.parks) / p.count
  }
}
