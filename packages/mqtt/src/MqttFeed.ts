/**
 * A market-data feed from an MQTT broker, as a source of `Quote` records for a pipeline:
 *
 * ```
 *  broker ──▶ MqttClient ──▶ decode ──▶ dispatcher ──▶ pump ──▶ source edge ──▶ your stages
 *            (epochs,        JSON or    bounded,       (end of   (Edge.source,
 *             reconnect,     binary     drop-oldest    the turn) backpressure)
 *             credentials)   │          │ epoch policy
 *                            │          └─▶ dropped: DropOldest, StaleEpoch
 *                            ├─▶ dead letters (reason, raw bytes): NotJson, BadField, …, DecoderThrew
 *                            └─▶ FeedStatus (feed health: last quote per symbol, gaps, feed stale)
 * ```
 *
 * - The **dispatcher** holds up to `queueCapacity` (100,000) decoded quotes; when it is full the oldest
 *   is dropped (`DropOldest`), counted exactly. A slow pipeline therefore never slows the MQTT client
 *   (whose socket would otherwise back up into the broker), and what is delivered is the freshest.
 * - **Epochs.** Each quote carries the epoch of the connection it arrived on. When a lost connection is
 *   replaced, the quotes still queued, or in flight to the edge, are stale: with `staleEpoch: "drop"`
 *   (default) they are dropped at once (`StaleEpoch`), but for the one quote the pump may already be
 *   offering to a full edge, which goes on when the edge has room; with `"deliver"` they are delivered
 *   with their older epoch (the mark). Every stale quote delivered is counted in `staleDelivered`. A
 *   planned reconnect (credentials refreshed) keeps them: nothing is stale (`carriedOver` counts them).
 *   A message arriving late from a replaced connection is dropped as `StaleEpoch`.
 * - **Bad payloads** are dead-lettered by reason with a sample of their bytes (`deadLetters()`; the
 *   counts are exact, the samples bounded by `deadLetterBuffer`) and logged once a second while they
 *   occur; the feed carries on. A custom `decode` that throws is dead-lettered as `DecoderThrew`; one
 *   that returns `undefined` skips the message (`Skipped`). A name the symbol table has no room for is
 *   dropped as `SymbolTableFull`.
 * - **Feed health**: every decoded quote is marked in a `FeedStatus` table (`feed.status`) as it
 *   arrives, before the dispatcher; with no quote for `feedGapMs` (5 s) the feed is dead.
 * - **One turn at a time.** mqtt.js hands over a socket read's messages one by one; the feed keeps
 *   them (references, no copy) until the end of that turn of the event loop, or until 512 are kept
 *   (a busy socket gives a turn thousands), then decodes them into the dispatcher with one clock
 *   reading (their `receiveTsNs`) and one feed-health pass, and hands what is queued to the source
 *   edge there and then. Only when the edge is full does the pump (a
 *   fiber) wait for room; meanwhile quotes queue, and drop, in the dispatcher. Nothing per message
 *   runs an Effect or allocates (see `QuotePayload` for the decoding). `stats()` decodes the pending
 *   messages first, so its counts are exact whenever they are read.
 *
 * Every message is accounted for: `received = decoded + dead-lettered + dropped before the
 * dispatcher`, and `decoded = dispatched + in flight + queued + dropped in the dispatcher + abandoned`
 * (`stats().balanced`). What is dispatched is the source edge's `in`.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Fiber, Layer, Schedule, type Scope } from "effect"
import { Edge, MetricsText, RecordLayout, type Stage } from "@velox/core"
import { FeedStatus, Quote, Symbols } from "@velox/market"
import { makeFeedHealthLogic } from "@velox/market/unsafe"
import { Dispatcher } from "./internal/kernel/dispatcher.ts"
import { LatencyHistogram } from "./internal/kernel/latencyHistogram.ts"
import * as K from "./internal/kernel/quoteCodec.ts"
import { type ConnectionState, MqttClient, type Status as ConnectionStatus } from "./MqttClient.ts"
import type { MqttError } from "./MqttError.ts"
import { reasonOf } from "./QuotePayload.ts"

type QuoteSpec = typeof Quote.Quote.spec

/**
 * Why a message was dead-lettered: a payload reason (see `QuotePayload`), or `DecoderThrew` (a custom
 * decoder threw).
 *
 * @category models
 * @since 0.1.0
 */
