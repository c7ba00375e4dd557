/**
 * The contract kit's in-process driver: builds a stage's logic with `make(config)` and calls its hooks
 * directly, the way one loop pass would (`onBatch` then `onEndOfBatch`, `onTimer(nowNs)`, `onDrain`),
 * with a `CheckingEmitter` that records every output and counts every accounting call. After each
 * hook it checks the books (laws 1, 2 and 5); two runs of one scenario compare (law 3).
 *
 * No `effect` import: plain, synchronous, deterministic code, so the Effect face can call it from a
 * property and shrink what fails.
 */
import {
  copyRecords,
  FIELD_BYTES,
  type FieldSpec,
  type Layout,
  makeView,
  readRecord,
  type RecordOf,
  type RecordView,
  writeRecord
} from "../../internal/kernel/recordLayout.ts"
import type { Emitter, SourceLogic, StageLogic } from "../../internal/kernel/stageLogic.ts"

export type Law = "Conservation" | "Drain" | "Determinism" | "PlacementIndependence" | "BoundedMemory"

/** A law broken, and where. */
export interface Breach {
  readonly law: Law
  readonly detail: string
}

/** What the driver feeds a stage: input batches, and after batch `i`, timer ticks `ticks[i]` (clock advances in ns). */
export interface Scenario<F extends FieldSpec = FieldSpec> {
  readonly batches: ReadonlyArray<ReadonlyArray<RecordOf<F>>>
  readonly ticks: ReadonlyArray<ReadonlyArray<number>>
}

/** The parts of a stage definition the driver reads. */
export interface DrivenDefinition {
  readonly name: string
  readonly kind: "source" | "stage" | "sink"
  readonly input: Layout | undefined
  readonly output: Layout | undefined
  readonly dropReasons: ReadonlyArray<string>
  readonly errors: ReadonlyArray<string>
  readonly timerPeriodNs: number
  readonly make: (config: any) => StageLogic<any, any> | SourceLogic<any>
}

/** What one run produced, in a form two runs (or a run and a pipeline) can be compared in. */
export interface Observed {
  /** Output records' raw words, back to back, in emission order (padding included: {@link diff} skips it). */
  readonly outputWords: ArrayLike<number>
  readonly outputCount: number
  /** Inputs accounted by `emit(accounts)` and `account(n)`: the ledger's "emitted". */
  readonly emitted: number
  /** Non-zero drop counts by reason name. */
  readonly dropped: Readonly<Record<string, number>>
  /** Dead letters in order, by error name, decoded with the input layout. */
  readonly deadLetters: ReadonlyArray<{ readonly error: string; readonly record: Readonly<Record<string, number>> }>
}

export interface Trace {
  inputs: number
  emitted: number
  delivered: number
  dropped: number
  readonly droppedByReason: Array<number>
  readonly outputWords: Array<number>
  outputCount: number
  readonly deadLetters: Array<{ readonly code: number; readonly words: Int32Array }>
}

const SCRATCH_SLOTS = 64

const checkCount = (what: string, n: number): void => {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`${what} must be a non-negative integer: ${n}`)
}

/**
 * An emitter that keeps everything: outputs go to a small scratch view whose slots are filled with
 * `poison` when handed out (so a field left unwritten shows up as a difference between two runs), and
 * are copied out when the scratch fills and after every hook.
 */
export class CheckingEmitter implements Emitter<FieldSpec> {
  readonly view: RecordView<FieldSpec>
  private readonly hasOutput: boolean
  private readonly wordsPerRecord: number
  private readonly capacity: number
  private readonly poison: number
  private readonly trace: Trace
  private readonly reasonCount: number
  private readonly errorCount: number
  private pos = 0

  constructor(definition: DrivenDefinition, poison: number, trace: Trace) {
    const layout = definition.output
    this.hasOutput = layout !== undefined
    const outLayout: Layout = layout ?? { name: "none", spec: {}, fields: [], byteLength: 8 }
    this.capacity = layout === undefined ? 1 : SCRATCH_SLOTS
    this.view = makeView(outLayout, new ArrayBuffer(this.capacity * outLayout.byteLength), 0, this.capacity)
    this.wordsPerRecord = outLayout.byteLength / 4
    this.poison = poison
    this.trace = trace
    this.reasonCount = definition.dropReasons.length
    this.errorCount = definition.errors.length
  }

