/**
 * Where a `Quote`'s fields sit in a record view's word arrays, for the stages' hot loops: one typed
 * array read at a computed index (`view.words64[i * STRIDE + BID]`) instead of a field accessor's
 * closure call. Computed from the layout, so they follow it.
 */
import { Quote } from "../Quote.ts"
import { wordIndex } from "./layoutWords.ts"

/** A record's length in 8-byte words (`view.words64`). */
export const STRIDE = Quote.byteLength / 8
/** A record's length in 4-byte words (`view.words`). */
export const STRIDE32 = Quote.byteLength / 4
/** f64 fields, in 8-byte words from the record's start. */
export const EXCHANGE_TS = wordIndex(Quote, "exchangeTsNs", 8)
export const BID = wordIndex(Quote, "bid", 8)
export const ASK = wordIndex(Quote, "ask", 8)
export const LAST_SIZE = wordIndex(Quote, "lastSize", 8)
/** The u32 symbol id, in 4-byte words from the record's start (read it `>>> 0`: `view.words` is signed). */
export const SYMBOL = wordIndex(Quote, "symbol", 4)

if (STRIDE !== 10) throw new Error(`copyQuote copies 10 words; a Quote is ${STRIDE}`)

/**
 * Copies one Quote record (its ten words) from `from` at word `at` to `to` at word `d`: written out,
 * ten moves with no loop around them (measured: a few % of the throttle's and the store's CPU per quote,
 * bench/README.md, market, fourth round).
 */
export const copyQuote = (to: Float64Array, d: number, from: Float64Array, at: number): void => {
  to[d] = from[at]!
  to[d + 1] = from[at + 1]!
  to[d + 2] = from[at + 2]!
  to[d + 3] = from[at + 3]!
  to[d + 4] = from[at + 4]!
  to[d + 5] = from[at + 5]!
  to[d + 6] = from[at + 6]!
  to[d + 7] = from[at + 7]!
  to[d + 8] = from[at + 8]!
  to[d + 9] = from[at + 9]!
}
