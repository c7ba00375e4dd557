/**
 * Quotes from mosquitto into a pipeline, beside the bare mqtt.js client.
 *
 * ```
 *   throughput: publisher ──▶ mosquitto (a backlog of N QoS 0 messages for an offline persistent session)
 *                             mosquitto ──▶ bare mqtt.js client (counts)                           (the peer)
 *                             mosquitto ──▶ MqttFeed (decode, dispatcher) ──▶ mqtt edge ──▶ sink    (velox)
 *   latency:    simulator (R msg/s, publish time in each quote) ──▶ mosquitto ──▶ MqttFeed ──▶ … ──▶ sink
 * ```
 *
 * Throughput: the broker first holds N messages for the subscriber's session (`queue_qos0_messages`),
 * published with nothing subscribed to them; the timer then runs from the subscriber's connect to the
 * N-th message counted (the peer) or handed to the pipeline (velox). Untimed warm-ups come first (20,000
 * messages into a bare client, then through a feed into a pipeline: both sides compiled), and velox's
 * pipeline is running before its clock starts. Each side is timed twice, in the order peer, velox,
 * velox, peer, and its rate is 2N over its two passes' seconds: a drifting load weighs on both alike. The quotes are the simulator's (`MqttPublisher.quotes`). CPU time
 * per message (the whole process, its main thread, the sink's thread, and the broker's) is reported beside each. Only
 * mosquitto and the subscriber run while timed. Checked: the peer counted exactly N; velox received N, dropped and
 * dead-lettered none, and its counts balance.
 *
 * Latency: a simulator in this process publishes at `rate` for `warmupMs + windowMs`; p50/p99 from each
 * quote's publish time to its leaving the dispatcher, over every quote of the run (the feed's own
 * histogram). Checked: nothing dropped or dead-lettered, the counts balance.
 */
import { Effect, Layer, type Scope } from "effect"
import mqtt from "mqtt"
import { Pipeline, type StageHost } from "@velox/core"
import { FeedStatus } from "@velox/market"
import { Mosquitto, MqttClient, MqttConfig, MqttCredentials, MqttFeed, MqttPublisher, QuotePayload } from "@velox/mqtt"
import { NodeHeap, NodeStageHost } from "@velox/node"
import { InconclusiveRun } from "../harness.ts"
import { loopCpuNs, processCpuNs } from "./loopCpu.ts"
import { QuoteSink } from "./mqttSink.ts"
import { spawnNodeChild } from "./nodeChild.ts"

export type Params =
  | {
    readonly mode: "throughput"
    readonly format: "json" | "binary"
    readonly messages: number
    /** Where the messages come from: mosquitto's backlog (default), or the replay server (`mqttReplay.server.ts`). */
    readonly source?: "mosquitto" | "replay" | undefined
    /** The process's heap tuning, for both sides (`NodeHeap`; default V8's own). */
    readonly heap?: NodeHeap.Tuning | undefined
  }
  | { readonly mode: "latency"; readonly format: "json" | "binary"; readonly rate: number; readonly warmupMs: number; readonly windowMs: number }

const SYMBOLS = 8

const waitUntil = (condition: () => boolean) =>
  Effect.gen(function*() {
    while (!condition()) yield* Effect.sleep("1 millis")
  })

const feedLayer = (input: MqttConfig.Input) =>
  MqttFeed.layer().pipe(Layer.provideMerge(MqttClient.layer), Layer.provide(MqttConfig.layer(input)), Layer.provide(MqttCredentials.layerNone), Layer.orDie)

/** Runs `feed edge → sink` (its threads started before any feed connects); `attach` plugs in the feed in context. */
const pipeline = Effect.gen(function*() {
  const source = MqttFeed.edge()
  const handle = yield* Pipeline.run(Pipeline.from(source).to(QuoteSink, {}))
  // Running: the sink's thread has loaded its modules and entered its loop (it would otherwise do so while timed).
  yield* waitUntil(() => handle.health().status === "running")
  return {
    attach: Effect.gen(function*() {
      const feed = yield* MqttFeed.MqttFeed
      yield* MqttFeed.attach(handle, source)
      return feed
    })
  }
})

/**
 * CPU time (µs) of the whole process (every thread), of the main thread alone, of velox's loop threads
 * (the sink's), and of the broker (process `brokerPid`), since `from` (Linux only for the last two, else 0).
 */
