/**
 * The planner: from a pipeline's steps (a graph: each step names the steps it reads) and their decoded
 * configs to the plan of what runs where — hosts (one loop each), the stage instances in them with
 * their resolved layouts and stats blocks, the rings between hosts, each host's output ports, and the
 * links the ledger checks. Pure: plain data in, plain data (or the first broken rule) out; no memory is
 * allocated and no thread started, so it is tested without either.
 *
 * Rules it checks (each a `PipelineConfigError`): run options in range; the graph's shape (sources read
 * nothing, every other step reads something, sinks feed nothing, every other step feeds something, an
 * edge appears once); each stage's `maxRetained` below the ring capacity; each link's layouts equal
 * (fields, their order, types, offsets, byte length) unless the stage takes any layout, and the inputs
 * of a merge equal to each other; partition keys are fields; and no stage defined in the program's
 * entry module placed in a thread.
 *
 * Loops: a step joins the loop of the step it reads when it is `fused`, reads exactly one step, is the
 * only reader of that step (no tee), is not partitioned, does not drop, and neither it nor that step is
 * an edge or a partition; otherwise it begins a loop of its own.
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

/** A ring from one host to another. */
export interface PlannedRing {
  readonly name: string
  readonly producer: number
  readonly consumer: number
  readonly slotBytes: number
}

/** One consumer of a host's output: a ring, or a partition's rings (one per lane, routed by `key`). */
export interface PlannedPort {
  readonly rings: ReadonlyArray<number>
  readonly key: string | undefined
  /** The producer never waits for these rings: a record that does not fit is dropped and counted. */
  readonly dropping: boolean
}

export type PlannedOutput =
  | { readonly _tag: "None" }
  | { readonly _tag: "Ring"; readonly ring: number }
  | { readonly _tag: "Partition"; readonly rings: ReadonlyArray<number>; readonly key: string }
  /** Several consumers (a tee), or one that drops: each record goes to every port. */
  | { readonly _tag: "Broadcast"; readonly ports: ReadonlyArray<PlannedPort> }

/** What a host is: a loop of stages, or an edge between Effect code and the rings. */
export type HostKind = "loop" | "sourceEdge" | "sinkEdge"

/** One loop: a fused chain of stage instances, in a thread or in a fiber on the main thread. */
export interface PlannedHost {
  readonly name: string
  readonly placement: Exclude<Placement, "fused">
  readonly kind: HostKind
  /** It runs a source stage (stopping the pipeline stops it; a source edge is stopped by ending it). */
  readonly isSource: boolean
  /** Its stage instances (indices into `Plan.stages`), in chain order. */
  readonly stages: ReadonlyArray<number>
  /** Rings it consumes (indices into `Plan.rings`), fanned in fairly. */
  readonly inputs: ReadonlyArray<number>
  readonly output: PlannedOutput
  /** Slot size of its dead-letter ring: a header and its widest input record. */
  readonly deadLetterSlotBytes: number
}

/**
 * A link the ledger checks: one stage feeding the next in one loop, or every ring into one consuming
 * step (all its lanes), from every loop that writes into them.
 */
export type PlannedLink =
  | { readonly _tag: "Fused"; readonly from: number; readonly to: number }
  | {
    readonly _tag: "Rings"
    /** Per producing host: its last stage, and the rings it writes into for this link. */
    readonly producers: ReadonlyArray<{ readonly host: number; readonly stage: number; readonly rings: ReadonlyArray<number> }>
    /** The first stage of each consuming host (the lanes of one step). */
    readonly consumers: ReadonlyArray<number>
    readonly rings: ReadonlyArray<number>
  }

export interface Plan {
  readonly stages: ReadonlyArray<PlannedStage>
  readonly hosts: ReadonlyArray<PlannedHost>
  readonly rings: ReadonlyArray<PlannedRing>
  readonly links: ReadonlyArray<PlannedLink>
  readonly ringCapacity: number
  readonly batchSize: number
}

export interface PlanOptions {
  readonly ringCapacity: number
  readonly batchSize: number
  /** URL of the program's entry module, when the platform knows it. */
  readonly entryModule?: string | undefined
}

type Resolved = { readonly input: Layout | undefined; readonly output: Layout | undefined }

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

