/**
 * A host is one loop (a thread) running a fused chain of stages. `HostSpec` is everything it needs,
 * as plain structured-cloneable data (shared buffers, handles, module URLs, decoded configs, the
 * layouts the planner resolved), so the same spec runs in a worker or in the calling thread.
 * `buildRunner` turns it into a `StageRunner`; `runHost` loads, builds and runs one to its end.
 */
import { Doorbell, type DoorbellRef } from "./doorbell.ts"
import {
  type AccountingEmitter,
  BroadcastEmitter,
  DeadLetterWriter,
  ParkingSpaceWaiter,
  RelayEmitter,
  RingEmitter,
  RoutingEmitter,
  ScratchArena,
  ScratchEmitter,
  SinkEmitter,
  type SpaceWaiter
} from "./emitters.ts"
import { checkRun, CounterCells, namedCells } from "./counters.ts"
import { COUNTER, GAUGE } from "./countersDescriptor.ts"
import * as C from "./hostControlDescriptor.ts"
import { BACKOFF_DEFAULTS, type BackoffOptions } from "./idleStrategy.ts"
import { type LinkStatsRef, linkStatsWords } from "./linkStatsDescriptor.ts"
import { makeNanoClock } from "./nanoClock.ts"
import { type RingHandle, RingProducer } from "./oneToOneRing.ts"
import { type FieldSpec, type FieldType, type Layout, layoutFromEntries } from "./recordLayout.ts"
import type { SourceLogic, StageContext, StageLogic } from "./stageLogic.ts"
import { StageStatsWriter, statsRef } from "./stageStats.ts"
import { type ChainMember, errorMessage, type RunOutcome, StageRunner, StartFailure } from "./stageRunner.ts"

export { errorMessage, StartFailure } from "./stageRunner.ts"

/** The parts of a stage definition a host reads (the public `StageDefinition` has them all). */
export interface HostedDefinition {
  readonly name: string
  readonly kind: "source" | "stage" | "sink"
  readonly input: Layout | undefined
  readonly output: Layout | undefined
  readonly dropReasons: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
  readonly timerPeriodNs: number
  /** Names of its counters and gauges, in the order their values are allocated (counters first). */
  readonly counters: ReadonlyArray<string>
  readonly gauges: ReadonlyArray<string>
  /** Its logic keeps state a restart needs: a restart without a snapshot counts as state lost. */
  readonly keepsState: boolean
  readonly make: (config: any, context?: Partial<StageContext>) => StageLogic<FieldSpec, FieldSpec> | SourceLogic<FieldSpec>
}

/** How a host's loop ended, as plain data (a worker posts it to the control plane). */
export type HostOutcome =
  | { readonly _tag: "Drained" }
  | { readonly _tag: "Aborted" }
  /**
   * A stage's code threw while running; `member` indexes the host's members. `snapshots`: per member,
   * the state its restart restores (undefined: start afresh).
   */
  | {
    readonly _tag: "Crashed"
    readonly member: number
    readonly message: string
    readonly snapshots?: ReadonlyArray<unknown> | undefined
  }
  /** The loop could not start: a stage module did not load, or a stage's `make` threw. */
  | { readonly _tag: "StartFailed"; readonly member: number; readonly message: string }
  /** The thread itself died (terminated, uncaught error). */
  | { readonly _tag: "Died"; readonly message: string }

/** One consumer of a broadcasting host: a ring, or a partition's rings routed by `key`. */
export interface HostPort {
  readonly handles: ReadonlyArray<RingHandle>
  readonly key: string | undefined
  /** Never wait for these rings: what does not fit is dropped and counted in `links`. */
  readonly dropping: boolean
  /** Per handle, its ring's link stats block. */
  readonly links: ReadonlyArray<LinkStatsRef>
}

export type HostOutput =
  | { readonly _tag: "Ring"; readonly handle: RingHandle }
  | { readonly _tag: "Partition"; readonly handles: ReadonlyArray<RingHandle>; readonly key: string }
  /** A tee (several ports), or an output that drops: every record goes to every port. */
  | { readonly _tag: "Broadcast"; readonly ports: ReadonlyArray<HostPort> }
  | { readonly _tag: "None" }

