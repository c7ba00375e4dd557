/**
 * A full disk, simulated with a file-size limit (RLIMIT_FSIZE via `ulimit -f`; Node ignores
 * SIGXFSZ, so a write past the limit fails with EFBIG): the writer fails with a typed `DiskFull`,
 * never crashes the process, keeps the records it could not write, and leaves a journal that
 * reopens with every written record and no torn tail.
 */
import { assert, describe, it } from "@effect/vitest"
import { Sequenced } from "@velox/core/stages"
import { NodeJournalUnsafe } from "@velox/node"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const PROGRAM = new URL("../fixtures/journalFullDisk.ts", import.meta.url).pathname
const PIPELINE = new URL("../fixtures/journalSinkFullDisk.ts", import.meta.url).pathname
/** 256 KiB, in the 1024-byte blocks of bash's `ulimit -f`. */
const LIMIT_BLOCKS = 256

/** Runs `program DIR` on Node under the file-size limit; resolves with its exit and output. */
const underFileSizeLimit = (program: string, directory: string) =>
  spawnSync("bash", ["-c", `ulimit -f ${LIMIT_BLOCKS} && exec "$0" "$1" "$2"`, process.execPath, program, directory], {
    encoding: "utf8",
    timeout: 90_000
  })

describe("journal on a full disk", () => {
  it("a write past the file-size limit is DiskFull in the error channel; the journal reopens whole", () => {
    const root = mkdtempSync(join(tmpdir(), "velox-full-"))
    const directory = join(root, "journal")
    try {
      const run = underFileSizeLimit(PROGRAM, directory)
      const out = run.stdout + run.stderr
      assert.strictEqual(run.status, 0, out)
      const result = JSON.parse(run.stdout.trim().split("\n").at(-1)!)
      assert.strictEqual(result.error, "JournalError", out)
      assert.strictEqual(result.reason, "DiskFull")
      assert.strictEqual(result.retry, "DiskFull")
      assert.match(result.message, /EFBIG/)
      assert.isAbove(result.written, 0)
      assert.isAbove(result.appended, result.written, "the records of the failed batch are still held")
      assert.strictEqual(result.durable, result.written, "fsync: batch — every written batch was synced")
      assert.isAtLeast(result.writeErrors, 2)
      // Without the limit: every written record is there, checked, and no partial batch follows.
      const info = NodeJournalUnsafe.info(directory, { verify: true })
      assert.strictEqual(info.records, result.written)
      assert.strictEqual(info.trailingBytes, 0)
      assert.isAtMost(info.bytes, LIMIT_BLOCKS * 1024)
      const reader = NodeJournalUnsafe.openReader(directory, { layout: Sequenced })
      let expected = 0
      for (let n = reader.next(); n > 0; n = reader.next()) {
        const seq = new Float64Array(reader.bytes.buffer, reader.batchByteOffset, n * 4)
        for (let i = 0; i < n; i++) assert.strictEqual(seq[i * 4], expected++)
      }
      reader.close()
      assert.strictEqual(expected, result.written)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it("in a pipeline, the journal sink's DiskFull crashes the stage, supervision gives up, the run fails and drains", () => {
    const root = mkdtempSync(join(tmpdir(), "velox-full-sink-"))
    const directory = join(root, "journal")
    try {
      const run = underFileSizeLimit(PIPELINE, directory)
      const output = run.stdout + run.stderr
      assert.isNull(run.signal, output)
      assert.strictEqual(run.status, 1, output)
      assert.include(output, "DiskFull")
      assert.include(output, "EFBIG")
      assert.match(output, /StageCrashed|gave up|given up/i)
      // The ledger printed after the drain accounts for what the stopped sink could not take.
      assert.include(output, "StageStopped")
      const info = NodeJournalUnsafe.info(directory, { verify: true })
      assert.isAbove(info.records, 0)
      assert.isAtMost(info.bytes, LIMIT_BLOCKS * 1024)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
