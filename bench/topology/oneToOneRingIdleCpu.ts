/**
 * CPU a parked consumer burns while its ring stays empty.
 *
 * ```
 *   main thread: holds the producer side, publishes nothing for `idleMs`, then closes the ring
 *        │
 *        ▼
 *   [ ring, empty ] ───────────► ┌───────────────┐  poll → 0 → BackoffIdleStrategy.idle(0):
 *                                │ consumer (W1) │  spin maxSpins, then park on its doorbell
 *                                └───────────────┘  (parks double up to maxParkNs)
 * ```
 *
 * The consumer measures its own thread's CPU time (`process.threadCpuUsage()`, which Node 24 has) from its
 * first poll to the moment it sees the end of the stream, and reports it as a percentage of one core
 * over that wall time. The check: no record arrived, the end of the stream did, and the consumer parked.
 * The close also times one wake-up: close on the main thread → consumer running again.
 */
import { makeNanoClock, makeRing, RingProducer } from "@velox/core/unsafe"
import { BenchRecord, epochNs, startWorker } from "./common.ts"
import type { IdleCpuReport, IdleCpuWorkerData } from "./oneToOneRingIdleCpu.worker.ts"

export interface Params {
  readonly idleMs: number
  /** Longest park of the consumer's BackoffIdleStrategy; `null`: park until rung (the default). */
  readonly maxParkNs: number | null
}

const WORKER = new URL("./oneToOneRingIdleCpu.worker.ts", import.meta.url)

export const run = async (params: Params): Promise<Record<string, number>> => {
  const handle = makeRing({ capacity: 1024, slotBytes: BenchRecord.byteLength })
  const producer = new RingProducer(handle)
  const epoch = epochNs()
  const clock = makeNanoClock(epoch)
  const consumer = startWorker<IdleCpuReport>(WORKER, { handle, epochNs: epoch, ...params } satisfies IdleCpuWorkerData)
  await consumer.ready
  await new Promise((resolve) => setTimeout(resolve, params.idleMs))
  const closeNs = clock.nowNs()
  producer.close()
  const r = await consumer.done
  if (r.records !== 0 || !r.sawEnd || r.parks === 0) {
    throw new Error(`velox idle consumer: check failed: records=${r.records} sawEnd=${r.sawEnd} parks=${r.parks}`)
  }
  return {
    cpuPercent: (r.cpuUs / 1e3 / r.wallMs) * 100,
    wallMs: r.wallMs,
    parks: r.parks,
    wakeUs: (r.wokeNs - closeNs) / 1e3
  }
}
