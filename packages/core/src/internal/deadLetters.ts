/**
 * The control plane's side of the dead-letter rings: one reader per pipeline, on the main thread,
 * empties every host's dead-letter ring, decodes each record with the layout its stage was given (a
 * layout-generic stage's resolved one), keeps the latest `bufferSize` as `RecordFailed`s and a
 * distinct-error table per stage with exact counts.
 *
 * It wakes on demand: every dead-letter ring names the reader's bell as its consumer bell, so a host
 * that publishes a dead letter rings it, and releasing slots rings the host back (its producer bell)
 * when it found its dead-letter ring full.
 * A fiber host never waits for it synchronously: it bounds each pass by the free dead-letter slots, and
 * if a pass still overflows (a fused stage that fans records out), it calls {@link readAll} itself, on
 * the same thread.
 */
import { Effect } from "effect"
import { awaitBell } from "./awaitBell.ts"
import { Doorbell, type DoorbellRef } from "./kernel/doorbell.ts"
import { DEAD_LETTER_CODE_WORD, DEAD_LETTER_LENGTH_WORD, DEAD_LETTER_STAGE_WORD, STAGE_THREW_CODE } from "./kernel/emitters.ts"
import { END_OF_STREAM, RingConsumer, type RingHandle } from "./kernel/oneToOneRing.ts"
import { DATA_OFFSET } from "./kernel/ringDescriptor.ts"
import { type Layout, makeView, readRecord } from "./kernel/recordLayout.ts"
import type { ErrorSummary } from "../PipelineSnapshot.ts"
import { RecordFailed } from "../PipelineError.ts"

/** One host's dead-letter ring, and its members in host order (the ring's records name a member). */
export interface DeadLetterSource {
  readonly handle: RingHandle
  readonly members: ReadonlyArray<{
    readonly name: string
    readonly errors: ReadonlyArray<string>
    /** The layout the member's input records have (resolved for a layout-generic stage). */
    readonly input: Layout | undefined
  }>
}

type MutableSummary = { -readonly [K in keyof ErrorSummary]: ErrorSummary[K] }

interface Attached {
  readonly source: DeadLetterSource
  readonly consumer: RingConsumer
  readonly words: Int32Array
  readonly wordsPerSlot: number
}

export class DeadLetterReader {
  readonly bell: Doorbell
  private readonly attached: ReadonlyArray<Attached>
  private readonly bufferSize: number
  private readonly nowMs: () => number
  private readonly recent: Array<RecordFailed> = []
  private readonly table = new Map<string, MutableSummary>()

  /** `nowMs` stamps `seenAtMs` (the control plane's `Clock`). */
  constructor(sources: ReadonlyArray<DeadLetterSource>, bell: DoorbellRef, bufferSize: number, nowMs: () => number) {
    this.bell = new Doorbell(bell)
    this.bufferSize = bufferSize
    this.nowMs = nowMs
    // The ring is single-consumer and the control plane is it: one consumer per ring, for the run.
    this.attached = sources.map((source) => ({
      source,
      consumer: new RingConsumer(source.handle),
      words: new Int32Array(source.handle.buffer, source.handle.byteOffset + DATA_OFFSET, (source.handle.capacity * source.handle.slotBytes) / 4),
      wordsPerSlot: source.handle.slotBytes / 4
    }))
  }

  /** Decodes everything waiting in host `index`'s ring; returns how many letters it read. */
  read(index: number): number {
    const a = this.attached[index]!
    let total = 0
    for (;;) {
      const n = a.consumer.poll(a.consumer.capacity)
      if (n === 0 || n === END_OF_STREAM) return total
      for (let k = 0; k < n; k++) {
        const base = (a.consumer.readIndex + k) * a.wordsPerSlot
        const length = a.words[base + DEAD_LETTER_LENGTH_WORD]!
        const member = a.source.members[a.words[base + DEAD_LETTER_STAGE_WORD]!] ?? a.source.members[0]!
        this.decode(member, a.words[base + DEAD_LETTER_CODE_WORD]!, a.words.slice(base + 4, base + 4 + length))
      }
      // Releasing rings the host's bell: a host waiting for dead-letter room goes on.
      a.consumer.release(n)
      total += n
    }
  }

  /** Decodes everything waiting in every ring. */
  readAll(): number {
    let total = 0
    for (let i = 0; i < this.attached.length; i++) total += this.read(i)
    return total
  }

  /** Is a letter waiting (re-checked after arming the bell)? */
  hasWork(): boolean {
    return this.attached.some((a) => a.consumer.fill() > 0)
  }

  deadLetters(): ReadonlyArray<RecordFailed> {
    return this.recent.slice()
  }

  errorSummary(): ReadonlyArray<ErrorSummary> {
    return [...this.table.values()].map((e) => ({ ...e }))
  }

  private decode(member: DeadLetterSource["members"][number], code: number, words: Int32Array): void {
    const error = code === STAGE_THREW_CODE ? "StageThrew" : member.errors[code] ?? `code ${code}`
    this.add(member.name, error, code, member.input === undefined ? {} : decodeWords(member.input, words), undefined)
  }

  /** Records one dead letter (also one that never crossed a ring: an edge's, on the main thread). */
  add(stage: string, error: string, code: number, record: Record<string, number>, detail: string | undefined): void {
    const letter = new RecordFailed({
      stage,
      code,
      error,
      record,
      seenAtMs: this.nowMs(),
      ...(detail === undefined ? {} : { detail })
    })
    if (this.recent.length >= this.bufferSize) this.recent.shift()
    this.recent.push(letter)
    const key = `${letter.stage}\u0000${letter.error}`
    const seen = this.table.get(key)
    if (seen === undefined) {
      this.table.set(key, { stage: letter.stage, error: letter.error, count: 1, firstSeenMs: letter.seenAtMs, lastSeenMs: letter.seenAtMs, sample: letter })
    } else {
      seen.count++
      seen.lastSeenMs = letter.seenAtMs
      seen.sample = letter
    }
  }
}

/** Reads letters as they arrive, until interrupted: parks on the reader's bell between bursts. */
export const follow = (reader: DeadLetterReader): Effect.Effect<never> =>
  Effect.sync(() => reader.readAll()).pipe(
    Effect.andThen(awaitBell(reader.bell, () => reader.hasWork())),
    Effect.forever
  )

/** Decodes a record's raw words with its layout (allocates; control plane only). */
const decodeWords = (layout: Layout, words: Int32Array): Record<string, number> => {
  const copy = new Int32Array(words)
  return readRecord(makeView(layout, copy.buffer, 0, 1), 0)
}
