/**
 * What a stage's logic looks like to the loop that runs it (kernel types; no `effect` import).
 *
 * A stage's logic handles batches of input slots and emits output slots through an `Emitter`. The
 * same logic runs fused into a neighbour's loop (its emitter hands records straight to the next stage),
 * in its own worker (its emitter claims slots in the output ring), or in a fiber: placement decides
 * the emitter, never the logic.
 *
 * Accounting is part of the contract: every input record a stage receives ends up in exactly one of
 * `emit(accounts)` (possibly many inputs in one output, e.g. a bundle), `account(n)` (delivered with no
 * output record: sinks), `drop(reason)`, `deadLetter(code)`, or `retained()` (still held in state).
 */
import type { FieldSpec, Layout, RecordView } from "./recordLayout.ts"

export interface Emitter<O extends FieldSpec = FieldSpec> {
  /** Where emitted records are written: `view.fields.x.set(slot, v)` for the slot `emit` returned. */
  readonly view: RecordView<O>
  /**
   * Claims the next output slot and counts `accounts` inputs (default 1) as emitted by it. Write
   * every field of the slot before the next `emit` or before returning. Waits while downstream is full.
   */
  emit(accounts?: number): number
  /**
   * Emits input records `start .. start + count - 1` of `input` unchanged, each one output accounting
   * for one input: what `count` rounds of `emit()` and a one-record `copyRecords` do, but copied in
   * contiguous runs (a pass-through, the kept runs of a filter). `input` must have the output's record
   * size. Waits while downstream is full.
   */
  forward(input: RecordView, start: number, count: number): void
  /** Counts `count` inputs as delivered without an output record (a sink's writes, a merge). */
  account(count: number): void
  /** Counts `count` inputs (default 1) as dropped for `reason` (an index into the stage's `dropReasons`). */
  drop(reason: number, count?: number): void
  /** Sends the input record at `slot` of `input` to the dead-letter ring with `code` (an index into the stage's `errors`). */
  deadLetter(code: number, input: RecordView, slot: number): void
}

/** Why a loop closes a stage's logic: see {@link Lifecycle.onClose}. */
export type CloseReason = "drained" | "crashed" | "aborted"

/**
 * Hooks every logic may have besides its work, each run by the loop in the stage's own thread (its
 * worker, the loop it is fused into, or its fiber).
 */
export interface Lifecycle {
  /**
   * After `make` (and `restoreState`), before the first pass: acquire what the stage needs (open a file, a
   * socket). A throw fails the start, which a restart would repeat: the run fails (`StartFailed`).
   */
  onStart?(): void
  /**
   * Once for every `onStart` that returned (or, without `onStart`, once per logic): after the drain
   * (`"drained"`), after a throw and before the loop restarts (`"crashed"`), or when the loop is told to
   * abort (`"aborted"`). Release what `onStart` acquired, so no restart leaks a descriptor. Members of a
   * fused loop close in reverse chain order. A throw here is a crash of the stage. Not run when the
   * thread itself is killed (nothing of it runs any more).
   */
  onClose?(reason: CloseReason): void
  /**
   * For a stage that keeps state (`keepsState`): the state a restart needs, at the end of a pass the
   * loop commits (its input released, its outputs published). Called at each such commit, in the
   * stage's thread; return a value the logic no longer changes (a copy, or one of two buffers used in
   * turn: the previous value may be reused once this one is returned), structured-cloneable (it may
   * cross to the thread of the restarted loop). Keep it cheap: it runs once per pass.
   */
  snapshotState?(): unknown
  /** After `make`, before `onStart`, on a restart: continue from the last committed `snapshotState()`. */
  restoreState?(snapshot: unknown): void
}

