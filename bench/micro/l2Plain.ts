/**
 * The floor of the `l2` suite: the same work per update as velox's L2 books (per-symbol sequence
 * check, the exact size at every price the flow uses, best bid and ask, a `Bbo` record written when the
 * top of book changes) as a plain loop over flat typed arrays, written for the cache and for this flow
 * only: no validation, no refusals, no status table, no generality a C programmer would leave out.
 *
 * Per symbol one contiguous block of 576 bytes (nine cache lines), at an address computed from the
 * symbol alone, so the header's load and the ladder slot's load do not depend on each other:
 *
 * ```
 *   word  0..1   next sequence number (f64)        word  9..10  bid bitmap (64 ticks)
 *   word  2      state (WAITING/LIVE/STALE/RESYNC)  word 11..12  ask bitmap
 *   word  3..4   best key, bid / ask (EMPTY_KEY)    word 13..14  far levels, bid / ask
 *   word  5..6   size at the best, bid / ask        word 15      spare
 *   word  7..8   window anchor key, bid / ask
 *   word 16..79  bid ladder: 64 ticks × int32 size, slot = key & 63
 *   word 80..143 ask ladder
 * ```
 *
 * Keys as in velox's books (smaller is better on both sides: an ask's key is its price, a bid's
 * `price ^ 0x7fffffff`). A side's window is 64 ticks from its anchor; a level that does not fit (the
 * flow's far levels, 10⁴–10⁶ ticks away) goes to a small unsorted far list per side (cold, its own
 * array). The window slides when a level just outside it can join without pushing a live level out.
 * The best of a side is the better of the window's first live tick and the far list's best, so the
 * book stays exact for any price; what the flow never does (more than {@link FAR_MAX} far levels on a
 * side, a size above 2³¹ − 1) throws. Sizes are int32 lots (the flow's are 1..1000).
 *
 * It trusts the flow as velox does not: an `Add` is at an empty price, an `Update` / `Delete` at a
 * live one (velox checks both and refuses the update otherwise).
 */
import { L2BooksKernel as K } from "@velox/market/unsafe"

const ADD = 0
const DELETE = 2
const SNAPSHOT_BEGIN = 3
const SNAPSHOT_LEVEL = 4
const WAITING = 0
const LIVE = 1
const STALE = 2
const RESYNCING = 3

const BLOCK_WORDS = 144
const STATE = 2
const BEST = 3
const TOP_SIZE = 5
const ANCHOR = 7
const BITS = 9
const FAR_COUNT = 13
const LADDER = 16
const TICKS = 64
const EMPTY_KEY = 0x7fffffff
const KEY_FLIP = 0x7fffffff
/** Far levels a side may hold (the flow keeps at most 4). */
export const FAR_MAX = 8
/** Room left above a new window's first level, for small improvements. */
const SLACK = 16

/** Record strides of the input (`L2Update`, 40 bytes) and output (`Bbo`, 56 bytes) layouts, in elements. */
const IN_F64 = 5
const IN_U32 = 10
const IN_U16 = 20
const OUT_F64 = 7
const OUT_U32 = 14

/** Smallest key in `from .. end - 1` whose bit is set in the 64-tick bitmap (`lo`, `hi`), or -1 (`end - from ≤ 64`). */
const nextKey = (lo: number, hi: number, from: number, end: number): number => {
  for (let k = from; k < end;) {
    const idx = k & 63
    const bits = (idx < 32 ? lo : hi) >>> (idx & 31)
    if (bits !== 0) {
      const t = k + 31 - Math.clz32(bits & -bits)
      return t < end ? t : -1
    }
    k += 32 - (idx & 31)
  }
  return -1
}

/**
 * Software prefetch by early touch, for measuring it (JavaScript has no prefetch instruction): a plain
 * load of a later record's header word and ladder slot, summed into {@link PlainL2.touched} so the JIT
 * keeps it, so that the out-of-order core starts those misses early. `ahead`: each record touches the
 * one `ahead` records on; `group` (a power of two): every `group` records, the next `group` records are
 * touched in one tight loop, their misses in flight together. Neither is on by default: both measured
 * slower on this flow (bench/README.md, the `l2` suite's sixth look).
 */
export interface EarlyTouch {
  readonly ahead?: number
  readonly group?: number
}

export class PlainL2 {
  readonly symbols: number
  private readonly batch: number
  /** Early touch (see {@link EarlyTouch}): records ahead, and group size; 0 for none. */
  private readonly ahead: number
  private readonly group: number
  /** What the early touches read, kept so the JIT cannot drop the loads. */
  touched = 0
  readonly mem: Int32Array
  private readonly seqs: Float64Array
  private readonly farKey: Int32Array
  private readonly farSize: Int32Array
  /** Top-of-book records written, and the checksum of their prices (as the velox bench's sink folds them). */
  written = 0
  checksum = 0
  applied = 0
  dropped = 0
  private readonly out: Float64Array
  private readonly outWords: Uint32Array
  private pos = 0

