/**
 * The conservation ledger: for every stage, every record that entered is accounted for, and every
 * link between stages delivered what was published into it.
 *
 * Per stage:  in − redelivered = emitted + dropped + dead-lettered + retained + lost
 *   (`in` counts deliveries, so a record delivered again after a restart is in `in` twice and in
 *   `redelivered` once; `lost` is state a crashed stage held and could not get back).
 * Per link:   published = consumed + left in the ring
 *   (published = the producers' written + duplicated − what a dropping branch did not write;
 *   consumed = the consumers' in − redelivered). A link is a fused call inside one loop, or every ring
 *   into one step from every loop that writes into it: at a tee, each branch is a link of its own.
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
  /** Records that went into the link: written by its producers (plus duplicates, minus `dropped`). */
  readonly published: number
  readonly consumed: number
  readonly inRing: number
  /** Records a dropping branch (`overflow: "dropNewest"`) did not write because its ring was full. */
  readonly dropped: number
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
 * Builds the ledger from a snapshot: stages, fused links (one stage feeding the next inside a loop)
 * and ring links (every ring into one step, from every loop writing into it). A ring link publishes
 * what its producers wrote, plus what they published again after a crash, minus what a dropping
 * branch did not write (`dropped`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (snapshot: Snapshot): Ledger => {
  const stages = snapshot.stages.map(stageLine)
  const byStage = new Map(snapshot.stages.map((s) => [s.stage, s]))
  const byRing = new Map(snapshot.rings.map((r) => [r.name, r]))
  const stage = (name: string) => byStage.get(name)!
  const links: Array<LinkLine> = []
  for (const l of snapshot.links) {
    if (l._tag === "Fused") {
      const published = stage(l.from).written
      const consumed = stage(l.to).in
      links.push({ from: l.from, to: l.to, published, consumed, inRing: 0, dropped: 0, imbalance: published - consumed })
      continue
    }
    let published = 0
    let dropped = 0
    for (const p of l.producers) {
      const s = stage(p.stage)
      if (p.perRing) {
        const rings = p.rings.map((r) => byRing.get(r)!)
        const lost = rings.reduce((n, r) => n + r.dropped, 0)
        published += s.written + rings.reduce((n, r) => n + r.duplicated, 0) - lost
        dropped += lost
      } else {
        published += s.written + s.duplicated
      }
    }
    const consumed = l.consumers.reduce((n, c) => n + stage(c).in - stage(c).redelivered, 0)
    const inRing = l.rings.reduce((n, r) => n + byRing.get(r)!.fill, 0)
    links.push({
      from: [...new Set(l.producers.map((p) => p.host))].join(","),
      to: l.consumers.map((c) => stage(c).host).join(","),
      published,
      consumed,
      inRing,
      dropped,
      imbalance: published - consumed - inRing
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
      `link ${l.from} → ${l.to}: published ${l.published} = consumed ${l.consumed} + in ring ${l.inRing}${
        l.dropped === 0 ? "" : ` (dropped ${l.dropped}: branch full)`
      }  ${l.imbalance === 0 ? "ok" : `UNBALANCED by ${l.imbalance}`}`
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
