/**
 * A host is one loop (a thread) running a fused chain of stages. `HostSpec` is everything it needs,
 * as plain structured-cloneable data (shared buffers, handles, module URLs, decoded configs), so the
 * same spec runs in a worker or in the calling thread. `buildRunner` turns it into a `StageRunner`.
 */
import { Doorbell, type DoorbellRef } from "./doorbell.ts"
import {
  type AccountingEmitter,
  DeadLetterWriter,
  ParkingSpaceWaiter,
  RingEmitter,
  RoutingEmitter,
  ScratchEmitter,
  SinkEmitter
} from "./emitters.ts"
import * as C from "./hostControlDescriptor.ts"
import type { BackoffOptions } from "./idleStrategy.ts"
import { makeNanoClock } from "./nanoClock.ts"
import { type RingHandle, RingProducer } from "./oneToOneRing.ts"
import type { FieldSpec, Layout } from "./recordLayout.ts"
import type { SourceLogic, StageContext, StageLogic } from "./stageLogic.ts"
import { StageStatsWriter, statsRef } from "./stageStats.ts"
import { type ChainMember, StageRunner } from "./stageRunner.ts"

/** The parts of a stage definition a host reads (the public `StageDefinition` has them all). */
export interface HostedDefinition {
  readonly name: string
  readonly kind: "source" | "stage" | "sink"
  readonly input: Layout | undefined
  readonly output: Layout | undefined
  readonly dropReasons: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
  readonly timerPeriodNs: number
  readonly make: (config: any, context?: StageContext) => StageLogic<FieldSpec, FieldSpec> | SourceLogic<FieldSpec>
}

export type HostOutput =
  | { readonly _tag: "Ring"; readonly handle: RingHandle }
  | { readonly _tag: "Partition"; readonly handles: ReadonlyArray<RingHandle>; readonly key: string }
  | { readonly _tag: "Broadcast"; readonly handles: ReadonlyArray<RingHandle> }
  | { readonly _tag: "None" }

export interface HostMemberSpec {
  /** Module URL and stage name: a worker imports the module and finds the definition by name. */
  readonly module: string
  readonly stage: string
  /** Name of this instance in the pipeline (unique), e.g. "book#2". */
  readonly instance: string
  readonly config: unknown
  /** Index of this instance's block in the stats buffer. */
  readonly statsIndex: number
}

export interface HostSpec {
  readonly name: string
  readonly members: ReadonlyArray<HostMemberSpec>
  readonly inputs: ReadonlyArray<RingHandle>
  readonly output: HostOutput
  readonly deadLetters: RingHandle | undefined
  readonly stats: SharedArrayBuffer
  readonly control: SharedArrayBuffer
  readonly bell: DoorbellRef
  readonly batchSize: number
  readonly idle: "spin" | BackoffOptions
  readonly maxRecordCrashes: number
  readonly epochNs: number
}

const WINDOW = 256

/** Builds the loop for `spec`; `definitions[i]` is the definition of `spec.members[i]`. */
export const buildRunner = (spec: HostSpec, definitions: ReadonlyArray<HostedDefinition>): StageRunner => {
  const bell = new Doorbell(spec.bell)
  const control = new Int32Array(spec.control)
  const waiter = new ParkingSpaceWaiter(bell, control, C.ABORT_INDEX)
  const deadLetters = spec.deadLetters === undefined ? undefined : new DeadLetterWriter(spec.deadLetters, waiter)
  const clock = makeNanoClock(spec.epochNs)
  const n = spec.members.length
  const members: Array<ChainMember> = []
  const emitters: Array<AccountingEmitter> = new Array(n)
  const outputs: Array<RingProducer> = []
  let runner: StageRunner | undefined
  // Build back to front: each fused emitter feeds the member after it.
  for (let i = n - 1; i >= 0; i--) {
    const def = definitions[i]!
    const reasons = def.dropReasons.length
    const errors = def.errors.length
    if (i < n - 1) {
      const next = i + 1
      emitters[i] = new ScratchEmitter(
        def.output!,
        spec.batchSize,
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
        const e = new RingEmitter(out.handle, def.output!, WINDOW, waiter, i, reasons, errors, deadLetters)
        outputs.push(e.producer)
        emitters[i] = e
        break
      }
      case "Partition":
      case "Broadcast": {
        const targets = out.handles.map((h) => new RingEmitter(h, def.output!, WINDOW, waiter, i, 0, 0, undefined))
        for (const t of targets) outputs.push(t.producer)
        emitters[i] = new RoutingEmitter(
          targets,
          def.output!,
          spec.batchSize,
          out._tag === "Partition" ? out.key : undefined,
          i,
          reasons,
          errors,
          deadLetters
        )
        break
      }
      case "None":
        emitters[i] = new SinkEmitter(i, reasons, errors, deadLetters)
        break
    }
  }
  // Every member of the loop reads the loop's own clock (the one its onPoll / onTimer readings come from).
  const context: StageContext = { nowNs: clock.nowNs }
  for (let i = 0; i < n; i++) {
    const def = definitions[i]!
    const m = spec.members[i]!
    const logic = def.make(m.config, context)
    members.push({
      name: m.instance,
      logic,
      stats: new StageStatsWriter(statsRef(spec.stats, m.statsIndex)),
      emitter: emitters[i]!,
      hasTimer: logic.onTimer !== undefined && def.timerPeriodNs !== Infinity
    })
  }
  const timerPeriodNs = Math.min(...definitions.map((d) => d.timerPeriodNs))
  runner = new StageRunner({
    members,
    inputs: spec.inputs,
    inputLayout: definitions[0]!.input,
    outputs,
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
