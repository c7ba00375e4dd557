/**
 * Journal replay from the page cache, one thread: the reader's batches, every checksum verified and
 * every record's sequence checked, beside a plain `fs.readSync` of the same segment files' bytes in
 * the same chunk size (no parsing, no check: the floor any reader pays).
 *
 * ```
 *   velox   segment files ─► JournalReader (4 MiB positional reads; per batch: magic, header CRC,
 *           payload CRC, sequence continuity) ─► per record: its seq field read and compared
 *   plain   segment files ─► fs.readSync, 4 MiB at a time
 * ```
 *
 * The journal (`records` 32-byte `Sequenced` records, batches of `batchRecords`) is written once and
 * fsynced (clean pages: no writeback competes with the reads), then read once untimed so it sits in
 * the page cache; rounds of velox and plain alternate. Checked before
 * any number is returned: velox read exactly `records` records, in sequence, every payload verified;
 * plain read exactly the journal's bytes.
 */
import * as NodeJournalUnsafe from "@velox/node/NodeJournalUnsafe"
import * as D from "@velox/core/JournalDescriptor"
import { checkOf, Sequenced } from "@velox/core/stages"
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { median } from "../harness.ts"

export interface Params {
  readonly records: number
  readonly batchRecords: number
  readonly segmentBytes: number
  readonly rounds: number
}


const CHUNK_BYTES = 4 * 1024 * 1024

const writeJournal = (directory: string, p: Params): void => {
  const writer = NodeJournalUnsafe.openWriter(directory, {
    layout: Sequenced,
    batchRecords: p.batchRecords,
    segmentBytes: p.segmentBytes,
    // Synced on close: the pages are clean when replay starts, so no writeback competes with it.
    fsync: "drain"
  })
  const chunk = 4096
  const f64 = new Float64Array(chunk * 4)
  const bytes = new Uint8Array(f64.buffer)
  for (let first = 0; first < p.records; first += chunk) {
    const n = Math.min(chunk, p.records - first)
    for (let i = 0; i < n; i++) {
      const seq = first + i
      f64[i * 4] = seq
      f64[i * 4 + 2] = seq
      f64[i * 4 + 3] = checkOf(seq)
    }
    writer.appendBytes(bytes, 0, n)
  }
  writer.close()
}

/** Replays the journal, checking each record's sequence; returns seconds, or throws on a bad record. */
const veloxRound = (directory: string, records: number): number => {
  const t0 = performance.now()
  const reader = NodeJournalUnsafe.openReader(directory, { layout: Sequenced, chunkBytes: CHUNK_BYTES })
  let expected = 0
  let f64 = new Float64Array(reader.bytes.buffer)
  for (let n = reader.next(); n > 0; n = reader.next()) {
    if (f64.buffer !== reader.bytes.buffer) f64 = new Float64Array(reader.bytes.buffer)
    let at = reader.batchByteOffset >> 3
    for (let i = 0; i < n; i++, at += 4) {
      if (f64[at] !== expected) throw new Error(`record ${expected}: seq ${f64[at]}`)
      expected++
    }
  }
  reader.close()
  const seconds = (performance.now() - t0) / 1e3
  if (expected !== records) throw new Error(`replayed ${expected} records, the journal holds ${records}`)
  return seconds
}

/** Reads every segment file's bytes; returns seconds and bytes. */
const plainRound = (directory: string): { readonly seconds: number; readonly bytes: number } => {
  const buffer = new Uint8Array(CHUNK_BYTES)
  const t0 = performance.now()
  let bytes = 0
  for (const name of readdirSync(directory).filter((n) => D.parseSegmentFileName(n) !== undefined).sort()) {
    const fd = openSync(join(directory, name), "r")
    let position = 0
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK_BYTES, position)
      if (n === 0) break
      position += n
    }
    closeSync(fd)
    bytes += position
  }
  return { seconds: (performance.now() - t0) / 1e3, bytes }
}

export const run = async (p: Params): Promise<Record<string, number>> => {
  const root = mkdtempSync(join(tmpdir(), "velox-bench-journal-replay-"))
  const directory = join(root, "journal")
  try {
    writeJournal(directory, p)
    const journalBytes = NodeJournalUnsafe.info(directory).bytes
    // Untimed: the page cache and the JIT.
    veloxRound(directory, p.records)
    plainRound(directory)
    const velox: Array<number> = []
    const plain: Array<number> = []
    for (let round = 0; round < p.rounds; round++) {
      velox.push(veloxRound(directory, p.records))
      const r = plainRound(directory)
      if (r.bytes !== journalBytes) throw new Error(`plain read ${r.bytes} bytes, the journal has ${journalBytes}`)
      plain.push(r.seconds)
    }
    const v = median(velox)
    const w = median(plain)
    return {
      veloxMrecPerSecond: p.records / v / 1e6,
      veloxGBPerSecond: journalBytes / v / 1e9,
      plainMrecPerSecond: p.records / w / 1e6,
      plainGBPerSecond: journalBytes / w / 1e9,
      records: p.records,
      megabytes: journalBytes / 1e6
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