/** A layout as plain data (what crosses to a worker); `layoutOf` rebuilds the same offsets and stride. */
export interface LayoutSpec {
  readonly name: string
  readonly fields: ReadonlyArray<readonly [string, FieldType]>
}

export const layoutSpecOf = (layout: Layout): LayoutSpec => ({
  name: layout.name,
  fields: layout.fields.map((f) => [f.name, f.type] as const)
})

export const layoutOf = (spec: LayoutSpec): Layout => layoutFromEntries(spec.name, spec.fields)

export interface HostMemberSpec {
  /** Module URL and stage name: a worker imports the module and finds the definition by name. */
  readonly module: string
  readonly stage: string
  /** Name of this instance in the pipeline (unique), e.g. "book#2". */
  readonly instance: string
  readonly config: unknown
  /** Index of this instance's block in the stats buffer. */
  readonly statsIndex: number
  /** Index of its first counter value in the counters buffer (its counters, then its gauges). */
  readonly counterIndex: number
  /** Which instance of its step this is (a partition's lane), and how many run side by side. */
  readonly lane: number
  readonly lanes: number
  /** The layouts the planner resolved for this instance (a layout-generic stage has no other). */
  readonly input: LayoutSpec | undefined
  readonly output: LayoutSpec | undefined
}

export interface HostSpec {
  readonly name: string
  readonly members: ReadonlyArray<HostMemberSpec>
  readonly inputs: ReadonlyArray<RingHandle>
  readonly output: HostOutput
  readonly deadLetters: RingHandle | undefined
  readonly stats: SharedArrayBuffer
  /** The pipeline's user counters (see `countersDescriptor.ts`). */
  readonly counters: SharedArrayBuffer
  readonly control: SharedArrayBuffer
  readonly bell: DoorbellRef
  readonly batchSize: number
  readonly idle: "spin" | BackoffOptions
  readonly maxRecordCrashes: number
  readonly epochNs: number
  /** On a restart: per member, the snapshot of the crashed loop to restore (undefined: none). */
  readonly restore?: ReadonlyArray<unknown> | undefined
}

const WINDOW = 256

/** How a loop that must never block its thread (a fiber on the main thread) gets by without waiting. */
export interface NonBlocking {
  /** Called when its dead-letter ring is full mid-pass, instead of parking: it empties the ring. */
  readonly deadLetterWaiter: SpaceWaiter
}

/**
 * Builds the loop for `spec`; `definitions[i]` is the definition of `spec.members[i]`: makes each
 * member's logic (with its context: clock, layouts, instance, counters), restores it from
 * `spec.restore`, and starts it (`onStart`, in chain order). Throws `StartFailure` naming the member
 * that could not be made, restored or started (the ones started before it are closed). A loop that
 * must never block its thread passes `nonBlocking`: its output rings never wait for room mid-pass
 * (what a full one cannot take is spilled, and the pass commits in a later slice: see `StageRunner`).
 */
