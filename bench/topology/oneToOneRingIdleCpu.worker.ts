/**
 * Worker side of `oneToOneRingIdleCpu.ts`: a consumer with BackoffIdleStrategy on an empty ring.
 * See that file for the topology.
 */
import { parentPort, workerData } from "node:worker_threads"
import { BackoffIdleStrategy, END_OF_STREAM, makeNanoClock, RingConsumer, type RingHandle } from "@velox/core/unsafe"

export interface IdleCpuWorkerData {
  readonly handle: RingHandle
  readonly epochNs: number
  readonly idleMs: number
  readonly maxParkNs: number | null
}

export interface IdleCpuReport {
  readonly records: number
  readonly sawEnd: boolean
  readonly parks: number
  /** This thread's user + system CPU over the idle period, in µs. */
  readonly cpuUs: number
  readonly wallMs: number
  /** Shared-clock time at which the consumer ran again after the close. */
  readonly wokeNs: number
}

const data = workerData as IdleCpuWorkerData
const clock = makeNanoClock(data.epochNs)
const consumer = new RingConsumer(data.handle)
const idle = new BackoffIdleStrategy(
  consumer.consumerBell,
  () => consumer.hasWork(),
  data.maxParkNs === null ? {} : { maxParkNs: data.maxParkNs }
)

parentPort!.postMessage("ready")
const cpu0 = process.threadCpuUsage()
const t0 = performance.now()
let records = 0
let sawEnd = false
for (;;) {
  const n = consumer.poll(256)
  if (n === END_OF_STREAM) {
    sawEnd = true
    break
  }
  records += n
  consumer.release(n)
  idle.idle(n)
}
const wokeNs = clock.nowNs()
const wallMs = performance.now() - t0
const cpu = process.threadCpuUsage(cpu0)
const report: IdleCpuReport = {
  records,
  sawEnd,
  parks: idle.parkCount,
  cpuUs: cpu.user + cpu.system,
  wallMs,
  wokeNs
}
parentPort!.postMessage(report)
