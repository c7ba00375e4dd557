/** What the NATS tests share: a layout, a client layer on a server, and a reader of a whole stream. */
import { Effect, Layer } from "effect"
import { RecordLayout } from "@velox/core"
import { NatsClient, NatsConfig } from "../src/index.ts"
import { layoutHashHex, parseSeqRange } from "../src/internal/kernel/batchFormat.ts"

export const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64", symbol: "u32" })

export const tick = (seq: number) => ({ seq, price: 100 + (seq % 1000) / 100, symbol: seq % 97 })

export const clientLayer = (url: string, input: NatsConfig.Input = {}) =>
  NatsClient.layer.pipe(Layer.provide(NatsConfig.layer({ servers: [url], reconnectWaitMs: 100, reconnectJitterMs: 50, ...input })))

export interface StoredBatch {
  readonly subject: string
  readonly seqs: ReadonlyArray<number>
  readonly records: ReadonlyArray<{ seq: number; price: number; symbol: number }>
  readonly header: Readonly<Record<string, string>>
}

/** Every message of `stream`, decoded as Tick batches, checking the headers against the payload. */
export const readStream = (stream: string) =>
  Effect.gen(function*() {
    const client = yield* NatsClient.NatsClient
    const info = yield* Effect.promise(() => client.manager.streams.info(stream))
    const out: Array<StoredBatch> = []
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = yield* Effect.promise(() => client.manager.streams.getMessage(stream, { seq }))
      if (m === null) continue
      const header: Record<string, string> = {}
      for (const k of m.header.keys()) header[k] = m.header.get(k)
      const count = Number(header["Velox-Count"])
      const buffer = new ArrayBuffer(m.data.length)
      new Uint8Array(buffer).set(m.data)
      if (m.data.length !== count * Tick.byteLength) throw new Error(`message ${seq}: ${m.data.length} bytes for ${count} records`)
      if (header["Velox-Layout"] !== layoutHashHex(Tick)) throw new Error(`message ${seq}: layout ${header["Velox-Layout"]}`)
      const view = RecordLayout.view(Tick, buffer, 0, count)
      const records = Array.from({ length: count }, (_, i) => RecordLayout.readUnsafe(view, i))
      const range = parseSeqRange(header["Velox-Seq"] ?? "")
      if (range === undefined || range[0] !== records[0]!.seq || range[1] !== records[count - 1]!.seq) {
        throw new Error(`message ${seq}: Velox-Seq ${header["Velox-Seq"]} does not match its records`)
      }
      out.push({ subject: m.subject, seqs: records.map((r) => r.seq), records, header })
    }
    return out
  })
