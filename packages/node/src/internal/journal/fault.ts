/**
 * What the synchronous journal (writer, reader, catalog) throws: a `JournalFault` whose `reason`
 * has the same tags and fields as the Effect tier's `JournalError` reasons, which `NodeJournal`
 * maps it to. Plain TypeScript, no `effect` import: a process that only writes a journal starts fast.
 */

export type FaultReason =
  | { readonly _tag: "DiskFull"; readonly path: string; readonly message: string }
  | { readonly _tag: "NotWritable"; readonly path: string; readonly message: string }
  | { readonly _tag: "NotFound"; readonly path: string; readonly message: string }
  | { readonly _tag: "Corrupted"; readonly segment: string; readonly offset: number; readonly message: string }
  | { readonly _tag: "Truncated"; readonly segment: string; readonly message: string }
  | {
    readonly _tag: "LayoutMismatch"
    readonly path: string
    readonly expected: string
    readonly found: string
    readonly message: string
  }
  | { readonly _tag: "Locked"; readonly path: string; readonly pid: number; readonly message: string }
  | {
    readonly _tag: "IoFailed"
    readonly path: string
    readonly operation: string
    readonly code: string
    readonly message: string
  }

/** A journal operation failed; `reason` says how (see `NodeJournal.JournalError` for each reason). */
export class JournalFault extends Error {
  override readonly name = "JournalFault"
  readonly reason: FaultReason

  constructor(reason: FaultReason) {
    super(`${reason._tag}: ${reason.message}`)
    this.reason = reason
  }
}

/** A journal of one layout was asked for another: names both. */
export const layoutMismatch = (path: string, expected: string, found: string): JournalFault =>
  new JournalFault({ _tag: "LayoutMismatch", path, expected, found, message: `journal ${path} holds ${found}, not ${expected}` })

const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "UNKNOWN"

const NO_ROOM = new Set(["ENOSPC", "EFBIG", "EDQUOT"])
const NOT_WRITABLE = new Set(["EACCES", "EPERM", "EROFS", "ENOTDIR", "EISDIR"])

/** Maps a thrown file-system error to the fault it means, for `operation` on `path`. */
export const fromSystemError = (e: unknown, path: string, operation: string): JournalFault => {
  if (e instanceof JournalFault) return e
  const code = codeOf(e)
  const message = `${operation} ${path}: ${e instanceof Error ? e.message : String(e)}`
  if (NO_ROOM.has(code)) return new JournalFault({ _tag: "DiskFull", path, message })
  if (NOT_WRITABLE.has(code)) return new JournalFault({ _tag: "NotWritable", path, message })
  if (code === "ENOENT") return new JournalFault({ _tag: "NotFound", path, message })
  return new JournalFault({ _tag: "IoFailed", path, operation, code, message })
}

/** Runs a file-system call, turning what it throws into a {@link JournalFault}. */
export const io = <A>(path: string, operation: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    throw fromSystemError(e, path, operation)
  }
}
