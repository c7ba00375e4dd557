/**
 * L2 update cost, one thread: the `L2BookStage`'s logic (sequencing, exact books, top of book out) over
 * a seeded synthetic feed at a given number of symbols, beside the same work done with a sorted map per
 * side (`l2Peers.ts`).
 *
 * ```
 *   L2Flow (seeded: Zipf across symbols, ~50 levels a side near the touch, some a million ticks away)
 *     │ generated untimed into an L2Update buffer, PASS_UPDATES at a time
 *     ├──► velox:      L2BookStage logic, onBatch(256 at a time) ──► Bbo records (a scratch emitter)
 *     ├──► sorted-map: the same records, a plain loop            ──► Bbo records (a scratch array)
 *     └──► plain loop: flat typed arrays, this flow only (floor) ──► Bbo records (a scratch buffer)
 * ```
 *
 * A run: a warm-up (every symbol's first snapshot and then some: `warmupUpdates`), then `timedPasses`
 * passes of `passUpdates` updates, each generated first (untimed) and then applied by velox and by the
 * peer and the plain loop (timed, each on its own books, which carry on from pass to pass). Returns the
 * median ns per update of each, and their throughputs (M updates/s).
 *
 * Checked before any number is returned: every update applied by each (the flow has no defects: no
 * drop, no refusal); all published the same number of top-of-book records with the same checksum;
 * and at the end every book of each equals the flow's own book, level by level.
 */
import { RecordLayout, type Stage } from "@velox/core"
import { Bbo, L2Update } from "@velox/market"
import { L2BooksKernel as K, L2FlowKernel as L2Flow, L2StatusKernel, makeL2BookLogic as makeLogic } from "@velox/market/unsafe"
import { SortedMapL2 } from "./l2Peers.ts"
import { PlainL2 } from "./l2Plain.ts"

export interface Params {
  readonly symbols: number
  readonly seed: number
  /** Zipf exponent across symbols (0: uniform). */
  readonly zipf: number
  readonly levels: number
  readonly warmupUpdates: number
  readonly passUpdates: number
  readonly timedPasses: number
  /** The near window of velox's books. */
  readonly windowTicks: number
  /** velox's books reserve every side's ladder at an address from its symbol (`reserveLadders`). */
  readonly reserveLadders: boolean
  /** Run the sorted-map peer too. */
  readonly peer: boolean
  /** Run the plain loop (the floor, `l2Plain.ts`) too. */
  readonly plain: boolean
}

const BATCH = 256
type Spec = typeof Bbo.Bbo.spec

/** What the loop hands a stage: here, a scratch view of one batch, and counts. */
class ScratchEmitter implements Stage.Emitter<Spec> {
  readonly view = RecordLayout.view(Bbo.Bbo, new ArrayBuffer(BATCH * Bbo.Bbo.byteLength), 0, BATCH)
  private pos = 0
  applied = 0
  written = 0
  refused = 0
  dropped = 0
  checksum = 0
  emit(accounts = 1): number {
    this.applied += accounts
    this.written++
    if (this.pos === BATCH) this.pos = 0
    return this.pos++
  }
  forward(input: RecordLayout.RecordView, start: number, count: number): void {
    for (let i = start; i < start + count; i++) RecordLayout.copyRecords(input, i, this.view, this.emit(), 1)
  }
  account(count: number): void {
    this.applied += count
  }
  drop(_reason: number, count = 1): void {
    this.dropped += count
  }
  deadLetter(): void {
    this.refused++
  }
  /** Folds the batch's records in (what a sink reading them would do). */
  fold(): void {
    const f = this.view.fields
    let h = this.checksum
    for (let i = 0; i < this.pos; i++) h = (Math.imul(h, 31) + f.bidPrice.get(i) + f.askPrice.get(i)) | 0
    this.checksum = h
    this.pos = 0
  }
}

/** Writes the flow's next message into slot `i` of `view`. */
const writeNext = (flow: L2Flow, view: RecordLayout.RecordView<typeof L2Update.L2Update.spec>, i: number): void => {
  const f = view.fields
  flow.next()
  f.seq.set(i, flow.seq)
  f.exchangeTsNs.set(i, flow.exchangeTsNs)
  f.price.set(i, flow.price)
  f.size.set(i, flow.size)
  f.symbol.set(i, flow.symbol)
  f.side.set(i, flow.side)
  f.op.set(i, flow.op)
}

