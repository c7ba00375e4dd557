/**
 * The ingress driven by hand: `make(config).onPoll(nowNs, max, out)` with synthetic `nowNs` values
 * and a capturing emitter. No wall clock decides anything here.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Stage } from "@velox/core"
import { OrderBook, Transaction } from "@velox/market"
import { BAND_TICKS, INVALID_VARIANTS, makeLogic, OrderFlow } from "../../packages/market/src/Ingress.ts"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"

type Tx = Transaction.TransactionRecord
type Logic = Stage.SourceLogic<typeof Transaction.Transaction.spec>

/** Polls `logic` at `nowNs` until it has nothing more due (or is exhausted), `max` at a time. */
const pollAll = (logic: Logic, out: CaptureEmitter<typeof Transaction.Transaction.spec>, nowNs: number, max = 4096): Array<Tx> => {
  const got: Array<Tx> = []
  for (;;) {
    const n = logic.onPoll(nowNs, max, out)
    got.push(...out.take())
    if (n <= 0 || n < max) return got
  }
}

/** Only the arrival times, read straight from the view (large runs). */
const arrivalTimes = (logic: Logic, pollsNs: ReadonlyArray<number>, max = 65_536): Array<number> => {
  const out = new CaptureEmitter(Transaction.Transaction, max)
  const ts: Array<number> = []
  for (const nowNs of pollsNs) {
    for (;;) {
      const n = logic.onPoll(nowNs, max, out)
      for (let i = 0; i < Math.max(n, 0); i++) ts.push(out.view.fields.tsNs.get(i))
      out.take().length // reset
      if (n < max) break
    }
  }
  return ts
}

const unthrottled = (config: Parameters<typeof makeLogic>[0], total: number, max = 4096): Array<Tx> => {
  const logic = makeLogic({ ...config, unthrottled: true })
  const out = new CaptureEmitter(Transaction.Transaction, max)
  const got: Array<Tx> = []
  while (got.length < total) {
    const n = logic.onPoll(got.length, Math.min(max, total - got.length), out)
    assert.isAbove(n, 0)
    got.push(...out.take())
  }
  return got
}

const withoutTime = (txs: ReadonlyArray<Tx>) => txs.map(({ tsNs: _, ...rest }) => rest)

describe("Ingress: determinism", () => {
  it("the same seed and poll times give the same transactions, bit for bit; another seed does not", () => {
    const run = (seed: number) => {
      const logic = makeLogic({ seed, rate: 1_000_000, symbols: 4 })
      const out = new CaptureEmitter(Transaction.Transaction)
      const got: Array<Tx> = []
      for (let t = 0; t <= 20_000_000; t += 1_000_000) got.push(...pollAll(logic, out, t))
      return got
    }
    const a = run(7)
    const b = run(7)
    assert.isAbove(a.length, 15_000)
    assert.deepStrictEqual(a, b)
    assert.notDeepEqual(withoutTime(run(8)).slice(0, 100), withoutTime(a).slice(0, 100))
  })

  it("the transactions do not depend on how polls split them, nor on throttling", () => {
    const whole = unthrottled({ seed: 3, symbols: 5 }, 20_000, 20_000)
    const bits = unthrottled({ seed: 3, symbols: 5 }, 20_000, 7)
    assert.deepStrictEqual(withoutTime(bits), withoutTime(whole))
    const logic = makeLogic({ seed: 3, symbols: 5, rate: 2_000_000 })
    const out = new CaptureEmitter(Transaction.Transaction)
    const throttled: Array<Tx> = []
    for (let t = 0; throttled.length < 20_000; t += 250_000) throttled.push(...pollAll(logic, out, t, 333))
    assert.deepStrictEqual(withoutTime(throttled.slice(0, 20_000)), withoutTime(whole))
  })

  it("the arrival schedule does not depend on when the polls come: fine or coarse polling, same times", () => {
    const fine = arrivalTimes(makeLogic({ seed: 11 }), Array.from({ length: 10_001 }, (_, i) => i * 10_000))
    const coarse = arrivalTimes(makeLogic({ seed: 11 }), [0, 1_000_000, 33_000_000, 99_000_000, 100_000_000])
    assert.deepStrictEqual(coarse, fine)
  })
})

