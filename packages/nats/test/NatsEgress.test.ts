import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule, Stream } from "effect"
import { Edge, Ledger, Pipeline } from "@velox/core"
import { NodeStageHost } from "@velox/node"
import { NatsEgress, NatsServer } from "../src/index.ts"
import { sequencesHash } from "../src/internal/kernel/batchFormat.ts"
import { clientLayer, readStream, tick, Tick } from "./helpers.ts"

const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

const input = (count: number) => Edge.fromStream(Tick, Stream.range(0, count - 1).pipe(Stream.map(tick)), { name: "ticks" })

const egressOf = (options: Partial<NatsEgress.Options<typeof Tick.spec>> = {}) =>
  NatsEgress.make({ name: "to-nats", layout: Tick, subjectPrefix: "ticks", partitions: 4, key: "symbol", sequence: "seq", feed: "ticks", epoch: 3, ...options })

const STREAM = [{ name: "TICKS", subjects: ["ticks.>"], duplicateWindowMs: 60_000 }]

describe("NatsEgress", () => {
  it.live("publishes every record once, in batches per partition by the key's hash, with the layout, count and sequence range in the headers", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const count = 20_000
      const egress = egressOf()
      const run = Effect.gen(function*() {
        const { ledger } = yield* Pipeline.runToEnd(Pipeline.from(input(count)).to(egress.edge))
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        assert.strictEqual(stage(ledger, "to-nats").emitted, count)
        const stored = yield* readStream("TICKS")
        const seqs = stored.flatMap((b) => b.seqs).sort((a, b) => a - b)
        assert.strictEqual(seqs.length, count)
        assert.isTrue(seqs.every((s, i) => s === i))
        for (const b of stored) {
          assert.isTrue(b.records.every((r) => `ticks.${NatsEgress.partitionOf(r.symbol, 4)}` === b.subject && r.price === tick(r.seq).price))
          const hash = sequencesHash(b.seqs.length, (i) => b.seqs[i]!).toString(16).padStart(8, "0")
          assert.strictEqual(b.header["Nats-Msg-Id"], `ticks.3.${b.seqs[0]}-${b.seqs.at(-1)}.${b.seqs.length}.${hash}`)
          assert.strictEqual(b.header["Velox-Feed"], "ticks")
          assert.strictEqual(b.header["Velox-Epoch"], "3")
        }
        assert.deepStrictEqual([...new Set(stored.map((b) => b.subject))].sort(), ["ticks.0", "ticks.1", "ticks.2", "ticks.3"])
        const s = egress.stats()
        assert.deepStrictEqual([s.recordsAcked, s.messagesAcked, s.duplicates, s.inFlight], [count, stored.length, 0, 0])

        // The same records again: each partition's first batch has the same message id, so the server drops it.
        const again = egressOf()
        yield* Pipeline.runToEnd(Pipeline.from(input(count)).to(again.edge))
        const after = yield* readStream("TICKS")
        const a = again.stats()
        assert.isAtLeast(a.duplicates, 4)
        assert.strictEqual(after.length, stored.length + a.messagesAcked - a.duplicates)
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: STREAM })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)

  it.live("a publish nobody takes is retried on the Schedule, then the batch is dead-lettered under NatsError: the ledger balances", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const count = 1000
      // No stream takes "orphan.>": every publish fails at once (no responders).
      const egress = egressOf({ subjectPrefix: "orphan", retry: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 2 })) })
      const { ledger, deadLetters } = yield* Pipeline.runToEnd(Pipeline.from(input(count)).to(egress.edge)).pipe(
        Effect.provide(clientLayer(server.url, { requestTimeoutMs: 2000 }))
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual(stage(ledger, "to-nats").deadLettered, { NatsError: count })
      assert.strictEqual(stage(ledger, "to-nats").emitted, 0)
      assert.isTrue(deadLetters.every((d) => d.error === "NatsError"))
      assert.isAtLeast(egress.stats().publishFailures, 3)
      assert.strictEqual(egress.stats().recordsAcked, 0)
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)

  it.live("nats-server killed mid-stream and started again: the egress retries and every record is in the stream exactly once", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const count = 200_000
      const egress = egressOf({ retry: Schedule.spaced("100 millis").pipe(Schedule.upTo({ times: 600 })) })
      const run = Effect.gen(function*() {
        const fiber = yield* Effect.forkChild(Pipeline.runToEnd(Pipeline.from(input(count)).to(egress.edge)), { startImmediately: true })
        while (egress.stats().recordsAcked < count / 10) yield* Effect.sleep("5 millis")
        yield* server.kill
        yield* Effect.sleep("300 millis")
        yield* server.start
        const { ledger } = yield* Fiber.join(fiber)
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        assert.strictEqual(stage(ledger, "to-nats").emitted, count)
        assert.isAbove(egress.stats().publishFailures, 0)
        const seqs = (yield* readStream("TICKS")).flatMap((b) => b.seqs).sort((a, b) => a - b)
        assert.strictEqual(seqs.length, count)
        assert.isTrue(seqs.every((s, i) => s === i))
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: STREAM, requestTimeoutMs: 1000 })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 180_000)

  it.live("a large sink batch goes out as messages of at most recordsPerMessage records, every record once", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const count = 20_000
      const egress = egressOf({ partitions: 2, recordsPerMessage: 100, maxInFlight: 8 })
      const run = Effect.gen(function*() {
        const { ledger } = yield* Pipeline.runToEnd(Pipeline.from(input(count)).to(egress.edge), { batchSize: 4096 })
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        const stored = yield* readStream("TICKS")
        assert.isTrue(stored.every((b) => b.seqs.length <= 100))
        const seqs = stored.flatMap((b) => b.seqs).sort((a, b) => a - b)
        assert.isTrue(seqs.length === count && seqs.every((s, i) => s === i))
        assert.strictEqual(egress.stats().messagesAcked, stored.length)
      })
      yield* run.pipe(Effect.provide(clientLayer(server.url, { streams: STREAM })))
    }).pipe(Effect.provide(NodeStageHost.layer)), 120_000)
})
