/**
 * Ingress: record batches from JetStream into a pipeline's source edge, acked once the pipeline has
 * consumed them:
 *
 * ```
 *  JetStream stream ──▶ durable consumer per partition ──▶ check ──▶ dedup ──▶ source edge ──▶ ring ──▶ your stages
 *  <prefix>.<p>         (<durable>-<p>, explicit ack,      headers   (feed,    (backpressure)   │
 *                        at most maxAckPending unacked)    vs layout  epoch,                   │ released
 *        ▲                                                            seq)                     ▼
 *        └──────────────────────────── ack ◀──────────── ack tracker: a message is acked once every
 *                                                        record of it was released from the ring
 * ```
 *
 * - **Acks follow the ring.** Records enter the edge in message order; the edge passes them on in
 *   order into its ring, and the next stage releases them once it has handled them. The tracker reads
 *   how many records the ring's consumer has released (the edge's `emitted` less what its rings still
 *   hold, from `handle.stats()`) and acks each message whose last record is below that line. On
 *   drain (the scope closes), consuming stops, what was received goes into the edge, the edge ends,
 *   and once the pipeline has consumed it all (or `drainTimeoutMs` passed) what was released is
 *   acked; what was not is returned (`nak`), redelivered to whoever runs this durable next. A crash
 *   (`kill -9`) acks nothing more: unacked messages come again after `ackWaitMs` (at-least-once).
 * - **Duplicates.** Every record's (feed, epoch, sequence) is checked against a window of the
 *   sequences seen (`dedupWindow` per feed and epoch): one seen before is dropped and counted
 *   (`duplicates`; `tooOld` below the window), so a batch published twice, or redelivered after its
 *   records went in, enters the stages once.
 * - **Redeliveries** (messages the server delivered more than once) are counted.
 * - **Bad messages** (not a velox batch, another layout, a payload of the wrong length) are counted,
 *   kept in `deadLetters()` (bounded) and terminated (`term`: not redelivered).
 * - **Bounded memory.** At most `maxAckPending` messages per partition are unacked at once (the server
 *   stops delivering past that), so a slow pipeline holds the consumers back (backpressure) instead of
 *   queueing without bound.
 *
 * With nats-server 2.9 a consumer filters one subject: a partition set is one durable consumer per
 * partition.
 *
 * @since 0.1.0
 */
import { Effect, Fiber, Queue, Schedule, type Scope } from "effect"
import { AckPolicy, DeliverPolicy, type Consumer, type JsMsg } from "@nats-io/jetstream"
import { nanos } from "@nats-io/transport-node"
import { Edge, MetricsText, type Pipeline, RecordLayout } from "@velox/core"
import * as F from "./internal/kernel/batchFormat.ts"
import { DedupWindow, DUPLICATE, TOO_OLD } from "./internal/kernel/dedupWindow.ts"
import { NatsClient } from "./NatsClient.ts"
import type { Extension, MetricFamily } from "./NatsEgress.ts"
import { describe, NatsError } from "./NatsError.ts"

type FieldSpec = RecordLayout.FieldSpec

/**
 * @category models
 * @since 0.1.0
 */
export interface Options<F extends FieldSpec> {
  /** The source edge's name. */
  readonly name: string
  readonly layout: RecordLayout.RecordLayout<F>
  /** The stream the batches are in (created or checked by `NatsConfig.streams`). */
  readonly stream: string
  /** Subjects are `<subjectPrefix>.<partition>`, as the egress publishes them. */
  readonly subjectPrefix: string
  /** The partitions this process owns. */
  readonly partitions: ReadonlyArray<number>
  /** The durable consumers' name: one per partition, `<durable>-<p>`. */
  readonly durable: string
  /** The field holding each record's sequence. */
  readonly sequence: keyof F & string
  /** The edge's queue, in records (default 4096). */
  readonly capacity?: number | undefined
  /** How long the server waits for an ack before it redelivers (default 30 s). */
  readonly ackWaitMs?: number | undefined
  /** Unacked messages per partition before the server stops delivering (default 1000). */
  readonly maxAckPending?: number | undefined
  /** Sequences remembered per (feed, epoch) to drop duplicates: a power of two (default 2^20). */
  readonly dedupWindow?: number | undefined
  /** Messages each partition pulls at a time (default 64); the inbox holds fewer than twice this many per partition. */
  readonly prefetch?: number | undefined
  /** How often acks are sent for what was released (default 5 ms). */
  readonly ackIntervalMs?: number | undefined
  /** How long the drain waits for the pipeline to consume what was received (default 10 s). */
  readonly drainTimeoutMs?: number | undefined
}

