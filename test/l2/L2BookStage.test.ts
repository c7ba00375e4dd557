import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { Pipeline, RecordLayout, type Stage } from "@velox/core"
import { CaptureSink, ReplaySource, StageContract } from "@velox/core/testing"
import { Bbo, L2BookStage, L2Status, L2Update } from "@velox/market"
import { NodeStageHost } from "@velox/node"
import { feedBatches } from "../fixtures/feedBatches.ts"
import { arbitraryFlowOp, type FlowOp, type FlowOpRanges, seededFlowOps } from "../fixtures/flowOps.ts"
import { L2Model, type Outcome, type Top, type Update } from "./l2Model.ts"

// -------------------------------------------------------------------------------------------------
// Driving the stage's logic in-process, recording what it does with every update.

const { Add, Delete, SnapshotBegin, SnapshotEnd, SnapshotLevel, Update: Upd } = L2Update.Op
const { Crossed, Locked, Snapshot, Stale } = Bbo.Flag
type StageConfig = Parameters<typeof L2BookStage.make>[0]

class RecordingEmitter implements Stage.Emitter<typeof Bbo.Bbo.spec> {
  readonly view: RecordLayout.RecordView<typeof Bbo.Bbo.spec>
  readonly tops: Array<{ readonly accounts: number; readonly slot: number }> = []
  readonly dropped: Record<string, number> = {}
  readonly deadLetters: Array<{ readonly error: string; readonly record: Update }> = []
  accounted = 0
  constructor(capacity: number) {
    this.view = RecordLayout.view(Bbo.Bbo, new ArrayBuffer(Math.max(1, capacity) * Bbo.Bbo.byteLength), 0, Math.max(1, capacity))
  }
  emit(accounts = 1): number {
    const slot = this.tops.length
    this.tops.push({ accounts, slot })
    return slot
  }
  forward(): void {
    assert.fail("the L2 book stage emits top-of-book records, never its input")
  }
  account(count: number): void {
    this.accounted += count
  }
  drop(reason: number, count = 1): void {
    const name = L2BookStage.dropReasons[reason]
    assert.isDefined(name, `drop reason ${reason} is declared`)
    this.dropped[name!] = (this.dropped[name!] ?? 0) + count
  }
  deadLetter(code: number, input: RecordLayout.RecordView, slot: number): void {
    const error = L2BookStage.errors[code]
    assert.isDefined(error, `error code ${code} is declared`)
    this.deadLetters.push({ error: error!, record: RecordLayout.readUnsafe(input, slot) as Update })
  }
  records(): Array<Top> {
    return this.tops.map((t) => RecordLayout.readUnsafe(this.view, t.slot) as Top)
  }
}

/** Runs `updates` through fresh logic in batches of the given lengths (cycled), each at an offset in its view. */
const runInProcess = (config: StageConfig, updates: ReadonlyArray<Update>, lengths: ReadonlyArray<number> = [64]) => {
  const logic = L2BookStage.make(config)
  const out = new RecordingEmitter(2 * updates.length)
  feedBatches(logic, L2Update.L2Update, updates, lengths, out)
  return { logic, out }
}

/** What the model expects of a run: the top-of-book records in order, drops, dead letters, applied count. */
const expect = (model: L2Model, updates: ReadonlyArray<Update>) => {
  const outcomes = updates.map((u) => model.apply(u))
  const tops: Array<Top> = []
  const dropped: Record<string, number> = {}
  const deadLetters: Array<{ error: string; record: Update }> = []
  let applied = 0
  outcomes.forEach((o: Outcome, i) => {
    if (o.kind === "applied") {
      applied++
      if (o.top !== undefined) tops.push(o.top)
    } else {
      if (o.stale !== undefined) tops.push(o.stale)
      if (o.kind === "dropped") dropped[o.reason] = (dropped[o.reason] ?? 0) + 1
      else deadLetters.push({ error: o.error, record: updates[i]! })
    }
  })
  return { tops, dropped, deadLetters, applied, outcomes }
}

