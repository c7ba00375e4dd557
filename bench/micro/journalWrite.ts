/**
 * Journal write throughput beside a plain sequential `fs.writeSync` of the same bytes, one thread,
 * one process, in alternating rounds.
 *
 * ```
 *   velox   source records ─► JournalWriter.appendBytes (chunks of `chunkRecords`, as a sink gets them)
 *                             └─► open batch (copy) ─► CRC-32 ─► one positional write per batch of
 *                                 `batchRecords` ─► segments of `segmentBytes`, sealed with index + trailer
 *   plain   the same bytes, one fs.writeSync of batchBytes(batchRecords) per batch, straight from memory
 * ```
 *
 * Records are 32-byte `Sequenced` records (seq, key, flags, value, check), pre-generated (`sourceRecords`
 * of them, appended cyclically: the generation is not the journal's cost). Both sides write `volumeBytes`
 * of batches into fresh files under the system temp directory (the same file system), with no fsync
 * (`fsync: "never"`; the plain side never syncs either): this compares the work each does per byte, not
 * the disk. Files are deleted after each round, so the page cache holds at most one round.
 *
 * Checked before any number is returned: the journal holds exactly the records appended, in sequence,
 * each one's bytes what was appended (read back through the reader, every batch's checksums verified);
 * the plain file has exactly the bytes written.
 */
import * as NodeJournalUnsafe from "@velox/node/NodeJournalUnsafe"
import * as D from "@velox/core/JournalDescriptor"
import { checkOf, Sequenced } from "@velox/core/stages"
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { median } from "../harness.ts"

export interface Params {
  /** Bytes of batches each side writes per round. */
  readonly volumeBytes: number
  readonly rounds: number
  /** Records per append call (a sink's pass hands it up to 256). */
  readonly chunkRecords: number
  readonly batchRecords: number
  readonly segmentBytes: number
  readonly sourceRecords: number
}

const RECORD_BYTES = Sequenced.byteLength

const makeSource = (records: number): Uint8Array => {
  const f64 = new Float64Array(records * 4)
  const u32 = new Uint32Array(f64.buffer)
  for (let seq = 0; seq < records; seq++) {
    f64[seq * 4] = seq
    u32[seq * 8 + 2] = seq % 16
    u32[seq * 8 + 3] = 0
    f64[seq * 4 + 2] = seq
    f64[seq * 4 + 3] = checkOf(seq)
  }
  return new Uint8Array(f64.buffer)
}

/** Appends `records` records cyclically from `source`; returns the seconds it took, close included. */
const veloxRound = (directory: string, source: Uint8Array, records: number, p: Params): number => {
  const sourceRecords = source.length / RECORD_BYTES
  const t0 = performance.now()
  const writer = NodeJournalUnsafe.openWriter(directory, {
    layout: Sequenced,
    batchRecords: p.batchRecords,
    segmentBytes: p.segmentBytes,
    fsync: "never"
  })
  let at = 0
  for (let done = 0; done < records;) {
    const n = Math.min(p.chunkRecords, records - done, sourceRecords - at)
    writer.appendBytes(source, at * RECORD_BYTES, n)
    done += n
    at = (at + n) % sourceRecords
  }
  writer.close()
  return (performance.now() - t0) / 1e3
}

/** Writes the same bytes with plain writeSync calls of one batch each; returns the seconds it took. */
const plainRound = (path: string, source: Uint8Array, batches: number, batchBytes: number): number => {
  const t0 = performance.now()
  const fd = openSync(path, "w")
  let at = 0
  for (let b = 0; b < batches; b++) {
    if (at + batchBytes > source.length) at = 0
    let done = 0
    while (done < batchBytes) done += writeSync(fd, source, at + done, batchBytes - done)
    at += batchBytes
  }
  closeSync(fd)
  return (performance.now() - t0) / 1e3
}

/** Throws unless the journal holds `records` records in sequence, each as appended from the source. */
const checkJournal = (directory: string, records: number, sourceRecords: number): void => {
  const reader = NodeJournalUnsafe.openReader(directory, { layout: Sequenced })
  let next = 0
  try {
    for (let n = reader.next(); n > 0; n = reader.next()) {
      const f64 = new Float64Array(reader.bytes.buffer, reader.batchByteOffset, n * 4)
      for (let i = 0; i < n; i++, next++) {
        const seq = next % sourceRecords
        if (f64[i * 4] !== seq || f64[i * 4 + 3] !== checkOf(seq)) {
          throw new Error(`journal record ${next}: seq ${f64[i * 4]}, expected ${seq}`)
        }
      }
    }
  } finally {
    reader.close()
  }
  if (next !== records) throw new Error(`the journal holds ${next} records, ${records} were appended`)
}

export const run = async (p: Params): Promise<Record<string, number>> => {
  const source = makeSource(p.sourceRecords)
  const batchBytes = D.batchBytes(p.batchRecords, RECORD_BYTES)
  const batches = Math.floor(p.volumeBytes / batchBytes)
  const records = batches * p.batchRecords
  const bytes = batches * batchBytes
  const root = mkdtempSync(join(tmpdir(), "velox-bench-journal-write-"))
  const velox: Array<number> = []
  const plain: Array<number> = []
  try {
    // One untimed round each: JIT, and the file system's first allocations.
    for (let round = -1; round < p.rounds; round++) {
      const directory = join(root, `journal-${round}`)
      const seconds = veloxRound(directory, source, records, p)
      if (round === p.rounds - 1) checkJournal(directory, records, p.sourceRecords)
      rmSync(directory, { recursive: true })
      const file = join(root, `plain-${round}`)
      const plainSeconds = plainRound(file, source, batches, batchBytes)
      if (statSync(file).size !== bytes) throw new Error(`plain file: ${statSync(file).size} bytes, ${bytes} written`)
      rmSync(file)
      if (round >= 0) {
        velox.push(seconds)
        plain.push(plainSeconds)
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  const v = median(velox)
  const w = median(plain)
  return {
    veloxMrecPerSecond: records / v / 1e6,
    veloxMBPerSecond: bytes / v / 1e6,
    plainMrecPerSecond: records / w / 1e6,
    plainMBPerSecond: bytes / w / 1e6,
    records,
    megabytes: bytes / 1e6
  }
}
