/**
 * The conservation ledger: for every stage, every record that entered is accounted for, and every
 * link between stages delivered what was published into it.
 *
 * Per stage:  in − redelivered = emitted + dropped + dead-lettered + retained + lost
 *   (`in` counts deliveries, so a record delivered again after a restart is in `in` twice and in
 *   `redelivered` once; `lost` is state a crashed stage held and could not get back).
 * Per link:   published = consumed + left in the ring
 *   (published = the producers' written + duplicated; consumed = the consumers' in − redelivered).
 *
 * @since 0.1.0
 */
import type { Snapshot, StageSnapshot } from "./PipelineSnapshot.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface StageLine {
  readonly stage: string
  readonly host: string
  readonly in: number
  readonly emitted: number
  readonly written: number
  readonly dropped: Readonly<Record<string, number>>
  readonly deadLettered: Readonly<Record<string, number>>
  readonly retained: number
  readonly redelivered: number
  readonly duplicated: number
  readonly lost: number
  /** Restarts after which the stage (it keeps state) ran without it: not records, but never silent. */
  readonly stateLost: number
  readonly restarts: number
  readonly state: string
  /** in − redelivered − (emitted + dropped + dead-lettered + retained + lost); 0 when balanced. */
  readonly imbalance: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface LinkLine {
  readonly from: string
  readonly to: string
  readonly published: number
  readonly consumed: number
  readonly inRing: number
  readonly imbalance: number
}

/**
 * @category models
 * @since 0.1.0
 */
export interface Ledger {
  readonly stages: ReadonlyArray<StageLine>
  readonly links: ReadonlyArray<LinkLine>
  /** Every stage and link balances, nothing is left in a ring, nothing retained. */
  readonly balanced: boolean
  /** Records still in rings or retained in state (non-zero after an aborted drain). */
  readonly abandoned: number
}

/** Names counts by code; the last code is the runtime's own (`StageStopped` drops, `StageThrew` errors). */
const byName = (names: ReadonlyArray<string>, counts: ReadonlyArray<number>, runtimeName: string): Record<string, number> => {
  const out: Record<string, number> = {}
  counts.forEach((n, i) => {
    if (n !== 0) out[names[i] ?? (i === counts.length - 1 ? runtimeName : `code ${i}`)] = n
  })
  return out
}

const stageLine = (s: StageSnapshot): StageLine => ({
  stage: s.stage,
  host: s.host,
  in: s.in,
  emitted: s.emitted,
  written: s.written,
  dropped: byName(s.dropReasons, s.droppedByReason, "StageStopped"),
  deadLettered: byName(s.errors, s.deadLetteredByCode, "StageThrew"),
  retained: s.retained,
  redelivered: s.redelivered,
  duplicated: s.duplicated,
  lost: s.lost,
  stateLost: s.stateLost,
  restarts: s.restarts,
  state: s.state,
  imbalance: s.in - s.redelivered - (s.emitted + s.dropped + s.deadLettered + s.retained + s.lost)
})

