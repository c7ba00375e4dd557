/**
 * The transaction engine at a Poisson rate (100k/s, the original engine's; or ~1/s: no input):
 * latency from ingress timestamp to output, and the whole program's CPU, over one timed window.
 *
 * ```
 *   main thread: runs the pipeline (Effect), switches recording on and off, stops it, checks (idle between)
 *
 *   fused   (1 worker, the engine's default placement)
 *   ┌─ W1 ───────────────────────────────────────────────────────────────────────┐
 *   │ ingress ─► order-book ─► bundler ─► output ──► OutputLatency histograms     │
 *   │ (tsNs = scheduled arrival)  (receipt − tsNs,    (receipt − tsNs, per bundle)│
 *   │                              per transaction)                               │
 *   └─────────────────────────────────────────────────────────────────────────────┘
 *
 *   workers (2 workers, one ring of 40-byte Transactions)
 *   ┌─ W1 ──────┐  ring   ┌─ W2 ─────────────────────────────────────────────────┐
 *   │ ingress   │ ══════► │ order-book ─► bundler ─► output ──► histograms        │
 *   └───────────┘         └───────────────────────────────────────────────────────┘
 *
 *   ─►  fused hand-off (same pass, same thread)     ══► ring between two threads
 * ```
 *
 * The engine exactly as `npm start` runs it: Ingress at `rate` (Poisson arrivals, each transaction's
 * `tsNs` its scheduled arrival time on the pipeline clock), 8 symbols, the order book, the Bundler at
 * its defaults (16 updates or 100 µs), Output counting — plus `latency` (one `OutputLatency` buffer,
 * given to the Bundler and to Output), and the run defaults (batch 256, BackoffIdleStrategy).
 *
 * Latency, with `receipt` = the recording stage's pipeline clock when its `onBatch` starts:
 *
 * - `latencyP50Us` / `latencyP99Us` (**transaction**): every transaction, `receipt at the Bundler −
 *   its tsNs`: its transit from its scheduled arrival through the ingress, the order book and their
 *   hand-offs to the bundler, with no waiting for a bundle to fill. Every arrival counts once, as in
 *   the bare peer's rows (`micro/pacedPeer.ts`), so the two are compared on the same sample.
 * - `closingP50Us` / `closingP99Us` (details; **closing**): the same transit, sampled only at bundles
 *   closed by size, at Output: `receipt − tsNs of the transaction that closed it`. At 100k/s with a
 *   100 µs timeout only bursts fill a bundle (~1 in 60 transactions), and a stall's backlog fills
 *   bundles: this sample over-weights stalls (what `velox-latency-p99-us` was before it covered every
 *   transaction).
 * - `bundleP50Us` / `bundleP99Us` (**oldest**): every bundle, `receipt − tsNs of its first
 *   transaction`: transit plus the wait for the bundle to close (up to 100 µs + the 25 µs timer period).
 *
 * Percentiles are bucket upper bounds (within 3.1%; the maximum is exact). The clock of the readings:
 * the source's and the output's loops each read their thread's calibrated pipeline clock (`NanoClock`,
 * within ±`uncertaintyNs` across threads); fused, it is one thread's clock.
 *
 * CPU: `process.cpuUsage()` (every thread of the process: the workers and the main thread) over the same
 * window, as a percentage of one core. Where it goes: `mainCpuPercent`, the main thread
 * (`process.threadCpuUsage()`); `sourceLoopCpuPercent`, the loop that runs the ingress, and
 * `otherLoopsCpuPercent`, the other velox loops (Linux per-thread scheduler stats); the rest is
 * Node's own threads (GC, compiler).
 *
 * Sequence: start; wait until every stage runs (and, at a real rate, the first bundles reached the
 * output); `warmupMs` more; recording on, sample; `windowMs`; sample, recording off; stop; drain.
 *
 * Checked before any number is returned: the ledger balances, nothing dropped or dead-lettered, and the
 * engine reconciles (generated = book in = book updates = transactions bundled = transactions
 * received; bundles flushed = bundles received = flushes by reason); the arrivals in the window match
 * the rate (within 5σ of a Poisson count, at ≥ 1000 expected; inconclusive when a bundle waited over
 * 2 ms: the loop fell behind, and the window counts its catching up); the latency histograms recorded
 * every bundle the output received and every transaction the bundler received in the window (± one batch
 * at each edge); at least `minLatencySamples` transactions recorded (else the run is inconclusive).
 */
