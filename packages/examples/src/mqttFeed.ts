/**
 * The MQTT feed: quotes from a broker into a pipeline, with its figures every second.
 *
 *   broker ──▶ MqttFeed (decode, drop-oldest dispatcher, epochs, feed health) ──▶ mqtt edge ──▶ discard
 *
 *   velox-mqtt-feed [--url mqtt://127.0.0.1:1883] [--topics quotes/#] [--simulate --symbols 8 --rate 1000] …
 *
 * `--simulate` publishes random-walk quotes itself (N symbols, R messages/s) to the same broker, and
 * `--broker` starts a mosquitto of its own on a free port: with both it runs with nothing but
 * `mosquitto` installed. Credentials come from VELOX_MQTT_USERNAME and VELOX_MQTT_PASSWORD; every other
 * feed option from VELOX_MQTT_<KEY> (see `MqttConfig`), the flags winning. `--ops-port` serves /metrics,
 * /ready (503 while disconnected or the feed is dead) and /stats. Ctrl-C or SIGTERM stops the client,
 * hands what the dispatcher holds to the pipeline, drains it, and prints the ledger and reconciliation;
 * a run that received nothing fails.
 */
import { Config, Console, Deferred, Effect, Layer, Option, Schema } from "effect"
import { Command, Flag } from "effect/cli"
import { Pipeline } from "@velox/core"
import { Mosquitto, MqttClient, MqttConfig, MqttCredentials, MqttFeed, MqttPublisher } from "@velox/mqtt"
import { NodeCli, NodePipelineRuntime, NodePipelineServer } from "@velox/node"
import { Discard } from "./discard.ts"

// ── Options ─────────────────────────────────────────────────────────────────────────────────────
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))

const flags = {
  url: Flag.String("url").pipe(Flag.withDescription("the broker (default VELOX_MQTT_URL, else mqtt://127.0.0.1:1883)"), Flag.optional),
  broker: Flag.Boolean("broker").pipe(Flag.withDescription("start a mosquitto of its own on a free port and use it (--url is then ignored)"), Flag.withDefault(false)),
  topics: Flag.String("topics").pipe(Flag.withDescription("topic filters, comma-separated, wildcards allowed (default quotes/#)"), Flag.optional),
  qos: Flag.Literals("qos", ["0", "1"]).pipe(Flag.withDescription("subscription QoS (default 0)"), Flag.optional),
  simulate: Flag.Boolean("simulate").pipe(Flag.withDescription("publish simulated quotes to the broker too (quotes/<SYMBOL>)"), Flag.withDefault(false)),
  symbols: Flag.Int("symbols").pipe(Flag.withSchema(PositiveInt), Flag.withDescription("--simulate: instruments (default 8)"), Flag.withDefault(8)),
  rate: Flag.Finite("rate").pipe(Flag.withSchema(Positive), Flag.withDescription("--simulate: messages per second over all symbols (default 1000)"), Flag.withDefault(1_000)),
  format: Flag.Literals("format", ["json", "binary"]).pipe(Flag.withDescription("--simulate: payload format (default json)"), Flag.withDefault("json" as const)),
  opsPort: Flag.Int("ops-port").pipe(Flag.withSchema(Port), Flag.withDescription("serve /metrics /ready /stats on 127.0.0.1:PORT (0: a free one)"), Flag.optional),
  statsSeconds: Flag.Finite("stats-seconds").pipe(Flag.withSchema(Positive), Flag.withDescription("seconds between stats lines (default 1)"), Flag.withDefault(1)),
  duration: Flag.Finite("duration").pipe(Flag.withSchema(Positive), Flag.withDescription("seconds to run, then drain (default: until Ctrl-C or SIGTERM)"), Flag.optional)
}

type Options = Command.Command.Config.Infer<typeof flags>

// ── Reports ─────────────────────────────────────────────────────────────────────────────────────
const n = (x: number) => x.toLocaleString("en-US")
const ms = (x: number) => (Number.isNaN(x) ? "–" : `${x.toFixed(1)} ms`)

