/**
 * Worker side of `postMessageThroughput.ts`: the producer or the consumer of a MessageChannel stream.
 * See that file for the topology.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads"
import { makeNanoClock } from "@velox/core/unsafe"
import {
  awaitCredit,
  type ConsumerReport,
  grantCredit,
  type ProducerReport,
  RECORD_F64S,
  type StreamTiming,
  StreamTimer,
  waitGate
} from "./common.ts"

export interface PostMessageWorkerData extends StreamTiming {
  readonly role: "producer" | "consumer"
  readonly port: MessagePort
  readonly gate: Int32Array
  readonly credit: Int32Array
  readonly epochNs: number
  readonly window: number
  readonly recordsPerMessage: number
}

/** What the object peer sends, one per record. */
interface RecordObject {
  readonly seq: number
  readonly a: number
  readonly b: number
  readonly c: number
}

const data = workerData as PostMessageWorkerData
const clock = makeNanoClock(data.epochNs)
const { port, credit, window, recordsPerMessage } = data

/** Message that ends the stream (the consumer does not know the count in advance). */
const END = "end"

const produce = (): ProducerReport => {
  parentPort!.postMessage("ready")
  waitGate(data.gate)
  const timer = new StreamTimer(clock.nowNs, data)
  const n = recordsPerMessage
  let seq = 0
  while (timer.tick(seq)) {
    awaitCredit(credit, seq + n - 1, window)
    if (n === 1) {
      const message: RecordObject = { seq, a: seq + 0.5, b: seq * 2, c: -seq }
      port.postMessage(message)
    } else {
      const buffer = new ArrayBuffer(n * RECORD_F64S * 8)
      const f64 = new Float64Array(buffer)
      let w = 0
      for (let i = 0; i < n; i++) {
        const s = seq + i
        f64[w] = s
        f64[w + 1] = s + 0.5
        f64[w + 2] = s * 2
        f64[w + 3] = -s
        w += RECORD_F64S
      }
      port.postMessage(buffer, [buffer])
    }
    seq += n
  }
  port.postMessage(END)
  // Stay until the consumer has checked everything, so nothing is left behind a closing port.
  awaitCredit(credit, seq, 1)
  port.close()
  return timer.report(seq)
}

const consume = (): void => {
  let seq = 0
  let bad = 0
  const finish = () => {
    port.close()
    const report: ConsumerReport = { received: seq, bad, endNs: clock.nowNs() }
    parentPort!.postMessage(report)
  }
  port.on("message", (message: RecordObject | ArrayBuffer | typeof END) => {
    if (message === END) {
      finish()
      return
    }
    if (message instanceof ArrayBuffer) {
      const f64 = new Float64Array(message)
      const n = f64.length / RECORD_F64S
      let w = 0
      for (let i = 0; i < n; i++) {
        const s = seq + i
        if (f64[w] !== s || f64[w + 1] !== s + 0.5 || f64[w + 2] !== s * 2 || f64[w + 3] !== -s) bad++
        w += RECORD_F64S
      }
      seq += n
    } else {
      const s = seq
      if (message.seq !== s || message.a !== s + 0.5 || message.b !== s * 2 || message.c !== -s) bad++
      seq++
    }
    grantCredit(credit, seq)
  })
  parentPort!.postMessage("ready")
}

if (data.role === "producer") parentPort!.postMessage(produce())
else consume()
