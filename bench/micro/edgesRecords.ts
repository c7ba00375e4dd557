/**
 * What the `edges` suite's cases and peers carry: `Sequenced` records as objects, and record batches
 * made before a run and handed out in turn (making them is not what is measured).
 */
import { RecordLayout } from "@velox/core"
import { checkOf, Sequenced } from "@velox/core/stages"

export type SequencedRecord = RecordLayout.RecordOf<typeof Sequenced.spec>

export const record = (seq: number): SequencedRecord => ({ seq, key: seq % 16, flags: 0, value: seq, check: checkOf(seq) })

/** 16 batches of `size` consecutive records each. */
export const batchPool = (size: number): ReadonlyArray<RecordLayout.RecordView<typeof Sequenced.spec>> =>
  Array.from({ length: 16 }, (_, b) => {
    const view = RecordLayout.view(Sequenced, new ArrayBuffer(size * Sequenced.byteLength), 0, size)
    for (let i = 0; i < size; i++) RecordLayout.writeUnsafe(view, i, record(b * size + i))
    return view
  })
