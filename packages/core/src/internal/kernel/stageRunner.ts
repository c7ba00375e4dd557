/**
 * The loop that runs a chain of fused stages in one thread: `idle(doWork())` until the input ends.
 *
 * One pass: poll each input (fan-in, fairly) → the first stage's `onBatch` → fused stages downstream
 * through scratch batches → `onEndOfBatch` → timers when due → commit. A commit publishes outputs,
 * adds the pass's counters to the shared stats blocks, bumps HEARTBEAT, and only then releases the
 * input (all of it but what the first stage still retains). So a pass is all-or-nothing across a
 * thrown error: its unreleased input is delivered again, its unpublished outputs are forgotten, and
 * outputs a full ring forced out early are counted as DUPLICATED. A loop that never waits (a fiber)
 * spills what its full ring cannot take instead of waiting mid-pass; its pass then ends with the slice
 * and commits in a later one, once the ring has taken the spilled records (nothing else runs between).
 *
 * A throw is caught, counted and returned to the host (never a silent death, Agrona's
 * `AgentRunner.handleError`). After a crash in a batch of n > 1 records, the next run takes those n
 * records one at a time; a single record that crashes `maxRecordCrashes` times is quarantined to the
 * dead-letter ring with `STAGE_THREW_CODE` on the next start.
 *
 * Lifecycle: `open` runs each member's `onStart` in chain order before the first pass; every way out
 * of the loop — drained, crashed, aborted — runs `onClose` of each started member, last first. At a
 * commit, before anything is published, members that keep state take their `snapshotState`; a crash hands
 * the last committed ones to the restarted loop (`restoreState`), and counts STATE_LOST for a member that
 * keeps state and has no snapshot to hand on.
 */
import * as C from "./hostControlDescriptor.ts"
import { Doorbell } from "./doorbell.ts"
import {
  ABORTED,
  type AccountingEmitter,
  type DeadLetterWriter,
  ParkingSpaceWaiter,
  STAGE_THREW_CODE
} from "./emitters.ts"
import {
  BACKOFF_DEFAULTS,
  BackoffIdleStrategy,
  type BackoffOptions,
  BusySpinIdleStrategy,
  type IdleStrategy,
  PARK_SAFETY_NET_NS
} from "./idleStrategy.ts"
import { END_OF_STREAM, RingConsumer, type RingHandle, type RingProducer, ringView } from "./oneToOneRing.ts"
import type { CounterCells } from "./counters.ts"
import type { Layout, RecordView } from "./recordLayout.ts"
import { type CloseReason, SOURCE_EXHAUSTED, type SourceLogic, type StageLogic } from "./stageLogic.ts"
import type { StageStatsWriter } from "./stageStats.ts"
import * as S from "./stageStatsDescriptor.ts"

export interface ChainMember {
  readonly name: string
  readonly logic: StageLogic | SourceLogic
  readonly stats: StageStatsWriter
  readonly emitter: AccountingEmitter
  readonly hasTimer: boolean
  /** Its declared counters and gauges, published at each commit; undefined when it declares none. */
  readonly counters: CounterCells | undefined
  /** It declared that it keeps state a restart needs (`keepsState`). */
  readonly keepsState: boolean
  /** The snapshot it was restored from at this start, if any: handed on again if it crashes before a commit. */
  readonly restored: unknown
}

/** Member `member` could not be started: its module, its `make`, its `restoreState` or its `onStart` threw. */
export class StartFailure extends Error {
  declare readonly member: number
  constructor(member: number, cause: unknown) {
    super(errorMessage(cause))
    this.member = member
  }
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e))

export interface RunnerOptions {
  /** In order; a source, if any, is first. Emitters of all but the last feed the next member. */
  readonly members: ReadonlyArray<ChainMember>
  readonly inputs: ReadonlyArray<RingHandle>
  readonly inputLayout: Layout | undefined
  /** Rings this loop produces into and waits for when full (closed after the drain). */
  readonly outputs: ReadonlyArray<RingProducer>
  /** Rings it produces into and never waits for (a tee's dropping branches): closed after the drain. */
  readonly lossyOutputs?: ReadonlyArray<RingProducer>
  readonly deadLetters: DeadLetterWriter | undefined
  readonly control: SharedArrayBuffer
  /** This loop's bell: the consumer bell of its inputs and the producer bell of its outputs. */
  readonly bell: Doorbell
  readonly waiter: ParkingSpaceWaiter
  readonly batchSize: number
  readonly timerPeriodNs: number
  readonly idle: "spin" | BackoffOptions
  readonly maxRecordCrashes: number
  readonly nowNs: () => number
}