const assertRun = (got: RecordingEmitter, want: ReturnType<typeof expect>, context: string) => {
  const tops = got.records()
  assert.strictEqual(tops.length, want.tops.length, `top-of-book records ${context}`)
  for (let i = 0; i < tops.length; i++) assert.deepStrictEqual(tops[i], want.tops[i], `top-of-book record ${i} ${context}`)
  assert.deepStrictEqual(got.dropped, want.dropped, `drops ${context}`)
  assert.deepStrictEqual(got.deadLetters, want.deadLetters, `dead letters ${context}`)
  // Applied = updates accounted by emit(accounts) and account(n); stale marks stand for none.
  const emitted = got.tops.reduce((n, t) => n + t.accounts, 0) + got.accounted
  assert.strictEqual(emitted, want.applied, `applied ${context}`)
}

// -------------------------------------------------------------------------------------------------
// A feed planned against the model: in-sequence adds, updates and deletes near a walking mid, with
// gaps, duplicates, snapshots (some broken), far levels, and one bad record in ~20.

type Op = FlowOp

const SYMBOLS = 3
const MIDS = [50, 10_000, 999_950]

const planFeed = (ops: ReadonlyArray<Op>, model: L2Model, firstSeq: number | undefined): Array<Update> => {
  const mid = [...MIDS]
  // What the exchange would number next, per symbol; a snapshot reflects everything before it.
  const next = Array.from({ length: SYMBOLS }, () => firstSeq ?? 1)
  const updates: Array<Update> = []
  let seen = 0
  let ts = 0
  const push = (u: Omit<Update, "exchangeTsNs">) => {
    updates.push({ ...u, exchangeTsNs: ts++ })
  }
  ops.forEach((o) => {
    const { side, symbol } = o
    mid[symbol] = Math.max(200, mid[symbol]! + o.walk)
    const price = side === 0 ? mid[symbol]! - 1 - o.offset : mid[symbol]! + 1 + o.offset
    const levels = model.levels(symbol, side)
    const existing = levels.length === 0 ? price : levels[o.offset % levels.length]![0]
    // Now and then a size past int32 or around 2^16 (the ladder's 16-bit slots hold up to 65,534 lots,
    // larger sizes take the books' overflow path), else a few lots.
    const size = (1 + o.size) * (o.bad % 10 === 7 ? 2 ** 31 - 1 : o.bad % 10 === 3 ? 2 ** 11 + 1 : 1)
    if (o.kind < 5) push({ seq: next[symbol]!++, price, size, symbol, side, op: Add })
    else if (o.kind < 8) push({ seq: next[symbol]!++, price: existing, size: o.size % 7 === 0 ? 0 : size, symbol, side, op: Upd })
    else if (o.kind < 10) push({ seq: next[symbol]!++, price: o.size % 9 === 0 ? price : existing, size: 0, symbol, side, op: Delete })
    else if (o.kind === 10) {
      // A gap: messages lost, then one arrives.
      next[symbol]! += 1 + (o.offset % 3)
      push({ seq: next[symbol]!++, price, size, symbol, side, op: Add })
    } else if (o.kind === 11) {
      // A duplicate of an earlier message.
      push({ seq: Math.max(0, next[symbol]! - 1 - (o.offset % 3)), price, size, symbol, side, op: Upd })
    } else if (o.kind === 12 || o.kind === 13) {
      // A snapshot of some book around the mid (levels near and a million ticks away); sometimes broken.
      const seq = next[symbol]! - 1 + (o.kind === 13 ? o.offset % 2 : 0)
      if (o.kind === 13) next[symbol] = seq + 1
      push({ seq, price: 0, size: 0, symbol, side: 0, op: SnapshotBegin })
      for (let k = 0; k < 2 + (o.size % 6); k++) {
        const far = k === 3 ? 1_000_000 : 0
        push({ seq, price: mid[symbol]! - 1 - k * 2 - far, size: 10 + k, symbol, side: 0, op: SnapshotLevel })
        push({ seq, price: mid[symbol]! + 1 + k * 3 + far, size: 20 + k, symbol, side: 1, op: SnapshotLevel })
      }
      if (o.bad % 11 === 0) push({ seq: seq + 1, price, size, symbol, side, op: SnapshotLevel }) // wrong seq
      if (o.bad % 13 === 0) push({ seq: next[symbol]!, price, size, symbol, side, op: Add }) // interleaved
      push({ seq, price: 0, size: 0, symbol, side: 0, op: SnapshotEnd })
    } else if (o.kind === 14) {
      // Crossing or locking the book, in sequence (the book mirrors it and says so).
      const best = model.levels(symbol, 1 - side)[0]?.[0] ?? price
      const at = side === 0 ? best + (o.offset % 2) : best - (o.offset % 2)
      push({ seq: next[symbol]!++, price: at, size, symbol, side, op: model.levels(symbol, side).some((l) => l[0] === at) ? Upd : Add })
    } else if (o.kind === 16) {
      // At or just behind the best, where the books' one-pass path decides whether the top changed: the
      // best resized to its own size (no change) or another, the level behind it removed (by an Update
      // to 0, or a Delete whose size is not read), a new level behind it added.
      const [best, second] = model.levels(symbol, side)
      const seq = next[symbol]!++
      if (best === undefined) push({ seq, price, size, symbol, side, op: Add })
      else if (o.offset % 4 === 0) push({ seq, price: best[0], size: o.size % 2 === 0 ? best[1] : size, symbol, side, op: Upd })
      else if (second !== undefined && o.offset % 4 === 1) {
        push({ seq, price: second[0], size: o.size % 2 === 0 ? 0 : Number.NaN, symbol, side, op: o.size % 2 === 0 ? Upd : Delete })
      } else {
        const behind = side === 0 ? best[0] - 1 : best[0] + 1
        const held = model.levels(symbol, side).some((l) => l[0] === behind)
        push({ seq, price: behind, size, symbol, side, op: held ? Upd : Add })
      }
    } else {
      // A level far from the touch.
      push({ seq: next[symbol]!++, price: side === 0 ? Math.max(1, price - 1_000_000) : price + 1_000_000, size, symbol, side, op: Add })
    }
    if (o.bad < 7) {
      const u = updates.pop()!
      const bad: ReadonlyArray<Update> = [
        { ...u, price: 0.5 },
        { ...u, size: Number.NaN },
        { ...u, side: 2 },
        { ...u, op: 6 + o.offset },
        { ...u, seq: -1 },
        { ...u, symbol: SYMBOLS + o.offset },
        { ...u, size: 2 ** 53 }
      ]
      updates.push(bad[o.bad]!)
    }
    // The model follows record by record, so later plans see the book the stage will have.
    for (; seen < updates.length; seen++) model.apply(updates[seen]!)
  })
  return updates
}

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const OP_RANGES: FlowOpRanges = { kind: [0, 16], symbol: [0, SYMBOLS - 1], side: [0, 1], offset: [0, 20], size: [0, 60], walk: [-2, 2], bad: [0, 120] }
const arbitraryOp = arbitraryFlowOp(OP_RANGES)


