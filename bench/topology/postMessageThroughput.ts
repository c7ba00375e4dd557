/**
 * Peers of `oneToOneRingThroughput.ts`: the same stream of 32-byte records between two workers over a
 * `MessageChannel`, either one `postMessage` of a plain object per record ("object"), or records packed
 * `recordsPerMessage` at a time into an ArrayBuffer that is transferred, not copied ("transfer-256").
 *
 * ```
 *   main thread (idle: starts the workers, opens the gate, collects the reports)
 *
 *   ┌──────────────┐  postMessage({seq,a,b,c})             ┌──────────────┐
 *   │ producer (W1)│  or postMessage(buf, [buf])           │ consumer (W2)│  'message' → check the
 *   │              │ ─────────► [ MessageChannel ] ───────►│              │  4 fields of every record
 *   └──────────────┘                                       └──────┬───────┘
 *          ▲        credit: records checked (one SAB word)        │
 *          └──────────────────────────────────────────────────────┘
 * ```
 *
 * At most `window` records are in flight (the credit word), as the ring's capacity bounds the ring.
 * The producer sends for `warmupMs` + `durationMs` (see `StreamTimer`), then a final "end" message.
 * The transfer producer allocates a fresh ArrayBuffer per message (a transferred buffer is gone from
 * the sender). Timing as in the ring bench: from the producer's first timed record to the consumer's
 * last check, on the shared clock.
 */
import { MessageChannel } from "node:worker_threads"
import {
  checkStream,
  type ConsumerReport,
  epochNs,
  makeCredit,
  makeGate,
  openGate,
  type ProducerReport,
  type StreamTiming,
  startWorker,
  throughputValues
} from "./common.ts"

export interface Params extends StreamTiming {
  /** Records in flight at most (as the ring's capacity). */
  readonly window: number
  /** Records per message: 1 sends one object per record; more sends a transferred ArrayBuffer. */
  readonly recordsPerMessage: number
}

const WORKER = new URL("./postMessageThroughput.worker.ts", import.meta.url)

export const run = async (params: Params): Promise<Record<string, number>> => {
  const { port1, port2 } = new MessageChannel()
  const gate = makeGate()
  const credit = makeCredit()
  const common = { gate, credit, epochNs: epochNs(), ...params }
  const consumer = startWorker<ConsumerReport>(WORKER, { ...common, role: "consumer", port: port2 }, [port2])
  const producer = startWorker<ProducerReport>(WORKER, { ...common, role: "producer", port: port1 }, [port1])
  await Promise.all([consumer.ready, producer.ready])
  openGate(gate)
  const [p, c] = await Promise.all([producer.done, consumer.done])
  checkStream(`postMessage ${params.recordsPerMessage === 1 ? "object" : `transfer-${params.recordsPerMessage}`}`, p, c)
  return throughputValues(p, c)
}