/**
 * The ingress's counts (exact) and state.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** Messages delivered by the server (redeliveries included), and how many were redeliveries. */
  readonly messages: number
  readonly redeliveries: number
  /** Records of good messages handled; how many went into the edge, and how many were dropped as seen before. */
  readonly records: number
  readonly offered: number
  readonly duplicates: number
  /** Duplicates older than the dedup window (cannot be told apart: treated as seen). */
  readonly tooOld: number
  /** Bad messages (terminated, in `deadLetters()`). */
  readonly badMessages: number
  /** Messages acked, and messages waiting for their records to be released. */
  readonly acked: number
  readonly awaitingAck: number
  /** Records of `offered` released downstream so far. */
  readonly released: number
  /** Messages in the stream not yet delivered to these consumers, and delivered but unacked (server's view, refreshed each second). */
  readonly lag: number
  readonly ackPending: number
  /** Records received, not yet offered (waiting for the edge's room). */
  readonly queued: number
  /** Records of messages returned to the server (nak) because the edge had ended; they come again. */
  readonly abandoned: number
  /** Pull requests that failed (the server away): retried after 200 ms. */
  readonly fetchFailures: number
  /** Messages returned to the server (nak) at the drain because their records were not released in time. */
  readonly returned: number
  /** `records = offered + duplicates + tooOld`: every record of a good message went in or was a counted duplicate. */
  readonly balanced: boolean
}

/**
 * A message that was not a velox batch of the layout.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeadLetter {
  readonly subject: string
  readonly streamSequence: number
  readonly reason: string
}

/**
 * An ingress: its source edge, how to attach it to a running pipeline, stats and ops extension.
 *
 * @category models
 * @since 0.1.0
 */
export interface Ingress<F extends FieldSpec> {
  readonly edge: Edge.SourceEdge<F>
  /**
   * Creates or checks the durable consumers, then consumes into the edge of `handle` until the scope
   * closes; then drains (see the module comment). Once.
   */
  readonly attach: (handle: Pipeline.PipelineHandle) => Effect.Effect<void, NatsError, NatsClient | Scope.Scope>
  readonly stats: () => Stats
  readonly deadLetters: () => ReadonlyArray<DeadLetter>
  /** `/metrics` families `velox_nats_ingress_*`. */
  readonly extension: Extension
  /** The same families as data (`NatsHealth` joins those of several ingresses). */
  readonly metricFamilies: () => ReadonlyArray<MetricFamily>
}

const NAME = /^[A-Za-z0-9_-]+$/
const DEAD_LETTERS_KEPT = 1000

/** A message taken from the consumers, waiting for the pump. */
interface Pending {
  readonly msg: JsMsg
  /** Records offered up to and including this message's: it may be acked once that many are released. */
  end: number
}