/** Writes the flow's next `n` messages into slots `0 .. n - 1` of `view`. */
export const fill = (flow: L2Flow, view: RecordLayout.RecordView<typeof L2Update.L2Update.spec>, n: number): void => {
  for (let i = 0; i < n; i++) writeNext(flow, view, i)
}

const passVelox = (
  logic: ReturnType<typeof makeLogic>,
  view: RecordLayout.RecordView<typeof L2Update.L2Update.spec>,
  n: number,
  out: ScratchEmitter
): void => {
  for (let i = 0; i < n; i += BATCH) {
    logic.onBatch(view, i, Math.min(BATCH, n - i), out)
    out.fold()
  }
}

/** The peer's loop: the same records read the same way, a top-of-book record written per change. */
const passPeer = (
  peer: SortedMapL2,
  view: RecordLayout.RecordView<typeof L2Update.L2Update.spec>,
  n: number,
  tally: { applied: number; written: number; other: number; checksum: number }
): void => {
  const f = view.fields
  const seqIn = f.seq, priceIn = f.price, sizeIn = f.size, symbolIn = f.symbol, sideIn = f.side, opIn = f.op
  const out = new Float64Array(BATCH * 2)
  let pos = 0
  let h = tally.checksum
  for (let i = 0; i < n; i++) {
    const r = peer.apply(symbolIn.get(i), opIn.get(i), sideIn.get(i), priceIn.get(i), sizeIn.get(i), seqIn.get(i))
    if (r === K.APPLIED) tally.applied++
    else if (r === K.APPLIED_TOP) {
      tally.applied++
      tally.written++
      out[2 * pos] = peer.bidPrice
      out[2 * pos + 1] = peer.askPrice
      if (++pos === BATCH) {
        for (let k = 0; k < BATCH; k++) h = (Math.imul(h, 31) + out[2 * k]! + out[2 * k + 1]!) | 0
        pos = 0
      }
    } else tally.other++
    if ((i + 1) % BATCH === 0 || i + 1 === n) {
      for (let k = 0; k < pos; k++) h = (Math.imul(h, 31) + out[2 * k]! + out[2 * k + 1]!) | 0
      pos = 0
    }
  }
  tally.checksum = h
}