const statsLine = (feed: MqttFeed.MqttFeed["Service"], publisher: MqttPublisher.Publisher | undefined): string => {
  const s = feed.stats()
  const h = feed.health()
  const parts = [
    `received ${n(s.received)}`,
    `decoded ${n(s.decoded)}`,
    `parse errors ${n(s.deadLettered)}`,
    `dropped ${n(s.dropped)}`,
    `queued ${n(s.queued)}`,
    `dispatched ${n(s.dispatched)}`,
    `epoch ${s.epoch}`,
    `connected ${h.connection.connected ? "yes" : `no (${h.connection.state})`}`,
    `feed ${h.feed.stale ? "DEAD" : "live"}`,
    `latency p50 ${ms(s.latency.p50Ms)} p99 ${ms(s.latency.p99Ms)}`
  ]
  if (publisher !== undefined) parts.push(`published ${n(publisher.stats().published)}`)
  return `mqtt: ${parts.join(", ")}${h.warnings.length === 0 ? "" : `; warnings: ${h.warnings.join("; ")}`}`
}

interface Running {
  readonly handle: Pipeline.PipelineHandle
  readonly feed: MqttFeed.MqttFeed["Service"]
}

/** After the drain: the last figures and the reconciliation; a run that received nothing fails. */
const report = ({ feed, handle }: Running) =>
  Effect.gen(function*() {
    const drained = yield* handle.drainReport
    const stage = (name: string) => drained.ledger.stages.find((s) => s.stage === name)
    const edge = stage("mqtt")
    const sink = stage("discard")
    const s = feed.stats()
    const dropped = Object.entries(s.droppedByReason).filter(([, k]) => k > 0).map(([r, k]) => `${r} ${n(k)}`).join(", ")
    const letters = Object.entries(s.deadLetteredByReason).filter(([, k]) => k > 0).map(([r, k]) => `${r} ${n(k)}`).join(", ")
    const checks: Array<[string, boolean]> = [
      [
        `the feed's counts balance: received ${n(s.received)} = decoded ${n(s.decoded)} + dead-lettered ${n(s.deadLettered)}` +
        `${letters === "" ? "" : ` (${letters})`} + dropped before the dispatcher; decoded = dispatched ${n(s.dispatched)} + dropped ${n(s.dropped)}` +
        `${dropped === "" ? "" : ` (${dropped})`} + abandoned ${n(s.abandoned)}`,
        s.balanced
      ],
      [`nothing left in the dispatcher: queued ${n(s.queued)}, in flight ${n(s.inFlight)}, abandoned ${n(s.abandoned)}`, s.queued + s.inFlight + s.abandoned === 0],
      [`quotes dispatched = quotes into the pipeline: ${n(s.dispatched)} = ${n(edge?.emitted ?? 0)}`, s.dispatched === (edge?.emitted ?? 0)],
      [`quotes into the pipeline = quotes at its end: ${n(edge?.emitted ?? 0)} = ${n(sink?.in ?? 0)}`, (edge?.emitted ?? 0) === (sink?.in ?? 0)],
      [`messages received: ${n(s.received)}`, s.received > 0]
    ]
    const lines = checks.map(([what, ok]) => `  ${ok ? "ok " : "NO "} ${what}`)
    yield* Console.log([statsLine(feed, undefined), "reconciliation:", ...lines].join("\n"))
    const failed = checks.filter(([, ok]) => !ok).map(([what]) => what)
    if (failed.length > 0) return yield* NodePipelineRuntime.failCheck(failed.join("; "))
  })

// ── The program ─────────────────────────────────────────────────────────────────────────────────
/** The feed's options from VELOX_MQTT_* with the flags given on top, validated. */
const feedLayer = (flagged: MqttConfig.Input) =>
  MqttFeed.layer().pipe(
    Layer.provideMerge(MqttClient.layer),
    Layer.provide(MqttConfig.layerConfigWith(flagged)),
    Layer.provide(MqttCredentials.layerConfig)
  )

