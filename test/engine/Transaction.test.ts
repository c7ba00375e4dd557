import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, Schema } from "effect"
import { RecordLayout } from "@velox/core"
import { Bundle, Transaction } from "@velox/market"

const { Kind, Side } = Transaction

const valid: Transaction.TransactionRecord = {
  id: 41,
  tsNs: 1_000_000,
  price: 10_001,
  size: 25,
  symbol: 3,
  side: Side.Ask,
  kind: Kind.Add
}
const options = { symbols: 8 }

/** One invalid transaction per reason, each with exactly that defect. */
const cases: ReadonlyArray<readonly [Transaction.Reason, Partial<Transaction.TransactionRecord>, string]> = [
  ["BadSide", { side: 2 }, "side=2 is neither Bid (0) nor Ask (1)"],
  ["BadKind", { kind: 7 }, "kind=7 is none of Add (0), Cancel (1), Trade (2)"],
  ["NonPositivePrice", { price: 0 }, "price=0 is not positive"],
  ["NonPositivePrice", { price: -5 }, "price=-5 is not positive"],
  ["NonFinitePrice", { price: NaN }, "price=NaN is not finite"],
  ["NonFinitePrice", { price: Infinity }, "price=Infinity is not finite"],
  ["NonIntegerPrice", { price: 100.5 }, "price=100.5 is not a whole number of ticks"],
  ["NonPositiveSize", { size: 0 }, "size=0 is not positive"],
  ["NonFiniteSize", { size: -Infinity }, "size=-Infinity is not finite"],
  ["NonIntegerSize", { size: 0.25 }, "size=0.25 is not a whole number of lots"],
  ["SymbolOutOfRange", { symbol: 8 }, "symbol=8 is not an index in 0..7"],
  ["SymbolOutOfRange", { symbol: 1.5 }, "symbol=1.5 is not an index in 0..7"],
  ["Overflow", { price: 2 ** 53 + 2 }, "price=9007199254740994 is past Number.MAX_SAFE_INTEGER"],
  ["Overflow", { size: 1e300 }, "size=1e+300 is past Number.MAX_SAFE_INTEGER"],
  ["Overflow", { id: 2 ** 60 }, "id=1152921504606847000 is past Number.MAX_SAFE_INTEGER"],
  ["BadId", { id: -1 }, "id=-1 is not a non-negative integer"],
  ["BadId", { id: NaN }, "id=NaN is not a non-negative integer"],
  ["BadTimestamp", { tsNs: -1 }, "tsNs=-1 is not a finite non-negative number of nanoseconds"],
  ["BadTimestamp", { tsNs: NaN }, "tsNs=NaN is not a finite non-negative number of nanoseconds"]
]

