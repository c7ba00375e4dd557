/**
 * Peer of `topology/engineThroughput.ts` with no framework: the engine's work hand-written on ONE
 * thread, batch by batch.
 *
 * ```
 *   one thread, per batch of `batch` transactions:
 *   generate ─► transactions ─► apply to the books ─► book updates ─► bundle by 16 ─► bundles ─► validate, count, checksum
 *   (OrderFlow, the Ingress        (OrderBooks, the stage's                 (Bundler's            (Output's
 *    generator itself)              own kernel and dispatch)                 rules)                counters)
 * ```
 *
 * The same work per transaction as the velox engine, record by record:
 *
 * - **ingress**: `OrderFlow.next()` (the very generator `Ingress` runs, same seed and symbols), the
 *   seven fields written into a transaction batch, `tsNs` = the batch's clock reading (one read per
 *   batch, as the unthrottled `Ingress` stamps each poll);
 * - **order book**: the seven fields read back, `add` / `cancel` / `trade` (best price first) on the
 *   exact `OrderBooks` kernel, a refusal counted, else the nine fields of a book update written (level
 *   size, best bid and best ask read after the change);
 * - **bundler**: per update `txId` and `tsNs` read; every 16th closes a bundle (seven fields written);
 * - **output**: per bundle the same validation (`count`, `reason`, ordered ids), counts,
 *   `OutputTotals.checksumOf`, flushes per reason.
 *
 * Batches are struct-of-arrays (one typed array per field): no framework, no shared memory. Small
 * functions called once per batch, the shape of a stage's batch handler.
 *
 * Time-boxed like the velox cases: `warmupMs` of stream (JIT), then `durationMs` of stream, timed; the
 * clock is read once per batch. Each stream ends with the bundler's drain flush; generator and books
 * carry on from one stream to the next. Checked before returning: nothing refused, every transaction
 * generated in a bundle, the bundles' checksum equal to the closed form, and the books equal, level by
 * level, to what the generator says it put on them.
 */
import { OrderBook, OutputTotals } from "@velox/market"
import { OrderFlow, validateBundleFields } from "@velox/market/unsafe"
import { bundleChecksumOf, checkBookAgainstFlow, ENGINE } from "./engineWork.ts"

export interface Params {
  readonly batch: number
  readonly warmupMs: number
  readonly durationMs: number
}

const ADD = 0
const CANCEL = 1
const TRADE = 2
const SIZE = 0
const DRAIN = 2
/** The largest valid bundle (Output's default `maxCount`). */
const MAX_COUNT = 65_536

interface Transactions {
  readonly id: Float64Array
  readonly tsNs: Float64Array
  readonly price: Float64Array
  readonly size: Float64Array
  readonly symbol: Uint32Array
  readonly side: Uint16Array
  readonly kind: Uint16Array
}

interface Updates {
  readonly txId: Float64Array
  readonly tsNs: Float64Array
  readonly price: Float64Array
  readonly levelSize: Float64Array
  readonly bestBid: Float64Array
  readonly bestAsk: Float64Array
  readonly symbol: Uint32Array
  readonly side: Uint16Array
  readonly kind: Uint16Array
}

interface Bundles {
  readonly id: Float64Array
  readonly firstTxId: Float64Array
  readonly lastTxId: Float64Array
  readonly openNs: Float64Array
  readonly closeNs: Float64Array
  readonly count: Uint32Array
  readonly reason: Uint32Array
}

/** The bundler's open bundle and the output's totals. */
interface State {
  count: number
  firstTxId: number
  lastTxId: number
  openNs: number
  newestNs: number
  nextId: number
  refused: number
  bundles: number
  transactions: number
  checksum: number
  invalidBundles: number
  sizeFlushes: number
  drainFlushes: number
}

const generate = (flow: OrderFlow, t: Transactions, n: number, tsNs: number): void => {
  for (let i = 0; i < n; i++) {
    flow.next()
    t.id[i] = flow.id
    t.tsNs[i] = tsNs
    t.price[i] = flow.price
    t.size[i] = flow.size
    t.symbol[i] = flow.symbol
    t.side[i] = flow.side
    t.kind[i] = flow.kind
  }
}

/** Applies `n` transactions; returns how many book updates it wrote. */
const applyToBooks = (book: OrderBook.OrderBooks, t: Transactions, n: number, u: Updates, s: State): number => {
  let k = 0
  for (let i = 0; i < n; i++) {
    const kind = t.kind[i]!
    const symbol = t.symbol[i]!
    const side = t.side[i]!
    const size = t.size[i]!
    let price: number
    let result: number
    if (kind === ADD) {
      price = t.price[i]!
      result = book.add(symbol, side, price, size)
    } else if (kind === CANCEL) {
      price = t.price[i]!
      result = book.cancel(symbol, side, price, size)
    } else if (kind === TRADE) {
      price = book.best(symbol, side)
      result = book.trade(symbol, side, size)
    } else {
      s.refused++
      continue
    }
    if (result < 0) {
      s.refused++
      continue
    }
    u.txId[k] = t.id[i]!
    u.tsNs[k] = t.tsNs[i]!
    u.price[k] = price
    u.levelSize[k] = result
    u.bestBid[k] = book.bestBid(symbol)
    u.bestAsk[k] = book.bestAsk(symbol)
    u.symbol[k] = symbol
    u.side[k] = side
    u.kind[k] = kind
    k++
  }
  return k
}