const cpuSince = (brokerPid: number, from?: { readonly process: NodeJS.CpuUsage; readonly main: NodeJS.CpuUsage; readonly loopsNs: number; readonly brokerNs: number }) => {
  const now = { process: process.cpuUsage(), main: process.threadCpuUsage(), loopsNs: loopCpuNs().others, brokerNs: processCpuNs(brokerPid) }
  if (from === undefined) return { start: now, processUs: 0, mainUs: 0, loopsUs: 0, brokerUs: 0 }
  const us = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => a.user + a.system - b.user - b.system
  return {
    start: now,
    processUs: us(now.process, from.process),
    mainUs: us(now.main, from.main),
    loopsUs: (now.loopsNs - from.loopsNs) / 1000,
    brokerUs: (now.brokerNs - from.brokerNs) / 1000
  }
}

type CpuUsed = Pick<ReturnType<typeof cpuSince>, "processUs" | "mainUs" | "loopsUs" | "brokerUs">
const noCpu: CpuUsed = { processUs: 0, mainUs: 0, loopsUs: 0, brokerUs: 0 }
const addCpu = (a: CpuUsed, b: CpuUsed): CpuUsed => ({
  processUs: a.processUs + b.processUs,
  mainUs: a.mainUs + b.mainUs,
  loopsUs: a.loopsUs + b.loopsUs,
  brokerUs: a.brokerUs + b.brokerUs
})

const checked = (feed: MqttFeed.MqttFeed["Service"], expected?: number) => {
  const s = feed.stats()
  if (!s.balanced || s.dropped > 0 || s.deadLettered > 0 || (expected !== undefined && (s.received !== expected || s.dispatched !== expected))) {
    throw new Error(`velox feed counts: ${JSON.stringify(s)}`)
  }
  return s
}

/** Leaves N messages for the persistent session `clientId` in the broker: registered, then offline. */
const backlog = (url: string, clientId: string, payloads: ReadonlyArray<readonly [string, Uint8Array | string]>) =>
  Effect.gen(function*() {
    yield* Effect.promise(async () => {
      const session = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 0 })
      await session.subscribeAsync("quotes/#", { qos: 0 })
      await session.endAsync()
    })
    yield* Effect.scoped(Effect.gen(function*() {
      const publisher = yield* MqttPublisher.make({ url })
      for (const [topic, payload] of payloads) {
        if (!publisher.publishUnsafe(topic, payload, 0)) throw new Error("publisher not connected")
        if (publisher.stats().pending >= 512) yield* publisher.flush
      }
      // A QoS 1 message after them on the same connection: once it is acknowledged, the broker has them all.
      yield* publisher.publish("bench/barrier", "end", 1)
    }))
  })

/**
 * A bare mqtt.js client of the persistent session `clientId`: seconds from its connect to the
 * `messages`-th message, each handed to `handle` (which returns a number > 0 for a payload it read).
 */
const bareClient = (url: string, clientId: string, messages: number, handle: (payload: Buffer) => number) =>
  Effect.promise(() =>
    new Promise<number>((resolve, reject) => {
      let count = 0
      let read = 0
      const t0 = performance.now()
      // The feed's client skips mqtt.js's per-packet trace calls while they are off; so does the peer, so
      // that the ratio counts what the pipeline adds, not a client option anyone can set.
      const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0, log: () => {} })
      client.on("error", reject)
      client.on("message", (_topic, payload) => {
        read += handle(payload) > 0 ? 1 : 0
        if (++count === messages) {
          const seconds = (performance.now() - t0) / 1000
          client.end(true, () => (read === messages ? resolve(seconds) : reject(new Error(`only ${read} of ${messages} payloads read`))))
        }
      })
    })
  )

/**
 * The backlog of the persistent session `clientId` through a feed into a new pipeline: seconds and CPU
 * from attaching the feed (its client connecting) to the `messages`-th quote dispatched, checked.
 */
const veloxPass = (url: string, brokerPid: number, clientId: string, messages: number) =>
  Effect.gen(function*() {
    const { attach } = yield* pipeline
    const start = cpuSince(brokerPid)
    const t0 = performance.now()
    return yield* Effect.gen(function*() {
      const feed = yield* attach
      yield* waitUntil(() => feed.stats().dispatched >= messages)
      const seconds = (performance.now() - t0) / 1000
      const used = cpuSince(brokerPid, start.start)
      checked(feed, messages)
      return [seconds, used] as const
    }).pipe(
      Effect.scoped,
      Effect.provide(feedLayer({ url, clientId, cleanSession: false, topics: ["quotes/#"], queueCapacity: messages }))
    )
  }).pipe(Effect.scoped)

