/**
 * `StageRunner`'s pass timing: a loop fed by a ring that runs passes back to back reads the clock once a
 * pass (each pass starts where the one before ended), and still times and commits every pass — each
 * batch in the latency histogram, LAST_COMMIT_NS the last pass's end — while a loop that starts again
 * after returning reads the clock afresh. A pass that finds its rings empty reads no clock (a read boxes a
 * double: a waiting loop's polls would be garbage), unless a member's timer may be due.
 */
import { assert, describe, it } from "@effect/vitest"
import * as IdleStrategy from "../src/IdleStrategy.ts"
import { buildRunner } from "../src/internal/kernel/host.ts"
import { makeRing, RingProducer, ringView } from "../src/internal/kernel/oneToOneRing.ts"
import { readStageStats, statsRef } from "../src/internal/kernel/stageStats.ts"
import { Batcher, CountingSink, PassThrough, Sequenced } from "../src/stages/index.ts"
import { checkOf } from "../src/stages/Sequenced.ts"
import { chainSpec } from "./fixtures/chainSpec.ts"

const BATCH = 16

/** A pass-through (or `first`) and a counting sink behind one ring, built as a worker builds its loop. */
const chain = (first: { readonly definition: typeof PassThrough | typeof Batcher; readonly config: unknown } = {
  definition: PassThrough,
  config: {}
}) => {
  const ring = makeRing({ capacity: 8 * BATCH, slotBytes: Sequenced.byteLength })
  const definitions = [first.definition, CountingSink]
  const spec = chainSpec({
    name: "w2",
    stages: definitions,
    configs: [first.config, {}],
    instanceOf: (name, i) => `${name}#${i}`,
    inputs: [ring],
    output: { _tag: "None" },
    deadLetterCapacity: 16,
    batchSize: BATCH
  })
  const runner = buildRunner(spec, definitions)
  const producer = new RingProducer(ring)
  const view = ringView(ring, Sequenced)
  let seq = 0
  /** Publishes `n` good records. */
  const publish = (n: number) => {
    assert.strictEqual(producer.claim(n), n)
    for (let i = 0; i < n; i++, seq++) {
      const slot = producer.claimIndex + i
      view.fields.seq.set(slot, seq)
      view.fields.check.set(slot, checkOf(seq))
    }
    producer.publish(n)
  }
  const member = (i: number) => readStageStats(statsRef(spec.stats, i))
  return { runner, publish, member, producer }
}

/** Counts the loop's clock reads (its clock reads `performance.now()`) while `f` runs. */
const clockReads = (f: () => void): number => {
  const now = performance.now
  let reads = 0
  performance.now = function(this: typeof performance) {
    reads++
    return now.call(this)
  }
  try {
    f()
  } finally {
    performance.now = now
  }
  return reads
}

