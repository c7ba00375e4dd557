/**
 * The planner: from a pipeline's steps (and their decoded configs) to the plan of what runs where —
 * hosts (one loop each), the stage instances in them with their resolved layouts and stats blocks, and
 * the rings between hosts. Pure: plain data in, plain data (or the first broken rule) out; no memory is
 * allocated and no thread started, so it is tested without either.
 *
 * Rules it checks (each a `PipelineConfigError`): run options in range; a source, stages, then a sink;
 * each stage's `maxRetained` below the ring capacity; each link's layouts equal (fields, their order,
 * types, offsets, byte length) unless the stage takes any layout; partition keys are fields; and no
 * stage defined in the program's entry module placed in a thread.
 */
import { Result } from "effect"
import type { Layout } from "./kernel/recordLayout.ts"
import { isPowerOfTwo } from "./kernel/ringDescriptor.ts"
import { DEAD_LETTER_HEADER_BYTES } from "./kernel/emitters.ts"
import { type ConfigErrorReason, PipelineConfigError } from "../PipelineError.ts"
import type { Placement, Step } from "../PipelineBuilder.ts"
import type { StageDefinition } from "../Stage.ts"

type AnyDefinition = StageDefinition<any, any, any>

/** One stage instance (a partitioned step has one per lane). */
export interface PlannedStage {
  /** Unique in the pipeline: "pass-through", "pass-through-2" for a second use, "book#1" for a lane. */
  readonly name: string
  readonly definition: AnyDefinition
  /** Index of its step in the pipeline. */
  readonly step: number
  /** Index of its host in `Plan.hosts`. */
  readonly host: number
  /** Index of its block in the stats buffer. */
  readonly statsIndex: number
  /** Which instance of its step it is (a partition's lane, else 0), of `lanes`. */
  readonly lane: number
  readonly lanes: number
  /** Its decoded config. */
  readonly config: unknown
  /** The layouts it reads and emits, resolved (a layout-generic stage's come from upstream). */
  readonly input: Layout | undefined
  readonly output: Layout | undefined
}

/** A ring from one host to the next. */
export interface PlannedRing {
  readonly name: string
  readonly producer: number
  readonly consumer: number
  readonly slotBytes: number
}

export type PlannedOutput =
  | { readonly _tag: "None" }
  | { readonly _tag: "Ring"; readonly ring: number }
  | { readonly _tag: "Partition"; readonly rings: ReadonlyArray<number>; readonly key: string }

/** One loop: a fused chain of stage instances, in a thread or in a fiber on the main thread. */
export interface PlannedHost {
  readonly name: string
  readonly placement: Exclude<Placement, "fused">
  /** It runs the pipeline's source (stopping the pipeline stops it). */
  readonly isSource: boolean
  /** Its stage instances (indices into `Plan.stages`), in chain order. */
  readonly stages: ReadonlyArray<number>
  /** Rings it consumes (indices into `Plan.rings`), fanned in fairly. */
  readonly inputs: ReadonlyArray<number>
  readonly output: PlannedOutput
  /** Slot size of its dead-letter ring: a header and its widest input record. */
  readonly deadLetterSlotBytes: number
}

export interface Plan {
  readonly stages: ReadonlyArray<PlannedStage>
  readonly hosts: ReadonlyArray<PlannedHost>
  readonly rings: ReadonlyArray<PlannedRing>
  readonly ringCapacity: number
  readonly batchSize: number
}

export interface PlanOptions {
  readonly ringCapacity: number
  readonly batchSize: number
  /** URL of the program's entry module, when the platform knows it. */
  readonly entryModule?: string | undefined
}

const fail = (reason: ConfigErrorReason, key: string, value: string, rule: string) =>
  Result.fail(new PipelineConfigError({ reason, key, value, rule }))

/** A layout as `Name { field: type @offset, … } (n bytes)`, to name it in an error. */
export const describeLayout = (layout: Layout): string =>
  `${layout.name} { ${layout.fields.map((f) => `${f.name}: ${f.type} @${f.offset}`).join(", ")} } (${layout.byteLength} bytes)`

/** Same fields in the same order, with the same types and offsets, and the same stride (names aside). */
export const sameLayout = (a: Layout, b: Layout): boolean =>
  a === b || (
    a.byteLength === b.byteLength && a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i]!
      return f.name === g.name && f.type === g.type && f.offset === g.offset
    })
  )

