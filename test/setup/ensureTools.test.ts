import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findTool, overrideVariable, tools } from "../../scripts/tools.ts"

const script = new URL("../../scripts/ensure-tools.ts", import.meta.url).pathname

/**
 * A directory to be the whole PATH: a stub for every listed tool but `hidden`, and, when asked, an
 * `apt-get` that logs its arguments (and on `install` writes a stub for each hidden tool, or fails)
 * and a `sudo` that runs its command.
 */
const fakePath = (options: { readonly hidden: ReadonlyArray<string>; readonly apt?: "installs" | "fails" }) => {
  const dir = mkdtempSync(join(tmpdir(), "velox-tools-"))
  chmodSync(dir, 0o777) // the fake non-root user writes the installed stubs and the log here
  const executable = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`)
    chmodSync(join(dir, name), 0o755)
  }
  for (const t of tools) if (!options.hidden.includes(t.command)) executable(t.command, "exit 0")
  if (options.apt !== undefined) {
    const chmod = findTool("chmod")! // PATH is this directory alone
    const install = options.apt === "installs"
      ? options.hidden.map((c) => `printf '#!/bin/sh\\n' > ${dir}/${c}; ${chmod} 755 ${dir}/${c}`).join("; ")
      : "exit 100"
    executable("apt-get", `echo "$*" >> ${dir}/apt.log\n[ "$1" = install ] && { ${install}; }\nexit 0`)
    executable("sudo", `[ "$1" = -n ] && shift\nexec "$@"`)
  }
  return { dir, aptLog: join(dir, "apt.log") }
}

/** Runs the set-up script with PATH = `dir` only; as a non-root user when `asUser`. */
const ensure = (dir: string, asUser: boolean) => {
  const env: NodeJS.ProcessEnv = { PATH: dir, HOME: tmpdir() }
  const node = [process.execPath, script]
  // Root fakes a plain user with setpriv (util-linux); anyone else already is one.
  const command = asUser && process.getuid?.() === 0
    ? [findTool("setpriv")!, "--reuid=65534", "--regid=65534", "--clear-groups", ...node]
    : node
  const run = spawnSync(command[0]!, command.slice(1), { env, encoding: "utf8" })
  return { code: run.status, stdout: run.stdout, stderr: run.stderr }
}

describe("scripts/ensure-tools.ts (npm test's set-up)", () => {
  it("lists each tool once, with its Debian package", () => {
    assert.deepStrictEqual(tools.map((t) => t.command), [...new Set(tools.map((t) => t.command))])
    for (const t of tools) assert.match(t.debianPackage, /^[a-z0-9][a-z0-9.+-]+$/)
    assert.strictEqual(overrideVariable("nats-server"), "NATS_SERVER")
  })

  it("with every tool present it exits 0 at once, saying nothing and calling no apt-get", () => {
    const { aptLog, dir } = fakePath({ hidden: [], apt: "installs" })
    const run = ensure(dir, false)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.strictEqual(run.stdout + run.stderr, "")
    assert.isFalse(existsSync(aptLog), "apt-get was called")
  })

  it("a user who cannot install stops at once with one line naming the tool, its package and the command", () => {
    const { aptLog, dir } = fakePath({ hidden: ["promtool"], apt: "installs" })
    const run = ensure(dir, true)
    assert.strictEqual(run.code, 1, run.stderr)
    assert.strictEqual(run.stdout, "")
    const lines = run.stderr.split("\n").filter((l) => l !== "")
    assert.lengthOf(lines, 1, run.stderr)
    assert.include(lines[0], "promtool (Debian package prometheus)")
    assert.include(lines[0], "sudo apt-get install -y --no-install-recommends prometheus")
    assert.notInclude(lines[0], "chromium")
    assert.isFalse(existsSync(aptLog), "apt-get was called")
  })

  it("root installs what is missing: apt-get update once, then install of the missing packages only", () => {
    const { aptLog, dir } = fakePath({ hidden: ["promtool", "chromium"], apt: "installs" })
    // Root runs apt-get itself; anyone else goes through the (fake, passwordless) sudo.
    const run = ensure(dir, false)
    assert.strictEqual(run.code, 0, run.stderr)
    assert.deepStrictEqual(readFileSync(aptLog, "utf8").trim().split("\n"), [
      "update",
      "install -y --no-install-recommends prometheus chromium"
    ])
    assert.isTrue(existsSync(join(dir, "promtool")) && existsSync(join(dir, "chromium")))
    // A second run finds everything and calls apt-get no more.
    assert.strictEqual(ensure(dir, false).code, 0)
    assert.lengthOf(readFileSync(aptLog, "utf8").trim().split("\n"), 2)
  })

  it("a failed apt-get install stops with one line naming the command that failed", () => {
    const { dir } = fakePath({ hidden: ["promtool"], apt: "fails" })
    const run = ensure(dir, false)
    assert.strictEqual(run.code, 1, run.stderr)
    const last = run.stderr.trim().split("\n").at(-1)!
    assert.match(last, /^ensure-tools: `apt-get install -y --no-install-recommends prometheus` failed \(exit 100\)/)
  })
})
