/**
 * The transaction engine (ingress → order book → bundler → output) as a velox pipeline, unthrottled,
 * in four placements: transactions per second through all four stages.
 *
 * ```
 *   main thread: runs the pipeline (Effect), samples stats and output counters, stops it, checks (idle between)
 *
 *   fused        (1 worker: the engine's default placement; plain calls through scratch batches)
 *   ┌─ W1 ──────────────────────────────────────────────────────────────────┐
 *   │ ingress ─► order-book ─► bundler ─► output                             │
 *   └────────────────────────────────────────────────────────────────────────┘
 *
 *   ingress-alone (2 workers, one ring of 40-byte Transactions)
 *   ┌─ W1 ──────┐  ring   ┌─ W2 ─────────────────────────────────┐
 *   │ ingress   │ ══════► │ order-book ─► bundler ─► output       │
 *   └───────────┘         └───────────────────────────────────────┘
 *
 *   ingress-book  (2 workers, one ring of 64-byte BookUpdates)
 *   ┌─ W1 ─────────────────────┐  ring   ┌─ W2 ─────────────────┐
 *   │ ingress ─► order-book    │ ══════► │ bundler ─► output     │
 *   └──────────────────────────┘         └───────────────────────┘
 *
 *   per-stage     (4 workers, three rings: more threads than the 2-core machine has)
 *   ┌ W1 ─────┐      ┌ W2 ─────────┐      ┌ W3 ──────┐      ┌ W4 ─────┐
 *   │ ingress │ ══►  │ order-book  │ ══►  │ bundler  │ ══►  │ output  │
 *   └─────────┘      └─────────────┘      └──────────┘      └─────────┘
 *
 *   ─►  fused hand-off: the stage's emitter fills a scratch batch, the next stage's onBatch reads it
 *   ══► ring of `ringCapacity` slots between two threads
 * ```
 *
 * The work: `Ingress` unthrottled (every poll emits a full batch of the seeded order flow, stamped with
 * the poll's clock), `OrderBookStage` over the exact `OrderBooks` kernel, `Bundler` closing bundles of
 * 16 (timeout disabled: see below), `Output` validating, counting and checksumming bundles (no file).
 *
 * The source is unbounded. The run waits until the first bundles reach the output (worker start-up),
 * `warmupMs` more (JIT), then samples twice, `durationMs` apart:
 *
 *   transactions/s = Δ transactions received by Output / Δ output LAST_COMMIT_NS
 *
 * (Output's counters are published by the commit that stamps LAST_COMMIT_NS: a sample's two readings are at most one pass apart, ≤ 256 of ~10⁷ transactions.)
 * `wallMtxPerSecond` is the same Δ over the main thread's clock, a cross-check.
 *
 * Then it stops the source, lets the pipeline drain, and checks before returning any number:
 *
 * - the ledger balances; nothing dropped, dead-lettered or restarted anywhere; no dead letters;
 * - the engine's reconciliation: generated = book in = book updates + dead-lettered = transactions
 *   bundled = transactions received by Output; bundles flushed = bundles received;
 * - the bundles: with the timeout disabled they are exactly ⌊N/16⌋ size flushes of ids 16k..16k+15 and
 *   one drain flush of the rest, so Output's checksum must equal the closed-form one for N generated.
 *
 * Why no timeout here: at the default 100 µs, a bundler that runs behind a backlog (a ring ahead of it
 * full of transactions stamped long ago) closes short bundles by timeout; the bundles then depend on
 * timing and the checksum could not be checked. The timer still runs every 25 µs (same cost).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Bundler, Ingress, OrderBookStage, Output, OutputRelay, OutputTotals } from "@velox/market"
import { NodeJournalSink, NodeJournalUnsafe, NodeStageHost } from "@velox/node"
import { bundleChecksumOf, ENGINE } from "../micro/engineWork.ts"

export type Topology = "fused" | "ingress-alone" | "ingress-book" | "per-stage"

export interface Params {
  readonly topology: Topology
  /** "spin": BusySpin in every loop; "backoff": the default BackoffIdleStrategy. */
  readonly idle: "spin" | "backoff"
  readonly batchSize: number
  readonly ringCapacity: number
  readonly warmupMs: number
  readonly durationMs: number
  readonly startTimeoutMs: number
  /**
   * With a journal: the output relays every bundle to a journal sink in a worker of its own (what
   * `velox-engine --journal` runs), with this fsync policy, in a temporary directory removed after.
   */
  readonly journal?: "never" | "interval"
}