describe("Transaction", () => {
  it.effect("make returns a valid transaction with only the layout's fields", () =>
    Effect.gen(function*() {
      const t = yield* Transaction.make({ ...valid, extra: 1 } as Transaction.TransactionRecord, options)
      assert.deepStrictEqual(t, valid)
    }))

  it.effect("make fails with a TransactionError for every reason, naming the values", () =>
    Effect.gen(function*() {
      for (const [reason, defect, detail] of cases) {
        const fields = { ...valid, ...defect }
        const error = yield* Effect.flip(Transaction.make(fields, options))
        assert.strictEqual(error._tag, "TransactionError")
        assert.strictEqual(error.reason, reason, JSON.stringify(defect))
        assert.include(error.message, detail)
        assert.strictEqual(error.symbols, 8)
        for (const key of Object.keys(valid) as Array<keyof Transaction.TransactionRecord>) {
          assert.isTrue(Object.is(error[key], fields[key]), `${key}: ${error[key]} vs ${fields[key]}`)
        }
      }
    }))

  it("every reason is covered and maps to a distinct code, error index and name", () => {
    const covered = new Set(cases.map(([reason]) => reason))
    assert.deepStrictEqual([...covered].sort(), [...Transaction.reasons].sort())
    Transaction.reasons.forEach((reason, index) => {
      const code = -index - 1
      assert.strictEqual(Transaction.reasonOf(code), reason)
      assert.strictEqual(Transaction.deadLetterCode(code), index)
    })
    assert.strictEqual(Transaction.reasonOf(Transaction.OK), undefined)
    assert.strictEqual(Transaction.fromCode(Transaction.OK, valid, options), undefined)
  })

  it("the kernel validator reads a record in a ring slot and returns the reason's code", () => {
    const view = RecordLayout.view(Transaction.Transaction, new ArrayBuffer(40 * 3), 0, 3)
    RecordLayout.writeUnsafe(view, 1, valid)
    assert.strictEqual(Transaction.validateUnsafe(view, 1, 8), Transaction.OK)
    assert.strictEqual(Transaction.validateUnsafe(view, 1, 3), Transaction.SYMBOL_OUT_OF_RANGE)
    // The u16/u32 fields of a view hold only integers in range; the f64 fields hold anything.
    const inView: ReadonlyArray<readonly [Partial<Transaction.TransactionRecord>, number]> = [
      [{ side: 65535 }, Transaction.BAD_SIDE],
      [{ kind: 3 }, Transaction.BAD_KIND],
      [{ price: 0 }, Transaction.NON_POSITIVE_PRICE],
      [{ price: NaN }, Transaction.NON_FINITE_PRICE],
      [{ price: 1.5 }, Transaction.NON_INTEGER_PRICE],
      [{ size: -1 }, Transaction.NON_POSITIVE_SIZE],
      [{ size: Infinity }, Transaction.NON_FINITE_SIZE],
      [{ size: 2.5 }, Transaction.NON_INTEGER_SIZE],
      [{ symbol: 0xffffffff }, Transaction.SYMBOL_OUT_OF_RANGE],
      [{ size: 2 ** 54 }, Transaction.OVERFLOW],
      [{ id: 0.5 }, Transaction.BAD_ID],
      [{ tsNs: -Infinity }, Transaction.BAD_TIMESTAMP]
    ]
    for (const [defect, code] of inView) {
      RecordLayout.writeUnsafe(view, 2, { ...valid, ...defect })
      assert.strictEqual(Transaction.validateUnsafe(view, 2, 8), code, JSON.stringify(defect))
    }
  })

  it("checks in a fixed order: side, kind, symbol, price, size, id, timestamp", () => {
    const all = { id: -1, tsNs: NaN, price: 0, size: 0, symbol: 99, side: 5, kind: 5 }
    const order: Array<Transaction.Reason> = []
    let t: Transaction.TransactionRecord = all
    const fixes: Array<Partial<Transaction.TransactionRecord>> = [
      { side: 0 },
      { kind: 0 },
      { symbol: 0 },
      { price: 1 },
      { size: 1 },
      { id: 0 },
      { tsNs: 0 }
    ]
    for (const fix of fixes) {
      order.push(Transaction.reasonOf(Transaction.validateRecordUnsafe(t, 8))!)
      t = { ...t, ...fix }
    }
    assert.deepStrictEqual(order, ["BadSide", "BadKind", "SymbolOutOfRange", "NonPositivePrice", "NonPositiveSize", "BadId", "BadTimestamp"])
    assert.strictEqual(Transaction.validateRecordUnsafe(t, 8), Transaction.OK)
  })

  it.prop(
    "the view validator agrees with the record validator on any record the layout holds",
    [Arbitrary.schema(RecordLayout.schema(Transaction.Transaction)), Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 70_000 })))],
    ([record, symbols]) => {
      const view = RecordLayout.view(Transaction.Transaction, new ArrayBuffer(40), 0, 1)
      RecordLayout.writeUnsafe(view, 0, record)
      assert.strictEqual(Transaction.validateUnsafe(view, 0, symbols), Transaction.validateRecordUnsafe(record, symbols))
    }
  )

  it("the schema decodes valid transactions and refuses invalid ones with the error's message", () => {
    const decode = Schema.decodeUnknownExit(Transaction.schema(options))
    const layoutOnly = Schema.decodeUnknownExit(RecordLayout.schema(Transaction.Transaction))
    assert.isTrue(Exit.isSuccess(decode(valid)))
    for (const [, defect, detail] of cases) {
      const exit = decode({ ...valid, ...defect })
      assert.isTrue(Exit.isFailure(exit), JSON.stringify(defect))
      // Where the layout's Schema accepts the record, the domain check's message is the error's.
      if (Exit.isFailure(exit) && Exit.isSuccess(layoutOnly({ ...valid, ...defect }))) {
        assert.include(String(exit.cause), detail)
      }
    }
    // The layout's own ranges come first: a side past u16 is refused by the layout's Schema.
    assert.isTrue(Exit.isFailure(decode({ ...valid, side: 70_000 })))
  })

  it("makeUnsafe throws the same TransactionError", () => {
    assert.deepStrictEqual(Transaction.makeUnsafe(valid, options), valid)
    assert.throws(() => Transaction.makeUnsafe({ ...valid, price: -1 }, options), /price=-1 is not positive/)
  })
})

