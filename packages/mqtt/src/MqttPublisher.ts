/**
 * Publishing quotes to a broker: a small mqtt.js publisher (it reconnects by itself) and a simulator
 * that publishes random-walk quotes (`QuoteGenerator`'s instruments) for N symbols at R messages per
 * second, in either payload format, each stamped with the time it is published. For demos
 * (`velox-mqtt-feed --simulate`), drills and benchmarks; a real feed publishes its own.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Redacted, type Scope } from "effect"
import mqtt from "mqtt"
import { RecordLayout, type Stage } from "@velox/core"
import { Quote, QuoteGenerator, Symbols } from "@velox/market"
import { makeQuoteGeneratorLogic } from "@velox/market/unsafe"
import { MqttError } from "./MqttError.ts"
import * as QuotePayload from "./QuotePayload.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly url: string
  readonly clientId?: string | undefined
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted<string> | undefined
  /** Delay between its own reconnect attempts. Default 500 ms. */
  readonly reconnectMs?: number | undefined
  /** For the first CONNACK. Default 10 s. */
  readonly connectTimeoutMs?: number | undefined
}

/**
 * A connected publisher.
 *
 * @category models
 * @since 0.1.0
 */
export interface Publisher {
  /** Publishes one message; done once written (QoS 0) or acknowledged (QoS 1). */
  readonly publish: (topic: string, payload: string | Uint8Array, qos?: 0 | 1) => Effect.Effect<void, MqttError>
  /** Publishes without waiting; false (and counted) when not connected: the message is not sent. */
  readonly publishUnsafe: (topic: string, payload: string | Uint8Array, qos?: 0 | 1) => boolean
  readonly connected: () => boolean
  /** Messages handed to the connection, those refused while it was down, and those not yet written (or acknowledged). */
  readonly stats: () => { readonly published: number; readonly notConnected: number; readonly pending: number }
  /** Waits until everything handed over was written (or acknowledged) or the connection dropped it. */
  readonly flush: Effect.Effect<void>
}

/**
 * Connects a publisher in the current scope (ended when it closes).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Publisher, MqttError, Scope.Scope> =>
  Effect.gen(function*() {
    let published = 0
    let notConnected = 0
    let pending = 0
    const idle: Array<() => void> = []
    const settle = () => {
      pending--
      if (pending === 0) for (const wake of idle.splice(0)) wake()
    }
    const client = yield* Effect.acquireRelease(
      Effect.callback<mqtt.MqttClient, MqttError>((resume) => {
        const c = mqtt.connect(options.url, {
          clientId: options.clientId ?? `velox-publisher-${Math.floor(Math.random() * 2 ** 32).toString(16)}`,
          reconnectPeriod: options.reconnectMs ?? 500,
          connectTimeout: options.connectTimeoutMs ?? 10_000,
          // QoS 0 while disconnected is not queued: the simulator counts it as not sent.
          queueQoSZero: false,
          ...(options.username === undefined ? {} : { username: options.username }),
          ...(options.password === undefined ? {} : { password: Redacted.value(options.password) })
        })
        let first = true
        c.on("error", (e) => {
          if (!first) return
          first = false
          c.end(true)
          resume(Effect.fail(new MqttError({ reason: "ConnectFailed", message: `publisher: ${e.message}` })))
        })
        c.once("connect", () => {
          if (!first) return
          first = false
          resume(Effect.succeed(c))
        })
      }),
      (c) => Effect.callback<void>((resume) => void c.end(false, () => resume(Effect.void)))
    )
    const send = (topic: string, payload: string | Uint8Array, qos: 0 | 1, done: (error?: Error | null) => void): boolean => {
      if (!client.connected) {
        notConnected++
        return false
      }
      published++
      pending++
      client.publish(topic, payload as Buffer, { qos }, (error) => {
        settle()
        done(error)
      })
      return true
    }
    return {
      publish: (topic, payload, qos = 0) =>
        Effect.callback<void, MqttError>((resume) => {
          const sent = send(topic, payload, qos, (error) =>
            resume(error == null ? Effect.void : Effect.fail(new MqttError({ reason: "ConnectFailed", message: `publish: ${error.message}` }))))
          if (!sent) resume(Effect.fail(new MqttError({ reason: "ConnectFailed", message: "publish: not connected" })))
        }),
      publishUnsafe: (topic, payload, qos = 0) => send(topic, payload, qos, () => {}),
      connected: () => client.connected,
      stats: () => ({ published, notConnected, pending }),
      flush: Effect.callback<void>((resume) => {
        if (pending === 0) resume(Effect.void)
        else idle.push(() => resume(Effect.void))
      })
    } satisfies Publisher
  })

/**
 * @category models
 * @since 0.1.0
 */
export interface SimulationOptions {
  /** Instruments (EURUSD, AAPL, GBPUSD, MSFT, …; then SYM0021, …). */
  readonly symbols: number
  /** Messages per second, over all symbols. */
  readonly rate: number
  readonly format: "json" | "binary"
  /** The topic of a symbol's quotes. Default `quotes/<symbol>`. */
  readonly topic?: ((symbol: string) => string) | undefined
  readonly qos?: 0 | 1 | undefined
  /** Stop after this many messages. Default: never. */
  readonly count?: number | undefined
  readonly seed?: number | undefined
}

