/**
 * Order book update cost, one thread: the exact book (`OrderBooks` kernel: a near ladder plus far
 * levels) against the windowed book it replaced (`windowedOrderBook.ts`, the baseline), the original
 * engine's bucketed book and a naive sorted map (`orderBookPeers.ts`), on two pre-generated streams.
 *
 * ```
 *   seeded PRNG ──► mixed stream (N updates over S symbols: adds and modifies near the top, cancels,
 *                   │              trades at the best level; typed arrays, generated once per process)
 *                   │ same stream, a fresh book per pass, passes interleaved A B C D A B C D …
 *                   ├──► velox-exact   OrderBooks (near ladder + far levels)  ──► checksum ─┐
 *                   ├──► windowed      the previous book (4096-tick ladder)  ──► checksum ─┤ must be equal,
 *                   ├──► sorted-map    Map + sorted price array (exact)      ──► checksum ─┘ every pass
 *                   └──► bucketed-16   16 ticks per level (approximate)      ──► checksum (differs: see
 *                                                                              bucketedWrongPercent)
 *   seeded PRNG ──► touch stream (every update at the best level: join it, improve it by a tick, cancel
 *                   │              from it, trade against it)
 *                   ├──► velox-exact ──► checksum ─┐ must be equal, every pass
 *                   └──► windowed    ──► checksum ─┘
 * ```
 *
 * After every update each loop reads the symbol's best bid and best ask and folds them into a
 * checksum, as a stage publishing top of book would, and counts refused updates, as a stage
 * dead-lettering them would. Before anything is timed, an untimed pass checks that the exact book
 * accepts every update and agrees with the sorted map on best bid and ask after every single one;
 * every timed pass then checks its checksum and that nothing was refused. A run returns, per book,
 * the median ns per update (update + two best-price reads) over its timed passes.
 */
import * as OB from "@velox/market/unsafe"
import { BucketedBook, SortedMapBook } from "./orderBookPeers.ts"
import { WindowedOrderBooks } from "./windowedOrderBook.ts"

export interface Params {
  /** Updates in the stream. */
  readonly ops: number
  readonly symbols: number
  readonly seed: number
  /** The windowed baseline's ladder length; the bucketed book covers the same ticks (windowTicks / 16 buckets). */
  readonly windowTicks: number
  /** The exact book's near window (default: the book's own default). */
  readonly nearTicks?: number
  /** Depth per side the generator keeps the books around (it cancels deep levels beyond it). */
  readonly bookLevels: number
  /** Untimed passes per book (JIT warm-up), then timed passes per book. */
  readonly warmupPasses: number
  readonly timedPasses: number
}

const ADD = 0
const CANCEL = 1
const TRADE = 2
const { ASK, BID } = OB

/** A deterministic PRNG (mulberry32): the same seed gives the same stream on every machine. */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export interface OpStream {
  readonly length: number
  readonly kind: Uint8Array
  readonly symbol: Int32Array
  readonly side: Uint8Array
  readonly price: Int32Array
  readonly size: Float64Array
  /** Share of each kind, for the record. */
  readonly mix: { readonly add: number; readonly modify: number; readonly cancel: number; readonly trade: number }
  readonly meanLevelsPerSide: number
}

/**
 * A realistic update mix, every update valid for an exact book: 55% adds within a few ticks of the
 * top (skewed towards it), 15% modifies of one of the top 5 levels (size up or down), 20% cancels
 * (mostly of the top 10 levels, full or partial, some of the deepest level), 10% trades against the
 * best level (full or partial). A mid price per symbol drifts; the book is kept uncrossed; hot symbols
 * see more updates than cold ones.
 */