/** Plans a feed (with a planning model) and states what a fresh model expects of it. */
const scenario = (ops: ReadonlyArray<Op>, firstSeq: number | undefined) => {
  const updates = planFeed(ops, new L2Model(SYMBOLS, 0x7fffffff, firstSeq), firstSeq)
  const model = new L2Model(SYMBOLS, 0x7fffffff, firstSeq)
  return { updates, model, want: expect(model, updates) }
}

describe("L2BookStage against a plain model", () => {
  it.prop(
    "random feeds in random batches: every top-of-book record, drop, dead letter and book level agrees",
    {
      ops: Arbitrary.array(arbitraryOp, { maxLength: 300 }),
      lengths: Arbitrary.array(int(1, 40), { minLength: 1, maxLength: 6 }),
      live: Arbitrary.schema(Schema.Boolean),
      reserveLadders: Arbitrary.schema(Schema.Boolean),
      windowTicks: Arbitrary.schema(Schema.Literals([32, 64, 1024]))
    },
    ({ lengths, live, ops, reserveLadders, windowTicks }) => {
      const firstSeq = live ? 1 : undefined
      const { model, updates, want } = scenario(ops, firstSeq)
      const status = L2Status.make(SYMBOLS)
      const config: StageConfig = { symbols: SYMBOLS, windowTicks, status, reserveLadders, ...(live ? { firstSeq: 1 } : {}) }
      const { logic, out } = runInProcess(config, updates, lengths)
      assertRun(out, want, `(window ${windowTicks}, ${live ? "firstSeq 1" : "snapshots first"}, reserveLadders ${reserveLadders})`)
      for (let s = 0; s < SYMBOLS; s++) {
        assert.deepStrictEqual(
          logic.snapshot(s, 1_000),
          { symbol: s, bids: model.levels(s, 0), asks: model.levels(s, 1) },
          `levels of symbol ${s}`
        )
        const row = L2Status.symbol(status, s)
        const { state, ...counts } = model.status(s)
        assert.strictEqual(row.state, state, `state of symbol ${s}`)
        assert.deepStrictEqual({ ...row, state: undefined, symbol: undefined }, { ...counts, state: undefined, symbol: undefined }, `status of symbol ${s}`)
      }
    },
    { arbitrary: { runs: 150, size: 300 } }
  )

  it("a long seeded feed covers every outcome: each drop reason, each error, crossed and locked books", () => {
    const ops = seededFlowOps(5, 6_000, OP_RANGES)
    const { updates, want } = scenario(ops, undefined)
    const { out } = runInProcess({ symbols: SYMBOLS }, updates, [1, 7, 256, 33])
    assertRun(out, want, "(seeded)")
    assert.deepStrictEqual(Object.keys(out.dropped).sort(), ["Duplicate", "Stale"])
    assert.deepStrictEqual(new Set(out.deadLetters.map((d) => d.error)), new Set(L2BookStage.errors))
    const flags = out.records().reduce((f, t) => f | t.flags, 0)
    assert.strictEqual(flags, Crossed | Locked | Stale | Snapshot)
  })
})