/**
 * Where a pass's messages come from: `url` to connect to, `pid` of the process serving them (its CPU is
 * reported as the broker's), and `load(clientId, payloads)`, which readies them for a session and
 * returns the client id to connect with.
 */
interface Source {
  readonly url: string
  readonly pid: number
  readonly load: (clientId: string, payloads: ReadonlyArray<readonly [string, Uint8Array | string]>) => Effect.Effect<string, unknown>
}

/** mosquitto, holding each session's backlog (published while it is offline). */
const mosquittoSource = Effect.gen(function*() {
  const broker = yield* Mosquitto.start({ config: ["queue_qos0_messages true", "max_inflight_messages 0"] })
  return {
    url: broker.url,
    pid: broker.pid() ?? 0,
    load: (clientId, payloads) => backlog(broker.url, clientId, payloads).pipe(Effect.as(clientId))
  } satisfies Source
})

const REPLAY_SERVER = new URL("./mqttReplay.server.ts", import.meta.url).pathname

/**
 * The replay server in its own process, encoding the same quotes (the simulator's, from the same seed)
 * once; it streams a connection the first `n` of them, `n` from the client id's `-n<n>` suffix.
 */
const replaySource = (format: "json" | "binary", messages: number) =>
  Effect.gen(function*() {
    const server = yield* spawnNodeChild(REPLAY_SERVER, [format, String(messages)], { stdin: "pipe", killSignal: "SIGTERM" })
    const ready = yield* server.waitFor(/ready (\d+)\n/, "before it was ready")
    return {
      url: `mqtt://127.0.0.1:${ready[1]}`,
      pid: server.child.pid ?? 0,
      load: (clientId, payloads) => Effect.succeed(`${clientId}-n${payloads.length}`)
    } satisfies Source
  })

const throughput = (params: Extract<Params, { mode: "throughput" }>) =>
  Effect.gen(function*() {
    // Before the payloads and the warm-ups: the whole process, both sides alike.
    NodeHeap.tune(params.heap ?? "default")
    const source = params.source === "replay" ? yield* replaySource(params.format, params.messages) : yield* mosquittoSource
    const { url, pid: brokerPid } = source
    // The simulator's quotes: issue 9's random walks, every price a whole number of ticks (as a feed prints it).
    const next = MqttPublisher.quotes({ symbols: SYMBOLS })
    const payloads = Array.from({ length: params.messages }, () => {
      const q = next(Date.now() * 1e6)
      return [`quotes/${q.symbol}`, params.format === "json" ? QuotePayload.encodeJson(q) : QuotePayload.encodeBinary(q)] as const
    })

    // Warm-ups, untimed, both before any timed pass: mqtt.js's parsing, then velox's feed, decoding and
    // hand-off compiled (the first side timed would otherwise take its cold start).
    const warmup = payloads.slice(0, Math.min(payloads.length, 20_000))
    const warmupBare = yield* source.load("bench-warmup", warmup)
    yield* bareClient(url, warmupBare, warmup.length, (payload) => payload.length)
    const warmupVelox = yield* source.load("bench-warmup-velox", warmup)
    yield* veloxPass(url, brokerPid, warmupVelox, warmup.length)

    // Timed, in the order peer, velox, velox, peer (each pass the same backlog, loaded afresh for its own
    // session): a load that rises or falls through the run weighs on both sides alike, where one pass
    // each, peer first, handed any drift to one side.
    const passes = { bare: { seconds: 0, used: noCpu }, velox: { seconds: 0, used: noCpu } }
    const passSeconds: Array<number> = []
    for (const [i, side] of (["bare", "velox", "velox", "bare"] as const).entries()) {
      const clientId = yield* source.load(`bench-${side}-${i}`, payloads)
      let seconds: number
      let used: CpuUsed
      if (side === "bare") {
        const start = cpuSince(brokerPid)
        seconds = yield* bareClient(url, clientId, params.messages, (payload) => payload.length)
        used = cpuSince(brokerPid, start.start)
      } else {
        ;[seconds, used] = yield* veloxPass(url, brokerPid, clientId, params.messages)
      }
      passSeconds.push(seconds)
      passes[side] = { seconds: passes[side].seconds + seconds, used: addCpu(passes[side].used, used) }
    }
    const messages = 2 * params.messages
    const bareUsed = passes.bare.used
    const veloxUsed = passes.velox.used
    // Informational (JSON only), untimed against velox: the same client parsing each payload with JSON.parse.
    let parseJsonSeconds = NaN
    if (params.format === "json") {
      const clientId = yield* source.load("bench-bare-parse", payloads)
      parseJsonSeconds = yield* bareClient(url, clientId, params.messages, (payload) => (JSON.parse(payload.toString()) as { bid: number }).bid > 0 ? 1 : 0)
    }
    return {
      veloxKmsgPerSecond: messages / passes.velox.seconds / 1000,
      bareKmsgPerSecond: messages / passes.bare.seconds / 1000,
      ...(params.format === "json" ? { bareParseJsonKmsgPerSecond: params.messages / parseJsonSeconds / 1000 } : {}),
      veloxCpuUsPerMsg: veloxUsed.processUs / messages,
      veloxMainCpuUsPerMsg: veloxUsed.mainUs / messages,
      veloxSinkCpuUsPerMsg: veloxUsed.loopsUs / messages,
      veloxBrokerCpuUsPerMsg: veloxUsed.brokerUs / messages,
      bareCpuUsPerMsg: bareUsed.processUs / messages,
      bareMainCpuUsPerMsg: bareUsed.mainUs / messages,
      bareBrokerCpuUsPerMsg: bareUsed.brokerUs / messages,
      // Each pair's own ratio (peer 1 with velox 1, velox 2 with peer 2): how far one pass pair strays.
      ratioFirstPair: passSeconds[0]! / passSeconds[1]!,
      ratioSecondPair: passSeconds[3]! / passSeconds[2]!,
      messages: params.messages
    }
  })