  constructor(symbols: number, batch: number, touch: EarlyTouch = {}) {
    this.symbols = symbols
    this.batch = batch
    this.ahead = touch.ahead ?? 0
    this.group = touch.group ?? 0
    if (this.group & (this.group - 1)) throw new RangeError(`group must be a power of two: ${this.group}`)
    this.mem = new Int32Array(symbols * BLOCK_WORDS)
    this.seqs = new Float64Array(this.mem.buffer)
    this.farKey = new Int32Array(symbols * 2 * FAR_MAX)
    this.farSize = new Int32Array(symbols * 2 * FAR_MAX)
    for (let b = 0; b < this.mem.length; b += BLOCK_WORDS) {
      this.mem[b + BEST] = EMPTY_KEY
      this.mem[b + BEST + 1] = EMPTY_KEY
    }
    const out = new ArrayBuffer(batch * OUT_F64 * 8)
    this.out = new Float64Array(out)
    this.outWords = new Uint32Array(out)
  }

  /** Applies `count` `L2Update` records from `start` of the buffer's views, then folds the records written. */
  pass(f64: Float64Array, u32: Uint32Array, u16: Uint16Array, start: number, count: number): void {
    const mem = this.mem
    const seqs = this.seqs
    const ahead = this.ahead
    const group = this.group
    const end = start + count
    let applied = 0
    let touched = 0
    for (let i = start; i < end; i++) {
      // Early touches (off unless asked for): measured slower, see EarlyTouch.
      if (ahead !== 0 && i + ahead < end) touched += this.touch(f64, u32, u16, i + ahead)
      if (group !== 0 && ((i - start) & (group - 1)) === 0) {
        for (let j = i + group; j < end && j < i + 2 * group; j++) touched += this.touch(f64, u32, u16, j)
      }
      const symbol = u32[i * IN_U32 + 8]!
      const side = u16[i * IN_U16 + 18]!
      const op = u16[i * IN_U16 + 19]!
      const seq = f64[i * IN_F64]!
      const b = symbol * BLOCK_WORDS
      if (op < SNAPSHOT_BEGIN && mem[b + STATE] === LIVE && seq === seqs[b >>> 1]) {
        seqs[b >>> 1] = seq + 1
        applied++
        const key = f64[i * IN_F64 + 2]! ^ ((side - 1) & KEY_FLIP)
        const size = op === DELETE ? 0 : f64[i * IN_F64 + 3]!
        if (size > 0x7fffffff) throw new Error(`plain loop: size ${size} beyond int32`)
        // The window's slot: its address comes from the symbol and price alone.
        const at = b + LADDER + side * TICKS + (key & 63)
        if (((key - mem[b + ANCHOR + side]!) >>> 0) < TICKS && (op === ADD || mem[at] !== 0)) {
          const old = mem[at]!
          mem[at] = size
          const best = mem[b + BEST + side]!
          if (old === 0) {
            mem[b + BITS + 2 * side + ((key >>> 5) & 1)]! |= 1 << (key & 31)
            if (key < best) this.newBest(b, symbol, side, key, size, i, f64)
          } else if (size === 0) {
            mem[b + BITS + 2 * side + ((key >>> 5) & 1)]! &= ~(1 << (key & 31))
            if (key === best) this.bestGone(b, symbol, side, i, f64)
          } else if (key === best && size !== old) {
            mem[b + TOP_SIZE + side] = size
            this.publish(b, symbol, i, f64, 0)
          }
        } else this.outside(b, symbol, side, key, size, op === ADD, i, f64)
        continue
      }
      if (this.other(b, symbol, op, side, seq, i, f64)) applied++
    }
    this.applied += applied
    this.touched += touched
    this.fold()
  }

  /** Loads record `j`'s header word and ladder slot (an early touch); returns their sum. */
  private touch(f64: Float64Array, u32: Uint32Array, u16: Uint16Array, j: number): number {
    const s = u32[j * IN_U32 + 8]!
    if (s >= this.symbols) return 0
    const side = u16[j * IN_U16 + 18]! & 1
    const key = f64[j * IN_F64 + 2]! ^ ((side - 1) & KEY_FLIP)
    return this.mem[s * BLOCK_WORDS + STATE]! + this.mem[s * BLOCK_WORDS + LADDER + side * TICKS + (key & 63)]!
  }

