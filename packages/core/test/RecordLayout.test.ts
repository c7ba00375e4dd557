import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Exit, Schema } from "effect"
import { RecordLayout } from "../src/index.ts"

const TYPES = ["i8", "u8", "i16", "u16", "i32", "u32", "f32", "f64"] as const
type FieldType = (typeof TYPES)[number]

/** What a one-element typed array of `type` stores for `value`: the semantics accessors must match. */
const typedArrayRoundTrip = (type: FieldType, value: number): number => {
  switch (type) {
    case "i8":
      return Int8Array.of(value)[0]!
    case "u8":
      return Uint8Array.of(value)[0]!
    case "i16":
      return Int16Array.of(value)[0]!
    case "u16":
      return Uint16Array.of(value)[0]!
    case "i32":
      return Int32Array.of(value)[0]!
    case "u32":
      return Uint32Array.of(value)[0]!
    case "f32":
      return Float32Array.of(value)[0]!
    case "f64":
      return Float64Array.of(value)[0]!
  }
}

/** One field of every type, in an order that forces padding before the wide ones. */
const AllTypes = RecordLayout.make("AllTypes", {
  i8: "i8",
  f64: "f64",
  u8: "u8",
  i16: "i16",
  u16: "u16",
  i32: "i32",
  u32: "u32",
  f32: "f32"
})

const viewOf = <F extends RecordLayout.FieldSpec>(layout: RecordLayout.RecordLayout<F>, slots: number) =>
  RecordLayout.view(layout, new SharedArrayBuffer(slots * layout.byteLength), 0, slots)

const FieldTypeSchema = Schema.Literals(TYPES)

