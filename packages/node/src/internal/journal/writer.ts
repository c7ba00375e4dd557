/**
 * The journal writer: appends fixed-width records to the active segment in checksummed batches.
 *
 * Synchronous and single-threaded by design: it runs inside a sink's loop (a worker), where a
 * blocking write or fsync slows only that loop, which is the backpressure a lagging journal must
 * exert. Records are copied into the open batch as they arrive (one `Buffer#copy` per call, no
 * per-record work unless a time field is declared); a batch is checksummed (WebAssembly SIMD, at
 * memory speed) and written, in one positional write, when it holds `batchRecords` records or has
 * been open `batchMs`, or on `flush`/`sync`/`close`.
 *
 * Durability: `written` records are in the OS (they survive a crash of the process); `durable`
 * records are fsynced (they survive a crash of the machine). The fsync policy decides when:
 * `"batch"` after every batch, `"interval"` at most every `fsyncIntervalMs` (checked at every write
 * and `poll`), `"drain"` only on `sync`/`close`, `"never"` not at all. Sealing a segment fsyncs it
 * (unless `"never"`), so `durable` always covers a prefix of the journal.
 *
 * Failures: a write that fails part way is cut back (ftruncate) to the last whole batch, the open
 * batch is kept, and a `JournalFault` is thrown (`DiskFull` for ENOSPC/EFBIG/EDQUOT): the files stay
 * a valid journal, and `flush` may be retried once there is room.
 */
import type { RecordLayout } from "@velox/core"
import * as D from "@velox/core/JournalDescriptor"
import { Buffer } from "node:buffer"
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync
} from "node:fs"
import { join } from "node:path"
import { fromSystemError, io, JournalFault, layoutMismatch } from "./fault.ts"
import { encodeSeal, encodeSegmentHeader, type FieldReader, fieldReader, IndexBuilder, writeBatchHeader } from "./format.ts"
import { ChecksumBuffer } from "./payloadChecksum.ts"
import { checkLayout, describeStop, readState, type SegmentFile } from "./segments.ts"
import { makeStatsBuffer, StatsWriter } from "./stats.ts"
import * as S from "./statsDescriptor.ts"

export type FsyncPolicy = "never" | "batch" | "interval" | "drain"

export interface WriterConfig {
  readonly layout: RecordLayout.RecordLayout
  /** A field holding each record's time; without one, batches carry wall-clock times. */
  readonly timeField?: string | undefined
  readonly batchRecords?: number | undefined
  readonly batchMs?: number | undefined
  readonly fsync?: FsyncPolicy | undefined
  readonly fsyncIntervalMs?: number | undefined
  readonly segmentBytes?: number | undefined
  readonly retentionBytes?: number | undefined
  readonly retentionMs?: number | undefined
  readonly indexIntervalBytes?: number | undefined
  /** `"strict"` (default): damage in the active segment is an error; `"truncate"`: cut it. */
  readonly recover?: "strict" | "truncate" | undefined
  /** Wall clock in ns since the Unix epoch (tests inject one). */
  readonly wallClockNs?: (() => number) | undefined
  /** A block from `makeStatsBuffer` to publish statistics in (one is made otherwise). */
  readonly stats?: SharedArrayBuffer | undefined
}

export const WRITER_DEFAULTS = {
  batchRecords: 500,
  batchMs: 30_000,
  fsync: "interval",
  fsyncIntervalMs: 1_000,
  segmentBytes: 128 * 1024 * 1024,
  retentionBytes: Infinity,
  retentionMs: Infinity,
  indexIntervalBytes: 256 * 1024,
  recover: "strict"
} as const

export const LOCK_FILE = "writer.lock"
const TEMP_SUFFIX = ".tmp"
/** The page size that 4K aliasing is about (see `placeBatch`). */
const PAGE_BYTES = 4096

/** `performance.timeOrigin`, read once: a property of the thread that never changes, and a getter call each time. */
const TIME_ORIGIN_MS = performance.timeOrigin
/** The global `performance` is an accessor: looked up once, not at every reading of the clock. */
const PERFORMANCE = performance