export const generate = (params: Pick<Params, "ops" | "symbols" | "seed" | "bookLevels">): OpStream => {
  const { bookLevels, ops, symbols } = params
  const random = mulberry32(params.seed)
  const book = new SortedMapBook(symbols)
  const kind = new Uint8Array(ops)
  const symbol = new Int32Array(ops)
  const side = new Uint8Array(ops)
  const price = new Int32Array(ops)
  const size = new Float64Array(ops)
  const mid = Array.from({ length: symbols }, (_, s) => 100_000 + 1_000 * s)
  const mix = { add: 0, modify: 0, cancel: 0, trade: 0 }
  let levelSum = 0
  for (let i = 0; i < ops; i++) {
    const s = Math.floor(random() * random() * symbols) // hot symbols first
    if (random() < 0.02) mid[s] = mid[s]! + (random() < 0.5 ? -1 : 1)
    const d = random() < 0.5 ? BID : ASK
    const n = book.levelCount(s, d)
    const r = random()
    let k = ADD
    let p = 0
    let z = 0
    if (r < 0.55 || n === 0) {
      // Mostly within a few ticks of the top; some deeper, where resting liquidity builds up.
      const offset = random() < 0.85
        ? Math.floor(random() * random() * 24)
        : Math.floor(random() * 2.5 * bookLevels)
      if (d === BID) {
        const ask = book.bestAsk(s)
        p = Math.min(mid[s]! - 1 - offset, ask === 0 ? Infinity : ask - 1)
      } else {
        const bid = book.bestBid(s)
        p = Math.max(mid[s]! + 1 + offset, bid + 1)
      }
      z = 1 + Math.floor(random() * 100)
      mix.add++
    } else if (r < 0.7) {
      p = book.levelAt(s, d, Math.floor(random() * Math.min(5, n)))
      const level = book.levelSize(s, d, p)
      if (random() < 0.5 || level === 1) z = 1 + Math.floor(random() * 50)
      else {
        k = CANCEL
        z = 1 + Math.floor(random() * (level - 1))
      }
      mix.modify++
    } else if (r < 0.9) {
      k = CANCEL
      // Near the top mostly, anywhere sometimes; a side deeper than `bookLevels` loses a deep level.
      const at = n > bookLevels
        ? n - 1 - Math.floor(random() * (n >> 1))
        : random() < 0.7
        ? Math.floor(random() * random() * Math.min(10, n))
        : Math.floor(random() * n)
      p = book.levelAt(s, d, at)
      const level = book.levelSize(s, d, p)
      z = n > bookLevels || random() < 0.5 ? level : 1 + Math.floor(random() * level)
      mix.cancel++
    } else {
      k = TRADE
      p = book.levelAt(s, d, 0)
      const level = book.levelSize(s, d, p)
      z = random() < 0.4 ? level : 1 + Math.floor(random() * level)
      mix.trade++
    }
    kind[i] = k
    symbol[i] = s
    side[i] = d
    price[i] = p
    size[i] = z
    if (k === ADD) book.add(s, d, p, z)
    else if (k === CANCEL) book.cancel(s, d, p, z)
    else book.trade(s, d, z)
    levelSum += book.levelCount(s, d)
  }
  return {
    length: ops,
    kind,
    symbol,
    side,
    price,
    size,
    mix: { add: mix.add / ops, modify: mix.modify / ops, cancel: mix.cancel / ops, trade: mix.trade / ops },
    meanLevelsPerSide: levelSum / ops
  }
}

/**
 * Every update at the touch: 40% join the best level, 10% improve it by one tick (when the spread
 * allows), 25% cancel part of it (all of it one time in five), 25% trade against it (all of it one
 * time in five). Emptying the best level moves the best to the next level, which the book must find; a
 * side thinner than 5 levels first gets a level 1–5 ticks behind its best. Hot symbols see more.
 */