describe("RecordLayout", () => {
  describe("layout", () => {
    it("places each field at the next offset aligned to its own width, in declaration order", () => {
      const layout = RecordLayout.make("Mixed", { flag: "u8", price: "f64", side: "i16", size: "u32", tag: "i8" })
      assert.deepStrictEqual(
        layout.fields.map((f) => [f.name, f.type, f.offset]),
        [["flag", "u8", 0], ["price", "f64", 8], ["side", "i16", 16], ["size", "u32", 20], ["tag", "i8", 24]]
      )
      assert.strictEqual(layout.byteLength, 32)
      assert.strictEqual(layout.name, "Mixed")
      assert.deepStrictEqual(layout.spec, { flag: "u8", price: "f64", side: "i16", size: "u32", tag: "i8" })
    })

    it("rounds the stride up to a multiple of 8 bytes", () => {
      assert.strictEqual(RecordLayout.make("One", { a: "u8" }).byteLength, 8)
      assert.strictEqual(RecordLayout.make("Three", { a: "u32", b: "u32", c: "u32" }).byteLength, 16)
      assert.strictEqual(RecordLayout.make("Exact", { a: "f64", b: "f64" }).byteLength, 16)
      assert.strictEqual(RecordLayout.RECORD_ALIGNMENT, 8)
    })

    it.prop(
      "any list of fields is laid out aligned, in order, without overlap, in a stride that is a multiple of 8",
      [Schema.Array(FieldTypeSchema).check(Schema.isMinLength(1), Schema.isMaxLength(64))],
      ([types]) => {
        const layout = RecordLayout.fromEntries("Random", types.map((t, i) => [`f${i}`, t] as const))
        let end = 0
        for (const [i, field] of layout.fields.entries()) {
          const width = RecordLayout.FIELD_BYTES[field.type]
          assert.strictEqual(field.name, `f${i}`)
          assert.strictEqual(field.type, types[i])
          assert.strictEqual(field.offset % width, 0, `${field.name} is aligned to ${width}`)
          assert.isAtLeast(field.offset, end, `${field.name} starts after the previous field`)
          assert.isBelow(field.offset - end, width, `${field.name} is padded by less than its width`)
          end = field.offset + width
        }
        assert.strictEqual(layout.byteLength % 8, 0)
        assert.isAtLeast(layout.byteLength, end)
        assert.isBelow(layout.byteLength - end, 8)
      }
    )
  })

  describe("accessors", () => {
    it("read back what was written, per type", () => {
      const view = viewOf(AllTypes, 4)
      const record = { i8: -128, f64: Math.PI, u8: 255, i16: -32768, u16: 65535, i32: -2147483648, u32: 4294967295, f32: 0.5 }
      RecordLayout.writeUnsafe(view, 2, record)
      assert.deepStrictEqual(RecordLayout.readUnsafe(view, 2), record)
      assert.strictEqual(view.fields.u32.get(2), 4294967295, "u32 max stays unsigned")
    })

    it("wrap and round out-of-range values the way typed arrays do", () => {
      const view = viewOf(AllTypes, 1)
      const cases: ReadonlyArray<readonly [FieldType, number, number]> = [
        ["i8", 200, -56],
        ["i8", 128, -128],
        ["u8", -1, 255],
        ["u8", 256, 0],
        ["i16", 40000, -25536],
        ["u16", -1, 65535],
        ["i32", 2 ** 31, -(2 ** 31)],
        ["u32", -1, 4294967295],
        ["u32", 2 ** 32, 0],
        ["i32", 1.9, 1],
        ["f32", 0.1, Math.fround(0.1)]
      ]
      for (const [type, written, expected] of cases) {
        view.fields[type].set(0, written)
        assert.strictEqual(view.fields[type].get(0), expected, `${type} set(${written})`)
      }
    })

    it.prop(
      "every accessor stores exactly what a typed array of its type stores",
      { type: FieldTypeSchema, value: Schema.Number, slot: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })) },
      ({ slot, type, value }) => {
        const view = viewOf(AllTypes, 4)
        view.fields[type].set(slot, value)
        assert.isTrue(Object.is(view.fields[type].get(slot), typedArrayRoundTrip(type, value)), `${type} ${value}`)
      }
    )

    it("writing one slot leaves its neighbours untouched", () => {
      const view = viewOf(AllTypes, 3)
      const bytes = new Uint8Array(view.words.buffer)
      RecordLayout.writeUnsafe(view, 1, { i8: -1, f64: -1, u8: 255, i16: -1, u16: 65535, i32: -1, u32: 4294967295, f32: -1 })
      const stride = AllTypes.byteLength
      assert.isTrue(bytes.subarray(0, stride).every((b) => b === 0), "slot 0")
      assert.isTrue(bytes.subarray(2 * stride).every((b) => b === 0), "slot 2")
    })

    it("a view must start 8-byte aligned and fit its buffer, and says which value is wrong", () => {
      const buffer = new SharedArrayBuffer(64)
      assert.throws(() => RecordLayout.view(AllTypes, buffer, 4, 1), RangeError, "byteOffset=4")
      assert.throws(
        () => RecordLayout.view(AllTypes, buffer, 8, 2),
        RangeError,
        "byteOffset=8 + 2 slots × 40 bytes > buffer.byteLength=64"
      )
    })
  })

  describe("copyRecords", () => {
    it("copies whole records bit for bit, NaN payloads included", () => {
      const from = viewOf(AllTypes, 4)
      const to = viewOf(AllTypes, 6)
      RecordLayout.writeUnsafe(from, 1, { i8: -7, f64: 0, u8: 7, i16: -700, u16: 700, i32: -70000, u32: 70000, f32: 0 })
      RecordLayout.writeUnsafe(from, 2, { i8: 1, f64: -0, u8: 2, i16: 3, u16: 4, i32: 5, u32: 6, f32: 0 })
      // NaNs with payloads, written as raw bits: a float store could canonicalise them.
      const w = from.wordsPerRecord
      const f64Word = AllTypes.fields.find((f) => f.name === "f64")!.offset / 4
      const f32Word = AllTypes.fields.find((f) => f.name === "f32")!.offset / 4
      from.words[w + f64Word] = 0x0badf00d // low word of a quiet NaN with a payload (little-endian)
      from.words[w + f64Word + 1] = 0x7ff80dea | 0
      from.words[w + f32Word] = 0x7fc0beef | 0
      RecordLayout.copyRecords(from, 1, to, 3, 2)
      assert.deepStrictEqual(
        Array.from(to.words.subarray(3 * w, 5 * w)),
        Array.from(from.words.subarray(w, 3 * w))
      )
      assert.isNaN(to.fields.f64.get(3))
      assert.isNaN(to.fields.f32.get(3))
      assert.isTrue(Object.is(to.fields.f64.get(4), -0))
      assert.isTrue(to.words.subarray(0, 3 * w).every((x) => x === 0), "slots before the copy are untouched")
      assert.isTrue(to.words.subarray(5 * w).every((x) => x === 0), "slots after the copy are untouched")
    })
  })

  it("copies integer fields whose bits look like signalling or hole NaNs unchanged, also once optimised", () => {
    // copyRecords moves 8-byte words through a Float64Array: two u32 fields side by side must still
    // come out bit for bit, whichever tier of the JIT runs the copy.
    const Pair = RecordLayout.make("Pair", { lo: "u32", hi: "u32", lo2: "u32", hi2: "u32" })
    const from = RecordLayout.view(Pair, new ArrayBuffer(Pair.byteLength), 0, 1)
    const to = RecordLayout.view(Pair, new ArrayBuffer(Pair.byteLength * 2), 0, 2)
    const patterns: Array<[number, number]> = [
      [0x00000001, 0x7ff00000], // signalling NaN
      [0xfff7ffff, 0xfff7ffff], // V8's hole NaN
      [0xdeadbeef, 0x7ff4dead] // signalling NaN with a payload
    ]
    for (let round = 0; round < 200_000; round++) {
      const [lo, hi] = patterns[round % patterns.length]!
      from.fields.lo.set(0, lo)
      from.fields.hi.set(0, hi)
      from.fields.lo2.set(0, hi)
      from.fields.hi2.set(0, lo)
      RecordLayout.copyRecords(from, 0, to, round & 1, 1)
      const slot = round & 1
      if (
        to.fields.lo.get(slot) !== lo || to.fields.hi.get(slot) !== hi || to.fields.lo2.get(slot) !== hi ||
        to.fields.hi2.get(slot) !== lo
      ) {
        assert.fail(`round ${round}: bits changed for pattern ${lo.toString(16)} ${hi.toString(16)}`)
      }
    }
  })

  describe("rejected layouts", () => {
    it("an empty layout is rejected, naming the layout", () => {
      assert.throws(() => RecordLayout.make("Empty", {}), RangeError, `layout "Empty" declares no fields`)
    })

    it("a layout wider than 4096 bytes is rejected, naming its width and the limit", () => {
      const entries = Array.from({ length: 513 }, (_, i) => [`f${i}`, "f64"] as const)
      assert.throws(
        () => RecordLayout.fromEntries("Wide", entries),
        RangeError,
        `layout "Wide" is too wide: byteLength=4104 exceeds 4096 bytes`
      )
      const widest = RecordLayout.fromEntries("Widest", entries.slice(0, 512))
      assert.strictEqual(widest.byteLength, RecordLayout.MAX_RECORD_BYTES)
    })

    it("a field declared twice is rejected, naming the field", () => {
      assert.throws(
        () => RecordLayout.fromEntries("Quote", [["px", "f64"], ["qty", "u32"], ["px", "f32"]]),
        RangeError,
        `layout "Quote" declares field "px" twice`
      )
    })

    it("an unknown field type is rejected, naming the type and the known ones", () => {
      const spec = { px: "f16" } as unknown as RecordLayout.FieldSpec
      assert.throws(
        () => RecordLayout.make("Half", spec),
        TypeError,
        `layout "Half" field "px" has unknown type "f16"; expected one of i8, u8, i16, u16, i32, u32, f32, f64`
      )
    })

    it("an empty field name is rejected", () => {
      assert.throws(() => RecordLayout.fromEntries("Blank", [["", "u8"]]), TypeError, `layout "Blank"`)
    })

    it.effect("makeEffect fails with a RecordLayoutError carrying the layout name and the message", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(RecordLayout.makeEffect("Quote", [["px", "f64"], ["px", "f64"]]))
        assert.instanceOf(error, RecordLayout.RecordLayoutError)
        assert.strictEqual(error._tag, "RecordLayoutError")
        assert.strictEqual(error.layout, "Quote")
        assert.strictEqual(error.message, `layout "Quote" declares field "px" twice`)
        const ok = yield* RecordLayout.makeEffect("Quote", [["px", "f64"]])
        assert.strictEqual(ok.byteLength, 8)
      }))
  })

  describe("schema", () => {
    const Int = RecordLayout.make("Ints", { a: "i8", b: "u8", c: "i16", d: "u16", e: "i32", f: "u32", g: "f64" })
    const decode = Schema.decodeUnknownExit(RecordLayout.schema(Int))
    const valid = { a: -128, b: 255, c: 32767, d: 0, e: -2147483648, f: 4294967295, g: -1.5 }

    it("accepts a record whose integers are in their type's range", () => {
      const exit = decode(valid)
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) assert.deepStrictEqual(exit.value, valid)
    })

    it("rejects integers outside their type's range, non-integers and missing fields", () => {
      const bad: ReadonlyArray<Record<string, unknown>> = [
        { ...valid, a: -129 },
        { ...valid, a: 128 },
        { ...valid, b: 256 },
        { ...valid, b: -1 },
        { ...valid, c: 32768 },
        { ...valid, d: 65536 },
        { ...valid, e: 2147483648 },
        { ...valid, f: 4294967296 },
        { ...valid, f: -1 },
        { ...valid, e: 1.5 },
        { ...valid, g: "1" },
        { a: 0 }
      ]
      for (const input of bad) assert.isTrue(Exit.isFailure(decode(input)), JSON.stringify(input))
    })

    it.prop(
      "every record the schema accepts survives a write and read through a view unchanged",
      [Arbitrary.schema(RecordLayout.schema(Int))],
      ([record]) => {
        const view = viewOf(Int, 2)
        RecordLayout.writeUnsafe(view, 1, record)
        const back = RecordLayout.readUnsafe(view, 1)
        for (const key of Object.keys(record) as Array<keyof typeof record>) {
          assert.isTrue(Object.is(back[key], record[key]), `${key}: wrote ${record[key]}, read ${back[key]}`)
        }
      }
    )
  })
})
