import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

const OWNER = fileURLToPath(new URL("./fixtures/serverOwner.ts", import.meta.url))

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Starts the owner process, waits for its server's pid, kills the owner with SIGKILL; returns the
 * server's pid. The server's directory (which its killed owner cannot remove) goes with the scope.
 */
const killOwner = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ pid: number; directory: string }>((resolve, reject) => {
        const owner = spawn(process.execPath, [OWNER, ...args], { stdio: ["ignore", "pipe", "inherit"] })
        let out = ""
        owner.stdout!.setEncoding("utf8").on("data", (s: string) => {
          out += s
          const line = out.split("\n").find((l) => l.startsWith("{"))
          if (line === undefined) return
          const started = JSON.parse(line) as { pid: number; directory: string }
          owner.once("exit", () => resolve(started))
          owner.kill("SIGKILL")
        })
        owner.once("exit", (code) => (out.includes("{") ? undefined : reject(new Error(`owner exited ${code} before its server was ready`))))
      })
    ),
    ({ directory }) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
  ).pipe(Effect.map(({ pid }) => pid))

const until = (cond: () => boolean): Effect.Effect<void> =>
  cond() ? Effect.void : Effect.sleep("20 millis").pipe(Effect.andThen(Effect.suspend(() => until(cond))))

describe("NatsServer", () => {
  it.live("exitWithParent: the server ends when the process that started it is killed with SIGKILL", () =>
    Effect.gen(function*() {
      const pid = yield* killOwner(["exit-with-parent"])
      yield* until(() => !alive(pid))
      assert.isFalse(alive(pid))
    }), 60_000)

  it.live("without it, the server outlives a killed owner (what exitWithParent is for)", () =>
    Effect.gen(function*() {
      const pid = yield* killOwner([])
      // The owner has exited: its server is still there, orphaned.
      assert.isTrue(alive(pid))
      process.kill(pid, "SIGKILL")
      yield* until(() => !alive(pid))
    }), 60_000)
})
