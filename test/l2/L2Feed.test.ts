import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Pipeline, Stage } from "@velox/core"
import { CaptureSink } from "@velox/core/testing"
import { Bbo, L2BookStage, L2Feed, L2Flow, L2Status, L2Update } from "@velox/market"
import { NodeStageHost } from "@velox/node"
import { CaptureEmitter } from "../fixtures/captureEmitter.ts"

type Logic = Stage.SourceLogic<typeof L2Update.L2Update.spec>

describe("L2Feed, the synthetic L2 source", () => {
  it("unthrottled: full polls of the flow's messages, on the flow's own timeline, until count", () => {
    const logic = L2Feed.make({ symbols: 20, seed: 5, count: 1_000, unthrottled: true }) as Logic
    const out = new CaptureEmitter(L2Update.L2Update, 4_096)
    assert.strictEqual(logic.onPoll(123_456, 600, out), 600)
    assert.strictEqual(logic.onPoll(999_999, 600, out), 400)
    assert.strictEqual(logic.onPoll(999_999, 600, out), Stage.SOURCE_EXHAUSTED)
    const got = out.take()
    const flow = new L2Flow.L2Flow({ symbols: 20, seed: 5 })
    for (const record of got) {
      flow.next()
      assert.deepStrictEqual(record, {
        seq: flow.seq,
        exchangeTsNs: flow.exchangeTsNs,
        price: flow.price,
        size: flow.size,
        symbol: flow.symbol,
        side: flow.side,
        op: flow.op
      })
    }
  })

  it("paced: a message goes out when the pipeline clock reaches its exchange time, from the first poll", () => {
    const logic = L2Feed.make({ symbols: 20, seed: 5, rate: 1_000_000 }) as Logic
    const out = new CaptureEmitter(L2Update.L2Update, 65_536)
    const start = 5_000_000
    assert.strictEqual(logic.onPoll(start, 1_000, out), 0) // the flow's first message is due after a gap
    let emitted = 0
    for (let now = start; now <= start + 10_000_000; now += 100_000) emitted += logic.onPoll(now, 100_000, out)
    const got = out.take()
    assert.strictEqual(got.length, emitted)
    // ~1M/s for 10 ms, in bursts: about 10,000 (a loose bound: bursts make the count vary).
    assert.isAbove(emitted, 5_000)
    assert.isBelow(emitted, 20_000)
    for (const r of got) assert.isAtMost(r.exchangeTsNs, start + 10_000_000)
    assert.isAbove(logic.nextWakeNs!(), start + 10_000_000 - 1) // the next one is in the future
  })

  it.live("L2Feed → L2BookStage → capture: every message applied in sequence, no drop, no refusal", () =>
    Effect.gen(function*() {
      const status = L2Status.make(500)
      const captured = CaptureSink.allocate(Bbo.Bbo, 50_000)
      const run = yield* Pipeline.runToEnd(
        Pipeline.from(L2Feed, { symbols: 500, seed: 9, count: 50_000, unthrottled: true })
          .via(L2BookStage, { symbols: 500, status }, { placement: "worker" })
          .to(CaptureSink.make(Bbo.Bbo), captured)
      )
      assert.isTrue(run.ledger.balanced)
      const line = run.ledger.stages.find((s) => s.stage === "l2-book")!
      assert.strictEqual(line.in, 50_000)
      assert.strictEqual(line.emitted, 50_000)
      assert.deepStrictEqual(line.dropped, {})
      assert.deepStrictEqual(line.deadLettered, {})
      const summary = L2Status.read(status)
      assert.strictEqual(summary.stale, 0)
      assert.isAtMost(summary.resyncing, 1) // the count may cut the last snapshot short
      assert.strictEqual(summary.live, summary.snapshots) // every symbol seen went live by its snapshot
      const tops = CaptureSink.records(Bbo.Bbo, captured)
      assert.strictEqual(tops.length, line.written)
      assert.isTrue(tops.every((t) => (t.flags & (Bbo.Flag.Stale | Bbo.Flag.Crossed)) === 0))
    }).pipe(Effect.provide(NodeStageHost.layer)))
})