export const wallClockNs = (): number => (TIME_ORIGIN_MS + PERFORMANCE.now()) * 1e6

/** What opening found and did. */
export interface Recovery {
  readonly firstSequence: number
  /** One past the last record on disk: the next append gets this sequence. */
  readonly endSequence: number
  /** Records on disk after recovery, every one checked; all fsynced once the writer opened (unless `fsync: "never"`). */
  readonly records: number
  readonly segments: number
  /** Bytes cut from the end of the active segment (a torn batch), and why. */
  readonly cutBytes: number
  readonly cutReason: string | undefined
  /** Leftover temporary segment files removed (a crash while creating a segment). */
  readonly removedTemporary: number
}

const checkPositive = (name: string, value: number, integer: boolean): void => {
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be a positive ${integer ? "integer" : "number"}: ${name}=${value}`)
  }
}

interface Sealed {
  readonly file: SegmentFile
  readonly bytes: number
  readonly endSequence: number
}

/** Holds the journal's lock file; another live process holding it is `Locked`. */
const acquireLock = (directory: string): string => {
  const path = join(directory, LOCK_FILE)
  const mine = `${process.pid}\n`
  try {
    writeFileSync(path, mine, { flag: "wx" })
    return path
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw fromSystemError(e, path, "create lock")
  }
  const holder = Number.parseInt(io(path, "read lock", () => readFileSync(path, "utf8")), 10)
  // This process (a sink restarted after a crash) or a dead one: take the lock over.
  if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
    throw new JournalFault({
      _tag: "Locked",
      path: directory,
      pid: holder,
      message: `${directory} is being written by process ${holder} (lock ${path}); remove the lock only if that process is not a writer`
    })
  }
  io(path, "take over lock", () => writeFileSync(path, mine))
  return path
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

export class JournalWriter {
  readonly directory: string
  readonly layout: RecordLayout.RecordLayout
  readonly timeField: string | undefined
  readonly recovery: Recovery
  readonly statsBuffer: SharedArrayBuffer

  private readonly recordBytes: number
  private readonly batchRecords: number
  private readonly batchNs: number
  private readonly policy: FsyncPolicy
  private readonly fsyncIntervalNs: number
  private readonly segmentBytes: number
  private readonly retentionBytes: number
  private readonly retentionMs: number
  private readonly indexIntervalBytes: number
  private readonly clock: () => number
  private readonly stats: StatsWriter
  private readonly lockPath: string
  private readonly readTime: FieldReader | undefined
  private readonly timeOffset: number

  /** Open batch: header space, then up to `batchRecords` records. */
  private readonly batchBuffer: ChecksumBuffer
  private readonly batch: Uint8Array
  private readonly batchView: DataView
  /** Where the open batch starts in `batch` (see `placeBatch`). */
  private batchAt = 0
  /** The checksummed part of the header of a batch opened at each 8-byte place in a page, made once. */
  private readonly headerViews: Array<Uint8Array | undefined> = new Array(PAGE_BYTES / D.ALIGNMENT).fill(undefined)
  private pending = 0
  private pendingFirstTime = 0
  private pendingLastTime = -Infinity
  private pendingOpenedNs = 0

  private fd = -1
  private segment!: SegmentFile
  private segmentHeaderBytes = 0
  private segmentEnd = 0
  private index!: IndexBuilder
  private readonly sealed: Array<Sealed> = []
  /** The active segment was sealed and the next one is not created yet (creating it failed). */
  private needSegment = false
  /** Bytes of the sealed segments, kept as they come and go. */
  private sealedBytes = 0

  /** Sequence the next appended record gets. */
  private appended: number
  private written: number
  private durable: number
  private oldestNotDurableNs = 0
  private lastFsyncNs: number
  private closed = false
  private viewCache: { view: RecordLayout.RecordView | undefined; bytes: Uint8Array } = {
    view: undefined,
    bytes: new Uint8Array(0)
  }
  /** A `Buffer` over the last source appended from (see `appendBytes`). */
  private sourceCache: { source: Uint8Array | undefined; buffer: Buffer } = { source: undefined, buffer: Buffer.alloc(0) }

  private constructor(directory: string, config: WriterConfig) {
    this.directory = directory
    this.layout = config.layout
    this.timeField = config.timeField
    this.recordBytes = config.layout.byteLength
    this.batchRecords = config.batchRecords ?? WRITER_DEFAULTS.batchRecords
    this.batchNs = (config.batchMs ?? WRITER_DEFAULTS.batchMs) * 1e6
    this.policy = config.fsync ?? WRITER_DEFAULTS.fsync
    this.fsyncIntervalNs = (config.fsyncIntervalMs ?? WRITER_DEFAULTS.fsyncIntervalMs) * 1e6
    this.segmentBytes = config.segmentBytes ?? WRITER_DEFAULTS.segmentBytes
    this.retentionBytes = config.retentionBytes ?? WRITER_DEFAULTS.retentionBytes
    this.retentionMs = config.retentionMs ?? WRITER_DEFAULTS.retentionMs
    this.indexIntervalBytes = config.indexIntervalBytes ?? WRITER_DEFAULTS.indexIntervalBytes
    this.clock = config.wallClockNs ?? wallClockNs
    checkPositive("batchRecords", this.batchRecords, true)
    if (this.batchRecords > D.MAX_BATCH_RECORDS) {
      throw new RangeError(`batchRecords must be at most ${D.MAX_BATCH_RECORDS}: batchRecords=${this.batchRecords}`)
    }
    checkPositive("batchMs", this.batchNs, false)
    checkPositive("fsyncIntervalMs", this.fsyncIntervalNs, false)
    checkPositive("segmentBytes", this.segmentBytes, true)
    checkPositive("retentionBytes", this.retentionBytes, false)
    checkPositive("retentionMs", this.retentionMs, false)
    checkPositive("indexIntervalBytes", this.indexIntervalBytes, true)
    if (!["never", "batch", "interval", "drain"].includes(this.policy)) {
      throw new RangeError(`fsync must be one of never, batch, interval, drain: fsync=${String(this.policy)}`)
    }
    // Validates the time field against the layout (a RangeError naming both).
    D.layoutText(this.layout, this.timeField)
    const timeInfo = this.layout.fields.find((f) => f.name === this.timeField)
    this.readTime = timeInfo === undefined ? undefined : fieldReader(timeInfo.type)
    this.timeOffset = timeInfo?.offset ?? 0
    // The open batch lives in WebAssembly memory, where its payload checksum runs.
    this.batchBuffer = new ChecksumBuffer(D.batchBytes(this.batchRecords, this.recordBytes) + PAGE_BYTES)
    this.batch = this.batchBuffer.bytes
    this.batchView = this.batchBuffer.dv
    this.statsBuffer = config.stats ?? makeStatsBuffer()
    this.stats = new StatsWriter(this.statsBuffer)

    io(directory, "create directory", () => mkdirSync(directory, { recursive: true }))
    this.lockPath = acquireLock(directory)
    try {
      let removedTemporary = 0
      for (const name of io(directory, "list", () => readdirSync(directory))) {
        if (name.endsWith(D.SEGMENT_FILE_SUFFIX + TEMP_SUFFIX)) {
          io(directory, "remove temporary segment", () => unlinkSync(join(directory, name)))
          removedTemporary++
        }
      }
      const state = readState(directory, {
        allowEmpty: true,
        truncateDamage: (config.recover ?? WRITER_DEFAULTS.recover) === "truncate",
        indexIntervalBytes: this.indexIntervalBytes
      })
      checkLayout(state.catalog, this.layout)
      const first = state.catalog.segments[0]
      if (first !== undefined && first.header.timeField !== this.timeField) {
        const withTime = (field: string | undefined) => `${D.layoutSignature(this.layout)} timed by ${field ?? "the wall clock"}`
        throw layoutMismatch(directory, withTime(this.timeField), withTime(first.header.timeField))
      }
      for (const s of state.catalog.segments) {
        if (s.trailer !== undefined) {
          this.sealed.push({ file: s.file, bytes: s.size, endSequence: s.trailer.endSequence })
          this.sealedBytes += s.size
        }
      }
      const last = state.catalog.segments.at(-1)
      let cutBytes = 0
      let cutReason: string | undefined
      if (last === undefined || last.trailer !== undefined) {
        this.createSegment(state.endSequence)
      } else {
        const scan = state.active!
        this.segment = last.file
        this.fd = io(last.file.path, "open", () => openSync(last.file.path, "r+"))
        this.segmentHeaderBytes = last.header.headerBytes
        this.segmentEnd = scan.dataEnd
        this.index = scan.index
        if (scan.trailingBytes > 0) {
          cutBytes = scan.trailingBytes
          cutReason = describeStop(scan, last.file)
          io(last.file.path, "truncate torn tail", () => ftruncateSync(this.fd, scan.dataEnd))
        }
        // What survived the crash is in the page cache, maybe not on disk: make it durable now.
        if (this.policy !== "never") io(last.file.path, "fsync", () => fsyncSync(this.fd))
      }
      this.appended = state.endSequence
      this.written = state.endSequence
      this.durable = this.policy === "never" ? state.firstSequence : state.endSequence
      this.lastFsyncNs = this.clock()
      this.recovery = {
        firstSequence: state.firstSequence,
        endSequence: state.endSequence,
        records: state.endSequence - state.firstSequence,
        segments: state.catalog.segments.length + (last === undefined || last.trailer !== undefined ? 1 : 0),
        cutBytes,
        cutReason,
        removedTemporary
      }
      this.stats.begin()
      this.stats.set(S.APPENDED_OFFSET, this.appended)
      this.stats.set(S.WRITTEN_OFFSET, this.written)
      this.stats.set(S.DURABLE_OFFSET, this.durable)
      this.stats.set(S.RECOVERED_CUT_BYTES_OFFSET, cutBytes)
      this.stats.set(S.FIRST_SEQUENCE_OFFSET, state.firstSequence)
      this.publishSizes()
      this.stats.end()
      this.stats.setState(S.WriterState.Open)
      this.applyRetention()
    } catch (e) {
      this.release()
      throw e
    }
  }

  /**
   * Opens (creating if needed) the journal in `directory` for appending, recovering its tail.
   * Throws a `JournalFault` (or a `RangeError` for a bad config).
   */
  static open(directory: string, config: WriterConfig): JournalWriter {
    return new JournalWriter(directory, config)
  }

  /** Sequence the next appended record gets (= records appended since the journal began). */
  get nextSequence(): number {
    return this.appended
  }

  /** Records in the open batch, not yet written. */
  get pendingRecords(): number {
    return this.pending
  }

  get writtenSequence(): number {
    return this.written
  }

  get durableSequence(): number {
    return this.durable
  }

  /**
   * Appends `count` records from `bytes` starting at byte `byteOffset` (records of this layout, back
   * to back). Writes each batch as it fills. On a `JournalFault`, the records copied so far are held
   * in the open batch (`nextSequence` says how many were accepted) and the files are still valid.
   */
  appendBytes(bytes: Uint8Array, byteOffset: number, count: number): void {
    this.checkOpen()
    const rb = this.recordBytes
    if (!(byteOffset >= 0 && count >= 0 && byteOffset + count * rb <= bytes.length)) {
      throw new RangeError(
        `appendBytes: ${count} records of ${rb} bytes from byteOffset=${byteOffset} do not fit in ${bytes.length} bytes`
      )
    }
    // One Buffer per distinct source (a ring's bytes are the same object pass after pass): `copy` of a
    // range allocates nothing, where `set(bytes.subarray(…))` made a view object per copy.
    let source = this.sourceCache
    if (source.source !== bytes || source.buffer.length !== bytes.length) {
      source = this.sourceCache = { source: bytes, buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) }
    }
    let src = byteOffset
    let remaining = count
    // One reading of the clock per call (a sink's pass): it opens the batches the call starts, times
    // the batches it writes and checks the open batch's age. A call lasts microseconds; batchMs is
    // milliseconds at least.
    const now = this.clock()
    while (remaining > 0) {
      if (this.pending === 0) {
        this.placeBatch(bytes.byteOffset + src)
        this.pendingOpenedNs = now
        this.pendingLastTime = -Infinity
        if (this.oldestNotDurableNs === 0) this.oldestNotDurableNs = now
      }
      const n = Math.min(this.batchRecords - this.pending, remaining)
      const dst = this.batchAt + D.BATCH_HEADER_BYTES + this.pending * rb
      source.buffer.copy(this.batch, dst, src, src + n * rb)
      if (this.readTime !== undefined) this.noteTimes(dst, n)
      this.pending += n
      this.appended += n
      remaining -= n
      src += n * rb
      if (this.pending === this.batchRecords) this.writeBatch(now)
    }
    this.stats.begin()
    this.stats.set(S.APPENDED_OFFSET, this.appended)
    this.stats.set(S.OLDEST_NOT_DURABLE_NS_OFFSET, this.oldestNotDurableNs)
    this.stats.end()
    if (this.pending > 0 && now - this.pendingOpenedNs >= this.batchNs) this.writeBatch(now)
  }

  /** Appends records `start .. start + count - 1` of a view (a ring's or a batch's). */
  appendView(view: RecordLayout.RecordView, start: number, count: number): void {
    let cache = this.viewCache
    // One byte view per distinct record view (a ring's view is the same object pass after pass).
    if (cache.view !== view) {
      cache = this.viewCache = {
        view,
        bytes: new Uint8Array(view.words.buffer, view.byteOffset, view.slotCount * view.layout.byteLength)
      }
    }
    this.appendBytes(cache.bytes, start * this.recordBytes, count)
  }

  /**
   * Places the batch being opened so that its records land half a page (mod 4096) away from where
   * they come from (`sourceAt`, a byte offset in the source's buffer; a large buffer starts at a page
   * or a few bytes past one). A copy to a destination 24–40 bytes past its source modulo 4096 hits 4K
   * aliasing (loads wait on stores to the same page offset): an 8 KB `set` from a 32 MiB buffer took
   * 4.4 µs there and 0.25 µs at any other distance. Appends that continue where the last one ended
   * keep the distance for the whole batch.
   */
  private placeBatch(sourceAt: number): void {
    this.batchAt = (sourceAt + PAGE_BYTES / 2 - D.BATCH_HEADER_BYTES) & (PAGE_BYTES - D.ALIGNMENT)
  }

  private noteTimes(dst: number, n: number): void {
    const read = this.readTime!
    const dv = this.batchView
    const rb = this.recordBytes
    let at = dst + this.timeOffset
    if (this.pending === 0) this.pendingFirstTime = read(dv, at)
    let last = this.pendingLastTime
    for (let i = 0; i < n; i++, at += rb) {
      const t = read(dv, at)
      if (t > last) last = t
    }
    this.pendingLastTime = last
  }

  /**
   * The time-driven work: writes the open batch once it is `batchMs` old, and fsyncs under the
   * `"interval"` policy when due. Call it from a timer (a sink's `onTimer`).
   */
  poll(): void {
    this.checkOpen()
    const now = this.clock()
    if (this.pending > 0 && now - this.pendingOpenedNs >= this.batchNs) this.writeBatch()
    else if (this.policy === "interval" && this.written > this.durable && now - this.lastFsyncNs >= this.fsyncIntervalNs) {
      this.fsync()
    }
  }

  /** The wall-clock time (ns) by which `poll` has work: the open batch's deadline or the next fsync. */
  nextDueNs(): number {
    let due = this.pending > 0 ? this.pendingOpenedNs + this.batchNs : Infinity
    if (this.policy === "interval" && this.written > this.durable) due = Math.min(due, this.lastFsyncNs + this.fsyncIntervalNs)
    return due
  }

  /** Writes the open batch now (the records are then `written`, not necessarily durable). */
  flush(): void {
    this.checkOpen()
    this.writeBatch()
  }

  /** Writes the open batch and fsyncs: everything appended so far is then durable. */
  sync(): void {
    this.checkOpen()
    this.writeBatch()
    if (this.written > this.durable) this.fsync()
  }

  /**
   * Writes what is pending, fsyncs unless the policy is `"never"`, closes the files and releases the
   * lock. Idempotent. If the final write fails, the files are still closed and the error is thrown.
   */
  close(): void {
    if (this.closed) return
    try {
      this.writeBatch()
      if (this.policy !== "never" && this.written > this.durable) this.fsync()
    } finally {
      this.closed = true
      this.release()
      this.stats.setState(S.WriterState.Closed)
    }
  }

  /**
   * Closes the files and releases the lock without writing the open batch: what it held was never
   * acknowledged (a crashed sink's open batch waits, unreleased, in its input ring and comes again to
   * the writer that takes over). Idempotent.
   */
  abandon(): void {
    if (this.closed) return
    this.closed = true
    this.pending = 0
    this.release()
    this.stats.setState(S.WriterState.Closed)
  }

  private release(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd)
      } catch {
        // Closing a descriptor whose last write failed may fail again; it is closed either way.
      }
      this.fd = -1
    }
    try {
      unlinkSync(this.lockPath)
    } catch {
      // Already gone (a directory removed under us): nothing holds it.
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new TypeError(`journal ${this.directory} is closed`)
  }

  /** Writes the open batch; `now`: the wall clock, when the caller has just read it. */
  private writeBatch(now: number = this.clock()): void {
    const count = this.pending
    if (count === 0) return
    const size = D.batchBytes(count, this.recordBytes)
    const firstSequence = this.appended - count
    const firstTime = this.readTime !== undefined ? this.pendingFirstTime : this.pendingOpenedNs
    const lastTime = this.readTime !== undefined ? this.pendingLastTime : now
    const at = this.batchAt
    writeBatchHeader(
      this.headerViews[at / D.ALIGNMENT] ??= this.batch.subarray(at, at + D.BATCH_HEADER_CHECKSUM_OFFSET),
      this.batchView,
      at,
      count,
      firstSequence,
      firstTime,
      lastTime,
      this.batchBuffer.sum(this.batchAt + D.BATCH_HEADER_BYTES, size - D.BATCH_HEADER_BYTES)
    )
    if (this.needSegment || (this.segmentEnd > this.segmentHeaderBytes && this.segmentEnd + size > this.segmentBytes)) {
      this.roll()
    }
    this.writeAt(this.batch, this.batchAt, size, "write batch")
    this.index.add(this.segmentEnd, firstSequence, firstTime, lastTime)
    this.segmentEnd += size
    this.pending = 0
    this.written = firstSequence + count
    this.stats.begin()
    this.stats.set(S.WRITTEN_OFFSET, this.written)
    this.stats.add(S.WRITTEN_BYTES_OFFSET, size)
    this.stats.add(S.BATCHES_OFFSET, 1)
    this.publishSizes()
    this.stats.end()
    if (this.policy === "batch" || (this.policy === "interval" && now - this.lastFsyncNs >= this.fsyncIntervalNs)) {
      this.fsync()
    }
  }

  /** One positional write at the segment's end, whole or not at all (cut back on failure). */
  private writeAt(bytes: Uint8Array, offset: number, length: number, operation: string): void {
    let done = 0
    try {
      while (done < length) done += writeSync(this.fd, bytes, offset + done, length - done, this.segmentEnd + done)
    } catch (e) {
      this.countError()
      if (done > 0) {
        try {
          ftruncateSync(this.fd, this.segmentEnd)
        } catch {
          // The next open finds the torn batch and cuts it.
        }
      }
      throw fromSystemError(e, this.segment.path, operation)
    }
  }

  private countError(): void {
    this.stats.begin()
    this.stats.add(S.WRITE_ERRORS_OFFSET, 1)
    this.stats.end()
  }

  private fsync(): void {
    try {
      fdatasyncSync(this.fd)
    } catch (e) {
      this.countError()
      throw fromSystemError(e, this.segment.path, "fsync")
    }
    const now = this.clock()
    this.durable = this.written
    this.lastFsyncNs = now
    this.oldestNotDurableNs = this.pending > 0 ? this.pendingOpenedNs : 0
    this.stats.begin()
    this.stats.set(S.DURABLE_OFFSET, this.durable)
    this.stats.add(S.FSYNCS_OFFSET, 1)
    this.stats.set(S.LAST_FSYNC_NS_OFFSET, now)
    this.stats.set(S.OLDEST_NOT_DURABLE_NS_OFFSET, this.oldestNotDurableNs)
    this.stats.end()
  }

  /**
   * Seals the active segment (index + trailer, fsynced unless "never") and starts the next one. If
   * creating the next one fails (a full disk), the next write tries again.
   */
  private roll(): void {
    if (!this.needSegment) {
      const seal = encodeSeal(this.index, this.written, this.segmentEnd)
      this.writeAt(seal, 0, seal.length, "seal segment")
      if (this.policy !== "never") this.fsync()
      const file = this.segment
      io(file.path, "close", () => closeSync(this.fd))
      this.fd = -1
      this.sealed.push({ file, bytes: this.segmentEnd + seal.length, endSequence: this.written })
      this.sealedBytes += this.segmentEnd + seal.length
      this.segmentEnd = 0
      this.needSegment = true
    }
    this.createSegment(this.written)
    this.needSegment = false
    this.applyRetention()
  }

  /** Creates the segment starting at `baseSequence`: header written under a temporary name, renamed. */
  private createSegment(baseSequence: number): void {
    const name = D.segmentFileName(baseSequence)
    const path = join(this.directory, name)
    const temporary = path + TEMP_SUFFIX
    const header = encodeSegmentHeader(this.layout, this.timeField, baseSequence, this.clock())
    const fd = io(temporary, "create segment", () => openSync(temporary, "w"))
    try {
      let done = 0
      while (done < header.length) done += io(temporary, "write segment header", () => writeSync(fd, header, done, header.length - done, done))
      if (this.policy !== "never") io(temporary, "fsync", () => fsyncSync(fd))
    } catch (e) {
      this.countError()
      try {
        unlinkSync(temporary)
      } catch {
        // Removed at the next open.
      }
      throw e
    } finally {
      closeSync(fd)
    }
    io(path, "rename segment", () => renameSync(temporary, path))
    if (this.policy !== "never") this.syncDirectory()
    this.segment = { baseSequence, name, path }
    this.fd = io(path, "open", () => openSync(path, "r+"))
    this.segmentHeaderBytes = header.length
    this.segmentEnd = header.length
    this.index = new IndexBuilder(this.indexIntervalBytes)
  }

  /** Makes a new or removed name in the directory durable (Linux: fsync of the directory). */
  private syncDirectory(): void {
    const fd = io(this.directory, "open directory", () => openSync(this.directory, "r"))
    try {
      io(this.directory, "fsync directory", () => fsyncSync(fd))
    } finally {
      closeSync(fd)
    }
  }

  /** Removes the oldest sealed segments past the size or age limit (never the active one). */
  private applyRetention(): void {
    let removed = false
    const nowMs = this.clock() / 1e6
    while (this.sealed.length > 0) {
      const oldest = this.sealed[0]!
      const tooBig = this.sealedBytes + this.segmentEnd > this.retentionBytes
      const tooOld = Number.isFinite(this.retentionMs) &&
        nowMs - io(oldest.file.path, "stat", () => statSync(oldest.file.path).mtimeMs) > this.retentionMs
      if (!tooBig && !tooOld) break
      io(oldest.file.path, "remove segment (retention)", () => unlinkSync(oldest.file.path))
      this.sealed.shift()
      this.sealedBytes -= oldest.bytes
      removed = true
    }
    if (removed) {
      if (this.policy !== "never") this.syncDirectory()
      this.stats.begin()
      this.stats.set(S.FIRST_SEQUENCE_OFFSET, this.sealed[0]?.file.baseSequence ?? this.segment.baseSequence)
      this.publishSizes()
      this.stats.end()
    }
  }

  private publishSizes(): void {
    this.stats.set(S.SEGMENTS_OFFSET, this.sealed.length + 1)
    this.stats.set(S.JOURNAL_BYTES_OFFSET, this.sealedBytes + this.segmentEnd)
  }
}