type Placement = "fused" | "worker"

/** Placement of order-book, bundler and output; the ingress always starts a worker. */
const PLACEMENTS: Record<Topology, readonly [Placement, Placement, Placement]> = {
  "fused": ["fused", "fused", "fused"],
  "ingress-alone": ["worker", "fused", "fused"],
  "ingress-book": ["fused", "worker", "fused"],
  "per-stage": ["worker", "worker", "worker"]
}

export const pipelineOf = (topology: Topology, journal?: { readonly directory: string; readonly fsync: "never" | "interval" }): Pipeline.Pipeline => {
  const [book, bundler, output] = PLACEMENTS[topology]
  const bundles = Pipeline.from(Ingress, { unthrottled: true, symbols: ENGINE.symbols, seed: ENGINE.seed })
    .via(OrderBookStage, { symbols: ENGINE.symbols }, { placement: book })
    .via(Bundler, { maxSize: ENGINE.bundleSize, timeoutNs: Infinity }, { placement: bundler })
  return journal === undefined
    ? bundles.to(Output, {}, { placement: output })
    : bundles.via(OutputRelay, {}, { placement: output }).to(NodeJournalSink.sink, {
      directory: journal.directory,
      fsync: journal.fsync,
      // A bounded disk footprint: an unthrottled engine writes tens of MB/s.
      segmentBytes: 64 * 2 ** 20,
      retentionBytes: 256 * 2 ** 20
    }, { placement: "worker" })
}

interface Sample {
  readonly transactions: number
  readonly lastCommitNs: number
  readonly wallMs: number
  readonly cpuUs: number
  readonly parks: number
  readonly ringFill: number
}

/** The output stage (the last one, or the relay before a journal sink): its commits time the transactions it counted. */
const outputOf = (snapshot: Pipeline.Snapshot) => snapshot.stages.find((s) => s.stage === OutputTotals.NAME)!

const sample = (handle: Pipeline.PipelineHandle): Sample => {
  const snapshot = handle.stats()
  const transactions = OutputTotals.read(snapshot).transactions
  const cpu = process.cpuUsage()
  return {
    transactions,
    lastCommitNs: outputOf(snapshot).lastCommitNs,
    wallMs: performance.now(),
    cpuUs: cpu.user + cpu.system,
    parks: snapshot.stages.reduce((n, s) => n + s.parks, 0),
    ringFill: snapshot.rings.length === 0
      ? 0
      : snapshot.rings.reduce((n, r) => n + r.fill / r.capacity, 0) / snapshot.rings.length
  }
}

const sum = (counts: Readonly<Record<string, number>>): number => Object.values(counts).reduce((a, b) => a + b, 0)

/**
 * Throws unless the drained run reconciles: the ledger balances, nothing was dropped or dead-lettered,
 * every transaction generated reached the output in a bundle, and the bundles are exactly those of
 * `bundleSize` (checksum).
 */
