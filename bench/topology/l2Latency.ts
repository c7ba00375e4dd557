/**
 * The L2 book at seed 003's load: 10,000 symbols, 35,000 messages per second (in bursts), one thread —
 * latency from each update's exchange time to its top of book reaching a sink, and the CPU it takes.
 *
 * ```
 *   fused (1 worker)
 *   ┌─ W1 ─────────────────────────────────────────────────────────────────────────────────┐
 *   │ L2Feed ─► l2-book ─► l2-latency-sink ──► OutputLatency histogram (receipt − exchangeTsNs)│
 *   │ (paced: a message goes out at its exchange time on the pipeline clock)                 │
 *   └───────────────────────────────────────────────────────────────────────────────────────┘
 * ```
 *
 * The feed starts at the opening of the session (`sessionStart`: empty books, sequence numbers from 1;
 * the book stage runs with `firstSeq: 1`), so the window sees the steady flow, not 10,000 starting
 * snapshots. The source emits each message when the loop's clock reaches its exchange time; the
 * latency is the sink's clock when its batch arrives minus that exchange time: the wait for the loop
 * to poll (the loop parks until the next message is due), the book, the hand-offs. CPU:
 * `process.cpuUsage()` (all threads) over the window, in % of one core.
 *
 * Sequence: start; wait until every stage runs and the first tops reached the sink; `warmupMs`;
 * recording on; `windowMs`; recording off; stop; drain. Checked before a number is returned: the
 * ledger balances; nothing dropped or refused; every book live; the arrivals in the window within
 * ±20% of the rate (the flow is bursty); the histogram recorded as many tops as the sink received in
 * the window (± a batch at each edge); at least 1,000 samples (else inconclusive).
 */
import { Effect, Exit, Scope } from "effect"
import { Pipeline } from "@velox/core"
import { L2BookStage, L2Feed, L2Status, OutputLatency } from "@velox/market"
import { NodeStageHost } from "@velox/node"
import { InconclusiveRun } from "../harness.ts"
import { L2LatencySink } from "./l2LatencySink.ts"

export interface Params {
  readonly symbols: number
  readonly rate: number
  readonly warmupMs: number
  readonly windowMs: number
  readonly startTimeoutMs: number
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = `velox l2 at ${params.rate}/s over ${params.symbols} symbols`
  const latency = OutputLatency.make()
  const status = L2Status.make(params.symbols)
  const pipeline = Pipeline.from(L2Feed, { symbols: params.symbols, rate: params.rate, seed: 3, sessionStart: true })
    .via(L2BookStage, { symbols: params.symbols, firstSeq: 1, status })
    .to(L2LatencySink, { latency })
  const program = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const handle = yield* Pipeline.run(pipeline).pipe(Scope.provide(scope))
    const sinkIn = () => handle.stats().stages[2]!.in
    const deadline = performance.now() + params.startTimeoutMs
    while (!(handle.stats().stages.every((s) => s.state === "Running") && sinkIn() > 0)) {
      if (performance.now() > deadline) return yield* Effect.die(new Error(`${label}: no top of book within ${params.startTimeoutMs} ms`))
      yield* Effect.sleep("5 millis")
    }
    yield* Effect.sleep(params.warmupMs)
    OutputLatency.startRecording(latency)
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const in0 = handle.stats().stages[1]!.in
    const tops0 = sinkIn()
    yield* Effect.sleep(params.windowMs)
    const cpu = process.cpuUsage(cpu0)
    const wallMs = performance.now() - t0
    const arrivals = handle.stats().stages[1]!.in - in0
    const tops = sinkIn() - tops0
    OutputLatency.stopRecording(latency)
    yield* handle.stop
    yield* handle.done
    yield* Scope.close(scope, Exit.void)
    return { handle, wallMs, cpuUs: cpu.user + cpu.system, arrivals, tops }
  })
  const { arrivals, cpuUs, handle, tops, wallMs } = await Effect.runPromise(program.pipe(Effect.provide(NodeStageHost.layer)))
  const ledger = handle.ledger()
  if (!ledger.balanced) throw new Error(`${label}: the ledger does not balance`)
  const book = ledger.stages.find((s) => s.stage === "l2-book")!
  if (Object.keys(book.dropped).length > 0 || Object.keys(book.deadLettered).length > 0 || book.emitted !== book.in) {
    throw new Error(`${label}: not every update applied: ${JSON.stringify(book)}`)
  }
  const summary = L2Status.read(status)
  if (summary.stale + summary.resyncing + summary.refreshing > 0) throw new Error(`${label}: books out of sync: ${JSON.stringify(summary)}`)
  const expected = (params.rate * wallMs) / 1e3
  if (Math.abs(arrivals - expected) > 0.2 * expected) {
    throw new Error(`${label}: ${arrivals} arrivals in ${wallMs.toFixed(0)} ms, expected about ${expected.toFixed(0)}`)
  }
  const { closing } = OutputLatency.read(latency)
  if (Math.abs(closing.count - tops) > 2 * 256) {
    throw new Error(`${label}: the histogram recorded ${closing.count} tops, the sink received ${tops} in the window`)
  }
  if (closing.count < 1_000) throw new InconclusiveRun(`${label}: only ${closing.count} samples in the window`)
  const us = (ns: number) => ns / 1e3
  return {
    latencyMeanUs: us(closing.meanNs),
    latencyP50Us: us(OutputLatency.percentileNs(closing, 0.5)),
    latencyP99Us: us(OutputLatency.percentileNs(closing, 0.99)),
    latencyMaxUs: us(closing.maxNs),
    cpuPercent: (cpuUs / 1e3 / wallMs) * 100,
    ratePerSecond: (arrivals / wallMs) * 1e3,
    samples: closing.count,
    negatives: closing.negatives
  }
}