describe("Ingress: Poisson arrivals on synthetic time", () => {
  for (const rate of [1_000, 100_000, 1_000_000]) {
    it(`at ${rate}/s: the count in a second, the mean and spread of the gaps, and the tail are a Poisson process's`, () => {
      for (const seed of [1, 2, 3]) {
        const ts = arrivalTimes(makeLogic({ seed, rate }), [0, 1e9])
        const n = ts.length
        // Count: mean `rate`, standard deviation √rate; allow 4.5σ.
        assert.isBelow(Math.abs(n - rate), 4.5 * Math.sqrt(rate), `seed ${seed}: ${n} arrivals`)
        if (rate < 100_000) continue
        const gaps: Array<number> = []
        for (let i = 1; i < n; i++) gaps.push(ts[i]! - ts[i - 1]!)
        const meanNs = 1e9 / rate
        const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length
        const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length)
        // Exponential gaps: standard deviation = mean; P(gap > mean) = 1/e.
        assert.isBelow(Math.abs(mean / meanNs - 1), 0.02, `mean gap ${mean}`)
        assert.isBelow(Math.abs(sd / mean - 1), 0.03, `coefficient of variation ${sd / mean}`)
        const tail = gaps.filter((g) => g > meanNs).length / gaps.length
        assert.isBelow(Math.abs(tail - Math.exp(-1)), 0.01, `P(gap > mean) = ${tail}`)
        // Counts per 100 gaps-worth window: variance ≈ mean (dispersion index 1).
        const windowNs = 100 * meanNs
        const counts = new Array<number>(Math.floor(1e9 / windowNs)).fill(0)
        for (const t of ts) {
          const w = Math.floor(t / windowNs)
          if (w < counts.length) counts[w]!++
        }
        const cm = counts.reduce((a, b) => a + b, 0) / counts.length
        const cv = counts.reduce((a, c) => a + (c - cm) ** 2, 0) / counts.length
        assert.isBelow(Math.abs(cv / cm - 1), 0.15, `dispersion ${cv / cm}`)
      }
    })
  }

  it("timestamps are whole ns, never after the poll that emitted them, and never go back", () => {
    const logic = makeLogic({ seed: 5, rate: 500_000 })
    const out = new CaptureEmitter(Transaction.Transaction)
    let last = -Infinity
    for (let t = 0; t < 10_000_000; t += 37_123) {
      for (const tx of pollAll(logic, out, t, 16)) {
        assert.isTrue(Number.isInteger(tx.tsNs) && tx.tsNs <= t && tx.tsNs >= last, `tsNs=${tx.tsNs} at nowNs=${t}`)
        last = tx.tsNs
      }
    }
  })

  it("the schedule starts at the first poll, and a backlog comes out `max` at a time", () => {
    const logic = makeLogic({ seed: 9, rate: 100_000 })
    const out = new CaptureEmitter(Transaction.Transaction)
    const start = 5e12
    logic.onPoll(start, 1024, out)
    out.take()
    // 10 ms later about 1000 are due: at most 64 per poll, then the rest.
    assert.strictEqual(logic.onPoll(start + 1e7, 64, out), 64)
    const first = out.take()
    assert.isTrue(first.every((t) => t.tsNs >= start && t.tsNs <= start + 1e7))
    const rest = pollAll(logic, out, start + 1e7, 64)
    assert.isAbove(first.length + rest.length, 850)
    assert.isBelow(first.length + rest.length, 1150)
  })

  it("unthrottled: every poll fills `max`, stamped with the poll's time; count exhausts it", () => {
    const logic = makeLogic({ unthrottled: true, count: 1000 })
    const out = new CaptureEmitter(Transaction.Transaction)
    assert.strictEqual(logic.onPoll(123.7, 600, out), 600)
    assert.isTrue(out.take().every((t) => t.tsNs === 123))
    assert.strictEqual(logic.onPoll(200, 600, out), 400)
    const rest = out.take()
    assert.strictEqual(rest[rest.length - 1]!.id, 999)
    assert.strictEqual(logic.onPoll(300, 600, out), -1)
    assert.strictEqual(logic.onPoll(400, 600, out), -1)
  })

  it("count applies in throttled mode too", () => {
    const logic = makeLogic({ rate: 1e6, count: 50 })
    const out = new CaptureEmitter(Transaction.Transaction)
    const first = Math.max(0, logic.onPoll(0, 1000, out))
    assert.strictEqual(first + logic.onPoll(1e9, 1000, out), 50)
    assert.strictEqual(logic.onPoll(2e9, 1000, out), -1)
  })
})

/** Applies a transaction to exact books the way the order book stage does; returns the kernel's result. */
const apply = (books: OrderBook.OrderBooks, t: Tx): number => {
  switch (t.kind) {
    case Transaction.Kind.Add:
      return books.add(t.symbol, t.side, t.price, t.size)
    case Transaction.Kind.Cancel:
      return books.cancel(t.symbol, t.side, t.price, t.size)
    case Transaction.Kind.Trade:
      // A trade names the best price of the side it takes from.
      if (books.best(t.symbol, t.side) !== t.price) assert.fail(`trade ${t.id} at ${t.price}, best ${books.best(t.symbol, t.side)}`)
      return books.trade(t.symbol, t.side, t.size)
    default:
      return -100 // not a kind: refused before the book
  }
}

