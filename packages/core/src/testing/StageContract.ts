/**
 * The stage contract, checked by property. Give it a stage definition, a config and an `Arbitrary`
 * of input batches (and, for a stage with a timer, of timer ticks between them); it generates
 * scenarios, runs the stage on them and shrinks the first one that breaks a law:
 *
 * 1. **Conservation** — after every batch and every tick, in = emitted + dropped + dead-lettered +
 *    retained, by the stage's own accounting (`emit(accounts)`, `account`, `drop`, `deadLetter`,
 *    `retained()`). A hook that throws breaks it too: the stage left its batch to the runtime.
 * 2. **Drain** — after `onDrain`, `retained()` is 0 and every input is accounted for.
 * 3. **Determinism** — two runs of the same scenario, each with fresh logic from `make(config)` and
 *    different garbage in the scratch slots around the input and in freshly claimed output slots, give
 *    the same output records (field by field, bit for bit; padding between fields is not data and is
 *    not compared), drops and dead letters.
 * 4. **Placement independence** — a real pipeline `ReplaySource → stage → CaptureSink` run with the
 *    stage fused into one loop with its neighbours, and with the stage in its own worker thread
 *    between two rings (and, when asked, in a fiber on the main thread), gives what the in-process
 *    run gives.
 * 5. **Bounded memory** — `retained()` never exceeds the declared `maxRetained(config)`.
 *
 * Law 4 also runs the stage, in a worker thread of its own, in the graphs a pipeline puts it in
 * (`graphs: StageContract.graphs` for all of them; they start more threads, so they are asked for): in a **tee** (a branch of a broadcast, beside a branch that must get
 * every input record too) and between **edges** (fed by a source edge from a Stream of the records,
 * read by a sink edge's Effect per batch), where it must give what the in-process run gives; behind a
 * **merge** of two sources (the scenario's batches split between them), where the interleaving
 * depends on the threads' timing, so what is compared is Conservation: every record of both sources
 * reached the stage, and the run's ledger balances.
 *
 * Laws 1, 2, 3 and 5 run in-process (`checkInProcess`, fast: use many runs); law 4 starts threads
 * (`checkPlacement`, needs `StageHost`: use a few runs). `check` does both.
 *
 * Layout-generic stages (`input: Stage.AnyLayout`): give the kit the layout to check one with
 * (`layout`); it is the stage's input, and its output too for `Stage.SameAsInput`.
 *
 * Lifecycle: the in-process driver starts the logic as a loop does (`make`, then `onStart`) and
 * closes it after the drain (`onClose("drained")`; `"crashed"` after a breach), so a stage that opens
 * a file in `onStart` is checked as it runs.
 *
 * Timers: the in-process driver calls `onTimer(nowNs)` with the scenario's ticks (a clock that
 * starts at 0). In a real pipeline the loop fires timers from the real clock, which cannot be
 * replayed, so law 4 feeds no ticks and expects the stage's output not to depend on them: give such
 * a stage a `placementConfig` under which its timers change nothing (e.g. a timeout far in the
 * future). Law 4 also expects the output not to depend on how the runtime splits input into batches:
 * in a worker, batch boundaries depend on thread timing.
 *
 * @since 0.1.0
 */
import { Arbitrary, Effect, Schedule, Schema, Stream } from "effect"
import * as Edge from "../Edge.ts"
import type { FieldSpec, Layout, RecordOf } from "../internal/kernel/recordLayout.ts"
import * as Ledger from "../Ledger.ts"
import * as Pipeline from "../Pipeline.ts"
import * as RecordLayout from "../RecordLayout.ts"
import type * as Stage from "../Stage.ts"
import type { StageDefinition } from "../Stage.ts"
import type { StageHost } from "../StageHost.ts"
import * as CaptureSink from "./CaptureSink.ts"
import * as D from "./internal/inProcessDriver.ts"
import * as ReplaySource from "./ReplaySource.ts"

/**
 * One law of the stage contract.
 *
 * @category models
 * @since 0.1.0
 */
export type Law = D.Law