/** The simulator's messages for a latency run. */
const latencyCount = (params: Extract<Params, { mode: "latency" }>) => Math.round((params.rate * (params.warmupMs + params.windowMs)) / 1000)

/** The peer's latency: the same simulator into a bare mqtt.js client, publish → its message callback (p50, p99 in ms). */
const bareLatency = (url: string, params: Extract<Params, { mode: "latency" }>) =>
  Effect.gen(function*() {
    const client = yield* Effect.acquireRelease(
      Effect.promise(() => mqtt.connectAsync(url, { clientId: "bench-bare-latency", reconnectPeriod: 0 })),
      (c) => Effect.promise(() => c.endAsync(true))
    )
    yield* Effect.promise(() => client.subscribeAsync("quotes/#", { qos: 0 }))
    const samples: Array<number> = []
    client.on("message", (_topic, payload) => {
      const ts = params.format === "binary" ? payload.readDoubleLE(12) : (JSON.parse(payload.toString()) as { exchangeTsNs: number }).exchangeTsNs
      samples.push(FeedStatus.wallClockNs() - ts)
    })
    const publisher = yield* MqttPublisher.make({ url })
    yield* MqttPublisher.simulate(publisher, { symbols: 8, rate: params.rate, format: params.format, count: latencyCount(params) })
    yield* waitUntil(() => samples.length >= publisher.stats().published)
    samples.sort((a, b) => a - b)
    const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]! / 1e6
    return { bareP50Ms: at(0.5), bareP99Ms: at(0.99) }
  }).pipe(Effect.scoped)

const latency = (params: Extract<Params, { mode: "latency" }>) =>
  Effect.gen(function*() {
    const broker = yield* Mosquitto.start()
    const { attach } = yield* pipeline
    const velox = yield* Effect.gen(function*() {
      const feed = yield* attach
      yield* feed.client.connected
      const publisher = yield* MqttPublisher.make({ url: broker.url })
      const sent = yield* MqttPublisher.simulate(publisher, { symbols: 8, rate: params.rate, format: params.format, count: latencyCount(params) })
      yield* waitUntil(() => feed.stats().received >= publisher.stats().published)
      yield* waitUntil(() => feed.stats().dispatched >= feed.stats().decoded)
      const s = checked(feed)
      if (s.latency.count < 1000) throw new InconclusiveRun(`only ${s.latency.count} quotes measured`)
      return { p50Ms: s.latency.p50Ms, p99Ms: s.latency.p99Ms, maxMs: s.latency.maxMs, sent, received: s.received }
    }).pipe(Effect.scoped, Effect.provide(feedLayer({ url: broker.url, topics: ["quotes/#"] })))
    // The peer after velox (velox took the cold start: JIT, the simulator's first messages).
    return { ...velox, ...(yield* bareLatency(broker.url, params)) }
  })

export const run = (params: Params): Promise<Record<string, number>> =>
  Effect.runPromise(
    (params.mode === "throughput" ? throughput(params) : latency(params) as Effect.Effect<Record<string, number>, unknown, Scope.Scope | StageHost.StageHost>).pipe(
      Effect.scoped,
      Effect.provide(NodeStageHost.layer)
    )
  )