import { Effect, Exit, Scope } from "effect"
import { Pipeline } from "@velox/core"
import { Bundler, Ingress, OrderBookStage, Output, OutputLatency, OutputTotals } from "@velox/market"
import { NodeStageHost } from "@velox/node"
import { InconclusiveRun } from "../harness.ts"
import { ENGINE } from "../micro/engineWork.ts"
import { checkEngine } from "./engineThroughput.ts"
import { loopCpuNs } from "./loopCpu.ts"

export interface Params {
  readonly placement: "fused" | "workers"
  /** Transactions per second (Poisson). */
  readonly rate: number
  /** After every stage runs (and, at a real rate, bundles reach the output). */
  readonly warmupMs: number
  readonly windowMs: number
  readonly startTimeoutMs: number
  /** Fewer transactions recorded in the window than this: inconclusive (0: no latency expected). */
  readonly minLatencySamples: number
  /** The loops' idle strategy: "backoff" (the default: park until the next arrival or timer) or "spin". */
  readonly idle?: "backoff" | "spin"
  /** Backoff only: the loops' timer slack (`BackoffOptions.timerSlackNs`); default: velox's. */
  readonly timerSlackNs?: number
}

/** The bundler's place in the engine's chain (ingress, order-book, bundler, output). */
const BUNDLER = 2

/** A bundle that waited longer than this (timeout 100 µs + a timer period) means the loop fell behind. */
const STARVED_NS = 2_000_000

interface Sample {
  readonly wallMs: number
  readonly cpuUs: number
  readonly mainCpuUs: number
  readonly sourceLoopNs: number
  readonly otherLoopsNs: number
  readonly generated: number
  readonly bundles: number
  /** Updates the bundler received (its IN). */
  readonly bundled: number
  readonly parks: number
}