export type RunOutcome =
  | { readonly _tag: "Drained" }
  | { readonly _tag: "Aborted" }
  | {
    readonly _tag: "Crashed"
    readonly member: number
    readonly error: unknown
    /** Per member, the snapshot its restart restores (a structured clone), or undefined: start afresh. */
    readonly snapshots: ReadonlyArray<unknown>
  }

const isSource = (logic: StageLogic | SourceLogic): logic is SourceLogic => "onPoll" in logic

/** What `commit` needs to finish a pass once its outputs are all in the rings. */
interface Unsettled {
  readonly t0: number
  readonly t1: number
  readonly work: number
  readonly singleStep: number
  readonly draining: boolean
}

export class StageRunner {
  // Fields the constructor sets are `declare`d: a plain declaration defines them as `undefined` first,
  // and the constructor's store then makes V8 treat them as mutable, reloaded and re-checked at every
  // use in a hot loop; stored once, they stay constant fields.
  private declare readonly o: RunnerOptions
  private declare readonly consumers: ReadonlyArray<RingConsumer>
  private declare readonly views: ReadonlyArray<RecordView>
  private declare readonly control: Int32Array
  private declare readonly idle: IdleStrategy
  private declare readonly source: SourceLogic | undefined
  private declare readonly first: ChainMember
  private declare readonly last: ChainMember
  /** Member whose code is running, for crash attribution. */
  private current = 0
  private start = 0
  private declare nextTimerNs: number
  private declare readonly periodic: boolean
  /** See `BackoffOptions.pacedBatchNs`. */
  private declare readonly pacedBatchNs: number
  /** A paced source is not polled before this (pipeline time): its due records gather meanwhile. */
  private sourceNotBeforeNs = -Infinity
  /**
   * Does this loop let a paced source's records gather (`pacedBatchNs`)? Only a loop that runs on its
   * own thread (`run`): a fiber host's source is an edge (due while its queue holds records), whose
   * writers pump a pass at once, and a fiber host would wait for the event loop's timers.
   */
  private gathering = false
  private declare readonly wakers: ReadonlyArray<StageLogic>
  /** Has a member with a timer (the periodic tick, or its own deadlines): an empty pass may fire it. */
  private declare readonly timed: boolean
  private declare ended: Array<boolean>
  private sourceDone = false
  private polledThisPass = 0
  private declare deliveredThisPass: Float64Array
  /** Records left in a quarantined record's run before it (its retained predecessors). */
  private quarantineAt = -1
  private deliveredSinceStart = 0
  private parksCommitted = 0
  private wakesCommitted = 0
  private missedWakesCommitted = 0
  private begun = false
  /** Members whose onStart returned, from the first: the ones to close. */
  private opened = 0
  /** Members that have a snapshot hook (then every commit takes snapshots). */
  private declare readonly snapshotting: boolean
  /** Per member, its last committed snapshot (or what it was restored from); undefined: fresh state. */
  private declare readonly snapshots: Array<unknown>
  private declare readonly pendingSnapshots: Array<unknown>
  /** Per member: a committed pass since this start changed its state (input, or a timer). */
  private declare readonly worked: Uint8Array
  private timersFired = false
  /** How a pass run by `pumpPass` ended the loop (a crash): the next `runSlice` returns it. */
  private pendingOutcome: RunOutcome | undefined
  /** A pass whose code is done and whose spilled outputs wait for room before it commits. */
  private unsettled: Unsettled | undefined
  /**
   * When the pass being committed started and when its code ended (`t1`; the next pass's start, if that
   * one follows at once). Fields, not arguments: a double passed to a call that is not inlined is boxed,
   * 16 bytes of garbage each, several a pass.
   */
  private passStartNs = 0
  private passEndNs = 0

