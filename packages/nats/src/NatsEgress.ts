/**
 * Egress: a sink edge that publishes the records reaching it to JetStream, as binary batches (see the
 * wire format in `NatsIngress` and the README):
 *
 * ```
 *  your stages ──▶ sink edge ──▶ split by partition ──▶ publish <prefix>.<p> ──▶ JetStream stream
 *                  (a batch)     (hash of the key        (Nats-Msg-Id names the content,
 *                                 field, e.g. symbol)     ≤ maxInFlight acks awaited)
 * ```
 *
 * - **Partitions.** Each record goes to subject `<subjectPrefix>.<partition>`, the partition a hash of
 *   its `key` field (`partitionOf`): all records of a symbol go to one partition, in order.
 * - **Dedup.** A message's `Nats-Msg-Id` is `<feed>.<epoch>.<first>-<last>.<count>.<hash>` (the hash
 *   of its sequences in order, so two messages share an id only when they hold the same records): a message published
 *   again (a retry after a lost ack, a restarted publisher) is dropped by the server within the
 *   stream's duplicate window; its ack says `duplicate`, counted in `duplicates`.
 * - **Acks.** A batch (the pipeline's `batchSize` records at most) is cut into messages of at most
 *   `recordsPerMessage` records per partition, published with at most `maxInFlight` acks awaited at
 *   once (a larger `batchSize` keeps more in flight), and the batch is released from its ring (counted delivered in the ledger) only once every message of it
 *   was acked.
 * - **Failures.** A publish that fails (no ack within `requestTimeoutMs`, no stream, the connection
 *   down) fails the batch with `NatsError` (`PublishFailed`); the batch is published again on the
 *   `retry` Schedule (messages already acked come back as duplicates, dropped by the server); past
 *   the schedule its records are dead-lettered under `NatsError`, counted: nothing is lost silently.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule } from "effect"
import { headers as natsHeaders } from "@nats-io/transport-node"
import { Edge, MetricsText, RecordLayout } from "@velox/core"
import * as F from "./internal/kernel/batchFormat.ts"
import { NatsClient } from "./NatsClient.ts"
import { describe, NatsError } from "./NatsError.ts"

type FieldSpec = RecordLayout.FieldSpec

/**
 * @category models
 * @since 0.1.0
 */
export interface Options<F extends FieldSpec> {
  /** The sink edge's name (its stage in `stats()`, the ledger and `/metrics`). */
  readonly name: string
  readonly layout: RecordLayout.RecordLayout<F>
  /** Subjects are `<subjectPrefix>.<partition>`; a stream must take them (e.g. `quotes.>`). */
  readonly subjectPrefix: string
  /** How many partitions (default 1). */
  readonly partitions?: number | undefined
  /** The field whose value picks the partition (a symbol id). */
  readonly key: keyof F & string
  /** The field holding each record's sequence: non-negative integers, rising, unique within (feed, epoch). */
  readonly sequence: keyof F & string
  /** The feed's name: letters, digits, `_` and `-`. */
  readonly feed: string
  /** The feed's epoch (a generation: raise it when sequences start over). */
  readonly epoch: number
  /** Records per message at most (default 256): a larger sink batch is published as several messages. */
  readonly recordsPerMessage?: number | undefined
  /** Publish acks awaited at once (default 64). */
  readonly maxInFlight?: number | undefined
  /** How a failed batch is published again; default: exponential from 100 ms (jittered, capped at 5 s), 10 times. */
  readonly retry?: Schedule.Schedule<unknown, NatsError> | undefined
}

/**
 * The egress's counts (exact).
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** Messages acked by the stream (new or duplicate) and the records in them. */
  readonly messagesAcked: number
  readonly recordsAcked: number
  /** Acked messages the server had already (dropped as duplicates by its `Nats-Msg-Id`). */
  readonly duplicates: number
  /** Publishes awaiting their ack now. */
  readonly inFlight: number
  readonly maxInFlight: number
  /** Publishes that failed (each failure makes its batch retried or, past the schedule, dead-lettered). */
  readonly publishFailures: number
  readonly lastError: string | undefined
}

/**
 * An egress: its sink edge, stats and ops extension.
 *
 * @category models
 * @since 0.1.0
 */
export interface Egress<F extends FieldSpec> {
  readonly edge: Edge.SinkEdge<F, NatsClient>
  readonly stats: () => Stats
  /** `/metrics` families `velox_nats_egress_*` (`NodePipelineServer.layerWith(egress.extension)`). */
  readonly extension: Extension
  /** The same families as data (`NatsHealth` joins those of several egresses). */
  readonly metricFamilies: () => ReadonlyArray<MetricFamily>
}

/**
 * A metric family for `/metrics`.
 *
 * @category models
 * @since 0.1.0
 */