/** Messages published per pacing step at most: a stalled simulator catches up in steps, not one burst. */
const MAX_BURST = 4096
const TICK_MS = 5
/**
 * Messages not yet written past which the simulator waits: mqtt.js adds a `drain` listener for each
 * write into a backed-up socket, and thousands of them make every write slow (and Node warn).
 */
const MAX_PENDING = 512

/**
 * The simulator's quotes, one a call: `QuoteGenerator`'s seeded random walks for the first `symbols`
 * instruments (EURUSD, AAPL, GBPUSD, MSFT, …), at realistic prices, each a whole number of its
 * instrument's ticks, so that it prints as a feed prints it (`1.08123`, `187.25`, `151.204`). Each
 * quote gets the `exchangeTsNs` it is called with. For publishers and benchmarks.
 *
 * @example
 * ```ts
 * import { MqttPublisher, QuotePayload } from "@velox/mqtt"
 *
 * const next = MqttPublisher.quotes({ symbols: 8 })
 * const payload = QuotePayload.encodeJson(next(Date.now() * 1e6)) // {"symbol":"EURUSD","seq":1,…,"bid":1.08498,…}
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const quotes = (options: { readonly symbols: number; readonly seed?: number | undefined }): (exchangeTsNs: number) => QuotePayload.QuoteMessage => {
  const table = Symbols.make(Math.max(1, options.symbols))
  const generator = makeQuoteGeneratorLogic({ symbols: table, instruments: options.symbols, unthrottled: true, seed: options.seed ?? 1 })
  const batch = RecordLayout.view(Quote.Quote, new ArrayBuffer(MAX_BURST * Quote.Quote.byteLength), 0, MAX_BURST)
  let slot = 0
  const out: Stage.Emitter<typeof Quote.Quote.spec> = {
    view: batch,
    emit: () => slot++,
    forward: (input, start, count) => {
      RecordLayout.copyRecords(input, start, batch, slot, count)
      slot += count
    },
    account: () => {},
    drop: () => {},
    deadLetter: () => {}
  }
  const names = Symbols.names(table)
  const f = batch.fields
  let i = 0
  return (exchangeTsNs) => {
    if (i === slot) {
      slot = 0
      i = 0
      generator.onPoll(0, MAX_BURST, out)
    }
    const at = i++
    return {
      symbol: names[f.symbol.get(at)]!,
      seq: f.seq.get(at),
      exchangeTsNs,
      bid: f.bid.get(at),
      ask: f.ask.get(at),
      bidSize: f.bidSize.get(at),
      askSize: f.askSize.get(at),
      last: f.last.get(at),
      lastSize: f.lastSize.get(at)
    }
  }
}

/**
 * Publishes simulated quotes at `rate` messages per second (paced in 5 ms steps) until `count`, or
 * forever. Each quote's `exchangeTsNs` is the wall-clock time it was published, so a consumer can
 * measure publish-to-arrival latency. It waits while the connection has 512 messages not yet
 * written, and a simulator that falls more than a second behind skips ahead instead of bursting.
 * Returns how many it published.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { MqttPublisher } from "@velox/mqtt"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const publisher = yield* MqttPublisher.make({ url: "mqtt://127.0.0.1:1883" })
 *   yield* MqttPublisher.simulate(publisher, { symbols: 8, rate: 1_000, format: "json", count: 10_000 })
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const simulate = (publisher: Publisher, options: SimulationOptions): Effect.Effect<number> =>
  Effect.gen(function*() {
    const seed = options.seed ?? 1
    const next = quotes({ symbols: options.symbols, seed })
    const topicOf = options.topic ?? ((s: string) => `quotes/${s}`)
    const topics = new Map(QuoteGenerator.instrumentNames(options.symbols, seed).map((name) => [name, topicOf(name)]))
    const qos = options.qos ?? 0
    const count = options.count ?? Infinity
    const clock = yield* Clock.Clock
    const startMs = clock.currentTimeMillisUnsafe()
    let sent = 0
    let skipped = 0
    while (sent < count) {
      const elapsedMs = clock.currentTimeMillisUnsafe() - startMs
      let due = Math.min(Math.floor((elapsedMs * options.rate) / 1000) - skipped - sent, count - sent)
      if (due > Math.max(options.rate, MAX_BURST)) {
        // More than a second behind: skip ahead rather than flood.
        skipped += due - MAX_BURST
        due = MAX_BURST
      }
      // A connection that cannot take more (its socket backed up) is not given more: the simulator falls behind instead.
      while (due > 0 && publisher.stats().pending < MAX_PENDING) {
        const n = Math.min(due, MAX_PENDING - publisher.stats().pending)
        const nowNs = (performance.timeOrigin + performance.now()) * 1e6
        for (let i = 0; i < n; i++) {
          const q = next(nowNs)
          publisher.publishUnsafe(topics.get(q.symbol)!, options.format === "json" ? QuotePayload.encodeJson(q) : QuotePayload.encodeBinary(q), qos)
        }
        sent += n
        due -= n
      }
      if (sent < count) yield* Effect.sleep(Duration.millis(TICK_MS))
    }
    yield* publisher.flush
    return sent
  })
