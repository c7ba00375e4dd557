import { assert, describe, it } from "@effect/vitest"
import { L2Flow, L2Update } from "../src/index.ts"
import { L2Books } from "../src/internal/kernel/l2Books.ts"
import * as K from "../src/internal/kernel/l2Books.ts"
import { LIVE } from "../src/internal/kernel/l2Status.ts"

const { SnapshotBegin, SnapshotEnd } = L2Update.Op

/** Feeds `n` messages of `flow` to fresh books; the outcome counts and the books. */
const consume = (flow: L2Flow.L2Flow, n: number) => {
  const books = new L2Books({ symbols: flow.symbols })
  const outcomes = new Map<number, number>()
  // Then the messages still queued, so that the flow's books and these can be compared.
  for (let i = 0; i < n || flow.pendingMessages > 0; i++) {
    flow.next()
    const r = books.apply(flow.symbol, flow.op, flow.side, flow.price, flow.size, flow.seq)
    outcomes.set(r, (outcomes.get(r) ?? 0) + 1)
  }
  return { books, outcomes }
}

/** Every live book holds exactly the flow's own book, every level; returns how many were live. */
const assertLiveBooksMatch = (flow: L2Flow.L2Flow, books: L2Books): number => {
  let live = 0
  const out = new Float64Array(2 * 1_000)
  for (let s = 0; s < flow.symbols; s++) {
    if (books.syncOf(s) !== LIVE) continue
    live++
    for (const side of [0, 1]) {
      const want = flow.book(s, side)
      const n = books.depth(s, side, 1_000, out)
      const got = Array.from({ length: n }, (_, k): [number, number] => [out[2 * k]!, out[2 * k + 1]!])
      assert.deepStrictEqual(got, want, `symbol ${s} side ${side}`)
    }
  }
  return live
}

