/**
 * A plan made real: the shared memory it describes (bells, rings, stats blocks, link stats blocks,
 * control blocks, dead-letter rings) and one `HostSpec` per host, plus the control plane's reads and writes of that
 * memory (snapshots, lifecycle signals, a host's stats blocks).
 */
import { counterValues, CountersManager, makeCountersBuffer } from "./kernel/counters.ts"
import { capacityFor, COUNTER, GAUGE } from "./kernel/countersDescriptor.ts"
import { Doorbell, DOORBELL_STRIDE_BYTES, type DoorbellRef } from "./kernel/doorbell.ts"
import { type HostOutput, type HostSpec, layoutSpecOf } from "./kernel/host.ts"
import * as C from "./kernel/hostControlDescriptor.ts"
import { type BackoffOptions, PARK_SAFETY_NET_NS } from "./kernel/idleStrategy.ts"
import * as L from "./kernel/linkStatsDescriptor.ts"
import { linkStatsRef, linkStatsWords, makeLinkStatsBuffer } from "./kernel/linkStatsDescriptor.ts"
import { absoluteNs } from "./kernel/nanoClock.ts"
import { makeRing, RingMonitor, type RingHandle } from "./kernel/oneToOneRing.ts"
import { makeStatsBuffer, readStageStats, statsRef } from "./kernel/stageStats.ts"
import * as S from "./kernel/stageStatsDescriptor.ts"
import type { Snapshot } from "../PipelineSnapshot.ts"
import type { Plan, PlannedHost, PlannedStage } from "./planner.ts"

export interface WiredHost {
  readonly plan: PlannedHost
  readonly spec: HostSpec
  readonly stages: ReadonlyArray<PlannedStage>
}

export interface WiredRing {
  readonly name: string
  readonly from: string
  readonly to: string
  readonly handle: RingHandle
}

export interface Wiring {
  readonly plan: Plan
  readonly hosts: ReadonlyArray<WiredHost>
  readonly rings: ReadonlyArray<WiredRing>
  readonly stats: SharedArrayBuffer
  /** One link stats block per ring (`linkStatsDescriptor.ts`), written by broadcasting producers. */
  readonly links: SharedArrayBuffer
  /** The stages' own counters and gauges, labelled (see `countersDescriptor.ts`). */
  readonly counters: SharedArrayBuffer
  readonly counterIndex: ReadonlyArray<StageCounterIndex>
  /** The bell the control plane's dead-letter reader parks on: every dead-letter ring rings it. */
  readonly deadLetterBell: DoorbellRef
}

export interface WireOptions {
  readonly idle: "spin" | BackoffOptions
  readonly maxRecordCrashes: number
  readonly deadLetterRingCapacity: number
}

