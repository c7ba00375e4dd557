/**
 * Cache lines an L2 update touches, by layout: the `l2` suite's flow replayed through an address model
 * of each book layout (no book is run), counting per incremental update the distinct 64-byte lines of
 * book state it touches on the fast path and how many of those miss in an LRU model of this machine's
 * caches (L1d 32 KiB = 512 lines, L2 512 KiB = 8,192 lines) and of a 2,048-entry 4 KiB-page TLB. A model:
 * no prefetcher, no associativity, arrays taken as line-aligned, the records themselves not counted.
 *
 * ```
 *   node --conditions=@velox/source bench/ab/l2Lines.ts [symbols] [updates]
 * ```
 *
 * Layouts (sizes int32, 128-tick windows unless said; `k` = the level's key, `s` the symbol):
 * - `velox`: `reserveLadders` (what the suite runs): the symbol's 64-byte block in one array, the
 *   side's ladder slot `(2s + side) × 128 + (k & 127)` in a second, its bitmap word in a third (written
 *   only when the update opens or closes a level);
 * - `velox-u16`: the same with 16-bit ladder slots (today's `OrderBooks`; `velox` is the int32 ladder
 *   before it);
 * - `one-block`: the same state in one 1,152-byte block per symbol (header line, far headers and
 *   bitmaps line, both ladders): tried in this round and not kept (slower, see bench/README.md);
 * - `floor`: `micro/l2Plain.ts`, one 576-byte block per symbol (header line with the 64-tick bitmaps,
 *   both 64-tick ladders).
 */
import { RecordLayout } from "@velox/core"
import { L2Update } from "@velox/market"
import { L2FlowKernel as L2Flow } from "@velox/market/unsafe"
import { fill } from "../micro/l2Updates.ts"

const symbols = Number(process.argv[2] ?? 10_000)
const updates = Number(process.argv[3] ?? 2_000_000)
const WARMUP = Math.max(1_000_000, 400 * symbols)
const KEY_FLIP = 0x7fffffff
const ARRAY = 2 ** 40 // distinct arrays far apart in the model's address space

class Lru {
  private readonly held = new Map<number, true>()
  private readonly capacity: number
  misses = 0
  constructor(capacity: number) {
    this.capacity = capacity
  }
  touch(unit: number): void {
    if (this.held.delete(unit)) {
      this.held.set(unit, true)
      return
    }
    this.misses++
    this.held.set(unit, true)
    if (this.held.size > this.capacity) this.held.delete(this.held.keys().next().value!)
  }
}

/** Byte addresses of the book state an incremental update touches: header, ladder slot, bitmap (or -1). */
type Layout = (s: number, side: number, key: number, opensOrCloses: boolean, out: Array<number>) => void

const layouts: Record<string, Layout> = {
  velox: (s, side, key, oc, out) => {
    out.push(s * 64, ARRAY + ((s * 2 + side) * 128 + (key & 127)) * 4)
    if (oc) out.push(2 * ARRAY + (((s * 2 + side) * 128 + (key & 127)) >>> 5) * 4)
  },
  "one-block": (s, side, key, oc, out) => {
    out.push(s * 1152, s * 1152 + 128 + side * 512 + (key & 127) * 4)
    if (oc) out.push(s * 1152 + 88 + side * 16)
  },
  "velox-u16": (s, side, key, oc, out) => {
    out.push(s * 64, ARRAY + ((s * 2 + side) * 128 + (key & 127)) * 2)
    if (oc) out.push(2 * ARRAY + (((s * 2 + side) * 128 + (key & 127)) >>> 5) * 4)
  },
  floor: (s, side, key, _oc, out) => {
    out.push(s * 576, s * 576 + 64 + side * 256 + (key & 63) * 4)
  }
}

const flow = new L2Flow({ symbols, seed: 1, zipf: 1, levels: 50 })
const PASS = 1_000_000
const view = RecordLayout.view(L2Update.L2Update, new ArrayBuffer(PASS * L2Update.L2Update.byteLength), 0, PASS)
const f = view.fields
const names = Object.keys(layouts)
const caches = names.map(() => ({ l1: new Lru(512), l2: new Lru(8_192), tlb: new Lru(2_048), lines: 0, pages: 0 }))
const addresses: Array<number> = []
let counted = 0
let opensOrCloses = 0
let started = false
for (let done = 0; done < WARMUP + updates; done += PASS) {
  fill(flow, view, PASS)
  const timed = done >= WARMUP
  if (timed && !started) {
    started = true
    for (const c of caches) c.l1.misses = c.l2.misses = c.tlb.misses = 0
  }
  for (let i = 0; i < PASS; i++) {
    const op = f.op.get(i)
    if (op > L2Update.Op.Delete) continue // snapshots: not the fast path
    const side = f.side.get(i)
    const key = f.price.get(i) ^ ((side - 1) & KEY_FLIP)
    const oc = op !== L2Update.Op.Update || f.size.get(i) === 0
    if (timed) {
      counted++
      if (oc) opensOrCloses++
    }
    for (let k = 0; k < names.length; k++) {
      addresses.length = 0
      layouts[names[k]!]!(f.symbol.get(i), side, key, oc, addresses)
      const c = caches[k]!
      const lines = new Set(addresses.map((a) => Math.floor(a / 64)))
      const pages = new Set(addresses.map((a) => Math.floor(a / 4096)))
      for (const l of lines) {
        c.l1.touch(l)
        c.l2.touch(l)
      }
      for (const p of pages) c.tlb.touch(p)
      if (timed) {
        c.lines += lines.size
        c.pages += pages.size
      }
    }
  }
}
console.log(`${symbols} symbols, ${counted} incremental updates (${(100 * opensOrCloses / counted).toFixed(1)}% open or close a level)`)
console.log("layout      lines/update  pages/update  L1 misses  L2 misses  TLB misses (per update)")
names.forEach((name, k) => {
  const c = caches[k]!
  const per = (x: number) => (x / counted).toFixed(3).padStart(9)
  console.log(`${name.padEnd(10)} ${per(c.lines)}     ${per(c.pages)}    ${per(c.l1.misses)}  ${per(c.l2.misses)}  ${per(c.tlb.misses)}`)
})