  constructor(options: RunnerOptions) {
    this.o = options
    if (options.members.length === 0) throw new RangeError("a chain needs at least one stage")
    this.first = options.members[0]!
    this.last = options.members[options.members.length - 1]!
    this.source = isSource(this.first.logic) ? this.first.logic : undefined
    this.consumers = options.inputs.map((h) => new RingConsumer(h))
    this.views = options.inputLayout === undefined ? [] : options.inputs.map((h) => ringView(h, options.inputLayout!))
    this.ended = options.inputs.map(() => false)
    this.control = new Int32Array(options.control)
    this.deliveredThisPass = new Float64Array(options.members.length)
    this.idle = options.idle === "spin"
      ? new BusySpinIdleStrategy()
      : new BackoffIdleStrategy(options.bell, () => this.hasWork(), {
        ...options.idle,
        // Every way work reaches a loop rings its bell (a publish, a release, a stop), and its deadlines
        // bound each park (`parkUntil`): after the spin phase it parks until rung or due, once. Short
        // timed parks first would wake it, at a wake-up's CPU each, only to find nothing and park again.
        // The safety net bounds what a lost wake-up would cost, and counts it.
        minParkNs: options.idle.minParkNs ?? options.idle.maxParkNs ?? PARK_SAFETY_NET_NS,
        maxParkNs: options.idle.maxParkNs ?? PARK_SAFETY_NET_NS
      }, options.nowNs)
    if (this.idle instanceof BackoffIdleStrategy) {
      // Blocked on a full output, only the consumer's ring can help: being due changes nothing until then.
      this.idle.parkUntil = () => (this.blocked() ? Infinity : this.wakeAtNs())
    }
    this.pacedBatchNs = options.idle === "spin" ? 0 : (options.idle.pacedBatchNs ?? BACKOFF_DEFAULTS.pacedBatchNs)
    if (!(this.pacedBatchNs >= 0)) throw new RangeError(`pacedBatchNs must be >= 0: pacedBatchNs=${this.pacedBatchNs}`)
    this.nextTimerNs = options.nowNs() + options.timerPeriodNs
    // Members with a timer but no nextWakeNs need the periodic tick; the others say when they are due.
    this.periodic = options.members.some((m) => m.hasTimer && (m.logic as StageLogic).nextWakeNs === undefined)
    this.wakers = options.members
      .filter((m) => m.hasTimer && (m.logic as StageLogic).nextWakeNs !== undefined)
      .map((m) => m.logic as StageLogic)
    this.timed = this.periodic || this.wakers.length > 0
    this.snapshotting = options.members.some((m) => m.logic.snapshotState !== undefined)
    this.snapshots = options.members.map((m) => m.restored)
    this.pendingSnapshots = options.members.map(() => undefined)
    this.worked = new Uint8Array(options.members.length)
  }

  /**
   * Runs each member's `onStart`, in chain order. If one throws, the members already started are
   * closed (`"crashed"`) and a `StartFailure` naming it is thrown.
   */
  open(): void {
    const members = this.o.members
    for (let i = 0; i < members.length; i++) {
      const logic = members[i]!.logic
      if (logic.onStart !== undefined) {
        try {
          logic.onStart()
        } catch (e) {
          this.close("crashed")
          throw new StartFailure(i, e)
        }
      }
      this.opened = i + 1
    }
  }

  /**
   * Closes every started member, last first, each once. Returns the first throw (and its member), or
   * undefined; a throw does not keep the others from closing.
   */
  private close(reason: CloseReason): { readonly member: number; readonly error: unknown } | undefined {
    const members = this.o.members
    let failure: { readonly member: number; readonly error: unknown } | undefined
    for (let i = this.opened - 1; i >= 0; i--) {
      const logic = members[i]!.logic
      if (logic.onClose === undefined) continue
      try {
        logic.onClose(reason)
      } catch (error) {
        failure ??= { member: i, error }
      }
    }
    this.opened = 0
    return failure
  }

  /**
   * The host gave up on the loop between passes (a fiber interrupted): closes every started member as
   * aborted and marks them stopped. Nothing of the unfinished work was committed.
   */
  abandon(): void {
    this.close("aborted")
    this.commitParks()
    for (const m of this.o.members) {
      m.stats.setState(S.StageState.Stopped)
      m.stats.heartbeat()
    }
  }

  /** Delivers a batch to member `i` (the fused path calls this from the previous member's emitter). */
  deliver(i: number, view: RecordView, start: number, count: number): void {
    const m = this.o.members[i]!
    const previous = this.current
    this.current = i
    this.deliveredThisPass[i]! += count
    ;(m.logic as StageLogic).onBatch(view, start, count, m.emitter)
    this.current = previous
  }

  /** Earliest pipeline time a timer is due: the periodic tick, or a member's own deadline. */
  private timerDueNs(): number {
    let due = this.periodic ? this.nextTimerNs : Infinity
    for (let i = 0; i < this.wakers.length; i++) {
      const t = this.wakers[i]!.nextWakeNs!()
      if (t < due) due = t
    }
    return due
  }

  /** Earliest pipeline time this loop must be up without being rung: a timer or a paced source. */
  wakeAtNs(): number {
    let due = this.timerDueNs()
    if (this.source !== undefined && !this.sourceDone && this.source.nextWakeNs !== undefined) {
      const t = this.sourceDueNs()
      if (t < due) due = t
    }
    return due
  }