/**
 * Makes an ingress. Throws `RangeError`/`TypeError` naming a bad option.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Edge, Pipeline, RecordLayout } from "@velox/core"
 * import { NatsIngress } from "@velox/nats"
 *
 * const Tick = RecordLayout.make("Tick", { seq: "f64", price: "f64", symbol: "u32" })
 * const ingress = NatsIngress.make({ name: "from-nats", layout: Tick, stream: "TICKS", subjectPrefix: "ticks", partitions: [0, 1], durable: "book-a", sequence: "seq" })
 * const out = Edge.sink(Tick, { name: "out" })
 *
 * const program = Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(Pipeline.from(ingress.edge).to(out))
 *   yield* ingress.attach(handle) // acks as the pipeline releases; drains when the scope closes
 *   // ... read handle.stream(out)
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <F extends FieldSpec>(options: Options<F>): Ingress<F> => {
  const layout = options.layout
  if (!NAME.test(options.durable)) throw new TypeError(`ingress "${options.name}": durable must be letters, digits, _ and -: ${JSON.stringify(options.durable)}`)
  if (options.partitions.length === 0 || options.partitions.some((p) => !(Number.isInteger(p) && p >= 0 && p < 65_536))) {
    throw new RangeError(`ingress "${options.name}": partitions must be one or more integers in 0..65535: ${JSON.stringify(options.partitions)}`)
  }
  if (!layout.fields.some((f) => f.name === options.sequence)) {
    throw new TypeError(`ingress "${options.name}": sequence field "${options.sequence}" is not in layout ${layout.name}`)
  }
  const windowSize = options.dedupWindow ?? 1 << 20
  new DedupWindow(windowSize) // checks the size now, not at the first message
  const ackWaitMs = options.ackWaitMs ?? 30_000
  const maxAckPending = options.maxAckPending ?? 1000
  const ackIntervalMs = options.ackIntervalMs ?? 5
  const prefetch = options.prefetch ?? 64
  if (!(Number.isInteger(prefetch) && prefetch >= 1 && prefetch <= maxAckPending)) {
    throw new RangeError(`ingress "${options.name}": prefetch must be an integer in 1..maxAckPending (${maxAckPending}): prefetch=${prefetch}`)
  }
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000
  const hashHex = F.layoutHashHex(layout)
  const edge = Edge.source(layout, { name: options.name, overflow: "backpressure", capacity: options.capacity ?? Edge.DEFAULT_CAPACITY })

  let messages = 0
  let redeliveries = 0
  let records = 0
  let offered = 0
  let duplicates = 0
  let tooOld = 0
  let badMessages = 0
  let acked = 0
  let released = 0
  let lag = 0
  let ackPending = 0
  let queuedRecords = 0
  let abandoned = 0
  let returned = 0
  let fetchFailures = 0
  let attached = false
  const letters: Array<DeadLetter> = []
  const windows = new Map<string, DedupWindow>()
  // Offered, awaiting the release of their records: in offer order, acked from the front.
  const awaiting: Array<Pending> = []
  let awaitingHead = 0

  const bad = (msg: JsMsg, reason: string) => {
    badMessages++
    letters.push({ subject: msg.subject, streamSequence: msg.seq, reason })
    if (letters.length > DEAD_LETTERS_KEPT) letters.shift()
    msg.term(reason)
  }

  /** The message's records as a batch of the layout, or why it is not one. */
  const decode = (msg: JsMsg): { view: RecordLayout.RecordView<F>; count: number; window: DedupWindow } | string => {
    const h = msg.headers
    if (h === undefined) return "no headers: not a velox batch"
    if (h.get(F.HEADER_LAYOUT) !== hashHex) return `layout ${h.get(F.HEADER_LAYOUT) || "missing"}, expected ${hashHex} (${layout.name})`
    const count = Number(h.get(F.HEADER_COUNT))
    if (!(Number.isInteger(count) && count >= 1)) return `bad ${F.HEADER_COUNT}: ${JSON.stringify(h.get(F.HEADER_COUNT))}`
    if (msg.data.length !== count * layout.byteLength) return `${msg.data.length} bytes for ${count} records of ${layout.byteLength}`
    const feed = h.get(F.HEADER_FEED)
    const epoch = h.get(F.HEADER_EPOCH)
    if (feed === "" || !/^\d+$/.test(epoch)) return `bad ${F.HEADER_FEED}/${F.HEADER_EPOCH}: ${JSON.stringify(feed)}/${JSON.stringify(epoch)}`
    // The payload may sit at any offset of the connection's buffer: copy it to an aligned one.
    const buffer = new ArrayBuffer(msg.data.length)
    new Uint8Array(buffer).set(msg.data)
    const view = RecordLayout.view(layout, buffer, 0, count)
    const range = F.parseSeqRange(h.get(F.HEADER_SEQ))
    const seq = view.fields[options.sequence]!
    if (range === undefined || range[0] !== seq.get(0) || range[1] !== seq.get(count - 1)) {
      return `${F.HEADER_SEQ} ${JSON.stringify(h.get(F.HEADER_SEQ))} does not match the records' sequences`
    }
    const key = `${feed}\u0000${epoch}`
    let window = windows.get(key)
    if (window === undefined) windows.set(key, window = new DedupWindow(windowSize))
    return { view, count, window }
  }

  const releasedNow = (handle: Pipeline.PipelineHandle): number => {
    // Stage counters are read before ring fills: what this gives never exceeds what was released.
    const s = handle.stats()
    const me = s.stages.find((st) => st.stage === options.name)
    if (me === undefined) return released
    let held = 0
    for (const r of s.rings) if (r.from === me.host) held += r.fill
    return Math.max(released, me.emitted - held)
  }

  const ackReleased = (handle: Pipeline.PipelineHandle) => {
    if (awaitingHead === awaiting.length) return
    released = releasedNow(handle)
    while (awaitingHead < awaiting.length && awaiting[awaitingHead]!.end <= released) {
      awaiting[awaitingHead]!.msg.ack()
      awaiting[awaitingHead] = undefined as unknown as Pending
      awaitingHead++
      acked++
    }
    if (awaitingHead > 1024 && awaitingHead * 2 > awaiting.length) {
      awaiting.splice(0, awaitingHead)
      awaitingHead = 0
    }
  }

  const attach = (handle: Pipeline.PipelineHandle): Effect.Effect<void, NatsError, NatsClient | Scope.Scope> =>
    Effect.gen(function*() {
      if (attached) return yield* Effect.die(new Error(`NatsIngress.attach: "${options.name}" is already attached`))
      attached = true
      const client = yield* NatsClient
      const writer = handle.writer(edge)
      const inbox = yield* Queue.unbounded<JsMsg>()

      const consumers: Array<Consumer> = []
      for (const p of options.partitions) {
        const name = `${options.durable}-${p}`
        const subject = `${options.subjectPrefix}.${p}`
        const info = yield* Effect.tryPromise(() => client.manager.consumers.info(options.stream, name)).pipe(
          Effect.map((i) => i as typeof i | undefined),
          Effect.catch(() => Effect.succeed(undefined))
        )
        if (info !== undefined) {
          if (info.config.filter_subject !== subject || info.config.ack_policy !== AckPolicy.Explicit) {
            return yield* new NatsError({
              reason: "ConsumerMismatch",
              message: `consumer ${name} on ${options.stream} filters ${JSON.stringify(info.config.filter_subject)} with ack ${info.config.ack_policy}, configured ${subject} with explicit acks`
            })
          }
        } else {
          yield* Effect.tryPromise({
            try: () =>
              client.manager.consumers.add(options.stream, {
                durable_name: name,
                ack_policy: AckPolicy.Explicit,
                deliver_policy: DeliverPolicy.All,
                filter_subject: subject,
                ack_wait: nanos(ackWaitMs),
                max_ack_pending: maxAckPending
              }),
            catch: (e) => new NatsError({ reason: "JetStreamFailed", message: `create consumer ${name} on ${options.stream}: ${describe(e)}` })
          })
        }
        consumers.push(yield* Effect.tryPromise({
          try: () => client.jetstream.consumers.get(options.stream, name),
          catch: (e) => new NatsError({ reason: "JetStreamFailed", message: `consumer ${name}: ${describe(e)}` })
        }))
      }

      // Each partition pulls `prefetch` messages at a time, and only while the inbox has room: messages
      // do not wait here past their ack wait (which would have the server deliver them again).
      let pulling = true
      const room = Effect.gen(function*() {
        while (pulling && (yield* Queue.size(inbox)) >= prefetch * consumers.length) yield* Effect.sleep("1 millis")
      })
      const received = (m: JsMsg) => {
        messages++
        if (m.info.deliveryCount > 1) redeliveries++
        const n = Number(m.headers?.get(F.HEADER_COUNT))
        queuedRecords += Number.isInteger(n) && n > 0 ? n : 0
        Queue.offerUnsafe(inbox, m)
      }
      const pull = (c: Consumer) =>
        Effect.gen(function*() {
          while (pulling) {
            yield* room
            if (!pulling) return
            const got = yield* Effect.tryPromise(async () => {
              const batch = await c.fetch({ max_messages: prefetch, expires: 1000 })
              for await (const m of batch) received(m)
            }).pipe(Effect.result)
            if (got._tag === "Failure") {
              // The server is away or restarting: try again shortly (the connection reconnects on its own).
              fetchFailures++
              yield* Effect.sleep("200 millis")
            }
          }
        })
      const pullers = yield* Effect.forEach(consumers, (c) => Effect.forkScoped(pull(c), { startImmediately: true }))

      /** One message into the edge: checked, deduplicated, offered (waiting for room), then awaiting its ack. */
      const handle1 = (msg: JsMsg) =>
        Effect.gen(function*() {
          const n = Number(msg.headers?.get(F.HEADER_COUNT))
          queuedRecords -= Number.isInteger(n) && n > 0 ? n : 0
          const decoded = decode(msg)
          if (typeof decoded === "string") return bad(msg, decoded)
          const { count, view, window } = decoded
          const seq = view.fields[options.sequence]!
          let kept = 0
          let dup = 0
          let old = 0
          for (let i = 0; i < count; i++) {
            const r = window.check(seq.get(i))
            if (r === DUPLICATE) dup++
            else if (r === TOO_OLD) old++
            else {
              if (kept !== i) RecordLayout.copyRecords(view, i, view, kept, 1)
              kept++
            }
          }
          if (kept > 0) {
            const went = yield* Effect.result(writer.offerBatch(view, 0, kept))
            if (went._tag === "Failure") {
              // The edge ended (the pipeline stopped): the message is returned and comes again.
              abandoned += count
              msg.nak()
              return
            }
            offered += went.success
          }
          records += count
          duplicates += dup
          tooOld += old
          // Even a message whose records were all seen before waits for what was offered so far: it may be
          // a redelivery of a message whose records are still on their way (acking it acks that one).
          awaiting.push({ msg, end: offered })
        })

      const pump = Effect.forever(Queue.take(inbox).pipe(Effect.flatMap(handle1)))
      const pumpFiber = yield* Effect.forkScoped(pump, { startImmediately: true })
      const ackFiber = yield* Effect.forkScoped(
        Effect.sync(() => ackReleased(handle)).pipe(Effect.repeat(Schedule.spaced(ackIntervalMs))),
        { startImmediately: true }
      )
      const lagFiber = yield* Effect.forkScoped(
        Effect.forEach(consumers, (c) => Effect.tryPromise(() => c.info())).pipe(
          Effect.tap((infos) => Effect.sync(() => {
            lag = infos.reduce((n, i) => n + i.num_pending, 0)
            ackPending = infos.reduce((n, i) => n + i.num_ack_pending, 0)
          })),
          Effect.ignore,
          Effect.repeat(Schedule.spaced("1 second"))
        ),
        { startImmediately: true }
      )

      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          yield* Fiber.interrupt(lagFiber)
          // No more messages; what was received goes into the edge (the pipeline still runs).
          pulling = false
          yield* Effect.forEach(pullers, Fiber.await, { discard: true }).pipe(Effect.timeoutOption(drainTimeoutMs))
          const drainPump = Effect.gen(function*() {
            while ((yield* Queue.size(inbox)) > 0) yield* Effect.sleep("2 millis")
          })
          yield* drainPump.pipe(Effect.timeoutOption(drainTimeoutMs))
          yield* Fiber.interrupt(pumpFiber)
          // Received but not offered (the drain timed out): returned to the server at once.
          for (const m of yield* Queue.clear(inbox)) m.nak()
          queuedRecords = 0
          yield* writer.end
          // Acks for what the pipeline consumes before the deadline; the rest is redelivered later.
          yield* Effect.gen(function*() {
            while (awaitingHead < awaiting.length) {
              ackReleased(handle)
              if (awaitingHead < awaiting.length) yield* Effect.sleep("2 millis")
            }
          }).pipe(Effect.timeoutOption(drainTimeoutMs))
          yield* Fiber.interrupt(ackFiber)
          ackReleased(handle)
          // Not released by the deadline: returned to the server now, for the durable's next run.
          for (let i = awaitingHead; i < awaiting.length; i++) awaiting[i]!.msg.nak()
          returned += awaiting.length - awaitingHead
          awaiting.length = 0
          awaitingHead = 0
          attached = false
        })
      )
    })

  const stats = (): Stats => ({
    messages,
    redeliveries,
    records,
    offered,
    duplicates,
    tooOld,
    badMessages,
    acked,
    awaitingAck: awaiting.length - awaitingHead,
    released,
    lag,
    ackPending,
    queued: queuedRecords,
    abandoned,
    returned,
    fetchFailures,
    balanced: records === offered + duplicates + tooOld
  })

  const labels = { ingress: options.name }
  const metricFamilies = (): ReadonlyArray<MetricsText.MetricFamily> => {
    const s = stats()
    const one = (value: number) => [{ labels, value }]
    return [
      { name: "velox_nats_ingress_messages_total", type: "counter", help: "messages delivered by the server", series: one(s.messages) },
      { name: "velox_nats_ingress_redeliveries_total", type: "counter", help: "messages delivered more than once", series: one(s.redeliveries) },
      { name: "velox_nats_ingress_records_total", type: "counter", help: "records in good messages", series: one(s.records) },
      { name: "velox_nats_ingress_records_offered_total", type: "counter", help: "records into the source edge", series: one(s.offered) },
      { name: "velox_nats_ingress_duplicates_total", type: "counter", help: "records dropped as seen before by (feed, epoch, sequence)", series: one(s.duplicates + s.tooOld) },
      { name: "velox_nats_ingress_bad_messages_total", type: "counter", help: "messages that were not batches of the layout (terminated)", series: one(s.badMessages) },
      { name: "velox_nats_ingress_acked_total", type: "counter", help: "messages acked after their records were released", series: one(s.acked) },
      { name: "velox_nats_ingress_awaiting_ack", type: "gauge", help: "messages waiting for their records to be released", series: one(s.awaitingAck) },
      { name: "velox_nats_ingress_consumer_lag_messages", type: "gauge", help: "messages in the stream not yet delivered to the consumers", series: one(s.lag) },
      { name: "velox_nats_ingress_ack_pending_messages", type: "gauge", help: "messages delivered and not yet acked (server's view)", series: one(s.ackPending) }
    ]
  }
  const extension: Extension = {
    readiness: [],
    metrics: () => MetricsText.format(metricFamilies()),
    stats: () => ({ natsIngress: { [options.name]: stats() } })
  }

  return { edge, attach, stats, deadLetters: () => letters.slice(), extension, metricFamilies }
}