export const buildRunner = (
  spec: HostSpec,
  definitions: ReadonlyArray<HostedDefinition>,
  nonBlocking?: NonBlocking
): StageRunner => {
  const bell = new Doorbell(spec.bell)
  const control = new Int32Array(spec.control)
  // Counted here, before any logic is made: a start whose make() throws is a start too.
  const restarts = Atomics.add(control, C.RUN_INDEX, 1)
  const waiter = new ParkingSpaceWaiter(bell, control, C.ABORT_INDEX)
  // Where the loop's last member writes its rings: undefined spills instead of waiting.
  const ringWaiter = nonBlocking === undefined ? waiter : undefined
  const deadLetters = spec.deadLetters === undefined
    ? undefined
    : new DeadLetterWriter(spec.deadLetters, nonBlocking?.deadLetterWaiter ?? waiter)
  const clock = makeNanoClock(spec.epochNs)
  const n = spec.members.length
  const inputs = spec.members.map((m, i) => (m.input === undefined ? definitions[i]!.input : layoutOf(m.input)))
  const outputLayouts = spec.members.map((m, i) => (m.output === undefined ? definitions[i]!.output : layoutOf(m.output)))
  const members: Array<ChainMember> = []
  const emitters: Array<AccountingEmitter> = new Array(n)
  const outputs: Array<RingProducer> = []
  // Outputs the loop never waits for (a tee's dropping branches): closed at the end, never a bound.
  const lossyOutputs: Array<RingProducer> = []
  let runner: StageRunner | undefined
  // Every scratch batch of the loop in one buffer: fused members forward by memmove within it.
  const batched = (i: number) =>
    i < n - 1 || spec.output._tag === "Partition" || spec.output._tag === "Broadcast" || (spec.output._tag === "Ring" && ringWaiter === undefined)
  let arenaBytes = 0
  for (let i = 0; i < n; i++) if (batched(i)) arenaBytes += spec.batchSize * outputLayouts[i]!.byteLength
  const arena = new ScratchArena(arenaBytes)
  // Build back to front: each fused emitter feeds the member after it.
  for (let i = n - 1; i >= 0; i--) {
    const def = definitions[i]!
    const output = outputLayouts[i]
    const reasons = def.dropReasons.length
    const errors = def.errors.length
    if (i < n - 1) {
      const next = i + 1
      emitters[i] = new ScratchEmitter(
        output!,
        spec.batchSize,
        arena,
        (view, count) => runner!.deliver(next, view, 0, count),
        i,
        reasons,
        errors,
        deadLetters
      )
      continue
    }
    const out = spec.output
    switch (out._tag) {
      case "Ring": {
        if (ringWaiter === undefined) {
          // A stage writes a spilling ring through a private batch (it hands out no slots).
          const target = new RingEmitter(out.handle, output!, WINDOW, undefined, i, 0, 0, undefined)
          outputs.push(target.producer)
          emitters[i] = new RelayEmitter(target, output!, spec.batchSize, arena, i, reasons, errors, deadLetters)
          break
        }
        const e = new RingEmitter(out.handle, output!, WINDOW, waiter, i, reasons, errors, deadLetters)
        outputs.push(e.producer)
        emitters[i] = e
        break
      }
      case "Partition": {
        const targets = out.handles.map((h) => new RingEmitter(h, output!, WINDOW, ringWaiter, i, 0, 0, undefined))
        for (const t of targets) outputs.push(t.producer)
        emitters[i] = new RoutingEmitter(targets, output!, spec.batchSize, arena, out.key, i, reasons, errors, deadLetters)
        break
      }
      case "Broadcast": {
        const ports = out.ports.map((port) => {
          // A dropping port never waits, so never spills.
          const targets = port.handles.map((h) => new RingEmitter(h, output!, WINDOW, port.dropping ? waiter : ringWaiter, i, 0, 0, undefined))
          for (const t of targets) (port.dropping ? lossyOutputs : outputs).push(t.producer)
          return { targets, keyField: port.key, dropping: port.dropping, links: port.links.map(linkStatsWords) }
        })
        emitters[i] = new BroadcastEmitter(ports, output!, spec.batchSize, arena, i, reasons, errors, deadLetters)
        break
      }
      case "None":
        emitters[i] = new SinkEmitter(i, reasons, errors, deadLetters)
        break
    }
  }
  for (let i = 0; i < n; i++) {
    const def = definitions[i]!
    const m = spec.members[i]!
    const restored = spec.restore?.[i]
    let logic: StageLogic<FieldSpec, FieldSpec> | SourceLogic<FieldSpec>
    let cells: CounterCells | undefined
    try {
      const names = [...def.counters, ...def.gauges]
      cells = names.length === 0 ? undefined : new CounterCells(spec.counters, m.counterIndex, names.length)
      if (cells !== undefined) {
        checkRun(spec.counters, m.counterIndex, m.statsIndex, names, names.map((_, k) => (k < def.counters.length ? COUNTER : GAUGE)))
      }
      const named = namedCells(cells ?? new CounterCells(undefined, 0, 0), def.counters, def.gauges)
      // Every member of the loop reads the loop's own clock (the one its onPoll / onTimer readings come from).
      const context: StageContext = {
        nowNs: clock.nowNs,
        input: inputs[i],
        output: outputLayouts[i],
        restarts,
        instance: m.lane,
        instances: m.lanes,
        counters: named.counters,
        gauges: named.gauges
      }
      logic = def.make(m.config, context)
      if (restored !== undefined) {
        if (logic.restoreState === undefined) throw new TypeError(`stage "${m.instance}" has a snapshot to restore and no restoreState hook`)
        logic.restoreState(restored)
      }
    } catch (e) {
      throw new StartFailure(i, e)
    }
    members.push({
      name: m.instance,
      logic,
      stats: new StageStatsWriter(statsRef(spec.stats, m.statsIndex)),
      emitter: emitters[i]!,
      hasTimer: logic.onTimer !== undefined && def.timerPeriodNs !== Infinity,
      counters: cells,
      keepsState: def.keepsState,
      restored
    })
  }
  const timerPeriodNs = Math.min(...definitions.map((d) => d.timerPeriodNs))
  runner = new StageRunner({
    members,
    inputs: spec.inputs,
    inputLayout: inputs[0],
    outputs,
    lossyOutputs,
    deadLetters,
    control: spec.control,
    bell,
    waiter,
    batchSize: spec.batchSize,
    timerPeriodNs: Number.isFinite(timerPeriodNs) ? timerPeriodNs : 1e9,
    idle: spec.idle,
    maxRecordCrashes: spec.maxRecordCrashes,
    nowNs: clock.nowNs
  })
  runner.open()
  return runner
}