/** The plain loop over the same records, read from the buffer's own typed arrays, `BATCH` at a time. */
export const passPlain = (plain: PlainL2, view: RecordLayout.RecordView<typeof L2Update.L2Update.spec>, n: number): void => {
  const f64 = view.words64
  const u32 = new Uint32Array(f64.buffer, f64.byteOffset, f64.length * 2)
  const u16 = new Uint16Array(f64.buffer, f64.byteOffset, f64.length * 4)
  for (let i = 0; i < n; i += BATCH) plain.pass(f64, u32, u16, i, Math.min(BATCH, n - i))
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const { passUpdates, symbols } = params
  const flow = new L2Flow({ symbols, seed: params.seed, zipf: params.zipf, levels: params.levels })
  const view = RecordLayout.view(L2Update.L2Update, new ArrayBuffer(passUpdates * L2Update.L2Update.byteLength), 0, passUpdates)
  const logic = makeLogic({ symbols, windowTicks: params.windowTicks, reserveLadders: params.reserveLadders })
  const out = new ScratchEmitter()
  const peer = params.peer ? new SortedMapL2(symbols) : undefined
  const tally = { applied: 0, written: 0, other: 0, checksum: 0 }
  const veloxNs: Array<number> = []
  const peerNs: Array<number> = []
  const plain = params.plain ? new PlainL2(symbols, BATCH) : undefined
  const plainNs: Array<number> = []
  let total = 0
  const passes = Math.ceil(params.warmupUpdates / passUpdates) + params.timedPasses
  for (let pass = 0; pass < passes; pass++) {
    fill(flow, view, passUpdates)
    total += passUpdates
    let t0 = process.hrtime.bigint()
    passVelox(logic, view, passUpdates, out)
    const tVelox = Number(process.hrtime.bigint() - t0)
    let tPeer = 0
    if (peer !== undefined) {
      t0 = process.hrtime.bigint()
      passPeer(peer, view, passUpdates, tally)
      tPeer = Number(process.hrtime.bigint() - t0)
    }
    let tPlain = 0
    if (plain !== undefined) {
      t0 = process.hrtime.bigint()
      passPlain(plain, view, passUpdates)
      tPlain = Number(process.hrtime.bigint() - t0)
    }
    if (pass >= passes - params.timedPasses) {
      veloxNs.push(tVelox / passUpdates)
      peerNs.push(tPeer / passUpdates)
      plainNs.push(tPlain / passUpdates)
    }
  }
  // The flow's books run ahead of the messages emitted while some are queued: apply those too
  // (untimed) so that both sides can be compared with the flow's books.
  const tail = RecordLayout.view(L2Update.L2Update, new ArrayBuffer(4_096 * L2Update.L2Update.byteLength), 0, 4_096)
  let rest = 0
  while (flow.pendingMessages > 0) writeNext(flow, tail, rest++)
  passVelox(logic, tail, rest, out)
  if (peer !== undefined) passPeer(peer, tail, rest, tally)
  if (plain !== undefined) passPlain(plain, tail, rest)
  total += rest
  let live = 0
  for (let s = 0; s < symbols; s++) if (logic.l2.syncOf(s) === L2StatusKernel.LIVE) live++
  if (live !== flow.snapshots) throw new Error(`l2: ${live} live books, ${flow.snapshots} snapshots sent`)
  if (out.applied !== total || out.dropped !== 0 || out.refused !== 0) {
    throw new Error(`l2: velox applied ${out.applied} of ${total} (dropped ${out.dropped}, refused ${out.refused})`)
  }
  if (peer !== undefined && (tally.applied !== total || tally.written !== out.written || tally.checksum !== out.checksum)) {
    throw new Error(
      `l2: the peer disagrees: applied ${tally.applied}/${total}, tops ${tally.written} vs velox ${out.written}, ` +
        `checksum ${tally.checksum} vs ${out.checksum}`
    )
  }
  if (plain !== undefined && (plain.applied !== total || plain.written !== out.written || plain.checksum !== out.checksum)) {
    throw new Error(
      `l2: the plain loop disagrees: applied ${plain.applied}/${total}, tops ${plain.written} vs velox ${out.written}, ` +
        `checksum ${plain.checksum} vs ${out.checksum}`
    )
  }
  // Every book equals the flow's own, level by level (velox; the peer's and the plain loop's).
  const depth = new Float64Array(2 * 2_000)
  let levels = 0
  for (let s = 0; s < symbols; s++) {
    for (const side of [0, 1]) {
      const want = flow.book(s, side)
      // A book is live once its symbol's snapshot arrived; a symbol never picked yet has none.
      if (logic.l2.syncOf(s) !== L2StatusKernel.LIVE) continue
      const n = logic.book.depth(s, side, 2_000, depth)
      const bad = n !== want.length || want.some(([p, z], k) => depth[2 * k] !== p || depth[2 * k + 1] !== z)
      if (bad) throw new Error(`l2: velox's book of symbol ${s} side ${side} differs from the flow's`)
      if (peer !== undefined && JSON.stringify(peer.levels(s, side)) !== JSON.stringify(want)) {
        throw new Error(`l2: the peer's book of symbol ${s} side ${side} differs from the flow's`)
      }
      if (plain !== undefined && JSON.stringify(plain.levels(s, side)) !== JSON.stringify(want)) {
        throw new Error(`l2: the plain loop's book of symbol ${s} side ${side} differs from the flow's`)
      }
      levels += n
    }
  }
  const ns = median(veloxNs)
  return {
    veloxNs: ns,
    veloxMupdatesPerSecond: 1e3 / ns,
    ...(peer === undefined ? {} : { peerNs: median(peerNs), peerMupdatesPerSecond: 1e3 / median(peerNs) }),
    ...(plain === undefined ? {} : { plainNs: median(plainNs), plainMupdatesPerSecond: 1e3 / median(plainNs) }),
    updates: total,
    topShare: out.written / total,
    levelsPerSide: levels / (2 * symbols),
    snapshots: flow.snapshots,
    bookMiB: logic.book.byteLength / 2 ** 20
  }
}