export const DEAD_LETTER_REASONS = [...K.DECODE_FAILURES, "BadSymbol", "DecoderThrew"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type DeadLetterReason = typeof DEAD_LETTER_REASONS[number]

/**
 * Why a message or quote was dropped: the dispatcher was full (`DropOldest`), it belonged to a
 * replaced connection (`StaleEpoch`), the symbol table was full (`SymbolTableFull`), or a custom
 * decoder skipped it (`Skipped`).
 *
 * @category models
 * @since 0.1.0
 */
export const DROP_REASONS = ["DropOldest", "StaleEpoch", "SymbolTableFull", "Skipped"] as const

/**
 * @category models
 * @since 0.1.0
 */
export type DropReason = typeof DROP_REASONS[number]

/**
 * A message that did not become a quote.
 *
 * @category models
 * @since 0.1.0
 */
export interface DeadLetter {
  readonly reason: DeadLetterReason
  /** What was wrong (the decoder's words, or the custom decoder's error message). */
  readonly detail: string
  readonly topic: string
  readonly epoch: number
  /** Wall clock, ms since the Unix epoch. */
  readonly atMs: number
  /** The payload's length. */
  readonly bytes: number
  /** Its first `sampleBytes` bytes, as hex. */
  readonly sampleHex: string
  /** The same bytes as text, anything unprintable as `.`. */
  readonly sampleText: string
}

/**
 * The feed's counts (exact) and state.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** Messages the broker delivered. */
  readonly received: number
  /** Quotes decoded into the dispatcher. */
  readonly decoded: number
  readonly deadLettered: number
  readonly deadLetteredByReason: Readonly<Record<DeadLetterReason, number>>
  readonly dropped: number
  readonly droppedByReason: Readonly<Record<DropReason, number>>
  /** Quotes handed to the pipeline (the source edge's `in`). */
  readonly dispatched: number
  /**
   * Dispatched with an earlier epoch than the connection's at the time: with `staleEpoch: "deliver"`,
   * or the one quote already offered to a full edge when the connection was replaced.
   */
  readonly staleDelivered: number
  /** Queued across planned reconnects (credentials refreshed). */
  readonly carriedOver: number
  /** Quotes queued now, and the queue's capacity. */
  readonly queued: number
  readonly capacity: number
  /** Taken from the queue, not yet accepted by the source edge. */
  readonly inFlight: number
  /** Left behind when the feed stopped with nowhere to deliver them. */
  readonly abandoned: number
  /** `received` and `decoded` fully accounted for (see the module comment). */
  readonly balanced: boolean
  readonly epoch: number
  readonly connection: ConnectionState
  /** Exchange time to leaving the dispatcher, over the quotes dispatched (ms; NaN before any). */
  readonly latency: { readonly count: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number }
}

/**
 * The feed's health: ready when connected and the feed is live (a quote within `feedGapMs`).
 *
 * @category models
 * @since 0.1.0
 */
export interface Health {
  readonly ready: boolean
  readonly reasons: ReadonlyArray<string>
  readonly warnings: ReadonlyArray<string>
  readonly connection: ConnectionStatus
  readonly feed: FeedStatus.Summary
}

/**
 * A custom decoder: the message's topic and bytes to a quote (the symbol by name), or `undefined` to
 * skip it. It may throw: the message is dead-lettered as `DecoderThrew`.
 *
 * @category models
 * @since 0.1.0
 */
export type Decoder = (topic: string, payload: Uint8Array) => K.QuoteMessage | undefined

/**
 * What the feed is built with besides `MqttConfig`.
 *
 * @category models
 * @since 0.1.0
 */
