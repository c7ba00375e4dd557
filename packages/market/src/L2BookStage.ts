/**
 * The L2 book stage: keeps an exact book per symbol in sync with a market-by-price feed
 * ({@link L2Update}s), by per-symbol sequence numbers, and publishes each symbol's best bid and offer
 * ({@link Bbo}) when it changes.
 *
 *   L2Update ─▶ l2-book ─▶ Bbo (top-of-book changes only; stale and snapshot marks)
 *                  │
 *                  ├─▶ dropped: Stale (book out of sync), Duplicate (sequence number already seen)
 *                  ├─▶ dead letters: UnknownSymbol | InvalidSequence | BadOp | InvalidSide |
 *                  │                 PriceOutOfRange | InvalidSize | SizeOverflow | LevelExists |
 *                  │                 LevelMissing | SnapshotMismatch
 *                  └─▶ status table (optional): sync state per symbol, gaps, resyncs, crossed/locked
 *
 * Every update ends in exactly one of: **applied** (emitted in a `Bbo` when it changed the top of
 * book, else accounted without an output record), **dropped** with reason `Stale` or `Duplicate`, or
 * **refused** (dead-lettered under its reason, the book unchanged). So the ledger line of the stage
 * reconciles the feed: `in = emitted + dropped{Stale, Duplicate} + dead-lettered{by reason}`, where
 * `emitted` counts applied updates (the stage also writes `Bbo` records that stand for no update: the
 * stale marks below, so `written` may exceed the top-of-book changes).
 *
 * Sequencing (the whole state machine is in `internal/kernel/l2Books.ts`):
 * - a symbol's book is LIVE expecting sequence number `next`: `seq = next` is applied; `seq < next` is
 *   a duplicate (dropped); `seq > next` is a gap — the book goes **stale** and its updates are dropped
 *   (counted as `Stale`) until a snapshot (`SnapshotBegin`, `SnapshotLevel`s, `SnapshotEnd`, all
 *   carrying the snapshot's sequence number `S`) resyncs it, LIVE again expecting `S + 1`;
 * - a refused update in its place in the sequence makes the book stale too (it missed a change it
 *   could not apply);
 * - books start waiting for a snapshot, or, with `firstSeq`, live and empty expecting `firstSeq` (a
 *   feed replayed from the start of its session).
 *
 * Output, per symbol: a `Bbo` when the best bid, best offer or a size at them changes (or the book
 * becomes crossed or locked, or stops being); one flagged `Stale` (the last prices, no longer live)
 * when the book goes out of sync; one flagged `Snapshot` when a snapshot ends. Crossed (bid > ask) and
 * locked (bid = ask) books are flagged `Crossed` / `Locked` and counted in the status table, never
 * corrected: the book mirrors the feed.
 *
 * Depth on request: in-process, `logic.snapshot(symbol, n)` (or `bookSnapshot(logic.book, symbol, n)`)
 * gives the top `n` levels of both sides. In a running pipeline the books live in the stage's own
 * loop; other threads ask it through a mailbox: give the stage `depthMailbox: L2Depth.make({ instances })`
 * and call `L2Depth.request(mailbox, symbol, n)` — the stage answers between batches (its timer looks
 * at the mailbox about every millisecond), with its book as it stands at that instant.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@velox/core"
 * import { L2BookStage, L2Feed, L2Status } from "@velox/market"
 * import { BboSink } from "./bboSink.ts" // a Bbo sink of yours
 *
 * const status = L2Status.make(10_000)
 * const pipeline = Pipeline.from(L2Feed, { symbols: 10_000, rate: 35_000 })
 *   .partition(L2BookStage, { symbols: 10_000, status }, { by: "symbol", count: 2 })
 *   .to(BboSink, {})
 * ```
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { Stage } from "@velox/core"
import { Bbo } from "./Bbo.ts"
import { DepthResponder, mailboxShape } from "./internal/kernel/depthMailbox.ts"
import * as K from "./internal/kernel/l2Books.ts"
import { tableSymbols } from "./internal/kernel/l2Status.ts"
import { wordIndex } from "./internal/layoutWords.ts"
import { bookOptions, reservationError } from "./internal/bookConfig.ts"
import type { OrderBooks } from "./internal/kernel/orderBook.ts"
import * as L2Status from "./L2Status.ts"
import { L2Update } from "./L2Update.ts"
import { Config as BookConfig, DEFAULT_DEPTH, type BookSnapshot, snapshot } from "./OrderBookStage.ts"

const DepthMailbox = Schema.declare((u): u is SharedArrayBuffer => mailboxShape(u) !== undefined, {
  expected: "a depth mailbox from L2Depth.make({ instances })"
})

const Status = Schema.declare((u): u is SharedArrayBuffer => L2Status.isStatus(u), {
  expected: "a status table from L2Status.make(symbols)"
})

/**
 * The stage's config: the book's (`symbols`, `windowTicks`, `maxTick`, `depth`, `reserveLadders`, as
 * the order book stage's), `firstSeq` (books start live and empty expecting this sequence
 * number; default: they wait for a snapshot), `status` (a table from {@link L2Status.make} with at
 * least `symbols` symbols), `depthMailbox` (a mailbox from `L2Depth.make({ instances })`, one slot per
 * instance: the stage answers `L2Depth.request`s from it, about every millisecond).
 *
 * @category models
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  ...BookConfig.fields,
  firstSeq: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: K.MAX_SEQUENCE }))),
  status: Schema.optional(Status),
  depthMailbox: Schema.optional(DepthMailbox)
}).check(
  Schema.makeFilter((c) => {
    if (c.status === undefined) return reservationError(c)
    const held = tableSymbols(c.status)
    return held >= c.symbols ? reservationError(c) : `status holds ${held} symbols, fewer than symbols=${c.symbols}`
  })
)

/**
 * @category models
 * @since 0.1.0
 */