const withoutQuery = (url: string): string => url.replace(/[?#].*$/, "")

const checkOptions = (o: PlanOptions): Result.Result<void, PipelineConfigError> => {
  if (!isPowerOfTwo(o.ringCapacity) || o.ringCapacity < 2) {
    return fail("Option", "ringCapacity", String(o.ringCapacity), "must be a power of two ≥ 2")
  }
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1 && o.batchSize <= o.ringCapacity)) {
    return fail("Option", "batchSize", String(o.batchSize), `must be an integer in 1..ringCapacity (${o.ringCapacity})`)
  }
  return Result.succeed(undefined)
}

const checkShape = (steps: ReadonlyArray<Step>): Result.Result<void, PipelineConfigError> => {
  const last = steps.length - 1
  for (const [i, s] of steps.entries()) {
    const expected = i === 0 ? "source" : i === last ? "sink" : "stage"
    if (s.definition.kind !== expected) {
      const where = i === 0 ? "first" : i === last ? "last" : `step ${i + 1}`
      return fail("Shape", s.definition.name, s.definition.kind, `the ${where} step must be a ${expected}: a pipeline is a source, stages, then a sink`)
    }
  }
  return Result.succeed(undefined)
}

/** Resolves every step's layouts, checking each link. */
const resolveLayouts = (
  steps: ReadonlyArray<Step>,
  names: ReadonlyArray<string>
): Result.Result<ReadonlyArray<{ readonly input: Layout | undefined; readonly output: Layout | undefined }>, PipelineConfigError> => {
  const resolved: Array<{ input: Layout | undefined; output: Layout | undefined }> = []
  for (const [i, s] of steps.entries()) {
    const def = s.definition
    const upstream = i === 0 ? undefined : resolved[i - 1]!.output
    let input = def.input as Layout | undefined
    if (i > 0) {
      if (upstream === undefined) return fail("Shape", names[i - 1]!, "no output", `stage "${names[i]}" needs records, and the step before it emits none`)
      if (def.anyInput) input = upstream
      else if (input === undefined || !sameLayout(upstream, input)) {
        return fail(
          "Layout",
          `${names[i - 1]} → ${names[i]}`,
          describeLayout(upstream),
          `stage "${names[i]}" reads ${input === undefined ? "no input" : describeLayout(input)}: ` +
            "a link's layouts must have the same fields in the same order, with the same types and byte length"
        )
      }
    }
    const output = def.outputSameAsInput ? input : (def.output as Layout | undefined)
    if (s.partition !== undefined && (upstream === undefined || !upstream.fields.some((f) => f.name === s.partition!.key))) {
      return fail("Layout", `${names[i]}.by`, s.partition.key, `the partition key must be a field of ${upstream === undefined ? "the input" : describeLayout(upstream)}`)
    }
    resolved.push({ input, output })
  }
  return Result.succeed(resolved)
}

/**
 * Lays `steps` out: consecutive steps share a loop unless a step asks for a new one (`placement`
 * `"worker"` or `"fiber"`), a partitioned step runs one loop per lane, and the step after a partition
 * starts a new loop that fans in. `configs[i]` is step i's decoded config.
 */
