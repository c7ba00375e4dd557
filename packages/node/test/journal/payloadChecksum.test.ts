/**
 * The payload checksum in WebAssembly SIMD computes exactly the reference of core's descriptor, for
 * every length and alignment a batch can have, and a buffer keeps its contents when it grows.
 */
import { assert, describe, it } from "@effect/vitest"
import { JournalDescriptor as D } from "@velox/core"
import { ChecksumBuffer } from "../../src/internal/journal/payloadChecksum.ts"

describe("payload checksum (WebAssembly SIMD)", () => {
  it("equals the descriptor's reference for every length (multiples of 8) and offset", () => {
    const buffer = new ChecksumBuffer(1 << 16)
    let x = 0x9e3779b9
    for (let i = 0; i < buffer.bytes.length; i++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      buffer.bytes[i] = x & 0xff
    }
    for (let length = 0; length <= 1_024; length += 8) {
      for (const offset of [0, 8, 40, 4_096 + 24]) {
        const expected = D.payloadChecksum(buffer.bytes.slice(offset, offset + length))
        assert.strictEqual(buffer.sum(offset, length), expected, `length ${length} at ${offset}`)
      }
    }
    const big = D.payloadChecksum(buffer.bytes.slice(8, 8 + 50_000))
    assert.strictEqual(buffer.sum(8, 50_000), big)
  })

  it("a buffer that grows keeps its bytes, and its new views see them", () => {
    const buffer = new ChecksumBuffer(100)
    buffer.bytes.set([1, 2, 3, 4, 5, 6, 7, 8], 16)
    const before = buffer.sum(16, 8)
    assert.isFalse(buffer.ensure(1_000))
    assert.isTrue(buffer.ensure(200_000))
    assert.isAtLeast(buffer.bytes.length, 200_000)
    assert.deepStrictEqual([...buffer.bytes.subarray(16, 24)], [1, 2, 3, 4, 5, 6, 7, 8])
    assert.strictEqual(buffer.dv.getUint8(23), 8)
    assert.strictEqual(buffer.sum(16, 8), before)
  })
})
