/**
 * The tick store's write loop, shared by the sink (`TickStoreSink`: each stored quote accounted) and
 * the relay (`TickStoreRelay`: each stored quote passed on unchanged, in runs).
 */
import type { RecordLayout, Stage } from "@velox/core"
import { geometry, RingsWriter } from "./kernel/recordRings.ts"
import * as Q from "./quoteWords.ts"
import type { Quote } from "../Quote.ts"

/**
 * Appends the batch's quotes to their symbols' rings and publishes each symbol's once; a quote whose
 * symbol the store has no ring for is dead-lettered (`UnknownSymbol`, code 0). Then the stored ones
 * are accounted (`passOn` false) or forwarded in order (`passOn` true).
 */
const storeQuotes = (
  writer: RingsWriter,
  input: RecordLayout.RecordView<typeof Quote.spec>,
  start: number,
  count: number,
  out: Stage.Emitter<any>,
  passOn: boolean
): void => {
  // The symbol read straight from the record words (see quoteWords.ts); each tick copied as a
  // Quote's ten words written out (a tick store's records are Quotes: `TickStore.isStore`).
  const u = input.words
  const words = input.words64
  const ring = writer.words64
  const symbols = writer.keys
  const end = start + count
  let stored = 0
  // The first stored quote not forwarded yet (passOn): a refused one ends a run.
  let run = start
  for (let i = start; i < end; i++) {
    const symbol = u[i * Q.STRIDE32 + Q.SYMBOL]! >>> 0
    if (symbol < symbols) {
      Q.copyQuote(ring, writer.slotWord(symbol), words, i * Q.STRIDE)
      writer.appended(symbol)
      stored++
    } else {
      if (passOn && i > run) out.forward(input, run, i - run)
      run = i + 1
      out.deadLetter(0, input, i)
    }
  }
  // One publish per symbol and batch, not per tick.
  writer.flush()
  if (!passOn) out.account(stored)
  else if (end > run) out.forward(input, run, end - run)
}

/** A stage's logic writing to `store` (made by `TickStore.make`): the sink's (`passOn` false) or the relay's. */
export const storeLogic = <O extends RecordLayout.FieldSpec>(store: SharedArrayBuffer, passOn: boolean): Stage.StageLogic<typeof Quote.spec, O> => {
  // The store says how many ticks of a symbol may wait unpublished (its readers allow for them).
  const writer = new RingsWriter(store, geometry(store)!.user[1])
  return {
    onBatch(input, start, count, out) {
      storeQuotes(writer, input, start, count, out, passOn)
    }
  }
}