  /** When the paced source is next worth a poll: its next record's time, not before `sourceNotBeforeNs`. */
  private sourceDueNs(): number {
    const t = this.source!.nextWakeNs!()
    return t > this.sourceNotBeforeNs ? t : this.sourceNotBeforeNs
  }

  /**
   * A full output means nothing can move until the consumer releases (it rings this bell); so does a
   * full dead-letter ring (the control plane's reader rings it).
   */
  private blocked(): boolean {
    for (let i = 0; i < this.o.outputs.length; i++) if (this.o.outputs[i]!.room(1) === 0) return true
    return this.o.deadLetters !== undefined && this.o.deadLetters.producer.room(1) === 0
  }

  private hasWork(): boolean {
    if (Atomics.load(this.control, C.ABORT_INDEX) !== 0) return true
    if (this.unsettled !== undefined) return this.last.emitter.canSettle()
    if (this.blocked()) return false
    const now = this.o.nowNs()
    if (this.timerDueNs() <= now) return true
    if (this.source !== undefined) {
      if (this.sourceDone || Atomics.load(this.control, C.STOP_INDEX) !== 0) return true
      return this.source.nextWakeNs === undefined || this.sourceDueNs() <= now
    }
    for (let i = 0; i < this.consumers.length; i++) {
      if (!this.ended[i] && this.consumers[i]!.hasWork()) return true
    }
    return false
  }

  /** Marks the members running and picks up a pending quarantine. Once per (re)start. */
  private begin(): void {
    if (this.begun) return
    this.begun = true
    for (const m of this.o.members) m.stats.setState(S.StageState.Running)
    // The suspect follows the records the first member retained when it crashed: those come first.
    this.quarantineAt = Atomics.load(this.control, C.QUARANTINE_INDEX) !== 0
      ? this.first.stats.get(S.RETAINED_OFFSET)
      : -1
  }

  /**
   * Runs to the end on this thread, idling with the idle strategy (worker threads).
   *
   * A loop whose source is paced (it says when its next record is due) does not spin between records:
   * nothing can reach it before then but a ring of its bell (a stop, room in a full output), so it
   * parks at once, until the source or a timer is due. Spinning there would burn a core to catch
   * records whose arrival time the loop already knows.
   */
  run(): RunOutcome {
    const backoff = this.idle instanceof BackoffIdleStrategy ? this.idle : undefined
    const paced = this.source?.nextWakeNs !== undefined
    this.gathering = paced && this.pacedBatchNs > 0
    for (;;) {
      const r = this.runSlice(Infinity)
      if (typeof r !== "number") return r
      if (backoff === undefined) {
        if (paced && !this.sourceDone && this.unsettled === undefined && !this.blocked()) this.spinUntil(this.wakeAtNs())
        else this.idle.idle(0)
        continue
      }
      // Each park lasts no longer than until a timer or the source is due (if neither, until rung): the
      // backoff asks `parkUntil` when it parks, so a spin round is a pass and a pause, as with "spin".
      if (paced) backoff.parkUntilDue()
      else backoff.idle(0)
    }
  }

  /**
   * Spinning with a live paced source: spins on the clock until the source or a timer is due (or a stop
   * or an abort), instead of running empty passes. Nothing else can give the loop work before then, and an
   * empty pass asks every stage for its clock and deadlines: doubles boxed on the heap, millions a
   * second, a young-generation collection (a pause of the loop) every second or so.
   */
  private spinUntil(dueNs: number): void {
    const nowNs = this.o.nowNs
    const control = this.control
    while (
      nowNs() < dueNs && Atomics.load(control, C.STOP_INDEX) === 0 && Atomics.load(control, C.ABORT_INDEX) === 0
    ) this.idle.idle(0)
  }

  /**
   * Runs up to `maxPasses` passes without idling (a fiber on the main thread between yields). Returns
   * the outcome when the loop ended, else the records handled by the last pass (0: nothing to do,
   * wait for the bell before calling again).
   */
  runSlice(maxPasses: number): RunOutcome | number {
    if (this.pendingOutcome !== undefined) return this.pendingOutcome
    this.begin()
    try {
      let work = 0
      // A loop fed by rings that runs passes back to back starts each where the one before ended: one
      // clock read a pass, not two (a read costs ~0.1 µs in a worker, ~0.5 ns a record at batch 256).
      // A source reads the clock afresh: its records may be due by the time it polls. (A chained pass's
      // latency sample then covers the commit of the pass before it: the samples tile the busy time.)
      let chained = false
      for (let i = 0; i < maxPasses; i++) {
        if (Atomics.load(this.control, C.ABORT_INDEX) !== 0) return this.finish({ _tag: "Aborted" })
        const unsettled = this.unsettled
        if (unsettled !== undefined) {
          // Its outputs still do not all fit: wait for their consumers (they ring this loop's bell).
          if (!this.settle(unsettled)) return 0
          if (unsettled.draining) return this.endDrain()
          work = unsettled.work
          continue
        }
        work = this.pass(chained)
        if (work === END_OF_STREAM) {
          this.drain()
          return this.unsettled === undefined ? this.endDrain() : 0
        }
        if (work === 0 || this.unsettled !== undefined) return 0
        if (maxPasses === Infinity) this.idle.idle(work)
        chained = this.source === undefined
      }
      return work
    } catch (error) {
      if (error === ABORTED) return this.finish({ _tag: "Aborted" })
      return this.crashed(error)
    }
  }

