import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Schema } from "effect"
import { Pipeline, RecordLayout, type Stage } from "@velox/core"
import { BookSnapshot, bookSnapshot, OrderBook, OrderBookStage } from "@velox/market"
import { CaptureSink, ReplaySource, StageContract } from "@velox/core/testing"
import { NodeStageHost } from "@velox/node"
import { Kind, Side } from "../../packages/market/src/Transaction.ts"
import { BucketedBook } from "../../packages/market/test/fixtures/bucketedBook.ts"
import { feedBatches } from "../fixtures/feedBatches.ts"
import { arbitraryFlowOp, type FlowOp, type FlowOpRanges, seededFlowOps } from "../fixtures/flowOps.ts"

// -------------------------------------------------------------------------------------------------
// The stage's records, and a naive model of what it must do to them.

const { input: Transaction, output: BookUpdate } = OrderBookStage
type Tx = RecordLayout.RecordOf<typeof Transaction.spec>
type Update = RecordLayout.RecordOf<typeof BookUpdate.spec>

/** What the stage does with one transaction: emits an update, or dead-letters the record with a tag. */
type Outcome = { readonly update: Update } | { readonly error: string; readonly record: Tx }

const { Add: ADD, Cancel: CANCEL, Trade: TRADE } = Kind
const { Ask: ASK, Bid: BID } = Side

/**
 * The order book stage stated in the plainest way: a `Map` per side, sorted on every read, the same
 * checks in the same order (kind, symbol, side, price, size, then the level); any valid price accepted.
 */
class SortedMapBooks {
  readonly sides: Array<[Map<number, number>, Map<number, number>]>
  readonly symbols: number
  readonly maxTick: number
  constructor(symbols: number, maxTick: number) {
    this.symbols = symbols
    this.maxTick = maxTick
    this.sides = Array.from({ length: symbols }, () => [new Map(), new Map()])
  }

  /** Levels best first: bids high to low, asks low to high. */
  levels(symbol: number, side: number): Array<[number, number]> {
    return [...this.sides[symbol]![side]!.entries()].sort((a, b) => (side === BID ? b[0] - a[0] : a[0] - b[0]))
  }

  best(symbol: number, side: number): number {
    return this.levels(symbol, side)[0]?.[0] ?? 0
  }

  level(symbol: number, side: number, price: number): number {
    return this.sides[symbol]?.[side]?.get(price) ?? 0
  }