export type Config = typeof Config.Type

/**
 * Drop reasons by code: `Stale` (0), `Duplicate` (1).
 *
 * @category errors
 * @since 0.1.0
 */
export const dropReasons = ["Stale", "Duplicate"] as const

/**
 * Error tags by code (dead letters come back from a run as `RecordFailed` with `error` one of these).
 *
 * @category errors
 * @since 0.1.0
 */
export const errors = [
  "UnknownSymbol",
  "InvalidSequence",
  "BadOp",
  "InvalidSide",
  "PriceOutOfRange",
  "InvalidSize",
  "SizeOverflow",
  "LevelExists",
  "LevelMissing",
  "SnapshotMismatch"
] as const

/**
 * A declared error tag of the stage.
 *
 * @category errors
 * @since 0.1.0
 */
export type ErrorTag = typeof errors[number]

/** Error code by kernel refusal code `c` (at `-c`); -1 where a code cannot occur (a cancel's). */
const ERROR_OF = Int8Array.from([-1, 4, 5, 6, -1, 0, 3, 7, 8, 2, 1, 9])

/**
 * The stage's error code for a kernel refusal code (negative), or -1.
 *
 * @category errors
 * @since 0.1.0
 */
export const errorCodeOf = (kernelCode: number): number => ERROR_OF[-kernelCode] ?? -1

const STALE = 0
const DUPLICATE = 1
// The outcomes the batch loop tests, module-local: V8 folds these into the loop, where it would read
// the kernel's exported bindings through their module cells, with a hole check, at every use.
const APPLIED = K.APPLIED
const APPLIED_TOP = K.APPLIED_TOP
const DROPPED_STALE = K.DROPPED_STALE
const DROPPED_DUPLICATE = K.DROPPED_DUPLICATE
/** How often a stage with a depth mailbox looks at it, when idle too. */
const DEPTH_POLL_NS = 1_000_000

/**
 * The stage's logic: a `StageLogic` that also exposes its books, for in-process use.
 *
 * @category models
 * @since 0.1.0
 */
export interface L2BookLogic extends Stage.StageLogic<typeof L2Update.spec, typeof Bbo.spec> {
  /** The books and their sequencing (read between batches, on the same thread). */
  readonly l2: K.L2Books
  /** The same books, as the order book they are (every query of `OrderBooks`). */
  readonly book: OrderBooks
  /** The top `n` levels of both sides of `symbol` (default: the config's `depth`); allocates. */
  snapshot(symbol: number, n?: number): BookSnapshot
}

