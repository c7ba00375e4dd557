/**
 * Fixed-width records over shared memory: the kernel half of `RecordLayout`.
 *
 * A layout is declared once as `{ fieldName: FieldType }`. Fields are laid out in declaration order,
 * each aligned to its own width, and the record stride is rounded up to 8 bytes so every slot starts
 * 8-byte aligned (an f64 in any slot is naturally aligned). A `RecordView` binds a layout to a region
 * of a buffer: one typed array per element type over the whole region, and per field a pair of
 * closures `get(slot)` / `set(slot, value)` built once, so an access allocates nothing.
 *
 * No `effect` import here: this module runs inside worker hot loops.
 */

/** Element types a field may have, with their width in bytes. */
export const FIELD_BYTES = {
  i8: 1,
  u8: 1,
  i16: 2,
  u16: 2,
  i32: 4,
  u32: 4,
  f32: 4,
  f64: 8
} as const

export type FieldType = keyof typeof FIELD_BYTES

export type FieldSpec = Readonly<Record<string, FieldType>>

/** Widest record a layout may declare; a ring slot larger than this is almost always a mistake. */
export const MAX_RECORD_BYTES = 4096

/** Every slot starts on this boundary. */
export const RECORD_ALIGNMENT = 8

export interface FieldInfo {
  readonly name: string
  readonly type: FieldType
  /** Byte offset of the field inside one record. */
  readonly offset: number
}

export interface Layout<F extends FieldSpec = FieldSpec> {
  readonly name: string
  readonly spec: F
  readonly fields: ReadonlyArray<FieldInfo>
  /** Record stride in bytes: a multiple of {@link RECORD_ALIGNMENT}. */
  readonly byteLength: number
}

const isFieldType = (t: unknown): t is FieldType => typeof t === "string" && Object.hasOwn(FIELD_BYTES, t)

/**
 * Lays out `[name, type]` entries in order, each aligned to its own width.
 * Throws `TypeError`/`RangeError` naming the offending values.
 */
export const layoutFromEntries = <F extends FieldSpec>(
  name: string,
  entries: ReadonlyArray<readonly [string, FieldType]>
): Layout<F> => {
  if (entries.length === 0) throw new RangeError(`layout "${name}" declares no fields`)
  const seen = new Set<string>()
  const fields: Array<FieldInfo> = []
  const spec: Record<string, FieldType> = {}
  let offset = 0
  for (const [field, type] of entries) {
    if (typeof field !== "string" || field.length === 0) {
      throw new TypeError(`layout "${name}" has a field with an empty or non-string name: ${JSON.stringify(field)}`)
    }
    if (seen.has(field)) throw new RangeError(`layout "${name}" declares field "${field}" twice`)
    seen.add(field)
    if (!isFieldType(type)) {
      throw new TypeError(
        `layout "${name}" field "${field}" has unknown type ${JSON.stringify(type)}; expected one of ${
          Object.keys(FIELD_BYTES).join(", ")
        }`
      )
    }
    const width = FIELD_BYTES[type]
    offset = Math.ceil(offset / width) * width
    fields.push({ name: field, type, offset })
    spec[field] = type
    offset += width
  }
  const byteLength = Math.ceil(offset / RECORD_ALIGNMENT) * RECORD_ALIGNMENT
  if (byteLength > MAX_RECORD_BYTES) {
    throw new RangeError(`layout "${name}" is too wide: byteLength=${byteLength} exceeds ${MAX_RECORD_BYTES} bytes`)
  }
  return { name, spec: spec as F, fields, byteLength }
}

/** Lays out an object spec in declaration order (see {@link layoutFromEntries}). */
export const makeLayout = <const F extends FieldSpec>(name: string, spec: F): Layout<F> =>
  layoutFromEntries<F>(name, Object.entries(spec))

/** A field accessor bound to one region; `slot` is a record index within that region. */
export interface FieldAccessor {
  readonly get: (slot: number) => number
  readonly set: (slot: number, value: number) => void
}

export type FieldAccessors<F extends FieldSpec> = { readonly [K in keyof F]: FieldAccessor }

/** The plain-object form of one record (allocates: for the edges, not the hot loop). */
export type RecordOf<F extends FieldSpec> = { [K in keyof F]: number }

export interface RecordView<F extends FieldSpec = FieldSpec> {
  readonly layout: Layout<F>
  readonly slotCount: number
  readonly byteOffset: number
  readonly fields: FieldAccessors<F>
  /** Word view over the region, used to copy whole records bit-exactly. */
  readonly words: Int32Array
  /** 32-bit words per record. */
  readonly wordsPerRecord: number
  /** The region as 8-byte words (records are 8-byte aligned and sized), for copying. */
  readonly words64: Float64Array
}

type AnyTypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array

const arrayFor = (type: FieldType, buffer: ArrayBufferLike, byteOffset: number, byteLength: number): AnyTypedArray => {
  const n = byteLength / FIELD_BYTES[type]
  switch (type) {
    case "i8":
      return new Int8Array(buffer, byteOffset, n)
    case "u8":
      return new Uint8Array(buffer, byteOffset, n)
    case "i16":
      return new Int16Array(buffer, byteOffset, n)
    case "u16":
      return new Uint16Array(buffer, byteOffset, n)
    case "i32":
      return new Int32Array(buffer, byteOffset, n)
    case "u32":
      return new Uint32Array(buffer, byteOffset, n)
    case "f32":
      return new Float32Array(buffer, byteOffset, n)
    case "f64":
      return new Float64Array(buffer, byteOffset, n)
  }
}

/**
 * Binds `layout` to `slotCount` records starting at `byteOffset` of `buffer`.
 * The typed arrays and closures are made here, once; accesses through them allocate nothing.
 */
export const makeView = <F extends FieldSpec>(
  layout: Layout<F>,
  buffer: ArrayBufferLike,
  byteOffset: number,
  slotCount: number
): RecordView<F> => {
  if (byteOffset % RECORD_ALIGNMENT !== 0) {
    throw new RangeError(`record region must be ${RECORD_ALIGNMENT}-byte aligned: byteOffset=${byteOffset}`)
  }
  const byteLength = slotCount * layout.byteLength
  if (byteOffset + byteLength > buffer.byteLength) {
    throw new RangeError(
      `record region does not fit: byteOffset=${byteOffset} + ${slotCount} slots × ${layout.byteLength} bytes > buffer.byteLength=${buffer.byteLength}`
    )
  }
  const arrays = new Map<FieldType, AnyTypedArray>()
  const fields: Record<string, FieldAccessor> = {}
  for (const info of layout.fields) {
    let array = arrays.get(info.type)
    if (array === undefined) {
      array = arrayFor(info.type, buffer, byteOffset, byteLength)
      arrays.set(info.type, array)
    }
    const width = FIELD_BYTES[info.type]
    // Stride and field position in elements of the field's own array: one multiply-add per access.
    const stride = layout.byteLength / width
    const index = info.offset / width
    const values = array
    fields[info.name] = {
      get: (slot) => values[slot * stride + index]!,
      set: (slot, value) => {
        values[slot * stride + index] = value
      }
    }
  }
  return {
    layout,
    slotCount,
    byteOffset,
    fields: fields as FieldAccessors<F>,
    words: new Int32Array(buffer, byteOffset, byteLength / 4),
    wordsPerRecord: layout.byteLength / 4,
    words64: new Float64Array(buffer, byteOffset, byteLength / 8)
  }
}

/** Copies `count` whole records bit-exactly (NaN payloads included) between two views of one layout. */
export const copyRecords = (
  from: RecordView,
  fromSlot: number,
  to: RecordView,
  toSlot: number,
  count: number
): void => {
  // 8-byte moves: a 32-byte record is 4 of them. Float64Array element copies move the bits as they are
  // (no NaN canonicalisation for typed arrays), which the layout tests check.
  const w = from.wordsPerRecord >> 1
  const src = from.words64
  const dst = to.words64
  let s = fromSlot * w
  let d = toSlot * w
  const end = s + count * w
  if ((w & 3) === 0) {
    // Four words per step: a 32-byte record (the common size) in one iteration.
    for (; s < end; s += 4, d += 4) {
      dst[d] = src[s]!
      dst[d + 1] = src[s + 1]!
      dst[d + 2] = src[s + 2]!
      dst[d + 3] = src[s + 3]!
    }
  } else {
    while (s < end) dst[d++] = src[s++]!
  }
}

/** Reads one record into a fresh object (allocates; for edges and tests). */
export const readRecord = <F extends FieldSpec>(view: RecordView<F>, slot: number): RecordOf<F> => {
  const out: Record<string, number> = {}
  for (const info of view.layout.fields) out[info.name] = view.fields[info.name]!.get(slot)
  return out as RecordOf<F>
}

/** Writes one plain record into a slot. */
export const writeRecord = <F extends FieldSpec>(view: RecordView<F>, slot: number, record: RecordOf<F>): void => {
  for (const info of view.layout.fields) view.fields[info.name]!.set(slot, record[info.name]!)
}
