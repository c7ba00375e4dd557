/**
 * Peer of `topology/oneToOneRingThroughput.ts` on ONE thread: Effect's `Queue` between a producer fiber
 * and a consumer fiber. Effect queues live in one isolate and cannot cross workers, so this is a
 * single-thread micro benchmark: producer and consumer take turns on the same core, and its rate is not
 * directly comparable to a two-core pipeline (it is what an in-process Effect stage boundary costs).
 *
 * ```
 *   one thread, one Effect runtime
 *   ┌────────────────┐  offer / offerAll(256)   ┌──────────────────┐
 *   │ producer fiber │ ──► [ Queue.bounded ] ──►│ consumer fiber   │ take / takeBetween(1, 256)
 *   └────────────────┘                          └──────────────────┘ → check 4 fields
 * ```
 *
 * Records are `{seq, a, b, c}` objects as in the per-object postMessage peer (a queue carries values,
 * not bytes). The consumer checks every field of every record.
 */
import { Effect, Fiber, Queue } from "effect"

export interface Params {
  /** A first, untimed stream of this length warms the JIT; then the timed stream runs this long. */
  readonly warmupMs: number
  readonly durationMs: number
  readonly capacity: number
  /** 1: `offer` / `take` one record at a time; more: `offerAll` / `takeBetween(1, batch)`. */
  readonly batch: number
}

interface RecordObject {
  readonly seq: number
  readonly a: number
  readonly b: number
  readonly c: number
}

/** Ends the stream: the producer stops on a deadline, so the consumer does not know the count. */
const END = null

const makeRecord = (seq: number): RecordObject => ({ seq, a: seq + 0.5, b: seq * 2, c: -seq })

const isBad = (r: RecordObject, s: number): boolean => r.seq !== s || r.a !== s + 0.5 || r.b !== s * 2 || r.c !== -s

/** The producer reads the clock once per this many records (a clock read costs about a queue offer). */
const CLOCK_EVERY = 256

interface StreamResult {
  readonly sent: number
  readonly received: number
  readonly bad: number
}

/** Streams records through a fresh queue for `durationMs`, then the end marker. */
const stream = (durationMs: number, capacity: number, batch: number): Effect.Effect<StreamResult> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<RecordObject | typeof END>(capacity)
    const deadline = performance.now() + durationMs
    const producer = yield* Effect.forkChild(
      batch === 1
        ? Effect.gen(function*() {
          let seq = 0
          while (seq % CLOCK_EVERY !== 0 || performance.now() < deadline) {
            yield* Queue.offer(queue, makeRecord(seq))
            seq++
          }
          yield* Queue.offer(queue, END)
          return seq
        })
        : Effect.gen(function*() {
          let seq = 0
          while (performance.now() < deadline) {
            const records = new Array<RecordObject>(batch)
            for (let i = 0; i < batch; i++) records[i] = makeRecord(seq + i)
            const rest = yield* Queue.offerAll(queue, records)
            if (rest.length !== 0) return yield* Effect.die(new Error(`offerAll left ${rest.length} records`))
            seq += batch
          }
          yield* Queue.offer(queue, END)
          return seq
        })
    )
    let bad = 0
    let seq = 0
    if (batch === 1) {
      for (;;) {
        const r = yield* Queue.take(queue)
        if (r === END) break
        if (isBad(r, seq)) bad++
        seq++
      }
    } else {
      let ended = false
      while (!ended) {
        const records = yield* Queue.takeBetween(queue, 1, batch)
        for (const r of records) {
          if (r === END) {
            ended = true
            break
          }
          if (isBad(r, seq)) bad++
          seq++
        }
      }
    }
    const sent = yield* Fiber.join(producer)
    return { sent, received: seq, bad }
  })

export const run = async (params: Params): Promise<Record<string, number>> => {
  const { warmupMs, durationMs, capacity, batch } = params
  const warm = await Effect.runPromise(stream(warmupMs, capacity, batch))
  const t0 = performance.now()
  const r = await Effect.runPromise(stream(durationMs, capacity, batch))
  const ms = performance.now() - t0
  for (const [what, x] of [["warm-up", warm], ["timed", r]] as const) {
    if (x.bad !== 0 || x.received !== x.sent || x.sent === 0) {
      throw new Error(
        `effect queue (batch=${batch}): ${what} stream check failed: sent=${x.sent} received=${x.received} bad=${x.bad}`
      )
    }
  }
  return { mrecPerSecond: r.received / ms / 1e3, timedRecords: r.received, records: warm.received + r.received }
}