describe("StageRunner pass timing", () => {
  it("reads the clock once a pass back to back, and commits every pass with its time", () => {
    const { member, publish, runner } = chain()
    publish(4 * BATCH)
    let handled: unknown
    // Patched before the first read: the loop's clock holds the `performance` object, not its method.
    const reads = clockReads(() => {
      handled = runner.runSlice(4)
    })
    assert.strictEqual(handled, BATCH)
    // The first pass reads its start; every pass reads its end.
    assert.strictEqual(reads, 1 + 4)
    for (const i of [0, 1]) {
      const s = member(i)
      assert.strictEqual(s.in, 4 * BATCH)
      assert.strictEqual(s.batches, 4)
      // Every pass is in the histogram, with all its records.
      assert.strictEqual(s.latencyLog2.reduce((a, b) => a + b, 0), 4 * BATCH)
    }
    assert.strictEqual(member(1).emitted, 4 * BATCH)
    const lastCommit = member(1).lastCommitNs
    assert.isAbove(lastCommit, 0)

    // A new slice starts afresh: its first pass reads the clock for its start again.
    publish(BATCH)
    const again = clockReads(() => {
      handled = runner.runSlice(4)
    })
    assert.strictEqual(handled, 0)
    // One pass with work (its start and end), then one that finds nothing: no member has a timer, so
    // it reads no clock.
    assert.strictEqual(again, 2)
    assert.strictEqual(member(1).in, 5 * BATCH)
    assert.isAtLeast(member(1).lastCommitNs, lastCommit)
  })

  it("reads no clock in a pass that finds nothing, and commits nothing for it", () => {
    const { member, publish, runner } = chain()
    publish(BATCH)
    assert.strictEqual(runner.runSlice(1), BATCH)
    const before = member(1)
    let handled: unknown
    const reads = clockReads(() => {
      for (let i = 0; i < 100; i++) handled = runner.runSlice(1)
    })
    assert.strictEqual(handled, 0)
    assert.strictEqual(reads, 0)
    const after = member(1)
    assert.strictEqual(after.batches, before.batches)
    assert.strictEqual(after.lastCommitNs, before.lastCommitNs)
    assert.strictEqual(after.heartbeat, before.heartbeat)
    // Records that come later are timed from a fresh start: the first poll that finds them reads it.
    publish(BATCH)
    const busy = clockReads(() => {
      handled = runner.runSlice(1)
    })
    assert.strictEqual(handled, BATCH)
    assert.strictEqual(busy, 2)
    assert.isAbove(member(1).lastCommitNs, before.lastCommitNs)
    assert.strictEqual(member(1).latencyLog2.reduce((a, b) => a + b, 0), 2 * BATCH)
  })

  it("reads its end in a pass that finds nothing when a member has a timer: it may be due", () => {
    const { publish, runner } = chain({ definition: Batcher, config: { size: 4 } })
    publish(BATCH)
    assert.strictEqual(runner.runSlice(1), BATCH)
    const reads = clockReads(() => {
      assert.strictEqual(runner.runSlice(1), 0)
    })
    assert.strictEqual(reads, 1)
  })
})

/** Runs the loop to its end with each park (`Atomics.wait`) answered by `park`, given its timeout in ms. */
const runParkingAs = (runner: { run(): unknown }, park: (timeoutMs: number) => "ok" | "timed-out"): unknown => {
  const wait = Atomics.wait
  Atomics.wait = ((_a: Int32Array, _i: number, _v: number, t?: number) => park(t ?? Infinity)) as typeof Atomics.wait
  try {
    return runner.run()
  } finally {
    Atomics.wait = wait
  }
}

describe("StageRunner idling (backoff)", () => {
  it("after its spin phase, a loop with nothing due parks once, until rung (at most the safety net): no short timed parks first; it counts the wakes it pays for", () => {
    const { member, producer, publish, runner } = chain()
    // The producer filled the ring and parked waiting for room (it raised WANTS_ROOM, then armed its
    // bell): the loop's first release wakes it (once: it disarms the bell).
    publish(8 * BATCH)
    assert.strictEqual(producer.freeSlots(), 0)
    producer.producerBell.arm()
    const timeoutsMs: Array<number> = []
    // Each park ends as if rung by the producer: the first with records, the second with the end.
    const outcome = runParkingAs(runner, (timeoutMs) => {
      timeoutsMs.push(timeoutMs)
      if (timeoutsMs.length === 1) publish(BATCH)
      else producer.close()
      return "ok"
    })
    assert.deepStrictEqual(outcome, { _tag: "Drained" })
    const safetyNetMs = IdleStrategy.PARK_SAFETY_NET_NS / 1e6
    assert.deepStrictEqual(timeoutsMs, [safetyNetMs, safetyNetMs], "one park per wait, each until rung")
    assert.strictEqual(member(0).parks, 2)
    assert.strictEqual(member(0).wakes, 1, "one notify: the release that found the producer's bell armed")
    assert.strictEqual(member(0).missedWakes, 0, "each park was rung")
    assert.isFalse(producer.producerBell.isArmed())
    assert.strictEqual(member(1).in, 9 * BATCH)
  })

  it("a park that lapses at the safety net and finds records nobody rang for is counted as a missed wake-up, and the loop takes them", () => {
    const { member, producer, publish, runner } = chain()
    let parks = 0
    // The first park lapses with records published behind the bell's back (a lost wake-up); the second
    // ends as if rung for the end.
    const outcome = runParkingAs(runner, () => {
      parks++
      if (parks === 1) {
        publish(BATCH)
        return "timed-out"
      }
      producer.close()
      return "ok"
    })
    assert.deepStrictEqual(outcome, { _tag: "Drained" })
    assert.deepStrictEqual([member(0).parks, member(0).missedWakes], [2, 1])
    assert.strictEqual(member(1).in, BATCH)
  })
})