export interface FeedOptions {
  /** The symbol table to register names in (default: a new one of `symbols` capacity). */
  readonly symbols?: SharedArrayBuffer | undefined
  /** Replaces the built-in JSON and binary decoding. */
  readonly decode?: Decoder | undefined
}

/**
 * The feed as a service.
 *
 * @category services
 * @since 0.1.0
 */
export class MqttFeed extends Context.Service<MqttFeed, {
  /** The symbol table quotes' `symbol` ids refer to. */
  readonly symbols: SharedArrayBuffer
  /** Feed health, as `FeedStatus.read` reads it (also from other threads). */
  readonly status: SharedArrayBuffer
  readonly client: MqttClient["Service"]
  readonly stats: () => Stats
  readonly health: () => Health
  readonly deadLetters: () => ReadonlyArray<DeadLetter>
  /**
   * What the feed adds to the ops server (`NodePipelineServer.layerWith(feed.extension)`): `/ready`
   * says 503 while disconnected or while the feed is dead, with why; `/metrics` gets the `velox_mqtt_*`
   * families; `/stats` an `mqtt` field with the health and the stats.
   */
  readonly extension: Extension
  /**
   * Delivers the feed into a source edge's writer until the scope closes; then it stops the client,
   * hands over what is queued (waiting for room up to `drainTimeoutMs`), and ends the edge. One writer
   * at a time.
   */
  readonly attach: (writer: Edge.EdgeWriter<QuoteSpec>, options?: { readonly drainTimeoutMs?: number }) => Effect.Effect<void, never, Scope.Scope>
}>()("@velox/mqtt/MqttFeed") {}

/**
 * The feed's part of the ops surface, in the shape of `NodePipelineServer.Extension`.
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

/** Records the pump moves per step. */
const PUMP_BATCH = 512
/** Messages of one turn decoded and handed on together at most. */
const DECODE_BATCH = 512
const HEALTH_TIMER = Duration.millis(250)
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000

const zeros = <K extends string>(keys: ReadonlyArray<K>): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
const printable = (bytes: Uint8Array): string => Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("")

const seconds = (ms: number | undefined): string => (ms === undefined ? "?" : `${(ms / 1000).toFixed(1)} s`)

