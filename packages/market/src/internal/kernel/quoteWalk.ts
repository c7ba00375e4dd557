/**
 * Synthetic quotes (kernel tier): random walks of best bid and ask at realistic prices — FX majors
 * with 5 decimals (3 for yen pairs), US equities in cents — for the quote generator, tests and
 * benchmarks. Seeded: the same seed gives the same quotes. Allocation-free per quote: `next()` fills
 * the walk's own fields.
 *
 * Each quote picks an instrument uniformly, then: half the time the bid stays (a size update), else it
 * moves 1–3 ticks up or down (geometric); the spread (1–3 ticks) changes one time in five; sizes are
 * drawn in lots (1–10 million for FX, 1–20 hundred shares for equities); an equity quote reports a
 * trade (at the bid or the ask) three times in ten. With the default 0.001 % throttle this passes
 * about half of the quotes, as the seed's 40–60 % throttling.
 */
import { Sfc32 } from "./orderFlow.ts"

export interface Instrument {
  readonly name: string
  /** Starting mid. */
  readonly price: number
  readonly decimals: number
  /** Units per size lot. */
  readonly lot: number
  /** Reports trades (`last`, `lastSize`). */
  readonly trades: boolean
}

const fx = (name: string, price: number, decimals = 5): Instrument => ({ name, price, decimals, lot: 1_000_000, trades: false })
const equity = (name: string, price: number): Instrument => ({ name, price, decimals: 2, lot: 100, trades: true })

/** The built-in instruments, FX and equities interleaved so that any first few hold both; `EURUSD` first. */
export const INSTRUMENTS: ReadonlyArray<Instrument> = [
  fx("EURUSD", 1.085),
  equity("AAPL", 187.25),
  fx("GBPUSD", 1.265),
  equity("MSFT", 415.1),
  fx("USDJPY", 151.2, 3),
  equity("NVDA", 875.3),
  fx("AUDUSD", 0.655),
  equity("TSLA", 175.2),
  fx("USDCHF", 0.88),
  equity("AMZN", 178.35),
  fx("USDCAD", 1.36),
  equity("GOOGL", 141.8),
  fx("NZDUSD", 0.61),
  equity("META", 495.6),
  fx("EURGBP", 0.857),
  equity("JPM", 190.45),
  fx("EURJPY", 164, 3),
  equity("V", 275.3),
  fx("GBPJPY", 191.3, 3),
  equity("XOM", 118.4)
]

/** The first `n` instruments: the built-in ones, then `SYM0021`, `SYM0022`, … equities at seeded prices. */
export const instruments = (n: number, seed: number): Array<Instrument> => {
  const out = INSTRUMENTS.slice(0, n)
  const rng = new Sfc32(seed ^ 0x5eed)
  for (let i = out.length; i < n; i++) {
    out.push(equity(`SYM${String(i + 1).padStart(4, "0")}`, Math.round(2_000 + rng.nextUnit() * 48_000) / 100))
  }
  return out
}

export class QuoteWalk {
  readonly count: number
  private readonly rng: Sfc32
  /** Per instrument: bid and spread in ticks, the price scale (10^decimals), lot, trades. */
  private readonly bidTicks: Float64Array
  private readonly spreadTicks: Float64Array
  private readonly scale: Float64Array
  private readonly lot: Float64Array
  private readonly trades: Uint8Array
  private readonly lastPrice: Float64Array
  /** The quote `next()` made. */
  index = 0
  bid = 0
  ask = 0
  bidSize = 0
  askSize = 0
  last = 0
  lastSize = 0

  constructor(list: ReadonlyArray<Instrument>, seed: number) {
    this.count = list.length
    this.rng = new Sfc32(seed)
    this.bidTicks = new Float64Array(list.length)
    this.spreadTicks = new Float64Array(list.length)
    this.scale = new Float64Array(list.length)
    this.lot = new Float64Array(list.length)
    this.trades = new Uint8Array(list.length)
    this.lastPrice = new Float64Array(list.length)
    list.forEach((instrument, i) => {
      const scale = 10 ** instrument.decimals
      this.scale[i] = scale
      this.spreadTicks[i] = 1 + (this.rng.nextU32() % 3)
      this.bidTicks[i] = Math.round(instrument.price * scale) - Math.floor(this.spreadTicks[i]! / 2)
      this.lot[i] = instrument.lot
      this.trades[i] = instrument.trades ? 1 : 0
      this.lastPrice[i] = instrument.trades ? this.bidTicks[i]! / scale : 0
    })
  }

  /** Makes the next quote into this walk's fields. */
  next(): void {
    const rng = this.rng
    const i = rng.nextU32() % this.count
    let bid = this.bidTicks[i]!
    if (rng.nextU32() & 1) {
      // 1 tick with probability 1/2, 2 with 1/4, 3 with 1/4; up or down alike.
      const r = rng.nextU32()
      const size = (r & 1) !== 0 ? 1 : (r & 2) !== 0 ? 2 : 3
      bid += (r & 4) !== 0 ? size : -size
      // A walk never reaches zero: it turns back ten ticks above it.
      if (bid < 10) bid = 10 + size
      this.bidTicks[i] = bid
    }
    let spread = this.spreadTicks[i]!
    if (rng.nextU32() % 5 === 0) {
      spread = 1 + (rng.nextU32() % 3)
      this.spreadTicks[i] = spread
    }
    const scale = this.scale[i]!
    const lot = this.lot[i]!
    this.index = i
    this.bid = bid / scale
    this.ask = (bid + spread) / scale
    this.bidSize = (1 + (rng.nextU32() % (lot === 100 ? 20 : 10))) * lot
    this.askSize = (1 + (rng.nextU32() % (lot === 100 ? 20 : 10))) * lot
    if (this.trades[i] === 1 && rng.nextU32() % 10 < 3) {
      this.lastPrice[i] = (rng.nextU32() & 1) !== 0 ? this.bid : this.ask
      this.last = this.lastPrice[i]!
      this.lastSize = (1 + (rng.nextU32() % 20)) * lot
    } else {
      this.last = this.lastPrice[i]!
      this.lastSize = 0
    }
  }

  /** A uniform number in (0, 1], for inter-arrival times. */
  nextOpenUnit(): number {
    return this.rng.nextOpenUnit()
  }
}
