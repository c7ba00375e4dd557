/**
 * The journal's one error family: `JournalError`, whose `reason` says what went wrong (Effect's
 * `WorkerError` style). The synchronous writer and reader throw it; the Effect face fails with it.
 */
import { Schema } from "effect"

/** The disk (or the process's file-size limit, or a quota) has no room for the next write. */
export class DiskFull extends Schema.TaggedError<DiskFull>()("DiskFull", {
  path: Schema.String,
  message: Schema.String
}) {}

/** The journal directory or one of its files cannot be created or written (permissions, read-only). */
export class NotWritable extends Schema.TaggedError<NotWritable>()("NotWritable", {
  path: Schema.String,
  message: Schema.String
}) {}

/** No journal at the path, or no record at the requested position. */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  path: Schema.String,
  message: Schema.String
}) {}

/** Bytes that fail their checksum or make no sense, where a torn write cannot explain them. */
export class Corrupted extends Schema.TaggedError<Corrupted>()("Corrupted", {
  segment: Schema.String,
  offset: Schema.Number,
  message: Schema.String
}) {}

/** Records are missing: a sealed segment cut short, or a gap between two segments. */
export class Truncated extends Schema.TaggedError<Truncated>()("Truncated", {
  segment: Schema.String,
  message: Schema.String
}) {}

/** The journal holds records of another layout than the one asked for; both are named. */
export class LayoutMismatch extends Schema.TaggedError<LayoutMismatch>()("LayoutMismatch", {
  path: Schema.String,
  expected: Schema.String,
  found: Schema.String
}) {
  override get message(): string {
    return `journal ${this.path} holds ${this.found}, not ${this.expected}`
  }
}

/** Another live process is writing this journal. */
export class Locked extends Schema.TaggedError<Locked>()("Locked", {
  path: Schema.String,
  pid: Schema.Number,
  message: Schema.String
}) {}

/** Any other failure of the file system, with the operation and the system's error code. */
export class IoFailed extends Schema.TaggedError<IoFailed>()("IoFailed", {
  path: Schema.String,
  operation: Schema.String,
  code: Schema.String,
  message: Schema.String
}) {}

export const Reason = Schema.Union([DiskFull, NotWritable, NotFound, Corrupted, Truncated, LayoutMismatch, Locked, IoFailed])
export type Reason = typeof Reason.Type

/** A journal operation failed; `reason` says how. */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", { reason: Reason }) {
  override get message(): string {
    return `${this.reason._tag}: ${this.reason.message}`
  }
}

export const fail = (reason: Reason): JournalError => new JournalError({ reason })

const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "UNKNOWN"

const NO_ROOM = new Set(["ENOSPC", "EFBIG", "EDQUOT"])
const NOT_WRITABLE = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR"])

/** Maps a thrown file-system error to the journal error it means, for `operation` on `path`. */
export const fromSystemError = (e: unknown, path: string, operation: string): JournalError => {
  if (e instanceof JournalError) return e
  const code = codeOf(e)
  const message = `${operation} ${path}: ${e instanceof Error ? e.message : String(e)}`
  if (NO_ROOM.has(code)) return fail(new DiskFull({ path, message }))
  if (NOT_WRITABLE.has(code)) return fail(new NotWritable({ path, message }))
  if (code === "ENOENT") return fail(new NotFound({ path, message }))
  return fail(new IoFailed({ path, operation, code, message }))
}

/** Runs a file-system call, turning what it throws into a {@link JournalError}. */
export const io = <A>(path: string, operation: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    throw fromSystemError(e, path, operation)
  }
}