export const checkEngine = (
  label: string,
  ledger: Ledger.Ledger,
  deadLetters: number,
  out: OutputTotals.Totals,
  options: { readonly timeouts: boolean }
): number => {
  const byName = (name: string) => ledger.stages.find((s) => s.stage === name)!
  const ingress = byName("ingress")
  const book = byName("order-book")
  const bundler = byName("bundler")
  const output = byName("output")
  const generated = ingress.emitted
  const problems: Array<string> = []
  if (!ledger.balanced) problems.push("ledger not balanced")
  if (!(generated > 0)) problems.push("the ingress generated nothing")
  const equal = (what: string, a: number, b: number) => {
    if (a !== b) problems.push(`${what}: ${a} ≠ ${b}`)
  }
  equal("generated = book in", generated, book.in)
  equal("book in = book updates + dead-lettered", book.in, book.emitted + sum(book.deadLettered))
  equal("book updates = transactions bundled", book.emitted, bundler.emitted)
  equal("transactions bundled = transactions received by output", bundler.emitted, out.transactions)
  equal("bundles flushed = bundles received", bundler.written, out.bundles)
  equal("bundles received = output in", out.bundles, output.in)
  for (const s of ledger.stages) {
    const dropped = sum(s.dropped)
    const dead = sum(s.deadLettered)
    if (dropped !== 0 || dead !== 0 || s.restarts !== 0) {
      problems.push(`${s.stage}: dropped ${dropped}, dead-lettered ${dead}, restarts ${s.restarts}`)
    }
  }
  if (deadLetters !== 0) problems.push(`${deadLetters} dead letters`)
  if (!options.timeouts) {
    const full = Math.floor(generated / ENGINE.bundleSize)
    const rest = generated - full * ENGINE.bundleSize
    equal("size flushes", out.sizeFlushes, full)
    equal("timeout flushes", out.timeoutFlushes, 0)
    equal("drain flushes", out.drainFlushes, rest > 0 ? 1 : 0)
    equal("output checksum", out.checksum, bundleChecksumOf(generated, ENGINE.bundleSize))
  } else {
    equal("flushes = bundles", out.sizeFlushes + out.timeoutFlushes + out.drainFlushes, out.bundles)
  }
  if (problems.length > 0) {
    throw new Error(`${label}: check failed: ${problems.join("; ")}\n${Ledger.format(ledger)}`)
  }
  return generated
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = `velox engine ${params.topology} (idle=${params.idle}, batch=${params.batchSize}` +
    `${params.journal === undefined ? "" : `, journal fsync ${params.journal}`})`
  const directory = params.journal === undefined ? undefined : join(mkdtempSync(join(tmpdir(), "bench-engine-journal-")), "bundles")
  const journal = directory === undefined ? undefined : { directory, fsync: params.journal! }
  const program = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const handle = yield* Pipeline.run(pipelineOf(params.topology, journal), {
      idle: params.idle === "spin" ? "spin" : {},
      batchSize: params.batchSize,
      ringCapacity: params.ringCapacity
    }).pipe(Scope.provide(scope))
    // Worker start-up (threads, module loading) ends when the first bundles reach the output.
    const startDeadline = performance.now() + params.startTimeoutMs
    while (OutputTotals.read(handle.stats()).transactions === 0) {
      if (performance.now() > startDeadline) {
        return yield* Effect.die(new Error(`${label}: no bundle reached the output within ${params.startTimeoutMs} ms`))
      }
      yield* Effect.sleep("5 millis")
    }
    yield* Effect.sleep(params.warmupMs)
    const a = sample(handle)
    yield* Effect.sleep(params.durationMs)
    const b = sample(handle)
    yield* handle.stop
    yield* handle.done
    // Closing the scope drains, joins the threads and leaves the final counters in place.
    yield* Scope.close(scope, Exit.void)
    return { a, b, handle }
  })
  let journaledBundles = 0
  const { a, b, handle } = await Effect.runPromise(program.pipe(Effect.provide(NodeStageHost.layer))).then((r) => {
    if (directory !== undefined) journaledBundles = NodeJournalUnsafe.info(directory).endSequence
    return r
  }).finally(() => {
    if (directory !== undefined) rmSync(join(directory, ".."), { recursive: true, force: true })
  })
  const out = OutputTotals.read(handle.stats())
  const generated = checkEngine(label, handle.ledger(), handle.deadLetters().length, out, { timeouts: false })
  if (directory !== undefined && journaledBundles !== out.bundles) {
    throw new Error(`${label}: check failed: bundles journaled ${journaledBundles} ≠ bundles received ${out.bundles}`)
  }
  const timed = b.transactions - a.transactions
  const commitNs = b.lastCommitNs - a.lastCommitNs
  if (!(timed > 0 && commitNs > 0)) throw new Error(`${label}: nothing was timed: Δtransactions=${timed} ΔlastCommitNs=${commitNs}`)
  const wallMs = b.wallMs - a.wallMs
  return {
    mtxPerSecond: (timed / commitNs) * 1e3,
    wallMtxPerSecond: timed / wallMs / 1e3,
    timedTransactions: timed,
    transactions: generated,
    threads: handle.hosts.length,
    cpuCores: (b.cpuUs - a.cpuUs) / 1e3 / wallMs,
    parksPerMtx: ((b.parks - a.parks) / timed) * 1e6,
    ringFill: (a.ringFill + b.ringFill) / 2
  }
}
