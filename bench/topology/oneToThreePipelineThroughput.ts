/**
 * A velox pipeline of three pass-through stages between a generator and a checking sink, over 32-byte
 * `Sequenced` records, in three placements.
 *
 * ```
 *   main thread: runs the pipeline (Effect), samples its stats, stops it, checks the ledger (idle in between)
 *
 *   fused       (1 worker: the default placement; plain calls through scratch batches, no ring)
 *   ┌─ W1 ──────────────────────────────────────────────────────────────────────────────────────┐
 *   │ counter ─► pass-through ─► pass-through-2 ─► pass-through-3 ─► counting-sink             │
 *   └───────────────────────────────────────────────────────────────────────────────────────────┘
 *
 *   two-workers (2 workers, one ring: the canonical `velox-workers-3`)
 *   ┌─ W1 ─────────────────────────────┐  ring   ┌─ W2 ─────────────────────────────────────────┐
 *   │ counter ─► pass-through          │ ══════► │ pass-through-2 ─► pass-through-3 ─► sink      │
 *   └──────────────────────────────────┘         └───────────────────────────────────────────────┘
 *
 *   per-stage   (5 workers, four rings)
 *   ┌ W1 ─────┐      ┌ W2 ─────────────┐      ┌ W3 ─────────────┐      ┌ W4 ─────────────┐      ┌ W5 ───┐
 *   │ counter │ ══►  │ pass-through    │ ══►  │ pass-through-2  │ ══►  │ pass-through-3  │ ══►  │ sink  │
 *   └─────────┘      └─────────────────┘      └─────────────────┘      └─────────────────┘      └───────┘
 *
 *   ─►  fused hand-off: the stage's emitter fills a scratch batch, the next stage's onBatch reads it
 *   ══► ring of `ringCapacity` × 32 B slots between two threads
 * ```
 *
 * Per record: the counter writes all five fields (`check = checkOf(seq)`), each pass-through copies the
 * whole record into its output (`copyRecords`), the sink recomputes `checkOf(seq)`, compares it with
 * `check` and accounts for the record (a mismatch is dead-lettered).
 *
 * The source is unbounded (`count: Infinity`). The run waits until the first records reached the sink
 * (worker start-up, module loading), runs `warmupMs` more untimed (JIT), then samples the sink's stats
 * block twice, `durationMs` apart. The rate is the pipeline's own measure:
 *
 *   Mrec/s = Δ sink IN / Δ sink LAST_COMMIT_NS      (both read from the same snapshot, twice)
 *
 * i.e. records the sink delivered between two of its commits, over the pipeline clock's time between
 * those commits (a snapshot's IN and LAST_COMMIT_NS may be one pass apart: ≤ batchSize records of
 * ~10⁷). `wallMrecPerSecond` (Δ IN over the main thread's time between the samples) is a cross-check.
 *
 * Then it stops the source, lets the pipeline drain and checks before returning any number: the ledger
 * balances, the sink received exactly what the counter generated, every `check` matched (sink EMITTED
 * = IN, nothing dropped or dead-lettered anywhere), every pass-through passed on exactly what it got.
 */
import { Effect, Exit, Scope } from "effect"
import { Ledger, Pipeline } from "@velox/core"
import { Counter, CountingSink, PassThrough } from "@velox/core/stages"
import { NodeStageHost } from "@velox/node"
import { loopCpuNs } from "./loopCpu.ts"

export type Topology = "fused" | "two-workers" | "per-stage"

export interface Params {
  readonly topology: Topology
  /** "spin": BusySpin in every loop; "backoff": the default BackoffIdleStrategy (spin, then park). */
  readonly idle: "spin" | "backoff"
  /**
   * With `idle: "backoff"`: a spin phase of this many rounds instead of the default time budget
   * (`spinNs`), as the backoff spun before it had one. Params travel as JSON: no `Infinity` here.
   */
  readonly spinRounds?: number
  /** `RunOptions.batchSize`: most records a loop handles per pass. */
  readonly batchSize: number
  readonly ringCapacity: number
  /** Untimed, after the first records reached the sink. */
  readonly warmupMs: number
  /** Between the two stats samples. */
  readonly durationMs: number
  /** Longest wait for the first records to reach the sink (worker start-up). */
  readonly startTimeoutMs: number
}

type Placement = "fused" | "worker"

/** Placement of pass-through, -2, -3 and the sink; the counter always starts a worker. */
const PLACEMENTS: Record<Topology, readonly [Placement, Placement, Placement, Placement]> = {
  "fused": ["fused", "fused", "fused", "fused"],
  "two-workers": ["fused", "worker", "fused", "fused"],
  "per-stage": ["worker", "worker", "worker", "worker"]
}