  apply(tx: Tx): Outcome {
    const refuse = (error: string): Outcome => ({ error, record: tx })
    const { kind, side, size, symbol } = tx
    if (kind !== ADD && kind !== CANCEL && kind !== TRADE) return refuse("BadKind")
    if (!(symbol < this.symbols)) return refuse("UnknownSymbol")
    if (side !== BID && side !== ASK) return refuse("InvalidSide")
    if (kind !== TRADE && !(Number.isInteger(tx.price) && tx.price >= 1 && tx.price <= this.maxTick)) {
      return refuse("PriceOutOfRange")
    }
    if (Number.isNaN(size) || size < 1 || size === Infinity) return refuse("InvalidSize")
    if (size > Number.MAX_SAFE_INTEGER) return refuse("SizeOverflow")
    if (!Number.isInteger(size)) return refuse("InvalidSize")
    const m = this.sides[symbol]![side]!
    // A trade's own price is ignored: it executes at the best level of its side.
    const price = kind === TRADE ? this.best(symbol, side) : tx.price
    const old = m.get(price) ?? 0
    let levelSize: number
    if (kind === ADD) {
      if (old + size > Number.MAX_SAFE_INTEGER) return refuse("SizeOverflow")
      levelSize = old + size
    } else {
      if (price === 0 || size > old) return refuse("CancelExceedsLevel")
      levelSize = old - size
    }
    if (levelSize === 0) m.delete(price)
    else m.set(price, levelSize)
    return {
      update: {
        txId: tx.id,
        tsNs: tx.tsNs,
        price,
        levelSize,
        bestBid: this.best(symbol, BID),
        bestAsk: this.best(symbol, ASK),
        symbol,
        side,
        kind
      }
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Driving the stage's logic in-process (what one loop pass does), recording every outcome in order.

class RecordingEmitter implements Stage.Emitter<typeof BookUpdate.spec> {
  readonly view: RecordLayout.RecordView<typeof BookUpdate.spec>
  private readonly events: Array<{ readonly slot: number } | { readonly error: string; readonly record: Tx }> = []
  private next = 0
  constructor(capacity: number) {
    this.view = RecordLayout.view(BookUpdate, new ArrayBuffer(Math.max(1, capacity) * BookUpdate.byteLength), 0, Math.max(1, capacity))
  }
  emit(accounts = 1): number {
    assert.strictEqual(accounts, 1, "one update per transaction")
    const slot = this.next++
    this.events.push({ slot })
    return slot
  }
  forward(): void {
    assert.fail("the order book stage emits book updates, never its input")
  }
  account(): void {
    assert.fail("the order book stage is not a sink")
  }
  drop(): void {
    assert.fail("the order book stage drops nothing: it emits or dead-letters")
  }
  deadLetter(code: number, input: RecordLayout.RecordView, slot: number): void {
    const error = OrderBookStage.errors[code]
    assert.isDefined(error, `dead-letter code ${code} is declared`)
    this.events.push({ error: error!, record: RecordLayout.readUnsafe(input, slot) as Tx })
  }
  outcomes(): Array<Outcome> {
    return this.events.map((e) => ("slot" in e ? { update: RecordLayout.readUnsafe(this.view, e.slot) } : e))
  }
}

/** Runs `txs` through fresh logic in batches of the given lengths (cycled), each at an offset in its view. */
const runInProcess = (config: StageConfig, txs: ReadonlyArray<Tx>, lengths: ReadonlyArray<number> = [64]) => {
  const logic = OrderBookStage.make(config)
  const out = new RecordingEmitter(txs.length)
  feedBatches(logic, Transaction, txs, lengths, out)
  return { logic, outcomes: out.outcomes() }
}
type StageConfig = Parameters<typeof OrderBookStage.make>[0]

/** Runs `txs` through a real pipeline `ReplaySource → order-book → CaptureSink` with the stage at `placement`. */
const runPipeline = (
  config: StageConfig,
  batches: ReadonlyArray<ReadonlyArray<Tx>>,
  placement: Pipeline.Placement
) =>
  Effect.gen(function*() {
    const total = batches.reduce((n, b) => n + b.length, 0)
    const captured = CaptureSink.allocate(BookUpdate, total + 1)
    const run = yield* Pipeline.runToEnd(
      Pipeline.from(ReplaySource.make(Transaction), ReplaySource.encode(Transaction, batches))
        .via(OrderBookStage, config, { placement })
        .to(CaptureSink.make(BookUpdate), captured),
      { deadLetterBuffer: total + 1 }
    )
    assert.isTrue(run.ledger.balanced, "the ledger balances")
    const line = run.ledger.stages.find((s) => s.stage === OrderBookStage.name)!
    const deadLetters = run.deadLetters.filter((d) => d.stage === OrderBookStage.name)
    assert.strictEqual(line.in, total)
    assert.strictEqual(line.emitted + deadLetters.length, total, "every transaction emitted or dead-lettered")
    assert.strictEqual(line.retained + line.lost + line.restarts, 0)
    return { updates: CaptureSink.records(BookUpdate, captured), deadLetters, line }
  })

/** Puts a run's updates and dead letters back in input order (transaction ids are unique in these tests). */
const outcomesOf = (
  txs: ReadonlyArray<Tx>,
  updates: ReadonlyArray<Update>,
  deadLetters: ReadonlyArray<{ readonly error: string; readonly record: Readonly<Record<string, number>> }>
): Array<Outcome> => {
  let u = 0
  let d = 0
  return txs.map((tx): Outcome => {
    const dead = deadLetters[d]
    if (dead !== undefined && dead.record.id === tx.id) {
      d++
      return { error: dead.error, record: dead.record as Tx }
    }
    const update = updates[u++]
    return update === undefined ? { error: "neither emitted nor dead-lettered", record: tx } : { update }
  })
}

const assertOutcomes = (got: ReadonlyArray<Outcome>, want: ReadonlyArray<Outcome>, context: string) => {
  assert.strictEqual(got.length, want.length, `outcome count ${context}`)
  for (let i = 0; i < want.length; i++) {
    assert.deepStrictEqual(got[i], want[i], `transaction ${i} ${context}`)
  }
}

// -------------------------------------------------------------------------------------------------
// Order flow near a walking mid: mostly adds near the top, cancels and trades sized from the model
// (often exactly the level, sometimes one lot more), some price jumps, one in ~16 records invalid.

type Op = FlowOp

const SYMBOLS = 3
/** Mid prices near the bottom of the tick range, ordinary, and near a `maxTick` of 1,000,000. */
const MIDS = [40, 10_000, 999_960]

const planFlow = (ops: ReadonlyArray<Op>, model: SortedMapBooks): { txs: Array<Tx>; expected: Array<Outcome> } => {
  const mid = [...MIDS]
  const txs: Array<Tx> = []
  const expected: Array<Outcome> = []
  ops.forEach((op, i) => {
    const { side, symbol } = op
    // A walk that drifts back to its start; a rare jump of up to 120 ticks reverts over ~100 steps,
    // and the levels it leaves stay behind until pulled or traded away (beyond the smaller windows).
    const jump = op.kind === 15 && op.walk === 3 ? (op.size % 2 === 0 ? 40 : -40) * (1 + (op.offset % 3)) : 0
    const drift = Math.sign(MIDS[symbol]! - mid[symbol]!)
    mid[symbol] = mid[symbol]! + (jump !== 0 ? jump : op.walk + drift)
    let price = side === BID ? mid[symbol]! - op.offset : mid[symbol]! + op.offset
    let size = op.size
    let kind: number
    if (op.kind < 8 || op.kind === 15) kind = ADD
    else if (op.kind < 12) {
      kind = CANCEL
      // Mostly at a live level (the one at the price, else the best); one in three misses as it is.
      const best = model.best(symbol, side)
      if (model.level(symbol, side, price) <= 0 && best > 0 && size % 3 !== 0) price = best
      const level = model.level(symbol, side, price)
      size = level <= 0 ? size : size % 5 === 0 ? level : size % 9 === 0 ? level + 1 : Math.min(size, level)
    } else if (op.kind === 14) {
      // A stale order pulled: the side's level farthest from the mid, all of it.
      kind = CANCEL
      const levels = model.levels(symbol, side)
      const far = levels.reduce<[number, number] | undefined>(
        (a, l) => (a === undefined || Math.abs(l[0] - mid[symbol]!) > Math.abs(a[0] - mid[symbol]!) ? l : a),
        undefined
      )
      if (far !== undefined) [price, size] = far
    } else {
      kind = TRADE
      const best = model.best(symbol, side)
      const level = best > 0 ? model.level(symbol, side, best) : 0
      size = level <= 0 ? size : size % 3 === 0 ? level : size % 11 === 0 ? level + 1 : Math.min(size, level)
      price = size % 2 === 0 ? price : Number.NaN // a trade's price is ignored, whatever it holds
    }
    let tx: Tx = { id: i + 1, tsNs: 1_000 * i, price, size, symbol, side, kind }
    switch (op.bad) {
      case 0: tx = { ...tx, price: 0 }; break
      case 1: tx = { ...tx, price: price + 0.5 }; break
      case 2: tx = { ...tx, size: 0 }; break
      case 3: tx = { ...tx, size: size + 0.25 }; break
      case 4: tx = { ...tx, size: 2 ** 53 }; break
      case 5: tx = { ...tx, symbol: SYMBOLS }; break
      case 6: tx = { ...tx, side: 2 }; break
      case 7: tx = { ...tx, kind: 3 + (size % 100) }; break
      case 8: tx = { ...tx, size: Number.NaN }; break
      default:
    }
    txs.push(tx)
    expected.push(model.apply(tx))
  })
  return { txs, expected }
}

const int = (minimum: number, maximum: number) => Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum, maximum })))