/**
 * Builds the feed: makes its tables, starts the client (connecting at once; quotes queue in the
 * dispatcher until a writer is attached), and runs its health timer and dead-letter log in the scope.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (feedOptions: FeedOptions = {}): Effect.Effect<MqttFeed["Service"], never, MqttClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* MqttClient
    const options = client.options
    const symbols = feedOptions.symbols ?? Symbols.make(options.symbols)
    const registry = Symbols.view(symbols)
    const status = FeedStatus.make({ symbols: registry.capacity, feedGapMs: options.feedGapMs, symbolGapMs: options.symbolGapMs })
    const viewOf = (slots: number) => RecordLayout.view(Quote.Quote, new ArrayBuffer(slots * Quote.Quote.byteLength), 0, slots)
    const dispatcher = new Dispatcher(options.queueCapacity, options.staleEpoch, viewOf)
    const decoder = new K.QuoteDecoder(registry, options.format)
    const custom = feedOptions.decode
    const latency = new LatencyHistogram()

    // Feed health: the market toolkit's monitor, shown each quote as it arrives.
    const health = makeFeedHealthLogic({ status })
    const healthScratch = viewOf(1)
    const healthOut: Stage.Emitter<QuoteSpec> = {
      view: healthScratch,
      emit: () => 0,
      forward: () => {},
      account: () => {},
      drop: () => {},
      deadLetter: () => {}
    }

    let received = 0
    let dispatched = 0
    let inFlight = 0
    let abandoned = 0
    /** Quotes in flight when a lost connection was replaced: dropped as stale, or delivered marked by their epoch. */
    let staleInFlightDropped = 0
    let staleInFlightDelivered = 0
    const deadByReason = zeros(DEAD_LETTER_REASONS)
    const droppedBefore = { StaleEpoch: 0, SymbolTableFull: 0, Skipped: 0 }
    const letters: Array<DeadLetter> = []
    const lastDetail = new Map<DeadLetterReason, string>()

    let pumpWaiting: ((effect: Effect.Effect<void>) => void) | undefined
    const wake = () => {
      const resume = pumpWaiting
      if (resume !== undefined) {
        pumpWaiting = undefined
        resume(Effect.void)
      }
    }
    /** Set while a writer is attached: hands what is queued to the edge now, as far as it takes it. */
    let deliver: (() => void) | undefined
    /** Set while a writer is attached: a lost connection was replaced, and what is in flight is stale too. */
    let staleInFlight: (() => void) | undefined

    const deadLetter = (reason: DeadLetterReason, detail: string, topic: string, payload: Uint8Array, epoch: number) => {
      deadByReason[reason]++
      lastDetail.set(reason, detail)
      if (options.deadLetterBuffer === 0) return
      const sample = payload.subarray(0, options.sampleBytes)
      letters.push({ reason, detail, topic, epoch, atMs: Date.now(), bytes: payload.length, sampleHex: hex(sample), sampleText: printable(sample) })
      if (letters.length > options.deadLetterBuffer) letters.shift()
    }

    // The messages of one turn of the event loop (mqtt.js hands over a socket read's messages one by one)
    // are decoded together at its end: one clock reading and one feed-health pass for all of them.
    // Kept at their largest size (emptying an array frees its storage, and the next turn grows it again);
    // `pending` says how many are this turn's, and a decoded message's references are cleared at once.
    const pendingPayloads: Array<Uint8Array | undefined> = []
    const pendingTopics: Array<string | undefined> = []
    let pending = 0
    /** Their connection's epoch: a new connection decodes what is pending before it begins. */
    let pendingEpoch = 0
    let turnScheduled = false

    /** Decodes one message into the dispatcher's write slot: true when it was committed. */
    const decodeOne = (topic: string, payload: Uint8Array, nowNs: number, epoch: number): boolean => {
      const view = dispatcher.view
      const slot = dispatcher.writeSlot()
      let code: K.DecodeCode
      if (custom === undefined) {
        code = decoder.decode(payload, view, slot, nowNs, epoch)
      } else {
        let message: K.QuoteMessage | undefined
        try {
          message = custom(topic, payload)
        } catch (e) {
          deadLetter("DecoderThrew", e instanceof Error ? e.message : String(e), topic, payload, epoch)
          return false
        }
        if (message === undefined) {
          droppedBefore.Skipped++
          return false
        }
        code = decoder.fromObject(message, view, slot, nowNs, epoch)
      }
      if (code !== K.OK) {
        if (code === K.SYMBOL_REFUSED && decoder.symbolCode === Symbols.FULL) droppedBefore.SymbolTableFull++
        else deadLetter(reasonOf(code), decoder.detail, topic, payload, epoch)
        return false
      }
      dispatcher.commit()
      return true
    }

    /** The run of dispatcher slots decoded into and not yet shown to feed health. */
    let runStart = 0
    let runLength = 0
    const mark = () => {
      if (runLength > 0) health.onBatch(dispatcher.view, runStart, runLength, healthOut)
      runLength = 0
    }

    /** Decodes the pending messages into the dispatcher, feed health shown each run of slots they fill. */
    const decodePending = () => {
      const n = pending
      if (n === 0) return
      pending = 0
      const nowNs = FeedStatus.wallClockNs()
      runLength = 0
      for (let i = 0; i < n; i++) {
        const slot = dispatcher.writeSlot()
        const topic = pendingTopics[i]!
        const payload = pendingPayloads[i]!
        pendingTopics[i] = undefined
        pendingPayloads[i] = undefined
        if (!decodeOne(topic, payload, nowNs, pendingEpoch)) continue
        if (runLength > 0 && slot !== runStart + runLength) mark()
        if (runLength === 0) runStart = slot
        // Before the dispatcher could drop (and overwrite) the run's first quote.
        if (++runLength === dispatcher.capacity) mark()
      }
      mark()
    }

    /** Decodes what is pending and hands what is queued to the edge (or wakes the pump). */
    const handOn = () => {
      decodePending()
      if (deliver !== undefined && pumpWaiting !== undefined) deliver()
      if (dispatcher.size > 0 || inFlight > 0) wake()
    }

    const endOfTurn = () => {
      turnScheduled = false
      handOn()
    }

    yield* client.start({
      onConnect: (epoch, lost) => {
        decodePending()
        dispatcher.beginEpoch(epoch, lost)
        if (lost) staleInFlight?.()
      },
      onMessage: (epoch, topic, payload) => {
        received++
        if (epoch !== client.epoch()) {
          droppedBefore.StaleEpoch++
          return
        }
        pendingEpoch = epoch
        pendingPayloads[pending] = payload
        pendingTopics[pending] = topic
        // A turn can hold thousands of messages (libuv reads a socket up to 32 times a poll): decoded
        // and handed on every DECODE_BATCH, while their bytes are still in cache and the pipeline busy.
        if (++pending === DECODE_BATCH) handOn()
        else if (!turnScheduled) {
          turnScheduled = true
          setImmediate(endOfTurn)
        }
      }
    })

    // The health monitor counts silences past their thresholds on its timer.
    yield* Effect.sync(() => health.onTimer?.(0, healthOut)).pipe(Effect.repeat(Schedule.spaced(HEALTH_TIMER)), Effect.forkScoped)

    // Bad payloads are logged as they occur: once a second at most, one line per reason.
    const logged = zeros(DEAD_LETTER_REASONS)
    yield* Effect.suspend(() => {
      const lines: Array<string> = []
      for (const reason of DEAD_LETTER_REASONS) {
        const n = deadByReason[reason] - logged[reason]
        if (n === 0) continue
        logged[reason] = deadByReason[reason]
        lines.push(`${n} × ${reason} (last: ${lastDetail.get(reason)})`)
      }
      return lines.length === 0 ? Effect.void : Effect.logWarning(`mqtt feed: dead-lettered ${lines.join("; ")}`)
    }).pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.forkScoped)

    const stats = (): Stats => {
      // The messages of this turn first: the counts are exact whenever they are read.
      decodePending()
      const droppedByReason = {
        DropOldest: dispatcher.droppedOldest,
        StaleEpoch: droppedBefore.StaleEpoch + dispatcher.staleDropped + staleInFlightDropped,
        SymbolTableFull: droppedBefore.SymbolTableFull,
        Skipped: droppedBefore.Skipped
      }
      const deadLettered = DEAD_LETTER_REASONS.reduce((n, r) => n + deadByReason[r], 0)
      const dropped = DROP_REASONS.reduce((n, r) => n + droppedByReason[r], 0)
      const decoded = dispatcher.committed
      const beforeDispatcher = droppedBefore.StaleEpoch + droppedBefore.SymbolTableFull + droppedBefore.Skipped
      const status = client.status()
      const ms = (ns: number) => ns / 1e6
      return {
        received,
        decoded,
        deadLettered,
        deadLetteredByReason: { ...deadByReason },
        dropped,
        droppedByReason,
        dispatched,
        staleDelivered: dispatcher.staleDelivered + staleInFlightDelivered,
        carriedOver: dispatcher.carriedOver,
        queued: dispatcher.size,
        capacity: dispatcher.capacity,
        inFlight,
        abandoned: abandoned + dispatcher.abandoned,
        balanced: received === decoded + deadLettered + beforeDispatcher &&
          decoded === dispatcher.taken + dispatcher.droppedOldest + dispatcher.staleDropped + dispatcher.abandoned + dispatcher.size &&
          dispatcher.taken === dispatched + inFlight + abandoned + staleInFlightDropped,
        epoch: status.epoch,
        connection: status.state,
        latency: { count: latency.count, p50Ms: ms(latency.quantileNs(0.5)), p99Ms: ms(latency.quantileNs(0.99)), maxMs: ms(latency.maxNs) }
      }
    }

    const healthNow = (): Health => {
      const connection = client.status()
      const feed = FeedStatus.read(status)
      const reasons: Array<string> = []
      if (!connection.connected) {
        const next = connection.nextAttemptInMs === undefined ? "" : `, next attempt in ${seconds(connection.nextAttemptInMs)}`
        const why = connection.lastError === undefined ? "" : ` (${connection.lastError})`
        reasons.push(`mqtt ${connection.state}${why}${next}`)
      }
      if (feed.stale) reasons.push(`feed dead: ${feed.reason}`)
      return { ready: reasons.length === 0, reasons, warnings: connection.warnings, connection, feed }
    }

    const extension: Extension = {
      readiness: [() => {
        const h = healthNow()
        return h.ready ? undefined : h.reasons.join("; ")
      }],
      metrics: () => MetricsText.format(metricsOf(stats(), healthNow())),
      stats: () => ({ mqtt: { health: healthNow(), stats: stats() } })
    }

    let attached = false
    const attach = (writer: Edge.EdgeWriter<QuoteSpec>, attachOptions: { readonly drainTimeoutMs?: number } = {}) =>
      Effect.gen(function*() {
        if (attached) return yield* Effect.die(new Error("MqttFeed.attach: a writer is already attached"))
        attached = true
        const batch = viewOf(PUMP_BATCH)
        /** Where the `inFlight` records start in `batch`. */
        let inFlightStart = 0
        /** The pump is offering the record at `inFlightStart`, waiting for the edge to have room. */
        let offering = false
        /** How many of the `inFlight` records, from `inFlightStart` on, are of a replaced connection. */
        let staleAhead = 0
        let draining = false
        let closed = false
        const accepted = (k: number) => {
          const stale = k < staleAhead ? k : staleAhead
          staleInFlightDelivered += stale
          staleAhead -= stale
          inFlightStart += k
          dispatched += k
          inFlight -= k
        }
        /** Hands the `inFlight` records of `batch` to the edge, waiting for room; stops once the edge is closed. */
        const handOver = Effect.gen(function*() {
          while (inFlight > 0) {
            accepted(writer.offerBatchUnsafe(batch, inFlightStart, inFlight))
            if (inFlight === 0) break
            // Full: wait for room by offering one record (the edge has no "await room" of its own).
            offering = true
            const one = yield* Effect.result(writer.offerBatch(batch, inFlightStart, 1)).pipe(Effect.ensuring(Effect.sync(() => {
              offering = false
            })))
            if (one._tag === "Failure") {
              // The edge ended (the pipeline stopped): what is left has nowhere to go.
              abandoned += inFlight
              inFlight = 0
              staleAhead = 0
              closed = true
              return
            }
            accepted(one.success)
          }
        })
        /** Takes the oldest queued records into `batch` (timing them as they leave the dispatcher). */
        const takeBatch = () => {
          inFlight = dispatcher.take(batch, PUMP_BATCH, FeedStatus.wallClockNs(), latency)
          inFlightStart = 0
        }
        // Dropped as the queued ones are, or delivered marked by their epoch (and counted as they go).
        staleInFlight = () => {
          if (options.staleEpoch === "drop") {
            // The record being offered is written as soon as the edge has room: it cannot be taken back.
            const dropped = inFlight - (offering ? 1 : 0)
            inFlight -= dropped
            staleInFlightDropped += dropped
          }
          staleAhead = inFlight
        }
        // At the end of a turn with the pump idle: straight into the edge, no fiber in between. What the
        // edge has no room for stays in flight, and the pump waits for room.
        deliver = () => {
          while (inFlight === 0 && dispatcher.size > 0) {
            takeBatch()
            accepted(writer.offerBatchUnsafe(batch, 0, inFlight))
          }
        }
        const pump = Effect.gen(function*() {
          while (!closed) {
            if (inFlight > 0) {
              yield* handOver
              continue
            }
            if (dispatcher.size === 0) {
              if (draining) return
              yield* Effect.callback<void>((resume) => {
                // The fiber may have yielded since the check above, and a message (or the drain) come meanwhile.
                if (dispatcher.size > 0 || inFlight > 0 || draining) return resume(Effect.void)
                pumpWaiting = resume
                return Effect.sync(() => {
                  pumpWaiting = undefined
                })
              })
              continue
            }
            takeBatch()
          }
        })
        const fiber = yield* Effect.forkScoped(pump, { startImmediately: true })
        yield* Effect.addFinalizer(() =>
          Effect.gen(function*() {
            // Drain: no new messages, what is queued into the edge, then the edge ends.
            yield* client.stop
            decodePending()
            deliver = undefined
            staleInFlight = undefined
            draining = true
            wake()
            const drained = yield* Fiber.await(fiber).pipe(Effect.timeoutOption(attachOptions.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS))
            if (drained._tag === "None") yield* Fiber.interrupt(fiber)
            if (inFlight > 0) {
              abandoned += inFlight
              inFlight = 0
              staleAhead = 0
            }
            const left = dispatcher.abandon()
            if (left > 0) yield* Effect.logWarning(`mqtt feed: ${left} queued quote(s) abandoned: the pipeline took no more`)
            yield* writer.end
            attached = false
          })
        )
      })

    return MqttFeed.of({
      symbols,
      status,
      client,
      stats,
      health: healthNow,
      deadLetters: () => letters.slice(),
      extension,
      attach
    })
  })