/** The simulator publishes with the feed's credentials, when there are any. */
const publisherCredentials = Config.all({ username: Config.String("USERNAME"), password: Config.Redacted("PASSWORD") }).pipe(
  Config.nested("MQTT"),
  Config.nested("VELOX"),
  Config.option,
  Effect.map(Option.getOrElse(() => ({})))
)

const run = (options: Options, running: Deferred.Deferred<Running>) =>
  Effect.gen(function*() {
    const broker = options.broker ? yield* Mosquitto.start() : undefined
    if (broker !== undefined) yield* Console.log(`mosquitto on ${broker.url} (its own, stopped at the end)`)
    const url = broker?.url ?? Option.getOrUndefined(options.url)
    const input: MqttConfig.Input = {
      url,
      topics: Option.getOrUndefined(Option.map(options.topics, (t) => t.split(",").map((f) => f.trim()))),
      qos: Option.getOrUndefined(Option.map(options.qos, (q) => (q === "1" ? 1 : 0)))
    }
    yield* Effect.gen(function*() {
      const feed = yield* MqttFeed.MqttFeed
      const source = MqttFeed.edge()
      const handle = yield* Pipeline.run(Pipeline.from(source).to(Discard, {}), { report: true })
      yield* Deferred.succeed(running, { handle, feed })
      // Closed before the pipeline's drain: the client stops, the dispatcher's quotes go in, the edge ends.
      yield* MqttFeed.attach(handle, source)
      if (Option.isSome(options.opsPort)) {
        const server = yield* NodePipelineServer.make(handle, feed.extension).pipe(
          Effect.provide(NodePipelineServer.layerConfig({ port: options.opsPort.value }))
        )
        yield* Console.log(`ops: ${server.url}/metrics /ready /stats`)
      }
      yield* Console.log(`subscribing to ${feed.client.options.topics.join(", ")} on ${feed.client.options.url} (QoS ${feed.client.options.qos})`)
      const publisher = options.simulate
        ? yield* MqttPublisher.make({ url: feed.client.options.url, ...(yield* publisherCredentials) })
        : undefined
      if (publisher !== undefined) {
        yield* Console.log(`simulating ${options.symbols} symbols at ${n(options.rate)} messages/s (${options.format})`)
        yield* Effect.forkScoped(MqttPublisher.simulate(publisher, { symbols: options.symbols, rate: options.rate, format: options.format }))
      }
      const stats = Effect.suspend(() => Console.log(statsLine(feed, publisher)))
      yield* Effect.raceFirst(
        Effect.raceFirst(handle.done, MqttFeed.failure),
        Effect.raceFirst(
          Option.match(options.duration, { onNone: () => Effect.never, onSome: (s) => Effect.sleep(s * 1000) }),
          stats.pipe(Effect.delay(options.statsSeconds * 1000), Effect.forever)
        )
      )
      yield* Console.log("draining…")
    }).pipe(Effect.scoped, Effect.provide(feedLayer(input)))
  }).pipe(Effect.scoped)

const mqttFeed = (options: Options) =>
  Effect.gen(function*() {
    const running = yield* Deferred.make<Running>()
    // After the drain, also after Ctrl-C: the ledger, the last figures, the reconciliation.
    yield* Effect.onExit(run(options, running), () =>
      Deferred.poll(running).pipe(
        Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (r) => Effect.flatMap(r, report) }))
      ))
  })

const command = Command.make("velox-mqtt-feed", flags, mqttFeed).pipe(
  Command.withDescription(
    "Quotes from an MQTT broker into a pipeline (drop-oldest dispatcher, connection epochs, reconnect, feed health), " +
      "with stats every second; --simulate publishes quotes too, --broker starts a mosquitto of its own. Drains on Ctrl-C or SIGTERM."
  )
)

// A feed at a high rate: V8 must not judge mqtt.js's per-message objects long-lived (see NodeHeap).
NodeCli.run(command, { version: "0.1.0", heap: "streaming" })