/**
 * Every law, in contract order.
 *
 * @category models
 * @since 0.1.0
 */
export const laws: ReadonlyArray<Law> = ["Conservation", "Drain", "Determinism", "PlacementIndependence", "BoundedMemory"]

const IN_PROCESS_LAWS: ReadonlyArray<Law> = ["Conservation", "Drain", "Determinism", "BoundedMemory"]

/**
 * Input records split into batches, as the loop would deliver them (empty batches are skipped).
 *
 * @category models
 * @since 0.1.0
 */
export type Batches<F extends FieldSpec> = ReadonlyArray<ReadonlyArray<RecordOf<F>>>

/**
 * Timer ticks: `ticks[i]` lists the clock advances (ns, ≥ 0) after batch `i`, one `onTimer(nowNs)`
 * each; the clock starts at 0. Entries past the last batch are ignored.
 *
 * @category models
 * @since 0.1.0
 */
export type Ticks = ReadonlyArray<ReadonlyArray<number>>

/**
 * Where the stage runs in law 4's real pipelines: `"fused"` — one loop (one thread) with the replay
 * source and the capture sink; `"worker"` — its own thread, between two rings; `"fiber"` — its own
 * loop in a fiber on the main thread, between two rings.
 *
 * @category models
 * @since 0.1.0
 */
export type Placement = Pipeline.Placement

/**
 * A graph law 4 runs the stage in, besides a chain (see the module's documentation): `"tee"`,
 * `"merge"`, `"edges"`.
 *
 * @category models
 * @since 0.1.0
 */
export type Graph = "tee" | "merge" | "edges"

/**
 * Every graph law 4 can run a stage in: `{ graphs: StageContract.graphs }`.
 *
 * @category models
 * @since 0.1.0
 */
export const graphs: ReadonlyArray<Graph> = ["tee", "merge", "edges"]

/**
 * A stage broke a law of the contract. `counterexample` is the shrunk scenario that shows it, and
 * `replay` a token that replays it: pass `{ replay }` to `checkInProcess` (laws 1, 2, 3, 5) or to
 * `checkPlacement` (law 4, and Conservation of the real run's ledger) with the same arbitraries.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StageContract } from "@velox/core/testing"
 *
 * declare const check: Effect.Effect<StageContract.Report, StageContract.ContractViolation>
 * check.pipe(Effect.catchTag("ContractViolation", (e) => Effect.logError(`${e.law}: ${e.message}`)))
 * ```
 *
 * @category errors
 * @since 0.1.0
 */
export class ContractViolation extends Schema.TaggedError<ContractViolation>()("ContractViolation", {
  law: Schema.Literals(["Conservation", "Drain", "Determinism", "PlacementIndependence", "BoundedMemory"]),
  stage: Schema.String,
  message: Schema.String,
  counterexample: Schema.String,
  replay: Schema.String
}) {}

/**
 * What to check, and on what.
 *
 * @category models
 * @since 0.1.0
 */
export interface CheckOptions<I extends FieldSpec, C> {
  /** The stage's config, as given to `Pipeline.via` (decoded with the stage's config Schema). */
  readonly config: C
  /**
   * The layout to check a layout-generic stage (`input: Stage.AnyLayout`) with: its input, and its
   * output too when that is `Stage.SameAsInput`. Required for such a stage, ignored for others.
   */
  readonly layout?: Layout<I>
  /** Input batches; see {@link arbitraryBatches} and {@link arbitraryRecords}. */
  readonly inputs: Arbitrary.Arbitrary<Batches<I>>
  /**
   * Timer ticks for the in-process laws. Default: for a stage with a finite `timerPeriodNs`,
   * `arbitraryTicks({ minAdvanceNs: period, maxAdvanceNs: 4 × period })`; none otherwise. `false`: none.
   */
  readonly ticks?: Arbitrary.Arbitrary<Ticks> | false
  /** Laws to check (default: all; `checkInProcess` and `checkPlacement` each take their share). */
  readonly laws?: ReadonlyArray<Law>
  /** Scenarios for the in-process laws. Default 100. */
  readonly runs?: number
  /** Arbitrary size: how large generated values may grow by the last run. Default 30. */
  readonly size?: number
  /** Placements law 4 compares against the in-process run. Default `["fused", "worker"]`. */
  readonly placements?: ReadonlyArray<Placement>
  /** Graphs law 4 also runs the stage in, in a worker thread of its own ({@link graphs}: all of them). Default: none. */
  readonly graphs?: ReadonlyArray<Graph>
  /** Scenarios for law 4's placements (each starts one pipeline per placement). Default 3. */
  readonly placementRuns?: number
  /** Scenarios for law 4's graphs (each starts one pipeline per graph). Default 1. */
  readonly graphRuns?: number
  /** The config for law 4's runs, where timers fire on the real clock (default `config`). */
  readonly placementConfig?: C
  /** Shrink candidates tried after a failure. Default 100 in-process, 10 for law 4. */
  readonly maxShrinks?: number
  readonly seed?: number | string
  /** Replays a failure from {@link ContractViolation.replay}. */
  readonly replay?: string
}