/** Each step's inputs as indices, checking that they are steps of this pipeline, listed before it. */
const indexInputs = (
  steps: ReadonlyArray<Step>,
  names: ReadonlyArray<string>
): Result.Result<ReadonlyArray<ReadonlyArray<number>>, PipelineConfigError> => {
  const index = new Map<Step, number>(steps.map((s, i) => [s, i]))
  const out: Array<ReadonlyArray<number>> = []
  for (const [i, s] of steps.entries()) {
    const inputs: Array<number> = []
    for (const input of s.inputs) {
      const j = index.get(input)
      if (j === undefined || j >= i) {
        return fail(
          "Shape",
          names[i]!,
          input.definition.name,
          `stage "${names[i]}" reads from "${input.definition.name}", which is not ${j === undefined ? "a step of this pipeline" : "listed before it"}`
        )
      }
      if (!inputs.includes(j)) inputs.push(j)
    }
    out.push(inputs)
  }
  return Result.succeed(out)
}

const checkShape = (
  steps: ReadonlyArray<Step>,
  inputs: ReadonlyArray<ReadonlyArray<number>>,
  readers: ReadonlyArray<ReadonlyArray<number>>,
  names: ReadonlyArray<string>
): Result.Result<void, PipelineConfigError> => {
  if (steps.length === 0) return fail("Shape", "steps", "0", "a pipeline needs a source and a sink")
  const edges = new Set<unknown>()
  for (const [i, s] of steps.entries()) {
    const kind = s.definition.kind
    const name = names[i]!
    const shape = "a pipeline is a graph from sources, through stages, to sinks"
    if (kind === "source" && inputs[i]!.length > 0) return fail("Shape", name, kind, `a source reads nothing, yet it follows another step: ${shape}`)
    if (kind !== "source" && inputs[i]!.length === 0) return fail("Shape", name, kind, `a ${kind} must read from a step before it: ${shape}`)
    if (kind === "sink" && readers[i]!.length > 0) {
      return fail("Shape", name, kind, `a sink emits nothing, yet "${names[readers[i]![0]!]}" reads from it: ${shape}`)
    }
    if (kind !== "sink" && readers[i]!.length === 0) {
      return fail("Shape", name, kind, `what this ${kind} emits is read by no step: end every branch in a sink (${shape})`)
    }
    if (s.edge !== undefined) {
      if (edges.has(s.edge)) return fail("Shape", name, "edge", `the edge "${s.edge.name}" appears twice in the pipeline: use one edge per place`)
      edges.add(s.edge)
    }
  }
  return Result.succeed(undefined)
}

/** Resolves every step's layouts, checking each link. */
const resolveLayouts = (
  steps: ReadonlyArray<Step>,
  inputs: ReadonlyArray<ReadonlyArray<number>>,
  names: ReadonlyArray<string>
): Result.Result<ReadonlyArray<Resolved>, PipelineConfigError> => {
  const resolved: Array<Resolved> = []
  for (const [i, s] of steps.entries()) {
    const def = s.definition
    let input = def.input as Layout | undefined
    const ins = inputs[i]!
    for (const j of ins) {
      const upstream = resolved[j]!.output
      if (upstream === undefined) return fail("Shape", names[j]!, "no output", `stage "${names[i]}" needs records, and "${names[j]}" emits none`)
      const first = resolved[ins[0]!]!.output!
      if (def.anyInput && !sameLayout(first, upstream)) {
        return fail(
          "Layout",
          `${names[ins[0]!]}, ${names[j]} → ${names[i]}`,
          describeLayout(upstream),
          `the inputs of "${names[i]}" differ: "${names[ins[0]!]}" emits ${describeLayout(first)}; ` +
            "a merge's inputs must have the same fields in the same order, with the same types and byte length"
        )
      }
      if (!def.anyInput && (input === undefined || !sameLayout(upstream, input))) {
        return fail(
          "Layout",
          `${names[j]} → ${names[i]}`,
          describeLayout(upstream),
          `stage "${names[i]}" reads ${input === undefined ? "no input" : describeLayout(input)}: ` +
            "a link's layouts must have the same fields in the same order, with the same types and byte length"
        )
      }
    }
    if (def.anyInput && ins.length > 0) input = resolved[ins[0]!]!.output
    const output = def.outputSameAsInput ? input : (def.output as Layout | undefined)
    if (s.partition !== undefined && (input === undefined || !input.fields.some((f) => f.name === s.partition!.key))) {
      return fail("Layout", `${names[i]}.by`, s.partition.key, `the partition key must be a field of ${input === undefined ? "the input" : describeLayout(input)}`)
    }
    resolved.push({ input, output })
  }
  return Result.succeed(resolved)
}

