import { assert, describe, it } from "@effect/vitest"
import * as K from "../src/internal/kernel/l2Books.ts"
import { LIVE, STALE } from "../src/internal/kernel/l2Status.ts"

const { ADD, UPDATE } = K

/** A live book (firstSeq 1) with one bid at 100 (5 lots) and one ask at 110 (7 lots); the next seq is 3. */
const liveBook = () => {
  const books = new K.L2Books({ symbols: 2, firstSeq: 1 })
  assert.strictEqual(books.apply(0, ADD, 0, 100, 5, 1), K.APPLIED_TOP)
  assert.strictEqual(books.apply(0, ADD, 1, 110, 7, 2), K.APPLIED_TOP)
  return books
}

describe("L2Books.apply, the fast path's own tests", () => {
  // A live book's next incremental at a level in the window takes the fast path; it must refuse what the
  // general path refuses, in the same order, leaving the level as it was.
  for (
    const [name, op, side, price, size, code] of [
      ["a fractional op (1.5, between Update and Delete)", 1.5, 0, 100, 9, K.BAD_OP],
      ["an op past 2^32 (an Update modulo 2^32)", 2 ** 32 + UPDATE, 0, 100, 9, K.BAD_OP],
      ["a fractional side", UPDATE, 0.5, 100, 9, -6],
      ["side 2", UPDATE, 2, 100, 9, -6],
      ["a fractional price at a live level", UPDATE, 0, 100.5, 9, -1],
      ["price 0", ADD, 0, 0, 9, -1],
      ["a fractional size", UPDATE, 0, 100, 2.5, -2],
      ["a negative size", UPDATE, 0, 100, -1, -2],
      ["an Add at a live level", ADD, 0, 100, 9, -7],
      ["an Update of a missing level", UPDATE, 0, 99, 9, -8],
      ["an Add of size 0", ADD, 0, 99, 0, -2]
    ] as const
  ) {
    it(`refuses ${name}`, () => {
      const books = liveBook()
      const r = books.apply(0, op, side, price, size, 3)
      assert.strictEqual(r, code)
      assert.strictEqual(books.levelSize(0, 0, 100), 5)
      assert.strictEqual(books.bestBid(0), 100)
      // A refusal in its place in the sequence (an unplaceable op aside) takes the book out of sync.
      assert.strictEqual(books.syncOf(0), code === K.BAD_OP ? LIVE : STALE)
    })
  }

  it("a fractional symbol is refused, not applied to a neighbour's block", () => {
    const books = liveBook()
    assert.strictEqual(books.apply(0.125, UPDATE, 0, 100, 9, 3), -5)
    assert.strictEqual(books.levelSize(0, 0, 100), 5)
  })
})