// Where each `L2Update` field is: a record's stride and the field's index, in elements of its array's
// type (module constants, which the JIT folds into the loop's address arithmetic).
const fieldAt = (name: keyof typeof L2Update.spec & string, bytes: 2 | 4 | 8) => wordIndex(L2Update, name, bytes)
const STRIDE_32 = L2Update.byteLength / 4
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
// `side` and `op` share one 32-bit word; a u16 field is read from it as `(word << left) >>> 16`, where
// `left` is 16 for its low half and 0 for its high half (in the platform's byte order).
const leftShift = (name: keyof typeof L2Update.spec & string) => (((fieldAt(name, 2) & 1) === 1) === LITTLE_ENDIAN ? 0 : 16)
const SEQ_AT = fieldAt("seq", 8)
const TS_AT = fieldAt("exchangeTsNs", 8)
const PRICE_AT = fieldAt("price", 8)
const SIZE_AT = fieldAt("size", 8)
const SYMBOL_AT = fieldAt("symbol", 4)
const SIDE_OP_AT = fieldAt("side", 2) >>> 1
const SIDE_LEFT = leftShift("side")
const OP_LEFT = leftShift("op")
if (fieldAt("op", 2) >>> 1 !== SIDE_OP_AT) throw new Error("L2Update: side and op must share a 32-bit word")
// Where each `Bbo` field is written, the same way (a `u32` field from its 32-bit word: the values written
// there, a symbol index and the flags, are below 2^31).
const bboAt = (name: keyof typeof Bbo.spec & string, bytes: 4 | 8) => wordIndex(Bbo, name, bytes)
const BBO_STRIDE_64 = Bbo.byteLength / 8
const BBO_STRIDE_32 = Bbo.byteLength / 4
const BBO_SEQ_AT = bboAt("seq", 8)
const BBO_TS_AT = bboAt("exchangeTsNs", 8)
const BBO_BID_PRICE_AT = bboAt("bidPrice", 8)
const BBO_BID_SIZE_AT = bboAt("bidSize", 8)
const BBO_ASK_PRICE_AT = bboAt("askPrice", 8)
const BBO_ASK_SIZE_AT = bboAt("askSize", 8)
const BBO_SYMBOL_AT = bboAt("symbol", 4)
const BBO_FLAGS_AT = bboAt("flags", 4)

