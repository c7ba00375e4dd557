import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { Effect, Exit } from "effect"
import { NodeServerProcess } from "@velox/node"

/** A "server" that says it is ready after a moment, then waits; SIGTERM ends it. */
const sh = NodeServerProcess.find("sh", "VELOX_TEST_SH")!
const readyAfter = (text: string) => ({
  name: "sh server",
  command: sh,
  args: ["-c", `sleep 0.1; echo ${text}; exec sleep 60`],
  ready: (said: (text: string) => number) => {
    const before = said(text)
    return Effect.sync(() => said(text) > before)
  },
  watch: [text],
  startTimeoutMs: 20_000
})

describe("NodeServerProcess", () => {
  it.live("starts, is ready when it says so, is killed and started again, each start waiting for its own ready line", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* NodeServerProcess.start(readyAfter("up-and-ready"))
      assert.isTrue(server.running())
      assert.strictEqual(server.said("up-and-ready"), 1)
      const first = server.pid()
      yield* server.kill
      assert.isFalse(server.running())
      yield* server.start
      assert.strictEqual(server.said("up-and-ready"), 2)
      assert.notStrictEqual(server.pid(), first)
      assert.include(server.log(), "up-and-ready")
      yield* server.stop
      assert.isFalse(server.running())
    })))

  it.live("a process that exits before it is ready fails the start with the last lines it printed", () =>
    Effect.scoped(Effect.gen(function*() {
      const exit = yield* Effect.exit(NodeServerProcess.start({
        name: "broken server",
        command: sh,
        args: ["-c", "echo bad config line 3 >&2; exit 3"],
        ready: () => Effect.succeed(false)
      }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? String(exit.cause) : ""
      assert.include(error, "broken server did not start (exit 3)")
      assert.include(error, "bad config line 3")
    })))

  it.live("finds a free port, and sees whether it accepts connections", () =>
    Effect.gen(function*() {
      const port = yield* NodeServerProcess.freePort
      assert.isAbove(port, 0)
      assert.isFalse(yield* NodeServerProcess.accepts(port))
      assert.isUndefined(NodeServerProcess.find("no-such-velox-command", "VELOX_NO_SUCH"))
    }))

  it.live("with exitWithParent, the server ends when the process that started it is killed with kill -9", () =>
    Effect.gen(function*() {
      // A parent process that starts the server, prints its pid, then waits to be killed.
      const parent = spawnSync(process.execPath, ["--conditions=@velox/source", "--input-type=module", "-e", `
        import { Effect } from "effect"
        import { NodeServerProcess } from "@velox/node"
        const server = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
          const s = yield* NodeServerProcess.start({ name: "sh", command: ${JSON.stringify(sh)}, args: ["-c", "echo up; exec sleep 60"],
            ready: (said) => Effect.sync(() => said("up") > 0), watch: ["up"], exitWithParent: true })
          process.stdout.write(String(s.pid()) + "\\n")
          process.kill(process.pid, "SIGKILL")
          yield* Effect.never
        })))
      `], { cwd: process.cwd(), encoding: "utf8", timeout: 60_000 })
      assert.strictEqual(parent.signal, "SIGKILL", parent.stderr)
      const pid = Number(parent.stdout.trim())
      assert.isAbove(pid, 0, parent.stdout + parent.stderr)
      // Gone, or a zombie its new parent has not reaped yet (it has exited all the same).
      const alive = () => {
        try {
          return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"))
        } catch {
          return false
        }
      }
      for (let i = 0; i < 500 && alive(); i++) yield* Effect.sleep("20 millis")
      assert.isFalse(alive(), `server ${pid} outlived its parent`)
    }))
})
