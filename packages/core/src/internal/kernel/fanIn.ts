/**
 * Fan-in: one consumer draining several producers, as one SPSC ring per producer polled in turn.
 *
 * Why not a many-to-one ring: an MPSC ring makes every producer CAS the shared tail to claim, and
 * needs a per-slot commit flag because producers finish out of order, so the consumer reads a flag per
 * record. With a ring per producer, each producer keeps its own cache lines and its one-store-per-batch
 * publish, per-producer order holds by construction, and a slow producer cannot stall the others'
 * slots. The price — a consumer polls N heads — is a load per input per poll, and the consumer still
 * parks on a single word because every input ring shares its consumer bell.
 *
 * Fairness: each `poll` starts one input later than the last, and takes at most `maxPerInput` from
 * each, so a flooding producer cannot starve a quiet one.
 */
import { END_OF_STREAM, RingConsumer, type RingHandle } from "./oneToOneRing.ts"

/** Called once per non-empty input batch; read slots `consumer.readIndex .. + count - 1`. */
export type FanInBatchHandler = (inputIndex: number, consumer: RingConsumer, count: number) => void

export class FanInConsumer {
  readonly inputs: ReadonlyArray<RingConsumer>
  private readonly ended: Array<boolean>
  private endedCount = 0
  private start = 0

  constructor(handles: ReadonlyArray<RingHandle>) {
    if (handles.length === 0) throw new RangeError("fan-in needs at least one input ring: inputs=0")
    const bell = handles[0]!.consumerBell
    for (const [i, h] of handles.entries()) {
      if (h.consumerBell.buffer !== bell.buffer || h.consumerBell.byteOffset !== bell.byteOffset) {
        throw new RangeError(
          `fan-in inputs must share one consumer bell: input ${i} rings byteOffset=${h.consumerBell.byteOffset}, input 0 rings byteOffset=${bell.byteOffset}`
        )
      }
    }
    this.inputs = handles.map((h) => new RingConsumer(h))
    this.ended = handles.map(() => false)
  }

  /**
   * Polls every live input once (up to two runs each, across the wrap), hands each non-empty batch to
   * `onBatch`, then releases it. Returns records handled, or END_OF_STREAM once every input ended.
   */
  poll(maxPerInput: number, onBatch: FanInBatchHandler): number {
    const inputs = this.inputs
    const n = inputs.length
    let work = 0
    for (let k = 0; k < n; k++) {
      const i = (this.start + k) % n
      if (this.ended[i]) continue
      const consumer = inputs[i]!
      let budget = maxPerInput
      while (budget > 0) {
        const count = consumer.poll(budget)
        if (count === END_OF_STREAM) {
          this.ended[i] = true
          this.endedCount++
          break
        }
        if (count === 0) break
        onBatch(i, consumer, count)
        consumer.release(count)
        work += count
        budget -= count
      }
    }
    this.start = (this.start + 1) % n
    return work === 0 && this.endedCount === n ? END_OF_STREAM : work
  }

  /** For idle strategies: is any input non-empty or newly closed? */
  hasWork(): boolean {
    for (let i = 0; i < this.inputs.length; i++) {
      if (!this.ended[i] && this.inputs[i]!.hasWork()) return true
    }
    return false
  }

  isEndOfStream(): boolean {
    return this.endedCount === this.inputs.length
  }
}