export const pipelineOf = (topology: Topology): Pipeline.Pipeline => {
  const [p1, p2, p3, sink] = PLACEMENTS[topology]
  return Pipeline.from(Counter, { count: Infinity })
    .via(PassThrough, {}, { placement: p1 })
    .via(PassThrough, {}, { placement: p2 })
    .via(PassThrough, {}, { placement: p3 })
    .to(CountingSink, {}, { placement: sink })
}

interface Sample {
  readonly in: number
  readonly lastCommitNs: number
  readonly batches: number
  /** Idle cycles that parked, all loops (each parked loop costs its waker an Atomics.notify). */
  readonly parks: number
  /** Of those, the parks of the counter's loop (the first: the producer of the first ring). */
  readonly sourceParks: number
  /** Wake-ups of a parked loop (Atomics.notify) all loops paid for, and of those the counter's loop. */
  readonly wakes: number
  readonly sourceWakes: number
  /** Records in the rings between threads, as a share of their capacity (0 fused). */
  readonly ringFill: number
  readonly wallMs: number
  readonly cpuUs: number
  /** CPU time of the velox loop threads (0 without /proc). */
  readonly loopsNs: number
  /** Of those, the counter's loop (the first thread; every stage when fused). */
  readonly sourceLoopNs: number
}

/** The counter's loop thread (`velox:<host>`, its host named after its first stage). */
const SOURCE_THREAD = "velox:counter"

/** CPU ns per record of one kind of loop over the timed span (NaN without /proc, or without such a loop). */
const cpuNsPerRecord = (ns: number, records: number): number => (ns > 0 ? ns / records : NaN)

const sinkOf = (snapshot: Pipeline.Snapshot) => snapshot.stages[snapshot.stages.length - 1]!

const sample = (handle: Pipeline.PipelineHandle): Sample => {
  const snapshot = handle.stats()
  const sink = sinkOf(snapshot)
  const cpu = process.cpuUsage()
  const loops = loopCpuNs(SOURCE_THREAD)
  return {
    in: sink.in,
    lastCommitNs: sink.lastCommitNs,
    batches: sink.batches,
    parks: snapshot.stages.reduce((n, s) => n + s.parks, 0),
    sourceParks: snapshot.stages[0]!.parks,
    wakes: snapshot.stages.reduce((n, s) => n + s.wakes, 0),
    sourceWakes: snapshot.stages[0]!.wakes,
    ringFill: snapshot.rings.length === 0
      ? 0
      : snapshot.rings.reduce((n, r) => n + r.fill / r.capacity, 0) / snapshot.rings.length,
    wallMs: performance.now(),
    cpuUs: cpu.user + cpu.system,
    loopsNs: loops.source + loops.others,
    sourceLoopNs: loops.source
  }
}

/** Throws unless every record the counter generated reached the sink, checked, and the ledger balances. */
const check = (label: string, ledger: Ledger.Ledger, deadLetters: number): void => {
  const stages = ledger.stages
  const counter = stages[0]!
  const sink = stages[stages.length - 1]!
  const problems: Array<string> = []
  if (!ledger.balanced) problems.push("ledger not balanced")
  if (!(counter.emitted > 0)) problems.push("the counter generated nothing")
  if (sink.in !== counter.emitted) problems.push(`sink received ${sink.in}, counter generated ${counter.emitted}`)
  if (sink.emitted !== sink.in) problems.push(`sink checked ${sink.emitted} of ${sink.in} records as good`)
  for (const s of stages.slice(1, -1)) {
    if (s.in !== counter.emitted || s.emitted !== s.in || s.written !== s.in) {
      problems.push(`${s.stage}: in ${s.in}, emitted ${s.emitted}, written ${s.written}`)
    }
  }
  for (const s of stages) {
    const dropped = Object.values(s.dropped).reduce((a, b) => a + b, 0)
    const dead = Object.values(s.deadLettered).reduce((a, b) => a + b, 0)
    if (dropped !== 0 || dead !== 0 || s.restarts !== 0) {
      problems.push(`${s.stage}: dropped ${dropped}, dead-lettered ${dead}, restarts ${s.restarts}`)
    }
  }
  if (deadLetters !== 0) problems.push(`${deadLetters} dead letters`)
  if (problems.length > 0) {
    throw new Error(`${label}: check failed: ${problems.join("; ")}\n${Ledger.format(ledger)}`)
  }
}