/** Finds the definition named `stage` among a module's exports. */
export const findDefinition = (exports: Record<string, unknown>, stage: string, module: string): HostedDefinition => {
  for (const value of Object.values(exports)) {
    if (
      typeof value === "object" && value !== null && (value as { _tag?: unknown })._tag === "StageDefinition" &&
      (value as { name?: unknown }).name === stage
    ) {
      return value as HostedDefinition
    }
  }
  throw new RangeError(`module ${module} exports no stage named "${stage}"`)
}

/**
 * The timer slack (ns) a platform should give the thread that runs `spec` before `runHost`, where it
 * can set one (see `BackoffOptions.timerSlackNs`); undefined for a loop that never parks (`"spin"`).
 */
export const timerSlackNsOf = (spec: HostSpec): number | undefined =>
  spec.idle === "spin" ? undefined : (spec.idle.timerSlackNs ?? BACKOFF_DEFAULTS.timerSlackNs)

/**
 * Loads the stage modules `spec` names (with `importModule`, e.g. `(url) => import(url)`), builds its
 * loop and runs it on the calling thread to its end. Never throws: a module that does not load or a
 * `make` that throws is `StartFailed`, a throw while running is `Crashed`.
 */
export const runHost = async (
  spec: HostSpec,
  importModule: (url: string) => Promise<Record<string, unknown>>
): Promise<HostOutcome> => {
  const definitions: Array<HostedDefinition> = []
  let runner: StageRunner
  try {
    for (const m of spec.members) definitions.push(findDefinition(await importModule(m.module), m.stage, m.module))
    runner = buildRunner(spec, definitions)
  } catch (e) {
    return startFailed(e, Math.min(definitions.length, spec.members.length - 1))
  }
  return outcomeOf(runner.run())
}

/** A start that threw: `member` is the one being loaded or made. */
export const startFailed = (e: unknown, member: number): HostOutcome =>
  e instanceof StartFailure
    ? { _tag: "StartFailed", member: e.member, message: e.message }
    : { _tag: "StartFailed", member, message: errorMessage(e) }

/** A loop's outcome as plain data (a crash's error becomes its message and stack). */
export const outcomeOf = (r: RunOutcome): HostOutcome =>
  r._tag === "Crashed" ? { _tag: "Crashed", member: r.member, message: errorMessage(r.error), snapshots: r.snapshots } : r