/**
 * Builds the ledger from a snapshot: stages, fused links (consecutive stages on one host) and ring
 * links (all rings from one host group to the next).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (snapshot: Snapshot): Ledger => {
  const stages = snapshot.stages.map(stageLine)
  const links: Array<LinkLine> = []
  // Fused links: consecutive stages of one host.
  for (let i = 0; i + 1 < snapshot.stages.length; i++) {
    const a = snapshot.stages[i]!
    const b = snapshot.stages[i + 1]!
    if (a.host === b.host) {
      links.push({
        from: a.stage,
        to: b.stage,
        published: a.written,
        consumed: b.in,
        inRing: 0,
        imbalance: a.written - b.in
      })
    }
  }
  // Ring links, grouped by the set of consuming hosts (a partition step and its producers).
  const groups = new Map<string, { from: Set<string>; to: Set<string>; fill: number }>()
  const consumersOf = new Map<string, Set<string>>()
  for (const r of snapshot.rings) {
    const set = consumersOf.get(r.from) ?? new Set<string>()
    set.add(r.to)
    consumersOf.set(r.from, set)
  }
  for (const r of snapshot.rings) {
    const key = [...consumersOf.get(r.from)!].sort().join(",")
    const g = groups.get(key) ?? { from: new Set<string>(), to: new Set<string>(), fill: 0 }
    g.from.add(r.from)
    g.to.add(r.to)
    g.fill += r.fill
    groups.set(key, g)
  }
  for (const g of groups.values()) {
    const lastOf = (host: string) => snapshot.stages.filter((s) => s.host === host).at(-1)!
    const firstOf = (host: string) => snapshot.stages.find((s) => s.host === host)!
    const published = [...g.from].reduce((n, h) => n + lastOf(h).written + lastOf(h).duplicated, 0)
    const consumed = [...g.to].reduce((n, h) => n + firstOf(h).in - firstOf(h).redelivered, 0)
    links.push({
      from: [...g.from].join(","),
      to: [...g.to].join(","),
      published,
      consumed,
      inRing: g.fill,
      imbalance: published - consumed - g.fill
    })
  }
  const abandoned = snapshot.rings.reduce((n, r) => n + r.fill, 0) + stages.reduce((n, s) => n + s.retained, 0)
  return {
    stages,
    links,
    abandoned,
    balanced: abandoned === 0 && stages.every((s) => s.imbalance === 0) && links.every((l) => l.imbalance === 0)
  }
}

/** What a drain would leave behind right now, by ring and by stage. */
export const abandoned = (snapshot: Snapshot): Array<{ where: string; records: number }> => [
  ...snapshot.rings.filter((r) => r.fill > 0).map((r) => ({ where: `ring ${r.name}`, records: r.fill })),
  ...snapshot.stages.filter((s) => s.retained > 0).map((s) => ({ where: `stage ${s.stage} (retained)`, records: s.retained }))
]

const fmtCounts = (counts: Readonly<Record<string, number>>): string => {
  const parts = Object.entries(counts).map(([k, v]) => `${k}=${v}`)
  return parts.length === 0 ? "0" : parts.join(" ")
}

/**
 * The ledger as a fixed-width table, one line per stage and per link, each marked ok or UNBALANCED.
 *
 * @category constructors
 * @since 0.1.0
 */
export const format = (ledger: Ledger): string => {
  const rows: Array<Array<string>> = [["stage", "in", "emitted", "written", "dropped", "dead-lettered", "retained", "redelivered", "dup", "lost", "restarts", "check"]]
  for (const s of ledger.stages) {
    rows.push([
      s.stage,
      String(s.in),
      String(s.emitted),
      String(s.written),
      fmtCounts(s.dropped),
      fmtCounts(s.deadLettered),
      String(s.retained),
      String(s.redelivered),
      String(s.duplicated),
      String(s.lost),
      String(s.restarts),
      s.imbalance === 0 ? "ok" : `UNBALANCED by ${s.imbalance}`
    ])
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  const line = (r: ReadonlyArray<string>) => r.map((v, c) => v.padEnd(widths[c]!)).join("  ")
  const out = rows.map(line)
  out.push("")
  for (const l of ledger.links) {
    out.push(
      `link ${l.from} → ${l.to}: published ${l.published} = consumed ${l.consumed} + in ring ${l.inRing}  ${
        l.imbalance === 0 ? "ok" : `UNBALANCED by ${l.imbalance}`
      }`
    )
  }
  out.push(
    ledger.balanced
      ? "ledger: balanced — every record emitted, dropped with a reason, or dead-lettered"
      : `ledger: NOT balanced (abandoned ${ledger.abandoned})`
  )
  for (const s of ledger.stages) {
    if (s.stateLost > 0) {
      out.push(
        `state: stage ${s.stage} restarted without its state ${s.stateLost === 1 ? "once" : `${s.stateLost} times`}: ` +
          "every record is accounted for, but what it emitted after that was built on fresh state"
      )
    }
  }
  return out.join("\n")
}
