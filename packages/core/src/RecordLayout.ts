/**
 * Fixed-width records, declared once: typed accessors over shared-memory slots for the hot loop, and
 * an Effect Schema of the same record to validate and decode at the edges.
 *
 * Alignment rules:
 * - fields are laid out in declaration order, each at the next offset that is a multiple of its own
 *   width (`FIELD_BYTES`: 1 for i8/u8, 2 for i16/u16, 4 for i32/u32/f32, 8 for f64);
 * - the record's `byteLength` (the slot stride) is rounded up to a multiple of `RECORD_ALIGNMENT` (8),
 *   so every slot, and every f64 in any slot, is naturally aligned;
 * - the bytes skipped are padding: accessors never touch them, `copyRecords` copies them as they are,
 *   and the contract kit does not compare them. `{ symbol: "u32", price: "f64", size: "f64" }` has
 *   4 bytes of padding after `symbol` (24 bytes); declaring the widest fields first packs tighter
 *   (`{ price: "f64", qty: "u32", side: "u32" }` is 16 bytes, none of them padding).
 *
 * `layout.fields` lists each field's `offset`; `layout.byteLength` is the stride.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as kernel from "./internal/kernel/recordLayout.ts"

export {
  /** @category layout @since 0.1.0 */
  copyRecords,
  /** @category layout @since 0.1.0 */
  FIELD_BYTES,
  /** @category layout @since 0.1.0 */
  MAX_RECORD_BYTES,
  /** @category unsafe @since 0.1.0 */
  readRecord as readUnsafe,
  /** @category layout @since 0.1.0 */
  RECORD_ALIGNMENT,
  /** @category unsafe @since 0.1.0 */
  writeRecord as writeUnsafe
} from "./internal/kernel/recordLayout.ts"

export type {
  FieldAccessor,
  FieldAccessors,
  FieldInfo,
  FieldSpec,
  FieldType,
  Layout as RecordLayout,
  RecordOf,
  RecordView
} from "./internal/kernel/recordLayout.ts"

/**
 * A layout that could not be declared: empty, too wide, a duplicate or unknown field.
 *
 * @category errors
 * @since 0.1.0
 */
export class RecordLayoutError extends Schema.TaggedError<RecordLayoutError>()("RecordLayoutError", {
  layout: Schema.String,
  message: Schema.String
}) {}

/**
 * Declares a record layout; throws a `RangeError`/`TypeError` naming the bad value (layouts are
 * usually module constants, where a throw at import is what you want). See {@link makeEffect}.
 * Fields follow the alignment rules of this module: each aligned to its own width, the stride a
 * multiple of 8, the gaps padding (not data).
 *
 * @example
 * ```ts
 * import { RecordLayout } from "@velox/core"
 *
 * export const Quote = RecordLayout.make("Quote", { symbol: "u32", price: "f64", size: "f64" })
 * console.log(Quote.byteLength) // 24: symbol at 0, 4 bytes of padding, price at 8, size at 16
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make: <const F extends kernel.FieldSpec>(name: string, spec: F) => kernel.Layout<F> = kernel.makeLayout

/**
 * Declares a layout from `[name, type]` entries (e.g. read from a config file).
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromEntries: <F extends kernel.FieldSpec = kernel.FieldSpec>(
  name: string,
  entries: ReadonlyArray<readonly [string, kernel.FieldType]>
) => kernel.Layout<F> = kernel.layoutFromEntries

/**
 * Declares a layout, failing with a typed {@link RecordLayoutError} instead of throwing.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeEffect = <F extends kernel.FieldSpec>(
  name: string,
  entries: ReadonlyArray<readonly [string, kernel.FieldType]>
): Effect.Effect<kernel.Layout<F>, RecordLayoutError> =>
  Effect.try({
    try: () => kernel.layoutFromEntries<F>(name, entries),
    catch: (e) => new RecordLayoutError({ layout: name, message: (e as Error).message })
  })

/**
 * Binds a layout to `slotCount` records at `byteOffset` of a buffer. Build once, outside the loop:
 * `view.fields.price.get(slot)` then allocates nothing.
 *
 * @category layout
 * @since 0.1.0
 */
export const view: <F extends kernel.FieldSpec>(
  layout: kernel.Layout<F>,
  buffer: ArrayBufferLike,
  byteOffset: number,
  slotCount: number
) => kernel.RecordView<F> = kernel.makeView

const INT_RANGES = {
  i8: [-128, 127],
  u8: [0, 255],
  i16: [-32768, 32767],
  u16: [0, 65535],
  i32: [-2147483648, 2147483647],
  u32: [0, 4294967295]
} as const

const fieldSchema = (type: kernel.FieldType): Schema.Schema<number> => {
  if (type === "f64" || type === "f32") return Schema.Number
  const [minimum, maximum] = INT_RANGES[type]
  return Schema.Int.check(Schema.isBetween({ minimum, maximum }))
}

/**
 * The Schema of one record as a plain object: integers in their type's range, floats any number.
 * Use it to validate input before it is written into a ring.
 *
 * @category layout
 * @since 0.1.0
 */
export const schema = <F extends kernel.FieldSpec>(
  layout: kernel.Layout<F>
): Schema.Codec<kernel.RecordOf<F>> => {
  const fields: Record<string, Schema.Schema<number>> = {}
  for (const info of layout.fields) fields[info.name] = fieldSchema(info.type)
  return Schema.Struct(fields) as unknown as Schema.Codec<kernel.RecordOf<F>>
}