  /** For a fiber host: is there anything to do now (re-check after arming the bell)? */
  ready(): boolean {
    return this.pendingOutcome !== undefined || this.hasWork()
  }

  /**
   * One pass of a source loop run now, between slices, by the code that just handed its source
   * records (a source edge's writer on the fiber host's thread), so that they go straight on instead
   * of waiting for the loop's next slice. Returns the records the pass took, or 0 when the loop must
   * go its own way (not started yet, stopping, aborting, ended, or crashed in this pass: the next
   * `runSlice` returns that outcome).
   */
  pumpPass(): number {
    if (!this.begun || this.source === undefined || this.sourceDone || this.pendingOutcome !== undefined) return 0
    if (this.unsettled !== undefined) return 0
    if (Atomics.load(this.control, C.ABORT_INDEX) !== 0 || Atomics.load(this.control, C.STOP_INDEX) !== 0) return 0
    try {
      const work = this.pass()
      return work === END_OF_STREAM ? 0 : work
    } catch (error) {
      this.pendingOutcome = error === ABORTED ? this.finish({ _tag: "Aborted" }) : this.crashed(error)
      return 0
    }
  }

  /** Polls the source; a paced one that caught up (fewer than `max` records) is next polled `pacedBatchNs` on. */
  private poll(t0: number, max: number): number {
    const source = this.source!
    this.current = 0
    const n = source.onPoll(t0, max, this.first.emitter)
    if (this.gathering && n > 0 && n < max) this.sourceNotBeforeNs = t0 + this.pacedBatchNs
    return n
  }

  /**
   * One pass; returns the records handled, or END_OF_STREAM when input (or the source) is done.
   * `chained`: it follows the pass before at once, so it starts at that pass's end (`passEndNs`); else it
   * reads the clock. (A flag, not the time: a double argument would be boxed on every call.)
   */
  private pass(chained = false): number {
    const o = this.o
    const singleStep = Atomics.load(this.control, C.SINGLE_STEP_INDEX)
    let max = singleStep > 0 || this.quarantineAt >= 0 ? 1 : o.batchSize
    // Take no more than the outputs can hold, so a 1:1 pass never waits for space mid-pass (a fiber
    // host must not block; a worker then never publishes early). A full output: nothing to do.
    for (let i = 0; i < o.outputs.length; i++) {
      const room = o.outputs[i]!.room(max)
      if (room < max) max = room
    }
    // Nor more than the dead-letter ring can take, should every record fail: the reader of that ring
    // is the control plane, on the main thread, which a fiber host must never wait for.
    if (o.deadLetters !== undefined) {
      const room = o.deadLetters.producer.room(max)
      if (room < max) max = room
    }
    if (max === 0) return 0
    // A loop fed by rings reads its start only once a poll finds records: a waiting loop polls empty
    // rings millions of times a second, and each clock read boxes a double (16 bytes): garbage whose
    // collections run V8 helper threads on the cores the busy loops need.
    let t0 = chained ? this.passEndNs : NaN
    let work = 0
    this.polledThisPass = 0
    if (this.source !== undefined) {
      if (Number.isNaN(t0)) t0 = o.nowNs()
      if (!this.sourceDone && Atomics.load(this.control, C.STOP_INDEX) !== 0) this.sourceDone = true
      if (this.sourceDone) return END_OF_STREAM
      // A paced source that was just polled is left to gather records (a pass woken by a timer, say).
      const n = t0 < this.sourceNotBeforeNs ? 0 : this.poll(t0, max)
      if (n === SOURCE_EXHAUSTED) {
        this.sourceDone = true
      } else {
        work = n
        this.deliveredThisPass[0]! += n
      }
    } else {
      const k = this.consumers.length
      let live = 0
      for (let j = 0; j < k; j++) {
        const i = (this.start + j) % k
        if (this.ended[i]) continue
        const c = this.consumers[i]!
        const n = c.poll(max - work)
        if (n === END_OF_STREAM) {
          this.ended[i] = true
          continue
        }
        if (n === 0) {
          // Closed with records still retained (unreleased) by the first member: the input is over.
          if (c.isExhausted()) this.ended[i] = true
          else live++
          continue
        }
        live++
        if (Number.isNaN(t0)) t0 = o.nowNs()
        if (this.deliveredSinceStart === this.quarantineAt) {
          this.quarantine(this.views[i]!, c.readIndex)
          work += 1
          break
        }
        this.deliveredSinceStart += n
        this.polledThisPass += n
        this.deliver(0, this.views[i]!, c.readIndex, n)
        work += n
        if (work >= max) break
      }
      this.start = (this.start + 1) % k
      if (live === 0 && work === 0) return END_OF_STREAM
    }
    if (work > 0) {
      // End of batch in chain order: each member's batch reaches the next member's onBatch before
      // that member's onEndOfBatch, exactly as a ring between them would deliver it.
      const members = this.o.members
      for (let i = 0; i < members.length; i++) {
        const m = members[i]!
        if (i > 0 || this.source === undefined) {
          const logic = m.logic as StageLogic
          if (logic.onEndOfBatch !== undefined) {
            this.current = i
            logic.onEndOfBatch(m.emitter)
          }
        }
        if (i < members.length - 1) m.emitter.flush()
      }
    }
    this.timersFired = false
    // Nothing came and nothing is to commit: the end is read only if a timer may be due.
    if (work === 0 && !this.timed && !this.anyPending()) return 0
    const t1 = o.nowNs()
    this.passEndNs = t1
    if (Number.isNaN(t0)) t0 = t1
    if (t1 >= this.timerDueNs()) {
      this.fireTimers(t1)
      this.nextTimerNs = t1 + o.timerPeriodNs
      this.timersFired = true
    }
    // A timer may have changed state without emitting: a stage with snapshots commits it too.
    this.passStartNs = t0
    if (work > 0 || this.anyPending() || (this.timersFired && this.snapshotting)) this.commit(work, singleStep)
    return work
  }

