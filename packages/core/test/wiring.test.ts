import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import { IdleStrategy, Pipeline } from "@velox/core"
import { Counter, CountingSink, PassThrough } from "@velox/core/stages"
import { plan } from "../src/internal/planner.ts"
import { wire } from "../src/internal/wiring.ts"

const wired = (p: Pipeline.Pipeline, idle: Parameters<typeof wire>[1]["idle"]) => {
  const r = plan(p.steps, p.steps.map((s) => s.config), { ringCapacity: 1024, batchSize: 64 })
  if (Result.isFailure(r)) assert.fail(r.failure.message)
  const w = wire(r.success, { idle, maxRecordCrashes: 1, deadLetterRingCapacity: 64 })
  return Object.fromEntries(w.hosts.map((h) => [h.spec.name, h.spec.idle]))
}

describe("wiring: how each loop idles", () => {
  const backoff = { spinNs: 50_000, timerSlackNs: 20_000 }

  it("a worker loop fed only by a loop on the main thread (a fiber host) parks at once, until rung", () => {
    const idle = wired(
      Pipeline.from(Counter, { count: 1 }, { placement: "fiber" }).via(PassThrough, {}, { placement: "worker" }).to(CountingSink, {}, { placement: "worker" }),
      backoff
    )
    assert.deepStrictEqual(idle, {
      counter: backoff,
      "pass-through": { ...backoff, spinNs: 0, minParkNs: IdleStrategy.PARK_SAFETY_NET_NS },
      // Fed by a worker: the run's backoff, spin first.
      "counting-sink": backoff
    })
  })

  it("a bounded park stays bounded; a spinning run keeps spinning", () => {
    const p = Pipeline.from(Counter, { count: 1 }, { placement: "fiber" }).to(CountingSink, {}, { placement: "worker" })
    assert.deepStrictEqual(wired(p, { ...backoff, maxParkNs: 1_000_000 })["counting-sink"], { ...backoff, maxParkNs: 1_000_000, spinNs: 0, minParkNs: 1_000_000 })
    assert.strictEqual(wired(p, "spin")["counting-sink"], "spin")
  })
})