  emit(accounts: number = 1): number {
    if (!this.hasOutput) throw new RangeError("a sink has no output: use account(n) for what it delivered")
    checkCount("emit(accounts): accounts", accounts)
    if (this.pos === this.capacity) this.collect()
    const slot = this.pos++
    this.view.words.fill(this.poison, slot * this.wordsPerRecord, (slot + 1) * this.wordsPerRecord)
    this.trace.emitted += accounts
    this.trace.outputCount++
    return slot
  }

  /** As `count` rounds of `emit()` and a one-record copy: every slot is poisoned, then overwritten. */
  forward(input: RecordView, start: number, count: number): void {
    checkCount("forward(input, start, count): count", count)
    if (this.hasOutput && input.wordsPerRecord !== this.wordsPerRecord) {
      throw new RangeError(
        `forward: input records are ${input.wordsPerRecord * 4} bytes, output records ${this.wordsPerRecord * 4}`
      )
    }
    for (let i = start; i < start + count; i++) copyRecords(input, i, this.view, this.emit(), 1)
  }

  account(count: number): void {
    checkCount("account(count): count", count)
    this.trace.delivered += count
  }

  drop(reason: number, count: number = 1): void {
    if (!(Number.isInteger(reason) && reason >= 0 && reason < this.reasonCount)) {
      throw new RangeError(`drop reason ${reason} is not declared: the stage declares ${this.reasonCount} drop reasons`)
    }
    checkCount("drop(reason, count): count", count)
    this.trace.droppedByReason[reason] = (this.trace.droppedByReason[reason] ?? 0) + count
    this.trace.dropped += count
  }

  deadLetter(code: number, input: RecordView, slot: number): void {
    if (!(Number.isInteger(code) && code >= 0 && code < this.errorCount)) {
      throw new RangeError(`error code ${code} is not declared: the stage declares ${this.errorCount} error codes`)
    }
    const w = input.wordsPerRecord
    this.trace.deadLetters.push({ code, words: input.words.slice(slot * w, (slot + 1) * w) })
  }

  /** Copies the slots emitted so far out of the scratch (they are all written: the hook returned or emitted again). */
  collect(): void {
    const words = this.view.words
    const end = this.pos * this.wordsPerRecord
    for (let i = 0; i < end; i++) this.trace.outputWords.push(words[i]!)
    this.pos = 0
  }
}

export interface DriverOptions {
  readonly definition: DrivenDefinition
  /** Decoded config, passed to `make`. */
  readonly config: unknown
  readonly maxRetained: number
  /** Word written into scratch slots before the stage sees them (input padding, fresh output slots). */
  readonly poison: number
  /** Deliver the scenario's ticks (only to a stage with `onTimer` and a finite `timerPeriodNs`, as the loop does). */
  readonly ticks: boolean
  /** Laws checked along the way: Conservation after each hook, BoundedMemory after each hook, Drain at the end. */
  readonly laws: ReadonlySet<Law>
}

export interface RunResult {
  readonly trace: Trace
  readonly breach: Breach | undefined
}

const describeError = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