// -------------------------------------------------------------------------------------------------

const u = (seq: number, op: number, side: number, price: number, size: number, symbol = 0): Update => ({
  seq,
  exchangeTsNs: 1_000 * seq,
  price,
  size,
  symbol,
  side,
  op
})

describe("L2BookStage sequencing", () => {
  it("a gap makes the book stale: its updates are dropped until a snapshot resyncs it, and the status table says so", () => {
    const status = L2Status.make(2)
    const { logic, out } = runInProcess({ symbols: 2, firstSeq: 1, status }, [
      u(1, Add, 0, 500, 1, 1),
      u(1, Add, 0, 100, 5),
      u(2, Add, 1, 102, 7),
      u(5, Add, 0, 101, 1), // 3 and 4 were lost
      u(6, Upd, 0, 100, 9),
      u(7, Delete, 1, 102, 0),
      u(9, SnapshotBegin, 0, 0, 0),
      u(9, SnapshotLevel, 0, 99, 4),
      u(9, SnapshotLevel, 1, 103, 6),
      u(9, SnapshotEnd, 0, 0, 0),
      u(8, Upd, 0, 99, 1), // older than the snapshot
      u(10, Upd, 0, 99, 2)
    ])
    assert.deepStrictEqual(out.records().map((t) => [t.seq, t.bidPrice, t.bidSize, t.askPrice, t.askSize, t.flags]), [
      [1, 500, 1, 0, 0, 0], // symbol 1
      [1, 100, 5, 0, 0, 0],
      [2, 100, 5, 102, 7, 0],
      [5, 100, 5, 102, 7, Stale], // the update that showed the gap: the last quote, flagged stale
      [9, 99, 4, 103, 6, Snapshot],
      [10, 99, 2, 103, 6, 0]
    ])
    assert.deepStrictEqual(out.dropped, { Stale: 3, Duplicate: 1 })
    assert.strictEqual(out.tops.filter((t) => t.accounts === 0).length, 1) // the stale mark stands for no update
    assert.deepStrictEqual(logic.snapshot(0), { symbol: 0, bids: [[99, 2]], asks: [[103, 6]] })
    const row = L2Status.symbol(status, 0)
    assert.deepStrictEqual([row.state, row.gaps, row.missing, row.staleEvents, row.snapshots, row.resyncs], ["live", 1, 2, 1, 1, 1])
    assert.deepStrictEqual(L2Status.read(status), {
      symbols: 2,
      waiting: 0,
      live: 2,
      stale: 0,
      resyncing: 0,
      refreshing: 0,
      locked: 0,
      crossed: 0,
      gaps: 1,
      missing: 2,
      staleEvents: 1,
      snapshots: 1,
      resyncs: 1,
      crossedEvents: 0,
      lockedEvents: 0
    })
  })

  it("books wait for a first snapshot unless firstSeq is given; a snapshot a live book has passed is a duplicate", () => {
    const status = L2Status.make(1)
    const { out } = runInProcess({ symbols: 1, status }, [
      u(3, Add, 0, 100, 5), // before any snapshot
      u(4, SnapshotBegin, 0, 0, 0),
      u(4, SnapshotLevel, 0, 100, 5),
      u(4, SnapshotEnd, 0, 0, 0),
      u(5, Add, 1, 101, 1),
      u(4, SnapshotBegin, 0, 0, 0), // the same snapshot again: already reflected
      u(4, SnapshotLevel, 0, 100, 5),
      u(4, SnapshotEnd, 0, 0, 0),
      u(6, SnapshotBegin, 0, 0, 0), // a newer one refreshes the live book
      u(6, SnapshotLevel, 0, 98, 1),
      u(6, SnapshotEnd, 0, 0, 0)
    ])
    assert.deepStrictEqual(out.dropped, { Stale: 1, Duplicate: 3 })
    assert.deepStrictEqual(out.records().map((t) => [t.seq, t.bidPrice, t.askPrice, t.flags]), [
      [3, 0, 0, Stale],
      [4, 100, 0, Snapshot],
      [5, 100, 101, 0],
      [6, 98, 0, Snapshot]
    ])
    const row = L2Status.symbol(status, 0)
    assert.deepStrictEqual([row.state, row.snapshots, row.resyncs, row.staleEvents, row.gaps], ["live", 2, 1, 1, 0])
  })

  it("a refused update in its place in the sequence makes the book stale; one that cannot be placed does not", () => {
    const { out } = runInProcess({ symbols: 1, firstSeq: 1 }, [
      u(1, Add, 0, 100, 5),
      u(2, Add, 0, 100, 5), // LevelExists: the book missed something
      u(3, Add, 0, 101, 1),
      u(9, SnapshotBegin, 0, 0, 0),
      u(9, SnapshotEnd, 0, 0, 0),
      { ...u(10, Add, 0, 100, 5), op: 7 }, // BadOp: not placed in the sequence
      { ...u(10, Add, 0, 100, 5), seq: 10.5 }, // InvalidSequence
      u(10, Add, 0, 100, 5)
    ])
    assert.deepStrictEqual(out.deadLetters.map((d) => d.error), ["LevelExists", "BadOp", "InvalidSequence"])
    assert.deepStrictEqual(out.dropped, { Stale: 1 })
    assert.deepStrictEqual(out.records().map((t) => [t.seq, t.flags]), [[1, 0], [2, Stale], [9, Snapshot], [10, 0]])
  })

  it("crossed and locked books are published as they are, flagged, and counted once per episode", () => {
    const status = L2Status.make(1)
    const { out } = runInProcess({ symbols: 1, firstSeq: 1, status }, [
      u(1, Add, 0, 100, 5),
      u(2, Add, 1, 100, 5), // locked
      u(3, Upd, 1, 100, 6), // still locked: a size change, no new episode
      u(4, Add, 1, 99, 1), // crossed
      u(5, Delete, 1, 99, 0), // locked again
      u(6, Delete, 1, 100, 0) // neither
    ])
    assert.deepStrictEqual(out.records().map((t) => [t.bidPrice, t.askPrice, t.flags]), [
      [100, 0, 0],
      [100, 100, Locked],
      [100, 100, Locked],
      [100, 99, Crossed],
      [100, 100, Locked],
      [100, 0, 0]
    ])
    const row = L2Status.symbol(status, 0)
    assert.deepStrictEqual([row.lockedEvents, row.crossedEvents, row.locked, row.crossed], [2, 1, false, false])
  })

  it("only top-of-book changes are published: an update behind the touch is applied and accounted, with no record", () => {
    const { out } = runInProcess({ symbols: 1, firstSeq: 1 }, [
      u(1, Add, 0, 100, 5),
      u(2, Add, 0, 90, 5),
      u(3, Upd, 0, 90, 8),
      u(4, Add, 0, 10, 1_000) // 90 ticks behind
    ])
    assert.strictEqual(out.records().length, 1)
    assert.strictEqual(out.accounted, 3)
  })
})

