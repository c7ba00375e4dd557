/**
 * A synthetic market-by-price (L2) feed (kernel tier): seeded and deterministic, for benchmarks, tests
 * and replays. Every message it emits is one an exact L2 book accepts in sequence, except the defects
 * it is asked to inject (lost messages, invalid records), after each of which it sends a snapshot that
 * resyncs the symbol, as an exchange's recovery channel would.
 *
 * Activity across symbols follows Zipf: symbol `k` (0-based) is picked with weight `1 / (k + 1)^zipf`
 * (alias method: O(1) per pick). Per symbol there is a mid price that walks one tick now and then; the
 * book lives in a band of `bandTicks` ticks on each side of it (bids at `mid − bandTicks .. mid − 1`,
 * asks at `mid + 1 .. mid + bandTicks`), about `levels` of them per side, plus, rarely, a level far from
 * the touch (10⁴ to 10⁶ ticks away, at most {@link FAR_PER_SIDE} per side). Each event is:
 *
 * - an `Update` of a level near the top (its size changes), 60%;
 * - an `Add` of a level in the band (near the top more often; a far level with `farProbability`) or a
 *   `Delete` of one (now and then of a far level), 40% together: even odds at `levels` levels, more
 *   adds below (`½ + (levels − n) / 2·levels`), so a side stays about `levels` deep;
 * - with probability 1/64 first, the mid walks one tick: the level the mid walks onto and the level
 *   that leaves the band on the other side are deleted (two messages at most).
 *
 * A symbol's first messages are a snapshot of its starting book (`SnapshotBegin`, a `SnapshotLevel` per
 * level, `SnapshotEnd`, all with `seq` 0); its incrementals then carry `seq` 1, 2, 3, … (With
 * `sessionStart`, books start empty and there is no starting snapshot.) Defects:
 * - with `gapProbability`, an incremental is lost: it changes the book, takes its sequence number, and
 *   is never emitted (the next one shows a gap);
 * - with `invalidFraction`, an extra record carries one defect, cycling through {@link DEFECTS}, and
 *   takes a sequence number (it changes nothing);
 * - either way, `recoveryDelay` messages later a snapshot of the symbol (its current book, `seq` = its
 *   last sequence number) is sent. Updates for it in between are stale for a consumer.
 *
 * Exchange time: arrivals at `rate` per second on average, in bursts — a two-state process (calm, and
 * bursts `burstFactor` times faster, each message entering a burst with probability 1/256 and leaving
 * one with probability 1/32) — from `startNs`.
 *
 * `next()` writes one message into the public fields (`symbol`, `op`, `side`, `price`, `size`, `seq`,
 * `exchangeTsNs`). No allocation per message (the constructor sizes everything; the pending queue holds
 * at most one snapshot); no `effect` import.
 */
import { Sfc32 } from "./orderFlow.ts"

// Ops, as in `l2Books.ts` (kept literal here: the generator depends on no consumer).
const ADD = 0
const UPDATE = 1
const DELETE = 2
const SNAPSHOT_BEGIN = 3
const SNAPSHOT_LEVEL = 4
const SNAPSHOT_END = 5
const BID = 0
const ASK = 1

/** Most far levels a side holds. */
export const FAR_PER_SIDE = 4
/** Most symbols a generator feeds. */
export const MAX_SYMBOLS = 1 << 20
/** The mid of symbol `s` starts at `FIRST_MID + s * MID_SPACING` ticks. */
export const FIRST_MID = 2_000_000
export const MID_SPACING = 1_000
/** Far levels sit `FAR_MIN_TICKS .. FAR_MIN_TICKS + FAR_SPAN_TICKS` from the mid. */
const FAR_MIN_TICKS = 10_000
const FAR_SPAN_TICKS = 1_000_000
/** Chance per event that the mid walks first. */
const WALK_PROBABILITY = 1 / 64
const BURST_ENTER = 1 / 256
const BURST_LEAVE = 1 / 32
// Kinds of pending messages.
const INCREMENTAL = 0
const SNAPSHOT = 1
const INVALID = 2

/**
 * The defects invalid records carry, in the order they cycle: what an L2 book refuses them for.
 */
export const DEFECTS = [
  "PriceOutOfRange", // price 0
  "InvalidSize", // size NaN on an Add
  "InvalidSide", // side 2
  "LevelMissing", // Delete where no level rests
  "LevelExists", // Add where a level rests
  "BadOp" // op 9 (refused before its sequence number is taken: the consumer sees a gap next)
] as const

