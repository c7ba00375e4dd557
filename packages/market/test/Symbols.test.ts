import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { Symbols } from "@velox/market"
import * as K from "../src/internal/kernel/symbolTable.ts"

describe("Symbols", () => {
  it("the layout is the drawing: 32-byte header, the hash index, 48-byte entries", () => {
    assert.deepStrictEqual(
      [K.MAGIC_OFFSET, K.VERSION_OFFSET, K.CAPACITY_OFFSET, K.HASH_SLOTS_OFFSET, K.COUNT_OFFSET, K.LOCK_OFFSET, K.HEADER_BYTES],
      [0, 4, 8, 12, 16, 20, 32]
    )
    assert.deepStrictEqual([K.ENTRY_BYTES, K.ENTRY_LENGTH_OFFSET, K.ENTRY_HASH_OFFSET, K.ENTRY_NAME_OFFSET, K.MAX_NAME_BYTES], [48, 0, 4, 8, 40])
    const table = Symbols.make(3, ["EURUSD", "AAPL"])
    // 3 names: 8 hash slots (a power of two ≥ 2 × 3).
    assert.strictEqual(table.byteLength, 32 + 4 * 8 + 48 * 3)
    assert.strictEqual(Symbols.byteLength(3), table.byteLength)
    const words = new Int32Array(table)
    assert.deepStrictEqual(Array.from(words.subarray(0, 6)), [K.MAGIC, K.VERSION, 3, 8, 2, 0])
    // AAPL is id 1: its entry at 32 + 32 + 48 holds its length and its bytes.
    const at = 32 + 32 + 48
    assert.strictEqual(new DataView(table).getInt32(at, true), 4)
    assert.strictEqual(new TextDecoder().decode(new Uint8Array(table).slice(at + 8, at + 12)), "AAPL")
  })

  it("names map to dense ids in registration order and back; a repeated name keeps its id", () => {
    const table = Symbols.make(10, ["EURUSD", "GBPUSD", "EURUSD"])
    assert.deepStrictEqual(Symbols.names(table), ["EURUSD", "GBPUSD"])
    assert.strictEqual(Symbols.idOf(table, "GBPUSD"), 1)
    assert.strictEqual(Symbols.idOf(table, "gbpusd"), undefined)
    assert.strictEqual(Symbols.idOf(table, "USDJPY"), undefined)
    assert.strictEqual(Symbols.registerUnsafe(table, "USDJPY"), 2)
    assert.strictEqual(Symbols.registerUnsafe(table, "USDJPY"), 2)
    assert.strictEqual(Symbols.nameOf(table, 2), "USDJPY")
    assert.strictEqual(Symbols.nameOf(table, 3), undefined)
    assert.strictEqual(Symbols.count(table), 3)
    assert.strictEqual(Symbols.capacity(table), 10)
  })

  it("names of 40 UTF-8 bytes fit, longer ones, empty ones and ones with spaces do not", () => {
    const table = Symbols.make(4)
    const forty = "Ä".repeat(20) // 2 bytes each
    assert.strictEqual(Symbols.registerUnsafe(table, forty), 0)
    assert.strictEqual(Symbols.nameOf(table, 0), forty)
    assert.strictEqual(Symbols.registerUnsafe(table, forty + "x"), Symbols.INVALID_NAME)
    assert.strictEqual(Symbols.registerUnsafe(table, ""), Symbols.INVALID_NAME)
    assert.strictEqual(Symbols.registerUnsafe(table, "EUR USD"), Symbols.INVALID_NAME)
    assert.strictEqual(Symbols.registerUnsafe(table, "A\u0001"), Symbols.INVALID_NAME)
    assert.throws(() => Symbols.make(2, ["OK", "not ok"]), /not a symbol name: "not ok"/)
  })

  it.effect("a full table refuses a new name with SymbolsError Full, and still answers known ones", () =>
    Effect.gen(function*() {
      const table = Symbols.make(2, ["A", "B"])
      assert.strictEqual(yield* Symbols.register(table, "B"), 1)
      const exit = yield* Effect.exit(Symbols.register(table, "C"))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Symbols.register(table, "C"))
      assert.strictEqual(error.reason, "Full")
      assert.include(error.message, "symbol table full: \"C\" does not fit, the table holds its capacity of 2 names")
      assert.strictEqual(Symbols.registerUnsafe(table, "C"), Symbols.FULL)
      const invalid = yield* Effect.flip(Symbols.register(table, ""))
      assert.strictEqual(invalid.reason, "InvalidName")
      assert.throws(() => Symbols.make(1, ["A", "B"]), /more names than the capacity of 1/)
    }))

  it("a thousand names hash apart: every one is found again", () => {
    const table = Symbols.make(1_000)
    const view = Symbols.view(table)
    for (let i = 0; i < 1_000; i++) assert.strictEqual(view.register(`SYM${i}`), i)
    for (let i = 0; i < 1_000; i++) assert.strictEqual(view.idOf(`SYM${i}`), i)
    assert.strictEqual(view.register("one-too-many"), Symbols.FULL)
  })

  it("a bad capacity and a buffer that is not a table are refused, naming the value", () => {
    assert.throws(() => Symbols.make(0), /capacity must be an integer in 1\.\.\d+: capacity=0/)
    assert.isFalse(Symbols.isTable(new SharedArrayBuffer(64)))
    assert.throws(() => Symbols.view(new SharedArrayBuffer(64)), /not a symbol table/)
  })
})
