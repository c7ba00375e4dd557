/**
 * Where a layout's field sits in a record view's word arrays, for hot loops that read and write
 * `view.words64` / `view.words` at computed indexes instead of through the field accessors' closures.
 */
import type { RecordLayout } from "@velox/core"

/**
 * The index of field `name` in `bytes`-byte words from the record's start (8 for `words64`, 4 for
 * `words`, 2 for a half of a 32-bit word). Throws for a field the layout does not have: a constant
 * computed at import, so a renamed field fails there, not as a NaN index in a loop.
 */
export const wordIndex = <F extends RecordLayout.FieldSpec>(
  layout: RecordLayout.RecordLayout<F>,
  name: keyof F & string,
  bytes: 2 | 4 | 8
): number => {
  const field = layout.fields.find((f) => f.name === name)
  if (field === undefined) throw new Error(`layout ${layout.name} has no field ${name}`)
  return field.offset / bytes
}
