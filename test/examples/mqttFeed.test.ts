import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { join } from "node:path"
import { Mosquitto, MqttPublisher } from "@velox/mqtt"
import { describeRun, runProgram } from "../fixtures/runProgram.ts"

const root = new URL("../../", import.meta.url).pathname
const program = join(root, "node_modules", ".bin", "velox-mqtt-feed")
const tickServer = join(root, "node_modules", ".bin", "velox-tick-server")

/** A stats line once quotes have gone through: received and dispatched above 0. */
const whenFlowing = /^mqtt: received [1-9][\d,]*, .*dispatched [1-9]/m

describe("velox-mqtt-feed", () => {
  it("answers --help with its flags, and a bad URL with a one-line error and exit 1", async () => {
    const help = await runProgram(program, ["--help"])
    assert.strictEqual(help.code, 0, describeRun(help))
    assert.match(help.stdout, /USAGE\s+velox-mqtt-feed \[flags\]/)
    for (const flag of ["--url", "--simulate", "--broker", "--symbols", "--rate", "--stats-seconds"]) assert.include(help.stdout, flag)
    const bad = await runProgram(program, ["--url", "http://127.0.0.1:1", "--duration", "1"])
    assert.strictEqual(bad.code, 1, describeRun(bad))
    assert.include(bad.stderr, "url must use one of mqtt, mqtts, tcp, ssl, ws, wss, got http", describeRun(bad))
  })

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`--broker --simulate: quotes flow, the stats lines carry the epoch; ${signal} drains, reconciles and exits 0`, async () => {
      const run = await runProgram(program, ["--broker", "--simulate", "--symbols", "4", "--rate", "500", "--format", "binary", "--qos", "1"], {
        signal: { when: whenFlowing, signal }
      })
      assert.strictEqual(run.code, 0, describeRun(run))
      assert.strictEqual(run.stderr.match(new RegExp(`${signal}: draining`, "g"))?.length, 1, describeRun(run))
      assert.match(run.stdout, /^mqtt: received [\d,]+, decoded [\d,]+, parse errors 0, dropped 0, queued \d+, dispatched [\d,]+, epoch 1, connected yes/m)
      assert.include(run.stdout, "ledger: balanced", describeRun(run))
      const reconciliation = run.stdout.slice(run.stdout.indexOf("reconciliation:"))
      assert.strictEqual(reconciliation.match(/^ {2}ok {2}/gm)?.length, 5, describeRun(run))
      assert.notInclude(reconciliation, "NO ", describeRun(run))
    })
  }

  it("a run that received nothing (no broker at the URL) does not report success", async () => {
    const run = await runProgram(program, ["--url", "mqtt://127.0.0.1:1", "--duration", "1"])
    assert.strictEqual(run.code, 1, describeRun(run))
    assert.include(run.stdout, "NO  messages received: 0", describeRun(run))
    assert.include(run.stderr, "mqtt: ConnectFailed: connect ECONNREFUSED 127.0.0.1:1", describeRun(run))
    assert.include(run.stderr, "velox-mqtt-feed: check failed: messages received: 0", describeRun(run))
  })

  it.live("velox-tick-server --mqtt URL takes its quotes from the broker: ticks stored, then SIGTERM drains and reconciles", () =>
    Effect.gen(function*() {
      const broker = yield* Mosquitto.start()
      const publisher = yield* MqttPublisher.make({ url: broker.url })
      yield* Effect.forkScoped(MqttPublisher.simulate(publisher, { symbols: 4, rate: 300, format: "json" }))
      const run = yield* Effect.promise(() =>
        runProgram(tickServer, ["--mqtt", broker.url, "--no-persist", "--port", "0", "--stats-seconds", "1"], {
          signal: { when: /^Stats: received=[1-9]\d*, stored=[1-9]/m, signal: "SIGTERM" }
        })
      )
      assert.strictEqual(run.code, 0, describeRun(run))
      assert.include(run.stderr, `mqtt: connected to ${broker.url} (epoch 1)`, describeRun(run))
      assert.include(run.stdout, "ledger: balanced", describeRun(run))
      assert.match(run.stdout, /^ {2}ok {2}ticks stored: [1-9]/m, describeRun(run))
      assert.notInclude(run.stdout.slice(run.stdout.indexOf("reconciliation:")), "NO ", describeRun(run))
    }).pipe(Effect.scoped))
})