export type MetricFamily = MetricsText.MetricFamily

/**
 * A part of the ops surface, in the shape of `NodePipelineServer.Extension`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Extension {
  readonly readiness: ReadonlyArray<() => string | undefined>
  /** Prometheus text. */
  readonly metrics: () => string
  readonly stats: () => Readonly<Record<string, unknown>>
}

const NAME = /^[A-Za-z0-9_-]+$/
const SUBJECT = /^[^\s*>]+$/

/**
 * The default retry: exponential from 100 ms, jittered, each delay capped at 5 s, 10 retries.
 *
 * @category constructors
 * @since 0.1.0
 */
export const defaultRetry: Schedule.Schedule<unknown, NatsError> = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.jittered,
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(5)))),
  Schedule.upTo({ times: 10 }),
  Schedule.setInputType<NatsError>()
)

/**
 * The partition of a key among `partitions` (as the egress computes it): a consumer of some
 * partitions uses it to know which symbols it owns.
 *
 * @category constructors
 * @since 0.1.0
 */
export const partitionOf: (key: number, partitions: number) => number = F.partitionOf

/**
 * Makes an egress: a sink edge to end a pipeline (or a branch) with, needing `NatsClient` from the
 * context of `Pipeline.run`. Throws `RangeError`/`TypeError` naming a bad option.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Edge, Pipeline, RecordLayout } from "@velox/core"
 * import { NodeStageHost } from "@velox/node"
 * import { NatsClient, NatsConfig, NatsEgress } from "@velox/nats"
 *
 * const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64", symbol: "u32" })
 * const ticks = Edge.source(Tick, { name: "ticks" })
 * const egress = NatsEgress.make({ name: "to-nats", layout: Tick, subjectPrefix: "ticks", partitions: 4, key: "symbol", sequence: "seq", feed: "ticks", epoch: 1 })
 *
 * const program = Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(Pipeline.from(ticks).to(egress.edge))
 *   yield* handle.writer(ticks).offer({ seq: 0, price: 101.5, symbol: 7 })
 *   yield* handle.writer(ticks).end
 *   yield* handle.done
 * }).pipe(
 *   Effect.scoped,
 *   Effect.provide([NodeStageHost.layer, NatsClient.layer.pipe(Layer.provide(NatsConfig.layer({ streams: [{ name: "TICKS", subjects: ["ticks.>"] }] })))])
 * )
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <F extends FieldSpec>(options: Options<F>): Egress<F> => {
  const partitions = options.partitions ?? 1
  const maxInFlight = options.maxInFlight ?? 64
  const recordsPerMessage = options.recordsPerMessage ?? 256
  const fieldNames = options.layout.fields.map((f) => f.name)
  if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= 65_536)) {
    throw new RangeError(`egress "${options.name}": partitions must be an integer in 1..65536: partitions=${partitions}`)
  }
  if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) {
    throw new RangeError(`egress "${options.name}": maxInFlight must be a positive integer: maxInFlight=${maxInFlight}`)
  }
  if (!(Number.isInteger(recordsPerMessage) && recordsPerMessage >= 1)) {
    throw new RangeError(`egress "${options.name}": recordsPerMessage must be a positive integer: recordsPerMessage=${recordsPerMessage}`)
  }
  if (!fieldNames.includes(options.key)) throw new TypeError(`egress "${options.name}": key field "${options.key}" is not in layout ${options.layout.name}`)
  if (!fieldNames.includes(options.sequence)) {
    throw new TypeError(`egress "${options.name}": sequence field "${options.sequence}" is not in layout ${options.layout.name}`)
  }
  if (!NAME.test(options.feed)) throw new TypeError(`egress "${options.name}": feed must be letters, digits, _ and -: feed=${JSON.stringify(options.feed)}`)
  if (!(Number.isInteger(options.epoch) && options.epoch >= 0 && options.epoch <= 0xffff_ffff)) {
    throw new RangeError(`egress "${options.name}": epoch must be an integer in 0..2^32-1: epoch=${options.epoch}`)
  }
  if (!SUBJECT.test(options.subjectPrefix) || options.subjectPrefix.endsWith(".")) {
    throw new TypeError(`egress "${options.name}": subjectPrefix must be a subject without wildcards or spaces: ${JSON.stringify(options.subjectPrefix)}`)
  }

  const layout = options.layout
  const hashHex = F.layoutHashHex(layout)
  const key = options.key
  const sequence = options.sequence
  let messagesAcked = 0
  let recordsAcked = 0
  let duplicates = 0
  let inFlight = 0
  let publishFailures = 0
  let lastError: string | undefined

  /** The records of one partition of a batch, as a message. */
  const encode = (records: ReadonlyArray<RecordLayout.RecordOf<F>>): Uint8Array => {
    const buffer = new ArrayBuffer(records.length * layout.byteLength)
    const view = RecordLayout.view(layout, buffer, 0, records.length)
    for (let i = 0; i < records.length; i++) RecordLayout.writeUnsafe(view, i, records[i]!)
    return new Uint8Array(buffer)
  }

  const publish = (client: NatsClient["Service"], partition: number, records: ReadonlyArray<RecordLayout.RecordOf<F>>) =>
    Effect.suspend(() => {
      const first = records[0]![sequence]!
      const last = records[records.length - 1]![sequence]!
      const h = natsHeaders()
      h.set(F.HEADER_LAYOUT, hashHex)
      h.set(F.HEADER_COUNT, String(records.length))
      h.set(F.HEADER_SEQ, `${first}-${last}`)
      h.set(F.HEADER_FEED, options.feed)
      h.set(F.HEADER_EPOCH, String(options.epoch))
      const payload = encode(records)
      inFlight++
      return Effect.tryPromise({
        try: () =>
          client.jetstream.publish(`${options.subjectPrefix}.${partition}`, payload, {
            msgID: F.messageId(options.feed, options.epoch, first, last, records.length, F.sequencesHash(records.length, (i) => records[i]![sequence]!)),
            headers: h,
            timeout: client.options.requestTimeoutMs
          }),
        catch: (e) => new NatsError({ reason: "PublishFailed", message: `${options.subjectPrefix}.${partition} seq ${first}-${last}: ${describe(e)}` })
      }).pipe(
        Effect.ensuring(Effect.sync(() => {
          inFlight--
        })),
        Effect.tap((ack) => Effect.sync(() => {
          messagesAcked++
          recordsAcked += records.length
          if (ack.duplicate) duplicates++
        })),
        Effect.tapError((e) => Effect.sync(() => {
          publishFailures++
          lastError = e.message
        }))
      )
    })

  const onBatch = (batch: ReadonlyArray<RecordLayout.RecordOf<F>>): Effect.Effect<void, NatsError, NatsClient> =>
    Effect.gen(function*() {
      const client = yield* NatsClient
      const groups = new Map<number, Array<RecordLayout.RecordOf<F>>>()
      if (partitions === 1) groups.set(0, batch as Array<RecordLayout.RecordOf<F>>)
      else {
        for (const record of batch) {
          const p = F.partitionOf(record[key]!, partitions)
          let group = groups.get(p)
          if (group === undefined) groups.set(p, group = [])
          group.push(record)
        }
      }
      // Messages of at most recordsPerMessage records, in order within each partition; their acks are
      // awaited up to maxInFlight at a time (a partition's messages may be stored out of order after a
      // retry; the ingress's dedup window does not mind).
      const messages: Array<readonly [number, ReadonlyArray<RecordLayout.RecordOf<F>>]> = []
      for (const [p, records] of groups) {
        for (let i = 0; i < records.length; i += recordsPerMessage) messages.push([p, records.slice(i, i + recordsPerMessage)])
      }
      if (messages.length === 1) return yield* publish(client, messages[0]![0], messages[0]![1])
      yield* Effect.forEach(messages, ([p, records]) => publish(client, p, records), { concurrency: maxInFlight, discard: true })
    })

  const edge = Edge.sinkEffect({ name: options.name, input: layout, onBatch, retry: options.retry ?? defaultRetry })

  const stats = (): Stats => ({ messagesAcked, recordsAcked, duplicates, inFlight, maxInFlight, publishFailures, lastError })
  const labels = { egress: options.name }
  const metricFamilies = (): ReadonlyArray<MetricFamily> => {
    const s = stats()
    const one = (value: number) => [{ labels, value }]
    return [
      { name: "velox_nats_egress_messages_acked_total", type: "counter", help: "batches acked by the stream", series: one(s.messagesAcked) },
      { name: "velox_nats_egress_records_acked_total", type: "counter", help: "records in acked batches", series: one(s.recordsAcked) },
      { name: "velox_nats_egress_duplicates_total", type: "counter", help: "batches the server already had (dropped by Nats-Msg-Id)", series: one(s.duplicates) },
      { name: "velox_nats_egress_in_flight", type: "gauge", help: "publishes awaiting their ack", series: one(s.inFlight) },
      { name: "velox_nats_egress_publish_failures_total", type: "counter", help: "publishes that failed (retried or dead-lettered)", series: one(s.publishFailures) }
    ]
  }
  const extension: Extension = {
    readiness: [],
    metrics: () => MetricsText.format(metricFamilies()),
    stats: () => ({ natsEgress: { [options.name]: stats() } })
  }
  return { edge, stats, extension, metricFamilies }
}