export const plan = (
  steps: ReadonlyArray<Step>,
  configs: ReadonlyArray<unknown>,
  options: PlanOptions
): Result.Result<Plan, PipelineConfigError> => {
  const checked = checkOptions(options)
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  const shape = checkShape(steps)
  if (Result.isFailure(shape)) return Result.fail(shape.failure)
  for (const [i, s] of steps.entries()) {
    const retained = s.definition.maxRetained(configs[i])
    if (retained >= options.ringCapacity) {
      return fail(
        "StageConfig",
        `${s.definition.name}.maxRetained`,
        String(retained),
        `must be below ringCapacity (${options.ringCapacity}): retained records stay in the input ring`
      )
    }
  }
  // A stage used more than once gets a suffix per use ("pass-through", "pass-through-2", …), so every
  // instance and host name is unique: stats, links and supervision are keyed by them.
  const uses = new Map<string, number>()
  const stepNames = steps.map((s) => {
    const n = (uses.get(s.definition.name) ?? 0) + 1
    uses.set(s.definition.name, n)
    return n === 1 ? s.definition.name : `${s.definition.name}-${n}`
  })
  const layouts = resolveLayouts(steps, stepNames)
  if (Result.isFailure(layouts)) return Result.fail(layouts.failure)

  // Group steps into loops: each group is a list of steps run in one loop per lane.
  type Group = { readonly steps: Array<number>; readonly lanes: number; readonly key: string | undefined }
  const groups: Array<Group> = []
  steps.forEach((s, index) => {
    const last = groups[groups.length - 1]
    if (last === undefined || s.placement !== "fused" || s.partition !== undefined || last.lanes > 1) {
      groups.push({ steps: [index], lanes: s.partition?.count ?? 1, key: s.partition?.key })
    } else {
      last.steps.push(index)
    }
  })
  const hostName = (g: Group, lane: number) => {
    const base = g.steps.map((i) => stepNames[i]!).join("+")
    return g.lanes > 1 ? `${base}#${lane}` : base
  }
  const firstHost: Array<number> = []
  let hostCount = 0
  for (const g of groups) {
    firstHost.push(hostCount)
    hostCount += g.lanes
  }
  // Every producer lane gets one ring to every consumer lane; a partitioned consumer group routes by key.
  const rings: Array<PlannedRing> = []
  const inputs: Array<Array<number>> = Array.from({ length: hostCount }, () => [])
  const outputs: Array<PlannedOutput> = Array.from({ length: hostCount }, () => ({ _tag: "None" }))
  groups.forEach((g, gi) => {
    const next = groups[gi + 1]
    if (next === undefined) return
    const slotBytes = layouts.success[g.steps[g.steps.length - 1]!]!.output!.byteLength
    for (let pl = 0; pl < g.lanes; pl++) {
      const producer = firstHost[gi]! + pl
      const own: Array<number> = []
      for (let cl = 0; cl < next.lanes; cl++) {
        const consumer = firstHost[gi + 1]! + cl
        own.push(rings.length)
        inputs[consumer]!.push(rings.length)
        rings.push({ name: `${hostName(g, pl)}→${hostName(next, cl)}`, producer, consumer, slotBytes })
      }
      outputs[producer] = own.length === 1 ? { _tag: "Ring", ring: own[0]! } : { _tag: "Partition", rings: own, key: next.key! }
    }
  })
  const stages: Array<PlannedStage> = []
  const hosts: Array<PlannedHost> = []
  groups.forEach((g, gi) => {
    for (let lane = 0; lane < g.lanes; lane++) {
      const host = firstHost[gi]! + lane
      const members = g.steps.map((index) => {
        stages.push({
          name: g.lanes > 1 ? `${stepNames[index]!}#${lane}` : stepNames[index]!,
          definition: steps[index]!.definition,
          step: index,
          host,
          statsIndex: stages.length,
          lane,
          lanes: g.lanes,
          config: configs[index],
          input: layouts.success[index]!.input,
          output: layouts.success[index]!.output
        })
        return stages.length - 1
      })
      const widestInput = Math.max(8, ...members.map((m) => stages[m]!.input?.byteLength ?? 8))
      hosts.push({
        name: hostName(g, lane),
        placement: steps[g.steps[0]!]!.placement === "fiber" ? "fiber" : "worker",
        isSource: gi === 0,
        stages: members,
        inputs: inputs[host]!,
        output: outputs[host]!,
        deadLetterSlotBytes: DEAD_LETTER_HEADER_BYTES + widestInput
      })
    }
  })
  if (options.entryModule !== undefined) {
    for (const h of hosts) {
      if (h.placement === "fiber") continue
      for (const m of h.stages) {
        const s = stages[m]!
        if (withoutQuery(s.definition.module) === withoutQuery(options.entryModule)) {
          return fail(
            "Placement",
            s.name,
            s.definition.module,
            `stage "${s.name}" is defined in the program's entry module and runs in a worker thread (host "${h.name}"), ` +
              "which would import that module and run the program again: move the stage to its own module " +
              "and import it (or place its loop in a fiber with placement: \"fiber\")"
          )
        }
      }
    }
  }
  return Result.succeed({ stages, hosts, rings, ringCapacity: options.ringCapacity, batchSize: options.batchSize })
}

/** One line per host: its loop's name, where it runs, and the stages in it, in chain order. */
export const formatPlacement = (p: Plan): string => {
  const where = (h: PlannedHost) => (h.placement === "fiber" ? "fiber on the main thread" : "worker thread")
  const width = Math.max(...p.hosts.map((h) => h.name.length))
  return [
    `placement: ${p.hosts.length} loop${p.hosts.length === 1 ? "" : "s"}`,
    ...p.hosts.map((h) => `  ${h.name.padEnd(width)}  ${where(h).padEnd(24)}  ${h.stages.map((i) => p.stages[i]!.name).join(" → ")}`)
  ].join("\n")
}
