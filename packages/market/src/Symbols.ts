/**
 * The symbol table: instrument names (`EURUSD`, `AAPL`) mapped to the u32 ids that records carry in
 * their `symbol` field, and back — one `SharedArrayBuffer` read by every thread without messages (a
 * stage's loop, the HTTP handlers on the main thread) and added to by any of them.
 *
 * **How it is filled.** A table is made with a fixed `capacity` and may start with names (ids 0, 1, …
 * in the order given). It then grows as names are registered — by the program, or by a feed the first
 * time it sees an instrument — up to `capacity`, never beyond: a registration that does not fit fails
 * with `SymbolsError` (reason `Full`), and its unsafe form returns {@link FULL}, which a feed counts as
 * a dropped quote. Ids are dense, never reused, never renamed, so per-symbol arrays in stages are sized
 * by `capacity` once. The layout (a header, a hash index, 48-byte entries) is drawn in
 * `internal/kernel/symbolTable.ts`; `byteLength(capacity)` says what it takes (10,000 symbols: 597 KiB).
 *
 * Names are 1 to 40 bytes of UTF-8, with no whitespace or control characters, and are case-sensitive.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Symbols } from "@velox/market"
 *
 * const table = Symbols.make(1_000, ["EURUSD", "GBPUSD"]) // EURUSD = 0, GBPUSD = 1
 * const program = Effect.gen(function*() {
 *   const id = yield* Symbols.register(table, "AAPL") // 2 (or the id it already had)
 *   console.log(Symbols.idOf(table, "EURUSD"), Symbols.nameOf(table, id)) // 0 "AAPL"
 * })
 * Effect.runPromise(program)
 * ```
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as K from "./internal/kernel/symbolTable.ts"

export {
  /** @category errors @since 0.1.0 */
  FULL,
  /** @category errors @since 0.1.0 */
  INVALID_NAME,
  /** @category layout @since 0.1.0 */
  MAX_CAPACITY,
  /** @category layout @since 0.1.0 */
  MAX_NAME_BYTES
} from "./internal/kernel/symbolTable.ts"

/**
 * A registration that failed: the table is `Full` (it holds `capacity` names), or the name is not
 * one (`InvalidName`: empty, over 40 bytes, whitespace or control characters).
 *
 * @category errors
 * @since 0.1.0
 */
export class SymbolsError extends Schema.TaggedError<SymbolsError>()("SymbolsError", {
  reason: Schema.Literals(["Full", "InvalidName"]),
  name: Schema.String,
  capacity: Schema.Number
}) {
  override get message(): string {
    return this.reason === "Full"
      ? `symbol table full: ${JSON.stringify(this.name)} does not fit, the table holds its capacity of ${this.capacity} names`
      : `not a symbol name: ${JSON.stringify(this.name)} (1 to ${K.MAX_NAME_BYTES} bytes of UTF-8, no whitespace or control characters)`
  }
}

/**
 * One thread's view of a table: lookups (no lock) and registration (under the table's lock). It
 * caches decoded names, so build one per thread and keep it.
 *
 * @category models
 * @since 0.1.0
 */
export interface View {
  readonly buffer: SharedArrayBuffer
  readonly capacity: number
  /** Names registered so far; ids `0 .. count() - 1` are taken. */
  count(): number
  /** The id of `name`, or -1. */
  idOf(name: string): number
  /** The name of `id`, or undefined. */
  nameOf(id: number): string | undefined
  /** The id of `name`, registering it when new; {@link FULL} or {@link INVALID_NAME} when it cannot. */
  register(name: string): number
}

/**
 * A table for up to `capacity` names, holding `names` (ids in their order; a repeated name keeps its
 * first id). Throws `RangeError` for a bad capacity, more distinct names than it holds, or a name that
 * may not be registered: tables are usually made once, at start, where a throw is what you want.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (capacity: number, names: Iterable<string> = []): SharedArrayBuffer => {
  const buffer = K.makeTable(capacity)
  const table = new K.SymbolTable(buffer)
  for (const name of names) {
    const id = table.register(name)
    if (id === K.FULL) throw new RangeError(`more names than the capacity of ${capacity}: ${JSON.stringify(name)} does not fit`)
    if (id === K.INVALID_NAME) throw new RangeError(new SymbolsError({ reason: "InvalidName", name, capacity }).message)
  }
  return buffer
}

/**
 * Bytes a table of `capacity` names takes.
 *
 * @category layout
 * @since 0.1.0
 */
export const byteLength: (capacity: number) => number = K.byteLength

/**
 * @category guards
 * @since 0.1.0
 */
export const isTable = (u: unknown): u is SharedArrayBuffer => K.tableCapacity(u) >= 1

/**
 * The table as a stage config field: a `SharedArrayBuffer` made by {@link make}, shared with the
 * stage's thread (not copied).
 *
 * @category models
 * @since 0.1.0
 */
export const Table: Schema.declare<SharedArrayBuffer> = Schema.declare(isTable, {
  expected: "a symbol table from Symbols.make(capacity)"
})

/**
 * A view of `table` for this thread. Throws `TypeError` when it is not a symbol table.
 *
 * @category constructors
 * @since 0.1.0
 */
export const view = (table: SharedArrayBuffer): View => new K.SymbolTable(table)

/**
 * How many names the table may hold.
 *
 * @category models
 * @since 0.1.0
 */
export const capacity = (table: SharedArrayBuffer): number => view(table).capacity

/**
 * Names registered so far.
 *
 * @category models
 * @since 0.1.0
 */
export const count = (table: SharedArrayBuffer): number => view(table).count()

/**
 * The id of `name`, or undefined when it is not registered.
 *
 * @category models
 * @since 0.1.0
 */
export const idOf = (table: SharedArrayBuffer, name: string): number | undefined => {
  const id = view(table).idOf(name)
  return id < 0 ? undefined : id
}

/**
 * The name of `id`, or undefined when no such id was handed out.
 *
 * @category models
 * @since 0.1.0
 */
export const nameOf = (table: SharedArrayBuffer, id: number): string | undefined => view(table).nameOf(id)

/**
 * Every name, by id.
 *
 * @category models
 * @since 0.1.0
 */
export const names = (table: SharedArrayBuffer): Array<string> => {
  const v = view(table)
  const n = v.count()
  const out: Array<string> = new Array(n)
  for (let id = 0; id < n; id++) out[id] = v.nameOf(id)!
  return out
}

/**
 * The id of `name`, registering it when new: `FULL` or `INVALID_NAME` (negative) when it cannot.
 *
 * @category unsafe
 * @since 0.1.0
 */
export const registerUnsafe = (table: SharedArrayBuffer, name: string): number => view(table).register(name)

/**
 * The id of `name`, registering it when new; fails with {@link SymbolsError} when the table is full or
 * the name is not one.
 *
 * @category constructors
 * @since 0.1.0
 */
export const register = (table: SharedArrayBuffer, name: string): Effect.Effect<number, SymbolsError> =>
  Effect.suspend(() => {
    const v = view(table)
    const id = v.register(name)
    if (id >= 0) return Effect.succeed(id)
    return Effect.fail(new SymbolsError({ reason: id === K.FULL ? "Full" : "InvalidName", name, capacity: v.capacity }))
  })
