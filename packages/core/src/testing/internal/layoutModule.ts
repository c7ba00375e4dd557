/**
 * How the test kit's replay source and capture sink get a layout into a worker thread.
 *
 * A worker finds a stage by importing its module URL and looking for the definition with the spec's
 * name among the module's exports, so a definition must be a module export — but the kit's helpers
 * must work for any layout. The helpers therefore put the layout in the module URL's query
 * (`ReplaySource.ts?layout=…`): each distinct URL is its own module instance, which rebuilds its
 * definition from `import.meta.url` when it loads. The layout is rebuilt from the same `[name, type]`
 * entries, so the offsets and the stride are identical on both sides.
 */
import { Schema } from "effect"
import { type FieldSpec, type FieldType, type Layout, layoutFromEntries } from "../../internal/kernel/recordLayout.ts"

/** A `SharedArrayBuffer` in a stage config (shared with the worker, never copied). */
export const SharedBuffer = Schema.declare(
  (u): u is SharedArrayBuffer => u instanceof SharedArrayBuffer
)

interface EncodedLayout {
  readonly name: string
  readonly fields: ReadonlyArray<readonly [string, FieldType]>
}

const QUERY_KEY = "layout"

/** `moduleUrl` (its query dropped) with `layout` in the query. */
export const moduleUrlFor = (moduleUrl: string, layout: Layout): string => {
  const url = new URL(moduleUrl)
  url.search = ""
  const encoded: EncodedLayout = { name: layout.name, fields: layout.fields.map((f) => [f.name, f.type] as const) }
  url.searchParams.set(QUERY_KEY, JSON.stringify(encoded))
  return url.href
}

/** The layout a module URL made by {@link moduleUrlFor} carries, or `undefined` when it has none. */
export const layoutFromModuleUrl = <F extends FieldSpec = FieldSpec>(moduleUrl: string): Layout<F> | undefined => {
  const raw = new URL(moduleUrl).searchParams.get(QUERY_KEY)
  if (raw === null) return undefined
  const encoded = JSON.parse(raw) as EncodedLayout
  return layoutFromEntries<F>(encoded.name, encoded.fields)
}