const closeBundle = (s: State, b: Bundles, m: number, reason: number): void => {
  b.id[m] = s.nextId++
  b.firstTxId[m] = s.firstTxId
  b.lastTxId[m] = s.lastTxId
  b.openNs[m] = s.openNs
  b.closeNs[m] = s.newestNs
  b.count[m] = s.count
  b.reason[m] = reason
  s.count = 0
}

/** Bundles `k` updates by `maxSize`; returns how many bundles it closed. */
const bundle = (u: Updates, k: number, b: Bundles, s: State, maxSize: number): number => {
  let m = 0
  for (let i = 0; i < k; i++) {
    const ts = u.tsNs[i]!
    if (s.count === 0) {
      s.firstTxId = u.txId[i]!
      s.openNs = ts
      s.newestNs = ts
    }
    s.lastTxId = u.txId[i]!
    if (ts > s.newestNs) s.newestNs = ts
    if (++s.count === maxSize) closeBundle(s, b, m++, SIZE)
  }
  return m
}

const output = (b: Bundles, m: number, s: State): void => {
  for (let i = 0; i < m; i++) {
    const first = b.firstTxId[i]!
    const last = b.lastTxId[i]!
    const count = b.count[i]!
    const reason = b.reason[i]!
    if (validateBundleFields(count, reason, first, last, MAX_COUNT) !== 0) {
      s.invalidBundles++
      continue
    }
    s.bundles++
    s.transactions += count
    s.checksum = OutputTotals.checksumOf(s.checksum, first, last, count)
    if (reason === SIZE) s.sizeFlushes++
    else s.drainFlushes++
  }
}

const transactions = (n: number): Transactions => ({
  id: new Float64Array(n),
  tsNs: new Float64Array(n),
  price: new Float64Array(n),
  size: new Float64Array(n),
  symbol: new Uint32Array(n),
  side: new Uint16Array(n),
  kind: new Uint16Array(n)
})

const updates = (n: number): Updates => ({
  txId: new Float64Array(n),
  tsNs: new Float64Array(n),
  price: new Float64Array(n),
  levelSize: new Float64Array(n),
  bestBid: new Float64Array(n),
  bestAsk: new Float64Array(n),
  symbol: new Uint32Array(n),
  side: new Uint16Array(n),
  kind: new Uint16Array(n)
})

const bundles = (n: number): Bundles => ({
  id: new Float64Array(n),
  firstTxId: new Float64Array(n),
  lastTxId: new Float64Array(n),
  openNs: new Float64Array(n),
  closeNs: new Float64Array(n),
  count: new Uint32Array(n),
  reason: new Uint32Array(n)
})

interface Engine {
  readonly flow: OrderFlow
  readonly book: OrderBook.OrderBooks
  readonly state: State
  readonly t: Transactions
  readonly u: Updates
  readonly b: Bundles
}

/** Runs the engine for `ms` of wall time, then the drain flush; returns the transactions generated and the time. */
const stream = (e: Engine, batch: number, ms: number): { readonly generated: number; readonly ms: number } => {
  const { flow, book, state, t, u, b } = e
  const epoch = performance.timeOrigin * 1e6
  const from = flow.id + 1
  const t0 = performance.now()
  const deadline = t0 + ms
  for (;;) {
    const now = performance.now()
    if (now >= deadline) break
    generate(flow, t, batch, Math.floor(now * 1e6 + epoch))
    const k = applyToBooks(book, t, batch, u, state)
    const m = bundle(u, k, b, state, ENGINE.bundleSize)
    output(b, m, state)
  }
  if (state.count > 0) {
    closeBundle(state, b, 0, DRAIN)
    output(b, 1, state)
  }
  return { generated: flow.id + 1 - from, ms: performance.now() - t0 }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = "plain loop"
  const n = params.batch
  const e: Engine = {
    flow: new OrderFlow({ symbols: ENGINE.symbols, seed: ENGINE.seed }),
    book: new OrderBook.OrderBooks({ symbols: ENGINE.symbols }),
    state: {
      count: 0, firstTxId: 0, lastTxId: 0, openNs: 0, newestNs: 0, nextId: 0,
      refused: 0, bundles: 0, transactions: 0, checksum: 0, invalidBundles: 0, sizeFlushes: 0, drainFlushes: 0
    },
    t: transactions(n),
    u: updates(n),
    b: bundles(Math.ceil(n / ENGINE.bundleSize) + 1)
  }
  const warm = stream(e, n, params.warmupMs)
  const timed = stream(e, n, params.durationMs)
  const s = e.state
  const generated = warm.generated + timed.generated
  const expected = bundleChecksumOf(timed.generated, ENGINE.bundleSize, warm.generated, bundleChecksumOf(warm.generated, ENGINE.bundleSize))
  const problems: Array<string> = []
  if (!(timed.generated > 0)) problems.push("nothing generated")
  if (s.refused !== 0) problems.push(`${s.refused} transactions refused by the book`)
  if (s.invalidBundles !== 0) problems.push(`${s.invalidBundles} invalid bundles`)
  if (s.transactions !== generated) problems.push(`output received ${s.transactions} transactions of ${generated}`)
  if (s.checksum !== expected) problems.push(`checksum ${s.checksum} ≠ ${expected}`)
  if (problems.length > 0) throw new Error(`${label}: check failed: ${problems.join("; ")}`)
  checkBookAgainstFlow(label, e.book, e.flow)
  return {
    mtxPerSecond: timed.generated / timed.ms / 1e3,
    timedTransactions: timed.generated,
    transactions: generated,
    bundles: s.bundles
  }
}