/** Runs one scenario through a fresh instance of the stage's logic, checking the books after each hook. */
export const runScenario = (o: DriverOptions, scenario: Scenario): RunResult => {
  const def = o.definition
  const trace: Trace = {
    inputs: 0,
    emitted: 0,
    delivered: 0,
    dropped: 0,
    droppedByReason: def.dropReasons.map(() => 0),
    outputWords: [],
    outputCount: 0,
    deadLetters: []
  }
  const input = def.input
  if (def.kind === "source" || input === undefined) {
    throw new RangeError(`stage "${def.name}" is a source: the contract kit checks stages and sinks`)
  }
  const emitter = new CheckingEmitter(def, o.poison, trace)
  let logic: StageLogic
  try {
    logic = def.make(o.config) as StageLogic
  } catch (e) {
    return { trace, breach: { law: "Conservation", detail: `make(config) threw ${describeError(e)}` } }
  }
  try {
    logic.onStart?.()
  } catch (e) {
    return { trace, breach: { law: "Conservation", detail: `onStart threw ${describeError(e)}` } }
  }
  const hasTimer = o.ticks && logic.onTimer !== undefined && def.timerPeriodNs !== Infinity
  const laws = o.laws

  const books = (where: string, afterDrain: boolean): Breach | undefined => {
    let retained: number
    try {
      retained = logic.retained !== undefined ? logic.retained() : 0
    } catch (e) {
      return { law: "Conservation", detail: `${where}: retained() threw ${describeError(e)}` }
    }
    if (!(Number.isInteger(retained) && retained >= 0)) {
      return { law: "Conservation", detail: `${where}: retained() returned ${retained}; it must be a non-negative integer` }
    }
    if (laws.has("BoundedMemory") && retained > o.maxRetained) {
      return {
        law: "BoundedMemory",
        detail: `${where}: retained() = ${retained} exceeds the declared maxRetained(config) = ${o.maxRetained}, after ${trace.inputs} input records`
      }
    }
    const out = trace.emitted + trace.delivered + trace.dropped + trace.deadLetters.length
    if (afterDrain) {
      if (!laws.has("Drain")) return undefined
      if (retained !== 0) {
        return {
          law: "Drain",
          detail: `${where}: retained() = ${retained}; onDrain must emit, drop or dead-letter everything the stage holds`
        }
      }
      if (out !== trace.inputs) return { law: "Drain", detail: `${where}: ${balance(trace, 0)}` }
      return undefined
    }
    if (laws.has("Conservation") && out + retained !== trace.inputs) {
      return { law: "Conservation", detail: `${where}: ${balance(trace, retained)}` }
    }
    return undefined
  }

  /** Runs a hook; a throw is a breach (the stage leaves its records to the runtime's restart and quarantine). */
  const hook = (where: string, f: () => void): Breach | undefined => {
    try {
      f()
      emitter.collect()
      return undefined
    } catch (e) {
      return {
        law: "Conservation",
        detail: `${where}: the stage threw ${describeError(e)} — a throw leaves its batch unaccounted by the stage ` +
          `(the runtime would restart it and, in the end, quarantine the record)`
      }
    }
  }

  /** Closes the logic as its loop would (after a breach too: what onStart opened is released). */
  const closed = (breach: Breach | undefined): RunResult => {
    try {
      logic.onClose?.(breach === undefined ? "drained" : "crashed")
    } catch (e) {
      return { trace, breach: breach ?? { law: "Drain", detail: `onClose("drained") threw ${describeError(e)}` } }
    }
    return { trace, breach }
  }

  let nowNs = 0
  const batches = scenario.batches
  for (let b = 0; b < batches.length; b++) {
    const batch = batches[b]!
    const n = batch.length
    // The loop never delivers an empty batch.
    if (n > 0) {
      // Records at slots 1..n, a poisoned slot either side: a ring view rarely starts at slot 0.
      const view = makeView(input, new ArrayBuffer((n + 2) * input.byteLength), 0, n + 2)
      view.words.fill(o.poison)
      for (let i = 0; i < n; i++) writeRecord(view, i + 1, batch[i]!)
      trace.inputs += n
      const where = `batch ${b} (${n} record${n === 1 ? "" : "s"})`
      const breach = hook(`onBatch of ${where}`, () => {
        logic.onBatch(view, 1, n, emitter)
        logic.onEndOfBatch?.(emitter)
      }) ?? books(`after ${where}`, false)
      if (breach !== undefined) return closed(breach)
    }
    if (hasTimer) {
      for (const advance of scenario.ticks[b] ?? []) {
        nowNs += advance
        const where = `onTimer(${nowNs}) after batch ${b}`
        const breach = hook(where, () => logic.onTimer!(nowNs, emitter)) ?? books(`after ${where}`, false)
        if (breach !== undefined) return closed(breach)
      }
    }
  }
  return closed(hook("onDrain", () => logic.onDrain?.(emitter)) ?? books("after onDrain", true))
}

const balance = (t: Trace, retained: number): string => {
  const out = t.emitted + t.delivered + t.dropped + t.deadLetters.length + retained
  const missing = t.inputs - out
  return `in = ${t.inputs}, but emitted ${t.emitted} + delivered ${t.delivered} + dropped ${t.dropped} + ` +
    `dead-lettered ${t.deadLetters.length} + retained ${retained} = ${out}: ` +
    (missing > 0 ? `${missing} record(s) unaccounted for` : `${-missing} record(s) accounted for twice`)
}

/** A trace in comparable form. */
export const observe = (definition: DrivenDefinition, trace: Trace): Observed => {
  const dropped: Record<string, number> = {}
  trace.droppedByReason.forEach((n, i) => {
    if (n !== 0) dropped[definition.dropReasons[i] ?? `reason ${i}`] = n
  })
  const layout = definition.input!
  return {
    outputWords: trace.outputWords,
    outputCount: trace.outputCount,
    emitted: trace.emitted + trace.delivered,
    dropped,
    deadLetters: trace.deadLetters.map((d) => ({
      error: definition.errors[d.code] ?? `code ${d.code}`,
      record: decode(layout, d.words, 0)
    }))
  }
}

