import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Ref, Schedule, Schema, Stream } from "effect"
import { Edge, Ledger, Pipeline, RecordLayout, Stage } from "@velox/core"
import { checkOf, Counter, CountingSink, PassThrough, Sequenced } from "@velox/core/stages"
import { CaptureSink } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { Gate } from "../fixtures/graphStages.ts"

const provide = Effect.provide(NodeStageHost.layer)
const stage = (ledger: Ledger.Ledger, name: string) => ledger.stages.find((s) => s.stage === name)!

const until = (cond: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (cond() ? Effect.void : Effect.sleep("5 millis").pipe(Effect.andThen(until(cond)))))

const open = (gate: SharedArrayBuffer) => {
  const flag = new Int32Array(gate)
  Atomics.store(flag, 0, 1)
  Atomics.notify(flag, 0)
}

const record = (seq: number) => ({ seq, key: seq % 16, flags: 0, value: seq, check: checkOf(seq) })

describe("source edges", () => {
  it.live("a pipeline fed from an Effect Stream of objects and read out as objects gives back every record, in order", () =>
    Effect.gen(function*() {
      const count = 50_000
      const input = Edge.fromStream(Sequenced, Stream.range(0, count - 1).pipe(Stream.map(record)), { name: "input" })
      const output = Edge.sink(Sequenced, { name: "output" })
      const handle = yield* Pipeline.run(Pipeline.from(input).via(PassThrough, {}, { placement: "worker" }).to(output))
      const seen = yield* Stream.runCollect(handle.stream(output))
      yield* handle.done
      assert.strictEqual(seen.length, count)
      assert.deepStrictEqual(seen[12_345], record(12_345))
      assert.isTrue(seen.every((r, i) => r.seq === i))
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual([stage(ledger, "input").in, stage(ledger, "input").emitted, stage(ledger, "output").emitted], [count, count, count])
      assert.match(handle.placement, /input\s+source edge, main thread/)
    }).pipe(Effect.scoped, provide))

  it.live("a Stream of record batches goes in bit for bit", () =>
    Effect.gen(function*() {
      const batches = 100
      const size = 1000
      const views = Array.from({ length: batches }, (_, b) => {
        const view = RecordLayout.view(Sequenced, new ArrayBuffer(size * Sequenced.byteLength), 0, size)
        for (let i = 0; i < size; i++) RecordLayout.writeUnsafe(view, i, record(b * size + i))
        return view
      })
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Edge.fromBatches(Sequenced, Stream.fromIterable(views), { name: "batches", capacity: 512 })).to(CountingSink, {})
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      // CountingSink dead-letters a record whose check field is wrong: none were.
      assert.strictEqual(stage(ledger, "counting-sink").emitted, batches * size)
    }))

  it.live("objects that fail the layout's Schema are dead-lettered as InvalidRecord, with what was wrong; the rest flow", () =>
    Effect.gen(function*() {
      const good = Array.from({ length: 1000 }, (_, i) => record(i))
      const bad: ReadonlyArray<unknown> = [
        { ...record(1), key: -1 }, // u32 out of range
        { ...record(2), flags: 1.5 }, // not an integer
        { seq: 3, key: 3, flags: 0, value: "x", check: 0 }, // not a number
        { seq: 4 } // fields missing
      ]
      const mixed = [...good.slice(0, 500), ...bad, ...good.slice(500)] as ReadonlyArray<RecordLayout.RecordOf<typeof Sequenced.spec>>
      const { ledger, deadLetters } = yield* Pipeline.runToEnd(
        Pipeline.from(Edge.fromStream(Sequenced, Stream.fromIterable(mixed), { name: "mixed" })).to(CountingSink, {})
      ).pipe(provide)
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual(stage(ledger, "mixed").deadLettered, { InvalidRecord: 4 })
      assert.strictEqual(stage(ledger, "mixed").in, 1004)
      assert.strictEqual(stage(ledger, "counting-sink").emitted, 1000)
      assert.deepStrictEqual(deadLetters.map((d) => [d.stage, d.error, d.record["seq"]]), [
        ["mixed", "InvalidRecord", 1],
        ["mixed", "InvalidRecord", 2],
        ["mixed", "InvalidRecord", 3],
        ["mixed", "InvalidRecord", 4]
      ])
      assert.include(deadLetters[0]!.detail, "key")
      assert.notProperty(deadLetters[2]!.record, "value")
      assert.include(deadLetters[3]!.detail, "key")
    }))

  for (const overflow of ["dropOldest", "dropNewest"] as const) {
    it.live(`${overflow}: 1,000,000 offered into a paused pipeline drop exactly 1,000,000 − capacity − what it took, counted by reason`, () =>
      Effect.gen(function*() {
        const capacity = 1000
        const ringCapacity = 1024
        const offered = 1_000_000
        const gate = new SharedArrayBuffer(4)
        const captured = CaptureSink.allocate(Sequenced, ringCapacity + capacity)
        const edge = Edge.source(Sequenced, { name: "feed", overflow, capacity })
        const handle = yield* Pipeline.run(Pipeline.from(edge).via(Gate, { gate }, { placement: "worker" }).to(CaptureSink.make(Sequenced), captured), {
          ringCapacity
        })
        // Should the test fail, the drain still gets through the gate.
        yield* Effect.addFinalizer(() => Effect.sync(() => open(gate)))
        const writer = handle.writer(edge)
        // Fill the ring behind the edge, a queue at a time: the gate holds it, so the pipeline takes no more.
        for (let seq = 0; seq < ringCapacity;) {
          for (const end = Math.min(ringCapacity, seq + capacity); seq < end; seq++) assert.isTrue(writer.offerUnsafe(record(seq)))
          yield* until(() => writer.queued() === 0)
        }
        yield* until(() => handle.stats().rings.find((r) => r.name === "feed→gate+velox-capture")!.fill === ringCapacity)
        for (let seq = ringCapacity; seq < ringCapacity + offered; seq++) writer.offerUnsafe(record(seq))
        assert.strictEqual(writer.queued(), capacity)
        const reason = overflow === "dropOldest" ? "DropOldest" : "DropNewest"
        yield* until(() => (stage(handle.ledger(), "feed").dropped[reason] ?? 0) > 0)
        assert.deepStrictEqual(stage(handle.ledger(), "feed").dropped, { [reason]: offered - capacity })
        assert.strictEqual(handle.stats().rings.find((r) => r.name === "feed queue")!.fill, capacity)
        open(gate)
        yield* writer.end
        yield* handle.done
        const ledger = handle.ledger()
        assert.isTrue(ledger.balanced, Ledger.format(ledger))
        assert.deepStrictEqual([stage(ledger, "feed").in, stage(ledger, "feed").emitted], [ringCapacity + offered, ringCapacity + capacity])
        // dropOldest kept the newest, dropNewest the first that found room.
        const seqs = CaptureSink.records(Sequenced, captured).map((r) => r.seq)
        const kept = overflow === "dropOldest" ? ringCapacity + offered - capacity : ringCapacity
        assert.deepStrictEqual(seqs.slice(ringCapacity, ringCapacity + 3), [kept, kept + 1, kept + 2])
        assert.strictEqual(seqs.length, ringCapacity + capacity)
      }).pipe(Effect.scoped, provide))
  }

  it.live("backpressure: a writer offering 200,000 records waits for room and loses none", () =>
    Effect.gen(function*() {
      const count = 200_000
      const edge = Edge.source(Sequenced, { name: "feed", capacity: 256 })
      const handle = yield* Pipeline.run(Pipeline.from(edge).to(CountingSink, {}, { placement: "worker" }), { ringCapacity: 1024 })
      const writer = handle.writer(edge)
      const queued = yield* writer.offerAll(Array.from({ length: count }, (_, i) => record(i)))
      assert.strictEqual(queued, count)
      // Offering a batch waits too.
      const view = RecordLayout.view(Sequenced, new ArrayBuffer(5000 * Sequenced.byteLength), 0, 5000)
      for (let i = 0; i < 5000; i++) RecordLayout.writeUnsafe(view, i, record(count + i))
      assert.strictEqual(yield* writer.offerBatch(view), 5000)
      // A full queue refuses an Unsafe offer (the record stays the caller's), and counts nothing.
      yield* writer.end
      assert.isFalse(writer.offerUnsafe(record(0)))
      assert.strictEqual((yield* Effect.flip(writer.offer(record(0))))._tag, "EdgeError")
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual(stage(ledger, "feed").dropped, {})
      assert.strictEqual(stage(ledger, "counting-sink").emitted, count + 5000)
    }).pipe(Effect.scoped, provide))

  it.live("backpressure: a batch offered to an empty edge goes straight on while the ring has room, the rest queues, and order holds", () =>
    Effect.gen(function*() {
      const ringCapacity = 1024
      const total = 1 + 300 + 3000 + 100 + 2000
      const gate = new SharedArrayBuffer(4)
      const captured = CaptureSink.allocate(Sequenced, total)
      const edge = Edge.source(Sequenced, { name: "feed", capacity: 4096 })
      const handle = yield* Pipeline.run(Pipeline.from(edge).via(Gate, { gate }, { placement: "worker" }).to(CaptureSink.make(Sequenced), captured), {
        ringCapacity
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => open(gate)))
      const writer = handle.writer(edge)
      const batch = (from: number, size: number) => {
        const view = RecordLayout.view(Sequenced, new ArrayBuffer(size * Sequenced.byteLength), 0, size)
        for (let i = 0; i < size; i++) RecordLayout.writeUnsafe(view, i, record(from + i))
        return view
      }
      let seq = 0
      // Once the edge's loop has run, a batch offered to its empty queue is passed on at once.
      assert.isTrue(writer.offerUnsafe(record(seq++)))
      yield* until(() => stage(handle.ledger(), "feed").emitted === 1)
      assert.strictEqual(writer.offerBatchUnsafe(batch(seq, 300)), 300)
      seq += 300
      assert.strictEqual(writer.queued(), 0)
      assert.deepStrictEqual([stage(handle.ledger(), "feed").in, stage(handle.ledger(), "feed").emitted], [301, 301])
      // The gate holds the ring: of 3,000 records what fits goes on, the rest waits in the queue.
      assert.strictEqual(writer.offerBatchUnsafe(batch(seq, 3000)), 3000)
      seq += 3000
      assert.strictEqual(writer.queued(), 301 + 3000 - ringCapacity)
      assert.strictEqual(stage(handle.ledger(), "feed").emitted, ringCapacity)
      // Behind queued records, objects and batches queue too: nothing overtakes.
      for (const end = seq + 100; seq < end;) assert.isTrue(writer.offerUnsafe(record(seq++)))
      const last = writer.offerBatch(batch(seq, 2000)).pipe(Effect.forkChild)
      const fiber = yield* last
      open(gate)
      assert.strictEqual(yield* Fiber.join(fiber), 2000)
      seq += 2000
      yield* writer.end
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.deepStrictEqual([stage(ledger, "feed").in, stage(ledger, "feed").emitted, stage(ledger, "feed").dropped], [total, total, {}])
      const seqs = CaptureSink.records(Sequenced, captured).map((r) => r.seq)
      assert.strictEqual(seqs.length, total)
      assert.isTrue(seqs.every((r, i) => r === i), "records out of order")
    }).pipe(Effect.scoped, provide))

  it.live("backpressure: a socket read's worth (32 records or more) goes straight on; a few records queue for the loop's next pass", () =>
    Effect.gen(function*() {
      const captured = CaptureSink.allocate(Sequenced, 1 + 100 + 32 + 5)
      const edge = Edge.source(Sequenced, { name: "feed", capacity: 1024 })
      const handle = yield* Pipeline.run(Pipeline.from(edge).to(CaptureSink.make(Sequenced), captured, { placement: "worker" }))
      const writer = handle.writer(edge)
      const batch = (from: number, size: number) => {
        const view = RecordLayout.view(Sequenced, new ArrayBuffer(size * Sequenced.byteLength), 0, size)
        for (let i = 0; i < size; i++) RecordLayout.writeUnsafe(view, i, record(from + i))
        return view
      }
      const feed = () => stage(handle.ledger(), "feed")
      // The edge's loop has run once: its pass is there to be pumped.
      assert.isTrue(writer.offerUnsafe(record(0)))
      yield* until(() => feed().emitted === 1)
      // 100 and 32 records: passed on at once (nothing queued, the edge's `emitted` already counts them).
      assert.strictEqual(writer.offerBatchUnsafe(batch(1, 100)), 100)
      assert.deepStrictEqual([writer.queued(), feed().emitted], [0, 101])
      assert.strictEqual(writer.offerBatchUnsafe(batch(101, 32)), 32)
      assert.deepStrictEqual([writer.queued(), feed().emitted], [0, 133])
      // 5 records: queued, and passed on by the loop's next pass.
      assert.strictEqual(writer.offerBatchUnsafe(batch(133, 5)), 5)
      assert.deepStrictEqual([writer.queued(), feed().emitted], [5, 133])
      yield* writer.end
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const seqs = CaptureSink.records(Sequenced, captured).map((r) => r.seq)
      assert.deepStrictEqual(seqs, Array.from({ length: 138 }, (_, i) => i))
    }).pipe(Effect.scoped, provide))

  it.live("with batchSize 4096, one pass takes a whole 4096-record batch (a loop's dead-letter ring holds at least a batch)", () =>
    Effect.gen(function*() {
      const size = 4096
      const edge = Edge.source(Sequenced, { name: "feed" })
      const handle = yield* Pipeline.run(Pipeline.from(edge).to(CountingSink, {}, { placement: "worker" }), { batchSize: size })
      const writer = handle.writer(edge)
      const feed = () => handle.stats().stages.find((s) => s.stage === "feed")!
      assert.isTrue(writer.offerUnsafe(record(0)))
      yield* until(() => feed().emitted === 1)
      const passes = feed().batches
      const view = RecordLayout.view(Sequenced, new ArrayBuffer(size * Sequenced.byteLength), 0, size)
      for (let i = 0; i < size; i++) RecordLayout.writeUnsafe(view, i, record(1 + i))
      assert.strictEqual(writer.offerBatchUnsafe(view), size)
      assert.deepStrictEqual([feed().emitted, feed().batches - passes], [1 + size, 1])
      yield* writer.end
      yield* handle.done
      assert.strictEqual(stage(handle.ledger(), "counting-sink").emitted, 1 + size)
    }).pipe(Effect.scoped, provide))

  it.live("writeUnsafe stamps records in place (no object), e.g. with a connection epoch", () =>
    Effect.gen(function*() {
      const edge = Edge.source(Sequenced, { name: "stamped", overflow: "dropOldest", capacity: 64 })
      const out = Edge.sink(Sequenced, { name: "out" })
      const handle = yield* Pipeline.run(Pipeline.from(edge).to(out))
      const writer = handle.writer(edge)
      const epoch = 7
      let seq = 0
      const fill = (view: RecordLayout.RecordView<typeof Sequenced.spec>, slot: number) => {
        RecordLayout.writeUnsafe(view, slot, record(seq))
        view.fields.flags.set(slot, epoch)
      }
      const reader = yield* Stream.runCollect(handle.stream(out).pipe(Stream.take(10))).pipe(Effect.forkChild)
      for (; seq < 10; seq++) assert.isTrue(writer.writeUnsafe(fill))
      const got = yield* Fiber.join(reader)
      assert.deepStrictEqual(got.map((r) => [r.seq, r.flags]), Array.from({ length: 10 }, (_, i) => [i, epoch]))
    }).pipe(Effect.scoped, provide))

  it.live("a Stream that fails ends its edge, the rest drains, and done fails with StageCrashed (EdgeFailed)", () =>
    Effect.gen(function*() {
      const failing = Stream.range(0, 999).pipe(Stream.map(record), Stream.concat(Stream.fail("feed lost")))
      const handle = yield* Pipeline.run(Pipeline.from(Edge.fromStream(Sequenced, failing, { name: "feed" })).to(CountingSink, {}))
      const error = yield* Effect.flip(handle.done)
      assert.strictEqual(error.reason, "EdgeFailed")
      assert.strictEqual(error.stage, "feed")
      assert.include(error.message, "feed lost")
      yield* until(() => stage(handle.ledger(), "counting-sink").state === "Done")
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "counting-sink").emitted, 1000)
      assert.strictEqual(handle.health().status, "failed")
    }).pipe(Effect.scoped, provide))

  it.live("stop ends an endless Stream waiting for room under backpressure: not a failure, and every record it queued drains", () =>
    Effect.gen(function*() {
      const endless = Stream.iterate(0, (n) => n + 1).pipe(Stream.map(record))
      const edge = Edge.fromStream(Sequenced, endless, { name: "endless", capacity: 64 })
      const handle = yield* Pipeline.run(Pipeline.from(edge).to(CountingSink, {}, { placement: "worker" }), { ringCapacity: 256 })
      // The queue and the ring fill, so the Stream is waiting for room when the stop comes.
      yield* until(() => stage(handle.ledger(), "counting-sink").emitted > 10_000)
      yield* handle.stop
      yield* handle.done
      const ledger = handle.ledger()
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.notStrictEqual(handle.health().status, "failed")
      assert.deepStrictEqual(stage(ledger, "endless").dropped, {})
      assert.strictEqual(stage(ledger, "counting-sink").emitted, stage(ledger, "endless").emitted)
    }).pipe(Effect.scoped, provide))

  it.live("a writer for an edge of another pipeline is refused with EdgeError", () =>
    Effect.gen(function*() {
      const mine = Edge.source(Sequenced, { name: "mine" })
      const other = Edge.source(Sequenced, { name: "other" })
      const handle = yield* Pipeline.run(Pipeline.from(mine).to(CountingSink, {}))
      const thrown = yield* Effect.try({ try: () => handle.writer(other), catch: (e) => e })
        .pipe(Effect.flip)
      assert.strictEqual((thrown as Pipeline.EdgeError).reason, "NotInPipeline")
      const notHere = yield* Effect.flip(Stream.runDrain(handle.stream(Edge.sink(Sequenced, { name: "elsewhere" }))))
      assert.strictEqual(notHere.reason, "NotInPipeline")
      yield* handle.writer(mine).end
      yield* handle.done
    }).pipe(Effect.scoped, provide))
})