const OP_RANGES: FlowOpRanges = { kind: [0, 15], symbol: [0, SYMBOLS - 1], side: [0, 1], offset: [0, 12], size: [1, 60], walk: [-3, 3], bad: [0, 140] }
const arbitraryOp = arbitraryFlowOp(OP_RANGES)

const split = <A>(items: ReadonlyArray<A>, lengths: ReadonlyArray<number>): Array<Array<A>> => {
  const batches: Array<Array<A>> = []
  for (let at = 0, b = 0; at < items.length; b++) {
    const n = lengths[b % lengths.length]!
    batches.push(items.slice(at, at + n))
    at += n
  }
  return batches
}

// -------------------------------------------------------------------------------------------------

/** The most ops one generated flow holds: no side can end with more levels. */
const MAX_OPS = 400

describe("OrderBookStage against a sorted-map model", () => {
  it.prop(
    "random order flow in random batches: every update (level size, best bid, best ask) and every dead letter agrees",
    {
      windowTicks: Arbitrary.schema(Schema.Literals([32, 64, 4096])),
      ops: Arbitrary.array(arbitraryOp, { maxLength: MAX_OPS }),
      lengths: Arbitrary.array(int(1, 50), { minLength: 1, maxLength: 8 })
    },
    ({ lengths, ops, windowTicks }) => {
      const config = { symbols: SYMBOLS, windowTicks, maxTick: 1_000_000 }
      const model = new SortedMapBooks(SYMBOLS, 1_000_000)
      const { expected, txs } = planFlow(ops, model)
      const { logic, outcomes } = runInProcess(config, txs, lengths)
      assertOutcomes(outcomes, expected, `(window ${windowTicks})`)
      // And the books end where the model ends: every level of every symbol, through the snapshot. The
      // book is exact beyond its window, so a side may hold more levels than `windowTicks`: read them
      // all (at most one per op).
      for (let s = 0; s < SYMBOLS; s++) {
        assert.deepStrictEqual(
          logic.snapshot(s, MAX_OPS),
          { symbol: s, bids: model.levels(s, BID), asks: model.levels(s, ASK) },
          `levels of symbol ${s}`
        )
      }
    },
    { arbitrary: { runs: 150, size: 400 } }
  )

  for (const placement of ["fused", "worker"] as const) {
    it.live(`20,000 seeded transactions through a real pipeline, ${placement}: the captured updates and dead letters are the model's`, () =>
      Effect.gen(function*() {
        const windowTicks = 64
        const model = new SortedMapBooks(SYMBOLS, 1_000_000)
        const { expected, txs } = planFlow(seededFlowOps(placement === "fused" ? 7 : 11, 20_000, OP_RANGES), model)
        const { deadLetters, updates } = yield* runPipeline(
          { symbols: SYMBOLS, windowTicks, maxTick: 1_000_000 },
          split(txs, [1, 300, 17, 1_000, 64]),
          placement
        )
        const wantUpdates = expected.flatMap((o) => ("update" in o ? [o.update] : []))
        const wantDead = expected.flatMap((o) => ("error" in o ? [o] : []))
        assert.isAbove(wantUpdates.length, 12_000) // most of the flow is applied
        assert.isAbove(wantDead.length, 500)
        assert.strictEqual(updates.length, wantUpdates.length)
        assert.strictEqual(deadLetters.length, wantDead.length)
        assertOutcomes(outcomesOf(txs, updates, deadLetters), expected, `(${placement})`)
        // Every error the stage declares showed up, under its own tag.
        const tags = new Set(deadLetters.map((d) => d.error))
        for (const tag of OrderBookStage.errors) assert.isTrue(tags.has(tag), `a ${tag} dead letter`)
      }).pipe(Effect.provide(NodeStageHost.layer)))
  }
})