  /** A level outside the window (or not in it): slide the window to it, else the far list. */
  private outside(b: number, symbol: number, side: number, key: number, size: number, add: boolean, i: number, f64: Float64Array): void {
    const mem = this.mem
    if (!add) {
      // A live level not in the window: in the far list.
      const f = this.farFind(symbol, side, key)
      const best = mem[b + BEST + side]!
      if (size !== 0) {
        this.farSize[f] = size
        if (key === best && mem[b + TOP_SIZE + side] !== size) {
          mem[b + TOP_SIZE + side] = size
          this.publish(b, symbol, i, f64, 0)
        }
        return
      }
      const last = (symbol * 2 + side) * FAR_MAX + --mem[b + FAR_COUNT + side]!
      this.farKey[f] = this.farKey[last]!
      this.farSize[f] = this.farSize[last]!
      if (key === best) this.bestGone(b, symbol, side, i, f64)
      return
    }
    if (this.place(b, symbol, side, key, size) && key < mem[b + BEST + side]!) this.newBest(b, symbol, side, key, size, i, f64)
  }

  /** Puts a new level in the window (sliding it if that pushes no live level out) or the far list. */
  private place(b: number, symbol: number, side: number, key: number, size: number): boolean {
    const mem = this.mem
    const bits = b + BITS + 2 * side
    let anchor = mem[b + ANCHOR + side]!
    const lo = mem[bits]!
    const hi = mem[bits + 1]!
    if (lo === 0 && hi === 0) anchor = key - SLACK
    else if (key < anchor) {
      // Better than the window: it moves down if nothing live falls off its far end.
      if (nextKey(lo, hi, Math.max(key + TICKS, anchor), anchor + TICKS) >= 0) return this.farAdd(b, symbol, side, key, size)
      anchor = key
    } else if (key >= anchor + TICKS) {
      // Worse than the window: it moves up if nothing live falls off its near end.
      if (nextKey(lo, hi, anchor, Math.min(key - TICKS + 1, anchor + TICKS)) >= 0) return this.farAdd(b, symbol, side, key, size)
      anchor = key - TICKS + 1
    }
    mem[b + ANCHOR + side] = anchor
    mem[b + LADDER + side * TICKS + (key & 63)] = size
    mem[bits + ((key >>> 5) & 1)]! |= 1 << (key & 31)
    return true
  }

  private farAdd(b: number, symbol: number, side: number, key: number, size: number): boolean {
    const n = this.mem[b + FAR_COUNT + side]!
    if (n === FAR_MAX) throw new Error(`plain loop: more than ${FAR_MAX} far levels on symbol ${symbol} side ${side}`)
    const f = (symbol * 2 + side) * FAR_MAX + n
    this.farKey[f] = key
    this.farSize[f] = size
    this.mem[b + FAR_COUNT + side] = n + 1
    return true
  }

  private farFind(symbol: number, side: number, key: number): number {
    const f0 = (symbol * 2 + side) * FAR_MAX
    const n = this.mem[symbol * BLOCK_WORDS + FAR_COUNT + side]!
    for (let f = f0; f < f0 + n; f++) if (this.farKey[f] === key) return f
    throw new Error(`plain loop: no level at key ${key} on symbol ${symbol} side ${side}`)
  }

  private newBest(b: number, symbol: number, side: number, key: number, size: number, i: number, f64: Float64Array): void {
    this.mem[b + BEST + side] = key
    this.mem[b + TOP_SIZE + side] = size
    this.publish(b, symbol, i, f64, 0)
  }

  /** The best level went: the next is the better of the window's first live tick and the far list's best. */
  private bestGone(b: number, symbol: number, side: number, i: number, f64: Float64Array): void {
    this.findBest(b, symbol, side)
    this.publish(b, symbol, i, f64, 0)
  }

  private findBest(b: number, symbol: number, side: number): void {
    const mem = this.mem
    const anchor = mem[b + ANCHOR + side]!
    let best = nextKey(mem[b + BITS + 2 * side]!, mem[b + BITS + 2 * side + 1]!, anchor, anchor + TICKS)
    let size = best < 0 ? 0 : mem[b + LADDER + side * TICKS + (best & 63)]!
    if (best < 0) best = EMPTY_KEY
    const f0 = (symbol * 2 + side) * FAR_MAX
    for (let f = f0; f < f0 + mem[b + FAR_COUNT + side]!; f++) {
      if (this.farKey[f]! < best) {
        best = this.farKey[f]!
        size = this.farSize[f]!
      }
    }
    mem[b + BEST + side] = best
    mem[b + TOP_SIZE + side] = size
  }

