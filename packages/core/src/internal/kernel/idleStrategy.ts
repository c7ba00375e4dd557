/**
 * What a loop does when it found nothing to do: `idle(doWork())`, after Agrona's IdleStrategy.
 *
 * Work counts must be honest: a loop passes the number of records (or events) it handled, and 0 when
 * it handled none, so that an idle loop really backs off. Any positive count resets the backoff.
 *
 * Thread rules: `idle` may block the calling thread (`Atomics.wait`), so worker loops only. The main
 * thread waits through `Doorbell.waitAsync` instead (see the public `IdleStrategy` module).
 */
import type { Doorbell } from "./doorbell.ts"

export interface IdleStrategy {
  /** Called after each unit of work with the amount done; idles when it is 0. */
  idle(workCount: number): void
  /** Back to the most eager state (e.g. after a loop restarts). */
  reset(): void
}

/** `Atomics.pause` where the runtime has it (Node 24 does): a spin-wait hint to the CPU. */
const pause: () => void = typeof (Atomics as { pause?: () => void }).pause === "function"
  ? (Atomics as unknown as { pause: () => void }).pause
  : () => {}

/** Never sleeps: lowest latency, one core at 100%. For benchmarks and dedicated cores. */
export class BusySpinIdleStrategy implements IdleStrategy {
  idle(workCount: number): void {
    if (workCount <= 0) pause()
  }
  reset(): void {}
}

/** Does nothing at all between polls (tests, or a loop that paces itself). */
export class NoOpIdleStrategy implements IdleStrategy {
  idle(_workCount: number): void {}
  reset(): void {}
}

export interface BackoffOptions {
  /**
   * How long a loop keeps spinning (polling, with `Atomics.pause` between polls) after its last work
   * before its first park, in ns. Measured in time, not rounds, so that it means the same whatever a
   * round costs: a consumer whose producer hands it a batch every few µs stays up for the next one
   * (a park would cost the producer a futex wake per batch), while an idle loop parks after this long.
   * Default 50 µs; 0 parks at once.
   */
  readonly spinNs?: number
  /** Most spins before the first park, whichever of this and `spinNs` ends first. Default: no limit. */
  readonly maxSpins?: number
  /** First park timeout; each further empty poll doubles it. */
  readonly minParkNs?: number
  /**
   * Longest park; `Infinity` parks until rung. A pipeline's loops park until rung or due, with
   * {@link PARK_SAFETY_NET_NS} as the longest park unless this is set.
   */
  readonly maxParkNs?: number
  /**
   * How late the OS may end a timed park, in ns: the thread's timer slack, which a platform that can
   * set it applies to each stage thread (Node on Linux: `/proc/<tid>/timerslack_ns`; elsewhere it is
   * ignored). It trades latency for CPU in a loop that sleeps until its next arrival or timer: each
   * park ends up to this late (plus the wake-up itself), and the records due meanwhile are handled in
   * that one wake-up instead of one each. Default 20 µs (Linux's own is 50 µs); 1 µs for the least
   * lateness at the most wake-ups; `idle: "spin"` for none.
   */
  readonly timerSlackNs?: number
  /**
   * How long a loop with a paced source (one that says when its next record is due), on a thread of
   * its own, lets due records gather after a pass that took some, in ns, before it polls the source
   * again (a source edge, in a fiber, is polled as soon as it holds records): each record may come
   * up to this late, and a source of one record a µs is taken ~`pacedBatchNs / 1000` records a pass,
   * with a park between, instead of a pass (and its fixed cost) for every few records, back to back,
   * never parking. A pass that fills a whole batch polls again at once. Default 0: polled as soon as a
   * record is due, for the least latency (the engine's paced ingress); a feed whose records need not
   * arrive within µs of their time saves most of a core with 100 µs (the tick server's generator).
   */
  readonly pacedBatchNs?: number
}

export const BACKOFF_DEFAULTS = {
  spinNs: 50_000,
  maxSpins: Infinity,
  minParkNs: 1_000,
  maxParkNs: Infinity,
  timerSlackNs: 20_000,
  pacedBatchNs: 0
} as const

/**
 * Longest park of a pipeline's loop that waits to be rung: a safety net, not a poll. Every way work
 * reaches a loop rings its bell, so a park that lapses here and finds work is a wake-up that never
 * came: it is counted (`missedWakes`), and it costs the loop a second instead of hanging it. An idle
 * loop wakes once a second for it, as the main thread's waits do.
 */
export const PARK_SAFETY_NET_NS = 1e9

const SPINNING = 0
const PARKING = 1

/** This thread's monotonic clock in ns, for a strategy not given the loop's. */
const performanceNs = (): number => performance.now() * 1e6

/**
 * Spin for `spinNs` → short parks that double → park until rung. Every park goes through the doorbell
 * protocol (arm, re-check, wait), so even a short park is woken by the next publish, and peers only pay
 * for a notify while this side is actually parked.
 */