const CONNECTION_STATES: ReadonlyArray<ConnectionState> = ["idle", "connecting", "connected", "reconnecting", "stopped", "failed"]

/** The feed's metric families for `/metrics`. */
const metricsOf = (s: Stats, h: Health): ReadonlyArray<MetricsText.MetricFamily> => {
  const one = (value: number) => [{ labels: {}, value }]
  const c = h.connection
  return [
    { name: "velox_mqtt_connected", type: "gauge", help: "1 while connected to the broker and subscribed", series: one(c.connected ? 1 : 0) },
    {
      name: "velox_mqtt_connection_state",
      type: "gauge",
      help: "the connection's state: 1 for the current one",
      series: CONNECTION_STATES.map((state) => ({ labels: { state }, value: c.state === state ? 1 : 0 }))
    },
    { name: "velox_mqtt_epoch", type: "gauge", help: "the current connection's epoch (connections accepted so far)", series: one(c.epoch) },
    { name: "velox_mqtt_connects_total", type: "counter", help: "connections the broker accepted", series: one(c.connects) },
    { name: "velox_mqtt_disconnects_total", type: "counter", help: "connections lost", series: one(c.disconnects) },
    { name: "velox_mqtt_token_refreshes_total", type: "counter", help: "planned reconnects with refreshed credentials", series: one(c.tokenRefreshes) },
    { name: "velox_mqtt_failed_attempts_total", type: "counter", help: "connection attempts that failed", series: one(c.failedAttempts) },
    { name: "velox_mqtt_auth_failures_total", type: "counter", help: "times the broker refused the credentials", series: one(c.authFailures) },
    { name: "velox_mqtt_reconnects_last_minute", type: "gauge", help: "reconnects within the last minute", series: one(c.reconnectsLastMinute) },
    { name: "velox_mqtt_outages_total", type: "counter", help: "lost connections later restored", series: one(c.outages) },
    { name: "velox_mqtt_messages_received_total", type: "counter", help: "messages the broker delivered", series: one(s.received) },
    { name: "velox_mqtt_quotes_decoded_total", type: "counter", help: "quotes decoded into the dispatcher", series: one(s.decoded) },
    { name: "velox_mqtt_quotes_dispatched_total", type: "counter", help: "quotes handed to the pipeline", series: one(s.dispatched) },
    {
      name: "velox_mqtt_dead_letters_total",
      type: "counter",
      help: "messages dead-lettered, by reason",
      series: DEAD_LETTER_REASONS.map((reason) => ({ labels: { reason }, value: s.deadLetteredByReason[reason] }))
    },
    {
      name: "velox_mqtt_dropped_total",
      type: "counter",
      help: "messages or quotes dropped, by reason",
      series: DROP_REASONS.map((reason) => ({ labels: { reason }, value: s.droppedByReason[reason] }))
    },
    { name: "velox_mqtt_queue_records", type: "gauge", help: "quotes in the dispatcher", series: one(s.queued) },
    { name: "velox_mqtt_queue_capacity_records", type: "gauge", help: "the dispatcher's capacity", series: one(s.capacity) },
    { name: "velox_mqtt_feed_stale", type: "gauge", help: "1 when no quote arrived within the feed gap (the feed is dead)", series: one(h.feed.stale ? 1 : 0) },
    { name: "velox_mqtt_feed_gaps_total", type: "counter", help: "times the feed went silent past its gap", series: one(h.feed.feedGaps) },
    { name: "velox_mqtt_symbol_gaps_total", type: "counter", help: "times a symbol went silent past its gap", series: one(h.feed.symbolGaps) },
    {
      name: "velox_mqtt_dispatch_latency_seconds",
      type: "gauge",
      help: "exchange time to leaving the dispatcher, quantiles over the run",
      series: [
        { labels: { quantile: "0.5" }, value: s.latency.p50Ms / 1000 },
        { labels: { quantile: "0.99" }, value: s.latency.p99Ms / 1000 }
      ]
    }
  ]
}