describe("Ingress: order flow an exact book accepts", () => {
  for (const symbols of [1, 8, 64]) {
    it(`${symbols} symbol(s): every transaction is valid and accepted by a 32-tick-window book; the book is never crossed`, () => {
      const txs = unthrottled({ seed: symbols, symbols }, 200_000)
      const books = new OrderBook.OrderBooks({ symbols, windowTicks: 32 })
      const kinds = [0, 0, 0]
      let spreadTicks = 0
      let quoted = 0
      for (const t of txs) {
        // Plain ifs in the loop (an assert per record is slow); assert on the first failure.
        if (Transaction.validateRecordUnsafe(t, symbols) !== Transaction.OK) assert.fail(`invalid ${JSON.stringify(t)}`)
        const result = apply(books, t)
        if (result < 0) assert.fail(`transaction ${t.id} refused: ${OrderBook.reasonOf(result)} ${JSON.stringify(t)}`)
        kinds[t.kind]!++
        const bid = books.bestBid(t.symbol)
        const ask = books.bestAsk(t.symbol)
        if (bid > 0 && ask > 0) {
          if (bid >= ask) assert.fail(`crossed after ${t.id}: ${bid} ≥ ${ask}`)
          spreadTicks += ask - bid
          quoted++
        }
      }
      // Mostly adds, a good share of cancels, some trades (sweeps add a few trades and cancels).
      const share = kinds.map((k) => k / txs.length)
      assert.isTrue(share[0]! > 0.45 && share[0]! < 0.6, `adds ${share[0]}`)
      assert.isTrue(share[1]! > 0.25 && share[1]! < 0.42, `cancels ${share[1]}`)
      assert.isTrue(share[2]! > 0.08 && share[2]! < 0.22, `trades ${share[2]}`)
      // Near the top: both sides quoted almost always, a tight spread.
      assert.isAbove(quoted / txs.length, 0.9)
      assert.isBelow(spreadTicks / quoted, 6)
    })
  }

  it("the generator's tracked levels equal the exact book's, all within the band", () => {
    const symbols = 4
    const flow = new OrderFlow({ symbols, seed: 21 })
    const books = new OrderBook.OrderBooks({ symbols, windowTicks: 4096 })
    for (let i = 0; i < 300_000; i++) {
      flow.next()
      const t = { id: flow.id, tsNs: 0, price: flow.price, size: flow.size, symbol: flow.symbol, side: flow.side, kind: flow.kind }
      if (apply(books, t) < 0) assert.fail(`refused ${JSON.stringify(t)}`)
      if (i % 10_000 !== 0) continue
      for (let s = 0; s < symbols; s++) {
        const mid = flow.mid(s)
        for (const side of [OrderBook.BID, OrderBook.ASK]) {
          assert.strictEqual(books.best(s, side), flow.best(s, side))
          let inBand = 0
          for (let p = mid - 2 * BAND_TICKS; p <= mid + 2 * BAND_TICKS; p++) {
            assert.strictEqual(books.levelSize(s, side, p), flow.levelSize(s, side, p), `symbol ${s} side ${side} price ${p}`)
            inBand += books.levelSize(s, side, p) > 0 ? 1 : 0
          }
          // Nothing rests outside the band (plus the one tick a pending sweep may hold).
          assert.strictEqual(books.levelCount(s, side), inBand)
          assert.isAtMost(inBand, BAND_TICKS + 1)
        }
      }
    }
    assert.isAbove(flow.sweeps, 1000)
  })

  it("with invalidFraction, that share carries exactly one defect each, cycling through the variants; the rest stay exact", () => {
    const symbols = 8
    const txs = unthrottled({ seed: 4, symbols, invalidFraction: 0.1 }, 100_000)
    const books = new OrderBook.OrderBooks({ symbols, windowTicks: 32 })
    const seen: Array<string> = []
    for (const t of txs) {
      const reason = Transaction.reasonOf(Transaction.validateRecordUnsafe(t, symbols))
      if (reason !== undefined) {
        seen.push(reason)
        // The order book refuses it too, and is left unchanged.
        assert.isBelow(apply(books, t), 0)
      } else if (apply(books, t) < 0) {
        assert.fail(`refused ${JSON.stringify(t)}`)
      }
    }
    assert.isTrue(Math.abs(seen.length / txs.length - 0.1) < 0.01, `${seen.length} invalid`)
    assert.deepStrictEqual(seen.slice(0, INVALID_VARIANTS.length), [...INVALID_VARIANTS])
    assert.deepStrictEqual(seen.slice(INVALID_VARIANTS.length, 2 * INVALID_VARIANTS.length), [...INVALID_VARIANTS])
  })
})