/**
 * Builds the stage's logic for a decoded config: empty books, every one waiting for a snapshot (or
 * live from `firstSeq`).
 *
 * @example
 * ```ts
 * import { L2BookStage } from "@velox/market"
 *
 * const logic = L2BookStage.make({ symbols: 4, firstSeq: 1 })
 * // logic.onBatch(updates, start, count, out) … then
 * console.log(logic.snapshot(0, 5)) // { symbol: 0, bids: [[price, size], …], asks: […] }
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeLogic = (config: Config, context?: Partial<Stage.StageContext>): L2BookLogic => {
  const l2 = new K.L2Books({
    ...bookOptions(config),
    ...(config.firstSeq === undefined ? {} : { firstSeq: config.firstSeq }),
    ...(config.status === undefined ? {} : { status: config.status })
  })
  const book: OrderBooks = l2
  const depth = config.depth ?? DEFAULT_DEPTH
  const responder = config.depthMailbox === undefined ? undefined : new DepthResponder(config.depthMailbox, context?.instance ?? 0)
  const syncOf = (s: number) => l2.syncOf(s)
  const touched = (s: number) => l2.touched(s)
  const nextSeq = (s: number) => l2.expectedSeq(s)
  let lastTimerNs = -Infinity
  return {
    l2,
    book,
    snapshot: (symbol, n = depth) => snapshot(book, symbol, n),
    // Depth requests from other threads, answered between batches (a mailbox is checked with one load).
    ...(responder === undefined ? {} : {
      onTimer(nowNs: number) {
        lastTimerNs = nowNs
        responder.serve(book, syncOf, touched, nextSeq)
      },
      nextWakeNs: () => lastTimerNs + DEPTH_POLL_NS
    }),
    onBatch(input, start, count, out) {
      // The records read straight from their region's word arrays at the layout's offsets (constants),
      // not through the per-field accessor closures (each loads its array, stride and index); the `Bbo`
      // records written the same way. Every outcome is handled here, in the loop, not in functions of
      // its own: V8 never inlines a function this large (over 460 bytes of bytecode) into its caller, so
      // the loop is always a compilation unit of its own, and its whole inlining budget (920 bytes) goes
      // to the calls it makes — first the books' update path (`apply`, then `putNear`), which must be
      // inlined whatever the call counts the JIT saw (a feed starts with snapshots, not that path).
      const f64 = input.words64, i32 = input.words
      const end = start + count
      let applied = 0
      for (let i = start; i < end; i++) {
        const w = i * STRIDE_32 // the record's first int32 word; its first f64 word is half that
        const sideOp = i32[w + SIDE_OP_AT]!
        const symbol = i32[w + SYMBOL_AT]! >>> 0
        const seq = f64[(w >>> 1) + SEQ_AT]!
        const r = l2.apply(
          symbol,
          (sideOp << OP_LEFT) >>> 16,
          (sideOp << SIDE_LEFT) >>> 16,
          f64[(w >>> 1) + PRICE_AT]!,
          f64[(w >>> 1) + SIZE_AT]!,
          seq
        )
        if (r === APPLIED) {
          applied++
          continue
        }
        // A top of book to publish: a change (accounting for this update), or the stale mark (for none).
        if (r === APPLIED_TOP || l2.announceStale) {
          const slot = out.emit(r === APPLIED_TOP ? 1 : 0)
          const o64 = out.view.words64, o32 = out.view.words
          const at = slot * BBO_STRIDE_64
          o64[at + BBO_SEQ_AT] = seq
          o64[at + BBO_TS_AT] = f64[(w >>> 1) + TS_AT]!
          o64[at + BBO_BID_PRICE_AT] = l2.bidPrice
          o64[at + BBO_BID_SIZE_AT] = l2.bidSize
          o64[at + BBO_ASK_PRICE_AT] = l2.askPrice
          o64[at + BBO_ASK_SIZE_AT] = l2.askSize
          o32[slot * BBO_STRIDE_32 + BBO_SYMBOL_AT] = symbol
          o32[slot * BBO_STRIDE_32 + BBO_FLAGS_AT] = l2.flags
          if (r === APPLIED_TOP) continue
        }
        if (r === DROPPED_STALE) out.drop(STALE)
        else if (r === DROPPED_DUPLICATE) out.drop(DUPLICATE)
        else out.deadLetter(ERROR_OF[-r]!, input, i)
      }
      // Applied updates that changed no top of book: delivered with no output record of their own.
      if (applied !== 0) out.account(applied)
    }
  }
}

/**
 * The L2 book stage: `L2Update` in, `Bbo` out; see the module comment. It retains no records, so a
 * restart loses only the books, and the feed's own protocol covers that: every restarted book waits
 * for a snapshot (or, with `firstSeq`, goes stale at the next update's gap), dropping its updates as
 * `Stale` — counted — until the feed resyncs it, and the status table shows it as its updates arrive.
 * Nothing it emits after a restart rests on the lost books, so it does not declare `keepsState` (that
 * is for state whose loss would pass unseen, as `OrderBookStage`'s does). It handles one record at a
 * time, so batch boundaries and placement do not change its output.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pipeline } from "@velox/core"
 * import { CaptureSink, ReplaySource } from "@velox/core/testing"
 * import { Bbo, L2BookStage, L2Update } from "@velox/market"
 *
 * const { Add } = L2Update.Op
 * const updates = [
 *   { seq: 1, exchangeTsNs: 0, price: 10_000, size: 5, symbol: 0, side: 0, op: Add },
 *   { seq: 2, exchangeTsNs: 1, price: 10_002, size: 7, symbol: 0, side: 1, op: Add }
 * ]
 * const captured = CaptureSink.allocate(Bbo.Bbo, 16)
 * const program = Pipeline.runToEnd(
 *   Pipeline.from(ReplaySource.make(L2Update.L2Update), ReplaySource.encode(L2Update.L2Update, [updates]))
 *     .via(L2BookStage, { symbols: 1, firstSeq: 1 })
 *     .to(CaptureSink.make(Bbo.Bbo), captured)
 * ).pipe(Effect.map(() => CaptureSink.records(Bbo.Bbo, captured)))
 * // [{ seq: 1, bidPrice: 10000, bidSize: 5, askPrice: 0, … }, { seq: 2, …, askPrice: 10002, askSize: 7, flags: 0 }]
 * ```
 *
 * @category stages
 * @since 0.1.0
 */
export const L2BookStage: L2BookStageDefinition = Stage.make({
  name: "l2-book",
  module: import.meta.url,
  input: L2Update,
  output: Bbo,
  config: Config,
  dropReasons,
  errors,
  timerPeriodNs: DEPTH_POLL_NS,
  make: makeLogic
}) as L2BookStageDefinition

/**
 * The stage definition's type, with `make` returning {@link L2BookLogic}.
 *
 * @category models
 * @since 0.1.0
 */
export interface L2BookStageDefinition extends Stage.StageDefinition<typeof L2Update.spec, typeof Bbo.spec, Config> {
  readonly input: typeof L2Update
  readonly output: typeof Bbo
  readonly dropReasons: typeof dropReasons
  readonly errors: typeof errors
  readonly make: (config: Config, context?: Partial<Stage.StageContext>) => L2BookLogic
}