  /** Dead-letters the suspect (polled alone, in place of delivering it) as the first member's failure. */
  private quarantine(view: RecordView, slot: number): void {
    this.first.emitter.deadLetter(STAGE_THREW_CODE, view, slot)
    this.deliveredThisPass[0]! += 1
    this.deliveredSinceStart += 1
    this.quarantineAt = -1
    Atomics.store(this.control, C.QUARANTINE_INDEX, 0)
    Atomics.store(this.control, C.SUSPECT_CRASHES_INDEX, 0)
  }

  private anyPending(): boolean {
    for (const m of this.o.members) {
      const e = m.emitter
      if (e.emittedDelta !== 0 || e.droppedDelta !== 0 || e.deadDelta !== 0 || e.writtenDelta !== 0) return true
    }
    return false
  }

  private fireTimers(now: number): void {
    const members = this.o.members
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!
      if (m.hasTimer) {
        this.current = i
        m.logic.onTimer!(now, m.emitter)
      }
    }
  }

  /**
   * Ends a pass: the stage code still to run (fused hand-offs of what timers emitted, snapshots) runs
   * first, so a throw there undoes the pass like any other; then outputs are published, counts
   * committed, and input released. Outputs spilled by a full ring (a loop that never waits) must be in
   * the ring first: until then the pass is `unsettled`, and `runSlice` finishes it (`settle`).
   */
  private commit(work: number, singleStep: number, draining = false): void {
    const members = this.o.members
    const last = members.length - 1
    for (let i = 0; i < last; i++) members[i]!.emitter.flush()
    if (this.snapshotting) this.takeSnapshots(draining)
    members[last]!.emitter.flush()
    if (!this.last.emitter.settle()) {
      this.unsettled = { t0: this.passStartNs, t1: this.passEndNs, work, singleStep, draining }
      return
    }
    this.record(work, singleStep)
  }

  /** Commits an unsettled pass once its spilled outputs are all in the rings; false while they are not. */
  private settle(unsettled: Unsettled): boolean {
    if (!this.last.emitter.settle()) return false
    this.unsettled = undefined
    this.passStartNs = unsettled.t0
    this.passEndNs = unsettled.t1
    this.record(unsettled.work, unsettled.singleStep)
    return true
  }

  /** A pass's outputs are all published: its counts are committed, and its input released. */
  private record(work: number, singleStep: number): void {
    const members = this.o.members
    const t0 = this.passStartNs
    const t1 = this.passEndNs
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!
      const delivered = this.deliveredThisPass[i]!
      if (delivered !== 0) {
        m.stats.add(S.IN_OFFSET, delivered)
        m.stats.add(S.BATCHES_OFFSET, 1)
        m.stats.latency(t1 - t0, delivered)
        this.deliveredThisPass[i] = 0
        this.worked[i] = 1
      } else if (this.timersFired && m.hasTimer) {
        this.worked[i] = 1
      }
      m.emitter.commit(m.stats)
      const logic = m.logic as StageLogic
      m.stats.set(S.RETAINED_OFFSET, logic.retained !== undefined ? logic.retained() : 0)
      m.stats.set(S.LAST_COMMIT_NS_OFFSET, t1)
      if (m.counters !== undefined) m.counters.commit()
      m.stats.heartbeat()
    }
    this.commitParks()
    this.releaseInputs()
    if (singleStep > 0 && work > 0) {
      Atomics.store(this.control, C.SINGLE_STEP_INDEX, Math.max(0, singleStep - work))
      Atomics.store(this.control, C.SUSPECT_CRASHES_INDEX, 0)
    }
  }

  /**
   * Takes the snapshot of every member with a hook whose state this pass may have changed; they replace
   * the committed ones only once all were taken (a throw leaves the last commit's).
   */
  private takeSnapshots(draining: boolean): void {
    const members = this.o.members
    const pending = this.pendingSnapshots
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!
      const logic = m.logic
      if (logic.snapshotState === undefined) continue
      if (draining || this.deliveredThisPass[i]! > 0 || (this.timersFired && m.hasTimer)) {
        this.current = i
        pending[i] = logic.snapshotState()
      } else {
        pending[i] = this.snapshots[i]
      }
    }
    for (let i = 0; i < members.length; i++) {
      if (members[i]!.logic.snapshotState !== undefined) this.snapshots[i] = pending[i]
      pending[i] = undefined
    }
  }

  /**
   * Idle cycles that parked, and wake-ups of parked peers, belong to the loop; they are shown on its
   * first member.
   */
  private commitParks(): void {
    const parks = this.idle instanceof BackoffIdleStrategy ? this.idle.parkCount : 0
    if (parks !== this.parksCommitted) {
      this.first.stats.add(S.PARKS_OFFSET, parks - this.parksCommitted)
      this.parksCommitted = parks
    }
    const wakes = this.wakes()
    if (wakes !== this.wakesCommitted) {
      this.first.stats.add(S.WAKES_OFFSET, wakes - this.wakesCommitted)
      this.wakesCommitted = wakes
    }
    const missed = this.idle instanceof BackoffIdleStrategy ? this.idle.missedWakes : 0
    if (missed !== this.missedWakesCommitted) {
      this.first.stats.add(S.MISSED_WAKES_OFFSET, missed - this.missedWakesCommitted)
      this.missedWakesCommitted = missed
    }
  }

  /** `Atomics.notify` calls of this loop's ring ends so far: releases that woke a producer, publishes a consumer. */
  private wakes(): number {
    let n = 0
    const consumers = this.consumers
    for (let i = 0; i < consumers.length; i++) n += consumers[i]!.producerBell.notifyCount
    const outputs = this.o.outputs
    for (let i = 0; i < outputs.length; i++) n += outputs[i]!.consumerBell.notifyCount
    const lossy = this.o.lossyOutputs
    if (lossy !== undefined) for (let i = 0; i < lossy.length; i++) n += lossy[i]!.consumerBell.notifyCount
    if (this.o.deadLetters !== undefined) n += this.o.deadLetters.producer.consumerBell.notifyCount
    return n
  }

  /** Releases everything polled, except (with one input) what the first member still retains. */
  private releaseInputs(): void {
    const consumers = this.consumers
    if (consumers.length === 1) {
      const c = consumers[0]!
      const logic = this.first.logic as StageLogic
      const retained = logic.retained !== undefined ? logic.retained() : 0
      const releasable = c.inFlight() - retained
      if (releasable > 0) c.release(releasable)
    } else {
      for (const c of consumers) {
        const n = c.inFlight()
        if (n > 0) c.release(n)
      }
    }
  }

  private drain(): void {
    const members = this.o.members
    for (const m of members) m.stats.setState(S.StageState.Draining)
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!
      this.current = i
      m.logic.onDrain?.(m.emitter)
      // Push this member's flush into the next member before that one drains.
      m.emitter.flush()
    }
    this.passStartNs = this.o.nowNs()
    this.passEndNs = this.o.nowNs()
    this.commit(0, 0, true)
  }

  /** After the drain's commit: releases what was retained (everything is emitted), closes the outputs. */
  private endDrain(): RunOutcome {
    for (const c of this.consumers) {
      const n = c.inFlight()
      if (n > 0) c.release(n)
    }
    for (const p of this.o.outputs) p.close()
    for (const p of this.o.lossyOutputs ?? []) p.close()
    if (this.o.deadLetters !== undefined) this.o.deadLetters.producer.close()
    return this.finish({ _tag: "Drained" })
  }

  private finish(outcome: Exclude<RunOutcome, { readonly _tag: "Crashed" }>): RunOutcome {
    const failure = this.close(outcome._tag === "Drained" ? "drained" : "aborted")
    // A close that throws is a crash of its stage: the supervisor decides (a restart after a drain
    // finds the input ended and drains again, closing again).
    if (failure !== undefined) {
      this.current = failure.member
      // No record is to blame: nothing to single-step.
      this.polledThisPass = 0
      return this.crashed(failure.error)
    }
    const state = outcome._tag === "Drained" ? S.StageState.Done : S.StageState.Stopped
    this.commitParks()
    for (const m of this.o.members) {
      // What onClose counted after the drain's commit; an aborted pass commits nothing.
      if (outcome._tag === "Drained" && m.counters !== undefined) m.counters.commit()
      m.stats.setState(state)
      m.stats.heartbeat()
    }
    return outcome
  }

  private crashed(error: unknown): RunOutcome {
    const members = this.o.members
    const member = this.current
    this.unsettled = undefined
    // Everything this pass did is undone: unreleased input comes again, unpublished output is gone.
    let inFlight = 0
    for (const c of this.consumers) {
      inFlight += c.inFlight()
      c.rewind()
    }
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!
      const early = m.emitter.reset()
      if (early > 0) m.stats.add(S.DUPLICATED_OFFSET, early)
      m.emitter.discardDeltas()
      this.deliveredThisPass[i] = 0
      // State held by members after the first is gone with the logic; the first's is redelivered.
      if (i > 0 || this.consumers.length !== 1) m.stats.add(S.LOST_OFFSET, m.stats.get(S.RETAINED_OFFSET))
      if (i > 0 || this.consumers.length !== 1) m.stats.set(S.RETAINED_OFFSET, 0)
    }
    // Dead letters already published stay published: they are at-least-once across a crash.
    this.commitParks()
    // Records the first member retained were counted in IN when first delivered; they come again.
    if (this.consumers.length === 1) members[0]!.stats.add(S.REDELIVERED_OFFSET, members[0]!.stats.get(S.RETAINED_OFFSET))
    members[0]!.stats.set(S.RETAINED_OFFSET, 0)
    // Narrow down a poison record: a batch crash → single-step it; a single-record crash → count it.
    if (this.polledThisPass > 1) {
      Atomics.store(this.control, C.SINGLE_STEP_INDEX, inFlight)
      Atomics.store(this.control, C.SUSPECT_CRASHES_INDEX, 0)
    } else if (this.polledThisPass === 1) {
      const crashes = Atomics.add(this.control, C.SUSPECT_CRASHES_INDEX, 1) + 1
      if (crashes >= this.o.maxRecordCrashes) Atomics.store(this.control, C.QUARANTINE_INDEX, 1)
    }
    const snapshots = this.handOver()
    // Closed after the accounting: the stage's resources go before the loop restarts.
    const failure = this.close("crashed")
    const reported = failure === undefined || failure.error === error
      ? error
      : new Error(`${errorMessage(error)}\n(and onClose of ${members[failure.member]!.name} threw: ${errorMessage(failure.error)})`)
    for (const m of members) {
      m.stats.setState(S.StageState.Crashed)
      m.stats.heartbeat()
    }
    return { _tag: "Crashed", member, error: reported, snapshots }
  }

  /**
   * What each member's restart restores: its last committed snapshot, cloned (it may cross to another
   * thread, and the crashed logic must not share it). A member that keeps state and worked since its
   * start but has nothing to hand on — no hooks, or a snapshot that cannot be cloned — counts
   * STATE_LOST: its restart is not silent.
   */
  private handOver(): ReadonlyArray<unknown> {
    const members = this.o.members
    return members.map((m, i) => {
      const logic = m.logic
      const snapshot = this.snapshots[i]
      const hooks = logic.snapshotState !== undefined && logic.restoreState !== undefined
      if (hooks && snapshot !== undefined) {
        try {
          return structuredClone(snapshot)
        } catch {
          m.stats.add(S.STATE_LOST_OFFSET, 1)
          return undefined
        }
      }
      if (m.keepsState && !hooks && this.worked[i] === 1) m.stats.add(S.STATE_LOST_OFFSET, 1)
      return undefined
    })
  }
}