export const generateTouch = (params: Pick<Params, "ops" | "symbols" | "seed">): OpStream => {
  const { ops, symbols } = params
  const random = mulberry32(params.seed ^ 0x70c4)
  const book = new SortedMapBook(symbols)
  const kind = new Uint8Array(ops)
  const symbol = new Int32Array(ops)
  const side = new Uint8Array(ops)
  const price = new Int32Array(ops)
  const size = new Float64Array(ops)
  const mix = { add: 0, modify: 0, cancel: 0, trade: 0 }
  let levelSum = 0
  for (let i = 0; i < ops; i++) {
    const s = Math.floor(random() * random() * symbols)
    const d = random() < 0.5 ? BID : ASK
    const n = book.levelCount(s, d)
    const best = n === 0 ? (d === BID ? 100_000 + 1_000 * s - 1 : 100_000 + 1_000 * s + 1) : book.levelAt(s, d, 0)
    const r = random()
    let k = ADD
    let p = best
    let z = 1 + Math.floor(random() * 100)
    if (n < 5) {
      p = n === 0 ? best : d === BID ? best - 1 - Math.floor(random() * 5) : best + 1 + Math.floor(random() * 5)
      mix.add++
    } else if (r < 0.4) mix.add++
    else if (r < 0.5) {
      const other = d === BID ? book.bestAsk(s) : book.bestBid(s)
      const better = d === BID ? best + 1 : best - 1
      if (other === 0 || (d === BID ? better < other : better > other)) p = better
      mix.add++
    } else {
      const level = book.levelSize(s, d, best)
      k = r < 0.75 ? CANCEL : TRADE
      z = level === 1 || random() < 0.2 ? level : 1 + Math.floor(random() * (level - 1))
      if (k === CANCEL) mix.cancel++
      else mix.trade++
    }
    kind[i] = k
    symbol[i] = s
    side[i] = d
    price[i] = p
    size[i] = z
    if (k === ADD) book.add(s, d, p, z)
    else if (k === CANCEL) book.cancel(s, d, p, z)
    else book.trade(s, d, z)
    levelSum += book.levelCount(s, d)
  }
  return {
    length: ops,
    kind,
    symbol,
    side,
    price,
    size,
    mix: { add: mix.add / ops, modify: mix.modify / ops, cancel: mix.cancel / ops, trade: mix.trade / ops },
    meanLevelsPerSide: levelSum / ops
  }
}

// -------------------------------------------------------------------------------------------------
// Timed loops: one per book, so every call site stays monomorphic. Each returns its checksum.

/** Updates the last pass's book refused (a stage would dead-letter them). */
let rejected = 0

const passExact = (ops: OpStream, book: OB.OrderBooks): number => {
  const { kind, length, price, side, size, symbol } = ops
  let h = 0
  let bad = 0
  for (let i = 0; i < length; i++) {
    const s = symbol[i]!
    const k = kind[i]!
    const r = k === ADD
      ? book.add(s, side[i]!, price[i]!, size[i]!)
      : k === CANCEL
      ? book.cancel(s, side[i]!, price[i]!, size[i]!)
      : book.trade(s, side[i]!, size[i]!)
    if (r < 0) bad++ // a stage would dead-letter it
    h = (Math.imul(h, 31) + book.bestBid(s)) | 0
    h = (Math.imul(h, 31) + book.bestAsk(s)) | 0
  }
  rejected = bad
  return h
}

const passWindowed = (ops: OpStream, book: WindowedOrderBooks): number => {
  const { kind, length, price, side, size, symbol } = ops
  let h = 0
  let bad = 0
  for (let i = 0; i < length; i++) {
    const s = symbol[i]!
    const k = kind[i]!
    const r = k === ADD
      ? book.add(s, side[i]!, price[i]!, size[i]!)
      : k === CANCEL
      ? book.cancel(s, side[i]!, price[i]!, size[i]!)
      : book.trade(s, side[i]!, size[i]!)
    if (r < 0) bad++
    h = (Math.imul(h, 31) + book.bestBid(s)) | 0
    h = (Math.imul(h, 31) + book.bestAsk(s)) | 0
  }
  rejected = bad
  return h
}

const passBucketed = (ops: OpStream, book: BucketedBook): number => {
  const { kind, length, price, side, size, symbol } = ops
  let h = 0
  let bad = 0
  for (let i = 0; i < length; i++) {
    const s = symbol[i]!
    const k = kind[i]!
    const r = k === ADD
      ? book.add(s, side[i]!, price[i]!, size[i]!)
      : k === CANCEL
      ? book.cancel(s, side[i]!, price[i]!, size[i]!)
      : book.trade(s, side[i]!, size[i]!)
    if (r < 0) bad++
    h = (Math.imul(h, 31) + book.bestBid(s)) | 0
    h = (Math.imul(h, 31) + book.bestAsk(s)) | 0
  }
  rejected = bad
  return h
}