export const run = async (params: Params): Promise<Record<string, number>> => {
  const label = `velox pipeline ${params.topology} (idle=${params.idle}, batch=${params.batchSize})`
  const program = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const handle = yield* Pipeline.run(pipelineOf(params.topology), {
      idle: params.idle === "spin"
        ? "spin"
        : params.spinRounds === undefined
        ? {}
        : { spinNs: Infinity, maxSpins: params.spinRounds },
      batchSize: params.batchSize,
      ringCapacity: params.ringCapacity
    }).pipe(Scope.provide(scope))
    // Worker start-up (threads, module loading) ends when the first records reach the sink.
    const startDeadline = performance.now() + params.startTimeoutMs
    while (sinkOf(handle.stats()).in === 0) {
      if (performance.now() > startDeadline) {
        return yield* Effect.die(new Error(`${label}: no record reached the sink within ${params.startTimeoutMs} ms`))
      }
      yield* Effect.sleep("5 millis")
    }
    yield* Effect.sleep(params.warmupMs)
    const a = sample(handle)
    yield* Effect.sleep(params.durationMs)
    const b = sample(handle)
    yield* handle.stop
    yield* handle.done
    // Closing the scope drains, joins the threads and leaves the final counters in the stats blocks.
    yield* Scope.close(scope, Exit.void)
    return { a, b, handle }
  })
  const { a, b, handle } = await Effect.runPromise(program.pipe(Effect.provide(NodeStageHost.layer)))
  const ledger = handle.ledger()
  check(label, ledger, handle.deadLetters().length)
  const timed = b.in - a.in
  const commitNs = b.lastCommitNs - a.lastCommitNs
  if (!(timed > 0 && commitNs > 0)) {
    throw new Error(`${label}: nothing was timed: Δin=${timed} ΔlastCommitNs=${commitNs}`)
  }
  const wallMs = b.wallMs - a.wallMs
  return {
    mrecPerSecond: (timed / commitNs) * 1e3,
    wallMrecPerSecond: timed / wallMs / 1e3,
    timedRecords: timed,
    records: ledger.stages[0]!.emitted,
    threads: handle.hosts.length,
    // Records per sink pass over the timed span (a loop that keeps up sees small batches).
    sinkBatch: timed / (b.batches - a.batches),
    // Parks of all loops per million records over the timed span (0 when every loop kept busy).
    parksPerMrec: ((b.parks - a.parks) / timed) * 1e6,
    // The same split by loop: the counter's (a producer parks waiting for room) and the others' (a
    // consumer parks waiting for records); each park of one costs the other an Atomics.notify.
    sourceParksPerMrec: ((b.sourceParks - a.sourceParks) / timed) * 1e6,
    otherParksPerMrec: ((b.parks - b.sourceParks - (a.parks - a.sourceParks)) / timed) * 1e6,
    // Wake-ups paid per million records (Atomics.notify of a parked loop): the counter's loop waking a
    // consumer it published to, the others waking the producer they released room to.
    wakesPerMrec: ((b.wakes - a.wakes) / timed) * 1e6,
    sourceWakesPerMrec: ((b.sourceWakes - a.sourceWakes) / timed) * 1e6,
    otherWakesPerMrec: ((b.wakes - b.sourceWakes - (a.wakes - a.sourceWakes)) / timed) * 1e6,
    // How full the rings were at the two samples (mean over rings): ~1 when the last thread is the
    // bottleneck and the ones before it wait for space, ~0 when a thread waits for input.
    ringFill: (a.ringFill + b.ringFill) / 2,
    // CPU of the whole process (all threads) over the timed span, in cores: ~2 when two loops spin.
    cpuCores: (b.cpuUs - a.cpuUs) / 1e3 / wallMs,
    // Records per CPU second of the velox loops (of the whole process without /proc): the rate a busy
    // machine does not dilute.
    mrecPerCpuSecond: b.loopsNs > a.loopsNs ? (timed / (b.loopsNs - a.loopsNs)) * 1e3 : timed / (b.cpuUs - a.cpuUs),
    // Each kind of loop's CPU per record: the counter's thread, and the others (with two workers, the
    // second thread). The busy thread's figure is its work per record, hand-offs and commits included;
    // a thread that waits spins or parks, so its figure is an upper bound (read \`ringFill\` for which).
    sourceCpuNsPerRecord: cpuNsPerRecord(b.sourceLoopNs - a.sourceLoopNs, timed),
    otherCpuNsPerRecord: cpuNsPerRecord(b.loopsNs - b.sourceLoopNs - (a.loopsNs - a.sourceLoopNs), timed)
  }
}
