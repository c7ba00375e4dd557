/**
 * Records between two processes through JetStream: velox (`NatsEgress` → `NatsIngress`) beside the
 * raw `@nats-io` client publishing and consuming the same bytes, in batches of 256 records of 32
 * bytes, one message per batch.
 *
 * ```
 *   this process                                  nats-server (JetStream,      consumer process
 *   ┌────────────────────────────────────┐         file store, stream BENCH)   ┌──────────────────────────────────┐
 *   │ velox: fromBatches ─► NatsEgress    │ ─pub─►  bench.0  ──────────pull──► │ NatsIngress ─► ring ─► sink stage │
 *   │ raw:   js.publish(256 × 32 B), await│  ◄ack─                             │ raw: consume(), ack per message   │
 *   └────────────────────────────────────┘                                    └──────────────────────────────────┘
 * ```
 *
 * A run: start nats-server and the consumer process, then publish `records` records (as fast as acks
 * allow, or paced at `ratePerSec`), each stamped with CLOCK_MONOTONIC at its batch's creation. The
 * throughput is `records` over the time from the first publish to the consumer's last arrival; the
 * latency is from the stamp to the record's arrival at the consumer's stage (every 16th record). The
 * consumer checks every sequence arrived exactly once; a run that fails the check throws.
 */
import { fileURLToPath } from "node:url"
import { Effect, Layer, Stream } from "effect"
import { headers as natsHeaders } from "@nats-io/transport-node"
import { Edge, Pipeline, RecordLayout } from "@velox/core"
import { NodeStageHost } from "@velox/node"
import { NatsClient, NatsConfig, NatsEgress, NatsServer } from "@velox/nats"
import { BenchRecord } from "./natsBridge.layout.ts"
import { spawnNodeChild } from "./nodeChild.ts"

export interface Params {
  readonly mode: "velox" | "raw"
  readonly records: number
  /** Records per second, paced per batch; 0: as fast as it goes. */
  readonly ratePerSec: number
}

const BATCH = 256
const CONSUMER = fileURLToPath(new URL("./natsBridge.consumer.ts", import.meta.url))
const nowNs = () => Number(process.hrtime.bigint())

const batchView = (b: number) => {
  const view = RecordLayout.view(BenchRecord, new ArrayBuffer(BATCH * BenchRecord.byteLength), 0, BATCH)
  const stamp = nowNs()
  for (let i = 0; i < BATCH; i++) {
    const seq = b * BATCH + i
    RecordLayout.writeUnsafe(view, i, { seq, stampNs: stamp, price: 100 + (seq % 100) / 100, symbol: seq % 64, flags: 0 })
  }
  return view
}

export const run = (params: Params): Promise<Record<string, number>> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const batches = Math.ceil(params.records / BATCH)
    const records = batches * BATCH
    const server = yield* NatsServer.start()
    const client = yield* Layer.build(NatsClient.layer.pipe(Layer.provide(NatsConfig.layer({
      servers: [server.url],
      streams: [{ name: "BENCH", subjects: ["bench.>"] }]
    }))))
    const consumer = yield* spawnNodeChild(CONSUMER, [server.url, params.mode, String(records)], { stdin: "ignore", killSignal: "SIGKILL" })
    yield* consumer.waitFor(/ready\n/, "before it was ready")
    const intervalNs = params.ratePerSec > 0 ? (BATCH / params.ratePerSec) * 1e9 : 0
    const t0 = nowNs()
    const paced = (b: number) => {
      const due = t0 + b * intervalNs
      const wait = (due - nowNs()) / 1e6
      return wait > 0.05 ? Effect.sleep(wait) : Effect.void
    }
    if (params.mode === "velox") {
      const egress = NatsEgress.make({ name: "to-nats", layout: BenchRecord, subjectPrefix: "bench", key: "symbol", sequence: "seq", feed: "bench", epoch: 1 })
      const views = Stream.range(0, batches - 1).pipe(Stream.mapEffect((b) => paced(b).pipe(Effect.andThen(Effect.sync(() => batchView(b))))))
      const { ledger } = yield* Pipeline.runToEnd(Pipeline.from(Edge.fromBatches(BenchRecord, views, { name: "batches", capacity: 32 * BATCH })).to(egress.edge), { batchSize: 8192 }).pipe(
        Effect.provide(client)
      )
      if (!ledger.balanced || egress.stats().recordsAcked !== records) throw new Error(`velox published ${egress.stats().recordsAcked} of ${records}`)
    } else {
      const { jetstream } = yield* NatsClient.NatsClient.pipe(Effect.provide(client))
      for (let b = 0; b < batches; b++) {
        yield* paced(b)
        const view = batchView(b)
        const h = natsHeaders()
        h.set("Velox-Count", String(BATCH))
        h.set("Velox-Seq", `${b * BATCH}-${b * BATCH + BATCH - 1}`)
        yield* Effect.promise(() => jetstream.publish("bench.0", new Uint8Array(view.words64.buffer), { msgID: `bench.1.${b * BATCH}`, headers: h }))
      }
    }
    const line = yield* consumer.waitFor(/^.*lastNs.*$/m, "without a result")
    const result = JSON.parse(line[0]) as { lastNs: number; count: number; p50Ns: number; p99Ns: number }
    if (result.count !== records) throw new Error(`consumer got ${result.count} of ${records}`)
    return {
      mrecPerSec: records / ((result.lastNs - t0) / 1e9) / 1e6,
      p50Ms: result.p50Ns / 1e6,
      p99Ms: result.p99Ns / 1e6,
      records
    }
  }).pipe(Effect.provide(NodeStageHost.layer))))
