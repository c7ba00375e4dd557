/**
 * The paced engine's floor, with nothing of velox in it: one bare thread (this child process's main
 * thread, its event loop idle) meets the arrivals of the same schedule the engine's paced `Ingress`
 * uses — Poisson at `rate`, exponential gaps drawn from the same seeded PRNG stream (`Sfc32`, seed
 * `seed ^ 0x5bd1e995`, `-ln(u) × 1e9 / rate` ns) — and "handles" each one (a checksum step), recording
 * arrival → handled latency: the clock reading after the wake-up minus the scheduled arrival.
 *
 * ```
 *   park:      for (;;) { handle every arrival due; Atomics.wait(word, 0, 0, until the next arrival) }
 *              (timer slack `slackNs`, set first as the Node host sets a stage thread's)
 *   periodic:  for (;;) { handle every arrival due; Atomics.wait(…, until the next tick of a fixed period) }
 *              (ticks at start + k × `periodNs`, whatever the arrivals; a late wake-up skips the missed ticks)
 *   spin:      for (;;) { handle every arrival due; spin on the clock until the next one }
 * ```
 *
 * This is what the engine's source loop does between arrivals (`parkUntilDue`) minus the engine: the
 * futex wait, the timer, the wake-up. If this loop cannot meet a CPU and latency target at any slack,
 * no loop that parks between arrivals can on this machine. The spinning variant's tail is the VM's own
 * (descheduling, interrupts): a spinning velox loop's tail has the same floor.
 *
 * - `cpuPercent`: this thread's CPU time (`process.threadCpuUsage()`) over the window, % of one core.
 *   `processCpuPercent` (details): the whole process, Node's helper threads included.
 * - `latencyP50Us` / `latencyP99Us` / `latencyMaxUs`: over every arrival in the window, as the engine's
 *   `velox-latency-p99-us` covers every transaction: recorded into the same `OutputLatency` histogram
 *   (its `TRANSACTION` one) and read with the same percentiles (bucket upper bounds, within 3.1%), so
 *   the two differ only in what they measure.
 * - `closingP99Us` / `closingSamples`: the same arrivals sampled as the engine's closing-bundle
 *   histogram samples them (its `closingP99Us` detail): the arrivals are cut into bundles as the Bundler
 *   cuts them (16, or a timeout 100 µs after the first arrival, checked at each wake-up — spinning:
 *   continuously), and only the arrival that closes a bundle by size is a sample. A stall turns its
 *   backlog into size-closed bundles (their arrivals are all handled at once), so this sample (~1 in 60
 *   arrivals) over-weights stalls: one 5 ms stall is 0.25% of all arrivals but ~1% of the closing
 *   samples.
 * - `wakesPerSecond`: parks that ended (by timeout: nothing notifies the word), per second.
 *
 * On a busy machine the thread falls behind (descheduled for milliseconds): that is in its figures, as
 * it is in velox's at the same rate (`latencyMaxUs` shows it).
 */
import { OutputLatency } from "@velox/market"
import { Sfc32 } from "@velox/market/unsafe"
import { setTimerSlack } from "./parkWake.ts"

export interface Params {
  readonly rate: number
  /** Timer slack of the thread (ns), or "spin": never park. */
  readonly slackNs: number | "spin"
  /** Park until the next tick of this period (ns) instead of until the next arrival. */
  readonly periodNs?: number
  readonly seed: number
  readonly warmupMs: number
  readonly windowMs: number
}

/** Ingress's arrival stream: its seed is the flow's, mixed with this constant (`Ingress.ts`). */
const ARRIVAL_STREAM = 0x5bd1e995
/** The engine's Bundler at its defaults (`Bundler.ts`): 16 updates or 100 µs after the first. */
const BUNDLE_SIZE = 16
const BUNDLE_TIMEOUT_NS = 100_000

export const run = async (params: Params): Promise<Record<string, number>> => {
  const spin = params.slackNs === "spin"
  if (!spin) setTimerSlack(params.slackNs as number)
  const word = new Int32Array(new SharedArrayBuffer(4))
  const arrivals = new Sfc32(params.seed ^ ARRIVAL_STREAM)
  const meanGapNs = 1e9 / params.rate
  const latency = OutputLatency.make()
  const recorder = new OutputLatency.Recorder(latency)
  const periodNs = params.periodNs
  const nowNs = () => performance.now() * 1e6
  const startNs = nowNs()
  const windowStartNs = startNs + params.warmupMs * 1e6
  const endNs = windowStartNs + params.windowMs * 1e6
  let next = startNs - Math.log(arrivals.nextOpenUnit()) * meanGapNs
  let handled = 0
  let inBundle = 0
  let bundleOpenNs = 0
  let tick = startNs
  let checksum = 0
  let wakes = 0
  let cpu0 = process.threadCpuUsage()
  let process0 = process.cpuUsage()
  let recording = false
  let recordingSinceNs = 0
  let now = nowNs()
  while (now < endNs) {
    if (!recording && now >= windowStartNs) {
      recording = true
      recordingSinceNs = now
      cpu0 = process.threadCpuUsage()
      process0 = process.cpuUsage()
      wakes = 0
    }
    // Handle every arrival due by now, each with this reading as its handling time.
    while (next <= now) {
      checksum = (checksum + Math.imul(handled + 1, 0x9e3779b1)) | 0
      const sampled = recording && next >= windowStartNs
      if (sampled) {
        recorder.record(OutputLatency.TRANSACTION, now - next)
        handled++
      }
      if (inBundle++ === 0) bundleOpenNs = next
      if (inBundle === BUNDLE_SIZE) {
        if (sampled) recorder.record(OutputLatency.CLOSING, now - next)
        inBundle = 0
      }
      next -= Math.log(arrivals.nextOpenUnit()) * meanGapNs
    }
    if (inBundle > 0 && now - bundleOpenNs >= BUNDLE_TIMEOUT_NS) inBundle = 0
    if (spin) {
      do {
        now = nowNs()
        if (inBundle > 0 && now - bundleOpenNs >= BUNDLE_TIMEOUT_NS) inBundle = 0
      } while (now < next)
    } else {
      if (periodNs !== undefined) while (tick <= now) tick += periodNs
      const ms = ((periodNs === undefined ? next : tick) - now) / 1e6
      if (Atomics.wait(word, 0, 0, ms) !== "timed-out") throw new Error("nothing notifies this word: every wait must time out")
      wakes++
      now = nowNs()
    }
  }
  const cpu = process.threadCpuUsage(cpu0)
  const whole = process.cpuUsage(process0)
  const windowMs = (now - recordingSinceNs) / 1e6
  if (handled < 100) throw new Error(`only ${handled} arrivals handled in ${windowMs.toFixed(0)} ms (checksum ${checksum})`)
  const { closing, transaction } = OutputLatency.read(latency)
  if (transaction.count !== handled) throw new Error(`recorded ${transaction.count} of ${handled} arrivals`)
  const at = (q: number) => OutputLatency.percentileNs(transaction, q) / 1e3
  return {
    cpuPercent: ((cpu.user + cpu.system) / 1e3 / windowMs) * 100,
    processCpuPercent: ((whole.user + whole.system) / 1e3 / windowMs) * 100,
    latencyP50Us: at(0.5),
    latencyP99Us: at(0.99),
    latencyMaxUs: transaction.maxNs / 1e3,
    closingP99Us: OutputLatency.percentileNs(closing, 0.99) / 1e3,
    closingSamples: closing.count,
    arrivals: handled,
    ratePerSecond: (handled / windowMs) * 1e3,
    wakesPerSecond: (wakes / windowMs) * 1e3
  }
}