describe("L2Flow, the synthetic L2 feed", () => {
  it("the same options give the same messages; another seed does not", () => {
    const take = (seed: number) => {
      const flow = new L2Flow.L2Flow({ symbols: 50, seed, gapProbability: 0.01, invalidFraction: 0.01 })
      return Array.from({ length: 5_000 }, () => {
        flow.next()
        return [flow.symbol, flow.op, flow.side, flow.price, flow.size, flow.seq, flow.exchangeTsNs].join(",")
      }).join(";")
    }
    assert.strictEqual(take(7), take(7))
    assert.notStrictEqual(take(7), take(8))
  })

  it("without defects, an exact L2 book takes every message in sequence and ends equal to the flow's own book", () => {
    const flow = new L2Flow.L2Flow({ symbols: 200, seed: 1 })
    const { books, outcomes } = consume(flow, 300_000)
    assert.deepStrictEqual([...outcomes.keys()].sort(), [K.APPLIED, K.APPLIED_TOP])
    assert.isAtLeast(flow.messages, 300_000)
    assert.strictEqual(flow.incrementals + flow.snapshotMessages, flow.messages)
    assert.strictEqual(assertLiveBooksMatch(flow, books), flow.snapshots) // every symbol seen had its snapshot
  }, 300_000)

  it("books stay about `levels` deep near the touch, some levels sit a million ticks away, and activity is Zipf", () => {
    const flow = new L2Flow.L2Flow({ symbols: 1_000, seed: 2, levels: 50, farProbability: 0.05 })
    const counts = new Float64Array(1_000)
    let far = 0
    const { books } = (() => {
      const books = new L2Books({ symbols: 1_000 })
      for (let i = 0; i < 400_000 || flow.pendingMessages > 0; i++) {
        flow.next()
        if (flow.op < SnapshotBegin) counts[flow.symbol]!++
        books.apply(flow.symbol, flow.op, flow.side, flow.price, flow.size, flow.seq)
      }
      return { books }
    })()
    for (let s = 0; s < 10; s++) {
      for (const side of [0, 1]) {
        const levels = flow.book(s, side)
        const near = levels.filter(([p]) => Math.abs(p - levels[0]![0]) < 200).length
        assert.isAtLeast(near, 35, `symbol ${s} side ${side}: ${near} levels near the touch`)
        assert.isAtMost(near, 64)
        if (levels.length > near) far++
      }
    }
    assert.isAbove(far, 0)
    // Zipf(1) over 1,000 symbols: symbol 0 takes 1/H(1000) ≈ 13.4% of the incrementals, symbol 9 a tenth of that.
    const incrementals = counts.reduce((a, b) => a + b, 0)
    const share = (s: number) => counts[s]! / incrementals
    assert.approximately(share(0), 0.134, 0.015)
    assert.approximately(share(9) / share(0), 0.1, 0.03)
    assert.isAbove(books.levelCount(0, 0), 30)
  }, 300_000)

  it("lost messages and invalid records are followed by a snapshot that resyncs the symbol", () => {
    const flow = new L2Flow.L2Flow({ symbols: 100, seed: 3, gapProbability: 1e-3, invalidFraction: 1e-3, recoveryDelay: 200 })
    const { books, outcomes } = consume(flow, 400_000)
    const refused = [...outcomes].filter(([r]) => r < 0).reduce((n, [, c]) => n + c, 0)
    assert.isAbove(flow.lost, 50)
    assert.isAbove(flow.invalid, 50)
    assert.isAbove(refused, 0)
    assert.isAtMost(refused, flow.invalid) // an invalid record reaching an already stale book is dropped as stale
    assert.isAbove(outcomes.get(K.DROPPED_STALE) ?? 0, 0)
    // Every outcome code the flow causes is one the stage declares; none is a duplicate.
    assert.isUndefined(outcomes.get(K.DROPPED_DUPLICATE))
    // Live books are exact; the few still stale are waiting for their snapshot, which is due.
    const live = assertLiveBooksMatch(flow, books)
    assert.isAbove(live, 90)
  }, 300_000)

  it("the flow's books run ahead of the messages while some are queued, and agree once none is", () => {
    const flow = new L2Flow.L2Flow({ symbols: 1, seed: 1 })
    const books = new L2Books({ symbols: 1 })
    let ahead = 0
    for (let i = 0; i < 50_000 || flow.pendingMessages > 0; i++) {
      flow.next()
      books.apply(flow.symbol, flow.op, flow.side, flow.price, flow.size, flow.seq)
      if (flow.pendingMessages > 0 && i > 1_000) ahead++
    }
    assert.isAbove(ahead, 0) // walks queue several messages at once
    assert.strictEqual(assertLiveBooksMatch(flow, books), 1)
  })

  it("a snapshot is begin, levels, end, all with the symbol's last sequence number; incrementals then count up from it", () => {
    const flow = new L2Flow.L2Flow({ symbols: 3, seed: 4 })
    const seen = new Map<number, number>()
    for (let i = 0; i < 5_000; i++) {
      flow.next()
      if (flow.op === SnapshotBegin || flow.op === SnapshotEnd) assert.strictEqual(flow.seq, seen.get(flow.symbol) ?? 0)
      else if (flow.op < SnapshotBegin) {
        assert.strictEqual(flow.seq, (seen.get(flow.symbol) ?? 0) + 1)
        seen.set(flow.symbol, flow.seq)
      }
    }
  })

  it("sessionStart: empty books, no snapshot, sequence numbers from 1; books in sync with firstSeq 1 fill up", () => {
    const flow = new L2Flow.L2Flow({ symbols: 20, seed: 6, sessionStart: true })
    const books = new L2Books({ symbols: 20, firstSeq: 1 })
    for (let i = 0; i < 100_000 || flow.pendingMessages > 0; i++) {
      flow.next()
      assert.isBelow(flow.op, SnapshotBegin)
      const r = books.apply(flow.symbol, flow.op, flow.side, flow.price, flow.size, flow.seq)
      assert.isTrue(r === K.APPLIED || r === K.APPLIED_TOP, `message ${i}: outcome ${r}`)
    }
    assert.strictEqual(flow.snapshots, 0)
    assert.strictEqual(assertLiveBooksMatch(flow, books), 20)
    assert.isAbove(books.levelCount(0, 0), 30)
  }, 300_000)

  it("the constructor throws RangeError naming the bad value", () => {
    assert.throws(() => new L2Flow.L2Flow({ symbols: 0 }), RangeError, "symbols=0")
    assert.throws(() => new L2Flow.L2Flow({ symbols: 1, levels: 1 }), RangeError, "levels=1")
    assert.throws(() => new L2Flow.L2Flow({ symbols: 1, gapProbability: 2 }), RangeError, "gapProbability=2")
    assert.throws(() => new L2Flow.L2Flow({ symbols: 1, rate: 0 }), RangeError, "rate=0")
  })
})
