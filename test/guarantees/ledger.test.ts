/**
 * The ledger's equations, checked on snapshots made unbalanced on purpose: a real run's snapshot, one
 * counter changed. Each stage equation (in − redelivered = emitted + dropped + dead-lettered + retained
 * + lost), each link equation (published = consumed + in ring) and "nothing abandoned" must on its
 * own make `balanced` false, and the counters the README says cancel out (redelivered, dup, lost) must.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import type { PipelineSnapshot } from "@velox/core"
import { Counter, CountingSink, PassThrough } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends ReadonlyArray<infer E> ? Array<Mutable<E>> : T[K] }
type Snapshot = Mutable<PipelineSnapshot.Snapshot>

/** A copy of `snapshot` with `change` applied to it. */
const altered = (snapshot: PipelineSnapshot.Snapshot, change: (s: Snapshot) => void): Ledger.Ledger => {
  const copy = structuredClone(snapshot) as Snapshot
  change(copy)
  return Ledger.make(copy)
}

const stageOf = (s: Snapshot, name: string) => s.stages.find((x) => x.stage === name)! as { -readonly [K in keyof PipelineSnapshot.StageSnapshot]: PipelineSnapshot.StageSnapshot[K] }

describe("the ledger", () => {
  it.live("is unbalanced when any one stage, link or ring is off, and balanced when redelivered, dup and lost explain a difference", () =>
    Effect.gen(function*() {
      const count = 5_000
      // A ring link (counter → pass-through) and a fused one (pass-through → counting-sink).
      const { stats } = yield* Pipeline.runToEnd(
        Pipeline.from(Counter, { count }).via(PassThrough, {}, { placement: "worker" }).to(CountingSink, {})
      ).pipe(Effect.provide(NodeStageHost.layer))
      const clean = Ledger.make(stats)
      assert.isTrue(clean.balanced, Ledger.format(clean))
      assert.deepStrictEqual(clean.links.map((l) => l.published), [count, count])
      // The ring link comes from the counter's thread, the fused one from pass-through to the sink.
      const ring = (l: Ledger.Ledger) => l.links.find((x) => x.from === "counter")!
      const fused = (l: Ledger.Ledger) => l.links.find((x) => x.from === "pass-through")!

      // A stage that lost a record of its own: only its stage line is off.
      const stageOff = altered(stats, (s) => stageOf(s, "counting-sink").emitted -= 1)
      assert.isFalse(stageOff.balanced)
      assert.strictEqual(stageOff.stages.find((x) => x.stage === "counting-sink")!.imbalance, 1)
      assert.isTrue(stageOff.links.every((l) => l.imbalance === 0))
      assert.match(Ledger.format(stageOff), /counting-sink.*UNBALANCED/)

      // A fused link that lost a record between two stages that each balance.
      const fusedOff = altered(stats, (s) => stageOf(s, "pass-through").written += 1)
      assert.isFalse(fusedOff.balanced)
      assert.isTrue(fusedOff.stages.every((x) => x.imbalance === 0))
      assert.deepStrictEqual([ring(fusedOff).imbalance, fused(fusedOff).imbalance], [0, 1])

      // A ring link that lost a record.
      const ringOff = altered(stats, (s) => stageOf(s, "counter").written += 1)
      assert.isFalse(ringOff.balanced)
      assert.isTrue(ringOff.stages.every((x) => x.imbalance === 0))
      assert.deepStrictEqual([ring(ringOff).imbalance, fused(ringOff).imbalance], [1, 0])

      // A record left in a ring: every equation holds, but it was abandoned.
      const leftInRing = altered(stats, (s) => {
        stageOf(s, "counter").written += 1
        stageOf(s, "counter").emitted += 1
        stageOf(s, "counter").in += 1
        s.rings[0]!.fill += 1
      })
      assert.isTrue(leftInRing.stages.every((x) => x.imbalance === 0) && leftInRing.links.every((l) => l.imbalance === 0))
      assert.strictEqual(leftInRing.abandoned, 1)
      assert.isFalse(leftInRing.balanced)

      // A record retained in state at the end: abandoned too.
      const retained = altered(stats, (s) => {
        stageOf(s, "counting-sink").emitted -= 1
        stageOf(s, "counting-sink").retained += 1
      })
      assert.isTrue(retained.stages.every((x) => x.imbalance === 0))
      assert.strictEqual(retained.abandoned, 1)
      assert.isFalse(retained.balanced)

      // What the README says cancels out does: records delivered again, outputs published twice, state lost.
      const crashes = altered(stats, (s) => {
        const pass = stageOf(s, "pass-through")
        pass.in += 7
        pass.redelivered += 7
        const counter = stageOf(s, "counter")
        counter.duplicated += 3
        pass.in += 3
        pass.emitted += 3
        pass.written += 3
        const sink = stageOf(s, "counting-sink")
        sink.in += 3
        sink.emitted += 1
        sink.lost += 2
      })
      assert.isTrue(crashes.balanced, Ledger.format(crashes))
      // …and each of them alone, without the others, does not.
      assert.isFalse(altered(stats, (s) => stageOf(s, "counter").duplicated += 3).balanced)
      assert.isFalse(altered(stats, (s) => stageOf(s, "pass-through").redelivered += 1).balanced)
      assert.isFalse(altered(stats, (s) => stageOf(s, "counting-sink").lost += 1).balanced)
    }))
})