/**
 * What a check covered.
 *
 * @category models
 * @since 0.1.0
 */
export interface Report {
  readonly stage: string
  readonly laws: ReadonlyArray<Law>
  /** Scenarios the in-process laws passed. */
  readonly runs: number
  /** Scenarios law 4 passed (each in every placement). */
  readonly placementRuns: number
  /** Graphs law 4 ran the stage in (each on `graphRuns` scenarios). */
  readonly graphs: ReadonlyArray<Graph>
}

// ---------------------------------------------------------------------------------------------------
// Arbitraries

/**
 * An `Arbitrary` of plain records of `layout`, derived from `RecordLayout.schema(layout)`: integers
 * in their field type's range, any number (NaN, ±Infinity, -0 included) for floats.
 *
 * @example
 * ```ts
 * import { Arbitrary, Effect } from "effect"
 * import { RecordLayout } from "@velox/core"
 * import { StageContract } from "@velox/core/testing"
 *
 * const Quote = RecordLayout.make("Quote", { symbol: "u32", price: "f64" })
 * Effect.runPromise(Arbitrary.sampleEffect(StageContract.arbitraryRecords(Quote), { count: 3 })).then(console.log)
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const arbitraryRecords = <F extends FieldSpec>(layout: Layout<F>): Arbitrary.Arbitrary<RecordOf<F>> =>
  Arbitrary.schema(RecordLayout.schema(layout)) as Arbitrary.Arbitrary<RecordOf<F>>

/**
 * An `Arbitrary` of input batches built from an `Arbitrary` of records (shrinks by removing
 * batches and records, then by shrinking records).
 *
 * @example
 * ```ts
 * import { Sequenced } from "@velox/core/stages"
 * import { StageContract } from "@velox/core/testing"
 *
 * const inputs = StageContract.arbitraryBatches(StageContract.arbitraryRecords(Sequenced), {
 *   maxBatches: 20,
 *   maxBatchLength: 64
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const arbitraryBatches = <F extends FieldSpec>(
  records: Arbitrary.Arbitrary<RecordOf<F>>,
  options: { readonly maxBatches?: number; readonly maxBatchLength?: number } = {}
): Arbitrary.Arbitrary<Batches<F>> =>
  Arbitrary.array(Arbitrary.array(records, { maxLength: options.maxBatchLength ?? 64 }), {
    maxLength: options.maxBatches ?? 20
  })

/**
 * An `Arbitrary` of timer ticks: after each batch, up to `maxPerGap` ticks (default 3), each
 * advancing the clock by an integer number of ns in `minAdvanceNs..maxAdvanceNs`. The runtime calls
 * `onTimer` at least `timerPeriodNs` apart, so `minAdvanceNs: timerPeriodNs` is faithful; a smaller
 * minimum tests a stage harder than the runtime will.
 *
 * @example
 * ```ts
 * import { StageContract } from "@velox/core/testing"
 *
 * const ticks = StageContract.arbitraryTicks({ minAdvanceNs: 1_000_000, maxAdvanceNs: 5_000_000 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const arbitraryTicks = (options: {
  readonly minAdvanceNs: number
  readonly maxAdvanceNs: number
  readonly maxPerGap?: number
  readonly maxGaps?: number
}): Arbitrary.Arbitrary<Ticks> => {
  const { maxAdvanceNs, minAdvanceNs } = options
  if (!(minAdvanceNs >= 0 && maxAdvanceNs >= minAdvanceNs && Number.isSafeInteger(Math.ceil(maxAdvanceNs)))) {
    throw new RangeError(
      `ticks need 0 ≤ minAdvanceNs ≤ maxAdvanceNs (safe integers): minAdvanceNs=${minAdvanceNs}, maxAdvanceNs=${maxAdvanceNs}`
    )
  }
  const advance = Arbitrary.schema(
    Schema.Int.check(Schema.isBetween({ minimum: Math.ceil(minAdvanceNs), maximum: Math.floor(maxAdvanceNs) }))
  )
  return Arbitrary.array(Arbitrary.array(advance, { maxLength: options.maxPerGap ?? 3 }), {
    maxLength: options.maxGaps ?? 20
  })
}

// ---------------------------------------------------------------------------------------------------
// Checks

type AnyDefinition = StageDefinition<any, any, any>

const stringify = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

const decodeConfig = (definition: AnyDefinition, config: unknown) =>
  Schema.decodeUnknownEffect(definition.config)(config).pipe(
    Effect.mapError((e) =>
      new Pipeline.PipelineConfigError({ key: definition.name, value: stringify(config), rule: e.message })
    )
  )

const selected = (wanted: ReadonlyArray<Law> | undefined, share: ReadonlyArray<Law>): Set<Law> =>
  new Set(share.filter((l) => wanted === undefined || wanted.includes(l)))

const checkArgs = (options: CheckOptions<any, any>, runs: number, maxShrinks: number): Arbitrary.CheckOptions => ({
  runs,
  size: options.size ?? 30,
  maxShrinks: options.maxShrinks ?? maxShrinks,
  seed: options.seed,
  replay: options.replay
})

/**
 * The stage as the kit drives it: a layout-generic one with `layout` as its input (and output, for
 * `SameAsInput`), its `make` given those layouts as a pipeline would; any other stage as it is.
 */
