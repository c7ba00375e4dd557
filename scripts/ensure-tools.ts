/**
 * Makes sure the programs the test suite runs (scripts/tools.ts) are installed; `npm test` runs it
 * first (pretest), and so does CI.
 *
 *   node scripts/ensure-tools.ts
 *
 * Everything present: exits 0 at once, without calling apt. Something missing: installs the Debian
 * packages with `apt-get` (as root, or through passwordless `sudo`): `apt-get update` once, then
 * `apt-get install -y --no-install-recommends <packages>`. When it cannot install (not root, no
 * apt-get, apt-get failed), it prints one line saying what to install and exits 1, so the suite
 * never starts only to fail in scattered assertions.
 */
import { spawnSync } from "node:child_process"
import { findTool, type Tool, tools } from "./tools.ts"

const fail = (line: string): never => {
  process.stderr.write(`ensure-tools: ${line}\n`)
  process.exit(1)
}

const describe = (missing: ReadonlyArray<Tool>): string =>
  missing.map((t) => `${t.command} (Debian package ${t.debianPackage})`).join(", ")

/** How to run apt-get here: directly as root, through passwordless sudo, or not at all. */
const aptGet = (): ReadonlyArray<string> | undefined => {
  const apt = findTool("apt-get")
  if (apt === undefined) return undefined
  if (process.getuid?.() === 0) return [apt]
  const sudo = findTool("sudo")
  if (sudo !== undefined && spawnSync(sudo, ["-n", "true"], { stdio: "ignore" }).status === 0) return [sudo, "-n", apt]
  return undefined
}

const missing = tools.filter((t) => findTool(t.command) === undefined)
if (missing.length > 0) {
  const packages = [...new Set(missing.map((t) => t.debianPackage))]
  const command = `apt-get install -y --no-install-recommends ${packages.join(" ")}`
  const apt = aptGet()
  if (apt === undefined) {
    fail(`the tests need ${describe(missing)}; this user cannot install them: run \`sudo ${command}\`, then npm test again`)
  } else {
    process.stderr.write(`ensure-tools: installing ${packages.join(" ")} for the tests (missing ${describe(missing)})\n`)
    const run = (args: ReadonlyArray<string>) =>
      spawnSync(apt[0]!, [...apt.slice(1), ...args], {
        stdio: ["ignore", 2, 2], // apt talks on stderr: stdout stays the test runner's
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
      })
    const update = run(["update"])
    if (update.status !== 0) fail(`apt-get update failed (${update.error?.message ?? `exit ${update.status}`}); then run \`${command}\``)
    const install = run(["install", "-y", "--no-install-recommends", ...packages])
    if (install.status !== 0) fail(`\`${command}\` failed (${install.error?.message ?? `exit ${install.status}`}): install them, then npm test again`)
    const still = missing.filter((t) => findTool(t.command) === undefined)
    if (still.length > 0) fail(`installed ${packages.join(" ")}, but ${describe(still)} is still not found on PATH`)
  }
}