export class BackoffIdleStrategy implements IdleStrategy {
  // Fields the constructor sets are `declare`d: a plain declaration defines them as `undefined` first,
  // and the constructor's store then makes V8 treat them as mutable, reloaded and re-checked at every
  // use in a hot loop; stored once, they stay constant fields.
  declare readonly spinNs: number
  declare readonly maxSpins: number
  declare readonly minParkNs: number
  declare readonly maxParkNs: number
  /** Times this strategy parked (thread-local), for idle-cycle stats. */
  parkCount = 0
  /**
   * Parks with no deadline (until rung, bounded only by `maxParkNs`) that ran to their timeout and then
   * found work: the loop was not rung for it. Zero unless a wake-up was lost (or came later than
   * `maxParkNs`).
   */
  missedWakes = 0
  /**
   * Longest the next park may last, set by a loop that must be up again by then (a timer, a paced
   * source); `Infinity` for no such deadline. Parks are capped by it and by `maxParkNs`.
   */
  parkLimitNs = Infinity
  /**
   * The same as a time on the strategy's clock (`nowNs`), for a loop that knows when it is next due but
   * would rather not read the clock on every empty poll: read once, only when about to park.
   */
  parkUntilNs = Infinity
  /**
   * Asked for `parkUntilNs` only when about to park, for a loop whose deadline takes work to find (its
   * timers, a paced source, whether a full output blocks it): a spin round then costs a poll and a
   * pause, not that work too. Undefined: `parkUntilNs` as set.
   */
  parkUntil: (() => number) | undefined = undefined
  private state = SPINNING
  private spins = 0
  /** When the current spin phase began (the first empty idle after work). */
  private spinSinceNs = 0
  private declare parkNs: number
  private declare readonly bell: Doorbell
  private declare readonly hasWork: () => boolean
  private declare readonly nowNs: () => number

  /**
   * @param bell the bell peers ring when there is work for this loop
   * @param hasWork re-checks every input (and output space the loop waits for) after arming
   * @param nowNs the clock `spinNs` is measured with (a loop passes its own; default `performance.now()`)
   */
  constructor(bell: Doorbell, hasWork: () => boolean, options: BackoffOptions = {}, nowNs: () => number = performanceNs) {
    this.bell = bell
    this.hasWork = hasWork
    this.nowNs = nowNs
    this.spinNs = options.spinNs ?? BACKOFF_DEFAULTS.spinNs
    this.maxSpins = options.maxSpins ?? BACKOFF_DEFAULTS.maxSpins
    this.minParkNs = options.minParkNs ?? BACKOFF_DEFAULTS.minParkNs
    this.maxParkNs = options.maxParkNs ?? BACKOFF_DEFAULTS.maxParkNs
    if (!(this.spinNs >= 0)) throw new RangeError(`spinNs must be >= 0: spinNs=${this.spinNs}`)
    if (!(this.maxSpins >= 0)) throw new RangeError(`maxSpins must be >= 0: maxSpins=${this.maxSpins}`)
    if (!(this.minParkNs > 0 && this.maxParkNs >= this.minParkNs)) {
      throw new RangeError(
        `park bounds must satisfy 0 < minParkNs <= maxParkNs: minParkNs=${this.minParkNs} maxParkNs=${this.maxParkNs}`
      )
    }
    const slack = options.timerSlackNs
    if (slack !== undefined && !(Number.isInteger(slack) && slack >= 1)) {
      throw new RangeError(`timerSlackNs must be a positive integer: timerSlackNs=${slack}`)
    }
    this.parkNs = this.minParkNs
  }

  idle(workCount: number): void {
    if (workCount > 0) {
      if (this.state !== SPINNING || this.spins !== 0) this.reset()
      return
    }
    if (this.state === SPINNING) {
      if (this.spins < this.maxSpins && this.spinning()) {
        this.spins++
        pause()
        return
      }
      this.state = PARKING
    }
    this.park()
  }

  /** Is the spin phase's time budget left? Starts it on its first round. */
  private spinning(): boolean {
    if (this.spinNs === Infinity) return true
    const now = this.nowNs()
    if (this.spins === 0) this.spinSinceNs = now
    return now - this.spinSinceNs < this.spinNs
  }

  /**
   * Parks at once, without spinning first, until rung or for `parkLimitNs` / until `parkUntilNs` (at most
   * `maxParkNs`): for a loop that knows when its next work is due (a paced source) and would only burn
   * the spins.
   */
  parkUntilDue(): void {
    this.state = PARKING
    this.parkNs = this.maxParkNs
    this.park()
  }

  /** Parks once with the current timeout (doubling it for next time). */
  private park(): void {
    // The deadline before arming: the re-check after arming must be the last look at the loop's state
    // before the wait. Finding the deadline looks too (is a full output blocking the loop?), and a look
    // that found room lowers the ring's WANTS_ROOM: after the re-check, a consumer's release landing
    // just before that look went unrung (WANTS_ROOM was lowered before it loaded it), and the loop
    // slept with room in its ring, and its consumer then starved (a hang, until the safety net).
    const until = this.parkUntil === undefined ? this.parkUntilNs : this.parkUntil()
    this.bell.arm()
    if (this.hasWork()) {
      this.bell.disarm()
      return
    }
    this.parkCount++
    let ns = this.parkNs < this.parkLimitNs ? this.parkNs : this.parkLimitNs
    if (until !== Infinity) {
      const left = until - this.nowNs()
      ns = left < ns ? (left > 0 ? left : 0) : ns
    }
    const woke = this.bell.wait(ns === Infinity ? Infinity : ns / 1e6)
    this.bell.disarm()
    if (woke === "timed-out" && until === Infinity && this.parkLimitNs === Infinity && this.hasWork()) this.missedWakes++
    const next = this.parkNs * 2
    this.parkNs = next > this.maxParkNs ? this.maxParkNs : next
  }

  reset(): void {
    this.state = SPINNING
    this.spins = 0
    this.parkNs = this.minParkNs
  }
}
