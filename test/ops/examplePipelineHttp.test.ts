import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { Effect, Schedule } from "effect"

const example = new URL("../../packages/examples/src/pipeline.ts", import.meta.url).pathname

describe("the example program with --http", () => {
  it.live("serves the ops surface while it runs and through its drain, then exits 0 on SIGTERM", () =>
    Effect.gen(function*() {
      const child = spawn(process.execPath, [example, "--workers", "--http", "0"], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, VELOX_LOG_FORMAT: "json" }
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (d) => (stdout += d))
      child.stderr.on("data", (d) => (stderr += d))
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))

      const url = yield* Effect.sync(() => /dashboard: (http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(stdout)?.[1]).pipe(
        Effect.repeat({ until: (u) => u !== undefined, schedule: Schedule.spaced("20 millis") }),
        Effect.timeout("20 seconds")
      )
      const ready = Effect.promise(() => fetch(`${url}/ready`).then(async (r) => ({ status: r.status, body: await r.json() as any })))
      yield* ready.pipe(Effect.repeat({ until: (r) => r.status === 200, schedule: Schedule.spaced("20 millis") }), Effect.timeout("20 seconds"))
      // Ready says every stage is running, not that a record has reached the sink yet (on a loaded
      // machine the first bundle can come after the first scrape): scrape until the sink has counted.
      const sinkCounted = /velox_stage_records_in_total\{stage="counting-sink"\} [1-9]/
      const metrics = yield* Effect.promise(() => fetch(`${url}/metrics`).then((r) => r.text())).pipe(
        Effect.repeat({ until: (m) => sinkCounted.test(m), schedule: Schedule.spaced("20 millis") }),
        Effect.timeout("20 seconds")
      )
      assert.match(metrics, sinkCounted)
      assert.include(yield* Effect.promise(() => fetch(`${url}/dashboard`).then((r) => r.text())), "velox")

      child.kill("SIGTERM")
      // It answers until its pipeline has drained (503 "draining" or "done"), then it exits 0. Polled
      // every millisecond: the drain and the joins of five threads last longer than that.
      const statuses: Array<number> = []
      yield* Effect.promise(() => fetch(`${url}/ready`).then((r) => r.status, () => 0)).pipe(
        Effect.tap((s) => Effect.sync(() => statuses.push(s))),
        Effect.repeat({ until: (s) => s === 0, schedule: Schedule.spaced("1 millis") }),
        Effect.timeout("20 seconds")
      )
      assert.strictEqual(yield* Effect.promise(() => exited), 0, stderr)
      assert.include(stdout, "ledger: balanced")
      assert.include(statuses, 503, `after SIGTERM /ready said: ${statuses.join(",")}`)
      // Once it stopped being ready it never was again (a request may beat the signal's delivery).
      const notReady = statuses.findIndex((s) => s !== 200)
      assert.notInclude(statuses.slice(notReady), 200, `after SIGTERM /ready said: ${statuses.join(",")}`)
      // Logs were JSON lines.
      const logLine = stderr.split("\n").find((l) => l.includes("ops server on"))
      assert.strictEqual(JSON.parse(logLine!).level, "INFO")
    }).pipe(Effect.scoped))
})