export interface L2FlowOptions {
  readonly symbols: number
  readonly seed?: number | undefined
  /** Levels per side the book keeps near the touch, about; default 50. */
  readonly levels?: number | undefined
  /** Zipf exponent of activity across symbols; default 1 (0: uniform). */
  readonly zipf?: number | undefined
  /** Chance an incremental is lost (a sequence gap); default 0. */
  readonly gapProbability?: number | undefined
  /** Chance of an extra invalid record per message; default 0. */
  readonly invalidFraction?: number | undefined
  /** Chance an add is a level far from the touch; default 0.002. */
  readonly farProbability?: number | undefined
  /** Messages between a defect and the symbol's recovery snapshot; default 1000. */
  readonly recoveryDelay?: number | undefined
  /** Mean messages per second of exchange time; default 1,000,000. */
  readonly rate?: number | undefined
  /** How much faster bursts run; default 10. */
  readonly burstFactor?: number | undefined
  /** Exchange time of the first message, ns; default 0. */
  readonly startNs?: number | undefined
  /**
   * Start at the opening of the session: every book empty, no starting snapshots, each symbol's
   * incrementals numbered from 1 (a consumer with `firstSeq: 1` is in sync from the first message);
   * books fill up to about `levels` from the flow's adds. Default `false`: each symbol's first messages
   * are a snapshot of a full book.
   */
  readonly sessionStart?: boolean | undefined
}

export class L2Flow {
  readonly symbols: number
  readonly levels: number
  /** Half-width of the band, in ticks. */
  readonly bandTicks: number

  // The message `next()` wrote.
  symbol = 0
  op = 0
  side = 0
  price = 0
  size = 0
  seq = 0
  exchangeTsNs = 0

  // What was emitted so far, by kind (for checks and reports).
  /** Messages emitted. */
  messages = 0
  /** Valid incrementals emitted. */
  incrementals = 0
  /** Snapshot messages emitted (begin, levels, end). */
  snapshotMessages = 0
  /** Snapshots emitted, to their end (initial and recovery). */
  snapshots = 0
  /** Invalid records emitted. */
  invalid = 0
  /** Incrementals lost (sequence gaps made), so far. */
  lost = 0

  private readonly random: Sfc32
  private readonly gapProbability: number
  private readonly invalidFraction: number
  private readonly farProbability: number
  private readonly recoveryDelay: number
  // Zipf alias tables.
  private readonly aliasProbability: Float64Array
  private readonly alias: Int32Array
  // Per symbol.
  private readonly mid: Float64Array
  private readonly lastSeq: Float64Array
  /** 0: never emitted (its first messages are a snapshot); 1: live; 2: a recovery snapshot is due. */
  private readonly phase: Uint8Array
  /** The band: per (symbol, side), `ladderTicks` sizes indexed by `price & ladderMask`. */
  private readonly band: Float64Array
  private readonly ladderTicks: number
  private readonly ladderMask: number
  private readonly count: Int32Array
  /** Far levels: per (symbol, side), FAR_PER_SIDE prices (0: free) and sizes. */
  private readonly farPrice: Float64Array
  private readonly farSize: Float64Array
  // Pending messages (one snapshot at most, plus a walk's deletes): a FIFO of parallel arrays.
  private readonly qSymbol: Int32Array
  private readonly qOp: Uint8Array
  private readonly qSide: Uint8Array
  private readonly qPrice: Float64Array
  private readonly qSize: Float64Array
  private readonly qSeq: Float64Array
  /** What each pending message is: INCREMENTAL, SNAPSHOT or INVALID. */
  private readonly qKind: Uint8Array
  private qHead = 0
  private qLength = 0
  // Recovery snapshots due: a FIFO of (symbol, message number it is due at).
  private readonly dueSymbol: Int32Array
  private readonly dueAt: Float64Array
  private dueHead = 0
  private dueLength = 0
  private defectIndex = 0
  // Exchange time.
  private readonly calmGapNs: number
  private readonly burstGapNs: number
  private inBurst = false
  private nowNs: number