/** A group of steps run as one loop per lane. */
interface Group {
  readonly steps: Array<number>
  readonly lanes: number
  readonly key: string | undefined
  readonly kind: HostKind
  readonly placement: "worker" | "fiber"
  /** Index of its first host. */
  firstHost: number
}

/**
 * Lays the steps out: which steps share a loop (see the module doc), one loop per lane of a
 * partitioned step, rings from every producing lane to every consuming lane, ports per consumer.
 * `configs[i]` is step i's decoded config.
 */
export const plan = (
  steps: ReadonlyArray<Step>,
  configs: ReadonlyArray<unknown>,
  options: PlanOptions
): Result.Result<Plan, PipelineConfigError> => {
  const checked = checkOptions(options)
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  // A stage used more than once gets a suffix per use ("pass-through", "pass-through-2", …), so every
  // instance and host name is unique: stats, links and supervision are keyed by them.
  const uses = new Map<string, number>()
  const stepNames = steps.map((s) => {
    const n = (uses.get(s.definition.name) ?? 0) + 1
    uses.set(s.definition.name, n)
    return n === 1 ? s.definition.name : `${s.definition.name}-${n}`
  })
  const indexed = indexInputs(steps, stepNames)
  if (Result.isFailure(indexed)) return Result.fail(indexed.failure)
  const inputs = indexed.success
  const readers: Array<Array<number>> = steps.map(() => [])
  inputs.forEach((ins, i) => ins.forEach((j) => readers[j]!.push(i)))
  const shape = checkShape(steps, inputs, readers, stepNames)
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
  const layouts = resolveLayouts(steps, inputs, stepNames)
  if (Result.isFailure(layouts)) return Result.fail(layouts.failure)

  // Group steps into loops.
  const groups: Array<Group> = []
  const groupOf: Array<number> = []
  steps.forEach((s, i) => {
    const ins = inputs[i]!
    const j = ins[0]
    const upstream = j === undefined ? undefined : groups[groupOf[j]!]!
    const fuses = s.placement === "fused" && s.edge === undefined && s.partition === undefined && s.overflow !== "dropNewest" &&
      ins.length === 1 && readers[j!]!.length === 1 && upstream !== undefined && upstream.kind === "loop" && upstream.lanes === 1
    if (fuses) {
      upstream.steps.push(i)
      groupOf.push(groupOf[j!]!)
      return
    }
    const kind: HostKind = s.edge === undefined ? "loop" : s.edge._tag === "SourceEdge" ? "sourceEdge" : "sinkEdge"
    groupOf.push(groups.length)
    groups.push({
      steps: [i],
      lanes: s.partition?.count ?? 1,
      key: s.partition?.key,
      kind,
      placement: kind !== "loop" || s.placement === "fiber" ? "fiber" : "worker",
      firstHost: 0
    })
  })
  const hostName = (g: Group, lane: number) => {
    const base = g.steps.map((i) => stepNames[i]!).join("+")
    return g.lanes > 1 ? `${base}#${lane}` : base
  }
  let hostCount = 0
  for (const g of groups) {
    g.firstHost = hostCount
    hostCount += g.lanes
  }
  const lastStep = (g: Group) => g.steps[g.steps.length - 1]!

  // Stage instances, host by host.
  const stages: Array<PlannedStage> = []
  const stagesOfHost: Array<Array<number>> = Array.from({ length: hostCount }, () => [])
  for (const g of groups) {
    for (let lane = 0; lane < g.lanes; lane++) {
      const host = g.firstHost + lane
      for (const index of g.steps) {
        stagesOfHost[host]!.push(stages.length)
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
      }
    }
  }

  // Rings: every producing lane to every consuming lane; one port per consuming group.
  const rings: Array<PlannedRing> = []
  const hostInputs: Array<Array<number>> = Array.from({ length: hostCount }, () => [])
  const ports: Array<Array<PlannedPort>> = Array.from({ length: hostCount }, () => [])
  // Fused links first, in chain order within each host; then the ring links, per consuming step.
  const links: Array<PlannedLink> = []
  for (const members of stagesOfHost) {
    for (let k = 0; k + 1 < members.length; k++) links.push({ _tag: "Fused", from: members[k]!, to: members[k + 1]! })
  }
  // Each consuming group, with the groups it reads (in the order of its step's inputs).
  for (const c of groups) {
    const head = c.steps[0]!
    const producers: Array<{ host: number; stage: number; rings: Array<number> }> = []
    for (const j of inputs[head]!) {
      const g = groups[groupOf[j]!]!
      if (g === c) continue
      const slotBytes = layouts.success[lastStep(g)]!.output!.byteLength
      for (let pl = 0; pl < g.lanes; pl++) {
        const producer = g.firstHost + pl
        const own: Array<number> = []
        for (let cl = 0; cl < c.lanes; cl++) {
          const consumer = c.firstHost + cl
          own.push(rings.length)
          hostInputs[consumer]!.push(rings.length)
          rings.push({ name: `${hostName(g, pl)}→${hostName(c, cl)}`, producer, consumer, slotBytes })
        }
        ports[producer]!.push({ rings: own, key: c.lanes > 1 ? c.key : undefined, dropping: steps[head]!.overflow === "dropNewest" })
        const hostStages = stagesOfHost[producer]!
        producers.push({ host: producer, stage: hostStages[hostStages.length - 1]!, rings: own })
      }
    }
    if (producers.length > 0) {
      links.push({
        _tag: "Rings",
        producers,
        consumers: Array.from({ length: c.lanes }, (_, lane) => stagesOfHost[c.firstHost + lane]![0]!),
        rings: producers.flatMap((p) => p.rings)
      })
    }
  }
  const outputOf = (host: number): PlannedOutput => {
    const own = ports[host]!
    if (own.length === 0) return { _tag: "None" }
    const only = own[0]!
    if (own.length === 1 && !only.dropping) {
      return only.key === undefined ? { _tag: "Ring", ring: only.rings[0]! } : { _tag: "Partition", rings: only.rings, key: only.key }
    }
    return { _tag: "Broadcast", ports: own }
  }
  const hosts: Array<PlannedHost> = []
  for (const g of groups) {
    for (let lane = 0; lane < g.lanes; lane++) {
      const host = g.firstHost + lane
      const members = stagesOfHost[host]!
      const widestInput = Math.max(8, ...members.map((m) => stages[m]!.input?.byteLength ?? stages[m]!.output?.byteLength ?? 8))
      hosts.push({
        name: hostName(g, lane),
        placement: g.placement,
        kind: g.kind,
        isSource: g.kind === "loop" && steps[g.steps[0]!]!.definition.kind === "source",
        stages: members,
        inputs: hostInputs[host]!,
        output: outputOf(host),
        deadLetterSlotBytes: DEAD_LETTER_HEADER_BYTES + widestInput
      })
    }
  }
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
  return Result.succeed({ stages, hosts, rings, links, ringCapacity: options.ringCapacity, batchSize: options.batchSize })
}

/** One line per host: its loop's name, where it runs, and the stages in it, in chain order. */
export const formatPlacement = (p: Plan): string => {
  const where = (h: PlannedHost) =>
    h.kind === "sourceEdge"
      ? "source edge, main thread"
      : h.kind === "sinkEdge"
      ? "sink edge, main thread"
      : h.placement === "fiber"
      ? "fiber on the main thread"
      : "worker thread"
  const width = Math.max(...p.hosts.map((h) => h.name.length))
  return [
    `placement: ${p.hosts.length} loop${p.hosts.length === 1 ? "" : "s"}`,
    ...p.hosts.map((h) => `  ${h.name.padEnd(width)}  ${where(h).padEnd(24)}  ${h.stages.map((i) => p.stages[i]!.name).join(" → ")}`)
  ].join("\n")
}
