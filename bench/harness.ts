/**
 * The bench harness: runs each job of a suite several times, every run in a fresh child process
 * (which starts fresh workers where threads are involved), checks nothing itself (every case module
 * checks its own result and throws before it reports a number), and turns the runs into
 * `{ name, unit, median, min, max, runs }` rows: printed as a table and written to
 * `bench/results/<suite>.json`.
 *
 * Runs are interleaved: round 1 runs every job once, then round 2, and so on. On a shared, noisy
 * machine a slow spell then hits every case of a round alike instead of all runs of one case, and a
 * ratio row can pair the runs of one round (see {@link Ratio}).
 */
import { fork } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"

/** A module that `child.ts` can run: `run(params)` returns named numbers, or throws if a check failed. */
export interface CaseModule<P> {
  readonly run: (params: P) => Promise<Record<string, number>>
}

/**
 * Thrown by a case module when a run could not measure what it should (e.g. too few latency samples
 * because the machine starved the threads), as opposed to a failed check. Such a run is left out and
 * listed, but does not fail the suite.
 */
export class InconclusiveRun extends Error {
  override readonly name = "InconclusiveRun"
}

/** A reported case: one named number a job returns from each run. */
export interface Metric {
  /** Stable case name, `<suite>/<case>`: it is the key in the JSON. */
  readonly name: string
  /** Key in the record the case module's `run` returns. */
  readonly key: string
  readonly unit: string
  /** Printed beside the result; never asserted. */
  readonly target?: Target
}

export interface Target {
  readonly op: ">=" | "<"
  readonly value: number
}

/** One benchmark setup, run `runs` times in fresh processes; one run yields every metric of the job. */
export interface Job {
  /** Human label for progress and details lines. */
  readonly label: string
  /** The case module (`new URL("./x.ts", import.meta.url)`), exporting `run(params)`. */
  readonly module: URL
  /** Passed to `run`; must survive structured clone (IPC). */
  readonly params: unknown
  readonly runs: number
  readonly metrics: ReadonlyArray<Metric>
  /** Other keys of `run`'s record printed (as medians) in the details, e.g. parks or record counts. */
  readonly details?: ReadonlyArray<string>
  /** Per run; the child is killed and the run counts as failed after it. Default 60 s. */
  readonly timeoutMs?: number
}

/**
 * A row `numerator ÷ denominator`. When both cases have a run in the same round, the row is the
 * median/min/max of the per-round ratios (runs paired by round); `runs` is the number of pairs.
 */
export interface Ratio {
  readonly name: string
  readonly numerator: string
  readonly denominator: string
  readonly target?: Target
}

export interface Suite {
  readonly name: string
  readonly jobs: ReadonlyArray<Job>
  readonly ratios?: ReadonlyArray<Ratio>
  /** Printed under the table. */
  readonly notes?: ReadonlyArray<string>
}

/** One row of `bench/results/<suite>.json`. */
export interface CaseResult {
  readonly name: string
  readonly unit: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly runs: number
}

export interface RunOptions {
  /** Overrides every job's run count (e.g. 1 for a quick look). */
  readonly runs?: number
  /** Only jobs with a metric name containing this string (or, comma-separated, any of these strings). */
  readonly filter?: string
  /** Where to write `<suite>.json`. */
  readonly resultsDir: URL
}

// ---------------------------------------------------------------------------------------------------
// Statistics

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Four significant digits: the runs disagree long before that. */
const round4 = (x: number): number => (Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(4)) : x)

export const summarize = (name: string, unit: string, values: ReadonlyArray<number>): CaseResult => ({
  name,
  unit,
  median: round4(median(values)),
  min: round4(Math.min(...values)),
  max: round4(Math.max(...values)),
  runs: values.length
})

// ---------------------------------------------------------------------------------------------------
// Fresh-process runs

const CHILD = new URL("./child.ts", import.meta.url)
/** Idle time before each round to see how busy the machine is without us. */
const BACKGROUND_SAMPLE_MS = 300
/** Above this share of the machine taken by others during a case, the table warns. */
const BUSY_WARNING = 0.1
const DEFAULT_TIMEOUT_MS = 60_000

/** Message protocol with `child.ts`. */
export interface ChildRequest {
  readonly module: string
  readonly params: unknown
}
export type ChildReply =
  /** `cpuMs`: the child's whole CPU time, all its threads (`process.cpuUsage()`). */
  | { readonly ok: true; readonly values: Record<string, number>; readonly cpuMs: number }
  | { readonly ok: false; readonly error: string; readonly inconclusive: boolean }

export interface RunResult {
  readonly values: Record<string, number>
  /** What else ran on the machine during this run; undefined off Linux. */
  readonly interference: Interference | undefined
}

