/**
 * The ledger's equations on snapshots made unbalanced on purpose. Each stage equation (in − redelivered
 * = emitted + dropped + dead-lettered + retained + lost), each link equation (published = consumed + in
 * ring) and "nothing abandoned" must on its own make `balanced` false; redelivered, dup and lost must
 * explain exactly the differences the README says they explain.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Ledger from "../src/Ledger.ts"
import { chain, ringSnapshot, stageSnapshot } from "./fixtures/snapshots.ts"

const n = 1_000
const imbalances = (l: Ledger.Ledger) => ({ stages: l.stages.map((s) => s.imbalance), links: l.links.map((x) => x.imbalance) })

describe("Ledger", () => {
  it("balances a clean run: every stage and link, nothing abandoned", () => {
    const l = Ledger.make(chain(n))
    assert.isTrue(l.balanced, Ledger.format(l))
    assert.deepStrictEqual(imbalances(l), { stages: [0, 0, 0], links: [0, 0] })
    assert.deepStrictEqual(l.links.map((x) => [x.from, x.to, x.published, x.consumed, x.inRing]), [
      ["source", "map+sink", n, n, 0],
      ["map", "sink", n, n, 0]
    ])
    assert.strictEqual(l.abandoned, 0)
    assert.notInclude(Ledger.format(l), "UNBALANCED")
  })

  it("is unbalanced when one stage alone is off, and the table marks that stage", () => {
    const l = Ledger.make(chain(n, { sink: { emitted: n - 1 } }))
    assert.isFalse(l.balanced)
    assert.deepStrictEqual(imbalances(l), { stages: [0, 0, 1], links: [0, 0] })
    assert.match(Ledger.format(l), /sink .*UNBALANCED/)
    assert.isFalse(Ledger.make(chain(n, { map: { emitted: n + 1 } })).balanced)
    // Each column of the right-hand side counts.
    for (const counts of [{ dropped: 1 }, { deadLettered: 1 }, { lost: 1 }]) {
      const off = Ledger.make(chain(n, { sink: counts }))
      assert.isFalse(off.balanced, JSON.stringify(counts))
      assert.strictEqual(off.stages[2]!.imbalance, -1, JSON.stringify(counts))
    }
  })

  it("is unbalanced when one link alone is off (fused or ring), though every stage balances", () => {
    const fused = Ledger.make(chain(n, { map: { written: n + 1 } }))
    assert.isFalse(fused.balanced)
    assert.deepStrictEqual(imbalances(fused), { stages: [0, 0, 0], links: [0, 1] })
    const ring = Ledger.make(chain(n, { source: { written: n + 1 } }))
    assert.isFalse(ring.balanced)
    assert.deepStrictEqual(imbalances(ring), { stages: [0, 0, 0], links: [1, 0] })
    assert.match(Ledger.format(ring), /UNBALANCED/)
  })

  it("is unbalanced when records are left in a ring or retained, though every equation holds", () => {
    const inRing = Ledger.make(chain(n, { source: { in: n + 3, emitted: n + 3, written: n + 3 }, ring: { fill: 3 } }))
    assert.deepStrictEqual(imbalances(inRing), { stages: [0, 0, 0], links: [0, 0] })
    assert.strictEqual(inRing.links[0]!.inRing, 3)
    assert.strictEqual(inRing.abandoned, 3)
    assert.isFalse(inRing.balanced)
    const retained = Ledger.make(chain(n, { sink: { emitted: n - 2, retained: 2 } }))
    assert.deepStrictEqual(imbalances(retained), { stages: [0, 0, 0], links: [0, 0] })
    assert.strictEqual(retained.abandoned, 2)
    assert.isFalse(retained.balanced)
    assert.deepStrictEqual(Ledger.abandoned(chain(n, { sink: { retained: 2 }, ring: { fill: 3 } })), [
      { where: "ring a", records: 3 },
      { where: "stage sink (retained)", records: 2 }
    ])
    // Empty rings and stages holding nothing are not listed.
    assert.deepStrictEqual(Ledger.abandoned(chain(n)), [])
  })

  it("balances when redelivered, dup and lost explain the difference, and not when one is missing", () => {
    // 7 records delivered again to map, 3 published twice by the source, 2 lost in the sink's state.
    const crashes = {
      source: { duplicated: 3 },
      map: { in: n + 10, redelivered: 7, emitted: n + 3, written: n + 3 },
      sink: { in: n + 3, emitted: n + 1, lost: 2 }
    }
    const l = Ledger.make(chain(n, crashes))
    assert.isTrue(l.balanced, Ledger.format(l))
    assert.strictEqual(l.links[0]!.published, n + 3)
    assert.strictEqual(l.links[0]!.consumed, n + 3)
    assert.isFalse(Ledger.make(chain(n, { ...crashes, source: {} })).balanced)
    assert.isFalse(Ledger.make(chain(n, { ...crashes, map: { ...crashes.map, redelivered: 0 } })).balanced)
    assert.isFalse(Ledger.make(chain(n, { ...crashes, sink: { ...crashes.sink, lost: 0 } })).balanced)
  })

  it("counts a tee's duplicates and dropNewest drops per ring", () => {
    // tee → ring b (3 duplicated) → left; tee → ring c (4 dropped: a full dropNewest branch) → right.
    const snapshot = {
      stages: [
        stageSnapshot("tee", { in: n, emitted: n, written: n }),
        stageSnapshot("left", { in: n + 3, emitted: n + 3 }),
        stageSnapshot("right", { in: n - 4, emitted: n - 4 })
      ],
      rings: [ringSnapshot("b", "tee", "left", { duplicated: 3 }), ringSnapshot("c", "tee", "right", { dropped: 4 })],
      links: [
        { _tag: "Rings" as const, producers: [{ stage: "tee", host: "tee", rings: ["b"], perRing: true }], consumers: ["left"], rings: ["b"] },
        { _tag: "Rings" as const, producers: [{ stage: "tee", host: "tee", rings: ["c"], perRing: true }], consumers: ["right"], rings: ["c"] }
      ]
    }
    const l = Ledger.make(snapshot)
    assert.isTrue(l.balanced, Ledger.format(l))
    assert.deepStrictEqual(l.links.map((x) => [x.published, x.dropped]), [[n + 3, 0], [n - 4, 4]])
    const wrong = Ledger.make({ ...snapshot, rings: [ringSnapshot("b", "tee", "left"), snapshot.rings[1]!] })
    assert.isFalse(wrong.balanced)
  })

  it("names drops and dead letters by reason, the last code being the runtime's own", () => {
    const l = Ledger.make({
      stages: [stageSnapshot("s", {
        in: 10,
        dropped: 6,
        deadLettered: 4,
        dropReasons: ["filtered"],
        errors: ["Bad"],
        droppedByReason: [2, 0, 0, 4],
        deadLetteredByCode: [1, 0, 0, 3]
      })],
      rings: [],
      links: []
    })
    assert.isTrue(l.balanced)
    assert.deepStrictEqual(l.stages[0]!.dropped, { filtered: 2, StageStopped: 4 })
    assert.deepStrictEqual(l.stages[0]!.deadLettered, { Bad: 1, StageThrew: 3 })
    assert.match(Ledger.format(l), /filtered=2 StageStopped=4 +Bad=1 StageThrew=3 /)
    // A code with no declared name is shown by number.
    const unnamed = Ledger.make({ stages: [stageSnapshot("s", { in: 1, dropped: 1, droppedByReason: [0, 1, 0] })], rings: [], links: [] })
    assert.deepStrictEqual(unnamed.stages[0]!.dropped, { "code 1": 1 })
    assert.deepStrictEqual(unnamed.stages[0]!.deadLettered, {})
    assert.match(Ledger.format(unnamed), /code 1=1 +0 /)
  })

  it("joins a ring link's producers and consumers by thread", () => {
    // A merge: two sources' threads write into one ring each, read by one consumer thread.
    const l = Ledger.make({
      stages: [
        stageSnapshot("x", { in: 5, emitted: 5, written: 5 }),
        stageSnapshot("y", { in: 6, emitted: 6, written: 6 }),
        stageSnapshot("m", { host: "m+s", in: 11, emitted: 11 })
      ],
      rings: [ringSnapshot("rx", "x", "m"), ringSnapshot("ry", "y", "m")],
      links: [{
        _tag: "Rings",
        producers: [{ stage: "x", host: "x", rings: ["rx"], perRing: false }, { stage: "y", host: "y", rings: ["ry"], perRing: false }],
        consumers: ["m"],
        rings: ["rx", "ry"]
      }]
    })
    assert.isTrue(l.balanced, Ledger.format(l))
    assert.deepStrictEqual(l.links.map((x) => [x.from, x.to, x.published, x.consumed]), [["x,y", "m+s", 11, 11]])
  })
})
