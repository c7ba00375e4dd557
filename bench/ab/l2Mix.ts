/**
 * What the suite's timed updates do, by number of symbols (is the flow per symbol the same at 1 and
 * at 10,000?): the flow's passes after the suite's warm-up through `L2Books.apply`, counting per
 * update its op, whether it changed the top of book, whether it took the fast path (`putNear`) or the
 * general one, and how often it is on the same symbol as the update before it. Counts, not times.
 *
 *   node --conditions=@velox/source bench/ab/l2Mix.ts <symbols> [passes]
 */
import { L2BooksKernel as K, L2FlowKernel as L2Flow } from "@velox/market/unsafe"

const symbols = Number(process.argv[2] ?? 10_000)
const passes = Number(process.argv[3] ?? 5)
const PASS = 1_000_000

class Counted extends K.L2Books {
  general = 0
  protected override putNear(h: number, side: number, price: number, size: number, add: boolean): number {
    const r = super.putNear(h, side, price, size, add)
    if (r < 0) this.general++
    return r
  }
}

const flow = new L2Flow({ symbols, seed: 1, zipf: 1, levels: 50 })
const books = new Counted({ symbols, reserveLadders: true })
const warmup = Math.ceil(Math.max(1_000_000, 400 * symbols) / PASS) * PASS
const ops = new Float64Array(6)
let top = 0
let same = 0
let atBest = 0
let other = 0
let last = -1
for (let i = 0; i < warmup + passes * PASS; i++) {
  flow.next()
  const timed = i >= warmup
  if (i === warmup) books.general = 0
  const best = flow.op < 3 ? books.best(flow.symbol, flow.side) : -1
  const r = books.apply(flow.symbol, flow.op, flow.side, flow.price, flow.size, flow.seq)
  if (!timed) continue
  ops[flow.op]!++
  if (r === K.APPLIED_TOP) top++
  else if (r !== K.APPLIED) other++
  if (flow.price === best) atBest++
  if (flow.symbol === last) same++
  last = flow.symbol
}
const n = passes * PASS
const pct = (x: number) => `${(100 * x / n).toFixed(2)}%`
console.log(`${symbols} symbols, ${n} timed updates after ${warmup}:`)
console.log(`  add ${pct(ops[0]!)}  update ${pct(ops[1]!)}  delete ${pct(ops[2]!)}  snapshot messages ${pct(ops[3]! + ops[4]! + ops[5]!)}`)
console.log(`  top of book changed ${pct(top)}  at the side's best ${pct(atBest)}  general path ${pct(books.general)}  not applied ${other}`)
console.log(`  same symbol as the update before ${pct(same)}`)