const passSortedMap = (ops: OpStream, book: SortedMapBook): number => {
  const { kind, length, price, side, size, symbol } = ops
  let h = 0
  let bad = 0
  for (let i = 0; i < length; i++) {
    const s = symbol[i]!
    const k = kind[i]!
    const r = k === ADD
      ? book.add(s, side[i]!, price[i]!, size[i]!)
      : k === CANCEL
      ? book.cancel(s, side[i]!, price[i]!, size[i]!)
      : book.trade(s, side[i]!, size[i]!)
    if (r < 0) bad++
    h = (Math.imul(h, 31) + book.bestBid(s)) | 0
    h = (Math.imul(h, 31) + book.bestAsk(s)) | 0
  }
  rejected = bad
  return h
}

/** How far the bucketed book's best prices were from the exact ones, over every update of the stream. */
export interface BucketedError {
  /** Share of updates after which its best bid or best ask differed from the exact one. */
  readonly wrongShare: number
  /** Share of updates after which its best bid or ask was not even in the exact best's 16-tick bucket. */
  readonly wrongBucketShare: number
  /** Mean |bucketed − exact| of best bid and best ask, in ticks (sides empty in either book left out). */
  readonly meanErrorTicks: number
}

/**
 * Untimed check, update by update: the exact book accepts every update, and agrees with the sorted map
 * on the result of every update and on best bid and ask after each one. Measures, on the way, how far
 * off the bucketed book's best prices were.
 */