/** Runs `job` once in a fresh Node process; resolves with the values its `run` returned. */
export const runInFreshProcess = (job: Job): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const j0 = readJiffies()
    const t0 = performance.now()
    const child = fork(CHILD, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    let reply: ChildReply | undefined
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`timed out after ${job.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`))
    }, job.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    child.on("message", (m: ChildReply) => {
      reply = m
    })
    child.on("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      if (reply === undefined) reject(new Error(`child exited (code=${code} signal=${signal}) without a result`))
      else if (!reply.ok) reject(reply.inconclusive ? new InconclusiveRun(reply.error) : new Error(reply.error))
      else resolve({ values: reply.values, interference: interference(j0, readJiffies(), reply.cpuMs, performance.now() - t0) })
    })
    const request: ChildRequest = { module: job.module.href, params: job.params }
    child.send(request)
  })

// ---------------------------------------------------------------------------------------------------
// Background load

interface Jiffies {
  /** user + nice + system + irq + softirq, all CPUs. */
  readonly busy: number
  /** Time the hypervisor ran something else while a vCPU wanted to run. */
  readonly steal: number
  readonly total: number
}

/** CPU time counters of all CPUs from /proc/stat (Linux); undefined elsewhere. */
const readJiffies = (): Jiffies | undefined => {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    return {
      busy: user + nice + system + irq + softirq,
      steal,
      total: user + nice + system + idle + iowait + irq + softirq + steal
    }
  } catch {
    return undefined
  }
}

/** What else the machine did during a span: shares of all its cores' time, 0..1. */
export interface Interference {
  /** CPU used by other processes (all busy time minus the run's own CPU time). */
  readonly others: number
  /** Hypervisor steal. */
  readonly steal: number
}

const interference = (a: Jiffies | undefined, b: Jiffies | undefined, ownCpuMs: number, wallMs: number): Interference | undefined => {
  if (a === undefined || b === undefined || b.total <= a.total) return undefined
  const total = b.total - a.total
  const own = ownCpuMs / (wallMs * cpus().length)
  return { others: Math.max(0, (b.busy - a.busy) / total - own), steal: (b.steal - a.steal) / total }
}

/** How busy the machine is without us: others' share of all cores over `ms` while this harness idles. */
export const sampleBackground = async (ms: number): Promise<Interference | undefined> => {
  const a = readJiffies()
  const t0 = performance.now()
  await new Promise((resolve) => setTimeout(resolve, ms))
  return interference(a, readJiffies(), 0, performance.now() - t0)
}

// ---------------------------------------------------------------------------------------------------
// Formatting

export const formatNumber = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x === 0 ? "0" : x.toPrecision(2)
}

const meets = (t: Target, x: number): boolean => (t.op === ">=" ? x >= t.value : x < t.value)

const targetText = (t: Target | undefined, x: number): string =>
  t === undefined ? "" : `${meets(t, x) ? "met" : "MISSED"} (${t.op} ${formatNumber(t.value)})`

export const formatTable = (rows: ReadonlyArray<ReadonlyArray<string>>, rightAligned: ReadonlySet<number>): string => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)))
  const line = (r: ReadonlyArray<string>) =>
    r.map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd()
  const [head, ...body] = rows
  return [line(head!), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n")
}

// ---------------------------------------------------------------------------------------------------
// Suite runner

const percent = (x: number): string => `${(x * 100).toFixed(0)}%`

const interferenceText = (i: Interference | undefined): string =>
  i === undefined ? "" : ` (others ${percent(i.others)}${i.steal > 0.005 ? `, steal ${percent(i.steal)}` : ""})`