// -------------------------------------------------------------------------------------------------

/** Realistic updates for the contract kit: near one mid, in rough sequence, some snapshots, some bad. */
const arbitraryUpdate: Arbitrary.Arbitrary<Update> = Arbitrary.map(
  Arbitrary.all({ seq: int(0, 40), symbol: int(0, 2), side: int(0, 1), op: int(0, 5), offset: int(0, 6), size: int(0, 40), bad: int(0, 40) }),
  (r): Update => {
    const price = r.side === 0 ? 1_000 - r.offset : 1_001 + r.offset
    const update = { seq: r.seq, exchangeTsNs: r.seq * 10, price, size: r.size, symbol: r.symbol, side: r.side, op: r.op }
    switch (r.bad) {
      case 0: return { ...update, price: 0 }
      case 1: return { ...update, symbol: 3 + r.offset }
      case 2: return { ...update, op: 6 + r.offset }
      case 3: return { ...update, size: 0.5 }
      default: return update
    }
  }
)

describe("L2BookStage keeps the stage contract", () => {
  it.live("in-process (conservation, drain, determinism, bounded memory), fused and in a worker", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.check(L2BookStage, {
        config: { symbols: 3, firstSeq: 0 },
        inputs: StageContract.arbitraryBatches(arbitraryUpdate, { maxBatches: 12, maxBatchLength: 40 }),
        runs: 100,
        placementRuns: 3
      })
      assert.deepStrictEqual(report.laws, ["Conservation", "Drain", "Determinism", "BoundedMemory", "PlacementIndependence"])
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.effect("in-process on arbitrary bit patterns (NaN prices and sequence numbers, huge symbols and ops): nothing throws, nothing is lost", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(L2BookStage, {
        config: { symbols: 2, windowTicks: 32 },
        inputs: StageContract.arbitraryBatches(StageContract.arbitraryRecords(L2Update.L2Update), { maxBatches: 8, maxBatchLength: 30 }),
        runs: 100
      })
      assert.strictEqual(report.runs, 100)
    }))
})

