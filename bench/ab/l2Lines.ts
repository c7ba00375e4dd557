/**
 * Cache lines an L2 update touches, by layout: the `l2` suite's flow replayed through an address model
 * of each book layout (no book is run), counting per incremental update the distinct 64-byte lines of
 * book state it touches on the fast path and how many of those miss in an LRU model of this machine's
 * caches (L1d 32 KiB = 512 lines, L2 512 KiB = 8,192 lines) and of a 2,048-entry 4 KiB-page TLB. A model:
 * no prefetcher, no associativity, the records themselves not counted.
 *
 * ```
 *   node --conditions=@velox/source bench/ab/l2Lines.ts [symbols] [updates]
 * ```
 *
 * Layouts (128-tick windows unless said; `k` = the level's key, `s` the symbol; every array's data 16
 * bytes into a page, as Node on Linux places a large typed array):
 * (`reserveLadders`, what the suite runs: the symbol's 64-byte block in one array, the side's ladder slot
 * `(2s + side) × 128 + (k & 127)` in a second.)
 * - `velox-bits`: the block's hot words first (one line), 16-bit ladder slots, the bitmap written on
 *   opening or closing a level (the tenth look);
 * - `velox`: today's: no bitmap (a live slot is a non-zero one), and the blocks and the ladder pool
 *   `LINE_SKEW` (48) bytes into their buffers, so on a line (a block is one line);
 * - `floor`: `micro/l2Plain.ts`, one 576-byte block per symbol (header with the 64-tick bitmaps, both
 *   64-tick int32 ladders).
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

// Every array starts BASE bytes into a page: where Node on Linux puts a large typed array's data
// (glibc's mmap'ed blocks; measured with %DebugPrint), so a 64-byte block spans two lines.
const BASE = 16
const header = (s: number, side: number, state: number, out: Array<number>, base = BASE) =>
  // the side's anchor and best, the sequence number (words 6..7), the state word
  out.push(base + s * 64 + side * 12, base + s * 64 + side * 12 + 4, base + s * 64 + 24, base + s * 64 + state)
// OrderBooks' LINE_SKEW: the blocks and the ladder pool 48 bytes into their buffers.
const ON_LINES = BASE + 48
const bitmap = (s: number, side: number, key: number, out: Array<number>) =>
  out.push(2 * ARRAY + BASE + (((s * 2 + side) * 128 + (key & 127)) >>> 5) * 4)

const layouts: Record<string, Layout> = {
  "velox-bits": (s, side, key, oc, out) => {
    header(s, side, 32, out)
    out.push(ARRAY + BASE + ((s * 2 + side) * 128 + (key & 127)) * 2)
    if (oc) bitmap(s, side, key, out)
  },
  velox: (s, side, key, _oc, out) => {
    header(s, side, 32, out, ON_LINES)
    out.push(ARRAY + ON_LINES + ((s * 2 + side) * 128 + (key & 127)) * 2)
  },
  floor: (s, side, key, oc, out) => {
    // header: sequence number, state, best, size at the best, anchor (bytes 0..35), the bitmaps (36..51)
    out.push(BASE + s * 576, BASE + s * 576 + 35, BASE + s * 576 + 64 + side * 256 + (key & 63) * 4)
    if (oc) out.push(BASE + s * 576 + 36 + side * 8 + 4)
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