const sample = (handle: Pipeline.PipelineHandle): Sample => {
  const snapshot = handle.stats()
  const cpu = process.cpuUsage()
  const main = process.threadCpuUsage()
  const loops = loopCpuNs()
  return {
    wallMs: performance.now(),
    cpuUs: cpu.user + cpu.system,
    mainCpuUs: main.user + main.system,
    sourceLoopNs: loops.source,
    otherLoopsNs: loops.others,
    generated: snapshot.stages[0]!.emitted,
    bundles: OutputTotals.read(snapshot).bundles,
    bundled: snapshot.stages[BUNDLER]!.in,
    parks: snapshot.stages.reduce((n, s) => n + s.parks, 0)
  }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = `velox engine ${params.placement} at ${params.rate}/s`
  const latency = OutputLatency.make()
  const placement = params.placement === "workers" ? "worker" : "fused"
  const pipeline = Pipeline.from(Ingress, { rate: params.rate, symbols: ENGINE.symbols, seed: ENGINE.seed })
    .via(OrderBookStage, { symbols: ENGINE.symbols }, { placement })
    .via(Bundler, { maxSize: ENGINE.bundleSize, latency })
    .to(Output, { latency })
  const program = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const idle = params.idle === "spin"
      ? "spin" as const
      : params.timerSlackNs === undefined
      ? {}
      : { timerSlackNs: params.timerSlackNs }
    const handle = yield* Pipeline.run(pipeline, { idle }).pipe(Scope.provide(scope))
    const startDeadline = performance.now() + params.startTimeoutMs
    const started = () =>
      handle.stats().stages.every((s) => s.state === "Running") &&
      (params.minLatencySamples === 0 || OutputTotals.read(handle.stats()).bundles > 0)
    while (!started()) {
      if (performance.now() > startDeadline) {
        return yield* Effect.die(new Error(`${label}: the engine did not start within ${params.startTimeoutMs} ms`))
      }
      yield* Effect.sleep("5 millis")
    }
    yield* Effect.sleep(params.warmupMs)
    // Each switch just before its sample, whose snapshot is its first read: the histogram's window and
    // the counters' are then shifted alike. Stopping after `b` counted what arrived while `b` read the
    // threads' CPU (a millisecond's worth at 1M/s) in the histogram alone.
    OutputLatency.startRecording(latency)
    const a = sample(handle)
    yield* Effect.sleep(params.windowMs)
    OutputLatency.stopRecording(latency)
    const b = sample(handle)
    yield* handle.stop
    yield* handle.done
    yield* Scope.close(scope, Exit.void)
    return { a, b, handle }
  })
  const { a, b, handle } = await Effect.runPromise(program.pipe(Effect.provide(NodeStageHost.layer)))
  const out = OutputTotals.read(handle.stats())
  checkEngine(label, handle.ledger(), handle.deadLetters().length, out, { timeouts: true })
  const wallMs = b.wallMs - a.wallMs
  const arrivals = b.generated - a.generated
  const expected = (params.rate * wallMs) / 1e3
  const { closing, oldest, transaction } = OutputLatency.read(latency)
  if (expected >= 1000 && Math.abs(arrivals - expected) > 5 * Math.sqrt(expected)) {
    const miss = `${arrivals} arrivals in ${wallMs.toFixed(0)} ms, expected ${expected.toFixed(0)} ± ${(5 * Math.sqrt(expected)).toFixed(0)}`
    // A loop the machine starved runs behind its schedule and catches up in bursts: the window then
    // counts the catching up, not the rate. Its bundles say so (waits of milliseconds); a pacing bug
    // in a loop that kept up does not hide behind this.
    if (oldest.maxNs > STARVED_NS) {
      throw new InconclusiveRun(`${label}: ${miss}, the loop ran up to ${(oldest.maxNs / 1e6).toFixed(1)} ms behind (starved)`)
    }
    throw new Error(`${label}: ${miss}`)
  }
  // Recording switches at batch boundaries: the histogram may hold a batch more or less at each edge.
  const received = b.bundles - a.bundles
  if (Math.abs(oldest.count - received) > 2 * 256) {
    throw new Error(`${label}: the histogram recorded ${oldest.count} bundles, the output received ${received} in the window`)
  }
  const bundled = b.bundled - a.bundled
  if (Math.abs(transaction.count - bundled) > 2 * 256) {
    throw new Error(`${label}: the histogram recorded ${transaction.count} transactions, the bundler received ${bundled} in the window`)
  }
  if (transaction.count < params.minLatencySamples) {
    throw new InconclusiveRun(`${label}: only ${transaction.count} transactions recorded in the window (want ${params.minLatencySamples})`)
  }
  const us = (ns: number) => ns / 1e3
  return {
    cpuPercent: ((b.cpuUs - a.cpuUs) / 1e3 / wallMs) * 100,
    mainCpuPercent: ((b.mainCpuUs - a.mainCpuUs) / 1e3 / wallMs) * 100,
    sourceLoopCpuPercent: ((b.sourceLoopNs - a.sourceLoopNs) / 1e6 / wallMs) * 100,
    otherLoopsCpuPercent: ((b.otherLoopsNs - a.otherLoopsNs) / 1e6 / wallMs) * 100,
    latencyP50Us: us(OutputLatency.percentileNs(transaction, 0.5)),
    latencyP99Us: us(OutputLatency.percentileNs(transaction, 0.99)),
    latencyMaxUs: us(transaction.maxNs),
    latencySamples: transaction.count,
    closingP50Us: us(OutputLatency.percentileNs(closing, 0.5)),
    closingP99Us: us(OutputLatency.percentileNs(closing, 0.99)),
    bundleP50Us: us(OutputLatency.percentileNs(oldest, 0.5)),
    bundleP99Us: us(OutputLatency.percentileNs(oldest, 0.99)),
    closingSamples: closing.count,
    bundles: oldest.count,
    negatives: closing.negatives + oldest.negatives + transaction.negatives,
    ratePerSecond: (arrivals / wallMs) * 1e3,
    parksPerSecond: ((b.parks - a.parks) / wallMs) * 1e3,
    timeoutShare: out.bundles > 0 ? out.timeoutFlushes / out.bundles : 0
  }
}
