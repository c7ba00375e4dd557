/**
 * Helpers for the journal tests: temporary directories, Sequenced records with a known content per
 * sequence, and reading a whole journal back through the synchronous reader.
 */
import { RecordLayout } from "@velox/core"
import { checkOf, Sequenced } from "@velox/core/stages"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeJournalUnsafe } from "../../src/index.ts"

/** A fresh directory under the system temp dir; `journal` is a path inside it (not created). */
export const tempJournal = (label: string): { readonly root: string; readonly journal: string; readonly cleanup: () => void } => {
  const root = mkdtempSync(join(tmpdir(), `velox-${label}-`))
  return { root, journal: join(root, "journal"), cleanup: () => rmSync(root, { recursive: true, force: true }) }
}

/** `count` Sequenced records from `first`: seq, key, flags, value and check all derived from seq. */
export const sequencedView = (first: number, count: number): RecordLayout.RecordView<typeof Sequenced.spec> => {
  const view = RecordLayout.view(Sequenced, new ArrayBuffer(Math.max(1, count) * Sequenced.byteLength), 0, count)
  for (let i = 0; i < count; i++) writeSequenced(view, i, first + i)
  return view
}

export const writeSequenced = (view: RecordLayout.RecordView<typeof Sequenced.spec>, slot: number, seq: number): void => {
  const f = view.fields
  f.seq.set(slot, seq)
  f.key.set(slot, seq % 7)
  f.flags.set(slot, seq % 3)
  f.value.set(slot, seq * 0.5)
  f.check.set(slot, checkOf(seq))
}

/** Appends records `first .. first + count - 1` in calls of `chunk` records. */
export const appendSequenced = (writer: NodeJournalUnsafe.JournalWriter, first: number, count: number, chunk = 97): void => {
  for (let s = first; s < first + count; s += chunk) {
    const n = Math.min(chunk, first + count - s)
    writer.appendView(sequencedView(s, n), 0, n)
  }
}

export interface ReadBack {
  readonly sequences: Array<number>
  /** Records whose fields are not what their sequence implies. */
  readonly bad: Array<number>
  readonly batches: number
}

/** Reads a Sequenced journal to its end, checking each record's content against its sequence. */
export const readSequenced = (directory: string, config: NodeJournalUnsafe.ReaderConfig = {}): ReadBack => {
  const reader = NodeJournalUnsafe.openReader(directory, { layout: Sequenced, ...config })
  const sequences: Array<number> = []
  const bad: Array<number> = []
  let batches = 0
  try {
    for (;;) {
      const n = reader.next()
      if (n <= 0) break
      batches++
      const view = RecordLayout.view(Sequenced, reader.bytes.buffer, reader.batchByteOffset, n)
      for (let i = 0; i < n; i++) {
        const seq = view.fields.seq.get(i)
        sequences.push(seq)
        if (
          seq !== reader.batchFirstSequence + i || view.fields.key.get(i) !== seq % 7 ||
          view.fields.flags.get(i) !== seq % 3 || view.fields.value.get(i) !== seq * 0.5 ||
          view.fields.check.get(i) !== checkOf(seq)
        ) bad.push(seq)
      }
    }
  } finally {
    reader.close()
  }
  return { sequences, bad, batches }
}

export const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)

/** A wall clock the test moves by hand (ns since the epoch). */
export const manualClock = (startNs = 1_700_000_000_000_000_000) => {
  let now = startNs
  return {
    now: () => now,
    advanceMs: (ms: number) => {
      now += ms * 1e6
    }
  }
}
