/**
 * Depth on request from a running {@link L2BookStage}: the top levels of one symbol's book, read from
 * any thread (the main thread, an HTTP handler) while the stage runs in its worker, without stopping
 * it. Make a mailbox with one slot per stage instance, pass it in the stage's config (`depthMailbox`), and
 * {@link request} a symbol: the stage answers from its timer (about every millisecond, between
 * batches), so the answer is its book at one instant — never a book mid-update.
 *
 * The layout and the protocol are drawn in `internal/kernel/depthMailbox.ts`. One request at a time
 * per mailbox (a lock word in it); concurrent requesters wait their turn.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { L2BookStage, L2Depth, L2Feed } from "@velox/market"
 *
 * const depthMailbox = L2Depth.make({ instances: 2, levels: 20 })
 * const pipeline = Pipeline.from(L2Feed, { symbols: 10_000, rate: 35_000 })
 *   .partition(L2BookStage, { symbols: 10_000, depthMailbox }, { by: "symbol", count: 2 })
 * // .to(a Bbo sink) … while it runs:
 * const top = L2Depth.request(depthMailbox, 42, 10) // Effect<L2Depth.Depth, L2Depth.L2DepthError>
 * // { symbol: 42, state: "live", nextSeq: 1207, bids: [[2041998, 310], …], asks: [[2042001, 75], …] }
 * ```
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schema } from "effect"
import * as K from "./internal/kernel/depthMailbox.ts"
import type { State } from "./L2Status.ts"

const STATES: ReadonlyArray<State> = ["waiting", "live", "stale", "resyncing", "refreshing"]

/**
 * Why a request failed: `UnknownSymbol` (not a symbol of the books), `InvalidRequest` (a bad symbol
 * or level count), `Timeout` (no answer from every instance in time: the stage is not running with
 * this mailbox, or is stuck).
 *
 * @category errors
 * @since 0.1.0
 */
export class L2DepthError extends Schema.TaggedError<L2DepthError>()("L2DepthError", {
  reason: Schema.Literals(["UnknownSymbol", "InvalidRequest", "Timeout"]),
  message: Schema.String
}) {}

/**
 * One symbol's book as the stage held it: its sync state, the sequence number it expects next (when
 * live), and up to the asked number of levels per side, best first, as `[price, size]`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Depth {
  readonly symbol: number
  readonly state: State
  readonly nextSeq: number
  readonly bids: ReadonlyArray<readonly [number, number]>
  readonly asks: ReadonlyArray<readonly [number, number]>
}

/**
 * A mailbox for a stage of `instances` instances (a partition's `count`; 1 otherwise) answering up to
 * `levels` levels per side (default 50).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: { readonly instances: number; readonly levels?: number }): SharedArrayBuffer =>
  K.makeMailbox(options.instances, options.levels ?? 50)

/**
 * @category guards
 * @since 0.1.0
 */
export const isMailbox = (u: unknown): u is SharedArrayBuffer => K.mailboxShape(u) !== undefined

/**
 * The mailbox's shape: how many instances, how many levels per side at most.
 *
 * @category models
 * @since 0.1.0
 */
export const describe = (mailbox: SharedArrayBuffer): { readonly instances: number; readonly levels: number } => {
  const shape = K.mailboxShape(mailbox)
  if (shape === undefined) throw new TypeError("not a depth mailbox (make one with L2Depth.make)")
  return { instances: shape[0], levels: shape[1] }
}

const POLL = Duration.millis(1)

/** Takes the mailbox's lock (waiting for a concurrent request), released when the scope closes. */
const locked = (words: Int32Array) => {
  const take: Effect.Effect<void> = Effect.suspend(() =>
    // acquire: the lock, and with it every slot's request words.
    Atomics.compareExchange(words, K.LOCK_WORD, 0, 1) === 0 ? Effect.void : Effect.sleep(POLL).pipe(Effect.andThen(take))
  )
  // publish: the lock free again.
  return Effect.acquireRelease(take, () => Effect.sync(() => Atomics.store(words, K.LOCK_WORD, 0)))
}