/**
 * The feed, from `MqttClient` (connecting when built).
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { MqttClient, MqttConfig, MqttCredentials, MqttFeed } from "@velox/mqtt"
 *
 * const FeedLive = MqttFeed.layer().pipe(
 *   Layer.provide(MqttClient.layer),
 *   Layer.provide([MqttConfig.layer({ url: "mqtt://127.0.0.1:1883", topics: ["quotes/#"] }), MqttCredentials.layerNone])
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: FeedOptions = {}): Layer.Layer<MqttFeed, never, MqttClient> => Layer.effect(MqttFeed, make(options))

/**
 * The source edge the feed delivers into: `Quote` records, `backpressure` over a small queue (the
 * dispatcher before it is the feed's buffer and drop policy).
 *
 * @category constructors
 * @since 0.1.0
 */
export const edge = (options: { readonly name?: string; readonly capacity?: number } = {}): Edge.SourceEdge<QuoteSpec> =>
  Edge.source(Quote.Quote, { name: options.name ?? "mqtt", overflow: "backpressure", capacity: options.capacity ?? 1024 })

/**
 * Attaches the feed in context to `edge` of a running pipeline (see `MqttFeed.attach`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Edge, Pipeline } from "@velox/core"
 * import { Quote } from "@velox/market"
 * import { MqttFeed } from "@velox/mqtt"
 *
 * const quotes = MqttFeed.edge()
 * const out = Edge.sink(Quote.Quote, { name: "out" })
 * const program = Effect.gen(function*() {
 *   const handle = yield* Pipeline.run(Pipeline.from(quotes).to(out))
 *   yield* MqttFeed.attach(handle, quotes) // when the scope closes: stop the client, hand over the queue, end the edge
 *   yield* handle.done
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const attach = (
  handle: { readonly writer: (edge: Edge.SourceEdge<QuoteSpec, any>) => Edge.EdgeWriter<QuoteSpec> },
  sourceEdge: Edge.SourceEdge<QuoteSpec, any>,
  options?: { readonly drainTimeoutMs?: number }
): Effect.Effect<void, never, MqttFeed | Scope.Scope> => MqttFeed.use((feed) => feed.attach(handle.writer(sourceEdge), options))

/**
 * Fails when the feed's client gives up; never succeeds. Race it with the pipeline's `done`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const failure: Effect.Effect<never, MqttError, MqttFeed> = MqttFeed.use((feed) => feed.client.failure)