const resolve = (definition: AnyDefinition, layout: Layout | undefined): Effect.Effect<AnyDefinition> => {
  if (!definition.anyInput) return Effect.succeed(definition)
  if (layout === undefined) {
    return Effect.die(new RangeError(`"${definition.name}" takes any layout: give the kit one to check it with (options.layout)`))
  }
  const output = definition.outputSameAsInput ? layout : definition.output
  return Effect.succeed({
    ...definition,
    input: layout,
    output,
    anyInput: false,
    outputSameAsInput: false,
    make: (config: unknown, context?: Partial<Stage.StageContext>) => definition.make(config, { ...context, input: layout, output })
  })
}

const requireStage = (definition: AnyDefinition): Effect.Effect<void> =>
  definition.kind === "source" || definition.input === undefined
    ? Effect.die(new RangeError(`"${definition.name}" is a source: the contract kit checks stages and sinks`))
    : Effect.void

/** Turns a check result into success, a `ContractViolation`, or a defect (exhausted generation, replay mismatch). */
const settle = (
  definition: AnyDefinition,
  result: Arbitrary.CheckResult<D.Scenario, D.Breach>,
  withTicks: boolean
): Effect.Effect<number, ContractViolation> => {
  switch (result._tag) {
    case "Passed":
      return Effect.succeed(result.runs)
    case "Falsified": {
      const breach: D.Breach = result.failure._tag === "PropertyError"
        ? result.failure.error
        : { law: "Conservation", detail: "the property returned false" }
      const counterexample = D.formatScenario(result.shrunkInput, withTicks)
      return Effect.fail(
        new ContractViolation({
          law: breach.law,
          stage: definition.name,
          message: `stage "${definition.name}" breaks ${breach.law}: ${breach.detail}\n` +
            `counterexample (found after ${result.runs} run(s), shrunk ${result.shrinks} time(s)):\n${counterexample}\n` +
            `replay: ${result.replay}`,
          counterexample,
          replay: result.replay
        })
      )
    }
    default:
      return Effect.die(new Error(`stage "${definition.name}": ${Arbitrary.formatCheckFailure(result)}`))
  }
}

