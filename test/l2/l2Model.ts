/**
 * The L2 book stage stated in the plainest way, for differential tests: per symbol a sync state, a
 * sequence number and a `Map` per side (sorted on every read); the same checks in the same order; the
 * same outcomes (applied / top of book published / dropped stale / dropped duplicate / refused with a
 * reason), the same top-of-book records and the same status counts.
 */
import { Bbo, L2Update } from "@velox/market"

export type Update = {
  readonly seq: number
  readonly exchangeTsNs: number
  readonly price: number
  readonly size: number
  readonly symbol: number
  readonly side: number
  readonly op: number
}
export type Top = {
  readonly seq: number
  readonly exchangeTsNs: number
  readonly bidPrice: number
  readonly bidSize: number
  readonly askPrice: number
  readonly askSize: number
  readonly symbol: number
  readonly flags: number
}

export type Outcome =
  | { readonly kind: "applied"; readonly top?: Top }
  | { readonly kind: "dropped"; readonly reason: "Stale" | "Duplicate"; readonly stale?: Top }
  | { readonly kind: "refused"; readonly error: string; readonly stale?: Top }

type Sync = "waiting" | "live" | "stale" | "resyncing" | "refreshing"

const { Add, Delete, SnapshotBegin, SnapshotEnd, SnapshotLevel, Update: Upd } = L2Update.Op
const { Crossed, Locked, Snapshot, Stale } = Bbo.Flag
const MAX_TICK = 0x7fffffff

export interface Counts {
  gaps: number
  missing: number
  staleEvents: number
  snapshots: number
  resyncs: number
  crossedEvents: number
  lockedEvents: number
}

class SymbolModel {
  sync: Sync
  seq: number
  readonly sides: [Map<number, number>, Map<number, number>] = [new Map(), new Map()]
  last: [number, number, number, number] = [0, 0, 0, 0]
  lastFlags = 0
  /** An update for it arrived (its status row shows its state from then on). */
  touched = false
  readonly counts: Counts = { gaps: 0, missing: 0, staleEvents: 0, snapshots: 0, resyncs: 0, crossedEvents: 0, lockedEvents: 0 }
  constructor(firstSeq: number | undefined) {
    this.sync = firstSeq === undefined ? "waiting" : "live"
    this.seq = firstSeq ?? 0
  }
}

export class L2Model {
  readonly symbols: Array<SymbolModel>
  readonly maxTick: number
  constructor(symbols: number, maxTick = MAX_TICK, firstSeq?: number) {
    this.maxTick = maxTick
    this.symbols = Array.from({ length: symbols }, () => new SymbolModel(firstSeq))
  }

  /** Levels best first. */
  levels(symbol: number, side: number): Array<[number, number]> {
    return [...this.symbols[symbol]!.sides[side]!.entries()].sort((a, b) => (side === 0 ? b[0] - a[0] : a[0] - b[0]))
  }

  syncOf(symbol: number): Sync {
    return this.symbols[symbol]!.sync
  }

  apply(u: Update): Outcome {
    const { op, seq, symbol } = u
    if (!(Number.isInteger(symbol) && symbol >= 0 && symbol < this.symbols.length)) return this.refuse("UnknownSymbol")
    const m = this.symbols[symbol]!
    m.touched = true
    if (!(Number.isInteger(seq) && seq >= 0 && seq <= Number.MAX_SAFE_INTEGER)) return this.refuse("InvalidSequence")
    if (!(Number.isInteger(op) && op >= 0 && op <= SnapshotEnd)) return this.refuse("BadOp")
    if (op === Add || op === Upd || op === Delete) {
      if (m.sync === "live") {
        if (seq < m.seq) return { kind: "dropped", reason: "Duplicate" }
        if (seq > m.seq) {
          m.counts.gaps++
          m.counts.missing += seq - m.seq
          return { kind: "dropped", reason: "Stale", stale: this.goStale(m, u) }
        }
        m.seq++
        const error = this.change(m, u)
        if (error !== undefined) return { kind: "refused", error, stale: this.goStale(m, u) }
        return this.publish(m, u, 0)
      }
      if ((m.sync === "resyncing" || m.sync === "refreshing") && seq <= m.seq) return { kind: "dropped", reason: "Duplicate" }
      if (m.sync !== "stale") return { kind: "dropped", reason: "Stale", stale: this.goStale(m, u) }
      return { kind: "dropped", reason: "Stale" }
    }
    if (op === SnapshotBegin) {
      if (m.sync === "live" && seq < m.seq) return { kind: "dropped", reason: "Duplicate" }
      m.sides[0].clear()
      m.sides[1].clear()
      m.sync = m.sync === "live" || m.sync === "refreshing" ? "refreshing" : "resyncing"
      m.seq = seq
      return { kind: "applied" }
    }
    if (m.sync === "resyncing" || m.sync === "refreshing") {
      if (seq !== m.seq) return { kind: "refused", error: "SnapshotMismatch", stale: this.goStale(m, u) }
      if (op === SnapshotLevel) {
        const error = this.checkLevel(u, 1)
        if (error !== undefined) return { kind: "refused", error, stale: this.goStale(m, u) }
        m.sides[u.side]!.set(u.price, u.size)
        return { kind: "applied" }
      }
      m.counts.snapshots++
      if (m.sync === "resyncing") m.counts.resyncs++
      m.sync = "live"
      m.seq = seq + 1
      return this.publish(m, u, Snapshot)
    }
    if (m.sync === "live" && seq < m.seq) return { kind: "dropped", reason: "Duplicate" }
    if (m.sync !== "stale") return { kind: "dropped", reason: "Stale", stale: this.goStale(m, u) }
    return { kind: "dropped", reason: "Stale" }
  }