/** Waits until the slot's response word equals `request` (or the deadline passes). */
const answered = (words: Int32Array, index: number, request: number, deadline: number): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    // acquire: the slot's answer, written before its response word.
    const seen = Atomics.load(words, index)
    if (seen === request) return Effect.succeed(true)
    const left = deadline - performance.now()
    if (left <= 0) return Effect.succeed(false)
    const wait = Atomics.waitAsync(words, index, seen, left)
    return (wait.async ? Effect.promise(() => wait.value) : Effect.void).pipe(
      Effect.andThen(answered(words, index, request, deadline))
    )
  })

/**
 * The top `levels` levels per side of `symbol`, from the running stage's book (see the module
 * comment). Fails with `Timeout` when not every instance answers within `timeout` (default 1 second).
 *
 * @category constructors
 * @since 0.1.0
 */
export const request = (
  mailbox: SharedArrayBuffer,
  symbol: number,
  levels: number,
  options: { readonly timeout?: Duration.Input } = {}
): Effect.Effect<Depth, L2DepthError> =>
  Effect.gen(function*() {
    const shape = K.mailboxShape(mailbox)
    if (shape === undefined) {
      return yield* new L2DepthError({ reason: "InvalidRequest", message: "not a depth mailbox (make one with L2Depth.make)" })
    }
    const [slots, most] = shape
    if (!(Number.isInteger(symbol) && symbol >= 0 && symbol <= 0x7fffffff)) {
      return yield* new L2DepthError({ reason: "InvalidRequest", message: `symbol must be an integer ≥ 0: symbol=${symbol}` })
    }
    if (!(Number.isInteger(levels) && levels >= 1 && levels <= most)) {
      return yield* new L2DepthError({ reason: "InvalidRequest", message: `levels must be an integer in 1..${most}: levels=${levels}` })
    }
    const timeoutMs = Duration.toMillis(options.timeout ?? "1 second")
    const words = new Int32Array(mailbox)
    const f64 = new Float64Array(mailbox)
    return yield* Effect.scoped(Effect.gen(function*() {
      yield* locked(words)
      const requests: Array<number> = []
      for (let s = 0; s < slots; s++) {
        const at = K.slotOffset(most, s) >> 2
        words[at + (K.SYMBOL >> 2)] = symbol
        words[at + (K.WANTED >> 2)] = levels
        const next = (words[at + (K.REQUEST >> 2)]! + 1) | 0
        requests.push(next)
        // publish: the symbol and count above, as request `next`.
        Atomics.store(words, at + (K.REQUEST >> 2), next)
      }
      const deadline = performance.now() + timeoutMs
      let owner = -1
      for (let s = 0; s < slots; s++) {
        const at = K.slotOffset(most, s) >> 2
        if (!(yield* answered(words, at + (K.RESPONSE >> 2), requests[s]!, deadline))) {
          return yield* new L2DepthError({
            reason: "Timeout",
            message: `instance ${s} of the L2 book stage did not answer within ${timeoutMs} ms (is the pipeline running, with this mailbox as its depthMailbox?)`
          })
        }
        const state = words[at + (K.STATE >> 2)]!
        if (state === K.UNKNOWN) {
          return yield* new L2DepthError({ reason: "UnknownSymbol", message: `symbol ${symbol} is not a symbol of the books` })
        }
        // The instance the symbol's updates go to has touched it; without updates, any instance will do.
        if (owner < 0 || (state & K.TOUCHED) !== 0) owner = s
      }
      const base = K.slotOffset(most, owner)
      const at = base >> 2
      const side = (count: number, from: number) =>
        Array.from({ length: count }, (_, i) => [f64[from + 2 * i]!, f64[from + 2 * i + 1]!] as const)
      const levelsAt = (base + K.LEVELS_OFFSET) >> 3
      return {
        symbol,
        state: STATES[words[at + (K.STATE >> 2)]! & 15] ?? "waiting",
        nextSeq: f64[(base + K.NEXT_SEQ) >> 3]!,
        bids: side(words[at + (K.BIDS >> 2)]!, levelsAt),
        asks: side(words[at + (K.ASKS >> 2)]!, levelsAt + 2 * most)
      }
    }))
  })