// -------------------------------------------------------------------------------------------------

const MID = 10_000

/** Realistic transactions for the contract kit: near one mid, small cancels (so some hit a level), one in four invalid. */
const arbitraryTransaction: Arbitrary.Arbitrary<Tx> = Arbitrary.map(
  Arbitrary.all({
    id: int(0, 1_000_000),
    tsNs: int(0, 1_000_000_000),
    symbol: int(0, SYMBOLS - 1),
    side: int(0, 1),
    kind: int(0, 9),
    offset: int(0, 6),
    size: int(1, 40),
    bad: int(0, 35)
  }),
  (r): Tx => {
    const kind = r.kind < 5 ? ADD : r.kind < 8 ? CANCEL : TRADE
    const price = r.side === BID ? MID - r.offset : MID + 1 + r.offset
    const size = kind === ADD ? r.size : 1 + (r.size % 4)
    const tx: Tx = { id: r.id, tsNs: r.tsNs, price, size, symbol: r.symbol, side: r.side, kind }
    switch (r.bad) {
      case 0: return { ...tx, price: 0 }
      case 1: return { ...tx, price: MID + 100_000 } // far from the touch: kept, beyond the ladder
      case 2: return { ...tx, price: price + 0.5 }
      case 3: return { ...tx, size: 0.5 }
      case 4: return { ...tx, size: 2 ** 53 }
      case 5: return { ...tx, size: -3 }
      case 6: return { ...tx, symbol: SYMBOLS + r.offset }
      case 7: return { ...tx, side: 2 + r.offset }
      case 8: return { ...tx, kind: 3 + r.offset }
      default: return tx
    }
  }
)