/** Decodes record `index` of back-to-back raw words. */
export const decode = <F extends FieldSpec>(layout: Layout<F>, words: ArrayLike<number>, index: number): RecordOf<F> => {
  const w = layout.byteLength / 4
  const copy = new Int32Array(w)
  for (let i = 0; i < w; i++) copy[i] = words[index * w + i]!
  return readRecord(makeView(layout, copy.buffer, 0, 1), 0)
}

/** A number as written in a counterexample: `NaN`, `-0`, `Infinity` spelled out. */
const num = (x: number): string => (Object.is(x, -0) ? "-0" : String(x))

/** A plain record on one line. */
export const formatRecord = (record: Readonly<Record<string, number>>): string =>
  `{ ${Object.entries(record).map(([k, v]) => `${k}: ${num(v)}`).join(", ")} }`

const sameRecord = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): boolean => {
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => Object.is(a[k], b[k]))
}

const formatCounts = (counts: Readonly<Record<string, number>>): string => {
  const parts = Object.entries(counts).map(([k, v]) => `${k}=${v}`)
  return parts.length === 0 ? "none" : parts.join(" ")
}

/**
 * Per 32-bit word of a record, the bits that belong to a field. Padding (between fields, and at the
 * end up to the 8-byte stride) is not data: nobody writes it, so it holds whatever the slot held.
 * Built through a byte view, so it is right on either byte order.
 */
const fieldMask = (layout: Layout): Int32Array => {
  const bytes = new Uint8Array(layout.byteLength)
  for (const f of layout.fields) bytes.fill(0xff, f.offset, f.offset + FIELD_BYTES[f.type])
  return new Int32Array(bytes.buffer)
}

/**
 * The first difference between two observations (`undefined` when they agree), with both sides
 * named. Output records are compared field by field, bit for bit (NaN payloads, -0), and never in
 * their padding. `output` decodes output records; `undefined` for a sink.
 */
export const diff = (
  output: Layout | undefined,
  a: Observed,
  aName: string,
  b: Observed,
  bName: string
): string | undefined => {
  if (output !== undefined) {
    const w = output.byteLength / 4
    const mask = fieldMask(output)
    const n = Math.min(a.outputCount, b.outputCount, a.outputWords.length / w, b.outputWords.length / w)
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < w; k++) {
        if (((a.outputWords[i * w + k]! ^ b.outputWords[i * w + k]!) & mask[k]!) !== 0) {
          return `output record ${i} differs: ${aName} ${formatRecord(decode(output, a.outputWords, i))}, ` +
            `${bName} ${formatRecord(decode(output, b.outputWords, i))}`
        }
      }
    }
    if (a.outputCount !== b.outputCount) {
      const longer = a.outputCount > b.outputCount ? a : b
      const extra = longer.outputWords.length / w > n ? ` (the first extra: ${formatRecord(decode(output, longer.outputWords, n))})` : ""
      return `${aName} emitted ${a.outputCount} records, ${bName} ${b.outputCount}${extra}`
    }
  }
  if (a.emitted !== b.emitted) return `${aName} accounted ${a.emitted} inputs as emitted, ${bName} ${b.emitted}`
  if (formatCounts(a.dropped) !== formatCounts(b.dropped)) {
    return `drops differ: ${aName} ${formatCounts(a.dropped)}, ${bName} ${formatCounts(b.dropped)}`
  }
  const m = Math.min(a.deadLetters.length, b.deadLetters.length)
  for (let i = 0; i < m; i++) {
    const x = a.deadLetters[i]!
    const y = b.deadLetters[i]!
    if (x.error !== y.error || !sameRecord(x.record, y.record)) {
      return `dead letter ${i} differs: ${aName} ${x.error} ${formatRecord(x.record)}, ${bName} ${y.error} ${formatRecord(y.record)}`
    }
  }
  if (a.deadLetters.length !== b.deadLetters.length) {
    return `${aName} dead-lettered ${a.deadLetters.length} records, ${bName} ${b.deadLetters.length}`
  }
  return undefined
}

/** A scenario as a counterexample: batches of records, and the ticks after each batch. */
export const formatScenario = (scenario: Scenario, withTicks: boolean, maxChars = 4000): string => {
  const lines: Array<string> = []
  scenario.batches.forEach((batch, b) => {
    lines.push(`  batch ${b}: [${batch.map(formatRecord).join(", ")}]`)
    const ticks = scenario.ticks[b]
    if (withTicks && ticks !== undefined && ticks.length > 0) lines.push(`    then ticks advancing the clock by [${ticks.join(", ")}] ns`)
  })
  if (lines.length === 0) lines.push("  (no batches)")
  const text = lines.join("\n")
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}\n  … (${text.length - maxChars} more characters)`
}