/**
 * Checks laws 1, 2, 3 and 5 (those of them in `options.laws`) in-process, with no threads: fast,
 * so use many runs.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Filter, Sequenced } from "@velox/core/stages"
 * import { StageContract } from "@velox/core/testing"
 *
 * it.effect("Filter keeps the stage contract in-process", () =>
 *   StageContract.checkInProcess(Filter, {
 *     config: { dropEvery: 3 },
 *     inputs: StageContract.arbitraryBatches(StageContract.arbitraryRecords(Sequenced)),
 *     runs: 100
 *   }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const checkInProcess = <I extends FieldSpec, O extends FieldSpec, C>(
  definition: StageDefinition<I, O, C>,
  options: CheckOptions<I, C>
): Effect.Effect<Report, ContractViolation | Pipeline.PipelineConfigError> =>
  Effect.gen(function*() {
    const def = yield* resolve(definition as AnyDefinition, options.layout)
    yield* requireStage(def)
    const active = selected(options.laws, IN_PROCESS_LAWS)
    if (active.size === 0) return { stage: def.name, laws: [], runs: 0, placementRuns: 0, graphs: [] }
    const config = yield* decodeConfig(def, options.config)
    const maxRetained = def.maxRetained(config)
    const ticks: Arbitrary.Arbitrary<Ticks> = options.ticks === false
      ? Arbitrary.Constant([])
      : options.ticks ?? (Number.isFinite(def.timerPeriodNs)
        ? arbitraryTicks({ minAdvanceNs: def.timerPeriodNs, maxAdvanceNs: 4 * def.timerPeriodNs })
        : Arbitrary.Constant([]))
    const scenarios = Arbitrary.all({ batches: options.inputs, ticks }) as Arbitrary.Arbitrary<D.Scenario>
    const drive = (poison: number, s: D.Scenario) =>
      D.runScenario({ definition: def, config, maxRetained, poison, ticks: true, laws: active }, s)
    const property = (s: D.Scenario): Effect.Effect<boolean, D.Breach> =>
      Effect.suspend(() => {
        const first = drive(0, s)
        if (first.breach !== undefined) return Effect.fail(first.breach)
        if (!active.has("Determinism")) return Effect.succeed(true)
        // Different garbage around the input and in fresh output slots: reading either shows up here.
        const second = drive(-1, s)
        if (second.breach !== undefined) {
          return Effect.fail<D.Breach>({
            law: "Determinism",
            detail: `a first run kept the books, a second run of the same scenario did not: ${second.breach.law}: ${second.breach.detail}`
          })
        }
        const d = D.diff(def.output, D.observe(def, first.trace), "run 1", D.observe(def, second.trace), "run 2")
        return d === undefined
          ? Effect.succeed(true)
          : Effect.fail<D.Breach>({
            law: "Determinism",
            detail: `two runs of the same scenario, each with fresh logic from make(config), differ: ${d}`
          })
      })
    const result = yield* Arbitrary.checkEffect(scenarios, property, checkArgs(options, options.runs ?? 100, 100))
    const runs = yield* settle(def, result, true)
    return { stage: def.name, laws: [...active], runs, placementRuns: 0, graphs: [] }
  })

/** An observation's output records decoded and written again, as a sink edge hands them over. */
const asObjects = (layout: Layout, observed: D.Observed): D.Observed => {
  const records = Array.from({ length: observed.outputCount }, (_, i) => D.decode(layout, observed.outputWords, i))
  return { ...observed, outputWords: wordsOf(layout, records) }
}

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(2, n)))