/** Allocates the plan's memory and builds each host's spec. */
export const wire = (plan: Plan, options: WireOptions): Wiring => {
  const epochNs = absoluteNs()
  // One bell per host, then the dead-letter reader's, each on its own cache lines.
  const bells = new SharedArrayBuffer((plan.hosts.length + 1) * DOORBELL_STRIDE_BYTES)
  const bellOf = (h: number): DoorbellRef => ({ buffer: bells, byteOffset: h * DOORBELL_STRIDE_BYTES })
  const deadLetterBell = bellOf(plan.hosts.length)
  // At least a batch: a pass takes no more records than its dead-letter ring has room for (should all
  // of them fail), so a smaller ring would cut every pass short of `batchSize`.
  let deadLetterCapacity = options.deadLetterRingCapacity
  while (deadLetterCapacity < plan.batchSize) deadLetterCapacity *= 2
  const stats = makeStatsBuffer(plan.stages.length)
  const links = makeLinkStatsBuffer(plan.rings.length)
  const counters = allocateCounters(plan)
  const handles = plan.rings.map((r) =>
    makeRing({ capacity: plan.ringCapacity, slotBytes: r.slotBytes, consumerBell: bellOf(r.consumer), producerBell: bellOf(r.producer) })
  )
  /**
   * How a loop idles. One whose every input comes from a loop on the main thread (a fiber host: a source
   * edge, offered to from the event loop's callbacks, or a stage placed in a fiber) parks as soon as it
   * finds nothing to do, until rung: that producer's records come a turn of the event loop at a time (a
   * socket read's worth), further apart than a spin lasts, and it rings the bell of a parked consumer
   * with each. Spinning, and timed parks that wake to find nothing, would only take CPU from the main
   * thread and the machine's other processes (a broker beside it on a small machine).
   */
  const idleOf = (h: PlannedHost): "spin" | BackoffOptions => {
    const idle = options.idle
    if (idle === "spin" || h.placement === "fiber" || h.inputs.length === 0) return idle
    if (!h.inputs.every((r) => plan.hosts[plan.rings[r]!.producer]!.placement === "fiber")) return idle
    return { ...idle, spinNs: 0, minParkNs: idle.maxParkNs ?? PARK_SAFETY_NET_NS }
  }
  const hosts = plan.hosts.map((h, index): WiredHost => {
    const stages = h.stages.map((i) => plan.stages[i]!)
    const out = h.output
    const output: HostOutput = out._tag === "None"
      ? out
      : out._tag === "Ring"
      ? { _tag: "Ring", handle: handles[out.ring]! }
      : out._tag === "Partition"
      ? { _tag: "Partition", handles: out.rings.map((r) => handles[r]!), key: out.key }
      : {
        _tag: "Broadcast",
        ports: out.ports.map((p) => ({
          handles: p.rings.map((r) => handles[r]!),
          key: p.key,
          dropping: p.dropping,
          links: p.rings.map((r) => linkStatsRef(links, r))
        }))
      }
    return {
      plan: h,
      stages,
      spec: {
        name: h.name,
        members: stages.map((s) => ({
          module: s.definition.module,
          stage: s.definition.name,
          instance: s.name,
          config: s.config,
          statsIndex: s.statsIndex,
          counterIndex: counters.index[s.statsIndex]!.first,
          lane: s.lane,
          lanes: s.lanes,
          input: s.input === undefined ? undefined : layoutSpecOf(s.input),
          output: s.output === undefined ? undefined : layoutSpecOf(s.output)
        })),
        inputs: h.inputs.map((r) => handles[r]!),
        output,
        deadLetters: makeRing({
          capacity: deadLetterCapacity,
          slotBytes: h.deadLetterSlotBytes,
          consumerBell: deadLetterBell,
          producerBell: bellOf(index)
        }),
        stats,
        counters: counters.buffer,
        control: C.makeControlBlock(),
        bell: bellOf(index),
        batchSize: plan.batchSize,
        idle: idleOf(h),
        maxRecordCrashes: options.maxRecordCrashes,
        epochNs
      }
    }
  })
  const rings = plan.rings.map((r, i) => ({
    name: r.name,
    from: plan.hosts[r.producer]!.name,
    to: plan.hosts[r.consumer]!.name,
    handle: handles[i]!
  }))
  return { plan, hosts, rings, stats, links, counters: counters.buffer, counterIndex: counters.index, deadLetterBell }
}

/** Where each stage instance's counters and gauges are (by stats index): value index and label. */
export interface StageCounterIndex {
  readonly first: number
  readonly counters: ReadonlyArray<readonly [string, number]>
  readonly gauges: ReadonlyArray<readonly [string, number]>
}

/** One run of values per stage instance that declares any (counters, then gauges), in stats order. */
const allocateCounters = (plan: Plan): { readonly buffer: SharedArrayBuffer; readonly index: ReadonlyArray<StageCounterIndex> } => {
  const buffer = makeCountersBuffer(capacityFor(plan.stages.map((s) => s.definition.counters.length + s.definition.gauges.length)))
  const manager = new CountersManager(buffer)
  const index = plan.stages.map((s): StageCounterIndex => {
    const { counters, gauges } = s.definition
    if (counters.length + gauges.length === 0) return { first: 0, counters: [], gauges: [] }
    manager.beginRun()
    const c = counters.map((name) => [name, manager.allocate(name, COUNTER, s.statsIndex)] as const)
    const g = gauges.map((name) => [name, manager.allocate(name, GAUGE, s.statsIndex)] as const)
    return { first: (c[0] ?? g[0]!)[1], counters: c, gauges: g }
  })
  return { buffer, index }
}