export const verify = (ops: OpStream, params: Pick<Params, "symbols" | "windowTicks" | "nearTicks">): BucketedError => {
  const exact = makeExact(params)
  const windowed = new WindowedOrderBooks({ symbols: params.symbols, windowTicks: params.windowTicks })
  const sorted = new SortedMapBook(params.symbols)
  const bucketed = new BucketedBook(params.symbols, params.windowTicks)
  let wrong = 0
  let wrongBucket = 0
  let errorTicks = 0
  let errorCount = 0
  for (let i = 0; i < ops.length; i++) {
    const s = ops.symbol[i]!
    const d = ops.side[i]!
    const p = ops.price[i]!
    const z = ops.size[i]!
    const k = ops.kind[i]!
    const r = k === ADD ? exact.add(s, d, p, z) : k === CANCEL ? exact.cancel(s, d, p, z) : exact.trade(s, d, z)
    const rs = k === ADD ? sorted.add(s, d, p, z) : k === CANCEL ? sorted.cancel(s, d, p, z) : sorted.trade(s, d, z)
    const rw = k === ADD ? windowed.add(s, d, p, z) : k === CANCEL ? windowed.cancel(s, d, p, z) : windowed.trade(s, d, z)
    if (k === ADD) bucketed.add(s, d, p, z)
    else if (k === CANCEL) bucketed.cancel(s, d, p, z)
    else bucketed.trade(s, d, z)
    if (r < 0 || r !== rs || r !== rw) {
      throw new Error(
        `orderbook: update ${i} (kind=${k} symbol=${s} side=${d} price=${p} size=${z}): exact returned ${r}, sorted-map ${rs}, windowed ${rw}`
      )
    }
    const bid = exact.bestBid(s)
    const ask = exact.bestAsk(s)
    if (bid !== sorted.bestBid(s) || ask !== sorted.bestAsk(s) || bid !== windowed.bestBid(s) || ask !== windowed.bestAsk(s)) {
      throw new Error(
        `orderbook: exact, sorted-map and windowed disagree after update ${i}: bid ${bid} vs ${sorted.bestBid(s)} vs ${windowed.bestBid(s)}, ` +
          `ask ${ask} vs ${sorted.bestAsk(s)} vs ${windowed.bestAsk(s)}`
      )
    }
    const bBid = bucketed.bestBid(s)
    const bAsk = bucketed.bestAsk(s)
    if (bid !== bBid || ask !== bAsk) wrong++
    if (bid >> 4 !== bBid >> 4 || ask >> 4 !== bAsk >> 4) wrongBucket++
    for (const [e, b] of [[bid, bBid], [ask, bAsk]] as const) {
      if (e !== 0 && b !== 0) {
        errorTicks += Math.abs(e - b)
        errorCount++
      }
    }
  }
  return {
    wrongShare: wrong / ops.length,
    wrongBucketShare: wrongBucket / ops.length,
    meanErrorTicks: errorCount === 0 ? 0 : errorTicks / errorCount
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const makeExact = (params: Pick<Params, "symbols" | "nearTicks">): OB.OrderBooks =>
  new OB.OrderBooks({ symbols: params.symbols, ...(params.nearTicks === undefined ? {} : { windowTicks: params.nearTicks }) })

const timed = (pass: () => number): { readonly ns: number; readonly checksum: number } => {
  const t0 = process.hrtime.bigint()
  const checksum = pass()
  return { ns: Number(process.hrtime.bigint() - t0), checksum }
}

const check = (stream: string, pass: number, checksums: Record<string, number>, refused: Record<string, number>): void => {
  const values = Object.values(checksums)
  if (values.some((c) => c !== values[0]) || Object.values(refused).some((n) => n !== 0)) {
    throw new Error(
      `orderbook: ${stream} pass ${pass} check failed: checksums ${JSON.stringify(checksums)}, refused ${JSON.stringify(refused)}`
    )
  }
}

/** One bench run (in a fresh process, from the harness): generate, verify, warm up, time. */
export const run = async (params: Params): Promise<Record<string, number>> => {
  const ops = generate(params)
  const touch = generateTouch(params)
  const bucketedWrong = verify(ops, params)
  verify(touch, params)
  const ns = {
    exact: [] as Array<number>,
    windowed: [] as Array<number>,
    bucketed: [] as Array<number>,
    sorted: [] as Array<number>,
    touchExact: [] as Array<number>,
    touchWindowed: [] as Array<number>
  }
  for (let r = 0; r < params.warmupPasses + params.timedPasses; r++) {
    // Interleaved, a fresh book each (built outside the timed region).
    const exact = makeExact(params)
    const tExact = timed(() => passExact(ops, exact))
    const refusedExact = rejected
    const windowed = new WindowedOrderBooks({ symbols: params.symbols, windowTicks: params.windowTicks })
    const tWindowed = timed(() => passWindowed(ops, windowed))
    const refusedWindowed = rejected
    const bucketed = new BucketedBook(params.symbols, params.windowTicks)
    const tBucketed = timed(() => passBucketed(ops, bucketed))
    const sorted = new SortedMapBook(params.symbols)
    const tSorted = timed(() => passSortedMap(ops, sorted))
    check("mixed", r, { exact: tExact.checksum, windowed: tWindowed.checksum, sortedMap: tSorted.checksum }, {
      exact: refusedExact,
      windowed: refusedWindowed,
      sortedMap: rejected
    })
    const touchExact = makeExact(params)
    const tTouchExact = timed(() => passExact(touch, touchExact))
    const refusedTouch = rejected
    const touchWindowed = new WindowedOrderBooks({ symbols: params.symbols, windowTicks: params.windowTicks })
    const tTouchWindowed = timed(() => passWindowed(touch, touchWindowed))
    check("touch", r, { exact: tTouchExact.checksum, windowed: tTouchWindowed.checksum }, {
      exact: refusedTouch,
      windowed: rejected
    })
    if (r >= params.warmupPasses) {
      ns.exact.push(tExact.ns / ops.length)
      ns.windowed.push(tWindowed.ns / ops.length)
      ns.bucketed.push(tBucketed.ns / ops.length)
      ns.sorted.push(tSorted.ns / ops.length)
      ns.touchExact.push(tTouchExact.ns / touch.length)
      ns.touchWindowed.push(tTouchWindowed.ns / touch.length)
    }
  }
  return {
    exactNs: median(ns.exact),
    windowedNs: median(ns.windowed),
    bucketedNs: median(ns.bucketed),
    sortedMapNs: median(ns.sorted),
    touchExactNs: median(ns.touchExact),
    touchWindowedNs: median(ns.touchWindowed),
    bucketedWrongPercent: 100 * bucketedWrong.wrongShare,
    bucketedWrongBucketPercent: 100 * bucketedWrong.wrongBucketShare,
    bucketedErrorTicks: bucketedWrong.meanErrorTicks,
    updates: ops.length,
    levelsPerSide: ops.meanLevelsPerSide,
    touchLevelsPerSide: touch.meanLevelsPerSide,
    addPercent: 100 * ops.mix.add,
    modifyPercent: 100 * ops.mix.modify,
    cancelPercent: 100 * ops.mix.cancel,
    tradePercent: 100 * ops.mix.trade
  }
}