  constructor(options: L2FlowOptions) {
    const symbols = options.symbols
    if (!(Number.isInteger(symbols) && symbols >= 1 && symbols <= MAX_SYMBOLS)) {
      throw new RangeError(`symbols must be an integer in 1..${MAX_SYMBOLS}: symbols=${symbols}`)
    }
    const levels = options.levels ?? 50
    if (!(Number.isInteger(levels) && levels >= 2 && levels <= 1_000)) {
      throw new RangeError(`levels must be an integer in 2..1000: levels=${levels}`)
    }
    const probability = (name: string, p: number | undefined, fallback: number): number => {
      const value = p ?? fallback
      if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in 0..1: ${name}=${p}`)
      return value
    }
    this.symbols = symbols
    this.levels = levels
    // A band 1.25 times the levels: about 80% of its ticks hold a level.
    this.bandTicks = Math.ceil(levels * 1.25)
    this.ladderTicks = 2 ** Math.ceil(Math.log2(2 * this.bandTicks + 4))
    this.ladderMask = this.ladderTicks - 1
    this.random = new Sfc32(options.seed ?? 1)
    this.gapProbability = probability("gapProbability", options.gapProbability, 0)
    this.invalidFraction = probability("invalidFraction", options.invalidFraction, 0)
    this.farProbability = probability("farProbability", options.farProbability, 0.002)
    const recoveryDelay = options.recoveryDelay ?? 1_000
    if (!(Number.isInteger(recoveryDelay) && recoveryDelay >= 0)) {
      throw new RangeError(`recoveryDelay must be an integer ≥ 0: recoveryDelay=${recoveryDelay}`)
    }
    this.recoveryDelay = recoveryDelay
    const zipf = options.zipf ?? 1
    if (!(zipf >= 0 && zipf <= 10)) throw new RangeError(`zipf must be in 0..10: zipf=${zipf}`)
    const rate = options.rate ?? 1_000_000
    const burstFactor = options.burstFactor ?? 10
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`rate must be > 0: rate=${rate}`)
    if (!(burstFactor >= 1 && Number.isFinite(burstFactor))) {
      throw new RangeError(`burstFactor must be ≥ 1: burstFactor=${burstFactor}`)
    }
    // Mean gap 1/rate overall: a share q of messages come in bursts, f times closer together.
    const q = BURST_ENTER / (BURST_ENTER + BURST_LEAVE)
    this.calmGapNs = (1e9 / rate) / ((1 - q) + q / burstFactor)
    this.burstGapNs = this.calmGapNs / burstFactor
    this.nowNs = options.startNs ?? 0

    // Vose's alias method over weights 1 / (k + 1)^zipf.
    this.aliasProbability = new Float64Array(symbols)
    this.alias = new Int32Array(symbols)
    const weights = Float64Array.from({ length: symbols }, (_, k) => 1 / (k + 1) ** zipf)
    const total = weights.reduce((a, b) => a + b, 0)
    const scaled = weights.map((w) => (w * symbols) / total)
    const small: Array<number> = []
    const large: Array<number> = []
    scaled.forEach((p, k) => (p < 1 ? small : large).push(k))
    while (small.length > 0 && large.length > 0) {
      const s = small.pop()!
      const l = large.pop()!
      this.aliasProbability[s] = scaled[s]!
      this.alias[s] = l
      scaled[l] = scaled[l]! + scaled[s]! - 1
      ;(scaled[l]! < 1 ? small : large).push(l)
    }
    for (const k of [...small, ...large]) this.aliasProbability[k] = 1

    this.mid = Float64Array.from({ length: symbols }, (_, s) => FIRST_MID + s * MID_SPACING)
    this.lastSeq = new Float64Array(symbols)
    this.phase = new Uint8Array(symbols)
    this.band = new Float64Array(symbols * 2 * this.ladderTicks)
    this.count = new Int32Array(symbols * 2)
    this.farPrice = new Float64Array(symbols * 2 * FAR_PER_SIDE)
    this.farSize = new Float64Array(symbols * 2 * FAR_PER_SIDE)
    // A snapshot is at most 2 + 2 × (band + far) messages; a walk adds two deletes, an event one more.
    const queue = 2 + 2 * (this.bandTicks + FAR_PER_SIDE) + 4
    this.qSymbol = new Int32Array(queue)
    this.qOp = new Uint8Array(queue)
    this.qSide = new Uint8Array(queue)
    this.qPrice = new Float64Array(queue)
    this.qSize = new Float64Array(queue)
    this.qSeq = new Float64Array(queue)
    this.qKind = new Uint8Array(queue)
    this.dueSymbol = new Int32Array(symbols)
    this.dueAt = new Float64Array(symbols)
    if (options.sessionStart === true) {
      this.phase.fill(1)
      return
    }
    // Starting books: each band tick holds a level with probability levels / bandTicks.
    for (let s = 0; s < symbols; s++) {
      for (let side = BID; side <= ASK; side++) {
        for (let d = 1; d <= this.bandTicks; d++) {
          if (this.random.nextUnit() * this.bandTicks < levels) this.setLevel(s, side, this.priceAt(s, side, d), this.newSize())
        }
      }
    }
  }

  /** Writes the next message into the public fields. */
  next(): void {
    if (this.qLength === 0) this.refill()
    const q = this.qHead
    this.symbol = this.qSymbol[q]!
    this.op = this.qOp[q]!
    this.side = this.qSide[q]!
    this.price = this.qPrice[q]!
    this.size = this.qSize[q]!
    this.seq = this.qSeq[q]!
    const kind = this.qKind[q]!
    if (kind === INCREMENTAL) this.incrementals++
    else if (kind === INVALID) this.invalid++
    else {
      this.snapshotMessages++
      if (this.op === SNAPSHOT_END) this.snapshots++
    }
    this.qHead = q + 1 === this.qSymbol.length ? 0 : q + 1
    this.qLength--
    this.nowNs += -Math.log(this.random.nextOpenUnit()) * (this.inBurst ? this.burstGapNs : this.calmGapNs)
    if (this.random.nextUnit() < (this.inBurst ? BURST_LEAVE : BURST_ENTER)) this.inBurst = !this.inBurst
    this.exchangeTsNs = Math.floor(this.nowNs)
    this.messages++
  }

  /**
   * Messages generated but not yet emitted (an event can make several: a walk's deletes, a snapshot).
   * The flow's own books include them: compare a consumer's books with {@link book} when this is 0.
   */
  get pendingMessages(): number {
    return this.qLength
  }

  /**
   * The generator's own book of `symbol`, `side`, best first, as `[price, size]` pairs: what a consumer
   * in sync holds once it has every message generated so far (when {@link pendingMessages} is 0).
   * Allocates: for checks.
   */
  book(symbol: number, side: number): Array<[number, number]> {
    const levels: Array<[number, number]> = []
    for (let d = 1; d <= this.bandTicks; d++) {
      const p = this.priceAt(symbol, side, d)
      const z = this.band[this.slot(symbol, side, p)]!
      if (z !== 0) levels.push([p, z])
    }
    const far: Array<[number, number]> = []
    const f0 = (symbol * 2 + side) * FAR_PER_SIDE
    for (let f = f0; f < f0 + FAR_PER_SIDE; f++) if (this.farPrice[f] !== 0) far.push([this.farPrice[f]!, this.farSize[f]!])
    far.sort((a, b) => (side === BID ? b[0] - a[0] : a[0] - b[0]))
    // Far levels lie beyond the band, so they come after every band level.
    return [...levels, ...far]
  }

  // ---------------------------------------------------------------------------------------------

  /** Queues the next event's messages (at least one). */
  private refill(): void {
    // A recovery snapshot that is due goes first.
    if (this.dueLength > 0 && this.dueAt[this.dueHead]! <= this.messages) {
      const s = this.dueSymbol[this.dueHead]!
      this.dueHead = this.dueHead + 1 === this.dueSymbol.length ? 0 : this.dueHead + 1
      this.dueLength--
      this.phase[s] = 1
      this.pushSnapshot(s)
      return
    }
    const s = this.pickSymbol()
    if (this.phase[s] === 0) {
      this.phase[s] = 1
      this.pushSnapshot(s)
      return
    }
    if (this.invalidFraction > 0 && this.random.nextUnit() < this.invalidFraction) {
      this.pushDefect(s)
      return
    }
    if (this.random.nextUnit() < WALK_PROBABILITY) this.walk(s)
    const side = this.random.nextUnit() < 0.5 ? BID : ASK
    const n = this.count[s * 2 + side]!
    if (this.random.nextUnit() < 0.6 && n > 0) this.update(s, side)
    // Adds and deletes pull the side back towards `levels`: even odds there, more adds below it.
    else if (this.random.nextUnit() < 0.5 + (this.levels - n) / (2 * this.levels)) this.add(s, side)
    else this.delete(s, side)
    // The event may have found nothing to do (a full band, an empty one) or lost its message: never
    // leave the queue empty. After a loss no other is made (a recovery is due), so this ends.
    while (this.qLength === 0) {
      if (this.count[s * 2 + side]! < this.bandTicks) this.add(s, side)
      else this.update(s, side)
    }
  }

  private pickSymbol(): number {
    const u = this.random.nextUnit() * this.symbols
    const k = Math.floor(u)
    return u - k < this.aliasProbability[k]! ? k : this.alias[k]!
  }

  private newSize(): number {
    return 1 + Math.floor(this.random.nextUnit() * 1_000)
  }

  /** Price of the tick `d` ticks from the mid on `side` (d ≥ 1). */
  private priceAt(s: number, side: number, d: number): number {
    return side === BID ? this.mid[s]! - d : this.mid[s]! + d
  }

  private slot(s: number, side: number, price: number): number {
    return (s * 2 + side) * this.ladderTicks + (price & this.ladderMask)
  }

  private setLevel(s: number, side: number, price: number, size: number): void {
    const i = this.slot(s, side, price)
    const old = this.band[i]!
    if (old === 0 && size !== 0) this.count[s * 2 + side]!++
    else if (old !== 0 && size === 0) this.count[s * 2 + side]!--
    this.band[i] = size
  }

  /** A band distance skewed towards the top: 1 + ⌊u² · bandTicks⌋. */
  private nearDistance(): number {
    const u = this.random.nextUnit()
    return 1 + Math.floor(u * u * this.bandTicks)
  }

  /** Distance of the first live band level at or beyond `d` (wrapping to the top), or 0 for none. */
  private liveFrom(s: number, side: number, d: number): number {
    for (let k = 0; k < this.bandTicks; k++) {
      const e = ((d - 1 + k) % this.bandTicks) + 1
      if (this.band[this.slot(s, side, this.priceAt(s, side, e))] !== 0) return e
    }
    return 0
  }

  private update(s: number, side: number): void {
    const d = this.liveFrom(s, side, this.nearDistance())
    if (d === 0) return
    const p = this.priceAt(s, side, d)
    const z = this.newSize()
    this.setLevel(s, side, p, z)
    this.emitIncremental(s, UPDATE, side, p, z)
  }

  private add(s: number, side: number): void {
    if (this.farProbability > 0 && this.random.nextUnit() < this.farProbability) {
      const f0 = (s * 2 + side) * FAR_PER_SIDE
      for (let f = f0; f < f0 + FAR_PER_SIDE; f++) {
        if (this.farPrice[f] !== 0) continue
        const distance = FAR_MIN_TICKS + Math.floor(this.random.nextUnit() * FAR_SPAN_TICKS)
        const p = Math.max(1, this.priceAt(s, side, distance))
        if (this.hasFar(s, side, p)) return
        this.farPrice[f] = p
        this.farSize[f] = this.newSize()
        this.emitIncremental(s, ADD, side, p, this.farSize[f]!)
        return
      }
    }
    // The first empty band tick at or beyond a near distance (at most bandTicks tries).
    const d0 = this.nearDistance()
    for (let k = 0; k < this.bandTicks; k++) {
      const d = ((d0 - 1 + k) % this.bandTicks) + 1
      const p = this.priceAt(s, side, d)
      if (this.band[this.slot(s, side, p)] === 0) {
        const z = this.newSize()
        this.setLevel(s, side, p, z)
        this.emitIncremental(s, ADD, side, p, z)
        return
      }
    }
  }

  private delete(s: number, side: number): void {
    // Now and then a far level goes (a stale order pulled).
    if (this.random.nextUnit() < 0.05) {
      const f0 = (s * 2 + side) * FAR_PER_SIDE
      for (let f = f0; f < f0 + FAR_PER_SIDE; f++) {
        if (this.farPrice[f] === 0) continue
        const p = this.farPrice[f]!
        this.farPrice[f] = 0
        this.farSize[f] = 0
        this.emitIncremental(s, DELETE, side, p, 0)
        return
      }
    }
    const d = this.liveFrom(s, side, this.nearDistance())
    if (d === 0) return
    const p = this.priceAt(s, side, d)
    this.setLevel(s, side, p, 0)
    this.emitIncremental(s, DELETE, side, p, 0)
  }

  private hasFar(s: number, side: number, price: number): boolean {
    const f0 = (s * 2 + side) * FAR_PER_SIDE
    for (let f = f0; f < f0 + FAR_PER_SIDE; f++) if (this.farPrice[f] === price) return true
    return false
  }

  /** The mid walks one tick: the level it walks onto and the one leaving the band go first. */
  private walk(s: number): void {
    const up = this.random.nextUnit() < 0.5
    const mid = this.mid[s]!
    if (!up && mid - this.bandTicks - 2 < 1) return
    // Up: the ask at mid + 1 is walked onto, the bid at mid − band leaves. Down: mirrored.
    const onto = up ? mid + 1 : mid - 1
    const leaving = up ? mid - this.bandTicks : mid + this.bandTicks
    const ontoSide = up ? ASK : BID
    const leavingSide = up ? BID : ASK
    if (this.band[this.slot(s, ontoSide, onto)] !== 0) {
      this.setLevel(s, ontoSide, onto, 0)
      this.emitIncremental(s, DELETE, ontoSide, onto, 0)
    }
    if (this.band[this.slot(s, leavingSide, leaving)] !== 0) {
      this.setLevel(s, leavingSide, leaving, 0)
      this.emitIncremental(s, DELETE, leavingSide, leaving, 0)
    }
    this.mid[s] = up ? mid + 1 : mid - 1
  }

  /** Takes the symbol's next sequence number; queues the message unless it is lost. */
  private emitIncremental(s: number, op: number, side: number, price: number, size: number): void {
    const seq = ++this.lastSeq[s]!
    if (this.gapProbability > 0 && this.random.nextUnit() < this.gapProbability && this.phase[s] === 1) {
      this.lost++
      this.scheduleRecovery(s)
      return
    }
    this.push(s, op, side, price, size, seq, INCREMENTAL)
  }

  /** One record with a defect (see DEFECTS), then a recovery snapshot. */
  private pushDefect(s: number): void {
    const defect = this.defectIndex
    this.defectIndex = (defect + 1) % DEFECTS.length
    const side = this.random.nextUnit() < 0.5 ? BID : ASK
    const seq = ++this.lastSeq[s]!
    const top = this.liveFrom(s, side, 1)
    const live = top === 0 ? this.priceAt(s, side, 1) : this.priceAt(s, side, top)
    let empty = 0
    for (let d = 1; d <= this.bandTicks && empty === 0; d++) {
      if (this.band[this.slot(s, side, this.priceAt(s, side, d))] === 0) empty = this.priceAt(s, side, d)
    }
    switch (top === 0 && defect === 4 ? 0 : defect) { // LevelExists needs a level: else price 0
      case 0:
        this.push(s, ADD, side, 0, 10, seq, INVALID)
        break
      case 1:
        this.push(s, ADD, side, empty === 0 ? live : empty, Number.NaN, seq, INVALID)
        break
      case 2:
        this.push(s, ADD, 2, live, 10, seq, INVALID)
        break
      case 3:
        this.push(s, DELETE, side, empty === 0 ? this.priceAt(s, side, this.bandTicks + 1) : empty, 0, seq, INVALID)
        break
      case 4:
        this.push(s, ADD, side, live, 10, seq, INVALID)
        break
      default:
        this.push(s, 9, side, live, 10, seq, INVALID)
    }
    this.scheduleRecovery(s)
  }

  private scheduleRecovery(s: number): void {
    if (this.phase[s] === 2) return // one is already due
    this.phase[s] = 2
    const at = (this.dueHead + this.dueLength) % this.dueSymbol.length
    this.dueSymbol[at] = s
    this.dueAt[at] = this.messages + this.recoveryDelay
    this.dueLength++
  }

  /** Queues a snapshot of the symbol's book as it stands, at its last sequence number. */
  private pushSnapshot(s: number): void {
    const seq = this.lastSeq[s]!
    this.push(s, SNAPSHOT_BEGIN, 0, 0, 0, seq, SNAPSHOT)
    for (let side = BID; side <= ASK; side++) {
      for (let d = 1; d <= this.bandTicks; d++) {
        const p = this.priceAt(s, side, d)
        const z = this.band[this.slot(s, side, p)]!
        if (z !== 0) this.push(s, SNAPSHOT_LEVEL, side, p, z, seq, SNAPSHOT)
      }
      const f0 = (s * 2 + side) * FAR_PER_SIDE
      for (let f = f0; f < f0 + FAR_PER_SIDE; f++) {
        if (this.farPrice[f] !== 0) this.push(s, SNAPSHOT_LEVEL, side, this.farPrice[f]!, this.farSize[f]!, seq, SNAPSHOT)
      }
    }
    this.push(s, SNAPSHOT_END, 0, 0, 0, seq, SNAPSHOT)
  }

  private push(s: number, op: number, side: number, price: number, size: number, seq: number, kind: number): void {
    const q = (this.qHead + this.qLength) % this.qSymbol.length
    this.qSymbol[q] = s
    this.qOp[q] = op
    this.qSide[q] = side
    this.qPrice[q] = price
    this.qSize[q] = size
    this.qSeq[q] = seq
    this.qKind[q] = kind
    this.qLength++
  }
}
