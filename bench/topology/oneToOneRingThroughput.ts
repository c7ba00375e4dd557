/**
 * One-to-one ring throughput across two worker threads.
 *
 * ```
 *   main thread: starts the workers, opens the gate, collects the reports (idle in between)
 *
 *   ┌───────────────┐      ┌─────────────────────────┐      ┌───────────────┐
 *   │ producer (W1) │ ───► │ ring: capacity × 32 B   │ ───► │ consumer (W2) │
 *   └───────────────┘      └─────────────────────────┘      └───────────────┘
 *    claim(batch)                                             poll(batch)
 *    write 4 fields per record                                check 4 fields per record
 *    publish: one TAIL store per batch                        release: one HEAD store per batch
 * ```
 *
 * The producer writes records `{seq, a, b, c}` in batches of up to `batch` for `warmupMs` (not timed:
 * JIT warm-up) and then `durationMs` (timed), then closes the ring; the consumer checks every field of
 * every record against the sequence, and must have checked exactly what was sent. The clock starts
 * when the producer claims its first timed record and stops when the consumer sees the end of the
 * stream (both read the same cross-thread nanosecond clock).
 *
 * `idle: "spin"` is the headline (BusySpin, two dedicated cores); `"backoff"` uses the default
 * BackoffIdleStrategy on both sides (producer parks while the ring is full, consumer while it is empty).
 */
import { makeRing } from "@velox/core/unsafe"
import {
  BenchRecord,
  checkStream,
  type ConsumerReport,
  epochNs,
  makeGate,
  openGate,
  type ProducerReport,
  type StreamTiming,
  startWorker,
  throughputValues
} from "./common.ts"
import type { ThroughputWorkerData, WithCpu } from "./oneToOneRingThroughput.worker.ts"

export interface Params extends StreamTiming {
  readonly batch: number
  readonly capacity: number
  readonly access: ThroughputWorkerData["access"]
  readonly idle: ThroughputWorkerData["idle"]
}

const WORKER = new URL("./oneToOneRingThroughput.worker.ts", import.meta.url)

export const run = async (params: Params): Promise<Record<string, number>> => {
  const handle = makeRing({ capacity: params.capacity, slotBytes: BenchRecord.byteLength })
  const gate = makeGate()
  const common = { handle, gate, epochNs: epochNs(), ...params }
  const consumer = startWorker<WithCpu<ConsumerReport>>(WORKER, { ...common, role: "consumer" } satisfies ThroughputWorkerData)
  const producer = startWorker<WithCpu<ProducerReport>>(WORKER, { ...common, role: "producer" } satisfies ThroughputWorkerData)
  await Promise.all([consumer.ready, producer.ready])
  openGate(gate)
  const [p, c] = await Promise.all([producer.done, consumer.done])
  checkStream("velox one-to-one", p, c)
  // With BusySpin each side should get a whole core; much less means the machine was oversubscribed
  // and the spinning pair was time-sliced (see bench/README.md).
  return {
    ...throughputValues(p, c),
    producerCpuPercent: p.cpuPercent,
    consumerCpuPercent: c.cpuPercent
  }
}
