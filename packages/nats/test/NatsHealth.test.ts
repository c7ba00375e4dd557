import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { Effect, Stream } from "effect"
import { Edge, Pipeline } from "@velox/core"
import { NodeStageHost } from "@velox/node"
import { NatsClient, NatsEgress, NatsHealth, NatsIngress, NatsServer } from "../src/index.ts"
import { clientLayer, tick, Tick } from "./helpers.ts"
import { findTool } from "../../../scripts/tools.ts"

const until = (cond: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (cond() ? Effect.void : Effect.sleep("10 millis").pipe(Effect.andThen(until(cond)))))

const sample = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  if (line === undefined) throw new Error(`no ${series} in\n${text}`)
  return Number(line.slice(series.length + 1))
}

describe("NatsHealth", () => {
  it.live("/metrics shows the connection, publishes, acks, lag and redeliveries; /ready follows the connection through a server restart", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const run = Effect.gen(function*() {
        const client = yield* NatsClient.NatsClient
        const egress = NatsEgress.make({ name: "to-nats", layout: Tick, subjectPrefix: "ticks", partitions: 2, key: "symbol", sequence: "seq", feed: "t", epoch: 1 })
        const ingress = NatsIngress.make({ name: "from-nats", layout: Tick, stream: "TICKS", subjectPrefix: "ticks", partitions: [0, 1], durable: "h", sequence: "seq" })
        const extension = NatsHealth.extension({ client, egress: [egress], ingress: [ingress] })
        yield* Pipeline.runToEnd(Pipeline.from(Edge.fromStream(Tick, Stream.range(0, 999).pipe(Stream.map(tick)), { name: "ticks" })).to(egress.edge))
        const out = Edge.sink(Tick, { name: "out" })
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* Pipeline.run(Pipeline.from(ingress.edge).to(out))
          yield* ingress.attach(handle)
          yield* handle.stream(out).pipe(Stream.take(1000), Stream.runDrain)
          yield* until(() => ingress.stats().awaitingAck === 0)
        }))
        const text = extension.metrics!()
        assert.strictEqual(sample(text, "velox_nats_connected"), 1)
        assert.strictEqual(sample(text, `velox_nats_connection_state{state="connected"}`), 1)
        assert.strictEqual(sample(text, `velox_nats_egress_records_acked_total{egress="to-nats"}`), 1000)
        assert.strictEqual(sample(text, `velox_nats_egress_in_flight{egress="to-nats"}`), 0)
        assert.strictEqual(sample(text, `velox_nats_ingress_records_offered_total{ingress="from-nats"}`), 1000)
        assert.strictEqual(sample(text, `velox_nats_ingress_redeliveries_total{ingress="from-nats"}`), 0)
        assert.include(text, "velox_nats_ingress_consumer_lag_messages")
        // Each family once, whatever the number of egresses and ingresses.
        const types = text.split("\n").filter((l) => l.startsWith("# TYPE "))
        assert.strictEqual(new Set(types).size, types.length)
        const promtool = findTool("promtool")
        if (promtool !== undefined) {
          const checked = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" })
          assert.strictEqual(checked.status, 0, checked.stdout + checked.stderr)
        }
        assert.deepStrictEqual(extension.readiness!.map((r) => r()), [undefined])
        assert.strictEqual((extension.stats!()["nats"] as { health: NatsHealth.Health }).health.ready, true)

        yield* server.kill
        yield* until(() => extension.readiness![0]!() !== undefined)
        assert.match(extension.readiness![0]!()!, /^nats reconnecting/)
        yield* server.start
        yield* until(() => extension.readiness![0]!() === undefined)
        assert.strictEqual(sample(extension.metrics!(), "velox_nats_reconnects_total"), 1)
        assert.strictEqual(sample(extension.metrics!(), "velox_nats_disconnects_total"), 1)
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: [{ name: "TICKS", subjects: ["ticks.>"] }] })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)
})
