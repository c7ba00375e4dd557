/**
 * What two cores give this work with no hand-off at all: the plain loop (`micro/oneToThreePipelinePlainLoop.ts`:
 * generate, copy ×3, check + count, batches of 256) run twice at once, a whole copy in each of two
 * worker threads, sharing nothing. Any split of the work across two threads (velox's `velox-workers-3`,
 * the hand-written `plain-threads-3`) adds a ring's hand-off to this, so its ratio to the one-thread loop
 * is the ceiling of theirs on this machine: on a VM whose two vCPUs are not two whole cores (SMT
 * siblings, a busy host), it is below 2.
 *
 * ```
 *   W1: generate ─► copy ─► copy ─► copy ─► check + count      (batch by batch)
 *   W2: generate ─► copy ─► copy ─► copy ─► check + count      (its own records, at the same time)
 * ```
 *
 * Both threads wait at one gate, then run the plain loop's own `run` (`warmupMs` untimed, `durationMs`
 * timed), so their timed windows coincide to within a thread's start; the rate is the sum of the two
 * threads' rates. Each thread checks its records (the plain loop's check) before it reports.
 */
import { makeGate, openGate, startWorker } from "./common.ts"
import type { Params as PlainLoopParams } from "../micro/oneToThreePipelinePlainLoop.ts"

export type Params = PlainLoopParams

export interface PlainLoopTwiceWorkerData {
  readonly gate: Int32Array
  readonly params: PlainLoopParams
}

const WORKER = new URL("./oneToThreePipelinePlainLoopTwice.worker.ts", import.meta.url)

export const run = async (params: Params): Promise<Record<string, number>> => {
  const gate = makeGate()
  const workers = [1, 2].map((n) => startWorker<Record<string, number>>(WORKER, { gate, params } satisfies PlainLoopTwiceWorkerData, [], `peer:loop${n}`))
  await Promise.all(workers.map((w) => w.ready))
  openGate(gate)
  const reports = await Promise.all(workers.map((w) => w.done))
  const rates = reports.map((r) => r["mrecPerSecond"]!)
  const records = reports.reduce((n, r) => n + r["timedRecords"]!, 0)
  // mrecPerCpuSecond is records per µs of the thread's CPU: the µs, summed, are records ÷ that.
  const cpuUs = reports.reduce((us, r) => us + r["timedRecords"]! / r["mrecPerCpuSecond"]!, 0)
  return {
    mrecPerSecond: rates[0]! + rates[1]!,
    // Each thread's own rate: two whole cores give each the one-thread loop's.
    threadMrecPerSecondMin: Math.min(...rates),
    threadMrecPerSecondMax: Math.max(...rates),
    mrecPerCpuSecond: records / cpuUs,
    timedRecords: records
  }
}
