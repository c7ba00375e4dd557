import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Redacted } from "effect"
import { NatsClient, NatsConfig, NatsServer } from "../src/index.ts"

const clientOn = (input: NatsConfig.Input) => Layer.build(NatsClient.layer.pipe(Layer.provide(NatsConfig.layer(input))))

/** The typed failure of `exit`, as `reason: message`. */
const failureOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const e = Cause.findErrorOption(exit.cause)
  return e._tag === "Some" ? `${(e.value as { reason?: string }).reason}: ${(e.value as Error).message}` : Cause.pretty(exit.cause)
}

describe("NatsClient", () => {
  it.live("connects to a server and creates the configured streams, then finds them as configured", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      const streams = [{ name: "QUOTES", subjects: ["quotes.>"], duplicateWindowMs: 30_000 }]
      const context = yield* clientOn({ servers: [server.url], streams })
      const client = context.mapUnsafe.get(NatsClient.NatsClient.key) as NatsClient.NatsClient["Service"]
      assert.strictEqual(client.status().state, "connected")
      const info = yield* Effect.promise(() => client.manager.streams.info("QUOTES"))
      assert.deepStrictEqual(info.config.subjects, ["quotes.>"])
      assert.strictEqual(info.config.duplicate_window, 30_000 * 1e6)
      // A second client finds the stream as configured.
      yield* clientOn({ servers: [server.url], streams })
    }), 60_000)

  it.live("refuses a stream that exists with another duplicate window, and a missing one under streamPolicy check", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start()
      yield* clientOn({ servers: [server.url], streams: [{ name: "S", subjects: ["s.>"], duplicateWindowMs: 30_000 }] })
      const mismatch = yield* Effect.exit(clientOn({ servers: [server.url], streams: [{ name: "S", subjects: ["s.>"], duplicateWindowMs: 60_000 }] }))
      assert.match(failureOf(mismatch), /^StreamMismatch: stream S has a duplicate window of 30000 ms, configured 60000 ms/)
      const missing = yield* Effect.exit(clientOn({ servers: [server.url], streamPolicy: "check", streams: [{ name: "T", subjects: ["t.>"] }] }))
      assert.match(failureOf(missing), /^StreamMissing/)
    }), 60_000)

  it.live("gives AuthRefused for wrong credentials without retrying, and never prints the password", () =>
    Effect.gen(function*() {
      const server = yield* NatsServer.start({ user: { name: "feed", password: Redacted.make("right-one") } })
      yield* clientOn({ servers: [server.url], user: "feed", password: Redacted.make("right-one") })
      const refused = yield* Effect.exit(clientOn({ servers: [server.url], user: "feed", password: Redacted.make("wrong-one"), connectAttempts: 50 }))
      assert.match(failureOf(refused), /^AuthRefused/)
      assert.notInclude(failureOf(refused), "wrong-one")
    }), 60_000)

  it.effect("refuses bad options with the option named", () =>
    Effect.gen(function*() {
      const bad = (input: NatsConfig.Input) => Effect.flip(NatsConfig.make(input))
      assert.strictEqual((yield* bad({ servers: ["nats://u:p@host:4222"] })).option, "servers")
      assert.notInclude((yield* bad({ servers: ["nats://u:p@host:4222"] })).message, "u:p")
      assert.strictEqual((yield* bad({ servers: [] })).option, "servers")
      assert.strictEqual((yield* bad({ connectAttempts: 0 })).option, "connectAttempts")
      assert.strictEqual((yield* bad({ streams: [{ name: "a.b", subjects: ["x"] }] })).option, "streams[0]")
      assert.strictEqual((yield* bad({ streams: [{ name: "A", subjects: [] }] })).option, "streams[0]")
      assert.strictEqual((yield* bad({ streams: [{ name: "A", subjects: ["a"], duplicateWindowMs: 10_000, maxAgeMs: 5_000 }] })).option, "streams[0]")
      assert.strictEqual((yield* bad({ token: Redacted.make("t"), user: "u" })).option, "token")
      const ok = yield* NatsConfig.make({ streams: [{ name: "A", subjects: ["a.>"] }] })
      assert.deepStrictEqual(ok.streams[0], { name: "A", subjects: ["a.>"], duplicateWindowMs: 120_000, storage: "file", maxAgeMs: 0, maxBytes: -1 })
    }))
})