  private refuse(error: string): Outcome {
    return { kind: "refused", error }
  }

  /** Side, price, then size (≥ min, integer, ≤ 2^53 − 1). */
  private checkLevel(u: Update, min: number): string | undefined {
    if (u.side !== 0 && u.side !== 1) return "InvalidSide"
    if (!(Number.isInteger(u.price) && u.price >= 1 && u.price <= this.maxTick)) return "PriceOutOfRange"
    if (Number.isNaN(u.size) || u.size < min || u.size === Infinity) return "InvalidSize"
    if (u.size > Number.MAX_SAFE_INTEGER) return "SizeOverflow"
    if (!Number.isInteger(u.size)) return "InvalidSize"
    return undefined
  }

  private change(m: SymbolModel, u: Update): string | undefined {
    if (u.op === Delete) {
      const error = this.checkLevel({ ...u, size: 0 }, 0)
      if (error !== undefined) return error
      if (!m.sides[u.side]!.has(u.price)) return "LevelMissing"
      m.sides[u.side]!.delete(u.price)
      return undefined
    }
    const error = this.checkLevel(u, u.op === Add ? 1 : 0)
    if (error !== undefined) return error
    const level = m.sides[u.side]!
    if (u.op === Add) {
      if (level.has(u.price)) return "LevelExists"
      level.set(u.price, u.size)
    } else {
      if (!level.has(u.price)) return "LevelMissing"
      if (u.size === 0) level.delete(u.price)
      else level.set(u.price, u.size)
    }
    return undefined
  }

  private goStale(m: SymbolModel, u: Update): Top {
    m.sync = "stale"
    m.counts.staleEvents++
    m.lastFlags |= Stale
    return this.record(m, u, m.lastFlags)
  }

  private publish(m: SymbolModel, u: Update, mark: number): Outcome {
    const best = (side: number): [number, number] => {
      const levels = this.levels(u.symbol, side)
      return levels[0] ?? [0, 0]
    }
    const [bid, bidSize] = best(0)
    const [ask, askSize] = best(1)
    const state = bid === 0 || ask === 0 ? 0 : bid > ask ? Crossed : bid === ask ? Locked : 0
    const same = state === m.lastFlags && bid === m.last[0] && bidSize === m.last[1] && ask === m.last[2] && askSize === m.last[3]
    if (mark === 0 && same) return { kind: "applied" }
    if ((state & ~m.lastFlags & Crossed) !== 0) m.counts.crossedEvents++
    if ((state & ~m.lastFlags & Locked) !== 0) m.counts.lockedEvents++
    m.last = [bid, bidSize, ask, askSize]
    m.lastFlags = state
    return { kind: "applied", top: this.record(m, u, state | mark) }
  }

  private record(m: SymbolModel, u: Update, flags: number): Top {
    return {
      seq: u.seq,
      exchangeTsNs: u.exchangeTsNs,
      bidPrice: m.last[0],
      bidSize: m.last[1],
      askPrice: m.last[2],
      askSize: m.last[3],
      symbol: u.symbol,
      flags
    }
  }

  /** The status table's view of symbol `s`. */
  status(s: number): Counts & { readonly state: Sync; readonly locked: boolean; readonly crossed: boolean } {
    const m = this.symbols[s]!
    return { ...m.counts, state: m.touched ? m.sync : "waiting", locked: (m.lastFlags & Locked) !== 0, crossed: (m.lastFlags & Crossed) !== 0 }
  }
}
