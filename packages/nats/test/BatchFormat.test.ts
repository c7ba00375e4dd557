import { assert, describe, it } from "@effect/vitest"
import { RecordLayout } from "@velox/core"
import { layoutHash, layoutHashHex, messageId, parseSeqRange, partitionOf, sequencesHash } from "../src/internal/kernel/batchFormat.ts"
import { DedupWindow, DUPLICATE, NEW, TOO_OLD } from "../src/internal/kernel/dedupWindow.ts"

describe("batch format", () => {
  it("the layout hash follows the shape, not the name", () => {
    const a = RecordLayout.make("A", { seq: "f64", price: "f64", symbol: "u32" })
    const b = RecordLayout.make("B", { seq: "f64", price: "f64", symbol: "u32" })
    const c = RecordLayout.make("A", { seq: "f64", price: "f64", symbol: "i32" })
    const d = RecordLayout.make("A", { price: "f64", seq: "f64", symbol: "u32" })
    assert.strictEqual(layoutHash(a), layoutHash(b))
    assert.notStrictEqual(layoutHash(a), layoutHash(c))
    assert.notStrictEqual(layoutHash(a), layoutHash(d))
    assert.match(layoutHashHex(a), /^[0-9a-f]{8}$/)
  })

  it("partitions are in range, stable, and spread keys evenly", () => {
    const counts = new Array<number>(8).fill(0)
    for (let k = 0; k < 80_000; k++) {
      const p = partitionOf(k, 8)
      assert.isTrue(p >= 0 && p < 8 && Number.isInteger(p))
      counts[p]!++
    }
    assert.isTrue(counts.every((n) => n > 9_000 && n < 11_000), String(counts))
    // Fixed values: another process (or release) must compute the same partitions.
    assert.deepStrictEqual([0, 1, 2, 7, 4_294_967_295].map((k) => partitionOf(k, 16)), [0, 7, 6, 4, 9])
    assert.strictEqual(partitionOf(12345, 1), 0)
  })

  it("message ids and sequence ranges", () => {
    const seqs = [4096, 4100, 4351]
    const hash = sequencesHash(seqs.length, (i) => seqs[i]!)
    assert.match(messageId("quotes", 2, 4096, 4351, 3, hash), /^quotes\.2\.4096-4351\.3\.[0-9a-f]{8}$/)
    // Same first, last and count but other records between them: another id (a restarted relay re-cuts its batches).
    assert.notStrictEqual(sequencesHash(3, (i) => [4096, 4101, 4351][i]!), hash)
    assert.notStrictEqual(sequencesHash(3, (i) => [4096, 4351, 4100][i]!), hash)
    assert.notStrictEqual(sequencesHash(1, () => 2 ** 32), sequencesHash(1, () => 0))
    assert.deepStrictEqual(parseSeqRange("10-20"), [10, 20])
    // A relay forwards what its ingress got, redeliveries included: the first record's sequence may be the larger.
    assert.deepStrictEqual(parseSeqRange("11476-1513"), [11476, 1513])
    assert.isUndefined(parseSeqRange("x-1"))
  })
})

describe("DedupWindow", () => {
  it("agrees with a set of everything seen, inside the window", () => {
    const size = 1024
    const window = new DedupWindow(size)
    const seen = new Set<number>()
    let highest = -1
    // A seeded walk: mostly rising, with replays of recent sequences.
    let x = 12345
    const rand = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32
    for (let i = 0; i < 50_000; i++) {
      const seq = rand() < 0.7 ? highest + 1 + Math.floor(rand() * 5) : Math.max(0, highest - Math.floor(rand() * (size + 200)))
      const r = window.check(seq)
      if (seq <= highest - size) assert.strictEqual(r, TOO_OLD)
      else assert.strictEqual(r, seen.has(seq) ? DUPLICATE : NEW, `seq ${seq} highest ${highest}`)
      seen.add(seq)
      highest = Math.max(highest, seq)
    }
  })

  it("refuses a size that is not a power of two", () => {
    assert.throws(() => new DedupWindow(1000), /power of two/)
  })
})