  /** Snapshots and out-of-sequence updates: returns whether the update counts as applied. */
  private other(b: number, symbol: number, op: number, side: number, seq: number, i: number, f64: Float64Array): boolean {
    const mem = this.mem
    const state = mem[b + STATE]!
    if (op < SNAPSHOT_BEGIN) {
      if (state === LIVE && seq > this.seqs[b >>> 1]!) mem[b + STATE] = STALE
      this.dropped++
      return false
    }
    if (op === SNAPSHOT_BEGIN) {
      mem.fill(0, b + BITS, b + BLOCK_WORDS)
      mem[b + BEST] = EMPTY_KEY
      mem[b + BEST + 1] = EMPTY_KEY
      mem[b + TOP_SIZE] = 0
      mem[b + TOP_SIZE + 1] = 0
      mem[b + STATE] = RESYNCING
      this.seqs[b >>> 1] = seq
      return true
    }
    if (state !== RESYNCING || seq !== this.seqs[b >>> 1]) {
      if (state !== WAITING) mem[b + STATE] = STALE
      this.dropped++
      return false
    }
    if (op === SNAPSHOT_LEVEL) {
      const key = f64[i * IN_F64 + 2]! ^ ((side - 1) & KEY_FLIP)
      const size = f64[i * IN_F64 + 3]!
      if (size > 0x7fffffff) throw new Error(`plain loop: size ${size} beyond int32`)
      const at = b + LADDER + side * TICKS + (key & 63)
      if (((key - mem[b + ANCHOR + side]!) >>> 0) < TICKS && mem[at] !== 0) mem[at] = size
      else if (mem[b + FAR_COUNT + side] !== 0 && this.farHas(symbol, side, key)) this.farSize[this.farFind(symbol, side, key)] = size
      else this.place(b, symbol, side, key, size)
      return true
    }
    this.findBest(b, symbol, 0)
    this.findBest(b, symbol, 1)
    mem[b + STATE] = LIVE
    this.seqs[b >>> 1] = seq + 1
    this.publish(b, symbol, i, f64, K.SNAPSHOT_FLAG)
    return true
  }

  private farHas(symbol: number, side: number, key: number): boolean {
    const f0 = (symbol * 2 + side) * FAR_MAX
    for (let f = f0; f < f0 + this.mem[symbol * BLOCK_WORDS + FAR_COUNT + side]!; f++) if (this.farKey[f] === key) return true
    return false
  }

  /** Writes the symbol's top of book as a `Bbo` record. */
  private publish(b: number, symbol: number, i: number, f64: Float64Array, mark: number): void {
    const mem = this.mem
    const bidKey = mem[b + BEST]!
    const askKey = mem[b + BEST + 1]!
    const bid = bidKey === EMPTY_KEY ? 0 : bidKey ^ KEY_FLIP
    const ask = askKey === EMPTY_KEY ? 0 : askKey
    if (this.pos === this.batch) this.fold()
    const o = this.pos++
    const out = this.out
    out[o * OUT_F64] = f64[i * IN_F64]!
    out[o * OUT_F64 + 1] = f64[i * IN_F64 + 1]!
    out[o * OUT_F64 + 2] = bid
    out[o * OUT_F64 + 3] = mem[b + TOP_SIZE]!
    out[o * OUT_F64 + 4] = ask
    out[o * OUT_F64 + 5] = mem[b + TOP_SIZE + 1]!
    this.outWords[o * OUT_U32 + 12] = symbol
    this.outWords[o * OUT_U32 + 13] = mark |
      (bid === 0 || ask === 0 ? 0 : bid > ask ? K.CROSSED_FLAG : bid === ask ? K.LOCKED_FLAG : 0)
    this.written++
  }

  /** Folds the records written (what a sink reading them would do), as the velox bench's emitter does. */
  private fold(): void {
    const out = this.out
    let h = this.checksum
    for (let o = 0; o < this.pos; o++) h = (Math.imul(h, 31) + out[o * OUT_F64 + 2]! + out[o * OUT_F64 + 4]!) | 0
    this.checksum = h
    this.pos = 0
  }

  /** Levels of `symbol`, `side`, best first, as `[price, size]` pairs (for checks). */
  levels(symbol: number, side: number): Array<[number, number]> {
    const b = symbol * BLOCK_WORDS
    const flip = (side - 1) & KEY_FLIP
    const keys: Array<[number, number]> = []
    for (let t = 0; t < TICKS; t++) {
      const z = this.mem[b + LADDER + side * TICKS + t]!
      if (z !== 0) keys.push([this.mem[b + ANCHOR + side]! + ((t - this.mem[b + ANCHOR + side]!) & 63), z])
    }
    const f0 = (symbol * 2 + side) * FAR_MAX
    for (let f = f0; f < f0 + this.mem[b + FAR_COUNT + side]!; f++) keys.push([this.farKey[f]!, this.farSize[f]!])
    return keys.sort((x, y) => x[0] - y[0]).map(([k, z]) => [k ^ flip, z])
  }
}