describe("Bundle", () => {
  const bundle: Bundle.BundleRecord = { id: 4, firstTxId: 100, lastTxId: 115, openNs: 10, closeNs: 20, count: 16, reason: Bundle.FlushReason.Size }

  it.effect("make accepts a bundle of 1..maxCount transactions", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Bundle.make(bundle, { maxCount: 16 }), bundle)
      assert.strictEqual((yield* Bundle.make({ ...bundle, count: 1 }, { maxCount: 16 })).count, 1)
      assert.strictEqual((yield* Bundle.make({ ...bundle, count: Bundle.MAX_COUNT })).count, Bundle.MAX_COUNT)
    }))

  it.effect("make fails with a BundleError for a count outside 1..max, a bad reason, ids out of order", () =>
    Effect.gen(function*() {
      const bad: ReadonlyArray<readonly [Partial<Bundle.BundleRecord>, Bundle.Reason, string]> = [
        [{ count: 0 }, "CountOutOfRange", "count=0 is outside 1..16 (bundle id=4)"],
        [{ count: 17 }, "CountOutOfRange", "count=17 is outside 1..16"],
        [{ count: 2.5 }, "CountOutOfRange", "count=2.5 is outside 1..16"],
        [{ reason: 3 }, "BadFlushReason", "reason=3 is none of Size (0), Timeout (1), Drain (2)"],
        [{ lastTxId: 99 }, "TxIdsOutOfOrder", "lastTxId=99 is below firstTxId=100"]
      ]
      for (const [defect, reason, message] of bad) {
        const error = yield* Effect.flip(Bundle.make({ ...bundle, ...defect }, { maxCount: 16 }))
        assert.strictEqual(error._tag, "BundleError")
        assert.strictEqual(error.reason, reason)
        assert.include(error.message, message)
        assert.strictEqual(error.maxCount, 16)
      }
    }))

  it("the kernel validator reads a bundle in a ring slot", () => {
    const view = RecordLayout.view(Bundle.Bundle, new ArrayBuffer(48), 0, 1)
    RecordLayout.writeUnsafe(view, 0, bundle)
    assert.strictEqual(Bundle.validateUnsafe(view, 0, 16), Bundle.OK)
    assert.strictEqual(Bundle.validateUnsafe(view, 0, 15), Bundle.COUNT_OUT_OF_RANGE)
    RecordLayout.writeUnsafe(view, 0, { ...bundle, count: 0 })
    assert.strictEqual(Bundle.validateUnsafe(view, 0, 16), Bundle.COUNT_OUT_OF_RANGE)
    RecordLayout.writeUnsafe(view, 0, { ...bundle, reason: 9 })
    assert.strictEqual(Bundle.validateUnsafe(view, 0, 16), Bundle.BAD_FLUSH_REASON)
    Bundle.reasons.forEach((reason, index) => assert.strictEqual(Bundle.reasonOf(-index - 1), reason))
  })
})