const transactionBatches = StageContract.arbitraryBatches(arbitraryTransaction, { maxBatches: 12, maxBatchLength: 40 })

describe("OrderBookStage keeps the stage contract", () => {
  it.live("in-process (conservation, drain, determinism, bounded memory), fused and in a worker", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.check(OrderBookStage, {
        config: { symbols: SYMBOLS, windowTicks: 64 },
        inputs: transactionBatches,
        runs: 100,
        placementRuns: 3
      })
      assert.deepStrictEqual(report.laws, ["Conservation", "Drain", "Determinism", "BoundedMemory", "PlacementIndependence"])
      assert.strictEqual(report.runs, 100)
      assert.strictEqual(report.placementRuns, 3)
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it.effect("in-process on arbitrary bit patterns (NaN prices, huge symbols and kinds): nothing throws, nothing is lost", () =>
    Effect.gen(function*() {
      const report = yield* StageContract.checkInProcess(OrderBookStage, {
        config: { symbols: 2, windowTicks: 32, depth: 1 },
        inputs: StageContract.arbitraryBatches(StageContract.arbitraryRecords(Transaction), { maxBatches: 8, maxBatchLength: 30 }),
        runs: 100
      })
      assert.strictEqual(report.runs, 100)
    }))
})

// -------------------------------------------------------------------------------------------------

const tx = (id: number, kind: number, side: number, price: number, size: number, symbol = 0): Tx => ({
  id,
  tsNs: 1_000 * id,
  price,
  size,
  symbol,
  side,
  kind
})

describe("OrderBookStage dead letters: a refused transaction is dead-lettered under its reason and the stage goes on", () => {
  it("the first six error codes are the kernel's reasons, in kernel-code order", () => {
    const codes = [
      OrderBook.PRICE_OUT_OF_RANGE,
      OrderBook.INVALID_SIZE,
      OrderBook.SIZE_OVERFLOW,
      OrderBook.CANCEL_EXCEEDS_LEVEL,
      OrderBook.UNKNOWN_SYMBOL,
      OrderBook.INVALID_SIDE
    ]
    for (const code of codes) assert.strictEqual(OrderBookStage.errors[-code - 1], OrderBook.reasonOf(code))
    assert.deepStrictEqual(OrderBookStage.errors.slice(6), ["BadKind"])
  })

  const cases: ReadonlyArray<readonly [string, Tx]> = [
    ["PriceOutOfRange", tx(10, ADD, BID, 0, 5)],
    ["PriceOutOfRange", tx(11, CANCEL, BID, 10_000.5, 5)],
    ["PriceOutOfRange", tx(12, CANCEL, ASK, -3, 5)],
    ["PriceOutOfRange", tx(13, ADD, ASK, 2_000_001, 5)], // past maxTick
    ["InvalidSize", tx(14, ADD, BID, 10_000, 0)],
    ["InvalidSize", tx(15, ADD, BID, 10_000, 2.5)],
    ["InvalidSize", tx(16, TRADE, ASK, 0, Number.NaN)],
    ["SizeOverflow", tx(17, ADD, BID, 10_000, 2 ** 53)],
    ["SizeOverflow", tx(18, ADD, BID, 10_000, Number.MAX_SAFE_INTEGER - 50)], // the level holds 100
    ["CancelExceedsLevel", tx(19, CANCEL, BID, 10_000, 101)],
    ["CancelExceedsLevel", tx(20, CANCEL, BID, 9_999, 1)], // nothing rests there
    ["CancelExceedsLevel", tx(21, TRADE, ASK, 10_010, 31)], // the best ask holds 30
    ["CancelExceedsLevel", tx(22, TRADE, BID, 10_000, 1, 1)], // symbol 1 has no bids
    ["UnknownSymbol", tx(23, ADD, BID, 10_000, 1, 2)],
    ["UnknownSymbol", tx(24, TRADE, BID, 10_000, 1, 4_000_000_000)],
    ["InvalidSide", tx(25, ADD, 2, 10_000, 1)],
    ["InvalidSide", tx(26, CANCEL, 65_535, 10_000, 1)],
    ["BadKind", tx(27, 3, BID, 10_000, 1)],
    ["BadKind", tx(28, 65_535, BID, 10_000, 1)]
  ]
  const config = { symbols: 2, windowTicks: 64, maxTick: 2_000_000 }
  // Two resting levels first, each bad transaction, then a good one that shows the book was untouched.
  const script = [
    tx(1, ADD, BID, 10_000, 100),
    tx(2, ADD, ASK, 10_003, 30),
    ...cases.map(([, t]) => t),
    tx(99, ADD, BID, 10_000, 1)
  ]
  const expectAll = (outcomes: ReadonlyArray<Outcome>) => {
    assert.strictEqual(outcomes.length, script.length)
    cases.forEach(([reason, t], i) => assert.deepStrictEqual(outcomes[i + 2], { error: reason, record: t }, `${reason} for tx ${t.id}`))
    const last = outcomes[outcomes.length - 1]!
    assert.isTrue("update" in last)
    if ("update" in last) {
      assert.deepStrictEqual(last.update, {
        txId: 99,
        tsNs: 99_000,
        price: 10_000,
        levelSize: 101,
        bestBid: 10_000,
        bestAsk: 10_003,
        symbol: 0,
        side: BID,
        kind: ADD
      })
    }
  }

  it("in-process, record by record", () => {
    const { logic, outcomes } = runInProcess(config, script, [1])
    expectAll(outcomes)
    assert.deepStrictEqual(logic.snapshot(0), { symbol: 0, bids: [[10_000, 101]], asks: [[10_003, 30]] })
  })

  it("in-process, in one batch, agrees with the model", () => {
    const model = new SortedMapBooks(2, 2_000_000)
    const expected = script.map((t) => model.apply(t))
    expectAll(expected)
    assertOutcomes(runInProcess(config, script, [script.length]).outcomes, expected, "(one batch)")
  })

  it.live("through a real pipeline: RecordFailed dead letters carry the declared tag and the record; the ledger balances", () =>
    Effect.gen(function*() {
      const { deadLetters, line, updates } = yield* runPipeline(config, [script.slice(0, 7), script.slice(7)], "fused")
      expectAll(outcomesOf(script, updates, deadLetters))
      for (const d of deadLetters) {
        assert.strictEqual(d._tag, "RecordFailed")
        assert.strictEqual(d.stage, "order-book")
        assert.strictEqual(OrderBookStage.errors[d.code], d.error)
      }
      assert.strictEqual(line.emitted, 3)
      assert.deepStrictEqual(line.deadLettered, {
        PriceOutOfRange: 4,
        InvalidSize: 3,
        SizeOverflow: 2,
        CancelExceedsLevel: 4,
        UnknownSymbol: 2,
        InvalidSide: 2,
        BadKind: 2
      })
    }).pipe(Effect.provide(NodeStageHost.layer)))
})

// -------------------------------------------------------------------------------------------------

describe("OrderBookStage updates", () => {
  it("a trade ignores its price field: it executes at the best level, and the update says where", () => {
    const { outcomes } = runInProcess({ symbols: 1 }, [
      tx(1, ADD, ASK, 10_007, 30),
      tx(2, ADD, ASK, 10_009, 20),
      tx(3, TRADE, ASK, Number.NaN, 30), // empties 10_007
      tx(4, TRADE, ASK, 1, 5) // a price far from the book changes nothing either
    ])
    assert.deepStrictEqual(outcomes.slice(2), [
      { update: { txId: 3, tsNs: 3_000, price: 10_007, levelSize: 0, bestBid: 0, bestAsk: 10_009, symbol: 0, side: ASK, kind: TRADE } },
      { update: { txId: 4, tsNs: 4_000, price: 10_009, levelSize: 15, bestBid: 0, bestAsk: 10_009, symbol: 0, side: ASK, kind: TRADE } }
    ])
  })

  it("symbols are independent books", () => {
    const { logic, outcomes } = runInProcess({ symbols: 3 }, [
      tx(1, ADD, BID, 500, 1, 0),
      tx(2, ADD, BID, 900_000, 2, 2),
      tx(3, ADD, ASK, 501, 3, 1)
    ])
    assert.deepStrictEqual(
      outcomes.map((o) => ("update" in o ? [o.update.symbol, o.update.bestBid, o.update.bestAsk] : o.error)),
      [[0, 500, 0], [2, 900_000, 0], [1, 0, 501]]
    )
    assert.deepStrictEqual(logic.snapshot(1), { symbol: 1, bids: [], asks: [[501, 3]] })
  })
})

describe("what the bucketed book got wrong, end to end through the stage", () => {
  it.live("two bids in one 16-tick bucket: exact best bid and level sizes; a cancel touches only its own price", () =>
    Effect.gen(function*() {
      const script = [
        tx(1, ADD, BID, 10_000, 100),
        tx(2, ADD, BID, 10_005, 50), // same 16-tick bucket as 10_000 (10_000 >> 4 === 10_005 >> 4)
        tx(3, ADD, ASK, 10_007, 30),
        tx(4, CANCEL, BID, 10_005, 50), // empties 10_005 only
        tx(5, CANCEL, BID, 10_005, 100), // nothing rests at 10_005: refused, 10_000 keeps its 100
        tx(6, ADD, BID, 10_001, 1)
      ]
      const bucketed = new BucketedBook()
      bucketed.add(BID, 10_000, 100)
      bucketed.add(BID, 10_005, 50)
      bucketed.add(ASK, 10_007, 30)
      assert.strictEqual(bucketed.best(BID), 10_000) // wrong: the best bid is 10_005
      assert.strictEqual(bucketed.best(ASK), 10_000) // wrong, and the book looks crossed
      assert.strictEqual(bucketed.levelSize(BID, 10_005), 150) // wrong: 50 rest there
      bucketed.cancel(BID, 10_005, 50)
      bucketed.cancel(BID, 10_005, 100)
      assert.strictEqual(bucketed.levelSize(BID, 10_000), 0) // the 100 at 10_000 is gone
      assert.strictEqual(bucketed.best(BID), 0) // and so is the bid side

      const { deadLetters, updates } = yield* runPipeline({ symbols: 1 }, [script], "fused")
      const top = updates.map((u) => [u.txId, u.price, u.levelSize, u.bestBid, u.bestAsk])
      assert.deepStrictEqual(top, [
        [1, 10_000, 100, 10_000, 0],
        [2, 10_005, 50, 10_005, 0], // exact best bid, exact level
        [3, 10_007, 30, 10_005, 10_007], // not crossed
        [4, 10_005, 0, 10_000, 10_007], // the cancel emptied 10_005 only: the best bid falls back to 10_000
        [6, 10_001, 1, 10_001, 10_007]
      ])
      assert.deepStrictEqual(deadLetters.map((d) => [d.error, d.record.id]), [["CancelExceedsLevel", 5]])

      // The same flow in-process, and the depth snapshot after it: 10_000 still holds its 100.
      const { logic } = runInProcess({ symbols: 1 }, script)
      assert.deepStrictEqual(bookSnapshot(logic.book, 0, 5), {
        symbol: 0,
        bids: [[10_001, 1], [10_000, 100]],
        asks: [[10_007, 30]]
      })
    }).pipe(Effect.provide(NodeStageHost.layer)))
})

// -------------------------------------------------------------------------------------------------

describe("OrderBookStage snapshots and config", () => {
  it("bookSnapshot returns the top n levels of each side, best first; logic.snapshot uses the config's depth", () => {
    const { logic } = runInProcess({ symbols: 2, depth: 2 }, [
      tx(1, ADD, BID, 100, 1),
      tx(2, ADD, BID, 103, 2),
      tx(3, ADD, BID, 101, 3),
      tx(4, ADD, ASK, 110, 4),
      tx(5, ADD, ASK, 108, 5),
      tx(6, ADD, ASK, 120, 6)
    ])
    assert.deepStrictEqual(logic.snapshot(0), { symbol: 0, bids: [[103, 2], [101, 3]], asks: [[108, 5], [110, 4]] })
    assert.deepStrictEqual(bookSnapshot(logic.book, 0, 10), {
      symbol: 0,
      bids: [[103, 2], [101, 3], [100, 1]],
      asks: [[108, 5], [110, 4], [120, 6]]
    })
    assert.deepStrictEqual(bookSnapshot(logic.book, 0, 0), { symbol: 0, bids: [], asks: [] })
    assert.deepStrictEqual(bookSnapshot(logic.book, 1, 3), { symbol: 1, bids: [], asks: [] })
    // A snapshot is a plain value of its Schema (JSON-friendly for the control plane).
    const encoded = Schema.encodeSync(Schema.fromJsonString(BookSnapshot))(logic.snapshot(0))
    assert.deepStrictEqual(JSON.parse(encoded), { symbol: 0, bids: [[103, 2], [101, 3]], asks: [[108, 5], [110, 4]] })
    assert.throws(() => bookSnapshot(logic.book, 2, 5), RangeError, "symbol=2")
    assert.throws(() => bookSnapshot(logic.book, 0, -1), RangeError, "n=-1")
    assert.throws(() => bookSnapshot(logic.book, 0, 1.5), RangeError, "n=1.5")
  })

  it("the config is validated, with messages that name the value and the rule", () => {
    const decode = Schema.decodeUnknownSync(OrderBookStage.config)
    assert.deepStrictEqual(decode({ symbols: 4 }), { symbols: 4 })
    assert.deepStrictEqual(decode({ symbols: 4, windowTicks: 64, maxTick: 100, depth: 10 }), {
      symbols: 4,
      windowTicks: 64,
      maxTick: 100,
      depth: 10
    })
    const rejects = (config: unknown, text: string) => assert.throws(() => decode(config), text)
    rejects({ symbols: 0 }, "symbols must be an integer in 1..16777216, got 0")
    rejects({ symbols: 2.5 }, "got 2.5")
    rejects({}, "symbols")
    rejects({ symbols: 1, windowTicks: 4_100 }, "windowTicks must be a power of two in 32..16777216, got 4100")
    rejects({ symbols: 1, windowTicks: 16 }, "got 16")
    rejects({ symbols: 1, maxTick: 0 }, "maxTick must be an integer in 1..2147483647, got 0")
    rejects({ symbols: 1, maxTick: 2 ** 31 }, "got 2147483648")
    rejects({ symbols: 1, depth: 0 }, "depth must be an integer in 1..16777216, got 0")
    rejects({ symbols: (1 << 24) + 1 }, "symbols must be an integer in 1..16777216, got 16777217")
    // No slot limit: ladders are pooled per side with levels, not allocated per symbol × window.
    assert.deepStrictEqual(decode({ symbols: 1 << 20, windowTicks: 4_096 }), { symbols: 1 << 20, windowTicks: 4_096 })
    // Reserving every side's ladder is bounded by the pool's 2^31 slots.
    assert.deepStrictEqual(decode({ symbols: 1 << 20, windowTicks: 1_024, reserveLadders: true }), {
      symbols: 1 << 20,
      windowTicks: 1_024,
      reserveLadders: true
    })
    rejects({ symbols: 1 << 20, windowTicks: 2_048, reserveLadders: true }, "reserveLadders needs 2 × symbols × windowTicks ≤ 2^31, got 4294967296")
    rejects({ symbols: (1 << 23) + 1, reserveLadders: true }, "got 2147483904") // at the default 128-tick window
  })

  it.live("a bad config fails the run with PipelineConfigError before any thread starts", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(runPipeline({ symbols: 1, windowTicks: 100 }, [[tx(1, ADD, BID, 1, 1)]], "fused"))
      assert.strictEqual(error._tag, "PipelineConfigError")
      assert.include(error.message, "got 100")
    }).pipe(Effect.provide(NodeStageHost.layer)))

  it("@velox/market exports the definition, its snapshot function and Schema", () => {
    assert.strictEqual(OrderBookStage._tag, "StageDefinition")
    assert.strictEqual(OrderBookStage.name, "order-book")
    assert.match(new URL(OrderBookStage.module).pathname, /market\/src\/OrderBookStage\.ts$/)
    assert.strictEqual(OrderBookStage.maxRetained({ symbols: 1 }), 0)
    assert.isTrue(Schema.is(BookSnapshot)({ symbol: 0, bids: [[1, 2]], asks: [] }))
  })
})
