/**
 * The journal's one error family in the Effect tier: `JournalError`, whose `reason` says what went
 * wrong (Effect's `WorkerError` style). The synchronous tier throws `JournalFault` with the same
 * reasons; `fromFault` maps one to the other.
 */
import { Schema } from "effect"
import { JournalFault } from "./fault.ts"

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
  found: Schema.String,
  message: Schema.String
}) {}

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

/** The Effect tier's error for a fault the synchronous tier threw. */
export const fromFault = (fault: JournalFault): JournalError => {
  const r = fault.reason
  switch (r._tag) {
    case "DiskFull":
      return new JournalError({ reason: new DiskFull(r) })
    case "NotWritable":
      return new JournalError({ reason: new NotWritable(r) })
    case "NotFound":
      return new JournalError({ reason: new NotFound(r) })
    case "Corrupted":
      return new JournalError({ reason: new Corrupted(r) })
    case "Truncated":
      return new JournalError({ reason: new Truncated(r) })
    case "LayoutMismatch":
      return new JournalError({ reason: new LayoutMismatch(r) })
    case "Locked":
      return new JournalError({ reason: new Locked(r) })
    case "IoFailed":
      return new JournalError({ reason: new IoFailed(r) })
  }
}

export { JournalFault }