/** A real pipeline around the stage, and how to read what the stage produced once it ran. */
interface Topology {
  /** In a breach's message: "worker placement", "tee". */
  readonly label: string
  readonly pipeline: Pipeline.Pipeline<never>
  /** The stage's output records (none for a sink). */
  readonly output: () => Pick<D.Observed, "outputWords" | "outputCount">
  /** A check of the run beyond the stage's own line: a breach's detail, or undefined. */
  readonly check?: (ledger: Ledger.Ledger) => string | undefined
}

/** Runs a topology to its end; what the stage produced, or the breach. */
const runTopology = (def: AnyDefinition, topology: Topology, total: number, ringCapacity: number): Effect.Effect<D.Observed, D.Breach, StageHost> =>
  Effect.gen(function*() {
    const { label } = topology
    const run = yield* Pipeline.runToEnd(topology.pipeline, {
      ringCapacity,
      restart: Schedule.recurs(0),
      deadLetterBuffer: total + 1,
      drainTimeout: "30 seconds"
    }).pipe(
      Effect.catchTag("StageCrashed", (e) =>
        Effect.fail<D.Breach>({
          law: "PlacementIndependence",
          detail: `${label}: stage ${e.stage} crashed: ${e.message.split("\n")[0]}`
        })),
      // The kit sizes the rings and builds the helper configs itself: a config error here is a bug.
      Effect.catchTag("PipelineConfigError", (e) => Effect.die(e))
    )
    if (!run.ledger.balanced) {
      return yield* Effect.fail<D.Breach>({
        law: "Conservation",
        detail: `${label}: the run's ledger does not balance\n${Ledger.format(run.ledger)}`
      })
    }
    const problem = topology.check?.(run.ledger)
    if (problem !== undefined) return yield* Effect.fail<D.Breach>({ law: "Conservation", detail: `${label}: ${problem}\n${Ledger.format(run.ledger)}` })
    const line = run.ledger.stages.find((s) => s.stage === def.name)!
    return {
      ...topology.output(),
      emitted: line.emitted,
      dropped: line.dropped,
      deadLetters: run.deadLetters.filter((d) => d.stage === def.name).map((d) => ({ error: d.error, record: d.record }))
    }
  })

const NO_OUTPUT = () => ({ outputWords: [], outputCount: 0 })

/** `from → stage → CaptureSink` (a sink: `from → stage`), the stage and the capture at `placement`. */
const chain = (
  def: AnyDefinition,
  declared: AnyDefinition,
  config: unknown,
  from: Pipeline.Builder<any, never>,
  placement: Placement,
  expectedOutputs: number
): Pick<Topology, "pipeline" | "output"> => {
  if (def.kind === "sink") return { pipeline: from.to(declared as StageDefinition<any, never, any>, config, { placement }), output: NO_OUTPUT }
  // Room for a few more than expected, so that extra outputs are seen, not cut off.
  const captured = CaptureSink.allocate(def.output!, expectedOutputs + 16)
  return {
    pipeline: from.via(declared, config, { placement }).to(CaptureSink.make(def.output!), captured, { placement }),
    output: () => ({ outputWords: CaptureSink.words(def.output!, captured), outputCount: CaptureSink.count(captured) })
  }
}

/** The stage's line in a ledger: records in. */
const inOf = (ledger: Ledger.Ledger, name: string): number => ledger.stages.find((s) => s.stage === name)?.in ?? 0

/** Records as raw words, each through the layout's accessors (so NaN payloads compare as an edge carries them). */
const wordsOf = <F extends FieldSpec>(layout: Layout<F>, records: ReadonlyArray<RecordOf<F>>): Int32Array => {
  const buffer = new ArrayBuffer(Math.max(1, records.length) * layout.byteLength)
  const view = RecordLayout.view(layout, buffer, 0, records.length)
  records.forEach((r, i) => RecordLayout.writeUnsafe(view, i, r))
  return new Int32Array(buffer, 0, records.length * layout.byteLength / 4)
}