/** Every stage's counters, every ring's fill and link stats, and the links between stages, now. */
export const snapshot = (w: Wiring): Snapshot => {
  const plan = w.plan
  // Stats first: their HEARTBEAT loads order the counter values read after them.
  const stageStats = plan.stages.map((s) => readStageStats(statsRef(w.stats, s.statsIndex)))
  const values = counterValues(w.counters)
  const named = (pairs: ReadonlyArray<readonly [string, number]>) => Object.fromEntries(pairs.map(([name, i]) => [name, values[i]!]))
  const stageName = (i: number) => plan.stages[i]!.name
  const ringName = (i: number) => plan.rings[i]!.name
  return {
    stages: plan.stages.map((s) => ({
      stage: s.name,
      definition: s.definition.name,
      host: plan.hosts[s.host]!.name,
      dropReasons: s.definition.dropReasons,
      errors: s.definition.errors,
      keepsState: s.definition.keepsState,
      ...stageStats[s.statsIndex]!,
      counters: named(w.counterIndex[s.statsIndex]!.counters),
      gauges: named(w.counterIndex[s.statsIndex]!.gauges)
    })),
    rings: w.rings.map((r, i) => {
      const m = new RingMonitor(r.handle)
      const link = linkStatsWords(linkStatsRef(w.links, i))
      return {
        name: r.name,
        from: r.from,
        to: r.to,
        capacity: r.handle.capacity,
        fill: m.fill(),
        closed: m.isClosed(),
        dropped: link[L.DROPPED_OFFSET >> 3]!,
        duplicated: link[L.DUPLICATED_OFFSET >> 3]!
      }
    }),
    links: plan.links.map((l) =>
      l._tag === "Fused"
        ? { _tag: "Fused", from: stageName(l.from), to: stageName(l.to) }
        : {
          _tag: "Rings",
          producers: l.producers.map((p) => ({
            stage: stageName(p.stage),
            host: plan.hosts[p.host]!.name,
            rings: p.rings.map(ringName),
            perRing: plan.hosts[p.host]!.output._tag === "Broadcast"
          })),
          consumers: l.consumers.map(stageName),
          rings: l.rings.map(ringName)
        }
    )
  }
}

/** A stage's stats block as f64 words (the control plane writes only what no loop is writing). */
export const statsBlock = (w: Wiring, stage: PlannedStage): Float64Array =>
  new Float64Array(w.stats, stage.statsIndex * S.STATS_BLOCK_BYTES, S.STATS_BLOCK_BYTES / 8)

export const setState = (w: Wiring, stage: PlannedStage, state: S.StageState): void => {
  // publish: the lifecycle change, read by snapshots.
  Atomics.store(new Int32Array(w.stats, stage.statsIndex * S.STATS_BLOCK_BYTES, 4), S.STATE_OFFSET >> 2, state)
}

/** Tells hosts to stop (`C.STOP_INDEX`: sources stop and drain) or to abort (`C.ABORT_INDEX`). */
export const signalHosts = (hosts: ReadonlyArray<WiredHost>, index: number): void => {
  for (const h of hosts) {
    // publish: the request; the bell below wakes a parked host to see it.
    Atomics.store(new Int32Array(h.spec.control), index, 1)
    new Doorbell(h.spec.bell).ring()
    // A host parked on a full output waits on the same bell; ring it armed or not.
    Atomics.notify(new Int32Array(h.spec.bell.buffer), h.spec.bell.byteOffset >> 2)
  }
}

/** The rings a host produces into. */
export const outputHandles = (h: WiredHost): ReadonlyArray<RingHandle> => {
  const out = h.spec.output
  switch (out._tag) {
    case "None":
      return []
    case "Ring":
      return [out.handle]
    case "Partition":
      return out.handles
    case "Broadcast":
      return out.ports.flatMap((p) => p.handles)
  }
}
