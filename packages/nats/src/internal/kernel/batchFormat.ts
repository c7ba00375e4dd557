/**
 * The wire format of a record batch on NATS, and the partition function. No effect import.
 *
 * A message is a batch of records of one layout, for one partition:
 *
 * ```
 *  headers                                  payload
 *  ┌────────────────────────────────────┐   ┌──────────┬──────────┬─────┬──────────┐
 *  │ Nats-Msg-Id   see messageId         │   │ record 0 │ record 1 │ ... │ record n-1│
 *  │ Velox-Layout  <layout hash, 8 hex>  │   └──────────┴──────────┴─────┴──────────┘
 *  │ Velox-Count   <n>                   │    n × layout.byteLength bytes, each record as the
 *  │ Velox-Seq     <first>-<last>        │    layout lays it out in a ring slot (padding included),
 *  │ Velox-Feed    <feed>                │    little-endian (the byte order of every platform Node
 *  │ Velox-Epoch   <epoch>               │    runs on)
 *  └────────────────────────────────────┘
 * ```
 *
 * `first` and `last` are the sequences (the configured sequence field) of the batch's first and last
 * records; the records between are in publish order, not necessarily consecutive (a partition gets a
 * subset of the sequences) nor rising (a relay forwards what its ingress got, redeliveries included,
 * so `first` may exceed `last`). The message id makes a republished batch (a retry, a restarted
 * publisher that batches the same way) a duplicate the server drops within its duplicate window.
 */
import type { Layout } from "@velox/core/unsafe"

export const HEADER_LAYOUT = "Velox-Layout"
export const HEADER_COUNT = "Velox-Count"
export const HEADER_SEQ = "Velox-Seq"
export const HEADER_FEED = "Velox-Feed"
export const HEADER_EPOCH = "Velox-Epoch"

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/**
 * A 32-bit FNV-1a hash of a layout's shape: its stride and each field's name, type and offset (not
 * the layout's name: two programs may name the same record differently).
 */
export const layoutHash = (layout: Layout): number => {
  const text = `${layout.byteLength}|${layout.fields.map((f) => `${f.name}:${f.type}@${f.offset}`).join(";")}`
  let h = FNV_OFFSET
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, FNV_PRIME) >>> 0
  }
  return h >>> 0
}

/** The layout hash as the header shows it: 8 lower-case hex digits. */
export const layoutHashHex = (layout: Layout): string => layoutHash(layout).toString(16).padStart(8, "0")

/**
 * The partition of a record with key `key` among `partitions`: murmur3's 32-bit finaliser over the
 * key's integer part (a symbol id), modulo the count. Stable across processes and releases: a
 * consumer on another machine computes the same partition.
 */
export const partitionOf = (key: number, partitions: number): number => {
  let h = (Math.trunc(key) | 0) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35) >>> 0
  h ^= h >>> 16
  // `^` gives a signed 32-bit value: back to unsigned before the modulo.
  return (h >>> 0) % partitions
}

/**
 * The hash of a batch's sequences, in order: 32-bit FNV-1a over each sequence's two 32-bit halves.
 * With the first and last sequence and the count, it names the batch's content.
 */
export const sequencesHash = (count: number, seqAt: (i: number) => number): number => {
  let h = FNV_OFFSET
  for (let i = 0; i < count; i++) {
    const seq = seqAt(i)
    h = Math.imul(h ^ (seq >>> 0), FNV_PRIME) >>> 0
    h = Math.imul(h ^ Math.floor(seq / 0x1_0000_0000), FNV_PRIME) >>> 0
  }
  return h >>> 0
}

/**
 * The message id of a batch: `<feed>.<epoch>.<first>-<last>.<count>.<hash>`, the hash of its sequences
 * in order (`sequencesHash`, 8 hex digits). It names the content, not where the batch starts: a
 * restarted publisher or relay cuts its batches anew, and a message sharing an earlier one's first
 * (or first and last) sequence but holding other records must not be dropped whole as a duplicate
 * (its overlap is dropped by the ingress, by sequence). The same records published again (a retry, a
 * publisher that batches the same way) get the same id.
 */
export const messageId = (feed: string, epoch: number, firstSeq: number, lastSeq: number, count: number, hash: number): string =>
  `${feed}.${epoch}.${firstSeq}-${lastSeq}.${count}.${hash.toString(16).padStart(8, "0")}`

/** Parses `first-last` (the first and last records' sequences, in either order); undefined when not two integers. */
export const parseSeqRange = (s: string): readonly [number, number] | undefined => {
  const m = /^(\d+)-(\d+)$/.exec(s)
  if (m === null) return undefined
  const first = Number(m[1])
  const last = Number(m[2])
  return Number.isSafeInteger(first) && Number.isSafeInteger(last) ? [first, last] : undefined
}