/** The stage at `placement` in a chain, or in its own worker in a graph. */
const topologyOf = (
  def: AnyDefinition,
  declared: AnyDefinition,
  config: unknown,
  batches: D.Scenario["batches"],
  where: Placement | Graph,
  expectedOutputs: number
): Topology => {
  const input = def.input!
  const total = batches.reduce((n, b) => n + b.length, 0)
  const replay = (part: D.Scenario["batches"]) => Pipeline.from(ReplaySource.make(input), ReplaySource.encode(input, part))
  switch (where) {
    case "tee": {
      // The stage in one branch; the other captures the input, and must get all of it.
      const copy = CaptureSink.allocate(input, total + 16)
      const captured = def.kind === "sink" ? undefined : CaptureSink.allocate(def.output!, expectedOutputs + 16)
      const pipeline = replay(batches).broadcast((b) => [
        captured === undefined
          ? b.to(declared as StageDefinition<any, never, any>, config, { placement: "worker" })
          : b.via(declared, config, { placement: "worker" }).to(CaptureSink.make(def.output!), captured),
        b.to(CaptureSink.make(input), copy, { placement: "worker" })
      ])
      return {
        label: "tee",
        pipeline,
        output: captured === undefined
          ? NO_OUTPUT
          : () => ({ outputWords: CaptureSink.words(def.output!, captured), outputCount: CaptureSink.count(captured) }),
        check: () => {
          const got = CaptureSink.count(copy)
          return got === total ? undefined : `the tee's other branch got ${got} of ${total} input records`
        }
      }
    }
    case "merge": {
      // Split between two sources; the stage polls both, in an order the threads' timing decides.
      const half = Math.ceil(batches.length / 2)
      const from = Pipeline.merge(replay(batches.slice(0, half)), replay(batches.slice(half)))
      return {
        label: "merge",
        ...chain(def, declared, config, from, "worker", expectedOutputs),
        check: (ledger) => {
          const got = inOf(ledger, def.name)
          return got === total ? undefined : `behind a merge of two sources of ${total} records in all, the stage read ${got}`
        }
      }
    }
    case "edges": {
      const source = Edge.fromStream(input, Stream.fromIterable(batches.flat()), { name: "velox-contract-source" })
      if (def.kind === "sink") return { label: "edges", pipeline: Pipeline.from(source).to(declared as StageDefinition<any, never, any>, config, { placement: "worker" }), output: NO_OUTPUT }
      const received: Array<RecordOf<FieldSpec>> = []
      const sink = Edge.sinkEffect({
        name: "velox-contract-sink",
        input: def.output! as Layout<FieldSpec>,
        onBatch: (batch) => Effect.sync(() => void received.push(...batch))
      })
      return {
        label: "edges",
        pipeline: Pipeline.from(source).via(declared, config, { placement: "worker" }).to(sink),
        output: () => ({ outputWords: wordsOf(def.output!, received), outputCount: received.length })
      }
    }
    default:
      return { label: `${where} placement`, ...chain(def, declared, config, replay(batches), where, expectedOutputs) }
  }
}