/** Runs a suite, prints progress (stderr) and the table (stdout), writes the JSON; returns the rows. */
export const runSuite = async (suite: Suite, options: RunOptions): Promise<{
  readonly results: ReadonlyArray<CaseResult>
  readonly failures: ReadonlyArray<string>
}> => {
  const filters = options.filter?.split(",")
  const jobs = suite.jobs.filter((j) => filters === undefined || j.metrics.some((m) => filters.some((f) => m.name.includes(f))))
  const runsOf = (j: Job) => options.runs ?? j.runs
  const rounds = Math.max(0, ...jobs.map(runsOf))
  // Per job, per round: that run's result, or undefined if it failed or did not happen.
  const runs = jobs.map(() => new Array<RunResult | undefined>(rounds).fill(undefined))
  const failures: Array<string> = []
  const inconclusive: Array<string> = []
  const background: Array<Interference> = []
  const load0 = loadavg()[0]!
  const t0 = performance.now()

  for (let round = 0; round < rounds; round++) {
    const idle = await sampleBackground(BACKGROUND_SAMPLE_MS)
    if (idle !== undefined) background.push(idle)
    process.stderr.write(`[${suite.name} ${round + 1}/${rounds}] before the round${interferenceText(idle)}\n`)
    for (const [j, job] of jobs.entries()) {
      if (round >= runsOf(job)) continue
      const tag = `[${suite.name} ${round + 1}/${rounds}] ${job.label}`
      try {
        const r = await runInFreshProcess(job)
        runs[j]![round] = r
        const first = job.metrics[0]!
        process.stderr.write(
          `${tag}: ${formatNumber(r.values[first.key] ?? NaN)} ${first.unit}${interferenceText(r.interference)}\n`
        )
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e)
        const skipped = e instanceof InconclusiveRun
        ;(skipped ? inconclusive : failures).push(`round ${round + 1}, ${job.label}: ${message}`)
        process.stderr.write(`${tag}: ${skipped ? "INCONCLUSIVE" : "FAILED"}: ${message}\n`)
      }
    }
  }

  interface Row {
    readonly result: CaseResult
    readonly target: Target | undefined
    /** Median share of the machine other processes (and steal) took during this case's runs. */
    readonly others: number | undefined
  }
  const rows: Array<Row> = []
  const perRoundOf = new Map<string, ReadonlyArray<number | undefined>>()
  for (const [j, job] of jobs.entries()) {
    const done = runs[j]!.filter((r): r is RunResult => r !== undefined)
    const noise = done.flatMap((r) => (r.interference === undefined ? [] : [r.interference.others + r.interference.steal]))
    for (const m of job.metrics) {
      const perRound = runs[j]!.map((r) => r?.values[m.key])
      perRoundOf.set(m.name, perRound)
      const ok: Array<number> = []
      for (const x of perRound) {
        if (x === undefined) continue
        if (Number.isFinite(x)) ok.push(x)
        else failures.push(`${m.name}: a run reported ${m.key}=${x}`)
      }
      if (ok.length > 0) {
        rows.push({
          result: summarize(m.name, m.unit, ok),
          target: m.target,
          others: noise.length > 0 ? median(noise) : undefined
        })
      }
    }
  }
  for (const r of suite.ratios ?? []) {
    const num = perRoundOf.get(r.numerator)
    const den = perRoundOf.get(r.denominator)
    if (num === undefined || den === undefined) continue
    const paired: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const a = num[round]
      const b = den[round]
      if (a !== undefined && b !== undefined && b !== 0) paired.push(a / b)
    }
    if (paired.length > 0) rows.push({ result: summarize(r.name, "×", paired), target: r.target, others: undefined })
  }

  const cores = cpus().length
  const out: Array<string> = []
  out.push(
    `suite ${suite.name}: node ${process.version}, ${cores} × ${cpus()[0]?.model ?? "?"}, ` +
      `load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}, ${((performance.now() - t0) / 1e3).toFixed(0)} s`
  )
  if (background.length > 0) {
    out.push(
      `other processes before each round: ${background.map((b) => percent(b.others + b.steal)).join(", ")} of the machine`
    )
  }
  const busiest = Math.max(0, ...rows.map((r) => r.others ?? 0))
  if (busiest > BUSY_WARNING) {
    out.push(
      `BUSY MACHINE: other processes took up to ${percent(busiest)} of the CPUs during some cases ("others" column). ` +
        `Spinning (BusySpin) rows suffer most when time-sliced; rerun on a quiet machine before trusting them.`
    )
  }
  out.push("")
  out.push(
    formatTable(
      [
        ["case", "unit", "median", "min", "max", "runs", "others", "target"],
        ...rows.map(({ result: r, target, others }) => [
          r.name,
          r.unit,
          formatNumber(r.median),
          formatNumber(r.min),
          formatNumber(r.max),
          String(r.runs),
          others === undefined ? "" : percent(others),
          targetText(target, r.median)
        ])
      ],
      new Set([2, 3, 4, 5, 6])
    )
  )
  out.push("")
  out.push("details (medians over the runs):")
  for (const [j, job] of jobs.entries()) {
    const done = runs[j]!.filter((r): r is RunResult => r !== undefined)
    const parts = (job.details ?? []).map((k) =>
      `${k}=${done.length > 0 ? formatNumber(median(done.map((r) => r.values[k] ?? NaN))) : "-"}`
    )
    out.push(`  ${job.label}: ${[JSON.stringify(job.params), ...parts].join(" ")}`)
  }
  if ((suite.notes ?? []).length > 0) {
    out.push("")
    out.push("notes:")
    for (const n of suite.notes ?? []) out.push(`  - ${n}`)
  }
  if (inconclusive.length > 0) {
    out.push("")
    out.push(`inconclusive runs (${inconclusive.length}), left out of the results:`)
    for (const f of inconclusive) out.push(`  - ${f}`)
  }
  if (failures.length > 0) {
    out.push("")
    out.push(`FAILED runs (${failures.length}), left out of the results:`)
    for (const f of failures) out.push(`  - ${f}`)
  }
  process.stdout.write(out.join("\n") + "\n")

  const results = rows.map((r) => r.result)
  mkdirSync(options.resultsDir, { recursive: true })
  const file = new URL(`${suite.name}.json`, options.resultsDir)
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n")
  process.stdout.write(`\nwrote ${file.pathname}\n`)
  return { results, failures }
}
