/**
 * The external programs the test suite runs, in one list: `scripts/ensure-tools.ts` (run before
 * `npm test` and by CI) installs the missing ones, and tests find them with {@link toolPath}. A test
 * that needs another program adds it here.
 */
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"

export interface Tool {
  /** The command, as found on PATH. */
  readonly command: string
  /** The Debian package that provides it. */
  readonly debianPackage: string
  /** What needs it, for the message when it is missing. */
  readonly neededBy: string
}

export const tools: ReadonlyArray<Tool> = [
  { command: "promtool", debianPackage: "prometheus", neededBy: "test/ops: checks /metrics with promtool check metrics" },
  { command: "chromium", debianPackage: "chromium", neededBy: "test/ops/dashboard.test.ts: loads the dashboard headless" },
  { command: "mosquitto", debianPackage: "mosquitto", neededBy: "the MQTT adapter's tests: a broker on a free port" },
  { command: "nats-server", debianPackage: "nats-server", neededBy: "the NATS adapter's tests: a server on a free port" }
]

/** Where Debian puts daemons, often missing from a user's PATH (mosquitto, nats-server). */
const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"]

/** The variable that overrides a tool's location: `PROMTOOL`, `CHROMIUM`, `NATS_SERVER`, … */
export const overrideVariable = (command: string): string => command.toUpperCase().replace(/[^A-Z0-9]/g, "_")

const isExecutable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The absolute path of `command`: the override variable if set, else the first executable on PATH
 * (then the sbin directories); `undefined` when there is none.
 */
export const findTool = (command: string, env: NodeJS.ProcessEnv = process.env): string | undefined => {
  const override = env[overrideVariable(command)]
  if (override !== undefined && override !== "") return isExecutable(override) ? override : undefined
  const dirs = [...(env["PATH"] ?? "").split(delimiter).filter((d) => d !== ""), ...SBIN]
  for (const dir of dirs) {
    const path = join(dir, command)
    if (isExecutable(path)) return path
  }
  return undefined
}

/** For tests: the path of a listed tool, or a throw that says how to get it. */
export const toolPath = (command: string): string => {
  const tool = tools.find((t) => t.command === command)
  if (tool === undefined) throw new Error(`${command} is not in scripts/tools.ts: add it there, so that npm test installs it`)
  const path = findTool(command)
  if (path === undefined) {
    throw new Error(
      `${command} not found (Debian package ${tool.debianPackage}): run npm test, which installs it, or ` +
        `node scripts/ensure-tools.ts; or set ${overrideVariable(command)}`
    )
  }
  return path
}