/**
 * Checks law 4: runs each scenario (without ticks) in-process, then through a real pipeline
 * `ReplaySource → stage → CaptureSink` in each placement, and compares output records, the
 * accounting and the dead letters. Starts threads: use a few runs, and `it.live`.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { Batcher, Sequenced } from "@velox/core/stages"
 * import { StageContract } from "@velox/core/testing"
 * import { NodeStageHost } from "@velox/node"
 *
 * it.live("Batcher gives the same output fused and in a worker", () =>
 *   StageContract.checkPlacement(Batcher, {
 *     config: { size: 4 },
 *     placementConfig: { size: 4, timeoutNs: 1e15 }, // real-clock timers must change nothing
 *     inputs: StageContract.arbitraryBatches(StageContract.arbitraryRecords(Sequenced)),
 *     placementRuns: 3
 *   }).pipe(Effect.provide(NodeStageHost.layer)))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const checkPlacement = <I extends FieldSpec, O extends FieldSpec, C>(
  definition: StageDefinition<I, O, C>,
  options: CheckOptions<I, C>
): Effect.Effect<Report, ContractViolation | Pipeline.PipelineConfigError, StageHost> =>
  Effect.gen(function*() {
    // Pipelines get the stage as declared (a layout-generic one is given its layout by the run).
    const declared = definition as AnyDefinition
    const def = yield* resolve(declared, options.layout)
    yield* requireStage(def)
    const placements = options.placements ?? ["fused", "worker"]
    const wanted = options.graphs ?? []
    if (!selected(options.laws, ["PlacementIndependence"]).has("PlacementIndependence") || placements.length + wanted.length === 0) {
      return { stage: def.name, laws: [], runs: 0, placementRuns: 0, graphs: [] }
    }
    const encodedConfig = options.placementConfig ?? options.config
    const config = yield* decodeConfig(def, encodedConfig)
    const maxRetained = def.maxRetained(config)
    // Retained records stay in the input ring: the ring must hold more than the stage may retain.
    const ringCapacity = Math.max(1024, nextPowerOfTwo(maxRetained + 1))
    const scenarios = Arbitrary.map(options.inputs, (batches): D.Scenario => ({ batches, ticks: [] }))
    const reference = new Set<Law>(IN_PROCESS_LAWS)
    const property = (wheres: ReadonlyArray<Placement | Graph>) => (s: D.Scenario): Effect.Effect<boolean, D.Breach, StageHost> =>
      Effect.gen(function*() {
        const ref = D.runScenario({ definition: def, config, maxRetained, poison: 0, ticks: false, laws: reference }, s)
        if (ref.breach !== undefined) return yield* Effect.fail(ref.breach)
        const expected = D.observe(def, ref.trace)
        const total = s.batches.reduce((n, b) => n + b.length, 0)
        for (const where of wheres) {
          const topology = topologyOf(def, declared, encodedConfig, s.batches, where, expected.outputCount)
          const actual = yield* runTopology(def, topology, total, ringCapacity)
          // Behind a merge the stage's input order is the threads' doing: Conservation is what compares.
          if (where === "merge") continue
          // Through edges, records travel as objects: compare with the in-process output carried the same way.
          const reference = where === "edges" && def.output !== undefined ? asObjects(def.output, expected) : expected
          const d = D.diff(def.output, reference, "in-process", actual, topology.label)
          if (d !== undefined) {
            return yield* Effect.fail<D.Breach>({ law: "PlacementIndependence", detail: `${topology.label}: ${d}` })
          }
        }
        return true
      })
    const placementRuns = placements.length === 0
      ? 0
      : yield* settle(def, yield* Arbitrary.checkEffect(scenarios, property(placements), checkArgs(options, options.placementRuns ?? 3, 10)), false)
    // Graphs start more threads per scenario than placements do: fewer scenarios by default.
    if (wanted.length > 0) {
      yield* settle(def, yield* Arbitrary.checkEffect(scenarios, property(wanted), checkArgs(options, options.graphRuns ?? 1, 10)), false)
    }
    return { stage: def.name, laws: ["PlacementIndependence"], runs: 0, placementRuns, graphs: wanted }
  })

/**
 * Checks the whole stage contract: {@link checkInProcess} (laws 1, 2, 3, 5), then
 * {@link checkPlacement} (law 4). Fails with the first {@link ContractViolation}.
 *
 * @example
 * ```ts
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { PassThrough, Sequenced } from "@velox/core/stages"
 * import { StageContract } from "@velox/core/testing"
 * import { NodeStageHost } from "@velox/node"
 *
 * it.live("PassThrough keeps the stage contract", () =>
 *   StageContract.check(PassThrough, {
 *     config: {},
 *     inputs: StageContract.arbitraryBatches(StageContract.arbitraryRecords(Sequenced))
 *   }).pipe(Effect.provide(NodeStageHost.layer)))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const check = <I extends FieldSpec, O extends FieldSpec, C>(
  definition: StageDefinition<I, O, C>,
  options: CheckOptions<I, C>
): Effect.Effect<Report, ContractViolation | Pipeline.PipelineConfigError, StageHost> =>
  Effect.gen(function*() {
    const a = yield* checkInProcess(definition, options)
    const b = yield* checkPlacement(definition, options)
    return { stage: a.stage, laws: [...a.laws, ...b.laws], runs: a.runs, placementRuns: b.placementRuns, graphs: b.graphs }
  })
