/**
 * The consuming process of the `nats` suite: reads `records` records of the bench layout from stream
 * BENCH (subject `bench.0`), through velox (`NatsIngress` into a counting, timing sink edge) or the
 * raw client (`consume`, ack per message), checks every sequence arrived exactly once, and prints one
 * JSON line: when the last record arrived, and the latency from each record's publish stamp
 * (CLOCK_MONOTONIC, comparable across processes) to its arrival at the consumer's stage.
 *
 *   node natsBridge.consumer.ts <url> <velox|raw> <records>
 */
import { Effect, Layer } from "effect"
import { jetstream, AckPolicy } from "@nats-io/jetstream"
import { connect } from "@nats-io/transport-node"
import { Edge, Pipeline, RecordLayout } from "@velox/core"
import { NodeStageHost } from "@velox/node"
import { NatsClient, NatsConfig, NatsIngress } from "@velox/nats"
import { BenchRecord } from "./natsBridge.layout.ts"

const [url, mode, recordsText] = process.argv.slice(2) as [string, string, string]
const records = Number(recordsText)
const nowNs = () => Number(process.hrtime.bigint())

const seen = new Uint8Array(records)
let count = 0
const samples: Array<number> = []
const arrive = (seq: number, stampNs: number, t: number) => {
  if (!(seq >= 0 && seq < records) || seen[seq] !== 0) throw new Error(`sequence ${seq} out of range or seen twice`)
  seen[seq] = 1
  count++
  if ((seq & 15) === 0) samples.push(t - stampNs)
}
const report = () => {
  const sorted = samples.sort((a, b) => a - b)
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
  process.stdout.write(`${JSON.stringify({ lastNs: nowNs(), count, p50Ns: q(0.5), p99Ns: q(0.99), samples: sorted.length })}\n`)
}

if (mode === "raw") {
  const nc = await connect({ servers: url })
  const jsm = await (await import("@nats-io/jetstream")).jetstreamManager(nc)
  await jsm.consumers.add("BENCH", { durable_name: "raw", ack_policy: AckPolicy.Explicit, filter_subject: "bench.0", max_ack_pending: 1000 })
  const consumer = await jetstream(nc).consumers.get("BENCH", "raw")
  process.stdout.write("ready\n")
  const messages = await consumer.consume({ max_messages: 64 })
  for await (const m of messages) {
    const t = nowNs()
    const buffer = new ArrayBuffer(m.data.length)
    new Uint8Array(buffer).set(m.data)
    const f = new Float64Array(buffer)
    for (let i = 0; i < f.length; i += 4) arrive(f[i]!, f[i + 1]!, t)
    m.ack()
    if (count === records) break
  }
  report()
  await nc.drain()
} else {
  const ingress = NatsIngress.make({ name: "from-nats", layout: BenchRecord, stream: "BENCH", subjectPrefix: "bench", partitions: [0], durable: "velox", sequence: "seq" })
  const sink = Edge.sinkEffect({
    name: "stage",
    input: BenchRecord,
    onBatch: (batch: ReadonlyArray<RecordLayout.RecordOf<typeof BenchRecord.spec>>) =>
      Effect.sync(() => {
        const t = nowNs()
        for (const r of batch) arrive(r.seq, r.stampNs, t)
      })
  })
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const handle = yield* Pipeline.run(Pipeline.from(ingress.edge).to(sink))
    yield* ingress.attach(handle)
    process.stdout.write("ready\n")
    while (count < records) yield* Effect.sleep("1 millis")
    report()
  })).pipe(Effect.provide([NodeStageHost.layer, NatsClient.layer.pipe(Layer.provide(NatsConfig.layer({ servers: [url] })))])))
}
process.exit(0)
