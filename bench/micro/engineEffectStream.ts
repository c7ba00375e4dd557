/**
 * Peer of `topology/engineThroughput.ts` on ONE thread: the engine's work as an Effect `Stream`.
 *
 * ```
 *   one thread, one Effect runtime, pull-based
 *   transactions ─► map: apply to the books ─► filter: applied ─► grouped(16) ─► map: bundle ─► runFold: validate, count, checksum
 *   (fromPull: OrderFlow,   (OrderBooks kernel, the    (refusals counted)   (the bundler)              (the output)
 *    chunks of 256)          stage's dispatch)
 * ```
 *
 * How the work is made equal to the velox engine's and the plain loop's:
 *
 * - **ingress**: the source is `Stream.fromPull`, each pull one chunk of `chunk` (256, the velox batch)
 *   transactions from `OrderFlow.next()` — the generator `Ingress` runs, same seed and symbols — as
 *   plain objects with the seven fields of the `Transaction` layout, `tsNs` the pull's clock reading (one
 *   read per chunk, as the unthrottled `Ingress` stamps each poll);
 * - **order book**: a `map` applies each to the exact `OrderBooks` kernel with the stage's dispatch
 *   (add / cancel / best-then-trade) and builds a nine-field book update object (level size, best bid,
 *   best ask after the change); a refusal is counted and becomes `undefined`, which a `filter` removes;
 * - **bundler**: `Stream.grouped(16)` (Effect's own chunking: a size-16 array per bundle; the last,
 *   shorter one at the end of the stream is the drain flush), then a `map` to a seven-field bundle
 *   object (`firstTxId`, `lastTxId`, `openNs`, `closeNs` = newest `tsNs`, `count`, `reason`);
 * - **output**: `Stream.runFold` with one mutable tally: the same validation as Output, counts,
 *   `OutputTotals.checksumOf`, flushes per reason.
 *
 * Values in a stream are immutable, so each stage builds a new object where velox writes the fields
 * of a ring slot: that is what an Effect pipeline of records does. Effects' own overheads (pulls, chunk
 * arrays, the fold) are the framework's, like velox's loop and emitters.
 *
 * Time-boxed like the other cases: a `warmupMs` stream (JIT), then a fresh `durationMs` stream, timed
 * from before it starts to its result; the deadline is read once per chunk. The generator and books
 * carry on from one stream to the next. Checked before returning: nothing refused, every transaction
 * generated received in a bundle, the checksum equal to the closed form (each stream's bundles are its
 * transactions cut into 16s, the last shorter), and the books equal, level by level, to what the
 * generator says it put on them.
 */
import { Cause, Effect, Stream } from "effect"
import { OrderBook, OutputTotals } from "@velox/market"
import { OrderFlow, validateBundleFields } from "@velox/market/unsafe"
import { bundleChecksumOf, checkBookAgainstFlow, ENGINE } from "./engineWork.ts"

export interface Params {
  /** Transactions per source chunk. */
  readonly chunk: number
  readonly warmupMs: number
  readonly durationMs: number
}

const ADD = 0
const CANCEL = 1
const TRADE = 2
const SIZE = 0
const DRAIN = 2
const MAX_COUNT = 65_536

interface Transaction {
  readonly id: number
  readonly tsNs: number
  readonly price: number
  readonly size: number
  readonly symbol: number
  readonly side: number
  readonly kind: number
}

interface BookUpdate {
  readonly txId: number
  readonly tsNs: number
  readonly price: number
  readonly levelSize: number
  readonly bestBid: number
  readonly bestAsk: number
  readonly symbol: number
  readonly side: number
  readonly kind: number
}

interface Bundle {
  readonly id: number
  readonly firstTxId: number
  readonly lastTxId: number
  readonly openNs: number
  readonly closeNs: number
  readonly count: number
  readonly reason: number
}

interface Tally {
  bundles: number
  transactions: number
  checksum: number
  invalid: number
  sizeFlushes: number
  drainFlushes: number
}

interface Engine {
  readonly flow: OrderFlow
  readonly book: OrderBook.OrderBooks
  refused: number
  nextBundleId: number
}

const EPOCH_NS = performance.timeOrigin * 1e6

/** `chunk` transactions per pull until `deadline` (performance.now() ms). */
const transactionsUntil = (e: Engine, deadline: number, chunk: number): Stream.Stream<Transaction> =>
  Stream.fromPull(Effect.sync(() =>
    Effect.suspend(() => {
      const now = performance.now()
      if (now >= deadline) return Cause.done()
      const tsNs = Math.floor(now * 1e6 + EPOCH_NS)
      const flow = e.flow
      const out = new Array<Transaction>(chunk)
      for (let i = 0; i < chunk; i++) {
        flow.next()
        out[i] = { id: flow.id, tsNs, price: flow.price, size: flow.size, symbol: flow.symbol, side: flow.side, kind: flow.kind }
      }
      return Effect.succeed(out as unknown as readonly [Transaction, ...Array<Transaction>])
    })
  ))