/** Logic of a stage with an input and (unless it is a sink) an output. */
export interface StageLogic<I extends FieldSpec = FieldSpec, O extends FieldSpec = FieldSpec> extends Lifecycle {
  /** Handles input slots `start .. start + count - 1` of `input`. */
  onBatch(input: RecordView<I>, start: number, count: number, out: Emitter<O>): void
  /** Once per loop pass that handled input, after its last `onBatch` (Disruptor's endOfBatch). */
  onEndOfBatch?(out: Emitter<O>): void
  /** At least every `timerPeriodNs` of the definition, with the pipeline clock. */
  onTimer?(nowNs: number, out: Emitter<O>): void
  /** After the input ended: emit (or drop) everything still held. `retained()` must be 0 after. */
  onDrain?(out: Emitter<O>): void
  /** Inputs held in state and not yet emitted, dropped or dead-lettered (default 0). */
  retained?(): number
  /**
   * The pipeline time at which `onTimer` next has work (e.g. an open bundle's deadline), or
   * `Infinity` for none. Without it, `onTimer` runs every `timerPeriodNs`; with it, an idle loop
   * sleeps until the earliest such time instead of waking every period.
   */
  nextWakeNs?(): number
}

/** Logic of a source: produces records from nothing (a generator, a feed). */
export interface SourceLogic<O extends FieldSpec = FieldSpec> extends Lifecycle {
  /**
   * Produces up to `max` records now; returns how many it produced (0: none ready, the loop may idle),
   * or -1 when it is exhausted (the loop then drains and closes the output).
   */
  onPoll(nowNs: number, max: number, out: Emitter<O>): number
  onTimer?(nowNs: number, out: Emitter<O>): void
  onDrain?(out: Emitter<O>): void
  /**
   * The pipeline time at which the next record is due (a paced source), or `Infinity` when nothing is
   * due until someone rings the loop. Without it a source is polled continuously, so its loop never
   * parks; with it, the loop parks until then.
   */
  nextWakeNs?(): number
}

/** A count that only grows, updated from the hot loop without allocating (`context.counters.x`). */
export interface Counter {
  readonly name: string
  /** Adds `n` (≥ 0; a negative or NaN `n` throws `RangeError`). */
  add(n: number): void
  increment(): void
  /** The count, this pass's updates included. */
  get(): number
}

/** A value set to anything — a level, a size, a checksum — from the hot loop (`context.gauges.x`). */
export interface Gauge {
  readonly name: string
  set(value: number): void
  add(delta: number): void
  get(): number
}

/**
 * What the loop hands `make(config, context)` besides the config. A pipeline sets every field; a
 * stage definition's `make` fills in what a caller driving the logic directly leaves out (its own
 * clock, private counters, instance 0 of 1).
 */
export interface StageContext<K extends string = string, G extends string = string> {
  /**
   * The pipeline clock, for logic that needs the time inside `onBatch` (which gets none): this
   * thread's calibrated clock, in ns since the pipeline epoch — the clock of `onPoll`/`onTimer`
   * readings and of Ingress' `tsNs`, comparable across threads.
   */
  readonly nowNs: () => number
  /** The layout of the records `onBatch` receives (a layout-generic stage's resolved one); none for a source. */
  readonly input: Layout | undefined
  /** The layout of the records the stage emits (`out.view.layout`); none for a sink. */
  readonly output: Layout | undefined
  /** Earlier starts of this stage's loop in this run: 0 on the first start, n after n restarts. */
  readonly restarts: number
  /** Which instance this is: 0 .. `instances` − 1 (a partitioned stage's lane; 0 otherwise). */
  readonly instance: number
  /** How many instances of the stage run side by side (a partitioned stage's `count`; 1 otherwise). */
  readonly instances: number
  /** The counters the stage declared, by name; they continue across restarts. */
  readonly counters: { readonly [k in K]: Counter }
  /** The gauges the stage declared, by name; they keep their value across restarts. */
  readonly gauges: { readonly [g in G]: Gauge }
}

/** What a source's `onPoll` returns when it will produce nothing more. */
export const SOURCE_EXHAUSTED = -1 as const