// -------------------------------------------------------------------------------------------------


describe("L2BookStage in a pipeline", () => {
  for (const placement of ["fused", "worker"] as const) {
    it.live(`${placement}: the captured tops and dead letters are the model's, and the ledger reconciles the feed`, () =>
      Effect.gen(function*() {
        const { updates, want } = scenario(seededFlowOps(placement === "fused" ? 21 : 22, 4_000, OP_RANGES), undefined)
        const status = L2Status.make(SYMBOLS)
        const captured = CaptureSink.allocate(Bbo.Bbo, want.tops.length + 1)
        const batches: Array<Array<Update>> = []
        for (let at = 0, b = 0; at < updates.length; b++) {
          const n = [1, 300, 17, 1_000, 64][b % 5]!
          batches.push(updates.slice(at, at + n))
          at += n
        }
        const run = yield* Pipeline.runToEnd(
          Pipeline.from(ReplaySource.make(L2Update.L2Update), ReplaySource.encode(L2Update.L2Update, batches))
            .via(L2BookStage, { symbols: SYMBOLS, status }, { placement })
            .to(CaptureSink.make(Bbo.Bbo), captured),
          { deadLetterBuffer: updates.length + 1 }
        )
        assert.isTrue(run.ledger.balanced)
        const line = run.ledger.stages.find((s) => s.stage === "l2-book")!
        // updates read = applied + dropped (stale, duplicate) + refused (by reason)
        const refused = Object.values(line.deadLettered).reduce((a, b) => a + b, 0)
        const dropped = Object.values(line.dropped).reduce((a, b) => a + b, 0)
        assert.strictEqual(line.in, updates.length)
        assert.strictEqual(line.in, line.emitted + dropped + refused)
        assert.strictEqual(line.emitted, want.applied)
        assert.deepStrictEqual(line.dropped, want.dropped)
        const byError: Record<string, number> = {}
        for (const d of want.deadLetters) byError[d.error] = (byError[d.error] ?? 0) + 1
        assert.deepStrictEqual(line.deadLettered, byError)
        assert.strictEqual(line.written, want.tops.length)
        assert.deepStrictEqual(CaptureSink.records(Bbo.Bbo, captured), want.tops)
        const deadLetters = run.deadLetters.filter((d) => d.stage === "l2-book")
        assert.deepStrictEqual(deadLetters.map((d) => d.error), want.deadLetters.map((d) => d.error))
        assert.strictEqual(L2Status.read(status).snapshots, want.outcomes.filter((o, i) => o.kind === "applied" && updates[i]!.op === SnapshotEnd).length)
      }).pipe(Effect.provide(NodeStageHost.layer)))
  }

  it.live("partitioned by symbol over two workers with one status table: the same tops per symbol, the same status", () =>
    Effect.gen(function*() {
      const { model, updates, want } = scenario(seededFlowOps(23, 3_000, OP_RANGES), 1)
      const status = L2Status.make(SYMBOLS)
      const captured = CaptureSink.allocate(Bbo.Bbo, want.tops.length + 1)
      const run = yield* Pipeline.runToEnd(
        Pipeline.from(ReplaySource.make(L2Update.L2Update), ReplaySource.encode(L2Update.L2Update, [updates.slice(0, 1_500), updates.slice(1_500)]))
          .partition(L2BookStage, { symbols: SYMBOLS, status, firstSeq: 1 }, { by: "symbol", count: 2 })
          .to(CaptureSink.make(Bbo.Bbo), captured),
        { deadLetterBuffer: updates.length + 1 }
      )
      assert.isTrue(run.ledger.balanced)
      const lines = run.ledger.stages.filter((s) => s.stage.startsWith("l2-book#"))
      assert.strictEqual(lines.length, 2)
      assert.strictEqual(lines.reduce((n, l) => n + l.emitted, 0), want.applied)
      // Partitions merge in any order; per symbol the order is the feed's.
      const got = CaptureSink.records(Bbo.Bbo, captured)
      for (let s = 0; s < SYMBOLS; s++) {
        assert.deepStrictEqual(got.filter((t) => t.symbol === s), want.tops.filter((t) => t.symbol === s), `symbol ${s}`)
        const row = L2Status.symbol(status, s)
        assert.strictEqual(row.state, model.status(s).state)
        assert.strictEqual(row.gaps, model.status(s).gaps)
        assert.strictEqual(row.resyncs, model.status(s).resyncs)
      }
    }).pipe(Effect.provide(NodeStageHost.layer)))
})

