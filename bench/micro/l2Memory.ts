/**
 * L2 book memory at 10,000 symbols × ~50 levels per side: velox's L2 books (`L2Books`: exact books,
 * sequencing state, last top of book) beside a sorted map per side (`l2Peers.ts`: a `Map` of price →
 * size and a sorted price array, and the same per-symbol state), holding the same levels.
 *
 * ```
 *   L2Flow's starting books (seeded) ──► levels in flat arrays ──► snapshot messages
 *        ├──► velox L2Books     (gc, heap + array buffers before and after)
 *        └──► SortedMapL2       (gc, heap + array buffers before and after)
 * ```
 *
 * Each structure is measured as the growth of `process.memoryUsage()` `heapUsed + arrayBuffers` across
 * building it, after a full GC on both sides (`--expose-gc` set at run time), with the other structure
 * already built and kept alive (so neither is collected mid-measure). velox's pools grow by doubling
 * as levels arrive (no reservation), as a stage's would. Checked before a number is returned: both
 * hold every level of every symbol, equal to the flow's books.
 */
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { L2BooksKernel, L2FlowKernel as L2Flow } from "@velox/market/unsafe"
const { L2Books } = L2BooksKernel
import { SortedMapL2 } from "./l2Peers.ts"

export interface Params {
  readonly symbols: number
  readonly levels: number
  readonly seed: number
  readonly windowTicks: number
}

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const used = (): number => {
  gc()
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

interface Applier {
  apply(symbol: number, op: number, side: number, price: number, size: number, seq: number): number
}

/** Every symbol's snapshot: begin, its levels, end. */
const load = (target: Applier, symbols: number, offsets: Int32Array, sides: Uint8Array, prices: Float64Array, sizes: Float64Array) => {
  for (let s = 0; s < symbols; s++) {
    target.apply(s, 3, 0, 0, 0, 0)
    for (let k = offsets[s]!; k < offsets[s + 1]!; k++) target.apply(s, 4, sides[k]!, prices[k]!, sizes[k]!, 0)
    target.apply(s, 5, 0, 0, 0, 0)
  }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const { symbols } = params
  // The levels, flat (the flow and its garbage are gone before anything is measured).
  const flow = new L2Flow({ symbols, levels: params.levels, seed: params.seed })
  const books = Array.from({ length: symbols }, (_, s) => [flow.book(s, 0), flow.book(s, 1)] as const)
  const total = books.reduce((n, [b, a]) => n + b.length + a.length, 0)
  const offsets = new Int32Array(symbols + 1)
  const sides = new Uint8Array(total)
  const prices = new Float64Array(total)
  const sizes = new Float64Array(total)
  let k = 0
  books.forEach(([bids, asks], s) => {
    offsets[s] = k
    for (const [side, levels] of [[0, bids], [1, asks]] as const) {
      for (const [p, z] of levels) {
        sides[k] = side
        prices[k] = p
        sizes[k++] = z
      }
    }
  })
  offsets[symbols] = k

  const before = used()
  const velox = new L2Books({ symbols, windowTicks: params.windowTicks })
  load(velox, symbols, offsets, sides, prices, sizes)
  const afterVelox = used()
  const peer = new SortedMapL2(symbols)
  load(peer, symbols, offsets, sides, prices, sizes)
  const afterPeer = used()

  const out = new Float64Array(2 * 4_096)
  for (let s = 0; s < symbols; s++) {
    for (const side of [0, 1]) {
      const want = books[s]![side]!
      const n = velox.depth(s, side, 4_096, out)
      if (n !== want.length || want.some(([p, z], i) => out[2 * i] !== p || out[2 * i + 1] !== z)) {
        throw new Error(`l2 memory: velox's book of symbol ${s} side ${side} differs from the flow's`)
      }
      const got = peer.levels(s, side)
      if (got.length !== want.length || want.some(([p, z], i) => got[i]![0] !== p || got[i]![1] !== z)) {
        throw new Error(`l2 memory: the sorted map's book of symbol ${s} side ${side} differs from the flow's`)
      }
    }
  }
  const veloxBytes = afterVelox - before
  const peerBytes = afterPeer - afterVelox
  return {
    veloxMiB: veloxBytes / 2 ** 20,
    sortedMapMiB: peerBytes / 2 ** 20,
    veloxBookMiB: velox.byteLength / 2 ** 20,
    levels: total,
    levelsPerSide: total / (2 * symbols),
    veloxBytesPerLevel: veloxBytes / total,
    sortedMapBytesPerLevel: peerBytes / total
  }
}
