/**
 * The tick server as the market suite's topology cases run it: a child process (the shipped command,
 * `velox-tick-server`) on a free port of 127.0.0.1, with a throwaway data directory; its URL, its pid,
 * JSON from its HTTP API, its CPU time from /proc, and a stop that drains it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

// The program as a user runs it: the bin npm links for @velox/examples.
const COMMAND = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "node_modules", ".bin", "velox-tick-server")

export interface TickServer {
  readonly url: string
  readonly pid: number
  readonly getJson: (path: string, signal?: AbortSignal) => Promise<any>
  /** User + system CPU time of the server process (all its threads), in ms; Linux only. */
  readonly cpuMs: () => number
  /** SIGTERM: it drains; resolves with its exit code and output. */
  readonly stop: () => Promise<{ readonly code: number | null; readonly output: string }>
  /** SIGKILL, for a server that did not drain in time. */
  readonly kill: () => void
}

const TICKS_PER_SECOND = 100 // USER_HZ on Linux

export const startTickServer = (args: ReadonlyArray<string>, startTimeoutMs: number): Promise<TickServer> =>
  new Promise((resolve, reject) => {
    const data = mkdtempSync(join(tmpdir(), "bench-tick-server-"))
    // --duration: should this process be killed (the harness's timeout), the server still drains and
    // exits by itself instead of running on, orphaned, on a shared machine.
    const lifetimeS = Math.ceil(startTimeoutMs / 1000) + 120
    const child: ChildProcess = spawn(COMMAND, ["--port", "0", "--data", data, "--duration", String(lifetimeS), ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`velox-tick-server did not serve within ${startTimeoutMs} ms:\n${output.slice(-2000)}`))
    }, startTimeoutMs)
    const onOutput = (d: Buffer) => {
      output += d
      const m = /tick server on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (m === null) return
      clearTimeout(timer)
      child.stdout!.off("data", onOutput)
      child.stdout!.on("data", (more: Buffer) => (output += more))
      const url = m[1]!
      resolve({
        url,
        pid: child.pid!,
        getJson: async (path, signal) => (await fetch(`${url}${path}`, { signal: signal ?? null })).json(),
        cpuMs: () => {
          // /proc/<pid>/stat: fields 14 and 15 (utime, stime), after the command in parentheses.
          const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ")
          return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND
        },
        stop: async () => {
          child.kill("SIGTERM")
          const code = await exited
          rmSync(data, { recursive: true, force: true })
          return { code, output }
        },
        kill: () => {
          child.kill("SIGKILL")
          rmSync(data, { recursive: true, force: true })
        }
      })
    }
    child.stdout!.on("data", onOutput)
    child.stderr!.on("data", (d: Buffer) => (output += d))
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`velox-tick-server exited (${code}) before serving:\n${output.slice(-2000)}`))
    })
  })

/**
 * Polls until `until` holds, or fails after `timeoutMs`. A probe that throws counts as "not yet": on
 * a loaded machine a keep-alive connection the server just closed resets under the next request.
 */
export const waitFor = async <A>(probe: () => Promise<A>, until: (a: A) => boolean, timeoutMs: number, what: string): Promise<A> => {
  const deadline = performance.now() + timeoutMs
  let failure: unknown = undefined
  for (;;) {
    try {
      const a = await probe()
      if (until(a)) return a
    } catch (e) {
      failure = e
    }
    if (performance.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${failure === undefined ? "" : ` (last error: ${failure instanceof Error ? `${failure.message} ${String(failure.cause ?? "")}` : String(failure)})`}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}