describe("L2BookStage config", () => {
  it("is validated, with messages naming the value and the rule", () => {
    const decode = Schema.decodeUnknownSync(L2BookStage.config)
    assert.deepStrictEqual(decode({ symbols: 4, firstSeq: 1 }), { symbols: 4, firstSeq: 1 })
    const rejects = (config: unknown, text: string) => assert.throws(() => decode(config), text)
    rejects({ symbols: 0 }, "symbols must be an integer in 1..16777216, got 0")
    rejects({ symbols: 1, firstSeq: -1 }, "firstSeq")
    rejects({ symbols: 1, status: new SharedArrayBuffer(64) }, "a status table from L2Status.make(symbols)")
    rejects({ symbols: 3, status: L2Status.make(2) }, "status holds 2 symbols, fewer than symbols=3")
    rejects({ symbols: 1 << 20, windowTicks: 2_048, reserveLadders: true }, "reserveLadders needs 2 × symbols × windowTicks ≤ 2^31")
    rejects({ symbols: 1 << 20, windowTicks: 2_048, reserveLadders: true, status: L2Status.make(1) }, "status holds 1 symbols")
  })

  it("declares its drop reasons and errors, and maps every kernel refusal to one of them", () => {
    assert.deepStrictEqual([...L2BookStage.dropReasons], ["Stale", "Duplicate"])
    assert.strictEqual(L2BookStage.name, "l2-book")
    assert.strictEqual(L2BookStage.maxRetained({ symbols: 1 }), 0)
  })
})