class Store extends Context.Service<Store, { readonly save: (n: number) => Effect.Effect<void> ; readonly saved: Ref.Ref<number> }>()("test/Store") {
  static readonly layer = Layer.effect(Store, Effect.gen(function*() {
    const saved = yield* Ref.make(0)
    return Store.of({ saved, save: (n) => Ref.update(saved, (x) => x + n) })
  }))
}

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { message: Schema.String }) {}

describe("sink edges", () => {
  it.live("an Effect per batch uses a service from Pipeline.run's context (R), and releases each batch after it succeeded", () =>
    Effect.gen(function*() {
      const count = 100_000
      const store = Edge.sinkEffect({
        name: "store",
        input: Sequenced,
        onBatch: (batch) => Effect.gen(function*() {
          const s = yield* Store
          yield* s.save(batch.length)
        })
      })
      const { ledger } = yield* Pipeline.runToEnd(Pipeline.from(Counter, { count }).to(store))
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "store").emitted, count)
      assert.strictEqual(yield* Ref.get((yield* Store).saved), count)
    }).pipe(Effect.provide(Store.layer), provide))

  it.live("a typed failure is retried on its Schedule; once the Schedule ends, the batch is dead-lettered under the failure's tag", () =>
    Effect.gen(function*() {
      const count = 20_000
      const attempts = new Map<number, number>()
      const store = Stage.sinkEffect({
        name: "store",
        input: Sequenced,
        // A batch holding a multiple of 1000 fails twice, then succeeds; one holding 5000 always fails.
        onBatch: (batch) =>
          Effect.suspend(() => {
            const first = batch[0]!.seq
            const n = (attempts.get(first) ?? 0) + 1
            attempts.set(first, n)
            const hit = batch.some((r) => r.seq % 1000 === 0)
            const poisoned = batch.some((r) => r.seq === 5000)
            return (hit && n <= 2) || poisoned ? Effect.fail(new Flaky({ message: `batch at ${first}, attempt ${n}` })) : Effect.void
          }),
        retry: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 3 }))
      })
      const { ledger, deadLetters } = yield* Pipeline.runToEnd(Pipeline.from(Counter, { count }).to(store))
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      const s = stage(ledger, "store")
      const poisoned = deadLetters.length
      assert.isAbove(poisoned, 0)
      assert.deepStrictEqual(s.deadLettered, { Flaky: poisoned })
      assert.strictEqual(s.emitted, count - poisoned)
      assert.isTrue(deadLetters.some((d) => d.record["seq"] === 5000))
      assert.isTrue(deadLetters.every((d) => d.error === "Flaky" && d.stage === "store" && d.detail?.startsWith("batch at") === true))
      // The poisoned batch was tried once and retried 3 times.
      assert.strictEqual(attempts.get(deadLetters[0]!.record["seq"]!), 4)
    }).pipe(provide))

  it.live("without a Schedule a typed failure dead-letters the batch at once", () =>
    Effect.gen(function*() {
      const store = Edge.sinkEffect({
        name: "store",
        input: Sequenced,
        onBatch: (batch) => (batch.some((r) => r.seq === 777) ? Effect.fail(new Flaky({ message: "no" })) : Effect.void)
      })
      const { ledger, deadLetters } = yield* Pipeline.runToEnd(Pipeline.from(Counter, { count: 5000 }).to(store))
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "store").deadLettered["Flaky"], deadLetters.length)
      assert.strictEqual(stage(ledger, "store").emitted + deadLetters.length, 5000)
    }).pipe(provide))

  it.live("a defect crashes the edge: it restarts and the batch comes again (at-least-once)", () =>
    Effect.gen(function*() {
      let died = 0
      const delivered: Array<number> = []
      const store = Edge.sinkEffect({
        name: "store",
        input: Sequenced,
        onBatch: (batch) =>
          Effect.suspend(() => {
            if (died < 2 && batch.some((r) => r.seq === 3333)) {
              died++
              return Effect.die(new Error("store exploded"))
            }
            for (const r of batch) delivered.push(r.seq)
            return Effect.void
          })
      })
      const { ledger } = yield* Pipeline.runToEnd(Pipeline.from(Counter, { count: 10_000 }).to(store), {
        restart: Schedule.spaced("1 millis").pipe(Schedule.upTo({ times: 5 }))
      })
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "store").restarts, 2)
      assert.strictEqual(delivered.length, 10_000)
      assert.isTrue(delivered.every((seq, i) => seq === i))
    }).pipe(provide))

  it.live("the drain waits for a sink edge's in-flight Effects, and a source edge's queued records go through first", () =>
    Effect.gen(function*() {
      const saved = yield* Ref.make(0)
      const slow = Edge.sinkEffect({
        name: "slow",
        input: Sequenced,
        onBatch: (batch) => Effect.sleep("2 millis").pipe(Effect.andThen(Ref.update(saved, (n) => n + batch.length)))
      })
      const feed = Edge.source(Sequenced, { name: "feed", capacity: 100_000 })
      const scoped = Effect.gen(function*() {
        const handle = yield* Pipeline.run(
          Pipeline.merge(Pipeline.from(feed), Pipeline.from(Counter, { count: Infinity })).to(slow),
          { ringCapacity: 1024 }
        )
        const writer = handle.writer(feed)
        for (let i = 0; i < 50_000; i++) writer.offerUnsafe(record(i))
        yield* until(() => stage(handle.ledger(), "slow").emitted > 2000)
        return handle
      })
      // Closing the scope stops the sources (the edge ends) and drains: every record reaches the sink.
      const handle = yield* Effect.scoped(scoped)
      const report = yield* handle.drainReport
      assert.isFalse(report.timedOut)
      assert.isTrue(report.ledger.balanced, Ledger.format(report.ledger))
      assert.strictEqual(stage(report.ledger, "feed").emitted, 50_000)
      assert.strictEqual(yield* Ref.get(saved), stage(report.ledger, "slow").emitted)
      assert.strictEqual(stage(report.ledger, "slow").emitted, 50_000 + stage(report.ledger, "counter").emitted)
    }).pipe(provide))

  it.live("a tee to a sink edge that drops (a WebSocket fan-out) and to a sink that keeps everything", () =>
    Effect.gen(function*() {
      const count = 100_000
      const ws = Edge.sinkEffect({ name: "ws", input: Sequenced, onBatch: () => Effect.sleep("1 millis") })
      const { ledger } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }).broadcast((b) => [b.to(CountingSink, {}), b.to(ws, { overflow: "dropNewest" })]),
        { ringCapacity: 1024 }
      )
      assert.isTrue(ledger.balanced, Ledger.format(ledger))
      assert.strictEqual(stage(ledger, "counting-sink").emitted, count)
      const link = ledger.links.find((l) => l.to === "ws")!
      assert.strictEqual(stage(ledger, "ws").emitted + link.dropped, count)
    }).pipe(provide))
})