const applyToBook = (e: Engine) => (t: Transaction): BookUpdate | undefined => {
  const book = e.book
  const { kind, side, size, symbol } = t
  let price: number
  let result: number
  if (kind === ADD) {
    price = t.price
    result = book.add(symbol, side, price, size)
  } else if (kind === CANCEL) {
    price = t.price
    result = book.cancel(symbol, side, price, size)
  } else if (kind === TRADE) {
    price = book.best(symbol, side)
    result = book.trade(symbol, side, size)
  } else {
    e.refused++
    return undefined
  }
  if (result < 0) {
    e.refused++
    return undefined
  }
  return {
    txId: t.id,
    tsNs: t.tsNs,
    price,
    levelSize: result,
    bestBid: book.bestBid(symbol),
    bestAsk: book.bestAsk(symbol),
    symbol,
    side,
    kind
  }
}

const isUpdate = (u: BookUpdate | undefined): u is BookUpdate => u !== undefined

const toBundle = (e: Engine, maxSize: number) => (updates: ReadonlyArray<BookUpdate>): Bundle => {
  let newestNs = updates[0]!.tsNs
  for (let i = 1; i < updates.length; i++) if (updates[i]!.tsNs > newestNs) newestNs = updates[i]!.tsNs
  return {
    id: e.nextBundleId++,
    firstTxId: updates[0]!.txId,
    lastTxId: updates[updates.length - 1]!.txId,
    openNs: updates[0]!.tsNs,
    closeNs: newestNs,
    count: updates.length,
    reason: updates.length === maxSize ? SIZE : DRAIN
  }
}

// The fold's accumulator is one mutable tally (no allocation per bundle).
const tally = (t: Tally, b: Bundle): Tally => {
  if (validateBundleFields(b.count, b.reason, b.firstTxId, b.lastTxId, MAX_COUNT) !== 0) {
    t.invalid++
    return t
  }
  t.bundles++
  t.transactions += b.count
  t.checksum = OutputTotals.checksumOf(t.checksum, b.firstTxId, b.lastTxId, b.count)
  if (b.reason === SIZE) t.sizeFlushes++
  else t.drainFlushes++
  return t
}

const engineStream = (e: Engine, deadline: number, chunk: number): Effect.Effect<Tally> =>
  transactionsUntil(e, deadline, chunk).pipe(
    Stream.map(applyToBook(e)),
    Stream.filter(isUpdate),
    Stream.grouped(ENGINE.bundleSize),
    Stream.map(toBundle(e, ENGINE.bundleSize)),
    Stream.runFold((): Tally => ({ bundles: 0, transactions: 0, checksum: 0, invalid: 0, sizeFlushes: 0, drainFlushes: 0 }), tally)
  )

const timedStream = async (e: Engine, chunk: number, ms: number) => {
  const from = e.flow.id + 1
  const t0 = performance.now()
  const t = await Effect.runPromise(engineStream(e, t0 + ms, chunk))
  return { tally: t, generated: e.flow.id + 1 - from, ms: performance.now() - t0 }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = "effect stream"
  const e: Engine = {
    flow: new OrderFlow({ symbols: ENGINE.symbols, seed: ENGINE.seed }),
    book: new OrderBook.OrderBooks({ symbols: ENGINE.symbols }),
    refused: 0,
    nextBundleId: 0
  }
  const warm = await timedStream(e, params.chunk, params.warmupMs)
  const timed = await timedStream(e, params.chunk, params.durationMs)
  const problems: Array<string> = []
  if (!(timed.generated > 0)) problems.push("nothing generated")
  if (e.refused !== 0) problems.push(`${e.refused} transactions refused by the book`)
  let from = 0
  for (const [what, r] of [["warm-up", warm], ["timed", timed]] as const) {
    const expected = bundleChecksumOf(r.generated, ENGINE.bundleSize, from)
    if (r.tally.invalid !== 0) problems.push(`${what}: ${r.tally.invalid} invalid bundles`)
    if (r.tally.transactions !== r.generated) problems.push(`${what}: output received ${r.tally.transactions} of ${r.generated}`)
    if (r.tally.checksum !== expected) problems.push(`${what}: checksum ${r.tally.checksum} ≠ ${expected}`)
    from += r.generated
  }
  if (problems.length > 0) throw new Error(`${label}: check failed: ${problems.join("; ")}`)
  checkBookAgainstFlow(label, e.book, e.flow)
  return {
    mtxPerSecond: timed.generated / timed.ms / 1e3,
    timedTransactions: timed.generated,
    transactions: warm.generated + timed.generated,
    bundles: warm.tally.bundles + timed.tally.bundles
  }
}
