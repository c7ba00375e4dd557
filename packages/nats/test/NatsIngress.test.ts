import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { AckPolicy } from "@nats-io/jetstream"
import { Edge, Pipeline } from "@velox/core"
import { NodeStageHost } from "@velox/node"
import { NatsClient, NatsEgress, NatsIngress, NatsServer } from "../src/index.ts"
import { clientLayer, readStream, tick, Tick } from "./helpers.ts"

const STREAM = [{ name: "TICKS", subjects: ["ticks.>"], duplicateWindowMs: 60_000 }]
const PARTITIONS = [0, 1, 2, 3]

const until = (cond: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (cond() ? Effect.void : Effect.sleep("5 millis").pipe(Effect.andThen(until(cond)))))

/** Publishes ticks `from .. to - 1` through an egress. */
const publish = (from: number, to: number) =>
  Pipeline.runToEnd(
    Pipeline.from(Edge.fromStream(Tick, Stream.range(from, to - 1).pipe(Stream.map(tick)), { name: "ticks" })).to(
      NatsEgress.make({ name: "to-nats", layout: Tick, subjectPrefix: "ticks", partitions: 4, key: "symbol", sequence: "seq", feed: "ticks", epoch: 1 }).edge
    )
  )

const ingressOf = (options: Partial<NatsIngress.Options<typeof Tick.spec>> = {}) =>
  NatsIngress.make({ name: "from-nats", layout: Tick, stream: "TICKS", subjectPrefix: "ticks", partitions: PARTITIONS, durable: "test", sequence: "seq", ...options })

const consumerInfos = (durable: string) =>
  NatsClient.NatsClient.use((c) => Effect.promise(() => Promise.all(PARTITIONS.map((p) => c.manager.consumers.info("TICKS", `${durable}-${p}`)))))

describe("NatsIngress", () => {
  it.live("delivers every record once into the stages, drops republished ones as duplicates, and acks a message only once its records were released", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const count = 10_000
      const run = Effect.gen(function*() {
        // Published twice: the second time only some batches have the same ids (the server drops those);
        // the rest are in the stream twice.
        yield* publish(0, count)
        yield* publish(count / 2, count)
        const stored = yield* readStream("TICKS")
        const storedRecords = stored.reduce((n, b) => n + b.seqs.length, 0)
        assert.isAbove(storedRecords, count)

        const ingress = ingressOf()
        const out = Edge.sink(Tick, { name: "out" })
        const seen = yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* Pipeline.run(Pipeline.from(ingress.edge).to(out))
          yield* ingress.attach(handle)
          // Everything is in the edge and its ring, nothing read yet: nothing may be acked.
          yield* until(() => ingress.stats().records === storedRecords)
          const before = ingress.stats()
          assert.strictEqual(before.offered, count)
          // Only messages whose records were all duplicates are acked before anything is released.
          assert.strictEqual(before.released, 0)
          assert.isAbove(before.awaitingAck, 0)
          assert.strictEqual(before.acked + before.awaitingAck, stored.length)
          const got = yield* handle.stream(out).pipe(Stream.take(count), Stream.runCollect)
          yield* until(() => ingress.stats().awaitingAck === 0)
          return got
        }).pipe(Effect.provide(NodeStageHost.layer)))
        const seqs = seen.map((r) => r.seq).sort((a, b) => a - b)
        assert.strictEqual(seqs.length, count)
        assert.isTrue(seqs.every((s, i) => s === i))
        const s = ingress.stats()
        assert.isTrue(s.balanced)
        assert.strictEqual(s.duplicates, storedRecords - count)
        assert.strictEqual(s.acked, stored.length)
        assert.strictEqual(s.redeliveries, 0)
        const infos = yield* consumerInfos("test")
        assert.isTrue(infos.every((i) => i.num_ack_pending === 0 && i.num_pending === 0), JSON.stringify(infos.map((i) => [i.num_ack_pending, i.num_pending])))
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: STREAM })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)

  it.live("records not released before the drain are not acked but returned (nak), redelivered to the durable's next run, and counted as redeliveries", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const count = 5_000
      const run = Effect.gen(function*() {
        yield* publish(0, count)
        const messagesStored = (yield* readStream("TICKS")).length
        // First run: the records go in, nobody reads them, the scope closes: nothing is released, nothing acked.
        const first = ingressOf({ ackWaitMs: 1_000, drainTimeoutMs: 300 })
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* Pipeline.run(Pipeline.from(first.edge).to(Edge.sink(Tick, { name: "out" })), { drainTimeout: "1 second" })
          yield* first.attach(handle)
          yield* until(() => first.stats().offered === count)
        }))
        assert.strictEqual(first.stats().acked, 0)
        assert.strictEqual(first.stats().returned, messagesStored)
        // Second run of the same durable: every message again, acked once read.
        const second = ingressOf({ ackWaitMs: 1_000 })
        const out = Edge.sink(Tick, { name: "out" })
        const seen = yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* Pipeline.run(Pipeline.from(second.edge).to(out))
          yield* second.attach(handle)
          const got = yield* handle.stream(out).pipe(Stream.take(count), Stream.runCollect)
          // A message may come twice (its ack wait ran out while its records queued): its records are duplicates then.
          yield* until(() => second.stats().awaitingAck === 0 && second.stats().acked >= messagesStored)
          return got
        }))
        assert.deepStrictEqual(seen.map((r) => r.seq).sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i))
        assert.isAtLeast(second.stats().redeliveries, messagesStored)
        assert.strictEqual(second.stats().offered, count)
        const infos = yield* consumerInfos("test")
        assert.isTrue(infos.every((i) => i.num_ack_pending === 0 && i.num_pending === 0))
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: STREAM })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)

  it.live("a message of another layout is terminated and counted, not delivered", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const run = Effect.gen(function*() {
        const client = yield* NatsClient.NatsClient
        yield* Effect.promise(() => client.jetstream.publish("ticks.0", new Uint8Array(24)))
        yield* publish(0, 100)
        const ingress = ingressOf()
        const out = Edge.sink(Tick, { name: "out" })
        yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* Pipeline.run(Pipeline.from(ingress.edge).to(out))
          yield* ingress.attach(handle)
          yield* handle.stream(out).pipe(Stream.take(100), Stream.runDrain)
          yield* until(() => ingress.stats().badMessages === 1)
        }))
        assert.strictEqual(ingress.deadLetters()[0]!.reason, "no headers: not a velox batch")
        assert.strictEqual(ingress.stats().offered, 100)
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: STREAM })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)

  it.live("a durable consumer that exists with another filter is refused with ConsumerMismatch", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const run = Effect.gen(function*() {
        const client = yield* NatsClient.NatsClient
        yield* Effect.promise(() => client.manager.consumers.add("TICKS", { durable_name: "test-0", ack_policy: AckPolicy.Explicit, filter_subject: "ticks.9" }))
        const ingress = ingressOf()
        const failure = yield* Effect.scoped(Effect.gen(function*() {
          const handle = yield* Pipeline.run(Pipeline.from(ingress.edge).to(Edge.sink(Tick, { name: "out" })), { drainTimeout: "1 second" })
          return yield* Effect.flip(ingress.attach(handle))
        }))
        assert.strictEqual(failure.reason, "ConsumerMismatch")
        assert.include(failure.message, "ticks.9")
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: STREAM })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)
})
